// SPDX-License-Identifier: GPL-2.0
/*
 * Fault queues: an object with its own file descriptor that unrecoverable
 * faults are reported to, read() as struct nestiommu_fault_record.
 *
 * The records live in a ring shared by the object and the file, each
 * holding a reference, so the fd keeps working after DESTROY or close of
 * /dev/nestiommu. Faults are queued from the translation path under the
 * IOMMU lock, so queueing never sleeps or allocates: a full ring drops the
 * record, counts it and flags the next record read.
 *
 * Readers are serialised by read_mutex; a reader copies records out with
 * the ring lock dropped and removes them only once the copy succeeded, so
 * a bad buffer loses nothing.
 */
#include <linux/anon_inodes.h>
#include <linux/file.h>
#include <linux/poll.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "nest_priv.h"
#include "trace.h"

/* Records one read() takes at most (it may return fewer than fit). */
#define NEST_FAULT_READ_BATCH	32

struct nest_fault_ring {
	refcount_t users;
	/* Guards everything below but @wait and @read_mutex. */
	spinlock_t lock;
	wait_queue_head_t wait;
	struct mutex read_mutex;
	u32 id;			/* the object's ID, for tracing */
	u32 depth;
	u32 head;		/* index of the oldest record */
	u32 count;		/* records queued */
	u32 dropped;		/* dropped since the last record read */
	struct nestiommu_fault_queue_stats stats;
	struct nestiommu_fault_record records[];
};

struct nest_fault_queue {
	struct nest_object obj;
	struct nest_fault_ring *ring;
};

static void nest_fault_ring_put(struct nest_fault_ring *ring)
{
	if (refcount_dec_and_test(&ring->users))
		kvfree(ring);
}

/**
 * nest_fault_queue_report() - queue an unrecoverable fault
 * @q: the queue of the HWPT attached where the request arrived
 * @dev_id: the device
 * @key: the request's PASID, or NEST_ATTACH_RID
 * @hwpt_id: the HWPT
 * @info: the fault as user space sees it
 *
 * Never sleeps: callable under the IOMMU lock.
 */
void nest_fault_queue_report(struct nest_fault_queue *q, u32 dev_id, u32 key,
			     u32 hwpt_id, const struct nestiommu_fault_info *info)
{
	struct nest_fault_ring *ring = q->ring;
	struct nestiommu_fault_record *r;
	unsigned long flags;
	u64 dropped = 0;

	spin_lock_irqsave(&ring->lock, flags);
	if (ring->count == ring->depth) {
		ring->dropped++;
		dropped = ++ring->stats.dropped;
		goto out_unlock;
	}
	r = &ring->records[(ring->head + ring->count) % ring->depth];
	*r = (struct nestiommu_fault_record) {
		.version = NESTIOMMU_FAULT_RECORD_V1,
		.type = NESTIOMMU_RECORD_FAULT,
		.flags = key == NEST_ATTACH_RID ? 0 :
			 NESTIOMMU_RECORD_F_PASID_VALID,
		.dev_id = dev_id,
		.pasid = key == NEST_ATTACH_RID ? 0 : key,
		.hwpt_id = hwpt_id,
		.timestamp_ns = ktime_get_ns(),
		.fault = *info,
	};
	ring->count++;
	ring->stats.queued++;
out_unlock:
	spin_unlock_irqrestore(&ring->lock, flags);
	if (dropped)
		trace_fault_queue_overflow(ring->id, dropped);
	else
		wake_up_interruptible_poll(&ring->wait, EPOLLIN | EPOLLRDNORM);
}

/*
 * Copy up to @n of the oldest records into @buf without removing them.
 * Return: the number copied; *@dropped: the drops the first one reports.
 */
static u32 nest_fault_ring_peek(struct nest_fault_ring *ring,
				struct nestiommu_fault_record *buf, u32 n,
				u32 *dropped)
{
	u32 i;

	spin_lock_irq(&ring->lock);
	n = min(n, ring->count);
	for (i = 0; i < n; i++)
		buf[i] = ring->records[(ring->head + i) % ring->depth];
	*dropped = n ? ring->dropped : 0;
	spin_unlock_irq(&ring->lock);
	if (*dropped) {
		buf[0].flags |= NESTIOMMU_RECORD_F_OVERFLOW;
		buf[0].dropped = *dropped;
	}
	return n;
}

/* Remove the @n records nest_fault_ring_peek() returned. */
static void nest_fault_ring_pop(struct nest_fault_ring *ring, u32 n,
				u32 dropped)
{
	spin_lock_irq(&ring->lock);
	ring->head = (ring->head + n) % ring->depth;
	ring->count -= n;
	ring->dropped -= dropped;
	ring->stats.read += n;
	spin_unlock_irq(&ring->lock);
}

static ssize_t nest_fault_fops_read(struct file *filp, char __user *ubuf,
				    size_t count, loff_t *ppos)
{
	const size_t rsize = sizeof(struct nestiommu_fault_record);
	struct nest_fault_ring *ring = filp->private_data;
	struct nestiommu_fault_record *buf;
	u32 n, dropped;
	ssize_t rc;

	if (count < rsize)
		return -EINVAL;
	n = min_t(size_t, count / rsize, NEST_FAULT_READ_BATCH);
	buf = kmalloc_array(n, rsize, GFP_KERNEL);
	if (!buf)
		return -ENOMEM;

	mutex_lock(&ring->read_mutex);
	while (!(n = nest_fault_ring_peek(ring, buf, n, &dropped))) {
		mutex_unlock(&ring->read_mutex);
		if (filp->f_flags & O_NONBLOCK) {
			rc = -EAGAIN;
			goto out_free;
		}
		rc = wait_event_interruptible(ring->wait,
					      READ_ONCE(ring->count));
		if (rc)
			goto out_free;
		n = min_t(size_t, count / rsize, NEST_FAULT_READ_BATCH);
		mutex_lock(&ring->read_mutex);
	}
	if (copy_to_user(ubuf, buf, n * rsize)) {
		rc = -EFAULT;
	} else {
		nest_fault_ring_pop(ring, n, dropped);
		rc = n * rsize;
	}
	mutex_unlock(&ring->read_mutex);
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

static int nest_fault_fops_release(struct inode *inode, struct file *filp)
{
	nest_fault_ring_put(filp->private_data);
	return 0;
}

static const struct file_operations nest_fault_fops = {
	.owner = THIS_MODULE,
	.read = nest_fault_fops_read,
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

	obj = nest_object_alloc(ucmd->ctx, sizeof(*q), NEST_OBJ_FAULT_QUEUE);
	if (IS_ERR(obj))
		return PTR_ERR(obj);
	q = container_of(obj, struct nest_fault_queue, obj);
	ring = kvzalloc(struct_size(ring, records, depth), GFP_KERNEL_ACCOUNT);
	if (!ring) {
		rc = -ENOMEM;
		goto out_abort;
	}
	refcount_set(&ring->users, 1);
	spin_lock_init(&ring->lock);
	init_waitqueue_head(&ring->wait);
	mutex_init(&ring->read_mutex);
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
				  O_RDONLY);
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

	spin_lock_irq(&ring->lock);
	stats = ring->stats;
	stats.pending = ring->count;
	spin_unlock_irq(&ring->lock);
	if (copy_to_user(uptr, &stats, min_t(size_t, *len, sizeof(stats))))
		return -EFAULT;
	*len = sizeof(stats);
	return 0;
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
