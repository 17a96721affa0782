// SPDX-License-Identifier: GPL-2.0
/*
 * Page requests, the device side: credit for outstanding requests,
 * sending a group and waiting for its answer, and answering what the user
 * will not answer (detach, replace, reset, destroy, timeout).
 *
 * Life of a group (see pri.h): the DMA takes credit, puts the group on the
 * device's list, sends it to the queue and waits. A canceller (detach,
 * reset...) marks every group of its PASID "cancelled" under the device's
 * PRI lock and answers those it can claim; a group not yet on the queue
 * cannot be claimed, so its sender checks "cancelled" after sending and
 * answers it itself. Either way nobody waits for user space.
 */
#include <linux/ktime.h>
#include <linux/mutex.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <linux/workqueue.h>

#include "nest_priv.h"
#include "pri.h"
#include "trace.h"

/* Runs the groups' timeouts; flushed when the module goes. */
static struct workqueue_struct *nest_pri_wq;

int nest_pri_init(void)
{
	nest_pri_wq = alloc_workqueue("nestiommu_pri", 0, 0);
	return nest_pri_wq ? 0 : -ENOMEM;
}

void nest_pri_exit(void)
{
	destroy_workqueue(nest_pri_wq);
}

struct nest_pri *nest_pri_alloc(u32 dev_id)
{
	struct nest_pri *pri = kzalloc(sizeof(*pri), GFP_KERNEL_ACCOUNT);

	if (!pri)
		return NULL;
	refcount_set(&pri->users, 1);
	spin_lock_init(&pri->lock);
	init_waitqueue_head(&pri->credit_wait);
	INIT_LIST_HEAD(&pri->groups);
	mutex_init(&pri->cancel_mutex);
	pri->dev_id = dev_id;
	pri->max_outstanding = NEST_PRI_DEFAULT_OUTSTANDING;
	return pri;
}

void nest_pri_put(struct nest_pri *pri)
{
	if (refcount_dec_and_test(&pri->users))
		kfree(pri);
}

void nest_prg_put(struct nest_prg *g)
{
	if (!refcount_dec_and_test(&g->users))
		return;
	nest_fault_ring_put(g->ring);
	nest_pri_put(g->pri);
	kfree(g);
}

/**
 * nest_prg_answer() - answer a group the caller claimed
 * @g: the group, off the queue's pending list (or never on it)
 * @code: enum nestiommu_page_response_code
 * @who: who answers
 *
 * Returns the credit, counts, traces, wakes the waiting DMA and drops the
 * pending list's reference.
 */
void nest_prg_answer(struct nest_prg *g, u32 code, enum nest_prg_answerer who)
{
	struct nest_pri *pri = g->pri;
	struct nestiommu_xlate_stats *st = &pri->stats;

	spin_lock(&pri->lock);
	list_del_init(&g->dev_node);
	pri->outstanding -= g->npages;
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

	trace_page_response(pri->dev_id, g->key, g->grpid, g->cookie, code,
			    who != NEST_PRG_USER,
			    ktime_get_ns() - g->sent_ns, 0);
	g->code = code;
	complete_all(&g->done);
	smp_mb();
	/* A timer that will not run now drops its reference here. */
	if (READ_ONCE(g->timeout_armed) &&
	    cancel_delayed_work(&g->timeout_work))
		nest_prg_put(g);
	nest_prg_put(g);
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
 * not send it), or a signal arrives (-EINTR).
 */
static int nest_prg_take_credit(struct nest_prg *g)
{
	struct nest_pri *pri = g->pri;
	int rc;

	for (;;) {
		spin_lock(&pri->lock);
		if (!nest_prg_sendable(g)) {
			rc = 1;
		} else if (nest_pri_has_credit(pri, g->npages)) {
			pri->outstanding += g->npages;
			pri->stats.pri_groups++;
			pri->stats.pri_page_requests += g->npages;
			rc = 0;
		} else {
			rc = -EAGAIN;
		}
		spin_unlock(&pri->lock);
		if (rc != -EAGAIN)
			return rc;
		if (wait_event_interruptible(pri->credit_wait,
					     nest_pri_has_credit(pri, g->npages) ||
					     !nest_prg_sendable(g)))
			return -EINTR;
	}
}

/* Take a group that was never sent off the device's list. */
static void nest_prg_unlist(struct nest_prg *g)
{
	spin_lock(&g->pri->lock);
	list_del_init(&g->dev_node);
	spin_unlock(&g->pri->lock);
}

static void nest_prg_timeout_fn(struct work_struct *work)
{
	struct nest_prg *g = container_of(to_delayed_work(work),
					  struct nest_prg, timeout_work);

	if (nest_fault_ring_claim(g->ring, g)) {
		trace_page_request_timeout(g->pri->dev_id, g->key, g->grpid,
					   g->cookie);
		nest_prg_answer(g, NESTIOMMU_PAGE_RESP_INVALID,
				NEST_PRG_TIMEOUT);
	}
	nest_prg_put(g);	/* the timer's reference */
}

/**
 * nest_pri_request() - send a page request group and wait for the answer
 * @pri: the device's PRI state
 * @ring: the queue of the HWPT that faulted (the caller's reference)
 * @key: PASID or NEST_ATTACH_RID
 * @tmpl: the record to send for each page (fault, device, HWPT, perm)
 * @addr: the first page (the one that faulted)
 * @npages: pages the DMA still needs from @addr
 * @code: out, the answer
 *
 * The group is on the device's list from the start, so a detach, replace,
 * reset or FAILURE while it waits for credit stops it before it is sent.
 * A timeout (OPTION_PRI_TIMEOUT_MS) is a timer of the group, so it fires
 * even when the DMA has given up waiting.
 *
 * Return: 0 (@code set), -EINTR on a signal (a group already sent stays
 * pending and may still be answered), -EOPNOTSUPP if the group was not
 * sent (PRI disabled, or the PASID's attachment changed), or -ENOMEM.
 */
int nest_pri_request(struct nest_pri *pri, struct nest_fault_ring *ring,
		     u32 key, const struct nestiommu_fault_record *tmpl,
		     u64 addr, u32 npages, u32 *code)
{
	u32 timeout_ms = READ_ONCE(pri->timeout_ms);
	struct nest_prg *g;
	bool cancelled;
	int rc;

	if (READ_ONCE(pri->disabled))
		return -EOPNOTSUPP;
	g = kzalloc(sizeof(*g), GFP_KERNEL_ACCOUNT);
	if (!g)
		return -ENOMEM;
	/* One reference for the waiter, one while pending. */
	refcount_set(&g->users, 2);
	INIT_LIST_HEAD(&g->ring_node);
	INIT_DELAYED_WORK(&g->timeout_work, nest_prg_timeout_fn);
	init_completion(&g->done);
	nest_fault_ring_get(ring);
	g->ring = ring;
	refcount_inc(&pri->users);
	g->pri = pri;
	g->key = key;
	g->npages = clamp_t(u32, npages, 1, READ_ONCE(pri->max_outstanding));

	spin_lock(&pri->lock);
	g->grpid = pri->next_grpid++ & 0x1ff;
	list_add_tail(&g->dev_node, &pri->groups);
	spin_unlock(&pri->lock);

	rc = nest_prg_take_credit(g);
	if (rc) {
		nest_prg_unlist(g);
		nest_prg_put(g);	/* never pending */
		nest_prg_put(g);
		return rc < 0 ? rc : -EOPNOTSUPP;
	}

	g->sent_ns = ktime_get_ns();
	if (nest_fault_ring_send(ring, g, tmpl, addr)) {
		/* Fd closed or queue full: nobody would answer. */
		nest_prg_answer(g, NESTIOMMU_PAGE_RESP_INVALID, NEST_PRG_AUTO);
	} else {
		/*
		 * An answer that beats the arming finds the timer unarmed:
		 * then the check below cancels it, so no timer outlives its
		 * group's answer (nor the module).
		 */
		if (timeout_ms) {
			refcount_inc(&g->users);
			WRITE_ONCE(g->timeout_armed, true);
			queue_delayed_work(nest_pri_wq, &g->timeout_work,
					   msecs_to_jiffies(timeout_ms));
			/* Pairs with nest_prg_answer(): one of us cancels. */
			smp_mb();
			if (completion_done(&g->done) &&
			    cancel_delayed_work(&g->timeout_work))
				nest_prg_put(g);
		}
		spin_lock(&pri->lock);
		cancelled = g->cancelled;
		spin_unlock(&pri->lock);
		if (cancelled && nest_fault_ring_claim(ring, g))
			nest_prg_answer(g, NESTIOMMU_PAGE_RESP_INVALID,
					NEST_PRG_AUTO);
	}

	rc = wait_for_completion_interruptible(&g->done) ? -EINTR : 0;
	if (!rc)
		*code = g->code;
	nest_prg_put(g);
	return rc;
}

/**
 * nest_pri_cancel() - answer INVALID every outstanding group of a PASID
 * @pri: the device's PRI state
 * @key: a PASID, NEST_ATTACH_RID, or NEST_PASID_ALL
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
		if (nest_fault_ring_claim(g->ring, g))
			nest_prg_answer(g, NESTIOMMU_PAGE_RESP_INVALID,
					NEST_PRG_AUTO);
		nest_prg_put(g);
	}
	mutex_unlock(&pri->cancel_mutex);
}

/**
 * nest_pri_reset() - DEVICE_RESET: cancel everything, enable PRI again
 * @pri: the device's PRI state
 */
void nest_pri_reset(struct nest_pri *pri)
{
	nest_pri_cancel(pri, NEST_PASID_ALL);
	spin_lock(&pri->lock);
	pri->disabled = false;
	spin_unlock(&pri->lock);
}
