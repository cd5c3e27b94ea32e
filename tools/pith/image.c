/*
 * Image arguments, the in-process kernel, and the two file-operation
 * vectors.
 *
 * An argument names a file inside an image when it holds a ':' whose left
 * side is an existing host file or block device, optionally followed by
 * "@N" for partition N ("disk.img@2:/etc").  Everything else is a host
 * path.  The first image argument boots a kernel (pith_init); each
 * distinct image (same host inode and partition) is mounted once, at
 * /img0, /img1, ... in the kernel's tmpfs root, read-only unless some
 * argument needs it writable.  Callers parse the arguments they write to
 * first (cp parses its destination before its sources), so an image is
 * never wanted writable after it was mounted read-only; if it is, that is
 * reported as EROFS rather than remounted.
 *
 * image_finish() unmounts every image -- which writes back every dirty
 * buffer and the superblock and fdatasyncs the host file -- then shuts the
 * kernel down.  main() calls it on every exit path after a command.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <pith/pith.h>

#include "pith_tool.h"

#define MAX_IMAGES 16

struct image {
	char spec[PATH_MAX];	/* as written by the user */
	dev_t dev;		/* host identity of the image file */
	ino_t ino;
	unsigned part;		/* 0: whole disk */
	int mode;		/* IMG_RDONLY or IMG_RDWR */
	int err;		/* the mount failed (reported once): why */
	int hostfd;		/* image_hostfd: 0 not tried, -1 none, else fd+1 */
	char mnt[16];
};

static struct image images[MAX_IMAGES];
static int nimages;
static bool booted;

const struct fsops host_ops = {
	.name = "host",
	.stat = stat, .lstat = lstat, .open = open, .read = read,
	.write = write, .pwrite = pwrite, .close = close, .fsync = fsync,
	.ftruncate = ftruncate, .fchmod = fchmod, .fchown = fchown,
	.mkdir = mkdir, .rmdir = rmdir, .unlink = unlink, .rename = rename,
	.link = link, .symlink = symlink, .readlink = readlink,
	.chmod = chmod, .chown = chown, .lchown = lchown,
	.utimensat = utimensat,
	.statfs = statfs, .getdents64 = getdents64, .mknod = mknod,
	.fstatat = fstatat, .openat = openat,
};

/* No pith_sys_mknod yet: the raw door, which says ENOSYS until there is. */
static int
pith_mknod(const char *path, mode_t mode, dev_t dev)
{
	long r = pith_syscall(SYS_mknodat, (long)AT_FDCWD, (long)path,
	    (long)mode, (long)dev);

	if (r < 0) {
		errno = (int)-r;
		return -1;
	}
	return 0;
}

const struct fsops pith_ops = {
	.name = "pith",
	.stat = pith_sys_stat, .lstat = pith_sys_lstat,
	.open = pith_sys_open, .read = pith_sys_read,
	.write = pith_sys_write, .pwrite = pith_sys_pwrite,
	.close = pith_sys_close,
	.fsync = pith_sys_fsync, .ftruncate = pith_sys_ftruncate,
	.fchmod = pith_sys_fchmod, .fchown = pith_sys_fchown,
	.mkdir = pith_sys_mkdir, .rmdir = pith_sys_rmdir,
	.unlink = pith_sys_unlink, .rename = pith_sys_rename,
	.link = pith_sys_link, .symlink = pith_sys_symlink,
	.readlink = pith_sys_readlink, .chmod = pith_sys_chmod,
	.chown = pith_sys_chown,
	.lchown = pith_sys_lchown, .utimensat = pith_sys_utimensat,
	.statfs = pith_sys_statfs, .getdents64 = pith_sys_getdents64,
	.mknod = pith_mknod,
	.fstatat = pith_sys_fstatat, .openat = pith_sys_openat,
};

/*
 * Is s (a whole argument's left side) an image: an existing regular file
 * or block device, or one followed by "@N"?  Sets *part and the host
 * identity.
 */
static bool
image_file(const char *s, size_t len, unsigned *part, struct stat *st)
{
	char buf[PATH_MAX];
	size_t i;

	if (len == 0 || len >= sizeof(buf))
		return false;
	memcpy(buf, s, len);
	buf[len] = '\0';
	*part = 0;
	if (stat(buf, st) == 0 && (S_ISREG(st->st_mode) ||
	    S_ISBLK(st->st_mode)))
		return true;
	for (i = len; i > 0 && buf[i - 1] >= '0' && buf[i - 1] <= '9'; i--)
		;
	if (i == len || i < 2 || buf[i - 1] != '@' || len - i > 3)
		return false;
	*part = (unsigned)atoi(buf + i);
	buf[i - 1] = '\0';
	return stat(buf, st) == 0 && (S_ISREG(st->st_mode) ||
	    S_ISBLK(st->st_mode));
}

/* The position of the ':' that ends an image spec in arg, or -1. */
static long
image_colon(const char *arg, unsigned *part, struct stat *st)
{
	const char *p;

	for (p = strchr(arg, ':'); p != NULL; p = strchr(p + 1, ':'))
		if (image_file(arg, (size_t)(p - arg), part, st))
			return p - arg;
	return -1;
}

bool
arg_is_image(const char *arg)
{
	unsigned part;
	struct stat st;

	return image_colon(arg, &part, &st) >= 0;
}

int
image_boot(void)
{
	mode_t um;

	if (booted)
		return 0;
	if (pith_init(NULL) != 0) {
		warnx_("cannot start the kernel: %s", strerror(errno));
		return errno;
	}
	booted = true;
	/* New files get the modes cp(1) would give them on the host. */
	um = umask(022);
	umask(um);
	pith_sys_umask(um);
	return 0;
}

static int
image_mount(struct image *im)
{
	unsigned long flags = im->mode == IMG_RDWR ? 0 : MS_RDONLY;
	int err;

	snprintf(im->mnt, sizeof(im->mnt), "/img%d", (int)(im - images));
	if (pith_sys_mkdir(im->mnt, 0755) != 0 && errno != EEXIST)
		return errno;
	if (pith_sys_mount(im->spec, im->mnt, "ext2", flags, NULL) == 0)
		return 0;
	err = errno;
	if (err == EROFS)
		warnx_("%s: cannot write to this image (the reason is above)",
		    im->spec);
	else
		warnx_("%s: cannot mount: %s", im->spec, strerror(err));
	pith_sys_rmdir(im->mnt);
	return err;
}

/* Mount (once) the image spec[0..len); *mnt gets its kernel path. */
static int
image_attach_n(const char *spec, size_t len, int mode, const char **mnt)
{
	struct image *im;
	struct stat st;
	unsigned part;
	int i, err;

	if (!image_file(spec, len, &part, &st))
		return ENOENT;
	for (i = 0; i < nimages; i++) {
		im = &images[i];
		if (im->dev != st.st_dev || im->ino != st.st_ino ||
		    im->part != part)
			continue;
		if (im->err != 0)
			return im->err;
		if (mode == IMG_RDWR && im->mode != IMG_RDWR) {
			warnx_("%s: already opened read-only", im->spec);
			return EROFS;
		}
		*mnt = im->mnt;
		return 0;
	}
	if (nimages == MAX_IMAGES) {
		warnx_("too many images");
		return EMFILE;
	}
	if ((err = image_boot()) != 0)
		return err;
	im = &images[nimages];
	memset(im, 0, sizeof(*im));
	snprintf(im->spec, sizeof(im->spec), "%.*s", (int)len, spec);
	im->dev = st.st_dev;
	im->ino = st.st_ino;
	im->part = part;
	im->mode = mode;
	nimages++;
	if ((err = image_mount(im)) != 0) {
		im->err = err;
		return err;
	}
	*mnt = im->mnt;
	return 0;
}

int
image_attach(const char *spec, int mode, const char **mnt)
{
	return image_attach_n(spec, strlen(spec), mode, mnt);
}

int
loc_host(const char *path, struct loc *l)
{
	memset(l, 0, sizeof(*l));
	l->ops = &host_ops;
	if (strlen(path) >= sizeof(l->path)) {
		warnx_("%s: %s", path, strerror(ENAMETOOLONG));
		return ENAMETOOLONG;
	}
	strcpy(l->path, path);
	return 0;
}

/*
 * Parse one argument.  An image is mounted as mode asks; errors are
 * reported here, so the caller only counts them.
 */
int
loc_parse(const char *arg, int mode, struct loc *l)
{
	const char *mnt, *path;
	struct stat st;
	unsigned part;
	long colon;
	int err, n;

	colon = image_colon(arg, &part, &st);
	if (colon < 0)
		return loc_host(arg, l);
	memset(l, 0, sizeof(*l));
	err = image_attach_n(arg, (size_t)colon, mode, &mnt);
	if (err != 0)
		return err;
	path = arg + colon + 1;
	l->ops = &pith_ops;
	/* The spec lives as long as the image table. */
	for (n = 0; n < nimages; n++)
		if (strcmp(images[n].mnt, mnt) == 0)
			l->img = images[n].spec;
	l->skip = strlen(mnt);
	n = snprintf(l->path, sizeof(l->path), "%s%s%s", mnt,
	    path[0] == '/' ? "" : "/", path);
	if (n < 0 || (size_t)n >= sizeof(l->path)) {
		warnx_("%s: %s", arg, strerror(ENAMETOOLONG));
		return ENAMETOOLONG;
	}
	return 0;
}

/* child = parent/name; child must not be parent. */
int
loc_child(const struct loc *parent, const char *name, struct loc *child)
{
	size_t len = strlen(parent->path);
	int n;

	*child = *parent;
	n = snprintf(child->path, sizeof(child->path), "%s%s%s",
	    parent->path, len > 0 && parent->path[len - 1] == '/' ? "" : "/",
	    name);
	if (n < 0 || (size_t)n >= sizeof(child->path)) {
		warn_loc(parent, ENAMETOOLONG);
		return ENAMETOOLONG;
	}
	return 0;
}

/* The last component of l's path, ignoring trailing slashes; "" for a root. */
const char *
loc_base(const struct loc *l)
{
	static char buf[NAME_MAX + 1];
	const char *p = l->path + l->skip;
	size_t end = strlen(p), start;

	while (end > 0 && p[end - 1] == '/')
		end--;
	start = end;
	while (start > 0 && p[start - 1] != '/')
		start--;
	if (end - start > NAME_MAX)
		end = start + NAME_MAX;
	memcpy(buf, p + start, end - start);
	buf[end - start] = '\0';
	return buf;
}

/*
 * A host descriptor that reads the image holding l, for a reader that is
 * told by FS_IOC_FIEMAP where a file's blocks are: only for a whole-disk
 * image that is a regular file mounted read-only (nothing of it waits in
 * the kernel's buffers unwritten, and FIEMAP's offsets are the file's).
 * -1 otherwise.  Opened once; image_finish closes it.
 */
int
image_hostfd(const struct loc *l)
{
	struct image *im = NULL;
	struct stat st;
	int i, fd;

	for (i = 0; i < nimages && l->img != NULL; i++)
		if (images[i].spec == l->img)
			im = &images[i];
	if (im == NULL || im->err != 0 || im->mode != IMG_RDONLY ||
	    im->part != 0)
		return -1;
	if (im->hostfd == 0) {
		im->hostfd = -1;
		fd = open(im->spec, O_RDONLY | O_CLOEXEC);
		if (fd >= 0 && fstat(fd, &st) == 0 && S_ISREG(st.st_mode) &&
		    st.st_dev == im->dev && st.st_ino == im->ino)
			im->hostfd = fd + 1;
		else if (fd >= 0)
			close(fd);
	}
	return im->hostfd > 0 ? im->hostfd - 1 : -1;
}

int
image_finish(void)
{
	int i, rc = 0;

	if (!booted)
		return 0;
	for (i = nimages - 1; i >= 0; i--) {
		if (images[i].hostfd > 0)
			close(images[i].hostfd - 1);
		if (images[i].err == 0 && pith_sys_umount2(images[i].mnt, 0) != 0) {
			warnx_("%s: unmount: %s", images[i].spec,
			    strerror(errno));
			rc = 1;
		}
	}
	nimages = 0;
	pith_fini();
	booted = false;
	return rc;
}

struct dirent64_ {
	uint64_t d_ino;
	int64_t d_off;
	unsigned short d_reclen;
	unsigned char d_type;
	char d_name[];
};

static int
name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int
namelist_add(struct namelist *nl, size_t *cap, const char *name)
{
	char **nn;

	if (nl->n == *cap) {
		*cap = *cap ? *cap * 2 : 64;
		nn = realloc(nl->names, *cap * sizeof(*nn));
		if (nn == NULL)
			return ENOMEM;
		nl->names = nn;
	}
	if ((nl->names[nl->n] = strdup(name)) == NULL)
		return ENOMEM;
	nl->n++;
	return 0;
}

/*
 * The names in directory dir, sorted; "." and ".." only with all.  Errors
 * are returned, not reported.  The caller frees nl with namelist_free.
 * Not reentrant (one static buffer): for the single-threaded commands;
 * the FUSE server reads directories on its own.
 */
int
dir_list(const struct loc *dir, struct namelist *nl, bool all)
{
	static char buf[65536] __attribute__((aligned(8)));
	struct dirent64_ *d;
	size_t cap = 0;
	ssize_t n, off;
	int fd, err = 0;

	nl->names = NULL;
	nl->n = 0;
	fd = dir->ops->open(dir->path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return errno;
	while ((n = dir->ops->getdents64(fd, buf, sizeof(buf))) > 0) {
		for (off = 0; off < n && err == 0; off += d->d_reclen) {
			d = (struct dirent64_ *)(buf + off);
			if (!all && (strcmp(d->d_name, ".") == 0 ||
			    strcmp(d->d_name, "..") == 0))
				continue;
			err = namelist_add(nl, &cap, d->d_name);
		}
		if (err != 0)
			break;
	}
	if (n < 0 && err == 0)
		err = errno;
	dir->ops->close(fd);
	if (err != 0) {
		namelist_free(nl);
		return err;
	}
	if (nl->n > 1)
		qsort(nl->names, nl->n, sizeof(char *), name_cmp);
	return 0;
}

void
namelist_free(struct namelist *nl)
{
	size_t i;

	for (i = 0; i < nl->n; i++)
		free(nl->names[i]);
	free(nl->names);
	nl->names = NULL;
	nl->n = 0;
}
