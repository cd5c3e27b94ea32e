/*
 * ext4 inline data, read-only: small files whose bytes live in the inode
 * itself (EXT4_INLINE_DATA_FL).  The first 60 bytes are in i_block; the
 * rest, if any, is the value of the extended attribute "system.data"
 * (name index 7, name "data") in the inode's extra space, after
 * i_extra_isize: a 4-byte magic 0xea020000, then entries (name length,
 * name index, value offset from the first entry, value inode, value
 * size, hash, name padded to 4 bytes) up to four zero bytes.
 *
 * Only regular files are read this way; inline directories (whose format
 * differs) are EIO through ext2_bmap.  Every offset and size is checked
 * against the inode before use.  Runs under em_lock; touches no buffer:
 * the inode's raw copy (en_raw) is all it reads.
 */
#include "fs/ext2/ext2.h"

#define I_BLOCK 40
#define I_EXTRA_ISIZE 128
#define INLINE_IBLOCK 60
#define XATTR_INDEX_SYSTEM 7
#define XATTR_ENTRY 16

/* Find the value of system.data: offset in en_raw and size. */
static int
ext4_inline_xattr(struct ext2_node *en, uint32_t *voff, uint32_t *vsize)
{
	struct ext2_mount *em = en->en_mount;
	const uint8_t *r = en->en_raw;
	uint32_t start, first, off, end = em->em_isize, nlen;

	if (em->em_isize <= EXT2_GOOD_OLD_INODE_SIZE)
		return ENOENT;
	start = EXT2_GOOD_OLD_INODE_SIZE + ext2_le16(r + I_EXTRA_ISIZE);
	if (start + 4 > end || ext2_le32(r + start) != EXT2_XATTR_MAGIC)
		return ENOENT;
	first = start + 4;
	for (off = first; off + 4 <= end && ext2_le32(r + off) != 0;) {
		if (off + XATTR_ENTRY > end)
			break;
		nlen = r[off];
		if (off + XATTR_ENTRY + nlen > end)
			break;
		if (r[off + 1] == XATTR_INDEX_SYSTEM && nlen == 4 &&
		    memcmp(r + off + XATTR_ENTRY, "data", 4) == 0) {
			if (ext2_le32(r + off + 4) != 0)
				break;  /* a value in another inode: no */
			*voff = first + ext2_le16(r + off + 2);
			*vsize = ext2_le32(r + off + 8);
			if (*vsize > end || *voff > end - *vsize)
				break;
			return 0;
		}
		off += (XATTR_ENTRY + nlen + 3) & ~3u;
	}
	return EIO;
}

int
ext4_inline_read(struct ext2_node *en, struct uio *uio)
{
	struct ext2_mount *em = en->en_mount;
	uint32_t voff = 0, vsize = 0;
	uint64_t off, n;
	int error;

	if (en->en_size > INLINE_IBLOCK) {
		error = ext4_inline_xattr(en, &voff, &vsize);
		if (error != 0 || en->en_size - INLINE_IBLOCK > vsize)
			return ext2_corrupt(em, "inline data of inode",
			    en->en_ino);
	}
	while (uio->uio_resid > 0 && (uint64_t)uio->uio_offset < en->en_size) {
		off = (uint64_t)uio->uio_offset;
		n = MIN((uint64_t)uio->uio_resid, en->en_size - off);
		if (off < INLINE_IBLOCK) {
			n = MIN(n, INLINE_IBLOCK - off);
			error = uiomove(en->en_raw + I_BLOCK + off, (size_t)n,
			    uio);
		} else {
			error = uiomove(en->en_raw + voff +
			    (off - INLINE_IBLOCK), (size_t)n, uio);
		}
		if (error)
			return error;
	}
	return 0;
}
