// SPDX-License-Identifier: GPL-2.0
/*
 * hook_test, nest_hook_fail_site: a fixed workload that reaches every
 * failure site (enum nestiommu_fail_site) runs with the n-th hit of one
 * site failed, for n = 1, 2, ... until the site is hit fewer than n times
 * (what `faultinject sweep` does). Each injected failure must make the
 * call that hit it fail with the site's errno (ENOMEM for all of them
 * today; a DMA whose page request group fails stops with its fault) and
 * leave the driver as it was before that call: no object, no
 * pinned page (debugfs pinned_pages, VmPin), no page request outstanding
 * more; it is counted in debugfs fail_sites and shown once in the
 * nest_fail_site event with the caller's pid. After the workload closes
 * everything, the module-wide counters are back where they started.
 */
#include <sys/vfs.h>

#include "hook_test.h"

#define FW_POOL_GPA	0x10000000ULL
#define FW_POOL_LEN	SZ_64K
#define FW_DATA_GPA	0x40000000ULL
#define FW_DATA_LEN	(4 * SZ_4K)
#define FW_IOVA		0x7f1240000000ULL
#define FW_PASID	5
#define FW_DEBUGFS	"/sys/kernel/debug/nestiommu/"

/* The module-wide and per-process counts a failure must not change. */
struct fail_state {
	__u64 objects;
	__u64 pinned;
	__u64 vmpin;
	__u64 outstanding;
};

static __u64 debugfs_u64(const char *name)
{
	unsigned long long v;
	char path[128];
	FILE *f;

	snprintf(path, sizeof(path), FW_DEBUGFS "%s", name);
	f = fopen(path, "r");
	if (!f)
		TH_LOG("cannot open %s: %s", path, strerror(errno));
	ASSERT_NE(NULL, (void *)f);
	ASSERT_EQ(1, fscanf(f, "%llu", &v));
	fclose(f);
	return v;
}

/* The count of @site in debugfs fail_sites ("name count" lines). */
static __u64 fail_sites_count(unsigned int site)
{
	unsigned long long v = 0;
	char name[64];
	unsigned int i = 0;
	FILE *f;

	f = fopen(FW_DEBUGFS "fail_sites", "r");
	ASSERT_NE(NULL, (void *)f);
	while (fscanf(f, "%63s %llu", name, &v) == 2 && i++ < site)
		;
	fclose(f);
	ASSERT_EQ(site + 1, i);
	return v;
}

static void fail_state_read(struct fail_state *s)
{
	s->pinned = module_pinned_pages();	/* skips without debugfs */
	s->objects = debugfs_u64("objects");
	s->outstanding = debugfs_u64("page_requests_outstanding");
	s->vmpin = vmpin_bytes();
}

#define fail_state_eq(a, b) do {				\
	EXPECT_EQ((a).objects, (b).objects);			\
	EXPECT_EQ((a).pinned, (b).pinned);			\
	EXPECT_EQ((a).vmpin, (b).vmpin);			\
	EXPECT_EQ((a).outstanding, (b).outstanding);		\
} while (0)

/* What a workload run did: the step that failed, if one did. */
struct fail_run {
	const char *step;	/* NULL: every step did what it should */
	long rc;		/* that step's -errno */
	__u32 dma_out_flags;	/* of the DMA, if it ran */
	struct fail_state before, after;
};

/* Run @call; on a result other than @ok, note the step and stop. */
#define FW_STEP(r, name, call, ok) do {				\
	struct fail_state before_;				\
	long rc_;						\
								\
	fail_state_read(&before_);				\
	rc_ = (call);						\
	if (rc_ != (ok)) {					\
		(r)->step = (name);				\
		(r)->rc = rc_;					\
		(r)->before = before_;				\
		fail_state_read(&(r)->after);			\
		goto out;					\
	}							\
} while (0)

static long fw_open(int *fd)
{
	*fd = open("/dev/" NESTIOMMU_DEVICE_NAME, O_RDWR | O_CLOEXEC);
	return *fd < 0 ? -errno : 0;
}

static long fw_read(int qfd)
{
	struct nestiommu_fault_record rec[4];

	return read(qfd, rec, sizeof(rec)) < 0 ? -errno : 0;
}

/*
 * Every site's ioctl, in the order a VMM would: a context, an IOAS with a
 * stage-1 pool, a NEST_PARENT paging HWPT with dirty tracking (its stage 2
 * mirrors the data mapped after it), a fault queue, a nested HWPT that
 * reports to it over an empty stage 1, an ATS+PRI device attached by
 * PASID, an IOTLB resize, a TRANSLATE and a non-blocking DMA whose fault
 * sends a page request group, and the read() of its record.
 */
static void fail_workload(struct fail_run *r, char *pool, char *data)
{
	__u32 ioas, parent, nested, dev, qid;
	struct nestiommu_hwpt_s1_x86 desc;
	struct nestiommu_walk_step steps[XL_STEPS];
	struct nestiommu_translate xl;
	struct nestiommu_dma dma;
	__u64 bitmap[1], iova;
	struct nest_s1 s1;
	int fd = -1, qfd = -1;
	long rc;

	memset(r, 0, sizeof(*r));
	FW_STEP(r, "open", fw_open(&fd), 0);
	FW_STEP(r, "ioas_alloc", nest_ioas_alloc(fd, &ioas), 0);
	iova = FW_POOL_GPA;
	FW_STEP(r, "map pool", nest_ioas_map(fd, ioas, MAP_FIXED_RW,
					     NEST_PTR(pool), FW_POOL_LEN, &iova), 0);
	FW_STEP(r, "hwpt_alloc paging",
		nest_hwpt_alloc_paging(fd, ioas, NESTIOMMU_HWPT_ALLOC_NEST_PARENT |
					 NESTIOMMU_HWPT_ALLOC_DIRTY_TRACKING,
				       &parent), 0);
	iova = FW_DATA_GPA;
	FW_STEP(r, "map data", nest_ioas_map(fd, ioas, MAP_FIXED_RW,
					     NEST_PTR(data), FW_DATA_LEN, &iova), 0);
	FW_STEP(r, "set_dirty_tracking",
		nest_hwpt_set_dirty_tracking(fd, parent, true), 0);
	FW_STEP(r, "get_dirty_bitmap",
		nest_hwpt_get_dirty_bitmap(fd, parent, 0, FW_DATA_GPA,
					   FW_DATA_LEN, SZ_4K, bitmap), 0);
	FW_STEP(r, "fault_queue_alloc", nest_fault_queue_alloc(fd, 16, &qid, &qfd), 0);
	ASSERT_OK(nest_s1_init(&s1, pool, FW_POOL_GPA, FW_POOL_LEN, 4));
	nest_s1_desc(&s1, 0, &desc);
	{
		struct nestiommu_hwpt_alloc cmd = {
			.flags = NESTIOMMU_HWPT_ALLOC_FAULT_ID_VALID,
			.pt_id = parent,
			.data_type = NESTIOMMU_HWPT_DATA_S1_X86,
			.data_len = sizeof(desc),
			.fault_id = qid,
			.data_uptr = NEST_PTR(&desc),
		};

		FW_STEP(r, "hwpt_alloc nested", nest_hwpt_alloc(fd, &cmd), 0);
		nested = cmd.out_hwpt_id;
	}
	FW_STEP(r, "device_create",
		nest_device_create(fd, NESTIOMMU_DEVICE_ATS | NESTIOMMU_DEVICE_PRI,
				   0x100, 8, &dev), 0);
	FW_STEP(r, "device_attach",
		nest_device_attach(fd, dev, NESTIOMMU_ATTACH_PASID, FW_PASID,
				   nested), 0);
	FW_STEP(r, "option iotlb",
		nest_option_set(fd, NESTIOMMU_OPTION_IOTLB_ENTRIES, 0, 64), 0);
	FW_STEP(r, "translate",
		_do_translate(fd, dev, NESTIOMMU_DMA_PASID, FW_PASID,
			      NESTIOMMU_ACCESS_READ, FW_IOVA, steps,
			      XL_STEPS, &xl), 0);
	dma = (struct nestiommu_dma) {
		.flags = NESTIOMMU_DMA_PASID | NESTIOMMU_DMA_NONBLOCK,
		.dev_id = dev,
		.pasid = FW_PASID,
		.access = NESTIOMMU_ACCESS_READ,
		.iova = FW_IOVA,
		.length = 64,
		.user_va = NEST_PTR(data),
	};
	/* Its group is sent and parked: EAGAIN. */
	rc = nest_dma(fd, &dma);
	r->dma_out_flags = dma.out_flags;
	FW_STEP(r, "dma", rc, -EAGAIN);
	FW_STEP(r, "read", fw_read(qfd), 0);
out:
	if (qfd >= 0)
		close(qfd);
	if (fd >= 0)
		close(fd);
}

FIXTURE(fail) {
	struct hook_inject_bpf *skel;
	struct hook_fail_site_ctl *c;
	char *pool, *data;
	struct fail_state base;
};

FIXTURE_VARIANT(fail) {
	unsigned int site;
	int err;	/* the call fails with -@err */
};

#define FAIL_SITE_ERR(_name, _site, _err) \
	FIXTURE_VARIANT_ADD(fail, _name) { \
		.site = NESTIOMMU_FAIL_SITE_##_site, .err = _err }
#define FAIL_SITE(_name, _site) FAIL_SITE_ERR(_name, _site, ENOMEM)
FAIL_SITE(context, CONTEXT);
FAIL_SITE(object, OBJECT);
FAIL_SITE(object_id, OBJECT_ID);
FAIL_SITE(cache_tag, CACHE_TAG);
FAIL_SITE(s2_table, S2_TABLE);
FAIL_SITE(area, AREA);
FAIL_SITE(pin, PIN);
FAIL_SITE(pin_pages, PIN_PAGES);
FAIL_SITE(locked_mem, LOCKED_MEM);
FAIL_SITE(attach, ATTACH);
FAIL_SITE(dirty_bitmap, DIRTY_BITMAP);
FAIL_SITE(fault_queue, FAULT_QUEUE);
FAIL_SITE(fault_read, FAULT_READ);
FAIL_SITE(pri, PRI);
/* The DMA stops with its fault (0, OUT_FAULT) instead of sending a group. */
FAIL_SITE_ERR(page_request, PAGE_REQUEST, 0);
FAIL_SITE(tlb, TLB);
FAIL_SITE(dma_bounce, DMA_BOUNCE);
FAIL_SITE(translate_trace, TRANSLATE_TRACE);
_Static_assert(NESTIOMMU_FAIL_SITE_COUNT == 18, "a variant per site");

FIXTURE_SETUP(fail)
{
	struct statfs sfs;

	self->skel = NULL;
	if (statfs("/sys/kernel/debug", &sfs) || sfs.f_type != DEBUGFS_MAGIC)
		SKIP("debugfs is not mounted at /sys/kernel/debug");
	self->pool = alloc_buffer_4k(FW_POOL_LEN, SZ_2M);
	self->data = alloc_buffer_4k(FW_DATA_LEN, SZ_2M);
	self->skel = hooks_setup(false);
	self->c = &self->skel->bss->fail_site;
	self->c->tgid = getpid();
	self->c->site = variant->site;
	self->skel->bss->fail_mark.tgid = getpid();
	hook_attach(self->skel->progs.hook_fail_site,
		    &self->skel->links.hook_fail_site,
		    "nestiommu:nest_hook_fail_site");
	hook_attach(self->skel->progs.fail_mark_prog,
		    &self->skel->links.fail_mark_prog,
		    "nestiommu:nest_fail_site (tp_btf)");
	fail_state_read(&self->base);
}

FIXTURE_TEARDOWN(fail)
{
	if (self->skel)
		EXPECT_EQ(0, self->skel->bss->fail_site.dirty);
	hooks_teardown(self->skel);
}

/* Reset the counts, then fail the @nth hit of the site with @fail. */
static void fail_arm(FIXTURE_DATA(fail) *self, __u32 nth, __u32 fail)
{
	struct hook_fail_site_ctl *c = self->c;

	c->enabled = 0;
	c->matched = 0;
	c->written = 0;
	self->skel->bss->fail_mark.events = 0;
	c->nth = nth;
	c->fail = fail;
	c->enabled = 1;
}

/*
 * The sweep: fail the 1st, 2nd ... hit of the site until a run hits it
 * fewer times. Each failure shows as the documented errno of the call that
 * hit it, changes nothing, is counted and traced once, and the workload
 * leaves nothing behind.
 */
TEST_F_TIMEOUT(fail, sweep, 300)
{
	struct fail_state end;
	struct fail_run r;
	__u32 nth;

	for (nth = 1; ; nth++) {
		__u64 counted = fail_sites_count(variant->site);

		fail_arm(self, nth, 1);
		fail_workload(&r, self->pool, self->data);
		self->c->enabled = 0;
		fail_state_read(&end);
		fail_state_eq(self->base, end);
		if (self->c->matched < nth) {
			/* Ran through: nothing was failed, every step worked. */
			EXPECT_EQ(0, self->c->written);
			EXPECT_EQ(0, self->skel->bss->fail_mark.events);
			if (r.step)
				TH_LOG("%s: %s", r.step, strerror(-r.rc));
			EXPECT_EQ(NULL, r.step);
			EXPECT_EQ(counted, fail_sites_count(variant->site));
			break;
		}
		TH_LOG("hit %u of %llu failed at step %s", nth,
		       (unsigned long long)self->c->matched, r.step ? r.step : "(none)");
		EXPECT_EQ(1, self->c->written);
		ASSERT_NE(NULL, r.step);
		EXPECT_EQ(-variant->err, r.rc);
		if (!variant->err) {
			EXPECT_TRUE(r.step && !strcmp(r.step, "dma"));
			EXPECT_EQ(NESTIOMMU_OUT_FAULT, r.dma_out_flags);
		}
		fail_state_eq(r.before, r.after);
		EXPECT_EQ(1, self->skel->bss->fail_mark.events);
		EXPECT_EQ(variant->site, self->skel->bss->fail_mark.last_site);
		EXPECT_EQ(getpid(), self->skel->bss->fail_mark.last_pid);
		EXPECT_EQ(-ENOMEM, self->skel->bss->fail_mark.last_err);
		EXPECT_EQ(getpid(), self->c->last_pid);
		EXPECT_EQ(counted + 1, fail_sites_count(variant->site));
	}
	/* The workload reaches every site. */
	EXPECT_LT(1, nth);
}

/* A decision other than 0 or 1 is ignored and counted. */
TEST_F(fail, rejected)
{
	__u64 rejected = debugfs_u64("fail_site_rejected");
	__u64 counted = fail_sites_count(variant->site);
	struct fail_run r;

	fail_arm(self, 0, 2);
	fail_workload(&r, self->pool, self->data);
	self->c->enabled = 0;
	if (r.step)
		TH_LOG("%s: %s", r.step, strerror(-r.rc));
	EXPECT_EQ(NULL, r.step);
	EXPECT_LT(0, self->c->written);
	EXPECT_EQ(rejected + self->c->written, debugfs_u64("fail_site_rejected"));
	EXPECT_EQ(counted, fail_sites_count(variant->site));
	EXPECT_EQ(0, self->skel->bss->fail_mark.events);
}

/*
 * The workload alone, with nothing attached: every step works and leaves
 * nothing behind. `faultinject sweep --at all` runs this case as its CMD
 * (selftests/test_faultinject_sweep.py).
 */
TEST(fail_workload_runs_clean)
{
	char *pool = alloc_buffer_4k(FW_POOL_LEN, SZ_2M);
	char *data = alloc_buffer_4k(FW_DATA_LEN, SZ_2M);
	struct fail_state base, end;
	struct fail_run r;

	fail_state_read(&base);
	fail_workload(&r, pool, data);
	fail_state_read(&end);
	if (r.step)
		TH_LOG("%s: %s", r.step, strerror(-r.rc));
	EXPECT_EQ(NULL, r.step);
	fail_state_eq(base, end);
}
