// SPDX-License-Identifier: GPL-2.0
/*
 * BPF hook points: a BPF program (bpf/hook_inject.bpf.c, attached as
 * raw_tp.w to nestiommu:hook_translate, hook_invalidate and hook_map)
 * writes the driver's decisions, and the driver
 *  - honours a valid one: a translation faults with the injected reason
 *    and stage (level 0, NESTIOMMU_FAULT_F_INJECTED, counted in
 *    injected_faults and faults[][]), an invalidation entry is dropped
 *    (reported done, the stale translation stays) or fails with the errno
 *    (entry_num = its index), an IOAS_MAP fails with the errno before
 *    pinning anything;
 *  - rejects an out-of-range one: the operation goes on as if no program
 *    were there, and hook_rejected counts it;
 *  - is organic again once the program is detached.
 * The hooks see the request (IDs, PASID, access, addresses) and start
 * every decision zeroed. Injected faults are marked in the fault
 * tracepoint and in fault-queue records.
 *
 * Needs root (BPF) and the module with BTF; skips only where the kernel
 * has no writable raw tracepoints (BPF_PROG_TYPE_RAW_TRACEPOINT_WRITABLE).
 */
#include <bpf/libbpf.h>

#include "nest_env.h"
#include "hook_inject.h"
#include "hook_inject.skel.h"

#define NO_PASID	0xffffffffU	/* the hook's PASID of a request without one */
/* The largest errno a hook may inject: NEST_HOOK_MAX_ERRNO of kernel/hooks.h. */
#define HOOK_MAX_ERRNO	EHWPOISON
_Static_assert(EHWPOISON == 133, "kernel/hooks.h: NEST_HOOK_MAX_ERRNO is 133");

/* ==== loading and attaching ==== */

/* libbpf's warnings (a verifier log, say) as KTAP diagnostic lines. */
static int hook_libbpf_print(enum libbpf_print_level level, const char *fmt,
			     va_list ap)
{
	char *msg, *line, *save = NULL;

	if (level == LIBBPF_DEBUG || vasprintf(&msg, fmt, ap) < 0)
		return 0;
	for (line = strtok_r(msg, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
		harness_diag("libbpf: %s", line);
	free(msg);
	return 0;
}

/*
 * Open and load hook_inject (the tp_btf programs that count the marks in
 * the ordinary events only if @marks); skip when the kernel cannot run
 * writable raw tracepoint programs at all.
 */
static struct hook_inject_bpf *hooks_load(bool marks)
{
	struct hook_inject_bpf *skel;
	int rc;

	libbpf_set_print(hook_libbpf_print);
	rc = libbpf_probe_bpf_prog_type(BPF_PROG_TYPE_RAW_TRACEPOINT_WRITABLE, NULL);
	if (rc == 0)
		SKIP("the kernel has no writable raw tracepoints (BPF_PROG_TYPE_RAW_TRACEPOINT_WRITABLE, Linux 5.2+)");
	if (rc < 0)
		TH_LOG("probing BPF_PROG_TYPE_RAW_TRACEPOINT_WRITABLE: %s (not root?)",
		       strerror(-rc));
	ASSERT_EQ(1, rc);
	skel = hook_inject_bpf__open();
	if (!skel)
		TH_LOG("hook_inject_bpf__open: %s", strerror(errno));
	ASSERT_NE(NULL, (void *)skel);
	ASSERT_OK(bpf_program__set_autoload(skel->progs.fault_mark_prog, marks));
	ASSERT_OK(bpf_program__set_autoload(skel->progs.inv_mark_prog, marks));
	rc = hook_inject_bpf__load(skel);
	if (rc)
		TH_LOG("loading hook_inject: %s (module BTF missing? /sys/kernel/btf/nestiommu)",
		       strerror(-rc));
	ASSERT_OK(rc);
	return skel;
}

static void hook_attach(struct bpf_program *prog, struct bpf_link **link,
			const char *event)
{
	*link = bpf_program__attach(prog);
	if (!*link)
		TH_LOG("attaching %s to %s: %s (a module without BPF hook points?)",
		       bpf_program__name(prog), event, strerror(errno));
	ASSERT_NE(NULL, (void *)*link);
}

/*
 * Attach all three hooks (each does nothing until its block is enabled),
 * and with @marks the programs counting the marks of nestiommu:fault and
 * nestiommu:invalidate.
 */
static struct hook_inject_bpf *hooks_setup(bool marks)
{
	struct hook_inject_bpf *skel = hooks_load(marks);

	hook_attach(skel->progs.hook_translate, &skel->links.hook_translate,
		    "nestiommu:hook_translate");
	hook_attach(skel->progs.hook_invalidate, &skel->links.hook_invalidate,
		    "nestiommu:hook_invalidate");
	hook_attach(skel->progs.hook_map, &skel->links.hook_map, "nestiommu:hook_map");
	if (marks) {
		hook_attach(skel->progs.fault_mark_prog, &skel->links.fault_mark_prog,
			    "nestiommu:fault (tp_btf)");
		hook_attach(skel->progs.inv_mark_prog, &skel->links.inv_mark_prog,
			    "nestiommu:invalidate (tp_btf)");
	}
	skel->bss->translate.tgid = getpid();
	skel->bss->invalidate.tgid = getpid();
	skel->bss->map.tgid = getpid();
	return skel;
}

static void hook_detach(struct bpf_link **link)
{
	ASSERT_OK(bpf_link__destroy(*link));
	*link = NULL;
}

/* Every decision reached the programs zeroed. */
static void hooks_teardown(struct hook_inject_bpf *skel)
{
	if (!skel)
		return;
	EXPECT_EQ(0, skel->bss->translate.dirty);
	EXPECT_EQ(0, skel->bss->invalidate.dirty);
	EXPECT_EQ(0, skel->bss->map.dirty);
	hook_inject_bpf__destroy(skel);
}

/* ==== statistics ==== */

static struct nestiommu_xlate_stats xstats(struct nest_env *e, __u32 id, __u32 type)
{
	struct nestiommu_xlate_stats st;

	do_xlate_stats(e->fd, id, type, &st);
	return st;
}

static __u64 faults_sum(const struct nestiommu_xlate_stats *st)
{
	__u64 n = 0;
	int s, r;

	for (s = 0; s < 2; s++)
		for (r = 0; r < NESTIOMMU_FAULT_REASON_SLOTS; r++)
			n += st->faults[s][r];
	return n;
}

static struct nestiommu_ioas_stats istats(int fd, __u32 ioas)
{
	struct nestiommu_ioas_stats st;

	do_ioas_stats(fd, ioas, &st);
	return st;
}

/* ==== hook_translate ==== */

/* XL_PAGES stage-1 pages at XL_IOVA map data pages XL_GPA..., filled XL_BYTE + i. */
#define XL_IOVA		(ENV_IOVA + 5 * SZ_2M)
#define XL_GPA		(DATA_GPA + 32 * SZ_4K)
#define XL_PAGES	4
#define XL_BYTE		0x30
/* No stage-1 leaf there (same level-1 table): an organic PTE_FETCH fault. */
#define XL_HOLE		(XL_IOVA + 64 * SZ_4K)
/* Room for the steps of any walk TRANSLATE reports. */
#define XL_STEPS	32

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
	ASSERT_EQ(variant->rid ? NO_PASID : ENV_PASID, self->c->last_pasid);
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
			check_fault(&dma.out_fault, iova, reason, stage, 0, 0,
				    NESTIOMMU_FAULT_F_INJECTED, 0);
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
	check_fault(&dma.out_fault, XL_IOVA + 2 * SZ_4K, NESTIOMMU_FAULT_REASON_PERMISSION,
		    1, 0, 0, NESTIOMMU_FAULT_F_INJECTED, 0);
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
	check_fault(&dma.out_fault, XL_IOVA + 8, NESTIOMMU_FAULT_REASON_WALK_EABT, 2, 0, 0,
		    NESTIOMMU_FAULT_F_INJECTED, 0);
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
		check_fault(&xl.out_fault, XL_IOVA + SZ_4K, NESTIOMMU_FAULT_REASON_OOR_ADDRESS,
			    2, 0, 0, NESTIOMMU_FAULT_F_INJECTED, 0);
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
		check_fault(&dma.out_fault, XL_IOVA, NESTIOMMU_FAULT_REASON_OOR_ADDRESS, 2, 0,
			    0, NESTIOMMU_FAULT_F_INJECTED, 0);
	}
	ASSERT_EQ(h1.hook_rejected, xl_hwpt(self).hook_rejected);
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
	check_fault(&dma.out_fault, XL_HOLE, NESTIOMMU_FAULT_REASON_PTE_FETCH, 1, 1, 0, ANY, ANY);
	ASSERT_EQ(0, dma.out_fault.flags & NESTIOMMU_FAULT_F_INJECTED);
	d1 = xl_dev(self);
	ASSERT_EQ(calls, self->c->calls);
	ASSERT_EQ(d0.injected_faults, d1.injected_faults);
	ASSERT_EQ(d0.hook_rejected, d1.hook_rejected);
	ASSERT_EQ(d0.faults[0][NESTIOMMU_FAULT_REASON_PTE_FETCH] + 1,
		  d1.faults[0][NESTIOMMU_FAULT_REASON_PTE_FETCH]);
}

/* ==== the marks: fault tracepoint, fault-queue records ==== */

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
	check_fault(&r.fault, XL_IOVA + 0x40, NESTIOMMU_FAULT_REASON_BAD_PASID_ENTRY, 1, 0, 0,
		    NESTIOMMU_FAULT_F_INJECTED, 0);

	/* An organic fault: traced and queued without the mark. */
	skel->bss->translate.enabled = 0;
	env_dma_fault(&e, ACC_W, XL_HOLE, 1, &b, &dma);
	ASSERT_EQ(2, skel->bss->fault_mark.faults);
	ASSERT_EQ(1, skel->bss->fault_mark.injected);
	ASSERT_EQ(0, skel->bss->fault_mark.last_flags & NESTIOMMU_FAULT_F_INJECTED);
	ASSERT_EQ((ssize_t)sizeof(r), read(qfd, &r, sizeof(r)));
	ASSERT_EQ(0, r.fault.flags & NESTIOMMU_FAULT_F_INJECTED);
	ASSERT_EQ(NESTIOMMU_FAULT_REASON_PTE_FETCH, r.fault.reason);
	ASSERT_EQ(-1, read(qfd, &r, sizeof(r)));
	ASSERT_EQ(EAGAIN, errno);

	hooks_teardown(skel);
	close(qfd);
	env_teardown(&e);
}

/* ==== hook_invalidate ==== */

/*
 * The stale page (as in hwpt_cache.c): STALE_IOVA maps data page OLD; the
 * cases rewrite its leaf to NEW without invalidating.
 */
#define STALE_IOVA	(ENV_IOVA + 3 * SZ_2M + 5 * SZ_4K)
#define OLD_GPA		(DATA_GPA + 16 * SZ_4K)
#define NEW_GPA		(DATA_GPA + 17 * SZ_4K)
#define OLD_BYTE	0xaa
#define NEW_BYTE	0xbb

#define IOTLB NESTIOMMU_INV_CACHE_IOTLB
#define DEVTLB NESTIOMMU_INV_CACHE_DEV_IOTLB
#define PASIDC NESTIOMMU_INV_CACHE_PASID
#define G_DOMAIN NESTIOMMU_INV_GRANU_DOMAIN
#define G_PASID NESTIOMMU_INV_GRANU_PASID
#define G_ADDR NESTIOMMU_INV_GRANU_ADDR

FIXTURE(inv) {
	struct nest_env e;
	struct hook_inject_bpf *skel;
	struct hook_invalidate_ctl *c;
	/* Invalidates every cache that holds the stale translation. */
	struct nestiommu_inv_entry flush[2];
	__u32 nflush;
};

FIXTURE_VARIANT(inv) {
	bool ats;
};

FIXTURE_VARIANT_ADD(inv, plain) { .ats = false };
FIXTURE_VARIANT_ADD(inv, ats) { .ats = true };

FIXTURE_SETUP(inv)
{
	struct nest_env_opts o = { .dev_flags = variant->ats ? NESTIOMMU_DEVICE_ATS : 0 };

	self->skel = NULL;
	env_setup(&self->e, &o);
	memset(env_data(&self->e, OLD_GPA), OLD_BYTE, SZ_4K);
	memset(env_data(&self->e, NEW_GPA), NEW_BYTE, SZ_4K);
	env_map(&self->e, STALE_IOVA, OLD_GPA, SZ_4K, S1_RWU);
	self->flush[0] = inv_entry(IOTLB, G_PASID, 0, ENV_PASID, 0, 0, 0);
	self->flush[1] = inv_entry(DEVTLB, G_PASID, 0, ENV_PASID, 0, 0, 0);
	self->nflush = variant->ats ? 2 : 1;
	self->skel = hooks_setup(false);
	self->c = &self->skel->bss->invalidate;
	self->c->hwpt_id = self->e.nested_id;
}

FIXTURE_TEARDOWN(inv)
{
	hooks_teardown(self->skel);
	env_teardown(&self->e);
}

static struct nestiommu_xlate_stats inv_stats(FIXTURE_DATA(inv) *self)
{
	return xstats(&self->e, self->e.nested_id, NESTIOMMU_OBJ_HWPT_NESTED);
}

/*
 * Cache STALE_IOVA -> @from, then point its leaf at @to without
 * invalidating (the hook is off meanwhile): DMA still reaches @from.
 */
static void inv_make_stale(FIXTURE_DATA(inv) *self, __u64 from, __u64 to)
{
	__u64 *ptep = env_pte(&self->e, STALE_IOVA, 1);
	__u32 enabled = self->c->enabled;
	unsigned char from_byte = from == OLD_GPA ? OLD_BYTE : NEW_BYTE;

	self->c->enabled = 0;
	nest_s1_pte_write(ptep, (nest_s1_pte_read(ptep) & ~NESTIOMMU_S1_PTE_ADDR) | from);
	inv_all(self->e.fd, self->e.nested_id);
	ASSERT_EQ(from_byte, env_read_byte(&self->e, STALE_IOVA));
	nest_s1_pte_write(ptep, (nest_s1_pte_read(ptep) & ~NESTIOMMU_S1_PTE_ADDR) | to);
	ASSERT_EQ(from_byte, env_read_byte(&self->e, STALE_IOVA + 0x10));
	self->c->enabled = enabled;
}

/* A decision of zeros changes nothing; the hook saw the entry. */
TEST_F(inv, hook_sees_the_entry)
{
	struct nestiommu_inv_entry ent = inv_entry(IOTLB | (variant->ats ? DEVTLB : 0), G_ADDR,
						   NESTIOMMU_INV_F_PASID | NESTIOMMU_INV_F_LEAF,
						   ENV_PASID, STALE_IOVA, SZ_4K, 1);
	struct nestiommu_xlate_stats h0, h1;

	inv_make_stale(self, OLD_GPA, NEW_GPA);
	h0 = inv_stats(self);
	self->c->enabled = 1;
	do_hwpt_invalidate(self->e.fd, self->e.nested_id, &ent, 1);
	ASSERT_EQ(NEW_BYTE, env_read_byte(&self->e, STALE_IOVA));
	ASSERT_EQ(1, self->c->matched);
	ASSERT_EQ(self->e.nested_id, self->c->last_hwpt_id);
	ASSERT_EQ(ent.cache, self->c->last_cache);
	ASSERT_EQ(G_ADDR, self->c->last_granularity);
	ASSERT_EQ(ent.flags, self->c->last_flags);
	ASSERT_EQ(ENV_PASID, self->c->last_pasid);
	ASSERT_EQ(STALE_IOVA, self->c->last_addr);
	ASSERT_EQ(SZ_4K, self->c->last_granule_size);
	ASSERT_EQ(1, self->c->last_nb_granules);
	h1 = inv_stats(self);
	ASSERT_EQ(h0.inv_dropped + (variant->ats ? 2 : 1), h1.inv_dropped);
	ASSERT_EQ(h0.injected_inv_drops, h1.injected_inv_drops);
	ASSERT_EQ(h0.injected_inv_errors, h1.injected_inv_errors);
	ASSERT_EQ(h0.hook_rejected, h1.hook_rejected);
}

/* drop = 1: HWPT_INVALIDATE succeeds, and the stale translation stays. */
TEST_F(inv, dropped_invalidation_leaves_stale_translation)
{
	struct nestiommu_xlate_stats h0, h1;

	inv_make_stale(self, OLD_GPA, NEW_GPA);
	h0 = inv_stats(self);
	self->c->drop = 1;
	self->c->enabled = 1;
	do_hwpt_invalidate(self->e.fd, self->e.nested_id, self->flush, self->nflush);
	ASSERT_EQ(self->nflush, self->c->written);
	ASSERT_EQ(OLD_BYTE, env_read_byte(&self->e, STALE_IOVA));
	h1 = inv_stats(self);
	ASSERT_EQ(h0.injected_inv_drops + self->nflush, h1.injected_inv_drops);
	ASSERT_EQ(h0.inv_dropped, h1.inv_dropped);
	ASSERT_EQ(h0.injected_inv_errors, h1.injected_inv_errors);
	ASSERT_EQ(h0.hook_rejected, h1.hook_rejected);
	/* Invalidations count on the HWPT only. */
	ASSERT_EQ(0, xstats(&self->e, self->e.dev_id, NESTIOMMU_OBJ_DEVICE).injected_inv_drops);

	/* Without the drop the same invalidation works. */
	self->c->drop = 0;
	do_hwpt_invalidate(self->e.fd, self->e.nested_id, self->flush, self->nflush);
	ASSERT_EQ(NEW_BYTE, env_read_byte(&self->e, STALE_IOVA));
}

/* Only the entry the program picks is dropped; the others take effect. */
TEST_F(inv, drop_one_entry_of_many)
{
	struct nestiommu_inv_entry ent[3] = {
		inv_entry(PASIDC, G_PASID, 0, ENV_PASID, 0, 0, 0),
		inv_entry(IOTLB, G_DOMAIN, 0, 0, 0, 0, 0),
		self->flush[1],
	};
	struct nestiommu_xlate_stats h0, h1;

	/* Drop the IOTLB entry: the page stays stale (ATS: the device TLB is
	 * emptied, and refilled from the stale IOTLB). */
	inv_make_stale(self, OLD_GPA, NEW_GPA);
	h0 = inv_stats(self);
	self->c->drop = 1;
	self->c->nth = 2;
	self->c->enabled = 1;
	do_hwpt_invalidate(self->e.fd, self->e.nested_id, ent, variant->ats ? 3 : 2);
	ASSERT_EQ(1, self->c->written);
	ASSERT_EQ(OLD_BYTE, env_read_byte(&self->e, STALE_IOVA));
	h1 = inv_stats(self);
	ASSERT_EQ(h0.injected_inv_drops + 1, h1.injected_inv_drops);
	ASSERT_EQ(h0.inv_pasid + 1, h1.inv_pasid);

	/* Drop the PASID-cache entry instead: the IOTLB entry goes, the
	 * translation is fresh. */
	inv_make_stale(self, NEW_GPA, OLD_GPA);
	self->c->matched = 0;
	self->c->nth = 1;
	do_hwpt_invalidate(self->e.fd, self->e.nested_id, ent, variant->ats ? 3 : 2);
	ASSERT_EQ(2, self->c->written);
	ASSERT_EQ(OLD_BYTE, env_read_byte(&self->e, STALE_IOVA));
	ASSERT_EQ(h0.injected_inv_drops + 2, inv_stats(self).injected_inv_drops);
}

/*
 * error = errno: the entry fails with it, entry_num says how many entries
 * before it were handled (and they took effect), the rest are not handled.
 */
TEST_F(inv, injected_error_fails_the_entry)
{
	const __u32 errs[] = { EPERM, EIO, ENOMEM, EAGAIN, HOOK_MAX_ERRNO };
	struct nestiommu_inv_entry ent[3] = {
		inv_entry(PASIDC, G_PASID, 0, ENV_PASID, 0, 0, 0),
		inv_entry(IOTLB | DEVTLB, G_PASID, 0, ENV_PASID, 0, 0, 0),
		inv_entry(IOTLB, G_DOMAIN, 0, 0, 0, 0, 0),
	};
	struct nestiommu_xlate_stats h0, h1;
	size_t i;
	__u32 k;

	for (i = 0; i < sizeof(errs) / sizeof(errs[0]); i++) {
		for (k = 1; k <= 3; k++) {
			TH_CONTEXT("error %u at entry %u", errs[i], k - 1);
			inv_make_stale(self, OLD_GPA, NEW_GPA);
			h0 = inv_stats(self);
			self->c->error = errs[i];
			self->c->matched = 0;
			self->c->nth = k;
			self->c->enabled = 1;
			do_hwpt_invalidate_err(errs[i], self->e.fd, self->e.nested_id, ent, 3, k - 1);
			self->c->enabled = 0;
			/* The entries after the failing one were not handled. */
			ASSERT_EQ(k, self->c->matched);
			h1 = inv_stats(self);
			ASSERT_EQ(h0.injected_inv_errors + 1, h1.injected_inv_errors);
			ASSERT_EQ(h0.injected_inv_drops, h1.injected_inv_drops);
			ASSERT_EQ(h0.hook_rejected, h1.hook_rejected);
			ASSERT_EQ(h0.inv_pasid + (k > 1), h1.inv_pasid);
			ASSERT_EQ(h0.inv_iotlb + (k > 2), h1.inv_iotlb);
			ASSERT_EQ(h0.inv_dev_iotlb + (k > 2), h1.inv_dev_iotlb);
			/* Entry 1 (both TLBs) went only if the error came later. */
			ASSERT_EQ(k > 2 ? NEW_BYTE : OLD_BYTE, env_read_byte(&self->e, STALE_IOVA));
		}
	}
}

/* error wins over drop. */
TEST_F(inv, error_wins_over_drop)
{
	struct nestiommu_xlate_stats h0, h1;

	inv_make_stale(self, OLD_GPA, NEW_GPA);
	h0 = inv_stats(self);
	self->c->error = EBUSY;
	self->c->drop = 1;
	self->c->enabled = 1;
	do_hwpt_invalidate_err(EBUSY, self->e.fd, self->e.nested_id, self->flush, self->nflush, 0);
	ASSERT_EQ(OLD_BYTE, env_read_byte(&self->e, STALE_IOVA));
	h1 = inv_stats(self);
	ASSERT_EQ(h0.injected_inv_errors + 1, h1.injected_inv_errors);
	ASSERT_EQ(h0.injected_inv_drops, h1.injected_inv_drops);
	ASSERT_EQ(h0.hook_rejected, h1.hook_rejected);
}

/*
 * Out-of-range decisions are ignored: the entry is carried out, and
 * hook_rejected of the HWPT counts it.
 */
TEST_F(inv, invalid_decisions_rejected)
{
	const struct { __u32 error, drop; } bad[] = {
		{ HOOK_MAX_ERRNO + 1, 0 }, { 4096, 0 }, { 0xffffffff, 0 },
		{ 0x80000000, 0 }, { 0, 2 }, { 0, 0xffffffff },
	};
	const size_t n = sizeof(bad) / sizeof(bad[0]);
	struct nestiommu_xlate_stats h0, h1, d0 = xstats(&self->e, self->e.dev_id,
							    NESTIOMMU_OBJ_DEVICE);
	size_t i;

	h0 = inv_stats(self);
	for (i = 0; i < n; i++) {
		TH_CONTEXT("error %u drop %u", bad[i].error, bad[i].drop);
		inv_make_stale(self, i % 2 ? NEW_GPA : OLD_GPA, i % 2 ? OLD_GPA : NEW_GPA);
		self->c->error = bad[i].error;
		self->c->drop = bad[i].drop;
		self->c->enabled = 1;
		do_hwpt_invalidate(self->e.fd, self->e.nested_id, self->flush, self->nflush);
		self->c->enabled = 0;
		ASSERT_EQ(i % 2 ? OLD_BYTE : NEW_BYTE, env_read_byte(&self->e, STALE_IOVA));
		h1 = inv_stats(self);
		ASSERT_EQ(h0.hook_rejected + (i + 1) * self->nflush, h1.hook_rejected);
	}
	TH_CONTEXT("statistics");
	ASSERT_EQ(h0.injected_inv_drops, h1.injected_inv_drops);
	ASSERT_EQ(h0.injected_inv_errors, h1.injected_inv_errors);
	/* Counted on the HWPT only. */
	ASSERT_EQ(d0.hook_rejected,
		  xstats(&self->e, self->e.dev_id, NESTIOMMU_OBJ_DEVICE).hook_rejected);
}

/*
 * nestiommu:invalidate marks injected drops (nothing dropped) and errors
 * (the errno); organic and rejected entries carry no mark.
 */
TEST_F(inv, injected_outcomes_marked_in_invalidate_event)
{
	struct inv_mark_ctl *m, m0;

	hooks_teardown(self->skel);
	self->skel = hooks_setup(true);
	self->c = &self->skel->bss->invalidate;
	self->c->hwpt_id = self->e.nested_id;
	m = &self->skel->bss->inv_mark;
	m->hwpt_id = self->e.nested_id;

	TH_CONTEXT("organic");
	inv_make_stale(self, OLD_GPA, NEW_GPA);
	m0 = *m;
	do_hwpt_invalidate(self->e.fd, self->e.nested_id, self->flush, self->nflush);
	ASSERT_EQ(m0.events + self->nflush, m->events);
	ASSERT_EQ(m0.dropped + self->nflush, m->dropped);
	ASSERT_EQ(m0.injected_drops, m->injected_drops);
	ASSERT_EQ(m0.injected_errors, m->injected_errors);

	TH_CONTEXT("drop");
	inv_make_stale(self, OLD_GPA, NEW_GPA);
	m0 = *m;
	self->c->drop = 1;
	self->c->enabled = 1;
	do_hwpt_invalidate(self->e.fd, self->e.nested_id, self->flush, self->nflush);
	ASSERT_EQ(m0.events + self->nflush, m->events);
	ASSERT_EQ(m0.dropped, m->dropped);
	ASSERT_EQ(m0.injected_drops + self->nflush, m->injected_drops);
	ASSERT_EQ(m0.injected_errors, m->injected_errors);

	TH_CONTEXT("error");
	m0 = *m;
	self->c->drop = 0;
	self->c->error = ENXIO;
	do_hwpt_invalidate_err(ENXIO, self->e.fd, self->e.nested_id, self->flush, self->nflush, 0);
	ASSERT_EQ(m0.events + 1, m->events);
	ASSERT_EQ(m0.dropped, m->dropped);
	ASSERT_EQ(m0.injected_drops, m->injected_drops);
	ASSERT_EQ(m0.injected_errors + 1, m->injected_errors);
	ASSERT_EQ(ENXIO, m->last_error);

	TH_CONTEXT("rejected");
	inv_make_stale(self, OLD_GPA, NEW_GPA);
	m0 = *m;
	self->c->error = 4096;
	do_hwpt_invalidate(self->e.fd, self->e.nested_id, self->flush, self->nflush);
	ASSERT_EQ(m0.events + self->nflush, m->events);
	ASSERT_EQ(m0.dropped + self->nflush, m->dropped);
	ASSERT_EQ(m0.injected_drops, m->injected_drops);
	ASSERT_EQ(m0.injected_errors, m->injected_errors);
	ASSERT_EQ(0, m->last_error);
}

/* A bad entry fails with its own errno before the hook is asked. */
TEST_F(inv, bad_entry_never_reaches_the_hook)
{
	struct nestiommu_inv_entry ent[2] = {
		inv_entry(IOTLB, G_DOMAIN, 0, 0, 0, 0, 0),
		inv_entry(DEVTLB, G_DOMAIN, 0, 0, 0, 0, 0),	/* bad: EINVAL */
	};
	struct nestiommu_xlate_stats h0 = inv_stats(self), h1;

	self->c->error = EIO;
	self->c->nth = 2;
	self->c->enabled = 1;
	do_hwpt_invalidate_err(EINVAL, self->e.fd, self->e.nested_id, ent, 2, 1);
	ASSERT_EQ(1, self->c->matched);
	ASSERT_EQ(0, self->c->written);
	h1 = inv_stats(self);
	ASSERT_EQ(h0.injected_inv_errors, h1.injected_inv_errors);
	ASSERT_EQ(h0.hook_rejected, h1.hook_rejected);
}

/* The program's filter: another HWPT's invalidation is untouched. */
TEST_F(inv, other_hwpt_untouched)
{
	struct nestiommu_xlate_stats st;
	__u32 other;

	do_hwpt_alloc_nested(self->e.fd, self->e.parent_id, &self->e.desc, &other);
	self->c->error = EIO;
	self->c->enabled = 1;
	do_hwpt_invalidate(self->e.fd, other, self->flush, self->nflush);
	do_hwpt_invalidate_err(EIO, self->e.fd, self->e.nested_id, self->flush, self->nflush, 0);
	do_xlate_stats(self->e.fd, other, NESTIOMMU_OBJ_HWPT_NESTED, &st);
	ASSERT_EQ(0, st.injected_inv_errors);
	ASSERT_EQ(0, st.hook_rejected);
}

/* Detached, invalidations work again and the program sees none. */
TEST_F(inv, detach_restores_organic_invalidation)
{
	struct nestiommu_xlate_stats h0, h1;
	__u64 calls;

	self->c->drop = 1;
	self->c->enabled = 1;
	inv_make_stale(self, OLD_GPA, NEW_GPA);
	do_hwpt_invalidate(self->e.fd, self->e.nested_id, self->flush, self->nflush);
	ASSERT_EQ(OLD_BYTE, env_read_byte(&self->e, STALE_IOVA));
	hook_detach(&self->skel->links.hook_invalidate);
	calls = self->c->calls;
	h0 = inv_stats(self);
	do_hwpt_invalidate(self->e.fd, self->e.nested_id, self->flush, self->nflush);
	ASSERT_EQ(NEW_BYTE, env_read_byte(&self->e, STALE_IOVA));
	h1 = inv_stats(self);
	ASSERT_EQ(calls, self->c->calls);
	ASSERT_EQ(h0.injected_inv_drops, h1.injected_inv_drops);
	ASSERT_LT(h0.inv_dropped, h1.inv_dropped);
}

/* ==== hook_map ==== */

#define MAP_LEN		(16 * SZ_4K)
#define MAP_IOVA	0x20000000ULL

FIXTURE(map) {
	int fd;
	__u32 ioas;
	char *buf;
	struct hook_inject_bpf *skel;
	struct hook_map_ctl *c;
};

FIXTURE_SETUP(map)
{
	self->skel = NULL;
	self->fd = do_open();
	do_ioas_alloc(self->fd, &self->ioas);
	self->buf = alloc_buffer_4k(MAP_LEN, SZ_64K);
	self->skel = hooks_setup(false);
	self->c = &self->skel->bss->map;
	self->c->ioas_id = self->ioas;
}

FIXTURE_TEARDOWN(map)
{
	hooks_teardown(self->skel);
	close(self->fd);
	munmap(self->buf, MAP_LEN);
}

/* Pages pinned by the module, or 0 without debugfs (then not compared). */
static __u64 map_pinned(void)
{
	return access(DEBUGFS_PINNED_PAGES, R_OK) ? 0 : module_pinned_pages();
}

/* A decision of zeros changes nothing; the hook saw the request. */
TEST_F(map, hook_sees_the_request)
{
	struct nestiommu_ioas_stats st;

	self->c->enabled = 1;
	do_ioas_map_fixed(self->fd, self->ioas, self->buf, MAP_LEN, MAP_IOVA);
	ASSERT_EQ(1, self->c->matched);
	ASSERT_EQ(self->ioas, self->c->last_ioas_id);
	ASSERT_EQ(MAP_FIXED_RW, self->c->last_flags);
	ASSERT_EQ(MAP_IOVA, self->c->last_iova);
	ASSERT_EQ(MAP_LEN, self->c->last_length);
	ASSERT_EQ(NEST_PTR(self->buf), self->c->last_user_va);
	st = istats(self->fd, self->ioas);
	ASSERT_EQ(1, st.mappings);
	ASSERT_EQ(MAP_LEN / SZ_4K, st.pinned_pages);
	ASSERT_EQ(0, st.injected_map_errors);
	ASSERT_EQ(0, st.hook_rejected);
}

/*
 * error = errno: MAP fails with it, pins and charges nothing, maps
 * nothing; the same MAP works afterwards.
 */
TEST_F(map, injected_error_fails_map_and_pins_nothing)
{
	const __u32 errs[] = { EPERM, ENOMEM, ENOSPC, EFAULT, EEXIST, HOOK_MAX_ERRNO };
	const size_t n = sizeof(errs) / sizeof(errs[0]);
	__u64 vmlck = vmlck_bytes(), pinned = map_pinned(), iova;
	struct nestiommu_ioas_stats st;
	size_t i;

	self->c->enabled = 1;
	for (i = 0; i < n; i++) {
		TH_CONTEXT("error %u", errs[i]);
		self->c->error = errs[i];
		do_ioas_map_fixed_err(errs[i], self->fd, self->ioas, self->buf, MAP_LEN, MAP_IOVA);
		/* Without FIXED_IOVA too. */
		iova = 0;
		do_ioas_map_err(errs[i], self->fd, self->ioas, MAP_RW, NEST_PTR(self->buf),
				MAP_LEN, &iova);
		st = istats(self->fd, self->ioas);
		ASSERT_EQ(0, st.mappings);
		ASSERT_EQ(0, st.mapped_bytes);
		ASSERT_EQ(0, st.pinned_pages);
		ASSERT_EQ(0, st.map_ops);
		ASSERT_EQ(2 * (i + 1), st.injected_map_errors);
		ASSERT_EQ(0, st.hook_rejected);
		ASSERT_EQ(vmlck, vmlck_bytes());
		ASSERT_EQ(pinned, map_pinned());
	}
	TH_CONTEXT("no error");
	self->c->error = 0;
	do_ioas_map_fixed(self->fd, self->ioas, self->buf, MAP_LEN, MAP_IOVA);
	st = istats(self->fd, self->ioas);
	ASSERT_EQ(1, st.mappings);
	ASSERT_EQ(MAP_LEN / SZ_4K, st.pinned_pages);
	ASSERT_EQ(2 * n, st.injected_map_errors);
	do_ioas_unmap(self->fd, self->ioas, MAP_IOVA, MAP_LEN, MAP_LEN);
	ASSERT_EQ(vmlck, vmlck_bytes());
}

/* Out-of-range errnos are ignored (MAP works) and counted. */
TEST_F(map, invalid_decisions_rejected)
{
	const __u32 bad[] = { HOOK_MAX_ERRNO + 1, 4095, 4096, 0x80000000, 0xffffffff };
	const size_t n = sizeof(bad) / sizeof(bad[0]);
	struct nestiommu_ioas_stats st;
	size_t i;

	self->c->enabled = 1;
	for (i = 0; i < n; i++) {
		TH_CONTEXT("error %u", bad[i]);
		self->c->error = bad[i];
		do_ioas_map_fixed(self->fd, self->ioas, self->buf, MAP_LEN, MAP_IOVA);
		st = istats(self->fd, self->ioas);
		ASSERT_EQ(1, st.mappings);
		ASSERT_EQ(MAP_LEN / SZ_4K, st.pinned_pages);
		ASSERT_EQ(i + 1, st.hook_rejected);
		ASSERT_EQ(0, st.injected_map_errors);
		do_ioas_unmap(self->fd, self->ioas, MAP_IOVA, MAP_LEN, MAP_LEN);
	}
	ASSERT_EQ(n, self->c->written);
}

/* A bad MAP fails with its own errno before the hook is asked. */
TEST_F(map, bad_request_never_reaches_the_hook)
{
	__u64 iova = MAP_IOVA;

	self->c->ioas_id = 0;
	self->c->error = EIO;
	self->c->enabled = 1;
	do_ioas_map_err(EINVAL, self->fd, self->ioas, MAP_FIXED_RW, NEST_PTR(self->buf), 0,
			&iova);
	do_ioas_map_err(EINVAL, self->fd, self->ioas, MAP_FIXED_RW, NEST_PTR(self->buf) + 1,
			MAP_LEN, &iova);
	do_ioas_map_err(EOPNOTSUPP, self->fd, self->ioas, MAP_FIXED_RW | (1U << 7),
			NEST_PTR(self->buf), MAP_LEN, &iova);
	do_ioas_map_err(ENOENT, self->fd, self->ioas + 1000, MAP_FIXED_RW,
			NEST_PTR(self->buf), MAP_LEN, &iova);
	ASSERT_EQ(0, self->c->calls);
	ASSERT_EQ(0, istats(self->fd, self->ioas).injected_map_errors);
}

/* The program's filter: another IOAS maps normally. */
TEST_F(map, other_ioas_untouched)
{
	struct nestiommu_ioas_stats st;
	__u32 other;

	do_ioas_alloc(self->fd, &other);
	self->c->error = ENOMEM;
	self->c->enabled = 1;
	do_ioas_map_fixed(self->fd, other, self->buf, MAP_LEN, MAP_IOVA);
	do_ioas_map_fixed_err(ENOMEM, self->fd, self->ioas, self->buf, MAP_LEN, MAP_IOVA);
	st = istats(self->fd, other);
	ASSERT_EQ(1, st.mappings);
	ASSERT_EQ(0, st.injected_map_errors);
	ASSERT_EQ(1, istats(self->fd, self->ioas).injected_map_errors);
}

/* Detached, MAP works again and the program sees none. */
TEST_F(map, detach_restores_organic_map)
{
	__u64 calls;

	self->c->error = EIO;
	self->c->enabled = 1;
	do_ioas_map_fixed_err(EIO, self->fd, self->ioas, self->buf, MAP_LEN, MAP_IOVA);
	hook_detach(&self->skel->links.hook_map);
	calls = self->c->calls;
	do_ioas_map_fixed(self->fd, self->ioas, self->buf, MAP_LEN, MAP_IOVA);
	ASSERT_EQ(calls, self->c->calls);
	ASSERT_EQ(1, istats(self->fd, self->ioas).injected_map_errors);
	ASSERT_EQ(1, istats(self->fd, self->ioas).mappings);
}

TEST_HARNESS_MAIN
