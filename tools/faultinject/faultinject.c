// SPDX-License-Identifier: GPL-2.0
/*
 * faultinject - make IOMMU faults and page-response misbehaviour happen on
 * purpose, where and when a rule says (tools/faultinject/README.md).
 *
 *   faultinject list
 *   faultinject inject RULE... [-f FILE] [--seed N] [--duration S] [-j]
 *                     [-v] [-- CMD ARGS...]
 *   faultinject sweep --at SITE|all [--max N] [--timeout S] [--unload] [-j]
 *                     [-v] -- CMD ARGS...			(sweep.c)
 *
 * The rules (rules.c) go into the read-only data of bpf/faultinject.bpf.c,
 * whose raw_tp.w programs decide at the driver's hook points; at the end
 * faultinject prints what each rule matched and injected, and how many of
 * its outcomes the driver marked as injected in its events.
 *
 * Exit status: CMD's (128+N if a signal N killed it), 0 without CMD, 1 on
 * faultinject's own errors, 2 on bad usage or rules (nothing attached).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include "nestiommu.h"
#include "checks.h"
#include "rules.h"
#include "tool.h"
#include "faultinject.skel.h"

#define DURATION_MAX 31536000.0		/* a year */

static void usage(FILE *f)
{
	fprintf(f,
		"usage: faultinject list\n"
		"       faultinject inject RULE... [-f FILE] [--seed N] [--duration S] [-j] [-v]\n"
		"                         [-- CMD ARGS...]\n"
		"       faultinject sweep --at SITE|all [--max N] [--timeout S] [--unload] [-j] [-v]\n"
		"                         -- CMD ARGS...\n"
		"Inject nestiommu faults, page-request and page-response misbehaviour,\n"
		"invalidation and map failures and failures at the driver's failure sites\n"
		"where the rules say, through the driver's BPF hook points. Each RULE is one\n"
		"argument, e.g.\n"
		"  'at=page-response code=failure pasid=3 nth=2'\n"
		"  -f, --file FILE      rules from FILE (one per line, # comments; - is stdin)\n"
		"      --seed N         the seed of prob= (default 0): same seed, same events\n"
		"      --duration S     without CMD: stop after S seconds (else at SIGINT/SIGTERM)\n"
		"  -j, --json           the final table as one JSON object\n"
		"  -v, --verbose        print libbpf's messages\n"
		"  -h, --help           this help\n"
		"With -- CMD, only CMD's process tree is affected, and faultinject exits with\n"
		"CMD's status. `faultinject list` prints every hook point and the words its\n"
		"rules take, and the failure sites. `faultinject sweep -h`: the sweep's options.\n"
		"The rule language: tools/faultinject/README.md.\n");
}

/* ---- the module's BTF: what this build of the driver offers ---- */

/*
 * Does the module's struct @type exist (and have @member, unless NULL)?
 * -1 if its BTF cannot be read.
 */
int module_btf_has(const char *type, const char *member)
{
	struct btf *vmlinux, *btf;
	const struct btf_type *t;
	const struct btf_member *m;
	int id, i, found = 0;

	vmlinux = btf__load_vmlinux_btf();
	if (!vmlinux)
		return -1;
	btf = btf__parse_split("/sys/kernel/btf/nestiommu", vmlinux);
	if (!btf) {
		btf__free(vmlinux);
		return -1;
	}
	id = btf__find_by_name_kind(btf, type, BTF_KIND_STRUCT);
	if (id > 0 && !member) {
		found = 1;
	} else if (id > 0) {
		t = btf__type_by_id(btf, id);
		m = btf_members(t);
		for (i = 0; i < btf_vlen(t) && !found; i++, m++)
			found = !strcmp(btf__name_by_offset(btf, m->name_off),
					member);
	}
	btf__free(btf);
	btf__free(vmlinux);
	return found;
}

/*
 * What the rules ask that this module cannot do. Return: 0, or 2 with the
 * one-line error printed.
 */
static int rules_supported(const struct fi_rules *set)
{
	unsigned int i;

	for (i = 0; i < set->nr; i++) {
		const struct fi_rule *r = &set->rule[i];
		const char *why = NULL;

		if (r->fault_level &&
		    module_btf_has("nest_hook_translate", "fault_level") != 1)
			why = "level= is not supported by this module (its nest_hook_translate has no fault_level)";
		else if (r->at == FI_AT_FAIL_SITE &&
			 module_btf_has("nest_hook_fail_site", NULL) != 1)
			why = "at=fail-site is not supported by this module (it has no nest_hook_fail_site)";
		if (why) {
			fprintf(stderr, PROG ": rule '%s': %s\n", set->text[i],
				why);
			return 2;
		}
	}
	return 0;
}

/* ---- list ---- */

static void list_words(unsigned int at)
{
	unsigned int acts = fi_at_actions(at), filters = fi_at_filters(at);
	const char *sep = "";
	unsigned int a, bit;

	printf("  %-14s actions:", fi_at_name(at));
	for (a = 1; a < FI_ACT_NR; a++) {
		if (!(acts & 1U << a))
			continue;
		switch (a) {
		case FI_ACT_FAULT:
			printf("%s fault=REASON stage=1|2 [level=N]", sep);
			break;
		case FI_ACT_CODE:
			printf("%s code=CODE", sep);
			break;
		case FI_ACT_DELAY:
			printf("%s delay=DURATION (1us to 1s)", sep);
			break;
		case FI_ACT_ERRNO:
			printf("%s errno=E", sep);
			break;
		case FI_ACT_FAIL:
			printf("%s site=NAME", sep);
			break;
		default:
			printf("%s %s", sep, fi_action_name(a));
		}
		sep = ",";
	}
	printf("\n  %-14s filters:", "");
	for (bit = 1; bit <= FI_F_PID; bit <<= 1)
		if (filters & bit)
			printf(" %s=", fi_filter_key(bit));
	printf("\n");
}

static int cmd_list(int argc, char **argv)
{
	static const unsigned int codes[] = {
		NESTIOMMU_PAGE_RESP_SUCCESS, NESTIOMMU_PAGE_RESP_INVALID,
		NESTIOMMU_PAGE_RESP_FAILURE,
	};
	unsigned int at, i;
	int fail_site;

	if (argc > 1 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))) {
		usage(stdout);
		return 0;
	}
	if (argc > 1)
		return bad_usage("list: unexpected argument '%s'", argv[1]);
	fail_site = module_btf_has("nest_hook_fail_site", NULL);
	printf("hook points (at=), with the actions and filters their rules take:\n");
	for (at = 1; at < FI_AT_NR; at++) {
		if (at == FI_AT_FAIL_SITE && fail_site != 1)
			continue;
		list_words(at);
	}
	printf("when (every hook point): nth=N every=N after=N times=N prob=P\n");
	printf("filter values: dev=ID pasid=N|none hwpt=ID ioas=ID iova=A[-B]\n"
	       "  access=r,w,x,priv (all of them) cache=iotlb,devtlb,pasid (any of them)\n"
	       "  comm=NAME (the current task) pid=TGID (the event's process)\n");
	printf("fault reasons (fault=):");
	for (i = NESTIOMMU_FAULT_REASON_PASID_FETCH;
	     i < NESTIOMMU_FAULT_REASON_NR; i++)
		printf(" %s", fi_fault_reason_name(i));
	printf("\nresponse codes (code=):");
	for (i = 0; i < sizeof(codes) / sizeof(codes[0]); i++)
		printf(" %s", fi_resp_code_name(codes[i]));
	printf("\nerrno (errno=): a name (EIO, ENOMEM) or a number, 1 to 133\n");
	if (fail_site == 1) {
		printf("failure sites (site=), what fails there and its errno:\n");
		for (i = 0; i < NESTIOMMU_FAIL_SITE_COUNT; i++)
			printf("  %-16s %s\n", fi_site_name(i), fi_site_doc(i));
	} else {
		printf("failure sites (at=fail-site): none: %s\n",
		       fail_site < 0 ? "the module's BTF cannot be read (is it loaded?)" :
		       "this module has no nest_hook_fail_site");
	}
	return 0;
}

/* ---- inject ---- */

struct inject_opts {
	struct fi_rules rules;
	__u64 seed;
	double duration;	/* 0: until a signal */
	bool json, verbose;
	char **cmd;		/* NULL: system-wide */
};

static bool parse_u64_arg(const char *s, __u64 *v)
{
	char *end;

	if (*s < '0' || *s > '9')
		return false;
	errno = 0;
	*v = strtoull(s, &end, 0);
	return !errno && !*end;
}

bool parse_seconds(const char *s, double *v)
{
	char *end;

	if ((*s < '0' || *s > '9') && *s != '.')
		return false;
	errno = 0;
	*v = strtod(s, &end);
	return !errno && !*end && isfinite(*v) && *v > 0 &&
	       *v <= DURATION_MAX;
}

enum { OPT_SEED = 256, OPT_DURATION };

static int parse_inject(int argc, char **argv, struct inject_opts *o)
{
	static const struct option longopts[] = {
		{ "file", required_argument, NULL, 'f' },
		{ "seed", required_argument, NULL, OPT_SEED },
		{ "duration", required_argument, NULL, OPT_DURATION },
		{ "json", no_argument, NULL, 'j' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{}
	};
	char err[FI_ERR_LEN];
	int c, dashdash = -1, i;

	/* Rules before "--", CMD after: getopt must not take CMD's options. */
	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--")) {
			dashdash = i;
			break;
		}
	}
	if (dashdash >= 0) {
		if (dashdash + 1 == argc)
			return bad_usage("inject: nothing after --: give CMD");
		o->cmd = argv + dashdash + 1;
		argc = dashdash;
	}
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":f:jvh", longopts, NULL)) != -1) {
		switch (c) {
		case 'f':
			if (fi_rules_load(&o->rules, optarg, err, sizeof(err)))
				return bad_usage("%s", err);
			break;
		case OPT_SEED:
			if (!parse_u64_arg(optarg, &o->seed))
				return bad_usage("--seed: '%s' is not a number from 0 to 2^64-1",
						 optarg);
			break;
		case OPT_DURATION:
			if (!parse_seconds(optarg, &o->duration))
				return bad_usage("--duration: '%s' is not a number of seconds above 0",
						 optarg);
			break;
		case 'j':
			o->json = true;
			break;
		case 'v':
			o->verbose = true;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		case ':':
			if (optopt > 0 && optopt < 256)
				return bad_usage("inject: option -%c needs an argument",
						 optopt);
			return bad_usage("inject: option %s needs an argument",
					 argv[optind - 1]);
		default:
			if (optopt > 0 && optopt < 256)
				return bad_usage("inject: unknown option -%c", optopt);
			return bad_usage("inject: unknown option %s",
					 argv[optind - 1]);
		}
	}
	for (i = optind; i < argc; i++) {
		char origin[32];

		snprintf(origin, sizeof(origin), "argument %d", i - optind + 1);
		if (fi_rules_add(&o->rules, argv[i], origin, err, sizeof(err)))
			return bad_usage("%s", err);
	}
	if (!o->rules.nr)
		return bad_usage("inject: no rule (give RULE arguments or -f FILE)");
	if (o->cmd && o->duration)
		return bad_usage("inject: --duration applies only without -- CMD (CMD's end stops faultinject)");
	return 0;
}

/*
 * Load only the programs of the hook points the rules use: an attached
 * hook point costs every call that passes it (fail sites are many).
 */
void programs_select(struct faultinject_bpf *skel,
		     const struct fi_rules *rules)
{
	struct bpf_program *progs[FI_AT_NR][2] = {
		[FI_AT_TRANSLATE] = { skel->progs.fi_translate,
				      skel->progs.fi_fault_mark },
		[FI_AT_PAGE_REQUEST] = { skel->progs.fi_page_request },
		[FI_AT_PAGE_RESPONSE] = { skel->progs.fi_page_response,
					  skel->progs.fi_page_response_mark },
		[FI_AT_INVALIDATE] = { skel->progs.fi_invalidate,
				       skel->progs.fi_invalidate_mark },
		[FI_AT_MAP] = { skel->progs.fi_map, skel->progs.fi_map_mark },
		[FI_AT_FAIL_SITE] = { skel->progs.fi_fail_site,
				      skel->progs.fi_fail_site_mark },
	};
	bool used[FI_AT_NR] = {};
	unsigned int at, i;

	for (i = 0; i < rules->nr; i++)
		used[rules->rule[i].at] = true;
	for (at = 1; at < FI_AT_NR; at++)
		for (i = 0; i < 2; i++)
			if (progs[at][i])
				bpf_program__set_autoload(progs[at][i], used[at]);
	/* nest_page_request marks forced requests and page-request actions. */
	bpf_program__set_autoload(skel->progs.fi_page_request_mark,
				  used[FI_AT_TRANSLATE] || used[FI_AT_PAGE_REQUEST]);
}

bool libbpf_verbose;

int print_libbpf(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	/* libbpf's warnings say why a load failed; -v adds the rest. */
	if (!libbpf_verbose && level != LIBBPF_WARN)
		return 0;
	return vfprintf(stderr, fmt, ap);
}

static volatile sig_atomic_t got_stop;
static volatile pid_t cmd_pid;

/* With CMD, a signal to faultinject goes on to CMD, whose end stops it. */
static void on_signal(int sig)
{
	got_stop = 1;
	if (cmd_pid > 0)
		kill(cmd_pid, sig);
}

/*
 * Start CMD stopped: the child waits for @gate (its read end) to close
 * before it execs, so the programs are attached and its tgid is in scope
 * first. An exec failure comes back as an errno on @report.
 */
pid_t spawn_stopped(char **cmd, int *gate_w, int *report_r)
{
	int gate[2], report[2];
	sigset_t none;
	pid_t pid;
	char c;

	if (pipe2(gate, O_CLOEXEC))
		return -1;
	if (pipe2(report, O_CLOEXEC)) {
		close(gate[0]);
		close(gate[1]);
		return -1;
	}
	pid = fork();
	if (pid < 0) {
		close(gate[0]);
		close(gate[1]);
		close(report[0]);
		close(report[1]);
		return -1;
	}
	if (!pid) {
		int e;

		close(gate[1]);
		close(report[0]);
		signal(SIGINT, SIG_DFL);
		signal(SIGTERM, SIG_DFL);
		signal(SIGHUP, SIG_DFL);
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		/* EOF: attached; a byte never comes. */
		while (read(gate[0], &c, 1) < 0 && errno == EINTR)
			;
		execvp(cmd[0], cmd);
		e = errno;
		if (write(report[1], &e, sizeof(e)) < 0)
			_exit(127);
		_exit(127);
	}
	close(gate[0]);
	close(report[1]);
	*gate_w = gate[1];
	*report_r = report[0];
	return pid;
}

/* Wait for CMD (signals to faultinject go on to it); its exit status. */
static int wait_cmd(pid_t pid, const sigset_t *orig)
{
	int status;
	pid_t w;

	cmd_pid = pid;
	sigprocmask(SIG_SETMASK, orig, NULL);
	do
		w = waitpid(pid, &status, 0);
	while (w < 0 && errno == EINTR);
	cmd_pid = 0;
	if (w < 0)
		return 1;
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return WEXITSTATUS(status);
}

/* Without CMD: until SIGINT/SIGTERM or @duration seconds. */
static void wait_stop(double duration, const sigset_t *orig)
{
	struct timespec end, now, left;

	clock_gettime(CLOCK_MONOTONIC, &end);
	end.tv_sec += (time_t)duration;
	end.tv_nsec += (long)((duration - floor(duration)) * 1e9);
	if (end.tv_nsec >= 1000000000L) {
		end.tv_sec++;
		end.tv_nsec -= 1000000000L;
	}
	while (!got_stop) {
		if (!duration) {
			sigsuspend(orig);
			continue;
		}
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (now.tv_sec > end.tv_sec ||
		    (now.tv_sec == end.tv_sec && now.tv_nsec >= end.tv_nsec))
			break;
		left.tv_sec = end.tv_sec - now.tv_sec;
		left.tv_nsec = end.tv_nsec - now.tv_nsec;
		if (left.tv_nsec < 0) {
			left.tv_sec--;
			left.tv_nsec += 1000000000L;
		}
		pselect(0, NULL, NULL, NULL, &left, orig);
	}
}

/* Is a rule's outcome marked in an event (else it shows elsewhere)? */
static bool outcome_marked(const struct fi_rule *r)
{
	return !(r->at == FI_AT_PAGE_RESPONSE && r->action == FI_ACT_DROP);
}

void json_string(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			fprintf(f, "\\%c", *s);
		else if ((unsigned char)*s < 0x20)
			fprintf(f, "\\u%04x", *s);
		else
			fputc(*s, f);
	}
	fputc('"', f);
}

static void print_table(const struct inject_opts *o,
			const struct fi_rule_stats *st, bool cmd, int status)
{
	unsigned int i;

	if (o->json) {
		printf("{\"seed\":%" PRIu64 ",", (uint64_t)o->seed);
		if (cmd)
			printf("\"status\":%d,", status);
		printf("\"rules\":[");
		for (i = 0; i < o->rules.nr; i++) {
			const struct fi_rule *r = &o->rules.rule[i];

			printf("%s{\"rule\":", i ? "," : "");
			json_string(stdout, o->rules.text[i]);
			printf(",\"at\":\"%s\",\"matched\":%llu,\"injected\":%llu,\"marked\":",
			       fi_at_name(r->at), (unsigned long long)st[i].matched,
			       (unsigned long long)st[i].injected);
			if (outcome_marked(r))
				printf("%llu}", (unsigned long long)st[i].marked);
			else
				printf("null}");
		}
		printf("]}\n");
		return;
	}
	printf("%-4s %10s %10s %10s  %s\n", "rule", "matched", "injected",
	       "marked", "text");
	for (i = 0; i < o->rules.nr; i++) {
		const struct fi_rule *r = &o->rules.rule[i];
		char marked[24] = "-";

		if (outcome_marked(r))
			snprintf(marked, sizeof(marked), "%llu",
				 (unsigned long long)st[i].marked);
		printf("%-4u %10llu %10llu %10s  %s\n", i + 1,
		       (unsigned long long)st[i].matched,
		       (unsigned long long)st[i].injected, marked,
		       o->rules.text[i]);
	}
}

static int cmd_inject(int argc, char **argv)
{
	struct inject_opts o = {};
	struct faultinject_bpf *skel = NULL;
	struct sigaction sa = { .sa_handler = on_signal };
	int gate = -1, report = -1, rc, status = 0, e;
	struct utsname uts = {};
	sigset_t block, orig;
	char msg[1024];
	pid_t pid = -1;
	__u8 one = 1;
	__u32 tgid;
	ssize_t n;

	/* Signals wait until faultinject waits: none is lost while loading. */
	sigemptyset(&block);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGHUP);
	sigprocmask(SIG_BLOCK, &block, &orig);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);

	rc = parse_inject(argc, argv, &o);
	if (rc)
		goto out;
	uname(&uts);
	if (check_environment(PROG, "/sys", uts.release, msg, sizeof(msg))) {
		fprintf(stderr, PROG ": %s\n", msg);
		rc = 1;
		goto out;
	}
	rc = rules_supported(&o.rules);
	if (rc)
		goto out;

	libbpf_verbose = o.verbose;
	libbpf_set_print(print_libbpf);
	skel = faultinject_bpf__open();
	if (!skel) {
		rc = -errno;
		goto bpf_fail;
	}
	memcpy((void *)skel->rodata->rules, o.rules.rule,
	       o.rules.nr * sizeof(o.rules.rule[0]));
	skel->rodata->nr_rules = o.rules.nr;
	skel->rodata->seed = o.seed;
	skel->rodata->scoped = !!o.cmd;
	programs_select(skel, &o.rules);
	rc = faultinject_bpf__load(skel);
	if (!rc && o.cmd) {
		pid = spawn_stopped(o.cmd, &gate, &report);
		if (pid < 0) {
			fprintf(stderr, PROG ": cannot start %s: %s\n",
				o.cmd[0], strerror(errno));
			rc = 1;
			goto out;
		}
		tgid = pid;
		rc = bpf_map__update_elem(skel->maps.scope, &tgid,
					  sizeof(tgid), &one, sizeof(one),
					  BPF_ANY);
	}
	if (!rc)
		rc = faultinject_bpf__attach(skel);
	if (rc)
		goto bpf_fail;

	if (!o.cmd) {
		fprintf(stderr, PROG ": attached %u rules system-wide%s\n",
			o.rules.nr, o.duration ? "" :
			": SIGINT or SIGTERM ends");
		wait_stop(o.duration, &orig);
	} else {
		close(gate);	/* go */
		gate = -1;
		n = read(report, &e, sizeof(e));
		if (n == sizeof(e))
			fprintf(stderr, PROG ": cannot run %s: %s\n", o.cmd[0],
				strerror(e));
		status = wait_cmd(pid, &orig);
		pid = -1;
	}
	/* Everything is counted once the programs are gone. */
	faultinject_bpf__detach(skel);
	print_table(&o, skel->bss->stats, !!o.cmd, status);
	rc = o.cmd ? status : 0;
	goto out;

bpf_fail:
	fprintf(stderr, PROG ": loading the BPF programs: %s%s\n",
		strerror(-rc), o.verbose ? "" : " (-v shows all of libbpf's messages)");
	rc = 1;
out:
	if (pid > 0) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
	}
	if (gate >= 0)
		close(gate);
	if (report >= 0)
		close(report);
	faultinject_bpf__destroy(skel);
	fi_rules_free(&o.rules);
	return rc;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
		usage(stdout);
		return 0;
	}
	if (!strcmp(argv[1], "list"))
		return cmd_list(argc - 1, argv + 1);
	if (!strcmp(argv[1], "inject"))
		return cmd_inject(argc - 1, argv + 1);
	if (!strcmp(argv[1], "sweep"))
		return cmd_sweep(argc - 1, argv + 1);
	return bad_usage("unknown subcommand '%s' (list, inject, sweep)", argv[1]);
}
