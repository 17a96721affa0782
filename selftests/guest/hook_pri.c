// SPDX-License-Identifier: GPL-2.0
/*
 * hook_test, page requests: nest_hook_translate's page_request, and
 * nest_hook_page_request / nest_hook_page_response (lost, duplicated, LAST_PAGE
 * cleared groups; replaced, lost and late responses).
 */
#include "hook_test.h"

/* ==== page requests: nest_hook_translate's page_request, nest_hook_page_request/_response ==== */

/* Page i of the PRI cases' range, and the data page it maps (or would). */
#define PR_PAGE(i)	(ENV_IOVA + 7 * SZ_2M + (__u64)(i) * SZ_4K)
#define PR_DPAGE(i)	(DATA_GPA + 64 * SZ_4K + (__u64)(i) * SZ_4K)
#define PR_MAPPED	4	/* PR_PAGE(0..3) are mapped, filled PR_BYTE + i */
#define PR_HOLE		8	/* PR_PAGE(8) and up are not: organic page requests */
#define PR_BYTE		0x60
#define PR_OTHER_PASID	6
#define REC_LAST	NESTIOMMU_RECORD_F_LAST_PAGE
#define R_SUCCESS	NESTIOMMU_PAGE_RESP_SUCCESS
#define R_INVALID	NESTIOMMU_PAGE_RESP_INVALID
#define R_FAILURE	NESTIOMMU_PAGE_RESP_FAILURE
/* kernel/hooks.h: the "injected" marks of page_request and page_response. */
#define PR_INJ_FORCED		(1U << 0)
#define PR_INJ_DROPPED		(1U << 1)
#define PR_INJ_DUPLICATED	(1U << 2)
#define PR_INJ_LAST_CLEARED	(1U << 3)
#define RESP_INJ_CODE		(1U << 0)
#define RESP_INJ_DELAYED	(1U << 1)
/* kernel/hooks.h: NEST_HOOK_MAX_DELAY_US. */
#define HOOK_MAX_DELAY_US	1000000U
/*
 * Delayed responses and timeouts are timers of whole jiffies, rounded up,
 * that may fire up to one jiffy (10 ms at HZ=100) short of the time in ns.
 */
#define DELAY_SLACK_NS		(10 * 1000000ULL)

/*
 * The job returned, stopped by a stage-1 @reason fault at @addr after
 * @done bytes: injected by nest_hook_translate (level 0, marked) or organic.
 */
#define check_job_fault(j, _done, _addr, _reason, _injected) do {	\
	job_done(j);							\
	ASSERT_OK((j)->rc);						\
	ASSERT_EQ(NESTIOMMU_OUT_FAULT, (j)->dma.out_flags);		\
	ASSERT_EQ((__u64)(_done), (j)->dma.out_bytes_done);		\
	if (_injected)							\
		check_fault_exp(&(j)->dma.out_fault, (struct fault_exp){ \
			.addr = (_addr), .reason = (_reason), .stage = 1, \
			.flags = NESTIOMMU_FAULT_F_INJECTED });		\
	else								\
		check_fault_exp(&(j)->dma.out_fault, (struct fault_exp){ \
			.addr = (_addr), .reason = (_reason), .stage = 1, \
			.level = ANY, .s1_level = ANY, .flags = ANY,	\
			.fetch_addr = ANY });				\
	ASSERT_EQ((_injected) ? NESTIOMMU_FAULT_F_INJECTED : 0,		\
		  (j)->dma.out_fault.flags & NESTIOMMU_FAULT_F_INJECTED); \
} while (0)

/* Wait (at most PRI_WAIT_MS) until the BPF program's counter *@p reaches @n. */
static bool bpf_count_reaches(const __u64 *p, __u64 n)
{
	const volatile __u64 *v = p;
	int ms;

	for (ms = 0; ms < PRI_WAIT_MS && *v < n; ms++)
		usleep(1000);
	return *v >= n;
}

/*
 * A PRI device (RID ENV_RID) whose nested HWPT reports to a fault queue,
 * attached at ENV_PASID or at the RID; PR_PAGE(0..PR_MAPPED-1) mapped.
 * Every hook and every mark program is attached, filtered on the device,
 * the hooks not enabled.
 */
FIXTURE(prihook) {
	struct nest_env e;
	__u32 fault_id;
	int qfd;
	__u32 hwpt_id;
	struct hook_inject_bpf *skel;
	struct hook_translate_ctl *tr;
	struct hook_page_request_ctl *rq;
	struct hook_page_response_ctl *rs;
	struct fault_mark_ctl *fm;
	struct pr_mark_ctl *prm;
	struct resp_mark_ctl *rsm;
	struct pri_job job;
};

FIXTURE_VARIANT(prihook) {
	bool rid;
};

FIXTURE_VARIANT_ADD(prihook, pasid) { .rid = false };
FIXTURE_VARIANT_ADD(prihook, rid) { .rid = true };

FIXTURE_SETUP(prihook)
{
	struct nest_env_opts o = {
		.rid = variant->rid,
		.no_nested = true,
		.dev_flags = NESTIOMMU_DEVICE_PRI,
	};
	struct hook_inject_bpf *skel;
	int i;

	self->skel = NULL;
	self->qfd = -1;
	env_setup(&self->e, &o);
	ASSERT_OK(nest_fault_queue_alloc(self->e.fd, 0, &self->fault_id, &self->qfd));
	self->hwpt_id = env_alloc_nested(&self->e, self->fault_id);
	do_device_attach(self->e.fd, self->e.dev_id, self->e.attach_flags, self->e.pasid,
			 self->hwpt_id);
	for (i = 0; i < PR_MAPPED; i++) {
		memset(env_data(&self->e, PR_DPAGE(i)), PR_BYTE + i, SZ_4K);
		env_map(&self->e, PR_PAGE(i), PR_DPAGE(i), SZ_4K, S1_RWU);
	}
	skel = self->skel = hooks_setup(true);
	self->tr = &skel->bss->translate;
	self->rq = &skel->bss->page_request;
	self->rs = &skel->bss->page_response;
	self->fm = &skel->bss->fault_mark;
	self->prm = &skel->bss->pr_mark;
	self->rsm = &skel->bss->resp_mark;
	self->tr->dev_id = self->e.dev_id;
	self->rq->dev_id = self->e.dev_id;
	self->rs->dev_id = self->e.dev_id;
	self->fm->dev_id = self->e.dev_id;
	self->prm->dev_id = self->e.dev_id;
	self->rsm->dev_id = self->e.dev_id;
}

FIXTURE_TEARDOWN(prihook)
{
	/* Closing the queue answers what is pending: no DMA is left waiting. */
	if (self->qfd >= 0)
		close(self->qfd);
	job_wait(&self->job, PRI_WAIT_MS);
	hooks_teardown(self->skel);
	env_teardown(&self->e);
}

/* A DMA by the PRI device on its attachment, on the job thread. */
static struct pri_job *pr_job_start(FIXTURE_DATA(prihook) *self, __u32 access, __u64 iova,
				   __u64 len, void *buf)
{
	struct pri_job *j = &self->job;

	/* One job at a time: the previous one must be over. */
	ASSERT_TRUE(job_wait(j, PRI_WAIT_MS));
	*j = (struct pri_job){
		.fd = self->e.fd, .dev_id = self->e.dev_id, .flags = self->e.dma_flags,
		.pasid = self->e.pasid, .access = access, .iova = iova, .len = len, .buf = buf,
	};
	job_run(j);
	return j;
}

static struct nestiommu_xlate_stats pr_dev(FIXTURE_DATA(prihook) *self)
{
	return xstats(&self->e, self->e.dev_id, NESTIOMMU_OBJ_DEVICE);
}

static struct nestiommu_xlate_stats pr_hwpt(FIXTURE_DATA(prihook) *self)
{
	return xstats(&self->e, self->hwpt_id, NESTIOMMU_OBJ_HWPT_NESTED);
}

/*
 * @r is the page request of the PRI device for @addr, @perm, flagged
 * LAST_PAGE if @last, as the driver makes it.
 */
static void pr_check_rec(FIXTURE_DATA(prihook) *self, const struct nestiommu_fault_record *r,
			 __u64 addr, __u32 perm, bool last)
{
	bool rid = !(self->e.dma_flags & NESTIOMMU_DMA_PASID);

	ASSERT_EQ(NESTIOMMU_RECORD_PAGE_REQUEST, r->type);
	ASSERT_EQ((rid ? 0 : NESTIOMMU_RECORD_F_PASID_VALID) | (last ? REC_LAST : 0), r->flags);
	ASSERT_EQ(self->e.dev_id, r->dev_id);
	ASSERT_EQ(rid ? 0 : ENV_PASID, r->pasid);
	ASSERT_EQ(self->hwpt_id, r->hwpt_id);
	ASSERT_EQ(addr, r->addr);
	ASSERT_EQ(perm, r->perm);
	ASSERT_LT(r->grpid, 512);
}

/*
 * Read one group of @npages page requests from @addr on, as the driver
 * sends it: one cookie and grpid, the same fault, consecutive pages,
 * LAST_PAGE on the last one only; nothing else queued. Return its cookie.
 */
static __u64 pr_read_group(FIXTURE_DATA(prihook) *self, struct nestiommu_fault_record *recs,
			   __u64 addr, int npages, __u32 perm)
{
	int i;

	for (i = 0; i < npages; i++) {
		TH_CONTEXT("record %d of %d", i + 1, npages);
		rec_read(self->qfd, &recs[i]);
		pr_check_rec(self, &recs[i], addr + i * SZ_4K, perm, i == npages - 1);
		ASSERT_EQ(recs[0].cookie, recs[i].cookie);
		ASSERT_EQ(recs[0].grpid, recs[i].grpid);
		ASSERT_EQ(0, memcmp(&recs[0].fault, &recs[i].fault, sizeof(recs[0].fault)));
	}
	/* A group's records are queued at once: no copy may follow. */
	ASSERT_FALSE(queue_readable(self->qfd, 0));
	return recs[0].cookie;
}

/*
 * The device's pri_ counters are exactly the struct pri_exp that follows
 * (outstanding: now).
 */
#define check_pri(self, ...) do {					\
	const struct nestiommu_xlate_stats __s = pr_dev(self);		\
	const struct pri_exp __exp = __VA_ARGS__;			\
									\
	ASSERT_TRUE(pri_matches(&__s, &__exp));				\
} while (0)

/*
 * Expected counters of injected outcomes and rejected decisions of a
 * device: a counter left out must be 0, ANY is not compared.
 */
struct injected_exp {
	long long page_requests;	/* injected_page_requests */
	long long pr_drops;
	long long pr_duplicates;
	long long pr_last_cleared;
	long long resp_codes;
	long long resp_drops;
	long long resp_delays;
	long long rejected;		/* hook_rejected */
};

static bool injected_matches(const struct nestiommu_xlate_stats *s,
			     const struct injected_exp *e)
{
	static const char *const names[] = { "injected_page_requests",
		"injected_pr_drops", "injected_pr_duplicates",
		"injected_pr_last_cleared", "injected_resp_codes",
		"injected_resp_drops", "injected_resp_delays", "hook_rejected" };
	const long long want[] = { e->page_requests, e->pr_drops, e->pr_duplicates,
				   e->pr_last_cleared, e->resp_codes, e->resp_drops,
				   e->resp_delays, e->rejected };
	const __u64 got[] = { s->injected_page_requests, s->injected_pr_drops,
			      s->injected_pr_duplicates, s->injected_pr_last_cleared,
			      s->injected_resp_codes, s->injected_resp_drops,
			      s->injected_resp_delays, s->hook_rejected };

	_Static_assert(sizeof(want) / sizeof(want[0]) == sizeof(names) / sizeof(names[0]),
		       "one name per counter");
	return counters_match(names, want, got, sizeof(want) / sizeof(want[0]));
}

/*
 * The device's counters of injected outcomes and rejected decisions are
 * exactly the struct injected_exp that follows, and no fault was injected.
 */
#define check_injected(self, ...) do {					\
	const struct nestiommu_xlate_stats __s = pr_dev(self);		\
	const struct injected_exp __exp = __VA_ARGS__;			\
									\
	ASSERT_TRUE(injected_matches(&__s, &__exp));			\
	ASSERT_EQ(0, __s.injected_faults);				\
} while (0)

/* Map PR_PAGE(@first..@first+@n-1) to their data pages. */
static void pr_map(FIXTURE_DATA(prihook) *self, int first, int n)
{
	int i;

	for (i = first; i < first + n; i++)
		env_map(&self->e, PR_PAGE(i), PR_DPAGE(i), SZ_4K, S1_RWU);
}

/* A device without PRI on the same HWPT and attachment. */
static __u32 pr_plain_device(FIXTURE_DATA(prihook) *self)
{
	__u32 plain;

	do_device_create(self->e.fd, 0, ENV_RID + 1, ENV_PASID_BITS, &plain);
	do_device_attach(self->e.fd, plain, self->e.attach_flags, self->e.pasid, self->hwpt_id);
	return plain;
}

/* A HWPT without a fault queue, attached at PR_OTHER_PASID of the PRI device. */
static __u32 pr_other_pasid_hwpt(FIXTURE_DATA(prihook) *self)
{
	__u32 hwpt = env_alloc_nested(&self->e, 0);

	do_device_attach(self->e.fd, self->e.dev_id, NESTIOMMU_ATTACH_PASID, PR_OTHER_PASID,
			 hwpt);
	return hwpt;
}

/* Answer an organic group at PR_PAGE(@page) FAILURE: PRI is off until DEVICE_RESET. */
static void pr_turn_pri_off(FIXTURE_DATA(prihook) *self, int page)
{
	static char buf[8];
	struct nestiommu_fault_record r;
	struct pri_job *j = pr_job_start(self, ACC_R, PR_PAGE(page), sizeof(buf), buf);

	respond(self->qfd, pr_read_group(self, &r, PR_PAGE(page), 1, ACC_R), R_FAILURE);
	check_job_fault(j, 0, PR_PAGE(page), NESTIOMMU_FAULT_REASON_PTE_FETCH, false);
}

/* ---- nest_hook_translate: page_request ---- */

/*
 * The hook's pri input: 1 for a DMA of the PRI device through the HWPT
 * with a fault queue; 0 for TRANSLATE, a device without PRI, a HWPT
 * without a fault queue, and while a FAILURE has PRI off.
 */
TEST_F(prihook, translate_pri_input)
{
	struct nestiommu_walk_step steps[XL_STEPS];
	struct nestiommu_translate xl;
	__u32 plain, hwpt2;
	char b;

	self->tr->enabled = 1;
	ASSERT_EQ(PR_BYTE, env_read_byte(&self->e, PR_PAGE(0)));
	ASSERT_EQ(1, self->tr->matched);
	ASSERT_EQ(1, self->tr->last_pri);
	ASSERT_EQ(getpid(), self->tr->last_owner_pid);

	TH_CONTEXT("TRANSLATE");
	env_translate(&self->e, 0, ACC_R, PR_PAGE(1), steps, XL_STEPS, &xl);
	ASSERT_EQ(PR_DPAGE(1), xl.out_gpa);
	ASSERT_EQ(2, self->tr->matched);
	ASSERT_EQ(0, self->tr->last_pri);

	TH_CONTEXT("a device without PRI");
	self->tr->dev_id = 0;
	plain = pr_plain_device(self);
	do_dma(self->e.fd, plain, self->e.dma_flags, self->e.pasid, ACC_R, PR_PAGE(1), 1, &b);
	ASSERT_EQ(plain, self->tr->last_dev_id);
	ASSERT_EQ(0, self->tr->last_pri);

	TH_CONTEXT("a HWPT without a fault queue");
	hwpt2 = pr_other_pasid_hwpt(self);
	do_dma(self->e.fd, self->e.dev_id, NESTIOMMU_DMA_PASID, PR_OTHER_PASID, ACC_R,
	       PR_PAGE(2), 1, &b);
	ASSERT_EQ(hwpt2, self->tr->last_hwpt_id);
	ASSERT_EQ(0, self->tr->last_pri);

	TH_CONTEXT("PRI off after FAILURE");
	self->tr->dev_id = self->e.dev_id;
	pr_turn_pri_off(self, PR_HOLE);
	ASSERT_EQ(PR_BYTE + 3, env_read_byte(&self->e, PR_PAGE(3)));
	ASSERT_EQ(PR_PAGE(3), self->tr->last_iova);
	ASSERT_EQ(0, self->tr->last_pri);
	do_device_reset(self->e.fd, self->e.dev_id);
	ASSERT_EQ(PR_BYTE + 3, env_read_byte(&self->e, PR_PAGE(3) + 1));
	ASSERT_EQ(1, self->tr->last_pri);
	check_injected(self, (struct injected_exp){ 0 });
}

/*
 * page_request = 1 once (nth = 1), on pages that are mapped: the DMA
 * sends a group marked injected (fault record flags, nest_page_request event),
 * answered SUCCESS it translates again, normally this time, and completes.
 */
TEST_F(prihook, forced_page_request_once_then_dma_completes)
{
	static char buf[SZ_4K];
	const __u64 iova = PR_PAGE(0) + 0x10;
	struct nestiommu_fault_record recs[2];
	struct nestiommu_xlate_stats d, h;
	struct pri_job *j;
	__u64 cookie;
	int i;

	fill_pattern(buf, sizeof(buf), 7);
	self->tr->page_request = 1;
	self->tr->nth = 1;
	self->tr->enabled = 1;
	/* From +0x10, 4 KiB touch pages 0 and 1: the group asks for both. */
	j = pr_job_start(self, ACC_W, iova, sizeof(buf), buf);
	cookie = pr_read_group(self, recs, PR_PAGE(0), 2, ACC_W);
	for (i = 0; i < 2; i++) {
		TH_CONTEXT("record %d", i);
		check_fault_exp(&recs[i].fault, (struct fault_exp){
			.addr = iova, .reason = NESTIOMMU_FAULT_REASON_PTE_FETCH, .stage = 1,
			.flags = NESTIOMMU_FAULT_F_INJECTED });
		ASSERT_EQ(ACC_W, recs[i].fault.access);
	}
	job_waiting(j);
	check_pri(self, (struct pri_exp){ .groups = 1, .pages = 2, .outstanding = 2 });
	ASSERT_EQ(1, self->tr->last_pri);

	respond(self->qfd, cookie, R_SUCCESS);
	check_job_ok(j);
	ASSERT_MEM_EQ(env_data(&self->e, PR_DPAGE(0) + 0x10), buf, sizeof(buf));
	/* Page 0 forced, page 0 again, page 1. */
	ASSERT_EQ(3, self->tr->matched);
	ASSERT_EQ(1, self->tr->written);
	check_pri(self, (struct pri_exp){ .groups = 1, .pages = 2, .success = 1 });
	check_injected(self, (struct injected_exp){ .page_requests = 1 });
	d = pr_dev(self);
	h = pr_hwpt(self);
	ASSERT_EQ(1, h.injected_page_requests);
	ASSERT_EQ(0, h.injected_faults);
	ASSERT_EQ(0, h.hook_rejected);
	/* Counted as a stage-1 PTE_FETCH fault, the only fault. */
	ASSERT_EQ(1, d.faults[0][NESTIOMMU_FAULT_REASON_PTE_FETCH]);
	ASSERT_EQ(1, faults_sum(&d));
	ASSERT_EQ(1, h.faults[0][NESTIOMMU_FAULT_REASON_PTE_FETCH]);

	TH_CONTEXT("marks");
	ASSERT_EQ(1, self->fm->faults);
	ASSERT_EQ(1, self->fm->injected);
	ASSERT_EQ(2, self->prm->events);
	ASSERT_EQ(2, self->prm->forced);
	ASSERT_EQ(1, self->prm->last_pages);
	ASSERT_EQ(0, self->prm->dropped + self->prm->duplicated + self->prm->last_cleared);
	ASSERT_EQ(PR_INJ_FORCED, self->prm->last_injected);
	ASSERT_EQ(cookie, self->prm->last_cookie);
	ASSERT_EQ(1, self->rsm->events);
	ASSERT_EQ(0, self->rsm->automatic + self->rsm->codes + self->rsm->delayed);
	ASSERT_EQ(0, self->rsm->last_injected);
	ASSERT_EQ(R_SUCCESS, self->rsm->last_code);
	ASSERT_EQ(cookie, self->rsm->last_cookie);
	ASSERT_FALSE(queue_readable(self->qfd, 0));
}

/*
 * page_request = 1 at every translation: each SUCCESS is followed by
 * another group, and after NESTIOMMU_PRI_RETRIES groups the DMA stops
 * with the injected fault.
 */
TEST_F(prihook, forced_page_request_always_retries_then_faults)
{
	static char buf[16];
	struct nestiommu_fault_record r;
	struct pri_job *j;
	__u64 cookie;
	int i;

	self->tr->page_request = 1;
	self->tr->enabled = 1;
	j = pr_job_start(self, ACC_R, PR_PAGE(1) + 8, sizeof(buf), buf);
	for (i = 0; i < NESTIOMMU_PRI_RETRIES; i++) {
		TH_CONTEXT("group %d", i + 1);
		cookie = pr_read_group(self, &r, PR_PAGE(1), 1, ACC_R);
		ASSERT_EQ(NESTIOMMU_FAULT_F_INJECTED, r.fault.flags);
		respond(self->qfd, cookie, R_SUCCESS);
	}
	TH_CONTEXT("after the last group");
	check_job_fault(j, 0, PR_PAGE(1) + 8, NESTIOMMU_FAULT_REASON_PTE_FETCH, true);
	ASSERT_EQ(ACC_R, j->dma.out_fault.access);
	ASSERT_FALSE(queue_readable(self->qfd, PRI_QUIET_MS));
	check_pri(self, (struct pri_exp){
		.groups = NESTIOMMU_PRI_RETRIES, .pages = NESTIOMMU_PRI_RETRIES,
		.success = NESTIOMMU_PRI_RETRIES });
	/* Every translation was forced; the last one found no retry left. */
	ASSERT_EQ(NESTIOMMU_PRI_RETRIES + 1, self->tr->written);
	check_injected(self, (struct injected_exp){
		.page_requests = NESTIOMMU_PRI_RETRIES + 1 });
	ASSERT_EQ(NESTIOMMU_PRI_RETRIES + 1, pr_hwpt(self).injected_page_requests);
	ASSERT_EQ(NESTIOMMU_PRI_RETRIES + 1, self->fm->injected);
	ASSERT_EQ(NESTIOMMU_PRI_RETRIES + 1, self->fm->faults);
	ASSERT_EQ(NESTIOMMU_PRI_RETRIES, self->prm->forced);
	ASSERT_EQ(NESTIOMMU_PRI_RETRIES, self->prm->events);

	TH_CONTEXT("injection off");
	self->tr->enabled = 0;
	ASSERT_EQ(PR_BYTE + 1, env_read_byte(&self->e, PR_PAGE(1) + 8));
}

/* A forced page request answered INVALID stops the DMA with the injected fault. */
TEST_F(prihook, forced_page_request_answered_invalid)
{
	static char buf[2 * SZ_4K];
	struct nestiommu_fault_record r;
	struct pri_job *j;

	/* Force at page 1 only: page 0 goes through first. */
	fill_pattern(buf, sizeof(buf), 9);
	self->tr->iova_lo = PR_PAGE(1);
	self->tr->iova_hi = PR_PAGE(2);
	self->tr->page_request = 1;
	self->tr->enabled = 1;
	j = pr_job_start(self, ACC_W, PR_PAGE(0), sizeof(buf), buf);
	respond(self->qfd, pr_read_group(self, &r, PR_PAGE(1), 1, ACC_W), R_INVALID);
	check_fault_exp(&r.fault, (struct fault_exp){
		.addr = PR_PAGE(1), .reason = NESTIOMMU_FAULT_REASON_PTE_FETCH, .stage = 1,
		.flags = NESTIOMMU_FAULT_F_INJECTED });
	check_job_fault(j, SZ_4K, PR_PAGE(1), NESTIOMMU_FAULT_REASON_PTE_FETCH, true);
	ASSERT_MEM_EQ(env_data(&self->e, PR_DPAGE(0)), buf, SZ_4K);
	ASSERT_MEM_BYTE(env_data(&self->e, PR_DPAGE(1)), PR_BYTE + 1, SZ_4K);
	check_pri(self, (struct pri_exp){ .groups = 1, .pages = 1, .invalid = 1 });
	check_injected(self, (struct injected_exp){ .page_requests = 1 });
	ASSERT_EQ(1, self->prm->forced);
}

/*
 * page_request = 1 where the hook's pri input is 0 is rejected: counted in
 * hook_rejected (device and HWPT), the translation goes on normally and
 * nothing is asked.
 */
TEST_F(prihook, page_request_without_pri_rejected)
{
	struct nestiommu_walk_step steps[XL_STEPS];
	struct nestiommu_xlate_stats st;
	struct nestiommu_translate xl;
	__u32 plain, hwpt2;
	char b;

	self->tr->dev_id = 0;
	self->tr->page_request = 1;
	self->tr->enabled = 1;

	TH_CONTEXT("TRANSLATE");
	env_translate(&self->e, 0, ACC_R, PR_PAGE(0), steps, XL_STEPS, &xl);
	ASSERT_EQ(0, xl.out_flags);
	ASSERT_EQ(PR_DPAGE(0), xl.out_gpa);
	ASSERT_EQ(0, self->tr->last_pri);
	check_injected(self, (struct injected_exp){ .rejected = 1 });
	ASSERT_EQ(1, pr_hwpt(self).hook_rejected);

	TH_CONTEXT("a device without PRI");
	plain = pr_plain_device(self);
	do_dma(self->e.fd, plain, self->e.dma_flags, self->e.pasid, ACC_R, PR_PAGE(1), 1, &b);
	ASSERT_EQ(PR_BYTE + 1, (unsigned char)b);
	ASSERT_EQ(0, self->tr->last_pri);
	do_xlate_stats(self->e.fd, plain, NESTIOMMU_OBJ_DEVICE, &st);
	ASSERT_EQ(1, st.hook_rejected);
	ASSERT_EQ(0, st.injected_page_requests);
	ASSERT_EQ(2, pr_hwpt(self).hook_rejected);

	TH_CONTEXT("a HWPT without a fault queue");
	hwpt2 = pr_other_pasid_hwpt(self);
	do_dma(self->e.fd, self->e.dev_id, NESTIOMMU_DMA_PASID, PR_OTHER_PASID, ACC_R,
	       PR_PAGE(2), 1, &b);
	ASSERT_EQ(PR_BYTE + 2, (unsigned char)b);
	ASSERT_EQ(0, self->tr->last_pri);
	do_xlate_stats(self->e.fd, hwpt2, NESTIOMMU_OBJ_HWPT_NESTED, &st);
	ASSERT_EQ(1, st.hook_rejected);
	check_injected(self, (struct injected_exp){ .rejected = 2 });

	TH_CONTEXT("PRI off after FAILURE");
	self->tr->enabled = 0;
	pr_turn_pri_off(self, PR_HOLE);
	self->tr->enabled = 1;
	ASSERT_EQ(PR_BYTE + 3, env_read_byte(&self->e, PR_PAGE(3)));
	ASSERT_EQ(0, self->tr->last_pri);
	check_injected(self, (struct injected_exp){ .rejected = 3 });
	ASSERT_EQ(3, pr_hwpt(self).hook_rejected);
	ASSERT_EQ(0, pr_hwpt(self).injected_page_requests);
	/* Only the FAILURE's group was ever sent. */
	check_pri(self, (struct pri_exp){ .groups = 1, .pages = 1, .failure = 1 });
	ASSERT_EQ(1, self->prm->events);
	ASSERT_EQ(0, self->prm->forced);
	ASSERT_FALSE(queue_readable(self->qfd, 0));
}

/* page_request values other than 0 and 1 are rejected: the DMA goes through. */
TEST_F(prihook, page_request_bad_values_rejected)
{
	const __u32 bad[] = { 2, 3, 0x80000000, 0xffffffff };
	const size_t n = sizeof(bad) / sizeof(bad[0]);
	static char buf[16];
	struct pri_job *j;
	size_t i;

	self->tr->enabled = 1;
	for (i = 0; i < n; i++) {
		TH_CONTEXT("page_request %u", bad[i]);
		self->tr->page_request = bad[i];
		j = pr_job_start(self, ACC_R, PR_PAGE(2) + i, sizeof(buf), buf);
		check_job_ok(j);
		ASSERT_MEM_BYTE(buf, PR_BYTE + 2, sizeof(buf));
		ASSERT_EQ(1, self->tr->last_pri);
		check_injected(self, (struct injected_exp){ .rejected = i + 1 });
		ASSERT_EQ(i + 1, pr_hwpt(self).hook_rejected);
	}
	ASSERT_EQ(n, self->tr->written);
	check_pri(self, (struct pri_exp){ 0 });
	ASSERT_EQ(0, self->prm->events);
	ASSERT_FALSE(queue_readable(self->qfd, 0));
}

/*
 * fault_reason wins over page_request: a valid one faults at once with no
 * page request (even PTE_FETCH of stage 1: an injected fault is not
 * fixable), queued as an injected FAULT record; an invalid one makes the
 * whole decision rejected.
 */
TEST_F(prihook, fault_reason_wins_over_page_request)
{
	struct nestiommu_fault_record r;
	struct nestiommu_xlate_stats h;
	static char buf[8];
	struct pri_job *j;

	self->tr->fault_reason = NESTIOMMU_FAULT_REASON_PTE_FETCH;
	self->tr->fault_stage = 1;
	self->tr->page_request = 1;
	self->tr->enabled = 1;
	j = pr_job_start(self, ACC_W, PR_PAGE(0) + 4, sizeof(buf), buf);
	check_job_fault(j, 0, PR_PAGE(0) + 4, NESTIOMMU_FAULT_REASON_PTE_FETCH, true);
	rec_read(self->qfd, &r);
	ASSERT_EQ(NESTIOMMU_RECORD_FAULT, r.type);
	ASSERT_EQ(0, memcmp(&j->dma.out_fault, &r.fault, sizeof(r.fault)));
	ASSERT_FALSE(queue_readable(self->qfd, 0));
	check_pri(self, (struct pri_exp){ 0 });
	h = pr_hwpt(self);
	ASSERT_EQ(1, pr_dev(self).injected_faults);
	ASSERT_EQ(1, h.injected_faults);
	ASSERT_EQ(0, h.injected_page_requests);
	ASSERT_EQ(0, pr_dev(self).injected_page_requests);
	ASSERT_EQ(0, pr_dev(self).hook_rejected);

	TH_CONTEXT("a bad fault_reason with page_request");
	self->tr->fault_reason = 99;
	j = pr_job_start(self, ACC_R, PR_PAGE(0), sizeof(buf), buf);
	check_job_ok(j);
	ASSERT_MEM_BYTE(buf, PR_BYTE, sizeof(buf));
	ASSERT_FALSE(queue_readable(self->qfd, 0));
	h = pr_hwpt(self);
	ASSERT_EQ(1, h.hook_rejected);
	ASSERT_EQ(1, pr_dev(self).hook_rejected);
	ASSERT_EQ(0, pr_dev(self).injected_page_requests);
	ASSERT_EQ(1, pr_dev(self).injected_faults);
	check_pri(self, (struct pri_exp){ 0 });
}

/* ---- nest_hook_page_request ---- */

/* A decision of zeros changes nothing; the hook saw the group. */
TEST_F(prihook, page_request_hook_sees_the_group)
{
	static char buf[2 * SZ_4K];
	struct nestiommu_fault_record recs[3];
	const __u64 iova = PR_PAGE(PR_HOLE) + 0x20;
	struct pri_job *j;
	__u64 cookie;

	self->rq->enabled = 1;
	/* From +0x20, 8 KiB touch three pages. */
	j = pr_job_start(self, ACC_W, iova, sizeof(buf), buf);
	cookie = pr_read_group(self, recs, PR_PAGE(PR_HOLE), 3, ACC_W);
	ASSERT_EQ(0, recs[0].fault.flags & NESTIOMMU_FAULT_F_INJECTED);
	ASSERT_EQ(1, self->rq->matched);
	ASSERT_EQ(1, self->rq->written);
	ASSERT_EQ(self->e.dev_id, self->rq->last_dev_id);
	ASSERT_EQ(variant->rid ? NESTIOMMU_PASID_NONE : ENV_PASID, self->rq->last_pasid);
	ASSERT_EQ(self->hwpt_id, self->rq->last_hwpt_id);
	ASSERT_EQ(recs[0].grpid, self->rq->last_grpid);
	ASSERT_EQ(cookie, self->rq->last_cookie);
	ASSERT_EQ(PR_PAGE(PR_HOLE), self->rq->last_addr);
	ASSERT_EQ(3, self->rq->last_npages);
	ASSERT_EQ(ACC_W, self->rq->last_perm);
	ASSERT_EQ(getpid(), self->rq->last_owner_pid);
	ASSERT_EQ(getpid(), self->prm->last_owner_pid);
	respond(self->qfd, cookie, R_INVALID);
	check_job_fault(j, 0, iova, NESTIOMMU_FAULT_REASON_PTE_FETCH, false);
	check_pri(self, (struct pri_exp){ .groups = 1, .pages = 3, .invalid = 1 });
	check_injected(self, (struct injected_exp){ 0 });
	ASSERT_EQ(3, self->prm->events);
	ASSERT_EQ(1, self->prm->last_pages);
	ASSERT_EQ(0, self->prm->last_injected);
}

/*
 * drop = 1: the group is lost, no record queued; it stays outstanding and
 * the DMA waits until the PRI timeout answers it. The nest_page_request event
 * still fires, marked dropped.
 */
TEST_F(prihook, dropped_group_answered_by_timeout)
{
	const unsigned int timeout_ms = 1000;
	static char buf[64];
	struct pri_job *j;
	__u64 t0 = now_ns();

	do_option_set(self->e.fd, NESTIOMMU_OPTION_PRI_TIMEOUT_MS, self->e.dev_id, timeout_ms);
	self->rq->drop = 1;
	self->rq->enabled = 1;
	j = pr_job_start(self, ACC_W, PR_PAGE(PR_HOLE), sizeof(buf), buf);
	ASSERT_TRUE(bpf_count_reaches(&self->rq->written, 1));
	check_pri(self, (struct pri_exp){ .groups = 1, .pages = 1, .outstanding = 1 });
	job_waiting(j);
	ASSERT_FALSE(queue_readable(self->qfd, 0));
	check_injected(self, (struct injected_exp){ .pr_drops = 1 });
	ASSERT_EQ(1, self->prm->events);
	ASSERT_EQ(1, self->prm->dropped);
	ASSERT_EQ(PR_INJ_DROPPED, self->prm->last_injected);
	ASSERT_EQ(self->rq->last_cookie, self->prm->last_cookie);

	check_job_fault(j, 0, PR_PAGE(PR_HOLE), NESTIOMMU_FAULT_REASON_PTE_FETCH, false);
	ASSERT_LE(t0 + timeout_ms * 1000000ULL - DELAY_SLACK_NS, j->end_ns);
	check_pri(self, (struct pri_exp){
		.groups = 1, .pages = 1, .auto_invalid = 1, .timeouts = 1 });
	ASSERT_EQ(1, self->rsm->events);
	ASSERT_EQ(1, self->rsm->automatic);
	ASSERT_EQ(0, self->rsm->last_injected);
	/* Answered by the timeout's kworker, still the owner's. */
	ASSERT_EQ(getpid(), self->rsm->last_owner_pid);
	ASSERT_EQ(0, self->rs->calls);
	respond_err(EINVAL, self->qfd, self->rq->last_cookie, R_SUCCESS);
	ASSERT_FALSE(queue_readable(self->qfd, 0));
	check_injected(self, (struct injected_exp){ .pr_drops = 1 });
}

/* A lost group is answered by DEVICE_RESET as well; drop wins over the others. */
TEST_F(prihook, dropped_group_answered_by_device_reset)
{
	static char buf[2 * SZ_4K];
	struct nestiommu_fault_record r;
	struct pri_job *j;

	self->rq->drop = 1;
	self->rq->duplicate = 1;
	self->rq->clear_last = 1;
	self->rq->enabled = 1;
	j = pr_job_start(self, ACC_R, PR_PAGE(PR_HOLE), sizeof(buf), buf);
	ASSERT_TRUE(bpf_count_reaches(&self->rq->written, 1));
	job_waiting(j);
	ASSERT_FALSE(queue_readable(self->qfd, 0));
	check_pri(self, (struct pri_exp){ .groups = 1, .pages = 2, .outstanding = 2 });
	do_device_reset(self->e.fd, self->e.dev_id);
	check_job_fault(j, 0, PR_PAGE(PR_HOLE), NESTIOMMU_FAULT_REASON_PTE_FETCH, false);
	check_pri(self, (struct pri_exp){ .groups = 1, .pages = 2, .auto_invalid = 1 });
	check_injected(self, (struct injected_exp){ .pr_drops = 1 });
	ASSERT_EQ(2, self->prm->events);
	ASSERT_EQ(2, self->prm->dropped);
	ASSERT_EQ(0, self->prm->duplicated + self->prm->last_cleared);
	ASSERT_EQ(1, self->rsm->automatic);
	ASSERT_EQ(0, self->rs->calls);

	TH_CONTEXT("hook off");
	self->rq->enabled = 0;
	j = pr_job_start(self, ACC_R, PR_PAGE(PR_HOLE), 8, buf);
	respond(self->qfd, pr_read_group(self, &r, PR_PAGE(PR_HOLE), 1, ACC_R), R_INVALID);
	check_job_fault(j, 0, PR_PAGE(PR_HOLE), NESTIOMMU_FAULT_REASON_PTE_FETCH, false);
	check_injected(self, (struct injected_exp){ .pr_drops = 1 });
}

/*
 * duplicate = 1: every record of the group is queued twice, with the same
 * cookie; the group is answered once.
 */
TEST_F(prihook, duplicated_group_records_queued_twice)
{
	static char buf[2 * SZ_4K];
	struct nestiommu_fault_record recs[4];
	struct nestiommu_fault_queue_stats qs;
	__u32 type, len = sizeof(qs);
	struct pri_job *j;
	int i;

	fill_pattern(buf, sizeof(buf), 11);
	self->rq->duplicate = 1;
	self->rq->enabled = 1;
	j = pr_job_start(self, ACC_W, PR_PAGE(PR_HOLE), sizeof(buf), buf);
	/* Page 0, page 0, page 1 (LAST), page 1 (LAST). */
	for (i = 0; i < 4; i++) {
		TH_CONTEXT("record %d", i);
		rec_read(self->qfd, &recs[i]);
		pr_check_rec(self, &recs[i], PR_PAGE(PR_HOLE + i / 2), ACC_W, i >= 2);
		ASSERT_EQ(recs[0].cookie, recs[i].cookie);
		ASSERT_EQ(recs[0].grpid, recs[i].grpid);
		ASSERT_EQ(0, memcmp(&recs[0].fault, &recs[i].fault, sizeof(recs[0].fault)));
	}
	ASSERT_EQ(self->rq->last_cookie, recs[0].cookie);
	job_waiting(j);
	ASSERT_FALSE(queue_readable(self->qfd, 0));
	ASSERT_OK(nest_get_stats(self->e.fd, self->fault_id, &type, &qs, &len));
	ASSERT_EQ(4, qs.queued);
	/* Two pages asked for, not four. */
	check_pri(self, (struct pri_exp){ .groups = 1, .pages = 2, .outstanding = 2 });
	check_injected(self, (struct injected_exp){ .pr_duplicates = 1 });
	ASSERT_EQ(2, self->prm->events);
	ASSERT_EQ(2, self->prm->duplicated);
	ASSERT_EQ(1, self->prm->last_pages);
	ASSERT_EQ(PR_INJ_DUPLICATED, self->prm->last_injected);

	TH_CONTEXT("answered");
	pr_map(self, PR_HOLE, 2);
	respond(self->qfd, recs[0].cookie, R_SUCCESS);
	respond_err(EINVAL, self->qfd, recs[2].cookie, R_SUCCESS);
	check_job_ok(j);
	ASSERT_MEM_EQ(env_data(&self->e, PR_DPAGE(PR_HOLE)), buf, sizeof(buf));
	check_pri(self, (struct pri_exp){ .groups = 1, .pages = 2, .success = 1 });
	ASSERT_EQ(1, self->rsm->events);
	check_injected(self, (struct injected_exp){ .pr_duplicates = 1 });
}

/* clear_last = 1: no record of the group has LAST_PAGE; it is answered as usual. */
TEST_F(prihook, cleared_last_page_group)
{
	static char buf[2 * SZ_4K];
	struct nestiommu_fault_record recs[2];
	struct pri_job *j;
	int i;

	fill_pattern(buf, sizeof(buf), 13);
	self->rq->clear_last = 1;
	self->rq->enabled = 1;
	j = pr_job_start(self, ACC_W, PR_PAGE(PR_HOLE), sizeof(buf), buf);
	for (i = 0; i < 2; i++) {
		TH_CONTEXT("record %d", i);
		rec_read(self->qfd, &recs[i]);
		pr_check_rec(self, &recs[i], PR_PAGE(PR_HOLE + i), ACC_W, false);
		ASSERT_EQ(recs[0].cookie, recs[i].cookie);
	}
	job_waiting(j);
	ASSERT_FALSE(queue_readable(self->qfd, 0));
	check_pri(self, (struct pri_exp){ .groups = 1, .pages = 2, .outstanding = 2 });
	check_injected(self, (struct injected_exp){ .pr_last_cleared = 1 });
	ASSERT_EQ(2, self->prm->events);
	ASSERT_EQ(2, self->prm->last_cleared);
	ASSERT_EQ(0, self->prm->last_pages);
	ASSERT_EQ(PR_INJ_LAST_CLEARED, self->prm->last_injected);

	pr_map(self, PR_HOLE, 2);
	respond(self->qfd, recs[0].cookie, R_SUCCESS);
	check_job_ok(j);
	ASSERT_MEM_EQ(env_data(&self->e, PR_DPAGE(PR_HOLE)), buf, sizeof(buf));
	check_pri(self, (struct pri_exp){ .groups = 1, .pages = 2, .success = 1 });
}

/*
 * Values other than 0 and 1 (in any field) reject the whole decision: the
 * group is sent as usual, and hook_rejected of the device counts it.
 */
TEST_F(prihook, page_request_invalid_decisions_rejected)
{
	const struct { __u32 drop, duplicate, clear_last; } bad[] = {
		{ 2, 0, 0 }, { 0, 2, 0 }, { 0, 0, 2 }, { 0xffffffff, 0, 0 },
		{ 1, 2, 0 }, { 0, 1, 0x80000000 },
	};
	const size_t n = sizeof(bad) / sizeof(bad[0]);
	struct nestiommu_fault_record r;
	static char buf[8];
	struct pri_job *j;
	size_t i;

	self->rq->enabled = 1;
	for (i = 0; i < n; i++) {
		TH_CONTEXT("drop %u duplicate %u clear_last %u", bad[i].drop, bad[i].duplicate,
			   bad[i].clear_last);
		self->rq->drop = bad[i].drop;
		self->rq->duplicate = bad[i].duplicate;
		self->rq->clear_last = bad[i].clear_last;
		j = pr_job_start(self, ACC_R, PR_PAGE(PR_HOLE + i), sizeof(buf), buf);
		respond(self->qfd, pr_read_group(self, &r, PR_PAGE(PR_HOLE + i), 1, ACC_R),
			R_INVALID);
		check_job_fault(j, 0, PR_PAGE(PR_HOLE + i), NESTIOMMU_FAULT_REASON_PTE_FETCH,
				false);
		check_injected(self, (struct injected_exp){ .rejected = i + 1 });
		ASSERT_EQ(0, self->prm->last_injected);
	}
	ASSERT_EQ(n, self->rq->written);
	check_pri(self, (struct pri_exp){ .groups = n, .pages = n, .invalid = n });
	ASSERT_EQ(n, self->prm->events);
	ASSERT_EQ(n, self->prm->last_pages);
	ASSERT_EQ(0, self->prm->dropped + self->prm->duplicated + self->prm->last_cleared);
	/* Counted on the device. */
	ASSERT_EQ(0, pr_hwpt(self).hook_rejected);
}

/* ---- nest_hook_page_response ---- */

/* A decision of zeros changes nothing; the hook saw the response. */
TEST_F(prihook, page_response_hook_sees_the_response)
{
	static char buf[64];
	struct nestiommu_fault_record r;
	struct pri_job *j;

	self->rs->enabled = 1;
	j = pr_job_start(self, ACC_W, PR_PAGE(PR_HOLE), sizeof(buf), buf);
	pr_read_group(self, &r, PR_PAGE(PR_HOLE), 1, ACC_W);
	job_waiting(j);
	pr_map(self, PR_HOLE, 1);
	respond(self->qfd, r.cookie, R_SUCCESS);
	check_job_ok(j);
	ASSERT_EQ(1, self->rs->matched);
	ASSERT_EQ(self->e.dev_id, self->rs->last_dev_id);
	ASSERT_EQ(variant->rid ? NESTIOMMU_PASID_NONE : ENV_PASID, self->rs->last_pasid);
	ASSERT_EQ(r.grpid, self->rs->last_grpid);
	ASSERT_EQ(R_SUCCESS, self->rs->last_code);
	ASSERT_EQ(r.cookie, self->rs->last_cookie);
	ASSERT_EQ(getpid(), self->rs->last_owner_pid);
	ASSERT_EQ(getpid(), self->rs->last_tgid);
	/* The group waited at least job_waiting()'s time, and was sent after the fault. */
	ASSERT_LE(PRI_QUIET_MS * 1000000ULL, self->rs->last_age_ns);
	ASSERT_GE(now_ns() - r.timestamp_ns, self->rs->last_age_ns);
	check_pri(self, (struct pri_exp){ .groups = 1, .pages = 1, .success = 1 });
	check_injected(self, (struct injected_exp){ 0 });
	ASSERT_EQ(1, self->rsm->events);
	ASSERT_EQ(0, self->rsm->last_injected);
	ASSERT_LE(self->rs->last_age_ns, self->rsm->last_latency_ns);
	ASSERT_EQ(getpid(), self->rsm->last_owner_pid);
}

/*
 * A response another process writes (a child sharing the fault fd) still
 * belongs to the context's owner: the hook and the event carry its pid.
 */
TEST_F(prihook, response_from_child_carries_owner)
{
	static char buf[64];
	struct nestiommu_fault_record r;
	struct pri_job *j;
	int status;
	pid_t pid;

	self->rs->tgid = 0;	/* whoever writes the response */
	self->rs->enabled = 1;
	j = pr_job_start(self, ACC_W, PR_PAGE(PR_HOLE), sizeof(buf), buf);
	pr_read_group(self, &r, PR_PAGE(PR_HOLE), 1, ACC_W);
	job_waiting(j);
	pr_map(self, PR_HOLE, 1);
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		struct nestiommu_page_response resp = {
			.cookie = r.cookie,
			.code = R_SUCCESS,
		};

		_exit(write(self->qfd, &resp, sizeof(resp)) == sizeof(resp) ? 0 : 1);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_EQ(0, status);
	check_job_ok(j);
	ASSERT_EQ(1, self->rs->matched);
	ASSERT_EQ(pid, self->rs->last_tgid);
	ASSERT_EQ(getpid(), self->rs->last_owner_pid);
	ASSERT_EQ(1, self->rsm->events);
	ASSERT_EQ(getpid(), self->rsm->last_owner_pid);
}

/*
 * set_code = 1: new_code is delivered instead of the user's code: SUCCESS
 * made INVALID stops the DMA though the page is mapped, INVALID made
 * SUCCESS lets it complete.
 */
TEST_F(prihook, set_code_replaces_the_code)
{
	static char buf[64];
	struct nestiommu_fault_record r;
	struct pri_job *j;

	self->rs->set_code = 1;
	self->rs->new_code = R_INVALID;
	self->rs->enabled = 1;
	j = pr_job_start(self, ACC_W, PR_PAGE(PR_HOLE), sizeof(buf), buf);
	pr_read_group(self, &r, PR_PAGE(PR_HOLE), 1, ACC_W);
	pr_map(self, PR_HOLE, 1);
	respond(self->qfd, r.cookie, R_SUCCESS);
	check_job_fault(j, 0, PR_PAGE(PR_HOLE), NESTIOMMU_FAULT_REASON_PTE_FETCH, false);
	ASSERT_EQ(R_SUCCESS, self->rs->last_code);
	check_pri(self, (struct pri_exp){ .groups = 1, .pages = 1, .invalid = 1 });
	check_injected(self, (struct injected_exp){ .resp_codes = 1 });
	ASSERT_EQ(1, self->rsm->codes);
	ASSERT_EQ(RESP_INJ_CODE, self->rsm->last_injected);
	ASSERT_EQ(R_INVALID, self->rsm->last_code);
	ASSERT_EQ(0, self->rsm->last_automatic);
	respond_err(EINVAL, self->qfd, r.cookie, R_SUCCESS);

	TH_CONTEXT("INVALID made SUCCESS");
	self->rs->new_code = R_SUCCESS;
	fill_pattern(buf, sizeof(buf), 15);
	j = pr_job_start(self, ACC_W, PR_PAGE(PR_HOLE + 1), sizeof(buf), buf);
	pr_read_group(self, &r, PR_PAGE(PR_HOLE + 1), 1, ACC_W);
	pr_map(self, PR_HOLE + 1, 1);
	respond(self->qfd, r.cookie, R_INVALID);
	check_job_ok(j);
	ASSERT_MEM_EQ(env_data(&self->e, PR_DPAGE(PR_HOLE + 1)), buf, sizeof(buf));
	check_pri(self, (struct pri_exp){
		.groups = 2, .pages = 2, .success = 1, .invalid = 1 });
	check_injected(self, (struct injected_exp){ .resp_codes = 2 });
	ASSERT_EQ(2, self->rsm->codes);
	ASSERT_EQ(R_SUCCESS, self->rsm->last_code);
}

/* SUCCESS made FAILURE: the DMA stops and PRI is off until DEVICE_RESET. */
TEST_F(prihook, set_code_failure_disables_pri_until_reset)
{
	static char buf[64];
	struct nestiommu_fault_record r;
	struct pri_job *j;

	self->rs->set_code = 1;
	self->rs->new_code = R_FAILURE;
	self->rs->enabled = 1;
	self->tr->enabled = 1;
	j = pr_job_start(self, ACC_W, PR_PAGE(PR_HOLE), sizeof(buf), buf);
	pr_read_group(self, &r, PR_PAGE(PR_HOLE), 1, ACC_W);
	pr_map(self, PR_HOLE, 1);
	respond(self->qfd, r.cookie, R_SUCCESS);
	check_job_fault(j, 0, PR_PAGE(PR_HOLE), NESTIOMMU_FAULT_REASON_PTE_FETCH, false);
	check_pri(self, (struct pri_exp){ .groups = 1, .pages = 1, .failure = 1 });
	check_injected(self, (struct injected_exp){ .resp_codes = 1 });
	ASSERT_EQ(R_FAILURE, self->rsm->last_code);
	ASSERT_EQ(RESP_INJ_CODE, self->rsm->last_injected);

	TH_CONTEXT("PRI off");
	self->rs->enabled = 0;
	j = pr_job_start(self, ACC_R, PR_PAGE(PR_HOLE + 1), 8, buf);
	check_job_fault(j, 0, PR_PAGE(PR_HOLE + 1), NESTIOMMU_FAULT_REASON_PTE_FETCH, false);
	ASSERT_EQ(0, self->tr->last_pri);
	rec_read(self->qfd, &r);
	ASSERT_EQ(NESTIOMMU_RECORD_FAULT, r.type);
	ASSERT_EQ(PR_PAGE(PR_HOLE + 1), r.fault.addr);
	ASSERT_FALSE(queue_readable(self->qfd, 0));

	TH_CONTEXT("after DEVICE_RESET");
	do_device_reset(self->e.fd, self->e.dev_id);
	j = pr_job_start(self, ACC_R, PR_PAGE(PR_HOLE + 1), 8, buf);
	respond(self->qfd, pr_read_group(self, &r, PR_PAGE(PR_HOLE + 1), 1, ACC_R), R_INVALID);
	check_job_fault(j, 0, PR_PAGE(PR_HOLE + 1), NESTIOMMU_FAULT_REASON_PTE_FETCH, false);
	ASSERT_EQ(1, self->tr->last_pri);
	check_pri(self, (struct pri_exp){
		.groups = 2, .pages = 2, .invalid = 1, .failure = 1 });
	check_injected(self, (struct injected_exp){ .resp_codes = 1 });
}

/*
 * drop = 1: write() succeeds, the response is lost and the group stays
 * outstanding; the next response to it (not picked by nth) answers it.
 */
TEST_F(prihook, dropped_response_leaves_group_outstanding)
{
	const struct nestiommu_page_response resp = { .code = R_SUCCESS };
	struct nestiommu_page_response w = resp;
	static char buf[64];
	struct nestiommu_fault_record r;
	struct pri_job *j;

	fill_pattern(buf, sizeof(buf), 17);
	self->rs->drop = 1;
	self->rs->nth = 1;
	self->rs->enabled = 1;
	j = pr_job_start(self, ACC_W, PR_PAGE(PR_HOLE), sizeof(buf), buf);
	w.cookie = pr_read_group(self, &r, PR_PAGE(PR_HOLE), 1, ACC_W);
	pr_map(self, PR_HOLE, 1);
	ASSERT_EQ((ssize_t)sizeof(w), write(self->qfd, &w, sizeof(w)));
	job_waiting(j);
	check_pri(self, (struct pri_exp){ .groups = 1, .pages = 1, .outstanding = 1 });
	check_injected(self, (struct injected_exp){ .resp_drops = 1 });
	/* Nothing was answered: no nest_page_response event. */
	ASSERT_EQ(0, self->rsm->events);

	TH_CONTEXT("the same response again");
	ASSERT_EQ((ssize_t)sizeof(w), write(self->qfd, &w, sizeof(w)));
	check_job_ok(j);
	ASSERT_MEM_EQ(env_data(&self->e, PR_DPAGE(PR_HOLE)), buf, sizeof(buf));
	ASSERT_EQ(2, self->rs->matched);
	ASSERT_EQ(1, self->rs->written);
	check_pri(self, (struct pri_exp){ .groups = 1, .pages = 1, .success = 1 });
	check_injected(self, (struct injected_exp){ .resp_drops = 1 });
	ASSERT_EQ(1, self->rsm->events);
	ASSERT_EQ(0, self->rsm->last_injected);
	/* A response to no pending group never reaches the hook. */
	respond_err(EINVAL, self->qfd, w.cookie, R_SUCCESS);
	ASSERT_EQ(2, self->rs->calls);
}

/*
 * delay_us: write() returns at once, the response is delivered that much
 * later (the DMA goes on only then), marked delayed; with set_code both
 * marks.
 */
TEST_F(prihook, delayed_response_delivered_late)
{
	const __u32 delay_us = 300000;
	const __u64 delay_ns = delay_us * 1000ULL;
	static char buf[64];
	struct nestiommu_fault_record r;
	struct pri_job *j;
	__u64 t_write;

	fill_pattern(buf, sizeof(buf), 19);
	self->rs->delay_us = delay_us;
	self->rs->enabled = 1;
	j = pr_job_start(self, ACC_W, PR_PAGE(PR_HOLE), sizeof(buf), buf);
	pr_read_group(self, &r, PR_PAGE(PR_HOLE), 1, ACC_W);
	pr_map(self, PR_HOLE, 1);
	t_write = now_ns();
	respond(self->qfd, r.cookie, R_SUCCESS);
	/* Taken by the first write: the group is no longer answerable. */
	respond_err(EINVAL, self->qfd, r.cookie, R_INVALID);
	check_job_ok(j);
	ASSERT_LE(t_write + delay_ns - DELAY_SLACK_NS, j->end_ns);
	ASSERT_MEM_EQ(env_data(&self->e, PR_DPAGE(PR_HOLE)), buf, sizeof(buf));
	check_pri(self, (struct pri_exp){ .groups = 1, .pages = 1, .success = 1 });
	check_injected(self, (struct injected_exp){ .resp_delays = 1 });
	ASSERT_EQ(1, self->rsm->events);
	ASSERT_EQ(1, self->rsm->delayed);
	ASSERT_EQ(0, self->rsm->automatic);
	ASSERT_EQ(RESP_INJ_DELAYED, self->rsm->last_injected);
	ASSERT_EQ(R_SUCCESS, self->rsm->last_code);
	ASSERT_LE(delay_ns - DELAY_SLACK_NS, self->rsm->last_latency_ns);
	/* The hook ran in the writer (the tgid filter matched), once per write. */
	ASSERT_EQ(1, self->rs->written);

	TH_CONTEXT("delayed and replaced");
	self->rs->set_code = 1;
	self->rs->new_code = R_INVALID;
	j = pr_job_start(self, ACC_R, PR_PAGE(PR_HOLE + 1), 8, buf);
	pr_read_group(self, &r, PR_PAGE(PR_HOLE + 1), 1, ACC_R);
	t_write = now_ns();
	respond(self->qfd, r.cookie, R_SUCCESS);
	check_job_fault(j, 0, PR_PAGE(PR_HOLE + 1), NESTIOMMU_FAULT_REASON_PTE_FETCH, false);
	ASSERT_LE(t_write + delay_ns - DELAY_SLACK_NS, j->end_ns);
	check_pri(self, (struct pri_exp){
		.groups = 2, .pages = 2, .success = 1, .invalid = 1 });
	check_injected(self, (struct injected_exp){ .resp_codes = 1, .resp_delays = 2 });
	ASSERT_EQ(RESP_INJ_CODE | RESP_INJ_DELAYED, self->rsm->last_injected);
	ASSERT_EQ(R_INVALID, self->rsm->last_code);
	ASSERT_EQ(2, self->rsm->delayed);
	ASSERT_EQ(1, self->rsm->codes);
}

/*
 * A response a hook delays is not delivered yet: a DEVICE_RESET or a
 * detach in the meantime answers the group INVALID at once (an automatic
 * answer), as for any outstanding group; the delayed response never
 * arrives.
 */
TEST_F(prihook, reset_and_detach_beat_a_delayed_response)
{
	const __u32 delay_us = 800000;
	static char buf[64];
	struct nestiommu_fault_record r;
	struct pri_job *j;
	__u64 t_write;

	self->rs->delay_us = delay_us;
	self->rs->enabled = 1;
	j = pr_job_start(self, ACC_W, PR_PAGE(PR_HOLE), sizeof(buf), buf);
	pr_read_group(self, &r, PR_PAGE(PR_HOLE), 1, ACC_W);
	pr_map(self, PR_HOLE, 1);
	t_write = now_ns();
	respond(self->qfd, r.cookie, R_SUCCESS);
	do_device_reset(self->e.fd, self->e.dev_id);
	check_job_fault(j, 0, PR_PAGE(PR_HOLE), NESTIOMMU_FAULT_REASON_PTE_FETCH, false);
	/* Answered by the reset, well before the delay was up. */
	ASSERT_GT(t_write + delay_us * 1000ULL, j->end_ns);
	check_pri(self, (struct pri_exp){ .groups = 1, .pages = 1, .auto_invalid = 1 });
	check_injected(self, (struct injected_exp){ .resp_delays = 1 });
	ASSERT_EQ(1, self->rsm->events);
	ASSERT_EQ(1, self->rsm->automatic);
	ASSERT_EQ(0, self->rsm->delayed);

	TH_CONTEXT("detach");
	j = pr_job_start(self, ACC_W, PR_PAGE(PR_HOLE + 1), sizeof(buf), buf);
	pr_read_group(self, &r, PR_PAGE(PR_HOLE + 1), 1, ACC_W);
	pr_map(self, PR_HOLE + 1, 1);
	t_write = now_ns();
	respond(self->qfd, r.cookie, R_SUCCESS);
	do_device_detach(self->e.fd, self->e.dev_id, self->e.attach_flags, self->e.pasid);
	check_job_fault(j, 0, PR_PAGE(PR_HOLE + 1), NESTIOMMU_FAULT_REASON_PTE_FETCH, false);
	ASSERT_GT(t_write + delay_us * 1000ULL, j->end_ns);
	check_pri(self, (struct pri_exp){ .groups = 2, .pages = 2, .auto_invalid = 2 });
	check_injected(self, (struct injected_exp){ .resp_delays = 2 });
	ASSERT_EQ(2, self->rsm->automatic);
	ASSERT_EQ(0, self->rsm->delayed);
}

/*
 * Out-of-range decisions are rejected whole: the user's response (INVALID,
 * for a page that is mapped by then) is delivered at once and unchanged,
 * and hook_rejected of the device counts it. The longest delay is valid.
 */
TEST_F(prihook, page_response_invalid_decisions_rejected)
{
	const struct { __u32 set_code, new_code, drop, delay_us; } bad[] = {
		{ 2, R_SUCCESS, 0, 0 },			/* set_code not 0/1 */
		{ 0xffffffff, R_SUCCESS, 0, 0 },
		{ 1, 7, 0, 0 },				/* not a code */
		{ 1, 2, 0, 0 },
		{ 0, R_FAILURE, 0, 0 },			/* new_code without set_code */
		{ 0, 0, 2, 0 },				/* drop not 0/1 */
		{ 0, 0, 0xffffffff, 0 },
		{ 0, 0, 0, HOOK_MAX_DELAY_US + 1 },	/* too long */
		{ 0, 0, 0, 0xffffffff },
		{ 1, R_SUCCESS, 2, 0 },			/* one bad field spoils all */
		{ 1, R_SUCCESS, 0, HOOK_MAX_DELAY_US + 1 },
	};
	const size_t n = sizeof(bad) / sizeof(bad[0]);
	struct nestiommu_fault_record r;
	static char buf[8];
	struct pri_job *j;
	__u64 t_write;
	size_t i;

	self->rs->enabled = 1;
	for (i = 0; i < n; i++) {
		const __u64 page = PR_PAGE(PR_HOLE + i);

		TH_CONTEXT("set_code %u new_code %u drop %u delay_us %u", bad[i].set_code,
			   bad[i].new_code, bad[i].drop, bad[i].delay_us);
		self->rs->set_code = bad[i].set_code;
		self->rs->new_code = bad[i].new_code;
		self->rs->drop = bad[i].drop;
		self->rs->delay_us = bad[i].delay_us;
		j = pr_job_start(self, ACC_R, page, sizeof(buf), buf);
		pr_read_group(self, &r, page, 1, ACC_R);
		pr_map(self, PR_HOLE + i, 1);
		respond(self->qfd, r.cookie, R_INVALID);
		check_job_fault(j, 0, page, NESTIOMMU_FAULT_REASON_PTE_FETCH, false);
		check_injected(self, (struct injected_exp){ .rejected = i + 1 });
		check_pri(self, (struct pri_exp){
			.groups = i + 1, .pages = i + 1, .invalid = i + 1 });
		ASSERT_EQ(i + 1, self->rsm->events);
		ASSERT_EQ(0, self->rsm->last_injected);
		ASSERT_EQ(R_INVALID, self->rsm->last_code);
	}
	ASSERT_EQ(n, self->rs->written);
	ASSERT_EQ(0, pr_hwpt(self).hook_rejected);

	TH_CONTEXT("delay_us = NEST_HOOK_MAX_DELAY_US");
	self->rs->set_code = 0;
	self->rs->new_code = 0;
	self->rs->drop = 0;
	self->rs->delay_us = HOOK_MAX_DELAY_US;
	j = pr_job_start(self, ACC_R, PR_PAGE(PR_HOLE + n), sizeof(buf), buf);
	pr_read_group(self, &r, PR_PAGE(PR_HOLE + n), 1, ACC_R);
	t_write = now_ns();
	respond(self->qfd, r.cookie, R_INVALID);
	check_job_fault(j, 0, PR_PAGE(PR_HOLE + n), NESTIOMMU_FAULT_REASON_PTE_FETCH, false);
	ASSERT_LE(t_write + HOOK_MAX_DELAY_US * 1000ULL - DELAY_SLACK_NS, j->end_ns);
	check_injected(self, (struct injected_exp){ .resp_delays = 1, .rejected = n });
	ASSERT_EQ(RESP_INJ_DELAYED, self->rsm->last_injected);
}

/*
 * The driver's own answers (detach, DEVICE_RESET, timeout, fault fd close)
 * never pass through nest_hook_page_response: a program that would lose every
 * response is not called, and each DMA stops with its fault.
 */
TEST_F(prihook, driver_answers_bypass_response_hook)
{
	static char buf[8];
	struct nestiommu_fault_record r;
	struct pri_job *j;
	__u64 cookie;

	self->rs->drop = 1;
	self->rs->enabled = 1;

	TH_CONTEXT("detach");
	j = pr_job_start(self, ACC_R, PR_PAGE(PR_HOLE), sizeof(buf), buf);
	cookie = pr_read_group(self, &r, PR_PAGE(PR_HOLE), 1, ACC_R);
	do_device_detach(self->e.fd, self->e.dev_id, self->e.attach_flags, self->e.pasid);
	check_job_fault(j, 0, PR_PAGE(PR_HOLE), NESTIOMMU_FAULT_REASON_PTE_FETCH, false);
	respond_err(EINVAL, self->qfd, cookie, R_SUCCESS);
	do_device_attach(self->e.fd, self->e.dev_id, self->e.attach_flags, self->e.pasid,
			 self->hwpt_id);

	TH_CONTEXT("DEVICE_RESET");
	j = pr_job_start(self, ACC_R, PR_PAGE(PR_HOLE), sizeof(buf), buf);
	pr_read_group(self, &r, PR_PAGE(PR_HOLE), 1, ACC_R);
	do_device_reset(self->e.fd, self->e.dev_id);
	check_job_fault(j, 0, PR_PAGE(PR_HOLE), NESTIOMMU_FAULT_REASON_PTE_FETCH, false);

	TH_CONTEXT("timeout");
	do_option_set(self->e.fd, NESTIOMMU_OPTION_PRI_TIMEOUT_MS, self->e.dev_id, 200);
	j = pr_job_start(self, ACC_R, PR_PAGE(PR_HOLE), sizeof(buf), buf);
	pr_read_group(self, &r, PR_PAGE(PR_HOLE), 1, ACC_R);
	check_job_fault(j, 0, PR_PAGE(PR_HOLE), NESTIOMMU_FAULT_REASON_PTE_FETCH, false);
	do_option_set(self->e.fd, NESTIOMMU_OPTION_PRI_TIMEOUT_MS, self->e.dev_id, 0);

	TH_CONTEXT("fault fd close");
	j = pr_job_start(self, ACC_R, PR_PAGE(PR_HOLE), sizeof(buf), buf);
	pr_read_group(self, &r, PR_PAGE(PR_HOLE), 1, ACC_R);
	ASSERT_EQ(0, close(self->qfd));
	self->qfd = -1;
	check_job_fault(j, 0, PR_PAGE(PR_HOLE), NESTIOMMU_FAULT_REASON_PTE_FETCH, false);

	TH_CONTEXT("statistics");
	ASSERT_EQ(0, self->rs->calls);
	check_pri(self, (struct pri_exp){
		.groups = 4, .pages = 4, .auto_invalid = 4, .timeouts = 1 });
	check_injected(self, (struct injected_exp){ 0 });
	ASSERT_EQ(4, self->rsm->events);
	ASSERT_EQ(4, self->rsm->automatic);
	ASSERT_EQ(0, self->rsm->codes + self->rsm->delayed);
}

/*
 * Detached, the three PRI hooks see nothing and page requests are organic
 * again; the marks programs see them unmarked.
 */
TEST_F(prihook, detach_restores_organic_pri)
{
	struct nestiommu_fault_record recs[2];
	struct nestiommu_xlate_stats d0, d1;
	__u64 tr_calls, rq_calls, rs_calls;
	static char buf[64];
	struct pri_job *j;

	/* All three at once: forced, duplicated, SUCCESS made FAILURE. */
	self->tr->page_request = 1;
	self->tr->enabled = 1;
	self->rq->duplicate = 1;
	self->rq->enabled = 1;
	self->rs->set_code = 1;
	self->rs->new_code = R_FAILURE;
	self->rs->enabled = 1;
	j = pr_job_start(self, ACC_R, PR_PAGE(0), sizeof(buf), buf);
	rec_read(self->qfd, &recs[0]);
	rec_read(self->qfd, &recs[1]);
	pr_check_rec(self, &recs[0], PR_PAGE(0), ACC_R, true);
	pr_check_rec(self, &recs[1], PR_PAGE(0), ACC_R, true);
	ASSERT_EQ(NESTIOMMU_FAULT_F_INJECTED, recs[0].fault.flags);
	respond(self->qfd, recs[0].cookie, R_SUCCESS);
	check_job_fault(j, 0, PR_PAGE(0), NESTIOMMU_FAULT_REASON_PTE_FETCH, true);
	check_pri(self, (struct pri_exp){ .groups = 1, .pages = 1, .failure = 1 });
	check_injected(self, (struct injected_exp){
		.page_requests = 1, .pr_duplicates = 1, .resp_codes = 1 });
	ASSERT_EQ(PR_INJ_FORCED | PR_INJ_DUPLICATED, self->prm->last_injected);
	ASSERT_EQ(RESP_INJ_CODE, self->rsm->last_injected);

	hook_detach(&self->skel->links.hook_translate);
	hook_detach(&self->skel->links.hook_page_request);
	hook_detach(&self->skel->links.hook_page_response);
	do_device_reset(self->e.fd, self->e.dev_id);
	tr_calls = self->tr->calls;
	rq_calls = self->rq->calls;
	rs_calls = self->rs->calls;
	d0 = pr_dev(self);

	TH_CONTEXT("a mapped page");
	j = pr_job_start(self, ACC_R, PR_PAGE(0), sizeof(buf), buf);
	check_job_ok(j);
	ASSERT_MEM_BYTE(buf, PR_BYTE, sizeof(buf));
	ASSERT_FALSE(queue_readable(self->qfd, 0));

	TH_CONTEXT("a hole");
	fill_pattern(buf, sizeof(buf), 21);
	j = pr_job_start(self, ACC_W, PR_PAGE(PR_HOLE), sizeof(buf), buf);
	pr_read_group(self, recs, PR_PAGE(PR_HOLE), 1, ACC_W);
	ASSERT_EQ(0, recs[0].fault.flags & NESTIOMMU_FAULT_F_INJECTED);
	pr_map(self, PR_HOLE, 1);
	respond(self->qfd, recs[0].cookie, R_SUCCESS);
	check_job_ok(j);
	ASSERT_MEM_EQ(env_data(&self->e, PR_DPAGE(PR_HOLE)), buf, sizeof(buf));

	TH_CONTEXT("statistics");
	ASSERT_EQ(tr_calls, self->tr->calls);
	ASSERT_EQ(rq_calls, self->rq->calls);
	ASSERT_EQ(rs_calls, self->rs->calls);
	check_pri(self, (struct pri_exp){
		.groups = 2, .pages = 2, .success = 1, .failure = 1 });
	check_injected(self, (struct injected_exp){
		.page_requests = 1, .pr_duplicates = 1, .resp_codes = 1 });
	d1 = pr_dev(self);
	ASSERT_EQ(d0.faults[0][NESTIOMMU_FAULT_REASON_PTE_FETCH] + 1,
		  d1.faults[0][NESTIOMMU_FAULT_REASON_PTE_FETCH]);
	ASSERT_EQ(1, self->prm->forced);
	ASSERT_EQ(1, self->prm->duplicated);
	ASSERT_EQ(2, self->prm->events);
	ASSERT_EQ(0, self->prm->last_injected);
	ASSERT_EQ(1, self->rsm->codes);
	ASSERT_EQ(0, self->rsm->last_injected);
	ASSERT_EQ(R_SUCCESS, self->rsm->last_code);
}
