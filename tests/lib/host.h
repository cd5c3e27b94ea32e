/*
 * What a foundation test (tests/sys/) needs of the host, and what it does
 * without: the same sources run hosted against libpith (make check) and,
 * built with musl-gcc -static -DPITH_METAL, as the program of the bare
 * metal kernel (tests/scripts/metal_systests.t).  In the VM there is no
 * second kernel in the process (pith_proc_*), no kernel heap counter to
 * read (pith_mem_inuse), no pith_init to refuse a configuration, and no
 * Linux beside Pith to compare with (/dev/shm); a case that needs one of
 * those is recorded as skipped there with the reason, never passed.
 *
 * Header-only.  PITH_HOSTED is 1 hosted, 0 in the VM, for plain `if`s
 * whose both arms compile everywhere; code that calls a hosted-only
 * function goes inside #if PITH_HOSTED instead.
 */
#ifndef PITH_TESTS_HOST_H
#define PITH_TESTS_HOST_H

#include <pith/pith.h>
#include "tap.h"

#ifdef PITH_METAL
#define PITH_HOSTED 0
#else
#define PITH_HOSTED 1
#endif

/* Why the VM build skips: one string per missing host facility. */
#define HOST_WHY_PROC "pith_proc_* switch kernels' processes in one host " \
	"process; in the VM each process is its own"
#define HOST_WHY_MEM "pith_mem_inuse reads a hosted kernel's heap"
#define HOST_WHY_INIT "pith_init does nothing in the VM: the kernel booted " \
	"before the program"

/* After pith_fini nothing of the kernel's heap may be held (hosted); in
 * the VM the kernel outlives the program, so the check is skipped. */
static inline void __attribute__((unused))
host_mem_none(const char *what)
{
#if PITH_HOSTED
	is_int((long long)pith_mem_inuse(), 0, "%s", what);
#else
	skip(1, "%s: %s", what, HOST_WHY_MEM);
#endif
}

#endif
