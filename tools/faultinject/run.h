/* SPDX-License-Identifier: GPL-2.0 */
/*
 * run.h - what faultinject's subcommands share (run.c): usage errors,
 * option values, libbpf's messages, signals and CMD.
 */
#ifndef FI_RUN_H
#define FI_RUN_H

#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <sys/types.h>
#include <linux/types.h>
#include <bpf/libbpf.h>

#include "checks.h"

#define PROG "faultinject"
#define DURATION_MAX 31536000.0		/* a year */

/* "faultinject: WHY (faultinject -h for help)" on stderr; return 2. */
#define bad_usage(...) tool_bad_usage(PROG, NULL, __VA_ARGS__)

/* Seconds above 0, at most DURATION_MAX. */
bool parse_seconds(const char *s, double *v);

/* The end of every subcommand's getopt_long() table. */
#define FI_COMMON_LONGOPTS \
	{ "json", no_argument, NULL, 'j' }, \
	{ "verbose", no_argument, NULL, 'v' }, \
	{ "help", no_argument, NULL, 'h' }

/*
 * A subcommand's options: its own go to @opt; -j, -v (libbpf_verbose)
 * and -h (@help on stdout, then exit 0) are every subcommand's.
 */
struct fi_optspec {
	const char *sub;		/* "inject": the errors' prefix */
	const char *shortopts;		/* its own, without ":jvh" */
	const struct option *longopts;	/* its own, FI_COMMON_LONGOPTS, {} */
	/* Return: 0, or 2 with the error printed. */
	int (*opt)(int c, const char *arg, void *ctx);
	void (*help)(FILE *f);
	/* Nothing after "--" is left to the subcommand, not an error. */
	bool empty_cmd_ok;
};

/* What fi_opts_parse() found besides the subcommand's own options. */
struct fi_args {
	char **cmd;		/* after "--"; NULL: no "--" */
	char **operands;	/* the other arguments, before "--" */
	int nr_operands;
	bool json;		/* -j */
};

/*
 * Parse @argv (argv[0]: the subcommand) as @spec says, into @ctx (for
 * @spec->opt) and @a. Return: 0, or 2 with the error printed.
 */
int fi_opts_parse(int argc, char **argv, const struct fi_optspec *spec,
		  void *ctx, struct fi_args *a);

/* libbpf_set_print(fi_libbpf_print): warnings, and the rest with -v. */
extern bool libbpf_verbose;
int fi_libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap);

/*
 * The handler of SIGINT, SIGTERM and SIGHUP: sets got_stop, and passes
 * the signal on to CMD while cmd_pid is set.
 */
extern volatile sig_atomic_t got_stop;
extern volatile pid_t cmd_pid;
void on_signal(int sig);

/*
 * Signals wait until faultinject waits, none lost while loading: block
 * SIGINT, SIGTERM and SIGHUP (the mask before in *@orig, to wait with) and
 * handle them with on_signal(). Return: the blocked set.
 */
sigset_t signals_hold(sigset_t *orig);

/*
 * The checks before loading anything (tools/lib/checks: module, BTF,
 * privilege). Return: 0, or 1 with the one-line error printed.
 */
int preflight(void);

/* CMD, started stopped: it execs at cmd_go(). */
struct fi_cmd {
	char **argv;
	pid_t pid;		/* -1: not running */
	int gate;		/* its exec waits for this to close */
	int report;		/* an exec failure comes back as an errno */
	bool pgroup;		/* its own process group, killed whole */
};

/*
 * Start @argv stopped (in its own process group with @pgroup). Return: 0,
 * or -1 with the error printed.
 */
int cmd_start(struct fi_cmd *c, char **argv, bool pgroup);
/* Let CMD exec. Return: 0, or the errno of its exec with it printed. */
int cmd_go(struct fi_cmd *c);
/* Kill CMD (its group) if it still runs and close what is open. */
void cmd_cleanup(struct fi_cmd *c);

/* "faultinject: loading the BPF programs: ..." for @err (an errno). */
void bpf_load_error(int err);
/* Wait for CMD; its exit status (128+N if signal N killed it). */
int wait_cmd(pid_t pid, const sigset_t *orig);
/* Without CMD: until SIGINT/SIGTERM or @duration seconds (0: no limit). */
void wait_stop(double duration, const sigset_t *orig);

#endif /* FI_RUN_H */
