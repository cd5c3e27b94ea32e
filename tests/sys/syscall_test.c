/*
 * System-call conformance: Pith against the host's own Linux kernel.
 *
 * Every script below is a fixed sequence of operations written once
 * against struct be, a table of function pointers with libc's signatures.
 * The host backend points at libc (run in a fresh directory on /dev/shm,
 * which is tmpfs, like Pith's root); the pith backend points at
 * pith_sys_*.  Each operation's result (return value, errno, and chosen
 * stat fields) is appended to a log; the two logs are then compared entry
 * by entry, one TAP line each.  Entries may also carry the errno Linux
 * documents, checked against Pith alone when the host cannot be asked
 * (not root, no second file system, mount).
 *
 * Both backends run each script in a forked child, so a crash or a hang
 * in one script costs only that script, and every Pith script gets a
 * freshly booted kernel.  Logs travel back through a shared mapping.
 *
 * In the VM (musl build, PITH_METAL) there is no host to ask: the host's
 * logs are the ones the hosted run recorded (tests/lib/oracle.h), each
 * Pith script runs in a forked child of the one running kernel, in a
 * directory of its own (its log in the same shared mapping).
 *
 * Arguments name scripts to run (default: all).  Compiled with
 * -DSC_SELFTEST both sides are the host, which checks the suite itself:
 * every comparison must pass and no documented value may disagree.
 */
#include <dirent.h>
#include <grp.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/select.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <linux/falloc.h>
#include <linux/magic.h>

#include <pith/pith.h>

#include "lib/tap.h"
#include "lib/host.h"
#include "lib/oracle.h"

#ifndef RENAME_NOREPLACE
#define RENAME_NOREPLACE (1 << 0)
#define RENAME_EXCHANGE (1 << 1)
#endif
#ifndef AT_EACCESS
#define AT_EACCESS 0x200
#endif

#if PITH_HOSTED
/* libc lacks (or emulates) these; the host backend calls the kernel. */
static ssize_t
h_getdents64(int fd, void *buf, size_t n)
{
	return syscall(SYS_getdents64, fd, buf, n);
}

static int
h_faccessat2(int dirfd, const char *path, int mode, int flags)
{
	return (int)syscall(SYS_faccessat2, dirfd, path, mode, flags);
}

/* The kernel's poll, not a sanitizer's interceptor that reads every
 * pollfd before the kernel can refuse an absurd nfds. */
static int
h_poll(struct pollfd *fds, nfds_t nfds, int timeout)
{
	return (int)syscall(SYS_poll, fds, nfds, timeout);
}

static int
h_epoll_create(int size)
{
	return (int)syscall(SYS_epoll_create, size);
}
#endif

/*
 * The operations: X(return type, field, host function, pith function,
 * (argument types)).
 */
#define BE_OPS(X) \
	X(int, open, open, pith_sys_open, (const char *, int, ...)) \
	X(int, openat, openat, pith_sys_openat, (int, const char *, int, ...)) \
	X(int, creat, creat, pith_sys_creat, (const char *, mode_t)) \
	X(int, close, close, pith_sys_close, (int)) \
	X(ssize_t, read, read, pith_sys_read, (int, void *, size_t)) \
	X(ssize_t, write, write, pith_sys_write, (int, const void *, size_t)) \
	X(ssize_t, pread, pread, pith_sys_pread64, (int, void *, size_t, off_t)) \
	X(ssize_t, pwrite, pwrite, pith_sys_pwrite64, (int, const void *, size_t, off_t)) \
	X(ssize_t, readv, readv, pith_sys_readv, (int, const struct iovec *, int)) \
	X(ssize_t, writev, writev, pith_sys_writev, (int, const struct iovec *, int)) \
	X(ssize_t, preadv, preadv, pith_sys_preadv, (int, const struct iovec *, int, off_t)) \
	X(ssize_t, pwritev, pwritev, pith_sys_pwritev, (int, const struct iovec *, int, off_t)) \
	X(off_t, lseek, lseek, pith_sys_lseek, (int, off_t, int)) \
	X(int, stat, stat, pith_sys_stat, (const char *, struct stat *)) \
	X(int, fstat, fstat, pith_sys_fstat, (int, struct stat *)) \
	X(int, lstat, lstat, pith_sys_lstat, (const char *, struct stat *)) \
	X(int, fstatat, fstatat, pith_sys_newfstatat, (int, const char *, struct stat *, int)) \
	X(int, statx, statx, pith_sys_statx, (int, const char *, int, unsigned int, struct statx *)) \
	X(int, access, access, pith_sys_access, (const char *, int)) \
	X(int, faccessat, faccessat, pith_sys_faccessat, (int, const char *, int, int)) \
	X(int, faccessat2, h_faccessat2, pith_sys_faccessat2, (int, const char *, int, int)) \
	X(int, mkdir, mkdir, pith_sys_mkdir, (const char *, mode_t)) \
	X(int, mkdirat, mkdirat, pith_sys_mkdirat, (int, const char *, mode_t)) \
	X(int, rmdir, rmdir, pith_sys_rmdir, (const char *)) \
	X(int, unlink, unlink, pith_sys_unlink, (const char *)) \
	X(int, unlinkat, unlinkat, pith_sys_unlinkat, (int, const char *, int)) \
	X(int, rename, rename, pith_sys_rename, (const char *, const char *)) \
	X(int, renameat, renameat, pith_sys_renameat, (int, const char *, int, const char *)) \
	X(int, renameat2, renameat2, pith_sys_renameat2, (int, const char *, int, const char *, unsigned int)) \
	X(int, link, link, pith_sys_link, (const char *, const char *)) \
	X(int, linkat, linkat, pith_sys_linkat, (int, const char *, int, const char *, int)) \
	X(int, symlink, symlink, pith_sys_symlink, (const char *, const char *)) \
	X(int, symlinkat, symlinkat, pith_sys_symlinkat, (const char *, int, const char *)) \
	X(ssize_t, readlink, readlink, pith_sys_readlink, (const char *, char *, size_t)) \
	X(ssize_t, readlinkat, readlinkat, pith_sys_readlinkat, (int, const char *, char *, size_t)) \
	X(int, chmod, chmod, pith_sys_chmod, (const char *, mode_t)) \
	X(int, fchmod, fchmod, pith_sys_fchmod, (int, mode_t)) \
	X(int, fchmodat, fchmodat, pith_sys_fchmodat, (int, const char *, mode_t, int)) \
	X(int, chown, chown, pith_sys_chown, (const char *, uid_t, gid_t)) \
	X(int, fchown, fchown, pith_sys_fchown, (int, uid_t, gid_t)) \
	X(int, lchown, lchown, pith_sys_lchown, (const char *, uid_t, gid_t)) \
	X(int, fchownat, fchownat, pith_sys_fchownat, (int, const char *, uid_t, gid_t, int)) \
	X(int, truncate, truncate, pith_sys_truncate, (const char *, off_t)) \
	X(int, ftruncate, ftruncate, pith_sys_ftruncate, (int, off_t)) \
	X(int, fallocate, fallocate, pith_sys_fallocate, (int, int, off_t, off_t)) \
	X(int, fsync, fsync, pith_sys_fsync, (int)) \
	X(int, fdatasync, fdatasync, pith_sys_fdatasync, (int)) \
	X(void, sync, sync, pith_sys_sync, (void)) \
	X(int, syncfs, syncfs, pith_sys_syncfs, (int)) \
	X(ssize_t, getdents64, h_getdents64, pith_sys_getdents64, (int, void *, size_t)) \
	X(int, chdir, chdir, pith_sys_chdir, (const char *)) \
	X(int, fchdir, fchdir, pith_sys_fchdir, (int)) \
	X(char *, getcwd, getcwd, pith_sys_getcwd, (char *, size_t)) \
	X(mode_t, umask, umask, pith_sys_umask, (mode_t)) \
	X(int, utimensat, utimensat, pith_sys_utimensat, (int, const char *, const struct timespec *, int)) \
	X(int, dup, dup, pith_sys_dup, (int)) \
	X(int, dup2, dup2, pith_sys_dup2, (int, int)) \
	X(int, dup3, dup3, pith_sys_dup3, (int, int, int)) \
	X(int, fcntl, fcntl, pith_sys_fcntl, (int, int, ...)) \
	X(int, ioctl, ioctl, pith_sys_ioctl, (int, unsigned long, ...)) \
	X(int, pipe, pipe, pith_sys_pipe, (int *)) \
	X(int, pipe2, pipe2, pith_sys_pipe2, (int *, int)) \
	X(int, poll, h_poll, pith_sys_poll, (struct pollfd *, nfds_t, int)) \
	X(int, ppoll, ppoll, pith_sys_ppoll, (struct pollfd *, nfds_t, const struct timespec *, const sigset_t *)) \
	X(int, select, select, pith_sys_select, (int, fd_set *, fd_set *, fd_set *, struct timeval *)) \
	X(int, pselect, pselect, pith_sys_pselect6, (int, fd_set *, fd_set *, fd_set *, const struct timespec *, const sigset_t *)) \
	X(int, epoll_create, h_epoll_create, pith_sys_epoll_create, (int)) \
	X(int, epoll_create1, epoll_create1, pith_sys_epoll_create1, (int)) \
	X(int, epoll_ctl, epoll_ctl, pith_sys_epoll_ctl, (int, int, int, struct epoll_event *)) \
	X(int, epoll_wait, epoll_wait, pith_sys_epoll_wait, (int, struct epoll_event *, int, int)) \
	X(int, epoll_pwait, epoll_pwait, pith_sys_epoll_pwait, (int, struct epoll_event *, int, int, const sigset_t *)) \
	X(int, statfs, statfs, pith_sys_statfs, (const char *, struct statfs *)) \
	X(int, fstatfs, fstatfs, pith_sys_fstatfs, (int, struct statfs *)) \
	X(pid_t, getpid, getpid, pith_sys_getpid, (void)) \
	X(pid_t, getppid, getppid, pith_sys_getppid, (void)) \
	X(uid_t, getuid, getuid, pith_sys_getuid, (void)) \
	X(uid_t, geteuid, geteuid, pith_sys_geteuid, (void)) \
	X(gid_t, getgid, getgid, pith_sys_getgid, (void)) \
	X(gid_t, getegid, getegid, pith_sys_getegid, (void)) \
	X(int, setuid, setuid, pith_sys_setuid, (uid_t)) \
	X(int, setgid, setgid, pith_sys_setgid, (gid_t)) \
	X(int, setresuid, setresuid, pith_sys_setresuid, (uid_t, uid_t, uid_t)) \
	X(int, setresgid, setresgid, pith_sys_setresgid, (gid_t, gid_t, gid_t)) \
	X(int, getgroups, getgroups, pith_sys_getgroups, (int, gid_t *)) \
	X(int, setgroups, setgroups, pith_sys_setgroups, (size_t, const gid_t *)) \
	X(int, clock_gettime, clock_gettime, pith_sys_clock_gettime, (clockid_t, struct timespec *)) \
	X(int, clock_getres, clock_getres, pith_sys_clock_getres, (clockid_t, struct timespec *)) \
	X(int, nanosleep, nanosleep, pith_sys_nanosleep, (const struct timespec *, struct timespec *)) \
	X(int, clock_nanosleep, clock_nanosleep, pith_sys_clock_nanosleep, (clockid_t, int, const struct timespec *, struct timespec *)) \
	X(ssize_t, getrandom, getrandom, pith_sys_getrandom, (void *, size_t, unsigned int)) \
	X(int, uname, uname, pith_sys_uname, (struct utsname *)) \
	X(int, mount, mount, pith_sys_mount, (const char *, const char *, const char *, unsigned long, const void *)) \
	X(int, umount2, umount2, pith_sys_umount2, (const char *, int))

#define MAXREC 600

/* What Linux documents for an entry, checked on Pith alone when the
 * host cannot be asked. */
enum { W_NONE, W_ERR, W_RET };

/* One logged result.  what points into the program image (the same in a
 * forked child), so logs may be compared across processes. */
struct rec {
	const char *what;
	int line;
	int wkind;
	long ret;
	int err;	/* errno when ret < 0, else 0 */
	long want;	/* W_ERR: errno, 0 meaning success; W_RET: the value */
};

struct log {
	int n;
	int overflow;
	struct rec r[MAXREC];
};

struct be {
	const char *name;
	int pith;
	const char *xdir;	/* a directory on another file system */
	struct log *log;
#define X(ret, f, h, p, args) ret (*f) args;
	BE_OPS(X)
#undef X
};

#if PITH_HOSTED
static const struct be host_be = {
	.name = "host",
	.pith = 0,
#define X(ret, f, h, p, args) .f = h,
	BE_OPS(X)
#undef X
};
#endif

#ifdef SC_SELFTEST
#define PITH_FN(h, p) h
#else
#define PITH_FN(h, p) p
#endif

static const struct be pith_be = {
	.name = "pith",
	.pith = 1,
#define X(ret, f, h, p, args) .f = PITH_FN(h, p),
	BE_OPS(X)
#undef X
};

static void
rec(struct be *b, const char *what, int line, long ret, int err, int wkind,
    long want)
{
	struct log *l = b->log;
	struct rec *r;

	if (l->n >= MAXREC) {
		l->overflow = 1;
		return;
	}
	r = &l->r[l->n++];
	r->what = what;
	r->line = line;
	r->ret = ret;
	r->err = ret < 0 ? err : 0;
	r->wkind = wkind;
	r->want = want;
}

/*
 * C(expr): log expr's value and errno.  E(expr, err): also state the
 * errno Linux gives (0: it must succeed).  R(expr, val): state the value
 * Linux returns.  V(name, value): log a computed value.
 */
#define LOGCALL(expr, k, w) do { \
	long r_; \
	errno = 0; \
	r_ = (long)(expr); \
	rec(b, #expr, __LINE__, r_, errno, (k), (w)); \
} while (0)
#define C(expr) LOGCALL(expr, W_NONE, 0)
#define E(expr, w) LOGCALL(expr, W_ERR, w)
#define R(expr, w) LOGCALL(expr, W_RET, w)
#define V(name, val) rec(b, name, __LINE__, (long)(val), 0, W_NONE, 0)

/* Log a stat call and, when it worked, the fields both kernels must
 * agree on (the size of a directory is the file system's business). */
#define ST(expr, stp) do { \
	long r_; \
	memset((stp), 0, sizeof(*(stp))); \
	errno = 0; \
	r_ = (long)(expr); \
	rec(b, #expr, __LINE__, r_, errno, W_NONE, 0); \
	if (r_ == 0) \
		log_stat(b, __LINE__, (stp)); \
} while (0)

static void
log_stat(struct be *b, int line, const struct stat *st)
{
	rec(b, "  .st_mode", line, st->st_mode, 0, W_NONE, 0);
	rec(b, "  .st_nlink", line, (long)st->st_nlink, 0, W_NONE, 0);
	rec(b, "  .st_uid", line, st->st_uid, 0, W_NONE, 0);
	rec(b, "  .st_gid", line, st->st_gid, 0, W_NONE, 0);
	if (!S_ISDIR(st->st_mode))
		rec(b, "  .st_size", line, st->st_size, 0, W_NONE, 0);
}

/* FNV-1a: fingerprints of data read back. */
static long
hash(const void *p, size_t n)
{
	const unsigned char *s = p;
	uint64_t h = 1469598103934665603ull;

	while (n--)
		h = (h ^ *s++) * 1099511628211ull;
	return (long)(h & 0x7fffffffffffffffull);
}

#define S_ROOT	0x1	/* the host must be root to compare */
#define S_XDEV	0x2	/* needs a directory on another file system */
#define S_PITH	0x4	/* Pith only: entries are checked against want */
#define S_PROC	0x8	/* Pith runs it in a new process */

struct script {
	const char *name;
	void (*fn)(struct be *);
	unsigned flags;
};

/* ------------------------------------------------------------------ */

static void
mkfile(struct be *b, const char *path, const char *data)
{
	int fd = b->open(path, O_CREAT | O_WRONLY | O_TRUNC, 0644);

	if (fd >= 0) {
		if (data)
			(void)!b->write(fd, data, strlen(data));
		b->close(fd);
	}
}

static void
s_open(struct be *b)
{
	struct stat st;
	char longname[300], longpath[5000], buf_small[4];
	int i, ph;

	C(b->mkdir("d", 0755));
	mkfile(b, "f", "hello");
	C(b->symlink("f", "lnk"));
	C(b->symlink("nowhere", "dangling"));
	E(b->open("new", O_CREAT | O_EXCL | O_RDWR, 0666), 0);
	ST(b->stat("new", &st), &st);
	E(b->open("new", O_CREAT | O_EXCL | O_RDWR, 0666), EEXIST);
	E(b->open("lnk", O_CREAT | O_EXCL | O_RDWR, 0666), EEXIST);
	E(b->open("missing", O_RDONLY), ENOENT);
	E(b->open("nodir/x", O_RDONLY), ENOENT);
	E(b->open("nodir/x", O_CREAT | O_RDWR, 0644), ENOENT);
	E(b->open("f/x", O_RDONLY), ENOTDIR);
	E(b->open("f/", O_RDONLY), ENOTDIR);
	E(b->open("d", O_WRONLY), EISDIR);
	E(b->open("d", O_RDWR), EISDIR);
	C(b->open("d", O_RDONLY));
	E(b->open("f", O_RDONLY | O_DIRECTORY), ENOTDIR);
	E(b->open("new2/", O_CREAT | O_RDWR, 0644), EISDIR);
	E(b->open("d", O_CREAT | O_RDWR, 0644), EISDIR);
	E(b->open("", O_RDONLY), ENOENT);
	E(b->open("lnk", O_RDONLY | O_NOFOLLOW), ELOOP);
	C(b->open("dangling", O_RDONLY));
	E(b->open("dangling", O_CREAT | O_EXCL | O_RDWR, 0600), EEXIST);
	C(b->open("dangling", O_CREAT | O_RDWR, 0600));
	ST(b->stat("nowhere", &st), &st);
	memset(longname, 'x', 256);
	longname[256] = '\0';
	E(b->open(longname, O_CREAT | O_RDWR, 0644), ENAMETOOLONG);
	longname[255] = '\0';
	E(b->open(longname, O_CREAT | O_RDWR, 0644), 0);
	for (i = 0; i < 4998; i += 2) {
		longpath[i] = 'd';
		longpath[i + 1] = '/';
	}
	longpath[4998] = 'f';
	longpath[4999] = '\0';
	E(b->open(longpath, O_RDONLY), ENAMETOOLONG);
	/* O_TRUNC empties; mode honours the umask. */
	C(b->open("f", O_WRONLY | O_TRUNC));
	ST(b->stat("f", &st), &st);
	C(b->umask(022));
	C(b->open("m777", O_CREAT | O_RDWR, 0777));
	ST(b->stat("m777", &st), &st);
	C(b->creat("c", 0640));
	ST(b->stat("c", &st), &st);
	C(b->creat("d", 0640));
	/* openat relative to a directory descriptor, a file, a bad fd. */
	C(i = b->open("d", O_RDONLY | O_DIRECTORY));
	C(b->openat(i, "in", O_CREAT | O_RDWR, 0600));
	ST(b->stat("d/in", &st), &st);
	E(b->openat(999, "in", O_RDONLY), EBADF);
	E(b->openat(-5, "in", O_RDONLY), EBADF);
	C(i = b->open("f", O_RDONLY));
	E(b->openat(i, "in", O_RDONLY), ENOTDIR);
	C(b->openat(AT_FDCWD, "f", O_RDONLY));
	E(b->open("f", O_RDONLY | 0x40000000), 0);
	/* O_PATH: a handle for naming, not for I/O */
	E(ph = b->open("f", O_PATH), 0);
	E(b->read(ph, buf_small, 1), EBADF);
	E(b->write(ph, "x", 1), EBADF);
	ST(b->fstat(ph, &st), &st);
	C(b->fcntl(ph, F_GETFL));
	E(b->fchmod(ph, 0600), EBADF);
	E(b->close(ph), 0);
	E(ph = b->open("lnk", O_PATH | O_NOFOLLOW), 0);
	ST(b->fstat(ph, &st), &st);
	E(b->close(ph), 0);
	E(ph = b->open("d", O_PATH | O_DIRECTORY), 0);
	ST(b->fstatat(ph, "in", &st, 0), &st);
	E(b->fchdir(ph), 0);
	ST(b->stat("in", &st), &st);
	E(b->chdir(".."), 0);
	C(b->close(ph));
	E(b->symlink("f", "newlink/"), ENOENT);
	E(b->close(-1), EBADF);
	E(b->close(i), 0);
	E(b->close(i), EBADF);
	E(b->close(5000), EBADF);
}

static void
s_rw(struct be *b)
{
	char buf[64];
	struct iovec iov[3];
	struct stat st;
	int fd, ro, wo, d, p[2];

	C(fd = b->open("f", O_CREAT | O_RDWR, 0644));
	E(b->write(fd, "0123456789", 10), 0);
	C(b->lseek(fd, 0, SEEK_CUR));
	C(b->lseek(fd, 2, SEEK_SET));
	memset(buf, 0, sizeof(buf));
	C(b->read(fd, buf, 4));
	V("data", hash(buf, 4));
	C(b->read(fd, buf, sizeof(buf)));
	C(b->read(fd, buf, sizeof(buf)));
	C(b->lseek(fd, -3, SEEK_END));
	E(b->lseek(fd, -100, SEEK_SET), EINVAL);
	E(b->lseek(fd, -100, SEEK_CUR), EINVAL);
	E(b->lseek(fd, 0, 17), EINVAL);
	C(b->lseek(fd, 100, SEEK_SET));
	C(b->write(fd, "X", 1));
	ST(b->fstat(fd, &st), &st);
	C(b->pread(fd, buf, 20, 95));
	V("hole", hash(buf, 6));
	C(b->lseek(fd, 0, SEEK_DATA));
	C(b->lseek(fd, 0, SEEK_HOLE));
	E(b->lseek(fd, 200, SEEK_DATA), ENXIO);
	C(b->pwrite(fd, "ab", 2, 3));
	C(b->lseek(fd, 0, SEEK_CUR));
	E(b->pread(fd, buf, 4, -1), EINVAL);
	E(b->pwrite(fd, buf, 4, -1), EINVAL);
	C(b->pread(fd, buf, 10, 0));
	V("data", hash(buf, 10));
	C(b->pread(fd, buf, 10, 1000));
	C(b->write(fd, buf, 0));
	C(b->read(fd, buf, 0));
	/* vectors */
	iov[0].iov_base = "AA";
	iov[0].iov_len = 2;
	iov[1].iov_base = NULL;
	iov[1].iov_len = 0;
	iov[2].iov_base = "BBB";
	iov[2].iov_len = 3;
	C(b->lseek(fd, 0, SEEK_SET));
	C(b->writev(fd, iov, 3));
	C(b->pwritev(fd, iov, 3, 50));
	C(b->lseek(fd, 0, SEEK_CUR));
	memset(buf, 0, sizeof(buf));
	iov[0].iov_base = buf;
	iov[0].iov_len = 3;
	iov[1].iov_base = buf + 10;
	iov[1].iov_len = 4;
	C(b->lseek(fd, 0, SEEK_SET));
	C(b->readv(fd, iov, 2));
	V("data", hash(buf, 20));
	C(b->preadv(fd, iov, 2, 48));
	V("data", hash(buf, 20));
	E(b->readv(fd, iov, -1), EINVAL);
	E(b->readv(fd, iov, 1025), EINVAL);
	E(b->writev(fd, iov, -1), EINVAL);
	E(b->preadv(fd, iov, 2, -1), EINVAL);
	C(b->readv(fd, iov, 0));
	/* access modes */
	C(ro = b->open("f", O_RDONLY));
	C(wo = b->open("f", O_WRONLY));
	E(b->write(ro, "x", 1), EBADF);
	E(b->read(wo, buf, 1), EBADF);
	E(b->pwrite(ro, "x", 1, 0), EBADF);
	E(b->pread(wo, buf, 1, 0), EBADF);
	E(b->read(-1, buf, 1), EBADF);
	E(b->write(999, buf, 1), EBADF);
	E(b->lseek(999, 0, SEEK_SET), EBADF);
	C(b->mkdir("d", 0755));
	C(d = b->open("d", O_RDONLY));
	E(b->read(d, buf, 1), EISDIR);
	E(b->pread(d, buf, 1, 0), EISDIR);
	E(b->write(d, buf, 1), EBADF);
	C(b->lseek(d, 0, SEEK_SET));
	C(b->lseek(d, 0, SEEK_END));
	/* O_APPEND: writes go to the end, pwrite too (Linux's documented bug) */
	C(wo = b->open("f", O_WRONLY | O_APPEND));
	C(b->lseek(wo, 0, SEEK_SET));
	C(b->write(wo, "Z", 1));
	C(b->lseek(wo, 0, SEEK_CUR));
	C(b->pwrite(wo, "Y", 1, 0));
	ST(b->fstat(wo, &st), &st);
	/* pipes do not seek */
	C(b->pipe(p));
	E(b->lseek(p[0], 0, SEEK_SET), ESPIPE);
	E(b->pread(p[0], buf, 1, 0), ESPIPE);
	E(b->pwrite(p[1], buf, 1, 0), ESPIPE);
	/* /dev/null and /dev/zero */
	C(fd = b->open("/dev/null", O_RDWR));
	C(b->write(fd, "abc", 3));
	C(b->read(fd, buf, 3));
	C(fd = b->open("/dev/zero", O_RDONLY));
	memset(buf, 1, sizeof(buf));
	C(b->read(fd, buf, 8));
	V("zeros", hash(buf, 8));
	C(fd = b->open("/dev/urandom", O_RDONLY));
	R(b->read(fd, buf, 16), 16);
	C(b->read(fd, buf, 0));
	C(fd = b->open("/dev/random", O_RDONLY));
	R(b->read(fd, buf, 16), 16);
	ST(b->fstat(fd, &st), &st);
	C(fd = b->open("/dev/null", O_RDONLY));
	ST(b->fstat(fd, &st), &st);
	C(b->lseek(fd, 100, SEEK_SET));
}

static void
s_stat(struct be *b)
{
	struct stat st;
	struct statx sx;
	int fd;

	mkfile(b, "f", "12345");
	C(b->mkdir("d", 0700));
	C(b->mkdir("d/e", 0700));
	C(b->symlink("f", "l"));
	C(b->symlink("d/e", "ld"));
	ST(b->stat("f", &st), &st);
	ST(b->stat("d", &st), &st);
	ST(b->stat("d/e", &st), &st);
	ST(b->stat(".", &st), &st);
	ST(b->stat("d/..", &st), &st);
	ST(b->stat("l", &st), &st);
	ST(b->lstat("l", &st), &st);
	ST(b->lstat("ld", &st), &st);
	ST(b->stat("ld", &st), &st);
	ST(b->lstat("ld/", &st), &st);
	ST(b->stat("missing", &st), &st);
	ST(b->stat("", &st), &st);
	ST(b->stat("f/", &st), &st);
	ST(b->stat("f/x", &st), &st);
	ST(b->lstat("missing/x", &st), &st);
	ST(b->stat("/dev/null", &st), &st);
	C(fd = b->open("f", O_RDONLY));
	ST(b->fstat(fd, &st), &st);
	ST(b->fstat(-1, &st), &st);
	ST(b->fstat(777, &st), &st);
	ST(b->fstatat(AT_FDCWD, "l", &st, 0), &st);
	ST(b->fstatat(AT_FDCWD, "l", &st, AT_SYMLINK_NOFOLLOW), &st);
	ST(b->fstatat(fd, "", &st, AT_EMPTY_PATH), &st);
	ST(b->fstatat(fd, "", &st, 0), &st);
	ST(b->fstatat(fd, "x", &st, 0), &st);
	ST(b->fstatat(AT_FDCWD, "f", &st, 0x12345), &st);
	ST(b->fstatat(999, "f", &st, 0), &st);
	C(fd = b->open("d", O_RDONLY));
	ST(b->fstatat(fd, "e", &st, 0), &st);
	ST(b->fstatat(fd, "..", &st, 0), &st);
	memset(&sx, 0, sizeof(sx));
	E(b->statx(AT_FDCWD, "f", 0, STATX_BASIC_STATS, &sx), 0);
	V("stx_mode", sx.stx_mode);
	V("stx_nlink", sx.stx_nlink);
	V("stx_size", sx.stx_size);
	V("stx_mask&basic", sx.stx_mask & STATX_BASIC_STATS);
	memset(&sx, 0, sizeof(sx));
	C(b->statx(AT_FDCWD, "l", AT_SYMLINK_NOFOLLOW, STATX_BASIC_STATS, &sx));
	V("stx_mode", sx.stx_mode);
	V("stx_size", sx.stx_size);
	C(b->statx(fd, "", AT_EMPTY_PATH, STATX_TYPE, &sx));
	V("stx_mode&S_IFMT", sx.stx_mode & S_IFMT);
	E(b->statx(AT_FDCWD, "missing", 0, STATX_BASIC_STATS, &sx), ENOENT);
	E(b->statx(AT_FDCWD, "f", 0x12345678, STATX_BASIC_STATS, &sx), EINVAL);
	E(b->statx(AT_FDCWD, "f", 0, STATX__RESERVED, &sx), EINVAL);
	E(b->statx(999, "f", 0, STATX_BASIC_STATS, &sx), EBADF);
}

static void
s_access(struct be *b)
{
	int fd;

	mkfile(b, "f", NULL);
	mkfile(b, "x", NULL);
	C(b->chmod("x", 0744));
	C(b->mkdir("d", 0755));
	C(b->symlink("missing", "dl"));
	E(b->access("f", F_OK), 0);
	E(b->access("f", R_OK | W_OK), 0);
	E(b->access("f", X_OK), EACCES);
	E(b->access("x", X_OK), 0);
	E(b->access("d", X_OK), 0);
	E(b->access("missing", F_OK), ENOENT);
	E(b->access("dl", F_OK), ENOENT);
	E(b->access("f/", F_OK), ENOTDIR);
	E(b->access("f", 8), EINVAL);
	E(b->access("f", -1), EINVAL);
	C(fd = b->open("d", O_RDONLY));
	mkfile(b, "d/in", NULL);
	E(b->faccessat(fd, "in", R_OK, 0), 0);
	E(b->faccessat(fd, "none", R_OK, 0), ENOENT);
	E(b->faccessat(AT_FDCWD, "f", R_OK, AT_EACCESS), 0);
	E(b->faccessat(AT_FDCWD, "dl", F_OK, AT_SYMLINK_NOFOLLOW), 0);
	E(b->faccessat(AT_FDCWD, "f", R_OK, 0x1), EINVAL);
	E(b->faccessat(999, "f", R_OK, 0), EBADF);
	E(b->faccessat2(fd, "in", W_OK, 0), 0);
	E(b->faccessat2(AT_FDCWD, "f", X_OK, AT_EACCESS), EACCES);
	E(b->faccessat2(AT_FDCWD, "dl", F_OK, AT_SYMLINK_NOFOLLOW), 0);
	E(b->faccessat2(AT_FDCWD, "dl", F_OK, 0), ENOENT);
	E(b->faccessat2(AT_FDCWD, "f", F_OK, 0x4), EINVAL);
	E(b->faccessat2(AT_FDCWD, "f", 0x10, 0), EINVAL);
	C(fd = b->open("f", O_RDONLY));
	E(b->faccessat2(fd, "", R_OK, AT_EMPTY_PATH), 0);
	E(b->faccessat2(fd, "x", R_OK, 0), ENOTDIR);
}

static void
s_dirs(struct be *b)
{
	struct stat st;
	int fd;

	E(b->mkdir("d", 0777), 0);
	ST(b->stat("d", &st), &st);
	ST(b->stat(".", &st), &st);
	E(b->mkdir("d", 0777), EEXIST);
	E(b->mkdir("d/", 0777), EEXIST);
	E(b->mkdir("e/", 0777), 0);
	E(b->mkdir("no/x", 0777), ENOENT);
	mkfile(b, "f", NULL);
	E(b->mkdir("f", 0777), EEXIST);
	E(b->mkdir("f/x", 0777), ENOTDIR);
	E(b->mkdir("", 0777), ENOENT);
	C(b->symlink("d", "ls"));
	E(b->mkdir("ls", 0777), EEXIST);
	C(b->symlink("newdir", "dangle"));
	E(b->mkdir("dangle", 0777), EEXIST);
	C(b->mkdir("d/sub", 01777));
	ST(b->stat("d/sub", &st), &st);
	ST(b->stat("d", &st), &st);
	C(fd = b->open("d", O_RDONLY));
	E(b->mkdirat(fd, "sub2", 0700), 0);
	ST(b->stat("d/sub2", &st), &st);
	E(b->mkdirat(999, "x", 0700), EBADF);
	E(b->mkdirat(fd, "sub2", 0700), EEXIST);
	C(fd = b->open("f", O_RDONLY));
	E(b->mkdirat(fd, "x", 0700), ENOTDIR);
	/* rmdir */
	E(b->rmdir("d"), ENOTEMPTY);
	E(b->rmdir("f"), ENOTDIR);
	E(b->rmdir("missing"), ENOENT);
	E(b->rmdir("."), EINVAL);
	E(b->rmdir("d/."), EINVAL);
	E(b->rmdir(".."), ENOTEMPTY);
	E(b->rmdir("d/sub/.."), ENOTEMPTY);
	E(b->rmdir("ls"), ENOTDIR);
	E(b->rmdir("d/sub"), 0);
	E(b->rmdir("d/sub2/"), 0);
	ST(b->stat("d", &st), &st);
	E(b->rmdir("d"), 0);
	E(b->rmdir("d"), ENOENT);
	ST(b->stat(".", &st), &st);
}

static void
s_unlink(struct be *b)
{
	struct stat st;
	char buf[8];
	int fd, dfd;

	mkfile(b, "f", "data");
	C(b->mkdir("d", 0755));
	C(b->symlink("f", "l"));
	C(fd = b->open("f", O_RDONLY));
	E(b->unlink("f"), 0);
	ST(b->fstat(fd, &st), &st);
	C(b->read(fd, buf, sizeof(buf)));
	ST(b->stat("l", &st), &st);
	E(b->unlink("l"), 0);
	E(b->unlink("f"), ENOENT);
	E(b->unlink("d"), EISDIR);
	E(b->unlink("d/"), EISDIR);
	E(b->unlink(""), ENOENT);
	mkfile(b, "g", NULL);
	E(b->unlink("g/"), ENOTDIR);
	E(b->unlink("g/x"), ENOTDIR);
	C(dfd = b->open("d", O_RDONLY));
	mkfile(b, "d/a", NULL);
	C(b->mkdir("d/sub", 0755));
	E(b->unlinkat(dfd, "a", 0), 0);
	E(b->unlinkat(dfd, "sub", 0), EISDIR);
	E(b->unlinkat(dfd, "sub", AT_REMOVEDIR), 0);
	E(b->unlinkat(AT_FDCWD, "g", AT_REMOVEDIR), ENOTDIR);
	E(b->unlinkat(AT_FDCWD, "g", 0x1), EINVAL);
	E(b->unlinkat(999, "g", 0), EBADF);
	E(b->unlinkat(fd, "g", 0), ENOTDIR);
	E(b->unlinkat(AT_FDCWD, "g", 0), 0);
	E(b->unlinkat(AT_FDCWD, ".", AT_REMOVEDIR), EINVAL);
}

static void
s_rename(struct be *b)
{
	struct stat st;
	int dfd;

	mkfile(b, "a", "A");
	mkfile(b, "b", "BB");
	C(b->mkdir("d", 0755));
	C(b->mkdir("e", 0755));
	mkfile(b, "e/x", NULL);
	C(b->mkdir("d/sub", 0755));
	E(b->rename("a", "b"), 0);
	ST(b->stat("b", &st), &st);
	ST(b->stat("a", &st), &st);
	E(b->rename("a", "c"), ENOENT);
	E(b->rename("b", "no/c"), ENOENT);
	E(b->rename("b", "b"), 0);
	C(b->link("b", "b2"));
	E(b->rename("b", "b2"), 0);
	ST(b->stat("b", &st), &st);
	E(b->rename("d", "e"), ENOTEMPTY);
	E(b->rename("b", "d"), EISDIR);
	E(b->rename("d", "b"), ENOTDIR);
	E(b->rename("d", "d/sub/x"), EINVAL);
	E(b->rename("d", "d/x"), EINVAL);
	E(b->rename("d/sub", "d"), ENOTEMPTY);
	E(b->rename(".", "x"), EBUSY);
	E(b->rename("d/..", "x"), EBUSY);
	E(b->rename("b", "b/"), ENOTDIR);
	E(b->rename("b/", "c"), ENOTDIR);
	E(b->rename("d/sub", "sub/"), 0);
	ST(b->stat("d", &st), &st);
	ST(b->stat("sub", &st), &st);
	C(b->mkdir("empty", 0755));
	E(b->rename("sub", "empty"), 0);
	ST(b->stat(".", &st), &st);
	C(b->symlink("b", "sl"));
	E(b->rename("sl", "sl2"), 0);
	ST(b->lstat("sl2", &st), &st);
	C(dfd = b->open("d", O_RDONLY));
	E(b->renameat(AT_FDCWD, "b", dfd, "moved"), 0);
	ST(b->stat("d/moved", &st), &st);
	E(b->renameat(999, "x", dfd, "y"), EBADF);
	mkfile(b, "p", "P");
	mkfile(b, "q", "QQ");
	E(b->renameat2(AT_FDCWD, "p", AT_FDCWD, "q", RENAME_NOREPLACE), EEXIST);
	E(b->renameat2(AT_FDCWD, "p", AT_FDCWD, "r", RENAME_NOREPLACE), 0);
	E(b->renameat2(AT_FDCWD, "r", AT_FDCWD, "q", RENAME_EXCHANGE), 0);
	ST(b->stat("r", &st), &st);
	ST(b->stat("q", &st), &st);
	E(b->renameat2(AT_FDCWD, "r", AT_FDCWD, "nonex", RENAME_EXCHANGE), ENOENT);
	E(b->renameat2(AT_FDCWD, "r", AT_FDCWD, "d", RENAME_EXCHANGE), 0);
	ST(b->stat("r", &st), &st);
	ST(b->stat("d", &st), &st);
	E(b->renameat2(AT_FDCWD, "r", AT_FDCWD, "q", RENAME_EXCHANGE | RENAME_NOREPLACE), EINVAL);
	E(b->renameat2(AT_FDCWD, "d", AT_FDCWD, "q", 0x80), EINVAL);
}

static void
s_xdev(struct be *b)
{
	char p[256];
	int fd;

	mkfile(b, "f", "x");
	C(b->mkdir("d", 0755));
	snprintf(p, sizeof(p), "%s/f", b->xdir);
	E(b->rename("f", p), EXDEV);
	E(b->link("f", p), EXDEV);
	snprintf(p, sizeof(p), "%s/d", b->xdir);
	E(b->rename("d", p), EXDEV);
	C(fd = b->open(p, O_CREAT | O_RDWR, 0600));
	E(b->renameat2(AT_FDCWD, "f", AT_FDCWD, p, RENAME_EXCHANGE), EXDEV);
	E(b->rename(p, "g"), EXDEV);
	E(b->unlink(p), 0);
}

static void
s_links(struct be *b)
{
	struct stat st;
	char buf[64];
	char many[64];
	int i, dfd;

	mkfile(b, "f", "abc");
	C(b->mkdir("d", 0755));
	E(b->link("f", "h"), 0);
	ST(b->stat("f", &st), &st);
	E(b->link("f", "h"), EEXIST);
	E(b->link("missing", "h2"), ENOENT);
	E(b->link("d", "dl"), EPERM);
	E(b->link("f", "no/h"), ENOENT);
	E(b->link("f", "f/h"), ENOTDIR);
	E(b->link("f", "h3/"), ENOENT);
	C(b->symlink("f", "s"));
	E(b->link("s", "hs"), 0);
	ST(b->lstat("hs", &st), &st);
	C(dfd = b->open("d", O_RDONLY));
	E(b->linkat(AT_FDCWD, "s", dfd, "hf", AT_SYMLINK_FOLLOW), 0);
	ST(b->lstat("d/hf", &st), &st);
	E(b->linkat(AT_FDCWD, "f", AT_FDCWD, "x", 0x1), EINVAL);
	E(b->linkat(999, "f", AT_FDCWD, "x", 0), EBADF);
	E(b->symlink("f", "s"), EEXIST);
	E(b->symlink("", "empty"), ENOENT);
	E(b->symlink("x", "no/s"), ENOENT);
	E(b->symlinkat("../f", dfd, "up"), 0);
	ST(b->stat("d/up", &st), &st);
	E(b->symlinkat("x", 999, "up"), EBADF);
	memset(buf, 0, sizeof(buf));
	R(b->readlink("s", buf, sizeof(buf)), 1);
	V("target", hash(buf, sizeof(buf)));
	R(b->readlink("d/up", buf, 2), 2);
	V("target", hash(buf, 2));
	E(b->readlink("f", buf, sizeof(buf)), EINVAL);
	E(b->readlink("d", buf, sizeof(buf)), EINVAL);
	E(b->readlink("missing", buf, sizeof(buf)), ENOENT);
	E(b->readlink("s", buf, 0), EINVAL);
	R(b->readlinkat(dfd, "up", buf, sizeof(buf)), 4);
	E(b->readlinkat(999, "up", buf, sizeof(buf)), EBADF);
	/* loops: a pair, and chains of 40 (followed) and 41 (too many) */
	C(b->symlink("loop2", "loop1"));
	C(b->symlink("loop1", "loop2"));
	ST(b->stat("loop1", &st), &st);
	ST(b->lstat("loop1", &st), &st);
	E(b->open("loop1", O_RDONLY), ELOOP);
	E(b->open("loop1/x", O_CREAT | O_RDWR, 0644), ELOOP);
	E(b->mkdir("loop1/x", 0755), ELOOP);
	for (i = 1; i <= 41; i++) {
		char t[32];

		snprintf(many, sizeof(many), "c%d", i);
		if (i == 1)
			snprintf(t, sizeof(t), "f");
		else
			snprintf(t, sizeof(t), "c%d", i - 1);
		(void)b->symlink(t, many);
	}
	ST(b->stat("c40", &st), &st);
	ST(b->stat("c41", &st), &st);
	C(b->symlink("d", "sd"));
	ST(b->stat("sd/up", &st), &st);
	E(b->unlink("sd/up"), 0);
}

static void
s_chmod_chown(struct be *b)
{
	struct stat st;
	int fd;

	mkfile(b, "f", NULL);
	C(b->mkdir("d", 0755));
	C(b->symlink("f", "l"));
	E(b->chmod("f", 0600), 0);
	ST(b->stat("f", &st), &st);
	E(b->chmod("f", 07777), 0);
	ST(b->stat("f", &st), &st);
	E(b->chmod("l", 0640), 0);
	ST(b->stat("f", &st), &st);
	ST(b->lstat("l", &st), &st);
	E(b->chmod("missing", 0644), ENOENT);
	E(b->chmod("f/x", 0644), ENOTDIR);
	C(fd = b->open("f", O_RDONLY));
	E(b->fchmod(fd, 0444), 0);
	ST(b->fstat(fd, &st), &st);
	E(b->fchmod(999, 0444), EBADF);
	E(b->fchmodat(AT_FDCWD, "d", 0700, 0), 0);
	ST(b->stat("d", &st), &st);
	E(b->fchmodat(AT_FDCWD, "d", 0700, 0x4000), EINVAL);
	E(b->fchmodat(999, "d", 0700, 0), EBADF);
	E(b->chown("f", 1000, 1001), 0);
	ST(b->stat("f", &st), &st);
	E(b->chown("f", (uid_t)-1, 50), 0);
	ST(b->stat("f", &st), &st);
	E(b->chmod("f", 06755), 0);
	E(b->chown("f", 1000, 1001), 0);
	ST(b->stat("f", &st), &st);
	E(b->lchown("l", 7, 8), 0);
	ST(b->lstat("l", &st), &st);
	ST(b->stat("l", &st), &st);
	E(b->fchown(fd, 3, 4), 0);
	ST(b->fstat(fd, &st), &st);
	E(b->fchown(999, 3, 4), EBADF);
	E(b->fchownat(AT_FDCWD, "l", 9, 9, AT_SYMLINK_NOFOLLOW), 0);
	ST(b->lstat("l", &st), &st);
	E(b->fchownat(AT_FDCWD, "l", 9, 9, 0), 0);
	ST(b->stat("f", &st), &st);
	E(b->fchownat(fd, "", 11, 11, AT_EMPTY_PATH), 0);
	ST(b->stat("f", &st), &st);
	E(b->fchownat(AT_FDCWD, "f", 1, 1, 0x1), EINVAL);
	E(b->chown("missing", 1, 1), ENOENT);
	E(b->lchown("missing", 1, 1), ENOENT);
}

static void
s_size(struct be *b)
{
	struct stat st;
	char buf[16];
	int fd, ro, p[2];

	mkfile(b, "f", "0123456789");
	C(b->mkdir("d", 0755));
	E(b->truncate("f", 4), 0);
	ST(b->stat("f", &st), &st);
	E(b->truncate("f", 100000), 0);
	ST(b->stat("f", &st), &st);
	E(b->truncate("f", -1), EINVAL);
	E(b->truncate("d", 0), EISDIR);
	E(b->truncate("missing", 0), ENOENT);
	E(b->truncate("f/", 0), ENOTDIR);
	C(fd = b->open("f", O_RDWR));
	E(b->ftruncate(fd, 2), 0);
	C(b->pread(fd, buf, sizeof(buf), 0));
	E(b->ftruncate(fd, 8), 0);
	memset(buf, 'z', sizeof(buf));
	C(b->pread(fd, buf, sizeof(buf), 0));
	V("data", hash(buf, sizeof(buf)));
	E(b->ftruncate(fd, -5), EINVAL);
	E(b->ftruncate(999, 0), EBADF);
	C(ro = b->open("f", O_RDONLY));
	C(b->ftruncate(ro, 0));
	C(b->pipe(p));
	E(b->ftruncate(p[1], 0), EINVAL);
	C(b->ftruncate(b->open("d", O_RDONLY), 0));
	E(b->fallocate(fd, 0, 0, 4096), 0);
	ST(b->fstat(fd, &st), &st);
	E(b->fallocate(fd, FALLOC_FL_KEEP_SIZE, 0, 65536), 0);
	ST(b->fstat(fd, &st), &st);
	E(b->fallocate(fd, 0, 0, 0), EINVAL);
	E(b->fallocate(fd, 0, -1, 10), EINVAL);
	E(b->fallocate(ro, 0, 0, 10), EBADF);
	E(b->fallocate(999, 0, 0, 10), EBADF);
	E(b->fallocate(p[1], 0, 0, 10), ESPIPE);
	C(b->fallocate(fd, FALLOC_FL_PUNCH_HOLE, 0, 10));
	C(b->fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0, 10));
	ST(b->fstat(fd, &st), &st);
	E(b->fsync(fd), 0);
	E(b->fdatasync(fd), 0);
	E(b->fsync(ro), 0);
	E(b->fsync(999), EBADF);
	E(b->fdatasync(-1), EBADF);
	E(b->fsync(p[0]), EINVAL);
	C((b->sync(), 0));
	E(b->syncfs(fd), 0);
	E(b->syncfs(p[0]), 0);
	E(b->syncfs(999), EBADF);
}

/* getdents64 records: sum of fingerprints of (name, type), so order
 * does not matter, and the count. */
static void
log_dir(struct be *b, int fd, size_t bufsz)
{
	char buf[4096];
	long n, off, total = 0, sum = 0;
	int cnt = 0;

	for (;;) {
		errno = 0;
		n = b->getdents64(fd, buf, bufsz);
		if (n <= 0)
			break;
		for (off = 0; off < n;) {
			struct dirent64 *de = (void *)(buf + off);
			char key[300];
			size_t kl;

			kl = (size_t)snprintf(key, sizeof(key), "%s/%d",
			    de->d_name, de->d_type);
			sum += hash(key, kl) & 0xffffff;
			cnt++;
			off += de->d_reclen;
			if (de->d_reclen == 0)
				break;
		}
		total += n;
	}
	rec(b, "getdents64 end", __LINE__, n, errno, W_NONE, 0);
	V("entries", cnt);
	V("names+types", sum);
	(void)total;
}

static void
s_getdents(struct be *b)
{
	char buf[64], name[32];
	int fd, i;

	C(b->mkdir("d", 0755));
	for (i = 0; i < 50; i++) {
		snprintf(name, sizeof(name), "d/file%02d", i);
		mkfile(b, name, NULL);
	}
	C(b->mkdir("d/sub", 0755));
	C(b->symlink("x", "d/sym"));
	C(b->pipe((int[2]){0, 0}));
	C(fd = b->open("d", O_RDONLY | O_DIRECTORY));
	log_dir(b, fd, 4096);
	C(b->lseek(fd, 0, SEEK_SET));
	log_dir(b, fd, 100);
	C(b->lseek(fd, 0, SEEK_SET));
	E(b->getdents64(fd, buf, 1), EINVAL);
	C(b->mkdir("e", 0755));
	C(fd = b->open("e", O_RDONLY | O_DIRECTORY));
	C(b->rmdir("e"));
	log_dir(b, fd, 4096);
	mkfile(b, "f", NULL);
	C(fd = b->open("f", O_RDONLY));
	E(b->getdents64(fd, buf, sizeof(buf)), ENOTDIR);
	E(b->getdents64(999, buf, sizeof(buf)), EBADF);
}

static void
s_cwd(struct be *b)
{
	char buf[PATH_MAX], want[PATH_MAX];
	struct stat st;
	int fd, n;
	char *r;

	r = b->getcwd(buf, sizeof(buf));
	V("getcwd", r == buf);
	snprintf(want, sizeof(want), "%s", r ? buf : "");
	n = (int)strlen(want);
	C(b->mkdir("d", 0755));
	C(b->mkdir("d/e", 0755));
	mkfile(b, "f", NULL);
	E(b->chdir("d"), 0);
	r = b->getcwd(buf, sizeof(buf));
	V("getcwd ends /d", r && strncmp(buf, want, n) == 0 &&
	    strcmp(buf + n, "/d") == 0);
	E(b->chdir("e/../.."), 0);
	r = b->getcwd(buf, sizeof(buf));
	V("getcwd back", r && strcmp(buf, want) == 0);
	E(b->chdir("missing"), ENOENT);
	E(b->chdir("f"), ENOTDIR);
	E(b->chdir(""), ENOENT);
	C(fd = b->open("d/e", O_RDONLY));
	E(b->fchdir(fd), 0);
	r = b->getcwd(buf, sizeof(buf));
	V("getcwd ends /d/e", r && strncmp(buf, want, n) == 0 &&
	    strcmp(buf + n, "/d/e") == 0);
	ST(b->stat("..", &st), &st);
	E(b->fchdir(999), EBADF);
	C(fd = b->open(want, O_RDONLY));
	E(b->fchdir(fd), 0);
	C(fd = b->open("f", O_RDONLY));
	E(b->fchdir(fd), ENOTDIR);
	errno = 0;
	r = b->getcwd(buf, 0);
	rec(b, "getcwd(buf, 0)", __LINE__, r ? 0 : -1, errno, W_ERR, EINVAL);
	errno = 0;
	r = b->getcwd(buf, (size_t)n);	/* one byte short */
	rec(b, "getcwd(buf, strlen(cwd))", __LINE__, r ? 0 : -1, errno, W_ERR,
	    ERANGE);
	E(b->chdir("/"), 0);
	r = b->getcwd(buf, sizeof(buf));
	V("getcwd /", r && strcmp(buf, "/") == 0);
	E(b->chdir(want), 0);
	C(b->mkdir("gone", 0755));
	E(b->chdir("gone"), 0);
	E(b->rmdir("../gone"), 0);
	errno = 0;
	r = b->getcwd(buf, sizeof(buf));
	rec(b, "getcwd of removed dir", __LINE__, r ? 0 : -1, errno, W_ERR, ENOENT);
	mkfile(b, "x", NULL);
	E(b->open("x", O_CREAT | O_RDWR, 0644), ENOENT);
	E(b->mkdir("y", 0755), ENOENT);
	ST(b->stat(".", &st), &st);
	E(b->chdir(".."), 0);
}

static void
s_umask(struct be *b)
{
	struct stat st;

	C(b->umask(0));
	C(b->umask(027));
	mkfile(b, "x", NULL);
	C(b->open("a", O_CREAT | O_RDWR, 0777));
	ST(b->stat("a", &st), &st);
	C(b->mkdir("d", 0777));
	ST(b->stat("d", &st), &st);
	C(b->umask(0177777));
	C(b->umask(022));
	C(b->mkdir("e", 07777));
	ST(b->stat("e", &st), &st);
	C(b->symlink("a", "l"));
	ST(b->lstat("l", &st), &st);
}

static void
s_utimens(struct be *b)
{
	struct stat st;
	struct timespec ts[2];
	int fd;

	mkfile(b, "f", NULL);
	C(b->symlink("f", "l"));
	ts[0].tv_sec = 1;
	ts[0].tv_nsec = 5;
	ts[1].tv_sec = 200000;
	ts[1].tv_nsec = 999999999;
	E(b->utimensat(AT_FDCWD, "f", ts, 0), 0);
	ST(b->stat("f", &st), &st);
	V("atime", st.st_atim.tv_sec);
	V("atime ns", st.st_atim.tv_nsec);
	V("mtime", st.st_mtim.tv_sec);
	V("mtime ns", st.st_mtim.tv_nsec);
	ts[0].tv_nsec = UTIME_OMIT;
	ts[1].tv_sec = 77;
	ts[1].tv_nsec = 0;
	E(b->utimensat(AT_FDCWD, "f", ts, 0), 0);
	ST(b->stat("f", &st), &st);
	V("atime", st.st_atim.tv_sec);
	V("mtime", st.st_mtim.tv_sec);
	ts[0].tv_nsec = UTIME_NOW;
	ts[1].tv_nsec = UTIME_OMIT;
	E(b->utimensat(AT_FDCWD, "f", ts, 0), 0);
	ST(b->stat("f", &st), &st);
	V("atime is recent", st.st_atim.tv_sec > 1000000000);
	V("mtime", st.st_mtim.tv_sec);
	E(b->utimensat(AT_FDCWD, "f", NULL, 0), 0);
	ST(b->stat("f", &st), &st);
	V("mtime is recent", st.st_mtim.tv_sec > 1000000000);
	ts[0].tv_sec = 5;
	ts[0].tv_nsec = 0;
	ts[1] = ts[0];
	E(b->utimensat(AT_FDCWD, "l", ts, AT_SYMLINK_NOFOLLOW), 0);
	ST(b->lstat("l", &st), &st);
	V("link mtime", st.st_mtim.tv_sec);
	ST(b->stat("l", &st), &st);
	V("target mtime is recent", st.st_mtim.tv_sec > 1000000000);
	ts[1].tv_nsec = 1000000000;
	E(b->utimensat(AT_FDCWD, "f", ts, 0), EINVAL);
	ts[1].tv_nsec = -1;
	E(b->utimensat(AT_FDCWD, "f", ts, 0), EINVAL);
	ts[1].tv_nsec = 0;
	E(b->utimensat(AT_FDCWD, "missing", ts, 0), ENOENT);
	E(b->utimensat(AT_FDCWD, "f", ts, 0x4), EINVAL);
	E(b->utimensat(999, "f", ts, 0), EBADF);
	C(fd = b->open("f", O_RDONLY));
	E(b->utimensat(fd, "", ts, AT_EMPTY_PATH), 0);
	ST(b->stat("f", &st), &st);
	V("mtime", st.st_mtim.tv_sec);
}

static void
s_dup_fcntl(struct be *b)
{
	int fd, fd2, p[2];

	mkfile(b, "f", "abcdef");
	C(fd = b->open("f", O_RDWR | O_APPEND));
	C(fd2 = b->dup(fd));
	E(b->dup(999), EBADF);
	E(b->dup(-1), EBADF);
	C(b->lseek(fd, 2, SEEK_SET));
	C(b->lseek(fd2, 0, SEEK_CUR));
	R(b->dup2(fd, fd), fd);
	R(b->dup2(fd, 40), 40);
	R(b->dup2(fd, 40), 40);
	E(b->dup2(999, 41), EBADF);
	E(b->dup2(fd, -1), EBADF);
	E(b->dup2(fd, 1024), EBADF);
	R(b->dup2(40, 40), 40);
	E(b->dup2(39, 39), EBADF);
	E(b->dup3(fd, fd, 0), EINVAL);
	E(b->dup3(fd, 42, 0x1), EINVAL);
	R(b->dup3(fd, 42, O_CLOEXEC), 42);
	C(b->fcntl(42, F_GETFD));
	C(b->fcntl(40, F_GETFD));
	E(b->fcntl(40, F_SETFD, FD_CLOEXEC), 0);
	C(b->fcntl(40, F_GETFD));
	C(b->fcntl(fd, F_GETFD));
	C(b->fcntl(fd, F_GETFL));
	C(b->fcntl(fd2, F_GETFL));
	E(b->fcntl(fd, F_SETFL, O_NONBLOCK), 0);
	C(b->fcntl(fd2, F_GETFL));
	E(b->fcntl(fd, F_SETFL, O_RDONLY | O_APPEND | O_TRUNC | O_CREAT), 0);
	C(b->fcntl(fd, F_GETFL));
	C(b->fcntl(b->open("f", O_RDONLY), F_GETFL));
	C(b->fcntl(b->open("f", O_WRONLY | O_SYNC), F_GETFL));
	C(b->fcntl(b->open(".", O_RDONLY | O_DIRECTORY), F_GETFL));
	R(b->fcntl(fd, F_DUPFD, 20), 20);
	R(b->fcntl(fd, F_DUPFD, 20), 21);
	R(b->fcntl(fd, F_DUPFD_CLOEXEC, 20), 22);
	C(b->fcntl(22, F_GETFD));
	C(b->fcntl(fd, F_DUPFD, 0));
	E(b->fcntl(fd, F_DUPFD, 1024), EINVAL);
	E(b->fcntl(fd, F_DUPFD, -1), EINVAL);
	E(b->fcntl(999, F_GETFL), EBADF);
	E(b->fcntl(999, F_DUPFD, 0), EBADF);
	E(b->fcntl(fd, 12345), EINVAL);
	C(b->pipe2(p, O_NONBLOCK | O_CLOEXEC));
	C(b->fcntl(p[0], F_GETFL));
	C(b->fcntl(p[1], F_GETFL));
	C(b->fcntl(p[0], F_GETFD));
	E(b->close(fd), 0);
	C(b->fcntl(fd2, F_GETFL));
	E(b->close(fd2), 0);
	E(b->close(20), 0);
	C(b->dup(0));
	C(b->open("f", O_RDONLY));
}

static void
s_ioctl(struct be *b)
{
	struct termios tio;
	int n, fd, p[2], on;

	mkfile(b, "f", "0123456789");
	C(b->pipe(p));
	C(b->write(p[1], "hello", 5));
	n = -1;
	E(b->ioctl(p[0], FIONREAD, &n), 0);
	V("pipe FIONREAD", n);
	C(fd = b->open("f", O_RDONLY));
	C(b->lseek(fd, 3, SEEK_SET));
	n = -1;
	E(b->ioctl(fd, FIONREAD, &n), 0);
	V("file FIONREAD", n);
	on = 1;
	E(b->ioctl(fd, FIONBIO, &on), 0);
	C(b->fcntl(fd, F_GETFL));
	on = 0;
	E(b->ioctl(fd, FIONBIO, &on), 0);
	C(b->fcntl(fd, F_GETFL));
	on = 1;
	E(b->ioctl(p[0], FIONBIO, &on), 0);
	C(b->read(p[0], &n, 4));
	C(b->read(p[0], &n, 4));
	C(b->read(p[0], &n, 4));
	E(b->ioctl(fd, TCGETS, &tio), ENOTTY);
	E(b->ioctl(p[0], TCGETS, &tio), ENOTTY);
	C(fd = b->open("/dev/null", O_RDWR));
	E(b->ioctl(fd, TCGETS, &tio), ENOTTY);
	E(b->ioctl(999, FIONREAD, &n), EBADF);
	C(fd = b->open("f", O_RDONLY));
	E(b->ioctl(fd, 0x7fff1234, &n), ENOTTY);
	C(b->mkdir("d", 0755));
	C(fd = b->open("d", O_RDONLY));
	E(b->ioctl(fd, TCGETS, &tio), ENOTTY);
	C(b->ioctl(fd, FIONREAD, &n));
	C(fd = b->open("/dev/null", O_RDONLY));
	C(b->ioctl(fd, FIONREAD, &n));
}

static void
s_pipe(struct be *b)
{
	struct stat st;
	char buf[128];
	int p[2], q[2], i;

	E(b->pipe(p), 0);
	V("fds", p[0] * 100 + p[1]);
	ST(b->fstat(p[0], &st), &st);
	V("S_ISFIFO", S_ISFIFO(st.st_mode));
	C(b->fcntl(p[0], F_GETFL));
	C(b->fcntl(p[1], F_GETFL));
	R(b->write(p[1], "abc", 3), 3);
	R(b->read(p[0], buf, sizeof(buf)), 3);
	E(b->write(p[0], "x", 1), EBADF);
	E(b->read(p[1], buf, 1), EBADF);
	E(b->pipe2(q, 0x1), EINVAL);
	E(b->pipe2(q, O_NONBLOCK), 0);
	E(b->read(q[0], buf, 1), EAGAIN);
	/* fill: Linux's default capacity is 64 KiB */
	memset(buf, 'p', sizeof(buf));
	for (i = 0; i < 1000; i++)
		if (b->write(q[1], buf, sizeof(buf)) < 0)
			break;
	V("128-byte writes until full", i);
	E(b->write(q[1], buf, 1), EAGAIN);
	C(b->read(q[0], buf, sizeof(buf)));
	E(b->close(q[0]), 0);
	E(b->write(q[1], buf, 1), EPIPE);
	E(b->close(p[1]), 0);
	E(b->read(p[0], buf, 1), 0);
	E(b->pipe2(q, O_CLOEXEC), 0);
	C(b->fcntl(q[1], F_GETFD));
	C(b->fcntl(q[0], F_GETPIPE_SZ));
	E(b->fcntl(q[0], F_SETFL, O_NONBLOCK), 0);
	E(b->read(q[0], buf, 1), EAGAIN);
	C(b->fcntl(q[0], F_GETFL));
	C(b->write(q[1], "12345678", 8));
	C(b->read(q[0], buf, 3));
	C(b->read(q[0], buf, 100));
}

static void
s_poll(struct be *b)
{
	struct pollfd pf[4];
	struct timespec ts;
	struct timeval tv;
	fd_set r, w;
	int p[2], fd;

	C(b->pipe(p));
	mkfile(b, "f", NULL);
	C(fd = b->open("f", O_RDWR));
	pf[0].fd = p[0];
	pf[0].events = POLLIN;
	pf[1].fd = p[1];
	pf[1].events = POLLOUT;
	pf[2].fd = 999;
	pf[2].events = POLLIN;
	pf[3].fd = -1;
	pf[3].events = POLLIN;
	R(b->poll(pf, 4, 0), 2);
	V("revents", pf[0].revents | pf[1].revents << 8);
	V("revents", pf[2].revents | pf[3].revents << 8);
	C(b->write(p[1], "x", 1));
	R(b->poll(pf, 2, 10), 2);
	V("revents", pf[0].revents | pf[1].revents << 8);
	pf[0].fd = fd;
	pf[0].events = POLLIN | POLLOUT;
	C(b->poll(pf, 1, 0));
	V("file revents", pf[0].revents);
	C(pf[0].fd = b->open("/dev/null", O_RDWR));
	pf[0].events = POLLIN | POLLOUT;
	R(b->poll(pf, 1, 0), 1);
	V("/dev/null revents", pf[0].revents);
	pf[0].fd = p[0];
	pf[0].events = POLLIN;
	R(b->poll(pf, 1, -1), 1);
	E(b->poll(pf, 100000, 0), EINVAL);
	E(b->poll(NULL, 0, 5), 0);
	ts.tv_sec = 0;
	ts.tv_nsec = 1000000;
	R(b->ppoll(pf, 1, &ts, NULL), 1);
	V("revents", pf[0].revents);
	ts.tv_nsec = -1;
	E(b->ppoll(pf, 1, &ts, NULL), EINVAL);
	ts.tv_nsec = 1000000000;
	E(b->ppoll(pf, 1, &ts, NULL), EINVAL);
	C(b->read(p[0], pf, 1));
	ts.tv_nsec = 2000000;
	E(b->ppoll(pf, 1, &ts, NULL), 0);
	E(b->ppoll(NULL, 0, &ts, NULL), 0);
	/* hangup */
	C(b->close(p[1]));
	R(b->poll(pf, 1, 0), 1);
	V("revents after close", pf[0].revents);
	C(b->pipe(p));
	/* select */
	FD_ZERO(&r);
	FD_ZERO(&w);
	FD_SET(p[0], &r);
	FD_SET(p[1], &w);
	FD_SET(fd, &r);
	tv.tv_sec = 0;
	tv.tv_usec = 0;
	R(b->select(p[1] > fd ? p[1] + 1 : fd + 1, &r, &w, NULL, &tv), 2);
	V("rset", FD_ISSET(p[0], &r) | FD_ISSET(fd, &r) << 1);
	V("wset", FD_ISSET(p[1], &w));
	FD_ZERO(&r);
	FD_SET(p[0], &r);
	tv.tv_usec = 1000;
	E(b->select(p[0] + 1, &r, NULL, NULL, &tv), 0);
	V("rset", FD_ISSET(p[0], &r));
	E(b->select(-1, NULL, NULL, NULL, &tv), EINVAL);
	tv.tv_usec = -1;
	E(b->select(1, NULL, NULL, NULL, &tv), EINVAL);
	tv.tv_usec = 0;
	FD_ZERO(&r);
	FD_SET(60, &r);
	E(b->select(61, &r, NULL, NULL, &tv), EBADF);
	C(b->write(p[1], "y", 1));
	FD_ZERO(&r);
	FD_SET(p[0], &r);
	ts.tv_sec = 1;
	ts.tv_nsec = 0;
	R(b->pselect(p[0] + 1, &r, NULL, NULL, &ts, NULL), 1);
	V("rset", FD_ISSET(p[0], &r));
	ts.tv_nsec = 1000000000;
	E(b->pselect(p[0] + 1, &r, NULL, NULL, &ts, NULL), EINVAL);
	ts.tv_sec = 0;
	ts.tv_nsec = 1000000;
	E(b->pselect(0, NULL, NULL, NULL, &ts, NULL), 0);
}

static void
s_epoll(struct be *b)
{
	struct epoll_event ev, out[8];
	int ep, p[2], fd;

	E(b->epoll_create1(0x1), EINVAL);
	E(b->epoll_create(0), EINVAL);
	C(b->epoll_create(1));
	C(ep = b->epoll_create1(EPOLL_CLOEXEC));
	C(b->fcntl(ep, F_GETFD));
	C(b->pipe(p));
	mkfile(b, "f", NULL);
	C(fd = b->open("f", O_RDONLY));
	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN;
	ev.data.u64 = 0x1122334455667788ull;
	E(b->epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &ev), 0);
	E(b->epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &ev), EEXIST);
	E(b->epoll_ctl(ep, EPOLL_CTL_MOD, p[1], &ev), ENOENT);
	E(b->epoll_ctl(ep, EPOLL_CTL_DEL, p[1], &ev), ENOENT);
	E(b->epoll_ctl(ep, EPOLL_CTL_ADD, ep, &ev), EINVAL);
	E(b->epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev), EPERM);
	E(b->epoll_ctl(ep, EPOLL_CTL_ADD, 999, &ev), EBADF);
	E(b->epoll_ctl(999, EPOLL_CTL_ADD, p[0], &ev), EBADF);
	E(b->epoll_ctl(fd, EPOLL_CTL_ADD, p[0], &ev), EINVAL);
	E(b->epoll_ctl(ep, 99, p[0], &ev), EINVAL);
	E(b->epoll_wait(ep, out, 8, 0), 0);
	E(b->epoll_wait(ep, out, 0, 0), EINVAL);
	E(b->epoll_wait(ep, out, -1, 0), EINVAL);
	E(b->epoll_wait(fd, out, 8, 0), EINVAL);
	E(b->epoll_wait(999, out, 8, 0), EBADF);
	C(b->write(p[1], "z", 1));
	memset(out, 0, sizeof(out));
	R(b->epoll_wait(ep, out, 8, 100), 1);
	V("events", out[0].events);
	V("data", (long)(out[0].data.u64 & 0x7fffffffffffffffull));
	ev.events = EPOLLOUT;
	ev.data.fd = p[1];
	E(b->epoll_ctl(ep, EPOLL_CTL_ADD, p[1], &ev), 0);
	memset(out, 0, sizeof(out));
	R(b->epoll_pwait(ep, out, 8, 0, NULL), 2);
	V("events", out[0].events | out[1].events);
	ev.events = EPOLLIN | EPOLLET;
	ev.data.u64 = 5;
	E(b->epoll_ctl(ep, EPOLL_CTL_MOD, p[0], &ev), 0);
	E(b->epoll_ctl(ep, EPOLL_CTL_DEL, p[1], NULL), 0);
	R(b->epoll_wait(ep, out, 8, 0), 1);
	E(b->epoll_wait(ep, out, 8, 0), 0);
	C(b->write(p[1], "z", 1));
	R(b->epoll_wait(ep, out, 1, 0), 1);
	V("data", (long)out[0].data.u64);
	E(b->epoll_pwait(ep, out, 8, 5, NULL), 0);
	ev.events = EPOLLIN | EPOLLONESHOT;
	ev.data.u64 = 6;
	E(b->epoll_ctl(ep, EPOLL_CTL_MOD, p[0], &ev), 0);
	R(b->epoll_wait(ep, out, 8, 0), 1);
	R(b->epoll_wait(ep, out, 8, 0), 0);
	E(b->epoll_ctl(ep, EPOLL_CTL_MOD, p[0], &ev), 0);
	R(b->epoll_wait(ep, out, 8, 0), 1);
	ev.events = EPOLLIN | EPOLLEXCLUSIVE;
	E(b->epoll_ctl(ep, EPOLL_CTL_MOD, p[0], &ev), EINVAL);
	/* a closed descriptor leaves the set */
	C(b->close(p[0]));
	C(b->close(p[1]));
	E(b->epoll_wait(ep, out, 8, 0), 0);
	E(b->epoll_ctl(ep, EPOLL_CTL_DEL, p[0], NULL), EBADF);
}

static void
s_statfs(struct be *b)
{
	struct statfs sf;
	int fd;

	mkfile(b, "f", NULL);
	memset(&sf, 0, sizeof(sf));
	E(b->statfs(".", &sf), 0);
	V("f_type", sf.f_type);
	V("f_namelen", sf.f_namelen);
	E(b->statfs("missing", &sf), ENOENT);
	E(b->statfs("f/x", &sf), ENOTDIR);
	C(fd = b->open("f", O_RDONLY));
	memset(&sf, 0, sizeof(sf));
	E(b->fstatfs(fd, &sf), 0);
	V("f_type", sf.f_type);
	E(b->fstatfs(999, &sf), EBADF);
}

/* Identity, both backends as root in a process of their own.  Values
 * that name host pids are not compared; their relations are. */
static void
s_ids(struct be *b)
{
	gid_t g[8];
	pid_t me;

	C(b->getuid());
	C(b->geteuid());
	C(b->getgid());
	C(b->getegid());
	me = b->getpid();
	V("getpid > 0", me > 0);
	V("getppid != getpid", b->getppid() != me);
	E(b->setgroups(0, NULL), 0);
	E(b->getgroups(0, NULL), 0);
	g[0] = 5;
	g[1] = 6;
	g[2] = 7;
	E(b->setgroups(3, g), 0);
	R(b->getgroups(0, NULL), 3);
	E(b->getgroups(1, g), EINVAL);
	memset(g, 0, sizeof(g));
	R(b->getgroups(8, g), 3);
	V("groups", g[0] * 10000 + g[1] * 100 + g[2]);
	E(b->getgroups(-1, g), EINVAL);
	E(b->setgroups(70000, g), EINVAL);
	E(b->setresgid(10, 20, 30), 0);
	C(b->getgid());
	C(b->getegid());
	E(b->setgid(40), 0);
	C(b->getgid());
	C(b->getegid());
	E(b->setresuid(100, 200, 0), 0);
	C(b->getuid());
	C(b->geteuid());
	E(b->setgid(0), EPERM);
	E(b->setgroups(0, NULL), EPERM);
	E(b->setresuid(0, (uid_t)-1, (uid_t)-1), 0);
	C(b->getuid());
	E(b->setresuid((uid_t)-1, 0, (uid_t)-1), 0);
	C(b->geteuid());
	E(b->setuid(1000), 0);
	C(b->getuid());
	C(b->geteuid());
	E(b->setuid(0), EPERM);
	E(b->setresuid(0, 0, 0), EPERM);
	E(b->setresuid(1000, 1000, 1000), 0);
	E(b->setresgid(1, 1, 1), EPERM);
	E(b->setgid(40), 0);
	E(b->setgid(41), EPERM);
}

static void
s_time(struct be *b)
{
	struct timespec ts, t2, rem;
	struct utsname u;
	char rnd[64];

	E(b->clock_gettime(CLOCK_MONOTONIC, &ts), 0);
	E(b->clock_gettime(CLOCK_REALTIME, &t2), 0);
	V("realtime is after 2020", t2.tv_sec > 1577836800);
	V("nsec in range", t2.tv_nsec >= 0 && t2.tv_nsec < 1000000000);
	E(b->clock_gettime(CLOCK_MONOTONIC_RAW, &t2), 0);
	E(b->clock_gettime(CLOCK_BOOTTIME, &t2), 0);
	E(b->clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t2), 0);
	E(b->clock_gettime(12345, &t2), EINVAL);
	E(b->clock_gettime(-1000, &t2), EINVAL);
	E(b->clock_getres(CLOCK_MONOTONIC, &t2), 0);
	V("res", t2.tv_sec * 1000000000 + t2.tv_nsec);
	E(b->clock_getres(CLOCK_REALTIME, &t2), 0);
	V("res", t2.tv_sec * 1000000000 + t2.tv_nsec);
	E(b->clock_getres(12345, &t2), EINVAL);
	t2.tv_sec = 0;
	t2.tv_nsec = 2000000;
	E(b->nanosleep(&t2, &rem), 0);
	E(b->clock_gettime(CLOCK_MONOTONIC, &rem), 0);
	V("monotonic advanced >= 2 ms", (rem.tv_sec - ts.tv_sec) * 1000000000 +
	    rem.tv_nsec - ts.tv_nsec >= 2000000);
	t2.tv_nsec = 1000000000;
	E(b->nanosleep(&t2, NULL), EINVAL);
	t2.tv_nsec = -1;
	E(b->nanosleep(&t2, NULL), EINVAL);
	t2.tv_sec = -1;
	t2.tv_nsec = 0;
	E(b->nanosleep(&t2, NULL), EINVAL);
	/* clock_nanosleep returns the error number itself */
	t2.tv_sec = 0;
	t2.tv_nsec = 1000000;
	V("clock_nanosleep rel", b->clock_nanosleep(CLOCK_MONOTONIC, 0, &t2, NULL));
	t2 = ts;
	V("clock_nanosleep abs past", b->clock_nanosleep(CLOCK_MONOTONIC,
	    TIMER_ABSTIME, &t2, NULL));
	V("clock_nanosleep bad clock", b->clock_nanosleep(12345, 0, &t2, NULL));
	t2.tv_nsec = 1000000000;
	V("clock_nanosleep bad nsec", b->clock_nanosleep(CLOCK_MONOTONIC, 0,
	    &t2, NULL));
	t2.tv_sec = 0;
	t2.tv_nsec = 1000;
	V("clock_nanosleep bad flags", b->clock_nanosleep(CLOCK_MONOTONIC, 0x100,
	    &t2, NULL) == 0);
	memset(rnd, 0, sizeof(rnd));
	R(b->getrandom(rnd, sizeof(rnd), 0), 64);
	V("random is not all zero", hash(rnd, sizeof(rnd)) != hash("\0\0\0\0\0\0\0\0"
	    "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0"
	    "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0", 64));
	R(b->getrandom(rnd, 16, GRND_NONBLOCK), 16);
	E(b->getrandom(rnd, 0, 0), 0);
	E(b->getrandom(rnd, 16, 0x8000), EINVAL);
	memset(&u, 0, sizeof(u));
	E(b->uname(&u), 0);
	V("sysname is Linux", strcmp(u.sysname, "Linux") == 0);
	V("machine is x86_64", strcmp(u.machine, "x86_64") == 0);
}

/* Many descriptors: the 1024 limit, for both. */
static void
s_emfile(struct be *b)
{
	int fd, n = 0, last = -1;

	mkfile(b, "f", NULL);
	for (;;) {
		errno = 0;
		fd = b->open("f", O_RDONLY);
		if (fd < 0)
			break;
		last = fd;
		if (++n > 5000)
			break;
	}
	rec(b, "open until failure", __LINE__, fd, errno, W_ERR, EMFILE);
	V("descriptors opened", n);
	V("last descriptor", last);
	E(b->dup(0), EMFILE);
	E(b->pipe((int[2]){0, 0}), EMFILE);
	E(b->fcntl(0, F_DUPFD, 0), EMFILE);
	E(b->epoll_create1(0), EMFILE);
	E(b->close(last), 0);
	E(b->pipe((int[2]){0, 0}), EMFILE);
	R(b->dup(0), 1023);
	R(b->dup2(0, 1023), 1023);
	E(b->dup2(0, 1024), EBADF);
}

/* Permission checks as uid 1000. */
static void
s_creds(struct be *b)
{
	struct stat st;
	struct timespec ts[2] = { { 1, 0 }, { 1, 0 } };
	char buf[8];
	int fd;

	mkfile(b, "ro", "x");
	C(b->chmod("ro", 0444));
	mkfile(b, "rw", "x");
	C(b->chmod("rw", 0666));
	mkfile(b, "secret", "x");
	C(b->chmod("secret", 0600));
	C(b->mkdir("locked", 0700));
	mkfile(b, "locked/f", NULL);
	C(b->mkdir("noexec", 0766));
	C(b->chmod("noexec", 0766));
	mkfile(b, "noexec/f", NULL);
	C(b->mkdir("pub", 0777));
	C(b->chmod("pub", 0777));
	C(b->mkdir("sticky", 01777));
	C(b->chmod("sticky", 01777));
	mkfile(b, "sticky/rootfile", NULL);
	C(b->chmod("sticky/rootfile", 0666));
	C(b->mkdir("ronly", 0755));
	mkfile(b, "ronly/f", NULL);
	C(b->mkdir("ronly/sub", 0777));
	C(b->chmod("ronly/sub", 0777));
	C(b->setgroups(0, NULL));
	E(b->setresgid(1000, 1000, 1000), 0);
	E(b->setresuid(1000, 1000, 1000), 0);
	C(b->getuid());
	C(b->geteuid());
	E(b->open("ro", O_WRONLY), EACCES);
	E(b->open("ro", O_RDONLY), 0);
	E(b->open("secret", O_RDONLY), EACCES);
	E(b->open("rw", O_RDWR), 0);
	E(b->open("ro", O_RDONLY | O_TRUNC), EACCES);
	E(b->truncate("ro", 0), EACCES);
	E(b->access("ro", W_OK), EACCES);
	E(b->access("ro", R_OK), 0);
	E(b->access("locked/f", F_OK), EACCES);
	E(b->faccessat(AT_FDCWD, "secret", R_OK, AT_EACCESS), EACCES);
	E(b->faccessat2(AT_FDCWD, "rw", W_OK, AT_EACCESS), 0);
	ST(b->stat("locked/f", &st), &st);
	ST(b->stat("noexec/f", &st), &st);
	E(b->open("locked", O_RDONLY), EACCES);
	E(b->open("noexec", O_RDONLY), 0);
	E(b->chdir("locked"), EACCES);
	E(b->chdir("noexec"), EACCES);
	E(b->open("new", O_CREAT | O_RDWR, 0644), EACCES);
	E(b->mkdir("newdir", 0755), EACCES);
	E(b->unlink("ro"), EACCES);
	E(b->rmdir("pub"), EACCES);
	E(b->rename("ro", "pub/ro"), EACCES);
	E(b->symlink("x", "sl"), EACCES);
	/* link("ro", "pub/ro") is not tried: its result is the host's
	 * fs.protected_hardlinks setting, not a rule of the system call. */
	E(b->unlink("ronly/f"), EACCES);
	E(b->rename("ronly/sub", "pub/sub"), EACCES);
	E(b->chmod("ro", 0777), EPERM);
	E(b->chown("ro", 1000, 1000), EPERM);
	E(b->utimensat(AT_FDCWD, "ro", ts, 0), EPERM);
	E(b->utimensat(AT_FDCWD, "ro", NULL, 0), EACCES);
	E(b->utimensat(AT_FDCWD, "rw", NULL, 0), 0);
	/* sticky: may not remove root's file from a 1777 directory */
	E(b->unlink("sticky/rootfile"), EPERM);
	E(b->rename("sticky/rootfile", "sticky/x"), EPERM);
	E(b->open("sticky/rootfile", O_RDWR), 0);
	mkfile(b, "sticky/mine", "m");
	E(b->unlink("sticky/mine"), 0);
	/* own files */
	C(fd = b->open("pub/own", O_CREAT | O_RDWR, 0600));
	ST(b->fstat(fd, &st), &st);
	E(b->fchmod(fd, 0000), 0);
	E(b->open("pub/own", O_RDONLY), EACCES);
	E(b->read(fd, buf, 1), 0);
	E(b->chmod("pub/own", 04755), 0);
	E(b->chown("pub/own", 1000, 1000), 0);
	E(b->chown("pub/own", 1000, 0), EPERM);
	E(b->chown("pub/own", 0, (gid_t)-1), EPERM);
	E(b->fchown(fd, 2000, (gid_t)-1), EPERM);
	E(b->mkdir("pub/mydir", 0700), 0);
	ST(b->stat("pub/mydir", &st), &st);
	E(b->setuid(0), EPERM);
	E(b->setresuid(0, 0, 0), EPERM);
	E(b->setgroups(0, NULL), EPERM);
	E(b->setgid(0), EPERM);
	E(b->setresgid(0, 0, 0), EPERM);
}

#ifndef SC_SELFTEST
/* Pith alone: mount, umount2, the raw door, identities in a new process. */
static void
s_pith_only(struct be *b)
{
	struct statfs sf;
	struct utsname u;
	int fd;

	/* A hosted kernel's first process is pid 1 with no parent; in the
	 * VM the script runs in a forked child. */
	if (PITH_HOSTED) {
		E(b->getpid() == 1 ? 0 : -1, 0);
		E(b->getppid(), 0);
	}
	E(b->getuid(), 0);
	E(b->geteuid(), 0);
	E(b->getgid(), 0);
	E(b->getegid(), 0);
	E(b->uname(&u), 0);
	E(strcmp(u.nodename, "pith") == 0 ? 0 : -1, 0);
	/* Hosted there is one address space: no fork, no clone.  (On bare
	 * metal there are, and they would fork this script.) */
	if (PITH_HOSTED) {
		R(pith_syscall(57), -ENOSYS);
		R(pith_syscall(56), -ENOSYS);
	}
	R(pith_syscall(100000), -ENOSYS);
	R(pith_syscall(-1), -ENOSYS);
	R(pith_syscall(1000), -ENOSYS);
	errno = 1234;
	(void)pith_syscall(1000);
	fd = errno;
	R(fd, 1234);	/* errno untouched by the raw door */
	R(pith_syscall(SYS_getpid), b->getpid());
	R(pith_syscall(SYS_close, 999), -EBADF);
	R(pith_syscall6(SYS_dup, 999, 0, 0, 0, 0, 0), -EBADF);
	E(b->mkdir("/mnt2", 0755), 0);
	E(b->mount("tmpfs", "/mnt2", "tmpfs", 0, NULL), 0);
	E(b->statfs("/mnt2", &sf), 0);
	E(sf.f_type == TMPFS_MAGIC ? 0 : -1, 0);
	E(b->mount("tmpfs", "/nonexistent", "tmpfs", 0, NULL), ENOENT);
	E(b->mount("x", "/mnt2", "nosuchfs", 0, NULL), ENODEV);
	E(b->mount("tmpfs", "/dev/null", "tmpfs", 0, NULL), ENOTDIR);
	E(fd = b->open("/mnt2/f", O_CREAT | O_RDWR, 0644), 0);
	E(b->umount2("/mnt2", 0), EBUSY);
	E(b->close(fd), 0);
	E(b->chdir("/mnt2"), 0);
	E(b->umount2("/mnt2", 0), EBUSY);
	E(b->chdir("/"), 0);
	E(b->umount2("/mnt2", 0x80000000), EINVAL);
	E(b->umount2("/mnt2", 0), 0);
	E(b->access("/mnt2/f", F_OK), ENOENT);
	E(b->umount2("/mnt2", 0), EINVAL);
	E(b->umount2("/nonexistent", 0), ENOENT);
	E(b->rmdir("/mnt2"), 0);
}
#endif

static const struct script scripts[] = {
	{ "open", s_open, 0 },
	{ "rw", s_rw, 0 },
	{ "stat", s_stat, 0 },
	{ "access", s_access, 0 },
	{ "dirs", s_dirs, 0 },
	{ "unlink", s_unlink, 0 },
	{ "rename", s_rename, 0 },
	{ "xdev", s_xdev, S_XDEV },
	{ "links", s_links, 0 },
	{ "chmod_chown", s_chmod_chown, S_ROOT },
	{ "size", s_size, 0 },
	{ "getdents", s_getdents, 0 },
	{ "cwd", s_cwd, 0 },
	{ "umask", s_umask, 0 },
	{ "utimens", s_utimens, 0 },
	{ "dup_fcntl", s_dup_fcntl, 0 },
	{ "ioctl", s_ioctl, 0 },
	{ "pipe", s_pipe, 0 },
	{ "poll", s_poll, 0 },
	{ "epoll", s_epoll, 0 },
	{ "statfs", s_statfs, 0 },
	{ "ids", s_ids, S_ROOT | S_PROC },
	{ "time", s_time, 0 },
	{ "emfile", s_emfile, 0 },
	{ "creds", s_creds, S_ROOT | S_PROC },
#ifndef SC_SELFTEST
	{ "pith_only", s_pith_only, S_PITH },
#endif
};

/* ------------------------------------------------------------------ */

/* A child's exit status when its backend could not be set up. */
#define EX_SETUP 70

static int host_root;
static int host_xdev;
#if PITH_HOSTED
static char host_xdir[64];
#endif

static struct log *
log_map(void)
{
	void *p = mmap(NULL, sizeof(struct log), PROT_READ | PROT_WRITE,
	    MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		bail_out("mmap: %s", strerror(errno));
	return p;
}

#if PITH_HOSTED
static int
rm_one(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	if (type == FTW_DP || type == FTW_D)
		return rmdir(path) < 0 ? 0 : 0;
	(void)unlink(path);
	return 0;
}

static void
rm_tree(const char *dir)
{
	(void)nftw(dir, rm_one, 32, FTW_DEPTH | FTW_PHYS);
}
#endif

#if PITH_HOSTED
/* The host child: descriptors 0-2 only (as a fresh Pith process has),
 * the default limit of 1024 descriptors, a fresh directory. */
static void
host_child(const struct script *s, struct log *log, const char *dir)
{
	struct be b = host_be;
	struct rlimit rl;
	int fd;

	for (fd = 0; fd < 3; fd++)
		if (fcntl(fd, F_GETFD) < 0)
			(void)open("/dev/null", O_RDWR);
	closefrom(3);
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_max >= 1024) {
		rl.rlim_cur = 1024;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
	}
	if (chdir(dir) < 0)
		_exit(EX_SETUP);
	umask(022);
	b.log = log;
	b.xdir = host_xdir;
	s->fn(&b);
	_exit(0);
}
#endif

#ifdef SC_SELFTEST
static void
pith_child(const struct script *s, struct log *log)
{
	char dir[] = "/dev/shm/pith-st.XXXXXX";

	if (mkdtemp(dir) == NULL)
		_exit(EX_SETUP);
	(void)chmod(dir, 0755);
	host_child(s, log, dir);
}
#elif !PITH_HOSTED
/* The VM's Pith child: a forked process of the one kernel, so a
 * directory of its own (and a tmpfs of its own for S_XDEV) instead of a
 * freshly booted kernel. */
static void
pith_child(const struct script *s, struct log *log)
{
	struct be b = pith_be;
	char dir[64], xdir[64];

	snprintf(dir, sizeof(dir), "/t-%s", s->name);
	snprintf(xdir, sizeof(xdir), "/mnt-%s", s->name);
	if (pith_sys_mkdir(dir, 0755) < 0 || pith_sys_chdir(dir) < 0)
		_exit(EX_SETUP);
	pith_sys_umask(022);
	if ((s->flags & S_XDEV) && (pith_sys_mkdir(xdir, 0755) < 0 ||
	    pith_sys_mount("tmpfs", xdir, "tmpfs", 0, NULL) < 0))
		_exit(EX_SETUP);
	if (!host_root && !(s->flags & (S_PITH | S_ROOT))) {
		/* The host ran the script unprivileged: so does Pith. */
		uid_t u = geteuid();
		gid_t g = getegid();

		if (pith_sys_chown(dir, u, g) < 0 ||
		    pith_sys_setgroups(0, NULL) < 0 ||
		    pith_sys_setresgid(g, g, g) < 0 ||
		    pith_sys_setresuid(u, u, u) < 0)
			_exit(EX_SETUP);
	}
	b.log = log;
	b.xdir = xdir;
	s->fn(&b);
	_exit(0);
}
#else
static void
pith_child(const struct script *s, struct log *log)
{
	struct be b = pith_be;
	pid_t pid;

	if (pith_init(NULL) < 0)
		_exit(EX_SETUP);
	if (pith_sys_mkdir("/t", 0755) < 0 || pith_sys_chdir("/t") < 0)
		_exit(EX_SETUP);
	pith_sys_umask(022);
	if (s->flags & S_XDEV) {
		(void)pith_sys_mkdir("/mnt", 0755);
		if (pith_sys_mount("tmpfs", "/mnt", "tmpfs", 0, NULL) < 0)
			_exit(EX_SETUP);
	}
	if (s->flags & S_PROC) {
		pid = pith_proc_create(PITH_PROC_COPYFDS);
		if (pid < 0 || pith_proc_switch(pid) < 0)
			_exit(EX_SETUP);
	} else if (!host_root && !(s->flags & (S_PITH | S_ROOT))) {
		/* The host runs the script unprivileged: so does Pith. */
		uid_t u = geteuid();
		gid_t g = getegid();

		pid = pith_proc_create(PITH_PROC_COPYFDS);
		if (pid < 0 || pith_proc_switch(pid) < 0 ||
		    pith_sys_chown("/t", u, g) < 0 ||
		    pith_sys_setgroups(0, NULL) < 0 ||
		    pith_sys_setresgid(g, g, g) < 0 ||
		    pith_sys_setresuid(u, u, u) < 0)
			_exit(EX_SETUP);
	}
	b.log = log;
	b.xdir = "/mnt";
	s->fn(&b);
	_exit(0);
}
#endif

/* Run one side of a script in a child; returns its wait status. */
static int
run_side(const struct script *s, int pith, struct log *log, const char *dir)
{
	pid_t pid;
	int status;

	memset(log, 0, sizeof(*log));
	fflush(stdout);
	pid = fork();
	if (pid < 0)
		bail_out("fork: %s", strerror(errno));
	if (pid == 0) {
		signal(SIGPIPE, SIG_IGN);
		alarm(30);
		if (pith)
			pith_child(s, log);
#if PITH_HOSTED
		else
			host_child(s, log, dir);
#endif
		_exit(EX_SETUP);
	}
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			bail_out("waitpid: %s", strerror(errno));
#if !PITH_HOSTED
	(void)dir;
#endif
	return status;
}

static const char *
ename(int e)
{
	static char buf[4][32];
	static int k;
#if PITH_HOSTED
	const char *n = e ? strerrorname_np(e) : "0";
#else
	const char *n = e ? NULL : "0";        /* musl has no errno names */
#endif

	if (n)
		return n;
	k = (k + 1) % 4;
	snprintf(buf[k], sizeof(buf[k]), "errno %d", e);
	return buf[k];
}

static void
show(const char *who, const struct rec *r)
{
	if (r->ret < 0 && r->err)
		diag("    %s: %ld, %s", who, r->ret, ename(r->err));
	else
		diag("    %s: %ld", who, r->ret);
}

static int
meets_want(const struct rec *r)
{
	if (r->wkind == W_RET)
		return r->ret == r->want;
	if (r->want == 0)
		return r->ret >= 0;
	return r->ret == -1 && r->err == r->want;
}

static void
show_want(const struct rec *r)
{
	if (r->wkind == W_RET)
		diag("    Linux: %ld", r->want);
	else if (r->want)
		diag("    Linux: -1, %s", ename((int)r->want));
	else
		diag("    Linux: success");
}

static const char *
label(const struct rec *r)
{
	return strncmp(r->what, "b->", 3) == 0 ? r->what + 3 : r->what;
}

static const char *
death(int status)
{
	static char buf[64];

	if (WIFSIGNALED(status))
		snprintf(buf, sizeof(buf), "killed by signal %d%s",
		    WTERMSIG(status),
		    WTERMSIG(status) == SIGALRM ? " (hung)" : "");
	else if (WIFEXITED(status) && WEXITSTATUS(status) == EX_SETUP)
		snprintf(buf, sizeof(buf), "could not set up (boot, /t, "
		    "mount or process)");
	else if (WIFEXITED(status) && WEXITSTATUS(status) != 0)
		snprintf(buf, sizeof(buf), "exited with %d (a sanitizer's "
		    "report is on stderr)", WEXITSTATUS(status));
	else
		return NULL;
	return buf;
}

static void
compare(const struct script *s, const struct log *hl, const struct log *pl,
    int host_ok, int pst)
{
	const struct rec *h, *p;
	const char *why;
	int i, n, match;

	n = pl->n;
	if (host_ok && hl->n > n)
		n = hl->n;
	for (i = 0; i < n; i++) {
		p = i < pl->n ? &pl->r[i] : NULL;
		h = host_ok && i < hl->n ? &hl->r[i] : NULL;
		if (h && p) {
			match = h->ret == p->ret && h->err == p->err;
			ok(match, "%s:%d %s", s->name, p->line, label(p));
			if (!match) {
				show("host", h);
				show("pith", p);
			}
			if (h->wkind != W_NONE && !meets_want(h)) {
				diag("    note: host differs from the expected value");
				show_want(h);
				show("host", h);
			}
		} else if (h) {
			ok(0, "%s:%d %s", s->name, h->line, label(h));
			diag("    pith never got here");
		} else if (p && p->wkind != W_NONE) {
			match = meets_want(p);
			ok(match, "%s:%d %s", s->name, p->line, label(p));
			if (!match) {
				show_want(p);
				show("pith", p);
			}
		}
	}
	why = death(pst);
	ok(why == NULL && !pl->overflow, "%s: pith ran the script to the end",
	    s->name);
	if (why)
		diag("    pith child %s after %d results%s%s", why, pl->n,
		    pl->n ? ", last: " : "",
		    pl->n ? label(&pl->r[pl->n - 1]) : "");
}

/* Recorded host answers: host_ok, the count, then ret and errno each. */
#define OR_VALS (2 + 2 * MAXREC)

#if !PITH_HOSTED
/* The VM's host side: the log the hosted run recorded for s, labelled
 * with the Pith log's entries (the same script); returns host_ok, 0 when
 * nothing was recorded (then Pith is checked alone, and one failure says
 * why). */
static int
recorded_log(const struct script *s, struct log *hl, const struct log *pl)
{
	static long v[OR_VALS];
	int i, n = oracle_load(s->name, v, OR_VALS);

	memset(hl, 0, sizeof(*hl));
	if (n < 2 || v[1] < 0 || v[1] > MAXREC || n != 2 + 2 * v[1]) {
		ok(0, "%s: Linux's answers recorded hosted (PITH_ORACLE)",
		    s->name);
		return 0;
	}
	hl->n = (int)v[1];
	for (i = 0; i < hl->n; i++) {
		hl->r[i].ret = v[2 + 2 * i];
		hl->r[i].err = (int)v[3 + 2 * i];
		if (i < pl->n) {
			hl->r[i].what = pl->r[i].what;
			hl->r[i].line = pl->r[i].line;
		} else
			hl->r[i].what = "(a step Pith did not reach)";
	}
	return (int)v[0];
}
#else
/* Hosted: record the host's side for the VM, if PITH_ORACLE asks. */
static void
record_log(const struct script *s, const struct log *hl, int host_ok)
{
	static long v[OR_VALS];
	int i;

	v[0] = host_ok;
	v[1] = hl->n;
	for (i = 0; i < hl->n; i++) {
		v[2 + 2 * i] = hl->r[i].ret;
		v[3 + 2 * i] = hl->r[i].err;
	}
	oracle_save(s->name, v, 2 + 2 * hl->n);
}
#endif

static void
run_script(const struct script *s, struct log *hl, struct log *pl)
{
#if !PITH_HOSTED
	int pst = run_side(s, 1, pl, NULL);

	compare(s, hl, pl, recorded_log(s, hl, pl), pst);
#else
	char dir[] = "/dev/shm/pith-sc.XXXXXX";
	const char *why = NULL;
	int host_ok = 1, hst, pst;

	if (s->flags & S_PITH)
		host_ok = 0;
	if ((s->flags & S_ROOT) && !host_root) {
		diag("%s: not root, comparing Pith with Linux's documented "
		    "results only", s->name);
		host_ok = 0;
	}
	if ((s->flags & S_XDEV) && !host_xdev) {
		diag("%s: /dev/shm and /tmp are one file system here, "
		    "checking Pith alone", s->name);
		host_ok = 0;
	}
	memset(hl, 0, sizeof(*hl));
	if (host_ok) {
		if (mkdtemp(dir) == NULL)
			bail_out("mkdtemp: %s", strerror(errno));
		(void)chmod(dir, 0755);
		hst = run_side(s, 0, hl, dir);
		rm_tree(dir);
		why = death(hst);
		if (why || hl->overflow) {
			diag("%s: host child %s; checking Pith alone", s->name,
			    why ? why : "overflowed its log");
			host_ok = 0;
		}
	}
	record_log(s, hl, host_ok);
	pst = run_side(s, 1, pl, NULL);
	compare(s, hl, pl, host_ok, pst);
#endif
}

int
main(int argc, char **argv)
{
	struct stat a, t;
	struct log *hl, *pl;
	size_t i;
	int only = argc > 1;

	setvbuf(stdout, NULL, _IOLBF, 0);
#if PITH_HOSTED
	long hv[2];

	host_root = geteuid() == 0;
	snprintf(host_xdir, sizeof(host_xdir), "/tmp/pith-scx.XXXXXX");
	if (mkdtemp(host_xdir) != NULL && stat(host_xdir, &t) == 0 &&
	    stat("/dev/shm", &a) == 0 && a.st_dev != t.st_dev)
		host_xdev = 1;
	(void)chmod(host_xdir, 0777);
	hv[0] = host_root;
	hv[1] = host_xdev;
	oracle_save("host", hv, 2);
#else
	/* Whether the recorded host was root: Pith runs as it did. */
	long hv[2] = { 1, 1 };

	(void)a;
	(void)t;
	if (oracle_load("host", hv, 2) != 2)
		diag("no recorded host (PITH_ORACLE): assuming root");
	host_root = (int)hv[0];
	host_xdev = (int)hv[1];
#endif
	hl = log_map();
	pl = log_map();
	for (i = 0; i < sizeof(scripts) / sizeof(scripts[0]); i++) {
		int k, want = !only;

		for (k = 1; k < argc; k++)
			if (strcmp(argv[k], scripts[i].name) == 0)
				want = 1;
		if (want)
			run_script(&scripts[i], hl, pl);
	}
#if PITH_HOSTED
	rm_tree(host_xdir);
#endif
	return done_testing();
}
