// SPDX-License-Identifier: GPL-2.0
/*
 * Page requests (PCIe PRI), the whole protocol (see pri.h): which faults
 * the device asks a page for, credit for outstanding requests, building a
 * group's records and cookie, nest_hook_page_request, sending and waiting or
 * parking for a RESUME, the answer (user responses, nest_hook_page_response)
 * and what the user will not answer (detach, replace, reset, destroy,
 * close, timeout), and the PRI options.
 *
 * Life of a group: the DMA takes credit, puts the group on the device's
 * list, queues it and waits. A canceller (detach, reset...) marks every
 * group of its PASID "cancelled" under the device's PRI lock and answers
 * those it can claim; a timeout marks its group "expired" and does the
 * same. A group that is not pending cannot be claimed - not queued yet,
 * or claimed by a response that nest_hook_page_response loses and that puts it
 * back - so whoever makes it pending checks both marks afterwards and
 * answers it itself (nest_prg_recheck()). Either way nobody waits for
 * user space.
 *
 * A BPF program at nest_hook_page_response may delay a response: the group is
 * claimed at once and answered from nest_pri_wq later, so a delayed
 * answer is never lost, and the module waits for them when it goes.
 *
 * Context: everything here runs in process context; the PRI lock is a
 * plain spinlock taken with no other lock held.
 */
#include <linux/completion.h>
#include <linux/ktime.h>
#include <linux/mutex.h>
#include <linux/wait_bit.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <linux/workqueue.h>

#include "fail.h"
#include "fault.h"
#include "nest_priv.h"
#include "pri.h"
#include "trace.h"

/* Who answered a group (for statistics and the page_response event). */
enum nest_prg_answerer {
	NEST_PRG_USER,		/* a response written to the queue's fd */
	NEST_PRG_AUTO,		/* the driver: detach, reset, close, full... */
	NEST_PRG_TIMEOUT,	/* the driver, after OPTION_PRI_TIMEOUT_MS */
};

/* One page request group. */
struct nest_prg {
	refcount_t users;
	struct nest_fault_pending pend;	/* the queue's view, the cookie */
	struct list_head dev_node;	/* pri->groups (pri->lock) */
	struct list_head cancel_node;	/* a canceller's list */
	struct list_head park_node;	/* pri->parked (pri->lock) */
	bool cancelled;			/* pri->lock */
	bool expired;			/* pri->lock: its timeout fired */
	bool parked;			/* pri->lock */
	struct nest_fault_ring *ring;
	struct nest_pri *pri;
	u64 sent_ns;
	u32 grpid;
	u32 key;			/* PASID or NESTIOMMU_PASID_NONE */
	u32 npages;
	u64 addr;			/* the first page */
	u32 asked;			/* groups for that page, this one in */
	u32 injected;			/* NEST_PR_INJ_* (hooks.h) */
	bool hook_rejected;		/* the hook wrote nonsense */
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

/*
 * The last page request cookie given out: cookies are never reused while
 * the module is loaded, so one names one group across queues and devices.
 */
static atomic64_t nest_pri_last_cookie = ATOMIC64_INIT(0);

/* Runs the groups' timeouts and delayed responses. */
static struct workqueue_struct *nest_pri_wq;
/* Delayed responses whose timer may still run (see nest_pri_exit()). */
static atomic_t nest_pri_delayed = ATOMIC_INIT(0);

int nest_pri_init(void)
{
	nest_pri_wq = alloc_workqueue("nestiommu_pri", 0, 0);
	return nest_pri_wq ? 0 : -ENOMEM;
}

void nest_pri_exit(void)
{
	/*
	 * Timeouts die with their groups, which all fds closing answered;
	 * a delayed response is a timer destroy_workqueue() would not wait
	 * for (at most NEST_HOOK_MAX_DELAY_US).
	 */
	wait_var_event(&nest_pri_delayed, !atomic_read(&nest_pri_delayed));
	destroy_workqueue(nest_pri_wq);
}

/* Page requests outstanding on every device; read through debugfs. */
static atomic64_t nest_pri_outstanding = ATOMIC64_INIT(0);

/**
 * nest_pri_outstanding_total() - page requests outstanding, module-wide
 *
 * Return: the pages of every group sent and not answered yet.
 */
u64 nest_pri_outstanding_total(void)
{
	return atomic64_read(&nest_pri_outstanding);
}

struct nest_pri *nest_pri_alloc(u32 dev_id, u32 owner_pid)
{
	struct nest_pri *pri;

	if (nest_fail_site(NESTIOMMU_FAIL_SITE_PRI))
		return NULL;
	pri = kzalloc(sizeof(*pri), GFP_KERNEL_ACCOUNT);
	if (!pri)
		return NULL;
	refcount_set(&pri->users, 1);
	spin_lock_init(&pri->lock);
	init_waitqueue_head(&pri->credit_wait);
	INIT_LIST_HEAD(&pri->groups);
	INIT_LIST_HEAD(&pri->parked);
	mutex_init(&pri->cancel_mutex);
	pri->dev_id = dev_id;
	pri->owner_pid = owner_pid;
	pri->max_outstanding = NESTIOMMU_PRI_DEFAULT_OUTSTANDING;
	return pri;
}

void nest_pri_put(struct nest_pri *pri)
{
	if (refcount_dec_and_test(&pri->users))
		kfree(pri);
}

/**
 * nest_pri_stats() - the PRI statistics of a device
 * @pri: its PRI state
 * @st: the device's statistics, to complete
 */
void nest_pri_stats(struct nest_pri *pri, struct nestiommu_xlate_stats *st)
{
	const struct nestiommu_xlate_stats *ps = &pri->stats;

	spin_lock(&pri->lock);
	st->pri_page_requests = ps->pri_page_requests;
	st->pri_groups = ps->pri_groups;
	st->pri_success = ps->pri_success;
	st->pri_invalid = ps->pri_invalid;
	st->pri_failure = ps->pri_failure;
	st->pri_auto_invalid = ps->pri_auto_invalid;
	st->pri_timeouts = ps->pri_timeouts;
	st->pri_outstanding = pri->outstanding;
	st->pri_parked = pri->nr_parked;
	st->injected_pr_drops = ps->injected_pr_drops;
	st->injected_pr_duplicates = ps->injected_pr_duplicates;
	st->injected_pr_last_cleared = ps->injected_pr_last_cleared;
	st->injected_resp_codes = ps->injected_resp_codes;
	st->injected_resp_drops = ps->injected_resp_drops;
	st->injected_resp_delays = ps->injected_resp_delays;
	st->hook_rejected += ps->hook_rejected;
	spin_unlock(&pri->lock);
}

/**
 * nest_pri_option() - OPTION_PRI_MAX_OUTSTANDING / PRI_TIMEOUT_MS
 * @pri: the device's PRI state, NULL if it has no PRI
 * @cmd: the option call (op checked)
 *
 * Return: 0, or -EINVAL (no PRI, value out of range).
 */
int nest_pri_option(struct nest_pri *pri, struct nestiommu_option *cmd)
{
	bool get = cmd->op == NESTIOMMU_OPTION_OP_GET;
	u32 *field;
	u64 min, max;

	if (!pri)
		return -EINVAL;
	if (cmd->option_id == NESTIOMMU_OPTION_PRI_MAX_OUTSTANDING) {
		field = &pri->max_outstanding;
		min = 1;
		max = NESTIOMMU_PRI_MAX_OUTSTANDING;
	} else {
		field = &pri->timeout_ms;
		min = 0;
		max = NESTIOMMU_PRI_MAX_TIMEOUT_MS;
	}
	if (get) {
		cmd->val64 = READ_ONCE(*field);
		return 0;
	}
	if (cmd->val64 < min || cmd->val64 > max)
		return -EINVAL;
	WRITE_ONCE(*field, cmd->val64);
	/* A larger limit may let waiting DMAs go. */
	wake_up(&pri->credit_wait);
	return 0;
}

static void nest_prg_put(struct nest_prg *g)
{
	if (!refcount_dec_and_test(&g->users))
		return;
	nest_fault_ring_put(g->ring);
	nest_pri_put(g->pri);
	kfree(g);
}

/*
 * Answer a group the caller claimed (off the queue's pending list, or
 * never on it): return the credit, count, trace, wake the waiting DMA and
 * drop the reference the group holds while pending.
 */
static void nest_prg_answer(struct nest_prg *g, u32 code,
			    enum nest_prg_answerer who)
{
	struct nest_pri *pri = g->pri;
	struct nestiommu_xlate_stats *st = &pri->stats;

	spin_lock(&pri->lock);
	list_del_init(&g->dev_node);
	pri->outstanding -= g->npages;
	atomic64_sub(g->npages, &nest_pri_outstanding);
	if (who != NEST_PRG_USER)
		st->pri_auto_invalid++;
	if (who == NEST_PRG_TIMEOUT)
		st->pri_timeouts++;
	if (who == NEST_PRG_USER && code == NESTIOMMU_PAGE_RESP_SUCCESS)
		st->pri_success++;
	if (who == NEST_PRG_USER && code == NESTIOMMU_PAGE_RESP_INVALID)
		st->pri_invalid++;
	if (who == NEST_PRG_USER && code == NESTIOMMU_PAGE_RESP_FAILURE) {
		st->pri_failure++;
		pri->disabled = true;
	}
	spin_unlock(&pri->lock);
	wake_up(&pri->credit_wait);

	trace_nest_page_response(pri->dev_id, g->key, g->grpid, g->pend.cookie,
				 code, who != NEST_PRG_USER,
				 ktime_get_ns() - g->sent_ns, g->resp_injected,
				 pri->owner_pid);
	g->code = code;
	complete_all(&g->done);
	smp_mb();
	/* A timer that will not run now drops its reference here. */
	if (READ_ONCE(g->timeout_armed) &&
	    cancel_delayed_work(&g->timeout_work))
		nest_prg_put(g);
	nest_prg_put(g);
}

static void nest_pri_delayed_done(void)
{
	if (atomic_dec_and_test(&nest_pri_delayed))
		wake_up_var(&nest_pri_delayed);
}

static void nest_prg_resp_fn(struct work_struct *work)
{
	struct nest_prg *g = container_of(to_delayed_work(work),
					  struct nest_prg, resp_work);

	nest_prg_answer(g, g->resp_code, NEST_PRG_USER);
	nest_pri_delayed_done();
}

/*
 * Deliver a user response to @g (claimed by it) after @delay_us (1 to
 * NEST_HOOK_MAX_DELAY_US): the pending reference goes to the timer, which
 * answers.
 */
static void nest_prg_answer_later(struct nest_prg *g, u32 code, u32 delay_us)
{
	g->resp_code = code;
	g->resp_injected |= NEST_RESP_INJ_DELAYED;
	atomic_inc(&nest_pri_delayed);
	queue_delayed_work(nest_pri_wq, &g->resp_work,
			   usecs_to_jiffies(delay_us));
	WRITE_ONCE(g->resp_delayed, true);
}

/*
 * Take back a delayed response that has not been delivered, so a
 * canceller answers instead. Return: true if the caller must answer @g.
 */
static bool nest_prg_cancel_delayed(struct nest_prg *g)
{
	if (!READ_ONCE(g->resp_delayed) || !cancel_delayed_work(&g->resp_work))
		return false;
	g->resp_injected = 0;	/* the driver's answer is not the hook's */
	nest_pri_delayed_done();
	return true;
}

/*
 * Is there credit for @n more page requests? With none outstanding there
 * always is, so a limit lowered below a waiting group cannot block it.
 */
static bool nest_pri_has_credit(struct nest_pri *pri, u32 n)
{
	u32 outstanding = READ_ONCE(pri->outstanding);

	return !outstanding ||
	       outstanding + n <= READ_ONCE(pri->max_outstanding);
}

/* May the group still be sent? Not once cancelled or PRI disabled. */
static bool nest_prg_sendable(struct nest_prg *g)
{
	return !READ_ONCE(g->cancelled) && !READ_ONCE(g->pri->disabled);
}

/*
 * Wait until @g has credit (0), is cancelled or PRI is disabled (1: do
 * not send it), or a signal arrives (-EINTR). With @nonblock, -EAGAIN
 * instead of waiting.
 */
static int nest_prg_take_credit(struct nest_prg *g, bool nonblock)
{
	struct nest_pri *pri = g->pri;
	int rc;

	for (;;) {
		spin_lock(&pri->lock);
		if (!nest_prg_sendable(g)) {
			rc = 1;
		} else if (nest_pri_has_credit(pri, g->npages)) {
			pri->outstanding += g->npages;
			atomic64_add(g->npages, &nest_pri_outstanding);
			pri->stats.pri_groups++;
			pri->stats.pri_page_requests += g->npages;
			rc = 0;
		} else {
			rc = -EAGAIN;
		}
		spin_unlock(&pri->lock);
		if (rc != -EAGAIN || nonblock)
			return rc;
		if (wait_event_interruptible(pri->credit_wait,
					     nest_pri_has_credit(pri, g->npages) ||
					     !nest_prg_sendable(g)))
			return -EINTR;
	}
}

/* Free a group that was never sent: take it off the device's lists. */
static void nest_prg_unsend(struct nest_prg *g)
{
	bool parked;

	spin_lock(&g->pri->lock);
	list_del_init(&g->dev_node);
	parked = g->parked;
	if (parked) {
		list_del_init(&g->park_node);
		g->parked = false;
		g->pri->nr_parked--;
	}
	spin_unlock(&g->pri->lock);
	if (parked)
		nest_prg_put(g);	/* the parked list's */
	nest_prg_put(g);		/* never pending */
	nest_prg_put(g);		/* the caller's */
}

/* Answer a claimed group whose timeout fired. */
static void nest_prg_expire(struct nest_prg *g)
{
	trace_nest_page_request_timeout(g->pri->dev_id, g->key, g->grpid,
					g->pend.cookie, g->pri->owner_pid);
	nest_prg_answer(g, NESTIOMMU_PAGE_RESP_INVALID, NEST_PRG_TIMEOUT);
}

static void nest_prg_timeout_fn(struct work_struct *work)
{
	struct nest_prg *g = container_of(to_delayed_work(work),
					  struct nest_prg, timeout_work);

	/* Not claimable now (a lost response's claim): see recheck. */
	spin_lock(&g->pri->lock);
	g->expired = true;
	spin_unlock(&g->pri->lock);
	if (nest_fault_ring_claim(g->ring, &g->pend))
		nest_prg_expire(g);
	nest_prg_put(g);	/* the timer's reference */
}

/*
 * @g just became pending (queued, or put back by a lost response): answer
 * it if a canceller or its timeout came while it could not be claimed.
 * They mark it before they claim, so one of us sees the other.
 */
static void nest_prg_recheck(struct nest_prg *g)
{
	bool cancelled, expired;

	spin_lock(&g->pri->lock);
	cancelled = g->cancelled;
	expired = g->expired;
	spin_unlock(&g->pri->lock);
	if (!cancelled && !expired)
		return;
	if (!nest_fault_ring_claim(g->ring, &g->pend))
		return;
	if (cancelled)
		nest_prg_answer(g, NESTIOMMU_PAGE_RESP_INVALID, NEST_PRG_AUTO);
	else
		nest_prg_expire(g);
}

/*
 * The nest_hook_page_request hook point: a BPF program may lose the group,
 * queue its records twice or clear LAST_PAGE; @g->injected records what
 * it did. Return: how many copies of each record to queue.
 */
static u32 nest_prg_hook_request(struct nest_prg *g,
				 const struct nestiommu_fault_record *tmpl)
{
	struct nest_hook_page_request d = {
		.dev_id = tmpl->dev_id,
		.pasid = g->key,
		.hwpt_id = tmpl->hwpt_id,
		.grpid = g->grpid,
		.cookie = g->pend.cookie,
		.addr = g->addr,
		.npages = g->npages,
		.perm = tmpl->fault.access,
		.owner_pid = g->pri->owner_pid,
	};

	if (!trace_nest_hook_page_request_enabled())
		return 1;
	trace_nest_hook_page_request(&d);
	if (d.drop > 1 || d.duplicate > 1 || d.clear_last > 1) {
		g->hook_rejected = true;
		return 1;
	}
	if (d.drop) {
		g->injected |= NEST_PR_INJ_DROPPED;
		return 0;
	}
	if (d.clear_last)
		g->injected |= NEST_PR_INJ_LAST_CLEARED;
	if (d.duplicate) {
		g->injected |= NEST_PR_INJ_DUPLICATED;
		return 2;
	}
	return 1;
}

/*
 * Build the page request records of @g from @tmpl (the FAULT record of
 * the fault that made the device ask), give the group its cookie, trace
 * each page and queue them. A group nest_hook_page_request lost is pending
 * with no record queued.
 *
 * Return: 0 (pending), or -ENOSPC (refused by a full or closed queue).
 */
static int nest_prg_queue(struct nest_prg *g,
			  const struct nestiommu_fault_record *tmpl)
{
	struct nestiommu_fault_record r = *tmpl;
	u32 copies, i;
	bool last;

	if (tmpl->fault.flags & NESTIOMMU_FAULT_F_INJECTED)
		g->injected |= NEST_PR_INJ_FORCED;
	g->pend.cookie = atomic64_inc_return(&nest_pri_last_cookie);
	copies = nest_prg_hook_request(g, tmpl);
	r.type = NESTIOMMU_RECORD_PAGE_REQUEST;
	r.grpid = g->grpid;
	r.perm = tmpl->fault.access;
	r.cookie = g->pend.cookie;
	r.addr = g->addr;
	last = !(g->injected & NEST_PR_INJ_LAST_CLEARED);
	if (last)
		r.flags |= NESTIOMMU_RECORD_F_LAST_PAGE;
	/* Before queueing: a response must not be traced before its request. */
	for (i = 0; i < g->npages; i++)
		trace_nest_page_request(r.dev_id, g->key, g->grpid, r.cookie,
					g->addr + ((u64)i << PAGE_SHIFT),
					r.perm, last && i == g->npages - 1,
					g->injected, g->pri->owner_pid);
	return nest_fault_ring_send(g->ring, &g->pend, &r, g->npages, copies);
}

/*
 * Count what the hooks did to a group (ring lock not held): their
 * outcomes only if it was @sent (not refused by a full or closed queue).
 */
static void nest_prg_count_sent(struct nest_prg *g, bool sent)
{
	struct nestiommu_xlate_stats *st = &g->pri->stats;

	if (!sent)
		g->injected = 0;
	spin_lock(&g->pri->lock);
	st->injected_pr_drops += !!(g->injected & NEST_PR_INJ_DROPPED);
	st->injected_pr_duplicates += !!(g->injected & NEST_PR_INJ_DUPLICATED);
	st->injected_pr_last_cleared +=
		!!(g->injected & NEST_PR_INJ_LAST_CLEARED);
	st->hook_rejected += g->hook_rejected;
	spin_unlock(&g->pri->lock);
}

/* Arm @g's timeout, if the device has one; @g is sent. */
static void nest_prg_arm_timeout(struct nest_prg *g, u32 timeout_ms)
{
	if (!timeout_ms)
		return;
	/*
	 * An answer that beats the arming finds the timer unarmed: then the
	 * check below cancels it, so no timer outlives its group's answer
	 * (nor the module).
	 */
	refcount_inc(&g->users);
	WRITE_ONCE(g->timeout_armed, true);
	queue_delayed_work(nest_pri_wq, &g->timeout_work,
			   msecs_to_jiffies(timeout_ms));
	/* Pairs with nest_prg_answer(): one of us cancels. */
	smp_mb();
	if (completion_done(&g->done) && cancel_delayed_work(&g->timeout_work))
		nest_prg_put(g);
}

/*
 * nest_prg_send() - send a page request group
 * @pri: the device's PRI state
 * @ring: the queue of the HWPT that faulted: the caller's reference,
 *	which becomes the group's (or is dropped if there is no group)
 * @key: PASID or NESTIOMMU_PASID_NONE
 * @tmpl: the FAULT record of the fault (device, HWPT, fault, access)
 * @addr: the first page (the one that faulted)
 * @npages: pages the DMA still needs from @addr
 * @asked: groups sent for that page before this one
 * @nonblock: do not wait for credit, and park the group for a RESUME
 *	(the parked list has its own reference)
 * @gp: out, the group, with a reference for the caller (nest_prg_put())
 *
 * The group is on the device's list from the start, so a detach, replace,
 * reset or FAILURE while it waits for credit stops it before it is sent.
 * A timeout (OPTION_PRI_TIMEOUT_MS) is a timer of the group, so it fires
 * even when the DMA has given up waiting.
 *
 * Return: 0; -EINTR on a signal while waiting for credit; -EAGAIN if
 * @nonblock and there is no credit; -EBUSY if @nonblock and the device has
 * NESTIOMMU_DMA_MAX_PARKED groups parked; -EOPNOTSUPP if the group was not
 * sent (PRI disabled, or the PASID's attachment changed); or -ENOMEM.
 */
static int nest_prg_send(struct nest_pri *pri, struct nest_fault_ring *ring,
			 u32 key, const struct nestiommu_fault_record *tmpl,
			 u64 addr, u32 npages, u32 asked, bool nonblock,
			 struct nest_prg **gp)
{
	u32 timeout_ms = READ_ONCE(pri->timeout_ms);
	struct nest_prg *g;
	int rc;

	if (READ_ONCE(pri->disabled)) {
		rc = -EOPNOTSUPP;
		goto out_put_ring;
	}
	g = nest_fail_site(NESTIOMMU_FAIL_SITE_PAGE_REQUEST) ? NULL :
	    kzalloc(sizeof(*g), GFP_KERNEL_ACCOUNT);
	if (!g) {
		rc = -ENOMEM;
		goto out_put_ring;
	}
	/* One reference for the caller, one while pending. */
	refcount_set(&g->users, 2);
	INIT_LIST_HEAD(&g->pend.node);
	INIT_LIST_HEAD(&g->park_node);
	INIT_DELAYED_WORK(&g->timeout_work, nest_prg_timeout_fn);
	INIT_DELAYED_WORK(&g->resp_work, nest_prg_resp_fn);
	init_completion(&g->done);
	g->ring = ring;	/* the caller's reference becomes the group's */
	refcount_inc(&pri->users);
	g->pri = pri;
	g->key = key;
	g->addr = addr;
	g->asked = asked + 1;
	g->fault = tmpl->fault;
	g->npages = clamp_t(u32, npages, 1, READ_ONCE(pri->max_outstanding));

	rc = 0;
	spin_lock(&pri->lock);
	if (nonblock && pri->nr_parked >= NESTIOMMU_DMA_MAX_PARKED) {
		rc = -EBUSY;
	} else if (nonblock) {
		refcount_inc(&g->users);	/* the parked list's */
		list_add_tail(&g->park_node, &pri->parked);
		g->parked = true;
		pri->nr_parked++;
	}
	g->grpid = pri->next_grpid++ & 0x1ff;
	list_add_tail(&g->dev_node, &pri->groups);
	spin_unlock(&pri->lock);

	if (!rc)
		rc = nest_prg_take_credit(g, nonblock);
	if (rc) {
		nest_prg_unsend(g);
		return rc < 0 ? rc : -EOPNOTSUPP;
	}

	g->sent_ns = ktime_get_ns();
	if (nest_prg_queue(g, tmpl)) {
		/* Fd closed or queue full: nobody would answer. */
		nest_prg_count_sent(g, false);
		nest_prg_answer(g, NESTIOMMU_PAGE_RESP_INVALID, NEST_PRG_AUTO);
	} else {
		nest_prg_count_sent(g, true);
		nest_prg_arm_timeout(g, timeout_ms);
		nest_prg_recheck(g);
	}
	*gp = g;
	return 0;

out_put_ring:
	nest_fault_ring_put(ring);
	return rc;
}

/* Wait for a group's answer (then read @g->code); 0 or -EINTR. */
static int nest_prg_wait(struct nest_prg *g)
{
	return wait_for_completion_interruptible(&g->done) ? -EINTR : 0;
}

/**
 * nest_pri_fault() - does the device ask a page for a DMA's fault?
 * @pr: the DMA's page request state, to fill if it does
 * @dev: the device
 * @hwpt: the HWPT that faulted, with a fault queue
 * @key: PASID or NESTIOMMU_PASID_NONE
 * @fault: the fault
 * @info: @fault as user space sees it
 * @forced: nest_hook_translate asked for a page request
 *
 * The device asks if nest_hook_translate forced it, or for a stage-1 fault
 * page requests can fix (not present, or not allowed; not an injected
 * one) while its PRI is on. It takes a reference on the queue's ring
 * now, while the HWPT is held. Called under the IOMMU lock: never sleeps.
 *
 * Return: true if @pr is set up for nest_pri_ask(); false if the fault is
 * unrecoverable (the caller queues its record).
 */
bool nest_pri_fault(struct nest_pri_req *pr, const struct nest_device *dev,
		    const struct nest_hwpt *hwpt, u32 key,
		    const struct nest_fault *fault,
		    const struct nestiommu_fault_info *info, bool forced)
{
	lockdep_assert_held(&dev->ctx->iommu.lock);
	if (!forced &&
	    (!nest_pri_on(dev->pri) || fault->stage != 1 ||
	     (fault->flags & (NEST_FAULT_F_RSVD | NEST_FAULT_F_INJECTED)) ||
	     (fault->reason != NEST_FAULT_REASON_PTE_FETCH &&
	      fault->reason != NEST_FAULT_REASON_PERMISSION)))
		return false;
	nest_fault_record_init(&pr->tmpl, dev->obj.id, key, hwpt->obj.id,
			       info);
	pr->ring = nest_fault_queue_ring_get(hwpt->fault_queue);
	return true;
}

/**
 * nest_pri_ask() - the DMA's last step faulted: ask for the pages
 * @pri: the device's PRI state
 * @pr: the DMA's page request state
 * @key: PASID or NESTIOMMU_PASID_NONE
 * @iova: where the step faulted
 * @end: the end of the DMA
 * @nonblock: NESTIOMMU_DMA_NONBLOCK: park the group instead of waiting
 *
 * If nest_pri_fault() set @pr up and the page has retries left, send a
 * group for the pages from @iova's to @end and wait for its answer (or
 * park it, its cookie in @pr->cookie).
 *
 * Return: 1 to translate again (SUCCESS), 0 to stop with the fault,
 * -EINTR (a signal; the group stays pending), or NONBLOCK: -EAGAIN (the
 * group is parked as @pr->cookie, or 0 there: no credit) or -EBUSY (too
 * many parked).
 */
int nest_pri_ask(struct nest_pri *pri, struct nest_pri_req *pr, u32 key,
		 u64 iova, u64 end, bool nonblock)
{
	struct nest_fault_ring *ring = pr->ring;
	u64 page = iova & PAGE_MASK;
	struct nest_prg *g;
	u32 npages;
	int rc;

	if (!ring)
		return 0;
	pr->ring = NULL;
	if (pr->asked >= NESTIOMMU_PRI_RETRIES) {
		nest_fault_ring_put(ring);
		return 0;
	}
	npages = min_t(u64, DIV_ROUND_UP(end - page, PAGE_SIZE),
		       NESTIOMMU_PRI_MAX_OUTSTANDING);
	rc = nest_prg_send(pri, ring, key, &pr->tmpl, page, npages,
			   pr->asked, nonblock, &g);
	if (rc == -EINTR || rc == -EAGAIN || rc == -EBUSY)
		return rc;
	if (rc)
		return 0;
	pr->asked = g->asked;
	if (nonblock) {
		pr->cookie = g->pend.cookie;
		rc = -EAGAIN;
	} else {
		rc = nest_prg_wait(g);
		if (!rc)
			rc = g->code == NESTIOMMU_PAGE_RESP_SUCCESS;
	}
	nest_prg_put(g);
	return rc;
}

/* Take a parked group back for a RESUME; see nest_pri_resume(). */
static struct nest_prg *nest_prg_unpark(struct nest_pri *pri, u64 cookie,
					u32 key, u64 addr, bool nonblock)
{
	struct nest_prg *g, *found = NULL;
	bool wait_later = false;

	spin_lock(&pri->lock);
	list_for_each_entry(g, &pri->parked, park_node) {
		if (g->pend.cookie == cookie && g->key == key &&
		    g->addr == addr) {
			found = g;
			break;
		}
	}
	if (found && nonblock && !completion_done(&found->done)) {
		wait_later = true;	/* stays parked */
	} else if (found) {
		list_del_init(&found->park_node);
		found->parked = false;
		pri->nr_parked--;
	}
	spin_unlock(&pri->lock);
	if (!found)
		return ERR_PTR(-EINVAL);
	if (wait_later)
		return ERR_PTR(-EAGAIN);
	if (nest_prg_wait(found)) {
		spin_lock(&pri->lock);
		list_add_tail(&found->park_node, &pri->parked);
		found->parked = true;
		pri->nr_parked++;
		spin_unlock(&pri->lock);
		return ERR_PTR(-EINTR);
	}
	return found;
}

/**
 * nest_pri_resume() - NESTIOMMU_DMA_RESUME: take back a parked group
 * @pri: the device's PRI state
 * @pr: the DMA's page request state
 * @cookie: the group's cookie
 * @key: the PASID (or NESTIOMMU_PASID_NONE) the RESUME is for
 * @iova: where the RESUME starts
 * @nonblock: do not wait for the answer
 * @info: out, the fault that made the device ask, if the answer is not
 *	SUCCESS
 *
 * Return: 1 to translate that page again (SUCCESS), 0 to stop with the
 * fault, -EINVAL (no parked group matches), -EAGAIN (@nonblock and not
 * answered yet: it stays parked, named in @pr->cookie) or -EINTR (a
 * signal while waiting: parked again).
 */
int nest_pri_resume(struct nest_pri *pri, struct nest_pri_req *pr,
		    u64 cookie, u32 key, u64 iova, bool nonblock,
		    struct nestiommu_fault_info *info)
{
	struct nest_prg *g;
	int rc;

	g = nest_prg_unpark(pri, cookie, key, iova & PAGE_MASK, nonblock);
	if (IS_ERR(g)) {
		if (PTR_ERR(g) == -EAGAIN)
			pr->cookie = cookie;
		return PTR_ERR(g);
	}
	pr->asked = g->asked;
	rc = g->code == NESTIOMMU_PAGE_RESP_SUCCESS;
	if (!rc)
		*info = g->fault;
	nest_prg_put(g);
	return rc;
}

/**
 * nest_pri_forget_parked() - drop the groups no RESUME will take
 * @pri: the device's PRI state
 *
 * Pending ones stay pending (their answer just wakes nobody).
 */
void nest_pri_forget_parked(struct nest_pri *pri)
{
	struct nest_prg *g, *next;
	LIST_HEAD(todo);

	spin_lock(&pri->lock);
	list_splice_init(&pri->parked, &todo);
	list_for_each_entry(g, &todo, park_node)
		g->parked = false;
	pri->nr_parked = 0;
	spin_unlock(&pri->lock);
	list_for_each_entry_safe(g, next, &todo, park_node) {
		list_del_init(&g->park_node);
		nest_prg_put(g);
	}
}

/**
 * nest_pri_cancel() - answer INVALID every outstanding group of a PASID
 * @pri: the device's PRI state
 * @key: a PASID, NESTIOMMU_PASID_NONE, or NEST_PASID_ALL
 *
 * Groups being sent right now are answered by their sender, which checks
 * the "cancelled" mark set here.
 */
void nest_pri_cancel(struct nest_pri *pri, u64 key)
{
	struct nest_prg *g, *next;
	LIST_HEAD(todo);

	mutex_lock(&pri->cancel_mutex);
	spin_lock(&pri->lock);
	list_for_each_entry(g, &pri->groups, dev_node) {
		if (key != NEST_PASID_ALL && g->key != key)
			continue;
		g->cancelled = true;
		refcount_inc(&g->users);
		list_add_tail(&g->cancel_node, &todo);
	}
	spin_unlock(&pri->lock);
	/* Groups waiting for credit give up (nest_prg_sendable()). */
	wake_up(&pri->credit_wait);

	list_for_each_entry_safe(g, next, &todo, cancel_node) {
		list_del(&g->cancel_node);
		/* A response a hook delays is not delivered yet: it loses. */
		if (nest_fault_ring_claim(g->ring, &g->pend) ||
		    nest_prg_cancel_delayed(g))
			nest_prg_answer(g, NESTIOMMU_PAGE_RESP_INVALID,
					NEST_PRG_AUTO);
		nest_prg_put(g);
	}
	mutex_unlock(&pri->cancel_mutex);
}

/**
 * nest_pri_reset() - DEVICE_RESET: cancel everything, forget the parked
 * groups, enable PRI again
 * @pri: the device's PRI state
 */
void nest_pri_reset(struct nest_pri *pri)
{
	nest_pri_cancel(pri, NEST_PASID_ALL);
	nest_pri_forget_parked(pri);
	spin_lock(&pri->lock);
	pri->disabled = false;
	spin_unlock(&pri->lock);
}

/* What nest_hook_page_response decided for one response. */
struct nest_resp_decision {
	u32 code;		/* to deliver */
	u32 delay_us;		/* 0: now */
	bool drop;
	bool code_set;
	bool rejected;
};

/*
 * The nest_hook_page_response hook point, for @g (claimed by the response
 * @resp, so it stays until answered or put back; no lock held).
 */
static void nest_prg_hook_response(struct nest_prg *g,
				   const struct nestiommu_page_response *resp,
				   struct nest_resp_decision *rd)
{
	struct nest_hook_page_response d = {
		.dev_id = g->pri->dev_id,
		.pasid = g->key,
		.grpid = g->grpid,
		.code = resp->code,
		.cookie = g->pend.cookie,
		.age_ns = ktime_get_ns() - g->sent_ns,
		.owner_pid = g->pri->owner_pid,
	};

	trace_nest_hook_page_response(&d);
	if (!d.set_code && !d.new_code && !d.drop && !d.delay_us)
		return;
	if (d.set_code > 1 || d.drop > 1 ||
	    d.delay_us > NEST_HOOK_MAX_DELAY_US ||
	    (d.set_code && nest_page_response_code_check(d.new_code)) ||
	    (!d.set_code && d.new_code)) {
		rd->rejected = true;
		return;
	}
	if (d.drop) {
		rd->drop = true;
		return;
	}
	if (d.set_code) {
		rd->code = d.new_code;
		rd->code_set = true;
	}
	rd->delay_us = d.delay_us;
}

/* Count a hook's decision on the group's device. */
static void nest_resp_decision_count(struct nest_pri *pri,
				     const struct nest_resp_decision *rd)
{
	struct nestiommu_xlate_stats *st = &pri->stats;

	spin_lock(&pri->lock);
	st->injected_resp_drops += rd->drop;
	st->injected_resp_codes += rd->code_set;
	st->injected_resp_delays += !!rd->delay_us;
	st->hook_rejected += rd->rejected;
	spin_unlock(&pri->lock);
}

/**
 * nest_pri_respond() - answer a group with a response written to its queue
 * @p: the group, claimed by the response's write()
 * @resp: the response (checked: nest_page_response_check())
 *
 * Unless nest_hook_page_response loses the response (the group is pending
 * again, as if it never came) or delays it.
 */
void nest_pri_respond(struct nest_fault_pending *p,
		      const struct nestiommu_page_response *resp)
{
	struct nest_prg *g = container_of(p, struct nest_prg, pend);
	struct nest_resp_decision rd = { .code = resp->code };

	if (trace_nest_hook_page_response_enabled()) {
		nest_prg_hook_response(g, resp, &rd);
		nest_resp_decision_count(g->pri, &rd);
	}
	if (rd.drop) {
		if (nest_fault_ring_unclaim(g->ring, p))
			nest_prg_recheck(g);
		else	/* the fd closed meanwhile */
			nest_prg_answer(g, NESTIOMMU_PAGE_RESP_INVALID,
					NEST_PRG_AUTO);
		return;
	}
	if (rd.code_set)
		g->resp_injected |= NEST_RESP_INJ_CODE;
	if (rd.delay_us)
		nest_prg_answer_later(g, rd.code, rd.delay_us);
	else
		nest_prg_answer(g, rd.code, NEST_PRG_USER);
}

/**
 * nest_pri_queue_closed() - answer a group whose queue's fd closed
 * @p: the group, claimed off the pending list by the closing
 */
void nest_pri_queue_closed(struct nest_fault_pending *p)
{
	nest_prg_answer(container_of(p, struct nest_prg, pend),
			NESTIOMMU_PAGE_RESP_INVALID, NEST_PRG_AUTO);
}
