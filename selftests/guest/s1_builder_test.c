// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests of libnestiommu's stage-1 table builder (tools/lib/nestiommu/
 * s1.c). Pure user space: no device, so it runs on the host as well as in
 * the guest. The tables are checked word by word and with a small walker of
 * the x86-64 format written here, independent of the builder.
 */
#include <stdlib.h>

#include "nest_helpers.h"

#define POOL_GPA	0x10000000ULL
#define P		NESTIOMMU_S1_PTE_P
#define RW		NESTIOMMU_S1_PTE_RW
#define US		NESTIOMMU_S1_PTE_US
#define PS		NESTIOMMU_S1_PTE_PS
#define ADDR		NESTIOMMU_S1_PTE_ADDR

FIXTURE(s1) {
	char *pool;
	size_t len;
	struct nest_s1 s1;
};

FIXTURE_VARIANT(s1) {
	unsigned int levels;
};

FIXTURE_VARIANT_ADD(s1, four_level) { .levels = 4 };
FIXTURE_VARIANT_ADD(s1, five_level) { .levels = 5 };

FIXTURE_SETUP(s1)
{
	self->len = 64 * SZ_4K;
	self->pool = alloc_buffer(self->len, SZ_4K);
	memset(self->pool, 0xff, self->len);	/* tables must be zeroed when handed out */
	ASSERT_OK(nest_s1_init(&self->s1, self->pool, POOL_GPA, self->len, variant->levels));
}

FIXTURE_TEARDOWN(s1)
{
	munmap(self->pool, self->len);
}

/*
 * The reference walk: the GPA of @iova and the leaf size, or 0 if it is not
 * mapped (*@level: the level of the missing entry).
 */
static bool ref_walk(const struct nest_s1 *s1, __u64 iova, __u64 *gpa, __u64 *size,
		     __u64 *flags, unsigned int *level)
{
	__u64 table = s1->root_gpa;
	unsigned int l;

	for (l = s1->levels; l >= 1; l--) {
		const __u64 *t = nest_s1_gpa_to_va(s1, table);
		__u64 pte;

		if (!t) {
			*level = l;
			return false;
		}
		pte = t[(iova >> (12 + 9 * (l - 1))) & 511];
		if (!(pte & P)) {
			*level = l;
			return false;
		}
		if (l == 1 || (pte & PS)) {
			__u64 sz = 1ULL << (12 + 9 * (l - 1));

			*size = sz;
			*gpa = (pte & ADDR & ~(sz - 1)) | (iova & (sz - 1));
			*flags = pte & ~ADDR;
			*level = l;
			return true;
		}
		table = pte & ADDR;
	}
	return false;
}

static __u64 test_iova(unsigned int levels)
{
	return levels == 5 ? 0x00f0124000000000ULL : 0x7f1240000000ULL;
}

TEST(init_rejects_bad_arguments)
{
	char *pool = alloc_buffer(4 * SZ_4K, SZ_4K);
	struct nest_s1 s1;

	ASSERT_ERR(EINVAL, nest_s1_init(&s1, pool + 8, POOL_GPA, SZ_4K, 4));
	ASSERT_ERR(EINVAL, nest_s1_init(&s1, pool, POOL_GPA + 8, SZ_4K, 4));
	ASSERT_ERR(EINVAL, nest_s1_init(&s1, pool, POOL_GPA, SZ_4K + 8, 4));
	ASSERT_ERR(EINVAL, nest_s1_init(&s1, pool, POOL_GPA, SZ_4K, 3));
	ASSERT_ERR(EINVAL, nest_s1_init(&s1, pool, POOL_GPA, SZ_4K, 6));
	ASSERT_ERR(EINVAL, nest_s1_init(&s1, pool, 1ULL << 48, SZ_4K, 4));
	ASSERT_ERR(EINVAL, nest_s1_init(&s1, pool, (1ULL << 48) - SZ_4K, 2 * SZ_4K, 4));
	ASSERT_ERR(ENOSPC, nest_s1_init(&s1, pool, POOL_GPA, 0, 4));
	ASSERT_OK(nest_s1_init(&s1, pool, (1ULL << 48) - SZ_4K, SZ_4K, 5));
	munmap(pool, 4 * SZ_4K);
}

TEST_F(s1, init_zeroes_root_only)
{
	const __u64 *root = (const __u64 *)self->pool;
	int i;

	ASSERT_EQ(POOL_GPA, self->s1.root_gpa);
	ASSERT_EQ(SZ_4K, self->s1.used);
	ASSERT_EQ(variant->levels, self->s1.levels);
	for (i = 0; i < 512; i++)
		ASSERT_EQ(0, root[i]);
	ASSERT_EQ(0xff, (unsigned char)self->pool[SZ_4K]);
}

TEST_F(s1, map_4k_builds_one_path)
{
	__u64 iova = test_iova(variant->levels) + 0x123000, gpa, size, flags, table;
	unsigned int level;

	ASSERT_OK(nest_s1_map(&self->s1, iova, 0x40005000, SZ_4K,
			      RW | US | NESTIOMMU_S1_PTE_XD));
	/* One new table per level below the root. */
	ASSERT_EQ(variant->levels * SZ_4K, self->s1.used);
	/* Each table entry: the next table, P|RW|US. */
	table = self->s1.root_gpa;
	for (level = variant->levels; level > 1; level--) {
		__u64 pte = nest_s1_pte_read(nest_s1_pte(&self->s1, iova, level));
		__u64 pte_gpa;

		TH_CONTEXT("level %u", level);
		ASSERT_OK(nest_s1_pte_gpa(&self->s1, iova, level, &pte_gpa));
		ASSERT_EQ(table + 8 * nest_s1_index(iova, level), pte_gpa);
		ASSERT_EQ(P | RW | US, pte & ~ADDR);
		table = pte & ADDR;
		ASSERT_TRUE(table >= POOL_GPA && table < POOL_GPA + self->len);
		/* Zeroed when handed out, but for its one entry. */
		ASSERT_OK(nest_s1_table_gpa(&self->s1, iova, level - 1, &gpa));
		ASSERT_EQ(table, gpa);
	}
	ASSERT_EQ(0x40005000 | P | RW | US | NESTIOMMU_S1_PTE_XD,
		  nest_s1_pte_read(nest_s1_pte(&self->s1, iova, 1)));
	ASSERT_TRUE(ref_walk(&self->s1, iova + 0x45, &gpa, &size, &flags, &level));
	ASSERT_EQ(0x40005045, gpa);
	ASSERT_EQ(SZ_4K, size);
	/* Neighbours are not mapped. */
	ASSERT_FALSE(ref_walk(&self->s1, iova + SZ_4K, &gpa, &size, &flags, &level));
	ASSERT_EQ(1, level);
	/* A second page in the same 2M reuses the tables. */
	ASSERT_OK(nest_s1_map(&self->s1, iova + SZ_4K, 0x40009000, SZ_4K, RW | US));
	ASSERT_EQ(variant->levels * SZ_4K, self->s1.used);
}

TEST_F(s1, map_huge_leaves)
{
	__u64 iova = test_iova(variant->levels), gpa, size, flags;
	unsigned int level;

	ASSERT_OK(nest_s1_map(&self->s1, iova, 0x80000000ULL, SZ_1G, RW | US));
	ASSERT_OK(nest_s1_map(&self->s1, iova + SZ_1G + SZ_2M, 0x40200000ULL, SZ_2M, US));
	ASSERT_EQ(0x80000000ULL | P | RW | US | PS,
		  nest_s1_pte_read(nest_s1_pte(&self->s1, iova, 3)));
	ASSERT_EQ(0x40200000ULL | P | US | PS,
		  nest_s1_pte_read(nest_s1_pte(&self->s1, iova + SZ_1G + SZ_2M, 2)));
	ASSERT_TRUE(ref_walk(&self->s1, iova + 0x12345678, &gpa, &size, &flags, &level));
	ASSERT_EQ(0x80000000ULL + 0x12345678, gpa);
	ASSERT_EQ(SZ_1G, size);
	ASSERT_EQ(3, level);
	ASSERT_TRUE(ref_walk(&self->s1, iova + SZ_1G + SZ_2M + 0x1234, &gpa, &size, &flags,
			     &level));
	ASSERT_EQ(0x40201234ULL, gpa);
	ASSERT_EQ(2, level);
	/* Nothing below a huge leaf. */
	ASSERT_EQ(NULL, (void *)nest_s1_pte(&self->s1, iova, 2));
	ASSERT_ERR(ENOENT, nest_s1_pte_gpa(&self->s1, iova, 1, &gpa));
}

TEST_F(s1, map_bad_arguments_einval)
{
	__u64 iova = test_iova(variant->levels);
	__u64 noncanon = variant->levels == 5 ? 1ULL << 56 : 1ULL << 47;

	ASSERT_ERR(EINVAL, nest_s1_map(&self->s1, iova + 0x800, 0, SZ_4K, 0));
	ASSERT_ERR(EINVAL, nest_s1_map(&self->s1, iova, 0x800, SZ_4K, 0));
	ASSERT_ERR(EINVAL, nest_s1_map(&self->s1, iova + SZ_4K, 0, SZ_2M, 0));
	ASSERT_ERR(EINVAL, nest_s1_map(&self->s1, iova, SZ_4K, SZ_2M, 0));
	ASSERT_ERR(EINVAL, nest_s1_map(&self->s1, iova, 0, SZ_2M * 2, 0));
	ASSERT_ERR(EINVAL, nest_s1_map(&self->s1, iova, 0, 0, 0));
	ASSERT_ERR(EINVAL, nest_s1_map(&self->s1, iova, 0, 512ULL * SZ_1G, 0));
	ASSERT_ERR(EINVAL, nest_s1_map(&self->s1, noncanon, 0, SZ_4K, 0));
	ASSERT_ERR(EINVAL, nest_s1_map(&self->s1, iova, 1ULL << 48, SZ_4K, 0));
	ASSERT_ERR(EINVAL, nest_s1_map(&self->s1, iova, (1ULL << 48) - SZ_4K, SZ_2M, 0));
	ASSERT_ERR(EINVAL, nest_s1_map(&self->s1, iova, 0, SZ_4K, P));
	ASSERT_ERR(EINVAL, nest_s1_map(&self->s1, iova, 0, SZ_4K, PS));
	ASSERT_ERR(EINVAL, nest_s1_map(&self->s1, iova, 0, SZ_4K, 1ULL << 12));
	ASSERT_ERR(EINVAL, nest_s1_map(&self->s1, iova, 0, SZ_4K, 1ULL << 48));
	/* Nothing was built. */
	ASSERT_EQ(SZ_4K, self->s1.used);
	/* Ignored bits are allowed. */
	ASSERT_OK(nest_s1_map(&self->s1, iova, 0, SZ_4K, 1ULL << 62 | 1ULL << 9 | RW));
}

TEST_F(s1, map_over_existing_eexist)
{
	__u64 iova = test_iova(variant->levels);

	ASSERT_OK(nest_s1_map(&self->s1, iova, 0, SZ_4K, RW));
	ASSERT_ERR(EEXIST, nest_s1_map(&self->s1, iova, SZ_4K, SZ_4K, RW));
	/* A 2M leaf where a table is. */
	ASSERT_ERR(EEXIST, nest_s1_map(&self->s1, iova, 0, SZ_2M, RW));
	ASSERT_ERR(EEXIST, nest_s1_map(&self->s1, iova, 0, SZ_1G, RW));
	/* A 4K page below a 2M leaf. */
	ASSERT_OK(nest_s1_map(&self->s1, iova + SZ_2M, 0, SZ_2M, RW));
	ASSERT_ERR(EEXIST, nest_s1_map(&self->s1, iova + SZ_2M + SZ_4K, 0, SZ_4K, RW));
	ASSERT_EQ(0, nest_s1_pte_read(nest_s1_pte(&self->s1, iova + SZ_2M, 2)) & ~(ADDR | P | PS | RW));
}

TEST_F(s1, pool_full_enospc)
{
	__u64 iova = test_iova(variant->levels);
	__u64 *t;
	int i;

	/* Use up all but one table. */
	for (i = self->s1.used / SZ_4K; i < (int)(self->len / SZ_4K) - 1; i++)
		ASSERT_NE(NULL, (void *)nest_s1_alloc_table(&self->s1, NULL));
	ASSERT_ERR(ENOSPC, nest_s1_map(&self->s1, iova, 0, SZ_4K, RW));
	ASSERT_EQ(self->len, self->s1.used);
	errno = 0;
	t = nest_s1_alloc_table(&self->s1, NULL);
	ASSERT_EQ(NULL, (void *)t);
	ASSERT_EQ(ENOSPC, errno);
}

TEST_F(s1, unmap_clears_the_leaf)
{
	__u64 iova = test_iova(variant->levels), gpa, size, flags;
	unsigned int level;

	ASSERT_OK(nest_s1_map(&self->s1, iova, 0x5000, SZ_4K, RW));
	ASSERT_OK(nest_s1_map(&self->s1, iova + SZ_2M, 0x200000, SZ_2M, RW));
	ASSERT_ERR(ENOENT, nest_s1_unmap(&self->s1, iova + SZ_4K, SZ_4K));
	ASSERT_ERR(ENOENT, nest_s1_unmap(&self->s1, iova, SZ_2M));	/* a table, not a leaf */
	ASSERT_ERR(ENOENT, nest_s1_unmap(&self->s1, iova + SZ_1G, SZ_1G));
	ASSERT_ERR(EINVAL, nest_s1_unmap(&self->s1, iova + 0x800, SZ_4K));
	ASSERT_OK(nest_s1_unmap(&self->s1, iova, SZ_4K));
	ASSERT_EQ(0, nest_s1_pte_read(nest_s1_pte(&self->s1, iova, 1)));
	ASSERT_FALSE(ref_walk(&self->s1, iova, &gpa, &size, &flags, &level));
	ASSERT_OK(nest_s1_unmap(&self->s1, iova + SZ_2M, SZ_2M));
	ASSERT_FALSE(ref_walk(&self->s1, iova + SZ_2M, &gpa, &size, &flags, &level));
	ASSERT_EQ(2, level);
	/* And again. */
	ASSERT_OK(nest_s1_map(&self->s1, iova, 0x7000, SZ_4K, RW));
	ASSERT_TRUE(ref_walk(&self->s1, iova, &gpa, &size, &flags, &level));
	ASSERT_EQ(0x7000, gpa);
}

TEST_F(s1, gpa_va_round_trip)
{
	__u64 gpa;
	__u64 *t = nest_s1_alloc_table(&self->s1, &gpa);

	ASSERT_EQ(POOL_GPA + SZ_4K, gpa);
	ASSERT_EQ((void *)t, nest_s1_gpa_to_va(&self->s1, gpa));
	ASSERT_EQ(gpa + 16, nest_s1_va_to_gpa(&self->s1, (char *)t + 16));
	ASSERT_EQ(NULL, nest_s1_gpa_to_va(&self->s1, POOL_GPA - 1));
	ASSERT_EQ(NULL, nest_s1_gpa_to_va(&self->s1, POOL_GPA + self->len));
	ASSERT_EQ(~0ULL, nest_s1_va_to_gpa(&self->s1, self->pool + self->len));
	ASSERT_EQ(~0ULL, nest_s1_va_to_gpa(&self->s1, self->pool - 1));
	/* A handed-out table is zeroed. */
	ASSERT_EQ(0, t[0]);
	ASSERT_EQ(0, t[511]);
}

TEST_F(s1, pte_outside_pool_stops_lookups)
{
	__u64 iova = test_iova(variant->levels), gpa;

	ASSERT_OK(nest_s1_map(&self->s1, iova, 0, SZ_4K, RW));
	/* A corrupted pointer leading out of the pool. */
	nest_s1_pte_write(nest_s1_pte(&self->s1, iova, 2), 0x7000000000ULL | P | RW);
	ASSERT_EQ(NULL, (void *)nest_s1_pte(&self->s1, iova, 1));
	ASSERT_ERR(ENOENT, nest_s1_pte_gpa(&self->s1, iova, 1, &gpa));
	ASSERT_ERR(EFAULT, nest_s1_map(&self->s1, iova + SZ_4K, 0, SZ_4K, RW));
	ASSERT_EQ(NULL, (void *)nest_s1_pte(&self->s1, iova, 0));
	ASSERT_EQ(NULL, (void *)nest_s1_pte(&self->s1, iova, variant->levels + 1));
}

/* Random mappings: each translates as mapped, per the reference walker. */
TEST_F(s1, random_mappings_match_reference_walk)
{
	const __u64 sizes[] = { SZ_4K, SZ_2M, SZ_1G };
	struct { __u64 iova, gpa, size; } maps[200];
	char *pool = alloc_buffer(1024 * SZ_4K, SZ_4K);
	unsigned int bits = variant->levels == 5 ? 57 : 48, level;
	__u64 rng = 7, gpa, size, flags;
	int n = 0, i, rc;

	ASSERT_OK(nest_s1_init(&self->s1, pool, POOL_GPA, 1024 * SZ_4K, variant->levels));
	while (n < 200) {
		__u64 sz = sizes[prng_next(&rng) % 3];
		__u64 iova = prng_next(&rng) & ((1ULL << bits) - 1) & ~(sz - 1);

		iova = (__u64)((__s64)(iova << (64 - bits)) >> (64 - bits));
		gpa = prng_next(&rng) & ((1ULL << 48) - 1) & ~(sz - 1);
		rc = nest_s1_map(&self->s1, iova, gpa, sz, RW | US);
		if (rc == -EEXIST)
			continue;
		ASSERT_OK(rc);
		maps[n].iova = iova;
		maps[n].gpa = gpa;
		maps[n].size = sz;
		n++;
	}
	for (i = 0; i < n; i++) {
		__u64 off = prng_next(&rng) & (maps[i].size - 1);

		TH_CONTEXT("mapping %d: iova 0x%llx size 0x%llx", i,
			   (unsigned long long)maps[i].iova, (unsigned long long)maps[i].size);
		ASSERT_TRUE(ref_walk(&self->s1, maps[i].iova + off, &gpa, &size, &flags, &level));
		ASSERT_EQ(maps[i].gpa + off, gpa);
		ASSERT_EQ(maps[i].size, size);
		ASSERT_EQ(P | RW | US | (size > SZ_4K ? PS : 0), flags);
	}
	munmap(pool, 1024 * SZ_4K);
}

TEST(canonical_and_index_helpers)
{
	ASSERT_TRUE(nest_s1_canonical(0, 4));
	ASSERT_TRUE(nest_s1_canonical((1ULL << 47) - 1, 4));
	ASSERT_FALSE(nest_s1_canonical(1ULL << 47, 4));
	ASSERT_TRUE(nest_s1_canonical(0xffff800000000000ULL, 4));
	ASSERT_FALSE(nest_s1_canonical(0xfff0000000000000ULL, 4));
	ASSERT_TRUE(nest_s1_canonical(1ULL << 47, 5));
	ASSERT_FALSE(nest_s1_canonical(1ULL << 56, 5));
	ASSERT_TRUE(nest_s1_canonical(0xff00000000000000ULL, 5));
	ASSERT_EQ(12, nest_s1_shift(1));
	ASSERT_EQ(48, nest_s1_shift(5));
	ASSERT_EQ(0x1ff, nest_s1_index(0xff8000000000ULL, 4));
	ASSERT_EQ(1, nest_s1_index(0x1000, 1));
	ASSERT_EQ(1, nest_s1_index(1ULL << 48, 5));
}

TEST_HARNESS_MAIN
