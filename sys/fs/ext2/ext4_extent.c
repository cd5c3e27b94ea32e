/*
 * ext4 extent trees, read-only: mapping a logical block of a file to the
 * physical block that holds it.
 *
 * An inode with EXT4_EXTENTS_FL keeps in i_block (60 bytes) the root of a
 * tree: a 12-byte header (magic 0xf30a, entries, max, depth) and up to 4
 * entries.  Interior entries (depth > 0) name a child block by its first
 * logical block; leaf entries (depth 0) are extents: first logical block,
 * length, first physical block.  A length above 32768 marks an unwritten
 * (preallocated) extent of length - 32768, which reads as zeroes, as does
 * a hole that no extent covers.  Tree blocks end in a crc32c tail with
 * metadata_csum.
 *
 * Nothing on disk is trusted: every header is checked (magic, entries <=
 * max <= what fits, depth exactly one less than its parent's, at most 5),
 * entries must be sorted and extents must not overlap and must lie in
 * the file system; anything else is EIO with one console message.  The
 * walk goes down one level per step, so a block naming itself cannot
 * loop.  At most one buffer is held at a time.
 *
 * The last extent (or hole) found is cached in the node (en_x*): reads
 * are sequential, so most blocks map without reading the tree.  The cache
 * is never invalidated because only read-only mounts can have extents
 * (the feature refuses a read-write mount).  Runs under em_lock.
 */
#include "fs/ext2/ext2.h"

#define I_BLOCK 40
#define EXT_HDR 12
#define EXT_ENTRY 12
#define EXT_ROOT_MAX 4

struct ext4_hdr {
	uint16_t h_entries;
	uint16_t h_max;
	uint16_t h_depth;
};

/* Decode and check a header; cap: entries that fit where it lies. */
static int
ext4_hdr_get(struct ext2_node *en, const uint8_t *p, uint32_t cap,
    int depth, struct ext4_hdr *h)
{
	if (ext2_le16(p) != EXT4_EXT_MAGIC)
		return ext2_corrupt(en->en_mount, "extent header of inode",
		    en->en_ino);
	h->h_entries = ext2_le16(p + 2);
	h->h_max = ext2_le16(p + 4);
	h->h_depth = ext2_le16(p + 6);
	if (h->h_max > cap || h->h_max == 0 || h->h_entries > h->h_max ||
	    h->h_depth > EXT4_EXT_MAX_DEPTH ||
	    (depth >= 0 && h->h_depth != depth))
		return ext2_corrupt(en->en_mount, "extent header of inode",
		    en->en_ino);
	return 0;
}

/* Check the root in i_block when the inode is loaded. */
int
ext4_ext_check_inode(struct ext2_node *en)
{
	struct ext4_hdr h;

	if (!en->en_mount->em_extents)
		return ext2_corrupt(en->en_mount,
		    "extent flag without the extent feature, inode",
		    en->en_ino);
	return ext4_hdr_get(en, en->en_raw + I_BLOCK, EXT_ROOT_MAX, -1, &h);
}

static void
ext4_cache(struct ext2_node *en, uint64_t lblk, uint64_t end, uint32_t pblk,
    bool zero)
{
	KASSERT(lblk < end && end <= EXT_NOBLK);
	en->en_xvalid = true;
	en->en_xlblk = (uint32_t)lblk;
	en->en_xlen = end - lblk;
	en->en_xpblk = pblk;
	en->en_xunwritten = zero;
}

/*
 * Search a leaf for lbn, which lies in [lo, hi) (the range its parent
 * gave it).  Caches the extent or the hole that holds lbn.
 */
static int
ext4_leaf(struct ext2_node *en, const uint8_t *ent, unsigned n, uint64_t lbn,
    uint64_t lo, uint64_t hi)
{
	struct ext2_mount *em = en->en_mount;
	uint64_t prev_end = lo, start, len, pblk;
	const uint8_t *e;
	unsigned i;
	bool unwritten;

	for (i = 0; i < n; i++) {
		e = ent + EXT_ENTRY * i;
		start = ext2_le32(e);
		len = ext2_le16(e + 4);
		unwritten = len > EXT4_EXT_INIT_MAX_LEN;
		if (unwritten)
			len -= EXT4_EXT_INIT_MAX_LEN;
		pblk = (uint64_t)ext2_le16(e + 6) << 32 | ext2_le32(e + 8);
		if (len == 0 || start < prev_end || start + len > EXT_NOBLK ||
		    pblk <= em->em_first_data || pblk + len > em->em_nblocks)
			return ext2_corrupt(em, "extent of inode", en->en_ino);
		if (lbn < start) {
			ext4_cache(en, MAX(prev_end, lo), MIN(start, hi), 0,
			    true);
			return 0;
		}
		if (lbn < start + len) {
			ext4_cache(en, start, start + len, (uint32_t)pblk,
			    unwritten);
			return 0;
		}
		prev_end = start + len;
	}
	ext4_cache(en, MAX(prev_end, lo), hi, 0, true);
	return 0;
}

/*
 * In an index node, the entry whose subtree holds lbn: the last one
 * starting at or before it.  Narrows [*lo, *hi) to its range.  ENOENT:
 * lbn lies before the first entry, a hole up to it.
 */
static int
ext4_index(struct ext2_node *en, const uint8_t *ent, unsigned n, uint64_t lbn,
    uint64_t *lo, uint64_t *hi, uint64_t *child)
{
	struct ext2_mount *em = en->en_mount;
	uint64_t first, next;
	const uint8_t *e;
	unsigned i;
	int found = -1;

	if (n == 0)
		return ext2_corrupt(em, "empty extent index of inode",
		    en->en_ino);
	for (i = 0; i < n; i++) {
		first = ext2_le32(ent + EXT_ENTRY * i);
		if (i > 0 && first <= ext2_le32(ent + EXT_ENTRY * (i - 1)))
			return ext2_corrupt(em, "extent index of inode",
			    en->en_ino);
		if (first <= lbn)
			found = (int)i;
	}
	if (found < 0) {
		first = ext2_le32(ent);
		ext4_cache(en, *lo, MIN(first, *hi), 0, true);
		return ENOENT;
	}
	e = ent + EXT_ENTRY * (unsigned)found;
	next = (unsigned)found + 1 < n ?
	    ext2_le32(e + EXT_ENTRY) : EXT_NOBLK;
	*lo = MAX(*lo, (uint64_t)ext2_le32(e));
	*hi = MIN(*hi, next);
	*child = (uint64_t)ext2_le16(e + 8) << 32 | ext2_le32(e + 4);
	if (*child >= em->em_nblocks || !ext2_blk_valid(em, (uint32_t)*child))
		return ext2_corrupt(em, "extent index block of inode",
		    en->en_ino);
	return 0;
}

/* Walk the tree down to the leaf that holds lbn; fills the cache. */
static int
ext4_walk(struct ext2_node *en, uint64_t lbn)
{
	struct ext2_mount *em = en->en_mount;
	uint32_t cap = (em->em_bsize - EXT_HDR) / EXT_ENTRY;
	uint64_t lo = 0, hi = EXT_NOBLK, child = 0;
	const uint8_t *p = en->en_raw + I_BLOCK;
	struct buf *bp = NULL;
	struct ext4_hdr h;
	int error, depth = -1;

	error = ext4_hdr_get(en, p, EXT_ROOT_MAX, depth, &h);
	while (error == 0) {
		if (h.h_depth == 0) {
			error = ext4_leaf(en, p + EXT_HDR, h.h_entries, lbn,
			    lo, hi);
			break;
		}
		error = ext4_index(en, p + EXT_HDR, h.h_entries, lbn, &lo,
		    &hi, &child);
		if (error)
			break;
		depth = h.h_depth - 1;
		if (bp != NULL)
			brelse(bp);
		bp = NULL;
		error = bread(em->em_dev, child, em->em_bsize, &bp);
		if (error) {
			bp = NULL;
			break;
		}
		p = bp->b_data;
		error = ext4_hdr_get(en, p, cap, depth, &h);
		if (error == 0)
			error = ext4_extblk_csum_check(en, p,
			    EXT_HDR + EXT_ENTRY * (uint32_t)h.h_max,
			    (uint32_t)child);
	}
	if (bp != NULL)
		brelse(bp);
	return error == ENOENT ? 0 : error;
}

/* The physical block of logical block lbn of en, or 0 (hole, unwritten). */
int
ext4_ext_bmap(struct ext2_node *en, uint64_t lbn, uint32_t *pbn)
{
	int error;

	*pbn = 0;
	if (lbn >= EXT_NOBLK)
		return 0;
	if (!en->en_xvalid || lbn < en->en_xlblk ||
	    lbn - en->en_xlblk >= en->en_xlen) {
		error = ext4_walk(en, lbn);
		if (error)
			return error;
		KASSERT(en->en_xvalid && lbn >= en->en_xlblk &&
		    lbn - en->en_xlblk < en->en_xlen);
	}
	if (!en->en_xunwritten)
		*pbn = en->en_xpblk + (uint32_t)(lbn - en->en_xlblk);
	return 0;
}
