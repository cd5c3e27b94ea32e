/*
 * The hand-written half of the hosted API: the pith_sys_* functions whose
 * libc signature differs from the system call beneath them (variadic
 * open/fcntl/ioctl, getcwd returning a pointer, clock_nanosleep returning
 * the error number, the sigmask-size argument libc hides...), and the
 * errno-setting doors to the kernel's life-cycle and process calls.
 *
 * Each follows libc's behaviour on Linux, so that a program can switch
 * between X() and pith_sys_X() without changing its error handling.
 *
 * The pith_sys_* half is also compiled with -DPITH_SYSABI into the
 * foundation's tests built with musl for the VM (tests/metal/sysabi/),
 * where pith_syscall6 is the `syscall` instruction: there is no kernel
 * life cycle to wrap, and the tests see the same libc behaviour.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#include <pith/pith.h>

#ifndef PITH_SYSABI
long pith_kinit(const struct pith_config *cfg);
long pith_kproc_create(unsigned flags);
long pith_kproc_switch(pid_t pid);
long pith_kproc_release(pid_t pid);
#endif

/* libc's convention: -errno becomes -1 with errno set. */
static long
wrap_ret(long r)
{
	if (r < 0 && r > -4096) {
		errno = (int)-r;
		return -1;
	}
	return r;
}

static long
sys6(long nr, long a1, long a2, long a3, long a4, long a5, long a6)
{
	return wrap_ret(pith_syscall6(nr, a1, a2, a3, a4, a5, a6));
}

#ifndef PITH_SYSABI
int
pith_init(const struct pith_config *cfg)
{
	return (int)wrap_ret(pith_kinit(cfg));
}

pid_t
pith_proc_create(unsigned flags)
{
	return (pid_t)wrap_ret(pith_kproc_create(flags));
}

int
pith_proc_switch(pid_t pid)
{
	return (int)wrap_ret(pith_kproc_switch(pid));
}

int
pith_proc_release(pid_t pid)
{
	return (int)wrap_ret(pith_kproc_release(pid));
}
#endif

/* open(2)'s mode is read only when it matters, as libc does. */
static int
wrap_needs_mode(int flags)
{
	return (flags & O_CREAT) || (flags & O_TMPFILE) == O_TMPFILE;
}

int
pith_sys_open(const char *path, int flags, ...)
{
	mode_t mode = 0;
	va_list ap;

	if (wrap_needs_mode(flags)) {
		va_start(ap, flags);
		mode = va_arg(ap, mode_t);
		va_end(ap);
	}
	return (int)sys6(SYS_open, (long)path, flags, mode, 0, 0, 0);
}

int
pith_sys_openat(int dirfd, const char *path, int flags, ...)
{
	mode_t mode = 0;
	va_list ap;

	if (wrap_needs_mode(flags)) {
		va_start(ap, flags);
		mode = va_arg(ap, mode_t);
		va_end(ap);
	}
	return (int)sys6(SYS_openat, dirfd, (long)path, flags, mode, 0, 0);
}

int
pith_sys_ioctl(int fd, unsigned long request, ...)
{
	va_list ap;
	void *arg;

	va_start(ap, request);
	arg = va_arg(ap, void *);
	va_end(ap);
	return (int)sys6(SYS_ioctl, fd, (long)request, (long)arg, 0, 0, 0);
}

int
pith_sys_fcntl(int fd, int cmd, ...)
{
	va_list ap;
	long arg;

	va_start(ap, cmd);
	arg = va_arg(ap, long);
	va_end(ap);
	return (int)sys6(SYS_fcntl, fd, cmd, arg, 0, 0, 0);
}

/* As glibc: a NULL buffer is allocated (size bytes, or as needed). */
char *
pith_sys_getcwd(char *buf, size_t size)
{
	char *mine = NULL;

	if (buf == NULL) {
		if (size == 0)
			size = PATH_MAX;
		mine = malloc(size);
		if (mine == NULL)
			return NULL;
		buf = mine;
	} else if (size == 0) {
		errno = EINVAL;
		return NULL;
	}
	if (sys6(SYS_getcwd, (long)buf, (long)size, 0, 0, 0, 0) < 0) {
		free(mine);
		return NULL;
	}
	return buf;
}

int
pith_sys_setgroups(size_t size, const gid_t *list)
{
	if (size > (size_t)INT32_MAX) {
		errno = EINVAL;
		return -1;
	}
	return (int)sys6(SYS_setgroups, (long)size, (long)list, 0, 0, 0, 0);
}

/* clock_nanosleep returns the error number and leaves errno alone. */
int
pith_sys_clock_nanosleep(clockid_t clk, int flags, const struct timespec *req,
    struct timespec *rem)
{
	long r = pith_syscall6(SYS_clock_nanosleep, clk, flags, (long)req,
	    (long)rem, 0, 0);

	return r < 0 ? (int)-r : 0;
}

/*
 * fchmodat's flags live in libc: the system call has none.  Like glibc,
 * AT_SYMLINK_NOFOLLOW on a symlink is EOPNOTSUPP (its mode means nothing).
 */
int
pith_sys_fchmodat(int dirfd, const char *path, mode_t mode, int flags)
{
	struct stat st;

	if (flags & ~AT_SYMLINK_NOFOLLOW) {
		errno = EINVAL;
		return -1;
	}
	if (flags & AT_SYMLINK_NOFOLLOW) {
		if (pith_sys_fstatat(dirfd, path, &st, AT_SYMLINK_NOFOLLOW) < 0)
			return -1;
		if (S_ISLNK(st.st_mode)) {
			errno = EOPNOTSUPP;
			return -1;
		}
	}
	return (int)sys6(SYS_fchmodat, dirfd, (long)path, mode, 0, 0, 0);
}

int
pith_sys_faccessat(int dirfd, const char *path, int mode, int flags)
{
	return (int)sys6(SYS_faccessat2, dirfd, (long)path, mode, flags, 0, 0);
}

int
pith_sys_fstatat(int dirfd, const char *path, struct stat *st, int flags)
{
	return (int)sys6(SYS_newfstatat, dirfd, (long)path, (long)st, flags, 0, 0);
}

ssize_t
pith_sys_pread(int fd, void *buf, size_t count, off_t offset)
{
	return sys6(SYS_pread64, fd, (long)buf, (long)count, offset, 0, 0);
}

ssize_t
pith_sys_pwrite(int fd, const void *buf, size_t count, off_t offset)
{
	return sys6(SYS_pwrite64, fd, (long)buf, (long)count, offset, 0, 0);
}

/* The kernel reads 8 bytes of signal mask: Linux's sigsetsize. */
#define WRAP_SIGSETSIZE 8

int
pith_sys_pselect(int nfds, fd_set *rfds, fd_set *wfds, fd_set *efds,
    const struct timespec *timeout, const sigset_t *sigmask)
{
	struct timespec ts, *tsp = NULL;
	struct { const sigset_t *ss; size_t len; } data = { sigmask,
	    WRAP_SIGSETSIZE };

	/* pselect's timeout is const; the system call writes it back. */
	if (timeout != NULL) {
		ts = *timeout;
		tsp = &ts;
	}
	return (int)sys6(SYS_pselect6, nfds, (long)rfds, (long)wfds, (long)efds,
	    (long)tsp, (long)&data);
}

int
pith_sys_pselect6(int nfds, fd_set *rfds, fd_set *wfds, fd_set *efds,
    const struct timespec *timeout, const sigset_t *sigmask)
{
	return pith_sys_pselect(nfds, rfds, wfds, efds, timeout, sigmask);
}

int
pith_sys_ppoll(struct pollfd *fds, unsigned long nfds,
    const struct timespec *timeout, const sigset_t *sigmask)
{
	struct timespec ts, *tsp = NULL;

	if (timeout != NULL) {
		ts = *timeout;
		tsp = &ts;
	}
	return (int)sys6(SYS_ppoll, (long)fds, (long)nfds, (long)tsp,
	    (long)sigmask, WRAP_SIGSETSIZE, 0);
}

int
pith_sys_epoll_pwait(int epfd, struct epoll_event *events, int maxevents,
    int timeout, const sigset_t *sigmask)
{
	return (int)sys6(SYS_epoll_pwait, epfd, (long)events, maxevents, timeout,
	    (long)sigmask, WRAP_SIGSETSIZE);
}

/* preadv's offset travels split in two halves, low word first. */
ssize_t
pith_sys_preadv(int fd, const struct iovec *iov, int iovcnt, off_t offset)
{
	return sys6(SYS_preadv, fd, (long)iov, iovcnt, offset, 0, 0);
}

ssize_t
pith_sys_pwritev(int fd, const struct iovec *iov, int iovcnt, off_t offset)
{
	return sys6(SYS_pwritev, fd, (long)iov, iovcnt, offset, 0, 0);
}

/* As glibc: a dev_t that does not fit the kernel's 32 bits is EINVAL. */
int
pith_sys_mknodat(int dirfd, const char *path, mode_t mode, dev_t dev)
{
	if ((unsigned int)dev != dev) {
		errno = EINVAL;
		return -1;
	}
	return (int)sys6(SYS_mknodat, dirfd, (long)path, mode, (long)dev, 0, 0);
}

int
pith_sys_mknod(const char *path, mode_t mode, dev_t dev)
{
	return pith_sys_mknodat(AT_FDCWD, path, mode, dev);
}
