// SPDX-License-Identifier: GPL-2.0
/*
 * libnestiommu: thin C wrappers over the /dev/nestiommu uAPI.
 * See nestiommu.h for the conventions shared by every function.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "nestiommu.h"

/**
 * nest_open() - open a new nestiommu context
 *
 * Opens /dev/nestiommu read-write and close-on-exec. Each open is a separate
 * context with its own objects. On failure prints an actionable message on
 * stderr (telling how to load the module when the device node is missing).
 *
 * Return: the file descriptor, or -errno.
 */
int nest_open(void)
{
	int fd = open(NEST_DEV_PATH, O_RDWR | O_CLOEXEC);
	int err;

	if (fd >= 0)
		return fd;
	err = errno;
	if (err == ENOENT || err == ENXIO || err == ENODEV)
		fprintf(stderr,
			"%s not found: load the module (insmod kernel/nestiommu.ko or modprobe nestiommu)\n",
			NEST_DEV_PATH);
	else
		fprintf(stderr, "cannot open %s: %s\n", NEST_DEV_PATH, strerror(err));
	errno = err;
	return -err;
}

/**
 * nest_ioctl() - issue one nestiommu ioctl
 * @fd: context from nest_open()
 * @cmd: NESTIOMMU_* ioctl number
 * @arg: the ioctl's struct, its size field already set by the caller
 *
 * The raw entry point, for callers that build the struct themselves (the
 * selftests do, to send malformed ones).
 *
 * Return: 0, or -errno; a positive value the driver must never return is
 * passed on as it is, so that callers checking for 0 see it.
 */
int nest_ioctl(int fd, unsigned long cmd, void *arg)
{
	int rc = ioctl(fd, cmd, arg);

	return rc < 0 ? -errno : rc;
}

/**
 * nest_destroy() - destroy an object of any type
 * @fd: context from nest_open()
 * @id: ID of the object
 *
 * Return: 0, or -errno (ENOENT: no such object, EBUSY: still in use).
 */
int nest_destroy(int fd, __u32 id)
{
	struct nestiommu_destroy cmd = {
		.size = sizeof(cmd),
		.id = id,
	};

	return nest_ioctl(fd, NESTIOMMU_DESTROY, &cmd);
}

/**
 * nest_ioas_alloc() - allocate an empty IO address space
 * @fd: context from nest_open()
 * @ioas_id: set to the new IOAS's ID on success
 *
 * Return: 0, or -errno.
 */
int nest_ioas_alloc(int fd, __u32 *ioas_id)
{
	struct nestiommu_ioas_alloc cmd = {
		.size = sizeof(cmd),
	};
	int rc;

	rc = nest_ioctl(fd, NESTIOMMU_IOAS_ALLOC, &cmd);
	if (!rc)
		*ioas_id = cmd.out_ioas_id;
	return rc;
}

/**
 * nest_ioas_map() - pin user memory and map it into an IOAS
 * @fd: context from nest_open()
 * @ioas_id: IOAS to map into
 * @flags: enum nestiommu_ioas_map_flags
 * @user_va: start of the user memory, page aligned
 * @length: bytes to map, page aligned, not 0
 * @iova: in: the IOVA to map at when @flags has FIXED_IOVA (ignored
 *	otherwise); out: the IOVA of the mapping
 *
 * Return: 0, or -errno (see struct nestiommu_ioas_map).
 */
int nest_ioas_map(int fd, __u32 ioas_id, __u32 flags, __u64 user_va,
		  __u64 length, __u64 *iova)
{
	struct nestiommu_ioas_map cmd = {
		.size = sizeof(cmd),
		.flags = flags,
		.ioas_id = ioas_id,
		.user_va = user_va,
		.length = length,
		.iova = (flags & NESTIOMMU_IOAS_MAP_FIXED_IOVA) ? *iova : 0,
	};
	int rc;

	rc = nest_ioctl(fd, NESTIOMMU_IOAS_MAP, &cmd);
	if (!rc)
		*iova = cmd.iova;
	return rc;
}

/**
 * nest_ioas_unmap() - unmap every mapping inside an IOVA range
 * @fd: context from nest_open()
 * @ioas_id: IOAS to unmap from
 * @iova: first IOVA of the range
 * @length: bytes in the range (iova 0, length UINT64_MAX: everything)
 * @unmapped: if not NULL, set to the number of bytes unmapped on success
 *
 * Return: 0, or -errno (ENOENT: the range cuts a mapping or holds none).
 */
int nest_ioas_unmap(int fd, __u32 ioas_id, __u64 iova, __u64 length,
		    __u64 *unmapped)
{
	struct nestiommu_ioas_unmap cmd = {
		.size = sizeof(cmd),
		.ioas_id = ioas_id,
		.iova = iova,
		.length = length,
	};
	int rc;

	rc = nest_ioctl(fd, NESTIOMMU_IOAS_UNMAP, &cmd);
	if (!rc && unmapped)
		*unmapped = cmd.length;
	return rc;
}

/**
 * nest_ioas_iova_ranges() - read the IOVA ranges an IOAS allows
 * @fd: context from nest_open()
 * @ioas_id: IOAS to query
 * @ranges: array of *@num entries (may be NULL when *@num is 0)
 * @num: in: entries in @ranges; out: number of ranges the IOAS has. Also
 *	set when the call fails with EMSGSIZE (array too short), which is
 *	how callers learn the count.
 * @alignment: if not NULL, set to the required IOVA alignment on success
 *
 * Return: 0, or -errno (EMSGSIZE: @ranges too short, *@num is the count).
 */
int nest_ioas_iova_ranges(int fd, __u32 ioas_id,
			  struct nestiommu_iova_range *ranges, __u32 *num,
			  __u64 *alignment)
{
	struct nestiommu_ioas_iova_ranges cmd = {
		.size = sizeof(cmd),
		.ioas_id = ioas_id,
		.num_iovas = *num,
		.allowed_iovas = NEST_PTR(ranges),
	};
	int rc;

	rc = nest_ioctl(fd, NESTIOMMU_IOAS_IOVA_RANGES, &cmd);
	if (!rc || rc == -EMSGSIZE)
		*num = cmd.num_iovas;
	if (!rc && alignment)
		*alignment = cmd.out_iova_alignment;
	return rc;
}

/**
 * nest_get_stats() - read the statistics of an object
 * @fd: context from nest_open()
 * @id: object to read
 * @type: set to the object's enum nestiommu_object_type on success; it
 *	names the struct written to @buf (struct nestiommu_ioas_stats, ...)
 * @buf: where the statistics are written
 * @len: in: bytes available at @buf; out: size of the kernel's statistics
 *	struct for that type (the kernel wrote the smaller of the two)
 *
 * Return: 0, or -errno.
 */
int nest_get_stats(int fd, __u32 id, __u32 *type, void *buf, __u32 *len)
{
	struct nestiommu_get_stats cmd = {
		.size = sizeof(cmd),
		.id = id,
		.stats_len = *len,
		.stats_uptr = NEST_PTR(buf),
	};
	int rc;

	rc = nest_ioctl(fd, NESTIOMMU_GET_STATS, &cmd);
	if (!rc) {
		*type = cmd.out_type;
		*len = cmd.stats_len;
	}
	return rc;
}

/**
 * nest_option_set() - set an option
 * @fd: context from nest_open()
 * @option_id: enum nestiommu_option_id
 * @object_id: the object the option belongs to, 0 for the context
 * @val: the new value
 *
 * Return: 0, or -errno (ENOENT: wrong object type, EOPNOTSUPP: unknown
 * option, EINVAL: value out of range, EBUSY: cannot change now).
 */
int nest_option_set(int fd, __u32 option_id, __u32 object_id, __u64 val)
{
	struct nestiommu_option cmd = {
		.size = sizeof(cmd),
		.option_id = option_id,
		.op = NESTIOMMU_OPTION_OP_SET,
		.object_id = object_id,
		.val64 = val,
	};

	return nest_ioctl(fd, NESTIOMMU_OPTION, &cmd);
}

/**
 * nest_option_get() - read an option
 * @fd: context from nest_open()
 * @option_id: enum nestiommu_option_id
 * @object_id: the object the option belongs to, 0 for the context
 * @val: set to the option's value on success
 *
 * Return: 0, or -errno (as nest_option_set()).
 */
int nest_option_get(int fd, __u32 option_id, __u32 object_id, __u64 *val)
{
	struct nestiommu_option cmd = {
		.size = sizeof(cmd),
		.option_id = option_id,
		.op = NESTIOMMU_OPTION_OP_GET,
		.object_id = object_id,
	};
	int rc;

	rc = nest_ioctl(fd, NESTIOMMU_OPTION, &cmd);
	if (!rc)
		*val = cmd.val64;
	return rc;
}

/**
 * nest_ioas_copy() - map pages already pinned in one IOAS into another
 * @fd: context from nest_open()
 * @dst_ioas_id: IOAS to map into
 * @flags: enum nestiommu_ioas_map_flags
 * @dst_iova: in: the IOVA to map at when @flags has FIXED_IOVA (ignored
 *	otherwise); out: the IOVA of the new mapping
 * @src_ioas_id: IOAS holding the pages (may be @dst_ioas_id)
 * @src_iova: first IOVA of the source range, inside one mapping
 * @length: bytes, page aligned, not 0
 *
 * Return: 0, or -errno (see struct nestiommu_ioas_copy).
 */
int nest_ioas_copy(int fd, __u32 dst_ioas_id, __u32 flags, __u64 *dst_iova,
		   __u32 src_ioas_id, __u64 src_iova, __u64 length)
{
	struct nestiommu_ioas_copy cmd = {
		.size = sizeof(cmd),
		.flags = flags,
		.dst_ioas_id = dst_ioas_id,
		.src_ioas_id = src_ioas_id,
		.length = length,
		.dst_iova = (flags & NESTIOMMU_IOAS_MAP_FIXED_IOVA) ? *dst_iova : 0,
		.src_iova = src_iova,
	};
	int rc;

	rc = nest_ioctl(fd, NESTIOMMU_IOAS_COPY, &cmd);
	if (!rc)
		*dst_iova = cmd.dst_iova;
	return rc;
}

/**
 * nest_hwpt_alloc() - HWPT_ALLOC with every field the caller's
 * @fd: context from nest_open()
 * @cmd: filled by the caller but for @size; out_hwpt_id set on success
 *
 * For what the two helpers below do not cover, e.g. a fault queue.
 *
 * Return: 0, or -errno.
 */
int nest_hwpt_alloc(int fd, struct nestiommu_hwpt_alloc *cmd)
{
	cmd->size = sizeof(*cmd);
	return nest_ioctl(fd, NESTIOMMU_HWPT_ALLOC, cmd);
}

/**
 * nest_fault_queue_alloc() - allocate a fault queue and its fd
 * @fd: context from nest_open()
 * @depth: records it holds, 0 for the default
 * @fault_id: set to the queue's object ID on success
 * @fault_fd: set to the queue's new fd on success
 *
 * Return: 0, or -errno.
 */
int nest_fault_queue_alloc(int fd, __u32 depth, __u32 *fault_id,
			   int *fault_fd)
{
	struct nestiommu_fault_queue_alloc cmd = {
		.size = sizeof(cmd),
		.depth = depth,
	};
	int rc;

	rc = nest_ioctl(fd, NESTIOMMU_FAULT_QUEUE_ALLOC, &cmd);
	if (!rc) {
		*fault_id = cmd.out_fault_id;
		*fault_fd = cmd.out_fault_fd;
	}
	return rc;
}

/**
 * nest_hwpt_alloc_paging() - allocate a paging (stage-2) HWPT of an IOAS
 * @fd: context from nest_open()
 * @ioas_id: the IOAS the HWPT mirrors
 * @flags: enum nestiommu_hwpt_alloc_flags (NEST_PARENT, DIRTY_TRACKING)
 * @hwpt_id: set to the new HWPT's ID on success
 *
 * Return: 0, or -errno.
 */
int nest_hwpt_alloc_paging(int fd, __u32 ioas_id, __u32 flags, __u32 *hwpt_id)
{
	struct nestiommu_hwpt_alloc cmd = {
		.size = sizeof(cmd),
		.flags = flags,
		.pt_id = ioas_id,
		.data_type = NESTIOMMU_HWPT_DATA_NONE,
	};
	int rc;

	rc = nest_ioctl(fd, NESTIOMMU_HWPT_ALLOC, &cmd);
	if (!rc)
		*hwpt_id = cmd.out_hwpt_id;
	return rc;
}

/**
 * nest_hwpt_alloc_nested() - allocate a nested (stage-1) HWPT
 * @fd: context from nest_open()
 * @parent_id: a paging HWPT allocated with NEST_PARENT: the stage 2
 * @desc: the stage-1 descriptor (nest_s1_desc() builds one)
 * @hwpt_id: set to the new HWPT's ID on success
 *
 * Return: 0, or -errno.
 */
int nest_hwpt_alloc_nested(int fd, __u32 parent_id,
			   const struct nestiommu_hwpt_s1_x86 *desc,
			   __u32 *hwpt_id)
{
	struct nestiommu_hwpt_alloc cmd = {
		.size = sizeof(cmd),
		.pt_id = parent_id,
		.data_type = NESTIOMMU_HWPT_DATA_S1_X86,
		.data_len = sizeof(*desc),
		.data_uptr = NEST_PTR(desc),
	};
	int rc;

	rc = nest_ioctl(fd, NESTIOMMU_HWPT_ALLOC, &cmd);
	if (!rc)
		*hwpt_id = cmd.out_hwpt_id;
	return rc;
}

/**
 * nest_hwpt_invalidate() - drop cached translations of a HWPT
 * @fd: context from nest_open()
 * @hwpt_id: the HWPT
 * @entries: array of *@entry_num entries of @entry_len bytes each (struct
 *	nestiommu_inv_entry, data type NESTIOMMU_HWPT_INVALIDATE_DATA_NEST)
 * @entry_len: size of one entry (sizeof(struct nestiommu_inv_entry))
 * @entry_num: in: number of entries; out: number of entries handled. Set
 *	on success AND on failure (the bad entry is at that index), unless
 *	the call failed before handling any entry for another reason (then
 *	the kernel reports 0 or leaves it as it was).
 *
 * Return: 0, or -errno of the first bad entry (or of the call).
 */
int nest_hwpt_invalidate(int fd, __u32 hwpt_id, const void *entries,
			 __u32 entry_len, __u32 *entry_num)
{
	struct nestiommu_hwpt_invalidate cmd = {
		.size = sizeof(cmd),
		.hwpt_id = hwpt_id,
		.data_uptr = NEST_PTR(entries),
		.data_type = NESTIOMMU_HWPT_INVALIDATE_DATA_NEST,
		.entry_len = entry_len,
		.entry_num = *entry_num,
	};
	int rc;

	rc = nest_ioctl(fd, NESTIOMMU_HWPT_INVALIDATE, &cmd);
	*entry_num = cmd.entry_num;
	return rc;
}

/**
 * nest_hwpt_set_dirty_tracking() - start or stop dirty tracking
 * @fd: context from nest_open()
 * @hwpt_id: a paging HWPT allocated with DIRTY_TRACKING
 * @enable: true to enable (clears every dirty bit), false to disable
 *
 * Return: 0, or -errno.
 */
int nest_hwpt_set_dirty_tracking(int fd, __u32 hwpt_id, bool enable)
{
	struct nestiommu_hwpt_set_dirty_tracking cmd = {
		.size = sizeof(cmd),
		.flags = enable ? NESTIOMMU_HWPT_DIRTY_TRACKING_ENABLE : 0,
		.hwpt_id = hwpt_id,
	};

	return nest_ioctl(fd, NESTIOMMU_HWPT_SET_DIRTY_TRACKING, &cmd);
}

/**
 * nest_hwpt_get_dirty_bitmap() - read (and clear) dirty bits of a range
 * @fd: context from nest_open()
 * @hwpt_id: a paging HWPT with dirty tracking enabled
 * @flags: NESTIOMMU_HWPT_GET_DIRTY_BITMAP_NO_CLEAR or 0
 * @iova: first IOVA, aligned to @page_size
 * @length: bytes, a non-zero multiple of @page_size
 * @page_size: bytes one bit stands for, a power of two, at least 4 KiB
 * @bitmap: length / page_size bits (rounded up to u64 words); the kernel
 *	sets the bits of dirty pages and leaves the others as they were
 *
 * Return: 0, or -errno.
 */
int nest_hwpt_get_dirty_bitmap(int fd, __u32 hwpt_id, __u32 flags, __u64 iova,
			       __u64 length, __u64 page_size, __u64 *bitmap)
{
	struct nestiommu_hwpt_get_dirty_bitmap cmd = {
		.size = sizeof(cmd),
		.hwpt_id = hwpt_id,
		.flags = flags,
		.iova = iova,
		.length = length,
		.page_size = page_size,
		.data = NEST_PTR(bitmap),
	};

	return nest_ioctl(fd, NESTIOMMU_HWPT_GET_DIRTY_BITMAP, &cmd);
}

/**
 * nest_device_create() - create an emulated device
 * @fd: context from nest_open()
 * @flags: enum nestiommu_device_flags (ATS, PRI)
 * @rid: PCIe requester ID, below 0x10000, unique in the context
 * @pasid_bits: PASID width, 0 to NESTIOMMU_MAX_PASID_BITS
 * @dev_id: set to the new device's ID on success
 *
 * Return: 0, or -errno (EEXIST: the RID is taken).
 */
int nest_device_create(int fd, __u32 flags, __u32 rid, __u32 pasid_bits,
		       __u32 *dev_id)
{
	struct nestiommu_device_create cmd = {
		.size = sizeof(cmd),
		.flags = flags,
		.rid = rid,
		.pasid_bits = pasid_bits,
	};
	int rc;

	rc = nest_ioctl(fd, NESTIOMMU_DEVICE_CREATE, &cmd);
	if (!rc)
		*dev_id = cmd.out_dev_id;
	return rc;
}

/**
 * nest_device_attach() - attach a HWPT to a device's RID or one PASID
 * @fd: context from nest_open()
 * @dev_id: the device
 * @flags: enum nestiommu_attach_flags (PASID, REPLACE)
 * @pasid: the PASID, with NESTIOMMU_ATTACH_PASID
 * @hwpt_id: a paging or nested HWPT
 *
 * Return: 0, or -errno (EBUSY: already attached there, ENOENT: REPLACE of
 * nothing).
 */
int nest_device_attach(int fd, __u32 dev_id, __u32 flags, __u32 pasid,
		       __u32 hwpt_id)
{
	struct nestiommu_device_attach cmd = {
		.size = sizeof(cmd),
		.flags = flags,
		.dev_id = dev_id,
		.pasid = pasid,
		.hwpt_id = hwpt_id,
	};

	return nest_ioctl(fd, NESTIOMMU_DEVICE_ATTACH, &cmd);
}

/**
 * nest_device_detach() - detach what is attached to a RID or a PASID
 * @fd: context from nest_open()
 * @dev_id: the device
 * @flags: NESTIOMMU_ATTACH_PASID or 0 (the RID)
 * @pasid: the PASID, with NESTIOMMU_ATTACH_PASID
 *
 * Return: 0, or -errno (ENOENT: nothing attached there).
 */
int nest_device_detach(int fd, __u32 dev_id, __u32 flags, __u32 pasid)
{
	struct nestiommu_device_detach cmd = {
		.size = sizeof(cmd),
		.flags = flags,
		.dev_id = dev_id,
		.pasid = pasid,
	};

	return nest_ioctl(fd, NESTIOMMU_DEVICE_DETACH, &cmd);
}

/**
 * nest_hw_info() - read the IOMMU's (and a device's) capabilities
 * @fd: context from nest_open()
 * @dev_id: 0, or a device whose out_dev_ fields are to be filled in
 * @info: set to the kernel's answer on success (size and dev_id included)
 *
 * Return: 0, or -errno.
 */
int nest_hw_info(int fd, __u32 dev_id, struct nestiommu_hw_info *info)
{
	struct nestiommu_hw_info cmd = {
		.size = sizeof(cmd),
		.dev_id = dev_id,
	};
	int rc;

	rc = nest_ioctl(fd, NESTIOMMU_GET_HW_INFO, &cmd);
	if (!rc)
		*info = cmd;
	return rc;
}

/**
 * nest_dma() - let a device DMA to or from a user buffer
 * @fd: context from nest_open()
 * @dma: filled in by the caller (flags, dev_id, pasid, access, iova,
 *	length, user_va; the size field is set here); the kernel writes the
 *	out_ fields on success and on EINTR
 *
 * A fault is not an error: the call returns 0 with NESTIOMMU_OUT_FAULT in
 * @dma->out_flags, the fault in @dma->out_fault and the bytes moved before
 * it in @dma->out_bytes_done.
 *
 * Return: 0, or -errno (EINTR: a signal stopped a long DMA).
 */
int nest_dma(int fd, struct nestiommu_dma *dma)
{
	dma->size = sizeof(*dma);
	return nest_ioctl(fd, NESTIOMMU_DMA, dma);
}

/**
 * nest_translate() - translate one address as a device would
 * @fd: context from nest_open()
 * @xlate: filled in by the caller (flags, dev_id, pasid, access, iova,
 *	steps_num, steps_uptr; the size field is set here); the kernel writes
 *	the out_ fields, and steps_num also on EMSGSIZE
 *
 * A fault is not an error: NESTIOMMU_OUT_FAULT in @xlate->out_flags.
 *
 * Return: 0, or -errno (EMSGSIZE: the steps array is too short,
 * @xlate->steps_num is the count needed).
 */
int nest_translate(int fd, struct nestiommu_translate *xlate)
{
	xlate->size = sizeof(*xlate);
	return nest_ioctl(fd, NESTIOMMU_TRANSLATE, xlate);
}
