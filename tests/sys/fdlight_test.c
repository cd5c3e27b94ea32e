/*
 * fstat looks descriptors up without taking a reference on the file
 * (fd_get_light); closing, dup2 over the slot and process exit must then
 * wait for such a lookup before they let the file go.  Here threads call
 * fstat on a descriptor number that other threads keep filling with
 * fresh, already unlinked files and emptying again, so that every close
 * frees the file and its tmpfs node: a lookup that outlived its file
 * would read freed memory (AddressSanitizer reports it in the sanitizer
 * build) or return attributes of no file the test made.  Every fstat
 * must either fail with EBADF or describe one of those files.
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

#define TARGET 40               /* the descriptor number fought over */
#define ROUNDS 20000
#define NSTAT 2
#define FILE_SIZE 12345

static volatile int stop;

struct statter {
	pthread_t th;
	long ok, ebadf, bad;
};

static void *
statter(void *p)
{
	struct statter *s = p;
	struct stat st;

	while (!stop) {
		if (pith_sys_fstat(TARGET, &st) == 0) {
			if (S_ISREG(st.st_mode) && st.st_nlink == 0 &&
			    st.st_size == FILE_SIZE)
				s->ok++;
			else
				s->bad++;
		} else if (errno == EBADF) {
			s->ebadf++;
		} else {
			s->bad++;
		}
	}
	return NULL;
}

/* One round: a fresh unlinked file of FILE_SIZE bytes lands on TARGET
 * (by dup2, replacing the last one half the time), then goes. */
static int
churn(int i)
{
	char name[64];
	int fd;

	snprintf(name, sizeof(name), "/tmp/light%d", i);
	fd = pith_sys_open(name, O_CREAT | O_RDWR, 0600);
	if (fd < 0 || pith_sys_unlink(name) != 0 ||
	    pith_sys_ftruncate(fd, FILE_SIZE) != 0)
		return -1;
	if (pith_sys_dup2(fd, TARGET) != TARGET)
		return -1;
	if (pith_sys_close(fd) != 0)
		return -1;
	if (i % 2 == 0 && pith_sys_close(TARGET) != 0)
		return -1;
	return 0;
}

int
main(void)
{
	struct statter s[NSTAT];
	struct stat st;
	long ok_total = 0, bad_total = 0;
	int i, failed = 0, pfd[2];
	pid_t pid;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (pith_init(NULL) < 0)
		bail_out("pith_init: %s", strerror(errno));

	/* Single-threaded first: no other lwp, so closes skip the wait. */
	for (i = 0; i < 100 && !failed; i++)
		failed = churn(i) != 0;
	ok(!failed, "churn with one thread");
	ok(pith_sys_fstat(TARGET, &st) == 0 && st.st_size == FILE_SIZE,
	    "fstat of the last file");

	memset(s, 0, sizeof(s));
	for (i = 0; i < NSTAT; i++)
		pthread_create(&s[i].th, NULL, statter, &s[i]);
	for (i = 0; i < ROUNDS && !failed; i++)
		failed = churn(i) != 0;
	stop = 1;
	for (i = 0; i < NSTAT; i++) {
		pthread_join(s[i].th, NULL);
		ok_total += s[i].ok;
		bad_total += s[i].bad;
	}
	ok(!failed, "%d rounds of open, unlink, dup2 and close", ROUNDS);
	is_int(bad_total, 0, "every fstat described a test file or said EBADF");
	diag("%ld good fstats, %ld EBADF", ok_total, s[0].ebadf + s[1].ebadf);

	/* Closing stays immediate: a pipe's reader sees end of file as soon
	 * as the writer's descriptor closes, other threads or not. */
	ok(pith_sys_pipe(pfd) == 0, "pipe");
	ok(pith_sys_fstat(pfd[1], &st) == 0 && S_ISFIFO(st.st_mode),
	    "fstat of the write end");
	ok(pith_sys_close(pfd[1]) == 0, "close the write end");
	{
		char c;
		is_int(pith_sys_read(pfd[0], &c, 1), 0, "reader sees EOF");
	}
	ok(pith_sys_close(pfd[0]) == 0, "close the read end");

	/* A process of our own, exited while its descriptors are open. */
#if PITH_HOSTED
	pid = pith_proc_create(PITH_PROC_COPYFDS);
	ok(pid > 0 && pith_proc_switch(pid) == 0, "switch to a child process");
	ok(pith_sys_fstat(TARGET, &st) == 0, "child inherited TARGET");
	ok(pith_proc_switch(1) == 0 && pith_proc_release(pid) == 0,
	    "release the child with its descriptors open");
#else
	(void)pid;
	skip(3, "%s", HOST_WHY_PROC);
#endif

	pith_fini();
	host_mem_none("nothing held after pith_fini");
	return done_testing();
}
