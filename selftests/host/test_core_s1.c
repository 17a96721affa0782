// SPDX-License-Identifier: GPL-2.0
/*
 * test_core_s1.c - host unit tests of kernel/core: the stage-1 walk: levels, huge pages, faults, A/D bits and their
 * races, walks that update nothing, and walk traces.
 * Shared parts: test_core.h.
 */
#include "test_core.h"

/* ------------------------------------------------------------ stage 1 */

TEST(s1_4_and_5_level)
{
	struct nest_s1_desc d = { .levels = 4, .flags = NEST_S1_F_SRE };
	u64 iova = 0x00007f1234567000ULL;
	struct nest_walk_res r;
	struct nest_fault f;
	struct env e;

	env_init(&e);
	d.root_gpa = env_table(&e);
	s1_map(&e, d.root_gpa, 4, iova, 40 * 4096, 1, P | RW | US, P | RW | US);
	ASSERT_OK(nest_s1_walk(&e.s2, &d, iova + 0x123, NEST_ACC_READ, &r, &f));
	ASSERT_EQ(40, r.ofn);
	ASSERT_EQ(40 * 4096 + 0x123, r.gpa);
	ASSERT_EQ(24, r.mem_refs);	/* (4 + 1) * (4 + 1) - 1 */
	ASSERT_EQ(4, r.s1_levels);
	ASSERT_EQ(12, r.page_shift);
	ASSERT_EQ(4, r.nr_tables);
	ASSERT_EQ(d.root_gpa, r.table_gpa[0]);
	ASSERT_EQ(NEST_PERM_ALL, r.perm);
	/* 5 levels: 5 * 5 + 4 = 29 */
	d.levels = 5;
	d.root_gpa = env_table(&e);
	iova = 0x00ff7f1234567000ULL;
	s1_map(&e, d.root_gpa, 5, iova, 41 * 4096, 1, P | RW | US, P | US);
	ASSERT_OK(nest_s1_walk(&e.s2, &d, iova, NEST_ACC_READ, &r, &f));
	ASSERT_EQ(41, r.ofn);
	ASSERT_EQ(29, r.mem_refs);
	/* no WPD: privileged writes honour R/W=0 too */
	ASSERT_EQ(NEST_PERM_ALL & ~(NEST_PERM_WRITE | NEST_PERM_PRIV_WRITE),
		  r.perm);
	/* the same IOVA is non-canonical with 4 levels */
	d.levels = 4;
	ASSERT_ERR(EFAULT, nest_s1_walk(&e.s2, &d, iova, NEST_ACC_READ, &r,
					&f));
	ASSERT_EQ(NEST_FAULT_REASON_OOR_ADDRESS, f.reason);
	ASSERT_EQ(1, f.stage);
	ASSERT_EQ(0, f.level);
	/* canonical high half is fine for 4 levels */
	d.root_gpa = env_table(&e);
	iova = 0xffff800000001000ULL;
	s1_map(&e, d.root_gpa, 4, iova, 42 * 4096, 1, P | RW, P | RW);
	ASSERT_OK(nest_s1_walk(&e.s2, &d, iova, NEST_ACC_READ | NEST_ACC_PRIV,
			       &r, &f));
	ASSERT_EQ(42, r.ofn);
	ASSERT_ERR(EFAULT, nest_s1_walk(&e.s2, &d, 0x0000800000001000ULL,
					NEST_ACC_READ, &r, &f));
	ASSERT_EQ(NEST_FAULT_REASON_OOR_ADDRESS, f.reason);
	env_fini(&e);
}

TEST(s1_huge_pages)
{
	struct nest_s1_desc d = { .levels = 4, .flags = NEST_S1_F_SRE };
	struct testmem tm = { .nr_frames = 2048 };
	struct nest_walk_res r;
	struct nest_fault f;
	struct nest_s2 s2;
	u64 *m;

	/* GPA [0, 4M) -> ofn [0, 1024) with 2M leaves, tables at 0..3 */
	tm.mem = calloc(2048, 4096);
	ASSERT_OK(nest_s2_init(&s2, &tm_ops, &tm));
	ASSERT_OK(nest_s2_map(&s2, 0, 2 * SZ_2M, 0, 3, true));
	ASSERT_OK(nest_s2_map(&s2, SZ_1G, SZ_2M, 1024, 3, false));
	m = (u64 *)tm.mem;
	d.root_gpa = 0;
	m[0] = 1 * 4096 | P | RW | US;			/* L4[0] -> L3 at 1 */
	m[512 + 0] = 2 * 4096 | P | RW | US;		/* L3[0] -> L2 at 2 */
	m[512 + 1] = SZ_1G | P | RW | US | PS;		/* L3[1]: 1G at 1G */
	m[1024 + 1] = SZ_2M | P | RW | US | PS;		/* L2[1]: 2M at 2M */
	m[1024 + 2] = SZ_2M | P | RW | US | PS | BIT_ULL(13); /* rsvd */
	m[512 + 2] = SZ_1G | P | RW | US | PS | BIT_ULL(29);  /* rsvd */
	m[512 + 3] = SZ_1G | P | RW | US | PS | BIT_ULL(12); /* PAT: ok */
	m[1024 + 3] = SZ_2M | BIT_ULL(12) | P | PS;	/* PAT: ok */

	ASSERT_OK(nest_s1_walk(&s2, &d, SZ_2M + 0x5123, 1, &r, &f));
	ASSERT_EQ(512 + 5, r.ofn);
	ASSERT_EQ(21, r.page_shift);
	ASSERT_EQ(3, r.s1_levels);
	ASSERT_EQ(3 * 4 + 3, r.mem_refs);	/* s2 walks are 3 deep */
	/* 1G stage-1 page over 4K stage-2 leaves: 4K translation */
	ASSERT_OK(nest_s1_walk(&s2, &d, SZ_1G + 0x7000, 1, &r, &f));
	ASSERT_EQ(1024 + 7, r.ofn);
	ASSERT_EQ(12, r.page_shift);
	ASSERT_ERR(EFAULT, nest_s1_walk(&s2, &d, SZ_1G + SZ_2M, 1, &r, &f));
	ASSERT_EQ(2, f.stage);
	ASSERT_EQ(NEST_FAULT_REASON_PTE_FETCH, f.reason);
	ASSERT_EQ(SZ_1G + SZ_2M, f.gpa);
	ASSERT_EQ(0, f.s1_level);
	ASSERT_ERR(EFAULT, nest_s1_walk(&s2, &d, 2 * SZ_2M, 1, &r, &f));
	ASSERT_EQ(NEST_FAULT_REASON_PTE_FETCH, f.reason);
	ASSERT_EQ(NEST_FAULT_F_RSVD, f.flags & NEST_FAULT_F_RSVD);
	ASSERT_EQ(2, f.level);
	ASSERT_ERR(EFAULT, nest_s1_walk(&s2, &d, 2 * SZ_1G, 1, &r, &f));
	ASSERT_EQ(NEST_FAULT_F_RSVD, f.flags & NEST_FAULT_F_RSVD);
	ASSERT_EQ(3, f.level);
	ASSERT_EQ(512 * 8 + 2 * 8, f.gpa);
	ASSERT_OK(nest_s1_walk(&s2, &d, 3 * SZ_1G + 0x7000, 1, &r, &f));
	ASSERT_EQ(1024 + 7, r.ofn);	/* bit 12 is PAT, not address */
	ASSERT_ERR(EFAULT, nest_s1_walk(&s2, &d, 3 * SZ_1G + SZ_2M, 1, &r, &f));
	ASSERT_EQ(2, f.stage);	/* 1G + 2M unmapped in stage 2 */
	ASSERT_OK(nest_s1_walk(&s2, &d, 3 * SZ_2M,
			       NEST_ACC_READ | NEST_ACC_PRIV, &r, &f));
	ASSERT_EQ(NEST_PERM_READ | NEST_PERM_EXEC | NEST_PERM_PRIV, r.perm);
	/* PS at level 4 is reserved */
	m[1] = 0 | P | RW | US | PS;
	ASSERT_ERR(EFAULT, nest_s1_walk(&s2, &d, 1ULL << 39, 1, &r, &f));
	ASSERT_EQ(NEST_FAULT_REASON_PTE_FETCH, f.reason);
	ASSERT_EQ(NEST_FAULT_F_RSVD, f.flags & NEST_FAULT_F_RSVD);
	ASSERT_EQ(4, f.level);
	nest_s2_destroy(&s2);
	free(tm.mem);
}

TEST(s1_faults)
{
	struct nest_s1_desc d = { .levels = 4, .flags = NEST_S1_F_SRE };
	u64 iova = 0x12345000ULL, leaf_gpa;
	struct nest_walk_res r;
	struct nest_fault f;
	u8 aborts[ENV_FRAMES] = { 0 };
	struct env e;
	u64 *leaf, *l4;

	env_init(&e);
	d.root_gpa = env_table(&e);
	s1_map(&e, d.root_gpa, 4, iova, 50 * 4096, 1, P | RW | US,
	       P | RW | US);
	l4 = env_pte(&e, d.root_gpa);
	leaf_gpa = 4 * 4096 + ((iova >> 12) & 511) * 8;
	leaf = env_pte(&e, leaf_gpa);
	ASSERT_OK(nest_s1_walk(&e.s2, &d, iova, NEST_ACC_WRITE, &r, &f));

	/* bad descriptors */
	d.levels = 3;
	ASSERT_ERR(EFAULT, nest_s1_walk(&e.s2, &d, iova, 1, &r, &f));
	ASSERT_EQ(NEST_FAULT_REASON_BAD_PASID_ENTRY, f.reason);
	d.levels = 4;
	d.root_gpa += 8;
	ASSERT_ERR(EFAULT, nest_s1_walk(&e.s2, &d, iova, 1, &r, &f));
	ASSERT_EQ(NEST_FAULT_REASON_BAD_PASID_ENTRY, f.reason);
	d.root_gpa -= 8;
	d.flags |= BIT(7);
	ASSERT_ERR(EFAULT, nest_s1_walk(&e.s2, &d, iova, 1, &r, &f));
	ASSERT_EQ(NEST_FAULT_REASON_BAD_PASID_ENTRY, f.reason);
	d.flags = 0;
	/* privileged without SRE */
	ASSERT_ERR(EFAULT, nest_s1_walk(&e.s2, &d, iova, 1 | NEST_ACC_PRIV, &r,
					&f));
	ASSERT_EQ(NEST_FAULT_REASON_ACCESS, f.reason);
	d.flags = NEST_S1_F_SRE;

	/* permissions */
	*leaf &= ~RW;
	ASSERT_ERR(EFAULT, nest_s1_walk(&e.s2, &d, iova, NEST_ACC_WRITE, &r,
					&f));
	ASSERT_EQ(NEST_FAULT_REASON_PERMISSION, f.reason);
	ASSERT_EQ(1, f.stage);
	ASSERT_EQ(1, f.level);
	ASSERT_ERR(EFAULT, nest_s1_walk(&e.s2, &d, iova,
					NEST_ACC_WRITE | NEST_ACC_PRIV, &r,
					&f));	/* WP=1 semantics */
	*leaf |= RW;
	*l4 &= ~RW;	/* RW=0 at the top denies writes too */
	ASSERT_ERR(EFAULT, nest_s1_walk(&e.s2, &d, iova, NEST_ACC_WRITE, &r,
					&f));
	ASSERT_EQ(NEST_FAULT_REASON_PERMISSION, f.reason);
	*l4 |= RW;
	*l4 &= ~US;
	ASSERT_ERR(EFAULT, nest_s1_walk(&e.s2, &d, iova, NEST_ACC_READ, &r,
					&f));
	ASSERT_EQ(NEST_FAULT_REASON_PERMISSION, f.reason);
	ASSERT_OK(nest_s1_walk(&e.s2, &d, iova, NEST_ACC_READ | NEST_ACC_PRIV,
			       &r, &f));
	*l4 |= US | XD;
	ASSERT_ERR(EFAULT, nest_s1_walk(&e.s2, &d, iova, NEST_ACC_EXEC, &r,
					&f));
	ASSERT_EQ(NEST_FAULT_REASON_PERMISSION, f.reason);
	ASSERT_OK(nest_s1_walk(&e.s2, &d, iova, NEST_ACC_READ, &r, &f));
	*l4 &= ~XD;
	ASSERT_OK(nest_s1_walk(&e.s2, &d, iova, NEST_ACC_EXEC, &r, &f));

	/* not present / reserved output bits */
	*leaf &= ~P;
	ASSERT_ERR(EFAULT, nest_s1_walk(&e.s2, &d, iova, 1, &r, &f));
	ASSERT_EQ(NEST_FAULT_REASON_PTE_FETCH, f.reason);
	ASSERT_EQ(1, f.level);
	ASSERT_EQ(leaf_gpa, f.gpa);
	ASSERT_EQ(0, f.flags & NEST_FAULT_F_RSVD);
	*leaf |= P | BIT_ULL(50);	/* reserved: GPAs have 48 bits */
	ASSERT_ERR(EFAULT, nest_s1_walk(&e.s2, &d, iova, 1, &r, &f));
	ASSERT_EQ(NEST_FAULT_REASON_PTE_FETCH, f.reason);
	ASSERT_EQ(NEST_FAULT_F_RSVD, f.flags & NEST_FAULT_F_RSVD);
	*leaf &= ~BIT_ULL(50);
	*leaf |= GENMASK_ULL(62, 52);	/* ignored bits */
	ASSERT_OK(nest_s1_walk(&e.s2, &d, iova, 1, &r, &f));
	ASSERT_EQ(50, r.ofn);

	/* stage-2 fault on a table fetch and on the output */
	*l4 = (*l4 & ~GENMASK_ULL(47, 12)) | (200 * 4096);
	ASSERT_ERR(EFAULT, nest_s1_walk(&e.s2, &d, iova, 1, &r, &f));
	ASSERT_EQ(2, f.stage);
	ASSERT_EQ(NEST_FAULT_REASON_PTE_FETCH, f.reason);
	ASSERT_EQ(3, f.s1_level);
	ASSERT_EQ(NEST_FAULT_F_TABLE_FETCH, f.flags & NEST_FAULT_F_TABLE_FETCH);
	ASSERT_EQ(200 * 4096 + ((iova >> 30) & 511) * 8, f.gpa);
	ASSERT_EQ(iova, f.addr);
	*l4 = (*l4 & ~GENMASK_ULL(47, 12)) | (2 * 4096);
	*leaf = (*leaf & ~GENMASK_ULL(47, 12)) | (300 * 4096);
	ASSERT_ERR(EFAULT, nest_s1_walk(&e.s2, &d, iova + 8, 1, &r, &f));
	ASSERT_EQ(2, f.stage);
	ASSERT_EQ(0, f.s1_level);
	ASSERT_EQ(0, f.flags & NEST_FAULT_F_TABLE_FETCH);
	ASSERT_EQ(300 * 4096 + 8, f.gpa);
	*leaf = (*leaf & ~GENMASK_ULL(47, 12)) | (50 * 4096);

	/* external abort reading a table */
	e.tm.abort_map = aborts;
	aborts[3] = 1;
	ASSERT_ERR(EFAULT, nest_s1_walk(&e.s2, &d, iova, 1, &r, &f));
	ASSERT_EQ(NEST_FAULT_REASON_WALK_EABT, f.reason);
	ASSERT_EQ(1, f.stage);
	ASSERT_EQ(2, f.level);
	e.tm.abort_map = NULL;
	env_fini(&e);
}

TEST(s1_ad_bits)
{
	struct nest_s1_desc d = { .levels = 4, .flags = NEST_S1_F_AD };
	u64 iova = 0x7654321000ULL, bm[1], n;
	struct nest_walk_res r;
	struct nest_fault f;
	struct env e;
	u64 *pte[5];
	int l;

	env_init(&e);
	d.root_gpa = env_table(&e);
	s1_map(&e, d.root_gpa, 4, iova, 60 * 4096, 1, P | RW | US,
	       P | RW | US);
	for (l = 4; l >= 1; l--)
		pte[l] = env_pte(&e, (5 - l) * 4096 +
				 ((iova >> (12 + 9 * (l - 1))) & 511) * 8);
	ASSERT_OK(nest_s2_read_dirty(&e.s2, 0, 64 * 4096, bm, true, &n));
	ASSERT_OK(nest_s1_walk(&e.s2, &d, iova, NEST_ACC_READ, &r, &f));
	for (l = 4; l >= 1; l--)
		ASSERT_EQ(A, *pte[l] & (A | D));
	bm[0] = 0;
	ASSERT_OK(nest_s2_read_dirty(&e.s2, 0, 64 * 4096, bm, true, &n));
	ASSERT_EQ(0x1eULL, bm[0]);	/* the 4 table pages, not page 60 */
	ASSERT_OK(nest_s1_walk(&e.s2, &d, iova, NEST_ACC_WRITE, &r, &f));
	ASSERT_EQ(A | D, *pte[1] & (A | D));
	ASSERT_EQ(A, *pte[2] & (A | D));
	bm[0] = 0;
	ASSERT_OK(nest_s2_read_dirty(&e.s2, 0, 64 * 4096, bm, true, &n));
	ASSERT_EQ(BIT_ULL(60) | BIT_ULL(4), bm[0]);
	/* nothing to update: no stage-2 write to the tables */
	ASSERT_OK(nest_s1_walk(&e.s2, &d, iova, NEST_ACC_WRITE, &r, &f));
	bm[0] = 0;
	ASSERT_OK(nest_s2_read_dirty(&e.s2, 0, 64 * 4096, bm, true, &n));
	ASSERT_EQ(BIT_ULL(60), bm[0]);
	/* a faulting walk updates nothing */
	*pte[1] &= ~(A | D | RW);
	*pte[3] &= ~A;
	ASSERT_ERR(EFAULT, nest_s1_walk(&e.s2, &d, iova, NEST_ACC_WRITE, &r,
					&f));
	ASSERT_EQ(0, *pte[3] & A);
	*pte[1] |= RW;
	/* A/D update needs stage-2 write permission on the table page */
	ASSERT_OK(nest_s2_unmap(&e.s2, 2 * 4096, 4096, &n));
	ASSERT_OK(nest_s2_map(&e.s2, 2 * 4096, 4096, 2, NEST_PROT_READ, false));
	ASSERT_ERR(EFAULT, nest_s1_walk(&e.s2, &d, iova, NEST_ACC_READ, &r,
					&f));
	ASSERT_EQ(2, f.stage);
	ASSERT_EQ(NEST_FAULT_REASON_PERMISSION, f.reason);
	ASSERT_EQ(NEST_FAULT_F_AD_UPDATE, f.flags & NEST_FAULT_F_AD_UPDATE);
	ASSERT_EQ(3, f.s1_level);
	ASSERT_EQ(0, *pte[1] & A);	/* checked before any update */
	/* without A/D, a read-only table page is fine and nothing changes */
	d.flags = 0;
	ASSERT_OK(nest_s1_walk(&e.s2, &d, iova, NEST_ACC_WRITE, &r, &f));
	ASSERT_EQ(0, *pte[1] & (A | D));
	env_fini(&e);
}

/*
 * A user-space writer racing the A/D update: the first cmpxchg finds the
 * PTE changed, the walk restarts and uses the new value.
 */
static int race_left;
static u64 race_new;

static int racy_cmpxchg(void *priv, u64 ofn, u32 off, u64 old, u64 new,
			u64 *cur)
{
	struct testmem *tm = priv;

	if (race_left) {
		race_left--;
		memcpy(tm->mem + ofn * 4096 + off, &race_new, 8);
		race_new ^= BIT_ULL(9);	/* an ignored bit: a new value */
	}
	return tm_cmpxchg_u64(priv, ofn, off, old, new, cur);
}

/*
 * @iova mapped to page 61 by a 4-level A/D table whose memory races one
 * writer: the first A/D update finds the leaf pointing at page 62.
 */
static void ad_race_setup(struct env *e, struct nest_mem_ops *ops,
			  struct nest_s1_desc *d, u64 iova)
{
	*d = (struct nest_s1_desc){ .levels = 4, .flags = NEST_S1_F_AD };
	*ops = tm_ops;
	ops->cmpxchg_u64 = racy_cmpxchg;
	env_init(e);
	e->s2.ops = ops;
	d->root_gpa = env_table(e);
	s1_map(e, d->root_gpa, 4, iova, 61 * 4096, 1, P | RW | US | A,
	       P | RW | US | A);
	race_left = 1;
	race_new = 62 * 4096 | P | RW | US | A;
}

TEST(s1_ad_race)
{
	struct nest_mem_ops ops;
	struct nest_s1_desc d;
	u64 iova = 0x1000, *leaf;
	struct nest_walk_res r;
	struct nest_fault f;
	struct env e;

	ad_race_setup(&e, &ops, &d, iova);
	leaf = env_pte(&e, 4 * 4096 + 8);
	ASSERT_OK(nest_s1_walk(&e.s2, &d, iova, NEST_ACC_WRITE, &r, &f));
	ASSERT_EQ(62, r.ofn);
	ASSERT_EQ((62 * 4096 | P | RW | US | A | D), *leaf);
	/* a writer that never stops: bounded, then WALK_EABT */
	race_left = 1000;
	race_new = 63 * 4096 | P | RW | US | A;
	*leaf = 61 * 4096 | P | RW | US | A;
	ASSERT_ERR(EFAULT, nest_s1_walk(&e.s2, &d, iova, NEST_ACC_WRITE, &r,
					&f));
	ASSERT_EQ(NEST_FAULT_REASON_WALK_EABT, f.reason);
	ASSERT_EQ(NEST_FAULT_F_AD_UPDATE, f.flags & NEST_FAULT_F_AD_UPDATE);
	ASSERT_EQ(1000 - NEST_S1_AD_RETRIES, race_left);
	race_left = 0;
	env_fini(&e);
}


TEST(walk_no_update)
{
	struct nest_s1_desc d = { .levels = 4,
				  .flags = NEST_S1_F_AD | NEST_S1_F_SRE };
	u64 iova = 0x7654321000ULL, bm[1], n, un, pte_gpa[6], pte[6];
	struct nest_walk_res r, rq;
	struct nest_fault f, fq;
	struct nest_walk_trace tq, tn;
	struct nest_mem_ops ops = tm_ops;
	u8 *snap;
	struct env e;
	int l, rc, rcq;

	env_init(&e);
	e.s2.ops = &ops;
	ops.cmpxchg_u64 = counting_cmpxchg;
	snap = malloc(ENV_FRAMES * 4096);
	ASSERT_TRUE(snap);
	d.root_gpa = env_table(&e);
	s1_map(&e, d.root_gpa, 4, iova, 60 * 4096, 1, P | RW | US,
	       P | RW | US);
	s1_path(&e, &d, iova, pte_gpa, pte);
	/* a dirty page the queries must leave dirty */
	ASSERT_OK(nest_s2_read_dirty(&e.s2, 0, 64 * 4096, bm, true, &n));
	ASSERT_OK(nest_s2_translate(&e.s2, 33 * 4096, NEST_ACC_WRITE, &r, &f));

	/* every access, with and without PRIV: nothing written */
	for (l = 0; l < 8; l++) {
		u32 acc = (BIT(l % 3)) | (l >= 4 ? NEST_ACC_PRIV : 0);

		TH_CONTEXT("access %#x", acc);
		memcpy(snap, e.tm.mem, ENV_FRAMES * 4096);
		cmpxchg_calls = 0;
		memset(&fq, 0, sizeof(fq));
		rcq = nest_s1_walk_ext(&e.s2, &d, iova + 8, acc,
				       NEST_WALK_F_NO_UPDATE, &rq, &fq, &tq);
		ASSERT_OK(rcq);
		ASSERT_EQ(0, cmpxchg_calls);
		ASSERT_EQ(0, memcmp(snap, e.tm.mem, ENV_FRAMES * 4096));
		bm[0] = 0;
		ASSERT_OK(nest_s2_read_dirty(&e.s2, 0, 64 * 4096, bm, false,
					     &n));
		ASSERT_EQ(BIT_ULL(33), bm[0]);
		ASSERT_EQ(24, tq.nr);
	}
	/* the same write normally: same result and trace, and the updates */
	memset(&fq, 0, sizeof(fq));
	rcq = nest_s1_walk_ext(&e.s2, &d, iova + 8, NEST_ACC_WRITE,
			       NEST_WALK_F_NO_UPDATE, &rq, &fq, &tq);
	memset(&f, 0, sizeof(f));
	rc = nest_s1_walk_ext(&e.s2, &d, iova + 8, NEST_ACC_WRITE, 0, &r, &f,
			      &tn);
	ASSERT_OK(rc);
	ASSERT_TRUE(walk_same(rcq, &rq, &fq, rc, &r, &f));
	ASSERT_TRUE(trace_same(&tq, &tn));
	ASSERT_EQ(60, r.ofn);
	ASSERT_EQ(4, cmpxchg_calls);
	for (l = 4; l >= 1; l--)
		ASSERT_EQ(l == 1 ? A | D : A,
			  *env_pte(&e, pte_gpa[l]) & (A | D));
	bm[0] = 0;
	ASSERT_OK(nest_s2_read_dirty(&e.s2, 0, 64 * 4096, bm, true, &n));
	ASSERT_EQ(0x1eULL | BIT_ULL(33) | BIT_ULL(60), bm[0]);

	/* stage 2 only: a write query does not mark the page dirty */
	ASSERT_OK(nest_s2_translate_ext(&e.s2, 34 * 4096, NEST_ACC_WRITE,
					NEST_WALK_F_NO_UPDATE, &rq, &fq, &tq));
	ASSERT_EQ(34, rq.ofn);
	ASSERT_EQ(4, tq.nr);
	ASSERT_OK(nest_s2_read_dirty(&e.s2, 0, 64 * 4096, bm, false, &n));
	ASSERT_EQ(0, n);
	ASSERT_OK(nest_s2_translate_ext(&e.s2, 34 * 4096, NEST_ACC_WRITE, 0,
					&r, &f, &tn));
	ASSERT_TRUE(walk_same(0, &rq, &fq, 0, &r, &f));
	ASSERT_TRUE(trace_same(&tq, &tn));
	bm[0] = 0;
	ASSERT_OK(nest_s2_read_dirty(&e.s2, 0, 64 * 4096, bm, true, &n));
	ASSERT_EQ(BIT_ULL(34), bm[0]);

	/*
	 * A/D update on a table page stage 2 maps read-only: the query
	 * reports the same stage-2 PERMISSION fault, and writes nothing.
	 */
	*env_pte(&e, pte_gpa[3]) &= ~A;
	ASSERT_OK(nest_s2_unmap(&e.s2, 2 * 4096, 4096, &un));
	ASSERT_OK(nest_s2_map(&e.s2, 2 * 4096, 4096, 2, NEST_PROT_READ, false));
	memcpy(snap, e.tm.mem, ENV_FRAMES * 4096);
	cmpxchg_calls = 0;
	memset(&fq, 0, sizeof(fq));
	rcq = nest_s1_walk_ext(&e.s2, &d, iova, NEST_ACC_READ,
			       NEST_WALK_F_NO_UPDATE, &rq, &fq, &tq);
	ASSERT_ERR(EFAULT, rcq);
	ASSERT_EQ(2, fq.stage);
	ASSERT_EQ(NEST_FAULT_REASON_PERMISSION, fq.reason);
	ASSERT_EQ(NEST_FAULT_F_AD_UPDATE, fq.flags & NEST_FAULT_F_AD_UPDATE);
	ASSERT_EQ(3, fq.s1_level);
	ASSERT_EQ(pte_gpa[3], fq.gpa);
	ASSERT_EQ(24, tq.nr);	/* the whole walk was made */
	memset(&f, 0, sizeof(f));
	rc = nest_s1_walk_ext(&e.s2, &d, iova, NEST_ACC_READ, 0, &r, &f, &tn);
	ASSERT_TRUE(walk_same(rcq, &rq, &fq, rc, &r, &f));
	ASSERT_TRUE(trace_same(&tq, &tn));
	ASSERT_EQ(0, cmpxchg_calls);
	ASSERT_EQ(0, memcmp(snap, e.tm.mem, ENV_FRAMES * 4096));
	ASSERT_OK(nest_s2_read_dirty(&e.s2, 0, 64 * 4096, bm, false, &n));
	ASSERT_EQ(0, n);
	/* without A/D nothing needs W: the query succeeds like the walk */
	d.flags = NEST_S1_F_SRE;
	ASSERT_OK(nest_s1_walk_ext(&e.s2, &d, iova, NEST_ACC_WRITE,
				   NEST_WALK_F_NO_UPDATE, &rq, &fq, NULL));
	ASSERT_EQ(0, memcmp(snap, e.tm.mem, ENV_FRAMES * 4096));
	ASSERT_OK(nest_s2_read_dirty(&e.s2, 0, 64 * 4096, bm, false, &n));
	ASSERT_EQ(0, n);
	/* other faults: the same as a normal walk */
	*env_pte(&e, pte_gpa[1]) &= ~P;
	rcq = nest_s1_walk_ext(&e.s2, &d, iova, NEST_ACC_READ,
			       NEST_WALK_F_NO_UPDATE, &rq, &fq, &tq);
	rc = nest_s1_walk_ext(&e.s2, &d, iova, NEST_ACC_READ, 0, &r, &f, &tn);
	ASSERT_ERR(EFAULT, rc);
	ASSERT_EQ(NEST_FAULT_REASON_PTE_FETCH, f.reason);
	ASSERT_TRUE(walk_same(rcq, &rq, &fq, rc, &r, &f));
	ASSERT_TRUE(trace_same(&tq, &tn));
	free(snap);
	env_fini(&e);
}

/* Check step @i: a stage-2 read of @gpa at @level for @s1_level. */
#define ASSERT_S2_STEP(tr, i, gpa, lvl, s1l, fl) do {			\
	TH_CONTEXT("step %d", (int)(i));				\
	ASSERT_EQ(2, (tr)->step[i].stage);				\
	ASSERT_EQ((u64)(gpa), (tr)->step[i].addr);			\
	ASSERT_EQ(0, (tr)->step[i].pte);				\
	ASSERT_EQ(lvl, (tr)->step[i].level);				\
	ASSERT_EQ(s1l, (tr)->step[i].s1_level);				\
	ASSERT_EQ(fl, (tr)->step[i].flags);				\
} while (0)

#define LEAF_RW	(NEST_STEP_F_PRESENT | NEST_STEP_F_LEAF | NEST_STEP_F_READ | \
		 NEST_STEP_F_WRITE)

/* The padding of a step is zeroed: it may be copied out as it is. */
static bool step_pad_zero(const struct nest_walk_step *s)
{
	const u8 *p = (const u8 *)s;
	size_t i;

	for (i = offsetof(struct nest_walk_step, flags) + 1; i < sizeof(*s);
	     i++)
		if (p[i])
			return false;
	return true;
}

/* 5-level stage 1 over 4-level stage 2: the longest walk, 29 steps. */
TEST(walk_trace_5_over_4)
{
	struct nest_s1_desc d = { .levels = 5, .flags = NEST_S1_F_SRE };
	u64 iova = 0x00ff7f1234567000ULL, pte_gpa[6], pte[6], out;
	struct nest_walk_trace tr;
	struct nest_walk_res r;
	struct nest_fault f;
	struct env e;
	int l, j, i;

	env_init(&e);
	d.root_gpa = env_table(&e);
	s1_map(&e, d.root_gpa, 5, iova, 41 * 4096, 1, P | RW | US, P | RW | US);
	s1_path(&e, &d, iova, pte_gpa, pte);
	out = 41 * 4096 + 0x123;
	memset(&tr, 0xff, sizeof(tr));
	ASSERT_OK(nest_s1_walk_ext(&e.s2, &d, iova + 0x123, NEST_ACC_WRITE, 0,
				   &r, &f, &tr));
	ASSERT_EQ(29, r.mem_refs);
	ASSERT_EQ(29, tr.nr);
	ASSERT_GE(NEST_WALK_TRACE_MAX, tr.nr);
	for (l = 5, i = 0; l >= 1; l--) {
		for (j = 0; j < 4; j++, i++)
			ASSERT_S2_STEP(&tr, i, pte_gpa[l], 4 - j, l,
				       j < 3 ? NEST_STEP_F_PRESENT : LEAF_RW);
		TH_CONTEXT("step %d", i);
		ASSERT_EQ(1, tr.step[i].stage);
		ASSERT_EQ(pte_gpa[l], tr.step[i].addr);
		ASSERT_EQ(pte[l], tr.step[i].pte);
		ASSERT_EQ(l, tr.step[i].level);
		ASSERT_EQ(l, tr.step[i].s1_level);
		ASSERT_EQ(0, tr.step[i].flags);
		i++;
	}
	for (j = 0; j < 4; j++, i++)
		ASSERT_S2_STEP(&tr, i, out, 4 - j, 0,
			       j < 3 ? NEST_STEP_F_PRESENT : LEAF_RW);
	for (i = 0; i < 29; i++)
		ASSERT_TRUE(step_pad_zero(&tr.step[i]));
	/* the write set the output dirty: the next trace shows it */
	ASSERT_OK(nest_s1_walk_ext(&e.s2, &d, iova + 0x123, NEST_ACC_READ,
				   NEST_WALK_F_NO_UPDATE, &r, &f, &tr));
	ASSERT_EQ(29, tr.nr);
	ASSERT_S2_STEP(&tr, 28, out, 1, 0, LEAF_RW | NEST_STEP_F_DIRTY);
	ASSERT_S2_STEP(&tr, 3, pte_gpa[5], 1, 5, LEAF_RW);

	/* faults: the trace ends with the faulting read */
	*env_pte(&e, pte_gpa[2]) &= ~P;
	ASSERT_ERR(EFAULT, nest_s1_walk_ext(&e.s2, &d, iova, NEST_ACC_READ, 0,
					    &r, &f, &tr));
	ASSERT_EQ(NEST_FAULT_REASON_PTE_FETCH, f.reason);
	ASSERT_EQ(4 * 5, tr.nr);
	ASSERT_EQ(1, tr.step[19].stage);
	ASSERT_EQ(2, tr.step[19].level);
	ASSERT_EQ(pte_gpa[2], tr.step[19].addr);
	ASSERT_EQ(0, tr.step[19].pte & P);
	*env_pte(&e, pte_gpa[2]) |= P;
	/* a stage-1 table outside stage 2: the stage-2 PTE_FETCH is last */
	*env_pte(&e, pte_gpa[4]) = (pte[4] & ~GENMASK_ULL(47, 12)) |
				   (1ULL << 40);
	ASSERT_ERR(EFAULT, nest_s1_walk_ext(&e.s2, &d, iova, NEST_ACC_READ, 0,
					    &r, &f, &tr));
	ASSERT_EQ(2, f.stage);
	ASSERT_EQ(3, f.s1_level);
	ASSERT_EQ(4, f.level);
	ASSERT_EQ(2 * 5 + 1, tr.nr);
	ASSERT_S2_STEP(&tr, 10, f.gpa, 4, 3, 0);
	*env_pte(&e, pte_gpa[4]) = pte[4];
	/* an output outside stage 2 */
	*env_pte(&e, pte_gpa[1]) = (pte[1] & ~GENMASK_ULL(47, 12)) |
				   (ENV_FRAMES * 4096);
	ASSERT_ERR(EFAULT, nest_s1_walk_ext(&e.s2, &d, iova, NEST_ACC_READ, 0,
					    &r, &f, &tr));
	ASSERT_EQ(2, f.stage);
	ASSERT_EQ(0, f.s1_level);
	ASSERT_EQ(1, f.level);
	ASSERT_EQ(29, tr.nr);
	ASSERT_S2_STEP(&tr, 28, ENV_FRAMES * 4096, 1, 0, 0);
	*env_pte(&e, pte_gpa[1]) = pte[1];
	/* a stage-1 permission fault: every stage-1 read, no output */
	*env_pte(&e, pte_gpa[1]) &= ~RW;
	ASSERT_ERR(EFAULT, nest_s1_walk_ext(&e.s2, &d, iova, NEST_ACC_WRITE, 0,
					    &r, &f, &tr));
	ASSERT_EQ(NEST_FAULT_REASON_PERMISSION, f.reason);
	ASSERT_EQ(1, f.stage);
	ASSERT_EQ(5 * 5, tr.nr);
	ASSERT_EQ(1, tr.step[24].stage);
	ASSERT_EQ(1, tr.step[24].level);
	*env_pte(&e, pte_gpa[1]) = pte[1];
	/* level-0 faults read nothing */
	tr.nr = 7;
	ASSERT_ERR(EFAULT, nest_s1_walk_ext(&e.s2, &d, 1ULL << 60,
					    NEST_ACC_READ, 0, &r, &f, &tr));
	ASSERT_EQ(0, tr.nr);
	d.levels = 3;
	tr.nr = 7;
	ASSERT_ERR(EFAULT, nest_s1_walk_ext(&e.s2, &d, iova, NEST_ACC_READ, 0,
					    &r, &f, &tr));
	ASSERT_EQ(0, tr.nr);
	env_fini(&e);
}

/* A paging (stage-2 only) walk: s1_level 0 throughout. */
TEST(walk_trace_s2_only)
{
	struct nest_walk_trace tr;
	struct nest_walk_res r;
	struct nest_fault f;
	struct env e;
	u64 un;
	int j;

	env_init(&e);
	memset(&tr, 0xff, sizeof(tr));
	ASSERT_OK(nest_s2_translate_ext(&e.s2, 7 * 4096 + 5, NEST_ACC_WRITE, 0,
					&r, &f, &tr));
	ASSERT_EQ(7, r.ofn);
	ASSERT_EQ(4, r.mem_refs);
	ASSERT_EQ(4, tr.nr);
	for (j = 0; j < 4; j++) {
		ASSERT_S2_STEP(&tr, j, 7 * 4096 + 5, 4 - j, 0,
			       j < 3 ? NEST_STEP_F_PRESENT : LEAF_RW);
		ASSERT_TRUE(step_pad_zero(&tr.step[j]));
	}
	ASSERT_OK(nest_s2_translate_ext(&e.s2, 7 * 4096, NEST_ACC_READ, 0, &r,
					&f, &tr));
	ASSERT_S2_STEP(&tr, 3, 7 * 4096, 1, 0, LEAF_RW | NEST_STEP_F_DIRTY);
	/* not present at level 1, at level 4; out of range: no read */
	ASSERT_ERR(EFAULT, nest_s2_translate_ext(&e.s2, ENV_FRAMES * 4096,
						 NEST_ACC_READ, 0, &r, &f,
						 &tr));
	ASSERT_EQ(1, f.level);
	ASSERT_EQ(4, tr.nr);
	ASSERT_S2_STEP(&tr, 2, ENV_FRAMES * 4096, 2, 0, NEST_STEP_F_PRESENT);
	ASSERT_S2_STEP(&tr, 3, ENV_FRAMES * 4096, 1, 0, 0);
	ASSERT_ERR(EFAULT, nest_s2_translate_ext(&e.s2, 1ULL << 40,
						 NEST_ACC_READ, 0, &r, &f,
						 &tr));
	ASSERT_EQ(1, tr.nr);
	ASSERT_S2_STEP(&tr, 0, 1ULL << 40, 4, 0, 0);
	ASSERT_ERR(EFAULT, nest_s2_translate_ext(&e.s2, 1ULL << 48,
						 NEST_ACC_READ, 0, &r, &f,
						 &tr));
	ASSERT_EQ(NEST_FAULT_REASON_OOR_ADDRESS, f.reason);
	ASSERT_EQ(0, tr.nr);
	/* a permission fault: the leaf, without WRITE */
	ASSERT_OK(nest_s2_unmap(&e.s2, 63 * 4096, 4096, &un));
	ASSERT_OK(nest_s2_map(&e.s2, 63 * 4096, 4096, 63, NEST_PROT_READ,
			      false));
	ASSERT_ERR(EFAULT, nest_s2_translate_ext(&e.s2, 63 * 4096,
						 NEST_ACC_WRITE, 0, &r, &f,
						 &tr));
	ASSERT_EQ(NEST_FAULT_REASON_PERMISSION, f.reason);
	ASSERT_EQ(4, tr.nr);
	ASSERT_S2_STEP(&tr, 3, 63 * 4096, 1, 0,
		       NEST_STEP_F_PRESENT | NEST_STEP_F_LEAF |
		       NEST_STEP_F_READ);
	env_fini(&e);
}

/* A walk restarted by an A/D race traces the last attempt only. */
TEST(walk_trace_ad_restart)
{
	u64 iova = 0x1000, written;
	struct nest_walk_trace tr;
	struct nest_mem_ops ops;
	struct nest_s1_desc d;
	struct nest_walk_res r;
	struct nest_fault f;
	struct env e;

	ad_race_setup(&e, &ops, &d, iova);
	written = race_new;
	ASSERT_OK(nest_s1_walk_ext(&e.s2, &d, iova, NEST_ACC_WRITE, 0, &r, &f,
				   &tr));
	ASSERT_EQ(62, r.ofn);
	ASSERT_EQ(24, r.mem_refs);
	ASSERT_EQ(24, tr.nr);
	ASSERT_EQ(1, tr.step[19].stage);
	ASSERT_EQ(1, tr.step[19].level);
	ASSERT_EQ(written, tr.step[19].pte);	/* the value re-read */
	ASSERT_S2_STEP(&tr, 23, 62 * 4096, 1, 0, LEAF_RW);
	race_left = 0;
	env_fini(&e);
}
