// SPDX-License-Identifier: GPL-2.0
/*
 * hook_test, nest_hook_invalidate and nest_hook_map: dropped and failed
 * invalidation entries (the stale translation stays), failed MAPs that
 * pin nothing, rejected decisions.
 */
#include "hook_test.h"

/* ==== nest_hook_invalidate ==== */

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
	ASSERT_EQ(getpid(), self->c->last_pid);
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
 * nestiommu:nest_invalidate marks injected drops (nothing dropped) and errors
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

/* ==== nest_hook_map ==== */

#define MAP_LEN		(16 * SZ_4K)
#define MAP_IOVA	0x20000000ULL

FIXTURE(map) {
	int fd;
	__u32 ioas;
	char *buf;
	struct hook_inject_bpf *skel;
	struct hook_map_ctl *c;
	struct map_mark_ctl *mark;	/* nestiommu:nest_map_error */
};

FIXTURE_SETUP(map)
{
	self->skel = NULL;
	self->fd = do_open();
	do_ioas_alloc(self->fd, &self->ioas);
	self->buf = alloc_buffer_4k(MAP_LEN, SZ_64K);
	self->skel = hooks_setup(true);
	self->c = &self->skel->bss->map;
	self->c->ioas_id = self->ioas;
	self->mark = &self->skel->bss->map_mark;
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
	ASSERT_EQ(getpid(), self->c->last_pid);
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
	__u64 vmpin = vmpin_bytes(), pinned = map_pinned(), iova;
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
		ASSERT_EQ(vmpin, vmpin_bytes());
		ASSERT_EQ(pinned, map_pinned());
		/* Each shows in nest_map_error, marked injected. */
		ASSERT_EQ(2 * (i + 1), self->mark->events);
		ASSERT_EQ(2 * (i + 1), self->mark->injected);
		ASSERT_EQ(-(int)errs[i], self->mark->last_err);
		ASSERT_EQ(self->ioas, self->mark->last_ioas_id);
		ASSERT_EQ(MAP_LEN, self->mark->last_length);
		ASSERT_EQ(getpid(), self->mark->last_pid);
	}
	TH_CONTEXT("no error");
	self->c->error = 0;
	do_ioas_map_fixed(self->fd, self->ioas, self->buf, MAP_LEN, MAP_IOVA);
	st = istats(self->fd, self->ioas);
	ASSERT_EQ(1, st.mappings);
	ASSERT_EQ(MAP_LEN / SZ_4K, st.pinned_pages);
	ASSERT_EQ(2 * n, st.injected_map_errors);
	ASSERT_EQ(2 * n, self->mark->events);	/* a MAP that works: none */
	do_ioas_unmap(self->fd, self->ioas, MAP_IOVA, MAP_LEN, MAP_LEN);
	ASSERT_EQ(vmpin, vmpin_bytes());
}

/*
 * A MAP that fails by itself (the IOVA is taken) shows in nest_map_error
 * too, not marked injected: the hook wrote nothing.
 */
TEST_F(map, organic_failure_traced_not_injected)
{
	self->c->enabled = 1;
	do_ioas_map_fixed(self->fd, self->ioas, self->buf, MAP_LEN, MAP_IOVA);
	do_ioas_map_fixed_err(EEXIST, self->fd, self->ioas, self->buf, MAP_LEN, MAP_IOVA);
	ASSERT_EQ(1, self->mark->events);
	ASSERT_EQ(0, self->mark->injected);
	ASSERT_EQ(-EEXIST, self->mark->last_err);
	ASSERT_EQ(MAP_IOVA, self->mark->last_iova);
	ASSERT_EQ(0, istats(self->fd, self->ioas).injected_map_errors);
	do_ioas_unmap(self->fd, self->ioas, MAP_IOVA, MAP_LEN, MAP_LEN);
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
	ASSERT_EQ(0, self->mark->events);	/* checks come before the IOAS */
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
