/*
 * System-call entry: the top of the kernel.
 *
 * Every client -- the hosted library's pith_sys_* wrappers, later the
 * server's request loop and the bare-metal trap handler -- enters here with
 * a Linux x86-64 system-call number and six raw arguments, and gets back a
 * result or -errno.  The entry finds the calling thread's lwp (attaching
 * one on first use), takes a virtual CPU unless the call is marked as not
 * needing one, dispatches through the generated sysent[] table, and gives
 * the CPU back.
 *
 * A call Pith lacks returns -ENOSYS and is named once on the console: new
 * libc releases probe new calls and fall back only on ENOSYS, so the entry
 * must never assert on an unknown number.
 */
#include "kern/kern.h"
#include "kern/proc.h"
#include "syscall/sysent.h"
#include "gen/sysproto.h"

/* One bit per call number: has its ENOSYS been reported?  [a] */
static unsigned long syscall_warned[(SYS_MAXNR + 64) / 64];
/* Numbers outside the table are reported once in all.  [a] */
static int syscall_warned_unknown;

static long
syscall_enosys(long nr)
{
	unsigned long bit, old;
	const char *name;

	if (nr < 0 || nr > SYS_MAXNR) {
		if (__atomic_exchange_n(&syscall_warned_unknown, 1,
		    __ATOMIC_RELAXED) == 0)
			kprintf("pith: unknown system call %ld: ENOSYS "
			    "(further unknown numbers not reported)\n", nr);
		return -ENOSYS;
	}
	bit = 1UL << (nr % 64);
	old = __atomic_fetch_or(&syscall_warned[nr / 64], bit, __ATOMIC_RELAXED);
	if ((old & bit) == 0) {
		name = sysent[nr].sy_name != NULL ? sysent[nr].sy_name : "?";
		kprintf("pith: system call %ld (%s) not implemented: ENOSYS\n",
		    nr, name);
	}
	return -ENOSYS;
}

static __attribute__((noinline)) void
syscall_trace(long nr, const long *args, long rv)
{
	const struct sysent *sy = &sysent[nr];
	char buf[256];
	int len;
	unsigned i;

	len = snprintf(buf, sizeof(buf), "[pid %d] %s(", curproc()->p_pid,
	    sy->sy_name);
	for (i = 0; i < sy->sy_nargs && len < (int)sizeof(buf); i++)
		len += snprintf(buf + len, sizeof(buf) - (size_t)len, "%s%#lx",
		    i ? ", " : "", (unsigned long)args[i]);
	if (len >= (int)sizeof(buf))
		len = (int)sizeof(buf) - 1;
	if (rv < 0 && rv > -4096)
		kprintf("%.*s) = -1 (errno %ld)\n", len, buf, -rv);
	else
		kprintf("%.*s) = %ld\n", len, buf, rv);
}

PITH_API long
pith_syscall6(long nr, long a1, long a2, long a3, long a4, long a5, long a6)
{
	const long args[6] = { a1, a2, a3, a4, a5, a6 };
	const struct sysent *sy;
	struct lwp *l;
	long rv;

	if (__predict_false((unsigned long)nr > SYS_MAXNR))
		return syscall_enosys(nr);
	sy = &sysent[nr];
	if (__predict_false(sy->sy_call == NULL))
		return syscall_enosys(nr);
	l = curlwp();
	if (__predict_false(l == NULL)) {
		l = lwp_current();
		if (l == NULL)
			return -ENOMEM;
	}
	if (__predict_false(l->l_proc->p_flags & P_EXITING))
		return -ESRCH;
	if (sy->sy_flags & SYF_NOCPU)
		return sy->sy_call(args);

	cpu_enter(l);
	lwp_cache_check(l);
	l->l_syscall = (int)nr;
	rv = sy->sy_call(args);
	l->l_syscall = -1;
	cpu_leave(l);
	if (__predict_false(kern_cfg.flags & PITH_KF_TRACE))
		syscall_trace(nr, args, rv);
	return rv;
}

PITH_API long
pith_syscall(long nr, ...)
{
	va_list ap;
	long a[6];
	int i;

	/* Callers pass up to six long-sized arguments, as syscall(2). */
	va_start(ap, nr);
	for (i = 0; i < 6; i++)
		a[i] = va_arg(ap, long);
	va_end(ap);
	return pith_syscall6(nr, a[0], a[1], a[2], a[3], a[4], a[5]);
}

/*
 * Calls flagged N in syscalls.master: no CPU, no failure, so the hosted
 * library calls them directly -- a function call and a thread-local load.
 */
PITH_API pid_t
pith_sys_getpid(void)
{
	struct lwp *l = curlwp();

	if (__predict_false(l == NULL)) {
		l = lwp_current();
		if (l == NULL)
			return -1;      /* no memory even for a thread context */
	}
	return l->l_proc->p_pid;
}
