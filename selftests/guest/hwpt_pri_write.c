// SPDX-License-Identifier: GPL-2.0
/*
 * Page requests, the queue's side: write() of page responses (cookies,
 * order, malformed responses), a queue too small for a group, the PRI
 * options and DEVICE_RESET's arguments.
 */
#include "hwpt_pri.h"

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
	const __u64 bad_max[] = {
		0, NESTIOMMU_PRI_MAX_OUTSTANDING + 1,
		2 * NESTIOMMU_PRI_MAX_OUTSTANDING, 1ULL << 32, ~0ULL
	};
	const __u64 bad_timeout[] = {
		NESTIOMMU_PRI_MAX_TIMEOUT_MS + 1ULL, 1ULL << 32, ~0ULL
	};
	__u32 plain_dev;
	size_t i;

	check_option(self->e.fd, NESTIOMMU_OPTION_PRI_MAX_OUTSTANDING, self->e.dev_id,
		     NESTIOMMU_PRI_DEFAULT_OUTSTANDING);
	check_option(self->e.fd, NESTIOMMU_OPTION_PRI_TIMEOUT_MS, self->e.dev_id, 0);
	do_option_set(self->e.fd, NESTIOMMU_OPTION_PRI_MAX_OUTSTANDING, self->e.dev_id, 1);
	check_option(self->e.fd, NESTIOMMU_OPTION_PRI_MAX_OUTSTANDING, self->e.dev_id, 1);
	do_option_set(self->e.fd, NESTIOMMU_OPTION_PRI_MAX_OUTSTANDING, self->e.dev_id,
		      NESTIOMMU_PRI_MAX_OUTSTANDING);
	check_option(self->e.fd, NESTIOMMU_OPTION_PRI_MAX_OUTSTANDING, self->e.dev_id,
		     NESTIOMMU_PRI_MAX_OUTSTANDING);
	do_option_set(self->e.fd, NESTIOMMU_OPTION_PRI_TIMEOUT_MS, self->e.dev_id,
		      NESTIOMMU_PRI_MAX_TIMEOUT_MS);
	check_option(self->e.fd, NESTIOMMU_OPTION_PRI_TIMEOUT_MS, self->e.dev_id,
		     NESTIOMMU_PRI_MAX_TIMEOUT_MS);
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
	check_option(self->e.fd, NESTIOMMU_OPTION_PRI_MAX_OUTSTANDING, self->e.dev_id,
		     NESTIOMMU_PRI_MAX_OUTSTANDING);
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
