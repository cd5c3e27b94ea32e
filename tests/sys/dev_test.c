/*
 * The devices in /dev, each compared with the host's own where the host
 * has it: modes and device numbers, what reads return, what writes do.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <pith/pith.h>

static int ntest;

static void
ok(int cond, const char *fmt, ...)
{
	va_list ap;

	printf("%sok %d - ", cond ? "" : "not ", ++ntest);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	if (!cond)
		printf(" (errno %d %s)", errno, strerror(errno));
	printf("\n");
	fflush(stdout);
}

static const struct {
	const char *path;
	unsigned ma, mi;
	mode_t mode;
} devs[] = {
	{ "/dev/null", 1, 3, 0666 },
	{ "/dev/zero", 1, 5, 0666 },
	{ "/dev/full", 1, 7, 0666 },
	{ "/dev/random", 1, 8, 0666 },
	{ "/dev/urandom", 1, 9, 0666 },
	{ "/dev/tty", 5, 0, 0666 },
	{ "/dev/console", 5, 1, 0600 },
};

static void
test_nodes(void)
{
	struct stat st, hst;
	size_t i;

	for (i = 0; i < sizeof(devs) / sizeof(devs[0]); i++) {
		ok(pith_sys_stat(devs[i].path, &st) == 0 && S_ISCHR(st.st_mode) &&
		    (st.st_mode & 07777) == devs[i].mode &&
		    major(st.st_rdev) == devs[i].ma &&
		    minor(st.st_rdev) == devs[i].mi,
		    "%s: char device %u,%u mode %o", devs[i].path, devs[i].ma,
		    devs[i].mi, devs[i].mode);
		/* The host's own, where it is the standard device. */
		if (devs[i].ma == 1 && stat(devs[i].path, &hst) == 0)
			ok(hst.st_rdev == st.st_rdev &&
			    (hst.st_mode & 0777) == (st.st_mode & 0777),
			    "%s: same as the host's", devs[i].path);
	}
}

/* Read n bytes from the host's path and from Pith's. */
static void
both_read(const char *path, char *hbuf, char *pbuf, size_t n, ssize_t *hr,
    ssize_t *pr)
{
	int hfd = open(path, O_RDONLY), pfd = pith_sys_open(path, O_RDONLY);

	*hr = hfd >= 0 ? read(hfd, hbuf, n) : -2;
	*pr = pfd >= 0 ? pith_sys_read(pfd, pbuf, n) : -2;
	if (hfd >= 0)
		close(hfd);
	if (pfd >= 0)
		pith_sys_close(pfd);
}

static void
test_mem(void)
{
	static char hb[65536], pb[65536], zero[65536];
	ssize_t hr, pr;
	int fd, herr, perr;

	both_read("/dev/null", hb, pb, 100, &hr, &pr);
	ok(pr == 0 && hr == pr, "null: read is EOF");
	fd = pith_sys_open("/dev/null", O_WRONLY);
	ok(pith_sys_write(fd, "abc", 3) == 3, "null: write swallowed");
	ok(pith_sys_lseek(fd, 0, SEEK_CUR) >= 0, "null: lseek works");
	pith_sys_close(fd);

	memset(pb, 1, sizeof(pb));
	both_read("/dev/zero", hb, pb, sizeof(pb), &hr, &pr);
	ok(pr == sizeof(pb) && hr == pr && memcmp(pb, zero, sizeof(pb)) == 0,
	    "zero: 64 KiB of zeros");
	fd = pith_sys_open("/dev/zero", O_RDWR);
	ok(pith_sys_write(fd, hb, 1000) == 1000, "zero: write swallowed");
	pith_sys_close(fd);

	memset(pb, 1, 100);
	both_read("/dev/full", hb, pb, 100, &hr, &pr);
	ok(pr == 100 && hr == pr && memcmp(pb, zero, 100) == 0,
	    "full: reads zeros");
	fd = pith_sys_open("/dev/full", O_WRONLY);
	errno = 0;
	pith_sys_write(fd, "x", 1);
	perr = errno;
	pith_sys_close(fd);
	fd = open("/dev/full", O_WRONLY);
	errno = 0;
	if (fd >= 0) {
		write(fd, "x", 1);
		close(fd);
	}
	herr = fd >= 0 ? errno : ENOSPC;
	ok(perr == ENOSPC && herr == perr, "full: write is ENOSPC");

	both_read("/dev/urandom", hb, pb, 64, &hr, &pr);
	ok(pr == 64 && memcmp(pb, zero, 64) != 0, "urandom: 64 random bytes");
	memcpy(hb, pb, 64);
	both_read("/dev/random", zero + 100, pb, 64, &hr, &pr);
	ok(pr == 64 && memcmp(pb, hb, 64) != 0, "random: different bytes");
	memset(zero, 0, sizeof(zero));
	fd = pith_sys_open("/dev/urandom", O_WRONLY);
	ok(pith_sys_write(fd, "seed", 4) == 4, "urandom: writes accepted");
	errno = 0;
	ok(pith_sys_ioctl(fd, TCGETS, hb) == -1 && errno == ENOTTY,
	    "urandom: TCGETS is ENOTTY");
	pith_sys_close(fd);
}

static void
test_console(void)
{
	struct winsize ws;
	struct termios t;
	char c;
	int fd;

	fd = pith_sys_open("/dev/console", O_RDWR);
	ok(fd >= 0, "console: open");
	ok(pith_sys_write(fd, "# console write\n", 16) == 16, "console: write");
	ok(pith_sys_read(fd, &c, 1) == 0, "console: read is EOF (no input)");
	errno = 0;
	ok(pith_sys_ioctl(fd, TCGETS, &t) == -1 && errno == ENOTTY,
	    "console: TCGETS is ENOTTY (not a terminal)");
	errno = 0;
	ok(pith_sys_ioctl(fd, TIOCGWINSZ, &ws) == -1 && errno == ENOTTY,
	    "console: TIOCGWINSZ is ENOTTY");
	pith_sys_close(fd);
	fd = pith_sys_open("/dev/tty", O_WRONLY);
	ok(fd >= 0 && pith_sys_write(fd, "# tty write\n", 12) == 12,
	    "tty: write");
	pith_sys_close(fd);
	ok(pith_sys_write(1, "# fd 1 write\n", 13) == 13,
	    "fd 1 is the console");
}

int
main(void)
{
	printf("1..30\n");
	fflush(stdout);
	if (pith_init(NULL) != 0) {
		printf("Bail out! pith_init: %s\n", strerror(errno));
		return 1;
	}
	test_nodes();
	test_mem();
	test_console();
	pith_fini();
	return 0;
}
