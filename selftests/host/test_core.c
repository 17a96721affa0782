// SPDX-License-Identifier: GPL-2.0
/*
 * test_core.c - host unit tests of kernel/core, built in user space.
 *
 * The tests use the shared KTAP harness, selftests/lib/harness.h: each runs
 * in its own child process. `test_core --list` prints the test names, one a
 * line; `test_core [--seed N] [--layouts N] [-t NAME]...` runs all or the
 * named tests (-h lists the options). --seed and --layouts drive the
 * random-layout tests (ref_random_layouts, walk_no_update_random,
 * walk_trace_random), which print them as a diagnostic so that a failing
 * run can be repeated; --seed also drives s2_map_unmap_random.
 *
 * "env": a small guest memory (ENV_FRAMES frames) whose GPA space is mapped
 * 1:1 (gpa = ofn * 4096) read-write in stage 2 with 4 KiB leaves, so tests
 * can write stage-1 tables by GPA. The random-layout tests build their own.
 */
#include <inttypes.h>
#include "harness.h"
#include "testmem.h"
#include "ref_walk.h"

#define P	BIT_ULL(0)
#define RW	BIT_ULL(1)
#define US	BIT_ULL(2)
#define A	BIT_ULL(5)
#define D	BIT_ULL(6)
#define PS	BIT_ULL(7)
#define XD	BIT_ULL(63)
#define SZ_2M	(1ULL << 21)
#define SZ_1G	(1ULL << 30)

static u64 opt_seed = 1;
static long opt_layouts = 3000;

HARNESS_OPTION(seed, "--seed", "N",
	       "seed of the random-layout tests (default 1)")
{
	return harness_parse_u64(arg, &opt_seed);
}

HARNESS_OPTION(layouts, "--layouts", "N",
	       "layouts each random-layout test checks (default 3000)")
{
	uint64_t n;

	if (harness_parse_u64(arg, &n) || n > LONG_MAX)
		return -1;
	opt_layouts = (long)n;
	return 0;
}

/* xorshift64*: deterministic from the printed seed */
static u64 rng_state;

static u64 rnd(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545f4914f6cdd1dULL;
}

static u64 rnd_below(u64 n)
{
	return rnd() % n;
}

/* ------------------------------------------------------------------ env */

#define ENV_FRAMES 64

struct env {
	struct testmem tm;
	struct nest_s2 s2;
	u64 next_frame;
};

static void env_init(struct env *e)
{
	memset(e, 0, sizeof(*e));
	e->tm.nr_frames = ENV_FRAMES;
	e->tm.mem = aligned_alloc(4096, ENV_FRAMES * 4096);
	memset(e->tm.mem, 0, ENV_FRAMES * 4096);
	if (nest_s2_init(&e->s2, &tm_ops, &e->tm) ||
	    nest_s2_map(&e->s2, 0, ENV_FRAMES * 4096, 0,
			NEST_PROT_READ | NEST_PROT_WRITE, false))
		abort();
	e->next_frame = 1;
}

static void env_fini(struct env *e)
{
	nest_s2_destroy(&e->s2);
	if (e->tm.tables)
		TH_LOG("leaked %ld stage-2 tables", e->tm.tables);
	free(e->tm.mem);
}

static u64 *env_pte(struct env *e, u64 gpa)
{
	return (u64 *)(e->tm.mem + gpa);
}

static u64 env_table(struct env *e)
{
	return e->next_frame++ * 4096;
}

/*
 * Map @iova to @out in the stage-1 tables rooted at @root with a leaf at
 * @leaf_level; table PTEs get @tflags, the leaf @lflags.
 */
static void s1_map(struct env *e, u64 root, int levels, u64 iova, u64 out,
		   int leaf_level, u64 tflags, u64 lflags)
{
	u64 table = root;
	int l;

	for (l = levels; l > leaf_level; l--) {
		u64 *pte = env_pte(e, table + ((iova >> (12 + 9 * (l - 1))) &
					       511) * 8);
		if (!(*pte & P))
			*pte = env_table(e) | tflags;
		table = *pte & GENMASK_ULL(47, 12);
	}
	*env_pte(e, table + ((iova >> (12 + 9 * (leaf_level - 1))) & 511) * 8) =
		out | lflags | (leaf_level > 1 ? PS : 0);
}

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

/* ------------------------------------------------------------ stage 1 */

TEST(s1_4_and_5_level)
{
	struct nest_s1_desc d = { .levels = 4, .flags = NEST_S1_F_SRE };
	u64 iova = 0x00007f1234567000ULL;
	struct nest_walk_res r;
	struct nest_fault f;
	struct env e;

	env_init(&e);
	d.root_gpa = env_table(&e);
	s1_map(&e, d.root_gpa, 4, iova, 40 * 4096, 1, P | RW | US, P | RW | US);
	ASSERT_OK(nest_s1_walk(&e.s2, &d, iova + 0x123, NEST_ACC_READ, &r, &f));
	ASSERT_EQ(40, r.ofn);
	ASSERT_EQ(40 * 4096 + 0x123, r.gpa);
	ASSERT_EQ(24, r.mem_refs);	/* (4 + 1) * (4 + 1) - 1 */
	ASSERT_EQ(4, r.s1_levels);
	ASSERT_EQ(12, r.page_shift);
	ASSERT_EQ(4, r.nr_tables);
	ASSERT_EQ(d.root_gpa, r.table_gpa[0]);
	ASSERT_EQ(NEST_PERM_ALL, r.perm);
	/* 5 levels: 5 * 5 + 4 = 29 */
	d.levels = 5;
	d.root_gpa = env_table(&e);
	iova = 0x00ff7f1234567000ULL;
	s1_map(&e, d.root_gpa, 5, iova, 41 * 4096, 1, P | RW | US, P | US);
	ASSERT_OK(nest_s1_walk(&e.s2, &d, iova, NEST_ACC_READ, &r, &f));
	ASSERT_EQ(41, r.ofn);
	ASSERT_EQ(29, r.mem_refs);
	/* no WPD: privileged writes honour R/W=0 too */
	ASSERT_EQ(NEST_PERM_ALL & ~(NEST_PERM_WRITE | NEST_PERM_PRIV_WRITE),
		  r.perm);
	/* the same IOVA is non-canonical with 4 levels */
	d.levels = 4;
	ASSERT_ERR(EFAULT, nest_s1_walk(&e.s2, &d, iova, NEST_ACC_READ, &r,
					&f));
	ASSERT_EQ(NEST_FAULT_REASON_OOR_ADDRESS, f.reason);
	ASSERT_EQ(1, f.stage);
	ASSERT_EQ(0, f.level);
	/* canonical high half is fine for 4 levels */
	d.root_gpa = env_table(&e);
	iova = 0xffff800000001000ULL;
	s1_map(&e, d.root_gpa, 4, iova, 42 * 4096, 1, P | RW, P | RW);
	ASSERT_OK(nest_s1_walk(&e.s2, &d, iova, NEST_ACC_READ | NEST_ACC_PRIV,
			       &r, &f));
	ASSERT_EQ(42, r.ofn);
	ASSERT_ERR(EFAULT, nest_s1_walk(&e.s2, &d, 0x0000800000001000ULL,
					NEST_ACC_READ, &r, &f));
	ASSERT_EQ(NEST_FAULT_REASON_OOR_ADDRESS, f.reason);
	env_fini(&e);
}

TEST(s1_huge_pages)
{
	struct nest_s1_desc d = { .levels = 4, .flags = NEST_S1_F_SRE };
	struct testmem tm = { .nr_frames = 2048 };
	struct nest_walk_res r;
	struct nest_fault f;
	struct nest_s2 s2;
	u64 *m;

	/* GPA [0, 4M) -> ofn [0, 1024) with 2M leaves, tables at 0..3 */
	tm.mem = calloc(2048, 4096);
	ASSERT_OK(nest_s2_init(&s2, &tm_ops, &tm));
	ASSERT_OK(nest_s2_map(&s2, 0, 2 * SZ_2M, 0, 3, true));
	ASSERT_OK(nest_s2_map(&s2, SZ_1G, SZ_2M, 1024, 3, false));
	m = (u64 *)tm.mem;
	d.root_gpa = 0;
	m[0] = 1 * 4096 | P | RW | US;			/* L4[0] -> L3 at 1 */
	m[512 + 0] = 2 * 4096 | P | RW | US;		/* L3[0] -> L2 at 2 */
	m[512 + 1] = SZ_1G | P | RW | US | PS;		/* L3[1]: 1G at 1G */
	m[1024 + 1] = SZ_2M | P | RW | US | PS;		/* L2[1]: 2M at 2M */
	m[1024 + 2] = SZ_2M | P | RW | US | PS | BIT_ULL(13); /* rsvd */
	m[512 + 2] = SZ_1G | P | RW | US | PS | BIT_ULL(29);  /* rsvd */
	m[512 + 3] = SZ_1G | P | RW | US | PS | BIT_ULL(12); /* PAT: ok */
	m[1024 + 3] = SZ_2M | BIT_ULL(12) | P | PS;	/* PAT: ok */

	ASSERT_OK(nest_s1_walk(&s2, &d, SZ_2M + 0x5123, 1, &r, &f));
	ASSERT_EQ(512 + 5, r.ofn);
	ASSERT_EQ(21, r.page_shift);
	ASSERT_EQ(3, r.s1_levels);
	ASSERT_EQ(3 * 4 + 3, r.mem_refs);	/* s2 walks are 3 deep */
	/* 1G stage-1 page over 4K stage-2 leaves: 4K translation */
	ASSERT_OK(nest_s1_walk(&s2, &d, SZ_1G + 0x7000, 1, &r, &f));
	ASSERT_EQ(1024 + 7, r.ofn);
	ASSERT_EQ(12, r.page_shift);
	ASSERT_ERR(EFAULT, nest_s1_walk(&s2, &d, SZ_1G + SZ_2M, 1, &r, &f));
	ASSERT_EQ(2, f.stage);
	ASSERT_EQ(NEST_FAULT_REASON_PTE_FETCH, f.reason);
	ASSERT_EQ(SZ_1G + SZ_2M, f.gpa);
	ASSERT_EQ(0, f.s1_level);
	ASSERT_ERR(EFAULT, nest_s1_walk(&s2, &d, 2 * SZ_2M, 1, &r, &f));
	ASSERT_EQ(NEST_FAULT_REASON_PTE_FETCH, f.reason);
	ASSERT_EQ(NEST_FAULT_F_RSVD, f.flags & NEST_FAULT_F_RSVD);
	ASSERT_EQ(2, f.level);
	ASSERT_ERR(EFAULT, nest_s1_walk(&s2, &d, 2 * SZ_1G, 1, &r, &f));
	ASSERT_EQ(NEST_FAULT_F_RSVD, f.flags & NEST_FAULT_F_RSVD);
	ASSERT_EQ(3, f.level);
	ASSERT_EQ(512 * 8 + 2 * 8, f.gpa);
	ASSERT_OK(nest_s1_walk(&s2, &d, 3 * SZ_1G + 0x7000, 1, &r, &f));
	ASSERT_EQ(1024 + 7, r.ofn);	/* bit 12 is PAT, not address */
	ASSERT_ERR(EFAULT, nest_s1_walk(&s2, &d, 3 * SZ_1G + SZ_2M, 1, &r, &f));
	ASSERT_EQ(2, f.stage);	/* 1G + 2M unmapped in stage 2 */
	ASSERT_OK(nest_s1_walk(&s2, &d, 3 * SZ_2M,
			       NEST_ACC_READ | NEST_ACC_PRIV, &r, &f));
	ASSERT_EQ(NEST_PERM_READ | NEST_PERM_EXEC | NEST_PERM_PRIV, r.perm);
	/* PS at level 4 is reserved */
	m[1] = 0 | P | RW | US | PS;
	ASSERT_ERR(EFAULT, nest_s1_walk(&s2, &d, 1ULL << 39, 1, &r, &f));
	ASSERT_EQ(NEST_FAULT_REASON_PTE_FETCH, f.reason);
	ASSERT_EQ(NEST_FAULT_F_RSVD, f.flags & NEST_FAULT_F_RSVD);
	ASSERT_EQ(4, f.level);
	nest_s2_destroy(&s2);
	free(tm.mem);
}

TEST(s1_faults)
{
	struct nest_s1_desc d = { .levels = 4, .flags = NEST_S1_F_SRE };
	u64 iova = 0x12345000ULL, leaf_gpa;
	struct nest_walk_res r;
	struct nest_fault f;
	u8 aborts[ENV_FRAMES] = { 0 };
	struct env e;
	u64 *leaf, *l4;

	env_init(&e);
	d.root_gpa = env_table(&e);
	s1_map(&e, d.root_gpa, 4, iova, 50 * 4096, 1, P | RW | US,
	       P | RW | US);
	l4 = env_pte(&e, d.root_gpa);
	leaf_gpa = 4 * 4096 + ((iova >> 12) & 511) * 8;
	leaf = env_pte(&e, leaf_gpa);
	ASSERT_OK(nest_s1_walk(&e.s2, &d, iova, NEST_ACC_WRITE, &r, &f));

	/* bad descriptors */
	d.levels = 3;
	ASSERT_ERR(EFAULT, nest_s1_walk(&e.s2, &d, iova, 1, &r, &f));
	ASSERT_EQ(NEST_FAULT_REASON_BAD_PASID_ENTRY, f.reason);
	d.levels = 4;
	d.root_gpa += 8;
	ASSERT_ERR(EFAULT, nest_s1_walk(&e.s2, &d, iova, 1, &r, &f));
	ASSERT_EQ(NEST_FAULT_REASON_BAD_PASID_ENTRY, f.reason);
	d.root_gpa -= 8;
	d.flags |= BIT(7);
	ASSERT_ERR(EFAULT, nest_s1_walk(&e.s2, &d, iova, 1, &r, &f));
	ASSERT_EQ(NEST_FAULT_REASON_BAD_PASID_ENTRY, f.reason);
	d.flags = 0;
	/* privileged without SRE */
	ASSERT_ERR(EFAULT, nest_s1_walk(&e.s2, &d, iova, 1 | NEST_ACC_PRIV, &r,
					&f));
	ASSERT_EQ(NEST_FAULT_REASON_ACCESS, f.reason);
	d.flags = NEST_S1_F_SRE;

	/* permissions */
	*leaf &= ~RW;
	ASSERT_ERR(EFAULT, nest_s1_walk(&e.s2, &d, iova, NEST_ACC_WRITE, &r,
					&f));
	ASSERT_EQ(NEST_FAULT_REASON_PERMISSION, f.reason);
	ASSERT_EQ(1, f.stage);
	ASSERT_EQ(1, f.level);
	ASSERT_ERR(EFAULT, nest_s1_walk(&e.s2, &d, iova,
					NEST_ACC_WRITE | NEST_ACC_PRIV, &r,
					&f));	/* WP=1 semantics */
	*leaf |= RW;
	*l4 &= ~RW;	/* RW=0 at the top denies writes too */
	ASSERT_ERR(EFAULT, nest_s1_walk(&e.s2, &d, iova, NEST_ACC_WRITE, &r,
					&f));
	ASSERT_EQ(NEST_FAULT_REASON_PERMISSION, f.reason);
	*l4 |= RW;
	*l4 &= ~US;
	ASSERT_ERR(EFAULT, nest_s1_walk(&e.s2, &d, iova, NEST_ACC_READ, &r,
					&f));
	ASSERT_EQ(NEST_FAULT_REASON_PERMISSION, f.reason);
	ASSERT_OK(nest_s1_walk(&e.s2, &d, iova, NEST_ACC_READ | NEST_ACC_PRIV,
			       &r, &f));
	*l4 |= US | XD;
	ASSERT_ERR(EFAULT, nest_s1_walk(&e.s2, &d, iova, NEST_ACC_EXEC, &r,
					&f));
	ASSERT_EQ(NEST_FAULT_REASON_PERMISSION, f.reason);
	ASSERT_OK(nest_s1_walk(&e.s2, &d, iova, NEST_ACC_READ, &r, &f));
	*l4 &= ~XD;
	ASSERT_OK(nest_s1_walk(&e.s2, &d, iova, NEST_ACC_EXEC, &r, &f));

	/* not present / reserved output bits */
	*leaf &= ~P;
	ASSERT_ERR(EFAULT, nest_s1_walk(&e.s2, &d, iova, 1, &r, &f));
	ASSERT_EQ(NEST_FAULT_REASON_PTE_FETCH, f.reason);
	ASSERT_EQ(1, f.level);
	ASSERT_EQ(leaf_gpa, f.gpa);
	ASSERT_EQ(0, f.flags & NEST_FAULT_F_RSVD);
	*leaf |= P | BIT_ULL(50);	/* reserved: GPAs have 48 bits */
	ASSERT_ERR(EFAULT, nest_s1_walk(&e.s2, &d, iova, 1, &r, &f));
	ASSERT_EQ(NEST_FAULT_REASON_PTE_FETCH, f.reason);
	ASSERT_EQ(NEST_FAULT_F_RSVD, f.flags & NEST_FAULT_F_RSVD);
	*leaf &= ~BIT_ULL(50);
	*leaf |= GENMASK_ULL(62, 52);	/* ignored bits */
	ASSERT_OK(nest_s1_walk(&e.s2, &d, iova, 1, &r, &f));
	ASSERT_EQ(50, r.ofn);

	/* stage-2 fault on a table fetch and on the output */
	*l4 = (*l4 & ~GENMASK_ULL(47, 12)) | (200 * 4096);
	ASSERT_ERR(EFAULT, nest_s1_walk(&e.s2, &d, iova, 1, &r, &f));
	ASSERT_EQ(2, f.stage);
	ASSERT_EQ(NEST_FAULT_REASON_PTE_FETCH, f.reason);
	ASSERT_EQ(3, f.s1_level);
	ASSERT_EQ(NEST_FAULT_F_TABLE_FETCH, f.flags & NEST_FAULT_F_TABLE_FETCH);
	ASSERT_EQ(200 * 4096 + ((iova >> 30) & 511) * 8, f.gpa);
	ASSERT_EQ(iova, f.addr);
	*l4 = (*l4 & ~GENMASK_ULL(47, 12)) | (2 * 4096);
	*leaf = (*leaf & ~GENMASK_ULL(47, 12)) | (300 * 4096);
	ASSERT_ERR(EFAULT, nest_s1_walk(&e.s2, &d, iova + 8, 1, &r, &f));
	ASSERT_EQ(2, f.stage);
	ASSERT_EQ(0, f.s1_level);
	ASSERT_EQ(0, f.flags & NEST_FAULT_F_TABLE_FETCH);
	ASSERT_EQ(300 * 4096 + 8, f.gpa);
	*leaf = (*leaf & ~GENMASK_ULL(47, 12)) | (50 * 4096);

	/* external abort reading a table */
	e.tm.abort_map = aborts;
	aborts[3] = 1;
	ASSERT_ERR(EFAULT, nest_s1_walk(&e.s2, &d, iova, 1, &r, &f));
	ASSERT_EQ(NEST_FAULT_REASON_WALK_EABT, f.reason);
	ASSERT_EQ(1, f.stage);
	ASSERT_EQ(2, f.level);
	e.tm.abort_map = NULL;
	env_fini(&e);
}

TEST(s1_ad_bits)
{
	struct nest_s1_desc d = { .levels = 4, .flags = NEST_S1_F_AD };
	u64 iova = 0x7654321000ULL, bm[1], n;
	struct nest_walk_res r;
	struct nest_fault f;
	struct env e;
	u64 *pte[5];
	int l;

	env_init(&e);
	d.root_gpa = env_table(&e);
	s1_map(&e, d.root_gpa, 4, iova, 60 * 4096, 1, P | RW | US,
	       P | RW | US);
	for (l = 4; l >= 1; l--)
		pte[l] = env_pte(&e, (5 - l) * 4096 +
				 ((iova >> (12 + 9 * (l - 1))) & 511) * 8);
	ASSERT_OK(nest_s2_read_dirty(&e.s2, 0, 64 * 4096, bm, true, &n));
	ASSERT_OK(nest_s1_walk(&e.s2, &d, iova, NEST_ACC_READ, &r, &f));
	for (l = 4; l >= 1; l--)
		ASSERT_EQ(A, *pte[l] & (A | D));
	bm[0] = 0;
	ASSERT_OK(nest_s2_read_dirty(&e.s2, 0, 64 * 4096, bm, true, &n));
	ASSERT_EQ(0x1eULL, bm[0]);	/* the 4 table pages, not page 60 */
	ASSERT_OK(nest_s1_walk(&e.s2, &d, iova, NEST_ACC_WRITE, &r, &f));
	ASSERT_EQ(A | D, *pte[1] & (A | D));
	ASSERT_EQ(A, *pte[2] & (A | D));
	bm[0] = 0;
	ASSERT_OK(nest_s2_read_dirty(&e.s2, 0, 64 * 4096, bm, true, &n));
	ASSERT_EQ(BIT_ULL(60) | BIT_ULL(4), bm[0]);
	/* nothing to update: no stage-2 write to the tables */
	ASSERT_OK(nest_s1_walk(&e.s2, &d, iova, NEST_ACC_WRITE, &r, &f));
	bm[0] = 0;
	ASSERT_OK(nest_s2_read_dirty(&e.s2, 0, 64 * 4096, bm, true, &n));
	ASSERT_EQ(BIT_ULL(60), bm[0]);
	/* a faulting walk updates nothing */
	*pte[1] &= ~(A | D | RW);
	*pte[3] &= ~A;
	ASSERT_ERR(EFAULT, nest_s1_walk(&e.s2, &d, iova, NEST_ACC_WRITE, &r,
					&f));
	ASSERT_EQ(0, *pte[3] & A);
	*pte[1] |= RW;
	/* A/D update needs stage-2 write permission on the table page */
	ASSERT_OK(nest_s2_unmap(&e.s2, 2 * 4096, 4096, &n));
	ASSERT_OK(nest_s2_map(&e.s2, 2 * 4096, 4096, 2, NEST_PROT_READ, false));
	ASSERT_ERR(EFAULT, nest_s1_walk(&e.s2, &d, iova, NEST_ACC_READ, &r,
					&f));
	ASSERT_EQ(2, f.stage);
	ASSERT_EQ(NEST_FAULT_REASON_PERMISSION, f.reason);
	ASSERT_EQ(NEST_FAULT_F_AD_UPDATE, f.flags & NEST_FAULT_F_AD_UPDATE);
	ASSERT_EQ(3, f.s1_level);
	ASSERT_EQ(0, *pte[1] & A);	/* checked before any update */
	/* without A/D, a read-only table page is fine and nothing changes */
	d.flags = 0;
	ASSERT_OK(nest_s1_walk(&e.s2, &d, iova, NEST_ACC_WRITE, &r, &f));
	ASSERT_EQ(0, *pte[1] & (A | D));
	env_fini(&e);
}

/*
 * A user-space writer racing the A/D update: the first cmpxchg finds the
 * PTE changed, the walk restarts and uses the new value.
 */
static int race_left;
static u64 race_new;

static int racy_cmpxchg(void *priv, u64 ofn, u32 off, u64 old, u64 new,
			u64 *cur)
{
	struct testmem *tm = priv;

	if (race_left) {
		race_left--;
		memcpy(tm->mem + ofn * 4096 + off, &race_new, 8);
		race_new ^= BIT_ULL(9);	/* an ignored bit: a new value */
	}
	return tm_cmpxchg_u64(priv, ofn, off, old, new, cur);
}

TEST(s1_ad_race)
{
	struct nest_s1_desc d = { .levels = 4, .flags = NEST_S1_F_AD };
	struct nest_mem_ops ops = tm_ops;
	u64 iova = 0x1000, *leaf;
	struct nest_walk_res r;
	struct nest_fault f;
	struct env e;

	env_init(&e);
	e.s2.ops = &ops;
	ops.cmpxchg_u64 = racy_cmpxchg;
	d.root_gpa = env_table(&e);
	s1_map(&e, d.root_gpa, 4, iova, 61 * 4096, 1, P | RW | US | A,
	       P | RW | US | A);
	leaf = env_pte(&e, 4 * 4096 + 8);
	race_left = 1;
	race_new = 62 * 4096 | P | RW | US | A;
	ASSERT_OK(nest_s1_walk(&e.s2, &d, iova, NEST_ACC_WRITE, &r, &f));
	ASSERT_EQ(62, r.ofn);
	ASSERT_EQ((62 * 4096 | P | RW | US | A | D), *leaf);
	/* a writer that never stops: bounded, then WALK_EABT */
	race_left = 1000;
	race_new = 63 * 4096 | P | RW | US | A;
	*leaf = 61 * 4096 | P | RW | US | A;
	ASSERT_ERR(EFAULT, nest_s1_walk(&e.s2, &d, iova, NEST_ACC_WRITE, &r,
					&f));
	ASSERT_EQ(NEST_FAULT_REASON_WALK_EABT, f.reason);
	ASSERT_EQ(NEST_FAULT_F_AD_UPDATE, f.flags & NEST_FAULT_F_AD_UPDATE);
	ASSERT_EQ(1000 - NEST_S1_AD_RETRIES, race_left);
	race_left = 0;
	env_fini(&e);
}

/* ------------------------------------------------ no-update walks, traces */

/* The GPAs and values of the stage-1 PTEs a walk of @iova reads. */
static void s1_path(struct env *e, const struct nest_s1_desc *d, u64 iova,
		    u64 *pte_gpa, u64 *pte)
{
	u64 table = d->root_gpa;
	int l;

	for (l = d->levels; l >= 1; l--) {
		pte_gpa[l] = table + ((iova >> (12 + 9 * (l - 1))) & 511) * 8;
		pte[l] = *env_pte(e, pte_gpa[l]);
		table = pte[l] & GENMASK_ULL(47, 12);
	}
}

/* Two faults name the same stage, level, reason, flags and GPA. */
static bool fault_same(const struct nest_fault *f1,
		       const struct nest_fault *f2)
{
	return f1->reason == f2->reason && f1->stage == f2->stage &&
	       f1->level == f2->level && f1->s1_level == f2->s1_level &&
	       f1->flags == f2->flags && f1->gpa == f2->gpa;
}

/* Two walk results are the same translation (or the same fault). */
static bool walk_same(int rc1, const struct nest_walk_res *r1,
		      const struct nest_fault *f1, int rc2,
		      const struct nest_walk_res *r2,
		      const struct nest_fault *f2)
{
	if (rc1 != rc2)
		return false;
	if (rc1)
		return fault_same(f1, f2) && f1->access == f2->access &&
		       f1->addr == f2->addr;
	return r1->ofn == r2->ofn && r1->gpa == r2->gpa &&
	       r1->page_shift == r2->page_shift && r1->perm == r2->perm &&
	       r1->s1_levels == r2->s1_levels &&
	       r1->s2_level == r2->s2_level &&
	       r1->mem_refs == r2->mem_refs &&
	       r1->nr_tables == r2->nr_tables &&
	       !memcmp(r1->table_gpa, r2->table_gpa,
		       r1->nr_tables * sizeof(r1->table_gpa[0]));
}

/* Two traces are the same, step by step, field by field. */
static bool trace_same(const struct nest_walk_trace *a,
		       const struct nest_walk_trace *b)
{
	u32 i;

	if (a->nr != b->nr)
		return false;
	for (i = 0; i < a->nr; i++) {
		const struct nest_walk_step *x = &a->step[i], *y = &b->step[i];

		if (x->addr != y->addr || x->pte != y->pte ||
		    x->stage != y->stage || x->level != y->level ||
		    x->s1_level != y->s1_level || x->flags != y->flags)
			return false;
	}
	return true;
}

/*
 * Counts the A/D updates a walk tries, and those that found the PTE
 * changed: a walk whose update of one PTE changed another PTE it had read
 * (tables that alias) restarts, and its second try sees the bits the first
 * one set.
 */
static long cmpxchg_calls, cmpxchg_races;

static int counting_cmpxchg(void *priv, u64 ofn, u32 off, u64 old, u64 new,
			    u64 *cur)
{
	int ret = tm_cmpxchg_u64(priv, ofn, off, old, new, cur);

	cmpxchg_calls++;
	if (!ret && *cur != old)
		cmpxchg_races++;
	return ret;
}

TEST(walk_no_update)
{
	struct nest_s1_desc d = { .levels = 4,
				  .flags = NEST_S1_F_AD | NEST_S1_F_SRE };
	u64 iova = 0x7654321000ULL, bm[1], n, un, pte_gpa[6], pte[6];
	struct nest_walk_res r, rq;
	struct nest_fault f, fq;
	struct nest_walk_trace tq, tn;
	struct nest_mem_ops ops = tm_ops;
	u8 *snap;
	struct env e;
	int l, rc, rcq;

	env_init(&e);
	e.s2.ops = &ops;
	ops.cmpxchg_u64 = counting_cmpxchg;
	snap = malloc(ENV_FRAMES * 4096);
	ASSERT_TRUE(snap);
	d.root_gpa = env_table(&e);
	s1_map(&e, d.root_gpa, 4, iova, 60 * 4096, 1, P | RW | US,
	       P | RW | US);
	s1_path(&e, &d, iova, pte_gpa, pte);
	/* a dirty page the queries must leave dirty */
	ASSERT_OK(nest_s2_read_dirty(&e.s2, 0, 64 * 4096, bm, true, &n));
	ASSERT_OK(nest_s2_translate(&e.s2, 33 * 4096, NEST_ACC_WRITE, &r, &f));

	/* every access, with and without PRIV: nothing written */
	for (l = 0; l < 8; l++) {
		u32 acc = (BIT(l % 3)) | (l >= 4 ? NEST_ACC_PRIV : 0);

		TH_CONTEXT("access %#x", acc);
		memcpy(snap, e.tm.mem, ENV_FRAMES * 4096);
		cmpxchg_calls = 0;
		memset(&fq, 0, sizeof(fq));
		rcq = nest_s1_walk_ext(&e.s2, &d, iova + 8, acc,
				       NEST_WALK_F_NO_UPDATE, &rq, &fq, &tq);
		ASSERT_OK(rcq);
		ASSERT_EQ(0, cmpxchg_calls);
		ASSERT_EQ(0, memcmp(snap, e.tm.mem, ENV_FRAMES * 4096));
		bm[0] = 0;
		ASSERT_OK(nest_s2_read_dirty(&e.s2, 0, 64 * 4096, bm, false,
					     &n));
		ASSERT_EQ(BIT_ULL(33), bm[0]);
		ASSERT_EQ(24, tq.nr);
	}
	/* the same write normally: same result and trace, and the updates */
	memset(&fq, 0, sizeof(fq));
	rcq = nest_s1_walk_ext(&e.s2, &d, iova + 8, NEST_ACC_WRITE,
			       NEST_WALK_F_NO_UPDATE, &rq, &fq, &tq);
	memset(&f, 0, sizeof(f));
	rc = nest_s1_walk_ext(&e.s2, &d, iova + 8, NEST_ACC_WRITE, 0, &r, &f,
			      &tn);
	ASSERT_OK(rc);
	ASSERT_TRUE(walk_same(rcq, &rq, &fq, rc, &r, &f));
	ASSERT_TRUE(trace_same(&tq, &tn));
	ASSERT_EQ(60, r.ofn);
	ASSERT_EQ(4, cmpxchg_calls);
	for (l = 4; l >= 1; l--)
		ASSERT_EQ(l == 1 ? A | D : A,
			  *env_pte(&e, pte_gpa[l]) & (A | D));
	bm[0] = 0;
	ASSERT_OK(nest_s2_read_dirty(&e.s2, 0, 64 * 4096, bm, true, &n));
	ASSERT_EQ(0x1eULL | BIT_ULL(33) | BIT_ULL(60), bm[0]);

	/* stage 2 only: a write query does not mark the page dirty */
	ASSERT_OK(nest_s2_translate_ext(&e.s2, 34 * 4096, NEST_ACC_WRITE,
					NEST_WALK_F_NO_UPDATE, &rq, &fq, &tq));
	ASSERT_EQ(34, rq.ofn);
	ASSERT_EQ(4, tq.nr);
	ASSERT_OK(nest_s2_read_dirty(&e.s2, 0, 64 * 4096, bm, false, &n));
	ASSERT_EQ(0, n);
	ASSERT_OK(nest_s2_translate_ext(&e.s2, 34 * 4096, NEST_ACC_WRITE, 0,
					&r, &f, &tn));
	ASSERT_TRUE(walk_same(0, &rq, &fq, 0, &r, &f));
	ASSERT_TRUE(trace_same(&tq, &tn));
	bm[0] = 0;
	ASSERT_OK(nest_s2_read_dirty(&e.s2, 0, 64 * 4096, bm, true, &n));
	ASSERT_EQ(BIT_ULL(34), bm[0]);

	/*
	 * A/D update on a table page stage 2 maps read-only: the query
	 * reports the same stage-2 PERMISSION fault, and writes nothing.
	 */
	*env_pte(&e, pte_gpa[3]) &= ~A;
	ASSERT_OK(nest_s2_unmap(&e.s2, 2 * 4096, 4096, &un));
	ASSERT_OK(nest_s2_map(&e.s2, 2 * 4096, 4096, 2, NEST_PROT_READ, false));
	memcpy(snap, e.tm.mem, ENV_FRAMES * 4096);
	cmpxchg_calls = 0;
	memset(&fq, 0, sizeof(fq));
	rcq = nest_s1_walk_ext(&e.s2, &d, iova, NEST_ACC_READ,
			       NEST_WALK_F_NO_UPDATE, &rq, &fq, &tq);
	ASSERT_ERR(EFAULT, rcq);
	ASSERT_EQ(2, fq.stage);
	ASSERT_EQ(NEST_FAULT_REASON_PERMISSION, fq.reason);
	ASSERT_EQ(NEST_FAULT_F_AD_UPDATE, fq.flags & NEST_FAULT_F_AD_UPDATE);
	ASSERT_EQ(3, fq.s1_level);
	ASSERT_EQ(pte_gpa[3], fq.gpa);
	ASSERT_EQ(24, tq.nr);	/* the whole walk was made */
	memset(&f, 0, sizeof(f));
	rc = nest_s1_walk_ext(&e.s2, &d, iova, NEST_ACC_READ, 0, &r, &f, &tn);
	ASSERT_TRUE(walk_same(rcq, &rq, &fq, rc, &r, &f));
	ASSERT_TRUE(trace_same(&tq, &tn));
	ASSERT_EQ(0, cmpxchg_calls);
	ASSERT_EQ(0, memcmp(snap, e.tm.mem, ENV_FRAMES * 4096));
	ASSERT_OK(nest_s2_read_dirty(&e.s2, 0, 64 * 4096, bm, false, &n));
	ASSERT_EQ(0, n);
	/* without A/D nothing needs W: the query succeeds like the walk */
	d.flags = NEST_S1_F_SRE;
	ASSERT_OK(nest_s1_walk_ext(&e.s2, &d, iova, NEST_ACC_WRITE,
				   NEST_WALK_F_NO_UPDATE, &rq, &fq, NULL));
	ASSERT_EQ(0, memcmp(snap, e.tm.mem, ENV_FRAMES * 4096));
	ASSERT_OK(nest_s2_read_dirty(&e.s2, 0, 64 * 4096, bm, false, &n));
	ASSERT_EQ(0, n);
	/* other faults: the same as a normal walk */
	*env_pte(&e, pte_gpa[1]) &= ~P;
	rcq = nest_s1_walk_ext(&e.s2, &d, iova, NEST_ACC_READ,
			       NEST_WALK_F_NO_UPDATE, &rq, &fq, &tq);
	rc = nest_s1_walk_ext(&e.s2, &d, iova, NEST_ACC_READ, 0, &r, &f, &tn);
	ASSERT_ERR(EFAULT, rc);
	ASSERT_EQ(NEST_FAULT_REASON_PTE_FETCH, f.reason);
	ASSERT_TRUE(walk_same(rcq, &rq, &fq, rc, &r, &f));
	ASSERT_TRUE(trace_same(&tq, &tn));
	free(snap);
	env_fini(&e);
}

/* Check step @i: a stage-2 read of @gpa at @level for @s1_level. */
#define ASSERT_S2_STEP(tr, i, gpa, lvl, s1l, fl) do {			\
	TH_CONTEXT("step %d", (int)(i));				\
	ASSERT_EQ(2, (tr)->step[i].stage);				\
	ASSERT_EQ((u64)(gpa), (tr)->step[i].addr);			\
	ASSERT_EQ(0, (tr)->step[i].pte);				\
	ASSERT_EQ(lvl, (tr)->step[i].level);				\
	ASSERT_EQ(s1l, (tr)->step[i].s1_level);				\
	ASSERT_EQ(fl, (tr)->step[i].flags);				\
} while (0)

#define LEAF_RW	(NEST_STEP_F_PRESENT | NEST_STEP_F_LEAF | NEST_STEP_F_READ | \
		 NEST_STEP_F_WRITE)

/* The padding of a step is zeroed: it may be copied out as it is. */
static bool step_pad_zero(const struct nest_walk_step *s)
{
	const u8 *p = (const u8 *)s;
	size_t i;

	for (i = offsetof(struct nest_walk_step, flags) + 1; i < sizeof(*s);
	     i++)
		if (p[i])
			return false;
	return true;
}

/* 5-level stage 1 over 4-level stage 2: the longest walk, 29 steps. */
TEST(walk_trace_5_over_4)
{
	struct nest_s1_desc d = { .levels = 5, .flags = NEST_S1_F_SRE };
	u64 iova = 0x00ff7f1234567000ULL, pte_gpa[6], pte[6], out;
	struct nest_walk_trace tr;
	struct nest_walk_res r;
	struct nest_fault f;
	struct env e;
	int l, j, i;

	env_init(&e);
	d.root_gpa = env_table(&e);
	s1_map(&e, d.root_gpa, 5, iova, 41 * 4096, 1, P | RW | US, P | RW | US);
	s1_path(&e, &d, iova, pte_gpa, pte);
	out = 41 * 4096 + 0x123;
	memset(&tr, 0xff, sizeof(tr));
	ASSERT_OK(nest_s1_walk_ext(&e.s2, &d, iova + 0x123, NEST_ACC_WRITE, 0,
				   &r, &f, &tr));
	ASSERT_EQ(29, r.mem_refs);
	ASSERT_EQ(29, tr.nr);
	ASSERT_GE(NEST_WALK_TRACE_MAX, tr.nr);
	for (l = 5, i = 0; l >= 1; l--) {
		for (j = 0; j < 4; j++, i++)
			ASSERT_S2_STEP(&tr, i, pte_gpa[l], 4 - j, l,
				       j < 3 ? NEST_STEP_F_PRESENT : LEAF_RW);
		TH_CONTEXT("step %d", i);
		ASSERT_EQ(1, tr.step[i].stage);
		ASSERT_EQ(pte_gpa[l], tr.step[i].addr);
		ASSERT_EQ(pte[l], tr.step[i].pte);
		ASSERT_EQ(l, tr.step[i].level);
		ASSERT_EQ(l, tr.step[i].s1_level);
		ASSERT_EQ(0, tr.step[i].flags);
		i++;
	}
	for (j = 0; j < 4; j++, i++)
		ASSERT_S2_STEP(&tr, i, out, 4 - j, 0,
			       j < 3 ? NEST_STEP_F_PRESENT : LEAF_RW);
	for (i = 0; i < 29; i++)
		ASSERT_TRUE(step_pad_zero(&tr.step[i]));
	/* the write set the output dirty: the next trace shows it */
	ASSERT_OK(nest_s1_walk_ext(&e.s2, &d, iova + 0x123, NEST_ACC_READ,
				   NEST_WALK_F_NO_UPDATE, &r, &f, &tr));
	ASSERT_EQ(29, tr.nr);
	ASSERT_S2_STEP(&tr, 28, out, 1, 0, LEAF_RW | NEST_STEP_F_DIRTY);
	ASSERT_S2_STEP(&tr, 3, pte_gpa[5], 1, 5, LEAF_RW);

	/* faults: the trace ends with the faulting read */
	*env_pte(&e, pte_gpa[2]) &= ~P;
	ASSERT_ERR(EFAULT, nest_s1_walk_ext(&e.s2, &d, iova, NEST_ACC_READ, 0,
					    &r, &f, &tr));
	ASSERT_EQ(NEST_FAULT_REASON_PTE_FETCH, f.reason);
	ASSERT_EQ(4 * 5, tr.nr);
	ASSERT_EQ(1, tr.step[19].stage);
	ASSERT_EQ(2, tr.step[19].level);
	ASSERT_EQ(pte_gpa[2], tr.step[19].addr);
	ASSERT_EQ(0, tr.step[19].pte & P);
	*env_pte(&e, pte_gpa[2]) |= P;
	/* a stage-1 table outside stage 2: the stage-2 PTE_FETCH is last */
	*env_pte(&e, pte_gpa[4]) = (pte[4] & ~GENMASK_ULL(47, 12)) |
				   (1ULL << 40);
	ASSERT_ERR(EFAULT, nest_s1_walk_ext(&e.s2, &d, iova, NEST_ACC_READ, 0,
					    &r, &f, &tr));
	ASSERT_EQ(2, f.stage);
	ASSERT_EQ(3, f.s1_level);
	ASSERT_EQ(4, f.level);
	ASSERT_EQ(2 * 5 + 1, tr.nr);
	ASSERT_S2_STEP(&tr, 10, f.gpa, 4, 3, 0);
	*env_pte(&e, pte_gpa[4]) = pte[4];
	/* an output outside stage 2 */
	*env_pte(&e, pte_gpa[1]) = (pte[1] & ~GENMASK_ULL(47, 12)) |
				   (ENV_FRAMES * 4096);
	ASSERT_ERR(EFAULT, nest_s1_walk_ext(&e.s2, &d, iova, NEST_ACC_READ, 0,
					    &r, &f, &tr));
	ASSERT_EQ(2, f.stage);
	ASSERT_EQ(0, f.s1_level);
	ASSERT_EQ(1, f.level);
	ASSERT_EQ(29, tr.nr);
	ASSERT_S2_STEP(&tr, 28, ENV_FRAMES * 4096, 1, 0, 0);
	*env_pte(&e, pte_gpa[1]) = pte[1];
	/* a stage-1 permission fault: every stage-1 read, no output */
	*env_pte(&e, pte_gpa[1]) &= ~RW;
	ASSERT_ERR(EFAULT, nest_s1_walk_ext(&e.s2, &d, iova, NEST_ACC_WRITE, 0,
					    &r, &f, &tr));
	ASSERT_EQ(NEST_FAULT_REASON_PERMISSION, f.reason);
	ASSERT_EQ(1, f.stage);
	ASSERT_EQ(5 * 5, tr.nr);
	ASSERT_EQ(1, tr.step[24].stage);
	ASSERT_EQ(1, tr.step[24].level);
	*env_pte(&e, pte_gpa[1]) = pte[1];
	/* level-0 faults read nothing */
	tr.nr = 7;
	ASSERT_ERR(EFAULT, nest_s1_walk_ext(&e.s2, &d, 1ULL << 60,
					    NEST_ACC_READ, 0, &r, &f, &tr));
	ASSERT_EQ(0, tr.nr);
	d.levels = 3;
	tr.nr = 7;
	ASSERT_ERR(EFAULT, nest_s1_walk_ext(&e.s2, &d, iova, NEST_ACC_READ, 0,
					    &r, &f, &tr));
	ASSERT_EQ(0, tr.nr);
	env_fini(&e);
}

/* A paging (stage-2 only) walk: s1_level 0 throughout. */
TEST(walk_trace_s2_only)
{
	struct nest_walk_trace tr;
	struct nest_walk_res r;
	struct nest_fault f;
	struct env e;
	u64 un;
	int j;

	env_init(&e);
	memset(&tr, 0xff, sizeof(tr));
	ASSERT_OK(nest_s2_translate_ext(&e.s2, 7 * 4096 + 5, NEST_ACC_WRITE, 0,
					&r, &f, &tr));
	ASSERT_EQ(7, r.ofn);
	ASSERT_EQ(4, r.mem_refs);
	ASSERT_EQ(4, tr.nr);
	for (j = 0; j < 4; j++) {
		ASSERT_S2_STEP(&tr, j, 7 * 4096 + 5, 4 - j, 0,
			       j < 3 ? NEST_STEP_F_PRESENT : LEAF_RW);
		ASSERT_TRUE(step_pad_zero(&tr.step[j]));
	}
	ASSERT_OK(nest_s2_translate_ext(&e.s2, 7 * 4096, NEST_ACC_READ, 0, &r,
					&f, &tr));
	ASSERT_S2_STEP(&tr, 3, 7 * 4096, 1, 0, LEAF_RW | NEST_STEP_F_DIRTY);
	/* not present at level 1, at level 4; out of range: no read */
	ASSERT_ERR(EFAULT, nest_s2_translate_ext(&e.s2, ENV_FRAMES * 4096,
						 NEST_ACC_READ, 0, &r, &f,
						 &tr));
	ASSERT_EQ(1, f.level);
	ASSERT_EQ(4, tr.nr);
	ASSERT_S2_STEP(&tr, 2, ENV_FRAMES * 4096, 2, 0, NEST_STEP_F_PRESENT);
	ASSERT_S2_STEP(&tr, 3, ENV_FRAMES * 4096, 1, 0, 0);
	ASSERT_ERR(EFAULT, nest_s2_translate_ext(&e.s2, 1ULL << 40,
						 NEST_ACC_READ, 0, &r, &f,
						 &tr));
	ASSERT_EQ(1, tr.nr);
	ASSERT_S2_STEP(&tr, 0, 1ULL << 40, 4, 0, 0);
	ASSERT_ERR(EFAULT, nest_s2_translate_ext(&e.s2, 1ULL << 48,
						 NEST_ACC_READ, 0, &r, &f,
						 &tr));
	ASSERT_EQ(NEST_FAULT_REASON_OOR_ADDRESS, f.reason);
	ASSERT_EQ(0, tr.nr);
	/* a permission fault: the leaf, without WRITE */
	ASSERT_OK(nest_s2_unmap(&e.s2, 63 * 4096, 4096, &un));
	ASSERT_OK(nest_s2_map(&e.s2, 63 * 4096, 4096, 63, NEST_PROT_READ,
			      false));
	ASSERT_ERR(EFAULT, nest_s2_translate_ext(&e.s2, 63 * 4096,
						 NEST_ACC_WRITE, 0, &r, &f,
						 &tr));
	ASSERT_EQ(NEST_FAULT_REASON_PERMISSION, f.reason);
	ASSERT_EQ(4, tr.nr);
	ASSERT_S2_STEP(&tr, 3, 63 * 4096, 1, 0,
		       NEST_STEP_F_PRESENT | NEST_STEP_F_LEAF |
		       NEST_STEP_F_READ);
	env_fini(&e);
}

/* A walk restarted by an A/D race traces the last attempt only. */
TEST(walk_trace_ad_restart)
{
	struct nest_s1_desc d = { .levels = 4, .flags = NEST_S1_F_AD };
	struct nest_mem_ops ops = tm_ops;
	u64 iova = 0x1000, written;
	struct nest_walk_trace tr;
	struct nest_walk_res r;
	struct nest_fault f;
	struct env e;

	env_init(&e);
	e.s2.ops = &ops;
	ops.cmpxchg_u64 = racy_cmpxchg;
	d.root_gpa = env_table(&e);
	s1_map(&e, d.root_gpa, 4, iova, 61 * 4096, 1, P | RW | US | A,
	       P | RW | US | A);
	race_left = 1;
	race_new = 62 * 4096 | P | RW | US | A;
	written = race_new;
	ASSERT_OK(nest_s1_walk_ext(&e.s2, &d, iova, NEST_ACC_WRITE, 0, &r, &f,
				   &tr));
	ASSERT_EQ(62, r.ofn);
	ASSERT_EQ(24, r.mem_refs);
	ASSERT_EQ(24, tr.nr);
	ASSERT_EQ(1, tr.step[19].stage);
	ASSERT_EQ(1, tr.step[19].level);
	ASSERT_EQ(written, tr.step[19].pte);	/* the value re-read */
	ASSERT_S2_STEP(&tr, 23, 62 * 4096, 1, 0, LEAF_RW);
	race_left = 0;
	env_fini(&e);
}

/* ------------------------------------------- random layouts vs reference */

#define RL_FRAMES	1024		/* 4 MiB of memory, GPA [0, 4M) */
#define RL_TABLES	16

struct rl {
	struct testmem tm;
	struct nest_s2 s2;
	u8 *ref_mem;
	u8 aborts[RL_FRAMES];
	struct ref_s2page model[RL_FRAMES];
	u8 ref_dirty[RL_FRAMES];
	u64 tables[RL_TABLES];		/* GPAs of the stage-1 tables */
	u64 written[RL_TABLES];		/* ofns they landed on */
	u64 stats[2][16];		/* [stage - 1][reason], [0][0]: ok */
	u64 ok_by_shift[31];
	u64 ok_by_leaf[6];		/* by stage-1 leaf level */
	u64 ad_walks;
};

static u64 rl_target(struct rl *t)
{
	u64 p = rnd_below(100);

	if (p < 65)
		return t->tables[rnd_below(RL_TABLES)];
	if (p < 75)
		return rnd_below(RL_FRAMES) * 4096;
	if (p < 82)
		return rnd_below(2) * SZ_2M;
	if (p < 85)
		return 0;	/* 1G aligned */
	if (p < 90)
		return (RL_FRAMES + rnd_below(1 << 20)) * 4096;
	if (p < 94)
		return (rnd() & GENMASK_ULL(47, 12));
	return (rnd_below(RL_FRAMES) * 4096) | (rnd() & GENMASK_ULL(51, 48));
}

static u64 rl_pte(struct rl *t)
{
	u64 p = rnd_below(100), pte;

	if (p < 2)
		return rnd();			/* garbage */
	if (p < 7)
		return rnd() & ~P;		/* not present */
	pte = rl_target(t) | P;
	if (rnd_below(100) < 12) {
		pte |= PS;
		if (rnd_below(100) < 70)
			pte = (pte & ~GENMASK_ULL(51, 12)) |
			      (rnd_below(100) < 50 ? SZ_2M : 0);
	}
	if (rnd_below(100) < 92)
		pte |= RW;
	if (rnd_below(100) < 92)
		pte |= US;
	if (rnd_below(100) < 10)
		pte |= XD;
	if (rnd_below(2))
		pte |= A;
	if (rnd_below(2))
		pte |= D;
	if (rnd_below(100) < 5)
		pte |= BIT_ULL(13 + rnd_below(17));	/* huge-page rsvd */
	if (rnd_below(100) < 10)
		pte |= rnd() & GENMASK_ULL(62, 52);	/* ignored */
	if (rnd_below(100) < 10)
		pte |= rnd() & (GENMASK_ULL(11, 8) | BIT_ULL(3) | BIT_ULL(4));
	return pte;
}

static u64 rl_iova(unsigned int levels)
{
	unsigned int vbits = levels == 5 ? 57 : 48, l;
	u64 iova = rnd() & 0xfff;

	for (l = 1; l <= levels; l++) {
		u64 idx = rnd_below(100) < 40 ? rnd_below(4) : rnd_below(512);

		iova |= idx << (12 + 9 * (l - 1));
	}
	iova = (u64)((s64)(iova << (64 - vbits)) >> (64 - vbits));
	if (rnd_below(100) < 4)
		iova ^= BIT_ULL(vbits + rnd_below(64 - vbits));
	return iova;
}

static void rl_map(struct rl *t, u64 gpa_pg, u64 ofn, bool r, bool w,
		   u8 level)
{
	t->model[gpa_pg] = (struct ref_s2page){
		.mapped = true, .r = r, .w = w, .level = level, .ofn = ofn,
	};
}

static int rl_layout(struct rl *t, struct nest_s1_desc *d)
{
	u64 i, j;
	u32 prot;

	/* undo the previous layout's writes */
	for (i = 0; i < RL_TABLES; i++) {
		memset(t->tm.mem + t->written[i] * 4096, 0, 4096);
		memset(t->ref_mem + t->written[i] * 4096, 0, 4096);
	}
	memset(t->model, 0, sizeof(t->model));
	memset(t->ref_dirty, 0, sizeof(t->ref_dirty));
	memset(t->aborts, 0, sizeof(t->aborts));
	if (nest_s2_init(&t->s2, &tm_ops, &t->tm))
		return -1;

	/* GPA [0, 2M): ofn [512, 1024), one 2M leaf or 4K leaves */
	if (rnd_below(2)) {
		prot = rnd_below(4) ? 3 : 1;
		if (nest_s2_map(&t->s2, 0, SZ_2M, 512, prot, true))
			return -1;
		for (i = 0; i < 512; i++)
			rl_map(t, i, 512 + i, prot & 1, prot & 2, 2);
	} else {
		for (i = 0; i < 512; i++) {
			if (rnd_below(100) < 5)
				continue;
			prot = 1 + rnd_below(100) % 3;
			if (rnd_below(100) < 60)
				prot = 3;
			if (nest_s2_map(&t->s2, i * 4096, 4096, 512 + i, prot,
					false))
				return -1;
			rl_map(t, i, 512 + i, prot & 1, prot & 2, 1);
		}
	}
	/* GPA [2M, 4M): random frames, some unmapped */
	for (i = 512; i < RL_FRAMES; i++) {
		u64 ofn = rnd_below(RL_FRAMES);

		if (rnd_below(100) < 15)
			continue;
		prot = rnd_below(100) < 70 ? 3 : 1 + rnd_below(2);
		if (nest_s2_map(&t->s2, i * 4096, 4096, ofn, prot, false))
			return -1;
		rl_map(t, i, ofn, prot & 1, prot & 2, 1);
	}
	/* external aborts on a few frames */
	for (i = 0; i < 4; i++)
		if (rnd_below(2))
			t->aborts[rnd_below(RL_FRAMES)] = 1;

	/* stage-1 tables on mapped GPAs, filled with random PTEs */
	for (i = 0; i < RL_TABLES; i++) {
		u64 pg;

		do {
			pg = rnd_below(RL_FRAMES);
		} while (!t->model[pg].mapped);
		t->tables[i] = pg * 4096;
		t->written[i] = t->model[pg].ofn;
	}
	for (i = 0; i < RL_TABLES; i++) {
		u64 *core = (u64 *)(t->tm.mem + t->written[i] * 4096);
		u64 *ref = (u64 *)(t->ref_mem + t->written[i] * 4096);

		for (j = 0; j < 512; j++)
			core[j] = ref[j] = rl_pte(t);
	}

	d->levels = rnd_below(100) < 3 ? 3 + 3 * rnd_below(2) :
		    4 + rnd_below(2);
	d->root_gpa = t->tables[rnd_below(RL_TABLES)];
	if (rnd_below(100) < 3)
		d->root_gpa = rnd() & GENMASK_ULL(50, 3);
	d->flags = rnd_below(4);
	if (rnd_below(100) < 2)
		d->flags |= BIT(2 + rnd_below(30));
	return 0;
}

static int rl_compare(int rc, const struct nest_walk_res *r,
		      const struct nest_fault *f, const struct ref_out *o)
{
	if (!rc != o->ok)
		return 1;
	if (o->ok)
		return r->ofn != o->ofn || r->perm != o->perm ||
		       r->page_shift != o->shift || r->mem_refs != o->refs;
	if (f->reason != o->reason || f->stage != o->stage ||
	    f->s1_level != o->s1_level ||
	    (f->flags & ~NEST_FAULT_F_GPA_VALID) !=
	    (o->flags & ~NEST_FAULT_F_GPA_VALID))
		return 1;
	if (f->stage == 1 && f->level != o->level)
		return 1;
	if ((f->flags & NEST_FAULT_F_GPA_VALID) && f->gpa != o->gpa)
		return 1;
	return 0;
}

TEST(ref_random_layouts)
{
	static const u32 accesses[] = {
		NEST_ACC_READ, NEST_ACC_WRITE, NEST_ACC_EXEC,
		NEST_ACC_READ | NEST_ACC_PRIV, NEST_ACC_WRITE | NEST_ACC_PRIV,
		NEST_ACC_EXEC | NEST_ACC_PRIV,
	};
	struct rl *t = calloc(1, sizeof(*t));
	struct ref_ctx c;
	long layout, walks = 0;
	bool mismatch = false;
	u64 bm[RL_FRAMES / 64], n, i;
	int k, a;

	rng_state = opt_seed ^ 0x5eed;
	TH_LOG("seed %" PRIu64 " layouts %ld", opt_seed, opt_layouts);
	t->tm.nr_frames = RL_FRAMES;
	t->tm.mem = calloc(RL_FRAMES, 4096);
	t->tm.abort_map = t->aborts;
	t->ref_mem = calloc(RL_FRAMES, 4096);
	c = (struct ref_ctx){
		.mem = t->ref_mem, .nr_frames = RL_FRAMES,
		.abort_map = t->aborts, .s2 = t->model,
		.nr_gpa_pages = RL_FRAMES, .dirty = t->ref_dirty,
	};

	for (layout = 0; layout < opt_layouts; layout++) {
		struct nest_s1_desc d;
		struct ref_desc rd;

		if (rl_layout(t, &d)) {
			TH_LOG("layout %ld: stage-2 setup failed", layout);
			mismatch = true;
			break;
		}
		rd = (struct ref_desc){ d.root_gpa, d.levels, d.flags };
		for (k = 0; k < 16 && !mismatch; k++) {
			u64 iova = rl_iova(d.levels == 5 ? 5 : 4);

			for (a = 0; a < (int)ARRAY_SIZE(accesses); a++) {
				struct nest_walk_res r;
				struct nest_fault f;
				struct ref_out o;
				int rc;

				memset(&f, 0, sizeof(f));
				rc = nest_s1_walk(&t->s2, &d, iova,
						  accesses[a], &r, &f);
				ref_walk(&c, &rd, iova, accesses[a], &o);
				walks++;
				if (rl_compare(rc, &r, &f, &o)) {
					TH_LOG("layout %ld iova 0x%" PRIx64
					       " access %u levels %u flags %u: "
					       "core rc %d reason %u stage %u "
					       "level %u s1 %u flags %u gpa 0x%"
					       PRIx64 " ofn %" PRIu64
					       " perm %u shift %u refs %u",
					       layout, iova, accesses[a],
					       d.levels, d.flags, rc, f.reason,
					       f.stage, f.level, f.s1_level,
					       f.flags, f.gpa, r.ofn, r.perm,
					       r.page_shift, r.mem_refs);
					TH_LOG("  ref ok %d reason %u stage %u "
					       "level %u s1 %u flags %u gpa 0x%"
					       PRIx64 " ofn %" PRIu64
					       " perm %u shift %u refs %u",
					       o.ok, o.reason, o.stage, o.level,
					       o.s1_level, o.flags, o.gpa,
					       o.ofn, o.perm, o.shift, o.refs);
					mismatch = true;
					break;
				}
				if (rc) {
					t->stats[f.stage - 1][f.reason]++;
				} else {
					t->stats[0][0]++;
					t->ok_by_shift[r.page_shift]++;
					t->ok_by_leaf[d.levels - r.s1_levels
						      + 1]++;
					if (d.flags & NEST_S1_F_AD)
						t->ad_walks++;
				}
			}
			for (i = 0; i < RL_TABLES && !mismatch; i++) {
				u64 o = t->written[i] * 4096;

				if (memcmp(t->tm.mem + o, t->ref_mem + o,
					   4096)) {
					TH_LOG("layout %ld: A/D bits of frame "
					       "%" PRIu64 " differ", layout,
					       t->written[i]);
					mismatch = true;
				}
			}
		}
		memset(bm, 0, sizeof(bm));
		if (!mismatch &&
		    nest_s2_read_dirty(&t->s2, 0, RL_FRAMES * 4096ULL, bm,
				       true, &n) == 0) {
			for (i = 0; i < RL_FRAMES; i++) {
				if (!!(bm[i / 64] & BIT_ULL(i % 64)) !=
				    t->ref_dirty[i]) {
					TH_LOG("layout %ld: dirty bit of GPA "
					       "page %" PRIu64 " differs",
					       layout, i);
					mismatch = true;
					break;
				}
			}
		}
		nest_s2_destroy(&t->s2);
		if (mismatch)
			break;
	}
	TH_LOG("%ld walks: %" PRIu64 " ok (stage-1 4K %" PRIu64 ", 2M %" PRIu64
	       ", 1G %" PRIu64 "; translations of 4K %" PRIu64 ", 2M %" PRIu64
	       "; with A/D %" PRIu64 ")", walks, t->stats[0][0],
	       t->ok_by_leaf[1], t->ok_by_leaf[2], t->ok_by_leaf[3],
	       t->ok_by_shift[12], t->ok_by_shift[21], t->ad_walks);
	for (k = 0; k < 2; k++)
		for (a = 1; a < 9; a++)
			if (t->stats[k][a])
				TH_LOG("stage %d reason %d: %" PRIu64, k + 1, a,
				       t->stats[k][a]);
	if (!mismatch && opt_layouts >= 1000) {
		/* the layouts must reach every outcome */
		ASSERT_TRUE(t->ok_by_leaf[1] && t->ok_by_leaf[2] &&
			    t->ok_by_leaf[3] && t->ok_by_shift[21] &&
			    t->ad_walks);
		ASSERT_TRUE(t->stats[1][NEST_FAULT_REASON_PTE_FETCH] &&
			    t->stats[1][NEST_FAULT_REASON_PERMISSION]);
		for (a = 2; a <= 8; a++)
			if (a != NEST_FAULT_REASON_PASID_INVALID) {
				TH_CONTEXT("stage-1 fault reason %d", a);
				ASSERT_TRUE(t->stats[0][a]);
			}
	}
	if (t->tm.tables)
		TH_LOG("leaked %ld tables", t->tm.tables);
	ASSERT_EQ(0, t->tm.tables);
	free(t->tm.mem);
	free(t->ref_mem);
	free(t);
	/* a mismatch with the reference: the diagnostics above say which */
	ASSERT_FALSE(mismatch);
}

/* ------------------------------- random layouts: no-update walks, traces */

static const u32 rl_accesses[] = {
	NEST_ACC_READ, NEST_ACC_WRITE, NEST_ACC_EXEC,
	NEST_ACC_READ | NEST_ACC_PRIV, NEST_ACC_WRITE | NEST_ACC_PRIV,
	NEST_ACC_EXEC | NEST_ACC_PRIV,
};

static struct rl *rl_alloc(struct ref_ctx *c)
{
	struct rl *t = calloc(1, sizeof(*t));

	if (!t)
		abort();
	t->tm.nr_frames = RL_FRAMES;
	t->tm.mem = calloc(RL_FRAMES, 4096);
	t->tm.abort_map = t->aborts;
	t->ref_mem = calloc(RL_FRAMES, 4096);
	if (!t->tm.mem || !t->ref_mem)
		abort();
	*c = (struct ref_ctx){
		.mem = t->ref_mem, .nr_frames = RL_FRAMES,
		.abort_map = t->aborts, .s2 = t->model,
		.nr_gpa_pages = RL_FRAMES, .dirty = t->ref_dirty,
	};
	return t;
}

static void rl_free(struct rl *t)
{
	free(t->tm.mem);
	free(t->ref_mem);
	free(t);
}

/* The stage-2 dirty bits of GPA [0, 4M), read without clearing. */
static void rl_dirty_bits(struct rl *t, u64 *bm)
{
	u64 n;

	memset(bm, 0, RL_FRAMES / 8);
	if (nest_s2_read_dirty(&t->s2, 0, RL_FRAMES * 4096ULL, bm, false, &n))
		abort();
}

/* The stage-2 dirty bits agree with the reference's. */
static bool rl_dirty_match(struct rl *t)
{
	u64 bm[RL_FRAMES / 64], i;

	rl_dirty_bits(t, bm);
	for (i = 0; i < RL_FRAMES; i++)
		if (!!(bm[i / 64] & BIT_ULL(i % 64)) != t->ref_dirty[i])
			return false;
	return true;
}

/* DMA-write a few mapped writable pages, in the core and the model. */
static void rl_predirty(struct rl *t)
{
	struct nest_walk_res r;
	struct nest_fault f;
	int k;

	for (k = 0; k < 6; k++) {
		u64 pg = rnd_below(RL_FRAMES), i;

		if (!t->model[pg].mapped || !t->model[pg].w)
			continue;
		if (nest_s2_translate(&t->s2, pg * 4096, NEST_ACC_WRITE, &r,
				      &f))
			abort();
		if (t->model[pg].level == 2)
			for (i = pg & ~511ULL; i < (pg & ~511ULL) + 512; i++)
				t->ref_dirty[i] = 1;
		else
			t->ref_dirty[pg] = 1;
	}
}

static void rl_log_mismatch(long layout, u64 iova, u32 access,
			    const struct nest_s1_desc *d, const char *what)
{
	TH_LOG("layout %ld iova 0x%" PRIx64 " access %u levels %u flags %u: %s",
	       layout, iova, access, d->levels, d->flags, what);
}

/*
 * Over random layouts (A/D on in half of them, some stage-1 tables on
 * read-only stage-2 pages, some pages already dirty): a NO_UPDATE walk
 * tries no cmpxchg, leaves the whole memory and every stage-2 dirty bit as
 * they were, and gives the result, fault and trace of the normal walk that
 * follows it; the normal walk still agrees with the reference, A/D bits
 * and dirty bits included.
 */
TEST(walk_no_update_random)
{
	struct nest_mem_ops ops = tm_ops;
	u64 bm0[RL_FRAMES / 64], bm1[RL_FRAMES / 64];
	long layout, layouts = opt_layouts, queries = 0, ad_faults = 0;
	long updated = 0, ok = 0, restarted = 0;
	struct ref_ctx c;
	const char *bad = NULL;
	struct rl *t;
	int k, a;
	u64 i;

	rng_state = opt_seed ^ 0xad0;
	TH_LOG("seed %" PRIu64 " layouts %ld", opt_seed, layouts);
	t = rl_alloc(&c);
	ops.cmpxchg_u64 = counting_cmpxchg;

	for (layout = 0; layout < layouts && !bad; layout++) {
		struct nest_s1_desc d;
		struct ref_desc rd;

		if (rl_layout(t, &d))
			abort();
		t->s2.ops = &ops;
		rl_predirty(t);
		rd = (struct ref_desc){ d.root_gpa, d.levels, d.flags };
		for (k = 0; k < 16 && !bad; k++) {
			u64 iova = rl_iova(d.levels == 5 ? 5 : 4);

			for (a = 0; a < (int)ARRAY_SIZE(rl_accesses) && !bad;
			     a++) {
				u32 acc = rl_accesses[a];
				struct nest_walk_trace tq, tn;
				struct nest_walk_res rq, rn;
				struct nest_fault fq, fn;
				struct ref_out o;
				int rcq, rcn;

				rl_dirty_bits(t, bm0);
				cmpxchg_calls = cmpxchg_races = 0;
				memset(&fq, 0, sizeof(fq));
				rcq = nest_s1_walk_ext(&t->s2, &d, iova, acc,
						       NEST_WALK_F_NO_UPDATE,
						       &rq, &fq, &tq);
				queries++;
				rl_dirty_bits(t, bm1);
				if (cmpxchg_calls)
					bad = "the query tried a cmpxchg";
				else if (memcmp(bm0, bm1, sizeof(bm0)))
					bad = "the query changed dirty bits";
				for (i = 0; i < RL_TABLES && !bad; i++) {
					u64 off = t->written[i] * 4096;

					if (memcmp(t->tm.mem + off,
						   t->ref_mem + off, 4096))
						bad = "the query wrote a table";
				}
				if (!bad && rcq && fq.stage == 2 &&
				    (fq.flags & NEST_FAULT_F_AD_UPDATE))
					ad_faults++;

				memset(&fn, 0, sizeof(fn));
				rcn = nest_s1_walk_ext(&t->s2, &d, iova, acc,
						       0, &rn, &fn, &tn);
				if (!rcn)
					ok++;
				if (cmpxchg_calls)
					updated++;
				restarted += !!cmpxchg_races;
				ref_walk(&c, &rd, iova, acc, &o);
				if (!bad && !walk_same(rcq, &rq, &fq, rcn, &rn,
						       &fn))
					bad = "query and walk differ";
				if (!bad && !cmpxchg_races &&
				    !trace_same(&tq, &tn))
					bad = "query and walk traces differ";
				if (!bad && rl_compare(rcn, &rn, &fn, &o))
					bad = "the walk differs from the ref";
				if (bad)
					rl_log_mismatch(layout, iova, acc, &d,
							bad);
			}
			for (i = 0; i < RL_TABLES && !bad; i++) {
				u64 off = t->written[i] * 4096;

				if (memcmp(t->tm.mem + off, t->ref_mem + off,
					   4096)) {
					bad = "A/D bits differ from the ref";
					TH_LOG("layout %ld: frame %" PRIu64
					       ": %s", layout, t->written[i],
					       bad);
				}
			}
		}
		/* the whole memory, not only the tables, and dirty bits */
		if (!bad && memcmp(t->tm.mem, t->ref_mem, RL_FRAMES * 4096)) {
			bad = "memory differs from the ref";
			TH_LOG("layout %ld: %s", layout, bad);
		}
		if (!bad && !rl_dirty_match(t)) {
			bad = "dirty bits differ from the ref";
			TH_LOG("layout %ld: %s", layout, bad);
		}
		nest_s2_destroy(&t->s2);
	}
	TH_LOG("%ld queries: %ld A/D-update faults; of the walks after them "
	       "%ld ok, %ld set A/D bits, %ld restarted (aliased tables: "
	       "traces not compared)", queries, ad_faults, ok, updated,
	       restarted);
	ASSERT_EQ(0, t->tm.tables);
	if (!bad && layouts >= 1000) {
		/* the layouts must reach the interesting cases */
		ASSERT_TRUE(ad_faults);
		ASSERT_TRUE(updated);
	}
	rl_free(t);
	ASSERT_FALSE(bad);
}

/*
 * The stage-2 steps of one lookup of @gpa (for @s1_level) from step *@i:
 * levels from the top down, tables present, then the leaf the model maps
 * @gpa with (its R, W and, from @dirty, the dirty bit as it was before the
 * walk), or a not-present PTE if the model does not map it. *@last: the
 * final step.
 */
static const char *tr_s2_lookup(const struct rl *t, const u8 *dirty,
				const struct nest_walk_trace *tr, u32 *i,
				u64 gpa, int s1_level,
				const struct nest_walk_step **last)
{
	u64 pg = gpa / 4096;
	bool mapped = pg < RL_FRAMES && t->model[pg].mapped;
	const struct nest_walk_step *s;
	int j;

	for (j = 0;; j++, (*i)++) {
		if (*i >= tr->nr)
			return "stage-2 step missing";
		s = &tr->step[*i];
		if (s->stage != 2 || s->addr != gpa || s->pte ||
		    s->s1_level != s1_level || s->level != NEST_S2_LEVELS - j)
			return "stage-2 step out of place";
		if (s->flags != NEST_STEP_F_PRESENT)
			break;
		if (s->level == 1)
			return "stage-2 table at level 1";
	}
	(*i)++;
	*last = s;
	if (!mapped)
		return s->flags ? "stage-2 leaf the model lacks" : NULL;
	if (s->level != t->model[pg].level)
		return "stage-2 leaf at the wrong level";
	if (s->flags != (NEST_STEP_F_PRESENT | NEST_STEP_F_LEAF |
			 (t->model[pg].r ? NEST_STEP_F_READ : 0) |
			 (t->model[pg].w ? NEST_STEP_F_WRITE : 0) |
			 (dirty[pg] ? NEST_STEP_F_DIRTY : 0)))
		return "stage-2 leaf flags differ from the model";
	return NULL;
}

/*
 * A trace against the reference: per stage-1 PTE the reference read, the
 * stage-2 lookup of its GPA then the PTE itself (GPA, value, level); then
 * the lookup of the output, or the faulting read last.
 */
static const char *tr_check(const struct rl *t, const u8 *dirty,
			    const struct nest_walk_trace *tr, int rc,
			    const struct nest_walk_res *r,
			    const struct nest_fault *f,
			    const struct ref_out *o, u64 iova)
{
	const struct nest_walk_step *s, *last = NULL;
	const char *err;
	u32 i = 0, k;

	if (tr->nr > NEST_WALK_TRACE_MAX)
		return "too many steps";
	if (!rc && tr->nr != r->mem_refs)
		return "nr != mem_refs";
	if (rc && f->stage == 1 && f->level == 0)
		return tr->nr ? "steps before a level-0 fault" : NULL;
	for (k = 0; k < o->nr_ptes; k++) {
		const struct ref_pte *p = &o->ptes[k];

		err = tr_s2_lookup(t, dirty, tr, &i, p->gpa, p->level, &last);
		if (err)
			return err;
		if (!(last->flags & NEST_STEP_F_LEAF))
			return "stage-1 table not mapped";
		if (i >= tr->nr)
			return "stage-1 step missing";
		s = &tr->step[i++];
		if (s->stage != 1 || s->addr != p->gpa || s->pte != p->pte ||
		    s->level != p->level || s->s1_level != p->level ||
		    s->flags)
			return "stage-1 step differs from the reference";
		last = s;
	}
	if (!rc) {
		err = tr_s2_lookup(t, dirty, tr, &i, r->gpa, 0, &last);
	} else if (f->stage == 2 && (f->flags & NEST_FAULT_F_AD_UPDATE)) {
		/* the whole walk was made: the output lookup is last */
		const struct ref_pte *p = &o->ptes[o->nr_ptes - 1];
		u64 size = BIT_ULL(12 + 9 * (p->level - 1));
		u64 gpa = (p->pte & GENMASK_ULL(47, 12) & ~(size - 1)) |
			  (iova & (size - 1));

		err = tr_s2_lookup(t, dirty, tr, &i, gpa, 0, &last);
		if (!err && !(last->flags & NEST_STEP_F_LEAF))
			err = "no output leaf before an A/D fault";
	} else if (f->stage == 2) {
		err = tr_s2_lookup(t, dirty, tr, &i, f->gpa,
				   (f->flags & NEST_FAULT_F_TABLE_FETCH) ?
				   f->s1_level : 0, &last);
		if (!err && last->level != f->level)
			err = "last stage-2 step not at the fault level";
		if (!err && !!(last->flags & NEST_STEP_F_LEAF) !=
		    (f->reason == NEST_FAULT_REASON_PERMISSION))
			err = "last stage-2 step does not match the fault";
	} else {
		err = NULL;
		if (!last || last->stage != 1 || last->level != f->level)
			err = "the faulting stage-1 read is not last";
		else if (f->reason == NEST_FAULT_REASON_PTE_FETCH &&
			 !(f->flags & NEST_FAULT_F_RSVD) && (last->pte & P))
			err = "PTE_FETCH on a present PTE";
	}
	if (err)
		return err;
	return i == tr->nr ? NULL : "extra steps";
}

/*
 * Over random layouts, every walk's trace (normal walks and queries
 * alike) against the reference walker and the stage-2 model.
 */
TEST(walk_trace_random)
{
	u8 dirty[RL_FRAMES];
	long layout, walks = 0, ok = 0, faults = 0, s2_faults = 0;
	long restarted = 0;
	struct nest_mem_ops ops = tm_ops;
	const char *bad = NULL;
	struct ref_ctx c;
	struct rl *t;
	u32 max_nr = 0;
	int k, a;

	rng_state = opt_seed ^ 0x7ace;
	TH_LOG("seed %" PRIu64 " layouts %ld", opt_seed, opt_layouts);
	t = rl_alloc(&c);
	ops.cmpxchg_u64 = counting_cmpxchg;
	for (layout = 0; layout < opt_layouts && !bad; layout++) {
		struct nest_s1_desc d;
		struct ref_desc rd;

		if (rl_layout(t, &d))
			abort();
		t->s2.ops = &ops;
		rl_predirty(t);
		rd = (struct ref_desc){ d.root_gpa, d.levels, d.flags };
		for (k = 0; k < 16 && !bad; k++) {
			u64 iova = rl_iova(d.levels == 5 ? 5 : 4);

			for (a = 0; a < (int)ARRAY_SIZE(rl_accesses) && !bad;
			     a++) {
				u32 acc = rl_accesses[a];
				u32 wf = (k & 1) ? NEST_WALK_F_NO_UPDATE : 0;
				struct nest_walk_trace tr;
				struct nest_walk_res r, rn;
				struct nest_fault f, fn;
				struct ref_out o;
				int rc;

				memcpy(dirty, t->ref_dirty, sizeof(dirty));
				memset(&f, 0, sizeof(f));
				memset(&tr, 0xa5, sizeof(tr));
				cmpxchg_races = 0;
				rc = nest_s1_walk_ext(&t->s2, &d, iova, acc, wf,
						      &r, &f, &tr);
				ref_walk(&c, &rd, iova, acc, &o);
				/* a query set nothing: catch up with the ref */
				if (wf)
					nest_s1_walk(&t->s2, &d, iova, acc,
						     &rn, &fn);
				walks++;
				max_nr = max(max_nr, tr.nr);
				if (rl_compare(rc, &r, &f, &o))
					bad = "the walk differs from the ref";
				else if (tr.nr > NEST_WALK_TRACE_MAX ||
					 (!rc && tr.nr != r.mem_refs))
					bad = "trace length";
				else if (!wf && cmpxchg_races)
					restarted++;	/* saw its own bits */
				else
					bad = tr_check(t, dirty, &tr, rc, &r,
						       &f, &o, iova);
				if (bad) {
					rl_log_mismatch(layout, iova, acc, &d,
							bad);
					TH_LOG("rc %d reason %u stage %u level "
					       "%u s1 %u flags %#x nr %u "
					       "refs %u", rc, f.reason,
					       f.stage, f.level, f.s1_level,
					       f.flags, tr.nr, r.mem_refs);
					break;
				}
				if (!rc)
					ok++;
				else if (f.stage == 2)
					s2_faults++;
				else if (f.level)
					faults++;
			}
		}
		nest_s2_destroy(&t->s2);
	}
	TH_LOG("%ld walks: %ld ok, %ld stage-1 faults past level 0, %ld "
	       "stage-2 faults; longest trace %u; %ld restarted (not checked "
	       "against the reference)", walks, ok, faults, s2_faults, max_nr,
	       restarted);
	ASSERT_EQ(0, t->tm.tables);
	rl_free(t);
	ASSERT_FALSE(bad);
	if (opt_layouts >= 1000)
		ASSERT_TRUE(ok && faults && s2_faults);
}

/* --------------------------------------------------------------- caches */

static void tlb_fill(struct nest_tlb_entry *e, u32 hwpt, u32 pasid, u64 iova,
		     u8 shift, u64 ofn)
{
	memset(e, 0, sizeof(*e));
	e->hwpt_id = hwpt;
	e->pasid = pasid;
	e->iova = iova;
	e->shift = shift;
	e->ofn = ofn;
	e->gpa = ofn * 4096;
	e->s2_id = 1;
	e->perm = NEST_PERM_ALL;
}

TEST(iotlb_basic)
{
	struct nest_tlb_entry store[64], ne;
	const struct nest_tlb_entry *e;
	struct nest_tlb tlb;

	ASSERT_ERR(EINVAL, nest_tlb_init(&tlb, store, 0, 1));
	ASSERT_ERR(EINVAL, nest_tlb_init(&tlb, store, 64, 0));
	ASSERT_ERR(EINVAL, nest_tlb_init(&tlb, store, 48, 4)); /* 12 sets */
	ASSERT_ERR(EINVAL, nest_tlb_init(&tlb, store, 63, 4));
	ASSERT_OK(nest_tlb_init(&tlb, store, 64, 4));
	ASSERT_FALSE(nest_tlb_lookup(&tlb, 1, 0, 0x1000));
	tlb_fill(&ne, 1, 0, 0x1000, 12, 77);
	nest_tlb_insert(&tlb, &ne);
	tlb_fill(&ne, 1, 0, SZ_2M * 3, 21, 1024);
	nest_tlb_insert(&tlb, &ne);
	e = nest_tlb_lookup(&tlb, 1, 0, 0x1fff);
	ASSERT_TRUE(e);
	ASSERT_EQ(77, e->ofn);
	ASSERT_FALSE(nest_tlb_lookup(&tlb, 2, 0, 0x1000)); /* other HWPT */
	ASSERT_FALSE(nest_tlb_lookup(&tlb, 1, 5, 0x1000)); /* other PASID */
	e = nest_tlb_lookup(&tlb, 1, 0, SZ_2M * 3 + 0x12345);
	ASSERT_TRUE(e);
	ASSERT_EQ(21, e->shift);
	ASSERT_EQ(1024, e->ofn);
	ASSERT_EQ(2, tlb.hits);
	ASSERT_EQ(3, tlb.misses);
	/* same key replaces */
	tlb_fill(&ne, 1, 0, 0x1000, 12, 78);
	nest_tlb_insert(&tlb, &ne);
	ASSERT_EQ(2, nest_tlb_count(&tlb));
	ASSERT_EQ(78, nest_tlb_lookup(&tlb, 1, 0, 0x1000)->ofn);
	ASSERT_EQ(0, tlb.evictions);
}

TEST(iotlb_capacity_lru)
{
	struct nest_tlb_entry store[16], ne;
	struct nest_tlb tlb;
	u64 i, hot = 0x100000;

	/* fully associative (1 set of 16): exact LRU */
	ASSERT_OK(nest_tlb_init(&tlb, store, 16, 16));
	for (i = 0; i < 16; i++) {
		tlb_fill(&ne, 1, 0, i * 4096, 12, i);
		nest_tlb_insert(&tlb, &ne);
	}
	ASSERT_EQ(16, nest_tlb_count(&tlb));
	ASSERT_TRUE(nest_tlb_lookup(&tlb, 1, 0, 0)); /* 0 is now recent */
	tlb_fill(&ne, 1, 0, 16 * 4096, 12, 16);
	nest_tlb_insert(&tlb, &ne);		/* evicts 1, the LRU */
	ASSERT_EQ(16, nest_tlb_count(&tlb));
	ASSERT_EQ(1, tlb.evictions);
	ASSERT_TRUE(nest_tlb_lookup(&tlb, 1, 0, 0));
	ASSERT_FALSE(nest_tlb_lookup(&tlb, 1, 0, 4096));
	ASSERT_TRUE(nest_tlb_lookup(&tlb, 1, 0, 2 * 4096));
	/* 4 sets x 4 ways: never more than 16, a hot entry survives */
	ASSERT_OK(nest_tlb_init(&tlb, store, 16, 4));
	tlb_fill(&ne, 1, 0, hot, 12, 1);
	nest_tlb_insert(&tlb, &ne);
	for (i = 0; i < 1000; i++) {
		tlb_fill(&ne, 1, 0, (i + 1000) * 4096, 12, i);
		nest_tlb_insert(&tlb, &ne);
		ASSERT_TRUE(nest_tlb_lookup(&tlb, 1, 0, hot));
		ASSERT_GE(16, nest_tlb_count(&tlb));
	}
	ASSERT_EQ(16, nest_tlb_count(&tlb));
	ASSERT_LE(1000 - 16, tlb.evictions);
}

/* A nested setup for the translate tests: env + one 4-level table. */
struct xenv {
	struct env e;
	struct nest_s1_desc d;
	struct nest_tlb iotlb, devtlb;
	struct nest_tlb_entry is[64], ds[16];
	struct nest_xlate x;
};

static void xenv_init(struct xenv *x)
{
	memset(x, 0, sizeof(*x));
	env_init(&x->e);
	x->d = (struct nest_s1_desc){ .levels = 4, .flags = NEST_S1_F_SRE };
	x->d.root_gpa = env_table(&x->e);
	nest_tlb_init(&x->iotlb, x->is, 64, 4);
	nest_tlb_init(&x->devtlb, x->ds, 16, 4);
	x->x = (struct nest_xlate){
		.iotlb = &x->iotlb, .s2 = &x->e.s2, .s1 = &x->d,
		.hwpt_id = 7, .s2_id = 3,
	};
}

/*
 * Every reserved bit of a present stage-1 PTE, at every level and for
 * every leaf size, faults PTE_FETCH with RSVD at that level, naming the
 * PTE's GPA, through a walk and through nest_translate(), as the reference
 * says: bits 51:48 (beyond the 48-bit GPA width), PS at levels 5 and 4,
 * bits 29:13 of a 1 GiB leaf and 20:13 of a 2 MiB leaf. Ignored bits do
 * not fault.
 */
TEST(s1_reserved_bits_every_level)
{
	static const unsigned int ignored[] = { 3, 4, 8, 11, 52, 62 };
	struct ref_s2page model[ENV_FRAMES];
	u8 dirty[ENV_FRAMES];
	unsigned int levels, leaf, level, bit, i;
	long checked = 0;

	for (levels = 4; levels <= 5; levels++) {
		for (leaf = 1; leaf <= 3; leaf++) {
			u64 iova = 0x00007f1240005000ULL, out, pte_gpa[6], pte[6];
			struct nest_s1_desc d = { .levels = levels,
						  .flags = NEST_S1_F_SRE };
			struct ref_desc rd;
			struct ref_ctx c;
			struct xenv x;

			xenv_init(&x);
			x.d = d;
			x.d.root_gpa = env_table(&x.e);
			/* a huge leaf maps GPA 0: the output lies in env memory */
			out = leaf == 1 ? 40 * 4096 : 0;
			s1_map(&x.e, x.d.root_gpa, levels, iova, out, leaf,
			       P | RW | US, P | RW | US);
			s1_path(&x.e, &x.d, iova, pte_gpa, pte);
			for (i = 0; i < ENV_FRAMES; i++)
				model[i] = (struct ref_s2page){
					.mapped = true, .r = true, .w = true,
					.level = 1, .ofn = i,
				};
			c = (struct ref_ctx){
				.mem = x.e.tm.mem, .nr_frames = ENV_FRAMES,
				.s2 = model, .nr_gpa_pages = ENV_FRAMES,
				.dirty = dirty,
			};
			rd = (struct ref_desc){ x.d.root_gpa, levels,
						x.d.flags };
			for (level = levels; level >= leaf; level--) {
				u64 *ptep = env_pte(&x.e, pte_gpa[level]);

				for (bit = 3; bit < 64; bit++) {
					bool rsvd = (bit >= 48 && bit <= 51) ||
						(bit == 7 && level >= 4) ||
						(level == leaf && leaf == 3 &&
						 bit >= 13 && bit <= 29) ||
						(level == leaf && leaf == 2 &&
						 bit >= 13 && bit <= 20);
					struct nest_xlate_res xr;
					struct nest_walk_res r;
					struct nest_fault f, xf;
					struct ref_out o;
					bool ign = false;

					for (i = 0; i < ARRAY_SIZE(ignored); i++)
						ign |= bit == ignored[i];
					if (!rsvd && !ign)
						continue;
					TH_CONTEXT("levels %u leaf level %u: "
						   "bit %u of the level %u PTE",
						   levels, leaf, bit, level);
					*ptep = pte[level] | BIT_ULL(bit);
					memset(&f, 0, sizeof(f));
					nest_tlb_init(&x.iotlb, x.is, 64, 4);
					ref_walk(&c, &rd, iova, NEST_ACC_READ,
						 &o);
					if (!rsvd) {
						ASSERT_OK(nest_s1_walk(&x.e.s2,
							&x.d, iova,
							NEST_ACC_READ, &r, &f));
						ASSERT_TRUE(o.ok);
						ASSERT_EQ(o.ofn, r.ofn);
						*ptep = pte[level];
						continue;
					}
					ASSERT_ERR(EFAULT, nest_s1_walk(&x.e.s2,
						&x.d, iova, NEST_ACC_READ, &r,
						&f));
					ASSERT_EQ(NEST_FAULT_REASON_PTE_FETCH,
						  f.reason);
					ASSERT_EQ(1, f.stage);
					ASSERT_EQ(level, f.level);
					ASSERT_EQ(NEST_FAULT_F_RSVD |
						  NEST_FAULT_F_GPA_VALID,
						  f.flags);
					ASSERT_EQ(pte_gpa[level], f.gpa);
					ASSERT_EQ(iova, f.addr);
					/* the reference agrees */
					ASSERT_FALSE(o.ok);
					ASSERT_EQ(f.reason, o.reason);
					ASSERT_EQ(f.level, o.level);
					ASSERT_EQ(f.flags, o.flags);
					/* and so does a translation */
					ASSERT_ERR(EFAULT, nest_translate(&x.x,
						0, iova, NEST_ACC_READ, &xr,
						&xf));
					ASSERT_EQ(0, memcmp(&f, &xf,
							    sizeof(f)));
					*ptep = pte[level];
					checked++;
				}
			}
			TH_CONTEXT("%s", "");
			/* the PTEs restored: it translates again */
			ASSERT_OK(nest_translate(&x.x, 0, iova, NEST_ACC_READ,
						 &(struct nest_xlate_res){ 0 },
						 &(struct nest_fault){ 0 }));
			env_fini(&x.e);
		}
	}
	/*
	 * 4 bits (51:48) of each PTE walked, PS at levels 5 and 4, 17 bits
	 * of the 1 GiB leaves, 8 of the 2 MiB ones: 64 with 4 levels, 79
	 * with 5
	 */
	ASSERT_EQ(64 + 79, checked);
}

/*
 * Every permission case twice, cold and cached: a cache hit must meet
 * the checks a walk makes (SRE, U/S, R/W with and without WPD, XD, stage-2
 * R and W), in the IOTLB and in the device TLB. "Cached": another request
 * (each one that succeeds) filled the cache first; for the device TLB the
 * IOTLB's copy is then dropped, so the device TLB answers. The outcome
 * must be the cold one; and a translation the cold walk allows must come
 * from the cache, unless it is a write over an entry a read filled (whose
 * D bit is not set).
 */
struct perm_page {
	const char *name;
	u64 leaf;		/* the leaf's flags */
	u64 l2_clear, l2_set;	/* changes of the level-2 PTE's flags */
	u32 s2_prot;		/* of the output page */
};

static const struct perm_page perm_pages[] = {
	{ "user rw", P | RW | US, 0, 0, 3 },
	{ "user ro", P | US, 0, 0, 3 },
	{ "supervisor rw", P | RW, 0, 0, 3 },
	{ "supervisor ro", P, 0, 0, 3 },
	{ "user rw xd", P | RW | US | XD, 0, 0, 3 },
	{ "ro at level 2", P | RW | US, RW, 0, 3 },
	{ "supervisor at level 2", P | RW | US, US, 0, 3 },
	{ "xd at level 2", P | RW | US, 0, XD, 3 },
	{ "stage 2 ro", P | RW | US, 0, 0, NEST_PROT_READ },
	{ "stage 2 wo", P | RW | US, 0, 0, NEST_PROT_WRITE },
	{ "user ro, stage 2 ro", P | US, 0, 0, NEST_PROT_READ },
	{ "supervisor ro, stage 2 wo", P, 0, 0, NEST_PROT_WRITE },
};

static const u32 perm_accesses[] = {
	NEST_ACC_READ, NEST_ACC_WRITE, NEST_ACC_READ | NEST_ACC_EXEC,
	NEST_ACC_READ | NEST_ACC_PRIV, NEST_ACC_WRITE | NEST_ACC_PRIV,
	NEST_ACC_READ | NEST_ACC_EXEC | NEST_ACC_PRIV,
};

static const u32 perm_desc_flags[] = {
	0, NEST_S1_F_SRE, NEST_S1_F_SRE | NEST_S1_F_WPD, NEST_S1_F_WPD,
	NEST_S1_F_SRE | NEST_S1_F_AD,
	NEST_S1_F_SRE | NEST_S1_F_WPD | NEST_S1_F_AD,
};

static u64 perm_iova(unsigned int i)
{
	return (i + 1) * SZ_2M + 0x3000;
}

/* Each page in its own 2 MiB: its own level-2 PTE and level-1 table. */
static void perm_setup(struct xenv *x, u32 flags)
{
	unsigned int i;
	u64 un;

	xenv_init(x);
	x->d.flags = flags;
	for (i = 0; i < ARRAY_SIZE(perm_pages); i++) {
		const struct perm_page *p = &perm_pages[i];
		u64 pte_gpa[6], pte[6], gpa = (40 + i) * 4096;

		s1_map(&x->e, x->d.root_gpa, 4, perm_iova(i), gpa, 1,
		       P | RW | US, p->leaf);
		s1_path(&x->e, &x->d, perm_iova(i), pte_gpa, pte);
		*env_pte(&x->e, pte_gpa[2]) = (pte[2] & ~p->l2_clear) |
					      p->l2_set;
		if (p->s2_prot == 3)
			continue;
		if (nest_s2_unmap(&x->e.s2, gpa, 4096, &un) || un != 4096 ||
		    nest_s2_map(&x->e.s2, gpa, 4096, 40 + i, p->s2_prot,
				false))
			abort();
	}
}

/* Empty caches and the tables as built (no A/D bit set yet). */
static void perm_reset(struct xenv *x, const u8 *snap)
{
	memcpy(x->e.tm.mem, snap, ENV_FRAMES * 4096);
	nest_tlb_init(&x->iotlb, x->is, 64, 4);
	nest_tlb_init(&x->devtlb, x->ds, 16, 4);
}

static bool xlate_same(int rc1, const struct nest_xlate_res *r1,
		       const struct nest_fault *f1, int rc2,
		       const struct nest_xlate_res *r2,
		       const struct nest_fault *f2)
{
	if (rc1 != rc2)
		return false;
	if (rc1)
		return fault_same(f1, f2);
	return r1->ofn == r2->ofn && r1->gpa == r2->gpa &&
	       r1->perm == r2->perm && r1->page_shift == r2->page_shift;
}

TEST(perm_cold_vs_cached)
{
	static const char *const mode_name[] = { "IOTLB", "device TLB" };
	long cases = 0, hits = 0, bad = 0;
	unsigned int fl, i, t, p, mode;
	u8 *snap = malloc(ENV_FRAMES * 4096);
	struct xenv x;

	ASSERT_TRUE(snap);
	for (fl = 0; fl < ARRAY_SIZE(perm_desc_flags); fl++) {
		perm_setup(&x, perm_desc_flags[fl]);
		memcpy(snap, x.e.tm.mem, ENV_FRAMES * 4096);
		for (i = 0; i < ARRAY_SIZE(perm_pages); i++) {
			u64 iova = perm_iova(i);

			for (t = 0; t < ARRAY_SIZE(perm_accesses); t++) {
				u32 acc = perm_accesses[t];
				struct nest_xlate_res r0, r1;
				struct nest_fault f0, f1;
				int rc0, rc1;

				perm_reset(&x, snap);
				x.x.devtlb = NULL;
				memset(&f0, 0, sizeof(f0));
				rc0 = nest_translate(&x.x, 0, iova, acc, &r0,
						     &f0);
				for (mode = 0; mode < 2; mode++) {
					for (p = 0; p < ARRAY_SIZE(perm_accesses);
					     p++) {
						u32 pa = perm_accesses[p];
						u8 want;

						perm_reset(&x, snap);
						x.x.devtlb = mode ? &x.devtlb :
								    NULL;
						if (nest_translate(&x.x, 0,
								   iova, pa,
								   &r1, &f1))
							continue;
						if (mode)
							nest_tlb_init(&x.iotlb,
								      x.is, 64,
								      4);
						memset(&f1, 0, sizeof(f1));
						rc1 = nest_translate(&x.x, 0,
							iova, acc, &r1, &f1);
						cases++;
						want = mode ? NEST_XLATE_DEVTLB :
							      NEST_XLATE_IOTLB;
						if (!rc1 && r1.source == want)
							hits++;
						if (xlate_same(rc0, &r0, &f0,
							       rc1, &r1, &f1) &&
						    (rc0 ||
						     ((acc & NEST_ACC_WRITE) &&
						      !(pa & NEST_ACC_WRITE)) ||
						     r1.source == want))
							continue;
						if (bad++ >= 8)
							continue;
						TH_LOG("flags %#x page '%s' "
						       "access %#x after %#x "
						       "in the %s: cold rc %d "
						       "reason %u stage %u "
						       "perm %#x; cached rc %d "
						       "reason %u stage %u "
						       "perm %#x source %u",
						       perm_desc_flags[fl],
						       perm_pages[i].name, acc,
						       pa, mode_name[mode],
						       rc0, rc0 ? f0.reason : 0,
						       rc0 ? f0.stage : 0,
						       rc0 ? 0 : r0.perm, rc1,
						       rc1 ? f1.reason : 0,
						       rc1 ? f1.stage : 0,
						       rc1 ? 0 : r1.perm,
						       rc1 ? 0 : r1.source);
					}
				}
			}
		}
		env_fini(&x.e);
	}
	free(snap);
	TH_LOG("%ld cached cases, %ld hits, %ld differ from the walk",
	       cases, hits, bad);
	ASSERT_LT(1000, cases);
	ASSERT_LT(100, hits);
	ASSERT_EQ(0, bad);
}


/*
 * nest_perm_access() (TRANSLATE's out_perm) says exactly what the walk
 * lets a request of the same privilege do: READ, WRITE and EXEC where a
 * read, a write and an instruction fetch of that privilege succeed.
 */
TEST(perm_access_is_what_walks_allow)
{
	static const u32 kinds[] = {
		NEST_ACC_READ, NEST_ACC_WRITE, NEST_ACC_READ | NEST_ACC_EXEC,
	};
	unsigned int fl, i, k, priv;
	u8 *snap = malloc(ENV_FRAMES * 4096);
	long checked = 0;
	struct xenv x;

	ASSERT_TRUE(snap);
	for (fl = 0; fl < ARRAY_SIZE(perm_desc_flags); fl++) {
		perm_setup(&x, perm_desc_flags[fl]);
		memcpy(snap, x.e.tm.mem, ENV_FRAMES * 4096);
		for (i = 0; i < ARRAY_SIZE(perm_pages); i++) {
			for (priv = 0; priv <= NEST_ACC_PRIV;
			     priv += NEST_ACC_PRIV) {
				struct nest_xlate_res r[ARRAY_SIZE(kinds)];
				struct nest_fault f;
				u32 ok = 0;
				int rc[ARRAY_SIZE(kinds)];

				for (k = 0; k < ARRAY_SIZE(kinds); k++) {
					perm_reset(&x, snap);
					rc[k] = nest_translate(&x.x, 0,
							       perm_iova(i),
							       kinds[k] | priv,
							       &r[k], &f);
					if (!rc[k])
						ok |= kinds[k] == NEST_ACC_READ ?
						      NEST_ACC_READ :
						      kinds[k] & ~NEST_ACC_READ;
				}
				for (k = 0; k < ARRAY_SIZE(kinds); k++) {
					if (rc[k])
						continue;
					TH_CONTEXT("flags %#x page '%s' access "
						   "%#x", perm_desc_flags[fl],
						   perm_pages[i].name,
						   kinds[k] | priv);
					ASSERT_EQ(ok, nest_perm_access(r[k].perm,
								       priv));
					checked++;
				}
			}
		}
		env_fini(&x.e);
	}
	free(snap);
	ASSERT_LT(100, checked);
}

TEST(translate_stale_until_invalidated)
{
	struct nest_xlate_res r;
	struct nest_fault f;
	struct nest_inv inv = {
		.cache = NEST_INV_CACHE_IOTLB, .granu = NEST_INV_GRANU_ADDR,
		.hwpt_id = 7, .addr = 0x5000, .granule_size = 4096,
		.nb_granules = 1,
	};
	struct xenv x;
	u32 dropped;
	u64 *leaf;

	xenv_init(&x);
	s1_map(&x.e, x.d.root_gpa, 4, 0x5000, 40 * 4096, 1, P | RW | US,
	       P | RW | US);
	leaf = env_pte(&x.e, 4 * 4096 + 5 * 8);
	ASSERT_OK(nest_translate(&x.x, 0, 0x5010, NEST_ACC_READ, &r, &f));
	ASSERT_EQ(NEST_XLATE_WALK, r.source);
	ASSERT_EQ(24, r.mem_refs);
	ASSERT_EQ(40, r.ofn);
	ASSERT_OK(nest_translate(&x.x, 0, 0x5ff8, NEST_ACC_READ, &r, &f));
	ASSERT_EQ(NEST_XLATE_IOTLB, r.source);
	ASSERT_EQ(0, r.mem_refs);
	/* user space rewrites the PTE without invalidating: stale */
	*leaf = 41 * 4096 | P | RW | US;
	ASSERT_OK(nest_translate(&x.x, 0, 0x5000, NEST_ACC_READ, &r, &f));
	ASSERT_EQ(40, r.ofn);
	*leaf = 0;
	ASSERT_OK(nest_translate(&x.x, 0, 0x5000, NEST_ACC_READ, &r, &f));
	ASSERT_EQ(40, r.ofn);
	/* an invalidation of another PASID/range leaves it */
	inv.addr = 0x6000;
	ASSERT_OK(nest_inv_match(&inv, &x.iotlb, NULL, NULL, &dropped));
	ASSERT_EQ(0, dropped);
	inv.addr = 0x5000;
	inv.flags = NEST_INV_F_PASID | NEST_INV_F_LEAF;
	inv.pasid = 1;
	ASSERT_OK(nest_inv_match(&inv, &x.iotlb, NULL, NULL, &dropped));
	ASSERT_EQ(0, dropped);
	inv.pasid = 0;
	ASSERT_OK(nest_inv_match(&inv, &x.iotlb, NULL, NULL, &dropped));
	ASSERT_EQ(1, dropped);
	ASSERT_ERR(EFAULT, nest_translate(&x.x, 0, 0x5000, NEST_ACC_READ, &r,
					  &f));
	ASSERT_EQ(NEST_FAULT_REASON_PTE_FETCH, f.reason);
	*leaf = 41 * 4096 | P | RW | US;
	ASSERT_OK(nest_translate(&x.x, 0, 0x5000, NEST_ACC_READ, &r, &f));
	ASSERT_EQ(41, r.ofn);
	ASSERT_EQ(NEST_XLATE_WALK, r.source);
	/* a write hit on an entry filled by a read walks again (D bit) */
	ASSERT_OK(nest_translate(&x.x, 0, 0x5000, NEST_ACC_WRITE, &r, &f));
	ASSERT_EQ(NEST_XLATE_WALK, r.source);
	ASSERT_OK(nest_translate(&x.x, 0, 0x5000, NEST_ACC_WRITE, &r, &f));
	ASSERT_EQ(NEST_XLATE_IOTLB, r.source);
	ASSERT_OK(nest_translate(&x.x, 0, 0x5000, NEST_ACC_READ, &r, &f));
	ASSERT_EQ(NEST_XLATE_IOTLB, r.source);
	/* a hit without the permission walks again and faults */
	ASSERT_OK(nest_translate(&x.x, 0, 0x5000, NEST_ACC_READ | NEST_ACC_PRIV,
				 &r, &f));
	*leaf &= ~RW;	/* stale RW in the IOTLB: still allowed */
	ASSERT_OK(nest_translate(&x.x, 0, 0x5000, NEST_ACC_WRITE, &r, &f));
	ASSERT_EQ(NEST_XLATE_IOTLB, r.source);
	env_fini(&x.e);
}

TEST(translate_devtlb_pasid_cache)
{
	struct nest_pasid_entry pcs[4];
	struct nest_pasid_cache pc;
	const struct nest_pasid_entry *pe;
	struct nest_xlate_res r;
	struct nest_fault f;
	struct nest_inv inv;
	struct xenv x;
	u32 dropped;

	xenv_init(&x);
	x.x.devtlb = &x.devtlb;
	s1_map(&x.e, x.d.root_gpa, 4, 0x5000, 40 * 4096, 1, P | RW | US,
	       P | RW | US);
	ASSERT_OK(nest_translate(&x.x, 3, 0x5000, NEST_ACC_READ, &r, &f));
	ASSERT_EQ(NEST_XLATE_WALK, r.source);
	ASSERT_OK(nest_translate(&x.x, 3, 0x5000, NEST_ACC_READ, &r, &f));
	ASSERT_EQ(NEST_XLATE_DEVTLB, r.source);
	/* IOTLB-only invalidation: the device TLB still has it */
	inv = (struct nest_inv){ .cache = NEST_INV_CACHE_IOTLB,
				 .granu = NEST_INV_GRANU_PASID,
				 .hwpt_id = 7, .pasid = 3 };
	ASSERT_OK(nest_inv_match(&inv, &x.iotlb, &x.devtlb, NULL, &dropped));
	ASSERT_EQ(1, dropped);
	ASSERT_OK(nest_translate(&x.x, 3, 0x5000, NEST_ACC_READ, &r, &f));
	ASSERT_EQ(NEST_XLATE_DEVTLB, r.source);
	inv.cache = NEST_INV_CACHE_DEV_IOTLB;
	ASSERT_OK(nest_inv_match(&inv, &x.iotlb, &x.devtlb, NULL, &dropped));
	ASSERT_EQ(1, dropped);
	ASSERT_OK(nest_translate(&x.x, 3, 0x5000, NEST_ACC_READ, &r, &f));
	ASSERT_EQ(NEST_XLATE_WALK, r.source);
	/* an IOTLB hit refills the device TLB */
	inv.cache = NEST_INV_CACHE_DEV_IOTLB;
	inv.granu = NEST_INV_GRANU_ADDR;
	inv.addr = 0;
	inv.granule_size = SZ_2M;
	inv.nb_granules = 1;
	ASSERT_OK(nest_inv_match(&inv, &x.iotlb, &x.devtlb, NULL, &dropped));
	ASSERT_EQ(1, dropped);
	ASSERT_OK(nest_translate(&x.x, 3, 0x5000, NEST_ACC_READ, &r, &f));
	ASSERT_EQ(NEST_XLATE_IOTLB, r.source);
	ASSERT_OK(nest_translate(&x.x, 3, 0x5000, NEST_ACC_READ, &r, &f));
	ASSERT_EQ(NEST_XLATE_DEVTLB, r.source);

	/* PASID cache */
	ASSERT_ERR(EINVAL, nest_pasid_cache_init(&pc, pcs, 0));
	ASSERT_OK(nest_pasid_cache_init(&pc, pcs, 2));
	ASSERT_FALSE(nest_pasid_cache_lookup(&pc, 3));
	nest_pasid_cache_insert(&pc, 3, 7, &x.d);
	nest_pasid_cache_insert(&pc, 4, 7, &x.d);
	pe = nest_pasid_cache_lookup(&pc, 3);
	ASSERT_TRUE(pe);
	ASSERT_EQ(x.d.root_gpa, pe->desc.root_gpa);
	ASSERT_EQ(7, pe->hwpt_id);
	nest_pasid_cache_insert(&pc, 5, 8, &x.d);	/* evicts 4 (LRU) */
	ASSERT_FALSE(nest_pasid_cache_lookup(&pc, 4));
	ASSERT_TRUE(nest_pasid_cache_lookup(&pc, 3));
	/* stale until invalidated */
	x.d.root_gpa = 0;
	ASSERT_EQ(4096, nest_pasid_cache_lookup(&pc, 3)->desc.root_gpa);
	inv = (struct nest_inv){ .cache = NEST_INV_CACHE_PASID,
				 .granu = NEST_INV_GRANU_PASID,
				 .hwpt_id = 7, .pasid = 5 };
	ASSERT_OK(nest_inv_match(&inv, NULL, NULL, &pc, &dropped));
	ASSERT_EQ(0, dropped);	/* PASID 5 is on HWPT 8 */
	inv.pasid = 3;
	ASSERT_OK(nest_inv_match(&inv, NULL, NULL, &pc, &dropped));
	ASSERT_EQ(1, dropped);
	ASSERT_FALSE(nest_pasid_cache_lookup(&pc, 3));
	inv.granu = NEST_INV_GRANU_DOMAIN;
	inv.hwpt_id = 8;
	ASSERT_OK(nest_inv_match(&inv, NULL, NULL, &pc, &dropped));
	ASSERT_EQ(1, dropped);
	ASSERT_FALSE(nest_pasid_cache_lookup(&pc, 5));
	env_fini(&x.e);
}

/* Every cache type x granularity: accepted or rejected as the uAPI says. */
TEST(inv_type_granu_table)
{
	static const struct { u32 cache; u32 granu; int ret; } t[] = {
		{ NEST_INV_CACHE_DEV_IOTLB, NEST_INV_GRANU_DOMAIN, -EINVAL },
		{ NEST_INV_CACHE_IOTLB, NEST_INV_GRANU_DOMAIN, 0 },
		{ NEST_INV_CACHE_PASID, NEST_INV_GRANU_DOMAIN, 0 },
		{ NEST_INV_CACHE_DEV_IOTLB, NEST_INV_GRANU_PASID, 0 },
		{ NEST_INV_CACHE_IOTLB, NEST_INV_GRANU_PASID, 0 },
		{ NEST_INV_CACHE_PASID, NEST_INV_GRANU_PASID, 0 },
		{ NEST_INV_CACHE_DEV_IOTLB, NEST_INV_GRANU_ADDR, 0 },
		{ NEST_INV_CACHE_IOTLB, NEST_INV_GRANU_ADDR, 0 },
		{ NEST_INV_CACHE_PASID, NEST_INV_GRANU_ADDR, -EINVAL },
		/* several caches: all must support the granularity */
		{ NEST_INV_CACHE_IOTLB | NEST_INV_CACHE_DEV_IOTLB,
		  NEST_INV_GRANU_DOMAIN, -EINVAL },
		{ NEST_INV_CACHE_MASK, NEST_INV_GRANU_PASID, 0 },
		{ NEST_INV_CACHE_IOTLB | NEST_INV_CACHE_PASID,
		  NEST_INV_GRANU_ADDR, -EINVAL },
		{ 0, NEST_INV_GRANU_DOMAIN, -EINVAL },
		{ BIT(3), NEST_INV_GRANU_DOMAIN, -EOPNOTSUPP },
		{ NEST_INV_CACHE_IOTLB, NEST_INV_GRANU_NR, -EOPNOTSUPP },
	};
	struct nest_tlb_entry is[16], ds[16], ne;
	struct nest_pasid_entry ps[4];
	struct nest_tlb iotlb, devtlb;
	struct nest_pasid_cache pc;
	struct nest_s1_desc d = { 0 };
	unsigned int i;
	u32 dropped;

	for (i = 0; i < ARRAY_SIZE(t); i++) {
		struct nest_inv inv = {
			.cache = t[i].cache, .granu = t[i].granu,
			.hwpt_id = 1, .pasid = 2,
			.addr = 0, .granule_size = 4096, .nb_granules = 1,
		};

		nest_tlb_init(&iotlb, is, 16, 4);
		nest_tlb_init(&devtlb, ds, 16, 4);
		nest_pasid_cache_init(&pc, ps, 4);
		tlb_fill(&ne, 1, 2, 0, 12, 5);
		nest_tlb_insert(&iotlb, &ne);
		nest_tlb_insert(&devtlb, &ne);
		nest_pasid_cache_insert(&pc, 2, 1, &d);
		dropped = 99;
		TH_CONTEXT("cache %#x granu %u", t[i].cache, t[i].granu);
		ASSERT_EQ(t[i].ret, nest_inv_match(&inv, &iotlb, &devtlb, &pc,
						   &dropped));
		if (t[i].ret) {
			/* rejected: nothing dropped */
			ASSERT_EQ(0, dropped);
			ASSERT_EQ(1, nest_tlb_count(&iotlb));
			ASSERT_EQ(1, nest_tlb_count(&devtlb));
			ASSERT_TRUE(nest_pasid_cache_lookup(&pc, 2));
		} else {
			ASSERT_EQ(!!(t[i].cache & NEST_INV_CACHE_IOTLB) +
				  !!(t[i].cache & NEST_INV_CACHE_DEV_IOTLB) +
				  !!(t[i].cache & NEST_INV_CACHE_PASID),
				  dropped);
		}
	}
}

TEST(inv_fields_and_ranges)
{
	struct nest_inv inv = {
		.cache = NEST_INV_CACHE_IOTLB, .granu = NEST_INV_GRANU_ADDR,
		.hwpt_id = 1, .addr = SZ_2M, .granule_size = 4096,
		.nb_granules = 1,
	};
	struct nest_tlb_entry is[64], ne;
	struct nest_tlb tlb;
	u32 dropped;
	u64 i;

	ASSERT_OK(nest_inv_check(&inv));
	inv.flags = BIT(1);
	ASSERT_ERR(EOPNOTSUPP, nest_inv_check(&inv));
	inv.flags = NEST_INV_F_LEAF;
	ASSERT_OK(nest_inv_check(&inv));
	inv.granule_size = 4096 + 512;
	ASSERT_ERR(EINVAL, nest_inv_check(&inv));
	inv.granule_size = 2048;
	ASSERT_ERR(EINVAL, nest_inv_check(&inv));
	inv.granule_size = SZ_1G;
	ASSERT_ERR(EINVAL, nest_inv_check(&inv));	/* misaligned addr */
	inv.granule_size = 4096;
	inv.nb_granules = 0;
	ASSERT_ERR(EINVAL, nest_inv_check(&inv));
	inv.nb_granules = ~0ULL;
	ASSERT_ERR(EOVERFLOW, nest_inv_check(&inv));
	inv.addr = ~0xfffULL;
	inv.nb_granules = 2;
	ASSERT_ERR(EOVERFLOW, nest_inv_check(&inv));
	inv.nb_granules = 1;
	ASSERT_OK(nest_inv_check(&inv));	/* the last page is fine */
	inv.granu = NEST_INV_GRANU_PASID;
	ASSERT_ERR(EINVAL, nest_inv_check(&inv));	/* flags need ADDR */
	inv.flags = 0;
	ASSERT_OK(nest_inv_check(&inv));

	/* ADDR range: granule x count, overlapping entries of every size */
	nest_tlb_init(&tlb, is, 64, 8);
	for (i = 0; i < 8; i++) {
		tlb_fill(&ne, 1, i & 1, SZ_2M + i * 4096, 12, i);
		nest_tlb_insert(&tlb, &ne);
	}
	tlb_fill(&ne, 1, 0, 2 * SZ_2M, 21, 512);
	nest_tlb_insert(&tlb, &ne);
	tlb_fill(&ne, 1, 0, SZ_1G, 30, 1 << 18);
	nest_tlb_insert(&tlb, &ne);
	tlb_fill(&ne, 2, 0, SZ_2M, 12, 0);	/* another HWPT */
	nest_tlb_insert(&tlb, &ne);
	inv = (struct nest_inv){
		.cache = NEST_INV_CACHE_IOTLB, .granu = NEST_INV_GRANU_ADDR,
		.hwpt_id = 1, .addr = SZ_2M + 2 * 4096, .granule_size = 4096,
		.nb_granules = 3, .flags = NEST_INV_F_PASID, .pasid = 0,
	};
	ASSERT_OK(nest_inv_match(&inv, &tlb, NULL, NULL, &dropped));
	ASSERT_EQ(2, dropped);	/* pages 2 and 4 (3 is PASID 1) */
	inv.flags = 0;
	ASSERT_OK(nest_inv_match(&inv, &tlb, NULL, NULL, &dropped));
	ASSERT_EQ(1, dropped);	/* page 3 */
	inv.addr = 2 * SZ_2M + SZ_2M - 4096;	/* last page of the 2M */
	inv.nb_granules = 1;
	ASSERT_OK(nest_inv_match(&inv, &tlb, NULL, NULL, &dropped));
	ASSERT_EQ(1, dropped);
	inv.addr = SZ_1G + SZ_2M * 5;
	inv.granule_size = SZ_2M;
	ASSERT_OK(nest_inv_match(&inv, &tlb, NULL, NULL, &dropped));
	ASSERT_EQ(1, dropped);
	ASSERT_EQ(6, nest_tlb_count(&tlb));
	inv.granu = NEST_INV_GRANU_DOMAIN;
	inv.flags = 0;
	ASSERT_OK(nest_inv_match(&inv, &tlb, NULL, NULL, &dropped));
	ASSERT_EQ(5, dropped);
	ASSERT_EQ(1, nest_tlb_count(&tlb));	/* HWPT 2 left */
}

/* What a full scan says @inv drops from @tlb: the reference of inv_tlb(). */
static u32 inv_ref_count(const struct nest_tlb *tlb, const struct nest_inv *inv)
{
	u64 i, n = (u64)tlb->nr_sets * tlb->ways;
	u64 last = inv->addr + inv->granule_size * inv->nb_granules - 1;
	u32 c = 0;

	for (i = 0; i < n; i++) {
		const struct nest_tlb_entry *e = &tlb->entries[i];

		if (!(e->flags & NEST_TLB_F_VALID) || e->hwpt_id != inv->hwpt_id)
			continue;
		if (inv->granu == NEST_INV_GRANU_PASID && e->pasid != inv->pasid)
			continue;
		if (inv->granu == NEST_INV_GRANU_ADDR &&
		    (((inv->flags & NEST_INV_F_PASID) && e->pasid != inv->pasid) ||
		     e->iova > last ||
		     e->iova + (1ULL << e->shift) - 1 < inv->addr))
			continue;
		c++;
	}
	return c;
}

/* The tag bucket lists hold exactly the valid entries, each in its bucket. */
static bool tlb_lists_ok(const struct nest_tlb *tlb)
{
	u32 b, seen = 0;

	for (b = 0; b < NEST_TLB_TAG_BUCKETS; b++) {
		u32 link = tlb->tag_head[b], prev = 0;

		while (link) {
			const struct nest_tlb_entry *e = &tlb->entries[link - 1];

			if (!(e->flags & NEST_TLB_F_VALID) || e->tag_prev != prev ||
			    (e->hwpt_id & (NEST_TLB_TAG_BUCKETS - 1)) != b ||
			    ++seen > tlb->nr_valid)
				return false;
			prev = link;
			link = e->tag_next;
		}
	}
	return seen == tlb->nr_valid && seen == nest_tlb_count(tlb);
}

/*
 * Invalidations visit only the entries of their HWPT's bucket: random
 * inserts (HWPT ids sharing buckets), evictions, drops and stage-2 drops
 * keep the lists exact, and every invalidation drops what a full scan of
 * the TLB says it must.
 */
TEST(inv_tag_lists_random)
{
	static struct nest_tlb_entry store[256];
	struct nest_tlb_entry ne;
	struct nest_tlb tlb;
	struct nest_inv inv;
	u32 dropped, want;
	int i;

	rng_state = opt_seed ^ 0x7a9;
	ASSERT_OK(nest_tlb_init(&tlb, store, 256, 4));
	for (i = 0; i < 20000; i++) {
		u32 hwpt = 1 + rnd_below(130);	/* > 2 buckets' worth */
		u32 pasid = rnd_below(3);
		u8 shift = (u8[]){ 12, 21, 30 }[rnd_below(3)];
		u64 iova = rnd_below(64) << shift;
		const struct nest_tlb_entry *e;

		switch (rnd_below(8)) {
		case 0:
			inv = (struct nest_inv){
				.cache = NEST_INV_CACHE_IOTLB,
				.granu = rnd_below(3),
				.hwpt_id = hwpt, .pasid = pasid,
			};
			if (inv.granu == NEST_INV_GRANU_ADDR) {
				inv.flags = rnd_below(2) ? NEST_INV_F_PASID : 0;
				inv.granule_size = 1ULL << shift;
				inv.addr = iova;
				inv.nb_granules = 1 + rnd_below(4);
			}
			want = inv_ref_count(&tlb, &inv);
			ASSERT_OK(nest_inv_match(&inv, &tlb, NULL, NULL, &dropped));
			ASSERT_EQ(want, dropped);
			break;
		case 1:
			e = nest_tlb_lookup(&tlb, hwpt, pasid, iova);
			if (e)
				nest_tlb_drop_entry(&tlb, e);
			break;
		case 2:
			nest_tlb_drop_s2(&tlb, 1, rnd_below(64) << 21, SZ_2M);
			break;
		default:
			tlb_fill(&ne, hwpt, pasid, iova, shift, rnd_below(1 << 20));
			nest_tlb_insert(&tlb, &ne);
		}
		if (!tlb_lists_ok(&tlb)) {
			TH_LOG("tag lists wrong after step %d (seed %" PRIu64 ")", i, opt_seed);
			ASSERT_TRUE(false);
		}
	}
	ASSERT_LT(0, tlb.evictions);
}

TEST(s2_unmap_drops_nested)
{
	struct nest_xlate_res r;
	struct nest_fault f;
	struct xenv x;
	u64 un;

	xenv_init(&x);
	s1_map(&x.e, x.d.root_gpa, 4, 0x5000, 40 * 4096, 1, P | RW | US,
	       P | RW | US);
	s1_map(&x.e, x.d.root_gpa, 4, 0x6000, 41 * 4096, 1, P | RW | US,
	       P | RW | US);
	s1_map(&x.e, x.d.root_gpa, 4, 0x200000, 42 * 4096, 1, P | RW | US,
	       P | RW | US);	/* another level-1 table (frame 5) */
	ASSERT_OK(nest_translate(&x.x, 0, 0x5000, 1, &r, &f));
	ASSERT_OK(nest_translate(&x.x, 0, 0x6000, 1, &r, &f));
	ASSERT_OK(nest_translate(&x.x, 0, 0x200000, 1, &r, &f));
	/* a paging HWPT on the same stage 2 (s2-only translation) */
	x.x.s1 = NULL;
	x.x.hwpt_id = 3;
	ASSERT_OK(nest_translate(&x.x, NEST_PASID_NONE, 41 * 4096, 1, &r, &f));
	ASSERT_EQ(41, r.ofn);
	ASSERT_EQ(4, r.mem_refs);
	ASSERT_EQ(4, nest_tlb_count(&x.iotlb));
	/* unmap the output page of 0x6000: drops it and the paging entry */
	ASSERT_OK(nest_s2_unmap(&x.e.s2, 41 * 4096, 4096, &un));
	ASSERT_EQ(2, nest_tlb_drop_s2(&x.iotlb, 3, 41 * 4096, un));
	ASSERT_EQ(0, nest_tlb_drop_s2(&x.iotlb, 4, 0, ~0ULL)); /* other s2 */
	x.x.s1 = &x.d;
	x.x.hwpt_id = 7;
	ASSERT_ERR(EFAULT, nest_translate(&x.x, 0, 0x6000, 1, &r, &f));
	ASSERT_EQ(2, f.stage);
	ASSERT_EQ(41 * 4096, f.gpa);
	ASSERT_OK(nest_translate(&x.x, 0, 0x5000, 1, &r, &f));
	ASSERT_EQ(NEST_XLATE_IOTLB, r.source);
	/* unmap the level-1 table page of 0x5000: drops the translation */
	ASSERT_OK(nest_s2_unmap(&x.e.s2, 4 * 4096, 4096, &un));
	ASSERT_EQ(1, nest_tlb_drop_s2(&x.iotlb, 3, 4 * 4096, un));
	ASSERT_ERR(EFAULT, nest_translate(&x.x, 0, 0x5000, 1, &r, &f));
	ASSERT_EQ(2, f.stage);
	ASSERT_EQ(1, f.s1_level);
	ASSERT_EQ(NEST_FAULT_F_TABLE_FETCH, f.flags & NEST_FAULT_F_TABLE_FETCH);
	ASSERT_OK(nest_translate(&x.x, 0, 0x200000, 1, &r, &f));
	ASSERT_EQ(NEST_XLATE_IOTLB, r.source);
	/* the root page: everything nested goes */
	ASSERT_EQ(1, nest_tlb_drop_s2(&x.iotlb, 3, x.d.root_gpa, 4096));
	ASSERT_EQ(0, nest_tlb_count(&x.iotlb));
	env_fini(&x.e);
}

/* Dirty tracking through the IOTLB: after a clear the driver drops. */
TEST(dirty_with_iotlb)
{
	struct nest_xlate_res r;
	struct nest_fault f;
	struct xenv x;
	u64 bm[1], n;

	xenv_init(&x);
	x.x.s1 = NULL;
	ASSERT_OK(nest_s2_read_dirty(&x.e.s2, 0, 64 * 4096, bm, true, &n));
	ASSERT_OK(nest_translate(&x.x, 0, 9 * 4096, NEST_ACC_WRITE, &r, &f));
	ASSERT_OK(nest_translate(&x.x, 0, 9 * 4096, NEST_ACC_WRITE, &r, &f));
	ASSERT_EQ(NEST_XLATE_IOTLB, r.source);
	ASSERT_OK(nest_translate(&x.x, 0, 10 * 4096, NEST_ACC_READ, &r, &f));
	bm[0] = 0;
	ASSERT_OK(nest_s2_read_dirty(&x.e.s2, 0, 64 * 4096, bm, true, &n));
	ASSERT_EQ(BIT_ULL(9), bm[0]);
	ASSERT_EQ(2, nest_tlb_drop_s2(&x.iotlb, 3, 0, 64 * 4096));
	ASSERT_OK(nest_translate(&x.x, 0, 9 * 4096, NEST_ACC_WRITE, &r, &f));
	ASSERT_EQ(NEST_XLATE_WALK, r.source);
	bm[0] = 0;
	ASSERT_OK(nest_s2_read_dirty(&x.e.s2, 0, 64 * 4096, bm, false, &n));
	ASSERT_EQ(BIT_ULL(9), bm[0]);
	env_fini(&x.e);
}

/*
 * nest_translate(): walk levels in the result, the walk's trace, and a
 * NO_UPDATE translation that walks without touching any cache or bit.
 */
TEST(translate_levels_no_update)
{
	struct nest_walk_trace tr;
	struct nest_xlate_res r;
	struct nest_fault f;
	struct xenv x;
	u64 bm[1], n, hits, misses, dhits, dmisses;
	u8 *snap;

	xenv_init(&x);
	snap = malloc(ENV_FRAMES * 4096);
	ASSERT_TRUE(snap);
	x.x.devtlb = &x.devtlb;
	x.x.trace = &tr;
	x.d.flags |= NEST_S1_F_AD;
	s1_map(&x.e, x.d.root_gpa, 4, 0x5000, 40 * 4096, 1, P | RW | US,
	       P | RW | US);
	ASSERT_OK(nest_s2_read_dirty(&x.e.s2, 0, 64 * 4096, bm, true, &n));

	/* a query: a walk, nothing cached, counted or written */
	x.x.walk_flags = NEST_WALK_F_NO_UPDATE;
	memcpy(snap, x.e.tm.mem, ENV_FRAMES * 4096);
	ASSERT_OK(nest_translate(&x.x, 0, 0x5008, NEST_ACC_WRITE, &r, &f));
	ASSERT_EQ(NEST_XLATE_WALK, r.source);
	ASSERT_EQ(40, r.ofn);
	ASSERT_EQ(24, r.mem_refs);
	ASSERT_EQ(4, r.s1_levels);
	ASSERT_EQ(1, r.s2_level);
	ASSERT_EQ(24, tr.nr);
	ASSERT_EQ(0, nest_tlb_count(&x.iotlb));
	ASSERT_EQ(0, nest_tlb_count(&x.devtlb));
	ASSERT_EQ(0, x.iotlb.hits + x.iotlb.misses + x.devtlb.hits +
		     x.devtlb.misses);
	ASSERT_EQ(0, memcmp(snap, x.e.tm.mem, ENV_FRAMES * 4096));
	ASSERT_OK(nest_s2_read_dirty(&x.e.s2, 0, 64 * 4096, bm, false, &n));
	ASSERT_EQ(0, n);

	/* a translation: the same walk, then cached, A/D and dirty set */
	x.x.walk_flags = 0;
	ASSERT_OK(nest_translate(&x.x, 0, 0x5008, NEST_ACC_WRITE, &r, &f));
	ASSERT_EQ(NEST_XLATE_WALK, r.source);
	ASSERT_EQ(4, r.s1_levels);
	ASSERT_EQ(1, r.s2_level);
	ASSERT_EQ(24, tr.nr);
	ASSERT_NE(0, memcmp(snap, x.e.tm.mem, ENV_FRAMES * 4096));
	ASSERT_OK(nest_s2_read_dirty(&x.e.s2, 0, 64 * 4096, bm, false, &n));
	ASSERT_EQ(5, n);	/* 4 table pages and the output */
	/* hits: no levels, no steps */
	ASSERT_OK(nest_translate(&x.x, 0, 0x5010, NEST_ACC_WRITE, &r, &f));
	ASSERT_EQ(NEST_XLATE_DEVTLB, r.source);
	ASSERT_EQ(0, r.mem_refs);
	ASSERT_EQ(0, r.s1_levels);
	ASSERT_EQ(0, r.s2_level);
	ASSERT_EQ(0, tr.nr);
	x.x.trace = NULL;
	ASSERT_OK(nest_translate(&x.x, 0, 0x5010, NEST_ACC_READ, &r, &f));
	ASSERT_EQ(0, r.s1_levels);
	x.x.trace = &tr;

	/* a query with the translation cached: still a walk, no cache use */
	hits = x.iotlb.hits;
	misses = x.iotlb.misses;
	dhits = x.devtlb.hits;
	dmisses = x.devtlb.misses;
	x.x.walk_flags = NEST_WALK_F_NO_UPDATE;
	ASSERT_OK(nest_translate(&x.x, 0, 0x5010, NEST_ACC_READ, &r, &f));
	ASSERT_EQ(NEST_XLATE_WALK, r.source);
	ASSERT_EQ(4, r.s1_levels);
	ASSERT_EQ(24, tr.nr);
	ASSERT_EQ(hits, x.iotlb.hits);
	ASSERT_EQ(misses, x.iotlb.misses);
	ASSERT_EQ(dhits, x.devtlb.hits);
	ASSERT_EQ(dmisses, x.devtlb.misses);
	ASSERT_EQ(1, nest_tlb_count(&x.iotlb));
	/* a query that faults reports the fault of the translation */
	ASSERT_ERR(EFAULT, nest_translate(&x.x, 0, 0x6000, NEST_ACC_READ, &r,
					  &f));
	ASSERT_EQ(NEST_FAULT_REASON_PTE_FETCH, f.reason);
	ASSERT_EQ(1, f.level);
	ASSERT_EQ(20, tr.nr);

	/* a paging HWPT: stage-2 levels only */
	x.x.s1 = NULL;
	x.x.hwpt_id = 3;
	x.x.walk_flags = NEST_WALK_F_NO_UPDATE;
	ASSERT_OK(nest_translate(&x.x, NEST_PASID_NONE, 41 * 4096,
				 NEST_ACC_WRITE, &r, &f));
	ASSERT_EQ(0, r.s1_levels);
	ASSERT_EQ(1, r.s2_level);
	ASSERT_EQ(4, r.mem_refs);
	ASSERT_EQ(4, tr.nr);
	ASSERT_EQ(1, nest_tlb_count(&x.iotlb));
	x.x.walk_flags = 0;
	ASSERT_OK(nest_translate(&x.x, NEST_PASID_NONE, 41 * 4096,
				 NEST_ACC_WRITE, &r, &f));
	ASSERT_EQ(1, r.s2_level);
	ASSERT_EQ(2, nest_tlb_count(&x.iotlb));
	bm[0] = 0;
	ASSERT_OK(nest_s2_read_dirty(&x.e.s2, 0, 64 * 4096, bm, false, &n));
	ASSERT_EQ(0x1eULL | BIT_ULL(40) | BIT_ULL(41), bm[0]);
	free(snap);
	env_fini(&x.e);
}

TEST_HARNESS_MAIN
