/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the page-request selftests (hwpt_pri*.c, hook_pri.c) share: a DMA
 * on its own thread (a "job"), so the test can read the page requests it
 * sends and answer them, and the fault queue's side of the loop.
 *
 * Every wait is bounded: what must happen gets PRI_WAIT_MS, what must not
 * happen is watched for PRI_QUIET_MS.
 */
#ifndef PRI_JOB_H
#define PRI_JOB_H

#include <poll.h>
#include <pthread.h>
#include <time.h>

#include "nest_env.h"

#define REC_SIZE	sizeof(struct nestiommu_fault_record)
#define PRI_WAIT_MS	5000	/* for what must happen */
#define PRI_QUIET_MS	150	/* for what must not happen */

static inline __u64 now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

/* One DMA ioctl on its own thread. */
struct pri_job {
	int fd;
	__u32 dev_id, flags, pasid, access;
	__u64 iova, len;
	void *buf;
	__u64 cookie;		/* pr_cookie, for a RESUME */
	int rc;
	struct nestiommu_dma dma;
	__u64 end_ns;		/* when the ioctl returned */
	pthread_t th;
	bool started, joined;
};

static inline void *pri_job_fn(void *arg)
{
	struct pri_job *j = arg;

	j->dma = (struct nestiommu_dma){
		.flags = j->flags,
		.dev_id = j->dev_id,
		.pasid = j->pasid,
		.access = j->access,
		.iova = j->iova,
		.length = j->len,
		.user_va = NEST_PTR(j->buf),
		.pr_cookie = j->cookie,
	};
	j->rc = nest_dma(j->fd, &j->dma);
	j->end_ns = now_ns();
	return NULL;
}

/* Start the job *@j describes. */
static inline void job_run(struct pri_job *j)
{
	ASSERT_EQ(0, pthread_create(&j->th, NULL, pri_job_fn, j));
	j->started = true;
}

static inline void job_start_on(struct pri_job *j, int fd, __u32 dev_id, __u32 flags,
				__u32 pasid, __u32 access, __u64 iova, __u64 len, void *buf)
{
	*j = (struct pri_job){
		.fd = fd, .dev_id = dev_id, .flags = flags, .pasid = pasid,
		.access = access, .iova = iova, .len = len, .buf = buf,
	};
	job_run(j);
}

/* Has the job's DMA returned within @ms (or never started)? Joins it if so. */
static inline bool job_wait(struct pri_job *j, unsigned int ms)
{
	struct timespec ts;

	if (!j->started || j->joined)
		return true;
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += ms / 1000;
	ts.tv_nsec += (long)(ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	if (pthread_timedjoin_np(j->th, NULL, &ts))
		return false;
	j->joined = true;
	return true;
}

/* The job's DMA returned (in time) / is still waiting. */
#define job_done(j)	ASSERT_TRUE(job_wait(j, PRI_WAIT_MS))
#define job_waiting(j)	ASSERT_FALSE(job_wait(j, PRI_QUIET_MS))

/* The job returned and moved all its bytes. */
#define check_job_ok(j) do {						\
	job_done(j);							\
	ASSERT_OK((j)->rc);						\
	if ((j)->dma.out_flags)						\
		log_fault("unexpected DMA fault", &(j)->dma.out_fault);	\
	ASSERT_EQ(0, (j)->dma.out_flags);				\
	ASSERT_EQ((j)->len, (j)->dma.out_bytes_done);			\
} while (0)

/* ---- the device's pri_ counters ---- */

/*
 * Expected pri_ counters of a device, written with designated
 * initializers: a counter left out must be 0, ANY is not compared.
 */
struct pri_exp {
	long long groups;	/* pri_groups */
	long long pages;	/* pri_page_requests */
	long long success;
	long long invalid;
	long long failure;
	long long auto_invalid;
	long long timeouts;
	long long outstanding;
};

/* Are the pri_ counters of @s exactly @e? Logs each that is not. */
static inline bool pri_matches(const struct nestiommu_xlate_stats *s, const struct pri_exp *e)
{
	static const char *const names[] = { "pri_groups", "pri_page_requests",
		"pri_success", "pri_invalid", "pri_failure", "pri_auto_invalid",
		"pri_timeouts", "pri_outstanding" };
	const long long want[] = { e->groups, e->pages, e->success, e->invalid,
				   e->failure, e->auto_invalid, e->timeouts,
				   e->outstanding };
	const __u64 got[] = { s->pri_groups, s->pri_page_requests, s->pri_success,
			      s->pri_invalid, s->pri_failure, s->pri_auto_invalid,
			      s->pri_timeouts, s->pri_outstanding };

	_Static_assert(sizeof(want) / sizeof(want[0]) == sizeof(names) / sizeof(names[0]),
		       "one name per counter");
	return counters_match(names, want, got, sizeof(want) / sizeof(want[0]));
}

/* ---- the queue ---- */

static inline bool queue_readable(int qfd, int ms)
{
	struct pollfd p = { .fd = qfd, .events = POLLIN };

	ASSERT_LE(0, poll(&p, 1, ms));
	return p.revents & POLLIN;
}

/* Read one record; it must come within PRI_WAIT_MS. */
static inline void rec_read(int qfd, struct nestiommu_fault_record *r)
{
	ASSERT_TRUE(queue_readable(qfd, PRI_WAIT_MS));
	ASSERT_EQ((ssize_t)REC_SIZE, read(qfd, r, REC_SIZE));
	ASSERT_EQ(NESTIOMMU_FAULT_RECORD_V1, r->version);
}

#define respond(qfd, cookie, code) ASSERT_OK(nest_page_respond(qfd, cookie, code))
#define respond_err(err, qfd, cookie, code) \
	ASSERT_ERR(err, nest_page_respond(qfd, cookie, code))

#endif /* PRI_JOB_H */
