/*
 * Unit test of the buffer cache over a RAM disk: bread reads through,
 * bget+bdwrite is written only on bflush, bwrite writes at once, evicting
 * past the cache's size limit writes dirty blocks back first, a busy
 * buffer makes a second taker wait, bflush(invalidate) drops everything.
 */
#include "kern/kern.h"
#include "kern/kern_private.h"
#include "vfs/vnode.h"
#include "unit/ktap.h"


#define BLK 4096
#define NBLK 8192                       /* 32 MiB: twice the cache */

struct ramdisk {
	char *rd_mem;
	unsigned rd_reads, rd_writes, rd_syncs;
	size_t rd_bytes_written;
};

static int
rd_read(struct bdev *bd, uint64_t off, void *buf, size_t len)
{
	struct ramdisk *rd = bd->bd_data;

	if (off + len > bd->bd_size)
		return EIO;
	memcpy(buf, rd->rd_mem + off, len);
	__atomic_add_fetch(&rd->rd_reads, 1, __ATOMIC_RELAXED);
	return 0;
}

static int
rd_write(struct bdev *bd, uint64_t off, const void *buf, size_t len)
{
	struct ramdisk *rd = bd->bd_data;

	if (off + len > bd->bd_size)
		return EIO;
	memcpy(rd->rd_mem + off, buf, len);
	__atomic_add_fetch(&rd->rd_writes, 1, __ATOMIC_RELAXED);
	__atomic_add_fetch(&rd->rd_bytes_written, len, __ATOMIC_RELAXED);
	return 0;
}

static int
rd_sync(struct bdev *bd)
{
	struct ramdisk *rd = bd->bd_data;

	rd->rd_syncs++;
	return 0;
}

static const struct bdevops rd_ops = { rd_read, rd_write, rd_sync };

static struct ramdisk rd;
static struct bdev bd = { &rd_ops, &rd, (uint64_t)NBLK * BLK, 512 };

static void
test_basic(void)
{
	struct buf *bp;
	unsigned r;

	memset(rd.rd_mem + 3 * BLK, 'x', BLK);
	ok(bread(&bd, 3, BLK, &bp) == 0 && ((char *)bp->b_data)[10] == 'x',
	    "bread reads the disk");
	brelse(bp);
	r = rd.rd_reads;
	ok(bread(&bd, 3, BLK, &bp) == 0 && rd.rd_reads == r,
	    "second bread is a cache hit");
	memset(bp->b_data, 'y', BLK);
	bdwrite(bp);
	ok(rd.rd_mem[3 * BLK] == 'x', "bdwrite does not write yet");
	ok(bflush(&bd, false) == 0 && rd.rd_mem[3 * BLK] == 'y',
	    "bflush writes it");
	ok(rd.rd_syncs == 1, "bflush syncs the device");
	ok(bget(&bd, 5, BLK, &bp) == 0, "bget");
	memset(bp->b_data, 'z', BLK);
	ok(bwrite(bp) == 0 && rd.rd_mem[5 * BLK] == 'z', "bwrite writes now");
	ok(bread(&bd, NBLK + 1, BLK, &bp) == EIO, "read past the end: EIO");
}

static void
test_evict(void)
{
	struct buf *bp;
	unsigned i, good = 0;

	for (i = 0; i < NBLK; i++) {
		if (bget(&bd, i, BLK, &bp) != 0)
			break;
		memset(bp->b_data, (int)(i & 0x7f) + 1, BLK);
		bdwrite(bp);
	}
	ok(i == NBLK, "dirtied twice the cache's size");
	/* Clustered: fewer writes than blocks, but the blocks all went. */
	ok(rd.rd_bytes_written > (size_t)NBLK / 4 * BLK,
	    "eviction wrote dirty blocks back");
	ok(rd.rd_writes < rd.rd_bytes_written / BLK,
	    "adjacent dirty blocks went out in clusters");
	ok(bflush(&bd, true) == 0, "bflush invalidate");
	for (i = 0; i < NBLK; i++)
		if (rd.rd_mem[(size_t)i * BLK + 100] == (char)((i & 0x7f) + 1))
			good++;
	ok(good == NBLK, "every block reached the disk");
}

static volatile int t2_got;

static void
taker(void *arg)
{
	struct buf *bp;

	if (bread(&bd, 7, BLK, &bp) == 0) {
		t2_got = ((char *)bp->b_data)[0];
		brelse(bp);
	}
}

static void
test_busy(void)
{
	struct kthread *t;
	struct buf *bp;

	ok(bread(&bd, 7, BLK, &bp) == 0, "take block 7 busy");
	ok(kthread_create(taker, NULL, "taker", &t) == 0, "start a taker");
	for (int i = 0; i < 1000000 && t2_got == 0; i++)
		__asm__ volatile("pause");
	ok(t2_got == 0, "the taker waits while we hold it");
	((char *)bp->b_data)[0] = 'Q';
	brelse(bp);
	kthread_join(t);
	ok(t2_got == 'Q', "then gets it, with our data");
	ok(bflush(&bd, true) == 0, "drop all");
}

int
pith_unittest_main(void)
{
	kprintf("1..20\n");
	ok(pith_kinit(NULL) == 0, "boot");
	rd.rd_mem = kmem_zalloc((size_t)NBLK * BLK);
	ok(rd.rd_mem != NULL, "ram disk");
	if (rd.rd_mem == NULL)
		return 1;
	test_basic();
	test_evict();
	test_busy();
	kmem_free(rd.rd_mem, (size_t)NBLK * BLK);
	pith_fini();
	return t_fail != 0;
}
