/*
 * The bare-metal platform's private interfaces: port I/O, the serial
 * console, the boot-time allocator, the clock and the cooperative
 * scheduler.  Everything here is single-CPU and runs with interrupts off:
 * a thread runs until it blocks or yields, so the platform's own data
 * needs no locks.
 */
#ifndef PITH_METAL_H
#define PITH_METAL_H

#include <pith/hyp.h>

typedef unsigned char u8;
typedef unsigned short u16;
typedef unsigned int u32;
typedef unsigned long u64;
typedef unsigned long uintptr;

#define NULL ((void *)0)

/* Exit codes written to the isa-debug-exit port (QEMU exits (v << 1) | 1). */
#define METAL_EXIT_PANIC 0x00   /* QEMU status 1 */
#define METAL_EXIT_PASS  0x10   /* QEMU status 33 */
#define METAL_EXIT_FAIL  0x11   /* QEMU status 35 */

static inline void
outb(u16 port, u8 v)
{
	__asm__ volatile("outb %0, %1" :: "a"(v), "Nd"(port));
}

static inline void
outw(u16 port, u16 v)
{
	__asm__ volatile("outw %0, %1" :: "a"(v), "Nd"(port));
}

static inline u8
inb(u16 port)
{
	u8 v;

	__asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}

static inline u64
rdtsc(void)
{
	u32 lo, hi;

	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return ((u64)hi << 32) | lo;
}

static inline void
cpu_relax(void)
{
	__asm__ volatile("pause" ::: "memory");
}

/* metal.c */
void metal_puts(const char *s);
void metal_putx(u64 v);
void metal_putd(long v);
void metal_exit(int code) __attribute__((noreturn));
void metal_fatal(const char *why) __attribute__((noreturn));
const char *metal_cmdline(void);

/* mem.c: the heap is every byte between the image's end and the top. */
void mem_init(uintptr start, uintptr end);
void *mem_alloc(hyp_size_t size, hyp_size_t align);
void mem_free(void *p, hyp_size_t size);
u64 mem_inuse(void);

/* clock.c */
void clock_init(void);

/* sched.c */
void sched_init(void);
int sched_nthreads(void);

/* boot.S */
void metal_ctx_switch(void **save_sp, void *new_sp);
void metal_thread_trampoline(void);
extern const u64 metal_trap_stubs[32];

/*
 * --- devices: PCI, virtio, memory map, PVH (pci.c, virtio*.c, dma.c,
 * mmio.c, boot_info.c, pvh.S) -----------------------------------------------
 */
void *memset(void *dst, int c, hyp_size_t n);
void *memcpy(void *dst, const void *src, hyp_size_t n);

/* dma.c: physical addresses for DMA (by page-table walk). */
u64 metal_virt_to_phys(const void *p, u64 *contig);
/* mmio.c: map device memory, uncached; NULL if out of room. */
void *metal_map_mmio(u64 pa, hyp_size_t len);

struct pci_bar {
	u64 pb_addr;                    /* bus address; 0: not implemented */
	u64 pb_size;
	int pb_io;                      /* I/O ports rather than memory */
};

struct pci_dev {
	u8 pd_bus, pd_slot, pd_func;
	u16 pd_vendor, pd_device, pd_subsys;
	u32 pd_class;                   /* class, subclass, prog-if */
	struct pci_bar pd_bar[6];
};

void pci_init(void);
struct pci_dev *pci_find(u16 vendor, u16 dev_lo, u16 dev_hi,
    struct pci_dev *from);
u32 pci_read32(const struct pci_dev *d, unsigned off);
u16 pci_read16(const struct pci_dev *d, unsigned off);
u8 pci_read8(const struct pci_dev *d, unsigned off);
void pci_write32(const struct pci_dev *d, unsigned off, u32 v);
unsigned pci_find_cap(const struct pci_dev *d, u8 id, unsigned after);
void pci_enable(const struct pci_dev *d);

/* virtio.c: the virtio-pci transport (modern, or legacy) and split rings. */
struct virtio_dev {
	struct pci_dev *vd_pci;
	int vd_type;                    /* virtio device ID: 2 block, 4 entropy */
	int vd_modern;
	volatile u8 *vd_common;         /* modern: the capabilities' windows */
	volatile u8 *vd_notify;
	u32 vd_notify_mul;
	volatile u8 *vd_devcfg;
	u16 vd_iobase;                  /* legacy: the I/O BAR */
	u64 vd_features;                /* negotiated */
};

struct virtq_desc {
	u64 vd_addr;
	u32 vd_len;
	u16 vd_flags;
	u16 vd_next;
};

struct virtq {
	struct virtio_dev *vq_dev;
	u16 vq_index;
	u16 vq_size;
	u16 vq_free;                    /* head of the free descriptor chain */
	u16 vq_nfree;
	u16 vq_last_used;               /* next used-ring slot to look at */
	u16 vq_notify_off;
	struct virtq_desc *vq_desc;
	volatile u16 *vq_avail;         /* flags, idx, ring[size], event */
	volatile u32 *vq_used;          /* flags|idx, then {id, len} pairs */
	void **vq_cookie;               /* by head descriptor */
};

struct virtio_seg {
	u64 vs_addr;                    /* physical */
	u32 vs_len;
	int vs_write;                   /* the device writes it */
};

#define VIRTIO_F_VERSION_1 (1ul << 32)

void virtio_init(void);
int virtio_attach(struct virtio_dev *vd, struct pci_dev *pd);
int virtio_negotiate(struct virtio_dev *vd, u64 want);
int virtq_init(struct virtio_dev *vd, struct virtq *vq, unsigned index,
    unsigned maxsize);
void virtio_ready(struct virtio_dev *vd);
void virtio_failed(struct virtio_dev *vd);
u32 virtio_cfg32(struct virtio_dev *vd, unsigned off);
u64 virtio_cfg64(struct virtio_dev *vd, unsigned off);
int virtq_add(struct virtq *vq, const struct virtio_seg *seg, unsigned n,
    void *cookie);
void virtq_kick(struct virtq *vq);
void *virtq_reap(struct virtq *vq, u32 *len);

/* virtio_blk.c, virtio_rng.c: the drivers' probes. */
void vblk_probe(struct pci_dev *pd);
void vrng_probe(struct pci_dev *pd);
int vblk_count(void);
int vrng_present(void);

/* metal.c: entropy from the CPU (RDRAND, else timing jitter). */
int metal_cpu_random(void *buf, hyp_size_t len);

/* boot_info.c: the boot loader's view of memory, and PVH boots. */
#define PVH_MAGIC 0x336ec578
u32 pvh_to_multiboot(u32 start_info);
uintptr metal_mem_top(u32 mb_info, uintptr ceiling);

/* The end of the devices block. */

/* The program the platform runs (tests/metal/selftest.c). */
int main(void);

#endif
