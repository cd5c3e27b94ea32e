/*
 * ext2 vnode operations.
 *
 * Each op takes the mount's em_lock for its whole body (see ext2.h), does
 * its checks before changing anything, and writes every inode it changes
 * back with ext2_iupdate.  New vnodes are obtained with vcache_get only
 * after em_lock is dropped, because loading one takes em_lock; the VFS's
 * namespace lock keeps the name valid in between.  A node created here is
 * written to its inode and then freed: the vnode cache reloads it.
 *
 * Link counts: a directory has 2 + its subdirectories (EXT2_LINK_MAX
 * 32000, EMLINK beyond).  An inode whose count reaches 0 is freed by
 * ext2_reclaim when its last vnode reference goes, so an open unlinked
 * file keeps its data until closed.
 *
 * Reads do not update atime (as noatime): a read-only use of an image,
 * even on a read-write mount, writes nothing.
 */
#include "fs/ext2/ext2.h"

static struct ext2_mount *
ext2_lock(struct vnode *vp)
{
	struct ext2_mount *em = VFS_TO_EM(vp->v_mount);

	mutex_enter(&em->em_lock);
	return em;
}

static bool
ext2_isdotname(const struct componentname *cn)
{
	return cn->cn_namelen == 1 && cn->cn_name[0] == '.';
}

static int
ext2_lookup(struct vnode *dvp, const struct componentname *cn,
    struct vnode **vpp)
{
	struct ext2_node *dn = VP_TO_EN(dvp);
	struct ext2_mount *em = ext2_lock(dvp);
	uint32_t ino = 0;
	int error = 0;

	if (dn->en_type != VDIR)
		error = ENOTDIR;
	else if (dn->en_nlink == 0)
		error = ENOENT;
	else if (ext2_isdotname(cn))
		ino = dn->en_ino;
	else
		error = ext2_dir_find(dn, cn->cn_name, cn->cn_namelen, &ino,
		    NULL);
	mutex_exit(&em->em_lock);
	if (error)
		return error;
	return vcache_get(dvp->v_mount, ino, vpp);
}

/* May cn be added to dn?  EEXIST, ENOENT (dn removed), ENAMETOOLONG. */
static int
ext2_newname_check(struct ext2_node *dn, const struct componentname *cn)
{
	uint32_t ino;
	int error;

	if (dn->en_type != VDIR)
		return ENOTDIR;
	if (dn->en_nlink == 0)
		return ENOENT;
	if (cn->cn_namelen == 0)
		return ENOENT;
	if (cn->cn_namelen > EXT2_NAME_LEN)
		return ENAMETOOLONG;
	error = ext2_dir_find(dn, cn->cn_name, cn->cn_namelen, &ino, NULL);
	if (error == 0)
		return EEXIST;
	return error == ENOENT ? 0 : error;
}

/* Undo a node that never got a name: free its inode and blocks. */
static void
ext2_abandon(struct ext2_node *en)
{
	en->en_nlink = 0;
	(void)ext2_idestroy(en);
	ext2_node_free(en);
}

/* Store a symlink target in a new node: in i_block or a data block. */
static int
ext2_symlink_store(struct ext2_node *en, const char *target, size_t len)
{
	struct ext2_mount *em = en->en_mount;
	uint8_t fast[EXT2_N_BLOCKS * 4];
	uint32_t pbn;
	struct buf *bp;
	unsigned i;
	bool isnew;
	int error;

	en->en_size = len;
	if (len <= EXT2_FAST_SYMLINK_MAX) {
		memset(fast, 0, sizeof(fast));
		memcpy(fast, target, len);
		for (i = 0; i < EXT2_N_BLOCKS; i++)
			en->en_block[i] = ext2_le32(fast + 4 * i);
		return ext2_iupdate(en);
	}
	error = ext2_bmap(en, 0, true, &pbn, &isnew);
	if (error)
		return error;
	error = bget(em->em_dev, pbn, em->em_bsize, &bp);
	if (error)
		return error;
	memset(bp->b_data, 0, em->em_bsize);
	memcpy(bp->b_data, target, len);
	bdwrite(bp);
	return ext2_iupdate(en);
}

static int
ext2_makenode(struct vnode *dvp, const struct componentname *cn,
    enum vtype type, const struct vattr *va, const char *target,
    struct vnode **vpp)
{
	struct ext2_node *dn = VP_TO_EN(dvp), *en = NULL;
	struct ext2_mount *em = ext2_lock(dvp);
	uint32_t ino = 0;
	int error;

	error = ext2_newname_check(dn, cn);
	if (error)
		goto out;
	if (type == VDIR && dn->en_nlink >= EXT2_LINK_MAX) {
		error = EMLINK;
		goto out;
	}
	error = ext2_inew(em, dn, type, va->va_mode, va->va_uid, va->va_gid,
	    va->va_rdev, &en);
	if (error)
		goto out;
	if (type == VDIR) {
		en->en_nlink = 2;
		error = ext2_dir_init(en, dn->en_ino);
	} else if (type == VLNK) {
		error = ext2_symlink_store(en, target, strlen(target));
	}
	if (error == 0)
		error = ext2_dir_add(dn, cn->cn_name, cn->cn_namelen,
		    en->en_ino, type);
	if (error) {
		ext2_abandon(en);
		goto out;
	}
	if (type == VDIR) {
		dn->en_nlink++;
		(void)ext2_iupdate(dn);
	}
	ino = en->en_ino;
	ext2_node_free(en);
out:
	mutex_exit(&em->em_lock);
	if (error)
		return error;
	return vcache_get(dvp->v_mount, ino, vpp);
}

static int
ext2_create(struct vnode *dvp, const struct componentname *cn,
    const struct vattr *va, struct vnode **vpp)
{
	/* The VFS makes symlinks with vop_symlink and passes no other type. */
	KASSERT(va->va_type != VNON && va->va_type != VLNK);
	return ext2_makenode(dvp, cn, va->va_type, va, NULL, vpp);
}

static int
ext2_symlink(struct vnode *dvp, const struct componentname *cn,
    const struct vattr *va, const char *target, struct vnode **vpp)
{
	struct ext2_mount *em = VFS_TO_EM(dvp->v_mount);
	struct vattr lva = *va;
	size_t len = strnlen(target, PATH_MAX);

	if (len == 0)
		return ENOENT;
	if (len >= PATH_MAX || len + 1 > em->em_bsize)
		return ENAMETOOLONG;
	lva.va_mode = 0777;
	return ext2_makenode(dvp, cn, VLNK, &lva, target, vpp);
}

static int
ext2_link(struct vnode *dvp, const struct componentname *cn,
    struct vnode *vp)
{
	struct ext2_node *dn = VP_TO_EN(dvp), *en = VP_TO_EN(vp);
	struct ext2_mount *em = ext2_lock(dvp);
	int error;

	if (en->en_type == VDIR)
		error = EPERM;
	else if (en->en_nlink == 0)
		error = ENOENT;
	else if (en->en_nlink >= EXT2_LINK_MAX)
		error = EMLINK;
	else
		error = ext2_newname_check(dn, cn);
	if (error == 0)
		error = ext2_dir_add(dn, cn->cn_name, cn->cn_namelen,
		    en->en_ino, en->en_type);
	if (error == 0) {
		en->en_nlink++;
		ext2_touch(en, false, true);
		error = ext2_iupdate(en);
	}
	mutex_exit(&em->em_lock);
	return error;
}

/* The directory offset of entry cn of dn, which must name en. */
static int
ext2_entry_of(struct ext2_node *dn, const struct componentname *cn,
    struct ext2_node *en, uint64_t *off)
{
	uint32_t ino;
	int error;

	if (dn->en_type != VDIR)
		return ENOTDIR;
	error = ext2_dir_find(dn, cn->cn_name, cn->cn_namelen, &ino, off);
	if (error)
		return error;
	return ino == en->en_ino ? 0 : ENOENT;
}

static void
ext2_droplink(struct ext2_node *en)
{
	if (en->en_nlink > 0)
		en->en_nlink--;
	ext2_touch(en, false, true);
	(void)ext2_iupdate(en);
}

static int
ext2_remove(struct vnode *dvp, const struct componentname *cn,
    struct vnode *vp)
{
	struct ext2_node *dn = VP_TO_EN(dvp), *en = VP_TO_EN(vp);
	struct ext2_mount *em = ext2_lock(dvp);
	uint64_t off;
	int error;

	if (en->en_type == VDIR)
		error = EISDIR;
	else
		error = ext2_entry_of(dn, cn, en, &off);
	if (error == 0)
		error = ext2_dir_remove(dn, off);
	if (error == 0)
		ext2_droplink(en);
	mutex_exit(&em->em_lock);
	return error;
}

static int
ext2_rmdir(struct vnode *dvp, const struct componentname *cn,
    struct vnode *vp)
{
	struct ext2_node *dn = VP_TO_EN(dvp), *en = VP_TO_EN(vp);
	struct ext2_mount *em = ext2_lock(dvp);
	uint64_t off;
	bool empty;
	int error;

	if (en->en_type != VDIR) {
		error = ENOTDIR;
		goto out;
	}
	error = ext2_dir_isempty(en, &empty);
	if (error == 0 && !empty)
		error = ENOTEMPTY;
	if (error == 0)
		error = ext2_entry_of(dn, cn, en, &off);
	if (error == 0)
		error = ext2_dir_remove(dn, off);
	if (error)
		goto out;
	en->en_nlink = 0;
	ext2_touch(en, false, true);
	(void)ext2_iupdate(en);
	ext2_droplink(dn);              /* en's ".." */
out:
	mutex_exit(&em->em_lock);
	return error;
}

/* Point the ".." of directory en at parent. */
static int
ext2_set_dotdot(struct ext2_node *en, struct ext2_node *parent)
{
	uint64_t off;
	uint32_t ino;
	int error;

	error = ext2_dir_find(en, "..", 2, &ino, &off);
	if (error)
		return error == ENOENT ? ext2_corrupt(en->en_mount,
		    "no .. in directory inode", en->en_ino) : error;
	return ext2_dir_set(en, off, parent->en_ino, VDIR);
}

static void
ext2_addlink(struct ext2_node *en, int delta)
{
	if (delta < 0 && en->en_nlink > 0)
		en->en_nlink--;
	else if (delta > 0)
		en->en_nlink++;
	ext2_touch(en, false, true);
	(void)ext2_iupdate(en);
}

static int
ext2_rename_exchange(struct ext2_node *fdn, uint64_t foff,
    struct ext2_node *fn, struct ext2_node *tdn, uint64_t toff,
    struct ext2_node *tn)
{
	int error;

	error = ext2_dir_set(fdn, foff, tn->en_ino, tn->en_type);
	if (error)
		return error;
	error = ext2_dir_set(tdn, toff, fn->en_ino, fn->en_type);
	if (error)
		return error;
	if (fdn != tdn) {
		if (fn->en_type == VDIR)
			(void)ext2_set_dotdot(fn, tdn);
		if (tn->en_type == VDIR)
			(void)ext2_set_dotdot(tn, fdn);
		if (fn->en_type == VDIR && tn->en_type != VDIR) {
			ext2_addlink(fdn, -1);
			ext2_addlink(tdn, 1);
		} else if (tn->en_type == VDIR && fn->en_type != VDIR) {
			ext2_addlink(tdn, -1);
			ext2_addlink(fdn, 1);
		}
	}
	ext2_addlink(fn, 0);
	ext2_addlink(tn, 0);
	return 0;
}

static int
ext2_rename_locked(struct ext2_node *fdn, const struct componentname *fcn,
    struct ext2_node *fn, struct ext2_node *tdn,
    const struct componentname *tcn, struct ext2_node *tn, int flags)
{
	uint64_t foff, toff = 0;
	uint32_t ino;
	bool empty;
	int error;

	if (flags & ~RENAME_EXCHANGE)
		return EINVAL;
	error = ext2_entry_of(fdn, fcn, fn, &foff);
	if (error)
		return error;
	if (tdn->en_type != VDIR)
		return ENOTDIR;
	if (tdn->en_nlink == 0)
		return ENOENT;
	if (tn != NULL) {
		error = ext2_entry_of(tdn, tcn, tn, &toff);
		if (error)
			return error;
	} else {
		error = ext2_newname_check(tdn, tcn);
		if (error)
			return error;
	}
	if (flags & RENAME_EXCHANGE) {
		if (tn == NULL)
			return ENOENT;
		return ext2_rename_exchange(fdn, foff, fn, tdn, toff, tn);
	}
	if (tn != NULL && tn->en_type == VDIR) {
		error = ext2_dir_isempty(tn, &empty);
		if (error)
			return error;
		if (!empty)
			return ENOTEMPTY;
	}
	if (fn->en_type == VDIR && fdn != tdn && tn == NULL &&
	    tdn->en_nlink >= EXT2_LINK_MAX)
		return EMLINK;

	/* The new name first: if this fails nothing has changed. */
	if (tn != NULL)
		error = ext2_dir_set(tdn, toff, fn->en_ino, fn->en_type);
	else
		error = ext2_dir_add(tdn, tcn->cn_name, tcn->cn_namelen,
		    fn->en_ino, fn->en_type);
	if (error)
		return error;
	/* Entries never move, but find it again to be sure. */
	error = ext2_dir_find(fdn, fcn->cn_name, fcn->cn_namelen, &ino, &foff);
	if (error == 0 && ino == fn->en_ino)
		error = ext2_dir_remove(fdn, foff);
	if (tn != NULL) {
		if (tn->en_type == VDIR) {
			tn->en_nlink = 0;
			ext2_addlink(tn, 0);
			ext2_addlink(tdn, -1);  /* tn's ".." */
		} else {
			ext2_droplink(tn);
		}
	}
	if (fn->en_type == VDIR && fdn != tdn) {
		(void)ext2_set_dotdot(fn, tdn);
		ext2_addlink(fdn, -1);
		ext2_addlink(tdn, 1);
	}
	ext2_addlink(fn, 0);
	return error;
}

static int
ext2_rename(struct vnode *fdvp, const struct componentname *fcn,
    struct vnode *fvp, struct vnode *tdvp, const struct componentname *tcn,
    struct vnode *tvp, int flags)
{
	struct ext2_mount *em = ext2_lock(fdvp);
	int error;

	error = ext2_rename_locked(VP_TO_EN(fdvp), fcn, VP_TO_EN(fvp),
	    VP_TO_EN(tdvp), tcn, tvp != NULL ? VP_TO_EN(tvp) : NULL, flags);
	mutex_exit(&em->em_lock);
	return error;
}

static int
ext2_readdir(struct vnode *vp, struct uio *uio)
{
	struct ext2_node *dn = VP_TO_EN(vp);
	struct ext2_mount *em = ext2_lock(vp);
	int error;

	if (dn->en_type != VDIR)
		error = ENOTDIR;
	else if (dn->en_nlink == 0)
		error = ENOENT;
	else
		error = ext2_dir_readdir(dn, uio);
	mutex_exit(&em->em_lock);
	return error;
}

static int
ext2_readlink_locked(struct ext2_node *en, struct uio *uio)
{
	struct ext2_mount *em = en->en_mount;
	uint8_t fast[EXT2_N_BLOCKS * 4];
	uint32_t pbn;
	struct buf *bp;
	unsigned i;
	int error;

	if (en->en_type != VLNK)
		return EINVAL;
	if (en->en_blocks == 0 || (en->en_file_acl != 0 &&
	    en->en_blocks <= em->em_bsize / 512)) {
		if (en->en_size > sizeof(fast))
			return ext2_corrupt(em, "fast symlink size, inode",
			    en->en_ino);
		for (i = 0; i < EXT2_N_BLOCKS; i++)
			ext2_put32(fast + 4 * i, en->en_block[i]);
		return uiomove(fast, MIN((size_t)en->en_size, uio->uio_resid),
		    uio);
	}
	if (en->en_size >= em->em_bsize)
		return ext2_corrupt(em, "symlink size, inode", en->en_ino);
	error = ext2_bmap(en, 0, false, &pbn, NULL);
	if (error)
		return error;
	if (pbn == 0)
		return ext2_corrupt(em, "symlink without block, inode",
		    en->en_ino);
	error = bread(em->em_dev, pbn, em->em_bsize, &bp);
	if (error)
		return error;
	error = uiomove(bp->b_data, MIN((size_t)en->en_size, uio->uio_resid),
	    uio);
	brelse(bp);
	return error;
}

static int
ext2_readlink(struct vnode *vp, struct uio *uio)
{
	struct ext2_mount *em = ext2_lock(vp);
	int error;

	error = ext2_readlink_locked(VP_TO_EN(vp), uio);
	mutex_exit(&em->em_lock);
	return error;
}

static int
ext2_getattr(struct vnode *vp, struct vattr *va)
{
	struct ext2_node *en = VP_TO_EN(vp);
	struct ext2_mount *em = ext2_lock(vp);

	memset(va, 0, sizeof(*va));
	va->va_type = en->en_type;
	va->va_mode = en->en_mode & ALLPERMS;
	va->va_nlink = en->en_nlink;
	va->va_uid = en->en_uid;
	va->va_gid = en->en_gid;
	va->va_ino = en->en_ino;
	va->va_size = en->en_size;
	va->va_blocks = en->en_blocks;
	va->va_blksize = em->em_bsize;
	va->va_rdev = en->en_rdev;
	va->va_fsid = vp->v_mount->mnt_dev;
	va->va_atime = en->en_atime;
	va->va_mtime = en->en_mtime;
	va->va_ctime = en->en_ctime;
	va->va_btime = en->en_crtime;
	mutex_exit(&em->em_lock);
	return 0;
}

/* As Linux: truncate alone changes mtime and ctime only on a change. */
static int
ext2_setattr(struct vnode *vp, const struct vattr *va, int mask)
{
	struct ext2_node *en = VP_TO_EN(vp);
	struct ext2_mount *em = ext2_lock(vp);
	bool changed = (mask & ~VA_SIZE) != 0;
	int error = 0;

	if (em->em_rdonly) {
		error = EROFS;
		goto out;
	}
	if (mask & VA_SIZE) {
		if (en->en_type == VDIR) {
			error = EISDIR;
			goto out;
		}
		if (en->en_type != VREG) {
			error = EINVAL;
			goto out;
		}
		if (va->va_size != en->en_size) {
			error = ext2_truncate(en, va->va_size);
			if (error) {
				(void)ext2_iupdate(en);
				goto out;
			}
			ext2_touch(en, true, false);
			changed = true;
		}
	}
	if (mask & VA_MODE)
		en->en_mode = (uint16_t)((en->en_mode & S_IFMT) |
		    (va->va_mode & ALLPERMS));
	if (mask & VA_UID)
		en->en_uid = va->va_uid;
	if (mask & VA_GID)
		en->en_gid = va->va_gid;
	if (mask & VA_ATIME)
		en->en_atime = va->va_atime;
	if (mask & VA_MTIME)
		en->en_mtime = va->va_mtime;
	if (mask & VA_CTIME)
		en->en_ctime = va->va_ctime;
	else if (changed)
		ext2_touch(en, false, true);
	error = ext2_iupdate(en);
out:
	mutex_exit(&em->em_lock);
	return error;
}

static int
ext2_rw(struct vnode *vp, struct uio *uio, int ioflag)
{
	struct ext2_node *en = VP_TO_EN(vp);
	struct ext2_mount *em;
	int error;

	if (en->en_type == VDIR)
		return EISDIR;
	if (en->en_type != VREG)
		return EINVAL;
	em = ext2_lock(vp);
	if (uio->uio_rw == UIO_WRITE && em->em_rdonly)
		error = EROFS;
	else
		error = ext2_rdwr(en, uio, ioflag);
	mutex_exit(&em->em_lock);
	return error;
}

static int
ext2_read(struct vnode *vp, struct uio *uio, int ioflag)
{
	return ext2_rw(vp, uio, ioflag);
}

static int
ext2_write(struct vnode *vp, struct uio *uio, int ioflag)
{
	int error;

	error = ext2_rw(vp, uio, ioflag);
	/* O_SYNC and O_DSYNC: on the host's disk before returning. */
	if (error == 0 && (ioflag & IO_SYNC))
		error = ext2_syncfs(VFS_TO_EM(vp->v_mount));
	return error;
}

static int
ext2_fsync(struct vnode *vp, bool datasync)
{
	return ext2_syncfs(VFS_TO_EM(vp->v_mount));
}

static int
ext2_allocate(struct vnode *vp, int mode, off_t off, off_t len)
{
	return EOPNOTSUPP;
}

static int
ext2_ioctl(struct vnode *vp, unsigned int cmd, void *uarg)
{
	if (cmd == FS_IOC_FIEMAP)
		return ext2_fiemap(VP_TO_EN(vp), uarg);
	return ENOTTY;
}

/* Last reference: an inode without links is freed now. */
static void
ext2_reclaim(struct vnode *vp)
{
	struct ext2_node *en = vp->v_data;
	struct ext2_mount *em;

	if (en == NULL)
		return;
	em = en->en_mount;
	mutex_enter(&em->em_lock);
	if (en->en_nlink == 0 && !em->em_rdonly)
		(void)ext2_idestroy(en);
	vp->v_data = NULL;
	mutex_exit(&em->em_lock);
	ext2_node_free(en);
}

const struct vnodeops ext2_vnodeops = {
	.vop_lookup = ext2_lookup,
	.vop_create = ext2_create,
	.vop_symlink = ext2_symlink,
	.vop_link = ext2_link,
	.vop_remove = ext2_remove,
	.vop_rmdir = ext2_rmdir,
	.vop_rename = ext2_rename,
	.vop_readdir = ext2_readdir,
	.vop_readlink = ext2_readlink,
	.vop_getattr = ext2_getattr,
	.vop_setattr = ext2_setattr,
	.vop_read = ext2_read,
	.vop_write = ext2_write,
	.vop_fsync = ext2_fsync,
	.vop_allocate = ext2_allocate,
	.vop_seekhole = NULL,
	.vop_ioctl = ext2_ioctl,
	.vop_reclaim = ext2_reclaim,
};
