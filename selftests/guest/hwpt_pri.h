/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the page-request files of hwpt_test (hwpt_pri*.c) share: the pri
 * fixture (a PRI device whose nested HWPT reports to a fault queue), the
 * names of its pages, and the helpers that read groups, write responses
 * and check the device's counters.
 */
#ifndef HWPT_PRI_H
#define HWPT_PRI_H

#include <signal.h>
#include <stdatomic.h>
#include <sys/wait.h>

#include "pri_job.h"

#define RESP_SIZE	sizeof(struct nestiommu_page_response)
#define PRI_MAX_GROUP	64	/* records a test reads as one group, at most */
/* Page i of the stage-1 range the cases use, and the data page it maps. */
#define PAGE(i)		(ENV_IOVA + (__u64)(i) * SZ_4K)
#define DPAGE(i)	(DATA_GPA + (__u64)(i) * SZ_4K)
#define ACC_RX		(NESTIOMMU_ACCESS_READ | NESTIOMMU_ACCESS_EXEC)
#define LAST		NESTIOMMU_RECORD_F_LAST_PAGE
#define R_SUCCESS	NESTIOMMU_PAGE_RESP_SUCCESS
#define R_INVALID	NESTIOMMU_PAGE_RESP_INVALID
#define R_FAILURE	NESTIOMMU_PAGE_RESP_FAILURE
#define OTHER_PASID	6

/* A signal handler that does nothing: the signal only interrupts. */
static inline void on_sigusr1(int sig)
{
	(void)sig;
}

/* ---- DMA jobs: a DMA on its own thread ---- */

/* A DMA by the env's device on its attachment. */
static inline void job_start(struct pri_job *j, struct nest_env *e, __u32 access, __u64 iova,
		      __u64 len, void *buf)
{
	job_start_on(j, e->fd, e->dev_id, e->dma_flags, e->pasid, access, iova, len, buf);
}

/* The job returned, stopped by a stage-1 @reason fault at @addr after @done bytes. */
#define check_job_fault(j, _done, _addr, _reason) do {			\
	job_done(j);							\
	ASSERT_OK((j)->rc);						\
	ASSERT_EQ(NESTIOMMU_OUT_FAULT, (j)->dma.out_flags);		\
	ASSERT_EQ((__u64)(_done), (j)->dma.out_bytes_done);		\
	check_fault_exp(&(j)->dma.out_fault, (struct fault_exp){	\
		.addr = (_addr), .reason = (_reason), .stage = 1,	\
		.level = ANY, .s1_level = ANY, .flags = ANY, .fetch_addr = ANY }); \
} while (0)

/* ---- the queue ---- */

/*
 * Read one page request group: records up to its LAST_PAGE, which all have
 * the first one's cookie, grpid, device, PASID, HWPT, perm and fault, for
 * consecutive pages. Return: the number of pages.
 */
static inline int group_read(int qfd, struct nestiommu_fault_record *recs, int max)
{
	int n = 0;

	do {
		ASSERT_LT(n, max);
		rec_read(qfd, &recs[n]);
		ASSERT_EQ(NESTIOMMU_RECORD_PAGE_REQUEST, recs[n].type);
		ASSERT_EQ(recs[0].cookie, recs[n].cookie);
		ASSERT_EQ(recs[0].grpid, recs[n].grpid);
		ASSERT_EQ(recs[0].dev_id, recs[n].dev_id);
		ASSERT_EQ(recs[0].pasid, recs[n].pasid);
		ASSERT_EQ(recs[0].hwpt_id, recs[n].hwpt_id);
		ASSERT_EQ(recs[0].perm, recs[n].perm);
		/* The first may report drops before it. */
		ASSERT_EQ(recs[0].flags & ~(LAST | NESTIOMMU_RECORD_F_OVERFLOW),
			  recs[n].flags & ~(LAST | NESTIOMMU_RECORD_F_OVERFLOW));
		ASSERT_EQ(recs[0].addr + n * SZ_4K, recs[n].addr);
		ASSERT_EQ(0, memcmp(&recs[0].fault, &recs[n].fault, sizeof(recs[0].fault)));
		ASSERT_LT(recs[n].grpid, 512);
		n++;
	} while (!(recs[n - 1].flags & LAST));
	return n;
}

/* Read a group of @pages pages from @addr on; return its cookie. */
static inline __u64 group_expect(int qfd, __u64 addr, int pages)
{
	struct nestiommu_fault_record recs[PRI_MAX_GROUP];

	ASSERT_EQ(pages, group_read(qfd, recs, PRI_MAX_GROUP));
	ASSERT_EQ(addr, recs[0].addr);
	return recs[0].cookie;
}

/* write() of @len raw bytes: the byte count, or -errno. */
static inline long resp_write(int qfd, const void *buf, size_t len)
{
	ssize_t rc = write(qfd, buf, len);

	return rc < 0 ? -errno : rc;
}

/* ---- statistics ---- */

static inline struct nestiommu_xlate_stats dev_stats(int fd, __u32 dev_id)
{
	struct nestiommu_xlate_stats st;

	do_xlate_stats(fd, dev_id, NESTIOMMU_OBJ_DEVICE, &st);
	return st;
}

/*
 * Wait until the device counted @n page-request timeouts: a timer fires
 * them, at a time a slow machine may delay (30 s at most, then an error).
 */
static inline void wait_pri_timeouts(int fd, __u32 dev_id, __u64 n)
{
	__u64 deadline = now_ns() + 30ULL * 1000000000ULL;

	while (dev_stats(fd, dev_id).pri_timeouts < n) {
		ASSERT_LT(now_ns(), deadline);
		usleep(1000);
	}
}

static inline struct nestiommu_fault_queue_stats queue_stats(int fd, __u32 fault_id)
{
	struct nestiommu_fault_queue_stats st;
	__u32 type, len = sizeof(st);

	ASSERT_OK(nest_get_stats(fd, fault_id, &type, &st, &len));
	ASSERT_EQ(NESTIOMMU_OBJ_FAULT_QUEUE, type);
	return st;
}

/*
 * The device's pri_ counters are exactly the struct pri_exp that follows;
 * with nothing outstanding, every group sent has been answered once.
 */
#define check_pri(fd, dev, ...) do {					\
	const struct nestiommu_xlate_stats __s = dev_stats(fd, dev);	\
	const struct pri_exp __exp = __VA_ARGS__;			\
									\
	ASSERT_TRUE(pri_matches(&__s, &__exp));				\
	if (!__s.pri_outstanding)					\
		ASSERT_EQ(__s.pri_groups, __s.pri_success + __s.pri_invalid + \
			  __s.pri_failure + __s.pri_auto_invalid);	\
} while (0)

/* ---- set-up ---- */

/* Map pages [first, first + n) to their data pages. */
static inline void map_pages(struct nest_env *e, int first, int n, __u64 flags)
{
	int i;

	for (i = first; i < first + n; i++)
		env_map(e, PAGE(i), DPAGE(i), SZ_4K, flags);
}

/* Drop the IOTLB entries of @iova's page in HWPT @hwpt. */
static inline void inv_page(int fd, __u32 hwpt, __u64 iova)
{
	struct nestiommu_inv_entry inv = inv_entry(NESTIOMMU_INV_CACHE_IOTLB,
						   NESTIOMMU_INV_GRANU_ADDR,
						   NESTIOMMU_INV_F_LEAF, 0,
						   iova & ~(SZ_4K - 1), SZ_4K, 1);

	do_hwpt_invalidate(fd, hwpt, &inv, 1);
}

/*
 * The env's device has PRI; a nested HWPT over the (empty) stage-1 tree
 * reports to a fault queue and is attached at ENV_PASID or the RID.
 */
FIXTURE(pri) {
	struct nest_env e;
	__u32 fault_id;
	int qfd;
	__u32 hwpt_id;
	struct pri_job job[3];
};

FIXTURE_VARIANT(pri) {
	bool rid;
};

FIXTURE_VARIANT_ADD(pri, pasid) { .rid = false };
FIXTURE_VARIANT_ADD(pri, rid) { .rid = true };

FIXTURE_SETUP(pri)
{
	struct nest_env_opts o = {
		.rid = variant->rid,
		.no_nested = true,
		.dev_flags = NESTIOMMU_DEVICE_PRI,
	};

	env_setup(&self->e, &o);
	ASSERT_OK(nest_fault_queue_alloc(self->e.fd, 0, &self->fault_id, &self->qfd));
	self->hwpt_id = env_alloc_nested(&self->e, self->fault_id);
	do_device_attach(self->e.fd, self->e.dev_id, self->e.attach_flags, self->e.pasid,
			 self->hwpt_id);
}

FIXTURE_TEARDOWN(pri)
{
	if (self->qfd >= 0)
		close(self->qfd);
	env_teardown(&self->e);
}

/* Start a 1-page write DMA at PAGE(@page) and read its group; return the cookie. */
static inline __u64 pending_group(FIXTURE_DATA(pri) *self, struct pri_job *j, int page)
{
	static char buf[64];

	job_start(j, &self->e, ACC_W, PAGE(page), sizeof(buf), buf);
	return group_expect(self->qfd, PAGE(page), 1);
}

#endif /* HWPT_PRI_H */
