/*
 * Vnode life cycle and the vnode cache.
 *
 * Every vnode in memory is in one hash table keyed by (mount, key), so a
 * file has exactly one vnode.  The table doubles when it holds more vnodes
 * than buckets, so lookups stay O(1) with hundreds of thousands of files.
 *
 * References: v_refcnt is atomic; its top bit (VREF_NOCACHE) says the
 * vnode lost a name through the VFS and must be reclaimed when its count
 * reaches zero.  vcache_get takes references under vcache_lock; vref and
 * vrele use compare-and-swap.  A vnode whose count drops to zero without
 * the bit stays in the table, idle, so that a path looked up again finds
 * it without asking the file system to rebuild it; vcache_get revives it.
 * Only code holding vcache_lock kills a vnode, by a compare-and-swap of
 * its count from zero (idle) or from its last reference to VREF_DEAD, and
 * a zero count is raised only by a CAS that fails on DEAD: so an idle
 * vnode cannot be revived and freed at once.  When the table holds more than
 * VCACHE_MAXVNODES vnodes, making a new one first sweeps part of the
 * table with a clock hand, reclaiming idle vnodes (no counter of idle
 * vnodes is kept: it would be one more shared cache line per vrele).  Unmount
 * reclaims every idle vnode of the mount first (vcache_purge).
 *
 * The last reference to a VREF_NOCACHE vnode is dropped under vcache_lock:
 * the vnode is marked VI_DYING, vop_reclaim runs without locks, and only
 * then does the vnode leave the table and get freed -- so an unlinked
 * file's storage goes with its last user.  A dying vnode stays in the
 * table so that a lookup through another name of the same inode waits for
 * the reclaim to finish rather than loading a second vnode beside it:
 * a file system never sees two vnodes for one inode.
 *
 * Loading: vcache_get inserts a placeholder marked VI_LOADING, drops the
 * lock and calls the file system's vfs_loadvnode (which may take its own
 * locks).  Others finding a loading vnode wait on vcache_cv.  Vnodes are
 * allocated inside a struct vnode_impl that carries this private state.
 *
 * Lookups with a hint (vcache_get_hint: the file system's pointer to the
 * vnode it last loaded for a node) take no lock at all when the hint is
 * good, which saves the cache lock's two atomic operations per path
 * component.  Three rules make that safe:
 *  - vnode memory is type-stable: a freed vnode goes on vcache_freelist
 *    and is only ever reused as a vnode, returned to kmem at shutdown;
 *    so a stale hint still points at a vnode, never at other data;
 *  - a vnode that is being reclaimed or is free carries VREF_DEAD in its
 *    count, set by compare-and-swap from the last reference (or from
 *    zero, for an idle one) under vcache_lock: so "count without DEAD"
 *    means "live", and a reference is taken by CAS from such a value;
 *  - after taking it, the hint must still name this vnode: the hint is
 *    set only after a successful load and cleared in vop_reclaim, so a
 *    reused vnode now loading, or one loaded for another file, fails the
 *    check and the reference is dropped again.
 * A loader whose load fails waits for such a transient reference to go
 * before it frees the placeholder.
 *
 * The free list goes back to kmem only at shutdown and in vcache_reap,
 * the hook pith_mem_reap runs, and there only when the reaper holds every
 * virtual CPU: hint lookups run on a CPU, so none is in flight then.
 */
#include "vfs/vfs_impl.h"

#define VI_LOADING 0x1
#define VI_DYING 0x2            /* being reclaimed; still in the table */

#define VREF_NOCACHE 0x80000000u
#define VREF_DEAD 0x40000000u   /* being reclaimed, or free */
#define VREF_MASK 0x3fffffffu
/*
 * Idle vnodes kept: 1/2048 of the kernel's memory limit in count (about
 * 1/16 of it in memory), at least 65536 -- 131072 at the default 256 MiB,
 * enough that a directory of 100,000 files stays cached.
 */
#define VCACHE_MINVNODES 65536
static size_t vcache_maxvnodes;         /* [I] after init */
#define VCACHE_MAXVNODES vcache_maxvnodes

struct vnode_impl {
	struct vnode vi_vnode;
	int vi_flags;                   /* [C] VI_* */
	LIST_ENTRY(vnode_impl) vi_doomed;       /* [C] on a reclaim list */
};

LIST_HEAD(vhashhead, vnode);
LIST_HEAD(vdoomhead, vnode_impl);

static kmutex_t vcache_lock;
static kcondvar_t vcache_cv;
static struct vhashhead *vcache_tab;    /* [C] */
static size_t vcache_mask;              /* [C] buckets - 1 */
static size_t vcache_n;                 /* [C] vnodes in the table */
static size_t vcache_hand;              /* [C] sweep position */
static size_t vcache_ndying;            /* [C] VI_DYING vnodes in the table */
/* Freed vnodes, for reuse as vnodes only (see above). */
static struct vdoomhead vcache_freelist;        /* [C] */

#define VCACHE_MINSIZE 1024
static void vcache_sweep(struct vdoomhead *doomed);
static void vnode_reclaim_list(struct vdoomhead *doomed);
static void vcache_reap(bool quiescent);

static inline struct vnode_impl *
VI(struct vnode *vp)
{
	return container_of(vp, struct vnode_impl, vi_vnode);
}

static size_t
vcache_hash(struct mount *mp, uint64_t key)
{
	uint64_t h = key * 0x9e3779b97f4a7c15ull;

	h ^= (uint64_t)(uintptr_t)mp >> 4;
	h ^= h >> 29;
	return (size_t)h;
}

void
vcache_init(void)
{
	size_t i;

	mutex_init(&vcache_lock);
	cv_init(&vcache_cv);
	vcache_tab = kmem_alloc(VCACHE_MINSIZE * sizeof(*vcache_tab));
	if (vcache_tab == NULL)
		panic("vcache_init: no memory");
	for (i = 0; i < VCACHE_MINSIZE; i++)
		LIST_INIT(&vcache_tab[i]);
	vcache_mask = VCACHE_MINSIZE - 1;
	vcache_n = 0;
	LIST_INIT(&vcache_freelist);
	vcache_maxvnodes = MAX((size_t)VCACHE_MINVNODES, kern_cfg.mem_limit / 2048);
	kern_reap_register(vcache_reap);
}

/* pith_mem_reap's hook (kern_reap.c): freed vnodes back to kmem when no
 * lookup can be holding a stale hint to one.  It must not sleep (the
 * reaper holds borrowed CPUs): a busy lock means another reap's turn. */
static void
vcache_reap(bool quiescent)
{
	struct vnode_impl *vi;

	if (!quiescent || !mutex_tryenter(&vcache_lock))
		return;
	while ((vi = LIST_FIRST(&vcache_freelist)) != NULL) {
		LIST_REMOVE(vi, vi_doomed);
		kmem_free(vi, sizeof(*vi));
	}
	mutex_exit(&vcache_lock);
}

void
vcache_fini(void)
{
	if (vcache_n != 0)
		kprintf("vfs: %zu vnodes leaked at shutdown\n", vcache_n);
	kmem_free(vcache_tab, (vcache_mask + 1) * sizeof(*vcache_tab));
	vcache_tab = NULL;
	while (!LIST_EMPTY(&vcache_freelist)) {
		struct vnode_impl *vi = LIST_FIRST(&vcache_freelist);
		LIST_REMOVE(vi, vi_doomed);
		kmem_free(vi, sizeof(*vi));
	}
	cv_destroy(&vcache_cv);
	mutex_destroy(&vcache_lock);
}

/* Double the table; called with vcache_lock held.  Failure is harmless. */
static void
vcache_grow(void)
{
	size_t nsize = (vcache_mask + 1) * 2, i;
	struct vhashhead *ntab;
	struct vnode *vp;

	KASSERT(mutex_owned(&vcache_lock));
	ntab = kmem_alloc(nsize * sizeof(*ntab));
	if (ntab == NULL)
		return;
	for (i = 0; i < nsize; i++)
		LIST_INIT(&ntab[i]);
	for (i = 0; i <= vcache_mask; i++) {
		while ((vp = LIST_FIRST(&vcache_tab[i])) != NULL) {
			LIST_REMOVE(vp, v_hash);
			LIST_INSERT_HEAD(&ntab[vcache_hash(vp->v_mount,
			    vp->v_key) & (nsize - 1)], vp, v_hash);
		}
	}
	kmem_free(vcache_tab, (vcache_mask + 1) * sizeof(*vcache_tab));
	vcache_tab = ntab;
	vcache_mask = nsize - 1;
}

static struct vnode *
vcache_find(struct mount *mp, uint64_t key)
{
	struct vnode *vp;

	LIST_FOREACH(vp, &vcache_tab[vcache_hash(mp, key) & vcache_mask],
	    v_hash) {
		if (vp->v_key == key && vp->v_mount == mp)
			return vp;
	}
	return NULL;
}

/* Put a dead vnode on the free list; vcache_lock held. */
static void
vnode_free(struct vnode *vp)
{
	KASSERT(mutex_owned(&vcache_lock));
	KASSERT(atomic_load(&vp->v_refcnt) & VREF_DEAD);
	mutex_destroy(&vp->v_lock);
	LIST_INSERT_HEAD(&vcache_freelist, VI(vp), vi_doomed);
}

/*
 * A vnode for (mp, key) with one reference, not yet published; vcache_lock
 * held.  A reused one is cleared field by field: its count stays DEAD
 * until the final store, so a stale hint's CAS never sees it half made.
 */
static struct vnode_impl *
vnode_alloc(struct mount *mp, uint64_t key)
{
	struct vnode_impl *vi = LIST_FIRST(&vcache_freelist);
	struct vnode *vp;

	KASSERT(mutex_owned(&vcache_lock));
	if (vi != NULL) {
		LIST_REMOVE(vi, vi_doomed);
	} else {
		vi = kmem_alloc(sizeof(*vi));
		if (vi == NULL)
			return NULL;
		vi->vi_vnode.v_refcnt = VREF_DEAD;
	}
	vp = &vi->vi_vnode;
	/* Zero all but the count, which a stale hint's CAS may be reading. */
	memset(vi, 0, offsetof(struct vnode_impl, vi_vnode.v_refcnt));
	memset((char *)vi + offsetof(struct vnode_impl, vi_vnode.v_refcnt) +
	    sizeof(vp->v_refcnt), 0, sizeof(*vi) -
	    offsetof(struct vnode_impl, vi_vnode.v_refcnt) -
	    sizeof(vp->v_refcnt));
	vp->v_mount = mp;
	vp->v_key = key;
	mutex_init(&vp->v_lock);
	vi->vi_flags = VI_LOADING;
	atomic_store(&vp->v_refcnt, 1);
	return vi;
}

/*
 * Free a placeholder whose load failed (out of the table; we hold its one
 * reference).  A lookup with a stale hint may hold a passing reference:
 * it drops it without vcache_lock, so wait for that unlocked.
 */
static void
vnode_kill_placeholder(struct vnode *vp)
{
	unsigned one = 1;

	while (!atomic_cas(&vp->v_refcnt, &one, VREF_DEAD)) {
		one = 1;
		__asm__ volatile("pause" ::: "memory");
	}
	mutex_enter(&vcache_lock);
	vnode_free(vp);
	mutex_exit(&vcache_lock);
}

/* A reference to vp unless it is dead (being reclaimed, or free). */
static bool
vnode_tryref(struct vnode *vp)
{
	unsigned c = atomic_load(&vp->v_refcnt);

	while (!(c & VREF_DEAD)) {
		if (atomic_cas(&vp->v_refcnt, &c, c + 1))
			return true;
	}
	return false;
}

/*
 * Remove vp from the table; vcache_lock held.  It still counts in
 * mnt_nvnodes until vnode_reclaim is done with it, so that unmount never
 * frees a file system under a reclaim in progress.
 */
static void
vcache_remove(struct vnode *vp)
{
	KASSERT(mutex_owned(&vcache_lock));
	LIST_REMOVE(vp, v_hash);
	vcache_n--;
}

int
vcache_get(struct mount *mp, uint64_t key, struct vnode **vpp)
{
	return vcache_get_hint(mp, key, NULL, vpp);
}

/*
 * The lock-free path is described at the top of the file.  Under the
 * lock, a non-NULL hint is a vnode still in the table (the file system
 * clears it in vop_reclaim, before vnode_reclaim takes the lock to remove
 * the vnode), possibly loading or dying, which the checks below handle
 * like any other.
 */
int
vcache_get_hint(struct mount *mp, uint64_t key, struct vnode *const *hint,
    struct vnode **vpp)
{
	struct vdoomhead doomed = LIST_HEAD_INITIALIZER;
	struct vnode_impl *vi;
	struct vnode *vp;
	int error;

	if (hint != NULL && (vp = atomic_load(hint)) != NULL &&
	    vnode_tryref(vp)) {
		if (__predict_true(atomic_load(hint) == vp)) {
			KASSERT(vp->v_key == key && vp->v_mount == mp);
			*vpp = vp;
			return 0;
		}
		vrele(vp);
	}
	mutex_enter(&vcache_lock);
again:
	vp = hint != NULL ? atomic_load(hint) : NULL;
	if (vp == NULL || vp->v_key != key || vp->v_mount != mp)
		vp = vcache_find(mp, key);
	if (vp != NULL) {
		if (VI(vp)->vi_flags & (VI_LOADING | VI_DYING)) {
			cv_wait(&vcache_cv, &vcache_lock);
			goto again;
		}
		atomic_inc_uint(&vp->v_refcnt);
		mutex_exit(&vcache_lock);
		*vpp = vp;
		return 0;
	}
	vi = vnode_alloc(mp, key);
	if (vi == NULL) {
		mutex_exit(&vcache_lock);
		return ENOMEM;
	}
	vp = &vi->vi_vnode;
	if (vcache_n - vcache_ndying >= VCACHE_MAXVNODES)
		vcache_sweep(&doomed);
	if (vcache_n >= vcache_mask + 1)
		vcache_grow();
	LIST_INSERT_HEAD(&vcache_tab[vcache_hash(mp, key) & vcache_mask], vp,
	    v_hash);
	vcache_n++;
	mp->mnt_nvnodes++;
	mutex_exit(&vcache_lock);
	vnode_reclaim_list(&doomed);

	error = mp->mnt_op->vfs_loadvnode(mp, vp, key);

	mutex_enter(&vcache_lock);
	vi->vi_flags &= ~VI_LOADING;
	if (error) {
		vcache_remove(vp);
		mp->mnt_nvnodes--;
	}
	cv_broadcast(&vcache_cv);
	mutex_exit(&vcache_lock);
	if (error) {
		vnode_kill_placeholder(vp);
		return error;
	}
	*vpp = vp;
	return 0;
}

unsigned
vcache_count(struct mount *mp)
{
	unsigned n;

	mutex_enter(&vcache_lock);
	n = mp->mnt_nvnodes;
	mutex_exit(&vcache_lock);
	return n;
}

void
vref(struct vnode *vp)
{
	KASSERT((atomic_load(&vp->v_refcnt) & VREF_MASK) > 0);
	atomic_inc_uint(&vp->v_refcnt);
}

/* Mark vp dying; vcache_lock held.  vnode_reclaim finishes the job. */
static void
vcache_doom(struct vnode *vp)
{
	KASSERT(mutex_owned(&vcache_lock));
	KASSERT(!(VI(vp)->vi_flags & VI_DYING));
	VI(vp)->vi_flags |= VI_DYING;
	vcache_ndying++;
}

/* A VI_DYING vnode: reclaim it, then take it out of the table and free it. */
static void
vnode_reclaim(struct vnode *vp)
{
	struct mount *mp = vp->v_mount;

	if (vp->v_op != NULL && vp->v_op->vop_reclaim != NULL)
		vp->v_op->vop_reclaim(vp);
	mutex_enter(&vcache_lock);
	vcache_remove(vp);
	vcache_ndying--;
	mp->mnt_nvnodes--;
	cv_broadcast(&vcache_cv);       /* lookups waiting for it to go */
	vnode_free(vp);
	mutex_exit(&vcache_lock);
}

/* Reclaim a list of dying vnodes. */
static void
vnode_reclaim_list(struct vdoomhead *doomed)
{
	struct vnode_impl *vi;

	while ((vi = LIST_FIRST(doomed)) != NULL) {
		LIST_REMOVE(vi, vi_doomed);
		vnode_reclaim(&vi->vi_vnode);
	}
}

/* An idle vnode (count zero, not loading or dying) may be taken; lock held. */
static bool
vcache_takeidle(struct vnode *vp, struct vdoomhead *doomed)
{
	unsigned zero = 0;

	/* The CAS loses to a lookup reviving it through a hint. */
	if ((VI(vp)->vi_flags & (VI_LOADING | VI_DYING)) ||
	    !atomic_cas(&vp->v_refcnt, &zero, VREF_DEAD))
		return false;
	vcache_doom(vp);
	LIST_INSERT_HEAD(doomed, VI(vp), vi_doomed);
	return true;
}

/*
 * The table is over its target: take idle vnodes from the buckets after
 * the clock hand until it is back under 7/8 of it.  vcache_lock held; the
 * caller reclaims doomed after dropping it.
 */
static void
vcache_sweep(struct vdoomhead *doomed)
{
	struct vnode *vp, *next;
	size_t scanned;

	KASSERT(mutex_owned(&vcache_lock));
	for (scanned = 0; scanned <= vcache_mask &&
	    vcache_n - vcache_ndying > VCACHE_MAXVNODES * 7 / 8; scanned++) {
		vcache_hand = (vcache_hand + 1) & vcache_mask;
		for (vp = LIST_FIRST(&vcache_tab[vcache_hand]); vp != NULL;
		    vp = next) {
			next = LIST_NEXT(vp, v_hash);
			vcache_takeidle(vp, doomed);
		}
	}
}

/* Reclaim every idle vnode of mp (before unmount). */
void
vcache_purge(struct mount *mp)
{
	struct vdoomhead doomed = LIST_HEAD_INITIALIZER;
	struct vnode *vp, *next;
	size_t i;

	mutex_enter(&vcache_lock);
	for (i = 0; i <= vcache_mask && mp->mnt_nvnodes > 0; i++) {
		for (vp = LIST_FIRST(&vcache_tab[i]); vp != NULL; vp = next) {
			next = LIST_NEXT(vp, v_hash);
			if (vp->v_mount == mp)
				vcache_takeidle(vp, &doomed);
		}
	}
	mutex_exit(&vcache_lock);
	vnode_reclaim_list(&doomed);
}

/* vp (referenced) lost a name: reclaim it at its last vrele. */
void
vcache_nocache(struct vnode *vp)
{
	__atomic_fetch_or(&vp->v_refcnt, VREF_NOCACHE, __ATOMIC_ACQ_REL);
}

/* Last reference to a VREF_NOCACHE vnode. */
static void
vrele_last(struct vnode *vp)
{
	unsigned old;

	mutex_enter(&vcache_lock);
	old = atomic_load(&vp->v_refcnt);
	for (;;) {
		KASSERT((old & VREF_MASK) > 0 && !(old & VREF_DEAD));
		if ((old & VREF_MASK) > 1) {
			/* A hinted lookup took a reference meanwhile. */
			if (atomic_cas(&vp->v_refcnt, &old, old - 1)) {
				mutex_exit(&vcache_lock);
				return;
			}
			continue;
		}
		if (atomic_cas(&vp->v_refcnt, &old,
		    VREF_DEAD | (old & VREF_NOCACHE)))
			break;
	}
	vcache_doom(vp);
	mutex_exit(&vcache_lock);
	vnode_reclaim(vp);
}

void
vrele(struct vnode *vp)
{
	unsigned old = atomic_load(&vp->v_refcnt);

	for (;;) {
		KASSERT((old & VREF_MASK) > 0 && !(old & VREF_DEAD));
		if (old == (1 | VREF_NOCACHE) || vp->v_op == NULL) {
			vrele_last(vp);
			return;
		}
		if (atomic_cas(&vp->v_refcnt, &old, old - 1))
			return;
	}
}
