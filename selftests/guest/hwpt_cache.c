// SPDX-License-Identifier: GPL-2.0
/*
 * Cache selftests: a stage-1 leaf rewritten without invalidation keeps
 * translating through the cached entry (IOTLB, device TLB) until the right
 * HWPT_INVALIDATE drops it, for each cache type and granularity; entries
 * naming another PASID or range leave it; the PASID cache; the statistics
 * of invalidations; HWPT_INVALIDATE's validation and in-order handling;
 * attach, replace, detach, IOAS_UNMAP and cache-size options flushing by
 * themselves; the stale-translation auditor; a cache hit allows exactly
 * what a walk allows (privilege and SRE, U/S, R/W with and without WPE,
 * XD, stage-2 permissions).
 */
#include <stddef.h>

#include "nest_env.h"

/*
 * The stale page: STALE_IOVA maps data page OLD (filled with OLD_BYTE); the
 * cases rewrite its leaf to data page NEW (NEW_BYTE) without invalidating.
 */
#define STALE_IOVA	(ENV_IOVA + 3 * SZ_2M + 5 * SZ_4K)
#define OLD_GPA		(DATA_GPA + 16 * SZ_4K)
#define NEW_GPA		(DATA_GPA + 17 * SZ_4K)
#define OTHER_GPA	(DATA_GPA + 18 * SZ_4K)
#define OLD_BYTE	0xaa
#define NEW_BYTE	0xbb
#define OTHER_BYTE	0xcc
#define OTHER_PASID	(ENV_PASID + 1)

/* Map STALE_IOVA -> OLD and fill the three data pages. */
static void stale_setup(struct nest_env *e)
{
	memset(env_data(e, OLD_GPA), OLD_BYTE, SZ_4K);
	memset(env_data(e, NEW_GPA), NEW_BYTE, SZ_4K);
	memset(env_data(e, OTHER_GPA), OTHER_BYTE, SZ_4K);
	env_map(e, STALE_IOVA, OLD_GPA, SZ_4K, S1_RWU);
	/* Neighbours, never read: an invalidation of them drops nothing. */
	env_map(e, STALE_IOVA - SZ_4K, OTHER_GPA, SZ_4K, S1_RWU);
	env_map(e, STALE_IOVA + SZ_4K, OTHER_GPA, SZ_4K, S1_RWU);
}

/* Read STALE_IOVA (caching it), then point its leaf at NEW: still OLD. */
static void stale_make(struct nest_env *e)
{
	__u64 *ptep = env_pte(e, STALE_IOVA, 1);

	ASSERT_EQ(OLD_BYTE, env_read_byte(e, STALE_IOVA));
	nest_s1_pte_write(ptep, (nest_s1_pte_read(ptep) & ~NESTIOMMU_S1_PTE_ADDR) | NEW_GPA);
	ASSERT_EQ(OLD_BYTE, env_read_byte(e, STALE_IOVA + 0x10));
}

static void hwpt_stats(struct nest_env *e, __u32 id, struct nestiommu_xlate_stats *st)
{
	do_xlate_stats(e->fd, id, NESTIOMMU_OBJ_HWPT_NESTED, st);
}

/* ==== one invalidation, stale or fresh after it ==== */

/* An invalidation entry relative to the stale page and the env's PASID. */
struct stale_inv {
	__u32 cache;
	__u32 granu;
	__u32 flags;
	bool other_pasid;
	__s64 addr_off;		/* ADDR: addr = STALE_IOVA + addr_off ... */
	__u64 align;		/* ... rounded down to this (0: not) */
	__u64 granule;
	__u64 nb;
};

FIXTURE(stale) {
	struct nest_env e;
};

FIXTURE_VARIANT(stale) {
	bool ats;
	int ninv;
	struct stale_inv inv[2];
	bool fresh;		/* the next DMA reaches NEW */
	int dropped;		/* cache entries the invalidation drops */
};

#define IOTLB NESTIOMMU_INV_CACHE_IOTLB
#define DEVTLB NESTIOMMU_INV_CACHE_DEV_IOTLB
#define PASIDC NESTIOMMU_INV_CACHE_PASID
#define G_DOMAIN NESTIOMMU_INV_GRANU_DOMAIN
#define G_PASID NESTIOMMU_INV_GRANU_PASID
#define G_ADDR NESTIOMMU_INV_GRANU_ADDR
#define F_PASID NESTIOMMU_INV_F_PASID
#define F_LEAF NESTIOMMU_INV_F_LEAF

FIXTURE_VARIANT_ADD(stale, iotlb_domain) {
	.ninv = 1, .inv = { { IOTLB, G_DOMAIN } }, .fresh = true, .dropped = 1,
};
FIXTURE_VARIANT_ADD(stale, iotlb_pasid) {
	.ninv = 1, .inv = { { IOTLB, G_PASID } }, .fresh = true, .dropped = 1,
};
FIXTURE_VARIANT_ADD(stale, iotlb_other_pasid_stays) {
	.ninv = 1, .inv = { { IOTLB, G_PASID, .other_pasid = true } },
};
FIXTURE_VARIANT_ADD(stale, iotlb_addr) {
	.ninv = 1, .inv = { { IOTLB, G_ADDR, .granule = SZ_4K, .nb = 1 } },
	.fresh = true, .dropped = 1,
};
FIXTURE_VARIANT_ADD(stale, iotlb_addr_leaf) {
	.ninv = 1, .inv = { { IOTLB, G_ADDR, F_LEAF, .granule = SZ_4K, .nb = 1 } },
	.fresh = true, .dropped = 1,
};
FIXTURE_VARIANT_ADD(stale, iotlb_addr_pasid) {
	.ninv = 1, .inv = { { IOTLB, G_ADDR, F_PASID, .granule = SZ_4K, .nb = 1 } },
	.fresh = true, .dropped = 1,
};
FIXTURE_VARIANT_ADD(stale, iotlb_addr_pasid_leaf) {
	.ninv = 1, .inv = { { IOTLB, G_ADDR, F_PASID | F_LEAF, .granule = SZ_4K, .nb = 1 } },
	.fresh = true, .dropped = 1,
};
FIXTURE_VARIANT_ADD(stale, iotlb_addr_other_pasid_stays) {
	.ninv = 1,
	.inv = { { IOTLB, G_ADDR, F_PASID, .other_pasid = true, .granule = SZ_4K, .nb = 1 } },
};
FIXTURE_VARIANT_ADD(stale, iotlb_addr_range_of_pages) {
	.ninv = 1, .inv = { { IOTLB, G_ADDR, .addr_off = -2 * (__s64)SZ_4K, .granule = SZ_4K, .nb = 4 } },
	.fresh = true, .dropped = 1,
};
FIXTURE_VARIANT_ADD(stale, iotlb_addr_2m_granule) {
	.ninv = 1, .inv = { { IOTLB, G_ADDR, .align = SZ_2M, .granule = SZ_2M, .nb = 1 } },
	.fresh = true, .dropped = 1,
};
FIXTURE_VARIANT_ADD(stale, iotlb_addr_page_below_stays) {
	.ninv = 1, .inv = { { IOTLB, G_ADDR, .addr_off = -(__s64)SZ_4K, .granule = SZ_4K, .nb = 1 } },
};
FIXTURE_VARIANT_ADD(stale, iotlb_addr_page_above_stays) {
	.ninv = 1, .inv = { { IOTLB, G_ADDR, .addr_off = SZ_4K, .granule = SZ_4K, .nb = 1 } },
};
FIXTURE_VARIANT_ADD(stale, iotlb_addr_next_2m_stays) {
	.ninv = 1, .inv = { { IOTLB, G_ADDR, .addr_off = SZ_2M, .align = SZ_2M, .granule = SZ_2M, .nb = 1 } },
};
/* The PASID cache holds descriptors, not translations. */
FIXTURE_VARIANT_ADD(stale, pasid_cache_only_stays) {
	.ninv = 1, .inv = { { PASIDC, G_PASID } }, .dropped = 1,
};
/* The device TLB of a non-ATS device holds nothing. */
FIXTURE_VARIANT_ADD(stale, dev_iotlb_without_ats_stays) {
	.ninv = 1, .inv = { { DEVTLB, G_PASID } },
};
/* ATS: the device TLB answers first, the IOTLB refills it. */
FIXTURE_VARIANT_ADD(stale, ats_iotlb_only_stays) {
	.ats = true, .ninv = 1, .inv = { { IOTLB, G_DOMAIN } }, .dropped = 1,
};
FIXTURE_VARIANT_ADD(stale, ats_dev_iotlb_only_stays) {
	.ats = true, .ninv = 1, .inv = { { DEVTLB, G_PASID } }, .dropped = 1,
};
FIXTURE_VARIANT_ADD(stale, ats_both_pasid) {
	.ats = true, .ninv = 2, .inv = { { IOTLB, G_PASID }, { DEVTLB, G_PASID } },
	.fresh = true, .dropped = 2,
};
FIXTURE_VARIANT_ADD(stale, ats_both_addr_one_entry) {
	.ats = true, .ninv = 1, .inv = { { IOTLB | DEVTLB, G_ADDR, .granule = SZ_4K, .nb = 1 } },
	.fresh = true, .dropped = 2,
};
FIXTURE_VARIANT_ADD(stale, ats_both_addr_pasid) {
	.ats = true, .ninv = 2,
	.inv = { { IOTLB, G_ADDR, F_PASID, .granule = SZ_4K, .nb = 1 },
		 { DEVTLB, G_ADDR, F_PASID, .granule = SZ_4K, .nb = 1 } },
	.fresh = true, .dropped = 2,
};
FIXTURE_VARIANT_ADD(stale, ats_dev_iotlb_other_pasid_stays) {
	.ats = true, .ninv = 2,
	.inv = { { IOTLB, G_PASID }, { DEVTLB, G_PASID, .other_pasid = true } },
	.dropped = 1,
};
FIXTURE_VARIANT_ADD(stale, ats_dev_iotlb_other_range_stays) {
	.ats = true, .ninv = 2,
	.inv = { { IOTLB, G_DOMAIN }, { DEVTLB, G_ADDR, .addr_off = SZ_4K, .granule = SZ_4K, .nb = 1 } },
	.dropped = 1,
};

FIXTURE_SETUP(stale)
{
	struct nest_env_opts o = { .dev_flags = variant->ats ? NESTIOMMU_DEVICE_ATS : 0 };

	env_setup(&self->e, &o);
	stale_setup(&self->e);
}

FIXTURE_TEARDOWN(stale)
{
	env_teardown(&self->e);
}

static struct nestiommu_inv_entry stale_entry(struct nest_env *e, const struct stale_inv *s)
{
	__u64 addr = STALE_IOVA + s->addr_off;

	if (s->align)
		addr &= ~(s->align - 1);
	return inv_entry(s->cache, s->granu, s->flags,
			 s->other_pasid ? OTHER_PASID : e->pasid,
			 s->granu == G_ADDR ? addr : 0, s->granule, s->nb);
}

TEST_F(stale, dma_reaches_new_page_only_after_invalidation)
{
	struct nestiommu_xlate_stats before, after;
	struct nestiommu_inv_entry inv[2];
	__u64 want_iotlb = 0, want_dev = 0, want_pasid = 0;
	int i;

	stale_make(&self->e);
	for (i = 0; i < variant->ninv; i++) {
		inv[i] = stale_entry(&self->e, &variant->inv[i]);
		want_iotlb += !!(inv[i].cache & IOTLB);
		want_dev += !!(inv[i].cache & DEVTLB);
		want_pasid += !!(inv[i].cache & PASIDC);
	}
	hwpt_stats(&self->e, self->e.nested_id, &before);
	do_hwpt_invalidate(self->e.fd, self->e.nested_id, inv, variant->ninv);
	hwpt_stats(&self->e, self->e.nested_id, &after);
	ASSERT_EQ(before.inv_iotlb + want_iotlb, after.inv_iotlb);
	ASSERT_EQ(before.inv_dev_iotlb + want_dev, after.inv_dev_iotlb);
	ASSERT_EQ(before.inv_pasid + want_pasid, after.inv_pasid);
	ASSERT_EQ(before.inv_dropped + variant->dropped, after.inv_dropped);
	/* Invalidations count on the HWPT only. */
	do_xlate_stats(self->e.fd, self->e.dev_id, NESTIOMMU_OBJ_DEVICE, &after);
	ASSERT_EQ(0, after.inv_iotlb + after.inv_dev_iotlb + after.inv_pasid + after.inv_dropped);

	ASSERT_EQ(variant->fresh ? NEW_BYTE : OLD_BYTE, env_read_byte(&self->e, STALE_IOVA));
	if (variant->fresh)
		return;
	/* Still stale a second time; a full invalidation ends it. */
	ASSERT_EQ(OLD_BYTE, env_read_byte(&self->e, STALE_IOVA + 0x20));
	inv_all(self->e.fd, self->e.nested_id);
	ASSERT_EQ(NEW_BYTE, env_read_byte(&self->e, STALE_IOVA));
}

/* ==== flushes that need no invalidation ==== */

FIXTURE(flush) {
	struct nest_env e;
};

FIXTURE_VARIANT(flush) {
	bool ats;
};

FIXTURE_VARIANT_ADD(flush, plain) { .ats = false };
FIXTURE_VARIANT_ADD(flush, ats) { .ats = true };

FIXTURE_SETUP(flush)
{
	struct nest_env_opts o = { .dev_flags = variant->ats ? NESTIOMMU_DEVICE_ATS : 0 };

	env_setup(&self->e, &o);
	stale_setup(&self->e);
}

FIXTURE_TEARDOWN(flush)
{
	env_teardown(&self->e);
}

/* A stale write keeps landing in the old page too. */
TEST_F(flush, dma_write_lands_in_old_page_until_invalidated)
{
	char buf[16];

	/* Cache a write translation first (away from the byte stale_make reads). */
	memset(buf, 0x11, sizeof(buf));
	env_dma_ok(&self->e, ACC_W, STALE_IOVA + 0x100, sizeof(buf), buf);
	stale_make(&self->e);
	memset(buf, 0x22, sizeof(buf));
	env_dma_ok(&self->e, ACC_W, STALE_IOVA + 0x100, sizeof(buf), buf);
	ASSERT_MEM_BYTE(env_data(&self->e, OLD_GPA + 0x100), 0x22, sizeof(buf));
	ASSERT_MEM_BYTE(env_data(&self->e, NEW_GPA), NEW_BYTE, SZ_4K);
	inv_all(self->e.fd, self->e.nested_id);
	memset(buf, 0x33, sizeof(buf));
	env_dma_ok(&self->e, ACC_W, STALE_IOVA + 0x100, sizeof(buf), buf);
	ASSERT_MEM_BYTE(env_data(&self->e, NEW_GPA + 0x100), 0x33, sizeof(buf));
	ASSERT_MEM_BYTE(env_data(&self->e, OLD_GPA + 0x100), 0x22, sizeof(buf));
}

/* An invalidation of another HWPT leaves this one's entries. */
TEST_F(flush, other_hwpt_invalidation_stays)
{
	__u32 other;

	do_hwpt_alloc_nested(self->e.fd, self->e.parent_id, &self->e.desc, &other);
	stale_make(&self->e);
	inv_all(self->e.fd, other);
	ASSERT_EQ(OLD_BYTE, env_read_byte(&self->e, STALE_IOVA));
}

/* Detaching and attaching the same HWPT drops the cached translations. */
TEST_F(flush, detach_attach_flushes)
{
	stale_make(&self->e);
	do_device_detach(self->e.fd, self->e.dev_id, self->e.attach_flags, self->e.pasid);
	do_device_attach(self->e.fd, self->e.dev_id, self->e.attach_flags, self->e.pasid,
			 self->e.nested_id);
	ASSERT_EQ(NEW_BYTE, env_read_byte(&self->e, STALE_IOVA));
}

/* Replacing to another HWPT and back drops them too. */
TEST_F(flush, replace_flushes)
{
	struct nest_s1 s1b;
	struct nestiommu_hwpt_s1_x86 desc;
	__u32 other;

	/* A second table tree in the back half of the pool: STALE_IOVA -> OTHER. */
	ASSERT_OK(nest_s1_init(&s1b, self->e.pool + POOL_LEN / 2, POOL_GPA + POOL_LEN / 2,
			       POOL_LEN / 2, 4));
	ASSERT_OK(nest_s1_map(&s1b, STALE_IOVA, OTHER_GPA, SZ_4K, S1_RWU));
	nest_s1_desc(&s1b, 0, &desc);
	do_hwpt_alloc_nested(self->e.fd, self->e.parent_id, &desc, &other);

	stale_make(&self->e);
	do_device_attach(self->e.fd, self->e.dev_id,
			 self->e.attach_flags | NESTIOMMU_ATTACH_REPLACE, self->e.pasid, other);
	ASSERT_EQ(OTHER_BYTE, env_read_byte(&self->e, STALE_IOVA));
	do_device_attach(self->e.fd, self->e.dev_id,
			 self->e.attach_flags | NESTIOMMU_ATTACH_REPLACE, self->e.pasid,
			 self->e.nested_id);
	ASSERT_EQ(NEW_BYTE, env_read_byte(&self->e, STALE_IOVA));
}

/* IOAS_UNMAP of the output page drops the translation: a fault, not stale data. */
TEST_F(flush, ioas_unmap_of_output_flushes)
{
	char *fresh = alloc_buffer_4k(DATA_LEN, SZ_2M);
	struct nestiommu_dma dma;
	char buf[8];

	ASSERT_EQ(OLD_BYTE, env_read_byte(&self->e, STALE_IOVA));
	do_ioas_unmap(self->e.fd, self->e.ioas_id, DATA_GPA, DATA_LEN, DATA_LEN);
	env_dma_fault(&self->e, ACC_R, STALE_IOVA, sizeof(buf), buf, &dma);
	/* The data was all of [1G, 2G): its stage-2 tables went with it. */
	check_fault_exp(&dma.out_fault, (struct fault_exp){
		.addr = STALE_IOVA, .reason = NESTIOMMU_FAULT_REASON_PTE_FETCH,
		.stage = 2, .level = 3, .flags = NESTIOMMU_FAULT_F_GPA_VALID,
		.fetch_addr = OLD_GPA });
	memset(fresh + (OLD_GPA - DATA_GPA), 0x77, SZ_4K);
	do_ioas_map_fixed(self->e.fd, self->e.ioas_id, fresh, DATA_LEN, DATA_GPA);
	ASSERT_EQ(0x77, env_read_byte(&self->e, STALE_IOVA));
	close(self->e.fd);
	self->e.fd = -1;
	munmap(fresh, DATA_LEN);
}

/* IOAS_UNMAP of a stage-1 table page drops what was walked through it. */
TEST_F(flush, ioas_unmap_of_table_flushes)
{
	struct nestiommu_dma dma;
	char buf[8];

	ASSERT_EQ(OLD_BYTE, env_read_byte(&self->e, STALE_IOVA));
	do_ioas_unmap(self->e.fd, self->e.ioas_id, POOL_GPA, POOL_LEN, POOL_LEN);
	env_dma_fault(&self->e, ACC_R, STALE_IOVA, sizeof(buf), buf, &dma);
	/* The pool was all of [0, 1G): its stage-2 tables went with it. */
	check_fault_exp(&dma.out_fault, (struct fault_exp){
		.addr = STALE_IOVA, .reason = NESTIOMMU_FAULT_REASON_PTE_FETCH,
		.stage = 2, .level = 3, .s1_level = 4,
		.flags = NESTIOMMU_FAULT_F_GPA_VALID | NESTIOMMU_FAULT_F_TABLE_FETCH,
		.fetch_addr = self->e.s1.root_gpa + 8 * nest_s1_index(STALE_IOVA, 4) });
}

/* ==== the PASID cache ==== */

TEST_F(flush, pasid_cache_invalidation_counted)
{
	const __u32 granus[] = { G_PASID, G_DOMAIN };
	struct nestiommu_xlate_stats dev0, dev1, hw0, hw1;
	size_t i;

	for (i = 0; i < 2; i++) {
		struct nestiommu_inv_entry inv = inv_entry(PASIDC, granus[i], 0, self->e.pasid,
							   0, 0, 0);

		TH_CONTEXT("granularity %u", granus[i]);
		env_read_byte(&self->e, STALE_IOVA);
		env_read_byte(&self->e, STALE_IOVA);
		do_xlate_stats(self->e.fd, self->e.dev_id, NESTIOMMU_OBJ_DEVICE, &dev0);
		ASSERT_LT(0, dev0.pasid_cache_hits);
		hwpt_stats(&self->e, self->e.nested_id, &hw0);
		do_hwpt_invalidate(self->e.fd, self->e.nested_id, &inv, 1);
		hwpt_stats(&self->e, self->e.nested_id, &hw1);
		ASSERT_EQ(hw0.inv_pasid + 1, hw1.inv_pasid);
		ASSERT_EQ(hw0.inv_dropped + 1, hw1.inv_dropped);
		ASSERT_EQ(hw0.inv_iotlb, hw1.inv_iotlb);
		/* The next translation misses the PASID cache, once. */
		env_read_byte(&self->e, STALE_IOVA);
		do_xlate_stats(self->e.fd, self->e.dev_id, NESTIOMMU_OBJ_DEVICE, &dev1);
		ASSERT_EQ(dev0.pasid_cache_misses + 1, dev1.pasid_cache_misses);
		env_read_byte(&self->e, STALE_IOVA);
		do_xlate_stats(self->e.fd, self->e.dev_id, NESTIOMMU_OBJ_DEVICE, &dev0);
		ASSERT_EQ(dev1.pasid_cache_misses, dev0.pasid_cache_misses);
	}
	/* Another PASID's entry: nothing dropped. */
	struct nestiommu_inv_entry other = inv_entry(PASIDC, G_PASID, 0, OTHER_PASID, 0, 0, 0);

	hwpt_stats(&self->e, self->e.nested_id, &hw0);
	do_hwpt_invalidate(self->e.fd, self->e.nested_id, &other, 1);
	hwpt_stats(&self->e, self->e.nested_id, &hw1);
	ASSERT_EQ(hw0.inv_pasid + 1, hw1.inv_pasid);
	ASSERT_EQ(hw0.inv_dropped, hw1.inv_dropped);
}

/* ==== the cache-size options flush ==== */

/* Resizing the IOTLB empties it, and only it: a device TLB still answers. */
TEST_F(flush, iotlb_entries_option_empties_iotlb)
{
	stale_make(&self->e);
	do_option_set(self->e.fd, NESTIOMMU_OPTION_IOTLB_ENTRIES, 0, 512);
	ASSERT_EQ(variant->ats ? OLD_BYTE : NEW_BYTE,
		  env_read_byte(&self->e, STALE_IOVA));
}

TEST_F(flush, devtlb_entries_option_empties_device_tlb)
{
	struct nestiommu_inv_entry inv = inv_entry(IOTLB, G_DOMAIN, 0, 0, 0, 0, 0);

	if (!variant->ats) {
		/* A device without ATS has no device TLB to size. */
		do_option_set_err(EINVAL, self->e.fd, NESTIOMMU_OPTION_DEVTLB_ENTRIES,
				  self->e.dev_id, 128);
		return;
	}
	stale_make(&self->e);
	/* The IOTLB is clean; the device TLB still answers... */
	do_hwpt_invalidate(self->e.fd, self->e.nested_id, &inv, 1);
	ASSERT_EQ(OLD_BYTE, env_read_byte(&self->e, STALE_IOVA));
	/* ... until resizing it empties it. */
	do_option_set(self->e.fd, NESTIOMMU_OPTION_DEVTLB_ENTRIES, self->e.dev_id, 128);
	ASSERT_EQ(NEW_BYTE, env_read_byte(&self->e, STALE_IOVA));
}

/* Small caches evict: 64 other pages push the stale entry out. */
TEST_F(flush, small_iotlb_evicts)
{
	int i;

	do_option_set(self->e.fd, NESTIOMMU_OPTION_IOTLB_ENTRIES, 0, NESTIOMMU_IOTLB_MIN_ENTRIES);
	/* The smallest device TLB: one set of 4 ways. */
	if (variant->ats)
		do_option_set(self->e.fd, NESTIOMMU_OPTION_DEVTLB_ENTRIES, self->e.dev_id,
			      NESTIOMMU_DEVTLB_MIN_ENTRIES);
	for (i = 0; i < 64; i++)
		env_map(&self->e, ENV_IOVA + i * SZ_4K, DATA_GPA + i * SZ_4K, SZ_4K, S1_RWU);
	stale_make(&self->e);
	for (i = 0; i < 64; i++)
		env_read_byte(&self->e, ENV_IOVA + i * SZ_4K);
	ASSERT_EQ(NEW_BYTE, env_read_byte(&self->e, STALE_IOVA));
}

/* The auditor sees a stale hit, counts it and still serves it. */
TEST_F(flush, stale_audit_counts_stale_hits)
{
	struct nestiommu_xlate_stats st;

	do_option_set(self->e.fd, NESTIOMMU_OPTION_STALE_AUDIT, 0, 1);
	ASSERT_EQ(OLD_BYTE, env_read_byte(&self->e, STALE_IOVA));
	ASSERT_EQ(OLD_BYTE, env_read_byte(&self->e, STALE_IOVA));
	do_xlate_stats(self->e.fd, self->e.dev_id, NESTIOMMU_OBJ_DEVICE, &st);
	ASSERT_EQ(0, st.stale_translations);
	stale_make(&self->e);
	do_xlate_stats(self->e.fd, self->e.dev_id, NESTIOMMU_OBJ_DEVICE, &st);
	ASSERT_EQ(1, st.stale_translations);
	hwpt_stats(&self->e, self->e.nested_id, &st);
	ASSERT_EQ(1, st.stale_translations);
	/* Off: not counted any more. */
	do_option_set(self->e.fd, NESTIOMMU_OPTION_STALE_AUDIT, 0, 0);
	ASSERT_EQ(OLD_BYTE, env_read_byte(&self->e, STALE_IOVA));
	do_xlate_stats(self->e.fd, self->e.dev_id, NESTIOMMU_OBJ_DEVICE, &st);
	ASSERT_EQ(1, st.stale_translations);
}

/* ==== permission checks on a hit are those of a walk ==== */

/*
 * Pages with every stage-1 and stage-2 permission, each in its own 2 MiB
 * (its own level-2 PTE), over its own data page; two more data pages in a
 * read-only and a write-only IOAS mapping.
 */
#define PC_IOVA		(ENV_IOVA + SZ_1G)
#define PC_GPA		(DATA_GPA + 64 * SZ_4K)
#define PC_RO_GPA	(DATA_GPA + 4 * SZ_1M)
#define PC_WO_GPA	(DATA_GPA + 8 * SZ_1M)
#define PC_OLD		0x3c
#define PC_NEW		0xc3
#define PRIV		NESTIOMMU_ACCESS_PRIV
#define EXEC		NESTIOMMU_ACCESS_EXEC
#define PC_N(a)		(sizeof(a) / sizeof((a)[0]))

static const struct {
	const char *name;
	__u64 leaf;		/* S1 PTE flags of the leaf */
	__u64 l2_clear;		/* flags cleared in the level-2 PTE */
	__u64 l2_set;		/* flags set in the level-2 PTE */
	__u64 gpa;		/* 0: PC_GPA + page * 4K */
} pc_pages[] = {
	{ "user rw", S1_RWU, 0, 0, 0 },
	{ "user ro", NESTIOMMU_S1_PTE_US, 0, 0, 0 },
	{ "supervisor rw", NESTIOMMU_S1_PTE_RW, 0, 0, 0 },
	{ "supervisor ro", 0, 0, 0, 0 },
	{ "user rw xd", S1_RWU | NESTIOMMU_S1_PTE_XD, 0, 0, 0 },
	{ "ro at level 2", S1_RWU, NESTIOMMU_S1_PTE_RW, 0, 0 },
	{ "supervisor at level 2", S1_RWU, NESTIOMMU_S1_PTE_US, 0, 0 },
	{ "xd at level 2", S1_RWU, 0, NESTIOMMU_S1_PTE_XD, 0 },
	{ "stage 2 ro", S1_RWU, 0, 0, PC_RO_GPA },
	{ "stage 2 wo", S1_RWU, 0, 0, PC_WO_GPA },
	{ "supervisor ro, stage 2 wo", 0, 0, 0, PC_WO_GPA + SZ_4K },
};

static const __u32 pc_accesses[] = {
	ACC_R, ACC_W, ACC_R | EXEC, ACC_R | PRIV, ACC_W | PRIV, ACC_R | EXEC | PRIV,
};

FIXTURE(permcache) {
	struct nest_env e;
	char *ro, *wo;
	char *page[PC_N(pc_pages)];	/* the memory behind each */
};

FIXTURE_VARIANT(permcache) {
	__u32 s1_flags;
	bool ats;
};

FIXTURE_VARIANT_ADD(permcache, no_sre) { .s1_flags = 0 };
FIXTURE_VARIANT_ADD(permcache, sre) { .s1_flags = NESTIOMMU_S1_SRE };
FIXTURE_VARIANT_ADD(permcache, sre_wpe) { .s1_flags = NESTIOMMU_S1_SRE | NESTIOMMU_S1_WPE };
FIXTURE_VARIANT_ADD(permcache, sre_ad) { .s1_flags = NESTIOMMU_S1_SRE | NESTIOMMU_S1_AD };
FIXTURE_VARIANT_ADD(permcache, ats_no_sre) { .s1_flags = 0, .ats = true };
FIXTURE_VARIANT_ADD(permcache, ats_sre) { .s1_flags = NESTIOMMU_S1_SRE, .ats = true };
FIXTURE_VARIANT_ADD(permcache, ats_sre_wpe) {
	.s1_flags = NESTIOMMU_S1_SRE | NESTIOMMU_S1_WPE, .ats = true,
};

FIXTURE_SETUP(permcache)
{
	struct nest_env_opts o = {
		.s1_flags = variant->s1_flags,
		.dev_flags = variant->ats ? NESTIOMMU_DEVICE_ATS : 0,
	};
	__u64 gpa;
	size_t i;

	env_setup(&self->e, &o);
	self->ro = alloc_buffer_4k(SZ_64K, SZ_64K);
	self->wo = alloc_buffer_4k(SZ_64K, SZ_64K);
	gpa = PC_RO_GPA;
	do_ioas_map(self->e.fd, self->e.ioas_id,
		    NESTIOMMU_IOAS_MAP_READABLE | NESTIOMMU_IOAS_MAP_FIXED_IOVA,
		    NEST_PTR(self->ro), SZ_64K, &gpa);
	gpa = PC_WO_GPA;
	do_ioas_map(self->e.fd, self->e.ioas_id,
		    NESTIOMMU_IOAS_MAP_WRITEABLE | NESTIOMMU_IOAS_MAP_FIXED_IOVA,
		    NEST_PTR(self->wo), SZ_64K, &gpa);
	for (i = 0; i < PC_N(pc_pages); i++) {
		__u64 iova = PC_IOVA + i * SZ_2M, *l2;

		gpa = pc_pages[i].gpa ?: PC_GPA + i * SZ_4K;
		self->page[i] = gpa >= PC_WO_GPA ? self->wo + (gpa - PC_WO_GPA) :
				gpa >= PC_RO_GPA ? self->ro + (gpa - PC_RO_GPA) :
				env_data(&self->e, gpa);
		env_map(&self->e, iova, gpa, SZ_4K, pc_pages[i].leaf);
		l2 = env_pte(&self->e, iova, 2);
		nest_s1_pte_write(l2, (nest_s1_pte_read(l2) & ~pc_pages[i].l2_clear) |
				      pc_pages[i].l2_set);
	}
}

FIXTURE_TEARDOWN(permcache)
{
	env_teardown(&self->e);
	munmap(self->ro, SZ_64K);
	munmap(self->wo, SZ_64K);
}

/* What one DMA did: its fault, and the bytes it read or left in memory. */
struct pc_outcome {
	__u32 out_flags;
	__u64 bytes_done;
	struct nestiommu_fault_info fault;
	unsigned char seen;	/* read: the byte read; write: the memory's */
};

static void pc_dma(FIXTURE_DATA(permcache) *self, size_t page, __u32 access,
		   struct pc_outcome *out)
{
	unsigned char buf = access & ACC_W ? PC_NEW : 0;
	struct nestiommu_dma dma;

	ASSERT_OK(env_dma(&self->e, access, PC_IOVA + page * SZ_2M + 0x40, 1, &buf, &dma));
	memset(out, 0, sizeof(*out));
	out->out_flags = dma.out_flags;
	out->bytes_done = dma.out_bytes_done;
	out->fault = dma.out_fault;
	out->seen = access & ACC_W ? self->page[page][0x40] : buf;
}

/* Empty caches, the page's memory as at the start. */
static void pc_reset(FIXTURE_DATA(permcache) *self, size_t page)
{
	inv_all(self->e.fd, self->e.nested_id);
	self->page[page][0x40] = PC_OLD;
}

/*
 * Each request on each page, cold then after each other request that
 * succeeds filled the cache (for ATS, the IOTLB then invalidated so the
 * device TLB answers): the same fault or the same data moved, and a hit
 * wherever the cold request succeeds (but a write over a read's entry,
 * whose D bit is not set yet).
 */
TEST_F(permcache, hit_checks_like_walk)
{
	struct nestiommu_inv_entry iotlb = inv_entry(IOTLB, G_DOMAIN, 0, 0, 0, 0, 0);
	struct nestiommu_xlate_stats st0, st1;
	struct pc_outcome cold, hot;
	size_t i, t, p;
	int cases = 0, hits = 0;

	for (i = 0; i < PC_N(pc_pages); i++) {
		for (t = 0; t < PC_N(pc_accesses); t++) {
			__u32 acc = pc_accesses[t];

			pc_reset(self, i);
			pc_dma(self, i, acc, &cold);
			for (p = 0; p < PC_N(pc_accesses); p++) {
				struct pc_outcome prime;
				bool hit;

				pc_reset(self, i);
				pc_dma(self, i, pc_accesses[p], &prime);
				if (prime.out_flags)
					continue;
				self->page[i][0x40] = PC_OLD;
				if (variant->ats)
					do_hwpt_invalidate(self->e.fd, self->e.nested_id, &iotlb, 1);
				do_xlate_stats(self->e.fd, self->e.dev_id, NESTIOMMU_OBJ_DEVICE, &st0);
				pc_dma(self, i, acc, &hot);
				do_xlate_stats(self->e.fd, self->e.dev_id, NESTIOMMU_OBJ_DEVICE, &st1);
				hit = variant->ats ? st1.devtlb_hits == st0.devtlb_hits + 1 :
						     st1.iotlb_hits == st0.iotlb_hits + 1;
				TH_CONTEXT("page '%s' access %#x after %#x: cold flags %#x reason %s, cached flags %#x reason %s hit %d",
					   pc_pages[i].name, acc, pc_accesses[p], cold.out_flags,
					   fault_reason_name(cold.fault.reason), hot.out_flags,
					   fault_reason_name(hot.fault.reason), hit);
				cases++;
				hits += hit;
				ASSERT_EQ(cold.out_flags, hot.out_flags);
				ASSERT_EQ(cold.bytes_done, hot.bytes_done);
				ASSERT_EQ(0, memcmp(&cold.fault, &hot.fault, sizeof(cold.fault)));
				ASSERT_EQ(cold.seen, hot.seen);
				if (!cold.out_flags && (!(acc & ACC_W) || (pc_accesses[p] & ACC_W)))
					ASSERT_TRUE(hit);
			}
		}
	}
	TH_CONTEXT("%s", "");
	TH_LOG("%d cached cases, %d hits", cases, hits);
	ASSERT_LT(50, cases);
	ASSERT_LT(20, hits);
}

/*
 * TRANSLATE's out_perm says exactly what a request of the same privilege
 * may do: READ, WRITE and EXEC where the DMA of that kind goes through
 * (without WPE a privileged write ignores R/W=0), PRIV where stage 1
 * refuses non-privileged requests. Through a walk and through the caches.
 */
TEST_F(permcache, translate_out_perm_is_what_the_request_may_do)
{
	static const __u32 kinds[] = { ACC_R, ACC_W, ACC_R | EXEC };
	struct nestiommu_walk_step steps[64];
	struct nestiommu_translate xl;
	struct pc_outcome out;
	size_t i, t, k;
	int checked = 0;

	for (i = 0; i < PC_N(pc_pages); i++) {
		bool supervisor = !(pc_pages[i].leaf & NESTIOMMU_S1_PTE_US) ||
				  (pc_pages[i].l2_clear & NESTIOMMU_S1_PTE_US);
		__u64 iova = PC_IOVA + i * SZ_2M;

		for (t = 0; t < PC_N(pc_accesses); t++) {
			__u32 acc = pc_accesses[t], priv = acc & PRIV, want = 0;
			int cached;

			for (k = 0; k < PC_N(kinds); k++) {
				pc_reset(self, i);
				pc_dma(self, i, kinds[k] | priv, &out);
				if (!out.out_flags)
					want |= kinds[k] & ~ACC_R ?: ACC_R;
			}
			if (priv && supervisor)
				want |= PRIV;
			for (cached = 0; cached < 2; cached++) {
				pc_reset(self, i);
				ASSERT_OK(_do_translate(self->e.fd, self->e.dev_id,
							self->e.dma_flags |
							(cached ? 0 : NESTIOMMU_TRANSLATE_NO_CACHE),
							self->e.pasid, acc, iova, steps, 64, &xl));
				if (xl.out_flags)
					continue;
				if (cached) {
					/* now from the cache */
					ASSERT_OK(_do_translate(self->e.fd, self->e.dev_id,
								self->e.dma_flags, self->e.pasid, acc,
								iova, steps, 64, &xl));
					ASSERT_NE(NESTIOMMU_XLATE_WALK, xl.out_source);
				}
				TH_CONTEXT("page '%s' access %#x %s: out_perm %#x, the DMAs allow %#x",
					   pc_pages[i].name, acc, cached ? "cached" : "walk",
					   xl.out_perm, want);
				ASSERT_EQ(want, xl.out_perm);
				checked++;
			}
		}
	}
	TH_CONTEXT("%s", "");
	ASSERT_LT(20, checked);
}

/* ==== HWPT_INVALIDATE validation ==== */

/* An entry with every field given. */
#define IE(c, g, f, p, a, gs, n) \
	{ .cache = (c), .granularity = (g), .flags = (f), .pasid = (p), \
	  .addr = (a), .granule_size = (gs), .nb_granules = (n) }

FIXTURE(inv) {
	struct nest_env e;
};

FIXTURE_SETUP(inv)
{
	env_setup(&self->e, NULL);
	stale_setup(&self->e);
}

FIXTURE_TEARDOWN(inv)
{
	env_teardown(&self->e);
}

TEST_F(inv, bad_entry_errno)
{
	const struct {
		struct nestiommu_inv_entry e;
		int err;
	} bad[] = {
		/* N/A combinations of the cache x granularity table */
		{ IE(DEVTLB, G_DOMAIN, 0, 0, 0, 0, 0), EINVAL },
		{ IE(IOTLB | DEVTLB, G_DOMAIN, 0, 0, 0, 0, 0), EINVAL },
		{ IE(PASIDC, G_ADDR, 0, 0, ENV_IOVA, SZ_4K, 1), EINVAL },
		{ IE(IOTLB | PASIDC, G_ADDR, 0, 0, ENV_IOVA, SZ_4K, 1), EINVAL },
		/* no cache, unknown cache bit, granularity, flag */
		{ IE(0, G_DOMAIN, 0, 0, 0, 0, 0), EINVAL },
		{ IE(1U << 3, G_DOMAIN, 0, 0, 0, 0, 0), EOPNOTSUPP },
		{ IE(IOTLB | 1U << 31, G_DOMAIN, 0, 0, 0, 0, 0), EOPNOTSUPP },
		{ IE(IOTLB, 3, 0, 0, 0, 0, 0), EOPNOTSUPP },
		{ IE(IOTLB, 0xffffffff, 0, 0, 0, 0, 0), EOPNOTSUPP },
		{ IE(IOTLB, G_ADDR, 1U << 1, 0, ENV_IOVA, SZ_4K, 1), EOPNOTSUPP },
		{ IE(IOTLB, G_ADDR, 1U << 3, 0, ENV_IOVA, SZ_4K, 1), EOPNOTSUPP },
		{ IE(IOTLB, G_ADDR, 1U << 31, 0, ENV_IOVA, SZ_4K, 1), EOPNOTSUPP },
		/* flags belong to ADDR only */
		{ IE(IOTLB, G_DOMAIN, F_PASID, 0, 0, 0, 0), EINVAL },
		{ IE(IOTLB, G_PASID, F_LEAF, 0, 0, 0, 0), EINVAL },
		/* ADDR: alignment, granule size, count */
		{ IE(IOTLB, G_ADDR, 0, 0, ENV_IOVA + 0x800, SZ_4K, 1), EINVAL },
		{ IE(IOTLB, G_ADDR, 0, 0, ENV_IOVA + SZ_4K, SZ_2M, 1), EINVAL },
		{ IE(IOTLB, G_ADDR, 0, 0, ENV_IOVA, 0, 1), EINVAL },
		{ IE(IOTLB, G_ADDR, 0, 0, ENV_IOVA, 2048, 1), EINVAL },
		{ IE(IOTLB, G_ADDR, 0, 0, ENV_IOVA, 3 * SZ_4K, 1), EINVAL },
		{ IE(IOTLB, G_ADDR, 0, 0, ENV_IOVA, SZ_4K + 1, 1), EINVAL },
		{ IE(IOTLB, G_ADDR, 0, 0, 0, 1ULL << 58, 1), EINVAL },
		{ IE(IOTLB, G_ADDR, 0, 0, ENV_IOVA, SZ_4K, 0), EINVAL },
		/* ADDR ranges that wrap */
		{ IE(IOTLB, G_ADDR, 0, 0, 127ULL << 57, 1ULL << 57, 2), EOVERFLOW },
		{ IE(IOTLB, G_ADDR, 0, 0, 0, 1ULL << 57, 1ULL << 8), EOVERFLOW },
		{ IE(IOTLB, G_ADDR, 0, 0, ~0xfffULL, SZ_4K, 2), EOVERFLOW },
		{ IE(IOTLB, G_ADDR, 0, 0, 0, SZ_4K, ~0ULL), EOVERFLOW },
	};
	struct nestiommu_xlate_stats before, after;
	size_t i;

	hwpt_stats(&self->e, self->e.nested_id, &before);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		TH_CONTEXT("entry %zu: cache 0x%x granularity %u flags 0x%x addr 0x%llx granule 0x%llx nb %llu",
			   i, bad[i].e.cache, bad[i].e.granularity, bad[i].e.flags,
			   (unsigned long long)bad[i].e.addr,
			   (unsigned long long)bad[i].e.granule_size,
			   (unsigned long long)bad[i].e.nb_granules);
		do_hwpt_invalidate_err(bad[i].err, self->e.fd, self->e.nested_id, &bad[i].e, 1, 0);
	}
	/* None counted. */
	hwpt_stats(&self->e, self->e.nested_id, &after);
	ASSERT_EQ(before.inv_iotlb, after.inv_iotlb);
	ASSERT_EQ(before.inv_dev_iotlb, after.inv_dev_iotlb);
	ASSERT_EQ(before.inv_pasid, after.inv_pasid);
}

/* The valid combinations of the table are accepted. */
TEST_F(inv, valid_combinations_accepted)
{
	const struct nestiommu_inv_entry good[] = {
		IE(IOTLB, G_DOMAIN, 0, 0, 0, 0, 0),
		IE(PASIDC, G_DOMAIN, 0, 0, 0, 0, 0),
		IE(IOTLB | PASIDC, G_DOMAIN, 0, 0, 0, 0, 0),
		IE(IOTLB, G_PASID, 0, 3, 0, 0, 0),
		IE(DEVTLB, G_PASID, 0, 3, 0, 0, 0),
		IE(PASIDC, G_PASID, 0, 3, 0, 0, 0),
		IE(IOTLB | DEVTLB | PASIDC, G_PASID, 0, 3, 0, 0, 0),
		IE(IOTLB, G_ADDR, 0, 0, ENV_IOVA, SZ_4K, 1),
		IE(DEVTLB, G_ADDR, F_PASID | F_LEAF, 3, ENV_IOVA, SZ_2M, 3),
		IE(IOTLB | DEVTLB, G_ADDR, 0, 0, 0, 1ULL << 57, 127),
		IE(IOTLB, G_ADDR, 0, 0, ~0xfffULL, SZ_4K, 1),
	};
	size_t n = sizeof(good) / sizeof(good[0]);

	do_hwpt_invalidate(self->e.fd, self->e.nested_id, good, n);
}

/*
 * Entries are handled in order: a bad entry at index k fails the call with
 * its errno and entry_num k; the entries before it took effect.
 */
TEST_F(inv, entries_handled_in_order)
{
	struct nestiommu_inv_entry inv[3] = {
		inv_entry(PASIDC, G_PASID, 0, ENV_PASID, 0, 0, 0),
		inv_entry(IOTLB, G_DOMAIN, 0, 0, 0, 0, 0),
		inv_entry(DEVTLB, G_DOMAIN, 0, 0, 0, 0, 0),	/* bad */
	};
	struct nestiommu_xlate_stats before, after;

	stale_make(&self->e);
	hwpt_stats(&self->e, self->e.nested_id, &before);
	do_hwpt_invalidate_err(EINVAL, self->e.fd, self->e.nested_id, inv, 3, 2);
	hwpt_stats(&self->e, self->e.nested_id, &after);
	ASSERT_EQ(before.inv_pasid + 1, after.inv_pasid);
	ASSERT_EQ(before.inv_iotlb + 1, after.inv_iotlb);
	ASSERT_EQ(NEW_BYTE, env_read_byte(&self->e, STALE_IOVA));
}

TEST_F(inv, bad_first_entry_handles_nothing)
{
	struct nestiommu_inv_entry inv[2] = {
		inv_entry(0, G_DOMAIN, 0, 0, 0, 0, 0),		/* bad */
		inv_entry(IOTLB, G_DOMAIN, 0, 0, 0, 0, 0),
	};

	stale_make(&self->e);
	do_hwpt_invalidate_err(EINVAL, self->e.fd, self->e.nested_id, inv, 2, 0);
	ASSERT_EQ(OLD_BYTE, env_read_byte(&self->e, STALE_IOVA));
}

/* entry_num 0 only checks data_type and entry_len. */
TEST_F(inv, entry_num_zero_probes)
{
	struct nestiommu_hwpt_invalidate cmd = {
		.size = sizeof(cmd),
		.hwpt_id = self->e.nested_id,
		.data_uptr = 0,
		.data_type = NESTIOMMU_HWPT_INVALIDATE_DATA_NEST,
		.entry_len = sizeof(struct nestiommu_inv_entry),
		.entry_num = 0,
	};

	ASSERT_OK(nest_ioctl(self->e.fd, NESTIOMMU_HWPT_INVALIDATE, &cmd));
	ASSERT_EQ(0, cmd.entry_num);
	cmd.data_type = 0;
	ASSERT_ERR(EOPNOTSUPP, nest_ioctl(self->e.fd, NESTIOMMU_HWPT_INVALIDATE, &cmd));
	cmd.data_type = NESTIOMMU_HWPT_INVALIDATE_DATA_NEST;
	cmd.entry_len = 8;
	ASSERT_ERR(EINVAL, nest_ioctl(self->e.fd, NESTIOMMU_HWPT_INVALIDATE, &cmd));
}

TEST_F(inv, bad_data_type_eopnotsupp)
{
	const __u32 types[] = { 0, 2, 0xffffffff };
	struct nestiommu_inv_entry e = inv_entry(IOTLB, G_DOMAIN, 0, 0, 0, 0, 0);
	size_t i;

	for (i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		struct nestiommu_hwpt_invalidate cmd = {
			.size = sizeof(cmd),
			.hwpt_id = self->e.nested_id,
			.data_uptr = NEST_PTR(&e),
			.data_type = types[i],
			.entry_len = sizeof(e),
			.entry_num = 1,
		};

		TH_CONTEXT("data_type %u", types[i]);
		ASSERT_ERR(EOPNOTSUPP, nest_ioctl(self->e.fd, NESTIOMMU_HWPT_INVALIDATE, &cmd));
	}
}

/* entry_len below the entry's mandatory fields: EINVAL. */
TEST_F(inv, short_entry_len_einval)
{
	const __u32 lens[] = { 0, 4, 8, offsetof(struct nestiommu_inv_entry, nb_granules),
			       sizeof(struct nestiommu_inv_entry) - 1 };
	static char buf[8 * sizeof(struct nestiommu_inv_entry)];
	__u32 num;
	size_t i;

	for (i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		TH_CONTEXT("entry_len %u", lens[i]);
		num = 1;
		ASSERT_ERR(EINVAL, nest_hwpt_invalidate(self->e.fd, self->e.nested_id, buf,
							lens[i], &num));
	}
}

/*
 * entry_len beyond the kernel's entry: the array's stride; a zero tail is
 * fine, a non-zero tail is E2BIG (at that entry's index).
 */
TEST_F(inv, long_entry_len_tail)
{
	struct big_entry {
		struct nestiommu_inv_entry e;
		__u64 tail;
	} big[2] = {
		{ .e = inv_entry(PASIDC, G_PASID, 0, ENV_PASID, 0, 0, 0) },
		{ .e = inv_entry(IOTLB, G_ADDR, 0, 0, STALE_IOVA, SZ_4K, 1) },
	};
	__u32 num = 2;

	stale_make(&self->e);
	ASSERT_OK(nest_hwpt_invalidate(self->e.fd, self->e.nested_id, big, sizeof(big[0]), &num));
	ASSERT_EQ(2, num);
	ASSERT_EQ(NEW_BYTE, env_read_byte(&self->e, STALE_IOVA));

	big[1].tail = 1ULL << 63;
	num = 2;
	ASSERT_ERR(E2BIG, nest_hwpt_invalidate(self->e.fd, self->e.nested_id, big,
					       sizeof(big[0]), &num));
	ASSERT_EQ(1, num);
	big[0].tail = 1;
	num = 2;
	ASSERT_ERR(E2BIG, nest_hwpt_invalidate(self->e.fd, self->e.nested_id, big,
					       sizeof(big[0]), &num));
	ASSERT_EQ(0, num);
}

TEST_F(inv, bad_pointer_efault)
{
	char *hole = alloc_buffer_4k(SZ_64K, SZ_4K);
	__u32 num = 1;

	ASSERT_EQ(0, munmap(hole, SZ_64K));
	ASSERT_ERR(EFAULT, nest_hwpt_invalidate(self->e.fd, self->e.nested_id, hole,
						sizeof(struct nestiommu_inv_entry), &num));
	ASSERT_EQ(0, num);
}

TEST_F(inv, wrong_object_enoent)
{
	struct nestiommu_inv_entry e = inv_entry(IOTLB, G_DOMAIN, 0, 0, 0, 0, 0);
	const __u32 ids[] = { self->e.ioas_id, self->e.dev_id, self->e.nested_id + 1000, 0 };
	size_t i;
	__u32 num;

	for (i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
		TH_CONTEXT("id %u", ids[i]);
		num = 1;
		ASSERT_ERR(ENOENT, nest_hwpt_invalidate(self->e.fd, ids[i], &e, sizeof(e), &num));
	}
}
