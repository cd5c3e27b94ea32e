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
 * Files copied out of an image file into the host take a faster road,
 * described where it is ("copying out of an image file"); large host files
 * copied into an image are read ahead by a second thread (copy_data).
 * Below the top, entries are stat'ed, opened and created relative to
 * their open directories (struct cp_at): one lookup, not a path's walk.
 *
 * When stderr is a terminal, the sources are first measured and a
 * progress line (bytes, files, rate) is drawn once the copy has taken more
 * than a second.  SIGINT/SIGTERM stop the walk after the current file.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <linux/fiemap.h>
#include <linux/fs.h>
#include <sys/ioctl.h>

#include <pith/pith.h>

#include "pith_tool.h"

#define CP_BUF		(1u << 20)
#define CP_ZCHUNK	4096
#define CP_NHASH	4096
#define CP_NEXTENT	64	/* extents asked of FS_IOC_FIEMAP at a time */
#define CP_PIPEMIN	(2u << 20)	/* host files read ahead from this size */
#define CP_RBUFS	4	/* ... into this many CP_BUF buffers */

/* A source named relative to an open directory of its side. */
struct cp_at {
	int fd;
	const char *name;
};

struct cp_link {
	struct cp_link *next;
	const struct fsops *ops;
	dev_t dev;
	ino_t ino;
	char *dst;
};

#define CP_WORKERS	2
#define CP_QUEUE	64	/* jobs queued at most; the walk then waits */
#define CP_LOWAT	32	/* ... until no more than this are left */
#define CP_BATCH	4	/* jobs queued before a sleeping worker is woken */
#define CP_BIGJOB	(256u << 10)	/* ... or one job of this many bytes */
#define CP_NINLINE	4	/* extents kept in the job itself */

struct cp_ext {
	uint64_t logical, physical, len;	/* len trimmed to the size */
};

/* Copied by value into and out of the queue: no allocation per file. */
struct cp_job {
	int ifd, dfd;
	off_t size;
	uint64_t bytes;		/* of data to copy */
	uint32_t n;
	struct cp_ext *ext;	/* malloc'd when n > CP_NINLINE, else NULL */
	struct cp_ext inl[CP_NINLINE];
	bool preserve;
	struct stat st;		/* the source's, for -p */
	char dst[PATH_MAX];	/* host path */
};

struct cp_state {
	bool recursive, preserve, follow;
	bool root;		/* we are root on the host: chown works there */
	mode_t umask;
	char *buf;
	struct fiemap *map;	/* FS_IOC_FIEMAP's header and CP_NEXTENT */
	struct cp_pool *pool;	/* copies out of an image, when started */
	bool nopool;		/* no threads could be had: copy here */
	struct cp_reader *reader;	/* reads large host files ahead */
	bool noreader;		/* ... could not be had */
	struct cp_job job;	/* the one being built */
	bool no_cfr;		/* copy_file_range cannot serve (atomic) */
	int async_rc;		/* a queued copy failed (atomic) */
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
	unsigned long long bytes;
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
	bytes = __atomic_load_n(&s->bytes, __ATOMIC_RELAXED);	/* workers add */
	human((double)bytes, done, sizeof(done));
	human((double)s->total_bytes, total, sizeof(total));
	human(t > 0 ? (double)bytes / t : 0, rate, sizeof(rate));
	pct = s->total_bytes ? (int)(bytes * 100 / s->total_bytes) : 100;
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

/*
 * Write n bytes at off, leaving holes where whole chunks are zero.
 * *tail: the last byte was written (the file is at least off + n long).
 */
static int
write_sparse(const struct loc *dst, int fd, const char *buf, size_t n,
    off_t off, bool *tail)
{
	size_t i = 0, end, len;
	ssize_t w;

	*tail = false;
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
		*tail = end == n;
	}
	return 0;
}

/*
 * Large host files copied into an image are read ahead by a second
 * thread, so that the host's reads (a copy of every byte) overlap the
 * kernel's work on the previous megabyte instead of adding to it.  The
 * reader fills a ring of CP_RBUFS buffers from one file at a time; a slot
 * holds the bytes read, 0 at the end of the file or -errno.  Everything
 * under the lock; the reader never touches a slot the walk has not given
 * back (filled - consumed < CP_RBUFS), the walk never one not yet filled.
 */
struct cp_reader {
	pthread_mutex_t lock;
	pthread_cond_t cv;		/* any change of the fields below */
	pthread_t thread;
	int fd;				/* the file being read; -1: idle */
	bool stop;			/* the walk gives this file up */
	bool quit;			/* the thread is to exit */
	unsigned filled, consumed;	/* slots, counted from the file's start */
	ssize_t len[CP_RBUFS];
	char *buf[CP_RBUFS];
};

static void *
reader_main(void *arg)
{
	struct cp_reader *r = arg;
	unsigned slot;
	ssize_t n;
	int fd;

	pthread_mutex_lock(&r->lock);
	for (;;) {
		while (r->fd < 0 && !r->quit)
			pthread_cond_wait(&r->cv, &r->lock);
		if (r->quit)
			break;
		fd = r->fd;
		for (;;) {
			while (r->filled - r->consumed == CP_RBUFS && !r->stop)
				pthread_cond_wait(&r->cv, &r->lock);
			if (r->stop)
				break;
			slot = r->filled % CP_RBUFS;
			pthread_mutex_unlock(&r->lock);
			do
				n = read(fd, r->buf[slot], CP_BUF);
			while (n < 0 && errno == EINTR);
			if (n < 0)
				n = -errno;
			pthread_mutex_lock(&r->lock);
			r->len[slot] = n;
			r->filled++;
			pthread_cond_broadcast(&r->cv);
			if (n <= 0)
				break;
		}
		r->fd = -1;
		pthread_cond_broadcast(&r->cv);
	}
	pthread_mutex_unlock(&r->lock);
	return NULL;
}

static void
reader_free(struct cp_reader *r)
{
	int i;

	for (i = 0; i < CP_RBUFS; i++)
		free(r->buf[i]);
	pthread_mutex_destroy(&r->lock);
	pthread_cond_destroy(&r->cv);
	free(r);
}

/* The reader, started on first use; NULL when it cannot be had. */
static struct cp_reader *
reader_get(struct cp_state *s)
{
	struct cp_reader *r;
	int i;

	if (s->reader != NULL || s->noreader)
		return s->reader;
	s->noreader = true;
	if ((r = calloc(1, sizeof(*r))) == NULL)
		return NULL;
	pthread_mutex_init(&r->lock, NULL);
	pthread_cond_init(&r->cv, NULL);
	r->fd = -1;
	for (i = 0; i < CP_RBUFS; i++)
		if ((r->buf[i] = malloc(CP_BUF)) == NULL)
			break;
	if (i < CP_RBUFS || pthread_create(&r->thread, NULL, reader_main,
	    r) != 0) {
		reader_free(r);
		return NULL;
	}
	s->noreader = false;
	return s->reader = r;
}

static void
reader_finish(struct cp_state *s)
{
	struct cp_reader *r = s->reader;

	if (r == NULL)
		return;
	pthread_mutex_lock(&r->lock);
	r->quit = true;
	pthread_cond_broadcast(&r->cv);
	pthread_mutex_unlock(&r->lock);
	pthread_join(r->thread, NULL);
	reader_free(r);
	s->reader = NULL;
}

/* Move one host file's bytes (sfd) into dfd, by the reader or here. */
static int
copy_data(struct cp_state *s, const struct loc *src, const struct loc *dst,
    int sfd, int dfd, const struct stat *st)
{
	struct cp_reader *r = NULL;
	bool tail = true;
	off_t off = 0;
	unsigned slot = 0;
	ssize_t n;
	char *buf = s->buf;
	int err = 0, rc = 0;

	if (src->ops == &host_ops && st->st_size >= CP_PIPEMIN &&
	    (r = reader_get(s)) != NULL) {
		pthread_mutex_lock(&r->lock);
		r->filled = r->consumed = 0;
		r->stop = false;
		r->fd = sfd;
		pthread_cond_broadcast(&r->cv);
		pthread_mutex_unlock(&r->lock);
	}
	for (;;) {
		if (r != NULL) {
			pthread_mutex_lock(&r->lock);
			while (r->filled == r->consumed)
				pthread_cond_wait(&r->cv, &r->lock);
			slot = r->consumed % CP_RBUFS;
			n = r->len[slot];
			buf = r->buf[slot];
			pthread_mutex_unlock(&r->lock);
			if (n < 0) {
				errno = (int)-n;
				n = -1;
			}
		} else {
			n = src->ops->read(sfd, buf, CP_BUF);
			if (n < 0 && errno == EINTR)
				continue;
		}
		if (n < 0) {
			warn_loc(src, errno);
			rc = 1;
			break;
		}
		if (n == 0)
			break;
		if ((err = write_sparse(dst, dfd, buf, (size_t)n, off, &tail))) {
			warn_loc(dst, err);
			rc = 1;
			break;
		}
		off += n;
		__atomic_fetch_add(&s->bytes, (unsigned long long)n,
		    __ATOMIC_RELAXED);
		progress(s, false);
		if (r != NULL) {
			pthread_mutex_lock(&r->lock);
			r->consumed++;
			pthread_cond_broadcast(&r->cv);
			pthread_mutex_unlock(&r->lock);
		}
	}
	if (r != NULL) {
		/* The reader lets go of sfd before the caller closes it. */
		pthread_mutex_lock(&r->lock);
		r->stop = true;
		pthread_cond_broadcast(&r->cv);
		while (r->fd >= 0)
			pthread_cond_wait(&r->cv, &r->lock);
		pthread_mutex_unlock(&r->lock);
	}
	/* A trailing hole still counts in the size. */
	if (rc == 0 && !tail && dst->ops->ftruncate(dfd, off) != 0) {
		warn_loc(dst, errno);
		rc = 1;
	}
	return rc;
}

/* --- copying out of an image file --------------------------------------- */

/*
 * Out of an image file mounted read-only into host files, the data does
 * not pass through the kernel's reads: the kernel says where a file's
 * blocks are in the image (FS_IOC_FIEMAP), and the host copies them from
 * the image file straight into the destination (copy_file_range; pread
 * and pwrite where it cannot, e.g. across host file systems).  The walk
 * (lookups, creating the files, the maps) stays on this thread; the
 * copies, which are most of the time, are jobs that CP_WORKERS threads
 * take from a short queue, so that two files are written at once and the
 * walk goes on meanwhile.  A job is copied by value into the queue and
 * out of it (no allocation per file); it owns its destination descriptor:
 * it closes it and, with -p, sets owner, mode and times through it after
 * the data.  Jobs touch only host files (the kernel stays on this
 * thread); errors are reported where they happen and counted in
 * async_rc.  The pool's lock guards the queue; the walk sleeps when the
 * queue is full until it is half empty, and sleeping workers are woken a
 * few jobs at a time, so that the threads do not wake each other once a
 * file.  cp_run waits for every job before returning.
 */
struct cp_pool {
	pthread_mutex_t lock;
	pthread_cond_t nonempty, nonfull;
	struct cp_job q[CP_QUEUE];	/* [lock] ring */
	unsigned head, count;		/* [lock] */
	unsigned sleeping;		/* [lock] workers waiting for jobs */
	bool closing;			/* [lock] no more jobs */
	bool full;			/* [lock] the walk waits for CP_LOWAT */
	int nthreads;
	pthread_t threads[CP_WORKERS];
};

static void
job_put(struct cp_job *to, const struct cp_job *from)
{
	memcpy(to, from, offsetof(struct cp_job, dst));
	strcpy(to->dst, from->dst);
}

static struct cp_ext *
job_ext(struct cp_job *j)
{
	return j->ext != NULL ? j->ext : j->inl;
}

/*
 * len bytes from the image's host file at *ioff to dfd at *ooff.  *bufp:
 * the caller's buffer for pread and pwrite, allocated here when needed.
 */
static int
copy_range(struct cp_state *s, char **bufp, int ifd, off_t *ioff, int dfd,
    off_t *ooff, size_t len)
{
	ssize_t n, w;
	size_t i;
	char *buf;

	while (len > 0 && !__atomic_load_n(&s->no_cfr, __ATOMIC_RELAXED)) {
		n = copy_file_range(ifd, ioff, dfd, ooff, len, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EXDEV || errno == EINVAL ||
		    errno == ENOSYS || errno == EOPNOTSUPP)) {
			/* e.g. another host file system: the rest of the
			 * copies go the pread/pwrite way at once */
			__atomic_store_n(&s->no_cfr, true, __ATOMIC_RELAXED);
			break;
		}
		if (n < 0)
			return errno;
		if (n == 0)
			return EIO;	/* the image file ends early */
		len -= (size_t)n;
	}
	if (len > 0 && *bufp == NULL && (*bufp = malloc(CP_BUF)) == NULL)
		return ENOMEM;
	buf = *bufp;
	while (len > 0) {
		n = pread(ifd, buf, len < CP_BUF ? len : CP_BUF, *ioff);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? errno : EIO;
		for (i = 0; i < (size_t)n; i += (size_t)w) {
			w = pwrite(dfd, buf + i, (size_t)n - i, *ooff + (off_t)i);
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

/* Copy a job's extents, give the file its size, close it. */
static void
job_run(struct cp_state *s, struct cp_job *j, char **bufp)
{
	struct cp_ext *x = job_ext(j);
	struct timespec ts[2];
	struct loc dst;
	off_t ioff, ooff, end = 0;
	uint32_t i;
	int err = 0;

	for (i = 0; i < j->n && err == 0; i++) {
		ioff = (off_t)x[i].physical;
		ooff = (off_t)x[i].logical;
		err = copy_range(s, bufp, j->ifd, &ioff, j->dfd, &ooff,
		    (size_t)x[i].len);
		end = ooff;
		__atomic_fetch_add(&s->bytes, x[i].len, __ATOMIC_RELAXED);
	}
	free(j->ext);
	/* A trailing hole still counts in the size. */
	if (err == 0 && end != j->size && ftruncate(j->dfd, j->size) != 0)
		err = errno;
	/* -p through the descriptor: the directory may be closed to us by
	 * now (its own mode is set when the walk leaves it).  Owner first:
	 * chown clears set-id bits. */
	if (err == 0 && j->preserve) {
		ts[0] = j->st.st_atim;
		ts[1] = j->st.st_mtim;
		if (fchown(j->dfd, j->st.st_uid, j->st.st_gid) != 0 && s->root)
			err = errno;
		else if (fchmod(j->dfd, j->st.st_mode & 07777) != 0 ||
		    futimens(j->dfd, ts) != 0)
			err = errno;
	}
	if (close(j->dfd) != 0 && err == 0)
		err = errno;
	if (err != 0) {
		loc_host(j->dst, &dst);
		warn_loc(&dst, err);
		__atomic_store_n(&s->async_rc, 1, __ATOMIC_RELAXED);
	}
}

static void *
worker(void *arg)
{
	struct cp_state *s = arg;
	struct cp_pool *p = s->pool;
	struct cp_job j;	/* a few KiB: thread stacks have megabytes */
	char *buf = NULL;

	pthread_mutex_lock(&p->lock);
	for (;;) {
		while (p->count == 0 && !p->closing) {
			p->sleeping++;
			pthread_cond_wait(&p->nonempty, &p->lock);
			p->sleeping--;
		}
		if (p->count == 0)
			break;
		job_put(&j, &p->q[p->head]);
		p->head = (p->head + 1) % CP_QUEUE;
		p->count--;
		/* Wake the walk once per half queue, not once per job. */
		if (p->full && p->count <= CP_LOWAT) {
			p->full = false;
			pthread_cond_signal(&p->nonfull);
		}
		pthread_mutex_unlock(&p->lock);
		job_run(s, &j, &buf);
		pthread_mutex_lock(&p->lock);
	}
	pthread_mutex_unlock(&p->lock);
	free(buf);
	return NULL;
}

/*
 * Queue j (waiting for room), or run it here when there are no threads.
 * Sleeping workers are woken once a few jobs or one large one wait.
 */
static void
job_submit(struct cp_state *s, struct cp_job *j)
{
	struct cp_pool *p = s->pool;

	if (p == NULL && !s->nopool) {
		if ((p = calloc(1, sizeof(*p))) != NULL) {
			pthread_mutex_init(&p->lock, NULL);
			pthread_cond_init(&p->nonempty, NULL);
			pthread_cond_init(&p->nonfull, NULL);
			s->pool = p;
			while (p->nthreads < CP_WORKERS && pthread_create(
			    &p->threads[p->nthreads], NULL, worker, s) == 0)
				p->nthreads++;
		}
		if (p == NULL || p->nthreads == 0) {
			s->nopool = true;
			free(p);
			p = s->pool = NULL;
		}
	}
	if (p == NULL) {
		job_run(s, j, &s->buf);
		return;
	}
	pthread_mutex_lock(&p->lock);
	while (p->count == CP_QUEUE) {
		p->full = true;
		pthread_cond_wait(&p->nonfull, &p->lock);
	}
	job_put(&p->q[(p->head + p->count) % CP_QUEUE], j);
	p->count++;
	if (p->sleeping > 0 && (p->count >= CP_BATCH ||
	    j->bytes >= CP_BIGJOB))
		pthread_cond_signal(&p->nonempty);
	pthread_mutex_unlock(&p->lock);
}

/* Every job done; the threads gone. */
static void
pool_finish(struct cp_state *s)
{
	struct cp_pool *p = s->pool;
	int i;

	if (p == NULL)
		return;
	pthread_mutex_lock(&p->lock);
	p->closing = true;
	pthread_cond_broadcast(&p->nonempty);
	pthread_mutex_unlock(&p->lock);
	for (i = 0; i < p->nthreads; i++)
		pthread_join(p->threads[i], NULL);
	pthread_mutex_destroy(&p->lock);
	pthread_cond_destroy(&p->nonempty);
	pthread_cond_destroy(&p->nonfull);
	free(p);
	s->pool = NULL;
}

/*
 * Map src (open as sfd) and queue the copy into dfd.  Returns -1, having
 * done nothing, when the map cannot be had or holds something other than
 * plain blocks (inline data): the caller copies the ordinary way.
 * Otherwise dfd belongs to the job, which closes it and reports its own
 * errors, and the result is 0.
 */
static int
copy_mapped(struct cp_state *s, const struct loc *dst, int sfd, int dfd,
    const struct stat *st, int ifd)
{
	struct cp_job *j = &s->job;
	struct fiemap_extent *e;
	struct cp_ext *x;
	uint64_t start = 0, size = (uint64_t)st->st_size;
	uint32_t i, cap = CP_NINLINE;
	bool last = false;

	if (s->map == NULL && (s->map = calloc(1, sizeof(struct fiemap) +
	    CP_NEXTENT * sizeof(struct fiemap_extent))) == NULL)
		return -1;
	j->n = 0;
	j->ext = NULL;
	j->bytes = 0;
	while (!last && start < size) {
		memset(s->map, 0, sizeof(*s->map));
		s->map->fm_start = start;
		s->map->fm_length = FIEMAP_MAX_OFFSET;
		s->map->fm_extent_count = CP_NEXTENT;
		if (pith_sys_ioctl(sfd, FS_IOC_FIEMAP, s->map) != 0)
			goto notmapped;
		if (s->map->fm_mapped_extents < CP_NEXTENT)
			last = true;
		for (i = 0; i < s->map->fm_mapped_extents; i++) {
			e = &s->map->fm_extents[i];
			if (e->fe_flags & ~(FIEMAP_EXTENT_LAST |
			    FIEMAP_EXTENT_MERGED | FIEMAP_EXTENT_UNWRITTEN))
				goto notmapped;
			if (e->fe_flags & FIEMAP_EXTENT_LAST)
				last = true;
			if (e->fe_logical + e->fe_length <= start)
				goto notmapped;		/* no progress */
			start = e->fe_logical + e->fe_length;
			if (e->fe_flags & FIEMAP_EXTENT_UNWRITTEN ||
			    e->fe_logical >= size)
				continue;
			if (j->n == cap) {
				cap *= 2;
				x = realloc(j->ext, cap * sizeof(*x));
				if (x == NULL)
					goto notmapped;
				if (j->ext == NULL)
					memcpy(x, j->inl, sizeof(j->inl));
				j->ext = x;
			}
			x = &job_ext(j)[j->n++];
			x->logical = e->fe_logical;
			x->physical = e->fe_physical;
			x->len = e->fe_length;
			if (x->len > size - x->logical)
				x->len = size - x->logical;
			j->bytes += x->len;
		}
	}
	j->ifd = ifd;
	j->dfd = dfd;
	j->size = st->st_size;
	j->preserve = s->preserve;
	j->st = *st;
	snprintf(j->dst, sizeof(j->dst), "%s", dst->path);
	job_submit(s, j);
	return 0;
notmapped:
	free(j->ext);
	j->ext = NULL;
	return -1;
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
    const struct stat *st, const struct cp_at *at, const struct cp_at *dat)
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
	sfd = at != NULL ?
	    src->ops->openat(at->fd, at->name, O_RDONLY | O_CLOEXEC | O_NOCTTY) :
	    src->ops->open(src->path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (sfd < 0) {
		warn_loc(src, errno);
		return 1;
	}
	dfd = dat != NULL ? dst->ops->openat(dat->fd, dat->name, O_WRONLY |
	    O_CREAT | O_TRUNC | O_CLOEXEC | O_NOCTTY, st->st_mode & 0777) :
	    dst->ops->open(dst->path, O_WRONLY | O_CREAT | O_TRUNC |
	    O_CLOEXEC | O_NOCTTY, st->st_mode & 0777);
	if (dfd < 0 && errno == EACCES && clear_dst(dst) == 0)
		dfd = dst->ops->open(dst->path, O_WRONLY | O_CREAT | O_TRUNC |
		    O_CLOEXEC | O_NOCTTY, st->st_mode & 0777);
	if (dfd < 0) {
		warn_loc(dst, errno);
		src->ops->close(sfd);
		return 1;
	}
	if (src->img != NULL && dst->img == NULL &&
	    (ifd = image_hostfd(src)) >= 0 &&
	    (rc = copy_mapped(s, dst, sfd, dfd, st, ifd)) >= 0) {
		/* The copy, the close and -p are the job's. */
		src->ops->close(sfd);
		if (rc == 0 && slot != NULL)
			link_remember(s, slot, src, st, dst);
		s->files++;
		progress(s, false);
		return rc;
	}
	rc = copy_data(s, src, dst, sfd, dfd, st);
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
    const struct loc *dst, bool top, const struct cp_at *at,
    const struct cp_at *dat);

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
    const struct stat *st, const struct cp_at *at, const struct cp_at *dat)
{
	mode_t mode = st->st_mode & 07777 & ~s->umask;
	struct namelist nl;
	struct stat dst_st;
	struct loc cs, cd;
	struct cp_at cat, dcat;
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
	/* The entries are looked at relative to the directory (when it can
	 * be opened; their paths otherwise), not walked to from the top. */
	cat.fd = at != NULL ? src->ops->openat(at->fd, at->name,
	    O_RDONLY | O_DIRECTORY | O_CLOEXEC) :
	    src->ops->open(src->path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	/* New files are created relative to the destination the same way. */
	dcat.fd = dat != NULL ? dst->ops->openat(dat->fd, dat->name,
	    O_RDONLY | O_DIRECTORY | O_CLOEXEC) :
	    dst->ops->open(dst->path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	for (i = 0; i < nl.n && !interrupted; i++) {
		if (loc_child(src, nl.names[i], &cs) != 0 ||
		    loc_child(dst, nl.names[i], &cd) != 0) {
			rc = 1;
			continue;
		}
		cat.name = dcat.name = nl.names[i];
		rc |= copy_any(s, &cs, &cd, false, cat.fd >= 0 ? &cat : NULL,
		    dcat.fd >= 0 ? &dcat : NULL);
	}
	if (cat.fd >= 0)
		src->ops->close(cat.fd);
	if (dcat.fd >= 0)
		dst->ops->close(dcat.fd);
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
    bool top, const struct cp_at *at, const struct cp_at *dat)
{
	bool follow = s->follow || (top && !s->recursive);
	struct stat st, dst_st;
	int r;

	if (interrupted)
		return 1;
	if (at != NULL)
		r = src->ops->fstatat(at->fd, at->name, &st,
		    follow ? 0 : AT_SYMLINK_NOFOLLOW);
	else
		r = follow ? src->ops->stat(src->path, &st) :
		    src->ops->lstat(src->path, &st);
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
		return copy_dir(s, src, dst, &st, at, dat);
	case S_IFREG:
		return copy_reg(s, src, dst, &st, at, dat);
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
		rc |= copy_any(s, &src, &d, true, NULL, NULL);
	}
	pool_finish(s);
	reader_finish(s);
	progress(s, true);
	return rc | s->async_rc;
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
