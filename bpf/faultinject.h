/* SPDX-License-Identifier: GPL-2.0 */
/*
 * faultinject's rules as its BPF programs see them: shared by
 * bpf/faultinject.bpf.c and tools/faultinject (which parses the rule text
 * into these, tools/faultinject/rules.c).
 *
 * A rule applies at one hook point (@at), to the events its filters select
 * (@filters says which are set), and decides by counting those events: the
 * m-th match (m from 1) is a candidate when m > @after, and then, if set,
 * m == @nth or (m - @after) % @every == 0; a candidate injects when the
 * rule's PRNG (seeded from --seed and the rule's index) draws below @prob,
 * at most @times times. So the same events in the same order inject the
 * same way, run after run.
 */
#ifndef FAULTINJECT_H
#define FAULTINJECT_H

#define FI_MAX_RULES		64
#define FI_COMM_LEN		16
/* @prob is out of this: FI_PROB_ONE always injects. */
#define FI_PROB_ONE		(1ULL << 32)

enum fi_at {
	FI_AT_TRANSLATE = 1,
	FI_AT_PAGE_REQUEST,
	FI_AT_PAGE_RESPONSE,
	FI_AT_INVALIDATE,
	FI_AT_MAP,
	FI_AT_FAIL_SITE,
	FI_AT_NR,
};

enum fi_action {
	FI_ACT_FAULT = 1,	/* translate: @fault_reason, @fault_stage */
	FI_ACT_PAGE_REQUEST,	/* translate: the device asks for the page */
	FI_ACT_DROP,		/* page-request, page-response, invalidate */
	FI_ACT_DUPLICATE,	/* page-request: every record twice */
	FI_ACT_CLEAR_LAST,	/* page-request: no LAST_PAGE */
	FI_ACT_CODE,		/* page-response: deliver @code instead */
	FI_ACT_DELAY,		/* page-response: deliver after @delay_us */
	FI_ACT_ERRNO,		/* invalidate, map: fail with @error */
	FI_ACT_FAIL,		/* fail-site: fail @site with its errno */
	FI_ACT_NR,
};

/* Which filters of struct fi_rule are set. */
enum fi_filter {
	FI_F_DEV	= 1 << 0,
	FI_F_PASID	= 1 << 1,
	FI_F_HWPT	= 1 << 2,
	FI_F_IOAS	= 1 << 3,
	FI_F_IOVA	= 1 << 4,
	FI_F_ACCESS	= 1 << 5,
	FI_F_CACHE	= 1 << 6,
	FI_F_COMM	= 1 << 7,
	FI_F_PID	= 1 << 8,
};

struct fi_rule {
	__u32 at;		/* enum fi_at */
	__u32 action;		/* enum fi_action */
	/* what */
	__u32 fault_reason;	/* enum nestiommu_fault_reason */
	__u32 fault_stage;	/* 1 or 2 */
	__u32 fault_level;	/* 0: any */
	__u32 code;		/* enum nestiommu_page_response_code */
	__u32 delay_us;
	__u32 error;		/* a positive errno */
	__u32 site;		/* a failure site */
	/* filters */
	__u32 filters;		/* enum fi_filter */
	__u32 dev_id;
	__u32 pasid;		/* NESTIOMMU_PASID_NONE: without PASID */
	__u32 hwpt_id;
	__u32 ioas_id;
	__u32 access;		/* all of these enum nestiommu_access bits */
	__u32 cache;		/* any of these enum nestiommu_inv_cache bits */
	__u32 pid;		/* a thread group */
	__u32 __pad;
	__u64 iova_first;
	__u64 iova_last;
	char comm[FI_COMM_LEN];
	/* when */
	__u64 nth;		/* 0: any */
	__u64 every;		/* 0: every candidate */
	__u64 after;
	__u64 times;		/* 0: no limit */
	__u64 prob;		/* out of FI_PROB_ONE */
};

/*
 * What bpf/faultinject.bpf.c counts per rule (the global array "stats",
 * read by the tool through the skeleton's .bss).
 */
struct fi_rule_stats {
	__u64 matched;		/* events the rule's filters selected */
	__u64 injected;		/* decisions it wrote */
	__u64 taken;		/* times= reservations (>= injected) */
	__u64 marked;		/* outcomes the driver marked as injected */
};

#endif /* FAULTINJECT_H */
