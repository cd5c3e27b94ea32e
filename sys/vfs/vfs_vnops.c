/*
 * Open vnodes: the struct fileops behind descriptors for files,
 * directories and character devices, plus the pieces of open(2) that act
 * on an already-found vnode.
 *
 * A vnode file's f_data is the vnode, referenced for the file's life and
 * released in fo_close.  Reads and writes that use the file offset hold
 * f_lock across the file-system call, so concurrent read(2)s on one file
 * see disjoint ranges as Linux's f_pos lock gives.  Devices are not
 * serialised (a console read may block): their switch is found with
 * cdev_lookup on each call, which needs no lock after boot.
 *
 * O_PATH descriptors get vn_pathops: only fstat, the vnode (for fchdir,
 * fstatfs and *at) and close; everything else is EBADF.
 */
#include "vfs/vfs_impl.h"
#include "kern/cdev.h"
#include "kern/poll.h"

bool
vn_rdonly(struct vnode *vp)
{
	return (vp->v_mount->mnt_flags & MS_RDONLY) != 0;
}


void
vn_stat_fill(const struct vattr *va, struct stat *st)
{
	/* Every field, padding included, without a separate clear: this is
	 * the fstat path. */
	st->st_dev = va->va_fsid;
	st->__pad0 = 0;
	st->__st_reserved[0] = st->__st_reserved[1] = st->__st_reserved[2] = 0;
	st->st_ino = va->va_ino;
	st->st_nlink = va->va_nlink;
	st->st_mode = vtype_ifmt(va->va_type) | (va->va_mode & ALLPERMS);
	st->st_uid = va->va_uid;
	st->st_gid = va->va_gid;
	st->st_rdev = va->va_rdev;
	st->st_size = (long)va->va_size;
	st->st_blksize = va->va_blksize ? (long)va->va_blksize : 4096;
	st->st_blocks = (long)va->va_blocks;
	st->st_atim = va->va_atime;
	st->st_mtim = va->va_mtime;
	st->st_ctim = va->va_ctime;
}

int
vn_stat(struct vnode *vp, struct stat *st)
{
	struct vattr va;
	int error;

	if (vp->v_op->vop_stat != NULL)
		return vp->v_op->vop_stat(vp, st);
	error = vp->v_op->vop_getattr(vp, &va);
	if (error)
		return error;
	vn_stat_fill(&va, st);
	st->st_dev = vp->v_mount->mnt_dev;
	return 0;
}

int
vn_truncate(struct vnode *vp, off_t len, const struct cred *cred)
{
	struct vattr va;
	int error;

	if (vp->v_type == VDIR)
		return EISDIR;
	if (vp->v_type != VREG)
		return EINVAL;
	if (len < 0)
		return EINVAL;
	if (cred != NULL) {
		error = vn_access(vp, VWRITE, cred);
		if (error)
			return error;
	}
	if (vn_rdonly(vp))
		return EROFS;
	memset(&va, 0, sizeof(va));
	va.va_size = (uint64_t)len;
	return vp->v_op->vop_setattr(vp, &va, VA_SIZE);
}

/* A non-root writer strips set-user-ID (and group-ID when group exec). */
static void
vn_kill_suid(struct vnode *vp, const struct cred *cred)
{
	struct vattr va;
	mode_t m;

	if (cred->cr_fsuid == 0 || vp->v_op->vop_getattr(vp, &va) != 0)
		return;
	m = va.va_mode & ~(mode_t)S_ISUID;
	if ((m & (S_ISGID | (S_IXUSR >> 3))) == (S_ISGID | (S_IXUSR >> 3)))
		m &= ~(mode_t)S_ISGID;
	if (m != va.va_mode) {
		va.va_mode = m & ALLPERMS;
		vp->v_op->vop_setattr(vp, &va, VA_MODE);
	}
}

/* Access mode 3 (O_RDWR|O_WRONLY) opens for neither, as on Linux. */
static bool
vn_canread(const struct file *fp)
{
	unsigned acc = fp->f_flag & O_ACCMODE;

	return acc == O_RDONLY || acc == O_RDWR;
}

static bool
vn_canwrite(const struct file *fp)
{
	unsigned acc = fp->f_flag & O_ACCMODE;

	return acc == O_WRONLY || acc == O_RDWR;
}

/* --- regular files and directories -------------------------------------- */

static int
vn_read(struct file *fp, struct uio *uio, int flags)
{
	struct vnode *vp = fp->f_data;
	size_t resid = uio->uio_resid;
	int error;

	if (!vn_canread(fp))
		return EBADF;
	if (vp->v_type == VDIR)
		return EISDIR;
	if (flags & FOF_UPDATE_OFFSET) {
		mutex_enter(&fp->f_lock);
		uio->uio_offset = fp->f_offset;
	}
	error = vp->v_op->vop_read(vp, uio, 0);
	if (flags & FOF_UPDATE_OFFSET) {
		fp->f_offset = uio->uio_offset;
		mutex_exit(&fp->f_lock);
	}
	if (error && uio->uio_resid != resid)
		error = 0;
	return error;
}

static int
vn_write(struct file *fp, struct uio *uio, int flags)
{
	struct vnode *vp = fp->f_data;
	size_t resid = uio->uio_resid;
	int error, ioflag = 0;

	if (!vn_canwrite(fp))
		return EBADF;
	if (fp->f_flag & O_APPEND)
		ioflag |= IO_APPEND;
	if (fp->f_flag & O_DSYNC)
		ioflag |= IO_SYNC;
	if (flags & FOF_UPDATE_OFFSET) {
		mutex_enter(&fp->f_lock);
		uio->uio_offset = fp->f_offset;
	}
	error = vp->v_op->vop_write(vp, uio, ioflag);
	if (flags & FOF_UPDATE_OFFSET) {
		fp->f_offset = uio->uio_offset;
		mutex_exit(&fp->f_lock);
	}
	if (uio->uio_resid != resid) {
		vn_kill_suid(vp, fp->f_cred);
		error = 0;
	}
	return error;
}

static int
vn_ioctl(struct file *fp, unsigned long cmd, void *data)
{
	struct vnode *vp = fp->f_data;
	struct vattr va;
	int error, n;
	off_t off;

	if (cmd == FIONBIO)     /* only a notice; vnodes keep no mode */
		return ENOTTY;
	if (cmd != FIONREAD)
		return vp->v_op->vop_ioctl != NULL ?
		    vp->v_op->vop_ioctl(vp, (unsigned int)cmd, data) : ENOTTY;
	if (vp->v_type != VREG)
		return ENOTTY;
	error = vp->v_op->vop_getattr(vp, &va);
	if (error)
		return error;
	mutex_enter(&fp->f_lock);
	off = fp->f_offset;
	mutex_exit(&fp->f_lock);
	n = (off_t)va.va_size > off ? (int)MIN((off_t)va.va_size - off,
	    (off_t)INT_MAX) : 0;
	*(int *)data = n;       /* the descriptor layer's buffer */
	return 0;
}

static int
vn_fo_stat(struct file *fp, struct stat *st)
{
	return vn_stat(fp->f_data, st);
}

static int
vn_seek_data(struct vnode *vp, off_t off, int whence, off_t size, off_t *ret)
{
	if (vp->v_op->vop_seekhole != NULL)
		return vp->v_op->vop_seekhole(vp, off, whence, ret);
	if (off >= size)
		return ENXIO;
	*ret = whence == SEEK_DATA ? off : size;
	return 0;
}

static int
vn_seek(struct file *fp, off_t off, int whence, off_t *newoff)
{
	struct vnode *vp = fp->f_data;
	struct vattr va;
	off_t base, n;
	int error = 0;

	if (whence == SEEK_END || whence == SEEK_DATA || whence == SEEK_HOLE) {
		if (vp->v_type == VDIR)
			return EINVAL;
		error = vp->v_op->vop_getattr(vp, &va);
		if (error)
			return error;
	} else if (whence != SEEK_SET && whence != SEEK_CUR) {
		return EINVAL;
	}
	mutex_enter(&fp->f_lock);
	switch (whence) {
	case SEEK_SET:
		n = off;
		break;
	case SEEK_CUR:
		base = fp->f_offset;
		if (__builtin_add_overflow(base, off, &n))
			error = EOVERFLOW;
		break;
	case SEEK_END:
		if (__builtin_add_overflow((off_t)va.va_size, off, &n))
			error = EOVERFLOW;
		break;
	default:
		if (off < 0)
			error = ENXIO;
		else
			error = vn_seek_data(vp, off, whence,
			    (off_t)va.va_size, &n);
		break;
	}
	if (error == 0 && n < 0)
		error = EINVAL;
	if (error == 0) {
		fp->f_offset = n;
		*newoff = n;
	}
	mutex_exit(&fp->f_lock);
	return error;
}

static void
vn_close(struct file *fp)
{
	vrele(fp->f_data);
}

static int
vn_fo_vnode(struct file *fp, void **vpp)
{
	vref(fp->f_data);
	*vpp = fp->f_data;
	return 0;
}

const struct fileops vn_fileops = {
	.fo_read = vn_read,
	.fo_write = vn_write,
	.fo_ioctl = vn_ioctl,
	.fo_poll = NULL,
	.fo_stat = vn_fo_stat,
	.fo_seek = vn_seek,
	.fo_close = vn_close,
	.fo_vnode = vn_fo_vnode,
};

/* --- O_PATH ---------------------------------------------------------------- */

static int
vn_path_rw(struct file *fp, struct uio *uio, int flags)
{
	return EBADF;
}

static int
vn_path_ioctl(struct file *fp, unsigned long cmd, void *data)
{
	return EBADF;
}

static int
vn_path_seek(struct file *fp, off_t off, int whence, off_t *newoff)
{
	return EBADF;
}

static int
vn_path_poll(struct file *fp, int events, struct pollwait *pw)
{
	return POLLNVAL;
}

const struct fileops vn_pathops = {
	.fo_read = vn_path_rw,
	.fo_write = vn_path_rw,
	.fo_ioctl = vn_path_ioctl,
	.fo_poll = vn_path_poll,
	.fo_stat = vn_fo_stat,
	.fo_seek = vn_path_seek,
	.fo_close = vn_close,
	.fo_vnode = vn_fo_vnode,
};

/* --- character devices ------------------------------------------------------ */

static const struct cdevsw *
vn_cdev(struct file *fp)
{
	return cdev_lookup(((struct vnode *)fp->f_data)->v_rdev);
}

static int
vn_chr_read(struct file *fp, struct uio *uio, int flags)
{
	const struct cdevsw *sw = vn_cdev(fp);

	if (!vn_canread(fp))
		return EBADF;
	if (sw == NULL)
		return ENXIO;
	if (sw->d_read == NULL)
		return EINVAL;
	return sw->d_read(((struct vnode *)fp->f_data)->v_rdev, uio,
	    (int)fp->f_flag);
}

static int
vn_chr_write(struct file *fp, struct uio *uio, int flags)
{
	const struct cdevsw *sw = vn_cdev(fp);

	if (!vn_canwrite(fp))
		return EBADF;
	if (sw == NULL)
		return ENXIO;
	if (sw->d_write == NULL)
		return EINVAL;
	return sw->d_write(((struct vnode *)fp->f_data)->v_rdev, uio,
	    (int)fp->f_flag);
}

static int
vn_chr_ioctl(struct file *fp, unsigned long cmd, void *data)
{
	const struct cdevsw *sw = vn_cdev(fp);

	if (sw == NULL)
		return ENXIO;
	if (sw->d_ioctl == NULL)
		return ENOTTY;
	return sw->d_ioctl(((struct vnode *)fp->f_data)->v_rdev, cmd, data);
}

static int
vn_chr_poll(struct file *fp, int events, struct pollwait *pw)
{
	const struct cdevsw *sw = vn_cdev(fp);

	if (sw == NULL)
		return POLLERR;
	if (sw->d_poll == NULL)
		return events & (POLLIN | POLLOUT | POLLRDNORM | POLLWRNORM);
	return sw->d_poll(((struct vnode *)fp->f_data)->v_rdev, events, pw);
}

/* Devices have no position; lseek succeeds at 0 as on /dev/null. */
static int
vn_chr_seek(struct file *fp, off_t off, int whence, off_t *newoff)
{
	*newoff = 0;
	return 0;
}

const struct fileops vn_chrops = {
	.fo_read = vn_chr_read,
	.fo_write = vn_chr_write,
	.fo_ioctl = vn_chr_ioctl,
	.fo_poll = vn_chr_poll,
	.fo_stat = vn_fo_stat,
	.fo_seek = vn_chr_seek,
	.fo_close = vn_close,
	.fo_vnode = vn_fo_vnode,
};

/* --- helpers ------------------------------------------------------------------ */

int
vn_getfile(int fd, bool pathok, struct file **fpp, struct vnode **vpp)
{
	struct file *fp;
	void *v;
	int error;

	error = fd_get(fd, &fp);
	if (error)
		return error;
	if (fp->f_ops->fo_vnode == NULL) {
		file_rele(fp);
		return EINVAL;
	}
	if (!pathok && fp->f_ops == &vn_pathops) {
		file_rele(fp);
		return EBADF;
	}
	error = fp->f_ops->fo_vnode(fp, &v);
	if (error) {
		file_rele(fp);
		return error;
	}
	*fpp = fp;
	*vpp = v;
	return 0;
}

/*
 * Make an open file of vp.  On success the file takes over the caller's
 * reference (one vref and vrele fewer per open); on failure the caller
 * keeps it.  Permissions, O_TRUNC and the rest are the caller's job.
 */
int
vn_open_vnode(struct vnode *vp, int flags, struct file **fpp)
{
	const struct fileops *ops = &vn_fileops;
	const struct cdevsw *sw;
	unsigned fflag;
	int error;

	/* As on x86-64 Linux, every open is O_LARGEFILE, but O_PATH. */
	fflag = ((unsigned)flags & (O_ACCMODE | O_APPEND | O_NONBLOCK |
	    O_DSYNC | O_SYNC | O_DIRECT | O_NOATIME | O_PATH |
	    O_DIRECTORY | O_NOFOLLOW | O_ASYNC)) | O_LARGEFILE;
	if (flags & O_PATH) {
		ops = &vn_pathops;
		fflag = O_PATH | ((unsigned)flags & (O_DIRECTORY | O_NOFOLLOW));
	} else if (vp->v_type == VCHR) {
		sw = cdev_lookup(vp->v_rdev);
		if (sw == NULL)
			return ENXIO;
		if (sw->d_open != NULL) {
			error = sw->d_open(vp->v_rdev, flags);
			if (error)
				return error;
		}
		ops = &vn_chrops;
	} else if (vp->v_type != VREG && vp->v_type != VDIR &&
	    vp->v_type != VLNK) {
		return ENXIO;
	}
	return file_alloc(ops, vp, fflag, fpp);
}
