/* SPDX-License-Identifier: GPL-2.0 */
/*
 * run.h - what faultinject's subcommands share (run.c): usage errors,
 * option values, libbpf's messages, signals and CMD.
 */
#ifndef FI_RUN_H
#define FI_RUN_H

#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
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

/*
 * Start CMD stopped: it execs once *@gate_w is closed; an exec failure
 * comes back as an errno on *@report_r. Return: its pid, or -1.
 */
pid_t spawn_stopped(char **cmd, int *gate_w, int *report_r);
/* Wait for CMD; its exit status (128+N if signal N killed it). */
int wait_cmd(pid_t pid, const sigset_t *orig);
/* Without CMD: until SIGINT/SIGTERM or @duration seconds (0: no limit). */
void wait_stop(double duration, const sigset_t *orig);

#endif /* FI_RUN_H */
