// SPDX-License-Identifier: GPL-2.0
/*
 * The devices' DMA engine and the TRANSLATE query: one translation path,
 * its statistics, its tracepoints and the stale-translation auditor.
 *
 * A DMA moves at most one 4 KiB page per step. Each step finds the HWPT
 * attached to the PASID, takes its IOAS's iova_rwsem for read, translates
 * under the IOMMU lock and copies between a kernel bounce buffer and the
 * pinned page before releasing iova_rwsem: UNMAP, which takes it for write,
 * therefore never unpins a page a DMA is copying to, and no DMA reaches a
 * page once UNMAP has returned. User memory is only touched with no lock
 * held (the bounce buffer), so a faulting user buffer blocks nobody.
 */
#include <linux/highmem.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "nest_priv.h"
#include "pri.h"
#include "trace.h"

#define NEST_ACCESS_ALL \
	(NESTIOMMU_ACCESS_READ | NESTIOMMU_ACCESS_WRITE | \
	 NESTIOMMU_ACCESS_EXEC | NESTIOMMU_ACCESS_PRIV)

/* One translation being made for a device. */
struct nest_xlate_req {
	struct nest_device *dev;
	struct nest_hwpt *hwpt;		/* attached at @key, referenced */
	u32 key;			/* PASID or NESTIOMMU_PASID_NONE */
	u64 iova;
	u32 access;			/* NEST_ACC_* */
	bool no_cache;			/* TRANSLATE with NO_CACHE */
	struct nest_walk_trace *trace;	/* TRANSLATE only, or NULL */
	size_t dma_len;			/* DMA only: bytes to count */
	struct nest_hwpt *last_hwpt;	/* DMA only: of the previous step */
	/*
	 * DMA only, set on a fault the device may ask a page for: the
	 * queue to ask (referenced) and the record to send.
	 */
	struct nest_fault_ring *pr_ring;
	struct nestiommu_fault_record pr_tmpl;
	bool pr_forced;			/* by nest_hook_translate */
};

/* uAPI access flags are the core's NEST_ACC_* flags. */
static int nest_access_check(u32 access)
{
	BUILD_BUG_ON(NESTIOMMU_ACCESS_READ != NEST_ACC_READ ||
		     NESTIOMMU_ACCESS_WRITE != NEST_ACC_WRITE ||
		     NESTIOMMU_ACCESS_EXEC != NEST_ACC_EXEC ||
		     NESTIOMMU_ACCESS_PRIV != NEST_ACC_PRIV);
	if (access & ~NEST_ACCESS_ALL)
		return -EOPNOTSUPP;
	/* Exactly one direction; an instruction fetch is a read. */
	if (!(access & NESTIOMMU_ACCESS_READ) ==
	    !(access & NESTIOMMU_ACCESS_WRITE))
		return -EINVAL;
	if ((access & NESTIOMMU_ACCESS_EXEC) &&
	    !(access & NESTIOMMU_ACCESS_READ))
		return -EINVAL;
	return 0;
}

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
	trace_nest_fault(dev->obj.id, key, 0, fault);
}

/* The stage-1 descriptor of a nested HWPT, through the PASID cache. */
static const struct nest_s1_desc *nest_pasid_desc(struct nest_xlate_req *req)
{
	struct nest_device *dev = req->dev;
	struct nest_hwpt *hwpt = req->hwpt;
	const struct nest_pasid_entry *pe;

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
	trace_nest_stale_translation(req->dev->obj.id, req->key, req->hwpt->obj.id,
				req->iova, res, rc ? NULL : &w,
				rc ? fault.reason : 0);
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
	stats->walk_levels += res->s1_levels ?: 5 - res->s2_level;
	stats->walk_mem_refs += res->mem_refs;
}

/*
 * May the device send a page request for @fault instead of failing? A
 * PRI device whose PRI is on, a stage-1 fault page requests can fix (not
 * present, or not allowed), not an injected one.
 */
static bool nest_fault_wants_page(const struct nest_device *dev,
				  const struct nest_fault *fault)
{
	if (!dev->pri || READ_ONCE(dev->pri->disabled) || fault->stage != 1 ||
	    (fault->flags & (NEST_FAULT_F_RSVD | NEST_FAULT_F_INJECTED)))
		return false;
	return fault->reason == NEST_FAULT_REASON_PTE_FETCH ||
	       fault->reason == NEST_FAULT_REASON_PERMISSION;
}

/*
 * A DMA fault through a HWPT with a fault queue: set up a page request
 * (sent by the DMA loop, which may sleep) or queue the fault record.
 */
static void nest_dma_fault_report(struct nest_xlate_req *req,
				  const struct nest_fault *fault)
{
	struct nest_fault_queue *q = req->hwpt->fault_queue;
	struct nestiommu_fault_info info;

	nest_fault_to_user(&info, fault);
	if (req->pr_forced || nest_fault_wants_page(req->dev, fault)) {
		nest_fault_record_init(&req->pr_tmpl, req->dev->obj.id,
				       req->key, req->hwpt->obj.id, &info);
		req->pr_ring = nest_fault_queue_ring(q);
		nest_fault_ring_get(req->pr_ring);
		return;
	}
	nest_fault_queue_report(q, req->dev->obj.id, req->key,
				req->hwpt->obj.id, &info);
}

/*
 * The nest_hook_translate hook point: a BPF program may force a fault instead
 * of the translation, or a page request where the device could send one.
 * Return: true (and @fault filled) if it did.
 */
static bool nest_xlate_hook(struct nest_xlate_req *req,
			    struct nest_fault *fault)
{
	struct nest_device *dev = req->dev;
	struct nest_hwpt *hwpt = req->hwpt;
	struct nest_hook_translate d = {
		.dev_id = dev->obj.id,
		.pasid = req->key,
		.hwpt_id = hwpt->obj.id,
		.access = req->access,
		.iova = req->iova,
		.pri = req->dma_len && hwpt->fault_queue && dev->pri &&
		       !READ_ONCE(dev->pri->disabled),
	};
	bool fault_set;

	trace_nest_hook_translate(&d);
	fault_set = d.fault_reason || d.fault_stage;
	if (!fault_set && !d.page_request)
		return false;
	if (fault_set ?
	    d.fault_reason < NEST_FAULT_REASON_PASID_FETCH ||
	    d.fault_reason > NEST_FAULT_REASON_OOR_ADDRESS ||
	    (d.fault_stage != 1 && d.fault_stage != 2) :
	    d.page_request != 1 || !d.pri) {
		dev->stats.hook_rejected++;
		hwpt->stats.hook_rejected++;
		return false;
	}
	if (fault_set) {
		nest_fault_init(fault, d.fault_stage, d.fault_reason, 0,
				req->iova, req->access);
		dev->stats.injected_faults++;
		hwpt->stats.injected_faults++;
	} else {
		/* The page as if not present: nest_dma_fault_report() asks. */
		nest_fault_init(fault, 1, NEST_FAULT_REASON_PTE_FETCH, 0,
				req->iova, req->access);
		req->pr_forced = true;
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
	bool injected = false;
	int rc;

	lockdep_assert_held(&iommu->lock);
	/*
	 * A DETACH or REPLACE since the HWPT was looked up may have flushed
	 * the caches already: filling them now would outlive that flush.
	 */
	if (xa_load(&dev->attach, req->key) != hwpt)
		return -EAGAIN;

	if (trace_nest_hook_translate_enabled())
		injected = nest_xlate_hook(req, fault);
	if (injected) {
		rc = -EFAULT;
	} else {
		x.s1 = hwpt->parent ? nest_pasid_desc(req) : NULL;
		/* A query (NO_CACHE) neither uses nor fills a cache. */
		if (req->no_cache)
			x.walk_flags = NEST_WALK_F_NO_UPDATE;
		rc = nest_translate(&x, req->key, req->iova, req->access, res,
				    fault);
		if (!rc && res->source != NEST_XLATE_WALK &&
		    READ_ONCE(iommu->stale_audit))
			nest_audit_hit(req, &x, res);
	}

	/* An injected fault consulted no cache: count it like a query. */
	nest_stats_xlate(&dev->stats, ats, req->no_cache || injected, res,
			 rc ? fault : NULL);
	nest_stats_xlate(&hwpt->stats, ats, req->no_cache || injected, res,
			 rc ? fault : NULL);
	if (rc) {
		trace_nest_fault(dev->obj.id, req->key, hwpt->obj.id, fault);
		/* A TRANSLATE answers itself: only DMA faults are queued. */
		if (hwpt->fault_queue && req->dma_len)
			nest_dma_fault_report(req, fault);
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

/* The attachment key of a request, or false: PASID beyond the width. */
static bool nest_request_key(struct nest_device *dev, u32 flags, u32 pasid,
			     u32 *key)
{
	if (!(flags & NESTIOMMU_DMA_PASID)) {
		*key = NESTIOMMU_PASID_NONE;
		return true;
	}
	*key = pasid;
	return dev->pasid_bits && pasid < BIT_ULL(dev->pasid_bits);
}

/* The state of one DMA call. */
struct nest_dma {
	struct nest_device *dev;
	u32 key;
	bool key_valid;
	u32 access;
	void *bounce;			/* one page */
	struct nest_hwpt *last_hwpt;	/* counts dma_ops once per HWPT */
	struct nest_fault fault;
	/* The last step's fault may be fixed by a page request (pri.h). */
	struct nest_fault_ring *pr_ring;
	struct nestiommu_fault_record pr_tmpl;
	bool nonblock;			/* NESTIOMMU_DMA_NONBLOCK */
	u32 asked;			/* page requests for the current page */
	u64 pr_cookie;			/* the group a NONBLOCK DMA parked */
};

/*
 * Translate @req through the HWPT attached at req->key now (none if
 * !@key_valid). On 0 or -EFAULT with req->hwpt set, the HWPT is referenced
 * and its IOAS's iova_rwsem held for read, so the pages the translation
 * reached stay pinned: end with nest_xlate_end(). With req->hwpt NULL
 * (nothing attached: a PASID_INVALID fault) nothing is held.
 */
static int nest_xlate_begin(struct nest_xlate_req *req, bool key_valid,
			    struct nest_xlate_res *res,
			    struct nest_fault *fault)
{
	struct nest_iommu *iommu = &req->dev->ctx->iommu;
	int rc;

	for (;;) {
		req->hwpt = key_valid ?
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

static void nest_xlate_end(struct nest_xlate_req *req)
{
	if (!req->hwpt)
		return;
	up_read(&req->hwpt->ioas->iova_rwsem);
	nest_put_object(&req->hwpt->obj);
}

/*
 * Move @len bytes (inside one page) between the bounce buffer and the
 * memory @iova translates to.
 *
 * Return: 0, or -EFAULT with dma->fault filled.
 */
static int nest_dma_step(struct nest_dma *dma, u64 iova, size_t len)
{
	struct nest_xlate_req req = {
		.dev = dma->dev,
		.key = dma->key,
		.iova = iova,
		.access = dma->access,
		.dma_len = len,
		.last_hwpt = dma->last_hwpt,
	};
	struct nest_xlate_res res;
	void *va;
	int rc;

	rc = nest_xlate_begin(&req, dma->key_valid, &res, &dma->fault);
	dma->pr_ring = req.pr_ring;
	dma->pr_tmpl = req.pr_tmpl;
	if (!rc) {
		/* A pinned page: iova_rwsem keeps it pinned until the end. */
		va = kmap_local_pfn(res.ofn) + offset_in_page(iova);
		if (dma->access & NESTIOMMU_ACCESS_WRITE)
			memcpy(va, dma->bounce, len);
		else
			memcpy(dma->bounce, va, len);
		kunmap_local(va);
	}
	dma->last_hwpt = req.hwpt;
	nest_xlate_end(&req);
	return rc;
}

/*
 * The last step faulted: if the fault allows, send a page request group
 * for the pages from @iova's to the end of the DMA and wait for it (or,
 * NONBLOCK, park it).
 *
 * Return: 1 to translate again (SUCCESS), 0 to stop with the fault,
 * -EINTR (a signal; the group stays pending), or NONBLOCK: -EAGAIN (the
 * group is parked as @dma->pr_cookie, or 0 there: no credit) or -EBUSY
 * (too many parked).
 */
static int nest_dma_ask(struct nest_dma *dma, u64 iova, u64 end)
{
	struct nest_fault_ring *ring = dma->pr_ring;
	u64 page = iova & PAGE_MASK;
	struct nest_prg *g;
	u32 npages;
	int rc;

	if (!ring)
		return 0;
	dma->pr_ring = NULL;
	if (dma->asked >= NESTIOMMU_PRI_RETRIES) {
		nest_fault_ring_put(ring);
		return 0;
	}
	npages = min_t(u64, DIV_ROUND_UP(end - page, PAGE_SIZE),
		       NESTIOMMU_PRI_MAX_OUTSTANDING);
	rc = nest_pri_send(dma->dev->pri, ring, dma->key, &dma->pr_tmpl, page,
			   npages, dma->asked, dma->nonblock, &g);
	nest_fault_ring_put(ring);
	if (rc == -EINTR || rc == -EAGAIN || rc == -EBUSY)
		return rc;
	if (rc)
		return 0;
	dma->asked = g->asked;
	if (dma->nonblock) {
		dma->pr_cookie = g->cookie;
		rc = -EAGAIN;
	} else {
		rc = nest_prg_wait(g);
		if (!rc)
			rc = g->code == NESTIOMMU_PAGE_RESP_SUCCESS;
	}
	nest_prg_put(g);
	return rc;
}

/*
 * NESTIOMMU_DMA_RESUME: take back the group the DMA parked at @iova.
 *
 * Return: 1 to translate that page again (SUCCESS), 0 to stop with the
 * fault (in @info), or -EINVAL, -EAGAIN (not answered, NONBLOCK) or -EINTR.
 */
static int nest_dma_resume(struct nest_dma *dma, u64 cookie, u64 iova,
			   struct nestiommu_fault_info *info)
{
	struct nest_prg *g;
	int rc;

	if (!dma->dev->pri || !dma->key_valid)
		return -EINVAL;
	g = nest_pri_resume(dma->dev->pri, cookie, dma->key, iova & PAGE_MASK,
			    dma->nonblock);
	if (IS_ERR(g)) {
		if (PTR_ERR(g) == -EAGAIN)
			dma->pr_cookie = cookie;
		return PTR_ERR(g);
	}
	dma->asked = g->asked;
	rc = g->code == NESTIOMMU_PAGE_RESP_SUCCESS;
	if (!rc)
		*info = g->fault;
	nest_prg_put(g);
	return rc;
}

static int nest_dma_check(const struct nest_ucmd *ucmd)
{
	const struct nestiommu_dma *cmd = ucmd->cmd;
	u64 last;
	int rc;

	if (cmd->__reserved || cmd->__reserved2 ||
	    (cmd->flags & ~(NESTIOMMU_DMA_PASID | NESTIOMMU_DMA_NONBLOCK |
			    NESTIOMMU_DMA_RESUME)))
		return -EOPNOTSUPP;
	/* Their answer is @pr_cookie: user space must have room for it. */
	if ((cmd->flags & (NESTIOMMU_DMA_NONBLOCK | NESTIOMMU_DMA_RESUME)) &&
	    ucmd->user_size < offsetofend(struct nestiommu_dma, pr_cookie))
		return -EINVAL;
	rc = nest_access_check(cmd->access);
	if (rc)
		return rc;
	if (!cmd->length || cmd->length > NESTIOMMU_DMA_MAX_LENGTH)
		return -EINVAL;
	if (check_add_overflow(cmd->iova, cmd->length - 1, &last) ||
	    check_add_overflow(cmd->user_va, cmd->length - 1, &last))
		return -EOVERFLOW;
	return 0;
}

int nest_dma_ioctl(struct nest_ucmd *ucmd)
{
	struct nestiommu_dma *cmd = ucmd->cmd;
	void __user *ubuf = u64_to_user_ptr(cmd->user_va);
	struct nest_iommu *iommu = &ucmd->ctx->iommu;
	struct nest_dma dma = {
		.access = cmd->access,
		.nonblock = cmd->flags & NESTIOMMU_DMA_NONBLOCK,
	};
	u64 done = 0;
	int rc;

	rc = nest_dma_check(ucmd);
	if (rc)
		return rc;
	dma.dev = nest_get_device(ucmd->ctx, cmd->dev_id);
	if (IS_ERR(dma.dev))
		return PTR_ERR(dma.dev);
	dma.key_valid = nest_request_key(dma.dev, cmd->flags, cmd->pasid,
					 &dma.key);
	dma.bounce = kmalloc(PAGE_SIZE, GFP_KERNEL_ACCOUNT);
	if (!dma.bounce) {
		rc = -ENOMEM;
		goto out_put;
	}

	cmd->out_flags = 0;
	memset(&cmd->out_fault, 0, sizeof(cmd->out_fault));
	if (cmd->flags & NESTIOMMU_DMA_RESUME) {
		rc = nest_dma_resume(&dma, cmd->pr_cookie, cmd->iova,
				     &cmd->out_fault);
		if (!rc)
			cmd->out_flags = NESTIOMMU_OUT_FAULT;
		if (rc != 1)
			goto out_done;
		rc = 0;	/* SUCCESS: the DMA goes on from @iova */
	}
	while (done < cmd->length) {
		u64 iova = cmd->iova + done;
		size_t len = min_t(u64, cmd->length - done,
				   PAGE_SIZE - offset_in_page(iova));

		if ((cmd->access & NESTIOMMU_ACCESS_WRITE) &&
		    copy_from_user(dma.bounce, ubuf + done, len)) {
			rc = -EFAULT;
			break;
		}
		if (nest_dma_step(&dma, iova, len)) {
			/* SUCCESS: translate the same page again. */
			rc = nest_dma_ask(&dma, iova, cmd->iova + cmd->length);
			if (rc == 1)
				continue;
			if (rc < 0)
				break;
			cmd->out_flags = NESTIOMMU_OUT_FAULT;
			nest_fault_to_user(&cmd->out_fault, &dma.fault);
			break;
		}
		dma.asked = 0;
		if ((cmd->access & NESTIOMMU_ACCESS_READ) &&
		    copy_to_user(ubuf + done, dma.bounce, len)) {
			rc = -EFAULT;
			break;
		}
		done += len;
		if (signal_pending(current)) {
			rc = -EINTR;
			break;
		}
		cond_resched();
	}
out_done:
	kfree(dma.bounce);

	spin_lock(&iommu->lock);
	dma.dev->stats.dma_ops++;
	spin_unlock(&iommu->lock);
	trace_nest_dma(dma.dev->obj.id, dma.key, cmd, done);
	cmd->out_bytes_done = done;
	cmd->pr_cookie = dma.pr_cookie;
	if (dma.pr_cookie)
		cmd->out_flags |= NESTIOMMU_OUT_PAGE_REQUEST;
	rc = nest_ucmd_respond(ucmd, sizeof(*cmd)) ?: rc;
out_put:
	nest_put_object(&dma.dev->obj);
	return rc;
}

/*
 * TRANSLATE's out_perm: the kinds a request of @access's privilege may
 * make through @perm (NESTIOMMU_ACCESS_* are NEST_ACC_*), and PRIV where
 * non-privileged requests may not.
 */
static u32 nest_perm_to_access(u32 perm, u32 access)
{
	return nest_perm_access(perm, access) |
	       (perm & NEST_PERM_USER ? 0 : NESTIOMMU_ACCESS_PRIV);
}

/* Translate for TRANSLATE and fill its out_ fields; 0 or -EFAULT. */
static int nest_translate_query(struct nest_xlate_req *req, bool key_valid,
				struct nestiommu_translate *cmd,
				struct nest_fault *fault)
{
	struct nest_xlate_res res;
	struct nest_area *area;
	struct nest_ioas *ioas;
	int rc;

	rc = nest_xlate_begin(req, key_valid, &res, fault);
	if (!rc) {
		ioas = req->hwpt->ioas;
		cmd->out_source = res.source;
		cmd->out_perm = nest_perm_to_access(res.perm, req->access);
		cmd->out_ioas_id = ioas->obj.id;
		cmd->out_page_size = BIT_ULL(res.page_shift);
		cmd->out_gpa = res.gpa;
		/* Stage 2 only maps areas, so the area is there. */
		area = nest_ioas_find_area(ioas, res.gpa);
		if (area)
			cmd->out_user_va = area->user_va + (res.gpa - area->iova);
	}
	nest_xlate_end(req);
	return rc;
}

static int nest_translate_copy_steps(struct nestiommu_translate *cmd,
				     const struct nest_walk_trace *trace)
{
	struct nestiommu_walk_step __user *usteps =
		u64_to_user_ptr(cmd->steps_uptr);
	u32 i, n = min(cmd->steps_num, trace->nr);

	for (i = 0; i < n; i++) {
		const struct nest_walk_step *s = &trace->step[i];
		struct nestiommu_walk_step step = {
			.addr = s->addr,
			.pte = s->pte,
			.stage = s->stage,
			.level = s->level,
			.s1_level = s->s1_level,
			.flags = s->flags,
		};

		if (copy_to_user(&usteps[i], &step, sizeof(step)))
			return -EFAULT;
	}
	return 0;
}

int nest_translate_ioctl(struct nest_ucmd *ucmd)
{
	struct nestiommu_translate *cmd = ucmd->cmd;
	struct nest_xlate_req req = {
		.iova = cmd->iova,
		.access = cmd->access,
		.no_cache = cmd->flags & NESTIOMMU_TRANSLATE_NO_CACHE,
	};
	struct nest_walk_trace *trace;
	struct nest_fault fault;
	u32 steps_in = cmd->steps_num;
	bool key_valid;
	int rc;

	if (cmd->flags & ~(NESTIOMMU_DMA_PASID | NESTIOMMU_TRANSLATE_NO_CACHE))
		return -EOPNOTSUPP;
	rc = nest_access_check(cmd->access);
	if (rc)
		return rc;
	req.dev = nest_get_device(ucmd->ctx, cmd->dev_id);
	if (IS_ERR(req.dev))
		return PTR_ERR(req.dev);
	trace = kzalloc(sizeof(*trace), GFP_KERNEL_ACCOUNT);
	if (!trace) {
		rc = -ENOMEM;
		goto out_put_dev;
	}
	req.trace = trace;

	cmd->out_flags = 0;
	cmd->out_source = 0;
	cmd->out_perm = 0;
	cmd->out_ioas_id = 0;
	cmd->out_page_size = 0;
	cmd->out_gpa = 0;
	cmd->out_user_va = 0;
	memset(&cmd->out_fault, 0, sizeof(cmd->out_fault));
	key_valid = nest_request_key(req.dev, cmd->flags, cmd->pasid, &req.key);
	rc = nest_translate_query(&req, key_valid, cmd, &fault);
	if (rc) {
		cmd->out_flags = NESTIOMMU_OUT_FAULT;
		nest_fault_to_user(&cmd->out_fault, &fault);
	}

	rc = nest_translate_copy_steps(cmd, trace);
	cmd->steps_num = trace->nr;
	if (!rc)
		rc = nest_ucmd_respond(ucmd, sizeof(*cmd));
	if (!rc && trace->nr > steps_in)
		rc = -EMSGSIZE;
	kfree(trace);
out_put_dev:
	nest_put_object(&req.dev->obj);
	return rc;
}
