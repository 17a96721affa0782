// SPDX-License-Identifier: GPL-2.0
/*
 * iommutop - a live, top-like view of nestiommu.
 *
 * BPF programs (bpf/iommutop.bpf.c) count the nestiommu tracepoints in the
 * kernel; every interval iommutop reads the counters (collect.c), the
 * model turns two snapshots into rates (model.c) and one front end shows
 * them: the interactive screen (tui.c), batch text or JSON lines
 * (output.c), with optionally a CSV log and an OpenMetrics exporter
 * (exporter.c) alongside. The loop waits for absolute deadlines, so the
 * time it spends itself does not make the period drift.
 *
 * Exit status: 0, 1 on errors, 2 on bad options.
 */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/utsname.h>

#include "checks.h"
#include "collect.h"
#include "exporter.h"
#include "output.h"
#include "tui.h"

#define PROG "iommutop"
#define DELAY_MIN 0.1
#define DELAY_MAX 3600.0
#define COUNT_MAX 1000000000ULL

enum display { DISPLAY_TUI, DISPLAY_TEXT, DISPLAY_JSON, DISPLAY_NONE };

struct options {
	enum display display;
	bool batch, json, quiet;
	unsigned long long count;	/* samples; 0: until stopped */
	double delay;
	const char *sort_key;
	bool reverse;
	const char *log_path;
	const char *listen;
	struct collect_opts collect;
};

static void usage(FILE *f)
{
	fprintf(f,
		"usage: iommutop [-b | -j] [-n COUNT] [-d SECONDS] [-s COLUMN] [-r] [-L FILE]\n"
		"                [--listen ADDR:PORT] [-q] [--dev DEV] [--pasid PASID|rid]\n"
		"                [--attach auto|tp_btf|raw_tp] [-v] [-h]\n"
		"Live view of nestiommu (DMA, translations, caches, invalidations, faults,\n"
		"page requests), counted in the kernel by BPF on its tracepoints.\n"
		"  -b, --batch            samples as text, like top -b (the default when\n"
		"                         stdin or stdout is not a terminal)\n"
		"  -j, --json             samples as JSON lines\n"
		"  -n, --iterations COUNT stop after COUNT samples\n"
		"  -d, --delay SECONDS    interval, %.1f to %.0f (default 1)\n"
		"  -s, --sort COLUMN      sort by COLUMN (e.g. dma_ops; 'h' on screen lists them)\n"
		"  -r, --reverse          reverse the sort order\n"
		"  -L, --log FILE         append CSV lines (one per device and sample) to FILE;\n"
		"                         reopened on SIGHUP\n"
		"      --listen ADDR:PORT serve OpenMetrics/Prometheus metrics at\n"
		"                         http://ADDR:PORT/metrics\n"
		"  -q, --quiet            no samples, only the attached line (with --listen\n"
		"                         or -L)\n"
		"      --dev DEV          count only device DEV\n"
		"      --pasid PASID      count only PASID (a number, or rid)\n"
		"      --attach MODE      auto (tp_btf, else raw_tp), tp_btf or raw_tp\n"
		"  -v, --verbose          print libbpf's messages\n"
		"  -h, --help             this help\n"
		"Keys: q quit, h help, 1-4 screens, < > sort column, r reverse, s sort by name,\n"
		"/ filter (dev=N pasid=N|rid), c clear the filter.\n"
		"Once every BPF program is attached (and the exporter listens), iommutop\n"
		"prints \"iommutop: attached N programs (MODE)\" (-j: a JSON object with\n"
		"\"event\":\"attached\"): wait for it before starting a workload.\n",
		DELAY_MIN, DELAY_MAX);
}

/* "iommutop: WHY" and the usage on stderr; returns 2. */
#define bad_option(...) tool_bad_usage(PROG, usage, __VA_ARGS__)

/* A whole decimal number (no sign, no blanks) up to @max. */
static bool parse_ull(const char *s, unsigned long long max,
		      unsigned long long *out)
{
	char *end;

	if (*s < '0' || *s > '9')
		return false;
	errno = 0;
	*out = strtoull(s, &end, 10);
	return !errno && !*end && *out <= max;
}

static bool parse_seconds(const char *s, double *out)
{
	char *end;

	if ((*s < '0' || *s > '9') && *s != '.')
		return false;
	errno = 0;
	*out = strtod(s, &end);
	return !errno && !*end && isfinite(*out) && *out >= DELAY_MIN &&
	       *out <= DELAY_MAX;
}

static bool sort_key_known(const char *key)
{
	int v;

	for (v = 0; v < VIEW_NR; v++)
		if (view_find_column(v, key) >= 0)
			return true;
	return false;
}

enum { OPT_LISTEN = 256, OPT_DEV, OPT_PASID, OPT_ATTACH };

static int parse_args(int argc, char **argv, struct options *o)
{
	static const struct option longopts[] = {
		{ "batch", no_argument, NULL, 'b' },
		{ "json", no_argument, NULL, 'j' },
		{ "iterations", required_argument, NULL, 'n' },
		{ "delay", required_argument, NULL, 'd' },
		{ "sort", required_argument, NULL, 's' },
		{ "reverse", no_argument, NULL, 'r' },
		{ "log", required_argument, NULL, 'L' },
		{ "listen", required_argument, NULL, OPT_LISTEN },
		{ "quiet", no_argument, NULL, 'q' },
		{ "dev", required_argument, NULL, OPT_DEV },
		{ "pasid", required_argument, NULL, OPT_PASID },
		{ "attach", required_argument, NULL, OPT_ATTACH },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{}
	};
	unsigned long long v;
	int c;

	*o = (struct options){ .delay = 1.0 };
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":bjn:d:s:rL:qvh", longopts,
				NULL)) != -1) {
		switch (c) {
		case 'b':
			o->batch = true;
			break;
		case 'j':
			o->json = true;
			break;
		case 'n':
			if (!parse_ull(optarg, COUNT_MAX, &o->count) || !o->count)
				return bad_option("-n: '%s' is not a number from 1 to %llu",
						  optarg, COUNT_MAX);
			break;
		case 'd':
			if (!parse_seconds(optarg, &o->delay))
				return bad_option("-d: '%s' is not a number of seconds from %.1f to %.0f",
						  optarg, DELAY_MIN, DELAY_MAX);
			break;
		case 's':
			if (!sort_key_known(optarg))
				return bad_option("-s: no column '%s' (the names are the JSON keys: dma_ops, translations, faults...)",
						  optarg);
			o->sort_key = optarg;
			break;
		case 'r':
			o->reverse = true;
			break;
		case 'L':
			if (!*optarg)
				return bad_option("-L: the file name is empty");
			o->log_path = optarg;
			break;
		case OPT_LISTEN:
			if (!exporter_addr_valid(optarg))
				return bad_option("--listen: '%s' is not HOST:PORT (e.g. 127.0.0.1:9464)",
						  optarg);
			o->listen = optarg;
			break;
		case 'q':
			o->quiet = true;
			break;
		case OPT_DEV:
			if (!parse_ull(optarg, 0xffffffffULL, &v))
				return bad_option("--dev: '%s' is not a device ID",
						  optarg);
			o->collect.filter_dev = true;
			o->collect.dev = v;
			break;
		case OPT_PASID:
			if (!strcmp(optarg, "rid"))
				v = NESTIOMMU_PASID_NONE;
			else if (!parse_ull(optarg, NESTIOMMU_PASID_NONE - 1, &v))
				return bad_option("--pasid: '%s' is not a PASID or rid",
						  optarg);
			o->collect.filter_pasid = true;
			o->collect.pasid = v;
			break;
		case OPT_ATTACH:
			if (!strcmp(optarg, "auto"))
				o->collect.mode = ATTACH_AUTO;
			else if (!strcmp(optarg, "tp_btf"))
				o->collect.mode = ATTACH_TP_BTF;
			else if (!strcmp(optarg, "raw_tp"))
				o->collect.mode = ATTACH_RAW_TP;
			else
				return bad_option("--attach: '%s' is not auto, tp_btf or raw_tp",
						  optarg);
			break;
		case 'v':
			o->collect.verbose = true;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		case ':':
			/* A long option's optopt is its value (>= 256 here). */
			if (optopt > 0 && optopt < 256)
				return bad_option("option -%c needs an argument", optopt);
			return bad_option("option %s needs an argument",
					  argv[optind - 1]);
		default:
			if (optopt > 0 && optopt < 256)
				return bad_option("unknown option -%c", optopt);
			return bad_option("unknown option %s", argv[optind - 1]);
		}
	}
	if (optind < argc)
		return bad_option("unexpected argument '%s'", argv[optind]);
	if (o->quiet && (o->batch || o->json))
		return bad_option("-q shows nothing: it cannot go with -b or -j");
	if (o->quiet && !o->listen && !o->log_path)
		return bad_option("-q needs --listen or -L (there would be nothing to do)");
	if (o->quiet)
		o->display = DISPLAY_NONE;
	else if (o->json)
		o->display = DISPLAY_JSON;
	else if (o->batch || !isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO))
		o->display = DISPLAY_TEXT;
	else
		o->display = DISPLAY_TUI;
	return 0;
}

/* ---- the loop ---- */

struct app {
	struct options opt;
	struct collector *col;
	struct snapshot prev, cur;	/* the last sample's interval */
	struct frame frame;
	bool have_frame;
	struct sort sorts[VIEW_NR];
	FILE *log;
	struct exporter *exp;
	struct tui tui;
	sigset_t orig_mask;	/* before signals_catch(): ppoll()'s */
	unsigned long long samples;
	char collect_desc[48];	/* the in-kernel filter, for the header */
};

static volatile sig_atomic_t got_stop, got_hup, got_winch;

static void on_signal(int sig)
{
	if (sig == SIGHUP)
		got_hup = 1;
	else if (sig == SIGWINCH)
		got_winch = 1;
	else
		got_stop = 1;
}

/*
 * First thing in main(): a signal that arrives while iommutop starts (the
 * log is opened first, the BPF programs take seconds to load) must not
 * kill it. Blocked until run()'s ppoll(), signals wait there, and no flag
 * is missed between a test and the wait.
 */
static void signals_catch(struct app *a)
{
	struct sigaction sa = { .sa_handler = on_signal };
	sigset_t block;

	sigemptyset(&block);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGHUP);
	sigaddset(&block, SIGWINCH);
	sigprocmask(SIG_BLOCK, &block, &a->orig_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	sigaction(SIGWINCH, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
}

static __u64 now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static int open_log(struct app *a)
{
	a->log = fopen(a->opt.log_path, "a");
	if (!a->log) {
		fprintf(stderr, PROG ": -L %s: %s\n", a->opt.log_path,
			strerror(errno));
		return -1;
	}
	/*
	 * A new (or rotated) file starts with the header, and so does every
	 * open of a pipe or FIFO (ftell() fails): each is a new stream.
	 */
	if (ftell(a->log) <= 0)
		csv_header(a->log);
	return 0;
}

static void reopen_log(struct app *a)
{
	if (!a->log)
		return;
	fclose(a->log);
	a->log = NULL;
	open_log(a);	/* on failure, logging stops (said on stderr) */
}

static int snap_for_exporter(void *arg, struct snapshot *s)
{
	return collector_snapshot(arg, s);
}

static const struct filter *display_filter(struct app *a)
{
	return a->opt.display == DISPLAY_TUI ? &a->tui.filter : NULL;
}

static int rebuild(struct app *a)
{
	const struct sort *sorts = a->opt.display == DISPLAY_TUI ?
				   a->tui.sorts : a->sorts;
	int rc;

	if (a->have_frame)
		frame_free(&a->frame);
	a->have_frame = false;
	rc = frame_build(&a->frame, &a->prev, &a->cur, display_filter(a),
			 sorts);
	if (rc)
		return rc;
	a->frame.attach = collector_mode(a->col);
	a->frame.collect_filter = a->collect_desc;
	a->have_frame = true;
	return 0;
}

/* Take a sample and show it everywhere; 0 or -errno. */
static int sample(struct app *a)
{
	struct snapshot s = {};
	int rc;

	rc = collector_snapshot(a->col, &s);
	if (rc)
		return rc;
	snapshot_free(&a->prev);
	a->prev = a->cur;
	a->cur = s;
	rc = rebuild(a);
	if (rc)
		return rc;
	a->samples++;
	switch (a->opt.display) {
	case DISPLAY_TUI:
		tui_draw(&a->tui, &a->frame);
		break;
	case DISPLAY_TEXT:
		print_batch_text(stdout, &a->frame);
		break;
	case DISPLAY_JSON:
		print_json(stdout, &a->frame);
		break;
	case DISPLAY_NONE:
		break;
	}
	if (a->log)
		csv_sample(a->log, &a->frame);
	if (ferror(stdout))
		return -EPIPE;
	return 0;
}

static int run(struct app *a)
{
	__u64 period = a->opt.delay * 1e9, next = now_ns() + period;
	int rc = 0;

	for (;;) {
		struct pollfd fds[2];
		struct timespec ts;
		__u64 now = now_ns();
		int nfds = 0, tty = -1, lis = -1;

		if (a->opt.display == DISPLAY_TUI) {
			tty = nfds;
			fds[nfds++] = (struct pollfd){ .fd = a->tui.in_fd,
						       .events = POLLIN };
		}
		if (a->exp) {
			lis = nfds;
			fds[nfds++] = (struct pollfd){ .fd = exporter_fd(a->exp),
						       .events = POLLIN };
		}
		ts.tv_sec = next > now ? (next - now) / 1000000000ULL : 0;
		ts.tv_nsec = next > now ? (next - now) % 1000000000ULL : 0;
		/* Signals arrive only here (signals_catch()). */
		if (ppoll(fds, nfds, &ts, &a->orig_mask) < 0 && errno != EINTR)
			return -errno;

		if (got_stop) {
			/* A script's last word: the partial interval too. */
			if (a->opt.display == DISPLAY_TEXT ||
			    a->opt.display == DISPLAY_JSON || a->log)
				rc = sample(a);
			break;
		}
		if (got_hup) {
			got_hup = 0;
			reopen_log(a);
		}
		if (got_winch && tty >= 0) {
			got_winch = 0;
			tui_resize(&a->tui);
			tui_draw(&a->tui, &a->frame);
		}
		if (tty >= 0 && (fds[tty].revents & (POLLIN | POLLHUP | POLLERR))) {
			enum tui_action act = tui_input(&a->tui);

			if (act == TUI_QUIT)
				break;
			if (act == TUI_REBUILD)
				rc = rebuild(a);
			if (rc)
				break;
			if (act != TUI_NONE)
				tui_draw(&a->tui, &a->frame);
		}
		if (lis >= 0 && (fds[lis].revents & POLLIN))
			exporter_serve(a->exp);
		if (now_ns() >= next) {
			rc = sample(a);
			if (rc || (a->opt.count && a->samples >= a->opt.count))
				break;
			next = sample_next_due(next, period, now_ns());
		}
	}
	return rc;
}

static void describe_collect_filter(struct app *a)
{
	const struct collect_opts *c = &a->opt.collect;
	size_t n = 0, len = sizeof(a->collect_desc);

	if (c->filter_dev)
		n += snprintf(a->collect_desc + n, len - n, "dev=%u", c->dev);
	if (c->filter_pasid && c->pasid == NESTIOMMU_PASID_NONE)
		snprintf(a->collect_desc + n, len - n, "%spasid=rid",
			 n ? " " : "");
	else if (c->filter_pasid)
		snprintf(a->collect_desc + n, len - n, "%spasid=%u",
			 n ? " " : "", c->pasid);
}

static void init_sorts(struct app *a)
{
	int v;

	for (v = 0; v < VIEW_NR; v++) {
		a->sorts[v].col = a->opt.sort_key ?
				  view_find_column(v, a->opt.sort_key) : -1;
		a->sorts[v].reverse = a->opt.reverse;
	}
}

int main(int argc, char **argv)
{
	struct app a = {};
	struct utsname uts = {};
	char msg[4096];
	int rc;

	signals_catch(&a);
	rc = parse_args(argc, argv, &a.opt);
	if (rc)
		return rc;
	init_sorts(&a);
	describe_collect_filter(&a);
	uname(&uts);
	if (check_environment(PROG, "/sys", uts.release, msg, sizeof(msg))) {
		fprintf(stderr, PROG ": %s\n", msg);
		return 1;
	}
	if (a.opt.log_path && open_log(&a))
		return 1;
	a.col = collector_open(&a.opt.collect, msg, sizeof(msg));
	if (!a.col) {
		if (errno == EPERM)
			fprintf(stderr, PROG ": permission denied loading the BPF programs: run iommutop as root\n");
		fprintf(stderr, PROG ": %s\n", msg);
		rc = 1;
		goto out;
	}
	if (a.opt.listen) {
		a.exp = exporter_open(a.opt.listen, snap_for_exporter, a.col,
				      collector_mode(a.col), msg, sizeof(msg));
		if (!a.exp) {
			fprintf(stderr, PROG ": %s\n", msg);
			rc = 1;
			goto out;
		}
	}
	/* The counters start now: rates of the first sample are from here. */
	rc = collector_snapshot(a.col, &a.cur) ?: snapshot_copy(&a.prev, &a.cur);
	if (rc) {
		fprintf(stderr, PROG ": reading the BPF maps: %s\n",
			strerror(-rc));
		rc = 1;
		goto out;
	}
	if (a.opt.display == DISPLAY_TUI) {
		rc = tui_start(&a.tui, STDIN_FILENO, STDOUT_FILENO, a.sorts,
			       a.opt.sort_key, NULL);
		if (rc) {
			fprintf(stderr, PROG ": terminal: %s\n", strerror(-rc));
			rc = 1;
			goto out;
		}
		/* Something on screen at once, rates after the first interval. */
		rc = rebuild(&a);
		if (!rc)
			tui_draw(&a.tui, &a.frame);
	} else {
		/* Collection runs: a script may start its workload now. */
		print_attached(stdout, a.opt.display == DISPLAY_JSON,
			       collector_mode(a.col), collector_programs(a.col));
	}
	if (!rc)
		rc = run(&a);
	tui_stop(&a.tui);
	if (rc == -EPIPE) {
		rc = 0;		/* the reader went away: done */
	} else if (rc) {
		fprintf(stderr, PROG ": %s\n", strerror(-rc));
		rc = 1;
	}
out:
	if (a.have_frame)
		frame_free(&a.frame);
	snapshot_free(&a.prev);
	snapshot_free(&a.cur);
	exporter_close(a.exp);
	collector_close(a.col);
	if (a.log)
		fclose(a.log);
	return rc;
}
