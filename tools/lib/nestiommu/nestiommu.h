/* SPDX-License-Identifier: GPL-2.0 */
/*
 * libnestiommu: thin C wrappers over the /dev/nestiommu uAPI.
 *
 * This is the one place in user space that fills the ioctl structs of
 * include/uapi/linux/nestiommu.h. Every wrapper sets the struct's size field
 * to sizeof() the struct this library was built with, issues the ioctl and
 * returns 0 on success or -errno on failure (errno is left as the ioctl set
 * it). Output parameters are written only on success unless a function says
 * otherwise.
 */
#ifndef NESTIOMMU_LIB_H
#define NESTIOMMU_LIB_H

#include <stdbool.h>
#include <stdint.h>
#include <linux/types.h>
#include <linux/nestiommu.h>

#include "s1.h"
#include "pri.h"

#define NEST_DEV_PATH "/dev/" NESTIOMMU_DEVICE_NAME

/* A user pointer as the uAPI's __aligned_u64 fields want it. */
#define NEST_PTR(p) ((__u64)(uintptr_t)(p))

int nest_open(void);
int nest_ioctl(int fd, unsigned long cmd, void *arg);
int nest_destroy(int fd, __u32 id);
int nest_ioas_alloc(int fd, __u32 *ioas_id);
int nest_ioas_map(int fd, __u32 ioas_id, __u32 flags, __u64 user_va,
		  __u64 length, __u64 *iova);
int nest_ioas_unmap(int fd, __u32 ioas_id, __u64 iova, __u64 length,
		    __u64 *unmapped);
int nest_ioas_iova_ranges(int fd, __u32 ioas_id,
			  struct nestiommu_iova_range *ranges, __u32 *num,
			  __u64 *alignment);
int nest_get_stats(int fd, __u32 id, __u32 *type, void *buf, __u32 *len);

int nest_option_set(int fd, __u32 option_id, __u32 object_id, __u64 val);
int nest_option_get(int fd, __u32 option_id, __u32 object_id, __u64 *val);
int nest_ioas_copy(int fd, __u32 dst_ioas_id, __u32 flags, __u64 *dst_iova,
		   __u32 src_ioas_id, __u64 src_iova, __u64 length);

int nest_hwpt_alloc(int fd, struct nestiommu_hwpt_alloc *cmd);
int nest_fault_queue_alloc(int fd, __u32 depth, __u32 *fault_id,
			   int *fault_fd);
int nest_hwpt_alloc_paging(int fd, __u32 ioas_id, __u32 flags, __u32 *hwpt_id);
int nest_hwpt_alloc_nested(int fd, __u32 parent_id,
			   const struct nestiommu_hwpt_s1_x86 *desc,
			   __u32 *hwpt_id);
int nest_hwpt_invalidate(int fd, __u32 hwpt_id, const void *entries,
			 __u32 entry_len, __u32 *entry_num);
int nest_hwpt_set_dirty_tracking(int fd, __u32 hwpt_id, bool enable);
int nest_hwpt_get_dirty_bitmap(int fd, __u32 hwpt_id, __u32 flags, __u64 iova,
			       __u64 length, __u64 page_size, __u64 *bitmap);

int nest_device_create(int fd, __u32 flags, __u32 rid, __u32 pasid_bits,
		       __u32 *dev_id);
int nest_device_attach(int fd, __u32 dev_id, __u32 flags, __u32 pasid,
		       __u32 hwpt_id);
int nest_device_detach(int fd, __u32 dev_id, __u32 flags, __u32 pasid);
int nest_hw_info(int fd, __u32 dev_id, struct nestiommu_hw_info *info);

int nest_dma(int fd, struct nestiommu_dma *dma);
int nest_translate(int fd, struct nestiommu_translate *xlate);

#endif /* NESTIOMMU_LIB_H */
