// SPDX-License-Identifier: GPL-2.0
/*
 * Dirty tracking selftests: a paging HWPT with DIRTY_TRACKING over 4 KiB
 * stage-2 pages (OPTION_HUGE_PAGES 0) reports exactly the pages DMA wrote,
 * through a nested HWPT on it and through the paging HWPT itself; NO_CLEAR,
 * clearing, aggregation into bigger page_size bits, writes after a clear
 * seen again (cached write translations dropped), huge-leaf granularity,
 * TRANSLATE, and the argument checks.
 */
#include "nest_env.h"

#define DIRTY_LEN	SZ_2M			/* the tracked range */
#define DIRTY_PAGES	(DIRTY_LEN / SZ_4K)
#define DIRTY_WORDS	(DIRTY_PAGES / 64)
#define NO_CLEAR	NESTIOMMU_HWPT_GET_DIRTY_BITMAP_NO_CLEAR

FIXTURE(dirty) {
	struct nest_env e;
	char *data2;		/* the second MiB of the tracked range */
	__u64 expect[DIRTY_WORDS];
};

FIXTURE_VARIANT(dirty) {
	__u32 dev_flags;
};

FIXTURE_VARIANT_ADD(dirty, plain) { .dev_flags = 0 };
FIXTURE_VARIANT_ADD(dirty, ats) { .dev_flags = NESTIOMMU_DEVICE_ATS };

/*
 * [DATA_GPA, +2M) tracked in 4 KiB pages: the env's data buffer and a
 * second MiB after it. The device reaches it on its RID through the paging
 * HWPT (IOVA = GPA) and on ENV_PASID through the nested HWPT (ENV_IOVA +
 * page i -> page i).
 */
FIXTURE_SETUP(dirty)
{
	struct nest_env_opts o = {
		.huge_off = true,
		.parent_flags = NESTIOMMU_HWPT_ALLOC_DIRTY_TRACKING,
		.dev_flags = variant->dev_flags,
	};
	__u64 i;

	env_setup(&self->e, &o);
	self->data2 = alloc_buffer_4k(SZ_1M, SZ_2M);
	do_ioas_map_fixed(self->e.fd, self->e.ioas_id, self->data2, SZ_1M, DATA_GPA + SZ_1M);
	do_device_attach(self->e.fd, self->e.dev_id, 0, 0, self->e.parent_id);
	for (i = 0; i < DIRTY_PAGES; i++)
		env_map(&self->e, ENV_IOVA + i * SZ_4K, DATA_GPA + i * SZ_4K, SZ_4K, S1_RWU);
	memset(self->expect, 0, sizeof(self->expect));
}

FIXTURE_TEARDOWN(dirty)
{
	env_teardown(&self->e);
	munmap(self->data2, SZ_1M);
}

/* DMA to page @page of the range, through the nested (@nested) or paging HWPT. */
static void dirty_dma(FIXTURE_DATA(dirty) *self, __u32 access, __u64 page, bool nested)
{
	char buf[16];

	memset(buf, (int)page, sizeof(buf));
	if (nested)
		env_dma_ok(&self->e, access, ENV_IOVA + page * SZ_4K + 0x40, sizeof(buf), buf);
	else
		do_dma(self->e.fd, self->e.dev_id, 0, 0, access,
		       DATA_GPA + page * SZ_4K + 0x40, sizeof(buf), buf);
}

static void dirty_write(FIXTURE_DATA(dirty) *self, __u64 page, bool nested)
{
	dirty_dma(self, ACC_W, page, nested);
	self->expect[page / 64] |= 1ULL << (page % 64);
}

/* The 4 KiB bitmap of the whole range equals self->expect. */
static void check_bitmap(FIXTURE_DATA(dirty) *self, __u32 flags)
{
	__u64 bitmap[DIRTY_WORDS];
	unsigned int i;

	memset(bitmap, 0, sizeof(bitmap));
	do_hwpt_get_dirty_bitmap(self->e.fd, self->e.parent_id, flags, DATA_GPA, DIRTY_LEN,
				 SZ_4K, bitmap);
	for (i = 0; i < DIRTY_WORDS; i++) {
		if (bitmap[i] != self->expect[i])
			TH_LOG("pages %u..%u: dirty 0x%016llx, expected 0x%016llx", i * 64,
			       i * 64 + 63, (unsigned long long)bitmap[i],
			       (unsigned long long)self->expect[i]);
		EXPECT_EQ(self->expect[i], bitmap[i]);
	}
	ASSERT_FALSE(harness_current.failed);
}

TEST_F(dirty, bitmap_is_exactly_pages_written)
{
	__u64 st = 0x5eed, page;
	int i;

	do_hwpt_set_dirty_tracking(self->e.fd, self->e.parent_id, true);
	check_bitmap(self, NO_CLEAR);
	for (i = 0; i < 48; i++) {
		page = prng_next(&st) % DIRTY_PAGES;
		dirty_write(self, page, i % 2);
		/* Reads dirty nothing. */
		dirty_dma(self, ACC_R, prng_next(&st) % DIRTY_PAGES, i % 3);
	}
	check_bitmap(self, NO_CLEAR);
	/* NO_CLEAR kept them. */
	check_bitmap(self, NO_CLEAR);
	/* A clearing read still reports them, then they are gone. */
	check_bitmap(self, 0);
	memset(self->expect, 0, sizeof(self->expect));
	check_bitmap(self, 0);
}

/*
 * After a clear, writes through translations cached by earlier writes must
 * mark the pages again.
 */
TEST_F(dirty, writes_after_clear_seen_again)
{
	int round;

	do_hwpt_set_dirty_tracking(self->e.fd, self->e.parent_id, true);
	for (round = 0; round < 3; round++) {
		TH_CONTEXT("round %d", round);
		dirty_write(self, 7, true);
		dirty_write(self, 9, false);
		dirty_write(self, 300, true);
		check_bitmap(self, 0);
		memset(self->expect, 0, sizeof(self->expect));
		check_bitmap(self, NO_CLEAR);
	}
}

/* Enabling clears what was written before. */
TEST_F(dirty, enable_clears_earlier_writes)
{
	dirty_dma(self, ACC_W, 1, true);
	dirty_dma(self, ACC_W, 2, false);
	do_hwpt_set_dirty_tracking(self->e.fd, self->e.parent_id, true);
	check_bitmap(self, NO_CLEAR);
	dirty_write(self, 3, true);
	check_bitmap(self, NO_CLEAR);
}

/* Bits of clean pages are left as they were in the caller's bitmap. */
TEST_F(dirty, bitmap_bits_of_clean_pages_untouched)
{
	__u64 bitmap[DIRTY_WORDS];
	unsigned int i;

	do_hwpt_set_dirty_tracking(self->e.fd, self->e.parent_id, true);
	dirty_write(self, 0, true);
	dirty_write(self, 65, false);
	for (i = 0; i < DIRTY_WORDS; i++)
		bitmap[i] = 0xa5a5a5a5a5a5a5a4ULL;	/* bit 0 clear */
	do_hwpt_get_dirty_bitmap(self->e.fd, self->e.parent_id, NO_CLEAR, DATA_GPA, DIRTY_LEN,
				 SZ_4K, bitmap);
	for (i = 0; i < DIRTY_WORDS; i++)
		ASSERT_EQ(0xa5a5a5a5a5a5a5a4ULL | self->expect[i], bitmap[i]);
}

/* Bigger page_size: one bit covers several 4 KiB pages. */
TEST_F(dirty, page_size_aggregates)
{
	const struct { __u64 page_size; __u64 words[2]; } sizes[] = {
		{ 2 * SZ_4K, { 1ULL << 0 | 1ULL << 1 | 1ULL << 2, 1ULL << (150 - 128) } },
		{ SZ_64K, { 1ULL << 0 | 1ULL << 18, 0 } },
		{ SZ_2M, { 1, 0 } },
	};
	__u64 bitmap[DIRTY_WORDS];
	size_t i;

	do_hwpt_set_dirty_tracking(self->e.fd, self->e.parent_id, true);
	dirty_write(self, 0, true);
	dirty_write(self, 3, false);
	dirty_write(self, 4, true);
	dirty_write(self, 300, false);
	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		__u64 bits = DIRTY_LEN / sizes[i].page_size;

		TH_CONTEXT("page_size 0x%llx", (unsigned long long)sizes[i].page_size);
		memset(bitmap, 0, sizeof(bitmap));
		do_hwpt_get_dirty_bitmap(self->e.fd, self->e.parent_id, NO_CLEAR, DATA_GPA,
					 DIRTY_LEN, sizes[i].page_size, bitmap);
		if (bits >= 128) {
			/* page_size 8K: 256 bits, the word of page 300 is word 2 */
			ASSERT_EQ(sizes[i].words[0], bitmap[0]);
			ASSERT_EQ(0, bitmap[1]);
			ASSERT_EQ(sizes[i].words[1], bitmap[2]);
			ASSERT_EQ(0, bitmap[3]);
		} else {
			ASSERT_EQ(sizes[i].words[0], bitmap[0]);
			ASSERT_EQ(0, bitmap[1]);
		}
	}
	/* The 4 KiB view is unchanged by those NO_CLEAR reads. */
	check_bitmap(self, NO_CLEAR);
}

/* A range inside the tracked one: bit 0 is the range's first page. */
TEST_F(dirty, subrange_bitmap_relative)
{
	__u64 bitmap[1] = { 0 };

	do_hwpt_set_dirty_tracking(self->e.fd, self->e.parent_id, true);
	dirty_write(self, 16, true);
	dirty_write(self, 17, false);
	dirty_write(self, 40, true);
	do_hwpt_get_dirty_bitmap(self->e.fd, self->e.parent_id, NO_CLEAR,
				 DATA_GPA + 16 * SZ_4K, 8 * SZ_4K, SZ_4K, bitmap);
	ASSERT_EQ(3, bitmap[0]);
	/* Clearing the subrange leaves page 40. */
	do_hwpt_get_dirty_bitmap(self->e.fd, self->e.parent_id, 0,
				 DATA_GPA + 16 * SZ_4K, 8 * SZ_4K, SZ_4K, bitmap);
	self->expect[0] = 1ULL << 40;
	check_bitmap(self, NO_CLEAR);
}

/* TRANSLATE dirties as a DMA does, except with NO_CACHE. */
TEST_F(dirty, translate_write_dirties_unless_no_cache)
{
	struct nestiommu_walk_step steps[64];
	struct nestiommu_translate xl;

	do_hwpt_set_dirty_tracking(self->e.fd, self->e.parent_id, true);
	env_translate(&self->e, NESTIOMMU_TRANSLATE_NO_CACHE, ACC_W, ENV_IOVA + 5 * SZ_4K,
		      steps, 64, &xl);
	do_translate(self->e.fd, self->e.dev_id, NESTIOMMU_TRANSLATE_NO_CACHE, 0, ACC_W,
		     DATA_GPA + 6 * SZ_4K, steps, 64, &xl);
	check_bitmap(self, NO_CLEAR);
	env_translate(&self->e, 0, ACC_W, ENV_IOVA + 5 * SZ_4K, steps, 64, &xl);
	do_translate(self->e.fd, self->e.dev_id, 0, 0, ACC_W, DATA_GPA + 6 * SZ_4K,
		     steps, 64, &xl);
	self->expect[0] = 1ULL << 5 | 1ULL << 6;
	check_bitmap(self, NO_CLEAR);
}

TEST_F(dirty, disabled_bitmap_einval)
{
	__u64 bitmap[DIRTY_WORDS];

	do_hwpt_get_dirty_bitmap_err(EINVAL, self->e.fd, self->e.parent_id, 0, DATA_GPA,
				     DIRTY_LEN, SZ_4K, bitmap);
	do_hwpt_set_dirty_tracking(self->e.fd, self->e.parent_id, true);
	do_hwpt_get_dirty_bitmap(self->e.fd, self->e.parent_id, 0, DATA_GPA, DIRTY_LEN,
				 SZ_4K, bitmap);
	do_hwpt_set_dirty_tracking(self->e.fd, self->e.parent_id, false);
	do_hwpt_get_dirty_bitmap_err(EINVAL, self->e.fd, self->e.parent_id, 0, DATA_GPA,
				     DIRTY_LEN, SZ_4K, bitmap);
}

TEST_F(dirty, bad_range_and_page_size)
{
	const struct {
		__u64 iova, length, page_size;
		int err;
	} bad[] = {
		{ DATA_GPA + 0x800, SZ_64K, SZ_4K, EINVAL },		/* unaligned iova */
		{ DATA_GPA + SZ_4K, SZ_64K, 2 * SZ_4K, EINVAL },	/* not page_size aligned */
		{ DATA_GPA, SZ_64K + SZ_4K, 2 * SZ_4K, EINVAL },	/* length not a multiple */
		{ DATA_GPA, SZ_4K + 1, SZ_4K, EINVAL },
		{ DATA_GPA, 0, SZ_4K, EINVAL },				/* length 0 */
		{ DATA_GPA, SZ_64K, 0, EINVAL },			/* page_size */
		{ DATA_GPA, SZ_64K, 2048, EINVAL },
		{ DATA_GPA, 3 * SZ_64K, 3 * SZ_4K, EINVAL },
		{ DATA_GPA, SZ_64K, SZ_4K + 1, EINVAL },
		{ ~0xfffULL, 2 * SZ_4K, SZ_4K, EOVERFLOW },		/* wraps */
	};
	__u64 bitmap[DIRTY_WORDS];
	size_t i;

	do_hwpt_set_dirty_tracking(self->e.fd, self->e.parent_id, true);
	dirty_write(self, 1, false);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		TH_CONTEXT("iova 0x%llx length 0x%llx page_size 0x%llx",
			   (unsigned long long)bad[i].iova, (unsigned long long)bad[i].length,
			   (unsigned long long)bad[i].page_size);
		memset(bitmap, 0, sizeof(bitmap));
		do_hwpt_get_dirty_bitmap_err(bad[i].err, self->e.fd, self->e.parent_id, 0,
					     bad[i].iova, bad[i].length, bad[i].page_size, bitmap);
	}
	/* Nothing was cleared by the failed calls. */
	check_bitmap(self, NO_CLEAR);
}

TEST_F(dirty, bad_bitmap_pointer_efault)
{
	__u64 *hole = alloc_buffer_4k(SZ_64K, SZ_4K);

	ASSERT_EQ(0, munmap(hole, SZ_64K));
	do_hwpt_set_dirty_tracking(self->e.fd, self->e.parent_id, true);
	dirty_write(self, 1, false);
	do_hwpt_get_dirty_bitmap_err(EFAULT, self->e.fd, self->e.parent_id, NO_CLEAR, DATA_GPA,
				     DIRTY_LEN, SZ_4K, hole);
}

/* Only paging HWPTs allocated with DIRTY_TRACKING track. */
TEST_F(dirty, hwpt_without_dirty_tracking_einval)
{
	__u64 bitmap[DIRTY_WORDS];
	__u32 plain;

	/* HUGE_PAGES cannot change now; a plain HWPT of the same IOAS. */
	do_hwpt_alloc_paging(self->e.fd, self->e.ioas_id, 0, &plain);
	do_hwpt_set_dirty_tracking_err(EINVAL, self->e.fd, plain, true);
	do_hwpt_get_dirty_bitmap_err(EINVAL, self->e.fd, plain, 0, DATA_GPA, DIRTY_LEN,
				     SZ_4K, bitmap);
	/* A nested HWPT is a HWPT, but its dirty bits are its parent's. */
	do_hwpt_set_dirty_tracking_err(EINVAL, self->e.fd, self->e.nested_id, true);
	do_hwpt_get_dirty_bitmap_err(EINVAL, self->e.fd, self->e.nested_id, 0, DATA_GPA,
				     DIRTY_LEN, SZ_4K, bitmap);
	do_hwpt_set_dirty_tracking_err(ENOENT, self->e.fd, self->e.ioas_id, true);
	do_hwpt_set_dirty_tracking_err(ENOENT, self->e.fd, self->e.dev_id, true);
	do_hwpt_get_dirty_bitmap_err(ENOENT, self->e.fd, self->e.ioas_id, 0, DATA_GPA,
				     DIRTY_LEN, SZ_4K, bitmap);
}

/* With huge stage-2 pages a write dirties the whole leaf. */
TEST(dirty_huge_leaf_marks_all_its_pages)
{
	__u64 bitmap[DIRTY_WORDS], gpa = DATA_GPA + 4 * SZ_2M;
	__u32 ioas, hwpt, dev;
	unsigned int i;
	char *huge;
	int fd;

	fd = do_open();
	huge = alloc_hugetlb(SZ_2M, SZ_2M);
	do_ioas_alloc(fd, &ioas);
	do_hwpt_alloc_paging(fd, ioas, NESTIOMMU_HWPT_ALLOC_DIRTY_TRACKING, &hwpt);
	do_ioas_map_fixed(fd, ioas, huge, SZ_2M, gpa);
	do_device_create(fd, 0, ENV_RID, 0, &dev);
	do_device_attach(fd, dev, 0, 0, hwpt);
	do_hwpt_set_dirty_tracking(fd, hwpt, true);
	do_dma(fd, dev, 0, 0, ACC_W, gpa + 5 * SZ_4K, 1, huge);
	memset(bitmap, 0, sizeof(bitmap));
	do_hwpt_get_dirty_bitmap(fd, hwpt, 0, gpa, SZ_2M, SZ_4K, bitmap);
	for (i = 0; i < DIRTY_WORDS; i++)
		ASSERT_EQ(~0ULL, bitmap[i]);
	memset(bitmap, 0, sizeof(bitmap));
	do_hwpt_get_dirty_bitmap(fd, hwpt, 0, gpa, SZ_2M, SZ_4K, bitmap);
	for (i = 0; i < DIRTY_WORDS; i++)
		ASSERT_EQ(0, bitmap[i]);
	close(fd);
	munmap(huge, SZ_2M);
}
