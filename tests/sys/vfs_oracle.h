/*
 * Run one script of file-system calls against two backends -- the host
 * kernel in a fresh directory under /dev/shm, and Pith in a fresh
 * directory under /tmp -- and compare every result and errno.  The
 * scripts use relative paths only, after chdir into their directory, so
 * the same strings mean the same thing on both.  In the VM (musl build,
 * PITH_METAL) the host's side is the answers the hosted run recorded
 * (tests/lib/oracle.h).
 *
 * Header-only, shared by the VFS's test programs.
 */
#ifndef PITH_TESTS_VFS_ORACLE_H
#define PITH_TESTS_VFS_ORACLE_H

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <pith/pith.h>
#include "../lib/tap.h"
#include "../lib/host.h"
#include "../lib/oracle.h"

struct be {
	const char *name;
	int (*open)(const char *, int, ...);
	int (*openat)(int, const char *, int, ...);
	int (*close)(int);
	ssize_t (*read)(int, void *, size_t);
	ssize_t (*write)(int, const void *, size_t);
	int (*mkdir)(const char *, mode_t);
	int (*rmdir)(const char *);
	int (*unlink)(const char *);
	int (*unlinkat)(int, const char *, int);
	int (*rename)(const char *, const char *);
	int (*renameat2)(int, const char *, int, const char *, unsigned);
	int (*link)(const char *, const char *);
	int (*linkat)(int, const char *, int, const char *, int);
	int (*symlink)(const char *, const char *);
	ssize_t (*readlink)(const char *, char *, size_t);
	int (*stat)(const char *, struct stat *);
	int (*lstat)(const char *, struct stat *);
	int (*fstatat)(int, const char *, struct stat *, int);
	int (*chdir)(const char *);
	int (*fchdir)(int);
	char *(*getcwd)(char *, size_t);
	int (*access)(const char *, int);
	int (*truncate)(const char *, off_t);
	int (*ftruncate)(int, off_t);
	int (*chmod)(const char *, mode_t);
	int (*utimensat)(int, const char *, const struct timespec *, int);
	off_t (*lseek)(int, off_t, int);
	int (*fsync)(int);
	int (*fallocate)(int, int, off_t, off_t);
	int (*pipe)(int *);
	int (*chown)(const char *, uid_t, gid_t);
	int (*lchown)(const char *, uid_t, gid_t);
	int (*fchmod)(int, mode_t);
	int (*faccessat)(int, const char *, int, int);
};

#if PITH_HOSTED
static int
host_renameat2(int a, const char *b, int c, const char *d, unsigned f)
{
	return renameat2(a, b, c, d, f);
}

static int
host_fallocate(int fd, int mode, off_t off, off_t len)
{
	return fallocate(fd, mode, off, len);
}

static int
host_fstatat(int fd, const char *p, struct stat *st, int fl)
{
	return fstatat(fd, p, st, fl);
}

static const struct be host_be = {
	"host", open, openat, close, read, write, mkdir, rmdir, unlink,
	unlinkat, rename, host_renameat2, link, linkat, symlink, readlink,
	stat, lstat, host_fstatat, chdir, fchdir, getcwd, access, truncate,
	ftruncate, chmod, utimensat, lseek, fsync, host_fallocate, pipe,
	chown, lchown, fchmod, faccessat,
};
#endif

static const struct be pith_be = {
	"pith", pith_sys_open, pith_sys_openat, pith_sys_close, pith_sys_read,
	pith_sys_write, pith_sys_mkdir, pith_sys_rmdir, pith_sys_unlink,
	pith_sys_unlinkat, pith_sys_rename, pith_sys_renameat2, pith_sys_link,
	pith_sys_linkat, pith_sys_symlink, pith_sys_readlink, pith_sys_stat,
	pith_sys_lstat, pith_sys_fstatat, pith_sys_chdir, pith_sys_fchdir,
	pith_sys_getcwd, pith_sys_access, pith_sys_truncate,
	pith_sys_ftruncate, pith_sys_chmod, pith_sys_utimensat,
	pith_sys_lseek, pith_sys_fsync, pith_sys_fallocate, pith_sys_pipe,
	pith_sys_chown, pith_sys_lchown, pith_sys_fchmod, pith_sys_faccessat,
};

#define OR_MAX 1024

struct orlog {
	int n;
	long val[OR_MAX];
	const char *label[OR_MAX];
};

static struct orlog *or_cur;

/* Record a call's outcome: -errno on failure, else its value (clamped
 * to 0 for descriptors, whose numbers differ between backends). */
static long
or_rec(const char *label, long r, int isfd)
{
	struct orlog *lg = or_cur;
	long v = r < 0 ? -errno : (isfd ? 0 : r);

	if (lg->n < OR_MAX) {
		lg->label[lg->n] = label;
		lg->val[lg->n++] = v;
	}
	return r;
}

#define R(label, expr) or_rec(label, (long)(expr), 0)
#define RFD(label, expr) ((int)or_rec(label, (long)(expr), 1))
/* Record a value computed by the script (a size, a mode...). */
#define V(label, val) or_rec(label, (long)(val), 0)

#if PITH_HOSTED
/* The host's side: script in a fresh /dev/shm directory, its answers
 * recorded for the VM if PITH_ORACLE asks. */
static void
or_host(const char *what, void (*script)(const struct be *),
    struct orlog *hl)
{
	char hdir[] = "/dev/shm/pith-vfs.XXXXXX", cmd[128];
	char hcwd[4096];

	if (mkdtemp(hdir) == NULL || getcwd(hcwd, sizeof(hcwd)) == NULL)
		bail_out("mkdtemp: %s", strerror(errno));
	chdir(hdir);
	or_cur = hl;
	script(&host_be);
	chdir(hcwd);
	or_cur = NULL;
	snprintf(cmd, sizeof(cmd), "chmod -R u+rwx %s; rm -rf %s", hdir, hdir);
	if (system(cmd) != 0)
		diag("cleanup of %s failed", hdir);
	oracle_save(what, hl->val, hl->n);
}
#endif

/* The VM's stand-in for the host's side: the recorded answers, labelled
 * with the pith run's labels (the same script).  0, or -1 when there are
 * none (a failed test, not a pass). */
static int __attribute__((unused))
or_recorded(const char *what, struct orlog *hl, const struct orlog *pl)
{
#ifdef PITH_METAL
	int i;

	hl->n = oracle_load(what, hl->val, OR_MAX);
	for (i = 0; i < hl->n && i < pl->n; i++)
		hl->label[i] = pl->label[i];
	for (; i < hl->n; i++)
		hl->label[i] = "(step pith did not take)";
	if (hl->n >= 0)
		return 0;
#else
	(void)hl;
	(void)pl;
#endif
	ok(0, "%s: no recorded Linux answers (PITH_ORACLE)", what);
	return -1;
}

/*
 * Run script on both backends and compare.  The pith side runs in dir
 * (created in Pith), the host side in a fresh /dev/shm directory, or in
 * the VM is read from the recorded answers.
 */
static void __attribute__((unused))
or_compare(const char *what, void (*script)(const struct be *))
{
	static struct orlog hl, pl;
	char pdir[64];
	int i, n;

	memset(&hl, 0, sizeof(hl));
	memset(&pl, 0, sizeof(pl));
#if PITH_HOSTED
	or_host(what, script, &hl);
#endif

	snprintf(pdir, sizeof(pdir), "/tmp/%s", what);
	pith_sys_chdir("/");
	if (pith_sys_mkdir(pdir, 0777) != 0 || pith_sys_chdir(pdir) != 0)
		bail_out("pith: mkdir %s: %s", pdir, strerror(errno));
	or_cur = &pl;
	script(&pith_be);
	pith_sys_chdir("/");
	if (!PITH_HOSTED && or_recorded(what, &hl, &pl) != 0)
		return;

	n = hl.n > pl.n ? hl.n : pl.n;
	if (hl.n != pl.n)
		ok(0, "%s: %d steps on host, %d on pith", what, hl.n, pl.n);
	for (i = 0; i < n && i < hl.n && i < pl.n; i++) {
		if (hl.val[i] != pl.val[i])
			diag("%s step %d (%s): host %ld pith %ld", what, i,
			    hl.label[i], hl.val[i], pl.val[i]);
		ok(hl.val[i] == pl.val[i], "%s: %s (%ld)", what, hl.label[i],
		    hl.val[i]);
	}
}

#endif
