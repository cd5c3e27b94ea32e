/*
 * ext2 superblock, group descriptors and the block and inode allocators.
 *
 * The in-memory superblock and descriptor table (em_sb, em_gd) are the
 * authority while mounted; a change is copied into the buffer holding
 * the on-disk copy right away (descriptors) or at sync and unmount
 * (superblock, marked em_sbdirty).  Free counts in both are kept exact
 * on every allocation and free, so e2fsck finds nothing to fix.  The
 * backup superblocks and descriptor copies in other groups are left
 * alone, as Linux's ext2 does: e2fsck ignores their free counts.
 *
 * Blocks are allocated first-fit from a goal (the block after the file's
 * last one, else the start of the inode's group), scanning its group from
 * the goal and then the following groups.  Inodes of files go to the
 * parent directory's group; directories are spread over groups that have
 * more free inodes and blocks than the average (a simple Orlov).
 * Everything here runs under em_lock and holds at most one buffer.
 */
#include "fs/ext2/ext2.h"
#include "kern/proc.h"

/*
 * Report corruption once per mount; always EIO.  As Linux's ext2_error,
 * a writable mount also records the error state in the superblock (at
 * the next sync or unmount), so that the image is not mounted writable
 * again before e2fsck has repaired it.
 */
int
ext2_corrupt(struct ext2_mount *em, const char *what, uint64_t n)
{
	if (!em->em_rdonly) {
		em->em_mntstate |= EXT2_ERROR_FS;
		ext2_put16(em->em_sb + SB_STATE,
		    (uint16_t)(ext2_le16(em->em_sb + SB_STATE) | EXT2_ERROR_FS));
		em->em_sbdirty = true;
	}
	if (!em->em_warned) {
		em->em_warned = true;
		kprintf("pith: ext2: corrupted file system: %s %llu; "
		    "run e2fsck\n", what, (unsigned long long)n);
	}
	return EIO;
}

/* May blk be a data or indirect block? */
bool
ext2_blk_valid(struct ext2_mount *em, uint32_t blk)
{
	return blk >= em->em_first_data + 1 && blk < em->em_nblocks;
}

void
ext2_sb_dirty(struct ext2_mount *em)
{
	em->em_sbdirty = true;
}

int
ext2_sb_write(struct ext2_mount *em)
{
	struct buf *bp;
	uint32_t blk = EXT2_SB_OFF / em->em_bsize;
	uint32_t off = EXT2_SB_OFF % em->em_bsize;
	int error;

	KASSERT(!em->em_rdonly);
	error = bread(em->em_dev, blk, em->em_bsize, &bp);
	if (error)
		return error;
	memcpy((uint8_t *)bp->b_data + off, em->em_sb, EXT2_SB_SIZE);
	bdwrite(bp);
	em->em_sbdirty = false;
	return 0;
}

void
ext2_gd_write(struct ext2_mount *em, uint32_t g)
{
	uint64_t byte = (uint64_t)g * em->em_descsz;
	uint32_t blk = em->em_first_data + 1 + (uint32_t)(byte >> em->em_bshift);
	struct buf *bp;

	if (bread(em->em_dev, blk, em->em_bsize, &bp) != 0)
		return;         /* the write-back at unmount will retry */
	memcpy((uint8_t *)bp->b_data + (byte & (em->em_bsize - 1)),
	    ext2_gd(em, g), em->em_descsz);
	bdwrite(bp);
}

static void
ext2_gd_add(struct ext2_mount *em, uint32_t g, int field, int delta)
{
	uint8_t *gd = ext2_gd(em, g);

	ext2_put16(gd + field, (uint16_t)(ext2_le16(gd + field) + delta));
}

static void
ext2_sb_add(struct ext2_mount *em, int field, int delta)
{
	ext2_put32(em->em_sb + field,
	    (uint32_t)(ext2_le32(em->em_sb + field) + (uint32_t)delta));
	em->em_sbdirty = true;
}

int
ext2_zero_block(struct ext2_mount *em, uint32_t blk)
{
	struct buf *bp;
	int error;

	error = bget(em->em_dev, blk, em->em_bsize, &bp);
	if (error)
		return error;
	memset(bp->b_data, 0, em->em_bsize);
	bdwrite(bp);
	return 0;
}

/* Blocks in group g (the last group may be short). */
static uint32_t
ext2_group_nblocks(struct ext2_mount *em, uint32_t g)
{
	uint64_t start = em->em_first_data + (uint64_t)g * em->em_bpg;

	return (uint32_t)MIN((uint64_t)em->em_bpg, em->em_nblocks - start);
}

/* First clear bit in [from, to) of map, or to. */
static uint32_t
ext2_findzero(const uint8_t *map, uint32_t from, uint32_t to)
{
	uint32_t i = from;

	while (i < to) {
		if ((i & 7) == 0 && i + 8 <= to && map[i >> 3] == 0xff) {
			i += 8;
			continue;
		}
		if (!(map[i >> 3] & (1u << (i & 7))))
			return i;
		i++;
	}
	return to;
}

/* Read a bitmap block named by a descriptor, checking the number. */
static int
ext2_bitmap(struct ext2_mount *em, uint32_t g, int field, struct buf **bpp)
{
	uint32_t blk = ext2_le32(ext2_gd(em, g) + field);

	if (!ext2_blk_valid(em, blk))
		return ext2_corrupt(em, "bitmap block of group", g);
	return bread(em->em_dev, blk, em->em_bsize, bpp);
}

/* Superuser, or the reserved-blocks user or group of the superblock. */
int
ext2_reserved_ok(struct ext2_mount *em)
{
	struct cred *cr = cred_get();
	int ok;

	if (cr == NULL)
		return 1;
	ok = cr->cr_fsuid == 0 ||
	    cr->cr_fsuid == ext2_le16(em->em_sb + SB_DEF_RESUID) ||
	    cred_groupmember(cr, ext2_le16(em->em_sb + SB_DEF_RESGID));
	cred_free(cr);
	return ok;
}

/* Try to take one block of group g at or after bit from. */
static int
ext2_balloc_group(struct ext2_mount *em, uint32_t g, uint32_t from,
    uint32_t *ret)
{
	uint32_t n = ext2_group_nblocks(em, g), bit;
	struct buf *bp;
	uint8_t *map;
	int error;

	error = ext2_bitmap(em, g, GD_BLOCK_BITMAP, &bp);
	if (error)
		return error;
	map = bp->b_data;
	from = MIN(from, n);
	bit = ext2_findzero(map, from, n);
	if (bit == n && (bit = ext2_findzero(map, 0, from)) == from) {
		brelse(bp);
		return ENOSPC;
	}
	map[bit >> 3] |= (uint8_t)(1u << (bit & 7));
	bdwrite(bp);
	*ret = em->em_first_data + g * em->em_bpg + bit;
	return 0;
}

int
ext2_balloc(struct ext2_mount *em, uint32_t goal, uint32_t *ret)
{
	uint32_t free = ext2_le32(em->em_sb + SB_FREE_BLOCKS);
	uint32_t resv = ext2_le32(em->em_sb + SB_R_BLOCKS_COUNT);
	uint32_t g0 = 0, from = 0, g, i;
	int error;

	if (free == 0 || (free <= resv && !ext2_reserved_ok(em)))
		return ENOSPC;
	if (goal >= em->em_first_data && goal < em->em_nblocks) {
		g0 = (goal - em->em_first_data) / em->em_bpg;
		from = (goal - em->em_first_data) % em->em_bpg;
	}
	for (i = 0; i < em->em_ngroups; i++) {
		g = (g0 + i) % em->em_ngroups;
		if (ext2_le16(ext2_gd(em, g) + GD_FREE_BLOCKS) == 0)
			continue;
		error = ext2_balloc_group(em, g, i == 0 ? from : 0, ret);
		if (error == ENOSPC) {
			/* The count said free, the bitmap full. */
			(void)ext2_corrupt(em, "free block count of group", g);
			continue;
		}
		if (error)
			return error;
		if (!ext2_blk_valid(em, *ret)) {
			/* A bitmap that frees the superblock: refuse. */
			return ext2_corrupt(em, "block bitmap of group", g);
		}
		ext2_gd_add(em, g, GD_FREE_BLOCKS, -1);
		ext2_gd_write(em, g);
		ext2_sb_add(em, SB_FREE_BLOCKS, -1);
		em->em_lastalloc = *ret;
		return 0;
	}
	return ENOSPC;
}

/*
 * Take the free blocks that follow each other from blk on, at most want,
 * within blk's group: one pass over one bitmap and one update of the
 * counts, for a file growing by a run of blocks.  *got may be 0 (blk is
 * taken, or no room the caller may use).  The reserved blocks are kept
 * as ext2_balloc keeps them.
 */
int
ext2_balloc_next(struct ext2_mount *em, uint32_t blk, uint32_t want,
    uint32_t *got)
{
	uint32_t free = ext2_le32(em->em_sb + SB_FREE_BLOCKS);
	uint32_t resv = ext2_le32(em->em_sb + SB_R_BLOCKS_COUNT);
	uint32_t g, bit, n, k;
	struct buf *bp;
	uint8_t *map;
	int error;

	*got = 0;
	if (!ext2_blk_valid(em, blk))
		return 0;
	if (free > resv)
		want = MIN(want, free - resv);
	else if (ext2_reserved_ok(em))
		want = MIN(want, free);
	else
		return 0;
	g = (blk - em->em_first_data) / em->em_bpg;
	bit = (blk - em->em_first_data) % em->em_bpg;
	n = ext2_group_nblocks(em, g);
	want = MIN(want, (uint32_t)ext2_le16(ext2_gd(em, g) + GD_FREE_BLOCKS));
	if (want == 0)
		return 0;
	error = ext2_bitmap(em, g, GD_BLOCK_BITMAP, &bp);
	if (error)
		return error;
	map = bp->b_data;
	for (k = 0; k < want && bit + k < n; k++) {
		if (map[(bit + k) >> 3] & (1u << ((bit + k) & 7)))
			break;
		map[(bit + k) >> 3] |= (uint8_t)(1u << ((bit + k) & 7));
	}
	if (k == 0) {
		brelse(bp);
		return 0;
	}
	bdwrite(bp);
	ext2_gd_add(em, g, GD_FREE_BLOCKS, -(int)k);
	ext2_gd_write(em, g);
	ext2_sb_add(em, SB_FREE_BLOCKS, -(int)k);
	em->em_lastalloc = blk + k - 1;
	*got = k;
	return 0;
}

int
ext2_bfree(struct ext2_mount *em, uint32_t blk)
{
	uint32_t g, bit;
	struct buf *bp;
	uint8_t *map;
	int error;

	if (!ext2_blk_valid(em, blk))
		return ext2_corrupt(em, "block number", blk);
	g = (blk - em->em_first_data) / em->em_bpg;
	bit = (blk - em->em_first_data) % em->em_bpg;
	error = ext2_bitmap(em, g, GD_BLOCK_BITMAP, &bp);
	if (error)
		return error;
	map = bp->b_data;
	if (!(map[bit >> 3] & (1u << (bit & 7)))) {
		brelse(bp);
		return ext2_corrupt(em, "freeing free block", blk);
	}
	map[bit >> 3] &= (uint8_t)~(1u << (bit & 7));
	bdwrite(bp);
	ext2_gd_add(em, g, GD_FREE_BLOCKS, 1);
	ext2_gd_write(em, g);
	ext2_sb_add(em, SB_FREE_BLOCKS, 1);
	return 0;
}

/* The group a new directory goes to: above-average free space. */
static uint32_t
ext2_dirgroup(struct ext2_mount *em)
{
	uint32_t avgi = ext2_le32(em->em_sb + SB_FREE_INODES) / em->em_ngroups;
	uint32_t avgb = ext2_le32(em->em_sb + SB_FREE_BLOCKS) / em->em_ngroups;
	uint32_t i, g;
	uint8_t *gd;

	for (i = 0; i < em->em_ngroups; i++) {
		g = (em->em_dirgoal + i) % em->em_ngroups;
		gd = ext2_gd(em, g);
		if (ext2_le16(gd + GD_FREE_INODES) > 0 &&
		    ext2_le16(gd + GD_FREE_INODES) >= avgi &&
		    ext2_le16(gd + GD_FREE_BLOCKS) >= avgb) {
			em->em_dirgoal = (g + 1) % em->em_ngroups;
			return g;
		}
	}
	return em->em_dirgoal;
}

static int
ext2_ialloc_group(struct ext2_mount *em, uint32_t g, uint32_t *ret)
{
	uint32_t from = 0, bit;
	struct buf *bp;
	uint8_t *map;
	int error;

	if (g == 0)
		from = em->em_first_ino - 1;
	if (from >= em->em_ipg)
		return ENOSPC;
	error = ext2_bitmap(em, g, GD_INODE_BITMAP, &bp);
	if (error)
		return error;
	map = bp->b_data;
	bit = ext2_findzero(map, from, em->em_ipg);
	if (bit == em->em_ipg) {
		brelse(bp);
		return ENOSPC;
	}
	map[bit >> 3] |= (uint8_t)(1u << (bit & 7));
	bdwrite(bp);
	*ret = g * em->em_ipg + bit + 1;
	return 0;
}

int
ext2_ialloc(struct ext2_mount *em, uint32_t dirino, bool isdir, uint32_t *ret)
{
	uint32_t g0, g, i;
	int error;

	if (ext2_le32(em->em_sb + SB_FREE_INODES) == 0)
		return ENOSPC;
	if (isdir)
		g0 = ext2_dirgroup(em);
	else
		g0 = (dirino - 1) / em->em_ipg;
	for (i = 0; i < em->em_ngroups; i++) {
		g = (g0 + i) % em->em_ngroups;
		if (ext2_le16(ext2_gd(em, g) + GD_FREE_INODES) == 0)
			continue;
		error = ext2_ialloc_group(em, g, ret);
		if (error == ENOSPC) {
			(void)ext2_corrupt(em, "free inode count of group", g);
			continue;
		}
		if (error)
			return error;
		ext2_gd_add(em, g, GD_FREE_INODES, -1);
		if (isdir)
			ext2_gd_add(em, g, GD_USED_DIRS, 1);
		ext2_gd_write(em, g);
		ext2_sb_add(em, SB_FREE_INODES, -1);
		return 0;
	}
	return ENOSPC;
}

int
ext2_ifree(struct ext2_mount *em, uint32_t ino, bool isdir)
{
	uint32_t g = (ino - 1) / em->em_ipg, bit = (ino - 1) % em->em_ipg;
	struct buf *bp;
	uint8_t *map;
	int error;

	if (ino < em->em_first_ino || ino > em->em_ninodes)
		return ext2_corrupt(em, "freeing inode", ino);
	error = ext2_bitmap(em, g, GD_INODE_BITMAP, &bp);
	if (error)
		return error;
	map = bp->b_data;
	if (!(map[bit >> 3] & (1u << (bit & 7)))) {
		brelse(bp);
		return ext2_corrupt(em, "freeing free inode", ino);
	}
	map[bit >> 3] &= (uint8_t)~(1u << (bit & 7));
	bdwrite(bp);
	ext2_gd_add(em, g, GD_FREE_INODES, 1);
	if (isdir && ext2_le16(ext2_gd(em, g) + GD_USED_DIRS) > 0)
		ext2_gd_add(em, g, GD_USED_DIRS, -1);
	ext2_gd_write(em, g);
	ext2_sb_add(em, SB_FREE_INODES, 1);
	return 0;
}
