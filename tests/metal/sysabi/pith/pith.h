/*
 * Stand-in for <pith/pith.h> when the foundation's tests are built with
 * musl-gcc -static to run inside the VM (tests/scripts/metal_systests.t):
 * every pith_sys_* is the Linux system call itself (sysabi.c), and there
 * is no kernel to boot or shut down -- the program already runs on one.
 */
#ifndef PITH_SYSABI_PITH_H
#define PITH_SYSABI_PITH_H

#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

/* statx(2)'s structure and mask bits, which musl names only from 1.2.5
 * on (Debian's is 1.2.3): the Linux x86-64 layout, as sys/kern/abi.h. */
#ifndef STATX_TYPE
struct statx_timestamp {
	int64_t tv_sec;
	uint32_t tv_nsec;
	int32_t __reserved;
};

struct statx {
	uint32_t stx_mask;
	uint32_t stx_blksize;
	uint64_t stx_attributes;
	uint32_t stx_nlink;
	uint32_t stx_uid;
	uint32_t stx_gid;
	uint16_t stx_mode;
	uint16_t __spare0[1];
	uint64_t stx_ino;
	uint64_t stx_size;
	uint64_t stx_blocks;
	uint64_t stx_attributes_mask;
	struct statx_timestamp stx_atime;
	struct statx_timestamp stx_btime;
	struct statx_timestamp stx_ctime;
	struct statx_timestamp stx_mtime;
	uint32_t stx_rdev_major;
	uint32_t stx_rdev_minor;
	uint32_t stx_dev_major;
	uint32_t stx_dev_minor;
	uint64_t stx_mnt_id;
	uint32_t stx_dio_mem_align;
	uint32_t stx_dio_offset_align;
	uint64_t __spare3[12];
};

#define STATX_TYPE 0x1u
#define STATX_MODE 0x2u
#define STATX_NLINK 0x4u
#define STATX_UID 0x8u
#define STATX_GID 0x10u
#define STATX_ATIME 0x20u
#define STATX_MTIME 0x40u
#define STATX_CTIME 0x80u
#define STATX_INO 0x100u
#define STATX_SIZE 0x200u
#define STATX_BLOCKS 0x400u
#define STATX_BASIC_STATS 0x7ffu
#define STATX_BTIME 0x800u
#define STATX_MNT_ID 0x1000u
#define STATX__RESERVED 0x80000000u
#endif

#include <pith/pith_sys.h>

/* renameat2's flags: glibc's <stdio.h> names them, musl 1.2.3's does not;
 * the Linux ABI values. */
#ifndef RENAME_NOREPLACE
#define RENAME_NOREPLACE (1 << 0)
#define RENAME_EXCHANGE (1 << 1)
#define RENAME_WHITEOUT (1 << 2)
#endif

struct pith_config {
	unsigned ncpus;
	size_t mem_limit;
	const char *hostname;
	unsigned flags;
};
#define PITH_F_TRACE 0x1u

int pith_init(const struct pith_config *cfg);
void pith_fini(void);
long pith_syscall(long nr, ...);
long pith_syscall6(long nr, long a1, long a2, long a3, long a4, long a5,
    long a6);

#endif
