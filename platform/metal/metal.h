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

/* --- bootargs.c (metal-run; docs/run.md) --------------------------------- */
/* What to run, from the command line, the modules or a baked image. */
struct metal_bootargs {
	const void *ba_elf;		/* the program: a static x86-64 ELF */
	hyp_size_t ba_elflen;
	char **ba_argv;			/* NULL-terminated, argc >= 1 */
	char **ba_envp;			/* NULL-terminated */
};
/*
 * Before mem_init: note the loader's modules, command line and any baked
 * blob; returns the first address the heap may use (>= heap_start).
 */
uintptr metal_bootargs_early(u32 mb_info, uintptr heap_start);
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
/* --- end of bootargs.c ----------------------------------------------------- */

/* The program the platform runs (tests/metal/selftest.c). */
int main(void);

#endif
