/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A complete nested stack for the HWPT/device/DMA selftests:
 *
 *   IOAS  ──  POOL_GPA:  the stage-1 table pool (struct nest_s1)
 *        └──  DATA_GPA:  a data buffer
 *   paging HWPT (NEST_PARENT)  ─  nested HWPT (root in the pool)
 *   device (RID ENV_RID, ENV_PASID_BITS) attached to the nested HWPT on
 *   PASID ENV_PASID (or on its RID)
 *
 * Buffers are plain 4 KiB pages (no THP), so stage 2 uses 4 KiB leaves and
 * the GPA layout fixes which stage-2 level a fault is met at:
 *   [0, 1G)   L3 entry 0: a table; POOL_GPA in its own 2 MiB range
 *   [1G, 2G)  L3 entry 1: a table; DATA_GPA at its start
 *   [2G, 512G) nothing (L3 entries 2..511 empty), 512G and up: nothing
 *	(L4 entries 1..511 empty).
 * Stage-1 mappings use IOVAs that differ from every GPA (ENV_IOVA, ENV_IOVA5)
 * so an IOVA taken for a GPA never translates by accident.
 */
#ifndef NEST_ENV_H
#define NEST_ENV_H

#include "nest_helpers.h"

#define POOL_GPA	0x10000000ULL		/* 256 MiB */
#define POOL_LEN	SZ_1M			/* 256 tables */
#define DATA_GPA	0x40000000ULL		/* 1 GiB */
#define DATA_LEN	SZ_1M
/* A GPA no mapping reaches, and the stage-2 level a walk of it stops at. */
#define GPA_HOLE_L4	0x8000000000ULL		/* 512 GiB */
#define GPA_HOLE_L3	0x80000000ULL		/* 2 GiB */
#define GPA_HOLE_L2	(DATA_GPA + 0x10000000ULL)
#define GPA_HOLE_L1	(DATA_GPA + DATA_LEN)	/* same 2 MiB as DATA_GPA */

#define ENV_IOVA	0x7f1240000000ULL	/* 1 GiB aligned, below 2^47 */
#define ENV_IOVA5	0x00f0124000000000ULL	/* 5 levels only: above 2^47 */
#define ENV_RID		0x0100
#define ENV_PASID_BITS	8
#define ENV_PASID	5

#define S1_RWU		(NESTIOMMU_S1_PTE_RW | NESTIOMMU_S1_PTE_US)
#define ACC_R		NESTIOMMU_ACCESS_READ
#define ACC_W		NESTIOMMU_ACCESS_WRITE

/* What env_setup() builds; zero means the default. */
struct nest_env_opts {
	unsigned int levels;	/* 4 (default) or 5 */
	__u32 s1_flags;		/* enum nestiommu_s1_flags of the descriptor */
	__u32 dev_flags;	/* enum nestiommu_device_flags */
	__u32 pool_prot;	/* IOAS prot of the pool; default READ|WRITE */
	__u32 parent_flags;	/* besides NEST_PARENT */
	bool rid;		/* attach to the RID instead of ENV_PASID */
	bool no_nested;		/* no nested HWPT (nor attach) */
	bool no_attach;		/* build everything, attach nothing */
	bool huge_off;		/* OPTION_HUGE_PAGES 0 on the IOAS first */
};

struct nest_env {
	int fd;
	__u32 ioas_id;
	__u32 parent_id;
	__u32 nested_id;
	__u32 dev_id;
	__u32 pasid;		/* ENV_PASID */
	__u32 attach_flags;	/* NESTIOMMU_ATTACH_PASID, or 0 for the RID */
	__u32 dma_flags;	/* NESTIOMMU_DMA_PASID, or 0 for the RID */
	char *pool;
	char *data;
	struct nest_s1 s1;
	struct nestiommu_hwpt_s1_x86 desc;
};

static inline void env_setup(struct nest_env *e, const struct nest_env_opts *o)
{
	static const struct nest_env_opts defaults;
	__u32 pool_prot;
	__u64 iova;

	if (!o)
		o = &defaults;
	memset(e, 0, sizeof(*e));
	e->fd = do_open();
	do_ioas_alloc(e->fd, &e->ioas_id);
	if (o->huge_off)
		do_option_set(e->fd, NESTIOMMU_OPTION_HUGE_PAGES, e->ioas_id, 0);
	e->pool = alloc_buffer_4k(POOL_LEN, SZ_2M);
	e->data = alloc_buffer_4k(DATA_LEN, SZ_2M);
	pool_prot = o->pool_prot ? o->pool_prot : MAP_RW;
	iova = POOL_GPA;
	do_ioas_map(e->fd, e->ioas_id, pool_prot | NESTIOMMU_IOAS_MAP_FIXED_IOVA,
		    NEST_PTR(e->pool), POOL_LEN, &iova);
	do_ioas_map_fixed(e->fd, e->ioas_id, e->data, DATA_LEN, DATA_GPA);
	do_hwpt_alloc_paging(e->fd, e->ioas_id,
			     NESTIOMMU_HWPT_ALLOC_NEST_PARENT | o->parent_flags,
			     &e->parent_id);
	ASSERT_OK(nest_s1_init(&e->s1, e->pool, POOL_GPA, POOL_LEN,
			       o->levels ? o->levels : 4));
	nest_s1_desc(&e->s1, o->s1_flags, &e->desc);
	do_device_create(e->fd, o->dev_flags, ENV_RID, ENV_PASID_BITS, &e->dev_id);
	e->pasid = o->rid ? 0 : ENV_PASID;
	e->attach_flags = o->rid ? 0 : NESTIOMMU_ATTACH_PASID;
	e->dma_flags = o->rid ? 0 : NESTIOMMU_DMA_PASID;
	if (o->no_nested)
		return;
	do_hwpt_alloc_nested(e->fd, e->parent_id, &e->desc, &e->nested_id);
	if (!o->no_attach)
		do_device_attach(e->fd, e->dev_id, e->attach_flags, e->pasid,
				 e->nested_id);
}

/*
 * Another nested HWPT over the env's stage-1 tree and parent, reporting
 * its faults to the fault queue @fault_id (0: none).
 */
static inline __u32 env_alloc_nested(struct nest_env *e, __u32 fault_id)
{
	struct nestiommu_hwpt_alloc cmd = {
		.flags = fault_id ? NESTIOMMU_HWPT_ALLOC_FAULT_ID_VALID : 0,
		.pt_id = e->parent_id,
		.data_type = NESTIOMMU_HWPT_DATA_S1_X86,
		.data_len = sizeof(e->desc),
		.fault_id = fault_id,
		.data_uptr = NEST_PTR(&e->desc),
	};

	ASSERT_OK(nest_hwpt_alloc(e->fd, &cmd));
	return cmd.out_hwpt_id;
}

static inline void env_teardown(struct nest_env *e)
{
	close(e->fd);
	munmap(e->pool, POOL_LEN);
	munmap(e->data, DATA_LEN);
}

/* The user VA backing @gpa of the data buffer. */
static inline char *env_data(struct nest_env *e, __u64 gpa)
{
	ASSERT_TRUE(gpa >= DATA_GPA && gpa < DATA_GPA + DATA_LEN);
	return e->data + (gpa - DATA_GPA);
}

/* Map a stage-1 leaf; it must succeed. */
#define env_map(e, iova, gpa, size, flags) \
	ASSERT_OK(nest_s1_map(&(e)->s1, iova, gpa, size, flags))

/* The PTE of @iova at @level; the tables on the way must exist. */
static inline __u64 *env_pte(struct nest_env *e, __u64 iova, unsigned int level)
{
	__u64 *ptep = nest_s1_pte(&e->s1, iova, level);

	ASSERT_NE(NULL, (void *)ptep);
	return ptep;
}

/* GPA of the PTE of @iova at @level. */
static inline __u64 env_pte_gpa(struct nest_env *e, __u64 iova, unsigned int level)
{
	__u64 gpa = ~0ULL;

	ASSERT_OK(nest_s1_pte_gpa(&e->s1, iova, level, &gpa));
	return gpa;
}

/* A DMA by the env's device on its attachment; return the ioctl's rc. */
static inline int env_dma(struct nest_env *e, __u32 access, __u64 iova,
			  __u64 len, void *buf, struct nestiommu_dma *dma)
{
	return _do_dma(e->fd, e->dev_id, e->dma_flags, e->pasid, access, iova,
		       len, buf, dma);
}

#define env_dma_ok(e, access, iova, len, buf) \
	do_dma((e)->fd, (e)->dev_id, (e)->dma_flags, (e)->pasid, access, iova, len, buf)
#define env_dma_fault(e, access, iova, len, buf, dma_p) \
	do_dma_fault((e)->fd, (e)->dev_id, (e)->dma_flags, (e)->pasid, access, iova, len, buf, dma_p)

/* TRANSLATE on the env's attachment. */
#define env_translate(e, flags, access, iova, steps, nsteps, xl_p) \
	do_translate((e)->fd, (e)->dev_id, (e)->dma_flags | (flags), (e)->pasid, \
		     access, iova, steps, nsteps, xl_p)
#define env_translate_fault(e, flags, access, iova, steps, nsteps, xl_p) \
	do_translate_fault((e)->fd, (e)->dev_id, (e)->dma_flags | (flags), (e)->pasid, \
			   access, iova, steps, nsteps, xl_p)

/* DMA-read the byte at @iova. */
static inline unsigned char env_read_byte(struct nest_env *e, __u64 iova)
{
	unsigned char b = 0;

	env_dma_ok(e, ACC_R, iova, 1, &b);
	return b;
}

/* One invalidation entry; helpers fill the fields that matter. */
static inline struct nestiommu_inv_entry inv_entry(__u32 cache, __u32 granu,
						   __u32 flags, __u32 pasid,
						   __u64 addr, __u64 granule,
						   __u64 nb)
{
	return (struct nestiommu_inv_entry){
		.cache = cache,
		.granularity = granu,
		.flags = flags,
		.pasid = pasid,
		.addr = addr,
		.granule_size = granule,
		.nb_granules = nb,
	};
}

/*
 * Invalidate everything of HWPT @hwpt in the IOTLB and in device TLBs (the
 * device TLB has no DOMAIN granularity: an ADDR range over [0, 127 * 2^57)
 * stands for it).
 */
static inline void inv_all(int fd, __u32 hwpt)
{
	struct nestiommu_inv_entry inv[2] = {
		inv_entry(NESTIOMMU_INV_CACHE_IOTLB, NESTIOMMU_INV_GRANU_DOMAIN,
			  0, 0, 0, 0, 0),
		inv_entry(NESTIOMMU_INV_CACHE_DEV_IOTLB, NESTIOMMU_INV_GRANU_ADDR,
			  0, 0, 0, 1ULL << 57, 127),
	};

	do_hwpt_invalidate(fd, hwpt, inv, 2);
}

#endif /* NEST_ENV_H */
