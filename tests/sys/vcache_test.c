/*
 * The vnode cache's lock-free path: a lookup through a file system's hint
 * takes its reference with one compare-and-swap, racing the sweeper that
 * reclaims idle vnodes, unlink (whose last reference reclaims the vnode)
 * and the reuse of freed vnodes for other files.  Here more files than
 * the cache keeps (so every new file makes the sweeper run) are stat'ed
 * by two threads while a third unlinks and recreates them.  Every stat
 * must succeed with the file's own size (or 0, just made again) or fail
 * with ENOENT; the tree
 * must add up afterwards, and nothing may be held after pith_fini.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include <pith/pith.h>

#include "lib/tap.h"
#include "lib/host.h"

/* The cache keeps 65536 idle vnodes at least: go past that. */
#define NFILES 70000
#define NCHURN 3000
#define NSTAT 2

static volatile int stop;

struct worker {
	pthread_t th;
	unsigned seed;
	long ok, enoent, bad;
};

/* File i is i % 251 bytes long, so a stat can tell whose vnode it got. */
static void
name_of(int i, char *buf, size_t len)
{
	snprintf(buf, len, "/tmp/vc/f%d", i);
}

static int
make_file(int i)
{
	char name[64];
	int fd;

	name_of(i, name, sizeof(name));
	fd = pith_sys_open(name, O_CREAT | O_EXCL | O_WRONLY, 0644);
	if (fd < 0)
		return -1;
	/* Sparse: the size without a data page, to stay small. */
	if (pith_sys_ftruncate(fd, i % 251) != 0) {
		pith_sys_close(fd);
		return -1;
	}
	return pith_sys_close(fd);
}

static void *
statter(void *p)
{
	struct worker *w = p;
	struct stat st;
	char name[64];
	int i;

	while (!stop) {
		/* Mostly the churned files, sometimes any of them. */
		w->seed = w->seed * 1103515245 + 12345;
		i = (int)((w->seed >> 8) % (w->seed & 1 ? NCHURN : NFILES));
		name_of(i, name, sizeof(name));
		if (pith_sys_stat(name, &st) == 0) {
			/* Size 0: made again, not yet truncated to its size. */
			if (S_ISREG(st.st_mode) &&
			    (st.st_size == i % 251 || st.st_size == 0))
				w->ok++;
			else
				w->bad++;
		} else if (errno == ENOENT) {
			w->enoent++;
		} else {
			w->bad++;
		}
	}
	return NULL;
}

int
main(void)
{
	struct pith_config cfg = { .mem_limit = 128UL << 20 };
	struct worker w[NSTAT];
	struct stat st;
	char name[64];
	long bad = 0, ok_n = 0;
	int i, round, failed = 0, missing = 0;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (pith_init(&cfg) < 0)
		bail_out("pith_init: %s", strerror(errno));
	ok(pith_sys_mkdir("/tmp/vc", 0755) == 0, "mkdir /tmp/vc");
	for (i = 0; i < NFILES && !failed; i++)
		failed = make_file(i) != 0;
	ok(!failed, "%d files made", NFILES);

	memset(w, 0, sizeof(w));
	for (i = 0; i < NSTAT; i++) {
		w[i].seed = 12345u + (unsigned)i;
		pthread_create(&w[i].th, NULL, statter, &w[i]);
	}
	for (round = 0; round < 5 && !failed; round++) {
		for (i = 0; i < NCHURN && !failed; i++) {
			name_of(i, name, sizeof(name));
			failed = pith_sys_unlink(name) != 0 ||
			    make_file(i) != 0;
		}
	}
	stop = 1;
	for (i = 0; i < NSTAT; i++) {
		pthread_join(w[i].th, NULL);
		bad += w[i].bad;
		ok_n += w[i].ok;
	}
	ok(!failed, "unlink and recreate %d files, 5 rounds", NCHURN);
	is_int(bad, 0, "every stat saw its own file or ENOENT");
	ok(ok_n > 0, "stats succeeded (%ld)", ok_n);

	for (i = 0; i < NFILES; i++) {
		name_of(i, name, sizeof(name));
		if (pith_sys_stat(name, &st) != 0 || st.st_size != i % 251)
			missing++;
	}
	is_int(missing, 0, "every file is there with its size");
	for (i = 0; i < NFILES; i++) {
		name_of(i, name, sizeof(name));
		if (pith_sys_unlink(name) != 0)
			missing++;
	}
	ok(missing == 0 && pith_sys_rmdir("/tmp/vc") == 0, "all removed");
	pith_fini();
	host_mem_none("nothing held after pith_fini");
	return done_testing();
}
