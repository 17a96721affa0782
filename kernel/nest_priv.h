/* SPDX-License-Identifier: GPL-2.0 */
/*
 * nestiommu private definitions: every object struct and its locking.
 *
 * Terms: a range is [iova, last] with an inclusive "last"; "length" is
 * last - iova + 1. Addresses user space sees are IOVAs and user VAs only.
 *
 * Lock order (outermost first):
 *   nest_ioas::iova_rwsem
 *     nest_ctx::objects xa_lock (never held across anything that sleeps)
 *
 * Object lifetime follows iommufd: an object is reachable through the
 * context's xarray; "users" counts the xarray's own reference plus every
 * ioctl or object using it. DESTROY succeeds only when the xarray holds the
 * last reference, so teardown never fails and never races a user.
 */
#ifndef NEST_PRIV_H
#define NEST_PRIV_H

#include <linux/maple_tree.h>
#include <linux/mm_types.h>
#include <linux/refcount.h>
#include <linux/rwsem.h>
#include <linux/types.h>
#include <linux/xarray.h>
#include <uapi/linux/nestiommu.h>

enum nest_object_type {
	NEST_OBJ_NONE = NESTIOMMU_OBJ_NONE,
	NEST_OBJ_IOAS = NESTIOMMU_OBJ_IOAS,
	/* Matches any type in nest_get_object(). */
	NEST_OBJ_ANY = 255,
};

/* The context: one per open of /dev/nestiommu. */
struct nest_ctx {
	/* ID -> struct nest_object; protected by its own xa_lock. */
	struct xarray objects;
};

/* Header of every object; embedded first in each object struct. */
struct nest_object {
	refcount_t users;
	enum nest_object_type type;
	u32 id;
};

/*
 * One MAP: a run of pinned user pages visible at [iova, last]. Immutable
 * once inserted; owned by the IOAS's area tree.
 */
struct nest_area {
	u64 iova;
	u64 last;
	unsigned long user_va;
	u32 prot;		/* NESTIOMMU_IOAS_MAP_READABLE | _WRITEABLE */
	unsigned long npages;
	struct page **pages;
	/* The mm whose locked_vm the pages are charged to (mmgrab'ed). */
	struct mm_struct *mm;
};

/* Statistics of an IOAS; protected by iova_rwsem (written under write). */
struct nest_ioas_counters {
	u64 mappings;
	u64 mapped_bytes;
	u64 pinned_pages;
	u64 map_ops;
	u64 unmapped_areas;
};

/* An IO address space: the stage-2 (guest-physical) view. */
struct nest_ioas {
	struct nest_object obj;
	struct nest_ctx *ctx;
	/* Protects areas (structure and content) and counters. */
	struct rw_semaphore iova_rwsem;
	/* IOVA -> struct nest_area, one entry spanning [iova, last]. */
	struct maple_tree areas;
	struct nest_ioas_counters counters;
};

/* One ioctl call being handled. */
struct nest_ucmd {
	struct nest_ctx *ctx;
	void __user *ubuffer;
	u32 user_size;
	void *cmd;
};

/* main.c: object lifecycle */
struct nest_object *nest_object_alloc(struct nest_ctx *ctx, size_t size,
				      enum nest_object_type type);
void nest_object_abort(struct nest_ctx *ctx, struct nest_object *obj);
void nest_object_finalize(struct nest_ctx *ctx, struct nest_object *obj);
struct nest_object *nest_get_object(struct nest_ctx *ctx, u32 id,
				    enum nest_object_type type);
void nest_put_object(struct nest_object *obj);
int nest_ucmd_respond(struct nest_ucmd *ucmd, size_t cmd_len);

/* ioas.c */
int nest_ioas_alloc_ioctl(struct nest_ucmd *ucmd);
int nest_ioas_map_ioctl(struct nest_ucmd *ucmd);
int nest_ioas_unmap_ioctl(struct nest_ucmd *ucmd);
int nest_ioas_iova_ranges_ioctl(struct nest_ucmd *ucmd);
int nest_ioas_get_stats(struct nest_object *obj, void __user *uptr, u32 *len);
void nest_ioas_destroy(struct nest_object *obj);

static inline struct nest_ioas *nest_get_ioas(struct nest_ctx *ctx, u32 id)
{
	struct nest_object *obj = nest_get_object(ctx, id, NEST_OBJ_IOAS);

	if (IS_ERR(obj))
		return ERR_CAST(obj);
	return container_of(obj, struct nest_ioas, obj);
}

static inline void nest_put_ioas(struct nest_ioas *ioas)
{
	nest_put_object(&ioas->obj);
}

/* pages.c: pinning and locked-memory accounting */
int nest_pages_pin(struct nest_area *area);
void nest_pages_unpin(struct nest_area *area);
u64 nest_pages_pinned_total(void);

#endif /* NEST_PRIV_H */
