/*
 * The bare-metal platform's core: the C entry point and boot order, the
 * COM1 serial console, powering off through QEMU's isa-debug-exit device,
 * the CPU's entropy, and the life-cycle hypercalls.  Devices (PCI,
 * virtio-blk behind hyp_bio_*, virtio-rng) live in their own files.
 *
 * Boot: console, traps (trap.c), a PVH start converted to multiboot
 * information (boot_info.c), page tables (vm.c), the heap beside the
 * image and the loader's modules, clocks, scheduler, the timer, PCI and
 * virtio devices.  Then the image's program: the self-test's main() when
 * linked in (pith.elf), or the application path of pith-kernel.elf:
 * pith_kinit, the boot arguments (metal_bootargs_setup), the program
 * (metal_app_run) and the status record with power-off
 * (metal_exit_status).
 *
 * A single CPU; ring 0 runs with interrupts off (trap.c), threads switch
 * only when they block or yield (sched.c).
 */
#include "metal.h"
#include "uproc.h"

#define COM1 0x3f8
#define DEBUG_EXIT_PORT 0xf4

/* Set by boot.S. */
extern u32 metal_mb_magic, metal_mb_info;
extern char _end[];

static const struct hyp_upcalls *metal_up;
static int metal_hyp_running;

/* --- the compiler's own needs (kernel.o has its own, renamed pithk_*) --- */

void *memmove(void *dst, const void *src, hyp_size_t n);

/*
 * String moves as single instructions: a C loop here could be turned back
 * into a call to the very function being defined.
 */
void *
memcpy(void *dst, const void *src, hyp_size_t n)
{
	void *d = dst;
	hyp_size_t q = n / 8;

	/*
	 * Eight bytes a step, then the tail: under emulation each step of a
	 * string instruction costs about the same whatever its width.
	 */
	n %= 8;
	__asm__ volatile("rep movsq" : "+D"(d), "+S"(src), "+c"(q) :: "memory");
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
	hyp_size_t q = n / 8;
	u64 v = (u8)c * 0x0101010101010101ul;

	n %= 8;
	__asm__ volatile("rep stosq" : "+D"(d), "+c"(q) : "a"(v) : "memory");
	__asm__ volatile("rep stosb" : "+D"(d), "+c"(n) : "a"(v) : "memory");
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

/* --- serial console ----------------------------------------------------- */

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

/* --- power off ---------------------------------------------------------- */

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
	u64 rsp;

	metal_puts("metal: fatal: ");
	metal_puts(why);
	metal_puts("\n");
	__asm__ volatile("movq %%rsp, %0" : "=r"(rsp));
	metal_backtrace(0, rsp);
	metal_exit_status(METAL_STATUS_PANIC, 0);
}

void
hyp_panic(void)
{
	struct trapframe tf;

	/* The kernel has already printed its message. */
	metal_puts("metal: panic, called from ");
	metal_putx((u64)(uintptr)__builtin_return_address(0));
	metal_puts("\n");
	/* What survives a call: the callee-saved registers, rsp, the caller. */
	memset(&tf, 0, sizeof(tf));
	__asm__ volatile("movq %%rbx, %0; movq %%rbp, %1; movq %%r12, %2; "
	    "movq %%r13, %3; movq %%r14, %4; movq %%r15, %5; movq %%rsp, %6"
	    : "=m"(tf.tf_rbx), "=m"(tf.tf_rbp), "=m"(tf.tf_r12), "=m"(tf.tf_r13),
	    "=m"(tf.tf_r14), "=m"(tf.tf_r15), "=m"(tf.tf_rsp));
	tf.tf_rip = (u64)(uintptr)__builtin_return_address(0);
	tf.tf_cs = SEL_KCODE;
	tf.tf_ss = SEL_KDATA;
	trap_dump(&tf);
	metal_backtrace(0, tf.tf_rsp);
	metal_exit_status(METAL_STATUS_PANIC, 0);
}

/* --- entropy ------------------------------------------------------------ */

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

/* hyp_getrandom (virtio_rng.c) falls back to this. */
int
metal_cpu_random(void *buf, hyp_size_t len)
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

/* --- life cycle --------------------------------------------------------- */

#define EBUSY 16
#define EINVAL 22

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

/* --- entry --------------------------------------------------------------- */

#define MB_BOOT_MAGIC 0x2BADB002
#define MB_INFO_MEM 0x1
#define MB_INFO_CMDLINE 0x4
#define MB_INFO_MODS 0x8
#define HEAP_CEILING 0x40000000ul       /* end of the direct map */
#define MAX_MODULES 8

struct mb_info {
	u32 mi_flags;
	u32 mi_mem_lower;               /* KiB below 1 MiB */
	u32 mi_mem_upper;               /* KiB above 1 MiB */
	u32 mi_boot_device;
	u32 mi_cmdline;                 /* physical address of a C string */
	u32 mi_mods_count;
	u32 mi_mods_addr;
};

struct mb_module {
	u32 mod_start, mod_end, mod_string, mod_reserved;
};

/* A copy: the loader's string may lie where the heap will be. */
static char metal_cmdline_buf[4096];
static const char *metal_cmdline_str = "";
static struct metal_module metal_mods[MAX_MODULES];
static int metal_nmods;

/* The boot loader's command line (QEMU: -append), "" if none. */
const char *
metal_cmdline(void)
{
	return metal_cmdline_str;
}

int
metal_modules(const struct metal_module **mods)
{
	*mods = metal_mods;
	return metal_nmods;
}

static u64
str_end(u64 pa)
{
	const char *s = (const char *)(uintptr)pa;

	while (*s != '\0')
		s++;
	return (u64)(uintptr)s + 1;
}

/* What the loader left in memory that the heap must not cover. */
/* The information, module list and blob; each module and its name. */
#define MAX_RESERVED (3 + 2 * MAX_MODULES)

struct mb_reserved {
	int r_n;
	u64 r_range[MAX_RESERVED][2];   /* physical, [lo, hi) */
};

static void
mb_reserve(struct mb_reserved *rs, u64 lo, u64 hi)
{
	if (rs->r_n == MAX_RESERVED)
		metal_fatal("too many boot modules");
	rs->r_range[rs->r_n][0] = lo;
	rs->r_range[rs->r_n][1] = hi;
	rs->r_n++;
}

/*
 * The heap: the largest page-aligned gap between the image's end and
 * top that holds none of the loader's ranges.  A multiboot loader puts
 * its structures and modules just above the image, a PVH loader (QEMU)
 * puts the initrd at the top of RAM: either way the heap takes the rest.
 */
static void
mb_heap(const struct mb_reserved *rs, u64 top, u64 *lo, u64 *hi)
{
	u64 s, e, best_lo = 0, best_hi = 0;
	int i, j;

	for (i = -1; i < rs->r_n; i++) {
		s = i < 0 ? (u64)(uintptr)_end : rs->r_range[i][1];
		s = (s + 4095) & ~4095ul;
		if (s < (u64)(uintptr)_end || s >= top)
			continue;
		e = top;
		for (j = 0; j < rs->r_n && s < e; j++) {
			if (rs->r_range[j][1] <= s)
				continue;
			if (rs->r_range[j][0] <= s)
				e = s;          /* s lies inside a range */
			else if (rs->r_range[j][0] < e)
				e = rs->r_range[j][0] & ~4095ul;
		}
		if (e > s && e - s > best_hi - best_lo) {
			best_lo = s;
			best_hi = e;
		}
	}
	*lo = best_lo;
	*hi = best_hi;
}

/*
 * Copy the command line, record the modules, reserve a baked blob
 * (bootargs.c), and find the heap between the image and top (mb_heap).
 * Module pointers handed on are direct-map addresses, valid in every
 * address space; this runs on the boot page tables, which still
 * identity-map the loader's structures.
 */
static void
mb_scan(const struct mb_info *mi, u64 top, u64 *lo, u64 *hi)
{
	struct mb_reserved rs;
	u64 baked;
	int i;

	rs.r_n = 0;
	mb_reserve(&rs, (u64)(uintptr)mi, (u64)(uintptr)mi + sizeof(*mi));
	if ((mi->mi_flags & MB_INFO_CMDLINE) != 0 && mi->mi_cmdline != 0) {
		const char *c = (const char *)(uintptr)mi->mi_cmdline;
		unsigned n;

		/* Copied now: the string need not be kept from the heap. */
		for (n = 0; c[n] != '\0' && n < sizeof(metal_cmdline_buf) - 1; n++)
			metal_cmdline_buf[n] = c[n];
		metal_cmdline_buf[n] = '\0';
		metal_cmdline_str = metal_cmdline_buf;
	}
	if ((mi->mi_flags & MB_INFO_MODS) != 0 && mi->mi_mods_count > 0) {
		const struct mb_module *m = (const void *)(uintptr)mi->mi_mods_addr;

		mb_reserve(&rs, mi->mi_mods_addr,
		    mi->mi_mods_addr + mi->mi_mods_count * sizeof(*m));
		for (i = 0; i < (int)mi->mi_mods_count; i++) {
			if (i >= MAX_MODULES || m[i].mod_end >= HEAP_CEILING ||
			    m[i].mod_end < m[i].mod_start)
				continue;
			mb_reserve(&rs, m[i].mod_start, m[i].mod_end);
			if (m[i].mod_string != 0)
				mb_reserve(&rs, m[i].mod_string,
				    str_end(m[i].mod_string));
			metal_mods[i].mm_start = m[i].mod_start;
			metal_mods[i].mm_end = m[i].mod_end;
			metal_mods[i].mm_string = m[i].mod_string != 0 ?
			    metal_kva(m[i].mod_string) : "";
			metal_nmods = i + 1;
		}
	}
	/* A program baked into the image (pith bake) lies past _end. */
	if ((baked = metal_bootargs_early()) != 0)
		mb_reserve(&rs, (u64)(uintptr)_end, baked);
	mb_heap(&rs, top, lo, hi);
}

/* The program of pith-kernel.elf: boot the kernel, run the application. */
static void __attribute__((noreturn))
metal_boot_app(void)
{
	struct pith_kconfig cfg;
	struct metal_bootargs ba;
	long r;
	int st;

	memset(&cfg, 0, sizeof(cfg));
	if ((r = pith_kinit(&cfg)) != 0) {
		metal_puts("pith metal: pith_kinit failed: error ");
		metal_putd(-r);
		metal_puts("\n");
		metal_exit_status(METAL_STATUS_PANIC, 0);
	}
	/* Ends the machine itself, with the "error" status, on bad input. */
	memset(&ba, 0, sizeof(ba));
	(void)metal_bootargs_setup(&ba);
	st = metal_app_run(ba.ba_elf, ba.ba_elflen, ba.ba_argv, ba.ba_envp);
	/*
	 * Shut the kernel down in order (every file system synced and
	 * unmounted) when no program is left; with orphans still running,
	 * possibly inside the kernel, only sync.
	 */
	if (uproc_nlive() == 0) {
		pith_fini();
		metal_bootargs_kernel_down();
	} else {
		(void)pith_syscall6(162 /* sync */, 0, 0, 0, 0, 0, 0);
	}
	if ((st & 0x7f) != 0)
		metal_exit_status(METAL_STATUS_SIGNAL, st & 0x7f);
	metal_exit_status(METAL_STATUS_EXIT, (st >> 8) & 0xff);
}

/* The self-test (tests/metal/selftest.c) when linked in. */
extern int main(void) __attribute__((weak));

void metal_start(u32 magic, u32 info) __attribute__((noreturn));

void
metal_start(u32 magic, u32 info)
{
	const struct mb_info *mi = (const struct mb_info *)(uintptr)info;
	u64 ramtop, top, start;
	int r;

	serial_init();
	trap_init();
	/* A newline first: the BIOS leaves the cursor mid-line. */
	metal_puts("\npith metal: booting\n");
	if (magic == PVH_MAGIC) {
		/* Entered through pvh.S: make it look like multiboot. */
		info = pvh_to_multiboot(info);
		mi = (const struct mb_info *)(uintptr)info;
		magic = MB_BOOT_MAGIC;
	}
	if (magic != MB_BOOT_MAGIC)
		metal_fatal("not loaded by a multiboot or PVH loader");
	if ((mi->mi_flags & MB_INFO_MEM) == 0)
		metal_fatal("the boot loader gave no memory size");
	ramtop = metal_mem_top(info, HEAP_CEILING);
	mb_scan(mi, ramtop, &start, &top);
	if (start >= top)
		metal_fatal("no memory beside the image and its modules");
	vm_init(ramtop);
	mem_init((uintptr)metal_kva(start), (uintptr)metal_kva(top));
	rnd_probe();
	clock_init();
	sched_init();
	timer_init();
	pci_init();
	virtio_init();
	metal_puts("pith metal: memory ");
	metal_putd((long)((top - start) >> 10));
	metal_puts(" KiB free, rdrand ");
	metal_puts(metal_have_rdrand ? "yes" : "no (timing fallback)");
	metal_puts("\n");
	if (main == NULL)
		metal_boot_app();
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
