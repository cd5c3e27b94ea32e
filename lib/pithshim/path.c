/*
 * libpithshim: the calls that name files.  Each asks shim_route where its
 * path goes; the host's go to glibc unchanged, the server's become the
 * *at system call with the prefix stripped.  A call naming two files
 * (rename, link) whose names go to different places fails with EXDEV, as
 * a rename across mounts does, so mv falls back to copying.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/xattr.h>

#include "shim.h"

#ifndef SYS_faccessat2
#define SYS_faccessat2	439
#endif

/* Where two names go: 1 both server, 0 both host, -1 apart (EXDEV). */
static int
shim_route2(int d1, const char *p1, struct shim_route *r1, int d2,
    const char *p2, struct shim_route *r2)
{
	int a = shim_route(d1, p1, r1), b = shim_route(d2, p2, r2);

	if (a != b)
		return -1;
	return a;
}

static int
shim_openat(int dirfd, const char *path, int flags, mode_t mode)
{
	struct shim_route r;

	if (!shim_route(dirfd, path, &r))
		return REAL(openat)(dirfd, path, flags, mode);
	return shim_newfd(SCALL(SYS_openat, r.sr_dirfd, r.sr_path, flags, mode,
	    0, 0), 0);
}

/* The mode argument exists only with O_CREAT or O_TMPFILE. */
#define OPEN_MODE(flags, last, mode) do {				\
	va_list ap_;							\
	(mode) = 0;							\
	if ((flags) & (O_CREAT | __O_TMPFILE)) {			\
		va_start(ap_, last);					\
		(mode) = va_arg(ap_, mode_t);				\
		va_end(ap_);						\
	}								\
} while (0)

SHIM_EXPORT int
open(const char *path, int flags, ...)
{
	mode_t mode;

	OPEN_MODE(flags, flags, mode);
	return shim_openat(AT_FDCWD, path, flags, mode);
}

SHIM_EXPORT int
open64(const char *path, int flags, ...)
{
	mode_t mode;

	OPEN_MODE(flags, flags, mode);
	return shim_openat(AT_FDCWD, path, flags | O_LARGEFILE, mode);
}

SHIM_EXPORT int
openat(int dirfd, const char *path, int flags, ...)
{
	mode_t mode;

	OPEN_MODE(flags, flags, mode);
	return shim_openat(dirfd, path, flags, mode);
}

SHIM_EXPORT int
openat64(int dirfd, const char *path, int flags, ...)
{
	mode_t mode;

	OPEN_MODE(flags, flags, mode);
	return shim_openat(dirfd, path, flags | O_LARGEFILE, mode);
}

/* The _FORTIFY_SOURCE entry points, used when a mode cannot be checked. */
int __open_2(const char *path, int flags);
int __open64_2(const char *path, int flags);
int __openat_2(int dirfd, const char *path, int flags);
int __openat64_2(int dirfd, const char *path, int flags);

SHIM_EXPORT int
__open_2(const char *path, int flags)
{
	return shim_openat(AT_FDCWD, path, flags, 0);
}

SHIM_EXPORT int
__open64_2(const char *path, int flags)
{
	return shim_openat(AT_FDCWD, path, flags | O_LARGEFILE, 0);
}

SHIM_EXPORT int
__openat_2(int dirfd, const char *path, int flags)
{
	return shim_openat(dirfd, path, flags, 0);
}

SHIM_EXPORT int
__openat64_2(int dirfd, const char *path, int flags)
{
	return shim_openat(dirfd, path, flags | O_LARGEFILE, 0);
}

SHIM_EXPORT int
creat(const char *path, mode_t mode)
{
	return shim_openat(AT_FDCWD, path, O_CREAT | O_WRONLY | O_TRUNC, mode);
}

SHIM_EXPORT int
creat64(const char *path, mode_t mode)
{
	return shim_openat(AT_FDCWD, path,
	    O_CREAT | O_WRONLY | O_TRUNC | O_LARGEFILE, mode);
}

/* --- status ---------------------------------------------------------- */

SHIM_EXPORT int
fstatat64(int dirfd, const char *path, struct stat64 *st, int flags)
{
	struct shim_route r;

	if (!shim_route(dirfd, path, &r))
		return REAL(fstatat64)(dirfd, path, st, flags);
	return (int)shim_ret(SCALL(SYS_newfstatat, r.sr_dirfd, r.sr_path, st,
	    flags, 0, 0));
}

SHIM_EXPORT int
fstatat(int dirfd, const char *path, struct stat *st, int flags)
{
	return fstatat64(dirfd, path, (struct stat64 *)st, flags);
}

SHIM_EXPORT int
stat64(const char *path, struct stat64 *st)
{
	return fstatat64(AT_FDCWD, path, st, 0);
}

SHIM_EXPORT int
stat(const char *path, struct stat *st)
{
	return fstatat64(AT_FDCWD, path, (struct stat64 *)st, 0);
}

SHIM_EXPORT int
lstat64(const char *path, struct stat64 *st)
{
	return fstatat64(AT_FDCWD, path, st, AT_SYMLINK_NOFOLLOW);
}

SHIM_EXPORT int
lstat(const char *path, struct stat *st)
{
	return fstatat64(AT_FDCWD, path, (struct stat64 *)st,
	    AT_SYMLINK_NOFOLLOW);
}

SHIM_EXPORT int
statx(int dirfd, const char *path, int flags, unsigned int mask,
    struct statx *stx)
{
	struct shim_route r;

	if (!shim_route(dirfd, path, &r))
		return REAL(statx)(dirfd, path, flags, mask, stx);
	return (int)shim_ret(SCALL(SYS_statx, r.sr_dirfd, r.sr_path, flags,
	    mask, stx, 0));
}

SHIM_EXPORT int
faccessat(int dirfd, const char *path, int mode, int flags)
{
	struct shim_route r;

	if (!shim_route(dirfd, path, &r))
		return REAL(faccessat)(dirfd, path, mode, flags);
	if (flags == 0)
		return (int)shim_ret(SCALL(SYS_faccessat, r.sr_dirfd,
		    r.sr_path, mode, 0, 0, 0));
	return (int)shim_ret(SCALL(SYS_faccessat2, r.sr_dirfd, r.sr_path,
	    mode, flags, 0, 0));
}

SHIM_EXPORT int
access(const char *path, int mode)
{
	return faccessat(AT_FDCWD, path, mode, 0);
}

SHIM_EXPORT int
euidaccess(const char *path, int mode)
{
	return faccessat(AT_FDCWD, path, mode, AT_EACCESS);
}

SHIM_EXPORT int
eaccess(const char *path, int mode)
{
	return faccessat(AT_FDCWD, path, mode, AT_EACCESS);
}

SHIM_EXPORT ssize_t
readlinkat(int dirfd, const char *path, char *buf, size_t size)
{
	struct shim_route r;

	if (!shim_route(dirfd, path, &r))
		return REAL(readlinkat)(dirfd, path, buf, size);
	return shim_ret(SCALL(SYS_readlinkat, r.sr_dirfd, r.sr_path, buf, size,
	    0, 0));
}

SHIM_EXPORT ssize_t
readlink(const char *path, char *buf, size_t size)
{
	return readlinkat(AT_FDCWD, path, buf, size);
}

/* --- names ----------------------------------------------------------- */

SHIM_EXPORT int
mkdirat(int dirfd, const char *path, mode_t mode)
{
	struct shim_route r;

	if (!shim_route(dirfd, path, &r))
		return REAL(mkdirat)(dirfd, path, mode);
	return (int)shim_ret(SCALL(SYS_mkdirat, r.sr_dirfd, r.sr_path, mode, 0,
	    0, 0));
}

SHIM_EXPORT int
mkdir(const char *path, mode_t mode)
{
	return mkdirat(AT_FDCWD, path, mode);
}

SHIM_EXPORT int
unlinkat(int dirfd, const char *path, int flags)
{
	struct shim_route r;

	if (!shim_route(dirfd, path, &r))
		return REAL(unlinkat)(dirfd, path, flags);
	return (int)shim_ret(SCALL(SYS_unlinkat, r.sr_dirfd, r.sr_path, flags,
	    0, 0, 0));
}

SHIM_EXPORT int
unlink(const char *path)
{
	return unlinkat(AT_FDCWD, path, 0);
}

SHIM_EXPORT int
rmdir(const char *path)
{
	return unlinkat(AT_FDCWD, path, AT_REMOVEDIR);
}

SHIM_EXPORT int
remove(const char *path)
{
	struct shim_route r;
	long ret;

	if (!shim_route(AT_FDCWD, path, &r))
		return REAL(remove)(path);
	ret = SCALL(SYS_unlinkat, r.sr_dirfd, r.sr_path, 0, 0, 0, 0);
	if (ret == -EISDIR)
		ret = SCALL(SYS_unlinkat, r.sr_dirfd, r.sr_path, AT_REMOVEDIR,
		    0, 0, 0);
	return (int)shim_ret(ret);
}

SHIM_EXPORT int
renameat2(int od, const char *op, int nd, const char *np, unsigned flags)
{
	struct shim_route r1, r2;

	switch (shim_route2(od, op, &r1, nd, np, &r2)) {
	case 0:
		return REAL(renameat2)(od, op, nd, np, flags);
	case 1:
		return (int)shim_ret(SCALL(SYS_renameat2, r1.sr_dirfd,
		    r1.sr_path, r2.sr_dirfd, r2.sr_path, flags, 0));
	}
	return (int)shim_err(EXDEV);
}

SHIM_EXPORT int
renameat(int od, const char *op, int nd, const char *np)
{
	struct shim_route r1, r2;

	switch (shim_route2(od, op, &r1, nd, np, &r2)) {
	case 0:
		return REAL(renameat)(od, op, nd, np);
	case 1:
		return (int)shim_ret(SCALL(SYS_renameat, r1.sr_dirfd,
		    r1.sr_path, r2.sr_dirfd, r2.sr_path, 0, 0));
	}
	return (int)shim_err(EXDEV);
}

SHIM_EXPORT int
rename(const char *op, const char *np)
{
	return renameat(AT_FDCWD, op, AT_FDCWD, np);
}

SHIM_EXPORT int
linkat(int od, const char *op, int nd, const char *np, int flags)
{
	struct shim_route r1, r2;

	switch (shim_route2(od, op, &r1, nd, np, &r2)) {
	case 0:
		return REAL(linkat)(od, op, nd, np, flags);
	case 1:
		return (int)shim_ret(SCALL(SYS_linkat, r1.sr_dirfd,
		    r1.sr_path, r2.sr_dirfd, r2.sr_path, flags, 0));
	}
	return (int)shim_err(EXDEV);
}

SHIM_EXPORT int
link(const char *op, const char *np)
{
	return linkat(AT_FDCWD, op, AT_FDCWD, np, 0);
}

/* The target is the link's contents, not a name: only the link routes. */
SHIM_EXPORT int
symlinkat(const char *target, int dirfd, const char *path)
{
	struct shim_route r;

	if (!shim_route(dirfd, path, &r))
		return REAL(symlinkat)(target, dirfd, path);
	return (int)shim_ret(SCALL(SYS_symlinkat, target, r.sr_dirfd,
	    r.sr_path, 0, 0, 0));
}

SHIM_EXPORT int
symlink(const char *target, const char *path)
{
	return symlinkat(target, AT_FDCWD, path);
}

SHIM_EXPORT int
fchmodat(int dirfd, const char *path, mode_t mode, int flags)
{
	struct shim_route r;

	if (!shim_route(dirfd, path, &r))
		return REAL(fchmodat)(dirfd, path, mode, flags);
	/* Linux's fchmodat has no flags; glibc refuses what it cannot do. */
	if (flags & AT_SYMLINK_NOFOLLOW)
		return (int)shim_err(EOPNOTSUPP);
	if (flags != 0)
		return (int)shim_err(EINVAL);
	return (int)shim_ret(SCALL(SYS_fchmodat, r.sr_dirfd, r.sr_path, mode,
	    0, 0, 0));
}

SHIM_EXPORT int
chmod(const char *path, mode_t mode)
{
	return fchmodat(AT_FDCWD, path, mode, 0);
}

SHIM_EXPORT int
fchownat(int dirfd, const char *path, uid_t uid, gid_t gid, int flags)
{
	struct shim_route r;

	if (!shim_route(dirfd, path, &r))
		return REAL(fchownat)(dirfd, path, uid, gid, flags);
	return (int)shim_ret(SCALL(SYS_fchownat, r.sr_dirfd, r.sr_path,
	    (int)uid, (int)gid, flags, 0));
}

SHIM_EXPORT int
chown(const char *path, uid_t uid, gid_t gid)
{
	return fchownat(AT_FDCWD, path, uid, gid, 0);
}

SHIM_EXPORT int
lchown(const char *path, uid_t uid, gid_t gid)
{
	return fchownat(AT_FDCWD, path, uid, gid, AT_SYMLINK_NOFOLLOW);
}

SHIM_EXPORT int
utimensat(int dirfd, const char *path, const struct timespec ts[2],
    int flags)
{
	struct shim_route r;
	int sfd;

	/* glibc declares path nonnull, but Linux (and futimens) pass NULL:
	 * hide the pointer from the optimiser so the test stays. */
	__asm__("" : "+r" (path));
	if ((uintptr_t)path == 0) {
		/* futimens's form: dirfd is the file itself. */
		sfd = shim_sfd(dirfd);
		if (sfd < 0)
			return (int)syscall(SYS_utimensat, dirfd, NULL, ts,
			    flags);
		return (int)shim_ret(SCALL(SYS_utimensat, sfd, NULL, ts, flags,
		    0, 0));
	}
	if (!shim_route(dirfd, path, &r))
		return REAL(utimensat)(dirfd, path, ts, flags);
	return (int)shim_ret(SCALL(SYS_utimensat, r.sr_dirfd, r.sr_path, ts,
	    flags, 0, 0));
}

SHIM_EXPORT int
truncate64(const char *path, off64_t len)
{
	struct shim_route r;

	if (!shim_route(AT_FDCWD, path, &r))
		return REAL(truncate64)(path, len);
	if (r.sr_dirfd != AT_FDCWD)
		return (int)shim_err(EINVAL);
	return (int)shim_ret(SCALL(SYS_truncate, r.sr_path, len, 0, 0, 0, 0));
}

SHIM_EXPORT int
truncate(const char *path, off_t len)
{
	return truncate64(path, len);
}

SHIM_EXPORT int
mknodat(int dirfd, const char *path, mode_t mode, dev_t dev)
{
	struct shim_route r;

	if (!shim_route(dirfd, path, &r))
		return REAL(mknodat)(dirfd, path, mode, dev);
	return (int)shim_ret(SCALL(SYS_mknodat, r.sr_dirfd, r.sr_path, mode,
	    dev, 0, 0));
}

SHIM_EXPORT int
mknod(const char *path, mode_t mode, dev_t dev)
{
	return mknodat(AT_FDCWD, path, mode, dev);
}

SHIM_EXPORT int
mkfifoat(int dirfd, const char *path, mode_t mode)
{
	return mknodat(dirfd, path, (mode & 07777) | S_IFIFO, 0);
}

SHIM_EXPORT int
mkfifo(const char *path, mode_t mode)
{
	return mknodat(AT_FDCWD, path, (mode & 07777) | S_IFIFO, 0);
}

/* --- the working directory ------------------------------------------- */

SHIM_EXPORT int
chdir(const char *path)
{
	struct shim_route r;
	char buf[PATH_MAX];
	long ret;

	if (!shim_route(AT_FDCWD, path, &r)) {
		if (REAL(chdir)(path) < 0)
			return -1;
		shim_setcwd(0);
		return 0;
	}
	ret = SCALL(SYS_chdir, r.sr_path, 0, 0, 0, 0, 0);
	if (ret < 0)
		return (int)shim_ret(ret);
	ret = SCALL(SYS_getcwd, buf, sizeof(buf), 0, 0, 0, 0);
	if (ret < 0)
		return (int)shim_ret(ret);
	strcpy(shim_cwd, buf);
	shim_setcwd(1);
	return 0;
}

SHIM_EXPORT char *
getcwd(char *buf, size_t size)
{
	char sbuf[PATH_MAX], hbuf[PATH_MAX];
	long ret;
	int error;

	if (!shim_cwd_server)
		return REAL(getcwd)(buf, size);
	ret = SCALL(SYS_getcwd, sbuf, sizeof(sbuf), 0, 0, 0, 0);
	if (ret < 0) {
		shim_ret(ret);
		return NULL;
	}
	error = shim_hostname(sbuf, hbuf, sizeof(hbuf));
	if (error == 0 && buf != NULL && size == 0)
		error = EINVAL;
	if (error == 0 && buf != NULL && strlen(hbuf) + 1 > size)
		error = ERANGE;
	if (error) {
		errno = error;
		return NULL;
	}
	if (buf == NULL) {
		/* glibc's extension: allocate, at least size bytes. */
		size = size > strlen(hbuf) + 1 ? size : strlen(hbuf) + 1;
		buf = malloc(size);
		if (buf == NULL)
			return NULL;
	}
	strcpy(buf, hbuf);
	return buf;
}

SHIM_EXPORT char *
get_current_dir_name(void)
{
	if (!shim_cwd_server)
		return REAL(get_current_dir_name)();
	return getcwd(NULL, 0);
}

/* --- file systems ---------------------------------------------------- */

SHIM_EXPORT int
statfs64(const char *path, struct statfs64 *sf)
{
	struct shim_route r;

	if (!shim_route(AT_FDCWD, path, &r))
		return REAL(statfs64)(path, sf);
	if (r.sr_dirfd != AT_FDCWD)
		return (int)shim_err(EINVAL);
	return (int)shim_ret(SCALL(SYS_statfs, r.sr_path, sf, 0, 0, 0, 0));
}

SHIM_EXPORT int
statfs(const char *path, struct statfs *sf)
{
	return statfs64(path, (struct statfs64 *)sf);
}

SHIM_EXPORT int
fstatfs64(int fd, struct statfs64 *sf)
{
	int sfd = shim_sfd(fd);

	if (sfd < 0)
		return REAL(fstatfs64)(fd, sf);
	return (int)shim_ret(SCALL(SYS_fstatfs, sfd, sf, 0, 0, 0, 0));
}

SHIM_EXPORT int
fstatfs(int fd, struct statfs *sf)
{
	return fstatfs64(fd, (struct statfs64 *)sf);
}

static void
shim_statvfs(const struct statfs64 *sf, struct statvfs64 *sv)
{
	memset(sv, 0, sizeof(*sv));
	sv->f_bsize = sf->f_bsize;
	sv->f_frsize = sf->f_frsize ? sf->f_frsize : sf->f_bsize;
	sv->f_blocks = sf->f_blocks;
	sv->f_bfree = sf->f_bfree;
	sv->f_bavail = sf->f_bavail;
	sv->f_files = sf->f_files;
	sv->f_ffree = sf->f_ffree;
	sv->f_favail = sf->f_ffree;
	memcpy(&sv->f_fsid, &sf->f_fsid, sizeof(sv->f_fsid));
	sv->f_flag = sf->f_flags & ~0x0020UL;	/* less ST_VALID */
	sv->f_namemax = sf->f_namelen;
}

SHIM_EXPORT int
statvfs64(const char *path, struct statvfs64 *sv)
{
	struct shim_route r;
	struct statfs64 sf;

	if (!shim_route(AT_FDCWD, path, &r))
		return REAL(statvfs64)(path, sv);
	if (statfs64(path, &sf) < 0)
		return -1;
	shim_statvfs(&sf, sv);
	return 0;
}

SHIM_EXPORT int
statvfs(const char *path, struct statvfs *sv)
{
	return statvfs64(path, (struct statvfs64 *)sv);
}

SHIM_EXPORT int
fstatvfs64(int fd, struct statvfs64 *sv)
{
	struct statfs64 sf;

	if (shim_sfd(fd) < 0)
		return REAL(fstatvfs64)(fd, sv);
	if (fstatfs64(fd, &sf) < 0)
		return -1;
	shim_statvfs(&sf, sv);
	return 0;
}

SHIM_EXPORT int
fstatvfs(int fd, struct statvfs *sv)
{
	return fstatvfs64(fd, (struct statvfs64 *)sv);
}

/* --- extended attributes: the server has none yet ------------------- */

#define SHIM_NOXATTR_PATH(name, ret, args, call)			\
SHIM_EXPORT ret								\
name args								\
{									\
	struct shim_route r;						\
									\
	if (!shim_route(AT_FDCWD, path, &r))				\
		return REAL(name) call;					\
	return shim_err(ENOTSUP);					\
}
#define SHIM_NOXATTR_FD(name, ret, args, call)				\
SHIM_EXPORT ret								\
name args								\
{									\
	if (shim_sfd(fd) < 0)						\
		return REAL(name) call;					\
	return shim_err(ENOTSUP);					\
}

SHIM_NOXATTR_PATH(getxattr, ssize_t,
    (const char *path, const char *n, void *v, size_t s), (path, n, v, s))
SHIM_NOXATTR_PATH(lgetxattr, ssize_t,
    (const char *path, const char *n, void *v, size_t s), (path, n, v, s))
SHIM_NOXATTR_FD(fgetxattr, ssize_t,
    (int fd, const char *n, void *v, size_t s), (fd, n, v, s))
SHIM_NOXATTR_PATH(listxattr, ssize_t,
    (const char *path, char *l, size_t s), (path, l, s))
SHIM_NOXATTR_PATH(llistxattr, ssize_t,
    (const char *path, char *l, size_t s), (path, l, s))
SHIM_NOXATTR_FD(flistxattr, ssize_t, (int fd, char *l, size_t s), (fd, l, s))
SHIM_NOXATTR_PATH(setxattr, int,
    (const char *path, const char *n, const void *v, size_t s, int f),
    (path, n, v, s, f))
SHIM_NOXATTR_PATH(lsetxattr, int,
    (const char *path, const char *n, const void *v, size_t s, int f),
    (path, n, v, s, f))
SHIM_NOXATTR_FD(fsetxattr, int,
    (int fd, const char *n, const void *v, size_t s, int f),
    (fd, n, v, s, f))
SHIM_NOXATTR_PATH(removexattr, int, (const char *path, const char *n),
    (path, n))
SHIM_NOXATTR_PATH(lremovexattr, int, (const char *path, const char *n),
    (path, n))
SHIM_NOXATTR_FD(fremovexattr, int, (int fd, const char *n), (fd, n))

/* --- realpath: glibc resolves with internal calls ------------------- */

/*
 * Resolve spath (absolute, in the server) into out, component by
 * component, following symbolic links as the server reads them.  Every
 * component must exist, as for glibc's realpath.
 */
static int
shim_resolve(const char *spath, char *out, size_t size)
{
	char rest[PATH_MAX], link[PATH_MAX], res[PATH_MAX], tmp[PATH_MAX];
	struct stat st;
	size_t rlen = 1, clen;
	const char *comp;
	char *slash;
	long n;
	int links = 0;

	if (strlen(spath) >= sizeof(rest))
		return ENAMETOOLONG;
	strcpy(rest, spath);
	strcpy(res, "/");
	while (rest[0] != '\0') {
		comp = rest;
		while (*comp == '/')
			comp++;
		slash = strchr(comp, '/');
		clen = slash != NULL ? (size_t)(slash - comp) : strlen(comp);
		if (clen == 0)
			break;
		memcpy(tmp, comp, clen);
		tmp[clen] = '\0';
		memmove(rest, comp + clen, strlen(comp + clen) + 1);
		if (strcmp(tmp, ".") == 0)
			continue;
		if (strcmp(tmp, "..") == 0) {
			while (rlen > 1 && res[rlen - 1] != '/')
				rlen--;
			if (rlen > 1)
				rlen--;
			res[rlen] = '\0';
			continue;
		}
		if (rlen + clen + 2 > sizeof(res))
			return ENAMETOOLONG;
		if (rlen > 1)
			res[rlen++] = '/';
		memcpy(res + rlen, tmp, clen + 1);
		rlen += clen;
		n = SCALL(SYS_readlinkat, AT_FDCWD, res, link, sizeof(link) - 1,
		    0, 0);
		if (n == -EINVAL) {
			/* Not a link: it exists; a directory if more follows. */
			n = SCALL(SYS_newfstatat, AT_FDCWD, res, &st, 0, 0, 0);
			if (n < 0)
				return (int)-n;
			if (rest[0] != '\0' && !S_ISDIR(st.st_mode))
				return ENOTDIR;
			continue;
		}
		if (n < 0)
			return (int)-n;
		if (++links > 40)
			return ELOOP;
		link[n] = '\0';
		if ((size_t)n + strlen(rest) + 2 > sizeof(rest))
			return ENAMETOOLONG;
		/* The target replaces this component in what is left. */
		if (rest[0] == '\0') {
			memcpy(rest, link, (size_t)n + 1);
		} else {
			memmove(rest + n + 1, rest, strlen(rest) + 1);
			memcpy(rest, link, (size_t)n);
			rest[n] = '/';
		}
		if (link[0] == '/')
			rlen = 1;
		else
			while (rlen > 1 && res[rlen - 1] != '/')
				rlen--;
		if (rlen > 1 && res[rlen - 1] == '/')
			rlen--;
		res[rlen] = '\0';
	}
	return shim_hostname(res, out, size);
}

SHIM_EXPORT char *
realpath(const char *path, char *resolved)
{
	struct shim_route r;
	char spath[PATH_MAX], out[PATH_MAX];
	int error;

	if (!shim_route(AT_FDCWD, path, &r) || r.sr_dirfd != AT_FDCWD)
		return REAL(realpath)(path, resolved);
	if (r.sr_path[0] == '/')
		error = strlen(r.sr_path) < sizeof(spath) ? 0 : ENAMETOOLONG;
	else
		error = (size_t)snprintf(spath, sizeof(spath), "%s/%s",
		    shim_cwd, r.sr_path) < sizeof(spath) ? 0 : ENAMETOOLONG;
	if (error == 0 && r.sr_path[0] == '/')
		strcpy(spath, r.sr_path);
	if (error == 0)
		error = shim_resolve(spath, out, sizeof(out));
	if (error) {
		errno = error;
		return NULL;
	}
	if (resolved == NULL)
		return strdup(out);
	strcpy(resolved, out);
	return resolved;
}

SHIM_EXPORT char *
canonicalize_file_name(const char *path)
{
	return realpath(path, NULL);
}
