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

/*
 * A page for a struct followed by 4 GiB of zeros that were never touched
 * (read-only, the zero page), for size fields up to 0xffffffff.
 */
#define ZERO_TAIL_LEN ((1ULL << 32) + SZ_64K)

static inline char *alloc_zero_tail(void)
{
	char *p = mmap(NULL, ZERO_TAIL_LEN, PROT_READ,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

	ASSERT_NE(MAP_FAILED, (void *)p);
	ASSERT_EQ(0, mprotect(p, page_size(), PROT_READ | PROT_WRITE));
	return p;
}

static inline void free_zero_tail(char *p)
{
	munmap(p, ZERO_TAIL_LEN);
}

/* ---- memory ---- */

/*
 * @len bytes of populated read-write anonymous memory, @align aligned;
 * with @no_thp never backed by transparent huge pages.
 */
static inline void *_alloc_buffer(size_t len, size_t align, bool no_thp)
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
	if (no_thp && madvise(start, len, MADV_NOHUGEPAGE)) {
		/* Refused by a kernel without THP (6.1 PREEMPT_RT): none to avoid. */
		ASSERT_EQ(EINVAL, errno);
		ASSERT_NE(0, access("/sys/kernel/mm/transparent_hugepage", F_OK));
	}
	memset(start, 0x5a, len);
	return start;
}

/* @len bytes of populated read-write anonymous memory, @align aligned. */
static inline void *alloc_buffer(size_t len, size_t align)
{
	return _alloc_buffer(len, align, false);
}

/*
 * VmPin of this process, in bytes: the pages its MAPs pinned (the limit is
 * the user's locked memory, which /proc does not show).
 */
static inline __u64 vmpin_bytes(void)
{
	unsigned long long kib = 0;
	bool found = false;
	char line[256];
	FILE *f;

	f = fopen("/proc/self/status", "r");
	ASSERT_NE(NULL, (void *)f);
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "VmPin: %llu kB", &kib) == 1) {
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

/* ---- OPTION ---- */

#define do_option_set(fd, opt, obj, val) \
	ASSERT_OK(nest_option_set(fd, opt, obj, val))
#define do_option_set_err(err, fd, opt, obj, val) \
	ASSERT_ERR(err, nest_option_set(fd, opt, obj, val))
#define do_option_get(fd, opt, obj, val_p) \
	ASSERT_OK(nest_option_get(fd, opt, obj, val_p))
#define do_option_get_err(err, fd, opt, obj) do {			\
	__u64 __val;							\
									\
	ASSERT_ERR(err, nest_option_get(fd, opt, obj, &__val));		\
} while (0)
/* Option @opt of @obj reads back as @expect. */
#define check_option(fd, opt, obj, expect) do {				\
	__u64 __val = ~0ULL;						\
									\
	do_option_get(fd, opt, obj, &__val);				\
	ASSERT_EQ((__u64)(expect), __val);				\
} while (0)

/* ---- IOAS_COPY ---- */

#define do_ioas_copy(fd, dst, flags, dst_iova_p, src, src_iova, len) \
	ASSERT_OK(nest_ioas_copy(fd, dst, flags, dst_iova_p, src, src_iova, len))
#define do_ioas_copy_err(err, fd, dst, flags, dst_iova, src, src_iova, len) do { \
	__u64 __dst_iova = (dst_iova);					\
									\
	ASSERT_ERR(err, nest_ioas_copy(fd, dst, flags, &__dst_iova, src, \
				       src_iova, len));			\
} while (0)

/* ---- HWPT_ALLOC ---- */

#define do_hwpt_alloc_paging(fd, ioas, flags, id_p) \
	ASSERT_OK(nest_hwpt_alloc_paging(fd, ioas, flags, id_p))
#define do_hwpt_alloc_paging_err(err, fd, ioas, flags) do {		\
	__u32 __id;							\
									\
	ASSERT_ERR(err, nest_hwpt_alloc_paging(fd, ioas, flags, &__id)); \
} while (0)
#define do_hwpt_alloc_nested(fd, parent, desc_p, id_p) \
	ASSERT_OK(nest_hwpt_alloc_nested(fd, parent, desc_p, id_p))
#define do_hwpt_alloc_nested_err(err, fd, parent, desc_p) do {		\
	__u32 __id;							\
									\
	ASSERT_ERR(err, nest_hwpt_alloc_nested(fd, parent, desc_p, &__id)); \
} while (0)

/* ---- HWPT_INVALIDATE ---- */

/* Invalidate with @n entries: all of them are handled. */
#define do_hwpt_invalidate(fd, hwpt, entries, n) do {			\
	__u32 __num = (n);						\
									\
	ASSERT_OK(nest_hwpt_invalidate(fd, hwpt, entries,		\
				       sizeof(struct nestiommu_inv_entry), &__num)); \
	ASSERT_EQ((__u32)(n), __num);					\
} while (0)
/* Invalidate with @n entries: fails with @err after handling @handled. */
#define do_hwpt_invalidate_err(err, fd, hwpt, entries, n, handled) do { \
	__u32 __num = (n);						\
									\
	ASSERT_ERR(err, nest_hwpt_invalidate(fd, hwpt, entries,		\
					     sizeof(struct nestiommu_inv_entry), &__num)); \
	ASSERT_EQ((__u32)(handled), __num);				\
} while (0)

/* ---- dirty tracking ---- */

#define do_hwpt_set_dirty_tracking(fd, hwpt, enable) \
	ASSERT_OK(nest_hwpt_set_dirty_tracking(fd, hwpt, enable))
#define do_hwpt_set_dirty_tracking_err(err, fd, hwpt, enable) \
	ASSERT_ERR(err, nest_hwpt_set_dirty_tracking(fd, hwpt, enable))
#define do_hwpt_get_dirty_bitmap(fd, hwpt, flags, iova, len, pgsize, bitmap) \
	ASSERT_OK(nest_hwpt_get_dirty_bitmap(fd, hwpt, flags, iova, len, pgsize, bitmap))
#define do_hwpt_get_dirty_bitmap_err(err, fd, hwpt, flags, iova, len, pgsize, bitmap) \
	ASSERT_ERR(err, nest_hwpt_get_dirty_bitmap(fd, hwpt, flags, iova, len, pgsize, bitmap))

/* ---- devices ---- */

#define do_device_create(fd, flags, rid, pasid_bits, id_p) \
	ASSERT_OK(nest_device_create(fd, flags, rid, pasid_bits, id_p))
#define do_device_create_err(err, fd, flags, rid, pasid_bits) do {	\
	__u32 __id;							\
									\
	ASSERT_ERR(err, nest_device_create(fd, flags, rid, pasid_bits, &__id)); \
} while (0)
#define do_device_attach(fd, dev, flags, pasid, hwpt) \
	ASSERT_OK(nest_device_attach(fd, dev, flags, pasid, hwpt))
#define do_device_attach_err(err, fd, dev, flags, pasid, hwpt) \
	ASSERT_ERR(err, nest_device_attach(fd, dev, flags, pasid, hwpt))
#define do_device_detach(fd, dev, flags, pasid) \
	ASSERT_OK(nest_device_detach(fd, dev, flags, pasid))
#define do_device_detach_err(err, fd, dev, flags, pasid) \
	ASSERT_ERR(err, nest_device_detach(fd, dev, flags, pasid))

/* ---- GET_HW_INFO ---- */

#define do_hw_info(fd, dev, info_p) ASSERT_OK(nest_hw_info(fd, dev, info_p))
#define do_hw_info_err(err, fd, dev) do {				\
	struct nestiommu_hw_info __info;				\
									\
	ASSERT_ERR(err, nest_hw_info(fd, dev, &__info));		\
} while (0)

/* ---- GET_STATS of HWPTs and devices ---- */

/* Read the translation stats of @id, which must be of type @type. */
#define do_xlate_stats(fd, id, type, stats_p) do {			\
	__u32 __type = NESTIOMMU_OBJ_NONE;				\
	__u32 __len = sizeof(*(stats_p));				\
									\
	ASSERT_OK(nest_get_stats(fd, id, &__type, stats_p, &__len));	\
	ASSERT_EQ((__u32)(type), __type);				\
	ASSERT_EQ(sizeof(struct nestiommu_xlate_stats), __len);		\
} while (0)

/* ---- faults ---- */

static inline const char *fault_reason_name(__u32 reason)
{
	static const char *const names[] = {
		[NESTIOMMU_FAULT_REASON_UNKNOWN] = "UNKNOWN",
		[NESTIOMMU_FAULT_REASON_PASID_FETCH] = "PASID_FETCH",
		[NESTIOMMU_FAULT_REASON_BAD_PASID_ENTRY] = "BAD_PASID_ENTRY",
		[NESTIOMMU_FAULT_REASON_PASID_INVALID] = "PASID_INVALID",
		[NESTIOMMU_FAULT_REASON_WALK_EABT] = "WALK_EABT",
		[NESTIOMMU_FAULT_REASON_PTE_FETCH] = "PTE_FETCH",
		[NESTIOMMU_FAULT_REASON_PERMISSION] = "PERMISSION",
		[NESTIOMMU_FAULT_REASON_ACCESS] = "ACCESS",
		[NESTIOMMU_FAULT_REASON_OOR_ADDRESS] = "OOR_ADDRESS",
	};

	return reason < NESTIOMMU_FAULT_REASON_NR ? names[reason] : "?";
}

static inline void log_fault(const char *what, const struct nestiommu_fault_info *f)
{
	TH_LOG("%s: addr 0x%llx fetch_addr 0x%llx reason %s stage %u level %u s1_level %u flags 0x%x access 0x%x",
	       what, (unsigned long long)f->addr, (unsigned long long)f->fetch_addr,
	       fault_reason_name(f->reason), f->stage, f->level, f->s1_level,
	       f->flags, f->access);
}

/* An expected field that is not compared. */
#define ANY (-1LL)

/*
 * Counters @got[0..@n) are @want (ANY: not compared); logs each that is
 * not, by its name in @names.
 */
static inline bool counters_match(const char *const names[], const long long want[],
				  const __u64 got[], size_t n)
{
	bool ok = true;
	size_t i;

	for (i = 0; i < n; i++)
		if (want[i] != ANY && (__u64)want[i] != got[i]) {
			TH_LOG("%s: want %lld, got %llu", names[i], want[i],
			       (unsigned long long)got[i]);
			ok = false;
		}
	return ok;
}

/*
 * An expected fault, written with designated initializers: a field left
 * out must be 0 (C zero-initializes it), ANY is not compared.
 */
struct fault_exp {
	long long addr;		/* the faulting IOVA */
	long long reason;	/* enum nestiommu_fault_reason */
	long long stage;
	long long level;
	long long s1_level;
	long long flags;	/* enum nestiommu_fault_flags */
	long long fetch_addr;
};

/* Is @f exactly @e? Logs both if not. */
static inline bool fault_matches(const struct nestiommu_fault_info *f,
				 const struct fault_exp *e)
{
	const long long want[] = { e->addr, e->reason, e->stage, e->level,
				   e->s1_level, e->flags, e->fetch_addr };
	const long long got[] = { (long long)f->addr, f->reason, f->stage,
				  f->level, f->s1_level, f->flags,
				  (long long)f->fetch_addr };
	bool ok = true;
	size_t i;

	for (i = 0; i < sizeof(want) / sizeof(want[0]); i++)
		ok &= want[i] == ANY || want[i] == got[i];
	if (!ok) {
		log_fault("got ", f);
		TH_LOG("want: addr 0x%llx fetch_addr 0x%llx reason %s stage %lld level %lld s1_level %lld flags 0x%llx (-1: any)",
		       (unsigned long long)e->addr, (unsigned long long)e->fetch_addr,
		       e->reason == ANY ? "any" : fault_reason_name((__u32)e->reason),
		       e->stage, e->level, e->s1_level, (unsigned long long)e->flags);
	}
	return ok;
}

/*
 * The fault @f_p is exactly the struct fault_exp that follows, e.g.
 *   check_fault_exp(&dma.out_fault, (struct fault_exp){
 *	.addr = iova, .reason = NESTIOMMU_FAULT_REASON_PTE_FETCH,
 *	.stage = 1, .level = 2, .flags = ANY, .fetch_addr = ANY });
 * (variadic only so that the initializer's commas pass through).
 */
#define check_fault_exp(f_p, ...) do {					\
	const struct fault_exp __exp = __VA_ARGS__;			\
									\
	ASSERT_TRUE(fault_matches((f_p), &__exp));			\
} while (0)

/* ---- DMA ---- */

/* Fill *@dma for one DMA and issue it. Return: the ioctl's 0 or -errno. */
static inline int _do_dma(int fd, __u32 dev_id, __u32 flags, __u32 pasid,
			  __u32 access, __u64 iova, __u64 length, void *buf,
			  struct nestiommu_dma *dma)
{
	*dma = (struct nestiommu_dma){
		.flags = flags,
		.dev_id = dev_id,
		.pasid = pasid,
		.access = access,
		.iova = iova,
		.length = length,
		.user_va = NEST_PTR(buf),
	};
	return nest_dma(fd, dma);
}

/* The DMA moves all @len bytes without a fault. */
#define do_dma(fd, dev, flags, pasid, access, iova, len, buf) do {	\
	struct nestiommu_dma __dma;					\
									\
	ASSERT_OK(_do_dma(fd, dev, flags, pasid, access, iova, len, buf, &__dma)); \
	if (__dma.out_flags & NESTIOMMU_OUT_FAULT)			\
		log_fault("unexpected DMA fault", &__dma.out_fault);	\
	ASSERT_EQ(0, __dma.out_flags);					\
	ASSERT_EQ((__u64)(len), __dma.out_bytes_done);			\
} while (0)
/* The DMA faults (the ioctl succeeds); *@dma_p holds the result. */
#define do_dma_fault(fd, dev, flags, pasid, access, iova, len, buf, dma_p) do { \
	ASSERT_OK(_do_dma(fd, dev, flags, pasid, access, iova, len, buf, dma_p)); \
	ASSERT_EQ(NESTIOMMU_OUT_FAULT, (dma_p)->out_flags);		\
} while (0)
/* The DMA ioctl itself fails with @err. */
#define do_dma_err(err, fd, dev, flags, pasid, access, iova, len, buf) do { \
	struct nestiommu_dma __dma;					\
									\
	ASSERT_ERR(err, _do_dma(fd, dev, flags, pasid, access, iova, len, buf, &__dma)); \
} while (0)

/* ---- TRANSLATE ---- */

/* Fill *@xl for one TRANSLATE and issue it. Return: 0 or -errno. */
static inline int _do_translate(int fd, __u32 dev_id, __u32 flags, __u32 pasid,
				__u32 access, __u64 iova,
				struct nestiommu_walk_step *steps, __u32 nsteps,
				struct nestiommu_translate *xl)
{
	*xl = (struct nestiommu_translate){
		.flags = flags,
		.dev_id = dev_id,
		.pasid = pasid,
		.access = access,
		.steps_num = nsteps,
		.steps_uptr = NEST_PTR(steps),
		.iova = iova,
	};
	return nest_translate(fd, xl);
}

#define do_translate(fd, dev, flags, pasid, access, iova, steps, nsteps, xl_p) do { \
	ASSERT_OK(_do_translate(fd, dev, flags, pasid, access, iova, steps, nsteps, xl_p)); \
	if ((xl_p)->out_flags & NESTIOMMU_OUT_FAULT)			\
		log_fault("unexpected TRANSLATE fault", &(xl_p)->out_fault); \
	ASSERT_EQ(0, (xl_p)->out_flags);				\
} while (0)
#define do_translate_fault(fd, dev, flags, pasid, access, iova, steps, nsteps, xl_p) do { \
	ASSERT_OK(_do_translate(fd, dev, flags, pasid, access, iova, steps, nsteps, xl_p)); \
	ASSERT_EQ(NESTIOMMU_OUT_FAULT, (xl_p)->out_flags);		\
} while (0)
#define do_translate_err(err, fd, dev, flags, pasid, access, iova, steps, nsteps) do { \
	struct nestiommu_translate __xl;				\
									\
	ASSERT_ERR(err, _do_translate(fd, dev, flags, pasid, access, iova, steps, nsteps, &__xl)); \
} while (0)

/* ---- more memory ---- */

/*
 * Like alloc_buffer(), but never backed by transparent huge pages, so the
 * kernel maps it with 4 KiB stage-2 pages whatever HUGE_PAGES says.
 */
static inline void *alloc_buffer_4k(size_t len, size_t align)
{
	return _alloc_buffer(len, align, true);
}

#ifndef MAP_HUGE_2MB
#define MAP_HUGE_2MB (21 << MAP_HUGE_SHIFT)
#endif
#ifndef MAP_HUGE_1GB
#define MAP_HUGE_1GB (30 << MAP_HUGE_SHIFT)
#endif

/*
 * @len bytes of populated hugetlb memory in @huge (SZ_2M or SZ_1G) pages,
 * the first 16 MiB (at most) filled with 0x5a. Fails (never skips) when the
 * pages are missing: the test guest boots with hugepagesz=1G hugepages=1
 * hugepagesz=2M hugepages=64.
 */
static inline void *alloc_hugetlb(size_t len, __u64 huge)
{
	int flag = huge == SZ_1G ? MAP_HUGE_1GB : MAP_HUGE_2MB;
	char *p;

	p = mmap(NULL, len, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB | flag, -1, 0);
	if (p == MAP_FAILED)
		TH_LOG("no %s hugetlb pages for %zu bytes (%s): boot the guest with "
		       "hugepagesz=1G hugepages=1 hugepagesz=2M hugepages=64",
		       huge == SZ_1G ? "1 GiB" : "2 MiB", len, strerror(errno));
	ASSERT_NE(MAP_FAILED, (void *)p);
	memset(p, 0x5a, len < 16 * SZ_1M ? len : 16 * SZ_1M);
	return p;
}

/* A small deterministic PRNG (xorshift64*), so failures reproduce. */
static inline __u64 prng_next(__u64 *state)
{
	__u64 x = *state;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*state = x;
	return x * 0x2545f4914f6cdd1dULL;
}

/* Fill @len bytes at @p with a pattern derived from @seed. */
static inline void fill_pattern(void *p, size_t len, __u64 seed)
{
	unsigned char *b = p;
	__u64 st = seed | 1, v = 0;
	size_t i;

	for (i = 0; i < len; i++) {
		if (!(i % 8))
			v = prng_next(&st);
		b[i] = (unsigned char)(v >> (8 * (i % 8)));
	}
}

/* Index of the first byte where @a and @b differ, or -1. */
static inline long first_diff(const void *a, const void *b, size_t len)
{
	const unsigned char *x = a, *y = b;
	size_t i;

	for (i = 0; i < len; i++)
		if (x[i] != y[i])
			return (long)i;
	return -1;
}

/* The @len bytes at @a equal those at @b; else name the first difference. */
#define ASSERT_MEM_EQ(a, b, len) do {					\
	long __d = first_diff(a, b, len);				\
									\
	if (__d >= 0)							\
		TH_LOG("memory differs at byte %ld of %zu: 0x%02x vs 0x%02x", \
		       __d, (size_t)(len), ((const unsigned char *)(a))[__d], \
		       ((const unsigned char *)(b))[__d]);		\
	ASSERT_EQ(-1, __d);						\
} while (0)

/* Every one of the @len bytes at @p is @byte. */
#define ASSERT_MEM_BYTE(p, byte, len) do {				\
	const unsigned char *__p = (const void *)(p);			\
	size_t __i, __n = (len);					\
									\
	for (__i = 0; __i < __n && __p[__i] == (unsigned char)(byte); __i++) \
		;							\
	if (__i < __n)							\
		TH_LOG("byte %zu of %zu is 0x%02x, not 0x%02x", __i, __n, \
		       __p[__i], (unsigned char)(byte));		\
	ASSERT_EQ(__n, __i);						\
} while (0)

/* ---- DEVICE_RESET ---- */

#define do_device_reset(fd, dev) ASSERT_OK(nest_device_reset(fd, dev))
#define do_device_reset_err(err, fd, dev) ASSERT_ERR(err, nest_device_reset(fd, dev))

#endif /* NEST_HELPERS_H */
