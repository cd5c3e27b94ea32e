/*
 * ext4 metadata checksums, verified on read (this driver never writes a
 * file system that has them: such a mount is read-only).
 *
 * metadata_csum protects the superblock, the group descriptors, inodes,
 * extent tree blocks and directory blocks with crc32c (Castagnoli,
 * reflected polynomial 0x82F63B78) in its "raw" form: no inversion before
 * or after, the caller's seed goes in as is.  The superblock is summed
 * from ~0; everything else from a seed that is the crc32c of the
 * file-system uuid (or s_checksum_seed with the csum_seed feature), and
 * an inode's own things from that seed extended by the inode number and
 * generation.  The older uninit_bg feature protects only the group
 * descriptors, with crc16 (poly 0x8005 reflected, 0xA001).
 *
 * crc32c is sliced by 8: eight 256-entry tables, built once at module
 * initialisation (ext4_crc_init, from ext2_modinit before any mount can
 * run), then only read, so no lock is needed.  A mismatch is EIO through
 * ext2_corrupt, which reports once per mount; the superblock's is the
 * caller's refusal to mount.
 */
#include "fs/ext2/ext2.h"

#define CRC32C_POLY 0x82f63b78u
#define CRC16_POLY 0xa001u

static uint32_t crc32c_tab[8][256];
static uint16_t crc16_tab[256];

/* Offsets inside an inode, from ext4's struct ext4_inode. */
#define I_GENERATION 100
#define I_CHECKSUM_LO 124
#define I_EXTRA_ISIZE 128
#define I_CHECKSUM_HI 130

/* The directory leaf tail: a fake entry at the end of the block. */
#define DIRTAIL_SIZE 12
#define DIRTAIL_FT 0xde

void
ext4_crc_init(void)
{
	uint32_t c, i, k;

	for (i = 0; i < 256; i++) {
		c = i;
		for (k = 0; k < 8; k++)
			c = (c >> 1) ^ ((c & 1) ? CRC32C_POLY : 0);
		crc32c_tab[0][i] = c;
		c = i;
		for (k = 0; k < 8; k++)
			c = (c >> 1) ^ ((c & 1) ? CRC16_POLY : 0);
		crc16_tab[i] = (uint16_t)c;
	}
	for (k = 1; k < 8; k++)
		for (i = 0; i < 256; i++) {
			c = crc32c_tab[k - 1][i];
			crc32c_tab[k][i] = (c >> 8) ^ crc32c_tab[0][c & 0xff];
		}
}

uint32_t
ext4_crc32c(uint32_t crc, const void *buf, size_t len)
{
	const uint8_t *p = buf;
	uint32_t a, b;

	KASSERT(crc32c_tab[0][1] != 0);
	while (len >= 8) {
		a = crc ^ ext2_le32(p);
		b = ext2_le32(p + 4);
		crc = crc32c_tab[7][a & 0xff] ^ crc32c_tab[6][(a >> 8) & 0xff] ^
		    crc32c_tab[5][(a >> 16) & 0xff] ^ crc32c_tab[4][a >> 24] ^
		    crc32c_tab[3][b & 0xff] ^ crc32c_tab[2][(b >> 8) & 0xff] ^
		    crc32c_tab[1][(b >> 16) & 0xff] ^ crc32c_tab[0][b >> 24];
		p += 8;
		len -= 8;
	}
	while (len-- > 0)
		crc = crc32c_tab[0][(crc ^ *p++) & 0xff] ^ (crc >> 8);
	return crc;
}

uint16_t
ext4_crc16(uint16_t crc, const void *buf, size_t len)
{
	const uint8_t *p = buf;

	while (len-- > 0)
		crc = (uint16_t)((crc >> 8) ^ crc16_tab[(crc ^ *p++) & 0xff]);
	return crc;
}

static uint32_t
ext4_crc32c_le32(uint32_t crc, uint32_t v)
{
	uint8_t b[4];

	ext2_put32(b, v);
	return ext4_crc32c(crc, b, sizeof(b));
}

/*
 * Check the superblock's own checksum and compute the seed of every other
 * one.  EINVAL with a console message: the caller refuses the mount.
 */
int
ext4_sb_csum_check(struct ext2_mount *em)
{
	const uint8_t *sb = em->em_sb;
	uint32_t incompat, rocompat;

	if (ext2_le32(sb + SB_REV_LEVEL) < 1)
		return 0;
	incompat = ext2_le32(sb + SB_FEATURE_INCOMPAT);
	rocompat = ext2_le32(sb + SB_FEATURE_RO_COMPAT);
	em->em_csum = (rocompat & EXT2_FEATURE_RO_COMPAT_METADATA_CSUM) != 0;
	em->em_gdtcsum = !em->em_csum &&
	    (rocompat & EXT2_FEATURE_RO_COMPAT_GDT_CSUM) != 0;
	if (!em->em_csum)
		return 0;
	if (sb[SB_CHECKSUM_TYPE] != 1) {
		kprintf("pith: ext2: unknown metadata checksum type %u\n",
		    sb[SB_CHECKSUM_TYPE]);
		return EINVAL;
	}
	if (ext4_crc32c(~0u, sb, SB_CHECKSUM) != ext2_le32(sb + SB_CHECKSUM)) {
		kprintf("pith: ext2: superblock checksum does not match; "
		    "run e2fsck\n");
		return EINVAL;
	}
	if (incompat & EXT2_FEATURE_INCOMPAT_CSUM_SEED)
		em->em_csum_seed = ext2_le32(sb + SB_CHECKSUM_SEED);
	else
		em->em_csum_seed = ext4_crc32c(~0u, sb + SB_UUID, 16);
	return 0;
}

/* Is group g's descriptor intact?  True when there is no checksum. */
bool
ext4_gd_csum_ok(struct ext2_mount *em, uint32_t g)
{
	const uint8_t *gd = ext2_gd(em, g);
	uint32_t sz = em->em_descsz;
	uint32_t crc;
	uint16_t c16;
	uint8_t gle[4], zero[2] = { 0, 0 };

	ext2_put32(gle, g);
	if (em->em_csum) {
		crc = ext4_crc32c(em->em_csum_seed, gle, 4);
		crc = ext4_crc32c(crc, gd, GD_CHECKSUM);
		crc = ext4_crc32c(crc, zero, 2);
		crc = ext4_crc32c(crc, gd + GD_CHECKSUM + 2,
		    sz - GD_CHECKSUM - 2);
		return (uint16_t)crc == ext2_le16(gd + GD_CHECKSUM);
	}
	if (!em->em_gdtcsum)
		return true;
	c16 = ext4_crc16(0xffff, em->em_sb + SB_UUID, 16);
	c16 = ext4_crc16(c16, gle, 4);
	c16 = ext4_crc16(c16, gd, GD_CHECKSUM);
	if (sz > GD_CHECKSUM + 2)
		c16 = ext4_crc16(c16, gd + GD_CHECKSUM + 2,
		    sz - GD_CHECKSUM - 2);
	return c16 == ext2_le16(gd + GD_CHECKSUM);
}

/* Does the inode's extra space hold i_checksum_hi? */
static bool
ext4_inode_has_hi(struct ext2_mount *em, const uint8_t *raw)
{
	return em->em_isize > EXT2_GOOD_OLD_INODE_SIZE &&
	    ext2_le16(raw + I_EXTRA_ISIZE) >= I_CHECKSUM_HI + 2 -
	    EXT2_GOOD_OLD_INODE_SIZE &&
	    ext2_le16(raw + I_EXTRA_ISIZE) <= em->em_isize -
	    EXT2_GOOD_OLD_INODE_SIZE;
}

/*
 * Verify en_raw and set en_csum_seed, the seed of the inode's extent and
 * directory blocks.  The sum covers the whole on-disk inode with its
 * checksum fields taken as zero.
 */
int
ext4_inode_csum_check(struct ext2_node *en)
{
	struct ext2_mount *em = en->en_mount;
	const uint8_t *r = en->en_raw;
	uint8_t zero[2] = { 0, 0 };
	uint32_t crc, want;
	bool hi;

	if (!em->em_csum)
		return 0;
	crc = ext4_crc32c_le32(em->em_csum_seed, en->en_ino);
	crc = ext4_crc32c_le32(crc, ext2_le32(r + I_GENERATION));
	en->en_csum_seed = crc;
	hi = ext4_inode_has_hi(em, r);
	crc = ext4_crc32c(crc, r, I_CHECKSUM_LO);
	crc = ext4_crc32c(crc, zero, 2);
	crc = ext4_crc32c(crc, r + I_CHECKSUM_LO + 2,
	    EXT2_GOOD_OLD_INODE_SIZE - I_CHECKSUM_LO - 2);
	want = ext2_le16(r + I_CHECKSUM_LO);
	if (em->em_isize > EXT2_GOOD_OLD_INODE_SIZE) {
		crc = ext4_crc32c(crc, r + EXT2_GOOD_OLD_INODE_SIZE,
		    I_CHECKSUM_HI - EXT2_GOOD_OLD_INODE_SIZE);
		if (hi) {
			crc = ext4_crc32c(crc, zero, 2);
			want |= (uint32_t)ext2_le16(r + I_CHECKSUM_HI) << 16;
			crc = ext4_crc32c(crc, r + I_CHECKSUM_HI + 2,
			    em->em_isize - I_CHECKSUM_HI - 2);
		} else {
			crc = ext4_crc32c(crc, r + I_CHECKSUM_HI,
			    em->em_isize - I_CHECKSUM_HI);
		}
	}
	if (!hi)
		crc &= 0xffff;
	if (crc != want)
		return ext2_corrupt(em, "checksum of inode", en->en_ino);
	return 0;
}

/* An extent tree block: crc32c of the bytes before its 4-byte tail. */
int
ext4_extblk_csum_check(struct ext2_node *en, const uint8_t *blk,
    uint32_t tailoff, uint32_t pbn)
{
	struct ext2_mount *em = en->en_mount;

	if (!em->em_csum)
		return 0;
	if (tailoff + 4 > em->em_bsize ||
	    ext4_crc32c(en->en_csum_seed, blk, tailoff) !=
	    ext2_le32(blk + tailoff))
		return ext2_corrupt(em, "checksum of extent block", pbn);
	return 0;
}

/*
 * An htree block (the root, block 0, or an interior node): the sum covers
 * the header and the used entries, then the tail with its checksum word
 * taken as zero; the
 * tail sits after the last possible entry (limit).  coff: byte offset of
 * the limit/count pair.  False (and *ok untouched) if the block does not
 * look like one: it is then accepted unchecked, as a block without tail.
 */
static bool
ext4_dx_csum(struct ext2_node *dn, const uint8_t *blk, uint32_t coff,
    bool *ok)
{
	struct ext2_mount *em = dn->en_mount;
	uint32_t limit = ext2_le16(blk + coff), count = ext2_le16(blk + coff + 2);
	uint32_t tail = coff + 8 * limit, crc;
	const uint8_t zero[4] = { 0, 0, 0, 0 };

	if (count > limit || tail + 8 > em->em_bsize)
		return false;
	crc = ext4_crc32c(dn->en_csum_seed, blk, coff + 8 * count);
	crc = ext4_crc32c(crc, blk + tail, 4);
	crc = ext4_crc32c(crc, zero, 4);        /* the checksum itself */
	*ok = crc == ext2_le32(blk + tail + 4);
	return true;
}

/*
 * A directory block.  A leaf ends in a fake entry (inode 0, rec_len 12,
 * name_len 0, type 0xde) holding the crc32c of everything before it.
 * Index blocks of an htree carry a dx tail instead.  A block with neither
 * is accepted, as Linux does (it only warns): e2fsck -D adds the tails.
 */
int
ext4_dirblk_csum_check(struct ext2_node *dn, const uint8_t *blk,
    uint64_t lbn)
{
	struct ext2_mount *em = dn->en_mount;
	const uint8_t *t = blk + em->em_bsize - DIRTAIL_SIZE;
	bool ok = true;

	if (!em->em_csum)
		return 0;
	if (ext2_le32(t) == 0 && ext2_le16(t + 4) == DIRTAIL_SIZE &&
	    t[6] == 0 && t[7] == DIRTAIL_FT) {
		ok = ext4_crc32c(dn->en_csum_seed, blk,
		    em->em_bsize - DIRTAIL_SIZE) == ext2_le32(t + 8);
	} else if ((dn->en_flags & EXT2_INDEX_FL) && lbn == 0 &&
	    ext2_le16(blk + 4) == 12 && blk[24 + 5] == 8) {
		/* The root: ".", "..", an 8-byte dx_root_info. */
		(void)ext4_dx_csum(dn, blk, 32, &ok);
	} else if ((dn->en_flags & EXT2_INDEX_FL) && ext2_le32(blk) == 0 &&
	    ext2_le16(blk + 4) == em->em_bsize && blk[6] == 0) {
		(void)ext4_dx_csum(dn, blk, 8, &ok);
	}
	if (!ok)
		return ext2_corrupt(em, "checksum of a block of directory",
		    dn->en_ino);
	return 0;
}
