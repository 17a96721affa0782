// SPDX-License-Identifier: GPL-2.0
/*
 * Translation selftests: DMA and TRANSLATE through nested and paging HWPTs
 * with every combination of stage-1 leaf size (4 KiB, 2 MiB, 1 GiB; 4 and 5
 * levels) and stage-2 page size (4 KiB pages, 2 MiB and 1 GiB hugetlb);
 * data checked in the memory behind the final translation; DMAs crossing
 * page boundaries and stopping at a fault; the TRANSLATE query (walk steps,
 * sources, NO_CACHE, EMSGSIZE); A/D bits; statistics; DMA argument checks.
 */
#include <signal.h>
#include <sys/time.h>

#include "nest_env.h"

/* ==== every page-size combination ==== */

#define MEM_GPA		0x100000000ULL	/* 4 GiB: 1 GiB aligned */
#define MEM_USED	(4 * SZ_1M)	/* what the cases touch */

FIXTURE(xlate) {
	struct nest_env e;
	char *mem;
	size_t mem_len;
	__u64 iova;		/* the IOVA of MEM_GPA */
};

FIXTURE_VARIANT(xlate) {
	unsigned int levels;
	__u64 s1_size;		/* stage-1 leaf; 0: paging HWPT on the RID */
	__u64 s2_huge;		/* 0: 4 KiB pages; SZ_2M / SZ_1G: hugetlb */
	bool huge_off;		/* OPTION_HUGE_PAGES 0 on the IOAS */
	__u64 page_size;	/* the translation size TRANSLATE reports */
};

FIXTURE_VARIANT_ADD(xlate, s1_4k_s2_4k) { .s1_size = SZ_4K, .page_size = SZ_4K };
FIXTURE_VARIANT_ADD(xlate, s1_4k_s2_4k_5level) { .levels = 5, .s1_size = SZ_4K, .page_size = SZ_4K };
FIXTURE_VARIANT_ADD(xlate, s1_2m_s2_4k) { .s1_size = SZ_2M, .page_size = SZ_4K };
FIXTURE_VARIANT_ADD(xlate, s1_1g_s2_4k) { .s1_size = SZ_1G, .page_size = SZ_4K };
FIXTURE_VARIANT_ADD(xlate, s1_4k_s2_2m) { .s1_size = SZ_4K, .s2_huge = SZ_2M, .page_size = SZ_4K };
FIXTURE_VARIANT_ADD(xlate, s1_2m_s2_2m) { .s1_size = SZ_2M, .s2_huge = SZ_2M, .page_size = SZ_2M };
FIXTURE_VARIANT_ADD(xlate, s1_2m_s2_2m_5level) { .levels = 5, .s1_size = SZ_2M, .s2_huge = SZ_2M, .page_size = SZ_2M };
FIXTURE_VARIANT_ADD(xlate, s1_1g_s2_2m) { .s1_size = SZ_1G, .s2_huge = SZ_2M, .page_size = SZ_2M };
FIXTURE_VARIANT_ADD(xlate, s1_4k_s2_1g) { .s1_size = SZ_4K, .s2_huge = SZ_1G, .page_size = SZ_4K };
FIXTURE_VARIANT_ADD(xlate, s1_2m_s2_1g) { .s1_size = SZ_2M, .s2_huge = SZ_1G, .page_size = SZ_2M };
FIXTURE_VARIANT_ADD(xlate, s1_1g_s2_1g) { .s1_size = SZ_1G, .s2_huge = SZ_1G, .page_size = SZ_1G };
FIXTURE_VARIANT_ADD(xlate, s1_1g_s2_1g_5level) { .levels = 5, .s1_size = SZ_1G, .s2_huge = SZ_1G, .page_size = SZ_1G };
FIXTURE_VARIANT_ADD(xlate, s1_2m_s2_2m_huge_off) { .s1_size = SZ_2M, .s2_huge = SZ_2M, .huge_off = true, .page_size = SZ_4K };
FIXTURE_VARIANT_ADD(xlate, s1_1g_s2_1g_huge_off) { .s1_size = SZ_1G, .s2_huge = SZ_1G, .huge_off = true, .page_size = SZ_4K };
FIXTURE_VARIANT_ADD(xlate, paging_s2_4k) { .page_size = SZ_4K };
FIXTURE_VARIANT_ADD(xlate, paging_s2_2m) { .s2_huge = SZ_2M, .page_size = SZ_2M };
FIXTURE_VARIANT_ADD(xlate, paging_s2_1g) { .s2_huge = SZ_1G, .page_size = SZ_1G };
FIXTURE_VARIANT_ADD(xlate, paging_s2_2m_huge_off) { .s2_huge = SZ_2M, .huge_off = true, .page_size = SZ_4K };

FIXTURE_SETUP(xlate)
{
	struct nest_env_opts o = {
		.levels = variant->levels,
		.huge_off = variant->huge_off,
		.rid = !variant->s1_size,
		.no_nested = !variant->s1_size,
	};
	__u64 off;

	env_setup(&self->e, &o);
	self->mem_len = variant->s2_huge == SZ_1G ? SZ_1G : MEM_USED;
	self->mem = variant->s2_huge ? alloc_hugetlb(self->mem_len, variant->s2_huge) :
				       alloc_buffer_4k(self->mem_len, SZ_2M);
	do_ioas_map_fixed(self->e.fd, self->e.ioas_id, self->mem, self->mem_len, MEM_GPA);
	if (!variant->s1_size) {
		/* Stage 2 only: the IOVA is the GPA. */
		self->iova = MEM_GPA;
		do_device_attach(self->e.fd, self->e.dev_id, 0, 0, self->e.parent_id);
		return;
	}
	self->iova = variant->levels == 5 ? ENV_IOVA5 : ENV_IOVA;
	for (off = 0; off < MEM_USED; off += variant->s1_size)
		env_map(&self->e, self->iova + off, MEM_GPA + off, variant->s1_size, S1_RWU);
}

FIXTURE_TEARDOWN(xlate)
{
	env_teardown(&self->e);
	munmap(self->mem, self->mem_len);
}

/* Spans the DMA cases move: within a page and across 4K and 2M boundaries. */
static const struct { __u64 off, len; } xlate_spans[] = {
	{ 0, 64 },
	{ SZ_4K - 100, 200 },
	{ 3 * SZ_4K + 8, 2 * SZ_4K },		/* three pages */
	{ SZ_2M - 3000, 6000 },
	{ MEM_USED - SZ_4K, SZ_4K },
};

TEST_F(xlate, dma_write_lands_in_backing_memory)
{
	static char buf[4 * SZ_4K];
	size_t i;

	for (i = 0; i < sizeof(xlate_spans) / sizeof(xlate_spans[0]); i++) {
		__u64 off = xlate_spans[i].off, len = xlate_spans[i].len;

		TH_CONTEXT("span %zu: offset 0x%llx length 0x%llx", i, off, len);
		fill_pattern(buf, len, i + 1);
		env_dma_ok(&self->e, ACC_W, self->iova + off, len, buf);
		ASSERT_MEM_EQ(self->mem + off, buf, len);
		/* Not a byte more. */
		if (off)
			ASSERT_EQ(0x5a, (unsigned char)self->mem[off - 1]);
		if (off + len < self->mem_len)
			ASSERT_EQ(0x5a, (unsigned char)self->mem[off + len]);
	}
}

TEST_F(xlate, dma_read_returns_backing_memory)
{
	static char buf[4 * SZ_4K];
	size_t i;

	for (i = 0; i < sizeof(xlate_spans) / sizeof(xlate_spans[0]); i++) {
		__u64 off = xlate_spans[i].off, len = xlate_spans[i].len;

		TH_CONTEXT("span %zu: offset 0x%llx length 0x%llx", i, off, len);
		fill_pattern(self->mem + off, len, 100 + i);
		memset(buf, 0, sizeof(buf));
		env_dma_ok(&self->e, ACC_R, self->iova + off, len, buf);
		ASSERT_MEM_EQ(buf, self->mem + off, len);
		ASSERT_EQ(0, buf[len]);
	}
}

TEST_F(xlate, translate_reports_output_and_page_size)
{
	const __u64 offs[] = { 0, SZ_4K + 0x123, SZ_2M + 0x10, MEM_USED - 8 };
	struct nestiommu_walk_step steps[64];
	struct nestiommu_translate xl;
	size_t i;

	for (i = 0; i < sizeof(offs) / sizeof(offs[0]); i++) {
		TH_CONTEXT("offset 0x%llx", offs[i]);
		/* NO_CACHE: a huge translation would be a hit the second time. */
		env_translate(&self->e, NESTIOMMU_TRANSLATE_NO_CACHE, ACC_R, self->iova + offs[i],
			      steps, 64, &xl);
		ASSERT_EQ(NESTIOMMU_XLATE_WALK, xl.out_source);
		ASSERT_EQ(MEM_GPA + offs[i], xl.out_gpa);
		ASSERT_EQ(NEST_PTR(self->mem + offs[i]), xl.out_user_va);
		ASSERT_EQ(self->e.ioas_id, xl.out_ioas_id);
		ASSERT_EQ(variant->page_size, xl.out_page_size);
		ASSERT_EQ(NESTIOMMU_ACCESS_READ | NESTIOMMU_ACCESS_WRITE |
			  NESTIOMMU_ACCESS_EXEC, xl.out_perm);
	}
}

/* The second translation of the same page comes from the IOTLB. */
TEST_F(xlate, translate_cached_after_walk)
{
	struct nestiommu_walk_step steps[64];
	struct nestiommu_translate xl;

	env_translate(&self->e, 0, ACC_R, self->iova + 0x40, steps, 64, &xl);
	ASSERT_EQ(NESTIOMMU_XLATE_WALK, xl.out_source);
	ASSERT_LT(0, xl.steps_num);
	/* Another address in the same translation. */
	env_translate(&self->e, 0, ACC_R, self->iova + variant->page_size - 8,
		      steps, 64, &xl);
	ASSERT_EQ(NESTIOMMU_XLATE_IOTLB, xl.out_source);
	ASSERT_EQ(0, xl.steps_num);
	ASSERT_EQ(MEM_GPA + variant->page_size - 8, xl.out_gpa);
	ASSERT_EQ(variant->page_size, xl.out_page_size);
}

/* ==== one nested HWPT, 4 or 5 levels, 4 KiB pages ==== */

FIXTURE(nested) {
	struct nest_env e;
	__u64 iova;
	unsigned int levels;
};

FIXTURE_VARIANT(nested) {
	unsigned int levels;
	__u32 dev_flags;
};

FIXTURE_VARIANT_ADD(nested, four_level) { .levels = 4 };
FIXTURE_VARIANT_ADD(nested, five_level) { .levels = 5 };
FIXTURE_VARIANT_ADD(nested, four_level_ats) { .levels = 4, .dev_flags = NESTIOMMU_DEVICE_ATS };

FIXTURE_SETUP(nested)
{
	struct nest_env_opts o = { .levels = variant->levels, .dev_flags = variant->dev_flags };
	int i;

	env_setup(&self->e, &o);
	self->levels = variant->levels;
	self->iova = variant->levels == 5 ? ENV_IOVA5 : ENV_IOVA;
	/* 16 pages: IOVA page i -> data page i. */
	for (i = 0; i < 16; i++)
		env_map(&self->e, self->iova + i * SZ_4K, DATA_GPA + i * SZ_4K, SZ_4K, S1_RWU);
}

FIXTURE_TEARDOWN(nested)
{
	env_teardown(&self->e);
}

/*
 * The expected walk of a nested 4 KiB translation: per stage-1 level, four
 * stage-2 steps translating the PTE's GPA then the stage-1 PTE read; then
 * four stage-2 steps translating the output GPA.
 */
static void check_nested_steps(FIXTURE_DATA(nested) *self,
			       const struct nestiommu_walk_step *steps,
			       __u32 nsteps, __u64 iova, __u64 out_gpa)
{
	unsigned int level, s2, n = 0;

	ASSERT_EQ(5 * self->levels + 4, nsteps);
	for (level = self->levels; level >= 1; level--) {
		__u64 pte_gpa = env_pte_gpa(&self->e, iova, level);
		__u64 pte = nest_s1_pte_read(env_pte(&self->e, iova, level));

		for (s2 = 4; s2 >= 1; s2--, n++) {
			TH_CONTEXT("step %u: stage 2 level %u of the stage-1 level %u table", n, s2, level);
			ASSERT_EQ(2, steps[n].stage);
			ASSERT_EQ(s2, steps[n].level);
			ASSERT_EQ(level, steps[n].s1_level);
			ASSERT_EQ(pte_gpa, steps[n].addr);
			ASSERT_EQ(0, steps[n].pte);
			ASSERT_TRUE(steps[n].flags & NESTIOMMU_STEP_PRESENT);
			ASSERT_EQ(s2 == 1, !!(steps[n].flags & NESTIOMMU_STEP_LEAF));
		}
		TH_CONTEXT("step %u: stage 1 level %u", n, level);
		ASSERT_EQ(1, steps[n].stage);
		ASSERT_EQ(level, steps[n].level);
		ASSERT_EQ(pte_gpa, steps[n].addr);
		ASSERT_EQ(pte, steps[n].pte);
		n++;
	}
	for (s2 = 4; s2 >= 1; s2--, n++) {
		TH_CONTEXT("step %u: stage 2 level %u of the output", n, s2);
		ASSERT_EQ(2, steps[n].stage);
		ASSERT_EQ(s2, steps[n].level);
		ASSERT_EQ(0, steps[n].s1_level);
		ASSERT_EQ(out_gpa, steps[n].addr);
		ASSERT_EQ(0, steps[n].pte);
		ASSERT_TRUE(steps[n].flags & NESTIOMMU_STEP_PRESENT);
		ASSERT_EQ(s2 == 1, !!(steps[n].flags & NESTIOMMU_STEP_LEAF));
	}
	/* The output is in a read-write mapping. */
	ASSERT_TRUE(steps[n - 1].flags & NESTIOMMU_STEP_READ);
	ASSERT_TRUE(steps[n - 1].flags & NESTIOMMU_STEP_WRITE);
	TH_CONTEXT("%s", "");
}

/* 4 levels over 4: (4 + 1) * (4 + 1) - 1 = 24 steps; 5 over 4: 29. */
TEST_F(nested, translate_walk_steps_match_tables)
{
	struct nestiommu_walk_step steps[64];
	struct nestiommu_translate xl;
	__u64 iova = self->iova + 3 * SZ_4K + 0x123;

	memset(steps, 0xa5, sizeof(steps));
	env_translate(&self->e, NESTIOMMU_TRANSLATE_NO_CACHE, ACC_R, iova, steps, 64, &xl);
	ASSERT_EQ(NESTIOMMU_XLATE_WALK, xl.out_source);
	ASSERT_EQ(DATA_GPA + 3 * SZ_4K + 0x123, xl.out_gpa);
	ASSERT_EQ(NEST_PTR(self->e.data + 3 * SZ_4K + 0x123), xl.out_user_va);
	ASSERT_EQ(self->e.ioas_id, xl.out_ioas_id);
	ASSERT_EQ(SZ_4K, xl.out_page_size);
	check_nested_steps(self, steps, xl.steps_num, iova, xl.out_gpa);
	/* Nothing written past the steps. */
	ASSERT_EQ(0xa5a5a5a5a5a5a5a5ULL, steps[xl.steps_num].addr);
}

/* Too few steps: EMSGSIZE, the count needed, and the first steps. */
TEST_F(nested, translate_short_steps_emsgsize)
{
	struct nestiommu_walk_step full[64], part[64];
	struct nestiommu_translate xl;
	__u64 iova = self->iova + SZ_4K;
	__u32 need = 5 * self->levels + 4;

	env_translate(&self->e, NESTIOMMU_TRANSLATE_NO_CACHE, ACC_R, iova, full, 64, &xl);
	ASSERT_EQ(need, xl.steps_num);

	memset(part, 0xa5, sizeof(part));
	ASSERT_ERR(EMSGSIZE, _do_translate(self->e.fd, self->e.dev_id,
					   self->e.dma_flags | NESTIOMMU_TRANSLATE_NO_CACHE,
					   self->e.pasid, ACC_R, iova, part, 10, &xl));
	ASSERT_EQ(need, xl.steps_num);
	ASSERT_MEM_EQ(part, full, 10 * sizeof(part[0]));
	ASSERT_EQ(0xa5a5a5a5a5a5a5a5ULL, part[10].addr);

	/* Counting with no array at all. */
	ASSERT_ERR(EMSGSIZE, _do_translate(self->e.fd, self->e.dev_id,
					   self->e.dma_flags | NESTIOMMU_TRANSLATE_NO_CACHE,
					   self->e.pasid, ACC_R, iova, NULL, 0, &xl));
	ASSERT_EQ(need, xl.steps_num);

	/* Exactly enough. */
	memset(part, 0xa5, sizeof(part));
	env_translate(&self->e, NESTIOMMU_TRANSLATE_NO_CACHE, ACC_R, iova, part, need, &xl);
	ASSERT_EQ(need, xl.steps_num);
	ASSERT_MEM_EQ(part, full, need * sizeof(part[0]));
}

/* A fault: reported in out_fault, with the steps up to the faulting read. */
TEST_F(nested, translate_fault_reports_steps_to_fault)
{
	struct nestiommu_walk_step steps[64];
	struct nestiommu_translate xl;
	__u64 iova = self->iova + 2 * SZ_4K;
	__u64 pte_gpa = env_pte_gpa(&self->e, iova, 2);

	/* Level 2 not present: levels L..2 are read, 5 steps each. */
	nest_s1_pte_write(env_pte(&self->e, iova, 2), 0);
	memset(steps, 0xa5, sizeof(steps));
	env_translate_fault(&self->e, NESTIOMMU_TRANSLATE_NO_CACHE, ACC_R, iova,
			    steps, 64, &xl);
	check_fault_exp(&xl.out_fault, (struct fault_exp){
		.addr = iova, .reason = NESTIOMMU_FAULT_REASON_PTE_FETCH,
		.stage = 1, .level = 2, .flags = NESTIOMMU_FAULT_F_GPA_VALID,
		.fetch_addr = pte_gpa });
	ASSERT_EQ(5 * (self->levels - 1), xl.steps_num);
	ASSERT_EQ(1, steps[xl.steps_num - 1].stage);
	ASSERT_EQ(2, steps[xl.steps_num - 1].level);
	ASSERT_EQ(pte_gpa, steps[xl.steps_num - 1].addr);
	ASSERT_EQ(0, steps[xl.steps_num - 1].pte);
}

/*
 * Bits 51:48 of a present PTE (table pointer or leaf) are reserved, not an
 * out-of-range address (GPAs are 48 bits, the address field 47:12): at
 * every level each faults PTE_FETCH with RSVD there, naming the PTE, for
 * DMA reads and writes and for TRANSLATE, and moves no data.
 */
TEST_F(nested, reserved_high_bits_fault_pte_fetch_rsvd)
{
	struct nestiommu_walk_step steps[64];
	struct nestiommu_translate xl;
	struct nestiommu_dma dma;
	__u64 iova = self->iova + 3 * SZ_4K;
	unsigned int level, bit;
	char buf[8];

	for (level = self->levels; level >= 1; level--) {
		__u64 *ptep = env_pte(&self->e, iova, level);
		__u64 pte = nest_s1_pte_read(ptep), pte_gpa = env_pte_gpa(&self->e, iova, level);

		for (bit = 48; bit <= 51; bit++) {
			TH_CONTEXT("bit %u of the level %u PTE", bit, level);
			nest_s1_pte_write(ptep, pte | (1ULL << bit));
			inv_all(self->e.fd, self->e.nested_id);
			memset(buf, 0, sizeof(buf));
			env_dma_fault(&self->e, ACC_R, iova, sizeof(buf), buf, &dma);
			ASSERT_EQ(0, dma.out_bytes_done);
			ASSERT_MEM_BYTE(buf, 0, sizeof(buf));
			check_fault_exp(&dma.out_fault, (struct fault_exp){
				.addr = iova,
				.reason = NESTIOMMU_FAULT_REASON_PTE_FETCH,
				.stage = 1, .level = level,
				.flags = NESTIOMMU_FAULT_F_GPA_VALID | NESTIOMMU_FAULT_F_RSVD,
				.fetch_addr = pte_gpa });
			env_dma_fault(&self->e, ACC_W, iova, sizeof(buf), buf, &dma);
			ASSERT_EQ(0, dma.out_bytes_done);
			ASSERT_MEM_BYTE(env_data(&self->e, DATA_GPA + 3 * SZ_4K), 0x5a, SZ_4K);
			check_fault_exp(&dma.out_fault, (struct fault_exp){
				.addr = iova,
				.reason = NESTIOMMU_FAULT_REASON_PTE_FETCH,
				.stage = 1, .level = level,
				.flags = NESTIOMMU_FAULT_F_GPA_VALID | NESTIOMMU_FAULT_F_RSVD,
				.fetch_addr = pte_gpa });
			env_translate_fault(&self->e, NESTIOMMU_TRANSLATE_NO_CACHE, ACC_W, iova,
					    steps, 64, &xl);
			check_fault_exp(&xl.out_fault, (struct fault_exp){
				.addr = iova,
				.reason = NESTIOMMU_FAULT_REASON_PTE_FETCH,
				.stage = 1, .level = level,
				.flags = NESTIOMMU_FAULT_F_GPA_VALID | NESTIOMMU_FAULT_F_RSVD,
				.fetch_addr = pte_gpa });
			/* the last step is the PTE as read */
			ASSERT_EQ(pte | (1ULL << bit), steps[xl.steps_num - 1].pte);
			nest_s1_pte_write(ptep, pte);
		}
	}
	TH_CONTEXT("%s", "");
	/* Restored: the page is read again. */
	ASSERT_EQ(0x5a, env_read_byte(&self->e, iova));
}

/*
 * Without NO_CACHE a walk fills the caches: the next translation is a hit
 * with no steps (the device TLB for an ATS device, else the IOTLB).
 */
TEST_F(nested, translate_cache_hit_source_no_steps)
{
	bool ats = variant->dev_flags & NESTIOMMU_DEVICE_ATS;
	struct nestiommu_walk_step steps[64];
	struct nestiommu_translate xl;
	__u64 iova = self->iova + 5 * SZ_4K;

	env_translate(&self->e, 0, ACC_R, iova, steps, 64, &xl);
	ASSERT_EQ(NESTIOMMU_XLATE_WALK, xl.out_source);
	ASSERT_EQ(5 * self->levels + 4, xl.steps_num);
	env_translate(&self->e, 0, ACC_R, iova + 8, steps, 64, &xl);
	ASSERT_EQ(ats ? NESTIOMMU_XLATE_DEVTLB : NESTIOMMU_XLATE_IOTLB, xl.out_source);
	ASSERT_EQ(0, xl.steps_num);
	ASSERT_EQ(DATA_GPA + 5 * SZ_4K + 8, xl.out_gpa);
	if (!ats)
		return;
	/* Without the device TLB entry the IOTLB answers, and refills it. */
	struct nestiommu_inv_entry inv = inv_entry(NESTIOMMU_INV_CACHE_DEV_IOTLB,
						   NESTIOMMU_INV_GRANU_PASID, 0,
						   self->e.pasid, 0, 0, 0);
	do_hwpt_invalidate(self->e.fd, self->e.nested_id, &inv, 1);
	env_translate(&self->e, 0, ACC_R, iova, steps, 64, &xl);
	ASSERT_EQ(NESTIOMMU_XLATE_IOTLB, xl.out_source);
	env_translate(&self->e, 0, ACC_R, iova, steps, 64, &xl);
	ASSERT_EQ(NESTIOMMU_XLATE_DEVTLB, xl.out_source);
}

static void nested_stats(FIXTURE_DATA(nested) *self, __u32 id,
			 struct nestiommu_xlate_stats *st)
{
	do_xlate_stats(self->e.fd, id,
		       id == self->e.dev_id ? NESTIOMMU_OBJ_DEVICE : NESTIOMMU_OBJ_HWPT_NESTED,
		       st);
}

/* NO_CACHE neither consults nor fills any cache, nor counts in them. */
TEST_F(nested, translate_no_cache_leaves_caches_alone)
{
	struct nestiommu_xlate_stats before[2], after[2];
	__u32 ids[2] = { self->e.dev_id, self->e.nested_id };
	struct nestiommu_walk_step steps[64];
	struct nestiommu_translate xl;
	__u64 iova = self->iova + 6 * SZ_4K;
	int i;

	/* A cached translation of another page first: the PASID is cached. */
	env_read_byte(&self->e, self->iova);
	for (i = 0; i < 2; i++)
		nested_stats(self, ids[i], &before[i]);
	for (i = 0; i < 3; i++) {
		env_translate(&self->e, NESTIOMMU_TRANSLATE_NO_CACHE, ACC_R, iova, steps, 64, &xl);
		ASSERT_EQ(NESTIOMMU_XLATE_WALK, xl.out_source);
	}
	/* The cached page is walked too with NO_CACHE. */
	env_translate(&self->e, NESTIOMMU_TRANSLATE_NO_CACHE, ACC_R, self->iova, steps, 64, &xl);
	ASSERT_EQ(NESTIOMMU_XLATE_WALK, xl.out_source);
	for (i = 0; i < 2; i++) {
		TH_CONTEXT("stats of %s", i ? "the HWPT" : "the device");
		nested_stats(self, ids[i], &after[i]);
		ASSERT_EQ(before[i].iotlb_hits, after[i].iotlb_hits);
		ASSERT_EQ(before[i].iotlb_misses, after[i].iotlb_misses);
		ASSERT_EQ(before[i].devtlb_hits, after[i].devtlb_hits);
		ASSERT_EQ(before[i].devtlb_misses, after[i].devtlb_misses);
		ASSERT_EQ(before[i].pasid_cache_hits, after[i].pasid_cache_hits);
		ASSERT_EQ(before[i].pasid_cache_misses, after[i].pasid_cache_misses);
	}
	/* Nothing was filled: a cached translation still walks. */
	env_translate(&self->e, 0, ACC_R, iova, steps, 64, &xl);
	ASSERT_EQ(NESTIOMMU_XLATE_WALK, xl.out_source);
}

/* The counters of one walk, then of one hit, on the device and the HWPT. */
TEST_F(nested, stats_count_walk_then_hit)
{
	bool ats = variant->dev_flags & NESTIOMMU_DEVICE_ATS;
	__u32 ids[2] = { self->e.dev_id, self->e.nested_id };
	struct nestiommu_xlate_stats st;
	char buf[64];
	int i;

	for (i = 0; i < 2; i++) {
		nested_stats(self, ids[i], &st);
		ASSERT_EQ(0, st.translations);
		ASSERT_EQ(0, st.walks);
		ASSERT_EQ(0, st.dma_ops);
	}
	env_dma_ok(&self->e, ACC_R, self->iova + 0x100, sizeof(buf), buf);
	for (i = 0; i < 2; i++) {
		TH_CONTEXT("after one DMA: stats of %s", i ? "the HWPT" : "the device");
		nested_stats(self, ids[i], &st);
		ASSERT_EQ(1, st.translations);
		ASSERT_EQ(1, st.walks);
		ASSERT_EQ(self->levels, st.walk_levels);
		ASSERT_EQ(5 * self->levels + 4, st.walk_mem_refs);
		ASSERT_EQ(0, st.iotlb_hits);
		ASSERT_EQ(1, st.iotlb_misses);
		ASSERT_EQ(0, st.devtlb_hits);
		ASSERT_EQ(ats ? 1 : 0, st.devtlb_misses);
		ASSERT_EQ(1, st.pasid_cache_misses);
		ASSERT_EQ(1, st.dma_ops);
		ASSERT_EQ(sizeof(buf), st.dma_bytes);
	}
	env_dma_ok(&self->e, ACC_R, self->iova + 0x200, sizeof(buf), buf);
	for (i = 0; i < 2; i++) {
		TH_CONTEXT("after two DMAs: stats of %s", i ? "the HWPT" : "the device");
		nested_stats(self, ids[i], &st);
		ASSERT_EQ(2, st.translations);
		ASSERT_EQ(1, st.walks);
		ASSERT_EQ(ats ? 0 : 1, st.iotlb_hits);
		ASSERT_EQ(1, st.iotlb_misses);
		ASSERT_EQ(ats ? 1 : 0, st.devtlb_hits);
		ASSERT_EQ(2, st.dma_ops);
		ASSERT_EQ(2 * sizeof(buf), st.dma_bytes);
		ASSERT_EQ(0, st.inv_iotlb);
		ASSERT_EQ(0, st.stale_translations);
	}
}

/* A DMA over pages i..j translates each page once. */
TEST_F(nested, stats_count_one_translation_per_page)
{
	static char buf[5 * SZ_4K];
	struct nestiommu_xlate_stats st;

	env_dma_ok(&self->e, ACC_W, self->iova + 0x800, 4 * SZ_4K, buf);
	nested_stats(self, self->e.dev_id, &st);
	ASSERT_EQ(5, st.translations);
	ASSERT_EQ(5, st.walks);
	ASSERT_EQ(1, st.dma_ops);
	ASSERT_EQ(4 * SZ_4K, st.dma_bytes);
}

/* Stops at the first page that faults; the bytes before it moved. */
TEST_F(nested, dma_fault_midway_reports_bytes_done)
{
	static char buf[3 * SZ_4K], rd[3 * SZ_4K];
	__u64 start = self->iova + 14 * SZ_4K + 0x100;	/* pages 14, 15, 16 */
	__u64 done = 2 * SZ_4K - 0x100;
	__u64 hole = self->iova + 16 * SZ_4K;
	struct nestiommu_dma dma;

	fill_pattern(buf, sizeof(buf), 7);
	env_dma_fault(&self->e, ACC_W, start, sizeof(buf), buf, &dma);
	ASSERT_EQ(done, dma.out_bytes_done);
	check_fault_exp(&dma.out_fault, (struct fault_exp){
		.addr = hole, .reason = NESTIOMMU_FAULT_REASON_PTE_FETCH,
		.stage = 1, .level = 1, .flags = NESTIOMMU_FAULT_F_GPA_VALID,
		.fetch_addr = env_pte_gpa(&self->e, hole, 1) });
	ASSERT_EQ(ACC_W, dma.out_fault.access);
	ASSERT_MEM_EQ(env_data(&self->e, DATA_GPA + 14 * SZ_4K + 0x100), buf, done);

	memset(rd, 0, sizeof(rd));
	env_dma_fault(&self->e, ACC_R, start, sizeof(rd), rd, &dma);
	ASSERT_EQ(done, dma.out_bytes_done);
	ASSERT_EQ(hole, dma.out_fault.addr);
	ASSERT_EQ(ACC_R, dma.out_fault.access);
	ASSERT_MEM_EQ(rd, buf, done);
}

/* A permission fault on the second page: its memory is not written. */
TEST_F(nested, dma_fault_midway_permission_writes_nothing_after)
{
	static char buf[2 * SZ_4K];
	__u64 page2 = self->iova + 9 * SZ_4K;
	__u64 *ptep = env_pte(&self->e, page2, 1);
	struct nestiommu_dma dma;

	nest_s1_pte_write(ptep, nest_s1_pte_read(ptep) & ~NESTIOMMU_S1_PTE_RW);
	fill_pattern(buf, sizeof(buf), 9);
	env_dma_fault(&self->e, ACC_W, page2 - 0x80, 0x100, buf, &dma);
	ASSERT_EQ(0x80, dma.out_bytes_done);
	check_fault_exp(&dma.out_fault, (struct fault_exp){
		.addr = page2, .reason = NESTIOMMU_FAULT_REASON_PERMISSION,
		.stage = 1, .level = 1, .flags = ANY, .fetch_addr = ANY });
	ASSERT_MEM_EQ(env_data(&self->e, DATA_GPA + 9 * SZ_4K - 0x80), buf, 0x80);
	ASSERT_MEM_BYTE(env_data(&self->e, DATA_GPA + 9 * SZ_4K), 0x5a, SZ_4K);
	/* Reading it is fine. */
	env_dma_ok(&self->e, ACC_R, page2 - 0x80, 0x100, buf);
}

/* A DMA starting inside an unmapped page: nothing moves, addr is its start. */
TEST_F(nested, dma_fault_first_byte_reports_request_iova)
{
	__u64 iova = self->iova + 20 * SZ_4K + 0x10;
	struct nestiommu_dma dma;
	char buf[16];

	env_dma_fault(&self->e, ACC_R, iova, sizeof(buf), buf, &dma);
	ASSERT_EQ(0, dma.out_bytes_done);
	ASSERT_EQ(iova, dma.out_fault.addr);
	ASSERT_EQ(NESTIOMMU_FAULT_REASON_PTE_FETCH, dma.out_fault.reason);
}

/*
 * Mixed leaf sizes: a 4 KiB stage-1 leaf right below a 2 MiB leaf (over a
 * 2 MiB hugetlb page), and a 4 KiB leaf right above it; DMAs cross both
 * boundaries.
 */
TEST_F(nested, dma_across_4k_2m_boundaries)
{
	const __u64 huge_gpa = DATA_GPA + SZ_2M;
	const __u64 b = self->iova + 4 * SZ_2M;		/* the 2 MiB leaf */
	static char buf[SZ_4K * 2], rd[SZ_4K * 2];
	struct nestiommu_walk_step steps[64];
	struct nestiommu_translate xl;
	char *huge = alloc_hugetlb(SZ_2M, SZ_2M);

	do_ioas_map_fixed(self->e.fd, self->e.ioas_id, huge, SZ_2M, huge_gpa);
	env_map(&self->e, b - SZ_4K, DATA_GPA + 0x5000, SZ_4K, S1_RWU);
	env_map(&self->e, b, huge_gpa, SZ_2M, S1_RWU);
	env_map(&self->e, b + SZ_2M, DATA_GPA + 0x7000, SZ_4K, S1_RWU);

	env_translate(&self->e, 0, ACC_R, b - 1, steps, 64, &xl);
	ASSERT_EQ(SZ_4K, xl.out_page_size);
	env_translate(&self->e, 0, ACC_R, b + 0x1234, steps, 64, &xl);
	ASSERT_EQ(SZ_2M, xl.out_page_size);
	ASSERT_EQ(NEST_PTR(huge + 0x1234), xl.out_user_va);

	/* 4K -> 2M: 0x800 bytes in the small page, 0x1800 in the huge one. */
	fill_pattern(buf, sizeof(buf), 21);
	env_dma_ok(&self->e, ACC_W, b - 0x800, sizeof(buf), buf);
	ASSERT_MEM_EQ(env_data(&self->e, DATA_GPA + 0x5800), buf, 0x800);
	ASSERT_MEM_EQ(huge, buf + 0x800, sizeof(buf) - 0x800);
	ASSERT_EQ(0x5a, (unsigned char)huge[sizeof(buf) - 0x800]);
	memset(rd, 0, sizeof(rd));
	env_dma_ok(&self->e, ACC_R, b - 0x800, sizeof(rd), rd);
	ASSERT_MEM_EQ(rd, buf, sizeof(rd));

	/* 2M -> 4K: 0x300 bytes in the huge page, 0xd00 in the small one. */
	fill_pattern(buf, SZ_4K, 22);
	env_dma_ok(&self->e, ACC_W, b + SZ_2M - 0x300, SZ_4K, buf);
	ASSERT_MEM_EQ(huge + SZ_2M - 0x300, buf, 0x300);
	ASSERT_MEM_EQ(env_data(&self->e, DATA_GPA + 0x7000), buf + 0x300, SZ_4K - 0x300);
	memset(rd, 0, sizeof(rd));
	env_dma_ok(&self->e, ACC_R, b + SZ_2M - 0x300, SZ_4K, rd);
	ASSERT_MEM_EQ(rd, buf, SZ_4K);

	/* A DMA spanning the whole huge page and both neighbours. */
	char *big = malloc(SZ_2M + 2 * SZ_4K);
	ASSERT_NE(NULL, (void *)big);
	fill_pattern(big, SZ_2M + 2 * SZ_4K, 23);
	env_dma_ok(&self->e, ACC_W, b - SZ_4K, SZ_2M + 2 * SZ_4K, big);
	ASSERT_MEM_EQ(env_data(&self->e, DATA_GPA + 0x5000), big, SZ_4K);
	ASSERT_MEM_EQ(huge, big + SZ_4K, SZ_2M);
	ASSERT_MEM_EQ(env_data(&self->e, DATA_GPA + 0x7000), big + SZ_4K + SZ_2M, SZ_4K);
	free(big);
	close(self->e.fd);	/* unpin before the memory goes */
	self->e.fd = -1;
	munmap(huge, SZ_2M);
}

/* ==== DMA argument checks ==== */

TEST_F(nested, dma_bad_length_einval)
{
	char buf[16];

	do_dma_err(EINVAL, self->e.fd, self->e.dev_id, self->e.dma_flags, self->e.pasid,
		   ACC_R, self->iova, 0, buf);
	do_dma_err(EINVAL, self->e.fd, self->e.dev_id, self->e.dma_flags, self->e.pasid,
		   ACC_R, self->iova, NESTIOMMU_DMA_MAX_LENGTH + 1, buf);
}

TEST_F(nested, dma_bad_access_einval)
{
	const __u32 bad[] = {
		0,
		NESTIOMMU_ACCESS_READ | NESTIOMMU_ACCESS_WRITE,
		NESTIOMMU_ACCESS_EXEC,
		NESTIOMMU_ACCESS_PRIV,
	};
	char buf[16];
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		TH_CONTEXT("access 0x%x", bad[i]);
		do_dma_err(EINVAL, self->e.fd, self->e.dev_id, self->e.dma_flags,
			   self->e.pasid, bad[i], self->iova, sizeof(buf), buf);
	}
}

TEST_F(nested, dma_unknown_access_bits_eopnotsupp)
{
	char buf[16];
	int bit;

	for (bit = 4; bit < 32; bit++) {
		TH_CONTEXT("access bit %d", bit);
		do_dma_err(EOPNOTSUPP, self->e.fd, self->e.dev_id, self->e.dma_flags,
			   self->e.pasid, ACC_R | 1U << bit, self->iova, sizeof(buf), buf);
	}
}

TEST_F(nested, dma_iova_overflow_eoverflow)
{
	char buf[256];

	do_dma_err(EOVERFLOW, self->e.fd, self->e.dev_id, self->e.dma_flags, self->e.pasid,
		   ACC_R, ~0ULL - 16, sizeof(buf), buf);
}

TEST_F(nested, dma_bad_user_buffer_efault)
{
	char *hole = alloc_buffer_4k(SZ_64K, SZ_4K);

	ASSERT_EQ(0, munmap(hole, SZ_64K));
	do_dma_err(EFAULT, self->e.fd, self->e.dev_id, self->e.dma_flags, self->e.pasid,
		   ACC_R, self->iova, 64, hole);
	do_dma_err(EFAULT, self->e.fd, self->e.dev_id, self->e.dma_flags, self->e.pasid,
		   ACC_W, self->iova, 64, hole);
	/* The memory was not changed by the failed write. */
	ASSERT_MEM_BYTE(self->e.data, 0x5a, 64);
}

TEST_F(nested, dma_unknown_device_enoent)
{
	char buf[16];

	do_dma_err(ENOENT, self->e.fd, self->e.dev_id + 1000, self->e.dma_flags,
		   self->e.pasid, ACC_R, self->iova, sizeof(buf), buf);
	do_dma_err(ENOENT, self->e.fd, self->e.ioas_id, self->e.dma_flags,
		   self->e.pasid, ACC_R, self->iova, sizeof(buf), buf);
	do_dma_err(ENOENT, self->e.fd, self->e.nested_id, self->e.dma_flags,
		   self->e.pasid, ACC_R, self->iova, sizeof(buf), buf);
}

/* ==== A/D bits ==== */

FIXTURE(ad) {
	struct nest_env e;
	__u64 iova;
	unsigned int levels;
};

FIXTURE_VARIANT(ad) {
	unsigned int levels;
	bool ad;
};

FIXTURE_VARIANT_ADD(ad, ad_4level) { .levels = 4, .ad = true };
FIXTURE_VARIANT_ADD(ad, ad_5level) { .levels = 5, .ad = true };
FIXTURE_VARIANT_ADD(ad, no_ad) { .levels = 4, .ad = false };

FIXTURE_SETUP(ad)
{
	struct nest_env_opts o = {
		.levels = variant->levels,
		.s1_flags = variant->ad ? NESTIOMMU_S1_AD : 0,
	};

	env_setup(&self->e, &o);
	self->levels = variant->levels;
	self->iova = variant->levels == 5 ? ENV_IOVA5 : ENV_IOVA;
	env_map(&self->e, self->iova, DATA_GPA, SZ_4K, S1_RWU);
	env_map(&self->e, self->iova + SZ_4K, DATA_GPA + SZ_4K, SZ_4K, S1_RWU);
	/* A 2 MiB leaf over the data buffer (its first 1 MiB is mapped). */
	env_map(&self->e, self->iova + SZ_2M, DATA_GPA, SZ_2M, S1_RWU);
}

FIXTURE_TEARDOWN(ad)
{
	env_teardown(&self->e);
}

/* A and D of the PTEs walked for @iova, from the top down to @leaf. */
static void check_ad(FIXTURE_DATA(ad) *self, __u64 iova, unsigned int leaf,
		     bool a, bool d)
{
	unsigned int level;

	for (level = self->levels; level >= leaf; level--) {
		__u64 pte = nest_s1_pte_read(env_pte(&self->e, iova, level));

		TH_CONTEXT("iova 0x%llx level %u pte 0x%llx", (unsigned long long)iova,
			   level, (unsigned long long)pte);
		ASSERT_EQ(a, !!(pte & NESTIOMMU_S1_PTE_A));
		/* D only ever on the leaf. */
		ASSERT_EQ(level == leaf && d, !!(pte & NESTIOMMU_S1_PTE_D));
	}
	TH_CONTEXT("%s", "");
}

TEST_F(ad, dma_read_sets_accessed_only)
{
	char buf[8];

	check_ad(self, self->iova, 1, false, false);
	env_dma_ok(&self->e, ACC_R, self->iova, sizeof(buf), buf);
	check_ad(self, self->iova, 1, variant->ad, false);
	/* The other page's leaf is untouched. */
	ASSERT_EQ(0, nest_s1_pte_read(env_pte(&self->e, self->iova + SZ_4K, 1)) &
		     (NESTIOMMU_S1_PTE_A | NESTIOMMU_S1_PTE_D));
}

TEST_F(ad, dma_write_sets_dirty_on_leaf)
{
	char buf[8] = "written";

	/* A read first: the IOTLB entry it leaves must not hide the write. */
	env_dma_ok(&self->e, ACC_R, self->iova, sizeof(buf), buf);
	env_dma_ok(&self->e, ACC_W, self->iova, sizeof(buf), buf);
	check_ad(self, self->iova, 1, variant->ad, variant->ad);
	ASSERT_MEM_EQ(self->e.data, buf, sizeof(buf));
}

TEST_F(ad, dma_write_huge_leaf_sets_dirty_at_level_2)
{
	char buf[8] = "written";

	env_dma_ok(&self->e, ACC_W, self->iova + SZ_2M + 0x1000, sizeof(buf), buf);
	check_ad(self, self->iova + SZ_2M, 2, variant->ad, variant->ad);
}

TEST_F(ad, translate_no_cache_sets_nothing)
{
	struct nestiommu_walk_step steps[64];
	struct nestiommu_translate xl;

	env_translate(&self->e, NESTIOMMU_TRANSLATE_NO_CACHE, ACC_W, self->iova, steps, 64, &xl);
	env_translate(&self->e, NESTIOMMU_TRANSLATE_NO_CACHE, ACC_R, self->iova + SZ_2M,
		      steps, 64, &xl);
	check_ad(self, self->iova, 1, false, false);
	check_ad(self, self->iova + SZ_2M, 2, false, false);
}

/* Without NO_CACHE, TRANSLATE sets A/D as a DMA does. */
TEST_F(ad, translate_cached_sets_like_dma)
{
	struct nestiommu_walk_step steps[64];
	struct nestiommu_translate xl;

	env_translate(&self->e, 0, ACC_W, self->iova, steps, 64, &xl);
	check_ad(self, self->iova, 1, variant->ad, variant->ad);
}

/* A PTE that already has A and D is left exactly as it was. */
TEST_F(ad, preset_bits_kept)
{
	__u64 *ptep = env_pte(&self->e, self->iova + SZ_4K, 1);
	__u64 pte = nest_s1_pte_read(ptep) | NESTIOMMU_S1_PTE_A | NESTIOMMU_S1_PTE_D;
	char buf[8];

	nest_s1_pte_write(ptep, pte);
	env_dma_ok(&self->e, ACC_W, self->iova + SZ_4K, sizeof(buf), buf);
	ASSERT_EQ(pte, nest_s1_pte_read(ptep));
}

/* ==== a signal stops a long DMA ==== */

static void on_alarm(int sig)
{
	(void)sig;
}

/*
 * A 1 GiB DMA (the longest) without 1 GiB of memory: 512 stage-1 2 MiB
 * leaves all map one 2 MiB buffer, and the DMA writes from a 1 GiB
 * mapping never touched (the zero page backs it).
 */
TEST_TIMEOUT(dma_long_interrupted_by_signal_eintr, 300)
{
	struct sigaction sa = { .sa_handler = on_alarm };	/* no SA_RESTART */
	struct itimerval it = { .it_value = { .tv_usec = 20000 } };
	static struct nest_env e;
	struct nestiommu_dma dma;
	char *mem, *src;
	int i, rc;

	env_setup(&e, NULL);
	mem = alloc_buffer_4k(SZ_2M, SZ_2M);
	do_ioas_map_fixed(e.fd, e.ioas_id, mem, SZ_2M, MEM_GPA);
	for (i = 0; i < 512; i++)
		env_map(&e, ENV_IOVA + i * SZ_2M, MEM_GPA, SZ_2M, S1_RWU);
	src = mmap(NULL, SZ_1G, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	ASSERT_NE(MAP_FAILED, (void *)src);
	ASSERT_EQ(0, sigaction(SIGALRM, &sa, NULL));
	ASSERT_EQ(0, setitimer(ITIMER_REAL, &it, NULL));
	rc = env_dma(&e, ACC_W, ENV_IOVA, NESTIOMMU_DMA_MAX_LENGTH, src, &dma);
	ASSERT_ERR(EINTR, rc);
	/* The out_ fields are written: part of it was done, no fault. */
	ASSERT_LT(0, dma.out_bytes_done);
	ASSERT_LT(dma.out_bytes_done, NESTIOMMU_DMA_MAX_LENGTH);
	ASSERT_EQ(0, dma.out_flags);
	/* What was done landed (zeros over the 0x5a fill). */
	ASSERT_MEM_BYTE(mem, 0, dma.out_bytes_done < SZ_2M ? dma.out_bytes_done : SZ_2M);
	env_teardown(&e);
	munmap(mem, SZ_2M);
	munmap(src, SZ_1G);
}
