/*
 * mknod and mknodat: the same calls on the host's /dev/shm and on Pith,
 * compared result for result and errno for errno.  In the VM the host's
 * answers are the ones the hosted run recorded (tests/lib/oracle.h), one
 * numbered step per host call.
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
#include "lib/host.h"
#include "lib/oracle.h"

struct res {
	int rv, err;
};

#if PITH_HOSTED
static char hostdir[64];
#endif
static int host_step;

/* The host's next answer, n values in v: hosted, v holds it and it is
 * recorded (if PITH_ORACLE asks); in the VM it is read back into v. */
static void
host_answer(long *v, int n)
{
	char key[32];

	snprintf(key, sizeof(key), "step%d", host_step++);
#if PITH_HOSTED
	oracle_save(key, v, n);
#else
	if (oracle_load(key, v, n) != n)
		bail_out("no recorded Linux answer for %s (PITH_ORACLE)", key);
#endif
}

static struct res
host_mknod(const char *name, mode_t mode, dev_t dev)
{
	long v[2] = { 0, 0 };
	struct res r;

#if PITH_HOSTED
	char p[128];

	snprintf(p, sizeof(p), "%s/%s", hostdir, name);
	errno = 0;
	v[0] = mknod(p, mode, dev);
	v[1] = v[0] < 0 ? errno : 0;
#else
	(void)name;
	(void)mode;
	(void)dev;
#endif
	host_answer(v, 2);
	r.rv = (int)v[0];
	r.err = (int)v[1];
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
	struct stat ps;
	long hs[2] = { 0, 0 };                 /* mode, rdev */
	char p[128];

#if PITH_HOSTED
	struct stat st;

	snprintf(p, sizeof(p), "%s/%s", hostdir, name);
	if (stat(p, &st) == 0) {
		hs[0] = st.st_mode;
		hs[1] = (long)st.st_rdev;
	}
#endif
	host_answer(hs, 2);
	snprintf(p, sizeof(p), "/tmp/%s", name);
	memset(&ps, 0, sizeof(ps));
	pith_sys_stat(p, &ps);
	ok(hs[0] == (long)ps.st_mode && hs[1] == (long)ps.st_rdev,
	    "%s: same mode (%lo/%o) and rdev", name, hs[0], ps.st_mode);
}

int
main(void)
{
	long root = geteuid() == 0;             /* on the host */

#if PITH_HOSTED
	snprintf(hostdir, sizeof(hostdir), "/dev/shm/pith-mknod.XXXXXX");
	if (mkdtemp(hostdir) == NULL)
		bail_out("mkdtemp: %s", strerror(errno));
#endif
	host_answer(&root, 1);
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
#if PITH_HOSTED
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", hostdir);
	if (system(cmd) != 0)
		diag("could not clean %s", hostdir);
#endif
	return done_testing();
}
