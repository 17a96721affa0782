// SPDX-License-Identifier: GPL-2.0
/*
 * rules.c - faultinject's rule language (rules.h). Every error names the
 * word it is about, so a rule in a long file is fixed at a glance.
 */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "nestiommu.h"
#include "rules.h"

/* The driver's limits on what a hook may ask (kernel/hooks.h). */
#define FI_MAX_ERRNO		133
#define FI_MAX_DELAY_US		1000000U
#define FI_MAX_LEVEL		5

static const char *const at_names[FI_AT_NR] = {
	[FI_AT_TRANSLATE] = "translate",
	[FI_AT_PAGE_REQUEST] = "page-request",
	[FI_AT_PAGE_RESPONSE] = "page-response",
	[FI_AT_INVALIDATE] = "invalidate",
	[FI_AT_MAP] = "map",
	[FI_AT_FAIL_SITE] = "fail-site",
};

static const char *const action_names[FI_ACT_NR] = {
	[FI_ACT_FAULT] = "fault",
	[FI_ACT_PAGE_REQUEST] = "page-request",
	[FI_ACT_DROP] = "drop",
	[FI_ACT_DUPLICATE] = "duplicate",
	[FI_ACT_CLEAR_LAST] = "clear-last",
	[FI_ACT_CODE] = "code",
	[FI_ACT_DELAY] = "delay",
	[FI_ACT_ERRNO] = "errno",
	[FI_ACT_FAIL] = "site",
};

/* Which actions each hook point offers. */
static const unsigned int at_actions[FI_AT_NR] = {
	[FI_AT_TRANSLATE] = 1 << FI_ACT_FAULT | 1 << FI_ACT_PAGE_REQUEST,
	[FI_AT_PAGE_REQUEST] = 1 << FI_ACT_DROP | 1 << FI_ACT_DUPLICATE |
			       1 << FI_ACT_CLEAR_LAST,
	[FI_AT_PAGE_RESPONSE] = 1 << FI_ACT_CODE | 1 << FI_ACT_DROP |
				1 << FI_ACT_DELAY,
	[FI_AT_INVALIDATE] = 1 << FI_ACT_DROP | 1 << FI_ACT_ERRNO,
	[FI_AT_MAP] = 1 << FI_ACT_ERRNO,
	[FI_AT_FAIL_SITE] = 1 << FI_ACT_FAIL,
};

/* Which filters each hook point can apply (what its event knows). */
static const unsigned int at_filters[FI_AT_NR] = {
	[FI_AT_TRANSLATE] = FI_F_DEV | FI_F_PASID | FI_F_HWPT | FI_F_IOVA |
			    FI_F_ACCESS | FI_F_COMM | FI_F_PID,
	[FI_AT_PAGE_REQUEST] = FI_F_DEV | FI_F_PASID | FI_F_HWPT | FI_F_IOVA |
			       FI_F_ACCESS | FI_F_COMM | FI_F_PID,
	[FI_AT_PAGE_RESPONSE] = FI_F_DEV | FI_F_PASID | FI_F_COMM | FI_F_PID,
	[FI_AT_INVALIDATE] = FI_F_PASID | FI_F_HWPT | FI_F_IOVA | FI_F_CACHE |
			     FI_F_COMM | FI_F_PID,
	[FI_AT_MAP] = FI_F_IOAS | FI_F_IOVA | FI_F_COMM | FI_F_PID,
	[FI_AT_FAIL_SITE] = FI_F_COMM | FI_F_PID,
};

static const struct fi_filter_name {
	const char *key;
	unsigned int bit;
} filter_names[] = {
	{ "dev", FI_F_DEV }, { "pasid", FI_F_PASID }, { "hwpt", FI_F_HWPT },
	{ "ioas", FI_F_IOAS }, { "iova", FI_F_IOVA },
	{ "access", FI_F_ACCESS }, { "cache", FI_F_CACHE },
	{ "comm", FI_F_COMM }, { "pid", FI_F_PID },
};

static const char *const reason_names[NESTIOMMU_FAULT_REASON_NR] = {
	[NESTIOMMU_FAULT_REASON_UNKNOWN] = "unknown",
	[NESTIOMMU_FAULT_REASON_PASID_FETCH] = "pasid-fetch",
	[NESTIOMMU_FAULT_REASON_BAD_PASID_ENTRY] = "bad-pasid-entry",
	[NESTIOMMU_FAULT_REASON_PASID_INVALID] = "pasid-invalid",
	[NESTIOMMU_FAULT_REASON_WALK_EABT] = "walk-eabt",
	[NESTIOMMU_FAULT_REASON_PTE_FETCH] = "pte-fetch",
	[NESTIOMMU_FAULT_REASON_PERMISSION] = "permission",
	[NESTIOMMU_FAULT_REASON_ACCESS] = "access",
	[NESTIOMMU_FAULT_REASON_OOR_ADDRESS] = "oor-address",
};

/* Generated from the uAPI header's enum nestiommu_fail_site (Makefile). */
static const struct fi_site {
	const char *name;
	const char *doc;
} sites[] = {
#define FI_SITE(id, name, doc) [NESTIOMMU_FAIL_SITE_##id] = { name, doc },
#include "fail_sites.h"
#undef FI_SITE
};
_Static_assert(sizeof(sites) / sizeof(sites[0]) == NESTIOMMU_FAIL_SITE_COUNT,
	       "a site of enum nestiommu_fail_site has no kernel-doc line");

static const struct fi_named {
	const char *name;
	unsigned int value;
} resp_codes[] = {
	{ "success", NESTIOMMU_PAGE_RESP_SUCCESS },
	{ "invalid", NESTIOMMU_PAGE_RESP_INVALID },
	{ "failure", NESTIOMMU_PAGE_RESP_FAILURE },
}, access_names[] = {
	{ "r", NESTIOMMU_ACCESS_READ }, { "w", NESTIOMMU_ACCESS_WRITE },
	{ "x", NESTIOMMU_ACCESS_EXEC }, { "priv", NESTIOMMU_ACCESS_PRIV },
}, cache_names[] = {
	{ "iotlb", NESTIOMMU_INV_CACHE_IOTLB },
	{ "devtlb", NESTIOMMU_INV_CACHE_DEV_IOTLB },
	{ "pasid", NESTIOMMU_INV_CACHE_PASID },
};

#define ARRAY_LEN(a)	(sizeof(a) / sizeof((a)[0]))

const char *fi_at_name(unsigned int at)
{
	return at < FI_AT_NR && at_names[at] ? at_names[at] : "?";
}

const char *fi_action_name(unsigned int action)
{
	return action < FI_ACT_NR && action_names[action] ?
	       action_names[action] : "?";
}

const char *fi_fault_reason_name(unsigned int reason)
{
	return reason < NESTIOMMU_FAULT_REASON_NR ? reason_names[reason] :
	       "unknown";
}

const char *fi_site_name(unsigned int site)
{
	return site < NESTIOMMU_FAIL_SITE_COUNT ? sites[site].name : NULL;
}

const char *fi_site_doc(unsigned int site)
{
	return site < NESTIOMMU_FAIL_SITE_COUNT ? sites[site].doc : NULL;
}

const char *fi_resp_code_name(unsigned int code)
{
	size_t i;

	for (i = 0; i < ARRAY_LEN(resp_codes); i++)
		if (resp_codes[i].value == code)
			return resp_codes[i].name;
	return "?";
}

unsigned int fi_at_actions(unsigned int at)
{
	return at < FI_AT_NR ? at_actions[at] : 0;
}

unsigned int fi_at_filters(unsigned int at)
{
	return at < FI_AT_NR ? at_filters[at] : 0;
}

const char *fi_filter_key(unsigned int bit)
{
	size_t i;

	for (i = 0; i < ARRAY_LEN(filter_names); i++)
		if (filter_names[i].bit == bit)
			return filter_names[i].key;
	return "?";
}

static int fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -1;
}

/*
 * Names compare ignoring case, with '-' and '_' alike: PTE_FETCH is
 * pte-fetch.
 */
static bool name_eq(const char *a, const char *b)
{
	for (; *a && *b; a++, b++)
		if (tolower((unsigned char)*a) != tolower((unsigned char)*b) &&
		    !((*a == '-' || *a == '_') && (*b == '-' || *b == '_')))
			return false;
	return !*a && !*b;
}

int fi_site_find(const char *name)
{
	unsigned int i;

	for (i = 0; i < NESTIOMMU_FAIL_SITE_COUNT; i++)
		if (name_eq(name, sites[i].name))
			return i;
	return -1;
}

bool fi_parse_u64(const char *s, uint64_t max, uint64_t *v)
{
	char *end;

	if (!isdigit((unsigned char)*s))
		return false;
	errno = 0;
	*v = strtoull(s, &end, 0);
	return !errno && !*end && *v <= max;
}

/* "r,w,priv" against @names; sets the OR of their values. */
static bool parse_list(const char *s, const struct fi_named *names,
		       size_t n, unsigned int *v)
{
	char buf[64], *item, *save;
	size_t i;

	if (!*s || strlen(s) >= sizeof(buf))
		return false;
	strcpy(buf, s);
	*v = 0;
	for (item = strtok_r(buf, ",", &save); item;
	     item = strtok_r(NULL, ",", &save)) {
		for (i = 0; i < n && !name_eq(item, names[i].name); i++)
			;
		if (i == n)
			return false;
		*v |= names[i].value;
	}
	return *v && s[strlen(s) - 1] != ',';
}

/* "250us", "10ms", "1s" -> microseconds. */
static bool parse_duration_us(const char *s, uint64_t *us)
{
	static const struct { const char *unit; uint64_t us; } units[] = {
		{ "us", 1 }, { "ms", 1000 }, { "s", 1000000 },
	};
	char *end;
	uint64_t n;
	size_t i;

	if (!isdigit((unsigned char)*s))
		return false;
	errno = 0;
	n = strtoull(s, &end, 10);
	if (errno)
		return false;
	for (i = 0; i < ARRAY_LEN(units); i++) {
		if (!strcmp(end, units[i].unit)) {
			if (n > UINT64_MAX / units[i].us)
				return false;
			*us = n * units[i].us;
			return true;
		}
	}
	return false;
}

/* "0.05" or "5%" -> out of FI_PROB_ONE; 0 < P <= 1. */
static bool parse_prob(const char *s, __u64 *prob)
{
	char *end;
	double p;

	if (!isdigit((unsigned char)*s) && *s != '.')
		return false;
	errno = 0;
	p = strtod(s, &end);
	if (errno || end == s)
		return false;
	if (!strcmp(end, "%"))
		p /= 100;
	else if (*end)
		return false;
	if (!(p > 0 && p <= 1))
		return false;
	*prob = (uint64_t)llround(p * (double)FI_PROB_ONE);
	if (!*prob)
		*prob = 1;
	return true;
}

/* An errno by name (ENOMEM) or number, 1 to FI_MAX_ERRNO. */
static bool parse_errno(const char *s, unsigned int *e)
{
	uint64_t v;
	int i;

	if (fi_parse_u64(s, FI_MAX_ERRNO, &v)) {
		*e = v;
		return v > 0;
	}
	for (i = 1; i <= FI_MAX_ERRNO; i++) {
		const char *name = strerrorname_np(i);

		if (name && !strcasecmp(name, s)) {
			*e = i;
			return true;
		}
	}
	return false;
}

static const char *errno_text(unsigned int e, char *buf, size_t len)
{
	const char *name = strerrorname_np(e);

	if (name)
		return name;
	snprintf(buf, len, "%u", e);
	return buf;
}

/* What parsing a rule has seen so far, to name conflicts and repeats. */
struct fi_parse {
	struct fi_rule *r;
	const char *action_word;	/* the word that set r->action */
	unsigned int seen;		/* SEEN_* */
	char *err;
	size_t errlen;
};

enum {
	SEEN_AT = 1 << 0, SEEN_STAGE = 1 << 1, SEEN_LEVEL = 1 << 2,
	SEEN_NTH = 1 << 3, SEEN_EVERY = 1 << 4, SEEN_AFTER = 1 << 5,
	SEEN_TIMES = 1 << 6, SEEN_PROB = 1 << 7,
};

static int set_action(struct fi_parse *p, unsigned int action,
		      const char *word)
{
	if (p->r->action)
		return fail(p->err, p->errlen,
			    "'%s' conflicts with '%s': one action per rule",
			    word, p->action_word);
	p->r->action = action;
	p->action_word = word;
	return 0;
}

static int once(struct fi_parse *p, unsigned int bit, const char *key)
{
	if (p->seen & bit)
		return fail(p->err, p->errlen, "%s= given twice", key);
	p->seen |= bit;
	return 0;
}

static int bad_value(struct fi_parse *p, const char *word, const char *want)
{
	return fail(p->err, p->errlen, "bad value in '%s': %s", word, want);
}

static int parse_filter(struct fi_parse *p, const struct fi_filter_name *f,
			const char *word, const char *val)
{
	struct fi_rule *r = p->r;
	uint64_t a, b;
	char *dash;

	if (r->filters & f->bit)
		return fail(p->err, p->errlen, "%s= given twice", f->key);
	r->filters |= f->bit;
	switch (f->bit) {
	case FI_F_DEV:
	case FI_F_HWPT:
	case FI_F_IOAS:
		if (!fi_parse_u64(val, UINT32_MAX, &a))
			return bad_value(p, word, "an object ID");
		*(f->bit == FI_F_DEV ? &r->dev_id : f->bit == FI_F_HWPT ?
		  &r->hwpt_id : &r->ioas_id) = a;
		return 0;
	case FI_F_PASID:
		if (!strcmp(val, "none")) {
			r->pasid = NESTIOMMU_PASID_NONE;
			return 0;
		}
		if (!fi_parse_u64(val, (1U << 20) - 1, &a))
			return bad_value(p, word,
					 "a PASID (0 to 0xfffff) or none");
		r->pasid = a;
		return 0;
	case FI_F_IOVA: {
		char buf[64];

		if (strlen(val) >= sizeof(buf))
			return bad_value(p, word, "an address or FIRST-LAST");
		strcpy(buf, val);
		dash = strchr(buf, '-');
		if (dash)
			*dash = '\0';
		if (!fi_parse_u64(buf, UINT64_MAX, &a) ||
		    (dash && !fi_parse_u64(dash + 1, UINT64_MAX, &b)))
			return bad_value(p, word, "an address or FIRST-LAST");
		if (!dash)
			b = a;
		if (b < a)
			return bad_value(p, word, "FIRST must not exceed LAST");
		r->iova_first = a;
		r->iova_last = b;
		return 0;
	}
	case FI_F_ACCESS:
		if (!parse_list(val, access_names, ARRAY_LEN(access_names),
				&r->access))
			return bad_value(p, word,
					 "r, w, x, priv joined by commas");
		return 0;
	case FI_F_CACHE:
		if (!parse_list(val, cache_names, ARRAY_LEN(cache_names),
				&r->cache))
			return bad_value(p, word,
					 "iotlb, devtlb, pasid joined by commas");
		return 0;
	case FI_F_COMM:
		if (!*val || strlen(val) >= FI_COMM_LEN)
			return bad_value(p, word, "1 to 15 characters");
		strcpy(r->comm, val);
		return 0;
	case FI_F_PID:
		if (!fi_parse_u64(val, 1U << 22, &a) || !a)
			return bad_value(p, word, "a process ID");
		r->pid = a;
		return 0;
	}
	return -1;
}

static int parse_when(struct fi_parse *p, const char *key, const char *word,
		      const char *val)
{
	static const struct {
		const char *key;
		unsigned int bit;
		uint64_t min;
		size_t off;
	} counts[] = {
		{ "nth", SEEN_NTH, 1, offsetof(struct fi_rule, nth) },
		{ "every", SEEN_EVERY, 1, offsetof(struct fi_rule, every) },
		{ "after", SEEN_AFTER, 0, offsetof(struct fi_rule, after) },
		{ "times", SEEN_TIMES, 1, offsetof(struct fi_rule, times) },
	};
	uint64_t v;
	size_t i;

	if (!strcmp(key, "prob")) {
		if (once(p, SEEN_PROB, key))
			return -1;
		if (!parse_prob(val, &p->r->prob))
			return bad_value(p, word,
					 "a probability above 0, at most 1 (0.05 or 5%)");
		return 0;
	}
	for (i = 0; i < ARRAY_LEN(counts); i++) {
		if (strcmp(key, counts[i].key))
			continue;
		if (once(p, counts[i].bit, key))
			return -1;
		if (!fi_parse_u64(val, UINT64_MAX, &v) || v < counts[i].min)
			return bad_value(p, word, counts[i].min ?
					 "a count from 1" : "a count from 0");
		*(__u64 *)((char *)p->r + counts[i].off) = v;
		return 0;
	}
	return 1;	/* not a "when" word */
}

/* One word of a rule: a bare action or KEY=VALUE. */
static int parse_word(struct fi_parse *p, const char *word)
{
	static const struct fi_named bare[] = {
		{ "page-request", FI_ACT_PAGE_REQUEST },
		{ "drop", FI_ACT_DROP },
		{ "duplicate", FI_ACT_DUPLICATE },
		{ "clear-last", FI_ACT_CLEAR_LAST },
	};
	struct fi_rule *r = p->r;
	const char *eq = strchr(word, '='), *val;
	char key[16];
	uint64_t v;
	size_t i;
	int rc;

	if (!eq) {
		for (i = 0; i < ARRAY_LEN(bare); i++)
			if (name_eq(word, bare[i].name))
				return set_action(p, bare[i].value, word);
		return fail(p->err, p->errlen, "unknown word '%s'", word);
	}
	if ((size_t)(eq - word) >= sizeof(key))
		return fail(p->err, p->errlen, "unknown word '%s'", word);
	memcpy(key, word, eq - word);
	key[eq - word] = '\0';
	val = eq + 1;
	if (!*val)
		return fail(p->err, p->errlen, "'%s' has no value", word);

	if (!strcmp(key, "at")) {
		if (once(p, SEEN_AT, key))
			return -1;
		for (i = 1; i < FI_AT_NR && !name_eq(val, at_names[i]); i++)
			;
		if (i == FI_AT_NR)
			return bad_value(p, word,
					 "translate, page-request, page-response, invalidate, map or fail-site");
		r->at = i;
		return 0;
	}
	if (!strcmp(key, "fault")) {
		for (i = NESTIOMMU_FAULT_REASON_PASID_FETCH;
		     i < NESTIOMMU_FAULT_REASON_NR &&
		     !name_eq(val, reason_names[i]); i++)
			;
		if (i == NESTIOMMU_FAULT_REASON_NR)
			return bad_value(p, word,
					 "a fault reason (faultinject list)");
		r->fault_reason = i;
		return set_action(p, FI_ACT_FAULT, word);
	}
	if (!strcmp(key, "stage") || !strcmp(key, "level")) {
		bool stage = key[0] == 's';

		if (once(p, stage ? SEEN_STAGE : SEEN_LEVEL, key))
			return -1;
		if (!fi_parse_u64(val, stage ? 2 : FI_MAX_LEVEL, &v) || !v)
			return bad_value(p, word, stage ? "1 or 2" : "1 to 5");
		*(stage ? &r->fault_stage : &r->fault_level) = v;
		return 0;
	}
	if (!strcmp(key, "code")) {
		for (i = 0; i < ARRAY_LEN(resp_codes) &&
		     !name_eq(val, resp_codes[i].name); i++)
			;
		if (i == ARRAY_LEN(resp_codes))
			return bad_value(p, word, "success, invalid or failure");
		r->code = resp_codes[i].value;
		return set_action(p, FI_ACT_CODE, word);
	}
	if (!strcmp(key, "delay")) {
		if (!parse_duration_us(val, &v) || !v || v > FI_MAX_DELAY_US)
			return bad_value(p, word,
					 "1us to 1s, with a unit (us, ms, s)");
		r->delay_us = v;
		return set_action(p, FI_ACT_DELAY, word);
	}
	if (!strcmp(key, "errno")) {
		if (!parse_errno(val, &r->error))
			return bad_value(p, word,
					 "an errno name (ENOMEM) or 1 to 133");
		return set_action(p, FI_ACT_ERRNO, word);
	}
	if (!strcmp(key, "site")) {
		rc = fi_site_find(val);
		if (rc < 0)
			return bad_value(p, word,
					 "a failure site (faultinject list)");
		r->site = rc;
		return set_action(p, FI_ACT_FAIL, word);
	}
	for (i = 0; i < ARRAY_LEN(filter_names); i++)
		if (!strcmp(key, filter_names[i].key))
			return parse_filter(p, &filter_names[i], word, val);
	rc = parse_when(p, key, word, val);
	if (rc == 1)
		return fail(p->err, p->errlen, "unknown word '%s'", word);
	return rc;
}

/* What one rule must hold together, once all its words are read. */
static int check_rule(struct fi_parse *p)
{
	const struct fi_rule *r = p->r;
	size_t i;

	if (!r->at)
		return fail(p->err, p->errlen,
			    "no at= (translate, page-request, page-response, invalidate, map, fail-site)");
	if (!r->action)
		return fail(p->err, p->errlen, "no action for at=%s",
			    fi_at_name(r->at));
	if (!(at_actions[r->at] & 1 << r->action))
		return fail(p->err, p->errlen,
			    "'%s' does not apply at=%s", p->action_word,
			    fi_at_name(r->at));
	if (r->action == FI_ACT_FAULT && !(p->seen & SEEN_STAGE))
		return fail(p->err, p->errlen, "'%s' needs stage=1 or stage=2",
			    p->action_word);
	if (r->action != FI_ACT_FAULT && (p->seen & (SEEN_STAGE | SEEN_LEVEL)))
		return fail(p->err, p->errlen,
			    "%s= applies only with fault=",
			    p->seen & SEEN_STAGE ? "stage" : "level");
	for (i = 0; i < ARRAY_LEN(filter_names); i++)
		if ((r->filters & filter_names[i].bit) &&
		    !(at_filters[r->at] & filter_names[i].bit))
			return fail(p->err, p->errlen,
				    "%s= does not apply at=%s",
				    filter_names[i].key, fi_at_name(r->at));
	if ((p->seen & SEEN_NTH) && (p->seen & (SEEN_EVERY | SEEN_AFTER |
						SEEN_TIMES)))
		return fail(p->err, p->errlen,
			    "nth= conflicts with %s= (nth= picks one match)",
			    p->seen & SEEN_EVERY ? "every" :
			    p->seen & SEEN_AFTER ? "after" : "times");
	return 0;
}

int fi_rule_parse(const char *text, struct fi_rule *r, char *err,
		  size_t errlen)
{
	struct fi_parse p = { .r = r, .err = err, .errlen = errlen };
	char *copy, *word, *save;
	int rc = 0;

	memset(r, 0, sizeof(*r));
	r->prob = FI_PROB_ONE;
	copy = strdup(text);
	if (!copy)
		return fail(err, errlen, "out of memory");
	for (word = strtok_r(copy, " \t\r\n", &save); word && !rc;
	     word = strtok_r(NULL, " \t\r\n", &save))
		rc = parse_word(&p, word);
	/* Action words point into @copy: check before freeing it. */
	if (!rc)
		rc = check_rule(&p);
	free(copy);
	return rc;
}

int fi_rules_add(struct fi_rules *set, const char *text, const char *origin,
		 char *err, size_t errlen)
{
	char why[FI_ERR_LEN];
	struct fi_rule r;

	if (fi_rule_parse(text, &r, why, sizeof(why)))
		return fail(err, errlen, "%s: rule '%s': %s", origin, text,
			    why);
	if (set->nr == FI_MAX_RULES)
		return fail(err, errlen, "%s: rule '%s': more than %d rules",
			    origin, text, FI_MAX_RULES);
	set->rule[set->nr] = r;
	set->text[set->nr] = strdup(text);
	if (!set->text[set->nr])
		return fail(err, errlen, "out of memory");
	set->nr++;
	return 0;
}

int fi_rules_load(struct fi_rules *set, const char *path, char *err,
		  size_t errlen)
{
	FILE *f = strcmp(path, "-") ? fopen(path, "r") : stdin;
	char *line = NULL, origin[300];
	size_t cap = 0;
	unsigned int n = 0;
	ssize_t got;
	int rc = 0;

	if (!f)
		return fail(err, errlen, "%s: %s", path, strerror(errno));
	while (!rc && (got = getline(&line, &cap, f)) >= 0) {
		char *s = line, *end;

		n++;
		if ((size_t)got != strlen(line)) {
			rc = fail(err, errlen, "%s:%u: not text (a NUL byte)",
				  path, n);
			break;
		}
		end = strchr(s, '#');
		if (end)
			*end = '\0';
		s += strspn(s, " \t\r\n");
		end = s + strlen(s);
		while (end > s && isspace((unsigned char)end[-1]))
			*--end = '\0';
		if (!*s)
			continue;
		snprintf(origin, sizeof(origin), "%s:%u", path, n);
		rc = fi_rules_add(set, s, origin, err, errlen);
	}
	if (!rc && ferror(f))
		rc = fail(err, errlen, "%s: %s", path, strerror(errno));
	free(line);
	if (f != stdin)
		fclose(f);
	return rc;
}

void fi_rules_free(struct fi_rules *set)
{
	unsigned int i;

	for (i = 0; i < set->nr; i++)
		free(set->text[i]);
	set->nr = 0;
}

/* Append to @buf (of @len) at *@pos, never overflowing. */
static void put(char *buf, size_t len, size_t *pos, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (*pos >= len)
		return;
	va_start(ap, fmt);
	n = vsnprintf(buf + *pos, len - *pos, fmt, ap);
	va_end(ap);
	if (n > 0)
		*pos += n;
}

static void put_list(char *buf, size_t len, size_t *pos, const char *key,
		     unsigned int v, const struct fi_named *names, size_t n)
{
	const char *sep = "";
	size_t i;

	put(buf, len, pos, " %s=", key);
	for (i = 0; i < n; i++) {
		if (v & names[i].value) {
			put(buf, len, pos, "%s%s", sep, names[i].name);
			sep = ",";
		}
	}
}

void fi_rule_format(const struct fi_rule *r, char *buf, size_t len)
{
	size_t pos = 0;
	char num[16];

	buf[0] = '\0';
	put(buf, len, &pos, "at=%s", fi_at_name(r->at));
	switch (r->action) {
	case FI_ACT_FAULT:
		put(buf, len, &pos, " fault=%s stage=%u",
		    fi_fault_reason_name(r->fault_reason), r->fault_stage);
		if (r->fault_level)
			put(buf, len, &pos, " level=%u", r->fault_level);
		break;
	case FI_ACT_CODE:
		put(buf, len, &pos, " code=%s", fi_resp_code_name(r->code));
		break;
	case FI_ACT_DELAY:
		put(buf, len, &pos, " delay=%uus", r->delay_us);
		break;
	case FI_ACT_ERRNO:
		put(buf, len, &pos, " errno=%s",
		    errno_text(r->error, num, sizeof(num)));
		break;
	case FI_ACT_FAIL:
		put(buf, len, &pos, " site=%s", fi_site_name(r->site));
		break;
	default:
		put(buf, len, &pos, " %s", fi_action_name(r->action));
	}
	if (r->filters & FI_F_DEV)
		put(buf, len, &pos, " dev=%u", r->dev_id);
	if (r->filters & FI_F_PASID) {
		if (r->pasid == NESTIOMMU_PASID_NONE)
			put(buf, len, &pos, " pasid=none");
		else
			put(buf, len, &pos, " pasid=%u", r->pasid);
	}
	if (r->filters & FI_F_HWPT)
		put(buf, len, &pos, " hwpt=%u", r->hwpt_id);
	if (r->filters & FI_F_IOAS)
		put(buf, len, &pos, " ioas=%u", r->ioas_id);
	if (r->filters & FI_F_IOVA)
		put(buf, len, &pos, " iova=0x%" PRIx64 "-0x%" PRIx64,
		    (uint64_t)r->iova_first, (uint64_t)r->iova_last);
	if (r->filters & FI_F_ACCESS)
		put_list(buf, len, &pos, "access", r->access, access_names,
			 ARRAY_LEN(access_names));
	if (r->filters & FI_F_CACHE)
		put_list(buf, len, &pos, "cache", r->cache, cache_names,
			 ARRAY_LEN(cache_names));
	if (r->filters & FI_F_COMM)
		put(buf, len, &pos, " comm=%s", r->comm);
	if (r->filters & FI_F_PID)
		put(buf, len, &pos, " pid=%u", r->pid);
	if (r->nth)
		put(buf, len, &pos, " nth=%" PRIu64, (uint64_t)r->nth);
	if (r->after)
		put(buf, len, &pos, " after=%" PRIu64, (uint64_t)r->after);
	if (r->every)
		put(buf, len, &pos, " every=%" PRIu64, (uint64_t)r->every);
	if (r->times)
		put(buf, len, &pos, " times=%" PRIu64, (uint64_t)r->times);
	if (r->prob != FI_PROB_ONE)
		put(buf, len, &pos, " prob=%.12g",
		    (double)r->prob / (double)FI_PROB_ONE);
}

/* ---- the same names for recordings (recording.c) ---- */

bool fi_fault_reason_parse(const char *s, unsigned int *reason)
{
	unsigned int i;

	for (i = 0; i < NESTIOMMU_FAULT_REASON_NR; i++) {
		if (reason_names[i] && name_eq(s, reason_names[i])) {
			*reason = i;
			return true;
		}
	}
	return false;
}

bool fi_resp_code_parse(const char *s, unsigned int *code)
{
	size_t i;

	for (i = 0; i < ARRAY_LEN(resp_codes); i++) {
		if (name_eq(s, resp_codes[i].name)) {
			*code = resp_codes[i].value;
			return true;
		}
	}
	return false;
}

bool fi_access_parse(const char *s, unsigned int *access)
{
	return parse_list(s, access_names, ARRAY_LEN(access_names), access);
}

/* "r,w" ("-" for none), as access= takes it. */
void fi_access_format(unsigned int access, char *buf, size_t len)
{
	size_t pos = 0;

	*buf = 0;
	if (!access) {
		snprintf(buf, len, "-");
		return;
	}
	put_list(buf, len, &pos, "access", access, access_names,
		 ARRAY_LEN(access_names));
	memmove(buf, buf + strlen(" access="), strlen(buf) -
		strlen(" access=") + 1);
}

bool fi_errno_parse(const char *s, unsigned int *e)
{
	return parse_errno(s, e);
}

const char *fi_errno_name(unsigned int e, char *buf, size_t len)
{
	return errno_text(e, buf, len);
}
