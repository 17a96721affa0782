// SPDX-License-Identifier: GPL-2.0
/*
 * HWPTs: paging HWPTs (a stage-2 table mirroring an IOAS) and nested HWPTs
 * (a user-owned stage-1 table over a paging parent), their invalidation
 * and dirty tracking.
 *
 * A paging HWPT's stage-2 leaves hold pfns of the IOAS's pinned pages;
 * the table is changed only with the IOAS's iova_rwsem held for write
 * (see nest_priv.h), and every change that removes a translation drops
 * the cached copies before the lock is released.
 *
 * Caches are tagged with hwpt->tag, not with the object ID: an ID is free
 * for reuse as soon as DESTROY removes it, before the caches are flushed,
 * while a tag is freed only after the flush.
 */
#include <linux/mm.h>
#include <linux/sched/signal.h>
#include <linux/sizes.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "fail.h"
#include "nest_priv.h"
#include "trace.h"

/* Dirty bits are read in windows of at most 1 GiB, aligned to 1 GiB. */
#define NEST_DIRTY_WINDOW	SZ_1G
#define NEST_DIRTY_WINDOW_BITS	(NEST_DIRTY_WINDOW >> PAGE_SHIFT)

/* ---- keeping a paging HWPT in sync with its IOAS ---- */

static u32 nest_area_s2_prot(const struct nest_area *area)
{
	return (area->prot & NESTIOMMU_IOAS_MAP_READABLE ? NEST_PROT_READ : 0) |
	       (area->prot & NESTIOMMU_IOAS_MAP_WRITEABLE ? NEST_PROT_WRITE : 0);
}

/**
 * nest_hwpt_map_area() - map an IOAS area into a paging HWPT's stage 2
 * @hwpt: a paging HWPT of the area's IOAS (iova_rwsem held for write)
 * @area: the area
 *
 * Each run of physically contiguous pages is mapped in one call, so the
 * core can use 2 MiB and 1 GiB leaves where the run and the IOVA are
 * aligned (unless OPTION_HUGE_PAGES is 0).
 *
 * Return: 0 or a negative errno; nothing of the area is mapped then.
 */
int nest_hwpt_map_area(struct nest_hwpt *hwpt, struct nest_area *area)
{
	bool huge = !hwpt->ioas->no_huge_pages;
	u32 prot = nest_area_s2_prot(area);
	unsigned long i = 0, n;
	u64 unmapped;
	int rc;

	lockdep_assert_held_write(&hwpt->ioas->iova_rwsem);
	while (i < area->npages) {
		unsigned long pfn = page_to_pfn(nest_area_page(area, i));

		for (n = 1; i + n < area->npages; n++)
			if (page_to_pfn(nest_area_page(area, i + n)) != pfn + n)
				break;
		rc = nest_s2_map(&hwpt->s2, area->iova + (i << PAGE_SHIFT),
				 n << PAGE_SHIFT, pfn, prot, huge);
		if (rc) {
			if (i)
				nest_s2_unmap(&hwpt->s2, area->iova,
					      i << PAGE_SHIFT, &unmapped);
			return rc;
		}
		i += n;
		cond_resched();
	}
	return 0;
}

/**
 * nest_hwpt_unmap_area() - unmap an area and drop what was cached of it
 * @hwpt: a paging HWPT of the area's IOAS (iova_rwsem held for write)
 * @area: the area
 *
 * Once this returns no cached translation, nested ones included, leads
 * into the area's pages.
 */
void nest_hwpt_unmap_area(struct nest_hwpt *hwpt, struct nest_area *area)
{
	struct nest_iommu *iommu = &hwpt->ctx->iommu;
	u64 length = area->last - area->iova + 1;
	u64 unmapped;

	lockdep_assert_held_write(&hwpt->ioas->iova_rwsem);
	/* Areas are mapped whole, so no huge leaf crosses their ends. */
	WARN_ON_ONCE(nest_s2_unmap(&hwpt->s2, area->iova, length, &unmapped));
	spin_lock(&iommu->lock);
	nest_iommu_drop_s2(iommu, hwpt->tag, area->iova, length);
	spin_unlock(&iommu->lock);
}

/* ---- allocation and destruction ---- */

static struct nest_hwpt *nest_hwpt_new(struct nest_ucmd *ucmd,
				       enum nest_object_type type)
{
	struct nestiommu_hwpt_alloc *cmd = ucmd->cmd;
	struct nest_iommu *iommu = &ucmd->ctx->iommu;
	struct nest_fault_queue *q = NULL;
	struct nest_object *obj;
	struct nest_hwpt *hwpt;
	int tag;

	if (cmd->flags & NESTIOMMU_HWPT_ALLOC_FAULT_ID_VALID) {
		q = nest_get_fault_queue(ucmd->ctx, cmd->fault_id);
		if (IS_ERR(q))
			return ERR_CAST(q);
	}
	/* Tag 0 is never given: a zeroed cache entry matches nothing. */
	if (nest_fail_site(NESTIOMMU_FAIL_SITE_CACHE_TAG))
		tag = -ENOMEM;
	else
		tag = ida_alloc_min(&iommu->tags, 1, GFP_KERNEL_ACCOUNT);
	if (tag < 0) {
		obj = ERR_PTR(tag);
		goto out_put_queue;
	}
	hwpt = nest_object_alloc(ucmd->ctx, hwpt, type);
	if (IS_ERR(hwpt)) {
		ida_free(&iommu->tags, tag);
		obj = ERR_CAST(hwpt);
		goto out_put_queue;
	}
	hwpt->ctx = ucmd->ctx;
	hwpt->tag = tag;
	/* The HWPT keeps the reference on its queue. */
	hwpt->fault_queue = q;
	INIT_LIST_HEAD(&hwpt->ioas_node);
	return hwpt;

out_put_queue:
	if (q)
		nest_put_object(nest_fault_queue_obj(q));
	return ERR_CAST(obj);
}

static int nest_hwpt_alloc_paging(struct nest_ucmd *ucmd)
{
	struct nestiommu_hwpt_alloc *cmd = ucmd->cmd;
	unsigned long index = 0;
	struct nest_area *area;
	struct nest_hwpt *hwpt;
	struct nest_ioas *ioas;
	int rc;

	if (cmd->flags & ~(NESTIOMMU_HWPT_ALLOC_NEST_PARENT |
			   NESTIOMMU_HWPT_ALLOC_DIRTY_TRACKING |
			   NESTIOMMU_HWPT_ALLOC_FAULT_ID_VALID))
		return -EOPNOTSUPP;
	if (cmd->data_len || cmd->data_uptr)
		return -EINVAL;

	ioas = nest_get_ioas(ucmd->ctx, cmd->pt_id);
	if (IS_ERR(ioas))
		return PTR_ERR(ioas);
	hwpt = nest_hwpt_new(ucmd, NEST_OBJ_HWPT_PAGING);
	if (IS_ERR(hwpt)) {
		nest_put_ioas(ioas);
		return PTR_ERR(hwpt);
	}
	/* The HWPT keeps the reference on the IOAS. */
	hwpt->ioas = ioas;
	hwpt->s2_hwpt = hwpt;
	hwpt->flags = cmd->flags;
	rc = nest_s2_init(&hwpt->s2, &nest_mem_ops, NULL);
	if (rc)
		goto out_abort;

	down_write(&ioas->iova_rwsem);
	mt_for_each(&ioas->areas, area, index, ULONG_MAX) {
		rc = nest_hwpt_map_area(hwpt, area);
		if (rc) {
			up_write(&ioas->iova_rwsem);
			goto out_abort;
		}
	}
	list_add_tail(&hwpt->ioas_node, &ioas->hwpts);
	up_write(&ioas->iova_rwsem);

	cmd->out_hwpt_id = hwpt->obj.id;
	rc = nest_ucmd_respond(ucmd, sizeof(*cmd));
	if (rc)
		goto out_abort;
	nest_object_finalize(ucmd->ctx, &hwpt->obj);
	return 0;

out_abort:
	nest_object_abort(ucmd->ctx, &hwpt->obj);
	return rc;
}

/* uAPI stage-1 flags -> core descriptor flags */
static u32 nest_s1_flags(u32 flags)
{
	return (flags & NESTIOMMU_S1_AD ? NEST_S1_F_AD : 0) |
	       (flags & NESTIOMMU_S1_SRE ? NEST_S1_F_SRE : 0) |
	       (flags & NESTIOMMU_S1_WPE ? 0 : NEST_S1_F_WPD);
}

static int nest_hwpt_alloc_nested(struct nest_ucmd *ucmd)
{
	struct nestiommu_hwpt_alloc *cmd = ucmd->cmd;
	struct nestiommu_hwpt_s1_x86 data;
	struct nest_hwpt *hwpt, *parent;
	int rc;

	if (cmd->flags & ~NESTIOMMU_HWPT_ALLOC_FAULT_ID_VALID)
		return -EOPNOTSUPP;
	if (cmd->data_len < sizeof(data))
		return -EINVAL;
	if (cmd->data_len > NESTIOMMU_STRUCT_SIZE_MAX)
		return -E2BIG;
	rc = copy_struct_from_user(&data, sizeof(data),
				   u64_to_user_ptr(cmd->data_uptr),
				   cmd->data_len);
	if (rc)
		return rc;
	if (data.flags & ~(NESTIOMMU_S1_AD | NESTIOMMU_S1_SRE |
			   NESTIOMMU_S1_WPE))
		return -EOPNOTSUPP;
	/*
	 * Levels and root are what a PASID table entry holds: like hardware,
	 * a bad one is reported as a BAD_PASID_ENTRY fault when used.
	 */

	parent = nest_get_hwpt(ucmd->ctx, cmd->pt_id, NEST_OBJ_HWPT_PAGING);
	if (IS_ERR(parent))
		return PTR_ERR(parent);
	if (!(parent->flags & NESTIOMMU_HWPT_ALLOC_NEST_PARENT)) {
		rc = -EINVAL;
		goto out_put_parent;
	}
	hwpt = nest_hwpt_new(ucmd, NEST_OBJ_HWPT_NESTED);
	if (IS_ERR(hwpt)) {
		rc = PTR_ERR(hwpt);
		goto out_put_parent;
	}
	/* The HWPT keeps the reference on its parent. */
	hwpt->parent = parent;
	hwpt->s2_hwpt = parent;
	hwpt->ioas = parent->ioas;
	hwpt->s1 = (struct nest_s1_desc) {
		.root_gpa = data.root_gpa,
		.levels = data.levels,
		.flags = nest_s1_flags(data.flags),
	};

	cmd->out_hwpt_id = hwpt->obj.id;
	rc = nest_ucmd_respond(ucmd, sizeof(*cmd));
	if (rc) {
		nest_object_abort(ucmd->ctx, &hwpt->obj);
		return rc;
	}
	nest_object_finalize(ucmd->ctx, &hwpt->obj);
	return 0;

out_put_parent:
	nest_put_object(&parent->obj);
	return rc;
}

int nest_hwpt_alloc_ioctl(struct nest_ucmd *ucmd)
{
	struct nestiommu_hwpt_alloc *cmd = ucmd->cmd;

	if (cmd->__reserved2)
		return -EOPNOTSUPP;
	if (!(cmd->flags & NESTIOMMU_HWPT_ALLOC_FAULT_ID_VALID) && cmd->fault_id)
		return -EINVAL;
	switch (cmd->data_type) {
	case NESTIOMMU_HWPT_DATA_NONE:
		return nest_hwpt_alloc_paging(ucmd);
	case NESTIOMMU_HWPT_DATA_S1_X86:
		return nest_hwpt_alloc_nested(ucmd);
	}
	return -EOPNOTSUPP;
}

/**
 * nest_hwpt_destroy() - free a HWPT; nothing is attached to it any more
 * @obj: the HWPT's object header (possibly never finalized)
 */
void nest_hwpt_destroy(struct nest_object *obj)
{
	struct nest_hwpt *hwpt = container_of(obj, struct nest_hwpt, obj);
	struct nest_iommu *iommu = &hwpt->ctx->iommu;

	/* Nothing translates through the HWPT any more: no fault to queue. */
	if (hwpt->fault_queue)
		nest_put_object(nest_fault_queue_obj(hwpt->fault_queue));
	if (hwpt->parent) {
		spin_lock(&iommu->lock);
		nest_iommu_forget_hwpt(iommu, hwpt->tag, NEST_PASID_ALL);
		spin_unlock(&iommu->lock);
		ida_free(&iommu->tags, hwpt->tag);
		nest_put_object(&hwpt->parent->obj);
		return;
	}
	if (!hwpt->ioas) {
		ida_free(&iommu->tags, hwpt->tag);
		return;
	}
	down_write(&hwpt->ioas->iova_rwsem);
	list_del(&hwpt->ioas_node);
	spin_lock(&iommu->lock);
	nest_iommu_forget_hwpt(iommu, hwpt->tag, NEST_PASID_ALL);
	spin_unlock(&iommu->lock);
	/* No nested child is left (each holds a reference), so no entry. */
	if (hwpt->s2.root)
		nest_s2_destroy(&hwpt->s2);
	up_write(&hwpt->ioas->iova_rwsem);
	ida_free(&iommu->tags, hwpt->tag);
	nest_put_ioas(hwpt->ioas);
}

/**
 * nest_hwpt_get_stats() - copy a HWPT's statistics to user space
 * @obj: the HWPT's object header
 * @uptr: where to write struct nestiommu_xlate_stats
 * @len: in: bytes available at @uptr; out: the struct's full size
 *
 * Return: 0 or -EFAULT.
 */
int nest_hwpt_get_stats(struct nest_object *obj, void __user *uptr, u32 *len)
{
	struct nest_hwpt *hwpt = container_of(obj, struct nest_hwpt, obj);

	return nest_iommu_copy_stats(&hwpt->ctx->iommu, &hwpt->stats, uptr,
				     len);
}

/* ---- invalidation ---- */

#define NEST_INV_CACHE_ALL \
	(NESTIOMMU_INV_CACHE_IOTLB | NESTIOMMU_INV_CACHE_DEV_IOTLB | \
	 NESTIOMMU_INV_CACHE_PASID)
#define NEST_INV_FLAGS_ALL (NESTIOMMU_INV_F_PASID | NESTIOMMU_INV_F_LEAF)

static int nest_inv_from_user(struct nest_inv *inv,
			      const struct nestiommu_inv_entry *e, u32 tag)
{
	if ((e->cache & ~NEST_INV_CACHE_ALL) ||
	    (e->flags & ~NEST_INV_FLAGS_ALL) ||
	    e->granularity > NESTIOMMU_INV_GRANU_ADDR)
		return -EOPNOTSUPP;
	/* The uAPI values are the core's; the rest is nest_inv_check(). */
	BUILD_BUG_ON(NESTIOMMU_INV_CACHE_IOTLB != NEST_INV_CACHE_IOTLB ||
		     NESTIOMMU_INV_CACHE_DEV_IOTLB != NEST_INV_CACHE_DEV_IOTLB ||
		     NESTIOMMU_INV_CACHE_PASID != NEST_INV_CACHE_PASID ||
		     (int)NESTIOMMU_INV_GRANU_DOMAIN != NEST_INV_GRANU_DOMAIN ||
		     (int)NESTIOMMU_INV_GRANU_PASID != NEST_INV_GRANU_PASID ||
		     (int)NESTIOMMU_INV_GRANU_ADDR != NEST_INV_GRANU_ADDR ||
		     NESTIOMMU_INV_F_PASID != NEST_INV_F_PASID ||
		     NESTIOMMU_INV_F_LEAF != NEST_INV_F_LEAF);
	*inv = (struct nest_inv) {
		.cache = e->cache,
		.granu = e->granularity,
		.flags = e->flags,
		.hwpt_id = tag,
		.pasid = e->pasid,
		.addr = e->addr,
		.granule_size = e->granule_size,
		.nb_granules = e->nb_granules,
	};
	return 0;
}

/*
 * The nest_hook_invalidate hook point: a BPF program may drop a valid entry
 * (report it done, drop nothing) or fail it. Return: 0, 1 (drop), or the
 * negative errno to fail with.
 */
static int nest_hwpt_invalidate_hook(struct nest_hwpt *hwpt,
				     const struct nestiommu_inv_entry *e)
{
	struct nest_hook_invalidate d = {
		.hwpt_id = hwpt->obj.id,
		.cache = e->cache,
		.granularity = e->granularity,
		.flags = e->flags,
		.pasid = e->pasid,
		.addr = e->addr,
		.granule_size = e->granule_size,
		.nb_granules = e->nb_granules,
		.pid = task_tgid_nr(current),
	};
	int rc = 0;

	trace_nest_hook_invalidate(&d);
	if (!d.error && !d.drop)
		return 0;
	spin_lock(&hwpt->ctx->iommu.lock);
	if (d.error && d.error <= NEST_HOOK_MAX_ERRNO) {
		hwpt->stats.injected_inv_errors++;
		rc = -d.error;
	} else if (!d.error && d.drop == 1) {
		hwpt->stats.injected_inv_drops++;
		rc = 1;
	} else {
		hwpt->stats.hook_rejected++;
	}
	spin_unlock(&hwpt->ctx->iommu.lock);
	return rc;
}

/* Carry out @e; add the cache entries it dropped to *@total_dropped. */
static int nest_hwpt_invalidate_one(struct nest_hwpt *hwpt,
				    const struct nestiommu_inv_entry *e,
				    u64 *total_dropped)
{
	struct nest_iommu *iommu = &hwpt->ctx->iommu;
	struct nest_inv inv;
	u32 dropped;
	int rc;

	rc = nest_inv_from_user(&inv, e, hwpt->tag);
	if (!rc)
		rc = nest_inv_check(&inv);
	if (rc)
		return rc;
	if (trace_nest_hook_invalidate_enabled()) {
		rc = nest_hwpt_invalidate_hook(hwpt, e);
		if (rc) {
			trace_nest_invalidate(hwpt->obj.id, e, 0, rc > 0,
					      rc < 0 ? -rc : 0);
			return rc < 0 ? rc : 0;
		}
	}
	spin_lock(&iommu->lock);
	rc = nest_iommu_invalidate(iommu, &inv, &dropped);
	if (!rc) {
		hwpt->stats.inv_iotlb += !!(inv.cache & NEST_INV_CACHE_IOTLB);
		hwpt->stats.inv_dev_iotlb +=
			!!(inv.cache & NEST_INV_CACHE_DEV_IOTLB);
		hwpt->stats.inv_pasid += !!(inv.cache & NEST_INV_CACHE_PASID);
		hwpt->stats.inv_dropped += dropped;
	}
	spin_unlock(&iommu->lock);
	if (!rc) {
		*total_dropped += dropped;
		trace_nest_invalidate(hwpt->obj.id, e, dropped, false, 0);
	}
	return rc;
}

int nest_hwpt_invalidate_ioctl(struct nest_ucmd *ucmd)
{
	struct nestiommu_hwpt_invalidate *cmd = ucmd->cmd;
	struct nestiommu_inv_entry entry;
	void __user *uentry;
	struct nest_hwpt *hwpt;
	u64 dropped = 0;
	u32 done;
	int rc = 0;

	if (cmd->__reserved)
		return -EOPNOTSUPP;
	if (cmd->data_type != NESTIOMMU_HWPT_INVALIDATE_DATA_NEST)
		return -EOPNOTSUPP;
	if (cmd->entry_len < sizeof(entry))
		return -EINVAL;
	if (cmd->entry_len > NESTIOMMU_STRUCT_SIZE_MAX)
		return -E2BIG;
	hwpt = nest_get_hwpt(ucmd->ctx, cmd->hwpt_id, NEST_OBJ_HWPT);
	if (IS_ERR(hwpt))
		return PTR_ERR(hwpt);
	trace_nest_invalidate_start(cmd->hwpt_id, cmd->entry_num);

	uentry = u64_to_user_ptr(cmd->data_uptr);
	for (done = 0; done < cmd->entry_num; done++) {
		/* After one entry, so that every call makes progress. */
		if (done && signal_pending(current)) {
			rc = -EINTR;
			break;
		}
		rc = copy_struct_from_user(&entry, sizeof(entry), uentry,
					   cmd->entry_len);
		if (!rc)
			rc = nest_hwpt_invalidate_one(hwpt, &entry, &dropped);
		if (rc)
			break;
		uentry += cmd->entry_len;
		cond_resched();
	}
	nest_put_object(&hwpt->obj);

	cmd->entry_num = done;
	rc = nest_ucmd_respond(ucmd, sizeof(*cmd)) ?: rc;
	trace_nest_invalidate_end(cmd->hwpt_id, done, dropped, rc);
	return rc;
}

/* ---- dirty tracking ---- */

static struct nest_hwpt *nest_get_dirty_hwpt(struct nest_ctx *ctx, u32 id)
{
	struct nest_hwpt *hwpt;

	hwpt = nest_get_hwpt(ctx, id, NEST_OBJ_HWPT);
	/* Nested HWPTs have no flags: their dirty bits are the parent's. */
	if (!IS_ERR(hwpt) &&
	    !(hwpt->flags & NESTIOMMU_HWPT_ALLOC_DIRTY_TRACKING)) {
		nest_put_object(&hwpt->obj);
		return ERR_PTR(-EINVAL);
	}
	return hwpt;
}

/*
 * Read (and clear) the dirty bits of [@gpa, @gpa + @length), at most one
 * 1 GiB-aligned window, into @bitmap (4 KiB per bit, ORed in). A clear
 * also drops the cached translations of the range, or a write through a
 * cached entry would not mark its page again. Caller holds iova_rwsem.
 */
static void nest_hwpt_dirty_window(struct nest_hwpt *hwpt, u64 gpa,
				   u64 length, u64 *bitmap, bool clear)
{
	struct nest_iommu *iommu = &hwpt->ctx->iommu;
	u64 nr_dirty;

	lockdep_assert_held(&hwpt->ioas->iova_rwsem);
	spin_lock(&iommu->lock);
	if (!nest_s2_read_dirty(&hwpt->s2, gpa, length, bitmap, clear,
				&nr_dirty) && clear && nr_dirty)
		nest_iommu_drop_s2(iommu, hwpt->tag, gpa, length);
	spin_unlock(&iommu->lock);
}

/* The end of the dirty window starting at @gpa, capped at @end. */
static u64 nest_dirty_window_end(u64 gpa, u64 end)
{
	return min(round_down(gpa, NEST_DIRTY_WINDOW) + NEST_DIRTY_WINDOW, end);
}

/*
 * The first dirty window at or after @gpa that is mapped: its start
 * (>= @end if there is none) and in *@next its end, inside one area and
 * one 1 GiB-aligned window. Caller holds iova_rwsem.
 */
static u64 nest_dirty_next_mapped(struct nest_ioas *ioas, u64 gpa, u64 end,
				  u64 *next)
{
	unsigned long index = gpa;
	struct nest_area *area;

	lockdep_assert_held(&ioas->iova_rwsem);
	area = mt_find(&ioas->areas, &index, end - 1);
	if (!area)
		return end;
	gpa = max(gpa, area->iova);
	*next = nest_dirty_window_end(gpa, min(end, area->last + 1));
	return gpa;
}

/* Clear every dirty bit of the HWPT (enabling tracking starts afresh). */
static int nest_hwpt_dirty_clear_all(struct nest_hwpt *hwpt)
{
	struct nest_ioas *ioas = hwpt->ioas;
	unsigned long index = 0;
	struct nest_area *area;
	u64 *bitmap;

	if (nest_fail_site(NESTIOMMU_FAIL_SITE_DIRTY_BITMAP))
		return -ENOMEM;
	bitmap = kvmalloc(NEST_DIRTY_WINDOW_BITS / 8, GFP_KERNEL_ACCOUNT);
	if (!bitmap)
		return -ENOMEM;
	down_read(&ioas->iova_rwsem);
	mt_for_each(&ioas->areas, area, index, ULONG_MAX) {
		u64 gpa = area->iova, end = area->last + 1, next;

		for (; gpa < end; gpa = next) {
			next = nest_dirty_window_end(gpa, end);
			nest_hwpt_dirty_window(hwpt, gpa, next - gpa, bitmap,
					       true);
			cond_resched();
		}
	}
	up_read(&ioas->iova_rwsem);
	kvfree(bitmap);
	return 0;
}

int nest_hwpt_set_dirty_tracking_ioctl(struct nest_ucmd *ucmd)
{
	struct nestiommu_hwpt_set_dirty_tracking *cmd = ucmd->cmd;
	struct nest_hwpt *hwpt;
	bool enable;
	int rc = 0;

	if (cmd->__reserved ||
	    (cmd->flags & ~NESTIOMMU_HWPT_DIRTY_TRACKING_ENABLE))
		return -EOPNOTSUPP;
	hwpt = nest_get_dirty_hwpt(ucmd->ctx, cmd->hwpt_id);
	if (IS_ERR(hwpt))
		return PTR_ERR(hwpt);
	enable = cmd->flags & NESTIOMMU_HWPT_DIRTY_TRACKING_ENABLE;
	if (enable && !READ_ONCE(hwpt->dirty_tracking))
		rc = nest_hwpt_dirty_clear_all(hwpt);
	if (!rc)
		WRITE_ONCE(hwpt->dirty_tracking, enable);
	nest_put_object(&hwpt->obj);
	return rc;
}

static int
nest_dirty_bitmap_check(const struct nestiommu_hwpt_get_dirty_bitmap *cmd)
{
	u64 end;

	if (cmd->__reserved ||
	    (cmd->flags & ~NESTIOMMU_HWPT_GET_DIRTY_BITMAP_NO_CLEAR))
		return -EOPNOTSUPP;
	if (cmd->page_size < PAGE_SIZE || !is_power_of_2(cmd->page_size) ||
	    !cmd->length || !IS_ALIGNED(cmd->iova, cmd->page_size) ||
	    !IS_ALIGNED(cmd->length, cmd->page_size))
		return -EINVAL;
	if (check_add_overflow(cmd->iova, cmd->length, &end))
		return -EOVERFLOW;
	if (end > BIT_ULL(NESTIOMMU_IOAS_IOVA_BITS))
		return -EINVAL;
	return 0;
}

/*
 * OR the bits of @out (words @w0 .. @w0 + @nr - 1 of the user bitmap)
 * into the user bitmap; words with nothing set are not touched.
 */
static int nest_dirty_bitmap_merge(u64 __user *ubitmap, u64 w0,
				   const u64 *out, u64 nr)
{
	u64 i, word;

	for (i = 0; i < nr; i++) {
		if (!out[i])
			continue;
		if (get_user(word, ubitmap + w0 + i) ||
		    put_user(word | out[i], ubitmap + w0 + i))
			return -EFAULT;
	}
	return 0;
}

int nest_hwpt_get_dirty_bitmap_ioctl(struct nest_ucmd *ucmd)
{
	struct nestiommu_hwpt_get_dirty_bitmap *cmd = ucmd->cmd;
	u64 __user *ubitmap = u64_to_user_ptr(cmd->data);
	bool clear = !(cmd->flags & NESTIOMMU_HWPT_GET_DIRTY_BITMAP_NO_CLEAR);
	u64 gpa, next, end = cmd->iova + cmd->length;
	/* One 4 KiB bit per page of a window, then one output bit each. */
	const size_t out_words = NEST_DIRTY_WINDOW_BITS / 64 + 2;
	u64 *bitmap, *out;
	struct nest_hwpt *hwpt;
	int rc;

	rc = nest_dirty_bitmap_check(cmd);
	if (rc)
		return rc;
	hwpt = nest_get_dirty_hwpt(ucmd->ctx, cmd->hwpt_id);
	if (IS_ERR(hwpt))
		return PTR_ERR(hwpt);
	if (!READ_ONCE(hwpt->dirty_tracking)) {
		rc = -EINVAL;
		goto out_put;
	}
	if (nest_fail_site(NESTIOMMU_FAIL_SITE_DIRTY_BITMAP)) {
		rc = -ENOMEM;
		goto out_put;
	}
	bitmap = kvmalloc(NEST_DIRTY_WINDOW_BITS / 8, GFP_KERNEL_ACCOUNT);
	out = kvmalloc_array(out_words, sizeof(u64), GFP_KERNEL_ACCOUNT);
	if (!bitmap || !out) {
		rc = -ENOMEM;
		goto out_free;
	}

	for (gpa = cmd->iova; gpa < end; gpa = next) {
		u64 first_bit, w0, nr_words = 0, pg, npages;

		down_read(&hwpt->ioas->iova_rwsem);
		/* Only mapped IOVAs have dirty bits: skip to the next area. */
		gpa = nest_dirty_next_mapped(hwpt->ioas, gpa, end, &next);
		if (gpa >= end) {
			up_read(&hwpt->ioas->iova_rwsem);
			break;
		}
		npages = (next - gpa) >> PAGE_SHIFT;
		memset(bitmap, 0, DIV_ROUND_UP(npages, 64) * sizeof(u64));
		nest_hwpt_dirty_window(hwpt, gpa, next - gpa, bitmap, clear);
		up_read(&hwpt->ioas->iova_rwsem);

		first_bit = (gpa - cmd->iova) / cmd->page_size;
		w0 = first_bit / 64;

		/* Outside the lock: user memory may fault. */
		memset(out, 0, out_words * sizeof(u64));
		for_each_set_bit(pg, (unsigned long *)bitmap, npages) {
			u64 bit = (gpa + (pg << PAGE_SHIFT) - cmd->iova) /
				  cmd->page_size;

			out[bit / 64 - w0] |= BIT_ULL(bit % 64);
			nr_words = bit / 64 - w0 + 1;
		}
		rc = nest_dirty_bitmap_merge(ubitmap, w0, out, nr_words);
		if (rc)
			break;
		/* Mapped memory is pinned, so this is bounded: still, a kill. */
		if (fatal_signal_pending(current)) {
			rc = -EINTR;
			break;
		}
		cond_resched();
	}
out_free:
	kvfree(out);
	kvfree(bitmap);
out_put:
	nest_put_object(&hwpt->obj);
	return rc;
}
