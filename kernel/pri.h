/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Page requests (PCIe PRI): what fault.c (the queue side) and pri.c (the
 * device side) share.
 *
 * A page request group (struct nest_prg) is created by a DMA that faulted,
 * put on its device's list and on its queue's pending list, and its page
 * request records are queued. It is answered exactly once: whoever takes
 * it off the queue's pending list (under the ring lock: the "claim") -
 * the response write(), the queue's fd closing, the device's detach,
 * reset or destroy, or the waiter's timeout - then calls nest_prg_answer().
 * The ring lock and the device's PRI lock are never held together.
 *
 * A non-blocking DMA does not wait: its group is "parked" on the device
 * (pri->parked) from its creation until a RESUME takes it, answered or
 * not, or a reset or the device's end forgets it.
 */
#ifndef NEST_PRI_H
#define NEST_PRI_H

#include <linux/completion.h>
#include <linux/list.h>
#include <linux/mutex.h>
#include <linux/refcount.h>
#include <linux/spinlock.h>
#include <linux/wait.h>
#include <linux/workqueue.h>
#include <uapi/linux/nestiommu.h>

struct nest_fault_ring;

/* Who answered a group (for statistics and the page_response event). */
enum nest_prg_answerer {
	NEST_PRG_USER,		/* a response written to the queue's fd */
	NEST_PRG_AUTO,		/* the driver: detach, reset, close, full... */
	NEST_PRG_TIMEOUT,	/* the driver, after OPTION_PRI_TIMEOUT_MS */
};

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

/* One page request group. */
struct nest_prg {
	refcount_t users;
	struct list_head ring_node;	/* ring's pending list (ring lock) */
	struct list_head dev_node;	/* pri->groups (pri->lock) */
	struct list_head cancel_node;	/* a canceller's list */
	struct list_head park_node;	/* pri->parked (pri->lock) */
	bool cancelled;			/* pri->lock */
	bool parked;			/* pri->lock */
	struct nest_fault_ring *ring;
	struct nest_pri *pri;
	u64 cookie;
	u64 sent_ns;
	u32 grpid;
	u32 key;			/* PASID or NESTIOMMU_PASID_NONE */
	u32 npages;
	u64 addr;			/* the first page */
	u32 asked;			/* groups sent for that page, this one in */
	u32 injected;			/* NEST_PR_INJ_* (hooks.h) */
	bool hook_rejected;		/* nest_hook_page_request wrote nonsense */
	struct nestiommu_fault_info fault;	/* what made the device ask */
	u32 code;			/* valid once @done */
	u32 resp_injected;		/* NEST_RESP_INJ_* of the answer */
	u32 resp_code;			/* of a delayed response */
	bool resp_delayed;		/* @resp_work is (or was) queued */
	bool timeout_armed;		/* @timeout_work holds a reference */
	struct delayed_work timeout_work;
	struct delayed_work resp_work;	/* a delayed response (hooks) */
	struct completion done;
};

/* fault.c */
struct nest_fault_ring *nest_fault_queue_ring(struct nest_fault_queue *q);
void nest_fault_ring_get(struct nest_fault_ring *ring);
void nest_fault_ring_put(struct nest_fault_ring *ring);
int nest_fault_ring_send(struct nest_fault_ring *ring, struct nest_prg *g,
			 const struct nestiommu_fault_record *tmpl, u64 addr);
bool nest_fault_ring_claim(struct nest_fault_ring *ring, struct nest_prg *g);

/* pri.c */
int nest_pri_init(void);
void nest_pri_exit(void);
struct nest_pri *nest_pri_alloc(u32 dev_id);
void nest_pri_put(struct nest_pri *pri);
void nest_pri_stats(struct nest_pri *pri, struct nestiommu_xlate_stats *st);
void nest_prg_answer(struct nest_prg *g, u32 code,
		     enum nest_prg_answerer who);
void nest_prg_answer_later(struct nest_prg *g, u32 code, u32 delay_us);
void nest_prg_put(struct nest_prg *g);
void nest_pri_cancel(struct nest_pri *pri, u64 key);
int nest_pri_send(struct nest_pri *pri, struct nest_fault_ring *ring,
		  u32 key, const struct nestiommu_fault_record *tmpl,
		  u64 addr, u32 npages, u32 asked, bool nonblock,
		  struct nest_prg **gp);
int nest_prg_wait(struct nest_prg *g);
struct nest_prg *nest_pri_resume(struct nest_pri *pri, u64 cookie, u32 key,
				 u64 addr, bool nonblock);
void nest_pri_reset(struct nest_pri *pri);
void nest_pri_forget_parked(struct nest_pri *pri);

#endif /* NEST_PRI_H */
