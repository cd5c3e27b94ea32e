/*
 * Descriptors and the generic file system calls through the whole
 * kernel: dup*, fcntl, ioctl, close, the limit, error order on read,
 * write, pread, readv, lseek, the same sequence on host and Pith files,
 * and lookups racing with close in other threads.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/uio.h>

#include <pith/pith.h>

#include "lib/tap.h"

static long
res(long r)
{
	return r < 0 ? -errno : r;
}

static void
dups(void)
{
	int p[2], fd, lowest;

	pith_sys_pipe(p);
	lowest = pith_sys_dup(p[0]);
	ok(lowest > p[1], "dup gives a new descriptor");
	pith_sys_close(lowest);
	is_int(pith_sys_dup(p[0]), lowest, "lowest free descriptor reused");
	pith_sys_close(lowest);
	is_int(pith_sys_dup2(p[0], p[0]), p[0], "dup2 same fd");
	is_int(res(pith_sys_dup2(77, 77)), -EBADF, "dup2 same bad fd");
	is_int(res(pith_sys_dup2(p[0], -1)), -EBADF, "dup2 negative target");
	is_int(res(pith_sys_dup2(p[0], 1024)), -EBADF, "dup2 beyond limit");
	is_int(pith_sys_dup2(p[0], 100), 100, "dup2 to 100");
	is_int(pith_sys_fcntl(100, F_GETFD), 0, "dup2 clears cloexec");
	is_int(pith_sys_dup2(p[1], 100), 100, "dup2 over an open fd");
	is_int(pith_sys_fcntl(100, F_GETFL), O_WRONLY, "now the write end");
	is_int(res(pith_sys_dup3(p[0], p[0], 0)), -EINVAL, "dup3 same fd");
	is_int(res(pith_sys_dup3(p[0], 101, 1)), -EINVAL, "dup3 bad flags");
	is_int(pith_sys_dup3(p[0], 101, O_CLOEXEC), 101, "dup3 cloexec");
	is_int(pith_sys_fcntl(101, F_GETFD), FD_CLOEXEC, "cloexec set");
	fd = pith_sys_fcntl(p[0], F_DUPFD, 200);
	is_int(fd, 200, "F_DUPFD from 200");
	is_int(pith_sys_fcntl(p[0], F_DUPFD_CLOEXEC, 200), 201,
	    "F_DUPFD_CLOEXEC next free");
	is_int(pith_sys_fcntl(201, F_GETFD), FD_CLOEXEC, "with cloexec");
	is_int(res(pith_sys_fcntl(p[0], F_DUPFD, -1)), -EINVAL, "F_DUPFD -1");
	is_int(res(pith_sys_fcntl(p[0], F_DUPFD, 1024)), -EINVAL,
	    "F_DUPFD at limit");
	is_int(pith_sys_fcntl(201, F_SETFD, 0), 0, "F_SETFD");
	is_int(pith_sys_fcntl(201, F_GETFD), 0, "cleared");
	is_int(res(pith_sys_fcntl(p[0], 12345)), -EINVAL, "unknown cmd");
	is_int(res(pith_sys_fcntl(555, F_GETFD)), -EBADF, "fcntl bad fd");
	is_int(pith_sys_fcntl(p[0], F_SETFL, O_NONBLOCK | O_WRONLY | O_APPEND),
	    0, "F_SETFL");
	is_int(pith_sys_fcntl(p[0], F_GETFL), O_NONBLOCK | O_APPEND,
	    "access mode unchanged");
	pith_sys_close(100);
	pith_sys_close(101);
	pith_sys_close(200);
	pith_sys_close(201);
	is_int(res(pith_sys_close(201)), -EBADF, "close twice");
	is_int(res(pith_sys_close(-1)), -EBADF, "close -1");
	pith_sys_close(p[0]);
	pith_sys_close(p[1]);
}

static void
limit(void)
{
	static int fds[1100];
	int p[2], n = 0, last = 0, i;

	pith_sys_pipe(p);
	while (n < 1100) {
		int fd = pith_sys_dup(p[0]);

		if (fd < 0) {
			last = errno;
			break;
		}
		fds[n++] = fd;
	}
	is_int(last, EMFILE, "EMFILE at the limit");
	is_int(fds[n - 1], 1023, "highest descriptor 1023");
	for (i = 0; i < n; i++)
		pith_sys_close(fds[i]);
	pith_sys_close(p[0]);
	pith_sys_close(p[1]);
}

static void
ioctls(void)
{
	int p[2], n = -1, on = 1;

	pith_sys_pipe(p);
	is_int(pith_sys_ioctl(p[0], FIOCLEX), 0, "FIOCLEX");
	is_int(pith_sys_fcntl(p[0], F_GETFD), FD_CLOEXEC, "set");
	is_int(pith_sys_ioctl(p[0], FIONCLEX), 0, "FIONCLEX");
	is_int(pith_sys_fcntl(p[0], F_GETFD), 0, "cleared");
	is_int(pith_sys_ioctl(p[0], FIONBIO, &on), 0, "FIONBIO on");
	is_int(pith_sys_fcntl(p[0], F_GETFL), O_NONBLOCK, "O_NONBLOCK set");
	is_int(res(pith_sys_read(p[0], &n, 1)), -EAGAIN, "and honoured");
	on = 0;
	pith_sys_ioctl(p[0], FIONBIO, &on);
	is_int(pith_sys_fcntl(p[0], F_GETFL), 0, "FIONBIO off");
	pith_sys_write(p[1], "abc", 3);
	is_int(pith_sys_ioctl(p[1], FIONREAD, &n), 0, "FIONREAD write end");
	is_int(n, 3, "3 bytes");
	is_int(res(pith_sys_ioctl(p[0], TCGETS, &n)), -ENOTTY, "TCGETS ENOTTY");
	is_int(res(pith_sys_ioctl(p[0], 0x12345678, 0)), -ENOTTY,
	    "unknown ENOTTY");
	is_int(res(pith_sys_ioctl(666, FIONREAD, &n)), -EBADF, "ioctl EBADF");
	pith_sys_close(p[0]);
	pith_sys_close(p[1]);
}

static void
rw_errors(void)
{
	struct iovec iov[2];
	char buf[8];
	int p[2];

	pith_sys_pipe(p);
	is_int(res(pith_sys_read(p[1], buf, 1)), -EBADF, "read write end");
	is_int(res(pith_sys_write(p[0], buf, 1)), -EBADF, "write read end");
	is_int(res(pith_sys_read(p[1], buf, 0)), -EBADF,
	    "zero read still checks mode");
	is_int(pith_sys_read(p[0], buf, 0), 0, "zero read is 0");
	is_int(res(pith_sys_read(999, buf, 1)), -EBADF, "read bad fd");
	is_int(res(pith_sys_lseek(p[0], 0, SEEK_SET)), -ESPIPE, "lseek pipe");
	is_int(res(pith_sys_lseek(p[0], 0, 99)), -EINVAL, "lseek bad whence");
	is_int(res(pith_sys_pread(p[0], buf, 1, 0)), -ESPIPE, "pread pipe");
	is_int(res(pith_sys_pread(p[1], buf, 1, 0)), -ESPIPE,
	    "pread write end: ESPIPE first");
	is_int(res(pith_sys_pread(p[0], buf, 1, -1)), -EINVAL,
	    "pread negative offset");
	is_int(res(pith_sys_readv(p[0], iov, -1)), -EINVAL, "readv iovcnt -1");
	is_int(res(pith_sys_readv(p[0], iov, 1025)), -EINVAL,
	    "readv iovcnt > IOV_MAX");
	is_int(pith_sys_readv(p[0], iov, 0), 0, "readv iovcnt 0");
	iov[0] = (struct iovec){ buf, (size_t)-1 };
	is_int(res(pith_sys_writev(p[1], iov, 1)), -EFAULT,
	    "negative length: EFAULT as Linux");
	iov[0] = (struct iovec){ buf, 2 };
	iov[1] = (struct iovec){ buf + 2, 3 };
	memcpy(buf, "hello", 5);
	is_int(pith_sys_writev(p[1], iov, 2), 5, "writev");
	memset(buf, 0, sizeof(buf));
	iov[0] = (struct iovec){ buf, 1 };
	iov[1] = (struct iovec){ buf + 1, 7 };
	is_int(pith_sys_readv(p[0], iov, 2), 5, "readv");
	ok(memcmp(buf, "hello", 5) == 0, "readv data");
	pith_sys_close(p[0]);
	pith_sys_close(p[1]);
}

/* A regular file on host /dev/shm and on Pith /tmp, same steps. */
static void
regular_files(void)
{
	struct epoll_event ev = { EPOLLIN, { 0 } };
	char hname[64], buf[16];
	long h[12], q[12];
	int hfd, pfd, ep, i;

	snprintf(hname, sizeof(hname), "/dev/shm/pith_fd_test.%d", getpid());
	hfd = open(hname, O_CREAT | O_RDWR | O_TRUNC, 0600);
	pfd = pith_sys_open("/tmp/fd_test", O_CREAT | O_RDWR | O_TRUNC, 0600);
	if (hfd < 0 || pfd < 0) {
		skip(13, "cannot open regular files");
		return;
	}
	h[0] = res(write(hfd, "0123456789", 10));
	q[0] = res(pith_sys_write(pfd, "0123456789", 10));
	h[1] = res(lseek(hfd, 2, SEEK_SET));
	q[1] = res(pith_sys_lseek(pfd, 2, SEEK_SET));
	h[2] = res(read(hfd, buf, 3));
	q[2] = res(pith_sys_read(pfd, buf, 3));
	h[3] = res(lseek(hfd, 0, SEEK_CUR));
	q[3] = res(pith_sys_lseek(pfd, 0, SEEK_CUR));
	h[4] = res(pread(hfd, buf, 4, 8));
	q[4] = res(pith_sys_pread(pfd, buf, 4, 8));
	h[5] = res(lseek(hfd, 0, SEEK_CUR));
	q[5] = res(pith_sys_lseek(pfd, 0, SEEK_CUR));
	h[6] = res(fcntl(hfd, F_GETFL));
	q[6] = res(pith_sys_fcntl(pfd, F_GETFL));
	h[7] = res(fcntl(hfd, F_GETPIPE_SZ));
	q[7] = res(pith_sys_fcntl(pfd, F_GETPIPE_SZ));
	h[8] = res(lseek(hfd, -1, SEEK_SET));
	q[8] = res(pith_sys_lseek(pfd, -1, SEEK_SET));
	{
		struct flock fl = { .l_type = F_WRLCK };

		h[9] = res(fcntl(hfd, F_GETLK, &fl));
		h[10] = fl.l_type;
		fl.l_type = F_WRLCK;
		q[9] = res(pith_sys_fcntl(pfd, F_GETLK, &fl));
		q[10] = fl.l_type;
	}
	ep = epoll_create1(0);
	h[11] = res(epoll_ctl(ep, EPOLL_CTL_ADD, hfd, &ev));
	close(ep);
	ep = pith_sys_epoll_create1(0);
	q[11] = res(pith_sys_epoll_ctl(ep, EPOLL_CTL_ADD, pfd, &ev));
	pith_sys_close(ep);
	for (i = 0; i < 12; i++)
		is_int(q[i], h[i], "regular file step %d matches host", i);
	close(hfd);
	unlink(hname);
	is_int(pith_sys_close(pfd), 0, "close");
}

/* --- threads -------------------------------------------------------------- */

static volatile bool stop;
static int racefd;

static void *
closer(void *arg)
{
	int p[2];

	pith_sys_pipe(p);
	while (!stop) {
		pith_sys_dup2(p[0], racefd);
		pith_sys_close(racefd);
	}
	pith_sys_close(p[0]);
	pith_sys_close(p[1]);
	return NULL;
}

static void
close_race(void)
{
	struct stat st;
	pthread_t t;
	long good = 0, bad = 0, other = 0, i;

	racefd = 300;
	pthread_create(&t, NULL, closer, NULL);
	for (i = 0; i < 200000; i++) {
		if (pith_sys_fstat(racefd, &st) == 0) {
			if (S_ISFIFO(st.st_mode))
				good++;
			else
				other++;
		} else if (errno == EBADF) {
			bad++;
		} else {
			other++;
		}
	}
	stop = true;
	pthread_join(t, NULL);
	is_int(other, 0, "fstat racing close: a pipe or EBADF, nothing else");
	diag("found %ld, EBADF %ld", good, bad);
}

struct fsarg {
	int fd;
	long n;
};

static void *
fstat_loop(void *arg)
{
	struct fsarg *a = arg;
	struct stat st;
	long i;

	for (i = 0; i < a->n; i++)
		pith_sys_fstat(a->fd, &st);
	return NULL;
}

static double
secs(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* A figure, not a verdict: machines vary. */
static void
fstat_scaling(void)
{
	struct fsarg a[2];
	pthread_t t[2];
	double t0, one, two;
	int p[2], q[2];

	pith_sys_pipe(p);
	pith_sys_pipe(q);
	a[0] = (struct fsarg){ p[0], 1000000 };
	a[1] = (struct fsarg){ q[0], 1000000 };
	t0 = secs();
	fstat_loop(&a[0]);
	one = secs() - t0;
	t0 = secs();
	pthread_create(&t[0], NULL, fstat_loop, &a[0]);
	pthread_create(&t[1], NULL, fstat_loop, &a[1]);
	pthread_join(t[0], NULL);
	pthread_join(t[1], NULL);
	two = secs() - t0;
	diag("fstat: one thread %.0f/s, two threads %.0f/s (x%.2f)",
	    a[0].n / one, 2 * a[0].n / two, (2 * a[0].n / two) / (a[0].n / one));
	ok(1, "fstat from two threads");
	pith_sys_close(p[0]);
	pith_sys_close(p[1]);
	pith_sys_close(q[0]);
	pith_sys_close(q[1]);
}

int
main(void)
{
	if (pith_init(NULL) != 0)
		bail_out("pith_init: %s", strerror(errno));
	dups();
	limit();
	ioctls();
	rw_errors();
	regular_files();
	close_race();
	fstat_scaling();
	pith_fini();
	return done_testing();
}
