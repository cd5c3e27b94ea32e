/*
 * tmpfs regular-file data.
 *
 * A file's bytes live in 4 KiB pages hung off a radix tree of 512-way
 * interior nodes (one 4 KiB block each) indexed by page number.  The tree
 * is only as tall as the highest page needs, so a small file is one leaf
 * and a file with one page at offset 2^62 is six nodes.  Pages are
 * allocated on write (and by fallocate); absent pages are holes and read as
 * zeros.  Bytes of a page beyond the end of the file are always zero (a
 * partial page is zero-filled when it is allocated, and truncation zeroes
 * the tail), so growing a file never exposes old data.
 *
 * The leaf last used is remembered, so sequential I/O walks the tree once
 * per 2 MiB; copies go through uiomove, one per page.
 *
 * Every function here is called with the node's tn_lock held.  Data pages
 * are charged to the mount (tm_pages, the size= limit) and come from
 * kmem_alloc; running out of either is ENOSPC.  Interior nodes are not
 * charged to the size limit (they are 1/512 of the data at worst) but still
 * fail with ENOSPC when memory is gone.
 */

#include "fs/tmpfs/tmpfs.h"

#define RADIX_NONE (~(uint64_t)0)

/* A zero page for reading holes; never written. */
static char tmpfs_zeropage[TMPFS_PAGE_SIZE] __attribute__((aligned(16)));

/* Pages covered by one slot of a node at level (1: a leaf, slots = pages). */
static uint64_t
radix_span(int level)
{
	return (uint64_t)1 << (TMPFS_RADIX_SHIFT * (level - 1));
}

/* Number of page indices a tree of height h can hold. */
static uint64_t
radix_capacity(int height)
{
	if (height == 0)
		return 0;
	return radix_span(height) * TMPFS_RADIX_FANOUT;
}

/*
 * The leaf (level-1 node: an array of page pointers) holding page index
 * pidx, or NULL.  With alloc, grow the tree and allocate missing interior
 * nodes; ENOSPC if memory runs out.
 */
static int
radix_leaf(struct tmpfs_file *tf, uint64_t pidx, bool alloc, void ***leafp)
{
	uint64_t leafno = pidx >> TMPFS_RADIX_SHIFT;
	void **node, **slot;
	int level;

	if (tf->tf_leaf != NULL && tf->tf_leafno == leafno) {
		*leafp = tf->tf_leaf;
		return 0;
	}
	*leafp = NULL;
	if (pidx >= radix_capacity(tf->tf_height)) {
		if (!alloc)
			return 0;
		while (pidx >= radix_capacity(tf->tf_height)) {
			KASSERT(tf->tf_height < TMPFS_RADIX_MAXHEIGHT);
			if (tf->tf_root != NULL) {
				node = kmem_zalloc(TMPFS_PAGE_SIZE);
				if (node == NULL)
					return ENOSPC;
				node[0] = tf->tf_root;
				tf->tf_root = node;
			}
			tf->tf_height++;
		}
	}
	slot = &tf->tf_root;
	for (level = tf->tf_height; ; level--) {
		if (*slot == NULL) {
			if (!alloc)
				return 0;
			*slot = kmem_zalloc(TMPFS_PAGE_SIZE);
			if (*slot == NULL)
				return ENOSPC;
		}
		if (level == 1)
			break;
		node = *slot;
		slot = &node[(pidx >> (TMPFS_RADIX_SHIFT * (level - 1))) &
		    (TMPFS_RADIX_FANOUT - 1)];
	}
	tf->tf_leaf = *slot;
	tf->tf_leafno = leafno;
	*leafp = tf->tf_leaf;
	return 0;
}

/* The page for pidx, or NULL for a hole. */
static char *
radix_page(struct tmpfs_file *tf, uint64_t pidx)
{
	void **leaf;

	(void)radix_leaf(tf, pidx, false, &leaf);
	if (leaf == NULL)
		return NULL;
	return leaf[pidx & (TMPFS_RADIX_FANOUT - 1)];
}

/*
 * The page for pidx, allocated if absent: zero-filled unless the caller
 * is about to overwrite all of it (whole; *freshp then tells it to zero
 * the page itself should the copy fail).  Charged to the mount.
 */
static int
radix_page_alloc(struct tmpfs_node *tn, uint64_t pidx, bool whole,
    char **pagep, bool *freshp)
{
	struct tmpfs_file *tf = &tn->tn_file;
	void **leaf, **slot;
	char *page;
	int error;

	error = radix_leaf(tf, pidx, true, &leaf);
	if (error)
		return error;
	slot = &leaf[pidx & (TMPFS_RADIX_FANOUT - 1)];
	*freshp = *slot == NULL;
	if (*slot == NULL) {
		error = tmpfs_pages_reserve(tn->tn_mount, 1);
		if (error)
			return error;
		page = whole ? kmem_alloc(TMPFS_PAGE_SIZE) :
		    kmem_zalloc(TMPFS_PAGE_SIZE);
		if (page == NULL) {
			tmpfs_pages_unreserve(tn->tn_mount, 1);
			return ENOSPC;
		}
		*slot = page;
		tf->tf_npages++;
	}
	*pagep = *slot;
	return 0;
}

/*
 * Free every page with index >= from in the subtree of node (at level,
 * first index base), and the node itself if the whole subtree goes.
 * Returns the number of data pages freed.
 */
static uint64_t
radix_free(void **node, int level, uint64_t base, uint64_t from)
{
	uint64_t span = radix_span(level), freed = 0, cbase;
	unsigned i;

	for (i = 0; i < TMPFS_RADIX_FANOUT; i++) {
		if (node[i] == NULL)
			continue;
		cbase = base + i * span;
		if (cbase + span <= from)
			continue;
		if (level == 1) {
			kmem_free(node[i], TMPFS_PAGE_SIZE);
			freed++;
		} else {
			freed += radix_free(node[i], level - 1, cbase, from);
		}
		if (cbase >= from)
			node[i] = NULL;
	}
	if (base >= from)
		kmem_free(node, TMPFS_PAGE_SIZE);
	return freed;
}

/* Drop all pages at index >= from. */
static void
tmpfs_reg_freefrom(struct tmpfs_node *tn, uint64_t from)
{
	struct tmpfs_file *tf = &tn->tn_file;
	uint64_t freed;

	tf->tf_leaf = NULL;
	if (tf->tf_root == NULL || from >= radix_capacity(tf->tf_height))
		return;
	freed = radix_free(tf->tf_root, tf->tf_height, 0, from);
	if (from == 0) {
		tf->tf_root = NULL;
		tf->tf_height = 0;
	}
	KASSERT(tf->tf_npages >= freed);
	tf->tf_npages -= freed;
	tmpfs_pages_unreserve(tn->tn_mount, freed);
}

void
tmpfs_reg_free(struct tmpfs_node *tn)
{
	tmpfs_reg_freefrom(tn, 0);
	KASSERT(tn->tn_file.tf_npages == 0);
}

/*
 * First page index >= start in the subtree of node whose presence is
 * want, or RADIX_NONE.
 */
static uint64_t
radix_find(void **node, int level, uint64_t base, uint64_t start, bool want)
{
	uint64_t span = radix_span(level), cbase, r;
	unsigned i;

	if (node == NULL)
		return want ? RADIX_NONE : MAX(start, base);
	i = start > base ? (unsigned)((start - base) / span) : 0;
	for (; i < TMPFS_RADIX_FANOUT; i++) {
		cbase = base + i * span;
		if (level == 1) {
			if ((node[i] != NULL) == want)
				return MAX(cbase, start);
			continue;
		}
		r = radix_find(node[i], level - 1, cbase, MAX(start, cbase), want);
		if (r != RADIX_NONE)
			return r;
	}
	return RADIX_NONE;
}

int
tmpfs_reg_read(struct tmpfs_node *tn, struct uio *uio)
{
	struct tmpfs_file *tf = &tn->tn_file;
	uint64_t off, end;
	size_t po, chunk;
	char *page;
	int error = 0;

	KASSERT(mutex_owned(&tn->tn_lock));
	if (uio->uio_offset < 0)
		return EINVAL;
	if (uio->uio_resid == 0)
		return 0;
	off = (uint64_t)uio->uio_offset;
	if (off >= tn->tn_size)
		goto out;
	end = off + MIN((uint64_t)uio->uio_resid, tn->tn_size - off);
	while (off < end) {
		po = off & TMPFS_PAGE_MASK;
		chunk = MIN(TMPFS_PAGE_SIZE - po, end - off);
		page = radix_page(tf, off >> TMPFS_PAGE_SHIFT);
		if (page == NULL)
			page = tmpfs_zeropage;
		error = uiomove(page + po, chunk, uio);
		if (error)
			break;
		off += chunk;
	}
out:
	tmpfs_node_accessed(tn);
	return error;
}

int
tmpfs_reg_write(struct tmpfs_node *tn, struct uio *uio, int ioflag)
{
	size_t po, chunk, excess = 0, resid0;
	uint64_t off;
	char *page;
	bool fresh;
	int error = 0;

	KASSERT(mutex_owned(&tn->tn_lock));
	if (ioflag & IO_APPEND)
		uio->uio_offset = (off_t)tn->tn_size;
	if (uio->uio_offset < 0)
		return EINVAL;
	if (uio->uio_resid == 0)
		return 0;
	off = (uint64_t)uio->uio_offset;
	if (off >= TMPFS_MAXFILESIZE)
		return EFBIG;
	/* As Linux: a write that would cross the limit is cut short. */
	if (uio->uio_resid > TMPFS_MAXFILESIZE - off) {
		excess = uio->uio_resid - (TMPFS_MAXFILESIZE - off);
		uio->uio_resid -= excess;
	}
	resid0 = uio->uio_resid;
	while (uio->uio_resid > 0) {
		off = (uint64_t)uio->uio_offset;
		po = off & TMPFS_PAGE_MASK;
		chunk = MIN(TMPFS_PAGE_SIZE - po, uio->uio_resid);
		error = radix_page_alloc(tn, off >> TMPFS_PAGE_SHIFT,
		    chunk == TMPFS_PAGE_SIZE, &page, &fresh);
		if (error)
			break;
		error = uiomove(page + po, chunk, uio);
		if (error) {
			/* Never leave stale kernel memory in a file. */
			if (fresh && chunk == TMPFS_PAGE_SIZE)
				memset(page, 0, TMPFS_PAGE_SIZE);
			break;
		}
	}
	if ((uint64_t)uio->uio_offset > tn->tn_size)
		tn->tn_size = (uint64_t)uio->uio_offset;
	if (uio->uio_resid != resid0) {
		/* Some bytes went in: a short write, not an error. */
		error = 0;
		tmpfs_node_touch(tn, true, true);
	}
	uio->uio_resid += excess;
	return error;
}

int
tmpfs_reg_truncate(struct tmpfs_node *tn, uint64_t size)
{
	uint64_t old = tn->tn_size;
	size_t po;
	char *page;

	KASSERT(mutex_owned(&tn->tn_lock));
	if (size > TMPFS_MAXFILESIZE)
		return EFBIG;
	if (size < old) {
		tmpfs_reg_freefrom(tn, howmany(size, TMPFS_PAGE_SIZE));
		po = size & TMPFS_PAGE_MASK;
		if (po != 0) {
			page = radix_page(&tn->tn_file, size >> TMPFS_PAGE_SHIFT);
			if (page != NULL)
				memset(page + po, 0, TMPFS_PAGE_SIZE - po);
		}
	}
	tn->tn_size = size;
	return 0;
}

/* Zero bytes [from, to) of page pidx if it exists (a hole is zero). */
static void
tmpfs_page_zero(struct tmpfs_file *tf, uint64_t pidx, size_t from, size_t to)
{
	char *page = radix_page(tf, pidx);

	if (page != NULL && to > from)
		memset(page + from, 0, to - from);
}

/* Free the data page pidx, if there is one. */
static void
tmpfs_page_drop(struct tmpfs_node *tn, uint64_t pidx)
{
	struct tmpfs_file *tf = &tn->tn_file;
	void **leaf;

	(void)radix_leaf(tf, pidx, false, &leaf);
	if (leaf == NULL || leaf[pidx & (TMPFS_RADIX_FANOUT - 1)] == NULL)
		return;
	kmem_free(leaf[pidx & (TMPFS_RADIX_FANOUT - 1)], TMPFS_PAGE_SIZE);
	leaf[pidx & (TMPFS_RADIX_FANOUT - 1)] = NULL;
	tf->tf_npages--;
	tmpfs_pages_unreserve(tn->tn_mount, 1);
}

/*
 * Zero [from, to) without changing the size: partial pages at either end
 * are cleared in place, whole pages in between are freed (holes read as
 * zeros).  Only pages that exist are visited, so punching a huge sparse
 * range costs what the file holds, not what the range spans.
 */
static void
tmpfs_reg_zero(struct tmpfs_node *tn, uint64_t from, uint64_t to)
{
	struct tmpfs_file *tf = &tn->tn_file;
	uint64_t first = from >> TMPFS_PAGE_SHIFT, last = (to - 1) >> TMPFS_PAGE_SHIFT;
	uint64_t pidx, cap = radix_capacity(tf->tf_height);
	size_t head = from & TMPFS_PAGE_MASK, tail = ((to - 1) & TMPFS_PAGE_MASK) + 1;

	if (first == last) {
		if (head == 0 && tail == TMPFS_PAGE_SIZE)
			tmpfs_page_drop(tn, first);
		else
			tmpfs_page_zero(tf, first, head, tail);
		return;
	}
	if (head != 0) {
		tmpfs_page_zero(tf, first, head, TMPFS_PAGE_SIZE);
		first++;
	}
	if (tail != TMPFS_PAGE_SIZE) {
		tmpfs_page_zero(tf, last, 0, tail);
		last--;
	}
	pidx = first;
	while (pidx <= last && pidx < cap) {
		pidx = radix_find(tf->tf_root, tf->tf_height, 0, pidx, true);
		if (pidx == RADIX_NONE || pidx > last)
			break;
		tmpfs_page_drop(tn, pidx);
		tf->tf_leaf = NULL;
		pidx++;
	}
}

/* fallocate(PUNCH_HOLE): Linux requires KEEP_SIZE with it. */
static int
tmpfs_reg_punch(struct tmpfs_node *tn, uint64_t off, uint64_t len)
{
	uint64_t end;

	if (len > TMPFS_MAXFILESIZE - MIN(off, TMPFS_MAXFILESIZE))
		len = TMPFS_MAXFILESIZE - MIN(off, TMPFS_MAXFILESIZE);
	end = MIN(off + len, tn->tn_size);
	if (off < end)
		tmpfs_reg_zero(tn, off, end);
	tmpfs_node_touch(tn, true, true);
	return 0;
}

int
tmpfs_reg_allocate(struct tmpfs_node *tn, int mode, off_t off, off_t len)
{
	uint64_t end, pidx, last;
	char *page;
	bool fresh;
	int error;

	KASSERT(mutex_owned(&tn->tn_lock));
	if (off < 0 || len <= 0)
		return EINVAL;
	if (mode & FALLOC_FL_PUNCH_HOLE)
		return tmpfs_reg_punch(tn, (uint64_t)off, (uint64_t)len);
	if (mode & ~(FALLOC_FL_KEEP_SIZE | FALLOC_FL_ZERO_RANGE))
		return EOPNOTSUPP;
	end = (uint64_t)off + (uint64_t)len;
	if (end > TMPFS_MAXFILESIZE)
		return EFBIG;
	if (mode & FALLOC_FL_ZERO_RANGE)
		tmpfs_reg_zero(tn, (uint64_t)off, end);
	last = (end - 1) >> TMPFS_PAGE_SHIFT;
	for (pidx = (uint64_t)off >> TMPFS_PAGE_SHIFT; pidx <= last; pidx++) {
		/* On ENOSPC the pages allocated so far stay (zeros). */
		error = radix_page_alloc(tn, pidx, false, &page, &fresh);
		if (error)
			return error;
	}
	if (!(mode & FALLOC_FL_KEEP_SIZE) && end > tn->tn_size)
		tn->tn_size = end;
	tmpfs_node_touch(tn, true, true);
	return 0;
}

int
tmpfs_reg_seekhole(struct tmpfs_node *tn, off_t off, int whence, off_t *ret)
{
	struct tmpfs_file *tf = &tn->tn_file;
	uint64_t idx, pos;
	bool want = whence == SEEK_DATA;

	KASSERT(mutex_owned(&tn->tn_lock));
	if (whence != SEEK_DATA && whence != SEEK_HOLE)
		return EINVAL;
	if (off < 0 || (uint64_t)off >= tn->tn_size)
		return ENXIO;
	idx = (uint64_t)off >> TMPFS_PAGE_SHIFT;
	if (idx >= radix_capacity(tf->tf_height))
		idx = want ? RADIX_NONE : idx;
	else
		idx = radix_find(tf->tf_root, tf->tf_height, 0, idx, want);
	if (idx == RADIX_NONE) {
		if (want)
			return ENXIO;
		idx = radix_capacity(tf->tf_height);
	}
	if (idx > (TMPFS_MAXFILESIZE >> TMPFS_PAGE_SHIFT))
		pos = tn->tn_size;       /* a hole that runs past any size */
	else
		pos = MAX(idx << TMPFS_PAGE_SHIFT, (uint64_t)off);
	if (want && pos >= tn->tn_size)
		return ENXIO;
	if (!want && pos > tn->tn_size)
		pos = tn->tn_size;
	*ret = (off_t)pos;
	return 0;
}
