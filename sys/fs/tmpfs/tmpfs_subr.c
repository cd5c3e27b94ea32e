/*
 * tmpfs nodes and directories.
 *
 * Nodes live in a per-mount hash keyed by inode number (so that
 * vfs_loadvnode finds one in O(1)); inode numbers come from a per-mount
 * counter and are never reused while the mount lives.  A node is freed when
 * it has no links and no vnode: by vop_reclaim for a file unlinked while
 * open, or at unmount.
 *
 * A directory is a chained hash table on the entry name (FNV-1a, power-of-2
 * buckets, doubled when the load passes 1 and halved below 1/8) plus a list
 * of the same entries in increasing cookie order.  Every entry gets the next
 * cookie of its directory when it is inserted, so new entries always go to
 * the tail and the list stays sorted without effort.  readdir resumes at
 * the first live entry whose cookie is >= the one it is given; the
 * directory remembers where the last readdir stopped (td_hint) so that a
 * sequential scan finds its resume point in O(1), and removal moves the
 * hint to the following entry instead of leaving it dangling.  Any other
 * seek falls back to a walk of the list.
 *
 * All directory state is protected by the mount's namespace lock; directory
 * attributes (times, size) by the node's tn_lock.
 */

#include "fs/tmpfs/tmpfs.h"

/* --- inode hash and node lifetime ---------------------------------------- */

static size_t
tmpfs_inohash_bucket(const struct tmpfs_mount *tm, uint64_t ino)
{
	uint64_t h = ino * 0x9e3779b97f4a7c15ULL;

	return (size_t)(h >> 32) & (tm->tm_inohashsize - 1);
}

/* Put tn at the head of the chain *head.  tm_lock held. */
static void
tmpfs_inohash_insert(struct tmpfs_node **head, struct tmpfs_node *tn)
{
	tn->tn_hnext = *head;
	if (tn->tn_hnext != NULL)
		tn->tn_hnext->tn_hprevp = &tn->tn_hnext;
	tn->tn_hprevp = head;
	*head = tn;
}

/* Double the inode hash; failure just leaves a longer chain.  tm_lock held. */
static void
tmpfs_inohash_grow(struct tmpfs_mount *tm)
{
	struct tmpfs_node **old = tm->tm_inohash, *tn, *next;
	size_t oldsize = tm->tm_inohashsize, i;
	struct tmpfs_node **nt;

	KASSERT(mutex_owned(&tm->tm_lock));
	nt = kmem_zalloc(2 * oldsize * sizeof(*nt));
	if (nt == NULL)
		return;
	tm->tm_inohash = nt;
	tm->tm_inohashsize = 2 * oldsize;
	for (i = 0; i < oldsize; i++) {
		for (tn = old[i]; tn != NULL; tn = next) {
			size_t b = tmpfs_inohash_bucket(tm, tn->tn_ino);

			next = tn->tn_hnext;
			tmpfs_inohash_insert(&nt[b], tn);
		}
	}
	kmem_free(old, oldsize * sizeof(*old));
}

struct tmpfs_node *
tmpfs_node_find(struct tmpfs_mount *tm, uint64_t ino)
{
	struct tmpfs_node *tn;

	KASSERT(mutex_owned(&tm->tm_lock));
	for (tn = tm->tm_inohash[tmpfs_inohash_bucket(tm, ino)]; tn != NULL;
	    tn = tn->tn_hnext)
		if (tn->tn_ino == ino)
			return tn;
	return NULL;
}

/*
 * A new node, in the inode hash but in no directory: the caller links it
 * with tmpfs_dir_attach, which counts the link (nlink starts at 0, or 1
 * for a directory's ".").
 * ENOSPC when out of inodes or memory.
 */
int
tmpfs_node_alloc(struct tmpfs_mount *tm, enum vtype type, mode_t mode,
    uid_t uid, gid_t gid, dev_t rdev, struct tmpfs_node **ret)
{
	struct tmpfs_node *tn;
	size_t b;

	tn = kmem_zalloc(sizeof(*tn));
	if (tn == NULL)
		return ENOSPC;
	mutex_init(&tn->tn_lock);
	tn->tn_mount = tm;
	tn->tn_type = type;
	tn->tn_mode = mode & ALLPERMS;
	tn->tn_uid = uid;
	tn->tn_gid = gid;
	if (type == VCHR || type == VBLK)
		tn->tn_rdev = rdev;
	time_now(&tn->tn_btime);
	tn->tn_atime = tn->tn_mtime = tn->tn_ctime = tn->tn_btime;
	if (type == VDIR) {
		tmpfs_dir_init(tn, NULL);
		tn->tn_nlink = 1;       /* its "."; the parent's entry adds one */
	}

	mutex_enter(&tm->tm_lock);
	if (tm->tm_nodes >= tm->tm_nodes_max) {
		mutex_exit(&tm->tm_lock);
		mutex_destroy(&tn->tn_lock);
		kmem_free(tn, sizeof(*tn));
		return ENOSPC;
	}
	tn->tn_ino = tm->tm_nextino++;
	tm->tm_nodes++;
	if (tm->tm_nodes > tm->tm_inohashsize)
		tmpfs_inohash_grow(tm);
	b = tmpfs_inohash_bucket(tm, tn->tn_ino);
	tmpfs_inohash_insert(&tm->tm_inohash[b], tn);
	mutex_exit(&tm->tm_lock);
	*ret = tn;
	return 0;
}

/* Free a node's memory; it must already be out of the inode hash. */
void
tmpfs_node_free(struct tmpfs_node *tn)
{
	switch (tn->tn_type) {
	case VDIR:
		tmpfs_dir_fini(tn);
		break;
	case VREG:
		tmpfs_reg_free(tn);
		break;
	case VLNK:
		if (tn->tn_lnk.tl_target != NULL)
			kmem_free(tn->tn_lnk.tl_target, tn->tn_lnk.tl_len + 1);
		break;
	default:
		break;
	}
	mutex_destroy(&tn->tn_lock);
	kmem_free(tn, sizeof(*tn));
}

/* Take tn out of the inode hash and free it (it has no vnode, no links). */
void
tmpfs_node_unhash_free(struct tmpfs_node *tn)
{
	struct tmpfs_mount *tm = tn->tn_mount;

	/* Unlinked from its neighbours, not found by a walk: a walk would
	 * start with a cache miss on the bucket for every file removed. */
	mutex_enter(&tm->tm_lock);
	KASSERT(tn->tn_nvnodes == 0);
	KASSERT(*tn->tn_hprevp == tn);
	*tn->tn_hprevp = tn->tn_hnext;
	if (tn->tn_hnext != NULL)
		tn->tn_hnext->tn_hprevp = tn->tn_hprevp;
	tm->tm_nodes--;
	mutex_exit(&tm->tm_lock);
	tmpfs_node_free(tn);
}

/* Set mtime and/or ctime to now.  tn_lock held. */
void
tmpfs_node_touch(struct tmpfs_node *tn, bool m, bool c)
{
	struct timespec now;

	KASSERT(mutex_owned(&tn->tn_lock));
	time_now(&now);
	if (m)
		tn->tn_mtime = now;
	if (c)
		tn->tn_ctime = now;
}

/* Change the link count (namespace lock held as writer) and ctime. */
void
tmpfs_node_addlink(struct tmpfs_node *tn, int delta)
{
	tmpfs_node_lock(tn);
	KASSERT(delta > 0 || tn->tn_nlink >= (nlink_t)-delta);
	tn->tn_nlink += delta;
	tmpfs_node_touch(tn, false, true);
	tmpfs_node_unlock(tn);
}

/* Linux's relatime: update atime if it is older than mtime/ctime or a day. */
void
tmpfs_node_accessed(struct tmpfs_node *tn)
{
	struct timespec now;
	int64_t at = time_ts_to_ns(&tn->tn_atime);

	time_now(&now);
	if (at <= time_ts_to_ns(&tn->tn_mtime) ||
	    at <= time_ts_to_ns(&tn->tn_ctime) ||
	    time_ts_to_ns(&now) - at >= 24LL * 3600 * 1000000000LL)
		tn->tn_atime = now;
}

/*
 * Data pages of all tmpfs mounts together may take at most 3/4 of the
 * kernel's memory limit, whatever each mount's size= says: a full tmpfs
 * must leave the kernel enough memory to unlink files and carry on.
 * (Freed pages go back to the allocator's 4 KiB class, so the space is
 * really there again after an unlink.)
 */
static uint64_t tmpfs_pages_global;     /* [a] */

static uint64_t
tmpfs_pages_global_max(void)
{
	size_t lim = kern_cfg.mem_limit != 0 ? kern_cfg.mem_limit :
	    (size_t)256 << 20;

	return lim / 4 * 3 / TMPFS_PAGE_SIZE;
}

static int
tmpfs_charge(uint64_t *counter, uint64_t max, uint64_t n)
{
	uint64_t cur = atomic_load(counter);

	do {
		if (cur + n > max || cur + n < cur)
			return ENOSPC;
	} while (!atomic_cas(counter, &cur, cur + n));
	return 0;
}

/* Charge n data pages to tm and to the global cap; ENOSPC past either. */
int
tmpfs_pages_reserve(struct tmpfs_mount *tm, uint64_t n)
{
	int error;

	error = tmpfs_charge(&tm->tm_pages, tm->tm_pages_max, n);
	if (error)
		return error;
	error = tmpfs_charge(&tmpfs_pages_global, tmpfs_pages_global_max(), n);
	if (error)
		__atomic_sub_fetch(&tm->tm_pages, n, __ATOMIC_RELAXED);
	return error;
}

void
tmpfs_pages_unreserve(struct tmpfs_mount *tm, uint64_t n)
{
	KASSERT(atomic_load(&tm->tm_pages) >= n);
	__atomic_sub_fetch(&tm->tm_pages, n, __ATOMIC_RELAXED);
	__atomic_sub_fetch(&tmpfs_pages_global, n, __ATOMIC_RELAXED);
}

/* --- directories ---------------------------------------------------------- */

#define TMPFS_DIRHASH_MIN 8

static uint32_t
tmpfs_namehash(const char *name, size_t len)
{
	uint32_t h = 2166136261u;
	size_t i;

	for (i = 0; i < len; i++) {
		h ^= (unsigned char)name[i];
		h *= 16777619u;
	}
	return h;
}

void
tmpfs_dir_init(struct tmpfs_node *dn, struct tmpfs_node *parent)
{
	struct tmpfs_dir *d = &dn->tn_dir;

	d->td_parent = parent;
	d->td_parentvp = NULL;
	d->td_hash = NULL;
	d->td_hashsize = 0;
	d->td_count = 0;
	TAILQ_INIT(&d->td_entries);
	d->td_nextcookie = TMPFS_COOKIE_FIRST;
	d->td_hint = NULL;
	dn->tn_size = 2 * TMPFS_DIRENT_BOGOSIZE;
}

/* Free every entry (not the nodes they name) and the hash. */
void
tmpfs_dir_fini(struct tmpfs_node *dn)
{
	struct tmpfs_dir *d = &dn->tn_dir;
	struct tmpfs_dirent *de, *next;

	TAILQ_FOREACH_SAFE(de, &d->td_entries, de_list, next)
		tmpfs_dirent_free(de);
	TAILQ_INIT(&d->td_entries);
	if (d->td_hash != NULL)
		kmem_free(d->td_hash, d->td_hashsize * sizeof(*d->td_hash));
	d->td_hash = NULL;
	d->td_hashsize = 0;
	d->td_count = 0;
}

/* Rehash into newsize buckets; on allocation failure keep the old table. */
static int
tmpfs_dir_rehash(struct tmpfs_dir *d, size_t newsize)
{
	struct tmpfs_dirent **nt, *de, *next;
	size_t i, mask = newsize - 1;

	nt = kmem_zalloc(newsize * sizeof(*nt));
	if (nt == NULL)
		return ENOSPC;
	for (i = 0; i < d->td_hashsize; i++) {
		for (de = d->td_hash[i]; de != NULL; de = next) {
			next = de->de_hnext;
			de->de_hnext = nt[de->de_hash & mask];
			nt[de->de_hash & mask] = de;
		}
	}
	if (d->td_hash != NULL)
		kmem_free(d->td_hash, d->td_hashsize * sizeof(*d->td_hash));
	d->td_hash = nt;
	d->td_hashsize = newsize;
	return 0;
}

struct tmpfs_dirent *
tmpfs_dir_lookup(struct tmpfs_node *dn, const char *name, size_t len)
{
	struct tmpfs_dir *d = &dn->tn_dir;
	struct tmpfs_dirent *de;
	uint32_t h;

	KASSERT(dn->tn_type == VDIR);
	if (d->td_count == 0)
		return NULL;
	h = tmpfs_namehash(name, len);
	for (de = d->td_hash[h & (d->td_hashsize - 1)]; de != NULL;
	    de = de->de_hnext)
		if (de->de_hash == h && de->de_namelen == len &&
		    memcmp(de->de_name, name, len) == 0)
			return de;
	return NULL;
}

int
tmpfs_dirent_alloc(const char *name, size_t len, struct tmpfs_dirent **ret)
{
	struct tmpfs_dirent *de;

	KASSERT(len > 0 && len <= NAME_MAX);
	de = kmem_alloc(sizeof(*de) + len);
	if (de == NULL)
		return ENOSPC;
	de->de_hnext = NULL;
	de->de_cookie = 0;
	de->de_node = NULL;
	de->de_hash = tmpfs_namehash(name, len);
	de->de_namelen = (uint16_t)len;
	memcpy(de->de_name, name, len);
	*ret = de;
	return 0;
}

void
tmpfs_dirent_free(struct tmpfs_dirent *de)
{
	kmem_free(de, sizeof(*de) + de->de_namelen);
}

/*
 * Enter de (naming tn) into dn, and count the link: tn's nlink, and for a
 * subdirectory dn's nlink and tn's parent.  The caller has made sure the
 * hash has room (tmpfs_dir_reserve) -- attach itself cannot fail.
 */
void
tmpfs_dir_attach(struct tmpfs_node *dn, struct tmpfs_dirent *de,
    struct tmpfs_node *tn)
{
	struct tmpfs_dir *d = &dn->tn_dir;
	size_t b;

	KASSERT(dn->tn_type == VDIR);
	KASSERT(d->td_hashsize > 0);
	de->de_node = tn;
	de->de_cookie = d->td_nextcookie++;
	b = de->de_hash & (d->td_hashsize - 1);
	de->de_hnext = d->td_hash[b];
	d->td_hash[b] = de;
	TAILQ_INSERT_TAIL(&d->td_entries, de, de_list);
	d->td_count++;
	if (d->td_count > d->td_hashsize)
		(void)tmpfs_dir_rehash(d, 2 * d->td_hashsize);

	tmpfs_node_lock(dn);
	dn->tn_size += TMPFS_DIRENT_BOGOSIZE;
	if (tn->tn_type == VDIR)
		dn->tn_nlink++;
	tmpfs_node_touch(dn, true, true);
	tmpfs_node_unlock(dn);
	if (tn->tn_type == VDIR)
		tn->tn_dir.td_parent = dn;
	/* No ctime change here: a new node keeps its birth time in all
	 * four stamps, as Linux; link and rename touch it themselves. */
	tmpfs_node_lock(tn);
	tn->tn_nlink++;
	tmpfs_node_unlock(tn);
}

/* Make sure dn has a hash table, so that attach cannot fail. */
int
tmpfs_dir_reserve(struct tmpfs_node *dn)
{
	if (dn->tn_dir.td_hashsize == 0)
		return tmpfs_dir_rehash(&dn->tn_dir, TMPFS_DIRHASH_MIN);
	return 0;
}

/*
 * Take de out of dn and uncount the link (tn's, and dn's for a
 * subdirectory).  The caller frees de; rmdir also drops the child's "."
 * link.
 */
void
tmpfs_dir_detach(struct tmpfs_node *dn, struct tmpfs_dirent *de)
{
	struct tmpfs_dir *d = &dn->tn_dir;
	struct tmpfs_dirent **pp;
	struct tmpfs_node *tn = de->de_node;

	pp = &d->td_hash[de->de_hash & (d->td_hashsize - 1)];
	while (*pp != de) {
		KASSERT(*pp != NULL);
		pp = &(*pp)->de_hnext;
	}
	*pp = de->de_hnext;
	if (atomic_load(&d->td_hint) == de)
		atomic_store(&d->td_hint, TAILQ_NEXT(de, de_list));
	TAILQ_REMOVE(&d->td_entries, de, de_list);
	d->td_count--;
	if (d->td_hashsize > TMPFS_DIRHASH_MIN &&
	    d->td_count < d->td_hashsize / 8)
		(void)tmpfs_dir_rehash(d, d->td_hashsize / 2);

	tmpfs_node_lock(dn);
	dn->tn_size -= TMPFS_DIRENT_BOGOSIZE;
	if (tn->tn_type == VDIR)
		dn->tn_nlink--;
	tmpfs_node_touch(dn, true, true);
	tmpfs_node_unlock(dn);
	tmpfs_node_addlink(tn, -1);
}

/* The entry before de in cookie order, or NULL. */
static struct tmpfs_dirent *
tmpfs_dirent_prev(struct tmpfs_dir *d, struct tmpfs_dirent *de)
{
	if (de->de_list.tqe_prev == &d->td_entries.tqh_first)
		return NULL;
	return container_of(de->de_list.tqe_prev, struct tmpfs_dirent,
	    de_list.tqe_next);
}

/* The first live entry with a cookie >= cookie, or NULL at the end. */
struct tmpfs_dirent *
tmpfs_dir_seek(struct tmpfs_node *dn, int64_t cookie)
{
	struct tmpfs_dir *d = &dn->tn_dir;
	struct tmpfs_dirent *de, *prev;

	de = atomic_load(&d->td_hint);
	if (de != NULL && de->de_cookie >= cookie) {
		prev = tmpfs_dirent_prev(d, de);
		if (prev == NULL || prev->de_cookie < cookie)
			return de;
	}
	TAILQ_FOREACH(de, &d->td_entries, de_list)
		if (de->de_cookie >= cookie)
			return de;
	return NULL;
}
