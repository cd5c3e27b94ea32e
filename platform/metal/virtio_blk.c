/*
 * virtio-blk behind the block I/O hypercalls (hyp_bio_*).
 *
 * Disks are named in the order PCI enumeration finds them: vda, vdb, ...
 * (also accepted with a /dev/ prefix).  Each has one request queue.  A
 * transfer is cut into requests of at most VBLK_MAXREQ bytes, each a
 * chain of descriptors: the header, the data as runs of physically
 * contiguous memory (found by metal_virt_to_phys, each at most the
 * device's size_max, at most its seg_max of them), the status byte.  All
 * requests of a transfer are queued before waiting, as many as there are
 * free request slots and descriptors, so a large transfer keeps the
 * device busy; several threads may have transfers in flight at once.
 *
 * Completion: interrupts are off on this platform, so a waiting thread
 * polls the used ring, reaping every finished request (its own or
 * another thread's: each request points to the batch it belongs to) and
 * yielding the CPU between looks.  An interrupt handler would do the
 * reaping and wake the waiters instead.
 *
 * The device speaks 512-byte sectors and the kernel's buffer cache only
 * issues sector-aligned transfers, but hyp_bio is byte-addressed: an
 * unaligned head or tail goes through a sector bounce buffer (a
 * read-modify-write for writes; two such writes to one sector at once
 * could race, which the buffer cache never does).
 *
 * Locking: cooperative threads on one CPU, and nothing between checking
 * and updating shared state here yields, so no locks.  Open handles
 * follow the hyp.h contract: one writer and no readers, or any number of
 * readers (EBUSY otherwise).  struct vblk lives as long as the machine;
 * struct hyp_bio from open to close.
 */
#include "metal.h"

#define EBADF 9
#define EIO 5
#define ENOENT 2
#define ENOMEM 12
#define EBUSY 16
#define EROFS 30
#define ENOSPC 28

#define VBLK_F_SIZE_MAX (1ul << 1)
#define VBLK_F_SEG_MAX (1ul << 2)
#define VBLK_F_RO (1ul << 5)
#define VBLK_F_FLUSH (1ul << 9)

#define VBLK_T_IN 0
#define VBLK_T_OUT 1
#define VBLK_T_FLUSH 4
#define VBLK_S_OK 0

#define VBLK_MAXDISKS 8
#define VBLK_QSIZE 256
#define VBLK_MAXREQ (256u * 1024)
#define VBLK_MAXSEG 64                  /* data segments per request, ours */
#define SECTOR 512ul

struct vblk_hdr {
	u32 vh_type;
	u32 vh_reserved;
	u64 vh_sector;
};

/* What a caller waits for: its requests still with the device. */
struct vblk_batch {
	unsigned bt_left;
	int bt_error;
};

struct vblk_req {
	struct vblk_hdr vr_hdr;         /* the device reads it */
	u8 vr_status;                   /* the device writes it */
	u8 vr_busy;                     /* slot taken */
	struct vblk_batch *vr_batch;
};

struct vblk {
	struct virtio_dev vb_vd;
	struct virtq vb_vq;
	u64 vb_size;                    /* bytes */
	u32 vb_maxreq;                  /* bytes per request */
	u32 vb_sizemax;                 /* bytes per data segment */
	unsigned vb_maxseg;             /* data segments per request */
	int vb_ro;
	int vb_flush;
	int vb_writers, vb_readers;     /* open handles */
	struct vblk_req *vb_reqs;
	unsigned vb_nreqs;
	char vb_name[4];
};

struct hyp_bio {
	struct vblk *hb_vb;
	int hb_rdonly;
};

static struct vblk vblk_disks[VBLK_MAXDISKS];
static int vblk_ndisks;

int
vblk_count(void)
{
	return vblk_ndisks;
}

void
vblk_probe(struct pci_dev *pd)
{
	struct vblk *vb;
	u32 sizemax, segmax;
	int error;

	if (vblk_ndisks == VBLK_MAXDISKS) {
		metal_puts("virtio-blk: too many disks, ignoring one\n");
		return;
	}
	vb = &vblk_disks[vblk_ndisks];
	memset(vb, 0, sizeof(*vb));
	error = virtio_attach(&vb->vb_vd, pd);
	if (error == 0)
		error = virtio_negotiate(&vb->vb_vd, VBLK_F_SIZE_MAX |
		    VBLK_F_SEG_MAX | VBLK_F_RO | VBLK_F_FLUSH);
	if (error == 0)
		error = virtq_init(&vb->vb_vd, &vb->vb_vq, 0, VBLK_QSIZE);
	if (error == 0 && vb->vb_vq.vq_size < 4)
		error = ENOSPC;         /* no room for a whole request */
	if (error == 0) {
		vb->vb_nreqs = vb->vb_vq.vq_size / 3;
		vb->vb_reqs = mem_alloc(vb->vb_nreqs * sizeof(*vb->vb_reqs),
		    16);
		if (vb->vb_reqs == NULL)
			error = ENOMEM;
	}
	if (error) {
		metal_puts("virtio-blk: device not usable, error ");
		metal_putd(error);
		metal_puts("\n");
		virtio_failed(&vb->vb_vd);
		return;
	}
	memset(vb->vb_reqs, 0, vb->vb_nreqs * sizeof(struct vblk_req));
	vb->vb_size = virtio_cfg64(&vb->vb_vd, 0) * SECTOR;
	vb->vb_maxreq = VBLK_MAXREQ;
	vb->vb_sizemax = VBLK_MAXREQ;
	if (vb->vb_vd.vd_features & VBLK_F_SIZE_MAX) {
		sizemax = virtio_cfg32(&vb->vb_vd, 8);
		if (sizemax >= SECTOR && sizemax < vb->vb_sizemax)
			vb->vb_sizemax = sizemax;
	}
	/* Room for the header and the status besides the data. */
	vb->vb_maxseg = VBLK_MAXSEG;
	if (vb->vb_maxseg > vb->vb_vq.vq_size - 2u)
		vb->vb_maxseg = vb->vb_vq.vq_size - 2u;
	if (vb->vb_vd.vd_features & VBLK_F_SEG_MAX) {
		segmax = virtio_cfg32(&vb->vb_vd, 12);
		if (segmax >= 1 && segmax < vb->vb_maxseg)
			vb->vb_maxseg = segmax;
	}
	vb->vb_ro = (vb->vb_vd.vd_features & VBLK_F_RO) != 0;
	vb->vb_flush = (vb->vb_vd.vd_features & VBLK_F_FLUSH) != 0;
	vb->vb_name[0] = 'v';
	vb->vb_name[1] = 'd';
	vb->vb_name[2] = (char)('a' + vblk_ndisks);
	vb->vb_name[3] = '\0';
	virtio_ready(&vb->vb_vd);
	vblk_ndisks++;
	metal_puts("pith metal: ");
	metal_puts(vb->vb_name);
	metal_puts(": virtio-blk, ");
	metal_putd((long)(vb->vb_size >> 10));
	metal_puts(" KiB, ");
	if (vb->vb_vd.vd_modern) {
		/* The bus address: the mapping's own is the MMIO window's. */
		metal_puts("modern, registers at ");
		metal_putx(metal_virt_to_phys(
		    (const void *)(uintptr)vb->vb_vd.vd_common, NULL));
	} else {
		metal_puts("legacy, I/O ports at ");
		metal_putx(vb->vb_vd.vd_iobase);
	}
	metal_puts(vb->vb_ro ? ", read-only" : "");
	metal_puts(vb->vb_flush ? ", write cache flushed on sync\n" : "\n");
}

/* Collect every finished request of vb. */
static void
vblk_reap(struct vblk *vb)
{
	struct vblk_req *r;

	while ((r = virtq_reap(&vb->vb_vq, NULL)) != NULL) {
		if (r->vr_status != VBLK_S_OK)
			r->vr_batch->bt_error = EIO;
		r->vr_batch->bt_left--;
		r->vr_busy = 0;
	}
}

/* Nothing to do until the device finishes something: let others run. */
static void
vblk_idle(void)
{
	hyp_yield();
	cpu_relax();
}

static struct vblk_req *
vblk_slot(struct vblk *vb)
{
	unsigned i;

	for (i = 0; i < vb->vb_nreqs; i++)
		if (!vb->vb_reqs[i].vr_busy)
			return &vb->vb_reqs[i];
	return NULL;
}

/*
 * Queue one request of ndata data segments (none for a flush), waiting
 * for a slot and descriptors if need be; the caller kicks.
 */
static void
vblk_queue(struct vblk *vb, struct vblk_batch *bt, u32 type, u64 sector,
    const struct virtio_seg *data, unsigned ndata)
{
	struct virtio_seg seg[VBLK_MAXSEG + 2];
	struct vblk_req *r;
	unsigned n = 0, i;

	if (ndata > vb->vb_maxseg)
		metal_fatal("virtio-blk: more segments than the device takes");
	for (;;) {
		r = vblk_slot(vb);
		if (r != NULL && vb->vb_vq.vq_nfree >= ndata + 2)
			break;
		/* Full: make sure what is queued is moving, then wait. */
		virtq_kick(&vb->vb_vq);
		vblk_reap(vb);
		vblk_idle();
	}
	r->vr_busy = 1;
	r->vr_batch = bt;
	r->vr_status = 0xff;
	r->vr_hdr.vh_type = type;
	r->vr_hdr.vh_reserved = 0;
	r->vr_hdr.vh_sector = sector;
	seg[n].vs_addr = metal_virt_to_phys(&r->vr_hdr, NULL);
	seg[n].vs_len = sizeof(r->vr_hdr);
	seg[n++].vs_write = 0;
	for (i = 0; i < ndata; i++)
		seg[n++] = data[i];
	seg[n].vs_addr = metal_virt_to_phys(&r->vr_status, NULL);
	seg[n].vs_len = 1;
	seg[n++].vs_write = 1;
	bt->bt_left++;
	if (virtq_add(&vb->vb_vq, seg, n, r) != 0)
		metal_fatal("virtio-blk: descriptors vanished");
}

static int
vblk_wait(struct vblk *vb, struct vblk_batch *bt)
{
	virtq_kick(&vb->vb_vq);
	for (;;) {
		vblk_reap(vb);
		if (bt->bt_left == 0)
			break;
		vblk_idle();
	}
	return bt->bt_error;
}

/*
 * The data segments of one request from buf (up to len bytes): runs of
 * physically contiguous memory, each at most the device's size_max, at
 * most vb_maxseg of them and vb_maxreq bytes in all, cut back to whole
 * sectors.  Returns the bytes covered.
 */
static u32
vblk_segs(struct vblk *vb, u8 *buf, hyp_size_t len, int devwrites,
    struct virtio_seg *seg, unsigned *nsegp)
{
	struct virtio_seg *last;
	unsigned nseg = 0;
	u64 pa, contig, n;
	u32 total = 0, excess;

	while (total < len && total < vb->vb_maxreq) {
		pa = metal_virt_to_phys(buf + total, &contig);
		n = len - total;
		if (n > contig)
			n = contig;
		if (n > vb->vb_maxreq - total)
			n = vb->vb_maxreq - total;
		last = nseg > 0 ? &seg[nseg - 1] : NULL;
		if (last != NULL && last->vs_addr + last->vs_len == pa &&
		    last->vs_len < vb->vb_sizemax) {
			if (n > vb->vb_sizemax - last->vs_len)
				n = vb->vb_sizemax - last->vs_len;
			last->vs_len += (u32)n;
		} else {
			if (nseg == vb->vb_maxseg)
				break;
			if (n > vb->vb_sizemax)
				n = vb->vb_sizemax;
			seg[nseg].vs_addr = pa;
			seg[nseg].vs_len = (u32)n;
			seg[nseg++].vs_write = devwrites;
		}
		total += (u32)n;
	}
	/* Whole sectors only: trim the tail (at most 511 bytes). */
	for (excess = total % SECTOR; excess > 0; ) {
		last = &seg[nseg - 1];
		if (last->vs_len > excess) {
			last->vs_len -= excess;
			break;
		}
		excess -= last->vs_len;
		nseg--;
	}
	*nsegp = nseg;
	return total - total % SECTOR;
}

/* Sector-aligned transfer of len (a multiple of 512) bytes. */
static int
vblk_rw(struct vblk *vb, u32 type, u64 off, u8 *buf, hyp_size_t len)
{
	struct vblk_batch bt = { 0, 0 };
	struct virtio_seg seg[VBLK_MAXSEG];
	unsigned nseg;
	u32 n;

	while (len > 0) {
		n = vblk_segs(vb, buf, len, type == VBLK_T_IN, seg, &nseg);
		if (n == 0)
			break;          /* cannot be: one sector always fits */
		vblk_queue(vb, &bt, type, off / SECTOR, seg, nseg);
		off += n;
		buf += n;
		len -= n;
	}
	if (len > 0) {
		vblk_wait(vb, &bt);
		return EIO;
	}
	return vblk_wait(vb, &bt);
}

/*
 * The part of a sector at off (not sector-aligned, or shorter than one):
 * read the sector, then copy out or patch it and write it back.
 */
static int
vblk_partial(struct vblk *vb, int write, u64 off, u8 *buf, hyp_size_t len)
{
	u8 sec[SECTOR] __attribute__((aligned(16)));
	u64 base = off & ~(SECTOR - 1);
	int error;

	error = vblk_rw(vb, VBLK_T_IN, base, sec, SECTOR);
	if (error)
		return error;
	if (!write) {
		memcpy(buf, sec + (off - base), len);
		return 0;
	}
	memcpy(sec + (off - base), buf, len);
	return vblk_rw(vb, VBLK_T_OUT, base, sec, SECTOR);
}

static int
vblk_io(struct hyp_bio *b, int write, u64 off, u8 *buf, hyp_size_t len)
{
	struct vblk *vb = b->hb_vb;
	hyp_size_t n;
	int error;

	if (off > vb->vb_size || len > vb->vb_size - off)
		return EIO;
	if ((off & (SECTOR - 1)) != 0 && len > 0) {
		n = SECTOR - (off & (SECTOR - 1));
		if (n > len)
			n = len;
		if ((error = vblk_partial(vb, write, off, buf, n)) != 0)
			return error;
		off += n;
		buf += n;
		len -= n;
	}
	n = len & ~(SECTOR - 1);
	if (n > 0) {
		error = vblk_rw(vb, write ? VBLK_T_OUT : VBLK_T_IN, off, buf,
		    n);
		if (error)
			return error;
		off += n;
		buf += n;
		len -= n;
	}
	if (len > 0)
		return vblk_partial(vb, write, off, buf, len);
	return 0;
}

/* "vda", "/dev/vdb": the disk, or NULL. */
static struct vblk *
vblk_byname(const char *name)
{
	int i;

	if (name[0] == '/' && name[1] == 'd' && name[2] == 'e' &&
	    name[3] == 'v' && name[4] == '/')
		name += 5;
	if (name[0] != 'v' || name[1] != 'd' || name[2] < 'a' ||
	    name[2] > 'z' || name[3] != '\0')
		return NULL;
	i = name[2] - 'a';
	return i < vblk_ndisks ? &vblk_disks[i] : NULL;
}

int
hyp_bio_open(const char *name, int flags, struct hyp_bio **ret,
    unsigned long long *size)
{
	struct vblk *vb = vblk_byname(name);
	struct hyp_bio *b;
	int rdonly = (flags & HYP_BIO_RDONLY) != 0;

	if (vb == NULL)
		return ENOENT;
	if (!rdonly && vb->vb_ro)
		return EROFS;
	if (vb->vb_writers > 0 || (!rdonly && vb->vb_readers > 0))
		return EBUSY;
	b = mem_alloc(sizeof(*b), 16);
	if (b == NULL)
		return ENOMEM;
	b->hb_vb = vb;
	b->hb_rdonly = rdonly;
	if (rdonly)
		vb->vb_readers++;
	else
		vb->vb_writers++;
	*ret = b;
	*size = vb->vb_size;
	return 0;
}

int
hyp_bio_read(struct hyp_bio *b, unsigned long long off, void *buf,
    hyp_size_t len)
{
	return vblk_io(b, 0, off, buf, len);
}

int
hyp_bio_write(struct hyp_bio *b, unsigned long long off, const void *buf,
    hyp_size_t len)
{
	if (b->hb_rdonly)
		return EBADF;
	/* Only the device reads buf; the cast lets one path serve both. */
	return vblk_io(b, 1, off, (u8 *)(uintptr)buf, len);
}

int
hyp_bio_sync(struct hyp_bio *b)
{
	struct vblk_batch bt = { 0, 0 };
	struct vblk *vb = b->hb_vb;

	/* Without a flush command the device has no volatile cache. */
	if (b->hb_rdonly || !vb->vb_flush)
		return 0;
	vblk_queue(vb, &bt, VBLK_T_FLUSH, 0, NULL, 0);
	return vblk_wait(vb, &bt);
}

void
hyp_bio_close(struct hyp_bio *b)
{
	if (b == NULL)
		return;
	if (b->hb_rdonly)
		b->hb_vb->vb_readers--;
	else
		b->hb_vb->vb_writers--;
	mem_free(b, sizeof(*b));
}
