/*
 * Callouts: run a function at a monotonic deadline.
 *
 * Pending callouts sit on one queue sorted by deadline (callout_q, under
 * callout_lock).  A single kernel thread sleeps on callout_cv until the
 * earliest deadline and runs what is due through callout_run_due(), which
 * the unit tests also call directly with a clock of their own choosing.
 * A callout's function runs with no lock held; callout_running names it
 * meanwhile so that callout_halt can wait for it to finish.
 *
 * Scheduling a callout earlier than every other wakes the thread so it can
 * shorten its sleep.  The queue is a sorted list: the kernel has few
 * timers so far; a timing wheel can replace it when TCP brings thousands.
 */
#include "kern/kern.h"
#include "kern_private.h"

#define C_PENDING 0x1

static TAILQ_HEAD(, callout) callout_q;         /* [callout_lock] */
static kmutex_t callout_lock;
static kcondvar_t callout_cv;           /* the timer thread sleeps here */
static kcondvar_t callout_done_cv;      /* a running callout finished */
static struct callout *callout_running; /* [callout_lock] */
static bool callout_stopping;           /* [callout_lock] */
static struct kthread *callout_thread;

void
callout_sysinit(void)
{
	TAILQ_INIT(&callout_q);
	mutex_init(&callout_lock);
	cv_init(&callout_cv);
	cv_init(&callout_done_cv);
	callout_running = NULL;
	callout_stopping = false;
}

void
callout_init(struct callout *c, void (*fn)(void *), void *arg)
{
	c->c_fn = fn;
	c->c_arg = arg;
	c->c_deadline = 0;
	c->c_flags = 0;
}

void
callout_schedule_ns(struct callout *c, int64_t deadline_ns)
{
	struct callout *it;

	mutex_enter(&callout_lock);
	if (c->c_flags & C_PENDING)
		TAILQ_REMOVE(&callout_q, c, c_link);
	c->c_deadline = deadline_ns;
	c->c_flags |= C_PENDING;
	TAILQ_FOREACH(it, &callout_q, c_link) {
		if (it->c_deadline > deadline_ns)
			break;
	}
	if (it != NULL)
		TAILQ_INSERT_BEFORE(it, c, c_link);
	else
		TAILQ_INSERT_TAIL(&callout_q, c, c_link);
	if (TAILQ_FIRST(&callout_q) == c)
		cv_signal(&callout_cv);
	mutex_exit(&callout_lock);
}

bool
callout_stop(struct callout *c)
{
	bool pending;

	mutex_enter(&callout_lock);
	pending = (c->c_flags & C_PENDING) != 0;
	if (pending) {
		TAILQ_REMOVE(&callout_q, c, c_link);
		c->c_flags &= ~C_PENDING;
	}
	mutex_exit(&callout_lock);
	return pending;
}

void
callout_halt(struct callout *c)
{
	mutex_enter(&callout_lock);
	if (c->c_flags & C_PENDING) {
		TAILQ_REMOVE(&callout_q, c, c_link);
		c->c_flags &= ~C_PENDING;
	}
	while (callout_running == c)
		cv_wait(&callout_done_cv, &callout_lock);
	mutex_exit(&callout_lock);
}

int64_t
callout_run_due(int64_t now_ns)
{
	struct callout *c;
	int64_t next;

	mutex_enter(&callout_lock);
	while ((c = TAILQ_FIRST(&callout_q)) != NULL &&
	    c->c_deadline <= now_ns) {
		TAILQ_REMOVE(&callout_q, c, c_link);
		c->c_flags &= ~C_PENDING;
		callout_running = c;
		mutex_exit(&callout_lock);
		c->c_fn(c->c_arg);
		mutex_enter(&callout_lock);
		callout_running = NULL;
		cv_broadcast(&callout_done_cv);
	}
	next = c != NULL ? c->c_deadline : -1;
	mutex_exit(&callout_lock);
	return next;
}

static void
callout_thread_main(void *arg)
{
	int64_t next;

	mutex_enter(&callout_lock);
	while (!callout_stopping) {
		mutex_exit(&callout_lock);
		next = callout_run_due(time_mono_ns());
		mutex_enter(&callout_lock);
		if (callout_stopping)
			break;
		/* Recheck: a callout may have been scheduled meanwhile. */
		struct callout *c = TAILQ_FIRST(&callout_q);
		next = c != NULL ? c->c_deadline : -1;
		if (next < 0 || next > time_mono_ns())
			cv_timedwait(&callout_cv, &callout_lock, next);
	}
	mutex_exit(&callout_lock);
}

int
callout_thread_start(void)
{
	return kthread_create(callout_thread_main, NULL, "pith-callout",
	    &callout_thread);
}

void
callout_thread_stop(void)
{
	if (callout_thread != NULL) {
		mutex_enter(&callout_lock);
		callout_stopping = true;
		cv_signal(&callout_cv);
		mutex_exit(&callout_lock);
		kthread_join(callout_thread);
		callout_thread = NULL;
	}
	cv_destroy(&callout_done_cv);
	cv_destroy(&callout_cv);
	mutex_destroy(&callout_lock);
}
