/*
 * The system calls that work on any descriptor: read, write and their
 * vector and positional forms, lseek, close, dup*, fcntl, ioctl, fstat.
 *
 * Each looks the descriptor up (fd_get: a referenced file), checks what
 * Linux checks in the order Linux checks it, and hands the work to the
 * file's ops vector.  Transfers are described by a uio over the caller's
 * buffers; the ops move the bytes with uiomove.  The offset protocol
 * (FOF_UPDATE_OFFSET) is described in kern/file.h.
 *
 * Like Linux, a transfer is clamped to MAX_RW_COUNT bytes, and a buffer
 * whose length would wrap the address space (a "negative" count) is
 * EFAULT, which is what Linux's access_ok check gives.
 *
 * Record locks: there is one process holding every lock, so F_GETLK
 * always reports F_UNLCK and F_SETLK/F_SETLKW always succeed after Linux's
 * argument checks (bad type or whence, lock type the descriptor's mode
 * does not allow).  This is honest for a single process and wrong only
 * between processes of one kernel, which can be fixed when record locking
 * arrives.  F_SETOWN is accepted and F_GETOWN reports 0: there are no
 * signals to deliver.
 */
#include "kern/kern.h"
#include "kern/file.h"
#include "kern/proc.h"
#include "gen/sysproto.h"

#define MAX_RW_COUNT (INT_MAX & ~0xfff)
#define IOV_SMALL 8

/* Linux's struct flock on x86-64. */
struct linux_flock {
	short l_type;
	short l_whence;
	off_t l_start;
	off_t l_len;
	pid_t l_pid;
};
#define F_RDLCK 0
#define F_WRLCK 1
#define F_UNLCK 2
#define F_OFD_GETLK 36
#define F_OFD_SETLK 37
#define F_OFD_SETLKW 38

/* Status flags F_SETFL may change. */
#define SETFL_MASK (O_APPEND | O_NONBLOCK | O_ASYNC | O_DIRECT | O_NOATIME)
/* Open-time flags Linux never reports in F_GETFL. */
#define GETFL_HIDE (O_CREAT | O_EXCL | O_NOCTTY | O_TRUNC | O_CLOEXEC)

static bool
range_ok(const void *addr, size_t len)
{
	return (ssize_t)len >= 0 && (uintptr_t)addr + len >= (uintptr_t)addr;
}

/*
 * Look fd up for a transfer.  Linux's order: bad (or O_PATH) descriptor, then
 * ESPIPE for positional I/O on an unseekable file, then a descriptor not
 * open for the direction (EBADF), then a file that cannot do it (EINVAL).
 */
static int
fd_get_rw(int fd, enum uio_rw rw, bool positional, struct file **ret)
{
	struct file *fp;
	unsigned acc;
	int error;

	error = fd_get_nopath(fd, &fp);
	if (error)
		return error;
	acc = atomic_load(&fp->f_flag) & O_ACCMODE;
	if (positional && fp->f_ops->fo_seek == NULL)
		error = ESPIPE;
	else if (rw == UIO_READ && acc != O_RDONLY && acc != O_RDWR)
		error = EBADF;
	else if (rw == UIO_WRITE && acc != O_WRONLY && acc != O_RDWR)
		error = EBADF;
	else if ((rw == UIO_READ ? fp->f_ops->fo_read : fp->f_ops->fo_write) == NULL)
		error = EINVAL;
	if (error) {
		file_rele(fp);
		return error;
	}
	*ret = fp;
	return 0;
}

/* Run the transfer; returns the count or -errno.  pos < 0: no position
 * given (read/write), use and update f_offset. */
static long
file_transfer(struct file *fp, struct uio *uio, off_t pos)
{
	size_t before = uio->uio_resid;
	int flags = 0, error;

	if (before == 0)
		return 0;
	if (pos < 0) {
		flags = FOF_UPDATE_OFFSET;
		uio->uio_offset = fp->f_offset;
	} else {
		uio->uio_offset = pos;
	}
	if (uio->uio_rw == UIO_READ)
		error = fp->f_ops->fo_read(fp, uio, flags);
	else
		error = fp->f_ops->fo_write(fp, uio, flags);
	if (error && uio->uio_resid != before)
		error = 0;      /* what moved counts, as in Linux */
	if (error)
		return -error;
	return (long)(before - uio->uio_resid);
}

static void
uio_user(struct uio *uio, struct iovec *iov, int iovcnt, size_t total,
    enum uio_rw rw)
{
	uio->uio_iov = iov;
	uio->uio_iovcnt = iovcnt;
	uio->uio_offset = 0;
	uio->uio_resid = total;
	uio->uio_rw = rw;
	uio->uio_segflg = UIO_USERSPACE;
}

static long
do_rw(int fd, void *buf, size_t count, off_t pos, enum uio_rw rw)
{
	struct file *fp;
	struct iovec iov;
	struct uio uio;
	long ret;
	int error;

	error = fd_get_rw(fd, rw, pos >= 0, &fp);
	if (error)
		return -error;
	if (!range_ok(buf, count)) {
		file_rele(fp);
		return -EFAULT;
	}
	iov.iov_base = buf;
	iov.iov_len = MIN(count, (size_t)MAX_RW_COUNT);
	uio_user(&uio, &iov, 1, iov.iov_len, rw);
	ret = file_transfer(fp, &uio, pos);
	file_rele(fp);
	return ret;
}

long
sys_read(int fd, void *buf, size_t count)
{
	return do_rw(fd, buf, count, -1, UIO_READ);
}

long
sys_write(int fd, const void *buf, size_t count)
{
	return do_rw(fd, (void *)buf, count, -1, UIO_WRITE);
}

long
sys_pread64(int fd, void *buf, size_t count, off_t offset)
{
	if (offset < 0)
		return -EINVAL;
	return do_rw(fd, buf, count, offset, UIO_READ);
}

long
sys_pwrite64(int fd, const void *buf, size_t count, off_t offset)
{
	if (offset < 0)
		return -EINVAL;
	return do_rw(fd, (void *)buf, count, offset, UIO_WRITE);
}

/*
 * Copy in an iovec array: EINVAL for a count outside 0..IOV_MAX, EFAULT
 * for a segment that wraps; the total is clamped to MAX_RW_COUNT by
 * shortening segments, as Linux does.  *iovp is small or a kmem block of
 * iovcnt entries the caller frees.
 */
static int
iov_import(const struct iovec *uiov, int iovcnt, struct iovec *small,
    struct iovec **iovp, size_t *total)
{
	struct iovec *iov = small;
	size_t sum = 0;
	int error, i;

	if (iovcnt < 0 || iovcnt > IOV_MAX)
		return EINVAL;
	if (iovcnt > IOV_SMALL) {
		iov = kmem_alloc(iovcnt * sizeof(*iov));
		if (iov == NULL)
			return ENOMEM;
	}
	error = copyin(uiov, iov, iovcnt * sizeof(*iov));
	for (i = 0; i < iovcnt && error == 0; i++) {
		if (!range_ok(iov[i].iov_base, iov[i].iov_len)) {
			error = EFAULT;
			break;
		}
		if (iov[i].iov_len > MAX_RW_COUNT - sum)
			iov[i].iov_len = MAX_RW_COUNT - sum;
		sum += iov[i].iov_len;
	}
	if (error) {
		if (iov != small)
			kmem_free(iov, iovcnt * sizeof(*iov));
		return error;
	}
	*iovp = iov;
	*total = sum;
	return 0;
}

static long
do_rwv(int fd, const struct iovec *uiov, int iovcnt, off_t pos,
    enum uio_rw rw)
{
	struct iovec small[IOV_SMALL], *iov;
	struct file *fp;
	struct uio uio;
	size_t total;
	long ret;
	int error;

	error = fd_get_rw(fd, rw, pos >= 0, &fp);
	if (error)
		return -error;
	error = iov_import(uiov, iovcnt, small, &iov, &total);
	if (error) {
		file_rele(fp);
		return -error;
	}
	uio_user(&uio, iov, iovcnt, total, rw);
	ret = file_transfer(fp, &uio, pos);
	file_rele(fp);
	if (iov != small)
		kmem_free(iov, iovcnt * sizeof(*iov));
	return ret;
}

long
sys_readv(int fd, const struct iovec *iov, int iovcnt)
{
	return do_rwv(fd, iov, iovcnt, -1, UIO_READ);
}

long
sys_writev(int fd, const struct iovec *iov, int iovcnt)
{
	return do_rwv(fd, iov, iovcnt, -1, UIO_WRITE);
}

/* On 64-bit Linux the position is pos_l alone. */
long
sys_preadv(int fd, const struct iovec *iov, int iovcnt, unsigned long pos_l,
    unsigned long pos_h)
{
	if ((off_t)pos_l < 0)
		return -EINVAL;
	return do_rwv(fd, iov, iovcnt, (off_t)pos_l, UIO_READ);
}

long
sys_pwritev(int fd, const struct iovec *iov, int iovcnt, unsigned long pos_l,
    unsigned long pos_h)
{
	if ((off_t)pos_l < 0)
		return -EINVAL;
	return do_rwv(fd, iov, iovcnt, (off_t)pos_l, UIO_WRITE);
}

long
sys_lseek(int fd, off_t offset, int whence)
{
	struct file *fp;
	off_t newoff;
	int error;

	error = fd_get_nopath(fd, &fp);
	if (error)
		return -error;
	if ((unsigned)whence > SEEK_HOLE)
		error = EINVAL;
	else if (fp->f_ops->fo_seek == NULL)
		error = ESPIPE;
	else
		error = fp->f_ops->fo_seek(fp, offset, whence, &newoff);
	file_rele(fp);
	return error ? -error : newoff;
}

long
sys_close(int fd)
{
	return -fd_close(fd);
}

long
sys_fstat(int fd, struct stat *ust)
{
	struct file *fp;
	struct stat st;
	struct lwp *light;
	int error;

	error = fd_get_light(fd, &fp, &light);
	if (error)
		return -error;
	/* Every fo_stat fills the whole structure. */
	if (fp->f_ops->fo_stat != NULL)
		error = fp->f_ops->fo_stat(fp, &st);
	else
		memset(&st, 0, sizeof(st));
	fd_put_light(fp, light);
	if (error == 0)
		error = copyout(&st, ust, sizeof(st));
	return -error;
}

/* --- duplication ---------------------------------------------------------- */

static long
dup_to(int oldfd, int newfd, bool cloexec)
{
	struct file *fp;
	int error;

	if (newfd < 0 || newfd >= fd_limit(curproc()->p_fd))
		return -EBADF;
	error = fd_get(oldfd, &fp);
	if (error)
		return -error;
	error = fd_install_at(fp, newfd, cloexec);
	file_rele(fp);
	return error ? -error : newfd;
}

static long
dup_from(int oldfd, int minfd, bool cloexec)
{
	struct file *fp;
	int error, fd;

	error = fd_get(oldfd, &fp);
	if (error)
		return -error;
	error = fd_install(fp, minfd, cloexec, &fd);
	file_rele(fp);
	return error ? -error : fd;
}

long
sys_dup(int fd)
{
	return dup_from(fd, 0, false);
}

long
sys_dup2(int oldfd, int newfd)
{
	struct file *fp;
	int error;

	if (oldfd == newfd) {
		error = fd_get(oldfd, &fp);
		if (error)
			return -error;
		file_rele(fp);
		return newfd;
	}
	return dup_to(oldfd, newfd, false);
}

long
sys_dup3(int oldfd, int newfd, int flags)
{
	if (flags & ~O_CLOEXEC)
		return -EINVAL;
	if (oldfd == newfd)
		return -EINVAL;
	return dup_to(oldfd, newfd, (flags & O_CLOEXEC) != 0);
}

/* --- fcntl -------------------------------------------------------------------- */

static int
fcntl_setfl(struct file *fp, unsigned long arg)
{
	unsigned fl;

	mutex_enter(&fp->f_lock);
	fl = (fp->f_flag & ~SETFL_MASK) | ((unsigned)arg & SETFL_MASK);
	atomic_store(&fp->f_flag, fl);
	mutex_exit(&fp->f_lock);
	return 0;
}

/* See the file comment: one process owns every lock. */
static int
fcntl_lock(struct file *fp, int cmd, void *ufl)
{
	struct linux_flock fl;
	unsigned acc = fp->f_flag & O_ACCMODE;
	bool ofd = cmd >= F_OFD_GETLK;
	int error;

	error = copyin(ufl, &fl, sizeof(fl));
	if (error)
		return error;
	if (fl.l_whence < SEEK_SET || fl.l_whence > SEEK_END)
		return EINVAL;
	if (ofd && fl.l_pid != 0)
		return EINVAL;
	switch (fl.l_type) {
	case F_RDLCK:
	case F_WRLCK:
		break;
	case F_UNLCK:
		if (cmd == F_GETLK || cmd == F_OFD_GETLK)
			return EINVAL;
		break;
	default:
		return EINVAL;
	}
	if (cmd == F_GETLK || cmd == F_OFD_GETLK) {
		fl.l_type = F_UNLCK;
		return copyout(&fl, ufl, sizeof(fl));
	}
	if (fl.l_type == F_RDLCK && acc != O_RDONLY && acc != O_RDWR)
		return EBADF;
	if (fl.l_type == F_WRLCK && acc != O_WRONLY && acc != O_RDWR)
		return EBADF;
	return 0;
}

static int
fcntl_file(int fd, struct file *fp, int cmd, unsigned long arg, long *ret)
{
	unsigned int argi = (unsigned int)arg;
	int error, flags = 0, nfd = -1;

	*ret = 0;
	switch (cmd) {
	case F_DUPFD:
	case F_DUPFD_CLOEXEC:
		if (argi >= (unsigned)fd_limit(curproc()->p_fd))
			return EINVAL;
		error = fd_install(fp, (int)argi, cmd == F_DUPFD_CLOEXEC, &nfd);
		*ret = nfd;
		return error;
	case F_GETFD:
		error = fd_getflags(fd, &flags);
		*ret = flags;
		return error;
	case F_SETFD:
		return fd_setflags(fd, (int)(arg & FD_CLOEXEC));
	case F_GETFL:
		/* O_LARGEFILE is in f_flag where Linux reports it: the VFS
		 * sets it on every open but O_PATH; pipes and epoll lack it. */
		*ret = atomic_load(&fp->f_flag) & ~GETFL_HIDE;
		return 0;
	case F_SETFL:
		return fcntl_setfl(fp, arg);
	case F_GETLK:
	case F_SETLK:
	case F_SETLKW:
	case F_OFD_GETLK:
	case F_OFD_SETLK:
	case F_OFD_SETLKW:
		return fcntl_lock(fp, cmd, (void *)arg);
	case F_GETOWN:
	case F_SETOWN:
		return 0;
	case F_GETPIPE_SZ:
		return pipe_getsize(fp, ret);
	case F_SETPIPE_SZ:
		return pipe_setsize(fp, arg, ret);
	default:
		return EINVAL;
	}
}

/* On an O_PATH descriptor only these work. */
static bool
fcntl_path_refused(struct file *fp, int cmd)
{
	if (!(atomic_load(&fp->f_flag) & O_PATH))
		return false;
	return cmd != F_DUPFD && cmd != F_DUPFD_CLOEXEC && cmd != F_GETFD &&
	    cmd != F_SETFD && cmd != F_GETFL;
}

long
sys_fcntl(int fd, int cmd, unsigned long arg)
{
	struct file *fp;
	long ret;
	int error;

	error = fd_get(fd, &fp);
	if (error)
		return -error;
	if (fcntl_path_refused(fp, cmd))
		error = EBADF;
	else
		error = fcntl_file(fd, fp, cmd, arg, &ret);
	file_rele(fp);
	return error ? -error : ret;
}

/* --- ioctl --------------------------------------------------------------------- */

static int
ioctl_fionbio(struct file *fp, void *uarg)
{
	int on, error;

	error = copyin(uarg, &on, sizeof(on));
	if (error)
		return error;
	mutex_enter(&fp->f_lock);
	if (on)
		atomic_store(&fp->f_flag, fp->f_flag | O_NONBLOCK);
	else
		atomic_store(&fp->f_flag, fp->f_flag & ~O_NONBLOCK);
	mutex_exit(&fp->f_lock);
	/* Let a driver that keeps its own mode know; most do not care. */
	if (fp->f_ops->fo_ioctl != NULL) {
		error = fp->f_ops->fo_ioctl(fp, FIONBIO, &on);
		if (error == ENOTTY)
			error = 0;
	}
	return error;
}

static int
ioctl_fionread(struct file *fp, void *uarg)
{
	int n = 0, error;

	if (fp->f_ops->fo_ioctl == NULL)
		return ENOTTY;
	error = fp->f_ops->fo_ioctl(fp, FIONREAD, &n);
	if (error == 0)
		error = copyout(&n, uarg, sizeof(n));
	return error;
}

/* Linux takes the command as an unsigned int. */
long
sys_ioctl(int fd, unsigned long lcmd, unsigned long arg)
{
	unsigned int cmd = (unsigned int)lcmd;
	struct file *fp;
	int error;

	error = fd_get_nopath(fd, &fp);
	if (error)
		return -error;
	switch (cmd) {
	case FIOCLEX:
		error = fd_setflags(fd, FD_CLOEXEC);
		break;
	case FIONCLEX:
		error = fd_setflags(fd, 0);
		break;
	case FIONBIO:
		error = ioctl_fionbio(fp, (void *)arg);
		break;
	case FIONREAD:
		error = ioctl_fionread(fp, (void *)arg);
		break;
	default:
		if (fp->f_ops->fo_ioctl == NULL)
			error = ENOTTY;
		else
			error = fp->f_ops->fo_ioctl(fp, cmd, (void *)arg);
		break;
	}
	file_rele(fp);
	return -error;
}
