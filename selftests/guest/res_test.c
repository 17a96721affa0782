// SPDX-License-Identifier: GPL-2.0
/*
 * Selftests of what user space can make nestiommu hold, and of who pays:
 *  - pinned pages are charged to the caller's user against RLIMIT_MEMLOCK,
 *    so children that map into a shared context and exit, or a process
 *    that execs with the fd open, stay within one limit;
 *  - /dev/nestiommu opened O_CLOEXEC and fault queue fds are closed by exec;
 *  - a huge MAP under a small limit fails before the kernel allocates
 *    anything in proportion to its length;
 *  - kernel memory a context makes the driver allocate is charged to the
 *    caller's memory cgroup: a small cgroup gets ENOMEM or its own OOM
 *    kill, not the rest of the system;
 *  - the per-context object limit (NESTIOMMU_MAX_OBJECTS, EMFILE).
 * Runs as root in the test VM; a case that needs an unprivileged caller
 * forks a child that takes a uid of its own (which drops CAP_IPC_LOCK).
 */
#include <grp.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include "nest_helpers.h"

#define CGROUP_ROOT "/sys/fs/cgroup"
/* Environment of one step of the exec chain (see res_exec_step()). */
#define EXEC_ENV "NEST_RES_EXEC"

/* What a child reports through its pipe, one byte per operation. */
#define R_OK_	'o'	/* succeeded */
#define R_ENOMEM 'm'	/* failed with ENOMEM */
#define R_EFAULT 'f'	/* failed with EFAULT */
#define R_OTHER	'x'	/* failed otherwise */
#define R_FD_OPEN 'l'	/* an fd that should be close-on-exec survived exec */

static char result_of(int rc)
{
	if (!rc)
		return R_OK_;
	if (rc == -ENOMEM)
		return R_ENOMEM;
	return rc == -EFAULT ? R_EFAULT : R_OTHER;
}

/*
 * Drop to @uid with an RLIMIT_MEMLOCK of @memlock bytes; a non-zero uid
 * has no capabilities, CAP_IPC_LOCK included. For children only: exits
 * on failure.
 */
static void become_user(uid_t uid, rlim_t memlock)
{
	struct rlimit lim = { .rlim_cur = memlock, .rlim_max = memlock };

	if (setrlimit(RLIMIT_MEMLOCK, &lim) || setgroups(0, NULL) ||
	    setresgid(uid, uid, uid) || setresuid(uid, uid, uid))
		_exit(100);
}

/* @len bytes of populated anonymous memory in a child; exits on failure. */
static void *child_buffer(size_t len)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);

	if (p == MAP_FAILED)
		_exit(101);
	return p;
}

/* Read what children wrote to @rfd until every writer is gone. */
static size_t read_results(int rfd, char *out, size_t max)
{
	size_t n = 0;
	ssize_t r;

	while (n < max && (r = read(rfd, out + n, max - n)) > 0)
		n += r;
	return n;
}

static size_t count_char(const char *s, size_t n, char c)
{
	size_t i, k = 0;

	for (i = 0; i < n; i++)
		k += s[i] == c;
	return k;
}

/* Wait for @pid; return its wait status. */
static int wait_child(pid_t pid)
{
	int status;

	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -1;
	return status;
}

/* ==== RLIMIT_MEMLOCK binds the user, whatever process maps ==== */

#define CHILDREN 16
#define CHILD_MAP SZ_1M
#define CHILD_IOVA(i) (SZ_1G + (__u64)(i) * SZ_2M)

/*
 * As @uid with a CHILD_MAP limit, @n children in turn each MAP CHILD_MAP
 * of their own memory into @ioas_id of the shared @fd and exit; one
 * result byte each goes to @wfd.
 */
static void map_from_children(int fd, __u32 ioas_id, uid_t uid, int n,
			      int wfd)
{
	int i;

	become_user(uid, CHILD_MAP);
	for (i = 0; i < n; i++) {
		pid_t pid = fork();

		if (pid < 0)
			_exit(102);
		if (!pid) {
			void *buf = child_buffer(CHILD_MAP);
			__u64 iova = CHILD_IOVA(i);
			char r;

			r = result_of(nest_ioas_map(fd, ioas_id, MAP_FIXED_RW,
						    NEST_PTR(buf), CHILD_MAP,
						    &iova));
			_exit(write(wfd, &r, 1) == 1 ? 0 : 103);
		}
		if (wait_child(pid) != 0)
			_exit(104);
	}
	_exit(0);
}

/* Run map_from_children() in a child; return how many maps succeeded. */
static int run_map_children(int fd, __u32 ioas_id, uid_t uid, int n,
			    int *enomem)
{
	char res[CHILDREN];
	int p[2], status;
	size_t got;
	pid_t pid;

	if (pipe(p))
		return -1;
	pid = fork();
	if (pid < 0)
		return -1;
	if (!pid) {
		close(p[0]);
		map_from_children(fd, ioas_id, uid, n, p[1]);
	}
	close(p[1]);
	got = read_results(p[0], res, sizeof(res));
	close(p[0]);
	status = wait_child(pid);
	if (status != 0 || got != (size_t)n) {
		TH_LOG("map children: status %#x, %zu results of %d", status, got, n);
		return -1;
	}
	*enomem = count_char(res, got, R_ENOMEM);
	return count_char(res, got, R_OK_);
}

/*
 * Sixteen children of one user, each with a limit of one mapping, map
 * into a shared context and exit: only the first fits, the pins of the
 * dead ones still count. Unmapping (by root, another process and user)
 * gives the user its allowance back.
 */
TEST(memlock_user_forked_children)
{
	const uid_t uid = 60101;
	__u64 pinned = module_pinned_pages();
	int fd = do_open(), enomem;
	__u32 ioas_id;

	do_ioas_alloc(fd, &ioas_id);
	ASSERT_EQ(1, run_map_children(fd, ioas_id, uid, CHILDREN, &enomem));
	ASSERT_EQ(CHILDREN - 1, enomem);
	ASSERT_EQ(pinned + CHILD_MAP / page_size(), module_pinned_pages());

	do_ioas_unmap(fd, ioas_id, 0, UINT64_MAX, CHILD_MAP);
	ASSERT_EQ(pinned, module_pinned_pages());
	ASSERT_EQ(1, run_map_children(fd, ioas_id, uid, 1, &enomem));
	ASSERT_EQ(0, enomem);
	ASSERT_EQ(0, close(fd));
	ASSERT_EQ(pinned, module_pinned_pages());
}

/*
 * One step of the exec chain, run before main() when EXEC_ENV is set:
 * "FD IOAS STEP STEPS WFD CLOEXEC_FD QFD". MAP CHILD_MAP at CHILD_IOVA(STEP)
 * through the inherited FD, report it and whether the close-on-exec fds
 * are gone, then exec the next step (a new mm each time) or exit.
 */
__attribute__((constructor)) static void res_exec_step(void)
{
	int fd, step, steps, wfd, cloexec_fd, qfd;
	const char *env = getenv(EXEC_ENV);
	char next[128], r;
	__u32 ioas_id;
	__u64 iova;
	void *buf;

	if (!env)
		return;
	if (sscanf(env, "%d %u %d %d %d %d %d", &fd, &ioas_id, &step, &steps,
		   &wfd, &cloexec_fd, &qfd) != 7)
		_exit(110);
	if (fcntl(cloexec_fd, F_GETFD) >= 0 || fcntl(qfd, F_GETFD) >= 0) {
		r = R_FD_OPEN;
		if (write(wfd, &r, 1) != 1)
			_exit(111);
	}
	buf = child_buffer(CHILD_MAP);
	iova = CHILD_IOVA(step);
	r = result_of(nest_ioas_map(fd, ioas_id, MAP_FIXED_RW, NEST_PTR(buf),
				    CHILD_MAP, &iova));
	if (write(wfd, &r, 1) != 1)
		_exit(112);
	if (step + 1 == steps)
		_exit(0);
	snprintf(next, sizeof(next), "%d %u %d %d %d %d %d", fd, ioas_id,
		 step + 1, steps, wfd, cloexec_fd, qfd);
	setenv(EXEC_ENV, next, 1);
	execl("/proc/self/exe", "res_test", (char *)NULL);
	_exit(113);
}

/*
 * A process of one user that keeps execing with the context's fd open
 * (without O_CLOEXEC): each image has a new mm, but the limit still binds
 * what the user pins. The other /dev/nestiommu fd (O_CLOEXEC) and the
 * fault queue's fd do not survive the first exec.
 */
TEST(memlock_user_exec_chain)
{
	const uid_t uid = 60102;
	__u64 pinned = module_pinned_pages();
	int fd, cloexec_fd, qfd, p[2], status;
	char res[2 * CHILDREN], env[128];
	__u32 ioas_id, q_id;
	size_t got;
	pid_t pid;

	fd = open(NEST_DEV_PATH, O_RDWR);
	ASSERT_GE(fd, 0);
	ASSERT_EQ(0, fcntl(fd, F_GETFD) & FD_CLOEXEC);
	cloexec_fd = open(NEST_DEV_PATH, O_RDWR | O_CLOEXEC);
	ASSERT_GE(cloexec_fd, 0);
	ASSERT_EQ(FD_CLOEXEC, fcntl(cloexec_fd, F_GETFD) & FD_CLOEXEC);
	ASSERT_OK(nest_fault_queue_alloc(cloexec_fd, 0, &q_id, &qfd));
	ASSERT_EQ(FD_CLOEXEC, fcntl(qfd, F_GETFD) & FD_CLOEXEC);
	do_ioas_alloc(fd, &ioas_id);
	ASSERT_EQ(0, pipe(p));

	pid = fork();
	ASSERT_GE(pid, 0);
	if (!pid) {
		close(p[0]);
		become_user(uid, CHILD_MAP);
		snprintf(env, sizeof(env), "%d %u 0 %d %d %d %d", fd, ioas_id,
			 CHILDREN, p[1], cloexec_fd, qfd);
		setenv(EXEC_ENV, env, 1);
		execl("/proc/self/exe", "res_test", (char *)NULL);
		_exit(120);
	}
	close(p[1]);
	got = read_results(p[0], res, sizeof(res));
	close(p[0]);
	status = wait_child(pid);
	ASSERT_EQ(0, status);
	ASSERT_EQ(CHILDREN, got);
	ASSERT_EQ(0, count_char(res, got, R_FD_OPEN));
	ASSERT_EQ(R_OK_, res[0]);
	ASSERT_EQ(CHILDREN - 1, count_char(res, got, R_ENOMEM));
	ASSERT_EQ(pinned + CHILD_MAP / page_size(), module_pinned_pages());
	ASSERT_EQ(0, close(fd));
	ASSERT_EQ(pinned, module_pinned_pages());
	close(qfd);
	close(cloexec_fd);
}

/* ==== memory cgroups ==== */

/* Mount cgroup2 and enable the memory controller; skip without memcg. */
static void cgroup_prepare(void)
{
	char ctl[256] = "";
	ssize_t n;
	int f;

	if (access(CGROUP_ROOT "/cgroup.controllers", F_OK))
		ASSERT_EQ(0, mount("cgroup2", CGROUP_ROOT, "cgroup2", 0, NULL));
	f = open(CGROUP_ROOT "/cgroup.controllers", O_RDONLY);
	ASSERT_GE(f, 0);
	n = read(f, ctl, sizeof(ctl) - 1);
	close(f);
	ASSERT_GT(n, 0);
	if (!strstr(ctl, "memory"))
		SKIP("the guest kernel has no memory cgroup controller");
	f = open(CGROUP_ROOT "/cgroup.subtree_control", O_WRONLY);
	ASSERT_GE(f, 0);
	ASSERT_EQ(7, write(f, "+memory", 7));
	close(f);
}

static int cg_write(const char *cg, const char *file, const char *val)
{
	char path[256];
	int f, rc;

	snprintf(path, sizeof(path), "%s/%s", cg, file);
	f = open(path, O_WRONLY);
	if (f < 0)
		return -errno;
	rc = write(f, val, strlen(val)) == (ssize_t)strlen(val) ? 0 : -errno;
	close(f);
	return rc;
}

/* The value of @key in @file of @cg (@key NULL: the file is one number). */
static long long cg_read(const char *cg, const char *file, const char *key)
{
	char path[256], name[64];
	long long val = -1, v;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", cg, file);
	f = fopen(path, "r");
	if (!f)
		return -1;
	if (!key) {
		if (fscanf(f, "%lld", &val) != 1)
			val = -1;
	} else {
		while (fscanf(f, "%63s %lld", name, &v) == 2)
			if (!strcmp(name, key))
				val = v;
	}
	fclose(f);
	return val;
}

FIXTURE(memcg) {
	char cg[128];
	int p[2];
};

FIXTURE_SETUP(memcg)
{
	cgroup_prepare();
	snprintf(self->cg, sizeof(self->cg), CGROUP_ROOT "/nest_res_%d", getpid());
	ASSERT_EQ(0, mkdir(self->cg, 0755));
	ASSERT_EQ(0, pipe(self->p));
}

FIXTURE_TEARDOWN(memcg)
{
	rmdir(self->cg);
}

/*
 * Run @fn in a child inside the fixture's cgroup, with memory.max @max
 * (NULL: no limit) and no swap. @fn reports one byte per operation to its
 * argument; returns the child's wait status and the bytes in @res.
 */
static int memcg_run(FIXTURE_DATA(memcg) *self, const char *max,
		     void (*fn)(int wfd, void *arg), void *arg, char *res,
		     size_t *n, size_t res_max)
{
	pid_t pid;

	if (max && cg_write(self->cg, "memory.max", max))
		return -1;
	/* Only with swap accounting; the guest has no swap anyway. */
	if (max)
		cg_write(self->cg, "memory.swap.max", "0");
	pid = fork();
	if (pid < 0)
		return -1;
	if (!pid) {
		close(self->p[0]);
		if (cg_write(self->cg, "cgroup.procs", "0"))
			_exit(130);
		fn(self->p[1], arg);
		_exit(0);
	}
	close(self->p[1]);
	*n = read_results(self->p[0], res, res_max);
	close(self->p[0]);
	return wait_child(pid);
}

/* ---- a huge MAP under a small limit ---- */

/* 384 GiB: a page array of 768 MiB if allocated up front. */
#define HUGE_MAP_LEN (384 * SZ_1G)
#define HUGE_MAP_PEAK_MAX (32 * SZ_1M)

struct huge_map {
	bool unprivileged;
};

static void huge_map_child(int wfd, void *arg)
{
	struct huge_map *hm = arg;
	/* Above the MSI window: 384 GiB do not fit below it. */
	__u64 iova = 1024 * SZ_1G;
	int fd = nest_open();
	__u32 ioas_id;
	void *va;
	char r;

	if (fd < 0 || nest_ioas_alloc(fd, &ioas_id))
		_exit(140);
	/* Address space only: nothing there can be pinned. */
	va = mmap(NULL, HUGE_MAP_LEN, PROT_NONE,
		  MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (va == MAP_FAILED)
		_exit(141);
	if (hm->unprivileged)
		become_user(60103, SZ_64K);
	r = result_of(nest_ioas_map(fd, ioas_id, MAP_FIXED_RW, NEST_PTR(va),
				    HUGE_MAP_LEN, &iova));
	_exit(write(wfd, &r, 1) == 1 ? 0 : 142);
}

/*
 * Unprivileged with a 64 KiB limit: ENOMEM before anything is allocated.
 * Privileged (CAP_IPC_LOCK): EFAULT at the first page, having allocated
 * for what it pinned only. Either way the cgroup's memory.peak stays far
 * below the 768 MiB an up-front page array of 384 GiB takes.
 */
/* The huge MAP in the cgroup ends with @want, and memory.peak stays low. */
#define check_huge_map(self, _unprivileged, want) do {			\
	struct huge_map __hm = { .unprivileged = _unprivileged };	\
	long long __peak;						\
	size_t __n;							\
	char __r;							\
									\
	ASSERT_EQ(0, memcg_run(self, NULL, huge_map_child, &__hm, &__r, &__n, 1)); \
	ASSERT_EQ(1, __n);						\
	ASSERT_EQ(want, __r);						\
	__peak = cg_read((self)->cg, "memory.peak", NULL);		\
	TH_LOG("memory.peak %lld", __peak);				\
	ASSERT_GE(__peak, 0);						\
	ASSERT_LT(__peak, HUGE_MAP_PEAK_MAX);				\
} while (0)

TEST_F(memcg, huge_map_unprivileged_small_limit)
{
	check_huge_map(self, true, R_ENOMEM);
}

TEST_F(memcg, huge_map_privileged_unbacked)
{
	/* Root may pin that much, but nothing is there to pin. */
	check_huge_map(self, false, R_EFAULT);
}

/* ---- kernel memory charged to the caller's cgroup ---- */

/* The limit of the cgroup and how far past it each child tries to go. */
#define MEMCG_MAX "32M"
#define MEMCG_TRIES 64

/* Fault queues of the largest depth (5.6 MiB each). */
static void grow_fault_queues(int wfd, void *arg __attribute__((unused)))
{
	int fd = nest_open(), i, qfd;
	__u32 q_id;
	char r;

	if (fd < 0)
		_exit(150);
	for (i = 0; i < MEMCG_TRIES; i++) {
		r = result_of(nest_fault_queue_alloc(fd, NESTIOMMU_FAULT_QUEUE_MAX_DEPTH,
						     &q_id, &qfd));
		if (write(wfd, &r, 1) != 1 || r != R_OK_)
			break;
	}
}

/* Contexts with the largest IOTLB (5.6 MiB each). */
static void grow_iotlbs(int wfd, void *arg __attribute__((unused)))
{
	int i, fd;
	char r;

	for (i = 0; i < MEMCG_TRIES; i++) {
		fd = nest_open();
		r = fd < 0 ? result_of(fd) :
			     result_of(nest_option_set(fd, NESTIOMMU_OPTION_IOTLB_ENTRIES,
						       0, NESTIOMMU_IOTLB_MAX_ENTRIES));
		if (write(wfd, &r, 1) != 1 || r != R_OK_)
			break;
	}
}

/* ATS devices with the largest device TLB (352 KiB each). */
static void grow_devtlbs(int wfd, void *arg __attribute__((unused)))
{
	int fd = nest_open(), i, rc;
	__u32 dev_id;
	char r;

	if (fd < 0)
		_exit(150);
	for (i = 0; i < 16 * MEMCG_TRIES; i++) {
		rc = nest_device_create(fd, NESTIOMMU_DEVICE_ATS, i, 0, &dev_id);
		if (!rc)
			rc = nest_option_set(fd, NESTIOMMU_OPTION_DEVTLB_ENTRIES,
					     dev_id, NESTIOMMU_DEVTLB_MAX_ENTRIES);
		r = result_of(rc);
		if (write(wfd, &r, 1) != 1 || r != R_OK_)
			break;
	}
}

/*
 * The child either saw ENOMEM (and nothing else fail) or was killed by
 * its own cgroup's OOM killer, before it got all it asked for.
 */
static void check_memcg_bounded(FIXTURE_DATA(memcg) *self, int status,
				const char *res, size_t n, size_t tries)
{
	long long kills = cg_read(self->cg, "memory.events", "oom_kill");

	TH_LOG("status %#x, %zu of %zu done, oom_kill %lld, memory.peak %lld",
	       status, count_char(res, n, R_OK_), tries, kills,
	       cg_read(self->cg, "memory.peak", NULL));
	ASSERT_EQ(0, count_char(res, n, R_OTHER));
	ASSERT_LT(count_char(res, n, R_OK_), tries);
	if (WIFSIGNALED(status)) {
		ASSERT_EQ(SIGKILL, WTERMSIG(status));
		ASSERT_GE(kills, 1);
	} else {
		ASSERT_EQ(0, status);
		ASSERT_EQ(1, count_char(res, n, R_ENOMEM));
	}
}

TEST_F(memcg, fault_queues_charged)
{
	char res[MEMCG_TRIES];
	size_t n = 0;
	int status;

	status = memcg_run(self, MEMCG_MAX, grow_fault_queues, NULL, res, &n,
			   sizeof(res));
	check_memcg_bounded(self, status, res, n, MEMCG_TRIES);
}

TEST_F(memcg, iotlbs_charged)
{
	char res[MEMCG_TRIES];
	size_t n = 0;
	int status;

	status = memcg_run(self, MEMCG_MAX, grow_iotlbs, NULL, res, &n,
			   sizeof(res));
	check_memcg_bounded(self, status, res, n, MEMCG_TRIES);
}

TEST_F(memcg, device_tlbs_charged)
{
	char res[16 * MEMCG_TRIES];
	size_t n = 0;
	int status;

	status = memcg_run(self, MEMCG_MAX, grow_devtlbs, NULL, res, &n,
			   sizeof(res));
	check_memcg_bounded(self, status, res, n, 16 * MEMCG_TRIES);
}

/* ==== the per-context object limit ==== */

/*
 * NESTIOMMU_MAX_OBJECTS objects fit in a context, of any type; the next
 * one fails with EMFILE whatever its type, until one is destroyed.
 * Another context has its own limit.
 */
TEST_TIMEOUT(object_limit_per_context, 600)
{
	int fd = do_open(), fd2, qfd;
	__u32 id, first = 0, last = 0;
	__u64 n;

	for (n = 0; n < NESTIOMMU_MAX_OBJECTS; n++) {
		TH_CONTEXT("object %llu", (unsigned long long)n);
		do_ioas_alloc(fd, &id);
		if (!n)
			first = id;
		last = id;
	}
	ASSERT_EQ(1, first);
	ASSERT_EQ(NESTIOMMU_MAX_OBJECTS, last);
	ASSERT_ERR(EMFILE, nest_ioas_alloc(fd, &id));
	ASSERT_ERR(EMFILE, nest_device_create(fd, 0, 1, 0, &id));
	ASSERT_ERR(EMFILE, nest_fault_queue_alloc(fd, 0, &id, &qfd));

	fd2 = do_open();
	do_ioas_alloc(fd2, &id);
	ASSERT_EQ(0, close(fd2));

	do_destroy(fd, 1234);
	do_device_create(fd, 0, 1, 0, &id);
	ASSERT_EQ(1234, id);
	ASSERT_ERR(EMFILE, nest_ioas_alloc(fd, &id));
	do_destroy(fd, id);
	do_ioas_alloc(fd, &id);
	ASSERT_EQ(1234, id);
	ASSERT_EQ(0, close(fd));
}

TEST_HARNESS_MAIN
