// SPDX-License-Identifier: GPL-2.0
/*
 * faultinject - make IOMMU faults and page-response misbehaviour happen on
 * purpose, where and when a rule says (tools/faultinject/README.md).
 *
 *   faultinject list
 *   faultinject inject RULE... [-f FILE] [--seed N] [--duration S] [-j]
 *                     [-v] [-- CMD ARGS...]
 *   faultinject record ... / replay ...	(record.c)
 *   faultinject sweep --at SITE|all [--max N] [--timeout S] [--unload] [-j]
 *                     [-v] -- CMD ARGS...			(sweep.c)
 *
 * The rules (rules.c) go into the read-only data of bpf/faultinject.bpf.c,
 * whose raw_tp.w programs decide at the driver's hook points; at the end
 * faultinject prints what each rule matched and injected, and how many of
 * its outcomes the driver marked as injected in its events.
 *
 * Exit status: CMD's (128+N if a signal N killed it), 0 without CMD, 1 on
 * faultinject's own errors, 2 on bad usage or rules (nothing attached),
 * 3 when replay --strict diverged.
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
#include <sys/wait.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include "nestiommu.h"
#include "rules.h"
#include "run.h"
#include "record.h"
#include "tool.h"
#include "faultinject.skel.h"

void fi_usage(FILE *f)
{
	fprintf(f,
		"usage: faultinject list\n"
		"       faultinject inject RULE... [-f FILE] [--seed N] [--duration S] [-j] [-v]\n"
		"                         [-- CMD ARGS...]\n"
		"       faultinject record -o FILE [--ring-size SIZE] [--duration S] [-j] [-v]\n"
		"                         [-- CMD ARGS...]\n"
		"       faultinject replay FILE [--strict] [--allow-loss] [--ring-size SIZE] [-j] [-v]\n"
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
		"The rule language: tools/faultinject/README.md.\n"
		"record writes every fault, page request and response, injected invalidation,\n"
		"MAP failure and fail-site hit, at its logical position, to FILE (a text\n"
		"format, README.md); replay makes the recorded injections again at the same\n"
		"positions and compares what happens with FILE:\n"
		"  -o, --output FILE    record: the recording to write\n"
		"      --strict         replay: exit 3 on any divergence\n"
		"      --allow-loss     replay: a recording that lost events, anyway\n"
		"      --ring-size SIZE the ring buffer of the events: a power of two from a page\n"
		"                       to 256M, in bytes or with K or M (default 4M)\n");
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
		fi_usage(stdout);
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
	uint64_t seed;
	double duration;	/* 0: until a signal */
	struct fi_args args;	/* -j, CMD (NULL: system-wide) */
};

enum { OPT_SEED = 256, OPT_DURATION };

static int inject_opt(int c, const char *arg, void *ctx)
{
	struct inject_opts *o = ctx;
	char err[FI_ERR_LEN];

	switch (c) {
	case 'f':
		if (fi_rules_load(&o->rules, arg, err, sizeof(err)))
			return bad_usage("%s", err);
		return 0;
	case OPT_SEED:
		if (!fi_parse_u64(arg, UINT64_MAX, &o->seed))
			return bad_usage("--seed: '%s' is not a number from 0 to 2^64-1",
					 arg);
		return 0;
	default:	/* OPT_DURATION */
		if (!parse_seconds(arg, &o->duration))
			return bad_usage("--duration: '%s' is not a number of seconds above 0",
					 arg);
		return 0;
	}
}

static int parse_inject(int argc, char **argv, struct inject_opts *o)
{
	static const struct option longopts[] = {
		{ "file", required_argument, NULL, 'f' },
		{ "seed", required_argument, NULL, OPT_SEED },
		{ "duration", required_argument, NULL, OPT_DURATION },
		FI_COMMON_LONGOPTS,
		{}
	};
	static const struct fi_optspec spec = {
		.sub = "inject", .shortopts = "f:", .longopts = longopts,
		.opt = inject_opt, .help = fi_usage,
	};
	struct fi_args *a = &o->args;
	char err[FI_ERR_LEN];
	int rc, i;

	rc = fi_opts_parse(argc, argv, &spec, o, a);
	if (rc)
		return rc;
	for (i = 0; i < a->nr_operands; i++) {
		char origin[32];

		snprintf(origin, sizeof(origin), "argument %d", i + 1);
		if (fi_rules_add(&o->rules, a->operands[i], origin, err,
				 sizeof(err)))
			return bad_usage("%s", err);
	}
	if (!o->rules.nr)
		return bad_usage("inject: no rule (give RULE arguments or -f FILE)");
	if (a->cmd && o->duration)
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

	if (o->args.json) {
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
	struct fi_cmd cmd = { .pid = -1, .gate = -1, .report = -1 };
	int rc, status = 0;
	sigset_t orig;
	__u8 one = 1;
	__u32 tgid;

	signals_hold(&orig);

	rc = parse_inject(argc, argv, &o);
	if (rc)
		goto out;
	rc = preflight();
	if (rc)
		goto out;
	rc = rules_supported(&o.rules);
	if (rc)
		goto out;

	libbpf_set_print(fi_libbpf_print);
	skel = faultinject_bpf__open();
	if (!skel) {
		rc = -errno;
		goto bpf_fail;
	}
	memcpy((void *)skel->rodata->rules, o.rules.rule,
	       o.rules.nr * sizeof(o.rules.rule[0]));
	skel->rodata->nr_rules = o.rules.nr;
	skel->rodata->seed = o.seed;
	skel->rodata->scoped = !!o.args.cmd;
	programs_select(skel, &o.rules);
	rc = faultinject_bpf__load(skel);
	if (!rc && o.args.cmd) {
		if (cmd_start(&cmd, o.args.cmd, false)) {
			rc = 1;
			goto out;
		}
		tgid = cmd.pid;
		rc = bpf_map__update_elem(skel->maps.scope, &tgid,
					  sizeof(tgid), &one, sizeof(one),
					  BPF_ANY);
	}
	if (!rc)
		rc = faultinject_bpf__attach(skel);
	if (rc)
		goto bpf_fail;

	if (!o.args.cmd) {
		fprintf(stderr, PROG ": attached %u rules system-wide%s\n",
			o.rules.nr, o.duration ? "" :
			": SIGINT or SIGTERM ends");
		wait_stop(o.duration, &orig);
	} else {
		cmd_go(&cmd);
		status = wait_cmd(cmd.pid, &orig);
		cmd.pid = -1;
	}
	/* Everything is counted once the programs are gone. */
	faultinject_bpf__detach(skel);
	print_table(&o, skel->bss->stats, !!o.args.cmd, status);
	rc = o.args.cmd ? status : 0;
	goto out;

bpf_fail:
	bpf_load_error(-rc);
	rc = 1;
out:
	cmd_cleanup(&cmd);
	faultinject_bpf__destroy(skel);
	fi_rules_free(&o.rules);
	return rc;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fi_usage(stderr);
		return 2;
	}
	if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
		fi_usage(stdout);
		return 0;
	}
	if (!strcmp(argv[1], "list"))
		return cmd_list(argc - 1, argv + 1);
	if (!strcmp(argv[1], "inject"))
		return cmd_inject(argc - 1, argv + 1);
	if (!strcmp(argv[1], "record"))
		return cmd_record(argc - 1, argv + 1);
	if (!strcmp(argv[1], "replay"))
		return cmd_replay(argc - 1, argv + 1);
	if (!strcmp(argv[1], "sweep"))
		return cmd_sweep(argc - 1, argv + 1);
	return bad_usage("unknown subcommand '%s' (list, inject, record, replay, sweep)",
			 argv[1]);
}
