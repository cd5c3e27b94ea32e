/*
 * Lightweight processes (kernel thread contexts) and kernel threads.
 *
 * Every host thread that runs kernel code carries an lwp, found through
 * hyp_curlwp().  An embedding program's threads get one lazily, running as
 * pid 1, the first time they call in (lwp_current); the platform calls the
 * hu_lwp_exit upcall when such a thread ends, and the lwp is freed there.
 * Kernel threads are host threads made by kthread_create whose lwp belongs
 * to proc0.  Every lwp is on lwp_all so that shutdown can free those whose
 * threads are still alive.
 *
 * An lwp holds a reference on its process (l_proc), dropped when it is
 * freed or switched away.  Fields marked [l] in struct lwp are touched
 * only by the owning thread; lwp_all is under lwp_lock.
 */
#include "kern/kern.h"
#include "kern/proc.h"
#include "kern_private.h"

static LIST_HEAD(, lwp) lwp_all;        /* [lwp_lock] */
static kmutex_t lwp_lock;
static unsigned lwp_nuser;              /* [a] lwps without LW_KTHREAD */

struct kthread {
	void (*kt_fn)(void *);
	void *kt_arg;
	struct lwp *kt_lwp;
	struct hyp_thread *kt_thread;
};

void
lwp_init(void)
{
	mutex_init(&lwp_lock);
	LIST_INIT(&lwp_all);
	lwp_nuser = 0;
}

/* A new lwp of p (referenced), on lwp_all, bound to no thread yet. */
int
lwp_alloc(struct proc *p, int flags, struct lwp **ret)
{
	struct lwp *l = kmem_zalloc(LWP_ALLOC_SIZE);

	if (l == NULL)
		return ENOMEM;
	proc_hold(p);
	l->l_proc = p;
	l->l_syscall = -1;
	l->l_flags = flags;
	l->l_lastcpu = cpu_hint();
	/* A full barrier (lock prefix) before the lwp makes any call: see
	 * fd_light_sync for the other side. */
	if (!(flags & LW_KTHREAD))
		__atomic_add_fetch(&lwp_nuser, 1, __ATOMIC_SEQ_CST);
	mutex_enter(&lwp_lock);
	LIST_INSERT_HEAD(&lwp_all, l, l_list);
	mutex_exit(&lwp_lock);
	*ret = l;
	return 0;
}

void
lwp_free(struct lwp *l)
{
	KASSERT(l->l_cpu == NULL);
	KASSERT(l->l_fdlight == NULL);
	mutex_enter(&lwp_lock);
	LIST_REMOVE(l, l_list);
	mutex_exit(&lwp_lock);
	if (!(l->l_flags & LW_KTHREAD))
		__atomic_sub_fetch(&lwp_nuser, 1, __ATOMIC_RELAXED);
	lwp_cache_drop(l);
	proc_rele(l->l_proc);
	kmem_free(l, LWP_ALLOC_SIZE);
}

unsigned
lwp_user_count(void)
{
	return __atomic_load_n(&lwp_nuser, __ATOMIC_RELAXED);
}

/*
 * Wait until no lwp but the caller is inside a lockless descriptor lookup
 * of fdp.  The caller has made its slot change visible (hyp_membarrier).
 * Holding lwp_lock keeps the lwps from being freed meanwhile (a reader
 * leaves its section before its call returns).  The wait gives up the
 * caller's CPU: the reader may be waiting for a lock whose holder needs
 * one.  Rare: only a close that races a lookup of the same table.
 */
void
lwp_wait_fdlight(const void *fdp)
{
	struct lwp *self = curlwp(), *l;
	bool blocked = false;
	unsigned spins = 0;
	hyp_i64 now;

	mutex_enter(&lwp_lock);
	LIST_FOREACH(l, &lwp_all, l_list) {
		while (l != self && atomic_load(&l->l_fdlight) == fdp) {
			if (!blocked && self != NULL && self->l_cpu != NULL) {
				cpu_block(self);
				blocked = true;
			}
			if (++spins < 1000) {
				__asm__ volatile("pause" ::: "memory");
				continue;
			}
			now = hyp_clock_ns(HYP_CLOCK_MONOTONIC);
			(void)hyp_sleep_until(now + 20000);
		}
	}
	mutex_exit(&lwp_lock);
	if (blocked)
		cpu_unblock(self);
}

/*
 * Shutdown: every lwp's cached root and credentials go before the file
 * systems do.  No thread is in the kernel, so the caches are ours.
 */
void
lwp_drop_all_caches(void)
{
	struct lwp *l;

	mutex_enter(&lwp_lock);
	LIST_FOREACH(l, &lwp_all, l_list)
		lwp_cache_drop(l);
	mutex_exit(&lwp_lock);
}

struct lwp *
lwp_current(void)
{
	struct lwp *l = curlwp();

	if (__predict_true(l != NULL))
		return l;
	if (!kern_running || lwp_alloc(proc1, 0, &l) != 0)
		return NULL;
	hyp_curlwp_set(l);
	return l;
}

/*
 * A host thread carrying an lwp is exiting.  After shutdown has freed all
 * lwps there is nothing left to do (and the pointer is stale).
 */
void
lwp_exit_upcall(void *arg)
{
	struct lwp *l = arg;

	if (!kern_running || l == NULL)
		return;
	if (l->l_cpu != NULL)
		cpu_leave(l);
	lwp_free(l);
}

/*
 * Shutdown: free every lwp still on the list (threads of the embedding
 * program that are still alive, and the caller's own).  Kernel threads
 * have all been joined by now.
 */
void
lwp_fini(void)
{
	struct lwp *l, *self = curlwp();

	if (self != NULL) {
		if (self->l_cpu != NULL)
			cpu_leave(self);
		hyp_curlwp_set(NULL);
	}
	mutex_enter(&lwp_lock);
	while ((l = LIST_FIRST(&lwp_all)) != NULL) {
		LIST_REMOVE(l, l_list);
		mutex_exit(&lwp_lock);
		KASSERT((l->l_flags & LW_KTHREAD) == 0);
		/* Another thread's lwp cannot hold a CPU: no call is running. */
		l->l_cpu = NULL;
		proc_rele(l->l_proc);
		kmem_free(l, LWP_ALLOC_SIZE);
		mutex_enter(&lwp_lock);
	}
	mutex_exit(&lwp_lock);
	mutex_destroy(&lwp_lock);
}

static void
kthread_main(void *arg)
{
	struct kthread *kt = arg;
	struct lwp *l = kt->kt_lwp;

	hyp_curlwp_set(l);
	cpu_enter(l);
	kt->kt_fn(kt->kt_arg);
	cpu_leave(l);
	hyp_curlwp_set(NULL);
}

int
kthread_create(void (*fn)(void *), void *arg, const char *name,
    struct kthread **ret)
{
	struct kthread *kt;
	int error;

	kt = kmem_zalloc(sizeof(*kt));
	if (kt == NULL)
		return ENOMEM;
	kt->kt_fn = fn;
	kt->kt_arg = arg;
	error = lwp_alloc(proc0, LW_KTHREAD, &kt->kt_lwp);
	if (error != 0)
		goto out;
	error = hyp_thread_create(kthread_main, kt, name, &kt->kt_thread);
	if (error != 0)
		lwp_free(kt->kt_lwp);
out:
	if (error != 0)
		kmem_free(kt, sizeof(*kt));
	else
		*ret = kt;
	return error;
}

/* Wait for the thread to end, then free its lwp (its host thread no
 * longer uses it) and the handle. */
void
kthread_join(struct kthread *kt)
{
	struct lwp *l = curlwp();
	bool held = l != NULL && l->l_cpu != NULL;

	if (held)
		cpu_block(l);
	hyp_thread_join(kt->kt_thread);
	if (held)
		cpu_unblock(l);
	lwp_free(kt->kt_lwp);
	kmem_free(kt, sizeof(*kt));
}
