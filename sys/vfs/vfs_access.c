/*
 * Permission checks, as Linux does them with the classic capabilities
 * reduced to "fsuid 0": owner, group (fsgid or a supplementary group) or
 * other bits; root passes read and write always, search on directories
 * always, and execute on files when any execute bit is set.  The sticky
 * bit, chmod's and chown's ownership rules live here too so that every
 * system call applies them the same way.
 *
 * The callers fetch attributes with vop_getattr (no VFS lock held); an
 * answer can be stale by the time it is used, exactly as on Linux.
 */
#include "vfs/vfs_impl.h"

bool
vn_owner(const struct vattr *va, const struct cred *cred)
{
	return cred->cr_fsuid == 0 || cred->cr_fsuid == va->va_uid;
}

static bool
vn_ingroup(const struct cred *cred, gid_t gid)
{
	int i;

	if (cred->cr_fsgid == gid)
		return true;
	for (i = 0; i < cred->cr_ngroups; i++)
		if (cred->cr_groups[i] == gid)
			return true;
	return false;
}

int
vn_access_va(const struct vattr *va, int mode, const struct cred *cred)
{
	mode_t m = va->va_mode;

	if (cred->cr_fsuid == 0) {
		if (!(mode & VEXEC) || va->va_type == VDIR ||
		    (m & (S_IXUSR | (S_IXUSR >> 3) | (S_IXUSR >> 6))))
			return 0;
		return EACCES;
	}
	if (cred->cr_fsuid == va->va_uid)
		m >>= 6;
	else if (vn_ingroup(cred, va->va_gid))
		m >>= 3;
	if ((mode & (int)(m & 7)) != mode)
		return EACCES;
	return 0;
}

int
vn_access(struct vnode *vp, int mode, const struct cred *cred)
{
	struct vattr va;
	int error;

	if (cred->cr_fsuid == 0 && (vp->v_type == VDIR || !(mode & VEXEC)))
		return 0;
	error = vp->v_op->vop_getattr(vp, &va);
	if (error)
		return error;
	return vn_access_va(&va, mode, cred);
}

/* In a sticky directory only the file's owner, the directory's owner or
 * root may remove or rename an entry. */
int
vn_sticky_ok(struct vnode *dvp, struct vnode *vp, const struct cred *cred)
{
	struct vattr dva, va;
	int error;

	if (cred->cr_fsuid == 0)
		return 0;
	error = dvp->v_op->vop_getattr(dvp, &dva);
	if (error)
		return error;
	if (!(dva.va_mode & S_ISVTX) || dva.va_uid == cred->cr_fsuid)
		return 0;
	error = vp->v_op->vop_getattr(vp, &va);
	if (error)
		return error;
	if (va.va_uid == cred->cr_fsuid)
		return 0;
	return EPERM;
}

/* chmod: owner or root; a non-member loses S_ISGID as Linux does. */
int
vn_chmod_check(struct vnode *vp, mode_t *mode, const struct cred *cred)
{
	struct vattr va;
	int error;

	error = vp->v_op->vop_getattr(vp, &va);
	if (error)
		return error;
	if (!vn_owner(&va, cred))
		return EPERM;
	*mode &= ALLPERMS;
	if (cred->cr_fsuid != 0 && !vn_ingroup(cred, va.va_gid))
		*mode &= ~(mode_t)S_ISGID;
	return 0;
}

/*
 * chown: only root changes the owner; the owner may change the group to
 * one it belongs to.  (uid_t)-1 / (gid_t)-1 leave a field alone.  Fills
 * va/mask for vop_setattr, clearing set-id bits as Linux does.
 */
int
vn_chown_check(struct vnode *vp, uid_t uid, gid_t gid,
    const struct cred *cred, struct vattr *nva, int *mask)
{
	struct vattr va;
	int error;

	error = vp->v_op->vop_getattr(vp, &va);
	if (error)
		return error;
	*mask = 0;
	if (cred->cr_fsuid != 0) {
		if (uid != (uid_t)-1 && (cred->cr_fsuid != va.va_uid ||
		    uid != va.va_uid))
			return EPERM;
		if (gid != (gid_t)-1 && (cred->cr_fsuid != va.va_uid ||
		    (gid != va.va_gid && !vn_ingroup(cred, gid))))
			return EPERM;
	}
	if (uid != (uid_t)-1) {
		nva->va_uid = uid;
		*mask |= VA_UID;
	}
	if (gid != (gid_t)-1) {
		nva->va_gid = gid;
		*mask |= VA_GID;
	}
	/* Linux clears S_ISUID always on a chown of a non-directory, and
	 * S_ISGID when group-execute is set (else it marks mandatory
	 * locking); root keeps them only for directories. */
	if (va.va_type != VDIR) {
		mode_t m = va.va_mode;

		m &= ~(mode_t)S_ISUID;
		if (m & (S_IXUSR >> 3))
			m &= ~(mode_t)S_ISGID;
		if (m != va.va_mode) {
			nva->va_mode = m & ALLPERMS;
			*mask |= VA_MODE;
		}
	}
	return 0;
}
