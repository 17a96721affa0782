// SPDX-License-Identifier: GPL-2.0
/*
 * Races between DMA and the calls that take memory away from it:
 *  - IOAS_UNMAP racing DMA: a thread loops DMA writes (with a pattern of
 *    its own) and reads through the HWPT while the main thread unmaps the
 *    buffer's stage-2 range, then writes a canary into the (still process
 *    owned) buffer. Once UNMAP has returned no DMA may change the buffer,
 *    and every DMA started after it must fault.
 *  - DETACH / ATTACH racing DMA: every DMA either works or faults
 *    PASID_INVALID, and the data it moves is right.
 * Repeated a few hundred times; a kernel WARN fails the run (the runner).
 */
#include <pthread.h>
#include <stdatomic.h>

#include "nest_env.h"

#define RACE_GPA	(DATA_GPA + 4 * SZ_1M)
#define RACE_IOVA	(ENV_IOVA + 4 * SZ_1M)
#define RACE_LEN	SZ_64K
#define RACE_ITER	300
#define CANARY		0x5c

struct racer {
	struct nest_env *e;
	__u32 dev_id, flags, pasid;
	__u64 iova;
	char *buf;		/* the buffer behind the race */
	int iter;
	atomic_int unmapped;	/* set once UNMAP returned */
	atomic_int after;	/* DMAs started after that */
	atomic_int ops;		/* DMAs issued */
	unsigned long before_ok;	/* DMAs before it that moved data */
	atomic_bool stop;
	__u64 rng;
	/* what went wrong, reported by the main thread */
	const char *bad;
	__u64 bad_iova;
	int bad_rc;
	struct nestiommu_dma bad_dma;
};

static void racer_fail(struct racer *r, const char *what, __u64 iova, int rc,
		       const struct nestiommu_dma *dma)
{
	if (r->bad)
		return;
	r->bad = what;
	r->bad_iova = iova;
	r->bad_rc = rc;
	if (dma)
		r->bad_dma = *dma;
}

static void *racer_thread(void *arg)
{
	struct racer *r = arg;
	static char wbuf[SZ_4K], rbuf[SZ_4K];
	unsigned char pattern = 0x80 | (r->iter & 0x3f);

	memset(wbuf, pattern, sizeof(wbuf));
	while (!atomic_load(&r->stop)) {
		__u64 x = prng_next(&r->rng);
		__u64 off = (x % (RACE_LEN / SZ_4K)) * SZ_4K + ((x >> 20) & 0x7f);
		__u32 access = (x >> 40) & 1 ? ACC_R : ACC_W;
		bool after = atomic_load(&r->unmapped);
		struct nestiommu_dma dma;
		int rc;

		rc = _do_dma(r->e->fd, r->dev_id, r->flags, r->pasid, access, r->iova + off,
			     512, access == ACC_R ? rbuf : wbuf, &dma);
		atomic_fetch_add(&r->ops, 1);
		if (rc) {
			racer_fail(r, "DMA ioctl failed", r->iova + off, rc, &dma);
			break;
		}
		if (!after) {
			r->before_ok += !dma.out_flags;
			continue;
		}
		atomic_fetch_add(&r->after, 1);
		if (dma.out_flags != NESTIOMMU_OUT_FAULT || dma.out_bytes_done ||
		    dma.out_fault.reason != NESTIOMMU_FAULT_REASON_PTE_FETCH ||
		    dma.out_fault.stage != 2) {
			racer_fail(r, "DMA after UNMAP did not fault at stage 2", r->iova + off,
				   0, &dma);
			break;
		}
	}
	return NULL;
}

FIXTURE(race) {
	struct nest_env e;
	char *buf;
};

FIXTURE_VARIANT(race) {
	bool nested;
	__u32 dev_flags;
};

FIXTURE_VARIANT_ADD(race, nested) { .nested = true };
FIXTURE_VARIANT_ADD(race, nested_ats) { .nested = true, .dev_flags = NESTIOMMU_DEVICE_ATS };
FIXTURE_VARIANT_ADD(race, paging) { .nested = false };

FIXTURE_SETUP(race)
{
	struct nest_env_opts o = { .dev_flags = variant->dev_flags };
	__u64 off;

	env_setup(&self->e, &o);
	self->buf = alloc_buffer_4k(RACE_LEN, SZ_64K);
	if (variant->nested) {
		for (off = 0; off < RACE_LEN; off += SZ_4K)
			env_map(&self->e, RACE_IOVA + off, RACE_GPA + off, SZ_4K, S1_RWU);
	} else {
		do_device_attach(self->e.fd, self->e.dev_id, 0, 0, self->e.parent_id);
	}
}

FIXTURE_TEARDOWN(race)
{
	env_teardown(&self->e);
	munmap(self->buf, RACE_LEN);
}

static void race_report(struct racer *r)
{
	if (!r->bad)
		return;
	TH_LOG("iteration %d: %s at iova 0x%llx (rc %d, bytes done %llu, out_flags 0x%x)",
	       r->iter, r->bad, (unsigned long long)r->bad_iova, r->bad_rc,
	       (unsigned long long)r->bad_dma.out_bytes_done, r->bad_dma.out_flags);
	if (r->bad_dma.out_flags & NESTIOMMU_OUT_FAULT)
		log_fault("its fault", &r->bad_dma.out_fault);
}

TEST_F_TIMEOUT(race, unmap_racing_dma_never_touches_old_pages, 600)
{
	static struct racer r;
	unsigned long before = 0, raced = 0;
	__u64 rng = 42;
	pthread_t th;
	int iter;

	for (iter = 0; iter < RACE_ITER; iter++) {
		unsigned int spins = prng_next(&rng) % 20000, k;
		int warmup = 1 + prng_next(&rng) % 8;
		volatile unsigned int sink = 0;

		TH_CONTEXT("iteration %d", iter);
		memset(self->buf, 0, RACE_LEN);
		do_ioas_map_fixed(self->e.fd, self->e.ioas_id, self->buf, RACE_LEN, RACE_GPA);
		memset(&r, 0, sizeof(r));
		r.e = &self->e;
		r.dev_id = self->e.dev_id;
		r.flags = variant->nested ? self->e.dma_flags : 0;
		r.pasid = variant->nested ? self->e.pasid : 0;
		r.iova = variant->nested ? RACE_IOVA : RACE_GPA;
		r.buf = self->buf;
		r.iter = iter;
		r.rng = prng_next(&rng);
		ASSERT_EQ(0, pthread_create(&th, NULL, racer_thread, &r));
		/* Let it run a few DMAs and a random while, then take the memory away. */
		while (atomic_load(&r.ops) < warmup && !r.bad)
			sched_yield();
		for (k = 0; k < spins; k++)
			sink += k;
		do_ioas_unmap(self->e.fd, self->e.ioas_id, RACE_GPA, RACE_LEN, RACE_LEN);
		atomic_store(&r.unmapped, 1);
		memset(self->buf, CANARY, RACE_LEN);
		/* A few DMAs strictly after the unmap. */
		while (atomic_load(&r.after) < 4 && !r.bad)
			sched_yield();
		atomic_store(&r.stop, true);
		ASSERT_EQ(0, pthread_join(th, NULL));
		race_report(&r);
		ASSERT_EQ(NULL, r.bad);
		/* No write after UNMAP returned reached the old pages. */
		ASSERT_MEM_BYTE(self->buf, CANARY, RACE_LEN);
		before += r.before_ok;
		raced += r.before_ok > 0;
	}
	TH_CONTEXT("%s", "");
	TH_LOG("%lu DMAs moved data before an UNMAP; %lu of %d UNMAPs raced running DMAs",
	       before, raced, RACE_ITER);
	/* The race did happen. */
	ASSERT_LT(RACE_ITER / 4, raced);
}

/* ==== detach and attach racing DMA ==== */

struct attacher {
	struct nest_env *e;
	atomic_bool stop;
	atomic_ulong ops;
	unsigned long ok, faults;
	const char *bad;
	struct nestiommu_dma bad_dma;
};

static void *attach_dma_thread(void *arg)
{
	struct attacher *a = arg;
	char buf[64];

	while (!atomic_load(&a->stop)) {
		struct nestiommu_dma dma;

		if (env_dma(a->e, ACC_R, ENV_IOVA + 0x40, sizeof(buf), buf, &dma)) {
			a->bad = "DMA ioctl failed";
			break;
		}
		atomic_fetch_add(&a->ops, 1);
		if (!dma.out_flags) {
			if (buf[0] != 0x31) {
				a->bad = "DMA read wrong data";
				break;
			}
			a->ok++;
		} else if (dma.out_fault.reason == NESTIOMMU_FAULT_REASON_PASID_INVALID &&
			   !dma.out_bytes_done) {
			a->faults++;
		} else {
			a->bad = "unexpected fault";
			a->bad_dma = dma;
			break;
		}
	}
	return NULL;
}

/* Detach and attach of a nested HWPT while another thread DMAs. */
FIXTURE(attach_race) {
	struct nest_env e;
};

FIXTURE_VARIANT(attach_race) {
	__u32 dev_flags;
};

FIXTURE_VARIANT_ADD(attach_race, nested) { .dev_flags = 0 };
FIXTURE_VARIANT_ADD(attach_race, nested_ats) { .dev_flags = NESTIOMMU_DEVICE_ATS };

FIXTURE_SETUP(attach_race)
{
	struct nest_env_opts o = { .dev_flags = variant->dev_flags };

	env_setup(&self->e, &o);
}

FIXTURE_TEARDOWN(attach_race)
{
	env_teardown(&self->e);
}

TEST_F_TIMEOUT(attach_race, detach_attach_racing_dma, 600)
{
	static struct attacher a;
	pthread_t th;
	int i;

	env_map(&self->e, ENV_IOVA, DATA_GPA, SZ_4K, S1_RWU);
	memset(self->e.data, 0x31, SZ_4K);
	memset(&a, 0, sizeof(a));
	a.e = &self->e;
	ASSERT_EQ(0, pthread_create(&th, NULL, attach_dma_thread, &a));
	for (i = 0; i < RACE_ITER && !a.bad; i++) {
		unsigned long seen = atomic_load(&a.ops);

		/* Each change lands while DMAs run: wait for progress in between. */
		while (atomic_load(&a.ops) < seen + 2 && !a.bad)
			sched_yield();
		do_device_detach(self->e.fd, self->e.dev_id, self->e.attach_flags, self->e.pasid);
		seen = atomic_load(&a.ops);
		while (atomic_load(&a.ops) < seen + 2 && !a.bad)
			sched_yield();
		do_device_attach(self->e.fd, self->e.dev_id, self->e.attach_flags, self->e.pasid,
				 self->e.nested_id);
		/* Destroying an attached HWPT is refused, racing or not. */
		do_destroy_err(EBUSY, self->e.fd, self->e.nested_id);
	}
	atomic_store(&a.stop, true);
	ASSERT_EQ(0, pthread_join(th, NULL));
	if (a.bad) {
		TH_LOG("%s", a.bad);
		if (a.bad_dma.out_flags)
			log_fault("fault", &a.bad_dma.out_fault);
	}
	ASSERT_EQ(NULL, a.bad);
	TH_LOG("%lu DMAs worked, %lu met a detached PASID", a.ok, a.faults);
	ASSERT_LT(0, a.ok);
	ASSERT_LT(0, a.faults);
}
