/* SPDX-License-Identifier: GPL-2.0 */
/*
 * nestiommu tracepoints: system "nestiommu". Records hold values only (IDs,
 * IOVAs, user VAs, flags), never kernel pointers, and print as key=value.
 *
 * Every event name starts with "nest_" (as kvm's start with "kvm_"): BPF
 * raw_tp and tp_btf look tracepoints up by bare name, built-in ones first,
 * so an event named like a core kernel one (iommu:map, iommu:unmap) could
 * not be attached to, and the module's btf_trace_<event> typedefs would
 * clash with vmlinux's. No built-in tracepoint starts with "nest_".
 *
 * "pasid" in the events is the PASID, or NESTIOMMU_PASID_NONE (0xffffffff)
 * for requests without PASID.
 *
 * Timed operations have a *_start and an end event (nest_dma_start and
 * nest_dma, nest_invalidate_start and _end, nest_map_start and _end,
 * nest_unmap_start and _end, nest_walk_start and _end), both emitted by
 * the task of the ioctl, with no other pair of the same kind between them
 * in that task: perf pairs them by thread, as perf kvm stat does. "errno"
 * in an end event is the ioctl's return value: 0 or a negative errno.
 */
#undef TRACE_SYSTEM
#define TRACE_SYSTEM nestiommu

#if !defined(_NEST_TRACE_H) || defined(TRACE_HEADER_MULTI_READ)
#define _NEST_TRACE_H

#include <linux/tracepoint.h>

#include "hooks.h"
#include "nest_priv.h"

/*
 * Symbolic fields print the names of the print tables below; the records
 * hold the number, which is the uAPI's value (the core's values equal it,
 * see the BUILD_BUG_ONs). Every enum constant a table names needs its
 * TRACE_DEFINE_ENUM: without it the format file user space parses (perf,
 * trace-cmd) holds the bare identifier, which libtraceevent cannot resolve,
 * and it prints the number. README.md's table of these numbers, for event
 * filters and hist keys, is generated from these tables by
 * tools/scripts/trace_values.py: keep them to { CONSTANT, "name" }.
 */
static_assert(NEST_XLATE_WALK == NESTIOMMU_XLATE_WALK &&
	      NEST_XLATE_IOTLB == NESTIOMMU_XLATE_IOTLB &&
	      NEST_XLATE_DEVTLB == NESTIOMMU_XLATE_DEVTLB);

TRACE_DEFINE_ENUM(NESTIOMMU_IOAS_MAP_READABLE);
TRACE_DEFINE_ENUM(NESTIOMMU_IOAS_MAP_WRITEABLE);

#define show_nest_prot(prot)                                                   \
	__print_flags(prot, "|", { NESTIOMMU_IOAS_MAP_READABLE, "R" },         \
		      { NESTIOMMU_IOAS_MAP_WRITEABLE, "W" })

DECLARE_EVENT_CLASS(nest_ioas_area,
	TP_PROTO(u32 ioas_id, const struct nest_area *area),
	TP_ARGS(ioas_id, area),
	TP_STRUCT__entry(
		__field(u32, ioas_id)
		__field(u32, prot)
		__field(u64, iova)
		__field(u64, length)
		__field(u64, user_va)
	),
	TP_fast_assign(
		__entry->ioas_id = ioas_id;
		__entry->prot = area->prot;
		__entry->iova = area->iova;
		__entry->length = area->last - area->iova + 1;
		__entry->user_va = area->user_va;
	),
	TP_printk("ioas=%u iova=0x%llx length=0x%llx user_va=0x%llx prot=%s",
		  __entry->ioas_id, __entry->iova, __entry->length,
		  __entry->user_va, show_nest_prot(__entry->prot))
);

/* A MAP succeeded: one event per mapping. */
DEFINE_EVENT(nest_ioas_area, nest_map,
	TP_PROTO(u32 ioas_id, const struct nest_area *area),
	TP_ARGS(ioas_id, area)
);

/*
 * A MAP that passed its argument checks and found its IOAS failed: @err
 * is the ioctl's errno, @injected whether nest_hook_map chose it (a
 * failure site's injection shows in nest_fail_site instead).
 */
TRACE_EVENT(nest_map_error,
	TP_PROTO(u32 ioas_id, u64 iova, u64 length, int err, bool injected,
		 u32 pid),
	TP_ARGS(ioas_id, iova, length, err, injected, pid),
	TP_STRUCT__entry(
		__field(u32, ioas_id)
		__field(u64, iova)
		__field(u64, length)
		__field(int, err)
		__field(bool, injected)
		__field(u32, pid)
	),
	TP_fast_assign(
		__entry->ioas_id = ioas_id;
		__entry->iova = iova;
		__entry->length = length;
		__entry->err = err;
		__entry->injected = injected;
		__entry->pid = pid;
	),
	TP_printk("ioas=%u iova=0x%llx length=0x%llx errno=%d injected=%d pid=%u",
		  __entry->ioas_id, __entry->iova, __entry->length,
		  __entry->err, __entry->injected, __entry->pid)
);

/* A mapping was removed (UNMAP, IOAS destroy or close): one per mapping. */
DEFINE_EVENT(nest_ioas_area, nest_unmap,
	TP_PROTO(u32 ioas_id, const struct nest_area *area),
	TP_ARGS(ioas_id, area)
);

DECLARE_EVENT_CLASS(nest_ioas_range,
	TP_PROTO(u32 ioas_id, u64 iova, u64 length),
	TP_ARGS(ioas_id, iova, length),
	TP_STRUCT__entry(
		__field(u32, ioas_id)
		__field(u64, iova)
		__field(u64, length)
	),
	TP_fast_assign(
		__entry->ioas_id = ioas_id;
		__entry->iova = iova;
		__entry->length = length;
	),
	TP_printk("ioas=%u iova=0x%llx length=0x%llx",
		  __entry->ioas_id, __entry->iova, __entry->length)
);

/*
 * An IOAS_MAP that found its IOAS starts (@iova: the caller's, a hint
 * without FIXED_IOVA); nest_map_end follows in the same task.
 */
DEFINE_EVENT(nest_ioas_range, nest_map_start,
	TP_PROTO(u32 ioas_id, u64 iova, u64 length),
	TP_ARGS(ioas_id, iova, length)
);

/*
 * The IOAS_MAP of the task's last nest_map_start ended: @iova is the
 * IOVA it mapped at, @pinned the pages it pinned (0 on error).
 */
TRACE_EVENT(nest_map_end,
	TP_PROTO(u32 ioas_id, u64 iova, u64 length, u64 pinned, int err),
	TP_ARGS(ioas_id, iova, length, pinned, err),
	TP_STRUCT__entry(
		__field(u32, ioas_id)
		__field(int, err)
		__field(u64, iova)
		__field(u64, length)
		__field(u64, pinned)
	),
	TP_fast_assign(
		__entry->ioas_id = ioas_id;
		__entry->err = err;
		__entry->iova = iova;
		__entry->length = length;
		__entry->pinned = pinned;
	),
	TP_printk("ioas=%u iova=0x%llx length=0x%llx pinned=%llu errno=%d",
		  __entry->ioas_id, __entry->iova, __entry->length,
		  __entry->pinned, __entry->err)
);

/*
 * An IOAS_UNMAP that found its IOAS starts (iova 0 and length
 * 0xffffffffffffffff: unmap all); nest_unmap_end follows in the same task.
 */
DEFINE_EVENT(nest_ioas_range, nest_unmap_start,
	TP_PROTO(u32 ioas_id, u64 iova, u64 length),
	TP_ARGS(ioas_id, iova, length)
);

/*
 * The IOAS_UNMAP of the task's last nest_unmap_start ended: @unmapped
 * bytes were unmapped (one nest_unmap per mapping came before).
 */
TRACE_EVENT(nest_unmap_end,
	TP_PROTO(u32 ioas_id, u64 iova, u64 length, u64 unmapped, int err),
	TP_ARGS(ioas_id, iova, length, unmapped, err),
	TP_STRUCT__entry(
		__field(u32, ioas_id)
		__field(int, err)
		__field(u64, iova)
		__field(u64, length)
		__field(u64, unmapped)
	),
	TP_fast_assign(
		__entry->ioas_id = ioas_id;
		__entry->err = err;
		__entry->iova = iova;
		__entry->length = length;
		__entry->unmapped = unmapped;
	),
	TP_printk("ioas=%u iova=0x%llx length=0x%llx unmapped=0x%llx errno=%d",
		  __entry->ioas_id, __entry->iova, __entry->length,
		  __entry->unmapped, __entry->err)
);

TRACE_DEFINE_ENUM(NESTIOMMU_XLATE_WALK);
TRACE_DEFINE_ENUM(NESTIOMMU_XLATE_IOTLB);
TRACE_DEFINE_ENUM(NESTIOMMU_XLATE_DEVTLB);

#define show_nest_source(source)                                               \
	__print_symbolic(source, { NESTIOMMU_XLATE_WALK, "walk" },             \
			 { NESTIOMMU_XLATE_IOTLB, "iotlb" },                   \
			 { NESTIOMMU_XLATE_DEVTLB, "devtlb" })

TRACE_DEFINE_ENUM(NESTIOMMU_FAULT_REASON_UNKNOWN);
TRACE_DEFINE_ENUM(NESTIOMMU_FAULT_REASON_PASID_FETCH);
TRACE_DEFINE_ENUM(NESTIOMMU_FAULT_REASON_BAD_PASID_ENTRY);
TRACE_DEFINE_ENUM(NESTIOMMU_FAULT_REASON_PASID_INVALID);
TRACE_DEFINE_ENUM(NESTIOMMU_FAULT_REASON_WALK_EABT);
TRACE_DEFINE_ENUM(NESTIOMMU_FAULT_REASON_PTE_FETCH);
TRACE_DEFINE_ENUM(NESTIOMMU_FAULT_REASON_PERMISSION);
TRACE_DEFINE_ENUM(NESTIOMMU_FAULT_REASON_ACCESS);
TRACE_DEFINE_ENUM(NESTIOMMU_FAULT_REASON_OOR_ADDRESS);

#define show_nest_reason(reason)                                               \
	__print_symbolic(reason,                                               \
			 { NESTIOMMU_FAULT_REASON_UNKNOWN, "none" },           \
			 { NESTIOMMU_FAULT_REASON_PASID_FETCH, "pasid_fetch" }, \
			 { NESTIOMMU_FAULT_REASON_BAD_PASID_ENTRY, "bad_pasid_entry" }, \
			 { NESTIOMMU_FAULT_REASON_PASID_INVALID, "pasid_invalid" }, \
			 { NESTIOMMU_FAULT_REASON_WALK_EABT, "walk_eabt" },    \
			 { NESTIOMMU_FAULT_REASON_PTE_FETCH, "pte_fetch" },    \
			 { NESTIOMMU_FAULT_REASON_PERMISSION, "permission" },  \
			 { NESTIOMMU_FAULT_REASON_ACCESS, "access" },          \
			 { NESTIOMMU_FAULT_REASON_OOR_ADDRESS, "oor_address" })

TRACE_DEFINE_ENUM(NESTIOMMU_ACCESS_READ);
TRACE_DEFINE_ENUM(NESTIOMMU_ACCESS_WRITE);
TRACE_DEFINE_ENUM(NESTIOMMU_ACCESS_EXEC);
TRACE_DEFINE_ENUM(NESTIOMMU_ACCESS_PRIV);

#define show_nest_access(access)                                               \
	__print_flags(access, "|", { NESTIOMMU_ACCESS_READ, "R" },             \
		      { NESTIOMMU_ACCESS_WRITE, "W" },                         \
		      { NESTIOMMU_ACCESS_EXEC, "X" },                          \
		      { NESTIOMMU_ACCESS_PRIV, "P" })

TRACE_DEFINE_ENUM(NESTIOMMU_INV_CACHE_IOTLB);
TRACE_DEFINE_ENUM(NESTIOMMU_INV_CACHE_DEV_IOTLB);
TRACE_DEFINE_ENUM(NESTIOMMU_INV_CACHE_PASID);

#define show_nest_inv_cache(cache)                                             \
	__print_flags(cache, "|", { NESTIOMMU_INV_CACHE_IOTLB, "iotlb" },      \
		      { NESTIOMMU_INV_CACHE_DEV_IOTLB, "dev_iotlb" },          \
		      { NESTIOMMU_INV_CACHE_PASID, "pasid" })

TRACE_DEFINE_ENUM(NESTIOMMU_INV_GRANU_DOMAIN);
TRACE_DEFINE_ENUM(NESTIOMMU_INV_GRANU_PASID);
TRACE_DEFINE_ENUM(NESTIOMMU_INV_GRANU_ADDR);

#define show_nest_inv_granu(granu)                                             \
	__print_symbolic(granu, { NESTIOMMU_INV_GRANU_DOMAIN, "domain" },      \
			 { NESTIOMMU_INV_GRANU_PASID, "pasid" },               \
			 { NESTIOMMU_INV_GRANU_ADDR, "addr" })

TRACE_DEFINE_ENUM(NESTIOMMU_PAGE_RESP_SUCCESS);
TRACE_DEFINE_ENUM(NESTIOMMU_PAGE_RESP_INVALID);
TRACE_DEFINE_ENUM(NESTIOMMU_PAGE_RESP_FAILURE);

#define show_nest_resp_code(code)                                              \
	__print_symbolic(code, { NESTIOMMU_PAGE_RESP_SUCCESS, "success" },     \
			 { NESTIOMMU_PAGE_RESP_INVALID, "invalid" },           \
			 { NESTIOMMU_PAGE_RESP_FAILURE, "failure" })

/* The injected marks are #defines (hooks.h): no TRACE_DEFINE_ENUM. */
#define show_nest_pr_injected(injected)                                        \
	__print_flags(injected, "|", { NEST_PR_INJ_FORCED, "forced" },         \
		      { NEST_PR_INJ_DROPPED, "dropped" },                      \
		      { NEST_PR_INJ_DUPLICATED, "duplicated" },                \
		      { NEST_PR_INJ_LAST_CLEARED, "last_cleared" })

#define show_nest_resp_injected(injected)                                      \
	__print_flags(injected, "|", { NEST_RESP_INJ_CODE, "code" },           \
		      { NEST_RESP_INJ_DELAYED, "delayed" })

DECLARE_EVENT_CLASS(nest_attach_class,
	TP_PROTO(u32 dev_id, u32 rid, u32 pasid, u32 hwpt_id, u32 old_hwpt_id),
	TP_ARGS(dev_id, rid, pasid, hwpt_id, old_hwpt_id),
	TP_STRUCT__entry(
		__field(u32, dev_id)
		__field(u32, rid)
		__field(u32, pasid)
		__field(u32, hwpt_id)
		__field(u32, old_hwpt_id)
	),
	TP_fast_assign(
		__entry->dev_id = dev_id;
		__entry->rid = rid;
		__entry->pasid = pasid;
		__entry->hwpt_id = hwpt_id;
		__entry->old_hwpt_id = old_hwpt_id;
	),
	TP_printk("dev=%u rid=0x%x pasid=0x%x hwpt=%u old_hwpt=%u",
		  __entry->dev_id, __entry->rid, __entry->pasid,
		  __entry->hwpt_id, __entry->old_hwpt_id)
);

/* A HWPT was attached (old_hwpt != 0: it replaced that one). */
DEFINE_EVENT(nest_attach_class, nest_attach,
	TP_PROTO(u32 dev_id, u32 rid, u32 pasid, u32 hwpt_id, u32 old_hwpt_id),
	TP_ARGS(dev_id, rid, pasid, hwpt_id, old_hwpt_id)
);

/* A HWPT was detached (DETACH, or the device was destroyed). */
DEFINE_EVENT(nest_attach_class, nest_detach,
	TP_PROTO(u32 dev_id, u32 rid, u32 pasid, u32 hwpt_id, u32 old_hwpt_id),
	TP_ARGS(dev_id, rid, pasid, hwpt_id, old_hwpt_id)
);

/*
 * One HWPT_INVALIDATE entry was carried out, or a BPF program at
 * nest_hook_invalidate dropped it (injected_drop: nothing dropped) or
 * failed it (injected_error: the errno).
 */
TRACE_EVENT(nest_invalidate,
	TP_PROTO(u32 hwpt_id, const struct nestiommu_inv_entry *e, u32 dropped,
		 bool injected_drop, u32 injected_error),
	TP_ARGS(hwpt_id, e, dropped, injected_drop, injected_error),
	TP_STRUCT__entry(
		__field(u32, hwpt_id)
		__field(u32, cache)
		__field(u32, granularity)
		__field(u32, flags)
		__field(u32, pasid)
		__field(u32, dropped)
		__field(u32, injected_error)
		__field(bool, injected_drop)
		__field(u64, addr)
		__field(u64, granule_size)
		__field(u64, nb_granules)
	),
	TP_fast_assign(
		__entry->hwpt_id = hwpt_id;
		__entry->cache = e->cache;
		__entry->granularity = e->granularity;
		__entry->flags = e->flags;
		__entry->pasid = e->pasid;
		__entry->dropped = dropped;
		__entry->injected_error = injected_error;
		__entry->injected_drop = injected_drop;
		__entry->addr = e->addr;
		__entry->granule_size = e->granule_size;
		__entry->nb_granules = e->nb_granules;
	),
	TP_printk("hwpt=%u cache=%s granu=%s flags=0x%x pasid=0x%x addr=0x%llx granule=0x%llx nb=%llu dropped=%u injected_drop=%u injected_error=%u",
		  __entry->hwpt_id, show_nest_inv_cache(__entry->cache),
		  show_nest_inv_granu(__entry->granularity), __entry->flags,
		  __entry->pasid, __entry->addr,
		  __entry->granule_size, __entry->nb_granules,
		  __entry->dropped, __entry->injected_drop,
		  __entry->injected_error)
);

/*
 * A HWPT_INVALIDATE that found its HWPT starts, asking @entries entries;
 * nest_invalidate_end follows in the same task (one nest_invalidate per
 * entry carried out between them).
 */
TRACE_EVENT(nest_invalidate_start,
	TP_PROTO(u32 hwpt_id, u32 entries),
	TP_ARGS(hwpt_id, entries),
	TP_STRUCT__entry(
		__field(u32, hwpt_id)
		__field(u32, entries)
	),
	TP_fast_assign(
		__entry->hwpt_id = hwpt_id;
		__entry->entries = entries;
	),
	TP_printk("hwpt=%u entries=%u", __entry->hwpt_id, __entry->entries)
);

/*
 * The HWPT_INVALIDATE of the task's last nest_invalidate_start ended:
 * @handled entries (what it reports to user space), @dropped cache
 * entries dropped by them in all.
 */
TRACE_EVENT(nest_invalidate_end,
	TP_PROTO(u32 hwpt_id, u32 handled, u64 dropped, int err),
	TP_ARGS(hwpt_id, handled, dropped, err),
	TP_STRUCT__entry(
		__field(u32, hwpt_id)
		__field(u32, handled)
		__field(u64, dropped)
		__field(int, err)
	),
	TP_fast_assign(
		__entry->hwpt_id = hwpt_id;
		__entry->handled = handled;
		__entry->dropped = dropped;
		__entry->err = err;
	),
	TP_printk("hwpt=%u handled=%u dropped=%llu errno=%d",
		  __entry->hwpt_id, __entry->handled, __entry->dropped,
		  __entry->err)
);

/*
 * A page-table walk starts because the caches missed (or a NO_CACHE
 * TRANSLATE); nest_walk_end follows in the same task (the DMA's or
 * TRANSLATE's), under the IOMMU lock, with nothing else between.
 */
TRACE_EVENT(nest_walk_start,
	TP_PROTO(u32 dev_id, u32 pasid, u32 hwpt_id, u64 iova, u32 access),
	TP_ARGS(dev_id, pasid, hwpt_id, iova, access),
	TP_STRUCT__entry(
		__field(u32, dev_id)
		__field(u32, pasid)
		__field(u32, hwpt_id)
		__field(u32, access)
		__field(u64, iova)
	),
	TP_fast_assign(
		__entry->dev_id = dev_id;
		__entry->pasid = pasid;
		__entry->hwpt_id = hwpt_id;
		__entry->access = access;
		__entry->iova = iova;
	),
	TP_printk("dev=%u pasid=0x%x hwpt=%u iova=0x%llx access=%s",
		  __entry->dev_id, __entry->pasid, __entry->hwpt_id,
		  __entry->iova, show_nest_access(__entry->access))
);

/*
 * The task's walk ended: the levels and memory references of a walk
 * that translated, or (@fault non-NULL) its fault's reason, levels and
 * mem_refs 0.
 */
TRACE_EVENT(nest_walk_end,
	TP_PROTO(u32 dev_id, u32 pasid, u32 hwpt_id, u64 iova,
		 const struct nest_xlate_res *res,
		 const struct nest_fault *fault),
	TP_ARGS(dev_id, pasid, hwpt_id, iova, res, fault),
	TP_STRUCT__entry(
		__field(u32, dev_id)
		__field(u32, pasid)
		__field(u32, hwpt_id)
		__field(u32, reason)
		__field(u64, iova)
		__field(u8, levels)
		__field(u8, mem_refs)
	),
	TP_fast_assign(
		__entry->dev_id = dev_id;
		__entry->pasid = pasid;
		__entry->hwpt_id = hwpt_id;
		__entry->reason = fault ? fault->reason : 0;
		__entry->iova = iova;
		__entry->levels = fault ? 0 : nest_xlate_levels(res);
		__entry->mem_refs = fault ? 0 : res->mem_refs;
	),
	TP_printk("dev=%u pasid=0x%x hwpt=%u iova=0x%llx levels=%u mem_refs=%u reason=%s",
		  __entry->dev_id, __entry->pasid, __entry->hwpt_id,
		  __entry->iova, __entry->levels, __entry->mem_refs,
		  show_nest_reason(__entry->reason))
);

/* One page was translated (DMA or TRANSLATE). */
TRACE_EVENT(nest_translate,
	TP_PROTO(u32 dev_id, u32 pasid, u32 hwpt_id, u64 iova, u32 access,
		 const struct nest_xlate_res *res),
	TP_ARGS(dev_id, pasid, hwpt_id, iova, access, res),
	TP_STRUCT__entry(
		__field(u32, dev_id)
		__field(u32, pasid)
		__field(u32, hwpt_id)
		__field(u32, access)
		__field(u64, iova)
		__field(u64, gpa)
		__field(u8, source)
		__field(u8, levels)
		__field(u8, mem_refs)
		__field(u8, page_shift)
	),
	TP_fast_assign(
		__entry->dev_id = dev_id;
		__entry->pasid = pasid;
		__entry->hwpt_id = hwpt_id;
		__entry->access = access;
		__entry->iova = iova;
		__entry->gpa = res->gpa;
		__entry->source = res->source;
		__entry->levels = res->source != NEST_XLATE_WALK ? 0 :
				  nest_xlate_levels(res);
		__entry->mem_refs = res->mem_refs;
		__entry->page_shift = res->page_shift;
	),
	TP_printk("dev=%u pasid=0x%x hwpt=%u iova=0x%llx gpa=0x%llx access=%s source=%s levels=%u mem_refs=%u page_shift=%u",
		  __entry->dev_id, __entry->pasid, __entry->hwpt_id,
		  __entry->iova, __entry->gpa, show_nest_access(__entry->access),
		  show_nest_source(__entry->source), __entry->levels,
		  __entry->mem_refs, __entry->page_shift)
);

/*
 * A DMA call that found its device starts (flags: the call's
 * NESTIOMMU_DMA_* flags); nest_dma follows in the same task.
 */
TRACE_EVENT(nest_dma_start,
	TP_PROTO(u32 dev_id, u32 pasid, const struct nestiommu_dma *cmd),
	TP_ARGS(dev_id, pasid, cmd),
	TP_STRUCT__entry(
		__field(u32, dev_id)
		__field(u32, pasid)
		__field(u32, access)
		__field(u32, flags)
		__field(u64, iova)
		__field(u64, length)
	),
	TP_fast_assign(
		__entry->dev_id = dev_id;
		__entry->pasid = pasid;
		__entry->access = cmd->access;
		__entry->flags = cmd->flags;
		__entry->iova = cmd->iova;
		__entry->length = cmd->length;
	),
	TP_printk("dev=%u pasid=0x%x iova=0x%llx length=0x%llx access=%s flags=0x%x",
		  __entry->dev_id, __entry->pasid, __entry->iova,
		  __entry->length, show_nest_access(__entry->access),
		  __entry->flags)
);

/*
 * The DMA call of the task's last nest_dma_start ended (fault: a fault
 * stopped it; errno: what the ioctl returns). @err is the last argument
 * so that programs reading the first ones keep working.
 */
TRACE_EVENT(nest_dma,
	TP_PROTO(u32 dev_id, u32 pasid, const struct nestiommu_dma *cmd,
		 u64 bytes_done, int err),
	TP_ARGS(dev_id, pasid, cmd, bytes_done, err),
	TP_STRUCT__entry(
		__field(u32, dev_id)
		__field(u32, pasid)
		__field(u32, access)
		__field(u32, fault)
		__field(u64, iova)
		__field(u64, length)
		__field(u64, bytes_done)
		__field(int, err)
	),
	TP_fast_assign(
		__entry->dev_id = dev_id;
		__entry->pasid = pasid;
		__entry->access = cmd->access;
		__entry->fault = cmd->out_flags & NESTIOMMU_OUT_FAULT;
		__entry->iova = cmd->iova;
		__entry->length = cmd->length;
		__entry->bytes_done = bytes_done;
		__entry->err = err;
	),
	TP_printk("dev=%u pasid=0x%x iova=0x%llx length=0x%llx access=%s done=0x%llx fault=%u errno=%d",
		  __entry->dev_id, __entry->pasid, __entry->iova,
		  __entry->length, show_nest_access(__entry->access),
		  __entry->bytes_done, __entry->fault, __entry->err)
);

/* An unrecoverable translation fault. */
TRACE_EVENT(nest_fault,
	TP_PROTO(u32 dev_id, u32 pasid, u32 hwpt_id,
		 const struct nest_fault *fault, u32 owner_pid),
	TP_ARGS(dev_id, pasid, hwpt_id, fault, owner_pid),
	TP_STRUCT__entry(
		__field(u32, dev_id)
		__field(u32, pasid)
		__field(u32, hwpt_id)
		__field(u32, reason)
		__field(u32, access)
		__field(u8, stage)
		__field(u8, level)
		__field(u8, s1_level)
		__field(u8, flags)
		__field(u64, iova)
		__field(u64, fetch_addr)
		__field(u32, owner_pid)
	),
	TP_fast_assign(
		__entry->dev_id = dev_id;
		__entry->pasid = pasid;
		__entry->hwpt_id = hwpt_id;
		__entry->reason = fault->reason;
		__entry->access = fault->access;
		__entry->stage = fault->stage;
		__entry->level = fault->level;
		__entry->s1_level = fault->s1_level;
		__entry->flags = fault->flags;
		__entry->iova = fault->addr;
		__entry->fetch_addr = fault->gpa;
		__entry->owner_pid = owner_pid;
	),
	TP_printk("dev=%u pasid=0x%x hwpt=%u iova=0x%llx access=%s stage=%u level=%u reason=%s s1_level=%u flags=0x%x fetch_addr=0x%llx owner_pid=%u",
		  __entry->dev_id, __entry->pasid, __entry->hwpt_id,
		  __entry->iova, show_nest_access(__entry->access),
		  __entry->stage, __entry->level,
		  show_nest_reason(__entry->reason), __entry->s1_level,
		  __entry->flags, __entry->fetch_addr, __entry->owner_pid)
);

/*
 * The stale-translation auditor found a cache hit that a fresh walk
 * disagrees with (walk == NULL: the walk faults with @reason).
 */
TRACE_EVENT(nest_stale_translation,
	TP_PROTO(u32 dev_id, u32 pasid, u32 hwpt_id, u64 iova,
		 const struct nest_xlate_res *cached,
		 const struct nest_xlate_res *walk, u32 reason),
	TP_ARGS(dev_id, pasid, hwpt_id, iova, cached, walk, reason),
	TP_STRUCT__entry(
		__field(u32, dev_id)
		__field(u32, pasid)
		__field(u32, hwpt_id)
		__field(u32, reason)
		__field(u64, iova)
		__field(u64, cached_gpa)
		__field(u64, walk_gpa)
		__field(u8, cached_perm)
		__field(u8, walk_perm)
		__field(u8, source)
	),
	TP_fast_assign(
		__entry->dev_id = dev_id;
		__entry->pasid = pasid;
		__entry->hwpt_id = hwpt_id;
		__entry->reason = reason;
		__entry->iova = iova;
		__entry->cached_gpa = cached->gpa;
		__entry->walk_gpa = walk ? walk->gpa : 0;
		__entry->cached_perm = cached->perm;
		__entry->walk_perm = walk ? walk->perm : 0;
		__entry->source = cached->source;
	),
	TP_printk("dev=%u pasid=0x%x hwpt=%u iova=0x%llx source=%s cached_gpa=0x%llx walk_gpa=0x%llx cached_perm=0x%x walk_perm=0x%x walk_fault=%s",
		  __entry->dev_id, __entry->pasid, __entry->hwpt_id,
		  __entry->iova, show_nest_source(__entry->source),
		  __entry->cached_gpa, __entry->walk_gpa,
		  __entry->cached_perm, __entry->walk_perm,
		  show_nest_reason(__entry->reason))
);

/* A full fault queue dropped a record (dropped: the queue's total so far). */
TRACE_EVENT(nest_fault_queue_overflow,
	TP_PROTO(u32 queue_id, u64 dropped),
	TP_ARGS(queue_id, dropped),
	TP_STRUCT__entry(
		__field(u32, queue_id)
		__field(u64, dropped)
	),
	TP_fast_assign(
		__entry->queue_id = queue_id;
		__entry->dropped = dropped;
	),
	TP_printk("queue=%u dropped=%llu", __entry->queue_id, __entry->dropped)
);

/*
 * One page request of a group was sent (last: LAST_PAGE); injected: the
 * NEST_PR_INJ_* marks of what BPF hooks did to it (hooks.h). Also for a
 * group a full or closed queue refuses: the device did send it, and the
 * driver's INVALID answer follows as its page_response. So these events
 * always add up to the pri_page_requests statistic.
 */
TRACE_EVENT(nest_page_request,
	TP_PROTO(u32 dev_id, u32 pasid, u32 grpid, u64 cookie, u64 addr,
		 u32 perm, bool last, u32 injected, u32 owner_pid),
	TP_ARGS(dev_id, pasid, grpid, cookie, addr, perm, last, injected,
		owner_pid),
	TP_STRUCT__entry(
		__field(u32, dev_id)
		__field(u32, pasid)
		__field(u32, grpid)
		__field(u32, perm)
		__field(u64, cookie)
		__field(u64, addr)
		__field(bool, last)
		__field(u32, injected)
		__field(u32, owner_pid)
	),
	TP_fast_assign(
		__entry->dev_id = dev_id;
		__entry->pasid = pasid;
		__entry->grpid = grpid;
		__entry->perm = perm;
		__entry->cookie = cookie;
		__entry->addr = addr;
		__entry->last = last;
		__entry->injected = injected;
		__entry->owner_pid = owner_pid;
	),
	TP_printk("dev=%u pasid=0x%x grpid=%u cookie=%llu addr=0x%llx perm=%s last=%u injected=%s owner_pid=%u",
		  __entry->dev_id, __entry->pasid, __entry->grpid,
		  __entry->cookie, __entry->addr,
		  show_nest_access(__entry->perm), __entry->last,
		  show_nest_pr_injected(__entry->injected), __entry->owner_pid)
);

/*
 * A page request record reached user space through read() of its fault
 * queue's fd, in the reader's task (last: LAST_PAGE). Between
 * nest_page_request and nest_page_response of the same cookie it splits
 * the group's latency: queued until read, then handled until answered.
 */
TRACE_EVENT(nest_page_request_read,
	TP_PROTO(const struct nestiommu_fault_record *r),
	TP_ARGS(r),
	TP_STRUCT__entry(
		__field(u32, dev_id)
		__field(u32, pasid)
		__field(u32, grpid)
		__field(u64, cookie)
		__field(u64, addr)
		__field(bool, last)
	),
	TP_fast_assign(
		__entry->dev_id = r->dev_id;
		__entry->pasid = r->pasid;
		__entry->grpid = r->grpid;
		__entry->cookie = r->cookie;
		__entry->addr = r->addr;
		__entry->last = r->flags & NESTIOMMU_RECORD_F_LAST_PAGE;
	),
	TP_printk("dev=%u pasid=0x%x grpid=%u cookie=%llu addr=0x%llx last=%u",
		  __entry->dev_id, __entry->pasid, __entry->grpid,
		  __entry->cookie, __entry->addr, __entry->last)
);

/*
 * A page request group was answered, by user space or (auto) by the
 * driver; latency_ns: since the group was sent; injected: the
 * NEST_RESP_INJ_* marks of what nest_hook_page_response did to it.
 */
TRACE_EVENT(nest_page_response,
	TP_PROTO(u32 dev_id, u32 pasid, u32 grpid, u64 cookie, u32 code,
		 bool automatic, u64 latency_ns, u32 injected, u32 owner_pid),
	TP_ARGS(dev_id, pasid, grpid, cookie, code, automatic, latency_ns,
		injected, owner_pid),
	TP_STRUCT__entry(
		__field(u32, dev_id)
		__field(u32, pasid)
		__field(u32, grpid)
		__field(u32, code)
		__field(u64, cookie)
		__field(u64, latency_ns)
		__field(bool, automatic)
		__field(u32, injected)
		__field(u32, owner_pid)
	),
	TP_fast_assign(
		__entry->dev_id = dev_id;
		__entry->pasid = pasid;
		__entry->grpid = grpid;
		__entry->code = code;
		__entry->cookie = cookie;
		__entry->latency_ns = latency_ns;
		__entry->automatic = automatic;
		__entry->injected = injected;
		__entry->owner_pid = owner_pid;
	),
	TP_printk("dev=%u pasid=0x%x grpid=%u cookie=%llu code=%s auto=%u latency_ns=%llu injected=%s owner_pid=%u",
		  __entry->dev_id, __entry->pasid, __entry->grpid,
		  __entry->cookie, show_nest_resp_code(__entry->code),
		  __entry->automatic, __entry->latency_ns,
		  show_nest_resp_injected(__entry->injected),
		  __entry->owner_pid)
);

/* A group was not answered within OPTION_PRI_TIMEOUT_MS: INVALID. */
TRACE_EVENT(nest_page_request_timeout,
	TP_PROTO(u32 dev_id, u32 pasid, u32 grpid, u64 cookie,
		 u32 owner_pid),
	TP_ARGS(dev_id, pasid, grpid, cookie, owner_pid),
	TP_STRUCT__entry(
		__field(u32, dev_id)
		__field(u32, pasid)
		__field(u32, grpid)
		__field(u64, cookie)
		__field(u32, owner_pid)
	),
	TP_fast_assign(
		__entry->dev_id = dev_id;
		__entry->pasid = pasid;
		__entry->grpid = grpid;
		__entry->cookie = cookie;
		__entry->owner_pid = owner_pid;
	),
	TP_printk("dev=%u pasid=0x%x grpid=%u cookie=%llu owner_pid=%u",
		  __entry->dev_id,
		  __entry->pasid, __entry->grpid, __entry->cookie,
		  __entry->owner_pid)
);

/*
 * BPF hook points (see hooks.h): writable tracepoints whose first argument
 * is a decision struct a raw_tp.w program may change. Without writable
 * tracepoint support they are ordinary events.
 */
#ifdef DEFINE_EVENT_WRITABLE
#undef NEST_DEFINE_HOOK
#define NEST_DEFINE_HOOK(template, call, proto, args, size)		\
	DEFINE_EVENT_WRITABLE(template, call, PARAMS(proto),		\
			      PARAMS(args), size)
#else
#undef NEST_DEFINE_HOOK
#define NEST_DEFINE_HOOK(template, call, proto, args, size)		\
	DEFINE_EVENT(template, call, PARAMS(proto), PARAMS(args))
#endif

DECLARE_EVENT_CLASS(nest_hook_translate_class,
	TP_PROTO(struct nest_hook_translate *d),
	TP_ARGS(d),
	TP_STRUCT__entry(
		__field(u32, dev_id)
		__field(u32, pasid)
		__field(u32, hwpt_id)
		__field(u32, access)
		__field(u64, iova)
	),
	TP_fast_assign(
		__entry->dev_id = d->dev_id;
		__entry->pasid = d->pasid;
		__entry->hwpt_id = d->hwpt_id;
		__entry->access = d->access;
		__entry->iova = d->iova;
	),
	TP_printk("dev=%u pasid=0x%x hwpt=%u iova=0x%llx access=%s",
		  __entry->dev_id, __entry->pasid, __entry->hwpt_id,
		  __entry->iova, show_nest_access(__entry->access))
);

NEST_DEFINE_HOOK(nest_hook_translate_class, nest_hook_translate,
	TP_PROTO(struct nest_hook_translate *d),
	TP_ARGS(d),
	sizeof(struct nest_hook_translate)
);

DECLARE_EVENT_CLASS(nest_hook_invalidate_class,
	TP_PROTO(struct nest_hook_invalidate *d),
	TP_ARGS(d),
	TP_STRUCT__entry(
		__field(u32, hwpt_id)
		__field(u32, cache)
		__field(u32, granularity)
		__field(u32, pasid)
		__field(u64, addr)
	),
	TP_fast_assign(
		__entry->hwpt_id = d->hwpt_id;
		__entry->cache = d->cache;
		__entry->granularity = d->granularity;
		__entry->pasid = d->pasid;
		__entry->addr = d->addr;
	),
	TP_printk("hwpt=%u cache=%s granu=%s pasid=0x%x addr=0x%llx",
		  __entry->hwpt_id, show_nest_inv_cache(__entry->cache),
		  show_nest_inv_granu(__entry->granularity), __entry->pasid,
		  __entry->addr)
);

NEST_DEFINE_HOOK(nest_hook_invalidate_class, nest_hook_invalidate,
	TP_PROTO(struct nest_hook_invalidate *d),
	TP_ARGS(d),
	sizeof(struct nest_hook_invalidate)
);

DECLARE_EVENT_CLASS(nest_hook_map_class,
	TP_PROTO(struct nest_hook_map *d),
	TP_ARGS(d),
	TP_STRUCT__entry(
		__field(u32, ioas_id)
		__field(u32, flags)
		__field(u64, iova)
		__field(u64, length)
	),
	TP_fast_assign(
		__entry->ioas_id = d->ioas_id;
		__entry->flags = d->flags;
		__entry->iova = d->iova;
		__entry->length = d->length;
	),
	TP_printk("ioas=%u flags=0x%x iova=0x%llx length=0x%llx",
		  __entry->ioas_id, __entry->flags, __entry->iova,
		  __entry->length)
);

NEST_DEFINE_HOOK(nest_hook_map_class, nest_hook_map,
	TP_PROTO(struct nest_hook_map *d),
	TP_ARGS(d),
	sizeof(struct nest_hook_map)
);

DECLARE_EVENT_CLASS(nest_hook_page_request_class,
	TP_PROTO(struct nest_hook_page_request *d),
	TP_ARGS(d),
	TP_STRUCT__entry(
		__field(u32, dev_id)
		__field(u32, pasid)
		__field(u32, grpid)
		__field(u32, npages)
		__field(u64, cookie)
		__field(u64, addr)
	),
	TP_fast_assign(
		__entry->dev_id = d->dev_id;
		__entry->pasid = d->pasid;
		__entry->grpid = d->grpid;
		__entry->npages = d->npages;
		__entry->cookie = d->cookie;
		__entry->addr = d->addr;
	),
	TP_printk("dev=%u pasid=0x%x grpid=%u cookie=%llu addr=0x%llx npages=%u",
		  __entry->dev_id, __entry->pasid, __entry->grpid,
		  __entry->cookie, __entry->addr, __entry->npages)
);

NEST_DEFINE_HOOK(nest_hook_page_request_class, nest_hook_page_request,
	TP_PROTO(struct nest_hook_page_request *d),
	TP_ARGS(d),
	sizeof(struct nest_hook_page_request)
);

DECLARE_EVENT_CLASS(nest_hook_page_response_class,
	TP_PROTO(struct nest_hook_page_response *d),
	TP_ARGS(d),
	TP_STRUCT__entry(
		__field(u32, dev_id)
		__field(u32, pasid)
		__field(u32, grpid)
		__field(u32, code)
		__field(u64, cookie)
	),
	TP_fast_assign(
		__entry->dev_id = d->dev_id;
		__entry->pasid = d->pasid;
		__entry->grpid = d->grpid;
		__entry->code = d->code;
		__entry->cookie = d->cookie;
	),
	TP_printk("dev=%u pasid=0x%x grpid=%u cookie=%llu code=%s",
		  __entry->dev_id, __entry->pasid, __entry->grpid,
		  __entry->cookie, show_nest_resp_code(__entry->code))
);

NEST_DEFINE_HOOK(nest_hook_page_response_class, nest_hook_page_response,
	TP_PROTO(struct nest_hook_page_response *d),
	TP_ARGS(d),
	sizeof(struct nest_hook_page_response)
);

TRACE_DEFINE_ENUM(NESTIOMMU_FAIL_SITE_CONTEXT);
TRACE_DEFINE_ENUM(NESTIOMMU_FAIL_SITE_OBJECT);
TRACE_DEFINE_ENUM(NESTIOMMU_FAIL_SITE_OBJECT_ID);
TRACE_DEFINE_ENUM(NESTIOMMU_FAIL_SITE_CACHE_TAG);
TRACE_DEFINE_ENUM(NESTIOMMU_FAIL_SITE_S2_TABLE);
TRACE_DEFINE_ENUM(NESTIOMMU_FAIL_SITE_AREA);
TRACE_DEFINE_ENUM(NESTIOMMU_FAIL_SITE_PIN);
TRACE_DEFINE_ENUM(NESTIOMMU_FAIL_SITE_PIN_PAGES);
TRACE_DEFINE_ENUM(NESTIOMMU_FAIL_SITE_LOCKED_MEM);
TRACE_DEFINE_ENUM(NESTIOMMU_FAIL_SITE_ATTACH);
TRACE_DEFINE_ENUM(NESTIOMMU_FAIL_SITE_DIRTY_BITMAP);
TRACE_DEFINE_ENUM(NESTIOMMU_FAIL_SITE_FAULT_QUEUE);
TRACE_DEFINE_ENUM(NESTIOMMU_FAIL_SITE_FAULT_READ);
TRACE_DEFINE_ENUM(NESTIOMMU_FAIL_SITE_PRI);
TRACE_DEFINE_ENUM(NESTIOMMU_FAIL_SITE_PAGE_REQUEST);
TRACE_DEFINE_ENUM(NESTIOMMU_FAIL_SITE_TLB);
TRACE_DEFINE_ENUM(NESTIOMMU_FAIL_SITE_DMA_BOUNCE);
TRACE_DEFINE_ENUM(NESTIOMMU_FAIL_SITE_TRANSLATE_TRACE);

/* enum nestiommu_fail_site, in order: fail.c names its debugfs lines so. */
#define NEST_FAIL_SITE_NAMES \
	{ NESTIOMMU_FAIL_SITE_CONTEXT, "context" },	\
	{ NESTIOMMU_FAIL_SITE_OBJECT, "object" },	\
	{ NESTIOMMU_FAIL_SITE_OBJECT_ID, "object_id" },	\
	{ NESTIOMMU_FAIL_SITE_CACHE_TAG, "cache_tag" },	\
	{ NESTIOMMU_FAIL_SITE_S2_TABLE, "s2_table" },	\
	{ NESTIOMMU_FAIL_SITE_AREA, "area" },	\
	{ NESTIOMMU_FAIL_SITE_PIN, "pin" },	\
	{ NESTIOMMU_FAIL_SITE_PIN_PAGES, "pin_pages" },	\
	{ NESTIOMMU_FAIL_SITE_LOCKED_MEM, "locked_mem" },	\
	{ NESTIOMMU_FAIL_SITE_ATTACH, "attach" },	\
	{ NESTIOMMU_FAIL_SITE_DIRTY_BITMAP, "dirty_bitmap" },	\
	{ NESTIOMMU_FAIL_SITE_FAULT_QUEUE, "fault_queue" },	\
	{ NESTIOMMU_FAIL_SITE_FAULT_READ, "fault_read" },	\
	{ NESTIOMMU_FAIL_SITE_PRI, "pri" },	\
	{ NESTIOMMU_FAIL_SITE_PAGE_REQUEST, "page_request" },	\
	{ NESTIOMMU_FAIL_SITE_TLB, "tlb" },	\
	{ NESTIOMMU_FAIL_SITE_DMA_BOUNCE, "dma_bounce" },	\
	{ NESTIOMMU_FAIL_SITE_TRANSLATE_TRACE, "translate_trace" }

#define show_nest_fail_site(site) __print_symbolic(site, NEST_FAIL_SITE_NAMES)

DECLARE_EVENT_CLASS(nest_hook_fail_site_class,
	TP_PROTO(struct nest_hook_fail_site *d),
	TP_ARGS(d),
	TP_STRUCT__entry(
		__field(u32, site)
		__field(u32, pid)
	),
	TP_fast_assign(
		__entry->site = d->site;
		__entry->pid = d->pid;
	),
	TP_printk("site=%s pid=%u", show_nest_fail_site(__entry->site),
		  __entry->pid)
);

NEST_DEFINE_HOOK(nest_hook_fail_site_class, nest_hook_fail_site,
	TP_PROTO(struct nest_hook_fail_site *d),
	TP_ARGS(d),
	sizeof(struct nest_hook_fail_site)
);

/* A failure nest_hook_fail_site injected: the call failed with -@err. */
TRACE_EVENT(nest_fail_site,
	TP_PROTO(u32 site, u32 pid, int err),
	TP_ARGS(site, pid, err),
	TP_STRUCT__entry(
		__field(u32, site)
		__field(u32, pid)
		__field(int, err)
	),
	TP_fast_assign(
		__entry->site = site;
		__entry->pid = pid;
		__entry->err = err;
	),
	TP_printk("site=%s pid=%u errno=%d", show_nest_fail_site(__entry->site),
		  __entry->pid, __entry->err)
);

#endif /* _NEST_TRACE_H */

#undef TRACE_INCLUDE_PATH
#define TRACE_INCLUDE_PATH .
#undef TRACE_INCLUDE_FILE
#define TRACE_INCLUDE_FILE trace
#include <trace/define_trace.h>
