/*
 * The deterministic test platform's time: a clock that moves only when the
 * test moves it (hyp_test_clock_advance) or when a thread sleeps to a
 * deadline (the clock jumps there).  Everything else of the hosted
 * platform is reused; unit tests link this file in place of
 * platform/hosted/hyp_time.c, so timer behaviour does not depend on how
 * fast the machine is.
 *
 * A condition wait with a deadline in the future waits in short real-time
 * slices and reports a (permitted) spurious wakeup after each, so callers
 * re-check both their condition and the virtual clock.
 */
#include <errno.h>
#include <pthread.h>
#include <time.h>

#include "../hosted/hosted.h"

/* Virtual time: realtime = monotonic + 1.7e18 (some day in 2023). */
#define TEST_REALTIME_BASE 1700000000000000000LL

static hyp_i64 test_clock_ns = 1000000000LL;   /* [a] */

void hyp_test_clock_advance(hyp_i64 ns);
hyp_i64 hyp_test_clock_get(void);

void
hyp_test_clock_advance(hyp_i64 ns)
{
	__atomic_add_fetch(&test_clock_ns, ns, __ATOMIC_SEQ_CST);
}

hyp_i64
hyp_test_clock_get(void)
{
	return __atomic_load_n(&test_clock_ns, __ATOMIC_SEQ_CST);
}

hyp_i64
hyp_clock_ns(int clock)
{
	hyp_i64 now = hyp_test_clock_get();

	return clock == HYP_CLOCK_REALTIME ? now + TEST_REALTIME_BASE : now;
}

hyp_i64
hyp_clock_res_ns(int clock)
{
	(void)clock;
	return 1;
}

int
hyp_sleep_until(hyp_i64 deadline_ns)
{
	hyp_i64 now = hyp_test_clock_get();

	while (now < deadline_ns &&
	    !__atomic_compare_exchange_n(&test_clock_ns, &now, deadline_ns, 0,
	    __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST))
		;
	return 0;
}

int
hyp_cond_timedwait(struct hyp_cond *c, struct hyp_mutex *m, hyp_i64 deadline_ns)
{
	struct timespec ts;

	if (hyp_test_clock_get() >= deadline_ns)
		return ETIMEDOUT;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	ts.tv_nsec += 1000000;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	pthread_cond_timedwait((pthread_cond_t *)c->opaque,
	    (pthread_mutex_t *)m->opaque, &ts);
	return hyp_test_clock_get() >= deadline_ns ? ETIMEDOUT : 0;
}
