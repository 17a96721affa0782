// SPDX-License-Identifier: GPL-2.0
/*
 * The translation step, DMA's and TRANSLATE's: find the HWPT attached at
 * the request's PASID (or RID) and hold it, nest_hook_translate, the PASID
 * cache, the caches and walk (core/xlate.c), statistics, tracing, the
 * stale-translation auditor, and the fault's report: to the fault queue,
 * or to pri.c when the device may ask a page for it.
 *
 * A step takes the HWPT's IOAS's iova_rwsem for read, then translates
 * under the IOMMU lock (a spinlock: nothing here sleeps), and keeps
 * iova_rwsem until nest_xlate_end(): UNMAP, which takes it for write,
 * therefore never unpins a page a DMA is copying to (dma.c), and no DMA
 * reaches a page once UNMAP has returned.
 */
#include <linux/sched.h>

#include "fault.h"
#include "nest_priv.h"
#include "pri.h"
#include "trace.h"
#include "xlate.h"

/* The core's fault as the uAPI reports it (the same values). */
void nest_fault_to_user(struct nestiommu_fault_info *info,
			const struct nest_fault *fault)
{
	BUILD_BUG_ON(NESTIOMMU_FAULT_F_GPA_VALID != NEST_FAULT_F_GPA_VALID ||
		     NESTIOMMU_FAULT_F_TABLE_FETCH != NEST_FAULT_F_TABLE_FETCH ||
		     NESTIOMMU_FAULT_F_RSVD != NEST_FAULT_F_RSVD ||
		     NESTIOMMU_FAULT_F_AD_UPDATE != NEST_FAULT_F_AD_UPDATE);
	BUILD_BUG_ON((int)NESTIOMMU_FAULT_REASON_PTE_FETCH !=
		     NEST_FAULT_REASON_PTE_FETCH ||
		     (int)NESTIOMMU_FAULT_REASON_OOR_ADDRESS !=
		     NEST_FAULT_REASON_OOR_ADDRESS);
	*info = (struct nestiommu_fault_info) {
		.addr = fault->addr,
		.fetch_addr = fault->gpa,
		.reason = fault->reason,
		.stage = fault->stage,
		.level = fault->level,
		.s1_level = fault->s1_level,
		.flags = fault->flags,
		.access = fault->access,
	};
}

/* Count a fault on @stats; reasons and stages come from the core. */
static void nest_stats_fault(struct nestiommu_xlate_stats *stats,
			     const struct nest_fault *fault)
{
	if (fault->stage >= 1 && fault->stage <= 2 &&
	    fault->reason < NESTIOMMU_FAULT_REASON_SLOTS)
		stats->faults[fault->stage - 1][fault->reason]++;
}

/*
 * A fault nothing was attached to translate with: count it on the device
 * and trace it. IOMMU lock not held.
 */
static void nest_fault_pasid_invalid(struct nest_device *dev, u32 key,
				     u64 iova, u32 access,
				     struct nest_fault *fault)
{
	struct nest_iommu *iommu = &dev->ctx->iommu;

	nest_fault_init(fault, 1, NEST_FAULT_REASON_PASID_INVALID, 0, iova,
			access);
	spin_lock(&iommu->lock);
	dev->stats.translations++;
	nest_stats_fault(&dev->stats, fault);
	spin_unlock(&iommu->lock);
	trace_nest_fault(dev->obj.id, key, 0, fault, dev->ctx->owner_pid);
}

/*
 * The stage-1 descriptor of a nested HWPT, through the PASID cache.
 * IOMMU lock held.
 */
static const struct nest_s1_desc *nest_pasid_desc(struct nest_xlate_req *req)
{
	struct nest_device *dev = req->dev;
	struct nest_hwpt *hwpt = req->hwpt;
	const struct nest_pasid_entry *pe;

	lockdep_assert_held(&dev->ctx->iommu.lock);
	if (req->no_cache)
		return &hwpt->s1;
	pe = nest_pasid_cache_lookup(&dev->pasid_cache, req->key);
	if (pe && pe->hwpt_id == hwpt->tag) {
		dev->stats.pasid_cache_hits++;
		hwpt->stats.pasid_cache_hits++;
		return &pe->desc;
	}
	dev->stats.pasid_cache_misses++;
	hwpt->stats.pasid_cache_misses++;
	nest_pasid_cache_insert(&dev->pasid_cache, req->key, hwpt->tag,
				&hwpt->s1);
	return &hwpt->s1;
}

/*
 * The stale-translation auditor: after a cache hit, translate again with
 * a walk that changes nothing (no cache, no A/D or dirty bit) and
 * compare. A difference means user space changed a table and did not
 * invalidate.
 */
static void nest_audit_hit(const struct nest_xlate_req *req,
			   const struct nest_xlate *x,
			   const struct nest_xlate_res *res)
{
	struct nest_xlate quiet = *x;
	struct nest_xlate_res w;
	struct nest_fault fault;
	int rc;

	quiet.walk_flags = NEST_WALK_F_NO_UPDATE;
	quiet.trace = NULL;	/* a TRANSLATE reports the hit, not this */
	rc = nest_translate(&quiet, req->key, req->iova, req->access, &w,
			    &fault);
	if (!rc && w.gpa == res->gpa && w.perm == res->perm)
		return;
	req->dev->stats.stale_translations++;
	req->hwpt->stats.stale_translations++;
	trace_nest_stale_translation(req->dev->obj.id, req->key,
				     req->hwpt->obj.id, req->iova, res,
				     rc ? NULL : &w, rc ? fault.reason : 0);
}

/*
 * The walk after the caches missed (or a NO_CACHE query's), bounded by
 * nest_walk_start and nest_walk_end in the task of the DMA or TRANSLATE.
 */
static int nest_xlate_walk_traced(const struct nest_xlate_req *req,
				  const struct nest_xlate *x,
				  struct nest_xlate_res *res,
				  struct nest_fault *fault)
{
	int rc;

	trace_nest_walk_start(req->dev->obj.id, req->key, req->hwpt->obj.id,
			      req->iova, req->access);
	rc = nest_xlate_walk(x, req->key, req->iova, req->access, res, fault);
	trace_nest_walk_end(req->dev->obj.id, req->key, req->hwpt->obj.id,
			    req->iova, res, rc ? fault : NULL);
	return rc;
}

/*
 * Count one translation on @stats: @res on success, else a walk that
 * faulted (after both caches missed). A query (NO_CACHE) touches no cache
 * and counts only as a translation.
 */
static void nest_stats_xlate(struct nestiommu_xlate_stats *stats, bool ats,
			     bool query, const struct nest_xlate_res *res,
			     const struct nest_fault *fault)
{
	stats->translations++;
	if (fault)
		nest_stats_fault(stats, fault);
	if (query)
		return;
	if (!fault && res->source == NEST_XLATE_DEVTLB) {
		stats->devtlb_hits++;
		return;
	}
	stats->devtlb_misses += ats;
	if (!fault && res->source == NEST_XLATE_IOTLB) {
		stats->iotlb_hits++;
		return;
	}
	stats->iotlb_misses++;
	stats->walks++;
	if (fault)
		return;
	stats->walk_levels += nest_xlate_levels(res);
	stats->walk_mem_refs += res->mem_refs;
}

/*
 * A DMA fault through a HWPT with a fault queue: the device asks a page
 * for it (pri.c; sent by the DMA, which may sleep), or the queue gets its
 * record. IOMMU lock held: neither sleeps.
 */
static void nest_xlate_report(struct nest_xlate_req *req,
			      const struct nest_fault *fault, bool page_request)
{
	struct nest_hwpt *hwpt = req->hwpt;
	struct nestiommu_fault_info info;

	lockdep_assert_held(&req->dev->ctx->iommu.lock);
	nest_fault_to_user(&info, fault);
	if (nest_pri_fault(req->pr, req->dev, hwpt, req->key, fault, &info,
			   page_request))
		return;
	nest_fault_queue_report(hwpt->fault_queue, req->dev->obj.id, req->key,
				hwpt->obj.id, &info);
}

/*
 * The nest_hook_translate hook point: a BPF program may force a fault instead
 * of the translation, or a page request where the device could send one.
 * Return: true (and @fault filled, *@page_request set for a page request)
 * if it did.
 */
static bool nest_xlate_hook(struct nest_xlate_req *req,
			    struct nest_fault *fault, bool *page_request)
{
	struct nest_device *dev = req->dev;
	struct nest_hwpt *hwpt = req->hwpt;
	struct nest_hook_translate d = {
		.dev_id = dev->obj.id,
		.pasid = req->key,
		.hwpt_id = hwpt->obj.id,
		.access = req->access,
		.iova = req->iova,
		.pri = req->pr && hwpt->fault_queue && nest_pri_on(dev->pri),
		.owner_pid = dev->ctx->owner_pid,
	};
	bool fault_set;

	trace_nest_hook_translate(&d);
	fault_set = d.fault_reason || d.fault_stage || d.fault_level;
	if (!fault_set && !d.page_request)
		return false;
	if (fault_set ?
	    d.fault_reason < NEST_FAULT_REASON_PASID_FETCH ||
	    d.fault_reason > NEST_FAULT_REASON_OOR_ADDRESS ||
	    (d.fault_stage != 1 && d.fault_stage != 2) ||
	    d.fault_level > NEST_HOOK_MAX_FAULT_LEVEL :
	    d.page_request != 1 || !d.pri) {
		dev->stats.hook_rejected++;
		hwpt->stats.hook_rejected++;
		return false;
	}
	if (fault_set) {
		nest_fault_init(fault, d.fault_stage, d.fault_reason,
				d.fault_level, req->iova, req->access);
		dev->stats.injected_faults++;
		hwpt->stats.injected_faults++;
	} else {
		/* The page as if not present: nest_pri_fault() asks. */
		nest_fault_init(fault, 1, NEST_FAULT_REASON_PTE_FETCH, 0,
				req->iova, req->access);
		*page_request = true;
		dev->stats.injected_page_requests++;
		hwpt->stats.injected_page_requests++;
	}
	fault->flags = NEST_FAULT_F_INJECTED;
	return true;
}

/*
 * Translate @req. Caller holds the IOAS's iova_rwsem for read and the
 * IOMMU lock. Counts and traces the translation (and the fault).
 *
 * Return: 0, -EFAULT with @fault filled, or -EAGAIN (nothing counted) if
 * req->hwpt is no longer attached at req->key.
 */
static int nest_xlate_locked(struct nest_xlate_req *req,
			     struct nest_xlate_res *res,
			     struct nest_fault *fault)
{
	struct nest_iommu *iommu = &req->dev->ctx->iommu;
	struct nest_device *dev = req->dev;
	struct nest_hwpt *hwpt = req->hwpt;
	bool ats = dev->devtlb_entries;
	struct nest_xlate x = {
		.iotlb = &iommu->iotlb,
		.devtlb = ats ? &dev->devtlb : NULL,
		.s2 = &hwpt->s2_hwpt->s2,
		.hwpt_id = hwpt->tag,
		.s2_id = hwpt->s2_hwpt->tag,
		.trace = req->trace,
	};
	bool injected = false, page_request = false;
	int rc;

	lockdep_assert_held(&req->hwpt->ioas->iova_rwsem);
	lockdep_assert_held(&iommu->lock);
	/*
	 * A DETACH or REPLACE since the HWPT was looked up may have flushed
	 * the caches already: filling them now would outlive that flush.
	 */
	if (xa_load(&dev->attach, req->key) != hwpt)
		return -EAGAIN;

	if (trace_nest_hook_translate_enabled())
		injected = nest_xlate_hook(req, fault, &page_request);
	if (injected) {
		rc = -EFAULT;
	} else {
		x.s1 = hwpt->parent ? nest_pasid_desc(req) : NULL;
		/* A query (NO_CACHE) neither uses nor fills a cache. */
		if (req->no_cache)
			x.walk_flags = NEST_WALK_F_NO_UPDATE;
		if (nest_xlate_lookup(&x, req->key, req->iova, req->access,
				      res)) {
			rc = 0;
			if (READ_ONCE(iommu->stale_audit))
				nest_audit_hit(req, &x, res);
		} else {
			rc = nest_xlate_walk_traced(req, &x, res, fault);
		}
	}

	/* An injected fault consulted no cache: count it like a query. */
	nest_stats_xlate(&dev->stats, ats, req->no_cache || injected, res,
			 rc ? fault : NULL);
	nest_stats_xlate(&hwpt->stats, ats, req->no_cache || injected, res,
			 rc ? fault : NULL);
	if (rc) {
		trace_nest_fault(dev->obj.id, req->key, hwpt->obj.id, fault,
				 dev->ctx->owner_pid);
		/* A TRANSLATE answers itself: only DMA faults are queued. */
		if (hwpt->fault_queue && req->pr)
			nest_xlate_report(req, fault, page_request);
		return rc;
	}
	if (req->dma_len) {
		dev->stats.dma_bytes += req->dma_len;
		hwpt->stats.dma_bytes += req->dma_len;
		/* A DMA counts once on each HWPT it went through. */
		if (hwpt != req->last_hwpt)
			hwpt->stats.dma_ops++;
	}
	trace_nest_translate(dev->obj.id, req->key, hwpt->obj.id, req->iova,
			     req->access, res);
	return 0;
}

/**
 * nest_xlate_begin() - translate through what is attached now
 * @req: the request (req->key_valid false: nothing can be attached)
 * @res: out, on success
 * @fault: out, on -EFAULT
 *
 * Looks up the HWPT attached at req->key, and again if a replace beats
 * the translation to it. On 0 or -EFAULT with req->hwpt set, the HWPT is
 * referenced and its IOAS's iova_rwsem held for read, so the pages the
 * translation reached stay pinned: end with nest_xlate_end(). With
 * req->hwpt NULL (nothing attached: a PASID_INVALID fault) nothing is
 * held.
 *
 * Return: 0 or -EFAULT.
 */
int nest_xlate_begin(struct nest_xlate_req *req, struct nest_xlate_res *res,
		     struct nest_fault *fault)
{
	struct nest_iommu *iommu = &req->dev->ctx->iommu;
	int rc;

	for (;;) {
		req->hwpt = req->key_valid ?
			    nest_device_get_attached(req->dev, req->key) : NULL;
		if (!req->hwpt) {
			nest_fault_pasid_invalid(req->dev, req->key, req->iova,
						 req->access, fault);
			return -EFAULT;
		}
		down_read(&req->hwpt->ioas->iova_rwsem);
		spin_lock(&iommu->lock);
		rc = nest_xlate_locked(req, res, fault);
		spin_unlock(&iommu->lock);
		if (rc != -EAGAIN)
			return rc;
		/* Attached elsewhere meanwhile: look it up again. */
		up_read(&req->hwpt->ioas->iova_rwsem);
		nest_put_object(&req->hwpt->obj);
		cond_resched();
	}
}

/**
 * nest_xlate_end() - release what nest_xlate_begin() holds
 * @req: the request; req->hwpt becomes req->last_hwpt
 */
void nest_xlate_end(struct nest_xlate_req *req)
{
	req->last_hwpt = req->hwpt;
	if (!req->hwpt)
		return;
	up_read(&req->hwpt->ioas->iova_rwsem);
	nest_put_object(&req->hwpt->obj);
	req->hwpt = NULL;
}
