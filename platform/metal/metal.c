/*
 * The bare-metal platform's core: the C entry point, the COM1 serial
 * console, CPU exceptions, powering off through QEMU's isa-debug-exit
 * device, entropy, and the life-cycle and block-device hypercalls.
 *
 * The machine is a single CPU with interrupts off for good: time comes
 * from the TSC (clock.c) and threads switch only when they block or
 * yield (sched.c).  A fault prints its vector and where, then exits.
 */
#include "metal.h"

#define COM1 0x3f8
#define DEBUG_EXIT_PORT 0xf4

#define EINVAL 22
#define EBUSY 16
#define ENODEV 19

/* Set by boot.S. */
extern u32 metal_mb_magic, metal_mb_info;
extern char _end[];

static const struct hyp_upcalls *metal_up;
static int metal_hyp_running;

/* --- the compiler's own needs (kernel.o has its own, renamed pithk_*) -- */

void *memcpy(void *dst, const void *src, hyp_size_t n);
void *memset(void *dst, int c, hyp_size_t n);
void *memmove(void *dst, const void *src, hyp_size_t n);
int memcmp(const void *a, const void *b, hyp_size_t n);

/*
 * String moves as single instructions: a C loop here could be turned back
 * into a call to the very function being defined.
 */
void *
memcpy(void *dst, const void *src, hyp_size_t n)
{
	void *d = dst;

	__asm__ volatile("rep movsb" : "+D"(d), "+S"(src), "+c"(n) :: "memory");
	return dst;
}

void *
memmove(void *dst, const void *src, hyp_size_t n)
{
	u8 *d = dst;
	const u8 *s = src;

	if (d <= s || d >= s + n)
		return memcpy(dst, src, n);
	/* Overlapping, destination above: copy backwards. */
	d += n - 1;
	s += n - 1;
	__asm__ volatile("std; rep movsb; cld"
	    : "+D"(d), "+S"(s), "+c"(n) :: "memory");
	return dst;
}

void *
memset(void *dst, int c, hyp_size_t n)
{
	void *d = dst;

	__asm__ volatile("rep stosb" : "+D"(d), "+c"(n) : "a"(c) : "memory");
	return dst;
}

int
memcmp(const void *a, const void *b, hyp_size_t n)
{
	const u8 *x = a, *y = b;

	for (; n > 0; n--, x++, y++)
		if (*x != *y)
			return *x < *y ? -1 : 1;
	return 0;
}

/* --- serial console ------------------------------------------------------ */

static void
serial_init(void)
{
	outb(COM1 + 1, 0x00);           /* no interrupts */
	outb(COM1 + 3, 0x80);           /* DLAB */
	outb(COM1 + 0, 0x01);           /* 115200 baud */
	outb(COM1 + 1, 0x00);
	outb(COM1 + 3, 0x03);           /* 8N1 */
	outb(COM1 + 2, 0xc7);           /* FIFO on, cleared */
	outb(COM1 + 4, 0x03);           /* DTR, RTS */
}

static void
serial_putc(char c)
{
	unsigned spins = 0;

	/* Wait for the transmit register, but never forever. */
	while ((inb(COM1 + 5) & 0x20) == 0 && spins++ < 1000000)
		cpu_relax();
	outb(COM1, (u8)c);
}

void
hyp_console_write(const char *buf, hyp_size_t len)
{
	while (len-- > 0)
		serial_putc(*buf++);
}

void
metal_puts(const char *s)
{
	while (*s != '\0')
		serial_putc(*s++);
}

void
metal_putx(u64 v)
{
	char buf[19];
	int i;

	buf[0] = '0';
	buf[1] = 'x';
	for (i = 0; i < 16; i++)
		buf[2 + i] = "0123456789abcdef"[(v >> (60 - 4 * i)) & 0xf];
	buf[18] = '\0';
	metal_puts(buf);
}

void
metal_putd(long v)
{
	char buf[24];
	int i = sizeof(buf) - 1;
	u64 u = v < 0 ? -(u64)v : (u64)v;

	buf[i] = '\0';
	do {
		buf[--i] = (char)('0' + u % 10);
		u /= 10;
	} while (u != 0);
	if (v < 0)
		buf[--i] = '-';
	metal_puts(&buf[i]);
}

/* --- power off ----------------------------------------------------------- */

void
metal_exit(int code)
{
	/* QEMU's isa-debug-exit ends the emulator with (code << 1) | 1. */
	outb(DEBUG_EXIT_PORT, (u8)code);
	/* Without that device: ACPI power-off on QEMU (new and old ports). */
	outw(0x604, 0x2000);
	outw(0xb004, 0x2000);
	for (;;)
		__asm__ volatile("cli; hlt");
}

void
metal_fatal(const char *why)
{
	metal_puts("metal: fatal: ");
	metal_puts(why);
	metal_puts("\n");
	metal_exit(METAL_EXIT_PANIC);
}

void
hyp_panic(void)
{
	/*
	 * The kernel has already printed its message.  Kernel objects keep no
	 * frame pointers, so only the immediate caller is known for sure.
	 */
	metal_puts("metal: panic, called from ");
	metal_putx((u64)(uintptr)__builtin_return_address(0));
	metal_puts("\n");
	metal_exit(METAL_EXIT_PANIC);
}

/* --- CPU exceptions ------------------------------------------------------ */

struct trap_frame {
	u64 tf_vector;
	u64 tf_err;
	u64 tf_rip;
	u64 tf_cs;
	u64 tf_rflags;
	u64 tf_rsp;
	u64 tf_ss;
};

struct idt_gate {
	u16 ig_off0;
	u16 ig_sel;
	u8 ig_ist;
	u8 ig_type;
	u16 ig_off1;
	u32 ig_off2;
	u32 ig_zero;
} __attribute__((packed));

static struct idt_gate metal_idt[32] __attribute__((aligned(16)));

void metal_trap(struct trap_frame *tf) __attribute__((noreturn));

void
metal_trap(struct trap_frame *tf)
{
	u64 cr2;

	__asm__ volatile("movq %%cr2, %0" : "=r"(cr2));
	metal_puts("metal: CPU exception ");
	metal_putd((long)tf->tf_vector);
	metal_puts(" err ");
	metal_putx(tf->tf_err);
	metal_puts(" rip ");
	metal_putx(tf->tf_rip);
	metal_puts(" rsp ");
	metal_putx(tf->tf_rsp);
	metal_puts(" cr2 ");
	metal_putx(cr2);
	metal_puts("\n");
	metal_exit(METAL_EXIT_PANIC);
}

static void
idt_init(void)
{
	struct {
		u16 limit;
		u64 base;
	} __attribute__((packed)) idtr;
	int i;

	for (i = 0; i < 32; i++) {
		u64 off = metal_trap_stubs[i];

		metal_idt[i].ig_off0 = (u16)off;
		metal_idt[i].ig_sel = 0x08;
		metal_idt[i].ig_ist = 0;
		metal_idt[i].ig_type = 0x8e;    /* present, interrupt gate */
		metal_idt[i].ig_off1 = (u16)(off >> 16);
		metal_idt[i].ig_off2 = (u32)(off >> 32);
		metal_idt[i].ig_zero = 0;
	}
	idtr.limit = sizeof(metal_idt) - 1;
	idtr.base = (u64)metal_idt;
	__asm__ volatile("lidt %0" :: "m"(idtr));
}

/* --- entropy ------------------------------------------------------------- */

static int metal_have_rdrand;

static void
rnd_probe(void)
{
	u32 a, b, c, d;

	__asm__ volatile("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d)
	    : "a"(1), "c"(0));
	metal_have_rdrand = (c >> 30) & 1;
}

static int
rdrand64(u64 *v)
{
	unsigned char ok;
	int tries;

	for (tries = 0; tries < 10; tries++) {
		__asm__ volatile("rdrand %0; setc %1" : "=r"(*v), "=qm"(ok));
		if (ok)
			return 1;
	}
	return 0;
}

/*
 * Without RDRAND the only unpredictability is timing: the low bits of the
 * TSC around port reads, folded through a 64-bit mixer.  This is NOT
 * cryptographic entropy; on such a CPU the kernel's generator is only as
 * good as this.  Documented in platform/metal/README.md.
 */
static u64
rnd_jitter64(void)
{
	static u64 state = 0x9e3779b97f4a7c15ul;
	u64 z;
	int i;

	for (i = 0; i < 16; i++) {
		(void)inb(0x80 + 0);
		state += rdtsc() ^ 0x9e3779b97f4a7c15ul;
		state = (state ^ (state >> 31)) * 0xbf58476d1ce4e5b9ul;
	}
	z = state;
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ul;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebul;
	return z ^ (z >> 31);
}

int
hyp_getrandom(void *buf, hyp_size_t len)
{
	u8 *p = buf;
	u64 v;
	hyp_size_t i;

	while (len > 0) {
		if (!metal_have_rdrand || !rdrand64(&v))
			v = rnd_jitter64();
		for (i = 0; i < 8 && len > 0; i++, len--)
			*p++ = (u8)(v >> (8 * i));
	}
	return 0;
}

/* --- life cycle ---------------------------------------------------------- */

int
hyp_init(int version, const struct hyp_upcalls *up)
{
	if (version != HYP_VERSION)
		return EINVAL;
	if (metal_hyp_running)
		return EBUSY;
	metal_up = up;
	metal_hyp_running = 1;
	return 0;
}

void
hyp_fini(void)
{
	metal_up = NULL;
	metal_hyp_running = 0;
}

/* For sched.c: tell the kernel a thread that still has an lwp is ending. */
void metal_lwp_exit(void *lwp);

void
metal_lwp_exit(void *lwp)
{
	if (metal_up != NULL && metal_up->hu_lwp_exit != NULL && lwp != NULL)
		metal_up->hu_lwp_exit(lwp);
}

/* --- block devices: none yet (virtio-blk is a later slice) ---------------- */

int
hyp_bio_open(const char *name, int flags, struct hyp_bio **ret,
    unsigned long long *size)
{
	return ENODEV;
}

int
hyp_bio_read(struct hyp_bio *b, unsigned long long off, void *buf,
    hyp_size_t len)
{
	return ENODEV;
}

int
hyp_bio_write(struct hyp_bio *b, unsigned long long off, const void *buf,
    hyp_size_t len)
{
	return ENODEV;
}

int
hyp_bio_sync(struct hyp_bio *b)
{
	return ENODEV;
}

void
hyp_bio_close(struct hyp_bio *b)
{
}

/* --- entry --------------------------------------------------------------- */

#define MB_BOOT_MAGIC 0x2BADB002
#define MB_INFO_MEM 0x1
#define HEAP_CEILING 0x40000000ul       /* end of the identity map */

#define MB_INFO_CMDLINE 0x4

struct mb_info {
	u32 mi_flags;
	u32 mi_mem_lower;               /* KiB below 1 MiB */
	u32 mi_mem_upper;               /* KiB above 1 MiB */
	u32 mi_boot_device;
	u32 mi_cmdline;                 /* physical address of a C string */
};

/* A copy: the loader's string may lie where the heap will be. */
static char metal_cmdline_buf[256];
static const char *metal_cmdline_str = "";

/* The boot loader's command line (QEMU: -append), "" if none. */
const char *
metal_cmdline(void)
{
	return metal_cmdline_str;
}

void metal_start(u32 magic, u32 info) __attribute__((noreturn));

void
metal_start(u32 magic, u32 info)
{
	const struct mb_info *mi = (const struct mb_info *)(uintptr)info;
	uintptr top;
	int r;

	serial_init();
	idt_init();
	/* A newline first: the BIOS leaves the cursor mid-line. */
	metal_puts("\npith metal: booting\n");
	if (magic != MB_BOOT_MAGIC)
		metal_fatal("not loaded by a multiboot loader");
	if ((mi->mi_flags & MB_INFO_MEM) == 0)
		metal_fatal("the boot loader gave no memory size");
	if ((mi->mi_flags & MB_INFO_CMDLINE) != 0 && mi->mi_cmdline != 0) {
		const char *c = (const char *)(uintptr)mi->mi_cmdline;
		unsigned i;

		for (i = 0; c[i] != '\0' && i < sizeof(metal_cmdline_buf) - 1; i++)
			metal_cmdline_buf[i] = c[i];
		metal_cmdline_buf[i] = '\0';
		metal_cmdline_str = metal_cmdline_buf;
	}
	top = 0x100000ul + (uintptr)mi->mi_mem_upper * 1024;
	if (top > HEAP_CEILING)
		top = HEAP_CEILING;
	/* The heap starts past the loader's modules (bootargs.c). */
	mem_init(metal_bootargs_early(info, ((uintptr)_end + 4095) & ~4095ul),
	    top);
	rnd_probe();
	clock_init();
	sched_init();
	metal_puts("pith metal: memory ");
	metal_putd((long)((top - (uintptr)_end) >> 10));
	metal_puts(" KiB free, rdrand ");
	metal_puts(metal_have_rdrand ? "yes" : "no (timing fallback)");
	metal_puts("\n");
	r = main();
	/* After pith_fini the kernel should have handed back every byte. */
	metal_puts("pith metal: heap in use ");
	metal_putd((long)mem_inuse());
	metal_puts(" bytes, threads ");
	metal_putd(sched_nthreads());
	metal_puts("\npith metal: program returned ");
	metal_putd(r);
	metal_puts(", powering off\n");
	metal_exit(r == 0 ? METAL_EXIT_PASS : METAL_EXIT_FAIL);
}
