/*
 * ext4 read-only: images that mke2fs -t ext4 makes, read through the
 * whole kernel (mount, open, getdents64, read, readlink, lstat).
 *
 * Run without arguments it is a TAP test of its own: it builds a small
 * tree and an ext4 image of it (skipping when /usr/sbin/mke2fs is
 * absent), copies the image out and compares with the tree, checks that
 * a read-write mount is refused with EROFS, that the image's bytes do not
 * change, that a corrupted inode checksum reads as EIO and a corrupted
 * superblock checksum refuses the mount.
 *
 * Driver modes for tests/scripts/ext4_oracle.t:
 *	ext4_test.t --copy IMAGE OUTDIR	copy the whole image out
 *	ext4_test.t --rw IMAGE		exit 0 iff a read-write mount is EROFS
 *	ext4_test.t --mount IMAGE	exit 0 iff a read-only mount works
 *	ext4_test.t --cat IMAGE PATH	read PATH; print OK or the error
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
#include <sys/types.h>
#include <pith/pith.h>

#include "lib/tap.h"

#define MKE2FS "/usr/sbin/mke2fs"
#define DEBUGFS "/usr/sbin/debugfs"
#define MNT "/mnt"
#define MS_RDONLY 1
#define MIN(a, b) ((a) < (b) ? (a) : (b))

struct linkmap {
	uint64_t lm_ino;
	char *lm_path;
};

static struct linkmap *links;
static size_t nlinks, maxlinks;
static int copy_errors;
static long long maxread;       /* EXT4_TEST_MAXREAD: bytes per file, fuzzing */

static int
sh(const char *fmt, ...)
{
	char cmd[8192];
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
cerr(const char *what, const char *path)
{
	fprintf(stderr, "ext4_test: %s %s: %s\n", what, path, strerror(errno));
	copy_errors++;
}

static const char *
link_seen(uint64_t ino, const char *out)
{
	size_t i;

	for (i = 0; i < nlinks; i++)
		if (links[i].lm_ino == ino)
			return links[i].lm_path;
	if (nlinks == maxlinks) {
		maxlinks = maxlinks ? 2 * maxlinks : 64;
		links = realloc(links, maxlinks * sizeof(*links));
		if (links == NULL)
			abort();
	}
	links[nlinks].lm_ino = ino;
	links[nlinks].lm_path = strdup(out);
	nlinks++;
	return NULL;
}

static void
copy_file(const char *in, const char *out, const struct stat *st)
{
	static char buf[1 << 16];
	long long total = 0;
	int pfd, hfd;
	ssize_t n;

	pfd = pith_sys_open(in, O_RDONLY);
	if (pfd < 0) {
		cerr("open", in);
		return;
	}
	hfd = open(out, O_CREAT | O_EXCL | O_WRONLY, 0600);
	if (hfd < 0) {
		cerr("create", out);
		pith_sys_close(pfd);
		return;
	}
	while ((n = pith_sys_read(pfd, buf, sizeof(buf))) > 0) {
		/* Keep holes holes: the host tree was sparse too. */
		size_t i = 0;

		total += n;
		if (maxread > 0 && total > maxread)
			break;  /* a corrupted size of terabytes: enough */

		while (i < (size_t)n && buf[i] == 0)
			i++;
		if (i == (size_t)n) {
			if (lseek(hfd, n, SEEK_CUR) < 0)
				cerr("seek", out);
		} else if (write(hfd, buf, (size_t)n) != n) {
			cerr("write", out);
			break;
		}
	}
	if (n < 0)
		cerr("read", in);
	if (ftruncate(hfd, maxread > 0 ? MIN(total, st->st_size) : st->st_size)
	    != 0)
		cerr("truncate", out);
	close(hfd);
	pith_sys_close(pfd);
}

static void copy_tree(const char *in, const char *out);

static void
copy_one(const char *in, const char *out)
{
	struct timespec ts[2];
	struct stat st;
	const char *prev;
	char target[4096];
	ssize_t n;

	if (pith_sys_lstat(in, &st) != 0) {
		cerr("lstat", in);
		return;
	}
	if (!S_ISDIR(st.st_mode) && st.st_nlink > 1 &&
	    (prev = link_seen(st.st_ino, out)) != NULL) {
		if (link(prev, out) != 0)
			cerr("link", out);
		return;
	}
	if (S_ISDIR(st.st_mode)) {
		/* A corrupted image may link a directory twice (a loop):
		 * each directory is copied once. */
		if (link_seen(st.st_ino | (uint64_t)1 << 63, out) != NULL) {
			fprintf(stderr, "ext4_test: %s: directory seen "
			    "before\n", in);
			copy_errors++;
			return;
		}
		if (mkdir(out, 0700) != 0 && errno != EEXIST)
			cerr("mkdir", out);
		copy_tree(in, out);
	} else if (S_ISREG(st.st_mode)) {
		copy_file(in, out, &st);
	} else if (S_ISLNK(st.st_mode)) {
		n = pith_sys_readlink(in, target, sizeof(target) - 1);
		if (n < 0) {
			cerr("readlink", in);
			return;
		}
		target[n] = '\0';
		if (n != st.st_size)
			fprintf(stderr, "ext4_test: %s: readlink %zd bytes, "
			    "size %lld\n", in, n, (long long)st.st_size);
		if (symlink(target, out) != 0)
			cerr("symlink", out);
	} else if (S_ISFIFO(st.st_mode)) {
		if (mkfifo(out, 0600) != 0)
			cerr("mkfifo", out);
	} else {
		return;         /* devices and sockets: not copied */
	}
	if (!S_ISLNK(st.st_mode) && chmod(out, st.st_mode & 07777) != 0)
		cerr("chmod", out);
	ts[0] = st.st_atim;
	ts[1] = st.st_mtim;
	if (utimensat(AT_FDCWD, out, ts, AT_SYMLINK_NOFOLLOW) != 0)
		cerr("utimensat", out);
}

static void
copy_tree(const char *in, const char *out)
{
	char buf[8192], *pin, *pout;
	long n, off;
	int fd;

	fd = pith_sys_open(in, O_RDONLY | O_DIRECTORY);
	if (fd < 0) {
		cerr("opendir", in);
		return;
	}
	while ((n = pith_sys_getdents64(fd, buf, sizeof(buf))) > 0) {
		for (off = 0; off < n;) {
			struct {
				uint64_t d_ino;
				int64_t d_off;
				unsigned short d_reclen;
				unsigned char d_type;
				char d_name[];
			} *d = (void *)(buf + off);

			off += d->d_reclen;
			if (strcmp(d->d_name, ".") == 0 ||
			    strcmp(d->d_name, "..") == 0 ||
			    strcmp(d->d_name, "lost+found") == 0)
				continue;
			if (asprintf(&pin, "%s/%s", in, d->d_name) < 0 ||
			    asprintf(&pout, "%s/%s", out, d->d_name) < 0)
				abort();
			copy_one(pin, pout);
			free(pin);
			free(pout);
		}
	}
	if (n < 0)
		cerr("getdents64", in);
	pith_sys_close(fd);
}

static int
mount_img(const char *img, int ro)
{
	return pith_sys_mount(img, MNT, "ext4", ro ? MS_RDONLY : 0, NULL);
}

/* --- driver modes ---------------------------------------------------------- */

static int
do_copy(const char *img, const char *out)
{
	if (mount_img(img, 1) != 0) {
		fprintf(stderr, "ext4_test: mount %s: %s\n", img,
		    strerror(errno));
		return 2;
	}
	if (mkdir(out, 0755) != 0 && errno != EEXIST) {
		cerr("mkdir", out);
		return 2;
	}
	copy_tree(MNT, out);
	if (pith_sys_umount2(MNT, 0) != 0)
		cerr("umount", MNT);
	return copy_errors ? 1 : 0;
}

static int
do_rw(const char *img)
{
	if (mount_img(img, 0) == 0) {
		pith_sys_umount2(MNT, 0);
		fprintf(stderr, "ext4_test: read-write mount of %s worked\n",
		    img);
		return 1;
	}
	printf("# %s\n", strerror(errno));
	return errno == EROFS ? 0 : 1;
}

static int
do_mount(const char *img)
{
	if (mount_img(img, 1) != 0) {
		printf("# %s\n", strerror(errno));
		return 1;
	}
	pith_sys_umount2(MNT, 0);
	return 0;
}

/* --- self test ------------------------------------------------------------- */

/* Mount img read-only, read all of path: 0 or the errno. */
static int
read_errno(const char *img, const char *path)
{
	char p[4096], buf[65536];
	long n = 0;
	int fd, err = 0;

	if (mount_img(img, 1) != 0)
		return errno;
	snprintf(p, sizeof(p), MNT "/%s", path);
	fd = pith_sys_open(p, O_RDONLY);
	if (fd < 0) {
		err = errno;
	} else {
		while ((n = pith_sys_read(fd, buf, sizeof(buf))) > 0)
			;
		if (n < 0)
			err = errno;
		pith_sys_close(fd);
	}
	pith_sys_umount2(MNT, 0);
	return err;
}

static char tmp[256];

/* Byte offset of inode ino's checksum field in img (via debugfs). */
static long long
inode_offset(const char *img, unsigned ino)
{
	char cmd[1024];
	long long blk = -1, off = -1;
	FILE *f;

	snprintf(cmd, sizeof(cmd), DEBUGFS " -R 'imap <%u>' %s 2>/dev/null",
	    ino, img);
	f = popen(cmd, "r");
	if (f == NULL)
		return -1;
	while (fgets(cmd, sizeof(cmd), f) != NULL) {
		char *p = strstr(cmd, "located at block ");

		if (p != NULL)
			sscanf(p, "located at block %lld, offset 0x%llx", &blk,
			    &off);
	}
	pclose(f);
	if (blk < 0 || off < 0)
		return -1;
	return blk * 4096 + off;
}

static void
selftest(void)
{
	char img[512], tree[512], out[512], bad[512];
	long long ioff;
	unsigned ino = 0;
	struct stat st;
	int rc;

	snprintf(img, sizeof(img), "%s/img", tmp);
	snprintf(tree, sizeof(tree), "%s/tree", tmp);
	snprintf(out, sizeof(out), "%s/out", tmp);
	snprintf(bad, sizeof(bad), "%s/bad", tmp);
	rc = sh("mkdir -p %s/a/b/c && head -c 3000000 /dev/urandom >%s/big && "
	    "echo hi >%s/a/small && truncate -s 20M %s/sparse && "
	    "printf x | dd of=%s/sparse bs=1 seek=9000000 conv=notrunc "
	    "status=none && ln -s small %s/a/link && ln %s/big %s/a/b/hard && "
	    "ln -s $(printf 'x%%.0s' $(seq 1 300)) %s/long && "
	    "for i in $(seq 1 300); do echo $i >%s/a/b/c/f$i; done && "
	    MKE2FS " -q -F -t ext4 -b 4096 -d %s %s 64M >/dev/null 2>&1",
	    tree, tree, tree, tree, tree, tree, tree, tree, tree, tree, tree,
	    img);
	if (!ok(rc == 0, "mke2fs -t ext4 -d"))
		return;
	sh("sha256sum <%s >%s/sum1", img, tmp);
	ok(do_copy(img, out) == 0, "image copied out");
	ok(sh("diff -r --no-dereference %s %s", tree, out) == 0, "copy equals the tree");
	ok(sh("cd %s && find . -printf '%%p %%y %%m %%s %%n %%l\\n' | sort "
	    ">%s/l1 && cd %s && find . -printf '%%p %%y %%m %%s %%n %%l\\n' | "
	    "sort >%s/l2 && cmp -s %s/l1 %s/l2", tree, tmp, out, tmp, tmp,
	    tmp) == 0, "names, types, modes, sizes, links equal");
	ok(do_rw(img) == 0, "read-write mount refused with EROFS");
	sh("sha256sum <%s >%s/sum2", img, tmp);
	ok(sh("cmp -s %s/sum1 %s/sum2", tmp, tmp) == 0, "image unchanged");

	/* A flipped byte in an inode: its checksum fails, EIO. */
	if (stat(tree, &st) == 0 && stat(strcat(strcpy(out, tree), "/big"),
	    &st) == 0) {
		char cmd[1024];
		FILE *f;

		snprintf(cmd, sizeof(cmd), DEBUGFS " -R 'stat /big' %s "
		    "2>/dev/null | sed -n 's/^Inode: \\([0-9]*\\).*/\\1/p'",
		    img);
		f = popen(cmd, "r");
		if (f != NULL) {
			if (fscanf(f, "%u", &ino) != 1)
				ino = 0;
			pclose(f);
		}
	}
	ioff = ino ? inode_offset(img, ino) : -1;
	if (ok(ioff > 0, "found inode of /big (%u)", ino)) {
		sh("cp %s %s && printf '\\x7f' | dd of=%s bs=1 seek=%lld "
		    "conv=notrunc status=none", img, bad, bad, ioff + 0x70);
		is_int(read_errno(bad, "big"), EIO,
		    "corrupted inode checksum: EIO");
		is_int(read_errno(bad, "a/small"), 0, "other files still read");
	} else {
		skip(2, "no inode offset");
	}
	/* A flipped byte in the superblock's volume name. */
	sh("cp %s %s && printf 'Z' | dd of=%s bs=1 seek=%d conv=notrunc "
	    "status=none", img, bad, bad, 1024 + 120);
	ok(do_mount(bad) != 0, "bad superblock checksum refuses the mount");
}

static int
do_cat(const char *img, const char *path)
{
	int err = read_errno(img, path);

	printf("%s\n", err ? strerror(err) : "OK");
	return err ? 1 : 0;
}

int
main(int argc, char **argv)
{
	if (pith_init(NULL) != 0) {
		fprintf(stderr, "pith_init: %s\n", strerror(errno));
		return 2;
	}
	pith_sys_mkdir(MNT, 0755);
	if (getenv("EXT4_TEST_MAXREAD") != NULL)
		maxread = atoll(getenv("EXT4_TEST_MAXREAD"));
	if (argc == 4 && strcmp(argv[1], "--copy") == 0)
		return do_copy(argv[2], argv[3]);
	if (argc == 3 && strcmp(argv[1], "--rw") == 0)
		return do_rw(argv[2]);
	if (argc == 3 && strcmp(argv[1], "--mount") == 0)
		return do_mount(argv[2]);
	if (argc == 4 && strcmp(argv[1], "--cat") == 0)
		return do_cat(argv[2], argv[3]);
	if (access(MKE2FS, X_OK) != 0) {
		plan(1);
		skip(1, "e2fsprogs not installed");
		return 0;
	}
	snprintf(tmp, sizeof(tmp), "/tmp/pith-ext4-XXXXXX");
	if (mkdtemp(tmp) == NULL)
		bail_out("mkdtemp: %s", strerror(errno));
	selftest();
	sh("rm -rf %s", tmp);
	return done_testing();
}
