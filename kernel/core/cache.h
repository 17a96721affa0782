/* SPDX-License-Identifier: GPL-2.0 */
/*
 * cache.h - translation caches and their invalidation.
 *
 * Caches:
 *  - struct nest_tlb: a set-associative cache of final translations keyed
 *    by (hwpt id, PASID, input page, page size). One type, two uses: the
 *    IOTLB (one per IOMMU, shared by every HWPT) and the device TLB (one
 *    per ATS-capable device). An entry holds the ofn of its first page, the
 *    permissions of the descriptor and both stages together (NEST_PERM_*:
 *    all that a walk checks a request against), whether it was filled by
 *    a write (then the stage-1 D bit and the stage-2 dirty bit are set),
 *    and the stage-2 parent id plus every GPA the walk used (output and
 *    stage-1 table pages), so a stage-2 unmap drops all that derives from
 *    it.
 *  - struct nest_pasid_cache: a small fully-associative cache of stage-1
 *    descriptors keyed by PASID (one per device).
 *
 * Replacement: nr_entries / ways sets (a power of two), the set chosen by a
 * hash of the key, LRU within a set (a 64-bit use stamp per entry). The
 * PASID cache is one set (LRU over all entries). Storage is given by the
 * caller (nest_tlb_init()); the core allocates nothing.
 *
 * Lookups probe 4 KiB, then 2 MiB, then 1 GiB entries. Entries stay until
 * invalidated or evicted: after user space rewrites a stage-1 PTE without
 * invalidating, the stale translation keeps being used, as on hardware.
 * A hit is checked as the walk checks (nest_perm_check()). Like x86, a hit
 * that does not allow the access (or a write hit on an entry not filled by
 * a write) drops that entry and walks again: the walk reports the fault.
 *
 * Invalidation: nest_inv_match() is the one place that decides which
 * entries an invalidation descriptor drops; nest_tlb_drop_s2() is what the
 * driver calls after a stage-2 unmap or a dirty-bit clear.
 *
 * Locking: every call on a cache needs exclusive access to that cache
 * (lookups update LRU stamps and statistics).
 */
#ifndef _NEST_CORE_CACHE_H
#define _NEST_CORE_CACHE_H

#include "walk.h"

#define NEST_TLB_F_VALID	BIT(0)
#define NEST_TLB_F_WRITTEN	BIT(1)	/* filled by a write walk */

/* Buckets of HWPT ids linking valid TLB entries (a power of two). */
#define NEST_TLB_TAG_BUCKETS	64

/**
 * struct nest_tlb_entry - one cached translation
 * @iova: input address of the first byte, aligned to 1 << @shift
 * @ofn: frame of the first 4 KiB page
 * @gpa: stage-2 input address of the first byte
 * @table_gpa: stage-1 table pages used by the walk (@nr_tables of them)
 * @stamp: LRU use stamp
 * @hwpt_id: the HWPT (domain) the translation belongs to
 * @pasid: the PASID (NEST_PASID_NONE for requests without PASID)
 * @s2_id: id of the stage-2 table the walk went through
 * @shift: log2 of the size (12, 21 or 30)
 * @perm: NEST_PERM_* (descriptor and both stages)
 * @flags: NEST_TLB_F_*
 * @nr_tables: entries used in @table_gpa
 * @tag_next: next valid entry of the same tag bucket (index + 1, 0: none)
 * @tag_prev: previous one, likewise
 */
struct nest_tlb_entry {
	u64 iova;
	u64 ofn;
	u64 gpa;
	u64 table_gpa[NEST_S1_MAX_LEVELS];
	u64 stamp;
	u32 hwpt_id;
	u32 pasid;
	u32 s2_id;
	u8 shift;
	u8 perm;
	u8 flags;
	u8 nr_tables;
	u32 tag_next;
	u32 tag_prev;
};

/* = NESTIOMMU_PASID_NONE of the uAPI (checked in kernel/nest_priv.h) */
#define NEST_PASID_NONE		0xffffffffU

/**
 * struct nest_tlb - an IOTLB or a device TLB
 * @entries: caller-provided storage, @nr_sets * @ways entries
 * @nr_sets: a power of two
 * @ways: entries per set
 * @clock: last LRU stamp given
 * @hits: lookups that hit
 * @misses: lookups that missed
 * @evictions: valid entries replaced by an insert
 * @nr_valid: valid entries
 * @tag_head: per bucket of HWPT ids (id % NEST_TLB_TAG_BUCKETS), the
 *	first valid entry of the bucket (index + 1, 0: none)
 *
 * The valid entries of each bucket are linked, so an invalidation visits
 * only the entries of its HWPT (and of the HWPTs sharing its bucket), not
 * the whole TLB.
 */
struct nest_tlb {
	struct nest_tlb_entry *entries;
	u32 nr_sets;
	u32 ways;
	u64 clock;
	u64 hits;
	u64 misses;
	u64 evictions;
	u32 nr_valid;
	u32 tag_head[NEST_TLB_TAG_BUCKETS];
};

/**
 * struct nest_pasid_entry - one cached stage-1 descriptor
 * @desc: snapshot of the descriptor
 * @stamp: LRU use stamp
 * @pasid: the key
 * @hwpt_id: the nested HWPT the PASID is attached to
 * @valid: the entry is in use
 */
struct nest_pasid_entry {
	struct nest_s1_desc desc;
	u64 stamp;
	u32 pasid;
	u32 hwpt_id;
	bool valid;
};

/**
 * struct nest_pasid_cache - PASID cache of one device
 * @entries: caller-provided storage
 * @nr: number of entries
 * @clock: last LRU stamp given
 * @hits: lookups that hit
 * @misses: lookups that missed
 */
struct nest_pasid_cache {
	struct nest_pasid_entry *entries;
	u32 nr;
	u64 clock;
	u64 hits;
	u64 misses;
};

/* struct nest_inv.cache: which caches (a mask, as the vSVA uAPI) */
#define NEST_INV_CACHE_IOTLB		BIT(0)
#define NEST_INV_CACHE_DEV_IOTLB	BIT(1)
#define NEST_INV_CACHE_PASID		BIT(2)
#define NEST_INV_CACHE_MASK		GENMASK_ULL(2, 0)

/**
 * enum nest_inv_granu - granularity, as enum iommu_inv_granularity
 * @NEST_INV_GRANU_DOMAIN: everything of the HWPT
 * @NEST_INV_GRANU_PASID: everything of one PASID of the HWPT
 * @NEST_INV_GRANU_ADDR: an address range of the HWPT
 * @NEST_INV_GRANU_NR: number of granularities
 */
enum nest_inv_granu {
	NEST_INV_GRANU_DOMAIN,
	NEST_INV_GRANU_PASID,
	NEST_INV_GRANU_ADDR,
	NEST_INV_GRANU_NR,
};

/* struct nest_inv.flags (ADDR granularity only) */
#define NEST_INV_F_PASID	BIT(0)	/* match @pasid; else every PASID */
#define NEST_INV_F_LEAF		BIT(2)	/* only leaf PTEs changed */
#define NEST_INV_F_MASK		(NEST_INV_F_PASID | NEST_INV_F_LEAF)

/**
 * struct nest_inv - one invalidation request
 * @cache: NEST_INV_CACHE_* mask, not empty
 * @granu: enum nest_inv_granu
 * @flags: NEST_INV_F_*, only with NEST_INV_GRANU_ADDR
 * @hwpt_id: the HWPT (domain) whose entries are invalidated
 * @pasid: the PASID (PASID granularity, or ADDR with NEST_INV_F_PASID)
 * @addr: first input address (ADDR), aligned to @granule_size
 * @granule_size: a power of two from 4 KiB to 2^57 (ADDR)
 * @nb_granules: number of granules, at least 1 (ADDR)
 *
 * There are no paging-structure caches, so LEAF and non-LEAF drop the same
 * entries: every translation overlapping the range.
 */
struct nest_inv {
	u32 cache;
	u32 granu;
	u32 flags;
	u32 hwpt_id;
	u32 pasid;
	u64 addr;
	u64 granule_size;
	u64 nb_granules;
};

int nest_tlb_init(struct nest_tlb *tlb, struct nest_tlb_entry *entries,
		  u32 nr_entries, u32 ways);
const struct nest_tlb_entry *nest_tlb_lookup(struct nest_tlb *tlb,
					     u32 hwpt_id, u32 pasid,
					     u64 iova);
void nest_tlb_insert(struct nest_tlb *tlb, const struct nest_tlb_entry *new);
void nest_tlb_drop_entry(struct nest_tlb *tlb,
			 const struct nest_tlb_entry *e);
u32 nest_tlb_drop_s2(struct nest_tlb *tlb, u32 s2_id, u64 gpa, u64 length);
u32 nest_tlb_count(const struct nest_tlb *tlb);

int nest_pasid_cache_init(struct nest_pasid_cache *pc,
			  struct nest_pasid_entry *entries, u32 nr);
const struct nest_pasid_entry *
nest_pasid_cache_lookup(struct nest_pasid_cache *pc, u32 pasid);
void nest_pasid_cache_insert(struct nest_pasid_cache *pc, u32 pasid,
			     u32 hwpt_id, const struct nest_s1_desc *desc);

int nest_inv_check(const struct nest_inv *inv);
int nest_inv_match(const struct nest_inv *inv, struct nest_tlb *iotlb,
		   struct nest_tlb *devtlb, struct nest_pasid_cache *pc,
		   u32 *dropped);

#endif /* _NEST_CORE_CACHE_H */
