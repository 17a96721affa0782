/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What bpf/fi_record.bpf.c and tools/faultinject (record.c) share: the
 * events of a recording as they come through the ring buffer, and the
 * decisions of a replay, keyed by logical position.
 *
 * A logical position is the 1-based number of an event of one kind at one
 * place since the programs were attached, counting only events in scope:
 * per (device, PASID) the n-th translation (nest_hook_translate) and the
 * n-th page request group (nest_hook_page_request; its response has the
 * group's position), per HWPT the n-th invalidation entry, per IOAS the
 * n-th MAP, per failure site the n-th hit. 0: no position (a fault
 * without an attached HWPT).
 */
#ifndef FI_RECORD_H
#define FI_RECORD_H

/* The ring buffer "events": its default size (record --ring-size). */
#define FI_REC_RING_SIZE	(1 << 22)
/* Wake the reader once this much waits (at most; a quarter of the ring). */
#define FI_REC_WAKE_BYTES	(256 * 1024)

enum fi_rec_kind {
	FI_REC_FAULT = 1,	/* id1 dev, id2 pasid; pos: translation */
	FI_REC_PAGE_REQUEST,	/* id1 dev, id2 pasid; pos: group */
	FI_REC_PAGE_RESPONSE,	/* id1 dev, id2 pasid; pos: its group's */
	FI_REC_INVALIDATE,	/* id1 hwpt */
	FI_REC_MAP,		/* id1 ioas */
	FI_REC_FAIL_SITE,	/* id1 site */
	FI_REC_NR,
};

/* The positions counted (struct fi_pos_key.kind). */
enum fi_pos_kind {
	FI_POS_TRANSLATE = 1,
	FI_POS_PAGE_REQUEST,
	FI_POS_INVALIDATE,
	FI_POS_MAP,
	FI_POS_FAIL_SITE,
};

/* How a page response was answered (struct fi_rec_event.by). */
enum fi_resp_by {
	FI_BY_USER = 1,		/* written by user space */
	FI_BY_TIMEOUT,		/* the driver's timeout */
	FI_BY_AUTO,		/* the driver: detach, reset, close */
};

/* One recorded event; which fields mean something depends on @kind. */
struct fi_rec_event {
	__u32 kind;		/* enum fi_rec_kind */
	__u32 id1;
	__u32 id2;
	__u32 hwpt_id;		/* fault, page request */
	__u64 pos;
	__u64 xpos;		/* page request: the translation that asked */
	__u64 addr;		/* fault, map: IOVA; page request: first page */
	__u64 length;		/* map */
	__u64 cookie;		/* page request, response */
	__u64 latency_ns;	/* response */
	__u64 delay_us;		/* response: the delay injected */
	__u32 reason;		/* fault */
	__u32 stage;
	__u32 level;
	__u32 access;		/* fault: access; page request: perm */
	__u32 injected;		/* fault: 0/1; page request, response: marks */
	__u32 code;		/* response */
	__u32 by;		/* response: enum fi_resp_by */
	__u32 grpid;		/* page request, response */
	__u32 npages;		/* page request */
	__u32 error;		/* invalidate, map, fail-site: a positive errno */
	__u32 drop;		/* invalidate: dropped */
	__u32 __pad;
};

/* A decision of a replay, at (kind, id1, id2, pos). */
struct fi_replay_key {
	__u32 kind;		/* enum fi_pos_kind */
	__u32 id1;
	__u32 id2;
	__u32 __pad;
	__u64 pos;
};

struct fi_replay_val {
	/* translate */
	__u32 fault_reason;
	__u32 fault_stage;
	__u32 fault_level;
	__u32 page_request;
	/* page request: NEST_PR_INJ_DROPPED | _DUPLICATED | _LAST_CLEARED */
	__u32 pr_marks;
	/* page response: FI_SET_CODE_* */
	__u32 set_code;
	__u32 code;
	__u32 delay_us;
	/* invalidate, map: errno; invalidate: drop; fail-site: fail */
	__u32 error;
	__u32 drop;
	__u32 fail;
	__u32 __pad;
};

/*
 * A replayed page response's code: written where user space wrote another
 * (a code edited by hand), or always (a code the recording marks as
 * injected, so the driver marks it again).
 */
#define FI_SET_CODE_DIFFERENT	1
#define FI_SET_CODE_ALWAYS	2

#define FI_REPLAY_MAX	65536

#ifndef NEST_PR_INJ_FORCED
/* kernel/hooks.h's "injected" marks (nest_bpf.h has them for BPF). */
#define NEST_PR_INJ_FORCED	 (1U << 0)
#define NEST_PR_INJ_DROPPED	 (1U << 1)
#define NEST_PR_INJ_DUPLICATED	 (1U << 2)
#define NEST_PR_INJ_LAST_CLEARED (1U << 3)
#define NEST_RESP_INJ_CODE	 (1U << 0)
#define NEST_RESP_INJ_DELAYED	 (1U << 1)
#endif

#endif /* FI_RECORD_H */
