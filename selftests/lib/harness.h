/* SPDX-License-Identifier: GPL-2.0 */
/*
 * harness.h - a small KTAP test harness for nestiommu's C tests: the in-guest
 * selftests (selftests/guest) and the host unit tests of kernel/core
 * (selftests/host).
 *
 * Tests:
 *
 *	TEST(name) { ... }
 *
 *	FIXTURE(f) { int fd; };                  the per-test state, "self"
 *	FIXTURE_VARIANT(f) { size_t len; };      optional: parameters
 *	FIXTURE_VARIANT_ADD(f, small) { .len = 4096 };
 *	FIXTURE_SETUP(f) { self->fd = ...; }     may use variant (NULL if none)
 *	FIXTURE_TEARDOWN(f) { close(self->fd); }
 *	TEST_F(f, name) { ... self ... variant ... }
 *	TEST_F_TIMEOUT(f, name, seconds) { ... }
 *
 * A fixture test runs once per variant (once if the fixture has none) and is
 * named "f.variant.name" ("f.name" without variants). Every case runs in its
 * own forked child, in its own process group: a crash, a hang (killed after
 * its timeout, default HARNESS_DEFAULT_TIMEOUT seconds) or a failed
 * assertion ends that case only, and no state leaks into the next one.
 * A child that ends without reporting a result counts as failed.
 *
 * Checks: ASSERT_x ends the case at once (FIXTURE_TEARDOWN still runs if
 * FIXTURE_SETUP completed); EXPECT_x records the failure and continues.
 *	_EQ _NE _LT _LE _GT _GE (expected, seen)   integers or pointers, each
 *		evaluated once, compared by value whatever their signedness
 *	_TRUE _FALSE (cond)
 *	_OK (rc), _ERR (errno, rc)   for calls returning 0 or -errno
 *	SKIP(fmt, ...)   end the case as skipped
 *	TH_LOG(fmt, ...) print a "# " diagnostic line
 *	TH_CONTEXT(fmt, ...) say what the case is doing (e.g. which loop
 *		iteration); printed only along with a failure
 * ASSERT_x in a thread other than the test's own ends the whole case at
 * once (the child exits as failed, without teardown).
 *
 * Output is KTAP version 1 on stdout. Options: --list (print the case names,
 * run nothing), -t NAME (run only NAME; repeatable), --kmsg (log each case's
 * start to /dev/kmsg), -h. Exit status: 0 if no case failed, 1 if one did,
 * 2 on a usage error.
 *
 * A test binary may add options of its own, each taking one argument; they
 * are parsed before any case runs and appear in -h:
 *
 *	static uint64_t seed = 1;
 *	HARNESS_OPTION(seed, "--seed", "N", "random seed (default 1)")
 *	{
 *		return harness_parse_u64(arg, &seed);	0, or -1: bad value
 *	}
 *
 * Built with AddressSanitizer (LeakSanitizer), a case that passes is also
 * checked for leaks in its child before it counts as passed.
 *
 * Include this header in every file of a test binary; expand
 * TEST_HARNESS_MAIN in exactly one of them.
 */
#ifndef NESTIOMMU_HARNESS_H
#define NESTIOMMU_HARNESS_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define HARNESS_DEFAULT_TIMEOUT 60

#ifdef __FILE_NAME__
#define __HARNESS_FILE __FILE_NAME__
#else
#define __HARNESS_FILE __FILE__
#endif

/* One FIXTURE_VARIANT_ADD. */
struct harness_variant {
	const char *name;
	const void *data;
	struct harness_variant *next;
};

/* One FIXTURE, with its variants in definition order. */
struct harness_fixture {
	const char *name;
	struct harness_variant *variants;
};

/* One TEST or TEST_F; run() executes setup, body and teardown. */
struct harness_test {
	const char *name;
	struct harness_fixture *fixture;	/* NULL for TEST() */
	void (*run)(void);
	unsigned int timeout;			/* seconds */
	struct harness_test *next;
};

/* Result a case's child leaves in memory shared with the parent. */
enum harness_status {
	HARNESS_UNSET = 0,	/* the default: the child died before reporting */
	HARNESS_PASS,
	HARNESS_FAIL,
	HARNESS_SKIP,
};

struct harness_result {
	enum harness_status status;
	char skip_reason[256];
};

/* State of the case running in this (child) process. */
struct harness_current {
	const struct harness_variant *variant;
	struct harness_result *result;
	pid_t tid;		/* the test's own thread */
	bool failed;
	bool skipped;
	bool setup_done;
	char context[256];	/* TH_CONTEXT(): printed with failures */
	jmp_buf env;
};

/* One HARNESS_OPTION: "NAME ARG" on the command line. */
struct harness_option {
	const char *name;		/* e.g. "--seed" */
	const char *arg;		/* the argument in the usage text: "N" */
	const char *help;
	int (*parse)(const char *arg);	/* 0, or -1 for a bad value */
	struct harness_option *next;
};

/* Shared by every file of a test binary (weak: one copy after linking). */
__attribute__((weak)) struct harness_test *harness_tests;
__attribute__((weak)) struct harness_current harness_current;
__attribute__((weak)) struct harness_option *harness_options;

/* LeakSanitizer's, when linked in (-fsanitize=address); NULL otherwise. */
extern int __lsan_do_recoverable_leak_check(void) __attribute__((weak));

static inline void harness_register_test(struct harness_test *t)
{
	struct harness_test **p = &harness_tests;

	while (*p)
		p = &(*p)->next;
	*p = t;
}

static inline void harness_register_option(struct harness_option *o)
{
	struct harness_option **p = &harness_options;

	while (*p)
		p = &(*p)->next;
	*p = o;
}

static inline void harness_register_variant(struct harness_fixture *f,
					    struct harness_variant *v)
{
	struct harness_variant **p = &f->variants;

	while (*p)
		p = &(*p)->next;
	*p = v;
}

/* ---- defining tests ---------------------------------------------------- */

#define FIXTURE_DATA(f)		struct _harness_data_##f
#define FIXTURE_VARIANT(f)	struct _harness_variant_##f

#define FIXTURE(f)							\
	FIXTURE_VARIANT(f);						\
	static struct harness_fixture _harness_fixture_##f = { .name = #f }; \
	FIXTURE_DATA(f)

#define FIXTURE_VARIANT_ADD(f, v)					\
	static const FIXTURE_VARIANT(f) _harness_vdata_##f##_##v;	\
	static struct harness_variant _harness_variant_##f##_##v = {	\
		.name = #v,						\
		.data = &_harness_vdata_##f##_##v,			\
	};								\
	static void __attribute__((constructor))			\
	_harness_register_##f##_##v(void)				\
	{								\
		harness_register_variant(&_harness_fixture_##f,		\
					 &_harness_variant_##f##_##v);	\
	}								\
	static const FIXTURE_VARIANT(f) _harness_vdata_##f##_##v =

#define FIXTURE_SETUP(f)						\
	static void _harness_setup_##f(					\
		FIXTURE_DATA(f) *self __attribute__((unused)),		\
		const FIXTURE_VARIANT(f) *variant __attribute__((unused)))

#define FIXTURE_TEARDOWN(f)						\
	static void _harness_teardown_##f(				\
		FIXTURE_DATA(f) *self __attribute__((unused)),		\
		const FIXTURE_VARIANT(f) *variant __attribute__((unused)))

#define __HARNESS_REGISTER(id, tname, fixture_ptr, seconds)		\
	static struct harness_test _harness_test_##id = {		\
		.name = tname,						\
		.fixture = fixture_ptr,					\
		.run = _harness_run_##id,				\
		.timeout = seconds,					\
	};								\
	static void __attribute__((constructor))			\
	_harness_register_##id(void)					\
	{								\
		harness_register_test(&_harness_test_##id);		\
	}

#define TEST_TIMEOUT(name, seconds)					\
	static void _harness_body_##name(void);				\
	static void _harness_run_##name(void)				\
	{								\
		if (setjmp(harness_current.env) == 0)			\
			_harness_body_##name();				\
	}								\
	__HARNESS_REGISTER(name, #name, NULL, seconds)			\
	static void _harness_body_##name(void)

#define TEST(name) TEST_TIMEOUT(name, HARNESS_DEFAULT_TIMEOUT)

/* An option of the test binary; the body parses arg (see the top). */
#define HARNESS_OPTION(id, optname, argname, helptext)			\
	static int _harness_opt_parse_##id(const char *arg);		\
	static struct harness_option _harness_opt_##id = {		\
		.name = optname,					\
		.arg = argname,						\
		.help = helptext,					\
		.parse = _harness_opt_parse_##id,			\
	};								\
	static void __attribute__((constructor))			\
	_harness_register_opt_##id(void)				\
	{								\
		harness_register_option(&_harness_opt_##id);		\
	}								\
	static int _harness_opt_parse_##id(const char *arg)

/* A whole decimal, 0x hex or 0 octal number. Return: 0, or -1 if not one. */
static inline int harness_parse_u64(const char *arg, uint64_t *val)
{
	unsigned long long v;
	char *end;

	if (!*arg || *arg == '-')
		return -1;
	errno = 0;
	v = strtoull(arg, &end, 0);
	if (errno || *end)
		return -1;
	*val = v;
	return 0;
}

/*
 * self is static: each case runs in a fresh child, and static storage keeps
 * it valid across the longjmp() of a failed ASSERT.
 */
#define TEST_F_TIMEOUT(f, name, seconds)				\
	static void _harness_body_##f##_##name(				\
		FIXTURE_DATA(f) *self,					\
		const FIXTURE_VARIANT(f) *variant);			\
	static void _harness_run_##f##_##name(void)			\
	{								\
		static FIXTURE_DATA(f) self;				\
		const FIXTURE_VARIANT(f) *variant =			\
			harness_current.variant ?			\
			harness_current.variant->data : NULL;		\
									\
		if (setjmp(harness_current.env) == 0) {			\
			_harness_setup_##f(&self, variant);		\
			harness_current.setup_done = true;		\
			_harness_body_##f##_##name(&self, variant);	\
		}							\
		if (harness_current.setup_done) {			\
			harness_current.setup_done = false;		\
			if (setjmp(harness_current.env) == 0)		\
				_harness_teardown_##f(&self, variant);	\
		}							\
	}								\
	__HARNESS_REGISTER(f##_##name, #name, &_harness_fixture_##f, seconds) \
	static void _harness_body_##f##_##name(				\
		FIXTURE_DATA(f) *self __attribute__((unused)),		\
		const FIXTURE_VARIANT(f) *variant __attribute__((unused)))

#define TEST_F(f, name) TEST_F_TIMEOUT(f, name, HARNESS_DEFAULT_TIMEOUT)

/* ---- checks --------------------------------------------------------------- */

#define TH_LOG(fmt, ...) harness_diag("%s:%d: " fmt, __HARNESS_FILE, __LINE__, ##__VA_ARGS__)

static inline void __attribute__((format(printf, 1, 2)))
harness_diag(const char *fmt, ...)
{
	char line[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	/* One write per line, so lines from threads never interleave. */
	printf("# %s\n", line);
	fflush(stdout);
}

/* End the case now: back to the runner, or out of the process from a thread. */
static inline void __attribute__((noreturn)) harness_abort(void)
{
	if ((pid_t)syscall(SYS_gettid) != harness_current.tid) {
		harness_diag("assertion failed in a thread: ending the test");
		fflush(stdout);
		_exit(1);
	}
	longjmp(harness_current.env, 1);
}

#define TH_CONTEXT(fmt, ...)						\
	snprintf(harness_current.context, sizeof(harness_current.context), \
		 fmt, ##__VA_ARGS__)

static inline void harness_failed(bool is_assert)
{
	if (harness_current.context[0])
		harness_diag("    while: %s", harness_current.context);
	harness_current.failed = true;
	if (is_assert)
		harness_abort();
}

#define SKIP(fmt, ...) harness_skip(fmt, ##__VA_ARGS__)

static inline void __attribute__((noreturn, format(printf, 1, 2)))
harness_skip(const char *fmt, ...)
{
	va_list ap;

	harness_current.skipped = true;
	va_start(ap, fmt);
	vsnprintf(harness_current.result->skip_reason,
		  sizeof(harness_current.result->skip_reason), fmt, ap);
	va_end(ap);
	harness_abort();
}

/* An integer or pointer value, remembering whether its type was signed. */
struct harness_val {
	bool is_signed;
	uintmax_t v;
};

#define __harness_is_signed(x)						\
	_Generic((x), signed char: true, short: true, int: true,	\
		 long: true, long long: true, char: CHAR_MIN < 0,	\
		 default: false)

/* Compare by mathematical value: -1 < 0U, unlike C's usual conversions. */
static inline int harness_cmp(struct harness_val a, struct harness_val b)
{
	bool a_neg = a.is_signed && (intmax_t)a.v < 0;
	bool b_neg = b.is_signed && (intmax_t)b.v < 0;

	if (a_neg != b_neg)
		return a_neg ? -1 : 1;
	if (a_neg)
		return ((intmax_t)a.v > (intmax_t)b.v) - ((intmax_t)a.v < (intmax_t)b.v);
	return (a.v > b.v) - (a.v < b.v);
}

static inline void harness_format(char *buf, size_t len, struct harness_val x)
{
	if (x.is_signed)
		snprintf(buf, len, "%jd", (intmax_t)x.v);
	else if (x.v > 9)
		snprintf(buf, len, "%ju (0x%jx)", x.v, x.v);
	else
		snprintf(buf, len, "%ju", x.v);
}

static inline void harness_fail_cmp(const char *file, int line, const char *what,
				    const char *a_expr, struct harness_val a,
				    const char *b_expr, struct harness_val b,
				    bool is_assert)
{
	char as[64], bs[64];

	harness_format(as, sizeof(as), a);
	harness_format(bs, sizeof(bs), b);
	harness_diag("%s:%d: %s(%s, %s) failed", file, line, what, a_expr, b_expr);
	harness_diag("    %s = %s", a_expr, as);
	harness_diag("    %s = %s", b_expr, bs);
	harness_failed(is_assert);
}

#define __HARNESS_CMP(what, a_str, b_str, a, b, op, is_assert) do {			\
	__typeof__(a) __h_a = (a);					\
	__typeof__(b) __h_b = (b);					\
	struct harness_val __h_va = { __harness_is_signed(__h_a), (uintmax_t)__h_a }; \
	struct harness_val __h_vb = { __harness_is_signed(__h_b), (uintmax_t)__h_b }; \
									\
	if (!(harness_cmp(__h_va, __h_vb) op 0))			\
		harness_fail_cmp(__HARNESS_FILE, __LINE__, what, a_str, __h_va, \
				 b_str, __h_vb, is_assert);		\
} while (0)

#define __HARNESS_BOOL(what, cond_str, cond, want, is_assert) do {	\
	if ((bool)(cond) != (want)) {					\
		harness_diag("%s:%d: %s(%s) failed", __HARNESS_FILE, __LINE__, \
			     what, cond_str);				\
		harness_failed(is_assert);				\
	}								\
} while (0)

/* "0", "-ENOENT" or the number. */
static inline const char *harness_rc_name(char *buf, size_t len, long rc)
{
	const char *name = rc < 0 && rc > -4096 ? strerrorname_np((int)-rc) : NULL;

	if (name)
		snprintf(buf, len, "-%s", name);
	else
		snprintf(buf, len, "%ld", rc);
	return buf;
}

#define __HARNESS_RC(what, rc_str, want, rc, is_assert) do {			\
	long __h_want = (want);						\
	long __h_rc = (rc);						\
									\
	if (__h_rc != __h_want) {					\
		char __h_ws[32], __h_rs[32];				\
									\
		harness_diag("%s:%d: %s: %s: expected %s, got %s",	\
			     __HARNESS_FILE, __LINE__, what, rc_str,		\
			     harness_rc_name(__h_ws, sizeof(__h_ws), __h_want), \
			     harness_rc_name(__h_rs, sizeof(__h_rs), __h_rc)); \
		harness_failed(is_assert);				\
	}								\
} while (0)

#define ASSERT_EQ(expected, seen) __HARNESS_CMP("ASSERT_EQ", #expected, #seen, expected, seen, ==, true)
#define ASSERT_NE(expected, seen) __HARNESS_CMP("ASSERT_NE", #expected, #seen, expected, seen, !=, true)
#define ASSERT_LT(expected, seen) __HARNESS_CMP("ASSERT_LT", #expected, #seen, expected, seen, <, true)
#define ASSERT_LE(expected, seen) __HARNESS_CMP("ASSERT_LE", #expected, #seen, expected, seen, <=, true)
#define ASSERT_GT(expected, seen) __HARNESS_CMP("ASSERT_GT", #expected, #seen, expected, seen, >, true)
#define ASSERT_GE(expected, seen) __HARNESS_CMP("ASSERT_GE", #expected, #seen, expected, seen, >=, true)
#define ASSERT_TRUE(cond) __HARNESS_BOOL("ASSERT_TRUE", #cond, cond, true, true)
#define ASSERT_FALSE(cond) __HARNESS_BOOL("ASSERT_FALSE", #cond, cond, false, true)
#define ASSERT_OK(rc) __HARNESS_RC("ASSERT_OK", #rc, 0, rc, true)
#define ASSERT_ERR(err, rc) __HARNESS_RC("ASSERT_ERR", #rc, -(long)(err), rc, true)

#define EXPECT_EQ(expected, seen) __HARNESS_CMP("EXPECT_EQ", #expected, #seen, expected, seen, ==, false)
#define EXPECT_NE(expected, seen) __HARNESS_CMP("EXPECT_NE", #expected, #seen, expected, seen, !=, false)
#define EXPECT_LT(expected, seen) __HARNESS_CMP("EXPECT_LT", #expected, #seen, expected, seen, <, false)
#define EXPECT_LE(expected, seen) __HARNESS_CMP("EXPECT_LE", #expected, #seen, expected, seen, <=, false)
#define EXPECT_GT(expected, seen) __HARNESS_CMP("EXPECT_GT", #expected, #seen, expected, seen, >, false)
#define EXPECT_GE(expected, seen) __HARNESS_CMP("EXPECT_GE", #expected, #seen, expected, seen, >=, false)
#define EXPECT_TRUE(cond) __HARNESS_BOOL("EXPECT_TRUE", #cond, cond, true, false)
#define EXPECT_FALSE(cond) __HARNESS_BOOL("EXPECT_FALSE", #cond, cond, false, false)
#define EXPECT_OK(rc) __HARNESS_RC("EXPECT_OK", #rc, 0, rc, false)
#define EXPECT_ERR(err, rc) __HARNESS_RC("EXPECT_ERR", #rc, -(long)(err), rc, false)

/* ---- the runner ------------------------------------------------------------ */

/* One case: a test, with one variant of its fixture (or none). */
struct harness_case {
	const struct harness_test *test;
	const struct harness_variant *variant;
	char name[256];
	bool selected;
};

static inline struct harness_case *harness_cases(size_t *count)
{
	struct harness_case *cases = NULL;
	const struct harness_test *t;
	size_t n = 0;

	for (t = harness_tests; t; t = t->next) {
		const struct harness_variant *v = t->fixture ? t->fixture->variants : NULL;

		do {
			struct harness_case *c;

			cases = realloc(cases, (n + 1) * sizeof(*cases));
			if (!cases) {
				perror("realloc");
				exit(2);
			}
			c = &cases[n++];
			c->test = t;
			c->variant = v;
			c->selected = true;
			if (!t->fixture)
				snprintf(c->name, sizeof(c->name), "%s", t->name);
			else if (!v)
				snprintf(c->name, sizeof(c->name), "%s.%s",
					 t->fixture->name, t->name);
			else
				snprintf(c->name, sizeof(c->name), "%s.%s.%s",
					 t->fixture->name, v->name, t->name);
		} while (v && (v = v->next));
	}
	*count = n;
	return cases;
}

/* In the child: run the case and record its result. */
static inline void __attribute__((noreturn))
harness_child(const struct harness_case *c, struct harness_result *result)
{
	sigset_t none;

	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	setpgid(0, 0);
	memset(&harness_current, 0, sizeof(harness_current));
	harness_current.variant = c->variant;
	harness_current.result = result;
	harness_current.tid = (pid_t)syscall(SYS_gettid);
	c->test->run();
	if (harness_current.failed)
		result->status = HARNESS_FAIL;
	else if (harness_current.skipped)
		result->status = HARNESS_SKIP;
	else
		result->status = HARNESS_PASS;
	fflush(stdout);
	/* _exit() skips the sanitizer's own check at exit: do it here. */
	if (result->status == HARNESS_PASS && __lsan_do_recoverable_leak_check &&
	    __lsan_do_recoverable_leak_check()) {
		harness_diag("%s: memory leaked (LeakSanitizer report on stderr)",
			     c->name);
		result->status = HARNESS_FAIL;
	}
	fflush(stdout);
	fflush(stderr);
	_exit(0);
}

/*
 * Wait for @pid for at most @timeout seconds (SIGCHLD is blocked by the
 * caller); kill its process group when the time is up.
 * Return: the wait status, and *@timed_out.
 */
static inline int harness_wait(pid_t pid, unsigned int timeout, bool *timed_out)
{
	struct timespec deadline, now, left;
	sigset_t chld;
	int status;

	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	clock_gettime(CLOCK_MONOTONIC, &deadline);
	deadline.tv_sec += timeout;
	*timed_out = false;
	while (waitpid(pid, &status, WNOHANG) == 0) {
		clock_gettime(CLOCK_MONOTONIC, &now);
		left.tv_sec = deadline.tv_sec - now.tv_sec;
		left.tv_nsec = deadline.tv_nsec - now.tv_nsec;
		if (left.tv_nsec < 0) {
			left.tv_nsec += 1000000000L;
			left.tv_sec--;
		}
		if (left.tv_sec < 0) {
			*timed_out = true;
			kill(-pid, SIGKILL);
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			break;
		}
		sigtimedwait(&chld, NULL, &left);
	}
	/* Whatever the case left running in its process group goes too. */
	kill(-pid, SIGKILL);
	return status;
}

/* Run one case in a child; print its KTAP result line. Return its status. */
static inline enum harness_status harness_run_case(const struct harness_case *c,
						   unsigned int number, int kmsg_fd,
						   const char *prog)
{
	struct harness_result *result;
	enum harness_status st;
	bool timed_out;
	int status;
	pid_t pid;

	result = mmap(NULL, sizeof(*result), PROT_READ | PROT_WRITE,
		      MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (result == MAP_FAILED) {
		perror("mmap");
		exit(2);
	}
	memset(result, 0, sizeof(*result));	/* status HARNESS_UNSET */
	if (kmsg_fd >= 0)
		dprintf(kmsg_fd, "%s: start %s\n", prog, c->name);
	fflush(stdout);
	fflush(stderr);
	pid = fork();
	if (pid < 0) {
		perror("fork");
		exit(2);
	}
	if (pid == 0)
		harness_child(c, result);
	setpgid(pid, pid);	/* as the child does: no race on kill(-pid) */

	status = harness_wait(pid, c->test->timeout, &timed_out);
	st = result->status;
	if (timed_out) {
		harness_diag("%s: timeout: still running after %u s, killed",
			     c->name, c->test->timeout);
		st = HARNESS_FAIL;
	} else if (WIFSIGNALED(status)) {
		harness_diag("%s: killed by signal %d (%s)", c->name,
			     WTERMSIG(status), strsignal(WTERMSIG(status)));
		st = HARNESS_FAIL;
	} else if (WEXITSTATUS(status) != 0 || st == HARNESS_UNSET) {
		harness_diag("%s: exited with status %d without reporting a result",
			     c->name, WEXITSTATUS(status));
		st = HARNESS_FAIL;
	}

	if (st == HARNESS_SKIP)
		printf("ok %u %s # SKIP %s\n", number, c->name, result->skip_reason);
	else
		printf("%s %u %s\n", st == HARNESS_PASS ? "ok" : "not ok", number, c->name);
	fflush(stdout);
	munmap(result, sizeof(*result));
	return st;
}

static inline void harness_usage(FILE *f, const char *prog)
{
	const struct harness_option *o;

	fprintf(f, "usage: %s [--list] [--kmsg] [-t NAME]...", prog);
	for (o = harness_options; o; o = o->next)
		fprintf(f, " [%s %s]", o->name, o->arg);
	fprintf(f, "\n"
		"  --list    print the test names, run nothing\n"
		"  --kmsg    log \"PROG: start NAME\" to /dev/kmsg before each test, so\n"
		"            kernel messages can be told apart by test\n"
		"  -t NAME   run only test NAME (repeatable)\n");
	for (o = harness_options; o; o = o->next) {
		char opt[64];

		snprintf(opt, sizeof(opt), "%s %s", o->name, o->arg);
		fprintf(f, "  %-9s%s%s\n", opt, strlen(opt) < 9 ? " " : "\n            ",
			o->help);
	}
}

/* argv[*a] if it is one of the binary's own options: parse it. */
static inline const struct harness_option *harness_option(int argc, char **argv,
							   int *a, bool *bad)
{
	const struct harness_option *o;

	for (o = harness_options; o && strcmp(o->name, argv[*a]); o = o->next)
		;
	*bad = false;
	if (!o)
		return NULL;
	if (*a + 1 >= argc) {
		fprintf(stderr, "%s: %s needs an argument %s\n", argv[0], o->name,
			o->arg);
		*bad = true;
	} else if (o->parse(argv[*a + 1])) {
		fprintf(stderr, "%s: %s: bad %s '%s'\n", argv[0], o->name, o->arg,
			argv[*a + 1]);
		*bad = true;
	}
	(*a)++;
	return o;
}

/* Parse the options, then list or run @cases. Return: the exit status. */
static inline int harness_run_cases(struct harness_case *cases, size_t n,
				    int argc, char **argv)
{
	unsigned int pass = 0, fail = 0, skip = 0, number = 0, selected;
	bool list = false, filter = false;
	const char *prog = strrchr(argv[0], '/') ? strrchr(argv[0], '/') + 1 : argv[0];
	int kmsg_fd = -1;
	sigset_t chld;
	size_t i;
	bool bad;
	int a;

	for (a = 1; a < argc; a++) {
		if (!strcmp(argv[a], "--list")) {
			list = true;
		} else if (!strcmp(argv[a], "--kmsg")) {
			kmsg_fd = -2;	/* opened below, unless only listing */
		} else if (!strcmp(argv[a], "-h") || !strcmp(argv[a], "--help")) {
			harness_usage(stdout, argv[0]);
			return 0;
		} else if (!strcmp(argv[a], "-t") && a + 1 < argc) {
			a++;
			if (!filter)
				for (i = 0; i < n; i++)
					cases[i].selected = false;
			filter = true;
			for (i = 0; i < n && strcmp(cases[i].name, argv[a]); i++)
				;
			if (i == n) {
				fprintf(stderr, "%s: no test named '%s' (see --list)\n",
					argv[0], argv[a]);
				return 2;
			}
			cases[i].selected = true;
		} else if (harness_option(argc, argv, &a, &bad)) {
			if (bad)
				return 2;
		} else {
			fprintf(stderr, "%s: bad argument '%s'\n", argv[0], argv[a]);
			harness_usage(stderr, argv[0]);
			return 2;
		}
	}
	if (list) {
		for (i = 0; i < n; i++)
			if (cases[i].selected)
				printf("%s\n", cases[i].name);
		return 0;
	}

	if (kmsg_fd == -2) {
		kmsg_fd = open("/dev/kmsg", O_WRONLY | O_CLOEXEC);
		if (kmsg_fd < 0) {
			fprintf(stderr, "%s: --kmsg: cannot open /dev/kmsg: %s\n",
				prog, strerror(errno));
			return 2;
		}
	}
	for (selected = 0, i = 0; i < n; i++)
		selected += cases[i].selected;
	setvbuf(stdout, NULL, _IOLBF, 0);
	/* Blocked so that harness_wait() can sigtimedwait() for it. */
	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	sigprocmask(SIG_BLOCK, &chld, NULL);

	printf("KTAP version 1\n1..%u\n", selected);
	for (i = 0; i < n; i++) {
		if (!cases[i].selected)
			continue;
		switch (harness_run_case(&cases[i], ++number, kmsg_fd, prog)) {
		case HARNESS_PASS:
			pass++;
			break;
		case HARNESS_SKIP:
			skip++;
			break;
		default:
			fail++;
			break;
		}
	}
	printf("# Totals: pass:%u fail:%u skip:%u\n", pass, fail, skip);
	return fail ? 1 : 0;
}

static inline int harness_main(int argc, char **argv)
{
	struct harness_case *cases;
	size_t n;
	int ret;

	cases = harness_cases(&n);
	ret = harness_run_cases(cases, n, argc, argv);
	free(cases);
	return ret;
}

#define TEST_HARNESS_MAIN						\
	int main(int argc, char **argv)					\
	{								\
		return harness_main(argc, argv);			\
	}

#endif /* NESTIOMMU_HARNESS_H */
