/* SPDX-License-Identifier: GPL-2.0 */
/*
 * nestiommu tracepoints: system "nestiommu". Records hold values only (IDs,
 * IOVAs, user VAs, flags), never kernel pointers, and print as key=value.
 *
 * The events "map" and "unmap" share their names with the core kernel's
 * iommu:map and iommu:unmap. perf, ftrace and bpftrace address events as
 * system:event and are unaffected, but BPF raw_tp/tp_btf look tracepoints
 * up by bare name, built-in ones first: BPF tools attach these two as
 * classic tracepoint programs (tracepoint/nestiommu/map), whose context is
 * the uniquely named struct trace_event_raw_nest_ioas_area.
 */
#undef TRACE_SYSTEM
#define TRACE_SYSTEM nestiommu

#if !defined(_NEST_TRACE_H) || defined(TRACE_HEADER_MULTI_READ)
#define _NEST_TRACE_H

#include <linux/tracepoint.h>

#include "nest_priv.h"

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
DEFINE_EVENT(nest_ioas_area, map,
	TP_PROTO(u32 ioas_id, const struct nest_area *area),
	TP_ARGS(ioas_id, area)
);

/* A mapping was removed (UNMAP, IOAS destroy or close): one per mapping. */
DEFINE_EVENT(nest_ioas_area, unmap,
	TP_PROTO(u32 ioas_id, const struct nest_area *area),
	TP_ARGS(ioas_id, area)
);

#endif /* _NEST_TRACE_H */

#undef TRACE_INCLUDE_PATH
#define TRACE_INCLUDE_PATH .
#undef TRACE_INCLUDE_FILE
#define TRACE_INCLUDE_FILE trace
#include <trace/define_trace.h>
