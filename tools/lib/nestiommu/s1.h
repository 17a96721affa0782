/* SPDX-License-Identifier: GPL-2.0 */
/*
 * libnestiommu: a builder of x86-64 stage-1 page tables for nested HWPTs.
 *
 * Terms: the tables live in a "pool", a user buffer the caller has mapped
 * into an IOAS (readable, and writeable if the kernel is to set A/D bits) at
 * the GPA @pool_gpa, so every table has a user VA (where this code writes
 * it) and a GPA (what PTEs and the descriptor's root_gpa hold). Table pages
 * are handed out from the start of the pool and never given back; each is
 * zeroed when handed out.
 *
 * Levels count down from @levels (4: 48-bit IOVAs, 5: 57-bit) to 1; a leaf
 * sits at level 1 (4 KiB), 2 (2 MiB, PS) or 3 (1 GiB, PS). Tables this code
 * creates on the way to a leaf get P|RW|US, so permissions come from the
 * leaf alone unless the caller changes the upper entries itself.
 *
 * Every PTE is written with one 64-bit store (the kernel may walk the tables
 * while they change) and read with one 64-bit load (it may set A/D bits at
 * any time). Nothing here invalidates a cache: after changing or clearing a
 * present PTE the caller sends HWPT_INVALIDATE.
 */
#ifndef NESTIOMMU_S1_H
#define NESTIOMMU_S1_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>
#include <linux/nestiommu.h>

#define NEST_S1_TABLE_SIZE	4096ULL
#define NEST_S1_ENTRIES		512

/**
 * struct nest_s1 - a stage-1 table tree and its pool
 * @pool_va: user VA of the pool, 4 KiB aligned
 * @pool_gpa: GPA of the pool (the IOVA it is mapped at in the IOAS)
 * @pool_len: bytes in the pool, a multiple of 4 KiB
 * @used: bytes of the pool handed out as tables
 * @levels: 4 or 5
 * @root_gpa: GPA of the top-level table
 */
struct nest_s1 {
	void *pool_va;
	__u64 pool_gpa;
	size_t pool_len;
	size_t used;
	unsigned int levels;
	__u64 root_gpa;
};

/* log2 of the bytes one entry of @level covers: 12, 21, 30, 39, 48. */
static inline unsigned int nest_s1_shift(unsigned int level)
{
	return 12 + 9 * (level - 1);
}

/* Index of @iova's entry in its table of @level. */
static inline unsigned int nest_s1_index(__u64 iova, unsigned int level)
{
	return (iova >> nest_s1_shift(level)) & (NEST_S1_ENTRIES - 1);
}

/* Is @iova canonical for @levels (sign-extended from bit 47 or 56)? */
static inline bool nest_s1_canonical(__u64 iova, unsigned int levels)
{
	unsigned int bits = nest_s1_shift(levels) + 9;

	return (__u64)((__s64)(iova << (64 - bits)) >> (64 - bits)) == iova;
}

/* Read a PTE (one 64-bit load: the kernel may be setting A/D bits). */
static inline __u64 nest_s1_pte_read(const __u64 *ptep)
{
	return __atomic_load_n(ptep, __ATOMIC_ACQUIRE);
}

/* Write a PTE (one 64-bit store, after every earlier store to the table). */
static inline void nest_s1_pte_write(__u64 *ptep, __u64 pte)
{
	__atomic_store_n(ptep, pte, __ATOMIC_RELEASE);
}

int nest_s1_init(struct nest_s1 *s1, void *pool_va, __u64 pool_gpa,
		 size_t pool_len, unsigned int levels);
__u64 *nest_s1_alloc_table(struct nest_s1 *s1, __u64 *gpa);
void *nest_s1_gpa_to_va(const struct nest_s1 *s1, __u64 gpa);
__u64 nest_s1_va_to_gpa(const struct nest_s1 *s1, const void *va);
int nest_s1_map(struct nest_s1 *s1, __u64 iova, __u64 gpa, __u64 size,
		__u64 leaf_flags);
int nest_s1_unmap(struct nest_s1 *s1, __u64 iova, __u64 size);
__u64 *nest_s1_pte(const struct nest_s1 *s1, __u64 iova, unsigned int level);
int nest_s1_table_gpa(const struct nest_s1 *s1, __u64 iova,
		      unsigned int level, __u64 *gpa);
int nest_s1_pte_gpa(const struct nest_s1 *s1, __u64 iova, unsigned int level,
		    __u64 *gpa);
void nest_s1_desc(const struct nest_s1 *s1, __u32 flags,
		  struct nestiommu_hwpt_s1_x86 *desc);

#endif /* NESTIOMMU_S1_H */
