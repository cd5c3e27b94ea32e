/*
 * Pipes through the whole kernel: the same sequences run on a host pipe
 * and on a Pith pipe must give the same results and errnos; then what
 * only threads can show (blocking, wakeups, a producer and a consumer).
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/stat.h>

#include <pith/pith.h>

#include "lib/tap.h"

/* A result with its errno, so that host and Pith compare in one go. */
static long
res(long r)
{
	return r < 0 ? -errno : r;
}

struct ops {
	const char *name;
	int (*pipe2)(int *, int);
	ssize_t (*read)(int, void *, size_t);
	ssize_t (*write)(int, const void *, size_t);
	int (*close)(int);
	int (*fcntl)(int, int, ...);
	int (*ioctl)(int, unsigned long, ...);
};

static const struct ops host = { "host", pipe2, read, write, close, fcntl,
	ioctl };
static const struct ops pith = { "pith", pith_sys_pipe2, pith_sys_read,
	pith_sys_write, pith_sys_close, pith_sys_fcntl, pith_sys_ioctl };

#define NSEQ 16

/* One fixed sequence; results land in out[]. */
static void
sequence(const struct ops *o, long *out)
{
	static char big[70000];
	char buf[16];
	int p[2], n = -1, i = 0;

	out[i++] = res(o->pipe2(p, O_NONBLOCK));
	out[i++] = res(o->read(p[0], buf, sizeof(buf)));        /* EAGAIN */
	out[i++] = res(o->write(p[1], "hello", 5));
	out[i++] = res(o->ioctl(p[0], FIONREAD, &n));
	out[i++] = n;
	out[i++] = res(o->read(p[0], buf, sizeof(buf)));
	out[i++] = res(o->read(p[1], buf, 3));                  /* EBADF */
	out[i++] = res(o->write(p[0], buf, 3));                 /* EBADF */
	out[i++] = res(o->write(p[1], big, sizeof(big)));       /* partial */
	out[i++] = res(o->write(p[1], big, 10));                /* EAGAIN */
	out[i++] = res(o->fcntl(p[0], F_GETPIPE_SZ));
	out[i++] = res(o->fcntl(p[0], F_SETPIPE_SZ, 4096));     /* EBUSY */
	out[i++] = res(o->close(p[1]));
	out[i++] = res(o->read(p[0], big, sizeof(big)));
	out[i++] = res(o->read(p[0], buf, sizeof(buf)));        /* EOF */
	out[i++] = res(o->close(p[0]));
}

static void
compare_with_host(void)
{
	long h[NSEQ], p[NSEQ];
	int i;

	sequence(&host, h);
	sequence(&pith, p);
	for (i = 0; i < NSEQ; i++)
		is_int(p[i], h[i], "sequence step %d matches host", i);
}

static void
epipe(void)
{
	int p[2], hp[2];

	signal(SIGPIPE, SIG_IGN);
	pith_sys_pipe(p);
	pipe(hp);
	pith_sys_close(p[0]);
	close(hp[0]);
	is_int(res(pith_sys_write(p[1], "x", 1)), res(write(hp[1], "x", 1)),
	    "write with no reader: EPIPE as host");
	is_int(res(pith_sys_write(p[1], "x", 0)), 0, "zero write is 0");
	pith_sys_close(p[1]);
	close(hp[1]);
}

static void
flags_and_sizes(void)
{
	struct stat st;
	int p[2];

	is_int(res(pith_sys_pipe2(p, 0x1)), -EINVAL, "pipe2 bad flags");
	is_int(res(pith_sys_pipe2(p, O_CLOEXEC | O_DIRECT)), 0, "pipe2 flags");
	is_int(pith_sys_fcntl(p[0], F_GETFD), FD_CLOEXEC, "O_CLOEXEC set");
	is_int(pith_sys_fcntl(p[0], F_GETFL), O_DIRECT, "F_GETFL read end");
	is_int(pith_sys_fcntl(p[1], F_GETFL), O_WRONLY | O_DIRECT,
	    "F_GETFL write end");
	is_int(pith_sys_fcntl(p[0], F_GETPIPE_SZ), 65536, "default 64 KiB");
	is_int(pith_sys_fcntl(p[0], F_SETPIPE_SZ, 100), 4096, "round to a page");
	is_int(pith_sys_fcntl(p[1], F_SETPIPE_SZ, 70000), 131072,
	    "round to a power of two");
	is_int(res(pith_sys_fcntl(p[1], F_SETPIPE_SZ, 2 << 20)), -EPERM,
	    "above 1 MiB: EPERM");
	is_int(pith_sys_fcntl(p[1], F_GETPIPE_SZ), 131072, "size kept");
	ok(pith_sys_fstat(p[0], &st) == 0 && st.st_mode == (S_IFIFO | 0600) &&
	    st.st_blksize == 4096 && st.st_nlink == 1 && st.st_size == 0,
	    "fstat: fifo 0600");
	pith_sys_close(p[0]);
	pith_sys_close(p[1]);
}

/* --- threads ------------------------------------------------------------ */

#define STREAM (4 << 20)

static int tp[2];

static void *
producer(void *arg)
{
	static unsigned char chunk[9000];
	size_t sent = 0;
	unsigned seed = 1;

	while (sent < STREAM) {
		size_t n = 1 + rand_r(&seed) % sizeof(chunk), i;
		ssize_t w;

		n = n < STREAM - sent ? n : STREAM - sent;
		for (i = 0; i < n; i++)
			chunk[i] = (unsigned char)((sent + i) * 7);
		w = pith_sys_write(tp[1], chunk, n);
		if (w != (ssize_t)n)
			return (void *)1;
		sent += n;
	}
	pith_sys_close(tp[1]);
	return NULL;
}

static void
producer_consumer(void)
{
	static unsigned char buf[5000];
	pthread_t t;
	size_t got = 0;
	bool good = true;
	void *r;
	ssize_t n;

	pith_sys_pipe(tp);
	pthread_create(&t, NULL, producer, NULL);
	while ((n = pith_sys_read(tp[0], buf, sizeof(buf))) > 0) {
		for (ssize_t i = 0; i < n; i++)
			if (buf[i] != (unsigned char)((got + i) * 7))
				good = false;
		got += n;
	}
	pthread_join(t, &r);
	ok(r == NULL, "producer wrote everything");
	is_int(n, 0, "consumer sees EOF");
	is_int((long)got, STREAM, "every byte arrived");
	ok(good, "in order");
	pith_sys_close(tp[0]);
}

static void *
late_writer(void *arg)
{
	struct timespec ts = { 0, 50 * 1000 * 1000 };

	nanosleep(&ts, NULL);
	pith_sys_write(tp[1], "late", 4);
	return NULL;
}

/* Atomic writes: concurrent PIPE_BUF-sized writes never interleave. */
static void *
atomic_writer(void *arg)
{
	static char blocks[2][4096];
	int id = (int)(intptr_t)arg, i;

	memset(blocks[id], 'a' + id, sizeof(blocks[id]));
	for (i = 0; i < 200; i++)
		if (pith_sys_write(tp[1], blocks[id], 4096) != 4096)
			return (void *)1;
	return NULL;
}

static void
blocking(void)
{
	static char buf[4096];
	pthread_t t, t2;
	bool whole = true;
	char b[8];
	int i;

	pith_sys_pipe(tp);
	pthread_create(&t, NULL, late_writer, NULL);
	is_int(pith_sys_read(tp[0], b, sizeof(b)), 4, "blocking read woken");
	pthread_join(t, NULL);

	pthread_create(&t, NULL, atomic_writer, (void *)0);
	pthread_create(&t2, NULL, atomic_writer, (void *)1);
	for (i = 0; i < 400; i++) {
		size_t got = 0;

		while (got < sizeof(buf)) {
			ssize_t n = pith_sys_read(tp[0], buf + got, sizeof(buf) - got);

			if (n <= 0)
				break;
			got += n;
		}
		if (memchr(buf, buf[0] == 'a' ? 'b' : 'a', sizeof(buf)) != NULL)
			whole = false;
	}
	pthread_join(t, NULL);
	pthread_join(t2, NULL);
	ok(whole, "PIPE_BUF writes are atomic");
	pith_sys_close(tp[0]);
	pith_sys_close(tp[1]);
}

int
main(void)
{
	if (pith_init(NULL) != 0)
		bail_out("pith_init: %s", strerror(errno));
	compare_with_host();
	epipe();
	flags_and_sizes();
	producer_consumer();
	blocking();
	pith_fini();
	return done_testing();
}
