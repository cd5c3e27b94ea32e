/*
 * The dispatch table entry.  The table itself (sysent[]) is generated from
 * syscalls.master; the entry code is sys/syscall/syscall.c.
 */
#ifndef PITH_SYSCALL_SYSENT_H
#define PITH_SYSCALL_SYSENT_H

#include "kern/kern.h"

#define SYF_NOCPU 0x1   /* runs without taking a virtual CPU */
#define SYF_UNIMPL 0x2  /* ENOSYS */

struct sysent {
	long (*sy_call)(const long *args);
	unsigned sy_flags;
	unsigned sy_nargs;
	const char *sy_name;
};

extern const struct sysent sysent[];

/* The entry, exported to every platform (see <pith/pith.h>). */
PITH_API long pith_syscall6(long nr, long a1, long a2, long a3, long a4, long a5,
    long a6);
PITH_API long pith_syscall(long nr, ...);
PITH_API pid_t pith_sys_getpid(void);

#endif
