/*
 * The kernel core's interface to the rest of the kernel: strings, console
 * output, panics and assertions, memory, locks and sleeping, virtual CPUs,
 * kernel threads, timers, randomness, time, and component registration.
 *
 * Every other subsystem includes this; it includes only the basic types,
 * the Linux ABI and the hypercall door.
 */
#ifndef PITH_KERN_KERN_H
#define PITH_KERN_KERN_H

#include "kern/types.h"
#include "kern/abi.h"
#include "kern/queue.h"
#include <pith/hyp.h>

/* --- strings (kern/subr_string.c) -------------------------------------- */

void *memcpy(void *dst, const void *src, size_t n);
void *memmove(void *dst, const void *src, size_t n);
void *memset(void *dst, int c, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);
size_t strnlen(const char *s, size_t max);
int strcmp(const char *a, const char *b);
int strncmp(const char *a, const char *b, size_t n);
char *strchr(const char *s, int c);
size_t strlcpy(char *dst, const char *src, size_t size);

/*
 * -ffreestanding stops the compiler from treating these as builtins, so
 * every memset(&st, 0, sizeof(st)) would be a call.  Asking for the
 * builtins explicitly lets fixed sizes inline into a few stores; the rest
 * still call the functions above.  subr_string.c, which defines them,
 * sees the plain names.
 */
#ifndef KERN_STRING_IMPL
#define memcpy(d, s, n) __builtin_memcpy((d), (s), (n))
#define memmove(d, s, n) __builtin_memmove((d), (s), (n))
#define memset(d, c, n) __builtin_memset((d), (c), (n))
#define memcmp(a, b, n) __builtin_memcmp((a), (b), (n))
#define strlen(s) __builtin_strlen(s)
#endif

/* --- console, panic, assertions (kern/subr_prf.c) ------------------------ */

/* printf to the console.  Formats: %d %i %u %x %X %o %p %s %c %%, with
 * l/ll/z/j length, width, '-' and '0' flags, and precision for %s. */
int kprintf(const char *fmt, ...) __printflike(1, 2);
int vkprintf(const char *fmt, va_list ap);
int snprintf(char *buf, size_t size, const char *fmt, ...) __printflike(3, 4);
int vsnprintf(char *buf, size_t size, const char *fmt, va_list ap);

/* An impossible state: print, then hand over to the platform. */
void panic(const char *fmt, ...) __printflike(1, 2) __noreturn;

#define KASSERT(e) \
	do { \
		if (__predict_false(!(e))) \
			panic("assertion \"%s\" failed: %s:%d", #e, __FILE__, __LINE__); \
	} while (0)
#define CTASSERT(e) _Static_assert(e, #e)

/*
 * DIAGNOSTIC kernels (the sanitizer build, or -DPITH_DEBUG) also track
 * lock owners, so mutex_owned() names the holder; others only know that a
 * lock is held, which keeps the system-call fast paths free of
 * owner bookkeeping.
 */
#if defined(PITH_SAN) || defined(PITH_DEBUG)
#define DIAGNOSTIC 1
#endif

/* --- memory (kern/kmem.c) ----------------------------------------------- */

/*
 * Kernel memory in size classes, from hypercall memory, within the limit
 * set at boot.  kmem_alloc returns NULL when the limit or the host is
 * exhausted; callers turn that into ENOMEM.  kmem_free must be given the
 * size that was allocated.  Blocks are 16-byte aligned.  Never blocks for
 * long; callable with any lock held.
 */
void *kmem_alloc(size_t size);
void *kmem_zalloc(size_t size);
void kmem_free(void *p, size_t size);
/* A copy of a NUL-terminated string; free with kmem_strfree. */
char *kmem_strdup(const char *s);
void kmem_strfree(char *s);
/* Bytes the kernel holds from the host now. */
size_t kmem_inuse(void);

/* --- locks and sleeping (kern/kern_lock.c) ------------------------------ */

/*
 * Kernel mutexes, reader-writer locks and condition variables: one
 * atomic word each, with waiting done on shared host sleep queues
 * (kern/kern_lock.c).  A thread that has to wait releases its virtual CPU
 * first, so a blocked thread never holds a CPU others need.  None of them
 * allocates; init cannot fail.  Wakeups may be spurious: re-check.
 */
typedef struct kmutex {
	unsigned mtx_state;             /* [a] 0 free, 1 held, 2 held + waiters */
	struct lwp *mtx_owner;          /* DIAGNOSTIC: the holder */
} kmutex_t;

typedef struct krwlock {
	unsigned rw_state;              /* [a] writer, waiters, reader count */
	struct lwp *rw_writer;          /* DIAGNOSTIC: the writer */
} krwlock_t;

typedef struct kcondvar {
	unsigned cv_seq;                /* [a] bumped by every wakeup */
	unsigned cv_waiters;            /* [a] */
} kcondvar_t;

void mutex_init(kmutex_t *m);
void mutex_destroy(kmutex_t *m);
void mutex_enter(kmutex_t *m);
bool mutex_tryenter(kmutex_t *m);
void mutex_exit(kmutex_t *m);
/* Held by the caller (DIAGNOSTIC) or by anyone (otherwise): for KASSERT. */
bool mutex_owned(const kmutex_t *m);

#define RW_READER 0
#define RW_WRITER 1
void rw_init(krwlock_t *rw);
void rw_destroy(krwlock_t *rw);
void rw_enter(krwlock_t *rw, int op);
void rw_exit(krwlock_t *rw);
bool rw_write_held(const krwlock_t *rw);

void cv_init(kcondvar_t *cv);
void cv_destroy(kcondvar_t *cv);
/* Wait with m held; m is held again on return. */
void cv_wait(kcondvar_t *cv, kmutex_t *m);
/* As cv_wait until the monotonic clock reaches deadline_ns (<0: forever).
 * Returns 0 if woken, ETIMEDOUT at the deadline. */
int cv_timedwait(kcondvar_t *cv, kmutex_t *m, int64_t deadline_ns);
void cv_signal(kcondvar_t *cv);
void cv_broadcast(kcondvar_t *cv);

/* Atomics, for reference counts and statistics. */
#define atomic_inc_uint(p) ((void)__atomic_add_fetch((p), 1, __ATOMIC_RELAXED))
#define atomic_dec_uint_nv(p) (__atomic_sub_fetch((p), 1, __ATOMIC_ACQ_REL))
#define atomic_add_long(p, v) ((void)__atomic_add_fetch((p), (v), __ATOMIC_RELAXED))
#define atomic_load(p) __atomic_load_n((p), __ATOMIC_ACQUIRE)
#define atomic_store(p, v) __atomic_store_n((p), (v), __ATOMIC_RELEASE)
#define atomic_cas(p, o, n) \
	__atomic_compare_exchange_n((p), (o), (n), 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)

/* --- virtual CPUs and threads (kern/kern_cpu.c, kern/kern_lwp.c) -------- */

/*
 * A virtual CPU: the right to run kernel code.  A host thread takes one
 * when it enters the kernel and gives it back when it leaves or blocks.
 * Per-CPU caches (the allocator's) hang off it.
 */
struct cpu_info;
struct cred;

/*
 * A kernel thread context, bound to one host thread (hyp_curlwp()).  Host
 * threads get one on their first system call; kernel threads at creation.
 */
struct lwp {
	struct proc *l_proc;            /* [l] the process it runs as */
	struct cpu_info *l_cpu;         /* [l] held CPU, or NULL */
	struct cpu_info *l_lastcpu;     /* [l] CPU to try first next time */
	int l_syscall;                  /* [l] system call in progress, or -1 */
	int l_flags;                    /* [l] LW_* */
	/*
	 * The process's credentials and root as of generation l_gen,
	 * referenced: cred_get() and proc_root_get() serve them without
	 * taking p_lock while l_gen still equals p_gen (kern_proc.c).
	 */
	struct cred *l_cred;            /* [l] */
	void *l_root;                   /* [l] */
	unsigned long l_gen;            /* [l] 0: nothing cached */
	/* The table a lockless descriptor lookup is reading (fd_get_light),
	 * or NULL; written by the lwp, read by closers. */
	void *l_fdlight;                /* [l,a] */
	LIST_ENTRY(lwp) l_list;         /* [lwp_lock] all lwps */
};
/* Written on every call: allocated whole cache lines (kern_lwp.c). */
#define LWP_ALLOC_SIZE roundup(sizeof(struct lwp), 64)
#define LW_KTHREAD 0x1
/* [l]: touched only by the lwp's own host thread. */

static inline struct lwp *
curlwp(void)
{
	return hyp_curlwp();
}

/* The calling thread's lwp, attaching a new one (as pid 1) on first use.
 * Returns NULL only when memory is exhausted. */
struct lwp *lwp_current(void);

/*
 * A subsystem's cache trimmer, run by pith_mem_reap (kern_reap.c) with a
 * CPU held.  quiescent: the reaper holds every CPU, so no other lwp is in
 * the kernel and type-stable memory may go back to kmem.  A hook must
 * not sleep (mutex_tryenter, not mutex_enter): the reaper holds CPUs it
 * borrowed, which a sleeping lwp would not give back.  Registering the
 * same function again (a second boot) does nothing.
 */
void kern_reap_register(void (*fn)(bool quiescent));

/* Take and release a CPU around kernel work. */
void cpu_enter(struct lwp *l);
void cpu_leave(struct lwp *l);
/* Release the CPU around a blocking hypercall. */
void cpu_block(struct lwp *l);
void cpu_unblock(struct lwp *l);
unsigned cpu_count(void);
unsigned cpu_index(const struct cpu_info *ci);

/*
 * Kernel threads: host threads that run kernel code with an lwp of
 * process 0's.  kthread_join waits for fn to return and frees the thread.
 */
struct kthread;
int kthread_create(void (*fn)(void *), void *arg, const char *name,
    struct kthread **ret);
void kthread_join(struct kthread *t);

/* --- time (kern/kern_time.c) -------------------------------------------- */

int64_t time_mono_ns(void);
int64_t time_real_ns(void);
void time_ns_to_ts(int64_t ns, struct timespec *ts);
int64_t time_ts_to_ns(const struct timespec *ts);
/* Current real time as a timespec: for file timestamps. */
void time_now(struct timespec *ts);

/* --- timers (kern/kern_timeout.c) --------------------------------------- */

/*
 * Callouts: fn(arg) runs on the timer thread once the monotonic clock
 * reaches the deadline.  callout_stop cancels a pending callout and
 * returns true if it had been pending; callout_halt also waits for a
 * running one to finish (do not call it from the callout itself).
 */
struct callout {
	void (*c_fn)(void *);           /* [I] */
	void *c_arg;                    /* [I] */
	int64_t c_deadline;             /* [callout_lock] */
	int c_flags;                    /* [callout_lock] */
	TAILQ_ENTRY(callout) c_link;    /* [callout_lock] */
};
void callout_init(struct callout *c, void (*fn)(void *), void *arg);
void callout_schedule_ns(struct callout *c, int64_t deadline_ns);
bool callout_stop(struct callout *c);
void callout_halt(struct callout *c);
/* Run every callout due at now_ns; the timer thread's body, and the unit
 * tests' handle on the clock.  Returns the next deadline or -1. */
int64_t callout_run_due(int64_t now_ns);

/* --- randomness (kern/kern_rnd.c) ---------------------------------------- */

/* Cryptographically strong bytes from the kernel's generator, seeded from
 * hyp_getrandom at boot and reseeded periodically.  Never blocks. */
void cprng_bytes(void *buf, size_t len);
uint32_t cprng_u32(void);

/* --- user memory (kern/kern_copy.c) -------------------------------------- */

/*
 * Copy to and from the caller's memory.  On every platform so far the
 * caller shares the kernel's address space, but system calls still go
 * through these so that a bad pointer is EFAULT and a future platform can
 * check ranges.  copyinstr fails with ENAMETOOLONG if no NUL is found in
 * len bytes.
 */
#define COPY_LOWEST 4096ul                   /* the NULL page and below */
#define COPY_USER_TOP 0x0000800000000000ul   /* canonical lower half */

static inline bool
copy_range_ok(const void *uaddr, size_t len)
{
	uintptr_t a = (uintptr_t)uaddr;

	if (len == 0)
		return true;
	return a >= COPY_LOWEST && a < COPY_USER_TOP &&
	    len <= COPY_USER_TOP - a;
}

/*
 * The copy itself.  Without SSE the compiler expands a fixed copy of more
 * than a few words (a struct stat, 144 bytes) into `rep movsq`, whose
 * start-up costs more than the copy: it was a sixth of fstat's time.  So
 * fixed sizes up to 256 bytes in whole words become a straight run of
 * 8-byte moves (the empty asm keeps the loop from being recognised as a
 * memcpy again), other small fixed sizes the builtin's few moves, and the
 * rest a call to the out-of-line memcpy.
 */
typedef uint64_t __attribute__((may_alias, aligned(1))) copy_word_t;

static inline void
copy_bytes(void *dst, const void *src, size_t len)
{
	if (__builtin_constant_p(len) && len <= 256 && len % 8 == 0) {
		copy_word_t *d = dst;
		const copy_word_t *s = src;

#pragma GCC unroll 32
		for (size_t i = 0; i < len / 8; i++) {
			d[i] = s[i];
			__asm__ volatile("");
		}
	} else if (__builtin_constant_p(len) && len <= 64) {
		memcpy(dst, src, len);
	} else {
		(memcpy)(dst, src, len);        /* the function, not builtin */
	}
}

static inline int
copyin(const void *uaddr, void *kaddr, size_t len)
{
	if (!copy_range_ok(uaddr, len))
		return EFAULT;
	if (len != 0)           /* a NULL buffer of length 0 is fine */
		copy_bytes(kaddr, uaddr, len);
	return 0;
}

static inline int
copyout(const void *kaddr, void *uaddr, size_t len)
{
	if (!copy_range_ok(uaddr, len))
		return EFAULT;
	if (len != 0)
		copy_bytes(uaddr, kaddr, len);
	return 0;
}

int copyinstr(const char *uaddr, char *kaddr, size_t len, size_t *done);

/* --- components and boot (kern/init_main.c) ------------------------------ */

/*
 * A component is a driver or subsystem chosen at link time.  Each defines
 * one with COMPONENT(); boot runs the init functions level by level
 * (lower first) and shutdown the fini functions in reverse.  Components
 * live in the "pith_components" section, so linking a component's objects
 * is all it takes to have it.
 */
enum component_level {
	COMP_KERN = 10,         /* core services */
	COMP_VFS = 20,          /* VFS, devices registry */
	COMP_FS = 30,           /* file systems register */
	COMP_DEV = 40,          /* devices */
	COMP_ROOT = 50,         /* mount root, populate /dev */
	COMP_LAST = 90,
};
struct component {
	const char *c_name;
	int c_level;
	int (*c_init)(void);    /* returns errno; boot fails on error */
	void (*c_fini)(void);   /* may be NULL */
};
#define COMPONENT(name, level, init, fini) \
	static const struct component __component_##name \
	    __attribute__((used, section("pith_components"), aligned(8))) = \
	    { #name, level, init, fini }

/* Settings from pith_config, read-only after boot. */
struct kern_config {
	unsigned ncpus;
	size_t mem_limit;
	char hostname[65];
	unsigned flags;
};
/* kern_config.flags: the same bits as PITH_F_* in <pith/pith.h>. */
#define PITH_KF_TRACE 0x1u

extern struct kern_config kern_cfg;

#endif
