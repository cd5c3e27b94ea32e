/*
 * tmpfs vnode operations.
 *
 * The VFS has done permission checks, name validation and the POSIX rules
 * that do not depend on the file system (see vfs/vnode.h); what is left
 * here is the mechanics: directory entries, link counts, parent pointers,
 * timestamps and file data.
 *
 * Namespace ops (lookup, readdir under a shared mnt_nslock; create, link,
 * remove, rmdir, rename, symlink under an exclusive one) change directory
 * contents without further locking and take each node's tn_lock briefly,
 * one at a time, to change its attributes.  Data and attribute ops run with
 * no VFS lock and hold the node's tn_lock throughout.  Anything allocated
 * is allocated before the namespace is changed, so a failing op (ENOSPC)
 * leaves no trace.
 *
 * Timestamps: create/link/unlink/rename set mtime and ctime of the
 * directories involved and ctime of the node; writes set mtime and ctime;
 * reads and readdir update atime as Linux's relatime does.
 */

#include "fs/tmpfs/tmpfs.h"

static void
tmpfs_assert_nswrite(struct vnode *dvp)
{
	KASSERT(rw_write_held(&dvp->v_mount->mnt_nslock));
}

static int
tmpfs_lookup(struct vnode *dvp, const struct componentname *cn,
    struct vnode **vpp)
{
	struct tmpfs_node *dn = VP_TO_TN(dvp);
	struct tmpfs_dirent *de;
	struct tmpfs_node *tn;

	if (dn->tn_type != VDIR)
		return ENOTDIR;
	/* A removed directory has no entries but "." and "..". */
	if (dn->tn_nlink == 0 && !(cn->cn_namelen == 1 && cn->cn_name[0] == '.') &&
	    !(cn->cn_namelen == 2 && cn->cn_name[0] == '.' &&
	    cn->cn_name[1] == '.' && dn->tn_dir.td_parentvp != NULL))
		return ENOENT;
	if (cn->cn_namelen == 1 && cn->cn_name[0] == '.') {
		tn = dn;
	} else if (cn->cn_namelen == 2 && cn->cn_name[0] == '.' &&
	    cn->cn_name[1] == '.') {
		tn = dn->tn_dir.td_parent;
	} else {
		de = tmpfs_dir_lookup(dn, cn->cn_name, cn->cn_namelen);
		if (de == NULL)
			return ENOENT;
		tn = de->de_node;
	}
	/* tn lives while its name does: the namespace lock is held. */
	return vcache_get_hint(dvp->v_mount, tn->tn_ino, &tn->tn_vnode, vpp);
}

/*
 * Checks shared by every op that adds a name to dn: the directory still
 * exists, the name is free and the hash has room.
 */
static int
tmpfs_newname_check(struct tmpfs_node *dn, const struct componentname *cn)
{
	if (dn->tn_type != VDIR)
		return ENOTDIR;
	if (dn->tn_nlink == 0)
		return ENOENT;
	if (cn->cn_namelen == 0 || cn->cn_namelen > NAME_MAX)
		return cn->cn_namelen == 0 ? ENOENT : ENAMETOOLONG;
	if (tmpfs_dir_lookup(dn, cn->cn_name, cn->cn_namelen) != NULL)
		return EEXIST;
	return tmpfs_dir_reserve(dn);
}

/* Make a node of type with va's attributes and enter it as cn in dvp. */
static int
tmpfs_makenode(struct vnode *dvp, const struct componentname *cn,
    enum vtype type, const struct vattr *va, const char *target,
    struct vnode **vpp)
{
	struct tmpfs_node *dn = VP_TO_TN(dvp), *tn = NULL;
	struct tmpfs_dirent *de = NULL;
	size_t tlen = 0;
	int error;

	tmpfs_assert_nswrite(dvp);
	error = tmpfs_newname_check(dn, cn);
	if (error)
		return error;
	error = tmpfs_dirent_alloc(cn->cn_name, cn->cn_namelen, &de);
	if (error)
		return error;
	error = tmpfs_node_alloc(dn->tn_mount, type, va->va_mode, va->va_uid,
	    va->va_gid, va->va_rdev, &tn);
	if (error)
		goto out;
	if (type == VLNK) {
		tlen = strlen(target);
		tn->tn_lnk.tl_target = kmem_alloc(tlen + 1);
		if (tn->tn_lnk.tl_target == NULL) {
			error = ENOSPC;
			goto out;
		}
		memcpy(tn->tn_lnk.tl_target, target, tlen + 1);
		tn->tn_lnk.tl_len = tlen;
		tn->tn_size = tlen;
	}
	tmpfs_dir_attach(dn, de, tn);
	error = vcache_get(dvp->v_mount, tn->tn_ino, vpp);
	if (error) {
		/* Undo: the new name never became visible to anyone. */
		tmpfs_dir_detach(dn, de);
		if (type == VDIR)
			tmpfs_node_addlink(tn, -1);
		goto out;
	}
	return 0;
out:
	if (tn != NULL)
		tmpfs_node_unhash_free(tn);
	tmpfs_dirent_free(de);
	return error;
}

static int
tmpfs_create(struct vnode *dvp, const struct componentname *cn,
    const struct vattr *va, struct vnode **vpp)
{
	/* The VFS makes symlinks with vop_symlink and passes no other type. */
	KASSERT(va->va_type != VNON && va->va_type != VLNK);
	return tmpfs_makenode(dvp, cn, va->va_type, va, NULL, vpp);
}

static int
tmpfs_symlink(struct vnode *dvp, const struct componentname *cn,
    const struct vattr *va, const char *target, struct vnode **vpp)
{
	struct vattr lva = *va;
	size_t len = strnlen(target, PATH_MAX);

	if (len == 0)
		return ENOENT;
	if (len >= PATH_MAX)
		return ENAMETOOLONG;
	lva.va_mode = 0777;
	return tmpfs_makenode(dvp, cn, VLNK, &lva, target, vpp);
}

static int
tmpfs_link(struct vnode *dvp, const struct componentname *cn,
    struct vnode *vp)
{
	struct tmpfs_node *dn = VP_TO_TN(dvp), *tn = VP_TO_TN(vp);
	struct tmpfs_dirent *de;
	int error;

	tmpfs_assert_nswrite(dvp);
	if (tn->tn_type == VDIR)
		return EPERM;
	if (tn->tn_nlink == 0)
		return ENOENT;
	if (tn->tn_nlink >= TMPFS_LINK_MAX)
		return EMLINK;
	error = tmpfs_newname_check(dn, cn);
	if (error)
		return error;
	error = tmpfs_dirent_alloc(cn->cn_name, cn->cn_namelen, &de);
	if (error)
		return error;
	tmpfs_dir_attach(dn, de, tn);
	tmpfs_node_addlink(tn, 0);      /* ctime */
	return 0;
}

/* The entry cn of dn, which must name tn. */
static int
tmpfs_entry_of(struct tmpfs_node *dn, const struct componentname *cn,
    struct tmpfs_node *tn, struct tmpfs_dirent **dep)
{
	struct tmpfs_dirent *de;

	if (dn->tn_type != VDIR)
		return ENOTDIR;
	de = tmpfs_dir_lookup(dn, cn->cn_name, cn->cn_namelen);
	if (de == NULL || de->de_node != tn)
		return ENOENT;
	*dep = de;
	return 0;
}

static int
tmpfs_remove(struct vnode *dvp, const struct componentname *cn,
    struct vnode *vp)
{
	struct tmpfs_node *dn = VP_TO_TN(dvp), *tn = VP_TO_TN(vp);
	struct tmpfs_dirent *de;
	int error;

	tmpfs_assert_nswrite(dvp);
	if (tn->tn_type == VDIR)
		return EISDIR;
	error = tmpfs_entry_of(dn, cn, tn, &de);
	if (error)
		return error;
	tmpfs_dir_detach(dn, de);
	tmpfs_dirent_free(de);
	/* With no links left, the node goes when its vnode does. */
	return 0;
}

static int
tmpfs_rmdir(struct vnode *dvp, const struct componentname *cn,
    struct vnode *vp)
{
	struct tmpfs_node *dn = VP_TO_TN(dvp), *tn = VP_TO_TN(vp);
	struct tmpfs_dirent *de;
	int error;

	tmpfs_assert_nswrite(dvp);
	if (tn->tn_type != VDIR)
		return ENOTDIR;
	if (tn->tn_dir.td_count != 0)
		return ENOTEMPTY;
	error = tmpfs_entry_of(dn, cn, tn, &de);
	if (error)
		return error;
	tmpfs_dir_detach(dn, de);
	tmpfs_dirent_free(de);
	tmpfs_node_addlink(tn, -1);     /* its "." */
	KASSERT(tn->tn_nlink == 0);
	vref(dvp);
	tn->tn_dir.td_parentvp = dvp;
	return 0;
}

/* RENAME_EXCHANGE: swap what the two entries name. */
static int
tmpfs_rename_exchange(struct tmpfs_node *fdn, struct tmpfs_dirent *fde,
    struct tmpfs_node *tdn, struct tmpfs_dirent *tde)
{
	struct tmpfs_node *fn = fde->de_node, *tn = tde->de_node;

	fde->de_node = tn;
	tde->de_node = fn;
	if (fdn != tdn) {
		if (fn->tn_type == VDIR)
			fn->tn_dir.td_parent = tdn;
		if (tn->tn_type == VDIR)
			tn->tn_dir.td_parent = fdn;
		if (fn->tn_type == VDIR && tn->tn_type != VDIR) {
			tmpfs_node_addlink(fdn, -1);
			tmpfs_node_addlink(tdn, 1);
		} else if (tn->tn_type == VDIR && fn->tn_type != VDIR) {
			tmpfs_node_addlink(tdn, -1);
			tmpfs_node_addlink(fdn, 1);
		}
	}
	tmpfs_node_addlink(fn, 0);      /* ctime */
	tmpfs_node_addlink(tn, 0);
	tmpfs_node_lock(fdn);
	tmpfs_node_touch(fdn, true, true);
	tmpfs_node_unlock(fdn);
	tmpfs_node_lock(tdn);
	tmpfs_node_touch(tdn, true, true);
	tmpfs_node_unlock(tdn);
	return 0;
}

static int
tmpfs_rename(struct vnode *fdvp, const struct componentname *fcn,
    struct vnode *fvp, struct vnode *tdvp, const struct componentname *tcn,
    struct vnode *tvp, int flags)
{
	struct tmpfs_node *fdn = VP_TO_TN(fdvp), *tdn = VP_TO_TN(tdvp);
	struct tmpfs_node *fn = VP_TO_TN(fvp), *tn = NULL;
	struct tmpfs_dirent *fde, *tde = NULL, *nde;
	int error;

	tmpfs_assert_nswrite(fdvp);
	if (flags & ~RENAME_EXCHANGE)
		return EINVAL;
	error = tmpfs_entry_of(fdn, fcn, fn, &fde);
	if (error)
		return error;
	if (tdn->tn_type != VDIR)
		return ENOTDIR;
	if (tdn->tn_nlink == 0)
		return ENOENT;
	if (tvp != NULL) {
		tn = VP_TO_TN(tvp);
		error = tmpfs_entry_of(tdn, tcn, tn, &tde);
		if (error)
			return error;
	} else if (tmpfs_dir_lookup(tdn, tcn->cn_name, tcn->cn_namelen)) {
		return EEXIST;
	}
	if (flags & RENAME_EXCHANGE) {
		if (tde == NULL)
			return ENOENT;
		return tmpfs_rename_exchange(fdn, fde, tdn, tde);
	}
	if (tn != NULL && tn->tn_type == VDIR && tn->tn_dir.td_count != 0)
		return ENOTEMPTY;

	/* Allocate first: past this point nothing fails. */
	error = tmpfs_dir_reserve(tdn);
	if (error)
		return error;
	error = tmpfs_dirent_alloc(tcn->cn_name, tcn->cn_namelen, &nde);
	if (error)
		return error;
	if (tde != NULL) {
		tmpfs_dir_detach(tdn, tde);
		tmpfs_dirent_free(tde);
		if (tn->tn_type == VDIR)
			tmpfs_node_addlink(tn, -1);     /* its "." */
	}
	/* Attach before detach so that fn never reaches nlink 0. */
	tmpfs_dir_attach(tdn, nde, fn);
	tmpfs_dir_detach(fdn, fde);
	tmpfs_dirent_free(fde);
	return 0;
}

static int
tmpfs_readdir(struct vnode *vp, struct uio *uio)
{
	struct tmpfs_node *dn = VP_TO_TN(vp);
	struct tmpfs_dir *d = &dn->tn_dir;
	struct tmpfs_dirent *de, *nde;
	int64_t cookie = uio->uio_offset, next;
	int error = 0, n = 0;

	if (dn->tn_type != VDIR)
		return ENOTDIR;
	if (dn->tn_nlink == 0)
		return ENOENT;
	if (cookie < 0)
		return EINVAL;
	if (cookie == 0) {
		error = vfs_dirent_add(uio, dn->tn_ino, 1, DT_DIR, ".", 1);
		if (error)
			goto out;
		n++;
		cookie = uio->uio_offset = 1;
	}
	de = tmpfs_dir_seek(dn, MAX(cookie, TMPFS_COOKIE_FIRST));
	if (cookie == 1) {
		next = de != NULL ? de->de_cookie : d->td_nextcookie;
		error = vfs_dirent_add(uio, d->td_parent->tn_ino, next, DT_DIR,
		    "..", 2);
		if (error)
			goto out;
		n++;
		cookie = uio->uio_offset = next;
	}
	for (; de != NULL; de = nde) {
		nde = TAILQ_NEXT(de, de_list);
		next = nde != NULL ? nde->de_cookie : d->td_nextcookie;
		error = vfs_dirent_add(uio, de->de_node->tn_ino, next,
		    vn_type_to_dtype(de->de_node->tn_type), de->de_name,
		    de->de_namelen);
		if (error)
			break;
		n++;
		uio->uio_offset = next;
	}
	/* Resume here next time (de is live: we hold the namespace lock). */
	atomic_store(&d->td_hint, de);
out:
	if (error == ENOSPC)
		error = n == 0 ? EINVAL : 0;
	tmpfs_node_lock(dn);
	tmpfs_node_accessed(dn);
	tmpfs_node_unlock(dn);
	return error;
}

static int
tmpfs_readlink(struct vnode *vp, struct uio *uio)
{
	struct tmpfs_node *tn = VP_TO_TN(vp);
	int error;

	if (tn->tn_type != VLNK)
		return EINVAL;
	error = uiomove(tn->tn_lnk.tl_target,
	    MIN(tn->tn_lnk.tl_len, uio->uio_resid), uio);
	tmpfs_node_lock(tn);
	tmpfs_node_accessed(tn);
	tmpfs_node_unlock(tn);
	return error;
}

static void
tmpfs_getattr_copy(struct vnode *vp, struct tmpfs_node *tn, struct vattr *va)
{
	va->va_type = tn->tn_type;
	va->va_mode = tn->tn_mode;
	va->va_nlink = tn->tn_nlink;
	va->va_uid = tn->tn_uid;
	va->va_gid = tn->tn_gid;
	va->va_ino = tn->tn_ino;
	va->va_size = tn->tn_size;
	va->va_blocks = tn->tn_type == VREG ? tn->tn_file.tf_npages *
	    (TMPFS_PAGE_SIZE / 512) : 0;
	va->va_blksize = TMPFS_PAGE_SIZE;
	va->va_rdev = tn->tn_rdev;
	va->va_fsid = vp->v_mount->mnt_dev;
	va->va_atime = tn->tn_atime;
	va->va_mtime = tn->tn_mtime;
	va->va_ctime = tn->tn_ctime;
	va->va_btime = tn->tn_btime;
}

/*
 * Every field is set (no clearing first).  Read without the lock when no
 * writer is about (see tmpfs_node_read_begin), else under it.
 */
static int
tmpfs_getattr(struct vnode *vp, struct vattr *va)
{
	struct tmpfs_node *tn = VP_TO_TN(vp);
	unsigned gen;

	if (tmpfs_node_read_begin(tn, &gen)) {
		tmpfs_getattr_copy(vp, tn, va);
		if (tmpfs_node_read_end(tn, gen))
			return 0;
	}
	tmpfs_node_lock(tn);
	tmpfs_getattr_copy(vp, tn, va);
	tmpfs_node_unlock(tn);
	return 0;
}

/* tmpfs_getattr_copy and vn_stat_fill in one, for fstat. */
static void
tmpfs_stat_copy(struct vnode *vp, struct tmpfs_node *tn, struct stat *st)
{
	st->st_dev = vp->v_mount->mnt_dev;
	st->st_ino = tn->tn_ino;
	st->st_nlink = tn->tn_nlink;
	st->st_mode = vtype_ifmt(tn->tn_type) | (tn->tn_mode & ALLPERMS);
	st->st_uid = tn->tn_uid;
	st->st_gid = tn->tn_gid;
	st->__pad0 = 0;
	st->st_rdev = tn->tn_rdev;
	st->st_size = (long)tn->tn_size;
	st->st_blksize = TMPFS_PAGE_SIZE;
	st->st_blocks = tn->tn_type == VREG ? (long)(tn->tn_file.tf_npages *
	    (TMPFS_PAGE_SIZE / 512)) : 0;
	st->st_atim = tn->tn_atime;
	st->st_mtim = tn->tn_mtime;
	st->st_ctim = tn->tn_ctime;
	st->__st_reserved[0] = st->__st_reserved[1] = st->__st_reserved[2] = 0;
}

/* As tmpfs_getattr, into a struct stat. */
static int
tmpfs_stat(struct vnode *vp, struct stat *st)
{
	struct tmpfs_node *tn = VP_TO_TN(vp);
	unsigned gen;

	if (tmpfs_node_read_begin(tn, &gen)) {
		tmpfs_stat_copy(vp, tn, st);
		if (tmpfs_node_read_end(tn, gen))
			return 0;
	}
	tmpfs_node_lock(tn);
	tmpfs_stat_copy(vp, tn, st);
	tmpfs_node_unlock(tn);
	return 0;
}

/*
 * As Linux: truncate(2) alone changes mtime and ctime only when the size
 * changes; any other attribute change sets ctime (to va_ctime if given).
 */
static int
tmpfs_setattr(struct vnode *vp, const struct vattr *va, int mask)
{
	struct tmpfs_node *tn = VP_TO_TN(vp);
	bool changed = (mask & ~VA_SIZE) != 0;
	int error = 0;

	tmpfs_node_lock(tn);
	if (mask & VA_SIZE) {
		if (tn->tn_type == VDIR) {
			error = EISDIR;
			goto out;
		}
		if (tn->tn_type != VREG) {
			error = EINVAL;
			goto out;
		}
		if (va->va_size != tn->tn_size) {
			error = tmpfs_reg_truncate(tn, va->va_size);
			if (error)
				goto out;
			tmpfs_node_touch(tn, true, false);
			changed = true;
		}
	}
	if (mask & VA_MODE)
		tn->tn_mode = va->va_mode & ALLPERMS;
	if (mask & VA_UID)
		tn->tn_uid = va->va_uid;
	if (mask & VA_GID)
		tn->tn_gid = va->va_gid;
	if (mask & VA_ATIME)
		tn->tn_atime = va->va_atime;
	if (mask & VA_MTIME)
		tn->tn_mtime = va->va_mtime;
	if (mask & VA_CTIME)
		tn->tn_ctime = va->va_ctime;
	else if (changed)
		tmpfs_node_touch(tn, false, true);
out:
	tmpfs_node_unlock(tn);
	return error;
}

static int
tmpfs_rw_check(struct tmpfs_node *tn)
{
	if (tn->tn_type == VDIR)
		return EISDIR;
	if (tn->tn_type != VREG)
		return EINVAL;
	return 0;
}

static int
tmpfs_read(struct vnode *vp, struct uio *uio, int ioflag)
{
	struct tmpfs_node *tn = VP_TO_TN(vp);
	int error;

	error = tmpfs_rw_check(tn);
	if (error)
		return error;
	tmpfs_node_lock(tn);
	error = tmpfs_reg_read(tn, uio);
	tmpfs_node_unlock(tn);
	return error;
}

static int
tmpfs_write(struct vnode *vp, struct uio *uio, int ioflag)
{
	struct tmpfs_node *tn = VP_TO_TN(vp);
	int error;

	error = tmpfs_rw_check(tn);
	if (error)
		return error;
	tmpfs_node_lock(tn);
	error = tmpfs_reg_write(tn, uio, ioflag);
	tmpfs_node_unlock(tn);
	return error;
}

static int
tmpfs_fsync(struct vnode *vp, bool datasync)
{
	return 0;
}

static int
tmpfs_allocate(struct vnode *vp, int mode, off_t off, off_t len)
{
	struct tmpfs_node *tn = VP_TO_TN(vp);
	int error;

	if (tn->tn_type == VDIR)
		return EISDIR;
	if (tn->tn_type != VREG)
		return ENODEV;
	tmpfs_node_lock(tn);
	error = tmpfs_reg_allocate(tn, mode, off, len);
	tmpfs_node_unlock(tn);
	return error;
}

static int
tmpfs_seekhole(struct vnode *vp, off_t off, int whence, off_t *ret)
{
	struct tmpfs_node *tn = VP_TO_TN(vp);
	int error = 0;

	tmpfs_node_lock(tn);
	if (tn->tn_type == VREG) {
		error = tmpfs_reg_seekhole(tn, off, whence, ret);
	} else if (off < 0 || (uint64_t)off >= tn->tn_size) {
		error = ENXIO;
	} else {
		/* Anything else is all data. */
		*ret = whence == SEEK_DATA ? off : (off_t)tn->tn_size;
	}
	tmpfs_node_unlock(tn);
	return error;
}

/*
 * The vnode is going away.  A node without links goes with it; the root
 * of an unmounted file system whose vnode outlived vfs_unmount takes the
 * mount with it.
 */
static void
tmpfs_reclaim(struct vnode *vp)
{
	struct tmpfs_node *tn = vp->v_data;
	struct tmpfs_mount *tm;
	bool unlinked, lastroot;

	if (tn == NULL)
		return;
	tm = tn->tn_mount;
	mutex_enter(&tm->tm_lock);
	KASSERT(tn->tn_nvnodes > 0);
	tn->tn_nvnodes--;
	vp->v_data = NULL;
	/* Before vnode_reclaim frees vp: see vcache_get_hint. */
	if (tn->tn_vnode == vp)
		atomic_store(&tn->tn_vnode, NULL);
	unlinked = tn->tn_nlink == 0 && tn->tn_nvnodes == 0;
	lastroot = tm->tm_dying && tn == tm->tm_root;
	mutex_exit(&tm->tm_lock);
	if (lastroot) {
		tmpfs_mount_free(tm);
	} else if (unlinked) {
		struct vnode *pvp = tn->tn_type == VDIR ?
		    tn->tn_dir.td_parentvp : NULL;
		tmpfs_node_unhash_free(tn);
		if (pvp != NULL)
			vrele(pvp);
	}
}

const struct vnodeops tmpfs_vnodeops = {
	.vop_lookup = tmpfs_lookup,
	.vop_stat = tmpfs_stat,
	.vop_create = tmpfs_create,
	.vop_symlink = tmpfs_symlink,
	.vop_link = tmpfs_link,
	.vop_remove = tmpfs_remove,
	.vop_rmdir = tmpfs_rmdir,
	.vop_rename = tmpfs_rename,
	.vop_readdir = tmpfs_readdir,
	.vop_readlink = tmpfs_readlink,
	.vop_getattr = tmpfs_getattr,
	.vop_setattr = tmpfs_setattr,
	.vop_read = tmpfs_read,
	.vop_write = tmpfs_write,
	.vop_fsync = tmpfs_fsync,
	.vop_allocate = tmpfs_allocate,
	.vop_seekhole = tmpfs_seekhole,
	.vop_reclaim = tmpfs_reclaim,
};
