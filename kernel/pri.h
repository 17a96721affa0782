/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Page requests (PCIe PRI): pri.c's interface to the rest of the driver.
 *
 * pri.c owns the protocol: whether a fault becomes a page request, the
 * group's records and cookie, nest_hook_page_request, credit, parking and
 * RESUME, the answer (nest_hook_page_response), timeouts and the PRI options.
 * The fault queue (fault.c, fault.h) only carries the records and keeps
 * the groups waiting for a response on its pending list.
 *
 * Send leg: a DMA step's translation faults; nest_pri_fault() (under the
 * IOMMU lock) decides the device asks and fills the DMA's struct
 * nest_pri_req; the DMA then calls nest_pri_ask(), which takes credit,
 * builds the group and hands its records to the queue in one call
 * (nest_fault_ring_send()), then waits or parks the group.
 * Answer leg: the queue's write() checks each response
 * (nest_page_response_check()), claims the group it names and hands both
 * to nest_pri_respond(), which runs nest_hook_page_response and answers.
 *
 * A group is answered exactly once: by whoever claims it off the queue's
 * pending list - a response, the queue's fd closing, the device's detach,
 * reset or destroy, or the group's timeout. The ring lock and the device's
 * PRI lock are never held together.
 *
 * A non-blocking DMA does not wait: its group is "parked" on the device
 * from its creation until a RESUME takes it, answered or not, or a reset
 * or the device's end forgets it.
 */
#ifndef NEST_PRI_H
#define NEST_PRI_H

#include <linux/list.h>
#include <linux/mutex.h>
#include <linux/refcount.h>
#include <linux/spinlock.h>
#include <linux/wait.h>
#include <uapi/linux/nestiommu.h>

struct nest_device;
struct nest_fault;
struct nest_fault_pending;
struct nest_fault_ring;
struct nest_hwpt;

/*
 * PRI state of a device. Referenced by the device and by each of its
 * groups: a response may arrive after the device is gone.
 */
struct nest_pri {
	refcount_t users;
	spinlock_t lock;
	/* DMAs waiting for credit (@outstanding below @max_outstanding) */
	wait_queue_head_t credit_wait;
	u32 dev_id;
	u32 owner_pid;		/* the context's owner (struct nest_ctx) */
	u32 outstanding;	/* page requests not answered */
	u32 max_outstanding;
	u32 timeout_ms;
	bool disabled;		/* by a FAILURE response, until reset */
	u16 next_grpid;
	struct list_head groups;	/* struct nest_prg::dev_node, pending */
	struct list_head parked;	/* struct nest_prg::park_node */
	u32 nr_parked;
	/* One canceller at a time uses struct nest_prg::cancel_node. */
	struct mutex cancel_mutex;
	/* the pri_*, injected_pr_*, injected_resp_* and hook_rejected fields */
	struct nestiommu_xlate_stats stats;
};

/* May a device with this PRI state (NULL: none) send page requests? */
static inline bool nest_pri_on(const struct nest_pri *pri)
{
	return pri && !READ_ONCE(pri->disabled);
}

/*
 * The page request state of one DMA call: the DMA (dma.c) owns it, its
 * translation steps fill @ring and @tmpl (nest_pri_fault()), and
 * nest_pri_ask() consumes them.
 */
struct nest_pri_req {
	/* the queue to ask (referenced), or NULL: the fault stands */
	struct nest_fault_ring *ring;
	struct nestiommu_fault_record tmpl;	/* the fault's record */
	u32 asked;		/* groups sent for the current page */
	u64 cookie;		/* the group a NONBLOCK DMA parked, or 0 */
};

int nest_pri_init(void);
u64 nest_pri_outstanding_total(void);
void nest_pri_exit(void);

/* device.c, iommu.c: the device's PRI state and options */
struct nest_pri *nest_pri_alloc(u32 dev_id, u32 owner_pid);
void nest_pri_put(struct nest_pri *pri);
void nest_pri_stats(struct nest_pri *pri, struct nestiommu_xlate_stats *st);
int nest_pri_option(struct nest_pri *pri, struct nestiommu_option *cmd);
void nest_pri_cancel(struct nest_pri *pri, u64 key);
void nest_pri_reset(struct nest_pri *pri);
void nest_pri_forget_parked(struct nest_pri *pri);

/* xlate.c and dma.c: the send leg, RESUME */
bool nest_pri_fault(struct nest_pri_req *pr, const struct nest_device *dev,
		    const struct nest_hwpt *hwpt, u32 key,
		    const struct nest_fault *fault,
		    const struct nestiommu_fault_info *info, bool forced);
int nest_pri_ask(struct nest_pri *pri, struct nest_pri_req *pr, u32 key,
		 u64 iova, u64 end, bool nonblock);
int nest_pri_resume(struct nest_pri *pri, struct nest_pri_req *pr,
		    u64 cookie, u32 key, u64 iova, bool nonblock,
		    struct nestiommu_fault_info *info);

/* A valid page response code? 0 or -EOPNOTSUPP. */
static inline int nest_page_response_code_check(u32 code)
{
	switch (code) {
	case NESTIOMMU_PAGE_RESP_SUCCESS:
	case NESTIOMMU_PAGE_RESP_INVALID:
	case NESTIOMMU_PAGE_RESP_FAILURE:
		return 0;
	}
	return -EOPNOTSUPP;
}

/* A page response user space may write? 0 or -EOPNOTSUPP. */
static inline int
nest_page_response_check(const struct nestiommu_page_response *resp)
{
	if (resp->__reserved)
		return -EOPNOTSUPP;
	return nest_page_response_code_check(resp->code);
}

/* fault.c: the answer leg */
void nest_pri_respond(struct nest_fault_pending *p,
		      const struct nestiommu_page_response *resp);
void nest_pri_queue_closed(struct nest_fault_pending *p);

#endif /* NEST_PRI_H */
