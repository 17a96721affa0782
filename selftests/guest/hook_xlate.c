// SPDX-License-Identifier: GPL-2.0
/*
 * hook_test, nest_hook_translate: injected faults of every reason and stage,
 * on DMA and TRANSLATE, cached or not, rejected decisions, and their
 * marks in the nest_fault tracepoint and the fault-queue records.
 */
#include "hook_test.h"

/* ==== nest_hook_translate ==== */

/* XL_PAGES stage-1 pages at XL_IOVA map data pages XL_GPA..., filled XL_BYTE + i. */
#define XL_IOVA		(ENV_IOVA + 5 * SZ_2M)
#define XL_GPA		(DATA_GPA + 32 * SZ_4K)
#define XL_PAGES	4
#define XL_BYTE		0x30
/* No stage-1 leaf there (same level-1 table): an organic PTE_FETCH fault. */
#define XL_HOLE		(XL_IOVA + 64 * SZ_4K)

FIXTURE(xlate) {
	struct nest_env e;
	struct hook_inject_bpf *skel;
	struct hook_translate_ctl *c;
};

FIXTURE_VARIANT(xlate) {
	bool rid;
	bool ats;
};

FIXTURE_VARIANT_ADD(xlate, pasid) { .rid = false };
FIXTURE_VARIANT_ADD(xlate, rid) { .rid = true };
FIXTURE_VARIANT_ADD(xlate, ats) { .ats = true };

FIXTURE_SETUP(xlate)
{
	struct nest_env_opts o = {
		.rid = variant->rid,
		.dev_flags = variant->ats ? NESTIOMMU_DEVICE_ATS : 0,
	};
	int i;

	self->skel = NULL;
	env_setup(&self->e, &o);
	for (i = 0; i < XL_PAGES; i++) {
		memset(env_data(&self->e, XL_GPA + i * SZ_4K), XL_BYTE + i, SZ_4K);
		env_map(&self->e, XL_IOVA + i * SZ_4K, XL_GPA + i * SZ_4K, SZ_4K, S1_RWU);
	}
	self->skel = hooks_setup(false);
	self->c = &self->skel->bss->translate;
	self->c->dev_id = self->e.dev_id;
	self->c->enabled = 1;
}

FIXTURE_TEARDOWN(xlate)
{
	hooks_teardown(self->skel);
	env_teardown(&self->e);
}

static struct nestiommu_xlate_stats xl_dev(FIXTURE_DATA(xlate) *self)
{
	return xstats(&self->e, self->e.dev_id, NESTIOMMU_OBJ_DEVICE);
}

static struct nestiommu_xlate_stats xl_hwpt(FIXTURE_DATA(xlate) *self)
{
	return xstats(&self->e, self->e.nested_id, NESTIOMMU_OBJ_HWPT_NESTED);
}

static void xl_inject(FIXTURE_DATA(xlate) *self, __u32 reason, __u32 stage)
{
	self->c->fault_reason = reason;
	self->c->fault_stage = stage;
}

/* A decision of zeros injects nothing, and the hook saw the request. */
TEST_F(xlate, hook_sees_the_request)
{
	struct nestiommu_xlate_stats d0 = xl_dev(self), h0 = xl_hwpt(self), d1, h1;
	char buf[16];

	memset(buf, 0x77, sizeof(buf));
	env_dma_ok(&self->e, ACC_W, XL_IOVA + SZ_4K + 0x10, sizeof(buf), buf);
	ASSERT_MEM_BYTE(env_data(&self->e, XL_GPA + SZ_4K + 0x10), 0x77, sizeof(buf));
	ASSERT_EQ(1, self->c->matched);
	ASSERT_EQ(1, self->c->written);
	ASSERT_EQ(self->e.dev_id, self->c->last_dev_id);
	ASSERT_EQ(variant->rid ? NESTIOMMU_PASID_NONE : ENV_PASID, self->c->last_pasid);
	ASSERT_EQ(self->e.nested_id, self->c->last_hwpt_id);
	ASSERT_EQ(ACC_W, self->c->last_access);
	/* The address translated: the request's, or its page. */
	if (self->c->last_iova != XL_IOVA + SZ_4K + 0x10)
		ASSERT_EQ(XL_IOVA + SZ_4K, self->c->last_iova);

	ASSERT_EQ(XL_BYTE + 2, env_read_byte(&self->e, XL_IOVA + 2 * SZ_4K));
	ASSERT_EQ(ACC_R, self->c->last_access);
	d1 = xl_dev(self);
	h1 = xl_hwpt(self);
	ASSERT_EQ(d0.injected_faults, d1.injected_faults);
	ASSERT_EQ(h0.injected_faults, h1.injected_faults);
	ASSERT_EQ(d0.hook_rejected, d1.hook_rejected);
	ASSERT_EQ(h0.hook_rejected, h1.hook_rejected);
	ASSERT_EQ(faults_sum(&h0), faults_sum(&h1));
}

/* The hook fires once per page translated: walks, cache hits, TRANSLATE. */
TEST_F(xlate, fires_at_every_translation)
{
	static char buf[XL_PAGES * SZ_4K];
	struct nestiommu_walk_step steps[XL_STEPS];
	struct nestiommu_translate xl;

	env_dma_ok(&self->e, ACC_R, XL_IOVA, sizeof(buf), buf);
	ASSERT_EQ(XL_PAGES, self->c->matched);
	/* Again, from the caches this time. */
	env_dma_ok(&self->e, ACC_R, XL_IOVA, sizeof(buf), buf);
	ASSERT_EQ(2 * XL_PAGES, self->c->matched);
	env_translate(&self->e, 0, ACC_R, XL_IOVA, NULL, 0, &xl);
	ASSERT_EQ(2 * XL_PAGES + 1, self->c->matched);
	env_translate(&self->e, NESTIOMMU_TRANSLATE_NO_CACHE, ACC_R, XL_IOVA, steps, XL_STEPS, &xl);
	ASSERT_EQ(2 * XL_PAGES + 2, self->c->matched);
	ASSERT_EQ(self->c->matched, self->c->calls);
}

/*
 * Every valid (reason, stage) faults with exactly that, at level 0, marked
 * injected, and counts on the device and the HWPT; no table is walked.
 */
TEST_F(xlate, injected_fault_every_reason_and_stage)
{
	struct nestiommu_xlate_stats d0 = xl_dev(self), h0 = xl_hwpt(self), d1, h1;
	const __u64 iova = XL_IOVA + 0x123;
	struct nestiommu_dma dma;
	__u32 stage, reason;
	char buf[8];

	for (stage = 1; stage <= 2; stage++) {
		for (reason = 1; reason < NESTIOMMU_FAULT_REASON_NR; reason++) {
			TH_CONTEXT("stage %u reason %s", stage, fault_reason_name(reason));
			xl_inject(self, reason, stage);
			env_dma_fault(&self->e, ACC_R, iova, sizeof(buf), buf, &dma);
			ASSERT_EQ(0, dma.out_bytes_done);
			check_fault_exp(&dma.out_fault, (struct fault_exp){
				.addr = iova, .reason = reason, .stage = stage,
				.flags = NESTIOMMU_FAULT_F_INJECTED });
			ASSERT_EQ(ACC_R, dma.out_fault.access);
		}
	}
	TH_CONTEXT("statistics");
	d1 = xl_dev(self);
	h1 = xl_hwpt(self);
	ASSERT_EQ(d0.injected_faults + 16, d1.injected_faults);
	ASSERT_EQ(h0.injected_faults + 16, h1.injected_faults);
	for (stage = 0; stage < 2; stage++) {
		for (reason = 1; reason < NESTIOMMU_FAULT_REASON_NR; reason++) {
			TH_CONTEXT("faults[%u][%s]", stage, fault_reason_name(reason));
			ASSERT_EQ(d0.faults[stage][reason] + 1, d1.faults[stage][reason]);
			ASSERT_EQ(h0.faults[stage][reason] + 1, h1.faults[stage][reason]);
		}
	}
	ASSERT_EQ(faults_sum(&d0) + 16, faults_sum(&d1));
	ASSERT_EQ(faults_sum(&h0) + 16, faults_sum(&h1));
	ASSERT_EQ(d0.hook_rejected, d1.hook_rejected);
	ASSERT_EQ(h0.hook_rejected, h1.hook_rejected);
	/* The tables were not walked. */
	ASSERT_EQ(h0.walks, h1.walks);
	ASSERT_EQ(d0.walks, d1.walks);

	TH_CONTEXT("injection off");
	xl_inject(self, 0, 0);
	ASSERT_EQ(XL_BYTE, env_read_byte(&self->e, XL_IOVA));
}

/* An injected fault at the third page stops the DMA there. */
TEST_F(xlate, injected_fault_stops_dma_at_its_page)
{
	static char buf[XL_PAGES * SZ_4K];
	struct nestiommu_dma dma;
	int i;

	self->c->iova_lo = XL_IOVA + 2 * SZ_4K;
	self->c->iova_hi = XL_IOVA + 3 * SZ_4K;
	xl_inject(self, NESTIOMMU_FAULT_REASON_PERMISSION, 1);
	memset(buf, 0xe1, sizeof(buf));
	env_dma_fault(&self->e, ACC_W, XL_IOVA, sizeof(buf), buf, &dma);
	ASSERT_EQ(2 * SZ_4K, dma.out_bytes_done);
	check_fault_exp(&dma.out_fault, (struct fault_exp){
		.addr = XL_IOVA + 2 * SZ_4K, .reason = NESTIOMMU_FAULT_REASON_PERMISSION,
		.stage = 1, .flags = NESTIOMMU_FAULT_F_INJECTED });
	ASSERT_EQ(ACC_W, dma.out_fault.access);
	ASSERT_MEM_BYTE(env_data(&self->e, XL_GPA), 0xe1, 2 * SZ_4K);
	for (i = 2; i < XL_PAGES; i++)
		ASSERT_MEM_BYTE(env_data(&self->e, XL_GPA + i * SZ_4K), XL_BYTE + i, SZ_4K);
	ASSERT_EQ(1, self->c->written);
}

/* A cached translation (IOTLB, device TLB with ATS) faults too. */
TEST_F(xlate, injected_fault_on_a_cached_translation)
{
	struct nestiommu_xlate_stats h0, h1;
	struct nestiommu_dma dma;
	char buf[8];

	ASSERT_EQ(XL_BYTE, env_read_byte(&self->e, XL_IOVA));
	ASSERT_EQ(XL_BYTE, env_read_byte(&self->e, XL_IOVA + 1));
	h0 = xl_hwpt(self);
	xl_inject(self, NESTIOMMU_FAULT_REASON_WALK_EABT, 2);
	env_dma_fault(&self->e, ACC_R, XL_IOVA + 8, sizeof(buf), buf, &dma);
	check_fault_exp(&dma.out_fault, (struct fault_exp){
		.addr = XL_IOVA + 8, .reason = NESTIOMMU_FAULT_REASON_WALK_EABT, .stage = 2,
		.flags = NESTIOMMU_FAULT_F_INJECTED });
	xl_inject(self, 0, 0);
	/* The cached entry still works. */
	ASSERT_EQ(XL_BYTE, env_read_byte(&self->e, XL_IOVA + 2));
	h1 = xl_hwpt(self);
	ASSERT_EQ(h0.walks, h1.walks);
	ASSERT_EQ(h0.injected_faults + 1, h1.injected_faults);
}

/* TRANSLATE (with and without the caches) reports the injected fault. */
TEST_F(xlate, translate_reports_injected_fault)
{
	const __u32 flags[] = { 0, NESTIOMMU_TRANSLATE_NO_CACHE };
	struct nestiommu_xlate_stats d0 = xl_dev(self), d1;
	struct nestiommu_walk_step steps[XL_STEPS];
	struct nestiommu_translate xl;
	size_t i;

	xl_inject(self, NESTIOMMU_FAULT_REASON_OOR_ADDRESS, 2);
	for (i = 0; i < 2; i++) {
		TH_CONTEXT("TRANSLATE flags 0x%x", flags[i]);
		env_translate_fault(&self->e, flags[i], ACC_W, XL_IOVA + SZ_4K, steps, XL_STEPS, &xl);
		/* Nothing was walked. */
		ASSERT_EQ(0, xl.steps_num);
		check_fault_exp(&xl.out_fault, (struct fault_exp){
			.addr = XL_IOVA + SZ_4K,
			.reason = NESTIOMMU_FAULT_REASON_OOR_ADDRESS, .stage = 2,
			.flags = NESTIOMMU_FAULT_F_INJECTED });
		ASSERT_EQ(ACC_W, xl.out_fault.access);
	}
	d1 = xl_dev(self);
	ASSERT_EQ(d0.injected_faults + 2, d1.injected_faults);
	ASSERT_EQ(d0.faults[1][NESTIOMMU_FAULT_REASON_OOR_ADDRESS] + 2,
		  d1.faults[1][NESTIOMMU_FAULT_REASON_OOR_ADDRESS]);
	TH_CONTEXT("injection off");
	xl_inject(self, 0, 0);
	env_translate(&self->e, NESTIOMMU_TRANSLATE_NO_CACHE, ACC_W, XL_IOVA + SZ_4K, steps,
		      XL_STEPS, &xl);
	ASSERT_LT(0, xl.steps_num);
	ASSERT_EQ(XL_GPA + SZ_4K, xl.out_gpa);
}

/*
 * Out-of-range or half decisions are ignored (the DMA goes through) and
 * counted in hook_rejected of the device and the HWPT.
 */
TEST_F(xlate, invalid_decisions_rejected)
{
	const struct { __u32 reason, stage; } bad[] = {
		{ 0, 1 }, { 0, 2 }, { 0, 3 },			/* no reason */
		{ 1, 0 }, { 8, 0 },				/* no stage */
		{ NESTIOMMU_FAULT_REASON_NR, 1 }, { 15, 2 }, { 99, 1 },
		{ 0xffffffff, 1 },				/* bad reason */
		{ 5, 3 }, { 5, 0xffffffff },			/* bad stage */
	};
	const size_t n = sizeof(bad) / sizeof(bad[0]);
	struct nestiommu_xlate_stats d0 = xl_dev(self), h0 = xl_hwpt(self), d1, h1;
	size_t i;

	for (i = 0; i < n; i++) {
		TH_CONTEXT("reason %u stage %u", bad[i].reason, bad[i].stage);
		xl_inject(self, bad[i].reason, bad[i].stage);
		ASSERT_EQ(XL_BYTE + 3, env_read_byte(&self->e, XL_IOVA + 3 * SZ_4K + i));
		d1 = xl_dev(self);
		h1 = xl_hwpt(self);
		ASSERT_EQ(d0.hook_rejected + i + 1, d1.hook_rejected);
		ASSERT_EQ(h0.hook_rejected + i + 1, h1.hook_rejected);
	}
	TH_CONTEXT("statistics");
	ASSERT_EQ(n, self->c->written);
	ASSERT_EQ(d0.injected_faults, d1.injected_faults);
	ASSERT_EQ(h0.injected_faults, h1.injected_faults);
	ASSERT_EQ(faults_sum(&d0), faults_sum(&d1));
	ASSERT_EQ(faults_sum(&h0), faults_sum(&h1));
	/* The boundaries that are valid. */
	TH_CONTEXT("reason 8 stage 2");
	xl_inject(self, NESTIOMMU_FAULT_REASON_OOR_ADDRESS, 2);
	{
		struct nestiommu_dma dma;
		char b;

		env_dma_fault(&self->e, ACC_R, XL_IOVA, 1, &b, &dma);
		check_fault_exp(&dma.out_fault, (struct fault_exp){
			.addr = XL_IOVA, .reason = NESTIOMMU_FAULT_REASON_OOR_ADDRESS,
			.stage = 2, .flags = NESTIOMMU_FAULT_F_INJECTED });
	}
	ASSERT_EQ(h1.hook_rejected, xl_hwpt(self).hook_rejected);
}

/*
 * fault_level: the forced fault reports that level (1 to 5), in the DMA's
 * out_fault and the statistics; 0 none; beyond 5, or without a reason,
 * the decision is rejected.
 */
TEST_F(xlate, injected_fault_level)
{
	struct nestiommu_xlate_stats d0 = xl_dev(self), h0 = xl_hwpt(self), d1, h1;
	struct nestiommu_dma dma;
	__u32 level;
	char b;

	for (level = 0; level <= 5; level++) {
		TH_CONTEXT("level %u", level);
		xl_inject(self, NESTIOMMU_FAULT_REASON_PTE_FETCH, 1);
		self->c->fault_level = level;
		env_dma_fault(&self->e, ACC_R, XL_IOVA, 1, &b, &dma);
		check_fault_exp(&dma.out_fault, (struct fault_exp){
			.addr = XL_IOVA, .reason = NESTIOMMU_FAULT_REASON_PTE_FETCH,
			.stage = 1, .level = level, .flags = NESTIOMMU_FAULT_F_INJECTED });
	}
	d1 = xl_dev(self);
	h1 = xl_hwpt(self);
	ASSERT_EQ(d0.injected_faults + 6, d1.injected_faults);
	ASSERT_EQ(h0.injected_faults + 6, h1.injected_faults);

	TH_CONTEXT("level 6");
	self->c->fault_level = 6;
	ASSERT_EQ(XL_BYTE, env_read_byte(&self->e, XL_IOVA));
	ASSERT_EQ(d1.hook_rejected + 1, xl_dev(self).hook_rejected);
	ASSERT_EQ(h1.hook_rejected + 1, xl_hwpt(self).hook_rejected);
	TH_CONTEXT("a level without a fault");
	xl_inject(self, 0, 0);
	self->c->fault_level = 3;
	ASSERT_EQ(XL_BYTE, env_read_byte(&self->e, XL_IOVA));
	ASSERT_EQ(d1.hook_rejected + 2, xl_dev(self).hook_rejected);
	ASSERT_EQ(d1.injected_faults, xl_dev(self).injected_faults);
	self->c->fault_level = 0;
}

/* The program's filter: another device on the same HWPT is untouched. */
TEST_F(xlate, other_device_untouched)
{
	struct nestiommu_xlate_stats st;
	struct nestiommu_dma dma;
	__u32 dev2;
	char b;

	do_device_create(self->e.fd, 0, ENV_RID + 1, ENV_PASID_BITS, &dev2);
	do_device_attach(self->e.fd, dev2, self->e.attach_flags, self->e.pasid,
			 self->e.nested_id);
	xl_inject(self, NESTIOMMU_FAULT_REASON_PTE_FETCH, 1);
	do_dma(self->e.fd, dev2, self->e.dma_flags, self->e.pasid, ACC_R, XL_IOVA, 1, &b);
	ASSERT_EQ(XL_BYTE, (unsigned char)b);
	env_dma_fault(&self->e, ACC_R, XL_IOVA, 1, &b, &dma);
	ASSERT_EQ(NESTIOMMU_FAULT_F_INJECTED, dma.out_fault.flags);
	do_xlate_stats(self->e.fd, dev2, NESTIOMMU_OBJ_DEVICE, &st);
	ASSERT_EQ(0, st.injected_faults);
	ASSERT_EQ(0, st.hook_rejected);
	ASSERT_EQ(0, faults_sum(&st));
	ASSERT_EQ(1, xl_dev(self).injected_faults);
}

/* Detached, the program sees nothing and every translation is organic. */
TEST_F(xlate, detach_restores_organic_translation)
{
	struct nestiommu_xlate_stats d0, d1;
	struct nestiommu_dma dma;
	__u64 calls;
	char b;

	xl_inject(self, NESTIOMMU_FAULT_REASON_ACCESS, 1);
	env_dma_fault(&self->e, ACC_R, XL_IOVA, 1, &b, &dma);
	ASSERT_EQ(NESTIOMMU_FAULT_F_INJECTED, dma.out_fault.flags);
	hook_detach(&self->skel->links.hook_translate);
	calls = self->c->calls;
	d0 = xl_dev(self);
	ASSERT_EQ(XL_BYTE + 1, env_read_byte(&self->e, XL_IOVA + SZ_4K));
	/* An organic fault is not marked. */
	env_dma_fault(&self->e, ACC_R, XL_HOLE, 1, &b, &dma);
	check_fault_exp(&dma.out_fault, (struct fault_exp){
		.addr = XL_HOLE, .reason = NESTIOMMU_FAULT_REASON_PTE_FETCH, .stage = 1,
		.level = 1, .flags = ANY, .fetch_addr = ANY });
	ASSERT_EQ(0, dma.out_fault.flags & NESTIOMMU_FAULT_F_INJECTED);
	d1 = xl_dev(self);
	ASSERT_EQ(calls, self->c->calls);
	ASSERT_EQ(d0.injected_faults, d1.injected_faults);
	ASSERT_EQ(d0.hook_rejected, d1.hook_rejected);
	ASSERT_EQ(d0.faults[0][NESTIOMMU_FAULT_REASON_PTE_FETCH] + 1,
		  d1.faults[0][NESTIOMMU_FAULT_REASON_PTE_FETCH]);
}

/* ==== the marks: nest_fault tracepoint, fault-queue records ==== */

TEST(injected_fault_marked_in_tracepoint_and_fault_queue)
{
	static struct nest_env e;
	static struct hook_inject_bpf *skel;
	struct nest_env_opts o = { .no_nested = true };
	struct nestiommu_fault_record r;
	struct nestiommu_hwpt_alloc cmd;
	struct nestiommu_dma dma;
	__u32 fault_id, hwpt;
	int qfd;
	char b;

	env_setup(&e, &o);
	ASSERT_OK(nest_fault_queue_alloc(e.fd, 0, &fault_id, &qfd));
	cmd = (struct nestiommu_hwpt_alloc){
		.flags = NESTIOMMU_HWPT_ALLOC_FAULT_ID_VALID,
		.pt_id = e.parent_id,
		.data_type = NESTIOMMU_HWPT_DATA_S1_X86,
		.data_len = sizeof(e.desc),
		.fault_id = fault_id,
		.data_uptr = NEST_PTR(&e.desc),
	};
	ASSERT_OK(nest_hwpt_alloc(e.fd, &cmd));
	hwpt = cmd.out_hwpt_id;
	do_device_attach(e.fd, e.dev_id, e.attach_flags, e.pasid, hwpt);
	memset(env_data(&e, XL_GPA), XL_BYTE, SZ_4K);
	env_map(&e, XL_IOVA, XL_GPA, SZ_4K, S1_RWU);
	ASSERT_OK(fcntl(qfd, F_SETFL, fcntl(qfd, F_GETFL) | O_NONBLOCK));

	skel = hooks_setup(true);
	skel->bss->fault_mark.dev_id = e.dev_id;
	skel->bss->translate.dev_id = e.dev_id;
	skel->bss->translate.fault_reason = NESTIOMMU_FAULT_REASON_BAD_PASID_ENTRY;
	skel->bss->translate.fault_stage = 1;
	skel->bss->translate.enabled = 1;

	env_dma_fault(&e, ACC_W, XL_IOVA + 0x40, 1, &b, &dma);
	ASSERT_EQ(1, skel->bss->fault_mark.faults);
	ASSERT_EQ(1, skel->bss->fault_mark.injected);
	ASSERT_EQ((ssize_t)sizeof(r), read(qfd, &r, sizeof(r)));
	ASSERT_EQ(NESTIOMMU_RECORD_FAULT, r.type);
	ASSERT_EQ(e.dev_id, r.dev_id);
	ASSERT_EQ(hwpt, r.hwpt_id);
	ASSERT_EQ(0, memcmp(&dma.out_fault, &r.fault, sizeof(r.fault)));
	check_fault_exp(&r.fault, (struct fault_exp){
		.addr = XL_IOVA + 0x40, .reason = NESTIOMMU_FAULT_REASON_BAD_PASID_ENTRY,
		.stage = 1, .flags = NESTIOMMU_FAULT_F_INJECTED });

	/* An organic fault: traced and queued without the mark. */
	skel->bss->translate.enabled = 0;
	env_dma_fault(&e, ACC_W, XL_HOLE, 1, &b, &dma);
	ASSERT_EQ(2, skel->bss->fault_mark.faults);
	ASSERT_EQ(1, skel->bss->fault_mark.injected);
	ASSERT_EQ(0, skel->bss->fault_mark.last_flags & NESTIOMMU_FAULT_F_INJECTED);
	ASSERT_EQ(getpid(), skel->bss->fault_mark.last_owner_pid);
	ASSERT_EQ((ssize_t)sizeof(r), read(qfd, &r, sizeof(r)));
	ASSERT_EQ(0, r.fault.flags & NESTIOMMU_FAULT_F_INJECTED);
	ASSERT_EQ(NESTIOMMU_FAULT_REASON_PTE_FETCH, r.fault.reason);
	ASSERT_EQ(-1, read(qfd, &r, sizeof(r)));
	ASSERT_EQ(EAGAIN, errno);

	hooks_teardown(skel);
	close(qfd);
	env_teardown(&e);
}
