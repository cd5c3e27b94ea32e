/*
 * pith mount: serve an image to the host through FUSE (libfuse3's
 * high-level, path-based API), with Pith's own driver in this process.
 *
 * Each FUSE request becomes the matching system call on the in-process
 * kernel, with the image mounted at /img0: the kernel does the work and
 * the locking, so the multithreaded loop simply lets requests run in
 * parallel (threads that never chose a process run as pid 1, root).  The
 * host kernel checks permissions (default_permissions) against the
 * attributes we report -- except on a mount only root can enter, where
 * the checks could only pass (fz_rootonly); new files are given the
 * caller's uid and gid, and the caller's umask is applied by the host
 * (our own kernel's umask is 0).
 *
 * Background mode: the process forks before the kernel boots (threads do
 * not survive fork), the child boots, mounts the image and the FUSE file
 * system, and only then tells the waiting parent, which exits 0 -- or 1
 * with the child's message if anything failed.  When `fusermount3 -u`
 * unmounts, the loop ends and the child unmounts the image (writing back
 * every buffer and the superblock, fdatasync) before it exits; its lock on
 * the image is held until then, so `pith df IMG` succeeds exactly when the
 * image is complete.
 */
#define FUSE_USE_VERSION 31

#include <errno.h>
#include <fcntl.h>
#include <fuse.h>
#include <getopt.h>
#include <signal.h>
#include <linux/fiemap.h>
#include <linux/fs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <pith/pith.h>

#include "pith_tool.h"

static const char *fz_mnt;	/* the image's mount point in the kernel */

/*
 * Read-only mounts where the host supports it answer OPEN with ENOSYS,
 * and the host then stops asking: no OPEN and RELEASE round trips per
 * file, and fi->fh is never ours (reads open by path).  Set once in
 * fz_init, before any request; read-only afterwards.
 */
static bool fz_rdonly, fz_noopen;

/*
 * A host descriptor on the image (image_hostfd: read-only whole-disk
 * images only), from which reads take a file's blocks where FIEMAP says
 * they lie; -1 when reads go through the kernel.  Set before the loop.
 */
static int fz_hostfd = -1;

/* Kernel path for a FUSE path; fails with ENAMETOOLONG. */
#define KPATH(var, path)						\
	char var[PATH_MAX];						\
	if (snprintf(var, sizeof(var), "%s%s", fz_mnt, (path)) >=	\
	    (int)sizeof(var))						\
		return -ENAMETOOLONG

static int
neg(int r)
{
	return r < 0 ? -errno : r;
}

/* Hand a new file to the user who made it. */
static int
fz_own(const char *kp)
{
	struct fuse_context *ctx = fuse_get_context();

	if (ctx->uid == 0 && ctx->gid == 0)
		return 0;
	return neg(pith_sys_lchown(kp, ctx->uid, ctx->gid));
}

/*
 * Nothing but this mount changes the image while it is mounted (the
 * image is locked against other writers, and the kernel is this
 * process's own), so the host kernel may keep names, attributes and file
 * pages for as long as it likes, and gather small writes in its page
 * cache: every change still comes through here.  Large requests (1 MiB
 * where the host allows) cut the number of round trips of a big copy.
 */
#define FZ_CACHE_SECONDS 3600.0
#define FZ_MAX_IO (1u << 20)

static void *
fz_init(struct fuse_conn_info *conn, struct fuse_config *cfg)
{
	cfg->use_ino = 1;
	cfg->hard_remove = 1;	/* open-unlinked files live in the kernel */
	cfg->entry_timeout = FZ_CACHE_SECONDS;
	cfg->attr_timeout = FZ_CACHE_SECONDS;
	cfg->negative_timeout = FZ_CACHE_SECONDS;
	cfg->kernel_cache = 1;
	conn->max_write = FZ_MAX_IO;
	conn->max_read = FZ_MAX_IO;
	conn->max_readahead = FZ_MAX_IO;
	/*
	 * No write-back cache: with it the host gathers pages and writes
	 * them later in page-sized pieces, and a cp of many small files
	 * measured slower than plain 1 MiB writes straight through.
	 */
	conn->want &= ~FUSE_CAP_WRITEBACK_CACHE;
	/* Entries come with their attributes: no LOOKUP per name. */
	if (conn->capable & FUSE_CAP_READDIRPLUS)
		conn->want |= FUSE_CAP_READDIRPLUS;
	conn->want &= ~FUSE_CAP_READDIRPLUS_AUTO;
	fz_noopen = fz_rdonly && (conn->capable & FUSE_CAP_NO_OPEN_SUPPORT);
	/*
	 * Mapped reads hand libfuse pieces of the image file: spliced into
	 * the reply, they skip the copy into a buffer of ours.
	 */
	if (fz_hostfd >= 0 && (conn->capable & FUSE_CAP_SPLICE_WRITE))
		conn->want |= FUSE_CAP_SPLICE_WRITE;
	return NULL;
}

/*
 * Attributes as the host should see them: a large st_blksize makes cp
 * and friends move 1 MiB per read or write (one round trip each) instead
 * of the file system's block size.
 */
static void
fz_fixattr(struct stat *st)
{
	st->st_blksize = FZ_MAX_IO;
}

static int
fz_getattr(const char *path, struct stat *st, struct fuse_file_info *fi)
{
	int r;

	KPATH(kp, path);
	if (fi != NULL && !fz_noopen)
		r = neg(pith_sys_fstatat((int)fi->fh, "", st, AT_EMPTY_PATH));
	else
		r = neg(pith_sys_lstat(kp, st));
	if (r == 0)
		fz_fixattr(st);
	return r;
}

static int
fz_readlink(const char *path, char *buf, size_t size)
{
	ssize_t n;

	KPATH(kp, path);
	if (size == 0)
		return -EINVAL;
	n = pith_sys_readlink(kp, buf, size - 1);
	if (n < 0)
		return -errno;
	buf[n] = '\0';
	return 0;
}

static int
fz_mknod(const char *path, mode_t mode, dev_t rdev)
{
	long r;
	int fd;

	KPATH(kp, path);
	if (S_ISREG(mode)) {
		fd = pith_sys_open(kp, O_CREAT | O_EXCL | O_WRONLY, mode);
		if (fd < 0)
			return -errno;
		pith_sys_close(fd);
	} else {
		r = pith_syscall(SYS_mknodat, (long)AT_FDCWD, (long)kp,
		    (long)mode, (long)rdev);
		if (r < 0)
			return (int)r;
	}
	return fz_own(kp);
}

static int
fz_mkdir(const char *path, mode_t mode)
{
	KPATH(kp, path);
	if (pith_sys_mkdir(kp, mode) != 0)
		return -errno;
	return fz_own(kp);
}

static int
fz_unlink(const char *path)
{
	KPATH(kp, path);
	return neg(pith_sys_unlink(kp));
}

static int
fz_rmdir(const char *path)
{
	KPATH(kp, path);
	return neg(pith_sys_rmdir(kp));
}

static int
fz_symlink(const char *target, const char *path)
{
	KPATH(kp, path);
	if (pith_sys_symlink(target, kp) != 0)
		return -errno;
	return fz_own(kp);
}

static int
fz_rename(const char *from, const char *to, unsigned int flags)
{
	KPATH(kf, from);
	KPATH(kt, to);
	return neg(pith_sys_renameat2(AT_FDCWD, kf, AT_FDCWD, kt, flags));
}

static int
fz_link(const char *from, const char *to)
{
	KPATH(kf, from);
	KPATH(kt, to);
	return neg(pith_sys_link(kf, kt));
}

static int
fz_chmod(const char *path, mode_t mode, struct fuse_file_info *fi)
{
	KPATH(kp, path);
	if (fi != NULL)
		return neg(pith_sys_fchmod((int)fi->fh, mode));
	return neg(pith_sys_chmod(kp, mode));
}

static int
fz_chown(const char *path, uid_t uid, gid_t gid, struct fuse_file_info *fi)
{
	KPATH(kp, path);
	if (fi != NULL)
		return neg(pith_sys_fchown((int)fi->fh, uid, gid));
	return neg(pith_sys_lchown(kp, uid, gid));
}

static int
fz_truncate(const char *path, off_t size, struct fuse_file_info *fi)
{
	KPATH(kp, path);
	if (fi != NULL)
		return neg(pith_sys_ftruncate((int)fi->fh, size));
	return neg(pith_sys_truncate(kp, size));
}

static int
fz_open(const char *path, struct fuse_file_info *fi)
{
	int fd;

	KPATH(kp, path);
	if (fz_noopen)
		return -ENOSYS;		/* the host stops sending OPEN */
	fd = pith_sys_open(kp, fi->flags & ~(O_CREAT | O_EXCL | O_NOCTTY));
	if (fd < 0)
		return -errno;
	fi->fh = (uint64_t)fd;
	return 0;
}

static int
fz_create(const char *path, mode_t mode, struct fuse_file_info *fi)
{
	int fd, r;

	KPATH(kp, path);
	fd = pith_sys_open(kp, fi->flags | O_CREAT, mode);
	if (fd < 0)
		return -errno;
	if ((r = fz_own(kp)) != 0) {
		pith_sys_close(fd);
		return r;
	}
	fi->fh = (uint64_t)fd;
	return 0;
}

/* --- reads ----------------------------------------------------------------- */

#define FZ_NEXTENT 32	/* extents asked of FIEMAP per read */

/* A bufvec with room for n buffers, all zeroed; NULL without memory. */
static struct fuse_bufvec *
fz_bufvec(size_t n)
{
	struct fuse_bufvec *bv;

	bv = calloc(1, sizeof(*bv) + (n - 1) * sizeof(struct fuse_buf));
	return bv;
}

/* Append a memory buffer of len zero bytes (a hole); ENOMEM. */
static int
fz_addzero(struct fuse_bufvec *bv, size_t len)
{
	struct fuse_buf *b = &bv->buf[bv->count];

	if ((b->mem = calloc(1, len)) == NULL)
		return ENOMEM;
	b->size = len;
	bv->count++;
	return 0;
}

/*
 * The bytes [off, off + len) of the open file fd as pieces of the image
 * file (fz_hostfd), which libfuse reads -- or splices -- straight from
 * the host's page cache: no copy through the kernel's buffers.  Holes and
 * unwritten extents become zero buffers.  EAGAIN when the map holds
 * anything else (inline data, more extents than one call returns): the
 * caller then reads the ordinary way.  The image is mounted read-only, so
 * the blocks FIEMAP names are the file's for as long as we read them.
 */
static int
fz_read_mapped(int fd, size_t len, off_t off, struct fuse_bufvec **bvp)
{
	/* The header and its extents, 8-byte aligned (both sizes are). */
	uint64_t mbuf[(sizeof(struct fiemap) +
	    FZ_NEXTENT * sizeof(struct fiemap_extent)) / sizeof(uint64_t)];
	struct fiemap *fm = (struct fiemap *)mbuf;
	struct fiemap_extent *e;
	struct fuse_bufvec *bv;
	struct fuse_buf *b;
	uint64_t pos = (uint64_t)off, end = (uint64_t)off + len, from, to;
	uint32_t i;
	int err = EAGAIN;

	memset(mbuf, 0, sizeof(mbuf));
	fm->fm_start = pos;
	fm->fm_length = len;
	fm->fm_extent_count = FZ_NEXTENT;
	if (pith_sys_ioctl(fd, FS_IOC_FIEMAP, fm) != 0)
		return EAGAIN;
	if (fm->fm_mapped_extents == FZ_NEXTENT)
		return EAGAIN;	/* maybe more: not worth a second call */
	/* Each extent can bring a hole before it, and one may trail. */
	if ((bv = fz_bufvec(2 * fm->fm_mapped_extents + 1)) == NULL)
		return ENOMEM;
	for (i = 0; i < fm->fm_mapped_extents && pos < end; i++) {
		e = &fm->fm_extents[i];
		if (e->fe_flags & ~(FIEMAP_EXTENT_LAST | FIEMAP_EXTENT_MERGED |
		    FIEMAP_EXTENT_UNWRITTEN)) {
			err = EAGAIN;	/* inline, encoded...: read it */
			goto out;
		}
		from = e->fe_logical > pos ? e->fe_logical : pos;
		to = e->fe_logical + e->fe_length;
		if (to > end)
			to = end;
		if (to <= from)
			continue;
		if (from > pos && (err = fz_addzero(bv, from - pos)) != 0)
			goto out;
		if (e->fe_flags & FIEMAP_EXTENT_UNWRITTEN) {
			if ((err = fz_addzero(bv, to - from)) != 0)
				goto out;
		} else {
			b = &bv->buf[bv->count++];
			b->flags = FUSE_BUF_IS_FD | FUSE_BUF_FD_SEEK;
			b->fd = fz_hostfd;
			b->pos = (off_t)(e->fe_physical + (from - e->fe_logical));
			b->size = to - from;
		}
		pos = to;
	}
	if (pos < end && (err = fz_addzero(bv, end - pos)) != 0)
		goto out;
	*bvp = bv;
	return 0;
out:
	for (i = 0; i < bv->count; i++)
		if (!(bv->buf[i].flags & FUSE_BUF_IS_FD))
			free(bv->buf[i].mem);
	free(bv);
	return err;
}

/* The ordinary way: the kernel reads into one memory buffer. */
static int
fz_read_copy(int fd, size_t len, off_t off, struct fuse_bufvec **bvp)
{
	struct fuse_bufvec *bv;
	ssize_t n;
	int err;

	if ((bv = fz_bufvec(1)) == NULL)
		return ENOMEM;
	bv->count = 1;
	if ((bv->buf[0].mem = malloc(len ? len : 1)) == NULL) {
		free(bv);
		return ENOMEM;
	}
	n = pith_sys_pread(fd, bv->buf[0].mem, len, off);
	if (n < 0) {
		err = errno;
		free(bv->buf[0].mem);
		free(bv);
		return err;
	}
	bv->buf[0].size = (size_t)n;
	*bvp = bv;
	return 0;
}

/*
 * READ: libfuse frees the bufvec and its memory buffers after replying.
 * Without OPEN (fz_noopen) the file is opened here by path, for this one
 * request; the read is cut at the file's size, so that the mapped path
 * never hands out the tail of a last block.
 */
static int
fz_read_buf(const char *path, struct fuse_bufvec **bvp, size_t size,
    off_t off, struct fuse_file_info *fi)
{
	struct stat st;
	int fd, err;

	KPATH(kp, path);
	if (!fz_noopen)
		fd = (int)fi->fh;
	else if ((fd = pith_sys_open(kp, O_RDONLY | O_NOFOLLOW)) < 0)
		return -errno;
	err = 0;
	if (fz_hostfd >= 0) {
		if (pith_sys_fstatat(fd, "", &st, AT_EMPTY_PATH) != 0) {
			err = errno;
			goto out;
		}
		if (off >= st.st_size)
			size = 0;
		else if ((uint64_t)size > (uint64_t)(st.st_size - off))
			size = (size_t)(st.st_size - off);
		if (size == 0)
			err = (*bvp = fz_bufvec(1)) == NULL ? ENOMEM : 0;
		else
			err = fz_read_mapped(fd, size, off, bvp);
		if (err != EAGAIN)
			goto out;
	}
	err = fz_read_copy(fd, size, off, bvp);
out:
	if (fz_noopen)
		pith_sys_close(fd);
	return -err;
}

static int
fz_write(const char *path, const char *buf, size_t size, off_t off,
    struct fuse_file_info *fi)
{
	ssize_t n = pith_sys_pwrite((int)fi->fh, buf, size, off);

	(void)path;
	return n < 0 ? -errno : (int)n;
}

static int
fz_statfs(const char *path, struct statvfs *sv)
{
	struct statfs sf;

	KPATH(kp, path);
	if (pith_sys_statfs(kp, &sf) != 0)
		return -errno;
	memset(sv, 0, sizeof(*sv));
	sv->f_bsize = (unsigned long)sf.f_bsize;
	sv->f_frsize = (unsigned long)sf.f_bsize;
	sv->f_blocks = sf.f_blocks;
	sv->f_bfree = sf.f_bfree;
	sv->f_bavail = sf.f_bavail;
	sv->f_files = sf.f_files;
	sv->f_ffree = sf.f_ffree;
	sv->f_favail = sf.f_ffree;
	sv->f_namemax = (unsigned long)sf.f_namelen;
	return 0;
}

static int
fz_release(const char *path, struct fuse_file_info *fi)
{
	(void)path;
	return neg(pith_sys_close((int)fi->fh));
}

static int
fz_fsync(const char *path, int datasync, struct fuse_file_info *fi)
{
	(void)path;
	if (datasync)
		return neg(pith_sys_fdatasync((int)fi->fh));
	return neg(pith_sys_fsync((int)fi->fh));
}

static int
fz_opendir(const char *path, struct fuse_file_info *fi)
{
	int fd;

	KPATH(kp, path);
	fd = pith_sys_open(kp, O_RDONLY | O_DIRECTORY);
	if (fd < 0)
		return -errno;
	fi->fh = (uint64_t)fd;
	return 0;
}

struct dirent64_ {
	uint64_t d_ino;
	int64_t d_off;
	unsigned short d_reclen;
	unsigned char d_type;
	char d_name[];
};

/*
 * Offset mode: each entry goes out with the directory offset of the one
 * after it, and a listing continues from the offset the host hands back
 * when its buffer is full.  When the host asks for READDIRPLUS, every
 * entry carries its attributes (fstatat relative to the open directory),
 * so that the host needs no LOOKUP per name before cp opens it.
 */
static int
fz_readdir(const char *path, void *buf, fuse_fill_dir_t fill, off_t off,
    struct fuse_file_info *fi, enum fuse_readdir_flags flags)
{
	char dbuf[32768] __attribute__((aligned(8)));
	struct dirent64_ *d;
	struct stat st;
	ssize_t n, pos;
	int fd = (int)fi->fh;
	bool plus = (flags & FUSE_READDIR_PLUS) != 0, dot;

	(void)path;
	if (pith_sys_lseek(fd, off, SEEK_SET) < 0)
		return -errno;
	while ((n = pith_sys_getdents64(fd, dbuf, sizeof(dbuf))) > 0) {
		for (pos = 0; pos < n; pos += d->d_reclen) {
			d = (struct dirent64_ *)(dbuf + pos);
			dot = d->d_name[0] == '.' && (d->d_name[1] == '\0' ||
			    (d->d_name[1] == '.' && d->d_name[2] == '\0'));
			if (plus && !dot && pith_sys_fstatat(fd, d->d_name,
			    &st, AT_SYMLINK_NOFOLLOW) == 0) {
				fz_fixattr(&st);
				if (fill(buf, d->d_name, &st, d->d_off,
				    FUSE_FILL_DIR_PLUS) != 0)
					return 0;
				continue;
			}
			memset(&st, 0, sizeof(st));
			st.st_ino = d->d_ino;
			st.st_mode = (mode_t)d->d_type << 12;
			if (fill(buf, d->d_name, &st, d->d_off, 0) != 0)
				return 0;
		}
	}
	return n < 0 ? -errno : 0;
}

static int
fz_releasedir(const char *path, struct fuse_file_info *fi)
{
	(void)path;
	return neg(pith_sys_close((int)fi->fh));
}

static int
fz_fsyncdir(const char *path, int datasync, struct fuse_file_info *fi)
{
	return fz_fsync(path, datasync, fi);
}

static int
fz_utimens(const char *path, const struct timespec tv[2],
    struct fuse_file_info *fi)
{
	KPATH(kp, path);
	(void)fi;
	return neg(pith_sys_utimensat(AT_FDCWD, kp, tv, AT_SYMLINK_NOFOLLOW));
}

static const struct fuse_operations fz_ops = {
	.init = fz_init,
	.getattr = fz_getattr,
	.readlink = fz_readlink,
	.mknod = fz_mknod,
	.mkdir = fz_mkdir,
	.unlink = fz_unlink,
	.rmdir = fz_rmdir,
	.symlink = fz_symlink,
	.rename = fz_rename,
	.link = fz_link,
	.chmod = fz_chmod,
	.chown = fz_chown,
	.truncate = fz_truncate,
	.open = fz_open,
	.read_buf = fz_read_buf,
	.write = fz_write,
	.statfs = fz_statfs,
	.release = fz_release,
	.fsync = fz_fsync,
	.opendir = fz_opendir,
	.readdir = fz_readdir,
	.releasedir = fz_releasedir,
	.fsyncdir = fz_fsyncdir,
	.create = fz_create,
	.utimens = fz_utimens,
};

/* --- the command ---------------------------------------------------------- */

struct fz_opts {
	bool rdonly, foreground, debug;
	const char *extra;	/* -o */
	const char *image, *mountpoint;
};

/*
 * Does only root reach this mount?  Without allow_other or allow_root
 * only the user who mounted it may enter it, and when that is root the
 * host's permission checks would pass anyway (root overrides modes), so
 * default_permissions is left off: with it the host asks for a
 * directory's attributes again after each change in it (a GETATTR per
 * file a cp creates), only to learn that root may write there.
 */
static bool
fz_rootonly(const struct fz_opts *o)
{
	return geteuid() == 0 && (o->extra == NULL ||
	    strstr(o->extra, "allow_") == NULL);
}

/* image_hostfd for the whole image, or -1. */
static int
fz_imagefd(const char *image)
{
	char arg[PATH_MAX + 3];
	struct loc l;

	if (snprintf(arg, sizeof(arg), "%s:/", image) >= (int)sizeof(arg) ||
	    loc_parse(arg, IMG_RDONLY, &l) != 0)
		return -1;
	return image_hostfd(&l);
}

/*
 * libfuse installs its handlers (which end the loop) only over SIG_DFL,
 * and main() has put its own on SIGINT and SIGTERM for the copying
 * commands: without this, `kill PID` or ^C left the mount serving.  A
 * signal the caller ignores stays ignored.
 */
static void
fz_signals_default(void)
{
	static const int sigs[] = { SIGINT, SIGTERM, SIGHUP };
	struct sigaction sa;
	size_t i;

	for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		if (sigaction(sigs[i], NULL, &sa) == 0 &&
		    sa.sa_handler != SIG_IGN)
			signal(sigs[i], SIG_DFL);
}

/* Tell the waiting parent how it went (status byte, then a message). */
static void
fz_report(int fd, int status)
{
	unsigned char c = (unsigned char)status;

	if (fd < 0)
		return;
	if (write(fd, &c, 1) != 1)
		return;
	close(fd);
}

static int
fz_serve(const struct fz_opts *o, int statusfd)
{
	struct fuse_args args = FUSE_ARGS_INIT(0, NULL);
	struct fuse *f = NULL;
	char opts[PATH_MAX + 128];
	int rc = 1, devnull;

	if (image_attach(o->image, o->rdonly ? IMG_RDONLY : IMG_RDWR,
	    &fz_mnt) != 0)
		goto out;
	pith_sys_umask(0);
	fz_rdonly = o->rdonly;
	if (o->rdonly)
		fz_hostfd = fz_imagefd(o->image);
	snprintf(opts, sizeof(opts), "fsname=%s,subtype=pith,max_read=%u%s%s",
	    o->image, FZ_MAX_IO, fz_rootonly(o) ? "" : ",default_permissions",
	    o->rdonly ? ",ro" : "");
	if (fuse_opt_add_arg(&args, progname) != 0 ||
	    fuse_opt_add_arg(&args, "-o") != 0 ||
	    fuse_opt_add_arg(&args, opts) != 0 ||
	    (o->extra && (fuse_opt_add_arg(&args, "-o") != 0 ||
	    fuse_opt_add_arg(&args, o->extra) != 0)) ||
	    (o->debug && fuse_opt_add_arg(&args, "-d") != 0))
		goto out;
	if ((f = fuse_new(&args, &fz_ops, sizeof(fz_ops), NULL)) == NULL)
		goto out;
	if (fuse_mount(f, o->mountpoint) != 0) {
		warnx_("%s: cannot mount", o->mountpoint);
		fuse_destroy(f);
		f = NULL;
		goto out;
	}
	fz_signals_default();
	if (fuse_set_signal_handlers(fuse_get_session(f)) != 0)
		goto out_unmount;
	fz_report(statusfd, 0);
	statusfd = -1;
	if (!o->foreground) {
		/* The parent has gone; detach from its terminal. */
		setsid();
		if (chdir("/") != 0)
			goto out_signals;
		devnull = open("/dev/null", O_RDWR);
		if (devnull >= 0) {
			dup2(devnull, STDIN_FILENO);
			dup2(devnull, STDOUT_FILENO);
			dup2(devnull, STDERR_FILENO);
			if (devnull > STDERR_FILENO)
				close(devnull);
		}
	}
	rc = fuse_loop_mt(f, 0) != 0;
out_signals:
	fuse_remove_signal_handlers(fuse_get_session(f));
out_unmount:
	fuse_unmount(f);
out:
	if (f != NULL)
		fuse_destroy(f);
	fuse_opt_free_args(&args);
	fz_report(statusfd, 1);
	/* main() calls image_finish(): the image is synced and unmounted. */
	return rc;
}

/* Fork; the parent waits for the child's word and returns it. */
static int
fz_background(const struct fz_opts *o)
{
	unsigned char c;
	int p[2], rc;
	pid_t pid;

	if (pipe(p) != 0) {
		warnx_("pipe: %s", strerror(errno));
		return 1;
	}
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		warnx_("fork: %s", strerror(errno));
		return 1;
	}
	if (pid == 0) {
		close(p[0]);
		rc = fz_serve(o, p[1]);
		if (image_finish() != 0)
			rc = 1;
		_exit(rc);
	}
	close(p[1]);
	if (read(p[0], &c, 1) != 1)
		c = 1;
	close(p[0]);
	return c != 0;
}

int
cmd_mount(int argc, char **argv)
{
	struct fz_opts o = { 0 };
	char *mp;
	int c;

	while ((c = getopt(argc, argv, "rfdo:")) != -1) {
		switch (c) {
		case 'r': o.rdonly = true; break;
		case 'f': o.foreground = true; break;
		case 'd': o.debug = o.foreground = true; break;
		case 'o': o.extra = optarg; break;
		default: return usage_error("mount", NULL);
		}
	}
	if (argc - optind != 2)
		return usage_error("mount", "need an image and a mount point");
	o.image = argv[optind];
	if ((mp = realpath(argv[optind + 1], NULL)) == NULL) {
		warnx_("%s: %s", argv[optind + 1], strerror(errno));
		return 1;
	}
	o.mountpoint = mp;
	/* ro in -o means -r: the image must then be opened read-only. */
	if (o.extra != NULL && (strcmp(o.extra, "ro") == 0 ||
	    strncmp(o.extra, "ro,", 3) == 0 || strstr(o.extra, ",ro,") ||
	    (strlen(o.extra) > 3 &&
	    strcmp(o.extra + strlen(o.extra) - 3, ",ro") == 0)))
		o.rdonly = true;
	c = o.foreground ? fz_serve(&o, -1) : fz_background(&o);
	free(mp);
	return c;
}
