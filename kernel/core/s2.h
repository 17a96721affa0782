/* SPDX-License-Identifier: GPL-2.0 */
/*
 * s2.h - the driver-owned stage-2 page table.
 *
 * Four levels (4 = root .. 1), 48-bit GPA input, 9 index bits per level.
 * Leaves at level 1 (4 KiB), 2 (2 MiB) and 3 (1 GiB). A leaf maps a GPA
 * range to a run of contiguous ofns with NEST_PROT_* and has a dirty bit
 * that a DMA write through it sets.
 *
 * Table pages come from ops->alloc_table() and are indexed directly by the
 * core; a table PTE stores the table's pointer (4 KiB aligned, so the low
 * 12 bits hold flags), a leaf PTE stores ofn << 12.
 *
 * Unmap policy: unmap never splits a huge leaf. A range that starts or
 * ends inside a 2 MiB / 1 GiB leaf is rejected with -EINVAL before anything
 * changes (the IOAS superset rule: callers unmap whole mappings). Holes
 * inside the range are fine.
 *
 * Tables: every table but the root holds at least one valid entry. An
 * unmap frees each table it leaves empty, and so does a failed map for
 * the tables it allocated, so what an unmapped mapping leaves behind never
 * keeps a later map from using a huge leaf there (a map only ever fills
 * an invalid entry: a table and a leaf never replace each other in place).
 *
 * Dirty tracking granularity is the leaf size: a write anywhere in a 2 MiB
 * leaf marks all of its 512 pages. Map with allow_huge = false to get
 * exactly the 4 KiB pages written.
 *
 * Locking (by the caller): nest_s2_map(), nest_s2_unmap() and
 * nest_s2_destroy() need exclusive access (they free tables walkers may be
 * reading). nest_s2_walk() and nest_s2_read_dirty() may run concurrently
 * with each other (shared side); the dirty bit is set and cleared with
 * nest_cmpxchg64() so no write is lost. After clearing dirty bits the
 * caller must drop the range from its IOTLBs (nest_tlb_drop_s2()), or
 * writes through cached translations would not mark the page again.
 */
#ifndef _NEST_CORE_S2_H
#define _NEST_CORE_S2_H

#include "core.h"

#define NEST_S2_LEVELS		4

/**
 * struct nest_s2 - a stage-2 page table
 * @ops: memory services (alloc_table and free_table are used here)
 * @priv: passed to every @ops call
 * @root: the level-4 table
 * @nr_tables: table pages currently allocated, root included
 */
struct nest_s2 {
	const struct nest_mem_ops *ops;
	void *priv;
	u64 *root;
	u64 nr_tables;
};

/**
 * struct nest_s2_walk_res - result of a stage-2 walk
 * @ofn: the frame of the 4 KiB page containing the GPA
 * @prot: NEST_PROT_* of the leaf
 * @level: level of the leaf (1, 2 or 3)
 * @page_shift: log2 of the leaf size (12, 21 or 30)
 * @mem_refs: stage-2 PTEs read
 * @dirty: the leaf's dirty bit as read (before this walk set it)
 */
struct nest_s2_walk_res {
	u64 ofn;
	u32 prot;
	u8 level;
	u8 page_shift;
	u8 mem_refs;
	bool dirty;
};

int nest_s2_init(struct nest_s2 *s2, const struct nest_mem_ops *ops,
		 void *priv);
void nest_s2_destroy(struct nest_s2 *s2);
int nest_s2_map(struct nest_s2 *s2, u64 gpa, u64 length, u64 ofn, u32 prot,
		bool allow_huge);
int nest_s2_unmap(struct nest_s2 *s2, u64 gpa, u64 length, u64 *unmapped);
int nest_s2_walk(struct nest_s2 *s2, u64 gpa, u32 access,
		 struct nest_s2_walk_res *res, struct nest_fault *fault);
int nest_s2_read_dirty(struct nest_s2 *s2, u64 gpa, u64 length, u64 *bitmap,
		       bool clear, u64 *nr_dirty);

/* For walk.c: a walk that returns the leaf PTE and does not set dirty. */
int nest_s2_lookup(struct nest_s2 *s2, u64 gpa, u32 access,
		   struct nest_s2_walk_res *res, struct nest_fault *fault,
		   u64 **leafp);
void nest_s2_pte_set_dirty(u64 *ptep);

#endif /* _NEST_CORE_S2_H */
