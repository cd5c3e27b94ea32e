/*
 * virtio over PCI: the transport (finding a device's registers, reset,
 * feature negotiation, queue setup, notification) and split virtqueues.
 *
 * Modern devices (virtio 1.x) describe their register windows with vendor
 * capabilities (common, notify, ISR, device configuration), each a slice
 * of a memory BAR, mapped uncached with metal_map_mmio.  Devices without
 * them (legacy, "disable-modern=on" in QEMU) are driven through I/O BAR 0
 * with the 0.9.5 register layout and page-aligned rings given by page
 * frame number.  A transitional device offers both; the modern interface
 * is preferred and VIRTIO_F_VERSION_1 is then required.
 *
 * A split virtqueue is a descriptor table, a driver-written available
 * ring and a device-written used ring in one zeroed allocation, which
 * must be contiguous in physical memory (laid out as legacy wants it,
 * which modern accepts too).  Segments come with physical addresses:
 * the driver finds them with metal_virt_to_phys.  Free descriptors are
 * chained through their next fields.  virtq_add() fills a chain and
 * publishes its head; virtq_kick() notifies; virtq_reap() hands back the
 * cookie of each finished chain and frees its descriptors.  Ordering: the
 * ring entries are written before the available index (store barrier),
 * the index before the notification (full barrier, since the notification
 * may be an uncached store), and the used index is read before the used
 * entries (load barrier).  x86 keeps stores in order and loads in order,
 * so the first and last are compiler barriers, kept for their meaning.
 *
 * Interrupts are off on this platform: drivers poll the used ring (an
 * interrupt handler would call virtq_reap and wake the waiters).  Single
 * CPU, cooperative threads, and nothing here yields: no locks.  Queue
 * memory lives as long as the machine.
 */
#include "metal.h"

#define EIO 5
#define ENOMEM 12
#define ENOSPC 28
#define ENODEV 19

#define VIRTIO_VENDOR 0x1af4

#define VS_ACK 1
#define VS_DRIVER 2
#define VS_DRIVER_OK 4
#define VS_FEATURES_OK 8
#define VS_FAILED 0x80

#define VRING_DESC_F_NEXT 1
#define VRING_DESC_F_WRITE 2
#define VRING_AVAIL_F_NO_INTERRUPT 1

/* Modern capabilities (PCI capability ID 0x09, vendor-specific). */
#define PCI_CAP_VENDOR 0x09
#define VCAP_COMMON 1
#define VCAP_NOTIFY 2
#define VCAP_DEVICE 4

/* The common configuration structure. */
#define VC_DFSELECT 0x00
#define VC_DF 0x04
#define VC_GFSELECT 0x08
#define VC_GF 0x0c
#define VC_STATUS 0x14
#define VC_GENERATION 0x15
#define VC_QSELECT 0x16
#define VC_QSIZE 0x18
#define VC_QENABLE 0x1c
#define VC_QNOTIFYOFF 0x1e
#define VC_QDESC 0x20
#define VC_QDRIVER 0x28
#define VC_QDEVICE 0x30

/* Legacy I/O registers (no MSI-X: device configuration at 0x14). */
#define VL_DF 0x00
#define VL_GF 0x04
#define VL_QPFN 0x08
#define VL_QSIZE 0x0c
#define VL_QSELECT 0x0e
#define VL_QNOTIFY 0x10
#define VL_STATUS 0x12
#define VL_CONFIG 0x14

#define VQ_ALIGN 4096ul

static inline void
outl(u16 port, u32 v)
{
	__asm__ volatile("outl %0, %1" :: "a"(v), "Nd"(port));
}

static inline u32
inl(u16 port)
{
	u32 v;

	__asm__ volatile("inl %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}

static inline u16
inw(u16 port)
{
	u16 v;

	__asm__ volatile("inw %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}

#define barrier() __asm__ volatile("" ::: "memory")
#define virtio_wmb() barrier()
#define virtio_rmb() barrier()
#define virtio_mb() __asm__ volatile("mfence" ::: "memory")

static inline void
w8(volatile u8 *base, unsigned off, u8 v)
{
	*(volatile u8 *)(base + off) = v;
}

static inline void
w16(volatile u8 *base, unsigned off, u16 v)
{
	*(volatile u16 *)(base + off) = v;
}

static inline void
w32(volatile u8 *base, unsigned off, u32 v)
{
	*(volatile u32 *)(base + off) = v;
}

static inline u8
r8(volatile u8 *base, unsigned off)
{
	return *(volatile u8 *)(base + off);
}

static inline u16
r16(volatile u8 *base, unsigned off)
{
	return *(volatile u16 *)(base + off);
}

static inline u32
r32(volatile u8 *base, unsigned off)
{
	return *(volatile u32 *)(base + off);
}

/* 64-bit registers as two 32-bit halves, which the spec allows. */
static void
w64(volatile u8 *base, unsigned off, u64 v)
{
	w32(base, off, (u32)v);
	w32(base, off + 4, (u32)(v >> 32));
}

static void
vd_set_status(struct virtio_dev *vd, u8 s)
{
	if (vd->vd_modern)
		w8(vd->vd_common, VC_STATUS, s);
	else
		outb(vd->vd_iobase + VL_STATUS, s);
}

static u8
vd_status(struct virtio_dev *vd)
{
	if (vd->vd_modern)
		return r8(vd->vd_common, VC_STATUS);
	return inb(vd->vd_iobase + VL_STATUS);
}

/* The window a modern capability at config offset cap describes. */
static volatile u8 *
vcap_map(struct pci_dev *pd, unsigned cap)
{
	u8 bar = pci_read8(pd, cap + 4);
	u32 off = pci_read32(pd, cap + 8), len = pci_read32(pd, cap + 12);
	struct pci_bar *b;

	if (bar > 5)
		return NULL;
	b = &pd->pd_bar[bar];
	if (b->pb_io || b->pb_addr == 0 || (u64)off + len > b->pb_size)
		return NULL;
	return metal_map_mmio(b->pb_addr + off, len);
}

/* Find the modern windows; 0 if all the ones we use are there. */
static int
virtio_modern_caps(struct virtio_dev *vd)
{
	struct pci_dev *pd = vd->vd_pci;
	unsigned cap = 0;
	u8 type;

	while ((cap = pci_find_cap(pd, PCI_CAP_VENDOR, cap)) != 0) {
		type = pci_read8(pd, cap + 3);
		/* The first capability of each type is the one to use. */
		if (type == VCAP_COMMON && vd->vd_common == NULL)
			vd->vd_common = vcap_map(pd, cap);
		else if (type == VCAP_NOTIFY && vd->vd_notify == NULL) {
			vd->vd_notify = vcap_map(pd, cap);
			vd->vd_notify_mul = pci_read32(pd, cap + 16);
		} else if (type == VCAP_DEVICE && vd->vd_devcfg == NULL)
			vd->vd_devcfg = vcap_map(pd, cap);
	}
	return vd->vd_common != NULL && vd->vd_notify != NULL ? 0 : ENODEV;
}

/*
 * Take the device: find its registers, reset it, and say we see it and
 * can drive it.  Then the driver calls virtio_negotiate, sets up its
 * queues and calls virtio_ready.
 */
int
virtio_attach(struct virtio_dev *vd, struct pci_dev *pd)
{
	unsigned spins;

	memset(vd, 0, sizeof(*vd));
	vd->vd_pci = pd;
	vd->vd_type = pd->pd_device >= 0x1040 ? pd->pd_device - 0x1040 :
	    pd->pd_subsys;
	pci_enable(pd);
	if (virtio_modern_caps(vd) == 0)
		vd->vd_modern = 1;
	else if (pd->pd_device < 0x1040 && pd->pd_bar[0].pb_io &&
	    pd->pd_bar[0].pb_size >= 0x20)
		vd->vd_iobase = (u16)pd->pd_bar[0].pb_addr;
	else
		return ENODEV;
	vd_set_status(vd, 0);
	/* A modern device may take a while to finish its reset. */
	for (spins = 0; vd_status(vd) != 0; spins++) {
		if (spins > 10000000)
			return EIO;
		cpu_relax();
	}
	vd_set_status(vd, VS_ACK);
	vd_set_status(vd, VS_ACK | VS_DRIVER);
	return 0;
}

/* Accept the features in want that the device offers.  0 or EIO. */
int
virtio_negotiate(struct virtio_dev *vd, u64 want)
{
	u64 have;

	if (vd->vd_modern) {
		w32(vd->vd_common, VC_DFSELECT, 0);
		have = r32(vd->vd_common, VC_DF);
		w32(vd->vd_common, VC_DFSELECT, 1);
		have |= (u64)r32(vd->vd_common, VC_DF) << 32;
		want |= VIRTIO_F_VERSION_1;
		if ((have & VIRTIO_F_VERSION_1) == 0)
			return EIO;
		vd->vd_features = have & want;
		w32(vd->vd_common, VC_GFSELECT, 0);
		w32(vd->vd_common, VC_GF, (u32)vd->vd_features);
		w32(vd->vd_common, VC_GFSELECT, 1);
		w32(vd->vd_common, VC_GF, (u32)(vd->vd_features >> 32));
		vd_set_status(vd, VS_ACK | VS_DRIVER | VS_FEATURES_OK);
		if ((vd_status(vd) & VS_FEATURES_OK) == 0)
			return EIO;
		return 0;
	}
	/* Legacy: 32 feature bits, and no FEATURES_OK handshake. */
	have = inl(vd->vd_iobase + VL_DF);
	vd->vd_features = have & want & 0xffffffffu;
	outl(vd->vd_iobase + VL_GF, (u32)vd->vd_features);
	return 0;
}

void
virtio_ready(struct virtio_dev *vd)
{
	vd_set_status(vd, vd_status(vd) | VS_DRIVER_OK);
}

void
virtio_failed(struct virtio_dev *vd)
{
	vd_set_status(vd, VS_FAILED);
}

/*
 * Device configuration, little-endian (legacy is guest-endian, which is
 * the same here).  Modern devices bump a generation counter when the
 * configuration changes: a 64-bit field is read until it is stable.
 */
u32
virtio_cfg32(struct virtio_dev *vd, unsigned off)
{
	if (vd->vd_modern)
		return vd->vd_devcfg != NULL ? r32(vd->vd_devcfg, off) : 0;
	return inl(vd->vd_iobase + VL_CONFIG + off);
}

u64
virtio_cfg64(struct virtio_dev *vd, unsigned off)
{
	u64 v;
	u8 gen;

	if (!vd->vd_modern)
		return inl(vd->vd_iobase + VL_CONFIG + off) |
		    (u64)inl(vd->vd_iobase + VL_CONFIG + off + 4) << 32;
	if (vd->vd_devcfg == NULL)
		return 0;
	do {
		gen = r8(vd->vd_common, VC_GENERATION);
		v = r32(vd->vd_devcfg, off) |
		    (u64)r32(vd->vd_devcfg, off + 4) << 32;
	} while (gen != r8(vd->vd_common, VC_GENERATION));
	return v;
}

/*
 * The physical address of [p, p + len) if it is contiguous in physical
 * memory (rings are handed over as one address), else 0.
 */
static u64
dma_contiguous(const void *p, hyp_size_t len)
{
	u64 pa = metal_virt_to_phys(p, NULL), contig, done = 0;

	while (done < len) {
		if (metal_virt_to_phys((const u8 *)p + done, &contig) !=
		    pa + done)
			return 0;
		done += contig;
	}
	return pa;
}

/* Bytes of the ring area for size entries, as legacy lays it out. */
static hyp_size_t
vq_bytes(unsigned size, hyp_size_t *usedoff)
{
	hyp_size_t avail_end = 16ul * size + 6 + 2ul * size;

	*usedoff = (avail_end + VQ_ALIGN - 1) & ~(VQ_ALIGN - 1);
	return *usedoff + 6 + 8ul * size;
}

/*
 * Set up queue index with at most maxsize entries (a power of two; the
 * legacy interface imposes the device's own size).  0, ENODEV when the
 * device has no such queue, ENOMEM.
 */
int
virtq_init(struct virtio_dev *vd, struct virtq *vq, unsigned index,
    unsigned maxsize)
{
	hyp_size_t usedoff, bytes;
	unsigned size, i;
	u64 pa;
	u8 *mem;

	memset(vq, 0, sizeof(*vq));
	if (vd->vd_modern) {
		w16(vd->vd_common, VC_QSELECT, (u16)index);
		size = r16(vd->vd_common, VC_QSIZE);
		if (size == 0)
			return ENODEV;
		while (size > maxsize)
			size /= 2;
	} else {
		outw(vd->vd_iobase + VL_QSELECT, (u16)index);
		size = inw(vd->vd_iobase + VL_QSIZE);
		if (size == 0)
			return ENODEV;
	}
	bytes = vq_bytes(size, &usedoff);
	mem = mem_alloc(bytes, VQ_ALIGN);
	vq->vq_cookie = mem_alloc(size * sizeof(void *), 8);
	if (mem == NULL || vq->vq_cookie == NULL) {
		mem_free(mem, bytes);
		mem_free(vq->vq_cookie, size * sizeof(void *));
		return ENOMEM;
	}
	pa = dma_contiguous(mem, bytes);
	if (pa == 0 || (!vd->vd_modern && pa / VQ_ALIGN > 0xffffffffu)) {
		mem_free(mem, bytes);
		mem_free(vq->vq_cookie, size * sizeof(void *));
		return ENOMEM;
	}
	memset(mem, 0, bytes);
	vq->vq_dev = vd;
	vq->vq_index = (u16)index;
	vq->vq_size = (u16)size;
	vq->vq_desc = (struct virtq_desc *)mem;
	vq->vq_avail = (volatile u16 *)(mem + 16ul * size);
	vq->vq_used = (volatile u32 *)(mem + usedoff);
	for (i = 0; i < size; i++) {
		vq->vq_desc[i].vd_next = (u16)(i + 1);
		vq->vq_cookie[i] = NULL;
	}
	vq->vq_free = 0;
	vq->vq_nfree = (u16)size;
	/*
	 * We poll: ask the device not to interrupt (an interrupt-driven
	 * driver would leave this 0 and reap in its handler).
	 */
	vq->vq_avail[0] = VRING_AVAIL_F_NO_INTERRUPT;
	if (vd->vd_modern) {
		w16(vd->vd_common, VC_QSIZE, (u16)size);
		w64(vd->vd_common, VC_QDESC, pa);
		w64(vd->vd_common, VC_QDRIVER, pa + 16ul * size);
		w64(vd->vd_common, VC_QDEVICE, pa + usedoff);
		vq->vq_notify_off = r16(vd->vd_common, VC_QNOTIFYOFF);
		w16(vd->vd_common, VC_QENABLE, 1);
	} else {
		outl(vd->vd_iobase + VL_QPFN, (u32)(pa / VQ_ALIGN));
	}
	return 0;
}

/*
 * Queue one request: n segments, the device-readable ones first.  The
 * cookie comes back from virtq_reap when the device is done.  ENOSPC if
 * fewer than n descriptors are free (reap, then try again).
 */
int
virtq_add(struct virtq *vq, const struct virtio_seg *seg, unsigned n,
    void *cookie)
{
	u16 head, d = 0, idx;
	unsigned i;

	if (n == 0 || n > vq->vq_size)
		return EIO;
	if (vq->vq_nfree < n)
		return ENOSPC;
	head = vq->vq_free;
	for (i = 0, d = head; i < n; i++) {
		struct virtq_desc *desc = &vq->vq_desc[d];

		desc->vd_addr = seg[i].vs_addr;
		desc->vd_len = seg[i].vs_len;
		desc->vd_flags = (u16)((seg[i].vs_write ? VRING_DESC_F_WRITE :
		    0) | (i + 1 < n ? VRING_DESC_F_NEXT : 0));
		if (i + 1 < n)
			d = desc->vd_next;
	}
	vq->vq_free = vq->vq_desc[d].vd_next;
	vq->vq_nfree = (u16)(vq->vq_nfree - n);
	vq->vq_cookie[head] = cookie;
	idx = vq->vq_avail[1];
	vq->vq_avail[2 + (idx % vq->vq_size)] = head;
	virtio_wmb();                   /* the entry before the index */
	vq->vq_avail[1] = (u16)(idx + 1);
	return 0;
}

void
virtq_kick(struct virtq *vq)
{
	struct virtio_dev *vd = vq->vq_dev;

	virtio_mb();                    /* the index before the doorbell */
	if (vd->vd_modern)
		w16(vd->vd_notify, vq->vq_notify_off * vd->vd_notify_mul,
		    vq->vq_index);
	else
		outw(vd->vd_iobase + VL_QNOTIFY, vq->vq_index);
}

/*
 * The cookie of the next request the device has finished (and in *len
 * the bytes it wrote), its descriptors back on the free chain; NULL when
 * none is waiting.
 */
void *
virtq_reap(struct virtq *vq, u32 *len)
{
	u16 used_idx = (u16)(vq->vq_used[0] >> 16), head, d;
	volatile u32 *e;
	void *cookie;

	if (used_idx == vq->vq_last_used)
		return NULL;
	virtio_rmb();                   /* the index before the entries */
	e = &vq->vq_used[1 + 2 * (vq->vq_last_used % vq->vq_size)];
	head = (u16)e[0];
	if (len != NULL)
		*len = e[1];
	vq->vq_last_used++;
	if (head >= vq->vq_size || vq->vq_cookie[head] == NULL)
		metal_fatal("virtio: device returned a descriptor not in use");
	cookie = vq->vq_cookie[head];
	vq->vq_cookie[head] = NULL;
	/* Put the chain back on the free list. */
	for (d = head; ; d = vq->vq_desc[d].vd_next) {
		vq->vq_nfree++;
		if ((vq->vq_desc[d].vd_flags & VRING_DESC_F_NEXT) == 0)
			break;
	}
	vq->vq_desc[d].vd_next = vq->vq_free;
	vq->vq_free = head;
	return cookie;
}

/* Probe every virtio function on the PCI buses and attach the drivers. */
void
virtio_init(void)
{
	struct pci_dev *pd = NULL;
	int type;

	while ((pd = pci_find(VIRTIO_VENDOR, 0x1000, 0x107f, pd)) != NULL) {
		type = pd->pd_device >= 0x1040 ? pd->pd_device - 0x1040 :
		    pd->pd_subsys;
		if (type == 2)
			vblk_probe(pd);
		else if (type == 4)
			vrng_probe(pd);
	}
}
