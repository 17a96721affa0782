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
 * XD(63); output address bits 47:12. Reserved, a translation fault
 * (PTE_FETCH with NEST_FAULT_F_RSVD) at the level of the present PTE
 * that has them: bits 51:48 (the GPA width is 48 bits, so they are not
 * address bits), PS at levels 5 and 4, bits 29:13 of a 1 GiB leaf, bits
 * 20:13 of a 2 MiB leaf. Bits 62:52, 11:8, 4:3 and D/PS/PAT at levels
 * where they mean nothing are ignored. A non-canonical IOVA faults
 * OUT-OF-RANGE at level 0.
 *
 * Permissions AND across levels: RW=0 anywhere denies writes (privileged
 * ones too, as with CR0.WP=1, unless NEST_S1_F_WPD: then privileged writes
 * ignore RW), US=0 anywhere denies non-privileged requests, XD=1
 * anywhere denies exec requests. Privileged requests may use user pages
 * (no SMAP/SMEP) and need NEST_S1_F_SRE in the descriptor (else ACCESS
 * fault). Stage 2 grants R (needed for reads, execs and every stage-1 table
 * fetch) and W (writes, and A/D updates of a stage-1 table). The result's
 * NEST_PERM_* hold all of it, descriptor included, and one function,
 * nest_perm_check(), decides a request against them: in the walk and on
 * a cache hit alike.
 *
 * Order of checks (the first failing one is reported): descriptor,
 * canonical IOVA, a privileged request without SRE, then per level from
 * the top down to the leaf: the fetch (stage-2 translation of the PTE's
 * GPA, then the PTE read: external abort), the entry checks (P, then
 * reserved bits: above the GPA width, then the page-size rules) and the
 * permission fold (R/W, U/S, XD; no check); then the permission check,
 * then the stage-2 translation of the output GPA, then the A/D update
 * (stage-2 W of every table page to update, then the writes).
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
 * NEST_WALK_F_NO_UPDATE answers "what would this translation do" without
 * doing it: every check is made and every fault reported as in a normal
 * walk (the A/D-update stage-2 PERMISSION fault included), but no memory
 * is written: no stage-1 A/D bit, no stage-2 dirty bit of a table page or
 * of the output. Only what the writes themselves could meet is left out:
 * an external abort of the cmpxchg, a restart (and its WALK_EABT bound).
 *
 * Trace: given a struct nest_walk_trace, the walk appends one step per
 * memory reference, in the order made: a successful walk ends with
 * trace->nr == res->mem_refs, a faulting one with the steps up to and
 * including the faulting PTE read (none for a fault at level 0; every
 * stage-1 read for a stage-1 PERMISSION fault; every read for a fault of
 * the A/D update). A restarted walk starts its trace again. Stage-1 steps
 * carry the PTE as read (user data, 0 if the read aborted); stage-2 steps
 * never carry a stage-2 PTE (kernel pointers, physical frames), only
 * NEST_STEP_F_* flags decoded from it (the dirty bit as it was before the
 * walk's own updates). The steps are rebuilt where the walk ends or
 * faults, not recorded in its loop: without a trace the walk pays one
 * predictable branch, plus one on each fault path.
 *
 * Locking: shared access to the stage-2 table (see s2.h); no lock for the
 * guest memory (user space may write it concurrently).
 */
#ifndef _NEST_CORE_WALK_H
#define _NEST_CORE_WALK_H

#include "s2.h"

#define NEST_S1_MAX_LEVELS	5
#define NEST_S1_AD_RETRIES	8

/*
 * walk_flags of nest_s1_walk_ext() and nest_s2_translate_ext().
 * NEST_WALK_F_NO_UPDATE: set no A/D bit and no stage-2 dirty bit.
 */
#define NEST_WALK_F_NO_UPDATE	BIT(0)
#define NEST_WALK_F_MASK	NEST_WALK_F_NO_UPDATE

/* struct nest_s1_desc.flags */
#define NEST_S1_F_AD		BIT(0)	/* set A/D bits in stage-1 PTEs */
#define NEST_S1_F_SRE		BIT(1)	/* privileged requests allowed */
/* privileged writes may write read-only pages (VT-d WPE = 0, CR0.WP = 0) */
#define NEST_S1_F_WPD		BIT(2)
#define NEST_S1_F_MASK		(NEST_S1_F_AD | NEST_S1_F_SRE | NEST_S1_F_WPD)

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
 * @perm: NEST_PERM_* granted by the descriptor and both stages together
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

#define NEST_WALK_TRACE_MAX	32

/* The longest walk: every stage-1 level and the output through stage 2. */
static_assert(NEST_WALK_TRACE_MAX >=
	      NEST_S1_MAX_LEVELS * (NEST_S2_LEVELS + 1) + NEST_S2_LEVELS);

/* struct nest_walk_step.flags */
#define NEST_STEP_F_PRESENT	BIT(0)	/* stage 2: the PTE is valid */
#define NEST_STEP_F_LEAF	BIT(1)	/* stage 2: a leaf */
#define NEST_STEP_F_READ	BIT(2)	/* stage 2 leaf: NEST_PROT_READ */
#define NEST_STEP_F_WRITE	BIT(3)	/* stage 2 leaf: NEST_PROT_WRITE */
#define NEST_STEP_F_DIRTY	BIT(4)	/* stage 2 leaf: dirty bit as read */

/**
 * struct nest_walk_step - one memory reference of a walk
 * @addr: stage 1: GPA of the PTE read; stage 2: the GPA being translated
 * @pte: stage 1: the PTE as read (0 if the read aborted); stage 2: always 0
 * @stage: 1 or 2
 * @level: level of the PTE read in its stage
 * @s1_level: stage 1: @level; stage 2: the stage-1 level whose table is
 *	being fetched, 0 for the output GPA (and for a stage-2-only walk)
 * @flags: stage 2: NEST_STEP_F_*; stage 1: 0
 */
struct nest_walk_step {
	u64 addr;
	u64 pte;
	u8 stage;
	u8 level;
	u8 s1_level;
	u8 flags;
};

/**
 * struct nest_walk_trace - the memory references of one walk, in order
 * @nr: steps used in @step
 * @step: the steps; entries from @nr on are not written
 */
struct nest_walk_trace {
	u32 nr;
	struct nest_walk_step step[NEST_WALK_TRACE_MAX];
};

int nest_s1_desc_check(const struct nest_s1_desc *desc,
		       struct nest_fault *fault);
int nest_s1_walk(struct nest_s2 *s2, const struct nest_s1_desc *desc,
		 u64 iova, u32 access, struct nest_walk_res *res,
		 struct nest_fault *fault);
int nest_s2_translate(struct nest_s2 *s2, u64 iova, u32 access,
		      struct nest_walk_res *res, struct nest_fault *fault);
int nest_s1_walk_ext(struct nest_s2 *s2, const struct nest_s1_desc *desc,
		     u64 iova, u32 access, u32 walk_flags,
		     struct nest_walk_res *res, struct nest_fault *fault,
		     struct nest_walk_trace *trace);
int nest_s2_translate_ext(struct nest_s2 *s2, u64 iova, u32 access,
			  u32 walk_flags, struct nest_walk_res *res,
			  struct nest_fault *fault,
			  struct nest_walk_trace *trace);

#endif /* _NEST_CORE_WALK_H */
