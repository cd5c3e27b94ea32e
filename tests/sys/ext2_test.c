/*
 * ext2 and block devices through the whole kernel, checked against the
 * host and e2fsprogs.
 *
 * Images are made by mke2fs -d from a host tree in several variants; Pith
 * mounts each read-only (and must not change a byte), compares every
 * file with the host tree, then mounts it read-write and applies the same
 * random sequence of operations to the host tree and to the image,
 * comparing each result and errno.  After unmounting, e2fsck -fn must find
 * the image clean and a read-only remount must match the host tree.
 * Then: a 5 GiB sparse file, a directory of 10,000 entries, 255-byte
 * names, a full file system, malformed images, feature and state checks,
 * MBR and GPT partition tables built here byte by byte, and FS_IOC_FIEMAP
 * checked against debugfs's block lists and the image's bytes.
 *
 * Tests that need e2fsprogs skip when /usr/sbin/mke2fs is absent.
 *
 * Driver mode for tests/scripts/ext2_oracle.t:
 *	ext2_test.t --ops IMAGE HOSTDIR SEED NOPS
 * mounts IMAGE, checks it against HOSTDIR, applies NOPS random operations
 * to both, unmounts and exits 0 if every result agreed.
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
#include <linux/fiemap.h>
#include <linux/fs.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <sys/statfs.h>
#include <sys/types.h>
#include <pith/pith.h>

#include "lib/tap.h"

#define MKE2FS "/usr/sbin/mke2fs"
#define E2FSCK "/usr/sbin/e2fsck"
#define DEBUGFS "/usr/sbin/debugfs"
#define MNT "/mnt"

static char tmpdir[256];
static int have_tools;
static int verbose;

/* --- helpers --------------------------------------------------------------- */

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

static void
tpath(char *buf, size_t len, const char *name)
{
	snprintf(buf, len, "%s/%s", tmpdir, name);
}

static int
mkimg(const char *img, const char *opts, const char *tree, const char *size)
{
	char dopt[512] = "";

	if (tree != NULL && snprintf(dopt, sizeof(dopt), "-d %s", tree) >=
	    (int)sizeof(dopt))
		return -1;
	return sh("rm -f %s && " MKE2FS " -q -F -t ext2 %s %s %s %s "
	    ">/dev/null 2>&1", img, opts, dopt, img, size);
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
pmount(const char *img, int ro)
{
	return pith_sys_mount(img, MNT, "ext2", ro ? 1 /* MS_RDONLY */ : 0,
	    NULL);
}

static int
pumount(void)
{
	return pith_sys_umount2(MNT, 0);
}

static void
put_file(const char *path, const void *buf, size_t len)
{
	int fd = open(path, O_CREAT | O_TRUNC | O_WRONLY, 0644);

	if (fd < 0 || write(fd, buf, len) != (ssize_t)len)
		bail_out("cannot write %s: %s", path, strerror(errno));
	close(fd);
}

/* The whole of a host file, malloc'd. */
static char *
slurp(const char *path, size_t *lenp)
{
	struct stat st;
	char *buf;
	int fd = open(path, O_RDONLY);

	if (fd < 0 || fstat(fd, &st) != 0)
		return NULL;
	buf = malloc((size_t)st.st_size + 1);
	if (buf == NULL || pread(fd, buf, (size_t)st.st_size, 0) !=
	    st.st_size) {
		free(buf);
		close(fd);
		return NULL;
	}
	close(fd);
	*lenp = (size_t)st.st_size;
	return buf;
}

static uint64_t rngstate;

static uint32_t
rnd(void)
{
	rngstate ^= rngstate << 13;
	rngstate ^= rngstate >> 7;
	rngstate ^= rngstate << 17;
	return (uint32_t)(rngstate >> 11);
}

static void
fill(char *buf, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		buf[i] = (char)('a' + rnd() % 26);
}

/* A host tree with a bit of everything. */
static void
make_tree(const char *dir)
{
	char p[1024], *buf;
	size_t big = 3 * 1024 * 1024 + 777;
	int fd;

	sh("rm -rf %s && mkdir -p %s/sub/deeper %s/empty", dir, dir, dir);
	snprintf(p, sizeof(p), "%s/hello", dir);
	put_file(p, "hello, world\n", 13);
	snprintf(p, sizeof(p), "%s/empty.txt", dir);
	put_file(p, "", 0);
	buf = malloc(big);
	fill(buf, big);
	snprintf(p, sizeof(p), "%s/sub/big", dir);
	put_file(p, buf, big);          /* double indirect with 1 KiB blocks */
	snprintf(p, sizeof(p), "%s/sub/deeper/mid", dir);
	put_file(p, buf, 50000);
	free(buf);
	snprintf(p, sizeof(p), "%s/sparse", dir);
	fd = open(p, O_CREAT | O_WRONLY, 0600);
	if (fd >= 0) {
		(void)pwrite(fd, "end", 3, 2000000);
		(void)pwrite(fd, "mid", 3, 300000);
		close(fd);
	}
	sh("cd %s && ln -s hello fastlink && ln -s "
	    "sub/deeper/../../aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa/x "
	    "slowlink && ln hello hardlink && mkfifo fifo && chmod 4755 hello && "
	    "chmod 700 sub/deeper", dir);
}

/* --- comparing a Pith tree with a host tree -------------------------------- */

struct lde {
	uint64_t d_ino;
	int64_t d_off;
	unsigned short d_reclen;
	unsigned char d_type;
	char d_name[];
};

static int
pith_names(const char *path, char names[][256], int max)
{
	char buf[8192];
	int fd, n, off, count = 0;
	struct lde *d;

	fd = pith_sys_open(path, O_RDONLY | O_DIRECTORY);
	if (fd < 0)
		return -1;
	while ((n = pith_sys_getdents64(fd, buf, sizeof(buf))) > 0) {
		for (off = 0; off < n; off += d->d_reclen) {
			d = (struct lde *)(buf + off);
			if (!strcmp(d->d_name, ".") || !strcmp(d->d_name, ".."))
				continue;
			if (count < max)
				snprintf(names[count], 256, "%s", d->d_name);
			count++;
		}
	}
	pith_sys_close(fd);
	return n < 0 ? -1 : count;
}

static int
cmp_file(const char *h, const char *p)
{
	static char hb[65536], pb[65536];
	int hfd = open(h, O_RDONLY), pfd = pith_sys_open(p, O_RDONLY);
	ssize_t hn, pn;
	int bad = 0;

	if (hfd < 0 || pfd < 0) {
		bad = 1;
		goto out;
	}
	do {
		hn = read(hfd, hb, sizeof(hb));
		pn = pith_sys_read(pfd, pb, sizeof(pb));
		if (hn != pn || (hn > 0 && memcmp(hb, pb, (size_t)hn) != 0)) {
			bad = 1;
			break;
		}
	} while (hn > 0);
out:
	if (hfd >= 0)
		close(hfd);
	if (pfd >= 0)
		pith_sys_close(pfd);
	return bad;
}

/* Count differences between host dir h and Pith dir p. */
static int
cmp_tree(const char *h, const char *p, int top)
{
	static char names[20000][256];
	char hp[2048], pp[2048], hl[4096], pl[4096];
	struct stat hs, ps;
	struct dirent *de;
	int n, i, bad = 0, nh = 0;
	DIR *d;
	char (*mine)[256];

	n = pith_names(p, names, 20000);
	if (n < 0) {
		diag("cannot list %s: %s", p, strerror(errno));
		return 1;
	}
	mine = malloc(sizeof(names[0]) * (size_t)(n + 1));
	memcpy(mine, names, sizeof(names[0]) * (size_t)n);
	d = opendir(h);
	while (d != NULL && (de = readdir(d)) != NULL) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		nh++;
	}
	if (d != NULL)
		closedir(d);
	if (top) {
		for (i = 0; i < n; i++)
			if (!strcmp(mine[i], "lost+found"))
				n--, memmove(mine[i], mine[i + 1],
				    sizeof(mine[0]) * (size_t)(n - i)), i--;
	}
	if (n != nh) {
		diag("%s: %d entries, host has %d", p, n, nh);
		bad++;
	}
	for (i = 0; i < n; i++) {
		snprintf(hp, sizeof(hp), "%s/%s", h, mine[i]);
		snprintf(pp, sizeof(pp), "%s/%s", p, mine[i]);
		if (lstat(hp, &hs) != 0 || pith_sys_lstat(pp, &ps) != 0) {
			diag("%s: only in pith", pp);
			bad++;
			continue;
		}
		if (hs.st_mode != ps.st_mode || (!S_ISDIR(hs.st_mode) &&
		    hs.st_size != ps.st_size) || hs.st_nlink != ps.st_nlink ||
		    hs.st_uid != ps.st_uid) {
			diag("%s: mode %o/%o size %lld/%lld nlink %ld/%ld", pp,
			    ps.st_mode, hs.st_mode, (long long)ps.st_size,
			    (long long)hs.st_size, (long)ps.st_nlink,
			    (long)hs.st_nlink);
			bad++;
			continue;
		}
		if (S_ISREG(hs.st_mode) && cmp_file(hp, pp)) {
			diag("%s: contents differ", pp);
			bad++;
		} else if (S_ISLNK(hs.st_mode)) {
			ssize_t a = readlink(hp, hl, sizeof(hl));
			ssize_t b = pith_sys_readlink(pp, pl, sizeof(pl));

			if (a != b || memcmp(hl, pl, (size_t)(a > 0 ? a : 0))) {
				diag("%s: link target differs", pp);
				bad++;
			}
		} else if (S_ISDIR(hs.st_mode)) {
			bad += cmp_tree(hp, pp, 0);
		}
	}
	free(mine);
	return bad;
}

/* --- random operations on both trees -------------------------------------- */

struct pool {
	char files[512][1024];
	int nfiles;
	char dirs[256][1024];
	int ndirs;
	char all[1024][1024];
	int nall;
};

static void
scan(const char *root, const char *rel, struct pool *pl)
{
	char path[2048], r[1024];
	struct dirent *de;
	struct stat st;
	DIR *d;

	snprintf(path, sizeof(path), "%s/%s", root, rel);
	if (pl->ndirs < 256)
		snprintf(pl->dirs[pl->ndirs++], 1024, "%s", rel);
	d = opendir(path);
	if (d == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		snprintf(r, sizeof(r), "%s/%s", rel, de->d_name);
		snprintf(path, sizeof(path), "%s/%s", root, r);
		if (lstat(path, &st) != 0)
			continue;
		if (pl->nall < 1024)
			snprintf(pl->all[pl->nall++], 1024, "%s", r);
		if (S_ISREG(st.st_mode) && pl->nfiles < 512)
			snprintf(pl->files[pl->nfiles++], 1024, "%s", r);
		if (S_ISDIR(st.st_mode) && strlen(r) < 120)
			scan(root, r, pl);
	}
	closedir(d);
}

/* Results of one op on the host and on Pith: equal, or report. */
static int
agree(const char *what, const char *arg, int hr, int herr, int pr, int perr)
{
	if ((hr < 0) == (pr < 0) && (hr >= 0 || herr == perr))
		return 1;
	/*
	 * Known VFS difference, not the file system's: a symlink that
	 * expands into itself many times is ELOOP on Linux (40 links) but
	 * ENAMETOOLONG in Pith's lookup when the expansion outgrows
	 * PATH_MAX first.
	 */
	if (hr < 0 && pr < 0 && herr == ELOOP && perr == ENAMETOOLONG) {
		diag("%s %s: ELOOP vs ENAMETOOLONG (VFS, tolerated)", what, arg);
		return 1;
	}
	diag("%s %s: host %d (%s), pith %d (%s)", what, arg, hr,
	    hr < 0 ? strerror(herr) : "ok", pr, pr < 0 ? strerror(perr) : "ok");
	return 0;
}

#define BOTH(what, arg, hcall, pcall) do { \
	int hr_, he_, pr_, pe_; \
	errno = 0; hr_ = (hcall); he_ = errno; \
	errno = 0; pr_ = (pcall); pe_ = errno; \
	if (!agree(what, arg, hr_, he_, pr_, pe_)) bad++; \
	if (verbose) diag("%s %s -> %d", what, arg, hr_); \
} while (0)

static int
do_write(const char *h, const char *p, off_t off, size_t len, int creat)
{
	static char buf[300000];
	int fl = O_WRONLY | (creat ? O_CREAT | O_EXCL : 0), bad = 0;
	int hfd, pfd, he, pe;
	ssize_t hn, pn;

	fill(buf, len);
	hfd = open(h, fl, 0640);
	he = errno;
	pfd = pith_sys_open(p, fl, 0640);
	pe = errno;
	if (!agree("open", p, hfd, he, pfd, pe))
		bad++;
	if (hfd >= 0 && pfd >= 0) {
		hn = pwrite(hfd, buf, len, off);
		pn = pith_sys_pwrite(pfd, buf, len, off);
		if (hn != pn) {
			diag("pwrite %s: host %zd pith %zd (%s)", p, hn, pn,
			    strerror(errno));
			bad++;
		}
	}
	if (hfd >= 0)
		close(hfd);
	if (pfd >= 0)
		pith_sys_close(pfd);
	return bad;
}

/* One random operation.  Returns the number of disagreements. */
static int
random_op(const char *host, struct pool *pl)
{
	char h[1024], p[1024], h2[1024], p2[1024], name[300];
	const char *a, *b;
	int bad = 0, op = (int)(rnd() % 13);
	size_t nl;

	a = pl->nall ? pl->all[rnd() % (unsigned)pl->nall] : "/x";
	b = pl->dirs[rnd() % (unsigned)pl->ndirs];
	nl = 1 + rnd() % (rnd() % 8 == 0 ? 255 : 20);
	memset(name, 0, sizeof(name));
	fill(name, nl);
	snprintf(h, sizeof(h), "%s%s", host, a);
	snprintf(p, sizeof(p), MNT "%s", a);
	snprintf(h2, sizeof(h2), "%s%s/%s", host, b, name);
	snprintf(p2, sizeof(p2), MNT "%s/%s", b, name);
	switch (op) {
	case 0: case 1:
		bad += do_write(h2, p2, rnd() % 70000, rnd() % 300000, 1);
		break;
	case 2:
		if (pl->nfiles == 0)
			break;
		a = pl->files[rnd() % (unsigned)pl->nfiles];
		snprintf(h, sizeof(h), "%s%s", host, a);
		snprintf(p, sizeof(p), MNT "%s", a);
		bad += do_write(h, p, rnd() % (rnd() % 4 ? 400000 : 20000000),
		    rnd() % 100000, 0);
		break;
	case 3: {
		off_t len = rnd() % (rnd() % 3 ? 100000 : 10000000);

		if (pl->nfiles == 0)
			break;
		a = pl->files[rnd() % (unsigned)pl->nfiles];
		snprintf(h, sizeof(h), "%s%s", host, a);
		snprintf(p, sizeof(p), MNT "%s", a);
		BOTH("truncate", p, truncate(h, len), pith_sys_truncate(p, len));
		break;
	}
	case 4:
		BOTH("mkdir", p2, mkdir(h2, 0755), pith_sys_mkdir(p2, 0755));
		break;
	case 5: case 6:
		BOTH("rename", p, rename(h, h2), pith_sys_rename(p, p2));
		break;
	case 7:
		BOTH("link", p, link(h, h2), pith_sys_link(p, p2));
		break;
	case 8: {
		/* Relative targets resolve alike in both trees. */
		const char *t = rnd() % 2 ? a + 1 : name;

		BOTH("symlink", p2, symlink(t, h2), pith_sys_symlink(t, p2));
		break;
	}
	case 9:
		BOTH("unlink", p, unlink(h), pith_sys_unlink(p));
		break;
	case 10:
		BOTH("rmdir", p, rmdir(h), pith_sys_rmdir(p));
		break;
	case 11: {
		mode_t m = rnd() % 07777;

		BOTH("chmod", p, chmod(h, m), pith_sys_chmod(p, m));
		break;
	}
	case 12:
		/* A directory rename, sometimes over another directory. */
		a = pl->dirs[rnd() % (unsigned)pl->ndirs];
		snprintf(h, sizeof(h), "%s%s", host, a);
		snprintf(p, sizeof(p), MNT "%s", a);
		if (a[0] == '\0')
			break;
		if (rnd() % 2) {
			b = pl->dirs[rnd() % (unsigned)pl->ndirs];
			if (b[0] == '\0')
				break;  /* the mount point itself */
			snprintf(h2, sizeof(h2), "%s%s", host, b);
			snprintf(p2, sizeof(p2), MNT "%s", b);
		}
		BOTH("rename dir", p, rename(h, h2), pith_sys_rename(p, p2));
		break;
	}
	return bad;
}

/* Mount img, compare with host, apply nops ops, unmount. */
static int
run_ops(const char *img, const char *host, unsigned seed, int nops)
{
	struct pool *pl = calloc(1, sizeof(*pl));
	int i, bad = 0;

	rngstate = seed * 2654435761u + 1;
	if (pmount(img, 0) != 0) {
		diag("mount %s: %s", img, strerror(errno));
		free(pl);
		return 1;
	}
	bad += cmp_tree(host, MNT, 1);
	for (i = 0; i < nops; i++) {
		memset(pl, 0, sizeof(*pl));
		scan(host, "", pl);
		bad += random_op(host, pl);
	}
	bad += cmp_tree(host, MNT, 1);
	if (pumount() != 0) {
		diag("umount: %s", strerror(errno));
		bad++;
	}
	free(pl);
	return bad;
}

/* --- the tests ------------------------------------------------------------- */

static void
test_variant(const char *opts, unsigned seed)
{
	char img[512], tree[512];
	char *before, *after;
	size_t blen, alen;
	int bad;

	tpath(img, sizeof(img), "v.img");
	tpath(tree, sizeof(tree), "vtree");
	rngstate = seed;
	make_tree(tree);
	if (mkimg(img, opts, tree, "16M") != 0) {
		skip(5, "mke2fs %s failed", opts);
		return;
	}
	before = slurp(img, &blen);
	ok(pmount(img, 1) == 0, "[%s] read-only mount", opts);
	bad = cmp_tree(tree, MNT, 1);
	ok(bad == 0, "[%s] every file matches the host tree", opts);
	pumount();
	after = slurp(img, &alen);
	ok(before && after && alen == blen && !memcmp(before, after, blen),
	    "[%s] read-only mount changed no byte", opts);
	free(before);
	free(after);
	bad = run_ops(img, tree, seed, 150);
	ok(bad == 0, "[%s] 150 random operations agree with the host", opts);
	ok(fsck_clean(img), "[%s] e2fsck -fn clean after writing", opts);
	if (pmount(img, 1) == 0) {
		bad = cmp_tree(tree, MNT, 1);
		pumount();
	} else {
		bad = -1;
	}
	ok(bad == 0, "[%s] remounted image matches the host tree", opts);
}

static void
test_sparse5g(void)
{
	char img[512];
	const off_t big = 5LL << 30;
	struct stat st;
	char buf[16];
	int fd;

	tpath(img, sizeof(img), "sparse.img");
	if (mkimg(img, "-b 4096", NULL, "64M") != 0) {
		skip(4, "mke2fs failed");
		return;
	}
	pmount(img, 0);
	fd = pith_sys_open(MNT "/huge", O_CREAT | O_RDWR, 0644);
	ok(fd >= 0 && pith_sys_pwrite(fd, "tail", 4, big - 4) == 4 &&
	    pith_sys_pwrite(fd, "head", 4, 0) == 4, "5 GiB sparse: write ends");
	memset(&st, 0, sizeof(st));
	pith_sys_fstat(fd, &st);
	ok(st.st_size == big &&
	    st.st_blocks < 64, "5 GiB sparse: size %lld, %lld blocks",
	    (long long)st.st_size, (long long)st.st_blocks);
	ok(pith_sys_pread(fd, buf, 4, big - 4) == 4 && !memcmp(buf, "tail", 4) &&
	    pith_sys_pread(fd, buf, 4, 1LL << 32) == 4 &&
	    !memcmp(buf, "\0\0\0\0", 4), "5 GiB sparse: read back, holes zero");
	pith_sys_close(fd);
	pumount();
	ok(fsck_clean(img), "5 GiB sparse: e2fsck clean");
	ok(sh(DEBUGFS " -R 'stat /huge' %s 2>/dev/null | grep -q "
	    "'Size: 5368709120'", img) == 0, "5 GiB sparse: debugfs sees size");
}

static void
test_rev0_limit(void)
{
	char img[512];
	int fd;

	tpath(img, sizeof(img), "r0.img");
	if (mkimg(img, "-r 0", NULL, "8M") != 0) {
		skip(2, "mke2fs -r 0 failed");
		return;
	}
	pmount(img, 0);
	fd = pith_sys_open(MNT "/f", O_CREAT | O_RDWR, 0644);
	errno = 0;
	ok(pith_sys_pwrite(fd, "x", 1, 3LL << 30) < 0 && errno == EFBIG,
	    "revision 0: no file past 2 GiB (EFBIG)");
	pith_sys_close(fd);
	pumount();
	ok(fsck_clean(img), "revision 0: e2fsck clean");
}

static void
test_bigdir(void)
{
	char img[512], p[400], buf[32768];
	char name255[256];
	int i, fd, n, off, count = 0, bad = 0;
	struct lde *d;
	struct stat st;

	tpath(img, sizeof(img), "dir.img");
	if (mkimg(img, "-b 1024 -N 20000", NULL, "32M") != 0) {
		skip(6, "mke2fs failed");
		return;
	}
	pmount(img, 0);
	pith_sys_mkdir(MNT "/d", 0755);
	for (i = 0; i < 10000; i++) {
		snprintf(p, sizeof(p), MNT "/d/entry-%05d", i);
		fd = pith_sys_open(p, O_CREAT | O_WRONLY, 0644);
		if (fd < 0)
			bad++;
		pith_sys_close(fd);
	}
	ok(bad == 0, "10,000 files created");
	fd = pith_sys_open(MNT "/d", O_RDONLY | O_DIRECTORY);
	while ((n = pith_sys_getdents64(fd, buf, sizeof(buf))) > 0)
		for (off = 0; off < n; off += d->d_reclen, count++)
			d = (struct lde *)(buf + off);
	pith_sys_close(fd);
	is_int(count, 10002, "readdir sees all of them and . and ..");
	for (i = 0, bad = 0; i < 10000; i += 2) {
		snprintf(p, sizeof(p), MNT "/d/entry-%05d", i);
		if (pith_sys_unlink(p) != 0)
			bad++;
	}
	ok(bad == 0 && pith_sys_stat(MNT "/d/entry-09999", &st) == 0 &&
	    pith_sys_stat(MNT "/d/entry-09998", &st) != 0 && errno == ENOENT,
	    "half removed, the rest still found");
	memset(name255, 'n', 255);
	name255[255] = '\0';
	snprintf(p, sizeof(p), MNT "/d/%s", name255);
	fd = pith_sys_open(p, O_CREAT | O_WRONLY, 0644);
	ok(fd >= 0 && pith_sys_stat(p, &st) == 0, "255-byte name");
	pith_sys_close(fd);
	snprintf(p, sizeof(p), MNT "/d/%sx", name255);
	errno = 0;
	ok(pith_sys_open(p, O_CREAT | O_WRONLY, 0644) < 0 &&
	    errno == ENAMETOOLONG, "256-byte name: ENAMETOOLONG");
	pumount();
	ok(fsck_clean(img), "big directory: e2fsck clean");
}

static void
test_full(void)
{
	char img[512], p[300], buf[65536];
	struct statfs sf0, sf1, sf2;
	int fd, i, nfiles = 0, err = 0;
	ssize_t n;

	tpath(img, sizeof(img), "full.img");
	if (mkimg(img, "-b 1024 -N 64", NULL, "2M") != 0) {
		skip(6, "mke2fs failed");
		return;
	}
	memset(buf, 'z', sizeof(buf));
	pmount(img, 0);
	pith_sys_statfs(MNT, &sf0);
	ok(sf0.f_type == 0xEF53 && sf0.f_bsize == 1024, "statfs: ext2 magic");
	for (i = 0; i < 1000 && err == 0; i++) {
		snprintf(p, sizeof(p), MNT "/fill%d", i);
		fd = pith_sys_open(p, O_CREAT | O_WRONLY, 0644);
		if (fd < 0) {
			err = errno;
			break;
		}
		nfiles++;
		while ((n = pith_sys_write(fd, buf, sizeof(buf))) > 0)
			;
		if (n < 0)
			err = errno;
		pith_sys_close(fd);
	}
	is_int(err, ENOSPC, "filling up ends in ENOSPC");
	pith_sys_statfs(MNT, &sf1);
	ok(sf1.f_bfree < 20, "no blocks left (%lu)", (unsigned long)sf1.f_bfree);
	for (i = 0; i < nfiles; i++) {
		snprintf(p, sizeof(p), MNT "/fill%d", i);
		pith_sys_unlink(p);
	}
	pith_sys_statfs(MNT, &sf2);
	ok(sf2.f_bfree == sf0.f_bfree && sf2.f_ffree == sf0.f_ffree,
	    "space back after deleting (%lu/%lu blocks)",
	    (unsigned long)sf2.f_bfree, (unsigned long)sf0.f_bfree);
	for (i = 0, err = 0; i < 100; i++) {
		snprintf(p, sizeof(p), MNT "/i%d", i);
		fd = pith_sys_open(p, O_CREAT | O_WRONLY, 0644);
		if (fd < 0) {
			err = errno;
			break;
		}
		pith_sys_close(fd);
	}
	is_int(err, ENOSPC, "running out of inodes is ENOSPC");
	pumount();
	ok(fsck_clean(img), "full file system: e2fsck clean");
}

/* Overwrite len bytes at off of a file with seeded garbage, or bytes. */
static void
poke(const char *img, off_t off, const void *bytes, size_t len)
{
	int fd = open(img, O_WRONLY);

	if (fd < 0 || pwrite(fd, bytes, len, off) != (ssize_t)len)
		bail_out("poke %s: %s", img, strerror(errno));
	close(fd);
}

/* Walk everything under path; errors fine, crashes and hangs not. */
static int
walk(const char *path, int depth)
{
	char names[64][256], p[2048], buf[4096];
	int n, i, fd, count = 1;
	struct stat st;

	if (depth > 8)
		return 0;
	n = pith_names(path, names, 64);
	for (i = 0; i < n && i < 64; i++) {
		if (snprintf(p, sizeof(p), "%s/%s", path, names[i]) >=
		    (int)sizeof(p) || pith_sys_lstat(p, &st) != 0)
			continue;
		count++;
		if (S_ISDIR(st.st_mode)) {
			count += walk(p, depth + 1);
		} else if (S_ISREG(st.st_mode)) {
			fd = pith_sys_open(p, O_RDONLY);
			while (fd >= 0 && pith_sys_read(fd, buf, sizeof(buf)) > 0)
				;
			pith_sys_close(fd);
		} else if (S_ISLNK(st.st_mode)) {
			(void)pith_sys_readlink(p, buf, sizeof(buf));
		}
	}
	return count;
}

static long
dbg_block(const char *img, const char *path)
{
	char cmd[1024];
	long blk = -1;
	FILE *f;

	snprintf(cmd, sizeof(cmd), DEBUGFS " -R 'blocks %s' %s 2>/dev/null",
	    path, img);
	f = popen(cmd, "r");
	if (f != NULL) {
		if (fscanf(f, "%ld", &blk) != 1)
			blk = -1;
		pclose(f);
	}
	return blk;
}

static void
test_malformed(void)
{
	char img[512], tree[512], junk[8192];
	int i, rc;
	long blk;

	tpath(img, sizeof(img), "bad.img");
	tpath(tree, sizeof(tree), "btree");
	rngstate = 99;
	make_tree(tree);
	fill(junk, sizeof(junk));

	mkimg(img, "-b 1024", tree, "8M");
	poke(img, 1024 + 56, "\x00\x00", 2);
	errno = 0;
	ok(pmount(img, 1) < 0 && errno == EINVAL, "bad magic: EINVAL");

	mkimg(img, "-b 1024", tree, "8M");
	poke(img, 2048, junk, 1024);            /* the descriptors */
	rc = pmount(img, 1);
	if (rc == 0) {
		walk(MNT, 0);
		pumount();
	}
	ok(1, "random group descriptors: %s, no crash",
	    rc ? strerror(errno) : "mounted");

	for (i = 0; i < 4; i++) {
		mkimg(img, "-b 1024", tree, "8M");
		poke(img, 1024L * (5 + 8 * i) + (i * 97), junk + i * 1024, 1024);
		rc = pmount(img, 0);
		if (rc == 0) {
			walk(MNT, 0);
			pith_sys_mkdir(MNT "/new", 0755);
			pith_sys_unlink(MNT "/hello");
			pumount();
		}
		ok(1, "random bytes over metadata block %d: walked, no crash",
		    5 + 8 * i);
	}

	mkimg(img, "-b 1024", tree, "8M");
	blk = dbg_block(img, "/sub");
	if (blk > 0) {
		poke(img, blk * 1024, junk, 1024);
		pmount(img, 1);
		errno = 0;
		ok(walk(MNT "/sub", 0) >= 0, "random directory block: no crash");
		pumount();
		mkimg(img, "-b 1024", tree, "8M");
		poke(img, blk * 1024 + 4, "\0\0", 2);   /* rec_len 0 */
		pmount(img, 1);
		errno = 0;
		ok(pith_names(MNT "/sub", (char (*)[256])junk, 8) < 0 &&
		    errno == EIO, "rec_len 0: EIO, no loop");
		pumount();
		/* Found on a writable mount, it marks the file system. */
		pmount(img, 0);
		pith_names(MNT "/sub", (char (*)[256])junk, 8);
		pumount();
		errno = 0;
		ok(pmount(img, 0) < 0 && errno == EROFS,
		    "corruption found writable: error state set, rw refused");
	} else {
		skip(3, "debugfs cannot find a directory block");
	}

	/* Inode table garbage: find the root inode table via debugfs. */
	mkimg(img, "-b 1024", tree, "8M");
	blk = 0;
	ok(sh(DEBUGFS " -R 'imap <12>' %s 2>/dev/null | "
	    "sed -n 's/.*block \\([0-9]*\\).*/\\1/p' > %s/imap.out", img,
	    tmpdir) == 0, "debugfs imap");
	{
		char path[600];
		size_t len;
		char *s;

		snprintf(path, sizeof(path), "%s/imap.out", tmpdir);
		s = slurp(path, &len);
		blk = s ? atol(s) : 0;
		free(s);
	}
	if (blk > 0) {
		poke(img, blk * 1024, junk, 1024);
		rc = pmount(img, 0);
		if (rc == 0) {
			walk(MNT, 0);
			pith_sys_unlink(MNT "/hello");
			pith_sys_unlink(MNT "/sub/big");
			pumount();
		}
		ok(1, "random inode table block: no crash");
	} else {
		skip(1, "no inode table block");
	}
}

static void
test_state(void)
{
	char img[512];
	char *before, *after;
	size_t blen, alen;

	tpath(img, sizeof(img), "st.img");
	mkimg(img, "", NULL, "8M");
	poke(img, 1024 + 58, "\x03\x00", 2);    /* s_state: valid | errors */
	errno = 0;
	ok(pmount(img, 0) < 0 && errno == EROFS, "errors state: rw is EROFS");
	before = slurp(img, &blen);
	ok(pmount(img, 1) == 0 && pumount() == 0, "errors state: ro mounts");
	after = slurp(img, &alen);
	ok(before && after && blen == alen && !memcmp(before, after, blen),
	    "read-only mount wrote nothing");
	free(before);
	free(after);

	mkimg(img, "", NULL, "8M");
	poke(img, 1024 + 96, "\x06\x00\x00\x00", 4);   /* filetype|recover */
	errno = 0;
	ok(pmount(img, 0) < 0 && errno == EROFS, "needs_recovery: rw EROFS");
	ok(pmount(img, 1) == 0 && pumount() == 0, "needs_recovery: ro mounts");

	mkimg(img, "", NULL, "8M");
	/* An incompatible feature the driver does not know: encrypt. */
	poke(img, 1024 + 96, "\x02\x00\x01\x00", 4);   /* filetype|encrypt */
	errno = 0;
	ok(pmount(img, 1) < 0 && errno == EINVAL, "encrypt: refused (EINVAL)");

	/* A read-only-compatible feature it reads but does not write. */
	mkimg(img, "", NULL, "8M");
	poke(img, 1024 + 100, "\x0b\x00\x00\x00", 4);  /* ..|huge_file */
	errno = 0;
	ok(pmount(img, 0) < 0 && errno == EROFS, "huge_file: rw EROFS");
	ok(pmount(img, 1) == 0 && pumount() == 0, "huge_file: ro mounts");

	mkimg(img, "", NULL, "8M");
	ok(pmount(img, 0) == 0 && pumount() == 0 && fsck_clean(img),
	    "mount and unmount leave it clean");
	errno = 0;
	ok(pith_sys_mount("/nonexistent.img", MNT, "ext2", 0, NULL) < 0 &&
	    errno == ENOENT, "absent image: ENOENT");
}


/* A directory with a hashed index (made by e2fsck -D): read, then write. */
static void
test_htree(void)
{
	char img[512], tree[512], p[600];
	int i, bad = 0;
	struct stat st;

	tpath(img, sizeof(img), "ht.img");
	tpath(tree, sizeof(tree), "httree");
	sh("rm -rf %s && mkdir -p %s/big && cd %s/big && for i in $(seq 1 2000);"
	    " do : > long-enough-name-$i; done", tree, tree, tree);
	mkimg(img, "-b 1024", tree, "16M");
	sh(E2FSCK " -fyD %s >/dev/null 2>&1", img);
	if (sh(DEBUGFS " -R 'stat /big' %s 2>/dev/null | grep -q 'Flags: 0x1000'",
	    img) != 0) {
		skip(4, "e2fsck -D made no index");
		return;
	}
	pmount(img, 0);
	ok(cmp_tree(tree, MNT, 1) == 0, "indexed directory reads linearly");
	for (i = 1; i <= 2000; i++) {
		snprintf(p, sizeof(p), MNT "/big/long-enough-name-%d", i);
		if (pith_sys_stat(p, &st) != 0)
			bad++;
	}
	ok(bad == 0, "every name in the indexed directory found");
	for (i = 1; i <= 2000; i += 3) {
		snprintf(p, sizeof(p), MNT "/big/long-enough-name-%d", i);
		pith_sys_unlink(p);
	}
	for (i = 0; i < 300; i++) {
		snprintf(p, sizeof(p), MNT "/big/added-%d", i);
		pith_sys_close(pith_sys_open(p, O_CREAT | O_WRONLY, 0644));
	}
	pumount();
	ok(fsck_clean(img), "indexed directory written: e2fsck clean");
	ok(sh(DEBUGFS " -R 'stat /big' %s 2>/dev/null | grep -q 'Flags: 0x0'",
	    img) == 0, "index flag cleared on write");
}

/* An unlinked open file keeps its data until closed, then is freed. */
static void
test_orphan(void)
{
	char img[512], buf[8];
	struct statfs a, b;
	int fd;

	tpath(img, sizeof(img), "orph.img");
	mkimg(img, "", NULL, "8M");
	pmount(img, 0);
	pith_sys_statfs(MNT, &a);
	fd = pith_sys_open(MNT "/o", O_CREAT | O_RDWR, 0644);
	pith_sys_pwrite(fd, "data", 4, 100000);
	pith_sys_unlink(MNT "/o");
	ok(pith_sys_pread(fd, buf, 4, 100000) == 4 && !memcmp(buf, "data", 4),
	    "unlinked open file still readable");
	pith_sys_close(fd);
	pith_sys_statfs(MNT, &b);
	ok(a.f_bfree == b.f_bfree && a.f_ffree == b.f_ffree,
	    "its blocks and inode freed at close");
	pumount();
	ok(fsck_clean(img), "orphan: e2fsck clean");
}

/* Reserved blocks: only root may take the last 5%. */
static void
test_reserved(void)
{
	char img[512], buf[65536];
	int fd, err = 0;
	ssize_t n;
	struct statfs sf;

	tpath(img, sizeof(img), "resv.img");
	mkimg(img, "-b 1024 -m 10", NULL, "4M");
	pmount(img, 0);
	pith_sys_chmod(MNT, 0777);
	memset(buf, 'r', sizeof(buf));
	/* Effective ids only, so that root comes back; no group 0 either
	 * (members of s_def_resgid may use the reserve, as on Linux). */
	if (pith_sys_setgroups(0, NULL) != 0 ||
	    pith_sys_setresgid((gid_t)-1, 1000, (gid_t)-1) != 0 ||
	    pith_sys_setresuid((uid_t)-1, 1000, (uid_t)-1) != 0) {
		skip(3, "setresuid: %s", strerror(errno));
		pumount();
		return;
	}
	fd = pith_sys_open(MNT "/user", O_CREAT | O_WRONLY, 0644);
	while ((n = pith_sys_write(fd, buf, sizeof(buf))) > 0)
		;
	err = n < 0 ? errno : 0;
	pith_sys_close(fd);
	pith_sys_setresuid((uid_t)-1, 0, (uid_t)-1);
	pith_sys_setresgid((gid_t)-1, 0, (gid_t)-1);
	pith_sys_statfs(MNT, &sf);
	ok(err == ENOSPC && sf.f_bavail == 0 && sf.f_bfree > 300,
	    "user stops at the reserve (%lu free)", (unsigned long)sf.f_bfree);
	fd = pith_sys_open(MNT "/root", O_CREAT | O_WRONLY, 0644);
	ok(pith_sys_write(fd, buf, sizeof(buf)) == (ssize_t)sizeof(buf),
	    "root writes into the reserve");
	pith_sys_close(fd);
	pumount();
	ok(fsck_clean(img), "reserve: e2fsck clean");
}

/* ext3 without a pending journal is written as ext2 is. */
static void
test_ext3(void)
{
	char img[512];
	int fd;

	tpath(img, sizeof(img), "e3.img");
	if (sh("rm -f %s && " MKE2FS " -q -F -t ext3 %s 16M >/dev/null 2>&1",
	    img, img) != 0) {
		skip(2, "mke2fs -t ext3 failed");
		return;
	}
	ok(pith_sys_mount(img, MNT, "ext3", 0, NULL) == 0, "ext3 mounts rw");
	fd = pith_sys_open(MNT "/f", O_CREAT | O_WRONLY, 0644);
	pith_sys_write(fd, "ext3\n", 5);
	pith_sys_close(fd);
	pith_sys_mkdir(MNT "/d", 0755);
	pumount();
	ok(fsck_clean(img), "ext3 written: e2fsck clean");
}

/* Several threads creating, writing and removing at once. */
static void *
thread_worker(void *arg)
{
	long id = (long)arg;
	char p[100], buf[10000];
	int i, fd;

	memset(buf, 'a' + (int)id, sizeof(buf));
	snprintf(p, sizeof(p), MNT "/t%ld", id);
	pith_sys_mkdir(p, 0755);
	for (i = 0; i < 200; i++) {
		snprintf(p, sizeof(p), MNT "/t%ld/f%d", id, i);
		fd = pith_sys_open(p, O_CREAT | O_WRONLY, 0644);
		pith_sys_write(fd, buf, (size_t)(i * 37 % 10000));
		pith_sys_close(fd);
		if (i % 3 == 0) {
			snprintf(p, sizeof(p), MNT "/t%ld/f%d", id, i / 2);
			pith_sys_unlink(p);
		}
	}
	return NULL;
}

static void
test_threads(void)
{
	char img[512];
	pthread_t th[4];
	long i;

	tpath(img, sizeof(img), "thr.img");
	mkimg(img, "-b 1024", NULL, "32M");
	pmount(img, 0);
	for (i = 0; i < 4; i++)
		pthread_create(&th[i], NULL, thread_worker, (void *)i);
	for (i = 0; i < 4; i++)
		pthread_join(th[i], NULL);
	ok(pumount() == 0, "four threads at once: unmount");
	ok(fsck_clean(img), "four threads at once: e2fsck clean");
}

/* Files with an extended-attribute block: freeing drops the block. */
static void
test_xattr(void)
{
	char img[512], tree[512], p[600];
	struct statfs a, b;

	tpath(img, sizeof(img), "xa.img");
	tpath(tree, sizeof(tree), "xatree");
	sh("rm -rf %s && mkdir -p %s && echo one > %s/f1 && echo two > %s/f2",
	    tree, tree, tree, tree);
	snprintf(p, sizeof(p), "%s/f1", tree);
	if (setxattr(p, "user.pith", "0123456789abcdef0123456789abcdef", 32,
	    0) != 0) {
		skip(3, "host has no user xattrs: %s", strerror(errno));
		return;
	}
	mkimg(img, "-I 128", tree, "8M");
	if (sh(DEBUGFS " -R 'stat /f1' %s 2>/dev/null | grep -q 'File ACL: [1-9]'",
	    img) != 0) {
		skip(3, "mke2fs put no attribute block");
		return;
	}
	pmount(img, 0);
	pith_sys_statfs(MNT, &a);
	ok(cmp_tree(tree, MNT, 1) == 0, "xattr image reads");
	pith_sys_unlink(MNT "/f1");
	pith_sys_statfs(MNT, &b);
	ok(b.f_bfree == a.f_bfree + 2, "data and attribute blocks freed "
	    "(%lu -> %lu)", (unsigned long)a.f_bfree, (unsigned long)b.f_bfree);
	pumount();
	ok(fsck_clean(img), "xattr block freed: e2fsck clean");
}

/* --- partition tables ------------------------------------------------------ */

static uint32_t
crc32(const void *buf, size_t len)
{
	const uint8_t *p = buf;
	uint32_t c = ~0u;
	int k;

	while (len--) {
		c ^= *p++;
		for (k = 0; k < 8; k++)
			c = (c & 1) ? 0xedb88320u ^ (c >> 1) : c >> 1;
	}
	return ~c;
}

static void
le32put(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

static void
le64put(uint8_t *p, uint64_t v)
{
	le32put(p, (uint32_t)v);
	le32put(p + 4, (uint32_t)(v >> 32));
}

static void
mbr_entry(uint8_t *sec, int i, uint8_t type, uint32_t lba, uint32_t n)
{
	uint8_t *e = sec + 446 + 16 * i;

	e[4] = type;
	le32put(e + 8, lba);
	le32put(e + 12, n);
	sec[510] = 0x55;
	sec[511] = 0xaa;
}

/* Put a fresh 1 MiB ext2 holding file "id" (contents tag) at lba. */
static void
place_fs(const char *disk, uint32_t lba, const char *tag)
{
	char img[512], tree[512], p[600];
	size_t len;
	char *buf;

	tpath(img, sizeof(img), "part.img");
	tpath(tree, sizeof(tree), "ptree");
	sh("rm -rf %s && mkdir -p %s", tree, tree);
	snprintf(p, sizeof(p), "%s/id", tree);
	put_file(p, tag, strlen(tag));
	mkimg(img, "-b 1024", tree, "1M");
	buf = slurp(img, &len);
	if (buf == NULL)
		bail_out("no partition image");
	poke(disk, (off_t)lba * 512, buf, len);
	free(buf);
}

static int
part_says(const char *disk, int n, const char *tag)
{
	char src[600], buf[64];
	int fd, got = 0;
	ssize_t r;

	snprintf(src, sizeof(src), "%s@%d", disk, n);
	if (pmount(src, 1) != 0)
		return 0;
	fd = pith_sys_open(MNT "/id", O_RDONLY);
	r = fd >= 0 ? pith_sys_read(fd, buf, sizeof(buf)) : -1;
	got = r == (ssize_t)strlen(tag) && !memcmp(buf, tag, (size_t)r);
	pith_sys_close(fd);
	pumount();
	return got;
}

static void
test_mbr(void)
{
	char disk[512], src[600];
	uint8_t sec[512];

	tpath(disk, sizeof(disk), "mbr.img");
	sh("rm -f %s && truncate -s 8M %s", disk, disk);
	memset(sec, 0, sizeof(sec));
	mbr_entry(sec, 0, 0x83, 2048, 2048);
	mbr_entry(sec, 1, 0x05, 4096, 12288);
	poke(disk, 0, sec, 512);
	/* EBR chain: p5 at 6144, next EBR at 8192 holding p6 at 10240. */
	memset(sec, 0, sizeof(sec));
	mbr_entry(sec, 0, 0x83, 2048, 2048);
	mbr_entry(sec, 1, 0x05, 4096, 4096);
	poke(disk, 4096L * 512, sec, 512);
	memset(sec, 0, sizeof(sec));
	mbr_entry(sec, 0, 0x83, 2048, 2048);
	poke(disk, 8192L * 512, sec, 512);
	place_fs(disk, 2048, "one");
	place_fs(disk, 6144, "five");
	place_fs(disk, 10240, "six");
	ok(part_says(disk, 1, "one"), "MBR: primary partition 1");
	ok(part_says(disk, 5, "five"), "MBR: logical partition 5");
	ok(part_says(disk, 6, "six"), "MBR: logical partition 6");
	snprintf(src, sizeof(src), "%s@3", disk);
	errno = 0;
	ok(pmount(src, 1) < 0 && errno == ENXIO, "MBR: unused partition ENXIO");
	snprintf(src, sizeof(src), "%s@7", disk);
	errno = 0;
	ok(pmount(src, 1) < 0 && errno == ENXIO, "MBR: absent logical ENXIO");
	errno = 0;
	ok(pmount(disk, 1) < 0 && errno == EINVAL, "whole disk is no ext2");
}

static void
test_gpt(void)
{
	char disk[512], src[600];
	uint8_t sec[512], hdr[512], ents[128 * 128];
	uint8_t *e;
	int i;

	tpath(disk, sizeof(disk), "gpt.img");
	sh("rm -f %s && truncate -s 8M %s", disk, disk);
	memset(sec, 0, sizeof(sec));
	mbr_entry(sec, 0, 0xee, 1, 16383);
	poke(disk, 0, sec, 512);
	memset(ents, 0, sizeof(ents));
	for (i = 0; i < 2; i++) {
		e = ents + 128 * i;
		memset(e, 0x11 * (i + 1), 16);          /* type GUID */
		memset(e + 16, 0x21 * (i + 1), 16);     /* unique GUID */
		le64put(e + 32, 2048 + 2048 * (uint64_t)i);
		le64put(e + 40, 2048 + 2048 * (uint64_t)i + 2047);
	}
	poke(disk, 2 * 512, ents, sizeof(ents));
	memset(hdr, 0, sizeof(hdr));
	memcpy(hdr, "EFI PART", 8);
	le32put(hdr + 8, 0x00010000);
	le32put(hdr + 12, 92);
	le64put(hdr + 24, 1);
	le64put(hdr + 32, 16383);
	le64put(hdr + 40, 34);
	le64put(hdr + 48, 16350);
	le64put(hdr + 72, 2);
	le32put(hdr + 80, 128);
	le32put(hdr + 84, 128);
	le32put(hdr + 88, crc32(ents, sizeof(ents)));
	le32put(hdr + 16, crc32(hdr, 92));
	poke(disk, 512, hdr, 512);
	place_fs(disk, 2048, "gpt-one");
	place_fs(disk, 4096, "gpt-two");
	ok(part_says(disk, 1, "gpt-one"), "GPT: partition 1");
	ok(part_says(disk, 2, "gpt-two"), "GPT: partition 2");
	snprintf(src, sizeof(src), "%s@3", disk);
	errno = 0;
	ok(pmount(src, 1) < 0 && errno == ENXIO, "GPT: unused entry ENXIO");
	hdr[16] ^= 1;
	poke(disk, 512, hdr, 512);
	snprintf(src, sizeof(src), "%s@1", disk);
	errno = 0;
	ok(pmount(src, 1) < 0 && errno == ENXIO, "GPT: bad header CRC ENXIO");
}

/*
 * Large writes go around the buffer cache; blocks freed while still
 * cached (dirty, or clean after a sync) and then allocated to a large
 * write must not show or write back their old contents.
 */
static void
test_stale_cache(void)
{
	static char a[65536], b[65536], back[65536];
	char img[512];
	int fd, i, round, good = 1;

	tpath(img, sizeof(img), "stale.img");
	if (mkimg(img, "-b 1024", NULL, "8M") != 0) {
		skip(2, "mke2fs failed");
		return;
	}
	memset(a, 'a', sizeof(a));
	memset(back, 'f', sizeof(back));
	fill(b, sizeof(b));
	pmount(img, 0);
	for (round = 0; round < 2; round++) {
		/* a, one block at a time: through the cache, dirty. */
		fd = pith_sys_open(MNT "/a", O_CREAT | O_TRUNC | O_WRONLY, 0644);
		for (i = 0; i < 64; i++)
			pith_sys_write(fd, a + i * 1024, 1024);
		if (round == 1)
			pith_sys_fsync(fd);     /* clean, still cached */
		pith_sys_close(fd);
		/* Fill the rest, so that b can only have a's blocks. */
		fd = pith_sys_open(MNT "/fill", O_CREAT | O_TRUNC | O_WRONLY,
		    0644);
		while (pith_sys_write(fd, back, sizeof(back)) > 0)
			;
		pith_sys_close(fd);
		pith_sys_unlink(MNT "/a");
		fd = pith_sys_open(MNT "/b", O_CREAT | O_TRUNC | O_RDWR, 0644);
		if (pith_sys_write(fd, b, sizeof(b)) != (ssize_t)sizeof(b) ||
		    pith_sys_pread(fd, back, sizeof(back), 0) !=
		    (ssize_t)sizeof(back) || memcmp(back, b, sizeof(b)) != 0)
			good = 0;
		pith_sys_close(fd);
		pumount();
		pmount(img, 0);
		fd = pith_sys_open(MNT "/b", O_RDONLY);
		memset(back, 0, sizeof(back));
		if (pith_sys_read(fd, back, sizeof(back)) != (ssize_t)sizeof(back) ||
		    memcmp(back, b, sizeof(b)) != 0)
			good = 0;
		pith_sys_close(fd);
		pith_sys_unlink(MNT "/b");
		pith_sys_unlink(MNT "/fill");
	}
	pumount();
	ok(good, "a large write over freed blocks still cached (dirty or "
	    "clean) reads back, before and after a remount");
	ok(fsck_clean(img), "stale cache: e2fsck clean");
}

/*
 * Large writes allocate runs of blocks: into free space cut in pieces
 * (every other small file removed), over holes, and next to blocks
 * already mapped, the data must read back and e2fsck find the bitmaps,
 * counts and i_blocks right.
 */
static void
test_runs(void)
{
	static char big[3 << 20], back[3 << 20];
	char img[512], name[64];
	int fd, i, good = 1;

	tpath(img, sizeof(img), "runs.img");
	if (mkimg(img, "-b 1024", NULL, "16M") != 0) {
		skip(2, "mke2fs failed");
		return;
	}
	fill(big, sizeof(big));
	pmount(img, 0);
	for (i = 0; i < 200; i++) {
		snprintf(name, sizeof(name), MNT "/s%03d", i);
		fd = pith_sys_open(name, O_CREAT | O_WRONLY, 0644);
		pith_sys_write(fd, big + i, 3000 + i * 7);
		pith_sys_close(fd);
	}
	for (i = 0; i < 200; i += 2) {
		snprintf(name, sizeof(name), MNT "/s%03d", i);
		pith_sys_unlink(name);
	}
	fd = pith_sys_open(MNT "/big", O_CREAT | O_RDWR, 0644);
	/* Some blocks mapped first, then holes around them filled. */
	if (pith_sys_pwrite(fd, big + 100000, 5000, 100000) != 5000 ||
	    pith_sys_pwrite(fd, big + 700000, 300000, 700000) != 300000 ||
	    pith_sys_pwrite(fd, big, sizeof(big), 0) != (ssize_t)sizeof(big))
		good = 0;
	pith_sys_close(fd);
	pumount();
	pmount(img, 1);
	fd = pith_sys_open(MNT "/big", O_RDONLY);
	if (pith_sys_read(fd, back, sizeof(back)) != (ssize_t)sizeof(back) ||
	    memcmp(back, big, sizeof(big)) != 0)
		good = 0;
	pith_sys_close(fd);
	pumount();
	ok(good, "large writes into fragmented free space and around mapped "
	    "blocks read back");
	ok(fsck_clean(img), "runs of blocks: e2fsck clean");
}

/* --- FS_IOC_FIEMAP ------------------------------------------------------- */

#define FM_N 64

/* A fiemap with room for FM_N extents in its flexible array (a union, as
 * a struct with the array not last is a GNU extension clang warns of). */
union fm_buf {
	struct fiemap fm;
	char room[sizeof(struct fiemap) + FM_N * sizeof(struct fiemap_extent)];
};

static int
fm_get(int fd, union fm_buf *b, uint64_t start, uint64_t len, uint32_t n,
    uint32_t flags)
{
	memset(b, 0, sizeof(*b));
	b->fm.fm_start = start;
	b->fm.fm_length = len;
	b->fm.fm_extent_count = n;
	b->fm.fm_flags = flags;
	return pith_sys_ioctl(fd, FS_IOC_FIEMAP, &b->fm);
}

/*
 * Check one file's map: extents in order, block-aligned, their bytes in
 * the image equal to the file's, every block that is not a hole covered,
 * LAST on the last one; and "logical physical" lines, one per block, to
 * lst for comparing with debugfs.  Returns 1 when all holds.
 */
static int
fm_check(const char *name, int imgfd, unsigned bsize, FILE *lst)
{
	char path[300], *a = malloc(bsize), *b = malloc(bsize);
	union fm_buf fb;
	struct fiemap_extent *e;
	struct stat st;
	uint64_t end = 0, blk, nblk;
	uint32_t i;
	int fd, good = 1;

	snprintf(path, sizeof(path), MNT "/%s", name);
	fd = pith_sys_open(path, O_RDONLY);
	if (fd < 0 || pith_sys_fstat(fd, &st) != 0 ||
	    fm_get(fd, &fb, 0, FIEMAP_MAX_OFFSET, FM_N, 0) != 0) {
		diag("fiemap %s: %s", name, strerror(errno));
		good = 0;
		goto out;
	}
	for (i = 0; i < fb.fm.fm_mapped_extents && good; i++) {
		e = &fb.fm.fm_extents[i];
		if (e->fe_logical < end || e->fe_logical % bsize ||
		    e->fe_physical % bsize || e->fe_length % bsize ||
		    e->fe_length == 0 || e->fe_logical >= (uint64_t)st.st_size ||
		    ((e->fe_flags & FIEMAP_EXTENT_LAST) != 0) !=
		    (i + 1 == fb.fm.fm_mapped_extents)) {
			diag("%s: bad extent %u", name, i);
			good = 0;
		}
		/* The hole before it reads as zeroes. */
		for (blk = end; blk < e->fe_logical && good; blk += bsize) {
			memset(a, 1, bsize);
			pith_sys_pread(fd, a, bsize, (off_t)blk);
			if (a[0] != 0 || memcmp(a, a + 1, bsize - 1) != 0) {
				diag("%s: data at %llu outside the map", name,
				    (unsigned long long)blk);
				good = 0;
			}
		}
		for (nblk = 0; nblk < e->fe_length / bsize && good; nblk++) {
			blk = e->fe_logical / bsize + nblk;
			memset(a, 0, bsize);
			memset(b, 0, bsize);
			pith_sys_pread(fd, a, bsize, (off_t)(blk * bsize));
			if (pread(imgfd, b, bsize, (off_t)(e->fe_physical +
			    nblk * bsize)) != (ssize_t)bsize) {
				good = 0;
				break;
			}
			/* Past the end of the file the block may hold anything. */
			if (memcmp(a, b, (uint64_t)st.st_size - blk * bsize <
			    bsize ? (size_t)st.st_size - blk * bsize : bsize)) {
				diag("%s: block %llu differs in the image", name,
				    (unsigned long long)blk);
				good = 0;
			}
			fprintf(lst, "%llu %llu\n", (unsigned long long)blk,
			    (unsigned long long)(e->fe_physical / bsize + nblk));
		}
		end = e->fe_logical + e->fe_length;
	}
out:
	if (fd >= 0)
		pith_sys_close(fd);
	free(a);
	free(b);
	return good;
}

static void
test_fiemap(void)
{
	static const char *names[] = { "dense", "sparse", "small", "empty" };
	char img[512], lst[512], want[512], tmp[64], *buf;
	union fm_buf fb, fb2;
	unsigned i;
	int fd, imgfd, good;
	FILE *f;

	tpath(img, sizeof(img), "fiemap.img");
	tpath(lst, sizeof(lst), "fiemap.lst");
	tpath(want, sizeof(want), "fiemap.want");
	if (mkimg(img, "-b 1024", NULL, "128M") != 0 || pmount(img, 0) != 0) {
		skip(9, "mke2fs or mount failed");
		return;
	}
	/* Direct, indirect, double and triple indirect blocks, with holes
	 * in each, written through Pith. */
	buf = malloc(2 << 20);
	fill(buf, 2 << 20);
	fd = pith_sys_open(MNT "/dense", O_CREAT | O_WRONLY, 0644);
	pith_sys_write(fd, buf, 2 << 20);
	pith_sys_close(fd);
	fd = pith_sys_open(MNT "/sparse", O_CREAT | O_WRONLY, 0644);
	pith_sys_pwrite(fd, buf, 3000, 0);
	pith_sys_pwrite(fd, buf, 1024, 5 * 1024);
	pith_sys_pwrite(fd, buf, 11 * 1024, 300 * 1024);
	pith_sys_pwrite(fd, buf, 5000, 70 << 20);
	pith_sys_ftruncate(fd, (80 << 20) + 17);
	/* Dirty, not yet on the image: FIEMAP_FLAG_SYNC puts it there. */
	imgfd = open(img, O_RDONLY);
	ok(fm_get(fd, &fb, 0, FIEMAP_MAX_OFFSET, FM_N, FIEMAP_FLAG_SYNC) == 0 &&
	    fb.fm.fm_mapped_extents == 4 && imgfd >= 0 &&
	    pread(imgfd, tmp, 8, (off_t)fb.fm.fm_extents[3].fe_physical) == 8 &&
	    memcmp(tmp, buf, 8) == 0,
	    "fiemap: FLAG_SYNC on a writable mount puts the data in the image");
	pith_sys_close(fd);
	fd = pith_sys_open(MNT "/small", O_CREAT | O_WRONLY, 0644);
	pith_sys_write(fd, "small", 5);
	pith_sys_close(fd);
	fd = pith_sys_open(MNT "/empty", O_CREAT | O_WRONLY, 0644);
	pith_sys_close(fd);
	pumount();
	free(buf);

	pmount(img, 1);
	good = 1;
	f = fopen(lst, "w");
	for (i = 0; i < sizeof(names) / sizeof(names[0]) && f != NULL; i++) {
		fprintf(f, "%s\n", names[i]);
		good &= fm_check(names[i], imgfd, 1024, f);
	}
	if (f != NULL)
		fclose(f);
	ok(f != NULL && good, "fiemap: extents hold the files' bytes, holes "
	    "read as zeroes, LAST on the last");
	/* debugfs's own map: "(L0-L1):P0-P1" and "(L):P", indirect blocks
	 * ("(IND)" and the like) left out, one block a line. */
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		sh("{ echo %s; " DEBUGFS " -R 'stat /%s' %s 2>/dev/null | "
		    "sed -n '/^BLOCKS:/,/^TOTAL/p' | tr ', ' '\\n\\n' | "
		    "grep '^([0-9]' | tr -d '()' | awk -F: '{ "
		    "split($1, l, \"-\"); split($2, p, \"-\"); "
		    "for (j = 0; j <= (l[2] == \"\" ? 0 : l[2] - l[1]); j++) "
		    "print l[1] + j, p[1] + j }'; } %s %s",
		    names[i], names[i], img, i == 0 ? ">" : ">>", want);
	/* dense: 2048 blocks; sparse: 3 + 1 + 11 + 5. */
	ok(sh("cmp -s %s %s && test $(wc -l < %s) -eq %d", lst, want, want,
	    2048 + 20 + 1 + 4) == 0,
	    "fiemap: the same blocks as debugfs's map");

	fd = pith_sys_open(MNT "/sparse", O_RDONLY);
	ok(fm_get(fd, &fb, 0, FIEMAP_MAX_OFFSET, 0, 0) == 0 &&
	    fb.fm.fm_mapped_extents == 4 &&
	    fm_get(fd, &fb2, 0, FIEMAP_MAX_OFFSET, 1, 0) == 0 &&
	    fb2.fm.fm_mapped_extents == 1 &&
	    !(fb2.fm.fm_extents[0].fe_flags & FIEMAP_EXTENT_LAST),
	    "fiemap: count only; a full array stops without LAST");
	ok(fm_get(fd, &fb, 301 * 1024 + 5, 1, FM_N, 0) == 0 &&
	    fb.fm.fm_mapped_extents == 1 &&
	    fb.fm.fm_extents[0].fe_logical == 301 * 1024 &&
	    !(fb.fm.fm_extents[0].fe_flags & FIEMAP_EXTENT_LAST) &&
	    fm_get(fd, &fb, 71 << 20, FIEMAP_MAX_OFFSET, FM_N, 0) == 0 &&
	    fb.fm.fm_mapped_extents == 0,
	    "fiemap: a range starts at its block; none in the trailing hole");
	errno = 0;
	ok(fm_get(fd, &fb, 0, FIEMAP_MAX_OFFSET, FM_N, 0x40 | 1) < 0 &&
	    errno == EBADR && fb.fm.fm_flags == 0x40,
	    "fiemap: an unknown flag is EBADR and named in fm_flags");
	errno = 0;
	ok(fm_get(fd, &fb, 0, 0, FM_N, 0) < 0 && errno == EINVAL,
	    "fiemap: zero length is EINVAL");
	errno = 0;
	ok(pith_sys_ioctl(fd, 0x5401 /* TCGETS */, tmp) < 0 && errno == ENOTTY,
	    "fiemap: other ioctls on an ext2 file are ENOTTY");
	pith_sys_close(fd);
	pumount();
	fd = pith_sys_open("/fiemap-tmpfs", O_CREAT | O_RDWR, 0644);
	errno = 0;
	ok(fd >= 0 && fm_get(fd, &fb, 0, 1, FM_N, 0) < 0 && errno == ENOTTY,
	    "fiemap: a file system without it says ENOTTY");
	pith_sys_close(fd);
	pith_sys_unlink("/fiemap-tmpfs");
	if (imgfd >= 0)
		close(imgfd);
}

static void
test_busy(void)
{
	char img[512];
	int rc;

	tpath(img, sizeof(img), "busy.img");
	mkimg(img, "", NULL, "4M");
	pith_sys_mkdir("/mnt2", 0755);
	pmount(img, 0);
	errno = 0;
	rc = pith_sys_mount(img, "/mnt2", "ext2", 0, NULL);
	ok(rc < 0 && errno == EBUSY, "second writable mount of one image: EBUSY");
	if (rc == 0)
		pith_sys_umount2("/mnt2", 0);
	pumount();
}

int
main(int argc, char **argv)
{
	int bad;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (pith_init(NULL) != 0)
		bail_out("pith_init: %s", strerror(errno));
	pith_sys_mkdir(MNT, 0755);
	if (argc == 6 && !strcmp(argv[1], "--ops")) {
		verbose = getenv("EXT2_TEST_VERBOSE") != NULL;
		snprintf(tmpdir, sizeof(tmpdir), "/tmp");
		bad = run_ops(argv[2], argv[3], (unsigned)atoi(argv[4]),
		    atoi(argv[5]));
		pith_fini();
		if (bad)
			fprintf(stderr, "ext2_test: %d disagreements\n", bad);
		return bad ? 1 : 0;
	}
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/pith-ext2-XXXXXX");
	if (mkdtemp(tmpdir) == NULL)
		bail_out("mkdtemp: %s", strerror(errno));
	have_tools = access(MKE2FS, X_OK) == 0 && access(E2FSCK, X_OK) == 0 &&
	    access(DEBUGFS, X_OK) == 0;
	if (!have_tools) {
		skip(1, "e2fsprogs (mke2fs, e2fsck, debugfs) not installed");
		pith_fini();
		return done_testing();
	}
	test_variant("", 1);
	test_variant("-b 1024", 2);
	test_variant("-b 2048", 3);
	test_variant("-b 4096", 4);
	test_variant("-I 128", 5);
	test_variant("-I 256", 6);
	test_variant("-O ^dir_index,^resize_inode", 7);
	test_variant("-r 0", 8);
	test_sparse5g();
	test_rev0_limit();
	test_bigdir();
	test_full();
	test_htree();
	test_orphan();
	test_reserved();
	test_ext3();
	test_threads();
	test_xattr();
	test_malformed();
	test_state();
	test_mbr();
	test_gpt();
	test_busy();
	test_stale_cache();
	test_runs();
	test_fiemap();
	pith_fini();
	sh("rm -rf %s", tmpdir);
	return done_testing();
}
