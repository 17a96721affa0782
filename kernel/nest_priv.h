/* SPDX-License-Identifier: GPL-2.0 */
/*
 * nestiommu private definitions: every object struct and its locking.
 *
 * Terms: a range is [iova, last] with an inclusive "last"; "length" is
 * last - iova + 1. Addresses user space sees are IOVAs and user VAs only.
 *
 * Locks, what each protects ("sleeps": a mutex or rwsem, whose holder may
 * sleep; a spinlock's holder never does). None disables interrupts:
 * nothing takes one from IRQ or softirq context (page request timeouts
 * and delayed responses run as nest_pri_wq work, in process context).
 *  - nest_device::attach_mutex (sleeps): the device's attachments; every
 *    ATTACH, REPLACE and DETACH holds it.
 *  - nest_ioas::iova_rwsem (sleeps): the IOAS's areas, counters, hwpts list
 *    and no_huge_pages, and the stage-2 table of each paging HWPT mirroring
 *    it: they change only under it held for write (MAP, COPY, UNMAP,
 *    HWPT alloc and destroy). Walks hold it for read, and so does every use
 *    of a pinned page found through a translation: once UNMAP has it for
 *    write, no DMA is using the pages it is about to unpin.
 *  - nest_iommu::lock (spinlock): the IOTLB, every device TLB and PASID
 *    cache, every translation counter (struct nestiommu_xlate_stats of
 *    HWPTs and devices) and the device list. A translation runs under it;
 *    the data copy does not.
 *  - nest_device::attach's xa_lock (spinlock): the PASID table itself.
 *    Writers hold attach_mutex too; nest_device_get_attached() holds it to
 *    reference a HWPT before a DETACH can drop it. The translation's
 *    re-check under nest_iommu::lock is an RCU xa_load(), not this lock.
 *  - nest_ctx::objects' xa_lock (spinlock): the ID table, and an object's
 *    "users" leaving 0 (lookup) against its removal (DESTROY).
 *  - the fault ring's lock (spinlock, struct nest_fault_ring in fault.c): a
 *    fault queue's records, counters, closed flag and pending groups.
 *  - nest_pri::lock (spinlock, pri.h): a PRI device's group and parked
 *    lists, credit, group IDs, disabled flag, groups' marks, PRI counters.
 *  - nest_pri::cancel_mutex (sleeps, pri.h): one canceller at a time.
 *  Library locks, all innermost: the maple tree's (ioas->areas), the IDA's
 *  (iommu->tags, taken with no driver lock held), wait queues' and
 *  completions'.
 *
 * Nesting (outer -> inner); two locks not chained here are never held
 * together (e.g. two IOASes' iova_rwsem: COPY drops the source's first;
 * attach_mutex and iova_rwsem; nest_pri::lock and the ring lock):
 *   attach_mutex -> attach xa_lock
 *   attach_mutex -> nest_iommu::lock
 *   attach_mutex -> cancel_mutex -> nest_pri::lock
 *                                -> fault ring lock
 *   iova_rwsem -> nest_iommu::lock -> fault ring lock (a DMA fault queued)
 *   iova_rwsem (write) -> page locks (unpinning)
 *   nest_ctx::objects' xa_lock: alone (lookups and DESTROY hold nothing).
 * Nobody waits for user space (page response credit, a group's answer, a
 * record to read) or for nest_pri_wq while holding any of these, so a
 * user that never answers stalls only its own DMA.
 *
 * None of these is held while user memory is read or written: a faulting
 * (userfaultfd, slow) user page must block only its own caller.
 *
 * Hook points (hooks.h; a BPF program runs there, under these locks) and
 * events (trace.h), all nestiommu:nest_*, with what is held when they fire:
 *  - nest_hook_translate, nest_translate, nest_stale_translation, and
 *    nest_fault of a walk: iova_rwsem (read) and nest_iommu::lock.
 *  - nest_fault_queue_overflow: the same when a DMA fault is queued,
 *    nothing when a page request group is.
 *  - nest_map, nest_unmap: iova_rwsem (write).
 *  - nest_attach: attach_mutex. nest_detach: attach_mutex, or nothing when
 *    the device is destroyed.
 *  - nest_page_response: cancel_mutex when a canceller answers (and
 *    attach_mutex under a REPLACE or DETACH), else nothing.
 *  - nest_hook_map, nest_hook_invalidate, nest_hook_page_request,
 *    nest_hook_page_response, nest_invalidate, nest_dma,
 *    nest_page_request, nest_page_request_timeout, and nest_fault with
 *    nothing attached: nothing. (No event or hook runs under the ring lock
 *    or nest_pri::lock.)
 *
 * Object lifetime follows iommufd: an object is reachable through the
 * context's xarray; "users" counts the xarray's own reference plus every
 * ioctl or object using it. DESTROY succeeds only when the xarray holds the
 * last reference, so teardown never fails and never races a user.
 */
#ifndef NEST_PRIV_H
#define NEST_PRIV_H

#include <linux/idr.h>
#include <linux/list.h>
#include <linux/maple_tree.h>
#include <linux/mutex.h>
#include <linux/spinlock.h>
#include <linux/mm_types.h>
#include <linux/refcount.h>
#include <linux/rwsem.h>
#include <linux/types.h>
#include <linux/xarray.h>
#include <uapi/linux/nestiommu.h>

#include "core/xlate.h"

enum nest_object_type {
	NEST_OBJ_NONE = NESTIOMMU_OBJ_NONE,
	NEST_OBJ_IOAS = NESTIOMMU_OBJ_IOAS,
	NEST_OBJ_HWPT_PAGING = NESTIOMMU_OBJ_HWPT_PAGING,
	NEST_OBJ_HWPT_NESTED = NESTIOMMU_OBJ_HWPT_NESTED,
	NEST_OBJ_DEVICE = NESTIOMMU_OBJ_DEVICE,
	NEST_OBJ_FAULT_QUEUE = NESTIOMMU_OBJ_FAULT_QUEUE,
	NEST_OBJ_NR,
	/* Matches either HWPT type in nest_get_object(). */
	NEST_OBJ_HWPT = 254,
	/* Matches any type in nest_get_object(). */
	NEST_OBJ_ANY = 255,
};

/* The sizes user space may choose are in the uAPI (NESTIOMMU_*_ENTRIES). */
#define NEST_IOTLB_WAYS			4
#define NEST_DEVTLB_WAYS		4

/* The emulated IOMMU of a context: its IOTLB and who shares it. */
struct nest_iommu {
	spinlock_t lock;
	struct nest_tlb iotlb;
	/* kvcalloc'ed storage of @iotlb */
	struct nest_tlb_entry *iotlb_entries;
	u32 iotlb_nr;
	bool stale_audit;
	/*
	 * Cache tags of live HWPTs (struct nest_hwpt::tag). A tag is freed
	 * only after the caches forgot it, so no entry outlives its HWPT.
	 */
	struct ida tags;
	/* struct nest_device::node, every device of the context */
	struct list_head devices;
};

/* The context: one per open of /dev/nestiommu. */
struct nest_ctx {
	/* ID -> struct nest_object; protected by its own xa_lock. */
	struct xarray objects;
	struct nest_iommu iommu;
	/*
	 * The tgid that opened the context: its DMA, page requests and
	 * responses belong to it, whoever writes a response or times out.
	 */
	u32 owner_pid;
};

/* Header of every object; embedded first in each object struct. */
struct nest_object {
	refcount_t users;
	enum nest_object_type type;
	u32 id;
};

/*
 * Pinned user pages, shared by the areas of one MAP and of every COPY of
 * it; freed (unpinned, uncharged) with the last area using them.
 */
struct nest_pin {
	refcount_t users;
	bool writeable;
	unsigned long npages;
	struct page **pages;
	/* The user whose locked_vm the pages are charged to (a reference) */
	struct user_struct *user;
	/* The mm whose pinned_vm shows them (mmgrab'ed) */
	struct mm_struct *mm;
};

/*
 * One MAP or COPY: pinned pages visible at [iova, last]. Immutable once
 * inserted; owned by the IOAS's area tree.
 */
struct nest_area {
	u64 iova;
	u64 last;
	unsigned long user_va;
	u32 prot;		/* NESTIOMMU_IOAS_MAP_READABLE | _WRITEABLE */
	unsigned long npages;
	struct nest_pin *pin;
	/* Index in pin->pages of the area's first page. */
	unsigned long pin_first;
	/* This area's MAP pinned the pages (a COPY did not). */
	bool pinned_here;
	/* Unique in its IOAS: the IOAS's map_ops when it was added. */
	u64 seq;
};

static inline struct page *nest_area_page(const struct nest_area *area,
					  unsigned long i)
{
	return area->pin->pages[area->pin_first + i];
}

/* Statistics of an IOAS; protected by iova_rwsem (written under write). */
struct nest_ioas_counters {
	u64 mappings;
	u64 mapped_bytes;
	u64 pinned_pages;
	u64 map_ops;
	u64 unmapped_areas;
	u64 injected_map_errors;
	u64 hook_rejected;
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
	/* Paging HWPTs mirroring the IOAS (struct nest_hwpt::ioas_node). */
	struct list_head hwpts;
	/* OPTION_HUGE_PAGES is 0 */
	bool no_huge_pages;
};

/*
 * A HWPT. Paging: owns a stage-2 table mirroring @ioas. Nested: a stage-1
 * descriptor over @parent's stage 2. The counters are guarded by
 * nest_iommu::lock.
 */
struct nest_hwpt {
	struct nest_object obj;
	struct nest_ctx *ctx;
	/* Tags the HWPT's cache entries; unique among live HWPTs. */
	u32 tag;
	struct nestiommu_xlate_stats stats;
	/* Paging: itself. Nested: the parent. The owner of the stage 2. */
	struct nest_hwpt *s2_hwpt;
	/* The IOAS the stage 2 mirrors, whose iova_rwsem guards @s2. */
	struct nest_ioas *ioas;
	/* Paging only */
	struct nest_s2 s2;
	struct list_head ioas_node;
	u32 flags;		/* NESTIOMMU_HWPT_ALLOC_* */
	bool dirty_tracking;	/* enabled by SET_DIRTY_TRACKING */
	/* FAULT_ID_VALID: where faults are reported (referenced), or NULL */
	struct nest_fault_queue *fault_queue;
	/* Nested only */
	struct nest_hwpt *parent;
	struct nest_s1_desc s1;
};

/*
 * A request without PASID is keyed (attachment, caches) by
 * NESTIOMMU_PASID_NONE; kernel/core, which has no uAPI, names it
 * NEST_PASID_NONE.
 */
static_assert(NEST_PASID_NONE == NESTIOMMU_PASID_NONE);

/* An emulated PCIe function. */
struct nest_device {
	struct nest_object obj;
	struct nest_ctx *ctx;
	u32 rid;
	u32 pasid_bits;
	u32 flags;		/* NESTIOMMU_DEVICE_* */
	/* Serialises attach, replace and detach. */
	struct mutex attach_mutex;
	/* PASID (or NESTIOMMU_PASID_NONE) -> struct nest_hwpt, with a ref. */
	struct xarray attach;
	/* Guarded by nest_iommu::lock from here on. */
	struct list_head node;
	struct nestiommu_xlate_stats stats;
	struct nest_pasid_cache pasid_cache;
	struct nest_pasid_entry pasid_entries[NESTIOMMU_PASID_CACHE_ENTRIES];
	/* PRI only: page request state (pri.h), or NULL */
	struct nest_pri *pri;
	/* ATS only: the device TLB and its kvcalloc'ed storage */
	struct nest_tlb devtlb;
	struct nest_tlb_entry *devtlb_entries;
	u32 devtlb_nr;
};

/* One ioctl call being handled. */
struct nest_ucmd {
	struct nest_ctx *ctx;
	void __user *ubuffer;
	u32 user_size;
	void *cmd;
};

/* main.c: object lifecycle */
struct nest_object *__nest_object_alloc(struct nest_ctx *ctx, size_t size,
					enum nest_object_type type);
/*
 * nest_object_alloc() - allocate the object struct @ptr points to, whose
 * first member must be "struct nest_object obj" (checked at build time, so
 * an ERR_PTR passes through container_of() unchanged). Returns the typed
 * pointer or an ERR_PTR; see __nest_object_alloc().
 */
#define nest_object_alloc(ctx, ptr, type)					\
	container_of(__nest_object_alloc(ctx, sizeof(*(ptr)) +			\
			BUILD_BUG_ON_ZERO(offsetof(typeof(*(ptr)), obj) != 0),	\
			type),							\
		     typeof(*(ptr)), obj)
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

int nest_ioas_copy_ioctl(struct nest_ucmd *ucmd);
int nest_ioas_set_huge_pages(struct nest_ioas *ioas, bool on);
struct nest_area *nest_ioas_find_area(struct nest_ioas *ioas, u64 iova);

/* pages.c: pinning and locked-memory accounting */
struct nest_pin *nest_pin_create(unsigned long user_va, unsigned long npages,
				 bool writeable);
void nest_pin_put(struct nest_pin *pin);
u64 nest_pages_pinned_total(void);

/* mem.c: the core's memory services (pinned pages, table pages) */
extern const struct nest_mem_ops nest_mem_ops;

/* hwpt.c */
int nest_hwpt_alloc_ioctl(struct nest_ucmd *ucmd);
int nest_hwpt_invalidate_ioctl(struct nest_ucmd *ucmd);
int nest_hwpt_set_dirty_tracking_ioctl(struct nest_ucmd *ucmd);
int nest_hwpt_get_dirty_bitmap_ioctl(struct nest_ucmd *ucmd);
void nest_hwpt_destroy(struct nest_object *obj);
int nest_hwpt_get_stats(struct nest_object *obj, void __user *uptr, u32 *len);
int nest_hwpt_map_area(struct nest_hwpt *hwpt, struct nest_area *area);
void nest_hwpt_unmap_area(struct nest_hwpt *hwpt, struct nest_area *area);

static inline struct nest_hwpt *nest_get_hwpt(struct nest_ctx *ctx, u32 id,
					      enum nest_object_type type)
{
	struct nest_object *obj = nest_get_object(ctx, id, type);

	if (IS_ERR(obj))
		return ERR_CAST(obj);
	return container_of(obj, struct nest_hwpt, obj);
}

/* device.c */
int nest_device_create_ioctl(struct nest_ucmd *ucmd);
int nest_device_attach_ioctl(struct nest_ucmd *ucmd);
int nest_device_detach_ioctl(struct nest_ucmd *ucmd);
int nest_get_hw_info_ioctl(struct nest_ucmd *ucmd);
void nest_device_destroy(struct nest_object *obj);
int nest_device_get_stats(struct nest_object *obj, void __user *uptr,
			  u32 *len);
int nest_device_set_devtlb_entries(struct nest_device *dev, u64 nr);
int nest_device_reset_ioctl(struct nest_ucmd *ucmd);
struct nest_hwpt *nest_device_get_attached(struct nest_device *dev,
					   u32 key);

static inline struct nest_device *nest_get_device(struct nest_ctx *ctx, u32 id)
{
	struct nest_object *obj = nest_get_object(ctx, id, NEST_OBJ_DEVICE);

	if (IS_ERR(obj))
		return ERR_CAST(obj);
	return container_of(obj, struct nest_device, obj);
}

/* iommu.c: the context's IOMMU, its caches and options */
int nest_iommu_init(struct nest_iommu *iommu);
void nest_iommu_destroy(struct nest_iommu *iommu);
int nest_iommu_resize_tlb(struct nest_iommu *iommu, struct nest_tlb *tlb,
			  struct nest_tlb_entry **storage, u32 *nr, u64 nr_new,
			  u32 min, u32 max, u32 ways);
int nest_iommu_set_iotlb_entries(struct nest_iommu *iommu, u64 nr);
u32 nest_iommu_drop_s2(struct nest_iommu *iommu, u32 s2_id, u64 gpa,
		       u64 length);
int nest_iommu_invalidate(struct nest_iommu *iommu, const struct nest_inv *inv,
			  u32 *dropped);
/* nest_iommu_forget_hwpt(): every PASID */
#define NEST_PASID_ALL		(1ULL << 32)
void nest_iommu_forget_hwpt(struct nest_iommu *iommu, u32 hwpt_id, u64 pasid);
int nest_iommu_copy_stats(struct nest_iommu *iommu,
			  const struct nestiommu_xlate_stats *stats,
			  void __user *uptr, u32 *len);
int nest_stats_to_user(const void *stats, size_t size, void __user *uptr,
		       u32 *len);
int nest_option_ioctl(struct nest_ucmd *ucmd);

/* fault.c */
struct nest_fault_queue;
int nest_fault_queue_alloc_ioctl(struct nest_ucmd *ucmd);
void nest_fault_queue_destroy(struct nest_object *obj);
int nest_fault_queue_get_stats(struct nest_object *obj, void __user *uptr,
			       u32 *len);
struct nest_fault_queue *nest_get_fault_queue(struct nest_ctx *ctx, u32 id);
struct nest_object *nest_fault_queue_obj(struct nest_fault_queue *q);
/* The ring's API for the translation path and pri.c: fault.h */

/* dma.c */
int nest_dma_ioctl(struct nest_ucmd *ucmd);
int nest_translate_ioctl(struct nest_ucmd *ucmd);

#endif /* NEST_PRIV_H */
