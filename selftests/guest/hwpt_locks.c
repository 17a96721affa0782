// SPDX-License-Identifier: GPL-2.0
/*
 * Locks and caller-sized loops:
 *  - an answer (IOAS_MAP, IOAS_COPY) or a fault record (read() of a fault
 *    queue) written to a user page that faults for as long as user space
 *    likes (a userfaultfd page) blocks only its own call: DMA, TRANSLATE
 *    and UNMAP of the IOAS and other readers of the queue go on meanwhile;
 *    records a read() could not copy stay queued;
 *  - calls whose cost the caller sizes cost in proportion to what exists:
 *    GET_DIRTY_BITMAP over the whole IOVA space with one small mapping,
 *    HWPT_INVALIDATE of 52,428 entries with a 65,536-entry IOTLB; a signal
 *    ends a long HWPT_INVALIDATE with its progress reported; size fields
 *    of nested structs above NESTIOMMU_STRUCT_SIZE_MAX are E2BIG.
 *
 * A call is known to be blocked inside its copy to user space once the
 * userfaultfd reports the fault: nothing here waits for time to pass.
 * Only a kernel that makes the other calls wait for the blocked one meets
 * LOCKS_WAIT_S: the test then resolves the fault (so nothing stays stuck)
 * and fails.
 */
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <linux/userfaultfd.h>
#include <time.h>

#include "nest_env.h"

#define REC_SIZE	sizeof(struct nestiommu_fault_record)
/* How long the other calls may take before they count as blocked. */
#define LOCKS_WAIT_S	30
/* Stage-1 page of the env the other calls DMA and translate through. */
#define LOCKS_IOVA	ENV_IOVA
#define LOCKS_GPA	DATA_GPA
/* A mapping the other calls UNMAP. */
#define SCRATCH_GPA	0x100000000ULL		/* 4 GiB */
/* No stage-1 mapping: every DMA there faults (fault queue cases). */
#define FQ_IOVA		(ENV_IOVA + SZ_1G)

/* ---- userfaultfd ---- */

/* One page registered with a userfaultfd. */
struct uffd_page {
	int uffd;
	char *page;
	size_t size;
	bool wp;
};

/*
 * Register @page: for write-protect faults (@wp: the page is populated and
 * must be protected with uffd_protect()) or for missing-page faults (it
 * must not have been touched).
 */
static void uffd_page_register(struct uffd_page *u, void *page, bool wp)
{
	struct uffdio_api api = { .api = UFFD_API };
	struct uffdio_register reg = {
		.mode = wp ? UFFDIO_REGISTER_MODE_WP : UFFDIO_REGISTER_MODE_MISSING,
	};

	u->page = page;
	u->size = page_size();
	u->wp = wp;
	/* Not UFFD_USER_MODE_ONLY: the faults to catch are the kernel's. */
	u->uffd = syscall(__NR_userfaultfd, O_CLOEXEC);
	if (u->uffd < 0)
		SKIP("userfaultfd: %s", strerror(errno));
	ASSERT_EQ(0, ioctl(u->uffd, UFFDIO_API, &api));
	reg.range.start = (uintptr_t)page;
	reg.range.len = u->size;
	if (ioctl(u->uffd, UFFDIO_REGISTER, &reg))
		SKIP("UFFDIO_REGISTER %s: %s", wp ? "WP" : "MISSING", strerror(errno));
}

static void uffd_protect(struct uffd_page *u, bool on)
{
	struct uffdio_writeprotect w = {
		.range = { .start = (uintptr_t)u->page, .len = u->size },
		.mode = on ? UFFDIO_WRITEPROTECT_MODE_WP : 0,
	};

	ASSERT_EQ(0, ioctl(u->uffd, UFFDIO_WRITEPROTECT, &w));
}

/* Wait until a kernel access to the page faults: its caller is blocked. */
static void uffd_wait_fault(struct uffd_page *u)
{
	struct pollfd p = { .fd = u->uffd, .events = POLLIN };
	struct uffd_msg msg;

	ASSERT_EQ(1, poll(&p, 1, -1));
	ASSERT_EQ((ssize_t)sizeof(msg), read(u->uffd, &msg, sizeof(msg)));
	ASSERT_EQ(UFFD_EVENT_PAGEFAULT, msg.event);
	ASSERT_EQ((uintptr_t)u->page, msg.arg.pagefault.address & ~(__u64)(u->size - 1));
	ASSERT_EQ(u->wp, !!(msg.arg.pagefault.flags & UFFD_PAGEFAULT_FLAG_WP));
}

/* Let the blocked access go on: unprotect, or fill the page from @src. */
static void uffd_resolve(struct uffd_page *u, const void *src)
{
	struct uffdio_copy c = {
		.dst = (uintptr_t)u->page,
		.src = (uintptr_t)src,
		.len = u->size,
	};

	if (u->wp)
		uffd_protect(u, false);
	else
		ASSERT_EQ(0, ioctl(u->uffd, UFFDIO_COPY, &c));
}

/* ---- a call in another thread ---- */

struct call {
	pthread_t thread;
	void (*fn)(struct call *c);
	sem_t done;
	struct nest_env *e;
	int fd;			/* a fault queue's fd */
	unsigned long cmd;
	void *arg;
	long rc;		/* 0 / bytes, or -errno */
	/* what other_calls() saw */
	char dma_byte;
	struct nestiommu_translate xl;
	__u64 unmapped;
	struct nestiommu_fault_record rec;
};

static void *call_thread(void *p)
{
	struct call *c = p;

	c->fn(c);
	sem_post(&c->done);
	return NULL;
}

static void call_start(struct call *c, void (*fn)(struct call *c))
{
	c->fn = fn;
	ASSERT_EQ(0, sem_init(&c->done, 0, 0));
	ASSERT_EQ(0, pthread_create(&c->thread, NULL, call_thread, c));
}

/* Wait for @c; false if it did not end within LOCKS_WAIT_S. */
static bool call_wait(struct call *c)
{
	struct timespec t;

	clock_gettime(CLOCK_REALTIME, &t);
	t.tv_sec += LOCKS_WAIT_S;
	while (sem_timedwait(&c->done, &t))
		if (errno != EINTR)
			return false;
	return true;
}

static void call_join(struct call *c)
{
	ASSERT_EQ(0, pthread_join(c->thread, NULL));
	sem_destroy(&c->done);
}

static void ioctl_call(struct call *c)
{
	c->rc = nest_ioctl(c->e->fd, c->cmd, c->arg);
}

/*
 * What must not wait for a blocked MAP or COPY: a DMA and a TRANSLATE
 * through the IOAS and an UNMAP of another mapping of it.
 */
static void other_calls(struct call *c)
{
	struct nestiommu_dma dma;

	c->rc = env_dma(c->e, ACC_R, LOCKS_IOVA + 0x10, 1, &c->dma_byte, &dma);
	if (!c->rc && dma.out_flags)
		c->rc = -EIO;
	if (!c->rc)
		c->rc = _do_translate(c->e->fd, c->e->dev_id, c->e->dma_flags,
				      c->e->pasid, ACC_R, LOCKS_IOVA, NULL, 0, &c->xl);
	if (!c->rc)
		c->rc = nest_ioas_unmap(c->e->fd, c->e->ioas_id, SCRATCH_GPA, SZ_64K,
					&c->unmapped);
}

FIXTURE(locks) {
	struct nest_env e;
	char *scratch;
	char *buf;		/* what MAP maps */
	char *answer;		/* one page for the blocked call's answer */
	struct uffd_page u;
};

FIXTURE_SETUP(locks)
{
	env_setup(&self->e, NULL);
	memset(env_data(&self->e, LOCKS_GPA), 0x5a, SZ_4K);
	env_map(&self->e, LOCKS_IOVA, LOCKS_GPA, SZ_4K, S1_RWU);
	self->scratch = alloc_buffer_4k(SZ_64K, SZ_64K);
	do_ioas_map_fixed(self->e.fd, self->e.ioas_id, self->scratch, SZ_64K, SCRATCH_GPA);
	self->buf = alloc_buffer_4k(SZ_64K, SZ_64K);
	self->answer = alloc_buffer_4k(page_size(), page_size());
	self->u.uffd = -1;
}

FIXTURE_TEARDOWN(locks)
{
	if (self->u.uffd >= 0)
		close(self->u.uffd);
	env_teardown(&self->e);
	munmap(self->scratch, SZ_64K);
	munmap(self->buf, SZ_64K);
	munmap(self->answer, page_size());
}

/*
 * Issue @cmd with its struct @arg (@len bytes) in the write-protected
 * answer page; once it is blocked writing its answer, the other calls must
 * complete. Then let it finish; the answer is left in self->answer.
 */
static void locks_blocked_answer(FIXTURE_DATA(locks) *self, unsigned long cmd,
				 const void *arg, size_t len)
{
	struct call blocked = { .e = &self->e, .cmd = cmd, .arg = self->answer };
	struct call others = { .e = &self->e };
	bool others_done;

	memcpy(self->answer, arg, len);
	uffd_page_register(&self->u, self->answer, true);
	uffd_protect(&self->u, true);
	call_start(&blocked, ioctl_call);
	uffd_wait_fault(&self->u);

	call_start(&others, other_calls);
	others_done = call_wait(&others);
	uffd_resolve(&self->u, NULL);
	ASSERT_TRUE(call_wait(&blocked));
	if (!others_done)
		ASSERT_TRUE(call_wait(&others));
	call_join(&blocked);
	call_join(&others);

	if (!others_done)
		TH_LOG("DMA/TRANSLATE/UNMAP waited for the call blocked in its answer");
	ASSERT_TRUE(others_done);
	ASSERT_EQ(0, others.rc);
	ASSERT_EQ(0x5a, others.dma_byte);
	ASSERT_EQ(LOCKS_GPA, others.xl.out_gpa);
	ASSERT_EQ(SZ_64K, others.unmapped);
	ASSERT_EQ(0, blocked.rc);
}

TEST_F(locks, map_answer_fault_blocks_only_itself)
{
	struct nestiommu_ioas_map cmd = {
		.size = sizeof(cmd),
		.flags = MAP_RW,
		.ioas_id = self->e.ioas_id,
		.user_va = NEST_PTR(self->buf),
		.length = SZ_64K,
	};
	struct nestiommu_ioas_map *answer = (void *)self->answer;

	locks_blocked_answer(self, NESTIOMMU_IOAS_MAP, &cmd, sizeof(cmd));
	/* The IOVA chosen is where the buffer is: unmapping it takes it all. */
	ASSERT_EQ(0, answer->iova % SZ_64K);
	do_ioas_unmap(self->e.fd, self->e.ioas_id, answer->iova, SZ_64K, SZ_64K);
	check_ioas_mapped(self->e.fd, self->e.ioas_id, 2, POOL_LEN + DATA_LEN,
			  (POOL_LEN + DATA_LEN) / SZ_4K);
}

TEST_F(locks, copy_answer_fault_blocks_only_itself)
{
	struct nestiommu_ioas_copy cmd = {
		.size = sizeof(cmd),
		.flags = MAP_RW,
		.dst_ioas_id = self->e.ioas_id,
		.src_ioas_id = self->e.ioas_id,
		.length = SZ_4K,
		.src_iova = LOCKS_GPA,
	};
	struct nestiommu_ioas_copy *answer = (void *)self->answer;

	locks_blocked_answer(self, NESTIOMMU_IOAS_COPY, &cmd, sizeof(cmd));
	/* The copy is there, pinning nothing more, at the IOVA answered. */
	check_ioas_mapped(self->e.fd, self->e.ioas_id, 3, POOL_LEN + DATA_LEN + SZ_4K,
			  (POOL_LEN + DATA_LEN) / SZ_4K);
	do_ioas_unmap(self->e.fd, self->e.ioas_id, answer->dst_iova, SZ_4K, SZ_4K);
}

/* ---- fault queue read() ---- */

FIXTURE(fqlock) {
	struct nest_env e;
	__u32 fault_id;
	int qfd;
	struct uffd_page u;
	char *page;
};

FIXTURE_SETUP(fqlock)
{
	struct nest_env_opts o = { .no_nested = true };
	__u32 hwpt_id;

	env_setup(&self->e, &o);
	ASSERT_OK(nest_fault_queue_alloc(self->e.fd, 2, &self->fault_id, &self->qfd));
	hwpt_id = env_alloc_nested(&self->e, self->fault_id);
	do_device_attach(self->e.fd, self->e.dev_id, self->e.attach_flags, self->e.pasid,
			 hwpt_id);
	self->u.uffd = -1;
	/* Two pages, never touched: the second one is PROT_NONE. */
	self->page = mmap(NULL, 2 * page_size(), PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, (void *)self->page);
	ASSERT_EQ(0, mprotect(self->page + page_size(), page_size(), PROT_NONE));
}

FIXTURE_TEARDOWN(fqlock)
{
	if (self->u.uffd >= 0)
		close(self->u.uffd);
	close(self->qfd);
	env_teardown(&self->e);
	munmap(self->page, 2 * page_size());
}

static void fq_fault_at(struct nest_env *e, __u64 iova)
{
	struct nestiommu_dma dma;
	char buf[8];

	ASSERT_OK(env_dma(e, ACC_W, iova, sizeof(buf), buf, &dma));
	ASSERT_EQ(NESTIOMMU_OUT_FAULT, dma.out_flags);
}

static struct nestiommu_fault_queue_stats fqlock_stats(FIXTURE_DATA(fqlock) *self)
{
	struct nestiommu_fault_queue_stats st;
	__u32 type, len = sizeof(st);

	ASSERT_OK(nest_get_stats(self->e.fd, self->fault_id, &type, &st, &len));
	return st;
}

static void read_call(struct call *c)
{
	ssize_t n = read(c->fd, c->arg, c->cmd);

	c->rc = n < 0 ? -errno : n;
}

/* Another reader, and a new fault queued, while a read() is blocked. */
static void other_reader(struct call *c)
{
	ssize_t n = read(c->fd, &c->rec, REC_SIZE);

	c->rc = n < 0 ? -errno : n;
}

TEST_F(fqlock, read_copy_fault_blocks_only_itself)
{
	struct call blocked = { .fd = self->qfd, .cmd = REC_SIZE, .arg = self->page };
	struct call other = { .fd = self->qfd };
	static char zero[65536];
	struct nestiommu_fault_record *first = (void *)self->page;
	struct nestiommu_fault_queue_stats st;
	bool other_done;

	fq_fault_at(&self->e, FQ_IOVA + 0x1000);
	fq_fault_at(&self->e, FQ_IOVA + 0x2000);
	uffd_page_register(&self->u, self->page, false);
	call_start(&blocked, read_call);
	uffd_wait_fault(&self->u);

	/* The blocked read holds the first record; the second is for others. */
	call_start(&other, other_reader);
	other_done = call_wait(&other);
	ASSERT_LE(page_size(), sizeof(zero));
	uffd_resolve(&self->u, zero);
	ASSERT_TRUE(call_wait(&blocked));
	if (!other_done)
		ASSERT_TRUE(call_wait(&other));
	call_join(&blocked);
	call_join(&other);

	if (!other_done)
		TH_LOG("a reader waited for the read() blocked in its copy");
	ASSERT_TRUE(other_done);
	ASSERT_EQ((long)REC_SIZE, other.rc);
	ASSERT_EQ(FQ_IOVA + 0x2000, other.rec.fault.addr);
	ASSERT_EQ((long)REC_SIZE, blocked.rc);
	ASSERT_EQ(FQ_IOVA + 0x1000, first->fault.addr);
	st = fqlock_stats(self);
	ASSERT_EQ(2, st.queued);
	ASSERT_EQ(2, st.read);
	ASSERT_EQ(0, st.pending);
}

/*
 * A buffer that faults after whole records: read() returns those, the
 * others stay queued in order; one that faults at once: EFAULT, nothing
 * lost, the overflow mark included.
 */
TEST_F(fqlock, read_fault_keeps_records_not_copied)
{
	char *end = self->page + page_size();	/* PROT_NONE from here */
	struct nestiommu_fault_record r[2];
	struct nestiommu_fault_queue_stats st;

	fq_fault_at(&self->e, FQ_IOVA + 0x1000);
	fq_fault_at(&self->e, FQ_IOVA + 0x2000);
	fq_fault_at(&self->e, FQ_IOVA + 0x3000);	/* dropped: depth 2 */

	ASSERT_EQ(-1, read(self->qfd, end, 2 * REC_SIZE));
	ASSERT_EQ(EFAULT, errno);
	st = fqlock_stats(self);
	ASSERT_EQ(2, st.pending);
	ASSERT_EQ(0, st.read);

	/* Room for one record and a half before the hole. */
	ASSERT_EQ((ssize_t)REC_SIZE,
		  read(self->qfd, end - REC_SIZE - REC_SIZE / 2, 2 * REC_SIZE));
	memcpy(&r[0], end - REC_SIZE - REC_SIZE / 2, REC_SIZE);
	ASSERT_EQ(FQ_IOVA + 0x1000, r[0].fault.addr);
	ASSERT_TRUE(r[0].flags & NESTIOMMU_RECORD_F_OVERFLOW);
	ASSERT_EQ(1, r[0].dropped);
	st = fqlock_stats(self);
	ASSERT_EQ(1, st.pending);
	ASSERT_EQ(1, st.read);

	ASSERT_EQ((ssize_t)REC_SIZE, read(self->qfd, r, sizeof(r)));
	ASSERT_EQ(FQ_IOVA + 0x2000, r[0].fault.addr);
	ASSERT_FALSE(r[0].flags & NESTIOMMU_RECORD_F_OVERFLOW);
	st = fqlock_stats(self);
	ASSERT_EQ(0, st.pending);
	ASSERT_EQ(2, st.read);
	ASSERT_EQ(1, st.dropped);
}

/* ---- HWPT_INVALIDATE ---- */

#define IOTLB		NESTIOMMU_INV_CACHE_IOTLB
#define G_DOMAIN	NESTIOMMU_INV_GRANU_DOMAIN
#define G_ADDR		NESTIOMMU_INV_GRANU_ADDR
#define INV_STALE_IOVA	(ENV_IOVA + SZ_2M)
#define INV_OLD_GPA	(DATA_GPA + 16 * SZ_4K)
#define INV_NEW_GPA	(DATA_GPA + 17 * SZ_4K)

/* Only there so that SIGUSR1 interrupts instead of killing. */
static void sigusr1_handler(int sig)
{
	(void)sig;
}

struct inv_call {
	struct nest_env *e;
	const void *entries;
	__u32 num;
	long rc;
};

static void *inv_thread(void *p)
{
	struct inv_call *c = p;

	c->rc = nest_hwpt_invalidate(c->e->fd, c->e->nested_id, c->entries,
				     sizeof(struct nestiommu_inv_entry), &c->num);
	return NULL;
}

/*
 * A signal ends a long invalidation with EINTR and the entries handled.
 * The call is held inside its entry array by a missing page; the signal
 * is sent while it waits there, so it is pending when the entry is in.
 */
TEST(inv_signal_ends_with_progress)
{
	const size_t psz = page_size();
	const size_t esz = sizeof(struct nestiommu_inv_entry);
	const __u32 n = 2 * psz / esz;
	const __u32 first_missing = psz / esz;	/* its bytes reach page 2 */
	struct sigaction sa = { .sa_handler = sigusr1_handler };
	struct nestiommu_inv_entry *src, *arr;
	struct uffd_page u;
	struct inv_call c;
	pthread_t t;
	struct nest_env e;
	__u32 i, rest;

	env_setup(&e, NULL);
	ASSERT_EQ(0, sigaction(SIGUSR1, &sa, NULL));	/* no SA_RESTART */
	src = alloc_buffer_4k(2 * psz, psz);
	for (i = 0; i < n; i++)
		src[i] = inv_entry(IOTLB, G_DOMAIN, 0, 0, 0, 0, 0);
	arr = mmap(NULL, 2 * psz, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
		   -1, 0);
	ASSERT_NE(MAP_FAILED, (void *)arr);
	memcpy(arr, src, psz);
	uffd_page_register(&u, (char *)arr + psz, false);

	c = (struct inv_call){ .e = &e, .entries = arr, .num = n };
	ASSERT_EQ(0, pthread_create(&t, NULL, inv_thread, &c));
	uffd_wait_fault(&u);
	ASSERT_EQ(0, pthread_kill(t, SIGUSR1));
	uffd_resolve(&u, (char *)src + psz);
	ASSERT_EQ(0, pthread_join(t, NULL));

	ASSERT_ERR(EINTR, c.rc);
	ASSERT_EQ(first_missing + 1, c.num);
	/* The rest goes in a second call. */
	rest = n - c.num;
	do_hwpt_invalidate(e.fd, e.nested_id, &arr[c.num], rest);
	close(u.uffd);
	munmap(arr, 2 * psz);
	munmap(src, 2 * psz);
	env_teardown(&e);
}

/*
 * 52,428 entries with a 65,536-entry IOTLB: each entry visits what the
 * IOTLB holds of the HWPT, not the IOTLB, so the call completes; only
 * the last entry names the cached page, and it is dropped.
 */
TEST(inv_many_entries_big_iotlb)
{
	const __u32 n = 52428;
	struct nestiommu_inv_entry *inv;
	__u64 *ptep;
	struct nest_env e;
	__u32 i;

	env_setup(&e, NULL);
	do_option_set(e.fd, NESTIOMMU_OPTION_IOTLB_ENTRIES, 0, 65536);
	memset(env_data(&e, INV_OLD_GPA), 0xaa, SZ_4K);
	memset(env_data(&e, INV_NEW_GPA), 0xbb, SZ_4K);
	env_map(&e, INV_STALE_IOVA, INV_OLD_GPA, SZ_4K, S1_RWU);
	ASSERT_EQ(0xaa, env_read_byte(&e, INV_STALE_IOVA));
	ptep = env_pte(&e, INV_STALE_IOVA, 1);
	nest_s1_pte_write(ptep, (nest_s1_pte_read(ptep) & ~NESTIOMMU_S1_PTE_ADDR) |
				INV_NEW_GPA);
	ASSERT_EQ(0xaa, env_read_byte(&e, INV_STALE_IOVA));	/* cached */

	inv = calloc(n, sizeof(*inv));
	ASSERT_NE(NULL, (void *)inv);
	for (i = 0; i < n - 1; i++)
		inv[i] = inv_entry(IOTLB, G_ADDR, NESTIOMMU_INV_F_PASID, ENV_PASID,
				   INV_STALE_IOVA + (i + 1) * SZ_4K, SZ_4K, 1);
	inv[n - 1] = inv_entry(IOTLB, G_ADDR, NESTIOMMU_INV_F_PASID, ENV_PASID,
			       INV_STALE_IOVA, SZ_4K, 1);
	do_hwpt_invalidate(e.fd, e.nested_id, inv, n);
	ASSERT_EQ(0xbb, env_read_byte(&e, INV_STALE_IOVA));
	free(inv);
	env_teardown(&e);
}

/* Nested size fields above NESTIOMMU_STRUCT_SIZE_MAX: E2BIG, nothing read. */
TEST(inv_huge_entry_len_e2big)
{
	const __u32 lens[] = { NESTIOMMU_STRUCT_SIZE_MAX + 1, 0xffffffff };
	struct nest_env e;
	char *zeros;
	__u32 num;
	size_t i;

	env_setup(&e, NULL);
	zeros = alloc_zero_tail();
	*(struct nestiommu_inv_entry *)zeros = inv_entry(IOTLB, G_DOMAIN, 0, 0, 0, 0, 0);
	for (i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		TH_CONTEXT("entry_len 0x%x", lens[i]);
		num = 1;
		ASSERT_ERR(E2BIG, nest_hwpt_invalidate(e.fd, e.nested_id, zeros, lens[i], &num));
	}
	free_zero_tail(zeros);
	env_teardown(&e);
}

TEST(hwpt_alloc_huge_data_len_e2big)
{
	const __u32 lens[] = { NESTIOMMU_STRUCT_SIZE_MAX + 1, 0xffffffff };
	struct nestiommu_hwpt_alloc cmd;
	struct nest_env e;
	char *zeros;
	size_t i;

	env_setup(&e, NULL);
	zeros = alloc_zero_tail();
	memcpy(zeros, &e.desc, sizeof(e.desc));
	for (i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		TH_CONTEXT("data_len 0x%x", lens[i]);
		cmd = (struct nestiommu_hwpt_alloc){
			.size = sizeof(cmd),
			.pt_id = e.parent_id,
			.data_type = NESTIOMMU_HWPT_DATA_S1_X86,
			.data_len = lens[i],
			.data_uptr = NEST_PTR(zeros),
		};
		ASSERT_ERR(E2BIG, nest_ioctl(e.fd, NESTIOMMU_HWPT_ALLOC, &cmd));
	}
	free_zero_tail(zeros);
	env_teardown(&e);
}

/* ---- GET_DIRTY_BITMAP ---- */

/*
 * The whole IOVA space, one bit per GiB, with one small mapping: the cost
 * follows the mapping, not the 2^48 range, and the one bit is right.
 */
TEST(dirty_bitmap_whole_space_one_mapping)
{
	const __u64 iova = 0x7f0040000000ULL;	/* GiB 0x7f0040000000 >> 30 */
	const __u64 nbits = IOVA_LIMIT / SZ_1G;
	struct nest_env_opts o = {
		.parent_flags = NESTIOMMU_HWPT_ALLOC_DIRTY_TRACKING,
		.no_nested = true,
	};
	__u64 *bitmap, i, bit = iova / SZ_1G;
	struct nest_env e;
	char *buf, b = 1;

	env_setup(&e, &o);
	buf = alloc_buffer_4k(SZ_64K, SZ_64K);
	do_ioas_map_fixed(e.fd, e.ioas_id, buf, SZ_64K, iova);
	do_device_attach(e.fd, e.dev_id, 0, 0, e.parent_id);
	do_hwpt_set_dirty_tracking(e.fd, e.parent_id, true);
	do_dma(e.fd, e.dev_id, 0, 0, ACC_W, iova + 0x5000, 1, &b);

	bitmap = calloc(nbits / 64, sizeof(*bitmap));
	ASSERT_NE(NULL, (void *)bitmap);
	do_hwpt_get_dirty_bitmap(e.fd, e.parent_id, 0, 0, IOVA_LIMIT, SZ_1G, bitmap);
	for (i = 0; i < nbits / 64; i++) {
		TH_CONTEXT("word %llu", (unsigned long long)i);
		ASSERT_EQ(i == bit / 64 ? 1ULL << (bit % 64) : 0, bitmap[i]);
	}
	/* Cleared: a second read finds nothing. */
	memset(bitmap, 0, nbits / 8);
	do_hwpt_get_dirty_bitmap(e.fd, e.parent_id, 0, 0, IOVA_LIMIT, SZ_1G, bitmap);
	for (i = 0; i < nbits / 64; i++)
		ASSERT_EQ(0, bitmap[i]);
	free(bitmap);
	env_teardown(&e);
	munmap(buf, SZ_64K);
}
