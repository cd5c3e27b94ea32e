/*
 * Threads, locks and condition variables on one CPU, cooperatively.
 *
 * A thread runs until it blocks (a contended lock, a condition wait, a
 * sleep, a join) or yields; then the next thread on the FIFO run queue
 * gets the CPU through metal_ctx_switch (boot.S).  There are no
 * interrupts, so everything here is atomic by construction and the
 * scheduler's own data needs no lock.  Sleeping threads carry a
 * deadline; whenever the scheduler looks for work it first wakes those
 * whose deadline has passed, and when nothing is runnable it halts until
 * the next timer interrupt (trap.c, 1000 Hz) and looks again.  Nothing
 * runnable and nobody sleeping is a deadlock, and the platform says so
 * and stops.  Interrupts are off in ring 0 except inside that halt, and
 * the timer handler touches none of this, so the data needs no lock.
 *
 * Threads of user programs (uproc.c) are the same threads with a user
 * context attached; uproc_switch moves their CPU state on every switch,
 * and the timer may make them yield while they run in user mode.
 *
 * Thread memory: the struct comes from mem.c, the stack from vm.c (with
 * an unmapped guard page below it).  The thread that joins a kernel
 * thread frees both; a detached (program) thread is freed by whichever
 * thread runs next after it died (a thread never frees the stack it is
 * running on).
 */
#include "metal.h"

#define ENOMEM 12
#define ETIMEDOUT 110
#define THREAD_STACK (256ul * 1024)

enum { TS_RUNNING, TS_READY, TS_BLOCKED, TS_DEAD };

struct hyp_thread {
	void *t_sp;                     /* saved stack pointer when not running */
	void (*t_fn)(void *);
	void *t_arg;
	void *t_stack;                  /* NULL for the boot thread */
	u64 t_kstack_top;
	void *t_uctx;                   /* struct uthread, for program threads */
	int t_detached;                 /* freed when dead, never joined */
	void *t_lwp;                    /* hyp_curlwp */
	int t_state;
	int t_timedout;
	hyp_i64 t_deadline;             /* 0: none */
	struct waitq *t_wq;             /* the queue it waits on, if any */
	struct hyp_thread *t_qnext;     /* run queue or wait queue link */
	struct hyp_thread *t_allnext;
	struct waitq t_joinq;
	char t_name[16];
};

struct metal_mutex {
	struct hyp_thread *mm_owner;
	struct waitq mm_wq;
};

struct metal_rwlock {
	struct hyp_thread *mr_writer;
	unsigned mr_readers;
	struct waitq mr_wq;
};

struct metal_cond {
	struct waitq mc_wq;
};

_Static_assert(sizeof(struct metal_mutex) <= sizeof(struct hyp_mutex), "mutex fits");
_Static_assert(sizeof(struct metal_rwlock) <= sizeof(struct hyp_rwlock), "rwlock fits");
_Static_assert(sizeof(struct metal_cond) <= sizeof(struct hyp_cond), "cond fits");

static struct hyp_thread thread0;
static struct hyp_thread *curthread = &thread0;
static struct hyp_thread *allthreads = &thread0;
static struct waitq runq;
static int nthreads = 1;
static struct hyp_thread *zombies;      /* dead detached threads */

void metal_thread_start(struct hyp_thread *t) __attribute__((noreturn));
void metal_lwp_exit(void *lwp);

void
sched_init(void)
{
	thread0.t_state = TS_RUNNING;
	thread0.t_name[0] = 'b';
	thread0.t_kstack_top = (u64)(uintptr)boot_stack_top;
}

int
sched_nthreads(void)
{
	return nthreads;
}

static void
wq_push(struct waitq *wq, struct hyp_thread *t)
{
	t->t_qnext = NULL;
	if (wq->wq_tail != NULL)
		wq->wq_tail->t_qnext = t;
	else
		wq->wq_head = t;
	wq->wq_tail = t;
}

static struct hyp_thread *
wq_pop(struct waitq *wq)
{
	struct hyp_thread *t = wq->wq_head;

	if (t != NULL) {
		wq->wq_head = t->t_qnext;
		if (wq->wq_head == NULL)
			wq->wq_tail = NULL;
		t->t_qnext = NULL;
	}
	return t;
}

static void
wq_remove(struct waitq *wq, struct hyp_thread *t)
{
	struct hyp_thread **pp, *prev = NULL;

	for (pp = &wq->wq_head; *pp != NULL; prev = *pp, pp = &(*pp)->t_qnext) {
		if (*pp == t) {
			*pp = t->t_qnext;
			if (wq->wq_tail == t)
				wq->wq_tail = prev;
			t->t_qnext = NULL;
			return;
		}
	}
}

/* Make a blocked thread runnable (timedout: its deadline passed). */
static void
sched_wake(struct hyp_thread *t, int timedout)
{
	if (t->t_state != TS_BLOCKED)
		return;
	if (t->t_wq != NULL) {
		wq_remove(t->t_wq, t);
		t->t_wq = NULL;
	}
	t->t_deadline = 0;
	t->t_timedout = timedout;
	t->t_state = TS_READY;
	wq_push(&runq, t);
}

static void
wq_wake_one(struct waitq *wq)
{
	if (wq->wq_head != NULL)
		sched_wake(wq->wq_head, 0);
}

static void
wq_wake_all(struct waitq *wq)
{
	while (wq->wq_head != NULL)
		sched_wake(wq->wq_head, 0);
}

/* Wake every sleeper whose deadline has passed; 1 if any still sleeps. */
static int
sched_expire(void)
{
	struct hyp_thread *t;
	hyp_i64 now = hyp_clock_ns(HYP_CLOCK_MONOTONIC);
	int sleepers = 0;

	for (t = allthreads; t != NULL; t = t->t_allnext) {
		if (t->t_state != TS_BLOCKED || t->t_deadline == 0)
			continue;
		if (now >= t->t_deadline)
			sched_wake(t, 1);
		else
			sleepers = 1;
	}
	return sleepers;
}

static void thread_free(struct hyp_thread *t);

/* Free the detached threads that died, except the running one. */
static void
sched_reap(void)
{
	struct hyp_thread *t, *keep = NULL;

	while ((t = zombies) != NULL) {
		zombies = t->t_qnext;
		if (t == curthread) {
			keep = t;
			continue;
		}
		thread_free(t);
	}
	if (keep != NULL) {
		keep->t_qnext = NULL;
		zombies = keep;
	}
}

/*
 * Give the CPU to the next runnable thread.  The caller has already made
 * curthread READY (and queued it), BLOCKED or DEAD.
 */
static void
sched_switch(void)
{
	struct hyp_thread *prev = curthread, *next;

	for (;;) {
		int sleepers = sched_expire();

		if ((next = wq_pop(&runq)) != NULL)
			break;
		if (!sleepers)
			metal_fatal("deadlock: no thread can run");
		/* sti's one-instruction shadow: no tick is lost before hlt. */
		__asm__ volatile("sti; hlt; cli" ::: "memory");
	}
	next->t_state = TS_RUNNING;
	if (next == prev)
		return;
	curthread = next;
	uproc_switch(prev, next);
	metal_ctx_switch(&prev->t_sp, next->t_sp);
	sched_reap();
}

/* Block the current thread on wq (may be NULL) until woken or deadline. */
static int
sched_block(struct waitq *wq, hyp_i64 deadline)
{
	struct hyp_thread *t = curthread;

	t->t_state = TS_BLOCKED;
	t->t_timedout = 0;
	t->t_deadline = deadline;
	t->t_wq = wq;
	if (wq != NULL)
		wq_push(wq, t);
	sched_switch();
	return t->t_timedout;
}

void
hyp_yield(void)
{
	(void)sched_expire();
	if (runq.wq_head == NULL)
		return;
	curthread->t_state = TS_READY;
	wq_push(&runq, curthread);
	sched_switch();
}

int
hyp_sleep_until(hyp_i64 deadline_ns)
{
	if (deadline_ns <= 0)
		deadline_ns = 1;
	while (hyp_clock_ns(HYP_CLOCK_MONOTONIC) < deadline_ns)
		(void)sched_block(NULL, deadline_ns);
	return 0;
}

/* --- threads ------------------------------------------------------------ */

void
sched_thread_exit(void)
{
	struct hyp_thread *t = curthread;

	if (t->t_lwp != NULL)
		metal_lwp_exit(t->t_lwp);
	t->t_lwp = NULL;
	t->t_state = TS_DEAD;
	if (t->t_detached) {
		t->t_qnext = zombies;
		zombies = t;
	} else
		wq_wake_all(&t->t_joinq);
	sched_switch();
	metal_fatal("a dead thread was scheduled");
}

void
metal_thread_start(struct hyp_thread *t)
{
	sched_reap();
	t->t_fn(t->t_arg);
	sched_thread_exit();
}

static void
thread_free(struct hyp_thread *t)
{
	struct hyp_thread **pp;

	for (pp = &allthreads; *pp != NULL; pp = &(*pp)->t_allnext) {
		if (*pp == t) {
			*pp = t->t_allnext;
			break;
		}
	}
	nthreads--;
	vm_kstack_free(t->t_stack, THREAD_STACK);
	mem_free(t, sizeof(*t));
}

int
hyp_thread_create(void (*fn)(void *), void *arg, const char *name,
    struct hyp_thread **ret)
{
	struct hyp_thread *t;
	u64 *sp;
	int i;

	t = mem_alloc(sizeof(*t), 16);
	if (t == NULL)
		return ENOMEM;
	t->t_stack = vm_kstack_alloc(THREAD_STACK);
	if (t->t_stack == NULL) {
		mem_free(t, sizeof(*t));
		return ENOMEM;
	}
	t->t_fn = fn;
	t->t_arg = arg;
	t->t_kstack_top = (u64)(uintptr)t->t_stack + THREAD_STACK;
	t->t_uctx = NULL;
	t->t_detached = 0;
	t->t_lwp = NULL;
	t->t_timedout = 0;
	t->t_deadline = 0;
	t->t_wq = NULL;
	t->t_joinq.wq_head = t->t_joinq.wq_tail = NULL;
	for (i = 0; name != NULL && name[i] != '\0' && i < 15; i++)
		t->t_name[i] = name[i];
	t->t_name[i] = '\0';
	/*
	 * The frame metal_ctx_switch pops: six callee-saved registers (r12 =
	 * the thread) and a return into the trampoline, placed so that the
	 * trampoline's call sees a 16-byte aligned stack.
	 */
	sp = (u64 *)((uintptr)t->t_stack + THREAD_STACK);
	*--sp = (u64)(uintptr)metal_thread_trampoline;
	*--sp = 0;                      /* rbp */
	*--sp = 0;                      /* rbx */
	*--sp = (u64)(uintptr)t;        /* r12 */
	*--sp = 0;                      /* r13 */
	*--sp = 0;                      /* r14 */
	*--sp = 0;                      /* r15 */
	t->t_sp = sp;
	t->t_allnext = allthreads;
	allthreads = t;
	nthreads++;
	t->t_state = TS_READY;
	wq_push(&runq, t);
	*ret = t;
	return 0;
}

void
hyp_thread_join(struct hyp_thread *t)
{
	if (t == curthread)
		metal_fatal("thread joins itself");
	while (t->t_state != TS_DEAD)
		(void)sched_block(&t->t_joinq, 0);
	thread_free(t);
}

/* --- for user programs (uproc.c) ---------------------------------------- */

struct hyp_thread *
sched_curthread(void)
{
	return curthread;
}

void *
sched_uctx(struct hyp_thread *t)
{
	return t->t_uctx;
}

void
sched_set_uctx(struct hyp_thread *t, void *uctx)
{
	t->t_uctx = uctx;
}

u64
sched_kstack_top(struct hyp_thread *t)
{
	return t->t_kstack_top;
}

int
sched_spawn(void (*fn)(void *), void *arg, void *uctx, const char *name,
    struct hyp_thread **ret)
{
	int error = hyp_thread_create(fn, arg, name, ret);

	if (error == 0) {
		(*ret)->t_uctx = uctx;
		(*ret)->t_detached = 1;
	}
	return error;
}

int
sched_sleepq(struct waitq *wq, hyp_i64 deadline)
{
	return sched_block(wq, deadline);
}

int
sched_wakeq(struct waitq *wq, int n)
{
	int woken = 0;

	while (wq->wq_head != NULL && (n < 0 || woken < n)) {
		sched_wake(wq->wq_head, 0);
		woken++;
	}
	return woken;
}

int
sched_runnable(void)
{
	return runq.wq_head != NULL;
}

void *
hyp_curlwp(void)
{
	return curthread->t_lwp;
}

void
hyp_curlwp_set(void *lwp)
{
	curthread->t_lwp = lwp;
}

/* --- mutexes ------------------------------------------------------------ */

void
hyp_mutex_init(struct hyp_mutex *m)
{
	struct metal_mutex *mm = (struct metal_mutex *)m->opaque;

	mm->mm_owner = NULL;
	mm->mm_wq.wq_head = mm->mm_wq.wq_tail = NULL;
}

void
hyp_mutex_destroy(struct hyp_mutex *m)
{
}

void
hyp_mutex_enter(struct hyp_mutex *m)
{
	struct metal_mutex *mm = (struct metal_mutex *)m->opaque;

	if (mm->mm_owner == curthread)
		metal_fatal("mutex taken twice by one thread");
	while (mm->mm_owner != NULL)
		(void)sched_block(&mm->mm_wq, 0);
	mm->mm_owner = curthread;
}

int
hyp_mutex_tryenter(struct hyp_mutex *m)
{
	struct metal_mutex *mm = (struct metal_mutex *)m->opaque;

	if (mm->mm_owner != NULL)
		return 0;
	mm->mm_owner = curthread;
	return 1;
}

void
hyp_mutex_exit(struct hyp_mutex *m)
{
	struct metal_mutex *mm = (struct metal_mutex *)m->opaque;

	if (mm->mm_owner != curthread)
		metal_fatal("mutex released by a thread that does not hold it");
	mm->mm_owner = NULL;
	wq_wake_one(&mm->mm_wq);
}

/* --- reader-writer locks ------------------------------------------------ */

void
hyp_rw_init(struct hyp_rwlock *rw)
{
	struct metal_rwlock *mr = (struct metal_rwlock *)rw->opaque;

	mr->mr_writer = NULL;
	mr->mr_readers = 0;
	mr->mr_wq.wq_head = mr->mr_wq.wq_tail = NULL;
}

void
hyp_rw_destroy(struct hyp_rwlock *rw)
{
}

int
hyp_rw_tryenter(struct hyp_rwlock *rw, int write)
{
	struct metal_rwlock *mr = (struct metal_rwlock *)rw->opaque;

	if (mr->mr_writer != NULL || (write && mr->mr_readers != 0))
		return 0;
	if (write)
		mr->mr_writer = curthread;
	else
		mr->mr_readers++;
	return 1;
}

void
hyp_rw_enter(struct hyp_rwlock *rw, int write)
{
	struct metal_rwlock *mr = (struct metal_rwlock *)rw->opaque;

	while (!hyp_rw_tryenter(rw, write))
		(void)sched_block(&mr->mr_wq, 0);
}

void
hyp_rw_exit(struct hyp_rwlock *rw)
{
	struct metal_rwlock *mr = (struct metal_rwlock *)rw->opaque;

	if (mr->mr_writer != NULL)
		mr->mr_writer = NULL;
	else
		mr->mr_readers--;
	wq_wake_all(&mr->mr_wq);
}

/* --- condition variables ------------------------------------------------ */

void
hyp_cond_init(struct hyp_cond *c)
{
	struct metal_cond *mc = (struct metal_cond *)c->opaque;

	mc->mc_wq.wq_head = mc->mc_wq.wq_tail = NULL;
}

void
hyp_cond_destroy(struct hyp_cond *c)
{
}

/* No preemption: releasing m and queueing ourselves is already atomic. */
void
hyp_cond_wait(struct hyp_cond *c, struct hyp_mutex *m)
{
	struct metal_cond *mc = (struct metal_cond *)c->opaque;

	hyp_mutex_exit(m);
	(void)sched_block(&mc->mc_wq, 0);
	hyp_mutex_enter(m);
}

int
hyp_cond_timedwait(struct hyp_cond *c, struct hyp_mutex *m,
    hyp_i64 deadline_ns)
{
	struct metal_cond *mc = (struct metal_cond *)c->opaque;
	int timedout;

	if (hyp_clock_ns(HYP_CLOCK_MONOTONIC) >= deadline_ns)
		return ETIMEDOUT;
	hyp_mutex_exit(m);
	timedout = sched_block(&mc->mc_wq, deadline_ns);
	hyp_mutex_enter(m);
	return timedout ? ETIMEDOUT : 0;
}

void
hyp_cond_signal(struct hyp_cond *c)
{
	wq_wake_one(&((struct metal_cond *)c->opaque)->mc_wq);
}

void
hyp_cond_broadcast(struct hyp_cond *c)
{
	wq_wake_all(&((struct metal_cond *)c->opaque)->mc_wq);
}
