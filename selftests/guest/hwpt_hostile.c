// SPDX-License-Identifier: GPL-2.0
/*
 * Hostile stage-1 tables: tables that point at themselves at every level,
 * random garbage tables walked by thousands of random DMAs and TRANSLATEs,
 * and tables rewritten by another thread while the device walks them (with
 * A/D updates racing the writer). The kernel may only ever answer with a
 * fault or a translation into IOAS memory; never an ioctl error, a kernel
 * error on the console, or a hang (the case's timeout).
 */
#include <pthread.h>
#include <stdatomic.h>

#include "nest_env.h"

#define GARBAGE_TABLES	32
#define RANDOM_OPS	4000
#define OP_BUF		(3 * SZ_4K)

FIXTURE(hostile) {
	struct nest_env e;
	char *canary;		/* process memory no IOAS maps */
	__u64 *tables[GARBAGE_TABLES];
	__u64 table_gpa[GARBAGE_TABLES];
	__u32 hwpt;		/* the garbage HWPT, on PASID HOSTILE_PASID */
	__u64 rng;
};

FIXTURE_VARIANT(hostile) {
	unsigned int levels;
	__u32 s1_flags;
	__u32 dev_flags;
};

FIXTURE_VARIANT_ADD(hostile, four_level) { .levels = 4 };
FIXTURE_VARIANT_ADD(hostile, five_level) { .levels = 5 };
FIXTURE_VARIANT_ADD(hostile, four_level_ad_sre_ats) {
	.levels = 4, .s1_flags = NESTIOMMU_S1_AD | NESTIOMMU_S1_SRE,
	.dev_flags = NESTIOMMU_DEVICE_ATS,
};
FIXTURE_VARIANT_ADD(hostile, five_level_ad) { .levels = 5, .s1_flags = NESTIOMMU_S1_AD };

#define HOSTILE_PASID	7

FIXTURE_SETUP(hostile)
{
	struct nest_env_opts o = {
		.levels = variant->levels,
		.s1_flags = variant->s1_flags,
		.dev_flags = variant->dev_flags,
	};

	env_setup(&self->e, &o);
	self->canary = alloc_buffer_4k(SZ_1M, SZ_4K);
	self->rng = 0x9e3779b97f4a7c15ULL;
	self->hwpt = 0;
}

FIXTURE_TEARDOWN(hostile)
{
	env_teardown(&self->e);
	munmap(self->canary, SZ_1M);
}

/* Is [gpa, gpa + len) inside an IOAS mapping? Then its user VA in *va. */
static bool hostile_gpa_va(FIXTURE_DATA(hostile) *self, __u64 gpa, __u64 len, char **va)
{
	if (gpa >= POOL_GPA && gpa + len <= POOL_GPA + POOL_LEN) {
		*va = self->e.pool + (gpa - POOL_GPA);
		return true;
	}
	if (gpa >= DATA_GPA && gpa + len <= DATA_GPA + DATA_LEN) {
		*va = self->e.data + (gpa - DATA_GPA);
		return true;
	}
	return false;
}

/*
 * Random flags for a pointer: mostly P|RW|US (so walks go on), sometimes
 * without RW or US, with XD, PS (a huge leaf: usually misaligned, so
 * reserved bits), A/D and the ignored bits.
 */
static __u64 hostile_flags(__u64 r)
{
	__u64 flags = NESTIOMMU_S1_PTE_P | (r & 0x0ff0000000000760ULL);

	if ((r >> 3) & 7)
		flags |= NESTIOMMU_S1_PTE_RW | NESTIOMMU_S1_PTE_US;
	else
		flags |= r & (NESTIOMMU_S1_PTE_RW | NESTIOMMU_S1_PTE_US);
	if (!((r >> 6) & 15))
		flags |= NESTIOMMU_S1_PTE_XD;
	if (!((r >> 10) & 15))
		flags |= NESTIOMMU_S1_PTE_PS;
	return flags;
}

/*
 * A random PTE, given the garbage tables' GPAs: mostly (10/16) a pointer to
 * one of them, else a pointer to a data page, absent, a random GPA, or noise
 * (random bits: present ones mostly have bits 51:48 set).
 */
static __u64 hostile_pte_of(const __u64 *table_gpa, __u64 *rng)
{
	__u64 r = prng_next(rng), x = prng_next(rng);

	switch (r >> 60) {
	case 0:
		return 0;
	case 1 ... 10:
		return table_gpa[(x >> 8) % GARBAGE_TABLES] | hostile_flags(r);
	case 11 ... 12:
		return (DATA_GPA + ((x >> 12) % (DATA_LEN / SZ_4K)) * SZ_4K) |
		       (hostile_flags(r) & ~NESTIOMMU_S1_PTE_PS);
	case 13:
		return (x & 0x0000fffffffff000ULL) | hostile_flags(r);
	default:
		return x;
	}
}

static __u64 hostile_pte(FIXTURE_DATA(hostile) *self)
{
	return hostile_pte_of(self->table_gpa, &self->rng);
}

/* Fill the garbage tables; a nested HWPT rooted in one of them. */
static void hostile_build(FIXTURE_DATA(hostile) *self, const FIXTURE_VARIANT(hostile) *variant)
{
	struct nestiommu_hwpt_s1_x86 desc = { .levels = variant->levels,
					      .flags = variant->s1_flags };
	int t, i;

	for (t = 0; t < GARBAGE_TABLES; t++) {
		self->tables[t] = nest_s1_alloc_table(&self->e.s1, &self->table_gpa[t]);
		ASSERT_NE(NULL, (void *)self->tables[t]);
	}
	for (t = 0; t < GARBAGE_TABLES; t++)
		for (i = 0; i < NEST_S1_ENTRIES; i++)
			nest_s1_pte_write(&self->tables[t][i], hostile_pte(self));
	desc.root_gpa = self->table_gpa[0];
	do_hwpt_alloc_nested(self->e.fd, self->e.parent_id, &desc, &self->hwpt);
	do_device_attach(self->e.fd, self->e.dev_id, NESTIOMMU_ATTACH_PASID, HOSTILE_PASID,
			 self->hwpt);
}

/* A random IOVA: mostly canonical, biased to the low indexes of each level. */
static __u64 hostile_iova(FIXTURE_DATA(hostile) *self, unsigned int levels)
{
	__u64 r = prng_next(&self->rng), iova;
	unsigned int bits = levels == 5 ? 57 : 48, l;

	if ((r & 7) == 0)
		return prng_next(&self->rng);		/* anything at all */
	iova = 0;
	for (l = levels; l >= 1; l--) {
		__u64 idx = prng_next(&self->rng);

		idx = (idx & 1) ? idx % 8 : idx % 512;
		iova |= idx << nest_s1_shift(l);
	}
	iova |= prng_next(&self->rng) & 0xfff;
	return (__u64)((__s64)(iova << (64 - bits)) >> (64 - bits));
}

static const __u32 hostile_access[] = {
	NESTIOMMU_ACCESS_READ,
	NESTIOMMU_ACCESS_WRITE,
	NESTIOMMU_ACCESS_READ | NESTIOMMU_ACCESS_EXEC,
	NESTIOMMU_ACCESS_READ | NESTIOMMU_ACCESS_PRIV,
	NESTIOMMU_ACCESS_WRITE | NESTIOMMU_ACCESS_PRIV,
};

/* What the random operations met: translations and faults by stage/reason. */
static struct {
	unsigned long ok;
	unsigned long faults[2][NESTIOMMU_FAULT_REASON_NR];
} tally;

static void hostile_check_fault(const struct nestiommu_fault_info *f, __u64 iova)
{
	if (f->reason < NESTIOMMU_FAULT_REASON_PASID_FETCH ||
	    f->reason >= NESTIOMMU_FAULT_REASON_NR || (f->stage != 1 && f->stage != 2))
		log_fault("impossible fault", f);
	ASSERT_LE(NESTIOMMU_FAULT_REASON_PASID_FETCH, f->reason);
	ASSERT_GT(NESTIOMMU_FAULT_REASON_NR, f->reason);
	ASSERT_TRUE(f->stage == 1 || f->stage == 2);
	ASSERT_EQ(0, f->__reserved);
	/* The fault is at or after the request's start, in the same request. */
	ASSERT_LE(iova, f->addr);
	tally.faults[f->stage - 1][f->reason]++;
}

static void tally_log(void)
{
	char line[512];
	int n, st, r;

	n = snprintf(line, sizeof(line), "%lu translations;", tally.ok);
	for (st = 0; st < 2; st++)
		for (r = 0; r < NESTIOMMU_FAULT_REASON_NR; r++)
			if (tally.faults[st][r])
				n += snprintf(line + n, sizeof(line) - n, " s%d %s %lu;", st + 1,
					      fault_reason_name(r), tally.faults[st][r]);
	TH_LOG("%s", line);
}

/* One random DMA or TRANSLATE on the garbage HWPT; check the answer. */
static void hostile_op(FIXTURE_DATA(hostile) *self, unsigned int levels, char *buf)
{
	__u64 r = prng_next(&self->rng), iova = hostile_iova(self, levels);
	__u32 access = hostile_access[(r >> 8) % 5];
	struct nestiommu_walk_step steps[32];
	struct nestiommu_translate xl;
	struct nestiommu_dma dma;
	char *va;

	TH_CONTEXT("iova 0x%llx access 0x%x op %llu", (unsigned long long)iova, access,
		   (unsigned long long)(r & 3));
	if (r & 1) {
		__u64 len = 1 + (r >> 16) % OP_BUF;

		if (iova + len < iova)
			len = 1;
		if (access & NESTIOMMU_ACCESS_WRITE) {
			/* What lands in a table page is garbage PTEs too, not zeros. */
			__u64 *w = (__u64 *)buf;
			size_t k;

			for (k = 0; k < (len + 7) / 8; k++)
				w[k] = hostile_pte(self);
		}
		ASSERT_OK(_do_dma(self->e.fd, self->e.dev_id, NESTIOMMU_DMA_PASID, HOSTILE_PASID,
				  access, iova, len, buf, &dma));
		ASSERT_LE(dma.out_bytes_done, len);
		if (dma.out_flags & NESTIOMMU_OUT_FAULT) {
			ASSERT_EQ(NESTIOMMU_OUT_FAULT, dma.out_flags);
			ASSERT_GT(len, dma.out_bytes_done);
			hostile_check_fault(&dma.out_fault, iova);
			ASSERT_EQ(iova + dma.out_bytes_done, dma.out_fault.addr);
		} else {
			ASSERT_EQ(0, dma.out_flags);
			ASSERT_EQ(len, dma.out_bytes_done);
			tally.ok++;
		}
		return;
	}
	ASSERT_OK(_do_translate(self->e.fd, self->e.dev_id,
				NESTIOMMU_DMA_PASID | ((r & 2) ? NESTIOMMU_TRANSLATE_NO_CACHE : 0),
				HOSTILE_PASID, access, iova, steps, 32, &xl));
	ASSERT_GE(29, xl.steps_num);
	if (xl.out_flags & NESTIOMMU_OUT_FAULT) {
		hostile_check_fault(&xl.out_fault, iova);
		ASSERT_EQ(iova, xl.out_fault.addr);
		return;
	}
	ASSERT_EQ(0, xl.out_flags);
	ASSERT_TRUE(xl.out_page_size == SZ_4K || xl.out_page_size == SZ_2M ||
		    xl.out_page_size == SZ_1G);
	ASSERT_EQ(self->e.ioas_id, xl.out_ioas_id);
	if (!hostile_gpa_va(self, xl.out_gpa, 1, &va))
		TH_LOG("translation to 0x%llx: outside the IOAS mappings",
		       (unsigned long long)xl.out_gpa);
	ASSERT_TRUE(hostile_gpa_va(self, xl.out_gpa, 1, &va));
	ASSERT_EQ(NEST_PTR(va), xl.out_user_va);
	ASSERT_EQ(iova & 0xfff, xl.out_gpa & 0xfff);
	tally.ok++;
}

TEST_F_TIMEOUT(hostile, random_garbage_tables_only_fault_or_translate, 600)
{
	static char buf[OP_BUF];
	int i;

	hostile_build(self, variant);
	for (i = 0; i < RANDOM_OPS; i++) {
		hostile_op(self, variant->levels, buf);
		/* Now and then rewrite a word, sometimes invalidating. */
		if (!(i % 64)) {
			int t = prng_next(&self->rng) % GARBAGE_TABLES;

			nest_s1_pte_write(&self->tables[t][prng_next(&self->rng) % 512],
					  hostile_pte(self));
			if (i % 128)
				inv_all(self->e.fd, self->hwpt);
		}
	}
	TH_CONTEXT("%s", "");
	tally_log();
	/* The garbage reached memory sometimes, and faulted at both stages. */
	ASSERT_LT(0, tally.ok);
	ASSERT_LT(0, tally.faults[0][NESTIOMMU_FAULT_REASON_PTE_FETCH]);
	ASSERT_LT(0, tally.faults[1][NESTIOMMU_FAULT_REASON_PTE_FETCH]);
	ASSERT_MEM_BYTE(self->canary, 0x5a, SZ_1M);
}

/*
 * A table entry pointing at its own table, at each level: the walk goes
 * round in it. A root entry pointing at the root maps, for the IOVA whose
 * indexes all select it, the root page itself (the recursive mapping).
 */
TEST_F(hostile, self_referencing_tables)
{
	const unsigned int idx = 200;
	static char buf[OP_BUF];
	struct nestiommu_walk_step steps[32];
	struct nestiommu_translate xl;
	__u64 root_gpa = self->e.s1.root_gpa, iova = 0;
	__u64 *root = nest_s1_gpa_to_va(&self->e.s1, root_gpa);
	unsigned int level;
	int i;

	for (level = variant->levels; level >= 1; level--)
		iova |= (__u64)idx << nest_s1_shift(level);
	nest_s1_pte_write(&root[idx], root_gpa | NESTIOMMU_S1_PTE_P | S1_RWU);
	env_translate(&self->e, NESTIOMMU_TRANSLATE_NO_CACHE, ACC_R, iova + 0x18, steps, 32, &xl);
	ASSERT_EQ(root_gpa + 0x18, xl.out_gpa);
	ASSERT_EQ(NEST_PTR(self->e.pool + 0x18), xl.out_user_va);
	ASSERT_EQ(SZ_4K, xl.out_page_size);
	env_dma_ok(&self->e, ACC_R, iova, SZ_4K, buf);
	ASSERT_MEM_EQ(buf, root, SZ_4K);

	/*
	 * At each lower level: map a page, then point that level's entry at
	 * its own table, and walk around below it (reading only: a write could
	 * land in a table and break the next level's setup).
	 */
	for (level = variant->levels - 1; level >= 1; level--) {
		__u64 base = ENV_IOVA - (__u64)level * (1ULL << 39), table;
		__u64 *ptep;

		TH_CONTEXT("level %u", level);
		env_map(&self->e, base, DATA_GPA, SZ_4K, S1_RWU);
		ptep = env_pte(&self->e, base, level);
		ASSERT_OK(nest_s1_table_gpa(&self->e.s1, base, level, &table));
		nest_s1_pte_write(ptep, table | NESTIOMMU_S1_PTE_P | S1_RWU);
		inv_all(self->e.fd, self->e.nested_id);
		for (i = 0; i < 64; i++) {
			__u64 r = prng_next(&self->rng);
			__u64 iova2 = base + (r & ((1ULL << nest_s1_shift(level + 1)) - 1));
			struct nestiommu_dma dma;
			char *va;

			ASSERT_OK(env_dma(&self->e, ACC_R, iova2, 64, buf, &dma));
			if (dma.out_flags)
				hostile_check_fault(&dma.out_fault, iova2);
			ASSERT_OK(_do_translate(self->e.fd, self->e.dev_id, self->e.dma_flags,
						self->e.pasid, ACC_R, iova2, steps, 32, &xl));
			if (xl.out_flags & NESTIOMMU_OUT_FAULT) {
				hostile_check_fault(&xl.out_fault, iova2);
				continue;
			}
			ASSERT_TRUE(hostile_gpa_va(self, xl.out_gpa, 1, &va));
			ASSERT_EQ(NEST_PTR(va), xl.out_user_va);
		}
	}
	TH_CONTEXT("%s", "");
	ASSERT_MEM_BYTE(self->canary, 0x5a, SZ_1M);
}

/* ==== tables rewritten while the device walks them ==== */

struct mutator {
	FIXTURE_DATA(hostile) *self;
	atomic_bool stop;
	__u64 rng;
	unsigned long writes;
	__u64 *path[5];		/* PTEs of the valid mapping, top down */
	int npath;
};

static void *mutator_thread(void *arg)
{
	struct mutator *m = arg;
	int t, i;

	while (!atomic_load(&m->stop)) {
		__u64 r = prng_next(&m->rng);

		if (m->npath && (r & 1)) {
			/* Clear A/D under the walker: its cmpxchg must retry. */
			__u64 *p = m->path[(r >> 8) % m->npath];

			nest_s1_pte_write(p, nest_s1_pte_read(p) &
					     ~(NESTIOMMU_S1_PTE_A | NESTIOMMU_S1_PTE_D));
		} else {
			t = (r >> 8) % GARBAGE_TABLES;
			i = (r >> 16) % NEST_S1_ENTRIES;
			nest_s1_pte_write(&m->self->tables[t][i],
					  hostile_pte_of(m->self->table_gpa, &m->rng));
		}
		m->writes++;
	}
	return NULL;
}

TEST_F_TIMEOUT(hostile, tables_rewritten_during_walks, 600)
{
	static struct mutator m;
	static char buf[OP_BUF];
	__u64 iova = ENV_IOVA + 5 * SZ_4K;
	unsigned int level;
	pthread_t th;
	int i, ok = 0;

	hostile_build(self, variant);
	/* A valid mapping on the env's PASID, whose A/D bits the thread clears. */
	env_map(&self->e, iova, DATA_GPA + 5 * SZ_4K, SZ_4K, S1_RWU);
	memset(&m, 0, sizeof(m));
	m.self = self;
	m.rng = 12345;
	for (level = variant->levels; level >= 1; level--)
		m.path[m.npath++] = env_pte(&self->e, iova, level);
	ASSERT_EQ(0, pthread_create(&th, NULL, mutator_thread, &m));
	for (i = 0; i < RANDOM_OPS / 2; i++) {
		struct nestiommu_dma dma;

		hostile_op(self, variant->levels, buf);
		/* The valid mapping: walked afresh each time. */
		inv_all(self->e.fd, self->e.nested_id);
		memset(buf, i, 16);
		ASSERT_OK(env_dma(&self->e, ACC_W, iova, 16, buf, &dma));
		if (dma.out_flags) {
			/* Only an A/D update that kept losing may fail it. */
			check_fault_exp(&dma.out_fault, (struct fault_exp){
				.addr = iova, .reason = NESTIOMMU_FAULT_REASON_WALK_EABT,
				.stage = 1, .level = ANY, .flags = ANY, .fetch_addr = ANY });
			ASSERT_TRUE(dma.out_fault.flags & NESTIOMMU_FAULT_F_AD_UPDATE);
			continue;
		}
		ok++;
		ASSERT_MEM_BYTE(env_data(&self->e, DATA_GPA + 5 * SZ_4K), i & 0xff, 16);
	}
	atomic_store(&m.stop, true);
	ASSERT_EQ(0, pthread_join(th, NULL));
	TH_CONTEXT("%s", "");
	TH_LOG("%d of %d writes through the raced mapping succeeded; %lu table writes",
	       ok, RANDOM_OPS / 2, m.writes);
	tally_log();
	ASSERT_LT(0, ok);
	ASSERT_MEM_BYTE(self->canary, 0x5a, SZ_1M);
}
