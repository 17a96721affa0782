// SPDX-License-Identifier: GPL-2.0
/*
 * Selftests of the nestiommu HWPT and device uAPI, as
 * include/uapi/linux/nestiommu.h documents it: HWPT_ALLOC (paging, nested),
 * DEVICE_CREATE / ATTACH / DETACH, DESTROY of objects in use, object types
 * of every ID-taking field, GET_HW_INFO, OPTION, IOAS_COPY and paging HWPTs
 * following their IOAS. The other files of hwpt_test cover translation
 * (hwpt_xlate.c), faults (hwpt_fault.c), caches and invalidation
 * (hwpt_cache.c), dirty tracking (hwpt_dirty.c), hostile tables
 * (hwpt_hostile.c), races (hwpt_race.c) and the length tests
 * (xlate_length.c). Runs as root in the test VM with the module loaded.
 */
#include <stddef.h>

#include "nest_env.h"

FIXTURE(hwpt) {
	struct nest_env e;
};

FIXTURE_SETUP(hwpt)
{
	env_setup(&self->e, NULL);
	env_map(&self->e, ENV_IOVA, DATA_GPA, SZ_4K, S1_RWU);
}

FIXTURE_TEARDOWN(hwpt)
{
	env_teardown(&self->e);
}

/* ==== allocation and types ==== */

TEST_F(hwpt, get_stats_reports_object_types)
{
	const struct { __u32 id; __u32 type; } objs[] = {
		{ self->e.parent_id, NESTIOMMU_OBJ_HWPT_PAGING },
		{ self->e.nested_id, NESTIOMMU_OBJ_HWPT_NESTED },
		{ self->e.dev_id, NESTIOMMU_OBJ_DEVICE },
	};
	struct nestiommu_xlate_stats st;
	struct nestiommu_ioas_stats ist;
	size_t i;

	for (i = 0; i < sizeof(objs) / sizeof(objs[0]); i++) {
		TH_CONTEXT("object %u", objs[i].id);
		memset(&st, 0xff, sizeof(st));
		do_xlate_stats(self->e.fd, objs[i].id, objs[i].type, &st);
		ASSERT_EQ(0, st.translations);
		ASSERT_EQ(0, st.dma_ops);
		ASSERT_EQ(0, st.inv_iotlb);
		ASSERT_EQ(0, st.faults[1][NESTIOMMU_FAULT_REASON_NR - 1]);
	}
	do_ioas_stats(self->e.fd, self->e.ioas_id, &ist);
	ASSERT_EQ(2, ist.mappings);
}

TEST_F(hwpt, ids_distinct_across_types)
{
	const __u32 ids[] = { self->e.ioas_id, self->e.parent_id, self->e.nested_id,
			      self->e.dev_id };
	size_t i, j;

	for (i = 0; i < 4; i++) {
		ASSERT_NE(0, ids[i]);
		for (j = i + 1; j < 4; j++)
			ASSERT_NE(ids[i], ids[j]);
	}
}

TEST_F(hwpt, alloc_paging_flags_combinations)
{
	const __u32 flags[] = {
		0, NESTIOMMU_HWPT_ALLOC_NEST_PARENT, NESTIOMMU_HWPT_ALLOC_DIRTY_TRACKING,
		NESTIOMMU_HWPT_ALLOC_NEST_PARENT | NESTIOMMU_HWPT_ALLOC_DIRTY_TRACKING,
	};
	size_t i;
	__u32 id;

	for (i = 0; i < 4; i++) {
		do_hwpt_alloc_paging(self->e.fd, self->e.ioas_id, flags[i], &id);
		do_destroy(self->e.fd, id);
	}
}

/* A paging HWPT is of an IOAS; pt_id of another type is ENOENT. */
TEST_F(hwpt, alloc_paging_wrong_pt_enoent)
{
	const __u32 ids[] = { self->e.parent_id, self->e.nested_id, self->e.dev_id, 0,
			      self->e.dev_id + 1000 };
	size_t i;

	for (i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
		TH_CONTEXT("pt_id %u", ids[i]);
		do_hwpt_alloc_paging_err(ENOENT, self->e.fd, ids[i], 0);
	}
}

/* A nested HWPT is of a NEST_PARENT paging HWPT. */
TEST_F(hwpt, alloc_nested_wrong_parent)
{
	const __u32 ids[] = { self->e.ioas_id, self->e.nested_id, self->e.dev_id, 0,
			      self->e.dev_id + 1000 };
	__u32 plain;
	size_t i;

	for (i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
		TH_CONTEXT("pt_id %u", ids[i]);
		do_hwpt_alloc_nested_err(ENOENT, self->e.fd, ids[i], &self->e.desc);
	}
	/* A paging HWPT without NEST_PARENT cannot be a parent. */
	do_hwpt_alloc_paging(self->e.fd, self->e.ioas_id, 0, &plain);
	do_hwpt_alloc_nested_err(EINVAL, self->e.fd, plain, &self->e.desc);
	do_hwpt_alloc_paging(self->e.fd, self->e.ioas_id, NESTIOMMU_HWPT_ALLOC_DIRTY_TRACKING,
			     &plain);
	do_hwpt_alloc_nested_err(EINVAL, self->e.fd, plain, &self->e.desc);
}

/*
 * Paging-only flags on a nested HWPT: not supported for that HWPT type
 * (EOPNOTSUPP, as iommufd answers flags a nested domain does not take).
 */
TEST_F(hwpt, alloc_nested_with_paging_flags_eopnotsupp)
{
	const __u32 flags[] = { NESTIOMMU_HWPT_ALLOC_NEST_PARENT,
				NESTIOMMU_HWPT_ALLOC_DIRTY_TRACKING };
	size_t i;

	for (i = 0; i < 2; i++) {
		struct nestiommu_hwpt_alloc cmd = {
			.size = sizeof(cmd),
			.flags = flags[i],
			.pt_id = self->e.parent_id,
			.data_type = NESTIOMMU_HWPT_DATA_S1_X86,
			.data_len = sizeof(self->e.desc),
			.data_uptr = NEST_PTR(&self->e.desc),
		};

		TH_CONTEXT("flags 0x%x", flags[i]);
		ASSERT_ERR(EOPNOTSUPP, nest_ioctl(self->e.fd, NESTIOMMU_HWPT_ALLOC, &cmd));
	}
}

/* data_type/data_len/data_uptr must agree. */
TEST_F(hwpt, alloc_data_checks)
{
	struct {
		struct nestiommu_hwpt_s1_x86 desc;
		__u64 tail;
	} big = { .desc = self->e.desc };
	struct nestiommu_hwpt_alloc cmd;
	char *hole = alloc_buffer_4k(SZ_64K, SZ_4K);
	const __u32 short_lens[] = { 0, 8, offsetof(struct nestiommu_hwpt_s1_x86, flags),
				     sizeof(struct nestiommu_hwpt_s1_x86) - 1 };
	size_t i;

	ASSERT_EQ(0, munmap(hole, SZ_64K));
#define ALLOC_CMD(_pt, _type, _len, _uptr)				\
	cmd = (struct nestiommu_hwpt_alloc){ .size = sizeof(cmd), .pt_id = (_pt), \
		.data_type = (_type), .data_len = (_len), .data_uptr = NEST_PTR(_uptr) }

	/* DATA_NONE takes no data. */
	ALLOC_CMD(self->e.ioas_id, NESTIOMMU_HWPT_DATA_NONE, 16, &big);
	ASSERT_ERR(EINVAL, nest_ioctl(self->e.fd, NESTIOMMU_HWPT_ALLOC, &cmd));
	/* Unknown data types. */
	ALLOC_CMD(self->e.parent_id, 2, sizeof(big.desc), &big);
	ASSERT_ERR(EOPNOTSUPP, nest_ioctl(self->e.fd, NESTIOMMU_HWPT_ALLOC, &cmd));
	ALLOC_CMD(self->e.parent_id, 0xffffffff, sizeof(big.desc), &big);
	ASSERT_ERR(EOPNOTSUPP, nest_ioctl(self->e.fd, NESTIOMMU_HWPT_ALLOC, &cmd));
	/* Descriptor shorter than its mandatory fields. */
	for (i = 0; i < sizeof(short_lens) / sizeof(short_lens[0]); i++) {
		TH_CONTEXT("data_len %u", short_lens[i]);
		ALLOC_CMD(self->e.parent_id, NESTIOMMU_HWPT_DATA_S1_X86, short_lens[i], &big);
		ASSERT_ERR(EINVAL, nest_ioctl(self->e.fd, NESTIOMMU_HWPT_ALLOC, &cmd));
	}
	TH_CONTEXT("%s", "");
	/* Longer: a zero tail is fine, a non-zero one E2BIG. */
	ALLOC_CMD(self->e.parent_id, NESTIOMMU_HWPT_DATA_S1_X86, sizeof(big), &big);
	ASSERT_OK(nest_ioctl(self->e.fd, NESTIOMMU_HWPT_ALLOC, &cmd));
	do_destroy(self->e.fd, cmd.out_hwpt_id);
	big.tail = 1;
	ALLOC_CMD(self->e.parent_id, NESTIOMMU_HWPT_DATA_S1_X86, sizeof(big), &big);
	ASSERT_ERR(E2BIG, nest_ioctl(self->e.fd, NESTIOMMU_HWPT_ALLOC, &cmd));
	/* Unreadable descriptor. */
	ALLOC_CMD(self->e.parent_id, NESTIOMMU_HWPT_DATA_S1_X86, sizeof(big.desc), hole);
	ASSERT_ERR(EFAULT, nest_ioctl(self->e.fd, NESTIOMMU_HWPT_ALLOC, &cmd));
#undef ALLOC_CMD
}

/* Unknown stage-1 flags are refused at allocation. */
TEST_F(hwpt, alloc_nested_unknown_s1_flags_eopnotsupp)
{
	struct nestiommu_hwpt_s1_x86 desc = self->e.desc;
	int bit;

	for (bit = 3; bit < 32; bit++) {
		TH_CONTEXT("s1 flag bit %d", bit);
		desc.flags = 1U << bit;
		do_hwpt_alloc_nested_err(EOPNOTSUPP, self->e.fd, self->e.parent_id, &desc);
	}
}

/* Many nested HWPTs may share one parent and one table tree. */
TEST_F(hwpt, alloc_nested_shared_parent)
{
	__u32 ids[8];
	int i;

	for (i = 0; i < 8; i++) {
		do_hwpt_alloc_nested(self->e.fd, self->e.parent_id, &self->e.desc, &ids[i]);
		do_device_attach(self->e.fd, self->e.dev_id, NESTIOMMU_ATTACH_PASID, 16 + i, ids[i]);
		do_dma(self->e.fd, self->e.dev_id, NESTIOMMU_DMA_PASID, 16 + i, ACC_R, ENV_IOVA, 8,
		       self->e.data + SZ_64K);
	}
	for (i = 0; i < 8; i++) {
		do_device_detach(self->e.fd, self->e.dev_id, NESTIOMMU_ATTACH_PASID, 16 + i);
		do_destroy(self->e.fd, ids[i]);
	}
}

/* ==== DESTROY of objects in use ==== */

TEST_F(hwpt, destroy_ioas_with_paging_hwpt_ebusy)
{
	__u32 ioas, hwpt;

	do_ioas_alloc(self->e.fd, &ioas);
	do_hwpt_alloc_paging(self->e.fd, ioas, 0, &hwpt);
	do_destroy_err(EBUSY, self->e.fd, ioas);
	do_destroy(self->e.fd, hwpt);
	do_destroy(self->e.fd, ioas);
}

TEST_F(hwpt, destroy_parent_with_nested_ebusy)
{
	do_device_detach(self->e.fd, self->e.dev_id, NESTIOMMU_ATTACH_PASID, self->e.pasid);
	do_destroy_err(EBUSY, self->e.fd, self->e.parent_id);
	do_destroy_err(EBUSY, self->e.fd, self->e.ioas_id);
	do_destroy(self->e.fd, self->e.nested_id);
	do_destroy_err(EBUSY, self->e.fd, self->e.ioas_id);
	do_destroy(self->e.fd, self->e.parent_id);
	do_destroy(self->e.fd, self->e.ioas_id);
}

TEST_F(hwpt, destroy_attached_hwpt_ebusy)
{
	do_destroy_err(EBUSY, self->e.fd, self->e.nested_id);
	/* The attachment still works. */
	ASSERT_EQ(0x5a, env_read_byte(&self->e, ENV_IOVA));
	do_device_detach(self->e.fd, self->e.dev_id, NESTIOMMU_ATTACH_PASID, self->e.pasid);
	do_destroy(self->e.fd, self->e.nested_id);

	/* A paging HWPT attached to a RID too. */
	do_device_attach(self->e.fd, self->e.dev_id, 0, 0, self->e.parent_id);
	do_destroy_err(EBUSY, self->e.fd, self->e.parent_id);
	do_device_detach(self->e.fd, self->e.dev_id, 0, 0);
	do_destroy(self->e.fd, self->e.parent_id);
}

/* A device goes with its attachments, and frees the HWPTs it held. */
TEST_F(hwpt, destroy_device_with_attachments)
{
	do_device_attach(self->e.fd, self->e.dev_id, 0, 0, self->e.parent_id);
	do_destroy(self->e.fd, self->e.dev_id);
	do_destroy(self->e.fd, self->e.nested_id);
	do_destroy(self->e.fd, self->e.parent_id);
	do_destroy(self->e.fd, self->e.ioas_id);
}

/* Closing a context with everything attached unpins everything. */
TEST(close_with_attached_device_unpins)
{
	static struct nest_env e;
	__u64 vmpin, pinned = module_pinned_pages();

	vmpin = vmpin_bytes();
	env_setup(&e, NULL);
	env_map(&e, ENV_IOVA, DATA_GPA, SZ_4K, S1_RWU);
	ASSERT_EQ(0x5a, env_read_byte(&e, ENV_IOVA));
	ASSERT_EQ(vmpin + POOL_LEN + DATA_LEN, vmpin_bytes());
	ASSERT_EQ(0, close(e.fd));
	ASSERT_EQ(vmpin, vmpin_bytes());
	ASSERT_EQ(pinned, module_pinned_pages());
	munmap(e.pool, POOL_LEN);
	munmap(e.data, DATA_LEN);
}

/* ==== devices ==== */

TEST_F(hwpt, device_create_hw_info)
{
	const struct { __u32 flags, rid, bits; } devs[] = {
		{ 0, 0, 0 },
		{ NESTIOMMU_DEVICE_ATS, 0xffff, NESTIOMMU_MAX_PASID_BITS },
		{ NESTIOMMU_DEVICE_ATS, 0x1234, 1 },
	};
	struct nestiommu_hw_info info;
	size_t i;
	__u32 id;

	for (i = 0; i < sizeof(devs) / sizeof(devs[0]); i++) {
		TH_CONTEXT("device %zu", i);
		do_device_create(self->e.fd, devs[i].flags, devs[i].rid, devs[i].bits, &id);
		do_hw_info(self->e.fd, id, &info);
		ASSERT_EQ(id, info.dev_id);
		ASSERT_EQ(devs[i].flags, info.out_dev_flags);
		ASSERT_EQ(devs[i].rid, info.out_dev_rid);
		ASSERT_EQ(devs[i].bits, info.out_dev_pasid_bits);
		ASSERT_EQ(devs[i].flags & NESTIOMMU_DEVICE_ATS ? 64 : 0,
			  info.out_dev_devtlb_entries);
	}
}

TEST_F(hwpt, device_create_bad_values_einval)
{
	do_device_create_err(EINVAL, self->e.fd, 0, 0x10000, 0);
	do_device_create_err(EINVAL, self->e.fd, 0, 0xffffffff, 0);
	do_device_create_err(EINVAL, self->e.fd, 0, 0x300, NESTIOMMU_MAX_PASID_BITS + 1);
	do_device_create_err(EINVAL, self->e.fd, 0, 0x300, 32);
}

TEST_F(hwpt, device_create_duplicate_rid_eexist)
{
	int fd2 = do_open();
	__u32 id;

	do_device_create_err(EEXIST, self->e.fd, 0, ENV_RID, 0);
	do_device_create_err(EEXIST, self->e.fd, NESTIOMMU_DEVICE_ATS, ENV_RID, 4);
	/* Another context has its own RIDs. */
	do_device_create(fd2, 0, ENV_RID, 0, &id);
	close(fd2);
	/* Free again once destroyed. */
	do_destroy(self->e.fd, self->e.dev_id);
	do_device_create(self->e.fd, 0, ENV_RID, 0, &id);
}

TEST_F(hwpt, device_attach_twice_ebusy)
{
	do_device_attach_err(EBUSY, self->e.fd, self->e.dev_id, NESTIOMMU_ATTACH_PASID,
			     self->e.pasid, self->e.nested_id);
	do_device_attach_err(EBUSY, self->e.fd, self->e.dev_id, NESTIOMMU_ATTACH_PASID,
			     self->e.pasid, self->e.parent_id);
	do_device_attach(self->e.fd, self->e.dev_id, 0, 0, self->e.parent_id);
	do_device_attach_err(EBUSY, self->e.fd, self->e.dev_id, 0, 0, self->e.parent_id);
	do_device_attach_err(EBUSY, self->e.fd, self->e.dev_id, 0, 0, self->e.nested_id);
	/* The same HWPT on another PASID is fine. */
	do_device_attach(self->e.fd, self->e.dev_id, NESTIOMMU_ATTACH_PASID, self->e.pasid + 1,
			 self->e.nested_id);
}

TEST_F(hwpt, device_replace_nothing_enoent)
{
	do_device_attach_err(ENOENT, self->e.fd, self->e.dev_id,
			     NESTIOMMU_ATTACH_PASID | NESTIOMMU_ATTACH_REPLACE,
			     self->e.pasid + 1, self->e.nested_id);
	do_device_attach_err(ENOENT, self->e.fd, self->e.dev_id, NESTIOMMU_ATTACH_REPLACE, 0,
			     self->e.parent_id);
}

TEST_F(hwpt, device_detach_nothing_enoent)
{
	do_device_detach_err(ENOENT, self->e.fd, self->e.dev_id, NESTIOMMU_ATTACH_PASID,
			     self->e.pasid + 1);
	do_device_detach_err(ENOENT, self->e.fd, self->e.dev_id, 0, 0);
	do_device_detach(self->e.fd, self->e.dev_id, NESTIOMMU_ATTACH_PASID, self->e.pasid);
	do_device_detach_err(ENOENT, self->e.fd, self->e.dev_id, NESTIOMMU_ATTACH_PASID,
			     self->e.pasid);
}

TEST_F(hwpt, device_attach_pasid_without_pasid_support_einval)
{
	__u32 dev;

	do_device_create(self->e.fd, 0, ENV_RID + 1, 0, &dev);
	do_device_attach_err(EINVAL, self->e.fd, dev, NESTIOMMU_ATTACH_PASID, 0,
			     self->e.nested_id);
	do_device_attach(self->e.fd, dev, 0, 0, self->e.nested_id);
}

TEST_F(hwpt, device_attach_pasid_range)
{
	/* The widest PASID of 8 bits is fine, the next is not. */
	do_device_attach(self->e.fd, self->e.dev_id, NESTIOMMU_ATTACH_PASID,
			 (1U << ENV_PASID_BITS) - 1, self->e.nested_id);
	do_device_attach(self->e.fd, self->e.dev_id, NESTIOMMU_ATTACH_PASID, 0,
			 self->e.nested_id);
	do_device_attach_err(EINVAL, self->e.fd, self->e.dev_id, NESTIOMMU_ATTACH_PASID,
			     1U << ENV_PASID_BITS, self->e.nested_id);
}

/* REPLACE switches in one step; DMA follows the new HWPT. */
TEST_F(hwpt, device_replace_switches_translation)
{
	struct nest_s1 s1b;
	struct nestiommu_hwpt_s1_x86 desc;
	__u32 other;

	memset(self->e.data, 0x11, SZ_4K);
	memset(self->e.data + SZ_4K, 0x22, SZ_4K);
	ASSERT_OK(nest_s1_init(&s1b, self->e.pool + POOL_LEN / 2, POOL_GPA + POOL_LEN / 2,
			       POOL_LEN / 2, 4));
	ASSERT_OK(nest_s1_map(&s1b, ENV_IOVA, DATA_GPA + SZ_4K, SZ_4K, S1_RWU));
	nest_s1_desc(&s1b, 0, &desc);
	do_hwpt_alloc_nested(self->e.fd, self->e.parent_id, &desc, &other);

	ASSERT_EQ(0x11, env_read_byte(&self->e, ENV_IOVA));
	do_device_attach(self->e.fd, self->e.dev_id,
			 NESTIOMMU_ATTACH_PASID | NESTIOMMU_ATTACH_REPLACE, self->e.pasid, other);
	ASSERT_EQ(0x22, env_read_byte(&self->e, ENV_IOVA));
	/* The old one is free now, the new one busy. */
	do_destroy_err(EBUSY, self->e.fd, other);
	do_destroy(self->e.fd, self->e.nested_id);
	/* Replace a nested by a paging HWPT: IOVA = GPA now. */
	do_device_attach(self->e.fd, self->e.dev_id,
			 NESTIOMMU_ATTACH_PASID | NESTIOMMU_ATTACH_REPLACE, self->e.pasid,
			 self->e.parent_id);
	ASSERT_EQ(0x22, env_read_byte(&self->e, DATA_GPA + SZ_4K));
}

/* The RID and each PASID are separate attachments. */
TEST_F(hwpt, device_rid_and_pasid_independent)
{
	memset(self->e.data, 0x44, SZ_4K);
	do_device_attach(self->e.fd, self->e.dev_id, 0, 0, self->e.parent_id);
	/* RID: stage 2 only. */
	do_dma(self->e.fd, self->e.dev_id, 0, 0, ACC_R, DATA_GPA, 8, self->e.data + SZ_64K);
	ASSERT_MEM_BYTE(self->e.data + SZ_64K, 0x44, 8);
	/* PASID: nested. */
	ASSERT_EQ(0x44, env_read_byte(&self->e, ENV_IOVA));
	do_device_detach(self->e.fd, self->e.dev_id, 0, 0);
	ASSERT_EQ(0x44, env_read_byte(&self->e, ENV_IOVA));
}

/* ==== every ID-taking field refuses an object of another type ==== */

TEST_F(hwpt, wrong_object_type_enoent)
{
	const __u32 not_ioas[] = { self->e.parent_id, self->e.nested_id, self->e.dev_id };
	const __u32 not_hwpt[] = { self->e.ioas_id, self->e.dev_id };
	const __u32 not_dev[] = { self->e.ioas_id, self->e.parent_id, self->e.nested_id };
	struct nestiommu_iova_range ranges[4];
	__u64 iova, bitmap[8], val;
	char buf[8];
	__u32 num;
	size_t i;

	for (i = 0; i < sizeof(not_ioas) / sizeof(not_ioas[0]); i++) {
		__u32 id = not_ioas[i];

		TH_CONTEXT("id %u as an IOAS", id);
		iova = SZ_1G * 8;
		do_ioas_map_err(ENOENT, self->e.fd, id, MAP_FIXED_RW, NEST_PTR(self->e.data),
				SZ_4K, &iova);
		do_ioas_unmap_err(ENOENT, self->e.fd, id, 0, UINT64_MAX);
		num = 4;
		do_ioas_iova_ranges_err(ENOENT, self->e.fd, id, ranges, &num, NULL);
		do_ioas_copy_err(ENOENT, self->e.fd, id, MAP_FIXED_RW, SZ_1G * 8,
				 self->e.ioas_id, DATA_GPA, SZ_4K);
		do_ioas_copy_err(ENOENT, self->e.fd, self->e.ioas_id, MAP_FIXED_RW, SZ_1G * 8,
				 id, DATA_GPA, SZ_4K);
		do_hwpt_alloc_paging_err(ENOENT, self->e.fd, id, 0);
		do_option_get_err(ENOENT, self->e.fd, NESTIOMMU_OPTION_HUGE_PAGES, id);
		do_option_set_err(ENOENT, self->e.fd, NESTIOMMU_OPTION_HUGE_PAGES, id, 1);
	}
	for (i = 0; i < sizeof(not_hwpt) / sizeof(not_hwpt[0]); i++) {
		__u32 id = not_hwpt[i];
		struct nestiommu_inv_entry inv = inv_entry(NESTIOMMU_INV_CACHE_IOTLB,
							   NESTIOMMU_INV_GRANU_DOMAIN, 0, 0, 0, 0, 0);

		TH_CONTEXT("id %u as a HWPT", id);
		do_hwpt_alloc_nested_err(ENOENT, self->e.fd, id, &self->e.desc);
		num = 1;
		ASSERT_ERR(ENOENT, nest_hwpt_invalidate(self->e.fd, id, &inv, sizeof(inv), &num));
		do_hwpt_set_dirty_tracking_err(ENOENT, self->e.fd, id, true);
		do_hwpt_get_dirty_bitmap_err(ENOENT, self->e.fd, id, 0, DATA_GPA, SZ_64K, SZ_4K,
					     bitmap);
		do_device_attach_err(ENOENT, self->e.fd, self->e.dev_id, NESTIOMMU_ATTACH_PASID,
				     30, id);
		do_device_attach_err(ENOENT, self->e.fd, self->e.dev_id,
				     NESTIOMMU_ATTACH_PASID | NESTIOMMU_ATTACH_REPLACE,
				     self->e.pasid, id);
	}
	for (i = 0; i < sizeof(not_dev) / sizeof(not_dev[0]); i++) {
		__u32 id = not_dev[i];
		struct nestiommu_walk_step steps[8];

		TH_CONTEXT("id %u as a device", id);
		do_device_attach_err(ENOENT, self->e.fd, id, NESTIOMMU_ATTACH_PASID, 30,
				     self->e.nested_id);
		do_device_detach_err(ENOENT, self->e.fd, id, NESTIOMMU_ATTACH_PASID, self->e.pasid);
		do_hw_info_err(ENOENT, self->e.fd, id);
		do_dma_err(ENOENT, self->e.fd, id, NESTIOMMU_DMA_PASID, self->e.pasid, ACC_R,
			   ENV_IOVA, sizeof(buf), buf);
		do_translate_err(ENOENT, self->e.fd, id, NESTIOMMU_DMA_PASID, self->e.pasid, ACC_R,
				 ENV_IOVA, steps, 8);
		do_option_get_err(ENOENT, self->e.fd, NESTIOMMU_OPTION_DEVTLB_ENTRIES, id);
	}
	/* Context options take object 0 only. */
	TH_CONTEXT("%s", "context options");
	do_option_get_err(ENOENT, self->e.fd, NESTIOMMU_OPTION_IOTLB_ENTRIES, self->e.ioas_id);
	do_option_set_err(ENOENT, self->e.fd, NESTIOMMU_OPTION_STALE_AUDIT, self->e.dev_id, 1);
	/* And nothing changed. */
	do_option_get(self->e.fd, NESTIOMMU_OPTION_IOTLB_ENTRIES, 0, &val);
	ASSERT_EQ(256, val);
	ASSERT_EQ(0x5a, env_read_byte(&self->e, ENV_IOVA));
}

/* IDs of another context do not exist here. */
TEST_F(hwpt, other_context_ids_enoent)
{
	int fd2 = do_open();
	char buf[8];

	do_dma_err(ENOENT, fd2, self->e.dev_id, NESTIOMMU_DMA_PASID, self->e.pasid, ACC_R,
		   ENV_IOVA, sizeof(buf), buf);
	do_device_attach_err(ENOENT, fd2, self->e.dev_id, NESTIOMMU_ATTACH_PASID, 30,
			     self->e.nested_id);
	do_hwpt_alloc_nested_err(ENOENT, fd2, self->e.parent_id, &self->e.desc);
	do_destroy_err(ENOENT, fd2, self->e.nested_id);
	close(fd2);
}

/* ==== GET_HW_INFO ==== */

TEST_F(hwpt, hw_info_iommu)
{
	const __u32 caps = NESTIOMMU_HW_CAP_NESTING | NESTIOMMU_HW_CAP_DIRTY_TRACKING |
			   NESTIOMMU_HW_CAP_ATS | NESTIOMMU_HW_CAP_PASID;
	struct nestiommu_hw_info info;

	memset(&info, 0xa5, sizeof(info));
	do_hw_info(self->e.fd, 0, &info);
	ASSERT_EQ(caps, info.out_capabilities & caps);
	ASSERT_EQ(0, info.out_capabilities & ~(caps | NESTIOMMU_HW_CAP_PRI));
	ASSERT_EQ(1U << NESTIOMMU_HWPT_DATA_S1_X86, info.out_s1_formats);
	ASSERT_EQ(1U << 4 | 1U << 5, info.out_s1_levels);
	ASSERT_EQ(NESTIOMMU_MAX_PASID_BITS, info.out_max_pasid_bits);
	ASSERT_EQ(SZ_4K | SZ_2M | SZ_1G, info.out_pgsize_bitmap);
	ASSERT_EQ(NESTIOMMU_IOAS_IOVA_BITS, info.out_gpa_bits);
	ASSERT_EQ(57, info.out_iova_bits);
	ASSERT_EQ(NESTIOMMU_IOTLB_DEFAULT_ENTRIES, info.out_iotlb_entries);
	ASSERT_EQ(4, info.out_iotlb_ways);
	ASSERT_EQ(NESTIOMMU_PASID_CACHE_ENTRIES, info.out_pasid_cache_entries);
	/* No device: the device fields are 0. */
	ASSERT_EQ(0, info.out_dev_flags);
	ASSERT_EQ(0, info.out_dev_rid);
	ASSERT_EQ(0, info.out_dev_pasid_bits);
	ASSERT_EQ(0, info.out_dev_devtlb_entries);
	ASSERT_EQ(0, info.__reserved);
}

TEST_F(hwpt, hw_info_unknown_device_enoent)
{
	do_hw_info_err(ENOENT, self->e.fd, self->e.dev_id + 1000);
}

/* ==== OPTION ==== */

TEST_F(hwpt, option_iotlb_entries)
{
	const __u64 good[] = {
		NESTIOMMU_IOTLB_MIN_ENTRIES, 2 * NESTIOMMU_IOTLB_MIN_ENTRIES,
		1024, NESTIOMMU_IOTLB_MAX_ENTRIES, NESTIOMMU_IOTLB_DEFAULT_ENTRIES
	};
	const __u64 bad[] = {
		0, NESTIOMMU_IOTLB_MIN_ENTRIES / 2, NESTIOMMU_IOTLB_MIN_ENTRIES - 1,
		NESTIOMMU_IOTLB_MIN_ENTRIES + 1, 100,
		2 * NESTIOMMU_IOTLB_MAX_ENTRIES, 1ULL << 32
	};
	struct nestiommu_hw_info info;
	size_t i;

	check_option(self->e.fd, NESTIOMMU_OPTION_IOTLB_ENTRIES, 0,
		     NESTIOMMU_IOTLB_DEFAULT_ENTRIES);
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		TH_CONTEXT("%llu entries", (unsigned long long)good[i]);
		do_option_set(self->e.fd, NESTIOMMU_OPTION_IOTLB_ENTRIES, 0, good[i]);
		check_option(self->e.fd, NESTIOMMU_OPTION_IOTLB_ENTRIES, 0, good[i]);
		do_hw_info(self->e.fd, 0, &info);
		ASSERT_EQ(good[i], info.out_iotlb_entries);
		/* Translation still works with that size. */
		ASSERT_EQ(0x5a, env_read_byte(&self->e, ENV_IOVA));
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		TH_CONTEXT("%llu entries", (unsigned long long)bad[i]);
		do_option_set_err(EINVAL, self->e.fd, NESTIOMMU_OPTION_IOTLB_ENTRIES, 0, bad[i]);
	}
	check_option(self->e.fd, NESTIOMMU_OPTION_IOTLB_ENTRIES, 0,
		     NESTIOMMU_IOTLB_DEFAULT_ENTRIES);
}

TEST_F(hwpt, option_iotlb_entries_per_context)
{
	int fd2 = do_open();

	do_option_set(self->e.fd, NESTIOMMU_OPTION_IOTLB_ENTRIES, 0,
		      NESTIOMMU_IOTLB_MIN_ENTRIES);
	check_option(fd2, NESTIOMMU_OPTION_IOTLB_ENTRIES, 0,
		     NESTIOMMU_IOTLB_DEFAULT_ENTRIES);
	close(fd2);
}

TEST_F(hwpt, option_devtlb_entries)
{
	const __u64 good[] = {
		NESTIOMMU_DEVTLB_MIN_ENTRIES, 2 * NESTIOMMU_DEVTLB_MIN_ENTRIES,
		NESTIOMMU_DEVTLB_MAX_ENTRIES, NESTIOMMU_DEVTLB_DEFAULT_ENTRIES
	};
	const __u64 bad[] = {
		0, NESTIOMMU_DEVTLB_MIN_ENTRIES / 2, NESTIOMMU_DEVTLB_MIN_ENTRIES + 1,
		100, 2 * NESTIOMMU_DEVTLB_MAX_ENTRIES
	};
	struct nestiommu_hw_info info;
	__u32 ats;
	size_t i;

	do_device_create(self->e.fd, NESTIOMMU_DEVICE_ATS, ENV_RID + 1, 8, &ats);
	check_option(self->e.fd, NESTIOMMU_OPTION_DEVTLB_ENTRIES, ats,
		     NESTIOMMU_DEVTLB_DEFAULT_ENTRIES);
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		TH_CONTEXT("%llu entries", (unsigned long long)good[i]);
		do_option_set(self->e.fd, NESTIOMMU_OPTION_DEVTLB_ENTRIES, ats, good[i]);
		check_option(self->e.fd, NESTIOMMU_OPTION_DEVTLB_ENTRIES, ats, good[i]);
		do_hw_info(self->e.fd, ats, &info);
		ASSERT_EQ(good[i], info.out_dev_devtlb_entries);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		TH_CONTEXT("%llu entries", (unsigned long long)bad[i]);
		do_option_set_err(EINVAL, self->e.fd, NESTIOMMU_OPTION_DEVTLB_ENTRIES, ats, bad[i]);
	}
}

TEST_F(hwpt, option_huge_pages)
{
	__u32 ioas, hwpt;

	do_ioas_alloc(self->e.fd, &ioas);
	check_option(self->e.fd, NESTIOMMU_OPTION_HUGE_PAGES, ioas, 1);
	do_option_set(self->e.fd, NESTIOMMU_OPTION_HUGE_PAGES, ioas, 0);
	check_option(self->e.fd, NESTIOMMU_OPTION_HUGE_PAGES, ioas, 0);
	do_option_set_err(EINVAL, self->e.fd, NESTIOMMU_OPTION_HUGE_PAGES, ioas, 2);
	do_option_set_err(EINVAL, self->e.fd, NESTIOMMU_OPTION_HUGE_PAGES, ioas, ~0ULL);
	/* Frozen while a paging HWPT of the IOAS exists. */
	do_hwpt_alloc_paging(self->e.fd, ioas, 0, &hwpt);
	do_option_set_err(EBUSY, self->e.fd, NESTIOMMU_OPTION_HUGE_PAGES, ioas, 1);
	check_option(self->e.fd, NESTIOMMU_OPTION_HUGE_PAGES, ioas, 0);
	do_destroy(self->e.fd, hwpt);
	do_option_set(self->e.fd, NESTIOMMU_OPTION_HUGE_PAGES, ioas, 1);
	check_option(self->e.fd, NESTIOMMU_OPTION_HUGE_PAGES, ioas, 1);
	/* The env's IOAS has its parent. */
	do_option_set_err(EBUSY, self->e.fd, NESTIOMMU_OPTION_HUGE_PAGES, self->e.ioas_id, 0);
}

TEST_F(hwpt, option_stale_audit)
{
	check_option(self->e.fd, NESTIOMMU_OPTION_STALE_AUDIT, 0, 0);
	do_option_set(self->e.fd, NESTIOMMU_OPTION_STALE_AUDIT, 0, 1);
	check_option(self->e.fd, NESTIOMMU_OPTION_STALE_AUDIT, 0, 1);
	do_option_set_err(EINVAL, self->e.fd, NESTIOMMU_OPTION_STALE_AUDIT, 0, 2);
	do_option_set(self->e.fd, NESTIOMMU_OPTION_STALE_AUDIT, 0, 0);
	check_option(self->e.fd, NESTIOMMU_OPTION_STALE_AUDIT, 0, 0);
}

TEST_F(hwpt, option_unknown_option_or_op_eopnotsupp)
{
	const __u32 bad_ids[] = { 0, NESTIOMMU_OPTION_PRI_TIMEOUT_MS + 1, 99, 0xffffffff };
	struct nestiommu_option cmd;
	size_t i;

	for (i = 0; i < sizeof(bad_ids) / sizeof(bad_ids[0]); i++) {
		TH_CONTEXT("option %u", bad_ids[i]);
		do_option_set_err(EOPNOTSUPP, self->e.fd, bad_ids[i], 0, 1);
		do_option_get_err(EOPNOTSUPP, self->e.fd, bad_ids[i], 0);
	}
	TH_CONTEXT("%s", "op 2");
	cmd = (struct nestiommu_option){
		.size = sizeof(cmd),
		.option_id = NESTIOMMU_OPTION_IOTLB_ENTRIES,
		.op = 2,
	};
	ASSERT_ERR(EOPNOTSUPP, nest_ioctl(self->e.fd, NESTIOMMU_OPTION, &cmd));
	cmd.op = 0xffff;
	ASSERT_ERR(EOPNOTSUPP, nest_ioctl(self->e.fd, NESTIOMMU_OPTION, &cmd));
}

/* ==== IOAS_COPY ==== */

#define COPY_GPA	(8 * SZ_1G)

/* A second IOAS with a paging HWPT on a second device's RID. */
struct copy_dst {
	__u32 ioas, hwpt, dev;
};

static void copy_dst_setup(struct nest_env *e, struct copy_dst *d)
{
	do_ioas_alloc(e->fd, &d->ioas);
	do_hwpt_alloc_paging(e->fd, d->ioas, 0, &d->hwpt);
	do_device_create(e->fd, 0, ENV_RID + 1, 0, &d->dev);
	do_device_attach(e->fd, d->dev, 0, 0, d->hwpt);
}

TEST_F(hwpt, ioas_copy_data_visible_both_ways)
{
	struct nestiommu_ioas_stats st;
	struct copy_dst d;
	__u64 iova = COPY_GPA, vmpin;
	char buf[32];

	copy_dst_setup(&self->e, &d);
	vmpin = vmpin_bytes();
	do_ioas_copy(self->e.fd, d.ioas, MAP_FIXED_RW, &iova, self->e.ioas_id,
		     DATA_GPA + SZ_64K, SZ_64K);
	ASSERT_EQ(COPY_GPA, iova);
	/* No pages pinned again. */
	ASSERT_EQ(vmpin, vmpin_bytes());
	do_ioas_stats(self->e.fd, d.ioas, &st);
	ASSERT_EQ(1, st.mappings);
	ASSERT_EQ(SZ_64K, st.mapped_bytes);

	fill_pattern(self->e.data + SZ_64K + 0x100, 32, 3);
	do_dma(self->e.fd, d.dev, 0, 0, ACC_R, COPY_GPA + 0x100, sizeof(buf), buf);
	ASSERT_MEM_EQ(buf, self->e.data + SZ_64K + 0x100, sizeof(buf));
	fill_pattern(buf, sizeof(buf), 4);
	do_dma(self->e.fd, d.dev, 0, 0, ACC_W, COPY_GPA + SZ_4K, sizeof(buf), buf);
	ASSERT_MEM_EQ(self->e.data + SZ_64K + SZ_4K, buf, sizeof(buf));
}

TEST_F(hwpt, ioas_copy_survives_source_unmap)
{
	struct copy_dst d;
	__u64 iova = COPY_GPA;
	char buf[8];

	copy_dst_setup(&self->e, &d);
	do_ioas_copy(self->e.fd, d.ioas, MAP_FIXED_RW, &iova, self->e.ioas_id, DATA_GPA,
		     DATA_LEN);
	do_device_detach(self->e.fd, self->e.dev_id, NESTIOMMU_ATTACH_PASID, self->e.pasid);
	do_ioas_unmap(self->e.fd, self->e.ioas_id, DATA_GPA, DATA_LEN, DATA_LEN);
	memset(self->e.data + 0x3000, 0x66, 8);
	do_dma(self->e.fd, d.dev, 0, 0, ACC_R, COPY_GPA + 0x3000, sizeof(buf), buf);
	ASSERT_MEM_BYTE(buf, 0x66, sizeof(buf));
	/* Still pinned by the copy; unpinned when it goes too. */
	do_ioas_unmap(self->e.fd, d.ioas, COPY_GPA, DATA_LEN, DATA_LEN);
	check_ioas_mapped(self->e.fd, d.ioas, 0, 0, 0);
}

TEST_F(hwpt, ioas_copy_kernel_chosen_and_same_ioas)
{
	__u64 iova = 0;
	char buf[8];

	/* Into the same IOAS, at a kernel-chosen IOVA; the RID sees it. */
	do_ioas_copy(self->e.fd, self->e.ioas_id, MAP_RW, &iova, self->e.ioas_id, DATA_GPA,
		     SZ_64K);
	/* The lowest free IOVA aligned for 64K. */
	ASSERT_EQ(0, iova);
	do_device_attach(self->e.fd, self->e.dev_id, 0, 0, self->e.parent_id);
	memset(self->e.data + 0x10, 0x67, 8);
	do_dma(self->e.fd, self->e.dev_id, 0, 0, ACC_R, iova + 0x10, sizeof(buf), buf);
	ASSERT_MEM_BYTE(buf, 0x67, sizeof(buf));
}

TEST_F(hwpt, ioas_copy_source_not_in_one_mapping_enoent)
{
	struct copy_dst d;
	__u64 gpa2 = DATA_GPA + DATA_LEN;

	copy_dst_setup(&self->e, &d);
	/* A second mapping right after the data: adjacent, still two. */
	do_ioas_map_fixed(self->e.fd, self->e.ioas_id, self->e.pool, SZ_64K, gpa2);
	do_ioas_copy_err(ENOENT, self->e.fd, d.ioas, MAP_FIXED_RW, COPY_GPA, self->e.ioas_id,
			 gpa2 - SZ_4K, 2 * SZ_4K);
	do_ioas_copy_err(ENOENT, self->e.fd, d.ioas, MAP_FIXED_RW, COPY_GPA, self->e.ioas_id,
			 DATA_GPA - SZ_4K, 2 * SZ_4K);
	do_ioas_copy_err(ENOENT, self->e.fd, d.ioas, MAP_FIXED_RW, COPY_GPA, self->e.ioas_id,
			 GPA_HOLE_L3, SZ_4K);
	do_ioas_copy_err(ENOENT, self->e.fd, d.ioas, MAP_FIXED_RW, COPY_GPA, self->e.ioas_id,
			 gpa2, SZ_64K + SZ_4K);
	check_ioas_mapped(self->e.fd, d.ioas, 0, 0, 0);
}

TEST_F(hwpt, ioas_copy_writeable_from_read_only_einval)
{
	char *ro = alloc_buffer_4k(SZ_64K, SZ_64K);
	__u64 gpa = DATA_GPA + 4 * SZ_1M, iova = COPY_GPA;
	struct copy_dst d;

	copy_dst_setup(&self->e, &d);
	do_ioas_map(self->e.fd, self->e.ioas_id,
		    NESTIOMMU_IOAS_MAP_READABLE | NESTIOMMU_IOAS_MAP_FIXED_IOVA, NEST_PTR(ro),
		    SZ_64K, &gpa);
	do_ioas_copy_err(EINVAL, self->e.fd, d.ioas, MAP_FIXED_RW, COPY_GPA, self->e.ioas_id,
			 gpa, SZ_64K);
	do_ioas_copy_err(EINVAL, self->e.fd, d.ioas,
			 NESTIOMMU_IOAS_MAP_WRITEABLE | NESTIOMMU_IOAS_MAP_FIXED_IOVA, COPY_GPA,
			 self->e.ioas_id, gpa, SZ_64K);
	do_ioas_copy(self->e.fd, d.ioas,
		     NESTIOMMU_IOAS_MAP_READABLE | NESTIOMMU_IOAS_MAP_FIXED_IOVA, &iova,
		     self->e.ioas_id, gpa, SZ_64K);
	/* The copy is read-only too. */
	struct nestiommu_dma dma;
	char buf[8];

	do_dma_fault(self->e.fd, d.dev, 0, 0, ACC_W, COPY_GPA, sizeof(buf), buf, &dma);
	check_fault_exp(&dma.out_fault, (struct fault_exp){
		.addr = COPY_GPA, .reason = NESTIOMMU_FAULT_REASON_PERMISSION,
		.stage = 2, .level = ANY, .flags = NESTIOMMU_FAULT_F_GPA_VALID,
		.fetch_addr = COPY_GPA });
	close(self->e.fd);
	self->e.fd = -1;
	munmap(ro, SZ_64K);
}

TEST_F(hwpt, ioas_copy_bad_args)
{
	struct copy_dst d;
	__u64 iova = COPY_GPA;

	copy_dst_setup(&self->e, &d);
	/* length 0, unaligned lengths and IOVAs, no prot */
	do_ioas_copy_err(EINVAL, self->e.fd, d.ioas, MAP_FIXED_RW, COPY_GPA, self->e.ioas_id,
			 DATA_GPA, 0);
	do_ioas_copy_err(EINVAL, self->e.fd, d.ioas, MAP_FIXED_RW, COPY_GPA, self->e.ioas_id,
			 DATA_GPA, SZ_4K + 1);
	do_ioas_copy_err(EINVAL, self->e.fd, d.ioas, MAP_FIXED_RW, COPY_GPA + 0x800,
			 self->e.ioas_id, DATA_GPA, SZ_4K);
	do_ioas_copy_err(EINVAL, self->e.fd, d.ioas, MAP_FIXED_RW, COPY_GPA, self->e.ioas_id,
			 DATA_GPA + 0x800, SZ_4K);
	do_ioas_copy_err(EINVAL, self->e.fd, d.ioas, NESTIOMMU_IOAS_MAP_FIXED_IOVA, COPY_GPA,
			 self->e.ioas_id, DATA_GPA, SZ_4K);
	/* Outside the allowed IOVA ranges. */
	do_ioas_copy_err(EINVAL, self->e.fd, d.ioas, MAP_FIXED_RW, MSI_START, self->e.ioas_id,
			 DATA_GPA, SZ_4K);
	do_ioas_copy_err(EINVAL, self->e.fd, d.ioas, MAP_FIXED_RW, IOVA_LIMIT - SZ_4K,
			 self->e.ioas_id, DATA_GPA, 2 * SZ_4K);
	/* Overlapping an existing mapping. */
	do_ioas_copy(self->e.fd, d.ioas, MAP_FIXED_RW, &iova, self->e.ioas_id, DATA_GPA, SZ_64K);
	do_ioas_copy_err(EEXIST, self->e.fd, d.ioas, MAP_FIXED_RW, COPY_GPA + SZ_4K,
			 self->e.ioas_id, DATA_GPA, SZ_4K);
	/* Wrapping ranges. */
	do_ioas_copy_err(EOVERFLOW, self->e.fd, d.ioas, MAP_FIXED_RW, COPY_GPA, self->e.ioas_id,
			 ~0xfffULL, 2 * SZ_4K);
}

/* ==== a paging HWPT follows its IOAS ==== */

TEST_F(hwpt, paging_hwpt_follows_ioas_map_and_unmap)
{
	char *late = alloc_buffer_4k(SZ_64K, SZ_64K);
	const __u64 gpa = 3 * SZ_1G;
	struct nestiommu_dma dma;
	char buf[8];

	do_device_attach(self->e.fd, self->e.dev_id, 0, 0, self->e.parent_id);
	/* Mapped after HWPT_ALLOC: reachable. */
	memset(late, 0x71, SZ_64K);
	do_ioas_map_fixed(self->e.fd, self->e.ioas_id, late, SZ_64K, gpa);
	do_dma(self->e.fd, self->e.dev_id, 0, 0, ACC_R, gpa + SZ_4K, sizeof(buf), buf);
	ASSERT_MEM_BYTE(buf, 0x71, sizeof(buf));
	/* Through the nested HWPT too (its stage 2 is the same). */
	env_map(&self->e, ENV_IOVA + SZ_4K, gpa, SZ_4K, S1_RWU);
	ASSERT_EQ(0x71, env_read_byte(&self->e, ENV_IOVA + SZ_4K));
	/* Unmapped: faults, on both. */
	do_ioas_unmap(self->e.fd, self->e.ioas_id, gpa, SZ_64K, SZ_64K);
	do_dma_fault(self->e.fd, self->e.dev_id, 0, 0, ACC_R, gpa + SZ_4K, sizeof(buf), buf, &dma);
	check_fault_exp(&dma.out_fault, (struct fault_exp){
		.addr = gpa + SZ_4K,
		.reason = NESTIOMMU_FAULT_REASON_PTE_FETCH, .stage = 2,
		.level = ANY, .flags = NESTIOMMU_FAULT_F_GPA_VALID,
		.fetch_addr = gpa + SZ_4K });
	env_dma_fault(&self->e, ACC_R, ENV_IOVA + SZ_4K, sizeof(buf), buf, &dma);
	check_fault_exp(&dma.out_fault, (struct fault_exp){
		.addr = ENV_IOVA + SZ_4K,
		.reason = NESTIOMMU_FAULT_REASON_PTE_FETCH, .stage = 2,
		.level = ANY, .flags = NESTIOMMU_FAULT_F_GPA_VALID,
		.fetch_addr = gpa });
	/* Mapped again (another buffer): that one is reached. */
	memset(late, 0x72, SZ_64K);
	do_ioas_map_fixed(self->e.fd, self->e.ioas_id, late, SZ_64K, gpa);
	ASSERT_EQ(0x72, env_read_byte(&self->e, ENV_IOVA + SZ_4K));
	close(self->e.fd);
	self->e.fd = -1;
	munmap(late, SZ_64K);
}

/* Unmap-all also empties the paging HWPT. */
TEST_F(hwpt, paging_hwpt_follows_unmap_all)
{
	struct nestiommu_dma dma;
	char buf[8];

	do_device_attach(self->e.fd, self->e.dev_id, 0, 0, self->e.parent_id);
	do_dma(self->e.fd, self->e.dev_id, 0, 0, ACC_R, DATA_GPA, sizeof(buf), buf);
	do_ioas_unmap(self->e.fd, self->e.ioas_id, 0, UINT64_MAX, POOL_LEN + DATA_LEN);
	do_dma_fault(self->e.fd, self->e.dev_id, 0, 0, ACC_R, DATA_GPA, sizeof(buf), buf, &dma);
	ASSERT_EQ(NESTIOMMU_FAULT_REASON_PTE_FETCH, dma.out_fault.reason);
	ASSERT_EQ(2, dma.out_fault.stage);
	/* The nested walk cannot fetch its root any more. */
	env_dma_fault(&self->e, ACC_R, ENV_IOVA, sizeof(buf), buf, &dma);
	ASSERT_EQ(NESTIOMMU_FAULT_F_TABLE_FETCH,
		  dma.out_fault.flags & NESTIOMMU_FAULT_F_TABLE_FETCH);
}

/* ==== stage-2 tables after UNMAP ==== */

#define REUSE_IOVA	0x200000000ULL	/* 8 GiB: 1 GiB aligned, nothing near */

/*
 * What an UNMAP leaves in the paging HWPT never makes a later MAP fail:
 * 4 KiB, 2 MiB and 1 GiB mappings (hugetlb, so stage 2 uses leaves of
 * their size) one after another at the same IOVAs. The device reaches the
 * paging HWPT on its RID (IOVA = GPA); ATS, so the device TLB is checked
 * as well as the IOTLB.
 */
FIXTURE(s2_reuse) {
	struct nest_env e;
	char *small;		/* two 4 KiB pages */
	char *huge;		/* two 2 MiB hugetlb pages */
	__u64 bitmap[SZ_2M / SZ_4K / 64];
};

FIXTURE_SETUP(s2_reuse)
{
	struct nest_env_opts o = {
		.rid = true,
		.no_nested = true,
		.dev_flags = NESTIOMMU_DEVICE_ATS,
		.parent_flags = NESTIOMMU_HWPT_ALLOC_DIRTY_TRACKING,
	};

	env_setup(&self->e, &o);
	do_device_attach(self->e.fd, self->e.dev_id, 0, 0, self->e.parent_id);
	self->small = alloc_buffer_4k(2 * SZ_4K, SZ_2M);
	fill_pattern(self->small, 2 * SZ_4K, 1);
	self->huge = alloc_hugetlb(2 * SZ_2M, SZ_2M);
	fill_pattern(self->huge, 2 * SZ_2M, 2);
}

FIXTURE_TEARDOWN(s2_reuse)
{
	env_teardown(&self->e);	/* unpins before the memory goes */
	munmap(self->small, 2 * SZ_4K);
	munmap(self->huge, 2 * SZ_2M);
}

/*
 * @iova translates to @uva with a @size stage-2 page, and a DMA read
 * there returns what @uva holds (no stale IOTLB or device-TLB entry).
 */
static void reuse_check(FIXTURE_DATA(s2_reuse) *self, __u64 iova, const char *uva,
			__u64 size)
{
	struct nestiommu_walk_step steps[8];
	struct nestiommu_translate xl;
	char buf[64];
	int i;

	TH_CONTEXT("IOVA 0x%llx", (unsigned long long)iova);
	do_translate(self->e.fd, self->e.dev_id, 0, 0, ACC_R, iova, steps, 8, &xl);
	ASSERT_EQ(size, xl.out_page_size);
	ASSERT_EQ(NEST_PTR(uva), xl.out_user_va);
	/* twice: the second read is served by the caches */
	for (i = 0; i < 2; i++) {
		memset(buf, 0, sizeof(buf));
		do_dma(self->e.fd, self->e.dev_id, 0, 0, ACC_R, iova, sizeof(buf), buf);
		ASSERT_MEM_EQ(buf, uva, sizeof(buf));
	}
	harness_current.context[0] = '\0';
}

TEST_F(s2_reuse, fixed_iova_4k_2m_1g_4k)
{
	const __u64 x = REUSE_IOVA;
	char *giant = alloc_hugetlb(SZ_1G, SZ_1G);

	do_ioas_map_fixed(self->e.fd, self->e.ioas_id, self->small, SZ_4K, x);
	reuse_check(self, x + 0x100, self->small + 0x100, SZ_4K);
	do_ioas_unmap(self->e.fd, self->e.ioas_id, x, SZ_4K, SZ_4K);
	do_ioas_map_fixed(self->e.fd, self->e.ioas_id, self->huge, SZ_2M, x);
	reuse_check(self, x + 0x100, self->huge + 0x100, SZ_2M);
	do_ioas_unmap(self->e.fd, self->e.ioas_id, x, SZ_2M, SZ_2M);
	do_ioas_map_fixed(self->e.fd, self->e.ioas_id, giant, SZ_1G, x);
	reuse_check(self, x + 0x100, giant + 0x100, SZ_1G);
	reuse_check(self, x + SZ_2M + 0x40, giant + SZ_2M + 0x40, SZ_1G);
	do_ioas_unmap(self->e.fd, self->e.ioas_id, x, SZ_1G, SZ_1G);
	do_ioas_map_fixed(self->e.fd, self->e.ioas_id, self->small + SZ_4K, SZ_4K,
			  x + SZ_4K);
	reuse_check(self, x + SZ_4K, self->small + SZ_4K, SZ_4K);
	do_ioas_unmap(self->e.fd, self->e.ioas_id, x, SZ_1G, SZ_4K);
	/* and the 1 GiB once more where the 4 KiB was */
	do_ioas_map_fixed(self->e.fd, self->e.ioas_id, giant, SZ_1G, x);
	reuse_check(self, x + SZ_4K, giant + SZ_4K, SZ_1G);
	do_ioas_unmap(self->e.fd, self->e.ioas_id, x, SZ_1G, SZ_1G);
	munmap(giant, SZ_1G);
}

/* A huge page goes in once the last small mapping under it is unmapped. */
TEST_F(s2_reuse, partial_unmaps)
{
	const __u64 x = REUSE_IOVA;
	char *giant = alloc_hugetlb(SZ_1G, SZ_1G);

	do_ioas_map_fixed(self->e.fd, self->e.ioas_id, self->huge + SZ_2M, SZ_2M, x + SZ_2M);
	do_ioas_map_fixed(self->e.fd, self->e.ioas_id, self->small, SZ_4K, x);
	do_ioas_map_fixed(self->e.fd, self->e.ioas_id, self->small + SZ_4K, SZ_4K,
			  x + 2 * SZ_4K);
	reuse_check(self, x, self->small, SZ_4K);
	do_ioas_unmap(self->e.fd, self->e.ioas_id, x, SZ_4K, SZ_4K);
	/* x + 8K is still mapped: that one is in the way, rightly */
	do_ioas_map_fixed_err(EEXIST, self->e.fd, self->e.ioas_id, self->huge, SZ_2M, x);
	reuse_check(self, x + 2 * SZ_4K, self->small + SZ_4K, SZ_4K);
	do_ioas_unmap(self->e.fd, self->e.ioas_id, x + 2 * SZ_4K, SZ_4K, SZ_4K);
	do_ioas_map_fixed(self->e.fd, self->e.ioas_id, self->huge, SZ_2M, x);
	reuse_check(self, x, self->huge, SZ_2M);
	reuse_check(self, x + 2 * SZ_4K, self->huge + 2 * SZ_4K, SZ_2M);
	reuse_check(self, x + SZ_2M, self->huge + SZ_2M, SZ_2M);
	/* both 2 MiB mappings in one UNMAP, then the 1 GiB over them */
	do_ioas_unmap(self->e.fd, self->e.ioas_id, x, SZ_1G, 2 * SZ_2M);
	do_ioas_map_fixed(self->e.fd, self->e.ioas_id, giant, SZ_1G, x);
	reuse_check(self, x + SZ_2M, giant + SZ_2M, SZ_1G);
	do_ioas_unmap(self->e.fd, self->e.ioas_id, x, SZ_1G, SZ_1G);
	munmap(giant, SZ_1G);
}

/*
 * Without FIXED_IOVA the kernel picks the lowest free IOVA with the
 * alignment of the memory: where a 4 KiB mapping just was.
 */
TEST_F(s2_reuse, kernel_chosen_iova)
{
	char *giant = alloc_hugetlb(SZ_1G, SZ_1G);
	__u64 iova, small_iova, giant_iova;

	do_ioas_map(self->e.fd, self->e.ioas_id, MAP_RW, NEST_PTR(self->small), SZ_4K,
		    &small_iova);
	reuse_check(self, small_iova, self->small, SZ_4K);
	do_ioas_unmap(self->e.fd, self->e.ioas_id, small_iova, SZ_4K, SZ_4K);
	do_ioas_map(self->e.fd, self->e.ioas_id, MAP_RW, NEST_PTR(self->huge), SZ_2M, &iova);
	/* the 2 MiB page is where the 4 KiB page was */
	ASSERT_EQ(small_iova & ~(SZ_2M - 1), iova);
	reuse_check(self, small_iova, self->huge + (small_iova - iova), SZ_2M);
	do_ioas_unmap(self->e.fd, self->e.ioas_id, iova, SZ_2M, SZ_2M);

	/* 1 GiB: a 4 KiB page where the kernel puts it, unmapped first */
	do_ioas_map(self->e.fd, self->e.ioas_id, MAP_RW, NEST_PTR(giant), SZ_1G, &giant_iova);
	do_ioas_unmap(self->e.fd, self->e.ioas_id, giant_iova, SZ_1G, SZ_1G);
	do_ioas_map_fixed(self->e.fd, self->e.ioas_id, self->small, SZ_4K,
			  giant_iova + SZ_2M + SZ_4K);
	reuse_check(self, giant_iova + SZ_2M + SZ_4K, self->small, SZ_4K);
	do_ioas_unmap(self->e.fd, self->e.ioas_id, giant_iova + SZ_2M + SZ_4K, SZ_4K, SZ_4K);
	do_ioas_map(self->e.fd, self->e.ioas_id, MAP_RW, NEST_PTR(giant), SZ_1G, &iova);
	ASSERT_EQ(giant_iova, iova);
	reuse_check(self, iova + SZ_2M + SZ_4K, giant + SZ_2M + SZ_4K, SZ_1G);
	do_ioas_unmap(self->e.fd, self->e.ioas_id, iova, SZ_1G, SZ_1G);
	munmap(giant, SZ_1G);
}

/* Of [REUSE_IOVA, +2M), exactly pages @first .. @first + @nr - 1 are dirty. */
static void reuse_check_dirty(FIXTURE_DATA(s2_reuse) *self, __u64 first, __u64 nr)
{
	unsigned int i;

	memset(self->bitmap, 0, sizeof(self->bitmap));
	do_hwpt_get_dirty_bitmap(self->e.fd, self->e.parent_id,
				 NESTIOMMU_HWPT_GET_DIRTY_BITMAP_NO_CLEAR, REUSE_IOVA, SZ_2M,
				 SZ_4K, self->bitmap);
	for (i = 0; i < SZ_2M / SZ_4K; i++) {
		bool dirty = self->bitmap[i / 64] & (1ULL << (i % 64));

		if (dirty != (i >= first && i < first + nr))
			TH_LOG("page %u: dirty %d, expected pages %llu..%llu", i, dirty,
			       (unsigned long long)first,
			       (unsigned long long)(first + nr - 1));
		ASSERT_EQ(i >= first && i < first + nr, dirty);
	}
}

/*
 * Dirty tracking across a remap: a page written before its UNMAP does not
 * show through the 2 MiB page mapped there next, whose write marks all of
 * it (the leaf's granularity); then a 4 KiB page again, just itself.
 */
TEST_F(s2_reuse, dirty_tracking_after_remap)
{
	const __u64 x = REUSE_IOVA;
	char buf[16] = "dirty";

	do_hwpt_set_dirty_tracking(self->e.fd, self->e.parent_id, true);
	do_ioas_map_fixed(self->e.fd, self->e.ioas_id, self->small, SZ_4K, x + 5 * SZ_4K);
	do_dma(self->e.fd, self->e.dev_id, 0, 0, ACC_W, x + 5 * SZ_4K, sizeof(buf), buf);
	reuse_check_dirty(self, 5, 1);
	do_ioas_unmap(self->e.fd, self->e.ioas_id, x, SZ_2M, SZ_4K);
	do_ioas_map_fixed(self->e.fd, self->e.ioas_id, self->huge, SZ_2M, x);
	reuse_check_dirty(self, 0, 0);
	do_dma(self->e.fd, self->e.dev_id, 0, 0, ACC_W, x + 7 * SZ_4K, sizeof(buf), buf);
	ASSERT_MEM_EQ(self->huge + 7 * SZ_4K, buf, sizeof(buf));
	reuse_check_dirty(self, 0, SZ_2M / SZ_4K);
	do_ioas_unmap(self->e.fd, self->e.ioas_id, x, SZ_2M, SZ_2M);
	do_ioas_map_fixed(self->e.fd, self->e.ioas_id, self->small + SZ_4K, SZ_4K,
			  x + 9 * SZ_4K);
	reuse_check_dirty(self, 0, 0);
	do_dma(self->e.fd, self->e.dev_id, 0, 0, ACC_W, x + 9 * SZ_4K, sizeof(buf), buf);
	reuse_check_dirty(self, 9, 1);
	ASSERT_MEM_EQ(self->small + SZ_4K, buf, sizeof(buf));
}

TEST_HARNESS_MAIN
