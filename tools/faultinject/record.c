// SPDX-License-Identifier: GPL-2.0
/*
 * record.c - faultinject record and replay (tools/faultinject/README.md).
 *
 *   faultinject record -o FILE [--ring-size SIZE] [--duration S] [-j] [-v]
 *                      [-- CMD ARGS...]
 *   faultinject replay FILE [--strict] [--allow-loss] [--ring-size SIZE]
 *                      [-j] [-v] [-- CMD ARGS...]
 *
 * Both run bpf/fi_record.bpf.c: record writes what it sends through its
 * ring buffer to FILE (recording.c); replay first loads the decisions of
 * a recording into its "replay" map, keyed by logical position, then
 * compares what it observes with the recording.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <bpf/libbpf.h>

#include "nestiommu.h"
#include "run.h"
#include "recording.h"
#include "record.h"
#include "tool.h"
#include "fi_record.skel.h"

/* replay --strict: the exit status of a run that diverged. */
#define FI_EXIT_DIVERGED	3

/* Like kernel/hooks.h's NEST_HOOK_MAX_DELAY_US. */
#define FI_MAX_DELAY_US		1000000

/* --ring-size: from a page (the kernel's least) to 256M of locked memory. */
#define FI_RING_MAX		(256ULL << 20)
struct rec_opts {
	const char *path;	/* record: -o; replay: FILE */
	int out_fd;		/* record: FILE, opened at parse time */
	bool created;		/* record: FILE is new (removed on failure) */
	bool replay;
	double duration;	/* 0: until a signal (without CMD) */
	__u32 ring_size;	/* bytes; 0: the default of the BPF map */
	bool strict, allow_loss;
	struct fi_args args;	/* -j, CMD (NULL: system-wide) */
};

enum { OPT_DURATION = 256, OPT_STRICT, OPT_ALLOW_LOSS, OPT_RING_SIZE };

/*
 * --ring-size: bytes, or KiB or MiB with K or M; the kernel wants a power
 * of two and a multiple of the page. Return: 0, or 2 with the error printed.
 */
static int parse_ring_size(const char *sub, const char *s, __u32 *size)
{
	unsigned long long page = sysconf(_SC_PAGESIZE), v;
	unsigned int shift = 0;
	char *end;

	if (*s < '0' || *s > '9')
		return bad_usage("%s: --ring-size: '%s' is not a size (bytes, or with K or M: 64K, 4M)",
				 sub, s);
	errno = 0;
	v = strtoull(s, &end, 10);
	if (*end == 'K' || *end == 'M')
		shift = *end++ == 'K' ? 10 : 20;
	if (*end)
		return bad_usage("%s: --ring-size: '%s' is not a size (bytes, or with K or M: 64K, 4M)",
				 sub, s);
	v = errno || v > FI_RING_MAX ? FI_RING_MAX + 1 : v << shift;
	if (v < page || v > FI_RING_MAX || (v & (v - 1)))
		return bad_usage("%s: --ring-size: '%s' is not a power of two from %lluK (a page) to %lluM",
				 sub, s, page >> 10, FI_RING_MAX >> 20);
	*size = v;
	return 0;
}

static int rec_opt(int c, const char *arg, void *ctx)
{
	struct rec_opts *o = ctx;
	const char *sub = o->replay ? "replay" : "record";

	switch (c) {
	case 'o':
		o->path = arg;
		return 0;
	case OPT_DURATION:
		if (o->replay)
			return bad_usage("replay: unknown option --duration (replay ends with CMD or at a signal)");
		if (!parse_seconds(arg, &o->duration))
			return bad_usage("--duration: '%s' is not a number of seconds above 0",
					 arg);
		return 0;
	case OPT_STRICT:
	case OPT_ALLOW_LOSS:
		if (!o->replay)
			return bad_usage("record: unknown option %s",
					 c == OPT_STRICT ? "--strict" : "--allow-loss");
		*(c == OPT_STRICT ? &o->strict : &o->allow_loss) = true;
		return 0;
	default:	/* OPT_RING_SIZE */
		return parse_ring_size(sub, arg, &o->ring_size);
	}
}

static int parse_rec_opts(int argc, char **argv, struct rec_opts *o,
			  bool replay)
{
	static const struct option longopts[] = {
		{ "output", required_argument, NULL, 'o' },
		{ "duration", required_argument, NULL, OPT_DURATION },
		{ "strict", no_argument, NULL, OPT_STRICT },
		{ "allow-loss", no_argument, NULL, OPT_ALLOW_LOSS },
		{ "ring-size", required_argument, NULL, OPT_RING_SIZE },
		FI_COMMON_LONGOPTS,
		{}
	};
	static const struct fi_optspec record_spec = {
		.sub = "record", .shortopts = "o:", .longopts = longopts,
		.opt = rec_opt, .help = fi_usage,
	}, replay_spec = {
		.sub = "replay", .shortopts = "", .longopts = longopts,
		.opt = rec_opt, .help = fi_usage,
	};
	struct fi_args *a = &o->args;
	int rc;

	o->replay = replay;
	rc = fi_opts_parse(argc, argv, replay ? &replay_spec : &record_spec,
			   o, a);
	if (rc)
		return rc;
	if (replay) {
		if (!a->nr_operands)
			return bad_usage("replay: no recording (give FILE)");
		if (a->nr_operands > 1)
			return bad_usage("replay: unexpected argument '%s' (one FILE; CMD goes after --)",
					 a->operands[1]);
		o->path = a->operands[0];
		return 0;
	}
	if (a->nr_operands)
		return bad_usage("record: unexpected argument '%s' (CMD goes after --)",
				 a->operands[0]);
	if (!o->path)
		return bad_usage("record: no output (give -o FILE)");
	if (a->cmd && o->duration)
		return bad_usage("record: --duration applies only without -- CMD (CMD's end stops faultinject)");
	/* Not truncated yet: a run that fails before recording loses nothing. */
	o->out_fd = open(o->path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	o->created = o->out_fd >= 0;
	if (o->out_fd < 0 && errno == EEXIST)
		o->out_fd = open(o->path, O_WRONLY | O_CLOEXEC);
	if (o->out_fd < 0)
		return bad_usage("record: cannot write %s: %s", o->path,
				 strerror(errno));
	return 0;
}

/* What the ring buffer brought, for record (written) and replay (kept). */
struct observer {
	FILE *out;		/* record */
	struct fi_rec_event *ev;	/* replay */
	size_t nr, cap;
	__u64 by_kind[FI_REC_NR];
	bool failed;		/* out of memory or a write failed */
};

static int on_event(void *ctx, void *data, size_t size)
{
	const struct fi_rec_event *e = data;
	struct observer *obs = ctx;
	char line[512];

	if (size < sizeof(*e) || !e->kind || e->kind >= FI_REC_NR)
		return 0;
	obs->by_kind[e->kind]++;
	if (obs->out) {
		fi_rec_format(e, fi_rec_all_keys(e->kind), line, sizeof(line));
		if (fputs(line, obs->out) < 0 || putc('\n', obs->out) < 0)
			obs->failed = true;
		return 0;
	}
	if (obs->nr == obs->cap) {
		size_t ncap = obs->cap ? 2 * obs->cap : 1024;
		void *p = realloc(obs->ev, ncap * sizeof(*obs->ev));

		if (!p) {
			obs->failed = true;
			return -ENOMEM;
		}
		obs->ev = p;
		obs->cap = ncap;
	}
	obs->ev[obs->nr++] = *e;
	return 0;
}

/*
 * The module build: its srcversion where it has one (MODULE_VERSION), else
 * "btf-" and a hash (FNV-1a) of its BTF, which changes with its types.
 */
static void module_build(char *buf, size_t len)
{
	FILE *f = fopen("/sys/module/nestiommu/srcversion", "r");
	__u64 h = 0xcbf29ce484222325ULL;
	int c;

	if (f && fgets(buf, len, f) && *buf) {
		buf[strcspn(buf, "\n")] = 0;
		fclose(f);
		return;
	}
	if (f)
		fclose(f);
	f = fopen("/sys/kernel/btf/nestiommu", "r");
	if (!f) {
		snprintf(buf, len, "unknown");
		return;
	}
	while ((c = getc(f)) != EOF)
		h = (h ^ (unsigned char)c) * 0x100000001b3ULL;
	fclose(f);
	snprintf(buf, len, "btf-%016llx", (unsigned long long)h);
}

static __u64 now_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1000000000ULL + t.tv_nsec;
}

/*
 * Load bpf/fi_record.bpf.c (replaying: with the @nr decisions @vals at
 * the positions @keys), run CMD or wait for a signal, and feed every
 * event to @obs. Return: CMD's
 * status (0 without CMD), or -1 after an error message (faultinject's own
 * failure: exit 1).
 */
static int run_recorder(const struct rec_opts *o,
			const struct fi_replay_key *keys,
			const struct fi_replay_val *vals, size_t nr,
			struct observer *obs, __u64 *lost)
{
	struct fi_cmd cmd = { .pid = -1, .gate = -1, .report = -1 };
	struct fi_record_bpf *skel = NULL;
	struct ring_buffer *rb = NULL;
	int rc, status = 0;
	sigset_t block, orig;
	__u64 end_ns;
	__u8 one = 1;
	size_t i;

	block = signals_hold(&orig);
	libbpf_set_print(fi_libbpf_print);
	skel = fi_record_bpf__open();
	if (!skel) {
		rc = -errno;
		goto bpf_fail;
	}
	skel->rodata->scoped = !!o->args.cmd;
	skel->rodata->replaying = o->replay;
	rc = bpf_map__set_max_entries(skel->maps.replay, nr ? nr : 1);
	if (!rc && o->ring_size) {
		rc = bpf_map__set_max_entries(skel->maps.events, o->ring_size);
		/* Woken before a small ring fills, not 100 ms later. */
		if (o->ring_size / 4 < FI_REC_WAKE_BYTES)
			skel->rodata->wake_bytes = o->ring_size / 4;
	}
	if (!rc)
		rc = fi_record_bpf__load(skel);
	for (i = 0; !rc && i < nr; i++)
		rc = bpf_map__update_elem(skel->maps.replay, &keys[i],
					  sizeof(keys[i]), &vals[i],
					  sizeof(vals[i]), BPF_NOEXIST);
	if (!rc) {
		rb = ring_buffer__new(bpf_map__fd(skel->maps.events), on_event,
				      obs, NULL);
		if (!rb)
			rc = -errno;
	}
	if (!rc && o->args.cmd) {
		if (cmd_start(&cmd, o->args.cmd, false)) {
			rc = -1;
			goto out;
		}
		rc = bpf_map__update_elem(skel->maps.scope, &cmd.pid,
					  sizeof(__u32), &one, sizeof(one),
					  BPF_ANY);
	}
	if (!rc)
		rc = fi_record_bpf__attach(skel);
	if (rc)
		goto bpf_fail;

	if (o->args.cmd) {
		cmd_go(&cmd);
		cmd_pid = cmd.pid;
	} else {
		fprintf(stderr, PROG ": %s system-wide%s\n",
			o->replay ? "replaying" : "recording",
			o->duration ? "" : ": SIGINT or SIGTERM ends");
	}
	sigprocmask(SIG_SETMASK, &orig, NULL);
	end_ns = now_ns() + (__u64)(o->duration * 1e9);
	while (!obs->failed) {
		/* BPF wakes us for batches only (event_submit()): read anyway. */
		if (!ring_buffer__poll(rb, 100))
			ring_buffer__consume(rb);
		if (o->args.cmd) {
			rc = waitpid(cmd.pid, &status, WNOHANG);
			if (rc == cmd.pid || (rc < 0 && errno != EINTR))
				break;
		} else if (got_stop || (o->duration && now_ns() >= end_ns)) {
			break;
		}
	}
	sigprocmask(SIG_BLOCK, &block, NULL);
	cmd_pid = 0;
	if (o->args.cmd) {
		if (rc == cmd.pid)
			status = WIFSIGNALED(status) ? 128 + WTERMSIG(status) :
				 WEXITSTATUS(status);
		else	/* out of memory: CMD ends now */
			status = wait_cmd(cmd.pid, &orig);
		cmd.pid = -1;
	}
	/* Everything sent once the programs are gone. */
	fi_record_bpf__detach(skel);
	ring_buffer__consume(rb);
	*lost = skel->bss->lost;
	rc = obs->failed ? -1 : status;
	if (obs->failed)
		fprintf(stderr, PROG ": %s: %s\n", o->path, obs->out ?
			"cannot write the recording" : strerror(ENOMEM));
	goto out;

bpf_fail:
	bpf_load_error(-rc);
	rc = -1;
out:
	cmd_cleanup(&cmd);
	ring_buffer__free(rb);
	fi_record_bpf__destroy(skel);
	return rc;
}

static void print_kinds(const __u64 *by_kind)
{
	static const char *const names[FI_REC_NR] = {
		[FI_REC_FAULT] = "fault", [FI_REC_PAGE_REQUEST] = "page_request",
		[FI_REC_PAGE_RESPONSE] = "page_response",
		[FI_REC_INVALIDATE] = "invalidate", [FI_REC_MAP] = "map",
		[FI_REC_FAIL_SITE] = "fail_site",
	};
	unsigned int k;

	for (k = 1; k < FI_REC_NR; k++)
		printf("%s\"%s\":%llu", k > 1 ? "," : "", names[k],
		       (unsigned long long)by_kind[k]);
}

int cmd_record(int argc, char **argv)
{
	struct rec_opts o = { .out_fd = -1 };
	struct observer obs = {};
	char module[64], line[256];
	struct utsname uts = {};
	__u64 lost = 0, total = 0;
	long lost_at;
	int rc, status;
	unsigned int k;

	rc = parse_rec_opts(argc, argv, &o, false);
	if (rc)
		goto out;
	rc = preflight();
	if (rc) {
		if (o.created)
			unlink(o.path);
		goto out;
	}
	uname(&uts);
	module_build(module, sizeof(module));
	obs.out = fdopen(o.out_fd, "w");
	if (!obs.out || ftruncate(o.out_fd, 0) ||
	    fi_rec_write_header(obs.out, uts.release, module, &lost_at)) {
		fprintf(stderr, PROG ": %s: %s\n", o.path, strerror(errno));
		rc = 1;
		goto out;
	}
	o.out_fd = -1;
	status = run_recorder(&o, NULL, NULL, 0, &obs, &lost);
	if (status < 0) {
		rc = 1;
		goto out;
	}
	if (fi_rec_finish(obs.out, lost_at, lost)) {
		fprintf(stderr, PROG ": %s: %s\n", o.path, strerror(errno));
		rc = 1;
		goto out;
	}
	for (k = 1; k < FI_REC_NR; k++)
		total += obs.by_kind[k];
	if (lost)
		fprintf(stderr, PROG ": record: %llu events lost (the ring buffer was full): %s says so, and replay refuses it without --allow-loss\n",
			(unsigned long long)lost, o.path);
	if (o.args.json) {
		printf("{\"file\":");
		json_string(stdout, o.path);
		if (o.args.cmd)
			printf(",\"status\":%d", status);
		printf(",\"events\":%llu,\"lost\":%llu,\"by_kind\":{",
		       (unsigned long long)total, (unsigned long long)lost);
		print_kinds(obs.by_kind);
		printf("}}\n");
	} else {
		snprintf(line, sizeof(line), "fault %llu, page-request %llu, page-response %llu, invalidate %llu, map %llu, fail-site %llu",
			 (unsigned long long)obs.by_kind[FI_REC_FAULT],
			 (unsigned long long)obs.by_kind[FI_REC_PAGE_REQUEST],
			 (unsigned long long)obs.by_kind[FI_REC_PAGE_RESPONSE],
			 (unsigned long long)obs.by_kind[FI_REC_INVALIDATE],
			 (unsigned long long)obs.by_kind[FI_REC_MAP],
			 (unsigned long long)obs.by_kind[FI_REC_FAIL_SITE]);
		printf("recorded %llu events to %s (%s), %llu lost\n",
		       (unsigned long long)total, o.path, line,
		       (unsigned long long)lost);
	}
	rc = o.args.cmd ? status : 0;
out:
	if (obs.out && fclose(obs.out) && !rc) {
		fprintf(stderr, PROG ": %s: %s\n", o.path, strerror(errno));
		rc = 1;
	}
	if (o.out_fd >= 0)
		close(o.out_fd);
	return rc;
}

/* ---- replay ---- */

struct replay_table {
	struct fi_replay_key *key;
	struct fi_replay_val *val;
	size_t nr, cap;
};

/* The decision at @k, zeroed when new; NULL without memory. */
static struct fi_replay_val *table_at(struct replay_table *t, __u32 kind,
				      __u32 id1, __u32 id2, __u64 pos)
{
	struct fi_replay_key k = { .kind = kind, .id1 = id1, .id2 = id2,
				   .pos = pos };
	size_t i;

	for (i = t->nr; i-- > 0;)
		if (!memcmp(&t->key[i], &k, sizeof(k)))
			return &t->val[i];
	if (t->nr == t->cap) {
		size_t ncap = t->cap ? 2 * t->cap : 256;
		void *p = realloc(t->key, ncap * sizeof(*t->key)), *q;

		if (!p)
			return NULL;
		t->key = p;
		q = realloc(t->val, ncap * sizeof(*t->val));
		if (!q)
			return NULL;
		t->val = q;
		t->cap = ncap;
	}
	t->key[t->nr] = k;
	memset(&t->val[t->nr], 0, sizeof(t->val[0]));
	return &t->val[t->nr++];
}

/*
 * The decisions that make @l happen again at its position: injected
 * outcomes are forced; organic ones and the driver's own answers are
 * expected to recur by themselves. Return: 0, or -1 without memory.
 */
static int table_add(struct replay_table *t, const struct fi_rec_line *l)
{
	const struct fi_rec_event *e = &l->ev;
	struct fi_replay_val *v = NULL;

	if (!e->pos && !(e->kind == FI_REC_PAGE_REQUEST && e->xpos))
		return 0;
	switch (e->kind) {
	case FI_REC_FAULT:
		if (!e->injected)
			return 0;
		v = table_at(t, FI_POS_TRANSLATE, e->id1, e->id2, e->pos);
		/* A forced page request faults as injected too: it wins. */
		if (v && !v->page_request) {
			v->fault_reason = e->reason;
			v->fault_stage = e->stage;
			v->fault_level = e->level;
		}
		break;
	case FI_REC_PAGE_REQUEST:
		if (e->injected & NEST_PR_INJ_FORCED) {
			v = table_at(t, FI_POS_TRANSLATE, e->id1, e->id2,
				     e->xpos);
			if (!v)
				return -1;
			memset(v, 0, sizeof(*v));
			v->page_request = 1;
		}
		if (!e->pos || !(e->injected & ~NEST_PR_INJ_FORCED))
			return 0;
		v = table_at(t, FI_POS_PAGE_REQUEST, e->id1, e->id2, e->pos);
		if (v)
			v->pr_marks = e->injected & ~NEST_PR_INJ_FORCED;
		break;
	case FI_REC_PAGE_RESPONSE:
		if (e->by != FI_BY_USER)
			return 0;
		v = table_at(t, FI_POS_PAGE_REQUEST, e->id1, e->id2, e->pos);
		if (!v)
			break;
		v->code = e->code;
		v->set_code = e->injected & NEST_RESP_INJ_CODE ?
			      FI_SET_CODE_ALWAYS : FI_SET_CODE_DIFFERENT;
		if (e->injected & NEST_RESP_INJ_DELAYED)
			v->delay_us = e->delay_us < 1 ? 1 :
				      e->delay_us > FI_MAX_DELAY_US ?
				      FI_MAX_DELAY_US : e->delay_us;
		break;
	case FI_REC_INVALIDATE:
		v = table_at(t, FI_POS_INVALIDATE, e->id1, 0, e->pos);
		if (v) {
			v->error = e->error;
			v->drop = e->drop;
		}
		break;
	case FI_REC_MAP:
		if (!e->injected)
			return 0;
		v = table_at(t, FI_POS_MAP, e->id1, 0, e->pos);
		if (v)
			v->error = e->error;
		break;
	case FI_REC_FAIL_SITE:
		v = table_at(t, FI_POS_FAIL_SITE, e->id1, 0, e->pos);
		if (v)
			v->fail = 1;
		break;
	}
	return v ? 0 : -1;
}

/* Observed events by identity (kind, ids, position), then in order. */
static const struct fi_rec_event *sort_base;

static int ident_cmp(const struct fi_rec_event *a, const struct fi_rec_event *b)
{
	if (a->kind != b->kind)
		return a->kind < b->kind ? -1 : 1;
	if (a->id1 != b->id1)
		return a->id1 < b->id1 ? -1 : 1;
	if (a->id2 != b->id2)
		return a->id2 < b->id2 ? -1 : 1;
	if (a->pos != b->pos)
		return a->pos < b->pos ? -1 : 1;
	return 0;
}

static int order_cmp(const void *pa, const void *pb)
{
	size_t a = *(const size_t *)pa, b = *(const size_t *)pb;
	int c = ident_cmp(&sort_base[a], &sort_base[b]);

	return c ? c : a < b ? -1 : a > b;
}

struct divergence {
	unsigned int lineno;	/* 0: an observed event not recorded */
	char expected[512];
	char observed[512];
};

struct comparison {
	size_t reproduced, diverged, unexpected;
	struct divergence first;
	bool any;
};

/*
 * Match each recorded line with the first unmatched observed event of the
 * same identity and compare the keys the line has (FI_K_NOCMP aside).
 */
static int compare(const struct fi_recording *rec, const struct observer *obs,
		   struct comparison *c)
{
	size_t *idx, i, lo, hi, mid, j;
	bool *used;

	memset(c, 0, sizeof(*c));
	idx = calloc(obs->nr + 1, sizeof(*idx));
	used = calloc(obs->nr + 1, sizeof(*used));
	if (!idx || !used) {
		free(idx);
		free(used);
		return -1;
	}
	for (i = 0; i < obs->nr; i++)
		idx[i] = i;
	sort_base = obs->ev;
	qsort(idx, obs->nr, sizeof(*idx), order_cmp);
	for (i = 0; i < rec->nr; i++) {
		const struct fi_rec_line *l = &rec->line[i];
		unsigned int keys = l->keys & ~FI_K_NOCMP;
		char want[512], got[512] = "nothing";

		lo = 0;
		hi = obs->nr;
		while (lo < hi) {
			mid = (lo + hi) / 2;
			if (ident_cmp(&obs->ev[idx[mid]], &l->ev) < 0)
				lo = mid + 1;
			else
				hi = mid;
		}
		for (j = lo; j < obs->nr && used[idx[j]] &&
		     !ident_cmp(&obs->ev[idx[j]], &l->ev); j++)
			;
		fi_rec_format(&l->ev, keys, want, sizeof(want));
		if (j < obs->nr && !ident_cmp(&obs->ev[idx[j]], &l->ev)) {
			used[idx[j]] = true;
			fi_rec_format(&obs->ev[idx[j]], keys, got, sizeof(got));
			if (!strcmp(want, got)) {
				c->reproduced++;
				continue;
			}
		}
		c->diverged++;
		if (!c->any) {
			c->any = true;
			c->first.lineno = l->lineno;
			snprintf(c->first.expected, sizeof(c->first.expected),
				 "%s", want);
			snprintf(c->first.observed, sizeof(c->first.observed),
				 "%s", got);
		}
	}
	for (i = 0; i < obs->nr; i++) {
		if (used[i])
			continue;
		c->unexpected++;
		if (!c->any) {
			c->any = true;
			snprintf(c->first.expected, sizeof(c->first.expected),
				 "nothing");
			fi_rec_format(&obs->ev[i], fi_rec_all_keys(obs->ev[i].kind),
				      c->first.observed,
				      sizeof(c->first.observed));
		}
	}
	free(idx);
	free(used);
	return 0;
}

static void print_comparison(const struct rec_opts *o,
			     const struct fi_recording *rec,
			     const struct comparison *c, bool cmd, int status)
{
	if (o->args.json) {
		printf("{\"file\":");
		json_string(stdout, o->path);
		if (cmd)
			printf(",\"status\":%d", status);
		printf(",\"recorded\":%zu,\"reproduced\":%zu,\"diverged\":%zu,\"unexpected\":%zu,\"first_divergence\":",
		       rec->nr, c->reproduced, c->diverged, c->unexpected);
		if (!c->any) {
			printf("null}\n");
			return;
		}
		printf("{\"line\":");
		if (c->first.lineno)
			printf("%u", c->first.lineno);
		else
			printf("null");
		printf(",\"expected\":");
		json_string(stdout, c->first.expected);
		printf(",\"observed\":");
		json_string(stdout, c->first.observed);
		printf("}}\n");
		return;
	}
	printf("replayed %s: %zu recorded events, %zu reproduced exactly, %zu diverged, %zu not in the recording\n",
	       o->path, rec->nr, c->reproduced, c->diverged, c->unexpected);
	if (!c->any)
		return;
	if (c->first.lineno)
		printf("first divergence: %s:%u: expected '%s', observed '%s'\n",
		       o->path, c->first.lineno, c->first.expected,
		       c->first.observed);
	else
		printf("first divergence: observed '%s', not in the recording\n",
		       c->first.observed);
}

int cmd_replay(int argc, char **argv)
{
	struct rec_opts o = { .out_fd = -1 };
	struct replay_table t = {};
	struct fi_recording rec = {};
	struct observer obs = {};
	struct comparison c;
	char err[FI_REC_ERR_LEN];
	__u64 lost = 0;
	int rc, status;
	size_t i;

	rc = parse_rec_opts(argc, argv, &o, true);
	if (rc)
		return rc;
	if (fi_rec_load(&rec, o.path, err, sizeof(err)))
		return bad_usage("replay: %s", err);
	if (rec.lost && !o.allow_loss) {
		rc = bad_usage("replay: %s lost %llu events while recording: it cannot be replayed exactly (--allow-loss replays it anyway)",
			       o.path, (unsigned long long)rec.lost);
		goto out;
	}
	for (i = 0; i < rec.nr; i++) {
		if (table_add(&t, &rec.line[i])) {
			fprintf(stderr, PROG ": %s\n", strerror(ENOMEM));
			rc = 1;
			goto out;
		}
	}
	if (t.nr > FI_REPLAY_MAX) {
		rc = bad_usage("replay: %s makes %zu decisions, more than %d",
			       o.path, t.nr, FI_REPLAY_MAX);
		goto out;
	}
	rc = preflight();
	if (rc)
		goto out;
	status = run_recorder(&o, t.key, t.val, t.nr, &obs, &lost);
	if (status < 0 || compare(&rec, &obs, &c)) {
		if (status >= 0)
			fprintf(stderr, PROG ": %s\n", strerror(ENOMEM));
		rc = 1;
		goto out;
	}
	if (lost)
		fprintf(stderr, PROG ": replay: %llu observed events lost (the ring buffer was full): the comparison is incomplete\n",
			(unsigned long long)lost);
	print_comparison(&o, &rec, &c, !!o.args.cmd, status);
	if (o.strict && (c.any || lost))
		rc = FI_EXIT_DIVERGED;
	else
		rc = o.args.cmd ? status : 0;
out:
	free(t.key);
	free(t.val);
	free(obs.ev);
	fi_rec_free(&rec);
	return rc;
}
