/*
 * The price of a kernel: one pith_init + pith_fini cycle, best average
 * over batches of cycles, and the growth of the process's resident set
 * over many cycles (which a leak or a cache that survives fini shows).
 */
#include <stdio.h>
#include <stdlib.h>

#include <pith/pith.h>

#include "bench.h"

#define BATCH 50
#define GROWTH_CYCLES 200

static void
cycle(void)
{
	if (pith_init(NULL) < 0)
		bench_die("pith_init");
	pith_fini();
}

int
main(void)
{
	long rss0, rss1;
	double t;
	int i;

	cycle();	/* first use of libc, page faults of the image */
	t = BEST_NS_PER_OP(BATCH, for (int k = 0; k < BATCH; k++) cycle());
	rss0 = rss_kib();
	for (i = 0; i < GROWTH_CYCLES; i++)
		cycle();
	rss1 = rss_kib();
	figure("pith_init+pith_fini", t / 1e6, 0, "ms", t / 1e6);
	figure("init/fini RSS growth (200 cycles)", (double)(rss1 - rss0) / 1024,
	    0, "MiB", (double)(rss1 - rss0) / 1024);
	return 0;
}
