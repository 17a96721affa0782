// SPDX-License-Identifier: GPL-2.0
/*
 * Length tests of the HWPT, device, DMA and translation ioctls (those of the
 * IOAS ioctls are in ioas_length.c): every ioctl accepts any struct size
 * from its minimum (the end of its last mandatory field) up, as long as the
 * bytes past the kernel's struct are zero:
 *   size below the minimum   EINVAL, and nothing happens
 *   non-zero tail            E2BIG, and nothing happens
 *   zero tail                behaves exactly like the exact size
 * and refuses, with EOPNOTSUPP and no effect, a non-zero __reserved field
 * and every unknown flag. One variant per ioctl: prepare() fills a valid
 * struct, check_done() verifies the ioctl's effect and undoes it,
 * check_not_done() verifies that a rejected call had no effect (NULL where
 * none would be observable).
 */
#include <stddef.h>

#include "nest_env.h"

#define offsetofend(type, member) \
	(offsetof(type, member) + sizeof(((type *)0)->member))

#define LEN_PASID	9		/* attached and detached by the cases */
#define LEN_RID		0x0200		/* created by the cases */
#define COPY_IOVA	(8 * SZ_1G)

FIXTURE(length) {
	struct nest_env e;
	__u32 ioas2;			/* IOAS_COPY destination */
	char buf[64];
	__u64 bitmap[4];
	struct nestiommu_inv_entry inv;
	struct nestiommu_walk_step steps[64];
	__u64 base;			/* a counter before the call */
	union {
		struct nestiommu_option option;
		struct nestiommu_ioas_copy ioas_copy;
		struct nestiommu_hwpt_alloc hwpt_alloc;
		struct nestiommu_hwpt_invalidate hwpt_invalidate;
		struct nestiommu_hwpt_set_dirty_tracking hwpt_set_dirty_tracking;
		struct nestiommu_hwpt_get_dirty_bitmap hwpt_get_dirty_bitmap;
		struct nestiommu_device_create device_create;
		struct nestiommu_device_attach device_attach;
		struct nestiommu_device_detach device_detach;
		struct nestiommu_hw_info hw_info;
		struct nestiommu_dma dma;
		struct nestiommu_translate translate;
		struct nestiommu_fault_queue_alloc fault_queue_alloc;
		struct nestiommu_device_reset device_reset;
	} arg;
};

#define NO_FIELD ((size_t)-1)

FIXTURE_VARIANT(length) {
	unsigned long cmd;
	size_t struct_size;
	size_t min_size;
	void (*prepare)(FIXTURE_DATA(length) *self);
	void (*check_done)(FIXTURE_DATA(length) *self);
	void (*check_not_done)(FIXTURE_DATA(length) *self);
	size_t flags_off;		/* NO_FIELD: no flags */
	__u32 known_flags;
	struct { size_t off, len; } rsv[2];	/* __reserved fields */
	int nrsv;
};

/*
 * The env: a nested HWPT on ENV_PASID (ENV_IOVA + page i -> data
 * page i, 16 pages), the parent (with DIRTY_TRACKING) on the RID, and a
 * second, empty IOAS.
 */
FIXTURE_SETUP(length)
{
	struct nest_env_opts o = { .parent_flags = NESTIOMMU_HWPT_ALLOC_DIRTY_TRACKING };
	int i;

	env_setup(&self->e, &o);
	for (i = 0; i < 16; i++)
		env_map(&self->e, ENV_IOVA + i * SZ_4K, DATA_GPA + i * SZ_4K, SZ_4K, S1_RWU);
	do_device_attach(self->e.fd, self->e.dev_id, 0, 0, self->e.parent_id);
	do_ioas_alloc(self->e.fd, &self->ioas2);
}

FIXTURE_TEARDOWN(length)
{
	env_teardown(&self->e);
}

/* ---- OPTION ---- */

static void option_prepare(FIXTURE_DATA(length) *self)
{
	self->arg.option = (struct nestiommu_option){
		.size = sizeof(self->arg.option),
		.option_id = NESTIOMMU_OPTION_IOTLB_ENTRIES,
		.op = NESTIOMMU_OPTION_OP_SET,
		.object_id = 0,
		.val64 = 512,
	};
}

static void option_done(FIXTURE_DATA(length) *self)
{
	check_option(self->e.fd, NESTIOMMU_OPTION_IOTLB_ENTRIES, 0, 512);
	do_option_set(self->e.fd, NESTIOMMU_OPTION_IOTLB_ENTRIES, 0, NESTIOMMU_IOTLB_DEFAULT_ENTRIES);
}

static void option_not_done(FIXTURE_DATA(length) *self)
{
	check_option(self->e.fd, NESTIOMMU_OPTION_IOTLB_ENTRIES, 0, NESTIOMMU_IOTLB_DEFAULT_ENTRIES);
}

/* ---- IOAS_COPY ---- */

static void ioas_copy_prepare(FIXTURE_DATA(length) *self)
{
	self->arg.ioas_copy = (struct nestiommu_ioas_copy){
		.size = sizeof(self->arg.ioas_copy),
		.flags = MAP_FIXED_RW,
		.dst_ioas_id = self->ioas2,
		.src_ioas_id = self->e.ioas_id,
		.length = SZ_64K,
		.dst_iova = COPY_IOVA,
		.src_iova = DATA_GPA,
	};
}

static void ioas_copy_done(FIXTURE_DATA(length) *self)
{
	struct nestiommu_ioas_stats st;

	ASSERT_EQ(COPY_IOVA, self->arg.ioas_copy.dst_iova);
	do_ioas_stats(self->e.fd, self->ioas2, &st);
	ASSERT_EQ(1, st.mappings);
	ASSERT_EQ(SZ_64K, st.mapped_bytes);
	do_ioas_unmap(self->e.fd, self->ioas2, COPY_IOVA, SZ_64K, SZ_64K);
}

static void ioas_copy_not_done(FIXTURE_DATA(length) *self)
{
	struct nestiommu_ioas_stats st;

	do_ioas_stats(self->e.fd, self->ioas2, &st);
	ASSERT_EQ(0, st.mappings);
}

/* ---- HWPT_ALLOC ---- */

static void hwpt_alloc_prepare(FIXTURE_DATA(length) *self)
{
	self->arg.hwpt_alloc = (struct nestiommu_hwpt_alloc){
		.size = sizeof(self->arg.hwpt_alloc),
		.flags = 0,
		.pt_id = self->e.parent_id,
		.data_type = NESTIOMMU_HWPT_DATA_S1_X86,
		.data_len = sizeof(self->e.desc),
		.data_uptr = NEST_PTR(&self->e.desc),
	};
}

static void hwpt_alloc_done(FIXTURE_DATA(length) *self)
{
	__u32 id = self->arg.hwpt_alloc.out_hwpt_id;
	struct nestiommu_xlate_stats st;

	do_xlate_stats(self->e.fd, id, NESTIOMMU_OBJ_HWPT_NESTED, &st);
	/* It translates. */
	do_device_attach(self->e.fd, self->e.dev_id, NESTIOMMU_ATTACH_PASID, LEN_PASID, id);
	do_dma(self->e.fd, self->e.dev_id, NESTIOMMU_DMA_PASID, LEN_PASID, ACC_R, ENV_IOVA,
	       sizeof(self->buf), self->buf);
	do_device_detach(self->e.fd, self->e.dev_id, NESTIOMMU_ATTACH_PASID, LEN_PASID);
	do_destroy(self->e.fd, id);
}

/* ---- HWPT_INVALIDATE ---- */

static __u64 inv_count(FIXTURE_DATA(length) *self)
{
	struct nestiommu_xlate_stats st;

	do_xlate_stats(self->e.fd, self->e.nested_id, NESTIOMMU_OBJ_HWPT_NESTED, &st);
	return st.inv_iotlb;
}

static void hwpt_invalidate_prepare(FIXTURE_DATA(length) *self)
{
	self->inv = inv_entry(NESTIOMMU_INV_CACHE_IOTLB, NESTIOMMU_INV_GRANU_DOMAIN, 0, 0, 0, 0, 0);
	self->base = inv_count(self);
	self->arg.hwpt_invalidate = (struct nestiommu_hwpt_invalidate){
		.size = sizeof(self->arg.hwpt_invalidate),
		.hwpt_id = self->e.nested_id,
		.data_uptr = NEST_PTR(&self->inv),
		.data_type = NESTIOMMU_HWPT_INVALIDATE_DATA_NEST,
		.entry_len = sizeof(self->inv),
		.entry_num = 1,
	};
}

static void hwpt_invalidate_done(FIXTURE_DATA(length) *self)
{
	ASSERT_EQ(1, self->arg.hwpt_invalidate.entry_num);
	ASSERT_EQ(self->base + 1, inv_count(self));
}

static void hwpt_invalidate_not_done(FIXTURE_DATA(length) *self)
{
	ASSERT_EQ(self->base, inv_count(self));
}

/* ---- HWPT_SET_DIRTY_TRACKING ---- */

static void hwpt_set_dirty_tracking_prepare(FIXTURE_DATA(length) *self)
{
	do_hwpt_set_dirty_tracking(self->e.fd, self->e.parent_id, false);
	self->arg.hwpt_set_dirty_tracking = (struct nestiommu_hwpt_set_dirty_tracking){
		.size = sizeof(self->arg.hwpt_set_dirty_tracking),
		.flags = NESTIOMMU_HWPT_DIRTY_TRACKING_ENABLE,
		.hwpt_id = self->e.parent_id,
	};
}

static void hwpt_set_dirty_tracking_done(FIXTURE_DATA(length) *self)
{
	do_hwpt_get_dirty_bitmap(self->e.fd, self->e.parent_id, 0, DATA_GPA, SZ_64K, SZ_4K,
				 self->bitmap);
	do_hwpt_set_dirty_tracking(self->e.fd, self->e.parent_id, false);
}

static void hwpt_set_dirty_tracking_not_done(FIXTURE_DATA(length) *self)
{
	do_hwpt_get_dirty_bitmap_err(EINVAL, self->e.fd, self->e.parent_id, 0, DATA_GPA,
				     SZ_64K, SZ_4K, self->bitmap);
}

/* ---- HWPT_GET_DIRTY_BITMAP ---- */

static void hwpt_get_dirty_bitmap_prepare(FIXTURE_DATA(length) *self)
{
	do_hwpt_set_dirty_tracking(self->e.fd, self->e.parent_id, true);
	do_dma(self->e.fd, self->e.dev_id, 0, 0, ACC_W, DATA_GPA + 3 * SZ_4K, 8, self->buf);
	memset(self->bitmap, 0, sizeof(self->bitmap));
	self->arg.hwpt_get_dirty_bitmap = (struct nestiommu_hwpt_get_dirty_bitmap){
		.size = sizeof(self->arg.hwpt_get_dirty_bitmap),
		.hwpt_id = self->e.parent_id,
		.flags = 0,
		.iova = DATA_GPA,
		.length = SZ_64K,
		.page_size = SZ_4K,
		.data = NEST_PTR(self->bitmap),
	};
}

static void hwpt_get_dirty_bitmap_done(FIXTURE_DATA(length) *self)
{
	ASSERT_EQ(1ULL << 3, self->bitmap[0]);
	/* It cleared them. */
	self->bitmap[0] = 0;
	do_hwpt_get_dirty_bitmap(self->e.fd, self->e.parent_id,
				 NESTIOMMU_HWPT_GET_DIRTY_BITMAP_NO_CLEAR, DATA_GPA, SZ_64K,
				 SZ_4K, self->bitmap);
	ASSERT_EQ(0, self->bitmap[0]);
}

static void hwpt_get_dirty_bitmap_not_done(FIXTURE_DATA(length) *self)
{
	ASSERT_EQ(0, self->bitmap[0]);
	do_hwpt_get_dirty_bitmap(self->e.fd, self->e.parent_id,
				 NESTIOMMU_HWPT_GET_DIRTY_BITMAP_NO_CLEAR, DATA_GPA, SZ_64K,
				 SZ_4K, self->bitmap);
	ASSERT_EQ(1ULL << 3, self->bitmap[0]);
}

/* ---- DEVICE_CREATE ---- */

static void device_create_prepare(FIXTURE_DATA(length) *self)
{
	self->arg.device_create = (struct nestiommu_device_create){
		.size = sizeof(self->arg.device_create),
		.flags = NESTIOMMU_DEVICE_ATS,
		.rid = LEN_RID,
		.pasid_bits = 4,
		.out_dev_id = self->e.dev_id,
	};
}

static void device_create_done(FIXTURE_DATA(length) *self)
{
	__u32 id = self->arg.device_create.out_dev_id;
	struct nestiommu_hw_info info;

	ASSERT_NE(self->e.dev_id, id);
	do_hw_info(self->e.fd, id, &info);
	ASSERT_EQ(LEN_RID, info.out_dev_rid);
	ASSERT_EQ(4, info.out_dev_pasid_bits);
	ASSERT_EQ(NESTIOMMU_DEVICE_ATS, info.out_dev_flags);
	do_destroy(self->e.fd, id);
}

static void device_create_not_done(FIXTURE_DATA(length) *self)
{
	__u32 id;

	/* The RID is still free. */
	do_device_create(self->e.fd, 0, LEN_RID, 0, &id);
	do_destroy(self->e.fd, id);
}

/* ---- DEVICE_ATTACH ---- */

static void device_attach_prepare(FIXTURE_DATA(length) *self)
{
	self->arg.device_attach = (struct nestiommu_device_attach){
		.size = sizeof(self->arg.device_attach),
		.flags = NESTIOMMU_ATTACH_PASID,
		.dev_id = self->e.dev_id,
		.pasid = LEN_PASID,
		.hwpt_id = self->e.nested_id,
	};
}

static void device_attach_done(FIXTURE_DATA(length) *self)
{
	do_dma(self->e.fd, self->e.dev_id, NESTIOMMU_DMA_PASID, LEN_PASID, ACC_R, ENV_IOVA,
	       sizeof(self->buf), self->buf);
	do_device_detach(self->e.fd, self->e.dev_id, NESTIOMMU_ATTACH_PASID, LEN_PASID);
}

static void device_attach_not_done(FIXTURE_DATA(length) *self)
{
	do_device_detach_err(ENOENT, self->e.fd, self->e.dev_id, NESTIOMMU_ATTACH_PASID,
			     LEN_PASID);
}

/* ---- DEVICE_DETACH ---- */

static void device_detach_prepare(FIXTURE_DATA(length) *self)
{
	do_device_attach(self->e.fd, self->e.dev_id, NESTIOMMU_ATTACH_PASID, LEN_PASID,
			 self->e.nested_id);
	self->arg.device_detach = (struct nestiommu_device_detach){
		.size = sizeof(self->arg.device_detach),
		.flags = NESTIOMMU_ATTACH_PASID,
		.dev_id = self->e.dev_id,
		.pasid = LEN_PASID,
	};
}

static void device_detach_done(FIXTURE_DATA(length) *self)
{
	do_device_detach_err(ENOENT, self->e.fd, self->e.dev_id, NESTIOMMU_ATTACH_PASID,
			     LEN_PASID);
}

static void device_detach_not_done(FIXTURE_DATA(length) *self)
{
	do_dma(self->e.fd, self->e.dev_id, NESTIOMMU_DMA_PASID, LEN_PASID, ACC_R, ENV_IOVA,
	       sizeof(self->buf), self->buf);
	do_device_detach(self->e.fd, self->e.dev_id, NESTIOMMU_ATTACH_PASID, LEN_PASID);
}

/* ---- GET_HW_INFO ---- */

static void hw_info_prepare(FIXTURE_DATA(length) *self)
{
	self->arg.hw_info = (struct nestiommu_hw_info){
		.size = sizeof(self->arg.hw_info),
		.dev_id = self->e.dev_id,
	};
}

static void hw_info_done(FIXTURE_DATA(length) *self)
{
	ASSERT_EQ(ENV_RID, self->arg.hw_info.out_dev_rid);
	ASSERT_EQ(ENV_PASID_BITS, self->arg.hw_info.out_dev_pasid_bits);
	ASSERT_EQ(4, self->arg.hw_info.out_iotlb_ways);
	ASSERT_EQ(NESTIOMMU_IOTLB_DEFAULT_ENTRIES, self->arg.hw_info.out_iotlb_entries);
}

/* ---- DMA ---- */

static void dma_prepare(FIXTURE_DATA(length) *self)
{
	memset(self->e.data, 0x5a, sizeof(self->buf));
	fill_pattern(self->buf, sizeof(self->buf), 77);
	self->arg.dma = (struct nestiommu_dma){
		.size = sizeof(self->arg.dma),
		.flags = NESTIOMMU_DMA_PASID,
		.dev_id = self->e.dev_id,
		.pasid = self->e.pasid,
		.access = NESTIOMMU_ACCESS_WRITE,
		.iova = ENV_IOVA,
		.length = sizeof(self->buf),
		.user_va = NEST_PTR(self->buf),
	};
}

static void dma_done(FIXTURE_DATA(length) *self)
{
	ASSERT_EQ(0, self->arg.dma.out_flags);
	ASSERT_EQ(sizeof(self->buf), self->arg.dma.out_bytes_done);
	ASSERT_MEM_EQ(self->e.data, self->buf, sizeof(self->buf));
}

static void dma_not_done(FIXTURE_DATA(length) *self)
{
	ASSERT_MEM_BYTE(self->e.data, 0x5a, sizeof(self->buf));
}

/* ---- TRANSLATE ---- */

static void translate_prepare(FIXTURE_DATA(length) *self)
{
	self->arg.translate = (struct nestiommu_translate){
		.size = sizeof(self->arg.translate),
		.flags = NESTIOMMU_DMA_PASID | NESTIOMMU_TRANSLATE_NO_CACHE,
		.dev_id = self->e.dev_id,
		.pasid = self->e.pasid,
		.access = NESTIOMMU_ACCESS_READ,
		.steps_num = 64,
		.steps_uptr = NEST_PTR(self->steps),
		.iova = ENV_IOVA + SZ_4K + 0x10,
	};
}

static void translate_done(FIXTURE_DATA(length) *self)
{
	ASSERT_EQ(0, self->arg.translate.out_flags);
	ASSERT_EQ(DATA_GPA + SZ_4K + 0x10, self->arg.translate.out_gpa);
	ASSERT_EQ(24, self->arg.translate.steps_num);
	ASSERT_EQ(SZ_4K, self->arg.translate.out_page_size);
}

/* ---- FAULT_QUEUE_ALLOC ---- */

static void fault_queue_alloc_prepare(FIXTURE_DATA(length) *self)
{
	self->arg.fault_queue_alloc = (struct nestiommu_fault_queue_alloc){
		.size = sizeof(self->arg.fault_queue_alloc),
		.depth = 4,
	};
}

static void fault_queue_alloc_done(FIXTURE_DATA(length) *self)
{
	struct nestiommu_fault_queue_alloc *cmd = &self->arg.fault_queue_alloc;
	struct nestiommu_fault_queue_stats st;
	__u32 type, len = sizeof(st);

	ASSERT_LE(0, cmd->out_fault_fd);
	ASSERT_OK(nest_get_stats(self->e.fd, cmd->out_fault_id, &type, &st, &len));
	ASSERT_EQ(NESTIOMMU_OBJ_FAULT_QUEUE, type);
	ASSERT_EQ(4, st.depth);
	ASSERT_EQ(0, close(cmd->out_fault_fd));
	do_destroy(self->e.fd, cmd->out_fault_id);
}

/* ---- DEVICE_RESET ---- */

/* PASID-cache misses of the env's device so far. */
static __u64 pasid_cache_misses(FIXTURE_DATA(length) *self)
{
	struct nestiommu_xlate_stats st;

	do_xlate_stats(self->e.fd, self->e.dev_id, NESTIOMMU_OBJ_DEVICE, &st);
	return st.pasid_cache_misses;
}

/* A reset empties the PASID cache: the next DMA on ENV_PASID misses it. */
static void device_reset_prepare(FIXTURE_DATA(length) *self)
{
	do_dma(self->e.fd, self->e.dev_id, NESTIOMMU_DMA_PASID, self->e.pasid, ACC_R, ENV_IOVA,
	       1, self->buf);
	self->base = pasid_cache_misses(self);
	self->arg.device_reset = (struct nestiommu_device_reset){
		.size = sizeof(self->arg.device_reset),
		.dev_id = self->e.dev_id,
	};
}

static void device_reset_done(FIXTURE_DATA(length) *self)
{
	do_dma(self->e.fd, self->e.dev_id, NESTIOMMU_DMA_PASID, self->e.pasid, ACC_R, ENV_IOVA,
	       1, self->buf);
	ASSERT_EQ(self->base + 1, pasid_cache_misses(self));
}

static void device_reset_not_done(FIXTURE_DATA(length) *self)
{
	do_dma(self->e.fd, self->e.dev_id, NESTIOMMU_DMA_PASID, self->e.pasid, ACC_R, ENV_IOVA,
	       1, self->buf);
	ASSERT_EQ(self->base, pasid_cache_misses(self));
}

#define RSV(_struct, field) \
	{ offsetof(struct nestiommu_##_struct, field), \
	  sizeof(((struct nestiommu_##_struct *)0)->field) }

#define LENGTH_VARIANT(name, _struct, _cmd, last, not_done, _flags, _known, ...) \
	FIXTURE_VARIANT_ADD(length, name) {				\
		.cmd = NESTIOMMU_##_cmd,				\
		.struct_size = sizeof(struct nestiommu_##_struct),	\
		.min_size = offsetofend(struct nestiommu_##_struct, last), \
		.prepare = name##_prepare,				\
		.check_done = name##_done,				\
		.check_not_done = not_done,				\
		.flags_off = _flags,					\
		.known_flags = _known,					\
		.rsv = { __VA_ARGS__ },					\
		.nrsv = sizeof((size_t[][2]){ __VA_ARGS__ }) / sizeof(size_t[2]), \
	}

#define FLAGS(_struct) offsetof(struct nestiommu_##_struct, flags)

LENGTH_VARIANT(option, option, OPTION, val64, option_not_done, NO_FIELD, 0,
	       RSV(option, __reserved));
LENGTH_VARIANT(ioas_copy, ioas_copy, IOAS_COPY, src_iova, ioas_copy_not_done,
	       FLAGS(ioas_copy), 0x7);
/* fault_id is checked with FAULT_ID_VALID: see hwpt_fault_queue.c */
LENGTH_VARIANT(hwpt_alloc, hwpt_alloc, HWPT_ALLOC, out_hwpt_id, NULL, FLAGS(hwpt_alloc),
	       0x7, RSV(hwpt_alloc, __reserved2));
LENGTH_VARIANT(hwpt_invalidate, hwpt_invalidate, HWPT_INVALIDATE, entry_num,
	       hwpt_invalidate_not_done, NO_FIELD, 0, RSV(hwpt_invalidate, __reserved));
LENGTH_VARIANT(hwpt_set_dirty_tracking, hwpt_set_dirty_tracking, HWPT_SET_DIRTY_TRACKING,
	       hwpt_id, hwpt_set_dirty_tracking_not_done, FLAGS(hwpt_set_dirty_tracking),
	       0x1, RSV(hwpt_set_dirty_tracking, __reserved));
LENGTH_VARIANT(hwpt_get_dirty_bitmap, hwpt_get_dirty_bitmap, HWPT_GET_DIRTY_BITMAP, data,
	       hwpt_get_dirty_bitmap_not_done, FLAGS(hwpt_get_dirty_bitmap), 0x1,
	       RSV(hwpt_get_dirty_bitmap, __reserved));
LENGTH_VARIANT(device_create, device_create, DEVICE_CREATE, out_dev_id,
	       device_create_not_done, FLAGS(device_create), 0x3,
	       RSV(device_create, __reserved));
LENGTH_VARIANT(device_attach, device_attach, DEVICE_ATTACH, hwpt_id, device_attach_not_done,
	       FLAGS(device_attach), 0x3, RSV(device_attach, __reserved));
LENGTH_VARIANT(device_detach, device_detach, DEVICE_DETACH, pasid, device_detach_not_done,
	       FLAGS(device_detach), 0x1);
LENGTH_VARIANT(hw_info, hw_info, GET_HW_INFO, out_dev_devtlb_entries, NULL, NO_FIELD, 0,
	       RSV(hw_info, __reserved));
LENGTH_VARIANT(dma, dma, DMA, out_fault, dma_not_done, FLAGS(dma),
	       NESTIOMMU_DMA_PASID | NESTIOMMU_DMA_NONBLOCK | NESTIOMMU_DMA_RESUME,
	       RSV(dma, __reserved), RSV(dma, __reserved2));
LENGTH_VARIANT(translate, translate, TRANSLATE, out_fault, NULL, FLAGS(translate), 0x3);
LENGTH_VARIANT(fault_queue_alloc, fault_queue_alloc, FAULT_QUEUE_ALLOC, out_fault_fd, NULL,
	       FLAGS(fault_queue_alloc), 0, RSV(fault_queue_alloc, __reserved));
LENGTH_VARIANT(device_reset, device_reset, DEVICE_RESET, dev_id, device_reset_not_done,
	       NO_FIELD, 0);

#define LENGTH_FD(self) ((self)->e.fd)
#include "length_cases.h"

/*
 * The __reserved and flags tests run only for the ioctls whose struct has
 * such a field: each is a fixture of its own over the same set-up, whose
 * variants point at those of "length".
 */
#define LENGTH_SUBSET(f)						\
	FIXTURE(f) {							\
		FIXTURE_DATA(length) l;					\
	};								\
	FIXTURE_VARIANT(f) {						\
		const FIXTURE_VARIANT(length) *l;			\
	};								\
	FIXTURE_SETUP(f)						\
	{								\
		_harness_setup_length(&self->l, variant->l);		\
	}								\
	FIXTURE_TEARDOWN(f)						\
	{								\
		_harness_teardown_length(&self->l, variant->l);		\
	}

#define LENGTH_SUBSET_VARIANT(f, name) \
	FIXTURE_VARIANT_ADD(f, name) { .l = &_harness_vdata_length_##name }

LENGTH_SUBSET(length_reserved);
LENGTH_SUBSET_VARIANT(length_reserved, option);
LENGTH_SUBSET_VARIANT(length_reserved, hwpt_alloc);
LENGTH_SUBSET_VARIANT(length_reserved, hwpt_invalidate);
LENGTH_SUBSET_VARIANT(length_reserved, hwpt_set_dirty_tracking);
LENGTH_SUBSET_VARIANT(length_reserved, hwpt_get_dirty_bitmap);
LENGTH_SUBSET_VARIANT(length_reserved, device_create);
LENGTH_SUBSET_VARIANT(length_reserved, device_attach);
LENGTH_SUBSET_VARIANT(length_reserved, hw_info);
LENGTH_SUBSET_VARIANT(length_reserved, dma);
LENGTH_SUBSET_VARIANT(length_reserved, fault_queue_alloc);

TEST_F(length_reserved, nonzero_eopnotsupp)
{
	const FIXTURE_VARIANT(length) *v = variant->l;
	const __u8 bytes[] = { 0x01, 0x80 };
	int r, b;
	size_t at;

	ASSERT_LT(0, v->nrsv);
	for (r = 0; r < v->nrsv; r++) {
		for (b = 0; b < 2; b++) {
			/* The field's first and last byte. */
			for (at = 0; at < v->rsv[r].len; at += v->rsv[r].len - 1 ?: 1) {
				size_t off = v->rsv[r].off + at;

				TH_CONTEXT("__reserved field %d: byte +%zu = 0x%x", r, off, bytes[b]);
				v->prepare(&self->l);
				((__u8 *)&self->l.arg)[off] = bytes[b];
				ASSERT_ERR(EOPNOTSUPP, nest_ioctl(self->l.e.fd, v->cmd, &self->l.arg));
				length_not_done(&self->l, v);
			}
		}
	}
}

LENGTH_SUBSET(length_flags);
LENGTH_SUBSET_VARIANT(length_flags, ioas_copy);
LENGTH_SUBSET_VARIANT(length_flags, hwpt_alloc);
LENGTH_SUBSET_VARIANT(length_flags, hwpt_set_dirty_tracking);
LENGTH_SUBSET_VARIANT(length_flags, hwpt_get_dirty_bitmap);
LENGTH_SUBSET_VARIANT(length_flags, device_create);
LENGTH_SUBSET_VARIANT(length_flags, device_attach);
LENGTH_SUBSET_VARIANT(length_flags, device_detach);
LENGTH_SUBSET_VARIANT(length_flags, dma);
LENGTH_SUBSET_VARIANT(length_flags, translate);
LENGTH_SUBSET_VARIANT(length_flags, fault_queue_alloc);

TEST_F(length_flags, unknown_flags_eopnotsupp)
{
	const FIXTURE_VARIANT(length) *v = variant->l;
	int bit;

	ASSERT_NE(NO_FIELD, v->flags_off);
	for (bit = 0; bit < 32; bit++) {
		__u32 *flags = (__u32 *)((char *)&self->l.arg + v->flags_off);

		if (v->known_flags & (1U << bit))
			continue;
		TH_CONTEXT("flag bit %d", bit);
		v->prepare(&self->l);
		*flags |= 1U << bit;
		ASSERT_ERR(EOPNOTSUPP, nest_ioctl(self->l.e.fd, v->cmd, &self->l.arg));
		length_not_done(&self->l, v);
	}
}
