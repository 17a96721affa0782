// SPDX-License-Identifier: GPL-2.0
/*
 * cache.c - IOTLB / device TLB, PASID cache and the invalidation matcher
 * (see cache.h). xlate.c puts caches and walks together.
 *
 * Terms: an entry "covers" [iova, iova + 2^shift - 1]; ranges given to the
 * matchers are turned into an inclusive [first, last] before comparing.
 */
#include "cache.h"

static const u8 tlb_shifts[] = { 12, 21, 30 };

static inline u32 tlb_set(const struct nest_tlb *tlb, u32 hwpt_id, u32 pasid,
			  u64 iova, unsigned int shift)
{
	u64 h = (iova >> shift) * 0x9e3779b97f4a7c15ULL;

	h ^= ((u64)hwpt_id << 32 | pasid) * 0xc2b2ae3d27d4eb4fULL;
	h ^= shift;
	h ^= h >> 29;
	return (u32)(h ^ (h >> 32)) & (tlb->nr_sets - 1);
}

static inline struct nest_tlb_entry *tlb_way0(struct nest_tlb *tlb, u32 set)
{
	return &tlb->entries[(u64)set * tlb->ways];
}

static inline u32 *tlb_bucket(struct nest_tlb *tlb, u32 hwpt_id)
{
	return &tlb->tag_head[hwpt_id & (NEST_TLB_TAG_BUCKETS - 1)];
}

/* The entry a link (index + 1) names, or NULL for 0. */
static inline struct nest_tlb_entry *tlb_link_entry(struct nest_tlb *tlb,
						    u32 link)
{
	return link ? &tlb->entries[link - 1] : NULL;
}

/* Make @e valid and put it on its bucket's list. */
static void tlb_entry_link(struct nest_tlb *tlb, struct nest_tlb_entry *e)
{
	u32 *head = tlb_bucket(tlb, e->hwpt_id);
	u32 self = (u32)(e - tlb->entries) + 1;

	e->flags |= NEST_TLB_F_VALID;
	e->tag_prev = 0;
	e->tag_next = *head;
	if (*head)
		tlb_link_entry(tlb, *head)->tag_prev = self;
	*head = self;
	tlb->nr_valid++;
}

/* Make the valid entry @e invalid and take it off its bucket's list. */
static void tlb_entry_unlink(struct nest_tlb *tlb, struct nest_tlb_entry *e)
{
	if (e->tag_prev)
		tlb_link_entry(tlb, e->tag_prev)->tag_next = e->tag_next;
	else
		*tlb_bucket(tlb, e->hwpt_id) = e->tag_next;
	if (e->tag_next)
		tlb_link_entry(tlb, e->tag_next)->tag_prev = e->tag_prev;
	e->flags = 0;
	tlb->nr_valid--;
}

/**
 * nest_tlb_init() - set up an empty TLB in caller-provided storage
 * @tlb: the TLB
 * @entries: storage for @nr_entries entries
 * @nr_entries: capacity; @nr_entries / @ways must be a power of two
 * @ways: associativity, at least 1 (@nr_entries: fully associative)
 *
 * Return: 0 or -EINVAL.
 */
int nest_tlb_init(struct nest_tlb *tlb, struct nest_tlb_entry *entries,
		  u32 nr_entries, u32 ways)
{
	u32 sets;

	if (!ways || !nr_entries || nr_entries % ways)
		return -EINVAL;
	sets = nr_entries / ways;
	if (sets & (sets - 1))
		return -EINVAL;
	memset(entries, 0, sizeof(*entries) * nr_entries);
	memset(tlb, 0, sizeof(*tlb));
	tlb->entries = entries;
	tlb->nr_sets = sets;
	tlb->ways = ways;
	return 0;
}

/**
 * nest_tlb_lookup() - find the translation of @iova
 * @tlb: the TLB (exclusive access)
 * @hwpt_id: tag
 * @pasid: tag
 * @iova: any address inside the page
 *
 * Return: the entry (valid until the next call changing @tlb), or NULL.
 */
const struct nest_tlb_entry *nest_tlb_lookup(struct nest_tlb *tlb,
					     u32 hwpt_id, u32 pasid, u64 iova)
{
	unsigned int i, w;

	for (i = 0; i < ARRAY_SIZE(tlb_shifts); i++) {
		unsigned int shift = tlb_shifts[i];
		u64 base = iova & ~(BIT_ULL(shift) - 1);
		struct nest_tlb_entry *e;

		e = tlb_way0(tlb, tlb_set(tlb, hwpt_id, pasid, base, shift));
		for (w = 0; w < tlb->ways; w++, e++) {
			if ((e->flags & NEST_TLB_F_VALID) &&
			    e->iova == base && e->shift == shift &&
			    e->hwpt_id == hwpt_id && e->pasid == pasid) {
				e->stamp = ++tlb->clock;
				tlb->hits++;
				return e;
			}
		}
	}
	tlb->misses++;
	return NULL;
}

/**
 * nest_tlb_insert() - cache a translation
 * @tlb: the TLB (exclusive access)
 * @new: the entry; @new->iova must be aligned to 1 << @new->shift and
 *	@new->shift one of 12, 21, 30
 *
 * An entry with the same key is replaced; else a free way of the set; else
 * the least recently used way is evicted.
 */
void nest_tlb_insert(struct nest_tlb *tlb, const struct nest_tlb_entry *new)
{
	struct nest_tlb_entry *e, *victim = NULL;
	unsigned int w;

	e = tlb_way0(tlb, tlb_set(tlb, new->hwpt_id, new->pasid, new->iova,
				  new->shift));
	for (w = 0; w < tlb->ways; w++, e++) {
		if (!(e->flags & NEST_TLB_F_VALID)) {
			if (!victim || (victim->flags & NEST_TLB_F_VALID))
				victim = e;
			continue;
		}
		if (e->iova == new->iova && e->shift == new->shift &&
		    e->hwpt_id == new->hwpt_id && e->pasid == new->pasid) {
			victim = e;
			break;
		}
		if (!victim || ((victim->flags & NEST_TLB_F_VALID) &&
				e->stamp < victim->stamp))
			victim = e;
	}
	if (victim->flags & NEST_TLB_F_VALID) {
		if (!(victim->iova == new->iova && victim->shift == new->shift &&
		      victim->hwpt_id == new->hwpt_id &&
		      victim->pasid == new->pasid))
			tlb->evictions++;
		tlb_entry_unlink(tlb, victim);
	}
	*victim = *new;
	tlb_entry_link(tlb, victim);
	victim->stamp = ++tlb->clock;
}

/**
 * nest_tlb_drop_entry() - drop one entry returned by nest_tlb_lookup()
 * @tlb: the TLB (exclusive access)
 * @e: the entry
 */
void nest_tlb_drop_entry(struct nest_tlb *tlb, const struct nest_tlb_entry *e)
{
	tlb_entry_unlink(tlb, &tlb->entries[e - tlb->entries]);
}

static inline bool range_overlap(u64 a_first, u64 a_last, u64 b_first,
				 u64 b_last)
{
	return a_first <= b_last && b_first <= a_last;
}

/**
 * nest_tlb_drop_s2() - drop every entry that used a stage-2 range
 * @tlb: the TLB (exclusive access)
 * @s2_id: the stage-2 table that changed
 * @gpa: first GPA
 * @length: bytes (0 drops nothing; a range wrapping past 2^64 is clamped)
 *
 * Call after nest_s2_unmap() and after clearing dirty bits. Drops entries
 * whose output or any of whose stage-1 table pages lies in the range,
 * nested translations included.
 *
 * Return: entries dropped.
 */
u32 nest_tlb_drop_s2(struct nest_tlb *tlb, u32 s2_id, u64 gpa, u64 length)
{
	u64 last, i, n = (u64)tlb->nr_sets * tlb->ways;
	u32 dropped = 0;

	if (!length || !tlb->nr_valid)
		return 0;
	if (check_add_overflow(gpa, length - 1, &last))
		last = ~0ULL;
	for (i = 0; i < n; i++) {
		struct nest_tlb_entry *e = &tlb->entries[i];
		bool hit;
		int t;

		if (!(e->flags & NEST_TLB_F_VALID) || e->s2_id != s2_id)
			continue;
		hit = range_overlap(e->gpa, e->gpa + BIT_ULL(e->shift) - 1,
				    gpa, last);
		for (t = 0; !hit && t < e->nr_tables; t++)
			hit = range_overlap(e->table_gpa[t],
					    e->table_gpa[t] + NEST_PAGE_SIZE - 1,
					    gpa, last);
		if (hit) {
			tlb_entry_unlink(tlb, e);
			dropped++;
		}
	}
	return dropped;
}

/**
 * nest_tlb_count() - number of valid entries
 * @tlb: the TLB
 *
 * Return: valid entries.
 */
u32 nest_tlb_count(const struct nest_tlb *tlb)
{
	u64 i, n = (u64)tlb->nr_sets * tlb->ways;
	u32 c = 0;

	for (i = 0; i < n; i++)
		c += !!(tlb->entries[i].flags & NEST_TLB_F_VALID);
	return c;
}

/**
 * nest_pasid_cache_init() - set up an empty PASID cache
 * @pc: the cache
 * @entries: storage for @nr entries
 * @nr: capacity, at least 1
 *
 * Return: 0 or -EINVAL.
 */
int nest_pasid_cache_init(struct nest_pasid_cache *pc,
			  struct nest_pasid_entry *entries, u32 nr)
{
	if (!nr)
		return -EINVAL;
	memset(entries, 0, sizeof(*entries) * nr);
	memset(pc, 0, sizeof(*pc));
	pc->entries = entries;
	pc->nr = nr;
	return 0;
}

/**
 * nest_pasid_cache_lookup() - find the cached descriptor of @pasid
 * @pc: the cache (exclusive access)
 * @pasid: the key
 *
 * Return: the entry or NULL.
 */
const struct nest_pasid_entry *
nest_pasid_cache_lookup(struct nest_pasid_cache *pc, u32 pasid)
{
	u32 i;

	for (i = 0; i < pc->nr; i++) {
		struct nest_pasid_entry *e = &pc->entries[i];

		if (e->valid && e->pasid == pasid) {
			e->stamp = ++pc->clock;
			pc->hits++;
			return e;
		}
	}
	pc->misses++;
	return NULL;
}

/**
 * nest_pasid_cache_insert() - cache the descriptor of @pasid
 * @pc: the cache (exclusive access)
 * @pasid: the key
 * @hwpt_id: the HWPT @pasid is attached to
 * @desc: the descriptor, copied
 *
 * Replaces the entry of @pasid, else a free one, else the LRU one.
 */
void nest_pasid_cache_insert(struct nest_pasid_cache *pc, u32 pasid,
			     u32 hwpt_id, const struct nest_s1_desc *desc)
{
	struct nest_pasid_entry *victim = NULL;
	u32 i;

	for (i = 0; i < pc->nr; i++) {
		struct nest_pasid_entry *e = &pc->entries[i];

		if (e->valid && e->pasid == pasid) {
			victim = e;
			break;
		}
		if (!victim || (victim->valid &&
				(!e->valid || e->stamp < victim->stamp)))
			victim = e;
	}
	victim->desc = *desc;
	victim->pasid = pasid;
	victim->hwpt_id = hwpt_id;
	victim->valid = true;
	victim->stamp = ++pc->clock;
}

/**
 * nest_inv_check() - validate an invalidation request
 * @inv: the request
 *
 * The cache type x granularity table of the vSVA uAPI: DOMAIN x DEV_IOTLB
 * and ADDR x PASID cache are N/A; when several caches are named, all must
 * support the granularity.
 *
 * Return: 0; -EOPNOTSUPP for unknown cache bits, granularity or flags;
 * -EINVAL for an empty cache mask, an N/A combination, flags outside ADDR,
 * a bad granule size, a misaligned address or zero granules; -EOVERFLOW when
 * the ADDR range wraps.
 */
int nest_inv_check(const struct nest_inv *inv)
{
	u64 len, last;

	if ((inv->cache & ~(u32)NEST_INV_CACHE_MASK) ||
	    inv->granu >= NEST_INV_GRANU_NR ||
	    (inv->flags & ~(u32)NEST_INV_F_MASK))
		return -EOPNOTSUPP;
	if (!inv->cache)
		return -EINVAL;
	switch (inv->granu) {
	case NEST_INV_GRANU_DOMAIN:
		if (inv->cache & NEST_INV_CACHE_DEV_IOTLB)
			return -EINVAL;
		fallthrough;
	case NEST_INV_GRANU_PASID:
		if (inv->flags)
			return -EINVAL;
		return 0;
	default:	/* NEST_INV_GRANU_ADDR */
		if (inv->cache & NEST_INV_CACHE_PASID)
			return -EINVAL;
		if (inv->granule_size < NEST_PAGE_SIZE ||
		    inv->granule_size > BIT_ULL(57) ||
		    (inv->granule_size & (inv->granule_size - 1)) ||
		    !inv->nb_granules ||
		    !IS_ALIGNED(inv->addr, inv->granule_size))
			return -EINVAL;
		if (check_mul_overflow(inv->granule_size, inv->nb_granules,
				       &len) ||
		    check_add_overflow(inv->addr, len - 1, &last))
			return -EOVERFLOW;
		return 0;
	}
}

static bool inv_tlb_match(const struct nest_inv *inv,
			  const struct nest_tlb_entry *e, u64 last)
{
	if (e->hwpt_id != inv->hwpt_id)
		return false;
	switch (inv->granu) {
	case NEST_INV_GRANU_DOMAIN:
		return true;
	case NEST_INV_GRANU_PASID:
		return e->pasid == inv->pasid;
	default:
		if ((inv->flags & NEST_INV_F_PASID) && e->pasid != inv->pasid)
			return false;
		return range_overlap(e->iova, e->iova + BIT_ULL(e->shift) - 1,
				     inv->addr, last);
	}
}

/* Visits only the entries of @inv->hwpt_id's bucket (see struct nest_tlb). */
static u32 inv_tlb(const struct nest_inv *inv, struct nest_tlb *tlb, u64 last)
{
	struct nest_tlb_entry *e, *next;
	u32 dropped = 0;

	for (e = tlb_link_entry(tlb, *tlb_bucket(tlb, inv->hwpt_id)); e;
	     e = next) {
		next = tlb_link_entry(tlb, e->tag_next);
		if (inv_tlb_match(inv, e, last)) {
			tlb_entry_unlink(tlb, e);
			dropped++;
		}
	}
	return dropped;
}

static u32 inv_pasid_cache(const struct nest_inv *inv,
			   struct nest_pasid_cache *pc)
{
	u32 i, dropped = 0;

	for (i = 0; i < pc->nr; i++) {
		struct nest_pasid_entry *e = &pc->entries[i];

		if (!e->valid || e->hwpt_id != inv->hwpt_id)
			continue;
		if (inv->granu == NEST_INV_GRANU_PASID &&
		    e->pasid != inv->pasid)
			continue;
		e->valid = false;
		dropped++;
	}
	return dropped;
}

/**
 * nest_inv_match() - carry out one invalidation request
 * @inv: the request, checked here with nest_inv_check()
 * @iotlb: the IOTLB, used if @inv->cache has NEST_INV_CACHE_IOTLB
 * @devtlb: the device TLB, or NULL (a device without ATS: nothing to drop)
 * @pc: the PASID cache, or NULL
 * @dropped: out, entries dropped over all caches
 *
 * Every cache named by @inv->cache drops the entries of @inv->hwpt_id that
 * match the granularity: all (DOMAIN), those of @inv->pasid (PASID), those
 * overlapping [addr, addr + granule_size * nb_granules) and, with
 * NEST_INV_F_PASID, of @inv->pasid (ADDR). Callers hold every cache passed
 * exclusively.
 *
 * Return: 0 or the errno of nest_inv_check() (then nothing is dropped).
 */
int nest_inv_match(const struct nest_inv *inv, struct nest_tlb *iotlb,
		   struct nest_tlb *devtlb, struct nest_pasid_cache *pc,
		   u32 *dropped)
{
	u64 last = 0;
	int ret;

	*dropped = 0;
	ret = nest_inv_check(inv);
	if (ret)
		return ret;
	if (inv->granu == NEST_INV_GRANU_ADDR)
		last = inv->addr + inv->granule_size * inv->nb_granules - 1;
	if ((inv->cache & NEST_INV_CACHE_IOTLB) && iotlb)
		*dropped += inv_tlb(inv, iotlb, last);
	if ((inv->cache & NEST_INV_CACHE_DEV_IOTLB) && devtlb)
		*dropped += inv_tlb(inv, devtlb, last);
	if ((inv->cache & NEST_INV_CACHE_PASID) && pc)
		*dropped += inv_pasid_cache(inv, pc);
	return 0;
}
