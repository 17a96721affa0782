// SPDX-License-Identifier: GPL-2.0
/*
 * bench_core.c - native cost of the translation core (no sanitizers, -O2).
 *
 * Layout: 4-level stage 1 over 4-level stage 2, 4 KiB pages at both
 * stages, NPAGES IOVAs mapped to distinct frames. Prints ns per IOTLB-hit
 * nest_translate(), ns per cold nested walk (nest_s1_walk(), no cache), the
 * memory references per walk (expected (4 + 1) * (4 + 1) - 1 = 24), and the
 * same for a stage-2-only walk.
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include "testmem.h"

#define NPAGES		256
#define FRAMES		(NPAGES + 16)
#define ITERS		2000000

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

int main(void)
{
	static struct nest_tlb_entry store[1024];
	struct testmem tm = { .nr_frames = FRAMES };
	struct nest_s1_desc d = { .levels = 4, .root_gpa = 0 };
	struct nest_walk_res r;
	struct nest_xlate_res xr;
	struct nest_fault f;
	struct nest_xlate x;
	struct nest_tlb tlb;
	struct nest_s2 s2;
	u64 *m, i, base = 0x7f0000000000ULL, sink = 0, refs = 0;
	double t0, t1;

	tm.mem = aligned_alloc(4096, FRAMES * 4096);
	memset(tm.mem, 0, FRAMES * 4096);
	m = (u64 *)tm.mem;
	/* tables in frames 0..3 (GPA = frame * 4K), data from frame 16 */
	m[(base >> 39) & 511] = 1 * 4096 | 7;
	m[512 + ((base >> 30) & 511)] = 2 * 4096 | 7;
	m[1024 + ((base >> 21) & 511)] = 3 * 4096 | 7;
	for (i = 0; i < NPAGES; i++)
		m[1536 + i] = (16 + i) * 4096 | 7;
	if (nest_s2_init(&s2, &tm_ops, &tm) ||
	    nest_s2_map(&s2, 0, FRAMES * 4096, 0, 3, false))
		return 1;

	/* cold nested walks */
	t0 = now_ns();
	for (i = 0; i < ITERS; i++) {
		if (nest_s1_walk(&s2, &d, base + (i % NPAGES) * 4096,
				 NEST_ACC_READ, &r, &f))
			return 1;
		sink += r.ofn;
		refs += r.mem_refs;
	}
	t1 = now_ns();
	printf("nested 4-over-4 walk (no cache): %.1f ns/translation, "
	       "%.1f memory references/walk (expected 24)\n",
	       (t1 - t0) / ITERS, (double)refs / ITERS);

	/* stage-2-only walks */
	refs = 0;
	t0 = now_ns();
	for (i = 0; i < ITERS; i++) {
		if (nest_s2_translate(&s2, (i % FRAMES) * 4096, NEST_ACC_READ,
				      &r, &f))
			return 1;
		sink += r.ofn;
		refs += r.mem_refs;
	}
	t1 = now_ns();
	printf("stage-2-only walk (no cache): %.1f ns/translation, "
	       "%.1f memory references/walk\n",
	       (t1 - t0) / ITERS, (double)refs / ITERS);

	/* IOTLB hits: 1024 entries, 8 ways, NPAGES pages warmed */
	nest_tlb_init(&tlb, store, 1024, 8);
	x = (struct nest_xlate){ .iotlb = &tlb, .s2 = &s2, .s1 = &d,
				 .hwpt_id = 1, .s2_id = 1 };
	for (i = 0; i < NPAGES; i++)
		if (nest_translate(&x, 0, base + i * 4096, NEST_ACC_READ, &xr,
				   &f))
			return 1;
	t0 = now_ns();
	for (i = 0; i < ITERS; i++) {
		if (nest_translate(&x, 0, base + (i % NPAGES) * 4096 + 8,
				   NEST_ACC_READ, &xr, &f))
			return 1;
		sink += xr.ofn + xr.source;
	}
	t1 = now_ns();
	printf("IOTLB-hit translation: %.1f ns/translation (hits %llu, "
	       "misses %llu)\n", (t1 - t0) / ITERS,
	       (unsigned long long)tlb.hits, (unsigned long long)tlb.misses);
	nest_s2_destroy(&s2);
	free(tm.mem);
	return sink == 42;	/* keep the loops */
}
