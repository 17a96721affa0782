// SPDX-License-Identifier: GPL-2.0
/*
 * nestload: the run. DMA threads take their slots in turn, one blocking
 * DMA each, and after every DMA do the periodic actions their op count
 * calls for; the main thread starts them together, prints a progress line
 * a second, turns SIGINT/SIGTERM into a clean stop and measures the time
 * from the start to the last thread's end.
 *
 * Signals are blocked in every thread (the PRI handler's included) and
 * taken by the main thread with sigtimedwait(), so no DMA ever ends with
 * EINTR: a stop always lets the DMA in flight finish.
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "nestload.h"

/* Above this many ranges a refault invalidates the whole PASID instead. */
#define NL_INV_RANGES_MAX	32
/* How often the main thread looks at the threads and the signals. */
#define NL_POLL_NS		100000000L

/* The start line the threads wait for (a barrier cannot be given up). */
static pthread_mutex_t nl_start_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t nl_start_cond = PTHREAD_COND_INITIALIZER;
static bool nl_started;

/**
 * nl_now() - CLOCK_MONOTONIC in seconds
 *
 * Return: the time.
 */
double nl_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* A counter the progress line reads while its thread writes it. */
static void nl_count(__u64 *counter, __u64 n)
{
	__atomic_store_n(counter, *counter + n, __ATOMIC_RELAXED);
}

static __u64 nl_peek(const __u64 *counter)
{
	return __atomic_load_n(counter, __ATOMIC_RELAXED);
}

/* The first error of any thread wins; every thread stops. */
static void nl_thread_fail(struct nl_thread *t, const char *what, int rc)
{
	struct nl_world *w = t->w;
	int none = 0;

	if (__atomic_compare_exchange_n(&w->error, &none, rc, false,
					__ATOMIC_ACQ_REL, __ATOMIC_RELAXED))
		snprintf(w->error_what, sizeof(w->error_what), "thread %u: %s",
			 t->index, what);
	__atomic_store_n(&w->stop, 1, __ATOMIC_RELAXED);
}

/* An invalidation entry for @npages pages of @s from @page on. */
static struct nestiommu_inv_entry nl_inv_pages(const struct nl_world *w,
					       const struct nl_slot *s,
					       __u32 page, __u32 npages)
{
	return (struct nestiommu_inv_entry){
		.cache = NESTIOMMU_INV_CACHE_IOTLB |
			 (w->o->ats ? NESTIOMMU_INV_CACHE_DEV_IOTLB : 0),
		.granularity = NESTIOMMU_INV_GRANU_ADDR,
		.flags = NESTIOMMU_INV_F_PASID | NESTIOMMU_INV_F_LEAF,
		.pasid = s->pasid,
		.addr = NL_IOVA + page * NL_PAGE,
		.granule_size = NL_PAGE,
		.nb_granules = npages,
	};
}

static int nl_slot_invalidate(struct nl_thread *t, struct nl_slot *s,
			      const struct nestiommu_inv_entry *inv, __u32 n)
{
	__u32 handled = n;
	int rc;

	rc = nest_hwpt_invalidate(t->w->fd, s->hwpt_id, inv, sizeof(*inv),
				  &handled);
	t->c.invalidations++;
	t->c.inv_entries += handled;
	return rc;
}

/* Add the run of @len pages from @page to @inv (if it has room); count it. */
static void nl_inv_add_run(const struct nl_world *w, const struct nl_slot *s,
			   struct nestiommu_inv_entry *inv, __u32 *n,
			   __u32 page, __u32 len)
{
	if (*n < NL_INV_RANGES_MAX)
		inv[*n] = nl_inv_pages(w, s, page, len);
	(*n)++;
}

/*
 * Make the slot's present fault pages not present again, then invalidate
 * them: one ADDR entry per run of consecutive pages, or one PASID entry
 * when there are many runs (as an OS driver switches to a wider flush).
 */
static int nl_slot_refault(struct nl_thread *t, struct nl_slot *s)
{
	struct nestiommu_inv_entry inv[NL_INV_RANGES_MAX];
	__u32 i, page, n = 0, pages = 0, run = 0, run_len = 0;
	int rc = 0;

	pthread_mutex_lock(&s->lock);
	for (i = 0; i < s->nfault; i++) {
		page = s->fault_pages[i];
		if (!(s->page_state[page] & NL_PAGE_MAPPED))
			continue;
		rc = nest_s1_unmap(&s->s1, NL_IOVA + page * NL_PAGE, NL_PAGE);
		if (rc)
			break;
		s->page_state[page] &= ~NL_PAGE_MAPPED;
		pages++;
		/* fault_pages ascend: a run goes on or a new one starts. */
		if (run_len && page == run + run_len) {
			run_len++;
			continue;
		}
		if (run_len)
			nl_inv_add_run(t->w, s, inv, &n, run, run_len);
		run = page;
		run_len = 1;
	}
	if (run_len)
		nl_inv_add_run(t->w, s, inv, &n, run, run_len);
	pthread_mutex_unlock(&s->lock);
	if (rc) {
		nl_thread_fail(t, "stage-1 unmap of a fault page", rc);
		return rc;
	}
	if (!pages)
		return 0;
	if (n > NL_INV_RANGES_MAX) {
		inv[0] = (struct nestiommu_inv_entry){
			.cache = NESTIOMMU_INV_CACHE_IOTLB |
				 (t->w->o->ats ? NESTIOMMU_INV_CACHE_DEV_IOTLB : 0),
			.granularity = NESTIOMMU_INV_GRANU_PASID,
			.pasid = s->pasid,
		};
		n = 1;
	}
	rc = nl_slot_invalidate(t, s, inv, n);
	if (rc) {
		nl_thread_fail(t, "HWPT_INVALIDATE after a refault", rc);
		return rc;
	}
	t->c.refaults++;
	t->c.refault_pages += pages;
	return 0;
}

/*
 * A stage-1 change: point one present page of a slot at the slot's spare
 * page (or back at its own), as a guest remaps a page, and invalidate it.
 */
static int nl_thread_s1_change(struct nl_thread *t)
{
	struct nl_slot *s = t->slots[nl_rng_below(&t->rng, t->nslots)];
	__u32 page = s->plain_pages[nl_rng_below(&t->rng, s->nplain)];
	struct nestiommu_inv_entry inv = nl_inv_pages(t->w, s, page, 1);
	__u64 *ptep, gpa;
	int rc;

	pthread_mutex_lock(&s->lock);
	ptep = nest_s1_pte(&s->s1, NL_IOVA + page * NL_PAGE, 1);
	if (ptep) {
		gpa = s->page_state[page] & NL_PAGE_SPARE ?
		      s->data_gpa + page * NL_PAGE : s->spare_gpa;
		nest_s1_pte_write(ptep, gpa | NESTIOMMU_S1_PTE_P | NL_S1_LEAF_FLAGS);
		s->page_state[page] ^= NL_PAGE_SPARE;
	}
	pthread_mutex_unlock(&s->lock);
	if (!ptep) {
		nl_thread_fail(t, "stage-1 change: no level-1 table", -ENOENT);
		return -ENOENT;
	}
	rc = nl_slot_invalidate(t, s, &inv, 1);
	if (rc) {
		nl_thread_fail(t, "HWPT_INVALIDATE after a stage-1 change", rc);
		return rc;
	}
	t->c.s1_changes++;
	return 0;
}

/* Churn: map the thread's spare IOAS area, or unmap it if it is mapped. */
static int nl_thread_churn(struct nl_thread *t)
{
	struct nl_world *w = t->w;
	__u64 iova = t->churn_gpa;
	int rc;

	if (!t->churn_mapped) {
		rc = nest_ioas_map(w->fd, w->ioas_id,
				   NESTIOMMU_IOAS_MAP_FIXED_IOVA |
				   NESTIOMMU_IOAS_MAP_READABLE |
				   NESTIOMMU_IOAS_MAP_WRITEABLE,
				   NEST_PTR(t->churn_buf), NL_CHURN_LEN, &iova);
		if (rc) {
			nl_thread_fail(t, "IOAS_MAP of the churn area", rc);
			return rc;
		}
		t->c.maps++;
	} else {
		rc = nest_ioas_unmap(w->fd, w->ioas_id, iova, NL_CHURN_LEN,
				     NULL);
		if (rc) {
			nl_thread_fail(t, "IOAS_UNMAP of the churn area", rc);
			return rc;
		}
		t->c.unmaps++;
	}
	t->churn_mapped = !t->churn_mapped;
	return 0;
}

/*
 * --recover, after a DMA of @dev_id stopped with a fault: a FAILURE
 * response turns the device's PRI off until DEVICE_RESET (PCIe's Response
 * Failure), so its faults stop asking. If the device took one since it was
 * last reset, reset it, as a VMM's recovery must; once per FAILURE, however
 * many threads see the faults it caused.
 */
static int nl_device_recover(struct nl_thread *t, __u32 dev_id)
{
	struct nl_world *w = t->w;
	struct nestiommu_xlate_stats st;
	__u32 i, type, len = sizeof(st);
	int rc;

	for (i = 0; i < w->o->devices && w->dev_ids[i] != dev_id; i++)
		;
	if (i == w->o->devices)
		return 0;
	pthread_mutex_lock(&w->recover_lock);
	rc = nest_get_stats(w->fd, dev_id, &type, &st, &len);
	if (!rc && st.pri_failure > w->dev_failures_seen[i]) {
		rc = nest_device_reset(w->fd, dev_id);
		if (!rc) {
			w->dev_failures_seen[i] = st.pri_failure;
			t->c.recoveries++;
		}
	}
	pthread_mutex_unlock(&w->recover_lock);
	if (rc)
		nl_thread_fail(t, "--recover (GET_STATS, DEVICE_RESET)", rc);
	return rc;
}

/* One DMA by slot @s: the pattern picks the IOVA, the dice the direction. */
static int nl_thread_dma(struct nl_thread *t, struct nl_slot *s)
{
	const struct nl_opts *o = t->w->o;
	__u64 ws_bytes = o->working_set * NL_PAGE, off, span;
	struct nestiommu_dma d;
	bool read;
	int rc;

	if (o->pattern == NL_PATTERN_SEQ) {
		if (s->seq_next + o->dma_size > ws_bytes)
			s->seq_next = 0;
		off = s->seq_next;
		s->seq_next += o->dma_size;
	} else {
		span = (o->dma_size + NL_PAGE - 1) / NL_PAGE;
		off = nl_rng_below(&t->rng, o->working_set - span + 1) * NL_PAGE;
	}
	read = nl_rng_below(&t->rng, 100) < o->read_pct;
	d = (struct nestiommu_dma){
		.flags = NESTIOMMU_DMA_PASID,
		.dev_id = s->dev_id,
		.pasid = s->pasid,
		.access = read ? NESTIOMMU_ACCESS_READ : NESTIOMMU_ACCESS_WRITE,
		.iova = NL_IOVA + off,
		.length = o->dma_size,
		.user_va = NEST_PTR(t->buf),
	};
	rc = nest_dma(t->w->fd, &d);
	if (rc) {
		nl_thread_fail(t, "DMA", rc);
		return rc;
	}
	nl_count(&t->c.dma_ops, 1);
	nl_count(&t->c.dma_bytes, d.out_bytes_done);
	if (read)
		t->c.dma_reads++;
	else
		t->c.dma_writes++;
	/* Only an injected or unanswered fault stops a DMA here: count it. */
	if (d.out_flags & NESTIOMMU_OUT_FAULT) {
		t->c.dma_faults++;
		if (o->recover)
			return nl_device_recover(t, s->dev_id);
	}
	return 0;
}

/* The periodic actions due after the thread's @n-th DMA. */
static int nl_thread_periodic(struct nl_thread *t, __u64 n)
{
	const struct nl_opts *o = t->w->o;
	__u32 i;
	int rc;

	if (o->s1_change_every && n % o->s1_change_every == 0 &&
	    (rc = nl_thread_s1_change(t)))
		return rc;
	if (o->refault_every && n % o->refault_every == 0)
		for (i = 0; i < t->nslots; i++)
			if ((rc = nl_slot_refault(t, t->slots[i])))
				return rc;
	if (o->churn_every && n % o->churn_every == 0 &&
	    (rc = nl_thread_churn(t)))
		return rc;
	return 0;
}

static void *nl_thread_main(void *arg)
{
	struct nl_thread *t = arg;
	struct nl_world *w = t->w;
	const struct nl_opts *o = w->o;
	__u64 n = 0;

	pthread_mutex_lock(&nl_start_lock);
	while (!nl_started)
		pthread_cond_wait(&nl_start_cond, &nl_start_lock);
	pthread_mutex_unlock(&nl_start_lock);

	while (!__atomic_load_n(&w->stop, __ATOMIC_RELAXED)) {
		if (o->ops ? n == t->quota : nl_now() >= w->deadline)
			break;
		if (nl_thread_dma(t, t->slots[n % t->nslots]))
			break;
		if (nl_thread_periodic(t, ++n))
			break;
	}
	/* Leave the IOAS as it was set up. */
	if (t->churn_mapped)
		nl_thread_churn(t);
	t->end_s = nl_now();
	__atomic_store_n(&t->done, 1, __ATOMIC_RELEASE);
	return NULL;
}

static void nl_counters_add(struct nl_counters *sum,
			    const struct nl_counters *c)
{
	const __u64 *src = (const __u64 *)c;
	__u64 *dst = (__u64 *)sum;
	size_t i;

	for (i = 0; i < sizeof(*c) / sizeof(__u64); i++)
		dst[i] += src[i];
}

static void nl_progress_start(const struct nl_world *w)
{
	const struct nl_opts *o = w->o;
	char length[48];

	if (o->ops)
		snprintf(length, sizeof(length), "%llu DMA ops",
			 (unsigned long long)o->ops);
	else
		snprintf(length, sizeof(length), "%g s", o->duration_s);
	fprintf(stderr,
		NL_PROG ": %u devices x %u PASIDs, %u DMA thread%s, %s: %s %llu-byte DMAs over %u pages per PASID, %u%% reads, %u%% fault pages\n",
		o->devices, o->pasids, o->threads, o->threads == 1 ? "" : "s",
		length, o->pattern == NL_PATTERN_SEQ ? "sequential" : "random",
		(unsigned long long)o->dma_size, o->working_set, o->read_pct,
		o->fault_pct);
}

/* One progress line: totals so far and the rates of the last interval. */
static void nl_progress(struct nl_world *w, double t0, double *last_t,
			__u64 *last_ops, __u64 *last_bytes)
{
	struct nest_pri_counters pc;
	__u64 ops = 0, bytes = 0;
	double now = nl_now(), dt = now - *last_t;
	__u32 i;

	for (i = 0; i < w->o->threads; i++) {
		ops += nl_peek(&w->threads[i].c.dma_ops);
		bytes += nl_peek(&w->threads[i].c.dma_bytes);
	}
	nest_pri_get_counters(w->pri, &pc);
	fprintf(stderr,
		NL_PROG ": %.0f s: %llu DMA ops, %.0f ops/s, %.2f MB/s, %llu page request groups\n",
		now - t0, (unsigned long long)ops,
		dt > 0 ? (ops - *last_ops) / dt : 0.0,
		dt > 0 ? (bytes - *last_bytes) / dt / 1e6 : 0.0,
		(unsigned long long)pc.groups);
	*last_t = now;
	*last_ops = ops;
	*last_bytes = bytes;
}

static bool nl_threads_done(struct nl_world *w)
{
	__u32 i;

	for (i = 0; i < w->o->threads; i++)
		if (!__atomic_load_n(&w->threads[i].done, __ATOMIC_ACQUIRE))
			return false;
	return true;
}

/* Start the threads together; on a failed create, stop those that run. */
static __u32 nl_threads_start(struct nl_world *w)
{
	__u32 t;
	int rc = 0;

	for (t = 0; t < w->o->threads; t++) {
		rc = pthread_create(&w->threads[t].th, NULL, nl_thread_main,
				    &w->threads[t]);
		if (rc) {
			nl_thread_fail(&w->threads[t], "pthread_create", -rc);
			break;
		}
	}
	pthread_mutex_lock(&nl_start_lock);
	nl_started = true;
	pthread_cond_broadcast(&nl_start_cond);
	pthread_mutex_unlock(&nl_start_lock);
	return t;
}

/**
 * nl_run() - run the workload
 * @w: the world, set up
 * @total: set to the sum of the setup's and every thread's counters
 * @elapsed_s: set to the time from the start to the last thread's end
 * @interrupted: set if SIGINT or SIGTERM stopped the run early
 *
 * Starts the PRI handler, runs the DMA threads, stops the handler once
 * every DMA returned (its final counters are in w->pri_final).
 *
 * Return: 0, or 1 with the error reported.
 */
int nl_run(struct nl_world *w, struct nl_counters *total, double *elapsed_s,
	   bool *interrupted)
{
	const struct nl_opts *o = w->o;
	struct timespec poll_ts = { .tv_nsec = NL_POLL_NS };
	__u64 last_ops = 0, last_bytes = 0;
	double t0, last_t, end = 0;
	__u32 i, started;
	sigset_t sigs;
	int rc;

	*interrupted = false;
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	rc = nl_world_pri_start(w);
	if (rc)
		return rc;
	if (!o->quiet)
		nl_progress_start(w);

	t0 = last_t = nl_now();
	w->deadline = t0 + o->duration_s;
	started = nl_threads_start(w);
	while (!nl_threads_done(w)) {
		if (started < o->threads)
			break;
		if (sigtimedwait(&sigs, NULL, &poll_ts) > 0) {
			if (*interrupted) {
				/* A second signal: a DMA may be stuck, go. */
				fprintf(stderr, NL_PROG ": stopped\n");
				exit(1);
			}
			*interrupted = true;
			__atomic_store_n(&w->stop, 1, __ATOMIC_RELAXED);
			if (!o->quiet)
				fprintf(stderr, NL_PROG ": stopping after the DMAs in flight\n");
		}
		if (!o->quiet && nl_now() - last_t >= 1.0)
			nl_progress(w, t0, &last_t, &last_ops, &last_bytes);
	}
	for (i = 0; i < started; i++) {
		pthread_join(w->threads[i].th, NULL);
		if (w->threads[i].end_s > end)
			end = w->threads[i].end_s;
	}
	nl_world_pri_stop(w);
	if (w->error)
		return nl_fail(w->error_what, w->error);

	*total = w->setup;
	for (i = 0; i < o->threads; i++)
		nl_counters_add(total, &w->threads[i].c);
	*elapsed_s = end - t0;
	return 0;
}
