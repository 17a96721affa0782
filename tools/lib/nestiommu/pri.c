// SPDX-License-Identifier: GPL-2.0
/*
 * libnestiommu: the PRI handler and page responses (see pri.h).
 *
 * The handler's thread polls two fds: the fault queue and an eventfd that
 * nest_pri_stop() writes. Groups in progress (page requests read, LAST_PAGE
 * not yet) are kept in a small array searched by cookie. Counters live
 * under a mutex with a condition variable, so other threads can read them
 * and wait for answered groups.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "nestiommu.h"

/* Records one read() asks for. */
#define PRI_READ_BATCH		64
/* Groups in progress the handler tracks before it gives the oldest up. */
#define PRI_MAX_PARTIAL		1024

struct nest_pri_handler {
	struct nest_pri_config cfg;
	int stop_fd;			/* eventfd: nest_pri_stop() */
	pthread_t thread;
	/* Owned by the thread. */
	struct nest_pri_group *partial;
	size_t npartial;
	size_t partial_cap;
	struct nestiommu_fault_record buf[PRI_READ_BATCH];
	/* Shared: under lock. */
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct nest_pri_counters counters;
	int done;			/* the thread has ended */
};

/* Rank of a response code: higher is worse; unknown codes are worst. */
static int pri_code_rank(__u32 code)
{
	switch (code) {
	case NESTIOMMU_PAGE_RESP_SUCCESS:
		return 0;
	case NESTIOMMU_PAGE_RESP_INVALID:
		return 1;
	case NESTIOMMU_PAGE_RESP_FAILURE:
		return 2;
	default:
		return 3;
	}
}

/**
 * nest_pri_worse() - the worse of two page response codes
 * @a: an enum nestiommu_page_response_code
 * @b: another
 *
 * FAILURE is worse than INVALID, which is worse than SUCCESS; a value that
 * is none of them is worse than all (and is kept, so the kernel refuses it).
 *
 * Return: @a or @b.
 */
__u32 nest_pri_worse(__u32 a, __u32 b)
{
	return pri_code_rank(b) > pri_code_rank(a) ? b : a;
}

/**
 * nest_page_respond_array() - write page responses to a fault queue
 * @qfd: the queue's fd
 * @r: @n responses
 * @n: number of responses, at least 1
 * @handled: if not NULL, set to the number of responses the kernel handled
 *	(it handles them in order and stops at the first bad one)
 *
 * Return: 0 if all were handled; else the -errno of the first one refused
 * (EINVAL: no pending group with that cookie on this queue; EOPNOTSUPP: an
 * unknown code or a non-zero __reserved).
 */
int nest_page_respond_array(int qfd, const struct nestiommu_page_response *r,
			    size_t n, size_t *handled)
{
	size_t done = 0;
	ssize_t rc = 0;

	while (done < n) {
		rc = write(qfd, r + done, (n - done) * sizeof(*r));
		if (rc < 0) {
			if (errno == EINTR)
				continue;
			rc = -errno;
			break;
		}
		if (!rc) {
			rc = -EIO;
			break;
		}
		/* Whole responses only: a partial write ends at a bad one. */
		done += (size_t)rc / sizeof(*r);
		rc = 0;
	}
	if (handled)
		*handled = done;
	return done == n ? 0 : (int)rc;
}

/**
 * nest_page_respond() - answer one page request group
 * @qfd: the queue's fd
 * @cookie: the group's cookie, from its records
 * @code: enum nestiommu_page_response_code
 *
 * Return: 0, or -errno (as nest_page_respond_array()).
 */
int nest_page_respond(int qfd, __u64 cookie, __u32 code)
{
	struct nestiommu_page_response r = {
		.cookie = cookie,
		.code = code,
	};

	return nest_page_respond_array(qfd, &r, 1, NULL);
}

/**
 * nest_device_reset() - DEVICE_RESET: answer a device's outstanding page
 * requests INVALID, empty its caches and enable PRI again after a FAILURE
 * @fd: context from nest_open()
 * @dev_id: the device
 *
 * Return: 0, or -errno (ENOENT: no such device).
 */
int nest_device_reset(int fd, __u32 dev_id)
{
	struct nestiommu_device_reset cmd = {
		.size = sizeof(cmd),
		.dev_id = dev_id,
	};

	return nest_ioctl(fd, NESTIOMMU_DEVICE_RESET, &cmd);
}

/* ---- the handler ---- */

static void pri_count(struct nest_pri_handler *h, __u64 *counter, __u64 n)
{
	pthread_mutex_lock(&h->lock);
	*counter += n;
	pthread_cond_broadcast(&h->cond);
	pthread_mutex_unlock(&h->lock);
}

/* The group in progress with @cookie, or a new one (NULL: out of memory). */
static struct nest_pri_group *pri_find_group(struct nest_pri_handler *h,
					     const struct nestiommu_fault_record *rec)
{
	struct nest_pri_group *g;
	size_t i;

	for (i = 0; i < h->npartial; i++)
		if (h->partial[i].first.cookie == rec->cookie)
			return &h->partial[i];
	if (h->npartial == PRI_MAX_PARTIAL) {
		/* Its LAST_PAGE was lost (full queue): give the oldest up. */
		memmove(h->partial, h->partial + 1,
			(h->npartial - 1) * sizeof(*h->partial));
		h->npartial--;
		pri_count(h, &h->counters.incomplete, 1);
	}
	if (h->npartial == h->partial_cap) {
		size_t cap = h->partial_cap ? 2 * h->partial_cap : 16;

		g = realloc(h->partial, cap * sizeof(*g));
		if (!g)
			return NULL;
		h->partial = g;
		h->partial_cap = cap;
	}
	g = &h->partial[h->npartial++];
	*g = (struct nest_pri_group){
		.first = *rec,
		.code = NESTIOMMU_PAGE_RESP_SUCCESS,
	};
	return g;
}

static void pri_drop_group(struct nest_pri_handler *h, struct nest_pri_group *g)
{
	size_t i = g - h->partial;

	memmove(g, g + 1, (h->npartial - i - 1) * sizeof(*g));
	h->npartial--;
}

/* The group is complete: answer it. */
static void pri_answer(struct nest_pri_handler *h, const struct nest_pri_group *g)
{
	__u32 code = g->code;
	__u64 *counter;
	int rc;

	if (h->cfg.ops.group)
		code = h->cfg.ops.group(h->cfg.ctx, g, code);
	if (code == NEST_PRI_NO_RESPONSE) {
		counter = &h->counters.held;
	} else {
		rc = nest_page_respond(h->cfg.qfd, g->first.cookie, code);
		if (rc == -EINVAL)
			counter = &h->counters.rejected;
		else if (rc)
			counter = &h->counters.write_errors;
		else if (code == NESTIOMMU_PAGE_RESP_SUCCESS)
			counter = &h->counters.success;
		else if (code == NESTIOMMU_PAGE_RESP_INVALID)
			counter = &h->counters.invalid;
		else
			counter = &h->counters.failure;
	}
	/* One update, so groups = sum of the outcomes whenever it is read. */
	pthread_mutex_lock(&h->lock);
	h->counters.groups++;
	(*counter)++;
	pthread_cond_broadcast(&h->cond);
	pthread_mutex_unlock(&h->lock);
}

static void pri_page_request(struct nest_pri_handler *h,
			     const struct nestiommu_fault_record *rec)
{
	struct nest_pri_group *g, done;
	__u32 code;

	code = h->cfg.ops.page ? h->cfg.ops.page(h->cfg.ctx, rec) :
				 h->cfg.default_code;
	g = pri_find_group(h, rec);
	if (!g) {
		/* No memory to track it: answer this page's group now. */
		done = (struct nest_pri_group){
			.first = *rec, .npages = 1, .last_addr = rec->addr,
			.code = nest_pri_worse(code, NESTIOMMU_PAGE_RESP_INVALID),
		};
		pri_answer(h, &done);
		return;
	}
	g->npages++;
	g->last_addr = rec->addr;
	g->code = nest_pri_worse(g->code, code);
	if (!(rec->flags & NESTIOMMU_RECORD_F_LAST_PAGE))
		return;
	done = *g;
	pri_drop_group(h, g);
	pri_answer(h, &done);
}

static void pri_record(struct nest_pri_handler *h,
		       const struct nestiommu_fault_record *rec)
{
	pthread_mutex_lock(&h->lock);
	h->counters.records++;
	if (rec->flags & NESTIOMMU_RECORD_F_OVERFLOW) {
		h->counters.overflows++;
		h->counters.dropped += rec->dropped;
	}
	if (rec->version != NESTIOMMU_FAULT_RECORD_V1)
		h->counters.unknown++;
	else if (rec->type == NESTIOMMU_RECORD_PAGE_REQUEST)
		h->counters.page_requests++;
	else if (rec->type == NESTIOMMU_RECORD_FAULT)
		h->counters.faults++;
	else
		h->counters.unknown++;
	pthread_mutex_unlock(&h->lock);

	if (rec->version != NESTIOMMU_FAULT_RECORD_V1)
		return;
	if (rec->type == NESTIOMMU_RECORD_PAGE_REQUEST)
		pri_page_request(h, rec);
	else if (rec->type == NESTIOMMU_RECORD_FAULT && h->cfg.ops.fault)
		h->cfg.ops.fault(h->cfg.ctx, rec);
}

/*
 * Read and handle what is queued. Return: 0 when the queue is empty now
 * (or the read was interrupted), else -errno of a failed read.
 */
static int pri_read_queue(struct nest_pri_handler *h)
{
	struct pollfd p = { .fd = h->cfg.qfd, .events = POLLIN };
	ssize_t n, i;

	for (;;) {
		/* Never block in read(): the fd may be a blocking one. */
		if (poll(&p, 1, 0) < 0)
			return errno == EINTR ? 0 : -errno;
		if (!(p.revents & POLLIN))
			return p.revents & (POLLERR | POLLNVAL) ? -EBADF : 0;
		n = read(h->cfg.qfd, h->buf, sizeof(h->buf));
		if (n < 0) {
			if (errno == EINTR || errno == EAGAIN)
				return 0;
			return -errno;
		}
		n /= sizeof(h->buf[0]);
		for (i = 0; i < n; i++)
			pri_record(h, &h->buf[i]);
	}
}

static void *pri_thread(void *arg)
{
	struct nest_pri_handler *h = arg;
	struct pollfd p[2] = {
		{ .fd = h->cfg.qfd, .events = POLLIN },
		{ .fd = h->stop_fd, .events = POLLIN },
	};
	int err = 0;

	for (;;) {
		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			err = errno;
			break;
		}
		if (p[0].revents) {
			err = -pri_read_queue(h);
			if (err)
				break;
		}
		if (p[1].revents) {
			/* Stop: handle what is queued now, then end. */
			err = -pri_read_queue(h);
			break;
		}
	}
	pthread_mutex_lock(&h->lock);
	h->counters.error = err;
	h->done = 1;
	pthread_cond_broadcast(&h->cond);
	pthread_mutex_unlock(&h->lock);
	return NULL;
}

/**
 * nest_pri_start() - start a PRI handler on a fault queue
 * @cfg: the queue's fd, callbacks and default code (copied)
 * @handler: set to the new handler on success
 *
 * Return: 0, or -errno (EINVAL: no fd; ENOMEM; thread creation errors).
 */
int nest_pri_start(const struct nest_pri_config *cfg,
		   struct nest_pri_handler **handler)
{
	struct nest_pri_handler *h;
	int rc;

	if (cfg->qfd < 0)
		return -EINVAL;
	h = calloc(1, sizeof(*h));
	if (!h)
		return -ENOMEM;
	h->cfg = *cfg;
	h->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (h->stop_fd < 0) {
		rc = -errno;
		free(h);
		return rc;
	}
	pthread_mutex_init(&h->lock, NULL);
	pthread_cond_init(&h->cond, NULL);
	rc = -pthread_create(&h->thread, NULL, pri_thread, h);
	if (rc) {
		close(h->stop_fd);
		pthread_cond_destroy(&h->cond);
		pthread_mutex_destroy(&h->lock);
		free(h);
		return rc;
	}
	*handler = h;
	return 0;
}

/**
 * nest_pri_stop() - stop a PRI handler and free it
 * @h: the handler
 * @final: if not NULL, set to its counters at the end
 *
 * The thread handles the records queued at that moment (answering the
 * groups they complete), then ends. Groups still incomplete are left
 * unanswered. The queue's fd stays open.
 */
void nest_pri_stop(struct nest_pri_handler *h, struct nest_pri_counters *final)
{
	__u64 one = 1;

	while (write(h->stop_fd, &one, sizeof(one)) < 0 && errno == EINTR)
		;
	pthread_join(h->thread, NULL);
	if (final)
		*final = h->counters;
	close(h->stop_fd);
	pthread_cond_destroy(&h->cond);
	pthread_mutex_destroy(&h->lock);
	free(h->partial);
	free(h);
}

/**
 * nest_pri_get_counters() - a consistent snapshot of a handler's counters
 * @h: the handler
 * @c: filled in
 */
void nest_pri_get_counters(struct nest_pri_handler *h,
			   struct nest_pri_counters *c)
{
	pthread_mutex_lock(&h->lock);
	*c = h->counters;
	pthread_mutex_unlock(&h->lock);
}

/**
 * nest_pri_wait_groups() - wait until a handler has handled @groups groups
 * @h: the handler
 * @groups: the number of complete groups (counters.groups) to wait for
 * @timeout_ms: the longest wait
 *
 * Return: 0; -ETIMEDOUT; or, if the thread ended first, its error (-errno)
 * or -EPIPE (it was stopped).
 */
int nest_pri_wait_groups(struct nest_pri_handler *h, __u64 groups,
			 unsigned int timeout_ms)
{
	struct timespec deadline;
	int rc = 0;

	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += timeout_ms / 1000;
	deadline.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
	if (deadline.tv_nsec >= 1000000000L) {
		deadline.tv_sec++;
		deadline.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&h->lock);
	while (h->counters.groups < groups && !rc) {
		if (h->done) {
			rc = h->counters.error ? -h->counters.error : -EPIPE;
			break;
		}
		rc = pthread_cond_timedwait(&h->cond, &h->lock, &deadline);
		if (rc == ETIMEDOUT)
			rc = -ETIMEDOUT;
		else
			rc = 0;
	}
	if (h->counters.groups >= groups)
		rc = 0;
	pthread_mutex_unlock(&h->lock);
	return rc;
}
