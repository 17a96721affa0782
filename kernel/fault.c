// SPDX-License-Identifier: GPL-2.0
/*
 * Fault queues: an object with its own file descriptor that unrecoverable
 * faults and page requests are reported to, read() as struct
 * nestiommu_fault_record; page responses are write()n to it.
 *
 * The records live in a ring shared by the object and the file, each
 * holding a reference, so the fd keeps working after DESTROY or close of
 * /dev/nestiommu. Faults are queued from the translation path under the
 * IOMMU lock, so queueing never sleeps or allocates: a full ring drops the
 * record, counts it and flags the next record read.
 *
 * A reader takes records out of the ring into a kernel buffer under the
 * ring lock and copies them to user space with no lock held, so a faulting
 * (slow, userfaultfd) buffer blocks neither other readers nor the queueing
 * of faults. Taken records keep their room in the ring until the copy is
 * over; those that could not be copied are put back at the front, oldest
 * first, so a bad buffer loses nothing.
 *
 * Page requests are pri.c's: it builds a group's records and queues them
 * with the group's struct nest_fault_pending (fault.h), all under one
 * ring lock, so a response can never name a group that is not pending
 * yet. Answerers claim a group off the pending list under the ring lock,
 * so it is answered once. write() claims the group each response names
 * and hands both to pri.c; closing the fd refuses new groups and hands
 * pri.c the pending ones to answer.
 *
 * The ring lock is a plain spinlock: every user (the translation path
 * under the IOMMU lock, pri.c's timeouts and delayed answers on a
 * workqueue, the fd's file operations) runs in process context.
 */
#include <linux/anon_inodes.h>
#include <linux/file.h>
#include <linux/poll.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "fail.h"
#include "fault.h"
#include "nest_priv.h"
#include "pri.h"
#include "trace.h"

/* Records one read() takes at most (it may return fewer than fit). */
#define NEST_FAULT_READ_BATCH	32

struct nest_fault_ring {
	refcount_t users;
	/* Guards everything below but @wait. */
	spinlock_t lock;
	wait_queue_head_t wait;
	u32 id;			/* the object's ID, for tracing */
	u32 depth;
	u32 head;		/* index of the oldest record */
	u32 count;		/* records queued */
	u32 taken;		/* records readers are copying out */
	u32 dropped;		/* dropped since the last record read */
	bool closed;		/* the fd is gone: nobody answers */
	struct list_head pending;	/* struct nest_fault_pending::node */
	struct nestiommu_fault_queue_stats stats;
	struct nestiommu_fault_record records[];
};

struct nest_fault_queue {
	struct nest_object obj;
	struct nest_fault_ring *ring;
};

/**
 * nest_fault_queue_ring_get() - the ring of a queue, referenced
 * @q: the queue (the caller holds it, e.g. through its HWPT)
 *
 * The ring outlives the queue's object and its HWPTs: a page request
 * keeps it until answered. Release with nest_fault_ring_put().
 */
struct nest_fault_ring *nest_fault_queue_ring_get(struct nest_fault_queue *q)
{
	refcount_inc(&q->ring->users);
	return q->ring;
}

void nest_fault_ring_put(struct nest_fault_ring *ring)
{
	if (refcount_dec_and_test(&ring->users))
		kvfree(ring);
}

/* Free record slots: taken records keep theirs. Ring lock held. */
static u32 nest_fault_ring_room(struct nest_fault_ring *ring)
{
	lockdep_assert_held(&ring->lock);
	return ring->depth - ring->count - ring->taken;
}

/* Append @r; the caller checked there is room. Ring lock held. */
static void nest_fault_ring_push(struct nest_fault_ring *ring,
				 const struct nestiommu_fault_record *r)
{
	lockdep_assert_held(&ring->lock);
	ring->records[(ring->head + ring->count) % ring->depth] = *r;
	ring->count++;
	ring->stats.queued++;
}

/* Count @n records dropped for lack of room. Ring lock held. */
static u64 nest_fault_ring_drop(struct nest_fault_ring *ring, u32 n)
{
	lockdep_assert_held(&ring->lock);
	ring->dropped += n;
	ring->stats.dropped += n;
	return ring->stats.dropped;
}

/**
 * nest_fault_record_init() - a FAULT record (page requests start from one)
 * @r: the record
 * @dev_id: the device
 * @key: the request's PASID, or NESTIOMMU_PASID_NONE
 * @hwpt_id: the HWPT attached where the request arrived
 * @info: the fault
 */
void nest_fault_record_init(struct nestiommu_fault_record *r, u32 dev_id,
			    u32 key, u32 hwpt_id,
			    const struct nestiommu_fault_info *info)
{
	*r = (struct nestiommu_fault_record) {
		.version = NESTIOMMU_FAULT_RECORD_V1,
		.type = NESTIOMMU_RECORD_FAULT,
		.flags = key == NESTIOMMU_PASID_NONE ? 0 :
			 NESTIOMMU_RECORD_F_PASID_VALID,
		.dev_id = dev_id,
		.pasid = key == NESTIOMMU_PASID_NONE ? 0 : key,
		.hwpt_id = hwpt_id,
		.timestamp_ns = ktime_get_ns(),
		.fault = *info,
	};
}

/**
 * nest_fault_ring_send() - queue the records of a page request group
 * @ring: the queue's ring
 * @p: the group, not pending; pending on success
 * @r: the record of its first page, LAST_PAGE set if its last page has it
 * @npages: the group's pages: one record each, at consecutive pages from
 *	@r->addr, only the last one keeping LAST_PAGE
 * @copies: how many times each record is queued (0: none, yet pending)
 *
 * All the group's records or none: a ring without room for all of them
 * drops them (counted and flagged like any record) and so does a ring
 * whose fd is closed, since nobody could answer.
 *
 * Return: 0 (the group is pending), or -ENOSPC.
 */
int nest_fault_ring_send(struct nest_fault_ring *ring,
			 struct nest_fault_pending *p,
			 const struct nestiommu_fault_record *r, u32 npages,
			 u32 copies)
{
	struct nestiommu_fault_record rec = *r;
	u64 dropped = 0;
	u32 i, c;

	rec.flags &= ~NESTIOMMU_RECORD_F_LAST_PAGE;
	spin_lock(&ring->lock);
	if (ring->closed || nest_fault_ring_room(ring) < npages * copies) {
		if (!ring->closed)
			dropped = nest_fault_ring_drop(ring, npages * copies);
		spin_unlock(&ring->lock);
		if (dropped)
			trace_nest_fault_queue_overflow(ring->id, dropped);
		return -ENOSPC;
	}
	for (i = 0; i < npages; i++) {
		rec.addr = r->addr + ((u64)i << PAGE_SHIFT);
		if (i == npages - 1)
			rec.flags |= r->flags & NESTIOMMU_RECORD_F_LAST_PAGE;
		for (c = 0; c < copies; c++)
			nest_fault_ring_push(ring, &rec);
	}
	list_add_tail(&p->node, &ring->pending);
	spin_unlock(&ring->lock);
	if (copies)
		wake_up_interruptible_poll(&ring->wait, EPOLLIN | EPOLLRDNORM);
	return 0;
}

/**
 * nest_fault_ring_claim() - take a group off the pending list to answer it
 * @ring: its ring
 * @p: the group
 *
 * Return: true if the caller must now answer it, false if it is not
 * pending (answered, claimed by another, or not sent yet).
 */
bool nest_fault_ring_claim(struct nest_fault_ring *ring,
			   struct nest_fault_pending *p)
{
	bool claimed;

	spin_lock(&ring->lock);
	claimed = !list_empty(&p->node);
	list_del_init(&p->node);
	spin_unlock(&ring->lock);
	return claimed;
}

/*
 * Claim the pending group a response names by its cookie: NULL if none
 * is pending on @ring. Whoever answers it may put it back with
 * nest_fault_ring_unclaim().
 */
static struct nest_fault_pending *
nest_fault_ring_claim_cookie(struct nest_fault_ring *ring, u64 cookie)
{
	struct nest_fault_pending *p, *found = NULL;

	spin_lock(&ring->lock);
	list_for_each_entry(p, &ring->pending, node) {
		if (p->cookie == cookie) {
			found = p;
			list_del_init(&p->node);
			break;
		}
	}
	spin_unlock(&ring->lock);
	return found;
}

/**
 * nest_fault_ring_unclaim() - make a claimed group pending again
 * @ring: its ring
 * @p: the group, claimed by the caller
 *
 * Return: true, or false if the fd is closed (the caller answers then).
 */
bool nest_fault_ring_unclaim(struct nest_fault_ring *ring,
			     struct nest_fault_pending *p)
{
	bool closed;

	spin_lock(&ring->lock);
	closed = ring->closed;
	if (!closed)
		list_add_tail(&p->node, &ring->pending);
	spin_unlock(&ring->lock);
	return !closed;
}

/**
 * nest_fault_queue_report() - queue an unrecoverable fault
 * @q: the queue of the HWPT attached where the request arrived
 * @dev_id: the device
 * @key: the request's PASID, or NESTIOMMU_PASID_NONE
 * @hwpt_id: the HWPT
 * @info: the fault as user space sees it
 *
 * Never sleeps: callable under the IOMMU lock.
 */
void nest_fault_queue_report(struct nest_fault_queue *q, u32 dev_id, u32 key,
			     u32 hwpt_id, const struct nestiommu_fault_info *info)
{
	struct nest_fault_ring *ring = q->ring;
	struct nestiommu_fault_record r;
	u64 dropped = 0;

	nest_fault_record_init(&r, dev_id, key, hwpt_id, info);
	spin_lock(&ring->lock);
	if (!nest_fault_ring_room(ring))
		dropped = nest_fault_ring_drop(ring, 1);
	else
		nest_fault_ring_push(ring, &r);
	spin_unlock(&ring->lock);
	if (dropped)
		trace_nest_fault_queue_overflow(ring->id, dropped);
	else
		wake_up_interruptible_poll(&ring->wait, EPOLLIN | EPOLLRDNORM);
}

/*
 * Take up to @n of the oldest records into @buf; the first carries the
 * drops since the last record read. They stay counted in @taken until
 * nest_fault_ring_untake().
 * Return: the number taken; *@dropped: the drops the first one reports.
 */
static u32 nest_fault_ring_take(struct nest_fault_ring *ring,
				struct nestiommu_fault_record *buf, u32 n,
				u32 *dropped)
{
	u32 i;

	spin_lock(&ring->lock);
	n = min(n, ring->count);
	for (i = 0; i < n; i++)
		buf[i] = ring->records[(ring->head + i) % ring->depth];
	ring->head = (ring->head + n) % ring->depth;
	ring->count -= n;
	ring->taken += n;
	*dropped = n ? ring->dropped : 0;
	ring->dropped -= *dropped;
	spin_unlock(&ring->lock);
	if (*dropped) {
		buf[0].flags |= NESTIOMMU_RECORD_F_OVERFLOW;
		buf[0].dropped = *dropped;
	}
	return n;
}

/*
 * End a take of @n records of which the first @copied reached user space:
 * put the others back in front of the ring (their room was kept), with the
 * drops the first one carried if it is among them.
 */
static void nest_fault_ring_untake(struct nest_fault_ring *ring,
				   struct nestiommu_fault_record *buf, u32 n,
				   u32 copied, u32 dropped)
{
	u32 i;

	if (!copied && dropped) {
		buf[0].flags &= ~NESTIOMMU_RECORD_F_OVERFLOW;
		buf[0].dropped = 0;
	}
	spin_lock(&ring->lock);
	ring->taken -= n;
	ring->stats.read += copied;
	for (i = n; i > copied; i--) {
		ring->head = (ring->head + ring->depth - 1) % ring->depth;
		ring->records[ring->head] = buf[i - 1];
		ring->count++;
	}
	if (!copied)
		ring->dropped += dropped;
	spin_unlock(&ring->lock);
	if (copied < n)
		wake_up_interruptible_poll(&ring->wait, EPOLLIN | EPOLLRDNORM);
}

/* Trace the page requests of @n records that reached user space. */
static void nest_fault_trace_read(const struct nestiommu_fault_record *buf,
				  u32 n)
{
	u32 i;

	for (i = 0; i < n; i++)
		if (buf[i].type == NESTIOMMU_RECORD_PAGE_REQUEST)
			trace_nest_page_request_read(&buf[i]);
}

static ssize_t nest_fault_fops_read(struct file *filp, char __user *ubuf,
				    size_t count, loff_t *ppos)
{
	const size_t rsize = sizeof(struct nestiommu_fault_record);
	struct nest_fault_ring *ring = filp->private_data;
	struct nestiommu_fault_record *buf;
	u32 n, taken, copied, dropped;
	ssize_t rc;

	if (count < rsize)
		return -EINVAL;
	n = min_t(size_t, count / rsize, NEST_FAULT_READ_BATCH);
	buf = nest_fail_site(NESTIOMMU_FAIL_SITE_FAULT_READ) ? NULL :
	      kmalloc_array(n, rsize, GFP_KERNEL_ACCOUNT);
	if (!buf)
		return -ENOMEM;

	while (!(taken = nest_fault_ring_take(ring, buf, n, &dropped))) {
		if (filp->f_flags & O_NONBLOCK) {
			rc = -EAGAIN;
			goto out_free;
		}
		rc = wait_event_interruptible(ring->wait,
					      READ_ONCE(ring->count));
		if (rc)
			goto out_free;
	}
	/* No lock held: the buffer may fault for as long as it likes. */
	copied = (taken * rsize - copy_to_user(ubuf, buf, taken * rsize)) /
		 rsize;
	nest_fault_ring_untake(ring, buf, taken, copied, dropped);
	if (trace_nest_page_request_read_enabled())
		nest_fault_trace_read(buf, copied);
	rc = copied ? copied * rsize : -EFAULT;
out_free:
	kfree(buf);
	return rc;
}

static __poll_t nest_fault_fops_poll(struct file *filp,
				     struct poll_table_struct *wait)
{
	struct nest_fault_ring *ring = filp->private_data;

	poll_wait(filp, &ring->wait, wait);
	return READ_ONCE(ring->count) ? EPOLLIN | EPOLLRDNORM : 0;
}

static ssize_t nest_fault_fops_write(struct file *filp,
				     const char __user *ubuf, size_t count,
				     loff_t *ppos)
{
	const size_t rsize = sizeof(struct nestiommu_page_response);
	struct nest_fault_ring *ring = filp->private_data;
	struct nestiommu_page_response resp;
	struct nest_fault_pending *p;
	size_t done;
	int rc = 0;

	if (!count || count % rsize)
		return -EINVAL;
	for (done = 0; done < count; done += rsize) {
		if (copy_from_user(&resp, ubuf + done, rsize)) {
			rc = -EFAULT;
			break;
		}
		rc = nest_page_response_check(&resp);
		if (rc)
			break;
		p = nest_fault_ring_claim_cookie(ring, resp.cookie);
		if (!p) {
			rc = -EINVAL;	/* no such group pending here */
			break;
		}
		nest_pri_respond(p, &resp);
	}
	return done ? done : rc;
}

static int nest_fault_fops_release(struct inode *inode, struct file *filp)
{
	struct nest_fault_ring *ring = filp->private_data;
	struct nest_fault_pending *p;

	/*
	 * Nobody can answer any more: refuse new groups and have the pending
	 * ones answered, claiming each like any answerer.
	 */
	for (;;) {
		spin_lock(&ring->lock);
		ring->closed = true;
		p = list_first_entry_or_null(&ring->pending,
					     struct nest_fault_pending, node);
		if (p)
			list_del_init(&p->node);
		spin_unlock(&ring->lock);
		if (!p)
			break;
		nest_pri_queue_closed(p);
	}
	nest_fault_ring_put(ring);
	return 0;
}

static const struct file_operations nest_fault_fops = {
	.owner = THIS_MODULE,
	.read = nest_fault_fops_read,
	.write = nest_fault_fops_write,
	.poll = nest_fault_fops_poll,
	.release = nest_fault_fops_release,
	.llseek = noop_llseek,
};

int nest_fault_queue_alloc_ioctl(struct nest_ucmd *ucmd)
{
	struct nestiommu_fault_queue_alloc *cmd = ucmd->cmd;
	u32 depth = cmd->depth ?: NESTIOMMU_FAULT_QUEUE_DEFAULT_DEPTH;
	struct nest_fault_ring *ring;
	struct nest_fault_queue *q;
	struct nest_object *obj;
	struct file *file;
	int fd, rc;

	if (cmd->flags || cmd->__reserved)
		return -EOPNOTSUPP;
	if (depth > NESTIOMMU_FAULT_QUEUE_MAX_DEPTH)
		return -EINVAL;

	q = nest_object_alloc(ucmd->ctx, q, NEST_OBJ_FAULT_QUEUE);
	if (IS_ERR(q))
		return PTR_ERR(q);
	obj = &q->obj;
	ring = nest_fail_site(NESTIOMMU_FAIL_SITE_FAULT_QUEUE) ? NULL :
	       kvzalloc(struct_size(ring, records, depth), GFP_KERNEL_ACCOUNT);
	if (!ring) {
		rc = -ENOMEM;
		goto out_abort;
	}
	refcount_set(&ring->users, 1);
	spin_lock_init(&ring->lock);
	init_waitqueue_head(&ring->wait);
	INIT_LIST_HEAD(&ring->pending);
	ring->id = obj->id;
	ring->depth = depth;
	ring->stats.depth = depth;
	q->ring = ring;

	fd = get_unused_fd_flags(O_CLOEXEC);
	if (fd < 0) {
		rc = fd;
		goto out_abort;
	}
	file = anon_inode_getfile("[nestiommu-fault]", &nest_fault_fops, ring,
				  O_RDWR);
	if (IS_ERR(file)) {
		rc = PTR_ERR(file);
		goto out_put_fd;
	}
	/* The file's reference; fops->release drops it. */
	refcount_inc(&ring->users);

	cmd->out_fault_id = obj->id;
	cmd->out_fault_fd = fd;
	rc = nest_ucmd_respond(ucmd, sizeof(*cmd));
	if (rc) {
		fput(file);
		goto out_put_fd;
	}
	/* Last: once installed, user space may close it at any time. */
	fd_install(fd, file);
	nest_object_finalize(ucmd->ctx, obj);
	return 0;

out_put_fd:
	put_unused_fd(fd);
out_abort:
	nest_object_abort(ucmd->ctx, obj);
	return rc;
}

/**
 * nest_fault_queue_destroy() - drop the object's share of the ring
 * @obj: the queue's object header (possibly never finalized)
 *
 * No HWPT uses the queue any more (each holds a reference), so no record
 * can arrive; the fd, if open, still reads what is queued.
 */
void nest_fault_queue_destroy(struct nest_object *obj)
{
	struct nest_fault_queue *q =
		container_of(obj, struct nest_fault_queue, obj);

	if (q->ring)
		nest_fault_ring_put(q->ring);
}

/**
 * nest_fault_queue_get_stats() - copy a queue's statistics to user space
 * @obj: the queue's object header
 * @uptr: where to write struct nestiommu_fault_queue_stats
 * @len: in: bytes available at @uptr; out: the struct's full size
 *
 * Return: 0 or -EFAULT.
 */
int nest_fault_queue_get_stats(struct nest_object *obj, void __user *uptr,
			       u32 *len)
{
	struct nest_fault_ring *ring =
		container_of(obj, struct nest_fault_queue, obj)->ring;
	struct nestiommu_fault_queue_stats stats;

	spin_lock(&ring->lock);
	stats = ring->stats;
	stats.pending = ring->count + ring->taken;
	spin_unlock(&ring->lock);
	return nest_stats_to_user(&stats, sizeof(stats), uptr, len);
}

/**
 * nest_get_fault_queue() - look up a fault queue and take a reference
 * @ctx: the context
 * @id: the queue's object ID
 *
 * Return: the queue (release with nest_put_object(&q->obj)) or an ERR_PTR.
 */
struct nest_fault_queue *nest_get_fault_queue(struct nest_ctx *ctx, u32 id)
{
	struct nest_object *obj;

	obj = nest_get_object(ctx, id, NEST_OBJ_FAULT_QUEUE);
	if (IS_ERR(obj))
		return ERR_CAST(obj);
	return container_of(obj, struct nest_fault_queue, obj);
}

/* The object header of @q, for nest_put_object(). */
struct nest_object *nest_fault_queue_obj(struct nest_fault_queue *q)
{
	return &q->obj;
}
