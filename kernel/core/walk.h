/* SPDX-License-Identifier: GPL-2.0 */
/*
 * walk.h - the stage-1 walker (x86-64 / VT-d first-stage format) and the
 * nested (two-dimensional) walk through stage 2.
 *
 * Stage-1 tables live in guest memory, owned by user space. Every stage-1
 * table pointer (the root and each next-level pointer) and the final output
 * GPA are translated through stage 2; the PTE is then read with
 * ops->read_u64(ofn, offset). Nothing guest-provided is dereferenced.
 *
 * Format: levels 5 (57-bit IOVA) or 4 (48-bit IOVA) down to 1. Bits P(0),
 * RW(1), US(2), A(5), D(6), PS(7) at levels 3 (1 GiB) and 2 (2 MiB),
 * XD(63); output address bits 47:12. The GPA width is 48 bits, so bits
 * 51:48 of a present PTE are reserved (fault OUT-OF-RANGE). Also reserved
 * (fault PTE_FETCH with NEST_FAULT_F_RSVD): PS at levels 5 and 4, bits
 * 29:13 of a 1 GiB leaf, bits 20:13 of a 2 MiB leaf. Bits 62:52, 11:8, 4:3
 * and D/PS/PAT at levels where they mean nothing are ignored. A
 * non-canonical IOVA faults OUT-OF-RANGE at level 0.
 *
 * Permissions AND across levels: RW=0 anywhere denies writes (always, as
 * with CR0.WP=1), US=0 anywhere denies non-privileged requests, XD=1
 * anywhere denies exec requests. Privileged requests may use user pages
 * (no SMAP/SMEP) and need NEST_S1_F_SRE in the descriptor (else ACCESS
 * fault). Stage 2 grants R (needed for reads, execs and every stage-1 table
 * fetch) and W (writes, and A/D updates of a stage-1 table).
 *
 * Order of checks (the first failing one is reported): descriptor,
 * canonical IOVA, then per level from the top: stage-2 translation of the
 * PTE's GPA, the PTE read (external abort), P, bits 51:48, other reserved
 * bits; then the permission check, then the stage-2 translation of the
 * output GPA, then the A/D update.
 *
 * A/D: with NEST_S1_F_AD, only once the whole translation succeeded, A is
 * set on every PTE walked (top-down) and D on the leaf for a write, each by
 * ops->cmpxchg_u64() so concurrent user-space writes are respected. A PTE
 * that needs an update needs stage-2 W on its table page (else a stage-2
 * PERMISSION fault with NEST_FAULT_F_AD_UPDATE, checked for all levels
 * before any update) and marks that page dirty in stage 2. If a PTE changed
 * under the walk the whole walk restarts, at most NEST_S1_AD_RETRIES times
 * (then WALK_EABT). A faulting walk updates nothing.
 *
 * A successful write sets the dirty bit of the stage-2 leaf of the output.
 *
 * Memory references: one per stage-2 PTE read and one per stage-1 PTE
 * read; a 4-level-over-4-level walk with 4 KiB pages makes
 * 4 * (4 + 1) + 4 = 24 = (4 + 1) * (4 + 1) - 1.
 *
 * Locking: shared access to the stage-2 table (see s2.h); no lock for the
 * guest memory (user space may write it concurrently).
 */
#ifndef _NEST_CORE_WALK_H
#define _NEST_CORE_WALK_H

#include "s2.h"

#define NEST_S1_MAX_LEVELS	5
#define NEST_S1_AD_RETRIES	8

/* struct nest_s1_desc.flags */
#define NEST_S1_F_AD		BIT(0)	/* set A/D bits in stage-1 PTEs */
#define NEST_S1_F_SRE		BIT(1)	/* privileged requests allowed */
#define NEST_S1_F_MASK		(NEST_S1_F_AD | NEST_S1_F_SRE)

/**
 * struct nest_s1_desc - a stage-1 descriptor (what a PASID entry holds)
 * @root_gpa: GPA of the top-level table, 4 KiB aligned, below 2^48
 * @levels: 4 or 5
 * @flags: NEST_S1_F_*
 */
struct nest_s1_desc {
	u64 root_gpa;
	u32 levels;
	u32 flags;
};

/**
 * struct nest_walk_res - result of a successful translation walk
 * @ofn: frame of the 4 KiB page containing the IOVA
 * @gpa: the output GPA of the IOVA (stage-2 input)
 * @page_shift: log2 of the size of the combined translation: the smaller
 *	of the stage-1 and stage-2 page sizes
 * @perm: NEST_PERM_* granted by both stages together
 * @s1_levels: stage-1 levels walked (0 without stage 1)
 * @s2_level: level of the stage-2 leaf of the output
 * @mem_refs: stage-1 plus stage-2 PTE reads
 * @nr_tables: entries used in @table_gpa
 * @table_gpa: GPA of each stage-1 table page used, top-down; a stage-2
 *	unmap of any of them must drop the cached translation
 */
struct nest_walk_res {
	u64 ofn;
	u64 gpa;
	u8 page_shift;
	u8 perm;
	u8 s1_levels;
	u8 s2_level;
	u8 mem_refs;
	u8 nr_tables;
	u64 table_gpa[NEST_S1_MAX_LEVELS];
};

int nest_s1_desc_check(const struct nest_s1_desc *desc,
		       struct nest_fault *fault);
int nest_s1_walk(struct nest_s2 *s2, const struct nest_s1_desc *desc,
		     u64 iova, u32 access, struct nest_walk_res *res,
		     struct nest_fault *fault);
int nest_s2_translate(struct nest_s2 *s2, u64 iova, u32 access,
		      struct nest_walk_res *res, struct nest_fault *fault);

#endif /* _NEST_CORE_WALK_H */
