// SPDX-License-Identifier: GPL-2.0
/*
 * run.c - what faultinject's subcommands share around their BPF programs:
 * usage errors, option values, libbpf's messages, signals, and running
 * CMD (started stopped until the programs are attached, waited for, its
 * exit status passed on).
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/select.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <bpf/libbpf.h>

#include "checks.h"
#include "run.h"

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

int fi_opts_parse(int argc, char **argv, const struct fi_optspec *spec,
		  void *ctx, struct fi_args *a)
{
	char shortopts[32];
	int c, i, rc;

	snprintf(shortopts, sizeof(shortopts), ":%sjvh", spec->shortopts);
	/* Options before "--", CMD after: getopt must not take CMD's. */
	a->cmd = NULL;
	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--")) {
			if (i + 1 == argc && !spec->empty_cmd_ok)
				return bad_usage("%s: nothing after --: give CMD",
						 spec->sub);
			a->cmd = argv + i + 1;
			argc = i;
			break;
		}
	}
	opterr = 0;
	while ((c = getopt_long(argc, argv, shortopts, spec->longopts,
				NULL)) != -1) {
		switch (c) {
		case 'j':
			a->json = true;
			break;
		case 'v':
			libbpf_verbose = true;
			break;
		case 'h':
			spec->help(stdout);
			exit(0);
		case ':':
			if (optopt > 0 && optopt < 256)
				return bad_usage("%s: option -%c needs an argument",
						 spec->sub, optopt);
			return bad_usage("%s: option %s needs an argument",
					 spec->sub, argv[optind - 1]);
		case '?':
			if (optopt > 0 && optopt < 256)
				return bad_usage("%s: unknown option -%c",
						 spec->sub, optopt);
			return bad_usage("%s: unknown option %s", spec->sub,
					 argv[optind - 1]);
		default:
			rc = spec->opt(c, optarg, ctx);
			if (rc)
				return rc;
		}
	}
	a->operands = argv + optind;
	a->nr_operands = argc - optind;
	return 0;
}

bool libbpf_verbose;

int fi_libbpf_print(enum libbpf_print_level level, const char *fmt,
			va_list ap)
{
	/* libbpf's warnings say why a load failed; -v adds the rest. */
	if (!libbpf_verbose && level != LIBBPF_WARN)
		return 0;
	return vfprintf(stderr, fmt, ap);
}

volatile sig_atomic_t got_stop;
volatile pid_t cmd_pid;

/* With CMD, a signal to faultinject goes on to CMD, whose end stops it. */
void on_signal(int sig)
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
static pid_t spawn_stopped(char **cmd, int *gate_w, int *report_r)
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

int cmd_start(struct fi_cmd *c, char **argv, bool pgroup)
{
	c->argv = argv;
	c->pgroup = pgroup;
	c->pid = spawn_stopped(argv, &c->gate, &c->report);
	if (c->pid < 0) {
		c->gate = c->report = -1;
		fprintf(stderr, PROG ": cannot start %s: %s\n", argv[0],
			strerror(errno));
		return -1;
	}
	/* Before it runs: a hung CMD is killed with all it started. */
	if (pgroup)
		setpgid(c->pid, c->pid);
	return 0;
}

int cmd_go(struct fi_cmd *c)
{
	int e;

	close(c->gate);
	c->gate = -1;
	if (read(c->report, &e, sizeof(e)) != sizeof(e))
		return 0;
	fprintf(stderr, PROG ": cannot run %s: %s\n", c->argv[0], strerror(e));
	return e;
}

void cmd_cleanup(struct fi_cmd *c)
{
	if (c->pid > 0) {
		kill(c->pgroup ? -c->pid : c->pid, SIGKILL);
		waitpid(c->pid, NULL, 0);
		c->pid = -1;
	}
	if (c->gate >= 0)
		close(c->gate);
	if (c->report >= 0)
		close(c->report);
	c->gate = c->report = -1;
}

void bpf_load_error(int err)
{
	fprintf(stderr, PROG ": loading the BPF programs: %s%s\n",
		strerror(err), libbpf_verbose ? "" :
		" (-v shows all of libbpf's messages)");
}

/* Wait for CMD (signals to faultinject go on to it); its exit status. */
int wait_cmd(pid_t pid, const sigset_t *orig)
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
void wait_stop(double duration, const sigset_t *orig)
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

sigset_t signals_hold(sigset_t *orig)
{
	struct sigaction sa = { .sa_handler = on_signal };
	sigset_t block;

	sigemptyset(&block);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGHUP);
	sigprocmask(SIG_BLOCK, &block, orig);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	return block;
}

int preflight(void)
{
	struct utsname uts = {};
	char msg[1024];

	uname(&uts);
	if (check_environment(PROG, "/sys", uts.release, msg, sizeof(msg))) {
		fprintf(stderr, PROG ": %s\n", msg);
		return 1;
	}
	return 0;
}
