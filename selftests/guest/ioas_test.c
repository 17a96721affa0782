// SPDX-License-Identifier: GPL-2.0
/*
 * Selftests of the nestiommu IOAS uAPI: IOAS_ALLOC, IOAS_MAP, IOAS_UNMAP,
 * IOAS_IOVA_RANGES, DESTROY and GET_STATS, as include/uapi/linux/nestiommu.h
 * documents them, plus pinning and RLIMIT_MEMLOCK accounting and a
 * concurrency smoke test. Runs as root in the test VM with the module loaded.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <linux/capability.h>

#include "nest_helpers.h"

/* The test buffer: 2 MiB aligned, so kernel-chosen IOVAs are predictable. */
#define BUF_LEN (4 * SZ_1M)
#define BUF_ALIGN SZ_2M

FIXTURE(ioas) {
	int fd;
	__u32 ioas_id;
	size_t page;
	char *buf;
};

FIXTURE_SETUP(ioas)
{
	self->page = page_size();
	self->fd = do_open();
	do_ioas_alloc(self->fd, &self->ioas_id);
	self->buf = alloc_buffer(BUF_LEN, BUF_ALIGN);
}

FIXTURE_TEARDOWN(ioas)
{
	munmap(self->buf, BUF_LEN);
	close(self->fd);
}

/* Every ioctl that takes an object ID fails with ENOENT for @id. */
static void check_id_enoent(int fd, __u32 id, void *buf)
{
	__u64 iova = SZ_1M;
	__u32 num = 0;

	do_ioas_map_err(ENOENT, fd, id, MAP_FIXED_RW, NEST_PTR(buf), SZ_4K, &iova);
	/* Unmapping everything succeeds on any IOAS, so ENOENT means no IOAS. */
	do_ioas_unmap_err(ENOENT, fd, id, 0, UINT64_MAX);
	do_ioas_iova_ranges_err(ENOENT, fd, id, NULL, &num, NULL);
	do_get_stats_err(ENOENT, fd, id);
	do_destroy_err(ENOENT, fd, id);
}

/* ==== happy paths ==== */

TEST_F(ioas, alloc_new_ioas_is_empty)
{
	struct nestiommu_ioas_stats st;

	memset(&st, 0xff, sizeof(st));
	do_ioas_stats(self->fd, self->ioas_id, &st);
	ASSERT_EQ(0, st.mappings);
	ASSERT_EQ(0, st.mapped_bytes);
	ASSERT_EQ(0, st.pinned_pages);
	ASSERT_EQ(0, st.map_ops);
	ASSERT_EQ(0, st.unmapped_areas);
}

TEST_F(ioas, alloc_ids_are_distinct)
{
	__u32 ids[4] = { self->ioas_id };
	int i, j;

	for (i = 1; i < 4; i++)
		do_ioas_alloc(self->fd, &ids[i]);
	for (i = 0; i < 4; i++)
		for (j = i + 1; j < 4; j++)
			ASSERT_NE(ids[i], ids[j]);
	for (i = 1; i < 4; i++)
		do_destroy(self->fd, ids[i]);
	check_ioas_mapped(self->fd, self->ioas_id, 0, 0, 0);
}

TEST_F(ioas, alloc_unknown_flags_eopnotsupp)
{
	struct nestiommu_ioas_alloc cmd = { .size = sizeof(cmd) };
	int bit;

	for (bit = 0; bit < 32; bit++) {
		cmd.flags = 1U << bit;
		ASSERT_ERR(EOPNOTSUPP, nest_ioctl(self->fd, NESTIOMMU_IOAS_ALLOC, &cmd));
	}
}

TEST_F(ioas, destroy_twice_enoent)
{
	__u32 id;

	do_ioas_alloc(self->fd, &id);
	do_destroy(self->fd, id);
	do_destroy_err(ENOENT, self->fd, id);
}

TEST_F(ioas, unknown_id_enoent)
{
	check_id_enoent(self->fd, self->ioas_id + 0x10000, self->buf);
	check_id_enoent(self->fd, UINT32_MAX, self->buf);
}

/*
 * A destroyed ID is unknown to every ioctl. TODO: when the next object type
 * (HWPT) exists, also pass an ID of the wrong type to every IOAS ioctl and
 * expect ENOENT ("no object with that ID and type").
 */
TEST_F(ioas, destroyed_id_enoent)
{
	__u32 id;

	do_ioas_alloc(self->fd, &id);
	do_destroy(self->fd, id);
	check_id_enoent(self->fd, id, self->buf);
	/* The fixture's IOAS is untouched. */
	check_ioas_mapped(self->fd, self->ioas_id, 0, 0, 0);
}

TEST_F(ioas, unknown_ioctl_enotty)
{
	const unsigned long cmds[] = {
		_IO(NESTIOMMU_TYPE, NESTIOMMU_CMD_BASE - 1),
		_IO(NESTIOMMU_TYPE, 0xff),
		_IO('x', NESTIOMMU_CMD_IOAS_ALLOC),
		/* A known number with direction and size bits set is unknown. */
		_IOWR(NESTIOMMU_TYPE, NESTIOMMU_CMD_IOAS_ALLOC, struct nestiommu_ioas_alloc),
	};
	struct nestiommu_ioas_alloc cmd = { .size = sizeof(cmd) };
	size_t i;

	for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		TH_CONTEXT("ioctl 0x%lx", cmds[i]);
		ASSERT_ERR(ENOTTY, nest_ioctl(self->fd, cmds[i], &cmd));
	}
}

TEST_F(ioas, map_fixed_iova_and_unmap)
{
	struct nestiommu_ioas_stats st;
	__u64 vmpin = vmpin_bytes();

	do_ioas_map_fixed(self->fd, self->ioas_id, self->buf, SZ_64K, SZ_1M);
	do_ioas_stats(self->fd, self->ioas_id, &st);
	ASSERT_EQ(1, st.mappings);
	ASSERT_EQ(SZ_64K, st.mapped_bytes);
	ASSERT_EQ(SZ_64K / self->page, st.pinned_pages);
	ASSERT_EQ(1, st.map_ops);
	ASSERT_EQ(0, st.unmapped_areas);
	ASSERT_EQ(vmpin + SZ_64K, vmpin_bytes());

	do_ioas_unmap(self->fd, self->ioas_id, SZ_1M, SZ_64K, SZ_64K);
	do_ioas_stats(self->fd, self->ioas_id, &st);
	ASSERT_EQ(0, st.mappings);
	ASSERT_EQ(0, st.mapped_bytes);
	ASSERT_EQ(0, st.pinned_pages);
	ASSERT_EQ(1, st.map_ops);
	ASSERT_EQ(1, st.unmapped_areas);
	ASSERT_EQ(vmpin, vmpin_bytes());
}

/*
 * Without FIXED_IOVA the kernel picks the lowest free range aligned to the
 * largest power of two dividing both user_va and length.
 */
TEST_F(ioas, map_chooses_lowest_aligned_iova)
{
	const struct {
		__u64 buf_offset, length, iova;
	} steps[] = {
		{ 0, SZ_64K, 0 },			/* 64K aligned */
		{ SZ_64K, SZ_4K, SZ_64K },		/* 4K aligned: right after */
		{ 0, SZ_2M, SZ_2M },			/* 2M aligned: skips the hole */
		{ SZ_4K, SZ_4K, SZ_64K + SZ_4K },	/* fills up from the bottom */
	};
	__u64 iova;
	size_t i;

	for (i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		TH_CONTEXT("step %zu", i);
		do_ioas_map(self->fd, self->ioas_id, MAP_RW,
			    NEST_PTR(self->buf + steps[i].buf_offset),
			    steps[i].length, &iova);
		ASSERT_EQ(steps[i].iova, iova);
	}
	/* A hole left by an unmap is reused. */
	do_ioas_unmap(self->fd, self->ioas_id, 0, SZ_64K, SZ_64K);
	do_ioas_map(self->fd, self->ioas_id, MAP_RW, NEST_PTR(self->buf + 2 * SZ_4K),
		    2 * SZ_4K, &iova);
	ASSERT_EQ(0, iova);
	/* 64K aligned: 0 and 64K are taken, 128K is free. */
	do_ioas_map(self->fd, self->ioas_id, MAP_RW, NEST_PTR(self->buf + SZ_64K),
		    SZ_64K, &iova);
	ASSERT_EQ(2 * SZ_64K, iova);
}

/* Is [iova, iova + len) inside one of the IOAS's allowed ranges? */
static bool iova_allowed(const struct nestiommu_iova_range *ranges, __u32 num,
			 __u64 iova, __u64 len)
{
	__u32 i;

	for (i = 0; i < num; i++)
		if (iova >= ranges[i].start && iova + len - 1 <= ranges[i].last)
			return true;
	return false;
}

TEST_F(ioas, map_chosen_iovas_aligned_allowed_disjoint)
{
	struct nestiommu_iova_range ranges[8];
	struct { __u64 iova, len; } maps[64];
	__u64 total = 0, rnd = 1;
	__u32 num = 8;
	int i, j;

	do_ioas_iova_ranges(self->fd, self->ioas_id, ranges, &num, NULL);
	for (i = 0; i < 64; i++) {
		__u64 pages, offset, uva;

		rnd = rnd * 6364136223846793005ULL + 1442695040888963407ULL;
		pages = 1 + (rnd >> 33) % 32;
		offset = ((rnd >> 45) % 256) * self->page;
		uva = NEST_PTR(self->buf + offset);
		maps[i].len = pages * self->page;
		do_ioas_map(self->fd, self->ioas_id, MAP_RW, uva, maps[i].len,
			    &maps[i].iova);
		ASSERT_EQ(0, maps[i].iova % expected_map_alignment(uva, maps[i].len));
		ASSERT_TRUE(iova_allowed(ranges, num, maps[i].iova, maps[i].len));
		for (j = 0; j < i; j++)
			ASSERT_TRUE(maps[i].iova + maps[i].len <= maps[j].iova ||
				    maps[j].iova + maps[j].len <= maps[i].iova);
		total += maps[i].len;
	}
	check_ioas_mapped(self->fd, self->ioas_id, 64, total, total / self->page);
	do_ioas_unmap(self->fd, self->ioas_id, 0, UINT64_MAX, total);
}

FIXTURE(map_prot) {
	int fd;
	__u32 ioas_id;
	char *buf;
};

FIXTURE_VARIANT(map_prot) {
	__u32 flags;
};

FIXTURE_VARIANT_ADD(map_prot, readable) {
	.flags = NESTIOMMU_IOAS_MAP_READABLE,
};

FIXTURE_VARIANT_ADD(map_prot, writeable) {
	.flags = NESTIOMMU_IOAS_MAP_WRITEABLE,
};

FIXTURE_VARIANT_ADD(map_prot, read_write) {
	.flags = NESTIOMMU_IOAS_MAP_READABLE | NESTIOMMU_IOAS_MAP_WRITEABLE,
};

FIXTURE_SETUP(map_prot)
{
	self->fd = do_open();
	do_ioas_alloc(self->fd, &self->ioas_id);
	self->buf = alloc_buffer(SZ_64K, SZ_64K);
}

FIXTURE_TEARDOWN(map_prot)
{
	munmap(self->buf, SZ_64K);
	close(self->fd);
}

TEST_F(map_prot, fixed)
{
	__u64 iova = SZ_2M;

	do_ioas_map(self->fd, self->ioas_id,
		    variant->flags | NESTIOMMU_IOAS_MAP_FIXED_IOVA,
		    NEST_PTR(self->buf), SZ_64K, &iova);
	ASSERT_EQ(SZ_2M, iova);
	check_ioas_mapped(self->fd, self->ioas_id, 1, SZ_64K, SZ_64K / page_size());
	do_ioas_unmap(self->fd, self->ioas_id, SZ_2M, SZ_64K, SZ_64K);
	check_ioas_mapped(self->fd, self->ioas_id, 0, 0, 0);
}

TEST_F(map_prot, kernel_chosen)
{
	__u64 iova = ~0ULL;

	do_ioas_map(self->fd, self->ioas_id, variant->flags, NEST_PTR(self->buf),
		    SZ_64K, &iova);
	/* The lowest free 64K-aligned IOVA of an empty IOAS. */
	ASSERT_EQ(0, iova);
	check_ioas_mapped(self->fd, self->ioas_id, 1, SZ_64K, SZ_64K / page_size());
	do_ioas_unmap(self->fd, self->ioas_id, iova, SZ_64K, SZ_64K);
}

/* Read-only memory can be mapped READABLE but not WRITEABLE. */
TEST_F(ioas, map_readonly_memory)
{
	__u64 iova = SZ_1M, vmpin;

	ASSERT_EQ(0, mprotect(self->buf, SZ_64K, PROT_READ));
	vmpin = vmpin_bytes();
	do_ioas_map_err(EFAULT, self->fd, self->ioas_id, MAP_FIXED_RW,
			NEST_PTR(self->buf), SZ_64K, &iova);
	do_ioas_map_err(EFAULT, self->fd, self->ioas_id,
			NESTIOMMU_IOAS_MAP_WRITEABLE | NESTIOMMU_IOAS_MAP_FIXED_IOVA,
			NEST_PTR(self->buf), SZ_64K, &iova);
	check_ioas_mapped(self->fd, self->ioas_id, 0, 0, 0);
	ASSERT_EQ(vmpin, vmpin_bytes());

	do_ioas_map(self->fd, self->ioas_id,
		    NESTIOMMU_IOAS_MAP_READABLE | NESTIOMMU_IOAS_MAP_FIXED_IOVA,
		    NEST_PTR(self->buf), SZ_64K, &iova);
	check_ioas_mapped(self->fd, self->ioas_id, 1, SZ_64K, SZ_64K / self->page);
}

/* User memory that is not mapped in the process: EFAULT, nothing pinned. */
TEST_F(ioas, map_unmapped_memory_efault)
{
	__u64 iova = SZ_1M, vmpin = vmpin_bytes();
	char *hole = self->buf + SZ_2M;

	/* Entirely unmapped. */
	ASSERT_EQ(0, munmap(hole, SZ_1M));
	do_ioas_map_fixed_err(EFAULT, self->fd, self->ioas_id, hole, SZ_64K, iova);
	/* Mapped at first, unmapped after 64K: the first pins are undone. */
	do_ioas_map_fixed_err(EFAULT, self->fd, self->ioas_id, hole - SZ_64K,
			      2 * SZ_64K, iova);
	check_ioas_mapped(self->fd, self->ioas_id, 0, 0, 0);
	ASSERT_EQ(vmpin, vmpin_bytes());
	/* And the IOVA range is still free. */
	do_ioas_map_fixed(self->fd, self->ioas_id, self->buf, 2 * SZ_64K, iova);
}

TEST_F(ioas, unmap_all_returns_bytes)
{
	do_ioas_map_fixed(self->fd, self->ioas_id, self->buf, SZ_64K, SZ_1M);
	do_ioas_map_fixed(self->fd, self->ioas_id, self->buf, SZ_4K, MSI_LAST + 1);
	do_ioas_map_fixed(self->fd, self->ioas_id, self->buf, SZ_2M, IOVA_LIMIT - SZ_2M);
	do_ioas_unmap(self->fd, self->ioas_id, 0, UINT64_MAX, SZ_64K + SZ_4K + SZ_2M);
	check_ioas_mapped(self->fd, self->ioas_id, 0, 0, 0);
}

TEST_F(ioas, unmap_all_of_empty_ioas_is_zero)
{
	do_ioas_unmap(self->fd, self->ioas_id, 0, UINT64_MAX, 0);
}

TEST_F(ioas, unmap_superset_of_two_mappings)
{
	struct nestiommu_ioas_stats st;

	do_ioas_map_fixed(self->fd, self->ioas_id, self->buf, SZ_64K, SZ_1M);
	do_ioas_map_fixed(self->fd, self->ioas_id, self->buf, 2 * SZ_4K, SZ_2M);
	/* A third mapping outside the range stays. */
	do_ioas_map_fixed(self->fd, self->ioas_id, self->buf, SZ_4K, 3 * SZ_1M);
	do_ioas_unmap(self->fd, self->ioas_id, SZ_1M - SZ_64K, 2 * SZ_1M,
		      SZ_64K + 2 * SZ_4K);
	do_ioas_stats(self->fd, self->ioas_id, &st);
	ASSERT_EQ(1, st.mappings);
	ASSERT_EQ(SZ_4K, st.mapped_bytes);
	ASSERT_EQ(2, st.unmapped_areas);
}

TEST_F(ioas, unmap_part_of_mapping_enoent)
{
	const struct { __u64 iova, len; } cuts[] = {
		{ SZ_1M, SZ_4K },			/* head */
		{ SZ_1M + SZ_64K - SZ_4K, SZ_4K },	/* tail */
		{ SZ_1M + SZ_4K, SZ_4K },		/* middle */
		{ SZ_1M - SZ_4K, 2 * SZ_4K },		/* across the start */
		{ SZ_1M + SZ_64K - SZ_4K, 2 * SZ_4K },	/* across the end */
	};
	size_t i;

	do_ioas_map_fixed(self->fd, self->ioas_id, self->buf, SZ_64K, SZ_1M);
	/* This one is covered completely: the cut of the other must undo it. */
	do_ioas_map_fixed(self->fd, self->ioas_id, self->buf, SZ_4K, SZ_1M - SZ_4K);
	for (i = 0; i < sizeof(cuts) / sizeof(cuts[0]); i++) {
		TH_CONTEXT("cut %zu: [0x%llx, +0x%llx)", i, cuts[i].iova, cuts[i].len);
		do_ioas_unmap_err(ENOENT, self->fd, self->ioas_id, cuts[i].iova,
				  cuts[i].len);
		check_ioas_mapped(self->fd, self->ioas_id, 2, SZ_64K + SZ_4K,
				  (SZ_64K + SZ_4K) / self->page);
	}
}

TEST_F(ioas, unmap_empty_range_enoent)
{
	do_ioas_unmap_err(ENOENT, self->fd, self->ioas_id, SZ_1M, SZ_64K);
	do_ioas_map_fixed(self->fd, self->ioas_id, self->buf, SZ_64K, SZ_1M);
	/* Right next to a mapping, on either side. */
	do_ioas_unmap_err(ENOENT, self->fd, self->ioas_id, SZ_1M - SZ_64K, SZ_64K);
	do_ioas_unmap_err(ENOENT, self->fd, self->ioas_id, SZ_1M + SZ_64K, SZ_64K);
	check_ioas_mapped(self->fd, self->ioas_id, 1, SZ_64K, SZ_64K / self->page);
}

/* ==== argument checks ==== */

TEST_F(ioas, map_unknown_flags_eopnotsupp)
{
	__u64 iova = SZ_1M;
	int bit;

	for (bit = 3; bit < 32; bit++)
		do_ioas_map_err(EOPNOTSUPP, self->fd, self->ioas_id,
				MAP_FIXED_RW | 1U << bit, NEST_PTR(self->buf),
				SZ_4K, &iova);
	check_ioas_mapped(self->fd, self->ioas_id, 0, 0, 0);
}

TEST_F(ioas, map_reserved_nonzero_eopnotsupp)
{
	struct nestiommu_ioas_map cmd = {
		.size = sizeof(cmd),
		.flags = MAP_FIXED_RW,
		.ioas_id = self->ioas_id,
		.__reserved = 1,
		.user_va = NEST_PTR(self->buf),
		.length = SZ_4K,
		.iova = SZ_1M,
	};

	ASSERT_ERR(EOPNOTSUPP, nest_ioctl(self->fd, NESTIOMMU_IOAS_MAP, &cmd));
	check_ioas_mapped(self->fd, self->ioas_id, 0, 0, 0);
}

TEST_F(ioas, iova_ranges_reserved_nonzero_eopnotsupp)
{
	struct nestiommu_iova_range ranges[4];
	struct nestiommu_ioas_iova_ranges cmd = {
		.size = sizeof(cmd),
		.ioas_id = self->ioas_id,
		.num_iovas = 4,
		.__reserved = 1,
		.allowed_iovas = NEST_PTR(ranges),
	};

	ASSERT_ERR(EOPNOTSUPP, nest_ioctl(self->fd, NESTIOMMU_IOAS_IOVA_RANGES, &cmd));
}

TEST_F(ioas, map_no_prot_einval)
{
	__u64 iova = SZ_1M;

	do_ioas_map_err(EINVAL, self->fd, self->ioas_id, NESTIOMMU_IOAS_MAP_FIXED_IOVA,
			NEST_PTR(self->buf), SZ_4K, &iova);
	do_ioas_map_err(EINVAL, self->fd, self->ioas_id, 0, NEST_PTR(self->buf),
			SZ_4K, &iova);
	check_ioas_mapped(self->fd, self->ioas_id, 0, 0, 0);
}

TEST_F(ioas, map_unaligned_einval)
{
	__u64 uva = NEST_PTR(self->buf), iova;

	iova = SZ_1M + 512;
	do_ioas_map_err(EINVAL, self->fd, self->ioas_id, MAP_FIXED_RW, uva, SZ_4K, &iova);
	iova = SZ_1M;
	do_ioas_map_err(EINVAL, self->fd, self->ioas_id, MAP_FIXED_RW, uva, SZ_4K + 512, &iova);
	do_ioas_map_err(EINVAL, self->fd, self->ioas_id, MAP_FIXED_RW, uva + 512, SZ_4K, &iova);
	do_ioas_map_err(EINVAL, self->fd, self->ioas_id, MAP_FIXED_RW, uva, 0, &iova);
	/* Kernel-chosen IOVA: the same checks on user_va and length. */
	do_ioas_map_err(EINVAL, self->fd, self->ioas_id, MAP_RW, uva, SZ_4K - 1, &iova);
	do_ioas_map_err(EINVAL, self->fd, self->ioas_id, MAP_RW, uva + 1, SZ_4K, &iova);
	do_ioas_map_err(EINVAL, self->fd, self->ioas_id, MAP_RW, uva, 0, &iova);
	check_ioas_mapped(self->fd, self->ioas_id, 0, 0, 0);
}

TEST_F(ioas, unmap_unaligned_einval)
{
	do_ioas_map_fixed(self->fd, self->ioas_id, self->buf, SZ_64K, SZ_1M);
	do_ioas_unmap_err(EINVAL, self->fd, self->ioas_id, SZ_1M + 512, SZ_64K);
	do_ioas_unmap_err(EINVAL, self->fd, self->ioas_id, SZ_1M, SZ_64K + 512);
	do_ioas_unmap_err(EINVAL, self->fd, self->ioas_id, SZ_1M, SZ_64K - 1);
	/* Length 0 is a bad value, not an empty range (only 0..U64_MAX is special). */
	do_ioas_unmap_err(EINVAL, self->fd, self->ioas_id, SZ_1M, 0);
	check_ioas_mapped(self->fd, self->ioas_id, 1, SZ_64K, SZ_64K / self->page);
}

TEST_F(ioas, map_overflow_eoverflow)
{
	__u64 iova = -SZ_4K;

	/* iova + length wraps. */
	do_ioas_map_err(EOVERFLOW, self->fd, self->ioas_id, MAP_FIXED_RW,
			NEST_PTR(self->buf), 2 * SZ_4K, &iova);
	/* user_va + length wraps, with and without a fixed IOVA. */
	iova = SZ_1M;
	do_ioas_map_err(EOVERFLOW, self->fd, self->ioas_id, MAP_FIXED_RW,
			-SZ_4K, 2 * SZ_4K, &iova);
	do_ioas_map_err(EOVERFLOW, self->fd, self->ioas_id, MAP_RW,
			-SZ_4K, 2 * SZ_4K, &iova);
	check_ioas_mapped(self->fd, self->ioas_id, 0, 0, 0);
}

TEST_F(ioas, unmap_overflow_eoverflow)
{
	do_ioas_map_fixed(self->fd, self->ioas_id, self->buf, SZ_64K, SZ_1M);
	do_ioas_unmap_err(EOVERFLOW, self->fd, self->ioas_id, SZ_1M, -SZ_4K);
	do_ioas_unmap_err(EOVERFLOW, self->fd, self->ioas_id, -SZ_4K, 2 * SZ_4K);
	check_ioas_mapped(self->fd, self->ioas_id, 1, SZ_64K, SZ_64K / self->page);
}

/* FIXED_IOVA must lie in the allowed ranges: below 2^48 and not in the MSI window. */
TEST_F(ioas, map_fixed_outside_ranges_einval)
{
	const struct { __u64 iova, len; } bad[] = {
		{ IOVA_LIMIT, SZ_4K },
		{ IOVA_LIMIT - SZ_4K, 2 * SZ_4K },
		{ 1ULL << 63, SZ_4K },
		{ MSI_START, SZ_4K },
		{ MSI_START - SZ_4K, 2 * SZ_4K },
		{ MSI_LAST + 1 - SZ_4K, SZ_4K },
		{ MSI_LAST + 1 - SZ_4K, 2 * SZ_4K },
		{ MSI_START - SZ_4K, MSI_LAST + 1 - MSI_START + 2 * SZ_4K },
	};
	const __u64 good[] = { MSI_START - SZ_4K, MSI_LAST + 1, IOVA_LIMIT - SZ_4K };
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		TH_CONTEXT("[0x%llx, +0x%llx)", bad[i].iova, bad[i].len);
		do_ioas_map_fixed_err(EINVAL, self->fd, self->ioas_id, self->buf,
				      bad[i].len, bad[i].iova);
	}
	check_ioas_mapped(self->fd, self->ioas_id, 0, 0, 0);
	/* The pages right next to the forbidden ranges are allowed. */
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		do_ioas_map_fixed(self->fd, self->ioas_id, self->buf, SZ_4K, good[i]);
	check_ioas_mapped(self->fd, self->ioas_id, 3, 3 * SZ_4K, 3 * SZ_4K / self->page);
}

TEST_F(ioas, map_overlap_eexist)
{
	const struct { __u64 iova, len; } overlaps[] = {
		{ SZ_1M, SZ_64K },			/* the same */
		{ SZ_1M - SZ_4K, 2 * SZ_4K },		/* its head */
		{ SZ_1M + SZ_64K - SZ_4K, 2 * SZ_4K },	/* its tail */
		{ SZ_1M + SZ_4K, SZ_4K },		/* inside */
		{ SZ_1M - SZ_64K, 3 * SZ_64K },		/* around */
	};
	size_t i;

	do_ioas_map_fixed(self->fd, self->ioas_id, self->buf, SZ_64K, SZ_1M);
	for (i = 0; i < sizeof(overlaps) / sizeof(overlaps[0]); i++) {
		TH_CONTEXT("[0x%llx, +0x%llx)", overlaps[i].iova, overlaps[i].len);
		do_ioas_map_fixed_err(EEXIST, self->fd, self->ioas_id, self->buf,
				      overlaps[i].len, overlaps[i].iova);
	}
	check_ioas_mapped(self->fd, self->ioas_id, 1, SZ_64K, SZ_64K / self->page);
	/* Adjacent on both sides is fine. */
	do_ioas_map_fixed(self->fd, self->ioas_id, self->buf, SZ_4K, SZ_1M - SZ_4K);
	do_ioas_map_fixed(self->fd, self->ioas_id, self->buf, SZ_4K, SZ_1M + SZ_64K);
	check_ioas_mapped(self->fd, self->ioas_id, 3, SZ_64K + 2 * SZ_4K,
			  (SZ_64K + 2 * SZ_4K) / self->page);
}

/* ==== IOVA_RANGES ==== */

TEST_F(ioas, iova_ranges_emsgsize_protocol)
{
	const struct nestiommu_iova_range expect[2] = {
		{ .start = 0, .last = MSI_START - 1 },
		{ .start = MSI_LAST + 1, .last = IOVA_LIMIT - 1 },
	};
	struct nestiommu_iova_range ranges[4];
	__u64 align = 0;
	__u32 num = 0;
	int i;

	/* Ask for the count. */
	do_ioas_iova_ranges_err(EMSGSIZE, self->fd, self->ioas_id, NULL, &num, NULL);
	ASSERT_EQ(2, num);

	/* Too short: the kernel fills what fits. */
	memset(ranges, 0xa5, sizeof(ranges));
	num = 1;
	do_ioas_iova_ranges_err(EMSGSIZE, self->fd, self->ioas_id, ranges, &num, NULL);
	ASSERT_EQ(2, num);
	ASSERT_EQ(expect[0].start, ranges[0].start);
	ASSERT_EQ(expect[0].last, ranges[0].last);
	ASSERT_EQ(0xa5a5a5a5a5a5a5a5ULL, ranges[1].start);

	/* Exactly long enough. */
	memset(ranges, 0xa5, sizeof(ranges));
	num = 2;
	do_ioas_iova_ranges(self->fd, self->ioas_id, ranges, &num, &align);
	ASSERT_EQ(2, num);
	ASSERT_EQ(page_size(), align);
	for (i = 0; i < 2; i++) {
		ASSERT_EQ(expect[i].start, ranges[i].start);
		ASSERT_EQ(expect[i].last, ranges[i].last);
	}
	ASSERT_EQ(0xa5a5a5a5a5a5a5a5ULL, ranges[2].start);

	/* Longer than needed: num_iovas comes back as the count. */
	num = 4;
	do_ioas_iova_ranges(self->fd, self->ioas_id, ranges, &num, &align);
	ASSERT_EQ(2, num);
	ASSERT_EQ(0xa5a5a5a5a5a5a5a5ULL, ranges[2].start);
}

TEST_F(ioas, iova_ranges_ascending_without_msi_window)
{
	struct nestiommu_iova_range ranges[8];
	__u32 num = 8, i;

	/* Mappings do not change the allowed ranges. */
	do_ioas_map_fixed(self->fd, self->ioas_id, self->buf, SZ_64K, SZ_1M);
	do_ioas_iova_ranges(self->fd, self->ioas_id, ranges, &num, NULL);
	ASSERT_GE(num, 1);
	for (i = 0; i < num; i++) {
		ASSERT_LE(ranges[i].start, ranges[i].last);
		ASSERT_LT(ranges[i].last, IOVA_LIMIT);
		ASSERT_TRUE(ranges[i].last < MSI_START || ranges[i].start > MSI_LAST);
		if (i)
			ASSERT_LT(ranges[i - 1].last + 1, ranges[i].start);
	}
}

TEST_F(ioas, iova_ranges_bad_pointer_efault)
{
	__u32 num = 2;
	char *hole = self->buf + SZ_2M;

	ASSERT_EQ(0, munmap(hole, SZ_64K));
	do_ioas_iova_ranges_err(EFAULT, self->fd, self->ioas_id,
				(struct nestiommu_iova_range *)hole, &num, NULL);
}

/* ==== GET_STATS ==== */

TEST_F(ioas, get_stats_short_buffer)
{
	struct nestiommu_ioas_stats st;
	__u32 type = 0, len = sizeof(st.mappings);

	do_ioas_map_fixed(self->fd, self->ioas_id, self->buf, SZ_64K, SZ_1M);
	memset(&st, 0xa5, sizeof(st));
	ASSERT_OK(nest_get_stats(self->fd, self->ioas_id, &type, &st, &len));
	ASSERT_EQ(NESTIOMMU_OBJ_IOAS, type);
	ASSERT_EQ(sizeof(struct nestiommu_ioas_stats), len);
	ASSERT_EQ(1, st.mappings);
	/* Nothing past the length user space gave. */
	ASSERT_EQ(0xa5a5a5a5a5a5a5a5ULL, st.mapped_bytes);

	len = 0;
	memset(&st, 0xa5, sizeof(st));
	ASSERT_OK(nest_get_stats(self->fd, self->ioas_id, &type, &st, &len));
	ASSERT_EQ(sizeof(struct nestiommu_ioas_stats), len);
	ASSERT_EQ(0xa5a5a5a5a5a5a5a5ULL, st.mappings);
}

TEST_F(ioas, get_stats_long_buffer)
{
	struct {
		struct nestiommu_ioas_stats st;
		__u64 beyond[3];
	} out;
	__u32 type = 0, len = sizeof(out);

	memset(&out, 0xa5, sizeof(out));
	ASSERT_OK(nest_get_stats(self->fd, self->ioas_id, &type, &out, &len));
	ASSERT_EQ(NESTIOMMU_OBJ_IOAS, type);
	ASSERT_EQ(sizeof(struct nestiommu_ioas_stats), len);
	ASSERT_EQ(0, out.st.mappings);
	ASSERT_EQ(0, out.st.unmapped_areas);
	ASSERT_EQ(0xa5a5a5a5a5a5a5a5ULL, out.beyond[0]);
}

TEST_F(ioas, get_stats_bad_pointer_efault)
{
	char *hole = self->buf + SZ_2M;
	__u32 type, len = sizeof(struct nestiommu_ioas_stats);

	ASSERT_EQ(0, munmap(hole, SZ_64K));
	ASSERT_ERR(EFAULT, nest_get_stats(self->fd, self->ioas_id, &type, hole, &len));
}

/* ==== contexts ==== */

TEST_F(ioas, other_context_cannot_see_ids)
{
	int fd2 = do_open();
	__u32 id2;

	do_ioas_map_fixed(self->fd, self->ioas_id, self->buf, SZ_64K, SZ_1M);
	check_id_enoent(fd2, self->ioas_id, self->buf);

	/* The second context's objects, whatever their numbers, are its own. */
	do_ioas_alloc(fd2, &id2);
	do_ioas_map_fixed(fd2, id2, self->buf, SZ_4K, SZ_2M);
	do_destroy(fd2, id2);
	check_ioas_mapped(self->fd, self->ioas_id, 1, SZ_64K, SZ_64K / self->page);
	close(fd2);
	check_ioas_mapped(self->fd, self->ioas_id, 1, SZ_64K, SZ_64K / self->page);
}

/* ==== pinning and accounting ==== */

TEST_F(ioas, vmlck_tracks_mappings)
{
	__u64 vmpin = vmpin_bytes(), pinned = module_pinned_pages();
	__u64 pages = (SZ_1M + SZ_64K) / self->page;

	do_ioas_map_fixed(self->fd, self->ioas_id, self->buf, SZ_1M, SZ_1M);
	do_ioas_map_fixed(self->fd, self->ioas_id, self->buf + SZ_2M, SZ_64K, SZ_4K);
	ASSERT_EQ(vmpin + SZ_1M + SZ_64K, vmpin_bytes());
	ASSERT_EQ(pinned + pages, module_pinned_pages());
	check_ioas_mapped(self->fd, self->ioas_id, 2, SZ_1M + SZ_64K, pages);

	do_ioas_unmap(self->fd, self->ioas_id, SZ_1M, SZ_1M, SZ_1M);
	ASSERT_EQ(vmpin + SZ_64K, vmpin_bytes());
	do_ioas_unmap(self->fd, self->ioas_id, SZ_4K, SZ_64K, SZ_64K);
	ASSERT_EQ(vmpin, vmpin_bytes());
	ASSERT_EQ(pinned, module_pinned_pages());
}

TEST_F(ioas, destroy_with_mappings_unpins)
{
	__u64 vmpin = vmpin_bytes(), pinned = module_pinned_pages();
	__u32 id;

	do_ioas_alloc(self->fd, &id);
	do_ioas_map_fixed(self->fd, id, self->buf, SZ_1M, SZ_1M);
	do_ioas_map_fixed(self->fd, id, self->buf, SZ_64K, SZ_4K);
	ASSERT_EQ(vmpin + SZ_1M + SZ_64K, vmpin_bytes());
	do_destroy(self->fd, id);
	ASSERT_EQ(vmpin, vmpin_bytes());
	ASSERT_EQ(pinned, module_pinned_pages());
	do_get_stats_err(ENOENT, self->fd, id);
}

TEST_F(ioas, close_with_mappings_unpins)
{
	__u64 vmpin = vmpin_bytes(), pinned = module_pinned_pages();
	int fd2 = do_open();
	__u32 id, id_b;

	do_ioas_alloc(fd2, &id);
	do_ioas_alloc(fd2, &id_b);
	do_ioas_map_fixed(fd2, id, self->buf, SZ_1M, SZ_1M);
	do_ioas_map_fixed(fd2, id_b, self->buf, SZ_64K, SZ_4K);
	ASSERT_EQ(vmpin + SZ_1M + SZ_64K, vmpin_bytes());
	ASSERT_EQ(pinned + (SZ_1M + SZ_64K) / self->page, module_pinned_pages());
	ASSERT_EQ(0, close(fd2));
	ASSERT_EQ(vmpin, vmpin_bytes());
	ASSERT_EQ(pinned, module_pinned_pages());
}

static void drop_cap_ipc_lock(void)
{
	struct __user_cap_header_struct hdr = {
		.version = _LINUX_CAPABILITY_VERSION_3,
	};
	struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3];

	ASSERT_EQ(0, syscall(SYS_capget, &hdr, data));
	data[CAP_TO_INDEX(CAP_IPC_LOCK)].effective &= ~CAP_TO_MASK(CAP_IPC_LOCK);
	ASSERT_EQ(0, syscall(SYS_capset, &hdr, data));
	ASSERT_EQ(0, syscall(SYS_capget, &hdr, data));
	ASSERT_EQ(0, data[CAP_TO_INDEX(CAP_IPC_LOCK)].effective & CAP_TO_MASK(CAP_IPC_LOCK));
}

/*
 * Without CAP_IPC_LOCK pinning is limited by RLIMIT_MEMLOCK; a MAP beyond
 * it fails with ENOMEM and pins nothing.
 */
TEST_F(ioas, memlock_rlimit_enforced)
{
	__u64 vmpin, pinned = module_pinned_pages();
	struct rlimit lim;

	drop_cap_ipc_lock();
	vmpin = vmpin_bytes();
	lim.rlim_cur = lim.rlim_max = vmpin + SZ_64K;
	ASSERT_EQ(0, setrlimit(RLIMIT_MEMLOCK, &lim));

	do_ioas_map_fixed_err(ENOMEM, self->fd, self->ioas_id, self->buf, 2 * SZ_64K, SZ_1M);
	check_ioas_mapped(self->fd, self->ioas_id, 0, 0, 0);
	ASSERT_EQ(vmpin, vmpin_bytes());
	ASSERT_EQ(pinned, module_pinned_pages());

	/* Up to the limit is fine; one page more is not. */
	do_ioas_map_fixed(self->fd, self->ioas_id, self->buf, SZ_64K, SZ_1M);
	ASSERT_EQ(vmpin + SZ_64K, vmpin_bytes());
	do_ioas_map_fixed_err(ENOMEM, self->fd, self->ioas_id, self->buf, SZ_4K, SZ_2M);
	check_ioas_mapped(self->fd, self->ioas_id, 1, SZ_64K, SZ_64K / self->page);

	/* Unmapping gives the allowance back. */
	do_ioas_unmap(self->fd, self->ioas_id, SZ_1M, SZ_64K, SZ_64K);
	do_ioas_map_fixed(self->fd, self->ioas_id, self->buf, SZ_64K, SZ_2M);
	ASSERT_EQ(vmpin + SZ_64K, vmpin_bytes());
}

/* ==== map/unmap cycles: nothing stays pinned ==== */

#define MAP_CYCLES 10000

FIXTURE(map_cycles) {
	int fd;
	__u32 ioas_id;
	char *buf;
};

FIXTURE_VARIANT(map_cycles) {
	__u64 length;
	bool fixed;
};

FIXTURE_VARIANT_ADD(map_cycles, page_fixed) { .length = SZ_4K, .fixed = true };
FIXTURE_VARIANT_ADD(map_cycles, page_chosen) { .length = SZ_4K, .fixed = false };
FIXTURE_VARIANT_ADD(map_cycles, pages16_fixed) { .length = SZ_64K, .fixed = true };
FIXTURE_VARIANT_ADD(map_cycles, mib_chosen) { .length = SZ_1M, .fixed = false };

FIXTURE_SETUP(map_cycles)
{
	self->fd = do_open();
	do_ioas_alloc(self->fd, &self->ioas_id);
	self->buf = alloc_buffer(variant->length, SZ_2M);
}

FIXTURE_TEARDOWN(map_cycles)
{
	munmap(self->buf, variant->length);
	close(self->fd);
}

TEST_F_TIMEOUT(map_cycles, no_pages_left_pinned, 300)
{
	__u64 vmpin = vmpin_bytes(), pinned = module_pinned_pages();
	__u32 flags = variant->fixed ? MAP_FIXED_RW : MAP_RW;
	struct nestiommu_ioas_stats st;
	__u64 iova, unmapped;
	int i;

	for (i = 0; i < MAP_CYCLES; i++) {
		iova = SZ_1G;
		do_ioas_map(self->fd, self->ioas_id, flags, NEST_PTR(self->buf),
			    variant->length, &iova);
		ASSERT_OK(nest_ioas_unmap(self->fd, self->ioas_id, iova,
					  variant->length, &unmapped));
		ASSERT_EQ(variant->length, unmapped);
	}
	do_ioas_stats(self->fd, self->ioas_id, &st);
	ASSERT_EQ(0, st.mappings);
	ASSERT_EQ(0, st.mapped_bytes);
	ASSERT_EQ(0, st.pinned_pages);
	ASSERT_EQ(MAP_CYCLES, st.map_ops);
	ASSERT_EQ(MAP_CYCLES, st.unmapped_areas);
	ASSERT_EQ(vmpin, vmpin_bytes());
	ASSERT_EQ(pinned, module_pinned_pages());
}

/* ==== concurrency smoke test ==== */

#define THREADS 4
#define THREAD_ITERATIONS 1000
#define THREAD_MAX_PAGES 16

FIXTURE(threads) {
	int fd;
	__u32 ioas_id;
	char *buf;
};

FIXTURE_VARIANT(threads) {
	bool fixed;
};

FIXTURE_VARIANT_ADD(threads, fixed) { .fixed = true };
FIXTURE_VARIANT_ADD(threads, kernel_chosen) { .fixed = false };

FIXTURE_SETUP(threads)
{
	self->fd = do_open();
	do_ioas_alloc(self->fd, &self->ioas_id);
	self->buf = alloc_buffer(THREADS * THREAD_MAX_PAGES * SZ_4K, SZ_64K);
}

FIXTURE_TEARDOWN(threads)
{
	munmap(self->buf, THREADS * THREAD_MAX_PAGES * SZ_4K);
	close(self->fd);
}

/* What the threads share; they report errors here, not by asserting. */
struct smoke {
	int fd;
	__u32 ioas_id;
	bool fixed;
	char *buf;
	atomic_bool stop;
	pthread_mutex_t lock;
	struct { __u64 iova, len; } live[THREADS];	/* under lock */
	struct smoke_worker {
		struct smoke *smoke;
		int index;
		int rc;
		const char *what;
		int iteration;
	} workers[THREADS + 1];				/* the last one reads */
	unsigned long reads;
};

static void smoke_error(struct smoke_worker *w, const char *what, int rc, int iteration)
{
	if (w->what)
		return;
	w->what = what;
	w->rc = rc;
	w->iteration = iteration;
}

/* Record [iova, +len) as live for worker @index; false if another overlaps. */
static bool smoke_claim(struct smoke *s, int index, __u64 iova, __u64 len)
{
	bool ok = true;
	int i;

	pthread_mutex_lock(&s->lock);
	for (i = 0; i < THREADS; i++)
		if (i != index && s->live[i].len &&
		    iova < s->live[i].iova + s->live[i].len &&
		    s->live[i].iova < iova + len)
			ok = false;
	s->live[index].iova = iova;
	s->live[index].len = len;
	pthread_mutex_unlock(&s->lock);
	return ok;
}

static void *smoke_mapper(void *arg)
{
	struct smoke_worker *w = arg;
	struct smoke *s = w->smoke;
	__u64 base = (__u64)(w->index + 1) * SZ_1G;
	char *mem = s->buf + w->index * THREAD_MAX_PAGES * SZ_4K;
	__u64 iova, len, unmapped;
	int i, rc;

	for (i = 0; i < THREAD_ITERATIONS; i++) {
		len = (1 + i % THREAD_MAX_PAGES) * SZ_4K;
		iova = base + (i % 3) * SZ_2M;
		rc = nest_ioas_map(s->fd, s->ioas_id, s->fixed ? MAP_FIXED_RW : MAP_RW,
				   NEST_PTR(mem), len, &iova);
		if (rc)
			return smoke_error(w, "map", rc, i), NULL;
		if (!smoke_claim(s, w->index, iova, len))
			return smoke_error(w, "overlapping IOVA", 0, i), NULL;
		if (i == THREAD_ITERATIONS - 1)
			break;	/* the last mapping stays for DESTROY */
		smoke_claim(s, w->index, 0, 0);
		rc = nest_ioas_unmap(s->fd, s->ioas_id, iova, len, &unmapped);
		if (rc)
			return smoke_error(w, "unmap", rc, i), NULL;
		if (unmapped != len)
			return smoke_error(w, "unmapped length", (int)unmapped, i), NULL;
	}
	return NULL;
}

static void *smoke_reader(void *arg)
{
	struct smoke_worker *w = arg;
	struct smoke *s = w->smoke;
	struct nestiommu_iova_range ranges[4];
	struct nestiommu_ioas_stats st;
	__u32 num, type, len;
	int rc;

	do {
		num = 4;
		rc = nest_ioas_iova_ranges(s->fd, s->ioas_id, ranges, &num, NULL);
		if (rc || num != 2)
			return smoke_error(w, "iova_ranges", rc, (int)s->reads), NULL;
		len = sizeof(st);
		rc = nest_get_stats(s->fd, s->ioas_id, &type, &st, &len);
		if (rc || type != NESTIOMMU_OBJ_IOAS)
			return smoke_error(w, "get_stats", rc, (int)s->reads), NULL;
		if (st.mappings > THREADS ||
		    st.mapped_bytes > THREADS * THREAD_MAX_PAGES * SZ_4K)
			return smoke_error(w, "stats out of bounds", 0, (int)s->reads), NULL;
		s->reads++;
	} while (!atomic_load(&s->stop));
	return NULL;
}

TEST_F_TIMEOUT(threads, map_unmap_while_reading, 300)
{
	__u64 vmpin = vmpin_bytes(), pinned = module_pinned_pages();
	static struct smoke s;
	pthread_t th[THREADS + 1];
	__u64 bytes = 0;
	int i;

	s.fd = self->fd;
	s.ioas_id = self->ioas_id;
	s.fixed = variant->fixed;
	s.buf = self->buf;
	pthread_mutex_init(&s.lock, NULL);
	for (i = 0; i <= THREADS; i++) {
		s.workers[i].smoke = &s;
		s.workers[i].index = i;
		ASSERT_EQ(0, pthread_create(&th[i], NULL,
					    i < THREADS ? smoke_mapper : smoke_reader,
					    &s.workers[i]));
	}
	for (i = 0; i < THREADS; i++)
		ASSERT_EQ(0, pthread_join(th[i], NULL));
	atomic_store(&s.stop, true);
	ASSERT_EQ(0, pthread_join(th[THREADS], NULL));

	for (i = 0; i <= THREADS; i++)
		if (s.workers[i].what)
			TH_LOG("thread %d: %s failed at iteration %d: rc %d", i,
			       s.workers[i].what, s.workers[i].iteration,
			       s.workers[i].rc);
	for (i = 0; i <= THREADS; i++)
		ASSERT_EQ(NULL, s.workers[i].what);
	ASSERT_LT(0, s.reads);

	for (i = 0; i < THREADS; i++)
		bytes += s.live[i].len;
	check_ioas_mapped(self->fd, self->ioas_id, THREADS, bytes, bytes / SZ_4K);
	do_destroy(self->fd, self->ioas_id);
	ASSERT_EQ(vmpin, vmpin_bytes());
	ASSERT_EQ(pinned, module_pinned_pages());
}

TEST_HARNESS_MAIN
