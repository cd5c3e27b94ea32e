/*
 * Shared between the hosted platform's files.
 */
#ifndef PITH_HOSTED_H
#define PITH_HOSTED_H

#include <time.h>
#include <pith/hyp.h>

static inline void
hyp_ns_to_ts(hyp_i64 ns, struct timespec *ts)
{
	if (ns < 0)
		ns = 0;
	ts->tv_sec = ns / 1000000000LL;
	ts->tv_nsec = ns % 1000000000LL;
}

#endif
