/*
 * Signals of Linux programs on bare metal: generation, the default
 * actions, and delivery to handlers with the x86-64 rt_sigframe, as the
 * Linux ABI lays it out (libc's restorer then calls rt_sigreturn).
 *
 * Sources: kill/tkill/tgkill, a child's end (SIGCHLD to its parent), a
 * write to a broken pipe (SIGPIPE), the real-time interval timer (alarm,
 * setitimer ITIMER_REAL: SIGALRM, posted by one platform thread that
 * sleeps until the earliest expiry), and CPU faults (sig_fault: to a
 * handler if there is one that is not blocked, else the program ends).
 * A signal whose action is the default either does nothing (SIGCHLD, SIGURG, SIGWINCH, SIGCONT; the stop signals,
 * there being no job control) or ends the process; an ignored one is
 * dropped; a handled one is marked pending on the process (or the
 * thread, for tkill/tgkill/SIGPIPE) and delivered when a thread that does
 * not block it next returns to user mode (sig_deliver, from
 * uproc_return_check).  Posting wakes the process's sigsuspend/pause
 * sleepers and its futex waiters (they return EINTR, which libc's waits
 * treat as a spurious wakeup).  No system call is restarted (SA_RESTART
 * is not honoured): an interrupted one returns EINTR.
 *
 * One CPU, no preemption in ring 0: nothing here locks.  The frame is
 * written straight into the current address space after vms_prefault
 * made sure the pages are there.
 */
#include "uproc.h"

#define SA_NODEFER 0x40000000ul
#define SA_RESETHAND 0x80000000ul
#define SA_ONSTACK 0x08000000ul
#define SA_RESTORER 0x04000000ul
#define SIG_DFL 0
#define SIG_IGN 1
#define SIGKILL 9
#define SIGSEGV 11
#define SIGCHLD 17
#define SIGSTOP 19
#define BIT(s) (1ul << ((s) - 1))
#define UNBLOCKABLE (BIT(SIGKILL) | BIT(SIGSTOP))

struct ksigcontext {
	u64 r8, r9, r10, r11, r12, r13, r14, r15;
	u64 rdi, rsi, rbp, rbx, rdx, rax, rcx, rsp, rip, eflags;
	u16 cs, gs, fs, ss;
	u64 err, trapno, oldmask, cr2;
	u64 fpstate;
	u64 reserved1[8];
};

struct kucontext {
	u64 uc_flags;
	u64 uc_link;
	u64 ss_sp;
	u32 ss_flags, ss_pad;
	u64 ss_size;
	struct ksigcontext uc_mcontext;
	u64 uc_sigmask;
};

struct ksiginfo {
	int si_signo, si_errno, si_code, si_pad;
	int si_pid, si_uid, si_status, si_pad2;
	u64 si_rest[12];
};

struct rt_sigframe {
	u64 pretcode;
	struct kucontext uc;
	struct ksiginfo info;
};

_Static_assert(sizeof(struct ksigcontext) == 256, "sigcontext is 256 bytes");
_Static_assert(sizeof(struct ksiginfo) == 128, "siginfo is 128 bytes");

static int
sig_default_ignored(int sig)
{
	return sig == SIGCHLD || sig == 18 || sig == 23 || sig == 28 ||
	    (sig >= 19 && sig <= 22);
}

void
sig_post(struct uproc *p, struct uthread *t, int sig)
{
	u64 act = p->up_sigact[sig];
	struct uthread *u;
	int blocked = 1;

	if (p->up_zombie || p->up_exiting)
		return;
	if (sig == SIGKILL) {
		uproc_doom(p, sig);
		return;
	}
	if (act == SIG_IGN || (act == SIG_DFL && sig_default_ignored(sig)))
		return;
	if (act == SIG_DFL) {
		/* Ends the process unless every thread it may go to blocks it. */
		if (t != NULL)
			blocked = (t->ut_sigmask & BIT(sig)) != 0;
		else
			for (u = p->up_threads; u != NULL; u = u->ut_next)
				if ((u->ut_sigmask & BIT(sig)) == 0)
					blocked = 0;
		if (!blocked) {
			uproc_doom(p, sig);
			return;
		}
	}
	if (t != NULL)
		t->ut_sigpending |= BIT(sig);
	else
		p->up_sigpending |= BIT(sig);
	(void)sched_wakeq(&p->up_sigq, -1);
	futex_wake_proc(p);
}

/*
 * A CPU fault with a handler installed and not blocked is delivered to
 * it, with the faulting address; otherwise (default, ignored or blocked)
 * it kills, as Linux forces it.  If the handler returns, the instruction
 * runs again.
 */
int
sig_fault(struct uthread *ut, int sig, int code, u64 addr)
{
	struct uproc *p = ut->ut_proc;
	u64 act = p->up_sigact[sig];

	if (act == SIG_DFL || act == SIG_IGN || (ut->ut_sigmask & BIT(sig)) ||
	    p->up_exiting)
		return 0;
	ut->ut_sigpending |= BIT(sig);
	ut->ut_fault_sig = sig;
	ut->ut_fault_code = code;
	ut->ut_fault_addr = addr;
	return 1;
}

/* A signal this thread may take now: its number, or 0. */
int
sig_deliverable(struct uthread *ut)
{
	u64 set = (ut->ut_proc->up_sigpending | ut->ut_sigpending) &
	    ~ut->ut_sigmask;

	return set == 0 ? 0 : __builtin_ctzl(set) + 1;
}

static void __attribute__((noreturn))
sig_badframe(struct uproc *p, const char *why)
{
	metal_puts("pith: ");
	metal_puts(p->up_comm);
	metal_puts(" killed by SIGSEGV: ");
	metal_puts(why);
	metal_puts("\n");
	uproc_doom(p, SIGSEGV);
	uproc_exit(SIGSEGV, 1);
}

/* On the way to user mode: run the handler of a pending signal, if any. */
void
sig_deliver(struct trapframe *tf)
{
	struct uthread *ut = uthread_cur();
	struct uproc *p = ut->ut_proc;
	struct rt_sigframe *f;
	u64 sp, fp, act, flags, oldmask;
	int sig = sig_deliverable(ut);

	oldmask = ut->ut_hassaved ? ut->ut_savedmask : ut->ut_sigmask;
	if (sig == 0) {
		/* sigsuspend woke for a signal someone else took. */
		if (ut->ut_hassaved) {
			ut->ut_sigmask = ut->ut_savedmask;
			ut->ut_hassaved = 0;
		}
		return;
	}
	if (ut->ut_sigpending & BIT(sig))
		ut->ut_sigpending &= ~BIT(sig);
	else
		p->up_sigpending &= ~BIT(sig);
	act = p->up_sigact[sig];
	flags = p->up_sigflags[sig];
	if (act == SIG_IGN || (act == SIG_DFL && sig_default_ignored(sig)))
		return;
	if (act == SIG_DFL) {
		uproc_doom(p, sig);
		uproc_exit(sig, 1);
	}
	if ((flags & SA_RESTORER) == 0)
		sig_badframe(p, "a signal handler without a restorer");
	sp = tf->tf_rsp;
	if ((flags & SA_ONSTACK) && ut->ut_altstack[1] != 0 &&
	    !(sp > ut->ut_altstack[0] &&
	    sp <= ut->ut_altstack[0] + ut->ut_altstack[2]))
		sp = ut->ut_altstack[0] + ut->ut_altstack[2];
	sp -= 128;                      /* the red zone */
	fp = (sp - 512) & ~63ul;
	sp = ((fp - sizeof(*f)) & ~15ul) - 8;
	if (vms_prefault(p->up_vm, sp, fp + 512 - sp, 1) != 0)
		sig_badframe(p, "no room for a signal frame on the stack");
	f = (struct rt_sigframe *)(uintptr)sp;
	memset(f, 0, sizeof(*f));
	f->pretcode = p->up_sigrestorer[sig];
	f->uc.ss_sp = ut->ut_altstack[0];
	f->uc.ss_flags = ut->ut_altstack[1] != 0 ? 0 : 2;
	f->uc.ss_size = ut->ut_altstack[2];
	f->uc.uc_mcontext.r8 = tf->tf_r8;
	f->uc.uc_mcontext.r9 = tf->tf_r9;
	f->uc.uc_mcontext.r10 = tf->tf_r10;
	f->uc.uc_mcontext.r11 = tf->tf_r11;
	f->uc.uc_mcontext.r12 = tf->tf_r12;
	f->uc.uc_mcontext.r13 = tf->tf_r13;
	f->uc.uc_mcontext.r14 = tf->tf_r14;
	f->uc.uc_mcontext.r15 = tf->tf_r15;
	f->uc.uc_mcontext.rdi = tf->tf_rdi;
	f->uc.uc_mcontext.rsi = tf->tf_rsi;
	f->uc.uc_mcontext.rbp = tf->tf_rbp;
	f->uc.uc_mcontext.rbx = tf->tf_rbx;
	f->uc.uc_mcontext.rdx = tf->tf_rdx;
	f->uc.uc_mcontext.rax = tf->tf_rax;
	f->uc.uc_mcontext.rcx = tf->tf_rcx;
	f->uc.uc_mcontext.rsp = tf->tf_rsp;
	f->uc.uc_mcontext.rip = tf->tf_rip;
	f->uc.uc_mcontext.eflags = tf->tf_rflags;
	f->uc.uc_mcontext.cs = SEL_UCODE;
	f->uc.uc_mcontext.ss = SEL_UDATA;
	f->uc.uc_mcontext.err = tf->tf_err;
	f->uc.uc_mcontext.trapno = tf->tf_vector == TF_SYSCALL ? 0 : tf->tf_vector;
	f->uc.uc_mcontext.oldmask = oldmask;
	f->uc.uc_mcontext.fpstate = fp;
	f->uc.uc_sigmask = oldmask;
	__asm__ volatile("fxsave64 (%0)" :: "r"(fp) : "memory");
	f->info.si_signo = sig;
	f->info.si_code = sig == SIGCHLD ? 1 : 0;       /* CLD_EXITED : SI_USER */
	if (sig == ut->ut_fault_sig) {
		/* si_addr lies where si_pid and si_uid do for others. */
		f->info.si_code = ut->ut_fault_code;
		f->info.si_pid = (int)ut->ut_fault_addr;
		f->info.si_uid = (int)(ut->ut_fault_addr >> 32);
		ut->ut_fault_sig = 0;
	}
	ut->ut_hassaved = 0;
	ut->ut_sigmask = oldmask | (p->up_sigmaskact[sig] & ~UNBLOCKABLE);
	if ((flags & SA_NODEFER) == 0)
		ut->ut_sigmask |= BIT(sig);
	if (flags & SA_RESETHAND)
		p->up_sigact[sig] = SIG_DFL;
	tf->tf_rsp = sp;
	tf->tf_rip = act;
	tf->tf_rdi = (u64)sig;
	tf->tf_rsi = (u64)(uintptr)&f->info;
	tf->tf_rdx = (u64)(uintptr)&f->uc;
	tf->tf_rax = 0;
	tf->tf_rflags &= ~(0x100ul | 0x400ul);         /* TF, DF */
	tf->tf_cs = SEL_UCODE;
	tf->tf_ss = SEL_UDATA;
}

/* rt_sigreturn: back to where the handler interrupted; returns rax. */
long
sig_return(struct trapframe *tf)
{
	struct uthread *ut = uthread_cur();
	struct uproc *p = ut->ut_proc;
	const struct rt_sigframe *f;
	const struct ksigcontext *c;
	u64 sp = tf->tf_rsp - 8;

	if (vms_prefault(p->up_vm, sp, sizeof(*f), 0) != 0)
		sig_badframe(p, "rt_sigreturn without a signal frame");
	f = (const struct rt_sigframe *)(uintptr)sp;
	c = &f->uc.uc_mcontext;
	if (c->rip >= USER_TOP || c->rsp >= USER_TOP)
		sig_badframe(p, "rt_sigreturn to a kernel address");
	tf->tf_r8 = c->r8;
	tf->tf_r9 = c->r9;
	tf->tf_r10 = c->r10;
	tf->tf_r11 = c->r11;
	tf->tf_r12 = c->r12;
	tf->tf_r13 = c->r13;
	tf->tf_r14 = c->r14;
	tf->tf_r15 = c->r15;
	tf->tf_rdi = c->rdi;
	tf->tf_rsi = c->rsi;
	tf->tf_rbp = c->rbp;
	tf->tf_rbx = c->rbx;
	tf->tf_rdx = c->rdx;
	tf->tf_rcx = c->rcx;
	tf->tf_rsp = c->rsp;
	tf->tf_rip = c->rip;
	/* The flags a program may set (as Linux's FIX_EFLAGS), IF always. */
	tf->tf_rflags = (tf->tf_rflags & ~0x50dd5ul) | (c->eflags & 0x50dd5ul) |
	    RFLAGS_IF;
	tf->tf_cs = SEL_UCODE;
	tf->tf_ss = SEL_UDATA;
	if (c->fpstate != 0) {
		if (vms_prefault(p->up_vm, c->fpstate, 512, 0) != 0 ||
		    (c->fpstate & 15) != 0)
			sig_badframe(p, "rt_sigreturn with a bad FPU state");
		memcpy(ut->ut_fpu, (const void *)(uintptr)c->fpstate, 512);
		/* MXCSR's reserved bits would fault fxrstor in the kernel. */
		*(u32 *)(void *)(ut->ut_fpu + 24) &= 0xffbf;
		__asm__ volatile("fxrstor64 (%0)" :: "r"(ut->ut_fpu) : "memory");
	}
	ut->ut_sigmask = f->uc.uc_sigmask & ~UNBLOCKABLE;
	return (long)c->rax;
}

/* rt_sigsuspend (mask given) and pause (mask NULL): wait for a signal. */
long
sig_suspend(u64 umask, u64 size)
{
	struct uthread *ut = uthread_cur();
	struct uproc *p = ut->ut_proc;

	if (umask != 0) {
		if (size != 8)
			return -EINVAL;
		if (!vms_check(p->up_vm, umask, 8, 0))
			return -EFAULT;
		ut->ut_savedmask = ut->ut_sigmask;
		ut->ut_hassaved = 1;
		ut->ut_sigmask = *(const u64 *)(uintptr)umask & ~UNBLOCKABLE;
	}
	while (sig_deliverable(ut) == 0 && !p->up_exiting)
		(void)sched_sleepq(&p->up_sigq, 0);
	return -EINTR;
}

long
sig_pending(u64 uset, u64 size)
{
	struct uthread *ut = uthread_cur();

	if (size != 8)
		return -EINVAL;
	if (!vms_check(ut->ut_proc->up_vm, uset, 8, 1))
		return -EFAULT;
	*(u64 *)(uintptr)uset = (ut->ut_proc->up_sigpending | ut->ut_sigpending) &
	    ut->ut_sigmask;
	return 0;
}

/* --- alarm and ITIMER_REAL ---------------------------------------------- */

#define NSEC 1000000000ll

static struct hyp_thread *alarm_thread;
static struct waitq alarm_wq;           /* the thread, between expiries */

/* Post SIGALRM to every process whose timer expired; sleep till the next. */
static void
alarm_main(void *arg)
{
	for (;;) {
		hyp_i64 now = hyp_clock_ns(HYP_CLOCK_MONOTONIC), next = 0;
		struct uproc *p;

		for (p = uproc_next(NULL); p != NULL; p = uproc_next(p)) {
			if (p->up_alarm == 0)
				continue;
			if (p->up_alarm <= now) {
				p->up_alarm = p->up_alarm_interval != 0 ?
				    now + p->up_alarm_interval : 0;
				sig_post(p, NULL, 14 /* SIGALRM */);
			}
			if (p->up_alarm != 0 && (next == 0 || p->up_alarm < next))
				next = p->up_alarm;
		}
		(void)sched_sleepq(&alarm_wq, next);
	}
}

/* Arm p's timer; start the alarm thread on first use. */
static long
alarm_arm(struct uproc *p, hyp_i64 value, hyp_i64 interval)
{
	p->up_alarm = value != 0 ? hyp_clock_ns(HYP_CLOCK_MONOTONIC) + value : 0;
	p->up_alarm_interval = value != 0 ? interval : 0;
	if (alarm_thread == NULL && value != 0 &&
	    sched_spawn(alarm_main, NULL, NULL, "alarm", &alarm_thread) != 0) {
		p->up_alarm = 0;
		return -ENOMEM;
	}
	(void)sched_wakeq(&alarm_wq, -1);
	return 0;
}

static hyp_i64
alarm_left(struct uproc *p)
{
	hyp_i64 left;

	if (p->up_alarm == 0)
		return 0;
	left = p->up_alarm - hyp_clock_ns(HYP_CLOCK_MONOTONIC);
	return left > 0 ? left : 1;
}

long
sig_alarm(u64 seconds)
{
	struct uproc *p = uthread_cur()->ut_proc;
	hyp_i64 left = alarm_left(p);
	long r;

	if (seconds > 0x7fffffffu)
		seconds = 0x7fffffffu;
	if ((r = alarm_arm(p, (hyp_i64)seconds * NSEC, 0)) != 0)
		return r;
	/* Whole seconds left, rounded to nearest but never 0 if pending. */
	return left == 0 ? 0 : (left + NSEC / 2) / NSEC > 0 ?
	    (long)((left + NSEC / 2) / NSEC) : 1;
}

struct kitimerval {
	long it_interval_sec, it_interval_usec;
	long it_value_sec, it_value_usec;
};

static void
itv_fill(struct uproc *p, struct kitimerval *v)
{
	hyp_i64 left = alarm_left(p);

	v->it_interval_sec = p->up_alarm_interval / NSEC;
	v->it_interval_usec = p->up_alarm_interval % NSEC / 1000;
	v->it_value_sec = left / NSEC;
	v->it_value_usec = left % NSEC / 1000;
}

long
sig_getitimer(long which, u64 ucur)
{
	struct uproc *p = uthread_cur()->ut_proc;
	struct kitimerval v;

	if (which != 0)
		return which == 1 || which == 2 ? -ENOSYS : -EINVAL;
	if (!vms_check(p->up_vm, ucur, sizeof(v), 1))
		return -EFAULT;
	itv_fill(p, &v);
	*(struct kitimerval *)(uintptr)ucur = v;
	return 0;
}

long
sig_setitimer(long which, u64 unew, u64 uold)
{
	struct uproc *p = uthread_cur()->ut_proc;
	struct kitimerval n, o;

	if (which != 0)
		return which == 1 || which == 2 ? -ENOSYS : -EINVAL;
	if ((unew != 0 && !vms_check(p->up_vm, unew, sizeof(n), 0)) ||
	    (uold != 0 && !vms_check(p->up_vm, uold, sizeof(o), 1)))
		return -EFAULT;
	itv_fill(p, &o);
	if (unew != 0) {
		n = *(const struct kitimerval *)(uintptr)unew;
		if (n.it_value_sec < 0 || n.it_value_usec < 0 ||
		    n.it_value_usec >= 1000000 || n.it_interval_sec < 0 ||
		    n.it_interval_usec < 0 || n.it_interval_usec >= 1000000 ||
		    n.it_value_sec > 0x7fffffff || n.it_interval_sec > 0x7fffffff)
			return -EINVAL;
		if (alarm_arm(p, n.it_value_sec * NSEC + n.it_value_usec * 1000,
		    n.it_interval_sec * NSEC + n.it_interval_usec * 1000) != 0)
			return -ENOMEM;
	}
	if (uold != 0)
		*(struct kitimerval *)(uintptr)uold = o;
	return 0;
}
