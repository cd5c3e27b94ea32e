/*
 * The bare-metal self-test: the program platform/metal runs after booting.
 * It boots the kernel with pith_kinit, makes a handful of system calls
 * through pith_syscall6 -- the same door the hosted library uses -- and
 * prints a TAP verdict on the serial console, which tests/scripts/
 * metal_boot.t reads.  Returning 0 powers the machine off with the
 * "pass" status, anything else with "fail".
 *
 * Freestanding: no libc, so the few declarations it needs are here and
 * its formatting is its own.  The numbers are the Linux x86-64 ABI's.
 */
#include <pith/hyp.h>

#include "mout.h"

struct pith_kconfig {
	unsigned ncpus;
	__SIZE_TYPE__ mem_limit;
	const char *hostname;
	unsigned flags;
};

long pith_kinit(const struct pith_kconfig *cfg);
void pith_fini(void);
int main(void);
/* The platform's boot command line (QEMU -append), for the hooks below. */
const char *metal_cmdline(void);

#define SYS_read 0
#define SYS_write 1
#define SYS_open 2
#define SYS_close 3
#define SYS_fstat 5
#define SYS_lseek 8
#define SYS_nanosleep 35
#define SYS_getpid 39
#define SYS_uname 63
#define SYS_mkdir 83
#define SYS_unlink 87
#define SYS_clock_gettime 228
#define SYS_getrandom 318
#define SYS_rmdir 84
#define SYS_stat 4
#define SYS_pipe2 293

#define O_RDONLY 0
#define O_RDWR 02
#define O_CREAT 0100
#define O_EXCL 0200
#define EEXIST 17
#define ENOENT 2
#define S_IFMT 0170000
#define S_IFREG 0100000
#define CLOCK_MONOTONIC 1

/* x86-64 struct stat: only the fields checked. */
struct st_x86_64 {
	unsigned long st_dev, st_ino, st_nlink;
	unsigned st_mode, st_uid, st_gid, pad0;
	unsigned long st_rdev;
	long st_size, st_blksize, st_blocks;
	long times[6];
	long reserved[3];
};
_Static_assert(sizeof(struct st_x86_64) == 144, "struct stat is 144 bytes");

struct ts {
	long tv_sec, tv_nsec;
};

static int ntest;
static volatile unsigned long zero;
static int nfail;

/* Recurses until it runs into the guard page below its stack. */
static unsigned long
overflow(unsigned long n)
{
	volatile char pad[256];

	pad[0] = (char)n;
	if (n > (1ul << 40))            /* never: the guard page comes first */
		return 0;
	return overflow(n + 1) + pad[0];
}

static void
overflow_thread(void *arg)
{
	(void)overflow((unsigned long)arg);
}

static void
st_copy(char *d, const char *s)
{
	while ((*d++ = *s++) != '\0')
		;
}

/* Does s contain word w? */
static int
st_has(const char *s, const char *w)
{
	unsigned long n = mt_len(w);

	for (; *s != '\0'; s++)
		if (mt_eq(s, w, n))
			return 1;
	return 0;
}

static void
ok(int cond, const char *what, long got)
{
	ntest++;
	if (!cond) {
		nfail++;
		out("not ");
	}
	out("ok ");
	out_long(ntest);
	out(" - ");
	out(what);
	if (!cond) {
		out(" (got ");
		out_long(got);
		out(")");
	}
	out("\n");
}

/* Name /metal/d/fNNN into path (room for 16). */
static void
file_name(char *path, int i)
{
	st_copy(path, "/metal/d/f000");
	path[10] = (char)('0' + i / 100);
	path[11] = (char)('0' + i / 10 % 10);
	path[12] = (char)('0' + i % 10);
}

static long
many_files(void)
{
	static char block[8192];
	struct st_x86_64 st;
	char path[16];
	long r, fd;
	int i;

	for (i = 0; i < (int)sizeof(block); i++)
		block[i] = (char)i;
	if ((r = sc(SYS_mkdir, (long)"/metal/d", 0700, 0)) != 0)
		return r;
	for (i = 0; i < 200; i++) {
		file_name(path, i);
		fd = sc(SYS_open, (long)path, O_CREAT | O_EXCL | O_RDWR, 0600);
		if (fd < 0)
			return fd;
		r = sc(SYS_write, fd, (long)block, sizeof(block));
		sc(SYS_close, fd, 0, 0);
		if (r != (long)sizeof(block))
			return r < 0 ? r : -1000 - i;
	}
	for (i = 0; i < 200; i++) {
		file_name(path, i);
		if ((r = sc(SYS_stat, (long)path, (long)&st, 0)) != 0)
			return r;
		if (st.st_size != (long)sizeof(block))
			return -2000 - i;
		if ((r = sc(SYS_unlink, (long)path, 0, 0)) != 0)
			return r;
	}
	return sc(SYS_rmdir, (long)"/metal/d", 0, 0);
}

#define NTESTS 19

int
main(void)
{
	static const char msg[] = "hello from bare metal\n";
	struct pith_kconfig cfg = { 1, 16ul << 20, "pith-metal", 0 };
	struct st_x86_64 st;
	char buf[64], uts[6 * 65];
	struct ts t0, t1, nap = { 0, 20 * 1000 * 1000 };
	unsigned char rnd[32];
	int pfd[2];
	long r, fd, i, nonzero;

	/*
	 * Hooks for metal_boot.t to check the platform's failure paths:
	 * a NULL dereference (page 0 is unmapped) and hyp_panic itself.
	 */
	if (st_has(metal_cmdline(), "selftest=fault")) {
		out("# selftest: reading address 0\n");
		return *(volatile int *)(unsigned long)zero;
	}
	if (st_has(metal_cmdline(), "selftest=stack")) {
		struct hyp_thread *t;

		out("# selftest: a thread overflows its stack\n");
		if (hyp_thread_create(overflow_thread, (void *)0, "overflow", &t) == 0)
			hyp_thread_join(t);
		return 1;
	}
	if (st_has(metal_cmdline(), "selftest=panic")) {
		out("# selftest: calling hyp_panic\n");
		hyp_panic();
	}
	out("1..");
	out_long(NTESTS);
	out("\n");
	r = pith_kinit(&cfg);
	ok(r == 0, "pith_kinit boots the kernel", r);
	if (r != 0)
		return 1;

	r = sc(SYS_getpid, 0, 0, 0);
	ok(r == 1, "getpid is 1", r);
	r = sc(SYS_uname, (long)uts, 0, 0);
	ok(r == 0 && mt_eq(uts, "Linux", 6) && mt_eq(uts + 65, "pith-metal", 11),
	    "uname: Linux, hostname from the config", r);

	r = sc(SYS_mkdir, (long)"/metal", 0755, 0);
	ok(r == 0, "mkdir /metal", r);
	r = sc(SYS_mkdir, (long)"/metal", 0755, 0);
	ok(r == -EEXIST, "mkdir again: EEXIST", r);
	fd = sc(SYS_open, (long)"/metal/f", O_CREAT | O_EXCL | O_RDWR, 0644);
	ok(fd >= 0, "open O_CREAT /metal/f", fd);
	r = sc(SYS_write, fd, (long)msg, sizeof(msg) - 1);
	ok(r == (long)sizeof(msg) - 1, "write", r);
	r = sc(SYS_lseek, fd, 0, 0);
	ok(r == 0, "lseek to 0", r);
	r = sc(SYS_read, fd, (long)buf, sizeof(buf));
	ok(r == (long)sizeof(msg) - 1 && mt_eq(buf, msg, sizeof(msg) - 1),
	    "read back what was written", r);
	r = sc(SYS_fstat, fd, (long)&st, 0);
	ok(r == 0 && st.st_size == (long)sizeof(msg) - 1 &&
	    (st.st_mode & S_IFMT) == S_IFREG && (st.st_mode & 0777) == 0644,
	    "fstat: regular, size and mode", r == 0 ? st.st_size : r);
	r = sc(SYS_close, fd, 0, 0);
	ok(r == 0, "close", r);
	r = sc(SYS_unlink, (long)"/metal/f", 0, 0);
	ok(r == 0, "unlink", r);
	r = sc(SYS_open, (long)"/metal/f", O_RDONLY, 0);
	ok(r == -ENOENT, "open after unlink: ENOENT", r);

	/* Time: a 20 ms nanosleep blocks this thread and lets the clock move. */
	r = sc(SYS_clock_gettime, CLOCK_MONOTONIC, (long)&t0, 0);
	if (r == 0)
		r = sc(SYS_nanosleep, (long)&nap, 0, 0);
	if (r == 0)
		r = sc(SYS_clock_gettime, CLOCK_MONOTONIC, (long)&t1, 0);
	ok(r == 0 && (t1.tv_sec - t0.tv_sec) * 1000000000L +
	    (t1.tv_nsec - t0.tv_nsec) >= 20 * 1000 * 1000,
	    "nanosleep 20 ms on the monotonic clock", r);

	r = sc(SYS_getrandom, (long)rnd, sizeof(rnd), 0);
	for (i = 0, nonzero = 0; i < (long)sizeof(rnd); i++)
		nonzero += rnd[i] != 0;
	ok(r == (long)sizeof(rnd) && nonzero > 16, "getrandom", r);

	/* Many files, to exercise the allocator and the scheduler's locks. */
	r = many_files();
	ok(r == 0, "200 files of 8 KiB: create, stat, unlink", r);

	r = sc(SYS_pipe2, (long)pfd, 0, 0);
	if (r == 0)
		r = sc(SYS_write, pfd[1], (long)"pipe", 4);
	if (r == 4)
		r = sc(SYS_read, pfd[0], (long)buf, sizeof(buf));
	ok(r == 4 && mt_eq(buf, "pipe", 4), "pipe2, write, read", r);
	r = sc(SYS_close, pfd[0], 0, 0);
	if (r == 0)
		r = sc(SYS_close, pfd[1], 0, 0);
	ok(r == 0, "close both ends of the pipe", r);

	pith_fini();
	ok(1, "pith_fini returns", 0);
	out(nfail == 0 ? "# metal: all passed\n" : "# metal: FAILED\n");
	return nfail == 0 ? 0 : 1;
}
