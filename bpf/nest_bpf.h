/* SPDX-License-Identifier: GPL-2.0 */
/*
 * nest_bpf.h - the nestiommu driver's own types, for BPF programs.
 *
 * vmlinux.h has the kernel's types only; the driver's are in the module's
 * BTF (/sys/kernel/btf/nestiommu). They are declared here with
 * preserve_access_index, so every field access is a CO-RE relocation that
 * libbpf resolves against the module BTF at load time: only the fields a
 * program uses must exist, with these names, and the driver may add or
 * move fields. Keep the names in step with kernel/hooks.h and
 * kernel/core/core.h; the layouts below are only what the programs were
 * compiled with.
 *
 * Include after vmlinux.h.
 */
#ifndef NEST_BPF_H
#define NEST_BPF_H

#define NEST_PAI __attribute__((preserve_access_index))

/* kernel/hooks.h: the decision of nestiommu:hook_translate. */
struct nest_hook_translate {
	u32 dev_id;
	u32 pasid;
	u32 hwpt_id;
	u32 access;
	u64 iova;
	u32 pri;
	u32 fault_reason;	/* BPF writes */
	u32 fault_stage;	/* BPF writes */
	u32 page_request;	/* BPF writes */
} NEST_PAI;

/* kernel/hooks.h: the decision of nestiommu:hook_invalidate. */
struct nest_hook_invalidate {
	u32 hwpt_id;
	u32 cache;
	u32 granularity;
	u32 flags;
	u32 pasid;
	u32 drop;		/* BPF writes */
	u64 addr;
	u64 granule_size;
	u64 nb_granules;
	u32 error;		/* BPF writes */
} NEST_PAI;

/* kernel/hooks.h: the decision of nestiommu:hook_map. */
struct nest_hook_map {
	u32 ioas_id;
	u32 flags;
	u64 iova;
	u64 length;
	u64 user_va;
	u32 error;		/* BPF writes */
} NEST_PAI;

/* kernel/hooks.h: the decision of nestiommu:hook_page_request. */
struct nest_hook_page_request {
	u32 dev_id;
	u32 pasid;
	u32 hwpt_id;
	u32 grpid;
	u64 cookie;
	u64 addr;
	u32 npages;
	u32 perm;
	u32 drop;		/* BPF writes */
	u32 duplicate;		/* BPF writes */
	u32 clear_last;		/* BPF writes */
} NEST_PAI;

/* kernel/hooks.h: the decision of nestiommu:hook_page_response. */
struct nest_hook_page_response {
	u32 dev_id;
	u32 pasid;
	u32 grpid;
	u32 code;
	u64 cookie;
	u64 age_ns;
	u32 set_code;		/* BPF writes */
	u32 new_code;		/* BPF writes */
	u32 drop;		/* BPF writes */
	u32 delay_us;		/* BPF writes */
} NEST_PAI;

/* kernel/core/core.h: a translation fault (nestiommu:fault's argument). */
struct nest_fault {
	u32 reason;
	u8 stage;
	u8 level;
	u8 s1_level;
	u8 flags;
	u32 access;
	u64 addr;
	u64 gpa;
} NEST_PAI;

/* include/uapi/linux/nestiommu.h: an invalidation entry (opaque here). */
struct nestiommu_inv_entry;

/* The largest errno and delay a hook may inject (kernel/hooks.h). */
#define NEST_HOOK_MAX_ERRNO	133
#define NEST_HOOK_MAX_DELAY_US	1000000

/* kernel/hooks.h: the "injected" marks of page_request and page_response. */
#define NEST_PR_INJ_FORCED	 (1U << 0)
#define NEST_PR_INJ_DROPPED	 (1U << 1)
#define NEST_PR_INJ_DUPLICATED	 (1U << 2)
#define NEST_PR_INJ_LAST_CLEARED (1U << 3)
#define NEST_RESP_INJ_CODE	 (1U << 0)
#define NEST_RESP_INJ_DELAYED	 (1U << 1)

/* kernel/core/core.h: NEST_FAULT_F_INJECTED (= NESTIOMMU_FAULT_F_INJECTED). */
#define NEST_FAULT_F_INJECTED	(1U << 4)

/* ---- for iommutop.bpf.c: the arguments of the ordinary events ---- */

/* kernel/core/cache.h: a translation's result (nestiommu:translate). */
struct nest_xlate_res {
	u64 ofn;
	u64 gpa;
	u8 perm;
	u8 source;		/* NEST_XLATE_* */
	u8 page_shift;
	u8 mem_refs;
	u8 s1_levels;
	u8 s2_level;
} NEST_PAI;

/* kernel/core/cache.h: struct nest_xlate_res.source */
#define NEST_XLATE_WALK		0
#define NEST_XLATE_IOTLB	1
#define NEST_XLATE_DEVTLB	2

/* include/uapi/linux/nestiommu.h: nestiommu:invalidate's entry. */
struct nestiommu_inv_entry {
	u32 cache;		/* NESTIOMMU_INV_CACHE_* */
	u32 granularity;
	u32 flags;
	u32 pasid;
	u64 addr;
	u64 granule_size;
	u64 nb_granules;
} NEST_PAI;

#define NESTIOMMU_INV_CACHE_IOTLB	(1U << 0)
#define NESTIOMMU_INV_CACHE_DEV_IOTLB	(1U << 1)
#define NESTIOMMU_INV_CACHE_PASID	(1U << 2)

/* include/uapi/linux/nestiommu.h: nestiommu:dma's command (some fields). */
struct nestiommu_dma {
	u32 flags;
	u32 dev_id;
	u32 pasid;
	u32 access;
	u64 iova;
	u64 length;
	u32 out_flags;		/* NESTIOMMU_OUT_* */
} NEST_PAI;

#define NESTIOMMU_OUT_FAULT	(1U << 0)

/* enum nestiommu_page_response_code */
#define NESTIOMMU_PAGE_RESP_SUCCESS	0
#define NESTIOMMU_PAGE_RESP_INVALID	1
#define NESTIOMMU_PAGE_RESP_FAILURE	0xf

/*
 * The record of nestiommu:map and nestiommu:unmap, which BPF attaches as
 * classic tracepoints (see kernel/trace.h: raw_tp and tp_btf would find
 * the core kernel's iommu:map and iommu:unmap by their bare names).
 */
struct trace_event_raw_nest_ioas_area {
	struct trace_entry ent;
	u32 ioas_id;
	u32 prot;
	u64 iova;
	u64 length;
	u64 user_va;
} NEST_PAI;

#endif /* NEST_BPF_H */
