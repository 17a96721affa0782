/* SPDX-License-Identifier: GPL-2.0 */
/*
 * libnestiommu: page requests (PRI) answered from user space.
 *
 * A device created with NESTIOMMU_DEVICE_PRI, attached to a HWPT that has a
 * fault queue, does not stop at a stage-1 not-present or permission fault:
 * it queues a page request group (one NESTIOMMU_RECORD_PAGE_REQUEST record
 * per page, the last one flagged LAST_PAGE, all with one cookie) and its
 * DMA waits until a struct nestiommu_page_response for that cookie is
 * written to the queue's fd.
 *
 * The PRI handler is a thread that does that loop: it polls the queue's
 * fd, reads the records, collects each group's pages (by cookie, so groups
 * may interleave), calls a callback per page (typically: map the page in
 * the stage-1 table with the s1 builder) and, when the group's LAST_PAGE
 * record arrives, writes one response for the group: by default the worst
 * code its pages got (FAILURE over INVALID over SUCCESS). Unrecoverable
 * faults (NESTIOMMU_RECORD_FAULT) go to an optional callback. Counters say
 * what it saw and answered.
 *
 * Callbacks run on the handler's thread, one at a time. The handler is the
 * only reader of its queue's fd while it runs; the caller keeps the fd open
 * until nest_pri_stop() returned. Handlers of different queues are
 * independent.
 *
 * The plain functions below (nest_page_respond(), nest_page_respond_array(),
 * nest_device_reset()) serve callers that read the queue themselves.
 *
 * Functions return 0 or -errno, as the rest of the library. Programs using
 * the handler link with -pthread.
 */
#ifndef NESTIOMMU_PRI_H
#define NESTIOMMU_PRI_H

#include <stddef.h>
#include <linux/types.h>
#include <linux/nestiommu.h>

/* The size of a page one page request asks for. */
#define NEST_PRI_PAGE_SIZE	4096ULL

/* A group callback's answer: write no response (the caller answers later). */
#define NEST_PRI_NO_RESPONSE	(~0U)

/**
 * struct nest_pri_group - a page request group, complete
 * @first: its first page request record (cookie, grpid, dev_id, pasid,
 *	hwpt_id, perm and the fault are those of every record of the group)
 * @npages: records (pages) in the group; page i is @first.addr + i * 4 KiB
 *	when the pages are consecutive, as the driver sends them
 * @last_addr: the page of the LAST_PAGE record
 * @code: the worst response code the page callback returned for its pages
 */
struct nest_pri_group {
	struct nestiommu_fault_record first;
	__u32 npages;
	__u64 last_addr;
	__u32 code;
};

/**
 * struct nest_pri_ops - what the handler calls (each may be NULL)
 * @page: one page request (@rec->addr, @rec->perm): make the page
 *	available, or not. Return an enum nestiommu_page_response_code.
 *	NULL: every page gets nest_pri_config.default_code.
 * @group: the group is complete; @code is the worst code of its pages.
 *	Return the code to write (any value: an unknown one is written as
 *	it is and refused by the kernel), or NEST_PRI_NO_RESPONSE to leave
 *	the group unanswered. NULL: write @code.
 * @fault: an unrecoverable fault record (type NESTIOMMU_RECORD_FAULT).
 */
struct nest_pri_ops {
	__u32 (*page)(void *ctx, const struct nestiommu_fault_record *rec);
	__u32 (*group)(void *ctx, const struct nest_pri_group *g, __u32 code);
	void (*fault)(void *ctx, const struct nestiommu_fault_record *rec);
};

/**
 * struct nest_pri_config - a handler's set-up
 * @qfd: the fault queue's fd (from nest_fault_queue_alloc()), opened
 *	read-write as the driver opens it; blocking or not, either works
 * @ops: the callbacks
 * @ctx: passed to every callback
 * @default_code: the code of every page when @ops.page is NULL
 */
struct nest_pri_config {
	int qfd;
	struct nest_pri_ops ops;
	void *ctx;
	__u32 default_code;
};

/**
 * struct nest_pri_counters - what a handler saw and did
 * @records: records read
 * @page_requests: page request records read
 * @faults: unrecoverable fault records read
 * @unknown: records skipped: another version or an unknown type
 * @overflows: records read with NESTIOMMU_RECORD_F_OVERFLOW
 * @dropped: records the queue dropped, summed over those
 * @groups: groups complete (their LAST_PAGE record read)
 * @success: SUCCESS responses the kernel took
 * @invalid: INVALID responses the kernel took
 * @failure: FAILURE responses the kernel took
 * @rejected: responses the kernel refused with EINVAL: the group was
 *	answered already, by the driver (timeout, detach, reset, ...)
 * @write_errors: responses refused otherwise (e.g. EOPNOTSUPP for an
 *	unknown code a group callback returned)
 * @held: groups the group callback left unanswered
 * @incomplete: groups given up without their LAST_PAGE record (records
 *	lost to a full queue); none is answered
 * @error: the errno that ended the thread early (poll or read failed),
 *	0 otherwise
 *
 * groups = success + invalid + failure + rejected + write_errors + held.
 */
struct nest_pri_counters {
	__u64 records;
	__u64 page_requests;
	__u64 faults;
	__u64 unknown;
	__u64 overflows;
	__u64 dropped;
	__u64 groups;
	__u64 success;
	__u64 invalid;
	__u64 failure;
	__u64 rejected;
	__u64 write_errors;
	__u64 held;
	__u64 incomplete;
	int error;
};

struct nest_pri_handler;

int nest_pri_start(const struct nest_pri_config *cfg,
		   struct nest_pri_handler **handler);
void nest_pri_stop(struct nest_pri_handler *h,
		   struct nest_pri_counters *final);
void nest_pri_get_counters(struct nest_pri_handler *h,
			   struct nest_pri_counters *c);
int nest_pri_wait_groups(struct nest_pri_handler *h, __u64 groups,
			 unsigned int timeout_ms);

/* The worse of two response codes: FAILURE > INVALID > SUCCESS. */
__u32 nest_pri_worse(__u32 a, __u32 b);

int nest_page_respond(int qfd, __u64 cookie, __u32 code);
int nest_page_respond_array(int qfd, const struct nestiommu_page_response *r,
			    size_t n, size_t *handled);
int nest_device_reset(int fd, __u32 dev_id);

#endif /* NESTIOMMU_PRI_H */
