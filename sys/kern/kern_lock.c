/*
 * Mutexes, reader-writer locks and condition variables.
 *
 * Thin wrappers over the hypercall primitives that add two things: the
 * owner, for mutex_owned() and rw_write_held() assertions, and CPU
 * hand-off -- an lwp that must wait (contended lock, condition wait)
 * first releases its virtual CPU so that the holder, or whoever will wake
 * it, can run, and takes a CPU again once it has the lock.  The
 * uncontended path is one tryenter.
 *
 * Threads without an lwp (early boot, platform threads) may use all of
 * these; they never hold a CPU, and they are recorded as owner
 * LOCK_NOLWP, which mutex_owned() accepts from any lwp-less thread.
 */
#include "kern/kern.h"

#define LOCK_NOLWP ((struct lwp *)1)

static inline struct lwp *
lock_self(void)
{
	struct lwp *l = curlwp();

	return l != NULL ? l : LOCK_NOLWP;
}

/* Release the caller's CPU, if it holds one, before blocking. */
static inline bool
lock_block(struct lwp *l)
{
	if (l != NULL && l->l_cpu != NULL) {
		cpu_block(l);
		return true;
	}
	return false;
}

void
mutex_init(kmutex_t *m)
{
	hyp_mutex_init(&m->mtx_hyp);
	m->mtx_owner = NULL;
}

void
mutex_destroy(kmutex_t *m)
{
	KASSERT(m->mtx_owner == NULL);
	hyp_mutex_destroy(&m->mtx_hyp);
}

void
mutex_enter(kmutex_t *m)
{
	struct lwp *l = curlwp();

	if (__predict_false(!hyp_mutex_tryenter(&m->mtx_hyp))) {
		KASSERT(m->mtx_owner != (l != NULL ? l : LOCK_NOLWP) ||
		    l == NULL);
		bool held = lock_block(l);
		hyp_mutex_enter(&m->mtx_hyp);
		if (held)
			cpu_unblock(l);
	}
	m->mtx_owner = l != NULL ? l : LOCK_NOLWP;
}

bool
mutex_tryenter(kmutex_t *m)
{
	if (!hyp_mutex_tryenter(&m->mtx_hyp))
		return false;
	m->mtx_owner = lock_self();
	return true;
}

void
mutex_exit(kmutex_t *m)
{
	KASSERT(m->mtx_owner == lock_self());
	m->mtx_owner = NULL;
	hyp_mutex_exit(&m->mtx_hyp);
}

bool
mutex_owned(const kmutex_t *m)
{
	return m->mtx_owner == lock_self();
}

void
rw_init(krwlock_t *rw)
{
	hyp_rw_init(&rw->rw_hyp);
	rw->rw_writer = NULL;
}

void
rw_destroy(krwlock_t *rw)
{
	KASSERT(rw->rw_writer == NULL);
	hyp_rw_destroy(&rw->rw_hyp);
}

void
rw_enter(krwlock_t *rw, int op)
{
	struct lwp *l = curlwp();
	int write = op == RW_WRITER;

	KASSERT(op == RW_READER || op == RW_WRITER);
	if (__predict_false(!hyp_rw_tryenter(&rw->rw_hyp, write))) {
		bool held = lock_block(l);
		hyp_rw_enter(&rw->rw_hyp, write);
		if (held)
			cpu_unblock(l);
	}
	if (write)
		rw->rw_writer = l != NULL ? l : LOCK_NOLWP;
}

void
rw_exit(krwlock_t *rw)
{
	/* A reader finds rw_writer NULL: no writer can hold it meanwhile. */
	if (rw->rw_writer != NULL) {
		KASSERT(rw->rw_writer == lock_self());
		rw->rw_writer = NULL;
	}
	hyp_rw_exit(&rw->rw_hyp);
}

bool
rw_write_held(const krwlock_t *rw)
{
	return rw->rw_writer == lock_self();
}

void
cv_init(kcondvar_t *cv)
{
	hyp_cond_init(&cv->cv_hyp);
}

void
cv_destroy(kcondvar_t *cv)
{
	hyp_cond_destroy(&cv->cv_hyp);
}

void
cv_wait(kcondvar_t *cv, kmutex_t *m)
{
	struct lwp *l = curlwp();
	struct lwp *owner = m->mtx_owner;

	KASSERT(mutex_owned(m));
	bool held = lock_block(l);
	m->mtx_owner = NULL;
	hyp_cond_wait(&cv->cv_hyp, &m->mtx_hyp);
	m->mtx_owner = owner;
	/*
	 * Retaking the CPU with m held cannot deadlock: a CPU holder that
	 * wants m releases its CPU when it finds m taken.
	 */
	if (held)
		cpu_unblock(l);
}

int
cv_timedwait(kcondvar_t *cv, kmutex_t *m, int64_t deadline_ns)
{
	struct lwp *l = curlwp();
	struct lwp *owner = m->mtx_owner;
	int error;

	if (deadline_ns < 0) {
		cv_wait(cv, m);
		return 0;
	}
	KASSERT(mutex_owned(m));
	bool held = lock_block(l);
	m->mtx_owner = NULL;
	error = hyp_cond_timedwait(&cv->cv_hyp, &m->mtx_hyp, deadline_ns);
	m->mtx_owner = owner;
	if (held)
		cpu_unblock(l);
	return error == ETIMEDOUT ? ETIMEDOUT : 0;
}

void
cv_signal(kcondvar_t *cv)
{
	hyp_cond_signal(&cv->cv_hyp);
}

void
cv_broadcast(kcondvar_t *cv)
{
	hyp_cond_broadcast(&cv->cv_hyp);
}
