// SPDX-License-Identifier: GPL-2.0
/*
 * recording.c - faultinject's recording file: write one event per line,
 * read a whole file back strictly (tools/faultinject/README.md, "The
 * recording format"). The names of reasons, codes, access and errnos are
 * the rule language's (rules.c).
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nestiommu.h"
#include "rules.h"
#include "recording.h"

/* The padding of the lost line, so the real count fits in place. */
#define LOST_WIDTH	20

static const struct fi_key_name {
	const char *name;
	unsigned int bit;
} key_names[] = {
	{ "dev", FI_K_DEV }, { "pasid", FI_K_PASID }, { "hwpt", FI_K_HWPT },
	{ "ioas", FI_K_IOAS }, { "site", FI_K_SITE }, { "pos", FI_K_POS },
	{ "xpos", FI_K_XPOS }, { "grpid", FI_K_GRPID },
	{ "iova", FI_K_IOVA }, { "addr", FI_K_ADDR },
	{ "length", FI_K_LENGTH }, { "pages", FI_K_PAGES },
	{ "access", FI_K_ACCESS }, { "perm", FI_K_PERM },
	{ "reason", FI_K_REASON }, { "stage", FI_K_STAGE },
	{ "level", FI_K_LEVEL }, { "code", FI_K_CODE }, { "by", FI_K_BY },
	{ "latency", FI_K_LATENCY }, { "delay", FI_K_DELAY },
	{ "drop", FI_K_DROP }, { "errno", FI_K_ERRNO },
	{ "cookie", FI_K_COOKIE }, { "inj", FI_K_INJ },
	{ "origin", FI_K_ORIGIN },
};

static const struct fi_kind_def {
	const char *name;
	unsigned int all;	/* the keys it may have */
	unsigned int need;	/* those it must have */
} kinds[FI_REC_NR] = {
	[FI_REC_FAULT] = { "fault",
		FI_K_DEV | FI_K_PASID | FI_K_POS | FI_K_HWPT | FI_K_IOVA |
		FI_K_ACCESS | FI_K_REASON | FI_K_STAGE | FI_K_LEVEL |
		FI_K_ORIGIN,
		FI_K_DEV | FI_K_PASID | FI_K_POS | FI_K_REASON | FI_K_STAGE |
		FI_K_ORIGIN },
	[FI_REC_PAGE_REQUEST] = { "page-request",
		FI_K_DEV | FI_K_PASID | FI_K_POS | FI_K_XPOS | FI_K_HWPT |
		FI_K_GRPID | FI_K_ADDR | FI_K_PAGES | FI_K_PERM |
		FI_K_COOKIE | FI_K_INJ,
		FI_K_DEV | FI_K_PASID | FI_K_POS | FI_K_INJ },
	[FI_REC_PAGE_RESPONSE] = { "page-response",
		FI_K_DEV | FI_K_PASID | FI_K_POS | FI_K_GRPID | FI_K_COOKIE |
		FI_K_CODE | FI_K_BY | FI_K_LATENCY | FI_K_DELAY | FI_K_INJ,
		FI_K_DEV | FI_K_PASID | FI_K_POS | FI_K_CODE | FI_K_BY |
		FI_K_INJ },
	[FI_REC_INVALIDATE] = { "invalidate",
		FI_K_HWPT | FI_K_POS | FI_K_DROP | FI_K_ERRNO,
		FI_K_HWPT | FI_K_POS },
	[FI_REC_MAP] = { "map",
		FI_K_IOAS | FI_K_POS | FI_K_IOVA | FI_K_LENGTH | FI_K_ERRNO |
		FI_K_ORIGIN,
		FI_K_IOAS | FI_K_POS | FI_K_ERRNO | FI_K_ORIGIN },
	[FI_REC_FAIL_SITE] = { "fail-site",
		FI_K_SITE | FI_K_POS | FI_K_ERRNO,
		FI_K_SITE | FI_K_POS | FI_K_ERRNO },
};

/* The "inj=" marks: page requests' and responses' (kernel/hooks.h). */
static const struct fi_mark {
	const char *name;
	unsigned int bit;
} pr_marks[] = {
	{ "forced", NEST_PR_INJ_FORCED }, { "dropped", NEST_PR_INJ_DROPPED },
	{ "duplicated", NEST_PR_INJ_DUPLICATED },
	{ "last-cleared", NEST_PR_INJ_LAST_CLEARED },
}, resp_marks[] = {
	{ "code", NEST_RESP_INJ_CODE }, { "delayed", NEST_RESP_INJ_DELAYED },
};

static const char *const by_names[] = {
	[FI_BY_USER] = "user", [FI_BY_TIMEOUT] = "timeout",
	[FI_BY_AUTO] = "auto",
};

#define ARRAY_LEN(a)	(sizeof(a) / sizeof((a)[0]))

unsigned int fi_rec_all_keys(unsigned int kind)
{
	return kind && kind < FI_REC_NR ? kinds[kind].all : 0;
}

/*
 * The line builders: record formats every event while the workload runs,
 * and vsnprintf per key cost more than the BPF side of an event.
 */
static void put_str(char *buf, size_t len, size_t *pos, const char *s)
{
	/* *pos < len always: the caller starts at 0 with len > 0. */
	while (*s && *pos + 1 < len)
		buf[(*pos)++] = *s++;
	buf[*pos] = 0;
}

static void put_num(char *buf, size_t len, size_t *pos, __u64 v,
		    unsigned int base)
{
	char tmp[24];
	int i = sizeof(tmp);

	tmp[--i] = 0;
	do {
		tmp[--i] = "0123456789abcdef"[v % base];
		v /= base;
	} while (v);
	put_str(buf, len, pos, tmp + i);
}

static void put_u64(char *buf, size_t len, size_t *pos, __u64 v)
{
	put_num(buf, len, pos, v, 10);
}

static void put_hex(char *buf, size_t len, size_t *pos, __u64 v)
{
	put_str(buf, len, pos, "0x");
	put_num(buf, len, pos, v, 16);
}

static void put_marks(char *buf, size_t len, size_t *pos, unsigned int v,
		      const struct fi_mark *m, size_t n)
{
	const char *sep = "";
	size_t i;

	if (!v) {
		put_str(buf, len, pos, "none");
		return;
	}
	for (i = 0; i < n; i++) {
		if (v & m[i].bit) {
			put_str(buf, len, pos, sep);
			put_str(buf, len, pos, m[i].name);
			sep = ",";
		}
	}
}

static void put_pos(char *buf, size_t len, size_t *pos, __u64 v)
{
	if (v)
		put_u64(buf, len, pos, v);
	else
		put_str(buf, len, pos, "-");
}

static void put_value(char *buf, size_t len, size_t *pos,
		      const struct fi_rec_event *e, unsigned int bit)
{
	char tmp[64];

	switch (bit) {
	case FI_K_SITE:
		if (fi_site_name(e->id1))
			put_str(buf, len, pos, fi_site_name(e->id1));
		else
			put_u64(buf, len, pos, e->id1);
		break;
	case FI_K_DEV:
	case FI_K_HWPT:
	case FI_K_IOAS:
		put_u64(buf, len, pos, bit == FI_K_HWPT &&
			e->kind != FI_REC_INVALIDATE ? e->hwpt_id : e->id1);
		break;
	case FI_K_PASID:
		if (e->id2 == NESTIOMMU_PASID_NONE)
			put_str(buf, len, pos, "none");
		else
			put_u64(buf, len, pos, e->id2);
		break;
	case FI_K_POS:
		put_pos(buf, len, pos, e->pos);
		break;
	case FI_K_XPOS:
		put_pos(buf, len, pos, e->xpos);
		break;
	case FI_K_GRPID:
		put_u64(buf, len, pos, e->grpid);
		break;
	case FI_K_IOVA:
	case FI_K_ADDR:
		put_hex(buf, len, pos, e->addr);
		break;
	case FI_K_LENGTH:
		put_hex(buf, len, pos, e->length);
		break;
	case FI_K_PAGES:
		put_u64(buf, len, pos, e->npages);
		break;
	case FI_K_ACCESS:
	case FI_K_PERM:
		fi_access_format(e->access, tmp, sizeof(tmp));
		put_str(buf, len, pos, tmp);
		break;
	case FI_K_REASON:
		put_str(buf, len, pos, fi_fault_reason_name(e->reason));
		break;
	case FI_K_STAGE:
		put_u64(buf, len, pos, e->stage);
		break;
	case FI_K_LEVEL:
		put_u64(buf, len, pos, e->level);
		break;
	case FI_K_CODE:
		put_str(buf, len, pos, fi_resp_code_name(e->code));
		break;
	case FI_K_BY:
		put_str(buf, len, pos, e->by < ARRAY_LEN(by_names) &&
			by_names[e->by] ? by_names[e->by] : "?");
		break;
	case FI_K_LATENCY:
		put_u64(buf, len, pos, e->latency_ns / 1000);
		put_str(buf, len, pos, "us");
		break;
	case FI_K_DELAY:
		put_u64(buf, len, pos, e->delay_us);
		put_str(buf, len, pos, "us");
		break;
	case FI_K_DROP:
		put_str(buf, len, pos, "1");
		break;
	case FI_K_ERRNO:
		put_str(buf, len, pos, fi_errno_name(e->error, tmp, sizeof(tmp)));
		break;
	case FI_K_COOKIE:
		put_u64(buf, len, pos, e->cookie);
		break;
	case FI_K_INJ:
		if (e->kind == FI_REC_PAGE_REQUEST)
			put_marks(buf, len, pos, e->injected, pr_marks,
				  ARRAY_LEN(pr_marks));
		else
			put_marks(buf, len, pos, e->injected, resp_marks,
				  ARRAY_LEN(resp_marks));
		break;
	case FI_K_ORIGIN:
		put_str(buf, len, pos, e->injected ? "injected" : "organic");
		break;
	}
}

/* Keys an event leaves out when they say nothing. */
static unsigned int keys_empty(const struct fi_rec_event *e)
{
	unsigned int k = 0;

	if (e->kind == FI_REC_INVALIDATE)
		k |= e->drop ? FI_K_ERRNO : FI_K_DROP;
	if (e->kind == FI_REC_PAGE_RESPONSE && !e->delay_us)
		k |= FI_K_DELAY;
	if (e->kind == FI_REC_FAULT && !e->hwpt_id)
		k |= FI_K_HWPT;
	return k;
}

void fi_rec_format(const struct fi_rec_event *e, unsigned int keys,
		   char *buf, size_t len)
{
	size_t pos = 0, i;

	*buf = 0;
	if (!e->kind || e->kind >= FI_REC_NR)
		return;
	keys &= kinds[e->kind].all & ~keys_empty(e);
	put_str(buf, len, &pos, kinds[e->kind].name);
	for (i = 0; i < ARRAY_LEN(key_names); i++) {
		if (!(keys & key_names[i].bit))
			continue;
		put_str(buf, len, &pos, " ");
		put_str(buf, len, &pos, key_names[i].name);
		put_str(buf, len, &pos, "=");
		put_value(buf, len, &pos, e, key_names[i].bit);
	}
}

int fi_rec_write_header(FILE *f, const char *kernel, const char *module,
			long *lost_at)
{
	if (fprintf(f, "# faultinject recording (tools/faultinject/README.md)\n"
		    "version %d\nkernel %s\nmodule %s\n", FI_REC_VERSION,
		    kernel, module) < 0)
		return -1;
	*lost_at = ftell(f);
	if (*lost_at < 0 ||
	    fprintf(f, "lost %-*u\n", LOST_WIDTH, 0) < 0)
		return -1;
	return 0;
}

int fi_rec_finish(FILE *f, long lost_at, __u64 lost)
{
	if (fprintf(f, "end\n") < 0 || fflush(f) ||
	    fseek(f, lost_at, SEEK_SET) ||
	    fprintf(f, "lost %-*llu\n", LOST_WIDTH,
		    (unsigned long long)lost) < 0 ||
	    fflush(f))
		return -1;
	return 0;
}

/* ---- reading ---- */

struct fi_reader {
	const char *path;
	unsigned int lineno;
	char *err;
	size_t errlen;
};

static int __attribute__((format(printf, 2, 3)))
bad(struct fi_reader *rd, const char *fmt, ...)
{
	size_t n;
	va_list ap;

	n = snprintf(rd->err, rd->errlen, "%s:%u: ", rd->path, rd->lineno);
	if (n < rd->errlen) {
		va_start(ap, fmt);
		vsnprintf(rd->err + n, rd->errlen - n, fmt, ap);
		va_end(ap);
	}
	return -1;
}

static bool parse_pos(const char *s, __u64 *v)
{
	uint64_t n;

	if (!strcmp(s, "-")) {
		*v = 0;
		return true;
	}
	if (!fi_parse_u64(s, UINT64_MAX, &n) || !n)
		return false;
	*v = n;
	return true;
}

static bool parse_us(const char *s, __u64 *v)
{
	char buf[32];
	size_t n = strlen(s);
	uint64_t u;

	if (n < 3 || n >= sizeof(buf) || strcmp(s + n - 2, "us"))
		return false;
	memcpy(buf, s, n - 2);
	buf[n - 2] = 0;
	if (!fi_parse_u64(buf, UINT64_MAX / 1000, &u))
		return false;
	*v = u;
	return true;
}

static bool parse_marks(const char *s, const struct fi_mark *m, size_t n,
			__u32 *v)
{
	char buf[128], *item, *save;
	size_t i;

	*v = 0;
	if (!strcmp(s, "none"))
		return true;
	if (!*s || strlen(s) >= sizeof(buf) || s[strlen(s) - 1] == ',')
		return false;
	strcpy(buf, s);
	for (item = strtok_r(buf, ",", &save); item;
	     item = strtok_r(NULL, ",", &save)) {
		for (i = 0; i < n && strcmp(item, m[i].name); i++)
			;
		if (i == n)
			return false;
		*v |= m[i].bit;
	}
	return true;
}

static bool parse_value(struct fi_rec_event *e, unsigned int bit,
			const char *val)
{
	uint64_t v;
	unsigned int u;
	size_t i;

	switch (bit) {
	case FI_K_SITE:
		/* Its name (faultinject list); a number for a newer module's. */
		if (fi_site_find(val) >= 0) {
			e->id1 = fi_site_find(val);
			return true;
		}
		if (!fi_parse_u64(val, UINT32_MAX, &v))
			return false;
		e->id1 = v;
		return true;
	case FI_K_DEV:
	case FI_K_IOAS:
		if (!fi_parse_u64(val, UINT32_MAX, &v))
			return false;
		e->id1 = v;
		return true;
	case FI_K_HWPT:
		if (!fi_parse_u64(val, UINT32_MAX, &v))
			return false;
		if (e->kind == FI_REC_INVALIDATE)
			e->id1 = v;
		else
			e->hwpt_id = v;
		return true;
	case FI_K_PASID:
		if (!strcmp(val, "none")) {
			e->id2 = NESTIOMMU_PASID_NONE;
			return true;
		}
		if (!fi_parse_u64(val, UINT32_MAX - 1, &v))
			return false;
		e->id2 = v;
		return true;
	case FI_K_POS:
		return parse_pos(val, &e->pos);
	case FI_K_XPOS:
		return parse_pos(val, &e->xpos);
	case FI_K_GRPID:
	case FI_K_PAGES:
		if (!fi_parse_u64(val, UINT32_MAX, &v))
			return false;
		*(bit == FI_K_GRPID ? &e->grpid : &e->npages) = v;
		return true;
	case FI_K_IOVA:
	case FI_K_ADDR:
	case FI_K_LENGTH:
	case FI_K_COOKIE:
		if (!fi_parse_u64(val, UINT64_MAX, &v))
			return false;
		if (bit == FI_K_LENGTH)
			e->length = v;
		else if (bit == FI_K_COOKIE)
			e->cookie = v;
		else
			e->addr = v;
		return true;
	case FI_K_ACCESS:
	case FI_K_PERM:
		if (!strcmp(val, "-")) {
			e->access = 0;
			return true;
		}
		return fi_access_parse(val, &e->access);
	case FI_K_REASON:
		return fi_fault_reason_parse(val, &e->reason);
	case FI_K_STAGE:
		if (!fi_parse_u64(val, 2, &v) || !v)
			return false;
		e->stage = v;
		return true;
	case FI_K_LEVEL:
		if (!fi_parse_u64(val, 5, &v))
			return false;
		e->level = v;
		return true;
	case FI_K_CODE:
		return fi_resp_code_parse(val, &e->code);
	case FI_K_BY:
		for (i = 1; i < ARRAY_LEN(by_names); i++) {
			if (!strcmp(val, by_names[i])) {
				e->by = i;
				return true;
			}
		}
		return false;
	case FI_K_LATENCY:
		if (!parse_us(val, &e->latency_ns))
			return false;
		e->latency_ns *= 1000;
		return true;
	case FI_K_DELAY:
		return parse_us(val, &e->delay_us);
	case FI_K_DROP:
		if (strcmp(val, "1"))
			return false;
		e->drop = 1;
		return true;
	case FI_K_ERRNO:
		if (!fi_errno_parse(val, &u))
			return false;
		e->error = u;
		return true;
	case FI_K_INJ:
		if (e->kind == FI_REC_PAGE_REQUEST)
			return parse_marks(val, pr_marks, ARRAY_LEN(pr_marks),
					   &e->injected);
		return parse_marks(val, resp_marks, ARRAY_LEN(resp_marks),
				   &e->injected);
	case FI_K_ORIGIN:
		if (!strcmp(val, "organic") || !strcmp(val, "injected")) {
			e->injected = !strcmp(val, "injected");
			return true;
		}
		return false;
	}
	return false;
}

static const char *key_name(unsigned int bit)
{
	size_t i;

	for (i = 0; i < ARRAY_LEN(key_names); i++)
		if (key_names[i].bit == bit)
			return key_names[i].name;
	return "?";
}

/* One event line, in place (@s is changed). */
static int parse_event(struct fi_reader *rd, char *s, struct fi_rec_line *l)
{
	struct fi_rec_event *e = &l->ev;
	char *word, *save, *eq;
	unsigned int k, missing;
	size_t i;

	memset(l, 0, sizeof(*l));
	l->lineno = rd->lineno;
	word = strtok_r(s, " \t", &save);
	for (k = 1; k < FI_REC_NR && strcmp(word, kinds[k].name); k++)
		;
	if (k == FI_REC_NR)
		return bad(rd, "unknown event '%s' (fault, page-request, page-response, invalidate, map, fail-site)",
			   word);
	e->kind = k;
	/* Only injected ones are recorded: their lines say no origin. */
	e->injected = k == FI_REC_INVALIDATE || k == FI_REC_FAIL_SITE;
	while ((word = strtok_r(NULL, " \t", &save))) {
		eq = strchr(word, '=');
		if (!eq)
			return bad(rd, "'%s' is not key=value", word);
		*eq = 0;
		for (i = 0; i < ARRAY_LEN(key_names) &&
		     strcmp(word, key_names[i].name); i++)
			;
		if (i == ARRAY_LEN(key_names) ||
		    !(kinds[k].all & key_names[i].bit))
			return bad(rd, "unknown key '%s' for %s", word,
				   kinds[k].name);
		if (l->keys & key_names[i].bit)
			return bad(rd, "'%s=' given twice", word);
		if (!parse_value(e, key_names[i].bit, eq + 1)) {
			*eq = '=';
			return bad(rd, "bad value in '%s'", word);
		}
		l->keys |= key_names[i].bit;
	}
	missing = kinds[k].need & ~l->keys;
	if (missing)
		return bad(rd, "%s without %s=", kinds[k].name,
			   key_name(missing & -missing));
	if (k == FI_REC_INVALIDATE &&
	    !(l->keys & FI_K_DROP) == !(l->keys & FI_K_ERRNO))
		return bad(rd, "invalidate needs one of drop=1 and errno=");
	if (k == FI_REC_PAGE_REQUEST && (e->injected & NEST_PR_INJ_FORCED) &&
	    !(l->keys & FI_K_XPOS))
		return bad(rd, "page-request inj=forced without xpos=");
	return 0;
}

/* A header line "KEY VALUE" into @rec. */
static int parse_header(struct fi_reader *rd, char *s,
			struct fi_recording *rec, unsigned int *seen)
{
	static const char *const keys[] = { "version", "kernel", "module",
					    "lost" };
	size_t n = strcspn(s, " \t"), i;
	char *val;
	uint64_t v;

	for (i = 0; i < ARRAY_LEN(keys) &&
	     (strlen(keys[i]) != n || strncmp(s, keys[i], n)); i++)
		;
	if (i == ARRAY_LEN(keys))
		return 1;	/* not a header line */
	val = s + n;
	if (*val)
		*val++ = 0;
	if (*seen & 1U << i)
		return bad(rd, "'%s' given twice", s);
	if (!val || !*val)
		return bad(rd, "'%s' without a value", s);
	if (i == 0) {
		if (*seen)
			return bad(rd, "'version' must come first");
		if (!fi_parse_u64(val, UINT32_MAX, &v) || v != FI_REC_VERSION)
			return bad(rd, "unsupported version '%s' (this faultinject reads %d)",
				   val, FI_REC_VERSION);
		rec->version = v;
	} else if (!(*seen & 1)) {
		return bad(rd, "missing header: 'version %d' must come first",
			   FI_REC_VERSION);
	} else if (i == 1 || i == 2) {
		snprintf(i == 1 ? rec->kernel : rec->module,
			 i == 1 ? sizeof(rec->kernel) : sizeof(rec->module),
			 "%s", val);
	} else if (!fi_parse_u64(val, UINT64_MAX, &v)) {
		return bad(rd, "bad value in 'lost %s'", val);
	} else {
		rec->lost = v;
	}
	*seen |= 1U << i;
	return 0;
}

int fi_rec_load(struct fi_recording *rec, const char *path, char *err,
		size_t errlen)
{
	struct fi_reader rd = { .path = path, .err = err, .errlen = errlen };
	unsigned int seen = 0;
	bool ended = false;
	char *buf = NULL, *s;
	size_t cap = 0, n;
	ssize_t len;
	FILE *f;
	int rc;

	memset(rec, 0, sizeof(*rec));
	f = fopen(path, "r");
	if (!f) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	while ((len = getline(&buf, &cap, f)) >= 0) {
		rd.lineno++;
		if (!len || buf[len - 1] != '\n') {
			rc = bad(&rd, "truncated: the last line has no newline");
			goto fail;
		}
		if (memchr(buf, 0, len)) {
			rc = bad(&rd, "a NUL byte: not a recording");
			goto fail;
		}
		for (n = len; n && isspace((unsigned char)buf[n - 1]); n--)
			;
		buf[n] = 0;
		for (s = buf; isspace((unsigned char)*s); s++)
			;
		if (!*s || *s == '#')
			continue;
		if (ended) {
			rc = bad(&rd, "'%s' after 'end'", s);
			goto fail;
		}
		if (!strcmp(s, "end")) {
			ended = true;
			continue;
		}
		rc = parse_header(&rd, s, rec, &seen);
		if (rc < 0)
			goto fail;
		if (!rc)
			continue;
		if (seen != 0xf) {
			rc = bad(&rd, "missing header: %s before the event '%s'",
				 !(seen & 1) ? "'version'" : !(seen & 2) ?
				 "'kernel'" : !(seen & 4) ? "'module'" :
				 "'lost'", s);
			goto fail;
		}
		if (rec->nr == rec->cap) {
			size_t ncap = rec->cap ? 2 * rec->cap : 256;
			void *p = realloc(rec->line, ncap * sizeof(*rec->line));

			if (!p) {
				rc = bad(&rd, "%s", strerror(ENOMEM));
				goto fail;
			}
			rec->line = p;
			rec->cap = ncap;
		}
		rc = parse_event(&rd, s, &rec->line[rec->nr]);
		if (rc)
			goto fail;
		rec->nr++;
	}
	if (ferror(f)) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		rc = -1;
		goto fail;
	}
	rd.lineno++;
	if (!(seen & 1))
		rc = bad(&rd, "missing header: not a faultinject recording (no 'version' line)");
	else if (seen != 0xf)
		rc = bad(&rd, "missing header: no '%s' line", !(seen & 2) ?
			 "kernel" : !(seen & 4) ? "module" : "lost");
	else if (!ended)
		rc = bad(&rd, "truncated: no 'end' line");
	else
		rc = 0;
	if (rc)
		goto fail;
	free(buf);
	fclose(f);
	return 0;
fail:
	free(buf);
	fclose(f);
	fi_rec_free(rec);
	return -1;
}

void fi_rec_free(struct fi_recording *rec)
{
	free(rec->line);
	rec->line = NULL;
	rec->nr = rec->cap = 0;
}
