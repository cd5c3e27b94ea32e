/*
 * System calls that change the namespace: mkdir, symlink, link, unlink,
 * rmdir and rename, each in its *at form with the classic ones on top.
 *
 * Pattern: namei finds the parent directory (ND_WANTPARENT, usually
 * ND_NOLAST so the last name is not looked up twice); then, with the
 * mount's namespace lock held as writer, the last name is looked up again
 * so that what we check is what the file system will change, the POSIX
 * rules are applied in Linux's order (so the same errno wins when several
 * apply), and the file system's op is called.  The lock is the only one
 * held across the op; vnode references are dropped after it is released.
 */
#include "vfs/vfs_impl.h"
#include "gen/sysproto.h"

/* Attributes of a new node in dvp: owner, group (S_ISGID inheritance). */
static int
vn_newattr(struct vnode *dvp, enum vtype type, mode_t mode,
    const struct cred *cred, struct vattr *va)
{
	struct vattr dva;
	int error;

	error = dvp->v_op->vop_getattr(dvp, &dva);
	if (error)
		return error;
	memset(va, 0, sizeof(*va));
	va->va_type = type;
	va->va_mode = mode & ALLPERMS;
	va->va_uid = cred->cr_fsuid;
	va->va_gid = cred->cr_fsgid;
	if (dva.va_mode & S_ISGID) {
		va->va_gid = dva.va_gid;
		if (type == VDIR)
			va->va_mode |= S_ISGID;
	}
	return 0;
}

/* May cred create in dvp?  EROFS, then EACCES. */
static int
vn_may_create(struct vnode *dvp, const struct cred *cred)
{
	if (vn_rdonly(dvp))
		return EROFS;
	return vn_access(dvp, VWRITE | VEXEC, cred);
}

/* Create a node of va in nd's parent under the namespace write lock. */
static int
vn_create_locked(struct nameidata *nd, const struct vattr *va,
    const char *target, struct vnode **vpp)
{
	struct vnode *dvp = nd->nd_dvp;
	int error;

	rw_enter(&dvp->v_mount->mnt_nslock, RW_WRITER);
	if (target != NULL)
		error = dvp->v_op->vop_symlink(dvp, &nd->nd_cn, va, target, vpp);
	else
		error = dvp->v_op->vop_create(dvp, &nd->nd_cn, va, vpp);
	rw_exit(&dvp->v_mount->mnt_nslock);
	return error;
}

/* --- mkdir, symlink ------------------------------------------------------------- */

long
sys_mkdirat(int dirfd, const char *path, mode_t mode)
{
	struct nameidata nd;
	struct vnode *vp;
	struct vattr va;
	mode_t umask = atomic_load(&curproc()->p_umask);
	int error;

	nd_init(&nd, ND_WANTPARENT);
	error = namei_at(dirfd, path, &nd);
	if (error)
		goto out;
	if (nd.nd_vp != NULL) {
		error = EEXIST;
		goto out;
	}
	error = vn_may_create(nd.nd_dvp, nd.nd_cred);
	if (error)
		goto out;
	error = vn_newattr(nd.nd_dvp, VDIR, mode & ~umask & 01777, nd.nd_cred,
	    &va);
	if (error)
		goto out;
	error = vn_create_locked(&nd, &va, NULL, &vp);
	if (error == 0)
		vrele(vp);
out:
	nd_fini(&nd);
	return -error;
}

long
sys_mkdir(const char *path, mode_t mode)
{
	return sys_mkdirat(AT_FDCWD, path, mode);
}

/*
 * The type mknod may make from mode's S_IFMT bits.  Devices need root
 * (CAP_MKNOD); directories are mkdir's (EPERM, as Linux).
 */
static int
vn_mknod_type(mode_t mode, const struct cred *cred, enum vtype *type)
{
	switch (mode & S_IFMT) {
	case 0:
	case S_IFREG:
		*type = VREG;
		return 0;
	case S_IFIFO:
		*type = VFIFO;
		return 0;
	case S_IFSOCK:
		*type = VSOCK;
		return 0;
	case S_IFCHR:
	case S_IFBLK:
		if (cred->cr_euid != 0)
			return EPERM;
		*type = (mode & S_IFMT) == S_IFCHR ? VCHR : VBLK;
		return 0;
	case S_IFDIR:
		return EPERM;
	default:
		return EINVAL;
	}
}

long
sys_mknodat(int dirfd, const char *path, mode_t mode, unsigned int dev)
{
	struct nameidata nd;
	struct vnode *vp;
	struct vattr va;
	mode_t umask = atomic_load(&curproc()->p_umask);
	enum vtype type;
	int error;

	nd_init(&nd, ND_WANTPARENT);
	error = namei_at(dirfd, path, &nd);
	if (error)
		goto out;
	if (nd.nd_vp != NULL) {
		error = EEXIST;
		goto out;
	}
	if (nd.nd_trailslash) {
		error = ENOENT;
		goto out;
	}
	error = vn_mknod_type(mode, nd.nd_cred, &type);
	if (error)
		goto out;
	error = vn_may_create(nd.nd_dvp, nd.nd_cred);
	if (error)
		goto out;
	error = vn_newattr(nd.nd_dvp, type, mode & ~umask & 07777, nd.nd_cred,
	    &va);
	if (error)
		goto out;
	/* The system call's dev is Linux's 32-bit "new" encoding. */
	va.va_rdev = makedev((dev >> 8) & 0xfff, (dev & 0xff) | ((dev >> 12) & 0xfff00));
	error = vn_create_locked(&nd, &va, NULL, &vp);
	if (error == 0)
		vrele(vp);
out:
	nd_fini(&nd);
	return -error;
}

long
sys_mknod(const char *path, mode_t mode, unsigned int dev)
{
	return sys_mknodat(AT_FDCWD, path, mode, dev);
}

long
sys_symlinkat(const char *target, int newdirfd, const char *linkpath)
{
	struct nameidata nd;
	struct vnode *vp;
	struct vattr va;
	char *ktarget;
	int error;

	ktarget = kmem_alloc(PATH_MAX);
	if (ktarget == NULL)
		return -ENOMEM;
	nd_init(&nd, ND_WANTPARENT);
	error = target == NULL ? EFAULT :
	    copyinstr(target, ktarget, PATH_MAX, NULL);
	if (error)
		goto out;
	if (ktarget[0] == '\0') {
		error = ENOENT;
		goto out;
	}
	error = namei_at(newdirfd, linkpath, &nd);
	if (error)
		goto out;
	if (nd.nd_vp != NULL) {
		error = EEXIST;
		goto out;
	}
	if (nd.nd_trailslash) {
		error = ENOENT;
		goto out;
	}
	error = vn_may_create(nd.nd_dvp, nd.nd_cred);
	if (error)
		goto out;
	error = vn_newattr(nd.nd_dvp, VLNK, 0777, nd.nd_cred, &va);
	if (error)
		goto out;
	va.va_size = strlen(ktarget);
	error = vn_create_locked(&nd, &va, ktarget, &vp);
	if (error == 0)
		vrele(vp);
out:
	nd_fini(&nd);
	kmem_free(ktarget, PATH_MAX);
	return -error;
}

long
sys_symlink(const char *target, const char *linkpath)
{
	return sys_symlinkat(target, AT_FDCWD, linkpath);
}

/* --- link ------------------------------------------------------------------------ */

static int
vn_link(struct vnode *vp, struct nameidata *tnd)
{
	struct vnode *dvp = tnd->nd_dvp;
	struct vattr va;
	int error;

	if (tnd->nd_vp != NULL)
		return EEXIST;
	if (tnd->nd_trailslash)
		return ENOENT;
	if (dvp->v_mount != vp->v_mount)
		return EXDEV;
	error = vn_may_create(dvp, tnd->nd_cred);
	if (error)
		return error;
	if (vp->v_type == VDIR)
		return EPERM;
	error = vp->v_op->vop_getattr(vp, &va);
	if (error)
		return error;
	if (va.va_nlink == 0)
		return ENOENT;
	rw_enter(&dvp->v_mount->mnt_nslock, RW_WRITER);
	error = dvp->v_op->vop_link(dvp, &tnd->nd_cn, vp);
	rw_exit(&dvp->v_mount->mnt_nslock);
	return error;
}

long
sys_linkat(int olddirfd, const char *oldpath, int newdirfd,
    const char *newpath, int flags)
{
	struct nameidata fnd, tnd;
	int error;

	if (flags & ~(AT_SYMLINK_FOLLOW | AT_EMPTY_PATH))
		return -EINVAL;
	nd_init(&fnd, ((flags & AT_SYMLINK_FOLLOW) ? ND_FOLLOW : 0) |
	    ((flags & AT_EMPTY_PATH) ? ND_EMPTYPATH : 0));
	nd_init(&tnd, ND_WANTPARENT);
	error = namei_at(olddirfd, oldpath, &fnd);
	if (error)
		goto out;
	error = namei_at(newdirfd, newpath, &tnd);
	if (error)
		goto out;
	error = vn_link(fnd.nd_vp, &tnd);
out:
	nd_fini(&tnd);
	nd_fini(&fnd);
	return -error;
}

long
sys_link(const char *oldpath, const char *newpath)
{
	return sys_linkat(AT_FDCWD, oldpath, AT_FDCWD, newpath, 0);
}

/* --- unlink, rmdir --------------------------------------------------------------- */

/* Linux's may_delete: vp in dvp, isdir says what the caller expects. */
static int
vn_may_delete(struct vnode *dvp, struct vnode *vp, bool isdir,
    const struct cred *cred)
{
	int error;

	error = vn_access(dvp, VWRITE | VEXEC, cred);
	if (error)
		return error;
	error = vn_sticky_ok(dvp, vp, cred);
	if (error)
		return error;
	if (isdir) {
		if (vp->v_type != VDIR)
			return ENOTDIR;
		if (vp->v_mountedhere != NULL || vp == vp->v_mount->mnt_root)
			return EBUSY;
	} else if (vp->v_type == VDIR) {
		return EISDIR;
	}
	return 0;
}

/*
 * unlink and rmdir after their own checks of the last component: look the
 * name up under the namespace lock, check the sticky and write rules, and
 * have the file system remove it.
 */
static int
vn_remove(struct nameidata *nd, bool isdir)
{
	struct vnode *dvp = nd->nd_dvp, *vp = NULL;
	int error;

	if (vn_rdonly(dvp))
		return EROFS;
	rw_enter(&dvp->v_mount->mnt_nslock, RW_WRITER);
	error = vn_lookup_locked(dvp, &nd->nd_cn, &vp);
	if (error)
		goto out;
	if (!isdir && nd->nd_trailslash) {
		error = vp->v_type == VDIR ? EISDIR : ENOTDIR;
		goto out;
	}
	error = vn_may_delete(dvp, vp, isdir, nd->nd_cred);
	if (error)
		goto out;
	error = isdir ? dvp->v_op->vop_rmdir(dvp, &nd->nd_cn, vp) :
	    dvp->v_op->vop_remove(dvp, &nd->nd_cn, vp);
	if (error == 0)
		vcache_nocache(vp);
out:
	rw_exit(&dvp->v_mount->mnt_nslock);
	if (vp != NULL)
		vrele(vp);
	return error;
}

static int
vn_unlink(struct nameidata *nd)
{
	if (nd->nd_last != ND_LAST_NORM)
		return EISDIR;
	return vn_remove(nd, false);
}

static int
vn_rmdir(struct nameidata *nd)
{
	if (nd->nd_last == ND_LAST_DOT)
		return EINVAL;
	if (nd->nd_last == ND_LAST_DOTDOT)
		return ENOTEMPTY;
	if (nd->nd_last == ND_LAST_ROOT)
		return EBUSY;
	return vn_remove(nd, true);
}

long
sys_unlinkat(int dirfd, const char *path, int flags)
{
	struct nameidata nd;
	int error;

	if (flags & ~AT_REMOVEDIR)
		return -EINVAL;
	nd_init(&nd, ND_WANTPARENT | ND_NOLAST);
	error = namei_at(dirfd, path, &nd);
	if (error == 0)
		error = (flags & AT_REMOVEDIR) ? vn_rmdir(&nd) : vn_unlink(&nd);
	nd_fini(&nd);
	return -error;
}

long
sys_unlink(const char *path)
{
	return sys_unlinkat(AT_FDCWD, path, 0);
}

long
sys_rmdir(const char *path)
{
	return sys_unlinkat(AT_FDCWD, path, AT_REMOVEDIR);
}

/* --- rename ------------------------------------------------------------------------ */

/*
 * Is anc vp or one of vp's ancestors within the mount?  Walks ".." with
 * the namespace write lock held, so the tree cannot change meanwhile.
 */
static int
vn_is_ancestor(struct vnode *anc, struct vnode *vp, bool *res)
{
	static const struct componentname dotdot = { "..", 2 };
	struct vnode *pvp;
	int error;

	*res = false;
	vref(vp);
	for (;;) {
		if (vp == anc) {
			*res = true;
			break;
		}
		if (vp == vp->v_mount->mnt_root)
			break;
		error = vn_lookup_locked(vp, &dotdot, &pvp);
		if (error) {
			vrele(vp);
			return error;
		}
		vrele(vp);
		if (pvp == vp)
			break;
		vp = pvp;
	}
	vrele(vp);
	return 0;
}

#define VN_RENAME_NOOP (-1)

struct renamestate {
	struct nameidata *fnd, *tnd;
	struct vnode *fvp, *tvp;
	unsigned flags;
};

/* The checks Linux makes between finding both names and calling the fs. */
static int
vn_rename_check(struct renamestate *rs)
{
	struct vnode *fdvp = rs->fnd->nd_dvp, *tdvp = rs->tnd->nd_dvp;
	struct vnode *fvp = rs->fvp, *tvp = rs->tvp;
	const struct cred *cred = rs->fnd->nd_cred;
	bool anc;
	int error;

	if ((rs->flags & RENAME_EXCHANGE) && tvp == NULL)
		return ENOENT;
	if ((rs->flags & RENAME_NOREPLACE) && tvp != NULL)
		return EEXIST;
	if (fvp->v_type != VDIR) {
		if (rs->fnd->nd_trailslash)
			return ENOTDIR;
		if (!(rs->flags & RENAME_EXCHANGE) && rs->tnd->nd_trailslash)
			return ENOTDIR;
	}
	if (fvp->v_type == VDIR && fdvp != tdvp) {
		error = vn_is_ancestor(fvp, tdvp, &anc);
		if (error)
			return error;
		if (anc)
			return EINVAL;
	}
	if (tvp != NULL && tvp->v_type == VDIR && fdvp != tdvp) {
		error = vn_is_ancestor(tvp, fdvp, &anc);
		if (error)
			return error;
		if (anc)
			return (rs->flags & RENAME_EXCHANGE) ? EINVAL : ENOTEMPTY;
	}
	if (fvp == tvp)
		return VN_RENAME_NOOP;  /* success, nothing to do */
	error = vn_may_delete(fdvp, fvp, fvp->v_type == VDIR, cred);
	if (error)
		return error;
	if (tvp == NULL) {
		error = vn_access(tdvp, VWRITE | VEXEC, cred);
	} else if (rs->flags & RENAME_EXCHANGE) {
		error = vn_may_delete(tdvp, tvp, tvp->v_type == VDIR, cred);
	} else {
		error = vn_may_delete(tdvp, tvp, fvp->v_type == VDIR, cred);
	}
	if (error)
		return error;
	/* Moving a directory to another parent rewrites its "..". */
	if (fdvp != tdvp && fvp->v_type == VDIR) {
		error = vn_access(fvp, VWRITE, cred);
		if (error)
			return error;
	}
	if (fdvp != tdvp && tvp != NULL && tvp->v_type == VDIR &&
	    (rs->flags & RENAME_EXCHANGE))
		error = vn_access(tvp, VWRITE, cred);
	return error;
}

static int
vn_rename(struct nameidata *fnd, struct nameidata *tnd, unsigned flags)
{
	struct vnode *fdvp = fnd->nd_dvp, *tdvp = tnd->nd_dvp;
	struct renamestate rs = { fnd, tnd, NULL, NULL, flags };
	struct mount *mp = fdvp->v_mount;
	int error;

	if (tdvp->v_mount != mp)
		return EXDEV;
	if (fnd->nd_last != ND_LAST_NORM || tnd->nd_last != ND_LAST_NORM)
		return EBUSY;
	if (vn_rdonly(fdvp))
		return EROFS;
	rw_enter(&mp->mnt_nslock, RW_WRITER);
	error = vn_lookup_locked(fdvp, &fnd->nd_cn, &rs.fvp);
	if (error)
		goto out;
	error = vn_lookup_locked(tdvp, &tnd->nd_cn, &rs.tvp);
	if (error == ENOENT) {
		rs.tvp = NULL;
		error = 0;
	}
	if (error)
		goto out;
	error = vn_rename_check(&rs);
	if (error == VN_RENAME_NOOP) {
		error = 0;
		goto out;
	}
	if (error)
		goto out;
	error = fdvp->v_op->vop_rename(fdvp, &fnd->nd_cn, rs.fvp, tdvp,
	    &tnd->nd_cn, rs.tvp, (int)(flags & RENAME_EXCHANGE));
	if (error == 0 && rs.tvp != NULL && !(flags & RENAME_EXCHANGE))
		vcache_nocache(rs.tvp);
out:
	rw_exit(&mp->mnt_nslock);
	if (rs.fvp != NULL)
		vrele(rs.fvp);
	if (rs.tvp != NULL)
		vrele(rs.tvp);
	return error;
}

long
sys_renameat2(int olddirfd, const char *oldpath, int newdirfd,
    const char *newpath, unsigned int flags)
{
	struct nameidata fnd, tnd;
	int error;

	if (flags & ~(unsigned)(RENAME_NOREPLACE | RENAME_EXCHANGE |
	    RENAME_WHITEOUT))
		return -EINVAL;
	if ((flags & RENAME_NOREPLACE) && (flags & RENAME_EXCHANGE))
		return -EINVAL;
	if (flags & RENAME_WHITEOUT)
		return -EINVAL;
	nd_init(&fnd, ND_WANTPARENT | ND_NOLAST);
	nd_init(&tnd, ND_WANTPARENT | ND_NOLAST);
	error = namei_at(olddirfd, oldpath, &fnd);
	if (error)
		goto out;
	error = namei_at(newdirfd, newpath, &tnd);
	if (error)
		goto out;
	error = vn_rename(&fnd, &tnd, flags);
out:
	nd_fini(&tnd);
	nd_fini(&fnd);
	return -error;
}

long
sys_renameat(int olddirfd, const char *oldpath, int newdirfd,
    const char *newpath)
{
	return sys_renameat2(olddirfd, oldpath, newdirfd, newpath, 0);
}

long
sys_rename(const char *oldpath, const char *newpath)
{
	return sys_renameat2(AT_FDCWD, oldpath, AT_FDCWD, newpath, 0);
}
