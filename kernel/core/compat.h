/* SPDX-License-Identifier: GPL-2.0 */
/*
 * compat.h - the one place where kernel/core differs between the kernel and
 * user space.
 *
 * Every file of kernel/core includes this header and nothing else from the
 * kernel or libc. In the kernel (__KERNEL__ defined) it pulls the usual
 * <linux/...> headers. In user space (host unit tests, fuzzer, benchmark) it
 * provides the same names with the same meaning: fixed-width types, bit
 * macros, errno values, min/max, check_add_overflow, READ_ONCE/WRITE_ONCE
 * and a 64-bit compare-and-exchange.
 *
 * nest_cmpxchg64(ptr, old, new) atomically replaces *ptr with @new if it
 * equals @old and returns the value found, like the kernel's cmpxchg64().
 */
#ifndef _NEST_CORE_COMPAT_H
#define _NEST_CORE_COMPAT_H

#ifdef __KERNEL__

#include <linux/types.h>
#include <linux/bits.h>
#include <linux/errno.h>
#include <linux/string.h>
#include <linux/overflow.h>
#include <linux/minmax.h>
#include <linux/compiler.h>
#include <linux/align.h>
#include <linux/kernel.h>
#include <linux/build_bug.h>
#include <linux/atomic.h>

#define nest_cmpxchg64(ptr, old, new)	cmpxchg64((ptr), (old), (new))

#else /* !__KERNEL__: user space */

#include <stdint.h>
#include <stdbool.h>
#include <stddef.h>
#include <string.h>
#include <errno.h>

typedef uint8_t u8;
typedef uint16_t u16;
typedef uint32_t u32;
typedef uint64_t u64;
typedef int8_t s8;
typedef int16_t s16;
typedef int32_t s32;
typedef int64_t s64;

#define BIT(nr)			(1UL << (nr))
#define BIT_ULL(nr)		(1ULL << (nr))
#define GENMASK_ULL(h, l) \
	(((~0ULL) << (l)) & (~0ULL >> (63 - (h))))
#define ALIGN(x, a)		(((x) + ((a) - 1)) & ~((__typeof__(x))(a) - 1))
#define ALIGN_DOWN(x, a)	((x) & ~((__typeof__(x))(a) - 1))
#define IS_ALIGNED(x, a)	(((x) & ((__typeof__(x))(a) - 1)) == 0)
#define ARRAY_SIZE(a)		(sizeof(a) / sizeof((a)[0]))

#define likely(x)		__builtin_expect(!!(x), 1)
#define unlikely(x)		__builtin_expect(!!(x), 0)
#define fallthrough		__attribute__((__fallthrough__))

#define min(a, b)		((a) < (b) ? (a) : (b))
#define max(a, b)		((a) > (b) ? (a) : (b))
#define min_t(t, a, b)		((t)(a) < (t)(b) ? (t)(a) : (t)(b))
#define max_t(t, a, b)		((t)(a) > (t)(b) ? (t)(a) : (t)(b))

#define check_add_overflow(a, b, d)	__builtin_add_overflow(a, b, d)
#define check_mul_overflow(a, b, d)	__builtin_mul_overflow(a, b, d)

#define static_assert(e, ...)	_Static_assert(e, #e)

#define READ_ONCE(x)		(*(const volatile __typeof__(x) *)&(x))
#define WRITE_ONCE(x, v)	(*(volatile __typeof__(x) *)&(x) = (v))

static inline u64 nest_cmpxchg64(u64 *ptr, u64 old, u64 new)
{
	__atomic_compare_exchange_n(ptr, &old, new, false, __ATOMIC_SEQ_CST,
				    __ATOMIC_SEQ_CST);
	return old;
}

#endif /* __KERNEL__ */

#endif /* _NEST_CORE_COMPAT_H */
