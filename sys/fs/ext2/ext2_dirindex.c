/*
 * ext2 directory index: an in-memory map from entry names to the byte
 * offsets of their entries, plus the largest free slot of every block, so
 * that lookups, insertions and removals in a large directory cost O(1)
 * block reads instead of a scan of the whole directory.
 *
 * The on-disk format stays linear (e2fsck-neutral); the index is only a
 * cache of it.  ext2_dir.c builds it the first time a large directory is
 * used, keeps it exact on every insert and removal, and drops it on any
 * doubt (an I/O error, a corrupt block, a size it did not expect); it is
 * rebuilt on the next use.  This file holds the data structure only: no
 * I/O, no locking of its own.  The caller holds em_lock; the index is
 * freed with its node (ext2_node_free).
 *
 * Names are kept as 32-bit hashes in an open-addressing table of
 * (hash, offset + 1) pairs, linear probing, tombstones for removals.  The
 * table is rebuilt at a size of about four times the live entries when
 * live entries and tombstones fill three quarters of it, so memory stays
 * within 32 bytes per live entry (plus 2 bytes per block for the free
 * hints) and shrinks again after mass removal.  A hash match is only a
 * candidate: the caller compares the name in the block.
 */
#include "fs/ext2/ext2.h"

#define DIX_EMPTY 0u
#define DIX_TOMB 0xffffffffu
#define DIX_MINCAP 64u

struct ext2_dix_slot {
	uint32_t ds_hash;
	uint32_t ds_off;        /* entry offset + 1; DIX_EMPTY, DIX_TOMB */
};

struct ext2_dix {
	struct ext2_dix_slot *dx_slot;
	uint32_t dx_cap;        /* slots, a power of two */
	uint32_t dx_used;       /* live slots */
	uint32_t dx_tomb;       /* tombstones */
	uint16_t *dx_free;      /* largest usable slot per block */
	uint32_t dx_nblk;       /* blocks described by dx_free */
	uint32_t dx_fcap;       /* entries allocated in dx_free */
	uint32_t dx_low;        /* blocks below this have no free slot */
};

/* FNV-1a: cheap, and good enough spread for file names. */
uint32_t
ext2_dix_hash(const char *name, size_t len)
{
	uint32_t h = 2166136261u;
	size_t i;

	for (i = 0; i < len; i++) {
		h ^= (uint8_t)name[i];
		h *= 16777619u;
	}
	return h;
}

struct ext2_dix *
ext2_dix_create(void)
{
	struct ext2_dix *dx;

	dx = kmem_zalloc(sizeof(*dx));
	if (dx == NULL)
		return NULL;
	dx->dx_slot = kmem_zalloc(DIX_MINCAP * sizeof(*dx->dx_slot));
	if (dx->dx_slot == NULL) {
		kmem_free(dx, sizeof(*dx));
		return NULL;
	}
	dx->dx_cap = DIX_MINCAP;
	return dx;
}

void
ext2_dix_destroy(struct ext2_dix *dx)
{
	if (dx == NULL)
		return;
	kmem_free(dx->dx_slot, dx->dx_cap * sizeof(*dx->dx_slot));
	if (dx->dx_free != NULL)
		kmem_free(dx->dx_free, dx->dx_fcap * sizeof(*dx->dx_free));
	kmem_free(dx, sizeof(*dx));
}

uint32_t
ext2_dix_nblocks(const struct ext2_dix *dx)
{
	return dx->dx_nblk;
}

static void
ext2_dix_put(struct ext2_dix_slot *tab, uint32_t cap, uint32_t hash,
    uint32_t off1)
{
	uint32_t i = hash & (cap - 1);

	while (tab[i].ds_off != DIX_EMPTY)
		i = (i + 1) & (cap - 1);
	tab[i].ds_hash = hash;
	tab[i].ds_off = off1;
}

/* Rebuild the table at about four slots per live entry (room to grow). */
static int
ext2_dix_rehash(struct ext2_dix *dx)
{
	struct ext2_dix_slot *tab;
	uint32_t cap = DIX_MINCAP, i;

	while (cap < 0x40000000u && cap < (dx->dx_used + 1) * 4)
		cap <<= 1;
	tab = kmem_zalloc(cap * sizeof(*tab));
	if (tab == NULL)
		return ENOMEM;
	for (i = 0; i < dx->dx_cap; i++) {
		if (dx->dx_slot[i].ds_off != DIX_EMPTY &&
		    dx->dx_slot[i].ds_off != DIX_TOMB)
			ext2_dix_put(tab, cap, dx->dx_slot[i].ds_hash,
			    dx->dx_slot[i].ds_off);
	}
	kmem_free(dx->dx_slot, dx->dx_cap * sizeof(*dx->dx_slot));
	dx->dx_slot = tab;
	dx->dx_cap = cap;
	dx->dx_tomb = 0;
	return 0;
}

int
ext2_dix_insert(struct ext2_dix *dx, uint32_t hash, uint32_t off)
{
	int error;

	KASSERT(off < DIX_TOMB - 1);
	if ((uint64_t)(dx->dx_used + dx->dx_tomb + 1) * 4 >
	    (uint64_t)dx->dx_cap * 3) {
		error = ext2_dix_rehash(dx);
		if (error)
			return error;
	}
	ext2_dix_put(dx->dx_slot, dx->dx_cap, hash, off + 1);
	dx->dx_used++;
	return 0;
}

void
ext2_dix_delete(struct ext2_dix *dx, uint32_t hash, uint32_t off)
{
	uint32_t i = hash & (dx->dx_cap - 1);

	for (; dx->dx_slot[i].ds_off != DIX_EMPTY; i = (i + 1) & (dx->dx_cap - 1)) {
		if (dx->dx_slot[i].ds_off == off + 1) {
			dx->dx_slot[i].ds_off = DIX_TOMB;
			dx->dx_used--;
			dx->dx_tomb++;
			return;
		}
	}
}

/*
 * The next entry offset whose name hashes to hash.  *cursor starts at 0
 * and is advanced by each call; false when there are no more candidates.
 */
bool
ext2_dix_probe(const struct ext2_dix *dx, uint32_t hash, uint32_t *cursor,
    uint32_t *off)
{
	uint32_t mask = dx->dx_cap - 1, i;
	const struct ext2_dix_slot *s;

	while (*cursor <= mask) {
		i = (hash + *cursor) & mask;
		s = &dx->dx_slot[i];
		(*cursor)++;
		if (s->ds_off == DIX_EMPTY)
			break;
		if (s->ds_off != DIX_TOMB && s->ds_hash == hash) {
			*off = s->ds_off - 1;
			return true;
		}
	}
	*cursor = mask + 1;
	return false;
}

/* Record the largest usable slot of block blk; blk may be one past the end. */
int
ext2_dix_setfree(struct ext2_dix *dx, uint32_t blk, uint32_t avail)
{
	uint16_t *nf;
	uint32_t ncap;

	KASSERT(blk <= dx->dx_nblk);
	if (blk == dx->dx_fcap) {
		ncap = dx->dx_fcap == 0 ? 16 : dx->dx_fcap * 2;
		nf = kmem_alloc(ncap * sizeof(*nf));
		if (nf == NULL)
			return ENOMEM;
		if (dx->dx_free != NULL) {
			memcpy(nf, dx->dx_free, dx->dx_nblk * sizeof(*nf));
			kmem_free(dx->dx_free, dx->dx_fcap * sizeof(*nf));
		}
		dx->dx_free = nf;
		dx->dx_fcap = ncap;
	}
	if (blk == dx->dx_nblk)
		dx->dx_nblk++;
	dx->dx_free[blk] = avail > 0xffff ? 0xffff : (uint16_t)avail;
	if (avail >= EXT2_DIRENT_LEN(1) && blk < dx->dx_low)
		dx->dx_low = blk;
	return 0;
}

/* The first block whose largest free slot holds need bytes, from *blk on. */
bool
ext2_dix_findfree(struct ext2_dix *dx, uint32_t need, uint32_t *blk)
{
	uint32_t b;

	if (*blk < dx->dx_low)
		*blk = dx->dx_low;
	for (b = *blk; b < dx->dx_nblk; b++) {
		if (b == dx->dx_low && dx->dx_free[b] < EXT2_DIRENT_LEN(1)) {
			dx->dx_low++;
			continue;
		}
		if (dx->dx_free[b] >= need) {
			*blk = b;
			return true;
		}
	}
	return false;
}
