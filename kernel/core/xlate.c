// SPDX-License-Identifier: GPL-2.0
/*
 * xlate.c - nest_translate(): one request through the caches
 * (nest_xlate_lookup()), then a walk whose result fills them
 * (nest_xlate_walk()); see xlate.h.
 */
#include "xlate.h"

/*
 * May @e serve @access? The walk's own check (nest_perm_check()) on what
 * the walk found, and a write needs an entry a write filled (its D and
 * dirty bits are set).
 */
static bool tlb_hit_ok(const struct nest_tlb_entry *e, u32 access)
{
	return !nest_perm_check(e->perm, access) &&
	       (!(access & NEST_ACC_WRITE) || (e->flags & NEST_TLB_F_WRITTEN));
}

static void xlate_hit(struct nest_xlate_res *res,
		      const struct nest_tlb_entry *e, u64 iova, u8 source)
{
	res->ofn = e->ofn + ((iova - e->iova) >> NEST_PAGE_SHIFT);
	res->gpa = e->gpa + (iova - e->iova);
	res->perm = e->perm;
	res->source = source;
	res->page_shift = e->shift;
	res->mem_refs = 0;
	res->s1_levels = 0;
	res->s2_level = 0;
}

/**
 * nest_xlate_lookup() - the caches' part of nest_translate()
 * @x: the caches and tables of the device's attachment
 * @pasid: the request's PASID (NEST_PASID_NONE without)
 * @iova: the input address
 * @access: NEST_ACC_*
 * @res: out, on a hit
 *
 * The device TLB (if @x->devtlb), then the IOTLB; an IOTLB hit fills the
 * device TLB. A hit that does not allow @access is dropped and the next
 * level tried (see cache.h). With NEST_WALK_F_NO_UPDATE in @x->walk_flags
 * no cache is looked up. Caller holds both TLBs exclusively.
 *
 * Return: true on a hit; false: translate with nest_xlate_walk().
 */
bool nest_xlate_lookup(const struct nest_xlate *x, u32 pasid, u64 iova,
		       u32 access, struct nest_xlate_res *res)
{
	const struct nest_tlb_entry *e;

	/* one test for both: the common translation has neither */
	if (unlikely(x->walk_flags || x->trace)) {
		if (x->walk_flags & NEST_WALK_F_NO_UPDATE)
			return false;
		if (x->trace)
			x->trace->nr = 0;	/* stays 0 on a hit */
	}
	if (x->devtlb) {
		e = nest_tlb_lookup(x->devtlb, x->hwpt_id, pasid, iova);
		if (e) {
			if (likely(tlb_hit_ok(e, access))) {
				xlate_hit(res, e, iova, NEST_XLATE_DEVTLB);
				return true;
			}
			nest_tlb_drop_entry(x->devtlb, e);
		}
	}
	e = nest_tlb_lookup(x->iotlb, x->hwpt_id, pasid, iova);
	if (e) {
		if (likely(tlb_hit_ok(e, access))) {
			xlate_hit(res, e, iova, NEST_XLATE_IOTLB);
			if (x->devtlb)
				nest_tlb_insert(x->devtlb, e);
			return true;
		}
		nest_tlb_drop_entry(x->iotlb, e);
	}
	return false;
}

/**
 * nest_xlate_walk() - the walk of nest_translate(), after the caches missed
 * @x, @pasid, @iova, @access: as for nest_xlate_lookup()
 * @res: out, on success
 * @fault: out, on -EFAULT
 *
 * A nested walk if @x->s1, else stage 2 only; its result fills the IOTLB
 * and the device TLB, unless NEST_WALK_F_NO_UPDATE (see struct
 * nest_xlate). Caller holds both TLBs exclusively and @x->s2 shared.
 *
 * Return: 0 or -EFAULT.
 */
int nest_xlate_walk(const struct nest_xlate *x, u32 pasid, u64 iova,
		    u32 access, struct nest_xlate_res *res,
		    struct nest_fault *fault)
{
	struct nest_tlb_entry ne;
	struct nest_walk_res w;
	int ret;

	if (x->s1)
		ret = nest_s1_walk_ext(x->s2, x->s1, iova, access,
				       x->walk_flags, &w, fault, x->trace);
	else
		ret = nest_s2_translate_ext(x->s2, iova, access, x->walk_flags,
					    &w, fault, x->trace);
	if (ret)
		return ret;

	res->ofn = w.ofn;
	res->gpa = w.gpa;
	res->perm = w.perm;
	res->source = NEST_XLATE_WALK;
	res->page_shift = w.page_shift;
	res->mem_refs = w.mem_refs;
	res->s1_levels = w.s1_levels;
	res->s2_level = w.s2_level;
	/* no A/D or dirty bit was set: nothing a later request may reuse */
	if (x->walk_flags & NEST_WALK_F_NO_UPDATE)
		return 0;

	memset(&ne, 0, sizeof(ne));
	ne.iova = iova & ~(BIT_ULL(w.page_shift) - 1);
	ne.ofn = w.ofn - ((iova - ne.iova) >> NEST_PAGE_SHIFT);
	ne.gpa = w.gpa & ~(BIT_ULL(w.page_shift) - 1);
	ne.nr_tables = w.nr_tables;
	memcpy(ne.table_gpa, w.table_gpa, sizeof(ne.table_gpa));
	ne.hwpt_id = x->hwpt_id;
	ne.pasid = pasid;
	ne.s2_id = x->s2_id;
	ne.shift = w.page_shift;
	ne.perm = w.perm;
	ne.flags = (access & NEST_ACC_WRITE) ? NEST_TLB_F_WRITTEN : 0;
	nest_tlb_insert(x->iotlb, &ne);
	if (x->devtlb)
		nest_tlb_insert(x->devtlb, &ne);
	return 0;
}

/**
 * nest_translate() - translate one request through caches, then a walk
 * @x: the caches and tables of the device's attachment
 * @pasid: the request's PASID (NEST_PASID_NONE without)
 * @iova: the input address
 * @access: NEST_ACC_*
 * @res: out, on success
 * @fault: out, on -EFAULT
 *
 * nest_xlate_lookup(), then nest_xlate_walk() if the caches missed. With
 * NEST_WALK_F_NO_UPDATE in @x->walk_flags only the walk is made, and it
 * writes nothing (see struct nest_xlate). Caller holds both TLBs
 * exclusively and @x->s2 shared.
 *
 * Return: 0 or -EFAULT.
 */
int nest_translate(const struct nest_xlate *x, u32 pasid, u64 iova,
		   u32 access, struct nest_xlate_res *res,
		   struct nest_fault *fault)
{
	if (nest_xlate_lookup(x, pasid, iova, access, res))
		return 0;
	return nest_xlate_walk(x, pasid, iova, access, res, fault);
}
