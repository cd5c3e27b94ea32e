/*
 * ext2: the second extended file system, read-write.  Private to
 * sys/fs/ext2/.
 *
 * On-disk structures are little-endian byte arrays read and written
 * through the accessors below, never overlaid with C structs, so that the
 * code does not depend on the host's layout or alignment.  The superblock
 * and the group descriptor table are kept in memory (em_sb, em_gd: raw
 * copies) and written back into their buffers when they change; inodes
 * are decoded into struct ext2_node when their vnode is loaded and
 * encoded back (ext2_iupdate) after every change.  Everything else --
 * bitmaps, indirect blocks, directory and file blocks -- lives in the
 * buffer cache, one fs block per buffer.
 *
 * Locking: one mutex per mount, em_lock, held by every vnode and vfs
 * operation for its whole duration.  It covers the in-memory superblock,
 * the group descriptors, every node's fields and the blocks of the file
 * system.  vcache_get (which calls ext2_loadvnode, which takes em_lock)
 * and vrele (which may call ext2_reclaim) are only called with em_lock
 * released.  At most one buffer is held busy at a time, so a corrupted
 * image whose blocks point at each other cannot deadlock on the buffer
 * cache.  The single lock is simple and correct; finer locking is for
 * later (it serialises I/O to one image).
 */
#ifndef PITH_FS_EXT2_H
#define PITH_FS_EXT2_H

#include "kern/kern.h"
#include "vfs/vnode.h"
#include "dev/bdev.h"

#define EXT2_MAGIC 0xef53
#define EXT2_SB_OFF 1024
#define EXT2_SB_SIZE 1024
#define EXT2_ROOT_INO 2
#define EXT2_GOOD_OLD_FIRST_INO 11
#define EXT2_GOOD_OLD_INODE_SIZE 128
#define EXT2_NDIR_BLOCKS 12
#define EXT2_IND_BLOCK 12
#define EXT2_DIND_BLOCK 13
#define EXT2_TIND_BLOCK 14
#define EXT2_N_BLOCKS 15
#define EXT2_LINK_MAX 32000
#define EXT2_NAME_LEN 255
#define EXT2_FAST_SYMLINK_MAX 59        /* strlen; i_block holds 60 bytes */
#define EXT2_GD_SIZE 32

/* s_state */
#define EXT2_VALID_FS 0x1
#define EXT2_ERROR_FS 0x2

/* Feature bits. */
#define EXT2_FEATURE_COMPAT_HAS_JOURNAL 0x0004
#define EXT2_FEATURE_COMPAT_EXT_ATTR 0x0008
#define EXT2_FEATURE_COMPAT_RESIZE_INODE 0x0010
#define EXT2_FEATURE_COMPAT_DIR_INDEX 0x0020

#define EXT2_FEATURE_INCOMPAT_COMPRESSION 0x0001
#define EXT2_FEATURE_INCOMPAT_FILETYPE 0x0002
#define EXT2_FEATURE_INCOMPAT_RECOVER 0x0004
#define EXT2_FEATURE_INCOMPAT_JOURNAL_DEV 0x0008
#define EXT2_FEATURE_INCOMPAT_META_BG 0x0010
#define EXT2_FEATURE_INCOMPAT_EXTENTS 0x0040
#define EXT2_FEATURE_INCOMPAT_64BIT 0x0080
#define EXT2_FEATURE_INCOMPAT_MMP 0x0100
#define EXT2_FEATURE_INCOMPAT_FLEX_BG 0x0200
#define EXT2_FEATURE_INCOMPAT_EA_INODE 0x0400
#define EXT2_FEATURE_INCOMPAT_DIRDATA 0x1000
#define EXT2_FEATURE_INCOMPAT_CSUM_SEED 0x2000
#define EXT2_FEATURE_INCOMPAT_LARGEDIR 0x4000
#define EXT2_FEATURE_INCOMPAT_INLINE_DATA 0x8000
#define EXT2_FEATURE_INCOMPAT_ENCRYPT 0x10000
#define EXT2_FEATURE_INCOMPAT_CASEFOLD 0x20000

#define EXT2_FEATURE_RO_COMPAT_SPARSE_SUPER 0x0001
#define EXT2_FEATURE_RO_COMPAT_LARGE_FILE 0x0002
#define EXT2_FEATURE_RO_COMPAT_BTREE_DIR 0x0004
#define EXT2_FEATURE_RO_COMPAT_HUGE_FILE 0x0008
#define EXT2_FEATURE_RO_COMPAT_GDT_CSUM 0x0010
#define EXT2_FEATURE_RO_COMPAT_DIR_NLINK 0x0020
#define EXT2_FEATURE_RO_COMPAT_EXTRA_ISIZE 0x0040
#define EXT2_FEATURE_RO_COMPAT_METADATA_CSUM 0x0400

/* What this driver can read, and what it can also write. */
#define EXT2_INCOMPAT_READ (EXT2_FEATURE_INCOMPAT_FILETYPE | \
	EXT2_FEATURE_INCOMPAT_RECOVER | EXT2_FEATURE_INCOMPAT_FLEX_BG | \
	EXT2_FEATURE_INCOMPAT_EXTENTS | EXT2_FEATURE_INCOMPAT_64BIT | \
	EXT2_FEATURE_INCOMPAT_CSUM_SEED | EXT2_FEATURE_INCOMPAT_INLINE_DATA | \
	EXT2_FEATURE_INCOMPAT_META_BG)
#define EXT2_INCOMPAT_WRITE (EXT2_FEATURE_INCOMPAT_FILETYPE | \
	EXT2_FEATURE_INCOMPAT_FLEX_BG)
#define EXT2_RO_COMPAT_WRITE (EXT2_FEATURE_RO_COMPAT_SPARSE_SUPER | \
	EXT2_FEATURE_RO_COMPAT_LARGE_FILE | EXT2_FEATURE_RO_COMPAT_BTREE_DIR)

/* i_flags */
#define EXT2_INDEX_FL 0x00001000
#define EXT4_HUGE_FILE_FL 0x00040000
#define EXT4_EXTENTS_FL 0x00080000
#define EXT4_INLINE_DATA_FL 0x10000000

/* Directory entry file types (filetype feature). */
#define EXT2_FT_UNKNOWN 0
#define EXT2_FT_REG_FILE 1
#define EXT2_FT_DIR 2
#define EXT2_FT_CHRDEV 3
#define EXT2_FT_BLKDEV 4
#define EXT2_FT_FIFO 5
#define EXT2_FT_SOCK 6
#define EXT2_FT_SYMLINK 7

#define EXT2_DIRENT_HDR 8
#define EXT2_DIRENT_LEN(namelen) (((namelen) + EXT2_DIRENT_HDR + 3) & ~3u)

#define EXT2_XATTR_MAGIC 0xea020000u

/* --- little-endian access ------------------------------------------------ */

static inline uint16_t
ext2_le16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static inline uint32_t
ext2_le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	    (uint32_t)p[3] << 24;
}

static inline void
ext2_put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static inline void
ext2_put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

/* Superblock field offsets (in em_sb). */
#define SB_INODES_COUNT 0
#define SB_BLOCKS_COUNT 4
#define SB_R_BLOCKS_COUNT 8
#define SB_FREE_BLOCKS 12
#define SB_FREE_INODES 16
#define SB_FIRST_DATA_BLOCK 20
#define SB_LOG_BLOCK_SIZE 24
#define SB_LOG_FRAG_SIZE 28
#define SB_BLOCKS_PER_GROUP 32
#define SB_FRAGS_PER_GROUP 36
#define SB_INODES_PER_GROUP 40
#define SB_MTIME 44
#define SB_WTIME 48
#define SB_MNT_COUNT 52
#define SB_MAGIC 56
#define SB_STATE 58
#define SB_REV_LEVEL 76
#define SB_DEF_RESUID 80
#define SB_DEF_RESGID 82
#define SB_FIRST_INO 84
#define SB_INODE_SIZE 88
#define SB_FEATURE_COMPAT 92
#define SB_FEATURE_INCOMPAT 96
#define SB_FEATURE_RO_COMPAT 100
#define SB_RESERVED_GDT 206
#define SB_DESC_SIZE 254
#define SB_BLOCKS_COUNT_HI 336
#define SB_UUID 104
#define SB_FIRST_META_BG 260
#define SB_CHECKSUM_TYPE 373
#define SB_CHECKSUM_SEED 624
#define SB_CHECKSUM 1020

/* Group descriptor field offsets. */
#define GD_BLOCK_BITMAP 0
#define GD_INODE_BITMAP 4
#define GD_INODE_TABLE 8
#define GD_FREE_BLOCKS 12
#define GD_FREE_INODES 14
#define GD_USED_DIRS 16
#define GD_FLAGS 18
#define GD_ITABLE_UNUSED 28
#define GD_CHECKSUM 30
#define GD_BLOCK_BITMAP_HI 32           /* 64bit descriptors only */
#define GD_INODE_BITMAP_HI 36
#define GD_INODE_TABLE_HI 40
#define GD_ITABLE_UNUSED_HI 50
#define GD_SIZE_64BIT 64

/* bg_flags */
#define EXT4_BG_INODE_UNINIT 0x1
#define EXT4_BG_BLOCK_UNINIT 0x2
#define EXT4_BG_INODE_ZEROED 0x4

/* Extent trees (ext4_extent.c). */
#define EXT4_EXT_MAGIC 0xf30a
#define EXT4_EXT_MAX_DEPTH 5
#define EXT4_EXT_INIT_MAX_LEN 32768u
#define EXT_NOBLK ((uint64_t)1 << 32)   /* past the last logical block */

/* --- in-memory structures ------------------------------------------------ */

struct ext2_mount {
	kmutex_t em_lock;
	struct mount *em_mp;            /* [I] */
	struct bdev *em_dev;            /* [I] */
	bool em_rdonly;                 /* [I] */
	uint8_t em_sb[EXT2_SB_SIZE];    /* [e] raw superblock */
	uint8_t *em_gd;                 /* [e] raw descriptors, em_ngroups * 32 */
	size_t em_gdsize;               /* [I] bytes of em_gd */
	uint32_t em_bsize;              /* [I] block size */
	uint32_t em_bshift;             /* [I] log2(em_bsize) */
	uint32_t em_ngroups;            /* [I] */
	uint32_t em_bpg;                /* [I] blocks per group */
	uint32_t em_ipg;                /* [I] inodes per group */
	uint32_t em_isize;              /* [I] on-disk inode size */
	uint32_t em_first_ino;          /* [I] first non-reserved inode */
	uint32_t em_first_data;         /* [I] s_first_data_block */
	uint32_t em_nblocks;            /* [I] s_blocks_count */
	uint32_t em_ninodes;            /* [I] s_inodes_count */
	uint32_t em_itb_per_group;      /* [I] inode-table blocks per group */
	uint32_t em_apb;                /* [I] addresses per block */
	uint64_t em_maxsize;            /* [I] largest file size */
	uint64_t em_overhead;           /* [I] metadata blocks (statfs) */
	bool em_filetype;               /* [I] dirents carry a file type */
	uint16_t em_mntstate;           /* [e] s_state to leave at unmount */
	bool em_sbdirty;                /* [e] em_sb changed since written */
	bool em_warned;                 /* [e] corruption reported once */
	uint32_t em_dirgoal;            /* [e] next group for a directory */
	uint32_t em_lastalloc;          /* [e] last block allocated */
	uint32_t em_descsz;             /* [I] group descriptor size */
	bool em_csum;                   /* [I] metadata_csum */
	bool em_gdtcsum;                /* [I] uninit_bg (crc16) */
	bool em_extents;                /* [I] extent feature */
	uint32_t em_csum_seed;          /* [I] crc32c of the uuid, or given */
	uint8_t *em_gdbad;              /* [I] per group: checksum failed */
	void *em_bounce;                /* [e] EXT2_CLUSTER bytes, or NULL */
};

/* File data moved around the buffer cache at most this much at a time. */
#define EXT2_CLUSTER (256 * 1024)

/* One inode in memory: the vnode's v_data.  All fields [e]. */
struct ext2_node {
	struct ext2_mount *en_mount;    /* [I] */
	uint32_t en_ino;                /* [I] */
	enum vtype en_type;             /* [I] */
	uint16_t en_mode;               /* on-disk i_mode incl. type */
	uint32_t en_uid, en_gid;
	uint64_t en_size;
	uint16_t en_nlink;
	uint64_t en_blocks;             /* 512-byte units */
	uint32_t en_flags;
	uint32_t en_dtime;
	uint32_t en_generation;
	uint32_t en_file_acl;
	uint32_t en_block[EXT2_N_BLOCKS];
	struct timespec en_atime, en_mtime, en_ctime, en_crtime;
	uint16_t en_extra;              /* i_extra_isize */
	dev_t en_rdev;
	uint32_t en_lastblk;            /* allocation goal: last data block */
	uint8_t *en_raw;                /* em_isize bytes as read */
	struct ext2_dix *en_dix;        /* directory name index, or NULL */
	uint32_t en_csum_seed;          /* [I] metadata_csum: inode seed */
	/* The last extent or hole found (ext4_extent.c); read-only mounts. */
	bool en_xvalid;
	bool en_xunwritten;             /* reads as zeroes */
	uint32_t en_xlblk, en_xpblk;
	uint64_t en_xlen;
};

static inline struct ext2_node *
VP_TO_EN(struct vnode *vp)
{
	KASSERT(vp->v_data != NULL);
	return vp->v_data;
}

static inline struct ext2_mount *
VFS_TO_EM(struct mount *mp)
{
	return mp->mnt_data;
}

extern const struct vnodeops ext2_vnodeops;

/* ext2_vfsops.c: write the superblock and flush the device. */
int ext2_syncfs(struct ext2_mount *em);

/* ext2_subr.c: superblock, descriptors, bitmaps, allocation. */
int ext2_corrupt(struct ext2_mount *em, const char *what, uint64_t n);
bool ext2_blk_valid(struct ext2_mount *em, uint32_t blk);
void ext2_sb_dirty(struct ext2_mount *em);
int ext2_sb_write(struct ext2_mount *em);
void ext2_gd_write(struct ext2_mount *em, uint32_t g);
static inline uint8_t *
ext2_gd(struct ext2_mount *em, uint32_t g)
{
	return em->em_gd + (size_t)g * em->em_descsz;
}
int ext2_balloc(struct ext2_mount *em, uint32_t goal, uint32_t *ret);
int ext2_balloc_next(struct ext2_mount *em, uint32_t blk, uint32_t want,
    uint32_t *got);
int ext2_bfree(struct ext2_mount *em, uint32_t blk);
int ext2_ialloc(struct ext2_mount *em, uint32_t dirino, bool isdir,
    uint32_t *ret);
int ext2_ifree(struct ext2_mount *em, uint32_t ino, bool isdir);
int ext2_zero_block(struct ext2_mount *em, uint32_t blk);

/* ext2_inode.c: inodes and their block maps. */
int ext2_iread(struct ext2_mount *em, uint32_t ino, struct ext2_node **ret);
int ext2_iupdate(struct ext2_node *en);
void ext2_node_free(struct ext2_node *en);
int ext2_inew(struct ext2_mount *em, struct ext2_node *dir, enum vtype type,
    mode_t mode, uid_t uid, gid_t gid, dev_t rdev, struct ext2_node **ret);
int ext2_bmap(struct ext2_node *en, uint64_t lbn, bool alloc, uint32_t *pbn,
    bool *isnew);
int ext2_bmap_run(struct ext2_node *en, uint64_t lbn, uint64_t max,
    uint32_t *pbn, uint64_t *len, bool *unwritten);
int ext2_iloc(struct ext2_mount *em, uint32_t ino, uint32_t *blk,
    uint32_t *off);
int ext2_truncate(struct ext2_node *en, uint64_t size);
int ext2_idestroy(struct ext2_node *en);
void ext2_touch(struct ext2_node *en, bool m, bool c);
int ext2_rdwr(struct ext2_node *en, struct uio *uio, int ioflag);
/* ext2_fiemap.c: FS_IOC_FIEMAP; em_lock not held. */
int ext2_fiemap(struct ext2_node *en, void *uarg);
int ext2_reserved_ok(struct ext2_mount *em);

/* ext2_dir.c: directories. */
int ext2_dir_find(struct ext2_node *dn, const char *name, size_t len,
    uint32_t *ino, uint64_t *off);
int ext2_dir_add(struct ext2_node *dn, const char *name, size_t len,
    uint32_t ino, enum vtype type);
int ext2_dir_remove(struct ext2_node *dn, uint64_t off);
int ext2_dir_set(struct ext2_node *dn, uint64_t off, uint32_t ino,
    enum vtype type);
int ext2_dir_isempty(struct ext2_node *dn, bool *empty);
int ext2_dir_init(struct ext2_node *dn, uint32_t parent);
int ext2_dir_readdir(struct ext2_node *dn, struct uio *uio);

/*
 * ext4_csum.c: crc32c and crc16, and the metadata checksums of ext4.
 * Each *_check returns 0 or EIO (reported once through ext2_corrupt),
 * and 0 when the file system has no such checksums.
 */
void ext4_crc_init(void);
uint32_t ext4_crc32c(uint32_t crc, const void *buf, size_t len);
uint16_t ext4_crc16(uint16_t crc, const void *buf, size_t len);
int ext4_sb_csum_check(struct ext2_mount *em);
bool ext4_gd_csum_ok(struct ext2_mount *em, uint32_t g);
int ext4_inode_csum_check(struct ext2_node *en);
int ext4_extblk_csum_check(struct ext2_node *en, const uint8_t *blk,
    uint32_t tailoff, uint32_t pbn);
int ext4_dirblk_csum_check(struct ext2_node *dn, const uint8_t *blk,
    uint64_t lbn);

/* ext4_extent.c: logical to physical through an extent tree. */
int ext4_ext_check_inode(struct ext2_node *en);
int ext4_ext_bmap(struct ext2_node *en, uint64_t lbn, uint32_t *pbn);

/* ext4_inline.c: the data of a small file kept in its inode. */
int ext4_inline_read(struct ext2_node *en, struct uio *uio);
void ext2_dir_index_free(struct ext2_node *dn);

/* ext2_dirindex.c: the in-memory name index of a large directory. */
struct ext2_dix;
uint32_t ext2_dix_hash(const char *name, size_t len);
struct ext2_dix *ext2_dix_create(void);
void ext2_dix_destroy(struct ext2_dix *dx);
uint32_t ext2_dix_nblocks(const struct ext2_dix *dx);
int ext2_dix_insert(struct ext2_dix *dx, uint32_t hash, uint32_t off);
void ext2_dix_delete(struct ext2_dix *dx, uint32_t hash, uint32_t off);
bool ext2_dix_probe(const struct ext2_dix *dx, uint32_t hash,
    uint32_t *cursor, uint32_t *off);
int ext2_dix_setfree(struct ext2_dix *dx, uint32_t blk, uint32_t avail);
bool ext2_dix_findfree(struct ext2_dix *dx, uint32_t need, uint32_t *blk);

#endif
