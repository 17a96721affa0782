// SPDX-License-Identifier: GPL-2.0
/*
 * bench_core.c - native cost of the translation core (no sanitizers, -O2).
 *
 * Layout: 4-level stage 1 over 4-level stage 2, 4 KiB pages at both
 * stages, NPAGES IOVAs mapped to distinct frames. Measures ns per cold
 * nested walk (nest_s1_walk(), no cache), per stage-2-only walk and per
 * IOTLB-hit nest_translate(), and the memory references per walk
 * (expected (4 + 1) * (4 + 1) - 1 = 24 nested).
 *
 * The machines are shared and noisy: each figure is measured in ROUNDS
 * rounds, the three kinds taking turns, and reported as the minimum and
 * the median; the ratios compare the medians of this one run.
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include "testmem.h"

#define NPAGES		256
#define FRAMES		(NPAGES + 16)
#define ITERS		400000
#define ROUNDS		9

enum { B_NESTED, B_S2, B_HIT, B_NR };

static const char *const bench_name[B_NR] = {
	[B_NESTED] = "nested 4-over-4 walk (no cache)",
	[B_S2] = "stage-2-only walk (no cache)",
	[B_HIT] = "IOTLB-hit translation",
};

struct bench_env {
	struct nest_s2 s2;
	struct nest_s1_desc d;
	struct nest_xlate x;
	u64 base;
	u64 sink;
	u64 refs[B_NR];
};

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

/* One round of one kind: ns per translation, or -1 on a failed one. */
static double bench_round(struct bench_env *env, int kind)
{
	struct nest_walk_res r;
	struct nest_xlate_res xr;
	struct nest_fault f;
	double t0 = now_ns();
	u64 i;

	for (i = 0; i < ITERS; i++) {
		switch (kind) {
		case B_NESTED:
			if (nest_s1_walk(&env->s2, &env->d,
					 env->base + (i % NPAGES) * 4096,
					 NEST_ACC_READ, &r, &f))
				return -1;
			env->sink += r.ofn;
			env->refs[kind] += r.mem_refs;
			break;
		case B_S2:
			if (nest_s2_translate(&env->s2, (i % FRAMES) * 4096,
					      NEST_ACC_READ, &r, &f))
				return -1;
			env->sink += r.ofn;
			env->refs[kind] += r.mem_refs;
			break;
		default:
			if (nest_translate(&env->x, 0,
					   env->base + (i % NPAGES) * 4096 + 8,
					   NEST_ACC_READ, &xr, &f) ||
			    xr.source != NEST_XLATE_IOTLB)
				return -1;
			env->sink += xr.ofn;
			break;
		}
	}
	return (now_ns() - t0) / ITERS;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

int main(void)
{
	static struct nest_tlb_entry store[1024];
	double ns[B_NR][ROUNDS], med[B_NR];
	struct testmem tm = { .nr_frames = FRAMES };
	struct bench_env env = { .d = { .levels = 4, .root_gpa = 0 },
				 .base = 0x7f0000000000ULL };
	struct nest_xlate_res xr;
	struct nest_fault f;
	struct nest_tlb tlb;
	int k, round;
	u64 *m, i;

	tm.mem = aligned_alloc(4096, FRAMES * 4096);
	memset(tm.mem, 0, FRAMES * 4096);
	m = (u64 *)tm.mem;
	/* tables in frames 0..3 (GPA = frame * 4K), data from frame 16 */
	m[(env.base >> 39) & 511] = 1 * 4096 | 7;
	m[512 + ((env.base >> 30) & 511)] = 2 * 4096 | 7;
	m[1024 + ((env.base >> 21) & 511)] = 3 * 4096 | 7;
	for (i = 0; i < NPAGES; i++)
		m[1536 + i] = (16 + i) * 4096 | 7;
	if (nest_s2_init(&env.s2, &tm_ops, &tm) ||
	    nest_s2_map(&env.s2, 0, FRAMES * 4096, 0, 3, false))
		return 1;

	/* IOTLB: 1024 entries, 8 ways, the NPAGES pages warmed */
	nest_tlb_init(&tlb, store, 1024, 8);
	env.x = (struct nest_xlate){ .iotlb = &tlb, .s2 = &env.s2,
				     .s1 = &env.d, .hwpt_id = 1, .s2_id = 1 };
	for (i = 0; i < NPAGES; i++)
		if (nest_translate(&env.x, 0, env.base + i * 4096,
				   NEST_ACC_READ, &xr, &f))
			return 1;

	for (round = 0; round < ROUNDS; round++) {
		for (k = 0; k < B_NR; k++) {
			ns[k][round] = bench_round(&env, k);
			if (ns[k][round] < 0) {
				fprintf(stderr, "bench_core: %s failed\n",
					bench_name[k]);
				return 1;
			}
		}
	}

	printf("%d rounds of %d translations each, the kinds taking turns\n",
	       ROUNDS, ITERS);
	printf("%-34s %9s %9s %s\n", "translation", "min ns", "median ns",
	       "memory references/translation");
	for (k = 0; k < B_NR; k++) {
		qsort(ns[k], ROUNDS, sizeof(ns[k][0]), cmp_double);
		med[k] = ns[k][ROUNDS / 2];
		printf("%-34s %9.1f %9.1f %.1f\n", bench_name[k], ns[k][0],
		       med[k], (double)env.refs[k] / ((double)ITERS * ROUNDS));
	}
	printf("IOTLB hit / nested walk (medians): %.2f\n",
	       med[B_HIT] / med[B_NESTED]);
	printf("stage-2-only walk / nested walk (medians): %.2f\n",
	       med[B_S2] / med[B_NESTED]);
	printf("IOTLB hits %llu, misses %llu\n",
	       (unsigned long long)tlb.hits, (unsigned long long)tlb.misses);
	nest_s2_destroy(&env.s2);
	free(tm.mem);
	return env.sink == 42;	/* keep the loops */
}
