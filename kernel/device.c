// SPDX-License-Identifier: GPL-2.0
/*
 * Emulated PCIe devices: creation, attach / replace / detach per PASID and
 * for the RID, and GET_HW_INFO.
 *
 * A device's attachments are its PASID table: PASID -> HWPT, plus one
 * entry (NESTIOMMU_PASID_NONE) for requests without PASID. Each entry
 * holds a reference on its HWPT, so an attached HWPT cannot be destroyed
 * (EBUSY). Changing an entry drops what the caches hold for it, as a
 * driver does after rewriting a PASID table entry.
 */
#include <linux/sizes.h>
#include <linux/slab.h>

#include "fail.h"
#include "nest_priv.h"
#include "pri.h"
#include "trace.h"

#define NEST_DEVICE_FLAGS	(NESTIOMMU_DEVICE_ATS | NESTIOMMU_DEVICE_PRI)
#define NEST_RID_LIMIT		0x10000

static bool nest_rid_in_use(struct nest_iommu *iommu, u32 rid)
{
	struct nest_device *dev;

	lockdep_assert_held(&iommu->lock);
	list_for_each_entry(dev, &iommu->devices, node)
		if (dev->rid == rid)
			return true;
	return false;
}

/**
 * nest_device_set_devtlb_entries() - resize (and so empty) a device TLB
 * @dev: an ATS device
 * @nr: entries, a power of two in [NESTIOMMU_DEVTLB_MIN_ENTRIES,
 *	NESTIOMMU_DEVTLB_MAX_ENTRIES]
 *
 * Return: 0, -EINVAL or -ENOMEM (the device TLB is then unchanged).
 */
int nest_device_set_devtlb_entries(struct nest_device *dev, u64 nr)
{
	return nest_iommu_resize_tlb(&dev->ctx->iommu, &dev->devtlb,
				     &dev->devtlb_entries, &dev->devtlb_nr, nr,
				     NESTIOMMU_DEVTLB_MIN_ENTRIES,
				     NESTIOMMU_DEVTLB_MAX_ENTRIES,
				     NEST_DEVTLB_WAYS);
}

int nest_device_create_ioctl(struct nest_ucmd *ucmd)
{
	struct nestiommu_device_create *cmd = ucmd->cmd;
	struct nest_iommu *iommu = &ucmd->ctx->iommu;
	struct nest_object *obj;
	struct nest_device *dev;
	int rc;

	if (cmd->__reserved || (cmd->flags & ~NEST_DEVICE_FLAGS))
		return -EOPNOTSUPP;
	if (cmd->rid >= NEST_RID_LIMIT ||
	    cmd->pasid_bits > NESTIOMMU_MAX_PASID_BITS)
		return -EINVAL;

	dev = nest_object_alloc(ucmd->ctx, dev, NEST_OBJ_DEVICE);
	if (IS_ERR(dev))
		return PTR_ERR(dev);
	obj = &dev->obj;
	dev->ctx = ucmd->ctx;
	dev->rid = cmd->rid;
	dev->pasid_bits = cmd->pasid_bits;
	dev->flags = cmd->flags;
	mutex_init(&dev->attach_mutex);
	xa_init(&dev->attach);
	INIT_LIST_HEAD(&dev->node);
	nest_pasid_cache_init(&dev->pasid_cache, dev->pasid_entries,
			      ARRAY_SIZE(dev->pasid_entries));
	if (dev->flags & NESTIOMMU_DEVICE_ATS) {
		rc = nest_device_set_devtlb_entries(
			dev, NESTIOMMU_DEVTLB_DEFAULT_ENTRIES);
		if (rc)
			goto out_abort;
	}
	if (dev->flags & NESTIOMMU_DEVICE_PRI) {
		dev->pri = nest_pri_alloc(obj->id, ucmd->ctx->owner_pid);
		if (!dev->pri) {
			rc = -ENOMEM;
			goto out_abort;
		}
	}

	spin_lock(&iommu->lock);
	if (nest_rid_in_use(iommu, dev->rid)) {
		spin_unlock(&iommu->lock);
		rc = -EEXIST;
		goto out_abort;
	}
	list_add_tail(&dev->node, &iommu->devices);
	spin_unlock(&iommu->lock);

	cmd->out_dev_id = obj->id;
	rc = nest_ucmd_respond(ucmd, sizeof(*cmd));
	if (rc)
		goto out_abort;
	nest_object_finalize(ucmd->ctx, obj);
	return 0;

out_abort:
	nest_object_abort(ucmd->ctx, obj);
	return rc;
}

/*
 * The PASID table entry changed from @old: drop what the caches hold of
 * it. Without PASID the key is NESTIOMMU_PASID_NONE, which is also the tag the
 * caches use for requests without PASID.
 */
static void nest_device_flush_key(struct nest_device *dev,
				  struct nest_hwpt *old, u32 key)
{
	struct nest_iommu *iommu = &dev->ctx->iommu;

	spin_lock(&iommu->lock);
	nest_iommu_forget_hwpt(iommu, old->tag, key);
	spin_unlock(&iommu->lock);
	/* Nobody may wait for an answer through the old HWPT. */
	if (dev->pri)
		nest_pri_cancel(dev->pri, key);
}

/**
 * nest_device_destroy() - detach everything and free a device
 * @obj: the device's object header (possibly never finalized)
 */
void nest_device_destroy(struct nest_object *obj)
{
	struct nest_device *dev = container_of(obj, struct nest_device, obj);
	struct nest_iommu *iommu = &dev->ctx->iommu;
	struct nest_hwpt *hwpt;
	unsigned long key;

	xa_for_each(&dev->attach, key, hwpt) {
		xa_erase(&dev->attach, key);
		nest_device_flush_key(dev, hwpt, key);
		trace_nest_detach(dev->obj.id, dev->rid, key, hwpt->obj.id, 0);
		nest_put_object(&hwpt->obj);
	}
	xa_destroy(&dev->attach);
	spin_lock(&iommu->lock);
	list_del(&dev->node);
	spin_unlock(&iommu->lock);
	if (dev->pri) {
		nest_pri_cancel(dev->pri, NEST_PASID_ALL);
		nest_pri_forget_parked(dev->pri);
		nest_pri_put(dev->pri);
	}
	kvfree(dev->devtlb_entries);
	mutex_destroy(&dev->attach_mutex);
}

/* The attachment key of (flags, pasid), or -EINVAL for a bad PASID. */
static s64 nest_device_attach_key(struct nest_device *dev, u32 flags,
				  u32 pasid)
{
	if (!(flags & NESTIOMMU_ATTACH_PASID))
		return NESTIOMMU_PASID_NONE;
	if (!dev->pasid_bits || pasid >= BIT_ULL(dev->pasid_bits))
		return -EINVAL;
	return pasid;
}

int nest_device_attach_ioctl(struct nest_ucmd *ucmd)
{
	struct nestiommu_device_attach *cmd = ucmd->cmd;
	struct nest_hwpt *hwpt, *old;
	struct nest_device *dev;
	void *prev;
	s64 key;
	int rc = 0;

	if (cmd->__reserved ||
	    (cmd->flags & ~(NESTIOMMU_ATTACH_PASID | NESTIOMMU_ATTACH_REPLACE)))
		return -EOPNOTSUPP;
	dev = nest_get_device(ucmd->ctx, cmd->dev_id);
	if (IS_ERR(dev))
		return PTR_ERR(dev);
	key = nest_device_attach_key(dev, cmd->flags, cmd->pasid);
	if (key < 0) {
		rc = key;
		goto out_put_dev;
	}
	/* This reference becomes the attachment's. */
	hwpt = nest_get_hwpt(ucmd->ctx, cmd->hwpt_id, NEST_OBJ_HWPT);
	if (IS_ERR(hwpt)) {
		rc = PTR_ERR(hwpt);
		goto out_put_dev;
	}

	mutex_lock(&dev->attach_mutex);
	old = xa_load(&dev->attach, key);
	if (old && !(cmd->flags & NESTIOMMU_ATTACH_REPLACE))
		rc = -EBUSY;
	else if (!old && (cmd->flags & NESTIOMMU_ATTACH_REPLACE))
		rc = -ENOENT;
	if (rc)
		goto out_unlock;
	/* Only a new slot allocates: a REPLACE cannot fail for memory. */
	if (!old && nest_fail_site(NESTIOMMU_FAIL_SITE_ATTACH)) {
		rc = -ENOMEM;
		goto out_unlock;
	}
	prev = xa_store(&dev->attach, key, hwpt, GFP_KERNEL_ACCOUNT);
	if (xa_is_err(prev)) {
		rc = xa_err(prev);
		goto out_unlock;
	}
	if (old)
		nest_device_flush_key(dev, old, key);
	trace_nest_attach(dev->obj.id, dev->rid, key, hwpt->obj.id,
			  old ? old->obj.id : 0);
	mutex_unlock(&dev->attach_mutex);
	if (old)
		nest_put_object(&old->obj);
	nest_put_object(&dev->obj);
	return 0;

out_unlock:
	mutex_unlock(&dev->attach_mutex);
	nest_put_object(&hwpt->obj);
out_put_dev:
	nest_put_object(&dev->obj);
	return rc;
}

int nest_device_detach_ioctl(struct nest_ucmd *ucmd)
{
	struct nestiommu_device_detach *cmd = ucmd->cmd;
	struct nest_device *dev;
	struct nest_hwpt *old;
	s64 key;
	int rc = 0;

	if (cmd->flags & ~NESTIOMMU_ATTACH_PASID)
		return -EOPNOTSUPP;
	dev = nest_get_device(ucmd->ctx, cmd->dev_id);
	if (IS_ERR(dev))
		return PTR_ERR(dev);
	key = nest_device_attach_key(dev, cmd->flags, cmd->pasid);
	if (key < 0) {
		rc = key;
		goto out_put_dev;
	}

	mutex_lock(&dev->attach_mutex);
	old = xa_erase(&dev->attach, key);
	if (old) {
		nest_device_flush_key(dev, old, key);
		trace_nest_detach(dev->obj.id, dev->rid, key, old->obj.id, 0);
	}
	mutex_unlock(&dev->attach_mutex);
	if (old)
		nest_put_object(&old->obj);
	else
		rc = -ENOENT;
out_put_dev:
	nest_put_object(&dev->obj);
	return rc;
}

/**
 * nest_device_get_attached() - the HWPT attached at @key, referenced
 * @dev: the device
 * @key: a PASID or NESTIOMMU_PASID_NONE
 *
 * Return: the HWPT (release with nest_put_object()) or NULL.
 */
struct nest_hwpt *nest_device_get_attached(struct nest_device *dev, u32 key)
{
	struct nest_hwpt *hwpt;

	xa_lock(&dev->attach);
	hwpt = xa_load(&dev->attach, key);
	/* The attachment holds a reference, so users is not 0. */
	if (hwpt)
		refcount_inc(&hwpt->obj.users);
	xa_unlock(&dev->attach);
	return hwpt;
}

/**
 * nest_device_get_stats() - copy a device's statistics to user space
 * @obj: the device's object header
 * @uptr: where to write struct nestiommu_xlate_stats
 * @len: in: bytes available at @uptr; out: the struct's full size
 *
 * Return: 0 or -EFAULT.
 */
int nest_device_get_stats(struct nest_object *obj, void __user *uptr,
			  u32 *len)
{
	struct nest_device *dev = container_of(obj, struct nest_device, obj);
	struct nest_iommu *iommu = &dev->ctx->iommu;
	struct nestiommu_xlate_stats st;
	struct nest_pri *pri = dev->pri;

	spin_lock(&iommu->lock);
	st = dev->stats;
	spin_unlock(&iommu->lock);
	if (pri)
		nest_pri_stats(pri, &st);
	return nest_stats_to_user(&st, sizeof(st), uptr, len);
}

int nest_device_reset_ioctl(struct nest_ucmd *ucmd)
{
	struct nestiommu_device_reset *cmd = ucmd->cmd;
	struct nest_iommu *iommu = &ucmd->ctx->iommu;
	struct nest_device *dev;

	dev = nest_get_device(ucmd->ctx, cmd->dev_id);
	if (IS_ERR(dev))
		return PTR_ERR(dev);
	if (dev->pri)
		nest_pri_reset(dev->pri);
	spin_lock(&iommu->lock);
	if (dev->devtlb_entries)
		nest_tlb_init(&dev->devtlb, dev->devtlb_entries,
			      dev->devtlb_nr, NEST_DEVTLB_WAYS);
	nest_pasid_cache_init(&dev->pasid_cache, dev->pasid_entries,
			      ARRAY_SIZE(dev->pasid_entries));
	spin_unlock(&iommu->lock);
	nest_put_object(&dev->obj);
	return 0;
}

int nest_get_hw_info_ioctl(struct nest_ucmd *ucmd)
{
	struct nestiommu_hw_info *cmd = ucmd->cmd;
	struct nest_device *dev;

	if (cmd->__reserved)
		return -EOPNOTSUPP;
	cmd->out_capabilities = NESTIOMMU_HW_CAP_NESTING |
				NESTIOMMU_HW_CAP_DIRTY_TRACKING |
				NESTIOMMU_HW_CAP_ATS | NESTIOMMU_HW_CAP_PRI |
				NESTIOMMU_HW_CAP_PASID;
	cmd->out_s1_formats = BIT(NESTIOMMU_HWPT_DATA_S1_X86);
	cmd->out_s1_levels = BIT(4) | BIT(5);
	cmd->out_max_pasid_bits = NESTIOMMU_MAX_PASID_BITS;
	cmd->out_pgsize_bitmap = SZ_4K | SZ_2M | SZ_1G;
	cmd->out_gpa_bits = NESTIOMMU_IOAS_IOVA_BITS;
	cmd->out_iova_bits = 57;
	cmd->out_iotlb_entries = READ_ONCE(ucmd->ctx->iommu.iotlb_nr);
	cmd->out_iotlb_ways = NEST_IOTLB_WAYS;
	cmd->out_pasid_cache_entries = NESTIOMMU_PASID_CACHE_ENTRIES;
	cmd->out_dev_flags = 0;
	cmd->out_dev_pasid_bits = 0;
	cmd->out_dev_rid = 0;
	cmd->out_dev_devtlb_entries = 0;
	if (cmd->dev_id) {
		dev = nest_get_device(ucmd->ctx, cmd->dev_id);
		if (IS_ERR(dev))
			return PTR_ERR(dev);
		cmd->out_dev_flags = dev->flags;
		cmd->out_dev_pasid_bits = dev->pasid_bits;
		cmd->out_dev_rid = dev->rid;
		cmd->out_dev_devtlb_entries = READ_ONCE(dev->devtlb_nr);
		nest_put_object(&dev->obj);
	}
	return nest_ucmd_respond(ucmd, sizeof(*cmd));
}
