/*
 * Concurrency through the system-call surface: several host threads in
 * one kernel at once, each doing what a real program's threads would, in
 * one shared process (one descriptor table) and in processes of their
 * own.  Afterwards the kernel's state must add up: every file created
 * and not removed is there exactly once, every byte written into a pipe
 * came out once and in order, no descriptor is left open that a thread
 * did not leave open, and after pith_fini nothing is held.
 *
 * Each thread's work is deterministic; only the interleaving is not.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/epoll.h>
#include <sys/stat.h>

#include <pith/pith.h>

#include "lib/tap.h"
#include "lib/host.h"

#define NTHREADS 4
#define ROUNDS 2000
#define PIPE_BYTES (1 << 20)

struct arg {
	int id;
	int errors;
	int own_proc;
	long check;
	pthread_t th;
};

static pthread_barrier_t start;

/* Files in a shared directory: create, write, rename, stat, unlink.
 * Thread id keeps its names disjoint; the directory is shared. */
static void *
files_body(void *p)
{
	struct arg *a = p;
	char n1[64], n2[64];
	struct stat st;
	int i, fd;

#if PITH_HOSTED
	if (a->own_proc) {
		pid_t pid = pith_proc_create(0);

		if (pid < 0 || pith_proc_switch(pid) < 0) {
			a->errors++;
			return NULL;
		}
	}
#endif
	pthread_barrier_wait(&start);
	for (i = 0; i < ROUNDS; i++) {
		snprintf(n1, sizeof(n1), "/tmp/shared/t%d-%d", a->id, i);
		snprintf(n2, sizeof(n2), "/tmp/shared/r%d-%d", a->id, i);
		fd = pith_sys_open(n1, O_CREAT | O_EXCL | O_WRONLY, 0644);
		if (fd < 0) {
			a->errors++;
			continue;
		}
		if (pith_sys_write(fd, n1, strlen(n1)) != (ssize_t)strlen(n1))
			a->errors++;
		if (pith_sys_close(fd) < 0)
			a->errors++;
		if (pith_sys_rename(n1, n2) < 0)
			a->errors++;
		if (pith_sys_stat(n2, &st) < 0 || st.st_size != (off_t)strlen(n1))
			a->errors++;
		/* keep every tenth file */
		if (i % 10 != 0 && pith_sys_unlink(n2) < 0)
			a->errors++;
	}
	return NULL;
}

/* Descriptor churn in the shared table: dup, dup2 onto a private
 * number, fcntl, close.  Every descriptor a thread gets is its own. */
static void *
fd_body(void *p)
{
	struct arg *a = p;
	int i, fd, d, target = 200 + a->id;

	pthread_barrier_wait(&start);
	for (i = 0; i < ROUNDS; i++) {
		fd = pith_sys_open("/dev/null", O_RDWR);
		if (fd < 0) {
			a->errors++;
			continue;
		}
		d = pith_sys_dup(fd);
		if (d < 0 || d == fd)
			a->errors++;
		if (pith_sys_dup2(fd, target) != target)
			a->errors++;
		if (pith_sys_fcntl(target, F_SETFD, FD_CLOEXEC) < 0 ||
		    pith_sys_fcntl(target, F_GETFD) != FD_CLOEXEC)
			a->errors++;
		if (pith_sys_close(fd) < 0 || (d >= 0 && pith_sys_close(d) < 0) ||
		    pith_sys_close(target) < 0)
			a->errors++;
	}
	return NULL;
}

struct pipe_pair {
	int fds[2];
	struct arg w, r;
};

static void *
pipe_writer(void *p)
{
	struct pipe_pair *pp = p;
	unsigned char buf[1000];
	long sent = 0;
	ssize_t n;
	int i;

	pthread_barrier_wait(&start);
	while (sent < PIPE_BYTES) {
		size_t len = sizeof(buf);

		if (len > (size_t)(PIPE_BYTES - sent))
			len = (size_t)(PIPE_BYTES - sent);
		for (i = 0; i < (int)len; i++)
			buf[i] = (unsigned char)((sent + i) * 7);
		n = pith_sys_write(pp->fds[1], buf, len);
		if (n <= 0) {
			pp->w.errors++;
			break;
		}
		sent += n;
	}
	pith_sys_close(pp->fds[1]);
	return NULL;
}

static void *
pipe_reader(void *p)
{
	struct pipe_pair *pp = p;
	unsigned char buf[1500];
	long got = 0;
	ssize_t n, i;

	pthread_barrier_wait(&start);
	for (;;) {
		n = pith_sys_read(pp->fds[0], buf, sizeof(buf));
		if (n < 0) {
			pp->r.errors++;
			break;
		}
		if (n == 0)
			break;
		for (i = 0; i < n; i++)
			if (buf[i] != (unsigned char)((got + i) * 7))
				pp->r.errors++;
		got += n;
	}
	pp->r.check = got;
	pith_sys_close(pp->fds[0]);
	return NULL;
}

/* A thread blocked in epoll_wait wakes when another writes. */
struct waiter {
	int ep, p[2], woke, errors;
};

static void *
epoll_waiter(void *arg)
{
	struct waiter *w = arg;
	struct epoll_event ev;

	pthread_barrier_wait(&start);
	if (pith_sys_epoll_wait(w->ep, &ev, 1, 10000) == 1)
		w->woke = 1;
	else
		w->errors++;
	return NULL;
}

static int
count_open_fds(void)
{
	int fd, n = 0;

	for (fd = 0; fd < 1024; fd++)
		if (pith_sys_fcntl(fd, F_GETFD) >= 0)
			n++;
	return n;
}

static int
count_dir(const char *path)
{
	char buf[8192];
	long n, off;
	int fd, cnt = 0;

	fd = pith_sys_open(path, O_RDONLY | O_DIRECTORY);
	if (fd < 0)
		return -1;
	while ((n = pith_sys_getdents64(fd, buf, sizeof(buf))) > 0)
		for (off = 0; off < n;) {
			unsigned short reclen;
			const char *name = buf + off + 19;

			memcpy(&reclen, buf + off + 16, sizeof(reclen));
			if (strcmp(name, ".") && strcmp(name, ".."))
				cnt++;
			off += reclen;
		}
	pith_sys_close(fd);
	return cnt;
}

int
main(void)
{
	struct arg fa[NTHREADS], da[NTHREADS];
	struct pipe_pair pp;
	struct waiter w;
	struct epoll_event ev;
	pthread_t wt;
	struct stat st;
	int i, fds0, errors, nthreads, kept;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (pith_init(NULL) < 0)
		bail_out("pith_init: %s", strerror(errno));
	ok(pith_sys_mkdir("/tmp/shared", 0777) == 0, "mkdir /tmp/shared");
	fds0 = count_open_fds();

	memset(fa, 0, sizeof(fa));
	memset(da, 0, sizeof(da));
	memset(&pp, 0, sizeof(pp));
	memset(&w, 0, sizeof(w));
	ok(pith_sys_pipe(pp.fds) == 0, "pipe");
	w.ep = pith_sys_epoll_create1(0);
	ok(w.ep >= 0 && pith_sys_pipe(w.p) == 0, "epoll set and pipe");
	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN;
	ok(pith_sys_epoll_ctl(w.ep, EPOLL_CTL_ADD, w.p[0], &ev) == 0,
	    "epoll_ctl ADD");

	nthreads = 2 * NTHREADS + 3;
	pthread_barrier_init(&start, NULL, (unsigned)nthreads + 1);
	for (i = 0; i < NTHREADS; i++) {
		fa[i].id = i;
		/* Half in processes of their own, where a kernel can have
		 * more than one in this host process (not in the VM). */
		fa[i].own_proc = PITH_HOSTED && i % 2;
		da[i].id = i;
		pthread_create(&fa[i].th, NULL, files_body, &fa[i]);
		pthread_create(&da[i].th, NULL, fd_body, &da[i]);
	}
	pthread_create(&pp.w.th, NULL, pipe_writer, &pp);
	pthread_create(&pp.r.th, NULL, pipe_reader, &pp);
	pthread_create(&wt, NULL, epoll_waiter, &w);
	pthread_barrier_wait(&start);
	usleep(20000);
	ok(pith_sys_write(w.p[1], "!", 1) == 1, "wake the epoll waiter");

	for (i = 0; i < NTHREADS; i++) {
		pthread_join(fa[i].th, NULL);
		pthread_join(da[i].th, NULL);
	}
	pthread_join(pp.w.th, NULL);
	pthread_join(pp.r.th, NULL);
	pthread_join(wt, NULL);

	errors = 0;
	for (i = 0; i < NTHREADS; i++)
		errors += fa[i].errors;
	is_int(errors, 0, "%d threads creating, renaming and removing files "
	    "in one directory: no failed call", NTHREADS);
	errors = 0;
	for (i = 0; i < NTHREADS; i++)
		errors += da[i].errors;
	is_int(errors, 0, "%d threads churning one descriptor table: no "
	    "failed call", NTHREADS);
	kept = NTHREADS * ((ROUNDS + 9) / 10);
	is_int(count_dir("/tmp/shared"), kept, "the directory holds exactly "
	    "the files kept");
	errors = 0;
	for (i = 0; i < NTHREADS; i++) {
		char n[64];

		snprintf(n, sizeof(n), "/tmp/shared/r%d-%d", i, ROUNDS - 10);
		if (pith_sys_stat(n, &st) < 0)
			errors++;
		snprintf(n, sizeof(n), "/tmp/shared/r%d-%d", i, ROUNDS - 9);
		if (pith_sys_stat(n, &st) == 0 || errno != ENOENT)
			errors++;
	}
	is_int(errors, 0, "kept files exist, removed ones do not");
	is_int(pp.w.errors, 0, "pipe writer: no failed write");
	is_int(pp.r.errors, 0, "pipe reader: every byte in order");
	is_int(pp.r.check, PIPE_BYTES, "pipe reader got every byte once");
	ok(w.woke && !w.errors, "a thread blocked in epoll_wait woke");
	/* the pipes of the pair were closed by their threads */
	is_int(count_open_fds(), fds0 + 3, "no descriptor leaked (epoll "
	    "set and its pipe remain)");
	pith_fini();
	host_mem_none("nothing held after pith_fini");
	return done_testing();
}
