/* SPDX-License-Identifier: GPL-2.0 */
/*
 * BPF hook points: decision structs passed as the first argument of the
 * writable tracepoints nestiommu:nest_hook_translate,
 * nest_hook_invalidate, nest_hook_map, nest_hook_page_request,
 * nest_hook_page_response and nest_hook_fail_site (see trace.h).
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

/* The deepest level a forced fault may report (5-level stage 1). */
#define NEST_HOOK_MAX_FAULT_LEVEL	5

/**
 * struct nest_hook_translate - at every translation (DMA and TRANSLATE)
 * @dev_id: the device
 * @pasid: the PASID, or NESTIOMMU_PASID_NONE for a request without PASID
 * @hwpt_id: the HWPT attached there
 * @access: enum nestiommu_access of the request
 * @iova: the address being translated
 * @pri: 1 if the request may be fixed by a page request (a DMA from a
 *	PRI device whose PRI is on, through a HWPT with a fault queue)
 * @fault_reason: BPF writes: enum nestiommu_fault_reason to fault with
 *	instead of translating (0: translate normally)
 * @fault_stage: BPF writes: the stage (1 or 2) of that fault
 * @fault_level: BPF writes: the level (1 to NEST_HOOK_MAX_FAULT_LEVEL) that
 *	fault reports; 0 reports none, as before this field existed
 * @page_request: BPF writes: 1 to fault as if the stage-1 page were not
 *	present, so the device sends a page request (only where @pri is 1;
 *	@fault_reason wins)
 * @owner_pid: the tgid that opened the context (the VMM the device
 *	belongs to, whichever thread or process issued the DMA)
 */
struct nest_hook_translate {
	u32 dev_id;
	u32 pasid;
	u32 hwpt_id;
	u32 access;
	u64 iova;
	u32 pri;
	u32 fault_reason;
	u32 fault_stage;
	u32 page_request;
	u32 owner_pid;
	u32 fault_level;
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
 * @pid: the tgid of the HWPT_INVALIDATE caller
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
	u32 pid;
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
 * @pid: the tgid of the IOAS_MAP caller
 */
struct nest_hook_map {
	u32 ioas_id;
	u32 flags;
	u64 iova;
	u64 length;
	u64 user_va;
	u32 error;
	u32 pid;
};

/*
 * The marks of injected outcomes in the nest_page_request and
 * nest_page_response events (their "injected" argument).
 */
#define NEST_PR_INJ_FORCED	 (1U << 0) /* nest_hook_translate forced it */
#define NEST_PR_INJ_DROPPED	 (1U << 1) /* lost: no record queued */
#define NEST_PR_INJ_DUPLICATED	 (1U << 2) /* its record queued twice */
#define NEST_PR_INJ_LAST_CLEARED (1U << 3) /* sent without LAST_PAGE */
#define NEST_RESP_INJ_CODE	 (1U << 0) /* the code was replaced */
#define NEST_RESP_INJ_DELAYED	 (1U << 1) /* delivered late */

/* The longest delay nest_hook_page_response may put on a response. */
#define NEST_HOOK_MAX_DELAY_US	1000000

/**
 * struct nest_hook_page_request - when a page request group is sent
 * @dev_id: the device
 * @pasid: the PASID, or NESTIOMMU_PASID_NONE for a request without PASID
 * @hwpt_id: the HWPT that faulted
 * @grpid: the group index
 * @cookie: the group's cookie
 * @addr: the first page
 * @npages: pages in the group
 * @perm: enum nestiommu_access the device needs
 * @drop: BPF writes: 1 to lose the group (no record is queued; it stays
 *	outstanding until a timeout, detach, reset or close answers it, or
 *	a response to its cookie, which tracepoints show)
 * @duplicate: BPF writes: 1 to queue every record of the group twice
 * @clear_last: BPF writes: 1 to send the last record without LAST_PAGE
 * @owner_pid: the tgid that opened the context
 */
struct nest_hook_page_request {
	u32 dev_id;
	u32 pasid;
	u32 hwpt_id;
	u32 grpid;
	u64 cookie;
	u64 addr;
	u32 npages;
	u32 perm;
	u32 drop;
	u32 duplicate;
	u32 clear_last;
	u32 owner_pid;
};

/**
 * struct nest_hook_page_response - when user space answers a group
 * @dev_id: the device
 * @pasid: the PASID, or NESTIOMMU_PASID_NONE for a request without PASID
 * @grpid: the group index
 * @code: enum nestiommu_page_response_code user space wrote
 * @cookie: the group's cookie
 * @age_ns: since the group was sent
 * @set_code: BPF writes: 1 to deliver @new_code instead of @code
 * @new_code: BPF writes: with @set_code, an enum
 *	nestiommu_page_response_code
 * @drop: BPF writes: 1 to lose the response (write() succeeds; the group
 *	stays outstanding)
 * @delay_us: BPF writes: deliver the response after this many
 *	microseconds (1 to NEST_HOOK_MAX_DELAY_US) instead of now
 * @owner_pid: the tgid that opened the context (not necessarily the
 *	writer of the response)
 *
 * Only responses written by user space pass here: the driver's own answers
 * (detach, reset, close, timeout) cannot be lost or delayed, and a detach
 * or reset answers INVALID a group whose delayed response is not
 * delivered yet.
 */
struct nest_hook_page_response {
	u32 dev_id;
	u32 pasid;
	u32 grpid;
	u32 code;
	u64 cookie;
	u64 age_ns;
	u32 set_code;
	u32 new_code;
	u32 drop;
	u32 delay_us;
	u32 owner_pid;
	u32 __pad;
};

/**
 * struct nest_hook_fail_site - at each call that can fail for resources
 * @site: enum nestiommu_fail_site
 * @pid: the tgid of the caller (of the ioctl, open() or read())
 * @fail: BPF writes: 1 to make the call fail with the site's errno
 *
 * Only the driver's own calls pass here (fail.c), and only while a program
 * is attached. A @fail other than 0 or 1 is ignored and counted (debugfs
 * nestiommu/fail_site_rejected).
 */
struct nest_hook_fail_site {
	u32 site;
	u32 pid;
	u32 fail;
	u32 __pad;
};

#endif /* NEST_HOOKS_H */
