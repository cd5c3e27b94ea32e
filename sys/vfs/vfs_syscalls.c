/*
 * Path and file system calls that do not change the namespace (those are
 * in vfs_namespace.c): open, the stat family, access, readlink, chmod,
 * chown, truncate, fallocate, fsync, getdents64, chdir, getcwd, utimensat.
 *
 * Each resolves its path with namei, checks the rules that Linux applies
 * (in Linux's order, so that the same errno wins) and calls the file
 * system through the vnode ops.  Attribute changes go through
 * vop_setattr, which takes the vnode's own lock.  Everything returns a
 * result or a negative errno.
 */
#include "vfs/vfs_impl.h"
#include "gen/sysproto.h"

/* Resolve a path to a referenced vnode (with or without following). */
static int
vn_lookup_path(int dirfd, const char *path, int ndflags, struct vnode **vpp)
{
	struct nameidata nd;
	int error;

	nd_init(&nd, ndflags);
	error = namei_at(dirfd, path, &nd);
	if (error == 0) {
		*vpp = nd.nd_vp;
		nd.nd_vp = NULL;
	}
	nd_fini(&nd);
	return error;
}

static bool
vn_path_empty(const char *upath)
{
	char c;

	return upath != NULL && copyin(upath, &c, 1) == 0 && c == '\0';
}

/* --- open ------------------------------------------------------------------------ */

/* Create the last component of nd as a regular file. */
static int
vn_open_create(struct nameidata *nd, mode_t mode, struct vnode **vpp)
{
	struct vnode *dvp = nd->nd_dvp;
	struct vattr dva, va;
	mode_t umask = atomic_load(&curproc()->p_umask);
	int error;

	if (nd->nd_trailslash)
		return EISDIR;
	if (vn_rdonly(dvp))
		return EROFS;
	error = dvp->v_op->vop_getattr(dvp, &dva);
	if (error)
		return error;
	error = vn_access_va(&dva, VWRITE | VEXEC, nd->nd_cred);
	if (error)
		return error;
	memset(&va, 0, sizeof(va));
	va.va_type = VREG;
	va.va_mode = mode & ~umask & ALLPERMS;
	va.va_uid = nd->nd_cred->cr_fsuid;
	va.va_gid = (dva.va_mode & S_ISGID) ? dva.va_gid :
	    nd->nd_cred->cr_fsgid;
	rw_enter(&dvp->v_mount->mnt_nslock, RW_WRITER);
	error = dvp->v_op->vop_create(dvp, &nd->nd_cn, &va, vpp);
	rw_exit(&dvp->v_mount->mnt_nslock);
	return error;
}

/* The checks on an existing vnode being opened. */
static int
vn_open_check(struct vnode *vp, int flags, const struct cred *cred)
{
	int acc = flags & O_ACCMODE, mode = 0;
	int error;

	if (vp->v_type == VLNK && !(flags & O_PATH))
		return ELOOP;
	if ((flags & O_DIRECTORY) && vp->v_type != VDIR)
		return ENOTDIR;
	if (flags & O_PATH)
		return 0;
	if (vp->v_type == VDIR && ((flags & O_CREAT) || acc != O_RDONLY ||
	    (flags & O_TRUNC)))
		return EISDIR;
	if (acc == O_RDONLY || acc == O_RDWR)
		mode |= VREAD;
	if (acc == O_ACCMODE)
		mode |= VREAD;
	if (acc != O_RDONLY || (flags & O_TRUNC))
		mode |= VWRITE;
	error = vn_access(vp, mode, cred);
	if (error)
		return error;
	if ((mode & VWRITE) && (vp->v_type == VREG || vp->v_type == VDIR) &&
	    vn_rdonly(vp))
		return EROFS;
	return 0;
}

int
vn_open_path(int dirfd, const char *upath, int flags, mode_t mode,
    struct file **fpp)
{
	struct nameidata nd;
	struct vnode *vp;
	bool created = false;
	int error, tries = 0;

	if ((flags & O_TMPFILE) == O_TMPFILE)
		return EOPNOTSUPP;
	if ((flags & (O_CREAT | O_DIRECTORY)) == (O_CREAT | O_DIRECTORY))
		return EINVAL;
	if (flags & O_PATH)
		flags &= O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC;
again:
	nd_init(&nd, (flags & O_CREAT) ? ND_WANTPARENT : 0);
	if (!(flags & O_NOFOLLOW) &&
	    (flags & (O_CREAT | O_EXCL)) != (O_CREAT | O_EXCL))
		nd.nd_flags |= ND_FOLLOW;
	error = namei_at(dirfd, upath, &nd);
	if (error)
		goto out;
	vp = nd.nd_vp;
	if (vp == NULL) {
		error = vn_open_create(&nd, mode, &vp);
		if (error == EEXIST && !(flags & O_EXCL) && ++tries < 8) {
			nd_fini(&nd);
			goto again;
		}
		if (error)
			goto out;
		nd.nd_vp = vp;
		created = true;
	} else {
		if ((flags & (O_CREAT | O_EXCL)) == (O_CREAT | O_EXCL)) {
			error = EEXIST;
			goto out;
		}
		error = vn_open_check(vp, flags, nd.nd_cred);
		if (error)
			goto out;
	}
	if ((flags & O_TRUNC) && !created && vp->v_type == VREG &&
	    !(flags & O_PATH)) {
		error = vn_truncate(vp, 0, NULL);
		if (error)
			goto out;
	}
	error = vn_open_vnode(vp, flags, fpp);
	if (error == 0)
		nd.nd_vp = NULL;        /* the file has its reference now */
out:
	nd_fini(&nd);
	return error;
}

long
sys_openat(int dirfd, const char *path, int flags, mode_t mode)
{
	struct file *fp;
	int error, fd;

	error = vn_open_path(dirfd, path, flags, mode, &fp);
	if (error)
		return -error;
	error = fd_install_move(fp, 0, (flags & O_CLOEXEC) != 0, &fd);
	if (error) {
		file_rele(fp);
		return -error;
	}
	return fd;
}

long
sys_open(const char *path, int flags, mode_t mode)
{
	return sys_openat(AT_FDCWD, path, flags, mode);
}

long
sys_creat(const char *path, mode_t mode)
{
	return sys_openat(AT_FDCWD, path, O_CREAT | O_WRONLY | O_TRUNC, mode);
}

/* --- stat ------------------------------------------------------------------------ */

/* The vnode a stat-like call with AT_* flags is about (referenced). */
static int
vn_at_vnode(int dirfd, const char *path, int flags, struct vnode **vpp)
{
	int ndflags = 0;

	if (!(flags & AT_SYMLINK_NOFOLLOW))
		ndflags |= ND_FOLLOW;
	if (flags & AT_EMPTY_PATH)
		ndflags |= ND_EMPTYPATH;
	return vn_lookup_path(dirfd, path, ndflags, vpp);
}

/* fstat on an arbitrary descriptor (AT_EMPTY_PATH on a pipe...). */
static int
vn_fd_stat(int fd, struct stat *st)
{
	struct file *fp;
	int error;

	error = fd_get(fd, &fp);
	if (error)
		return error;
	error = fp->f_ops->fo_stat != NULL ? fp->f_ops->fo_stat(fp, st) :
	    EINVAL;
	file_rele(fp);
	return error;
}

static int
vn_statat(int dirfd, const char *path, int flags, struct stat *st)
{
	struct vnode *vp;
	int error;

	if ((flags & AT_EMPTY_PATH) && dirfd != AT_FDCWD &&
	    vn_path_empty(path))
		return vn_fd_stat(dirfd, st);
	error = vn_at_vnode(dirfd, path, flags, &vp);
	if (error)
		return error;
	error = vn_stat(vp, st);
	vrele(vp);
	return error;
}

long
sys_newfstatat(int dirfd, const char *path, struct stat *ust, int flags)
{
	struct stat st;
	int error;

	if (flags & ~(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH | AT_NO_AUTOMOUNT))
		return -EINVAL;
	error = vn_statat(dirfd, path, flags, &st);
	if (error == 0)
		error = copyout(&st, ust, sizeof(st));
	return -error;
}

long
sys_stat(const char *path, struct stat *st)
{
	return sys_newfstatat(AT_FDCWD, path, st, 0);
}

long
sys_lstat(const char *path, struct stat *st)
{
	return sys_newfstatat(AT_FDCWD, path, st, AT_SYMLINK_NOFOLLOW);
}

static void
vn_statx_ts(struct statx_timestamp *t, const struct timespec *ts)
{
	t->tv_sec = ts->tv_sec;
	t->tv_nsec = (uint32_t)ts->tv_nsec;
}

static void
vn_statx_fill(struct vnode *vp, const struct vattr *va, struct statx *sx)
{
	dev_t dev = vp->v_mount->mnt_dev;

	memset(sx, 0, sizeof(*sx));
	sx->stx_mask = STATX_BASIC_STATS | STATX_MNT_ID;
	sx->stx_blksize = va->va_blksize ? va->va_blksize : 4096;
	sx->stx_nlink = (uint32_t)va->va_nlink;
	sx->stx_uid = va->va_uid;
	sx->stx_gid = va->va_gid;
	sx->stx_mode = (uint16_t)(vn_dtype_to_mode(vn_type_to_dtype(
	    va->va_type)) | (va->va_mode & ALLPERMS));
	sx->stx_ino = va->va_ino;
	sx->stx_size = va->va_size;
	sx->stx_blocks = va->va_blocks;
	vn_statx_ts(&sx->stx_atime, &va->va_atime);
	vn_statx_ts(&sx->stx_mtime, &va->va_mtime);
	vn_statx_ts(&sx->stx_ctime, &va->va_ctime);
	if (va->va_btime.tv_sec != 0 || va->va_btime.tv_nsec != 0) {
		vn_statx_ts(&sx->stx_btime, &va->va_btime);
		sx->stx_mask |= STATX_BTIME;
	}
	sx->stx_rdev_major = major(va->va_rdev);
	sx->stx_rdev_minor = minor(va->va_rdev);
	sx->stx_dev_major = major(dev);
	sx->stx_dev_minor = minor(dev);
	sx->stx_mnt_id = minor(dev);
}

long
sys_statx(int dirfd, const char *path, int flags, unsigned int mask,
    struct statx *buf)
{
	struct file *fp = NULL;
	struct vnode *vp;
	struct vattr va;
	struct statx sx;
	int error;

	if (flags & ~(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH | AT_NO_AUTOMOUNT |
	    AT_STATX_SYNC_TYPE))
		return -EINVAL;
	if ((flags & AT_STATX_SYNC_TYPE) == AT_STATX_SYNC_TYPE)
		return -EINVAL;
	if (mask & STATX__RESERVED)
		return -EINVAL;
	if ((flags & AT_EMPTY_PATH) && (path == NULL || vn_path_empty(path)))
		error = vn_getfile(dirfd, true, &fp, &vp);
	else
		error = vn_at_vnode(dirfd, path, flags, &vp);
	if (error)
		return -error;
	if (fp != NULL)
		file_rele(fp);
	error = vp->v_op->vop_getattr(vp, &va);
	if (error == 0) {
		vn_statx_fill(vp, &va, &sx);
		error = copyout(&sx, buf, sizeof(sx));
	}
	vrele(vp);
	return -error;
}

/* --- access ------------------------------------------------------------------------ */

long
sys_faccessat2(int dirfd, const char *path, int mode, int flags)
{
	struct nameidata nd;
	struct cred *c;
	int error;

	if (mode & ~(R_OK | W_OK | X_OK))
		return -EINVAL;
	if (flags & ~(AT_EACCESS | AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH))
		return -EINVAL;
	nd_init(&nd, ((flags & AT_SYMLINK_NOFOLLOW) ? 0 : ND_FOLLOW) |
	    ((flags & AT_EMPTY_PATH) ? ND_EMPTYPATH : 0));
	if (!(flags & AT_EACCESS) && (nd.nd_cred->cr_fsuid !=
	    nd.nd_cred->cr_uid || nd.nd_cred->cr_fsgid != nd.nd_cred->cr_gid)) {
		/* access(2) asks as the real ids: a private copy. */
		c = cred_dup(nd.nd_cred);
		if (c == NULL) {
			nd_fini(&nd);
			return -ENOMEM;
		}
		c->cr_fsuid = c->cr_uid;
		c->cr_fsgid = c->cr_gid;
		nd.nd_cred = c;         /* the borrowed one needs no release */
		nd.nd_flags |= ND_OWNCRED;
	}
	error = namei_at(dirfd, path, &nd);
	if (error || mode == F_OK)
		goto out;
	error = vn_access(nd.nd_vp, mode & 7, nd.nd_cred);
	if (error == 0 && (mode & W_OK) && vn_rdonly(nd.nd_vp) &&
	    (nd.nd_vp->v_type == VREG || nd.nd_vp->v_type == VDIR ||
	    nd.nd_vp->v_type == VLNK))
		error = EROFS;
out:
	nd_fini(&nd);
	return -error;
}

long
sys_faccessat(int dirfd, const char *path, int mode)
{
	return sys_faccessat2(dirfd, path, mode, 0);
}

long
sys_access(const char *path, int mode)
{
	return sys_faccessat2(AT_FDCWD, path, mode, 0);
}

/* --- readlink ---------------------------------------------------------------------- */

long
sys_readlinkat(int dirfd, const char *path, char *buf, size_t bufsiz)
{
	struct vnode *vp;
	struct iovec iov;
	struct uio uio;
	char *kbuf;
	size_t len;
	int error;

	if ((ssize_t)bufsiz <= 0)
		return -EINVAL;
	error = vn_lookup_path(dirfd, path, ND_EMPTYPATH, &vp);
	if (error)
		return -error;
	kbuf = NULL;
	if (vp->v_type != VLNK) {
		error = vn_path_empty(path) ? ENOENT : EINVAL;
		goto out;
	}
	kbuf = kmem_alloc(PATH_MAX);
	if (kbuf == NULL) {
		error = ENOMEM;
		goto out;
	}
	uio_setup_sys(&uio, &iov, kbuf, PATH_MAX, 0, UIO_READ);
	error = vp->v_op->vop_readlink(vp, &uio);
	if (error)
		goto out;
	len = MIN(PATH_MAX - uio.uio_resid, bufsiz);
	error = copyout(kbuf, buf, len);
out:
	if (kbuf != NULL)
		kmem_free(kbuf, PATH_MAX);
	vrele(vp);
	return error ? -error : (long)len;
}

long
sys_readlink(const char *path, char *buf, size_t bufsiz)
{
	return sys_readlinkat(AT_FDCWD, path, buf, bufsiz);
}

/* --- chmod, chown ------------------------------------------------------------------ */

static int
vn_chmod(struct vnode *vp, mode_t mode)
{
	struct cred *cred = cred_get();
	struct vattr va;
	int error;

	error = vn_chmod_check(vp, &mode, cred);
	cred_free(cred);
	if (error)
		return error;
	if (vn_rdonly(vp))
		return EROFS;
	memset(&va, 0, sizeof(va));
	va.va_mode = mode;
	return vp->v_op->vop_setattr(vp, &va, VA_MODE);
}

long
sys_fchmodat(int dirfd, const char *path, mode_t mode)
{
	struct vnode *vp;
	int error;

	error = vn_lookup_path(dirfd, path, ND_FOLLOW, &vp);
	if (error)
		return -error;
	error = vn_chmod(vp, mode);
	vrele(vp);
	return -error;
}

long
sys_chmod(const char *path, mode_t mode)
{
	return sys_fchmodat(AT_FDCWD, path, mode);
}

long
sys_fchmod(int fd, mode_t mode)
{
	struct file *fp;
	struct vnode *vp;
	int error;

	error = vn_getfile(fd, false, &fp, &vp);
	if (error)
		return -error;
	error = vn_chmod(vp, mode);
	vrele(vp);
	file_rele(fp);
	return -error;
}

static int
vn_chown(struct vnode *vp, uid_t uid, gid_t gid)
{
	struct cred *cred = cred_get();
	struct vattr va;
	int error, mask;

	memset(&va, 0, sizeof(va));
	error = vn_chown_check(vp, uid, gid, cred, &va, &mask);
	cred_free(cred);
	if (error)
		return error;
	if (vn_rdonly(vp))
		return EROFS;
	time_now(&va.va_ctime);
	return vp->v_op->vop_setattr(vp, &va, mask | VA_CTIME);
}

long
sys_fchownat(int dirfd, const char *path, uid_t owner, gid_t group, int flags)
{
	struct vnode *vp;
	int error;

	if (flags & ~(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH))
		return -EINVAL;
	error = vn_at_vnode(dirfd, path, flags, &vp);
	if (error)
		return -error;
	error = vn_chown(vp, owner, group);
	vrele(vp);
	return -error;
}

long
sys_chown(const char *path, uid_t owner, gid_t group)
{
	return sys_fchownat(AT_FDCWD, path, owner, group, 0);
}

long
sys_lchown(const char *path, uid_t owner, gid_t group)
{
	return sys_fchownat(AT_FDCWD, path, owner, group, AT_SYMLINK_NOFOLLOW);
}

long
sys_fchown(int fd, uid_t owner, gid_t group)
{
	struct file *fp;
	struct vnode *vp;
	int error;

	error = vn_getfile(fd, false, &fp, &vp);
	if (error)
		return -error;
	error = vn_chown(vp, owner, group);
	vrele(vp);
	file_rele(fp);
	return -error;
}

static bool
vn_fwritable(const struct file *fp)
{
	unsigned acc = fp->f_flag & O_ACCMODE;

	return acc == O_WRONLY || acc == O_RDWR;
}

/* --- truncate, fallocate, fsync ---------------------------------------------------- */

long
sys_truncate(const char *path, off_t length)
{
	struct cred *cred;
	struct vnode *vp;
	int error;

	if (length < 0)
		return -EINVAL;
	error = vn_lookup_path(AT_FDCWD, path, ND_FOLLOW, &vp);
	if (error)
		return -error;
	cred = cred_get();
	error = vn_truncate(vp, length, cred);
	cred_free(cred);
	vrele(vp);
	return -error;
}

long
sys_ftruncate(int fd, off_t length)
{
	struct file *fp;
	struct vnode *vp;
	int error;

	if (length < 0)
		return -EINVAL;
	error = vn_getfile(fd, false, &fp, &vp);
	if (error)
		return -error;
	if (vp->v_type != VREG || !vn_fwritable(fp))
		error = EINVAL;
	else
		error = vn_truncate(vp, length, NULL);
	vrele(vp);
	file_rele(fp);
	return -error;
}

long
sys_fallocate(int fd, int mode, off_t offset, off_t len)
{
	struct file *fp;
	struct vnode *vp;
	int error;

	if (offset < 0 || len <= 0)
		return -EINVAL;
	/* As Linux: punching needs KEEP_SIZE, and ZERO_RANGE excludes it. */
	if (mode & ~(FALLOC_FL_KEEP_SIZE | FALLOC_FL_PUNCH_HOLE |
	    FALLOC_FL_ZERO_RANGE))
		return -EOPNOTSUPP;
	if ((mode & FALLOC_FL_PUNCH_HOLE) &&
	    (!(mode & FALLOC_FL_KEEP_SIZE) || (mode & FALLOC_FL_ZERO_RANGE)))
		return -EOPNOTSUPP;
	error = fd_get(fd, &fp);
	if (error)
		return -error;
	if (fp->f_ops->fo_vnode == NULL) {
		error = fp->f_ops->fo_seek == NULL ? ESPIPE : ENODEV;
		file_rele(fp);
		return -error;
	}
	file_rele(fp);
	error = vn_getfile(fd, false, &fp, &vp);
	if (error)
		return -error;
	if (!vn_fwritable(fp))
		error = EBADF;
	else if (vp->v_type == VDIR)
		error = EISDIR;
	else if (vp->v_type != VREG)
		error = ENODEV;
	else if (offset > OFF_MAX - len)
		error = EFBIG;
	else if (vn_rdonly(vp))
		error = EROFS;
	else if (vp->v_op->vop_allocate == NULL)
		error = EOPNOTSUPP;
	else
		error = vp->v_op->vop_allocate(vp, mode, offset, len);
	vrele(vp);
	file_rele(fp);
	return -error;
}

static long
vn_fsync_fd(int fd, bool datasync)
{
	struct file *fp;
	struct vnode *vp;
	int error;

	error = vn_getfile(fd, false, &fp, &vp);
	if (error)
		return -error;
	error = vp->v_op->vop_fsync != NULL ? vp->v_op->vop_fsync(vp, datasync)
	    : 0;
	vrele(vp);
	file_rele(fp);
	return -error;
}

long
sys_fsync(int fd)
{
	return vn_fsync_fd(fd, false);
}

long
sys_fdatasync(int fd)
{
	return vn_fsync_fd(fd, true);
}

/* --- getdents64 -------------------------------------------------------------------- */

long
sys_getdents64(int fd, void *dirp, size_t count)
{
	struct file *fp;
	struct vnode *vp;
	struct iovec iov;
	struct uio uio;
	struct mount *mp;
	int error;

	error = vn_getfile(fd, false, &fp, &vp);
	if (error)
		return -(error == EINVAL ? ENOTDIR : error);
	if (vp->v_type != VDIR) {
		error = ENOTDIR;
		goto out;
	}
	if (count > INT_MAX)
		count = INT_MAX;
	iov.iov_base = dirp;
	iov.iov_len = count;
	uio.uio_iov = &iov;
	uio.uio_iovcnt = 1;
	uio.uio_resid = count;
	uio.uio_rw = UIO_READ;
	uio.uio_segflg = UIO_USERSPACE;
	mp = vp->v_mount;
	mutex_enter(&fp->f_lock);
	uio.uio_offset = fp->f_offset;
	rw_enter(&mp->mnt_nslock, RW_READER);
	error = vp->v_op->vop_readdir(vp, &uio);
	rw_exit(&mp->mnt_nslock);
	if (error == 0 || uio.uio_resid != count)
		fp->f_offset = uio.uio_offset;
	mutex_exit(&fp->f_lock);
	if (uio.uio_resid != count)
		error = 0;
out:
	vrele(vp);
	file_rele(fp);
	return error ? -error : (long)(count - uio.uio_resid);
}

/* --- chdir, getcwd ------------------------------------------------------------------ */

static int
vn_chdir(struct vnode *vp)
{
	struct cred *cred;
	int error;

	if (vp->v_type != VDIR)
		return ENOTDIR;
	cred = cred_get();
	error = vn_access(vp, VEXEC, cred);
	cred_free(cred);
	if (error)
		return error;
	vref(vp);
	proc_cwd_set(curproc(), vp);
	return 0;
}

long
sys_chdir(const char *path)
{
	struct vnode *vp;
	int error;

	error = vn_lookup_path(AT_FDCWD, path, ND_FOLLOW, &vp);
	if (error)
		return -error;
	error = vn_chdir(vp);
	vrele(vp);
	return -error;
}

long
sys_fchdir(int fd)
{
	struct file *fp;
	struct vnode *vp;
	int error;

	error = vn_getfile(fd, true, &fp, &vp);
	if (error)
		return -(error == EINVAL ? ENOTDIR : error);
	error = vn_chdir(vp);
	vrele(vp);
	file_rele(fp);
	return -error;
}

#define CWD_DIRBUF 4096

/* Scan dirbuf records for ino; copy its name into name (NAME_MAX+1). */
static bool
vn_dirbuf_find(const char *dirbuf, size_t len, uint64_t ino, char *name)
{
	const struct linux_dirent64 *d;
	size_t off, n;

	for (off = 0; off < len; off += d->d_reclen) {
		d = (const void *)(dirbuf + off);
		if (d->d_reclen == 0)
			break;
		if (d->d_ino != ino || strcmp(d->d_name, ".") == 0 ||
		    strcmp(d->d_name, "..") == 0)
			continue;
		n = strnlen(d->d_name, NAME_MAX);
		memcpy(name, d->d_name, n);
		name[n] = '\0';
		return true;
	}
	return false;
}

/* The name of the entry with inode ino in directory dvp. */
static int
vn_name_in_dir(struct vnode *dvp, uint64_t ino, char *dirbuf, char *name)
{
	struct iovec iov;
	struct uio uio;
	off_t cookie = 0;
	size_t got;
	int error;

	for (;;) {
		uio_setup_sys(&uio, &iov, dirbuf, CWD_DIRBUF, cookie, UIO_READ);
		rw_enter(&dvp->v_mount->mnt_nslock, RW_READER);
		error = dvp->v_op->vop_readdir(dvp, &uio);
		rw_exit(&dvp->v_mount->mnt_nslock);
		got = CWD_DIRBUF - uio.uio_resid;
		if (error && got == 0)
			return error;
		if (got == 0)
			return ENOENT;
		if (vn_dirbuf_find(dirbuf, got, ino, name))
			return 0;
		cookie = uio.uio_offset;
	}
}

/*
 * Build the path of vp (consumed) from root into the end of kbuf (size
 * PATH_MAX); *posp is where it starts.
 */
static int
vn_buildpath(struct vnode *vp, struct vnode *root, char *kbuf, size_t *posp)
{
	static const struct componentname dotdot = { "..", 2 };
	char *dirbuf, name[NAME_MAX + 1];
	struct vnode *pvp;
	struct vattr va;
	size_t pos = PATH_MAX - 1, n;
	int error = 0;

	kbuf[pos] = '\0';
	dirbuf = kmem_alloc(CWD_DIRBUF);
	if (dirbuf == NULL) {
		vrele(vp);
		return ENOMEM;
	}
	while (vp != root) {
		if (vp == vp->v_mount->mnt_root) {
			if (vp->v_mount->mnt_covered == NULL)
				break;
			pvp = vp->v_mount->mnt_covered;
			vref(pvp);
			vrele(vp);
			vp = pvp;
			continue;
		}
		error = vp->v_op->vop_getattr(vp, &va);
		if (error)
			break;
		rw_enter(&vp->v_mount->mnt_nslock, RW_READER);
		error = vp->v_op->vop_lookup(vp, &dotdot, &pvp);
		rw_exit(&vp->v_mount->mnt_nslock);
		if (error)
			break;
		error = vn_name_in_dir(pvp, va.va_ino, dirbuf, name);
		vrele(vp);
		vp = pvp;
		if (error)
			break;
		n = strlen(name);
		if (n + 1 > pos) {
			error = ENAMETOOLONG;
			break;
		}
		pos -= n;
		memcpy(kbuf + pos, name, n);
		kbuf[--pos] = '/';
	}
	vrele(vp);
	kmem_free(dirbuf, CWD_DIRBUF);
	if (error == 0 && pos == PATH_MAX - 1)
		kbuf[--pos] = '/';
	*posp = pos;
	return error;
}

long
sys_getcwd(char *buf, size_t size)
{
	struct proc *p = curproc();
	struct vnode *cwd, *root;
	struct vattr va;
	size_t pos, len;
	char *kbuf;
	int error;

	cwd = proc_cwd_get(p);
	root = proc_root_get(p);
	if (cwd == NULL || root == NULL) {      /* released meanwhile */
		if (cwd != NULL)
			vrele(cwd);
		if (root != NULL)
			vrele(root);
		return -ENOENT;
	}
	error = cwd->v_op->vop_getattr(cwd, &va);
	if (error == 0 && va.va_nlink == 0)
		error = ENOENT;
	kbuf = NULL;
	if (error == 0) {
		kbuf = kmem_alloc(PATH_MAX);
		if (kbuf == NULL)
			error = ENOMEM;
	}
	if (error) {
		vrele(cwd);
		goto out;
	}
	error = vn_buildpath(cwd, root, kbuf, &pos);
	if (error)
		goto out;
	len = PATH_MAX - pos;
	if (len > size) {
		error = ERANGE;
		goto out;
	}
	error = copyout(kbuf + pos, buf, len);
out:
	if (kbuf != NULL)
		kmem_free(kbuf, PATH_MAX);
	vrele(root);
	return error ? -error : (long)len;
}

/* --- utimensat ---------------------------------------------------------------------- */

static bool
vn_ts_valid(const struct timespec *ts)
{
	if (ts->tv_nsec == UTIME_NOW || ts->tv_nsec == UTIME_OMIT)
		return true;
	return ts->tv_nsec >= 0 && ts->tv_nsec <= 999999999;
}

static int
vn_utimens(struct vnode *vp, const struct timespec *ts)
{
	struct cred *cred;
	struct vattr cur, va;
	struct timespec now;
	bool explicit = false;
	int error, mask = 0;

	if (ts[0].tv_nsec == UTIME_OMIT && ts[1].tv_nsec == UTIME_OMIT)
		return 0;
	time_now(&now);
	memset(&va, 0, sizeof(va));
	if (ts[0].tv_nsec != UTIME_OMIT) {
		mask |= VA_ATIME;
		va.va_atime = ts[0].tv_nsec == UTIME_NOW ? now : ts[0];
		explicit |= ts[0].tv_nsec != UTIME_NOW;
	}
	if (ts[1].tv_nsec != UTIME_OMIT) {
		mask |= VA_MTIME;
		va.va_mtime = ts[1].tv_nsec == UTIME_NOW ? now : ts[1];
		explicit |= ts[1].tv_nsec != UTIME_NOW;
	}
	if (vn_rdonly(vp))
		return EROFS;
	error = vp->v_op->vop_getattr(vp, &cur);
	if (error)
		return error;
	cred = cred_get();
	if (!vn_owner(&cur, cred)) {
		if (explicit)
			error = EPERM;
		else
			error = vn_access_va(&cur, VWRITE, cred);
	}
	cred_free(cred);
	if (error)
		return error;
	return vp->v_op->vop_setattr(vp, &va, mask);
}

long
sys_utimensat(int dirfd, const char *path, const struct timespec *times,
    int flags)
{
	struct timespec ts[2];
	struct file *fp = NULL;
	struct vnode *vp;
	int error;

	if (flags & ~(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH))
		return -EINVAL;
	if (times != NULL) {
		error = copyin(times, ts, sizeof(ts));
		if (error)
			return -error;
		if (!vn_ts_valid(&ts[0]) || !vn_ts_valid(&ts[1]))
			return -EINVAL;
	} else {
		ts[0].tv_sec = ts[1].tv_sec = 0;
		ts[0].tv_nsec = ts[1].tv_nsec = UTIME_NOW;
	}
	if (path == NULL) {
		if (dirfd == AT_FDCWD)
			return -EFAULT;
		error = vn_getfile(dirfd, false, &fp, &vp);
	} else if ((flags & AT_EMPTY_PATH) && vn_path_empty(path)) {
		error = vn_getfile(dirfd, false, &fp, &vp);
	} else {
		error = vn_at_vnode(dirfd, path, flags, &vp);
	}
	if (error)
		return -error;
	error = vn_utimens(vp, ts);
	vrele(vp);
	if (fp != NULL)
		file_rele(fp);
	return -error;
}
