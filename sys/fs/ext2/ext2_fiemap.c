/*
 * FS_IOC_FIEMAP: where a file's bytes lie on the device, as Linux reports
 * them, so that a reader that can reach the device itself -- pith cp
 * copying a tree out of an image file -- moves the data with the host's
 * copy_file_range instead of through the kernel's buffers and its own.
 *
 * The map is walked a run at a time (ext2_bmap_run: blocks contiguous on
 * the device within one indirect block or extent, or a hole), runs that
 * follow each other logically and physically are merged into one extent,
 * and each extent is copied out as soon as the next one is known, so that
 * the last extent of the file can carry FIEMAP_EXTENT_LAST.  Extents
 * start at the block holding fm_start and are not trimmed to the range,
 * as Linux's.  ext4 unwritten extents (which read as zeroes) are reported
 * with FIEMAP_EXTENT_UNWRITTEN, inline data as one DATA_INLINE extent at
 * the inode's i_block.  Blocks past the end of the file are not reported.
 *
 * A physical address says where the data will be, not that it is there:
 * a block still in a dirty buffer has not reached the device.
 * FIEMAP_FLAG_SYNC writes the file system back first (ext2_syncfs, as
 * Linux syncs the file); a read-only mount has nothing dirty.  The walk
 * runs under em_lock, which keeps writers out of the map meanwhile.
 */
#include "fs/ext2/ext2.h"

#define I_BLOCK 40

struct fiemap_walk {
	struct fiemap fm;               /* the caller's header, updated */
	struct fiemap_extent *uext;     /* the caller's array */
	struct fiemap_extent cur;       /* pending, not yet copied out */
	bool have;
};

/*
 * Copy out the pending extent (count it only, with no array).  Returns -1
 * when the caller's array is now full -- the walk stops there, a success
 * -- else 0 or an errno.
 */
static int
fiemap_emit(struct fiemap_walk *w, uint32_t flags)
{
	int error;

	if (!w->have)
		return 0;
	w->have = false;
	w->cur.fe_flags |= flags;
	if (w->fm.fm_extent_count == 0) {
		w->fm.fm_mapped_extents++;
		return 0;
	}
	error = copyout(&w->cur, w->uext + w->fm.fm_mapped_extents,
	    sizeof(w->cur));
	if (error)
		return error;
	w->fm.fm_mapped_extents++;
	return w->fm.fm_mapped_extents == w->fm.fm_extent_count ? -1 : 0;
}

/* Add a mapped run; extends the pending extent when it follows it. */
static int
fiemap_add(struct fiemap_walk *w, uint64_t logical, uint64_t physical,
    uint64_t len, uint32_t flags)
{
	struct fiemap_extent *c = &w->cur;
	int error;

	if (w->have && c->fe_logical + c->fe_length == logical &&
	    c->fe_physical + c->fe_length == physical &&
	    c->fe_flags == flags) {
		c->fe_length += len;
		return 0;
	}
	error = fiemap_emit(w, 0);
	if (error)
		return error;
	memset(c, 0, sizeof(*c));
	c->fe_logical = logical;
	c->fe_physical = physical;
	c->fe_length = len;
	c->fe_flags = flags;
	w->have = true;
	return 0;
}

static int
fiemap_inline(struct ext2_node *en, struct fiemap_walk *w)
{
	uint32_t blk, off;
	int error;

	if (w->fm.fm_start >= en->en_size)
		return 0;
	error = ext2_iloc(en->en_mount, en->en_ino, &blk, &off);
	if (error)
		return error;
	error = fiemap_add(w, 0, ((uint64_t)blk << en->en_mount->em_bshift) +
	    off + I_BLOCK, en->en_size,
	    FIEMAP_EXTENT_DATA_INLINE | FIEMAP_EXTENT_NOT_ALIGNED);
	if (error == 0)
		error = fiemap_emit(w, FIEMAP_EXTENT_LAST);
	return error;
}

/*
 * Walk from the block holding fm_start to the end of the file.  Past the
 * end of the range the walk only looks for one more extent, to know
 * whether the pending one is the last.
 */
static int
fiemap_walk(struct ext2_node *en, struct fiemap_walk *w)
{
	struct ext2_mount *em = en->en_mount;
	uint64_t lbn, eof, end, len;
	uint32_t pbn;
	bool unwritten;
	int error;

	eof = (en->en_size + em->em_bsize - 1) >> em->em_bshift;
	lbn = w->fm.fm_start >> em->em_bshift;
	end = w->fm.fm_length > en->en_size - MIN(w->fm.fm_start, en->en_size) ?
	    eof : (w->fm.fm_start + w->fm.fm_length + em->em_bsize - 1) >>
	    em->em_bshift;
	while (lbn < eof) {
		error = ext2_bmap_run(en, lbn, eof - lbn, &pbn, &len,
		    &unwritten);
		if (error)
			return error;
		KASSERT(len >= 1 && len <= eof - lbn);
		if (pbn != 0) {
			if (lbn >= end)
				return fiemap_emit(w, 0);       /* not last */
			error = fiemap_add(w, lbn << em->em_bshift,
			    (uint64_t)pbn << em->em_bshift,
			    len << em->em_bshift,
			    unwritten ? FIEMAP_EXTENT_UNWRITTEN : 0);
			if (error)
				return error;
		} else if (lbn >= end && !w->have) {
			return 0;
		}
		lbn += len;
	}
	return fiemap_emit(w, FIEMAP_EXTENT_LAST);
}

int
ext2_fiemap(struct ext2_node *en, void *uarg)
{
	struct ext2_mount *em = en->en_mount;
	struct fiemap_walk w;
	uint32_t bad;
	int error;

	memset(&w, 0, sizeof(w));
	error = copyin(uarg, &w.fm, sizeof(w.fm));
	if (error)
		return error;
	if ((bad = w.fm.fm_flags & ~(uint32_t)FIEMAP_FLAG_SYNC) != 0) {
		/* Linux names the flags it does not know, in fm_flags. */
		w.fm.fm_flags = bad;
		(void)copyout(&w.fm.fm_flags, &((struct fiemap *)uarg)->fm_flags,
		    sizeof(w.fm.fm_flags));
		return EBADR;
	}
	if (w.fm.fm_length == 0)
		return EINVAL;
	if (w.fm.fm_extent_count > 0xffffffffu / sizeof(struct fiemap_extent))
		return EINVAL;
	if (w.fm.fm_start >= em->em_maxsize)
		return EFBIG;
	w.uext = (struct fiemap_extent *)((struct fiemap *)uarg + 1);
	if (!copy_range_ok(w.uext,
	    (size_t)w.fm.fm_extent_count * sizeof(struct fiemap_extent)))
		return EFAULT;
	if ((w.fm.fm_flags & FIEMAP_FLAG_SYNC) &&
	    (error = ext2_syncfs(em)) != 0)
		return error;
	w.fm.fm_mapped_extents = 0;
	mutex_enter(&em->em_lock);
	if (en->en_flags & EXT4_INLINE_DATA_FL)
		error = fiemap_inline(en, &w);
	else if (w.fm.fm_start < en->en_size)
		error = fiemap_walk(en, &w);
	mutex_exit(&em->em_lock);
	if (error < 0)          /* the caller's array is full: a success */
		error = 0;
	if (error == 0)
		error = copyout(&w.fm.fm_mapped_extents,
		    &((struct fiemap *)uarg)->fm_mapped_extents,
		    sizeof(w.fm.fm_mapped_extents));
	return error;
}
