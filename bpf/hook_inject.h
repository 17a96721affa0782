/* SPDX-License-Identifier: GPL-2.0 */
/*
 * hook_inject.h - the control blocks of hook_inject.bpf.c, shared by the
 * BPF programs and user space (include after <linux/types.h> or
 * vmlinux_nestiommu.h, and before hook_inject.skel.h).
 *
 * Each hook has one control block, a global of the BPF object (in .bss, so
 * user space reads and writes it through the skeleton: skel->bss->translate
 * ...). User space sets the filter and the values, then sets @enabled; the
 * program counts every call, and for every call that matches the filter
 * writes the values into the driver's decision struct, whatever they are
 * (out-of-range values included: the driver must reject those).
 *
 * Filters: a field that is 0 matches anything. @nth picks one matching call
 * (1: the first matching call after @matched was last reset) instead of all.
 */
#ifndef HOOK_INJECT_H
#define HOOK_INJECT_H

/* nestiommu:nest_hook_translate */
struct hook_translate_ctl {
	/* set by user space */
	__u32 enabled;
	__u32 tgid;		/* only calls made by this process */
	__u32 dev_id;
	__u32 hwpt_id;
	__u64 iova_lo;		/* only IOVAs in [iova_lo, iova_hi) ... */
	__u64 iova_hi;		/* ... unless iova_hi is 0 */
	__u32 nth;
	__u32 fault_reason;	/* written to the decision */
	__u32 fault_stage;	/* written to the decision */
	__u32 page_request;	/* written to the decision */
	__u32 fault_level;	/* written to the decision */
	__u32 __pad0;
	/* counted by the program */
	__u64 calls;		/* every call of the hook */
	__u64 matched;		/* calls that matched the filter (enabled) */
	__u64 written;		/* decisions written */
	__u64 dirty;		/* calls whose decision was not 0 on entry */
	/* the last matching call, as the hook saw it */
	__u32 last_dev_id;
	__u32 last_pasid;
	__u32 last_hwpt_id;
	__u32 last_access;
	__u64 last_iova;
	__u32 last_pri;
	__u32 last_owner_pid;
};

/* nestiommu:nest_hook_invalidate */
struct hook_invalidate_ctl {
	__u32 enabled;
	__u32 tgid;
	__u32 hwpt_id;
	__u32 nth;
	__u32 error;		/* written to the decision */
	__u32 drop;		/* written to the decision */
	__u64 calls;
	__u64 matched;
	__u64 written;
	__u64 dirty;
	__u32 last_hwpt_id;
	__u32 last_cache;
	__u32 last_granularity;
	__u32 last_flags;
	__u32 last_pasid;
	__u32 last_pid;
	__u64 last_addr;
	__u64 last_granule_size;
	__u64 last_nb_granules;
};

/* nestiommu:nest_hook_map */
struct hook_map_ctl {
	__u32 enabled;
	__u32 tgid;
	__u32 ioas_id;
	__u32 nth;
	__u32 error;		/* written to the decision */
	__u32 __pad;
	__u64 calls;
	__u64 matched;
	__u64 written;
	__u64 dirty;
	__u32 last_ioas_id;
	__u32 last_flags;
	__u64 last_iova;
	__u64 last_length;
	__u64 last_user_va;
	__u32 last_pid;
	__u32 __pad2;
};

/*
 * nestiommu:nest_hook_page_request, in the DMA's thread when it sends a group
 * (so @tgid is the DMA's process).
 */
struct hook_page_request_ctl {
	__u32 enabled;
	__u32 tgid;
	__u32 dev_id;
	__u32 nth;
	__u32 drop;		/* written to the decision */
	__u32 duplicate;	/* written to the decision */
	__u32 clear_last;	/* written to the decision */
	__u32 __pad;
	__u64 calls;
	__u64 matched;
	__u64 written;
	__u64 dirty;
	__u32 last_dev_id;
	__u32 last_pasid;
	__u32 last_hwpt_id;
	__u32 last_grpid;
	__u64 last_cookie;
	__u64 last_addr;
	__u32 last_npages;
	__u32 last_perm;
	__u32 last_owner_pid;
	__u32 __pad2;
};

/*
 * nestiommu:nest_hook_page_response, in the thread that write()s the response
 * (also for a response delivered late: the kworker only delivers it).
 */
struct hook_page_response_ctl {
	__u32 enabled;
	__u32 tgid;
	__u32 dev_id;
	__u32 nth;
	__u32 set_code;		/* written to the decision */
	__u32 new_code;		/* written to the decision */
	__u32 drop;		/* written to the decision */
	__u32 delay_us;		/* written to the decision */
	__u64 calls;
	__u64 matched;
	__u64 written;
	__u64 dirty;
	__u32 last_dev_id;
	__u32 last_pasid;
	__u32 last_grpid;
	__u32 last_code;
	__u64 last_cookie;
	__u64 last_age_ns;
	__u32 last_owner_pid;
	__u32 last_tgid;	/* the process that wrote the response */
};

/*
 * nestiommu:nest_hook_fail_site, in the thread of the call that may fail:
 * @matched counts the hits of @site by @tgid.
 */
struct hook_fail_site_ctl {
	__u32 enabled;
	__u32 tgid;
	__u32 site;
	__u32 nth;
	__u32 fail;		/* written to the decision */
	__u32 last_pid;		/* the pid field of the last matching hit */
	__u64 calls;
	__u64 matched;
	__u64 written;
	__u64 dirty;
};

/* nestiommu:nest_fail_site: the failures injected in process @tgid. */
struct fail_mark_ctl {
	__u32 tgid;
	__u32 last_site;
	__u32 last_pid;
	__s32 last_err;
	__u64 events;
};

/*
 * The marks of injected outcomes in the ordinary events, counted by the
 * optional tp_btf programs fault_mark_prog, inv_mark_prog, pr_mark_prog and
 * resp_mark_prog (not loaded unless user space turns their autoload on).
 */

/* nestiommu:nest_fault: faults of device @dev_id (0: any). */
struct fault_mark_ctl {
	__u32 dev_id;
	__u32 last_flags;	/* enum nestiommu_fault_flags */
	__u64 faults;
	__u64 injected;		/* with NESTIOMMU_FAULT_F_INJECTED */
	__u32 last_owner_pid;
	__u32 __pad;
};

/* nestiommu:nest_invalidate: entries of HWPT @hwpt_id (0: any). */
struct inv_mark_ctl {
	__u32 hwpt_id;
	__u32 last_error;	/* injected_error of the last event */
	__u64 events;
	__u64 dropped;		/* sum of the cache entries dropped */
	__u64 injected_drops;	/* events with injected_drop */
	__u64 injected_errors;	/* events with an injected_error */
};

/* nestiommu:nest_map_error: MAPs of process @tgid (0: any) that failed. */
struct map_mark_ctl {
	__u32 tgid;
	__s32 last_err;
	__u64 events;
	__u64 injected;		/* events with injected */
	__u32 last_ioas_id;
	__u32 last_pid;
	__u64 last_iova;
	__u64 last_length;
};

/*
 * nestiommu:nest_page_request (one event per page sent, also for a group whose
 * records nest_hook_page_request lost) of device @dev_id (0: any); the counts
 * are of events with each NEST_PR_INJ_* mark of kernel/hooks.h.
 */
struct pr_mark_ctl {
	__u32 dev_id;
	__u32 last_injected;	/* the marks of the last event */
	__u64 events;
	__u64 last_pages;	/* events with last (LAST_PAGE sent) */
	__u64 forced;
	__u64 dropped;
	__u64 duplicated;
	__u64 last_cleared;
	__u64 last_cookie;
	__u32 last_owner_pid;
	__u32 __pad;
};

/*
 * nestiommu:nest_page_response (one event per group answered, by user space or
 * the driver) of device @dev_id (0: any); the counts are of events with
 * each NEST_RESP_INJ_* mark of kernel/hooks.h.
 */
struct resp_mark_ctl {
	__u32 dev_id;
	__u32 last_injected;	/* the marks of the last event */
	__u64 events;
	__u64 automatic;	/* answered by the driver */
	__u64 codes;		/* the code was replaced */
	__u64 delayed;
	__u32 last_code;
	__u32 last_automatic;
	__u64 last_cookie;
	__u64 last_latency_ns;
	__u32 last_owner_pid;
	__u32 __pad;
};

#endif /* HOOK_INJECT_H */
