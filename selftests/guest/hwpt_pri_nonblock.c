// SPDX-License-Identifier: GPL-2.0
/*
 * Page requests, non-blocking DMA: NESTIOMMU_DMA_NONBLOCK fails with
 * EAGAIN and names its pending group; NESTIOMMU_DMA_RESUME issues the
 * rest once the group is answered.
 */
#include "hwpt_pri.h"

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
