// SPDX-License-Identifier: GPL-2.0
/*
 * The DMA and TRANSLATE ioctls: their checks, the DMA loop and the
 * answers. The translation itself is xlate.c's; page requests are pri.c's.
 *
 * A DMA moves at most one 4 KiB page per step. Each step translates
 * (nest_xlate_begin(), which holds the IOAS's iova_rwsem for read) and
 * copies between a kernel bounce buffer and the pinned page before
 * nest_xlate_end() releases it: UNMAP, which takes it for write, therefore
 * never unpins a page a DMA is copying to. User memory is only touched
 * with no lock held (the bounce buffer), so a faulting user buffer blocks
 * nobody. A step that faults may leave a page request to send
 * (dma->pr, filled by pri.c through the translation): the DMA asks with
 * nest_pri_ask() and, on SUCCESS, translates the page again.
 */
#include <linux/highmem.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "fail.h"
#include "nest_priv.h"
#include "pri.h"
#include "trace.h"
#include "xlate.h"

#define NEST_ACCESS_ALL \
	(NESTIOMMU_ACCESS_READ | NESTIOMMU_ACCESS_WRITE | \
	 NESTIOMMU_ACCESS_EXEC | NESTIOMMU_ACCESS_PRIV)

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

/* The state of one DMA call. */
struct nest_dma {
	struct nest_xlate_req xr;	/* device, PASID, access; each step */
	void *bounce;			/* one page */
	struct nest_fault fault;	/* the last step's */
	bool nonblock;			/* NESTIOMMU_DMA_NONBLOCK */
	struct nest_pri_req pr;		/* a faulting step may fill it */
};

/*
 * Move @len bytes (inside one page) between the bounce buffer and the
 * memory @iova translates to.
 *
 * Return: 0, or -EFAULT with dma->fault filled.
 */
static int nest_dma_step(struct nest_dma *dma, u64 iova, size_t len)
{
	struct nest_xlate_res res;
	void *va;
	int rc;

	dma->xr.iova = iova;
	dma->xr.dma_len = len;
	rc = nest_xlate_begin(&dma->xr, &res, &dma->fault);
	if (!rc) {
		/* A pinned page: iova_rwsem keeps it pinned until the end. */
		va = kmap_local_pfn(res.ofn) + offset_in_page(iova);
		if (dma->xr.access & NESTIOMMU_ACCESS_WRITE)
			memcpy(va, dma->bounce, len);
		else
			memcpy(dma->bounce, va, len);
		kunmap_local(va);
	}
	nest_xlate_end(&dma->xr);
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
	struct nest_device *dev = dma->xr.dev;

	if (!dev->pri || !dma->xr.key_valid)
		return -EINVAL;
	return nest_pri_resume(dev->pri, &dma->pr, cookie, dma->xr.key, iova,
			       dma->nonblock, info);
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
	struct nest_device *dev;
	struct nest_dma dma = {
		.xr.access = cmd->access,
		.nonblock = cmd->flags & NESTIOMMU_DMA_NONBLOCK,
	};
	u64 done = 0;
	int rc;

	rc = nest_dma_check(ucmd);
	if (rc)
		return rc;
	dev = nest_get_device(ucmd->ctx, cmd->dev_id);
	if (IS_ERR(dev))
		return PTR_ERR(dev);
	dma.xr.dev = dev;
	dma.xr.pr = &dma.pr;
	nest_request_key(&dma.xr, cmd->flags, cmd->pasid);
	trace_nest_dma_start(dev->obj.id, dma.xr.key, cmd);
	cmd->out_flags = 0;
	memset(&cmd->out_fault, 0, sizeof(cmd->out_fault));
	dma.bounce = nest_fail_site(NESTIOMMU_FAIL_SITE_DMA_BOUNCE) ? NULL :
		     kmalloc(PAGE_SIZE, GFP_KERNEL_ACCOUNT);
	if (!dma.bounce) {
		rc = -ENOMEM;
		goto out_end;
	}

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
			rc = nest_pri_ask(dev->pri, &dma.pr, dma.xr.key, iova,
					  cmd->iova + cmd->length,
					  dma.nonblock);
			if (rc == 1) {
				/* SUCCESS: translate the same page again. */
				rc = 0;
				continue;
			}
			if (rc < 0)
				break;
			cmd->out_flags = NESTIOMMU_OUT_FAULT;
			nest_fault_to_user(&cmd->out_fault, &dma.fault);
			break;
		}
		dma.pr.asked = 0;
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
	dev->stats.dma_ops++;
	spin_unlock(&iommu->lock);
	cmd->out_bytes_done = done;
	cmd->pr_cookie = dma.pr.cookie;
	if (dma.pr.cookie)
		cmd->out_flags |= NESTIOMMU_OUT_PAGE_REQUEST;
	rc = nest_ucmd_respond(ucmd, sizeof(*cmd)) ?: rc;
out_end:
	trace_nest_dma(dev->obj.id, dma.xr.key, cmd, done, rc);
	nest_put_object(&dev->obj);
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
static int nest_translate_query(struct nest_xlate_req *req,
				struct nestiommu_translate *cmd,
				struct nest_fault *fault)
{
	struct nest_xlate_res res;
	struct nest_area *area;
	struct nest_ioas *ioas;
	int rc;

	rc = nest_xlate_begin(req, &res, fault);
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
	int rc;

	if (cmd->flags & ~(NESTIOMMU_DMA_PASID | NESTIOMMU_TRANSLATE_NO_CACHE))
		return -EOPNOTSUPP;
	rc = nest_access_check(cmd->access);
	if (rc)
		return rc;
	req.dev = nest_get_device(ucmd->ctx, cmd->dev_id);
	if (IS_ERR(req.dev))
		return PTR_ERR(req.dev);
	trace = nest_fail_site(NESTIOMMU_FAIL_SITE_TRANSLATE_TRACE) ? NULL :
		kzalloc(sizeof(*trace), GFP_KERNEL_ACCOUNT);
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
	nest_request_key(&req, cmd->flags, cmd->pasid);
	rc = nest_translate_query(&req, cmd, &fault);
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
