/*
 * Mutexes, reader-writer locks and condition variables.
 *
 * Each lock is one atomic word in the structure that owns it, plus an
 * owner for mutex_owned() and rw_write_held() assertions: taking and
 * releasing an uncontended lock is one atomic instruction each, with no
 * hypercall.  Only waiting goes to the host.  Waiters sleep on one of
 * SLEEPQ_N shared sleep queues (a host mutex and condition each), chosen
 * by hashing the lock's address -- so a lock costs a few bytes, not the
 * host's 40-byte primitives, and 100,000 vnodes do not carry 100,000 host
 * mutexes.  Different locks can share a queue; wakeups are broadcasts and
 * every waiter re-checks its own lock, so sharing costs only spurious
 * wakeups under contention.
 *
 * Mutex word: 0 free, 1 held, 2 held and someone may be waiting (the
 * classic three-state futex mutex, with the sleep queue standing in for
 * the futex).  Reader-writer word: RW_WRITE, RW_WAITERS, and the reader
 * count below them.  Condition variables carry a sequence number that
 * every signal bumps; a waiter sleeps until it changes, so a signal
 * between releasing the mutex and going to sleep is never lost.
 *
 * Waiting releases the lwp's virtual CPU first (cpu_block), so the holder,
 * or whoever will wake it, can run; it retakes one after.
 *
 * Threads without an lwp (early boot, platform threads) may use all of
 * these; they never hold a CPU, and are recorded as owner LOCK_NOLWP.
 * Owners are recorded only in DIAGNOSTIC kernels: finding the current lwp
 * is a hypercall, and the fast paths of fstat or open take several locks.
 */
#include "kern/kern.h"
#include "kern/kern_private.h"

#define LOCK_NOLWP ((struct lwp *)1)
#define SLEEPQ_N 64
#define LOCK_SPINS 64

#define RW_WRITE 0x80000000u
#define RW_WAITERS 0x40000000u
#define RW_READERS 0x3fffffffu

struct sleepq {
	struct hyp_mutex sq_mtx;
	struct hyp_cond sq_cv;
} __attribute__((aligned(128)));

static struct sleepq sleepq_tab[SLEEPQ_N];

void
sleepq_init(void)
{
	for (int i = 0; i < SLEEPQ_N; i++) {
		hyp_mutex_init(&sleepq_tab[i].sq_mtx);
		hyp_cond_init(&sleepq_tab[i].sq_cv);
	}
}

void
sleepq_fini(void)
{
	for (int i = 0; i < SLEEPQ_N; i++) {
		hyp_cond_destroy(&sleepq_tab[i].sq_cv);
		hyp_mutex_destroy(&sleepq_tab[i].sq_mtx);
	}
}

static struct sleepq *
sleepq_of(const void *obj)
{
	uintptr_t a = (uintptr_t)obj;

	return &sleepq_tab[((a >> 4) ^ (a >> 12)) % SLEEPQ_N];
}

/* Wake everyone sleeping on obj's queue. */
static void
sleepq_wakeall(const void *obj)
{
	struct sleepq *sq = sleepq_of(obj);

	hyp_mutex_enter(&sq->sq_mtx);
	hyp_cond_broadcast(&sq->sq_cv);
	hyp_mutex_exit(&sq->sq_mtx);
}

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
	if (l != NULL && l != LOCK_NOLWP && l->l_cpu != NULL) {
		cpu_block(l);
		return true;
	}
	return false;
}

static inline void
lock_unblock(struct lwp *l, bool held)
{
	if (held)
		cpu_unblock(l);
}

static inline void
lock_pause(void)
{
	__asm__ volatile("pause" ::: "memory");
}

/* --- mutexes ------------------------------------------------------------- */

void
mutex_init(kmutex_t *m)
{
	m->mtx_state = 0;
	m->mtx_owner = NULL;
}

void
mutex_destroy(kmutex_t *m)
{
	KASSERT(m->mtx_owner == NULL && m->mtx_state == 0);
}

static void
mutex_enter_slow(kmutex_t *m, struct lwp *self)
{
	struct sleepq *sq;
	unsigned z;
	bool held;

#ifdef DIAGNOSTIC
	KASSERT(m->mtx_owner != self || self == LOCK_NOLWP);
#endif
	/* The holder is probably on the other CPU and nearly done. */
	for (int i = 0; i < LOCK_SPINS; i++) {
		lock_pause();
		z = 0;
		if (__atomic_load_n(&m->mtx_state, __ATOMIC_RELAXED) == 0 &&
		    __atomic_compare_exchange_n(&m->mtx_state, &z, 1, 0,
		    __ATOMIC_ACQUIRE, __ATOMIC_RELAXED))
			return;
	}
	held = lock_block(self);
	sq = sleepq_of(m);
	hyp_mutex_enter(&sq->sq_mtx);
	while (__atomic_exchange_n(&m->mtx_state, 2, __ATOMIC_ACQUIRE) != 0)
		hyp_cond_wait(&sq->sq_cv, &sq->sq_mtx);
	hyp_mutex_exit(&sq->sq_mtx);
	lock_unblock(self, held);
}

void
mutex_enter(kmutex_t *m)
{
	unsigned z = 0;

	if (__predict_false(!__atomic_compare_exchange_n(&m->mtx_state, &z, 1,
	    0, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED)))
		mutex_enter_slow(m, lock_self());
#ifdef DIAGNOSTIC
	m->mtx_owner = lock_self();
#endif
}

bool
mutex_tryenter(kmutex_t *m)
{
	unsigned z = 0;

	if (!__atomic_compare_exchange_n(&m->mtx_state, &z, 1, 0,
	    __ATOMIC_ACQUIRE, __ATOMIC_RELAXED))
		return false;
#ifdef DIAGNOSTIC
	m->mtx_owner = lock_self();
#endif
	return true;
}

void
mutex_exit(kmutex_t *m)
{
#ifdef DIAGNOSTIC
	KASSERT(m->mtx_owner == lock_self());
	m->mtx_owner = NULL;
#else
	KASSERT(m->mtx_state != 0);
#endif
	if (__predict_false(__atomic_exchange_n(&m->mtx_state, 0,
	    __ATOMIC_RELEASE) == 2))
		sleepq_wakeall(m);
}

bool
mutex_owned(const kmutex_t *m)
{
#ifdef DIAGNOSTIC
	return m->mtx_owner == lock_self();
#else
	return __atomic_load_n(&m->mtx_state, __ATOMIC_RELAXED) != 0;
#endif
}

/* --- reader-writer locks ------------------------------------------------- */

void
rw_init(krwlock_t *rw)
{
	rw->rw_state = 0;
	rw->rw_writer = NULL;
}

void
rw_destroy(krwlock_t *rw)
{
	KASSERT(rw->rw_writer == NULL && rw->rw_state == 0);
}

/* One attempt; s is the last value seen and is updated on failure. */
static inline bool
rw_try(krwlock_t *rw, bool write, unsigned *s)
{
	unsigned want;

	if (write) {
		if ((*s & ~RW_WAITERS) != 0)
			return false;
		want = RW_WRITE | (*s & RW_WAITERS);
	} else {
		if (*s & RW_WRITE)
			return false;
		want = *s + 1;
	}
	return __atomic_compare_exchange_n(&rw->rw_state, s, want, 0,
	    __ATOMIC_ACQUIRE, __ATOMIC_RELAXED);
}

static void
rw_enter_slow(krwlock_t *rw, bool write, struct lwp *self)
{
	struct sleepq *sq;
	unsigned s;
	bool held;

	for (int i = 0; i < LOCK_SPINS; i++) {
		lock_pause();
		s = __atomic_load_n(&rw->rw_state, __ATOMIC_RELAXED);
		if (rw_try(rw, write, &s))
			return;
	}
	held = lock_block(self);
	sq = sleepq_of(rw);
	hyp_mutex_enter(&sq->sq_mtx);
	s = __atomic_load_n(&rw->rw_state, __ATOMIC_RELAXED);
	for (;;) {
		if (rw_try(rw, write, &s))
			break;
		/* s is fresh: announce a waiter, then sleep if that stuck. */
		if ((s & RW_WAITERS) == 0 &&
		    !__atomic_compare_exchange_n(&rw->rw_state, &s,
		    s | RW_WAITERS, 0, __ATOMIC_RELAXED, __ATOMIC_RELAXED))
			continue;
		hyp_cond_wait(&sq->sq_cv, &sq->sq_mtx);
		s = __atomic_load_n(&rw->rw_state, __ATOMIC_RELAXED);
	}
	hyp_mutex_exit(&sq->sq_mtx);
	lock_unblock(self, held);
}

void
rw_enter(krwlock_t *rw, int op)
{
	bool write = op == RW_WRITER;
	unsigned s = __atomic_load_n(&rw->rw_state, __ATOMIC_RELAXED);

	KASSERT(op == RW_READER || op == RW_WRITER);
	if (__predict_false(!rw_try(rw, write, &s)))
		rw_enter_slow(rw, write, lock_self());
#ifdef DIAGNOSTIC
	if (write)
		rw->rw_writer = lock_self();
#endif
}

void
rw_exit(krwlock_t *rw)
{
	unsigned s;

	/* Holding it, we see RW_WRITE exactly when we are the writer. */
	if (__atomic_load_n(&rw->rw_state, __ATOMIC_RELAXED) & RW_WRITE) {
#ifdef DIAGNOSTIC
		KASSERT(rw->rw_writer == lock_self());
		rw->rw_writer = NULL;
#endif
		s = __atomic_exchange_n(&rw->rw_state, 0, __ATOMIC_RELEASE);
		if (s & RW_WAITERS)
			sleepq_wakeall(rw);
		return;
	}
	KASSERT((__atomic_load_n(&rw->rw_state, __ATOMIC_RELAXED) &
	    RW_READERS) != 0);
	s = __atomic_sub_fetch(&rw->rw_state, 1, __ATOMIC_RELEASE);
	/* Last reader out with waiters: clear the flag and wake them. */
	if (__predict_false(s == RW_WAITERS) &&
	    __atomic_compare_exchange_n(&rw->rw_state, &s, 0, 0,
	    __ATOMIC_RELAXED, __ATOMIC_RELAXED))
		sleepq_wakeall(rw);
}

bool
rw_write_held(const krwlock_t *rw)
{
#ifdef DIAGNOSTIC
	return rw->rw_writer == lock_self();
#else
	return (__atomic_load_n(&rw->rw_state, __ATOMIC_RELAXED) & RW_WRITE) != 0;
#endif
}

/* --- condition variables ------------------------------------------------- */

void
cv_init(kcondvar_t *cv)
{
	cv->cv_seq = 0;
	cv->cv_waiters = 0;
}

void
cv_destroy(kcondvar_t *cv)
{
	KASSERT(cv->cv_waiters == 0);
}

/*
 * The sequence number is read while m is still held: any signal after
 * that point is made by a thread that changed the condition under m after
 * us, and it bumps the number we compare against.
 */
static int
cv_sleep(kcondvar_t *cv, kmutex_t *m, int64_t deadline_ns)
{
	struct lwp *self = lock_self();
	struct sleepq *sq = sleepq_of(cv);
	unsigned seq;
	int error = 0;
	bool held;

	KASSERT(mutex_owned(m));
	seq = __atomic_load_n(&cv->cv_seq, __ATOMIC_ACQUIRE);
	__atomic_add_fetch(&cv->cv_waiters, 1, __ATOMIC_SEQ_CST);
	mutex_exit(m);
	held = lock_block(self);
	hyp_mutex_enter(&sq->sq_mtx);
	while (__atomic_load_n(&cv->cv_seq, __ATOMIC_ACQUIRE) == seq) {
		if (deadline_ns < 0) {
			hyp_cond_wait(&sq->sq_cv, &sq->sq_mtx);
		} else if (hyp_cond_timedwait(&sq->sq_cv, &sq->sq_mtx,
		    deadline_ns) == ETIMEDOUT) {
			if (__atomic_load_n(&cv->cv_seq, __ATOMIC_ACQUIRE) == seq)
				error = ETIMEDOUT;
			break;
		}
	}
	hyp_mutex_exit(&sq->sq_mtx);
	__atomic_sub_fetch(&cv->cv_waiters, 1, __ATOMIC_SEQ_CST);
	lock_unblock(self, held);
	mutex_enter(m);
	return error;
}

void
cv_wait(kcondvar_t *cv, kmutex_t *m)
{
	(void)cv_sleep(cv, m, -1);
}

int
cv_timedwait(kcondvar_t *cv, kmutex_t *m, int64_t deadline_ns)
{
	return cv_sleep(cv, m, deadline_ns);
}

static void
cv_wake(kcondvar_t *cv)
{
	struct sleepq *sq;

	if (__atomic_load_n(&cv->cv_waiters, __ATOMIC_SEQ_CST) == 0)
		return;
	sq = sleepq_of(cv);
	hyp_mutex_enter(&sq->sq_mtx);
	__atomic_add_fetch(&cv->cv_seq, 1, __ATOMIC_RELEASE);
	hyp_cond_broadcast(&sq->sq_cv);
	hyp_mutex_exit(&sq->sq_mtx);
}

/* Waking all is allowed (waiters see a spurious wakeup and re-check). */
void
cv_signal(kcondvar_t *cv)
{
	cv_wake(cv);
}

void
cv_broadcast(kcondvar_t *cv)
{
	cv_wake(cv);
}
