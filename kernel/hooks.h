/* SPDX-License-Identifier: GPL-2.0 */
/*
 * BPF hook points: decision structs passed as the first argument of the
 * writable tracepoints nestiommu:hook_translate, hook_invalidate and
 * hook_map (see trace.h).
 *
 * A BPF program attached as raw_tp.w (BPF_PROG_TYPE_RAW_TRACEPOINT_
 * WRITABLE, kernels 5.2 and later) reads what the driver knows from the
 * first fields and may write the fields under "BPF writes". The driver
 * starts each decision with those zeroed ("no injection") and validates
 * what it finds afterwards: a value out of range is ignored and counted in
 * hook_rejected, never trusted. Every injected outcome is counted
 * (injected_* statistics) and marked in the ordinary tracepoints and fault
 * records, so tools can tell injected faults from organic ones.
 *
 * BPF programs read these structs through CO-RE against the module's BTF
 * (declare them with __attribute__((preserve_access_index))), so fields
 * may be added; they are not part of the ioctl uAPI.
 */
#ifndef NEST_HOOKS_H
#define NEST_HOOKS_H

#include <linux/types.h>

/* The largest errno a hook may inject (EHWPOISON). */
#define NEST_HOOK_MAX_ERRNO	133

/**
 * struct nest_hook_translate - at every translation (DMA and TRANSLATE)
 * @dev_id: the device
 * @pasid: the PASID, or 0xffffffff for a request without PASID
 * @hwpt_id: the HWPT attached there
 * @access: enum nestiommu_access of the request
 * @iova: the address being translated
 * @fault_reason: BPF writes: enum nestiommu_fault_reason to fault with
 *	instead of translating (0: translate normally)
 * @fault_stage: BPF writes: the stage (1 or 2) of that fault
 */
struct nest_hook_translate {
	u32 dev_id;
	u32 pasid;
	u32 hwpt_id;
	u32 access;
	u64 iova;
	u32 fault_reason;
	u32 fault_stage;
};

/**
 * struct nest_hook_invalidate - at each HWPT_INVALIDATE entry
 * @hwpt_id: the HWPT
 * @cache: enum nestiommu_inv_cache mask of the entry
 * @granularity: enum nestiommu_inv_granularity of the entry
 * @flags: enum nestiommu_inv_flags of the entry
 * @pasid: the entry's PASID
 * @addr: the entry's first IOVA
 * @granule_size: the entry's granule size
 * @nb_granules: the entry's number of granules
 * @drop: BPF writes: 1 to report success and drop nothing (the stale
 *	entries stay, as if the invalidation was lost)
 * @error: BPF writes: an errno (1 to NEST_HOOK_MAX_ERRNO) to fail the
 *	entry with; wins over @drop
 */
struct nest_hook_invalidate {
	u32 hwpt_id;
	u32 cache;
	u32 granularity;
	u32 flags;
	u32 pasid;
	u32 drop;
	u64 addr;
	u64 granule_size;
	u64 nb_granules;
	u32 error;
	u32 __pad;
};

/**
 * struct nest_hook_map - at each IOAS_MAP, before anything is pinned
 * @ioas_id: the IOAS
 * @flags: enum nestiommu_ioas_map_flags of the request
 * @iova: the requested IOVA (with FIXED_IOVA)
 * @length: bytes
 * @user_va: the user memory
 * @error: BPF writes: an errno (1 to NEST_HOOK_MAX_ERRNO) to fail the MAP
 *	with
 */
struct nest_hook_map {
	u32 ioas_id;
	u32 flags;
	u64 iova;
	u64 length;
	u64 user_va;
	u32 error;
	u32 __pad;
};

#endif /* NEST_HOOKS_H */
