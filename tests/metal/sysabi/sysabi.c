/*
 * The foundation's system-call tests (tests/sys/) on a real Linux ABI:
 * built with musl-gcc -static and run as the program of pith-kernel.elf
 * (tests/scripts/metal_systests.t), the same sources that run hosted
 * against libpith.  There the kernel is in the process and pith_sys_X
 * is its system call X with the C library's signature; here the program
 * already runs on the kernel, so pith_init and pith_fini have nothing to
 * do, and each pith_sys_X is the `syscall` instruction for X with errno
 * set the same way (the wrappers are generated from pith_sys.h by
 * gensysabi.awk, which appends them to this file's text).  Not libc's X:
 * musl works around some kernels (dup3 with bad flags becomes dup2), and
 * the tests look at the kernel's answers.  Those whose libc behaviour is
 * more than the system call are libpith's own hand-written ones
 * (lib/pith/wrap.c, compiled with -DPITH_SYSABI beside this file), since
 * the tests expect that behaviour of them.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <pith/pith.h>

int
pith_init(const struct pith_config *cfg)
{
	(void)cfg;
	return 0;
}

void
pith_fini(void)
{
}

/* The raw call: the result or -errno, errno untouched, as libpith's. */
long
pith_syscall6(long nr, long a1, long a2, long a3, long a4, long a5, long a6)
{
	register long r10 __asm__("r10") = a4;
	register long r8 __asm__("r8") = a5;
	register long r9 __asm__("r9") = a6;
	long ret;

	__asm__ volatile("syscall" : "=a"(ret)
	    : "a"(nr), "D"(a1), "S"(a2), "d"(a3), "r"(r10), "r"(r8), "r"(r9)
	    : "rcx", "r11", "memory");
	return ret;
}

long
pith_syscall(long nr, ...)
{
	long a[6];
	va_list ap;
	int i;

	va_start(ap, nr);
	for (i = 0; i < 6; i++)
		a[i] = va_arg(ap, long);
	va_end(ap);
	return pith_syscall6(nr, a[0], a[1], a[2], a[3], a[4], a[5]);
}
