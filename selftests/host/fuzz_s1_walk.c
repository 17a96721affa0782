// SPDX-License-Identifier: GPL-2.0
/*
 * fuzz_s1_walk.c - libFuzzer target for the nested walk over arbitrary
 * table memory.
 *
 * Input: a 32-byte header (root GPA, levels, descriptor flags, IOVA,
 * access, stage-2 layout bits) followed by up to FZ_FRAMES * 4 KiB of guest
 * memory (the rest is zero). Stage 2 maps GPA [0, FZ_FRAMES * 4K) to ofns
 * with per-page protections and holes chosen by the header (identity or
 * reversed), plus a second alias of all frames at GPA 1G when asked. The memory ops abort()
 * if the core asks for an ofn outside the FZ_FRAMES frames, so a read
 * outside the memory given is a crash; the walk is checked to return and to
 * give an ofn inside the memory. Each input also goes through the caches
 * (nest_translate twice: walk, then hit) and the invalidation checker.
 */
#include <stdio.h>
#include <stdlib.h>
#include "testmem.h"

#define FZ_FRAMES	16

static u8 mem[FZ_FRAMES * 4096] __attribute__((aligned(4096)));

static u64 get64(const u8 *p)
{
	u64 v;

	memcpy(&v, p, 8);
	return v;
}

int LLVMFuzzerTestOneInput(const u8 *data, size_t size);

int LLVMFuzzerTestOneInput(const u8 *data, size_t size)
{
	struct testmem tm = { .mem = mem, .nr_frames = FZ_FRAMES };
	struct nest_tlb_entry ts[8];
	struct nest_s1_desc d;
	struct nest_walk_res r;
	struct nest_xlate_res xr;
	struct nest_xlate x;
	struct nest_fault f;
	struct nest_tlb tlb;
	struct nest_inv inv;
	struct nest_s2 s2;
	u64 iova, layout, i;
	u32 access, dropped;
	int rc;

	if (size < 32)
		return 0;
	d.root_gpa = get64(data);
	d.levels = data[8] & 1 ? 5 : 4;
	if (data[8] & 2)
		d.levels = data[8] >> 2;	/* anything, checked */
	d.flags = data[9];
	access = data[10] & NEST_ACC_MASK;
	iova = get64(data + 12);
	layout = get64(data + 20);
	memset(mem, 0, sizeof(mem));
	memcpy(mem, data + 32, size - 32 < sizeof(mem) ? size - 32 :
	       sizeof(mem));

	if (nest_s2_init(&s2, &tm_ops, &tm))
		abort();
	for (i = 0; i < FZ_FRAMES; i++) {
		u32 prot = (layout >> (2 * i)) & 3;

		if (prot && nest_s2_map(&s2, i * 4096, 4096,
					(layout >> 40) & 1 ? FZ_FRAMES - 1 - i :
					i, prot, false))
			abort();
	}
	if ((layout >> 41) & 1 &&
	    nest_s2_map(&s2, 1ULL << 30, FZ_FRAMES * 4096, 0, 3, true))
		abort();

	rc = nest_s1_walk(&s2, &d, iova, access, &r, &f);
	if (!rc && (r.ofn >= FZ_FRAMES || r.mem_refs > 5 * 5 + 4 ||
		    r.nr_tables > NEST_S1_MAX_LEVELS))
		abort();
	if (rc && (f.stage < 1 || f.stage > 2 ||
		   f.reason > NEST_FAULT_REASON_OOR_ADDRESS))
		abort();

	nest_tlb_init(&tlb, ts, 8, 2);
	x = (struct nest_xlate){ .iotlb = &tlb, .s2 = &s2, .s1 = &d,
				 .hwpt_id = 1, .s2_id = 1 };
	if (data[11] & 1)
		x.s1 = NULL;
	for (i = 0; i < 2; i++) {
		rc = nest_translate(&x, data[11] >> 1, iova, access, &xr, &f);
		if (!rc && xr.ofn >= FZ_FRAMES)
			abort();
	}
	inv = (struct nest_inv){
		.cache = data[28], .granu = data[29], .flags = data[30],
		.hwpt_id = data[31] & 1, .pasid = data[11] >> 1,
		.addr = iova, .granule_size = 1ULL << (layout >> 58),
		.nb_granules = layout >> 42,
	};
	nest_inv_match(&inv, &tlb, NULL, NULL, &dropped);
	nest_tlb_drop_s2(&tlb, 1, layout & ~0xfffULL, iova);

	nest_s2_destroy(&s2);
	if (tm.tables)
		abort();
	return 0;
}
