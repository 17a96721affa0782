/* SPDX-License-Identifier: GPL-2.0 */
/*
 * iommutop.h - what iommutop.bpf.c aggregates in the kernel and
 * tools/iommutop reads: map keys, counter blocks and constants (include
 * after <linux/types.h> or vmlinux_nestiommu.h).
 *
 * Every counter counts from the moment the programs were attached. Rows
 * live in per-CPU hash maps that user space sums over the CPUs; nothing is
 * ever deleted from them, so a counter never goes backwards.
 */
#ifndef IOMMUTOP_H
#define IOMMUTOP_H

/*
 * Page-response latency histogram: slot 0 holds 0 and 1 ns, slot k
 * (1 <= k < IOMMUTOP_LAT_SLOTS - 1) holds (2^(k-1), 2^k] ns, so 2^k is an
 * exact upper bound ("le"); the last slot holds everything larger.
 */
#define IOMMUTOP_LAT_SLOTS	48

/* The lat_hist slot of @ns; shared by the BPF side and the model. */
static inline __u32 iommutop_lat_slot(__u64 ns)
{
	__u64 v;
	__u32 r = 1;

	if (ns <= 1)
		return 0;
	/* ceil(log2(ns)) = floor(log2(ns - 1)) + 1, without a clz */
	v = ns - 1;
	if (v >> 32) {
		v >>= 32;
		r += 32;
	}
	if (v >> 16) {
		v >>= 16;
		r += 16;
	}
	if (v >> 8) {
		v >>= 8;
		r += 8;
	}
	if (v >> 4) {
		v >>= 4;
		r += 4;
	}
	if (v >> 2) {
		v >>= 2;
		r += 2;
	}
	if (v >> 1)
		r += 1;
	return r < IOMMUTOP_LAT_SLOTS ? r : IOMMUTOP_LAT_SLOTS - 1;
}

/* Fault reasons are enum nestiommu_fault_reason, below this bound. */
#define IOMMUTOP_NR_REASONS	16

/* The events counted in struct iommutop_totals.events[]. */
enum iommutop_event {
	IOMMUTOP_EV_MAP,
	IOMMUTOP_EV_UNMAP,
	IOMMUTOP_EV_ATTACH,
	IOMMUTOP_EV_DETACH,
	IOMMUTOP_EV_INVALIDATE,
	IOMMUTOP_EV_TRANSLATE,
	IOMMUTOP_EV_DMA,
	IOMMUTOP_EV_FAULT,
	IOMMUTOP_EV_STALE,
	IOMMUTOP_EV_FQ_OVERFLOW,
	IOMMUTOP_EV_PAGE_REQUEST,
	IOMMUTOP_EV_PAGE_RESPONSE,
	IOMMUTOP_EV_PR_TIMEOUT,
	IOMMUTOP_EV_MAP_ERROR,
	IOMMUTOP_EV_FAIL_SITE,	/* only injected failures raise it */
	IOMMUTOP_EV_NR,
};

/*
 * A device row: one device at one PASID (or NESTIOMMU_PASID_NONE, as the
 * events carry it).
 */
struct iommutop_dev_key {
	__u32 dev_id;
	__u32 pasid;
};

struct iommutop_dev_counters {
	__u64 dma_ops;		/* DMA calls that ended */
	__u64 dma_bytes;	/* bytes they moved */
	__u64 dma_faulted;	/* of those, ended by a fault */
	__u64 translations;	/* pages translated or faulted */
	__u64 iotlb_hits;
	__u64 devtlb_hits;
	__u64 walks;		/* successful page-table walks */
	__u64 walk_mem_refs;	/* entries those walks read */
	__u64 faults;		/* injected ones included */
	__u64 faults_injected;
	__u64 faults_no_hwpt;	/* PASID_INVALID: nothing attached */
	__u64 stale;		/* stale translations the auditor found */
	__u64 page_requests;	/* one per page */
	__u64 pr_groups;	/* distinct cookies */
	__u64 pr_injected;	/* page requests with NEST_PR_INJ_* marks */
	__u64 pr_responses;	/* groups answered, by anyone */
	__u64 pr_success;	/* by code, user space and driver together */
	__u64 pr_invalid;
	__u64 pr_failure;
	__u64 pr_auto;		/* answered by the driver itself */
	__u64 pr_resp_injected;	/* with NEST_RESP_INJ_* marks */
	__u64 pr_timeouts;
	__u64 lat_sum_ns;	/* page-response latency, summed */
	__u64 lat_hist[IOMMUTOP_LAT_SLOTS];
};

/* A HWPT row (keyed by the HWPT ID). */
struct iommutop_hwpt_counters {
	__u64 translations;
	__u64 iotlb_hits;
	__u64 devtlb_hits;
	__u64 walks;
	__u64 walk_mem_refs;
	__u64 dma_ops;		/* DMAs that moved bytes while attached */
	__u64 dma_bytes;
	__u64 faults;
	__u64 faults_injected;
	__u64 stale;
	__u64 inv_entries;	/* HWPT_INVALIDATE entries, injected included */
	__u64 inv_iotlb;	/* carried-out entries naming each cache */
	__u64 inv_dev_iotlb;
	__u64 inv_pasid;
	__u64 inv_dropped;	/* cache entries they dropped */
	__u64 inv_injected_drops;
	__u64 inv_injected_errors;
};

/* An IOAS row (keyed by the IOAS ID). */
struct iommutop_ioas_counters {
	__u64 maps;
	__u64 unmaps;
	__u64 map_bytes;
	__u64 unmap_bytes;
	__u64 map_errors;	/* MAPs that failed, injected included */
	__u64 map_errors_injected;
};

/* A fault row: faults counted by where, stage, reason and origin. */
struct iommutop_fault_key {
	__u32 dev_id;
	__u32 pasid;
	__u32 hwpt_id;		/* 0: none attached (PASID_INVALID) */
	__u8 stage;		/* 1 or 2 */
	__u8 reason;		/* enum nestiommu_fault_reason */
	__u8 injected;		/* 1: forced by a BPF hook */
	__u8 __pad;
};

/* An outstanding page request group. */
struct iommutop_pr_key {
	__u32 dev_id;
	__u32 pasid;
	__u64 cookie;
};

struct iommutop_pr_pending {
	__u64 sent_ns;		/* bpf_ktime_get_ns() of its first request */
	__u32 pages;		/* nest_page_request events seen */
	__u32 grpid;
};

/* Whole-run counters (a per-CPU array of one). */
struct iommutop_totals {
	__u64 events[IOMMUTOP_EV_NR];
	__u64 lost;		/* events a full map could not count */
};

#endif /* IOMMUTOP_H */
