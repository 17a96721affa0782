/* SPDX-License-Identifier: GPL-2.0 */
/*
 * collect.h - iommutop's collector: loads and attaches iommutop.bpf.c and
 * reads its maps into snapshots.
 */
#ifndef IOMMUTOP_COLLECT_H
#define IOMMUTOP_COLLECT_H

#include <stdbool.h>

#include "model.h"

enum attach_mode {
	ATTACH_AUTO,	/* tp_btf, else raw_tp */
	ATTACH_TP_BTF,
	ATTACH_RAW_TP,
};

struct collect_opts {
	enum attach_mode mode;
	bool filter_dev;	/* count only this device ... */
	__u32 dev;
	bool filter_pasid;	/* ... and/or this PASID */
	__u32 pasid;
	bool verbose;		/* libbpf's messages on stderr */
};

struct collector;

/*
 * Load and attach. On failure, NULL with errno set and a message (with
 * libbpf's own lines) in @err.
 */
struct collector *collector_open(const struct collect_opts *o, char *err,
				 size_t err_len);
void collector_close(struct collector *c);
/* "tp_btf" or "raw_tp": what collector_open() settled on. */
const char *collector_mode(const struct collector *c);
/* How many programs collector_open() attached. */
int collector_programs(const struct collector *c);
/* Read every map into @s (freed first); 0 or -errno. */
int collector_snapshot(struct collector *c, struct snapshot *s);

#endif /* IOMMUTOP_COLLECT_H */
