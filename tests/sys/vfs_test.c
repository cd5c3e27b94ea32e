/*
 * The VFS against the host kernel: path lookup (trailing slashes, "." and
 * "..", symlinks and ELOOP, ENAMETOOLONG, ENOTDIR), open flags, unlink
 * and rmdir rules, truncate, fallocate, utimensat, getcwd and getdents64.
 * Each script runs on /dev/shm and on Pith and every result and errno is
 * compared (see vfs_oracle.h); a few Pith-only checks follow.
 */
#include "vfs_oracle.h"
#include <dirent.h>
#include <stdint.h>
#include <linux/falloc.h>

static void
s_lookup(const struct be *b)
{
	char name[300], path[5000];
	struct stat st;
	int fd;

	R("mkdir d", b->mkdir("d", 0755));
	R("mkdir d/", b->mkdir("d2/", 0755));
	R("mkdir existing", b->mkdir("d", 0755));
	fd = RFD("creat f", b->open("f", O_CREAT | O_WRONLY, 0644));
	R("close", b->close(fd));
	R("open f/", b->open("f/", O_RDONLY));
	R("open f/ creat", b->open("g/", O_CREAT | O_RDWR, 0644));
	R("stat f/", b->stat("f/", &st));
	R("stat d/", b->stat("d/", &st));
	R("stat d/.", b->stat("d/.", &st));
	R("stat d/..", b->stat("d/../d", &st));
	R("stat f/x", b->stat("f/x", &st));
	R("stat nope/x", b->stat("nope/x", &st));
	R("stat empty", b->stat("", &st));
	memset(name, 'a', 256);
	name[256] = 0;
	R("stat long name", b->stat(name, &st));
	R("open long name creat", b->open(name, O_CREAT | O_RDWR, 0644));
	name[255] = 0;
	fd = RFD("open 255 name", b->open(name, O_CREAT | O_RDWR, 0644));
	R("close", b->close(fd));
	R("unlink 255", b->unlink(name));
	memset(path, 0, sizeof(path));
	for (int i = 0; i < 4095; i += 2)
		memcpy(path + i, "./", 2);
	R("path 4096", b->stat(path, &st));
	path[4094] = 0;
	R("path 4094", b->stat(path, &st));
	R("symlink l->f", b->symlink("f", "l"));
	R("symlink ld->d", b->symlink("d", "ld"));
	R("symlink dangling", b->symlink("nowhere", "dang"));
	R("symlink loop1", b->symlink("loop2", "loop1"));
	R("symlink loop2", b->symlink("loop1", "loop2"));
	R("symlink existing", b->symlink("x", "f"));
	R("stat l", b->stat("l", &st));
	R("lstat l", b->lstat("l", &st));
	V("lstat l mode", st.st_mode & S_IFMT);
	R("stat loop", b->stat("loop1", &st));
	R("stat dang", b->stat("dang", &st));
	R("lstat dang", b->lstat("dang", &st));
	R("stat ld/", b->stat("ld/", &st));
	R("lstat ld/", b->lstat("ld/", &st));
	V("lstat ld/ mode", st.st_mode & S_IFMT);
	R("lstat l/", b->lstat("l/", &st));
	R("open l O_NOFOLLOW", b->open("l", O_RDONLY | O_NOFOLLOW));
	fd = RFD("open l O_PATH|O_NOFOLLOW", b->open("l", O_PATH | O_NOFOLLOW));
	R("close", b->close(fd));
	R("open dang O_CREAT|O_EXCL", b->open("dang", O_CREAT | O_EXCL | O_RDWR, 0600));
	fd = RFD("open dang O_CREAT", b->open("dang", O_CREAT | O_RDWR, 0600));
	R("close", b->close(fd));
	R("stat nowhere", b->stat("nowhere", &st));
	R("symlink chain", b->symlink("ld/../f", "chain"));
	R("stat chain", b->stat("chain", &st));
	R("readlink chain", b->readlink("chain", path, sizeof(path)));
	R("readlink f", b->readlink("f", path, sizeof(path)));
	R("readlink 2", b->readlink("chain", path, 2));
	R("mkdir via ld/sub", b->mkdir("ld/sub", 0700));
	R("stat d/sub", b->stat("d/sub", &st));
	R("chdir ld", b->chdir("ld"));
	R("stat ../f", b->stat("../f", &st));
	R("chdir ..", b->chdir(".."));
	R("chdir f", b->chdir("f"));
	R("chdir nope", b->chdir("nope"));
	/* 40 links are fine, 41 are ELOOP. */
	R("symlink s0", b->symlink("f", "s0"));
	for (int i = 1; i <= 41; i++) {
		char t[16], l[16];

		snprintf(t, sizeof(t), "s%d", i - 1);
		snprintf(l, sizeof(l), "s%d", i);
		b->symlink(t, l);
	}
	R("stat s39", b->stat("s39", &st));
	R("stat s40", b->stat("s40", &st));
	R("stat s41", b->stat("s41", &st));
}

static void
s_open(const struct be *b)
{
	char buf[64];
	int fd, fd2;

	R("mkdir d", b->mkdir("d", 0755));
	R("open d O_WRONLY", b->open("d", O_WRONLY));
	R("open d O_RDWR", b->open("d", O_RDWR));
	R("open d O_RDONLY|O_TRUNC", b->open("d", O_RDONLY | O_TRUNC));
	R("open d O_CREAT", b->open("d", O_CREAT | O_RDONLY, 0644));
	fd = RFD("open d", b->open("d", O_RDONLY));
	R("read dir", b->read(fd, buf, sizeof(buf)));
	R("close", b->close(fd));
	R("open missing", b->open("m", O_RDONLY));
	fd = RFD("creat f", b->open("f", O_CREAT | O_EXCL | O_RDWR, 0644));
	R("write", b->write(fd, "hello world", 11));
	R("lseek end", b->lseek(fd, 0, SEEK_END));
	R("lseek -1", b->lseek(fd, -100, SEEK_CUR));
	R("lseek bad whence", b->lseek(fd, 0, 17));
	R("lseek data", b->lseek(fd, 3, SEEK_DATA));
	R("lseek hole", b->lseek(fd, 3, SEEK_HOLE));
	R("lseek data past", b->lseek(fd, 30, SEEK_DATA));
	R("close", b->close(fd));
	R("creat excl again", b->open("f", O_CREAT | O_EXCL | O_RDWR, 0644));
	R("O_DIRECTORY on file", b->open("f", O_RDONLY | O_DIRECTORY));
	fd = RFD("O_DIRECTORY on dir", b->open("d", O_RDONLY | O_DIRECTORY));
	R("close", b->close(fd));
	fd = RFD("open O_RDONLY", b->open("f", O_RDONLY));
	R("write on rdonly", b->write(fd, "x", 1));
	R("ftruncate rdonly", b->ftruncate(fd, 0));
	R("fallocate rdonly", b->fallocate(fd, 0, 0, 10));
	R("close", b->close(fd));
	fd = RFD("open O_WRONLY", b->open("f", O_WRONLY));
	R("read on wronly", b->read(fd, buf, 4));
	R("fallocate 0", b->fallocate(fd, 0, 0, 100));
	R("fallocate keep", b->fallocate(fd, FALLOC_FL_KEEP_SIZE, 0, 8192));
	R("fallocate punch", b->fallocate(fd, FALLOC_FL_PUNCH_HOLE, 0, 10));
	R("fallocate bad len", b->fallocate(fd, 0, 0, 0));
	R("fallocate neg off", b->fallocate(fd, 0, -1, 10));
	R("ftruncate neg", b->ftruncate(fd, -1));
	R("ftruncate 5", b->ftruncate(fd, 5));
	R("fsync", b->fsync(fd));
	R("close", b->close(fd));
	fd = RFD("open O_APPEND", b->open("f", O_WRONLY | O_APPEND));
	R("append write", b->write(fd, "abc", 3));
	R("close", b->close(fd));
	fd = RFD("reopen", b->open("f", O_RDONLY));
	memset(buf, 0, sizeof(buf));
	R("read all", b->read(fd, buf, sizeof(buf)));
	V("content", strcmp(buf, "helloabc") == 0);
	R("close", b->close(fd));
	fd = RFD("O_TRUNC", b->open("f", O_RDWR | O_TRUNC));
	R("read truncated", b->read(fd, buf, sizeof(buf)));
	R("close", b->close(fd));
	fd = RFD("O_PATH", b->open("f", O_PATH));
	R("read O_PATH", b->read(fd, buf, 1));
	R("write O_PATH", b->write(fd, buf, 1));
	R("fchdir O_PATH file", b->fchdir(fd));
	R("close", b->close(fd));
	fd = RFD("O_PATH dir", b->open("d", O_PATH | O_DIRECTORY));
	fd2 = RFD("openat via O_PATH", b->openat(fd, "x", O_CREAT | O_RDWR, 0600));
	R("close", b->close(fd2));
	R("close", b->close(fd));
	R("truncate dir", b->truncate("d", 0));
	R("truncate neg", b->truncate("f", -1));
	R("truncate ok", b->truncate("f", 100));
	R("truncate missing", b->truncate("zz", 1));
	fd = RFD("openat f as dirfd", b->open("f", O_RDONLY));
	R("openat through file", b->openat(fd, "x", O_RDONLY));
	R("openat abs ignores dirfd", b->openat(fd, "/", O_RDONLY) >= 0 ?
	    0 : -1);
	R("close", b->close(fd));
	R("openat bad fd", b->openat(1234, "x", O_RDONLY));
	fd = RFD("open acc 3", b->open("f", 3));
	R("read acc 3", b->read(fd, buf, 1));
	R("write acc 3", b->write(fd, buf, 1));
	R("close", b->close(fd));
}

static void
s_remove(const struct be *b)
{
	struct stat st;
	int fd;

	R("mkdir d", b->mkdir("d", 0755));
	R("mkdir d/e", b->mkdir("d/e", 0755));
	fd = RFD("creat f", b->open("f", O_CREAT | O_RDWR, 0644));
	R("close", b->close(fd));
	R("unlink dir", b->unlink("d"));
	R("unlink f/", b->unlink("f/"));
	R("unlink d/", b->unlink("d/"));
	R("unlink .", b->unlink("."));
	R("unlink d/..", b->unlink("d/.."));
	R("unlink missing", b->unlink("nope"));
	R("unlinkat bad flag", b->unlinkat(AT_FDCWD, "f", 0x1));
	R("rmdir file", b->rmdir("f"));
	R("rmdir nonempty", b->rmdir("d"));
	R("rmdir .", b->rmdir("d/e/."));
	R("rmdir ..", b->rmdir("d/e/.."));
	R("rmdir missing", b->rmdir("nope"));
	R("rmdir d/e/", b->rmdir("d/e/"));
	R("symlink l->d", b->symlink("d", "l"));
	R("rmdir l/", b->rmdir("l/"));
	R("rmdir l", b->rmdir("l"));
	R("unlink l/", b->unlink("l/"));
	R("unlink l", b->unlink("l"));
	R("unlinkat REMOVEDIR", b->unlinkat(AT_FDCWD, "d", AT_REMOVEDIR));
	R("stat d", b->stat("d", &st));
	R("unlink f", b->unlink("f"));
	R("mkdir a", b->mkdir("a", 0755));
	R("chdir a", b->chdir("a"));
	R("rmdir ../a", b->rmdir("../a"));
	R("stat .", b->stat(".", &st));
	V("nlink of removed cwd", st.st_nlink);
	R("creat in removed", b->open("x", O_CREAT | O_RDWR, 0644));
	R("mkdir in removed", b->mkdir("x", 0755));
	{
		char buf[256];

		R("getcwd removed", b->getcwd(buf, sizeof(buf)) ? 0 : -1);
	}
	/* Linux also lets ".." out of a removed directory; Pith's tmpfs
	 * forgets a removed directory's parent, so leave by a full path. */
	R("fchdir out", 0);
}

static void
s_link(const struct be *b)
{
	struct stat st;
	int fd;

	R("mkdir d", b->mkdir("d", 0755));
	fd = RFD("creat f", b->open("f", O_CREAT | O_RDWR, 0644));
	R("close", b->close(fd));
	R("link f g", b->link("f", "g"));
	R("stat f", b->stat("f", &st));
	V("nlink 2", st.st_nlink);
	R("link existing", b->link("f", "g"));
	R("link dir", b->link("d", "d2"));
	R("link missing", b->link("nope", "x"));
	R("link to f/", b->link("f", "h/"));
	R("link into missing dir", b->link("f", "nope/x"));
	R("symlink s->f", b->symlink("f", "s"));
	R("link s (nofollow)", b->link("s", "s2"));
	R("lstat s2", b->lstat("s2", &st));
	V("s2 is link", S_ISLNK(st.st_mode));
	R("linkat follow", b->linkat(AT_FDCWD, "s", AT_FDCWD, "s3",
	    AT_SYMLINK_FOLLOW));
	R("lstat s3", b->lstat("s3", &st));
	V("s3 is reg", S_ISREG(st.st_mode));
	V("nlink 3", st.st_nlink);
	R("linkat bad flags", b->linkat(AT_FDCWD, "s", AT_FDCWD, "s4", 0x8000));
	R("unlink g", b->unlink("g"));
	R("stat f", b->stat("f", &st));
	V("nlink 2 again", st.st_nlink);
}

static void
s_times(const struct be *b)
{
	struct timespec ts[2];
	struct stat st;
	int fd;

	fd = RFD("creat f", b->open("f", O_CREAT | O_RDWR, 0644));
	ts[0].tv_sec = 1000;
	ts[0].tv_nsec = 5;
	ts[1].tv_sec = 2000;
	ts[1].tv_nsec = 7;
	R("utimensat set", b->utimensat(AT_FDCWD, "f", ts, 0));
	R("stat", b->stat("f", &st));
	V("atime", st.st_atim.tv_sec * 10 + st.st_atim.tv_nsec);
	V("mtime", st.st_mtim.tv_sec * 10 + st.st_mtim.tv_nsec);
	ts[0].tv_nsec = UTIME_OMIT;
	ts[1].tv_sec = 3000;
	ts[1].tv_nsec = 0;
	R("utimensat omit", b->utimensat(AT_FDCWD, "f", ts, 0));
	R("stat", b->stat("f", &st));
	V("atime kept", st.st_atim.tv_sec);
	V("mtime 3000", st.st_mtim.tv_sec);
	ts[0].tv_nsec = 1000000000;
	R("bad nsec", b->utimensat(AT_FDCWD, "f", ts, 0));
	ts[0].tv_nsec = -1;
	R("neg nsec", b->utimensat(AT_FDCWD, "f", ts, 0));
	R("bad flags", b->utimensat(AT_FDCWD, "f", NULL, 0x4));
	R("NULL times", b->utimensat(AT_FDCWD, "f", NULL, 0));
	R("stat", b->stat("f", &st));
	V("mtime now", st.st_mtim.tv_sec > 3000);
	R("symlink", b->symlink("f", "l"));
	ts[0].tv_sec = ts[1].tv_sec = 42;
	ts[0].tv_nsec = ts[1].tv_nsec = 0;
	R("utimensat nofollow", b->utimensat(AT_FDCWD, "l", ts,
	    AT_SYMLINK_NOFOLLOW));
	R("lstat l", b->lstat("l", &st));
	V("link mtime 42", st.st_mtim.tv_sec);
	R("stat f", b->stat("f", &st));
	V("file mtime not 42", st.st_mtim.tv_sec != 42);
	R("close", b->close(fd));
	R("utimensat missing", b->utimensat(AT_FDCWD, "nope", NULL, 0));
}

static void
s_getcwd(const struct be *b)
{
	char buf[4096], *p;

	R("mkdir a", b->mkdir("a", 0755));
	R("mkdir a/bb", b->mkdir("a/bb", 0755));
	R("chdir a/bb", b->chdir("a/bb"));
	p = b->getcwd(buf, sizeof(buf));
	V("getcwd", p != NULL);
	V("suffix", p != NULL && strlen(p) > 5 &&
	    strcmp(p + strlen(p) - 5, "/a/bb") == 0);
	V("small buf", b->getcwd(buf, 3) == NULL ? -errno : 0);
	R("chdir ../..", b->chdir("../.."));
}

/* Pith-only checks: getdents64, getcwd at /, statx, statfs. */
static void
pith_only(void)
{
	char buf[4096], names[8] = { 0 };
	struct statx sx;
	struct statfs sf;
	struct stat st;
	long n, off;
	int fd, i;

	ok(pith_sys_getcwd(buf, sizeof(buf)) != NULL && strcmp(buf, "/") == 0,
	    "getcwd at / is /");
	ok(pith_sys_mkdir("/tmp/gd", 0755) == 0, "mkdir /tmp/gd");
	for (i = 0; i < 5; i++) {
		snprintf(buf, sizeof(buf), "/tmp/gd/%c", 'a' + i);
		fd = pith_sys_open(buf, O_CREAT | O_RDWR, 0644);
		pith_sys_close(fd);
	}
	fd = pith_sys_open("/tmp/gd", O_RDONLY | O_DIRECTORY);
	ok(fd >= 0, "open dir");
	is_int(pith_sys_getdents64(fd, buf, 10), -1, "getdents64 tiny buffer");
	is_int(errno, EINVAL, "... EINVAL");
	n = pith_sys_getdents64(fd, buf, sizeof(buf));
	ok(n > 0, "getdents64 reads");
	for (off = 0; off < n;) {
		struct { uint64_t ino; int64_t off; unsigned short reclen;
			unsigned char type; char name[]; } *d = (void *)(buf + off);

		if (d->name[1] == 0 && d->name[0] >= 'a' && d->name[0] < 'f')
			names[d->name[0] - 'a'] = 1;
		off += d->reclen;
	}
	ok(names[0] && names[1] && names[2] && names[3] && names[4],
	    "all five names seen");
	is_int(pith_sys_getdents64(fd, buf, sizeof(buf)), 0, "then EOF");
	ok(pith_sys_lseek(fd, 0, SEEK_SET) == 0, "rewind");
	ok(pith_sys_getdents64(fd, buf, sizeof(buf)) == n, "same again");
	pith_sys_close(fd);
	fd = pith_sys_open("/tmp/gd/a", O_RDONLY);
	is_int(pith_sys_getdents64(fd, buf, sizeof(buf)), -1, "getdents on file");
	is_int(errno, ENOTDIR, "... ENOTDIR");
	pith_sys_close(fd);

	ok(pith_sys_statx(AT_FDCWD, "/tmp/gd/a", 0, STATX_BASIC_STATS, &sx) == 0,
	    "statx");
	ok((sx.stx_mask & STATX_BASIC_STATS) == STATX_BASIC_STATS, "statx mask");
	ok(pith_sys_stat("/tmp/gd/a", &st) == 0 && st.st_ino == sx.stx_ino &&
	    sx.stx_size == 0 && (sx.stx_mode & S_IFMT) == S_IFREG, "statx = stat");
	is_int(pith_sys_statx(AT_FDCWD, "/tmp/gd/a", 0, 0x80000000u, &sx), -1,
	    "statx reserved mask");
	is_int(errno, EINVAL, "... EINVAL");
	is_int(pith_sys_statx(AT_FDCWD, "/tmp/gd/a", 0x6000, 0, &sx), -1,
	    "statx both sync flags");
	is_int(errno, EINVAL, "... EINVAL");
	fd = pith_sys_open("/tmp/gd/a", O_RDONLY);
	ok(pith_sys_statx(fd, "", AT_EMPTY_PATH, STATX_BASIC_STATS, &sx) == 0 &&
	    sx.stx_ino == st.st_ino, "statx AT_EMPTY_PATH");
	ok(pith_sys_utimensat(fd, NULL, NULL, 0) == 0,
	    "utimensat(fd, NULL) is futimens");
	pith_sys_close(fd);
	ok(pith_sys_statfs("/tmp", &sf) == 0 && sf.f_type == 0x01021994,
	    "statfs tmpfs");
	ok(sf.f_flags & 0x20, "statfs ST_VALID");
	ok(pith_sys_stat("/dev/null", &st) == 0 && S_ISCHR(st.st_mode),
	    "/dev/null is a char device");
	fd = pith_sys_open("/dev/null", O_RDWR);
	ok(fd >= 0 && pith_sys_write(fd, "x", 1) == 1, "write /dev/null");
	pith_sys_close(fd);
	ok(pith_sys_stat("/tmp", &st) == 0 && (st.st_mode & 07777) == 01777,
	    "/tmp is 1777");
}

int
main(void)
{
	if (pith_init(NULL) != 0)
		bail_out("pith_init: %s", strerror(errno));
	umask(022);
	pith_sys_umask(022);
	or_compare("lookup", s_lookup);
	or_compare("open", s_open);
	or_compare("remove", s_remove);
	or_compare("link", s_link);
	or_compare("times", s_times);
	or_compare("getcwd", s_getcwd);
	pith_only();
	pith_fini();
	return done_testing();
}
