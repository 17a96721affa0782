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
 * This file holds the loop, retries, the outstanding limit and the DMAs
 * that must not wait forever; hwpt_pri_write.c the checks of write(),
 * the queue too small and the options; hwpt_pri_nonblock.c non-blocking
 * DMA and RESUME; hwpt_pri_handler.c the libnestiommu handler and the
 * stress run. hwpt_pri.h has the fixture and helpers they share.
 *
 * Most cases read the queue and answer by hand while the DMA runs on a
 * thread ("job"), so every wait is bounded: a DMA that must finish is
 * given PRI_WAIT_MS, one that must keep waiting PRI_QUIET_MS.
 */
#include "hwpt_pri.h"

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
	wait_pri_timeouts(self->e.fd, self->e.dev_id, 1);
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
