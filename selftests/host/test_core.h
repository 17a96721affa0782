/* SPDX-License-Identifier: GPL-2.0 */
/*
 * test_core.h - what the host unit tests of kernel/core share (test_core.c
 * defines it): the options, the PRNG, the "env" guest memory and the
 * comparisons of walk results. The tests themselves are in one file per
 * story: test_core_s2.c (stage 2), test_core_s1.c (stage-1 walks, A/D bits,
 * no-update walks and traces), test_core_random.c (random layouts against
 * the reference walker) and test_core_xlate.c (caches, translation,
 * permissions through the caches, invalidation).
 *
 * "env": a small guest memory (ENV_FRAMES frames) whose GPA space is mapped
 * 1:1 (gpa = ofn * 4096) read-write in stage 2 with 4 KiB leaves, so tests
 * can write stage-1 tables by GPA. The random-layout tests build their own.
 */
#ifndef TEST_CORE_H
#define TEST_CORE_H

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

/* --seed and --layouts */
extern u64 opt_seed;
extern long opt_layouts;

/* xorshift64*: deterministic from the printed seed */
extern u64 rng_state;
u64 rnd(void);
u64 rnd_below(u64 n);

#define ENV_FRAMES 64

struct env {
	struct testmem tm;
	struct nest_s2 s2;
	u64 next_frame;
};

void env_init(struct env *e);
void env_fini(struct env *e);
u64 *env_pte(struct env *e, u64 gpa);
u64 env_table(struct env *e);
void s1_map(struct env *e, u64 root, int levels, u64 iova, u64 out,
	    int leaf_level, u64 tflags, u64 lflags);
void s1_path(struct env *e, const struct nest_s1_desc *d, u64 iova,
	     u64 *pte_gpa, u64 *pte);

bool fault_same(const struct nest_fault *f1, const struct nest_fault *f2);
bool walk_same(int rc1, const struct nest_walk_res *r1,
	       const struct nest_fault *f1, int rc2,
	       const struct nest_walk_res *r2, const struct nest_fault *f2);
bool trace_same(const struct nest_walk_trace *a,
		const struct nest_walk_trace *b);

extern long cmpxchg_calls, cmpxchg_races;
int counting_cmpxchg(void *priv, u64 ofn, u32 off, u64 old, u64 new,
		     u64 *cur);

#endif /* TEST_CORE_H */
