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

#include "nest_priv.h"
#include "pri.h"
#include "trace.h"

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
			    ktime_get_ns() - g->sent_ns);
	g->code = code;
	complete_all(&g->done);
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

/* Take credit for @n page requests; 0 or -EINTR. */
static int nest_pri_take_credit(struct nest_pri *pri, u32 n)
{
	for (;;) {
		spin_lock(&pri->lock);
		if (nest_pri_has_credit(pri, n)) {
			pri->outstanding += n;
			spin_unlock(&pri->lock);
			return 0;
		}
		spin_unlock(&pri->lock);
		if (wait_event_interruptible(pri->credit_wait,
					     nest_pri_has_credit(pri, n)))
			return -EINTR;
	}
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
 * Return: 0 (@code set), -EINTR on a signal (the group stays pending and
 * may still be answered), -EOPNOTSUPP if PRI is disabled, or -ENOMEM.
 */
int nest_pri_request(struct nest_pri *pri, struct nest_fault_ring *ring,
		     u32 key, const struct nestiommu_fault_record *tmpl,
		     u64 addr, u32 npages, u32 *code)
{
	struct nest_prg *g;
	bool cancelled;
	long left;
	int rc;

	if (READ_ONCE(pri->disabled))
		return -EOPNOTSUPP;
	npages = clamp_t(u32, npages, 1, READ_ONCE(pri->max_outstanding));
	rc = nest_pri_take_credit(pri, npages);
	if (rc)
		return rc;
	g = kzalloc(sizeof(*g), GFP_KERNEL_ACCOUNT);
	if (!g) {
		spin_lock(&pri->lock);
		pri->outstanding -= npages;
		spin_unlock(&pri->lock);
		wake_up(&pri->credit_wait);
		return -ENOMEM;
	}
	/* One reference for the waiter, one while pending. */
	refcount_set(&g->users, 2);
	INIT_LIST_HEAD(&g->ring_node);
	init_completion(&g->done);
	nest_fault_ring_get(ring);
	g->ring = ring;
	refcount_inc(&pri->users);
	g->pri = pri;
	g->key = key;
	g->npages = npages;

	spin_lock(&pri->lock);
	g->grpid = pri->next_grpid++ & 0x1ff;
	list_add_tail(&g->dev_node, &pri->groups);
	pri->stats.pri_groups++;
	pri->stats.pri_page_requests += npages;
	spin_unlock(&pri->lock);

	g->sent_ns = ktime_get_ns();
	if (nest_fault_ring_send(ring, g, tmpl, addr)) {
		/* Fd closed or queue full: nobody would answer. */
		nest_prg_answer(g, NESTIOMMU_PAGE_RESP_INVALID, NEST_PRG_AUTO);
		goto out_wait;
	}
	spin_lock(&pri->lock);
	cancelled = g->cancelled;
	spin_unlock(&pri->lock);
	if (cancelled && nest_fault_ring_claim(ring, g))
		nest_prg_answer(g, NESTIOMMU_PAGE_RESP_INVALID, NEST_PRG_AUTO);

out_wait:
	if (READ_ONCE(pri->timeout_ms)) {
		left = wait_for_completion_interruptible_timeout(&g->done,
				msecs_to_jiffies(READ_ONCE(pri->timeout_ms)));
		if (!left && nest_fault_ring_claim(ring, g)) {
			trace_page_request_timeout(pri->dev_id, key, g->grpid,
						   g->cookie);
			nest_prg_answer(g, NESTIOMMU_PAGE_RESP_INVALID,
					NEST_PRG_TIMEOUT);
		}
		rc = left < 0 ? -EINTR : 0;
		if (!rc)
			wait_for_completion(&g->done);
	} else {
		rc = wait_for_completion_interruptible(&g->done) ? -EINTR : 0;
	}
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
