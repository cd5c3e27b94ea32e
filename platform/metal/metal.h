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

/* The program the platform runs (tests/metal/selftest.c). */
int main(void);

#endif
