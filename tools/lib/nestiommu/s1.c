// SPDX-License-Identifier: GPL-2.0
/*
 * libnestiommu: the stage-1 table builder (terms and rules in s1.h).
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "s1.h"

#define S1_GPA_LIMIT (1ULL << NESTIOMMU_IOAS_IOVA_BITS)
/* Bits a leaf_flags argument may not hold: P, PS and every address bit. */
#define S1_LEAF_FLAGS_BAD (NESTIOMMU_S1_PTE_P | NESTIOMMU_S1_PTE_PS | \
			   0x000ffffffffff000ULL)
/* What a table entry this code creates gets. */
#define S1_TABLE_FLAGS (NESTIOMMU_S1_PTE_P | NESTIOMMU_S1_PTE_RW | \
			NESTIOMMU_S1_PTE_US)

/* The level of a leaf of @size, or 0 if @size is not 4K, 2M or 1G. */
static unsigned int s1_leaf_level(__u64 size)
{
	switch (size) {
	case 1ULL << 12:
		return 1;
	case 1ULL << 21:
		return 2;
	case 1ULL << 30:
		return 3;
	default:
		return 0;
	}
}

/**
 * nest_s1_init() - set up an empty table tree in a pool
 * @s1: the tree
 * @pool_va: user VA of the pool, 4 KiB aligned
 * @pool_gpa: GPA the pool is mapped at, 4 KiB aligned, the pool below 2^48
 * @pool_len: bytes in the pool, a multiple of 4 KiB
 * @levels: 4 or 5
 *
 * Hands out the first table of the pool as the (zeroed) root.
 *
 * Return: 0; -EINVAL for a bad argument; -ENOSPC if the pool is empty.
 */
int nest_s1_init(struct nest_s1 *s1, void *pool_va, __u64 pool_gpa,
		 size_t pool_len, unsigned int levels)
{
	if (((uintptr_t)pool_va | pool_gpa | pool_len) & (NEST_S1_TABLE_SIZE - 1) ||
	    (levels != 4 && levels != 5) || pool_gpa >= S1_GPA_LIMIT ||
	    pool_len > S1_GPA_LIMIT - pool_gpa)
		return -EINVAL;
	*s1 = (struct nest_s1){
		.pool_va = pool_va,
		.pool_gpa = pool_gpa,
		.pool_len = pool_len,
		.levels = levels,
	};
	if (!nest_s1_alloc_table(s1, &s1->root_gpa))
		return -ENOSPC;
	return 0;
}

/**
 * nest_s1_alloc_table() - hand out the next zeroed table of the pool
 * @s1: the tree
 * @gpa: if not NULL, set to the table's GPA
 *
 * The table is not linked anywhere: callers that build tables by hand
 * (hostile layouts) link it themselves.
 *
 * Return: the table's user VA, or NULL (errno ENOSPC) if the pool is full.
 */
__u64 *nest_s1_alloc_table(struct nest_s1 *s1, __u64 *gpa)
{
	__u64 *table;

	if (s1->pool_len - s1->used < NEST_S1_TABLE_SIZE) {
		errno = ENOSPC;
		return NULL;
	}
	table = (__u64 *)((char *)s1->pool_va + s1->used);
	memset(table, 0, NEST_S1_TABLE_SIZE);
	if (gpa)
		*gpa = s1->pool_gpa + s1->used;
	s1->used += NEST_S1_TABLE_SIZE;
	return table;
}

/**
 * nest_s1_gpa_to_va() - the user VA of a GPA inside the pool
 * @s1: the tree
 * @gpa: any GPA
 *
 * Return: the VA, or NULL if @gpa is not inside the pool.
 */
void *nest_s1_gpa_to_va(const struct nest_s1 *s1, __u64 gpa)
{
	if (gpa < s1->pool_gpa || gpa - s1->pool_gpa >= s1->pool_len)
		return NULL;
	return (char *)s1->pool_va + (gpa - s1->pool_gpa);
}

/**
 * nest_s1_va_to_gpa() - the GPA of a user VA inside the pool
 * @s1: the tree
 * @va: an address inside the pool (e.g. from nest_s1_pte())
 *
 * Return: the GPA, or ~0ULL if @va is not inside the pool.
 */
__u64 nest_s1_va_to_gpa(const struct nest_s1 *s1, const void *va)
{
	uintptr_t off = (uintptr_t)va - (uintptr_t)s1->pool_va;

	if ((uintptr_t)va < (uintptr_t)s1->pool_va || off >= s1->pool_len)
		return ~0ULL;
	return s1->pool_gpa + off;
}

/*
 * The table a present, non-leaf PTE points to, or NULL if the PTE is not
 * present, is a leaf, or points outside the pool.
 */
static __u64 *s1_next_table(const struct nest_s1 *s1, __u64 pte)
{
	if (!(pte & NESTIOMMU_S1_PTE_P) || (pte & NESTIOMMU_S1_PTE_PS))
		return NULL;
	return nest_s1_gpa_to_va(s1, pte & NESTIOMMU_S1_PTE_ADDR);
}

/**
 * nest_s1_pte() - the PTE of @iova at @level
 * @s1: the tree
 * @iova: any IOVA (only its index bits are used)
 * @level: @s1->levels down to 1
 *
 * Follows the tree from the root; the tables on the way must be present,
 * not leaves, and inside the pool. Tests read and corrupt PTEs through it
 * (with nest_s1_pte_read() / nest_s1_pte_write()).
 *
 * Return: the PTE's user VA, or NULL if a table on the way is missing or
 * @level is out of range.
 */
__u64 *nest_s1_pte(const struct nest_s1 *s1, __u64 iova, unsigned int level)
{
	__u64 *table = nest_s1_gpa_to_va(s1, s1->root_gpa);
	unsigned int l;

	if (!level || level > s1->levels)
		return NULL;
	for (l = s1->levels; table && l > level; l--)
		table = s1_next_table(s1, nest_s1_pte_read(&table[nest_s1_index(iova, l)]));
	return table ? &table[nest_s1_index(iova, level)] : NULL;
}

/**
 * nest_s1_table_gpa() - GPA of the table holding the PTE of @iova at @level
 * @s1: the tree
 * @iova: any IOVA
 * @level: @s1->levels down to 1
 * @gpa: set to the table's GPA on success
 *
 * Return: 0, or -ENOENT if that table does not exist (see nest_s1_pte()).
 */
int nest_s1_table_gpa(const struct nest_s1 *s1, __u64 iova,
		      unsigned int level, __u64 *gpa)
{
	__u64 *ptep = nest_s1_pte(s1, iova, level);

	if (!ptep)
		return -ENOENT;
	*gpa = nest_s1_va_to_gpa(s1, ptep) & ~(NEST_S1_TABLE_SIZE - 1);
	return 0;
}

/**
 * nest_s1_pte_gpa() - GPA of the PTE of @iova at @level
 * @s1: the tree
 * @iova: any IOVA
 * @level: @s1->levels down to 1
 * @gpa: set to the PTE's GPA on success (what a fault's fetch_addr and a
 *	TRANSLATE step's addr report)
 *
 * Return: 0, or -ENOENT if the table holding it does not exist.
 */
int nest_s1_pte_gpa(const struct nest_s1 *s1, __u64 iova, unsigned int level,
		    __u64 *gpa)
{
	__u64 *ptep = nest_s1_pte(s1, iova, level);

	if (!ptep)
		return -ENOENT;
	*gpa = nest_s1_va_to_gpa(s1, ptep);
	return 0;
}

/* Check a (iova, size) pair; return the leaf level or 0 if bad. */
static unsigned int s1_check_range(const struct nest_s1 *s1, __u64 iova,
				   __u64 size)
{
	unsigned int level = s1_leaf_level(size);

	if (!level || (iova & (size - 1)) || !nest_s1_canonical(iova, s1->levels))
		return 0;
	return level;
}

/**
 * nest_s1_map() - map [@iova, @iova + @size) to [@gpa, @gpa + @size)
 * @s1: the tree
 * @iova: first IOVA, aligned to @size, canonical for @s1->levels
 * @gpa: first GPA, aligned to @size, the range below 2^48
 * @size: 4 KiB, 2 MiB or 1 GiB: the leaf's level
 * @leaf_flags: NESTIOMMU_S1_PTE_* of the leaf besides P and PS (RW, US, A,
 *	D, XD, or any ignored bit); address bits are refused
 *
 * Creates the missing tables on the way (P|RW|US). The leaf is written
 * last, with one store.
 *
 * Return: 0; -EINVAL for a bad argument; -EEXIST if a leaf or a table
 * already covers the leaf's slot (or a leaf sits above it); -ENOSPC if the
 * pool is full (tables created on the way stay, empty); -EFAULT if a table
 * pointer on the way leads outside the pool.
 */
int nest_s1_map(struct nest_s1 *s1, __u64 iova, __u64 gpa, __u64 size,
		__u64 leaf_flags)
{
	unsigned int leaf = s1_check_range(s1, iova, size);
	__u64 *table = nest_s1_gpa_to_va(s1, s1->root_gpa);
	unsigned int level;
	__u64 *ptep, pte;

	if (!leaf || (gpa & (size - 1)) || gpa >= S1_GPA_LIMIT ||
	    size > S1_GPA_LIMIT - gpa || (leaf_flags & S1_LEAF_FLAGS_BAD))
		return -EINVAL;
	for (level = s1->levels; level > leaf; level--) {
		ptep = &table[nest_s1_index(iova, level)];
		pte = nest_s1_pte_read(ptep);
		if (!(pte & NESTIOMMU_S1_PTE_P)) {
			__u64 table_gpa;
			__u64 *next = nest_s1_alloc_table(s1, &table_gpa);

			if (!next)
				return -ENOSPC;
			nest_s1_pte_write(ptep, table_gpa | S1_TABLE_FLAGS);
			table = next;
			continue;
		}
		if (pte & NESTIOMMU_S1_PTE_PS)
			return -EEXIST;
		table = nest_s1_gpa_to_va(s1, pte & NESTIOMMU_S1_PTE_ADDR);
		if (!table)
			return -EFAULT;
	}
	ptep = &table[nest_s1_index(iova, leaf)];
	if (nest_s1_pte_read(ptep) & NESTIOMMU_S1_PTE_P)
		return -EEXIST;
	nest_s1_pte_write(ptep, gpa | leaf_flags | NESTIOMMU_S1_PTE_P |
				(leaf > 1 ? NESTIOMMU_S1_PTE_PS : 0));
	return 0;
}

/**
 * nest_s1_unmap() - clear the leaf mapping [@iova, @iova + @size)
 * @s1: the tree
 * @iova: the leaf's first IOVA, aligned to @size
 * @size: the leaf's size: 4 KiB, 2 MiB or 1 GiB
 *
 * Clears the leaf PTE with one store and frees nothing. Cached translations
 * stay until the caller invalidates them.
 *
 * Return: 0; -EINVAL for a bad argument; -ENOENT if no leaf of that size
 * maps @iova.
 */
int nest_s1_unmap(struct nest_s1 *s1, __u64 iova, __u64 size)
{
	unsigned int leaf = s1_check_range(s1, iova, size);
	__u64 *ptep;
	__u64 pte;

	if (!leaf)
		return -EINVAL;
	ptep = nest_s1_pte(s1, iova, leaf);
	if (!ptep)
		return -ENOENT;
	pte = nest_s1_pte_read(ptep);
	if (!(pte & NESTIOMMU_S1_PTE_P) ||
	    (leaf > 1 && !(pte & NESTIOMMU_S1_PTE_PS)))
		return -ENOENT;
	nest_s1_pte_write(ptep, 0);
	return 0;
}

/**
 * nest_s1_desc() - the stage-1 descriptor of the tree, for HWPT_ALLOC
 * @s1: the tree
 * @flags: enum nestiommu_s1_flags
 * @desc: filled in
 */
void nest_s1_desc(const struct nest_s1 *s1, __u32 flags,
		  struct nestiommu_hwpt_s1_x86 *desc)
{
	*desc = (struct nestiommu_hwpt_s1_x86){
		.root_gpa = s1->root_gpa,
		.levels = s1->levels,
		.flags = flags,
	};
}
