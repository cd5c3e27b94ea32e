/*
 * The buffer cache: blocks of block devices, kept in memory by
 * (device, block number, size), written back on bwrite, bflush or when
 * evicted.
 *
 * One mutex, bcache_lock, protects the hash, the LRU list and every
 * buffer's flags and reference count; a buffer's data belongs to whoever
 * holds it busy (B_BUSY).  Every buffer is on the LRU list, least recently
 * released first; eviction frees idle clean buffers from the front and
 * writes dirty ones back first, until the cache is under its byte limit.
 * Device I/O is always done with the lock dropped and the buffer busy, so
 * a slow disk never blocks the cache.  Waiters for a busy buffer hold a
 * reference (b_refcnt) so that it is not evicted under them.
 */
#include "vfs/vfs_impl.h"

#define BCACHE_NHASH 4096      /* about one buffer a bucket at 4 KiB blocks */
#define BCACHE_LIMIT ((size_t)16 << 20)

static void buf_free(struct buf *bp);
static struct buf *bcache_find(struct bdev *bd, uint64_t blkno, size_t size);

LIST_HEAD(bufhashhead, buf);
TAILQ_HEAD(buflru, buf);

static kmutex_t bcache_lock;
static kcondvar_t bcache_cv;
static struct bufhashhead bcache_hash[BCACHE_NHASH];    /* [bcache] */
static struct buflru bcache_lru = TAILQ_HEAD_INITIALIZER(bcache_lru);
static size_t bcache_bytes;                             /* [bcache] */

void
bio_init(void)
{
	unsigned i;

	mutex_init(&bcache_lock);
	cv_init(&bcache_cv);
	for (i = 0; i < BCACHE_NHASH; i++)
		LIST_INIT(&bcache_hash[i]);
}

/* Shutdown: every file system has flushed; free what is left. */
void
bio_fini(void)
{
	struct buf *bp;
	unsigned n = 0;

	mutex_enter(&bcache_lock);
	while ((bp = TAILQ_FIRST(&bcache_lru)) != NULL) {
		if (bp->b_flags & (B_DIRTY | B_BUSY))
			n++;
		buf_free(bp);
	}
	mutex_exit(&bcache_lock);
	if (n != 0)
		kprintf("bio: %u dirty or busy buffers dropped at shutdown\n", n);
	cv_destroy(&bcache_cv);
	mutex_destroy(&bcache_lock);
}

static struct bufhashhead *
bcache_bucket(struct bdev *bd, uint64_t blkno)
{
	uint64_t h = (blkno * 0x9e3779b97f4a7c15ull) ^
	    ((uint64_t)(uintptr_t)bd >> 4);

	return &bcache_hash[(h ^ (h >> 32)) % BCACHE_NHASH];
}

static void
buf_free(struct buf *bp)
{
	KASSERT(mutex_owned(&bcache_lock));
	LIST_REMOVE(bp, b_hash);
	TAILQ_REMOVE(&bcache_lru, bp, b_lru);
	bcache_bytes -= bp->b_size;
	kmem_free(bp->b_data, bp->b_size);
	kmem_free(bp, sizeof(*bp));
}

/* Write bp (busy, lock held) with the lock dropped. */
static int
buf_writeout(struct buf *bp)
{
	int error;

	KASSERT(bp->b_flags & B_BUSY);
	mutex_exit(&bcache_lock);
	error = bp->b_dev->bd_ops->bdo_write(bp->b_dev,
	    bp->b_blkno * bp->b_size, bp->b_data, bp->b_size);
	mutex_enter(&bcache_lock);
	if (error == 0)
		bp->b_flags &= ~B_DIRTY;
	return error;
}

/* A dirty buffer nobody holds, for blkno of bp's device and size; or NULL. */
static struct buf *
bcache_dirty_idle(struct buf *bp, uint64_t blkno)
{
	struct buf *nb = bcache_find(bp->b_dev, blkno, bp->b_size);

	if (nb == NULL || (nb->b_flags & (B_BUSY | B_DIRTY)) != B_DIRTY ||
	    nb->b_refcnt > 0)
		return NULL;
	return nb;
}

/*
 * Write bp (busy, dirty) together with the dirty idle buffers that follow
 * it on the device, in one transfer of up to BCACHE_CLUSTER bytes: a tree
 * copied into an image reaches the host in large writes, not one block at
 * a time.  Falls back to a single write when no bounce memory is to be
 * had.  bcache_lock held; dropped around the I/O.
 */
#define BCACHE_CLUSTER (64 * 1024)

static int
buf_writeout_cluster(struct buf *bp)
{
	struct buf *run[BCACHE_CLUSTER / 512];
	size_t n = 1, max = BCACHE_CLUSTER / bp->b_size, i;
	char *bounce;
	int error;

	KASSERT(bp->b_flags & B_BUSY);
	run[0] = bp;
	while (n < max && (run[n] = bcache_dirty_idle(bp, bp->b_blkno + n)) != NULL) {
		run[n]->b_flags |= B_BUSY;
		n++;
	}
	if (n == 1)
		return buf_writeout(bp);
	mutex_exit(&bcache_lock);
	bounce = kmem_alloc(n * bp->b_size);
	if (bounce != NULL) {
		for (i = 0; i < n; i++)
			memcpy(bounce + i * bp->b_size, run[i]->b_data, bp->b_size);
		error = bp->b_dev->bd_ops->bdo_write(bp->b_dev,
		    bp->b_blkno * bp->b_size, bounce, n * bp->b_size);
		kmem_free(bounce, n * bp->b_size);
	} else {
		for (i = 0, error = 0; i < n && error == 0; i++)
			error = bp->b_dev->bd_ops->bdo_write(bp->b_dev,
			    run[i]->b_blkno * bp->b_size, run[i]->b_data,
			    bp->b_size);
	}
	mutex_enter(&bcache_lock);
	/* The first buffer is the caller's to unbusy; the rest are ours. */
	for (i = 0; i < n; i++) {
		if (error == 0)
			run[i]->b_flags &= ~B_DIRTY;
		if (i > 0)
			run[i]->b_flags &= ~B_BUSY;
	}
	return error;
}

/* Shrink below the limit; lock held. */
static void
bcache_evict(void)
{
	struct buf *bp, *next;

	KASSERT(mutex_owned(&bcache_lock));
again:
	for (bp = TAILQ_FIRST(&bcache_lru); bp != NULL &&
	    bcache_bytes > BCACHE_LIMIT; bp = next) {
		next = TAILQ_NEXT(bp, b_lru);
		if ((bp->b_flags & B_BUSY) || bp->b_refcnt > 0)
			continue;
		if (bp->b_flags & B_DIRTY) {
			bp->b_flags |= B_BUSY;
			(void)buf_writeout_cluster(bp);
			bp->b_flags &= ~B_BUSY;
			cv_broadcast(&bcache_cv);
			goto again;
		}
		buf_free(bp);
	}
}

static struct buf *
bcache_find(struct bdev *bd, uint64_t blkno, size_t size)
{
	struct buf *bp;

	LIST_FOREACH(bp, bcache_bucket(bd, blkno), b_hash) {
		if (bp->b_dev == bd && bp->b_blkno == blkno &&
		    bp->b_size == size)
			return bp;
	}
	return NULL;
}

int
bget(struct bdev *bd, uint64_t blkno, size_t size, struct buf **bpp)
{
	struct buf *bp;

	mutex_enter(&bcache_lock);
	for (;;) {
		bp = bcache_find(bd, blkno, size);
		if (bp == NULL || !(bp->b_flags & B_BUSY))
			break;
		bp->b_refcnt++;
		cv_wait(&bcache_cv, &bcache_lock);
		bp->b_refcnt--;
	}
	if (bp != NULL) {
		bp->b_flags |= B_BUSY;
		mutex_exit(&bcache_lock);
		*bpp = bp;
		return 0;
	}
	bp = kmem_zalloc(sizeof(*bp));
	if (bp != NULL && (bp->b_data = kmem_alloc(size)) == NULL) {
		kmem_free(bp, sizeof(*bp));
		bp = NULL;
	}
	if (bp == NULL) {
		mutex_exit(&bcache_lock);
		return ENOMEM;
	}
	bp->b_dev = bd;
	bp->b_blkno = blkno;
	bp->b_size = size;
	bp->b_flags = B_BUSY;
	LIST_INSERT_HEAD(bcache_bucket(bd, blkno), bp, b_hash);
	TAILQ_INSERT_TAIL(&bcache_lru, bp, b_lru);
	bcache_bytes += size;
	bcache_evict();
	mutex_exit(&bcache_lock);
	*bpp = bp;
	return 0;
}

bool
bincore(struct bdev *bd, uint64_t blkno, size_t size)
{
	bool found;

	mutex_enter(&bcache_lock);
	found = bcache_find(bd, blkno, size) != NULL;
	mutex_exit(&bcache_lock);
	return found;
}

int
bread(struct bdev *bd, uint64_t blkno, size_t size, struct buf **bpp)
{
	struct buf *bp;
	int error;

	error = bget(bd, blkno, size, &bp);
	if (error)
		return error;
	if (!(bp->b_flags & B_VALID)) {
		error = bd->bd_ops->bdo_read(bd, blkno * size, bp->b_data, size);
		if (error) {
			brelse(bp);
			return error;
		}
		bp->b_flags |= B_VALID;         /* we own it while busy */
	}
	*bpp = bp;
	return 0;
}

void
brelse(struct buf *bp)
{
	mutex_enter(&bcache_lock);
	KASSERT(bp->b_flags & B_BUSY);
	bp->b_flags &= ~B_BUSY;
	TAILQ_REMOVE(&bcache_lru, bp, b_lru);
	TAILQ_INSERT_TAIL(&bcache_lru, bp, b_lru);
	cv_broadcast(&bcache_cv);
	bcache_evict();
	mutex_exit(&bcache_lock);
}

void
bdwrite(struct buf *bp)
{
	bp->b_flags |= B_DIRTY | B_VALID;       /* owner: busy */
	brelse(bp);
}

int
bwrite(struct buf *bp)
{
	int error;

	bp->b_flags |= B_VALID;
	error = bp->b_dev->bd_ops->bdo_write(bp->b_dev, bp->b_blkno * bp->b_size,
	    bp->b_data, bp->b_size);
	if (error == 0)
		bp->b_flags &= ~B_DIRTY;
	else
		bp->b_flags |= B_DIRTY;
	brelse(bp);
	return error;
}

int
bflush(struct bdev *bd, bool invalidate)
{
	struct buf *bp, *next;
	int error = 0, e;

	mutex_enter(&bcache_lock);
again:
	for (bp = TAILQ_FIRST(&bcache_lru); bp != NULL; bp = next) {
		next = TAILQ_NEXT(bp, b_lru);
		if (bp->b_dev != bd)
			continue;
		if (bp->b_flags & B_BUSY) {
			bp->b_refcnt++;
			cv_wait(&bcache_cv, &bcache_lock);
			bp->b_refcnt--;
			goto again;
		}
		if (bp->b_flags & B_DIRTY) {
			bp->b_flags |= B_BUSY;
			e = buf_writeout_cluster(bp);
			bp->b_flags &= ~B_BUSY;
			cv_broadcast(&bcache_cv);
			if (e) {
				/* Reported once; the data is dropped as
				 * Linux drops a page that failed. */
				error = e;
				bp->b_flags &= ~B_DIRTY;
			}
			goto again;
		}
		if (invalidate && bp->b_refcnt == 0)
			buf_free(bp);
	}
	mutex_exit(&bcache_lock);
	if (bd->bd_ops->bdo_sync != NULL) {
		e = bd->bd_ops->bdo_sync(bd);
		if (error == 0)
			error = e;
	}
	return error;
}
