/*
 * libpithshim: unmodified dynamically linked programs use a pithd
 * server's file systems through LD_PRELOAD.
 *
 * The rule (docs/shim.md): a path under the prefix ($PITH_PREFIX,
 * default /pith) goes to the server ($PITH_SERVER) with the prefix
 * stripped; a relative path goes where its directory is (the descriptor
 * of an *at call, or the working directory); a descriptor goes where it
 * came from.  Everything else is the host's, passed to glibc untouched.
 *
 * A server descriptor is held in the host's descriptor table by a
 * placeholder: an O_CLOEXEC descriptor of /dev/null with the same number,
 * so the host can never hand that number out for something else.
 * shim_tab maps the number to the server's descriptor (plus one, so that
 * zero means "host").  Entries change under shim_lock; lookups read one
 * int and take no lock (a descriptor closed by one thread while another
 * uses it is the program's race, as on Linux).
 *
 * The connection is made at the first server call, not at load, so that
 * programs that never touch the prefix never talk to the server.  A child
 * after fork has its parent's table, and libpithclient has made it a copy
 * of the parent's kernel process (same descriptor numbers, sharing the
 * open files), so the table stays right.  Only if that failed does the
 * child, at its first call into the shim, close the placeholders it
 * inherited, forget them, and connect anew, returning to the working
 * directory it had in the server.  A new image that an execve of ours
 * started claims the parked process at load (exec.c, shim_claim).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>

#include <pith/client.h>
#include "shim.h"

#define SHIM_MAXFD	65536

static pthread_mutex_t shim_lock = PTHREAD_MUTEX_INITIALIZER;
static int shim_tab[SHIM_MAXFD];	/* host fd -> server fd + 1 */
static int shim_maxfd;			/* [shim_lock] highest mapped + 1 */
static char shim_prefix[PATH_MAX] = "/pith";
static size_t shim_plen = 5;
static int shim_root;			/* --root: all but shim_hostpaths */

/*
 * With --root ($PITH_ROOT=1, prefix "/"), every absolute path goes to
 * the server except these, which the program's executable, the dynamic
 * loader, libc and the terminal need from the host (docs/shim.md).  Each
 * matches itself and what is below it.
 */
static const char *const shim_hostpaths[] = {
	"/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32",
	"/usr/bin", "/usr/sbin", "/usr/lib", "/usr/lib32", "/usr/lib64",
	"/usr/libexec", "/usr/local/bin", "/usr/local/sbin", "/usr/local/lib",
	"/usr/share/locale", "/usr/share/zoneinfo", "/etc/ld.so.cache",
	"/etc/ld.so.preload", "/etc/ld.so.conf", "/etc/ld.so.conf.d",
	"/etc/localtime", "/proc", "/sys", "/dev/tty", "/dev/pts",
	"/dev/ptmx", "/dev/fd", "/dev/stdin", "/dev/stdout", "/dev/stderr",
	"/dev/shm",
	NULL
};

/* Whether absolute path is one of shim_hostpaths or below one. */
static int
shim_hostpath(const char *path)
{
	const char *const *h;
	size_t n;

	while (path[0] == '/' && path[1] == '/')
		path++;
	for (h = shim_hostpaths; *h != NULL; h++) {
		n = strlen(*h);
		if (strncmp(path, *h, n) == 0 &&
		    (path[n] == '\0' || path[n] == '/'))
			return 1;
	}
	return 0;
}
static char shim_server[PATH_MAX];
static int shim_connected;		/* [shim_lock] */
static volatile int shim_forked;	/* set in a child after fork */
int shim_cwd_server;			/* the working directory is the server's */
char shim_cwd[PATH_MAX];		/* it, as the server names it */

static pid_t shim_pid;			/* host pid that owns the connection */

static void
shim_child(void)
{
	shim_forked = 1;
	shim_pid = (pid_t)syscall(SYS_getpid);
}

/*
 * In a child that clone (spawn.c) made without shared memory and without
 * atfork handlers: leave the parent's connection and claim tok, the copy
 * of its kernel process made for us (NULL: none was).  Only the calling
 * thread exists here; a lock another thread of the parent held stays
 * held, as after any fork without handlers.
 */
void
shim_cloned(const char *tok)
{
	pith_client_disconnect();
	if (tok != NULL && shim_server[0] != '\0')
		pith_client_claim(shim_server, tok, 0);
	shim_child();
}

/* A child of vfork or posix_spawn: our memory, the parent's connection. */
int
shim_vforked(void)
{
	return shim_pid != 0 && (pid_t)syscall(SYS_getpid) != shim_pid;
}

static void shim_claim(void);

__attribute__((constructor)) static void
shim_init(void)
{
	const char *p;
	size_t len;

	p = getenv("PITH_PREFIX");
	if (p != NULL && p[0] == '/') {
		len = strlen(p);
		while (len > 1 && p[len - 1] == '/')
			len--;
		if (len < sizeof(shim_prefix)) {
			memcpy(shim_prefix, p, len);
			shim_prefix[len] = '\0';
			/* A prefix of "/" sends every absolute path. */
			shim_plen = len == 1 ? 0 : len;
		}
	}
	p = getenv("PITH_ROOT");
	if (p != NULL && strcmp(p, "1") == 0) {
		shim_root = 1;
		strcpy(shim_prefix, "/");
		shim_plen = 0;
	}
	p = getenv("PITH_SERVER");
	if (p != NULL && strlen(p) < sizeof(shim_server))
		strcpy(shim_server, p);
	/* A working directory in the server, from the program that ran us. */
	p = getenv(SHIM_CWDENV);
	if (p != NULL && p[0] == '/' && strlen(p) < sizeof(shim_cwd)) {
		strcpy(shim_cwd, p);
		shim_cwd_server = 1;
	}
	pthread_atfork(NULL, NULL, shim_child);
	shim_claim();
}

/*
 * We are a new image started by an execve of the shim's: become the
 * kernel process it parked ($PITH_TOKEN) and take back the server
 * descriptors it kept open for us ($PITH_FDS, "host:server,...", each
 * held by a placeholder it made inheritable).  Both variables are
 * removed so that they do not reach our own children.
 */
static void
shim_claim(void)
{
	const char *tok = getenv(SHIM_TOKENENV), *fds = getenv(SHIM_FDSENV);
	char *end;
	long h, sfd;
	int ok;

	if (tok == NULL)
		return;
	ok = shim_server[0] != '\0' &&
	    pith_client_claim(shim_server, tok, 1) == 0;
	pthread_mutex_lock(&shim_lock);
	while (fds != NULL && *fds != '\0') {
		h = strtol(fds, &end, 10);
		if (end == fds || *end != ':')
			break;
		sfd = strtol(end + 1, &end, 10);
		if (h < 0 || h >= SHIM_MAXFD || sfd < 0 || sfd >= INT32_MAX)
			break;
		if (ok && REAL(fcntl)((int)h, F_SETFD, FD_CLOEXEC) == 0) {
			shim_tab[h] = (int)sfd + 1;
			if (h >= shim_maxfd)
				shim_maxfd = (int)h + 1;
		} else if (!ok)
			REAL(close)((int)h);	/* a /dev/null placeholder */
		fds = *end == ',' ? end + 1 : end;
	}
	shim_connected = ok;
	shim_pid = (pid_t)syscall(SYS_getpid);
	pthread_mutex_unlock(&shim_lock);
	unsetenv(SHIM_TOKENENV);
	unsetenv(SHIM_FDSENV);
}

/*
 * In a child after fork: drop the inherited placeholders (their server
 * descriptors belong to the parent's kernel process) and the connection.
 */
static void
shim_afterfork(void)
{
	int fd;

	if (!shim_forked)
		return;
	pthread_mutex_lock(&shim_lock);
	if (shim_forked && pith_client_pid() >= 0) {
		/* libpithclient made us the copy: the table holds. */
		shim_forked = 0;
	} else if (shim_forked) {
		for (fd = 0; fd < shim_maxfd; fd++)
			if (shim_tab[fd] != 0) {
				shim_tab[fd] = 0;
				REAL(close)(fd);
			}
		shim_maxfd = 0;
		shim_connected = 0;
		shim_forked = 0;
	}
	pthread_mutex_unlock(&shim_lock);
}

/* Connect, and give the new kernel process our umask and directory. */
static int
shim_connect(void)
{
	mode_t mask;
	int error = 0;

	pthread_mutex_lock(&shim_lock);
	if (shim_connected)
		goto out;
	if (shim_server[0] == '\0') {
		error = ENOTCONN;
		goto out;
	}
	if (pith_client_connect(shim_server) < 0 && errno != EISCONN)
		error = errno;
	if (error)
		goto out;
	mask = REAL(umask)(0);
	REAL(umask)(mask);
	pith_syscall6(SYS_umask, mask, 0, 0, 0, 0, 0);
	if (shim_cwd_server)
		pith_syscall6(SYS_chdir, (long)shim_cwd, 0, 0, 0, 0, 0);
	shim_connected = 1;
	shim_pid = (pid_t)syscall(SYS_getpid);
out:
	pthread_mutex_unlock(&shim_lock);
	return error;
}

/* Whether fd is the connection (libpithclient keeps it at a high
 * number), which the program does not see. */
static int
shim_hidden(int fd)
{
	return fd >= 0 && fd == pith_client_sockfd();
}

/* One system call in the server: the result, or a negative errno. */
long
shim_call(long nr, long a1, long a2, long a3, long a4, long a5, long a6)
{
	int error;

	shim_afterfork();
	if (!shim_connected) {
		error = shim_connect();
		if (error)
			return -(long)error;
	}
	return pith_syscall6(nr, a1, a2, a3, a4, a5, a6);
}

int
shim_connected_now(void)
{
	shim_afterfork();
	return shim_connected && pith_client_pid() >= 0;
}

int
shim_maxfd_now(void)
{
	return shim_maxfd;
}

/* A server result as libc returns it: -1 and errno, or the value. */
long
shim_ret(long r)
{
	if (r < 0 && r > -4096) {
		errno = (int)-r;
		return -1;
	}
	return r;
}

long
shim_err(int error)
{
	errno = error;
	return -1;
}

/* The server descriptor behind host descriptor fd, or -1. */
int
shim_sfd(int fd)
{
	shim_afterfork();
	if (fd < 0 || fd >= SHIM_MAXFD)
		return -1;
	return shim_tab[fd] - 1;
}

/*
 * Give server descriptor sfd a host number >= min, held by a placeholder.
 * Returns the number, or -1 with errno (the server descriptor is closed
 * then).
 */
int
shim_newfd(long sfd, int min)
{
	int fd, h, error;

	if (sfd < 0)
		return (int)shim_ret(sfd);
	fd = REAL(open)("/dev/null", O_RDWR | O_CLOEXEC);
	if (fd >= 0 && fd < min) {
		h = REAL(fcntl)(fd, F_DUPFD_CLOEXEC, min);
		error = errno;
		REAL(close)(fd);
		fd = h;
		errno = error;
	}
	if (fd >= SHIM_MAXFD) {
		REAL(close)(fd);
		fd = -1;
		errno = EMFILE;
	}
	if (fd < 0) {
		error = errno;
		SCALL(SYS_close, sfd, 0, 0, 0, 0, 0);
		return (int)shim_err(error);
	}
	pthread_mutex_lock(&shim_lock);
	shim_tab[fd] = (int)sfd + 1;
	if (fd >= shim_maxfd)
		shim_maxfd = fd + 1;
	pthread_mutex_unlock(&shim_lock);
	return fd;
}

/* Host descriptor fd no longer stands for a server descriptor. */
void
shim_forget(int fd)
{
	if (fd < 0 || fd >= SHIM_MAXFD)
		return;
	pthread_mutex_lock(&shim_lock);
	shim_tab[fd] = 0;
	pthread_mutex_unlock(&shim_lock);
}

/*
 * Decide where (dirfd, path) goes.  Returns 1 with r filled for the
 * server, 0 for the host.  Prefix matching is by name: "/pith" and
 * "/pith/..." match, "/pithos" does not; ".." under the prefix stays in
 * the server (its root is the top).
 */
int
shim_route(int dirfd, const char *path, struct shim_route *r)
{
	int sfd;

	if (path == NULL)
		return 0;
	if (path[0] == '/') {
		if (shim_root && shim_hostpath(path))
			return 0;
		if (strncmp(path, shim_prefix, shim_plen) != 0 ||
		    (path[shim_plen] != '\0' && path[shim_plen] != '/'))
			return 0;
		r->sr_dirfd = AT_FDCWD;
		r->sr_path = path[shim_plen] == '\0' ? "/" : path + shim_plen;
		return 1;
	}
	if (dirfd == AT_FDCWD) {
		if (!shim_cwd_server)
			return 0;
		r->sr_dirfd = AT_FDCWD;
		r->sr_path = path;
		return 1;
	}
	sfd = shim_sfd(dirfd);
	if (sfd < 0)
		return 0;
	r->sr_dirfd = sfd;
	r->sr_path = path;
	return 1;
}

/* Prefix plus a server path, for getcwd. */
int
shim_hostname(const char *spath, char *buf, size_t size)
{
	size_t need;

	if (strcmp(spath, "/") == 0 && shim_plen > 0)
		spath = "";
	need = shim_plen + strlen(spath) + 1;
	if (need > size)
		return ERANGE;
	memcpy(buf, shim_prefix, shim_plen);
	strcpy(buf + shim_plen, spath);
	return 0;
}

/* --- descriptors ----------------------------------------------------- */

SHIM_EXPORT int
close(int fd)
{
	int sfd = shim_sfd(fd);
	long r;

	if (shim_hidden(fd))
		return (int)shim_err(EBADF);
	if (sfd < 0)
		return REAL(close)(fd);
	r = SCALL(SYS_close, sfd, 0, 0, 0, 0, 0);
	shim_forget(fd);
	REAL(close)(fd);
	return (int)shim_ret(r);
}

SHIM_EXPORT int
close_range(unsigned int first, unsigned int last, int flags)
{
	unsigned int fd;

	int s = pith_client_sockfd();

	if (first <= last && !(flags & CLOSE_RANGE_CLOEXEC))
		for (fd = first; fd <= last && fd < (unsigned)shim_maxfd; fd++)
			if (shim_sfd((int)fd) >= 0)
				close((int)fd);
	/* Around the connection's socket. */
	if (s >= 0 && (unsigned)s >= first && (unsigned)s <= last) {
		if ((unsigned)s > first &&
		    REAL(close_range)(first, (unsigned)s - 1, flags) < 0)
			return -1;
		if ((unsigned)s == ~0U || (unsigned)s == last)
			return 0;
		first = (unsigned)s + 1;
	}
	return REAL(close_range)(first, last, flags);
}

SHIM_EXPORT ssize_t
read(int fd, void *buf, size_t n)
{
	int sfd = shim_sfd(fd);

	if (sfd < 0)
		return REAL(read)(fd, buf, n);
	return shim_ret(SCALL(SYS_read, sfd, buf, n, 0, 0, 0));
}

SHIM_EXPORT ssize_t
write(int fd, const void *buf, size_t n)
{
	int sfd = shim_sfd(fd);

	if (sfd < 0)
		return REAL(write)(fd, buf, n);
	return shim_ret(SCALL(SYS_write, sfd, buf, n, 0, 0, 0));
}

SHIM_EXPORT ssize_t
readv(int fd, const struct iovec *iov, int cnt)
{
	int sfd = shim_sfd(fd);

	if (sfd < 0)
		return REAL(readv)(fd, iov, cnt);
	return shim_ret(SCALL(SYS_readv, sfd, iov, cnt, 0, 0, 0));
}

SHIM_EXPORT ssize_t
writev(int fd, const struct iovec *iov, int cnt)
{
	int sfd = shim_sfd(fd);

	if (sfd < 0)
		return REAL(writev)(fd, iov, cnt);
	return shim_ret(SCALL(SYS_writev, sfd, iov, cnt, 0, 0, 0));
}

SHIM_EXPORT ssize_t
pread64(int fd, void *buf, size_t n, off64_t off)
{
	int sfd = shim_sfd(fd);

	if (sfd < 0)
		return REAL(pread64)(fd, buf, n, off);
	return shim_ret(SCALL(SYS_pread64, sfd, buf, n, off, 0, 0));
}

SHIM_EXPORT ssize_t
pread(int fd, void *buf, size_t n, off_t off)
{
	return pread64(fd, buf, n, off);
}

SHIM_EXPORT ssize_t
pwrite64(int fd, const void *buf, size_t n, off64_t off)
{
	int sfd = shim_sfd(fd);

	if (sfd < 0)
		return REAL(pwrite64)(fd, buf, n, off);
	return shim_ret(SCALL(SYS_pwrite64, sfd, buf, n, off, 0, 0));
}

SHIM_EXPORT ssize_t
pwrite(int fd, const void *buf, size_t n, off_t off)
{
	return pwrite64(fd, buf, n, off);
}

SHIM_EXPORT off64_t
lseek64(int fd, off64_t off, int whence)
{
	int sfd = shim_sfd(fd);

	if (sfd < 0)
		return REAL(lseek64)(fd, off, whence);
	return shim_ret(SCALL(SYS_lseek, sfd, off, whence, 0, 0, 0));
}

SHIM_EXPORT off_t
lseek(int fd, off_t off, int whence)
{
	return lseek64(fd, off, whence);
}

SHIM_EXPORT ssize_t
getdents64(int fd, void *buf, size_t n)
{
	int sfd = shim_sfd(fd);

	if (sfd < 0)
		return REAL(getdents64)(fd, buf, n);
	return shim_ret(SCALL(SYS_getdents64, sfd, buf, n, 0, 0, 0));
}

/* The calls that take only a descriptor: the server's, or the host's. */
static int
shim_fdonly(int fd, long nr, int (*real)(int))
{
	int sfd = shim_sfd(fd);

	if (sfd < 0)
		return real(fd);
	return (int)shim_ret(SCALL(nr, sfd, 0, 0, 0, 0, 0));
}

SHIM_EXPORT int
fsync(int fd)
{
	return shim_fdonly(fd, SYS_fsync, REAL(fsync));
}

SHIM_EXPORT int
fdatasync(int fd)
{
	return shim_fdonly(fd, SYS_fdatasync, REAL(fdatasync));
}

SHIM_EXPORT int
syncfs(int fd)
{
	return shim_fdonly(fd, SYS_syncfs, REAL(syncfs));
}

SHIM_EXPORT int
ftruncate64(int fd, off64_t len)
{
	int sfd = shim_sfd(fd);

	if (sfd < 0)
		return REAL(ftruncate64)(fd, len);
	return (int)shim_ret(SCALL(SYS_ftruncate, sfd, len, 0, 0, 0, 0));
}

SHIM_EXPORT int
ftruncate(int fd, off_t len)
{
	return ftruncate64(fd, len);
}

SHIM_EXPORT int
fchmod(int fd, mode_t mode)
{
	int sfd = shim_sfd(fd);

	if (sfd < 0)
		return REAL(fchmod)(fd, mode);
	return (int)shim_ret(SCALL(SYS_fchmod, sfd, mode, 0, 0, 0, 0));
}

SHIM_EXPORT int
fchown(int fd, uid_t uid, gid_t gid)
{
	int sfd = shim_sfd(fd);

	if (sfd < 0)
		return REAL(fchown)(fd, uid, gid);
	return (int)shim_ret(SCALL(SYS_fchown, sfd, (int)uid, (int)gid, 0, 0,
	    0));
}

SHIM_EXPORT int
futimens(int fd, const struct timespec ts[2])
{
	int sfd = shim_sfd(fd);

	if (sfd < 0)
		return REAL(futimens)(fd, ts);
	return (int)shim_ret(SCALL(SYS_utimensat, sfd, NULL, ts, 0, 0, 0));
}

SHIM_EXPORT int
fstat64(int fd, struct stat64 *st)
{
	int sfd = shim_sfd(fd);

	if (sfd < 0)
		return REAL(fstat64)(fd, st);
	return (int)shim_ret(SCALL(SYS_fstat, sfd, st, 0, 0, 0, 0));
}

SHIM_EXPORT int
fstat(int fd, struct stat *st)
{
	return fstat64(fd, (struct stat64 *)st);
}

SHIM_EXPORT int
dup(int fd)
{
	int sfd = shim_sfd(fd);

	if (sfd < 0)
		return REAL(dup)(fd);
	return shim_newfd(SCALL(SYS_dup, sfd, 0, 0, 0, 0, 0), 0);
}

SHIM_EXPORT int
dup3(int fd, int nfd, int flags)
{
	int sfd = shim_sfd(fd), osfd = shim_sfd(nfd);
	long nsfd;

	if (fd == nfd || (flags & ~O_CLOEXEC) != 0 || nfd < 0 ||
	    nfd >= SHIM_MAXFD)
		return REAL(dup3)(fd, nfd, flags);
	if (shim_hidden(nfd))
		return (int)shim_err(EBUSY);
	if (sfd < 0 && osfd < 0)
		return REAL(dup3)(fd, nfd, flags);
	if (nfd < 3)
		shim_std_follow(nfd, 0);
	if (sfd < 0) {
		/* Host onto a server descriptor's number. */
		if (REAL(dup3)(fd, nfd, flags) < 0)
			return -1;
		shim_forget(nfd);
		SCALL(SYS_close, osfd, 0, 0, 0, 0, 0);
		goto out;
	}
	nsfd = SCALL(SYS_fcntl, sfd,
	    (flags & O_CLOEXEC) ? F_DUPFD_CLOEXEC : F_DUPFD, 0, 0, 0, 0);
	if (nsfd < 0)
		return (int)shim_ret(nsfd);
	if (REAL(dup3)(fd, nfd, O_CLOEXEC) < 0) {
		SCALL(SYS_close, nsfd, 0, 0, 0, 0, 0);
		return -1;
	}
	if (osfd >= 0)
		SCALL(SYS_close, osfd, 0, 0, 0, 0, 0);
	pthread_mutex_lock(&shim_lock);
	shim_tab[nfd] = (int)nsfd + 1;
	if (nfd >= shim_maxfd)
		shim_maxfd = nfd + 1;
	pthread_mutex_unlock(&shim_lock);
out:
	if (nfd < 3)
		shim_std_follow(nfd, 1);
	return nfd;
}

SHIM_EXPORT int
dup2(int fd, int nfd)
{
	if (fd == nfd) {
		if (shim_sfd(fd) >= 0)
			return nfd;
		return REAL(dup2)(fd, nfd);
	}
	if (nfd < 0 || nfd >= SHIM_MAXFD)
		return REAL(dup2)(fd, nfd);
	return dup3(fd, nfd, 0);
}

static int
shim_fcntl(int fd, int cmd, long arg)
{
	int sfd = shim_sfd(fd);
	long nsfd;

	if (sfd < 0)
		return REAL(fcntl)(fd, cmd, arg);
	if (cmd == F_DUPFD || cmd == F_DUPFD_CLOEXEC) {
		if (arg < 0 || arg >= SHIM_MAXFD)
			return (int)shim_err(EINVAL);
		nsfd = SCALL(SYS_fcntl, sfd, cmd, 0, 0, 0, 0);
		return shim_newfd(nsfd, (int)arg);
	}
	return (int)shim_ret(SCALL(SYS_fcntl, sfd, cmd, arg, 0, 0, 0));
}

SHIM_EXPORT int
fcntl(int fd, int cmd, ...)
{
	va_list ap;
	long arg;

	va_start(ap, cmd);
	arg = va_arg(ap, long);
	va_end(ap);
	return shim_fcntl(fd, cmd, arg);
}

SHIM_EXPORT int
fcntl64(int fd, int cmd, ...)
{
	va_list ap;
	long arg;

	va_start(ap, cmd);
	arg = va_arg(ap, long);
	va_end(ap);
	return shim_fcntl(fd, cmd, arg);
}

SHIM_EXPORT int
ioctl(int fd, unsigned long req, ...)
{
	va_list ap;
	long arg;
	int sfd = shim_sfd(fd);

	va_start(ap, req);
	arg = va_arg(ap, long);
	va_end(ap);
	if (sfd < 0)
		return REAL(ioctl)(fd, req, arg);
	/* The clone ioctls (type 0x94: FICLONE takes a descriptor as a
	 * value despite its _IOW encoding) cannot cross to the server: the
	 * source is on another file system, as Linux says with EXDEV. */
	if (_IOC_TYPE(req) == 0x94)
		return (int)shim_err(EXDEV);
	return (int)shim_ret(SCALL(SYS_ioctl, sfd, req, arg, 0, 0, 0));
}

SHIM_EXPORT int
fchdir(int fd)
{
	int sfd = shim_sfd(fd);
	char buf[PATH_MAX];
	long r;

	if (sfd < 0) {
		if (REAL(fchdir)(fd) < 0)
			return -1;
		shim_setcwd(0);
		return 0;
	}
	r = SCALL(SYS_fchdir, sfd, 0, 0, 0, 0, 0);
	if (r < 0)
		return (int)shim_ret(r);
	r = SCALL(SYS_getcwd, buf, sizeof(buf), 0, 0, 0, 0);
	if (r < 0)
		return (int)shim_ret(r);
	strcpy(shim_cwd, buf);
	shim_setcwd(1);
	return 0;
}

/* The server's file has no host pages to map, nor host copy offload. */
SHIM_EXPORT void *
mmap64(void *addr, size_t len, int prot, int flags, int fd, off64_t off)
{
	if (!(flags & MAP_ANONYMOUS) && shim_sfd(fd) >= 0) {
		errno = ENODEV;
		return MAP_FAILED;
	}
	return REAL(mmap64)(addr, len, prot, flags, fd, off);
}

SHIM_EXPORT void *
mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
	return mmap64(addr, len, prot, flags, fd, off);
}

SHIM_EXPORT ssize_t
copy_file_range(int in, off64_t *inoff, int out, off64_t *outoff,
    size_t len, unsigned int flags)
{
	if (shim_sfd(in) >= 0 || shim_sfd(out) >= 0)
		return shim_err(EXDEV);
	return REAL(copy_file_range)(in, inoff, out, outoff, len, flags);
}

SHIM_EXPORT ssize_t
sendfile64(int out, int in, off64_t *off, size_t n)
{
	if (shim_sfd(in) >= 0 || shim_sfd(out) >= 0)
		return shim_err(EINVAL);
	return REAL(sendfile64)(out, in, off, n);
}

SHIM_EXPORT ssize_t
sendfile(int out, int in, off_t *off, size_t n)
{
	return sendfile64(out, in, (off64_t *)off, n);
}

/* Advice only: the server's caches are its own business. */
SHIM_EXPORT int
posix_fadvise64(int fd, off64_t off, off64_t len, int advice)
{
	if (shim_sfd(fd) >= 0)
		return 0;
	return REAL(posix_fadvise64)(fd, off, len, advice);
}

SHIM_EXPORT int
posix_fadvise(int fd, off_t off, off_t len, int advice)
{
	return posix_fadvise64(fd, off, len, advice);
}

SHIM_EXPORT mode_t
umask(mode_t mask)
{
	mode_t old = REAL(umask)(mask);

	shim_afterfork();
	if (shim_connected)
		pith_syscall6(SYS_umask, mask & 0777, 0, 0, 0, 0, 0);
	return old;
}

/*
 * The working directory in the server crosses exec in the environment
 * ($PITH_CWD), kept in step with chdir (exec.c adds it to the explicit
 * environments that shells pass to execve).
 */
void
shim_setcwd(int server)
{
	shim_cwd_server = server;
	if (server)
		setenv(SHIM_CWDENV, shim_cwd, 1);
	else
		unsetenv(SHIM_CWDENV);
}
