/*
 * A big directory: create, stat and unlink 100,000 files in one
 * directory, through Pith and through the host on /dev/shm.  The figure
 * is the time for the whole sequence, best of three.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <sys/stat.h>

#include <pith/pith.h>

#include "bench.h"

#define NFILES 100000
#define RUNS 3

struct ops {
	int (*open)(const char *, int, ...);
	int (*close)(int);
	int (*stat)(const char *, struct stat *);
	int (*unlink)(const char *);
};

static double
run(const struct ops *o, const char *dir)
{
	char name[256];
	struct stat st;
	double t0;
	int i, fd;

	t0 = now_ns();
	for (i = 0; i < NFILES; i++) {
		snprintf(name, sizeof(name), "%s/file%06d", dir, i);
		fd = o->open(name, O_CREAT | O_EXCL | O_WRONLY, 0644);
		if (fd < 0)
			bench_die("create");
		o->close(fd);
	}
	for (i = 0; i < NFILES; i++) {
		snprintf(name, sizeof(name), "%s/file%06d", dir, i);
		if (o->stat(name, &st) < 0)
			bench_die("stat");
	}
	for (i = 0; i < NFILES; i++) {
		snprintf(name, sizeof(name), "%s/file%06d", dir, i);
		if (o->unlink(name) < 0)
			bench_die("unlink");
	}
	return now_ns() - t0;
}

int
main(void)
{
	static const struct ops pith = {
		pith_sys_open, pith_sys_close, pith_sys_stat, pith_sys_unlink
	};
	static const struct ops host = { open, close, stat, unlink };
	char dir[] = "/dev/shm/pith-bench.XXXXXX";
	double p = 1e300, h = 1e300, t;
	int r;

	if (pith_init(NULL) < 0)
		bench_die("pith_init");
	if (pith_sys_mkdir("/tmp/big", 0755) < 0)
		bench_die("pith mkdir");
	if (mkdtemp(dir) == NULL)
		bench_die("mkdtemp");
	for (r = 0; r < RUNS; r++) {
		t = run(&pith, "/tmp/big");
		if (t < p)
			p = t;
		t = run(&host, dir);
		if (t < h)
			h = t;
	}
	rmdir(dir);
	pith_fini();
	figure("create+stat+unlink 100k", p / 1e6, h / 1e6, "ms", p / h);
	return 0;
}
