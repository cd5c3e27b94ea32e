/*
 * ext2 directories: linear lists of variable-length entries (inode,
 * rec_len, name_len, file_type, name) packed into whole blocks.
 *
 * A small directory is scanned block by block.  A large one (at least
 * EXT2_DIX_MINBLOCKS blocks) gets an in-memory index on first use
 * (ext2_dirindex.c: name hash -> entry offset, and the largest free slot
 * of each block), kept exact by every insert and removal here and dropped
 * on any error, so a lookup or an insertion reads one or two blocks
 * whatever the size of the directory.  An insertion takes the first
 * entry whose slack -- rec_len beyond its own record -- fits the new one,
 * or an unused entry, else appends a block; with the index, the first
 * block whose free hint fits.
 * Removal merges the entry into its predecessor's rec_len, or clears the
 * inode number of the first entry of a block, as Linux does; entries
 * never move, so the byte offset of an entry is a stable readdir cookie.
 * A cookie that points into a merged entry resumes at the next entry
 * boundary of its block.
 *
 * Directories with a hashed index (dir_index) are read linearly, and
 * looked up through the same in-memory index: the htree blocks look like
 * empty entries spanning the block.  Any change to such a directory
 * clears its EXT2_INDEX_FL, which makes it a plain linear directory that
 * e2fsck accepts.
 *
 * Every entry is validated before use; a bad one makes the operation
 * fail with EIO (and one console message), never loop.  Runs under
 * em_lock holding one buffer at a time.
 */
#include "fs/ext2/ext2.h"

#define EXT2_NOPREV (~(uint32_t)0)
/* Directories of this many blocks or more are indexed in memory. */
#define EXT2_DIX_MINBLOCKS 4
/* Offsets in the index are 32-bit. */
#define EXT2_DIX_MAXSIZE 0x7fffffffu

struct ext2_dirent {
	uint32_t d_ino;
	uint16_t d_reclen;
	uint8_t d_namelen;
	uint8_t d_type;
	const char *d_name;
};

static uint8_t
ext2_vtype_ft(enum vtype t)
{
	switch (t) {
	case VREG: return EXT2_FT_REG_FILE;
	case VDIR: return EXT2_FT_DIR;
	case VCHR: return EXT2_FT_CHRDEV;
	case VBLK: return EXT2_FT_BLKDEV;
	case VFIFO: return EXT2_FT_FIFO;
	case VSOCK: return EXT2_FT_SOCK;
	case VLNK: return EXT2_FT_SYMLINK;
	default: return EXT2_FT_UNKNOWN;
	}
}

static int
ext2_ft_dtype(uint8_t ft)
{
	static const int map[] = {
		DT_UNKNOWN, DT_REG, DT_DIR, DT_CHR, DT_BLK, DT_FIFO, DT_SOCK,
		DT_LNK,
	};

	return ft < sizeof(map) / sizeof(map[0]) ? map[ft] : DT_UNKNOWN;
}

/* Decode and check the entry at off of a directory block. */
static int
ext2_dirent_get(struct ext2_node *dn, const uint8_t *blk, uint32_t off,
    struct ext2_dirent *de)
{
	struct ext2_mount *em = dn->en_mount;
	const uint8_t *p = blk + off;

	if (off + EXT2_DIRENT_HDR > em->em_bsize)
		return ext2_corrupt(em, "directory entry in inode", dn->en_ino);
	de->d_ino = ext2_le32(p);
	de->d_reclen = ext2_le16(p + 4);
	de->d_namelen = p[6];
	de->d_type = em->em_filetype ? p[7] : EXT2_FT_UNKNOWN;
	de->d_name = (const char *)p + EXT2_DIRENT_HDR;
	if (de->d_reclen < EXT2_DIRENT_LEN(1) || (de->d_reclen & 3) != 0 ||
	    off + de->d_reclen > em->em_bsize ||
	    EXT2_DIRENT_LEN(de->d_namelen) > de->d_reclen ||
	    de->d_ino > em->em_ninodes)
		return ext2_corrupt(em, "directory entry in inode", dn->en_ino);
	return 0;
}

static void
ext2_dirent_put(struct ext2_node *dn, uint8_t *p, uint32_t ino,
    uint16_t reclen, const char *name, size_t len, enum vtype type)
{
	ext2_put32(p, ino);
	ext2_put16(p + 4, reclen);
	p[6] = (uint8_t)len;
	p[7] = dn->en_mount->em_filetype ? ext2_vtype_ft(type) : 0;
	memcpy(p + EXT2_DIRENT_HDR, name, len);
}

static uint64_t
ext2_dir_nblocks(struct ext2_node *dn)
{
	struct ext2_mount *em = dn->en_mount;

	return (dn->en_size + em->em_bsize - 1) >> em->em_bshift;
}

/* Block lbn of directory dn, busy.  A hole in a directory is corrupt. */
static int
ext2_dir_bread(struct ext2_node *dn, uint64_t lbn, struct buf **bpp)
{
	struct ext2_mount *em = dn->en_mount;
	uint32_t pbn;
	int error;

	error = ext2_bmap(dn, lbn, false, &pbn, NULL);
	if (error)
		return error;
	if (pbn == 0)
		return ext2_corrupt(em, "hole in directory inode", dn->en_ino);
	error = bread(em->em_dev, pbn, em->em_bsize, bpp);
	/* metadata_csum (ext4_csum.c): the block's tail must match. */
	if (error == 0 && em->em_csum &&
	    (error = ext4_dirblk_csum_check(dn, (*bpp)->b_data, lbn)) != 0)
		brelse(*bpp);
	return error;
}

/* A directory changed: it is no longer indexed, and its times move. */
static int
ext2_dir_changed(struct ext2_node *dn)
{
	dn->en_flags &= ~(uint32_t)EXT2_INDEX_FL;
	ext2_touch(dn, true, true);
	return ext2_iupdate(dn);
}

/* The largest slot of a block a new entry could use (see ext2_dir_fit). */
static int
ext2_dir_blkfree(struct ext2_node *dn, const uint8_t *blk, uint32_t *availp)
{
	struct ext2_mount *em = dn->en_mount;
	struct ext2_dirent de;
	uint32_t off, avail = 0, a;
	int error;

	for (off = 0; off < em->em_bsize; off += de.d_reclen) {
		error = ext2_dirent_get(dn, blk, off, &de);
		if (error)
			return error;
		a = de.d_ino == 0 ? de.d_reclen :
		    de.d_reclen - EXT2_DIRENT_LEN(de.d_namelen);
		if (a > avail)
			avail = a;
	}
	*availp = avail;
	return 0;
}

/* Called with em_lock held, or when the node is being freed. */
void
ext2_dir_index_free(struct ext2_node *dn)
{
	ext2_dix_destroy(dn->en_dix);
	dn->en_dix = NULL;
}

/* Put the live entries and the free hint of block lbn into dx. */
static int
ext2_dir_index_block(struct ext2_node *dn, struct ext2_dix *dx, uint64_t lbn)
{
	struct ext2_mount *em = dn->en_mount;
	uint32_t base = (uint32_t)(lbn << em->em_bshift), off, avail;
	struct ext2_dirent de;
	struct buf *bp;
	int error;

	error = ext2_dir_bread(dn, lbn, &bp);
	if (error)
		return error;
	for (off = 0; off < em->em_bsize; off += de.d_reclen) {
		error = ext2_dirent_get(dn, bp->b_data, off, &de);
		if (error)
			goto out;
		if (de.d_ino == 0 || de.d_namelen == 0)
			continue;
		error = ext2_dix_insert(dx, ext2_dix_hash(de.d_name,
		    de.d_namelen), base + off);
		if (error)
			goto out;
	}
	error = ext2_dir_blkfree(dn, bp->b_data, &avail);
	if (error == 0)
		error = ext2_dix_setfree(dx, (uint32_t)lbn, avail);
out:
	brelse(bp);
	return error;
}

/*
 * The index of directory dn, built now if the directory is large enough
 * and has none (or has one that no longer matches its size).  NULL if it
 * is small, or if the index cannot be had (no memory, a bad block): the
 * caller then scans linearly, which reports any error itself.
 */
static struct ext2_dix *
ext2_dir_index(struct ext2_node *dn)
{
	uint64_t lbn, n = ext2_dir_nblocks(dn);
	struct ext2_dix *dx;

	if (dn->en_dix != NULL) {
		if (ext2_dix_nblocks(dn->en_dix) == n)
			return dn->en_dix;
		ext2_dir_index_free(dn);
	}
	if (n < EXT2_DIX_MINBLOCKS || dn->en_size > EXT2_DIX_MAXSIZE)
		return NULL;
	dx = ext2_dix_create();
	if (dx == NULL)
		return NULL;
	for (lbn = 0; lbn < n; lbn++) {
		if (ext2_dir_index_block(dn, dx, lbn) != 0) {
			ext2_dix_destroy(dx);
			return NULL;
		}
	}
	dn->en_dix = dx;
	return dx;
}

/* Lookup through the index: only blocks holding a hash match are read. */
static int
ext2_dir_find_indexed(struct ext2_node *dn, struct ext2_dix *dx,
    const char *name, size_t len, uint32_t *ino, uint64_t *offp)
{
	struct ext2_mount *em = dn->en_mount;
	uint32_t h = ext2_dix_hash(name, len), cursor = 0, off;
	struct ext2_dirent de;
	struct buf *bp;
	bool match;
	int error;

	while (ext2_dix_probe(dx, h, &cursor, &off)) {
		error = ext2_dir_bread(dn, off >> em->em_bshift, &bp);
		if (error)
			return error;
		error = ext2_dirent_get(dn, bp->b_data,
		    off & (em->em_bsize - 1), &de);
		match = error == 0 && de.d_ino != 0 && de.d_namelen == len &&
		    memcmp(de.d_name, name, len) == 0;
		if (match) {
			*ino = de.d_ino;
			if (offp != NULL)
				*offp = off;
		}
		brelse(bp);
		if (error)
			return error;
		if (match)
			return 0;
	}
	return ENOENT;
}

int
ext2_dir_find(struct ext2_node *dn, const char *name, size_t len,
    uint32_t *ino, uint64_t *offp)
{
	struct ext2_mount *em = dn->en_mount;
	struct ext2_dirent de;
	uint64_t lbn, n = ext2_dir_nblocks(dn);
	uint32_t off;
	struct ext2_dix *dx;
	struct buf *bp;
	int error;

	dx = ext2_dir_index(dn);
	if (dx != NULL) {
		error = ext2_dir_find_indexed(dn, dx, name, len, ino, offp);
		if (error != 0 && error != ENOENT)
			ext2_dir_index_free(dn);
		return error;
	}
	for (lbn = 0; lbn < n; lbn++) {
		error = ext2_dir_bread(dn, lbn, &bp);
		if (error)
			return error;
		for (off = 0; off < em->em_bsize; off += de.d_reclen) {
			error = ext2_dirent_get(dn, bp->b_data, off, &de);
			if (error) {
				brelse(bp);
				return error;
			}
			if (de.d_ino != 0 && de.d_namelen == len &&
			    memcmp(de.d_name, name, len) == 0) {
				*ino = de.d_ino;
				if (offp != NULL)
					*offp = (lbn << em->em_bshift) + off;
				brelse(bp);
				return 0;
			}
		}
		brelse(bp);
	}
	return ENOENT;
}

/* Try to place the entry in block bp; true if it went in. */
static bool
ext2_dir_fit(struct ext2_node *dn, uint8_t *blk, const char *name,
    size_t len, uint32_t ino, enum vtype type, uint32_t *offp, int *errorp)
{
	struct ext2_mount *em = dn->en_mount;
	uint16_t need = (uint16_t)EXT2_DIRENT_LEN(len), used;
	struct ext2_dirent de;
	uint32_t off;

	for (off = 0; off < em->em_bsize; off += de.d_reclen) {
		*errorp = ext2_dirent_get(dn, blk, off, &de);
		if (*errorp)
			return false;
		if (de.d_ino == 0 && de.d_reclen >= need) {
			ext2_dirent_put(dn, blk + off, ino, de.d_reclen, name,
			    len, type);
			*offp = off;
			return true;
		}
		used = (uint16_t)EXT2_DIRENT_LEN(de.d_namelen);
		if (de.d_ino != 0 && de.d_reclen - used >= need) {
			ext2_put16(blk + off + 4, used);
			ext2_dirent_put(dn, blk + off + used, ino,
			    (uint16_t)(de.d_reclen - used), name, len, type);
			*offp = off + used;
			return true;
		}
	}
	return false;
}

/*
 * Insertion through the index: try the blocks whose free hint fits, in
 * order.  *done when the entry went in (the result is then final);
 * otherwise no block had room and the caller appends one.
 */
static int
ext2_dir_add_indexed(struct ext2_node *dn, struct ext2_dix *dx,
    const char *name, size_t len, uint32_t ino, enum vtype type, bool *done)
{
	struct ext2_mount *em = dn->en_mount;
	uint32_t need = EXT2_DIRENT_LEN(len), b = 0, boff, avail;
	struct buf *bp;
	bool fit;
	int error;

	*done = false;
	while (ext2_dix_findfree(dx, need, &b)) {
		error = ext2_dir_bread(dn, b, &bp);
		if (error)
			return error;
		fit = ext2_dir_fit(dn, bp->b_data, name, len, ino, type, &boff,
		    &error);
		if (!fit) {
			/* A stale hint: correct it and go on. */
			if (error == 0)
				error = ext2_dir_blkfree(dn, bp->b_data, &avail);
			brelse(bp);
			if (error)
				return error;
			(void)ext2_dix_setfree(dx, b, avail);
			b++;
			continue;
		}
		if (ext2_dir_blkfree(dn, bp->b_data, &avail) != 0 ||
		    ext2_dix_insert(dx, ext2_dix_hash(name, len),
		    (b << em->em_bshift) + boff) != 0)
			ext2_dir_index_free(dn);
		else
			(void)ext2_dix_setfree(dx, b, avail);
		bdwrite(bp);
		*done = true;
		return ext2_dir_changed(dn);
	}
	return 0;
}

int
ext2_dir_add(struct ext2_node *dn, const char *name, size_t len,
    uint32_t ino, enum vtype type)
{
	struct ext2_mount *em = dn->en_mount;
	uint64_t lbn, n = ext2_dir_nblocks(dn);
	uint32_t pbn, boff;
	struct ext2_dix *dx;
	struct buf *bp;
	bool isnew, done;
	int error;

	dx = ext2_dir_index(dn);
	if (dx != NULL) {
		error = ext2_dir_add_indexed(dn, dx, name, len, ino, type,
		    &done);
		if (done)
			return error;
		if (error) {
			ext2_dir_index_free(dn);
			return error;
		}
	}
	for (lbn = 0; dx == NULL && lbn < n; lbn++) {
		error = ext2_dir_bread(dn, lbn, &bp);
		if (error)
			return error;
		if (ext2_dir_fit(dn, bp->b_data, name, len, ino, type, &boff,
		    &error)) {
			bdwrite(bp);
			return ext2_dir_changed(dn);
		}
		brelse(bp);
		if (error)
			return error;
	}
	if ((n + 1) << em->em_bshift > em->em_maxsize)
		return EFBIG;
	error = ext2_bmap(dn, n, true, &pbn, &isnew);
	if (error) {
		(void)ext2_iupdate(dn);         /* indirect blocks it got */
		return error;
	}
	error = bget(em->em_dev, pbn, em->em_bsize, &bp);
	if (error) {
		(void)ext2_iupdate(dn);
		return error;
	}
	memset(bp->b_data, 0, em->em_bsize);
	ext2_dirent_put(dn, bp->b_data, ino, (uint16_t)em->em_bsize, name, len,
	    type);
	bdwrite(bp);
	dn->en_size = (n + 1) << em->em_bshift;
	if (dn->en_dix != NULL && (ext2_dix_setfree(dn->en_dix, (uint32_t)n,
	    em->em_bsize - EXT2_DIRENT_LEN(len)) != 0 ||
	    ext2_dix_insert(dn->en_dix, ext2_dix_hash(name, len),
	    (uint32_t)(n << em->em_bshift)) != 0))
		ext2_dir_index_free(dn);
	return ext2_dir_changed(dn);
}

/* Find the entry starting at boff of a block, and its predecessor. */
static int
ext2_dir_locate(struct ext2_node *dn, const uint8_t *blk, uint32_t boff,
    uint32_t *prev)
{
	struct ext2_mount *em = dn->en_mount;
	struct ext2_dirent de;
	uint32_t off;
	int error;

	*prev = EXT2_NOPREV;
	for (off = 0; off < em->em_bsize; off += de.d_reclen) {
		error = ext2_dirent_get(dn, blk, off, &de);
		if (error)
			return error;
		if (off == boff)
			return 0;
		*prev = off;
	}
	return ext2_corrupt(em, "directory changed under us, inode",
	    dn->en_ino);
}

int
ext2_dir_remove(struct ext2_node *dn, uint64_t off)
{
	struct ext2_mount *em = dn->en_mount;
	uint32_t boff = (uint32_t)(off & (em->em_bsize - 1)), prev, avail;
	struct ext2_dix *dx;
	uint8_t *blk;
	struct buf *bp;
	int error;

	dx = ext2_dir_index(dn);
	error = ext2_dir_bread(dn, off >> em->em_bshift, &bp);
	if (error)
		return error;
	blk = bp->b_data;
	error = ext2_dir_locate(dn, blk, boff, &prev);
	if (error) {
		brelse(bp);
		return error;
	}
	if (dx != NULL)
		ext2_dix_delete(dx, ext2_dix_hash((const char *)blk + boff +
		    EXT2_DIRENT_HDR, blk[boff + 6]), (uint32_t)off);
	if (prev != EXT2_NOPREV)
		ext2_put16(blk + prev + 4, (uint16_t)(ext2_le16(blk + prev + 4) +
		    ext2_le16(blk + boff + 4)));
	else
		ext2_put32(blk + boff, 0);
	if (dx != NULL) {
		if (ext2_dir_blkfree(dn, blk, &avail) != 0)
			ext2_dir_index_free(dn);
		else
			(void)ext2_dix_setfree(dx, (uint32_t)(off >>
			    em->em_bshift), avail);
	}
	bdwrite(bp);
	return ext2_dir_changed(dn);
}

int
ext2_dir_set(struct ext2_node *dn, uint64_t off, uint32_t ino,
    enum vtype type)
{
	struct ext2_mount *em = dn->en_mount;
	uint32_t boff = (uint32_t)(off & (em->em_bsize - 1)), prev;
	uint8_t *blk;
	struct buf *bp;
	int error;

	error = ext2_dir_bread(dn, off >> em->em_bshift, &bp);
	if (error)
		return error;
	blk = bp->b_data;
	error = ext2_dir_locate(dn, blk, boff, &prev);
	if (error) {
		brelse(bp);
		return error;
	}
	ext2_put32(blk + boff, ino);
	blk[boff + 7] = em->em_filetype ? ext2_vtype_ft(type) : 0;
	bdwrite(bp);
	return ext2_dir_changed(dn);
}

static bool
ext2_isdot(const struct ext2_dirent *de)
{
	return (de->d_namelen == 1 && de->d_name[0] == '.') ||
	    (de->d_namelen == 2 && de->d_name[0] == '.' && de->d_name[1] == '.');
}

int
ext2_dir_isempty(struct ext2_node *dn, bool *empty)
{
	struct ext2_mount *em = dn->en_mount;
	struct ext2_dirent de;
	uint64_t lbn, n = ext2_dir_nblocks(dn);
	uint32_t off;
	struct buf *bp;
	int error;

	*empty = true;
	for (lbn = 0; lbn < n && *empty; lbn++) {
		error = ext2_dir_bread(dn, lbn, &bp);
		if (error)
			return error;
		for (off = 0; off < em->em_bsize; off += de.d_reclen) {
			error = ext2_dirent_get(dn, bp->b_data, off, &de);
			if (error) {
				brelse(bp);
				return error;
			}
			if (de.d_ino != 0 && !ext2_isdot(&de)) {
				*empty = false;
				break;
			}
		}
		brelse(bp);
	}
	return 0;
}

int
ext2_dir_init(struct ext2_node *dn, uint32_t parent)
{
	struct ext2_mount *em = dn->en_mount;
	uint32_t pbn;
	struct buf *bp;
	bool isnew;
	int error;

	error = ext2_bmap(dn, 0, true, &pbn, &isnew);
	if (error)
		return error;
	error = bget(em->em_dev, pbn, em->em_bsize, &bp);
	if (error)
		return error;
	memset(bp->b_data, 0, em->em_bsize);
	ext2_dirent_put(dn, bp->b_data, dn->en_ino, 12, ".", 1, VDIR);
	ext2_dirent_put(dn, (uint8_t *)bp->b_data + 12, parent,
	    (uint16_t)(em->em_bsize - 12), "..", 2, VDIR);
	bdwrite(bp);
	dn->en_size = em->em_bsize;
	return ext2_iupdate(dn);
}

/* Emit the entries of block lbn from byte boff on.  *full: uio is. */
static int
ext2_readdir_block(struct ext2_node *dn, uint64_t lbn, uint32_t boff,
    struct uio *uio, int *n, bool *full)
{
	struct ext2_mount *em = dn->en_mount;
	uint64_t base = lbn << em->em_bshift;
	struct ext2_dirent de;
	struct buf *bp;
	uint32_t off;
	int error;

	error = ext2_dir_bread(dn, lbn, &bp);
	if (error)
		return error;
	for (off = 0; off < em->em_bsize; off += de.d_reclen) {
		error = ext2_dirent_get(dn, bp->b_data, off, &de);
		if (error)
			break;
		if (off < boff)
			continue;
		if (de.d_ino != 0 && de.d_namelen != 0) {
			error = vfs_dirent_add(uio, de.d_ino,
			    (int64_t)(base + off + de.d_reclen),
			    ext2_ft_dtype(de.d_type), de.d_name, de.d_namelen);
			if (error == ENOSPC) {
				*full = true;
				error = 0;
				break;
			}
			if (error)
				break;
			(*n)++;
		}
		uio->uio_offset = (off_t)(base + off + de.d_reclen);
	}
	brelse(bp);
	return error;
}

int
ext2_dir_readdir(struct ext2_node *dn, struct uio *uio)
{
	struct ext2_mount *em = dn->en_mount;
	uint64_t cookie, lbn, n = ext2_dir_nblocks(dn);
	bool full = false;
	int error = 0, count = 0;

	if (uio->uio_offset < 0)
		return EINVAL;
	cookie = (uint64_t)uio->uio_offset;
	for (lbn = cookie >> em->em_bshift; lbn < n && !full; lbn++) {
		error = ext2_readdir_block(dn, lbn,
		    lbn == cookie >> em->em_bshift ?
		    (uint32_t)(cookie & (em->em_bsize - 1)) : 0,
		    uio, &count, &full);
		if (error)
			break;
		if (!full)
			uio->uio_offset = (off_t)((lbn + 1) << em->em_bshift);
	}
	if (full && count == 0)
		return EINVAL;
	if (error && count > 0)
		error = 0;      /* report what we have; the error comes next */
	return error;
}
