/*
 * Unit test of the kernel's locks under contention: kernel threads hammer
 * a mutex, a reader-writer lock and a condition variable, and the test
 * checks mutual exclusion (no two writers, no reader beside a writer), the
 * exact counts, and that sleepers are woken.  More threads than virtual
 * CPUs, so the CPU hand-off on blocking is exercised too.
 */
#include "kern/kern.h"
#include "kern/kern_private.h"
#include "unit/ktap.h"


#define NTHREADS 6
#define ITERS 20000

static kmutex_t mtx;
static krwlock_t rwl;
static long counter;            /* [mtx] */
static int inside_w, inside_r;  /* [a] who is inside rwl */
static int violations;          /* [a] */
static long rw_counter;         /* [rwl writer] */

static void
mutex_worker(void *arg)
{
	for (int i = 0; i < ITERS; i++) {
		mutex_enter(&mtx);
		long c = counter;
		if (i % 64 == 0)
			hyp_yield();    /* hold it across a reschedule */
		counter = c + 1;
		mutex_exit(&mtx);
	}
}

static void
rw_worker(void *arg)
{
	long id = (long)arg;

	for (int i = 0; i < ITERS; i++) {
		if ((i + id) % 4 == 0) {
			rw_enter(&rwl, RW_WRITER);
			if (__atomic_add_fetch(&inside_w, 1, __ATOMIC_SEQ_CST) != 1 ||
			    __atomic_load_n(&inside_r, __ATOMIC_SEQ_CST) != 0)
				__atomic_add_fetch(&violations, 1, __ATOMIC_SEQ_CST);
			rw_counter++;
			if (i % 128 == 0)
				hyp_yield();
			__atomic_sub_fetch(&inside_w, 1, __ATOMIC_SEQ_CST);
			rw_exit(&rwl);
		} else {
			rw_enter(&rwl, RW_READER);
			__atomic_add_fetch(&inside_r, 1, __ATOMIC_SEQ_CST);
			if (__atomic_load_n(&inside_w, __ATOMIC_SEQ_CST) != 0)
				__atomic_add_fetch(&violations, 1, __ATOMIC_SEQ_CST);
			if (i % 128 == 1)
				hyp_yield();
			__atomic_sub_fetch(&inside_r, 1, __ATOMIC_SEQ_CST);
			rw_exit(&rwl);
		}
	}
}

static kmutex_t q_mtx;
static kcondvar_t q_cv;
static int q_items, q_taken;    /* [q_mtx] */

static void
consumer(void *arg)
{
	for (;;) {
		mutex_enter(&q_mtx);
		while (q_items == 0 && q_taken < NTHREADS * 1000)
			cv_wait(&q_cv, &q_mtx);
		if (q_taken >= NTHREADS * 1000) {
			mutex_exit(&q_mtx);
			return;
		}
		q_items--;
		q_taken++;
		if (q_taken >= NTHREADS * 1000)
			cv_broadcast(&q_cv);
		mutex_exit(&q_mtx);
	}
}

static void
run(void (*fn)(void *), int n)
{
	struct kthread *t[NTHREADS];

	for (long i = 0; i < n; i++)
		if (kthread_create(fn, (void *)i, "locktest", &t[i]) != 0)
			panic("kthread_create");
	for (int i = 0; i < n; i++)
		kthread_join(t[i]);
}

int
pith_unittest_main(void)
{
	struct kthread *c[NTHREADS];

	kprintf("1..5\n");
	if (pith_kinit(NULL) != 0) {
		kprintf("Bail out! pith_kinit\n");
		return 1;
	}
	mutex_init(&mtx);
	rw_init(&rwl);
	run(mutex_worker, NTHREADS);
	ok(counter == (long)NTHREADS * ITERS, "mutex: exact count under contention");
	run(rw_worker, NTHREADS);
	ok(violations == 0, "rwlock: never two writers, never a reader beside a writer");
	ok(rw_counter == (long)NTHREADS * ITERS / 4, "rwlock: every write counted");
	ok(rwl.rw_state == 0 && mtx.mtx_state == 0, "both locks free at the end");

	mutex_init(&q_mtx);
	cv_init(&q_cv);
	for (long i = 0; i < NTHREADS; i++)
		kthread_create(consumer, (void *)i, "consumer", &c[i]);
	for (int i = 0; i < NTHREADS * 1000; i++) {
		mutex_enter(&q_mtx);
		q_items++;
		cv_signal(&q_cv);
		mutex_exit(&q_mtx);
		if (i % 100 == 0)
			hyp_yield();
	}
	for (int i = 0; i < NTHREADS; i++)
		kthread_join(c[i]);
	ok(q_taken == NTHREADS * 1000 && q_items == 0,
	    "condvar: every item taken, every consumer woken at the end");
	cv_destroy(&q_cv);
	mutex_destroy(&q_mtx);
	rw_destroy(&rwl);
	mutex_destroy(&mtx);
	pith_fini();
	return t_fail != 0;
}
