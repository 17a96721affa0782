/* SPDX-License-Identifier: GPL-2.0 */
/*
 * xlate.h - one translation: the device TLB, the IOTLB, then a walk.
 *
 * A hit that does not allow the access drops that entry and the next level
 * is tried (see cache.h); a walk's result fills both TLBs.
 */
#ifndef _NEST_CORE_XLATE_H
#define _NEST_CORE_XLATE_H

#include "cache.h"

/* struct nest_xlate_res.source */
#define NEST_XLATE_WALK		0
#define NEST_XLATE_IOTLB	1
#define NEST_XLATE_DEVTLB	2

/**
 * struct nest_xlate - what one translation goes through
 * @iotlb: the IOTLB (required)
 * @devtlb: the device TLB of an ATS device, or NULL
 * @s2: the stage-2 table (the nest parent, or the paging HWPT's own)
 * @s1: the stage-1 descriptor, NULL for a paging (stage-2 only) HWPT
 * @hwpt_id: id of the HWPT the device (PASID) is attached to
 * @s2_id: id of the HWPT owning @s2
 * @walk_flags: NEST_WALK_F_* for the walk (0: a normal translation).
 *	NEST_WALK_F_NO_UPDATE makes the translation a pure query: no cache
 *	is looked up or filled (a walk that set no A/D or dirty bit must not
 *	be cached, and the query must not disturb LRU, statistics or
 *	entries) and the walk writes nothing, so the result is always a walk
 * @trace: NULL, or filled by the walk (nest_s1_walk_ext()); nr = 0 on a
 *	cache hit
 */
struct nest_xlate {
	struct nest_tlb *iotlb;
	struct nest_tlb *devtlb;
	struct nest_s2 *s2;
	const struct nest_s1_desc *s1;
	u32 hwpt_id;
	u32 s2_id;
	u32 walk_flags;
	struct nest_walk_trace *trace;
};

/**
 * struct nest_xlate_res - result of nest_translate()
 * @ofn: frame of the 4 KiB page containing the IOVA
 * @gpa: the output GPA of the IOVA (stage-2 input)
 * @perm: NEST_PERM_* of the translation, for requests of either privilege
 *	(nest_perm_access() says what one may do)
 * @source: NEST_XLATE_WALK, _IOTLB or _DEVTLB
 * @page_shift: log2 of the translation size
 * @mem_refs: PTE reads (0 on a hit)
 * @s1_levels: stage-1 levels walked (0 on a hit or without stage 1)
 * @s2_level: level of the stage-2 leaf of the output (0 on a hit); a
 *	stage-2-only walk read NEST_S2_LEVELS - @s2_level + 1 levels
 */
struct nest_xlate_res {
	u64 ofn;
	u64 gpa;
	u8 perm;
	u8 source;
	u8 page_shift;
	u8 mem_refs;
	u8 s1_levels;
	u8 s2_level;
};

/* The levels a walk that gave @res read (not for a hit). */
static inline u32 nest_xlate_levels(const struct nest_xlate_res *res)
{
	return res->s1_levels ?: NEST_S2_LEVELS + 1 - res->s2_level;
}

int nest_translate(const struct nest_xlate *x, u32 pasid, u64 iova,
		   u32 access, struct nest_xlate_res *res,
		   struct nest_fault *fault);
/* nest_translate()'s two parts, for a caller that times the walk. */
bool nest_xlate_lookup(const struct nest_xlate *x, u32 pasid, u64 iova,
		       u32 access, struct nest_xlate_res *res);
int nest_xlate_walk(const struct nest_xlate *x, u32 pasid, u64 iova,
		    u32 access, struct nest_xlate_res *res,
		    struct nest_fault *fault);

#endif /* _NEST_CORE_XLATE_H */
