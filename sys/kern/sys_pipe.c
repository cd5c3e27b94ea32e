/*
 * Pipes: pipe(2), pipe2(2) and the pipe fileops.
 *
 * A pipe is a ring buffer (64 KiB unless F_SETPIPE_SZ changes it,
 * allocated on the first write) shared by two files: the read end
 * (f_flag O_RDONLY) and the write end (O_WRONLY).  pi_readers and
 * pi_writers count the open files of each end; the pipe is freed when the
 * last file of either kind has gone (fo_close).  Everything lives under
 * pi_lock; readers sleep on pi_rcv waiting for data, writers on pi_wcv
 * waiting for space, with cv_wait, which gives up the virtual CPU.
 *
 * Linux rules kept: a read returns what is there (0 at end of file, when
 * no writer is left) and only waits when the pipe is empty; a write of at
 * most PIPE_BUF bytes goes in whole or not at all; a bigger one may be
 * split between readers; O_NONBLOCK turns waits into EAGAIN (or a partial
 * count).  Writing with no reader left is EPIPE.  There are no signals
 * yet, so no SIGPIPE is raised: the writer sees EPIPE only.  pipe2's
 * O_DIRECT is accepted and remembered in f_flag, but "packet mode" is not
 * implemented: data is a byte stream either way.
 *
 * F_SETPIPE_SZ rounds up to a power of two of pages, at least one page;
 * above 1 MiB (Linux's default pipe-max-size) it fails with EPERM for
 * everyone, as for a Linux user without CAP_SYS_RESOURCE; fitting fewer
 * bytes than the pipe holds is EBUSY.
 *
 * Poll: the read end is readable when there is data, gets POLLHUP when no
 * writer is left; the write end is writable when PIPE_BUF bytes fit, gets
 * POLLERR when no reader is left.  Wakeups are posted under pi_lock, and
 * fo_poll registers under pi_lock, so none is lost.
 */
#include "kern/kern.h"
#include "kern/file.h"
#include "kern/poll.h"
#include "gen/sysproto.h"

#define PIPE_PAGE 4096
#define PIPE_DEFAULT_SIZE (16 * PIPE_PAGE)
#define PIPE_MAX_SIZE (1024 * 1024)
#define PIPEFS_DEV 0xfUL

struct pipe {
	kmutex_t pi_lock;
	kcondvar_t pi_rcv;              /* readers wait for data or EOF */
	kcondvar_t pi_wcv;              /* writers wait for space */
	struct waitq pi_wq;             /* poll, select, epoll */
	char *pi_buf;                   /* [pi_lock] NULL until first write */
	size_t pi_cap;                  /* [pi_lock] */
	size_t pi_start;                /* [pi_lock] oldest byte */
	size_t pi_len;                  /* [pi_lock] bytes held */
	int pi_readers, pi_writers;     /* [pi_lock] open files of each end */
	uint64_t pi_ino;                /* [I] */
	uid_t pi_uid;                   /* [I] */
	gid_t pi_gid;                   /* [I] */
	struct timespec pi_atime, pi_mtime, pi_ctime;  /* [pi_lock] */
};

static uint64_t pipe_nextino = 1;       /* [a] */

static bool
pipe_isreader(struct file *fp)
{
	return (fp->f_flag & O_ACCMODE) == O_RDONLY;
}

static bool
pipe_nonblock(struct file *fp)
{
	return (atomic_load(&fp->f_flag) & O_NONBLOCK) != 0;
}

/* Copy out up to n bytes from the ring.  pi_lock held. */
static int
pipe_copyout(struct pipe *pi, struct uio *uio, size_t n)
{
	size_t first = MIN(n, pi->pi_cap - pi->pi_start);
	size_t before = uio->uio_resid;
	int error;

	error = uiomove(pi->pi_buf + pi->pi_start, first, uio);
	if (error == 0 && n > first)
		error = uiomove(pi->pi_buf, n - first, uio);
	n = before - uio->uio_resid;
	pi->pi_start = (pi->pi_start + n) % pi->pi_cap;
	pi->pi_len -= n;
	if (pi->pi_len == 0)
		pi->pi_start = 0;
	return error;
}

/* Copy in up to n bytes at the ring's end.  pi_lock held. */
static int
pipe_copyin(struct pipe *pi, struct uio *uio, size_t n)
{
	size_t end = (pi->pi_start + pi->pi_len) % pi->pi_cap;
	size_t first = MIN(n, pi->pi_cap - end);
	size_t before = uio->uio_resid;
	int error;

	error = uiomove(pi->pi_buf + end, first, uio);
	if (error == 0 && n > first)
		error = uiomove(pi->pi_buf, n - first, uio);
	pi->pi_len += before - uio->uio_resid;
	return error;
}

static int
pipe_read(struct file *fp, struct uio *uio, int flags)
{
	struct pipe *pi = fp->f_data;
	size_t before = uio->uio_resid;
	int error = 0;

	if (uio->uio_resid == 0)
		return 0;
	mutex_enter(&pi->pi_lock);
	while (pi->pi_len == 0) {
		if (pi->pi_writers == 0)
			goto out;       /* end of file */
		if (pipe_nonblock(fp)) {
			error = EAGAIN;
			goto out;
		}
		cv_wait(&pi->pi_rcv, &pi->pi_lock);
	}
	error = pipe_copyout(pi, uio, MIN(pi->pi_len, uio->uio_resid));
	if (uio->uio_resid != before) {
		error = 0;
		time_now(&pi->pi_atime);
		cv_broadcast(&pi->pi_wcv);
		waitq_wakeup(&pi->pi_wq, POLLOUT | POLLWRNORM);
	}
out:
	mutex_exit(&pi->pi_lock);
	return error;
}

/* Room for the next chunk of a write?  pi_lock held. */
static bool
pipe_writable(struct pipe *pi, size_t resid, bool atomic)
{
	size_t space = pi->pi_cap - pi->pi_len;

	return atomic ? space >= resid : space > 0;
}

static int
pipe_write(struct file *fp, struct uio *uio, int flags)
{
	struct pipe *pi = fp->f_data;
	size_t before = uio->uio_resid;
	bool atomic = before <= PIPE_BUF;
	int error = 0;

	if (before == 0)
		return 0;
	mutex_enter(&pi->pi_lock);
	while (uio->uio_resid > 0) {
		if (pi->pi_readers == 0) {
			error = EPIPE;
			break;
		}
		if (!pipe_writable(pi, uio->uio_resid, atomic)) {
			if (pipe_nonblock(fp)) {
				error = EAGAIN;
				break;
			}
			cv_wait(&pi->pi_wcv, &pi->pi_lock);
			continue;
		}
		if (pi->pi_buf == NULL) {
			pi->pi_buf = kmem_alloc(pi->pi_cap);
			if (pi->pi_buf == NULL) {
				error = ENOMEM;
				break;
			}
		}
		error = pipe_copyin(pi, uio,
		    MIN(uio->uio_resid, pi->pi_cap - pi->pi_len));
		cv_broadcast(&pi->pi_rcv);
		waitq_wakeup(&pi->pi_wq, POLLIN | POLLRDNORM);
		if (error)
			break;
	}
	if (uio->uio_resid != before) {
		error = 0;              /* a partial write counts */
		time_now(&pi->pi_mtime);
		pi->pi_ctime = pi->pi_mtime;
	}
	mutex_exit(&pi->pi_lock);
	return error;
}

static int
pipe_ioctl(struct file *fp, unsigned long cmd, void *data)
{
	struct pipe *pi = fp->f_data;

	switch (cmd) {
	case FIONREAD:
		mutex_enter(&pi->pi_lock);
		*(int *)data = (int)pi->pi_len;
		mutex_exit(&pi->pi_lock);
		return 0;
	case FIONBIO:
		return 0;       /* f_flag already changed by the caller */
	default:
		return ENOTTY;
	}
}

static int
pipe_poll(struct file *fp, int events, struct pollwait *pw)
{
	struct pipe *pi = fp->f_data;
	int revents = 0;

	mutex_enter(&pi->pi_lock);
	pollwait_add(pw, &pi->pi_wq);
	if (pipe_isreader(fp)) {
		if (pi->pi_len > 0)
			revents |= POLLIN | POLLRDNORM;
		if (pi->pi_writers == 0)
			revents |= POLLHUP;
	} else {
		if (pi->pi_cap - pi->pi_len >= PIPE_BUF)
			revents |= POLLOUT | POLLWRNORM;
		if (pi->pi_readers == 0)
			revents |= POLLERR;
	}
	mutex_exit(&pi->pi_lock);
	return revents;
}

static int
pipe_stat(struct file *fp, struct stat *st)
{
	struct pipe *pi = fp->f_data;

	memset(st, 0, sizeof(*st));
	st->st_dev = PIPEFS_DEV;
	st->st_ino = pi->pi_ino;
	st->st_nlink = 1;
	st->st_mode = S_IFIFO | S_IRUSR | S_IWUSR;
	st->st_uid = pi->pi_uid;
	st->st_gid = pi->pi_gid;
	st->st_blksize = PIPE_PAGE;
	mutex_enter(&pi->pi_lock);
	st->st_atim = pi->pi_atime;
	st->st_mtim = pi->pi_mtime;
	st->st_ctim = pi->pi_ctime;
	mutex_exit(&pi->pi_lock);
	return 0;
}

static void
pipe_free(struct pipe *pi)
{
	if (pi->pi_buf != NULL)
		kmem_free(pi->pi_buf, pi->pi_cap);
	waitq_destroy(&pi->pi_wq);
	cv_destroy(&pi->pi_rcv);
	cv_destroy(&pi->pi_wcv);
	mutex_destroy(&pi->pi_lock);
	kmem_free(pi, sizeof(*pi));
}

/* The last reference to one end is gone: tell the other end. */
static void
pipe_close(struct file *fp)
{
	struct pipe *pi = fp->f_data;
	bool last;

	mutex_enter(&pi->pi_lock);
	if (pipe_isreader(fp)) {
		pi->pi_readers--;
		cv_broadcast(&pi->pi_wcv);
		waitq_wakeup(&pi->pi_wq, POLLERR);
	} else {
		pi->pi_writers--;
		cv_broadcast(&pi->pi_rcv);
		waitq_wakeup(&pi->pi_wq, POLLHUP);
	}
	last = pi->pi_readers == 0 && pi->pi_writers == 0;
	mutex_exit(&pi->pi_lock);
	if (last)
		pipe_free(pi);
}

static const struct fileops pipeops = {
	.fo_read = pipe_read,
	.fo_write = pipe_write,
	.fo_ioctl = pipe_ioctl,
	.fo_poll = pipe_poll,
	.fo_stat = pipe_stat,
	.fo_seek = NULL,        /* ESPIPE */
	.fo_close = pipe_close,
	.fo_vnode = NULL,
};

int
pipe_getsize(struct file *fp, long *ret)
{
	struct pipe *pi = fp->f_data;

	if (fp->f_ops != &pipeops)
		return EBADF;
	mutex_enter(&pi->pi_lock);
	*ret = (long)pi->pi_cap;
	mutex_exit(&pi->pi_lock);
	return 0;
}

/* Linux takes the size as an unsigned int. */
static int
pipe_roundsize(unsigned long arg, size_t *size)
{
	unsigned int req = (unsigned int)arg;
	size_t n = PIPE_PAGE;

	if (req > (1U << 31))
		return EINVAL;
	while (n < req)
		n *= 2;
	if (n > PIPE_MAX_SIZE)
		return EPERM;
	*size = n;
	return 0;
}

int
pipe_setsize(struct file *fp, unsigned long arg, long *ret)
{
	struct pipe *pi = fp->f_data;
	char *nbuf = NULL, *obuf = NULL;
	size_t size, ocap = 0;
	int error;

	if (fp->f_ops != &pipeops)
		return EBADF;
	error = pipe_roundsize(arg, &size);
	if (error)
		return error;
	nbuf = kmem_alloc(size);
	if (nbuf == NULL)
		return ENOMEM;
	mutex_enter(&pi->pi_lock);
	if (pi->pi_len > size) {
		error = EBUSY;
		goto out;
	}
	if (pi->pi_buf != NULL) {
		/* Linearise the ring into the new buffer. */
		struct iovec iov;
		struct uio uio;
		size_t len = pi->pi_len;

		uio_setup_sys(&uio, &iov, nbuf, len, 0, UIO_READ);
		error = pipe_copyout(pi, &uio, len);
		KASSERT(error == 0);
		pi->pi_len = len;
		pi->pi_start = 0;
		obuf = pi->pi_buf;
		ocap = pi->pi_cap;
		pi->pi_buf = nbuf;
		nbuf = NULL;
	}
	pi->pi_cap = size;
	cv_broadcast(&pi->pi_wcv);
	waitq_wakeup(&pi->pi_wq, POLLOUT | POLLWRNORM);
	*ret = (long)size;
out:
	mutex_exit(&pi->pi_lock);
	if (obuf != NULL)
		kmem_free(obuf, ocap);
	if (nbuf != NULL)
		kmem_free(nbuf, size);
	return error;
}

static int
pipe_create(struct pipe **ret)
{
	struct pipe *pi;
	struct cred *cr;

	pi = kmem_zalloc(sizeof(*pi));
	if (pi == NULL)
		return ENOMEM;
	cr = cred_get();
	if (cr == NULL) {
		kmem_free(pi, sizeof(*pi));
		return ENOMEM;
	}
	pi->pi_uid = cr->cr_fsuid;
	pi->pi_gid = cr->cr_fsgid;
	cred_free(cr);
	mutex_init(&pi->pi_lock);
	cv_init(&pi->pi_rcv);
	cv_init(&pi->pi_wcv);
	waitq_init(&pi->pi_wq);
	pi->pi_cap = PIPE_DEFAULT_SIZE;
	pi->pi_ino = __atomic_fetch_add(&pipe_nextino, 1, __ATOMIC_RELAXED);
	time_now(&pi->pi_atime);
	pi->pi_mtime = pi->pi_ctime = pi->pi_atime;
	*ret = pi;
	return 0;
}

/* Two files on a new pipe, not yet installed. */
static int
pipe_files(int flags, struct file **rfp, struct file **wfp)
{
	unsigned fl = flags & (O_NONBLOCK | O_DIRECT);
	struct pipe *pi;
	int error;

	error = pipe_create(&pi);
	if (error)
		return error;
	error = file_alloc(&pipeops, pi, O_RDONLY | fl, rfp);
	if (error) {
		pipe_free(pi);
		return error;
	}
	pi->pi_readers = 1;
	error = file_alloc(&pipeops, pi, O_WRONLY | fl, wfp);
	if (error) {
		file_rele(*rfp);        /* frees the pipe: no writer either */
		return error;
	}
	pi->pi_writers = 1;
	return 0;
}

long
sys_pipe2(int *ufds, int flags)
{
	struct file *rfp, *wfp;
	int fds[2] = { -1, -1 };
	bool cloexec = (flags & O_CLOEXEC) != 0;
	int error;

	if (flags & ~(O_CLOEXEC | O_NONBLOCK | O_DIRECT))
		return -EINVAL;
	error = pipe_files(flags, &rfp, &wfp);
	if (error)
		return -error;
	error = fd_install(rfp, 0, cloexec, &fds[0]);
	if (error == 0)
		error = fd_install(wfp, 0, cloexec, &fds[1]);
	if (error == 0)
		error = copyout(fds, ufds, sizeof(fds));
	if (error) {
		if (fds[0] >= 0)
			(void)fd_close(fds[0]);
		if (fds[1] >= 0)
			(void)fd_close(fds[1]);
	}
	/* The descriptors hold their own references now. */
	file_rele(rfp);
	file_rele(wfp);
	return -error;
}

long
sys_pipe(int *fds)
{
	return sys_pipe2(fds, 0);
}
