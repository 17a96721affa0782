// SPDX-License-Identifier: GPL-2.0
/*
 * Fault selftests: every fault reason at every stage and level where it can
 * happen, each seen by a DMA (which moves nothing) and by TRANSLATE with
 * NO_CACHE, with the exact addr, reason, stage, level, s1_level, flags and
 * fetch_addr; and the fault counters of the statistics.
 */
#include "nest_env.h"

FIXTURE(fault) {
	struct nest_env e;
	__u64 iova;
	unsigned int levels;
};

FIXTURE_VARIANT(fault) {
	unsigned int levels;
};

FIXTURE_VARIANT_ADD(fault, four_level) { .levels = 4 };
FIXTURE_VARIANT_ADD(fault, five_level) { .levels = 5 };

/*
 * Mappings: pages 0..3 of iova -> data pages 0..3 (4 KiB leaves),
 * iova + 2M -> DATA_GPA (2 MiB leaf), iova + 1G -> DATA_GPA (1 GiB leaf).
 */
FIXTURE_SETUP(fault)
{
	struct nest_env_opts o = { .levels = variant->levels };
	int i;

	env_setup(&self->e, &o);
	self->levels = variant->levels;
	self->iova = variant->levels == 5 ? ENV_IOVA5 : ENV_IOVA;
	for (i = 0; i < 4; i++)
		env_map(&self->e, self->iova + i * SZ_4K, DATA_GPA + i * SZ_4K, SZ_4K, S1_RWU);
	env_map(&self->e, self->iova + SZ_2M, DATA_GPA, SZ_2M, S1_RWU);
	env_map(&self->e, self->iova + SZ_1G, DATA_GPA, SZ_1G, S1_RWU);
}

FIXTURE_TEARDOWN(fault)
{
	env_teardown(&self->e);
}

/*
 * A DMA by (@dev, @dflags, @pasid) and a TRANSLATE (with @xflags) of @iova
 * both fault exactly as the struct fault_exp that follows says (its addr
 * is @iova, set here); the DMA moves nothing.
 */
#define check_fault_dev_xf(_fd, _dev, _dflags, _pasid, _xflags, _access, _iova, ...) do { \
	struct fault_exp __want = __VA_ARGS__;				\
	struct nestiommu_walk_step __steps[64];				\
	struct nestiommu_translate __xl;				\
	struct nestiommu_dma __dma;					\
	char __buf[8] = "untouch";					\
									\
	__want.addr = (long long)(_iova);				\
	do_dma_fault(_fd, _dev, _dflags, _pasid, _access, _iova, sizeof(__buf), __buf, &__dma); \
	ASSERT_EQ(0, __dma.out_bytes_done);				\
	check_fault_exp(&__dma.out_fault, __want);			\
	ASSERT_EQ((__u32)(_access), __dma.out_fault.access);		\
	do_translate_fault(_fd, _dev, (_dflags) | (_xflags), _pasid, _access, _iova, \
			   __steps, 64, &__xl);				\
	check_fault_exp(&__xl.out_fault, __want);			\
} while (0)

/* ... with a NO_CACHE TRANSLATE. */
#define check_fault_dev(fd, dev, dflags, pasid, access, iova, ...)	\
	check_fault_dev_xf(fd, dev, dflags, pasid, NESTIOMMU_TRANSLATE_NO_CACHE, access, \
			   iova, __VA_ARGS__)

/* The same through the env's attachment. */
#define check_fault_env(e, access, iova, ...)				\
	check_fault_dev((e)->fd, (e)->dev_id, (e)->dma_flags, (e)->pasid, access, iova, \
			__VA_ARGS__)

/*
 * Through the env's attachment, with a TRANSLATE that behaves as a DMA
 * (NO_CACHE never sets A/D bits, so it would not meet A/D faults).
 */
#define check_fault_env_cached(e, access, iova, ...)			\
	check_fault_dev_xf((e)->fd, (e)->dev_id, (e)->dma_flags, (e)->pasid, 0, access, \
			   iova, __VA_ARGS__)

#define GV NESTIOMMU_FAULT_F_GPA_VALID
#define TF NESTIOMMU_FAULT_F_TABLE_FETCH

/* ==== PASID_INVALID and BAD_PASID_ENTRY ==== */

TEST_F(fault, pasid_invalid_after_detach)
{
	env_read_byte(&self->e, self->iova);	/* cached, then detached */
	do_device_detach(self->e.fd, self->e.dev_id, NESTIOMMU_ATTACH_PASID, self->e.pasid);
	check_fault_env(&self->e, ACC_R, self->iova, (struct fault_exp){
		.reason = NESTIOMMU_FAULT_REASON_PASID_INVALID, .stage = 1 });
}

TEST_F(fault, pasid_invalid_other_pasid_and_rid)
{
	/* ENV_PASID is attached; ENV_PASID + 1 and the RID are not. */
	check_fault_dev(self->e.fd, self->e.dev_id, NESTIOMMU_DMA_PASID, self->e.pasid + 1,
			ACC_R, self->iova, (struct fault_exp){
		.reason = NESTIOMMU_FAULT_REASON_PASID_INVALID, .stage = 1 });
	check_fault_dev(self->e.fd, self->e.dev_id, 0, 0, ACC_W, self->iova, (struct fault_exp){
		.reason = NESTIOMMU_FAULT_REASON_PASID_INVALID, .stage = 1 });
}

/* A PASID wider than the device's: attach refuses it, DMA faults. */
TEST_F(fault, pasid_beyond_width_attach_einval_dma_faults)
{
	const __u32 pasids[] = { 1U << ENV_PASID_BITS, 1U << NESTIOMMU_MAX_PASID_BITS,
				 0xffffffffU };
	size_t i;

	for (i = 0; i < sizeof(pasids) / sizeof(pasids[0]); i++) {
		TH_CONTEXT("pasid 0x%x", pasids[i]);
		do_device_attach_err(EINVAL, self->e.fd, self->e.dev_id,
				     NESTIOMMU_ATTACH_PASID, pasids[i], self->e.nested_id);
		check_fault_dev(self->e.fd, self->e.dev_id, NESTIOMMU_DMA_PASID, pasids[i],
				ACC_R, self->iova, (struct fault_exp){
			.reason = NESTIOMMU_FAULT_REASON_PASID_INVALID, .stage = 1 });
	}
}

TEST_F(fault, pasid_on_device_without_pasids_faults)
{
	__u32 dev;

	do_device_create(self->e.fd, 0, ENV_RID + 1, 0, &dev);
	do_device_attach(self->e.fd, dev, 0, 0, self->e.nested_id);
	check_fault_dev(self->e.fd, dev, NESTIOMMU_DMA_PASID, 0, ACC_R, self->iova,
			(struct fault_exp){
		.reason = NESTIOMMU_FAULT_REASON_PASID_INVALID, .stage = 1 });
	/* The RID works. */
	char buf[8];

	do_dma(self->e.fd, dev, 0, 0, ACC_R, self->iova, 8, buf);
}

/* Bad descriptors are accepted by HWPT_ALLOC and fault on use. */
TEST_F(fault, bad_pasid_entry)
{
	const struct nestiommu_hwpt_s1_x86 bad[] = {
		{ .root_gpa = self->e.s1.root_gpa, .levels = 0 },
		{ .root_gpa = self->e.s1.root_gpa, .levels = 3 },
		{ .root_gpa = self->e.s1.root_gpa, .levels = 6 },
		{ .root_gpa = self->e.s1.root_gpa + 8, .levels = 4 },
		{ .root_gpa = self->e.s1.root_gpa + 0x800, .levels = 5 },
		{ .root_gpa = IOVA_LIMIT, .levels = 4 },
		{ .root_gpa = ~0xfffULL, .levels = 5 },
	};
	size_t i;
	__u32 id;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		TH_CONTEXT("descriptor %zu: root 0x%llx levels %u", i,
			   (unsigned long long)bad[i].root_gpa, bad[i].levels);
		do_hwpt_alloc_nested(self->e.fd, self->e.parent_id, &bad[i], &id);
		do_device_attach(self->e.fd, self->e.dev_id, NESTIOMMU_ATTACH_PASID, 9, id);
		check_fault_dev(self->e.fd, self->e.dev_id, NESTIOMMU_DMA_PASID, 9, ACC_R,
				self->iova, (struct fault_exp){
			.reason = NESTIOMMU_FAULT_REASON_BAD_PASID_ENTRY, .stage = 1 });
		do_device_detach(self->e.fd, self->e.dev_id, NESTIOMMU_ATTACH_PASID, 9);
		do_destroy(self->e.fd, id);
	}
}

/* ==== stage 1: not present, reserved bits, out of range ==== */

/* A not-present PTE at every level faults there, naming the PTE's GPA. */
TEST_F(fault, s1_not_present_each_level)
{
	unsigned int level;

	for (level = 1; level <= self->levels; level++) {
		/* Its own path per level: a different top-level entry. */
		__u64 iova = self->iova - (__u64)level * (1ULL << 39);
		__u64 pte_gpa;

		TH_CONTEXT("level %u", level);
		env_map(&self->e, iova, DATA_GPA, SZ_4K, S1_RWU);
		pte_gpa = env_pte_gpa(&self->e, iova, level);
		env_read_byte(&self->e, iova);	/* reachable before */
		nest_s1_pte_write(env_pte(&self->e, iova, level), 0);
		inv_all(self->e.fd, self->e.nested_id);
		check_fault_env(&self->e, ACC_R, iova + 0x18, (struct fault_exp){
			.reason = NESTIOMMU_FAULT_REASON_PTE_FETCH, .stage = 1,
			.level = level, .flags = GV, .fetch_addr = pte_gpa });
	}
}

/* Reserved bits: PS at the top levels, address bits inside huge leaves. */
TEST_F(fault, s1_reserved_bits_pte_fetch_rsvd)
{
	const struct {
		__u64 iova_off;
		unsigned int level;
		__u64 bits;
	} cases[] = {
		{ 0, 4, NESTIOMMU_S1_PTE_PS },
		{ 0, 5, NESTIOMMU_S1_PTE_PS },		/* 5 levels only */
		{ SZ_1G, 3, 1ULL << 13 },
		{ SZ_1G, 3, 1ULL << 29 },
		{ SZ_2M, 2, 1ULL << 13 },
		{ SZ_2M, 2, 1ULL << 20 },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		__u64 iova = self->iova + cases[i].iova_off + 0x40;
		__u64 *ptep, pte;

		if (cases[i].level > self->levels)
			continue;
		TH_CONTEXT("level %u bits 0x%llx", cases[i].level,
			   (unsigned long long)cases[i].bits);
		ptep = env_pte(&self->e, iova, cases[i].level);
		pte = nest_s1_pte_read(ptep);
		nest_s1_pte_write(ptep, pte | cases[i].bits);
		inv_all(self->e.fd, self->e.nested_id);
		check_fault_env(&self->e, ACC_R, iova, (struct fault_exp){
			.reason = NESTIOMMU_FAULT_REASON_PTE_FETCH, .stage = 1,
			.level = cases[i].level, .flags = GV | NESTIOMMU_FAULT_F_RSVD,
			.fetch_addr = env_pte_gpa(&self->e, iova, cases[i].level) });
		nest_s1_pte_write(ptep, pte);
		inv_all(self->e.fd, self->e.nested_id);
		env_read_byte(&self->e, iova);
	}
}

TEST_F(fault, s1_non_canonical_iova_oor)
{
	const __u64 bad4[] = { 1ULL << 47, 0x8000000000000000ULL, 0xfff0000000000000ULL };
	const __u64 bad5[] = { 1ULL << 56, 0x8000000000000000ULL, 0xfe00000000000000ULL };
	const __u64 *bad = self->levels == 5 ? bad5 : bad4;
	int i;

	for (i = 0; i < 3; i++) {
		TH_CONTEXT("iova 0x%llx", (unsigned long long)bad[i]);
		check_fault_env(&self->e, ACC_R, bad[i], (struct fault_exp){
			.reason = NESTIOMMU_FAULT_REASON_OOR_ADDRESS, .stage = 1 });
	}
	/* Canonical high-half addresses are walked (and not mapped here). */
	__u64 high = self->levels == 5 ? 0xff00000000000000ULL : 0xffff800000000000ULL;

	check_fault_env(&self->e, ACC_R, high, (struct fault_exp){
		.reason = NESTIOMMU_FAULT_REASON_PTE_FETCH, .stage = 1,
		.level = self->levels, .flags = GV,
		.fetch_addr = self->e.s1.root_gpa + 8 * nest_s1_index(high, self->levels) });
}

/* ==== stage 2: output and table GPAs that no mapping reaches ==== */

/* The output GPA is unmapped: the stage-2 level where the walk stops. */
TEST_F(fault, s2_output_unmapped_each_level)
{
	const struct { __u64 gpa; unsigned int level; } holes[] = {
		{ GPA_HOLE_L4, 4 },
		{ GPA_HOLE_L3, 3 },
		{ GPA_HOLE_L2, 2 },
		{ GPA_HOLE_L1, 1 },
	};
	size_t i;

	for (i = 0; i < sizeof(holes) / sizeof(holes[0]); i++) {
		__u64 iova = self->iova + (16 + i) * SZ_4K;

		TH_CONTEXT("gpa 0x%llx", (unsigned long long)holes[i].gpa);
		env_map(&self->e, iova, holes[i].gpa, SZ_4K, S1_RWU);
		check_fault_env(&self->e, ACC_R, iova + 0x123, (struct fault_exp){
			.reason = NESTIOMMU_FAULT_REASON_PTE_FETCH, .stage = 2,
			.level = holes[i].level, .flags = GV,
			.fetch_addr = holes[i].gpa + 0x123 });
		check_fault_env(&self->e, ACC_W, iova + 0x123, (struct fault_exp){
			.reason = NESTIOMMU_FAULT_REASON_PTE_FETCH, .stage = 2,
			.level = holes[i].level, .flags = GV,
			.fetch_addr = holes[i].gpa + 0x123 });
	}
}

/* A stage-1 table whose GPA is unmapped: TABLE_FETCH, with its s1_level. */
TEST_F(fault, s2_table_unmapped_each_level)
{
	unsigned int level;

	/* Bottom-up: the last case rewrites an entry near the top. */
	for (level = 1; level < self->levels; level++) {
		__u64 iova = self->iova - (__u64)level * (1ULL << 39) + SZ_4K;
		__u64 *ptep;

		TH_CONTEXT("the level %u table", level);
		env_map(&self->e, iova, DATA_GPA, SZ_4K, S1_RWU);
		env_read_byte(&self->e, iova);
		/* The level-(L+1) entry points at an unmapped table. */
		ptep = env_pte(&self->e, iova, level + 1);
		nest_s1_pte_write(ptep, GPA_HOLE_L3 | NESTIOMMU_S1_PTE_P | S1_RWU);
		inv_all(self->e.fd, self->e.nested_id);
		check_fault_env(&self->e, ACC_R, iova, (struct fault_exp){
			.reason = NESTIOMMU_FAULT_REASON_PTE_FETCH, .stage = 2, .level = 3,
			.s1_level = level, .flags = GV | TF,
			.fetch_addr = GPA_HOLE_L3 + 8 * nest_s1_index(iova, level) });
	}
}

/* The root itself is unmapped (not checked at HWPT_ALLOC). */
TEST_F(fault, s2_root_unmapped_table_fetch)
{
	struct nestiommu_hwpt_s1_x86 desc = { .root_gpa = GPA_HOLE_L2, .levels = self->levels };
	__u32 id;

	do_hwpt_alloc_nested(self->e.fd, self->e.parent_id, &desc, &id);
	do_device_attach(self->e.fd, self->e.dev_id, NESTIOMMU_ATTACH_PASID, 9, id);
	check_fault_dev(self->e.fd, self->e.dev_id, NESTIOMMU_DMA_PASID, 9, ACC_R, self->iova,
			(struct fault_exp){
		.reason = NESTIOMMU_FAULT_REASON_PTE_FETCH, .stage = 2, .level = 2,
		.s1_level = self->levels, .flags = GV | TF,
		.fetch_addr = GPA_HOLE_L2 + 8 * nest_s1_index(self->iova, self->levels) });
}

/* A paging HWPT on the RID: an IOVA at or above 2^48 is out of range. */
TEST_F(fault, s2_paging_iova_above_gpa_width_oor)
{
	__u32 dev;

	do_device_create(self->e.fd, 0, ENV_RID + 1, 0, &dev);
	do_device_attach(self->e.fd, dev, 0, 0, self->e.parent_id);
	check_fault_dev(self->e.fd, dev, 0, 0, ACC_R, IOVA_LIMIT, (struct fault_exp){
		.reason = NESTIOMMU_FAULT_REASON_OOR_ADDRESS, .stage = 2, .level = ANY,
		.flags = ANY, .fetch_addr = ANY });
	check_fault_dev(self->e.fd, dev, 0, 0, ACC_R, GPA_HOLE_L3 + 8, (struct fault_exp){
		.reason = NESTIOMMU_FAULT_REASON_PTE_FETCH, .stage = 2, .level = 3,
		.flags = GV, .fetch_addr = GPA_HOLE_L3 + 8 });
}

/* ==== permissions ==== */

/* Clear @clear and set @set in the PTE of @iova at @level. */
static void pte_change(FIXTURE_DATA(fault) *self, __u64 iova, unsigned int level,
		       __u64 clear, __u64 set)
{
	__u64 *ptep = env_pte(&self->e, iova, level);

	nest_s1_pte_write(ptep, (nest_s1_pte_read(ptep) & ~clear) | set);
	inv_all(self->e.fd, self->e.nested_id);
}

TEST_F(fault, s1_read_only_leaf_denies_write)
{
	__u64 iova = self->iova + SZ_4K;
	char buf[8];

	pte_change(self, iova, 1, NESTIOMMU_S1_PTE_RW, 0);
	check_fault_env(&self->e, ACC_W, iova, (struct fault_exp){
		.reason = NESTIOMMU_FAULT_REASON_PERMISSION, .stage = 1, .level = 1,
		.flags = ANY, .fetch_addr = ANY });
	env_dma_ok(&self->e, ACC_R, iova, sizeof(buf), buf);
	ASSERT_MEM_BYTE(env_data(&self->e, DATA_GPA + SZ_4K), 0x5a, SZ_4K);
}

/* RW=0 in an upper table entry denies writes to everything below. */
TEST_F(fault, s1_read_only_table_denies_write)
{
	__u64 iova = self->iova + 3 * SZ_4K;
	char buf[8];

	pte_change(self, iova, 2, NESTIOMMU_S1_PTE_RW, 0);
	check_fault_env(&self->e, ACC_W, iova, (struct fault_exp){
		.reason = NESTIOMMU_FAULT_REASON_PERMISSION, .stage = 1, .level = ANY,
		.flags = ANY, .fetch_addr = ANY });
	env_dma_ok(&self->e, ACC_R, iova, sizeof(buf), buf);
}

TEST_F(fault, s1_supervisor_page_denies_user_request)
{
	__u64 iova = self->iova + 2 * SZ_4K;

	pte_change(self, iova, 1, NESTIOMMU_S1_PTE_US, 0);
	check_fault_env(&self->e, ACC_R, iova, (struct fault_exp){
		.reason = NESTIOMMU_FAULT_REASON_PERMISSION, .stage = 1, .level = 1,
		.flags = ANY, .fetch_addr = ANY });
	check_fault_env(&self->e, ACC_W, iova, (struct fault_exp){
		.reason = NESTIOMMU_FAULT_REASON_PERMISSION, .stage = 1, .level = 1,
		.flags = ANY, .fetch_addr = ANY });
	/* US=0 in an upper level does the same. */
	pte_change(self, iova, 1, 0, NESTIOMMU_S1_PTE_US);
	pte_change(self, iova, 3, NESTIOMMU_S1_PTE_US, 0);
	check_fault_env(&self->e, ACC_R, iova, (struct fault_exp){
		.reason = NESTIOMMU_FAULT_REASON_PERMISSION, .stage = 1, .level = ANY,
		.flags = ANY, .fetch_addr = ANY });
}

TEST_F(fault, s1_execute_disable_denies_exec)
{
	__u64 iova = self->iova + SZ_4K;
	struct nestiommu_walk_step steps[64];
	struct nestiommu_translate xl;
	char buf[8];

	/* Exec is allowed before. */
	do_dma(self->e.fd, self->e.dev_id, self->e.dma_flags, self->e.pasid,
	       ACC_R | NESTIOMMU_ACCESS_EXEC, iova, sizeof(buf), buf);
	pte_change(self, iova, 1, 0, NESTIOMMU_S1_PTE_XD);
	check_fault_env(&self->e, ACC_R | NESTIOMMU_ACCESS_EXEC, iova, (struct fault_exp){
		.reason = NESTIOMMU_FAULT_REASON_PERMISSION, .stage = 1, .level = 1,
		.flags = ANY, .fetch_addr = ANY });
	env_dma_ok(&self->e, ACC_R, iova, sizeof(buf), buf);
	env_translate(&self->e, NESTIOMMU_TRANSLATE_NO_CACHE, ACC_R, iova, steps, 64, &xl);
	ASSERT_EQ(NESTIOMMU_ACCESS_READ | NESTIOMMU_ACCESS_WRITE, xl.out_perm);
}

/* A privileged request on a PASID without SRE: ACCESS, before any walk. */
TEST_F(fault, privileged_without_sre_access)
{
	check_fault_env(&self->e, ACC_R | NESTIOMMU_ACCESS_PRIV, self->iova, (struct fault_exp){
		.reason = NESTIOMMU_FAULT_REASON_ACCESS, .stage = 1 });
	check_fault_env(&self->e, ACC_W | NESTIOMMU_ACCESS_PRIV, self->iova + 0x10,
			(struct fault_exp){
		.reason = NESTIOMMU_FAULT_REASON_ACCESS, .stage = 1 });
	/* Even where nothing is mapped: the check comes first. */
	check_fault_env(&self->e, ACC_R | NESTIOMMU_ACCESS_PRIV, self->iova + 64 * SZ_4K,
			(struct fault_exp){
		.reason = NESTIOMMU_FAULT_REASON_ACCESS, .stage = 1 });
}

/* ==== stage 2 permissions ==== */

/* Data in a READABLE-only and a WRITEABLE-only IOAS mapping. */
TEST_F(fault, s2_mapping_prot_enforced)
{
	char *ro = alloc_buffer_4k(SZ_64K, SZ_64K), *wo = alloc_buffer_4k(SZ_64K, SZ_64K);
	const __u64 ro_gpa = DATA_GPA + 4 * SZ_1M, wo_gpa = DATA_GPA + 8 * SZ_1M;
	__u64 ro_iova = self->iova + 32 * SZ_4K, wo_iova = self->iova + 48 * SZ_4K;
	struct nestiommu_walk_step steps[64];
	struct nestiommu_translate xl;
	__u64 gpa;
	char buf[8] = "written";

	gpa = ro_gpa;
	do_ioas_map(self->e.fd, self->e.ioas_id,
		    NESTIOMMU_IOAS_MAP_READABLE | NESTIOMMU_IOAS_MAP_FIXED_IOVA,
		    NEST_PTR(ro), SZ_64K, &gpa);
	gpa = wo_gpa;
	do_ioas_map(self->e.fd, self->e.ioas_id,
		    NESTIOMMU_IOAS_MAP_WRITEABLE | NESTIOMMU_IOAS_MAP_FIXED_IOVA,
		    NEST_PTR(wo), SZ_64K, &gpa);
	env_map(&self->e, ro_iova, ro_gpa, SZ_4K, S1_RWU);
	env_map(&self->e, wo_iova, wo_gpa, SZ_4K, S1_RWU);

	env_dma_ok(&self->e, ACC_R, ro_iova, sizeof(buf), buf);
	check_fault_env(&self->e, ACC_W, ro_iova + 0x30, (struct fault_exp){
		.reason = NESTIOMMU_FAULT_REASON_PERMISSION, .stage = 2, .level = 1,
		.flags = GV, .fetch_addr = ro_gpa + 0x30 });
	ASSERT_MEM_BYTE(ro, 0x5a, SZ_4K);
	env_translate(&self->e, NESTIOMMU_TRANSLATE_NO_CACHE, ACC_R, ro_iova, steps, 64, &xl);
	ASSERT_EQ(NESTIOMMU_ACCESS_READ | NESTIOMMU_ACCESS_EXEC, xl.out_perm);

	env_dma_ok(&self->e, ACC_W, wo_iova, sizeof(buf), buf);
	ASSERT_MEM_EQ(wo, buf, sizeof(buf));
	check_fault_env(&self->e, ACC_R, wo_iova + 0x40, (struct fault_exp){
		.reason = NESTIOMMU_FAULT_REASON_PERMISSION, .stage = 2, .level = 1,
		.flags = GV, .fetch_addr = wo_gpa + 0x40 });
	close(self->e.fd);
	self->e.fd = -1;
	munmap(ro, SZ_64K);
	munmap(wo, SZ_64K);
}

/* ==== fault counters ==== */

TEST_F(fault, faults_counted_by_stage_and_reason)
{
	struct nestiommu_xlate_stats st;
	__u32 ids[2] = { self->e.dev_id, self->e.nested_id };
	__u32 types[2] = { NESTIOMMU_OBJ_DEVICE, NESTIOMMU_OBJ_HWPT_NESTED };
	struct nestiommu_dma dma;
	char buf[8];
	int i;

	env_map(&self->e, self->iova + 20 * SZ_4K, GPA_HOLE_L1, SZ_4K, S1_RWU);
	for (i = 0; i < 3; i++)
		env_dma_fault(&self->e, ACC_R, self->iova + 21 * SZ_4K, sizeof(buf), buf, &dma);
	for (i = 0; i < 2; i++)
		env_dma_fault(&self->e, ACC_R, self->iova + 20 * SZ_4K, sizeof(buf), buf, &dma);
	env_dma_fault(&self->e, ACC_R | NESTIOMMU_ACCESS_PRIV, self->iova, sizeof(buf), buf, &dma);
	for (i = 0; i < 2; i++) {
		TH_CONTEXT("stats of %s", i ? "the HWPT" : "the device");
		do_xlate_stats(self->e.fd, ids[i], types[i], &st);
		ASSERT_EQ(3, st.faults[0][NESTIOMMU_FAULT_REASON_PTE_FETCH]);
		ASSERT_EQ(2, st.faults[1][NESTIOMMU_FAULT_REASON_PTE_FETCH]);
		ASSERT_EQ(1, st.faults[0][NESTIOMMU_FAULT_REASON_ACCESS]);
		ASSERT_EQ(0, st.faults[0][NESTIOMMU_FAULT_REASON_PERMISSION]);
		ASSERT_EQ(0, st.faults[1][NESTIOMMU_FAULT_REASON_ACCESS]);
	}
}

/* ==== SRE and WPE ==== */

FIXTURE(priv) {
	struct nest_env e;
};

FIXTURE_VARIANT(priv) {
	__u32 s1_flags;
};

FIXTURE_VARIANT_ADD(priv, sre) { .s1_flags = NESTIOMMU_S1_SRE };
FIXTURE_VARIANT_ADD(priv, sre_wpe) { .s1_flags = NESTIOMMU_S1_SRE | NESTIOMMU_S1_WPE };

FIXTURE_SETUP(priv)
{
	struct nest_env_opts o = { .s1_flags = variant->s1_flags };

	env_setup(&self->e, &o);
	/* page 0: user read-write, 1: supervisor read-write, 2: user read-only */
	env_map(&self->e, ENV_IOVA, DATA_GPA, SZ_4K, S1_RWU);
	env_map(&self->e, ENV_IOVA + SZ_4K, DATA_GPA + SZ_4K, SZ_4K, NESTIOMMU_S1_PTE_RW);
	env_map(&self->e, ENV_IOVA + 2 * SZ_4K, DATA_GPA + 2 * SZ_4K, SZ_4K,
		NESTIOMMU_S1_PTE_US);
}

FIXTURE_TEARDOWN(priv)
{
	env_teardown(&self->e);
}

#define PRIV NESTIOMMU_ACCESS_PRIV

TEST_F(priv, privileged_requests_reach_user_and_supervisor_pages)
{
	char buf[8] = "privwrt";

	env_dma_ok(&self->e, ACC_W | PRIV, ENV_IOVA, sizeof(buf), buf);
	env_dma_ok(&self->e, ACC_W | PRIV, ENV_IOVA + SZ_4K, sizeof(buf), buf);
	ASSERT_MEM_EQ(env_data(&self->e, DATA_GPA + SZ_4K), buf, sizeof(buf));
	env_dma_ok(&self->e, ACC_R | PRIV, ENV_IOVA + SZ_4K, sizeof(buf), buf);
	/* The supervisor page refuses user requests. */
	check_fault_env(&self->e, ACC_R, ENV_IOVA + SZ_4K, (struct fault_exp){
		.reason = NESTIOMMU_FAULT_REASON_PERMISSION, .stage = 1, .level = 1,
		.flags = ANY, .fetch_addr = ANY });
}

TEST_F(priv, translate_perm_reports_supervisor_only)
{
	struct nestiommu_walk_step steps[64];
	struct nestiommu_translate xl;

	env_translate(&self->e, NESTIOMMU_TRANSLATE_NO_CACHE, ACC_R | PRIV, ENV_IOVA + SZ_4K,
		      steps, 64, &xl);
	ASSERT_EQ(NESTIOMMU_ACCESS_READ | NESTIOMMU_ACCESS_WRITE | NESTIOMMU_ACCESS_EXEC | PRIV,
		  xl.out_perm);
}

/* Without WPE a privileged write may write a read-only user page. */
TEST_F(priv, privileged_write_read_only_page_wpe)
{
	bool wpe = variant->s1_flags & NESTIOMMU_S1_WPE;
	char buf[8] = "privwrt";

	/* User writes are refused either way. */
	check_fault_env(&self->e, ACC_W, ENV_IOVA + 2 * SZ_4K, (struct fault_exp){
		.reason = NESTIOMMU_FAULT_REASON_PERMISSION, .stage = 1, .level = 1,
		.flags = ANY, .fetch_addr = ANY });
	if (wpe) {
		check_fault_env(&self->e, ACC_W | PRIV, ENV_IOVA + 2 * SZ_4K,
				(struct fault_exp){
			.reason = NESTIOMMU_FAULT_REASON_PERMISSION, .stage = 1, .level = 1,
			.flags = ANY, .fetch_addr = ANY });
		ASSERT_MEM_BYTE(env_data(&self->e, DATA_GPA + 2 * SZ_4K), 0x5a, SZ_4K);
	} else {
		env_dma_ok(&self->e, ACC_W | PRIV, ENV_IOVA + 2 * SZ_4K, sizeof(buf), buf);
		ASSERT_MEM_EQ(env_data(&self->e, DATA_GPA + 2 * SZ_4K), buf, sizeof(buf));
	}
}

/* ==== A/D updates need write access to the table pages ==== */

FIXTURE(ad_table) {
	struct nest_env e;
};

FIXTURE_VARIANT(ad_table) {
	unsigned int levels;
};

FIXTURE_VARIANT_ADD(ad_table, four_level) { .levels = 4 };
FIXTURE_VARIANT_ADD(ad_table, five_level) { .levels = 5 };

/* The pool is READABLE only in the IOAS: walks work, A/D updates cannot. */
FIXTURE_SETUP(ad_table)
{
	struct nest_env_opts o = {
		.levels = variant->levels,
		.s1_flags = NESTIOMMU_S1_AD,
		.pool_prot = NESTIOMMU_IOAS_MAP_READABLE,
	};

	env_setup(&self->e, &o);
	env_map(&self->e, ENV_IOVA, DATA_GPA, SZ_4K, S1_RWU);
}

FIXTURE_TEARDOWN(ad_table)
{
	env_teardown(&self->e);
}

/* Setting A on the top-level PTE already needs stage-2 write. */
TEST_F(ad_table, accessed_update_read_only_table_s2_permission)
{
	unsigned int top = variant->levels;

	check_fault_env_cached(&self->e, ACC_R, ENV_IOVA, (struct fault_exp){
		.reason = NESTIOMMU_FAULT_REASON_PERMISSION, .stage = 2, .level = ANY,
		.s1_level = top, .flags = GV | TF | NESTIOMMU_FAULT_F_AD_UPDATE,
		.fetch_addr = env_pte_gpa(&self->e, ENV_IOVA, top) });
	/* A faulting walk updated nothing. */
	ASSERT_EQ(0, nest_s1_pte_read(env_pte(&self->e, ENV_IOVA, top)) & NESTIOMMU_S1_PTE_A);
}

/* With A preset everywhere, a write still needs D on the leaf. */
TEST_F(ad_table, dirty_update_read_only_leaf_table_s2_permission)
{
	unsigned int level;
	char buf[8];

	for (level = variant->levels; level >= 1; level--) {
		__u64 *ptep = env_pte(&self->e, ENV_IOVA, level);

		nest_s1_pte_write(ptep, nest_s1_pte_read(ptep) | NESTIOMMU_S1_PTE_A);
	}
	/* Reads need no update now. */
	env_dma_ok(&self->e, ACC_R, ENV_IOVA, sizeof(buf), buf);
	check_fault_env_cached(&self->e, ACC_W, ENV_IOVA, (struct fault_exp){
		.reason = NESTIOMMU_FAULT_REASON_PERMISSION, .stage = 2, .level = ANY,
		.s1_level = 1, .flags = GV | TF | NESTIOMMU_FAULT_F_AD_UPDATE,
		.fetch_addr = env_pte_gpa(&self->e, ENV_IOVA, 1) });
	/* With D preset too, the write goes through. */
	__u64 *leaf = env_pte(&self->e, ENV_IOVA, 1);

	nest_s1_pte_write(leaf, nest_s1_pte_read(leaf) | NESTIOMMU_S1_PTE_D);
	env_dma_ok(&self->e, ACC_W, ENV_IOVA, sizeof(buf), buf);
}

/* Table pages in a WRITEABLE-only mapping cannot even be read. */
TEST(s2_table_in_write_only_mapping_table_fetch)
{
	struct nest_env_opts o = { .pool_prot = NESTIOMMU_IOAS_MAP_WRITEABLE };
	static struct nest_env e;

	env_setup(&e, &o);
	env_map(&e, ENV_IOVA, DATA_GPA, SZ_4K, S1_RWU);
	check_fault_env(&e, ACC_R, ENV_IOVA, (struct fault_exp){
		.reason = NESTIOMMU_FAULT_REASON_PERMISSION, .stage = 2, .level = 1,
		.s1_level = 4, .flags = GV | TF, .fetch_addr = env_pte_gpa(&e, ENV_IOVA, 4) });
	env_teardown(&e);
}
