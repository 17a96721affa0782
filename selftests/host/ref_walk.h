/* SPDX-License-Identifier: GPL-2.0 */
/*
 * ref_walk.h - an independent reference for the nested walk: no caches, no
 * page-table structure for stage 2 (a flat per-page model), plain recursion
 * over a byte array. Written from the spec in walk.h, not from walk.c.
 */
#ifndef _NEST_REF_WALK_H
#define _NEST_REF_WALK_H

#include "../../kernel/core/core.h"

/* One GPA page of the stage-2 model. */
struct ref_s2page {
	bool mapped;
	bool r, w;
	u8 level;	/* leaf level in the real table: 1 (4K) or 2 (2M) */
	u64 ofn;
};

struct ref_ctx {
	u8 *mem;		/* nr_frames * 4096 bytes */
	u64 nr_frames;
	const u8 *abort_map;	/* or NULL */
	struct ref_s2page *s2;	/* nr_gpa_pages entries, GPA 0.. */
	u64 nr_gpa_pages;
	u8 *dirty;		/* per GPA page */
};

struct ref_desc {
	u64 root;
	u32 levels;
	u32 flags;	/* bit 0 AD, bit 1 SRE, bit 2 WPD */
};

/* One stage-1 PTE the reference read. */
struct ref_pte {
	u64 gpa;
	u64 pte;	/* 0 if the read aborted */
	u32 level;
};

struct ref_out {
	bool ok;
	/* success */
	u64 ofn;
	u32 perm;
	u32 shift;
	u32 refs;
	/* fault */
	u32 reason;
	u32 stage;
	u32 level;
	u32 s1_level;
	u32 flags;
	u64 gpa;
	/* both: every stage-1 PTE read, top-down, the faulting one last */
	u32 nr_ptes;
	struct ref_pte ptes[5];
};

void ref_walk(struct ref_ctx *c, const struct ref_desc *d, u64 iova,
	      u32 access, struct ref_out *o);

#endif
