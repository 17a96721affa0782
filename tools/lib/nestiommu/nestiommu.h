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

#include <stdint.h>
#include <linux/types.h>
#include <linux/nestiommu.h>

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

#endif /* NESTIOMMU_LIB_H */
