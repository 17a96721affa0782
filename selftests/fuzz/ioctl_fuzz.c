// SPDX-License-Identifier: GPL-2.0
/*
 * ioctl_fuzz - a structure-aware, seeded fuzzer of the /dev/nestiommu uAPI.
 *
 *	ioctl_fuzz [-v] [--seed N] [--seconds S] [--ops N] [--threads N]
 *
 * Threads share pools of live object IDs (IOAS, paging and nested HWPTs,
 * devices, fault queues) and of fds (contexts, fault queues) and issue
 * every ioctl with plausible arguments (right sizes, uAPI flags plus random
 * bits, boundary IOVAs and lengths, live and stale IDs) or with garbage
 * (wrong sizes, random bytes, bad pointers), mixed with close, dup, fork
 * (a child that uses the inherited fds, then exits), munmap, mremap,
 * madvise(MADV_DONTNEED) and mprotect of the buffers the IOASes map,
 * stage-1 PTE rewrites, odd-sized reads of fault fds and page responses
 * written to them (with cookies read from them, or made up). DMA of one
 * thread races UNMAP, DESTROY, DETACH, DEVICE_RESET and close of others.
 *
 * Every thread draws from its own two PRNG streams seeded from --seed and
 * its number: one picks its operations, so a seed gives each thread the
 * same sequence of operations; the other picks their arguments, which also
 * depend on what the pools hold when the thread looks (with one thread: on
 * the driver's answers only, so --threads 1 repeats a run).
 *
 * Every user pointer the fuzzer passes lies in one reserved region (its
 * unused part PROT_NONE, larger than any extent a call may write) or is a
 * kernel address, so no call can write over the fuzzer's own memory.
 *
 * At the end it stops the threads (answering page requests they wait for
 * with DEVICE_RESET and closes), closes every fd, checks its VmPin is 0 and
 * prints a summary: seed, duration, calls, and per ioctl and per other
 * operation the calls and their errnos. Exit status: 0 when the run ended
 * normally, 1 if VmPin stayed non-zero, a thread never came back or the
 * driver returned a positive value from an ioctl, 2 on bad options.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "nestiommu.h"
#include "tool_opts.h"

#define PROG "ioctl_fuzz"

#define SZ_4K		0x1000ULL
#define SZ_64K		0x10000ULL
#define SZ_256K		0x40000ULL
#define SZ_1M		0x100000ULL
#define SZ_2M		0x200000ULL
#define SZ_1G		0x40000000ULL

#define MAX_THREADS	32
#define _STR(x)		#x
#define STR(x)		_STR(x)
#define MAX_SLOTS	3	/* contexts open at once */
#define POOL_MAX	32	/* IDs of one kind per context */
#define FFD_MAX		16	/* fault fds */
#define SLOT_FDS	4	/* fds (the open and its dups) per context */
#define RING_MAX	16	/* recent mappings, for UNMAP, COPY, bitmaps */

/*
 * The arena: one reservation that holds every buffer the kernel may write.
 * Whatever a call may write (a DMA of up to 1 GiB, a dirty bitmap clamped
 * to 1 GiB) from a pointer in its used part stays inside it.
 */
#define ARENA_LEN	(2 * SZ_1G)
#define NBUF		8		/* buffers the mm operations work on */
#define BUF_SLOT	(2 * SZ_2M)	/* a buffer lives in one half */
#define BUF_MAX		SZ_2M
#define CTX_MEM_OFF	(NBUF * BUF_SLOT)
#define CTX_MEM		SZ_2M		/* per context: stage-1 pool, data */
#define S1_POOL_LEN	SZ_256K
#define DATA_OFF	SZ_1M
#define DATA_LEN	SZ_1M
#define THR_OFF		(CTX_MEM_OFF + MAX_SLOTS * CTX_MEM)
#define THR_MEM		(2 * SZ_256K)	/* per thread: RW half, then PROT_NONE */
#define THR_RW		SZ_256K
#define ARG_LEN		(2 * SZ_4K)	/* the ioctl struct */
#define SCRATCH_OFF	ARG_LEN		/* stats, ranges, steps, bitmaps, reads */
#define SCRATCH_LEN	SZ_64K
#define DMABUF_OFF	(SCRATCH_OFF + SCRATCH_LEN)
#define DMABUF_LEN	(THR_RW - DMABUF_OFF)

/* The GPAs and IOVA of the stack every new context gets. */
#define S1_GPA		0x10000000ULL
#define DATA_GPA	0x40000000ULL
#define S1_IOVA		0x7f1240000000ULL
#define ENV_PASID	1
#define KERNEL_PTR	0xffff888000000000ULL

enum kind { K_IOAS, K_PAGING, K_NESTED, K_DEV, K_FAULT, K_NR };

/* The operations, in the order of the summary: the ioctls first. */
#define FOR_EACH_OP(X)							\
	X(DESTROY) X(IOAS_ALLOC) X(IOAS_MAP) X(IOAS_UNMAP)		\
	X(IOAS_IOVA_RANGES) X(GET_STATS) X(OPTION) X(IOAS_COPY)		\
	X(HWPT_ALLOC) X(HWPT_INVALIDATE) X(HWPT_SET_DIRTY_TRACKING)	\
	X(HWPT_GET_DIRTY_BITMAP) X(DEVICE_CREATE) X(DEVICE_ATTACH)	\
	X(DEVICE_DETACH) X(GET_HW_INFO) X(DMA) X(TRANSLATE)		\
	X(FAULT_QUEUE_ALLOC) X(DEVICE_RESET) X(UNKNOWN_IOCTL)		\
	X(open) X(close) X(dup) X(fork) X(read) X(write) X(munmap)	\
	X(mremap) X(madvise) X(mprotect) X(s1_write)

#define OP_ENUM(n) OP_##n,
enum op { FOR_EACH_OP(OP_ENUM) OP_NR };
#define OP_NAME(n) #n,
static const char *const op_names[] = { FOR_EACH_OP(OP_NAME) };
#define NR_IOCTLS OP_open

static const unsigned long ioctl_cmds[NR_IOCTLS - 1] = {
	NESTIOMMU_DESTROY, NESTIOMMU_IOAS_ALLOC, NESTIOMMU_IOAS_MAP,
	NESTIOMMU_IOAS_UNMAP, NESTIOMMU_IOAS_IOVA_RANGES, NESTIOMMU_GET_STATS,
	NESTIOMMU_OPTION, NESTIOMMU_IOAS_COPY, NESTIOMMU_HWPT_ALLOC,
	NESTIOMMU_HWPT_INVALIDATE, NESTIOMMU_HWPT_SET_DIRTY_TRACKING,
	NESTIOMMU_HWPT_GET_DIRTY_BITMAP, NESTIOMMU_DEVICE_CREATE,
	NESTIOMMU_DEVICE_ATTACH, NESTIOMMU_DEVICE_DETACH,
	NESTIOMMU_GET_HW_INFO, NESTIOMMU_DMA, NESTIOMMU_TRANSLATE,
	NESTIOMMU_FAULT_QUEUE_ALLOC, NESTIOMMU_DEVICE_RESET,
};

/* How often a thread picks each operation (out of their sum). */
static const unsigned int op_weight[OP_NR] = {
	[OP_DESTROY] = 6, [OP_IOAS_ALLOC] = 3, [OP_IOAS_MAP] = 10,
	[OP_IOAS_UNMAP] = 7, [OP_IOAS_IOVA_RANGES] = 2, [OP_GET_STATS] = 3,
	[OP_OPTION] = 3, [OP_IOAS_COPY] = 4, [OP_HWPT_ALLOC] = 6,
	[OP_HWPT_INVALIDATE] = 5, [OP_HWPT_SET_DIRTY_TRACKING] = 2,
	[OP_HWPT_GET_DIRTY_BITMAP] = 3, [OP_DEVICE_CREATE] = 3,
	[OP_DEVICE_ATTACH] = 6, [OP_DEVICE_DETACH] = 4, [OP_GET_HW_INFO] = 2,
	[OP_DMA] = 20, [OP_TRANSLATE] = 6, [OP_FAULT_QUEUE_ALLOC] = 2,
	[OP_DEVICE_RESET] = 2, [OP_UNKNOWN_IOCTL] = 1,
	[OP_open] = 1, [OP_close] = 1, [OP_dup] = 1, [OP_fork] = 1,
	[OP_read] = 6, [OP_write] = 4, [OP_munmap] = 1, [OP_mremap] = 1,
	[OP_madvise] = 2, [OP_mprotect] = 2, [OP_s1_write] = 4,
};

#define NERR 136			/* errno 1..134; [0] success */
#define ERR_POSITIVE (NERR - 1)		/* a positive return: never valid */

struct slot {
	int fds[SLOT_FDS];		/* the open and its dups; none: free */
	int nfds;
	__u32 ids[K_NR][POOL_MAX];
	int nids[K_NR];
	struct {
		__u32 ioas;
		__u64 iova, len;
	} ring[RING_MAX];		/* mappings made lately */
	unsigned int ring_pos;
	char *mem;			/* stage-1 pool, then data */
	struct nest_s1 s1;
};

struct buf {
	pthread_mutex_t lock;		/* mm operations only */
	char *slot;			/* BUF_SLOT bytes of arena */
	char *addr;			/* the buffer: in one half of slot */
	size_t len;			/* 0 while unmapped */
};

struct thread {
	pthread_t tid;
	unsigned int nr;
	__u64 op_rng, arg_rng;
	unsigned long long ops_left;	/* with bounded */
	char *mem;			/* THR_RW bytes, then PROT_NONE */
	__u64 last_cookie;		/* of a non-blocking DMA, for RESUME */
	bool plain;			/* no garbage: setting up a context */
	bool bounded;			/* by ops_left */
	atomic_bool done;
	unsigned long long counts[OP_NR][NERR];
};

struct fuzz_opts {
	unsigned long long seed, seconds, ops, threads;
	bool seconds_set, verbose;
};

static struct fuzz_opts opts;
static pthread_mutex_t pool_lock = PTHREAD_MUTEX_INITIALIZER;
static struct slot slots[MAX_SLOTS];
static int ffds[FFD_MAX];		/* fault fds, dups included */
static int nffds;
static struct buf bufs[NBUF];
static char *arena;
static atomic_bool stop;
static struct thread threads[MAX_THREADS];

/* ---- randomness ----------------------------------------------------------- */

static __u64 prng(__u64 *s)
{
	__u64 x = *s;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*s = x;
	return x * 0x2545f4914f6cdd1dULL;
}

static __u64 rnd(struct thread *t)
{
	return prng(&t->arg_rng);
}

/* 0 .. n - 1 */
static __u64 below(struct thread *t, __u64 n)
{
	return n ? rnd(t) % n : 0;
}

/* true with probability 1 / n */
static bool one_in(struct thread *t, unsigned int n)
{
	return below(t, n) == 0;
}

#define PICK(t, arr) ((arr)[below(t, sizeof(arr) / sizeof((arr)[0]))])

static void fill_random(struct thread *t, void *p, size_t len)
{
	unsigned char *b = p;
	size_t i;

	for (i = 0; i < len; i++)
		b[i] = (unsigned char)rnd(t);
}

/* ---- pools (under pool_lock) ---------------------------------------------- */

static void pool_add(struct slot *s, enum kind k, __u32 id)
{
	if (s->nids[k] < POOL_MAX)
		s->ids[k][s->nids[k]++] = id;
	else
		s->ids[k][id % POOL_MAX] = id;
}

static void pool_del(struct slot *s, __u32 id)
{
	int k, i;

	for (k = 0; k < K_NR; k++)
		for (i = 0; i < s->nids[k]; i++)
			if (s->ids[k][i] == id)
				s->ids[k][i] = s->ids[k][--s->nids[k]];
}

static void ffd_add(int fd)
{
	if (nffds < FFD_MAX) {
		ffds[nffds++] = fd;
		return;
	}
	close(fd);
}

/* A random open slot, or NULL; *fd is one of its fds. */
static struct slot *slot_pick(struct thread *t, int *fd)
{
	unsigned int i, start = below(t, MAX_SLOTS);

	for (i = 0; i < MAX_SLOTS; i++) {
		struct slot *s = &slots[(start + i) % MAX_SLOTS];

		if (s->nfds) {
			*fd = s->fds[below(t, s->nfds)];
			return s;
		}
	}
	return NULL;
}

/*
 * An ID for an argument of kind @k: mostly a live one, else one of another
 * kind, 0, a small number (likely stale) or any u32.
 */
static __u32 id_pick(struct thread *t, struct slot *s, enum kind k)
{
	unsigned int r = below(t, 20);
	enum kind other;

	if (r < 15 && s->nids[k])
		return s->ids[k][below(t, s->nids[k])];
	if (r < 17) {
		other = below(t, K_NR);
		if (s->nids[other])
			return s->ids[other][below(t, s->nids[other])];
	}
	if (r == 17)
		return 0;
	if (r == 18)
		return 1 + below(t, 64);
	return (__u32)rnd(t);
}

/* ---- arguments --------------------------------------------------------------- */

static __u64 iova_pick(struct thread *t, struct slot *s)
{
	static const __u64 edges[] = {
		0, SZ_4K, DATA_GPA, S1_GPA, S1_IOVA,
		NESTIOMMU_MSI_WINDOW_START - SZ_4K, NESTIOMMU_MSI_WINDOW_START,
		NESTIOMMU_MSI_WINDOW_LAST + 1, 1ULL << 47, (1ULL << 48) - SZ_4K,
		1ULL << 48, 1ULL << 56, ~0ULL & ~(SZ_4K - 1), ~0ULL,
	};
	unsigned int r = below(t, 10);

	if (r < 3 && s) {
		unsigned int i = below(t, RING_MAX);

		if (s->ring[i].len)
			return s->ring[i].iova + below(t, s->ring[i].len / SZ_4K + 1) * SZ_4K;
	}
	if (r < 6)
		return PICK(t, edges);
	if (r < 9)
		return below(t, 1ULL << 32) & ~(SZ_4K - 1);
	return rnd(t);
}

static __u64 len_pick(struct thread *t)
{
	static const __u64 edges[] = {
		0, 1, SZ_4K - 1, SZ_4K, 2 * SZ_4K, SZ_64K, SZ_2M, SZ_1G,
		SZ_1G + SZ_4K, 1ULL << 48, ~0ULL & ~(SZ_4K - 1), ~0ULL,
	};

	if (one_in(t, 3))
		return PICK(t, edges);
	return (1 + below(t, 64)) * SZ_4K;
}

/*
 * A user VA for MAP and DMA: in a buffer (maybe unmapped or read-only by
 * now), in a context's memory, the thread's own memory, its PROT_NONE
 * guard, or a pointer no process may use.
 */
static __u64 uva_pick(struct thread *t, struct slot *s)
{
	unsigned int r = below(t, 16);
	struct buf *b = &bufs[below(t, NBUF)];

	if (r < 8)
		return NEST_PTR(b->slot) + below(t, 2 * BUF_MAX / SZ_4K) * SZ_4K;
	if (r < 11 && s)
		return NEST_PTR(s->mem) + below(t, CTX_MEM / SZ_4K) * SZ_4K;
	if (r < 13)
		return NEST_PTR(t->mem + DMABUF_OFF);
	if (r == 13)
		return NEST_PTR(t->mem + THR_RW);
	if (r == 14)
		return 0;
	return KERNEL_PTR;
}

static __u32 pasid_pick(struct thread *t)
{
	static const __u32 pasids[] = {
		0, ENV_PASID, 2, 255, 256, (1U << 20) - 1, 1U << 20,
		NESTIOMMU_PASID_NONE,
	};

	return PICK(t, pasids);
}

/* uAPI flags: mostly the valid ones, sometimes one more random bit. */
static __u32 flags_pick(struct thread *t, __u32 valid)
{
	__u32 f = rnd(t) & valid;

	if (one_in(t, 10))
		f |= 1U << below(t, 32);
	return f;
}

/* ---- calls ------------------------------------------------------------------- */

static void count(struct thread *t, enum op op, long rc)
{
	int e = rc > 0 ? ERR_POSITIVE : rc < 0 ? (int)-rc : 0;

	if (e >= NERR)
		e = ERR_POSITIVE;
	t->counts[op][e]++;
	if (opts.verbose)
		fprintf(stderr, "t%u %s %ld\n", t->nr, op_names[op], rc);
}

/*
 * The fields random bits and bytes must leave alone: user pointers the
 * kernel writes through (their builders chose them so that it writes only
 * into the arena) and the fields that bound a dirty bitmap.
 */
static const unsigned char keep_fields[NR_IOCTLS][3] = {
	[OP_IOAS_MAP] = { offsetof(struct nestiommu_ioas_map, user_va) },
	[OP_IOAS_IOVA_RANGES] = { offsetof(struct nestiommu_ioas_iova_ranges, allowed_iovas) },
	[OP_GET_STATS] = { offsetof(struct nestiommu_get_stats, stats_uptr) },
	[OP_HWPT_GET_DIRTY_BITMAP] = {
		offsetof(struct nestiommu_hwpt_get_dirty_bitmap, data),
		offsetof(struct nestiommu_hwpt_get_dirty_bitmap, length),
		offsetof(struct nestiommu_hwpt_get_dirty_bitmap, page_size),
	},
	[OP_DMA] = { offsetof(struct nestiommu_dma, user_va) },
	[OP_TRANSLATE] = { offsetof(struct nestiommu_translate, steps_uptr) },
};

/* Flip a bit or randomize the bytes of @p, but not its keep_fields. */
static void garble(struct thread *t, enum op op, char *p, size_t len, bool bytes)
{
	__u64 kept[3];
	int i;

	for (i = 0; i < 3 && keep_fields[op][i]; i++)
		memcpy(&kept[i], p + keep_fields[op][i], 8);
	if (bytes)
		fill_random(t, p + 4, len - 4);
	else
		p[below(t, len)] ^= 1 << below(t, 8);
	for (i = 0; i < 3 && keep_fields[op][i]; i++)
		memcpy(p + keep_fields[op][i], &kept[i], 8);
}

/*
 * Issue ioctl @op on @fd with the struct @arg of @len bytes the caller
 * built: as it is, or (one in eight) made garbage: a wrong size, random
 * bits or bytes, or an argument pointer nothing can read.
 * Return: 0 or -errno (a positive return is passed on).
 */
static int fuzz_ioctl(struct thread *t, int fd, enum op op, void *arg, size_t len)
{
	char *p = arg;
	__u32 *size = arg;
	int rc;

	if (!t->plain && one_in(t, 8)) {
		switch (below(t, 8)) {
		case 0:
			*size = below(t, 2) ? 0 : (__u32)len - 4;
			break;
		case 1:		/* a longer struct with a non-zero tail */
			*size = len + 8;
			p[len + below(t, 8)] = 1 | (char)rnd(t);
			break;
		case 2:
			*size = NESTIOMMU_STRUCT_SIZE_MAX + 1 + below(t, 2) * rnd(t);
			break;
		case 3:
		case 4:
			garble(t, op, p, len, below(t, 2));
			break;
		case 5:		/* the struct runs into the PROT_NONE guard */
			memmove(t->mem + THR_RW - len / 2, p, len / 2);
			p = t->mem + THR_RW - len / 2;
			break;
		case 6:
			p = below(t, 2) ? NULL : (char *)KERNEL_PTR;
			break;
		default:
			p = t->mem + THR_RW;
			break;
		}
	}
	rc = ioctl(fd, ioctl_cmds[op], p);
	rc = rc < 0 ? -errno : rc;
	count(t, op, rc);
	return rc;
}

/* The arg struct of a thread, zeroed with a zero tail for oversizing. */
static void *arg_zero(struct thread *t, size_t len)
{
	memset(t->mem, 0, len + 16);
	*(__u32 *)t->mem = len;
	return t->mem;
}

#define ARG(t, type) ((struct type *)arg_zero(t, sizeof(struct type)))
#define CALL(t, fd, op, a) fuzz_ioctl(t, fd, op, a, sizeof(*(a)))

static void ring_add(struct slot *s, __u32 ioas, __u64 iova, __u64 len)
{
	unsigned int i = s->ring_pos++ % RING_MAX;

	s->ring[i].ioas = ioas;
	s->ring[i].iova = iova;
	s->ring[i].len = len;
}

/* Each do_* builds the call's struct from the pools and issues it. */

static void do_destroy(struct thread *t, struct slot *s, int fd)
{
	struct nestiommu_destroy *a = ARG(t, nestiommu_destroy);

	a->id = id_pick(t, s, below(t, K_NR));
	if (!CALL(t, fd, OP_DESTROY, a)) {
		pthread_mutex_lock(&pool_lock);
		pool_del(s, a->id);
		pthread_mutex_unlock(&pool_lock);
	}
}

static void add_id(struct slot *s, enum kind k, __u32 id)
{
	pthread_mutex_lock(&pool_lock);
	pool_add(s, k, id);
	pthread_mutex_unlock(&pool_lock);
}

static int ioas_alloc(struct thread *t, struct slot *s, int fd, __u32 flags,
		      __u32 *id)
{
	struct nestiommu_ioas_alloc *a = ARG(t, nestiommu_ioas_alloc);
	int rc;

	a->flags = flags;
	rc = CALL(t, fd, OP_IOAS_ALLOC, a);
	if (!rc) {
		add_id(s, K_IOAS, a->out_ioas_id);
		*id = a->out_ioas_id;
	}
	return rc;
}

static void do_ioas_alloc(struct thread *t, struct slot *s, int fd)
{
	__u32 id;

	ioas_alloc(t, s, fd, one_in(t, 10) ? (__u32)rnd(t) : 0, &id);
}

static int ioas_map(struct thread *t, struct slot *s, int fd, __u32 ioas,
		    __u32 flags, __u64 uva, __u64 len, __u64 iova)
{
	struct nestiommu_ioas_map *a = ARG(t, nestiommu_ioas_map);
	int rc;

	a->flags = flags;
	a->ioas_id = ioas;
	a->user_va = uva;
	a->length = len;
	a->iova = iova;
	rc = CALL(t, fd, OP_IOAS_MAP, a);
	if (!rc) {
		pthread_mutex_lock(&pool_lock);
		ring_add(s, ioas, a->iova, len);
		pthread_mutex_unlock(&pool_lock);
	}
	return rc;
}

static void do_ioas_map(struct thread *t, struct slot *s, int fd)
{
	__u32 flags = flags_pick(t, NESTIOMMU_IOAS_MAP_FIXED_IOVA |
				    NESTIOMMU_IOAS_MAP_WRITEABLE |
				    NESTIOMMU_IOAS_MAP_READABLE);
	__u64 len = one_in(t, 4) ? len_pick(t) : (1 + below(t, 16)) * SZ_4K;

	ioas_map(t, s, fd, id_pick(t, s, K_IOAS), flags, uva_pick(t, s), len,
		 iova_pick(t, s));
}

static void do_ioas_unmap(struct thread *t, struct slot *s, int fd)
{
	struct nestiommu_ioas_unmap *a = ARG(t, nestiommu_ioas_unmap);
	unsigned int i = below(t, RING_MAX);

	a->ioas_id = id_pick(t, s, K_IOAS);
	if (one_in(t, 6)) {		/* unmap all */
		a->iova = 0;
		a->length = ~0ULL;
	} else if (!one_in(t, 3) && s->ring[i].len) {
		a->ioas_id = one_in(t, 4) ? a->ioas_id : s->ring[i].ioas;
		a->iova = s->ring[i].iova;
		a->length = s->ring[i].len;
	} else {
		a->iova = iova_pick(t, s);
		a->length = len_pick(t);
	}
	CALL(t, fd, OP_IOAS_UNMAP, a);
}

static void do_iova_ranges(struct thread *t, struct slot *s, int fd)
{
	struct nestiommu_ioas_iova_ranges *a = ARG(t, nestiommu_ioas_iova_ranges);

	a->ioas_id = id_pick(t, s, K_IOAS);
	a->num_iovas = one_in(t, 8) ? (__u32)rnd(t) : below(t, 4);
	a->allowed_iovas = one_in(t, 8) ? KERNEL_PTR : NEST_PTR(t->mem + SCRATCH_OFF);
	CALL(t, fd, OP_IOAS_IOVA_RANGES, a);
}

static void do_get_stats(struct thread *t, struct slot *s, int fd)
{
	struct nestiommu_get_stats *a = ARG(t, nestiommu_get_stats);

	a->id = id_pick(t, s, below(t, K_NR));
	a->stats_len = one_in(t, 8) ? (__u32)rnd(t) : below(t, 1024);
	a->stats_uptr = one_in(t, 8) ? 0 : NEST_PTR(t->mem + SCRATCH_OFF);
	CALL(t, fd, OP_GET_STATS, a);
}

static int option_set(struct thread *t, int fd, __u32 option, __u32 object, __u64 val)
{
	struct nestiommu_option *a = ARG(t, nestiommu_option);

	a->option_id = option;
	a->op = NESTIOMMU_OPTION_OP_SET;
	a->object_id = object;
	a->val64 = val;
	return CALL(t, fd, OP_OPTION, a);
}

static void do_option(struct thread *t, struct slot *s, int fd)
{
	static const __u64 vals[] = {
		0, 1, 2, 4, 16, 64, 100, 256, 512, 513, 4096, 65536, 65537,
		NESTIOMMU_PRI_MAX_TIMEOUT_MS + 1, ~0ULL,
	};
	struct nestiommu_option *a = ARG(t, nestiommu_option);
	static const enum kind obj_kind[] = {
		K_IOAS, K_IOAS, K_IOAS, K_DEV, K_IOAS, K_DEV, K_DEV,
	};

	a->option_id = one_in(t, 10) ? (__u32)rnd(t) : 1 + below(t, 6);
	a->op = one_in(t, 10) ? (__u16)rnd(t) : below(t, 2);
	a->__reserved = one_in(t, 20);
	a->object_id = a->option_id == NESTIOMMU_OPTION_IOTLB_ENTRIES ||
		       a->option_id == NESTIOMMU_OPTION_STALE_AUDIT || one_in(t, 10) ? 0 :
		       id_pick(t, s, obj_kind[a->option_id % 7]);
	/* short PRI timeouts: no DMA waits long for an answer */
	a->val64 = a->option_id == NESTIOMMU_OPTION_PRI_TIMEOUT_MS ? 1 + below(t, 200) :
		   PICK(t, vals);
	CALL(t, fd, OP_OPTION, a);
}

static void do_ioas_copy(struct thread *t, struct slot *s, int fd)
{
	struct nestiommu_ioas_copy *a = ARG(t, nestiommu_ioas_copy);
	unsigned int i = below(t, RING_MAX);

	a->flags = flags_pick(t, NESTIOMMU_IOAS_MAP_FIXED_IOVA |
				 NESTIOMMU_IOAS_MAP_WRITEABLE |
				 NESTIOMMU_IOAS_MAP_READABLE);
	a->dst_ioas_id = id_pick(t, s, K_IOAS);
	if (s->ring[i].len && !one_in(t, 4)) {
		__u64 pages = s->ring[i].len / SZ_4K;
		__u64 first = below(t, pages);

		a->src_ioas_id = s->ring[i].ioas;
		a->src_iova = s->ring[i].iova + first * SZ_4K;
		a->length = (1 + below(t, pages - first)) * SZ_4K;
	} else {
		a->src_ioas_id = id_pick(t, s, K_IOAS);
		a->src_iova = iova_pick(t, s);
		a->length = len_pick(t);
	}
	a->dst_iova = iova_pick(t, s);
	if (!CALL(t, fd, OP_IOAS_COPY, a)) {
		pthread_mutex_lock(&pool_lock);
		ring_add(s, a->dst_ioas_id, a->dst_iova, a->length);
		pthread_mutex_unlock(&pool_lock);
	}
}

static int hwpt_alloc(struct thread *t, struct slot *s, int fd, bool nested,
		      __u32 flags, __u32 pt_id, __u32 fault_id, __u32 *id)
{
	struct nestiommu_hwpt_s1_x86 *desc = (void *)(t->mem + SCRATCH_OFF);
	struct nestiommu_hwpt_alloc *a = ARG(t, nestiommu_hwpt_alloc);
	int rc;

	a->flags = flags;
	a->pt_id = pt_id;
	a->fault_id = fault_id;
	if (nested) {
		memset(desc, 0, sizeof(*desc));
		desc->root_gpa = s->s1.root_gpa;
		desc->levels = s->s1.levels;
		a->data_type = NESTIOMMU_HWPT_DATA_S1_X86;
		a->data_len = sizeof(*desc);
		a->data_uptr = NEST_PTR(desc);
	}
	if (nested && !t->plain) {
		if (one_in(t, 4)) {
			desc->root_gpa = iova_pick(t, s);
			desc->levels = PICK(t, ((const __u32[]){ 0, 3, 4, 5, 6 }));
		}
		desc->flags = flags_pick(t, NESTIOMMU_S1_AD | NESTIOMMU_S1_SRE |
					    NESTIOMMU_S1_WPE);
		if (one_in(t, 10))
			a->data_len = below(t, 64);
		if (one_in(t, 16))
			a->data_uptr = KERNEL_PTR;
	}
	rc = CALL(t, fd, OP_HWPT_ALLOC, a);
	if (!rc) {
		add_id(s, nested ? K_NESTED : K_PAGING, a->out_hwpt_id);
		if (id)
			*id = a->out_hwpt_id;
	}
	return rc;
}

static void do_hwpt_alloc(struct thread *t, struct slot *s, int fd)
{
	bool nested = below(t, 2);
	__u32 flags = flags_pick(t, NESTIOMMU_HWPT_ALLOC_NEST_PARENT |
				    NESTIOMMU_HWPT_ALLOC_DIRTY_TRACKING |
				    NESTIOMMU_HWPT_ALLOC_FAULT_ID_VALID);
	__u32 fault_id = flags & NESTIOMMU_HWPT_ALLOC_FAULT_ID_VALID ?
			 id_pick(t, s, K_FAULT) : 0;

	if (nested)
		flags &= ~(NESTIOMMU_HWPT_ALLOC_NEST_PARENT |
			   NESTIOMMU_HWPT_ALLOC_DIRTY_TRACKING) | (one_in(t, 8) ? ~0U : 0);
	hwpt_alloc(t, s, fd, nested, flags,
		   id_pick(t, s, nested ? K_PAGING : K_IOAS), fault_id, NULL);
}

static void do_hwpt_invalidate(struct thread *t, struct slot *s, int fd)
{
	struct nestiommu_hwpt_invalidate *a = ARG(t, nestiommu_hwpt_invalidate);
	struct nestiommu_inv_entry *e = (void *)(t->mem + SCRATCH_OFF);
	__u32 n = below(t, 5), i;

	a->entry_len = one_in(t, 8) ? sizeof(*e) + 8 * below(t, 3) : sizeof(*e);
	memset(e, 0, a->entry_len * n + 64);
	for (i = 0; i < n; i++) {
		struct nestiommu_inv_entry *x = (void *)((char *)e + i * a->entry_len);

		x->cache = one_in(t, 10) ? (__u32)rnd(t) : 1 + below(t, 7);
		x->granularity = one_in(t, 10) ? (__u32)rnd(t) : below(t, 3);
		x->flags = flags_pick(t, NESTIOMMU_INV_F_PASID | NESTIOMMU_INV_F_LEAF);
		x->pasid = pasid_pick(t);
		x->granule_size = one_in(t, 10) ? rnd(t) : SZ_4K << (9 * below(t, 3));
		x->addr = (one_in(t, 2) ? S1_IOVA : iova_pick(t, s)) & ~(x->granule_size - 1);
		x->nb_granules = one_in(t, 10) ? rnd(t) : 1 + below(t, 16);
	}
	a->hwpt_id = id_pick(t, s, below(t, 3) ? K_NESTED : K_PAGING);
	a->data_uptr = one_in(t, 16) ? KERNEL_PTR : NEST_PTR(e);
	a->data_type = one_in(t, 16) ? (__u32)rnd(t) : NESTIOMMU_HWPT_INVALIDATE_DATA_NEST;
	a->entry_num = n;
	CALL(t, fd, OP_HWPT_INVALIDATE, a);
}

static void do_set_dirty(struct thread *t, struct slot *s, int fd)
{
	struct nestiommu_hwpt_set_dirty_tracking *a =
		ARG(t, nestiommu_hwpt_set_dirty_tracking);

	a->flags = flags_pick(t, NESTIOMMU_HWPT_DIRTY_TRACKING_ENABLE);
	a->hwpt_id = id_pick(t, s, K_PAGING);
	CALL(t, fd, OP_HWPT_SET_DIRTY_TRACKING, a);
}

static void do_get_dirty(struct thread *t, struct slot *s, int fd)
{
	struct nestiommu_hwpt_get_dirty_bitmap *a =
		ARG(t, nestiommu_hwpt_get_dirty_bitmap);
	unsigned int i = below(t, RING_MAX);

	a->hwpt_id = id_pick(t, s, K_PAGING);
	a->flags = flags_pick(t, NESTIOMMU_HWPT_GET_DIRTY_BITMAP_NO_CLEAR);
	a->page_size = one_in(t, 10) ? rnd(t) : SZ_4K << (9 * below(t, 2));
	if (s->ring[i].len && !one_in(t, 4)) {
		a->iova = s->ring[i].iova;
		a->length = s->ring[i].len;
	} else {
		a->iova = iova_pick(t, s);
		a->length = len_pick(t);
	}
	a->data = NEST_PTR(t->mem + SCRATCH_OFF);
	/* a bitmap that could reach beyond the arena goes to the kernel */
	if (a->page_size < SZ_4K || a->length / a->page_size / 8 >= SZ_1G ||
	    one_in(t, 16))
		a->data = KERNEL_PTR;
	CALL(t, fd, OP_HWPT_GET_DIRTY_BITMAP, a);
}

static int device_create(struct thread *t, struct slot *s, int fd, __u32 flags,
			 __u32 rid, __u32 pasid_bits, __u32 *id)
{
	struct nestiommu_device_create *a = ARG(t, nestiommu_device_create);
	int rc;

	a->flags = flags;
	a->rid = rid;
	a->pasid_bits = pasid_bits;
	rc = CALL(t, fd, OP_DEVICE_CREATE, a);
	if (rc)
		return rc;
	*id = a->out_dev_id;
	add_id(s, K_DEV, *id);
	/*
	 * A short PRI timeout: a page request whose record a garbled read()
	 * lost costs its DMA little (the end of the run answers the others)
	 */
	if (flags & NESTIOMMU_DEVICE_PRI)
		option_set(t, fd, NESTIOMMU_OPTION_PRI_TIMEOUT_MS, *id, 1 + below(t, 100));
	return 0;
}

static void do_device_create(struct thread *t, struct slot *s, int fd)
{
	__u32 id;

	device_create(t, s, fd, flags_pick(t, NESTIOMMU_DEVICE_ATS | NESTIOMMU_DEVICE_PRI),
		      one_in(t, 10) ? (__u32)rnd(t) : below(t, 0x10000),
		      one_in(t, 10) ? (__u32)rnd(t) : below(t, NESTIOMMU_MAX_PASID_BITS + 2),
		      &id);
}

static int device_attach(struct thread *t, int fd, __u32 flags, __u32 dev,
			 __u32 pasid, __u32 hwpt)
{
	struct nestiommu_device_attach *a = ARG(t, nestiommu_device_attach);

	a->flags = flags;
	a->dev_id = dev;
	a->pasid = pasid;
	a->hwpt_id = hwpt;
	return CALL(t, fd, OP_DEVICE_ATTACH, a);
}

static void do_device_attach(struct thread *t, struct slot *s, int fd)
{
	device_attach(t, fd, flags_pick(t, NESTIOMMU_ATTACH_PASID | NESTIOMMU_ATTACH_REPLACE),
		      id_pick(t, s, K_DEV), pasid_pick(t),
		      id_pick(t, s, below(t, 3) ? K_NESTED : K_PAGING));
}

static void do_device_detach(struct thread *t, struct slot *s, int fd)
{
	struct nestiommu_device_detach *a = ARG(t, nestiommu_device_detach);

	a->flags = flags_pick(t, NESTIOMMU_ATTACH_PASID);
	a->dev_id = id_pick(t, s, K_DEV);
	a->pasid = pasid_pick(t);
	CALL(t, fd, OP_DEVICE_DETACH, a);
}

static void do_hw_info(struct thread *t, struct slot *s, int fd)
{
	struct nestiommu_hw_info *a = ARG(t, nestiommu_hw_info);

	a->dev_id = one_in(t, 3) ? 0 : id_pick(t, s, K_DEV);
	CALL(t, fd, OP_GET_HW_INFO, a);
}

/* An IOVA a DMA or TRANSLATE may well reach: the stage-1 or stage-2 data. */
static __u64 dma_iova_pick(struct thread *t, struct slot *s)
{
	__u64 off = below(t, DATA_LEN + SZ_64K) & ~(one_in(t, 2) ? SZ_4K - 1 : 0);

	switch (below(t, 4)) {
	case 0:
		return S1_IOVA + off;
	case 1:
		return DATA_GPA + off;
	default:
		return iova_pick(t, s) + below(t, SZ_4K);
	}
}

static __u32 access_pick(struct thread *t)
{
	__u32 acc = below(t, 2) ? NESTIOMMU_ACCESS_READ : NESTIOMMU_ACCESS_WRITE;

	if (one_in(t, 4))
		acc |= NESTIOMMU_ACCESS_EXEC;
	if (one_in(t, 4))
		acc |= NESTIOMMU_ACCESS_PRIV;
	if (one_in(t, 16))
		acc = (__u32)rnd(t);
	return acc;
}

static void do_dma(struct thread *t, struct slot *s, int fd)
{
	struct nestiommu_dma *a = ARG(t, nestiommu_dma);
	__u64 uva;

	a->flags = flags_pick(t, NESTIOMMU_DMA_PASID | NESTIOMMU_DMA_NONBLOCK |
				 NESTIOMMU_DMA_RESUME);
	if (!one_in(t, 4))
		a->flags |= NESTIOMMU_DMA_PASID;
	a->dev_id = id_pick(t, s, K_DEV);
	a->pasid = one_in(t, 2) ? ENV_PASID : pasid_pick(t);
	a->access = access_pick(t);
	a->iova = dma_iova_pick(t, s);
	a->length = one_in(t, 8) ? len_pick(t) : 1 + below(t, 3 * SZ_4K);
	a->pr_cookie = one_in(t, 4) ? rnd(t) : t->last_cookie;
	/* the thread's own buffer when it is long enough, else the arena */
	uva = NEST_PTR(t->mem + DMABUF_OFF);
	if (a->length > DMABUF_LEN || one_in(t, 4))
		uva = uva_pick(t, s);
	a->user_va = uva + (one_in(t, 4) ? below(t, SZ_4K) : 0);
	if (a->length > DMABUF_LEN && a->user_va == NEST_PTR(t->mem + DMABUF_OFF))
		a->length = DMABUF_LEN;
	if (!CALL(t, fd, OP_DMA, a) && a->out_flags & NESTIOMMU_OUT_PAGE_REQUEST)
		t->last_cookie = a->pr_cookie;
}

static void do_translate(struct thread *t, struct slot *s, int fd)
{
	struct nestiommu_translate *a = ARG(t, nestiommu_translate);

	a->flags = flags_pick(t, NESTIOMMU_DMA_PASID | NESTIOMMU_TRANSLATE_NO_CACHE);
	a->dev_id = id_pick(t, s, K_DEV);
	a->pasid = one_in(t, 2) ? ENV_PASID : pasid_pick(t);
	a->access = access_pick(t);
	a->iova = dma_iova_pick(t, s);
	a->steps_num = one_in(t, 8) ? (__u32)rnd(t) : below(t, 32);
	a->steps_uptr = one_in(t, 8) ? KERNEL_PTR : NEST_PTR(t->mem + SCRATCH_OFF);
	/* a steps array the scratch cannot hold goes to the kernel */
	if (a->steps_num * sizeof(struct nestiommu_walk_step) > SCRATCH_LEN)
		a->steps_uptr = KERNEL_PTR;
	CALL(t, fd, OP_TRANSLATE, a);
}

static int fault_queue_alloc(struct thread *t, struct slot *s, int fd, __u32 depth,
			     __u32 *id)
{
	struct nestiommu_fault_queue_alloc *a = ARG(t, nestiommu_fault_queue_alloc);
	int rc;

	a->flags = !t->plain && one_in(t, 16) ? (__u32)rnd(t) : 0;
	a->depth = depth;
	rc = CALL(t, fd, OP_FAULT_QUEUE_ALLOC, a);
	if (rc)
		return rc;
	/* non-blocking: a read must never wait for a record */
	fcntl(a->out_fault_fd, F_SETFL, O_NONBLOCK);
	pthread_mutex_lock(&pool_lock);
	pool_add(s, K_FAULT, a->out_fault_id);
	ffd_add(a->out_fault_fd);
	pthread_mutex_unlock(&pool_lock);
	*id = a->out_fault_id;
	return 0;
}

static void do_fault_queue_alloc(struct thread *t, struct slot *s, int fd)
{
	static const __u32 depths[] = {
		0, 1, 2, 3, 16, NESTIOMMU_FAULT_QUEUE_DEFAULT_DEPTH,
		NESTIOMMU_FAULT_QUEUE_MAX_DEPTH, NESTIOMMU_FAULT_QUEUE_MAX_DEPTH + 1,
		~0U,
	};
	__u32 id;

	fault_queue_alloc(t, s, fd, PICK(t, depths), &id);
}

static void do_device_reset(struct thread *t, struct slot *s, int fd)
{
	struct nestiommu_device_reset *a = ARG(t, nestiommu_device_reset);

	a->dev_id = id_pick(t, s, K_DEV);
	CALL(t, fd, OP_DEVICE_RESET, a);
}

/* An ioctl number the driver does not have, with random bytes. */
static void do_unknown_ioctl(struct thread *t, int fd)
{
	static const unsigned long cmds[] = {
		_IO(NESTIOMMU_TYPE, NESTIOMMU_CMD_BASE - 1),
		_IO(NESTIOMMU_TYPE, NESTIOMMU_CMD_DEVICE_RESET + 1),
		_IO(NESTIOMMU_TYPE, 0xff),
		_IOWR(NESTIOMMU_TYPE, NESTIOMMU_CMD_DMA, struct nestiommu_dma),
		_IO('M', NESTIOMMU_CMD_DESTROY),
	};
	int rc;

	fill_random(t, t->mem, 256);
	rc = ioctl(fd, PICK(t, cmds), t->mem);
	count(t, OP_UNKNOWN_IOCTL, rc < 0 ? -errno : rc);
}

/* ---- contexts, fds, processes ------------------------------------------ */

static void slot_close_all(struct slot *s)
{
	while (s->nfds)
		close(s->fds[--s->nfds]);
	memset(s->nids, 0, sizeof(s->nids));
	memset(s->ring, 0, sizeof(s->ring));
}

/*
 * A new context in a free slot, with a stack DMA can use: an IOAS with the
 * stage-1 pool and the data mapped, a NEST_PARENT paging HWPT, a fault
 * queue, a nested HWPT on it whose stage 1 maps S1_IOVA to the data, and a
 * PRI + ATS device attached to it on ENV_PASID.
 */
static void do_open(struct thread *t)
{
	__u32 ioas, parent, fault, nested, dev;
	struct slot *s = NULL;
	int i, fd;

	pthread_mutex_lock(&pool_lock);
	for (i = 0; i < MAX_SLOTS; i++)
		if (!slots[i].nfds && slots[i].fds[0] != -2) {
			s = &slots[i];
			s->fds[0] = -2;		/* being set up */
			break;
		}
	pthread_mutex_unlock(&pool_lock);
	if (!s)
		return;
	fd = open(NEST_DEV_PATH, O_RDWR | O_CLOEXEC);
	count(t, OP_open, fd < 0 ? -errno : 0);
	if (fd < 0) {
		s->fds[0] = -1;
		return;
	}
	nest_s1_init(&s->s1, s->mem, S1_GPA, S1_POOL_LEN, 4);
	nest_s1_map(&s->s1, S1_IOVA, DATA_GPA, DATA_LEN,
		    NESTIOMMU_S1_PTE_RW | NESTIOMMU_S1_PTE_US);
	t->plain = true;
	pthread_mutex_lock(&pool_lock);
	s->fds[0] = fd;
	s->nfds = 1;
	pthread_mutex_unlock(&pool_lock);
	if (ioas_alloc(t, s, fd, 0, &ioas) ||
	    ioas_map(t, s, fd, ioas, NESTIOMMU_IOAS_MAP_FIXED_IOVA |
		     NESTIOMMU_IOAS_MAP_READABLE | NESTIOMMU_IOAS_MAP_WRITEABLE,
		     NEST_PTR(s->mem), S1_POOL_LEN, S1_GPA) ||
	    ioas_map(t, s, fd, ioas, NESTIOMMU_IOAS_MAP_FIXED_IOVA |
		     NESTIOMMU_IOAS_MAP_READABLE | NESTIOMMU_IOAS_MAP_WRITEABLE,
		     NEST_PTR(s->mem + DATA_OFF), DATA_LEN, DATA_GPA) ||
	    hwpt_alloc(t, s, fd, false, NESTIOMMU_HWPT_ALLOC_NEST_PARENT, ioas, 0, &parent) ||
	    fault_queue_alloc(t, s, fd, 0, &fault) ||
	    hwpt_alloc(t, s, fd, true, NESTIOMMU_HWPT_ALLOC_FAULT_ID_VALID, parent,
		       fault, &nested) ||
	    device_create(t, s, fd, NESTIOMMU_DEVICE_ATS | NESTIOMMU_DEVICE_PRI,
			  below(t, 0x10000), 8, &dev))
		goto out;
	device_attach(t, fd, NESTIOMMU_ATTACH_PASID, dev, ENV_PASID, nested);
out:
	t->plain = false;
}

/* Close one fd of a context (the context goes with its last fd). */
static void do_close(struct thread *t)
{
	struct slot *s;
	int fd, i;

	pthread_mutex_lock(&pool_lock);
	if (nffds && below(t, 2)) {
		i = below(t, nffds);
		fd = ffds[i];
		ffds[i] = ffds[--nffds];
	} else if ((s = slot_pick(t, &fd))) {
		for (i = 0; s->fds[i] != fd; i++)
			;
		s->fds[i] = s->fds[--s->nfds];
		if (!s->nfds)
			slot_close_all(s);
	} else {
		fd = -1;
	}
	pthread_mutex_unlock(&pool_lock);
	if (fd >= 0)
		count(t, OP_close, close(fd) ? -errno : 0);
}

static void do_dup(struct thread *t)
{
	struct slot *s;
	int fd, nfd;

	pthread_mutex_lock(&pool_lock);
	if (nffds && below(t, 2)) {
		nfd = dup(ffds[below(t, nffds)]);
		if (nfd >= 0)
			ffd_add(nfd);
	} else if ((s = slot_pick(t, &fd))) {
		nfd = dup(fd);
		if (nfd >= 0 && s->nfds < SLOT_FDS)
			s->fds[s->nfds++] = nfd;
		else if (nfd >= 0)
			close(nfd);
	} else {
		pthread_mutex_unlock(&pool_lock);
		return;
	}
	pthread_mutex_unlock(&pool_lock);
	count(t, OP_dup, nfd < 0 ? -errno : 0);
}

/*
 * A child that uses the inherited fds: maps one of its (copied) buffers
 * into a new IOAS of the context, DMAs without waiting for page requests,
 * reads and answers a fault fd, and exits with all of it still open.
 */
static void do_fork(struct thread *t)
{
	struct slot *s;
	int fd, ffd, status;
	pid_t pid;

	pthread_mutex_lock(&pool_lock);
	s = slot_pick(t, &fd);
	ffd = nffds ? ffds[below(t, nffds)] : -1;
	pthread_mutex_unlock(&pool_lock);
	if (!s)
		return;
	pid = fork();
	if (pid == 0) {
		struct nestiommu_page_response resp = { .cookie = rnd(t) };
		struct nestiommu_ioas_alloc alloc = { .size = sizeof(alloc) };
		struct nestiommu_dma dma = {
			.size = sizeof(dma),
			.flags = NESTIOMMU_DMA_PASID | NESTIOMMU_DMA_NONBLOCK,
			.dev_id = id_pick(t, s, K_DEV),
			.pasid = ENV_PASID,
			.access = NESTIOMMU_ACCESS_WRITE,
			.iova = S1_IOVA + below(t, DATA_LEN),
			.length = 64,
			.user_va = NEST_PTR(t->mem + DMABUF_OFF),
		};
		struct nestiommu_ioas_map map = {
			.size = sizeof(map),
			.flags = NESTIOMMU_IOAS_MAP_READABLE | NESTIOMMU_IOAS_MAP_WRITEABLE,
			.user_va = uva_pick(t, s),
			.length = SZ_64K,
		};

		alarm(30);	/* a backstop: nothing here may block */
		if (!ioctl(fd, NESTIOMMU_IOAS_ALLOC, &alloc)) {
			map.ioas_id = alloc.out_ioas_id;
			ioctl(fd, NESTIOMMU_IOAS_MAP, &map);
		}
		ioctl(fd, NESTIOMMU_DMA, &dma);
		if (ffd >= 0) {
			if (read(ffd, t->mem + SCRATCH_OFF,
				 sizeof(struct nestiommu_fault_record)) > 0)
				resp.cookie = ((struct nestiommu_fault_record *)
					       (t->mem + SCRATCH_OFF))->cookie;
			if (write(ffd, &resp, sizeof(resp)) < 0)
				_exit(0);
		}
		_exit(0);
	}
	if (pid < 0) {
		count(t, OP_fork, -errno);
		return;
	}
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	count(t, OP_fork, WIFEXITED(status) && !WEXITSTATUS(status) ? 0 : -ECHILD);
}

static int ffd_pick(struct thread *t)
{
	int fd = -1;

	pthread_mutex_lock(&pool_lock);
	if (nffds)
		fd = ffds[below(t, nffds)];
	pthread_mutex_unlock(&pool_lock);
	return fd;
}

/*
 * Answer the group @cookie with a valid code, then (@odd) maybe a bad
 * response behind it, or the whole write in odd sizes. A group read and
 * not answered would keep its DMA waiting until its PRI timeout.
 */
static void page_respond(struct thread *t, int fd, __u64 cookie, bool odd)
{
	static const __u32 codes[] = {
		NESTIOMMU_PAGE_RESP_SUCCESS, NESTIOMMU_PAGE_RESP_SUCCESS,
		NESTIOMMU_PAGE_RESP_INVALID, NESTIOMMU_PAGE_RESP_FAILURE,
	};
	struct nestiommu_page_response r[2] = {
		{ .cookie = cookie, .code = PICK(t, codes) },
		{ .cookie = rnd(t), .code = (__u32)rnd(t), .__reserved = one_in(t, 2) },
	};
	static const size_t lens[] = { sizeof(r[0]), 2 * sizeof(r[0]), 0, 1, 15, 17 };
	ssize_t n;

	n = write(fd, r, odd ? PICK(t, lens) : sizeof(r[0]));
	count(t, OP_write, n < 0 ? -errno : 0);
}

/*
 * Read a fault fd with an odd size or pointer; answer every page request
 * it returns, mostly SUCCESS, so that DMAs waiting for them go on.
 */
static void do_read(struct thread *t)
{
	static const size_t rec = sizeof(struct nestiommu_fault_record);
	static const size_t lens[] = { 0, 1, rec - 1, rec, rec, rec + 1, 3 * rec + 5, 4096 };
	struct nestiommu_fault_record *r = (void *)(t->mem + SCRATCH_OFF);
	char *p = t->mem + SCRATCH_OFF;
	int fd = ffd_pick(t);
	ssize_t n, i;

	if (fd < 0)
		return;
	if (one_in(t, 8))
		p = one_in(t, 2) ? t->mem + THR_RW - rec / 2 : (char *)uva_pick(t, NULL);
	n = read(fd, p, PICK(t, lens));
	count(t, OP_read, n < 0 ? -errno : 0);
	if (p != t->mem + SCRATCH_OFF)
		return;
	for (i = 0; i < n / (ssize_t)rec; i++)
		if (r[i].type == NESTIOMMU_RECORD_PAGE_REQUEST &&
		    r[i].flags & NESTIOMMU_RECORD_F_LAST_PAGE)
			page_respond(t, fd, r[i].cookie, false);
}

static void do_write(struct thread *t)
{
	int fd = ffd_pick(t);

	if (fd >= 0)
		page_respond(t, fd, rnd(t), true);
}

/* ---- the buffers' memory --------------------------------------------------- */

static char *map_anon(void *at, size_t len, int prot)
{
	return mmap(at, len, prot, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED |
		    (prot == PROT_NONE ? MAP_NORESERVE : 0), -1, 0);
}

static size_t buf_len_pick(struct thread *t)
{
	return one_in(t, 2) ? BUF_MAX : (1 + below(t, BUF_MAX / SZ_4K)) * SZ_4K;
}

/* munmap a buffer (its place stays reserved), or map it again. */
static void do_munmap(struct thread *t)
{
	struct buf *b = &bufs[below(t, NBUF)];
	int rc;

	pthread_mutex_lock(&b->lock);
	if (b->len) {
		rc = munmap(b->addr, b->len) ? -errno : 0;
		/* keep the place reserved: nothing else may land in the arena */
		map_anon(b->addr, b->len, PROT_NONE);
		b->len = 0;
	} else {
		b->len = buf_len_pick(t);
		rc = map_anon(b->addr, b->len, PROT_READ | PROT_WRITE) == MAP_FAILED ?
		     -errno : 0;
		if (!rc && one_in(t, 2))
			madvise(b->addr, b->len, MADV_HUGEPAGE);
	}
	pthread_mutex_unlock(&b->lock);
	count(t, OP_munmap, rc);
}

/* Move a buffer to the other half of its slot, with a new length. */
static void do_mremap(struct thread *t)
{
	struct buf *b = &bufs[below(t, NBUF)];
	size_t len = buf_len_pick(t);
	char *p, *dst;

	pthread_mutex_lock(&b->lock);
	if (!b->len) {
		pthread_mutex_unlock(&b->lock);
		return;
	}
	dst = b->addr == b->slot ? b->slot + BUF_MAX : b->slot;
	p = mremap(b->addr, b->len, len, MREMAP_MAYMOVE | MREMAP_FIXED, dst);
	if (p != MAP_FAILED) {
		map_anon(b->addr, b->len, PROT_NONE);
		b->addr = p;
		b->len = len;
	}
	pthread_mutex_unlock(&b->lock);
	count(t, OP_mremap, p == MAP_FAILED ? -errno : 0);
}

/*
 * A page range of a buffer (the buffer's lock held), up to 64 pages: never
 * past its end, where other memory of the arena may be.
 */
static bool buf_range(struct thread *t, struct buf *b, char **addr, size_t *len)
{
	size_t pages = b->len / SZ_4K, first;

	if (!pages)
		return false;
	first = below(t, pages);
	*addr = b->addr + first * SZ_4K;
	*len = (1 + below(t, pages - first < 64 ? pages - first : 64)) * SZ_4K;
	return true;
}

static void do_madvise(struct thread *t)
{
	struct buf *b = &bufs[below(t, NBUF)];
	char *addr;
	size_t len;
	int rc;

	pthread_mutex_lock(&b->lock);
	if (!buf_range(t, b, &addr, &len)) {
		pthread_mutex_unlock(&b->lock);
		return;
	}
	rc = madvise(addr, len, MADV_DONTNEED) ? -errno : 0;
	pthread_mutex_unlock(&b->lock);
	count(t, OP_madvise, rc);
}

static void do_mprotect(struct thread *t)
{
	static const int prots[] = { PROT_READ, PROT_NONE, PROT_READ | PROT_WRITE,
				     PROT_READ | PROT_WRITE };
	struct buf *b = &bufs[below(t, NBUF)];
	int prot = PICK(t, prots);
	char *addr;
	size_t len;
	int rc;

	pthread_mutex_lock(&b->lock);
	if (!buf_range(t, b, &addr, &len)) {
		pthread_mutex_unlock(&b->lock);
		return;
	}
	rc = mprotect(addr, len, prot) ? -errno : 0;
	pthread_mutex_unlock(&b->lock);
	count(t, OP_mprotect, rc);
}

/* Rewrite a stage-1 PTE of a context: a valid one, or garbage. */
static void do_s1_write(struct thread *t)
{
	struct slot *s;
	__u64 *table, pte;
	int fd;

	pthread_mutex_lock(&pool_lock);
	s = slot_pick(t, &fd);
	if (!s || !s->s1.used) {
		pthread_mutex_unlock(&pool_lock);
		return;
	}
	table = (__u64 *)((char *)s->s1.pool_va + below(t, s->s1.used / SZ_4K) * SZ_4K);
	pte = DATA_GPA + below(t, DATA_LEN / SZ_4K) * SZ_4K;
	if (one_in(t, 4))
		pte = S1_GPA + below(t, s->s1.used / SZ_4K) * SZ_4K;
	pte |= rnd(t) & (NESTIOMMU_S1_PTE_P | NESTIOMMU_S1_PTE_RW | NESTIOMMU_S1_PTE_US |
			 NESTIOMMU_S1_PTE_A | NESTIOMMU_S1_PTE_D | NESTIOMMU_S1_PTE_PS |
			 NESTIOMMU_S1_PTE_XD);
	if (one_in(t, 4))
		pte = rnd(t);
	nest_s1_pte_write(&table[below(t, NEST_S1_ENTRIES)], pte);
	pthread_mutex_unlock(&pool_lock);
	count(t, OP_s1_write, 0);
}

/* ---- threads ------------------------------------------------------------------ */

static unsigned int weight_sum;

static enum op op_pick(struct thread *t)
{
	unsigned int r = prng(&t->op_rng) % weight_sum;
	enum op op;

	for (op = 0; r >= op_weight[op]; op++)
		r -= op_weight[op];
	return op;
}

static void ioctl_op(struct thread *t, enum op op)
{
	static void (*const fns[])(struct thread *, struct slot *, int) = {
		[OP_DESTROY] = do_destroy, [OP_IOAS_ALLOC] = do_ioas_alloc,
		[OP_IOAS_MAP] = do_ioas_map, [OP_IOAS_UNMAP] = do_ioas_unmap,
		[OP_IOAS_IOVA_RANGES] = do_iova_ranges, [OP_GET_STATS] = do_get_stats,
		[OP_OPTION] = do_option, [OP_IOAS_COPY] = do_ioas_copy,
		[OP_HWPT_ALLOC] = do_hwpt_alloc, [OP_HWPT_INVALIDATE] = do_hwpt_invalidate,
		[OP_HWPT_SET_DIRTY_TRACKING] = do_set_dirty,
		[OP_HWPT_GET_DIRTY_BITMAP] = do_get_dirty,
		[OP_DEVICE_CREATE] = do_device_create, [OP_DEVICE_ATTACH] = do_device_attach,
		[OP_DEVICE_DETACH] = do_device_detach, [OP_GET_HW_INFO] = do_hw_info,
		[OP_DMA] = do_dma, [OP_TRANSLATE] = do_translate,
		[OP_FAULT_QUEUE_ALLOC] = do_fault_queue_alloc,
		[OP_DEVICE_RESET] = do_device_reset,
	};
	struct slot *s;
	int fd;

	/* the slot's pools are read unlocked: a torn ID is just a stale one */
	pthread_mutex_lock(&pool_lock);
	s = slot_pick(t, &fd);
	pthread_mutex_unlock(&pool_lock);
	if (!s) {
		do_open(t);
		return;
	}
	if (op == OP_UNKNOWN_IOCTL)
		do_unknown_ioctl(t, fd);
	else
		fns[op](t, s, fd);
}

static void *thread_main(void *arg)
{
	static void (*const fns[])(struct thread *) = {
		[OP_open - OP_open] = do_open, [OP_close - OP_open] = do_close,
		[OP_dup - OP_open] = do_dup, [OP_fork - OP_open] = do_fork,
		[OP_read - OP_open] = do_read, [OP_write - OP_open] = do_write,
		[OP_munmap - OP_open] = do_munmap, [OP_mremap - OP_open] = do_mremap,
		[OP_madvise - OP_open] = do_madvise, [OP_mprotect - OP_open] = do_mprotect,
		[OP_s1_write - OP_open] = do_s1_write,
	};
	struct thread *t = arg;

	while (!atomic_load(&stop) && !(t->bounded && !t->ops_left)) {
		enum op op = op_pick(t);

		if (op < OP_open)
			ioctl_op(t, op);
		else
			fns[op - OP_open](t);
		if (t->bounded && !--t->ops_left)
			break;
	}
	atomic_store(&t->done, true);
	return NULL;
}

/* ---- the end of a run ------------------------------------------------------ */

/*
 * Answer every page request a thread may wait for: DEVICE_RESET of every
 * device; after a while close the fault fds too (which answers the rest).
 */
static void threads_unblock(bool close_ffds)
{
	struct nestiommu_device_reset r = { .size = sizeof(r) };
	int i, j;

	pthread_mutex_lock(&pool_lock);
	for (i = 0; i < MAX_SLOTS; i++)
		for (j = 0; slots[i].nfds && j < slots[i].nids[K_DEV]; j++) {
			r.dev_id = slots[i].ids[K_DEV][j];
			ioctl(slots[i].fds[0], NESTIOMMU_DEVICE_RESET, &r);
		}
	while (close_ffds && nffds)
		close(ffds[--nffds]);
	pthread_mutex_unlock(&pool_lock);
}

/* Join every thread; false if one is still stuck after 60 s. */
static bool threads_join(void)
{
	unsigned int i, tries;
	struct timespec ts;

	for (i = 0; i < opts.threads; i++) {
		for (tries = 0; tries < 600; tries++) {
			clock_gettime(CLOCK_REALTIME, &ts);
			ts.tv_nsec += 100000000;
			if (ts.tv_nsec >= 1000000000) {
				ts.tv_sec++;
				ts.tv_nsec -= 1000000000;
			}
			if (!pthread_timedjoin_np(threads[i].tid, NULL, &ts))
				break;
			threads_unblock(tries >= 20);
		}
		if (tries == 600) {
			fprintf(stderr, PROG ": thread %u did not return within 60 s of the end\n", i);
			return false;
		}
	}
	return true;
}

/* VmPin of this process in KiB, or -1 if /proc does not say. */
static long long vmpin_kb(void)
{
	long long kb = -1;
	char line[256];
	FILE *f = fopen("/proc/self/status", "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "VmPin: %lld kB", &kb) == 1)
			break;
	fclose(f);
	return kb;
}

static const char *err_name(int e)
{
	if (e == ERR_POSITIVE)
		return "POSITIVE";
	return strerrorname_np(e) ? strerrorname_np(e) : "E?";
}

/*
 * The summary: one line of totals, then one line per operation: its kind
 * (ioctl or op), name, calls, successes and calls per errno.
 */
static unsigned long long summary(double secs, bool *positive)
{
	unsigned long long total = 0, ioctls = 0;
	unsigned long long sum[OP_NR][NERR] = { 0 };
	unsigned int i, op, e;

	for (i = 0; i < opts.threads; i++)
		for (op = 0; op < OP_NR; op++)
			for (e = 0; e < NERR; e++)
				sum[op][e] += threads[i].counts[op][e];
	for (op = 0; op < OP_NR; op++)
		for (e = 0; e < NERR; e++) {
			total += sum[op][e];
			ioctls += op < NR_IOCTLS ? sum[op][e] : 0;
		}
	printf("seed=%llu threads=%llu duration=%.1fs calls=%llu ioctls=%llu\n",
	       opts.seed, opts.threads, secs, total, ioctls);
	for (op = 0; op < OP_NR; op++) {
		unsigned long long calls = 0;

		for (e = 0; e < NERR; e++)
			calls += sum[op][e];
		printf("%-5s %-24s %10llu  ok=%llu", op < NR_IOCTLS ? "ioctl" : "op",
		       op_names[op], calls, sum[op][0]);
		for (e = 1; e < NERR; e++)
			if (sum[op][e])
				printf(" %s=%llu", err_name(e), sum[op][e]);
		printf("\n");
		*positive |= op < NR_IOCTLS && sum[op][ERR_POSITIVE];
	}
	return total;
}

/* ---- options ---------------------------------------------------------------- */

static void usage(FILE *f)
{
	fprintf(f,
		"usage: " PROG " [-v] [--seed N] [--seconds S] [--ops N] [--threads N]\n"
		"  --seed N      PRNG seed: the same seed gives each thread the same operations\n"
		"                (default: from the clock; the summary prints it)\n"
		"  --seconds S   run S seconds (default 10 unless --ops is given)\n"
		"  --ops N       run N operations in all, shared by the threads\n"
		"                (with --seconds: whichever comes first)\n"
		"  --threads N   threads, 1 to %d (default 4)\n"
		"  -v            print every call and its result on stderr\n"
		"Prints the seed, duration, calls and, per ioctl and per other operation,\n"
		"calls by errno. Exit status: 0 when the run ends normally, 1 if VmPin is\n"
		"not 0 after every fd is closed, a thread does not return or an ioctl\n"
		"returned a positive value, 2 on bad options.\n", MAX_THREADS);
}

static int bad_option(const char *fmt, const char *arg)
{
	fprintf(stderr, PROG ": ");
	fprintf(stderr, fmt, arg);
	fprintf(stderr, " (" PROG " -h for help)\n");
	return 2;
}

static int parse_args(int argc, char **argv)
{
	static const struct option longs[] = {
		{ "seed", required_argument, NULL, 's' },
		{ "seconds", required_argument, NULL, 't' },
		{ "ops", required_argument, NULL, 'n' },
		{ "threads", required_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	bool seeded = false, ops_set = false;
	int c;

	opts = (struct fuzz_opts){ .seconds = 10, .threads = 4 };
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":vh", longs, NULL)) != -1) {
		switch (c) {
		case 's':
			if (!tool_parse_u64(optarg, &opts.seed))
				return bad_option("--seed: '%s' is not a number", optarg);
			seeded = true;
			break;
		case 't':
			if (!tool_parse_u64(optarg, &opts.seconds) || !opts.seconds ||
			    opts.seconds > 7 * 86400)
				return bad_option("--seconds: '%s' is not a number of seconds from 1 to 604800",
						  optarg);
			opts.seconds_set = true;
			break;
		case 'n':
			if (!tool_parse_u64(optarg, &opts.ops) || !opts.ops)
				return bad_option("--ops: '%s' is not a positive number", optarg);
			ops_set = true;
			break;
		case 'j':
			if (!tool_parse_u64(optarg, &opts.threads) || !opts.threads ||
			    opts.threads > MAX_THREADS)
				return bad_option("--threads: '%s' is not a number from 1 to "
						  STR(MAX_THREADS), optarg);
			break;
		case 'v':
			opts.verbose = true;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		case ':':
			return bad_option("option %s needs an argument", argv[optind - 1]);
		default:
			return bad_option("unknown option %s", argv[optind - 1]);
		}
	}
	if (optind < argc)
		return bad_option("unexpected argument '%s'", argv[optind]);
	if (ops_set && !opts.seconds_set)
		opts.seconds = 0;
	if (!seeded)
		opts.seed = (unsigned long long)time(NULL);
	return 0;
}

/* ---- setup and main ----------------------------------------------------------- */

/* splitmix64: a non-zero xorshift state per thread and stream. */
static __u64 seed_state(__u64 seed, unsigned int nr, unsigned int stream)
{
	__u64 z = seed + 0x9e3779b97f4a7c15ULL * (2 * nr + stream + 1);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	z ^= z >> 31;
	return z ? z : 1;
}

static int arena_setup(void)
{
	char *p = mmap(NULL, ARENA_LEN + SZ_2M, PROT_NONE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	unsigned int i;

	if (p == MAP_FAILED)
		return -errno;
	arena = (char *)(((uintptr_t)p + SZ_2M - 1) & ~(uintptr_t)(SZ_2M - 1));
	for (i = 0; i < NBUF; i++) {
		pthread_mutex_init(&bufs[i].lock, NULL);
		bufs[i].slot = bufs[i].addr = arena + i * BUF_SLOT;
		bufs[i].len = BUF_MAX;
		if (map_anon(bufs[i].addr, BUF_MAX, PROT_READ | PROT_WRITE) == MAP_FAILED)
			return -errno;
	}
	for (i = 0; i < MAX_SLOTS; i++) {
		slots[i].fds[0] = -1;
		slots[i].mem = arena + CTX_MEM_OFF + i * CTX_MEM;
		if (map_anon(slots[i].mem, CTX_MEM, PROT_READ | PROT_WRITE) == MAP_FAILED)
			return -errno;
	}
	for (i = 0; i < opts.threads; i++) {
		threads[i].mem = arena + THR_OFF + i * THR_MEM;
		if (map_anon(threads[i].mem, THR_RW, PROT_READ | PROT_WRITE) == MAP_FAILED)
			return -errno;
	}
	return 0;
}

static double elapsed(const struct timespec *from, const struct timespec *to)
{
	return to->tv_sec - from->tv_sec + (to->tv_nsec - from->tv_nsec) / 1e9;
}

int main(int argc, char **argv)
{
	bool positive = false, joined;
	struct timespec start, end;
	unsigned int i;
	long long pin;
	double secs;
	int rc, fd;

	rc = parse_args(argc, argv);
	if (rc)
		return rc;
	/* fail early and clearly when the module is not loaded */
	fd = nest_open();
	if (fd < 0)
		return 1;
	close(fd);
	rc = arena_setup();
	if (rc) {
		fprintf(stderr, PROG ": cannot map the buffers: %s\n", strerror(-rc));
		return 1;
	}
	for (i = 0; i < OP_NR; i++)
		weight_sum += op_weight[i];
	clock_gettime(CLOCK_MONOTONIC, &start);
	for (i = 0; i < opts.threads; i++) {
		struct thread *t = &threads[i];

		t->nr = i;
		t->op_rng = seed_state(opts.seed, i, 0);
		t->arg_rng = seed_state(opts.seed, i, 1);
		t->bounded = opts.ops;
		t->ops_left = opts.ops / opts.threads + (i < opts.ops % opts.threads);
		rc = pthread_create(&t->tid, NULL, thread_main, t);
		if (rc) {
			fprintf(stderr, PROG ": cannot start a thread: %s\n", strerror(rc));
			return 1;
		}
	}
	/* until the time is up or every thread did its operations */
	for (;;) {
		bool all_done = true;

		for (i = 0; i < opts.threads; i++)
			all_done &= atomic_load(&threads[i].done);
		clock_gettime(CLOCK_MONOTONIC, &end);
		if (all_done || (opts.seconds && elapsed(&start, &end) >= opts.seconds))
			break;
		usleep(20000);
	}
	atomic_store(&stop, true);
	joined = threads_join();
	clock_gettime(CLOCK_MONOTONIC, &end);
	secs = elapsed(&start, &end);
	if (!joined)
		return 1;
	threads_unblock(true);
	for (i = 0; i < MAX_SLOTS; i++)
		slot_close_all(&slots[i]);
	pin = vmpin_kb();
	summary(secs, &positive);
	printf("vmpin_kb=%lld\n", pin);
	if (pin != 0)
		fprintf(stderr, PROG ": VmPin is %lld kB after every fd was closed\n", pin);
	if (positive)
		fprintf(stderr, PROG ": an ioctl returned a positive value (POSITIVE above)\n");
	return pin != 0 || positive ? 1 : 0;
}
