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
 * give an ofn inside the memory. Before that walk, the same input goes
 * through a NO_UPDATE walk with a trace (and a stage-2-only one): it must
 * leave the memory and every stage-2 dirty bit as they were, give the
 * result and fault of the walk that follows, and fit its trace in
 * NEST_WALK_TRACE_MAX steps (exactly mem_refs on success). Each input also
 * goes through the caches (a NO_UPDATE nest_translate that caches nothing,
 * then nest_translate twice: walk, then hit) and the invalidation checker.
 */
#include <stdio.h>
#include <stdlib.h>
#include "testmem.h"

#define FZ_FRAMES	16

static u8 mem[FZ_FRAMES * 4096] __attribute__((aligned(4096)));
static u8 snap[FZ_FRAMES * 4096];

static u64 get64(const u8 *p)
{
	u64 v;

	memcpy(&v, p, 8);
	return v;
}

/* Stage-2 dirty pages of both mappings (a fresh table starts with none). */
static u64 fz_dirty(struct nest_s2 *s2)
{
	u64 bm[FZ_FRAMES / 64 + 1] = { 0 }, n, total = 0;

	if (nest_s2_read_dirty(s2, 0, FZ_FRAMES * 4096, bm, false, &n))
		abort();
	total += n;
	if (nest_s2_read_dirty(s2, 1ULL << 30, FZ_FRAMES * 4096, bm, false,
			       &n))
		abort();
	return total + n;
}

/* What a NO_UPDATE walk must leave: the memory and the dirty bits. */
static void fz_unchanged(struct nest_s2 *s2)
{
	if (memcmp(mem, snap, sizeof(mem)) || fz_dirty(s2))
		abort();
}

static void fz_trace_check(const struct nest_walk_trace *t, int rc,
			   const struct nest_walk_res *r)
{
	u32 i;

	if (t->nr > NEST_WALK_TRACE_MAX || (!rc && t->nr != r->mem_refs))
		abort();
	for (i = 0; i < t->nr; i++)
		if ((t->step[i].stage == 2 && t->step[i].pte) ||
		    t->step[i].stage < 1 || t->step[i].stage > 2)
			abort();
}

int LLVMFuzzerTestOneInput(const u8 *data, size_t size);

int LLVMFuzzerTestOneInput(const u8 *data, size_t size)
{
	struct testmem tm = { .mem = mem, .nr_frames = FZ_FRAMES };
	struct nest_tlb_entry ts[8];
	struct nest_walk_trace tq, tn;
	struct nest_s1_desc d;
	struct nest_walk_res r, rq;
	struct nest_xlate_res xr;
	struct nest_xlate x;
	struct nest_fault f, fq;
	struct nest_tlb tlb;
	struct nest_inv inv;
	struct nest_s2 s2;
	u64 iova, layout, i, dirty;
	u32 access, dropped;
	int rc, rcq;

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

	/* the query first, on the memory as given */
	memcpy(snap, mem, sizeof(mem));
	memset(&fq, 0, sizeof(fq));
	rcq = nest_s1_walk_ext(&s2, &d, iova, access, NEST_WALK_F_NO_UPDATE,
			       &rq, &fq, &tq);
	fz_unchanged(&s2);
	fz_trace_check(&tq, rcq, &rq);
	rc = nest_s2_translate_ext(&s2, iova, access, NEST_WALK_F_NO_UPDATE,
				   &r, &f, &tn);
	fz_unchanged(&s2);
	if (tn.nr > NEST_S2_LEVELS)
		abort();
	fz_trace_check(&tn, rc, &r);

	memset(&f, 0, sizeof(f));
	rc = nest_s1_walk_ext(&s2, &d, iova, access, 0, &r, &f, &tn);
	fz_trace_check(&tn, rc, &r);
	if (!rc && (r.ofn >= FZ_FRAMES || r.mem_refs > 5 * 5 + 4 ||
		    r.nr_tables > NEST_S1_MAX_LEVELS))
		abort();
	if (rc && (f.stage < 1 || f.stage > 2 ||
		   f.reason > NEST_FAULT_REASON_OOR_ADDRESS))
		abort();
	/* the query answered what the walk did */
	if (rcq != rc)
		abort();
	if (!rc && (rq.ofn != r.ofn || rq.gpa != r.gpa ||
		    rq.perm != r.perm || rq.page_shift != r.page_shift ||
		    rq.mem_refs != r.mem_refs || rq.s1_levels != r.s1_levels ||
		    rq.s2_level != r.s2_level))
		abort();
	if (rc && (fq.reason != f.reason || fq.stage != f.stage ||
		   fq.level != f.level || fq.s1_level != f.s1_level ||
		   fq.flags != f.flags || fq.gpa != f.gpa))
		abort();

	nest_tlb_init(&tlb, ts, 8, 2);
	x = (struct nest_xlate){ .iotlb = &tlb, .s2 = &s2, .s1 = &d,
				 .hwpt_id = 1, .s2_id = 1,
				 .walk_flags = NEST_WALK_F_NO_UPDATE,
				 .trace = &tq };
	if (data[11] & 1)
		x.s1 = NULL;
	/* a query through the caches: nothing cached, nothing written */
	memcpy(snap, mem, sizeof(mem));
	dirty = fz_dirty(&s2);
	rc = nest_translate(&x, data[11] >> 1, iova, access, &xr, &f);
	if (memcmp(mem, snap, sizeof(mem)) || fz_dirty(&s2) != dirty ||
	    nest_tlb_count(&tlb) || tq.nr > NEST_WALK_TRACE_MAX ||
	    (!rc && tq.nr != xr.mem_refs))
		abort();
	x.walk_flags = 0;
	for (i = 0; i < 2; i++) {
		rc = nest_translate(&x, data[11] >> 1, iova, access, &xr, &f);
		if (!rc && xr.ofn >= FZ_FRAMES)
			abort();
		if (tq.nr > NEST_WALK_TRACE_MAX ||
		    (!rc && tq.nr != xr.mem_refs))
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
