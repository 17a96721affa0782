// SPDX-License-Identifier: GPL-2.0
/*
 * test_core_xlate.c - host unit tests of kernel/core: the caches and the translation through them: IOTLB, device TLB,
 * PASID cache, permissions cold and cached, invalidation.
 * Shared parts: test_core.h.
 */
#include "test_core.h"

/* --------------------------------------------------------------- caches */

static void tlb_fill(struct nest_tlb_entry *e, u32 hwpt, u32 pasid, u64 iova,
		     u8 shift, u64 ofn)
{
	memset(e, 0, sizeof(*e));
	e->hwpt_id = hwpt;
	e->pasid = pasid;
	e->iova = iova;
	e->shift = shift;
	e->ofn = ofn;
	e->gpa = ofn * 4096;
	e->s2_id = 1;
	e->perm = NEST_PERM_ALL;
}

TEST(iotlb_basic)
{
	struct nest_tlb_entry store[64], ne;
	const struct nest_tlb_entry *e;
	struct nest_tlb tlb;

	ASSERT_ERR(EINVAL, nest_tlb_init(&tlb, store, 0, 1));
	ASSERT_ERR(EINVAL, nest_tlb_init(&tlb, store, 64, 0));
	ASSERT_ERR(EINVAL, nest_tlb_init(&tlb, store, 48, 4)); /* 12 sets */
	ASSERT_ERR(EINVAL, nest_tlb_init(&tlb, store, 63, 4));
	ASSERT_OK(nest_tlb_init(&tlb, store, 64, 4));
	ASSERT_FALSE(nest_tlb_lookup(&tlb, 1, 0, 0x1000));
	tlb_fill(&ne, 1, 0, 0x1000, 12, 77);
	nest_tlb_insert(&tlb, &ne);
	tlb_fill(&ne, 1, 0, SZ_2M * 3, 21, 1024);
	nest_tlb_insert(&tlb, &ne);
	e = nest_tlb_lookup(&tlb, 1, 0, 0x1fff);
	ASSERT_TRUE(e);
	ASSERT_EQ(77, e->ofn);
	ASSERT_FALSE(nest_tlb_lookup(&tlb, 2, 0, 0x1000)); /* other HWPT */
	ASSERT_FALSE(nest_tlb_lookup(&tlb, 1, 5, 0x1000)); /* other PASID */
	e = nest_tlb_lookup(&tlb, 1, 0, SZ_2M * 3 + 0x12345);
	ASSERT_TRUE(e);
	ASSERT_EQ(21, e->shift);
	ASSERT_EQ(1024, e->ofn);
	ASSERT_EQ(2, tlb.hits);
	ASSERT_EQ(3, tlb.misses);
	/* same key replaces */
	tlb_fill(&ne, 1, 0, 0x1000, 12, 78);
	nest_tlb_insert(&tlb, &ne);
	ASSERT_EQ(2, nest_tlb_count(&tlb));
	ASSERT_EQ(78, nest_tlb_lookup(&tlb, 1, 0, 0x1000)->ofn);
	ASSERT_EQ(0, tlb.evictions);
}

TEST(iotlb_capacity_lru)
{
	struct nest_tlb_entry store[16], ne;
	struct nest_tlb tlb;
	u64 i, hot = 0x100000;

	/* fully associative (1 set of 16): exact LRU */
	ASSERT_OK(nest_tlb_init(&tlb, store, 16, 16));
	for (i = 0; i < 16; i++) {
		tlb_fill(&ne, 1, 0, i * 4096, 12, i);
		nest_tlb_insert(&tlb, &ne);
	}
	ASSERT_EQ(16, nest_tlb_count(&tlb));
	ASSERT_TRUE(nest_tlb_lookup(&tlb, 1, 0, 0)); /* 0 is now recent */
	tlb_fill(&ne, 1, 0, 16 * 4096, 12, 16);
	nest_tlb_insert(&tlb, &ne);		/* evicts 1, the LRU */
	ASSERT_EQ(16, nest_tlb_count(&tlb));
	ASSERT_EQ(1, tlb.evictions);
	ASSERT_TRUE(nest_tlb_lookup(&tlb, 1, 0, 0));
	ASSERT_FALSE(nest_tlb_lookup(&tlb, 1, 0, 4096));
	ASSERT_TRUE(nest_tlb_lookup(&tlb, 1, 0, 2 * 4096));
	/* 4 sets x 4 ways: never more than 16, a hot entry survives */
	ASSERT_OK(nest_tlb_init(&tlb, store, 16, 4));
	tlb_fill(&ne, 1, 0, hot, 12, 1);
	nest_tlb_insert(&tlb, &ne);
	for (i = 0; i < 1000; i++) {
		tlb_fill(&ne, 1, 0, (i + 1000) * 4096, 12, i);
		nest_tlb_insert(&tlb, &ne);
		ASSERT_TRUE(nest_tlb_lookup(&tlb, 1, 0, hot));
		ASSERT_GE(16, nest_tlb_count(&tlb));
	}
	ASSERT_EQ(16, nest_tlb_count(&tlb));
	ASSERT_LE(1000 - 16, tlb.evictions);
}

/* A nested setup for the translate tests: env + one 4-level table. */
struct xenv {
	struct env e;
	struct nest_s1_desc d;
	struct nest_tlb iotlb, devtlb;
	struct nest_tlb_entry is[64], ds[16];
	struct nest_xlate x;
};

static void xenv_init(struct xenv *x)
{
	memset(x, 0, sizeof(*x));
	env_init(&x->e);
	x->d = (struct nest_s1_desc){ .levels = 4, .flags = NEST_S1_F_SRE };
	x->d.root_gpa = env_table(&x->e);
	nest_tlb_init(&x->iotlb, x->is, 64, 4);
	nest_tlb_init(&x->devtlb, x->ds, 16, 4);
	x->x = (struct nest_xlate){
		.iotlb = &x->iotlb, .s2 = &x->e.s2, .s1 = &x->d,
		.hwpt_id = 7, .s2_id = 3,
	};
}

/*
 * Every reserved bit of a present stage-1 PTE, at every level and for
 * every leaf size, faults PTE_FETCH with RSVD at that level, naming the
 * PTE's GPA, through a walk and through nest_translate(), as the reference
 * says: bits 51:48 (beyond the 48-bit GPA width), PS at levels 5 and 4,
 * bits 29:13 of a 1 GiB leaf and 20:13 of a 2 MiB leaf. Ignored bits do
 * not fault.
 */
TEST(s1_reserved_bits_every_level)
{
	static const unsigned int ignored[] = { 3, 4, 8, 11, 52, 62 };
	struct ref_s2page model[ENV_FRAMES];
	u8 dirty[ENV_FRAMES];
	unsigned int levels, leaf, level, bit, i;
	long checked = 0;

	for (levels = 4; levels <= 5; levels++) {
		for (leaf = 1; leaf <= 3; leaf++) {
			u64 iova = 0x00007f1240005000ULL, out, pte_gpa[6], pte[6];
			struct nest_s1_desc d = { .levels = levels,
						  .flags = NEST_S1_F_SRE };
			struct ref_desc rd;
			struct ref_ctx c;
			struct xenv x;

			xenv_init(&x);
			x.d = d;
			x.d.root_gpa = env_table(&x.e);
			/* a huge leaf maps GPA 0: the output lies in env memory */
			out = leaf == 1 ? 40 * 4096 : 0;
			s1_map(&x.e, x.d.root_gpa, levels, iova, out, leaf,
			       P | RW | US, P | RW | US);
			s1_path(&x.e, &x.d, iova, pte_gpa, pte);
			for (i = 0; i < ENV_FRAMES; i++)
				model[i] = (struct ref_s2page){
					.mapped = true, .r = true, .w = true,
					.level = 1, .ofn = i,
				};
			c = (struct ref_ctx){
				.mem = x.e.tm.mem, .nr_frames = ENV_FRAMES,
				.s2 = model, .nr_gpa_pages = ENV_FRAMES,
				.dirty = dirty,
			};
			rd = (struct ref_desc){ x.d.root_gpa, levels,
						x.d.flags };
			for (level = levels; level >= leaf; level--) {
				u64 *ptep = env_pte(&x.e, pte_gpa[level]);

				for (bit = 3; bit < 64; bit++) {
					bool rsvd = (bit >= 48 && bit <= 51) ||
						(bit == 7 && level >= 4) ||
						(level == leaf && leaf == 3 &&
						 bit >= 13 && bit <= 29) ||
						(level == leaf && leaf == 2 &&
						 bit >= 13 && bit <= 20);
					struct nest_xlate_res xr;
					struct nest_walk_res r;
					struct nest_fault f, xf;
					struct ref_out o;
					bool ign = false;

					for (i = 0; i < ARRAY_SIZE(ignored); i++)
						ign |= bit == ignored[i];
					if (!rsvd && !ign)
						continue;
					TH_CONTEXT("levels %u leaf level %u: "
						   "bit %u of the level %u PTE",
						   levels, leaf, bit, level);
					*ptep = pte[level] | BIT_ULL(bit);
					memset(&f, 0, sizeof(f));
					nest_tlb_init(&x.iotlb, x.is, 64, 4);
					ref_walk(&c, &rd, iova, NEST_ACC_READ,
						 &o);
					if (!rsvd) {
						ASSERT_OK(nest_s1_walk(&x.e.s2,
							&x.d, iova,
							NEST_ACC_READ, &r, &f));
						ASSERT_TRUE(o.ok);
						ASSERT_EQ(o.ofn, r.ofn);
						*ptep = pte[level];
						continue;
					}
					ASSERT_ERR(EFAULT, nest_s1_walk(&x.e.s2,
						&x.d, iova, NEST_ACC_READ, &r,
						&f));
					ASSERT_EQ(NEST_FAULT_REASON_PTE_FETCH,
						  f.reason);
					ASSERT_EQ(1, f.stage);
					ASSERT_EQ(level, f.level);
					ASSERT_EQ(NEST_FAULT_F_RSVD |
						  NEST_FAULT_F_GPA_VALID,
						  f.flags);
					ASSERT_EQ(pte_gpa[level], f.gpa);
					ASSERT_EQ(iova, f.addr);
					/* the reference agrees */
					ASSERT_FALSE(o.ok);
					ASSERT_EQ(f.reason, o.reason);
					ASSERT_EQ(f.level, o.level);
					ASSERT_EQ(f.flags, o.flags);
					/* and so does a translation */
					ASSERT_ERR(EFAULT, nest_translate(&x.x,
						0, iova, NEST_ACC_READ, &xr,
						&xf));
					ASSERT_EQ(0, memcmp(&f, &xf,
							    sizeof(f)));
					*ptep = pte[level];
					checked++;
				}
			}
			TH_CONTEXT("%s", "");
			/* the PTEs restored: it translates again */
			ASSERT_OK(nest_translate(&x.x, 0, iova, NEST_ACC_READ,
						 &(struct nest_xlate_res){ 0 },
						 &(struct nest_fault){ 0 }));
			env_fini(&x.e);
		}
	}
	/*
	 * 4 bits (51:48) of each PTE walked, PS at levels 5 and 4, 17 bits
	 * of the 1 GiB leaves, 8 of the 2 MiB ones: 64 with 4 levels, 79
	 * with 5
	 */
	ASSERT_EQ(64 + 79, checked);
}

/*
 * Every permission case twice, cold and cached: a cache hit must meet
 * the checks a walk makes (SRE, U/S, R/W with and without WPD, XD, stage-2
 * R and W), in the IOTLB and in the device TLB. "Cached": another request
 * (each one that succeeds) filled the cache first; for the device TLB the
 * IOTLB's copy is then dropped, so the device TLB answers. The outcome
 * must be the cold one; and a translation the cold walk allows must come
 * from the cache, unless it is a write over an entry a read filled (whose
 * D bit is not set).
 */
struct perm_page {
	const char *name;
	u64 leaf;		/* the leaf's flags */
	u64 l2_clear, l2_set;	/* changes of the level-2 PTE's flags */
	u32 s2_prot;		/* of the output page */
};

static const struct perm_page perm_pages[] = {
	{ "user rw", P | RW | US, 0, 0, 3 },
	{ "user ro", P | US, 0, 0, 3 },
	{ "supervisor rw", P | RW, 0, 0, 3 },
	{ "supervisor ro", P, 0, 0, 3 },
	{ "user rw xd", P | RW | US | XD, 0, 0, 3 },
	{ "ro at level 2", P | RW | US, RW, 0, 3 },
	{ "supervisor at level 2", P | RW | US, US, 0, 3 },
	{ "xd at level 2", P | RW | US, 0, XD, 3 },
	{ "stage 2 ro", P | RW | US, 0, 0, NEST_PROT_READ },
	{ "stage 2 wo", P | RW | US, 0, 0, NEST_PROT_WRITE },
	{ "user ro, stage 2 ro", P | US, 0, 0, NEST_PROT_READ },
	{ "supervisor ro, stage 2 wo", P, 0, 0, NEST_PROT_WRITE },
};

static const u32 perm_accesses[] = {
	NEST_ACC_READ, NEST_ACC_WRITE, NEST_ACC_READ | NEST_ACC_EXEC,
	NEST_ACC_READ | NEST_ACC_PRIV, NEST_ACC_WRITE | NEST_ACC_PRIV,
	NEST_ACC_READ | NEST_ACC_EXEC | NEST_ACC_PRIV,
};

static const u32 perm_desc_flags[] = {
	0, NEST_S1_F_SRE, NEST_S1_F_SRE | NEST_S1_F_WPD, NEST_S1_F_WPD,
	NEST_S1_F_SRE | NEST_S1_F_AD,
	NEST_S1_F_SRE | NEST_S1_F_WPD | NEST_S1_F_AD,
};

static u64 perm_iova(unsigned int i)
{
	return (i + 1) * SZ_2M + 0x3000;
}

/* Each page in its own 2 MiB: its own level-2 PTE and level-1 table. */
static void perm_setup(struct xenv *x, u32 flags)
{
	unsigned int i;
	u64 un;

	xenv_init(x);
	x->d.flags = flags;
	for (i = 0; i < ARRAY_SIZE(perm_pages); i++) {
		const struct perm_page *p = &perm_pages[i];
		u64 pte_gpa[6], pte[6], gpa = (40 + i) * 4096;

		s1_map(&x->e, x->d.root_gpa, 4, perm_iova(i), gpa, 1,
		       P | RW | US, p->leaf);
		s1_path(&x->e, &x->d, perm_iova(i), pte_gpa, pte);
		*env_pte(&x->e, pte_gpa[2]) = (pte[2] & ~p->l2_clear) |
					      p->l2_set;
		if (p->s2_prot == 3)
			continue;
		if (nest_s2_unmap(&x->e.s2, gpa, 4096, &un) || un != 4096 ||
		    nest_s2_map(&x->e.s2, gpa, 4096, 40 + i, p->s2_prot,
				false))
			abort();
	}
}

/* Empty caches and the tables as built (no A/D bit set yet). */
static void perm_reset(struct xenv *x, const u8 *snap)
{
	memcpy(x->e.tm.mem, snap, ENV_FRAMES * 4096);
	nest_tlb_init(&x->iotlb, x->is, 64, 4);
	nest_tlb_init(&x->devtlb, x->ds, 16, 4);
}

static bool xlate_same(int rc1, const struct nest_xlate_res *r1,
		       const struct nest_fault *f1, int rc2,
		       const struct nest_xlate_res *r2,
		       const struct nest_fault *f2)
{
	if (rc1 != rc2)
		return false;
	if (rc1)
		return fault_same(f1, f2);
	return r1->ofn == r2->ofn && r1->gpa == r2->gpa &&
	       r1->perm == r2->perm && r1->page_shift == r2->page_shift;
}

TEST(perm_cold_vs_cached)
{
	static const char *const mode_name[] = { "IOTLB", "device TLB" };
	long cases = 0, hits = 0, bad = 0;
	unsigned int fl, i, t, p, mode;
	u8 *snap = malloc(ENV_FRAMES * 4096);
	struct xenv x;

	ASSERT_TRUE(snap);
	for (fl = 0; fl < ARRAY_SIZE(perm_desc_flags); fl++) {
		perm_setup(&x, perm_desc_flags[fl]);
		memcpy(snap, x.e.tm.mem, ENV_FRAMES * 4096);
		for (i = 0; i < ARRAY_SIZE(perm_pages); i++) {
			u64 iova = perm_iova(i);

			for (t = 0; t < ARRAY_SIZE(perm_accesses); t++) {
				u32 acc = perm_accesses[t];
				struct nest_xlate_res r0, r1;
				struct nest_fault f0, f1;
				int rc0, rc1;

				perm_reset(&x, snap);
				x.x.devtlb = NULL;
				memset(&f0, 0, sizeof(f0));
				rc0 = nest_translate(&x.x, 0, iova, acc, &r0,
						     &f0);
				for (mode = 0; mode < 2; mode++) {
					for (p = 0; p < ARRAY_SIZE(perm_accesses);
					     p++) {
						u32 pa = perm_accesses[p];
						u8 want;

						perm_reset(&x, snap);
						x.x.devtlb = mode ? &x.devtlb :
								    NULL;
						if (nest_translate(&x.x, 0,
								   iova, pa,
								   &r1, &f1))
							continue;
						if (mode)
							nest_tlb_init(&x.iotlb,
								      x.is, 64,
								      4);
						memset(&f1, 0, sizeof(f1));
						rc1 = nest_translate(&x.x, 0,
							iova, acc, &r1, &f1);
						cases++;
						want = mode ? NEST_XLATE_DEVTLB :
							      NEST_XLATE_IOTLB;
						if (!rc1 && r1.source == want)
							hits++;
						if (xlate_same(rc0, &r0, &f0,
							       rc1, &r1, &f1) &&
						    (rc0 ||
						     ((acc & NEST_ACC_WRITE) &&
						      !(pa & NEST_ACC_WRITE)) ||
						     r1.source == want))
							continue;
						if (bad++ >= 8)
							continue;
						TH_LOG("flags %#x page '%s' "
						       "access %#x after %#x "
						       "in the %s: cold rc %d "
						       "reason %u stage %u "
						       "perm %#x; cached rc %d "
						       "reason %u stage %u "
						       "perm %#x source %u",
						       perm_desc_flags[fl],
						       perm_pages[i].name, acc,
						       pa, mode_name[mode],
						       rc0, rc0 ? f0.reason : 0,
						       rc0 ? f0.stage : 0,
						       rc0 ? 0 : r0.perm, rc1,
						       rc1 ? f1.reason : 0,
						       rc1 ? f1.stage : 0,
						       rc1 ? 0 : r1.perm,
						       rc1 ? 0 : r1.source);
					}
				}
			}
		}
		env_fini(&x.e);
	}
	free(snap);
	TH_LOG("%ld cached cases, %ld hits, %ld differ from the walk",
	       cases, hits, bad);
	ASSERT_LT(1000, cases);
	ASSERT_LT(100, hits);
	ASSERT_EQ(0, bad);
}


/*
 * nest_perm_access() (TRANSLATE's out_perm) says exactly what the walk
 * lets a request of the same privilege do: READ, WRITE and EXEC where a
 * read, a write and an instruction fetch of that privilege succeed.
 */
TEST(perm_access_is_what_walks_allow)
{
	static const u32 kinds[] = {
		NEST_ACC_READ, NEST_ACC_WRITE, NEST_ACC_READ | NEST_ACC_EXEC,
	};
	unsigned int fl, i, k, priv;
	u8 *snap = malloc(ENV_FRAMES * 4096);
	long checked = 0;
	struct xenv x;

	ASSERT_TRUE(snap);
	for (fl = 0; fl < ARRAY_SIZE(perm_desc_flags); fl++) {
		perm_setup(&x, perm_desc_flags[fl]);
		memcpy(snap, x.e.tm.mem, ENV_FRAMES * 4096);
		for (i = 0; i < ARRAY_SIZE(perm_pages); i++) {
			for (priv = 0; priv <= NEST_ACC_PRIV;
			     priv += NEST_ACC_PRIV) {
				struct nest_xlate_res r[ARRAY_SIZE(kinds)];
				struct nest_fault f;
				u32 ok = 0;
				int rc[ARRAY_SIZE(kinds)];

				for (k = 0; k < ARRAY_SIZE(kinds); k++) {
					perm_reset(&x, snap);
					rc[k] = nest_translate(&x.x, 0,
							       perm_iova(i),
							       kinds[k] | priv,
							       &r[k], &f);
					if (!rc[k])
						ok |= kinds[k] == NEST_ACC_READ ?
						      NEST_ACC_READ :
						      kinds[k] & ~NEST_ACC_READ;
				}
				for (k = 0; k < ARRAY_SIZE(kinds); k++) {
					if (rc[k])
						continue;
					TH_CONTEXT("flags %#x page '%s' access "
						   "%#x", perm_desc_flags[fl],
						   perm_pages[i].name,
						   kinds[k] | priv);
					ASSERT_EQ(ok, nest_perm_access(r[k].perm,
								       priv));
					checked++;
				}
			}
		}
		env_fini(&x.e);
	}
	free(snap);
	ASSERT_LT(100, checked);
}

TEST(translate_stale_until_invalidated)
{
	struct nest_xlate_res r;
	struct nest_fault f;
	struct nest_inv inv = {
		.cache = NEST_INV_CACHE_IOTLB, .granu = NEST_INV_GRANU_ADDR,
		.hwpt_id = 7, .addr = 0x5000, .granule_size = 4096,
		.nb_granules = 1,
	};
	struct xenv x;
	u32 dropped;
	u64 *leaf;

	xenv_init(&x);
	s1_map(&x.e, x.d.root_gpa, 4, 0x5000, 40 * 4096, 1, P | RW | US,
	       P | RW | US);
	leaf = env_pte(&x.e, 4 * 4096 + 5 * 8);
	ASSERT_OK(nest_translate(&x.x, 0, 0x5010, NEST_ACC_READ, &r, &f));
	ASSERT_EQ(NEST_XLATE_WALK, r.source);
	ASSERT_EQ(24, r.mem_refs);
	ASSERT_EQ(40, r.ofn);
	ASSERT_OK(nest_translate(&x.x, 0, 0x5ff8, NEST_ACC_READ, &r, &f));
	ASSERT_EQ(NEST_XLATE_IOTLB, r.source);
	ASSERT_EQ(0, r.mem_refs);
	/* user space rewrites the PTE without invalidating: stale */
	*leaf = 41 * 4096 | P | RW | US;
	ASSERT_OK(nest_translate(&x.x, 0, 0x5000, NEST_ACC_READ, &r, &f));
	ASSERT_EQ(40, r.ofn);
	*leaf = 0;
	ASSERT_OK(nest_translate(&x.x, 0, 0x5000, NEST_ACC_READ, &r, &f));
	ASSERT_EQ(40, r.ofn);
	/* an invalidation of another PASID/range leaves it */
	inv.addr = 0x6000;
	ASSERT_OK(nest_inv_match(&inv, &x.iotlb, NULL, NULL, &dropped));
	ASSERT_EQ(0, dropped);
	inv.addr = 0x5000;
	inv.flags = NEST_INV_F_PASID | NEST_INV_F_LEAF;
	inv.pasid = 1;
	ASSERT_OK(nest_inv_match(&inv, &x.iotlb, NULL, NULL, &dropped));
	ASSERT_EQ(0, dropped);
	inv.pasid = 0;
	ASSERT_OK(nest_inv_match(&inv, &x.iotlb, NULL, NULL, &dropped));
	ASSERT_EQ(1, dropped);
	ASSERT_ERR(EFAULT, nest_translate(&x.x, 0, 0x5000, NEST_ACC_READ, &r,
					  &f));
	ASSERT_EQ(NEST_FAULT_REASON_PTE_FETCH, f.reason);
	*leaf = 41 * 4096 | P | RW | US;
	ASSERT_OK(nest_translate(&x.x, 0, 0x5000, NEST_ACC_READ, &r, &f));
	ASSERT_EQ(41, r.ofn);
	ASSERT_EQ(NEST_XLATE_WALK, r.source);
	/* a write hit on an entry filled by a read walks again (D bit) */
	ASSERT_OK(nest_translate(&x.x, 0, 0x5000, NEST_ACC_WRITE, &r, &f));
	ASSERT_EQ(NEST_XLATE_WALK, r.source);
	ASSERT_OK(nest_translate(&x.x, 0, 0x5000, NEST_ACC_WRITE, &r, &f));
	ASSERT_EQ(NEST_XLATE_IOTLB, r.source);
	ASSERT_OK(nest_translate(&x.x, 0, 0x5000, NEST_ACC_READ, &r, &f));
	ASSERT_EQ(NEST_XLATE_IOTLB, r.source);
	/* a hit without the permission walks again and faults */
	ASSERT_OK(nest_translate(&x.x, 0, 0x5000, NEST_ACC_READ | NEST_ACC_PRIV,
				 &r, &f));
	*leaf &= ~RW;	/* stale RW in the IOTLB: still allowed */
	ASSERT_OK(nest_translate(&x.x, 0, 0x5000, NEST_ACC_WRITE, &r, &f));
	ASSERT_EQ(NEST_XLATE_IOTLB, r.source);
	env_fini(&x.e);
}

TEST(translate_devtlb_pasid_cache)
{
	struct nest_pasid_entry pcs[4];
	struct nest_pasid_cache pc;
	const struct nest_pasid_entry *pe;
	struct nest_xlate_res r;
	struct nest_fault f;
	struct nest_inv inv;
	struct xenv x;
	u32 dropped;

	xenv_init(&x);
	x.x.devtlb = &x.devtlb;
	s1_map(&x.e, x.d.root_gpa, 4, 0x5000, 40 * 4096, 1, P | RW | US,
	       P | RW | US);
	ASSERT_OK(nest_translate(&x.x, 3, 0x5000, NEST_ACC_READ, &r, &f));
	ASSERT_EQ(NEST_XLATE_WALK, r.source);
	ASSERT_OK(nest_translate(&x.x, 3, 0x5000, NEST_ACC_READ, &r, &f));
	ASSERT_EQ(NEST_XLATE_DEVTLB, r.source);
	/* IOTLB-only invalidation: the device TLB still has it */
	inv = (struct nest_inv){ .cache = NEST_INV_CACHE_IOTLB,
				 .granu = NEST_INV_GRANU_PASID,
				 .hwpt_id = 7, .pasid = 3 };
	ASSERT_OK(nest_inv_match(&inv, &x.iotlb, &x.devtlb, NULL, &dropped));
	ASSERT_EQ(1, dropped);
	ASSERT_OK(nest_translate(&x.x, 3, 0x5000, NEST_ACC_READ, &r, &f));
	ASSERT_EQ(NEST_XLATE_DEVTLB, r.source);
	inv.cache = NEST_INV_CACHE_DEV_IOTLB;
	ASSERT_OK(nest_inv_match(&inv, &x.iotlb, &x.devtlb, NULL, &dropped));
	ASSERT_EQ(1, dropped);
	ASSERT_OK(nest_translate(&x.x, 3, 0x5000, NEST_ACC_READ, &r, &f));
	ASSERT_EQ(NEST_XLATE_WALK, r.source);
	/* an IOTLB hit refills the device TLB */
	inv.cache = NEST_INV_CACHE_DEV_IOTLB;
	inv.granu = NEST_INV_GRANU_ADDR;
	inv.addr = 0;
	inv.granule_size = SZ_2M;
	inv.nb_granules = 1;
	ASSERT_OK(nest_inv_match(&inv, &x.iotlb, &x.devtlb, NULL, &dropped));
	ASSERT_EQ(1, dropped);
	ASSERT_OK(nest_translate(&x.x, 3, 0x5000, NEST_ACC_READ, &r, &f));
	ASSERT_EQ(NEST_XLATE_IOTLB, r.source);
	ASSERT_OK(nest_translate(&x.x, 3, 0x5000, NEST_ACC_READ, &r, &f));
	ASSERT_EQ(NEST_XLATE_DEVTLB, r.source);

	/* PASID cache */
	ASSERT_ERR(EINVAL, nest_pasid_cache_init(&pc, pcs, 0));
	ASSERT_OK(nest_pasid_cache_init(&pc, pcs, 2));
	ASSERT_FALSE(nest_pasid_cache_lookup(&pc, 3));
	nest_pasid_cache_insert(&pc, 3, 7, &x.d);
	nest_pasid_cache_insert(&pc, 4, 7, &x.d);
	pe = nest_pasid_cache_lookup(&pc, 3);
	ASSERT_TRUE(pe);
	ASSERT_EQ(x.d.root_gpa, pe->desc.root_gpa);
	ASSERT_EQ(7, pe->hwpt_id);
	nest_pasid_cache_insert(&pc, 5, 8, &x.d);	/* evicts 4 (LRU) */
	ASSERT_FALSE(nest_pasid_cache_lookup(&pc, 4));
	ASSERT_TRUE(nest_pasid_cache_lookup(&pc, 3));
	/* stale until invalidated */
	x.d.root_gpa = 0;
	ASSERT_EQ(4096, nest_pasid_cache_lookup(&pc, 3)->desc.root_gpa);
	inv = (struct nest_inv){ .cache = NEST_INV_CACHE_PASID,
				 .granu = NEST_INV_GRANU_PASID,
				 .hwpt_id = 7, .pasid = 5 };
	ASSERT_OK(nest_inv_match(&inv, NULL, NULL, &pc, &dropped));
	ASSERT_EQ(0, dropped);	/* PASID 5 is on HWPT 8 */
	inv.pasid = 3;
	ASSERT_OK(nest_inv_match(&inv, NULL, NULL, &pc, &dropped));
	ASSERT_EQ(1, dropped);
	ASSERT_FALSE(nest_pasid_cache_lookup(&pc, 3));
	inv.granu = NEST_INV_GRANU_DOMAIN;
	inv.hwpt_id = 8;
	ASSERT_OK(nest_inv_match(&inv, NULL, NULL, &pc, &dropped));
	ASSERT_EQ(1, dropped);
	ASSERT_FALSE(nest_pasid_cache_lookup(&pc, 5));
	env_fini(&x.e);
}

/* Every cache type x granularity: accepted or rejected as the uAPI says. */
TEST(inv_type_granu_table)
{
	static const struct { u32 cache; u32 granu; int ret; } t[] = {
		{ NEST_INV_CACHE_DEV_IOTLB, NEST_INV_GRANU_DOMAIN, -EINVAL },
		{ NEST_INV_CACHE_IOTLB, NEST_INV_GRANU_DOMAIN, 0 },
		{ NEST_INV_CACHE_PASID, NEST_INV_GRANU_DOMAIN, 0 },
		{ NEST_INV_CACHE_DEV_IOTLB, NEST_INV_GRANU_PASID, 0 },
		{ NEST_INV_CACHE_IOTLB, NEST_INV_GRANU_PASID, 0 },
		{ NEST_INV_CACHE_PASID, NEST_INV_GRANU_PASID, 0 },
		{ NEST_INV_CACHE_DEV_IOTLB, NEST_INV_GRANU_ADDR, 0 },
		{ NEST_INV_CACHE_IOTLB, NEST_INV_GRANU_ADDR, 0 },
		{ NEST_INV_CACHE_PASID, NEST_INV_GRANU_ADDR, -EINVAL },
		/* several caches: all must support the granularity */
		{ NEST_INV_CACHE_IOTLB | NEST_INV_CACHE_DEV_IOTLB,
		  NEST_INV_GRANU_DOMAIN, -EINVAL },
		{ NEST_INV_CACHE_MASK, NEST_INV_GRANU_PASID, 0 },
		{ NEST_INV_CACHE_IOTLB | NEST_INV_CACHE_PASID,
		  NEST_INV_GRANU_ADDR, -EINVAL },
		{ 0, NEST_INV_GRANU_DOMAIN, -EINVAL },
		{ BIT(3), NEST_INV_GRANU_DOMAIN, -EOPNOTSUPP },
		{ NEST_INV_CACHE_IOTLB, NEST_INV_GRANU_NR, -EOPNOTSUPP },
	};
	struct nest_tlb_entry is[16], ds[16], ne;
	struct nest_pasid_entry ps[4];
	struct nest_tlb iotlb, devtlb;
	struct nest_pasid_cache pc;
	struct nest_s1_desc d = { 0 };
	unsigned int i;
	u32 dropped;

	for (i = 0; i < ARRAY_SIZE(t); i++) {
		struct nest_inv inv = {
			.cache = t[i].cache, .granu = t[i].granu,
			.hwpt_id = 1, .pasid = 2,
			.addr = 0, .granule_size = 4096, .nb_granules = 1,
		};

		nest_tlb_init(&iotlb, is, 16, 4);
		nest_tlb_init(&devtlb, ds, 16, 4);
		nest_pasid_cache_init(&pc, ps, 4);
		tlb_fill(&ne, 1, 2, 0, 12, 5);
		nest_tlb_insert(&iotlb, &ne);
		nest_tlb_insert(&devtlb, &ne);
		nest_pasid_cache_insert(&pc, 2, 1, &d);
		dropped = 99;
		TH_CONTEXT("cache %#x granu %u", t[i].cache, t[i].granu);
		ASSERT_EQ(t[i].ret, nest_inv_match(&inv, &iotlb, &devtlb, &pc,
						   &dropped));
		if (t[i].ret) {
			/* rejected: nothing dropped */
			ASSERT_EQ(0, dropped);
			ASSERT_EQ(1, nest_tlb_count(&iotlb));
			ASSERT_EQ(1, nest_tlb_count(&devtlb));
			ASSERT_TRUE(nest_pasid_cache_lookup(&pc, 2));
		} else {
			ASSERT_EQ(!!(t[i].cache & NEST_INV_CACHE_IOTLB) +
				  !!(t[i].cache & NEST_INV_CACHE_DEV_IOTLB) +
				  !!(t[i].cache & NEST_INV_CACHE_PASID),
				  dropped);
		}
	}
}

TEST(inv_fields_and_ranges)
{
	struct nest_inv inv = {
		.cache = NEST_INV_CACHE_IOTLB, .granu = NEST_INV_GRANU_ADDR,
		.hwpt_id = 1, .addr = SZ_2M, .granule_size = 4096,
		.nb_granules = 1,
	};
	struct nest_tlb_entry is[64], ne;
	struct nest_tlb tlb;
	u32 dropped;
	u64 i;

	ASSERT_OK(nest_inv_check(&inv));
	inv.flags = BIT(1);
	ASSERT_ERR(EOPNOTSUPP, nest_inv_check(&inv));
	inv.flags = NEST_INV_F_LEAF;
	ASSERT_OK(nest_inv_check(&inv));
	inv.granule_size = 4096 + 512;
	ASSERT_ERR(EINVAL, nest_inv_check(&inv));
	inv.granule_size = 2048;
	ASSERT_ERR(EINVAL, nest_inv_check(&inv));
	inv.granule_size = SZ_1G;
	ASSERT_ERR(EINVAL, nest_inv_check(&inv));	/* misaligned addr */
	inv.granule_size = 4096;
	inv.nb_granules = 0;
	ASSERT_ERR(EINVAL, nest_inv_check(&inv));
	inv.nb_granules = ~0ULL;
	ASSERT_ERR(EOVERFLOW, nest_inv_check(&inv));
	inv.addr = ~0xfffULL;
	inv.nb_granules = 2;
	ASSERT_ERR(EOVERFLOW, nest_inv_check(&inv));
	inv.nb_granules = 1;
	ASSERT_OK(nest_inv_check(&inv));	/* the last page is fine */
	inv.granu = NEST_INV_GRANU_PASID;
	ASSERT_ERR(EINVAL, nest_inv_check(&inv));	/* flags need ADDR */
	inv.flags = 0;
	ASSERT_OK(nest_inv_check(&inv));

	/* ADDR range: granule x count, overlapping entries of every size */
	nest_tlb_init(&tlb, is, 64, 8);
	for (i = 0; i < 8; i++) {
		tlb_fill(&ne, 1, i & 1, SZ_2M + i * 4096, 12, i);
		nest_tlb_insert(&tlb, &ne);
	}
	tlb_fill(&ne, 1, 0, 2 * SZ_2M, 21, 512);
	nest_tlb_insert(&tlb, &ne);
	tlb_fill(&ne, 1, 0, SZ_1G, 30, 1 << 18);
	nest_tlb_insert(&tlb, &ne);
	tlb_fill(&ne, 2, 0, SZ_2M, 12, 0);	/* another HWPT */
	nest_tlb_insert(&tlb, &ne);
	inv = (struct nest_inv){
		.cache = NEST_INV_CACHE_IOTLB, .granu = NEST_INV_GRANU_ADDR,
		.hwpt_id = 1, .addr = SZ_2M + 2 * 4096, .granule_size = 4096,
		.nb_granules = 3, .flags = NEST_INV_F_PASID, .pasid = 0,
	};
	ASSERT_OK(nest_inv_match(&inv, &tlb, NULL, NULL, &dropped));
	ASSERT_EQ(2, dropped);	/* pages 2 and 4 (3 is PASID 1) */
	inv.flags = 0;
	ASSERT_OK(nest_inv_match(&inv, &tlb, NULL, NULL, &dropped));
	ASSERT_EQ(1, dropped);	/* page 3 */
	inv.addr = 2 * SZ_2M + SZ_2M - 4096;	/* last page of the 2M */
	inv.nb_granules = 1;
	ASSERT_OK(nest_inv_match(&inv, &tlb, NULL, NULL, &dropped));
	ASSERT_EQ(1, dropped);
	inv.addr = SZ_1G + SZ_2M * 5;
	inv.granule_size = SZ_2M;
	ASSERT_OK(nest_inv_match(&inv, &tlb, NULL, NULL, &dropped));
	ASSERT_EQ(1, dropped);
	ASSERT_EQ(6, nest_tlb_count(&tlb));
	inv.granu = NEST_INV_GRANU_DOMAIN;
	inv.flags = 0;
	ASSERT_OK(nest_inv_match(&inv, &tlb, NULL, NULL, &dropped));
	ASSERT_EQ(5, dropped);
	ASSERT_EQ(1, nest_tlb_count(&tlb));	/* HWPT 2 left */
}

/* What a full scan says @inv drops from @tlb: the reference of inv_tlb(). */
static u32 inv_ref_count(const struct nest_tlb *tlb, const struct nest_inv *inv)
{
	u64 i, n = (u64)tlb->nr_sets * tlb->ways;
	u64 last = inv->addr + inv->granule_size * inv->nb_granules - 1;
	u32 c = 0;

	for (i = 0; i < n; i++) {
		const struct nest_tlb_entry *e = &tlb->entries[i];

		if (!(e->flags & NEST_TLB_F_VALID) || e->hwpt_id != inv->hwpt_id)
			continue;
		if (inv->granu == NEST_INV_GRANU_PASID && e->pasid != inv->pasid)
			continue;
		if (inv->granu == NEST_INV_GRANU_ADDR &&
		    (((inv->flags & NEST_INV_F_PASID) && e->pasid != inv->pasid) ||
		     e->iova > last ||
		     e->iova + (1ULL << e->shift) - 1 < inv->addr))
			continue;
		c++;
	}
	return c;
}

/* The tag bucket lists hold exactly the valid entries, each in its bucket. */
static bool tlb_lists_ok(const struct nest_tlb *tlb)
{
	u32 b, seen = 0;

	for (b = 0; b < NEST_TLB_TAG_BUCKETS; b++) {
		u32 link = tlb->tag_head[b], prev = 0;

		while (link) {
			const struct nest_tlb_entry *e = &tlb->entries[link - 1];

			if (!(e->flags & NEST_TLB_F_VALID) || e->tag_prev != prev ||
			    (e->hwpt_id & (NEST_TLB_TAG_BUCKETS - 1)) != b ||
			    ++seen > tlb->nr_valid)
				return false;
			prev = link;
			link = e->tag_next;
		}
	}
	return seen == tlb->nr_valid && seen == nest_tlb_count(tlb);
}

/*
 * Invalidations visit only the entries of their HWPT's bucket: random
 * inserts (HWPT ids sharing buckets), evictions, drops and stage-2 drops
 * keep the lists exact, and every invalidation drops what a full scan of
 * the TLB says it must.
 */
TEST(inv_tag_lists_random)
{
	static struct nest_tlb_entry store[256];
	struct nest_tlb_entry ne;
	struct nest_tlb tlb;
	struct nest_inv inv;
	u32 dropped, want;
	int i;

	rng_state = opt_seed ^ 0x7a9;
	ASSERT_OK(nest_tlb_init(&tlb, store, 256, 4));
	for (i = 0; i < 20000; i++) {
		u32 hwpt = 1 + rnd_below(130);	/* > 2 buckets' worth */
		u32 pasid = rnd_below(3);
		u8 shift = (u8[]){ 12, 21, 30 }[rnd_below(3)];
		u64 iova = rnd_below(64) << shift;
		const struct nest_tlb_entry *e;

		switch (rnd_below(8)) {
		case 0:
			inv = (struct nest_inv){
				.cache = NEST_INV_CACHE_IOTLB,
				.granu = rnd_below(3),
				.hwpt_id = hwpt, .pasid = pasid,
			};
			if (inv.granu == NEST_INV_GRANU_ADDR) {
				inv.flags = rnd_below(2) ? NEST_INV_F_PASID : 0;
				inv.granule_size = 1ULL << shift;
				inv.addr = iova;
				inv.nb_granules = 1 + rnd_below(4);
			}
			want = inv_ref_count(&tlb, &inv);
			ASSERT_OK(nest_inv_match(&inv, &tlb, NULL, NULL, &dropped));
			ASSERT_EQ(want, dropped);
			break;
		case 1:
			e = nest_tlb_lookup(&tlb, hwpt, pasid, iova);
			if (e)
				nest_tlb_drop_entry(&tlb, e);
			break;
		case 2:
			nest_tlb_drop_s2(&tlb, 1, rnd_below(64) << 21, SZ_2M);
			break;
		default:
			tlb_fill(&ne, hwpt, pasid, iova, shift, rnd_below(1 << 20));
			nest_tlb_insert(&tlb, &ne);
		}
		if (!tlb_lists_ok(&tlb)) {
			TH_LOG("tag lists wrong after step %d (seed %" PRIu64 ")", i, opt_seed);
			ASSERT_TRUE(false);
		}
	}
	ASSERT_LT(0, tlb.evictions);
}

TEST(s2_unmap_drops_nested)
{
	struct nest_xlate_res r;
	struct nest_fault f;
	struct xenv x;
	u64 un;

	xenv_init(&x);
	s1_map(&x.e, x.d.root_gpa, 4, 0x5000, 40 * 4096, 1, P | RW | US,
	       P | RW | US);
	s1_map(&x.e, x.d.root_gpa, 4, 0x6000, 41 * 4096, 1, P | RW | US,
	       P | RW | US);
	s1_map(&x.e, x.d.root_gpa, 4, 0x200000, 42 * 4096, 1, P | RW | US,
	       P | RW | US);	/* another level-1 table (frame 5) */
	ASSERT_OK(nest_translate(&x.x, 0, 0x5000, 1, &r, &f));
	ASSERT_OK(nest_translate(&x.x, 0, 0x6000, 1, &r, &f));
	ASSERT_OK(nest_translate(&x.x, 0, 0x200000, 1, &r, &f));
	/* a paging HWPT on the same stage 2 (s2-only translation) */
	x.x.s1 = NULL;
	x.x.hwpt_id = 3;
	ASSERT_OK(nest_translate(&x.x, NEST_PASID_NONE, 41 * 4096, 1, &r, &f));
	ASSERT_EQ(41, r.ofn);
	ASSERT_EQ(4, r.mem_refs);
	ASSERT_EQ(4, nest_tlb_count(&x.iotlb));
	/* unmap the output page of 0x6000: drops it and the paging entry */
	ASSERT_OK(nest_s2_unmap(&x.e.s2, 41 * 4096, 4096, &un));
	ASSERT_EQ(2, nest_tlb_drop_s2(&x.iotlb, 3, 41 * 4096, un));
	ASSERT_EQ(0, nest_tlb_drop_s2(&x.iotlb, 4, 0, ~0ULL)); /* other s2 */
	x.x.s1 = &x.d;
	x.x.hwpt_id = 7;
	ASSERT_ERR(EFAULT, nest_translate(&x.x, 0, 0x6000, 1, &r, &f));
	ASSERT_EQ(2, f.stage);
	ASSERT_EQ(41 * 4096, f.gpa);
	ASSERT_OK(nest_translate(&x.x, 0, 0x5000, 1, &r, &f));
	ASSERT_EQ(NEST_XLATE_IOTLB, r.source);
	/* unmap the level-1 table page of 0x5000: drops the translation */
	ASSERT_OK(nest_s2_unmap(&x.e.s2, 4 * 4096, 4096, &un));
	ASSERT_EQ(1, nest_tlb_drop_s2(&x.iotlb, 3, 4 * 4096, un));
	ASSERT_ERR(EFAULT, nest_translate(&x.x, 0, 0x5000, 1, &r, &f));
	ASSERT_EQ(2, f.stage);
	ASSERT_EQ(1, f.s1_level);
	ASSERT_EQ(NEST_FAULT_F_TABLE_FETCH, f.flags & NEST_FAULT_F_TABLE_FETCH);
	ASSERT_OK(nest_translate(&x.x, 0, 0x200000, 1, &r, &f));
	ASSERT_EQ(NEST_XLATE_IOTLB, r.source);
	/* the root page: everything nested goes */
	ASSERT_EQ(1, nest_tlb_drop_s2(&x.iotlb, 3, x.d.root_gpa, 4096));
	ASSERT_EQ(0, nest_tlb_count(&x.iotlb));
	env_fini(&x.e);
}

/* Dirty tracking through the IOTLB: after a clear the driver drops. */
TEST(dirty_with_iotlb)
{
	struct nest_xlate_res r;
	struct nest_fault f;
	struct xenv x;
	u64 bm[1], n;

	xenv_init(&x);
	x.x.s1 = NULL;
	ASSERT_OK(nest_s2_read_dirty(&x.e.s2, 0, 64 * 4096, bm, true, &n));
	ASSERT_OK(nest_translate(&x.x, 0, 9 * 4096, NEST_ACC_WRITE, &r, &f));
	ASSERT_OK(nest_translate(&x.x, 0, 9 * 4096, NEST_ACC_WRITE, &r, &f));
	ASSERT_EQ(NEST_XLATE_IOTLB, r.source);
	ASSERT_OK(nest_translate(&x.x, 0, 10 * 4096, NEST_ACC_READ, &r, &f));
	bm[0] = 0;
	ASSERT_OK(nest_s2_read_dirty(&x.e.s2, 0, 64 * 4096, bm, true, &n));
	ASSERT_EQ(BIT_ULL(9), bm[0]);
	ASSERT_EQ(2, nest_tlb_drop_s2(&x.iotlb, 3, 0, 64 * 4096));
	ASSERT_OK(nest_translate(&x.x, 0, 9 * 4096, NEST_ACC_WRITE, &r, &f));
	ASSERT_EQ(NEST_XLATE_WALK, r.source);
	bm[0] = 0;
	ASSERT_OK(nest_s2_read_dirty(&x.e.s2, 0, 64 * 4096, bm, false, &n));
	ASSERT_EQ(BIT_ULL(9), bm[0]);
	env_fini(&x.e);
}

/*
 * nest_translate(): walk levels in the result, the walk's trace, and a
 * NO_UPDATE translation that walks without touching any cache or bit.
 */
TEST(translate_levels_no_update)
{
	struct nest_walk_trace tr;
	struct nest_xlate_res r;
	struct nest_fault f;
	struct xenv x;
	u64 bm[1], n, hits, misses, dhits, dmisses;
	u8 *snap;

	xenv_init(&x);
	snap = malloc(ENV_FRAMES * 4096);
	ASSERT_TRUE(snap);
	x.x.devtlb = &x.devtlb;
	x.x.trace = &tr;
	x.d.flags |= NEST_S1_F_AD;
	s1_map(&x.e, x.d.root_gpa, 4, 0x5000, 40 * 4096, 1, P | RW | US,
	       P | RW | US);
	ASSERT_OK(nest_s2_read_dirty(&x.e.s2, 0, 64 * 4096, bm, true, &n));

	/* a query: a walk, nothing cached, counted or written */
	x.x.walk_flags = NEST_WALK_F_NO_UPDATE;
	memcpy(snap, x.e.tm.mem, ENV_FRAMES * 4096);
	ASSERT_OK(nest_translate(&x.x, 0, 0x5008, NEST_ACC_WRITE, &r, &f));
	ASSERT_EQ(NEST_XLATE_WALK, r.source);
	ASSERT_EQ(40, r.ofn);
	ASSERT_EQ(24, r.mem_refs);
	ASSERT_EQ(4, r.s1_levels);
	ASSERT_EQ(1, r.s2_level);
	ASSERT_EQ(24, tr.nr);
	ASSERT_EQ(0, nest_tlb_count(&x.iotlb));
	ASSERT_EQ(0, nest_tlb_count(&x.devtlb));
	ASSERT_EQ(0, x.iotlb.hits + x.iotlb.misses + x.devtlb.hits +
		     x.devtlb.misses);
	ASSERT_EQ(0, memcmp(snap, x.e.tm.mem, ENV_FRAMES * 4096));
	ASSERT_OK(nest_s2_read_dirty(&x.e.s2, 0, 64 * 4096, bm, false, &n));
	ASSERT_EQ(0, n);

	/* a translation: the same walk, then cached, A/D and dirty set */
	x.x.walk_flags = 0;
	ASSERT_OK(nest_translate(&x.x, 0, 0x5008, NEST_ACC_WRITE, &r, &f));
	ASSERT_EQ(NEST_XLATE_WALK, r.source);
	ASSERT_EQ(4, r.s1_levels);
	ASSERT_EQ(1, r.s2_level);
	ASSERT_EQ(24, tr.nr);
	ASSERT_NE(0, memcmp(snap, x.e.tm.mem, ENV_FRAMES * 4096));
	ASSERT_OK(nest_s2_read_dirty(&x.e.s2, 0, 64 * 4096, bm, false, &n));
	ASSERT_EQ(5, n);	/* 4 table pages and the output */
	/* hits: no levels, no steps */
	ASSERT_OK(nest_translate(&x.x, 0, 0x5010, NEST_ACC_WRITE, &r, &f));
	ASSERT_EQ(NEST_XLATE_DEVTLB, r.source);
	ASSERT_EQ(0, r.mem_refs);
	ASSERT_EQ(0, r.s1_levels);
	ASSERT_EQ(0, r.s2_level);
	ASSERT_EQ(0, tr.nr);
	x.x.trace = NULL;
	ASSERT_OK(nest_translate(&x.x, 0, 0x5010, NEST_ACC_READ, &r, &f));
	ASSERT_EQ(0, r.s1_levels);
	x.x.trace = &tr;

	/* a query with the translation cached: still a walk, no cache use */
	hits = x.iotlb.hits;
	misses = x.iotlb.misses;
	dhits = x.devtlb.hits;
	dmisses = x.devtlb.misses;
	x.x.walk_flags = NEST_WALK_F_NO_UPDATE;
	ASSERT_OK(nest_translate(&x.x, 0, 0x5010, NEST_ACC_READ, &r, &f));
	ASSERT_EQ(NEST_XLATE_WALK, r.source);
	ASSERT_EQ(4, r.s1_levels);
	ASSERT_EQ(24, tr.nr);
	ASSERT_EQ(hits, x.iotlb.hits);
	ASSERT_EQ(misses, x.iotlb.misses);
	ASSERT_EQ(dhits, x.devtlb.hits);
	ASSERT_EQ(dmisses, x.devtlb.misses);
	ASSERT_EQ(1, nest_tlb_count(&x.iotlb));
	/* a query that faults reports the fault of the translation */
	ASSERT_ERR(EFAULT, nest_translate(&x.x, 0, 0x6000, NEST_ACC_READ, &r,
					  &f));
	ASSERT_EQ(NEST_FAULT_REASON_PTE_FETCH, f.reason);
	ASSERT_EQ(1, f.level);
	ASSERT_EQ(20, tr.nr);

	/* a paging HWPT: stage-2 levels only */
	x.x.s1 = NULL;
	x.x.hwpt_id = 3;
	x.x.walk_flags = NEST_WALK_F_NO_UPDATE;
	ASSERT_OK(nest_translate(&x.x, NEST_PASID_NONE, 41 * 4096,
				 NEST_ACC_WRITE, &r, &f));
	ASSERT_EQ(0, r.s1_levels);
	ASSERT_EQ(1, r.s2_level);
	ASSERT_EQ(4, r.mem_refs);
	ASSERT_EQ(4, tr.nr);
	ASSERT_EQ(1, nest_tlb_count(&x.iotlb));
	x.x.walk_flags = 0;
	ASSERT_OK(nest_translate(&x.x, NEST_PASID_NONE, 41 * 4096,
				 NEST_ACC_WRITE, &r, &f));
	ASSERT_EQ(1, r.s2_level);
	ASSERT_EQ(2, nest_tlb_count(&x.iotlb));
	bm[0] = 0;
	ASSERT_OK(nest_s2_read_dirty(&x.e.s2, 0, 64 * 4096, bm, false, &n));
	ASSERT_EQ(0x1eULL | BIT_ULL(40) | BIT_ULL(41), bm[0]);
	free(snap);
	env_fini(&x.e);
}
