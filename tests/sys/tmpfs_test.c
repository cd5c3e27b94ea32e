/*
 * tmpfs through the whole kernel: sparse files, truncation, huge
 * directories and readdir stability, timestamps, statfs, link counts,
 * rename, and running out of space (with size= and with a small kernel
 * memory limit, the latter in a forked child with its own kernel).
 */
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/wait.h>
#include <linux/falloc.h>
#include <pith/pith.h>

#ifndef TMPFS_MAGIC
#define TMPFS_MAGIC 0x01021994
#endif

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

struct lde {
	uint64_t d_ino;
	int64_t d_off;
	unsigned short d_reclen;
	unsigned char d_type;
	char d_name[];
};

static void
test_sparse(void)
{
	const off_t big = 1L << 30;
	char buf[8192];
	struct stat st;
	int fd, i, zero = 1;

	fd = pith_sys_open("/tmp/sparse", O_CREAT | O_RDWR, 0644);
	ok(fd >= 0, "sparse: create");
	ok(pith_sys_pwrite(fd, "hello", 5, big) == 5, "sparse: write at 1 GiB");
	ok(pith_sys_fstat(fd, &st) == 0 && st.st_size == big + 5,
	    "sparse: size 1 GiB + 5");
	ok(st.st_blocks > 0 && st.st_blocks <= 16, "sparse: st_blocks %ld small",
	    (long)st.st_blocks);
	memset(buf, 'x', sizeof(buf));
	ok(pith_sys_pread(fd, buf, sizeof(buf), 12345) == sizeof(buf),
	    "sparse: read a hole");
	for (i = 0; i < (int)sizeof(buf); i++)
		zero &= buf[i] == 0;
	ok(zero, "sparse: holes read as zeros");
	ok(pith_sys_pread(fd, buf, 100, big) == 5 && memcmp(buf, "hello", 5) == 0,
	    "sparse: data back, short read at EOF");
	ok(pith_sys_lseek(fd, 0, SEEK_DATA) == big, "sparse: SEEK_DATA");
	ok(pith_sys_lseek(fd, 0, SEEK_HOLE) == 0, "sparse: SEEK_HOLE at 0");
	ok(pith_sys_lseek(fd, big, SEEK_HOLE) == big + 5,
	    "sparse: SEEK_HOLE at data ends at EOF");
	errno = 0;
	ok(pith_sys_lseek(fd, big + 5, SEEK_DATA) == -1 && errno == ENXIO,
	    "sparse: SEEK_DATA at EOF is ENXIO");
	errno = 0;
	ok(pith_sys_pwrite(fd, "x", 1, INT64_MAX) == -1 && errno == EFBIG,
	    "sparse: write at the maximum offset is EFBIG");
	ok(pith_sys_close(fd) == 0 && pith_sys_unlink("/tmp/sparse") == 0,
	    "sparse: unlink");
}

static void
test_truncate(void)
{
	char buf[10000], rb[10000];
	struct stat st;
	int fd, i, zero = 1;

	memset(buf, 'a', sizeof(buf));
	fd = pith_sys_open("/tmp/trunc", O_CREAT | O_RDWR | O_TRUNC, 0644);
	ok(fd >= 0 && pith_sys_write(fd, buf, sizeof(buf)) == sizeof(buf),
	    "truncate: write 10000");
	ok(pith_sys_ftruncate(fd, 5000) == 0 && pith_sys_fstat(fd, &st) == 0 &&
	    st.st_size == 5000 && st.st_blocks == 16, "truncate: down to 5000");
	ok(pith_sys_ftruncate(fd, 10000) == 0 && pith_sys_fstat(fd, &st) == 0 &&
	    st.st_size == 10000, "truncate: up to 10000");
	ok(pith_sys_pread(fd, rb, sizeof(rb), 0) == sizeof(rb),
	    "truncate: read back");
	for (i = 5000; i < 10000; i++)
		zero &= rb[i] == 0;
	ok(memcmp(rb, buf, 5000) == 0 && zero,
	    "truncate: old data kept, regrown tail zero");
	ok(pith_sys_ftruncate(fd, 0) == 0 && pith_sys_fstat(fd, &st) == 0 &&
	    st.st_size == 0 && st.st_blocks == 0, "truncate: to 0 frees pages");
	ok(pith_sys_fallocate(fd, 0, 0, 100000) == 0 &&
	    pith_sys_fstat(fd, &st) == 0 && st.st_size == 100000 &&
	    st.st_blocks == 200, "fallocate: mode 0 extends and allocates");
	ok(pith_sys_fallocate(fd, FALLOC_FL_KEEP_SIZE, 0, 200000) == 0 &&
	    pith_sys_fstat(fd, &st) == 0 && st.st_size == 100000,
	    "fallocate: KEEP_SIZE keeps the size");
	errno = 0;
	ok(pith_sys_fallocate(fd, FALLOC_FL_COLLAPSE_RANGE, 0, 4096) == -1 &&
	    errno == EOPNOTSUPP, "fallocate: other modes EOPNOTSUPP");
	pith_sys_close(fd);
	pith_sys_unlink("/tmp/trunc");
}

#define NBIG 100000

static void
test_bigdir(void)
{
	static char buf[32768];
	unsigned char *seen = calloc(NBIG, 1);
	char name[64];
	long n, pos;
	int fd, i, dots = 0, dup = 0, bad = 0, missing = 0, fails = 0;

	ok(pith_sys_mkdir("/tmp/big", 0755) == 0, "bigdir: mkdir");
	for (i = 0; i < NBIG; i++) {
		snprintf(name, sizeof(name), "/tmp/big/f%d", i);
		fd = pith_sys_open(name, O_CREAT | O_WRONLY | O_EXCL, 0644);
		if (fd < 0)
			fails++;
		else
			pith_sys_close(fd);
	}
	ok(fails == 0, "bigdir: %d files created", NBIG);
	fd = pith_sys_open("/tmp/big", O_RDONLY | O_DIRECTORY);
	while ((n = pith_sys_getdents64(fd, buf, sizeof(buf))) > 0) {
		for (pos = 0; pos < n; ) {
			struct lde *d = (struct lde *)(buf + pos);

			pos += d->d_reclen;
			if (strcmp(d->d_name, ".") == 0 ||
			    strcmp(d->d_name, "..") == 0) {
				dots++;
				continue;
			}
			i = atoi(d->d_name + 1);
			if (d->d_name[0] != 'f' || i < 0 || i >= NBIG ||
			    d->d_type != DT_REG) {
				bad++;
				continue;
			}
			if (seen[i]++)
				dup++;
		}
	}
	for (i = 0; i < NBIG; i++)
		missing += !seen[i];
	ok(n == 0 && dots == 2 && bad == 0 && dup == 0 && missing == 0,
	    "bigdir: readdir sees each once (dots %d bad %d dup %d missing %d)",
	    dots, bad, dup, missing);
	pith_sys_close(fd);
	for (i = 0, fails = 0; i < NBIG; i++) {
		snprintf(name, sizeof(name), "/tmp/big/f%d", i);
		fails += pith_sys_unlink(name) != 0;
	}
	ok(fails == 0, "bigdir: unlink all");
	ok(pith_sys_rmdir("/tmp/big") == 0, "bigdir: rmdir the emptied dir");
	free(seen);
}

/* rm -rf style: delete what each getdents returned, and other entries
 * too; nothing may come back twice and survivors must all be seen. */
static void
test_readdir_stability(void)
{
	enum { N = 2000 };
	static unsigned char seen[N], gone[N];
	char buf[1024], name[64];
	long n, pos;
	int fd, i, dup = 0, missing = 0, victim = N - 1;

	pith_sys_mkdir("/tmp/st", 0755);
	for (i = 0; i < N; i++) {
		snprintf(name, sizeof(name), "/tmp/st/e%d", i);
		pith_sys_close(pith_sys_open(name, O_CREAT | O_WRONLY, 0644));
	}
	fd = pith_sys_open("/tmp/st", O_RDONLY | O_DIRECTORY);
	while ((n = pith_sys_getdents64(fd, buf, sizeof(buf))) > 0) {
		for (pos = 0; pos < n; ) {
			struct lde *d = (struct lde *)(buf + pos);

			pos += d->d_reclen;
			if (d->d_name[0] != 'e')
				continue;
			i = atoi(d->d_name + 1);
			if (seen[i]++ || gone[i])
				dup++;
			if (i % 2 == 0) {
				snprintf(name, sizeof(name), "/tmp/st/e%d", i);
				pith_sys_unlink(name);
			}
		}
		/* Delete an odd entry from the end, not yet seen. */
		while (victim > 0 && (victim % 2 == 0 || seen[victim]))
			victim--;
		if (victim > 0) {
			snprintf(name, sizeof(name), "/tmp/st/e%d", victim);
			pith_sys_unlink(name);
			gone[victim] = 1;
			victim--;
		}
	}
	for (i = 0; i < N; i++)
		missing += !seen[i] && !gone[i];
	ok(dup == 0 && missing == 0,
	    "readdir while deleting: dup %d missing %d", dup, missing);
	pith_sys_close(fd);
}

static void
test_times(void)
{
	struct timespec ts[2] = { { 1000, 123456789 }, { 2000, 987654321 } };
	struct stat st, st2;
	int fd;

	fd = pith_sys_open("/tmp/times", O_CREAT | O_RDWR, 0644);
	ok(fd >= 0 && pith_sys_fstat(fd, &st) == 0, "times: create");
	ok(st.st_mtim.tv_sec == st.st_ctim.tv_sec &&
	    st.st_mtim.tv_nsec == st.st_ctim.tv_nsec,
	    "times: new file mtime == ctime");
	ok(pith_sys_utimensat(AT_FDCWD, "/tmp/times", ts, 0) == 0 &&
	    pith_sys_fstat(fd, &st) == 0 && st.st_atim.tv_nsec == 123456789 &&
	    st.st_mtim.tv_sec == 2000 && st.st_mtim.tv_nsec == 987654321,
	    "times: utimensat keeps nanoseconds");
	usleep(2000);
	ok(pith_sys_write(fd, "x", 1) == 1 && pith_sys_fstat(fd, &st2) == 0 &&
	    st2.st_mtim.tv_sec > 2000 &&
	    (st2.st_ctim.tv_sec > st.st_ctim.tv_sec ||
	    (st2.st_ctim.tv_sec == st.st_ctim.tv_sec &&
	    st2.st_ctim.tv_nsec > st.st_ctim.tv_nsec)),
	    "times: write updates mtime and ctime");
	pith_sys_close(fd);
	ok(pith_sys_stat("/tmp", &st) == 0 && pith_sys_unlink("/tmp/times") == 0 &&
	    pith_sys_stat("/tmp", &st2) == 0 &&
	    (st2.st_mtim.tv_sec != st.st_mtim.tv_sec ||
	    st2.st_mtim.tv_nsec != st.st_mtim.tv_nsec),
	    "times: unlink updates the directory's mtime");
}

static void
test_statfs(void)
{
	static char mb[1 << 20];
	struct statfs sf, sf2;
	int fd;

	ok(pith_sys_statfs("/tmp", &sf) == 0 && sf.f_type == TMPFS_MAGIC &&
	    sf.f_bsize == 4096 && sf.f_namelen == 255 && sf.f_blocks > 0 &&
	    sf.f_files > 0 && sf.f_ffree > 0, "statfs: tmpfs figures");
	fd = pith_sys_open("/tmp/sf", O_CREAT | O_RDWR, 0644);
	pith_sys_write(fd, mb, sizeof(mb));
	ok(pith_sys_fstatfs(fd, &sf2) == 0 &&
	    sf.f_bfree - sf2.f_bfree == 256 && sf.f_ffree - sf2.f_ffree == 1,
	    "statfs: 1 MiB file takes 256 blocks and an inode");
	pith_sys_close(fd);
	pith_sys_unlink("/tmp/sf");
}

static void
test_links(void)
{
	struct stat st, st2;
	char buf[64];
	int fd;

	pith_sys_mkdir("/tmp/d", 0755);
	ok(pith_sys_stat("/tmp/d", &st) == 0 && st.st_nlink == 2,
	    "links: new dir nlink 2");
	pith_sys_mkdir("/tmp/d/a", 0755);
	pith_sys_mkdir("/tmp/d/b", 0755);
	ok(pith_sys_stat("/tmp/d", &st) == 0 && st.st_nlink == 4,
	    "links: dir nlink 2 + subdirs");
	fd = pith_sys_open("/tmp/d/f", O_CREAT | O_RDWR, 0644);
	pith_sys_write(fd, "data", 4);
	ok(pith_sys_link("/tmp/d/f", "/tmp/d/g") == 0 &&
	    pith_sys_fstat(fd, &st) == 0 && st.st_nlink == 2, "links: link");
	ok(pith_sys_unlink("/tmp/d/f") == 0 && pith_sys_unlink("/tmp/d/g") == 0 &&
	    pith_sys_fstat(fd, &st) == 0 && st.st_nlink == 0 &&
	    pith_sys_pread(fd, buf, 4, 0) == 4 && memcmp(buf, "data", 4) == 0,
	    "links: unlinked open file still readable");
	pith_sys_close(fd);
	ok(pith_sys_symlink("some/where", "/tmp/d/l") == 0 &&
	    pith_sys_readlink("/tmp/d/l", buf, sizeof(buf)) == 10 &&
	    memcmp(buf, "some/where", 10) == 0 &&
	    pith_sys_lstat("/tmp/d/l", &st) == 0 && st.st_size == 10,
	    "links: symlink and readlink");

	/* rename a dir into another: ".." and link counts follow */
	ok(pith_sys_rename("/tmp/d/a", "/tmp/d/b/a") == 0, "rename: dir move");
	ok(pith_sys_stat("/tmp/d", &st) == 0 && st.st_nlink == 3 &&
	    pith_sys_stat("/tmp/d/b", &st) == 0 && st.st_nlink == 3 &&
	    pith_sys_stat("/tmp/d/b/a/..", &st2) == 0 && st2.st_ino == st.st_ino,
	    "rename: nlink and .. fixed");
	pith_sys_mkdir("/tmp/d/c", 0755);
	pith_sys_close(pith_sys_open("/tmp/d/c/x", O_CREAT | O_WRONLY, 0644));
	errno = 0;
	ok(pith_sys_rename("/tmp/d/b", "/tmp/d/c") == -1 && errno == ENOTEMPTY,
	    "rename: over a non-empty dir is ENOTEMPTY");
	pith_sys_unlink("/tmp/d/c/x");
	ok(pith_sys_rename("/tmp/d/b", "/tmp/d/c") == 0 &&
	    pith_sys_stat("/tmp/d", &st) == 0 && st.st_nlink == 3,
	    "rename: over an empty dir");
	pith_sys_close(pith_sys_open("/tmp/d/file", O_CREAT | O_WRONLY, 0644));
	ok(pith_sys_renameat2(AT_FDCWD, "/tmp/d/file", AT_FDCWD, "/tmp/d/c/a",
	    RENAME_EXCHANGE) == 0 && pith_sys_stat("/tmp/d/file", &st) == 0 &&
	    S_ISDIR(st.st_mode) && pith_sys_stat("/tmp/d/c/a", &st) == 0 &&
	    S_ISREG(st.st_mode), "rename: RENAME_EXCHANGE file and dir");
	ok(pith_sys_stat("/tmp/d", &st) == 0 && st.st_nlink == 4 &&
	    pith_sys_stat("/tmp/d/c", &st) == 0 && st.st_nlink == 2 &&
	    pith_sys_stat("/tmp/d/file/..", &st2) == 0 &&
	    pith_sys_stat("/tmp/d", &st) == 0 && st2.st_ino == st.st_ino,
	    "rename: EXCHANGE fixes nlink and ..");
	errno = 0;
	ok(pith_sys_rmdir("/tmp/d") == -1 && errno == ENOTEMPTY,
	    "rmdir: ENOTEMPTY");
}

static void
test_size_limit(void)
{
	static char mb[1 << 20];
	struct statfs sf;
	ssize_t n;
	int fd;

	pith_sys_mkdir("/tmp/small", 0755);
	ok(pith_sys_mount("none", "/tmp/small", "tmpfs", 0, "size=1m,mode=700") == 0,
	    "size=: mount");
	ok(pith_sys_statfs("/tmp/small", &sf) == 0 && sf.f_blocks == 256,
	    "size=: f_blocks 256");
	fd = pith_sys_open("/tmp/small/f", O_CREAT | O_RDWR, 0644);
	n = pith_sys_write(fd, mb, sizeof(mb));
	ok(n == sizeof(mb), "size=: 1 MiB fits");
	errno = 0;
	ok(pith_sys_write(fd, mb, 1) == -1 && errno == ENOSPC,
	    "size=: one byte more is ENOSPC");
	pith_sys_close(fd);
	ok(pith_sys_unlink("/tmp/small/f") == 0 &&
	    (fd = pith_sys_open("/tmp/small/g", O_CREAT | O_RDWR, 0644)) >= 0 &&
	    pith_sys_write(fd, mb, sizeof(mb)) == sizeof(mb),
	    "size=: space back after unlink");
	pith_sys_close(fd);
	errno = 0;
	ok(pith_sys_mount("none", "/tmp", "tmpfs", 0, "bogus=1") == -1 &&
	    errno == EINVAL, "mount: unknown option EINVAL");
	ok(pith_sys_umount2("/tmp/small", 0) == 0, "size=: umount");
}

/* A kernel with little memory: writes fail with ENOSPC, and unlinking
 * gives the space back.  Runs in a child with its own kernel, whose
 * mem_limit is 32 MiB; in the VM (which pith_init cannot configure) the
 * limit is the machine's memory, 128 MiB in metal_systests.t, so the
 * child fills up to twice that. */
#ifdef PITH_METAL
#define FILL_MB 256
#else
#define FILL_MB 64
#endif

static void
test_enospc_child(void)
{
	struct pith_config cfg = { .mem_limit = 32 << 20 };
	static char mb[1 << 20];
	int fd, i, err = 0;
	ssize_t n = 0;

	if (pith_init(&cfg) != 0)
		_exit(10);
	fd = pith_sys_open("/tmp/fill", O_CREAT | O_RDWR, 0644);
	for (i = 0; i < FILL_MB; i++) {
		n = pith_sys_write(fd, mb, sizeof(mb));
		if (n != sizeof(mb)) {
			err = errno;
			break;
		}
	}
	if (i == FILL_MB)
		_exit(11);
	if (n > 0) {
		errno = 0;
		n = pith_sys_write(fd, mb, sizeof(mb));
		err = errno;
	}
	if (n != -1 || err != ENOSPC)
		_exit(12);
	pith_sys_close(fd);
	if (pith_sys_unlink("/tmp/fill") != 0)
		_exit(13);
	fd = pith_sys_open("/tmp/fill2", O_CREAT | O_RDWR, 0644);
	for (i = 0; i < 4; i++)
		if (pith_sys_write(fd, mb, sizeof(mb)) != sizeof(mb))
			_exit(14);
	pith_sys_close(fd);
	pith_sys_unlink("/tmp/fill2");
	pith_fini();
	_exit(0);
}

static void
test_enospc(void)
{
	int status = -1;
	pid_t pid;

	fflush(stdout);
	pid = fork();
	if (pid == 0)
		test_enospc_child();
	waitpid(pid, &status, 0);
	ok(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	    "small mem_limit: ENOSPC, then space back after unlink (status %d)",
	    WIFEXITED(status) ? WEXITSTATUS(status) : -1);
}

int
main(void)
{
	printf("1..55\n");
	fflush(stdout);
#ifndef PITH_METAL
	/* Hosted, before this process has a kernel for the child to copy. */
	test_enospc();
#endif
	if (pith_init(NULL) != 0) {
		printf("Bail out! pith_init: %s\n", strerror(errno));
		return 1;
	}
	test_sparse();
	test_truncate();
	test_bigdir();
	test_readdir_stability();
	test_times();
	test_statfs();
	test_links();
	test_size_limit();
#ifdef PITH_METAL
	/* In the VM the child's kernel is this one, and kmem keeps the pages
	 * of the file it fills for reuse as pages (sys/kern/kmem.c): other
	 * size classes and user memory cannot have them back, so the tests
	 * that need those run first. */
	test_enospc();
#endif
	pith_fini();
	printf("# %d tests\n", ntest);
	return 0;
}
