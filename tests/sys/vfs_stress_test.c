/*
 * Eight threads create, link, rename (plain and RENAME_EXCHANGE), unlink,
 * mkdir and rmdir in four shared directories for about three seconds.
 * Afterwards the tree is walked and checked: every file's st_nlink equals
 * the number of names it has, every directory's st_nlink is 2 plus its
 * subdirectories, no directory holds a name twice, ".." of each directory
 * is its parent, and the file system's count of inodes in use grew by
 * exactly the inodes found (nothing unlinked was leaked, nothing named
 * was lost).
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <pith/pith.h>
#include "../lib/tap.h"
#include "../lib/host.h"

#define NTHREADS 8
#define NDIRS 4
#define NNAMES 24
#define SECONDS 3

static volatile int stop;
static unsigned long nops[NTHREADS], nfail_unexpected;
static pthread_mutex_t failmtx = PTHREAD_MUTEX_INITIALIZER;
static char failmsg[256];

static void
randpath(unsigned *seed, char *buf, size_t len, char kind)
{
	int d = rand_r(seed) % NDIRS, n = rand_r(seed) % NNAMES;

	/* Sometimes one level down, inside a subdirectory. */
	if (rand_r(seed) % 4 == 0)
		snprintf(buf, len, "/tmp/stress/D%d/s%d/%c%d", d,
		    rand_r(seed) % NNAMES, kind, n);
	else
		snprintf(buf, len, "/tmp/stress/D%d/%c%d", d, kind, n);
}

static void
expect(int r, const char *op, const int *okerrs)
{
	int e = errno;

	if (r >= 0)
		return;
	for (; *okerrs != 0; okerrs++)
		if (*okerrs == e)
			return;
	pthread_mutex_lock(&failmtx);
	nfail_unexpected++;
	snprintf(failmsg, sizeof(failmsg), "%s: errno %d %s", op, e,
	    strerror(e));
	pthread_mutex_unlock(&failmtx);
}

static void *
worker(void *arg)
{
	static const int e_create[] = { ENOENT, EISDIR, ENOTDIR, 0 };
	static const int e_unlink[] = { ENOENT, EISDIR, ENOTDIR, 0 };
	static const int e_link[] = { ENOENT, EEXIST, EPERM, ENOTDIR, 0 };
	static const int e_rename[] = { ENOENT, EISDIR, ENOTDIR, ENOTEMPTY,
		EINVAL, EEXIST, 0 };
	static const int e_mkdir[] = { ENOENT, EEXIST, ENOTDIR, 0 };
	static const int e_rmdir[] = { ENOENT, ENOTEMPTY, ENOTDIR, 0 };
	unsigned idx = (unsigned)(uintptr_t)arg, seed = idx * 7919 + 1;
	char a[128], b[128];
	int fd, op;

	while (!stop) {
		op = rand_r(&seed) % 10;
		randpath(&seed, a, sizeof(a), 'f');
		randpath(&seed, b, sizeof(b), 'f');
		switch (op) {
		case 0:
		case 1:
			fd = pith_sys_open(a, O_CREAT | O_RDWR, 0644);
			expect(fd, "create", e_create);
			if (fd >= 0)
				pith_sys_close(fd);
			break;
		case 2:
			expect(pith_sys_unlink(a), "unlink", e_unlink);
			break;
		case 3:
			expect(pith_sys_link(a, b), "link", e_link);
			break;
		case 4:
		case 5:
			expect(pith_sys_rename(a, b), "rename", e_rename);
			break;
		case 6:
			expect(pith_sys_renameat2(AT_FDCWD, a, AT_FDCWD, b, 2),
			    "exchange", e_rename);
			break;
		case 7:
			snprintf(a, sizeof(a), "/tmp/stress/D%d/s%d",
			    rand_r(&seed) % NDIRS, rand_r(&seed) % NNAMES);
			expect(pith_sys_mkdir(a, 0755), "mkdir", e_mkdir);
			break;
		case 8:
			snprintf(a, sizeof(a), "/tmp/stress/D%d/s%d",
			    rand_r(&seed) % NDIRS, rand_r(&seed) % NNAMES);
			expect(pith_sys_rmdir(a), "rmdir", e_rmdir);
			break;
		case 9:
			snprintf(a, sizeof(a), "/tmp/stress/D%d/s%d",
			    rand_r(&seed) % NDIRS, rand_r(&seed) % NNAMES);
			snprintf(b, sizeof(b), "/tmp/stress/D%d/s%d",
			    rand_r(&seed) % NDIRS, rand_r(&seed) % NNAMES);
			expect(pith_sys_rename(a, b), "rename dir", e_rename);
			break;
		}
		nops[idx]++;
	}
	return NULL;
}

/* --- the check ------------------------------------------------------------- */

struct inode {
	uint64_t ino;
	unsigned long nlink_seen;       /* names found */
	unsigned long st_nlink;
	int isdir;
};

static struct inode *inodes;
static size_t ninodes, capinodes;
static int bad_names, bad_dirlinks, bad_dotdot;

static struct inode *
inode_get(uint64_t ino)
{
	for (size_t i = 0; i < ninodes; i++)
		if (inodes[i].ino == ino)
			return &inodes[i];
	if (ninodes == capinodes) {
		capinodes = capinodes ? capinodes * 2 : 256;
		inodes = realloc(inodes, capinodes * sizeof(*inodes));
	}
	memset(&inodes[ninodes], 0, sizeof(inodes[0]));
	inodes[ninodes].ino = ino;
	return &inodes[ninodes++];
}

struct lde {
	uint64_t d_ino;
	int64_t d_off;
	unsigned short d_reclen;
	unsigned char d_type;
	char d_name[];
};

static void
walk(const char *path, uint64_t parent_ino)
{
	char buf[8192], child[512], names[256][32];
	int nnames = 0, subdirs = 0, fd;
	struct stat st, dst;
	long n;

	if (pith_sys_lstat(path, &dst) != 0)
		return;
	fd = pith_sys_open(path, O_RDONLY | O_DIRECTORY);
	if (fd < 0)
		return;
	while ((n = pith_sys_getdents64(fd, buf, sizeof(buf))) > 0) {
		for (long off = 0; off < n;) {
			struct lde *d = (struct lde *)(buf + off);

			off += d->d_reclen;
			if (strcmp(d->d_name, ".") == 0)
				continue;
			if (strcmp(d->d_name, "..") == 0) {
				if (d->d_ino != parent_ino)
					bad_dotdot++;
				continue;
			}
			for (int i = 0; i < nnames; i++)
				if (strcmp(names[i], d->d_name) == 0)
					bad_names++;
			if (nnames < 256)
				snprintf(names[nnames++], 32, "%s", d->d_name);
			snprintf(child, sizeof(child), "%s/%s", path, d->d_name);
			if (pith_sys_lstat(child, &st) != 0)
				continue;
			struct inode *in = inode_get(st.st_ino);

			in->nlink_seen++;
			in->st_nlink = st.st_nlink;
			if (S_ISDIR(st.st_mode)) {
				in->isdir = 1;
				subdirs++;
				walk(child, dst.st_ino);
			}
		}
	}
	pith_sys_close(fd);
	if (dst.st_nlink != (unsigned long)(2 + subdirs)) {
		bad_dirlinks++;
		diag("%s: nlink %lu, %d subdirs", path,
		    (unsigned long)dst.st_nlink, subdirs);
	}
}

static long
inodes_used(void)
{
	struct statfs sf;

	if (pith_sys_statfs("/tmp", &sf) != 0)
		return -1;
	return (long)(sf.f_files - sf.f_ffree);
}

int
main(void)
{
	pthread_t t[NTHREADS];
	struct stat top, tmp;
	unsigned long total = 0;
	long before, after;
	int badfiles = 0;
	char p[64];

	if (pith_init(NULL) != 0)
		bail_out("pith_init: %s", strerror(errno));
	before = inodes_used();
	ok(pith_sys_mkdir("/tmp/stress", 0755) == 0, "mkdir /tmp/stress");
	for (int i = 0; i < NDIRS; i++) {
		snprintf(p, sizeof(p), "/tmp/stress/D%d", i);
		pith_sys_mkdir(p, 0755);
	}
	for (int i = 0; i < NTHREADS; i++)
		pthread_create(&t[i], NULL, worker, (void *)(uintptr_t)i);
	sleep(SECONDS);
	stop = 1;
	for (int i = 0; i < NTHREADS; i++) {
		pthread_join(t[i], NULL);
		total += nops[i];
	}
	diag("%lu operations", total);
	ok(total > 1000, "threads made progress (%lu ops)", total);
	is_int((long long)nfail_unexpected, 0, "no unexpected errno %s",
	    failmsg);

	pith_sys_stat("/tmp", &tmp);
	pith_sys_stat("/tmp/stress", &top);
	inode_get(top.st_ino)->nlink_seen = 1;
	inode_get(top.st_ino)->isdir = 1;
	walk("/tmp/stress", tmp.st_ino);
	for (size_t i = 0; i < ninodes; i++) {
		if (!inodes[i].isdir &&
		    inodes[i].st_nlink != inodes[i].nlink_seen) {
			badfiles++;
			diag("ino %llu: st_nlink %lu, %lu names",
			    (unsigned long long)inodes[i].ino,
			    inodes[i].st_nlink, inodes[i].nlink_seen);
		}
		if (inodes[i].isdir && inodes[i].nlink_seen != 1)
			badfiles++;
	}
	is_int(badfiles, 0, "every file's st_nlink = its names (%zu inodes)",
	    ninodes);
	is_int(bad_dirlinks, 0, "every directory's nlink = 2 + subdirs");
	is_int(bad_names, 0, "no duplicate names");
	is_int(bad_dotdot, 0, "every .. names the parent");
	after = inodes_used();
	is_int(after - before, (long long)ninodes,
	    "inodes in use grew by exactly the inodes found");
	pith_fini();
	host_mem_none("all memory returned");
	return done_testing();
}
