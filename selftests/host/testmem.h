/* SPDX-License-Identifier: GPL-2.0 */
/*
 * testmem.h - guest memory for the host tests: an array of 4 KiB frames
 * indexed by ofn, plus nest_mem_ops over it. Reads and cmpxchgs of a frame
 * at or above nr_frames abort() (the core must never ask for one); frames
 * marked in abort_map return -EIO (an external abort).
 */
#ifndef _NEST_TESTMEM_H
#define _NEST_TESTMEM_H

#include <stdio.h>
#include <stdlib.h>
#include "../../kernel/core/xlate.h"

struct testmem {
	u8 *mem;
	u64 nr_frames;
	u8 *abort_map;		/* NULL or one byte per frame */
	long tables;		/* stage-2 tables outstanding */
	u64 reads;
};

static inline void *tm_alloc_table(void *priv)
{
	struct testmem *tm = priv;
	void *t = aligned_alloc(4096, 4096);

	if (t) {
		memset(t, 0, 4096);
		tm->tables++;
	}
	return t;
}

static inline void tm_free_table(void *priv, void *t)
{
	struct testmem *tm = priv;

	tm->tables--;
	free(t);
}

static inline void tm_check(struct testmem *tm, u64 ofn, u32 off)
{
	if (ofn >= tm->nr_frames || off >= 4096 || (off & 7)) {
		fprintf(stderr, "core asked for ofn %llu offset %u (of %llu)\n",
			(unsigned long long)ofn, off,
			(unsigned long long)tm->nr_frames);
		abort();
	}
}

static inline int tm_read_u64(void *priv, u64 ofn, u32 off, u64 *val)
{
	struct testmem *tm = priv;

	tm_check(tm, ofn, off);
	tm->reads++;
	if (tm->abort_map && tm->abort_map[ofn])
		return -EIO;
	memcpy(val, tm->mem + ofn * 4096 + off, 8);
	return 0;
}

static inline int tm_cmpxchg_u64(void *priv, u64 ofn, u32 off, u64 old,
				 u64 new, u64 *cur)
{
	struct testmem *tm = priv;

	tm_check(tm, ofn, off);
	if (tm->abort_map && tm->abort_map[ofn])
		return -EIO;
	*cur = nest_cmpxchg64((u64 *)(tm->mem + ofn * 4096 + off), old, new);
	return 0;
}

static const struct nest_mem_ops tm_ops = {
	.alloc_table = tm_alloc_table,
	.free_table = tm_free_table,
	.read_u64 = tm_read_u64,
	.cmpxchg_u64 = tm_cmpxchg_u64,
};

#endif
