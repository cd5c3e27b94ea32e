/*
 * The bare-metal platform's private interfaces: port I/O, the serial
 * console, the allocator, the clock, the cooperative scheduler, traps,
 * page tables and the Linux programs run in user mode.  Everything here is
 * single-CPU and runs with interrupts off in ring 0 (they are on only in
 * user mode and in the idle halt): a kernel thread runs until it blocks or
 * yields, so the platform's own data needs no locks.
 */
#ifndef PITH_METAL_H
#define PITH_METAL_H

#include <pith/hyp.h>

typedef unsigned char u8;
typedef unsigned short u16;
typedef unsigned int u32;
typedef unsigned long u64;
typedef unsigned long uintptr;

typedef long i64;

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

static inline u64
rdmsr(u32 msr)
{
	u32 lo, hi;

	__asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
	return ((u64)hi << 32) | lo;
}

static inline void
wrmsr(u32 msr, u64 v)
{
	__asm__ volatile("wrmsr" :: "c"(msr), "a"((u32)v), "d"((u32)(v >> 32)));
}

#define MSR_EFER 0xc0000080u
#define MSR_STAR 0xc0000081u
#define MSR_LSTAR 0xc0000082u
#define MSR_SFMASK 0xc0000084u
#define MSR_FS_BASE 0xc0000100u
#define MSR_GS_BASE 0xc0000101u
#define EFER_NXE 0x800ul

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
/* Take size bytes off the in-use count: a block kept for good. */
void mem_forget(hyp_size_t size);
/* A 4 KiB page for a user program, or NULL below the kernel's reserve. */
void *mem_alloc_user_page(void);
u64 mem_user_avail(void);

/* clock.c */
void clock_init(void);

/* sched.c */
void sched_init(void);
int sched_nthreads(void);

/* boot.S */
void metal_ctx_switch(void **save_sp, void *new_sp);
void metal_thread_trampoline(void);
extern char boot_stack_top[];

/* --- traps (entry.S, trap.c) -------------------------------------------- */

/* What every entry to the kernel leaves on the kernel stack (entry.S). */
struct trapframe {
	u64 tf_r15, tf_r14, tf_r13, tf_r12, tf_r11, tf_r10, tf_r9, tf_r8;
	u64 tf_rbp, tf_rdi, tf_rsi, tf_rdx, tf_rcx, tf_rbx, tf_rax;
	u64 tf_vector;                  /* 0-47, or TF_SYSCALL */
	u64 tf_err;
	u64 tf_rip, tf_cs, tf_rflags, tf_rsp, tf_ss;
};
#define TF_SYSCALL 256
#define SEL_KCODE 0x08
#define SEL_KDATA 0x10
#define SEL_UDATA 0x1b                  /* 0x18 | RPL 3 */
#define SEL_UCODE 0x23                  /* 0x20 | RPL 3 */
#define SEL_TSS 0x28
#define RFLAGS_IF 0x200ul
#define TF_USER(tf) (((tf)->tf_cs & 3) == 3)

extern const u64 metal_trap_stubs[48];
extern u64 metal_kstack_top;
void metal_enter_user(struct trapframe *tf) __attribute__((noreturn));
void metal_syscall_entry(void);

void trap_init(void);
void timer_init(void);
/* The next thread's kernel stack, for traps and syscalls from user mode. */
void trap_set_kstack(u64 top);
/* Print the registers of tf and a backtrace from it. */
void trap_dump(const struct trapframe *tf);
void metal_backtrace(u64 rbp, u64 rsp);
/* Timer interrupts since boot (1000 Hz). */
extern volatile u64 metal_ticks;
#define METAL_HZ 1000

/* --- page tables (vm.c) ------------------------------------------------- */

/*
 * Physical memory below 1 GiB is mapped at KERN_DMAP in every address
 * space (supervisor, no-execute); the heap hands out those addresses, and
 * metal_pa turns one back into the physical address that page tables and
 * DMA want.  The image itself (the first 4 MiB) keeps its identity map
 * (supervisor only) in every address space; the rest of the low half
 * belongs to the user program.  Kernel threads run on the boot page
 * tables, which also identity-map the first 1 GiB.
 */
#define KERN_DMAP 0xffff800000000000ul
#define KERN_STACKS 0xffff808000000000ul        /* PML4 slot 257 */
#define KERN_MMIO 0xffff810000000000ul          /* PML4 slot 258 */
#define USER_MIN 0x400000ul                     /* above the image */
#define USER_TOP 0x800000000000ul
#define PAGE_SIZE 4096ul

static inline void *
metal_kva(u64 pa)
{
	return (void *)(uintptr)(pa + KERN_DMAP);
}

static inline u64
metal_pa(const void *kva)
{
	return (u64)(uintptr)kva - KERN_DMAP;
}

void vm_init(u64 ramtop);
u64 vm_kernel_cr3(void);
/* A kernel stack of size bytes with an unmapped guard page below it. */
void *vm_kstack_alloc(hyp_size_t size);
void vm_kstack_free(void *base, hyp_size_t size);
/* Map len bytes of device memory at pa, uncached; NULL if out of room. */
void *metal_map_mmio(u64 pa, hyp_size_t len);

static inline void
load_cr3(u64 pa)
{
	__asm__ volatile("movq %0, %%cr3" :: "r"(pa) : "memory");
}

static inline u64
read_cr3(void)
{
	u64 v;

	__asm__ volatile("movq %%cr3, %0" : "=r"(v));
	return v;
}

/* --- scheduler extras for user threads (sched.c) ------------------------ */

struct hyp_thread;
struct waitq {
	struct hyp_thread *wq_head, *wq_tail;
};

struct hyp_thread *sched_curthread(void);
/* The user-thread state hung on a thread (NULL for kernel threads). */
void *sched_uctx(struct hyp_thread *t);
void sched_set_uctx(struct hyp_thread *t, void *uctx);
/*
 * A detached thread for a user program: runs fn(arg) with uctx attached;
 * freed by the scheduler once it has ended (sched_thread_exit).
 */
int sched_spawn(void (*fn)(void *), void *arg, void *uctx, const char *name,
    struct hyp_thread **ret);
void sched_thread_exit(void) __attribute__((noreturn));
u64 sched_kstack_top(struct hyp_thread *t);
/* Block on wq until woken or the deadline (0: none); 1 if timed out. */
int sched_sleepq(struct waitq *wq, hyp_i64 deadline);
/* Wake up to n threads on wq (n < 0: all); returns how many. */
int sched_wakeq(struct waitq *wq, int n);
int sched_runnable(void);
/* Called by the scheduler on every switch (uproc.c). */
void uproc_switch(struct hyp_thread *prev, struct hyp_thread *next);

/* --- user programs (uproc.c, abi.c, elf.c) ------------------------------ */

/* Run a static Linux program to its end; returns its wait status. */
int metal_app_run(const void *elf, hyp_size_t len, char *const argv[],
    char *const envp[]);
/* A fault in user mode: report and kill the program. */
void uproc_fault(struct trapframe *tf, int sig, const char *what);
/* Timer interrupt from user mode: maybe preempt. */
void uproc_tick(struct trapframe *tf);
/* Just before returning to user mode: act on a pending exit. */
void uproc_return_check(struct trapframe *tf);
/* Fill the syscall table entry.S reads (abi.c); before user mode. */
void abi_init(void);
/*
 * The syscall slow way (abi.c); how: ABI_SLOW_CALL or ABI_SLOW_RETURN
 * (asmoff.h), nr the call's number (tf_rax may hold its result).
 */
int metal_syscall(struct trapframe *tf, int how, long nr);
/* A kernel-mode fault on a user address during a system call. */
int uproc_kfault(struct trapframe *tf, u64 addr);

/* --- bootargs.c (metal-run; docs/run.md) --------------------------------- */
/* What to run, from the command line, the modules or a baked image. */
struct metal_bootargs {
	const void *ba_elf;		/* the program: a static x86-64 ELF */
	hyp_size_t ba_elflen;
	char **ba_argv;			/* NULL-terminated, argc >= 1 */
	char **ba_envp;			/* NULL-terminated */
};
/*
 * Before mem_init, after metal.c has recorded the modules: find a baked
 * blob (only when no module was given); returns the physical end of the
 * blob, which starts at the page after _end, or 0 if there is none.
 */
u64 metal_bootargs_early(void);
/*
 * After pith_kinit: parse the command line, unpack the cpio archive into
 * the root, perform mount=, fill *ba.  Returns 0; on a bad command line,
 * archive or mount it prints why and ends the machine with the "error"
 * status instead of returning.
 */
int metal_bootargs_setup(struct metal_bootargs *ba);
/* The one status line on COM2, then power-off.  kind: METAL_STATUS_*. */
#define METAL_STATUS_EXIT	0	/* "exit N": the program's status */
#define METAL_STATUS_SIGNAL	1	/* "signal N": killed by a fault */
#define METAL_STATUS_PANIC	2	/* "panic" */
#define METAL_STATUS_ERROR	3	/* "error": bad boot arguments */
void metal_exit_status(int kind, int n) __attribute__((noreturn));
/* After pith_fini: metal_exit_status makes no more system calls (sync). */
void metal_bootargs_kernel_down(void);
/* --- end of bootargs.c ---------------------------------------------------- */

/* metal.c: the loader's modules (-initrd); metal_cmdline above. */
struct metal_module {
	u64 mm_start, mm_end;           /* physical */
	const char *mm_string;          /* direct map or image; "" if none */
};
int metal_modules(const struct metal_module **mods);

/*
 * --- devices: PCI, virtio, memory map, PVH (pci.c, virtio*.c, dma.c,
 * boot_info.c, pvh.S) ---------------------------------------------------------
 */
void *memset(void *dst, int c, hyp_size_t n);
void *memcpy(void *dst, const void *src, hyp_size_t n);

/* dma.c: physical addresses for DMA (by page-table walk). */
u64 metal_virt_to_phys(const void *p, u64 *contig);
/* Device memory is mapped by vm.c's metal_map_mmio (below). */

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

#endif
