/*
 * Bulk data: 1 GiB written in 64 KiB write()s, then read back in 64 KiB
 * read()s.  The file is 256 MiB, written and read four times, so that the
 * kernel's memory limit (raised here to 512 MiB) holds it; the host does
 * the same on /dev/shm.  The figure is throughput (higher is better).
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <pith/pith.h>

#include "bench.h"

#define CHUNK (64 * 1024)
#define TOTAL (1L << 30)        /* one fresh 1 GiB file per run */
#define RUNS 3

struct ops {
	ssize_t (*write)(int, const void *, size_t);
	ssize_t (*read)(int, void *, size_t);
	off_t (*lseek)(int, off_t, int);
	int (*ftruncate)(int, off_t);
};

static double
run(const struct ops *o, int fd, char *buf)
{
	double t0;
	long done;

	/* Start empty: every write allocates, as the figure means. */
	if (o->ftruncate(fd, 0) != 0 || o->lseek(fd, 0, SEEK_SET) != 0)
		bench_die("ftruncate");
	t0 = now_ns();
	for (done = 0; done < TOTAL; done += CHUNK) {
		if (o->write(fd, buf, CHUNK) != CHUNK)
			bench_die("write");
	}
	o->lseek(fd, 0, SEEK_SET);
	for (done = 0; done < TOTAL; done += CHUNK) {
		if (o->read(fd, buf, CHUNK) != CHUNK)
			bench_die("read");
	}
	return now_ns() - t0;
}

int
main(void)
{
	static const struct ops pith = {
		pith_sys_write, pith_sys_read, pith_sys_lseek, pith_sys_ftruncate
	};
	static const struct ops host = { write, read, lseek, ftruncate };
	/* tmpfs data may use 3/4 of the limit: room for the 1 GiB file. */
	struct pith_config cfg = { .mem_limit = 1536UL << 20 };
	char path[] = "/dev/shm/pith-bench.XXXXXX";
	double p = 1e300, h = 1e300, t, gib = 2.0 * TOTAL / (1 << 30);
	char *buf;
	int pfd, hfd, r;

	buf = malloc(CHUNK);
	if (!buf)
		bench_die("malloc");
	memset(buf, 'x', CHUNK);
	if (pith_init(&cfg) < 0)
		bench_die("pith_init");
	pfd = pith_sys_open("/tmp/big", O_CREAT | O_RDWR, 0644);
	if (pfd < 0)
		bench_die("pith open");
	hfd = mkstemp(path);
	if (hfd < 0)
		bench_die("mkstemp");
	for (r = 0; r < RUNS; r++) {
		t = run(&pith, pfd, buf);
		if (t < p)
			p = t;
		t = run(&host, hfd, buf);
		if (t < h)
			h = t;
	}
	close(hfd);
	unlink(path);
	pith_fini();
	free(buf);
	/* GiB/s of data moved (written plus read) */
	figure("64 KiB write+read 1 GiB", gib / (p / 1e9), gib / (h / 1e9),
	    "GiB/s", h / p);
	return 0;
}
