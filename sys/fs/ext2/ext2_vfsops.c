/*
 * ext2 mount-level operations and registration (as "ext2", and as "ext3"
 * and "ext4" for images whose features this driver can read).
 *
 * Mounting opens the block device named by the source (bdev_open, so
 * "disk.img@2" works), reads and checks the superblock and group
 * descriptors -- every value on disk is untrusted: a malformed image is
 * refused with EINVAL and a console line naming the reason -- and decides
 * whether the image may be written: incompatible features this driver
 * does not know refuse the mount; read-only-compatible ones it cannot
 * keep valid, a journal that needs recovery, or the error state refuse a
 * read-write mount with EROFS (the image still mounts read-only).
 *
 * A read-write mount marks the file system not clean (s_state without
 * EXT2_VALID_FS), counts the mount and sets s_mtime, writing that at once;
 * unmount restores the state it found, sets s_wtime and writes the free
 * counts.  A read-only mount never writes a byte: the device is opened
 * read-only.
 */
#include "fs/ext2/ext2.h"

struct ext2_featname {
	uint32_t fn_bit;
	const char *fn_name;
};

static const struct ext2_featname ext2_incompat_names[] = {
	{ EXT2_FEATURE_INCOMPAT_COMPRESSION, "compression" },
	{ EXT2_FEATURE_INCOMPAT_FILETYPE, "filetype" },
	{ EXT2_FEATURE_INCOMPAT_RECOVER, "needs_recovery" },
	{ EXT2_FEATURE_INCOMPAT_JOURNAL_DEV, "journal_dev" },
	{ EXT2_FEATURE_INCOMPAT_META_BG, "meta_bg" },
	{ EXT2_FEATURE_INCOMPAT_EXTENTS, "extent" },
	{ EXT2_FEATURE_INCOMPAT_64BIT, "64bit" },
	{ EXT2_FEATURE_INCOMPAT_MMP, "mmp" },
	{ EXT2_FEATURE_INCOMPAT_FLEX_BG, "flex_bg" },
	{ EXT2_FEATURE_INCOMPAT_EA_INODE, "ea_inode" },
	{ EXT2_FEATURE_INCOMPAT_DIRDATA, "dirdata" },
	{ EXT2_FEATURE_INCOMPAT_CSUM_SEED, "metadata_csum_seed" },
	{ EXT2_FEATURE_INCOMPAT_LARGEDIR, "large_dir" },
	{ EXT2_FEATURE_INCOMPAT_INLINE_DATA, "inline_data" },
	{ EXT2_FEATURE_INCOMPAT_ENCRYPT, "encrypt" },
	{ EXT2_FEATURE_INCOMPAT_CASEFOLD, "casefold" },
	{ 0, NULL },
};

static const struct ext2_featname ext2_rocompat_names[] = {
	{ EXT2_FEATURE_RO_COMPAT_SPARSE_SUPER, "sparse_super" },
	{ EXT2_FEATURE_RO_COMPAT_LARGE_FILE, "large_file" },
	{ EXT2_FEATURE_RO_COMPAT_BTREE_DIR, "btree_dir" },
	{ EXT2_FEATURE_RO_COMPAT_HUGE_FILE, "huge_file" },
	{ EXT2_FEATURE_RO_COMPAT_GDT_CSUM, "uninit_bg" },
	{ EXT2_FEATURE_RO_COMPAT_DIR_NLINK, "dir_nlink" },
	{ EXT2_FEATURE_RO_COMPAT_EXTRA_ISIZE, "extra_isize" },
	{ 0x0080, "snapshot" },
	{ 0x0100, "quota" },
	{ 0x0200, "bigalloc" },
	{ EXT2_FEATURE_RO_COMPAT_METADATA_CSUM, "metadata_csum" },
	{ 0x0800, "replica" },
	{ 0x1000, "read-only" },
	{ 0x2000, "project" },
	{ 0x4000, "shared_blocks" },
	{ 0x8000, "verity" },
	{ 0x10000, "orphan_present" },
	{ 0, NULL },
};

/* Print the name of the lowest bit of bits (or its value). */
static void
ext2_featmsg(const char *what, const struct ext2_featname *tab,
    uint32_t bits, const char *tail)
{
	uint32_t bit = bits & -bits;

	for (; tab->fn_name != NULL; tab++) {
		if (tab->fn_bit == bit) {
			kprintf("pith: ext2: %s feature %s%s\n", what,
			    tab->fn_name, tail);
			return;
		}
	}
	kprintf("pith: ext2: %s feature 0x%x%s\n", what, bit, tail);
}

/* A feature that this driver reads but cannot keep valid when writing. */
static void
ext2_rofeat(const struct ext2_featname *tab, uint32_t bits)
{
	uint32_t bit = bits & -bits;

	for (; tab->fn_name != NULL; tab++) {
		if (tab->fn_bit == bit) {
			kprintf("pith: ext2: feature %s is read-only here; "
			    "mount read-only\n", tab->fn_name);
			return;
		}
	}
	kprintf("pith: ext2: feature 0x%x is read-only here; mount "
	    "read-only\n", bit);
}

static int
ext2_bad(const char *why)
{
	kprintf("pith: ext2: not a valid ext2 file system: %s\n", why);
	return EINVAL;
}

static bool
ext2_ispow(uint32_t g, uint32_t base)
{
	while (g > 1 && g % base == 0)
		g /= base;
	return g == 1;
}

/* Does group g carry a superblock backup (and descriptor copies)? */
static bool
ext2_has_super(struct ext2_mount *em, uint32_t g)
{
	if (!(ext2_le32(em->em_sb + SB_FEATURE_RO_COMPAT) &
	    EXT2_FEATURE_RO_COMPAT_SPARSE_SUPER))
		return true;
	return g <= 1 || ext2_ispow(g, 3) || ext2_ispow(g, 5) ||
	    ext2_ispow(g, 7);
}

/* Largest file, as Linux's ext2_max_size: addressing and i_blocks. */
static uint64_t
ext2_max_size(struct ext2_mount *em)
{
	uint64_t apb = em->em_apb, addr, limit, meta;

	addr = EXT2_NDIR_BLOCKS + apb + apb * apb + apb * apb * apb;
	limit = ((uint64_t)1 << 32) - 1;
	limit >>= em->em_bshift - 9;
	meta = 1 + (1 + apb) + (1 + apb + apb * apb);
	limit = limit > meta ? limit - meta : 0;
	addr = MIN(addr, limit);
	return MIN(addr << em->em_bshift, (uint64_t)LONG_MAX);
}

/*
 * The ext4 parts of the geometry: descriptor size (64 bytes or more with
 * 64bit, whose upper halves of block numbers must be zero here: block
 * numbers are 32-bit in this driver) and the extent feature.
 */
static int
ext4_sb_geometry(struct ext2_mount *em)
{
	const uint8_t *sb = em->em_sb;
	uint32_t incompat = 0;

	if (ext2_le32(sb + SB_REV_LEVEL) >= 1)
		incompat = ext2_le32(sb + SB_FEATURE_INCOMPAT);
	em->em_descsz = EXT2_GD_SIZE;
	em->em_extents = (incompat & EXT2_FEATURE_INCOMPAT_EXTENTS) != 0;
	if (!(incompat & EXT2_FEATURE_INCOMPAT_64BIT))
		return 0;
	em->em_descsz = ext2_le16(sb + SB_DESC_SIZE);
	if (em->em_descsz < GD_SIZE_64BIT || em->em_descsz > em->em_bsize ||
	    (em->em_descsz & (em->em_descsz - 1)) != 0)
		return ext2_bad("bad group descriptor size");
	if (ext2_le32(sb + SB_BLOCKS_COUNT_HI) != 0) {
		kprintf("pith: ext2: file systems of 2^32 blocks or more "
		    "are not supported\n");
		return EINVAL;
	}
	return 0;
}

/* Check the superblock's geometry; fill the em_* constants. */
static int
ext2_sb_check(struct ext2_mount *em, uint64_t devsize)
{
	const uint8_t *sb = em->em_sb;
	uint32_t rev, logbs, gdblocks;
	uint64_t groups;
	int error;

	if (ext2_le16(sb + SB_MAGIC) != EXT2_MAGIC)
		return ext2_bad("bad magic number");
	rev = ext2_le32(sb + SB_REV_LEVEL);
	if (rev > 1)
		return ext2_bad("unknown revision level");
	logbs = ext2_le32(sb + SB_LOG_BLOCK_SIZE);
	if (logbs > 2)
		return ext2_bad("unsupported block size");
	em->em_bshift = 10 + logbs;
	em->em_bsize = 1u << em->em_bshift;
	em->em_apb = em->em_bsize / 4;
	em->em_nblocks = ext2_le32(sb + SB_BLOCKS_COUNT);
	em->em_ninodes = ext2_le32(sb + SB_INODES_COUNT);
	em->em_bpg = ext2_le32(sb + SB_BLOCKS_PER_GROUP);
	em->em_ipg = ext2_le32(sb + SB_INODES_PER_GROUP);
	em->em_first_data = ext2_le32(sb + SB_FIRST_DATA_BLOCK);
	if (rev == 0) {
		em->em_isize = EXT2_GOOD_OLD_INODE_SIZE;
		em->em_first_ino = EXT2_GOOD_OLD_FIRST_INO;
	} else {
		em->em_isize = ext2_le16(sb + SB_INODE_SIZE);
		em->em_first_ino = ext2_le32(sb + SB_FIRST_INO);
	}
	if (em->em_first_data != (em->em_bsize == 1024 ? 1u : 0u))
		return ext2_bad("bad first data block");
	if (em->em_nblocks <= em->em_first_data + 2 || em->em_ninodes == 0)
		return ext2_bad("bad block or inode count");
	if ((uint64_t)em->em_nblocks << em->em_bshift > devsize)
		return ext2_bad("block count exceeds the size of the device");
	if (em->em_bpg == 0 || em->em_bpg > 8 * em->em_bsize)
		return ext2_bad("bad blocks per group");
	if (em->em_ipg == 0 || em->em_ipg > 8 * em->em_bsize)
		return ext2_bad("bad inodes per group");
	if (em->em_isize < EXT2_GOOD_OLD_INODE_SIZE ||
	    em->em_isize > em->em_bsize ||
	    (em->em_isize & (em->em_isize - 1)) != 0)
		return ext2_bad("bad inode size");
	groups = (em->em_nblocks - em->em_first_data + em->em_bpg - 1) /
	    em->em_bpg;
	if (groups * em->em_ipg != em->em_ninodes)
		return ext2_bad("inode count does not match the groups");
	em->em_ngroups = (uint32_t)groups;
	if (em->em_first_ino < EXT2_GOOD_OLD_FIRST_INO ||
	    em->em_first_ino >= em->em_ninodes)
		return ext2_bad("bad first inode");
	if (ext2_le32(sb + SB_R_BLOCKS_COUNT) > em->em_nblocks)
		return ext2_bad("bad reserved block count");
	em->em_itb_per_group = (uint32_t)(((uint64_t)em->em_ipg * em->em_isize +
	    em->em_bsize - 1) >> em->em_bshift);
	error = ext4_sb_geometry(em);
	if (error)
		return error;
	gdblocks = (uint32_t)((groups * em->em_descsz + em->em_bsize - 1) >>
	    em->em_bshift);
	if ((uint64_t)em->em_first_data + 1 + gdblocks >= em->em_nblocks)
		return ext2_bad("group descriptors past the end");
	em->em_gdsize = (size_t)gdblocks << em->em_bshift;
	em->em_maxsize = ext2_max_size(em);
	if (em->em_extents) {
		/* Extents address 2^32 blocks; i_blocks is no limit with
		 * huge_file, and an extent file is never written here. */
		em->em_maxsize = MIN((uint64_t)0xffffffffu << em->em_bshift,
		    (uint64_t)LONG_MAX);
	}
	return 0;
}

/* May this driver mount the image, and write it? */
static int
ext2_feature_check(struct ext2_mount *em)
{
	const uint8_t *sb = em->em_sb;
	uint32_t rev = ext2_le32(sb + SB_REV_LEVEL);
	uint32_t incompat = rev ? ext2_le32(sb + SB_FEATURE_INCOMPAT) : 0;
	uint32_t rocompat = rev ? ext2_le32(sb + SB_FEATURE_RO_COMPAT) : 0;

	if (incompat & ~(uint32_t)EXT2_INCOMPAT_READ) {
		ext2_featmsg("unsupported", ext2_incompat_names,
		    incompat & ~(uint32_t)EXT2_INCOMPAT_READ, "");
		return EINVAL;
	}
	if (em->em_rdonly) {
		if (incompat & EXT2_FEATURE_INCOMPAT_RECOVER)
			kprintf("pith: ext2: warning: the journal needs "
			    "recovery; recent changes may be missing\n");
		return 0;
	}
	if (incompat & EXT2_FEATURE_INCOMPAT_RECOVER) {
		kprintf("pith: ext2: needs journal recovery; "
		    "mount read-only\n");
		return EROFS;
	}
	if (incompat & ~(uint32_t)EXT2_INCOMPAT_WRITE) {
		ext2_rofeat(ext2_incompat_names,
		    incompat & ~(uint32_t)EXT2_INCOMPAT_WRITE);
		return EROFS;
	}
	if (rocompat & ~(uint32_t)EXT2_RO_COMPAT_WRITE) {
		ext2_rofeat(ext2_rocompat_names,
		    rocompat & ~(uint32_t)EXT2_RO_COMPAT_WRITE);
		return EROFS;
	}
	if (ext2_le16(sb + SB_STATE) & EXT2_ERROR_FS) {
		kprintf("pith: ext2: file system has errors; run e2fsck "
		    "(or mount read-only)\n");
		return EROFS;
	}
	return 0;
}

/* A block number of a descriptor, with its upper half if 64bit. */
static uint64_t
ext2_gd_blk(struct ext2_mount *em, const uint8_t *gd, unsigned lo,
    unsigned hi)
{
	uint64_t v = ext2_le32(gd + lo);

	if (em->em_descsz >= GD_SIZE_64BIT)
		v |= (uint64_t)ext2_le32(gd + hi) << 32;
	return v;
}

/*
 * Check every descriptor.  One whose checksum fails is marked bad (its
 * inodes are then EIO, as Linux does on a read-only mount) rather than
 * refusing the mount: the rest of the image stays readable.
 */
static int
ext2_gd_check(struct ext2_mount *em)
{
	uint64_t bb, ib, it;
	const uint8_t *gd;
	uint32_t g;

	for (g = 0; g < em->em_ngroups; g++) {
		gd = ext2_gd(em, g);
		if (!ext4_gd_csum_ok(em, g)) {
			if (!em->em_rdonly) {
				kprintf("pith: ext2: checksum of group "
				    "descriptor %u does not match; run "
				    "e2fsck\n", g);
				return EINVAL;
			}
			em->em_gdbad[g] = 1;
			(void)ext2_corrupt(em, "checksum of group descriptor",
			    g);
			continue;
		}
		bb = ext2_gd_blk(em, gd, GD_BLOCK_BITMAP, GD_BLOCK_BITMAP_HI);
		ib = ext2_gd_blk(em, gd, GD_INODE_BITMAP, GD_INODE_BITMAP_HI);
		it = ext2_gd_blk(em, gd, GD_INODE_TABLE, GD_INODE_TABLE_HI);
		if (bb >= em->em_nblocks || ib >= em->em_nblocks ||
		    it >= em->em_nblocks ||
		    !ext2_blk_valid(em, (uint32_t)bb) ||
		    !ext2_blk_valid(em, (uint32_t)ib) ||
		    !ext2_blk_valid(em, (uint32_t)it) ||
		    it + em->em_itb_per_group > em->em_nblocks) {
			kprintf("pith: ext2: not a valid ext2 file system: "
			    "bad group descriptor %u\n", g);
			return EINVAL;
		}
	}
	return 0;
}

/*
 * Where descriptor block i lives: after the superblock, or with meta_bg
 * (from s_first_meta_bg on) in the first block of the first group of its
 * meta group, after that group's superblock backup if it has one.
 */
static int
ext2_gd_where(struct ext2_mount *em, uint32_t i, uint32_t *blk)
{
	uint32_t first_meta = 0, perblk = em->em_bsize / em->em_descsz;
	uint64_t g, b;

	if (ext2_le32(em->em_sb + SB_REV_LEVEL) >= 1 &&
	    (ext2_le32(em->em_sb + SB_FEATURE_INCOMPAT) &
	    EXT2_FEATURE_INCOMPAT_META_BG))
		first_meta = ext2_le32(em->em_sb + SB_FIRST_META_BG);
	else
		first_meta = 0xffffffffu;
	if (i < first_meta) {
		*blk = em->em_first_data + 1 + i;
		return 0;
	}
	g = (uint64_t)i * perblk;
	b = em->em_first_data + g * em->em_bpg +
	    (ext2_has_super(em, (uint32_t)g) ? 1 : 0);
	if (g >= em->em_ngroups || b >= em->em_nblocks)
		return ext2_bad("meta_bg descriptors past the end");
	*blk = (uint32_t)b;
	return 0;
}

static int
ext2_gd_read(struct ext2_mount *em)
{
	uint32_t i, n = (uint32_t)(em->em_gdsize >> em->em_bshift), blk;
	struct buf *bp;
	int error;

	em->em_gd = kmem_zalloc(em->em_gdsize);
	em->em_gdbad = kmem_zalloc(em->em_ngroups);
	if (em->em_gd == NULL || em->em_gdbad == NULL)
		return ENOMEM;
	for (i = 0; i < n; i++) {
		error = ext2_gd_where(em, i, &blk);
		if (error)
			return error;
		error = bread(em->em_dev, blk, em->em_bsize, &bp);
		if (error)
			return error;
		memcpy(em->em_gd + ((size_t)i << em->em_bshift), bp->b_data,
		    em->em_bsize);
		brelse(bp);
	}
	return ext2_gd_check(em);
}

/* Metadata blocks, which statfs does not count as the file system's. */
static void
ext2_count_overhead(struct ext2_mount *em)
{
	uint64_t o = em->em_first_data;
	uint32_t g, gdb = (uint32_t)(em->em_gdsize >> em->em_bshift);
	uint32_t resgdt = 0;

	if (ext2_le32(em->em_sb + SB_REV_LEVEL) >= 1)
		resgdt = ext2_le16(em->em_sb + SB_RESERVED_GDT);
	for (g = 0; g < em->em_ngroups; g++) {
		if (ext2_has_super(em, g))
			o += 1 + gdb + resgdt;
		o += 2 + em->em_itb_per_group;
	}
	em->em_overhead = MIN(o, (uint64_t)em->em_nblocks);
}

static int
ext2_root_check(struct ext2_mount *em)
{
	struct ext2_node *root;
	int error;

	error = ext2_iread(em, EXT2_ROOT_INO, &root);
	if (error)
		return error;
	if (root->en_type != VDIR || root->en_size == 0) {
		ext2_node_free(root);
		kprintf("pith: ext2: root inode is not a directory\n");
		return EINVAL;
	}
	ext2_node_free(root);
	return 0;
}

static void
ext2_mount_free(struct ext2_mount *em)
{
	if (em->em_gd != NULL)
		kmem_free(em->em_gd, em->em_gdsize);
	if (em->em_gdbad != NULL)
		kmem_free(em->em_gdbad, em->em_ngroups);
	if (em->em_bounce != NULL)
		kmem_free(em->em_bounce, EXT2_CLUSTER);
	if (em->em_dev != NULL)
		(void)bdev_close(em->em_dev);
	mutex_destroy(&em->em_lock);
	kmem_free(em, sizeof(*em));
}

/* Read-write: mark the file system in use. */
static int
ext2_mark_mounted(struct ext2_mount *em)
{
	uint8_t *sb = em->em_sb;
	struct timespec now;
	int error;

	time_now(&now);
	ext2_put16(sb + SB_STATE,
	    (uint16_t)(ext2_le16(sb + SB_STATE) & ~EXT2_VALID_FS));
	ext2_put16(sb + SB_MNT_COUNT,
	    (uint16_t)(ext2_le16(sb + SB_MNT_COUNT) + 1));
	ext2_put32(sb + SB_MTIME, (uint32_t)now.tv_sec);
	error = ext2_sb_write(em);
	if (error == 0)
		error = bflush(em->em_dev, false);
	return error;
}

static int
ext2_mount(struct mount *mp, const char *source, const void *data)
{
	struct ext2_mount *em;
	int error;

	if (data != NULL && ((const char *)data)[0] != '\0')
		return EINVAL;
	em = kmem_zalloc(sizeof(*em));
	if (em == NULL)
		return ENOMEM;
	mutex_init(&em->em_lock);
	em->em_mp = mp;
	em->em_rdonly = (mp->mnt_flags & MS_RDONLY) != 0;
	error = bdev_open(source, em->em_rdonly, &em->em_dev);
	if (error) {
		em->em_dev = NULL;
		goto fail;
	}
	if (em->em_dev->bd_size < EXT2_SB_OFF + EXT2_SB_SIZE) {
		error = ext2_bad("device too small");
		goto fail;
	}
	error = em->em_dev->bd_ops->bdo_read(em->em_dev, EXT2_SB_OFF,
	    em->em_sb, EXT2_SB_SIZE);
	if (error)
		goto fail;
	error = ext2_sb_check(em, em->em_dev->bd_size);
	if (error == 0)
		error = ext2_feature_check(em);
	if (error == 0)
		error = ext4_sb_csum_check(em);
	if (error == 0)
		error = ext2_gd_read(em);
	if (error == 0)
		error = ext2_root_check(em);
	if (error)
		goto fail;
	em->em_filetype = ext2_le32(em->em_sb + SB_REV_LEVEL) >= 1 &&
	    (ext2_le32(em->em_sb + SB_FEATURE_INCOMPAT) &
	    EXT2_FEATURE_INCOMPAT_FILETYPE);
	em->em_mntstate = ext2_le16(em->em_sb + SB_STATE);
	ext2_count_overhead(em);
	if (!em->em_rdonly) {
		if (!(em->em_mntstate & EXT2_VALID_FS))
			kprintf("pith: ext2: file system was not cleanly "
			    "unmounted; running e2fsck is recommended\n");
		error = ext2_mark_mounted(em);
		if (error)
			goto fail;
	}
	mp->mnt_data = em;
	error = vcache_get(mp, EXT2_ROOT_INO, &mp->mnt_root);
	if (error) {
		mp->mnt_data = NULL;
		goto fail;
	}
	return 0;
fail:
	ext2_mount_free(em);
	return error;
}

int
ext2_syncfs(struct ext2_mount *em)
{
	struct timespec now;
	int error = 0;

	mutex_enter(&em->em_lock);
	if (!em->em_rdonly) {
		time_now(&now);
		ext2_put32(em->em_sb + SB_WTIME, (uint32_t)now.tv_sec);
		error = ext2_sb_write(em);
	}
	mutex_exit(&em->em_lock);
	if (em->em_rdonly)
		return 0;
	if (error == 0)
		error = bflush(em->em_dev, false);
	return error;
}

static int
ext2_unmount(struct mount *mp)
{
	struct ext2_mount *em = VFS_TO_EM(mp);
	int error = 0;

	if (!em->em_rdonly) {
		ext2_put16(em->em_sb + SB_STATE, em->em_mntstate);
		error = ext2_syncfs(em);
	}
	ext2_mount_free(em);
	mp->mnt_data = NULL;
	return error;
}

static int
ext2_statfs(struct mount *mp, struct statfs *sf)
{
	struct ext2_mount *em = VFS_TO_EM(mp);
	uint64_t freeb, resv;

	mutex_enter(&em->em_lock);
	memset(sf, 0, sizeof(*sf));
	sf->f_type = EXT2_MAGIC;
	sf->f_bsize = em->em_bsize;
	sf->f_frsize = em->em_bsize;
	sf->f_blocks = em->em_nblocks - em->em_overhead;
	freeb = ext2_le32(em->em_sb + SB_FREE_BLOCKS);
	resv = ext2_le32(em->em_sb + SB_R_BLOCKS_COUNT);
	sf->f_bfree = freeb;
	sf->f_bavail = freeb > resv ? freeb - resv : 0;
	sf->f_files = em->em_ninodes;
	sf->f_ffree = ext2_le32(em->em_sb + SB_FREE_INODES);
	sf->f_fsid.val[0] = (int)(uint32_t)mp->mnt_dev;
	sf->f_fsid.val[1] = (int)(uint32_t)(mp->mnt_dev >> 32);
	sf->f_namelen = EXT2_NAME_LEN;
	mutex_exit(&em->em_lock);
	return 0;
}

static int
ext2_sync(struct mount *mp)
{
	return ext2_syncfs(VFS_TO_EM(mp));
}

static int
ext2_loadvnode(struct mount *mp, struct vnode *vp, uint64_t key)
{
	struct ext2_mount *em = VFS_TO_EM(mp);
	struct ext2_node *en;
	int error;

	mutex_enter(&em->em_lock);
	if (key == 0 || key > em->em_ninodes)
		error = ext2_corrupt(em, "inode number", key);
	else
		error = ext2_iread(em, (uint32_t)key, &en);
	mutex_exit(&em->em_lock);
	if (error)
		return error;
	vp->v_op = &ext2_vnodeops;
	vp->v_type = en->en_type;
	vp->v_data = en;
	vp->v_rdev = en->en_rdev;
	return 0;
}

#define EXT2_VFSOPS(var, name) \
	static const struct vfsops var = { \
		.vfs_name = name, \
		.vfs_mount = ext2_mount, \
		.vfs_unmount = ext2_unmount, \
		.vfs_statfs = ext2_statfs, \
		.vfs_sync = ext2_sync, \
		.vfs_loadvnode = ext2_loadvnode, \
	}

EXT2_VFSOPS(ext2_vfsops, "ext2");
EXT2_VFSOPS(ext3_vfsops, "ext3");
EXT2_VFSOPS(ext4_vfsops, "ext4");

static int
ext2_modinit(void)
{
	int error;

	ext4_crc_init();
	error = vfs_register(&ext2_vfsops);
	if (error == 0 && (error = vfs_register(&ext3_vfsops)) != 0)
		vfs_unregister(&ext2_vfsops);
	if (error == 0 && (error = vfs_register(&ext4_vfsops)) != 0) {
		vfs_unregister(&ext3_vfsops);
		vfs_unregister(&ext2_vfsops);
	}
	return error;
}

static void
ext2_modfini(void)
{
	vfs_unregister(&ext4_vfsops);
	vfs_unregister(&ext3_vfsops);
	vfs_unregister(&ext2_vfsops);
}

COMPONENT(ext2, COMP_FS, ext2_modinit, ext2_modfini);
