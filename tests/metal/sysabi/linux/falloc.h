/*
 * Stand-in for the kernel's <linux/falloc.h>, which Debian's musl-tools
 * does not ship: the foundation's tests name fallocate's mode bits, and
 * these are their Linux x86-64 ABI values (what Pith's own fcntl layer
 * decodes), so the test sources stay the same in the VM.  musl's
 * <fcntl.h> has the first two already, hence the guards.
 */
#ifndef PITH_SYSABI_LINUX_FALLOC_H
#define PITH_SYSABI_LINUX_FALLOC_H

#ifndef FALLOC_FL_KEEP_SIZE
#define FALLOC_FL_KEEP_SIZE 0x01
#endif
#ifndef FALLOC_FL_PUNCH_HOLE
#define FALLOC_FL_PUNCH_HOLE 0x02
#endif
#ifndef FALLOC_FL_NO_HIDE_STALE
#define FALLOC_FL_NO_HIDE_STALE 0x04
#endif
#ifndef FALLOC_FL_COLLAPSE_RANGE
#define FALLOC_FL_COLLAPSE_RANGE 0x08
#endif
#ifndef FALLOC_FL_ZERO_RANGE
#define FALLOC_FL_ZERO_RANGE 0x10
#endif
#ifndef FALLOC_FL_INSERT_RANGE
#define FALLOC_FL_INSERT_RANGE 0x20
#endif
#ifndef FALLOC_FL_UNSHARE_RANGE
#define FALLOC_FL_UNSHARE_RANGE 0x40
#endif

#endif
