// SPDX-License-Identifier: GPL-2.0
/*
 * Fault queues: unrecoverable DMA faults read() from the queue's fd, with
 * poll/epoll, O_NONBLOCK, whole records only, bounded depth with counted
 * and flagged overflow, and the object's lifetime rules.
 *
 * The env (nest_env.h) has no nested HWPT here: each case allocates one
 * bound to its own queue and attaches it to ENV_PASID (or the RID).
 */
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <sys/epoll.h>
#include <time.h>

#include "nest_env.h"

#define REC_SIZE	sizeof(struct nestiommu_fault_record)
/* More than the longest walk (5-level over 4-level: 29 entries). */
#define NEST_WALK_STEPS_MAX	32
/* No stage-1 mapping at all: every DMA there faults PTE_FETCH at stage 1. */
#define FQ_IOVA		ENV_IOVA

FIXTURE(fq) {
	struct nest_env e;
	__u32 fault_id;
	int qfd;
	__u32 hwpt_id;
};

FIXTURE_VARIANT(fq) {
	bool rid;
	__u32 depth;
};

FIXTURE_VARIANT_ADD(fq, pasid) { .rid = false };
FIXTURE_VARIANT_ADD(fq, rid) { .rid = true };
FIXTURE_VARIANT_ADD(fq, depth2) { .depth = 2 };

FIXTURE_SETUP(fq)
{
	struct nest_env_opts o = { .rid = variant->rid, .no_nested = true };

	env_setup(&self->e, &o);
	ASSERT_OK(nest_fault_queue_alloc(self->e.fd, variant->depth, &self->fault_id,
					 &self->qfd));
	self->hwpt_id = env_alloc_nested(&self->e, self->fault_id);
	do_device_attach(self->e.fd, self->e.dev_id, self->e.attach_flags, self->e.pasid,
			 self->hwpt_id);
}

FIXTURE_TEARDOWN(fq)
{
	close(self->qfd);
	env_teardown(&self->e);
}

/* One DMA that faults at @iova; returns what the DMA reported. */
static struct nestiommu_dma fq_fault(struct nest_env *e, __u64 iova)
{
	struct nestiommu_dma dma;
	char buf[8];

	ASSERT_OK(env_dma(e, ACC_W, iova, sizeof(buf), buf, &dma));
	ASSERT_EQ(NESTIOMMU_OUT_FAULT, dma.out_flags);
	return dma;
}

static struct nestiommu_fault_queue_stats fq_stats(FIXTURE_DATA(fq) *self)
{
	struct nestiommu_fault_queue_stats st;
	__u32 type, len = sizeof(st);

	ASSERT_OK(nest_get_stats(self->e.fd, self->fault_id, &type, &st, &len));
	ASSERT_EQ(NESTIOMMU_OBJ_FAULT_QUEUE, type);
	ASSERT_EQ(sizeof(st), len);
	return st;
}

static void fq_set_nonblock(int fd)
{
	ASSERT_EQ(0, fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK));
}

static bool fq_readable(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	ASSERT_LE(0, poll(&p, 1, 0));
	return p.revents & POLLIN;
}

static __u64 now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

TEST_F(fq, dma_fault_is_queued_with_its_details)
{
	struct nestiommu_fault_record r;
	struct nestiommu_dma dma;
	__u64 before = now_ns();

	ASSERT_FALSE(fq_readable(self->qfd));
	dma = fq_fault(&self->e, FQ_IOVA + 0x123);
	ASSERT_TRUE(fq_readable(self->qfd));
	ASSERT_EQ((ssize_t)REC_SIZE, read(self->qfd, &r, sizeof(r)));
	ASSERT_EQ(NESTIOMMU_FAULT_RECORD_V1, r.version);
	ASSERT_EQ(NESTIOMMU_RECORD_FAULT, r.type);
	ASSERT_EQ(variant->rid ? 0 : NESTIOMMU_RECORD_F_PASID_VALID, r.flags);
	ASSERT_EQ(self->e.dev_id, r.dev_id);
	ASSERT_EQ(variant->rid ? 0 : ENV_PASID, r.pasid);
	ASSERT_EQ(self->hwpt_id, r.hwpt_id);
	ASSERT_EQ(0, r.dropped);
	ASSERT_LE(before, r.timestamp_ns);
	ASSERT_GE(now_ns(), r.timestamp_ns);
	/* The record says what the DMA said. */
	ASSERT_EQ(0, memcmp(&dma.out_fault, &r.fault, sizeof(r.fault)));
	ASSERT_EQ(FQ_IOVA + 0x123, r.fault.addr);
	ASSERT_EQ(NESTIOMMU_FAULT_REASON_PTE_FETCH, r.fault.reason);
	ASSERT_EQ(1, r.fault.stage);
	ASSERT_FALSE(fq_readable(self->qfd));
}

TEST_F(fq, empty_nonblocking_read_eagain)
{
	struct nestiommu_fault_record r;

	fq_set_nonblock(self->qfd);
	ASSERT_EQ(-1, read(self->qfd, &r, sizeof(r)));
	ASSERT_EQ(EAGAIN, errno);
}

TEST_F(fq, epoll_reports_queued_records)
{
	struct nestiommu_fault_record r;
	struct epoll_event ev = { .events = EPOLLIN }, out;
	int ep = epoll_create1(EPOLL_CLOEXEC);

	ASSERT_LE(0, ep);
	ASSERT_EQ(0, epoll_ctl(ep, EPOLL_CTL_ADD, self->qfd, &ev));
	ASSERT_EQ(0, epoll_wait(ep, &out, 1, 0));
	fq_fault(&self->e, FQ_IOVA);
	ASSERT_EQ(1, epoll_wait(ep, &out, 1, 1000));
	ASSERT_TRUE(out.events & EPOLLIN);
	ASSERT_EQ((ssize_t)REC_SIZE, read(self->qfd, &r, sizeof(r)));
	ASSERT_EQ(0, epoll_wait(ep, &out, 1, 0));
	close(ep);
}

struct fq_reader {
	int fd;
	ssize_t rc;
	struct nestiommu_fault_record r;
};

static void *fq_read_thread(void *arg)
{
	struct fq_reader *rd = arg;

	rd->rc = read(rd->fd, &rd->r, sizeof(rd->r));
	return NULL;
}

/* A blocked reader wakes up when a fault arrives. */
TEST_F(fq, blocking_read_wakes_on_fault)
{
	static struct fq_reader rd;
	pthread_t th;

	rd.fd = self->qfd;
	ASSERT_EQ(0, pthread_create(&th, NULL, fq_read_thread, &rd));
	usleep(100 * 1000);	/* let it block (a fault before is fine too) */
	fq_fault(&self->e, FQ_IOVA + SZ_4K);
	ASSERT_EQ(0, pthread_join(th, NULL));
	ASSERT_EQ((ssize_t)REC_SIZE, rd.rc);
	ASSERT_EQ(FQ_IOVA + SZ_4K, rd.r.fault.addr);
}

/* A buffer too small or not writable takes nothing from the queue. */
TEST_F(fq, bad_read_buffer_loses_nothing)
{
	struct nestiommu_fault_record r;
	char *hole = alloc_buffer_4k(SZ_64K, SZ_4K);

	ASSERT_EQ(0, munmap(hole, SZ_64K));
	fq_fault(&self->e, FQ_IOVA);
	ASSERT_EQ(-1, read(self->qfd, &r, REC_SIZE - 1));
	ASSERT_EQ(EINVAL, errno);
	ASSERT_EQ(-1, read(self->qfd, hole, REC_SIZE));
	ASSERT_EQ(EFAULT, errno);
	ASSERT_EQ(1, fq_stats(self).pending);
	ASSERT_EQ((ssize_t)REC_SIZE, read(self->qfd, &r, sizeof(r)));
	ASSERT_EQ(FQ_IOVA, r.fault.addr);
}

/* Reads return whole records, oldest first, as many as fit. */
TEST_F(fq, reads_whole_records_oldest_first)
{
	struct nestiommu_fault_record r[3];
	int n = variant->depth ? (int)variant->depth : 5, i;

	for (i = 0; i < n; i++)
		fq_fault(&self->e, FQ_IOVA + i * SZ_4K);
	/* Room for 1.5 records: one. */
	ASSERT_EQ((ssize_t)REC_SIZE, read(self->qfd, r, REC_SIZE + REC_SIZE / 2));
	ASSERT_EQ(FQ_IOVA, r[0].fault.addr);
	for (i = 1; i < n; i += 2) {
		ssize_t want = (n - i >= 2 ? 2 : 1) * REC_SIZE;

		ASSERT_EQ(want, read(self->qfd, r, 2 * REC_SIZE + 8));
		ASSERT_EQ(FQ_IOVA + i * SZ_4K, r[0].fault.addr);
		if (want == 2 * (ssize_t)REC_SIZE)
			ASSERT_EQ(FQ_IOVA + (i + 1) * SZ_4K, r[1].fault.addr);
	}
	ASSERT_FALSE(fq_readable(self->qfd));
}

/* A full queue drops new records, counts them and flags the next read. */
TEST_F(fq, overflow_is_counted_and_flagged)
{
	struct nestiommu_fault_queue_stats st;
	struct nestiommu_fault_record r;
	__u32 depth = variant->depth ?: NESTIOMMU_FAULT_QUEUE_DEFAULT_DEPTH;
	__u32 i;

	for (i = 0; i < depth + 3; i++)
		fq_fault(&self->e, FQ_IOVA + (i % 512) * SZ_4K);
	st = fq_stats(self);
	ASSERT_EQ(depth, st.depth);
	ASSERT_EQ(depth, st.pending);
	ASSERT_EQ(depth, st.queued);
	ASSERT_EQ(3, st.dropped);
	ASSERT_EQ(0, st.read);

	ASSERT_EQ((ssize_t)REC_SIZE, read(self->qfd, &r, sizeof(r)));
	ASSERT_EQ(NESTIOMMU_RECORD_F_OVERFLOW, r.flags & NESTIOMMU_RECORD_F_OVERFLOW);
	ASSERT_EQ(3, r.dropped);
	ASSERT_EQ(FQ_IOVA, r.fault.addr);	/* the oldest was kept */
	if (depth > 1) {
		ASSERT_EQ((ssize_t)REC_SIZE, read(self->qfd, &r, sizeof(r)));
		ASSERT_EQ(0, r.flags & NESTIOMMU_RECORD_F_OVERFLOW);
	}
	st = fq_stats(self);
	ASSERT_EQ(st.queued, st.read + st.pending);
}

/* A TRANSLATE reports its fault in its reply, not in the queue. */
TEST_F(fq, translate_faults_are_not_queued)
{
	struct nestiommu_walk_step steps[NEST_WALK_STEPS_MAX];
	struct nestiommu_translate t;

	ASSERT_OK(_do_translate(self->e.fd, self->e.dev_id, self->e.dma_flags, self->e.pasid,
				ACC_R, FQ_IOVA, steps, NEST_WALK_STEPS_MAX, &t));
	ASSERT_EQ(NESTIOMMU_OUT_FAULT, t.out_flags);
	ASSERT_FALSE(fq_readable(self->qfd));
	ASSERT_EQ(0, fq_stats(self).queued);
}

/* Faults of other HWPTs go to their queues (or none). */
TEST_F(fq, other_hwpt_faults_not_queued_here)
{
	__u32 other = env_alloc_nested(&self->e, 0);

	do_device_attach(self->e.fd, self->e.dev_id,
			 self->e.attach_flags | NESTIOMMU_ATTACH_REPLACE, self->e.pasid, other);
	fq_fault(&self->e, FQ_IOVA);
	ASSERT_FALSE(fq_readable(self->qfd));
}

/* The queue lives while a HWPT uses it; its fd outlives the object. */
TEST_F(fq, destroy_busy_then_fd_still_reads)
{
	struct nestiommu_fault_record r;

	fq_fault(&self->e, FQ_IOVA);
	do_destroy_err(EBUSY, self->e.fd, self->fault_id);
	do_device_detach(self->e.fd, self->e.dev_id, self->e.attach_flags, self->e.pasid);
	do_destroy(self->e.fd, self->hwpt_id);
	do_destroy(self->e.fd, self->fault_id);
	ASSERT_EQ((ssize_t)REC_SIZE, read(self->qfd, &r, sizeof(r)));
	ASSERT_EQ(FQ_IOVA, r.fault.addr);
	fq_set_nonblock(self->qfd);
	ASSERT_EQ(-1, read(self->qfd, &r, sizeof(r)));
	ASSERT_EQ(EAGAIN, errno);
}

TEST_F(fq, fd_outlives_context_close)
{
	struct nestiommu_fault_record r;

	fq_fault(&self->e, FQ_IOVA);
	fq_fault(&self->e, FQ_IOVA + SZ_4K);
	close(self->e.fd);
	self->e.fd = do_open();		/* for teardown */
	ASSERT_EQ(2 * (ssize_t)REC_SIZE, read(self->qfd, (char[2 * REC_SIZE]){ 0 },
					     2 * REC_SIZE));
	fq_set_nonblock(self->qfd);
	ASSERT_EQ(-1, read(self->qfd, &r, sizeof(r)));
	ASSERT_EQ(EAGAIN, errno);
}

TEST(fault_queue_alloc_bad_values)
{
	struct nestiommu_fault_queue_alloc cmd = { .size = sizeof(cmd) };
	int fd = do_open();

	cmd.depth = NESTIOMMU_FAULT_QUEUE_MAX_DEPTH + 1;
	ASSERT_ERR(EINVAL, nest_ioctl(fd, NESTIOMMU_FAULT_QUEUE_ALLOC, &cmd));
	cmd.depth = ~0U;
	ASSERT_ERR(EINVAL, nest_ioctl(fd, NESTIOMMU_FAULT_QUEUE_ALLOC, &cmd));
	cmd.depth = NESTIOMMU_FAULT_QUEUE_MAX_DEPTH;
	ASSERT_OK(nest_ioctl(fd, NESTIOMMU_FAULT_QUEUE_ALLOC, &cmd));
	ASSERT_LE(0, cmd.out_fault_fd);
	/* Close-on-exec; read for records, write for page responses. */
	ASSERT_EQ(FD_CLOEXEC, fcntl(cmd.out_fault_fd, F_GETFD) & FD_CLOEXEC);
	ASSERT_EQ(O_RDWR, fcntl(cmd.out_fault_fd, F_GETFL) & O_ACCMODE);
	/* Not a whole page response. */
	ASSERT_EQ(-1, write(cmd.out_fault_fd, "x", 1));
	ASSERT_EQ(EINVAL, errno);
	close(cmd.out_fault_fd);
	close(fd);
}

/* HWPT_ALLOC's fault_id: only with the flag, only a fault queue's ID. */
TEST(hwpt_alloc_fault_id_checks)
{
	struct nest_env_opts o = { .no_nested = true };
	struct nestiommu_hwpt_alloc cmd;
	static struct nest_env e;
	__u32 fault_id;
	int qfd;

	env_setup(&e, &o);
	ASSERT_OK(nest_fault_queue_alloc(e.fd, 4, &fault_id, &qfd));
	cmd = (struct nestiommu_hwpt_alloc){
		.pt_id = e.parent_id,
		.data_type = NESTIOMMU_HWPT_DATA_S1_X86,
		.data_len = sizeof(e.desc),
		.data_uptr = NEST_PTR(&e.desc),
		.fault_id = fault_id,
	};
	/* fault_id without FAULT_ID_VALID */
	ASSERT_ERR(EINVAL, nest_hwpt_alloc(e.fd, &cmd));
	cmd.flags = NESTIOMMU_HWPT_ALLOC_FAULT_ID_VALID;
	cmd.fault_id = e.ioas_id;
	ASSERT_ERR(ENOENT, nest_hwpt_alloc(e.fd, &cmd));
	cmd.fault_id = e.parent_id;
	ASSERT_ERR(ENOENT, nest_hwpt_alloc(e.fd, &cmd));
	cmd.fault_id = 0;
	ASSERT_ERR(ENOENT, nest_hwpt_alloc(e.fd, &cmd));
	/* A paging HWPT may report to a queue too. */
	cmd = (struct nestiommu_hwpt_alloc){
		.flags = NESTIOMMU_HWPT_ALLOC_FAULT_ID_VALID,
		.pt_id = e.ioas_id,
		.fault_id = fault_id,
	};
	ASSERT_OK(nest_hwpt_alloc(e.fd, &cmd));
	do_destroy_err(EBUSY, e.fd, fault_id);
	do_destroy(e.fd, cmd.out_hwpt_id);
	do_destroy(e.fd, fault_id);
	close(qfd);
	env_teardown(&e);
}
