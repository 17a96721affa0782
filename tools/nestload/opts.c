// SPDX-License-Identifier: GPL-2.0
/*
 * nestload: the command line. Every check happens here, before
 * /dev/nestiommu is opened, so a bad option costs nothing and is reported
 * the same way on a machine without the module: one line
 * "nestload: --OPTION: why" on stderr, and exit status 2.
 *
 * Numbers are decimal or 0x-hex, without sign, blanks or suffix.
 */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "nestload.h"

/* getopt_long codes of the options without a short form. */
enum {
	OPT_DEVICES = 256,
	OPT_PASIDS,
	OPT_OPS,
	OPT_DURATION,
	OPT_THREADS,
	OPT_PATTERN,
	OPT_READ_PCT,
	OPT_WORKING_SET,
	OPT_DMA_SIZE,
	OPT_IOTLB_ENTRIES,
	OPT_ATS,
	OPT_DEVTLB_ENTRIES,
	OPT_FAULT_PCT,
	OPT_REFAULT_EVERY,
	OPT_S1_CHANGE_EVERY,
	OPT_CHURN_EVERY,
	OPT_PRI_TIMEOUT_MS,
	OPT_SEED,
	OPT_AUDIT,
	OPT_RECOVER,
	OPT_JSON,
};

static const struct option nl_long_options[] = {
	{ "devices",		required_argument, NULL, OPT_DEVICES },
	{ "pasids",		required_argument, NULL, OPT_PASIDS },
	{ "ops",		required_argument, NULL, OPT_OPS },
	{ "duration",		required_argument, NULL, OPT_DURATION },
	{ "threads",		required_argument, NULL, OPT_THREADS },
	{ "pattern",		required_argument, NULL, OPT_PATTERN },
	{ "read-pct",		required_argument, NULL, OPT_READ_PCT },
	{ "working-set",	required_argument, NULL, OPT_WORKING_SET },
	{ "dma-size",		required_argument, NULL, OPT_DMA_SIZE },
	{ "iotlb-entries",	required_argument, NULL, OPT_IOTLB_ENTRIES },
	{ "ats",		no_argument,	   NULL, OPT_ATS },
	{ "devtlb-entries",	required_argument, NULL, OPT_DEVTLB_ENTRIES },
	{ "fault-pct",		required_argument, NULL, OPT_FAULT_PCT },
	{ "refault-every",	required_argument, NULL, OPT_REFAULT_EVERY },
	{ "s1-change-every",	required_argument, NULL, OPT_S1_CHANGE_EVERY },
	{ "churn-every",	required_argument, NULL, OPT_CHURN_EVERY },
	{ "pri-timeout-ms",	required_argument, NULL, OPT_PRI_TIMEOUT_MS },
	{ "seed",		required_argument, NULL, OPT_SEED },
	{ "audit",		no_argument,	   NULL, OPT_AUDIT },
	{ "recover",		no_argument,	   NULL, OPT_RECOVER },
	{ "quiet",		no_argument,	   NULL, 'q' },
	{ "json",		no_argument,	   NULL, OPT_JSON },
	{ "help",		no_argument,	   NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

static void nl_usage(FILE *f)
{
	fprintf(f,
"usage: nestload [OPTIONS]\n"
"\n"
"A DMA workload that behaves like a VMM on /dev/nestiommu: N emulated PRI\n"
"devices x M PASIDs, each (device, PASID) with its own stage-1 table and\n"
"nested HWPT over one IOAS of guest RAM, a PRI handler thread that maps the\n"
"pages the devices ask for, and DMA threads. At the end it prints its own\n"
"counts, its throughput and the driver's statistics of its objects, one\n"
"key=value per line (or one JSON object).\n"
"\n"
"Run length (one of them):\n"
"      --ops COUNT           DMA ops in all, 1..%llu (default 10000)\n"
"      --duration SECONDS    run this long, 0.001..%.0f (decimals allowed)\n"
"\n"
"Topology:\n"
"      --devices N           emulated PRI devices, 1..%u (default 2)\n"
"      --pasids M            PASIDs 1..M per device, 1..%u (default 2);\n"
"                            N x M at most %u\n"
"      --threads T           DMA threads, 1..%u and at most N x M (default 1);\n"
"                            the (device, PASID) pairs are dealt out in turn\n"
"      --iotlb-entries E     IOTLB size, a power of two %u..%u\n"
"                            (default: leave the driver's)\n"
"      --ats                 the devices have a device TLB (ATS)\n"
"      --devtlb-entries E    device-TLB size, a power of two %u..%u (needs --ats)\n"
"\n"
"DMA mix (each thread takes its pairs in turn, one DMA each):\n"
"      --pattern seq|random  IOVAs in order through the working set, or\n"
"                            page-aligned at random (default random)\n"
"      --read-pct P          share of DMA reads, 0..100 (default 50)\n"
"      --working-set PAGES   4 KiB pages each PASID DMAs to, 1..%u (default 64)\n"
"      --dma-size BYTES      bytes per DMA, 1..%u and at most the working set\n"
"                            (default 4096)\n"
"\n"
"Faults and changes (N counts the DMA ops of one thread; 0 is never):\n"
"      --fault-pct P         share of working-set pages whose stage-1 PTE starts\n"
"                            not present, 0..100 (default 0): the first DMA to\n"
"                            one sends a page request and the handler maps it\n"
"      --refault-every N     make the fault pages of the thread's PASIDs not\n"
"                            present again, with HWPT_INVALIDATE\n"
"                            (default: the working set; needs --fault-pct)\n"
"      --s1-change-every N   point one present stage-1 PTE at another page (and\n"
"                            back the next time), with HWPT_INVALIDATE (default 0)\n"
"      --churn-every N       map, and the next time unmap, a spare IOAS area\n"
"                            of the thread (default 0)\n"
"      --pri-timeout-ms MS   the driver answers INVALID for page requests left\n"
"                            unanswered this long, 0..%u (default 0: never)\n"
"      --audit               turn the stale-translation auditor on\n"
"      --recover             recover as a VMM must: when a DMA stops with a fault\n"
"                            and its device took a FAILURE response since it was\n"
"                            last reset (PRI is off), DEVICE_RESET it (recoveries)\n"
"      --seed S              random seed, 0..2^64-1 (default 1)\n"
"\n"
"Output:\n"
"  -q, --quiet               no start and progress lines on stderr\n"
"      --json                the summary as one JSON object\n"
"  -h, --help                this help\n"
"\n"
"The summary (stdout), one key=value per line in a fixed order: config.* (what\n"
"ran); elapsed_s, dma_ops, dma_bytes, ops_per_s, mb_per_s (MB = 10^6 bytes),\n"
"invalidations, s1_changes, refaults, maps, unmaps... (nestload's own counts);\n"
"pri.* (the PRI handler: groups and pages answered); driver.* (GET_STATS\n"
"summed over nestload's devices, inv_* over its nested HWPTs, map_ops and\n"
"unmapped_areas of its IOAS, queue_* of its fault queue). --json gives the\n"
"same keys, config, pri and driver as nested objects. SIGINT or SIGTERM stops\n"
"the run after the DMAs in flight and still prints it (interrupted=1).\n"
"\n"
"Exit status: 0; 1 if the run fails; 2 for bad options.\n",
		NL_OPS_MAX, NL_DURATION_MAX, NL_DEVICES_MAX, NL_PASIDS_MAX,
		NL_SLOTS_MAX, NL_THREADS_MAX, NESTIOMMU_IOTLB_MIN_ENTRIES,
		NESTIOMMU_IOTLB_MAX_ENTRIES, NESTIOMMU_DEVTLB_MIN_ENTRIES,
		NESTIOMMU_DEVTLB_MAX_ENTRIES, NL_WORKING_SET_MAX,
		NL_DMA_SIZE_MAX, NESTIOMMU_PRI_MAX_TIMEOUT_MS);
}

/* Say why on stderr, point at --help. Return: 2, the bad-option status. */
static int __attribute__((format(printf, 1, 2))) nl_bad(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, NL_PROG ": ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nTry '" NL_PROG " --help' for the options.\n");
	return 2;
}

enum nl_num {
	NL_NUM_OK,
	NL_NUM_BAD,	/* not a number */
	NL_NUM_BIG,	/* digits, but more than 2^64 - 1 */
};

/* A whole decimal or 0x-hex number. */
static enum nl_num nl_parse_u64(const char *s, __u64 *out)
{
	const char *accept = "0123456789";
	const char *digits = s;
	int base = 10;

	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		accept = "0123456789abcdefABCDEF";
		digits = s + 2;
		base = 16;
	}
	/* Digits only: strtoull would also take blanks, a sign, a prefix. */
	if (!*digits || digits[strspn(digits, accept)])
		return NL_NUM_BAD;
	errno = 0;
	*out = strtoull(digits, NULL, base);
	return errno ? NL_NUM_BIG : NL_NUM_OK;
}

/* Parse @arg of --@name into @out, in [@min, @max]. Return 0 or 2. */
static int nl_opt_u64(const char *name, const char *arg, __u64 min, __u64 max,
		      __u64 *out)
{
	switch (nl_parse_u64(arg, out)) {
	case NL_NUM_BAD:
		return nl_bad("--%s: '%s' is not a number", name, arg);
	case NL_NUM_BIG:
		break;
	case NL_NUM_OK:
		if (*out >= min && *out <= max)
			return 0;
		break;
	}
	return nl_bad("--%s: '%s' is not in %llu..%llu", name, arg,
		      (unsigned long long)min, (unsigned long long)max);
}

static int nl_opt_u32(const char *name, const char *arg, __u32 min, __u32 max,
		      __u32 *out)
{
	__u64 v;
	int rc = nl_opt_u64(name, arg, min, max, &v);

	if (!rc)
		*out = (__u32)v;
	return rc;
}

/* A power of two in [@min, @max]. */
static int nl_opt_pow2(const char *name, const char *arg, __u32 min, __u32 max,
		       __u32 *out)
{
	enum nl_num num;
	__u64 v;

	num = nl_parse_u64(arg, &v);
	if (num == NL_NUM_BAD)
		return nl_bad("--%s: '%s' is not a number", name, arg);
	if (num == NL_NUM_BIG || v < min || v > max || (v & (v - 1)))
		return nl_bad("--%s: '%s' is not a power of two in %u..%u",
			      name, arg, min, max);
	*out = (__u32)v;
	return 0;
}

/* Seconds: digits, optionally a point and more digits. */
static int nl_opt_seconds(const char *name, const char *arg, double *out)
{
	const char *p = arg;
	size_t n = strspn(p, "0123456789");

	if (!n)
		return nl_bad("--%s: '%s' is not a number of seconds", name, arg);
	p += n;
	if (*p == '.') {
		n = strspn(++p, "0123456789");
		if (!n)
			return nl_bad("--%s: '%s' is not a number of seconds",
				      name, arg);
		p += n;
	}
	if (*p)
		return nl_bad("--%s: '%s' is not a number of seconds", name, arg);
	*out = strtod(arg, NULL);
	if (*out < 0.001 || *out > NL_DURATION_MAX)
		return nl_bad("--%s: '%s' is not in 0.001..%.0f", name, arg,
			      NL_DURATION_MAX);
	return 0;
}

/* The name of the long option with code @val, for "needs an argument". */
static const char *nl_opt_name(int val)
{
	const struct option *opt;

	for (opt = nl_long_options; opt->name; opt++)
		if (opt->val == val)
			return opt->name;
	return NULL;
}

/**
 * nl_opts_fault_pages() - fault pages per slot
 * @o: the options
 *
 * --fault-pct of the working set, rounded to nearest, and at least one
 * when the share is not 0 (a user asking for faults gets some).
 */
__u32 nl_opts_fault_pages(const struct nl_opts *o)
{
	__u64 n = ((__u64)o->working_set * o->fault_pct + 50) / 100;

	return o->fault_pct && !n ? 1 : (__u32)n;
}

/**
 * nl_opts_slot_pool_pages() - stage-1 table pages a slot's pool needs
 * @o: the options
 *
 * The working set lies in one 1 GiB-aligned GiB, so its tree is a root,
 * one level-3 and one level-2 table and a level-1 table per 512 pages;
 * one more page of slack.
 */
__u64 nl_opts_slot_pool_pages(const struct nl_opts *o)
{
	return 4 + (o->working_set + 511) / 512;
}

/* Checks between options, once all are known. Return 0 or 2. */
static int nl_opts_check(struct nl_opts *o, bool ops_set, bool refault_set)
{
	__u64 slots = (__u64)o->devices * o->pasids;
	__u64 ram;

	if (ops_set && o->duration_s)
		return nl_bad("--ops and --duration cannot be used together");
	if (!ops_set && !o->duration_s)
		o->ops = 10000;
	if (slots > NL_SLOTS_MAX)
		return nl_bad("--pasids: %u devices x %u PASIDs is more than %u (device, PASID) pairs",
			      o->devices, o->pasids, NL_SLOTS_MAX);
	if (o->threads > slots)
		return nl_bad("--threads: '%u' is more than the %llu (device, PASID) pairs",
			      o->threads, (unsigned long long)slots);
	if (o->dma_size > o->working_set * NL_PAGE)
		return nl_bad("--dma-size: '%llu' is more than the working set (%u pages, %llu bytes)",
			      (unsigned long long)o->dma_size, o->working_set,
			      o->working_set * NL_PAGE);
	if (o->devtlb_entries && !o->ats)
		return nl_bad("--devtlb-entries: needs --ats");
	if (refault_set && !o->fault_pct)
		return nl_bad("--refault-every: needs --fault-pct above 0");
	if (!refault_set && o->fault_pct)
		o->refault_every = o->working_set;
	if (o->s1_change_every && nl_opts_fault_pages(o) == o->working_set)
		return nl_bad("--s1-change-every: --fault-pct %u leaves no present page to change",
			      o->fault_pct);
	/* Per slot: its pool, its data pages, its spare page. */
	ram = slots * (nl_opts_slot_pool_pages(o) + o->working_set + 1) * NL_PAGE;
	if (ram > NL_RAM_MAX)
		return nl_bad("--working-set: %u devices x %u PASIDs x %u pages need %llu MiB of guest RAM, more than %llu MiB",
			      o->devices, o->pasids, o->working_set,
			      (unsigned long long)(ram >> 20),
			      (unsigned long long)(NL_RAM_MAX >> 20));
	return 0;
}

/**
 * nl_opts_parse() - parse the command line
 * @argc: from main()
 * @argv: from main()
 * @o: filled in, defaults included
 *
 * Return: 0 to run; 2 after a bad option (reported); -1 after --help
 * (printed on stdout: exit 0).
 */
int nl_opts_parse(int argc, char **argv, struct nl_opts *o)
{
	bool ops_set = false, refault_set = false;
	const char *name;
	int c, rc = 0;

	*o = (struct nl_opts){
		.devices = 2,
		.pasids = 2,
		.threads = 1,
		.pattern = NL_PATTERN_RANDOM,
		.read_pct = 50,
		.working_set = 64,
		.dma_size = 4096,
		.seed = 1,
	};
	opterr = 0;
	while (!rc && (c = getopt_long(argc, argv, ":qh", nl_long_options,
				       NULL)) != -1) {
		switch (c) {
		case OPT_DEVICES:
			rc = nl_opt_u32("devices", optarg, 1, NL_DEVICES_MAX,
					&o->devices);
			break;
		case OPT_PASIDS:
			rc = nl_opt_u32("pasids", optarg, 1, NL_PASIDS_MAX,
					&o->pasids);
			break;
		case OPT_OPS:
			rc = nl_opt_u64("ops", optarg, 1, NL_OPS_MAX, &o->ops);
			ops_set = true;
			break;
		case OPT_DURATION:
			rc = nl_opt_seconds("duration", optarg, &o->duration_s);
			break;
		case OPT_THREADS:
			rc = nl_opt_u32("threads", optarg, 1, NL_THREADS_MAX,
					&o->threads);
			break;
		case OPT_PATTERN:
			if (!strcmp(optarg, "seq"))
				o->pattern = NL_PATTERN_SEQ;
			else if (!strcmp(optarg, "random"))
				o->pattern = NL_PATTERN_RANDOM;
			else
				rc = nl_bad("--pattern: '%s' is not seq or random",
					    optarg);
			break;
		case OPT_READ_PCT:
			rc = nl_opt_u32("read-pct", optarg, 0, 100, &o->read_pct);
			break;
		case OPT_WORKING_SET:
			rc = nl_opt_u32("working-set", optarg, 1,
					NL_WORKING_SET_MAX, &o->working_set);
			break;
		case OPT_DMA_SIZE:
			rc = nl_opt_u64("dma-size", optarg, 1, NL_DMA_SIZE_MAX,
					&o->dma_size);
			break;
		case OPT_IOTLB_ENTRIES:
			rc = nl_opt_pow2("iotlb-entries", optarg,
					 NESTIOMMU_IOTLB_MIN_ENTRIES,
					 NESTIOMMU_IOTLB_MAX_ENTRIES,
					 &o->iotlb_entries);
			break;
		case OPT_ATS:
			o->ats = true;
			break;
		case OPT_DEVTLB_ENTRIES:
			rc = nl_opt_pow2("devtlb-entries", optarg,
					 NESTIOMMU_DEVTLB_MIN_ENTRIES,
					 NESTIOMMU_DEVTLB_MAX_ENTRIES,
					 &o->devtlb_entries);
			break;
		case OPT_FAULT_PCT:
			rc = nl_opt_u32("fault-pct", optarg, 0, 100, &o->fault_pct);
			break;
		case OPT_REFAULT_EVERY:
			rc = nl_opt_u64("refault-every", optarg, 0, NL_EVERY_MAX,
					&o->refault_every);
			refault_set = true;
			break;
		case OPT_S1_CHANGE_EVERY:
			rc = nl_opt_u64("s1-change-every", optarg, 0,
					NL_EVERY_MAX, &o->s1_change_every);
			break;
		case OPT_CHURN_EVERY:
			rc = nl_opt_u64("churn-every", optarg, 0, NL_EVERY_MAX,
					&o->churn_every);
			break;
		case OPT_PRI_TIMEOUT_MS:
			rc = nl_opt_u32("pri-timeout-ms", optarg, 0,
					NESTIOMMU_PRI_MAX_TIMEOUT_MS, &o->pri_timeout_ms);
			break;
		case OPT_SEED:
			rc = nl_opt_u64("seed", optarg, 0, ~0ULL, &o->seed);
			break;
		case OPT_AUDIT:
			o->audit = true;
			break;
		case OPT_RECOVER:
			o->recover = true;
			break;
		case 'q':
			o->quiet = true;
			break;
		case OPT_JSON:
			o->json = true;
			break;
		case 'h':
			nl_usage(stdout);
			return -1;
		case ':':
			name = nl_opt_name(optopt);
			rc = name ? nl_bad("--%s: needs an argument", name) :
				    nl_bad("-%c: needs an argument", optopt);
			break;
		default:
			/*
			 * optopt: a known option's code if a flag was given a
			 * value (--json=1), an unknown short option's letter,
			 * or 0 for an unknown or ambiguous long option.
			 */
			name = optopt ? nl_opt_name(optopt) : NULL;
			if (name)
				rc = nl_bad("--%s: takes no value", name);
			else if (optopt)
				rc = nl_bad("unknown option '-%c'", optopt);
			else
				rc = nl_bad("unknown or ambiguous option '%s'",
					    argv[optind - 1]);
			break;
		}
	}
	if (rc)
		return rc;
	if (optind < argc)
		return nl_bad("unexpected argument '%s'", argv[optind]);
	return nl_opts_check(o, ops_set, refault_set);
}
