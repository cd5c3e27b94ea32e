/*
 * mknod and mknodat: the same calls on the host's /dev/shm and on Pith,
 * compared result for result and errno for errno.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <pith/pith.h>

#include "lib/tap.h"

struct res {
	int rv, err;
};

static char hostdir[64];

static struct res
host_mknod(const char *name, mode_t mode, dev_t dev)
{
	char p[128];
	struct res r;

	snprintf(p, sizeof(p), "%s/%s", hostdir, name);
	errno = 0;
	r.rv = mknod(p, mode, dev);
	r.err = r.rv < 0 ? errno : 0;
	return r;
}

static struct res
pith_mknod(const char *name, mode_t mode, dev_t dev)
{
	char p[128];
	struct res r;

	snprintf(p, sizeof(p), "/tmp/%s", name);
	errno = 0;
	r.rv = pith_sys_mknod(p, mode, dev);
	r.err = r.rv < 0 ? errno : 0;
	return r;
}

static void
same(const char *what, const char *name, mode_t mode, dev_t dev)
{
	struct res h = host_mknod(name, mode, dev), p = pith_mknod(name, mode, dev);

	if (!ok(h.rv == p.rv && h.err == p.err, "%s", what))
		diag("host %d (%s), pith %d (%s)", h.rv, strerror(h.err), p.rv,
		    strerror(p.err));
}

static void
same_stat(const char *name)
{
	struct stat hs, ps;
	char p[128];

	snprintf(p, sizeof(p), "%s/%s", hostdir, name);
	stat(p, &hs);
	snprintf(p, sizeof(p), "/tmp/%s", name);
	pith_sys_stat(p, &ps);
	ok(hs.st_mode == ps.st_mode && hs.st_rdev == ps.st_rdev,
	    "%s: same mode (%o/%o) and rdev", name, hs.st_mode, ps.st_mode);
}

int
main(void)
{
	int root = geteuid() == 0;

	snprintf(hostdir, sizeof(hostdir), "/dev/shm/pith-mknod.XXXXXX");
	if (mkdtemp(hostdir) == NULL)
		bail_out("mkdtemp: %s", strerror(errno));
	umask(022);
	plan(12);
	if (pith_init(NULL) != 0)
		bail_out("pith_init: %s", strerror(errno));
	pith_sys_umask(022);

	same("FIFO", "fifo", S_IFIFO | 0666, 0);
	same_stat("fifo");
	same("regular file by mknod", "reg", S_IFREG | 0640, 0);
	same_stat("reg");
	same("type 0 means regular", "reg0", 0640, 0);
	same("name taken: EEXIST", "fifo", S_IFIFO | 0600, 0);
	same("directory: EPERM", "dir", S_IFDIR | 0700, 0);
	same("bad type: EINVAL", "bad", 0170000 | 0600, 0);
	same("missing parent: ENOENT", "nodir/x", S_IFIFO | 0600, 0);
	if (root) {
		same("character device as root", "null", S_IFCHR | 0666,
		    makedev(1, 3));
		same_stat("null");
	} else {
		skip(2, "character devices need root on the host");
	}
	errno = 0;
	ok(pith_sys_mknod("/tmp/big", S_IFCHR | 0600, makedev(1u << 20, 0)) == -1 &&
	    errno == EINVAL, "a dev_t wider than 32 bits: EINVAL (as glibc)");

	pith_fini();
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", hostdir);
	if (system(cmd) != 0)
		diag("could not clean %s", hostdir);
	return done_testing();
}
