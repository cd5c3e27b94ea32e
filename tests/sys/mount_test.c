/*
 * mount(2), umount2(2) and what mounts do to lookup and the namespace
 * calls: crossing mount points both ways, EXDEV, EBUSY for mount points
 * and busy file systems, read-only mounts (EROFS), remounting, statfs,
 * nested mounts.  Pith only: mounting on the host would change it.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <pith/pith.h>
#include "../lib/tap.h"
#include "../lib/host.h"

static void
fails(int r, int err, const char *what)
{
	int e = errno;

	if (!is_int(r, -1, "%s fails", what))
		return;
	is_int(e, err, "... %s errno", what);
}

static void
test_basic(void)
{
	struct stat st, st2, root;
	struct statfs sf;
	char buf[256];
	int fd;

	ok(pith_sys_mkdir("/tmp/m", 0755) == 0, "mkdir /tmp/m");
	ok(pith_sys_stat("/tmp/m", &st) == 0, "stat mount point");
	fd = pith_sys_open("/tmp/file", O_CREAT | O_RDWR, 0644);
	pith_sys_close(fd);
	fails(pith_sys_mount("none", "/tmp/nope", "tmpfs", 0, NULL), ENOENT,
	    "mount on missing");
	fails(pith_sys_mount("none", "/tmp/file", "tmpfs", 0, NULL), ENOTDIR,
	    "mount on file");
	fails(pith_sys_mount("none", "/tmp/m", "nosuchfs", 0, NULL), ENODEV,
	    "unknown fstype");
	ok(pith_sys_mount("none", "/tmp/m", "tmpfs", 0, "size=1m") == 0,
	    "mount tmpfs");
	fails(pith_sys_mount("none", "/tmp/m", "tmpfs", 0, NULL), EBUSY,
	    "mount again on same point");
	ok(pith_sys_stat("/tmp/m", &st2) == 0 && st2.st_dev != st.st_dev,
	    "mount root has another st_dev");
	ok((st2.st_mode & 07777) == 01777, "tmpfs root mode 1777");
	ok(pith_sys_stat("/tmp/m/..", &st2) == 0 &&
	    pith_sys_stat("/tmp", &root) == 0 && st2.st_ino == root.st_ino &&
	    st2.st_dev == root.st_dev, ".. of the mount root is /tmp");
	ok(pith_sys_statfs("/tmp/m", &sf) == 0 && sf.f_type == 0x01021994,
	    "statfs on the mount");
	fd = pith_sys_open("/tmp/m/f", O_CREAT | O_RDWR, 0644);
	ok(fd >= 0, "create inside");
	fails(pith_sys_umount2("/tmp/m", 0), EBUSY, "umount with open file");
	pith_sys_close(fd);
	ok(pith_sys_chdir("/tmp/m") == 0, "chdir into mount");
	ok(pith_sys_getcwd(buf, sizeof(buf)) != NULL &&
	    strcmp(buf, "/tmp/m") == 0, "getcwd crosses mount up: %s", buf);
	ok(pith_sys_stat("..", &st2) == 0 && st2.st_ino == root.st_ino,
	    "stat .. from the mount root");
	fails(pith_sys_umount2("/tmp/m", 0), EBUSY, "umount with cwd inside");
	ok(pith_sys_chdir("/") == 0, "chdir out");
	fails(pith_sys_rename("/tmp/m/f", "/tmp/f"), EXDEV, "rename across");
	fails(pith_sys_link("/tmp/m/f", "/tmp/f"), EXDEV, "link across");
	fails(pith_sys_rmdir("/tmp/m"), EBUSY, "rmdir mount point");
	fails(pith_sys_rename("/tmp/m", "/tmp/m2"), EBUSY,
	    "rename mount point");
	ok(pith_sys_mkdir("/tmp/empty", 0755) == 0, "mkdir /tmp/empty");
	fails(pith_sys_rename("/tmp/empty", "/tmp/m"), EBUSY,
	    "rename onto mount point");
	fails(pith_sys_rmdir("/tmp/m/."), EINVAL, "rmdir mount root/.");
	fails(pith_sys_umount2("/tmp/empty", 0), EINVAL, "umount non-mount");
	fails(pith_sys_umount2("/tmp/m", 0x100), EINVAL, "umount bad flags");
	fails(pith_sys_umount2("/", 0), EBUSY, "umount /");
	ok(pith_sys_umount2("/tmp/m", 0) == 0, "umount");
	fails(pith_sys_stat("/tmp/m/f", &st2), ENOENT, "file gone after umount");
	ok(pith_sys_rmdir("/tmp/m") == 0, "rmdir former mount point");
}

static void
test_rdonly(void)
{
	struct statfs sf;
	struct stat st;
	int fd;

	pith_sys_mkdir("/tmp/ro", 0755);
	ok(pith_sys_mount("none", "/tmp/ro", "tmpfs", 0, NULL) == 0, "mount rw");
	fd = pith_sys_open("/tmp/ro/f", O_CREAT | O_RDWR, 0644);
	ok(fd >= 0, "create while rw");
	pith_sys_close(fd);
	ok(pith_sys_mkdir("/tmp/ro/d", 0755) == 0, "mkdir while rw");
	ok(pith_sys_mount("none", "/tmp/ro", NULL, MS_REMOUNT | MS_RDONLY,
	    NULL) == 0, "remount read-only");
	ok(pith_sys_statfs("/tmp/ro", &sf) == 0 && (sf.f_flags & ST_RDONLY),
	    "statfs says ST_RDONLY");
	fails(pith_sys_open("/tmp/ro/g", O_CREAT | O_RDWR, 0644), EROFS,
	    "create on ro");
	fails(pith_sys_open("/tmp/ro/f", O_WRONLY), EROFS, "open for write");
	fd = pith_sys_open("/tmp/ro/f", O_RDONLY);
	ok(fd >= 0, "open for read");
	pith_sys_close(fd);
	fails(pith_sys_mkdir("/tmp/ro/e", 0755), EROFS, "mkdir");
	fails(pith_sys_mkdir("/tmp/ro/d", 0755), EEXIST, "mkdir existing");
	fails(pith_sys_unlink("/tmp/ro/f"), EROFS, "unlink");
	fails(pith_sys_rmdir("/tmp/ro/d"), EROFS, "rmdir");
	fails(pith_sys_rename("/tmp/ro/f", "/tmp/ro/g"), EROFS, "rename");
	fails(pith_sys_truncate("/tmp/ro/f", 0), EROFS, "truncate");
	fails(pith_sys_chmod("/tmp/ro/f", 0600), EROFS, "chmod");
	fails(pith_sys_symlink("x", "/tmp/ro/l"), EROFS, "symlink");
	fails(pith_sys_access("/tmp/ro/f", W_OK), EROFS, "access W_OK");
	ok(pith_sys_access("/tmp/ro/f", R_OK) == 0, "access R_OK");
	ok(pith_sys_stat("/tmp/ro/f", &st) == 0, "stat works");
	ok(pith_sys_umount2("/tmp/ro", 0) == 0, "umount ro");
	ok(pith_sys_mount("none", "/tmp/ro", "tmpfs", MS_RDONLY, NULL) == 0,
	    "mount MS_RDONLY");
	fails(pith_sys_mkdir("/tmp/ro/x", 0755), EROFS, "mkdir on fresh ro");
	ok(pith_sys_umount2("/tmp/ro", MNT_DETACH) == 0, "umount MNT_DETACH");
}

static void
test_nested(void)
{
	struct stat a, b;
	char buf[256];

	pith_sys_mkdir("/tmp/n", 0755);
	ok(pith_sys_mount("none", "/tmp/n", "tmpfs", 0, NULL) == 0, "mount n");
	ok(pith_sys_mkdir("/tmp/n/sub", 0755) == 0, "mkdir n/sub");
	ok(pith_sys_mount("none", "/tmp/n/sub", "tmpfs", 0, NULL) == 0,
	    "mount n/sub");
	ok(pith_sys_stat("/tmp/n/sub/../sub/..", &a) == 0 &&
	    pith_sys_stat("/tmp/n", &b) == 0 && a.st_ino == b.st_ino &&
	    a.st_dev == b.st_dev, "walk down and up two mounts");
	ok(pith_sys_chdir("/tmp/n/sub") == 0 &&
	    pith_sys_getcwd(buf, sizeof(buf)) != NULL &&
	    strcmp(buf, "/tmp/n/sub") == 0, "getcwd through two mounts");
	pith_sys_chdir("/");
	fails(pith_sys_umount2("/tmp/n", 0), EBUSY, "umount parent first");
	ok(pith_sys_symlink("/tmp/n/sub", "/tmp/lnk") == 0, "symlink to mount");
	fails(pith_sys_umount2("/tmp/lnk", UMOUNT_NOFOLLOW), EINVAL,
	    "umount NOFOLLOW on a symlink");
	ok(pith_sys_umount2("/tmp/lnk", 0) == 0, "umount via symlink");
	ok(pith_sys_umount2("/tmp/n", 0) == 0, "then the parent");
	pith_sys_unlink("/tmp/lnk");
}

int
main(void)
{
#if PITH_HOSTED
	size_t before;
#endif

	if (pith_init(NULL) != 0)
		bail_out("pith_init: %s", strerror(errno));
	test_basic();
	test_rdonly();
	test_nested();
#if PITH_HOSTED
	before = pith_mem_inuse();
#endif
	pith_sys_mkdir("/tmp/leak", 0755);
	for (int i = 0; i < 50; i++) {
		pith_sys_mount("none", "/tmp/leak", "tmpfs", 0, NULL);
		int fd = pith_sys_open("/tmp/leak/x", O_CREAT | O_RDWR, 0644);
		pith_sys_write(fd, "hello", 5);
		pith_sys_close(fd);
		pith_sys_umount2("/tmp/leak", 0);
	}
	pith_sys_rmdir("/tmp/leak");
#if PITH_HOSTED
	ok(pith_mem_inuse() <= before + 65536,
	    "50 mount/umount cycles do not leak (%zu -> %zu)", before,
	    pith_mem_inuse());
#else
	skip(1, "50 mount/umount cycles do not leak: %s", HOST_WHY_MEM);
#endif
	pith_fini();
	host_mem_none("everything freed at pith_fini");
	return done_testing();
}
