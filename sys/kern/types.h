/*
 * Basic types for the freestanding kernel.  The kernel is built with
 * -nostdinc, so nothing here comes from a libc; the widths follow the Linux
 * x86-64 ABI that the system-call layer speaks.
 */
#ifndef PITH_KERN_TYPES_H
#define PITH_KERN_TYPES_H

/*
 * Everything the kernel declares is internal to the kernel object unless
 * marked otherwise (the pith_* API).  Declaring it hidden, not just
 * defining it so, lets the compiler reach kernel data and hypercalls
 * directly instead of through the GOT and PLT.
 */
#pragma GCC visibility push(hidden)
/* Marks the kernel's exported API, on declarations and definitions. */
#define PITH_API __attribute__((visibility("default")))

typedef __INT8_TYPE__ int8_t;
typedef __INT16_TYPE__ int16_t;
typedef __INT32_TYPE__ int32_t;
typedef __INT64_TYPE__ int64_t;
typedef __UINT8_TYPE__ uint8_t;
typedef __UINT16_TYPE__ uint16_t;
typedef __UINT32_TYPE__ uint32_t;
typedef __UINT64_TYPE__ uint64_t;
typedef __INTPTR_TYPE__ intptr_t;
typedef __UINTPTR_TYPE__ uintptr_t;
typedef __SIZE_TYPE__ size_t;
typedef long ssize_t;
typedef __PTRDIFF_TYPE__ ptrdiff_t;

typedef _Bool bool;
#define true 1
#define false 0

#define NULL ((void *)0)
#define offsetof(t, m) __builtin_offsetof(t, m)

typedef __builtin_va_list va_list;
#define va_start(ap, last) __builtin_va_start(ap, last)
#define va_arg(ap, type) __builtin_va_arg(ap, type)
#define va_end(ap) __builtin_va_end(ap)
#define va_copy(d, s) __builtin_va_copy(d, s)

/* Linux x86-64 widths. */
typedef long off_t;
typedef long loff_t;
typedef unsigned int mode_t;
typedef unsigned int uid_t;
typedef unsigned int gid_t;
typedef int pid_t;
typedef unsigned long dev_t;
typedef unsigned long ino_t;
typedef unsigned long nlink_t;
typedef long blksize_t;
typedef long blkcnt_t;
typedef long time_t;
typedef int clockid_t;
typedef unsigned int socklen_t;

#define INT_MAX 0x7fffffff
#define UINT_MAX 0xffffffffu
#define LONG_MAX 0x7fffffffffffffffL
#define SIZE_MAX (~(size_t)0)
#define SSIZE_MAX LONG_MAX
#define OFF_MAX LONG_MAX

#define MIN(a, b) ((a) < (b) ? (a) : (b))
#define MAX(a, b) ((a) > (b) ? (a) : (b))
#define nitems(a) (sizeof(a) / sizeof((a)[0]))
#define roundup(x, y) ((((x) + ((y) - 1)) / (y)) * (y))
#define howmany(x, y) (((x) + ((y) - 1)) / (y))
#define container_of(p, t, m) ((t *)((char *)(p) - offsetof(t, m)))

#define __packed __attribute__((packed))
#define __unused __attribute__((unused))
#define __noreturn __attribute__((noreturn))
#define __printflike(f, a) __attribute__((format(printf, f, a)))
#define __predict_false(x) __builtin_expect(!!(x), 0)
#define __predict_true(x) __builtin_expect(!!(x), 1)
#define _Static_assert_size(t, n) _Static_assert(sizeof(t) == (n), #t " size")

#endif
