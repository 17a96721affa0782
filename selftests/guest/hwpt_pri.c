// SPDX-License-Identifier: GPL-2.0
/*
 * Page requests (PRI): a PRI device whose nested HWPT has a fault queue
 * asks user space for a page at a stage-1 not-present or permission fault
 * and its DMA waits for the page response written to the queue's fd.
 *
 * What a user checks: the whole loop for each response code (SUCCESS maps
 * and the DMA completes with the right data; INVALID stops it with the
 * fault and the right bytes done; FAILURE also turns PRI off until
 * DEVICE_RESET), the groups (cookie, grpid, pages in order, LAST_PAGE,
 * perm), retries, the outstanding limit, that no DMA waits forever
 * (detach, replace, reset, destroy, fd close, timeout, signals), the
 * checks of write(), a queue too small for a group, the libnestiommu PRI
 * handler, and exact accounting after a stress run.
 *
 * Most cases read the queue and answer by hand while the DMA runs on a
 * thread ("job"), so every wait is bounded: a DMA that must finish is
 * given PRI_WAIT_MS, one that must keep waiting PRI_QUIET_MS.
 */
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
static void on_sigusr1(int sig)
{
	(void)sig;
}

/* ---- DMA jobs: a DMA on its own thread ---- */

/* A DMA by the env's device on its attachment. */
static void job_start(struct pri_job *j, struct nest_env *e, __u32 access, __u64 iova,
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
static int group_read(int qfd, struct nestiommu_fault_record *recs, int max)
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
static __u64 group_expect(int qfd, __u64 addr, int pages)
{
	struct nestiommu_fault_record recs[PRI_MAX_GROUP];

	ASSERT_EQ(pages, group_read(qfd, recs, PRI_MAX_GROUP));
	ASSERT_EQ(addr, recs[0].addr);
	return recs[0].cookie;
}

/* write() of @len raw bytes: the byte count, or -errno. */
static long resp_write(int qfd, const void *buf, size_t len)
{
	ssize_t rc = write(qfd, buf, len);

	return rc < 0 ? -errno : rc;
}

/* ---- statistics ---- */

static struct nestiommu_xlate_stats dev_stats(int fd, __u32 dev_id)
{
	struct nestiommu_xlate_stats st;

	do_xlate_stats(fd, dev_id, NESTIOMMU_OBJ_DEVICE, &st);
	return st;
}

static struct nestiommu_fault_queue_stats queue_stats(int fd, __u32 fault_id)
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
static void map_pages(struct nest_env *e, int first, int n, __u64 flags)
{
	int i;

	for (i = first; i < first + n; i++)
		env_map(e, PAGE(i), DPAGE(i), SZ_4K, flags);
}

/* Drop the IOTLB entries of @iova's page in HWPT @hwpt. */
static void inv_page(int fd, __u32 hwpt, __u64 iova)
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
static __u64 pending_group(FIXTURE_DATA(pri) *self, struct pri_job *j, int page)
{
	static char buf[64];

	job_start(j, &self->e, ACC_W, PAGE(page), sizeof(buf), buf);
	return group_expect(self->qfd, PAGE(page), 1);
}

/* ==== the loop, per response code ==== */

/* One page request, every field of its record; SUCCESS after mapping. */
TEST_F(pri, success_record_fields_and_data)
{
	static char buf[100];
	struct nestiommu_fault_record r;
	struct pri_job *j = &self->job[0];
	__u64 before = now_ns();

	fill_pattern(buf, sizeof(buf), 1);
	job_start(j, &self->e, ACC_W, PAGE(0) + 0x123, sizeof(buf), buf);
	rec_read(self->qfd, &r);
	ASSERT_EQ(NESTIOMMU_RECORD_PAGE_REQUEST, r.type);
	ASSERT_EQ(LAST | (variant->rid ? 0 : NESTIOMMU_RECORD_F_PASID_VALID), r.flags);
	ASSERT_EQ(self->e.dev_id, r.dev_id);
	ASSERT_EQ(variant->rid ? 0 : ENV_PASID, r.pasid);
	ASSERT_EQ(self->hwpt_id, r.hwpt_id);
	ASSERT_EQ(0, r.dropped);
	ASSERT_LE(before, r.timestamp_ns);
	ASSERT_GE(now_ns(), r.timestamp_ns);
	ASSERT_EQ(PAGE(0), r.addr);
	ASSERT_EQ(ACC_W, r.perm);
	ASSERT_LT(r.grpid, 512);
	check_fault_exp(&r.fault, (struct fault_exp){
		.addr = PAGE(0) + 0x123, .reason = NESTIOMMU_FAULT_REASON_PTE_FETCH,
		.stage = 1, .level = ANY, .flags = ANY, .fetch_addr = ANY });
	ASSERT_EQ(ACC_W, r.fault.access);
	/* The DMA waits, with its group outstanding. */
	job_waiting(j);
	check_pri(self->e.fd, self->e.dev_id, (struct pri_exp){
		.groups = 1, .pages = 1, .outstanding = 1 });
	ASSERT_FALSE(queue_readable(self->qfd, 0));

	map_pages(&self->e, 0, 1, S1_RWU);
	respond(self->qfd, r.cookie, R_SUCCESS);
	check_job_ok(j);
	ASSERT_MEM_EQ(env_data(&self->e, DPAGE(0) + 0x123), buf, sizeof(buf));
	check_pri(self->e.fd, self->e.dev_id, (struct pri_exp){
		.groups = 1, .pages = 1, .success = 1 });
	/* Answered once only. */
	respond_err(EINVAL, self->qfd, r.cookie, R_SUCCESS);
	respond_err(EINVAL, self->qfd, r.cookie, R_INVALID);
	check_pri(self->e.fd, self->e.dev_id, (struct pri_exp){
		.groups = 1, .pages = 1, .success = 1 });
	/* Mapped now: no more page requests. */
	ASSERT_EQ(0x5a, env_read_byte(&self->e, PAGE(0) + 0x200));
	ASSERT_FALSE(queue_readable(self->qfd, 0));
}

/* Groups: the pages one DMA still needs, one cookie, in order, LAST_PAGE last. */
TEST_F(pri, multi_page_group_per_access)
{
	const __u32 access[] = { ACC_W, ACC_R, ACC_RX };
	static char buf[5 * SZ_4K];
	struct nestiommu_fault_record recs[PRI_MAX_GROUP];
	struct pri_job *j = &self->job[0];
	__u64 cookies[3];
	int i, k, n;

	for (k = 0; k < 3; k++) {
		__u64 iova = PAGE(8 * k) + 0x10;

		TH_CONTEXT("access 0x%x", access[k]);
		fill_pattern(buf, sizeof(buf), k);
		job_start(j, &self->e, access[k], iova, sizeof(buf), buf);
		/* 5 pages from +0x10 touch 6. */
		n = group_read(self->qfd, recs, PRI_MAX_GROUP);
		ASSERT_EQ(6, n);
		for (i = 0; i < n; i++) {
			ASSERT_EQ(PAGE(8 * k + i), recs[i].addr);
			ASSERT_EQ(access[k], recs[i].perm);
			ASSERT_EQ(i == n - 1 ? LAST : 0, recs[i].flags & LAST);
			check_fault_exp(&recs[i].fault, (struct fault_exp){
				.addr = iova, .reason = NESTIOMMU_FAULT_REASON_PTE_FETCH,
				.stage = 1, .level = ANY, .flags = ANY, .fetch_addr = ANY });
			ASSERT_EQ(access[k], recs[i].fault.access);
		}
		cookies[k] = recs[0].cookie;
		for (i = 0; i < k; i++)
			ASSERT_NE(cookies[i], cookies[k]);
		job_waiting(j);
		check_pri(self->e.fd, self->e.dev_id, (struct pri_exp){
			.groups = k + 1, .pages = 6 * (k + 1), .success = k,
			.outstanding = 6 });
		map_pages(&self->e, 8 * k, 6, S1_RWU);
		respond(self->qfd, recs[0].cookie, R_SUCCESS);
		check_job_ok(j);
		if (access[k] == ACC_W)
			ASSERT_MEM_EQ(env_data(&self->e, DPAGE(8 * k) + 0x10), buf, sizeof(buf));
		else
			ASSERT_MEM_EQ(buf, env_data(&self->e, DPAGE(8 * k) + 0x10), sizeof(buf));
		ASSERT_FALSE(queue_readable(self->qfd, 0));
	}
	check_pri(self->e.fd, self->e.dev_id, (struct pri_exp){
		.groups = 3, .pages = 18, .success = 3 });
}

/* The group starts at the faulting page: pages mapped before it are not asked for. */
TEST_F(pri, group_starts_at_faulting_page)
{
	static char buf[4 * SZ_4K];
	struct pri_job *j = &self->job[0];
	__u64 cookie;

	map_pages(&self->e, 0, 2, S1_RWU);
	fill_pattern(buf, sizeof(buf), 2);
	job_start(j, &self->e, ACC_W, PAGE(0), sizeof(buf), buf);
	cookie = group_expect(self->qfd, PAGE(2), 2);
	job_waiting(j);
	/* The first two pages are written already. */
	ASSERT_MEM_EQ(env_data(&self->e, DPAGE(0)), buf, 2 * SZ_4K);
	map_pages(&self->e, 2, 2, S1_RWU);
	respond(self->qfd, cookie, R_SUCCESS);
	check_job_ok(j);
	ASSERT_MEM_EQ(env_data(&self->e, DPAGE(0)), buf, sizeof(buf));
	check_pri(self->e.fd, self->e.dev_id, (struct pri_exp){
		.groups = 1, .pages = 2, .success = 1 });
}

/* INVALID: the DMA stops with the fault, after the bytes before the page. */
TEST_F(pri, invalid_stops_dma_bytes_done)
{
	static char buf[3 * SZ_4K];
	struct pri_job *j = &self->job[0];
	__u64 cookie;

	map_pages(&self->e, 0, 1, S1_RWU);
	fill_pattern(buf, sizeof(buf), 3);
	/* Pages 0..3 from +0x800: page 0 is there, 1..3 are asked for. */
	job_start(j, &self->e, ACC_W, PAGE(0) + 0x800, sizeof(buf), buf);
	cookie = group_expect(self->qfd, PAGE(1), 3);
	respond(self->qfd, cookie, R_INVALID);
	check_job_fault(j, 0x800, PAGE(1), NESTIOMMU_FAULT_REASON_PTE_FETCH);
	ASSERT_EQ(ACC_W, j->dma.out_fault.access);
	ASSERT_MEM_EQ(env_data(&self->e, DPAGE(0) + 0x800), buf, 0x800);
	ASSERT_MEM_BYTE(env_data(&self->e, DPAGE(1)), 0x5a, 3 * SZ_4K);
	check_pri(self->e.fd, self->e.dev_id, (struct pri_exp){
		.groups = 1, .pages = 3, .invalid = 1 });
	respond_err(EINVAL, self->qfd, cookie, R_INVALID);
	/* INVALID does not turn PRI off: the next fault asks again. */
	job_start(j, &self->e, ACC_R, PAGE(2), 8, buf);
	cookie = group_expect(self->qfd, PAGE(2), 1);
	respond(self->qfd, cookie, R_INVALID);
	check_job_fault(j, 0, PAGE(2), NESTIOMMU_FAULT_REASON_PTE_FETCH);
	check_pri(self->e.fd, self->e.dev_id, (struct pri_exp){
		.groups = 2, .pages = 4, .invalid = 2 });
}

/* Read the records queued now; none may be a page request. Return: how many. */
static int drain_no_page_requests(int qfd, struct nestiommu_fault_record *last)
{
	struct nestiommu_fault_record r;
	int n = 0;

	while (queue_readable(qfd, 0)) {
		ASSERT_EQ((ssize_t)REC_SIZE, read(qfd, &r, REC_SIZE));
		ASSERT_EQ(NESTIOMMU_RECORD_FAULT, r.type);
		if (last)
			*last = r;
		n++;
	}
	return n;
}

/* FAILURE: the DMA stops and PRI is off on the device until DEVICE_RESET. */
TEST_F(pri, failure_disables_pri_until_reset)
{
	static char buf[64];
	struct nestiommu_fault_record r;
	struct pri_job *j = &self->job[0];
	__u64 cookie;

	job_start(j, &self->e, ACC_W, PAGE(0), sizeof(buf), buf);
	cookie = group_expect(self->qfd, PAGE(0), 1);
	respond(self->qfd, cookie, R_FAILURE);
	check_job_fault(j, 0, PAGE(0), NESTIOMMU_FAULT_REASON_PTE_FETCH);
	check_pri(self->e.fd, self->e.dev_id, (struct pri_exp){
		.groups = 1, .pages = 1, .failure = 1 });
	drain_no_page_requests(self->qfd, NULL);

	/* Later faults are unrecoverable: reported at once as FAULT records. */
	job_start(j, &self->e, ACC_R, PAGE(1) + 8, sizeof(buf), buf);
	check_job_fault(j, 0, PAGE(1) + 8, NESTIOMMU_FAULT_REASON_PTE_FETCH);
	rec_read(self->qfd, &r);
	ASSERT_EQ(NESTIOMMU_RECORD_FAULT, r.type);
	ASSERT_EQ(0, memcmp(&j->dma.out_fault, &r.fault, sizeof(r.fault)));
	ASSERT_FALSE(queue_readable(self->qfd, 0));
	/* PERMISSION faults too. */
	map_pages(&self->e, 2, 1, NESTIOMMU_S1_PTE_US);
	job_start(j, &self->e, ACC_W, PAGE(2), sizeof(buf), buf);
	check_job_fault(j, 0, PAGE(2), NESTIOMMU_FAULT_REASON_PERMISSION);
	ASSERT_EQ(1, drain_no_page_requests(self->qfd, &r));
	ASSERT_EQ(PAGE(2), r.fault.addr);
	check_pri(self->e.fd, self->e.dev_id, (struct pri_exp){
		.groups = 1, .pages = 1, .failure = 1 });

	/* DEVICE_RESET turns it on again. */
	do_device_reset(self->e.fd, self->e.dev_id);
	job_start(j, &self->e, ACC_W, PAGE(1) + 8, sizeof(buf), buf);
	cookie = group_expect(self->qfd, PAGE(1), 1);
	map_pages(&self->e, 1, 1, S1_RWU);
	respond(self->qfd, cookie, R_SUCCESS);
	check_job_ok(j);
	ASSERT_MEM_EQ(env_data(&self->e, DPAGE(1) + 8), buf, sizeof(buf));
	check_pri(self->e.fd, self->e.dev_id, (struct pri_exp){
		.groups = 2, .pages = 2, .success = 1, .failure = 1 });
}

/*
 * A DMA waiting for credit when a FAILURE arrives: PRI is off from then on,
 * so it sends no page request and stops with its fault.
 */
TEST_F(pri, failure_stops_dma_waiting_for_credit)
{
	struct pri_job *a = &self->job[0], *b = &self->job[1];
	struct nestiommu_fault_record r;
	static char buf[8];
	__u64 cookie;

	do_option_set(self->e.fd, NESTIOMMU_OPTION_PRI_MAX_OUTSTANDING, self->e.dev_id, 1);
	cookie = pending_group(self, a, 0);
	job_start(b, &self->e, ACC_W, PAGE(1), sizeof(buf), buf);
	job_waiting(b);
	ASSERT_FALSE(queue_readable(self->qfd, 0));
	respond(self->qfd, cookie, R_FAILURE);
	check_job_fault(a, 0, PAGE(0), NESTIOMMU_FAULT_REASON_PTE_FETCH);
	while (queue_readable(self->qfd, PRI_QUIET_MS)) {
		rec_read(self->qfd, &r);
		if (r.type == NESTIOMMU_RECORD_PAGE_REQUEST) {
			TH_LOG("a page request after FAILURE: addr 0x%llx", (unsigned long long)r.addr);
			respond(self->qfd, r.cookie, R_INVALID);	/* unstick it */
		}
		ASSERT_NE(NESTIOMMU_RECORD_PAGE_REQUEST, r.type);
	}
	check_job_fault(b, 0, PAGE(1), NESTIOMMU_FAULT_REASON_PTE_FETCH);
	check_pri(self->e.fd, self->e.dev_id, (struct pri_exp){
		.groups = 1, .pages = 1, .failure = 1 });
}

/* A PERMISSION fault asks too; the answer upgrades the PTE and invalidates. */
TEST_F(pri, permission_fault_requests_write)
{
	static char buf[32];
	struct nestiommu_fault_record r;
	struct pri_job *j = &self->job[0];
	__u64 *ptep;

	map_pages(&self->e, 0, 1, NESTIOMMU_S1_PTE_US);
	/* Read-only, and cached in the IOTLB by a read. */
	ASSERT_EQ(0x5a, env_read_byte(&self->e, PAGE(0)));
	fill_pattern(buf, sizeof(buf), 4);
	job_start(j, &self->e, ACC_W, PAGE(0) + 0x40, sizeof(buf), buf);
	rec_read(self->qfd, &r);
	ASSERT_EQ(NESTIOMMU_RECORD_PAGE_REQUEST, r.type);
	ASSERT_EQ(LAST, r.flags & LAST);
	ASSERT_EQ(PAGE(0), r.addr);
	ASSERT_EQ(ACC_W, r.perm);
	check_fault_exp(&r.fault, (struct fault_exp){
		.addr = PAGE(0) + 0x40, .reason = NESTIOMMU_FAULT_REASON_PERMISSION,
		.stage = 1, .level = ANY, .flags = ANY, .fetch_addr = ANY });
	ptep = env_pte(&self->e, PAGE(0), 1);
	nest_s1_pte_write(ptep, nest_s1_pte_read(ptep) | NESTIOMMU_S1_PTE_RW);
	inv_page(self->e.fd, self->hwpt_id, PAGE(0));
	respond(self->qfd, r.cookie, R_SUCCESS);
	check_job_ok(j);
	ASSERT_MEM_EQ(env_data(&self->e, DPAGE(0) + 0x40), buf, sizeof(buf));
	check_pri(self->e.fd, self->e.dev_id, (struct pri_exp){
		.groups = 1, .pages = 1, .success = 1 });
}

/*
 * What is not a page request: a reserved-bit PTE, a stage-2 fault, a
 * device without PRI, a HWPT without a queue. The DMA stops at once.
 */
TEST_F(pri, unrecoverable_faults_not_page_requests)
{
	static char buf[16];
	struct nestiommu_fault_record r;
	struct pri_job *j = &self->job[0];
	__u32 plain_dev, noq_hwpt, pri_dev2;
	__u64 *ptep, pte;

	/* Reserved bits: PS in a level-4 entry. */
	map_pages(&self->e, 0, 1, S1_RWU);
	ptep = env_pte(&self->e, PAGE(0), 4);
	pte = nest_s1_pte_read(ptep);
	nest_s1_pte_write(ptep, pte | NESTIOMMU_S1_PTE_PS);
	job_start(j, &self->e, ACC_R, PAGE(0), sizeof(buf), buf);
	check_job_fault(j, 0, PAGE(0), NESTIOMMU_FAULT_REASON_PTE_FETCH);
	ASSERT_EQ(NESTIOMMU_FAULT_F_RSVD, j->dma.out_fault.flags & NESTIOMMU_FAULT_F_RSVD);
	rec_read(self->qfd, &r);
	ASSERT_EQ(NESTIOMMU_RECORD_FAULT, r.type);
	ASSERT_EQ(0, memcmp(&j->dma.out_fault, &r.fault, sizeof(r.fault)));
	nest_s1_pte_write(ptep, pte);

	/* Stage 2: stage 1 maps the page to a GPA nothing maps. */
	env_map(&self->e, PAGE(1), GPA_HOLE_L1, SZ_4K, S1_RWU);
	job_start(j, &self->e, ACC_W, PAGE(1), sizeof(buf), buf);
	job_done(j);
	ASSERT_EQ(NESTIOMMU_OUT_FAULT, j->dma.out_flags);
	ASSERT_EQ(2, j->dma.out_fault.stage);
	rec_read(self->qfd, &r);
	ASSERT_EQ(NESTIOMMU_RECORD_FAULT, r.type);
	ASSERT_EQ(2, r.fault.stage);

	/* A device without PRI on the same HWPT. */
	do_device_create(self->e.fd, 0, ENV_RID + 1, ENV_PASID_BITS, &plain_dev);
	do_device_attach(self->e.fd, plain_dev, self->e.attach_flags, self->e.pasid,
			 self->hwpt_id);
	job_start_on(j, self->e.fd, plain_dev, self->e.dma_flags, self->e.pasid, ACC_W,
		     PAGE(2), sizeof(buf), buf);
	check_job_fault(j, 0, PAGE(2), NESTIOMMU_FAULT_REASON_PTE_FETCH);
	rec_read(self->qfd, &r);
	ASSERT_EQ(NESTIOMMU_RECORD_FAULT, r.type);
	ASSERT_EQ(plain_dev, r.dev_id);

	/* A PRI device on a HWPT without a queue. */
	noq_hwpt = env_alloc_nested(&self->e, 0);
	do_device_create(self->e.fd, NESTIOMMU_DEVICE_PRI, ENV_RID + 2, ENV_PASID_BITS,
			 &pri_dev2);
	do_device_attach(self->e.fd, pri_dev2, self->e.attach_flags, self->e.pasid, noq_hwpt);
	job_start_on(j, self->e.fd, pri_dev2, self->e.dma_flags, self->e.pasid, ACC_W,
		     PAGE(3), sizeof(buf), buf);
	check_job_fault(j, 0, PAGE(3), NESTIOMMU_FAULT_REASON_PTE_FETCH);

	ASSERT_FALSE(queue_readable(self->qfd, 0));
	check_pri(self->e.fd, self->e.dev_id, (struct pri_exp){ 0 });
	check_pri(self->e.fd, plain_dev, (struct pri_exp){ 0 });
	check_pri(self->e.fd, pri_dev2, (struct pri_exp){ 0 });
}

/* ==== retries ==== */

/* SUCCESS without the page: asked again, NESTIOMMU_PRI_RETRIES groups in all. */
TEST_F(pri, success_without_page_retries_then_faults)
{
	static char buf[16];
	struct pri_job *j = &self->job[0];
	__u64 cookies[NESTIOMMU_PRI_RETRIES];
	int i, k;

	job_start(j, &self->e, ACC_W, PAGE(0) + 4, sizeof(buf), buf);
	for (i = 0; i < NESTIOMMU_PRI_RETRIES; i++) {
		TH_CONTEXT("group %d", i + 1);
		cookies[i] = group_expect(self->qfd, PAGE(0), 1);
		for (k = 0; k < i; k++)
			ASSERT_NE(cookies[k], cookies[i]);
		job_waiting(j);
		respond(self->qfd, cookies[i], R_SUCCESS);
	}
	TH_CONTEXT("%s", "after the last group");
	check_job_fault(j, 0, PAGE(0) + 4, NESTIOMMU_FAULT_REASON_PTE_FETCH);
	drain_no_page_requests(self->qfd, NULL);
	check_pri(self->e.fd, self->e.dev_id, (struct pri_exp){
		.groups = NESTIOMMU_PRI_RETRIES, .pages = NESTIOMMU_PRI_RETRIES,
		.success = NESTIOMMU_PRI_RETRIES });
}

/* The retry budget is per page: progress to the next page starts it again. */
TEST_F(pri, retry_budget_per_page)
{
	static char buf[2 * SZ_4K];
	struct pri_job *j = &self->job[0];
	__u64 cookie;
	int i;

	fill_pattern(buf, sizeof(buf), 5);
	job_start(j, &self->e, ACC_W, PAGE(0), sizeof(buf), buf);
	/* Page 0: one empty SUCCESS, then (once asked again) the page. */
	respond(self->qfd, group_expect(self->qfd, PAGE(0), 2), R_SUCCESS);
	cookie = group_expect(self->qfd, PAGE(0), 2);
	map_pages(&self->e, 0, 1, S1_RWU);
	respond(self->qfd, cookie, R_SUCCESS);
	/* Page 1: its own NESTIOMMU_PRI_RETRIES groups. */
	for (i = 0; i < NESTIOMMU_PRI_RETRIES; i++) {
		TH_CONTEXT("page 1, group %d", i + 1);
		respond(self->qfd, group_expect(self->qfd, PAGE(1), 1), R_SUCCESS);
	}
	check_job_fault(j, SZ_4K, PAGE(1), NESTIOMMU_FAULT_REASON_PTE_FETCH);
	ASSERT_MEM_EQ(env_data(&self->e, DPAGE(0)), buf, SZ_4K);
	drain_no_page_requests(self->qfd, NULL);
	check_pri(self->e.fd, self->e.dev_id, (struct pri_exp){
		.groups = 2 + NESTIOMMU_PRI_RETRIES, .pages = 4 + NESTIOMMU_PRI_RETRIES,
		.success = 2 + NESTIOMMU_PRI_RETRIES });
}

/* ==== the outstanding limit ==== */

/* Samples the device's pri_outstanding until stopped, keeping the largest. */
struct sampler {
	int fd;
	__u32 dev_id;
	atomic_bool stop;
	__u64 max;
	unsigned long samples;
	pthread_t th;
};

static void *sampler_fn(void *arg)
{
	struct sampler *s = arg;

	while (!atomic_load(&s->stop)) {
		struct nestiommu_xlate_stats st;
		__u32 type, len = sizeof(st);

		if (nest_get_stats(s->fd, s->dev_id, &type, &st, &len))
			break;
		if (st.pri_outstanding > s->max)
			s->max = st.pri_outstanding;
		s->samples++;
		usleep(200);
	}
	return NULL;
}

static void sampler_start(struct sampler *s, int fd, __u32 dev_id)
{
	*s = (struct sampler){ .fd = fd, .dev_id = dev_id };
	ASSERT_EQ(0, pthread_create(&s->th, NULL, sampler_fn, s));
}

static __u64 sampler_stop(struct sampler *s)
{
	atomic_store(&s->stop, true);
	ASSERT_EQ(0, pthread_join(s->th, NULL));
	ASSERT_LT(0, s->samples);
	return s->max;
}

/* A second DMA waits for credit until the first group is answered. */
TEST_F(pri, outstanding_limit_waits_for_credit)
{
	static char buf_a[2 * SZ_4K], buf_b[64];
	struct pri_job *a = &self->job[0], *b = &self->job[1];
	static struct sampler s;
	__u64 cookie;

	do_option_set(self->e.fd, NESTIOMMU_OPTION_PRI_MAX_OUTSTANDING, self->e.dev_id, 2);
	sampler_start(&s, self->e.fd, self->e.dev_id);
	fill_pattern(buf_a, sizeof(buf_a), 6);
	fill_pattern(buf_b, sizeof(buf_b), 7);
	job_start(a, &self->e, ACC_W, PAGE(0), sizeof(buf_a), buf_a);
	cookie = group_expect(self->qfd, PAGE(0), 2);
	job_start(b, &self->e, ACC_W, PAGE(4), sizeof(buf_b), buf_b);
	/* B's group would make 3: it is not sent, B waits. */
	job_waiting(b);
	ASSERT_FALSE(queue_readable(self->qfd, 0));
	check_pri(self->e.fd, self->e.dev_id, (struct pri_exp){
		.groups = 1, .pages = 2, .outstanding = 2 });
	job_waiting(a);

	map_pages(&self->e, 0, 2, S1_RWU);
	respond(self->qfd, cookie, R_SUCCESS);
	check_job_ok(a);
	/* Credit: B's group goes now. */
	cookie = group_expect(self->qfd, PAGE(4), 1);
	job_waiting(b);
	check_pri(self->e.fd, self->e.dev_id, (struct pri_exp){
		.groups = 2, .pages = 3, .success = 1, .outstanding = 1 });
	map_pages(&self->e, 4, 1, S1_RWU);
	respond(self->qfd, cookie, R_SUCCESS);
	check_job_ok(b);
	ASSERT_MEM_EQ(env_data(&self->e, DPAGE(0)), buf_a, sizeof(buf_a));
	ASSERT_MEM_EQ(env_data(&self->e, DPAGE(4)), buf_b, sizeof(buf_b));
	ASSERT_GE(2, sampler_stop(&s));
	check_pri(self->e.fd, self->e.dev_id, (struct pri_exp){
		.groups = 2, .pages = 3, .success = 2 });
}

/* A group holds PRI_MAX_OUTSTANDING pages at most; the DMA asks again for the rest. */
TEST_F(pri, group_capped_at_max_outstanding)
{
	static char buf[10 * SZ_4K];
	struct pri_job *j = &self->job[0];
	const int want[] = { 4, 4, 2 };
	int g, first = 0;

	check_option(self->e.fd, NESTIOMMU_OPTION_PRI_MAX_OUTSTANDING, self->e.dev_id, 32);
	do_option_set(self->e.fd, NESTIOMMU_OPTION_PRI_MAX_OUTSTANDING, self->e.dev_id, 4);
	fill_pattern(buf, sizeof(buf), 8);
	job_start(j, &self->e, ACC_W, PAGE(0), sizeof(buf), buf);
	for (g = 0; g < 3; g++) {
		__u64 cookie;

		TH_CONTEXT("group %d", g);
		cookie = group_expect(self->qfd, PAGE(first), want[g]);
		map_pages(&self->e, first, want[g], S1_RWU);
		respond(self->qfd, cookie, R_SUCCESS);
		first += want[g];
	}
	check_job_ok(j);
	ASSERT_MEM_EQ(env_data(&self->e, DPAGE(0)), buf, sizeof(buf));
	check_pri(self->e.fd, self->e.dev_id, (struct pri_exp){
		.groups = 3, .pages = 10, .success = 3 });
}

/* ==== no DMA waits forever ==== */

TEST_F(pri, detach_answers_invalid)
{
	struct pri_job *j = &self->job[0];
	__u64 cookie = pending_group(self, j, 0);

	job_waiting(j);
	do_device_detach(self->e.fd, self->e.dev_id, self->e.attach_flags, self->e.pasid);
	check_job_fault(j, 0, PAGE(0), NESTIOMMU_FAULT_REASON_PTE_FETCH);
	check_pri(self->e.fd, self->e.dev_id, (struct pri_exp){
		.groups = 1, .pages = 1, .auto_invalid = 1 });
	respond_err(EINVAL, self->qfd, cookie, R_SUCCESS);
	check_pri(self->e.fd, self->e.dev_id, (struct pri_exp){
		.groups = 1, .pages = 1, .auto_invalid = 1 });
}

TEST_F(pri, replace_answers_invalid)
{
	struct pri_job *j = &self->job[0];
	__u64 cookie = pending_group(self, j, 0);
	__u32 other = env_alloc_nested(&self->e, self->fault_id);

	job_waiting(j);
	do_device_attach(self->e.fd, self->e.dev_id,
			 self->e.attach_flags | NESTIOMMU_ATTACH_REPLACE, self->e.pasid, other);
	check_job_fault(j, 0, PAGE(0), NESTIOMMU_FAULT_REASON_PTE_FETCH);
	check_pri(self->e.fd, self->e.dev_id, (struct pri_exp){
		.groups = 1, .pages = 1, .auto_invalid = 1 });
	respond_err(EINVAL, self->qfd, cookie, R_SUCCESS);
	/* The new HWPT asks as well. */
	cookie = pending_group(self, j, 1);
	map_pages(&self->e, 1, 1, S1_RWU);
	respond(self->qfd, cookie, R_SUCCESS);
	check_job_ok(j);
	check_pri(self->e.fd, self->e.dev_id, (struct pri_exp){
		.groups = 2, .pages = 2, .success = 1, .auto_invalid = 1 });
}

TEST_F(pri, device_reset_answers_invalid)
{
	struct pri_job *j = &self->job[0];
	__u64 cookie = pending_group(self, j, 0);

	job_waiting(j);
	do_device_reset(self->e.fd, self->e.dev_id);
	check_job_fault(j, 0, PAGE(0), NESTIOMMU_FAULT_REASON_PTE_FETCH);
	check_pri(self->e.fd, self->e.dev_id, (struct pri_exp){
		.groups = 1, .pages = 1, .auto_invalid = 1 });
	respond_err(EINVAL, self->qfd, cookie, R_SUCCESS);
	/* PRI stays on, attachments stay. */
	cookie = pending_group(self, j, 0);
	map_pages(&self->e, 0, 1, S1_RWU);
	respond(self->qfd, cookie, R_SUCCESS);
	check_job_ok(j);
	check_pri(self->e.fd, self->e.dev_id, (struct pri_exp){
		.groups = 2, .pages = 2, .success = 1, .auto_invalid = 1 });
}

/*
 * DESTROY of a device fails with EBUSY while its DMA is in flight (waiting
 * or not), as for any object; it answers the groups a DMA left pending
 * (here: one a signal interrupted).
 */
TEST_F(pri, device_destroy_answers_invalid)
{
	struct sigaction sa = { .sa_handler = on_sigusr1 };	/* no SA_RESTART */
	struct pri_job *j = &self->job[0];
	__u64 cookie = pending_group(self, j, 0);

	job_waiting(j);
	do_destroy_err(EBUSY, self->e.fd, self->e.dev_id);
	job_waiting(j);
	check_pri(self->e.fd, self->e.dev_id, (struct pri_exp){
		.groups = 1, .pages = 1, .outstanding = 1 });
	ASSERT_EQ(0, sigaction(SIGUSR1, &sa, NULL));
	ASSERT_EQ(0, pthread_kill(j->th, SIGUSR1));
	job_done(j);
	ASSERT_ERR(EINTR, j->rc);
	check_pri(self->e.fd, self->e.dev_id, (struct pri_exp){
		.groups = 1, .pages = 1, .outstanding = 1 });
	do_destroy(self->e.fd, self->e.dev_id);
	do_hw_info_err(ENOENT, self->e.fd, self->e.dev_id);
	/* Answered by the destroy. */
	respond_err(EINVAL, self->qfd, cookie, R_SUCCESS);
}

TEST_F(pri, fault_fd_close_answers_invalid)
{
	struct pri_job *j = &self->job[0];
	static char buf[8];

	pending_group(self, j, 0);
	job_waiting(j);
	ASSERT_EQ(0, close(self->qfd));
	self->qfd = -1;
	check_job_fault(j, 0, PAGE(0), NESTIOMMU_FAULT_REASON_PTE_FETCH);
	check_pri(self->e.fd, self->e.dev_id, (struct pri_exp){
		.groups = 1, .pages = 1, .auto_invalid = 1 });
	/* Nobody can answer any more: a new group is answered at once. */
	job_start(j, &self->e, ACC_R, PAGE(1), sizeof(buf), buf);
	check_job_fault(j, 0, PAGE(1), NESTIOMMU_FAULT_REASON_PTE_FETCH);
	check_pri(self->e.fd, self->e.dev_id, (struct pri_exp){
		.groups = 2, .pages = 2, .auto_invalid = 2 });
}

/* Closing the context answers the groups an interrupted DMA left pending. */
TEST_F(pri, context_close_answers_pending_groups)
{
	struct sigaction sa = { .sa_handler = on_sigusr1 };	/* no SA_RESTART */
	struct pri_job *j = &self->job[0];
	__u64 cookie;

	ASSERT_EQ(0, sigaction(SIGUSR1, &sa, NULL));
	cookie = pending_group(self, j, 0);
	ASSERT_EQ(0, pthread_kill(j->th, SIGUSR1));
	job_done(j);
	ASSERT_ERR(EINTR, j->rc);
	ASSERT_EQ(0, close(self->e.fd));
	self->e.fd = do_open();		/* for teardown */
	respond_err(EINVAL, self->qfd, cookie, R_SUCCESS);
}

/*
 * OPTION_PRI_TIMEOUT_MS times out every group, also one whose DMA a signal
 * interrupted: its credit comes back, so the next DMA is not stuck behind
 * a group nobody waits for.
 */
TEST_F(pri, timeout_answers_interrupted_dma_group)
{
	struct sigaction sa = { .sa_handler = on_sigusr1 };	/* no SA_RESTART */
	struct pri_job *a = &self->job[0], *b = &self->job[1];
	struct nestiommu_xlate_stats st;
	__u64 cookie;

	ASSERT_EQ(0, sigaction(SIGUSR1, &sa, NULL));
	do_option_set(self->e.fd, NESTIOMMU_OPTION_PRI_TIMEOUT_MS, self->e.dev_id, 200);
	do_option_set(self->e.fd, NESTIOMMU_OPTION_PRI_MAX_OUTSTANDING, self->e.dev_id, 1);
	cookie = pending_group(self, a, 0);
	ASSERT_EQ(0, pthread_kill(a->th, SIGUSR1));
	job_done(a);
	ASSERT_ERR(EINTR, a->rc);
	usleep(600 * 1000);
	st = dev_stats(self->e.fd, self->e.dev_id);
	ASSERT_EQ(1, st.pri_timeouts);
	check_pri(self->e.fd, self->e.dev_id, (struct pri_exp){
		.groups = 1, .pages = 1, .auto_invalid = 1, .timeouts = 1 });
	respond_err(EINVAL, self->qfd, cookie, R_SUCCESS);
	/* The credit is back: the next DMA asks at once. */
	cookie = pending_group(self, b, 1);
	respond(self->qfd, cookie, R_INVALID);
	check_job_fault(b, 0, PAGE(1), NESTIOMMU_FAULT_REASON_PTE_FETCH);
	check_pri(self->e.fd, self->e.dev_id, (struct pri_exp){
		.groups = 2, .pages = 2, .invalid = 1, .auto_invalid = 1, .timeouts = 1 });
}

/*
 * A DMA waiting for credit on a PASID whose HWPT then leaves (detach or
 * replace) must not ask for pages through that HWPT afterwards, nor wait
 * for such an answer: it stops with its fault.
 */
static void credit_waiter_loses_hwpt(FIXTURE_DATA(pri) *self, bool replace)
{
	struct pri_job *a = &self->job[0], *b = &self->job[1];
	struct nestiommu_fault_record r = { .type = 0 };
	static char buf[8];
	__u32 hwpt2, hwpt3;
	__u64 cookie;

	hwpt2 = env_alloc_nested(&self->e, self->fault_id);
	hwpt3 = env_alloc_nested(&self->e, self->fault_id);
	do_device_attach(self->e.fd, self->e.dev_id, NESTIOMMU_ATTACH_PASID, OTHER_PASID, hwpt2);
	do_option_set(self->e.fd, NESTIOMMU_OPTION_PRI_MAX_OUTSTANDING, self->e.dev_id, 1);
	cookie = pending_group(self, a, 0);
	job_start_on(b, self->e.fd, self->e.dev_id, NESTIOMMU_DMA_PASID, OTHER_PASID, ACC_W,
		     PAGE(1), sizeof(buf), buf);
	job_waiting(b);
	ASSERT_FALSE(queue_readable(self->qfd, 0));
	if (replace)
		do_device_attach(self->e.fd, self->e.dev_id,
				 NESTIOMMU_ATTACH_PASID | NESTIOMMU_ATTACH_REPLACE, OTHER_PASID,
				 hwpt3);
	else
		do_device_detach(self->e.fd, self->e.dev_id, NESTIOMMU_ATTACH_PASID, OTHER_PASID);
	respond(self->qfd, cookie, R_INVALID);
	check_job_fault(a, 0, PAGE(0), NESTIOMMU_FAULT_REASON_PTE_FETCH);
	if (queue_readable(self->qfd, PRI_QUIET_MS)) {
		rec_read(self->qfd, &r);
		TH_LOG("after the %s: a record of type %u for PASID %u, HWPT %u (%s), addr 0x%llx",
		       replace ? "replace" : "detach", r.type, r.pasid, r.hwpt_id,
		       r.hwpt_id == hwpt2 ? "the HWPT that left" : "?",
		       (unsigned long long)r.addr);
	}
	ASSERT_NE(NESTIOMMU_RECORD_PAGE_REQUEST, r.type);
	check_job_fault(b, 0, PAGE(1), ANY);
}

TEST_F(pri, detach_stops_dma_waiting_for_credit)
{
	credit_waiter_loses_hwpt(self, false);
}

TEST_F(pri, replace_stops_dma_waiting_for_credit)
{
	credit_waiter_loses_hwpt(self, true);
}

TEST_F(pri, timeout_answers_invalid)
{
	struct nestiommu_fault_record r;
	struct nestiommu_xlate_stats st;
	struct pri_job *j = &self->job[0];
	static char buf[8];
	__u64 cookie, waited;

	check_option(self->e.fd, NESTIOMMU_OPTION_PRI_TIMEOUT_MS, self->e.dev_id, 0);
	do_option_set(self->e.fd, NESTIOMMU_OPTION_PRI_TIMEOUT_MS, self->e.dev_id, 300);
	check_option(self->e.fd, NESTIOMMU_OPTION_PRI_TIMEOUT_MS, self->e.dev_id, 300);
	job_start(j, &self->e, ACC_W, PAGE(0), sizeof(buf), buf);
	rec_read(self->qfd, &r);
	check_job_fault(j, 0, PAGE(0), NESTIOMMU_FAULT_REASON_PTE_FETCH);
	waited = now_ns() - r.timestamp_ns;
	ASSERT_LE(300 * 1000000ULL, waited);
	check_pri(self->e.fd, self->e.dev_id, (struct pri_exp){
		.groups = 1, .pages = 1, .auto_invalid = 1, .timeouts = 1 });
	st = dev_stats(self->e.fd, self->e.dev_id);
	ASSERT_EQ(1, st.pri_timeouts);
	respond_err(EINVAL, self->qfd, r.cookie, R_SUCCESS);
	drain_no_page_requests(self->qfd, NULL);

	/* A group answered in time does not time out. */
	cookie = pending_group(self, j, 1);
	map_pages(&self->e, 1, 1, S1_RWU);
	respond(self->qfd, cookie, R_SUCCESS);
	check_job_ok(j);
	usleep(400 * 1000);
	st = dev_stats(self->e.fd, self->e.dev_id);
	ASSERT_EQ(1, st.pri_timeouts);
	check_pri(self->e.fd, self->e.dev_id, (struct pri_exp){
		.groups = 2, .pages = 2, .success = 1, .auto_invalid = 1, .timeouts = 1 });
}

/* A signal ends the waiting DMA with EINTR; its group stays answerable. */
TEST_F(pri, signal_eintr_group_stays_pending)
{
	struct sigaction sa = { .sa_handler = on_sigusr1 };	/* no SA_RESTART */
	struct pri_job *j = &self->job[0];
	__u64 cookie;

	ASSERT_EQ(0, sigaction(SIGUSR1, &sa, NULL));
	cookie = pending_group(self, j, 0);
	job_waiting(j);
	ASSERT_EQ(0, pthread_kill(j->th, SIGUSR1));
	job_done(j);
	ASSERT_ERR(EINTR, j->rc);
	ASSERT_EQ(0, j->dma.out_bytes_done);
	check_pri(self->e.fd, self->e.dev_id, (struct pri_exp){
		.groups = 1, .pages = 1, .outstanding = 1 });
	respond(self->qfd, cookie, R_SUCCESS);
	check_pri(self->e.fd, self->e.dev_id, (struct pri_exp){
		.groups = 1, .pages = 1, .success = 1 });
	respond_err(EINVAL, self->qfd, cookie, R_SUCCESS);
}

/* A process killed while its DMA waits: the group stays answerable. */
TEST_F(pri, sigkill_waiting_process_group_stays_pending)
{
	static char buf[64];
	struct nestiommu_dma dma;
	int status;
	__u64 cookie;
	pid_t pid;

	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		_do_dma(self->e.fd, self->e.dev_id, self->e.dma_flags, self->e.pasid, ACC_W,
			PAGE(0), sizeof(buf), buf, &dma);
		_exit(0);
	}
	cookie = group_expect(self->qfd, PAGE(0), 1);
	usleep(PRI_QUIET_MS * 1000);
	ASSERT_EQ(0, waitpid(pid, &status, WNOHANG));	/* still waiting */
	ASSERT_EQ(0, kill(pid, SIGKILL));
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFSIGNALED(status));
	ASSERT_EQ(SIGKILL, WTERMSIG(status));
	check_pri(self->e.fd, self->e.dev_id, (struct pri_exp){
		.groups = 1, .pages = 1, .outstanding = 1 });
	respond(self->qfd, cookie, R_INVALID);
	check_pri(self->e.fd, self->e.dev_id, (struct pri_exp){
		.groups = 1, .pages = 1, .invalid = 1 });
}

/* ==== write(): cookies ==== */

TEST_F(pri, unknown_and_duplicate_cookies_einval)
{
	struct pri_job *j = &self->job[0];
	__u64 cookie = pending_group(self, j, 0);
	const __u64 bad[] = { cookie + 1, cookie - 1, 0, ~0ULL, cookie ^ (1ULL << 63),
			      cookie + 0x100000000ULL };
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (bad[i] == cookie)
			continue;
		TH_CONTEXT("cookie 0x%llx (pending: 0x%llx)", (unsigned long long)bad[i],
			   (unsigned long long)cookie);
		respond_err(EINVAL, self->qfd, bad[i], R_SUCCESS);
		respond_err(EINVAL, self->qfd, bad[i], R_INVALID);
	}
	/* Nothing changed. */
	job_waiting(j);
	check_pri(self->e.fd, self->e.dev_id, (struct pri_exp){
		.groups = 1, .pages = 1, .outstanding = 1 });
	map_pages(&self->e, 0, 1, S1_RWU);
	respond(self->qfd, cookie, R_SUCCESS);
	check_job_ok(j);
	/* Answered: a duplicate is unknown too. */
	respond_err(EINVAL, self->qfd, cookie, R_SUCCESS);
	respond_err(EINVAL, self->qfd, cookie, R_FAILURE);
	check_pri(self->e.fd, self->e.dev_id, (struct pri_exp){
		.groups = 1, .pages = 1, .success = 1 });
	/* A FAILURE that was refused did not turn PRI off. */
	cookie = pending_group(self, j, 1);
	respond(self->qfd, cookie, R_INVALID);
	check_job_fault(j, 0, PAGE(1), NESTIOMMU_FAULT_REASON_PTE_FETCH);
}

/* A cookie of another queue's group is unknown here. */
TEST_F(pri, other_queue_cookie_einval)
{
	struct pri_job *a = &self->job[0], *b = &self->job[1];
	static char buf[8];
	__u32 fault_id2, hwpt2;
	__u64 ca, cb;
	int qfd2;

	ASSERT_OK(nest_fault_queue_alloc(self->e.fd, 0, &fault_id2, &qfd2));
	hwpt2 = env_alloc_nested(&self->e, fault_id2);
	do_device_attach(self->e.fd, self->e.dev_id, NESTIOMMU_ATTACH_PASID, OTHER_PASID, hwpt2);
	/* One group answered on this queue first, so the cookies differ if per queue. */
	respond(self->qfd, pending_group(self, a, 2), R_INVALID);
	check_job_fault(a, 0, PAGE(2), NESTIOMMU_FAULT_REASON_PTE_FETCH);
	ca = pending_group(self, a, 0);
	job_start_on(b, self->e.fd, self->e.dev_id, NESTIOMMU_DMA_PASID, OTHER_PASID, ACC_W,
		     PAGE(1), sizeof(buf), buf);
	cb = group_expect(qfd2, PAGE(1), 1);
	ASSERT_FALSE(queue_readable(self->qfd, 0));
	if (ca == cb)
		TH_LOG("the queues gave both groups cookie 0x%llx: skipping the cross checks",
		       (unsigned long long)ca);
	else {
		respond_err(EINVAL, self->qfd, cb, R_SUCCESS);
		respond_err(EINVAL, qfd2, ca, R_SUCCESS);
	}
	job_waiting(a);
	job_waiting(b);
	check_pri(self->e.fd, self->e.dev_id, (struct pri_exp){
		.groups = 3, .pages = 3, .invalid = 1, .outstanding = 2 });
	respond(qfd2, cb, R_INVALID);
	check_job_fault(b, 0, PAGE(1), NESTIOMMU_FAULT_REASON_PTE_FETCH);
	job_waiting(a);
	respond(self->qfd, ca, R_INVALID);
	check_job_fault(a, 0, PAGE(0), NESTIOMMU_FAULT_REASON_PTE_FETCH);
	check_pri(self->e.fd, self->e.dev_id, (struct pri_exp){
		.groups = 3, .pages = 3, .invalid = 3 });
	close(qfd2);
}

/* Responses are handled in order up to the first bad one, whose error ends the call. */
TEST_F(pri, write_handles_responses_in_order)
{
	struct pri_job *a = &self->job[0], *b = &self->job[1], *c = &self->job[2];
	struct nestiommu_page_response r[3];
	__u64 ca, cb, cc, unknown;

	ca = pending_group(self, a, 0);
	cb = pending_group(self, b, 2);
	cc = pending_group(self, c, 4);
	unknown = (ca | cb | cc) + 1;
	while (unknown == ca || unknown == cb || unknown == cc)
		unknown++;
	/* Two good ones, then an unknown cookie: 2 responses handled. */
	r[0] = (struct nestiommu_page_response){ .cookie = ca, .code = R_INVALID };
	r[1] = (struct nestiommu_page_response){ .cookie = cb, .code = R_INVALID };
	r[2] = (struct nestiommu_page_response){ .cookie = unknown, .code = R_INVALID };
	ASSERT_EQ(2 * (long)RESP_SIZE, resp_write(self->qfd, r, sizeof(r)));
	check_job_fault(a, 0, PAGE(0), NESTIOMMU_FAULT_REASON_PTE_FETCH);
	check_job_fault(b, 0, PAGE(2), NESTIOMMU_FAULT_REASON_PTE_FETCH);
	/* A bad first one: its error, and the good one after it is not handled. */
	r[0] = (struct nestiommu_page_response){ .cookie = unknown, .code = R_INVALID };
	r[1] = (struct nestiommu_page_response){ .cookie = cc, .code = R_INVALID };
	ASSERT_ERR(EINVAL, resp_write(self->qfd, r, 2 * RESP_SIZE));
	r[0] = (struct nestiommu_page_response){ .cookie = cc, .code = 7 };
	ASSERT_ERR(EOPNOTSUPP, resp_write(self->qfd, r, 2 * RESP_SIZE));
	/* A duplicate inside one write: the second is refused. */
	r[0] = (struct nestiommu_page_response){ .cookie = cc, .code = R_INVALID };
	job_waiting(c);
	check_pri(self->e.fd, self->e.dev_id, (struct pri_exp){
		.groups = 3, .pages = 3, .invalid = 2, .outstanding = 1 });
	ASSERT_EQ((long)RESP_SIZE, resp_write(self->qfd, r, 2 * RESP_SIZE));
	check_job_fault(c, 0, PAGE(4), NESTIOMMU_FAULT_REASON_PTE_FETCH);
	check_pri(self->e.fd, self->e.dev_id, (struct pri_exp){
		.groups = 3, .pages = 3, .invalid = 3 });
}

/* ==== write(): malformed responses ==== */

TEST_F(pri, malformed_writes_rejected)
{
	const size_t bad_len[] = { 1, 8, RESP_SIZE - 1, RESP_SIZE + 1, RESP_SIZE + 8,
				   2 * RESP_SIZE - 1, 2 * RESP_SIZE + 8, 4 * RESP_SIZE + 4 };
	const __u32 bad_code[] = { 2, 3, 0xe, 0x10, 0x80000000, ~0U };
	const __u32 bad_rsv[] = { 1, 0x80, 0x80000000, ~0U };
	struct pri_job *j = &self->job[0];
	struct nestiommu_page_response r[5];
	char *hole = alloc_buffer_4k(SZ_64K, SZ_4K);
	__u64 cookie = pending_group(self, j, 0);
	size_t i;

	ASSERT_EQ(0, munmap(hole, SZ_64K));
	/* Every buffer starts with a valid SUCCESS for the pending group. */
	for (i = 0; i < 5; i++)
		r[i] = (struct nestiommu_page_response){ .cookie = cookie, .code = R_SUCCESS };
	for (i = 0; i < sizeof(bad_len) / sizeof(bad_len[0]); i++) {
		TH_CONTEXT("write of %zu bytes", bad_len[i]);
		ASSERT_ERR(EINVAL, resp_write(self->qfd, r, bad_len[i]));
	}
	for (i = 0; i < sizeof(bad_code) / sizeof(bad_code[0]); i++) {
		TH_CONTEXT("code 0x%x", bad_code[i]);
		r[0].code = bad_code[i];
		ASSERT_ERR(EOPNOTSUPP, resp_write(self->qfd, r, RESP_SIZE));
	}
	r[0].code = R_SUCCESS;
	for (i = 0; i < sizeof(bad_rsv) / sizeof(bad_rsv[0]); i++) {
		TH_CONTEXT("__reserved 0x%x", bad_rsv[i]);
		r[0].__reserved = bad_rsv[i];
		ASSERT_ERR(EOPNOTSUPP, resp_write(self->qfd, r, RESP_SIZE));
	}
	r[0].__reserved = 0;
	TH_CONTEXT("%s", "unmapped buffer");
	ASSERT_ERR(EFAULT, resp_write(self->qfd, hole, RESP_SIZE));
	/* None of them changed anything. */
	job_waiting(j);
	check_pri(self->e.fd, self->e.dev_id, (struct pri_exp){
		.groups = 1, .pages = 1, .outstanding = 1 });
	/* The read side is unaffected. */
	ASSERT_FALSE(queue_readable(self->qfd, 0));
	map_pages(&self->e, 0, 1, S1_RWU);
	ASSERT_EQ((long)RESP_SIZE, resp_write(self->qfd, r, RESP_SIZE));
	check_job_ok(j);
	check_pri(self->e.fd, self->e.dev_id, (struct pri_exp){
		.groups = 1, .pages = 1, .success = 1 });
}

/* ==== a queue too small for the group ==== */

TEST_F(pri, queue_too_small_answers_invalid_at_once)
{
	static char buf[4 * SZ_4K];
	struct nestiommu_fault_queue_stats qs;
	struct nestiommu_fault_record r;
	struct pri_job *j = &self->job[0];
	__u32 fault2, hwpt2;
	__u64 cookie;
	int qfd2;

	ASSERT_OK(nest_fault_queue_alloc(self->e.fd, 2, &fault2, &qfd2));
	hwpt2 = env_alloc_nested(&self->e, fault2);
	do_device_attach(self->e.fd, self->e.dev_id,
			 self->e.attach_flags | NESTIOMMU_ATTACH_REPLACE, self->e.pasid, hwpt2);
	/* 4 pages cannot go into 2 slots: INVALID at once, nothing waits. */
	job_start(j, &self->e, ACC_W, PAGE(0), sizeof(buf), buf);
	check_job_fault(j, 0, PAGE(0), NESTIOMMU_FAULT_REASON_PTE_FETCH);
	check_pri(self->e.fd, self->e.dev_id, (struct pri_exp){
		.groups = 1, .pages = 4, .auto_invalid = 1 });
	/* Its records were dropped, all of them, and counted. */
	qs = queue_stats(self->e.fd, fault2);
	ASSERT_EQ(4, qs.dropped);
	ASSERT_EQ(0, qs.queued);
	ASSERT_FALSE(queue_readable(qfd2, 0));
	/* Nothing is pending there. */
	respond_err(EINVAL, qfd2, 0, R_SUCCESS);
	respond_err(EINVAL, qfd2, 1, R_SUCCESS);

	/* 2 pages fit; the first record reports the drops. */
	job_start(j, &self->e, ACC_W, PAGE(2), 2 * SZ_4K, buf);
	rec_read(qfd2, &r);
	ASSERT_EQ(NESTIOMMU_RECORD_PAGE_REQUEST, r.type);
	ASSERT_EQ(NESTIOMMU_RECORD_F_OVERFLOW, r.flags & NESTIOMMU_RECORD_F_OVERFLOW);
	ASSERT_EQ(4, r.dropped);
	ASSERT_EQ(PAGE(2), r.addr);
	ASSERT_EQ(0, r.flags & LAST);
	cookie = r.cookie;
	rec_read(qfd2, &r);
	ASSERT_EQ(cookie, r.cookie);
	ASSERT_EQ(PAGE(3), r.addr);
	ASSERT_EQ(LAST, r.flags & LAST);
	map_pages(&self->e, 2, 2, S1_RWU);
	respond(qfd2, cookie, R_SUCCESS);
	check_job_ok(j);

	/* One slot taken by an unread fault record: a 2-page group does not fit. */
	env_map(&self->e, PAGE(8), GPA_HOLE_L1, SZ_4K, S1_RWU);
	job_start(j, &self->e, ACC_W, PAGE(8), 8, buf);
	job_done(j);
	ASSERT_EQ(2, j->dma.out_fault.stage);
	job_start(j, &self->e, ACC_W, PAGE(4), 2 * SZ_4K, buf);
	check_job_fault(j, 0, PAGE(4), NESTIOMMU_FAULT_REASON_PTE_FETCH);
	check_pri(self->e.fd, self->e.dev_id, (struct pri_exp){
		.groups = 3, .pages = 8, .success = 1, .auto_invalid = 2 });
	ASSERT_EQ(6, queue_stats(self->e.fd, fault2).dropped);
	rec_read(qfd2, &r);
	ASSERT_EQ(NESTIOMMU_RECORD_FAULT, r.type);
	ASSERT_EQ(PAGE(8), r.fault.addr);
	close(qfd2);
}

/* ==== options and DEVICE_RESET arguments ==== */

TEST_F(pri, pri_options)
{
	const __u64 bad_max[] = { 0, 513, 1024, 1ULL << 32, ~0ULL };
	const __u64 bad_timeout[] = { 3600001, 1ULL << 32, ~0ULL };
	__u32 plain_dev;
	size_t i;

	check_option(self->e.fd, NESTIOMMU_OPTION_PRI_MAX_OUTSTANDING, self->e.dev_id, 32);
	check_option(self->e.fd, NESTIOMMU_OPTION_PRI_TIMEOUT_MS, self->e.dev_id, 0);
	do_option_set(self->e.fd, NESTIOMMU_OPTION_PRI_MAX_OUTSTANDING, self->e.dev_id, 1);
	check_option(self->e.fd, NESTIOMMU_OPTION_PRI_MAX_OUTSTANDING, self->e.dev_id, 1);
	do_option_set(self->e.fd, NESTIOMMU_OPTION_PRI_MAX_OUTSTANDING, self->e.dev_id, 512);
	check_option(self->e.fd, NESTIOMMU_OPTION_PRI_MAX_OUTSTANDING, self->e.dev_id, 512);
	do_option_set(self->e.fd, NESTIOMMU_OPTION_PRI_TIMEOUT_MS, self->e.dev_id, 3600000);
	check_option(self->e.fd, NESTIOMMU_OPTION_PRI_TIMEOUT_MS, self->e.dev_id, 3600000);
	do_option_set(self->e.fd, NESTIOMMU_OPTION_PRI_TIMEOUT_MS, self->e.dev_id, 0);
	for (i = 0; i < sizeof(bad_max) / sizeof(bad_max[0]); i++) {
		TH_CONTEXT("max outstanding %llu", (unsigned long long)bad_max[i]);
		do_option_set_err(EINVAL, self->e.fd, NESTIOMMU_OPTION_PRI_MAX_OUTSTANDING,
				  self->e.dev_id, bad_max[i]);
	}
	for (i = 0; i < sizeof(bad_timeout) / sizeof(bad_timeout[0]); i++) {
		TH_CONTEXT("timeout %llu", (unsigned long long)bad_timeout[i]);
		do_option_set_err(EINVAL, self->e.fd, NESTIOMMU_OPTION_PRI_TIMEOUT_MS,
				  self->e.dev_id, bad_timeout[i]);
	}
	check_option(self->e.fd, NESTIOMMU_OPTION_PRI_MAX_OUTSTANDING, self->e.dev_id, 512);
	check_option(self->e.fd, NESTIOMMU_OPTION_PRI_TIMEOUT_MS, self->e.dev_id, 0);
	/* Options of devices (ENOENT otherwise) with PRI (EINVAL otherwise, as DEVTLB_ENTRIES). */
	TH_CONTEXT("%s", "wrong objects");
	do_device_create(self->e.fd, 0, ENV_RID + 1, 0, &plain_dev);
	do_option_get_err(ENOENT, self->e.fd, NESTIOMMU_OPTION_PRI_MAX_OUTSTANDING, 0);
	do_option_get_err(ENOENT, self->e.fd, NESTIOMMU_OPTION_PRI_MAX_OUTSTANDING,
			  self->e.ioas_id);
	do_option_set_err(ENOENT, self->e.fd, NESTIOMMU_OPTION_PRI_TIMEOUT_MS, self->hwpt_id, 1);
	do_option_set_err(ENOENT, self->e.fd, NESTIOMMU_OPTION_PRI_TIMEOUT_MS, self->fault_id, 1);
	do_option_get_err(EINVAL, self->e.fd, NESTIOMMU_OPTION_PRI_MAX_OUTSTANDING, plain_dev);
	do_option_set_err(EINVAL, self->e.fd, NESTIOMMU_OPTION_PRI_TIMEOUT_MS, plain_dev, 1);
}

TEST_F(pri, device_reset_args)
{
	__u32 plain_dev;

	do_device_reset_err(ENOENT, self->e.fd, self->e.dev_id + 1000);
	do_device_reset_err(ENOENT, self->e.fd, self->e.ioas_id);
	do_device_reset_err(ENOENT, self->e.fd, self->fault_id);
	do_device_reset_err(ENOENT, self->e.fd, 0);
	/* Any device may be reset; nothing outstanding, nothing answered. */
	do_device_create(self->e.fd, NESTIOMMU_DEVICE_ATS, ENV_RID + 1, 0, &plain_dev);
	do_device_reset(self->e.fd, plain_dev);
	do_device_reset(self->e.fd, self->e.dev_id);
	check_pri(self->e.fd, self->e.dev_id, (struct pri_exp){ 0 });
}

/* ==== non-blocking DMA: EAGAIN with the pending group, then RESUME ==== */

#define NB		NESTIOMMU_DMA_NONBLOCK
#define RESUME		NESTIOMMU_DMA_RESUME
#define OUT_PR		NESTIOMMU_OUT_PAGE_REQUEST

/*
 * A DMA of the env's device with @flags added (NONBLOCK, RESUME) and
 * @cookie in pr_cookie. Return: the ioctl's rc (0 or -errno).
 */
static int nb_dma(struct nest_env *e, __u32 flags, __u64 cookie, __u32 access, __u64 iova,
		  __u64 len, void *buf, struct nestiommu_dma *dma)
{
	*dma = (struct nestiommu_dma){
		.flags = e->dma_flags | flags,
		.dev_id = e->dev_id,
		.pasid = e->pasid,
		.access = access,
		.iova = iova,
		.length = len,
		.user_va = NEST_PTR(buf),
		.pr_cookie = cookie,
	};
	return nest_dma(e->fd, dma);
}

/* A NONBLOCK DMA left a group after @done bytes; return its cookie. */
#define nb_parked(dma, _done) ({					\
	ASSERT_EQ(OUT_PR, (dma)->out_flags);				\
	ASSERT_EQ((__u64)(_done), (dma)->out_bytes_done);		\
	ASSERT_NE(0, (dma)->pr_cookie);					\
	(dma)->pr_cookie;						\
})

/* The DMA moved all its bytes. */
#define nb_check_ok(dma) do {						\
	if ((dma)->out_flags & NESTIOMMU_OUT_FAULT)			\
		log_fault("unexpected DMA fault", &(dma)->out_fault);	\
	ASSERT_EQ(0, (dma)->out_flags);					\
	ASSERT_EQ((dma)->length, (dma)->out_bytes_done);		\
	ASSERT_EQ(0, (dma)->pr_cookie);					\
} while (0)

static __u64 parked_now(struct nest_env *e)
{
	return dev_stats(e->fd, e->dev_id).pri_parked;
}

/* The whole loop on one thread: EAGAIN with the group, answer, RESUME. */
TEST_F(pri, nonblock_eagain_then_resume_success)
{
	static char buf[3 * SZ_4K];
	struct nestiommu_dma dma;
	__u64 cookie;

	fill_pattern(buf, sizeof(buf), 7);
	map_pages(&self->e, 0, 1, S1_RWU);
	ASSERT_ERR(EAGAIN, nb_dma(&self->e, NB, 0, ACC_W, PAGE(0), sizeof(buf), buf, &dma));
	cookie = nb_parked(&dma, SZ_4K);
	/* The group: the two pages the DMA still needs, named by that cookie. */
	ASSERT_EQ(cookie, group_expect(self->qfd, PAGE(1), 2));
	check_pri(self->e.fd, self->e.dev_id, (struct pri_exp){
		.groups = 1, .pages = 2, .outstanding = 2 });
	ASSERT_EQ(1, parked_now(&self->e));
	map_pages(&self->e, 1, 2, S1_RWU);
	respond(self->qfd, cookie, R_SUCCESS);
	/* Answered but not resumed: still parked, nothing outstanding. */
	check_pri(self->e.fd, self->e.dev_id, (struct pri_exp){
		.groups = 1, .pages = 2, .success = 1 });
	ASSERT_EQ(1, parked_now(&self->e));

	ASSERT_OK(nb_dma(&self->e, NB | RESUME, cookie, ACC_W, PAGE(1), 2 * SZ_4K,
			 buf + SZ_4K, &dma));
	nb_check_ok(&dma);
	ASSERT_EQ(0, parked_now(&self->e));
	ASSERT_MEM_EQ(env_data(&self->e, DPAGE(0)), buf, sizeof(buf));
	/* Taken: a second RESUME does not find it. */
	ASSERT_ERR(EINVAL, nb_dma(&self->e, NB | RESUME, cookie, ACC_W, PAGE(1), SZ_4K, buf,
				  &dma));
	ASSERT_FALSE(queue_readable(self->qfd, 0));
}

/* A RESUME before the answer: EAGAIN with the same cookie, still parked. */
TEST_F(pri, nonblock_resume_before_answer_eagain)
{
	static char buf[64];
	struct nestiommu_dma dma;
	__u64 cookie;

	ASSERT_ERR(EAGAIN, nb_dma(&self->e, NB, 0, ACC_R, PAGE(0), sizeof(buf), buf, &dma));
	cookie = nb_parked(&dma, 0);
	ASSERT_EQ(cookie, group_expect(self->qfd, PAGE(0), 1));
	ASSERT_ERR(EAGAIN, nb_dma(&self->e, NB | RESUME, cookie, ACC_R, PAGE(0), sizeof(buf),
				  buf, &dma));
	ASSERT_EQ(cookie, nb_parked(&dma, 0));
	ASSERT_EQ(1, parked_now(&self->e));
	check_pri(self->e.fd, self->e.dev_id, (struct pri_exp){
		.groups = 1, .pages = 1, .outstanding = 1 });
	map_pages(&self->e, 0, 1, S1_RWU);
	respond(self->qfd, cookie, R_SUCCESS);
	ASSERT_OK(nb_dma(&self->e, NB | RESUME, cookie, ACC_R, PAGE(0), sizeof(buf), buf, &dma));
	nb_check_ok(&dma);
	ASSERT_EQ(0x5a, (unsigned char)buf[0]);
}

/* Without NONBLOCK a RESUME waits for the answer. */
TEST_F(pri, blocking_resume_waits_for_answer)
{
	static char buf[64];
	struct pri_job *j = &self->job[0];
	struct nestiommu_dma dma;
	__u64 cookie;

	fill_pattern(buf, sizeof(buf), 3);
	ASSERT_ERR(EAGAIN, nb_dma(&self->e, NB, 0, ACC_W, PAGE(0), sizeof(buf), buf, &dma));
	cookie = nb_parked(&dma, 0);
	ASSERT_EQ(cookie, group_expect(self->qfd, PAGE(0), 1));
	*j = (struct pri_job){
		.fd = self->e.fd, .dev_id = self->e.dev_id, .pasid = self->e.pasid,
		.flags = self->e.dma_flags | RESUME, .cookie = cookie,
		.access = ACC_W, .iova = PAGE(0), .len = sizeof(buf), .buf = buf,
	};
	job_run(j);
	job_waiting(j);
	/* Taken by the waiting RESUME. */
	ASSERT_EQ(0, parked_now(&self->e));
	map_pages(&self->e, 0, 1, S1_RWU);
	respond(self->qfd, cookie, R_SUCCESS);
	check_job_ok(j);
	ASSERT_MEM_EQ(env_data(&self->e, DPAGE(0)), buf, sizeof(buf));
}

/* A signal ends a waiting RESUME with EINTR and parks its group again. */
TEST_F(pri, blocking_resume_signal_parks_again)
{
	static char buf[64];
	struct pri_job *j = &self->job[0];
	struct sigaction sa = { .sa_handler = on_sigusr1 };
	struct nestiommu_dma dma;
	__u64 cookie;

	ASSERT_OK(sigaction(SIGUSR1, &sa, NULL));
	ASSERT_ERR(EAGAIN, nb_dma(&self->e, NB, 0, ACC_R, PAGE(0), sizeof(buf), buf, &dma));
	cookie = nb_parked(&dma, 0);
	ASSERT_EQ(cookie, group_expect(self->qfd, PAGE(0), 1));
	*j = (struct pri_job){
		.fd = self->e.fd, .dev_id = self->e.dev_id, .pasid = self->e.pasid,
		.flags = self->e.dma_flags | RESUME, .cookie = cookie,
		.access = ACC_R, .iova = PAGE(0), .len = sizeof(buf), .buf = buf,
	};
	job_run(j);
	job_waiting(j);
	ASSERT_EQ(0, pthread_kill(j->th, SIGUSR1));
	job_done(j);
	ASSERT_EQ(-EINTR, j->rc);
	ASSERT_EQ(1, parked_now(&self->e));
	respond(self->qfd, cookie, R_INVALID);
	ASSERT_OK(nb_dma(&self->e, NB | RESUME, cookie, ACC_R, PAGE(0), sizeof(buf), buf, &dma));
	ASSERT_EQ(NESTIOMMU_OUT_FAULT, dma.out_flags);
}

/* INVALID: the RESUME stops with the fault that made the device ask. */
TEST_F(pri, nonblock_resume_after_invalid_faults)
{
	static char buf[2 * SZ_4K];
	struct nestiommu_dma dma;
	__u64 cookie;

	ASSERT_ERR(EAGAIN, nb_dma(&self->e, NB, 0, ACC_W, PAGE(0) + 0x10, sizeof(buf), buf,
				  &dma));
	cookie = nb_parked(&dma, 0);
	ASSERT_EQ(cookie, group_expect(self->qfd, PAGE(0), 3));
	respond(self->qfd, cookie, R_INVALID);
	ASSERT_OK(nb_dma(&self->e, NB | RESUME, cookie, ACC_W, PAGE(0) + 0x10, sizeof(buf), buf,
			 &dma));
	ASSERT_EQ(NESTIOMMU_OUT_FAULT, dma.out_flags);
	ASSERT_EQ(0, dma.out_bytes_done);
	ASSERT_EQ(0, dma.pr_cookie);
	check_fault_exp(&dma.out_fault, (struct fault_exp){
		.addr = PAGE(0) + 0x10, .reason = NESTIOMMU_FAULT_REASON_PTE_FETCH,
		.stage = 1, .level = ANY, .flags = ANY, .fetch_addr = ANY });
	ASSERT_EQ(ACC_W, dma.out_fault.access);
	check_pri(self->e.fd, self->e.dev_id, (struct pri_exp){
		.groups = 1, .pages = 3, .invalid = 1 });
	ASSERT_EQ(0, parked_now(&self->e));
}

/* One thread keeps many groups outstanding, then answers and resumes them all. */
TEST_F(pri, nonblock_many_outstanding_one_thread)
{
	enum { N = 24 };
	static char buf[N][32];
	struct nestiommu_dma dma;
	__u64 cookie[N];
	int i;

	for (i = 0; i < N; i++) {
		fill_pattern(buf[i], sizeof(buf[i]), i);
		ASSERT_ERR(EAGAIN, nb_dma(&self->e, NB, 0, ACC_W, PAGE(i) + 8 * i,
					  sizeof(buf[i]), buf[i], &dma));
		cookie[i] = nb_parked(&dma, 0);
	}
	for (i = 0; i < N; i++)
		ASSERT_EQ(cookie[i], group_expect(self->qfd, PAGE(i), 1));
	check_pri(self->e.fd, self->e.dev_id, (struct pri_exp){
		.groups = N, .pages = N, .outstanding = N });
	ASSERT_EQ(N, parked_now(&self->e));
	map_pages(&self->e, 0, N, S1_RWU);
	/* Answered and resumed in another order than asked. */
	for (i = N - 1; i >= 0; i--)
		respond(self->qfd, cookie[i], R_SUCCESS);
	for (i = 0; i < N; i += 2) {
		ASSERT_OK(nb_dma(&self->e, NB | RESUME, cookie[i], ACC_W, PAGE(i) + 8 * i,
				 sizeof(buf[i]), buf[i], &dma));
		nb_check_ok(&dma);
	}
	for (i = 1; i < N; i += 2) {
		ASSERT_OK(nb_dma(&self->e, NB | RESUME, cookie[i], ACC_W, PAGE(i) + 8 * i,
				 sizeof(buf[i]), buf[i], &dma));
		nb_check_ok(&dma);
	}
	for (i = 0; i < N; i++)
		ASSERT_MEM_EQ(env_data(&self->e, DPAGE(i) + 8 * i), buf[i], sizeof(buf[i]));
	check_pri(self->e.fd, self->e.dev_id, (struct pri_exp){
		.groups = N, .pages = N, .success = N });
	ASSERT_EQ(0, parked_now(&self->e));
}

/* No credit: EAGAIN without a group; the same DMA later gets one. */
TEST_F(pri, nonblock_no_credit_eagain_without_group)
{
	static char buf[16];
	struct nestiommu_dma dma;
	__u64 c0, c1;

	do_option_set(self->e.fd, NESTIOMMU_OPTION_PRI_MAX_OUTSTANDING, self->e.dev_id, 2);
	ASSERT_ERR(EAGAIN, nb_dma(&self->e, NB, 0, ACC_R, PAGE(0), sizeof(buf), buf, &dma));
	c0 = nb_parked(&dma, 0);
	ASSERT_ERR(EAGAIN, nb_dma(&self->e, NB, 0, ACC_R, PAGE(1), sizeof(buf), buf, &dma));
	c1 = nb_parked(&dma, 0);
	ASSERT_ERR(EAGAIN, nb_dma(&self->e, NB, 0, ACC_R, PAGE(2), sizeof(buf), buf, &dma));
	ASSERT_EQ(0, dma.out_flags);
	ASSERT_EQ(0, dma.pr_cookie);
	ASSERT_EQ(0, dma.out_bytes_done);
	check_pri(self->e.fd, self->e.dev_id, (struct pri_exp){
		.groups = 2, .pages = 2, .outstanding = 2 });
	ASSERT_EQ(2, parked_now(&self->e));
	ASSERT_EQ(c0, group_expect(self->qfd, PAGE(0), 1));
	ASSERT_EQ(c1, group_expect(self->qfd, PAGE(1), 1));
	ASSERT_FALSE(queue_readable(self->qfd, 0));
	respond(self->qfd, c0, R_INVALID);
	ASSERT_ERR(EAGAIN, nb_dma(&self->e, NB, 0, ACC_R, PAGE(2), sizeof(buf), buf, &dma));
	ASSERT_EQ(dma.pr_cookie, group_expect(self->qfd, PAGE(2), 1));
	check_pri(self->e.fd, self->e.dev_id, (struct pri_exp){
		.groups = 3, .pages = 3, .invalid = 1, .outstanding = 2 });
}

/* A RESUME names its group by cookie, PASID and page; nothing else matches. */
TEST_F(pri, nonblock_resume_mismatch_einval)
{
	static char buf[16];
	struct nestiommu_dma dma;
	__u64 cookie;

	ASSERT_ERR(EAGAIN, nb_dma(&self->e, NB, 0, ACC_R, PAGE(1) + 4, sizeof(buf), buf, &dma));
	cookie = nb_parked(&dma, 0);
	ASSERT_EQ(cookie, group_expect(self->qfd, PAGE(1), 1));
	respond(self->qfd, cookie, R_SUCCESS);
	ASSERT_ERR(EINVAL, nb_dma(&self->e, NB | RESUME, cookie + 1, ACC_R, PAGE(1), 8, buf,
				  &dma));
	ASSERT_ERR(EINVAL, nb_dma(&self->e, NB | RESUME, 0, ACC_R, PAGE(1), 8, buf, &dma));
	ASSERT_ERR(EINVAL, nb_dma(&self->e, NB | RESUME, cookie, ACC_R, PAGE(0), 8, buf, &dma));
	ASSERT_ERR(EINVAL, nb_dma(&self->e, NB | RESUME, cookie, ACC_R, PAGE(2), 8, buf, &dma));
	if (!variant->rid) {
		dma = (struct nestiommu_dma){
			.flags = NESTIOMMU_DMA_PASID | NB | RESUME, .dev_id = self->e.dev_id,
			.pasid = OTHER_PASID, .access = ACC_R, .iova = PAGE(1), .length = 8,
			.user_va = NEST_PTR(buf), .pr_cookie = cookie,
		};
		ASSERT_ERR(EINVAL, nest_dma(self->e.fd, &dma));
	}
	/* None of that took it: the right RESUME still does. */
	ASSERT_EQ(1, parked_now(&self->e));
	map_pages(&self->e, 1, 1, S1_RWU);
	ASSERT_OK(nb_dma(&self->e, NB | RESUME, cookie, ACC_R, PAGE(1) + 4, sizeof(buf), buf,
			 &dma));
	nb_check_ok(&dma);
}

/* NONBLOCK and RESUME answer in pr_cookie: a struct without it is EINVAL. */
TEST_F(pri, nonblock_needs_pr_cookie_field)
{
	static char buf[16];
	struct nestiommu_dma dma;
	__u32 short_size = offsetof(struct nestiommu_dma, pr_cookie);
	__u32 flags[] = { NB, RESUME, NB | RESUME };
	unsigned int i;

	for (i = 0; i < sizeof(flags) / sizeof(flags[0]); i++) {
		TH_CONTEXT("flags 0x%x", flags[i]);
		dma = (struct nestiommu_dma){
			.size = short_size, .flags = self->e.dma_flags | flags[i],
			.dev_id = self->e.dev_id, .pasid = self->e.pasid, .access = ACC_R,
			.iova = PAGE(0), .length = sizeof(buf), .user_va = NEST_PTR(buf),
		};
		ASSERT_ERR(EINVAL, nest_ioctl(self->e.fd, NESTIOMMU_DMA, &dma));
	}
	/* Nothing was sent. */
	check_pri(self->e.fd, self->e.dev_id, (struct pri_exp){ 0 });
	ASSERT_FALSE(queue_readable(self->qfd, 0));
}

/* The retry budget of a page counts across RESUMEs. */
TEST_F(pri, nonblock_retries_count_across_resumes)
{
	static char buf[16];
	struct nestiommu_dma dma;
	__u64 cookie;
	int i;

	ASSERT_ERR(EAGAIN, nb_dma(&self->e, NB, 0, ACC_R, PAGE(0), sizeof(buf), buf, &dma));
	cookie = nb_parked(&dma, 0);
	for (i = 1; i < NESTIOMMU_PRI_RETRIES; i++) {
		ASSERT_EQ(cookie, group_expect(self->qfd, PAGE(0), 1));
		respond(self->qfd, cookie, R_SUCCESS);	/* but the page stays unmapped */
		ASSERT_ERR(EAGAIN, nb_dma(&self->e, NB | RESUME, cookie, ACC_R, PAGE(0),
					  sizeof(buf), buf, &dma));
		ASSERT_NE(cookie, dma.pr_cookie);
		cookie = nb_parked(&dma, 0);
	}
	ASSERT_EQ(cookie, group_expect(self->qfd, PAGE(0), 1));
	respond(self->qfd, cookie, R_SUCCESS);
	ASSERT_OK(nb_dma(&self->e, NB | RESUME, cookie, ACC_R, PAGE(0), sizeof(buf), buf, &dma));
	ASSERT_EQ(NESTIOMMU_OUT_FAULT, dma.out_flags);
	check_pri(self->e.fd, self->e.dev_id, (struct pri_exp){
		.groups = NESTIOMMU_PRI_RETRIES, .pages = NESTIOMMU_PRI_RETRIES,
		.success = NESTIOMMU_PRI_RETRIES });
	ASSERT_EQ(0, parked_now(&self->e));
}

/* DEVICE_RESET answers what is pending and forgets every parked group. */
TEST_F(pri, nonblock_reset_forgets_parked_groups)
{
	static char buf[16];
	struct nestiommu_dma dma;
	__u64 answered, pending;

	ASSERT_ERR(EAGAIN, nb_dma(&self->e, NB, 0, ACC_R, PAGE(0), sizeof(buf), buf, &dma));
	answered = nb_parked(&dma, 0);
	ASSERT_ERR(EAGAIN, nb_dma(&self->e, NB, 0, ACC_R, PAGE(1), sizeof(buf), buf, &dma));
	pending = nb_parked(&dma, 0);
	respond(self->qfd, answered, R_SUCCESS);
	ASSERT_EQ(2, parked_now(&self->e));
	do_device_reset(self->e.fd, self->e.dev_id);
	ASSERT_EQ(0, parked_now(&self->e));
	check_pri(self->e.fd, self->e.dev_id, (struct pri_exp){
		.groups = 2, .pages = 2, .success = 1, .auto_invalid = 1 });
	ASSERT_ERR(EINVAL, nb_dma(&self->e, NB | RESUME, answered, ACC_R, PAGE(0), sizeof(buf),
				  buf, &dma));
	ASSERT_ERR(EINVAL, nb_dma(&self->e, NB | RESUME, pending, ACC_R, PAGE(1), sizeof(buf),
				  buf, &dma));
	respond_err(EINVAL, self->qfd, pending, R_SUCCESS);
}

/* A closed fault fd answers at once; the RESUME reports the fault. */
TEST_F(pri, nonblock_fault_fd_closed_resume_faults)
{
	static char buf[16];
	struct nestiommu_dma dma;
	__u64 cookie;

	close(self->qfd);
	self->qfd = -1;
	ASSERT_ERR(EAGAIN, nb_dma(&self->e, NB, 0, ACC_R, PAGE(0), sizeof(buf), buf, &dma));
	cookie = nb_parked(&dma, 0);
	check_pri(self->e.fd, self->e.dev_id, (struct pri_exp){
		.groups = 1, .pages = 1, .auto_invalid = 1 });
	ASSERT_OK(nb_dma(&self->e, NB | RESUME, cookie, ACC_R, PAGE(0), sizeof(buf), buf, &dma));
	ASSERT_EQ(NESTIOMMU_OUT_FAULT, dma.out_flags);
	ASSERT_EQ(PAGE(0), dma.out_fault.addr);
}

/*
 * At most NESTIOMMU_DMA_MAX_PARKED groups wait for their RESUME: then a
 * NONBLOCK DMA that needs a page fails with EBUSY, sending nothing.
 */
TEST_F(pri, nonblock_parked_limit_ebusy)
{
	static char buf[16];
	struct nestiommu_dma dma;
	__u64 first = 0, cookie;
	int i;

	for (i = 0; i < NESTIOMMU_DMA_MAX_PARKED; i++) {
		ASSERT_ERR(EAGAIN, nb_dma(&self->e, NB, 0, ACC_R, PAGE(i % 64), sizeof(buf), buf,
					  &dma));
		cookie = nb_parked(&dma, 0);
		if (!i)
			first = cookie;
		ASSERT_EQ(cookie, group_expect(self->qfd, PAGE(i % 64), 1));
		respond(self->qfd, cookie, R_INVALID);
	}
	ASSERT_EQ(NESTIOMMU_DMA_MAX_PARKED, parked_now(&self->e));
	ASSERT_ERR(EBUSY, nb_dma(&self->e, NB, 0, ACC_R, PAGE(0), sizeof(buf), buf, &dma));
	ASSERT_FALSE(queue_readable(self->qfd, 0));
	check_pri(self->e.fd, self->e.dev_id, (struct pri_exp){
		.groups = NESTIOMMU_DMA_MAX_PARKED, .pages = NESTIOMMU_DMA_MAX_PARKED,
		.invalid = NESTIOMMU_DMA_MAX_PARKED });
	/* A blocking DMA is not limited by parked groups. */
	map_pages(&self->e, 0, 1, S1_RWU);
	env_dma_ok(&self->e, ACC_R, PAGE(0), sizeof(buf), buf);
	/* One RESUME makes room for one more. */
	ASSERT_OK(nb_dma(&self->e, NB | RESUME, first, ACC_R, PAGE(0), sizeof(buf), buf, &dma));
	ASSERT_EQ(NESTIOMMU_OUT_FAULT, dma.out_flags);
	ASSERT_ERR(EAGAIN, nb_dma(&self->e, NB, 0, ACC_R, PAGE(1), sizeof(buf), buf, &dma));
	nb_parked(&dma, 0);
	ASSERT_ERR(EBUSY, nb_dma(&self->e, NB, 0, ACC_R, PAGE(2), sizeof(buf), buf, &dma));
}

/* ==== the libnestiommu PRI handler ==== */

/* What the mapping handler's callbacks use. */
struct map_ctx {
	struct nest_env *e;
	int fd;
	__u32 hwpt_id;
	__u32 invalid_page;	/* PAGE() index answered INVALID, or ~0 */
	unsigned int delay_ms;	/* before each group's answer */
	atomic_int pages, groups, faults;
	struct nestiommu_fault_record last_fault;
};

/* Map the page (upgrading a read-only one), or refuse the chosen one. */
static __u32 map_ctx_page(void *arg, const struct nestiommu_fault_record *rec)
{
	struct map_ctx *c = arg;
	__u64 i = (rec->addr - ENV_IOVA) / SZ_4K;
	__u64 *ptep;
	int rc;

	atomic_fetch_add(&c->pages, 1);
	if (i == c->invalid_page)
		return R_INVALID;
	rc = nest_s1_map(&c->e->s1, rec->addr, DPAGE(i), SZ_4K, S1_RWU);
	if (rc == -EEXIST) {
		ptep = nest_s1_pte(&c->e->s1, rec->addr, 1);
		if (!ptep)
			return R_FAILURE;
		nest_s1_pte_write(ptep, nest_s1_pte_read(ptep) | NESTIOMMU_S1_PTE_RW);
		inv_page(c->fd, c->hwpt_id, rec->addr);
		return R_SUCCESS;
	}
	return rc ? R_FAILURE : R_SUCCESS;
}

static __u32 map_ctx_group(void *arg, const struct nest_pri_group *g, __u32 code)
{
	struct map_ctx *c = arg;

	atomic_fetch_add(&c->groups, 1);
	if (c->delay_ms)
		usleep(c->delay_ms * 1000);
	(void)g;
	return code;
}

static void map_ctx_fault(void *arg, const struct nestiommu_fault_record *rec)
{
	struct map_ctx *c = arg;

	c->last_fault = *rec;
	atomic_fetch_add(&c->faults, 1);
}

static struct nest_pri_handler *map_handler_start(FIXTURE_DATA(pri) *self, struct map_ctx *c)
{
	struct nest_pri_config cfg = {
		.qfd = self->qfd,
		.ops = { .page = map_ctx_page, .group = map_ctx_group, .fault = map_ctx_fault },
		.ctx = c,
	};
	struct nest_pri_handler *h = NULL;

	c->e = &self->e;
	c->fd = self->e.fd;
	c->hwpt_id = self->hwpt_id;
	ASSERT_OK(nest_pri_start(&cfg, &h));
	return h;
}

/* The handler maps what is asked for; DMAs complete with the right data. */
TEST_F(pri, handler_maps_pages)
{
	static char wbuf[3 * SZ_4K], rbuf[3 * SZ_4K];
	static struct map_ctx c = { .invalid_page = ~0U };
	struct pri_job *j = &self->job[0];
	struct nest_pri_counters cnt;
	struct nest_pri_handler *h;

	h = map_handler_start(self, &c);
	fill_pattern(wbuf, sizeof(wbuf), 9);
	job_start(j, &self->e, ACC_W, PAGE(0) + 0x80, sizeof(wbuf), wbuf);
	check_job_ok(j);
	ASSERT_MEM_EQ(env_data(&self->e, DPAGE(0) + 0x80), wbuf, sizeof(wbuf));
	/* Read back (mapped now), then a read-only page written. */
	env_dma_ok(&self->e, ACC_R, PAGE(0) + 0x80, sizeof(rbuf), rbuf);
	ASSERT_MEM_EQ(rbuf, wbuf, sizeof(wbuf));
	map_pages(&self->e, 6, 1, NESTIOMMU_S1_PTE_US);
	ASSERT_EQ(0x5a, env_read_byte(&self->e, PAGE(6)));
	job_start(j, &self->e, ACC_W, PAGE(6), 64, wbuf);
	check_job_ok(j);
	ASSERT_MEM_EQ(env_data(&self->e, DPAGE(6)), wbuf, 64);
	ASSERT_OK(nest_pri_wait_groups(h, 2, PRI_WAIT_MS));
	nest_pri_stop(h, &cnt);
	ASSERT_EQ(0, cnt.error);
	ASSERT_EQ(5, cnt.records);
	ASSERT_EQ(5, cnt.page_requests);
	ASSERT_EQ(2, cnt.groups);
	ASSERT_EQ(2, cnt.success);
	ASSERT_EQ(0, cnt.invalid + cnt.failure + cnt.rejected + cnt.write_errors + cnt.held);
	ASSERT_EQ(0, cnt.faults + cnt.unknown + cnt.overflows + cnt.incomplete);
	ASSERT_EQ(5, atomic_load(&c.pages));
	check_pri(self->e.fd, self->e.dev_id, (struct pri_exp){
		.groups = 2, .pages = 5, .success = 2 });
}

/* The group gets the worst code of its pages; fault records go to their callback. */
TEST_F(pri, handler_worst_code_and_faults)
{
	static char buf[3 * SZ_4K];
	static struct map_ctx c = { .invalid_page = 2 };
	struct pri_job *j = &self->job[0];
	struct nest_pri_counters cnt;
	struct nest_pri_handler *h;

	h = map_handler_start(self, &c);
	/* Pages 0, 1 mapped, 2 refused: INVALID, the DMA stops at page 0. */
	job_start(j, &self->e, ACC_W, PAGE(0), sizeof(buf), buf);
	check_job_fault(j, 0, PAGE(0), NESTIOMMU_FAULT_REASON_PTE_FETCH);
	/* An unrecoverable fault: the fault callback. */
	env_map(&self->e, PAGE(9), GPA_HOLE_L1, SZ_4K, S1_RWU);
	job_start(j, &self->e, ACC_R, PAGE(9), 8, buf);
	job_done(j);
	ASSERT_EQ(2, j->dma.out_fault.stage);
	ASSERT_OK(nest_pri_wait_groups(h, 1, PRI_WAIT_MS));
	usleep(PRI_QUIET_MS * 1000);
	nest_pri_stop(h, &cnt);
	ASSERT_EQ(3, cnt.page_requests);
	ASSERT_EQ(1, cnt.groups);
	ASSERT_EQ(1, cnt.invalid);
	ASSERT_LE(1, cnt.faults);
	ASSERT_EQ(cnt.records, cnt.page_requests + cnt.faults);
	ASSERT_EQ(cnt.faults, (__u64)atomic_load(&c.faults));
	ASSERT_EQ(PAGE(9), c.last_fault.fault.addr);
	ASSERT_EQ(2, c.last_fault.fault.stage);
	check_pri(self->e.fd, self->e.dev_id, (struct pri_exp){
		.groups = 1, .pages = 3, .invalid = 1 });
}

static __u32 hold_group(void *arg, const struct nest_pri_group *g, __u32 code)
{
	__u64 *cookie = arg;

	(void)code;
	*cookie = g->first.cookie;
	return NEST_PRI_NO_RESPONSE;
}

/* A group callback may leave the answer to someone else. */
TEST_F(pri, handler_held_group_answered_later)
{
	struct nest_pri_config cfg = {
		.qfd = self->qfd,
		.ops = { .group = hold_group },
		.default_code = R_SUCCESS,
	};
	static __u64 cookie;
	struct pri_job *j = &self->job[0];
	struct nest_pri_counters cnt;
	struct nest_pri_handler *h;

	static char buf[8];

	cfg.ctx = &cookie;
	ASSERT_OK(nest_pri_start(&cfg, &h));
	job_start(j, &self->e, ACC_W, PAGE(0), sizeof(buf), buf);
	ASSERT_OK(nest_pri_wait_groups(h, 1, PRI_WAIT_MS));
	job_waiting(j);
	nest_pri_get_counters(h, &cnt);
	ASSERT_EQ(1, cnt.held);
	ASSERT_EQ(1, cnt.groups);
	map_pages(&self->e, 0, 1, S1_RWU);
	respond(self->qfd, cookie, R_SUCCESS);
	check_job_ok(j);
	ASSERT_ERR(ETIMEDOUT, nest_pri_wait_groups(h, 2, 50));
	nest_pri_stop(h, &cnt);
	ASSERT_EQ(1, cnt.held);
	ASSERT_EQ(0, cnt.success);
	check_pri(self->e.fd, self->e.dev_id, (struct pri_exp){
		.groups = 1, .pages = 1, .success = 1 });
}

/* A handler too slow for the timeout: its answer is refused and counted. */
TEST_F(pri, handler_answer_after_timeout_rejected)
{
	static struct map_ctx c = { .invalid_page = ~0U, .delay_ms = 400 };
	struct pri_job *j = &self->job[0];
	struct nest_pri_counters cnt;
	struct nest_pri_handler *h;
	struct nestiommu_xlate_stats st;
	static char buf[8];

	do_option_set(self->e.fd, NESTIOMMU_OPTION_PRI_TIMEOUT_MS, self->e.dev_id, 100);
	h = map_handler_start(self, &c);
	job_start(j, &self->e, ACC_W, PAGE(0), sizeof(buf), buf);
	check_job_fault(j, 0, PAGE(0), NESTIOMMU_FAULT_REASON_PTE_FETCH);
	ASSERT_OK(nest_pri_wait_groups(h, 1, PRI_WAIT_MS));
	nest_pri_stop(h, &cnt);
	ASSERT_EQ(1, cnt.groups);
	ASSERT_EQ(1, cnt.rejected);
	ASSERT_EQ(0, cnt.success);
	st = dev_stats(self->e.fd, self->e.dev_id);
	ASSERT_EQ(1, st.pri_timeouts);
	ASSERT_EQ(cnt.rejected, st.pri_auto_invalid);
	check_pri(self->e.fd, self->e.dev_id, (struct pri_exp){
		.groups = 1, .pages = 1, .auto_invalid = 1, .timeouts = 1 });
}

/* ==== stress: exact accounting ==== */

#define ST_THREADS	4
#define ST_WINDOW	16		/* pages of each DMA thread */
#define ST_PAGES	(ST_THREADS * ST_WINDOW)
#define ST_ITERS	2500		/* write + read pairs per thread, at most */
#define ST_RUN_S	10		/* DMA threads stop starting DMAs after this */
#define ST_JOIN_S	40		/* ... and must have returned by this */
#define ST_POOL2_GPA	(POOL_GPA + SZ_2M)
#define ST_LIMIT1	4		/* PRI_MAX_OUTSTANDING of device 1 */
#define ST_PASID(p)	(1 + (p))
#define ST_UNMAPS	4		/* pages unmapped per round of the invalidator */

struct stress {
	struct nest_env *e;
	int qfd;
	__u32 fault_id;
	__u32 dev[2];
	__u32 hwpt[2];			/* over tree[0], tree[1] */
	struct nest_s1 *tree[2];
	pthread_mutex_t s1_lock;	/* the trees */
	__u64 handler_rng;		/* the handler thread's */
	__u64 inv_rng;
	__u64 end_ns;
	atomic_bool stop_inv;
	atomic_ulong unmaps, invalid_pages, max_out[2];
	atomic_int errors;
};

struct st_thread {
	struct stress *st;
	int idx;
	__u64 rng;
	pthread_t th;
	unsigned long dmas, complete, faulted;
	unsigned char shadow[ST_WINDOW * SZ_4K];
	unsigned char wbuf[3 * SZ_4K], rbuf[3 * SZ_4K];
};

/* Map the page, or (1 in 8) refuse it. */
static __u32 st_page(void *arg, const struct nestiommu_fault_record *rec)
{
	struct stress *st = arg;
	__u64 i = (rec->addr - ENV_IOVA) / SZ_4K;
	int t = rec->hwpt_id == st->hwpt[1], rc;

	if (rec->addr < ENV_IOVA || i >= ST_PAGES ||
	    (rec->hwpt_id != st->hwpt[0] && rec->hwpt_id != st->hwpt[1])) {
		atomic_fetch_add(&st->errors, 1);
		return R_INVALID;
	}
	if (prng_next(&st->handler_rng) % 8 == 0) {
		atomic_fetch_add(&st->invalid_pages, 1);
		return R_INVALID;
	}
	pthread_mutex_lock(&st->s1_lock);
	rc = nest_s1_map(st->tree[t], rec->addr, DPAGE(i), SZ_4K, S1_RWU);
	pthread_mutex_unlock(&st->s1_lock);
	if (rc && rc != -EEXIST) {
		atomic_fetch_add(&st->errors, 1);
		return R_INVALID;
	}
	return R_SUCCESS;
}

/* A DMA's outcome: all of it, or a stage-1 not-present fault where it stopped. */
static void st_check(const struct nestiommu_dma *dma, __u64 iova, __u64 len)
{
	if (!dma->out_flags) {
		ASSERT_EQ(len, dma->out_bytes_done);
		return;
	}
	ASSERT_EQ(NESTIOMMU_OUT_FAULT, dma->out_flags);
	ASSERT_GT(len, dma->out_bytes_done);
	check_fault_exp(&dma->out_fault, (struct fault_exp){
		.addr = iova + dma->out_bytes_done,
		.reason = NESTIOMMU_FAULT_REASON_PTE_FETCH, .stage = 1, .level = ANY,
		.s1_level = ANY, .flags = ANY, .fetch_addr = ANY });
	if (dma->out_bytes_done)
		ASSERT_EQ(0, (iova + dma->out_bytes_done) % SZ_4K);
}

static void *st_dma_thread(void *arg)
{
	struct st_thread *t = arg;
	struct stress *st = t->st;
	int i;

	for (i = 0; i < ST_ITERS && now_ns() < st->end_ns; i++) {
		__u64 x = prng_next(&t->rng);
		int d = x & 1, p = (x >> 1) & 1;
		__u64 first = (x >> 8) % ST_WINDOW, npages = 1 + (x >> 16) % 3;
		__u64 off = (x >> 24) % SZ_4K, len, iova;
		struct nestiommu_dma dma;

		if (first + npages > ST_WINDOW)
			npages = ST_WINDOW - first;
		/* Ends in the last page: at least one byte of it. */
		len = npages * SZ_4K - off - (x >> 40) % (SZ_4K - off);
		iova = PAGE(t->idx * ST_WINDOW + first) + off;
		fill_pattern(t->wbuf, len, x);
		ASSERT_OK(_do_dma(st->e->fd, st->dev[d], NESTIOMMU_DMA_PASID, ST_PASID(p),
				  ACC_W, iova, len, t->wbuf, &dma));
		st_check(&dma, iova, len);
		memcpy(t->shadow + first * SZ_4K + off, t->wbuf, dma.out_bytes_done);
		t->dmas++;
		t->complete += !dma.out_flags;
		t->faulted += !!dma.out_flags;
		/* Read it back through the other device and PASID. */
		ASSERT_OK(_do_dma(st->e->fd, st->dev[!d], NESTIOMMU_DMA_PASID, ST_PASID(!p),
				  ACC_R, iova, len, t->rbuf, &dma));
		st_check(&dma, iova, len);
		ASSERT_MEM_EQ(t->rbuf, t->shadow + first * SZ_4K + off, dma.out_bytes_done);
		t->dmas++;
		t->complete += !dma.out_flags;
		t->faulted += !!dma.out_flags;
	}
	return NULL;
}

/* Unmap random pages and invalidate them; watch the outstanding limits. */
static void *st_inv_thread(void *arg)
{
	struct stress *st = arg;
	const __u64 limit[2] = { 32, ST_LIMIT1 };

	while (!atomic_load(&st->stop_inv)) {
		int k, d;

		for (k = 0; k < ST_UNMAPS; k++) {
			__u64 x = prng_next(&st->inv_rng);
			int t = x & 1, rc;
			__u64 iova = PAGE((x >> 8) % ST_PAGES);

			pthread_mutex_lock(&st->s1_lock);
			rc = nest_s1_unmap(st->tree[t], iova, SZ_4K);
			pthread_mutex_unlock(&st->s1_lock);
			if (!rc) {
				inv_page(st->e->fd, st->hwpt[t], iova);
				atomic_fetch_add(&st->unmaps, 1);
			}
		}
		for (d = 0; d < 2; d++) {
			struct nestiommu_xlate_stats s = dev_stats(st->e->fd, st->dev[d]);

			if (s.pri_outstanding > atomic_load(&st->max_out[d]))
				atomic_store(&st->max_out[d], s.pri_outstanding);
			ASSERT_GE(limit[d], s.pri_outstanding);
		}
		usleep(200);
	}
	return NULL;
}

/*
 * Several threads DMA through 2 devices x 2 PASIDs (two stage-1 trees)
 * while the handler maps pages (refusing some) and another thread unmaps
 * and invalidates. No DMA hangs, every outcome is consistent, and at the
 * end the device counters balance and agree with the handler's.
 */
TEST_TIMEOUT(pri_stress_accounting, 90)
{
	static struct nest_env e;
	static struct stress st;
	static struct st_thread th[ST_THREADS];
	static struct nest_s1 tree1;
	struct nest_env_opts o = { .no_nested = true, .dev_flags = NESTIOMMU_DEVICE_PRI };
	struct nest_pri_config cfg = { .ops = { .page = st_page }, .ctx = &st };
	struct nestiommu_xlate_stats ds[2];
	struct nestiommu_fault_queue_stats qs;
	struct nest_pri_counters cnt;
	struct nest_pri_handler *h;
	struct nestiommu_hwpt_s1_x86 desc1;
	struct nestiommu_hwpt_alloc cmd;
	struct timespec deadline;
	unsigned long dmas = 0, complete = 0, faulted = 0;
	pthread_t inv;
	char *pool1;
	int i, d, p;
	__u64 start = now_ns();

	env_setup(&e, &o);
	st.e = &e;
	pthread_mutex_init(&st.s1_lock, NULL);
	ASSERT_OK(nest_fault_queue_alloc(e.fd, 0, &st.fault_id, &st.qfd));
	/* Tree 0 is the env's; tree 1 has a pool of its own. */
	pool1 = alloc_buffer_4k(POOL_LEN, SZ_2M);
	do_ioas_map_fixed(e.fd, e.ioas_id, pool1, POOL_LEN, ST_POOL2_GPA);
	ASSERT_OK(nest_s1_init(&tree1, pool1, ST_POOL2_GPA, POOL_LEN, 4));
	nest_s1_desc(&tree1, 0, &desc1);
	st.tree[0] = &e.s1;
	st.tree[1] = &tree1;
	st.hwpt[0] = env_alloc_nested(&e, st.fault_id);
	cmd = (struct nestiommu_hwpt_alloc){
		.flags = NESTIOMMU_HWPT_ALLOC_FAULT_ID_VALID,
		.pt_id = e.parent_id,
		.data_type = NESTIOMMU_HWPT_DATA_S1_X86,
		.data_len = sizeof(desc1),
		.fault_id = st.fault_id,
		.data_uptr = NEST_PTR(&desc1),
	};
	ASSERT_OK(nest_hwpt_alloc(e.fd, &cmd));
	st.hwpt[1] = cmd.out_hwpt_id;
	st.dev[0] = e.dev_id;
	do_device_create(e.fd, NESTIOMMU_DEVICE_PRI, ENV_RID + 1, ENV_PASID_BITS, &st.dev[1]);
	do_option_set(e.fd, NESTIOMMU_OPTION_PRI_MAX_OUTSTANDING, st.dev[1], ST_LIMIT1);
	for (d = 0; d < 2; d++)
		for (p = 0; p < 2; p++)
			do_device_attach(e.fd, st.dev[d], NESTIOMMU_ATTACH_PASID, ST_PASID(p),
					 st.hwpt[p]);
	st.handler_rng = 0x1234567;
	st.inv_rng = 0x7654321;

	cfg.qfd = st.qfd;
	ASSERT_OK(nest_pri_start(&cfg, &h));
	st.end_ns = now_ns() + ST_RUN_S * 1000000000ULL;
	ASSERT_EQ(0, pthread_create(&inv, NULL, st_inv_thread, &st));
	for (i = 0; i < ST_THREADS; i++) {
		th[i].st = &st;
		th[i].idx = i;
		th[i].rng = 0x9e3779b97f4a7c15ULL * (i + 1);
		memcpy(th[i].shadow, e.data + i * ST_WINDOW * SZ_4K, sizeof(th[i].shadow));
		ASSERT_EQ(0, pthread_create(&th[i].th, NULL, st_dma_thread, &th[i]));
	}
	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += ST_JOIN_S;
	for (i = 0; i < ST_THREADS; i++) {
		int rc = pthread_timedjoin_np(th[i].th, NULL, &deadline);

		if (rc) {
			nest_pri_get_counters(h, &cnt);
			TH_LOG("DMA thread %d still running after %d s: groups %llu answered, "
			       "page requests %llu", i, ST_JOIN_S,
			       (unsigned long long)cnt.groups,
			       (unsigned long long)cnt.page_requests);
		}
		ASSERT_EQ(0, rc);
		dmas += th[i].dmas;
		complete += th[i].complete;
		faulted += th[i].faulted;
	}
	atomic_store(&st.stop_inv, true);
	ASSERT_EQ(0, pthread_join(inv, NULL));
	nest_pri_stop(h, &cnt);

	ds[0] = dev_stats(e.fd, st.dev[0]);
	ds[1] = dev_stats(e.fd, st.dev[1]);
	qs = queue_stats(e.fd, st.fault_id);
	TH_LOG("%lu DMAs (%lu complete, %lu faulted) in %.1f s; %llu groups, %llu page requests, "
	       "%llu success, %llu invalid; %lu pages refused, %lu unmaps; outstanding at most "
	       "%lu / %lu", dmas, complete, faulted, (now_ns() - start) / 1e9,
	       (unsigned long long)cnt.groups, (unsigned long long)cnt.page_requests,
	       (unsigned long long)cnt.success, (unsigned long long)cnt.invalid,
	       atomic_load(&st.invalid_pages), atomic_load(&st.unmaps),
	       atomic_load(&st.max_out[0]), atomic_load(&st.max_out[1]));
	ASSERT_EQ(0, atomic_load(&st.errors));
	ASSERT_EQ(0, cnt.error);
	for (d = 0; d < 2; d++) {
		TH_CONTEXT("device %d", d);
		check_pri(e.fd, st.dev[d], (struct pri_exp){
			.groups = ANY, .pages = ANY, .success = ANY, .invalid = ANY });
		ASSERT_EQ(0, ds[d].pri_timeouts);
		ASSERT_LT(0, ds[d].pri_groups);
	}
	TH_CONTEXT("%s", "handler vs devices");
	ASSERT_EQ(ds[0].pri_groups + ds[1].pri_groups, cnt.groups);
	ASSERT_EQ(ds[0].pri_page_requests + ds[1].pri_page_requests, cnt.page_requests);
	ASSERT_EQ(ds[0].pri_success + ds[1].pri_success, cnt.success);
	ASSERT_EQ(ds[0].pri_invalid + ds[1].pri_invalid, cnt.invalid);
	ASSERT_EQ(0, cnt.failure);
	ASSERT_EQ(0, cnt.rejected + cnt.write_errors + cnt.held + cnt.incomplete);
	ASSERT_EQ(cnt.groups, cnt.success + cnt.invalid);
	ASSERT_LT(0, cnt.invalid);
	ASSERT_LT(0, complete);
	TH_CONTEXT("%s", "queue");
	ASSERT_EQ(0, qs.dropped);
	ASSERT_EQ(0, qs.pending);
	ASSERT_EQ(qs.queued, cnt.records);
	ASSERT_EQ(cnt.records, cnt.page_requests + cnt.faults);
	ASSERT_GT(60 * 1000000000ULL, now_ns() - start);
	close(st.qfd);
	env_teardown(&e);
}
