/*
 * Traps: the IDT, the TSS, the system-call MSRs, the timer interrupt and
 * what a fault does.
 *
 * Vectors 0-31 are CPU exceptions, 32-47 the two 8259 PICs remapped (only
 * IRQ 0, the PIT at METAL_HZ, is unmasked).  Every gate is an interrupt
 * gate, so ring 0 always runs with IF clear; the kernel's threads stay
 * cooperative and nothing here races with them.  The timer interrupt does
 * two things: count ticks (the idle loop in sched.c halts until one
 * arrives and then wakes expired sleepers) and, when it interrupted user
 * mode, let uproc.c preempt a program that does not make system calls.
 *
 * A fault in user mode is the program's: uproc_fault gives a page not
 * touched yet (or more main stack) its memory, or kills the program with
 * a signal.  A fault in ring 0 is the kernel's: unless it is a system call
 * touching a user address (uproc_kfault: the same page-in, or a scratch
 * page and the program's end), the registers and a backtrace go to the
 * console and the machine powers off with "panic".
 * The double fault runs on its own stack (IST 1), so a kernel stack that
 * overflows into its guard page is still reported.
 */
#include "metal.h"

#define PIC1 0x20
#define PIC2 0xa0
#define PIT_HZ 1193182ul

struct idt_gate {
	u16 ig_off0;
	u16 ig_sel;
	u8 ig_ist;
	u8 ig_type;
	u16 ig_off1;
	u32 ig_off2;
	u32 ig_zero;
} __attribute__((packed));

struct tss {
	u32 ts_reserved0;
	u64 ts_rsp[3];
	u64 ts_reserved1;
	u64 ts_ist[7];
	u64 ts_reserved2;
	u16 ts_reserved3;
	u16 ts_iomap;
} __attribute__((packed));

extern u64 metal_gdt_tss[2];
extern char _etext[], _load_start[];

static struct idt_gate metal_idt[48] __attribute__((aligned(16)));
static struct tss metal_tss __attribute__((aligned(16)));
static u8 df_stack[16384] __attribute__((aligned(16)));
volatile u64 metal_ticks;

static const char *const trap_names[32] = {
	"divide error", "debug", "NMI", "breakpoint", "overflow",
	"bound range", "invalid opcode", "device not available",
	"double fault", "coprocessor overrun", "invalid TSS",
	"segment not present", "stack fault", "general protection",
	"page fault", "reserved", "x87 error", "alignment check",
	"machine check", "SIMD error", "virtualization", "control protection",
};

static void
idt_set(int n, u64 off, int ist)
{
	metal_idt[n].ig_off0 = (u16)off;
	metal_idt[n].ig_sel = SEL_KCODE;
	metal_idt[n].ig_ist = (u8)ist;
	metal_idt[n].ig_type = 0x8e;    /* present, DPL 0, interrupt gate */
	metal_idt[n].ig_off1 = (u16)(off >> 16);
	metal_idt[n].ig_off2 = (u32)(off >> 32);
	metal_idt[n].ig_zero = 0;
}

/* The 8259s: vectors 32-47, everything masked but the timer. */
static void
pic_init(void)
{
	outb(PIC1, 0x11);
	outb(PIC2, 0x11);
	outb(PIC1 + 1, 32);
	outb(PIC2 + 1, 40);
	outb(PIC1 + 1, 4);
	outb(PIC2 + 1, 2);
	outb(PIC1 + 1, 1);
	outb(PIC2 + 1, 1);
	outb(PIC1 + 1, 0xfe);
	outb(PIC2 + 1, 0xff);
}

/*
 * SMEP where the CPU has it: ring 0 never runs code from a user page, so
 * a kernel jump through a corrupt pointer faults instead of running what
 * the program put there.  (Not SMAP: the kernel reads user memory
 * directly.)
 */
static void
smep_enable(void)
{
	u32 a, b, c, d;
	u64 cr4;

	__asm__ volatile("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d)
	    : "a"(0), "c"(0));
	if (a < 7)
		return;
	__asm__ volatile("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d)
	    : "a"(7), "c"(0));
	if ((b & (1u << 7)) == 0)
		return;
	__asm__ volatile("movq %%cr4, %0" : "=r"(cr4));
	cr4 |= 1ul << 20;
	__asm__ volatile("movq %0, %%cr4" :: "r"(cr4));
}

/*
 * The CPU state user mode needs, whatever entry path (multiboot's boot.S,
 * or another) set up long mode: syscall and NX enabled, SSE usable,
 * write protection honoured in ring 0.
 */
static void
cpu_features(void)
{
	u32 a, b, c, d;
	u64 efer = rdmsr(MSR_EFER) | 1 /* SCE */, cr0, cr4;

	__asm__ volatile("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d)
	    : "a"(0x80000001u), "c"(0));
	if (d & (1u << 20))
		efer |= EFER_NXE;
	wrmsr(MSR_EFER, efer);
	/* CR4: OSFXSR, OSXMMEXCPT.  CR0: no EM; WP, MP. */
	__asm__ volatile("movq %%cr4, %0" : "=r"(cr4));
	__asm__ volatile("movq %0, %%cr4" :: "r"(cr4 | 0x600ul));
	__asm__ volatile("movq %%cr0, %0" : "=r"(cr0));
	cr0 = (cr0 & ~0x4ul) | 0x10002ul;
	__asm__ volatile("movq %0, %%cr0" :: "r"(cr0));
}

void
trap_init(void)
{
	struct {
		u16 limit;
		u64 base;
	} __attribute__((packed)) idtr;
	u64 base = (u64)(uintptr)&metal_tss, limit = sizeof(metal_tss) - 1;
	int i;

	cpu_features();

	for (i = 0; i < 48; i++)
		idt_set(i, metal_trap_stubs[i], i == 8 ? 1 : 0);
	idtr.limit = sizeof(metal_idt) - 1;
	idtr.base = (u64)(uintptr)metal_idt;
	__asm__ volatile("lidt %0" :: "m"(idtr));

	/* The 64-bit TSS descriptor: type 9 (available), present. */
	metal_tss.ts_iomap = sizeof(metal_tss);
	metal_tss.ts_ist[0] = (u64)(uintptr)(df_stack + sizeof(df_stack));
	metal_tss.ts_rsp[0] = (u64)(uintptr)boot_stack_top;
	metal_gdt_tss[0] = (limit & 0xffff) | ((base & 0xffffff) << 16) |
	    (0x89ul << 40) | (((limit >> 16) & 0xf) << 48) |
	    (((base >> 24) & 0xff) << 56);
	metal_gdt_tss[1] = base >> 32;
	__asm__ volatile("ltr %w0" :: "r"(SEL_TSS));
	metal_kstack_top = (u64)(uintptr)boot_stack_top;

	/* syscall: kernel cs 0x08 / ss 0x10; sysret: base 0x10 -> 0x1b, 0x23. */
	wrmsr(MSR_STAR, (0x10ul << 48) | ((u64)SEL_KCODE << 32));
	abi_init();
	wrmsr(MSR_LSTAR, (u64)(uintptr)metal_syscall_entry);
	/* Clear TF, DF, IF, IOPL, NT and AC on entry, as Linux does. */
	wrmsr(MSR_SFMASK, 0x47700);
	smep_enable();
	pic_init();
}

/* PIT channel 0, rate generator at METAL_HZ. */
void
timer_init(void)
{
	u32 div = (u32)((PIT_HZ + METAL_HZ / 2) / METAL_HZ);

	outb(0x43, 0x34);
	outb(0x40, (u8)div);
	outb(0x40, (u8)(div >> 8));
}

void
trap_set_kstack(u64 top)
{
	metal_tss.ts_rsp[0] = top;
	metal_kstack_top = top;
}

/* --- reports ------------------------------------------------------------ */

static void
reg(const char *name, u64 v, int nl)
{
	metal_puts(name);
	metal_puts(" ");
	metal_putx(v);
	metal_puts(nl ? "\n" : "  ");
}

void
trap_dump(const struct trapframe *tf)
{
	reg("rax", tf->tf_rax, 0);
	reg("rbx", tf->tf_rbx, 0);
	reg("rcx", tf->tf_rcx, 1);
	reg("rdx", tf->tf_rdx, 0);
	reg("rsi", tf->tf_rsi, 0);
	reg("rdi", tf->tf_rdi, 1);
	reg("rbp", tf->tf_rbp, 0);
	reg("rsp", tf->tf_rsp, 0);
	reg(" r8", tf->tf_r8, 1);
	reg(" r9", tf->tf_r9, 0);
	reg("r10", tf->tf_r10, 0);
	reg("r11", tf->tf_r11, 1);
	reg("r12", tf->tf_r12, 0);
	reg("r13", tf->tf_r13, 0);
	reg("r14", tf->tf_r14, 1);
	reg("r15", tf->tf_r15, 0);
	reg("rip", tf->tf_rip, 0);
	reg("rfl", tf->tf_rflags, 1);
	reg(" cs", tf->tf_cs, 0);
	reg(" ss", tf->tf_ss, 0);
	reg("err", tf->tf_err, 1);
}

static int
trap_is_text(u64 a)
{
	return a >= (u64)(uintptr)_load_start && a < (u64)(uintptr)_etext;
}

/* Symbol names from the table the build embeds (syms.c); weak: none. */
extern const u64 metal_symaddr[] __attribute__((weak));
extern const char *const metal_symname[] __attribute__((weak));
extern const unsigned long metal_nsyms __attribute__((weak));

static void
trap_symbol(u64 a)
{
	unsigned long lo = 0, hi, mid;

	metal_putx(a);
	if (&metal_nsyms == NULL || metal_nsyms == 0)
		goto out;
	hi = metal_nsyms;
	/* The last symbol at or below a. */
	while (hi - lo > 1) {
		mid = (lo + hi) / 2;
		if (metal_symaddr[mid] <= a)
			lo = mid;
		else
			hi = mid;
	}
	if (metal_symaddr[lo] <= a) {
		metal_puts(" <");
		metal_puts(metal_symname[lo]);
		metal_puts("+");
		metal_putd((long)(a - metal_symaddr[lo]));
		metal_puts(">");
	}
out:
	metal_puts("\n");
}

/*
 * The kernel keeps no frame pointers, so the backtrace is a scan: every
 * word on the stack above rsp that points into the image's text is shown,
 * innermost first.  Return addresses are among them; a stale one may be
 * too (hence "maybe").
 */
void
metal_backtrace(u64 rbp, u64 rsp)
{
	const u64 *p = (const u64 *)(uintptr)(rsp & ~7ul);
	u64 top = sched_kstack_top(sched_curthread());
	int shown = 0;

	(void)rbp;
	metal_puts("backtrace (stack scan, innermost first; maybe stale):\n");
	if (rsp > top || top - rsp > 1024 * 1024)
		top = rsp + 4096;
	for (; (u64)(uintptr)p < top && shown < 24; p++) {
		if (!trap_is_text(*p))
			continue;
		metal_puts("  ");
		trap_symbol(*p);
		shown++;
	}
}

static void __attribute__((noreturn))
trap_kernel_fault(struct trapframe *tf)
{
	u64 cr2;

	__asm__ volatile("movq %%cr2, %0" : "=r"(cr2));
	metal_puts("metal: CPU exception ");
	metal_putd((long)tf->tf_vector);
	metal_puts(" (");
	metal_puts(tf->tf_vector < 32 && trap_names[tf->tf_vector] != NULL ?
	    trap_names[tf->tf_vector] : "?");
	metal_puts(") in the kernel err ");
	metal_putx(tf->tf_err);
	metal_puts(" rip ");
	metal_putx(tf->tf_rip);
	metal_puts(" rsp ");
	metal_putx(tf->tf_rsp);
	metal_puts(" cr2 ");
	metal_putx(cr2);
	metal_puts("\n");
	trap_dump(tf);
	metal_puts("at ");
	trap_symbol(tf->tf_rip);
	/* A double fault's rsp may lie in a guard page: scan from above it. */
	metal_backtrace(tf->tf_rbp, tf->tf_vector == 8 ?
	    (tf->tf_rsp | (PAGE_SIZE - 1)) + 1 : tf->tf_rsp);
	metal_exit_status(METAL_STATUS_PANIC, 0);
}

static void
trap_user_fault(struct trapframe *tf)
{
	switch (tf->tf_vector) {
	case 6:
		uproc_fault(tf, 4, "invalid opcode");
		break;
	case 0:
		uproc_fault(tf, 8, "divide error");
		break;
	case 16:
	case 19:
		uproc_fault(tf, 8, trap_names[tf->tf_vector]);
		break;
	case 3:
	case 1:
		uproc_fault(tf, 5, trap_names[tf->tf_vector]);
		break;
	case 17:
		uproc_fault(tf, 7, "alignment check");
		break;
	case 14:
		uproc_fault(tf, 11, (tf->tf_err & 0x11) == 0x11 ?
		    "page fault: executing a no-execute page" :
		    (tf->tf_err & 1) ? "page fault: protection violation" :
		    "page fault: address not mapped");
		break;
	default:
		uproc_fault(tf, 11, tf->tf_vector < 32 ?
		    trap_names[tf->tf_vector] : "?");
		break;
	}
}

void metal_trap(struct trapframe *tf);

void
metal_trap(struct trapframe *tf)
{
	u64 cr2;

	if (tf->tf_vector >= 32) {
		int irq = (int)tf->tf_vector - 32;

		/* Spurious IRQ 7 / 15: the PIC's in-service bit is clear. */
		if (irq == 7 || irq == 15) {
			outb(irq == 7 ? PIC1 : PIC2, 0x0b);
			if ((inb(irq == 7 ? PIC1 : PIC2) & 0x80) == 0) {
				if (irq == 15)
					outb(PIC1, 0x20);
				return;
			}
		}
		if (irq >= 8)
			outb(PIC2, 0x20);
		outb(PIC1, 0x20);
		if (irq == 0) {
			metal_ticks++;
			if (TF_USER(tf))
				uproc_tick(tf);
		}
		if (TF_USER(tf))
			uproc_return_check(tf);
		return;
	}
	if (TF_USER(tf)) {
		trap_user_fault(tf);
		uproc_return_check(tf);
		return;
	}
	if (tf->tf_vector == 14) {
		__asm__ volatile("movq %%cr2, %0" : "=r"(cr2));
		if (cr2 < USER_TOP && uproc_kfault(tf, cr2))
			return;
	}
	trap_kernel_fault(tf);
}
