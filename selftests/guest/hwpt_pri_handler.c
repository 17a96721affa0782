// SPDX-License-Identifier: GPL-2.0
/*
 * Page requests through the libnestiommu PRI handler
 * (tools/lib/nestiommu/pri.h), and exact accounting after a stress run.
 */
#include "hwpt_pri.h"

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
