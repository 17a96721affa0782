/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers shared by the nestiommu selftests.
 *
 * Every operation has three layers:
 *   _do_x    libnestiommu's nest_x(): issues the ioctl, returns 0 or -errno
 *            (the selftests call it directly when they want the rc);
 *   do_x     asserts that it succeeds;
 *   do_x_err asserts that it fails with the given errno.
 * do_x and do_x_err are macros, so a failure names the calling line and the
 * arguments as written there.
 */
#ifndef NEST_HELPERS_H
#define NEST_HELPERS_H

#include <fcntl.h>
#include <sys/statfs.h>
#include <linux/magic.h>

#include "harness.h"
#include "nestiommu.h"

#define SZ_4K	0x1000ULL
#define SZ_64K	0x10000ULL
#define SZ_1M	0x100000ULL
#define SZ_2M	0x200000ULL
#define SZ_1G	0x40000000ULL

#define MAP_RW (NESTIOMMU_IOAS_MAP_READABLE | NESTIOMMU_IOAS_MAP_WRITEABLE)
#define MAP_FIXED_RW (MAP_RW | NESTIOMMU_IOAS_MAP_FIXED_IOVA)
/* IOVAs are below this. */
#define IOVA_LIMIT (1ULL << NESTIOMMU_IOAS_IOVA_BITS)
#define MSI_START NESTIOMMU_MSI_WINDOW_START
#define MSI_LAST NESTIOMMU_MSI_WINDOW_LAST

#define DEBUGFS_PINNED_PAGES "/sys/kernel/debug/nestiommu/pinned_pages"

static inline size_t page_size(void)
{
	return (size_t)sysconf(_SC_PAGESIZE);
}

/* A new context; skips the test when the module is not loaded. */
static inline int do_open(void)
{
	int fd = nest_open();

	if (fd == -ENOENT)
		SKIP(NEST_DEV_PATH " not found: load the module (insmod kernel/nestiommu.ko)");
	ASSERT_GE(fd, 0);
	return fd;
}

/* ---- objects ---- */

#define do_ioas_alloc(fd, id_p) ASSERT_OK(nest_ioas_alloc(fd, id_p))

#define do_destroy(fd, id) ASSERT_OK(nest_destroy(fd, id))
#define do_destroy_err(err, fd, id) ASSERT_ERR(err, nest_destroy(fd, id))

/* ---- IOAS_MAP ---- */

#define do_ioas_map(fd, ioas, flags, uva, len, iova_p) \
	ASSERT_OK(nest_ioas_map(fd, ioas, flags, uva, len, iova_p))
#define do_ioas_map_err(err, fd, ioas, flags, uva, len, iova_p) \
	ASSERT_ERR(err, nest_ioas_map(fd, ioas, flags, uva, len, iova_p))

/* Read-write map of the buffer @buf at the fixed IOVA @iova. */
#define do_ioas_map_fixed(fd, ioas, buf, len, iova) do {		\
	__u64 __iova = (iova);						\
									\
	do_ioas_map(fd, ioas, MAP_FIXED_RW, NEST_PTR(buf), len, &__iova); \
	ASSERT_EQ((__u64)(iova), __iova);				\
} while (0)
#define do_ioas_map_fixed_err(err, fd, ioas, buf, len, iova) do {	\
	__u64 __iova = (iova);						\
									\
	do_ioas_map_err(err, fd, ioas, MAP_FIXED_RW, NEST_PTR(buf), len, &__iova); \
} while (0)

/* ---- IOAS_UNMAP ---- */

/* Unmap [iova, iova + len) and check that exactly @expect bytes went. */
#define do_ioas_unmap(fd, ioas, iova, len, expect) do {			\
	__u64 __unmapped = ~0ULL;					\
									\
	ASSERT_OK(nest_ioas_unmap(fd, ioas, iova, len, &__unmapped));	\
	ASSERT_EQ((__u64)(expect), __unmapped);				\
} while (0)
#define do_ioas_unmap_err(err, fd, ioas, iova, len) \
	ASSERT_ERR(err, nest_ioas_unmap(fd, ioas, iova, len, NULL))

/* ---- IOAS_IOVA_RANGES ---- */

#define do_ioas_iova_ranges(fd, ioas, ranges, num_p, align_p) \
	ASSERT_OK(nest_ioas_iova_ranges(fd, ioas, ranges, num_p, align_p))
#define do_ioas_iova_ranges_err(err, fd, ioas, ranges, num_p, align_p) \
	ASSERT_ERR(err, nest_ioas_iova_ranges(fd, ioas, ranges, num_p, align_p))

/* ---- GET_STATS ---- */

/* Read the stats of IOAS @id: the call succeeds and reports an IOAS. */
#define do_ioas_stats(fd, id, stats_p) do {				\
	__u32 __type = NESTIOMMU_OBJ_NONE;				\
	__u32 __len = sizeof(*(stats_p));				\
									\
	ASSERT_OK(nest_get_stats(fd, id, &__type, stats_p, &__len));	\
	ASSERT_EQ(NESTIOMMU_OBJ_IOAS, __type);				\
	ASSERT_EQ(sizeof(struct nestiommu_ioas_stats), __len);		\
} while (0)
#define do_get_stats_err(err, fd, id) do {				\
	struct nestiommu_ioas_stats __st;				\
	__u32 __type, __len = sizeof(__st);				\
									\
	ASSERT_ERR(err, nest_get_stats(fd, id, &__type, &__st, &__len)); \
} while (0)

/* IOAS @id has @nmaps mappings of @bytes in all, pinning @pages pages. */
#define check_ioas_mapped(fd, id, nmaps, bytes, pages) do {		\
	struct nestiommu_ioas_stats __st;				\
									\
	do_ioas_stats(fd, id, &__st);					\
	ASSERT_EQ((__u64)(nmaps), __st.mappings);			\
	ASSERT_EQ((__u64)(bytes), __st.mapped_bytes);			\
	ASSERT_EQ((__u64)(pages), __st.pinned_pages);			\
} while (0)

/* ---- raw ioctls, for malformed structs ---- */

#define SIZED_IOCTL_MAX 8192

/*
 * _do_ioctl_sized() - issue @cmd with @arg presented as a @user_size struct
 * @arg: the struct, @arg_size bytes; outputs are copied back into it
 * @user_size: value for the size field (the kernel reads that many bytes)
 * @tail_at: offset past @arg_size of the one byte set to @tail_byte
 *
 * Every other byte past @arg_size is 0. Return: 0 or -errno.
 */
static inline int _do_ioctl_sized(int fd, unsigned long cmd, void *arg,
				  size_t arg_size, __u32 user_size,
				  size_t tail_at, __u8 tail_byte)
{
	static union {
		__u32 size;
		__u64 align;
		unsigned char bytes[SIZED_IOCTL_MAX];
	} buf;
	int rc;

	ASSERT_LT(arg_size + tail_at, sizeof(buf));
	memset(&buf, 0, sizeof(buf));
	memcpy(buf.bytes, arg, arg_size);
	buf.size = user_size;
	buf.bytes[arg_size + tail_at] = tail_byte;
	rc = nest_ioctl(fd, cmd, &buf);
	memcpy(arg, buf.bytes, arg_size);
	return rc;
}

/* ---- memory ---- */

/* @len bytes of populated read-write anonymous memory, @align aligned. */
static inline void *alloc_buffer(size_t len, size_t align)
{
	char *p, *start;

	p = mmap(NULL, len + align, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, (void *)p);
	start = (char *)(((uintptr_t)p + align - 1) & ~(uintptr_t)(align - 1));
	if (start != p)
		ASSERT_EQ(0, munmap(p, start - p));
	if (start + len != p + len + align)
		ASSERT_EQ(0, munmap(start + len, p + len + align - (start + len)));
	memset(start, 0x5a, len);
	return start;
}

/* VmLck of this process, in bytes (the driver charges mm->locked_vm). */
static inline __u64 vmlck_bytes(void)
{
	unsigned long long kib = 0;
	bool found = false;
	char line[256];
	FILE *f;

	f = fopen("/proc/self/status", "r");
	ASSERT_NE(NULL, (void *)f);
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "VmLck: %llu kB", &kib) == 1) {
			found = true;
			break;
		}
	fclose(f);
	ASSERT_TRUE(found);
	return kib * 1024;
}

/*
 * Pages pinned by all contexts, from the module's debugfs counter. Skips the
 * test when debugfs is not mounted; the file must exist when it is.
 */
static inline __u64 module_pinned_pages(void)
{
	unsigned long long pages;
	struct statfs sfs;
	char extra;
	FILE *f;
	int n;

	if (statfs("/sys/kernel/debug", &sfs) || sfs.f_type != DEBUGFS_MAGIC)
		SKIP("debugfs is not mounted at /sys/kernel/debug");
	f = fopen(DEBUGFS_PINNED_PAGES, "r");
	if (!f)
		TH_LOG("cannot open " DEBUGFS_PINNED_PAGES ": %s", strerror(errno));
	ASSERT_NE(NULL, (void *)f);
	n = fscanf(f, "%llu%c", &pages, &extra);
	fclose(f);
	ASSERT_EQ(2, n);
	ASSERT_EQ('\n', extra);
	return pages;
}

/* Largest power of two dividing both @uva and @len, at most 1 GiB. */
static inline __u64 expected_map_alignment(__u64 uva, __u64 len)
{
	__u64 both = uva | len;
	__u64 align = both & -both;

	return align > SZ_1G ? SZ_1G : align;
}

#endif /* NEST_HELPERS_H */
