/* SPDX-License-Identifier: GPL-2.0 */
/* record.h - the record and replay subcommands (record.c). */
#ifndef FI_RECORD_CMD_H
#define FI_RECORD_CMD_H

#include <stdio.h>

int cmd_record(int argc, char **argv);
int cmd_replay(int argc, char **argv);

#endif /* FI_RECORD_CMD_H */
