/*
 * The hypercall interface: the only door from the Pith kernel to its host.
 *
 * Everything under sys/ is freestanding.  Whatever it needs from the world
 * outside -- memory, threads, locks, clocks, the console, entropy, and later
 * block and network I/O -- it asks for here, and each platform (hosted Linux,
 * bare metal, Xen) implements these calls once.  The built kernel's undefined
 * symbols are exactly the hyp_* names declared below; a test checks that.
 *
 * This header includes nothing, so that it means the same thing to the
 * kernel (built -nostdinc) and to a platform built against a host libc.
 *
 * Conventions, for every call unless its comment says otherwise:
 *  - Calls that can fail return 0 or a positive errno in Linux numbering.
 *  - "May block" means the call may put the host thread to sleep.  The kernel
 *    releases its virtual CPU before calling anything that may block for
 *    long (sleeps, condition waits, contended locks).
 *  - Buffers passed in stay owned by the caller; the platform never keeps a
 *    pointer past the call's return unless the comment says so.
 *  - Lock, rwlock and condition objects are storage owned by the kernel
 *    (embedded in its structures) and initialised in place by the platform,
 *    so creating one never allocates and cannot fail.
 */
#ifndef PITH_HYP_H
#define PITH_HYP_H

/* Bumped on any incompatible change; hyp_init() refuses a mismatch. */
#define HYP_VERSION 1

typedef __SIZE_TYPE__ hyp_size_t;
typedef long long hyp_i64;

/* --- Life cycle ---------------------------------------------------------- */

/*
 * Upcalls: the few entry points the platform calls back into the kernel.
 * lwp_exit(lwp) runs on a host thread that is exiting while it still carries
 * a kernel thread context (set by hyp_curlwp_set), so the kernel can free it.
 */
struct hyp_upcalls {
	void (*hu_lwp_exit)(void *lwp);
};

/*
 * Start the platform.  Returns EINVAL if version is not HYP_VERSION (the
 * kernel and platform were built from different trees), ENOMEM if the
 * platform cannot set itself up.  Does not block.  up must stay valid until
 * hyp_fini().
 */
int hyp_init(int version, const struct hyp_upcalls *up);

/* Undo hyp_init.  Every thread the kernel created has been joined. */
void hyp_fini(void);

/* --- Memory -------------------------------------------------------------- */

/*
 * Allocate size bytes aligned to align (a power of two, at most 4096; 0
 * means 16).  Returns 0 and stores the block in *ret, or ENOMEM.  The memory
 * is not zeroed.  May block briefly (host allocator lock), never for long.
 * The kernel owns the block until it passes it to hyp_free with the same
 * size.
 */
int hyp_malloc(hyp_size_t size, hyp_size_t align, void **ret);
void hyp_free(void *p, hyp_size_t size);

/*
 * An asymmetric memory fence: when this returns 0, every host thread that
 * may run kernel code has executed a full memory barrier since the call
 * began.  Readers on a hot path then order a store before a load with a
 * compiler barrier only, and a rare writer pays for both sides here (see
 * fd_get_light).  Returns ENOSYS if the platform cannot do it, and then
 * always will (the kernel asks once, at boot).  May block briefly.
 */
int hyp_membarrier(void);

/* --- Console and termination --------------------------------------------- */

/* Write len bytes to the console (stderr when hosted).  May block. */
void hyp_console_write(const char *buf, hyp_size_t len);

/*
 * The kernel has panicked: the platform prints what it can about where
 * (backtrace when it has one) and ends the host program or machine.
 * Never returns.
 */
void hyp_panic(void) __attribute__((noreturn));

/* --- Entropy ------------------------------------------------------------- */

/*
 * Fill buf with len bytes of the host's best entropy.  Returns 0, or EIO if
 * the host has none (the kernel then refuses to boot rather than run with a
 * predictable generator).  May block until the host's pool is ready.
 */
int hyp_getrandom(void *buf, hyp_size_t len);

/* --- Clocks -------------------------------------------------------------- */

#define HYP_CLOCK_REALTIME  0   /* wall clock, seconds since 1970 UTC */
#define HYP_CLOCK_MONOTONIC 1   /* never goes back, arbitrary origin */

/* Read a clock in nanoseconds.  Never fails for the two clocks above. */
hyp_i64 hyp_clock_ns(int clock);

/* Resolution of a clock in nanoseconds. */
hyp_i64 hyp_clock_res_ns(int clock);

/*
 * Sleep until the monotonic clock reads at least deadline_ns.  May block
 * (that is its purpose).  Returns 0.
 */
int hyp_sleep_until(hyp_i64 deadline_ns);

/* --- Threads ------------------------------------------------------------- */

struct hyp_thread;

/*
 * Start a host thread running fn(arg).  name is for debuggers and may be
 * truncated.  Returns 0 and the thread in *ret, or EAGAIN/ENOMEM.  The
 * thread ends by returning from fn; the kernel must hyp_thread_join() every
 * thread it created, which also frees *ret.
 */
int hyp_thread_create(void (*fn)(void *), void *arg, const char *name,
    struct hyp_thread **ret);
/* Wait for the thread to end (may block) and free it. */
void hyp_thread_join(struct hyp_thread *t);

/*
 * The kernel thread context (struct lwp *) bound to the calling host
 * thread, or NULL.  The fast path of every system call: no locking, no
 * blocking, a few instructions.
 */
void *hyp_curlwp(void);
void hyp_curlwp_set(void *lwp);

/* Give the host CPU to another runnable thread, if any. */
void hyp_yield(void);

/* --- Locks and condition variables --------------------------------------- */

/*
 * Opaque storage big enough for the host's primitives.  The kernel embeds
 * them and never looks inside.  Lock holders are host threads; a lock must
 * be released by the thread that took it.
 */
struct hyp_mutex { __attribute__((aligned(16))) unsigned char opaque[64]; };
struct hyp_rwlock { __attribute__((aligned(16))) unsigned char opaque[64]; };
struct hyp_cond { __attribute__((aligned(16))) unsigned char opaque[64]; };

void hyp_mutex_init(struct hyp_mutex *m);
void hyp_mutex_destroy(struct hyp_mutex *m);
/* May block until the holder releases it. */
void hyp_mutex_enter(struct hyp_mutex *m);
/* Returns 1 if taken, 0 if another thread holds it.  Never blocks. */
int hyp_mutex_tryenter(struct hyp_mutex *m);
void hyp_mutex_exit(struct hyp_mutex *m);

void hyp_rw_init(struct hyp_rwlock *rw);
void hyp_rw_destroy(struct hyp_rwlock *rw);
/* write != 0 takes it exclusively.  May block. */
void hyp_rw_enter(struct hyp_rwlock *rw, int write);
/* Returns 1 if taken, 0 otherwise.  Never blocks. */
int hyp_rw_tryenter(struct hyp_rwlock *rw, int write);
void hyp_rw_exit(struct hyp_rwlock *rw);

void hyp_cond_init(struct hyp_cond *c);
void hyp_cond_destroy(struct hyp_cond *c);
/* Atomically release m and wait; m is held again on return.  Blocks. */
void hyp_cond_wait(struct hyp_cond *c, struct hyp_mutex *m);
/*
 * As hyp_cond_wait, but gives up when the monotonic clock reaches
 * deadline_ns: returns 0 when woken (or spuriously), ETIMEDOUT at the
 * deadline.
 */
int hyp_cond_timedwait(struct hyp_cond *c, struct hyp_mutex *m,
    hyp_i64 deadline_ns);
void hyp_cond_signal(struct hyp_cond *c);
void hyp_cond_broadcast(struct hyp_cond *c);

/* --- Block I/O ------------------------------------------------------------ */

/*
 * A block device of the host: an image file on the hosted platform,
 * virtio-blk on bare metal.  Byte-addressed; the kernel's buffer cache
 * decides the block size.  The platform owns struct hyp_bio; the kernel
 * holds the pointer from hyp_bio_open until hyp_bio_close.  One handle may
 * be used by several threads at once (reads and writes at distinct
 * offsets do not interfere).
 */
struct hyp_bio;

#define HYP_BIO_RDONLY 0x1      /* open for reading only */

/*
 * Open the device called name (a host path when hosted) and store its
 * size in bytes in *size.  A writable open takes an exclusive lock on the
 * device and a read-only one a shared lock, so that two writers (in this
 * or another process) cannot corrupt one image: EBUSY if the lock is held.
 * Other errors: ENOENT, EACCES, EROFS (writable open of a read-only
 * device), EISDIR, ENOMEM, EIO.  May block.
 */
int hyp_bio_open(const char *name, int flags, struct hyp_bio **ret,
    unsigned long long *size);
/*
 * Read len bytes at byte offset off into buf (the caller's).  Returns 0
 * when every byte was read, EIO on a host error or a range past the end of
 * the device.  May block.
 */
int hyp_bio_read(struct hyp_bio *b, unsigned long long off, void *buf,
    hyp_size_t len);
/*
 * Write len bytes from buf at off.  Returns 0 when every byte was handed
 * to the host (not yet durable: see hyp_bio_sync), EBADF on a read-only
 * handle, ENOSPC or EIO.  May block.
 */
int hyp_bio_write(struct hyp_bio *b, unsigned long long off, const void *buf,
    hyp_size_t len);
/* Make every completed write durable (fdatasync).  0 or EIO.  May block. */
int hyp_bio_sync(struct hyp_bio *b);
/* Release the lock and the handle; does not sync.  May block. */
void hyp_bio_close(struct hyp_bio *b);

/*
 * Reserved for the calls to come, each with its own version bump:
 * network frames (hyp_netif_*), bus access on bare metal and Xen
 * (hyp_bus_*).
 */

#endif /* PITH_HYP_H */
