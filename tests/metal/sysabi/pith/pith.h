/*
 * Stand-in for <pith/pith.h> when the foundation's tests are built with
 * musl-gcc -static to run inside the VM (tests/scripts/metal_systests.t):
 * every pith_sys_* is the Linux system call itself (sysabi.c), and there
 * is no kernel to boot or shut down -- the program already runs on one.
 */
#ifndef PITH_SYSABI_PITH_H
#define PITH_SYSABI_PITH_H

#include <stddef.h>
#include <pith/pith_sys.h>

/* renameat2's flags: glibc's <stdio.h> names them, musl 1.2.3's does not;
 * the Linux ABI values. */
#ifndef RENAME_NOREPLACE
#define RENAME_NOREPLACE (1 << 0)
#define RENAME_EXCHANGE (1 << 1)
#define RENAME_WHITEOUT (1 << 2)
#endif

struct pith_config {
	unsigned ncpus;
	size_t mem_limit;
	const char *hostname;
	unsigned flags;
};
#define PITH_F_TRACE 0x1u

int pith_init(const struct pith_config *cfg);
void pith_fini(void);
long pith_syscall(long nr, ...);
long pith_syscall6(long nr, long a1, long a2, long a3, long a4, long a5,
    long a6);

#endif
