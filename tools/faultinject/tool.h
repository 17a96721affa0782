/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What faultinject's subcommands share (faultinject.c, sweep.c).
 */
#ifndef FAULTINJECT_TOOL_H
#define FAULTINJECT_TOOL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <sys/types.h>
#include <bpf/libbpf.h>

#include "checks.h"
#include "rules.h"

#define PROG "faultinject"

/* "faultinject: WHY (faultinject -h for help)" on stderr; returns 2. */
#define bad_usage(...) tool_bad_usage(PROG, NULL, __VA_ARGS__)

struct faultinject_bpf;

/* Does the module's struct @type (with @member) exist? -1: no BTF. */
int module_btf_has(const char *type, const char *member);

/* A number of seconds above 0 (decimals allowed), at most a year. */
bool parse_seconds(const char *s, double *v);

/* Load only the programs of the hook points that @rules use. */
void programs_select(struct faultinject_bpf *skel,
		     const struct fi_rules *rules);

/* libbpf's messages: warnings, and the rest with -v (@libbpf_verbose). */
extern bool libbpf_verbose;
int print_libbpf(enum libbpf_print_level level, const char *fmt, va_list ap);

/*
 * Fork CMD, stopped until *@gate_w is closed; an exec failure comes back
 * as an errno on *@report_r.
 */
pid_t spawn_stopped(char **cmd, int *gate_w, int *report_r);

void json_string(FILE *f, const char *s);

int cmd_sweep(int argc, char **argv);

#endif /* FAULTINJECT_TOOL_H */
