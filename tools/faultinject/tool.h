/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What faultinject.c gives its subcommands (record.c, sweep.c); what they
 * all share is run.h's.
 */
#ifndef FAULTINJECT_TOOL_H
#define FAULTINJECT_TOOL_H

#include <stdio.h>

#include "rules.h"
#include "run.h"

struct faultinject_bpf;

/* faultinject -h's text. */
void fi_usage(FILE *f);

/* Does the module's struct @type (with @member) exist? -1: no BTF. */
int module_btf_has(const char *type, const char *member);

/* Load only the programs of the hook points that @rules use. */
void programs_select(struct faultinject_bpf *skel,
		     const struct fi_rules *rules);

void json_string(FILE *f, const char *s);

int cmd_sweep(int argc, char **argv);

#endif /* FAULTINJECT_TOOL_H */
