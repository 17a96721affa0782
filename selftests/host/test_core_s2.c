// SPDX-License-Identifier: GPL-2.0
/*
 * test_core_s2.c - host unit tests of kernel/core: stage 2: map, unmap, huge pages, table reuse, dirty bits.
 * Shared parts: test_core.h.
 */
#include "test_core.h"

/* ------------------------------------------------------------ stage 2 */

TEST(s2_map_walk)
{
	struct env e;
	struct nest_s2_walk_res r;
	struct nest_fault f;

	env_init(&e);
	ASSERT_OK(nest_s2_walk(&e.s2, 5 * 4096 + 123, NEST_ACC_READ, &r, &f));
	ASSERT_EQ(5, r.ofn);
	ASSERT_EQ(1, r.level);
	ASSERT_EQ(4, r.mem_refs);
	ASSERT_ERR(EFAULT, nest_s2_walk(&e.s2, ENV_FRAMES * 4096, NEST_ACC_READ,
					&r, &f));
	ASSERT_EQ(NEST_FAULT_REASON_PTE_FETCH, f.reason);
	ASSERT_EQ(2, f.stage);
	ASSERT_EQ(1, f.level);
	ASSERT_ERR(EFAULT, nest_s2_walk(&e.s2, 1ULL << 40, NEST_ACC_READ, &r,
					&f));
	ASSERT_EQ(4, f.level);
	ASSERT_ERR(EFAULT, nest_s2_walk(&e.s2, 1ULL << 35, NEST_ACC_READ, &r,
					&f));
	ASSERT_EQ(3, f.level);
	ASSERT_ERR(EFAULT, nest_s2_walk(&e.s2, 1ULL << 48, NEST_ACC_READ, &r,
					&f));
	ASSERT_EQ(NEST_FAULT_REASON_OOR_ADDRESS, f.reason);
	env_fini(&e);
}

TEST(s2_huge_pages)
{
	struct testmem tm = { .nr_frames = 1 };
	struct nest_s2_walk_res r;
	struct nest_fault f;
	struct nest_s2 s2;
	u64 un;

	ASSERT_OK(nest_s2_init(&s2, &tm_ops, &tm));
	/* 1G + 2M + 4K, aligned ofn run: a 1G, a 2M and a 4K leaf */
	ASSERT_OK(nest_s2_map(&s2, SZ_1G, SZ_1G + SZ_2M + 4096, 1ULL << 18,
			      NEST_PROT_READ, true));
	ASSERT_OK(nest_s2_walk(&s2, SZ_1G + 0x12345678, 0, &r, &f));
	ASSERT_EQ(3, r.level);
	ASSERT_EQ(30, r.page_shift);
	ASSERT_EQ(2, r.mem_refs);
	ASSERT_EQ((1ULL << 18) + (0x12345678 >> 12), r.ofn);
	ASSERT_OK(nest_s2_walk(&s2, 2 * SZ_1G + 5, 0, &r, &f));
	ASSERT_EQ(2, r.level);
	ASSERT_OK(nest_s2_walk(&s2, 2 * SZ_1G + SZ_2M, 0, &r, &f));
	ASSERT_EQ(1, r.level);
	ASSERT_EQ((1ULL << 18) + (SZ_1G + SZ_2M) / 4096, r.ofn);
	ASSERT_EQ(4, s2.nr_tables);	/* root, L3, L2 (for 2M), L1 */
	/* misaligned ofn run: 4K leaves only */
	ASSERT_OK(nest_s2_map(&s2, 8 * SZ_1G, SZ_2M, 1, NEST_PROT_READ, true));
	ASSERT_OK(nest_s2_walk(&s2, 8 * SZ_1G, 0, &r, &f));
	ASSERT_EQ(1, r.level);
	/* allow_huge off */
	ASSERT_OK(nest_s2_map(&s2, 16 * SZ_1G, SZ_2M, 512, NEST_PROT_READ,
			      false));
	ASSERT_OK(nest_s2_walk(&s2, 16 * SZ_1G + 4096 * 7, 0, &r, &f));
	ASSERT_EQ(1, r.level);
	ASSERT_EQ(519, r.ofn);
	/* partial unmap of a huge leaf is refused and changes nothing */
	ASSERT_ERR(EINVAL, nest_s2_unmap(&s2, SZ_1G, SZ_2M, &un));
	ASSERT_ERR(EINVAL, nest_s2_unmap(&s2, SZ_1G + 4096, SZ_1G, &un));
	ASSERT_ERR(EINVAL, nest_s2_unmap(&s2, 2 * SZ_1G, 4096, &un));
	ASSERT_OK(nest_s2_walk(&s2, SZ_1G, 0, &r, &f));
	ASSERT_OK(nest_s2_unmap(&s2, 0, 32 * SZ_1G, &un));
	ASSERT_EQ(SZ_1G + SZ_2M + 4096 + 2 * SZ_2M, un);
	/* the L3, not wholly covered but left empty, goes too */
	ASSERT_EQ(1, s2.nr_tables);
	ASSERT_OK(nest_s2_unmap(&s2, 0, 1ULL << 39, &un));
	ASSERT_EQ(0, un);
	ASSERT_EQ(1, s2.nr_tables);
	nest_s2_destroy(&s2);
	ASSERT_EQ(0, tm.tables);
}

TEST(s2_map_errors)
{
	struct testmem tm = { .nr_frames = 1 };
	struct nest_s2_walk_res r;
	struct nest_fault f;
	struct nest_s2 s2;
	u64 un;

	ASSERT_OK(nest_s2_init(&s2, &tm_ops, &tm));
	ASSERT_ERR(EINVAL, nest_s2_map(&s2, 100, 4096, 0, NEST_PROT_READ,
				       true));
	ASSERT_ERR(EINVAL, nest_s2_map(&s2, 0, 100, 0, NEST_PROT_READ, true));
	ASSERT_ERR(EINVAL, nest_s2_map(&s2, 0, 0, 0, NEST_PROT_READ, true));
	ASSERT_ERR(EINVAL, nest_s2_map(&s2, 0, 4096, 0, 0, true));
	ASSERT_ERR(EINVAL, nest_s2_map(&s2, 0, 4096, 0, 4, true));
	ASSERT_ERR(EOVERFLOW, nest_s2_map(&s2, ~0xfffULL, 8192, 0,
					  NEST_PROT_READ, true));
	ASSERT_ERR(EINVAL, nest_s2_map(&s2, 1ULL << 48, 4096, 0, NEST_PROT_READ,
				       true));
	ASSERT_ERR(EOVERFLOW, nest_s2_map(&s2, 0, 8192, (1ULL << 52) - 1,
					  NEST_PROT_READ, true));
	ASSERT_ERR(EOVERFLOW, nest_s2_map(&s2, 0, 8192, ~0ULL, NEST_PROT_READ,
					  true));
	/* overlap: -EEXIST and the new range is rolled back */
	ASSERT_OK(nest_s2_map(&s2, 64 * 4096, 4096, 7, NEST_PROT_READ, true));
	ASSERT_ERR(EEXIST, nest_s2_map(&s2, 0, SZ_2M, 0, NEST_PROT_WRITE,
				       false));
	ASSERT_ERR(EFAULT, nest_s2_walk(&s2, 0, 0, &r, &f));
	ASSERT_ERR(EFAULT, nest_s2_walk(&s2, 63 * 4096, 0, &r, &f));
	ASSERT_OK(nest_s2_walk(&s2, 64 * 4096, 0, &r, &f));
	ASSERT_EQ(7, r.ofn);
	/* a huge leaf over an existing table: -EEXIST too */
	ASSERT_ERR(EEXIST, nest_s2_map(&s2, 0, SZ_2M, 0, NEST_PROT_WRITE,
				       true));
	ASSERT_OK(nest_s2_unmap(&s2, 0, SZ_2M, &un));
	ASSERT_EQ(4096, un);
	ASSERT_OK(nest_s2_unmap(&s2, 0, SZ_2M, &un));
	ASSERT_EQ(0, un);
	ASSERT_ERR(EOVERFLOW, nest_s2_unmap(&s2, ~0xfffULL, 8192, &un));
	/* permissions */
	ASSERT_OK(nest_s2_map(&s2, 0, 4096, 1, NEST_PROT_WRITE, true));
	ASSERT_ERR(EFAULT, nest_s2_walk(&s2, 0, NEST_ACC_READ, &r, &f));
	ASSERT_EQ(NEST_FAULT_REASON_PERMISSION, f.reason);
	ASSERT_OK(nest_s2_walk(&s2, 0, NEST_ACC_WRITE, &r, &f));
	nest_s2_destroy(&s2);
	ASSERT_EQ(0, tm.tables);
}

/*
 * Table memory whose allocations fail once @budget is spent (negative:
 * never), to drive nest_s2_map() into -ENOMEM half way.
 */
struct budget_mem {
	struct testmem tm;	/* first: tm_read_u64() etc. take it as priv */
	long budget;
};

static void *budget_alloc_table(void *priv)
{
	struct budget_mem *b = priv;

	if (!b->budget)
		return NULL;
	if (b->budget > 0)
		b->budget--;
	return tm_alloc_table(&b->tm);
}

static const struct nest_mem_ops budget_ops = {
	.alloc_table = budget_alloc_table,
	.free_table = tm_free_table,
	.read_u64 = tm_read_u64,
	.cmpxchg_u64 = tm_cmpxchg_u64,
};

/* @gpa translates to @ofn through a leaf of @level. */
#define ASSERT_S2_LEAF(s2_p, gpa_, ofn_, level_) do {			\
	struct nest_s2_walk_res __r;					\
	struct nest_fault __f;						\
									\
	ASSERT_OK(nest_s2_walk(s2_p, gpa_, 0, &__r, &__f));		\
	ASSERT_EQ((u64)(ofn_), __r.ofn);				\
	ASSERT_EQ(level_, __r.level);					\
} while (0)

/*
 * What an unmap leaves behind never blocks a later map: 4K, 2M, 1G and 4K
 * again at one GPA, each unmapped before the next; a huge leaf goes in
 * only once the last small mapping under it is gone. Every table an unmap
 * empties is freed at once.
 */
TEST(s2_map_after_unmap_mixed_sizes)
{
	const u64 x = 3 * SZ_1G;
	struct testmem tm = { .nr_frames = 1 };
	struct nest_s2 s2;
	u64 un;

	ASSERT_OK(nest_s2_init(&s2, &tm_ops, &tm));
	ASSERT_OK(nest_s2_map(&s2, x, 4096, 9, NEST_PROT_READ, true));
	ASSERT_S2_LEAF(&s2, x, 9, 1);
	ASSERT_EQ(4, s2.nr_tables);
	ASSERT_OK(nest_s2_unmap(&s2, x, 4096, &un));
	ASSERT_EQ(4096, un);
	ASSERT_EQ(1, s2.nr_tables);
	/* 2M where the 4K was: a 2M leaf */
	ASSERT_OK(nest_s2_map(&s2, x, SZ_2M, 512, NEST_PROT_READ, true));
	ASSERT_S2_LEAF(&s2, x + 4096, 513, 2);
	ASSERT_OK(nest_s2_unmap(&s2, x, SZ_2M, &un));
	ASSERT_EQ(SZ_2M, un);
	ASSERT_EQ(1, s2.nr_tables);
	/* 1G where the 2M was */
	ASSERT_OK(nest_s2_map(&s2, x, SZ_1G, 1ULL << 18, NEST_PROT_READ, true));
	ASSERT_S2_LEAF(&s2, x + SZ_2M, (1ULL << 18) + 512, 3);
	ASSERT_EQ(2, s2.nr_tables);
	ASSERT_OK(nest_s2_unmap(&s2, x, SZ_1G, &un));
	ASSERT_EQ(SZ_1G, un);
	/* 4K where the 1G was: tables again */
	ASSERT_OK(nest_s2_map(&s2, x + 4096, 4096, 3, NEST_PROT_READ, true));
	ASSERT_S2_LEAF(&s2, x + 4096, 3, 1);
	ASSERT_OK(nest_s2_unmap(&s2, x + 4096, 4096, &un));
	ASSERT_EQ(1, s2.nr_tables);

	/* Partial unmaps: the 2M leaf waits for the last 4K under it. */
	ASSERT_OK(nest_s2_map(&s2, x + SZ_2M, SZ_2M, 1024, NEST_PROT_READ,
			      true));
	ASSERT_OK(nest_s2_map(&s2, x, 4096, 5, NEST_PROT_READ, true));
	ASSERT_OK(nest_s2_map(&s2, x + 8192, 4096, 6, NEST_PROT_READ, true));
	ASSERT_OK(nest_s2_unmap(&s2, x, 4096, &un));
	ASSERT_ERR(EEXIST, nest_s2_map(&s2, x, SZ_2M, 0, NEST_PROT_READ, true));
	ASSERT_S2_LEAF(&s2, x + 8192, 6, 1);
	ASSERT_ERR(EEXIST, nest_s2_map(&s2, x, SZ_1G, 0, NEST_PROT_READ, true));
	ASSERT_S2_LEAF(&s2, x + SZ_2M, 1024, 2);
	ASSERT_OK(nest_s2_unmap(&s2, x + 8192, 4096, &un));
	ASSERT_OK(nest_s2_map(&s2, x, SZ_2M, 0, NEST_PROT_READ, true));
	ASSERT_S2_LEAF(&s2, x + 8192, 2, 2);
	ASSERT_EQ(3, s2.nr_tables);	/* root, L3, L2 */
	ASSERT_ERR(EEXIST, nest_s2_map(&s2, x, SZ_1G, 0, NEST_PROT_READ, true));
	ASSERT_OK(nest_s2_unmap(&s2, x, SZ_1G, &un));
	ASSERT_EQ(2 * SZ_2M, un);
	ASSERT_OK(nest_s2_map(&s2, x, SZ_1G, 0, NEST_PROT_READ, true));
	ASSERT_S2_LEAF(&s2, x + SZ_1G - 1, (SZ_1G >> 12) - 1, 3);
	ASSERT_OK(nest_s2_unmap(&s2, 0, 1ULL << 48, &un));
	ASSERT_EQ(SZ_1G, un);
	ASSERT_EQ(1, s2.nr_tables);
	nest_s2_destroy(&s2);
	ASSERT_EQ(0, tm.tables);
}

/* A map that fails half way leaves no table behind either. */
TEST(s2_failed_map_leaves_no_table)
{
	struct budget_mem b = { .tm = { .nr_frames = 1 }, .budget = -1 };
	struct nest_s2 s2;
	u64 un;

	ASSERT_OK(nest_s2_init(&s2, &budget_ops, &b));
	/* -ENOMEM at the L1 table of 1G + 4K: the L3 and L2 go again */
	b.budget = 2;
	ASSERT_ERR(ENOMEM, nest_s2_map(&s2, SZ_1G + 4096, 4096, 1,
				       NEST_PROT_READ, true));
	ASSERT_EQ(1, s2.nr_tables);
	ASSERT_EQ(1, b.tm.tables);
	b.budget = -1;
	ASSERT_OK(nest_s2_map(&s2, SZ_1G, SZ_1G, 0, NEST_PROT_READ, true));
	ASSERT_S2_LEAF(&s2, SZ_1G + 4096, 1, 3);
	ASSERT_OK(nest_s2_unmap(&s2, SZ_1G, SZ_1G, &un));
	/* -ENOMEM after a first 2M of 4K leaves: that 2M is undone too */
	b.budget = 3;
	ASSERT_ERR(ENOMEM, nest_s2_map(&s2, 0, SZ_2M + 4096, 0, NEST_PROT_READ,
				       false));
	ASSERT_EQ(1, s2.nr_tables);
	b.budget = -1;
	ASSERT_OK(nest_s2_map(&s2, 0, SZ_2M, 0, NEST_PROT_READ, true));
	ASSERT_S2_LEAF(&s2, 4096, 1, 2);
	ASSERT_OK(nest_s2_unmap(&s2, 0, SZ_2M, &un));
	/* -EEXIST half way: the tables of the mapping in the way stay */
	ASSERT_OK(nest_s2_map(&s2, SZ_2M + 4096, 4096, 7, NEST_PROT_READ,
			      true));
	ASSERT_ERR(EEXIST, nest_s2_map(&s2, 0, 2 * SZ_2M, 1, NEST_PROT_READ,
				       true));
	ASSERT_EQ(4, s2.nr_tables);
	ASSERT_S2_LEAF(&s2, SZ_2M + 4096, 7, 1);
	ASSERT_OK(nest_s2_map(&s2, 0, SZ_2M, 0, NEST_PROT_READ, true));
	ASSERT_OK(nest_s2_unmap(&s2, 0, 2 * SZ_2M, &un));
	ASSERT_EQ(SZ_2M + 4096, un);
	ASSERT_EQ(1, s2.nr_tables);
	nest_s2_destroy(&s2);
	ASSERT_EQ(0, b.tm.tables);
}

#define S2_RANDOM_OPS	5000
#define S2_RANDOM_MAX	64

/*
 * Random maps and unmaps of 4K, 2M and 1G sized mappings over a few GiB,
 * as an IOAS makes them (whole mappings unmapped), some under allocation
 * failures, against a model: a map succeeds exactly when it overlaps
 * nothing mapped, with the largest leaves the GPA and ofn alignment allow,
 * every mapping translates to its own ofns, and once everything is
 * unmapped only the root table is left.
 */
TEST(s2_map_unmap_random)
{
	struct budget_mem b = { .tm = { .nr_frames = 1 }, .budget = -1 };
	static const u64 sizes[] = { 4096, SZ_2M, SZ_1G };
	struct { u64 gpa, len, ofn; int level; } m[S2_RANDOM_MAX];
	long nr_ok[4] = { 0 }, nr_eexist = 0, nr_enomem = 0, nr_empty = 0;
	int nr = 0, i, j, op;
	struct nest_s2 s2;
	u64 un;

	rng_state = opt_seed ^ 0x52e5;
	TH_LOG("seed %" PRIu64, opt_seed);
	ASSERT_OK(nest_s2_init(&s2, &budget_ops, &b));
	for (op = 0; op < S2_RANDOM_OPS; op++) {
		int sz = rnd_below(3);
		u64 size = sizes[sz];
		u64 len = size * (size == SZ_1G ? 1 : 1 + rnd_below(3));
		/* a few GiB, crowded at the start of each so sizes collide */
		u64 gpa = rnd_below(4) * SZ_1G + rnd_below(3) * SZ_2M +
			  rnd_below(3) * 4096;
		bool misaligned = !rnd_below(4);
		u64 ofn = rnd_below(4) << 18 | misaligned;
		bool huge = rnd_below(4), limited = !rnd_below(8);
		bool overlap = false;
		int rc;

		TH_CONTEXT("op %d: %d mapped", op, nr);
		if (nr && (nr == S2_RANDOM_MAX || rnd_below(2))) {
			i = rnd_below(nr);
			ASSERT_OK(nest_s2_unmap(&s2, m[i].gpa, m[i].len, &un));
			ASSERT_EQ(m[i].len, un);
			m[i] = m[--nr];
			if (!nr) {
				ASSERT_EQ(1, s2.nr_tables);
				nr_empty++;
			}
			continue;
		}
		gpa = ALIGN_DOWN(gpa, size);
		for (i = 0; i < nr; i++)
			if (gpa < m[i].gpa + m[i].len && m[i].gpa < gpa + len)
				overlap = true;
		b.budget = limited ? (long)rnd_below(4) : -1;
		rc = nest_s2_map(&s2, gpa, len, ofn, NEST_PROT_READ, huge);
		b.budget = -1;
		if (limited && rc == -ENOMEM) {
			nr_enomem++;	/* may come before the overlap */
		} else if (overlap) {
			ASSERT_ERR(EEXIST, rc);
			nr_eexist++;
		} else {
			ASSERT_OK(rc);
		}
		if (!rc) {
			int level = huge && !misaligned ? sz + 1 : 1;

			m[nr++] = (typeof(m[0])){ gpa, len, ofn, level };
			nr_ok[level]++;
		}
		ASSERT_EQ(s2.nr_tables, (u64)b.tm.tables);
		if (!nr)
			ASSERT_EQ(1, s2.nr_tables);
		for (i = 0; i < nr; i++)
			for (j = 0; j < 2; j++) {
				u64 off = j ? m[i].len - 4096 : 0;

				ASSERT_S2_LEAF(&s2, m[i].gpa + off,
					       m[i].ofn + (off >> 12),
					       m[i].level);
			}
	}
	TH_CONTEXT("the end: %d mapped", nr);
	while (nr--)
		ASSERT_OK(nest_s2_unmap(&s2, m[nr].gpa, m[nr].len, &un));
	ASSERT_EQ(1, s2.nr_tables);
	nest_s2_destroy(&s2);
	ASSERT_EQ(0, b.tm.tables);
	TH_LOG("maps with 4K leaves %ld, 2M %ld, 1G %ld; EEXIST %ld, ENOMEM %ld; emptied %ld times",
	       nr_ok[1], nr_ok[2], nr_ok[3], nr_eexist, nr_enomem, nr_empty);
	/* the mix this test is for did happen */
	ASSERT_TRUE(nr_ok[1] && nr_ok[2] && nr_ok[3] && nr_eexist &&
		    nr_enomem && nr_empty);
}

TEST(s2_dirty)
{
	struct testmem tm = { .nr_frames = 1 };
	struct nest_s2_walk_res r;
	struct nest_fault f;
	struct nest_s2 s2;
	u64 bm[16], n;
	int i;

	ASSERT_OK(nest_s2_init(&s2, &tm_ops, &tm));
	ASSERT_OK(nest_s2_map(&s2, 0, SZ_2M, 0, 3, false));
	ASSERT_OK(nest_s2_map(&s2, SZ_2M, SZ_2M, 512, 3, true));
	ASSERT_OK(nest_s2_walk(&s2, 3 * 4096, NEST_ACC_READ, &r, &f));
	ASSERT_OK(nest_s2_walk(&s2, 5 * 4096 + 8, NEST_ACC_WRITE, &r, &f));
	ASSERT_OK(nest_s2_walk(&s2, 511 * 4096, NEST_ACC_WRITE, &r, &f));
	memset(bm, 0, sizeof(bm));
	ASSERT_OK(nest_s2_read_dirty(&s2, 0, SZ_2M, bm, false, &n));
	ASSERT_EQ(2, n);
	ASSERT_EQ(BIT_ULL(5), bm[0]);
	ASSERT_EQ(BIT_ULL(63), bm[7]);
	for (i = 1; i < 7; i++)
		ASSERT_EQ(0, bm[i]);
	/* no-clear left them; clear now */
	memset(bm, 0, sizeof(bm));
	ASSERT_OK(nest_s2_read_dirty(&s2, 0, SZ_2M, bm, true, &n));
	ASSERT_EQ(2, n);
	memset(bm, 0, sizeof(bm));
	ASSERT_OK(nest_s2_read_dirty(&s2, 0, SZ_2M, bm, true, &n));
	ASSERT_EQ(0, n);
	/* huge leaf: all 512 pages; partly covered leaf is kept dirty */
	ASSERT_OK(nest_s2_walk(&s2, SZ_2M + 4096, NEST_ACC_WRITE, &r, &f));
	ASSERT_EQ(0, r.dirty);
	ASSERT_OK(nest_s2_read_dirty(&s2, SZ_2M, 64 * 4096, bm, true, &n));
	ASSERT_EQ(64, n);
	ASSERT_EQ(~0ULL, bm[0]);
	ASSERT_OK(nest_s2_walk(&s2, SZ_2M, NEST_ACC_READ, &r, &f));
	ASSERT_EQ(1, r.dirty);
	memset(bm, 0, sizeof(bm));
	ASSERT_OK(nest_s2_read_dirty(&s2, SZ_2M, SZ_2M, bm, true, &n));
	ASSERT_EQ(512, n);
	ASSERT_OK(nest_s2_walk(&s2, SZ_2M, NEST_ACC_READ, &r, &f));
	ASSERT_EQ(0, r.dirty);
	nest_s2_destroy(&s2);
}
