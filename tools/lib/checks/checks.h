/* SPDX-License-Identifier: GPL-2.0 */
/*
 * checks.h - what the BPF tools (iommutop, faultinject) need from the
 * machine, checked before loading anything so that each missing piece gets
 * an actionable message, and how they report bad usage. Linked into each
 * tool as $(O)/lib/libchecks.a (tools/lib/checks/Makefile).
 */
#ifndef TOOLS_CHECKS_H
#define TOOLS_CHECKS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

/* BPF CO-RE on a module's types needs module BTF: Linux 5.11. */
#define BPF_TOOL_MIN_KERNEL_MAJOR 5
#define BPF_TOOL_MIN_KERNEL_MINOR 11

/*
 * Is the kernel release @release ("6.1.0-56-amd64") at least major.minor?
 * An unparsable release is given the benefit of the doubt.
 */
bool kernel_release_ok(const char *release, int major, int minor);

/*
 * Check, in this order, that the module is loaded, the kernel (release
 * @release, uname -r) is recent enough, the kernel and the module have
 * BTF, and the process may load BPF programs against them. @tool names the
 * tool in the messages; @sysfs is the sysfs mount ("/sys"; tests point
 * elsewhere). Return: 0, or 1 with what to do in @msg.
 */
int check_environment(const char *tool, const char *sysfs,
		      const char *release, char *msg, size_t len);

/*
 * Bad usage: "TOOL: WHY" (@fmt) on stderr, then @usage(stderr), or without
 * @usage " (TOOL -h for help)". Return: 2, the tools' exit status for bad
 * usage.
 */
int __attribute__((format(printf, 3, 4)))
tool_bad_usage(const char *tool, void (*usage)(FILE *f), const char *fmt, ...);

#endif /* TOOLS_CHECKS_H */
