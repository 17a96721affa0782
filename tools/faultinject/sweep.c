// SPDX-License-Identifier: GPL-2.0
/*
 * faultinject sweep - fail-nth over nestiommu's failure sites:
 *
 *   faultinject sweep --at SITE|all [--max N] [--timeout S] [--unload] [-j]
 *                     [-v] -- CMD ARGS...
 *
 * For each site and n = 1, 2, ... it runs CMD with the rule
 * "at=fail-site site=SITE nth=n" (only CMD's process tree), until a run in
 * which nothing was failed (or --max runs), and after each run checks what
 * must hold whatever failed (struct sweep_run): CMD ended within
 * --timeout, the kernel logged no warning, the driver's pinned pages,
 * objects and outstanding page requests (debugfs) came back to their value
 * before the run, and no process CMD left behind holds pinned pages
 * (VmPin). At the end nothing may hold the module (its refcnt is 0), and
 * with --unload it must unload.
 *
 * Exit status: 0 without a violation, 3 with one, 1 on faultinject's own
 * errors, 2 on bad usage (nothing run).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <regex.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/pidfd.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/wait.h>

#include "nestiommu.h"
#include "tool.h"
#include "faultinject.skel.h"

#define SWEEP_DEBUGFS		"/sys/kernel/debug/nestiommu/"
#define SWEEP_REFCNT		"/sys/module/nestiommu/refcnt"
#define SWEEP_MAX_DEFAULT	100
#define SWEEP_MAX_LIMIT		1000000
#define SWEEP_TIMEOUT_DEFAULT	60.0
/* How long the counters may take to come back once CMD has ended. */
#define SWEEP_SETTLE_MS		5000
#define SWEEP_EXIT_VIOLATION	3

/*
 * Kernel log lines that say the kernel went wrong: the list of
 * selftests/vm/vmrun.py (BAD_CONSOLE_PATTERNS), as POSIX extended regexes.
 */
static const char *const kmsg_bad_patterns[] = {
	"WARNING:",
	"BUG:",			/* also soft lockups, bad page accesses */
	"kernel BUG at",
	"(^|[^[:alnum:]_])Oops([^[:alnum:]_]|$)",
	"general protection fault",
	"Kernel panic",
	"INFO: task .* blocked for more than",
	"possible circular locking dependency",
	"possible recursive locking",
	"INFO: rcu_[[:alnum:]_]+ (self-)?detected",
	"rcu: INFO:",
	"watchdog: BUG: soft lockup",
	"UBSAN:",
	"(^|[^[:alnum:]_])BUG [^[:space:]:]+ \\(",	/* slub_debug reports */
	"Redzone overwritten",
	"Poison overwritten",
	"Object padding overwritten",
	"pagealloc: (memory corruption|single bit error)",
};
#define KMSG_NR_PATTERNS (sizeof(kmsg_bad_patterns) / sizeof(kmsg_bad_patterns[0]))

/* The driver's module-wide counters that every run must leave as it found. */
enum { CNT_PINNED, CNT_OBJECTS, CNT_OUTSTANDING, CNT_NR };
static const char *const cnt_file[CNT_NR] = {
	"pinned_pages", "objects", "page_requests_outstanding",
};

struct sweep_opts {
	unsigned int site;	/* NESTIOMMU_FAIL_SITE_COUNT: all */
	bool at;		/* --at given */
	unsigned long max;
	double timeout;
	bool unload;
	struct fi_args args;	/* -j, CMD */
};

struct sweep_run {
	unsigned int site;
	unsigned long n;
	__u64 matched, injected;
	int status;		/* CMD's exit status, 128+N for signal N */
	bool hung;		/* killed at --timeout */
	unsigned int kmsg_bad;	/* bad kernel log lines */
	char kmsg_first[200];
	__u64 before[CNT_NR], after[CNT_NR];
	__u64 vmpin_kb;		/* pinned by what CMD left behind */
};

static regex_t kmsg_re[KMSG_NR_PATTERNS];
static volatile sig_atomic_t sweep_stop;
static volatile pid_t sweep_pgid;

static void sweep_on_signal(int sig)
{
	sweep_stop = sig;
	if (sweep_pgid > 0)
		kill(-sweep_pgid, sig);
}

static bool run_ok(const struct sweep_run *r)
{
	int i;

	if (r->hung || r->kmsg_bad || r->vmpin_kb)
		return false;
	for (i = 0; i < CNT_NR; i++)
		if (r->before[i] != r->after[i])
			return false;
	return true;
}

static int counters_read(__u64 v[CNT_NR])
{
	char path[128];
	unsigned long long x;
	int i, ok;
	FILE *f;

	for (i = 0; i < CNT_NR; i++) {
		snprintf(path, sizeof(path), SWEEP_DEBUGFS "%s", cnt_file[i]);
		f = fopen(path, "r");
		if (!f)
			return -1;
		ok = fscanf(f, "%llu", &x) == 1;
		fclose(f);
		if (!ok)
			return -1;
		v[i] = x;
	}
	return 0;
}

static long ms_since(const struct timespec *t0)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (now.tv_sec - t0->tv_sec) * 1000 +
	       (now.tv_nsec - t0->tv_nsec) / 1000000;
}

/*
 * Wait (up to SWEEP_SETTLE_MS) for the counters to come back to
 * @r->before: a context is released when its last file descriptor closes,
 * which may be a moment after CMD's exit is reported.
 */
static int counters_settle(struct sweep_run *r)
{
	const struct timespec tick = { .tv_nsec = 10 * 1000000L };
	struct timespec t0;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		if (counters_read(r->after))
			return -1;
		if (!memcmp(r->before, r->after, sizeof(r->after)) ||
		    ms_since(&t0) >= SWEEP_SETTLE_MS)
			return 0;
		nanosleep(&tick, NULL);
	}
}

/* Every record /dev/kmsg has after @fd's position: count the bad ones. */
static void kmsg_scan(int fd, struct sweep_run *r)
{
	char rec[8192], *msg, *nl;
	unsigned int i;
	ssize_t n;

	for (;;) {
		n = read(fd, rec, sizeof(rec) - 1);
		if (n < 0 && errno == EPIPE)
			continue;	/* overwritten while we read: go on */
		if (n <= 0)
			return;		/* EAGAIN: no more */
		rec[n] = '\0';
		msg = strchr(rec, ';');
		if (!msg)
			continue;
		msg++;
		nl = strchr(msg, '\n');
		if (nl)
			*nl = '\0';
		for (i = 0; i < KMSG_NR_PATTERNS; i++) {
			if (regexec(&kmsg_re[i], msg, 0, NULL, 0))
				continue;
			if (!r->kmsg_bad++)
				snprintf(r->kmsg_first, sizeof(r->kmsg_first),
					 "%s", msg);
			break;
		}
	}
}

/* VmPin (kB) of @tgid, 0 if it is gone. */
static __u64 vmpin_kb(__u32 tgid)
{
	unsigned long long kb = 0;
	char path[64], line[256];
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%u/status", tgid);
	f = fopen(path, "r");
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "VmPin: %llu kB", &kb) == 1)
			break;
	fclose(f);
	return kb;
}

/* What the processes of CMD's tree that outlived it still pin. */
static __u64 scope_vmpin_kb(struct faultinject_bpf *skel)
{
	__u32 key, next, *prev = NULL;
	__u64 kb = 0;

	while (!bpf_map__get_next_key(skel->maps.scope, prev, &next,
				      sizeof(next))) {
		kb += vmpin_kb(next);
		key = next;
		prev = &key;
	}
	return kb;
}

/* Wait for CMD until --timeout; kill its process group then. */
static int cmd_wait(pid_t pid, double timeout, bool *hung)
{
	struct timespec t0;
	struct pollfd p;
	int status, rc;
	long left;

	*hung = false;
	p.fd = pidfd_open(pid, 0);
	p.events = POLLIN;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		left = (long)(timeout * 1000) - ms_since(&t0);
		if (left <= 0) {
			*hung = true;
			kill(-pid, SIGKILL);
			break;
		}
		rc = poll(&p, 1, left > INT_MAX ? INT_MAX : (int)left);
		if (rc > 0 || (rc < 0 && errno != EINTR))
			break;
	}
	if (p.fd >= 0)
		close(p.fd);
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return 1;
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return WEXITSTATUS(status);
}

/*
 * One run: CMD with the @r->n-th hit of @r->site failed. Return: 0, or 1
 * with the error printed.
 */
static int sweep_once(const struct sweep_opts *o, int kmsg, struct sweep_run *r)
{
	struct fi_cmd cmd = { .pid = -1, .gate = -1, .report = -1 };
	struct faultinject_bpf *skel = NULL;
	struct fi_rules rules = { .nr = 0 };
	char text[96], err[FI_ERR_LEN];
	int rc = 1;
	__u8 one = 1;
	__u32 tgid;

	snprintf(text, sizeof(text), "at=fail-site site=%s nth=%lu",
		 fi_site_name(r->site), r->n);
	if (fi_rules_add(&rules, text, "sweep", err, sizeof(err))) {
		fprintf(stderr, PROG ": %s\n", err);
		return 1;
	}
	skel = faultinject_bpf__open();
	if (!skel)
		goto bpf_fail;
	memcpy((void *)skel->rodata->rules, rules.rule, sizeof(rules.rule[0]));
	skel->rodata->nr_rules = 1;
	skel->rodata->scoped = true;
	programs_select(skel, &rules);
	if (faultinject_bpf__load(skel))
		goto bpf_fail;
	if (cmd_start(&cmd, o->args.cmd, true))
		goto out;
	tgid = cmd.pid;
	if (bpf_map__update_elem(skel->maps.scope, &tgid, sizeof(tgid), &one,
				 sizeof(one), BPF_ANY) ||
	    faultinject_bpf__attach(skel))
		goto bpf_fail;
	if (counters_read(r->before)) {
		fprintf(stderr, PROG ": cannot read " SWEEP_DEBUGFS "\n");
		goto out;
	}
	lseek(kmsg, 0, SEEK_END);

	sweep_pgid = cmd.pid;
	if (cmd_go(&cmd)) {
		waitpid(cmd.pid, NULL, 0);
		cmd.pid = -1;
		goto out;
	}
	r->status = cmd_wait(cmd.pid, o->timeout, &r->hung);
	cmd.pid = -1;
	sweep_pgid = 0;

	faultinject_bpf__detach(skel);
	r->matched = skel->bss->stats[0].matched;
	r->injected = skel->bss->stats[0].injected;
	if (counters_settle(r)) {
		fprintf(stderr, PROG ": cannot read " SWEEP_DEBUGFS "\n");
		goto out;
	}
	r->vmpin_kb = scope_vmpin_kb(skel);
	kmsg_scan(kmsg, r);
	rc = 0;
	goto out;

bpf_fail:
	bpf_load_error(errno);
out:
	cmd_cleanup(&cmd);
	faultinject_bpf__destroy(skel);
	fi_rules_free(&rules);
	return rc;
}

static void cnt_cell(char *buf, size_t len, const struct sweep_run *r, int i)
{
	if (r->before[i] == r->after[i])
		snprintf(buf, len, "ok");
	else
		snprintf(buf, len, "FAIL:%llu>%llu",
			 (unsigned long long)r->before[i],
			 (unsigned long long)r->after[i]);
}

static void row_print(const struct sweep_run *r)
{
	char cells[CNT_NR][48], vmpin[32] = "ok";
	int i;

	for (i = 0; i < CNT_NR; i++)
		cnt_cell(cells[i], sizeof(cells[i]), r, i);
	if (r->vmpin_kb)
		snprintf(vmpin, sizeof(vmpin), "FAIL:%llukB",
			 (unsigned long long)r->vmpin_kb);
	printf("%4lu %-16s %6llu %8llu %6d %-5s %-5s %-12s %-12s %-12s %s\n",
	       r->n, fi_site_name(r->site), (unsigned long long)r->matched,
	       (unsigned long long)r->injected, r->status,
	       r->hung ? "HUNG" : "ok", r->kmsg_bad ? "FAIL" : "ok",
	       cells[CNT_PINNED], cells[CNT_OBJECTS], cells[CNT_OUTSTANDING],
	       vmpin);
	if (r->kmsg_bad)
		printf("     kernel log: %s\n", r->kmsg_first);
	fflush(stdout);
}

static void row_json(FILE *f, const struct sweep_run *r, bool first)
{
	int i;

	fprintf(f, "%s{\"n\":%lu,\"site\":\"%s\",\"hits\":%llu,\"injected\":%llu,"
	       "\"status\":%d,\"hung\":%s,\"kmsg_bad\":%u,\"kmsg_first\":",
	       first ? "" : ",", r->n, fi_site_name(r->site),
	       (unsigned long long)r->matched, (unsigned long long)r->injected,
	       r->status, r->hung ? "true" : "false", r->kmsg_bad);
	json_string(f, r->kmsg_first);
	for (i = 0; i < CNT_NR; i++)
		fprintf(f, ",\"%s\":[%llu,%llu]", cnt_file[i],
		       (unsigned long long)r->before[i],
		       (unsigned long long)r->after[i]);
	fprintf(f, ",\"vmpin_kb\":%llu,\"ok\":%s}", (unsigned long long)r->vmpin_kb,
	       run_ok(r) ? "true" : "false");
}

/* Nothing holds the module (refcnt 0); with --unload, it unloads. */
static bool module_release_check(const struct sweep_opts *o, char *why,
				 size_t len)
{
	unsigned long long refs = ~0ULL;
	FILE *f = fopen(SWEEP_REFCNT, "r");

	if (f) {
		if (fscanf(f, "%llu", &refs) != 1)
			refs = ~0ULL;
		fclose(f);
	}
	if (refs) {
		snprintf(why, len, "the module is still held (%s: %s)",
			 SWEEP_REFCNT, f ? "not 0" : strerror(errno));
		return false;
	}
	if (o->unload && syscall(SYS_delete_module, "nestiommu", O_NONBLOCK)) {
		snprintf(why, len, "the module does not unload: %s",
			 strerror(errno));
		return false;
	}
	snprintf(why, len, o->unload ? "the module unloaded" :
		 "nothing holds the module (refcnt 0)");
	return true;
}

enum { OPT_AT = 256, OPT_MAX, OPT_TIMEOUT, OPT_UNLOAD };

static void sweep_help(FILE *f)
{
	fprintf(f,
		"usage: faultinject sweep --at SITE|all [--max N] [--timeout S] [--unload]\n"
		"                         [-j] [-v] -- CMD ARGS...\n"
		"Run CMD with the 1st, 2nd ... hit of SITE failed until a run fails nothing,\n"
		"checking after each run that CMD ended, the kernel logged no warning and\n"
		"nothing was left pinned, allocated or outstanding (tools/faultinject/README.md).\n");
}

static int sweep_opt(int c, const char *arg, void *ctx)
{
	struct sweep_opts *o = ctx;
	uint64_t max;
	int site;

	switch (c) {
	case OPT_AT:
		site = strcmp(arg, "all") ? fi_site_find(arg) :
		       NESTIOMMU_FAIL_SITE_COUNT;
		if (site < 0)
			return bad_usage("sweep: --at: '%s' is not a failure site or all (faultinject list)",
					 arg);
		o->site = site;
		o->at = true;
		return 0;
	case OPT_MAX:
		if (!fi_parse_u64(arg, SWEEP_MAX_LIMIT, &max) || !max)
			return bad_usage("sweep: --max: '%s' is not a number of runs from 1 to %d",
					 arg, SWEEP_MAX_LIMIT);
		o->max = max;
		return 0;
	case OPT_TIMEOUT:
		if (!parse_seconds(arg, &o->timeout))
			return bad_usage("sweep: --timeout: '%s' is not a number of seconds above 0",
					 arg);
		return 0;
	default:	/* OPT_UNLOAD */
		o->unload = true;
		return 0;
	}
}

static int parse_sweep(int argc, char **argv, struct sweep_opts *o)
{
	static const struct option longopts[] = {
		{ "at", required_argument, NULL, OPT_AT },
		{ "max", required_argument, NULL, OPT_MAX },
		{ "timeout", required_argument, NULL, OPT_TIMEOUT },
		{ "unload", no_argument, NULL, OPT_UNLOAD },
		FI_COMMON_LONGOPTS,
		{}
	};
	static const struct fi_optspec spec = {
		.sub = "sweep", .shortopts = "", .longopts = longopts,
		.opt = sweep_opt, .help = sweep_help, .empty_cmd_ok = true,
	};
	struct fi_args *a = &o->args;
	int rc;

	rc = fi_opts_parse(argc, argv, &spec, o, a);
	if (rc)
		return rc;
	if (a->nr_operands)
		return bad_usage("sweep: unexpected argument '%s' (the workload goes after --)",
				 a->operands[0]);
	if (!o->at)
		return bad_usage("sweep: --at SITE or --at all is required");
	if (!a->cmd || !*a->cmd)
		return bad_usage("sweep: give the workload after --: sweep --at SITE -- CMD ARGS...");
	return 0;
}

/* Can the sweep read what it checks? Return: 0, or 1 with why printed. */
static int sweep_preflight(int *kmsg)
{
	struct utsname uts = {};
	char msg[1024];
	__u64 v[CNT_NR];
	unsigned int i;

	uname(&uts);
	if (check_environment(PROG, "/sys", uts.release, msg, sizeof(msg))) {
		fprintf(stderr, PROG ": %s\n", msg);
		return 1;
	}
	if (module_btf_has("nest_hook_fail_site", NULL) != 1) {
		fprintf(stderr, PROG ": sweep: this module has no failure sites (no nest_hook_fail_site)\n");
		return 1;
	}
	if (counters_read(v)) {
		fprintf(stderr, PROG ": sweep reads the driver's counters in debugfs, but "
			SWEEP_DEBUGFS "%s cannot be read: %s (mount -t debugfs none /sys/kernel/debug)\n",
			cnt_file[CNT_PINNED], strerror(errno));
		return 1;
	}
	*kmsg = open("/dev/kmsg", O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (*kmsg < 0) {
		fprintf(stderr, PROG ": sweep reads the kernel log: /dev/kmsg: %s\n",
			strerror(errno));
		return 1;
	}
	for (i = 0; i < KMSG_NR_PATTERNS; i++)
		if (regcomp(&kmsg_re[i], kmsg_bad_patterns[i],
			    REG_EXTENDED | REG_NOSUB))
			abort();	/* a constant pattern */
	return 0;
}

int cmd_sweep(int argc, char **argv)
{
	struct sweep_opts o = {
		.max = SWEEP_MAX_DEFAULT,
		.timeout = SWEEP_TIMEOUT_DEFAULT,
	};
	struct sigaction sa = { .sa_handler = sweep_on_signal };
	unsigned int first, last, site, runs = 0, bad = 0, i;
	bool released, first_row = true;
	struct sweep_run r;
	char why[256], *json = NULL;
	size_t json_len = 0;
	FILE *js = NULL;
	int kmsg = -1, rc;

	rc = parse_sweep(argc, argv, &o);
	if (rc)
		return rc;
	if (sweep_preflight(&kmsg))
		return 1;
	libbpf_set_print(fi_libbpf_print);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);

	first = o.site == NESTIOMMU_FAIL_SITE_COUNT ? 0 : o.site;
	last = o.site == NESTIOMMU_FAIL_SITE_COUNT ? NESTIOMMU_FAIL_SITE_COUNT - 1 :
	       o.site;
	/* CMD shares stdout: the JSON object is printed whole at the end. */
	if (o.args.json) {
		js = open_memstream(&json, &json_len);
		if (!js) {
			fprintf(stderr, PROG ": out of memory\n");
			return 1;
		}
	} else {
		printf("%4s %-16s %6s %8s %6s %-5s %-5s %-12s %-12s %-12s %s\n",
		       "n", "site", "hits", "injected", "status", "ended",
		       "kmsg", "pinned", "objects", "page_reqs", "vmpin");
	}
	for (site = first; site <= last && !sweep_stop; site++) {
		for (i = 1; i <= o.max && !sweep_stop; i++) {
			memset(&r, 0, sizeof(r));
			r.site = site;
			r.n = i;
			if (sweep_once(&o, kmsg, &r)) {
				if (js)
					fclose(js);
				free(json);
				close(kmsg);
				return 1;
			}
			runs++;
			bad += !run_ok(&r);
			if (js)
				row_json(js, &r, first_row);
			else
				row_print(&r);
			first_row = false;
			if (!r.injected)
				break;	/* the site has fewer hits: done */
		}
	}
	close(kmsg);
	released = module_release_check(&o, why, sizeof(why));
	if (js) {
		fclose(js);
		printf("{\"runs\":[%s],\"runs_total\":%u,\"violations\":%u,\"module_released\":%s,\"module\":",
		       json ? json : "", runs, bad, released ? "true" : "false");
		json_string(stdout, why);
		printf("}\n");
		free(json);
	} else {
		printf("%u runs, %u with a violation; %s%s\n", runs, bad, why,
		       released ? "" : ": FAIL");
	}
	if (sweep_stop)
		return 128 + sweep_stop;
	return bad || !released ? SWEEP_EXIT_VIOLATION : 0;
}
