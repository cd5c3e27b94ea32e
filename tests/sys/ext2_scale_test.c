/*
 * ext2 at scale, judged by e2fsck and debugfs: a directory of 100,000
 * entries (created, listed once each, looked up, renamed over, deleted,
 * each phase timed), a 5 GiB sparse file, 255-byte names, a tree 200
 * directories deep, and an image filled to the last block and inode
 * (ENOSPC cleanly, nothing corrupted, the space back after deletes).
 *
 * Images are made by mke2fs in a temporary directory; every test skips
 * when e2fsprogs is absent.  EXT2_SCALE_N overrides the entry count.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/types.h>
#include <pith/pith.h>

#include "lib/tap.h"

#define MKE2FS "/usr/sbin/mke2fs"
#define E2FSCK "/usr/sbin/e2fsck"
#define DEBUGFS "/usr/sbin/debugfs"
#define MNT "/mnt"

struct lde {
	uint64_t d_ino;
	int64_t d_off;
	unsigned short d_reclen;
	unsigned char d_type;
	char d_name[];
};

static char tmpdir[256];

static int
sh(const char *fmt, ...)
{
	char cmd[4096];
	va_list ap;
	int st;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	st = system(cmd);
	if (st == -1 || !WIFEXITED(st))
		return -1;
	return WEXITSTATUS(st);
}

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static int
mkimg(const char *name, const char *opts, const char *size, char *img,
    size_t len)
{
	snprintf(img, len, "%s/%s", tmpdir, name);
	return sh(MKE2FS " -q -F -t ext2 %s %s %s >/dev/null 2>&1", opts, img,
	    size);
}

static int
fsck_clean(const char *img)
{
	int rc = sh(E2FSCK " -fn %s >%s/fsck.out 2>&1", img, tmpdir);

	if (rc != 0) {
		diag("e2fsck -fn %s exited %d:", img, rc);
		sh("sed 's/^/#   /' %s/fsck.out | head -30", tmpdir);
	}
	return rc == 0;
}

static int
pmount(const char *img)
{
	return pith_sys_mount(img, MNT, "ext2", 0, NULL);
}

/* --- 100,000 entries in one directory ------------------------------------ */

static void
entry_name(char *buf, size_t len, int i)
{
	/* Varied lengths, so slack and free hints are exercised. */
	snprintf(buf, len, MNT "/big/f%d%.*s", i, i % 23, "-abcdefghijklmnopqrstuv");
}

/* Count the entries of MNT/big; seen[i] counts how often f<i>... came. */
static int
bigdir_list(int n, unsigned char *seen, int *dups, int *strays)
{
	char buf[65536], path[300];
	struct lde *d;
	int fd, off, count = 0, i;
	ssize_t got;

	memset(seen, 0, (size_t)n);
	*dups = *strays = 0;
	fd = pith_sys_open(MNT "/big", O_RDONLY | O_DIRECTORY);
	if (fd < 0)
		return -1;
	while ((got = pith_sys_getdents64(fd, buf, sizeof(buf))) > 0) {
		for (off = 0; off < got; off += d->d_reclen) {
			d = (struct lde *)(buf + off);
			count++;
			if (!strcmp(d->d_name, ".") || !strcmp(d->d_name, ".."))
				continue;
			i = atoi(d->d_name + 1);
			entry_name(path, sizeof(path), i);
			if (d->d_name[0] != 'f' || i < 0 || i >= n ||
			    strcmp(path + strlen(MNT "/big/"), d->d_name)) {
				(*strays)++;
				continue;
			}
			if (seen[i]++)
				(*dups)++;
		}
	}
	pith_sys_close(fd);
	return got < 0 ? -1 : count;
}

static void
test_bigdir(int n)
{
	char img[512], p[300], q[300];
	unsigned char *seen;
	struct stat st;
	double t0, tc, tl, ts, td;
	int i, fd, bad, dups, strays, count, missing;

	if (mkimg("big.img", "-b 4096 -N 140000", "1G", img, sizeof(img)) != 0 ||
	    pmount(img) != 0) {
		skip(9, "mke2fs or mount failed");
		return;
	}
	seen = malloc((size_t)n);
	pith_sys_mkdir(MNT "/big", 0755);
	t0 = now();
	for (i = 0, bad = 0; i < n; i++) {
		entry_name(p, sizeof(p), i);
		fd = pith_sys_open(p, O_CREAT | O_EXCL | O_WRONLY, 0644);
		if (fd < 0) {
			if (bad++ < 3)
				diag("create %s: %s", p, strerror(errno));
			continue;
		}
		pith_sys_close(fd);
	}
	tc = now() - t0;
	ok(bad == 0, "%d files created in one directory (%.2f s)", n, tc);

	t0 = now();
	count = bigdir_list(n, seen, &dups, &strays);
	tl = now() - t0;
	for (i = 0, missing = 0; i < n; i++)
		missing += seen[i] == 0;
	ok(count == n + 2 && dups == 0 && strays == 0 && missing == 0,
	    "readdir sees each exactly once (%d entries, %d dups, %d strays, "
	    "%d missing; %.2f s)", count, dups, strays, missing, tl);

	t0 = now();
	for (i = 0, bad = 0; i < n; i++) {
		entry_name(p, sizeof(p), i);
		if (pith_sys_stat(p, &st) != 0 || !S_ISREG(st.st_mode))
			bad++;
	}
	snprintf(p, sizeof(p), MNT "/big/f%d", n + 1);
	errno = 0;
	ts = now() - t0;
	ok(bad == 0 && pith_sys_stat(p, &st) != 0 && errno == ENOENT,
	    "each looked up, an absent name ENOENT (%.2f s)", ts);

	/* Renames inside the big directory keep the index exact. */
	for (i = 0, bad = 0; i < 1000; i++) {
		entry_name(p, sizeof(p), i);
		snprintf(q, sizeof(q), MNT "/big/renamed-%d", i);
		if (pith_sys_rename(p, q) != 0 || pith_sys_stat(q, &st) != 0 ||
		    pith_sys_stat(p, &st) == 0 || pith_sys_rename(q, p) != 0)
			bad++;
	}
	ok(bad == 0, "1,000 renames there and back");

	ok(pith_sys_umount2(MNT, 0) == 0 && fsck_clean(img),
	    "e2fsck -fn clean with %d entries", n);
	entry_name(p, sizeof(p), n - 1);
	ok(sh(DEBUGFS " -R 'stat %s' %s 2>/dev/null | grep -q 'Type: regular'",
	    p + strlen(MNT), img) == 0, "debugfs finds the last entry");

	/* A cold mount: the index is rebuilt from the disk. */
	if (pmount(img) != 0) {
		skip(3, "remount failed");
		free(seen);
		return;
	}
	t0 = now();
	for (i = 0, bad = 0; i < n; i++) {
		entry_name(p, sizeof(p), i);
		if (pith_sys_unlink(p) != 0 && bad++ < 3)
			diag("unlink %s: %s", p, strerror(errno));
	}
	td = now() - t0;
	ok(bad == 0, "all deleted (%.2f s)", td);
	count = bigdir_list(n, seen, &dups, &strays);
	ok(count == 2 && pith_sys_rmdir(MNT "/big") == 0,
	    "the directory is empty and removable");
	ok(pith_sys_umount2(MNT, 0) == 0 && fsck_clean(img),
	    "e2fsck -fn clean after deleting all");
	diag("100k directory: create %.2f s, list %.2f s, stat %.2f s, "
	    "delete %.2f s", tc, tl, ts, td);
	free(seen);
	unlink(img);
}

/* --- a 5 GiB sparse file ------------------------------------------------- */

static void
test_sparse(void)
{
	char img[512], buf[16];
	off_t off = 5LL << 30;
	struct stat st;
	int fd;

	if (mkimg("sparse.img", "-b 4096", "64M", img, sizeof(img)) != 0 ||
	    pmount(img) != 0) {
		skip(4, "mke2fs or mount failed");
		return;
	}
	fd = pith_sys_open(MNT "/sparse", O_CREAT | O_RDWR, 0644);
	ok(fd >= 0 && pith_sys_pwrite(fd, "tail", 4, off) == 4 &&
	    pith_sys_pread(fd, buf, 4, off) == 4 && !memcmp(buf, "tail", 4) &&
	    pith_sys_pread(fd, buf, 4, 1LL << 32) == 4 &&
	    !memcmp(buf, "\0\0\0\0", 4), "write at 5 GiB, read back; a hole reads zeros");
	memset(&st, 0, sizeof(st));
	if (pith_sys_fstat(fd, &st) != 0)
		diag("fstat: %s", strerror(errno));
	ok(st.st_size == off + 4 && st.st_blocks > 0 && st.st_blocks <= 64,
	    "size 5 GiB + 4, st_blocks %lld (small)", (long long)st.st_blocks);
	pith_sys_close(fd);
	ok(pith_sys_umount2(MNT, 0) == 0 && fsck_clean(img),
	    "5 GiB sparse file: e2fsck clean");
	ok(sh(DEBUGFS " -R 'stat /sparse' %s 2>/dev/null | grep -q 'Size: %lld'",
	    img, (long long)(off + 4)) == 0, "debugfs stat shows the size");
	unlink(img);
}

/* --- 255-byte names and a deep tree --------------------------------------- */

static void
test_names_depth(void)
{
	char img[512], path[4096], name[300], rd[300];
	struct stat st;
	int i, fd, bad, len;

	if (mkimg("deep.img", "-b 1024", "16M", img, sizeof(img)) != 0 ||
	    pmount(img) != 0) {
		skip(6, "mke2fs or mount failed");
		return;
	}
	for (i = 0, bad = 0; i < 40; i++) {
		memset(name, 'a' + i % 26, 255);
		name[0] = (char)('A' + i % 26);
		name[1] = (char)('0' + i / 26);
		name[255] = '\0';
		snprintf(path, sizeof(path), MNT "/%s", name);
		fd = pith_sys_open(path, O_CREAT | O_EXCL | O_WRONLY, 0644);
		if (fd < 0 || pith_sys_write(fd, name, 255) != 255)
			bad++;
		pith_sys_close(fd);
		if (i % 2 == 0) {
			snprintf(path, sizeof(path), MNT "/%s", name);
			path[strlen(path) - 1] = 'L';
			if (pith_sys_symlink(name, path) != 0 ||
			    pith_sys_readlink(path, rd, sizeof(rd)) != 255 ||
			    memcmp(rd, name, 255))
				bad++;
		}
	}
	ok(bad == 0, "40 files and 20 symlinks with 255-byte names");
	memset(name, 'z', 256);
	name[256] = '\0';
	snprintf(path, sizeof(path), MNT "/%s", name);
	errno = 0;
	ok(pith_sys_open(path, O_CREAT | O_WRONLY, 0644) < 0 &&
	    errno == ENAMETOOLONG, "256 bytes: ENAMETOOLONG");

	len = snprintf(path, sizeof(path), MNT);
	for (i = 0, bad = 0; i < 200; i++) {
		len += snprintf(path + len, sizeof(path) - (size_t)len, "/d%d",
		    i % 10);
		if (pith_sys_mkdir(path, 0755) != 0)
			bad++;
	}
	snprintf(path + len, sizeof(path) - (size_t)len, "/leaf");
	fd = pith_sys_open(path, O_CREAT | O_WRONLY, 0644);
	ok(bad == 0 && fd >= 0 && pith_sys_write(fd, "deep", 4) == 4,
	    "a tree 200 directories deep, a file at the bottom");
	pith_sys_close(fd);
	ok(pith_sys_stat(path, &st) == 0 && st.st_size == 4,
	    "the leaf is found by a %d-byte path", (int)strlen(path));
	ok(pith_sys_umount2(MNT, 0) == 0 && fsck_clean(img),
	    "long names and a deep tree: e2fsck clean");
	ok(pmount(img) == 0 && pith_sys_stat(path, &st) == 0 &&
	    st.st_size == 4 && pith_sys_umount2(MNT, 0) == 0,
	    "remounted, the leaf is still there");
	unlink(img);
}

/* --- the image filled completely ----------------------------------------- */

static long long
free_blocks(void)
{
	struct statfs sf;

	if (pith_sys_statfs(MNT, &sf) != 0)
		return -1;
	return (long long)sf.f_bfree;
}

static void
test_full(void)
{
	char img[512], p[300], buf[65536];
	long long before, after;
	int fd, i, nfiles, bad;
	ssize_t w;
	long long total = 0;

	if (mkimg("full.img", "-b 1024 -N 256", "4M", img, sizeof(img)) != 0 ||
	    pmount(img) != 0) {
		skip(7, "mke2fs or mount failed");
		return;
	}
	before = free_blocks();
	memset(buf, 0x5a, sizeof(buf));
	fd = pith_sys_open(MNT "/fill", O_CREAT | O_WRONLY, 0644);
	errno = 0;
	while ((w = pith_sys_write(fd, buf, sizeof(buf))) > 0)
		total += w;
	ok(w < 0 && errno == ENOSPC && total > 3000 * 1024,
	    "writing until full: ENOSPC after %lld bytes", total);
	pith_sys_close(fd);
	errno = 0;
	for (i = 0, nfiles = 0; i < 1000; i++) {
		snprintf(p, sizeof(p), MNT "/i%d", i);
		fd = pith_sys_open(p, O_CREAT | O_WRONLY, 0644);
		if (fd < 0)
			break;
		nfiles++;
		pith_sys_close(fd);
	}
	ok(i < 1000 && errno == ENOSPC,
	    "creating until the inodes (or directory blocks) run out: ENOSPC "
	    "after %d", nfiles);
	errno = 0;
	ok(pith_sys_mkdir(MNT "/nodir", 0755) < 0 && errno == ENOSPC,
	    "mkdir on a full image: ENOSPC");
	ok(pith_sys_umount2(MNT, 0) == 0 && fsck_clean(img),
	    "full image: e2fsck clean");
	if (pmount(img) != 0) {
		skip(3, "remount failed");
		return;
	}
	bad = pith_sys_unlink(MNT "/fill") != 0;
	for (i = 0; i < nfiles; i++) {
		snprintf(p, sizeof(p), MNT "/i%d", i);
		bad += pith_sys_unlink(p) != 0;
	}
	after = free_blocks();
	ok(bad == 0 && after == before,
	    "space back after deletes (%lld free blocks, %lld before)", after,
	    before);
	fd = pith_sys_open(MNT "/again", O_CREAT | O_WRONLY, 0644);
	ok(fd >= 0 && pith_sys_write(fd, buf, sizeof(buf)) == sizeof(buf),
	    "writing works again");
	pith_sys_close(fd);
	ok(pith_sys_umount2(MNT, 0) == 0 && fsck_clean(img),
	    "after deletes: e2fsck clean");
	unlink(img);
}

int
main(void)
{
	const char *s = getenv("EXT2_SCALE_N");
	int n = s != NULL ? atoi(s) : 100000;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (access(MKE2FS, X_OK) != 0 || access(E2FSCK, X_OK) != 0 ||
	    access(DEBUGFS, X_OK) != 0) {
		printf("1..0 # SKIP e2fsprogs (mke2fs, e2fsck, debugfs) not installed\n");
		return 0;
	}
	if (n < 10)
		n = 10;
	if (pith_init(NULL) != 0)
		bail_out("pith_init: %s", strerror(errno));
	pith_sys_mkdir(MNT, 0755);
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/pith-ext2scale-XXXXXX");
	if (mkdtemp(tmpdir) == NULL)
		bail_out("mkdtemp: %s", strerror(errno));
	test_bigdir(n);
	test_sparse();
	test_names_depth();
	test_full();
	pith_fini();
	sh("rm -rf %s", tmpdir);
	return done_testing();
}
