/*
 * ext2 inodes: reading and writing them, their block maps (12 direct
 * pointers, then single, double and triple indirect blocks), truncation,
 * freeing, and the file data path.
 *
 * A node is decoded from the inode table when its vnode is loaded and
 * encoded back by ext2_iupdate into a raw copy (en_raw) that also carries
 * the fields this driver does not interpret, so they survive a write.
 * i_blocks counts 512-byte units of every block the inode owns, data and
 * indirect alike, plus its extended-attribute block.
 *
 * Block numbers read from disk are checked before use (ext2_blk_valid);
 * a bad one is EIO with a console message.  Indirect blocks are read into
 * a private copy while truncation recurses, so at most one buffer is held
 * at a time and a block that points to itself cannot deadlock us.
 * Everything here runs under em_lock.
 */
#include "fs/ext2/ext2.h"

/* Inode field offsets. */
#define I_MODE 0
#define I_UID 2
#define I_SIZE 4
#define I_ATIME 8
#define I_CTIME 12
#define I_MTIME 16
#define I_DTIME 20
#define I_GID 24
#define I_LINKS 26
#define I_BLOCKS 28
#define I_FLAGS 32
#define I_BLOCK 40
#define I_GENERATION 100
#define I_FILE_ACL 104
#define I_SIZE_HIGH 108
#define I_BLOCKS_HI 116
#define I_UID_HIGH 120
#define I_GID_HIGH 122
#define I_EXTRA_ISIZE 128
#define I_CTIME_EXTRA 132
#define I_MTIME_EXTRA 136
#define I_ATIME_EXTRA 140
#define I_CRTIME 144
#define I_CRTIME_EXTRA 148

static const uint8_t ext2_zeroes[4096];

static enum vtype
ext2_mode_type(uint16_t mode)
{
	switch (mode & S_IFMT) {
	case S_IFREG: return VREG;
	case S_IFDIR: return VDIR;
	case S_IFLNK: return VLNK;
	case S_IFCHR: return VCHR;
	case S_IFBLK: return VBLK;
	case S_IFIFO: return VFIFO;
	case S_IFSOCK: return VSOCK;
	default: return VNON;
	}
}

static uint16_t
ext2_type_mode(enum vtype t)
{
	switch (t) {
	case VREG: return S_IFREG;
	case VDIR: return S_IFDIR;
	case VLNK: return S_IFLNK;
	case VCHR: return S_IFCHR;
	case VBLK: return S_IFBLK;
	case VFIFO: return S_IFIFO;
	case VSOCK: return S_IFSOCK;
	default: return 0;
	}
}

/* Does the inode's extra space reach the 4-byte field at off? */
static bool
ext2_has_extra(struct ext2_node *en, unsigned off)
{
	return en->en_mount->em_isize > EXT2_GOOD_OLD_INODE_SIZE &&
	    off + 4 <= EXT2_GOOD_OLD_INODE_SIZE + (unsigned)en->en_extra;
}

static void
ext2_time_get(struct ext2_node *en, unsigned off, unsigned xoff,
    struct timespec *ts)
{
	const uint8_t *r = en->en_raw;
	uint32_t x;

	ts->tv_sec = (int32_t)ext2_le32(r + off);
	ts->tv_nsec = 0;
	if (ext2_has_extra(en, xoff)) {
		x = ext2_le32(r + xoff);
		ts->tv_sec += (int64_t)(x & 3) << 32;
		ts->tv_nsec = (long)(x >> 2);
		if (ts->tv_nsec >= 1000000000L)
			ts->tv_nsec = 0;
	}
}

static void
ext2_time_put(struct ext2_node *en, unsigned off, unsigned xoff,
    struct timespec *ts)
{
	uint8_t *r = en->en_raw;
	uint32_t epoch;

	ext2_put32(r + off, (uint32_t)ts->tv_sec);
	if (ext2_has_extra(en, xoff)) {
		epoch = (uint32_t)(((int64_t)ts->tv_sec -
		    (int64_t)(int32_t)ts->tv_sec) >> 32) & 3;
		ext2_put32(r + xoff, epoch | (uint32_t)ts->tv_nsec << 2);
	} else {
		ts->tv_nsec = 0;        /* the disk keeps seconds only */
	}
}

static dev_t
ext2_rdev_decode(const uint32_t *blk)
{
	if (blk[0] != 0)
		return makedev((blk[0] >> 8) & 0xff, blk[0] & 0xff);
	return makedev((blk[1] & 0xfff00) >> 8,
	    (blk[1] & 0xff) | ((blk[1] >> 12) & 0xfff00));
}

static void
ext2_rdev_encode(dev_t rdev, uint32_t *blk)
{
	unsigned ma = major(rdev), mi = minor(rdev);

	if (ma < 256 && mi < 256) {
		blk[0] = ma << 8 | mi;
		blk[1] = 0;
	} else {
		blk[0] = 0;
		blk[1] = (mi & 0xff) | (ma << 8) | ((mi & ~0xffu) << 12);
	}
	blk[2] = 0;
}

/* Where inode ino lives: block and byte offset in it. */
int
ext2_iloc(struct ext2_mount *em, uint32_t ino, uint32_t *blk, uint32_t *off)
{
	uint32_t g, idx, table;
	uint64_t byte;

	if (ino == 0 || ino > em->em_ninodes)
		return ext2_corrupt(em, "inode number", ino);
	g = (ino - 1) / em->em_ipg;
	idx = (ino - 1) % em->em_ipg;
	if (em->em_gdbad != NULL && em->em_gdbad[g])
		return ext2_corrupt(em, "checksum of group descriptor", g);
	table = ext2_le32(ext2_gd(em, g) + GD_INODE_TABLE);
	if (table <= em->em_first_data ||
	    (uint64_t)table + em->em_itb_per_group > em->em_nblocks)
		return ext2_corrupt(em, "inode table of group", g);
	byte = (uint64_t)idx * em->em_isize;
	*blk = table + (uint32_t)(byte >> em->em_bshift);
	*off = (uint32_t)(byte & (em->em_bsize - 1));
	return 0;
}

static void
ext2_decode(struct ext2_node *en)
{
	struct ext2_mount *em = en->en_mount;
	const uint8_t *r = en->en_raw;
	unsigned i;

	en->en_mode = ext2_le16(r + I_MODE);
	en->en_type = ext2_mode_type(en->en_mode);
	en->en_uid = ext2_le16(r + I_UID) |
	    (uint32_t)ext2_le16(r + I_UID_HIGH) << 16;
	en->en_gid = ext2_le16(r + I_GID) |
	    (uint32_t)ext2_le16(r + I_GID_HIGH) << 16;
	en->en_size = ext2_le32(r + I_SIZE);
	if (en->en_type == VREG)
		en->en_size |= (uint64_t)ext2_le32(r + I_SIZE_HIGH) << 32;
	/* An absurd size would make reads of holes run forever. */
	if (en->en_size > em->em_maxsize)
		en->en_size = em->em_maxsize;
	en->en_nlink = ext2_le16(r + I_LINKS);
	en->en_blocks = ext2_le32(r + I_BLOCKS);
	en->en_flags = ext2_le32(r + I_FLAGS);
	if (ext2_le32(em->em_sb + SB_FEATURE_RO_COMPAT) &
	    EXT2_FEATURE_RO_COMPAT_HUGE_FILE) {
		en->en_blocks |= (uint64_t)ext2_le16(r + I_BLOCKS_HI) << 32;
		if (en->en_flags & EXT4_HUGE_FILE_FL)
			en->en_blocks <<= em->em_bshift - 9;
	}
	en->en_dtime = ext2_le32(r + I_DTIME);
	en->en_generation = ext2_le32(r + I_GENERATION);
	en->en_file_acl = ext2_le32(r + I_FILE_ACL);
	for (i = 0; i < EXT2_N_BLOCKS; i++)
		en->en_block[i] = ext2_le32(r + I_BLOCK + 4 * i);
	en->en_extra = 0;
	if (em->em_isize > EXT2_GOOD_OLD_INODE_SIZE) {
		en->en_extra = ext2_le16(r + I_EXTRA_ISIZE);
		if (en->en_extra > em->em_isize - EXT2_GOOD_OLD_INODE_SIZE ||
		    (en->en_extra & 3) != 0)
			en->en_extra = 0;
	}
	ext2_time_get(en, I_ATIME, I_ATIME_EXTRA, &en->en_atime);
	ext2_time_get(en, I_MTIME, I_MTIME_EXTRA, &en->en_mtime);
	ext2_time_get(en, I_CTIME, I_CTIME_EXTRA, &en->en_ctime);
	if (ext2_has_extra(en, I_CRTIME))
		ext2_time_get(en, I_CRTIME, I_CRTIME_EXTRA, &en->en_crtime);
	if (en->en_type == VCHR || en->en_type == VBLK)
		en->en_rdev = ext2_rdev_decode(en->en_block);
}

static void
ext2_encode(struct ext2_node *en)
{
	uint8_t *r = en->en_raw;
	unsigned i;

	ext2_put16(r + I_MODE, en->en_mode);
	ext2_put16(r + I_UID, (uint16_t)en->en_uid);
	ext2_put16(r + I_UID_HIGH, (uint16_t)(en->en_uid >> 16));
	ext2_put16(r + I_GID, (uint16_t)en->en_gid);
	ext2_put16(r + I_GID_HIGH, (uint16_t)(en->en_gid >> 16));
	ext2_put32(r + I_SIZE, (uint32_t)en->en_size);
	if (en->en_type == VREG)
		ext2_put32(r + I_SIZE_HIGH, (uint32_t)(en->en_size >> 32));
	ext2_put16(r + I_LINKS, en->en_nlink);
	ext2_put32(r + I_BLOCKS, (uint32_t)en->en_blocks);
	ext2_put32(r + I_FLAGS, en->en_flags);
	ext2_put32(r + I_DTIME, en->en_dtime);
	ext2_put32(r + I_GENERATION, en->en_generation);
	ext2_put32(r + I_FILE_ACL, en->en_file_acl);
	for (i = 0; i < EXT2_N_BLOCKS; i++)
		ext2_put32(r + I_BLOCK + 4 * i, en->en_block[i]);
	if (en->en_mount->em_isize > EXT2_GOOD_OLD_INODE_SIZE)
		ext2_put16(r + I_EXTRA_ISIZE, en->en_extra);
	ext2_time_put(en, I_ATIME, I_ATIME_EXTRA, &en->en_atime);
	ext2_time_put(en, I_MTIME, I_MTIME_EXTRA, &en->en_mtime);
	ext2_time_put(en, I_CTIME, I_CTIME_EXTRA, &en->en_ctime);
	if (ext2_has_extra(en, I_CRTIME))
		ext2_time_put(en, I_CRTIME, I_CRTIME_EXTRA, &en->en_crtime);
}

static struct ext2_node *
ext2_node_alloc(struct ext2_mount *em, uint32_t ino)
{
	struct ext2_node *en;

	en = kmem_zalloc(sizeof(*en));
	if (en == NULL)
		return NULL;
	en->en_raw = kmem_zalloc(em->em_isize);
	if (en->en_raw == NULL) {
		kmem_free(en, sizeof(*en));
		return NULL;
	}
	en->en_mount = em;
	en->en_ino = ino;
	return en;
}

void
ext2_node_free(struct ext2_node *en)
{
	ext2_dir_index_free(en);
	kmem_free(en->en_raw, en->en_mount->em_isize);
	kmem_free(en, sizeof(*en));
}

/*
 * Is inode ino in the never-used part of its group's table?  With group
 * descriptor checksums (uninit_bg, metadata_csum) a group may leave its
 * inode table uninitialised, wholly (INODE_UNINIT) or past ipg minus
 * bg_itable_unused; such inodes read as zero, i.e. free.
 */
static bool
ext2_inode_unused(struct ext2_mount *em, uint32_t ino)
{
	uint32_t g = (ino - 1) / em->em_ipg, idx = (ino - 1) % em->em_ipg;
	const uint8_t *gd = ext2_gd(em, g);
	uint32_t unused;

	if (!em->em_csum && !em->em_gdtcsum)
		return false;
	if (ext2_le16(gd + GD_FLAGS) & EXT4_BG_INODE_UNINIT)
		return true;
	unused = ext2_le16(gd + GD_ITABLE_UNUSED);
	if (em->em_descsz >= GD_SIZE_64BIT)
		unused |= (uint32_t)ext2_le16(gd + GD_ITABLE_UNUSED_HI) << 16;
	return unused <= em->em_ipg && idx >= em->em_ipg - unused;
}

/* The ext4 parts of a loaded inode: extents and inline data. */
static int
ext2_iread_ext4(struct ext2_node *en)
{
	struct ext2_mount *em = en->en_mount;
	uint64_t ea;

	if (en->en_flags & EXT4_INLINE_DATA_FL) {
		/* Files read through ext4_inline_read; the rest is EIO in
		 * ext2_bmap.  Never on a writable mount. */
		if (!em->em_rdonly)
			return ext2_corrupt(em, "inline data on a writable "
			    "mount, inode", en->en_ino);
		return 0;
	}
	if (!(en->en_flags & EXT4_EXTENTS_FL))
		return 0;
	if (!em->em_rdonly)     /* the feature check forbids this */
		return ext2_corrupt(em, "extents on a writable mount, inode",
		    en->en_ino);
	ea = en->en_file_acl != 0 ? em->em_bsize / 512 : 0;
	if (en->en_type == VREG || en->en_type == VDIR ||
	    (en->en_type == VLNK && en->en_blocks > ea))
		return ext4_ext_check_inode(en);
	return 0;
}

int
ext2_iread(struct ext2_mount *em, uint32_t ino, struct ext2_node **ret)
{
	struct ext2_node *en;
	struct buf *bp;
	uint32_t blk, off;
	int error;

	error = ext2_iloc(em, ino, &blk, &off);
	if (error)
		return error;
	en = ext2_node_alloc(em, ino);
	if (en == NULL)
		return ENOMEM;
	error = bread(em->em_dev, blk, em->em_bsize, &bp);
	if (error)
		goto fail;
	memcpy(en->en_raw, (uint8_t *)bp->b_data + off, em->em_isize);
	brelse(bp);
	if (ext2_inode_unused(em, ino))
		memset(en->en_raw, 0, em->em_isize);
	else if ((error = ext4_inode_csum_check(en)) != 0)
		goto fail;
	ext2_decode(en);
	if (en->en_nlink == 0 || en->en_type == VNON) {
		error = ext2_corrupt(em, "directory entry names free inode",
		    ino);
		goto fail;
	}
	error = ext2_iread_ext4(en);
	if (error)
		goto fail;
	*ret = en;
	return 0;
fail:
	ext2_node_free(en);
	return error;
}

int
ext2_iupdate(struct ext2_node *en)
{
	struct ext2_mount *em = en->en_mount;
	struct buf *bp;
	uint32_t blk, off;
	int error;

	if (em->em_rdonly)
		return 0;
	ext2_encode(en);
	error = ext2_iloc(em, en->en_ino, &blk, &off);
	if (error)
		return error;
	error = bread(em->em_dev, blk, em->em_bsize, &bp);
	if (error)
		return error;
	memcpy((uint8_t *)bp->b_data + off, en->en_raw, em->em_isize);
	bdwrite(bp);
	return 0;
}

void
ext2_touch(struct ext2_node *en, bool m, bool c)
{
	struct timespec now;

	time_now(&now);
	if (m)
		en->en_mtime = now;
	if (c)
		en->en_ctime = now;
}

int
ext2_inew(struct ext2_mount *em, struct ext2_node *dir, enum vtype type,
    mode_t mode, uid_t uid, gid_t gid, dev_t rdev, struct ext2_node **ret)
{
	struct ext2_node *en;
	uint32_t ino;
	int error;

	error = ext2_ialloc(em, dir->en_ino, type == VDIR, &ino);
	if (error)
		return error;
	en = ext2_node_alloc(em, ino);
	if (en == NULL) {
		(void)ext2_ifree(em, ino, type == VDIR);
		return ENOMEM;
	}
	en->en_type = type;
	en->en_mode = (uint16_t)(ext2_type_mode(type) | (mode & ALLPERMS));
	en->en_uid = uid;
	en->en_gid = gid;
	en->en_nlink = 1;
	en->en_generation = cprng_u32();
	if (em->em_isize > EXT2_GOOD_OLD_INODE_SIZE)
		en->en_extra = (uint16_t)MIN(32u,
		    em->em_isize - EXT2_GOOD_OLD_INODE_SIZE);
	time_now(&en->en_atime);
	en->en_mtime = en->en_ctime = en->en_crtime = en->en_atime;
	if (type == VCHR || type == VBLK) {
		en->en_rdev = rdev;
		ext2_rdev_encode(rdev, en->en_block);
	}
	error = ext2_iupdate(en);
	if (error) {
		(void)ext2_ifree(em, ino, type == VDIR);
		ext2_node_free(en);
		return error;
	}
	*ret = en;
	return 0;
}

/* --- block map ------------------------------------------------------------ */

static uint32_t
ext2_goal(struct ext2_node *en)
{
	struct ext2_mount *em = en->en_mount;

	uint32_t g = (en->en_ino - 1) / em->em_ipg;

	if (en->en_lastblk != 0)
		return en->en_lastblk + 1;
	/* A new file: after the last block allocated in its group, so
	 * that the bitmap is not rescanned from the start every time. */
	if (em->em_lastalloc >= em->em_first_data &&
	    (em->em_lastalloc - em->em_first_data) / em->em_bpg == g)
		return em->em_lastalloc + 1;
	return em->em_first_data + g * em->em_bpg;
}

/* Allocate a block for en (counted in i_blocks); zeroed if meta. */
static int
ext2_newblock(struct ext2_node *en, bool meta, uint32_t *ret)
{
	struct ext2_mount *em = en->en_mount;
	int error;

	error = ext2_balloc(em, ext2_goal(en), ret);
	if (error)
		return error;
	if (meta) {
		error = ext2_zero_block(em, *ret);
		if (error) {
			(void)ext2_bfree(em, *ret);
			return error;
		}
	}
	en->en_lastblk = *ret;
	en->en_blocks += em->em_bsize / 512;
	return 0;
}

/* Split lbn into a root slot and per-level indices.  Returns levels. */
static int
ext2_bpath(struct ext2_mount *em, uint64_t lbn, unsigned *slot,
    uint32_t idx[3])
{
	uint64_t apb = em->em_apb;

	if (lbn < EXT2_NDIR_BLOCKS) {
		*slot = (unsigned)lbn;
		return 0;
	}
	lbn -= EXT2_NDIR_BLOCKS;
	if (lbn < apb) {
		*slot = EXT2_IND_BLOCK;
		idx[0] = (uint32_t)lbn;
		return 1;
	}
	lbn -= apb;
	if (lbn < apb * apb) {
		*slot = EXT2_DIND_BLOCK;
		idx[0] = (uint32_t)(lbn / apb);
		idx[1] = (uint32_t)(lbn % apb);
		return 2;
	}
	lbn -= apb * apb;
	if (lbn < apb * apb * apb) {
		*slot = EXT2_TIND_BLOCK;
		idx[0] = (uint32_t)(lbn / (apb * apb));
		idx[1] = (uint32_t)(lbn / apb % apb);
		idx[2] = (uint32_t)(lbn % apb);
		return 3;
	}
	return -1;
}

/*
 * The physical block of logical block lbn of en, or 0 for a hole.  With
 * alloc, fill the hole (and any missing indirect blocks) and set *isnew;
 * a new data block is not zeroed: the caller writes it.
 */
int
ext2_bmap(struct ext2_node *en, uint64_t lbn, bool alloc, uint32_t *pbn,
    bool *isnew)
{
	struct ext2_mount *em = en->en_mount;
	uint32_t idx[3], cur, next, nb;
	unsigned slot;
	struct buf *bp;
	int levels, l, error;

	if (isnew != NULL)
		*isnew = false;
	if (en->en_flags & EXT4_INLINE_DATA_FL) {
		if (!em->em_warned) {
			em->em_warned = true;
			kprintf("pith: ext2: inode %u is an inline_data "
			    "directory or link, which this driver cannot "
			    "read\n", en->en_ino);
		}
		return EIO;
	}
	if (en->en_flags & EXT4_EXTENTS_FL) {
		/* Only read-only mounts have extents (ext2_iread_ext4). */
		if (alloc)
			return EROFS;
		return ext4_ext_bmap(en, lbn, pbn);
	}
	levels = ext2_bpath(em, lbn, &slot, idx);
	if (levels < 0)
		return EFBIG;
	cur = en->en_block[slot];
	if (cur == 0) {
		if (!alloc) {
			*pbn = 0;
			return 0;
		}
		error = ext2_newblock(en, levels > 0, &cur);
		if (error)
			return error;
		en->en_block[slot] = cur;
		if (levels == 0 && isnew != NULL)
			*isnew = true;
	}
	for (l = 0; l < levels; l++) {
		if (!ext2_blk_valid(em, cur))
			return ext2_corrupt(em, "block pointer", cur);
		error = bread(em->em_dev, cur, em->em_bsize, &bp);
		if (error)
			return error;
		next = ext2_le32((uint8_t *)bp->b_data + 4 * idx[l]);
		brelse(bp);
		if (next == 0) {
			if (!alloc) {
				*pbn = 0;
				return 0;
			}
			error = ext2_newblock(en, l + 1 < levels, &nb);
			if (error)
				return error;
			error = bread(em->em_dev, cur, em->em_bsize, &bp);
			if (error) {
				(void)ext2_bfree(em, nb);
				en->en_blocks -= em->em_bsize / 512;
				return error;
			}
			ext2_put32((uint8_t *)bp->b_data + 4 * idx[l], nb);
			bdwrite(bp);
			next = nb;
			if (l + 1 == levels && isnew != NULL)
				*isnew = true;
		}
		cur = next;
	}
	if (!ext2_blk_valid(em, cur))
		return ext2_corrupt(em, "data block pointer", cur);
	en->en_lastblk = cur;
	*pbn = cur;
	return 0;
}

/*
 * Map logical block lbn, allocating it if it is a hole (ext2_bmap), and
 * when it was, go on allocating the holes that follow it in the same
 * leaf (the direct pointers, or one indirect block) to the physical
 * blocks that follow it, while they are free: one bitmap pass and one
 * leaf update for a run instead of one per block.  *n: blocks mapped
 * from *pbn on, 1 <= *n <= max, contiguous on the device; *isnew: they
 * were allocated here (their contents are the caller's to write).
 */
static int
ext2_bmap_alloc_run(struct ext2_node *en, uint64_t lbn, uint32_t max,
    uint32_t *pbn, uint32_t *n, bool *isnew)
{
	struct ext2_mount *em = en->en_mount;
	uint32_t idx[3], cur, want, got = 0, k, i0;
	struct buf *bp = NULL;
	uint8_t *leaf;
	unsigned slot;
	int levels, l, error;

	*n = 1;
	error = ext2_bmap(en, lbn, true, pbn, isnew);
	if (error || !*isnew || max < 2)
		return error;
	levels = ext2_bpath(em, lbn, &slot, idx);
	KASSERT(levels >= 0);
	if (levels == 0) {
		for (want = 0; want < max - 1 && slot + 1 + want <
		    EXT2_NDIR_BLOCKS && en->en_block[slot + 1 + want] == 0; want++)
			;
		if (want > 0)
			error = ext2_balloc_next(em, *pbn + 1, want, &got);
		for (k = 0; k < got; k++)
			en->en_block[slot + 1 + k] = *pbn + 1 + k;
		goto out;
	}
	/* ext2_bmap has just made the chain down to the leaf. */
	cur = en->en_block[slot];
	for (l = 0; l + 1 < levels; l++) {
		error = bread(em->em_dev, cur, em->em_bsize, &bp);
		if (error)
			return error;
		cur = ext2_le32((uint8_t *)bp->b_data + 4 * idx[l]);
		brelse(bp);
		if (!ext2_blk_valid(em, cur))
			return ext2_corrupt(em, "block pointer", cur);
	}
	error = bread(em->em_dev, cur, em->em_bsize, &bp);
	if (error)
		return error;
	leaf = bp->b_data;
	i0 = idx[levels - 1] + 1;
	for (want = 0; want < max - 1 && i0 + want < em->em_apb &&
	    ext2_le32(leaf + 4 * (i0 + want)) == 0; want++)
		;
	if (want > 0)
		error = ext2_balloc_next(em, *pbn + 1, want, &got);
	for (k = 0; k < got; k++)
		ext2_put32(leaf + 4 * (i0 + k), *pbn + 1 + k);
	if (got > 0)
		bdwrite(bp);
	else
		brelse(bp);
out:
	en->en_blocks += (uint64_t)got * (em->em_bsize / 512);
	if (got > 0)
		en->en_lastblk = *pbn + got;
	*n = 1 + got;
	return error;
}

/* Blocks left in a subtree from the position idx[from..levels) in it. */
static uint64_t
ext2_subtree_left(struct ext2_mount *em, const uint32_t idx[3], int levels,
    int from)
{
	uint64_t span = 1, off = 0;
	int k;

	for (k = levels - 1; k >= from; k--) {
		off += idx[k] * span;
		span *= em->em_apb;
	}
	return span - off;
}

/*
 * The run of logical blocks that starts at lbn, at most max (>= 1) long:
 * either *pbn != 0 and the blocks follow each other on the device from
 * *pbn (looked for within one indirect block or extent), or *pbn == 0 and
 * they are a hole.  *unwritten: an ext4 extent that reads as zeroes.
 * Read-only; em_lock held.
 */
int
ext2_bmap_run(struct ext2_node *en, uint64_t lbn, uint64_t max,
    uint32_t *pbn, uint64_t *len, bool *unwritten)
{
	struct ext2_mount *em = en->en_mount;
	uint32_t idx[3], cur, *direct;
	const uint8_t *leaf;
	struct buf *bp = NULL;
	unsigned slot, i, n;
	int levels, l, error = 0;
	uint64_t run;

	KASSERT(max >= 1);
	*unwritten = false;
	if (en->en_flags & EXT4_EXTENTS_FL) {
		error = ext4_ext_bmap(en, lbn, pbn);
		if (error)
			return error;
		if (lbn >= EXT_NOBLK) {
			*len = max;     /* past any extent: a hole */
			return 0;
		}
		*len = MIN(en->en_xlen - (lbn - en->en_xlblk), max);
		if (*pbn == 0 && en->en_xunwritten && en->en_xpblk != 0) {
			*pbn = en->en_xpblk + (uint32_t)(lbn - en->en_xlblk);
			*unwritten = true;
		}
		return 0;
	}
	if (en->en_flags & EXT4_INLINE_DATA_FL)
		return ext2_bmap(en, lbn, false, pbn, NULL);    /* EIO */
	levels = ext2_bpath(em, lbn, &slot, idx);
	if (levels < 0)
		return EFBIG;
	cur = en->en_block[slot];
	if (levels == 0) {
		/* Direct pointers: the run goes on while they do. */
		direct = en->en_block;
		for (n = 1; slot + n < EXT2_NDIR_BLOCKS && n < max; n++)
			if (cur == 0 ? direct[slot + n] != 0 :
			    direct[slot + n] != cur + n)
				break;
		*len = n;
		goto check;
	}
	if (cur == 0) {
		*len = MIN(ext2_subtree_left(em, idx, levels, 0), max);
		goto check;
	}
	for (l = 0; l < levels; l++) {
		if (!ext2_blk_valid(em, cur))
			return ext2_corrupt(em, "block pointer", cur);
		error = bread(em->em_dev, cur, em->em_bsize, &bp);
		if (error)
			return error;
		leaf = bp->b_data;
		cur = ext2_le32(leaf + 4 * idx[l]);
		if (cur == 0 && l + 1 < levels) {
			brelse(bp);
			*len = MIN(ext2_subtree_left(em, idx, levels, l + 1),
			    max);
			goto check;
		}
		if (l + 1 < levels)
			brelse(bp);
	}
	/* bp: the last indirect block, whose entry idx[levels - 1] is cur. */
	run = 1;
	for (i = idx[levels - 1] + 1; i < em->em_apb && run < max; i++, run++)
		if (cur == 0 ? ext2_le32(leaf + 4 * i) != 0 :
		    ext2_le32(leaf + 4 * i) != cur + run)
			break;
	brelse(bp);
	*len = run;
check:
	*pbn = cur;
	if (cur != 0 && (!ext2_blk_valid(em, cur) ||
	    (uint64_t)cur + *len - 1 > 0xffffffffu ||
	    !ext2_blk_valid(em, (uint32_t)(cur + *len - 1))))
		return ext2_corrupt(em, "data block pointer", cur);
	return 0;
}

/* --- truncation ------------------------------------------------------------ */

static void
ext2_release_block(struct ext2_node *en, uint32_t blk)
{
	struct ext2_mount *em = en->en_mount;

	if (ext2_bfree(em, blk) == 0 && en->en_blocks >= em->em_bsize / 512)
		en->en_blocks -= em->em_bsize / 512;
}

static uint64_t
ext2_span(struct ext2_mount *em, int level)
{
	uint64_t s = 1;

	while (level-- > 0)
		s *= em->em_apb;
	return s;
}

/*
 * Free every block of the subtree rooted at blk (level 0: a data block)
 * that maps logical blocks >= first; base is the first logical block the
 * subtree maps.  *gone: blk itself was freed (or was bad) and its pointer
 * must be cleared.
 */
static int
ext2_free_tree(struct ext2_node *en, uint32_t blk, int level, uint64_t base,
    uint64_t first, bool *gone)
{
	struct ext2_mount *em = en->en_mount;
	uint64_t cspan = ext2_span(em, level - 1);
	uint32_t *ptr, j, child;
	bool changed = false, cgone;
	struct buf *bp;
	int error;

	*gone = false;
	if (!ext2_blk_valid(em, blk)) {
		/* Drop the bad pointer; free nothing it names. */
		*gone = true;
		return ext2_corrupt(em, "block pointer", blk);
	}
	if (level == 0) {
		if (base >= first) {
			ext2_release_block(en, blk);
			*gone = true;
		}
		return 0;
	}
	ptr = kmem_alloc(em->em_bsize);
	if (ptr == NULL)
		return ENOMEM;
	error = bread(em->em_dev, blk, em->em_bsize, &bp);
	if (error)
		goto out;
	memcpy(ptr, bp->b_data, em->em_bsize);
	brelse(bp);
	for (j = 0; j < em->em_apb; j++) {
		child = ext2_le32((uint8_t *)&ptr[j]);
		if (child == 0 || base + (j + 1) * cspan <= first)
			continue;
		(void)ext2_free_tree(en, child, level - 1, base + j * cspan,
		    first, &cgone);
		if (cgone) {
			ptr[j] = 0;
			changed = true;
		}
	}
	if (first <= base) {
		ext2_release_block(en, blk);
		*gone = true;
	} else if (changed) {
		error = bread(em->em_dev, blk, em->em_bsize, &bp);
		if (error)
			goto out;
		memcpy(bp->b_data, ptr, em->em_bsize);
		bdwrite(bp);
	}
out:
	kmem_free(ptr, em->em_bsize);
	return error;
}

static bool
ext2_is_fastlink(struct ext2_node *en)
{
	uint64_t ea = en->en_file_acl != 0 ? en->en_mount->em_bsize / 512 : 0;

	return en->en_type == VLNK && en->en_blocks <= ea;
}

/* Does en's block[] hold block pointers? */
static bool
ext2_has_blocks(struct ext2_node *en)
{
	return en->en_type == VREG || en->en_type == VDIR ||
	    (en->en_type == VLNK && !ext2_is_fastlink(en));
}

/* Zero bytes [from, end of its block) of the block holding from. */
static int
ext2_zero_tail(struct ext2_node *en, uint64_t from)
{
	struct ext2_mount *em = en->en_mount;
	uint32_t boff = (uint32_t)(from & (em->em_bsize - 1)), pbn;
	struct buf *bp;
	int error;

	if (boff == 0)
		return 0;
	error = ext2_bmap(en, from >> em->em_bshift, false, &pbn, NULL);
	if (error || pbn == 0)
		return error;
	error = bread(em->em_dev, pbn, em->em_bsize, &bp);
	if (error)
		return error;
	memset((uint8_t *)bp->b_data + boff, 0, em->em_bsize - boff);
	bdwrite(bp);
	return 0;
}

/* Set the large_file feature once a file passes 2 GiB. */
static int
ext2_large_file(struct ext2_node *en, uint64_t size)
{
	struct ext2_mount *em = en->en_mount;
	uint32_t ro = ext2_le32(em->em_sb + SB_FEATURE_RO_COMPAT);

	if (size <= 0x7fffffffu || (ro & EXT2_FEATURE_RO_COMPAT_LARGE_FILE))
		return 0;
	if (ext2_le32(em->em_sb + SB_REV_LEVEL) == 0)
		return EFBIG;
	ext2_put32(em->em_sb + SB_FEATURE_RO_COMPAT,
	    ro | EXT2_FEATURE_RO_COMPAT_LARGE_FILE);
	ext2_sb_dirty(em);
	return ext2_sb_write(em);
}

int
ext2_truncate(struct ext2_node *en, uint64_t size)
{
	struct ext2_mount *em = en->en_mount;
	uint64_t first, base;
	unsigned i;
	int level, error = 0;
	bool gone;

	if (size > em->em_maxsize)
		return EFBIG;
	if (size > en->en_size) {
		error = ext2_large_file(en, size);
		if (error)
			return error;
		error = ext2_zero_tail(en, en->en_size);
		en->en_size = size;
		return error;
	}
	if (!ext2_has_blocks(en)) {
		en->en_size = size;
		return 0;
	}
	first = (size + em->em_bsize - 1) >> em->em_bshift;
	for (i = 0; i < EXT2_NDIR_BLOCKS; i++) {
		if (i >= first && en->en_block[i] != 0) {
			if (ext2_blk_valid(em, en->en_block[i]))
				ext2_release_block(en, en->en_block[i]);
			en->en_block[i] = 0;
		}
	}
	base = EXT2_NDIR_BLOCKS;
	for (level = 1; level <= 3; level++) {
		i = EXT2_IND_BLOCK + (unsigned)level - 1;
		if (en->en_block[i] != 0 &&
		    base + ext2_span(em, level) > first) {
			(void)ext2_free_tree(en, en->en_block[i], level, base,
			    first, &gone);
			if (gone)
				en->en_block[i] = 0;
		}
		base += ext2_span(em, level);
	}
	en->en_lastblk = 0;
	en->en_size = size;
	error = ext2_zero_tail(en, size);
	return error;
}

/* Drop one reference to the extended-attribute block. */
static void
ext2_xattr_release(struct ext2_node *en)
{
	struct ext2_mount *em = en->en_mount;
	uint32_t blk = en->en_file_acl, ref;
	struct buf *bp;
	uint8_t *p;

	en->en_file_acl = 0;
	if (!ext2_blk_valid(em, blk) ||
	    bread(em->em_dev, blk, em->em_bsize, &bp) != 0)
		return;
	p = bp->b_data;
	if (ext2_le32(p) != EXT2_XATTR_MAGIC) {
		brelse(bp);
		(void)ext2_corrupt(em, "extended attribute block", blk);
		return;
	}
	ref = ext2_le32(p + 4);
	if (ref > 1) {
		ext2_put32(p + 4, ref - 1);
		bdwrite(bp);
		if (en->en_blocks >= em->em_bsize / 512)
			en->en_blocks -= em->em_bsize / 512;
		return;
	}
	brelse(bp);
	ext2_release_block(en, blk);
}

/* The last link and the last reference are gone: free the inode. */
int
ext2_idestroy(struct ext2_node *en)
{
	struct ext2_mount *em = en->en_mount;
	struct timespec now;

	if (ext2_has_blocks(en))
		(void)ext2_truncate(en, 0);
	if (en->en_file_acl != 0)
		ext2_xattr_release(en);
	time_now(&now);
	en->en_dtime = (uint32_t)now.tv_sec;
	en->en_size = 0;
	en->en_nlink = 0;
	(void)ext2_iupdate(en);
	return ext2_ifree(em, en->en_ino, en->en_type == VDIR);
}

/* --- file data ------------------------------------------------------------- */

static int
ext2_read_chunk(struct ext2_node *en, struct uio *uio, uint32_t boff,
    size_t n)
{
	struct ext2_mount *em = en->en_mount;
	uint32_t pbn;
	struct buf *bp;
	int error;

	error = ext2_bmap(en, (uint64_t)uio->uio_offset >> em->em_bshift,
	    false, &pbn, NULL);
	if (error)
		return error;
	if (pbn == 0)
		return uiomove((void *)(uintptr_t)ext2_zeroes, n, uio);
	error = bread(em->em_dev, pbn, em->em_bsize, &bp);
	if (error)
		return error;
	error = uiomove((uint8_t *)bp->b_data + boff, n, uio);
	brelse(bp);
	return error;
}

static int
ext2_write_chunk(struct ext2_node *en, struct uio *uio, uint32_t boff,
    size_t n)
{
	struct ext2_mount *em = en->en_mount;
	uint32_t pbn;
	struct buf *bp;
	bool isnew;
	int error;

	error = ext2_bmap(en, (uint64_t)uio->uio_offset >> em->em_bshift,
	    true, &pbn, &isnew);
	if (error)
		return error;
	if (isnew || (boff == 0 && n == em->em_bsize)) {
		error = bget(em->em_dev, pbn, em->em_bsize, &bp);
		if (error == 0 && isnew && n != em->em_bsize)
			memset(bp->b_data, 0, em->em_bsize);
	} else {
		error = bread(em->em_dev, pbn, em->em_bsize, &bp);
	}
	if (error)
		return error;
	error = uiomove((uint8_t *)bp->b_data + boff, n, uio);
	if (error && isnew)
		memset(bp->b_data, 0, em->em_bsize);
	bdwrite(bp);
	return error;
}

/* The mount's bounce buffer for clustered transfers; em_lock held. */
static void *
ext2_bounce(struct ext2_mount *em)
{
	KASSERT(mutex_owned(&em->em_lock));
	if (em->em_bounce == NULL)
		em->em_bounce = kmem_alloc(EXT2_CLUSTER);
	return em->em_bounce;
}

/*
 * Large sequential reads of file data go around the buffer cache: whole
 * blocks that are contiguous on disk and not cached are read from the
 * device in one transfer (up to EXT2_CLUSTER bytes) instead of one block
 * at a time, and do not push metadata out of the cache.  Blocks that are
 * cached -- possibly dirty -- always come from the cache; the mount lock
 * keeps writers out meanwhile.  Returns the bytes moved, 0 when the next
 * block is not worth clustering (the caller reads it the cached way).
 */
static int
ext2_read_cluster(struct ext2_node *en, struct uio *uio, size_t *moved)
{
	struct ext2_mount *em = en->en_mount;
	uint64_t lbn = (uint64_t)uio->uio_offset >> em->em_bshift;
	uint64_t avail = en->en_size - (uint64_t)uio->uio_offset;
	size_t want = (size_t)MIN(MIN((uint64_t)uio->uio_resid, avail),
	    (uint64_t)EXT2_CLUSTER);
	uint32_t first = 0, pbn, nblk = 0, maxblk = (uint32_t)(want >> em->em_bshift);
	void *bounce;
	int error;

	*moved = 0;
	if (maxblk < 2)
		return 0;
	for (; nblk < maxblk; nblk++) {
		error = ext2_bmap(en, lbn + nblk, false, &pbn, NULL);
		if (error)
			return error;
		if (pbn == 0 || (nblk > 0 && pbn != first + nblk) ||
		    bincore(em->em_dev, pbn, em->em_bsize))
			break;
		if (nblk == 0)
			first = pbn;
	}
	if (nblk < 2 || (bounce = ext2_bounce(em)) == NULL)
		return 0;       /* the cached way still works */
	error = em->em_dev->bd_ops->bdo_read(em->em_dev,
	    (uint64_t)first << em->em_bshift, bounce,
	    (size_t)nblk << em->em_bshift);
	if (error)
		return error;
	*moved = (size_t)nblk << em->em_bshift;
	return uiomove(bounce, *moved, uio);
}

static int
ext2_read(struct ext2_node *en, struct uio *uio)
{
	struct ext2_mount *em = en->en_mount;
	uint32_t boff;
	uint64_t off;
	size_t n, moved;
	int error = 0;

	while (uio->uio_resid > 0 && (uint64_t)uio->uio_offset < en->en_size) {
		off = (uint64_t)uio->uio_offset;
		boff = (uint32_t)(off & (em->em_bsize - 1));
		if (boff == 0) {
			error = ext2_read_cluster(en, uio, &moved);
			if (error)
				break;
			if (moved != 0)
				continue;
		}
		n = MIN((size_t)(em->em_bsize - boff), uio->uio_resid);
		n = (size_t)MIN((uint64_t)n, en->en_size - off);
		error = ext2_read_chunk(en, uio, boff, n);
		if (error)
			break;
	}
	return error;
}

/*
 * Large writes of whole blocks go around the buffer cache the same way:
 * the blocks are mapped (holes allocated a run at a time,
 * ext2_bmap_alloc_run) while they follow each other on the device and
 * are not cached, the data is moved into the
 * bounce buffer and written to the device in one transfer.  This saves
 * the cache's copy and its write-back for file data that nobody will read
 * back soon (a tree copied into an image), and leaves the cache to
 * metadata.  A cached block -- a stale buffer of a block freed and
 * allocated again included -- ends the run: the caller writes it through
 * the cache, so a cached copy is never older than the device.  Only
 * blocks the write covers entirely are allocated here, so a block
 * allocated past the run is fully written by the caller's next step.  An
 * allocation failure after the first block ends the run (the caller meets
 * the error itself on the next block); em_lock held throughout.
 */
static int
ext2_write_cluster(struct ext2_node *en, struct uio *uio, size_t *moved)
{
	struct ext2_mount *em = en->en_mount;
	uint64_t lbn = (uint64_t)uio->uio_offset >> em->em_bshift;
	size_t resid = uio->uio_resid, want = MIN(resid, (size_t)EXT2_CLUSTER);
	uint32_t first = 0, pbn, nblk = 0, maxblk = (uint32_t)(want >> em->em_bshift);
	uint32_t run, k;
	void *bounce;
	bool isnew;
	int error;

	*moved = 0;
	if (maxblk < 2 || (bounce = ext2_bounce(em)) == NULL)
		return 0;
	while (nblk < maxblk) {
		if (ext2_bmap_alloc_run(en, lbn + nblk, maxblk - nblk, &pbn,
		    &run, &isnew) != 0 || (nblk > 0 && pbn != first + nblk))
			break;
		if (nblk == 0)
			first = pbn;
		for (k = 0; k < run; k++, nblk++)
			if (bincore(em->em_dev, pbn + k, em->em_bsize))
				break;
		if (k < run)
			break;
	}
	if (nblk < 2)
		return 0;
	error = uiomove(bounce, (size_t)nblk << em->em_bshift, uio);
	if (error == 0)
		error = em->em_dev->bd_ops->bdo_write(em->em_dev,
		    (uint64_t)first << em->em_bshift, bounce,
		    (size_t)nblk << em->em_bshift);
	if (error) {
		/* Nothing of the run reached the device: it is not counted
		 * as written.  (The iovec is not rewound: the caller stops.) */
		uio->uio_offset = (off_t)(lbn << em->em_bshift);
		uio->uio_resid = resid;
		return error;
	}
	*moved = (size_t)nblk << em->em_bshift;
	return 0;
}

static int
ext2_write(struct ext2_node *en, struct uio *uio, int ioflag)
{
	struct ext2_mount *em = en->en_mount;
	size_t n, resid = uio->uio_resid, skipped = 0, moved;
	uint64_t off, end;
	uint32_t boff;
	int error = 0;

	if (ioflag & IO_APPEND)
		uio->uio_offset = (off_t)en->en_size;
	off = (uint64_t)uio->uio_offset;
	if (off >= em->em_maxsize)
		return resid == 0 ? 0 : EFBIG;
	if (resid > em->em_maxsize - off) {
		/* Write what fits; the rest is the caller's EFBIG. */
		skipped = resid - (size_t)(em->em_maxsize - off);
		uio->uio_resid -= skipped;
	}
	end = off + uio->uio_resid;
	error = ext2_large_file(en, end);
	if (error)
		goto out;
	if (off > en->en_size) {
		error = ext2_zero_tail(en, en->en_size);
		if (error)
			goto out;
	}
	while (uio->uio_resid > 0) {
		off = (uint64_t)uio->uio_offset;
		boff = (uint32_t)(off & (em->em_bsize - 1));
		moved = 0;
		if (boff == 0)
			error = ext2_write_cluster(en, uio, &moved);
		if (error == 0 && moved == 0) {
			n = MIN((size_t)(em->em_bsize - boff), uio->uio_resid);
			error = ext2_write_chunk(en, uio, boff, n);
		}
		if ((uint64_t)uio->uio_offset > en->en_size)
			en->en_size = (uint64_t)uio->uio_offset;
		if (error)
			break;
	}
	if (uio->uio_resid != resid - skipped) {
		ext2_touch(en, true, true);
		error = 0;      /* a partial write is a success */
	}
out:
	/* Even a failed write may have allocated indirect blocks. */
	(void)ext2_iupdate(en);
	uio->uio_resid += skipped;
	return error;
}

int
ext2_rdwr(struct ext2_node *en, struct uio *uio, int ioflag)
{
	if (uio->uio_offset < 0)
		return EINVAL;
	if (uio->uio_rw == UIO_READ && (en->en_flags & EXT4_INLINE_DATA_FL))
		return ext4_inline_read(en, uio);
	if (uio->uio_rw == UIO_READ)
		return ext2_read(en, uio);
	return ext2_write(en, uio, ioflag);
}
