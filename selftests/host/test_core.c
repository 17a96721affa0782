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
 * The shared parts (test_core.h) are here; the tests are in test_core_*.c.
 */
#include "test_core.h"

u64 opt_seed = 1;
long opt_layouts = 3000;

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

u64 rng_state;

u64 rnd(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545f4914f6cdd1dULL;
}

u64 rnd_below(u64 n)
{
	return rnd() % n;
}

/* ------------------------------------------------------------------ env */

void env_init(struct env *e)
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

void env_fini(struct env *e)
{
	nest_s2_destroy(&e->s2);
	if (e->tm.tables)
		TH_LOG("leaked %ld stage-2 tables", e->tm.tables);
	free(e->tm.mem);
}

u64 *env_pte(struct env *e, u64 gpa)
{
	return (u64 *)(e->tm.mem + gpa);
}

u64 env_table(struct env *e)
{
	return e->next_frame++ * 4096;
}

/*
 * Map @iova to @out in the stage-1 tables rooted at @root with a leaf at
 * @leaf_level; table PTEs get @tflags, the leaf @lflags.
 */
void s1_map(struct env *e, u64 root, int levels, u64 iova, u64 out,
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

/* ---------------------------------------------------- comparing walks */

/* The GPAs and values of the stage-1 PTEs a walk of @iova reads. */
void s1_path(struct env *e, const struct nest_s1_desc *d, u64 iova,
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
bool fault_same(const struct nest_fault *f1,
		const struct nest_fault *f2)
{
	return f1->reason == f2->reason && f1->stage == f2->stage &&
	       f1->level == f2->level && f1->s1_level == f2->s1_level &&
	       f1->flags == f2->flags && f1->gpa == f2->gpa;
}

/* Two walk results are the same translation (or the same fault). */
bool walk_same(int rc1, const struct nest_walk_res *r1,
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
bool trace_same(const struct nest_walk_trace *a,
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
long cmpxchg_calls, cmpxchg_races;

int counting_cmpxchg(void *priv, u64 ofn, u32 off, u64 old, u64 new,
		     u64 *cur)
{
	int ret = tm_cmpxchg_u64(priv, ofn, off, old, new, cur);

	cmpxchg_calls++;
	if (!ret && *cur != old)
		cmpxchg_races++;
	return ret;
}

TEST_HARNESS_MAIN
