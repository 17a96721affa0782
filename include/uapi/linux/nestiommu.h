/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * nestiommu: a software IOMMU with nested (two-stage) translation.
 *
 * The uAPI follows the iommufd conventions (include/uapi/linux/iommufd.h):
 *
 * - One open of /dev/nestiommu is one context. Objects live in the context,
 *   are named by u32 IDs and are freed with NESTIOMMU_DESTROY.
 * - Every ioctl takes one struct whose first field is "__u32 size", the size
 *   of the struct as user space knows it. The kernel accepts any size from the
 *   ioctl's minimum (the end of its last mandatory field) up: a shorter
 *   struct is zero-extended, a longer one must have an all-zero tail. On
 *   return the kernel writes back at most the size user space passed.
 * - Fields named __reserved must be 0; out_ fields are outputs only.
 * - 64-bit fields and user pointers are __aligned_u64.
 *
 * errno values have one meaning each:
 *  ENOTTY     unknown ioctl
 *  E2BIG      the struct is longer than the kernel's and its tail is not 0
 *  EOPNOTSUPP unknown flag, or a non-zero __reserved field
 *  EINVAL     a field has a bad value (also: size below the minimum)
 *  ENOENT     no object with that ID and type / no mapping in that range
 *  ENOMEM     out of memory, or RLIMIT_MEMLOCK exceeded
 *  EOVERFLOW  arithmetic on the given fields overflows
 *  EMSGSIZE   an output array is too short; the needed count is returned
 *  EBUSY      the object is in use
 *  EEXIST     the IOVA range is already mapped
 *  ENOSPC     no free IOVA range is large enough
 *  EFAULT     a user pointer or user memory range is not accessible
 */
#ifndef _UAPI_LINUX_NESTIOMMU_H
#define _UAPI_LINUX_NESTIOMMU_H

#include <linux/ioctl.h>
#include <linux/types.h>

#define NESTIOMMU_TYPE 'N'
#define NESTIOMMU_DEVICE_NAME "nestiommu"

/*
 * Command numbers. Append only: a number, once released, never changes
 * meaning.
 */
enum {
	NESTIOMMU_CMD_BASE = 0x80,
	NESTIOMMU_CMD_DESTROY = NESTIOMMU_CMD_BASE,
	NESTIOMMU_CMD_IOAS_ALLOC,
	NESTIOMMU_CMD_IOAS_MAP,
	NESTIOMMU_CMD_IOAS_UNMAP,
	NESTIOMMU_CMD_IOAS_IOVA_RANGES,
	NESTIOMMU_CMD_GET_STATS,
};

/**
 * struct nestiommu_destroy - ioctl(NESTIOMMU_DESTROY)
 * @size: sizeof(struct nestiommu_destroy)
 * @id: ID of the object to destroy
 *
 * Destroys any object. Fails with EBUSY while another object or an
 * ioctl in flight still uses it.
 */
struct nestiommu_destroy {
	__u32 size;
	__u32 id;
};
#define NESTIOMMU_DESTROY _IO(NESTIOMMU_TYPE, NESTIOMMU_CMD_DESTROY)

/**
 * struct nestiommu_ioas_alloc - ioctl(NESTIOMMU_IOAS_ALLOC)
 * @size: sizeof(struct nestiommu_ioas_alloc)
 * @flags: must be 0
 * @out_ioas_id: ID of the new IO address space
 *
 * Allocates an IO address space (IOAS): the stage-2 view, in which an IOVA
 * is a guest-physical address. A new IOAS is empty and its IOVA space is
 * [0, 2^48 - 1] less the reserved MSI window (see IOAS_IOVA_RANGES).
 */
struct nestiommu_ioas_alloc {
	__u32 size;
	__u32 flags;
	__u32 out_ioas_id;
};
#define NESTIOMMU_IOAS_ALLOC _IO(NESTIOMMU_TYPE, NESTIOMMU_CMD_IOAS_ALLOC)

/**
 * enum nestiommu_ioas_map_flags - flags of struct nestiommu_ioas_map
 * @NESTIOMMU_IOAS_MAP_FIXED_IOVA: map at @iova exactly; without it the
 *	kernel chooses the IOVA and returns it in @iova
 * @NESTIOMMU_IOAS_MAP_WRITEABLE: devices may write the memory
 * @NESTIOMMU_IOAS_MAP_READABLE: devices may read the memory
 *
 * At least one of READABLE and WRITEABLE must be given.
 */
enum nestiommu_ioas_map_flags {
	NESTIOMMU_IOAS_MAP_FIXED_IOVA = 1 << 0,
	NESTIOMMU_IOAS_MAP_WRITEABLE = 1 << 1,
	NESTIOMMU_IOAS_MAP_READABLE = 1 << 2,
};

/**
 * struct nestiommu_ioas_map - ioctl(NESTIOMMU_IOAS_MAP)
 * @size: sizeof(struct nestiommu_ioas_map)
 * @flags: combination of enum nestiommu_ioas_map_flags
 * @ioas_id: IOAS to map into
 * @__reserved: must be 0
 * @user_va: user virtual address of the memory, page aligned
 * @length: bytes to map, page aligned and not 0
 * @iova: with FIXED_IOVA the IOVA to map at (page aligned); otherwise set
 *	by the kernel to the IOVA it chose
 *
 * Pins the pages of [user_va, user_va + length) and makes them reachable
 * by DMA at [iova, iova + length). Pinned pages are accounted to the
 * caller's locked memory and limited by RLIMIT_MEMLOCK unless it has
 * CAP_IPC_LOCK. The range must lie inside the IOAS's allowed IOVA ranges
 * (EINVAL) and must not overlap an existing mapping (EEXIST). Without
 * FIXED_IOVA the kernel picks the lowest free range aligned to the largest
 * power of two that divides both @user_va and @length (at most 1 GiB),
 * so huge pages can back it; ENOSPC if there is none.
 */
struct nestiommu_ioas_map {
	__u32 size;
	__u32 flags;
	__u32 ioas_id;
	__u32 __reserved;
	__aligned_u64 user_va;
	__aligned_u64 length;
	__aligned_u64 iova;
};
#define NESTIOMMU_IOAS_MAP _IO(NESTIOMMU_TYPE, NESTIOMMU_CMD_IOAS_MAP)

/**
 * struct nestiommu_ioas_unmap - ioctl(NESTIOMMU_IOAS_UNMAP)
 * @size: sizeof(struct nestiommu_ioas_unmap)
 * @ioas_id: IOAS to unmap from
 * @iova: first IOVA of the range, page aligned
 * @length: in: bytes in the range, page aligned and not 0; out: bytes
 *	unmapped
 *
 * Unmaps every mapping inside [iova, iova + length). The range must be a
 * superset of the mappings it touches: cutting a mapping in two fails
 * with ENOENT and unmaps nothing, as does a range with no mapping in it.
 * iova 0 with length U64_MAX unmaps everything and succeeds even on an
 * empty IOAS. When the ioctl returns, no DMA can reach the pages any more
 * and they are unpinned.
 */
struct nestiommu_ioas_unmap {
	__u32 size;
	__u32 ioas_id;
	__aligned_u64 iova;
	__aligned_u64 length;
};
#define NESTIOMMU_IOAS_UNMAP _IO(NESTIOMMU_TYPE, NESTIOMMU_CMD_IOAS_UNMAP)

/**
 * struct nestiommu_iova_range - one inclusive range of IOVAs
 * @start: first IOVA
 * @last: last IOVA (inclusive)
 */
struct nestiommu_iova_range {
	__aligned_u64 start;
	__aligned_u64 last;
};

/**
 * struct nestiommu_ioas_iova_ranges - ioctl(NESTIOMMU_IOAS_IOVA_RANGES)
 * @size: sizeof(struct nestiommu_ioas_iova_ranges)
 * @ioas_id: IOAS to read the ranges of
 * @num_iovas: in: entries in @allowed_iovas; out: number of ranges
 * @__reserved: must be 0
 * @allowed_iovas: user pointer to an array of struct nestiommu_iova_range
 * @out_iova_alignment: the alignment IOVAs and lengths must have
 *
 * Reports the IOVA ranges that may be mapped, in ascending order. The
 * kernel always sets @num_iovas to the number of ranges; if the array is
 * too short it fills what fits and fails with EMSGSIZE, so user space can
 * call with @num_iovas 0 to learn the count, allocate, and call again.
 */
struct nestiommu_ioas_iova_ranges {
	__u32 size;
	__u32 ioas_id;
	__u32 num_iovas;
	__u32 __reserved;
	__aligned_u64 allowed_iovas;
	__aligned_u64 out_iova_alignment;
};
#define NESTIOMMU_IOAS_IOVA_RANGES _IO(NESTIOMMU_TYPE, NESTIOMMU_CMD_IOAS_IOVA_RANGES)

/* The reserved MSI window every IOAS keeps out of its IOVA space (x86). */
#define NESTIOMMU_MSI_WINDOW_START 0xfee00000ULL
#define NESTIOMMU_MSI_WINDOW_LAST 0xfeefffffULL
/* Width of the stage-2 input address space: IOVAs are below 2^48. */
#define NESTIOMMU_IOAS_IOVA_BITS 48

/**
 * enum nestiommu_object_type - type of an object, as GET_STATS reports it
 * @NESTIOMMU_OBJ_NONE: no object (never reported)
 * @NESTIOMMU_OBJ_IOAS: an IO address space
 */
enum nestiommu_object_type {
	NESTIOMMU_OBJ_NONE = 0,
	NESTIOMMU_OBJ_IOAS = 1,
};

/**
 * struct nestiommu_ioas_stats - statistics of an IOAS (NESTIOMMU_OBJ_IOAS)
 * @mappings: mappings present now
 * @mapped_bytes: bytes mapped now
 * @pinned_pages: pages pinned now for this IOAS
 * @map_ops: successful MAPs since allocation
 * @unmapped_areas: mappings removed since allocation
 */
struct nestiommu_ioas_stats {
	__aligned_u64 mappings;
	__aligned_u64 mapped_bytes;
	__aligned_u64 pinned_pages;
	__aligned_u64 map_ops;
	__aligned_u64 unmapped_areas;
};

/**
 * struct nestiommu_get_stats - ioctl(NESTIOMMU_GET_STATS)
 * @size: sizeof(struct nestiommu_get_stats)
 * @id: object to read the statistics of
 * @out_type: enum nestiommu_object_type of the object; it names the
 *	struct written to @stats_uptr (struct nestiommu_ioas_stats, ...)
 * @stats_len: in: bytes available at @stats_uptr; out: size of the
 *	kernel's statistics struct for that type
 * @stats_uptr: user pointer the statistics are written to; the kernel
 *	writes min(in @stats_len, its struct size) bytes
 *
 * Statistics structs only grow at the end, so an older user space reads
 * the fields it knows.
 */
struct nestiommu_get_stats {
	__u32 size;
	__u32 id;
	__u32 out_type;
	__u32 stats_len;
	__aligned_u64 stats_uptr;
};
#define NESTIOMMU_GET_STATS _IO(NESTIOMMU_TYPE, NESTIOMMU_CMD_GET_STATS)

#endif /* _UAPI_LINUX_NESTIOMMU_H */
