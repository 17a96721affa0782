/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * nestiommu: a software IOMMU with nested (two-stage) translation.
 *
 * The uAPI follows the iommufd conventions (include/uapi/linux/iommufd.h):
 *
 * - One open of /dev/nestiommu is one context. Objects live in the context,
 *   are named by u32 IDs and are freed with NESTIOMMU_DESTROY. Open it
 *   with O_CLOEXEC unless the context is meant to pass across exec.
 * - Every ioctl takes one struct whose first field is "__u32 size", the size
 *   of the struct as user space knows it. The kernel accepts any size from the
 *   ioctl's minimum (the end of its last mandatory field) up to
 *   NESTIOMMU_STRUCT_SIZE_MAX: a shorter struct is zero-extended, a longer
 *   one must have an all-zero tail, and a size above the maximum is E2BIG.
 *   On return the kernel writes back at most the size user space passed.
 * - Fields named __reserved must be 0; out_ fields are outputs only.
 * - 64-bit fields and user pointers are __aligned_u64.
 *
 * errno values have one meaning each:
 *  ENOTTY     unknown ioctl
 *  E2BIG      the struct is longer than the kernel's and its tail is not 0,
 *             or its size is above NESTIOMMU_STRUCT_SIZE_MAX
 *  EOPNOTSUPP unknown flag or enum value (data_type, option, granularity,
 *             cache or access bit), a flag the object kind does not
 *             take, or a non-zero __reserved field
 *  EINVAL     a field has a bad value (also: size below the minimum)
 *  ENOENT     no object with that ID and type / no mapping in that range
 *  ENOMEM     out of memory (what a context allocates is charged to the
 *             memory cgroup of the caller), or RLIMIT_MEMLOCK exceeded
 *  EOVERFLOW  arithmetic on the given fields overflows
 *  EMSGSIZE   an output array is too short; the needed count is returned
 *  EBUSY      the object is in use
 *  EEXIST     the IOVA range is already mapped
 *  ENOSPC     no free IOVA range is large enough
 *  EMFILE     the context holds NESTIOMMU_MAX_OBJECTS objects already (or,
 *             from FAULT_QUEUE_ALLOC, the process has no free fd)
 *  EFAULT     a user pointer or user memory range is not accessible
 */
#ifndef _UAPI_LINUX_NESTIOMMU_H
#define _UAPI_LINUX_NESTIOMMU_H

#include <linux/ioctl.h>
#include <linux/types.h>

/* The largest @size any ioctl accepts (larger: E2BIG, nothing read). */
#define NESTIOMMU_STRUCT_SIZE_MAX 4096

#define NESTIOMMU_TYPE 'N'
#define NESTIOMMU_DEVICE_NAME "nestiommu"

/*
 * The most objects (of all types together) one context holds at a time;
 * object IDs lie in [1, NESTIOMMU_MAX_OBJECTS]. Allocating one more fails
 * with EMFILE until an object is destroyed.
 */
#define NESTIOMMU_MAX_OBJECTS 65536

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
	NESTIOMMU_CMD_OPTION,
	NESTIOMMU_CMD_IOAS_COPY,
	NESTIOMMU_CMD_HWPT_ALLOC,
	NESTIOMMU_CMD_HWPT_INVALIDATE,
	NESTIOMMU_CMD_HWPT_SET_DIRTY_TRACKING,
	NESTIOMMU_CMD_HWPT_GET_DIRTY_BITMAP,
	NESTIOMMU_CMD_DEVICE_CREATE,
	NESTIOMMU_CMD_DEVICE_ATTACH,
	NESTIOMMU_CMD_DEVICE_DETACH,
	NESTIOMMU_CMD_GET_HW_INFO,
	NESTIOMMU_CMD_DMA,
	NESTIOMMU_CMD_TRANSLATE,
	NESTIOMMU_CMD_FAULT_QUEUE_ALLOC,
	NESTIOMMU_CMD_DEVICE_RESET,
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
 * by DMA at [iova, iova + length). Pinned pages are charged to the locked
 * memory of the caller's user (like iommufd: what all processes of that
 * user keep pinned, until unmapped, whichever process maps or has exited)
 * and limited by the caller's RLIMIT_MEMLOCK unless it has CAP_IPC_LOCK
 * (ENOMEM, checked before anything is allocated); the caller's VmPin
 * shows them. The range must lie inside the IOAS's allowed IOVA ranges
 * (EINVAL) and must not overlap an existing mapping (EEXIST). Without
 * FIXED_IOVA the kernel picks the lowest free range aligned to the largest
 * power of two that divides both @user_va and @length (at most 1 GiB),
 * so huge pages can back it; ENOSPC if there is none. DMA can reach the
 * mapping before the answer is written; if the answer cannot be written
 * the call removes the mapping again (unless an UNMAP did) and fails with
 * EFAULT.
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
 * and they are unpinned. Paging HWPTs free the stage-2 tables the unmap
 * leaves empty: a stage-2 fault there stops at the level above them, and
 * a later MAP there gets 2 MiB and 1 GiB pages where its memory allows.
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
 * @NESTIOMMU_OBJ_HWPT_PAGING: a paging (stage-2) HWPT
 * @NESTIOMMU_OBJ_HWPT_NESTED: a nested (stage-1) HWPT
 * @NESTIOMMU_OBJ_DEVICE: an emulated device
 * @NESTIOMMU_OBJ_FAULT_QUEUE: a fault queue
 */
enum nestiommu_object_type {
	NESTIOMMU_OBJ_NONE = 0,
	NESTIOMMU_OBJ_IOAS = 1,
	NESTIOMMU_OBJ_HWPT_PAGING = 2,
	NESTIOMMU_OBJ_HWPT_NESTED = 3,
	NESTIOMMU_OBJ_DEVICE = 4,
	NESTIOMMU_OBJ_FAULT_QUEUE = 5,
};

/**
 * struct nestiommu_ioas_stats - statistics of an IOAS (NESTIOMMU_OBJ_IOAS)
 * @mappings: mappings present now
 * @mapped_bytes: bytes mapped now
 * @pinned_pages: pages this IOAS's MAPs pinned and still map (a COPY
 *	shares the pins of its source and adds nothing)
 * @map_ops: successful MAPs since allocation
 * @unmapped_areas: mappings removed since allocation
 * @injected_map_errors: MAPs a BPF program at nest_hook_map failed
 * @hook_rejected: nest_hook_map decisions ignored as out of range
 */
struct nestiommu_ioas_stats {
	__aligned_u64 mappings;
	__aligned_u64 mapped_bytes;
	__aligned_u64 pinned_pages;
	__aligned_u64 map_ops;
	__aligned_u64 unmapped_areas;
	__aligned_u64 injected_map_errors;
	__aligned_u64 hook_rejected;
};

/**
 * struct nestiommu_get_stats - ioctl(NESTIOMMU_GET_STATS)
 * @size: sizeof(struct nestiommu_get_stats)
 * @id: object to read the statistics of
 * @out_type: enum nestiommu_object_type of the object; it names the
 *	struct written to @stats_uptr: struct nestiommu_ioas_stats for an
 *	IOAS, struct nestiommu_xlate_stats for a HWPT or a device, struct
 *	nestiommu_fault_queue_stats for a fault queue
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


/*
 * Faults: the reasons are those of enum iommu_fault_reason of the vSVA
 * uAPI; every fault also names the stage (1 or 2) that faulted.
 */

/**
 * enum nestiommu_fault_reason - why a translation failed
 * @NESTIOMMU_FAULT_REASON_UNKNOWN: never reported
 * @NESTIOMMU_FAULT_REASON_PASID_FETCH: the PASID entry could not be read
 * @NESTIOMMU_FAULT_REASON_BAD_PASID_ENTRY: the stage-1 descriptor of the
 *	PASID is invalid
 * @NESTIOMMU_FAULT_REASON_PASID_INVALID: nothing is attached to the PASID
 *	(or to the RID, for a request without PASID), or the PASID is wider
 *	than the device's PASID width
 * @NESTIOMMU_FAULT_REASON_WALK_EABT: a page-table read failed (external
 *	abort), or the A/D update kept racing with writers
 * @NESTIOMMU_FAULT_REASON_PTE_FETCH: a PTE is not present, or has reserved
 *	bits set (NESTIOMMU_FAULT_F_RSVD; in a present stage-1 PTE: bits
 *	51:48, PS at levels 5 and 4, bits 29:13 of a 1 GiB and 20:13 of a
 *	2 MiB leaf)
 * @NESTIOMMU_FAULT_REASON_PERMISSION: the PTEs do not allow the access
 * @NESTIOMMU_FAULT_REASON_ACCESS: the PASID does not allow this kind of
 *	request (a privileged request without NESTIOMMU_S1_SRE)
 * @NESTIOMMU_FAULT_REASON_OOR_ADDRESS: out-of-range address: a
 *	non-canonical IOVA, a GPA at or above 2^48 (a stage-1 PTE cannot
 *	name one: bits 51:48 are reserved, PTE_FETCH)
 * @NESTIOMMU_FAULT_REASON_NR: number of reasons
 */
enum nestiommu_fault_reason {
	NESTIOMMU_FAULT_REASON_UNKNOWN = 0,
	NESTIOMMU_FAULT_REASON_PASID_FETCH,
	NESTIOMMU_FAULT_REASON_BAD_PASID_ENTRY,
	NESTIOMMU_FAULT_REASON_PASID_INVALID,
	NESTIOMMU_FAULT_REASON_WALK_EABT,
	NESTIOMMU_FAULT_REASON_PTE_FETCH,
	NESTIOMMU_FAULT_REASON_PERMISSION,
	NESTIOMMU_FAULT_REASON_ACCESS,
	NESTIOMMU_FAULT_REASON_OOR_ADDRESS,
	NESTIOMMU_FAULT_REASON_NR,
};

/**
 * enum nestiommu_fault_stage - the stage a fault happened in
 * @NESTIOMMU_FAULT_STAGE_1: stage 1, the nested HWPT's (user-owned) table
 * @NESTIOMMU_FAULT_STAGE_2: stage 2, the paging HWPT's table (the IOAS)
 */
enum nestiommu_fault_stage {
	NESTIOMMU_FAULT_STAGE_1 = 1,
	NESTIOMMU_FAULT_STAGE_2 = 2,
};

/* Slots per stage in the fault counters of struct nestiommu_xlate_stats. */
#define NESTIOMMU_FAULT_REASON_SLOTS 16

/**
 * enum nestiommu_access - what a DMA or a TRANSLATE asks for
 * @NESTIOMMU_ACCESS_READ: the device reads memory
 * @NESTIOMMU_ACCESS_WRITE: the device writes memory
 * @NESTIOMMU_ACCESS_EXEC: an instruction fetch (with READ)
 * @NESTIOMMU_ACCESS_PRIV: a privileged (supervisor) request
 *
 * Exactly one of READ and WRITE must be given.
 */
enum nestiommu_access {
	NESTIOMMU_ACCESS_READ = 1 << 0,
	NESTIOMMU_ACCESS_WRITE = 1 << 1,
	NESTIOMMU_ACCESS_EXEC = 1 << 2,
	NESTIOMMU_ACCESS_PRIV = 1 << 3,
};

/**
 * enum nestiommu_fault_flags - flags of struct nestiommu_fault_info
 * @NESTIOMMU_FAULT_F_GPA_VALID: @fetch_addr holds a GPA
 * @NESTIOMMU_FAULT_F_TABLE_FETCH: stage 2 faulted while fetching a
 *	stage-1 table (@s1_level names which)
 * @NESTIOMMU_FAULT_F_RSVD: a PTE had reserved bits set
 * @NESTIOMMU_FAULT_F_AD_UPDATE: the fault happened setting A/D bits
 * @NESTIOMMU_FAULT_F_INJECTED: a BPF program at the nest_hook_translate hook
 *	point forced this fault (the tables were not walked)
 */
enum nestiommu_fault_flags {
	NESTIOMMU_FAULT_F_GPA_VALID = 1 << 0,
	NESTIOMMU_FAULT_F_TABLE_FETCH = 1 << 1,
	NESTIOMMU_FAULT_F_RSVD = 1 << 2,
	NESTIOMMU_FAULT_F_AD_UPDATE = 1 << 3,
	NESTIOMMU_FAULT_F_INJECTED = 1 << 4,
};

/**
 * struct nestiommu_fault_info - an unrecoverable fault
 * @addr: the IOVA of the request that faulted
 * @fetch_addr: for a stage-2 fault the GPA being translated (with
 *	TABLE_FETCH: the GPA of the stage-1 PTE); for a stage-1 PTE fault
 *	the GPA of the faulting PTE; 0 otherwise
 * @reason: enum nestiommu_fault_reason
 * @stage: enum nestiommu_fault_stage (1 or 2)
 * @level: level in that stage (stage 1: 5..1, 0 for the PASID entry or
 *	the canonical check; stage 2: 4..1)
 * @s1_level: for a stage-2 fault met fetching a stage-1 table, that
 *	table's stage-1 level; 0 otherwise
 * @flags: enum nestiommu_fault_flags
 * @access: enum nestiommu_access of the request
 * @__reserved: 0
 */
struct nestiommu_fault_info {
	__aligned_u64 addr;
	__aligned_u64 fetch_addr;
	__u32 reason;
	__u8 stage;
	__u8 level;
	__u8 s1_level;
	__u8 flags;
	__u32 access;
	__u32 __reserved;
};

/**
 * enum nestiommu_option_id - options of ioctl(NESTIOMMU_OPTION)
 * @NESTIOMMU_OPTION_HUGE_PAGES: object: an IOAS. 1 (default): paging
 *	HWPTs of the IOAS use 2 MiB and 1 GiB stage-2 pages where the
 *	mapping allows; 0: 4 KiB pages only. EBUSY while a paging HWPT of the
 *	IOAS exists.
 * @NESTIOMMU_OPTION_IOTLB_ENTRIES: object 0 (the IOMMU of this context).
 *	IOTLB entries, a power of two from NESTIOMMU_IOTLB_MIN_ENTRIES to
 *	NESTIOMMU_IOTLB_MAX_ENTRIES (default NESTIOMMU_IOTLB_DEFAULT_ENTRIES).
 *	Setting it empties the IOTLB.
 * @NESTIOMMU_OPTION_DEVTLB_ENTRIES: object: an ATS device. Device-TLB
 *	entries, a power of two from NESTIOMMU_DEVTLB_MIN_ENTRIES to
 *	NESTIOMMU_DEVTLB_MAX_ENTRIES (default NESTIOMMU_DEVTLB_DEFAULT_ENTRIES).
 *	Setting it empties that device TLB.
 * @NESTIOMMU_OPTION_STALE_AUDIT: object 0. 1: on every cache hit walk
 *	again and compare; a mismatch fires nestiommu:nest_stale_translation
 *	and counts in stale_translations. 0 (default): off.
 * @NESTIOMMU_OPTION_PRI_MAX_OUTSTANDING: object: a PRI device. Page
 *	requests it may have outstanding, 1 to NESTIOMMU_PRI_MAX_OUTSTANDING
 *	(default NESTIOMMU_PRI_DEFAULT_OUTSTANDING); a DMA whose group would
 *	exceed it waits for credit.
 * @NESTIOMMU_OPTION_PRI_TIMEOUT_MS: object: a PRI device. 0 (default):
 *	page requests stay pending until answered, as the PCIe spec says;
 *	N (up to NESTIOMMU_PRI_MAX_TIMEOUT_MS): a group not answered N ms
 *	after it was sent is answered INVALID and
 *	nestiommu:nest_page_request_timeout fires.
 */
enum nestiommu_option_id {
	NESTIOMMU_OPTION_HUGE_PAGES = 1,
	NESTIOMMU_OPTION_IOTLB_ENTRIES = 2,
	NESTIOMMU_OPTION_DEVTLB_ENTRIES = 3,
	NESTIOMMU_OPTION_STALE_AUDIT = 4,
	NESTIOMMU_OPTION_PRI_MAX_OUTSTANDING = 5,
	NESTIOMMU_OPTION_PRI_TIMEOUT_MS = 6,
};

/* The bounds and defaults of the options above. */
#define NESTIOMMU_IOTLB_MIN_ENTRIES		16
#define NESTIOMMU_IOTLB_MAX_ENTRIES		65536
#define NESTIOMMU_IOTLB_DEFAULT_ENTRIES		256
#define NESTIOMMU_DEVTLB_MIN_ENTRIES		4
#define NESTIOMMU_DEVTLB_MAX_ENTRIES		4096
#define NESTIOMMU_DEVTLB_DEFAULT_ENTRIES	64
#define NESTIOMMU_PRI_MAX_OUTSTANDING		512
#define NESTIOMMU_PRI_DEFAULT_OUTSTANDING	32
#define NESTIOMMU_PRI_MAX_TIMEOUT_MS		3600000

/**
 * enum nestiommu_option_ops - what ioctl(NESTIOMMU_OPTION) does
 * @NESTIOMMU_OPTION_OP_SET: set the option to @val64
 * @NESTIOMMU_OPTION_OP_GET: return the option in @val64
 */
enum nestiommu_option_ops {
	NESTIOMMU_OPTION_OP_SET = 0,
	NESTIOMMU_OPTION_OP_GET = 1,
};

/**
 * struct nestiommu_option - ioctl(NESTIOMMU_OPTION)
 * @size: sizeof(struct nestiommu_option)
 * @option_id: enum nestiommu_option_id
 * @op: enum nestiommu_option_ops
 * @object_id: the object the option applies to, 0 for the context
 * @__reserved: must be 0
 * @val64: the value to set, or the value read
 *
 * An option of the wrong object type fails with ENOENT, an unknown option
 * or op with EOPNOTSUPP, a value out of range with EINVAL.
 */
struct nestiommu_option {
	__u32 size;
	__u32 option_id;
	__u16 op;
	__u16 __reserved;
	__u32 object_id;
	__aligned_u64 val64;
};
#define NESTIOMMU_OPTION _IO(NESTIOMMU_TYPE, NESTIOMMU_CMD_OPTION)

/**
 * struct nestiommu_ioas_copy - ioctl(NESTIOMMU_IOAS_COPY)
 * @size: sizeof(struct nestiommu_ioas_copy)
 * @flags: enum nestiommu_ioas_map_flags
 * @dst_ioas_id: IOAS to map into
 * @src_ioas_id: IOAS to copy the mapping from (may equal @dst_ioas_id)
 * @length: bytes, page aligned and not 0
 * @dst_iova: with FIXED_IOVA the IOVA to map at; otherwise set by the
 *	kernel
 * @src_iova: first IOVA of the source range
 *
 * Maps the pages already pinned at [src_iova, src_iova + length) of the
 * source IOAS into the destination without pinning them again. The
 * source range must lie inside one mapping (ENOENT otherwise). The new
 * mapping may not ask for WRITEABLE if the source is not writeable
 * (EINVAL). Placement rules, and the answer that cannot be written, are
 * those of IOAS_MAP.
 */
struct nestiommu_ioas_copy {
	__u32 size;
	__u32 flags;
	__u32 dst_ioas_id;
	__u32 src_ioas_id;
	__aligned_u64 length;
	__aligned_u64 dst_iova;
	__aligned_u64 src_iova;
};
#define NESTIOMMU_IOAS_COPY _IO(NESTIOMMU_TYPE, NESTIOMMU_CMD_IOAS_COPY)

/**
 * enum nestiommu_hwpt_alloc_flags - flags of struct nestiommu_hwpt_alloc
 * @NESTIOMMU_HWPT_ALLOC_NEST_PARENT: a paging HWPT that nested HWPTs may
 *	use as their stage 2
 * @NESTIOMMU_HWPT_ALLOC_DIRTY_TRACKING: a paging HWPT that supports
 *	SET_DIRTY_TRACKING and GET_DIRTY_BITMAP
 * @NESTIOMMU_HWPT_ALLOC_FAULT_ID_VALID: @fault_id names the fault queue
 *	the HWPT reports its faults to (paging and nested HWPTs)
 */
enum nestiommu_hwpt_alloc_flags {
	NESTIOMMU_HWPT_ALLOC_NEST_PARENT = 1 << 0,
	NESTIOMMU_HWPT_ALLOC_DIRTY_TRACKING = 1 << 1,
	NESTIOMMU_HWPT_ALLOC_FAULT_ID_VALID = 1 << 2,
};

/**
 * enum nestiommu_hwpt_data_type - what @data_uptr of HWPT_ALLOC holds
 * @NESTIOMMU_HWPT_DATA_NONE: nothing: a paging HWPT of the IOAS @pt_id
 * @NESTIOMMU_HWPT_DATA_S1_X86: struct nestiommu_hwpt_s1_x86: a nested
 *	HWPT whose stage 2 is the NEST_PARENT paging HWPT @pt_id
 */
enum nestiommu_hwpt_data_type {
	NESTIOMMU_HWPT_DATA_NONE = 0,
	NESTIOMMU_HWPT_DATA_S1_X86 = 1,
};

/**
 * enum nestiommu_s1_flags - flags of a stage-1 descriptor
 * @NESTIOMMU_S1_AD: set Accessed and Dirty bits in the stage-1 PTEs
 * @NESTIOMMU_S1_SRE: privileged (supervisor) requests are allowed
 * @NESTIOMMU_S1_WPE: write-protect enable: privileged writes honour
 *	read-only PTEs (without it they may write read-only user pages,
 *	as x86 with CR0.WP = 0)
 */
enum nestiommu_s1_flags {
	NESTIOMMU_S1_AD = 1 << 0,
	NESTIOMMU_S1_SRE = 1 << 1,
	NESTIOMMU_S1_WPE = 1 << 2,
};

/**
 * struct nestiommu_hwpt_s1_x86 - a stage-1 descriptor (x86-64 format)
 * @root_gpa: guest-physical address (an IOVA of the parent's IOAS) of the
 *	top-level table, 4 KiB aligned
 * @levels: 4 (48-bit IOVAs) or 5 (57-bit IOVAs)
 * @flags: enum nestiommu_s1_flags
 *
 * The tables are owned by user space and live in IOAS memory; the kernel
 * reads them on every walk and caches translations until invalidated.
 * The root is not checked at allocation: a bad root faults on use.
 */
struct nestiommu_hwpt_s1_x86 {
	__aligned_u64 root_gpa;
	__u32 levels;
	__u32 flags;
};

/* Stage-1 PTE bits of the x86-64 format, for building tables. */
#define NESTIOMMU_S1_PTE_P	(1ULL << 0)
#define NESTIOMMU_S1_PTE_RW	(1ULL << 1)
#define NESTIOMMU_S1_PTE_US	(1ULL << 2)
#define NESTIOMMU_S1_PTE_A	(1ULL << 5)
#define NESTIOMMU_S1_PTE_D	(1ULL << 6)
#define NESTIOMMU_S1_PTE_PS	(1ULL << 7)
#define NESTIOMMU_S1_PTE_XD	(1ULL << 63)
#define NESTIOMMU_S1_PTE_ADDR	0x0000fffffffff000ULL

/**
 * struct nestiommu_hwpt_alloc - ioctl(NESTIOMMU_HWPT_ALLOC)
 * @size: sizeof(struct nestiommu_hwpt_alloc)
 * @flags: enum nestiommu_hwpt_alloc_flags (NEST_PARENT and
 *	DIRTY_TRACKING: paging HWPTs only)
 * @pt_id: the IOAS (paging) or the NEST_PARENT paging HWPT (nested)
 * @data_type: enum nestiommu_hwpt_data_type
 * @data_len: bytes at @data_uptr (0 with DATA_NONE), at most
 *	NESTIOMMU_STRUCT_SIZE_MAX (E2BIG)
 * @fault_id: with NESTIOMMU_HWPT_ALLOC_FAULT_ID_VALID, the fault queue of
 *	the HWPT; must be 0 without it (EINVAL)
 * @data_uptr: user pointer to the type's data
 * @out_hwpt_id: ID of the new HWPT
 * @__reserved2: must be 0
 *
 * A paging HWPT mirrors its IOAS: every MAP, COPY and UNMAP of the IOAS
 * updates it. It holds the IOAS (DESTROY of the IOAS fails with EBUSY);
 * a nested HWPT holds its parent, a HWPT holds its fault queue. Every
 * unrecoverable fault of a translation through the HWPT (the HWPT attached
 * where the request arrived) is also queued there.
 */
struct nestiommu_hwpt_alloc {
	__u32 size;
	__u32 flags;
	__u32 pt_id;
	__u32 data_type;
	__u32 data_len;
	__u32 fault_id;
	__aligned_u64 data_uptr;
	__u32 out_hwpt_id;
	__u32 __reserved2;
};
#define NESTIOMMU_HWPT_ALLOC _IO(NESTIOMMU_TYPE, NESTIOMMU_CMD_HWPT_ALLOC)

/**
 * enum nestiommu_inv_cache - caches an invalidation entry names (a mask)
 * @NESTIOMMU_INV_CACHE_IOTLB: the IOTLB
 * @NESTIOMMU_INV_CACHE_DEV_IOTLB: the device TLB of every ATS device
 *	attached to the HWPT
 * @NESTIOMMU_INV_CACHE_PASID: the PASID cache of every device attached
 *	to the HWPT
 */
enum nestiommu_inv_cache {
	NESTIOMMU_INV_CACHE_IOTLB = 1 << 0,
	NESTIOMMU_INV_CACHE_DEV_IOTLB = 1 << 1,
	NESTIOMMU_INV_CACHE_PASID = 1 << 2,
};

/**
 * enum nestiommu_inv_granularity - what an invalidation entry covers
 * @NESTIOMMU_INV_GRANU_DOMAIN: everything of the HWPT
 * @NESTIOMMU_INV_GRANU_PASID: everything of one PASID of the HWPT
 * @NESTIOMMU_INV_GRANU_ADDR: a range of IOVAs of the HWPT
 *
 * As in the vSVA uAPI, DOMAIN x DEV_IOTLB and ADDR x PASID cache are not
 * valid combinations (EINVAL).
 */
enum nestiommu_inv_granularity {
	NESTIOMMU_INV_GRANU_DOMAIN = 0,
	NESTIOMMU_INV_GRANU_PASID = 1,
	NESTIOMMU_INV_GRANU_ADDR = 2,
};

/**
 * enum nestiommu_inv_flags - flags of struct nestiommu_inv_entry
 * @NESTIOMMU_INV_F_PASID: with ADDR: only entries of @pasid
 * @NESTIOMMU_INV_F_LEAF: with ADDR: only leaf PTEs changed
 */
enum nestiommu_inv_flags {
	NESTIOMMU_INV_F_PASID = 1 << 0,
	NESTIOMMU_INV_F_LEAF = 1 << 2,
};

/**
 * struct nestiommu_inv_entry - one invalidation request
 * @cache: enum nestiommu_inv_cache mask, not 0
 * @granularity: enum nestiommu_inv_granularity
 * @flags: enum nestiommu_inv_flags (ADDR granularity only)
 * @pasid: the PASID (PASID granularity, or ADDR with F_PASID)
 * @addr: first IOVA (ADDR), aligned to @granule_size
 * @granule_size: a power of two from 4 KiB to 2^57 (ADDR)
 * @nb_granules: number of granules, at least 1 (ADDR)
 */
struct nestiommu_inv_entry {
	__u32 cache;
	__u32 granularity;
	__u32 flags;
	__u32 pasid;
	__aligned_u64 addr;
	__aligned_u64 granule_size;
	__aligned_u64 nb_granules;
};

/* enum nestiommu_hwpt_invalidate_data_type */
#define NESTIOMMU_HWPT_INVALIDATE_DATA_NEST 1

/**
 * struct nestiommu_hwpt_invalidate - ioctl(NESTIOMMU_HWPT_INVALIDATE)
 * @size: sizeof(struct nestiommu_hwpt_invalidate)
 * @hwpt_id: the HWPT whose cached translations are invalidated
 * @data_uptr: user pointer to an array of entries
 * @data_type: NESTIOMMU_HWPT_INVALIDATE_DATA_NEST (entries are struct
 *	nestiommu_inv_entry)
 * @entry_len: size of one entry as user space knows it (extensible like
 *	every uAPI struct), at most NESTIOMMU_STRUCT_SIZE_MAX (E2BIG)
 * @entry_num: in: number of entries; out: number of entries handled
 * @__reserved: must be 0
 *
 * Entries are handled in order. On the first bad entry the call fails
 * with its errno and @entry_num says how many were handled before it.
 * A pending signal ends the call after at least one entry with EINTR,
 * @entry_num saying how many were handled: issue the rest again. An entry
 * costs in proportion to what the caches hold of the HWPT, not to their
 * sizes.
 * @entry_num 0 only checks that @data_type and @entry_len are supported.
 */
struct nestiommu_hwpt_invalidate {
	__u32 size;
	__u32 hwpt_id;
	__aligned_u64 data_uptr;
	__u32 data_type;
	__u32 entry_len;
	__u32 entry_num;
	__u32 __reserved;
};
#define NESTIOMMU_HWPT_INVALIDATE _IO(NESTIOMMU_TYPE, NESTIOMMU_CMD_HWPT_INVALIDATE)

/* Flags of struct nestiommu_hwpt_set_dirty_tracking */
#define NESTIOMMU_HWPT_DIRTY_TRACKING_ENABLE 1

/**
 * struct nestiommu_hwpt_set_dirty_tracking - ioctl(HWPT_SET_DIRTY_TRACKING)
 * @size: sizeof(struct nestiommu_hwpt_set_dirty_tracking)
 * @flags: NESTIOMMU_HWPT_DIRTY_TRACKING_ENABLE or 0 to disable
 * @hwpt_id: a paging HWPT allocated with DIRTY_TRACKING (else EINVAL)
 * @__reserved: must be 0
 *
 * Enabling clears every dirty bit, so the first bitmap read returns the
 * pages written since.
 */
struct nestiommu_hwpt_set_dirty_tracking {
	__u32 size;
	__u32 flags;
	__u32 hwpt_id;
	__u32 __reserved;
};
#define NESTIOMMU_HWPT_SET_DIRTY_TRACKING _IO(NESTIOMMU_TYPE, NESTIOMMU_CMD_HWPT_SET_DIRTY_TRACKING)

/* Flags of struct nestiommu_hwpt_get_dirty_bitmap */
#define NESTIOMMU_HWPT_GET_DIRTY_BITMAP_NO_CLEAR 1

/**
 * struct nestiommu_hwpt_get_dirty_bitmap - ioctl(HWPT_GET_DIRTY_BITMAP)
 * @size: sizeof(struct nestiommu_hwpt_get_dirty_bitmap)
 * @hwpt_id: a paging HWPT with dirty tracking enabled (else EINVAL)
 * @flags: NESTIOMMU_HWPT_GET_DIRTY_BITMAP_NO_CLEAR: read without clearing
 * @__reserved: must be 0
 * @iova: first IOVA, aligned to @page_size
 * @length: bytes, a multiple of @page_size, not 0
 * @page_size: what one bit covers: a power of two, at least 4 KiB
 * @data: user pointer to the bitmap: bit i (of u64 word i / 64, bit
 *	i % 64) is page @iova + i * @page_size; bits of pages written since
 *	the last clear are set, the others are left as they were
 *
 * Dirty bits are kept per stage-2 leaf: with HUGE_PAGES a write marks the
 * whole 2 MiB or 1 GiB page. The call costs in proportion to the mapped
 * memory inside the range, not to @length; only a fatal signal ends it
 * early (it reports no partial progress).
 */
struct nestiommu_hwpt_get_dirty_bitmap {
	__u32 size;
	__u32 hwpt_id;
	__u32 flags;
	__u32 __reserved;
	__aligned_u64 iova;
	__aligned_u64 length;
	__aligned_u64 page_size;
	__aligned_u64 data;
};
#define NESTIOMMU_HWPT_GET_DIRTY_BITMAP _IO(NESTIOMMU_TYPE, NESTIOMMU_CMD_HWPT_GET_DIRTY_BITMAP)

/**
 * enum nestiommu_device_flags - capabilities of an emulated device
 * @NESTIOMMU_DEVICE_ATS: the device has a device TLB (ATS)
 * @NESTIOMMU_DEVICE_PRI: the device can send page requests (PRI)
 */
enum nestiommu_device_flags {
	NESTIOMMU_DEVICE_ATS = 1 << 0,
	NESTIOMMU_DEVICE_PRI = 1 << 1,
};

/* The widest PASID an emulated device may have, in bits. */
#define NESTIOMMU_MAX_PASID_BITS 20

/*
 * The "pasid" that tracepoints and BPF hook points carry for a request
 * without PASID (one to the RID); above any PASID a device may have. The
 * fault and page-request records say it with a flag instead.
 */
#define NESTIOMMU_PASID_NONE 0xffffffffU

/**
 * struct nestiommu_device_create - ioctl(NESTIOMMU_DEVICE_CREATE)
 * @size: sizeof(struct nestiommu_device_create)
 * @flags: enum nestiommu_device_flags
 * @rid: PCIe requester ID (bus << 8 | devfn), below 0x10000, unique in
 *	the context (EEXIST)
 * @pasid_bits: PASID width, 0 (no PASID support) to
 *	NESTIOMMU_MAX_PASID_BITS
 * @out_dev_id: ID of the new device
 * @__reserved: must be 0
 */
struct nestiommu_device_create {
	__u32 size;
	__u32 flags;
	__u32 rid;
	__u32 pasid_bits;
	__u32 out_dev_id;
	__u32 __reserved;
};
#define NESTIOMMU_DEVICE_CREATE _IO(NESTIOMMU_TYPE, NESTIOMMU_CMD_DEVICE_CREATE)

/**
 * enum nestiommu_attach_flags - flags of DEVICE_ATTACH and DEVICE_DETACH
 * @NESTIOMMU_ATTACH_PASID: the attachment is for @pasid; without it, for
 *	requests without PASID (the RID)
 * @NESTIOMMU_ATTACH_REPLACE: (ATTACH only) replace the HWPT already
 *	attached there in one step
 */
enum nestiommu_attach_flags {
	NESTIOMMU_ATTACH_PASID = 1 << 0,
	NESTIOMMU_ATTACH_REPLACE = 1 << 1,
};

/**
 * struct nestiommu_device_attach - ioctl(NESTIOMMU_DEVICE_ATTACH)
 * @size: sizeof(struct nestiommu_device_attach)
 * @flags: enum nestiommu_attach_flags
 * @dev_id: the device
 * @pasid: with NESTIOMMU_ATTACH_PASID, below 2^pasid_bits of the device
 * @hwpt_id: the paging or nested HWPT to attach
 * @__reserved: must be 0
 *
 * Attaching where a HWPT is already attached fails with EBUSY unless
 * REPLACE is given; REPLACE where nothing is attached fails with ENOENT.
 * Attach, replace and detach drop the cached translations and PASID
 * entries of that device and PASID, as a driver does when it rewrites a
 * PASID table entry.
 */
struct nestiommu_device_attach {
	__u32 size;
	__u32 flags;
	__u32 dev_id;
	__u32 pasid;
	__u32 hwpt_id;
	__u32 __reserved;
};
#define NESTIOMMU_DEVICE_ATTACH _IO(NESTIOMMU_TYPE, NESTIOMMU_CMD_DEVICE_ATTACH)

/**
 * struct nestiommu_device_detach - ioctl(NESTIOMMU_DEVICE_DETACH)
 * @size: sizeof(struct nestiommu_device_detach)
 * @flags: NESTIOMMU_ATTACH_PASID or 0 (the RID)
 * @dev_id: the device
 * @pasid: with NESTIOMMU_ATTACH_PASID
 *
 * ENOENT if nothing is attached there.
 */
struct nestiommu_device_detach {
	__u32 size;
	__u32 flags;
	__u32 dev_id;
	__u32 pasid;
};
#define NESTIOMMU_DEVICE_DETACH _IO(NESTIOMMU_TYPE, NESTIOMMU_CMD_DEVICE_DETACH)

/**
 * enum nestiommu_hw_capabilities - out_capabilities of GET_HW_INFO
 * @NESTIOMMU_HW_CAP_NESTING: nested HWPTs (stage 1 over stage 2)
 * @NESTIOMMU_HW_CAP_DIRTY_TRACKING: stage-2 dirty tracking
 * @NESTIOMMU_HW_CAP_ATS: devices may have a device TLB
 * @NESTIOMMU_HW_CAP_PRI: devices may send page requests
 * @NESTIOMMU_HW_CAP_PASID: devices may use PASIDs
 */
enum nestiommu_hw_capabilities {
	NESTIOMMU_HW_CAP_NESTING = 1 << 0,
	NESTIOMMU_HW_CAP_DIRTY_TRACKING = 1 << 1,
	NESTIOMMU_HW_CAP_ATS = 1 << 2,
	NESTIOMMU_HW_CAP_PRI = 1 << 3,
	NESTIOMMU_HW_CAP_PASID = 1 << 4,
};

/**
 * struct nestiommu_hw_info - ioctl(NESTIOMMU_GET_HW_INFO)
 * @size: sizeof(struct nestiommu_hw_info)
 * @dev_id: 0 for the IOMMU alone, or a device whose out_dev_ fields are
 *	filled in
 * @out_capabilities: enum nestiommu_hw_capabilities
 * @out_s1_formats: bit (1 << NESTIOMMU_HWPT_DATA_S1_X86) for each
 *	stage-1 format supported
 * @out_s1_levels: bit (1 << n) for each supported stage-1 depth n
 * @out_max_pasid_bits: the widest PASID a device may have
 * @out_pgsize_bitmap: page sizes of both stages
 * @out_gpa_bits: width of a GPA (stage-2 input)
 * @out_iova_bits: width of a stage-1 IOVA with the deepest format
 * @out_iotlb_entries: IOTLB entries now (OPTION_IOTLB_ENTRIES)
 * @out_iotlb_ways: IOTLB associativity
 * @out_pasid_cache_entries: PASID cache entries per device
 *	(NESTIOMMU_PASID_CACHE_ENTRIES)
 * @out_dev_flags: the device's enum nestiommu_device_flags
 * @out_dev_pasid_bits: the device's PASID width
 * @out_dev_rid: the device's RID
 * @out_dev_devtlb_entries: the device's TLB entries, 0 without ATS
 */
struct nestiommu_hw_info {
	__u32 size;
	__u32 dev_id;
	__u32 out_capabilities;
	__u32 out_s1_formats;
	__u32 out_s1_levels;
	__u32 out_max_pasid_bits;
	__aligned_u64 out_pgsize_bitmap;
	__u32 out_gpa_bits;
	__u32 out_iova_bits;
	__u32 out_iotlb_entries;
	__u32 out_iotlb_ways;
	__u32 out_pasid_cache_entries;
	__u32 out_dev_flags;
	__u32 out_dev_pasid_bits;
	__u32 out_dev_rid;
	__u32 out_dev_devtlb_entries;
	__u32 __reserved;
};
/* The PASID cache entries of every device (out_pasid_cache_entries). */
#define NESTIOMMU_PASID_CACHE_ENTRIES 16

#define NESTIOMMU_GET_HW_INFO _IO(NESTIOMMU_TYPE, NESTIOMMU_CMD_GET_HW_INFO)

/* Flags of struct nestiommu_dma and struct nestiommu_translate */
#define NESTIOMMU_DMA_PASID		(1 << 0)	/* @pasid is valid */
#define NESTIOMMU_TRANSLATE_NO_CACHE	(1 << 1)	/* TRANSLATE only */
#define NESTIOMMU_DMA_NONBLOCK		(1 << 2)	/* DMA only */
#define NESTIOMMU_DMA_RESUME		(1 << 3)	/* DMA only */

/* out_flags of struct nestiommu_dma and struct nestiommu_translate */
#define NESTIOMMU_OUT_FAULT		(1 << 0)	/* @out_fault is valid */
#define NESTIOMMU_OUT_PAGE_REQUEST	(1 << 1)	/* DMA: @pr_cookie pending */

/* The longest DMA one call may ask for. */
#define NESTIOMMU_DMA_MAX_LENGTH	(1ULL << 30)

/**
 * struct nestiommu_dma - ioctl(NESTIOMMU_DMA)
 * @size: sizeof(struct nestiommu_dma)
 * @flags: NESTIOMMU_DMA_PASID, NESTIOMMU_DMA_NONBLOCK, NESTIOMMU_DMA_RESUME
 * @dev_id: the device doing the DMA
 * @pasid: the request's PASID, with NESTIOMMU_DMA_PASID
 * @access: enum nestiommu_access: READ copies memory to @user_va, WRITE
 *	copies @user_va to memory
 * @__reserved: must be 0
 * @iova: first IOVA
 * @length: bytes, 1 to NESTIOMMU_DMA_MAX_LENGTH
 * @user_va: the user buffer of @length bytes
 * @out_bytes_done: bytes transferred
 * @out_flags: NESTIOMMU_OUT_FAULT if a fault stopped the DMA,
 *	NESTIOMMU_OUT_PAGE_REQUEST if a non-blocking DMA left a group pending
 * @__reserved2: 0
 * @out_fault: the fault, with NESTIOMMU_OUT_FAULT
 * @pr_cookie: in, with NESTIOMMU_DMA_RESUME: the page request group the
 *	DMA resumes after; out, with NESTIOMMU_OUT_PAGE_REQUEST: the group the
 *	DMA left pending (NONBLOCK and RESUME need @size to include this
 *	field: EINVAL otherwise)
 *
 * The device translates each page and moves the data between @user_va
 * and the pinned pages the translation reaches. A translation served by a
 * cache (IOTLB, device TLB) is checked against the request as the walk
 * checks it (privilege and NESTIOMMU_S1_SRE, U/S, R/W and
 * NESTIOMMU_S1_WPE, XD, stage-2 permissions). A fault stops the DMA:
 * the ioctl still returns 0, with @out_bytes_done bytes moved and the
 * fault in @out_fault. A bad @user_va is EFAULT; a signal ends a long
 * DMA with EINTR (the out_ fields are written).
 *
 * Page requests: on a device with NESTIOMMU_DEVICE_PRI (not disabled by a
 * FAILURE), a stage-1 not-present (PTE_FETCH without RSVD) or PERMISSION
 * fault through a HWPT that has a fault queue does not stop the DMA: the
 * device sends a page request group to the queue and waits for the
 * response (interruptibly: a signal ends the DMA with EINTR, the group
 * stays pending and its response is still accepted). See enum
 * nestiommu_page_response_code for what each answer does.
 *
 * Non-blocking mode (NESTIOMMU_DMA_NONBLOCK), so one thread can keep many
 * groups outstanding: where the DMA would wait, it fails with EAGAIN
 * instead, the out_ fields written. With NESTIOMMU_OUT_PAGE_REQUEST it
 * sent a group, named by @pr_cookie, after @out_bytes_done bytes; the
 * caller answers it (or lets its handler do so) and issues the rest of
 * the DMA (@iova, @user_va and @length advanced by @out_bytes_done) with
 * NESTIOMMU_DMA_RESUME and @pr_cookie. Without NESTIOMMU_OUT_PAGE_REQUEST
 * the device had no credit (PRI_MAX_OUTSTANDING): answer some groups and
 * issue the rest again. A RESUME finds its group by @pr_cookie, the PASID
 * and the page of @iova (EINVAL if none matches); if the group is not
 * answered yet it fails with EAGAIN and the same @pr_cookie again
 * (without NONBLOCK it waits for the answer). Answered SUCCESS, the DMA
 * translates the page again and goes on (the retries of that page count
 * across calls); answered otherwise, it stops with the fault that made the
 * device ask. A device keeps at most NESTIOMMU_DMA_MAX_PARKED groups
 * that no RESUME has taken yet; beyond that a non-blocking DMA that needs
 * a page fails with EBUSY. DEVICE_RESET and destroying the device forget
 * them.
 */
struct nestiommu_dma {
	__u32 size;
	__u32 flags;
	__u32 dev_id;
	__u32 pasid;
	__u32 access;
	__u32 __reserved;
	__aligned_u64 iova;
	__aligned_u64 length;
	__aligned_u64 user_va;
	__aligned_u64 out_bytes_done;
	__u32 out_flags;
	__u32 __reserved2;
	struct nestiommu_fault_info out_fault;
	__aligned_u64 pr_cookie;
};
#define NESTIOMMU_DMA _IO(NESTIOMMU_TYPE, NESTIOMMU_CMD_DMA)

/* The groups a device keeps for NESTIOMMU_DMA_RESUME. */
#define NESTIOMMU_DMA_MAX_PARKED	1024

/**
 * enum nestiommu_xlate_source - where a translation came from
 * @NESTIOMMU_XLATE_WALK: a page-table walk
 * @NESTIOMMU_XLATE_IOTLB: an IOTLB hit
 * @NESTIOMMU_XLATE_DEVTLB: a device-TLB hit
 */
enum nestiommu_xlate_source {
	NESTIOMMU_XLATE_WALK = 0,
	NESTIOMMU_XLATE_IOTLB = 1,
	NESTIOMMU_XLATE_DEVTLB = 2,
};

/* Flags of struct nestiommu_walk_step (stage-2 steps) */
#define NESTIOMMU_STEP_PRESENT	(1 << 0)
#define NESTIOMMU_STEP_LEAF	(1 << 1)
#define NESTIOMMU_STEP_READ	(1 << 2)
#define NESTIOMMU_STEP_WRITE	(1 << 3)
#define NESTIOMMU_STEP_DIRTY	(1 << 4)

/**
 * struct nestiommu_walk_step - one page-table entry a walk read
 * @addr: stage 1: GPA of the PTE; stage 2: the GPA being translated
 * @pte: stage 1: the PTE as read; stage 2: always 0 (stage-2 entries are
 *	kernel-private and described by @flags)
 * @stage: 1 or 2
 * @level: level of the entry in its stage
 * @s1_level: stage 2: the stage-1 level whose table was being fetched,
 *	0 for the final output
 * @flags: stage 2: NESTIOMMU_STEP_*
 * @__reserved: 0
 */
struct nestiommu_walk_step {
	__aligned_u64 addr;
	__aligned_u64 pte;
	__u8 stage;
	__u8 level;
	__u8 s1_level;
	__u8 flags;
	__u32 __reserved;
};

/**
 * struct nestiommu_translate - ioctl(NESTIOMMU_TRANSLATE)
 * @size: sizeof(struct nestiommu_translate)
 * @flags: NESTIOMMU_DMA_PASID, NESTIOMMU_TRANSLATE_NO_CACHE
 * @dev_id: the device
 * @pasid: with NESTIOMMU_DMA_PASID
 * @access: enum nestiommu_access
 * @steps_num: in: entries at @steps_uptr; out: steps the walk made
 *	(EMSGSIZE if more than given, the array then holds the first ones)
 * @steps_uptr: user pointer to struct nestiommu_walk_step[], or 0 with
 *	@steps_num 0
 * @iova: the address to translate
 * @out_flags: NESTIOMMU_OUT_FAULT if the translation faulted
 * @out_source: enum nestiommu_xlate_source
 * @out_perm: the enum nestiommu_access kinds (READ, WRITE, EXEC) that a
 *	request of this one's privilege (PRIV in @access or not) may make
 *	through the translation, exactly as DMA checks them (a privileged
 *	request without NESTIOMMU_S1_WPE may WRITE despite stage-1 R/W=0);
 *	plus PRIV when stage 1 refuses non-privileged requests (U/S=0)
 * @out_ioas_id: the IOAS the output lies in
 * @out_page_size: size of the translation
 * @out_gpa: the output: an IOVA of @out_ioas_id
 * @out_user_va: the user address backing @out_gpa
 * @out_fault: the fault, with NESTIOMMU_OUT_FAULT
 *
 * Translates as the device would. Without NO_CACHE it consults and fills
 * the caches and sets A/D and dirty bits as a DMA does (a cache hit
 * reports no steps). With NO_CACHE it walks without touching any cache or
 * any A/D or dirty bit. Addresses reported are never kernel or physical.
 */
struct nestiommu_translate {
	__u32 size;
	__u32 flags;
	__u32 dev_id;
	__u32 pasid;
	__u32 access;
	__u32 steps_num;
	__aligned_u64 steps_uptr;
	__aligned_u64 iova;
	__u32 out_flags;
	__u32 out_source;
	__u32 out_perm;
	__u32 out_ioas_id;
	__aligned_u64 out_page_size;
	__aligned_u64 out_gpa;
	__aligned_u64 out_user_va;
	struct nestiommu_fault_info out_fault;
};
#define NESTIOMMU_TRANSLATE _IO(NESTIOMMU_TYPE, NESTIOMMU_CMD_TRANSLATE)

/**
 * struct nestiommu_xlate_stats - statistics of a HWPT or a device
 * @translations: pages translated (DMA and TRANSLATE)
 * @iotlb_hits: translations served by the IOTLB
 * @iotlb_misses: IOTLB lookups that missed
 * @devtlb_hits: translations served by a device TLB
 * @devtlb_misses: device-TLB lookups that missed
 * @walks: page-table walks after both caches missed (faulting ones too)
 * @walk_levels: stage-1 levels walked (stage-2 levels for a paging HWPT),
 *	summed over the walks that succeeded
 * @walk_mem_refs: page-table entries read, summed over the walks that
 *	succeeded
 * @pasid_cache_hits: PASID-cache hits
 * @pasid_cache_misses: PASID-cache misses
 * @inv_iotlb: invalidation entries naming the IOTLB
 * @inv_dev_iotlb: invalidation entries naming the device TLB
 * @inv_pasid: invalidation entries naming the PASID cache
 * @inv_dropped: cache entries dropped by those invalidations
 * @dma_ops: DMA requests
 * @dma_bytes: bytes moved by DMA
 * @stale_translations: cache hits the stale-translation auditor found
 *	different from a fresh walk
 * @faults: faults by stage (index 0: stage 1, 1: stage 2) and enum
 *	nestiommu_fault_reason, injected ones included
 * @injected_faults: faults a BPF program at nest_hook_translate forced
 * @injected_inv_drops: invalidation entries a BPF program at
 *	nest_hook_invalidate dropped (reported done, nothing dropped)
 * @injected_inv_errors: invalidation entries a BPF program at
 *	nest_hook_invalidate failed
 * @hook_rejected: hook decisions ignored as out of range (those of
 *	nest_hook_page_request and nest_hook_page_response count on the
 *	device only)
 * @pri_page_requests: page requests sent (device only, as all pri_*)
 * @pri_groups: page request groups sent
 * @pri_success: groups answered SUCCESS by user space
 * @pri_invalid: groups answered INVALID by user space
 * @pri_failure: groups answered FAILURE by user space
 * @pri_auto_invalid: groups the driver answered INVALID: detach, replace,
 *	reset, device destroy, fault fd closed or queue full, timeout
 * @pri_timeouts: of those, groups that timed out (OPTION_PRI_TIMEOUT_MS)
 * @pri_outstanding: page requests sent and not answered now
 * @injected_page_requests: translations a BPF program at
 *	nest_hook_translate made ask for their page (counted as PTE_FETCH faults of stage 1 too;
 *	a page out of retries faults instead of asking)
 * @injected_pr_drops: groups a BPF program at nest_hook_page_request lost
 * @injected_pr_duplicates: groups whose records it queued twice
 * @injected_pr_last_cleared: groups it sent without LAST_PAGE (these three
 *	count groups the queue took, not those a full queue refused)
 * @injected_resp_codes: responses whose code a BPF program at
 *	nest_hook_page_response replaced
 * @injected_resp_drops: responses it lost
 * @injected_resp_delays: responses it delayed
 * @pri_parked: groups non-blocking DMAs left that no RESUME took yet (now)
 *
 * pri_groups = pri_success + pri_invalid + pri_failure + pri_auto_invalid
 * + groups outstanding.
 *
 * A translation counts on the device and on the HWPT attached where it
 * happened (a nested one, not its parent). A TRANSLATE with NO_CACHE counts
 * in @translations (and @faults) only. A fault before any HWPT was found
 * (PASID_INVALID) counts on the device only. Invalidations count on the
 * HWPT only.
 */
struct nestiommu_xlate_stats {
	__aligned_u64 translations;
	__aligned_u64 iotlb_hits;
	__aligned_u64 iotlb_misses;
	__aligned_u64 devtlb_hits;
	__aligned_u64 devtlb_misses;
	__aligned_u64 walks;
	__aligned_u64 walk_levels;
	__aligned_u64 walk_mem_refs;
	__aligned_u64 pasid_cache_hits;
	__aligned_u64 pasid_cache_misses;
	__aligned_u64 inv_iotlb;
	__aligned_u64 inv_dev_iotlb;
	__aligned_u64 inv_pasid;
	__aligned_u64 inv_dropped;
	__aligned_u64 dma_ops;
	__aligned_u64 dma_bytes;
	__aligned_u64 stale_translations;
	__aligned_u64 faults[2][NESTIOMMU_FAULT_REASON_SLOTS];
	__aligned_u64 injected_faults;
	__aligned_u64 injected_inv_drops;
	__aligned_u64 injected_inv_errors;
	__aligned_u64 hook_rejected;
	__aligned_u64 pri_page_requests;
	__aligned_u64 pri_groups;
	__aligned_u64 pri_success;
	__aligned_u64 pri_invalid;
	__aligned_u64 pri_failure;
	__aligned_u64 pri_auto_invalid;
	__aligned_u64 pri_timeouts;
	__aligned_u64 pri_outstanding;
	__aligned_u64 injected_page_requests;
	__aligned_u64 injected_pr_drops;
	__aligned_u64 injected_pr_duplicates;
	__aligned_u64 injected_pr_last_cleared;
	__aligned_u64 injected_resp_codes;
	__aligned_u64 injected_resp_drops;
	__aligned_u64 injected_resp_delays;
	__aligned_u64 pri_parked;
};

/* The default and the largest depth of a fault queue, in records. */
#define NESTIOMMU_FAULT_QUEUE_DEFAULT_DEPTH 256
#define NESTIOMMU_FAULT_QUEUE_MAX_DEPTH 65536

/**
 * struct nestiommu_fault_queue_alloc - ioctl(NESTIOMMU_FAULT_QUEUE_ALLOC)
 * @size: sizeof(struct nestiommu_fault_queue_alloc)
 * @flags: must be 0
 * @depth: records the queue holds, 1 to NESTIOMMU_FAULT_QUEUE_MAX_DEPTH,
 *	or 0 for NESTIOMMU_FAULT_QUEUE_DEFAULT_DEPTH
 * @out_fault_id: ID of the queue object (for HWPT_ALLOC's fault_id)
 * @out_fault_fd: a new file descriptor (close-on-exec) to read records from
 *
 * read() of the fd returns whole struct nestiommu_fault_record, oldest
 * first: at least one and at most as many as fit (EINVAL if not even one
 * fits). A buffer that faults part way returns the whole records copied
 * before the fault (EFAULT if none); the others stay queued, in front, so
 * nothing is lost. A slow buffer (userfaultfd) blocks only its own read():
 * other readers and the queueing of new records go on, records being
 * copied out keep their room in the queue meanwhile;
 * it blocks while the queue is empty unless the fd is O_NONBLOCK (then
 * EAGAIN). poll(), select() and epoll report EPOLLIN while a record is
 * queued. A full queue drops new records; the next record read carries
 * NESTIOMMU_RECORD_F_OVERFLOW and how many were dropped. The fd keeps
 * working after DESTROY of the object or close of the /dev/nestiommu fd
 * (no new records arrive then). DESTROY fails with EBUSY while a HWPT uses
 * the queue.
 */
struct nestiommu_fault_queue_alloc {
	__u32 size;
	__u32 flags;
	__u32 depth;
	__u32 out_fault_id;
	__s32 out_fault_fd;
	__u32 __reserved;
};
#define NESTIOMMU_FAULT_QUEUE_ALLOC _IO(NESTIOMMU_TYPE, NESTIOMMU_CMD_FAULT_QUEUE_ALLOC)

/**
 * struct nestiommu_fault_queue_stats - statistics of a fault queue
 *	(NESTIOMMU_OBJ_FAULT_QUEUE)
 * @depth: records the queue holds
 * @pending: records queued and not read yet
 * @queued: records queued since allocation
 * @read: records read since allocation
 * @dropped: records dropped because the queue was full
 *
 * queued = read + pending; every record reported is queued or dropped.
 */
struct nestiommu_fault_queue_stats {
	__aligned_u64 depth;
	__aligned_u64 pending;
	__aligned_u64 queued;
	__aligned_u64 read;
	__aligned_u64 dropped;
};

/* The record format read() returns; bumped only for incompatible changes. */
#define NESTIOMMU_FAULT_RECORD_V1 1

/**
 * enum nestiommu_record_type - what a fault record reports
 * @NESTIOMMU_RECORD_FAULT: an unrecoverable fault (@fault is valid)
 * @NESTIOMMU_RECORD_PAGE_REQUEST: a page request (@cookie, @addr, @grpid,
 *	@perm; @fault says what faulted)
 */
enum nestiommu_record_type {
	NESTIOMMU_RECORD_FAULT = 1,
	NESTIOMMU_RECORD_PAGE_REQUEST = 2,
};

/**
 * enum nestiommu_record_flags - flags of struct nestiommu_fault_record
 * @NESTIOMMU_RECORD_F_PASID_VALID: the request had a PASID (@pasid)
 * @NESTIOMMU_RECORD_F_OVERFLOW: the queue was full and dropped @dropped
 *	records since the previous record read
 * @NESTIOMMU_RECORD_F_LAST_PAGE: the last page request of its group
 */
enum nestiommu_record_flags {
	NESTIOMMU_RECORD_F_PASID_VALID = 1 << 0,
	NESTIOMMU_RECORD_F_OVERFLOW = 1 << 1,
	NESTIOMMU_RECORD_F_LAST_PAGE = 1 << 2,
};

/**
 * struct nestiommu_fault_record - one record read from a fault queue
 * @version: NESTIOMMU_FAULT_RECORD_V1
 * @type: enum nestiommu_record_type
 * @flags: enum nestiommu_record_flags
 * @dev_id: the device whose request faulted
 * @pasid: the request's PASID, with NESTIOMMU_RECORD_F_PASID_VALID
 * @hwpt_id: the HWPT attached where the request arrived
 * @dropped: with NESTIOMMU_RECORD_F_OVERFLOW, records dropped
 * @timestamp_ns: CLOCK_MONOTONIC time the record was queued
 * @fault: the fault: IOVA, stage, reason, level, access and, where it
 *	applies, the fetch address (for a page request: the fault that made
 *	the device ask)
 * @cookie: page request: names the group in the page response (never 0,
 *	never reused while the module is loaded)
 * @addr: page request: the page asked for (an IOVA, 4 KiB aligned)
 * @grpid: page request: the PCIe page request group index (9 bits)
 * @perm: page request: enum nestiommu_access the device needs
 *
 * A page request group is the pages one DMA still needs from the page that
 * faulted on (at most PRI_MAX_OUTSTANDING of them); every record of a
 * group has the same @cookie and @grpid, the last one LAST_PAGE. Answer a
 * group once, with struct nestiommu_page_response.
 */
struct nestiommu_fault_record {
	__u32 version;
	__u16 type;
	__u16 flags;
	__u32 dev_id;
	__u32 pasid;
	__u32 hwpt_id;
	__u32 dropped;
	__aligned_u64 timestamp_ns;
	struct nestiommu_fault_info fault;
	__aligned_u64 cookie;
	__aligned_u64 addr;
	__u32 grpid;
	__u32 perm;
};

/**
 * enum nestiommu_page_response_code - PCIe PRG response codes
 * @NESTIOMMU_PAGE_RESP_SUCCESS: the pages are there: the DMA translates
 *	again and continues (and asks again, up to NESTIOMMU_PRI_RETRIES
 *	times, if it still faults)
 * @NESTIOMMU_PAGE_RESP_INVALID: the request cannot be served: the DMA
 *	stops with the fault
 * @NESTIOMMU_PAGE_RESP_FAILURE: a catastrophic error: the DMA stops with
 *	the fault and PRI is disabled on the device (its later faults are
 *	unrecoverable) until DEVICE_RESET
 */
enum nestiommu_page_response_code {
	NESTIOMMU_PAGE_RESP_SUCCESS = 0,
	NESTIOMMU_PAGE_RESP_INVALID = 1,
	NESTIOMMU_PAGE_RESP_FAILURE = 0xf,
};

/* Page requests one DMA sends for the same page before it gives up. */
#define NESTIOMMU_PRI_RETRIES 3

/**
 * struct nestiommu_page_response - written to a fault queue's fd
 * @cookie: the group, from its page request records
 * @code: enum nestiommu_page_response_code
 * @__reserved: must be 0
 *
 * write() takes whole responses (EINVAL otherwise) and handles them in
 * order; it stops at the first bad one: an unknown code or a non-zero
 * __reserved (EOPNOTSUPP), a cookie this queue has no pending group for:
 * unknown, answered already, or another queue's (EINVAL). It returns the
 * bytes of the responses handled, or the error if that is none; a bad
 * response changes nothing.
 */
struct nestiommu_page_response {
	__aligned_u64 cookie;
	__u32 code;
	__u32 __reserved;
};

/**
 * struct nestiommu_device_reset - ioctl(NESTIOMMU_DEVICE_RESET)
 * @size: sizeof(struct nestiommu_device_reset)
 * @dev_id: the device
 *
 * Answers every outstanding page request group of the device INVALID
 * (their DMAs stop with their fault), empties its device TLB and PASID
 * cache, and enables PRI again after a FAILURE response. Attachments stay.
 */
struct nestiommu_device_reset {
	__u32 size;
	__u32 dev_id;
};
#define NESTIOMMU_DEVICE_RESET _IO(NESTIOMMU_TYPE, NESTIOMMU_CMD_DEVICE_RESET)

/**
 * enum nestiommu_fail_site - where the driver can fail for resources
 * @NESTIOMMU_FAIL_SITE_CONTEXT: open() of /dev/nestiommu, the context
 *	(main.c); open() fails with ENOMEM
 * @NESTIOMMU_FAIL_SITE_OBJECT: an object's memory, at every ioctl that
 *	creates one (main.c); ENOMEM
 * @NESTIOMMU_FAIL_SITE_OBJECT_ID: an object's ID in the context's xarray
 *	(main.c); ENOMEM
 * @NESTIOMMU_FAIL_SITE_CACHE_TAG: a HWPT's cache tag from the context's
 *	IDA at HWPT_ALLOC (hwpt.c); ENOMEM
 * @NESTIOMMU_FAIL_SITE_S2_TABLE: a page of a paging HWPT's stage-2 table,
 *	at HWPT_ALLOC (the root) and at MAP, COPY or HWPT_ALLOC mirroring
 *	the IOAS (mem.c); ENOMEM
 * @NESTIOMMU_FAIL_SITE_AREA: an IOAS area at MAP and COPY (ioas.c); ENOMEM
 * @NESTIOMMU_FAIL_SITE_PIN: the pin and its page array at MAP, the array
 *	growing while pages are pinned (pages.c); ENOMEM
 * @NESTIOMMU_FAIL_SITE_PIN_PAGES: pinning a chunk of user pages at MAP
 *	(pages.c); ENOMEM
 * @NESTIOMMU_FAIL_SITE_LOCKED_MEM: charging the pages to the caller's
 *	locked memory at MAP (pages.c); ENOMEM, as over RLIMIT_MEMLOCK
 * @NESTIOMMU_FAIL_SITE_ATTACH: the attachment's slot in the device's
 *	xarray at DEVICE_ATTACH, but not REPLACE (device.c); ENOMEM
 * @NESTIOMMU_FAIL_SITE_DIRTY_BITMAP: the dirty-bit windows of
 *	HWPT_SET_DIRTY_TRACKING and HWPT_GET_DIRTY_BITMAP (hwpt.c); ENOMEM
 * @NESTIOMMU_FAIL_SITE_FAULT_QUEUE: a fault queue's ring at
 *	FAULT_QUEUE_ALLOC (fault.c); ENOMEM
 * @NESTIOMMU_FAIL_SITE_FAULT_READ: the fault records a read() of a fault
 *	queue copies out (fault.c); read() fails with ENOMEM, the records
 *	stay queued
 * @NESTIOMMU_FAIL_SITE_PRI: a PRI device's page request state at
 *	DEVICE_CREATE (pri.c); ENOMEM
 * @NESTIOMMU_FAIL_SITE_PAGE_REQUEST: a page request group, when a DMA's
 *	fault would send one (pri.c); ENOMEM: the group is not sent and the
 *	DMA stops with its fault, as if the device had no PRI
 * @NESTIOMMU_FAIL_SITE_TLB: an IOTLB's or device TLB's storage, at open(),
 *	DEVICE_CREATE of an ATS device and OPTION IOTLB_ENTRIES /
 *	DEV_IOTLB_ENTRIES, which leaves the TLB as it was (iommu.c); ENOMEM
 * @NESTIOMMU_FAIL_SITE_DMA_BOUNCE: the DMA ioctl's bounce buffer (dma.c);
 *	ENOMEM
 * @NESTIOMMU_FAIL_SITE_TRANSLATE_TRACE: the TRANSLATE ioctl's walk record
 *	(dma.c); ENOMEM
 * @NESTIOMMU_FAIL_SITE_COUNT: the number of sites
 *
 * A BPF program on the nestiommu:nest_hook_fail_site hook point makes the
 * call at a site fail as it would without memory: the operation fails
 * with the errno above and leaves nothing behind. The driver counts each
 * injected failure per site (debugfs nestiommu/fail_sites) and shows it in
 * the nestiommu:nest_fail_site event. Not part of the ioctl ABI: sites may
 * be added.
 */
enum nestiommu_fail_site {
	NESTIOMMU_FAIL_SITE_CONTEXT,
	NESTIOMMU_FAIL_SITE_OBJECT,
	NESTIOMMU_FAIL_SITE_OBJECT_ID,
	NESTIOMMU_FAIL_SITE_CACHE_TAG,
	NESTIOMMU_FAIL_SITE_S2_TABLE,
	NESTIOMMU_FAIL_SITE_AREA,
	NESTIOMMU_FAIL_SITE_PIN,
	NESTIOMMU_FAIL_SITE_PIN_PAGES,
	NESTIOMMU_FAIL_SITE_LOCKED_MEM,
	NESTIOMMU_FAIL_SITE_ATTACH,
	NESTIOMMU_FAIL_SITE_DIRTY_BITMAP,
	NESTIOMMU_FAIL_SITE_FAULT_QUEUE,
	NESTIOMMU_FAIL_SITE_FAULT_READ,
	NESTIOMMU_FAIL_SITE_PRI,
	NESTIOMMU_FAIL_SITE_PAGE_REQUEST,
	NESTIOMMU_FAIL_SITE_TLB,
	NESTIOMMU_FAIL_SITE_DMA_BOUNCE,
	NESTIOMMU_FAIL_SITE_TRANSLATE_TRACE,
	NESTIOMMU_FAIL_SITE_COUNT,
};

#endif /* _UAPI_LINUX_NESTIOMMU_H */
