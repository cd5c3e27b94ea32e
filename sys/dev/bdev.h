/*
 * Block devices: a host block device (hyp_bio), or one partition of it,
 * as a struct bdev (vfs/vnode.h) for the buffer cache and disk file
 * systems.
 */
#ifndef PITH_DEV_BDEV_H
#define PITH_DEV_BDEV_H

#include "kern/kern.h"
#include "vfs/vnode.h"

#define BDEV_SECTOR 512

/*
 * Open source: "PATH" is the whole device, "PATH@N" partition N of its
 * MBR (1-4 primary, 5 and up logical) or GPT (1-128) table.  When PATH
 * does not exist but the whole source does, the source is taken as the
 * name of a whole device (a file called "x@2").  Errors: those of
 * hyp_bio_open, ENXIO for a bad or absent partition (with a console
 * message), ENOMEM.  The caller owns *ret until bdev_close.
 */
int bdev_open(const char *source, bool rdonly, struct bdev **ret);
/* Flush the device's buffers (bflush, invalidating) and close it. */
int bdev_close(struct bdev *bd);
bool bdev_rdonly(const struct bdev *bd);

/*
 * Find partition part in the table on bd (whole device): its byte offset
 * and length.  ENXIO (with a message) if there is no such partition or
 * the table is malformed.  Exposed for tests.
 */
int bdev_partition(struct bdev *bd, unsigned part, uint64_t *off,
    uint64_t *len);

/* The CRC-32 (IEEE 802.3, as GPT and zlib) of len bytes, continuing crc. */
uint32_t bdev_crc32(uint32_t crc, const void *buf, size_t len);

#endif
