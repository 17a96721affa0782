// SPDX-License-Identifier: GPL-2.0
/*
 * The emulated IOMMU of a context: its IOTLB, the cache flushes every
 * object needs, and OPTION.
 *
 * One IOMMU per open of /dev/nestiommu. Its IOTLB is shared by all HWPTs
 * of the context and tagged by (HWPT, PASID), like a real IOTLB tagged by
 * domain ID and PASID. Device TLBs and PASID caches live in the devices
 * but are guarded by the same lock (see nest_priv.h).
 */
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "fail.h"
#include "nest_priv.h"
#include "pri.h"

/**
 * nest_iommu_init() - set up a context's IOMMU with default cache sizes
 * @iommu: embedded in the new context
 *
 * Return: 0 or -ENOMEM.
 */
int nest_iommu_init(struct nest_iommu *iommu)
{
	spin_lock_init(&iommu->lock);
	INIT_LIST_HEAD(&iommu->devices);
	ida_init(&iommu->tags);
	return nest_iommu_set_iotlb_entries(iommu,
					    NESTIOMMU_IOTLB_DEFAULT_ENTRIES);
}

/**
 * nest_iommu_destroy() - free the IOTLB; every device is gone already
 * @iommu: the context's IOMMU
 */
void nest_iommu_destroy(struct nest_iommu *iommu)
{
	ida_destroy(&iommu->tags);
	kvfree(iommu->iotlb_entries);
}

/**
 * nest_iommu_resize_tlb() - give a TLB new storage, which empties it
 * @iommu: the context's IOMMU, whose lock guards the TLB
 * @tlb: the IOTLB or a device TLB
 * @storage: where the TLB's kvcalloc'ed storage is kept
 * @nr: where its number of entries is kept
 * @nr_new: entries, a power of two in [@min, @max]
 * @min: smallest size allowed
 * @max: largest size allowed
 * @ways: associativity (@min / @ways is a power of two)
 *
 * Return: 0, -EINVAL or -ENOMEM (the TLB is then unchanged).
 */
int nest_iommu_resize_tlb(struct nest_iommu *iommu, struct nest_tlb *tlb,
			  struct nest_tlb_entry **storage, u32 *nr, u64 nr_new,
			  u32 min, u32 max, u32 ways)
{
	struct nest_tlb_entry *entries, *old;

	if (nr_new < min || nr_new > max || !is_power_of_2(nr_new))
		return -EINVAL;
	if (nest_fail_site(NESTIOMMU_FAIL_SITE_TLB))
		return -ENOMEM;
	entries = kvcalloc(nr_new, sizeof(*entries), GFP_KERNEL_ACCOUNT);
	if (!entries)
		return -ENOMEM;

	spin_lock(&iommu->lock);
	old = *storage;
	*storage = entries;
	*nr = nr_new;
	/* Cannot fail: @nr_new / @ways is a power of two. */
	nest_tlb_init(tlb, entries, nr_new, ways);
	spin_unlock(&iommu->lock);
	kvfree(old);
	return 0;
}

/**
 * nest_iommu_set_iotlb_entries() - resize (and so empty) the IOTLB
 * @iommu: the context's IOMMU
 * @nr: entries, a power of two in [NESTIOMMU_IOTLB_MIN_ENTRIES,
 *	NESTIOMMU_IOTLB_MAX_ENTRIES]
 *
 * Return: 0, -EINVAL or -ENOMEM (the IOTLB is then unchanged).
 */
int nest_iommu_set_iotlb_entries(struct nest_iommu *iommu, u64 nr)
{
	return nest_iommu_resize_tlb(iommu, &iommu->iotlb,
				     &iommu->iotlb_entries, &iommu->iotlb_nr,
				     nr, NESTIOMMU_IOTLB_MIN_ENTRIES,
				     NESTIOMMU_IOTLB_MAX_ENTRIES,
				     NEST_IOTLB_WAYS);
}

/**
 * nest_iommu_drop_s2() - drop every cached translation through a range
 *	of a stage-2 table
 * @iommu: the context's IOMMU, lock held
 * @s2_id: the paging HWPT owning the stage 2
 * @gpa: first GPA
 * @length: bytes
 *
 * Drops IOTLB and device-TLB entries whose output or any of whose stage-1
 * table pages lies in the range: nested translations included.
 *
 * Return: entries dropped.
 */
u32 nest_iommu_drop_s2(struct nest_iommu *iommu, u32 s2_id, u64 gpa,
		       u64 length)
{
	struct nest_device *dev;
	u32 dropped;

	lockdep_assert_held(&iommu->lock);
	dropped = nest_tlb_drop_s2(&iommu->iotlb, s2_id, gpa, length);
	list_for_each_entry(dev, &iommu->devices, node)
		if (dev->devtlb_entries)
			dropped += nest_tlb_drop_s2(&dev->devtlb, s2_id, gpa,
						    length);
	return dropped;
}

/**
 * nest_iommu_invalidate() - carry out one invalidation on every cache
 * @iommu: the context's IOMMU, lock held
 * @inv: the request (checked by nest_inv_match())
 * @dropped: out, entries dropped
 *
 * The IOTLB, and the device TLB and PASID cache of every device: entries
 * are tagged by HWPT, so devices not attached to it have none to drop.
 *
 * Return: 0 or the errno of nest_inv_check().
 */
int nest_iommu_invalidate(struct nest_iommu *iommu, const struct nest_inv *inv,
			  u32 *dropped)
{
	struct nest_device *dev;
	u32 n;
	int rc;

	lockdep_assert_held(&iommu->lock);
	rc = nest_inv_match(inv, &iommu->iotlb, NULL, NULL, dropped);
	if (rc)
		return rc;
	list_for_each_entry(dev, &iommu->devices, node) {
		nest_inv_match(inv, NULL,
			       dev->devtlb_entries ? &dev->devtlb : NULL,
			       &dev->pasid_cache, &n);
		*dropped += n;
	}
	return 0;
}

/**
 * nest_iommu_forget_hwpt() - drop everything cached for a HWPT
 * @iommu: the context's IOMMU, lock held
 * @hwpt_id: the HWPT, about to be destroyed (its ID may be reused)
 * @pasid: a PASID (or NESTIOMMU_PASID_NONE) to forget only that one's entries,
 *	or NEST_PASID_ALL
 *
 * Device TLBs are matched as IOTLBs here: the DOMAIN x DEV_IOTLB rule is a
 * uAPI rule, not one the driver's own flushes must follow.
 */
void nest_iommu_forget_hwpt(struct nest_iommu *iommu, u32 hwpt_id, u64 pasid)
{
	struct nest_inv inv = {
		.cache = NEST_INV_CACHE_IOTLB | NEST_INV_CACHE_PASID,
		.granu = pasid == NEST_PASID_ALL ? NEST_INV_GRANU_DOMAIN :
						   NEST_INV_GRANU_PASID,
		.hwpt_id = hwpt_id,
		.pasid = pasid,
	};
	struct nest_device *dev;
	u32 n;

	lockdep_assert_held(&iommu->lock);
	nest_inv_match(&inv, &iommu->iotlb, NULL, NULL, &n);
	list_for_each_entry(dev, &iommu->devices, node)
		nest_inv_match(&inv,
			       dev->devtlb_entries ? &dev->devtlb : NULL,
			       NULL, &dev->pasid_cache, &n);
}

/**
 * nest_iommu_copy_stats() - copy translation counters to user space
 * @iommu: the context's IOMMU, whose lock guards @stats
 * @stats: the counters of a HWPT or a device
 * @uptr: where to write struct nestiommu_xlate_stats
 * @len: in: bytes available at @uptr; out: the struct's full size
 *
 * Return: 0 or -EFAULT.
 */
int nest_iommu_copy_stats(struct nest_iommu *iommu,
			  const struct nestiommu_xlate_stats *stats,
			  void __user *uptr, u32 *len)
{
	struct nestiommu_xlate_stats copy;

	spin_lock(&iommu->lock);
	copy = *stats;
	spin_unlock(&iommu->lock);
	return nest_stats_to_user(&copy, sizeof(copy), uptr, len);
}

/**
 * nest_stats_to_user() - the GET_STATS answer of any object type
 * @stats: a snapshot of the object's statistics struct
 * @size: its size
 * @uptr: where to write it
 * @len: in: bytes available at @uptr; out: @size
 *
 * Return: 0 or -EFAULT.
 */
int nest_stats_to_user(const void *stats, size_t size, void __user *uptr,
		       u32 *len)
{
	if (copy_to_user(uptr, stats, min_t(size_t, *len, size)))
		return -EFAULT;
	*len = size;
	return 0;
}

static int nest_option_context(struct nest_ctx *ctx,
			       struct nestiommu_option *cmd)
{
	struct nest_iommu *iommu = &ctx->iommu;

	switch (cmd->option_id) {
	case NESTIOMMU_OPTION_IOTLB_ENTRIES:
		if (cmd->op == NESTIOMMU_OPTION_OP_GET) {
			cmd->val64 = READ_ONCE(iommu->iotlb_nr);
			return 0;
		}
		return nest_iommu_set_iotlb_entries(iommu, cmd->val64);
	case NESTIOMMU_OPTION_STALE_AUDIT:
		if (cmd->op == NESTIOMMU_OPTION_OP_GET) {
			cmd->val64 = READ_ONCE(iommu->stale_audit);
			return 0;
		}
		if (cmd->val64 > 1)
			return -EINVAL;
		WRITE_ONCE(iommu->stale_audit, cmd->val64);
		return 0;
	}
	return -ENOENT;
}

static int nest_option_ioas(struct nest_ctx *ctx, struct nestiommu_option *cmd)
{
	struct nest_ioas *ioas;
	int rc = 0;

	ioas = nest_get_ioas(ctx, cmd->object_id);
	if (IS_ERR(ioas))
		return PTR_ERR(ioas);
	if (cmd->op == NESTIOMMU_OPTION_OP_GET)
		cmd->val64 = !READ_ONCE(ioas->no_huge_pages);
	else if (cmd->val64 > 1)
		rc = -EINVAL;
	else
		rc = nest_ioas_set_huge_pages(ioas, cmd->val64);
	nest_put_ioas(ioas);
	return rc;
}

static int nest_option_device(struct nest_ctx *ctx,
			      struct nestiommu_option *cmd)
{
	struct nest_device *dev;
	int rc = 0;

	dev = nest_get_device(ctx, cmd->object_id);
	if (IS_ERR(dev))
		return PTR_ERR(dev);
	if (cmd->option_id != NESTIOMMU_OPTION_DEVTLB_ENTRIES)
		rc = nest_pri_option(dev->pri, cmd);
	else if (!(dev->flags & NESTIOMMU_DEVICE_ATS))
		rc = -EINVAL;
	else if (cmd->op == NESTIOMMU_OPTION_OP_GET)
		cmd->val64 = READ_ONCE(dev->devtlb_nr);
	else
		rc = nest_device_set_devtlb_entries(dev, cmd->val64);
	nest_put_object(&dev->obj);
	return rc;
}

int nest_option_ioctl(struct nest_ucmd *ucmd)
{
	struct nestiommu_option *cmd = ucmd->cmd;
	int rc;

	if (cmd->__reserved)
		return -EOPNOTSUPP;
	if (cmd->op != NESTIOMMU_OPTION_OP_SET &&
	    cmd->op != NESTIOMMU_OPTION_OP_GET)
		return -EOPNOTSUPP;

	switch (cmd->option_id) {
	case NESTIOMMU_OPTION_IOTLB_ENTRIES:
	case NESTIOMMU_OPTION_STALE_AUDIT:
		/* Options of the context itself: object 0 only. */
		rc = cmd->object_id ? -ENOENT :
				      nest_option_context(ucmd->ctx, cmd);
		break;
	case NESTIOMMU_OPTION_HUGE_PAGES:
		rc = nest_option_ioas(ucmd->ctx, cmd);
		break;
	case NESTIOMMU_OPTION_DEVTLB_ENTRIES:
	case NESTIOMMU_OPTION_PRI_MAX_OUTSTANDING:
	case NESTIOMMU_OPTION_PRI_TIMEOUT_MS:
		rc = nest_option_device(ucmd->ctx, cmd);
		break;
	default:
		return -EOPNOTSUPP;
	}
	if (rc)
		return rc;
	if (cmd->op == NESTIOMMU_OPTION_OP_SET)
		return 0;
	return nest_ucmd_respond(ucmd, sizeof(*cmd));
}
