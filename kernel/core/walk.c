// SPDX-License-Identifier: GPL-2.0
/*
 * walk.c - the nested stage-1 walk (format, check order, A/D rules and
 * memory reference counting are defined in walk.h).
 *
 * Terms: "level" counts down from the top (desc->levels) to 1; the PTE of
 * level L is at table_gpa(L) + s1_index(iova, L) * 8, its GPA is "pte_gpa".
 */
#include "walk.h"

#define S1_P		BIT_ULL(0)
#define S1_RW		BIT_ULL(1)
#define S1_US		BIT_ULL(2)
#define S1_A		BIT_ULL(5)
#define S1_D		BIT_ULL(6)
#define S1_PS		BIT_ULL(7)
#define S1_XD		BIT_ULL(63)
#define S1_ADDR		GENMASK_ULL(NEST_GPA_BITS - 1, NEST_PAGE_SHIFT)

/* desc->levels is the top level: 4 (48-bit IOVA) or 5 (57-bit IOVA) */
#define S1_TOP_4LVL	4
#define S1_TOP_5LVL	5
static_assert(S1_TOP_5LVL == NEST_S1_MAX_LEVELS);

/* The leaf levels: a 4 KiB page, or with PS a 2 MiB or 1 GiB page. */
#define S1_LEVEL_4K	1
#define S1_LEVEL_2M	2
#define S1_LEVEL_1G	3

/* A table is one page of 512 PTEs: each level translates 9 IOVA bits. */
#define S1_LEVEL_BITS	9
#define S1_INDEX_MASK	(BIT_ULL(S1_LEVEL_BITS) - 1)
/* log2 of the size a PTE of @level maps: 12, 21, 30, 39, 48 */
#define S1_LEVEL_SHIFT(level) \
	(NEST_PAGE_SHIFT + S1_LEVEL_BITS * ((level) - S1_LEVEL_4K))

/* The x86 address field ends at bit 51; GPAs have 48 bits (walk.h). */
#define S1_X86_ADDR_BITS	52
#define S1_RSVD_ADDR	GENMASK_ULL(S1_X86_ADDR_BITS - 1, NEST_GPA_BITS)
/* A large leaf: PAT at bit 12, then reserved bits up to its address. */
#define S1_RSVD_LARGE(level) \
	GENMASK_ULL(S1_LEVEL_SHIFT(level) - 1, NEST_PAGE_SHIFT + 1)
#define S1_RSVD_1G	S1_RSVD_LARGE(S1_LEVEL_1G)
#define S1_RSVD_2M	S1_RSVD_LARGE(S1_LEVEL_2M)

/* What the walk remembers of one level, for the A/D update. */
struct s1_level {
	u64 pte;
	u64 pte_gpa;
	u64 ofn;	/* frame holding the PTE */
	u64 *s2_leaf;	/* stage-2 leaf of that frame */
	u32 s2_prot;
	u8 s2_level;	/* level of that leaf */
	u64 set;	/* A/D bits to set */
};

static void s1_fault(struct nest_fault *fault, u32 reason, int level,
		     u64 iova, u32 access)
{
	nest_fault_init(fault, 1, reason, level, iova, access);
}

/* A fault of the PTE of @l itself: the fault carries the PTE's GPA. */
static void s1_pte_fault(struct nest_fault *fault, u32 reason,
			 const struct s1_level *l, int level, u64 iova,
			 u32 access)
{
	s1_fault(fault, reason, level, iova, access);
	fault->gpa = l->pte_gpa;
	fault->flags |= NEST_FAULT_F_GPA_VALID;
}

/* Turn a stage-2 fault met while walking stage 1 into the nested fault. */
static void s1_s2_fault(struct nest_fault *fault, int s1_level, u64 iova,
			u32 access, u8 flags)
{
	fault->s1_level = s1_level;
	fault->flags |= flags;
	fault->access = access;
	fault->addr = iova;
}

/*
 * Trace steps. The walk does not record them as it goes, which would put
 * a branch after every read of its loop: it rebuilds them once, where it
 * faults or once the output is translated (before any A/D or dirty bit is
 * written, so the bits reported are those read), from what it keeps of
 * each level. NEST_WALK_TRACE_MAX covers the longest walk (walk.h); the
 * bound check only keeps a broken invariant from writing past the array.
 */
static struct nest_walk_step *trace_step(struct nest_walk_trace *trace)
{
	struct nest_walk_step *step;

	if (trace->nr >= NEST_WALK_TRACE_MAX)
		return NULL;
	step = &trace->step[trace->nr++];
	/* padding too: a caller may copy the steps out as they are */
	memset(step, 0, sizeof(*step));
	return step;
}

/*
 * The stage-2 steps of translating @gpa, from a second lookup that asks
 * for no access: it changes nothing and, the caller's shared access to
 * @s2 keeping the table as it was, reads the PTEs the walk's lookup read
 * and stops at the same leaf or invalid PTE. The PTE values are not
 * exported, only what they say.
 */
static void trace_s2(struct nest_walk_trace *trace, struct nest_s2 *s2,
		     u64 gpa, int s1_level)
{
	struct nest_s2_walk_res leaf;
	struct nest_fault fault;
	u8 last = 0;
	int i, n = 0;

	if (!nest_s2_lookup(s2, gpa, 0, &leaf, &fault, NULL)) {
		n = leaf.mem_refs;
		last = NEST_STEP_F_PRESENT | NEST_STEP_F_LEAF |
		       (leaf.prot & NEST_PROT_READ ? NEST_STEP_F_READ : 0) |
		       (leaf.prot & NEST_PROT_WRITE ? NEST_STEP_F_WRITE : 0) |
		       (leaf.dirty ? NEST_STEP_F_DIRTY : 0);
	} else if (fault.reason == NEST_FAULT_REASON_PTE_FETCH) {
		n = NEST_S2_LEVELS - fault.level + 1;
	}	/* else out of range: nothing read */
	n = min_t(int, n, NEST_S2_LEVELS);
	for (i = 0; i < n; i++) {
		struct nest_walk_step *step = trace_step(trace);

		if (!step)
			return;
		step->addr = gpa;
		step->stage = 2;
		step->level = NEST_S2_LEVELS - i;
		step->s1_level = s1_level;
		step->flags = i < n - 1 ? NEST_STEP_F_PRESENT : last;
	}
}

/*
 * Start the trace again with stage-1 levels @top down to @last of @lv:
 * for each, the stage-2 steps of its PTE's GPA, then the PTE as read (0
 * if @aborted: the read of @last failed).
 */
static void trace_s1(struct nest_walk_trace *trace, struct nest_s2 *s2,
		     const struct s1_level *lv, int top, int last,
		     bool aborted)
{
	int level;

	trace->nr = 0;
	for (level = top; level >= last; level--) {
		const struct s1_level *l = &lv[level];
		struct nest_walk_step *step;

		trace_s2(trace, s2, l->pte_gpa, level);
		step = trace_step(trace);
		if (!step)
			return;
		step->addr = l->pte_gpa;
		step->pte = aborted && level == last ? 0 : l->pte;
		step->stage = 1;
		step->level = level;
		step->s1_level = level;
	}
}

/*
 * The trace of a walk that faulted at stage-1 @level before its output:
 * the levels above, then those of @level's stage-2 steps made before a
 * stage-2 fault of its table fetch, or all of them and its PTE as read.
 */
static void trace_s1_fault(struct nest_walk_trace *trace, struct nest_s2 *s2,
			   const struct s1_level *lv, int top, int level,
			   const struct nest_fault *fault)
{
	if (fault->stage == 2) {
		trace_s1(trace, s2, lv, top, level + 1, false);
		trace_s2(trace, s2, lv[level].pte_gpa, level);
		return;
	}
	trace_s1(trace, s2, lv, top, level,
		 fault->reason == NEST_FAULT_REASON_WALK_EABT);
}

/**
 * nest_s1_desc_check() - validate a stage-1 descriptor
 * @desc: the descriptor
 * @fault: out, a BAD_PASID_ENTRY fault (stage 1, level 0) on -EFAULT
 *
 * Return: 0 or -EFAULT.
 */
int nest_s1_desc_check(const struct nest_s1_desc *desc,
		       struct nest_fault *fault)
{
	if ((desc->levels != S1_TOP_4LVL && desc->levels != S1_TOP_5LVL) ||
	    !IS_ALIGNED(desc->root_gpa, NEST_PAGE_SIZE) ||
	    desc->root_gpa >= BIT_ULL(NEST_GPA_BITS) ||
	    (desc->flags & ~(u32)NEST_S1_F_MASK)) {
		s1_fault(fault, NEST_FAULT_REASON_BAD_PASID_ENTRY, 0, 0, 0);
		return -EFAULT;
	}
	return 0;
}

/* What the descriptor allows before any PTE takes something away. */
static inline u32 s1_desc_perm(const struct nest_s1_desc *desc)
{
	return NEST_PERM_READ | NEST_PERM_WRITE | NEST_PERM_EXEC |
	       NEST_PERM_USER |
	       (desc->flags & NEST_S1_F_SRE ?
		NEST_PERM_PRIV | NEST_PERM_PRIV_WRITE : 0);
}

/* Canonical: the bits above the IOVA width (48 or 57) copy its top bit. */
static bool s1_canonical(u64 iova, unsigned int levels)
{
	unsigned int bits = S1_LEVEL_SHIFT(levels) + S1_LEVEL_BITS;

	return (u64)((s64)(iova << (64 - bits)) >> (64 - bits)) == iova;
}

/* The index of @iova in a table of @level. */
static inline u64 s1_index(u64 iova, int level)
{
	return (iova >> S1_LEVEL_SHIFT(level)) & S1_INDEX_MASK;
}

/* Byte offset of the PTE of @l in its page, for ops->*_u64(). */
static inline u32 s1_pte_offset(const struct s1_level *l)
{
	return l->pte_gpa & (NEST_PAGE_SIZE - 1);
}

/*
 * The fetch of the PTE of @level at @l->pte_gpa: the stage-2 translation
 * of that GPA (a stage-2 fault is the nested fault of @level's table
 * fetch), then the PTE read (a failure is an external abort). Fills in @l
 * and counts the memory references in *@refs.
 */
static inline int s1_pte_fetch(struct nest_s2 *s2, struct s1_level *l,
			       int level, u64 iova, u32 access, u8 *refs,
			       struct nest_fault *fault)
{
	struct nest_s2_walk_res s2r;
	int ret;

	ret = nest_s2_lookup(s2, l->pte_gpa, NEST_ACC_READ, &s2r, fault,
			     &l->s2_leaf);
	if (ret) {
		s1_s2_fault(fault, level, iova, access,
			    NEST_FAULT_F_TABLE_FETCH);
		return ret;
	}
	*refs += s2r.mem_refs + 1;
	l->ofn = s2r.ofn;
	l->s2_prot = s2r.prot;
	l->s2_level = s2r.level;
	if (s2->ops->read_u64(s2->priv, l->ofn, s1_pte_offset(l), &l->pte)) {
		s1_pte_fault(fault, NEST_FAULT_REASON_WALK_EABT, l, level,
			     iova, access);
		return -EFAULT;
	}
	return 0;
}

/*
 * Reserved bits set in the present PTE @pte of @level (walk.h): address
 * bits above the GPA width, then the page-size rules (PS above the 1 GiB
 * level, a large leaf's address bits below its size; PS at level 1 is
 * PAT, ignored).
 */
static inline bool s1_pte_rsvd(u64 pte, int level)
{
	if (pte & S1_RSVD_ADDR)
		return true;
	if (!(pte & S1_PS))
		return false;
	return level > S1_LEVEL_1G ||
	       (level == S1_LEVEL_1G && (pte & S1_RSVD_1G)) ||
	       (level == S1_LEVEL_2M && (pte & S1_RSVD_2M));
}

/* The entry checks of the PTE of @l at @level: P, then reserved bits. */
static inline int s1_pte_check(const struct s1_level *l, int level, u64 iova,
			       u32 access, struct nest_fault *fault)
{
	if (!(l->pte & S1_P)) {
		s1_pte_fault(fault, NEST_FAULT_REASON_PTE_FETCH, l, level,
			     iova, access);
		return -EFAULT;
	}
	if (s1_pte_rsvd(l->pte, level)) {
		s1_pte_fault(fault, NEST_FAULT_REASON_PTE_FETCH, l, level,
			     iova, access);
		fault->flags |= NEST_FAULT_F_RSVD;
		return -EFAULT;
	}
	return 0;
}

/*
 * Take from @perm what the checked PTE @pte of one level denies: the
 * levels AND together (walk.h); nest_perm_check() decides on the result.
 */
static inline u32 s1_perm_fold(u32 perm, u64 pte, u32 desc_flags)
{
	/* with WPD, R/W=0 binds non-privileged writes only */
	if (!(pte & S1_RW))
		perm &= desc_flags & NEST_S1_F_WPD ?
			~NEST_PERM_WRITE :
			~(NEST_PERM_WRITE | NEST_PERM_PRIV_WRITE);
	if (!(pte & S1_US))
		perm &= ~NEST_PERM_USER;
	if (pte & S1_XD)
		perm &= ~NEST_PERM_EXEC;
	return perm;
}

/* Take from @perm what stage 2's NEST_PROT_* @prot of the output deny. */
static inline u32 s2_perm_fold(u32 perm, u32 prot)
{
	if (!(prot & NEST_PROT_READ))
		perm &= ~(NEST_PERM_READ | NEST_PERM_EXEC);
	if (!(prot & NEST_PROT_WRITE))
		perm &= ~(NEST_PERM_WRITE | NEST_PERM_PRIV_WRITE);
	return perm;
}

/*
 * Does the checked PTE @pte end the walk at @level? Level 1 always does;
 * PS does at the levels of large pages (above them it is reserved and
 * s1_pte_check() faulted).
 */
static inline bool s1_pte_is_leaf(u64 pte, int level)
{
	return level == S1_LEVEL_4K || (pte & S1_PS);
}

/* The output GPA of @iova through the leaf PTE @pte mapping 2^@shift. */
static inline u64 s1_output_gpa(u64 pte, u64 iova, unsigned int shift)
{
	u64 offset = BIT_ULL(shift) - 1;

	return (pte & S1_ADDR & ~offset) | (iova & offset);
}

/* A successful write marks the output's stage-2 leaf dirty (not a query). */
static inline void s2_output_set_dirty(u64 *out_leaf, u32 access,
				       u32 walk_flags)
{
	if ((access & NEST_ACC_WRITE) &&
	    !(walk_flags & NEST_WALK_F_NO_UPDATE))
		nest_s2_pte_set_dirty(out_leaf);
}

/*
 * The A/D update (walk.h) of a walk whose translation succeeded, levels
 * @top to @leaf of @lv: A where clear, D on the leaf for a write. A PTE
 * that needs an update needs stage-2 W on its table page, checked for
 * every level before any write; a query (NEST_WALK_F_NO_UPDATE) stops
 * there. The writes go top-down, each marking its table page dirty.
 *
 * Return: 0, 1 if a PTE changed under the walk (restart it), or -EFAULT.
 */
static int s1_ad_update(struct nest_s2 *s2, struct s1_level *lv, int top,
			int leaf, u64 iova, u32 access, u32 walk_flags,
			struct nest_fault *fault)
{
	int level;
	u64 cur;

	for (level = top; level >= leaf; level--) {
		struct s1_level *l = &lv[level];

		l->set = 0;
		if (!(l->pte & S1_A))
			l->set |= S1_A;
		if (level == leaf && (access & NEST_ACC_WRITE) &&
		    !(l->pte & S1_D))
			l->set |= S1_D;
		if (l->set && !(l->s2_prot & NEST_PROT_WRITE)) {
			fault->reason = NEST_FAULT_REASON_PERMISSION;
			fault->stage = 2;
			fault->level = l->s2_level;
			fault->gpa = l->pte_gpa;
			fault->flags = NEST_FAULT_F_GPA_VALID;
			s1_s2_fault(fault, level, iova, access,
				    NEST_FAULT_F_TABLE_FETCH |
				    NEST_FAULT_F_AD_UPDATE);
			return -EFAULT;
		}
	}
	/* a query has made every check the updates would; it writes nothing */
	if (walk_flags & NEST_WALK_F_NO_UPDATE)
		return 0;
	for (level = top; level >= leaf; level--) {
		struct s1_level *l = &lv[level];

		if (!l->set)
			continue;
		if (s2->ops->cmpxchg_u64(s2->priv, l->ofn, s1_pte_offset(l),
					 l->pte, l->pte | l->set, &cur)) {
			s1_pte_fault(fault, NEST_FAULT_REASON_WALK_EABT, l,
				     level, iova, access);
			fault->flags |= NEST_FAULT_F_AD_UPDATE;
			return -EFAULT;
		}
		if (cur != l->pte)
			return 1;
		nest_s2_pte_set_dirty(l->s2_leaf);
	}
	return 0;
}

/*
 * One walk, in the order of walk.h: per level from the top the fetch
 * (s1_pte_fetch()), the entry checks (s1_pte_check()) and the permission
 * fold (s1_perm_fold()) down to the leaf; then the permission check
 * (nest_perm_check()), the stage-2 translation of the output and the A/D
 * update (s1_ad_update()).
 * 1: restart the walk (a PTE changed), 0: done, < 0: fault.
 */
static int s1_walk_once(struct nest_s2 *s2, const struct nest_s1_desc *desc,
			u64 iova, u32 access, u32 walk_flags,
			struct nest_walk_res *res, struct nest_fault *fault,
			struct nest_walk_trace *trace)
{
	struct s1_level lv[NEST_S1_MAX_LEVELS + 1];
	struct nest_s2_walk_res s2r;
	u64 table_gpa = desc->root_gpa;
	u32 perm = s1_desc_perm(desc);
	int level, top = desc->levels, leaf;
	unsigned int shift;
	u64 *out_leaf, gpa;
	u8 refs = 0;
	u32 reason;
	int ret;

	res->nr_tables = 0;
	for (level = top; ; level--) {	/* level 1 is a leaf */
		struct s1_level *l = &lv[level];

		res->table_gpa[res->nr_tables++] = table_gpa;
		l->pte_gpa = table_gpa + s1_index(iova, level) * sizeof(u64);
		ret = s1_pte_fetch(s2, l, level, iova, access, &refs, fault);
		if (ret)
			goto out_fault;
		ret = s1_pte_check(l, level, iova, access, fault);
		if (ret)
			goto out_fault;
		perm = s1_perm_fold(perm, l->pte, desc->flags);
		if (s1_pte_is_leaf(l->pte, level))
			break;
		table_gpa = l->pte & S1_ADDR;
	}
	leaf = level;
	shift = S1_LEVEL_SHIFT(leaf);

	/* stage 1 and the descriptor: what a cache hit checks (xlate.c) */
	reason = nest_perm_check(perm, access);
	if (reason) {
		s1_fault(fault, reason, leaf, iova, access);
		ret = -EFAULT;
		goto out_fault;
	}

	gpa = s1_output_gpa(lv[leaf].pte, iova, shift);
	ret = nest_s2_lookup(s2, gpa, access, &s2r, fault, &out_leaf);
	if (unlikely(trace)) {
		trace_s1(trace, s2, lv, top, leaf, false);
		trace_s2(trace, s2, gpa, 0);
	}
	if (ret) {
		s1_s2_fault(fault, 0, iova, access, 0);
		return ret;
	}
	refs += s2r.mem_refs;

	if (desc->flags & NEST_S1_F_AD) {
		ret = s1_ad_update(s2, lv, top, leaf, iova, access, walk_flags,
				   fault);
		if (ret)
			return ret;
	}
	s2_output_set_dirty(out_leaf, access, walk_flags);

	res->ofn = s2r.ofn;
	res->gpa = gpa;
	res->page_shift = min_t(unsigned int, shift, s2r.page_shift);
	res->perm = s2_perm_fold(perm, s2r.prot);
	res->s1_levels = top - leaf + 1;
	res->s2_level = s2r.level;
	res->mem_refs = refs;
	return 0;

out_fault:
	/* at @level (the leaf for a permission fault), before the output */
	if (unlikely(trace))
		trace_s1_fault(trace, s2, lv, top, level, fault);
	return ret;
}

/*
 * The walk with its retries. Both entry points expand it, so that a plain
 * nest_s1_walk() costs no extra call with arguments on the stack.
 */
static inline int s1_walk(struct nest_s2 *s2, const struct nest_s1_desc *desc,
			  u64 iova, u32 access, u32 walk_flags,
			  struct nest_walk_res *res, struct nest_fault *fault,
			  struct nest_walk_trace *trace)
{
	int ret, tries;
	u32 reason;

	if (unlikely(trace))
		trace->nr = 0;
	if (nest_s1_desc_check(desc, fault)) {
		/* the request that met the bad descriptor */
		fault->addr = iova;
		fault->access = access;
		return -EFAULT;
	}
	if (!s1_canonical(iova, desc->levels)) {
		s1_fault(fault, NEST_FAULT_REASON_OOR_ADDRESS, 0, iova, access);
		return -EFAULT;
	}
	/* before any PTE: only the descriptor (SRE) can refuse, ACCESS */
	reason = nest_perm_check(s1_desc_perm(desc), access);
	if (reason) {
		s1_fault(fault, reason, 0, iova, access);
		return -EFAULT;
	}
	for (tries = 0; tries < NEST_S1_AD_RETRIES; tries++) {
		ret = s1_walk_once(s2, desc, iova, access, walk_flags, res,
				   fault, trace);
		if (ret <= 0)
			return ret;
	}
	s1_fault(fault, NEST_FAULT_REASON_WALK_EABT, 0, iova, access);
	fault->flags |= NEST_FAULT_F_AD_UPDATE;
	return -EFAULT;
}

/**
 * nest_s1_walk_ext() - translate @iova through stage 1 nested over stage 2
 * @s2: the parent stage-2 table (shared access); its ops read guest memory
 * @desc: the stage-1 descriptor
 * @iova: the input address
 * @access: NEST_ACC_* (READ, WRITE or EXEC, maybe PRIV)
 * @walk_flags: NEST_WALK_F_*; NEST_WALK_F_NO_UPDATE: check and fault as
 *	usual but write nothing (no A/D bit, no stage-2 dirty bit)
 * @res: out, on success
 * @fault: out, on -EFAULT
 * @trace: NULL, or out: the memory references made, in order (the steps
 *	up to the faulting one on -EFAULT)
 *
 * No cache is consulted or filled. See walk.h for the rules.
 *
 * Return: 0 or -EFAULT.
 */
int nest_s1_walk_ext(struct nest_s2 *s2, const struct nest_s1_desc *desc,
		     u64 iova, u32 access, u32 walk_flags,
		     struct nest_walk_res *res, struct nest_fault *fault,
		     struct nest_walk_trace *trace)
{
	return s1_walk(s2, desc, iova, access, walk_flags, res, fault, trace);
}

/**
 * nest_s1_walk() - nest_s1_walk_ext() without flags or trace
 * @s2: the parent stage-2 table (shared access)
 * @desc: the stage-1 descriptor
 * @iova: the input address
 * @access: NEST_ACC_*
 * @res: out, on success
 * @fault: out, on -EFAULT
 *
 * Return: 0 or -EFAULT.
 */
int nest_s1_walk(struct nest_s2 *s2, const struct nest_s1_desc *desc,
		 u64 iova, u32 access, struct nest_walk_res *res,
		 struct nest_fault *fault)
{
	return s1_walk(s2, desc, iova, access, 0, res, fault, NULL);
}

/**
 * nest_s2_translate_ext() - translate @iova (a GPA) through stage 2 only
 * @s2: the stage-2 table of a paging HWPT (shared access)
 * @iova: the input address
 * @access: NEST_ACC_*; a WRITE marks the leaf dirty. PRIV is ignored.
 * @walk_flags: NEST_WALK_F_*; NEST_WALK_F_NO_UPDATE: a WRITE does not mark
 *	the leaf dirty
 * @res: out, on success (s1_levels = 0, nr_tables = 0)
 * @fault: out, on -EFAULT (stage 2)
 * @trace: NULL, or out: the stage-2 PTE reads (s1_level 0)
 *
 * Return: 0 or -EFAULT.
 */
int nest_s2_translate_ext(struct nest_s2 *s2, u64 iova, u32 access,
			  u32 walk_flags, struct nest_walk_res *res,
			  struct nest_fault *fault,
			  struct nest_walk_trace *trace)
{
	struct nest_s2_walk_res s2r;
	u64 *leaf;
	int ret;

	ret = nest_s2_lookup(s2, iova, access, &s2r, fault, &leaf);
	if (unlikely(trace)) {
		trace->nr = 0;
		trace_s2(trace, s2, iova, 0);
	}
	if (ret)
		return ret;
	if ((access & NEST_ACC_WRITE) &&
	    !(walk_flags & NEST_WALK_F_NO_UPDATE))
		nest_s2_pte_set_dirty(leaf);
	res->ofn = s2r.ofn;
	res->gpa = iova;
	res->page_shift = s2r.page_shift;
	/* no stage 1: privileged or not, stage 2 decides */
	res->perm = NEST_PERM_USER | NEST_PERM_PRIV |
		    ((s2r.prot & NEST_PROT_READ) ?
		     NEST_PERM_READ | NEST_PERM_EXEC : 0) |
		    ((s2r.prot & NEST_PROT_WRITE) ?
		     NEST_PERM_WRITE | NEST_PERM_PRIV_WRITE : 0);
	res->s1_levels = 0;
	res->s2_level = s2r.level;
	res->mem_refs = s2r.mem_refs;
	res->nr_tables = 0;
	return 0;
}

/**
 * nest_s2_translate() - nest_s2_translate_ext() without flags or trace
 * @s2: the stage-2 table of a paging HWPT (shared access)
 * @iova: the input address
 * @access: NEST_ACC_*; a WRITE marks the leaf dirty
 * @res: out, on success
 * @fault: out, on -EFAULT (stage 2)
 *
 * Return: 0 or -EFAULT.
 */
int nest_s2_translate(struct nest_s2 *s2, u64 iova, u32 access,
		      struct nest_walk_res *res, struct nest_fault *fault)
{
	return nest_s2_translate_ext(s2, iova, access, 0, res, fault, NULL);
}
