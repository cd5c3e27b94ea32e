/*
 * tmpfs: a file system in kernel memory.  Private to sys/fs/tmpfs/.
 *
 * One tmpfs_node per inode, found from its inode number through a per-mount
 * hash (the vnode cache key is the inode number).  Directories are a name
 * hash over their entries plus a list of the same entries in the order of
 * their readdir cookies.  Regular files keep their data in 4 KiB pages
 * hung off a radix tree indexed by page number, so holes cost nothing.
 *
 * Locking, in order of acquisition:
 *   mnt_nslock (VFS)  [N] directory contents, tn_parent, and nlink changes
 *                     (nlink is also written under tn_lock so that getattr,
 *                     which holds no VFS lock, reads it consistently)
 *   tn_lock           [n] a node's attributes and file data; one at a time
 *   tm_lock           [m] the inode hash, counters, tn_nvnodes
 * [I] immutable after creation; [a] atomic.
 *
 * tn_lock is the node's own mutex rather than the vnode's v_lock because a
 * node outlives its vnodes (it is reloaded into a fresh vnode after the old
 * one is reclaimed) and namespace ops touch nodes that have no vnode yet.
 */
#ifndef PITH_FS_TMPFS_H
#define PITH_FS_TMPFS_H

#include "kern/kern.h"
#include "vfs/vnode.h"

#define TMPFS_PAGE_SHIFT 12
#define TMPFS_PAGE_SIZE (1UL << TMPFS_PAGE_SHIFT)
#define TMPFS_PAGE_MASK (TMPFS_PAGE_SIZE - 1)
/* Radix tree fan-out: 512 pointers, one 4 KiB interior node. */
#define TMPFS_RADIX_SHIFT 9
#define TMPFS_RADIX_FANOUT (1U << TMPFS_RADIX_SHIFT)
#define TMPFS_RADIX_MAXHEIGHT 6         /* 6 * 9 + 12 > 63 bits */
/* Largest file: Linux's MAX_LFS_FILESIZE on 64-bit. */
#define TMPFS_MAXFILESIZE ((uint64_t)LONG_MAX)
/* Hard links a file may have (link(2) fails with EMLINK beyond). */
#define TMPFS_LINK_MAX 65000
/* Directory st_size: Linux tmpfs's bogus 20 bytes per entry incl. . and .. */
#define TMPFS_DIRENT_BOGOSIZE 20
/* Cookies 0 and 1 are "." and ".."; real entries start here. */
#define TMPFS_COOKIE_FIRST 2

struct tmpfs_node;

struct tmpfs_dirent {
	struct tmpfs_dirent *de_hnext;          /* [N] name hash chain */
	TAILQ_ENTRY(tmpfs_dirent) de_list;      /* [N] in cookie order */
	int64_t de_cookie;                      /* [I] */
	struct tmpfs_node *de_node;             /* [N] (EXCHANGE swaps it) */
	uint32_t de_hash;                       /* [I] */
	uint16_t de_namelen;                    /* [I] */
	char de_name[];                         /* [I] not NUL-terminated */
};
TAILQ_HEAD(tmpfs_dirlist, tmpfs_dirent);

struct tmpfs_dir {
	struct tmpfs_node *td_parent;           /* [N] ".."; self for the root */
	/* Once removed, ".." still leads to the old parent (as on Linux),
	 * which this reference keeps alive; dropped when the node is freed. */
	struct vnode *td_parentvp;              /* [N] */
	struct tmpfs_dirent **td_hash;          /* [N] buckets, or NULL */
	size_t td_hashsize;                     /* [N] power of 2 */
	size_t td_count;                        /* [N] entries */
	struct tmpfs_dirlist td_entries;        /* [N] */
	int64_t td_nextcookie;                  /* [N] */
	/* Where the last readdir stopped: a live entry or NULL.  Readers
	 * (readdir under the shared nslock) store it atomically; removal
	 * (exclusive nslock) moves it off an entry before freeing it. */
	struct tmpfs_dirent *td_hint;           /* [N,a] */
};

struct tmpfs_file {
	void *tf_root;                          /* [n] radix tree */
	int tf_height;                          /* [n] 0: empty */
	uint64_t tf_npages;                     /* [n] allocated data pages */
	/* Last leaf used, to skip the walk on sequential I/O. */
	uint64_t tf_leafno;                     /* [n] page index >> 9 */
	void **tf_leaf;                         /* [n] or NULL */
};

struct tmpfs_mount;

struct tmpfs_node {
	kmutex_t tn_lock;
	unsigned tn_gen;                        /* [n,a] bumped at each unlock */
	struct tmpfs_mount *tn_mount;           /* [I] */
	uint64_t tn_ino;                        /* [I] */
	enum vtype tn_type;                     /* [I] */
	dev_t tn_rdev;                          /* [I] */
	mode_t tn_mode;                         /* [n] ALLPERMS bits only */
	uid_t tn_uid;                           /* [n] */
	gid_t tn_gid;                           /* [n] */
	nlink_t tn_nlink;                       /* [N+n] */
	uint64_t tn_size;                       /* [n] */
	struct timespec tn_atime, tn_mtime, tn_ctime, tn_btime; /* [n] */
	struct tmpfs_node *tn_hnext;            /* [m] inode hash chain */
	struct tmpfs_node **tn_hprevp;          /* [m] what points at us */
	/*
	 * The vnode last loaded for this node, a hint for vcache_get_hint
	 * (see there): set when a load succeeds, cleared by that vnode's
	 * reclaim, both under tm_lock; read under vcache_lock.
	 */
	struct vnode *tn_vnode;                 /* [m,a] */
	/*
	 * Vnodes attached to this node.  Usually 0 or 1, but a vnode being
	 * reclaimed (already out of the vnode cache) can overlap with a new
	 * one loaded for the same inode; the node is freed only when it has
	 * no links and no vnodes at all.
	 */
	unsigned tn_nvnodes;                    /* [m] */
	union {
		struct tmpfs_dir tn_dir;        /* VDIR */
		struct tmpfs_file tn_file;      /* VREG */
		struct {
			char *tl_target;        /* [I] NUL-terminated */
			size_t tl_len;          /* [I] */
		} tn_lnk;                       /* VLNK */
	};
};

struct tmpfs_mount {
	kmutex_t tm_lock;
	struct mount *tm_mp;                    /* [I] */
	struct tmpfs_node *tm_root;             /* [I] */
	uint64_t tm_nextino;                    /* [m] */
	struct tmpfs_node **tm_inohash;         /* [m] */
	size_t tm_inohashsize;                  /* [m] power of 2 */
	uint64_t tm_nodes;                      /* [m] */
	uint64_t tm_nodes_max;                  /* [I] */
	uint64_t tm_pages;                      /* [a] data pages in use */
	uint64_t tm_pages_max;                  /* [I] */
	bool tm_dying;                          /* [m] unmounted, root busy */
};

static inline struct tmpfs_node *
VP_TO_TN(struct vnode *vp)
{
	KASSERT(vp->v_data != NULL);
	return vp->v_data;
}

static inline struct tmpfs_mount *
VFS_TO_TM(struct mount *mp)
{
	return mp->mnt_data;
}

extern const struct vnodeops tmpfs_vnodeops;
extern const struct vfsops tmpfs_vfsops;

/* tmpfs_subr.c: nodes and directories. */
int tmpfs_node_alloc(struct tmpfs_mount *tm, enum vtype type, mode_t mode,
    uid_t uid, gid_t gid, dev_t rdev, struct tmpfs_node **ret);
void tmpfs_node_free(struct tmpfs_node *tn);
void tmpfs_node_unhash_free(struct tmpfs_node *tn);
struct tmpfs_node *tmpfs_node_find(struct tmpfs_mount *tm, uint64_t ino);
void tmpfs_node_touch(struct tmpfs_node *tn, bool m, bool c);
void tmpfs_node_addlink(struct tmpfs_node *tn, int delta);
void tmpfs_node_accessed(struct tmpfs_node *tn);
void tmpfs_mount_free(struct tmpfs_mount *tm);
void tmpfs_dir_init(struct tmpfs_node *dn, struct tmpfs_node *parent);
void tmpfs_dir_fini(struct tmpfs_node *dn);
struct tmpfs_dirent *tmpfs_dir_lookup(struct tmpfs_node *dn, const char *name,
    size_t len);
int tmpfs_dirent_alloc(const char *name, size_t len, struct tmpfs_dirent **ret);
void tmpfs_dirent_free(struct tmpfs_dirent *de);
int tmpfs_dir_reserve(struct tmpfs_node *dn);
void tmpfs_dir_attach(struct tmpfs_node *dn, struct tmpfs_dirent *de,
    struct tmpfs_node *tn);
void tmpfs_dir_detach(struct tmpfs_node *dn, struct tmpfs_dirent *de);
struct tmpfs_dirent *tmpfs_dir_seek(struct tmpfs_node *dn, int64_t cookie);
int tmpfs_pages_reserve(struct tmpfs_mount *tm, uint64_t n);
void tmpfs_pages_unreserve(struct tmpfs_mount *tm, uint64_t n);

/* tmpfs_data.c: regular file data. */
int tmpfs_reg_read(struct tmpfs_node *tn, struct uio *uio);
int tmpfs_reg_write(struct tmpfs_node *tn, struct uio *uio, int ioflag);
int tmpfs_reg_truncate(struct tmpfs_node *tn, uint64_t size);
int tmpfs_reg_allocate(struct tmpfs_node *tn, int mode, off_t off, off_t len);
int tmpfs_reg_seekhole(struct tmpfs_node *tn, off_t off, int whence,
    off_t *ret);
void tmpfs_reg_free(struct tmpfs_node *tn);

/*
 * tn_lock doubles as a sequence lock for getattr, the fstat path: every
 * release bumps tn_gen, so a reader that saw the lock free and tn_gen
 * unchanged before and after copying the attributes read a consistent
 * snapshot without writing to the node's cache line.  Writers change
 * attributes only between tmpfs_node_lock and tmpfs_node_unlock.
 */
static inline void
tmpfs_node_lock(struct tmpfs_node *tn)
{
	mutex_enter(&tn->tn_lock);
}

static inline void
tmpfs_node_unlock(struct tmpfs_node *tn)
{
	__atomic_store_n(&tn->tn_gen, tn->tn_gen + 1, __ATOMIC_RELEASE);
	mutex_exit(&tn->tn_lock);
}

/* Begin a lock-free read: false if a writer holds the node. */
static inline bool
tmpfs_node_read_begin(struct tmpfs_node *tn, unsigned *gen)
{
	*gen = __atomic_load_n(&tn->tn_gen, __ATOMIC_ACQUIRE);
	return __atomic_load_n(&tn->tn_lock.mtx_state, __ATOMIC_ACQUIRE) == 0;
}

/* End it: true if nothing changed while reading. */
static inline bool
tmpfs_node_read_end(struct tmpfs_node *tn, unsigned gen)
{
	__atomic_thread_fence(__ATOMIC_ACQUIRE);
	return __atomic_load_n(&tn->tn_lock.mtx_state, __ATOMIC_RELAXED) == 0 &&
	    __atomic_load_n(&tn->tn_gen, __ATOMIC_RELAXED) == gen;
}

#endif
