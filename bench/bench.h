/*
 * Helpers shared by the benchmark programs: a monotonic clock, best-of-N
 * timing, RSS, and the one output line bench/run.sh reads:
 *
 *	FIGURE<TAB>name<TAB>pith<TAB>host<TAB>unit<TAB>ratio
 *
 * "ratio" is the number bench/run.sh holds against the figure's target
 * (usually pith/host).  Host means the same work through libc on the
 * host kernel, files on /dev/shm (tmpfs, like Pith's).
 */
#ifndef PITH_BENCH_H
#define PITH_BENCH_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define BENCH_RUNS 5

static inline double
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static inline long
rss_kib(void)
{
	char line[256];
	long kb = -1;
	FILE *f = fopen("/proc/self/status", "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "VmRSS: %ld", &kb) == 1)
			break;
	fclose(f);
	return kb;
}

/* Best (smallest) time per operation over BENCH_RUNS runs of body,
 * which performs n operations.  Evaluates to nanoseconds per op. */
#define BEST_NS_PER_OP(n, body) ({ \
	double best_ = 1e300; \
	for (int run_ = 0; run_ < BENCH_RUNS; run_++) { \
		double t0_ = now_ns(); \
		body; \
		double t_ = (now_ns() - t0_) / (double)(n); \
		if (t_ < best_) \
			best_ = t_; \
	} \
	best_; \
})

static inline void
figure(const char *name, double pith, double host, const char *unit,
    double ratio)
{
	printf("FIGURE\t%s\t%.4g\t%.4g\t%s\t%.4g\n", name, pith, host, unit,
	    ratio);
	fflush(stdout);
}

static inline void
bench_die(const char *what)
{
	perror(what);
	exit(1);
}

#endif
