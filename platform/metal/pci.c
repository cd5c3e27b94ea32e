/*
 * PCI: enumeration through configuration mechanism #1 (an address written
 * to port 0xcf8, a dword read or written at 0xcfc), and the BARs and the
 * capability list of each function.
 *
 * The firmware (SeaBIOS under QEMU, also when it boots us through PVH)
 * has already assigned every BAR and numbered the buses behind bridges,
 * so enumeration only reads: bus 0, and the secondary bus of every
 * PCI-to-PCI bridge found, recursively (each bus at most once).  The
 * functions found are kept in a small static table, probed once at boot
 * by pci_init() and read-only afterwards; drivers look themselves up
 * with pci_find().  A BAR's size is learned the usual way, by writing
 * all ones with decoding off and reading back which bits stuck.
 * Drivers map memory BARs with metal_map_mmio (vm.c).
 *
 * Single CPU, interrupts off: nothing here locks.
 */
#include "metal.h"

#define PCI_ADDR 0xcf8
#define PCI_DATA 0xcfc

#define PCI_MAXDEV 32
#define PCI_CMD_IO 0x1
#define PCI_CMD_MEM 0x2
#define PCI_CMD_MASTER 0x4
#define PCI_STATUS_CAPS 0x10


static struct pci_dev pci_devs[PCI_MAXDEV];
static int pci_ndevs;
static u8 pci_busdone[256 / 8];

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

static u32
pci_addr(const struct pci_dev *d, unsigned off)
{
	return 0x80000000u | (u32)d->pd_bus << 16 | (u32)d->pd_slot << 11 |
	    (u32)d->pd_func << 8 | (off & 0xfc);
}

u32
pci_read32(const struct pci_dev *d, unsigned off)
{
	outl(PCI_ADDR, pci_addr(d, off));
	return inl(PCI_DATA);
}

u16
pci_read16(const struct pci_dev *d, unsigned off)
{
	return (u16)(pci_read32(d, off) >> (8 * (off & 2)));
}

u8
pci_read8(const struct pci_dev *d, unsigned off)
{
	return (u8)(pci_read32(d, off) >> (8 * (off & 3)));
}

void
pci_write32(const struct pci_dev *d, unsigned off, u32 v)
{
	outl(PCI_ADDR, pci_addr(d, off));
	outl(PCI_DATA, v);
}

/*
 * The command register shares its dword with the status register, whose
 * bits are cleared by writing ones: write zeros there.
 */
static void
pci_set_cmd(const struct pci_dev *d, u16 cmd)
{
	pci_write32(d, 0x04, cmd);
}

/*
 * Learn BAR i's address and size.  Decoding is off while the all-ones
 * pattern sits in the register, so the device never answers at a bogus
 * address.  Returns the number of registers the BAR takes (2 for 64-bit).
 */
static int
pci_bar_probe(struct pci_dev *d, int i)
{
	unsigned off = 0x10 + 4 * i;
	struct pci_bar *b = &d->pd_bar[i];
	u32 lo, szlo, hi = 0, szhi = 0xffffffffu;
	u16 cmd = pci_read16(d, 0x04);
	int n = 1;

	lo = pci_read32(d, off);
	pci_set_cmd(d, cmd & ~(PCI_CMD_IO | PCI_CMD_MEM));
	pci_write32(d, off, 0xffffffffu);
	szlo = pci_read32(d, off);
	pci_write32(d, off, lo);
	if ((lo & 1) == 0 && (lo & 6) == 4 && i < 5) {
		n = 2;
		hi = pci_read32(d, off + 4);
		pci_write32(d, off + 4, 0xffffffffu);
		szhi = pci_read32(d, off + 4);
		pci_write32(d, off + 4, hi);
	}
	pci_set_cmd(d, cmd);
	if (szlo == 0 || szlo == 0xffffffffu)
		return n;               /* not implemented */
	if (lo & 1) {
		b->pb_io = 1;
		b->pb_addr = lo & ~3u;
		b->pb_size = (~(szlo & ~3u) + 1) & 0xffff;
	} else {
		u64 mask = (u64)szhi << 32 | (szlo & ~0xfu);

		b->pb_addr = (u64)hi << 32 | (lo & ~0xfu);
		if (n == 1)
			mask |= 0xffffffff00000000ul;
		b->pb_size = ~mask + 1;
	}
	return n;
}

static void pci_scan_bus(unsigned bus);

static void
pci_add(unsigned bus, unsigned slot, unsigned func)
{
	struct pci_dev tmp, *d;
	u32 id, class;
	u8 hdr;
	int i;

	tmp.pd_bus = (u8)bus;
	tmp.pd_slot = (u8)slot;
	tmp.pd_func = (u8)func;
	id = pci_read32(&tmp, 0x00);
	class = pci_read32(&tmp, 0x08);
	hdr = pci_read8(&tmp, 0x0e) & 0x7f;
	if (hdr == 1) {
		/* A PCI-to-PCI bridge: what lies behind it is another bus. */
		pci_scan_bus(pci_read8(&tmp, 0x19));
		return;
	}
	if (hdr != 0)
		return;
	if (pci_ndevs == PCI_MAXDEV) {
		metal_puts("pci: too many functions, ignoring the rest\n");
		return;
	}
	d = &pci_devs[pci_ndevs++];
	*d = tmp;
	d->pd_vendor = (u16)id;
	d->pd_device = (u16)(id >> 16);
	d->pd_class = class >> 8;
	d->pd_subsys = (u16)(pci_read32(d, 0x2c) >> 16);
	for (i = 0; i < 6; i++) {
		d->pd_bar[i].pb_addr = 0;
		d->pd_bar[i].pb_size = 0;
		d->pd_bar[i].pb_io = 0;
	}
	for (i = 0; i < 6; )
		i += pci_bar_probe(d, i);
}

static void
pci_scan_bus(unsigned bus)
{
	struct pci_dev tmp;
	unsigned slot, func, nfunc;

	if (bus > 255 || (pci_busdone[bus / 8] & (1u << (bus % 8))) != 0)
		return;
	pci_busdone[bus / 8] |= (u8)(1u << (bus % 8));
	tmp.pd_bus = (u8)bus;
	for (slot = 0; slot < 32; slot++) {
		tmp.pd_slot = (u8)slot;
		tmp.pd_func = 0;
		if ((pci_read32(&tmp, 0x00) & 0xffff) == 0xffff)
			continue;
		nfunc = (pci_read8(&tmp, 0x0e) & 0x80) ? 8 : 1;
		for (func = 0; func < nfunc; func++) {
			tmp.pd_func = (u8)func;
			if ((pci_read32(&tmp, 0x00) & 0xffff) != 0xffff)
				pci_add(bus, slot, func);
		}
	}
}

void
pci_init(void)
{
	pci_scan_bus(0);
}

/*
 * The next function after *from (NULL: the first) whose vendor is vendor
 * and whose device ID lies in [dev_lo, dev_hi]; NULL when there is none.
 */
struct pci_dev *
pci_find(u16 vendor, u16 dev_lo, u16 dev_hi, struct pci_dev *from)
{
	int i = from == NULL ? 0 : (int)(from - pci_devs) + 1;

	for (; i < pci_ndevs; i++)
		if (pci_devs[i].pd_vendor == vendor &&
		    pci_devs[i].pd_device >= dev_lo &&
		    pci_devs[i].pd_device <= dev_hi)
			return &pci_devs[i];
	return NULL;
}

/*
 * The config-space offset of the next capability with ID id after the
 * one at offset after (0: from the start of the list); 0 if none.  The
 * walk is bounded: a looping list in a broken device ends it.
 */
unsigned
pci_find_cap(const struct pci_dev *d, u8 id, unsigned after)
{
	unsigned off, n;

	if ((pci_read16(d, 0x06) & PCI_STATUS_CAPS) == 0)
		return 0;
	off = after == 0 ? pci_read8(d, 0x34) : pci_read8(d, after + 1);
	for (n = 0; off >= 0x40 && n < 48; n++) {
		off &= 0xfc;
		if (pci_read8(d, off) == id)
			return off;
		off = pci_read8(d, off + 1);
	}
	return 0;
}

/* Turn on I/O and memory decoding and bus mastering (DMA). */
void
pci_enable(const struct pci_dev *d)
{
	pci_set_cmd(d, pci_read16(d, 0x04) | PCI_CMD_IO | PCI_CMD_MEM |
	    PCI_CMD_MASTER);
}
