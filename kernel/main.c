// SPDX-License-Identifier: GPL-2.0
/*
 * nestiommu: the character device, the ioctl table and the object
 * lifecycle. Everything an object does lives in its own file.
 *
 * Creating an object: nest_object_alloc() reserves an ID that lookups do not
 * see yet; the creator fills the object in, answers user space, and only
 * then makes the object visible with nest_object_finalize(). Any failure
 * before that calls nest_object_abort(), so user space never sees a
 * half-built object.
 */
#include <linux/debugfs.h>
#include <linux/fs.h>
#include <linux/miscdevice.h>
#include <linux/module.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "fail.h"
#include "nest_priv.h"
#include "pri.h"

/* What each object type does; indexed by enum nest_object_type. */
struct nest_object_ops {
	void (*destroy)(struct nest_object *obj);
	int (*get_stats)(struct nest_object *obj, void __user *uptr, u32 *len);
};

static const struct nest_object_ops nest_object_ops[] = {
	[NEST_OBJ_IOAS] = {
		.destroy = nest_ioas_destroy,
		.get_stats = nest_ioas_get_stats,
	},
	[NEST_OBJ_HWPT_PAGING] = {
		.destroy = nest_hwpt_destroy,
		.get_stats = nest_hwpt_get_stats,
	},
	[NEST_OBJ_HWPT_NESTED] = {
		.destroy = nest_hwpt_destroy,
		.get_stats = nest_hwpt_get_stats,
	},
	[NEST_OBJ_DEVICE] = {
		.destroy = nest_device_destroy,
		.get_stats = nest_device_get_stats,
	},
	[NEST_OBJ_FAULT_QUEUE] = {
		.destroy = nest_fault_queue_destroy,
		.get_stats = nest_fault_queue_get_stats,
	},
};

static bool nest_object_type_matches(const struct nest_object *obj,
				     enum nest_object_type type)
{
	if (type == NEST_OBJ_ANY)
		return true;
	if (type == NEST_OBJ_HWPT)
		return obj->type == NEST_OBJ_HWPT_PAGING ||
		       obj->type == NEST_OBJ_HWPT_NESTED;
	return obj->type == type;
}

/**
 * __nest_object_alloc() - allocate an object and reserve its ID
 * @ctx: the context the object belongs to
 * @size: size of the containing object struct
 * @type: the object's type
 *
 * The object holds one reference, owned by the context's xarray once the
 * object is finalized. Lookups cannot find it until then.
 *
 * Return: the object, ERR_PTR(-EMFILE) if the context holds
 * NESTIOMMU_MAX_OBJECTS objects already, or ERR_PTR(-ENOMEM).
 */
/* Objects of every context, finalized or not; read through debugfs. */
static atomic64_t nest_objects_live = ATOMIC64_INIT(0);

struct nest_object *__nest_object_alloc(struct nest_ctx *ctx, size_t size,
					enum nest_object_type type)
{
	struct nest_object *obj;
	int rc;

	if (nest_fail_site(NESTIOMMU_FAIL_SITE_OBJECT))
		return ERR_PTR(-ENOMEM);
	obj = kzalloc(size, GFP_KERNEL_ACCOUNT);
	if (!obj)
		return ERR_PTR(-ENOMEM);
	obj->type = type;
	refcount_set(&obj->users, 1);

	/*
	 * XA_ZERO_ENTRY reserves the ID; xa_load() returns NULL for it. IDs
	 * run from 1 to NESTIOMMU_MAX_OBJECTS, which bounds the count too.
	 */
	if (nest_fail_site(NESTIOMMU_FAIL_SITE_OBJECT_ID))
		rc = -ENOMEM;
	else
		rc = xa_alloc(&ctx->objects, &obj->id, XA_ZERO_ENTRY,
			      XA_LIMIT(1, NESTIOMMU_MAX_OBJECTS),
			      GFP_KERNEL_ACCOUNT);
	if (rc) {
		kfree(obj);
		return ERR_PTR(rc == -EBUSY ? -EMFILE : rc);
	}
	atomic64_inc(&nest_objects_live);
	return obj;
}

/**
 * nest_object_finalize() - make a new object visible to user space
 * @ctx: the object's context
 * @obj: an object from nest_object_alloc(), fully initialised
 */
void nest_object_finalize(struct nest_ctx *ctx, struct nest_object *obj)
{
	void *old;

	old = xa_store(&ctx->objects, obj->id, obj, GFP_KERNEL);
	/* The ID was reserved, so storing into it cannot fail or collide. */
	WARN_ON(old != XA_ZERO_ENTRY && old);
}

/* Free an object that was never finalized or was just removed. */
static void nest_object_free(struct nest_object *obj)
{
	nest_object_ops[obj->type].destroy(obj);
	kfree(obj);
	atomic64_dec(&nest_objects_live);
}

/**
 * nest_object_abort() - free an object that was never finalized
 * @ctx: the object's context
 * @obj: an object from nest_object_alloc()
 *
 * The type's destroy callback must cope with a partly initialised object.
 */
void nest_object_abort(struct nest_ctx *ctx, struct nest_object *obj)
{
	xa_erase(&ctx->objects, obj->id);
	nest_object_free(obj);
}

/**
 * nest_get_object() - look up an object by ID and take a reference
 * @ctx: the context to search
 * @id: the object's ID
 * @type: the required type, NEST_OBJ_HWPT (either HWPT type) or NEST_OBJ_ANY
 *
 * Return: the object, or ERR_PTR(-ENOENT) if there is no finalized object
 * with that ID and type. Release it with nest_put_object().
 */
struct nest_object *nest_get_object(struct nest_ctx *ctx, u32 id,
				    enum nest_object_type type)
{
	struct nest_object *obj;

	xa_lock(&ctx->objects);
	obj = xa_load(&ctx->objects, id);
	if (!obj || !nest_object_type_matches(obj, type) ||
	    !refcount_inc_not_zero(&obj->users))
		obj = ERR_PTR(-ENOENT);
	xa_unlock(&ctx->objects);
	return obj;
}

/**
 * nest_put_object() - drop a reference taken by nest_get_object()
 * @obj: the object
 *
 * The xarray keeps its own reference, so this never frees the object.
 */
void nest_put_object(struct nest_object *obj)
{
	refcount_dec(&obj->users);
}

/*
 * Remove an object from the xarray if nothing but the xarray holds it.
 * Return: the removed object, or an ERR_PTR (ENOENT, EBUSY).
 */
static struct nest_object *nest_object_remove(struct nest_ctx *ctx, u32 id)
{
	struct nest_object *obj;

	xa_lock(&ctx->objects);
	obj = xa_load(&ctx->objects, id);
	if (!obj) {
		obj = ERR_PTR(-ENOENT);
		goto out_unlock;
	}
	if (!refcount_dec_if_one(&obj->users)) {
		obj = ERR_PTR(-EBUSY);
		goto out_unlock;
	}
	__xa_erase(&ctx->objects, id);
out_unlock:
	xa_unlock(&ctx->objects);
	return obj;
}

/**
 * nest_ucmd_respond() - copy an ioctl's struct back to user space
 * @ucmd: the call
 * @cmd_len: the kernel's size of the struct
 *
 * Copies no more than the size user space gave.
 *
 * Return: 0 or -EFAULT.
 */
int nest_ucmd_respond(struct nest_ucmd *ucmd, size_t cmd_len)
{
	if (copy_to_user(ucmd->ubuffer, ucmd->cmd,
			 min_t(size_t, ucmd->user_size, cmd_len)))
		return -EFAULT;
	return 0;
}

static int nest_destroy_ioctl(struct nest_ucmd *ucmd)
{
	struct nestiommu_destroy *cmd = ucmd->cmd;
	struct nest_object *obj;

	obj = nest_object_remove(ucmd->ctx, cmd->id);
	if (IS_ERR(obj))
		return PTR_ERR(obj);
	nest_object_free(obj);
	return 0;
}

static int nest_get_stats_ioctl(struct nest_ucmd *ucmd)
{
	struct nestiommu_get_stats *cmd = ucmd->cmd;
	struct nest_object *obj;
	int rc;

	obj = nest_get_object(ucmd->ctx, cmd->id, NEST_OBJ_ANY);
	if (IS_ERR(obj))
		return PTR_ERR(obj);
	cmd->out_type = obj->type;
	rc = nest_object_ops[obj->type].get_stats(
		obj, u64_to_user_ptr(cmd->stats_uptr), &cmd->stats_len);
	nest_put_object(obj);
	if (rc)
		return rc;
	return nest_ucmd_respond(ucmd, sizeof(*cmd));
}

/* Large enough for any ioctl's struct. */
union nest_ucmd_buffer {
	struct nestiommu_destroy destroy;
	struct nestiommu_device_attach device_attach;
	struct nestiommu_device_create device_create;
	struct nestiommu_device_detach device_detach;
	struct nestiommu_device_reset device_reset;
	struct nestiommu_dma dma;
	struct nestiommu_fault_queue_alloc fault_queue_alloc;
	struct nestiommu_get_stats get_stats;
	struct nestiommu_hw_info hw_info;
	struct nestiommu_hwpt_alloc hwpt_alloc;
	struct nestiommu_hwpt_get_dirty_bitmap hwpt_get_dirty_bitmap;
	struct nestiommu_hwpt_invalidate hwpt_invalidate;
	struct nestiommu_hwpt_set_dirty_tracking hwpt_set_dirty_tracking;
	struct nestiommu_ioas_alloc ioas_alloc;
	struct nestiommu_ioas_copy ioas_copy;
	struct nestiommu_ioas_iova_ranges ioas_iova_ranges;
	struct nestiommu_ioas_map ioas_map;
	struct nestiommu_ioas_unmap ioas_unmap;
	struct nestiommu_option option;
	struct nestiommu_translate translate;
};

struct nest_ioctl_op {
	unsigned int size;
	unsigned int min_size;
	unsigned int ioctl_num;
	int (*execute)(struct nest_ucmd *ucmd);
};

/* @last is the last field user space must pass: it fixes the minimum size. */
#define IOCTL_OP(_ioctl, _fn, _struct, _last)                                  \
	[_IOC_NR(_ioctl) - NESTIOMMU_CMD_BASE] = {                             \
		.size = sizeof(_struct) +                                      \
			BUILD_BUG_ON_ZERO(sizeof(union nest_ucmd_buffer) <     \
					  sizeof(_struct)),                    \
		.min_size = offsetofend(_struct, _last),                       \
		.ioctl_num = _ioctl,                                           \
		.execute = _fn,                                                \
	}

static const struct nest_ioctl_op nest_ioctl_ops[] = {
	IOCTL_OP(NESTIOMMU_DESTROY, nest_destroy_ioctl, struct nestiommu_destroy,
		 id),
	IOCTL_OP(NESTIOMMU_IOAS_ALLOC, nest_ioas_alloc_ioctl,
		 struct nestiommu_ioas_alloc, out_ioas_id),
	IOCTL_OP(NESTIOMMU_IOAS_MAP, nest_ioas_map_ioctl,
		 struct nestiommu_ioas_map, iova),
	IOCTL_OP(NESTIOMMU_IOAS_UNMAP, nest_ioas_unmap_ioctl,
		 struct nestiommu_ioas_unmap, length),
	IOCTL_OP(NESTIOMMU_IOAS_IOVA_RANGES, nest_ioas_iova_ranges_ioctl,
		 struct nestiommu_ioas_iova_ranges, out_iova_alignment),
	IOCTL_OP(NESTIOMMU_GET_STATS, nest_get_stats_ioctl,
		 struct nestiommu_get_stats, stats_uptr),
	IOCTL_OP(NESTIOMMU_OPTION, nest_option_ioctl, struct nestiommu_option,
		 val64),
	IOCTL_OP(NESTIOMMU_IOAS_COPY, nest_ioas_copy_ioctl,
		 struct nestiommu_ioas_copy, src_iova),
	IOCTL_OP(NESTIOMMU_HWPT_ALLOC, nest_hwpt_alloc_ioctl,
		 struct nestiommu_hwpt_alloc, __reserved2),
	IOCTL_OP(NESTIOMMU_HWPT_INVALIDATE, nest_hwpt_invalidate_ioctl,
		 struct nestiommu_hwpt_invalidate, __reserved),
	IOCTL_OP(NESTIOMMU_HWPT_SET_DIRTY_TRACKING,
		 nest_hwpt_set_dirty_tracking_ioctl,
		 struct nestiommu_hwpt_set_dirty_tracking, __reserved),
	IOCTL_OP(NESTIOMMU_HWPT_GET_DIRTY_BITMAP,
		 nest_hwpt_get_dirty_bitmap_ioctl,
		 struct nestiommu_hwpt_get_dirty_bitmap, data),
	IOCTL_OP(NESTIOMMU_DEVICE_CREATE, nest_device_create_ioctl,
		 struct nestiommu_device_create, __reserved),
	IOCTL_OP(NESTIOMMU_DEVICE_ATTACH, nest_device_attach_ioctl,
		 struct nestiommu_device_attach, __reserved),
	IOCTL_OP(NESTIOMMU_DEVICE_DETACH, nest_device_detach_ioctl,
		 struct nestiommu_device_detach, pasid),
	IOCTL_OP(NESTIOMMU_GET_HW_INFO, nest_get_hw_info_ioctl,
		 struct nestiommu_hw_info, __reserved),
	IOCTL_OP(NESTIOMMU_DMA, nest_dma_ioctl, struct nestiommu_dma,
		 out_fault),
	IOCTL_OP(NESTIOMMU_TRANSLATE, nest_translate_ioctl,
		 struct nestiommu_translate, out_fault),
	IOCTL_OP(NESTIOMMU_FAULT_QUEUE_ALLOC, nest_fault_queue_alloc_ioctl,
		 struct nestiommu_fault_queue_alloc, out_fault_fd),
	IOCTL_OP(NESTIOMMU_DEVICE_RESET, nest_device_reset_ioctl,
		 struct nestiommu_device_reset, dev_id),
};

static long nest_fops_ioctl(struct file *filp, unsigned int cmd,
			    unsigned long arg)
{
	struct nest_ucmd ucmd = {
		.ctx = filp->private_data,
		.ubuffer = (void __user *)arg,
	};
	const struct nest_ioctl_op *op;
	union nest_ucmd_buffer buf;
	unsigned int nr = _IOC_NR(cmd);
	int rc;

	if (nr < NESTIOMMU_CMD_BASE ||
	    nr - NESTIOMMU_CMD_BASE >= ARRAY_SIZE(nest_ioctl_ops))
		return -ENOTTY;
	op = &nest_ioctl_ops[nr - NESTIOMMU_CMD_BASE];
	if (op->ioctl_num != cmd)
		return -ENOTTY;

	if (get_user(ucmd.user_size, (u32 __user *)ucmd.ubuffer))
		return -EFAULT;
	if (ucmd.user_size < op->min_size)
		return -EINVAL;
	/* Bounds the zero-tail check: no caller-sized scan of user memory. */
	if (ucmd.user_size > NESTIOMMU_STRUCT_SIZE_MAX)
		return -E2BIG;
	rc = copy_struct_from_user(&buf, op->size, ucmd.ubuffer,
				   ucmd.user_size);
	if (rc)
		return rc;
	ucmd.cmd = &buf;
	return op->execute(&ucmd);
}

static int nest_fops_open(struct inode *inode, struct file *filp)
{
	struct nest_ctx *ctx;
	int rc;

	if (nest_fail_site(NESTIOMMU_FAIL_SITE_CONTEXT))
		return -ENOMEM;
	ctx = kzalloc(sizeof(*ctx), GFP_KERNEL_ACCOUNT);
	if (!ctx)
		return -ENOMEM;
	xa_init_flags(&ctx->objects, XA_FLAGS_ALLOC1 | XA_FLAGS_ACCOUNT);
	rc = nest_iommu_init(&ctx->iommu);
	if (rc) {
		kfree(ctx);
		return rc;
	}
	ctx->owner_pid = task_tgid_nr(current);
	filp->private_data = ctx;
	return 0;
}

/*
 * No ioctl can run any more, so only references between objects remain:
 * destroy what nothing uses until the context is empty.
 */
static int nest_fops_release(struct inode *inode, struct file *filp)
{
	struct nest_ctx *ctx = filp->private_data;
	struct nest_object *obj;
	unsigned long index;
	bool progress;

	do {
		progress = false;
		xa_for_each(&ctx->objects, index, obj) {
			obj = nest_object_remove(ctx, index);
			if (IS_ERR(obj))
				continue;
			nest_object_free(obj);
			progress = true;
		}
	} while (progress);

	/* Anything left is a reference leak in the driver. */
	WARN_ON(!xa_empty(&ctx->objects));
	xa_destroy(&ctx->objects);
	nest_iommu_destroy(&ctx->iommu);
	kfree(ctx);
	return 0;
}

static const struct file_operations nest_fops = {
	.owner = THIS_MODULE,
	.open = nest_fops_open,
	.release = nest_fops_release,
	.unlocked_ioctl = nest_fops_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
	.llseek = noop_llseek,
};

static struct miscdevice nest_misc_dev = {
	.minor = MISC_DYNAMIC_MINOR,
	.name = NESTIOMMU_DEVICE_NAME,
	.fops = &nest_fops,
	.mode = 0600,
};

static struct dentry *nest_debugfs_root;

static int nest_debugfs_pinned_get(void *data, u64 *val)
{
	*val = nest_pages_pinned_total();
	return 0;
}
DEFINE_DEBUGFS_ATTRIBUTE(nest_debugfs_pinned_fops, nest_debugfs_pinned_get,
			 NULL, "%llu\n");

static int nest_debugfs_objects_get(void *data, u64 *val)
{
	*val = atomic64_read(&nest_objects_live);
	return 0;
}
DEFINE_DEBUGFS_ATTRIBUTE(nest_debugfs_objects_fops, nest_debugfs_objects_get,
			 NULL, "%llu\n");

static int nest_debugfs_pri_get(void *data, u64 *val)
{
	*val = nest_pri_outstanding_total();
	return 0;
}
DEFINE_DEBUGFS_ATTRIBUTE(nest_debugfs_pri_fops, nest_debugfs_pri_get, NULL,
			 "%llu\n");

static int __init nest_init(void)
{
	int rc;

	rc = nest_pri_init();
	if (rc)
		return rc;
	rc = misc_register(&nest_misc_dev);
	if (rc) {
		nest_pri_exit();
		return rc;
	}
	/* debugfs is optional: failures here are not errors. */
	nest_debugfs_root = debugfs_create_dir("nestiommu", NULL);
	debugfs_create_file_unsafe("pinned_pages", 0400, nest_debugfs_root,
				   NULL, &nest_debugfs_pinned_fops);
	debugfs_create_file_unsafe("objects", 0400, nest_debugfs_root, NULL,
				   &nest_debugfs_objects_fops);
	debugfs_create_file_unsafe("page_requests_outstanding", 0400,
				   nest_debugfs_root, NULL,
				   &nest_debugfs_pri_fops);
	nest_fail_debugfs_init(nest_debugfs_root);
	return 0;
}

static void __exit nest_exit(void)
{
	debugfs_remove_recursive(nest_debugfs_root);
	misc_deregister(&nest_misc_dev);
	nest_pri_exit();
}

module_init(nest_init);
module_exit(nest_exit);

MODULE_DESCRIPTION("nestiommu: software IOMMU with nested translation");
MODULE_LICENSE("GPL");
