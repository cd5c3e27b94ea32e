/*
 * pith_mem_reap through the whole kernel: files made, opened and removed
 * leave their vnodes on the vnode cache's free list and their struct
 * files on the file cache's lists, both kept type-stable for lock-free
 * lookups; a reap with no other thread inside the kernel must give them
 * (and the slabs they emptied) back, so that memory returns to where it
 * was before the files -- while a reap with another thread working stays
 * safe: that thread's lookups, through hints and descriptors, keep
 * working across it.  Afterwards the same names can be made again.
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

#define NFILES 20000

static volatile int stop;

static void
name_of(int i, char *buf, size_t n)
{
	snprintf(buf, n, "/tmp/r/f%05d", i);
}

/* Make, reopen and close every file (empty: their vnodes and files are
 * what is measured, not data pages); 0 if all went well. */
static int
make_all(void)
{
	char name[64];
	int fd, bad = 0;

	for (int i = 0; i < NFILES && !bad; i++) {
		name_of(i, name, sizeof(name));
		fd = pith_sys_open(name, O_CREAT | O_WRONLY | O_TRUNC, 0644);
		bad = fd < 0 || pith_sys_close(fd) != 0;
		fd = bad ? -1 : pith_sys_open(name, O_RDONLY);
		bad = bad || fd < 0 || pith_sys_close(fd) != 0;
	}
	return bad;
}

static int
remove_all(void)
{
	char name[64];
	int bad = 0;

	for (int i = 0; i < NFILES && !bad; i++) {
		name_of(i, name, sizeof(name));
		bad = pith_sys_unlink(name) != 0;
	}
	return bad;
}

/* Stats one file through its hint and reads it through a descriptor,
 * over and over, while the main thread reaps. */
static void *
worker(void *arg)
{
	long *bad = arg;
	struct stat st;
	char buf[4];
	int fd = pith_sys_open("/tmp/r/keep", O_RDONLY);

	while (!stop) {
		if (pith_sys_stat("/tmp/r/keep", &st) != 0 || st.st_size != 4 ||
		    pith_sys_pread(fd, buf, 4, 0) != 4 ||
		    memcmp(buf, "keep", 4) != 0)
			(*bad)++;
		int t = pith_sys_open("/tmp/r/tmp", O_CREAT | O_RDWR, 0600);
		if (t < 0 || pith_sys_close(t) != 0 ||
		    pith_sys_unlink("/tmp/r/tmp") != 0)
			(*bad)++;
	}
	pith_sys_close(fd);
	return NULL;
}

int
main(void)
{
	struct pith_config cfg = { .ncpus = 2, .mem_limit = 128UL << 20 };
	size_t m0, m1, m2, freed;
	pthread_t th;
	long bad = 0;
	int fd, reaps = 0;

	setvbuf(stdout, NULL, _IOLBF, 0);
	plan(8);
	if (pith_init(&cfg) < 0)
		bail_out("pith_init: %s", strerror(errno));
	ok(pith_sys_mkdir("/tmp/r", 0755) == 0, "mkdir /tmp/r");
	fd = pith_sys_open("/tmp/r/keep", O_CREAT | O_WRONLY, 0644);
	pith_sys_write(fd, "keep", 4);
	pith_sys_close(fd);
	pith_mem_reap();
	m0 = pith_mem_inuse();

	ok(make_all() == 0 && remove_all() == 0,
	    "%d files made, opened twice and removed", NFILES);
	m1 = pith_mem_inuse();
	freed = pith_mem_reap();
	m2 = pith_mem_inuse();
	diag("memory: %zu before, %zu with the freed files and vnodes cached, "
	    "%zu after a reap (%zu given back)", m0, m1, m2, freed);
	ok(m1 > m0 + (2u << 20), "the files' memory stayed cached");
	/*
	 * Back to the start within what the reap keeps (one empty 64 KiB
	 * slab per small class: 14) and what does not shrink (the vnode
	 * hash table, doubled for 20,000 vnodes: 256 KiB).  The freed
	 * vnodes alone are several MiB.
	 */
	ok(m2 <= m0 + (14 * 64 + 256) * 1024,
	    "a reap gives back freed vnodes, files and their slabs");

	/* Reaps while another thread works: not quiescent, nothing of
	 * its breaks. */
	pthread_create(&th, NULL, worker, &bad);
	for (int i = 0; i < 200; i++) {
		pith_mem_reap();
		reaps++;
		usleep(1000);
	}
	stop = 1;
	pthread_join(th, NULL);
	is_int(bad, 0, "a thread's stats, reads and opens held across %d reaps",
	    reaps);

	ok(make_all() == 0, "the same names made again after the reaps");
	ok(remove_all() == 0, "and removed");
	pith_fini();
	ok(pith_mem_inuse() == 0, "nothing held after pith_fini");
	return done_testing();
}
