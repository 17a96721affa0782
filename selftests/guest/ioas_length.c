// SPDX-License-Identifier: GPL-2.0
/*
 * Length tests: every ioctl accepts any struct size from its minimum (the end
 * of its last mandatory field) up, as long as the bytes past the kernel's
 * struct are zero:
 *   size below the minimum   EINVAL, and nothing happens
 *   non-zero tail            E2BIG, and nothing happens
 *   zero tail                behaves exactly like the exact size
 * One variant per ioctl. Its prepare() fills a valid struct, check_done()
 * verifies the ioctl's effect and undoes it, check_not_done() verifies that a
 * rejected call had no effect (NULL where none would be observable).
 */
#include <stddef.h>

#include "nest_helpers.h"

#define offsetofend(type, member) \
	(offsetof(type, member) + sizeof(((type *)0)->member))

FIXTURE(length) {
	int fd;
	__u32 ioas_id;
	char *buf;
	struct nestiommu_iova_range ranges[4];
	struct nestiommu_ioas_stats stats;
	union {
		struct nestiommu_destroy destroy;
		struct nestiommu_ioas_alloc ioas_alloc;
		struct nestiommu_ioas_map ioas_map;
		struct nestiommu_ioas_unmap ioas_unmap;
		struct nestiommu_ioas_iova_ranges ioas_iova_ranges;
		struct nestiommu_get_stats get_stats;
	} arg;
};

FIXTURE_VARIANT(length) {
	unsigned long cmd;
	size_t struct_size;
	size_t min_size;
	void (*prepare)(FIXTURE_DATA(length) *self);
	void (*check_done)(FIXTURE_DATA(length) *self);
	void (*check_not_done)(FIXTURE_DATA(length) *self);
};

FIXTURE_SETUP(length)
{
	self->fd = do_open();
	do_ioas_alloc(self->fd, &self->ioas_id);
	self->buf = alloc_buffer(SZ_64K, SZ_64K);
}

FIXTURE_TEARDOWN(length)
{
	munmap(self->buf, SZ_64K);
	close(self->fd);
}

/* ---- DESTROY ---- */

static void destroy_prepare(FIXTURE_DATA(length) *self)
{
	self->arg.destroy = (struct nestiommu_destroy){ .size = sizeof(self->arg.destroy) };
	do_ioas_alloc(self->fd, &self->arg.destroy.id);
}

static void destroy_done(FIXTURE_DATA(length) *self)
{
	do_get_stats_err(ENOENT, self->fd, self->arg.destroy.id);
}

static void destroy_not_done(FIXTURE_DATA(length) *self)
{
	struct nestiommu_ioas_stats st;

	do_ioas_stats(self->fd, self->arg.destroy.id, &st);
	do_destroy(self->fd, self->arg.destroy.id);
}

/* ---- IOAS_ALLOC ---- */

static void ioas_alloc_prepare(FIXTURE_DATA(length) *self)
{
	self->arg.ioas_alloc = (struct nestiommu_ioas_alloc){
		.size = sizeof(self->arg.ioas_alloc),
		.out_ioas_id = self->ioas_id,
	};
}

static void ioas_alloc_done(FIXTURE_DATA(length) *self)
{
	__u32 id = self->arg.ioas_alloc.out_ioas_id;

	ASSERT_NE(self->ioas_id, id);
	check_ioas_mapped(self->fd, id, 0, 0, 0);
	do_destroy(self->fd, id);
}

/* ---- IOAS_MAP ---- */

static void ioas_map_prepare(FIXTURE_DATA(length) *self)
{
	self->arg.ioas_map = (struct nestiommu_ioas_map){
		.size = sizeof(self->arg.ioas_map),
		.flags = MAP_FIXED_RW,
		.ioas_id = self->ioas_id,
		.user_va = NEST_PTR(self->buf),
		.length = SZ_64K,
		.iova = SZ_1M,
	};
}

static void ioas_map_done(FIXTURE_DATA(length) *self)
{
	ASSERT_EQ(SZ_1M, self->arg.ioas_map.iova);
	check_ioas_mapped(self->fd, self->ioas_id, 1, SZ_64K, SZ_64K / page_size());
	do_ioas_unmap(self->fd, self->ioas_id, SZ_1M, SZ_64K, SZ_64K);
}

static void ioas_map_not_done(FIXTURE_DATA(length) *self)
{
	check_ioas_mapped(self->fd, self->ioas_id, 0, 0, 0);
}

/* ---- IOAS_UNMAP ---- */

static void ioas_unmap_prepare(FIXTURE_DATA(length) *self)
{
	do_ioas_map_fixed(self->fd, self->ioas_id, self->buf, SZ_64K, SZ_1M);
	self->arg.ioas_unmap = (struct nestiommu_ioas_unmap){
		.size = sizeof(self->arg.ioas_unmap),
		.ioas_id = self->ioas_id,
		.iova = SZ_1M,
		.length = SZ_64K,
	};
}

static void ioas_unmap_done(FIXTURE_DATA(length) *self)
{
	ASSERT_EQ(SZ_64K, self->arg.ioas_unmap.length);
	check_ioas_mapped(self->fd, self->ioas_id, 0, 0, 0);
}

static void ioas_unmap_not_done(FIXTURE_DATA(length) *self)
{
	check_ioas_mapped(self->fd, self->ioas_id, 1, SZ_64K, SZ_64K / page_size());
	do_ioas_unmap(self->fd, self->ioas_id, SZ_1M, SZ_64K, SZ_64K);
}

/* ---- IOAS_IOVA_RANGES ---- */

static void ioas_iova_ranges_prepare(FIXTURE_DATA(length) *self)
{
	memset(self->ranges, 0, sizeof(self->ranges));
	self->arg.ioas_iova_ranges = (struct nestiommu_ioas_iova_ranges){
		.size = sizeof(self->arg.ioas_iova_ranges),
		.ioas_id = self->ioas_id,
		.num_iovas = 4,
		.allowed_iovas = NEST_PTR(self->ranges),
	};
}

static void ioas_iova_ranges_done(FIXTURE_DATA(length) *self)
{
	ASSERT_EQ(2, self->arg.ioas_iova_ranges.num_iovas);
	ASSERT_EQ(page_size(), self->arg.ioas_iova_ranges.out_iova_alignment);
	ASSERT_EQ(0, self->ranges[0].start);
	ASSERT_EQ(MSI_START - 1, self->ranges[0].last);
	ASSERT_EQ(MSI_LAST + 1, self->ranges[1].start);
	ASSERT_EQ(IOVA_LIMIT - 1, self->ranges[1].last);
}

/* ---- GET_STATS ---- */

static void get_stats_prepare(FIXTURE_DATA(length) *self)
{
	memset(&self->stats, 0xa5, sizeof(self->stats));
	self->arg.get_stats = (struct nestiommu_get_stats){
		.size = sizeof(self->arg.get_stats),
		.id = self->ioas_id,
		.stats_len = sizeof(self->stats),
		.stats_uptr = NEST_PTR(&self->stats),
	};
}

static void get_stats_done(FIXTURE_DATA(length) *self)
{
	ASSERT_EQ(NESTIOMMU_OBJ_IOAS, self->arg.get_stats.out_type);
	ASSERT_EQ(sizeof(self->stats), self->arg.get_stats.stats_len);
	ASSERT_EQ(0, self->stats.mappings);
	ASSERT_EQ(0, self->stats.unmapped_areas);
}

#define LENGTH_VARIANT(name, _struct, last, not_done)			\
	FIXTURE_VARIANT_ADD(length, name) {				\
		.cmd = NESTIOMMU_##_struct,				\
		.struct_size = sizeof(struct nestiommu_##name),		\
		.min_size = offsetofend(struct nestiommu_##name, last),	\
		.prepare = name##_prepare,				\
		.check_done = name##_done,				\
		.check_not_done = not_done,				\
	}

LENGTH_VARIANT(destroy, DESTROY, id, destroy_not_done);
LENGTH_VARIANT(ioas_alloc, IOAS_ALLOC, out_ioas_id, NULL);
LENGTH_VARIANT(ioas_map, IOAS_MAP, iova, ioas_map_not_done);
LENGTH_VARIANT(ioas_unmap, IOAS_UNMAP, length, ioas_unmap_not_done);
LENGTH_VARIANT(ioas_iova_ranges, IOAS_IOVA_RANGES, out_iova_alignment, NULL);
LENGTH_VARIANT(get_stats, GET_STATS, stats_uptr, NULL);

#define LENGTH_FD(self) ((self)->fd)
#include "length_cases.h"
