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
 * Return: 0, or -errno.
 */
int nest_ioctl(int fd, unsigned long cmd, void *arg)
{
	return ioctl(fd, cmd, arg) ? -errno : 0;
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
