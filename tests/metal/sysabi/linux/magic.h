/*
 * Stand-in for the kernel's <linux/magic.h>, which Debian's musl-tools
 * does not ship: the file-system magic numbers statfs reports that the
 * foundation's tests compare with (Linux's values).
 */
#ifndef PITH_SYSABI_LINUX_MAGIC_H
#define PITH_SYSABI_LINUX_MAGIC_H

#define TMPFS_MAGIC 0x01021994
#define EXT2_SUPER_MAGIC 0xEF53

#endif
