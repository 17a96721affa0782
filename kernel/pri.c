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
 *
 * A BPF program at nest_hook_page_response may delay a response: the group is
 * claimed at once and answered from nest_pri_wq later, so a delayed
 * answer is never lost, and the module waits for them when it goes.
 */
#include <linux/ktime.h>
#include <linux/mutex.h>
#include <linux/wait_bit.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <linux/workqueue.h>

#include "nest_priv.h"
#include "pri.h"
#include "trace.h"

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

struct nest_pri *nest_pri_alloc(u32 dev_id)
{
	struct nest_pri *pri = kzalloc(sizeof(*pri), GFP_KERNEL_ACCOUNT);

	if (!pri)
		return NULL;
	refcount_set(&pri->users, 1);
	spin_lock_init(&pri->lock);
	init_waitqueue_head(&pri->credit_wait);
	INIT_LIST_HEAD(&pri->groups);
	INIT_LIST_HEAD(&pri->parked);
	mutex_init(&pri->cancel_mutex);
	pri->dev_id = dev_id;
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

	trace_nest_page_response(pri->dev_id, g->key, g->grpid, g->cookie, code,
			    who != NEST_PRG_USER,
			    ktime_get_ns() - g->sent_ns, g->resp_injected);
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

/**
 * nest_prg_answer_later() - deliver a user response after a delay
 * @g: the group, claimed by the response's write()
 * @code: the response's code
 * @delay_us: 1 to NEST_HOOK_MAX_DELAY_US
 *
 * The pending list's reference goes to the timer, which answers.
 */
void nest_prg_answer_later(struct nest_prg *g, u32 code, u32 delay_us)
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

static void nest_prg_timeout_fn(struct work_struct *work)
{
	struct nest_prg *g = container_of(to_delayed_work(work),
					  struct nest_prg, timeout_work);

	if (nest_fault_ring_claim(g->ring, g)) {
		trace_nest_page_request_timeout(g->pri->dev_id, g->key, g->grpid,
					   g->cookie);
		nest_prg_answer(g, NESTIOMMU_PAGE_RESP_INVALID,
				NEST_PRG_TIMEOUT);
	}
	nest_prg_put(g);	/* the timer's reference */
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

/**
 * nest_pri_send() - send a page request group
 * @pri: the device's PRI state
 * @ring: the queue of the HWPT that faulted (the caller's reference)
 * @key: PASID or NESTIOMMU_PASID_NONE
 * @tmpl: the record to send for each page (fault, device, HWPT, perm)
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
int nest_pri_send(struct nest_pri *pri, struct nest_fault_ring *ring,
		  u32 key, const struct nestiommu_fault_record *tmpl,
		  u64 addr, u32 npages, u32 asked, bool nonblock,
		  struct nest_prg **gp)
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
	/* One reference for the caller, one while pending. */
	refcount_set(&g->users, 2);
	INIT_LIST_HEAD(&g->ring_node);
	INIT_LIST_HEAD(&g->park_node);
	INIT_DELAYED_WORK(&g->timeout_work, nest_prg_timeout_fn);
	INIT_DELAYED_WORK(&g->resp_work, nest_prg_resp_fn);
	init_completion(&g->done);
	nest_fault_ring_get(ring);
	g->ring = ring;
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
	if (nest_fault_ring_send(ring, g, tmpl, addr)) {
		/* Fd closed or queue full: nobody would answer. */
		nest_prg_count_sent(g, false);
		nest_prg_answer(g, NESTIOMMU_PAGE_RESP_INVALID, NEST_PRG_AUTO);
	} else {
		nest_prg_count_sent(g, true);
		nest_prg_arm_timeout(g, timeout_ms);
		spin_lock(&pri->lock);
		cancelled = g->cancelled;
		spin_unlock(&pri->lock);
		if (cancelled && nest_fault_ring_claim(ring, g))
			nest_prg_answer(g, NESTIOMMU_PAGE_RESP_INVALID,
					NEST_PRG_AUTO);
	}
	*gp = g;
	return 0;
}

/**
 * nest_prg_wait() - wait for a group's answer (then read @g->code)
 * @g: a group nest_pri_send() returned, not parked
 *
 * Return: 0, or -EINTR on a signal (a group stays pending and may still be
 * answered).
 */
int nest_prg_wait(struct nest_prg *g)
{
	return wait_for_completion_interruptible(&g->done) ? -EINTR : 0;
}

/**
 * nest_pri_resume() - take a parked group back for a RESUME
 * @pri: the device's PRI state
 * @cookie: the group's cookie
 * @key: the PASID (or NESTIOMMU_PASID_NONE) the RESUME is for
 * @addr: the page the RESUME starts at
 * @nonblock: do not wait for the answer
 *
 * Return: the answered group, off the parked list (read ->code, ->asked
 * and ->fault, then nest_prg_put()); ERR_PTR(-EINVAL) if no parked group
 * matches; ERR_PTR(-EAGAIN) if @nonblock and it is not answered yet (it
 * stays parked); ERR_PTR(-EINTR) on a signal while waiting (parked again).
 */
struct nest_prg *nest_pri_resume(struct nest_pri *pri, u64 cookie, u32 key,
				 u64 addr, bool nonblock)
{
	struct nest_prg *g, *found = NULL;
	bool wait_later = false;

	spin_lock(&pri->lock);
	list_for_each_entry(g, &pri->parked, park_node) {
		if (g->cookie == cookie && g->key == key && g->addr == addr) {
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
		if (nest_fault_ring_claim(g->ring, g) ||
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
