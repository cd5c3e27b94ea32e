/*
 * Scaling: fstat on separate files from one thread, then from two at
 * once.  The figure is the two-thread throughput over the one-thread
 * throughput (ideal 2.0 on two CPUs), for Pith and for the host.
 */
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <sys/stat.h>

#include <pith/pith.h>

#include "bench.h"

#define N 300000
#define RUNS 5

struct worker {
	int pith;
	int fd;
	pthread_barrier_t *bar;
	pthread_t th;
};

static void *
work(void *arg)
{
	struct worker *w = arg;
	struct stat st;
	int i;

	pthread_barrier_wait(w->bar);
	if (w->pith)
		for (i = 0; i < N; i++)
			(void)pith_sys_fstat(w->fd, &st);
	else
		for (i = 0; i < N; i++)
			(void)fstat(w->fd, &st);
	return NULL;
}

/* Operations per second with nthreads threads, best of RUNS. */
static double
rate(int pith, const int *fds, int nthreads)
{
	pthread_barrier_t bar;
	struct worker w[2];
	double best = 0, t0, r;
	int run, i;

	for (run = 0; run < RUNS; run++) {
		pthread_barrier_init(&bar, NULL, (unsigned)nthreads + 1);
		for (i = 0; i < nthreads; i++) {
			w[i].pith = pith;
			w[i].fd = fds[i];
			w[i].bar = &bar;
			if (pthread_create(&w[i].th, NULL, work, &w[i]) != 0)
				bench_die("pthread_create");
		}
		pthread_barrier_wait(&bar);
		t0 = now_ns();
		for (i = 0; i < nthreads; i++)
			pthread_join(w[i].th, NULL);
		r = (double)N * nthreads / ((now_ns() - t0) / 1e9);
		if (r > best)
			best = r;
		pthread_barrier_destroy(&bar);
	}
	return best;
}

int
main(void)
{
	char p1[] = "/dev/shm/pith-bench.XXXXXX", p2[] = "/dev/shm/pith-bench.XXXXXX";
	int pfd[2], hfd[2];
	double ps, hs;

	if (pith_init(NULL) < 0)
		bench_die("pith_init");
	pfd[0] = pith_sys_open("/tmp/a", O_CREAT | O_RDWR, 0644);
	pfd[1] = pith_sys_open("/tmp/b", O_CREAT | O_RDWR, 0644);
	hfd[0] = mkstemp(p1);
	hfd[1] = mkstemp(p2);
	if (pfd[0] < 0 || pfd[1] < 0 || hfd[0] < 0 || hfd[1] < 0)
		bench_die("open");
	ps = rate(1, pfd, 2) / rate(1, pfd, 1);
	hs = rate(0, hfd, 2) / rate(0, hfd, 1);
	unlink(p1);
	unlink(p2);
	pith_fini();
	figure("2 threads fstat scaling", ps, hs, "x 1 thread", ps);
	return 0;
}
