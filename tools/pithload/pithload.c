/*
 * pithload: run a statically linked program under `pith exec`, its system
 * calls routed by the shim's rule through Linux's syscall user dispatch.
 *
 *	pithload PATH ARGV0 [ARGS...]	(pith exec runs it; LD_PRELOAD has
 *					 libpithshim.so, so we have the shim)
 *
 * A static program has no libc of ours to interpose, so it is loaded into
 * this process instead: its PT_LOAD segments mapped where they ask (or,
 * static-pie, at a base of ours), a fresh stack with argv, environ and
 * the auxiliary vector the kernel would give it, and a jump to its entry.
 * Just before the jump, PR_SET_SYSCALL_USER_DISPATCH is switched on with
 * the allowed region covering the shared objects' code (ld.so, libc, the
 * shim, the vDSO): our own calls, all made through libc, go to the host
 * as usual; every system call instruction in the program raises SIGSYS
 * instead, and the handler (sud_sigsys) makes the call on the program's
 * behalf by calling the libc function of the same meaning, which the shim
 * interposes: a path under the prefix or a server descriptor goes to the
 * server, the rest to the host from libc's code.
 *
 * The program brings its own thread pointer (arch_prctl ARCH_SET_FS), so
 * the handler swaps ours in while it runs libc code and the program's
 * back before returning; ARCH_SET_FS itself is only recorded.  It gets
 * no share of our heap: brk is emulated in a region reserved after its
 * image.  Its signal handlers run through sud_progsig, which puts the
 * program's thread pointer back for them (a signal may land while the
 * handler runs libc with ours), with libc's sigreturn trampoline (inside
 * the allowed region) as restorer; SIGSYS stays ours: sigaction on it is
 * refused and masks lose it.  fork goes through libc's fork, so the
 * client library's atfork handlers give the child its copy of the kernel
 * process (dispatch is not inherited: the child switches it on again);
 * execve goes through the shim's (the kernel process is kept) and a
 * static target is started through pithload again.
 *
 * Threads.  Each thread of the program is one of our own pthreads, so
 * that libc and the shim have a thread pointer of theirs to run on in the
 * handler.  Its per-thread record (struct sud_thread: both thread
 * pointers, the emulated set_tid_address and robust list, the program's
 * sigaltstack, the way back for exit) is reached through the GS base,
 * which neither musl nor glibc use on x86-64.  clone with CLONE_THREAD
 * starts the pthread, which switches dispatch on for itself and jumps to
 * the instruction after the program's syscall with the caller's registers
 * (rax 0, the new stack and TLS).  The handler runs on a per-thread
 * alternate stack of ours, because a thread may unmap its own stack and
 * then exit (musl does): exit longjmps back to the pthread's own stack,
 * which then clears and wakes the child-tid word, releases the program's
 * robust futexes, and returns to libc.
 *
 * This file is built without the stack protector: the handler starts
 * with the program's thread pointer, where the canary is not ours.
 */
#include <dirent.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <link.h>
#include <sched.h>
#include <signal.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ucontext.h>
#include <unistd.h>
#include <asm/hwcap2.h>
#include <asm/prctl.h>
#include <linux/futex.h>
#include <sys/auxv.h>
#include <sys/random.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/ioctl.h>
#include <sys/sendfile.h>

#ifndef PR_SET_SYSCALL_USER_DISPATCH
#define PR_SET_SYSCALL_USER_DISPATCH	59
#define PR_SYS_DISPATCH_ON		1
#endif
#ifndef PR_SYS_DISPATCH_OFF
#define PR_SYS_DISPATCH_OFF		0
#endif
#ifndef SS_AUTODISARM
#define SS_AUTODISARM	(1u << 31)
#endif
#define SUD_MINSIGSTKSZ	2048		/* the kernel's floor on x86-64 */
#ifndef SA_RESTORER
#define SA_RESTORER	0x04000000
#endif
#ifndef SYS_faccessat2
#define SYS_faccessat2	439
#endif

#define LOAD_STACK	(8ul << 20)
#define LOAD_BRKMAX	(1ul << 30)	/* brk room reserved after the image */
#define LOAD_PIEBASE	0x200000000ul	/* where a static-pie goes */
#define SUD_ALTSTACK	(256ul << 10)	/* the handler's stack, per thread */
#define SUD_THRSTACK	(128ul << 10)	/* a thread's own (start and exit) */

/*
 * One thread of the program.  Reached through the GS base; written only
 * by its own thread, except the record's birth (sud_thread_main).
 */
struct sud_thread {
	unsigned long our_fs;		/* our (libc's) thread pointer */
	unsigned long prog_fs;		/* the program's (ARCH_SET_FS) */
	int *clear_tid;			/* set_tid_address, CLONE_CHILD_CLEARTID */
	void *robust;			/* set_robust_list's head */
	stack_t prog_ss;		/* the program's sigaltstack, recorded */
	int is_main;			/* no pthread of ours to go back to */
	sigjmp_buf exit_jb;		/* exit: back to sud_thread_main */
};

static int sud_fsgsbase;		/* rdfsbase & co. allowed in ring 3 */
static void *load_restorer;		/* libc's rt_sigreturn trampoline */
static unsigned long brk_start, brk_cur, brk_mapped;
static unsigned long sud_lo, sud_len;	/* the allowed region */
static char load_self[4096];		/* our path, for static execs */
static char load_prog[4096];		/* the program's, absolute */

static void __attribute__((noreturn, format(printf, 1, 2)))
die(const char *fmt, ...)
{
	va_list ap;

	fputs("pithload: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(127);
}

/* --- thread pointers ---------------------------------------------------- */

/*
 * The FS and GS bases, by instruction when the kernel allows it (5.9+),
 * else by arch_prctl through libc's syscall(), which touches errno only
 * on failure and these do not fail: both run on either thread pointer.
 */
static unsigned long
fs_get(void)
{
	unsigned long v = 0;

	if (sud_fsgsbase)
		__asm__ volatile("rdfsbase %0" : "=r"(v));
	else
		syscall(SYS_arch_prctl, ARCH_GET_FS, &v);
	return v;
}

static void
fs_set(unsigned long v)
{
	if (sud_fsgsbase)
		__asm__ volatile("wrfsbase %0" : : "r"(v) : "memory");
	else
		syscall(SYS_arch_prctl, ARCH_SET_FS, v);
}

static struct sud_thread *
gs_get(void)
{
	unsigned long v = 0;

	if (sud_fsgsbase)
		__asm__ volatile("rdgsbase %0" : "=r"(v));
	else
		syscall(SYS_arch_prctl, ARCH_GET_GS, &v);
	return (struct sud_thread *)v;
}

static void
gs_set(struct sud_thread *t)
{
	syscall(SYS_arch_prctl, ARCH_SET_GS, (unsigned long)t);
}

/*
 * A thread's record and the handler's alternate stack, in one mapping
 * (record first).  Returns NULL with errno set.
 */
static struct sud_thread *
thread_new(void)
{
	struct sud_thread *t;
	stack_t ss;
	size_t rec = (sizeof(*t) + 4095) & ~4095ul;

	t = mmap(NULL, rec + SUD_ALTSTACK, PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
	if (t == MAP_FAILED)
		return NULL;
	ss.ss_sp = (char *)t + rec;
	ss.ss_size = SUD_ALTSTACK;
	ss.ss_flags = 0;
	if (sigaltstack(&ss, NULL) < 0) {
		munmap(t, rec + SUD_ALTSTACK);
		return NULL;
	}
	t->our_fs = fs_get();
	t->prog_fs = t->our_fs;
	t->prog_ss.ss_flags = SS_DISABLE;
	gs_set(t);
	return t;
}

/* Undo thread_new; the caller is off the alternate stack. */
static void
thread_free(struct sud_thread *t)
{
	stack_t ss = { .ss_flags = SS_DISABLE };

	sigaltstack(&ss, NULL);
	gs_set(NULL);
	munmap(t, ((sizeof(*t) + 4095) & ~4095ul) + SUD_ALTSTACK);
}

/* A libc result as the system call's: value or -errno. */
static long
ret(long r)
{
	return r == -1 ? -(long)errno : r;
}

/* --- the system calls -------------------------------------------------- */

/* The kernel's struct sigaction on x86-64. */
struct ksigaction {
	void *handler;
	unsigned long flags;
	void *restorer;
	unsigned long mask;
};

/*
 * The program's handlers, by signal: the kernel holds sud_progsig for
 * each.  Written by sigaction before the kernel's entry changes, read by
 * sud_progsig (a handler changed while its signal is being delivered may
 * run either version, as on Linux).
 */
static struct {
	void *handler;
	unsigned long flags;
} sud_sigs[65];

/*
 * Every handler of the program runs through here: with the program's
 * thread pointer, whichever was in place when the signal came (it may
 * interrupt the SIGSYS handler while libc runs on ours), and that one
 * back after.  SIGSYS is never blocked while it runs (the SIGSYS handler
 * is SA_NODEFER, masks lose it), so its system calls trap as usual.
 */
static void
sud_progsig(int sig, siginfo_t *si, void *uc)
{
	void (*h)(int, siginfo_t *, void *) = sud_sigs[sig].handler;
	struct sud_thread *t = gs_get();
	unsigned long fs = 0;

	if (t != NULL) {
		fs = fs_get();
		fs_set(t->prog_fs);
	}
	h(sig, si, uc);
	if (t != NULL)
		fs_set(fs);
}

static long
sud_sigaction(long sig, const struct ksigaction *act, struct ksigaction *oact,
    long size)
{
	struct ksigaction k, old;
	void *ph = NULL;
	unsigned long pf = 0;

	if (sig == SIGSYS && act != NULL)
		return -EINVAL;		/* ours */
	if (sig < 1 || sig > 64 || size != 8)
		return ret(syscall(SYS_rt_sigaction, sig, act, oact, size));
	ph = sud_sigs[sig].handler;
	pf = sud_sigs[sig].flags;
	if (act != NULL) {
		k = *act;
		if (k.handler != SIG_DFL && k.handler != SIG_IGN) {
			sud_sigs[sig].handler = k.handler;
			sud_sigs[sig].flags = k.flags;
			k.handler = (void *)sud_progsig;
			k.flags |= SA_SIGINFO;
		}
		k.flags |= SA_RESTORER;
		k.restorer = load_restorer;
		k.mask &= ~(1ul << (SIGSYS - 1));
	}
	if (syscall(SYS_rt_sigaction, sig, act != NULL ? &k : NULL, &old,
	    size) < 0) {
		sud_sigs[sig].handler = ph;
		sud_sigs[sig].flags = pf;
		return -(long)errno;
	}
	if (old.handler == (void *)sud_progsig) {
		old.handler = ph;
		old.flags = pf | SA_RESTORER;
	}
	if (oact != NULL)
		*oact = old;
	return 0;
}

static long
sud_sigprocmask(long how, const sigset_t *set, sigset_t *old, long size)
{
	sigset_t s;

	if (set == NULL || how == SIG_UNBLOCK || size != 8)
		return ret(syscall(SYS_rt_sigprocmask, how, set, old, size));
	memcpy(&s, set, 8);
	sigdelset(&s, SIGSYS);
	return ret(syscall(SYS_rt_sigprocmask, how, &s, old, size));
}

/* brk in the region reserved after the image. */
static long
sud_brk(unsigned long want)
{
	unsigned long end;

	if (want < brk_start || want > brk_start + LOAD_BRKMAX)
		return (long)brk_cur;
	end = (want + 4095) & ~4095ul;
	if (end > brk_mapped) {
		if (mprotect((void *)brk_mapped, end - brk_mapped,
		    PROT_READ | PROT_WRITE) < 0)
			return (long)brk_cur;
		brk_mapped = end;
	}
	brk_cur = want;
	return (long)brk_cur;
}

/* --- clone, fork, exit ------------------------------------------------- */

/* clone's and clone3's arguments, in one form. */
struct sud_clone {
	unsigned long flags;
	unsigned long stack;		/* the new stack pointer, or 0 */
	int *ptid, *ctid;
	unsigned long tls;
	unsigned long exit_signal;
};

/* What a new thread needs of its parent, on the parent's stack until
 * the child has copied it and published its tid (or -errno). */
struct sud_start {
	greg_t regs[NGREG];		/* the program's, at the clone */
	sigset_t mask;			/* and its signal mask */
	struct sud_clone c;
	unsigned long fs;		/* the program's thread pointer */
	int tid;			/* futex: 0 until the child answers */
};

/* Load every register from regs and continue at regs[REG_RIP], as the
 * clone system call returns in a new thread.  rcx and r11 are the ones
 * the syscall instruction clobbers (rip and rflags); r11 is the base. */
void sud_jump(const greg_t *regs) __attribute__((noreturn));
__asm__(
    ".text\n"
    ".type sud_jump, @function\n"
    "sud_jump:\n\t"
    "mov %rdi, %r11\n\t"
    "mov 0(%r11), %r8\n\t"
    "mov 8(%r11), %r9\n\t"
    "mov 16(%r11), %r10\n\t"
    "mov 32(%r11), %r12\n\t"
    "mov 40(%r11), %r13\n\t"
    "mov 48(%r11), %r14\n\t"
    "mov 56(%r11), %r15\n\t"
    "mov 64(%r11), %rdi\n\t"
    "mov 72(%r11), %rsi\n\t"
    "mov 80(%r11), %rbp\n\t"
    "mov 88(%r11), %rbx\n\t"
    "mov 96(%r11), %rdx\n\t"
    "mov 104(%r11), %rax\n\t"
    "mov 120(%r11), %rsp\n\t"
    "mov 128(%r11), %rcx\n\t"
    "mov 24(%r11), %r11\n\t"
    "jmp *%rcx\n\t"
    ".size sud_jump, .-sud_jump\n");
_Static_assert(REG_R8 == 0 && REG_R11 == 3 && REG_RAX == 13 &&
    REG_RSP == 15 && REG_RIP == 16, "greg_t order");

/* Give up robust futexes tid still holds, as the kernel does for a
 * thread that exits (Documentation/locking/robust-futex-ABI). */
struct sud_robust {
	struct sud_robust *next;
};
struct sud_robust_head {
	struct sud_robust list;
	long futex_offset;
	struct sud_robust *pending;
};

static void
robust_release(uint32_t *f, uint32_t tid)
{
	uint32_t v = __atomic_load_n(f, __ATOMIC_RELAXED);

	do {
		if ((v & FUTEX_TID_MASK) != tid)
			return;
	} while (!__atomic_compare_exchange_n(f, &v, (v & FUTEX_WAITERS) |
	    FUTEX_OWNER_DIED, 0, __ATOMIC_SEQ_CST, __ATOMIC_RELAXED));
	if (v & FUTEX_WAITERS)
		syscall(SYS_futex, f, FUTEX_WAKE, 1, NULL, NULL, 0);
}

/* The end of a thread of the program: what the kernel would do at exit. */
static void
thread_exit(struct sud_thread *t)
{
	struct sud_robust_head *h = t->robust;
	struct sud_robust *e, *next;
	uint32_t tid = (uint32_t)gettid();
	int n = 0;

	if (h != NULL) {
		/* Bit 0 of an entry marks a PI futex; the list is the
		 * program's, bounded as the kernel bounds it. */
		for (e = h->list.next; e != &h->list && e != NULL &&
		    n < 2048; e = next, n++) {
			next = (struct sud_robust *)((unsigned long)e->next &
			    ~1ul);
			e = (struct sud_robust *)((unsigned long)e & ~1ul);
			if (e != h->pending)
				robust_release((uint32_t *)((char *)e +
				    h->futex_offset), tid);
		}
		if (h->pending != NULL)
			robust_release((uint32_t *)((char *)((unsigned long)
			    h->pending & ~1ul) + h->futex_offset), tid);
	}
	if (t->clear_tid != NULL) {
		__atomic_store_n(t->clear_tid, 0, __ATOMIC_SEQ_CST);
		syscall(SYS_futex, t->clear_tid, FUTEX_WAKE, 1, NULL, NULL, 0);
	}
}

/* exit (of one thread): a thread of ours goes back to its start; the
 * main one ends its host thread (the process lives on if others do). */
static void __attribute__((noreturn))
sud_exit(struct sud_thread *t, int code)
{
	if (!t->is_main)
		siglongjmp(t->exit_jb, 1);
	thread_exit(t);
	for (;;)
		syscall(SYS_exit, code);
}

/*
 * A new thread of the program: the pthread that carries it.  Copies what
 * it needs from the parent's sud_start, answers with its tid, and jumps
 * into the program; its exit comes back here through exit_jb.
 */
static void *
sud_thread_main(void *arg)
{
	struct sud_start *st = arg;
	struct sud_thread *t;
	greg_t regs[NGREG];
	sigset_t mask;
	int tid = (int)gettid();

	t = thread_new();
	if (t == NULL || prctl(PR_SET_SYSCALL_USER_DISPATCH,
	    PR_SYS_DISPATCH_ON, sud_lo, sud_len, 0) < 0) {
		tid = -(errno != 0 ? errno : ENOMEM);
		if (t != NULL)
			thread_free(t);
		t = NULL;
		goto answer;
	}
	t->prog_fs = (st->c.flags & CLONE_SETTLS) ? st->c.tls : st->fs;
	if (st->c.flags & CLONE_CHILD_CLEARTID)
		t->clear_tid = st->c.ctid;
	if (st->c.flags & CLONE_PARENT_SETTID)
		*st->c.ptid = tid;
	if (st->c.flags & CLONE_CHILD_SETTID)
		*st->c.ctid = tid;
	memcpy(regs, st->regs, sizeof(regs));
	regs[REG_RAX] = 0;
	regs[REG_R11] = regs[REG_EFL];
	if (st->c.stack != 0)
		regs[REG_RSP] = (greg_t)st->c.stack;
	mask = st->mask;
	sigdelset(&mask, SIGSYS);
answer:
	/* st is gone once the parent sees the answer. */
	__atomic_store_n(&st->tid, tid, __ATOMIC_SEQ_CST);
	syscall(SYS_futex, &st->tid, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
	if (t == NULL)
		return NULL;
	if (sigsetjmp(t->exit_jb, 1) == 0) {
		/* From here on the thread pointer is the program's: libc
		 * only through syscall(), which leaves errno alone. */
		fs_set(t->prog_fs);
		syscall(SYS_rt_sigprocmask, SIG_SETMASK, &mask, NULL, 8);
		sud_jump(regs);
	}
	/* exit: on our own stack again, with our thread pointer. */
	prctl(PR_SET_SYSCALL_USER_DISPATCH, PR_SYS_DISPATCH_OFF, 0, 0, 0);
	thread_exit(t);
	thread_free(t);
	return NULL;
}

/* clone with CLONE_THREAD: a pthread of ours carries the new thread. */
static long
sud_thread(const struct sud_clone *c, ucontext_t *uc, unsigned long fs)
{
	struct sud_start st;
	pthread_attr_t attr;
	pthread_t pt;
	sigset_t all, old;
	int e, tid;

	if ((c->flags & (CLONE_VM | CLONE_SIGHAND)) !=
	    (CLONE_VM | CLONE_SIGHAND))
		return -EINVAL;
	memcpy(st.regs, uc->uc_mcontext.gregs, sizeof(st.regs));
	memcpy(&st.mask, &uc->uc_sigmask, sizeof(st.mask));
	st.c = *c;
	st.fs = fs;
	st.tid = 0;
	/* The pthread starts with every signal blocked: none may reach it
	 * before it has a record and the program's mask. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	pthread_attr_setstacksize(&attr, SUD_THRSTACK);
	e = pthread_create(&pt, &attr, sud_thread_main, &st);
	pthread_attr_destroy(&attr);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (e != 0)
		return -e;
	while ((tid = __atomic_load_n(&st.tid, __ATOMIC_SEQ_CST)) == 0)
		syscall(SYS_futex, &st.tid, FUTEX_WAIT_PRIVATE, 0, NULL,
		    NULL, 0);
	return tid;
}

/*
 * fork, vfork, and clone without CLONE_THREAD: libc's fork, so that the
 * child gets its copy of the kernel process.  CLONE_VM|CLONE_VFORK (how
 * musl and glibc spawn) gets a copy of memory too, which a child that
 * only execs or exits cannot tell; a vfork child writing its parent's
 * memory would be.  The parent does not wait for the exec.
 */
static long
sud_fork(const struct sud_clone *c, ucontext_t *uc, unsigned long *fsp,
    struct sud_thread *t)
{
	pid_t pid;

	if (c->exit_signal != SIGCHLD ||
	    ((c->flags & CLONE_VM) && !(c->flags & CLONE_VFORK)) ||
	    (c->flags & (CLONE_SIGHAND | CLONE_PIDFD | CLONE_PARENT |
	    CLONE_NEWNS | CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNET)))
		return -ENOSYS;
	pid = fork();
	if (pid < 0)
		return -(long)errno;
	if (pid > 0) {
		if (c->flags & CLONE_PARENT_SETTID)
			*c->ptid = pid;
		return pid;
	}
	/* Dispatch is not inherited: the child turns it on again. */
	if (prctl(PR_SET_SYSCALL_USER_DISPATCH, PR_SYS_DISPATCH_ON,
	    sud_lo, sud_len, 0) < 0)
		_exit(127);
	pid = (pid_t)gettid();
	if (c->flags & CLONE_PARENT_SETTID)
		*c->ptid = pid;
	if (c->flags & CLONE_CHILD_SETTID)
		*c->ctid = pid;
	if (c->flags & CLONE_CHILD_CLEARTID)
		t->clear_tid = c->ctid;
	if (c->flags & CLONE_SETTLS)
		*fsp = t->prog_fs = c->tls;
	if (c->stack != 0)
		uc->uc_mcontext.gregs[REG_RSP] = (greg_t)c->stack;
	return 0;
}

/* clone and clone3, by what they make. */
static long
sud_clone(const struct sud_clone *c, ucontext_t *uc, unsigned long *fsp,
    struct sud_thread *t)
{
	if (c->flags & CLONE_THREAD)
		return sud_thread(c, uc, *fsp);
	return sud_fork(c, uc, fsp, t);
}

/* The kernel's struct clone_args, as far as we read it. */
struct sud_clone_args {
	uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack,
	    stack_size, tls, set_tid, set_tid_size, cgroup;
};

static long
sud_clone3(const struct sud_clone_args *ca, size_t size, ucontext_t *uc,
    unsigned long *fsp, struct sud_thread *t)
{
	struct sud_clone c;

	if (ca == NULL || size < 64)
		return -EINVAL;
	/* set_tid and cgroup placement are not ours to give: libc falls
	 * back to clone on ENOSYS. */
	if (size > 64 && (ca->set_tid != 0 || ca->set_tid_size != 0 ||
	    (size >= 88 && ca->cgroup != 0)))
		return -ENOSYS;
	c.flags = ca->flags;
	c.stack = ca->stack != 0 ? ca->stack + ca->stack_size : 0;
	c.ptid = (int *)ca->parent_tid;
	c.ctid = (int *)ca->child_tid;
	c.tls = ca->tls;
	c.exit_signal = ca->exit_signal;
	return sud_clone(&c, uc, fsp, t);
}

/* sigaltstack: the program's is recorded, not installed: the handler
 * needs ours (see the top), and the program's handlers run there too. */
static long
sud_sigaltstack(struct sud_thread *t, const stack_t *ss, stack_t *old)
{
	if (old != NULL)
		*old = t->prog_ss;
	if (ss == NULL)
		return 0;
	if ((unsigned)ss->ss_flags & ~(SS_DISABLE | SS_AUTODISARM))
		return -EINVAL;
	if (!(ss->ss_flags & SS_DISABLE) && ss->ss_size < SUD_MINSIGSTKSZ)
		return -ENOMEM;
	t->prog_ss = *ss;
	return 0;
}

/* Whether path is a static ELF executable (no PT_INTERP). */
static int
is_static(const char *path)
{
	Elf64_Ehdr eh;
	Elf64_Phdr ph;
	int fd = open(path, O_RDONLY | O_CLOEXEC), st = 0;

	if (fd < 0)
		return 0;
	if (pread(fd, &eh, sizeof(eh), 0) != sizeof(eh) ||
	    memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0 ||
	    eh.e_ident[EI_CLASS] != ELFCLASS64 ||
	    (eh.e_type != ET_EXEC && eh.e_type != ET_DYN))
		goto out;
	st = 1;
	for (int i = 0; i < eh.e_phnum && st; i++)
		if (pread(fd, &ph, sizeof(ph), (off_t)(eh.e_phoff +
		    (unsigned long)i * sizeof(ph))) != sizeof(ph) ||
		    ph.p_type == PT_INTERP)
			st = 0;
out:
	close(fd);
	return st;
}

/* execve: a static program is started through us again. */
static long
sud_execve(const char *path, char *const argv[], char *const envp[])
{
	sigset_t sys;
	size_t n;

	/* The new image must not start with SIGSYS blocked, as it is in
	 * this handler (sigreturn restores the mask if execve fails). */
	sigemptyset(&sys);
	sigaddset(&sys, SIGSYS);
	sigprocmask(SIG_UNBLOCK, &sys, NULL);

	/* Its own executable is the program, not us (busybox). */
	if (path != NULL && strcmp(path, "/proc/self/exe") == 0)
		path = load_prog;
	if (path == NULL || argv == NULL || !is_static(path))
		return ret(execve(path, argv, envp));
	for (n = 0; argv[n] != NULL; n++)
		;
	char *nargv[n + 3];

	nargv[0] = load_self;
	nargv[1] = (char *)path;
	for (size_t i = 0; i <= n; i++)
		nargv[i + 2] = argv[i];
	if (n == 0) {
		nargv[2] = (char *)path;
		nargv[3] = NULL;
	}
	return ret(execve(load_self, nargv, envp));
}

/* readlink of /proc/self/exe names the program, not us. */
static long
sud_readlinkat(int dirfd, const char *path, char *buf, size_t size)
{
	size_t n;

	if (path == NULL || strcmp(path, "/proc/self/exe") != 0)
		return ret(readlinkat(dirfd, path, buf, size));
	n = strlen(load_prog);
	if (n > size)
		n = size;
	memcpy(buf, load_prog, n);
	return (long)n;
}

static long
sud_getcwd(char *buf, size_t size)
{
	if (getcwd(buf, size) == NULL)
		return -(long)errno;
	return (long)strlen(buf) + 1;
}

#define A(i)	(a[i])
#define P(i)	((void *)a[i])
#define S(i)	((const char *)a[i])
#define I(i)	((int)a[i])

/*
 * One system call of the program, by the libc function of the same
 * meaning (so the shim routes it), or straight to the host.
 */
static long
sud_call(long nr, const long a[6], unsigned long *fsp, ucontext_t *uc,
    struct sud_thread *t)
{
	struct sud_clone c;

	switch (nr) {
	case SYS_arch_prctl:
		if (a[0] == ARCH_SET_FS) {
			*fsp = t->prog_fs = (unsigned long)a[1];
			return 0;
		}
		if (a[0] == ARCH_GET_FS) {
			*(unsigned long *)P(1) = *fsp;
			return 0;
		}
		if (a[0] == ARCH_SET_GS || a[0] == ARCH_GET_GS)
			return -EPERM;	/* ours: the thread's record */
		break;
	case SYS_brk:
		return sud_brk((unsigned long)a[0]);
	case SYS_rt_sigaction:
		return sud_sigaction(a[0], P(1), P(2), a[3]);
	case SYS_rt_sigprocmask:
		return sud_sigprocmask(a[0], P(1), P(2), a[3]);
	case SYS_sigaltstack:
		return sud_sigaltstack(t, P(0), P(1));
	case SYS_fork:
	case SYS_vfork:
		memset(&c, 0, sizeof(c));
		c.exit_signal = SIGCHLD;
		return sud_clone(&c, uc, fsp, t);
	case SYS_clone:
		c.flags = (unsigned long)a[0] & ~0xfful;
		c.exit_signal = (unsigned long)a[0] & 0xff;
		c.stack = (unsigned long)a[1];
		c.ptid = P(2);
		c.ctid = P(3);
		c.tls = (unsigned long)a[4];
		return sud_clone(&c, uc, fsp, t);
	case SYS_clone3:
		return sud_clone3(P(0), (size_t)a[1], uc, fsp, t);
	case SYS_exit:
		sud_exit(t, I(0));
	case SYS_set_tid_address:
		t->clear_tid = P(0);
		return gettid();
	case SYS_set_robust_list:
		if (a[1] != sizeof(struct sud_robust_head))
			return -EINVAL;
		t->robust = P(0);
		return 0;
	case SYS_get_robust_list:
		if (a[0] != 0 && a[0] != gettid())
			break;
		*(void **)P(1) = t->robust;
		*(size_t *)P(2) = sizeof(struct sud_robust_head);
		return 0;
	case SYS_execve:
		return sud_execve(S(0), P(1), P(2));
	case SYS_open:
		return ret(open(S(0), I(1), (mode_t)a[2]));
	case SYS_openat:
		return ret(openat(I(0), S(1), I(2), (mode_t)a[3]));
	case SYS_creat:
		return ret(creat(S(0), (mode_t)a[1]));
	case SYS_close:
		return ret(close(I(0)));
	case SYS_close_range:
		return ret(close_range((unsigned)a[0], (unsigned)a[1], I(2)));
	case SYS_read:
		return ret(read(I(0), P(1), (size_t)a[2]));
	case SYS_write:
		return ret(write(I(0), P(1), (size_t)a[2]));
	case SYS_readv:
		return ret(readv(I(0), P(1), I(2)));
	case SYS_writev:
		return ret(writev(I(0), P(1), I(2)));
	case SYS_pread64:
		return ret(pread64(I(0), P(1), (size_t)a[2], a[3]));
	case SYS_pwrite64:
		return ret(pwrite64(I(0), P(1), (size_t)a[2], a[3]));
	case SYS_lseek:
		return ret(lseek64(I(0), a[1], I(2)));
	case SYS_getdents64:
		return ret(getdents64(I(0), P(1), (size_t)a[2]));
	case SYS_stat:
		return ret(stat(S(0), P(1)));
	case SYS_lstat:
		return ret(lstat(S(0), P(1)));
	case SYS_fstat:
		return ret(fstat(I(0), P(1)));
	case SYS_newfstatat:
		return ret(fstatat(I(0), S(1), P(2), I(3)));
	case SYS_statx:
		return ret(statx(I(0), S(1), I(2), (unsigned)a[3], P(4)));
	case SYS_access:
		return ret(access(S(0), I(1)));
	case SYS_faccessat:
		return ret(faccessat(I(0), S(1), I(2), 0));
	case SYS_faccessat2:
		return ret(faccessat(I(0), S(1), I(2), I(3)));
	case SYS_readlink:
		return sud_readlinkat(AT_FDCWD, S(0), P(1), (size_t)a[2]);
	case SYS_readlinkat:
		return sud_readlinkat(I(0), S(1), P(2), (size_t)a[3]);
	case SYS_mkdir:
		return ret(mkdir(S(0), (mode_t)a[1]));
	case SYS_mkdirat:
		return ret(mkdirat(I(0), S(1), (mode_t)a[2]));
	case SYS_rmdir:
		return ret(rmdir(S(0)));
	case SYS_unlink:
		return ret(unlink(S(0)));
	case SYS_unlinkat:
		return ret(unlinkat(I(0), S(1), I(2)));
	case SYS_rename:
		return ret(rename(S(0), S(1)));
	case SYS_renameat:
		return ret(renameat(I(0), S(1), I(2), S(3)));
	case SYS_renameat2:
		return ret(renameat2(I(0), S(1), I(2), S(3), (unsigned)a[4]));
	case SYS_link:
		return ret(link(S(0), S(1)));
	case SYS_linkat:
		return ret(linkat(I(0), S(1), I(2), S(3), I(4)));
	case SYS_symlink:
		return ret(symlink(S(0), S(1)));
	case SYS_symlinkat:
		return ret(symlinkat(S(0), I(1), S(2)));
	case SYS_chmod:
		return ret(chmod(S(0), (mode_t)a[1]));
	case SYS_fchmod:
		return ret(fchmod(I(0), (mode_t)a[1]));
	case SYS_fchmodat:
		return ret(fchmodat(I(0), S(1), (mode_t)a[2], 0));
	case SYS_chown:
		return ret(chown(S(0), (uid_t)a[1], (gid_t)a[2]));
	case SYS_lchown:
		return ret(lchown(S(0), (uid_t)a[1], (gid_t)a[2]));
	case SYS_fchown:
		return ret(fchown(I(0), (uid_t)a[1], (gid_t)a[2]));
	case SYS_fchownat:
		return ret(fchownat(I(0), S(1), (uid_t)a[2], (gid_t)a[3],
		    I(4)));
	case SYS_utimensat:
		return ret(utimensat(I(0), S(1), P(2), I(3)));
	case SYS_truncate:
		return ret(truncate64(S(0), a[1]));
	case SYS_ftruncate:
		return ret(ftruncate64(I(0), a[1]));
	case SYS_mknod:
		return ret(mknod(S(0), (mode_t)a[1], (dev_t)a[2]));
	case SYS_mknodat:
		return ret(mknodat(I(0), S(1), (mode_t)a[2], (dev_t)a[3]));
	case SYS_chdir:
		return ret(chdir(S(0)));
	case SYS_fchdir:
		return ret(fchdir(I(0)));
	case SYS_getcwd:
		return sud_getcwd(P(0), (size_t)a[1]);
	case SYS_statfs:
		return ret(statfs(S(0), P(1)));
	case SYS_fstatfs:
		return ret(fstatfs(I(0), P(1)));
	case SYS_fsync:
		return ret(fsync(I(0)));
	case SYS_fdatasync:
		return ret(fdatasync(I(0)));
	case SYS_syncfs:
		return ret(syncfs(I(0)));
	case SYS_dup:
		return ret(dup(I(0)));
	case SYS_dup2:
		return ret(dup2(I(0), I(1)));
	case SYS_dup3:
		return ret(dup3(I(0), I(1), I(2)));
	case SYS_fcntl:
		return ret(fcntl(I(0), I(1), a[2]));
	case SYS_ioctl:
		return ret(ioctl(I(0), (unsigned long)a[1], a[2]));
	case SYS_umask:
		return (long)umask((mode_t)a[0]);
	case SYS_mmap:
		return ret((long)mmap64(P(0), (size_t)a[1], I(2), I(3), I(4),
		    a[5]));
	case SYS_sendfile:
		return ret(sendfile64(I(0), I(1), P(2), (size_t)a[3]));
	case SYS_copy_file_range:
		return ret(copy_file_range(I(0), P(1), I(2), P(3),
		    (size_t)a[4], (unsigned)a[5]));
	case SYS_fadvise64:
		return -posix_fadvise64(I(0), a[1], a[2], I(3));
	}
	return ret(syscall(nr, a[0], a[1], a[2], a[3], a[4], a[5]));
}

/* The call, with our thread pointer in place: errno is ours here.  Kept
 * apart so that no errno address is computed before the switch. */
static void __attribute__((noinline))
sud_body(ucontext_t *uc, long nr, unsigned long *fsp, struct sud_thread *t)
{
	greg_t *g = uc->uc_mcontext.gregs;
	int saved = errno;
	long a[6];

	a[0] = g[REG_RDI];
	a[1] = g[REG_RSI];
	a[2] = g[REG_RDX];
	a[3] = g[REG_R10];
	a[4] = g[REG_R8];
	a[5] = g[REG_R9];
	g[REG_RAX] = sud_call(nr, a, fsp, uc, t);
	errno = saved;
}

/*
 * SIGSYS, on the thread's alternate stack, SA_NODEFER (a handler of the
 * program that interrupts this one may trap in turn).  The thread pointer
 * in place when it came is put back on return: the program's, or, nested
 * under sud_progsig, whatever that one interrupted.
 */
static void
sud_sigsys(int sig, siginfo_t *si, void *vctx)
{
	struct sud_thread *t = gs_get();
	unsigned long fs = fs_get();

	(void)sig;
	fs_set(t->our_fs);
	sud_body(vctx, si->si_syscall, &fs, t);
	fs_set(fs);
}

/* --- loading ------------------------------------------------------------ */

struct image {
	unsigned long base;		/* load bias */
	unsigned long entry;
	unsigned long phdr;		/* the program headers in memory */
	unsigned phnum;
	unsigned long end;		/* highest address mapped */
};

static int
prot_of(unsigned flags)
{
	return ((flags & PF_R) ? PROT_READ : 0) |
	    ((flags & PF_W) ? PROT_WRITE : 0) |
	    ((flags & PF_X) ? PROT_EXEC : 0);
}

static void
map_segment(int fd, const Elf64_Phdr *ph, unsigned long base, const char *path)
{
	unsigned long start = (base + ph->p_vaddr) & ~4095ul;
	unsigned long fend = base + ph->p_vaddr + ph->p_filesz;
	unsigned long mend = base + ph->p_vaddr + ph->p_memsz;
	unsigned long fpage = (fend + 4095) & ~4095ul;
	off_t off = (off_t)(ph->p_offset & ~4095ul);
	int prot = prot_of(ph->p_flags);
	void *p;

	if (ph->p_filesz > 0) {
		p = mmap((void *)start, fend - start, prot | PROT_WRITE,
		    MAP_PRIVATE | MAP_FIXED, fd, off);
		if (p == MAP_FAILED)
			die("%s: mapping a segment: %s", path, strerror(errno));
		/* The rest of the last file page is bss. */
		if ((ph->p_flags & PF_W) && fpage > fend)
			memset((void *)fend, 0, fpage - fend);
		mprotect((void *)start, fend - start, prot);
	} else
		fpage = start;
	if (mend > fpage) {
		p = mmap((void *)fpage, mend - fpage, prot,
		    MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
		if (p == MAP_FAILED)
			die("%s: mapping bss: %s", path, strerror(errno));
	}
}

static void
load_image(const char *path, struct image *im)
{
	Elf64_Ehdr eh;
	Elf64_Phdr ph[64];
	unsigned long lo = ~0ul, hi = 0, span;
	void *p;
	int fd, i;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		die("%s: %s", path, strerror(errno));
	if (pread(fd, &eh, sizeof(eh), 0) != sizeof(eh) ||
	    memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0 ||
	    eh.e_ident[EI_CLASS] != ELFCLASS64 || eh.e_machine != EM_X86_64 ||
	    (eh.e_type != ET_EXEC && eh.e_type != ET_DYN) ||
	    eh.e_phentsize != sizeof(Elf64_Phdr) || eh.e_phnum == 0 ||
	    eh.e_phnum > 64)
		die("%s: not an x86-64 executable", path);
	if (pread(fd, ph, eh.e_phnum * sizeof(ph[0]), (off_t)eh.e_phoff) !=
	    (ssize_t)(eh.e_phnum * sizeof(ph[0])))
		die("%s: short program headers", path);
	for (i = 0; i < eh.e_phnum; i++) {
		if (ph[i].p_type == PT_INTERP)
			die("%s: dynamically linked (run it directly)", path);
		if (ph[i].p_type != PT_LOAD)
			continue;
		if (ph[i].p_vaddr < lo)
			lo = ph[i].p_vaddr;
		if (ph[i].p_vaddr + ph[i].p_memsz > hi)
			hi = ph[i].p_vaddr + ph[i].p_memsz;
	}
	if (hi <= lo)
		die("%s: nothing to load", path);
	lo &= ~4095ul;
	hi = (hi + 4095) & ~4095ul;
	span = hi - lo;
	/* Reserve the whole span (plus brk room) first: no overlap with
	 * anything of ours, or a clear error. */
	im->base = eh.e_type == ET_DYN ? LOAD_PIEBASE - lo : 0;
	p = mmap((void *)(im->base + lo), span + LOAD_BRKMAX, PROT_NONE,
	    MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE |
	    MAP_NORESERVE, -1, 0);
	if (p == MAP_FAILED || (unsigned long)p != im->base + lo)
		die("%s: its addresses are taken: %s", path, strerror(errno));
	im->phdr = 0;
	for (i = 0; i < eh.e_phnum; i++) {
		if (ph[i].p_type == PT_LOAD)
			map_segment(fd, &ph[i], im->base, path);
		if (ph[i].p_type == PT_PHDR)
			im->phdr = im->base + ph[i].p_vaddr;
	}
	for (i = 0; i < eh.e_phnum && im->phdr == 0; i++)
		if (ph[i].p_type == PT_LOAD && ph[i].p_offset <= eh.e_phoff &&
		    eh.e_phoff < ph[i].p_offset + ph[i].p_filesz)
			im->phdr = im->base + ph[i].p_vaddr +
			    (eh.e_phoff - ph[i].p_offset);
	im->phnum = eh.e_phnum;
	im->entry = im->base + eh.e_entry;
	im->end = im->base + hi;
	brk_start = brk_cur = brk_mapped = im->end;
	close(fd);
}

/* The allowed region: from the lowest to the highest code of the shared
 * objects (not the main executable, pithload, whose code makes no system
 * calls of its own). */
struct region {
	unsigned long lo, hi;
};

static int
region_cb(struct dl_phdr_info *info, size_t size, void *arg)
{
	struct region *r = arg;
	unsigned long s, e;

	if (info->dlpi_name == NULL || info->dlpi_name[0] == '\0')
		return 0;
	for (int i = 0; i < info->dlpi_phnum; i++) {
		if (info->dlpi_phdr[i].p_type != PT_LOAD ||
		    !(info->dlpi_phdr[i].p_flags & PF_X))
			continue;
		s = info->dlpi_addr + info->dlpi_phdr[i].p_vaddr;
		e = s + info->dlpi_phdr[i].p_memsz;
		if (s < r->lo)
			r->lo = s;
		if (e > r->hi)
			r->hi = e;
	}
	return 0;
}

/* Push n bytes onto the stack being built. */
static unsigned long
push(unsigned long *sp, const void *data, size_t n)
{
	*sp -= n;
	memcpy((void *)*sp, data, n);
	return *sp;
}

static unsigned long
build_stack(const struct image *im, const char *path, int argc, char **argv)
{
	extern char **environ;
	unsigned long sp, top, rnd, execfn, *v;
	char *stk, rbytes[16];
	int envc = 0, i, nv;

	stk = mmap(NULL, LOAD_STACK, PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
	if (stk == MAP_FAILED)
		die("stack: %s", strerror(errno));
	sp = top = (unsigned long)stk + LOAD_STACK;
	while (environ[envc] != NULL)
		envc++;
	unsigned long sargv[argc], senv[envc + 1];

	execfn = push(&sp, path, strlen(path) + 1);
	for (i = 0; i < argc; i++)
		sargv[i] = push(&sp, argv[i], strlen(argv[i]) + 1);
	for (i = 0; i < envc; i++)
		senv[i] = push(&sp, environ[i], strlen(environ[i]) + 1);
	if (getrandom(rbytes, sizeof(rbytes), 0) != sizeof(rbytes))
		die("getrandom: %s", strerror(errno));
	rnd = push(&sp, rbytes, sizeof(rbytes));
	unsigned long aux[] = {
		AT_PHDR, im->phdr, AT_PHENT, sizeof(Elf64_Phdr),
		AT_PHNUM, im->phnum, AT_PAGESZ, 4096, AT_BASE, 0,
		AT_FLAGS, 0, AT_ENTRY, im->entry,
		AT_UID, getuid(), AT_EUID, geteuid(), AT_GID, getgid(),
		AT_EGID, getegid(), AT_SECURE, 0, AT_RANDOM, rnd,
		AT_HWCAP, getauxval(AT_HWCAP), AT_HWCAP2, getauxval(AT_HWCAP2),
		AT_CLKTCK, getauxval(AT_CLKTCK),
		AT_SYSINFO_EHDR, getauxval(AT_SYSINFO_EHDR),
		AT_MINSIGSTKSZ, getauxval(AT_MINSIGSTKSZ),
		AT_EXECFN, execfn, AT_NULL, 0,
	};
	nv = 1 + argc + 1 + envc + 1 + (int)(sizeof(aux) / sizeof(aux[0]));
	sp = (sp - (unsigned long)nv * 8) & ~15ul;
	v = (unsigned long *)sp;
	*v++ = (unsigned long)argc;
	for (i = 0; i < argc; i++)
		*v++ = sargv[i];
	*v++ = 0;
	for (i = 0; i < envc; i++)
		*v++ = senv[i];
	*v++ = 0;
	memcpy(v, aux, sizeof(aux));
	(void)top;
	return sp;
}

int
main(int argc, char **argv)
{
	struct ksigaction k;
	struct sigaction sa;
	struct region r = { ~0ul, 0 };
	struct sud_thread *t;
	struct image im;
	unsigned long sp;
	ssize_t n;

	if (argc < 3) {
		fprintf(stderr, "usage: pithload PATH ARGV0 [ARGS...] "
		    "(run by pith exec for static programs)\n");
		return 2;
	}
	n = readlink("/proc/self/exe", load_self, sizeof(load_self) - 1);
	if (n <= 0)
		die("/proc/self/exe: %s", strerror(errno));
	load_self[n] = '\0';
	if (realpath(argv[1], load_prog) == NULL)
		die("%s: %s", argv[1], strerror(errno));
	load_image(load_prog, &im);
	sp = build_stack(&im, load_prog, argc - 2, argv + 2);

	/* libc's sigreturn trampoline, as it sets it for its handlers. */
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = sud_sigsys;
	sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_NODEFER;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGSYS, &sa, NULL) < 0 ||
	    syscall(SYS_rt_sigaction, SIGSYS, NULL, &k, 8) < 0)
		die("sigaction: %s", strerror(errno));
	load_restorer = k.restorer;
	sigemptyset(&sa.sa_mask);
	sigaddset(&sa.sa_mask, SIGSYS);
	sigprocmask(SIG_UNBLOCK, &sa.sa_mask, NULL);
	sud_fsgsbase = (getauxval(AT_HWCAP2) & HWCAP2_FSGSBASE) != 0;
	t = thread_new();
	if (t == NULL)
		die("thread record: %s", strerror(errno));
	t->is_main = 1;

	dl_iterate_phdr(region_cb, &r);
	if (r.hi <= r.lo || (im.base + 0x1000 >= r.lo && im.base < r.hi) ||
	    (im.end > r.lo && im.end <= r.hi))
		die("%s: cannot tell its code from the libraries'", argv[1]);
	sud_lo = r.lo;
	sud_len = r.hi - r.lo;
	if (prctl(PR_SET_SYSCALL_USER_DISPATCH, PR_SYS_DISPATCH_ON, sud_lo,
	    sud_len, 0) < 0)
		die("syscall user dispatch: %s", strerror(errno));
	/* The program's _start: rsp at argc, rdx the atexit function (none). */
	__asm__ volatile(
	    "mov %0, %%rsp\n\t"
	    "xor %%edx, %%edx\n\t"
	    "xor %%ebp, %%ebp\n\t"
	    "jmp *%1\n\t"
	    : : "r"(sp), "r"(im.entry) : "memory");
	__builtin_unreachable();
}
