/*
 * The VFS's private interfaces: shared between the files of sys/vfs only.
 * File systems and the rest of the kernel use vnode.h.
 */
#ifndef PITH_VFS_VFS_IMPL_H
#define PITH_VFS_VFS_IMPL_H

#include "vfs/vnode.h"

/* --- vnode cache (vfs_vnode.c) ------------------------------------------ */
void vcache_init(void);
void vcache_fini(void);
/* Vnodes of mp still in the cache (for unmount's busy check). */
unsigned vcache_count(struct mount *mp);
/* Reclaim mp's idle vnodes; mark vp to be reclaimed at its last vrele. */
void vcache_purge(struct mount *mp);
void vcache_nocache(struct vnode *vp);

/* --- buffer cache (vfs_bio.c) ------------------------------------------ */
void bio_init(void);
void bio_fini(void);

/* --- mounts (vfs_mount.c) ----------------------------------------------- */
extern krwlock_t mountlist_lock;
/* The mount covering vp, with its root referenced, or NULL. */
struct vnode *vfs_crossdown(struct vnode *vp);
const struct vfsops *vfs_byname(const char *name);
dev_t vfs_newdev(void);

/* --- lookup (vfs_lookup.c) ---------------------------------------------- */
#define ND_FOLLOW 0x01          /* follow a symlink in the last component */
#define ND_WANTPARENT 0x02      /* return the parent and last name too */
#define ND_NOLAST 0x04          /* with WANTPARENT: do not look up the last */
#define ND_EMPTYPATH 0x08       /* "" means the start directory (AT_EMPTY_PATH) */
#define ND_NOCROSS 0x10         /* do not enter a mount at the last component */
#define ND_OWNCRED 0x20         /* nd_cred is a copy nd_fini frees (else borrowed) */

enum nd_last { ND_LAST_NORM, ND_LAST_DOT, ND_LAST_DOTDOT, ND_LAST_ROOT };

struct nameidata {
	int nd_flags;                   /* in: ND_* */
	struct cred *nd_cred;           /* in: whose permissions */
	struct vnode *nd_vp;            /* out: referenced, or NULL if absent */
	struct vnode *nd_dvp;           /* out (WANTPARENT): referenced parent */
	enum nd_last nd_last;           /* out: kind of last component */
	bool nd_trailslash;             /* out: path ended in '/' */
	struct componentname nd_cn;     /* out: last name, in nd_name */
	char nd_name[NAME_MAX + 1];
};

/*
 * Resolve a user path relative to dirfd.  Returns 0 with the references
 * in nd (free with nd_done), or an errno.  Without WANTPARENT a missing
 * object is ENOENT; with it, nd_vp is NULL and nd_dvp the directory where
 * it would be.
 */
int namei_at(int dirfd, const char *upath, struct nameidata *nd);
/* As namei_at with a path already in kernel memory. */
int namei_kern(struct vnode *startdir, const char *path, struct nameidata *nd);
void nd_done(struct nameidata *nd);
/* Start (cred_get) and end (nd_done, cred_free) a nameidata. */
void nd_init(struct nameidata *nd, int flags);
void nd_fini(struct nameidata *nd);
/* One VOP_LOOKUP under the mount's namespace lock (caller holds it). */
int vn_lookup_locked(struct vnode *dvp, const struct componentname *cn,
    struct vnode **vpp);

/* --- permissions (vfs_access.c) ----------------------------------------- */
#define VEXEC 01
#define VWRITE 02
#define VREAD 04
int vn_access_va(const struct vattr *va, int mode, const struct cred *cred);
int vn_access(struct vnode *vp, int mode, const struct cred *cred);
/* Sticky-directory rule: may cred remove/rename vp out of dvp? */
int vn_sticky_ok(struct vnode *dvp, struct vnode *vp, const struct cred *cred);
int vn_chmod_check(struct vnode *vp, mode_t *mode, const struct cred *cred);
int vn_chown_check(struct vnode *vp, uid_t uid, gid_t gid,
    const struct cred *cred, struct vattr *va, int *mask);
bool vn_owner(const struct vattr *va, const struct cred *cred);

/* --- open files (vfs_vnops.c) ------------------------------------------- */
extern const struct fileops vn_fileops;
extern const struct fileops vn_pathops;
extern const struct fileops vn_chrops;
/* The vnode of fd (referenced), EBADF; path ok: O_PATH allowed. */
int vn_getfile(int fd, bool pathok, struct file **fpp, struct vnode **vpp);
/* On success the file takes over the caller's reference to vp. */
int vn_open_vnode(struct vnode *vp, int flags, struct file **fpp);
void vn_stat_fill(const struct vattr *va, struct stat *st);
int vn_stat(struct vnode *vp, struct stat *st);
int vn_truncate(struct vnode *vp, off_t len, const struct cred *cred);
bool vn_rdonly(struct vnode *vp);

/* --- syscalls helpers (vfs_syscalls.c) ---------------------------------- */
int vn_open_path(int dirfd, const char *upath, int flags, mode_t mode,
    struct file **fpp);

#endif
