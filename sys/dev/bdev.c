/*
 * Block devices over the block I/O hypercalls, and partition tables.
 *
 * A struct bdev_softc wraps one hyp_bio handle and a window on it: the
 * whole device, or one partition found in its MBR or GPT table when the
 * source names one ("disk.img@2").  Every transfer is bounds-checked
 * against the window (EIO beyond, as a disk would) and shifted by its
 * offset, so a file system on a partition sees a device starting at 0.
 *
 * The partition tables are untrusted input: every offset and count is
 * checked before use, the chain of extended boot records is bounded, and
 * the GPT header and entry array must carry their CRC-32s.  Only the
 * primary GPT header is read; a damaged primary is an error rather than
 * a silent fallback to the backup.
 *
 * Nothing here keeps mutable state after open, so nothing locks: the
 * buffer cache serialises I/O to each block, and hyp_bio handles
 * concurrent transfers.  The opener owns the bdev until bdev_close.
 */
#include "dev/bdev.h"

#define MBR_SIG_OFF 510
#define MBR_PART_OFF 446
#define MBR_NPART 4
#define MBR_TYPE_GPT 0xee
#define MBR_MAXLOGICAL 124      /* bound on an EBR chain */

#define GPT_SIG "EFI PART"
#define GPT_HDR_MIN 92
#define GPT_MAXENT 128

struct bdev_softc {
	struct bdev sc_bdev;            /* first: a bdev * is a softc * */
	struct hyp_bio *sc_hb;          /* [I] */
	uint64_t sc_off;                /* [I] window start, bytes */
	bool sc_rdonly;                 /* [I] */
};

static uint32_t bdev_crctab[256];
static bool bdev_crcready;

static uint32_t
le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	    (uint32_t)p[3] << 24;
}

static uint64_t
le64(const uint8_t *p)
{
	return (uint64_t)le32(p) | (uint64_t)le32(p + 4) << 32;
}

static void
bdev_crcinit(void)
{
	uint32_t c, i, k;

	for (i = 0; i < 256; i++) {
		c = i;
		for (k = 0; k < 8; k++)
			c = (c & 1) ? 0xedb88320u ^ (c >> 1) : c >> 1;
		bdev_crctab[i] = c;
	}
	atomic_store(&bdev_crcready, true);
}

uint32_t
bdev_crc32(uint32_t crc, const void *buf, size_t len)
{
	const uint8_t *p = buf;

	/* Racing initialisers compute the same table. */
	if (!atomic_load(&bdev_crcready))
		bdev_crcinit();
	crc = ~crc;
	while (len-- > 0)
		crc = bdev_crctab[(crc ^ *p++) & 0xff] ^ (crc >> 8);
	return ~crc;
}

/* Host I/O may block: give the virtual CPU back around it. */
static struct lwp *
bdev_block(void)
{
	struct lwp *l = curlwp();

	if (l != NULL && l->l_cpu != NULL) {
		cpu_block(l);
		return l;
	}
	return NULL;
}

static void
bdev_unblock(struct lwp *l)
{
	if (l != NULL)
		cpu_unblock(l);
}

static int
bdev_check(struct bdev *bd, uint64_t off, size_t len)
{
	if (off > bd->bd_size || len > bd->bd_size - off)
		return EIO;
	return 0;
}

static int
bdev_read(struct bdev *bd, uint64_t off, void *buf, size_t len)
{
	struct bdev_softc *sc = (struct bdev_softc *)bd;
	struct lwp *l;
	int error;

	error = bdev_check(bd, off, len);
	if (error)
		return error;
	l = bdev_block();
	error = hyp_bio_read(sc->sc_hb, sc->sc_off + off, buf, len);
	bdev_unblock(l);
	return error;
}

static int
bdev_write(struct bdev *bd, uint64_t off, const void *buf, size_t len)
{
	struct bdev_softc *sc = (struct bdev_softc *)bd;
	struct lwp *l;
	int error;

	if (sc->sc_rdonly)
		return EROFS;
	error = bdev_check(bd, off, len);
	if (error)
		return error;
	l = bdev_block();
	error = hyp_bio_write(sc->sc_hb, sc->sc_off + off, buf, len);
	bdev_unblock(l);
	return error;
}

static int
bdev_sync(struct bdev *bd)
{
	struct bdev_softc *sc = (struct bdev_softc *)bd;
	struct lwp *l;
	int error;

	if (sc->sc_rdonly)
		return 0;
	l = bdev_block();
	error = hyp_bio_sync(sc->sc_hb);
	bdev_unblock(l);
	return error;
}

static const struct bdevops bdev_ops = {
	.bdo_read = bdev_read,
	.bdo_write = bdev_write,
	.bdo_sync = bdev_sync,
};

bool
bdev_rdonly(const struct bdev *bd)
{
	return ((const struct bdev_softc *)bd)->sc_rdonly;
}

/* --- partition tables ---------------------------------------------------- */

/* Turn a sector range into a byte window inside the device. */
static int
bdev_window(struct bdev *bd, uint64_t lba, uint64_t nsect, unsigned part,
    uint64_t *off, uint64_t *len)
{
	uint64_t max = bd->bd_size / BDEV_SECTOR;

	if (nsect == 0 || lba == 0 || lba >= max || nsect > max - lba) {
		kprintf("pith: bdev: partition %u lies outside the disk\n", part);
		return ENXIO;
	}
	*off = lba * BDEV_SECTOR;
	*len = nsect * BDEV_SECTOR;
	return 0;
}

static bool
mbr_isext(uint8_t type)
{
	return type == 0x05 || type == 0x0f || type == 0x85;
}

/* Logical partition part (5 and up) in the extended partition at ext. */
static int
mbr_logical(struct bdev *bd, uint64_t ext, uint64_t extlen, unsigned part,
    uint8_t *sec, uint64_t *off, uint64_t *len)
{
	uint64_t ebr = ext;
	unsigned n, i;
	const uint8_t *e;
	int error;

	for (n = 5, i = 0; i < MBR_MAXLOGICAL; i++) {
		error = bdev_read(bd, ebr * BDEV_SECTOR, sec, BDEV_SECTOR);
		if (error)
			return error;
		if (sec[MBR_SIG_OFF] != 0x55 || sec[MBR_SIG_OFF + 1] != 0xaa)
			break;
		e = sec + MBR_PART_OFF;
		if (e[4] != 0 && le32(e + 12) != 0) {
			if (n == part)
				return bdev_window(bd, ebr + le32(e + 8),
				    le32(e + 12), part, off, len);
			n++;
		}
		e += 16;
		if (e[4] == 0 || le32(e + 8) == 0 || le32(e + 8) >= extlen)
			break;
		ebr = ext + le32(e + 8);
	}
	kprintf("pith: bdev: no partition %u (%u logical partitions)\n", part,
	    n - 5);
	return ENXIO;
}

static int
gpt_partition(struct bdev *bd, unsigned part, uint64_t *off, uint64_t *len)
{
	uint8_t hdr[BDEV_SECTOR];
	uint32_t hsize, crc, nent, esize;
	uint64_t elba, nbytes;
	uint8_t *ents;
	const uint8_t *e;
	int error;

	error = bdev_read(bd, BDEV_SECTOR, hdr, BDEV_SECTOR);
	if (error)
		return error;
	hsize = le32(hdr + 12);
	if (memcmp(hdr, GPT_SIG, 8) != 0 || hsize < GPT_HDR_MIN ||
	    hsize > BDEV_SECTOR) {
		kprintf("pith: bdev: protective MBR but no GPT header\n");
		return ENXIO;
	}
	crc = le32(hdr + 16);
	memset(hdr + 16, 0, 4);
	if (bdev_crc32(0, hdr, hsize) != crc) {
		kprintf("pith: bdev: GPT header checksum mismatch\n");
		return ENXIO;
	}
	elba = le64(hdr + 72);
	nent = le32(hdr + 80);
	esize = le32(hdr + 84);
	if (esize < 128 || esize > 4096 || (esize & 7) != 0 || nent == 0 ||
	    nent > 4096 || elba < 2 ||
	    elba >= bd->bd_size / BDEV_SECTOR) {
		kprintf("pith: bdev: malformed GPT header\n");
		return ENXIO;
	}
	if (part > nent || part > GPT_MAXENT) {
		kprintf("pith: bdev: no partition %u in the GPT\n", part);
		return ENXIO;
	}
	nbytes = (uint64_t)nent * esize;
	ents = kmem_alloc(nbytes);
	if (ents == NULL)
		return ENOMEM;
	error = bdev_read(bd, elba * BDEV_SECTOR, ents, nbytes);
	if (error)
		goto out;
	if (bdev_crc32(0, ents, nbytes) != le32(hdr + 88)) {
		kprintf("pith: bdev: GPT partition array checksum mismatch\n");
		error = ENXIO;
		goto out;
	}
	e = ents + (uint64_t)(part - 1) * esize;
	if (le64(e) == 0 && le64(e + 8) == 0) {
		kprintf("pith: bdev: GPT partition %u is unused\n", part);
		error = ENXIO;
		goto out;
	}
	if (le64(e + 40) < le64(e + 32)) {
		kprintf("pith: bdev: GPT partition %u ends before it starts\n",
		    part);
		error = ENXIO;
		goto out;
	}
	error = bdev_window(bd, le64(e + 32), le64(e + 40) - le64(e + 32) + 1,
	    part, off, len);
out:
	kmem_free(ents, nbytes);
	return error;
}

int
bdev_partition(struct bdev *bd, unsigned part, uint64_t *off, uint64_t *len)
{
	uint8_t sec[BDEV_SECTOR];
	const uint8_t *e;
	unsigned i;
	int error;

	if (part == 0) {
		kprintf("pith: bdev: partitions are numbered from 1\n");
		return ENXIO;
	}
	if (bd->bd_size < 2 * BDEV_SECTOR) {
		kprintf("pith: bdev: device too small for a partition table\n");
		return ENXIO;
	}
	error = bdev_read(bd, 0, sec, BDEV_SECTOR);
	if (error)
		return error;
	if (sec[MBR_SIG_OFF] != 0x55 || sec[MBR_SIG_OFF + 1] != 0xaa) {
		kprintf("pith: bdev: no partition table (no MBR signature)\n");
		return ENXIO;
	}
	for (i = 0; i < MBR_NPART; i++) {
		e = sec + MBR_PART_OFF + 16 * i;
		if (e[4] == MBR_TYPE_GPT)
			return gpt_partition(bd, part, off, len);
	}
	if (part <= MBR_NPART) {
		e = sec + MBR_PART_OFF + 16 * (part - 1);
		if (e[4] == 0 || le32(e + 12) == 0) {
			kprintf("pith: bdev: MBR partition %u is unused\n", part);
			return ENXIO;
		}
		return bdev_window(bd, le32(e + 8), le32(e + 12), part, off, len);
	}
	for (i = 0; i < MBR_NPART; i++) {
		e = sec + MBR_PART_OFF + 16 * i;
		if (mbr_isext(e[4]) && le32(e + 8) != 0) {
			uint64_t ext = le32(e + 8), extlen = le32(e + 12);

			return mbr_logical(bd, ext, extlen, part, sec, off, len);
		}
	}
	kprintf("pith: bdev: no partition %u (no extended partition)\n", part);
	return ENXIO;
}

/* "PATH@N": split off N.  Returns false if source has no such suffix. */
static bool
bdev_parse(const char *source, size_t *pathlen, unsigned *part)
{
	size_t len = strlen(source), i;
	unsigned n = 0;

	for (i = len; i > 0 && source[i - 1] >= '0' && source[i - 1] <= '9'; i--)
		;
	if (i == len || i < 2 || source[i - 1] != '@' || len - i > 4)
		return false;
	*pathlen = i - 1;
	for (; i < len; i++)
		n = n * 10 + (unsigned)(source[i] - '0');
	*part = n;
	return true;
}

static int
bdev_openhb(const char *path, bool rdonly, struct bdev_softc **ret)
{
	struct bdev_softc *sc;
	unsigned long long size;
	struct lwp *l;
	int error;

	sc = kmem_zalloc(sizeof(*sc));
	if (sc == NULL)
		return ENOMEM;
	l = bdev_block();
	error = hyp_bio_open(path, rdonly ? HYP_BIO_RDONLY : 0, &sc->sc_hb,
	    &size);
	bdev_unblock(l);
	if (error) {
		kmem_free(sc, sizeof(*sc));
		return error;
	}
	sc->sc_bdev.bd_ops = &bdev_ops;
	sc->sc_bdev.bd_data = sc;
	sc->sc_bdev.bd_size = size;
	sc->sc_bdev.bd_blksize = BDEV_SECTOR;
	sc->sc_rdonly = rdonly;
	*ret = sc;
	return 0;
}

static void
bdev_free(struct bdev_softc *sc)
{
	struct lwp *l = bdev_block();

	hyp_bio_close(sc->sc_hb);
	bdev_unblock(l);
	kmem_free(sc, sizeof(*sc));
}

int
bdev_open(const char *source, bool rdonly, struct bdev **ret)
{
	struct bdev_softc *sc;
	char *path = NULL;
	size_t pathlen = 0;
	unsigned part = 0;
	uint64_t off, len;
	int error;

	if (source == NULL || source[0] == '\0')
		return ENOENT;
	if (strnlen(source, PATH_MAX) >= PATH_MAX)
		return ENAMETOOLONG;
	if (bdev_parse(source, &pathlen, &part)) {
		path = kmem_alloc(pathlen + 1);
		if (path == NULL)
			return ENOMEM;
		memcpy(path, source, pathlen);
		path[pathlen] = '\0';
		error = bdev_openhb(path, rdonly, &sc);
		kmem_free(path, pathlen + 1);
		if (error == ENOENT) {
			/* Perhaps the '@' is part of the file's name. */
			part = 0;
			error = bdev_openhb(source, rdonly, &sc);
		}
	} else {
		error = bdev_openhb(source, rdonly, &sc);
	}
	if (error)
		return error;
	if (part != 0) {
		error = bdev_partition(&sc->sc_bdev, part, &off, &len);
		if (error) {
			bdev_free(sc);
			return error;
		}
		sc->sc_off = off;
		sc->sc_bdev.bd_size = len;
	}
	*ret = &sc->sc_bdev;
	return 0;
}

int
bdev_close(struct bdev *bd)
{
	struct bdev_softc *sc = (struct bdev_softc *)bd;
	int error;

	error = bflush(bd, true);
	bdev_free(sc);
	return error;
}
