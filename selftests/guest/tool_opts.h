/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Option parsing shared by the guest workloads (maploop, dmaloop,
 * pri_bench): one number syntax and one way to reject a bad option.
 */
#ifndef NEST_TOOL_OPTS_H
#define NEST_TOOL_OPTS_H

#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

/* Parse a whole decimal or 0x-hex number; false if @s is anything else. */
static inline bool tool_parse_u64(const char *s, unsigned long long *out)
{
	char *end;

	if (!isdigit((unsigned char)*s))	/* no sign, no blanks */
		return false;
	errno = 0;
	*out = strtoull(s, &end, 0);
	return !errno && !*end;
}

/*
 * Say "@prog: " and why (@fmt with @arg) on stderr, then the usage.
 * Return: 2, the exit status for bad options.
 */
static inline int tool_bad_option(const char *prog, void (*usage)(FILE *),
				  const char *fmt, const char *arg)
{
	fprintf(stderr, "%s: ", prog);
	fprintf(stderr, fmt, arg);
	fprintf(stderr, "\n");
	usage(stderr);
	return 2;
}

#endif /* NEST_TOOL_OPTS_H */
