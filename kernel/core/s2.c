// SPDX-License-Identifier: GPL-2.0
/*
 * s2.c - the driver-owned stage-2 page table (see s2.h for the format,
 * the unmap policy and the locking rules).
 *
 * PTE layout (all levels):
 *   bit 0  VALID
 *   bit 1  TABLE: bits 63:12 are a table pointer (levels 4..2)
 *   bit 2  R, bit 3 W, bit 4 DIRTY (leaves only)
 *   leaf: bits 63:12 = ofn of the first 4 KiB frame of the leaf
 */
#include "s2.h"

#define S2_VALID	BIT_ULL(0)
#define S2_TABLE	BIT_ULL(1)
#define S2_R		BIT_ULL(2)
#define S2_W		BIT_ULL(3)
#define S2_DIRTY	BIT_ULL(4)
#define S2_ADDR		GENMASK_ULL(63, NEST_PAGE_SHIFT)
/* Each level resolves 9 bits of the GPA: a table holds 512 entries. */
#define S2_LEVEL_BITS	9
#define S2_ENTRIES	(1 << S2_LEVEL_BITS)
/* Leaf levels: 4 KiB pages, and the highest that may hold a 1 GiB page. */
#define S2_LEVEL_4K	1
#define S2_LEVEL_1G	3
#define S2_GPA_LAST	(BIT_ULL(NEST_GPA_BITS) - 1)

static inline unsigned int s2_shift(int level)
{
	return NEST_PAGE_SHIFT + S2_LEVEL_BITS * (level - 1);
}

static inline unsigned int s2_index(u64 gpa, int level)
{
	return (gpa >> s2_shift(level)) & (S2_ENTRIES - 1);
}

static inline u64 *s2_pte_table(u64 pte)
{
	return (u64 *)(uintptr_t)(pte & S2_ADDR);
}

static inline bool s2_pte_is_leaf(u64 pte)
{
	return (pte & (S2_VALID | S2_TABLE)) == S2_VALID;
}

static u64 *s2_alloc_table(struct nest_s2 *s2)
{
	u64 *t = s2->ops->alloc_table(s2->priv);

	if (t)
		s2->nr_tables++;
	return t;
}

static void s2_free_table(struct nest_s2 *s2, u64 *t)
{
	s2->ops->free_table(s2->priv, t);
	s2->nr_tables--;
}

/*
 * Free the table *@ptep points to if no entry of it is valid any more, so
 * that a later map may put a huge leaf in its place (see s2.h).
 */
static void s2_table_free_if_empty(struct nest_s2 *s2, u64 *ptep)
{
	u64 *t = s2_pte_table(*ptep);
	int i;

	for (i = 0; i < S2_ENTRIES; i++)
		if (t[i] & S2_VALID)
			return;
	WRITE_ONCE(*ptep, 0);
	s2_free_table(s2, t);
}

/**
 * nest_s2_init() - create an empty stage-2 table
 * @s2: the table to initialize
 * @ops: memory services; alloc_table and free_table must be set
 * @priv: passed back to @ops
 *
 * Return: 0 or -ENOMEM.
 */
int nest_s2_init(struct nest_s2 *s2, const struct nest_mem_ops *ops,
		 void *priv)
{
	s2->ops = ops;
	s2->priv = priv;
	s2->nr_tables = 0;
	s2->root = s2_alloc_table(s2);
	return s2->root ? 0 : -ENOMEM;
}

static void s2_free_level(struct nest_s2 *s2, u64 *table, int level)
{
	int i;

	if (level > S2_LEVEL_4K) {
		for (i = 0; i < S2_ENTRIES; i++) {
			u64 pte = table[i];

			if ((pte & S2_VALID) && (pte & S2_TABLE))
				s2_free_level(s2, s2_pte_table(pte),
					      level - 1);
		}
	}
	s2_free_table(s2, table);
}

/**
 * nest_s2_destroy() - free every table of @s2
 * @s2: the table; needs exclusive access
 */
void nest_s2_destroy(struct nest_s2 *s2)
{
	if (s2->root)
		s2_free_level(s2, s2->root, NEST_S2_LEVELS);
	s2->root = NULL;
}

/* Progress of a map, so a failure can undo exactly what was done. */
struct s2_map_state {
	u64 ofn;
	u64 pte_bits;
	u64 next;	/* first GPA not mapped yet */
	bool allow_huge;
};

static int s2_map_level(struct nest_s2 *s2, u64 *table, int level, u64 gpa,
			u64 last, struct s2_map_state *st)
{
	u64 size = BIT_ULL(s2_shift(level));

	for (;;) {
		u64 *ptep = &table[s2_index(gpa, level)];
		u64 entry_last = gpa | (size - 1);
		u64 sub_last = min(last, entry_last);
		u64 pte = *ptep;
		bool leaf;
		int ret;

		leaf = level == S2_LEVEL_4K ||
		       (level <= S2_LEVEL_1G && st->allow_huge &&
			IS_ALIGNED(gpa, size) && sub_last == entry_last &&
			IS_ALIGNED(st->ofn, size >> NEST_PAGE_SHIFT));
		if (leaf) {
			if (pte & S2_VALID)
				return -EEXIST;
			WRITE_ONCE(*ptep, (st->ofn << NEST_PAGE_SHIFT) |
					  st->pte_bits);
			st->ofn += size >> NEST_PAGE_SHIFT;
			st->next = sub_last + 1;
		} else {
			if (!(pte & S2_VALID)) {
				u64 *t = s2_alloc_table(s2);

				if (!t)
					return -ENOMEM;
				pte = (u64)(uintptr_t)t | S2_TABLE | S2_VALID;
				WRITE_ONCE(*ptep, pte);
			} else if (!(pte & S2_TABLE)) {
				return -EEXIST;
			}
			ret = s2_map_level(s2, s2_pte_table(pte), level - 1,
					   gpa, sub_last, st);
			if (ret) {
				/* a table allocated on the way may be empty */
				s2_table_free_if_empty(s2, ptep);
				return ret;
			}
		}
		if (sub_last == last)
			return 0;
		gpa = sub_last + 1;
	}
}

static u64 s2_unmap_level(struct nest_s2 *s2, u64 *table, int level, u64 gpa,
			  u64 last)
{
	u64 size = BIT_ULL(s2_shift(level));
	u64 unmapped = 0;

	for (;;) {
		u64 *ptep = &table[s2_index(gpa, level)];
		u64 entry_last = gpa | (size - 1);
		u64 sub_last = min(last, entry_last);
		u64 pte = *ptep;

		if (s2_pte_is_leaf(pte)) {
			/* nest_s2_unmap() checked it is wholly covered */
			WRITE_ONCE(*ptep, 0);
			unmapped += size;
		} else if (pte & S2_VALID) {
			unmapped += s2_unmap_level(s2, s2_pte_table(pte),
						   level - 1, gpa, sub_last);
			s2_table_free_if_empty(s2, ptep);
		}
		if (sub_last == last)
			return unmapped;
		gpa = sub_last + 1;
	}
}

/* The leaf PTE mapping @gpa and its level, or NULL. */
static u64 *s2_find_leaf(struct nest_s2 *s2, u64 gpa, int *levelp)
{
	u64 *table = s2->root;
	int level;

	for (level = NEST_S2_LEVELS; level >= 1; level--) {
		u64 *ptep = &table[s2_index(gpa, level)];
		u64 pte = READ_ONCE(*ptep);

		if (!(pte & S2_VALID))
			return NULL;
		if (!(pte & S2_TABLE)) {
			*levelp = level;
			return ptep;
		}
		table = s2_pte_table(pte);
	}
	return NULL;
}

/* Validate a (gpa, length) range and compute its inclusive last byte. */
static int s2_range(u64 gpa, u64 length, u64 *last)
{
	if (!length || !IS_ALIGNED(gpa, NEST_PAGE_SIZE) ||
	    !IS_ALIGNED(length, NEST_PAGE_SIZE))
		return -EINVAL;
	if (check_add_overflow(gpa, length - 1, last))
		return -EOVERFLOW;
	if (*last > S2_GPA_LAST)
		return -EINVAL;
	return 0;
}

/**
 * nest_s2_map() - map [@gpa, @gpa + @length) to the ofns @ofn, @ofn + 1...
 * @s2: the table; needs exclusive access
 * @gpa: first GPA, 4 KiB aligned
 * @length: bytes, a non-zero multiple of 4 KiB
 * @ofn: frame of @gpa; the run must be contiguous
 * @prot: NEST_PROT_READ and/or NEST_PROT_WRITE (at least one)
 * @allow_huge: use 2 MiB / 1 GiB leaves where the GPA range and the ofn
 *	run are both aligned to the leaf size; false: 4 KiB leaves only
 *
 * Return: 0; -EINVAL for a bad range or prot; -EOVERFLOW when the range
 * or the ofn run wraps or the ofn run exceeds NEST_OFN_BITS; -EEXIST when
 * part of the range is already mapped; -ENOMEM. On error nothing of the
 * range is left mapped and no table allocated on the way is left.
 */
int nest_s2_map(struct nest_s2 *s2, u64 gpa, u64 length, u64 ofn, u32 prot,
		bool allow_huge)
{
	struct s2_map_state st = {
		.ofn = ofn,
		.next = gpa,
		.allow_huge = allow_huge,
		.pte_bits = S2_VALID,
	};
	u64 last, ofn_last;
	int ret;

	if (!prot || (prot & ~(u32)(NEST_PROT_READ | NEST_PROT_WRITE)))
		return -EINVAL;
	ret = s2_range(gpa, length, &last);
	if (ret)
		return ret;
	if (check_add_overflow(ofn, (length >> NEST_PAGE_SHIFT) - 1,
			       &ofn_last) ||
	    ofn_last >= BIT_ULL(NEST_OFN_BITS))
		return -EOVERFLOW;
	if (prot & NEST_PROT_READ)
		st.pte_bits |= S2_R;
	if (prot & NEST_PROT_WRITE)
		st.pte_bits |= S2_W;

	ret = s2_map_level(s2, s2->root, NEST_S2_LEVELS, gpa, last, &st);
	if (ret && st.next != gpa)
		s2_unmap_level(s2, s2->root, NEST_S2_LEVELS, gpa,
			       st.next - 1);
	return ret;
}

/**
 * nest_s2_unmap() - unmap every leaf inside [@gpa, @gpa + @length)
 * @s2: the table; needs exclusive access
 * @gpa: first GPA, 4 KiB aligned
 * @length: bytes, a non-zero multiple of 4 KiB
 * @unmapped: out, bytes that were mapped and are now unmapped
 *
 * Holes are skipped. A huge leaf only partly inside the range is not split:
 * the call fails with -EINVAL and changes nothing.
 *
 * Return: 0, -EINVAL or -EOVERFLOW.
 */
int nest_s2_unmap(struct nest_s2 *s2, u64 gpa, u64 length, u64 *unmapped)
{
	u64 last, *ptep;
	int level, ret;

	*unmapped = 0;
	ret = s2_range(gpa, length, &last);
	if (ret)
		return ret;
	ptep = s2_find_leaf(s2, gpa, &level);
	if (ptep && level > S2_LEVEL_4K &&
	    !IS_ALIGNED(gpa, BIT_ULL(s2_shift(level))))
		return -EINVAL;
	ptep = s2_find_leaf(s2, last, &level);
	if (ptep && level > S2_LEVEL_4K &&
	    !IS_ALIGNED(last + 1, BIT_ULL(s2_shift(level))))
		return -EINVAL;
	*unmapped = s2_unmap_level(s2, s2->root, NEST_S2_LEVELS, gpa, last);
	return 0;
}

static void s2_fault(struct nest_fault *fault, u32 reason, int level,
		     u64 gpa, u32 access)
{
	nest_fault_init(fault, 2, reason, level, gpa, access);
	fault->flags = NEST_FAULT_F_GPA_VALID;
	fault->gpa = gpa;
}

/**
 * nest_s2_lookup() - walk stage 2 for @gpa without setting the dirty bit
 * @s2: the table (shared access)
 * @gpa: the input address
 * @access: NEST_ACC_*; READ and EXEC need R, WRITE needs W
 * @res: out, on success
 * @fault: out, on -EFAULT; stage 2, addr = gpa = @gpa
 * @leafp: out if not NULL, the leaf PTE (for nest_s2_pte_set_dirty())
 *
 * Return: 0 or -EFAULT.
 */
int nest_s2_lookup(struct nest_s2 *s2, u64 gpa, u32 access,
		   struct nest_s2_walk_res *res, struct nest_fault *fault,
		   u64 **leafp)
{
	u64 *table = s2->root;
	int level;
	u8 refs = 0;

	if (unlikely(gpa > S2_GPA_LAST)) {
		s2_fault(fault, NEST_FAULT_REASON_OOR_ADDRESS, NEST_S2_LEVELS,
			 gpa, access);
		return -EFAULT;
	}
	for (level = NEST_S2_LEVELS; level >= 1; level--) {
		u64 *ptep = &table[s2_index(gpa, level)];
		u64 pte = READ_ONCE(*ptep);
		unsigned int shift;

		refs++;
		if (!(pte & S2_VALID))
			break;
		if (pte & S2_TABLE) {
			table = s2_pte_table(pte);
			continue;
		}
		if (((access & (NEST_ACC_READ | NEST_ACC_EXEC)) &&
		     !(pte & S2_R)) ||
		    ((access & NEST_ACC_WRITE) && !(pte & S2_W))) {
			s2_fault(fault, NEST_FAULT_REASON_PERMISSION, level,
				 gpa, access);
			return -EFAULT;
		}
		shift = s2_shift(level);
		res->ofn = (pte >> NEST_PAGE_SHIFT) +
			   ((gpa & (BIT_ULL(shift) - 1)) >> NEST_PAGE_SHIFT);
		res->prot = ((pte & S2_R) ? NEST_PROT_READ : 0) |
			    ((pte & S2_W) ? NEST_PROT_WRITE : 0);
		res->level = level;
		res->page_shift = shift;
		res->mem_refs = refs;
		res->dirty = !!(pte & S2_DIRTY);
		if (leafp)
			*leafp = ptep;
		return 0;
	}
	s2_fault(fault, NEST_FAULT_REASON_PTE_FETCH, level, gpa, access);
	return -EFAULT;
}

/**
 * nest_s2_pte_set_dirty() - set the dirty bit of a leaf PTE atomically
 * @ptep: a leaf returned by nest_s2_lookup()
 */
void nest_s2_pte_set_dirty(u64 *ptep)
{
	u64 old = READ_ONCE(*ptep);

	while (!(old & S2_DIRTY) && s2_pte_is_leaf(old)) {
		u64 cur = nest_cmpxchg64(ptep, old, old | S2_DIRTY);

		if (cur == old)
			break;
		old = cur;
	}
}

/**
 * nest_s2_walk() - translate @gpa as a DMA through stage 2 only
 * @s2: the table (shared access)
 * @gpa: the input address
 * @access: NEST_ACC_*; a WRITE sets the leaf's dirty bit
 * @res: out, on success
 * @fault: out, on -EFAULT
 *
 * Return: 0 or -EFAULT.
 */
int nest_s2_walk(struct nest_s2 *s2, u64 gpa, u32 access,
		 struct nest_s2_walk_res *res, struct nest_fault *fault)
{
	u64 *leaf;
	int ret;

	ret = nest_s2_lookup(s2, gpa, access, res, fault, &leaf);
	if (!ret && (access & NEST_ACC_WRITE))
		nest_s2_pte_set_dirty(leaf);
	return ret;
}

struct s2_dirty_state {
	u64 base;	/* GPA of bit 0 of the bitmap */
	u64 *bitmap;
	u64 nr_dirty;
	bool clear;
};

static void s2_dirty_level(u64 *table, int level, u64 gpa, u64 last,
			   struct s2_dirty_state *st)
{
	u64 size = BIT_ULL(s2_shift(level));

	for (;;) {
		u64 *ptep = &table[s2_index(gpa, level)];
		u64 entry_last = gpa | (size - 1);
		u64 sub_last = min(last, entry_last);
		u64 pte = READ_ONCE(*ptep);

		if (s2_pte_is_leaf(pte) && (pte & S2_DIRTY)) {
			u64 pg;

			for (pg = gpa >> NEST_PAGE_SHIFT;
			     pg <= sub_last >> NEST_PAGE_SHIFT; pg++) {
				u64 bit = pg - (st->base >> NEST_PAGE_SHIFT);

				st->bitmap[bit / 64] |= BIT_ULL(bit % 64);
				st->nr_dirty++;
			}
			/* keep a partly covered huge leaf dirty: lose nothing */
			if (st->clear && IS_ALIGNED(gpa, size) &&
			    sub_last == entry_last) {
				u64 old = pte;

				while (old & S2_DIRTY) {
					u64 cur = nest_cmpxchg64(ptep, old,
							old & ~S2_DIRTY);
					if (cur == old)
						break;
					old = cur;
				}
			}
		} else if ((pte & S2_VALID) && (pte & S2_TABLE)) {
			s2_dirty_level(s2_pte_table(pte), level - 1, gpa,
				       sub_last, st);
		}
		if (sub_last == last)
			return;
		gpa = sub_last + 1;
	}
}

/**
 * nest_s2_read_dirty() - report (and optionally clear) dirty pages
 * @s2: the table (shared access)
 * @gpa: first GPA, 4 KiB aligned
 * @length: bytes, a non-zero multiple of 4 KiB
 * @bitmap: bit i stands for the page at @gpa + i * 4 KiB; bits of dirty
 *	pages are set (ORed in), others are left alone
 * @clear: clear the dirty bits reported (false: the NO_CLEAR variant). A
 *	huge leaf only partly inside the range is reported but not cleared.
 * @nr_dirty: out, pages reported dirty
 *
 * Return: 0, -EINVAL or -EOVERFLOW.
 */
int nest_s2_read_dirty(struct nest_s2 *s2, u64 gpa, u64 length, u64 *bitmap,
		       bool clear, u64 *nr_dirty)
{
	struct s2_dirty_state st = {
		.base = gpa, .bitmap = bitmap, .clear = clear,
	};
	u64 last;
	int ret;

	*nr_dirty = 0;
	ret = s2_range(gpa, length, &last);
	if (ret)
		return ret;
	s2_dirty_level(s2->root, NEST_S2_LEVELS, gpa, last, &st);
	*nr_dirty = st.nr_dirty;
	return 0;
}
