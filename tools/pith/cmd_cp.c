/*
 * pith cp: copy host -> image, image -> host, and image -> image.
 *
 * Both ends are struct locs, so one walk serves every direction: the
 * source's fsops reads, the destination's writes.  The destination is
 * parsed first and mounted read-write; sources are mounted read-only
 * unless they live in the destination's image.
 *
 * Semantics are cp(1)'s: with -r, directories are copied recursively and
 * symbolic links copied as links (-P), unless -L; without -r, links are
 * followed.  -p keeps mode, owner and times (a failed chown on the host is
 * ignored when not root, as cp does); -a is -rpP.  Hard links inside the
 * copied tree stay hard links: sources with more than one link are
 * remembered by (side, st_dev, st_ino) with the path of their first copy.
 * Runs of zero bytes are not written, so sparse files stay sparse.
 *
 * When stderr is a terminal, the sources are first measured and a
 * progress line (bytes, files, rate) is drawn once the copy has taken more
 * than a second.  SIGINT/SIGTERM stop the walk after the current file.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <linux/fiemap.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <pith/pith.h>

#include "pith_tool.h"

#define CP_BUF		(1u << 20)
#define CP_ZCHUNK	4096
#define CP_NHASH	4096
#define CP_NEXTENT	64	/* extents asked of FS_IOC_FIEMAP at a time */

struct cp_link {
	struct cp_link *next;
	const struct fsops *ops;
	dev_t dev;
	ino_t ino;
	char *dst;
};

struct cp_state {
	bool recursive, preserve, follow;
	bool root;		/* we are root on the host: chown works there */
	mode_t umask;
	char *buf;
	struct fiemap *map;	/* FS_IOC_FIEMAP's header and CP_NEXTENT */
	bool no_cfr;		/* copy_file_range cannot serve these files */
	struct cp_link *links[CP_NHASH];
	/* progress */
	bool progress, drawn;
	unsigned long long total_bytes, total_files, bytes, files;
	struct timespec start, last;
};

/* --- progress ------------------------------------------------------------ */

static double
elapsed(const struct timespec *a, const struct timespec *b)
{
	return (double)(b->tv_sec - a->tv_sec) +
	    (double)(b->tv_nsec - a->tv_nsec) / 1e9;
}

static void
human(double v, char *buf, size_t len)
{
	static const char *units[] = { "B", "KiB", "MiB", "GiB", "TiB" };
	int u = 0;

	while (v >= 1024 && u < 4) {
		v /= 1024;
		u++;
	}
	snprintf(buf, len, u ? "%.1f %s" : "%.0f %s", v, units[u]);
}

static void
progress(struct cp_state *s, bool final)
{
	char done[32], total[32], rate[32];
	struct timespec now;
	double t;
	int pct;

	if (!s->progress)
		return;
	clock_gettime(CLOCK_MONOTONIC, &now);
	t = elapsed(&s->start, &now);
	if (final ? !s->drawn : (t < 1.0 || elapsed(&s->last, &now) < 0.2))
		return;
	s->last = now;
	s->drawn = true;
	human((double)s->bytes, done, sizeof(done));
	human((double)s->total_bytes, total, sizeof(total));
	human(t > 0 ? (double)s->bytes / t : 0, rate, sizeof(rate));
	pct = s->total_bytes ? (int)(s->bytes * 100 / s->total_bytes) : 100;
	if (pct > 100)
		pct = 100;
	fprintf(stderr, "\r%3d%% %s / %s, %llu/%llu files, %s/s\033[K%s",
	    pct, done, total, s->files, s->total_files, rate,
	    final ? "\n" : "");
}

/* Sizes and file count of what a copy will read (only for the bar). */
static void
measure(struct cp_state *s, const struct loc *l, bool top)
{
	struct namelist nl;
	struct stat st;
	struct loc c;
	size_t i;
	int r;

	r = s->follow || top ? l->ops->stat(l->path, &st) :
	    l->ops->lstat(l->path, &st);
	if (r != 0)
		return;
	s->total_files++;
	if (S_ISREG(st.st_mode))
		s->total_bytes += (unsigned long long)st.st_size;
	if (!S_ISDIR(st.st_mode) || !s->recursive || interrupted)
		return;
	if (dir_list(l, &nl, false) != 0)
		return;
	for (i = 0; i < nl.n; i++)
		if (loc_child(l, nl.names[i], &c) == 0)
			measure(s, &c, false);
	namelist_free(&nl);
}

/* --- hard links ----------------------------------------------------------- */

static struct cp_link **
link_slot(struct cp_state *s, const struct loc *src, const struct stat *st)
{
	size_t h = ((size_t)st->st_ino * 31 + (size_t)st->st_dev) % CP_NHASH;
	struct cp_link **pp;

	for (pp = &s->links[h]; *pp != NULL; pp = &(*pp)->next)
		if ((*pp)->ops == src->ops && (*pp)->dev == st->st_dev &&
		    (*pp)->ino == st->st_ino)
			break;
	return pp;
}

static void
link_remember(struct cp_state *s, struct cp_link **slot,
    const struct loc *src, const struct stat *st, const struct loc *dst)
{
	struct cp_link *k = malloc(sizeof(*k));

	if (k == NULL || (k->dst = strdup(dst->path)) == NULL) {
		free(k);
		return;
	}
	k->ops = src->ops;
	k->dev = st->st_dev;
	k->ino = st->st_ino;
	k->next = NULL;
	*slot = k;
}

static void
links_free(struct cp_state *s)
{
	struct cp_link *k, *n;
	size_t i;

	for (i = 0; i < CP_NHASH; i++)
		for (k = s->links[i]; k != NULL; k = n) {
			n = k->next;
			free(k->dst);
			free(k);
		}
}

/* --- one file ------------------------------------------------------------- */

static bool
all_zero(const char *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (p[i] != 0)
			return false;
	return true;
}

/* Write n bytes at off, leaving holes where whole chunks are zero. */
static int
write_sparse(const struct loc *dst, int fd, const char *buf, size_t n,
    off_t off)
{
	size_t i = 0, end, len;
	ssize_t w;

	while (i < n) {
		len = n - i < CP_ZCHUNK ? n - i : CP_ZCHUNK;
		if (len == CP_ZCHUNK && all_zero(buf + i, len)) {
			i += len;
			continue;
		}
		/* One write for the whole run of data up to the next hole. */
		for (end = i + len; end < n; end += len) {
			len = n - end < CP_ZCHUNK ? n - end : CP_ZCHUNK;
			if (len == CP_ZCHUNK && all_zero(buf + end, len))
				break;
		}
		while (i < end) {
			w = dst->ops->pwrite(fd, buf + i, end - i, off + (off_t)i);
			if (w < 0 && errno == EINTR)
				continue;
			if (w <= 0)
				return w < 0 ? errno : EIO;
			i += (size_t)w;
		}
	}
	return 0;
}

static int
copy_data(struct cp_state *s, const struct loc *src, const struct loc *dst,
    int sfd, int dfd)
{
	off_t off = 0;
	ssize_t n;
	int err;

	for (;;) {
		n = src->ops->read(sfd, s->buf, CP_BUF);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			warn_loc(src, errno);
			return 1;
		}
		if (n == 0)
			break;
		if ((err = write_sparse(dst, dfd, s->buf, (size_t)n, off))) {
			warn_loc(dst, err);
			return 1;
		}
		off += n;
		s->bytes += (unsigned long long)n;
		progress(s, false);
	}
	/* A trailing hole still counts in the size. */
	if (dst->ops->ftruncate(dfd, off) != 0) {
		warn_loc(dst, errno);
		return 1;
	}
	return 0;
}

/* len bytes from the image's host file at *ioff to dfd at *ooff. */
static int
copy_range(struct cp_state *s, int ifd, off_t *ioff, int dfd, off_t *ooff,
    size_t len)
{
	ssize_t n, w;
	size_t i;

	while (len > 0 && !s->no_cfr) {
		n = copy_file_range(ifd, ioff, dfd, ooff, len, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EXDEV || errno == EINVAL ||
		    errno == ENOSYS || errno == EOPNOTSUPP)) {
			s->no_cfr = true;	/* e.g. another file system */
			break;
		}
		if (n < 0)
			return errno;
		if (n == 0)
			return EIO;	/* the image file ends early */
		len -= (size_t)n;
	}
	while (len > 0) {
		n = pread(ifd, s->buf, len < CP_BUF ? len : CP_BUF, *ioff);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? errno : EIO;
		for (i = 0; i < (size_t)n; i += (size_t)w) {
			w = pwrite(dfd, s->buf + i, (size_t)n - i, *ooff + (off_t)i);
			if (w < 0 && errno == EINTR) {
				w = 0;
				continue;
			}
			if (w <= 0)
				return w < 0 ? errno : EIO;
		}
		*ioff += n;
		*ooff += n;
		len -= (size_t)n;
	}
	return 0;
}

/*
 * Out of an image file mounted read-only into a host file: the kernel
 * says where the file's blocks are in the image (FS_IOC_FIEMAP) and the
 * host copies them from the image file straight into the destination
 * (copy_file_range; pread and pwrite when it cannot), so that the data
 * does not pass through the kernel's reads and this buffer.  Holes and
 * unwritten extents stay holes.  Returns -1, having written nothing the
 * ordinary copy would not overwrite, when the map cannot be had or holds
 * something other than plain blocks (inline data): the caller then reads
 * the file the ordinary way.
 */
static int
copy_mapped(struct cp_state *s, const struct loc *src, const struct loc *dst,
    int sfd, int dfd, off_t size, int ifd)
{
	struct fiemap_extent *e;
	off_t ioff, ooff;
	uint64_t start = 0, len;
	uint32_t i;
	bool last = false;
	int err;

	if (s->map == NULL && (s->map = calloc(1, sizeof(struct fiemap) +
	    CP_NEXTENT * sizeof(struct fiemap_extent))) == NULL)
		return -1;
	while (!last && start < (uint64_t)size) {
		memset(s->map, 0, sizeof(*s->map));
		s->map->fm_start = start;
		s->map->fm_length = FIEMAP_MAX_OFFSET;
		s->map->fm_extent_count = CP_NEXTENT;
		if (pith_sys_ioctl(sfd, FS_IOC_FIEMAP, s->map) != 0)
			return -1;
		if (s->map->fm_mapped_extents < CP_NEXTENT)
			last = true;
		for (i = 0; i < s->map->fm_mapped_extents; i++) {
			e = &s->map->fm_extents[i];
			if (e->fe_flags & ~(FIEMAP_EXTENT_LAST |
			    FIEMAP_EXTENT_MERGED | FIEMAP_EXTENT_UNWRITTEN))
				return -1;
			if (e->fe_flags & FIEMAP_EXTENT_LAST)
				last = true;
			start = e->fe_logical + e->fe_length;
			if (e->fe_flags & FIEMAP_EXTENT_UNWRITTEN ||
			    e->fe_logical >= (uint64_t)size)
				continue;
			len = e->fe_length;
			if (len > (uint64_t)size - e->fe_logical)
				len = (uint64_t)size - e->fe_logical;
			ioff = (off_t)e->fe_physical;
			ooff = (off_t)e->fe_logical;
			if ((err = copy_range(s, ifd, &ioff, dfd, &ooff,
			    (size_t)len)) != 0) {
				warn_loc(dst, err);
				return 1;
			}
			s->bytes += len;
			progress(s, false);
		}
	}
	if (dst->ops->ftruncate(dfd, size) != 0) {
		warn_loc(dst, errno);
		return 1;
	}
	(void)src;
	return 0;
}

/* Owner, mode, times for -p; path-based so that it serves links too. */
static int
keep_attrs(struct cp_state *s, const struct loc *dst, const struct stat *st)
{
	struct timespec ts[2] = { st->st_atim, st->st_mtim };
	bool link = S_ISLNK(st->st_mode);

	if (dst->ops->lchown(dst->path, st->st_uid, st->st_gid) != 0 &&
	    (dst->img != NULL || s->root)) {
		warn_loc(dst, errno);
		return 1;
	}
	if (!link && dst->ops->chmod(dst->path, st->st_mode & 07777) != 0) {
		warn_loc(dst, errno);
		return 1;
	}
	if (dst->ops->utimensat(AT_FDCWD, dst->path, ts,
	    AT_SYMLINK_NOFOLLOW) != 0) {
		warn_loc(dst, errno);
		return 1;
	}
	return 0;
}

/* Replace whatever non-directory is at dst. */
static int
clear_dst(const struct loc *dst)
{
	struct stat st;

	if (dst->ops->lstat(dst->path, &st) != 0)
		return 0;
	if (S_ISDIR(st.st_mode))
		return EISDIR;
	if (dst->ops->unlink(dst->path) != 0)
		return errno;
	return 0;
}

static int
copy_reg(struct cp_state *s, const struct loc *src, const struct loc *dst,
    const struct stat *st)
{
	struct cp_link **slot = NULL;
	int sfd, dfd, ifd, rc, err;

	if (st->st_nlink > 1 && s->recursive) {
		slot = link_slot(s, src, st);
		if (*slot != NULL) {
			if ((err = clear_dst(dst)) == 0 &&
			    dst->ops->link((*slot)->dst, dst->path) != 0)
				err = errno;
			if (err != 0)
				warn_loc(dst, err);
			s->files++;
			return err != 0;
		}
	}
	sfd = src->ops->open(src->path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (sfd < 0) {
		warn_loc(src, errno);
		return 1;
	}
	dfd = dst->ops->open(dst->path, O_WRONLY | O_CREAT | O_TRUNC |
	    O_CLOEXEC | O_NOCTTY, st->st_mode & 0777);
	if (dfd < 0 && errno == EACCES && clear_dst(dst) == 0)
		dfd = dst->ops->open(dst->path, O_WRONLY | O_CREAT | O_TRUNC |
		    O_CLOEXEC | O_NOCTTY, st->st_mode & 0777);
	if (dfd < 0) {
		warn_loc(dst, errno);
		src->ops->close(sfd);
		return 1;
	}
	rc = -1;
	if (src->img != NULL && dst->img == NULL && (ifd = image_hostfd(src)) >= 0)
		rc = copy_mapped(s, src, dst, sfd, dfd, st->st_size, ifd);
	if (rc < 0)
		rc = copy_data(s, src, dst, sfd, dfd);
	src->ops->close(sfd);
	if (dst->ops->close(dfd) != 0 && rc == 0) {
		warn_loc(dst, errno);
		rc = 1;
	}
	if (rc == 0 && s->preserve)
		rc = keep_attrs(s, dst, st);
	if (rc == 0 && slot != NULL)
		link_remember(s, slot, src, st, dst);
	s->files++;
	return rc;
}

static int
copy_symlink(struct cp_state *s, const struct loc *src,
    const struct loc *dst, const struct stat *st)
{
	char target[PATH_MAX];
	ssize_t n;
	int err;

	n = src->ops->readlink(src->path, target, sizeof(target) - 1);
	if (n < 0) {
		warn_loc(src, errno);
		return 1;
	}
	target[n] = '\0';
	if ((err = clear_dst(dst)) != 0 ||
	    (dst->ops->symlink(target, dst->path) != 0 && (err = errno))) {
		warn_loc(dst, err);
		return 1;
	}
	s->files++;
	return s->preserve ? keep_attrs(s, dst, st) : 0;
}

static int
copy_special(struct cp_state *s, const struct loc *src,
    const struct loc *dst, const struct stat *st)
{
	mode_t mode = st->st_mode & (S_IFMT | 07777);
	int err;

	if (!s->recursive) {
		warnx_("%s: not copying a special file without -r",
		    src->path);
		return 1;
	}
	if ((err = clear_dst(dst)) != 0 ||
	    (dst->ops->mknod(dst->path, mode, st->st_rdev) != 0 &&
	    (err = errno))) {
		warn_loc(dst, err);
		return 1;
	}
	s->files++;
	return s->preserve ? keep_attrs(s, dst, st) : 0;
}

/* --- trees ---------------------------------------------------------------- */

static int copy_any(struct cp_state *s, const struct loc *src,
    const struct loc *dst, bool top);

static bool
inside(const struct loc *dir, const struct loc *l)
{
	size_t n = strlen(dir->path);

	if (dir->ops != l->ops || strncmp(dir->path, l->path, n) != 0)
		return false;
	return l->path[n] == '/' || l->path[n] == '\0' ||
	    (n > 0 && dir->path[n - 1] == '/');
}

static int
copy_dir(struct cp_state *s, const struct loc *src, const struct loc *dst,
    const struct stat *st)
{
	mode_t mode = st->st_mode & 07777 & ~s->umask;
	struct namelist nl;
	struct stat dst_st;
	struct loc cs, cd;
	bool made = false;
	size_t i;
	int err, rc = 0;

	if (!s->recursive) {
		warnx_("%s: is a directory (not copied; use -r)",
		    src->img ? src->path + src->skip : src->path);
		return 1;
	}
	if (inside(src, dst)) {
		warnx_("cannot copy a directory into itself");
		return 1;
	}
	if (dst->ops->mkdir(dst->path, mode | S_IRWXU) == 0) {
		made = true;
	} else if (errno != EEXIST || dst->ops->stat(dst->path, &dst_st) ||
	    !S_ISDIR(dst_st.st_mode)) {
		warn_loc(dst, errno == EEXIST ? ENOTDIR : errno);
		return 1;
	}
	s->files++;
	if ((err = dir_list(src, &nl, false)) != 0) {
		warn_loc(src, err);
		return 1;
	}
	for (i = 0; i < nl.n && !interrupted; i++) {
		if (loc_child(src, nl.names[i], &cs) != 0 ||
		    loc_child(dst, nl.names[i], &cd) != 0) {
			rc = 1;
			continue;
		}
		rc |= copy_any(s, &cs, &cd, false);
	}
	namelist_free(&nl);
	if (s->preserve)
		rc |= keep_attrs(s, dst, st);
	else if (made && (mode & S_IRWXU) != S_IRWXU &&
	    dst->ops->chmod(dst->path, mode) != 0) {
		warn_loc(dst, errno);
		rc = 1;
	}
	return rc;
}

static int
copy_any(struct cp_state *s, const struct loc *src, const struct loc *dst,
    bool top)
{
	struct stat st, dst_st;
	int r;

	if (interrupted)
		return 1;
	r = s->follow || (top && !s->recursive) ?
	    src->ops->stat(src->path, &st) : src->ops->lstat(src->path, &st);
	if (r != 0) {
		warn_loc(src, errno);
		return 1;
	}
	if (!S_ISDIR(st.st_mode) && src->ops == dst->ops &&
	    dst->ops->stat(dst->path, &dst_st) == 0 &&
	    dst_st.st_dev == st.st_dev && dst_st.st_ino == st.st_ino) {
		warn_loc(dst, EEXIST);
		return 1;
	}
	switch (st.st_mode & S_IFMT) {
	case S_IFDIR:
		return copy_dir(s, src, dst, &st);
	case S_IFREG:
		return copy_reg(s, src, dst, &st);
	case S_IFLNK:
		return copy_symlink(s, src, dst, &st);
	default:
		return copy_special(s, src, dst, &st);
	}
}

/* --- the command ---------------------------------------------------------- */

static int
cp_run(struct cp_state *s, char **srcs, int nsrc, const char *dstarg)
{
	struct loc dst, src, d;
	struct stat st;
	bool dst_dir;
	int i, rc = 0;

	if (loc_parse(dstarg, IMG_RDWR, &dst) != 0)
		return 1;
	dst_dir = dst.ops->stat(dst.path, &st) == 0 && S_ISDIR(st.st_mode);
	if (nsrc > 1 && !dst_dir) {
		warn_loc(&dst, ENOTDIR);
		return 1;
	}
	if (s->progress) {
		for (i = 0; i < nsrc; i++)
			if (loc_parse(srcs[i], IMG_RDONLY, &src) == 0)
				measure(s, &src, true);
		clock_gettime(CLOCK_MONOTONIC, &s->start);
	}
	for (i = 0; i < nsrc && !interrupted; i++) {
		if (loc_parse(srcs[i], IMG_RDONLY, &src) != 0) {
			rc = 1;
			continue;
		}
		d = dst;
		/* An image's root copies its contents, not a name "". */
		if (dst_dir && loc_base(&src)[0] != '\0' &&
		    loc_child(&dst, loc_base(&src), &d) != 0) {
			rc = 1;
			continue;
		}
		rc |= copy_any(s, &src, &d, true);
	}
	progress(s, true);
	return rc;
}

int
cmd_cp(int argc, char **argv)
{
	struct cp_state *s;
	bool L = false, P = false;
	int c, rc;

	s = calloc(1, sizeof(*s));
	if (s == NULL || (s->buf = malloc(CP_BUF)) == NULL) {
		free(s);
		warnx_("%s", strerror(ENOMEM));
		return 1;
	}
	while ((c = getopt(argc, argv, "rRpaLPd")) != -1) {
		switch (c) {
		case 'r': case 'R': s->recursive = true; break;
		case 'p': s->preserve = true; break;
		case 'a': s->recursive = s->preserve = P = true; break;
		case 'L': L = true; P = false; break;
		case 'P': case 'd': P = true; L = false; break;
		default:
			free(s->buf);
			free(s);
			return usage_error("cp", NULL);
		}
	}
	if (argc - optind < 2) {
		free(s->buf);
		free(s);
		return usage_error("cp", "missing operand");
	}
	s->follow = L || (!P && !s->recursive);
	s->root = geteuid() == 0;
	s->umask = umask(022);
	umask(s->umask);
	s->progress = isatty(STDERR_FILENO);
	rc = cp_run(s, argv + optind, argc - optind - 1, argv[argc - 1]);
	if (interrupted) {
		warnx_("interrupted; the images are unmounted cleanly");
		rc = 1;
	}
	links_free(s);
	free(s->map);
	free(s->buf);
	free(s);
	return rc;
}
