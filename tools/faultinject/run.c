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
