// SPDX-License-Identifier: GPL-2.0
/*
 * test_core_random.c - host unit tests of kernel/core: random page-table layouts against the reference walker
 * (selftests/host/ref_walk.c): translations, no-update walks and traces.
 * Shared parts: test_core.h.
 */
#include "test_core.h"

/* ------------------------------------------- random layouts vs reference */

#define RL_FRAMES	1024		/* 4 MiB of memory, GPA [0, 4M) */
#define RL_TABLES	16

struct rl {
	struct testmem tm;
	struct nest_s2 s2;
	u8 *ref_mem;
	u8 aborts[RL_FRAMES];
	struct ref_s2page model[RL_FRAMES];
	u8 ref_dirty[RL_FRAMES];
	u64 tables[RL_TABLES];		/* GPAs of the stage-1 tables */
	u64 written[RL_TABLES];		/* ofns they landed on */
	u64 stats[2][16];		/* [stage - 1][reason], [0][0]: ok */
	u64 ok_by_shift[31];
	u64 ok_by_leaf[6];		/* by stage-1 leaf level */
	u64 ad_walks;
};

static u64 rl_target(struct rl *t)
{
	u64 p = rnd_below(100);

	if (p < 65)
		return t->tables[rnd_below(RL_TABLES)];
	if (p < 75)
		return rnd_below(RL_FRAMES) * 4096;
	if (p < 82)
		return rnd_below(2) * SZ_2M;
	if (p < 85)
		return 0;	/* 1G aligned */
	if (p < 90)
		return (RL_FRAMES + rnd_below(1 << 20)) * 4096;
	if (p < 94)
		return (rnd() & GENMASK_ULL(47, 12));
	return (rnd_below(RL_FRAMES) * 4096) | (rnd() & GENMASK_ULL(51, 48));
}

static u64 rl_pte(struct rl *t)
{
	u64 p = rnd_below(100), pte;

	if (p < 2)
		return rnd();			/* garbage */
	if (p < 7)
		return rnd() & ~P;		/* not present */
	pte = rl_target(t) | P;
	if (rnd_below(100) < 12) {
		pte |= PS;
		if (rnd_below(100) < 70)
			pte = (pte & ~GENMASK_ULL(51, 12)) |
			      (rnd_below(100) < 50 ? SZ_2M : 0);
	}
	if (rnd_below(100) < 92)
		pte |= RW;
	if (rnd_below(100) < 92)
		pte |= US;
	if (rnd_below(100) < 10)
		pte |= XD;
	if (rnd_below(2))
		pte |= A;
	if (rnd_below(2))
		pte |= D;
	if (rnd_below(100) < 5)
		pte |= BIT_ULL(13 + rnd_below(17));	/* huge-page rsvd */
	if (rnd_below(100) < 10)
		pte |= rnd() & GENMASK_ULL(62, 52);	/* ignored */
	if (rnd_below(100) < 10)
		pte |= rnd() & (GENMASK_ULL(11, 8) | BIT_ULL(3) | BIT_ULL(4));
	return pte;
}

static u64 rl_iova(unsigned int levels)
{
	unsigned int vbits = levels == 5 ? 57 : 48, l;
	u64 iova = rnd() & 0xfff;

	for (l = 1; l <= levels; l++) {
		u64 idx = rnd_below(100) < 40 ? rnd_below(4) : rnd_below(512);

		iova |= idx << (12 + 9 * (l - 1));
	}
	iova = (u64)((s64)(iova << (64 - vbits)) >> (64 - vbits));
	if (rnd_below(100) < 4)
		iova ^= BIT_ULL(vbits + rnd_below(64 - vbits));
	return iova;
}

static void rl_map(struct rl *t, u64 gpa_pg, u64 ofn, bool r, bool w,
		   u8 level)
{
	t->model[gpa_pg] = (struct ref_s2page){
		.mapped = true, .r = r, .w = w, .level = level, .ofn = ofn,
	};
}

static int rl_layout(struct rl *t, struct nest_s1_desc *d)
{
	u64 i, j;
	u32 prot;

	/* undo the previous layout's writes */
	for (i = 0; i < RL_TABLES; i++) {
		memset(t->tm.mem + t->written[i] * 4096, 0, 4096);
		memset(t->ref_mem + t->written[i] * 4096, 0, 4096);
	}
	memset(t->model, 0, sizeof(t->model));
	memset(t->ref_dirty, 0, sizeof(t->ref_dirty));
	memset(t->aborts, 0, sizeof(t->aborts));
	if (nest_s2_init(&t->s2, &tm_ops, &t->tm))
		return -1;

	/* GPA [0, 2M): ofn [512, 1024), one 2M leaf or 4K leaves */
	if (rnd_below(2)) {
		prot = rnd_below(4) ? 3 : 1;
		if (nest_s2_map(&t->s2, 0, SZ_2M, 512, prot, true))
			return -1;
		for (i = 0; i < 512; i++)
			rl_map(t, i, 512 + i, prot & 1, prot & 2, 2);
	} else {
		for (i = 0; i < 512; i++) {
			if (rnd_below(100) < 5)
				continue;
			prot = 1 + rnd_below(100) % 3;
			if (rnd_below(100) < 60)
				prot = 3;
			if (nest_s2_map(&t->s2, i * 4096, 4096, 512 + i, prot,
					false))
				return -1;
			rl_map(t, i, 512 + i, prot & 1, prot & 2, 1);
		}
	}
	/* GPA [2M, 4M): random frames, some unmapped */
	for (i = 512; i < RL_FRAMES; i++) {
		u64 ofn = rnd_below(RL_FRAMES);

		if (rnd_below(100) < 15)
			continue;
		prot = rnd_below(100) < 70 ? 3 : 1 + rnd_below(2);
		if (nest_s2_map(&t->s2, i * 4096, 4096, ofn, prot, false))
			return -1;
		rl_map(t, i, ofn, prot & 1, prot & 2, 1);
	}
	/* external aborts on a few frames */
	for (i = 0; i < 4; i++)
		if (rnd_below(2))
			t->aborts[rnd_below(RL_FRAMES)] = 1;

	/* stage-1 tables on mapped GPAs, filled with random PTEs */
	for (i = 0; i < RL_TABLES; i++) {
		u64 pg;

		do {
			pg = rnd_below(RL_FRAMES);
		} while (!t->model[pg].mapped);
		t->tables[i] = pg * 4096;
		t->written[i] = t->model[pg].ofn;
	}
	for (i = 0; i < RL_TABLES; i++) {
		u64 *core = (u64 *)(t->tm.mem + t->written[i] * 4096);
		u64 *ref = (u64 *)(t->ref_mem + t->written[i] * 4096);

		for (j = 0; j < 512; j++)
			core[j] = ref[j] = rl_pte(t);
	}

	d->levels = rnd_below(100) < 3 ? 3 + 3 * rnd_below(2) :
		    4 + rnd_below(2);
	d->root_gpa = t->tables[rnd_below(RL_TABLES)];
	if (rnd_below(100) < 3)
		d->root_gpa = rnd() & GENMASK_ULL(50, 3);
	d->flags = rnd_below(4);
	if (rnd_below(100) < 2)
		d->flags |= BIT(2 + rnd_below(30));
	return 0;
}

static int rl_compare(int rc, const struct nest_walk_res *r,
		      const struct nest_fault *f, const struct ref_out *o)
{
	if (!rc != o->ok)
		return 1;
	if (o->ok)
		return r->ofn != o->ofn || r->perm != o->perm ||
		       r->page_shift != o->shift || r->mem_refs != o->refs;
	if (f->reason != o->reason || f->stage != o->stage ||
	    f->s1_level != o->s1_level ||
	    (f->flags & ~NEST_FAULT_F_GPA_VALID) !=
	    (o->flags & ~NEST_FAULT_F_GPA_VALID))
		return 1;
	if (f->stage == 1 && f->level != o->level)
		return 1;
	if ((f->flags & NEST_FAULT_F_GPA_VALID) && f->gpa != o->gpa)
		return 1;
	return 0;
}

TEST(ref_random_layouts)
{
	static const u32 accesses[] = {
		NEST_ACC_READ, NEST_ACC_WRITE, NEST_ACC_EXEC,
		NEST_ACC_READ | NEST_ACC_PRIV, NEST_ACC_WRITE | NEST_ACC_PRIV,
		NEST_ACC_EXEC | NEST_ACC_PRIV,
	};
	struct rl *t = calloc(1, sizeof(*t));
	struct ref_ctx c;
	long layout, walks = 0;
	bool mismatch = false;
	u64 bm[RL_FRAMES / 64], n, i;
	int k, a;

	rng_state = opt_seed ^ 0x5eed;
	TH_LOG("seed %" PRIu64 " layouts %ld", opt_seed, opt_layouts);
	t->tm.nr_frames = RL_FRAMES;
	t->tm.mem = calloc(RL_FRAMES, 4096);
	t->tm.abort_map = t->aborts;
	t->ref_mem = calloc(RL_FRAMES, 4096);
	c = (struct ref_ctx){
		.mem = t->ref_mem, .nr_frames = RL_FRAMES,
		.abort_map = t->aborts, .s2 = t->model,
		.nr_gpa_pages = RL_FRAMES, .dirty = t->ref_dirty,
	};

	for (layout = 0; layout < opt_layouts; layout++) {
		struct nest_s1_desc d;
		struct ref_desc rd;

		if (rl_layout(t, &d)) {
			TH_LOG("layout %ld: stage-2 setup failed", layout);
			mismatch = true;
			break;
		}
		rd = (struct ref_desc){ d.root_gpa, d.levels, d.flags };
		for (k = 0; k < 16 && !mismatch; k++) {
			u64 iova = rl_iova(d.levels == 5 ? 5 : 4);

			for (a = 0; a < (int)ARRAY_SIZE(accesses); a++) {
				struct nest_walk_res r;
				struct nest_fault f;
				struct ref_out o;
				int rc;

				memset(&f, 0, sizeof(f));
				rc = nest_s1_walk(&t->s2, &d, iova,
						  accesses[a], &r, &f);
				ref_walk(&c, &rd, iova, accesses[a], &o);
				walks++;
				if (rl_compare(rc, &r, &f, &o)) {
					TH_LOG("layout %ld iova 0x%" PRIx64
					       " access %u levels %u flags %u: "
					       "core rc %d reason %u stage %u "
					       "level %u s1 %u flags %u gpa 0x%"
					       PRIx64 " ofn %" PRIu64
					       " perm %u shift %u refs %u",
					       layout, iova, accesses[a],
					       d.levels, d.flags, rc, f.reason,
					       f.stage, f.level, f.s1_level,
					       f.flags, f.gpa, r.ofn, r.perm,
					       r.page_shift, r.mem_refs);
					TH_LOG("  ref ok %d reason %u stage %u "
					       "level %u s1 %u flags %u gpa 0x%"
					       PRIx64 " ofn %" PRIu64
					       " perm %u shift %u refs %u",
					       o.ok, o.reason, o.stage, o.level,
					       o.s1_level, o.flags, o.gpa,
					       o.ofn, o.perm, o.shift, o.refs);
					mismatch = true;
					break;
				}
				if (rc) {
					t->stats[f.stage - 1][f.reason]++;
				} else {
					t->stats[0][0]++;
					t->ok_by_shift[r.page_shift]++;
					t->ok_by_leaf[d.levels - r.s1_levels
						      + 1]++;
					if (d.flags & NEST_S1_F_AD)
						t->ad_walks++;
				}
			}
			for (i = 0; i < RL_TABLES && !mismatch; i++) {
				u64 o = t->written[i] * 4096;

				if (memcmp(t->tm.mem + o, t->ref_mem + o,
					   4096)) {
					TH_LOG("layout %ld: A/D bits of frame "
					       "%" PRIu64 " differ", layout,
					       t->written[i]);
					mismatch = true;
				}
			}
		}
		memset(bm, 0, sizeof(bm));
		if (!mismatch &&
		    nest_s2_read_dirty(&t->s2, 0, RL_FRAMES * 4096ULL, bm,
				       true, &n) == 0) {
			for (i = 0; i < RL_FRAMES; i++) {
				if (!!(bm[i / 64] & BIT_ULL(i % 64)) !=
				    t->ref_dirty[i]) {
					TH_LOG("layout %ld: dirty bit of GPA "
					       "page %" PRIu64 " differs",
					       layout, i);
					mismatch = true;
					break;
				}
			}
		}
		nest_s2_destroy(&t->s2);
		if (mismatch)
			break;
	}
	TH_LOG("%ld walks: %" PRIu64 " ok (stage-1 4K %" PRIu64 ", 2M %" PRIu64
	       ", 1G %" PRIu64 "; translations of 4K %" PRIu64 ", 2M %" PRIu64
	       "; with A/D %" PRIu64 ")", walks, t->stats[0][0],
	       t->ok_by_leaf[1], t->ok_by_leaf[2], t->ok_by_leaf[3],
	       t->ok_by_shift[12], t->ok_by_shift[21], t->ad_walks);
	for (k = 0; k < 2; k++)
		for (a = 1; a < 9; a++)
			if (t->stats[k][a])
				TH_LOG("stage %d reason %d: %" PRIu64, k + 1, a,
				       t->stats[k][a]);
	if (!mismatch && opt_layouts >= 1000) {
		/* the layouts must reach every outcome */
		ASSERT_TRUE(t->ok_by_leaf[1] && t->ok_by_leaf[2] &&
			    t->ok_by_leaf[3] && t->ok_by_shift[21] &&
			    t->ad_walks);
		ASSERT_TRUE(t->stats[1][NEST_FAULT_REASON_PTE_FETCH] &&
			    t->stats[1][NEST_FAULT_REASON_PERMISSION]);
		for (a = 2; a <= 8; a++)
			if (a != NEST_FAULT_REASON_PASID_INVALID) {
				TH_CONTEXT("stage-1 fault reason %d", a);
				ASSERT_TRUE(t->stats[0][a]);
			}
	}
	if (t->tm.tables)
		TH_LOG("leaked %ld tables", t->tm.tables);
	ASSERT_EQ(0, t->tm.tables);
	free(t->tm.mem);
	free(t->ref_mem);
	free(t);
	/* a mismatch with the reference: the diagnostics above say which */
	ASSERT_FALSE(mismatch);
}

/* ------------------------------- random layouts: no-update walks, traces */

static const u32 rl_accesses[] = {
	NEST_ACC_READ, NEST_ACC_WRITE, NEST_ACC_EXEC,
	NEST_ACC_READ | NEST_ACC_PRIV, NEST_ACC_WRITE | NEST_ACC_PRIV,
	NEST_ACC_EXEC | NEST_ACC_PRIV,
};

static struct rl *rl_alloc(struct ref_ctx *c)
{
	struct rl *t = calloc(1, sizeof(*t));

	if (!t)
		abort();
	t->tm.nr_frames = RL_FRAMES;
	t->tm.mem = calloc(RL_FRAMES, 4096);
	t->tm.abort_map = t->aborts;
	t->ref_mem = calloc(RL_FRAMES, 4096);
	if (!t->tm.mem || !t->ref_mem)
		abort();
	*c = (struct ref_ctx){
		.mem = t->ref_mem, .nr_frames = RL_FRAMES,
		.abort_map = t->aborts, .s2 = t->model,
		.nr_gpa_pages = RL_FRAMES, .dirty = t->ref_dirty,
	};
	return t;
}

static void rl_free(struct rl *t)
{
	free(t->tm.mem);
	free(t->ref_mem);
	free(t);
}

/* The stage-2 dirty bits of GPA [0, 4M), read without clearing. */
static void rl_dirty_bits(struct rl *t, u64 *bm)
{
	u64 n;

	memset(bm, 0, RL_FRAMES / 8);
	if (nest_s2_read_dirty(&t->s2, 0, RL_FRAMES * 4096ULL, bm, false, &n))
		abort();
}

/* The stage-2 dirty bits agree with the reference's. */
static bool rl_dirty_match(struct rl *t)
{
	u64 bm[RL_FRAMES / 64], i;

	rl_dirty_bits(t, bm);
	for (i = 0; i < RL_FRAMES; i++)
		if (!!(bm[i / 64] & BIT_ULL(i % 64)) != t->ref_dirty[i])
			return false;
	return true;
}

/* DMA-write a few mapped writable pages, in the core and the model. */
static void rl_predirty(struct rl *t)
{
	struct nest_walk_res r;
	struct nest_fault f;
	int k;

	for (k = 0; k < 6; k++) {
		u64 pg = rnd_below(RL_FRAMES), i;

		if (!t->model[pg].mapped || !t->model[pg].w)
			continue;
		if (nest_s2_translate(&t->s2, pg * 4096, NEST_ACC_WRITE, &r,
				      &f))
			abort();
		if (t->model[pg].level == 2)
			for (i = pg & ~511ULL; i < (pg & ~511ULL) + 512; i++)
				t->ref_dirty[i] = 1;
		else
			t->ref_dirty[pg] = 1;
	}
}

static void rl_log_mismatch(long layout, u64 iova, u32 access,
			    const struct nest_s1_desc *d, const char *what)
{
	TH_LOG("layout %ld iova 0x%" PRIx64 " access %u levels %u flags %u: %s",
	       layout, iova, access, d->levels, d->flags, what);
}

/* Where rl_walks() is: a layout, one of its IOVAs, an access. */
struct rl_walk {
	struct rl *t;
	struct ref_ctx c;
	struct nest_s1_desc d;
	struct ref_desc rd;
	long layout;
	int k;			/* the IOVA's index in the layout */
	u64 iova;
	u32 acc;
};

/* What a test checks: each returns why it failed, or NULL. */
struct rl_checks {
	const char *(*walk)(struct rl_walk *w, void *ctx);
	const char *(*iova_done)(struct rl_walk *w);	/* or NULL */
	const char *(*layout_done)(struct rl_walk *w);	/* or NULL */
};

/*
 * Over opt_layouts random layouts from @seed (A/D on in half of them, some
 * stage-1 tables on read-only stage-2 pages, some pages already dirty), 16
 * random IOVAs in each, every access of rl_accesses: @ck's checks, until
 * one fails (logged). *@leaked: the table pages left allocated. Return:
 * why a check failed, or NULL.
 */
static const char *rl_walks(u64 seed, const struct rl_checks *ck, void *ctx,
			    long *leaked)
{
	struct nest_mem_ops ops = tm_ops;
	struct rl_walk w = {};
	const char *bad = NULL;
	int a;

	rng_state = seed;
	TH_LOG("seed %" PRIu64 " layouts %ld", opt_seed, opt_layouts);
	w.t = rl_alloc(&w.c);
	ops.cmpxchg_u64 = counting_cmpxchg;
	for (w.layout = 0; w.layout < opt_layouts && !bad; w.layout++) {
		if (rl_layout(w.t, &w.d))
			abort();
		w.t->s2.ops = &ops;
		rl_predirty(w.t);
		w.rd = (struct ref_desc){ w.d.root_gpa, w.d.levels, w.d.flags };
		for (w.k = 0; w.k < 16 && !bad; w.k++) {
			w.iova = rl_iova(w.d.levels == 5 ? 5 : 4);
			for (a = 0; a < (int)ARRAY_SIZE(rl_accesses) && !bad;
			     a++) {
				w.acc = rl_accesses[a];
				bad = ck->walk(&w, ctx);
				if (bad)
					rl_log_mismatch(w.layout, w.iova, w.acc,
							&w.d, bad);
			}
			if (!bad && ck->iova_done)
				bad = ck->iova_done(&w);
		}
		if (!bad && ck->layout_done)
			bad = ck->layout_done(&w);
		nest_s2_destroy(&w.t->s2);
	}
	*leaked = w.t->tm.tables;
	rl_free(w.t);
	return bad;
}

struct nu_stats {
	long queries, ad_faults, updated, ok, restarted;
};

/* A NO_UPDATE query, then the normal walk it must agree with. */
static const char *nu_walk(struct rl_walk *w, void *ctx)
{
	u64 bm0[RL_FRAMES / 64], bm1[RL_FRAMES / 64], i;
	struct nest_walk_trace tq, tn;
	struct nest_walk_res rq, rn;
	struct nest_fault fq, fn;
	struct nu_stats *st = ctx;
	struct rl *t = w->t;
	struct ref_out o;
	int rcq, rcn;

	rl_dirty_bits(t, bm0);
	cmpxchg_calls = cmpxchg_races = 0;
	memset(&fq, 0, sizeof(fq));
	rcq = nest_s1_walk_ext(&t->s2, &w->d, w->iova, w->acc,
			       NEST_WALK_F_NO_UPDATE, &rq, &fq, &tq);
	st->queries++;
	rl_dirty_bits(t, bm1);
	if (cmpxchg_calls)
		return "the query tried a cmpxchg";
	if (memcmp(bm0, bm1, sizeof(bm0)))
		return "the query changed dirty bits";
	for (i = 0; i < RL_TABLES; i++) {
		u64 off = t->written[i] * 4096;

		if (memcmp(t->tm.mem + off, t->ref_mem + off, 4096))
			return "the query wrote a table";
	}
	if (rcq && fq.stage == 2 && (fq.flags & NEST_FAULT_F_AD_UPDATE))
		st->ad_faults++;

	memset(&fn, 0, sizeof(fn));
	rcn = nest_s1_walk_ext(&t->s2, &w->d, w->iova, w->acc, 0, &rn, &fn,
			       &tn);
	if (!rcn)
		st->ok++;
	if (cmpxchg_calls)
		st->updated++;
	st->restarted += !!cmpxchg_races;
	ref_walk(&w->c, &w->rd, w->iova, w->acc, &o);
	if (!walk_same(rcq, &rq, &fq, rcn, &rn, &fn))
		return "query and walk differ";
	if (!cmpxchg_races && !trace_same(&tq, &tn))
		return "query and walk traces differ";
	if (rl_compare(rcn, &rn, &fn, &o))
		return "the walk differs from the ref";
	return NULL;
}

/* After an IOVA's walks: the A/D bits the walks set are the reference's. */
static const char *nu_iova_done(struct rl_walk *w)
{
	struct rl *t = w->t;
	u64 i;

	for (i = 0; i < RL_TABLES; i++) {
		u64 off = t->written[i] * 4096;

		if (memcmp(t->tm.mem + off, t->ref_mem + off, 4096)) {
			TH_LOG("layout %ld: frame %" PRIu64 ": A/D bits differ from the ref",
			       w->layout, t->written[i]);
			return "A/D bits differ from the ref";
		}
	}
	return NULL;
}

/* After a layout: the whole memory, not only the tables, and dirty bits. */
static const char *nu_layout_done(struct rl_walk *w)
{
	const char *bad = NULL;

	if (memcmp(w->t->tm.mem, w->t->ref_mem, RL_FRAMES * 4096))
		bad = "memory differs from the ref";
	else if (!rl_dirty_match(w->t))
		bad = "dirty bits differ from the ref";
	if (bad)
		TH_LOG("layout %ld: %s", w->layout, bad);
	return bad;
}

/*
 * Over random layouts: a NO_UPDATE walk tries no cmpxchg, leaves the whole
 * memory and every stage-2 dirty bit as they were, and gives the result,
 * fault and trace of the normal walk that follows it; the normal walk
 * still agrees with the reference, A/D bits and dirty bits included.
 */
TEST(walk_no_update_random)
{
	static const struct rl_checks ck = {
		.walk = nu_walk, .iova_done = nu_iova_done,
		.layout_done = nu_layout_done,
	};
	struct nu_stats st = {};
	const char *bad;
	long leaked;

	bad = rl_walks(opt_seed ^ 0xad0, &ck, &st, &leaked);
	TH_LOG("%ld queries: %ld A/D-update faults; of the walks after them "
	       "%ld ok, %ld set A/D bits, %ld restarted (aliased tables: "
	       "traces not compared)", st.queries, st.ad_faults, st.ok,
	       st.updated, st.restarted);
	ASSERT_EQ(0, leaked);
	if (!bad && opt_layouts >= 1000) {
		/* the layouts must reach the interesting cases */
		ASSERT_TRUE(st.ad_faults);
		ASSERT_TRUE(st.updated);
	}
	ASSERT_FALSE(bad);
}

/*
 * The stage-2 steps of one lookup of @gpa (for @s1_level) from step *@i:
 * levels from the top down, tables present, then the leaf the model maps
 * @gpa with (its R, W and, from @dirty, the dirty bit as it was before the
 * walk), or a not-present PTE if the model does not map it. *@last: the
 * final step.
 */
static const char *tr_s2_lookup(const struct rl *t, const u8 *dirty,
				const struct nest_walk_trace *tr, u32 *i,
				u64 gpa, int s1_level,
				const struct nest_walk_step **last)
{
	u64 pg = gpa / 4096;
	bool mapped = pg < RL_FRAMES && t->model[pg].mapped;
	const struct nest_walk_step *s;
	int j;

	for (j = 0;; j++, (*i)++) {
		if (*i >= tr->nr)
			return "stage-2 step missing";
		s = &tr->step[*i];
		if (s->stage != 2 || s->addr != gpa || s->pte ||
		    s->s1_level != s1_level || s->level != NEST_S2_LEVELS - j)
			return "stage-2 step out of place";
		if (s->flags != NEST_STEP_F_PRESENT)
			break;
		if (s->level == 1)
			return "stage-2 table at level 1";
	}
	(*i)++;
	*last = s;
	if (!mapped)
		return s->flags ? "stage-2 leaf the model lacks" : NULL;
	if (s->level != t->model[pg].level)
		return "stage-2 leaf at the wrong level";
	if (s->flags != (NEST_STEP_F_PRESENT | NEST_STEP_F_LEAF |
			 (t->model[pg].r ? NEST_STEP_F_READ : 0) |
			 (t->model[pg].w ? NEST_STEP_F_WRITE : 0) |
			 (dirty[pg] ? NEST_STEP_F_DIRTY : 0)))
		return "stage-2 leaf flags differ from the model";
	return NULL;
}

/*
 * A trace against the reference: per stage-1 PTE the reference read, the
 * stage-2 lookup of its GPA then the PTE itself (GPA, value, level); then
 * the lookup of the output, or the faulting read last.
 */
static const char *tr_check(const struct rl *t, const u8 *dirty,
			    const struct nest_walk_trace *tr, int rc,
			    const struct nest_walk_res *r,
			    const struct nest_fault *f,
			    const struct ref_out *o, u64 iova)
{
	const struct nest_walk_step *s, *last = NULL;
	const char *err;
	u32 i = 0, k;

	if (tr->nr > NEST_WALK_TRACE_MAX)
		return "too many steps";
	if (!rc && tr->nr != r->mem_refs)
		return "nr != mem_refs";
	if (rc && f->stage == 1 && f->level == 0)
		return tr->nr ? "steps before a level-0 fault" : NULL;
	for (k = 0; k < o->nr_ptes; k++) {
		const struct ref_pte *p = &o->ptes[k];

		err = tr_s2_lookup(t, dirty, tr, &i, p->gpa, p->level, &last);
		if (err)
			return err;
		if (!(last->flags & NEST_STEP_F_LEAF))
			return "stage-1 table not mapped";
		if (i >= tr->nr)
			return "stage-1 step missing";
		s = &tr->step[i++];
		if (s->stage != 1 || s->addr != p->gpa || s->pte != p->pte ||
		    s->level != p->level || s->s1_level != p->level ||
		    s->flags)
			return "stage-1 step differs from the reference";
		last = s;
	}
	if (!rc) {
		err = tr_s2_lookup(t, dirty, tr, &i, r->gpa, 0, &last);
	} else if (f->stage == 2 && (f->flags & NEST_FAULT_F_AD_UPDATE)) {
		/* the whole walk was made: the output lookup is last */
		const struct ref_pte *p = &o->ptes[o->nr_ptes - 1];
		u64 size = BIT_ULL(12 + 9 * (p->level - 1));
		u64 gpa = (p->pte & GENMASK_ULL(47, 12) & ~(size - 1)) |
			  (iova & (size - 1));

		err = tr_s2_lookup(t, dirty, tr, &i, gpa, 0, &last);
		if (!err && !(last->flags & NEST_STEP_F_LEAF))
			err = "no output leaf before an A/D fault";
	} else if (f->stage == 2) {
		err = tr_s2_lookup(t, dirty, tr, &i, f->gpa,
				   (f->flags & NEST_FAULT_F_TABLE_FETCH) ?
				   f->s1_level : 0, &last);
		if (!err && last->level != f->level)
			err = "last stage-2 step not at the fault level";
		if (!err && !!(last->flags & NEST_STEP_F_LEAF) !=
		    (f->reason == NEST_FAULT_REASON_PERMISSION))
			err = "last stage-2 step does not match the fault";
	} else {
		err = NULL;
		if (!last || last->stage != 1 || last->level != f->level)
			err = "the faulting stage-1 read is not last";
		else if (f->reason == NEST_FAULT_REASON_PTE_FETCH &&
			 !(f->flags & NEST_FAULT_F_RSVD) && (last->pte & P))
			err = "PTE_FETCH on a present PTE";
	}
	if (err)
		return err;
	return i == tr->nr ? NULL : "extra steps";
}

struct tr_stats {
	long walks, ok, faults, s2_faults, restarted;
	u32 max_nr;
};

/* A walk (every other IOVA a query) and its trace against the reference. */
static const char *tr_walk(struct rl_walk *w, void *ctx)
{
	u32 wf = (w->k & 1) ? NEST_WALK_F_NO_UPDATE : 0;
	struct tr_stats *st = ctx;
	struct rl *t = w->t;
	u8 dirty[RL_FRAMES];
	struct nest_walk_trace tr;
	struct nest_walk_res r, rn;
	struct nest_fault f, fn;
	const char *bad = NULL;
	struct ref_out o;
	int rc;

	memcpy(dirty, t->ref_dirty, sizeof(dirty));
	memset(&f, 0, sizeof(f));
	memset(&tr, 0xa5, sizeof(tr));
	cmpxchg_races = 0;
	rc = nest_s1_walk_ext(&t->s2, &w->d, w->iova, w->acc, wf, &r, &f,
			      &tr);
	ref_walk(&w->c, &w->rd, w->iova, w->acc, &o);
	/* a query set nothing: catch up with the ref */
	if (wf)
		nest_s1_walk(&t->s2, &w->d, w->iova, w->acc, &rn, &fn);
	st->walks++;
	st->max_nr = max(st->max_nr, tr.nr);
	if (rl_compare(rc, &r, &f, &o))
		bad = "the walk differs from the ref";
	else if (tr.nr > NEST_WALK_TRACE_MAX || (!rc && tr.nr != r.mem_refs))
		bad = "trace length";
	else if (!wf && cmpxchg_races)
		st->restarted++;	/* saw its own bits */
	else
		bad = tr_check(t, dirty, &tr, rc, &r, &f, &o, w->iova);
	if (bad) {
		TH_LOG("rc %d reason %u stage %u level %u s1 %u flags %#x nr %u refs %u",
		       rc, f.reason, f.stage, f.level, f.s1_level, f.flags,
		       tr.nr, r.mem_refs);
		return bad;
	}
	if (!rc)
		st->ok++;
	else if (f.stage == 2)
		st->s2_faults++;
	else if (f.level)
		st->faults++;
	return NULL;
}

/*
 * Over random layouts, every walk's trace (normal walks and queries
 * alike) against the reference walker and the stage-2 model.
 */
TEST(walk_trace_random)
{
	static const struct rl_checks ck = { .walk = tr_walk };
	struct tr_stats st = {};
	const char *bad;
	long leaked;

	bad = rl_walks(opt_seed ^ 0x7ace, &ck, &st, &leaked);
	TH_LOG("%ld walks: %ld ok, %ld stage-1 faults past level 0, %ld "
	       "stage-2 faults; longest trace %u; %ld restarted (not checked "
	       "against the reference)", st.walks, st.ok, st.faults,
	       st.s2_faults, st.max_nr, st.restarted);
	ASSERT_EQ(0, leaked);
	ASSERT_FALSE(bad);
	if (opt_layouts >= 1000)
		ASSERT_TRUE(st.ok && st.faults && st.s2_faults);
}
