/*
 * Stand-in for the kernel's <linux/falloc.h>, which Debian's musl-tools
 * does not ship: the foundation's tests name fallocate's mode bits, and
 * these are their Linux x86-64 ABI values (what Pith's own fcntl layer
 * decodes), so the test sources stay the same in the VM.
 */
#ifndef PITH_SYSABI_LINUX_FALLOC_H
#define PITH_SYSABI_LINUX_FALLOC_H

#define FALLOC_FL_KEEP_SIZE 0x01
#define FALLOC_FL_PUNCH_HOLE 0x02
#define FALLOC_FL_NO_HIDE_STALE 0x04
#define FALLOC_FL_COLLAPSE_RANGE 0x08
#define FALLOC_FL_ZERO_RANGE 0x10
#define FALLOC_FL_INSERT_RANGE 0x20
#define FALLOC_FL_UNSHARE_RANGE 0x40

#endif
