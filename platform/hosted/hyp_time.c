/*
 * Time on the hosted platform: the host's clocks, and the one lock call
 * that depends on them (a condition wait with a deadline).  Kept apart so
 * that the deterministic test platform (platform/test/) can replace just
 * this file with a clock the test moves by hand.
 */
#include <errno.h>
#include <pthread.h>
#include <time.h>

#include "hosted.h"

static clockid_t
hyp_clockid(int clock)
{
	return clock == HYP_CLOCK_REALTIME ? CLOCK_REALTIME : CLOCK_MONOTONIC;
}

hyp_i64
hyp_clock_ns(int clock)
{
	struct timespec ts;

	clock_gettime(hyp_clockid(clock), &ts);
	return (hyp_i64)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

hyp_i64
hyp_clock_res_ns(int clock)
{
	struct timespec ts;

	clock_getres(hyp_clockid(clock), &ts);
	return (hyp_i64)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

int
hyp_sleep_until(hyp_i64 deadline_ns)
{
	struct timespec ts;

	hyp_ns_to_ts(deadline_ns, &ts);
	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
		;
	return 0;
}

int
hyp_cond_timedwait(struct hyp_cond *c, struct hyp_mutex *m, hyp_i64 deadline_ns)
{
	struct timespec ts;
	int error;

	hyp_ns_to_ts(deadline_ns, &ts);
	error = pthread_cond_timedwait((pthread_cond_t *)c->opaque,
	    (pthread_mutex_t *)m->opaque, &ts);
	return error == ETIMEDOUT ? ETIMEDOUT : 0;
}

