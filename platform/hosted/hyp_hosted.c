/*
 * The hypercall interface on Linux, for a kernel linked into an ordinary
 * program: memory from malloc, threads and locks from pthreads, clocks from
 * clock_gettime, entropy from getrandom(2), the console on stderr.
 *
 * Host errors are translated here, at the boundary: the kernel sees only
 * Linux errno values, which on this host are the host's own.
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdint.h>
#include <linux/membarrier.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>
#include <execinfo.h>

#include <pith/hyp.h>
#include "hosted.h"

_Static_assert(sizeof(pthread_mutex_t) <= sizeof(struct hyp_mutex), "mutex fits");
_Static_assert(sizeof(pthread_rwlock_t) <= sizeof(struct hyp_rwlock), "rwlock fits");
_Static_assert(sizeof(pthread_cond_t) <= sizeof(struct hyp_cond), "cond fits");

void hyp_hosted_symbolize(void *const *frames, int n);

static const struct hyp_upcalls *hyp_up;
static int hyp_membarrier_ok;   /* registered for the expedited command */
static pthread_key_t hyp_lwpkey;
static int hyp_running;

/*
 * The lwp of the calling thread.  Initial-exec TLS keeps the hot path to a
 * single %fs-relative load even inside the shared library; the pthread key
 * exists only so that a thread's exit tells the kernel to free its lwp.
 */
static __thread void *hyp_curlwp_tls __attribute__((tls_model("initial-exec")));
/*
 * The boot the pointer belongs to.  pith_fini frees the lwps of threads
 * that are still alive; if one of them calls into a kernel booted later,
 * its stale pointer must read as "no lwp yet".
 */
static __thread unsigned hyp_curlwp_gen __attribute__((tls_model("initial-exec")));
static unsigned hyp_gen;

static void
hyp_thread_gone(void *lwp)
{
	hyp_curlwp_tls = NULL;
	if (hyp_up != NULL && hyp_up->hu_lwp_exit != NULL && lwp != NULL)
		hyp_up->hu_lwp_exit(lwp);
}

int
hyp_init(int version, const struct hyp_upcalls *up)
{
	if (version != HYP_VERSION)
		return EINVAL;
	if (hyp_running)
		return EBUSY;
	if (pthread_key_create(&hyp_lwpkey, hyp_thread_gone) != 0)
		return ENOMEM;
	hyp_up = up;
	hyp_gen++;
	hyp_running = 1;
	/* Registration is per process and lasts; without it (an old host
	 * kernel, a seccomp filter) hyp_membarrier says ENOSYS. */
	hyp_membarrier_ok = syscall(SYS_membarrier,
	    MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED, 0, 0) == 0;
	return 0;
}

void
hyp_fini(void)
{
	if (!hyp_running)
		return;
	/* Threads that still carry a (now freed) lwp must not call back. */
	pthread_key_delete(hyp_lwpkey);
	hyp_curlwp_tls = NULL;
	hyp_up = NULL;
	hyp_running = 0;
}

/*
 * Blocks of HOSTED_HUGE bytes or more (the kernel allocator's 2 MiB page
 * chunks) are mapped directly, aligned to 2 MiB and advised as huge pages:
 * with transparent huge pages in "madvise" mode one fault then maps and
 * zeroes 2 MiB, where malloc'd memory would fault 512 times.  hyp_free
 * tells them apart by the size, which the kernel always passes back.
 */
#define HOSTED_HUGE (2UL << 20)

static void *
hosted_map_huge(size_t size)
{
	size_t len = (size + 4095) & ~(size_t)4095, span = len + HOSTED_HUGE;
	char *p, *a;

	p = mmap(NULL, span, PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return NULL;
	a = (char *)(((uintptr_t)p + HOSTED_HUGE - 1) & ~(HOSTED_HUGE - 1));
	if (a > p)
		munmap(p, (size_t)(a - p));
	if (p + span > a + len)
		munmap(a + len, (size_t)(p + span - (a + len)));
#ifdef MADV_HUGEPAGE
	/* Only advice: without THP the mapping works with small pages. */
	(void)madvise(a, len, MADV_HUGEPAGE);
#endif
	return a;
}

int
hyp_malloc(hyp_size_t size, hyp_size_t align, void **ret)
{
	void *p;

	if (size >= HOSTED_HUGE) {
		p = hosted_map_huge(size);
		if (p == NULL)
			return ENOMEM;
	} else if (align <= 16) {
		p = malloc(size ? size : 1);
		if (p == NULL)
			return ENOMEM;
	} else if (posix_memalign(&p, align, size ? size : 1) != 0) {
		return ENOMEM;
	}
	*ret = p;
	return 0;
}

void
hyp_free(void *p, hyp_size_t size)
{
	if (size >= HOSTED_HUGE)
		munmap(p, (size + 4095) & ~(size_t)4095);
	else
		free(p);
}

/*
 * membarrier(2), private expedited: the host kernel interrupts every CPU
 * running a thread of this process, which executes a barrier; threads not
 * running passed one when they were switched out.
 */
int
hyp_membarrier(void)
{
	if (!hyp_membarrier_ok)
		return ENOSYS;
	if (syscall(SYS_membarrier, MEMBARRIER_CMD_PRIVATE_EXPEDITED, 0,
	    0) != 0)
		return ENOSYS;
	return 0;
}

void
hyp_console_write(const char *buf, hyp_size_t len)
{
	while (len > 0) {
		ssize_t n = write(STDERR_FILENO, buf, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return;
		buf += n;
		len -= (size_t)n;
	}
}

void
hyp_panic(void)
{
	void *frames[64];
	int n = backtrace(frames, 64);

	hyp_console_write("pith: backtrace:\n", 17);
	hyp_hosted_symbolize(frames, n);
	abort();
}

int
hyp_getrandom(void *buf, hyp_size_t len)
{
	char *p = buf;

	while (len > 0) {
		ssize_t n = getrandom(p, len, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return EIO;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

struct hyp_thread {
	pthread_t ht_pthread;
	void (*ht_fn)(void *);
	void *ht_arg;
};

static void *
hyp_thread_start(void *arg)
{
	struct hyp_thread *t = arg;

	t->ht_fn(t->ht_arg);
	return NULL;
}

int
hyp_thread_create(void (*fn)(void *), void *arg, const char *name,
    struct hyp_thread **ret)
{
	struct hyp_thread *t;
	sigset_t all, old;
	int error;

	t = malloc(sizeof(*t));
	if (t == NULL)
		return ENOMEM;
	t->ht_fn = fn;
	t->ht_arg = arg;
	/* Kernel threads take no signals meant for the host program. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	error = pthread_create(&t->ht_pthread, NULL, hyp_thread_start, t);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (error != 0) {
		free(t);
		return error == EAGAIN ? EAGAIN : ENOMEM;
	}
	if (name != NULL) {
		char buf[16];
		snprintf(buf, sizeof(buf), "%s", name);
		pthread_setname_np(t->ht_pthread, buf);
	}
	*ret = t;
	return 0;
}

void
hyp_thread_join(struct hyp_thread *t)
{
	pthread_join(t->ht_pthread, NULL);
	free(t);
}

void *
hyp_curlwp(void)
{
	if (__builtin_expect(hyp_curlwp_gen != hyp_gen, 0))
		return NULL;
	return hyp_curlwp_tls;
}

void
hyp_curlwp_set(void *lwp)
{
	hyp_curlwp_tls = lwp;
	hyp_curlwp_gen = hyp_gen;
	if (hyp_running)
		pthread_setspecific(hyp_lwpkey, lwp);
}

void
hyp_yield(void)
{
	sched_yield();
}

void
hyp_mutex_init(struct hyp_mutex *m)
{
	pthread_mutex_init((pthread_mutex_t *)m->opaque, NULL);
}

void
hyp_mutex_destroy(struct hyp_mutex *m)
{
	pthread_mutex_destroy((pthread_mutex_t *)m->opaque);
}

void
hyp_mutex_enter(struct hyp_mutex *m)
{
	pthread_mutex_lock((pthread_mutex_t *)m->opaque);
}

int
hyp_mutex_tryenter(struct hyp_mutex *m)
{
	return pthread_mutex_trylock((pthread_mutex_t *)m->opaque) == 0;
}

void
hyp_mutex_exit(struct hyp_mutex *m)
{
	pthread_mutex_unlock((pthread_mutex_t *)m->opaque);
}

void
hyp_rw_init(struct hyp_rwlock *rw)
{
	pthread_rwlock_init((pthread_rwlock_t *)rw->opaque, NULL);
}

void
hyp_rw_destroy(struct hyp_rwlock *rw)
{
	pthread_rwlock_destroy((pthread_rwlock_t *)rw->opaque);
}

void
hyp_rw_enter(struct hyp_rwlock *rw, int write)
{
	if (write)
		pthread_rwlock_wrlock((pthread_rwlock_t *)rw->opaque);
	else
		pthread_rwlock_rdlock((pthread_rwlock_t *)rw->opaque);
}

int
hyp_rw_tryenter(struct hyp_rwlock *rw, int write)
{
	if (write)
		return pthread_rwlock_trywrlock((pthread_rwlock_t *)rw->opaque) == 0;
	return pthread_rwlock_tryrdlock((pthread_rwlock_t *)rw->opaque) == 0;
}

void
hyp_rw_exit(struct hyp_rwlock *rw)
{
	pthread_rwlock_unlock((pthread_rwlock_t *)rw->opaque);
}

void
hyp_cond_init(struct hyp_cond *c)
{
	pthread_condattr_t attr;

	/* Deadlines are on the monotonic clock, as hyp.h promises. */
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init((pthread_cond_t *)c->opaque, &attr);
	pthread_condattr_destroy(&attr);
}

void
hyp_cond_destroy(struct hyp_cond *c)
{
	pthread_cond_destroy((pthread_cond_t *)c->opaque);
}

void
hyp_cond_wait(struct hyp_cond *c, struct hyp_mutex *m)
{
	pthread_cond_wait((pthread_cond_t *)c->opaque, (pthread_mutex_t *)m->opaque);
}

void
hyp_cond_signal(struct hyp_cond *c)
{
	pthread_cond_signal((pthread_cond_t *)c->opaque);
}

void
hyp_cond_broadcast(struct hyp_cond *c)
{
	pthread_cond_broadcast((pthread_cond_t *)c->opaque);
}
