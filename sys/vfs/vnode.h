/*
 * Vnodes, mounts and the file-system switch.
 *
 * A vnode is the kernel's handle on one file of one mounted file system; a
 * file system supplies a vnodeops vector and a vfsops vector and registers
 * itself with vfs_register().  The VFS does path lookup, permission checks
 * and every POSIX rule that does not depend on the on-disk format; a file
 * system does the mechanics.
 *
 * Locking, in order of acquisition:
 *   mountlist_lock (rw)    the mount list and every v_mountedhere [M]
 *   mnt_nslock (rw)        the namespace of one mount: the contents of all
 *                          its directories [N].  Lookup and readdir hold it
 *                          as reader; create, link, remove, rename, mkdir,
 *                          rmdir, symlink hold it as writer.
 *   v_lock (mutex)         a vnode's attributes and file data [V]; a file
 *                          system takes it inside its ops, one vnode at a
 *                          time (never two v_locks at once).
 *   vcache lock            the vnode cache hash [C]
 * [I] immutable after the vnode is published; [a] atomic.
 */
#ifndef PITH_VFS_VNODE_H
#define PITH_VFS_VNODE_H

#include "kern/kern.h"
#include "kern/proc.h"
#include "kern/file.h"

enum vtype { VNON, VREG, VDIR, VLNK, VCHR, VBLK, VFIFO, VSOCK };

/* struct stat's file-type bits for a vnode type. */
static inline mode_t
vtype_ifmt(enum vtype t)
{
	static const mode_t ifmt[] = {
		[VNON] = 0, [VREG] = S_IFREG, [VDIR] = S_IFDIR,
		[VLNK] = S_IFLNK, [VCHR] = S_IFCHR, [VBLK] = S_IFBLK,
		[VFIFO] = S_IFIFO, [VSOCK] = S_IFSOCK,
	};

	return (unsigned)t < sizeof(ifmt) / sizeof(ifmt[0]) ? ifmt[t] : 0;
}

struct vattr {
	enum vtype va_type;
	mode_t va_mode;                 /* permission bits incl. suid/sgid/sticky */
	nlink_t va_nlink;
	uid_t va_uid;
	gid_t va_gid;
	uint64_t va_ino;
	uint64_t va_size;
	uint64_t va_blocks;             /* 512-byte units */
	uint32_t va_blksize;
	dev_t va_rdev;
	dev_t va_fsid;
	struct timespec va_atime, va_mtime, va_ctime, va_btime;
};

/* vop_setattr mask */
#define VA_MODE 0x01
#define VA_UID 0x02
#define VA_GID 0x04
#define VA_SIZE 0x08
#define VA_ATIME 0x10
#define VA_MTIME 0x20
#define VA_CTIME 0x40

/* vop_read/vop_write ioflag */
#define IO_APPEND 0x1           /* write at end of file */
#define IO_SYNC 0x2

struct vnode;
struct mount;
struct componentname {
	const char *cn_name;            /* not NUL-terminated */
	size_t cn_namelen;
};

/*
 * The file-system operations.  All return 0 or an errno.  Namespace ops
 * are called with the mount's mnt_nslock held (reader for lookup and
 * readdir, writer for the rest); data and attribute ops with no VFS lock
 * held.  vpp results are referenced vnodes the caller must vrele.  The VFS
 * has already checked permissions, name length (<= NAME_MAX), "." and
 * ".." misuse, and that directories are directories.
 */
struct vnodeops {
	/* "." and ".." included.  ENOENT if absent. */
	int (*vop_lookup)(struct vnode *dvp, const struct componentname *cn,
	    struct vnode **vpp);
	/* Create a VREG, VDIR, VCHR, VBLK, VFIFO or VSOCK per va->va_type
	 * with va_mode, va_uid, va_gid, va_rdev; EEXIST if the name exists. */
	int (*vop_create)(struct vnode *dvp, const struct componentname *cn,
	    const struct vattr *va, struct vnode **vpp);
	int (*vop_symlink)(struct vnode *dvp, const struct componentname *cn,
	    const struct vattr *va, const char *target, struct vnode **vpp);
	/* New name for vp (not a directory) in dvp; EEXIST, EMLINK. */
	int (*vop_link)(struct vnode *dvp, const struct componentname *cn,
	    struct vnode *vp);
	/* Remove name cn (which is vp, not a directory) from dvp. */
	int (*vop_remove)(struct vnode *dvp, const struct componentname *cn,
	    struct vnode *vp);
	/* Remove directory vp named cn from dvp; ENOTEMPTY. */
	int (*vop_rmdir)(struct vnode *dvp, const struct componentname *cn,
	    struct vnode *vp);
	/*
	 * Rename fcn (fvp) in fdvp to tcn in tdvp.  tvp is what tcn names
	 * now, or NULL.  The VFS has checked: same mount, type compatibility
	 * (EISDIR/ENOTDIR), not into own subtree, NOREPLACE/EXCHANGE
	 * preconditions, and that fvp != tvp.  The file system checks that
	 * a directory tvp is empty (ENOTEMPTY), fixes ".." and link counts.
	 * flags: 0 or RENAME_EXCHANGE.
	 */
	int (*vop_rename)(struct vnode *fdvp, const struct componentname *fcn,
	    struct vnode *fvp, struct vnode *tdvp,
	    const struct componentname *tcn, struct vnode *tvp, int flags);
	/*
	 * Fill uio with struct linux_dirent64 records starting at the
	 * directory cookie uio->uio_offset; leave uio_offset at the cookie
	 * of the next entry.  Cookies stay valid across creates and
	 * removes (an entry is returned once, removed entries are skipped).
	 * EINVAL if not even one record fits.
	 */
	int (*vop_readdir)(struct vnode *vp, struct uio *uio);
	int (*vop_readlink)(struct vnode *vp, struct uio *uio);
	/* Fill every field of *va (it is not cleared first: fstat path). */
	int (*vop_getattr)(struct vnode *vp, struct vattr *va);
	/*
	 * Optional, fstat's fast path: fill every field of *st (padding
	 * included) exactly as vop_getattr and vn_stat_fill would, without
	 * the struct vattr in between.  NULL: the VFS uses vop_getattr.
	 */
	int (*vop_stat)(struct vnode *vp, struct stat *st);
	/* Set the fields named by mask (VA_*).  VA_SIZE truncates/extends.
	 * The file system updates ctime itself when anything changes. */
	int (*vop_setattr)(struct vnode *vp, const struct vattr *va, int mask);
	int (*vop_read)(struct vnode *vp, struct uio *uio, int ioflag);
	/* IO_APPEND: write at the end, and leave uio_offset there. */
	int (*vop_write)(struct vnode *vp, struct uio *uio, int ioflag);
	int (*vop_fsync)(struct vnode *vp, bool datasync);
	/* fallocate(2): modes 0, KEEP_SIZE, ZERO_RANGE[|KEEP_SIZE] and
	 * PUNCH_HOLE|KEEP_SIZE (the VFS rejects other combinations); a file
	 * system that lacks one returns EOPNOTSUPP. */
	int (*vop_allocate)(struct vnode *vp, int mode, off_t off, off_t len);
	/* SEEK_DATA/SEEK_HOLE support; NULL: whole file is data. */
	int (*vop_seekhole)(struct vnode *vp, off_t off, int whence, off_t *ret);
	/* ioctl(2) commands the VFS does not handle itself; uarg is the
	 * caller's argument (copyin/copyout).  NULL: ENOTTY for all. */
	int (*vop_ioctl)(struct vnode *vp, unsigned int cmd, void *uarg);
	/* Last reference dropped: free the file system's node if it has no
	 * links left, and detach it from the vnode.  Called without locks. */
	void (*vop_reclaim)(struct vnode *vp);
};

/*
 * A vnode.  Allocated and cached by the VFS (vcache_get), filled in by the
 * file system's vfs_loadvnode, freed after vop_reclaim when the last
 * reference goes.
 */
struct vnode {
	struct mount *v_mount;          /* [I] */
	const struct vnodeops *v_op;    /* [I] */
	enum vtype v_type;              /* [I] */
	uint64_t v_key;                 /* [I] cache key (inode number) */
	void *v_data;                   /* [I] file system's node */
	unsigned v_refcnt;              /* [a] */
	dev_t v_rdev;                   /* [I] for VCHR/VBLK */
	struct mount *v_mountedhere;    /* [M] a mount covering this directory */
	kmutex_t v_lock;
	LIST_ENTRY(vnode) v_hash;       /* [C] */
};

void vref(struct vnode *vp);
void vrele(struct vnode *vp);

/*
 * The vnode cache: the one vnode for (mp, key).  Returns it referenced,
 * calling mp's vfs_loadvnode to build it if it is not in memory.
 */
int vcache_get(struct mount *mp, uint64_t key, struct vnode **vpp);
/*
 * The same, looking first at *hint: a file system's record of the vnode
 * it last loaded for key, which it sets when vfs_loadvnode succeeds and
 * clears (if still that vnode) in vop_reclaim.  Read under the cache's
 * lock, so a vnode found there cannot be freed meanwhile; a stale or NULL
 * hint falls back to the table.  Saves the hash walk's cache misses.
 */
int vcache_get_hint(struct mount *mp, uint64_t key, struct vnode *const *hint,
    struct vnode **vpp);

struct statfs;

/* Per-file-system operations. */
struct vfsops {
	const char *vfs_name;           /* "tmpfs", "ext2": mount(2)'s fstype */
	/* Set up mp (mnt_data, mnt_root via vcache_get) from the source
	 * string and data argument of mount(2). */
	int (*vfs_mount)(struct mount *mp, const char *source, const void *data);
	/* Flush and free everything; every vnode but the root has been
	 * released (the VFS checks busy first).  The VFS drops the
	 * mount's reference on mnt_root (and sets it NULL) just before
	 * this call, so the root's vop_reclaim has already run: do not
	 * vrele mnt_root here. */
	int (*vfs_unmount)(struct mount *mp);
	int (*vfs_statfs)(struct mount *mp, struct statfs *sf);
	int (*vfs_sync)(struct mount *mp);
	/* Fill a new vnode for key: set v_op, v_type, v_data, v_rdev. */
	int (*vfs_loadvnode)(struct mount *mp, struct vnode *vp, uint64_t key);
};

struct mount {
	const struct vfsops *mnt_op;    /* [I] */
	void *mnt_data;                 /* [I] file system's */
	struct vnode *mnt_root;         /* [I] referenced */
	struct vnode *mnt_covered;      /* [I] directory we sit on, or NULL for / */
	int mnt_flags;                  /* [M] MS_RDONLY... */
	dev_t mnt_dev;                  /* [I] st_dev of its files */
	unsigned mnt_nvnodes;           /* [C] vnodes in the cache */
	krwlock_t mnt_nslock;
	TAILQ_ENTRY(mount) mnt_list;    /* [M] */
};

/* Make a file system available to mount(2).  Called from components. */
int vfs_register(const struct vfsops *ops);
void vfs_unregister(const struct vfsops *ops);

/* Helpers for file systems. */
mode_t vn_dtype_to_mode(int dtype);
int vn_type_to_dtype(enum vtype t);
/* Append one linux_dirent64 record; returns ENOSPC if it does not fit. */
int vfs_dirent_add(struct uio *uio, uint64_t ino, int64_t next_cookie,
    int dtype, const char *name, size_t namelen);

/*
 * Buffer cache: fixed-size blocks of a block device, cached, written back
 * on bwrite/sync.  Disk file systems use it; the device is reached through
 * bdev ops so the VFS needs no driver by name.
 */
struct bdev {
	const struct bdevops *bd_ops;
	void *bd_data;
	uint64_t bd_size;               /* bytes */
	unsigned bd_blksize;            /* device sector size */
};
struct bdevops {
	int (*bdo_read)(struct bdev *bd, uint64_t off, void *buf, size_t len);
	int (*bdo_write)(struct bdev *bd, uint64_t off, const void *buf, size_t len);
	int (*bdo_sync)(struct bdev *bd);
};
struct buf {
	struct bdev *b_dev;             /* [I] */
	uint64_t b_blkno;               /* [I] in units of b_size */
	size_t b_size;                  /* [I] */
	void *b_data;                   /* [B] owner while busy */
	int b_flags;                    /* [bcache] B_* */
	unsigned b_refcnt;              /* [bcache] */
	LIST_ENTRY(buf) b_hash;         /* [bcache] */
	TAILQ_ENTRY(buf) b_lru;         /* [bcache] */
};
#define B_DIRTY 0x1
#define B_BUSY 0x2
#define B_VALID 0x4

/* Read block blkno of size bytes; returns it busy (owned by the caller). */
int bread(struct bdev *bd, uint64_t blkno, size_t size, struct buf **bpp);
/* A busy buffer for blkno without reading it (to overwrite whole). */
int bget(struct bdev *bd, uint64_t blkno, size_t size, struct buf **bpp);
/* Release: brelse keeps contents; bdwrite marks dirty (written later);
 * bwrite writes now and releases. */
void brelse(struct buf *bp);
void bdwrite(struct buf *bp);
int bwrite(struct buf *bp);
/* Write every dirty buffer of bd and call its sync; drop all its buffers
 * when invalidate is set (unmount). */
int bflush(struct bdev *bd, bool invalidate);
/* Is block blkno of size bytes in the cache?  (A hint: callers that read
 * around the cache hold their file system's lock against writers.) */
bool bincore(struct bdev *bd, uint64_t blkno, size_t size);

#endif
