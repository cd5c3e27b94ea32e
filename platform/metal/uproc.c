/*
 * Processes and threads of Linux programs on bare metal.
 *
 * A program's process is a kernel process (pith_kproc_create: its own
 * descriptors, directories and credentials, inherited as fork inherits
 * them) plus what the platform keeps here: the address space, the threads
 * and the exit status.  Each program thread is a platform thread on the
 * cooperative scheduler (sched.c) with a struct uthread hung on it; it
 * enters user mode from its own kernel stack and comes back on `syscall`,
 * an interrupt or a fault.  The scheduler calls uproc_switch on every
 * switch, which moves the FPU/SSE state, the FS base, the kernel stack in
 * the TSS and CR3.  A program thread in a loop without system calls is
 * preempted by the timer (uproc_tick) after a 10 ms slice.
 *
 * Ending: a thread that exits leaves its process's thread list; the last
 * one out releases the address space and the kernel process and makes
 * the process a zombie for its parent's wait4.  exit_group and fatal
 * signals mark the process exiting; each other thread sees the mark when
 * it next heads for user mode (uproc_return_check) and ends itself, and
 * futex sleepers are woken so that they do.  A thread blocked inside a
 * kernel call finishes that call first.
 *
 * The first program is a child of uproc_root, a stand-in for the boot
 * thread (pid 1), which metal_app_run waits on; orphans go to it too.
 *
 * One CPU, no preemption in ring 0: nothing here locks.  The parent frees
 * a zombie's struct uproc (wait4); the thread's own exit frees its struct
 * uthread.
 */
#include "uproc.h"

#define CLONE_VM 0x100ul
#define CLONE_FS 0x200ul
#define CLONE_FILES 0x400ul
#define CLONE_SIGHAND 0x800ul
#define CLONE_VFORK 0x4000ul
#define CLONE_PARENT 0x8000ul
#define CLONE_THREAD 0x10000ul
#define CLONE_SETTLS 0x80000ul
#define CLONE_PARENT_SETTID 0x100000ul
#define CLONE_CHILD_CLEARTID 0x200000ul
#define CLONE_CHILD_SETTID 0x1000000ul

#define WNOHANG 1
#define SLICE_TICKS 10

static struct uproc uproc_root;
static struct uproc *uproc_init;        /* the first program (root's child) */
static struct uproc *uproc_all;
static int uproc_nexttid = 1 << 22;
static u8 uproc_fpu_default[512] __attribute__((aligned(16)));
static int uproc_fpu_ready;
static u64 uproc_cr3;                   /* what CR3 holds */

static const char *const signames[32] = {
	"0", "SIGHUP", "SIGINT", "SIGQUIT", "SIGILL", "SIGTRAP", "SIGABRT",
	"SIGBUS", "SIGFPE", "SIGKILL", "SIGUSR1", "SIGSEGV", "SIGUSR2",
	"SIGPIPE", "SIGALRM", "SIGTERM", "SIGSTKFLT", "SIGCHLD", "SIGCONT",
	"SIGSTOP", "SIGTSTP", "SIGTTIN", "SIGTTOU", "SIGURG", "SIGXCPU",
	"SIGXFSZ", "SIGVTALRM", "SIGPROF", "SIGWINCH", "SIGIO", "SIGPWR",
	"SIGSYS",
};

/*
 * The running thread's struct uthread (NULL in kernel threads): one CPU,
 * so one global, set by uproc_switch as the scheduler changes threads and
 * cleared as a program thread turns kernel thread to exit.  entry.S reads
 * it for its pending-work test.
 */
struct uthread *metal_curut;

struct uthread *
uthread_cur(void)
{
	return metal_curut;
}

static void
fxsave(u8 *area)
{
	__asm__ volatile("fxsave64 (%0)" :: "r"(area) : "memory");
}

static void
fxrstor(const u8 *area)
{
	__asm__ volatile("fxrstor64 (%0)" :: "r"(area) : "memory");
}

/* The FPU state a new program starts with: after fninit, MXCSR default. */
void
uproc_fpu_init(u8 *fpu)
{
	if (!uproc_fpu_ready) {
		u32 mxcsr = 0x1f80;

		__asm__ volatile("fninit; ldmxcsr %0" :: "m"(mxcsr));
		fxsave(uproc_fpu_default);
		uproc_fpu_ready = 1;
	}
	memcpy(fpu, uproc_fpu_default, sizeof(uproc_fpu_default));
}

static void
set_cr3(u64 cr3)
{
	if (uproc_cr3 != cr3) {
		load_cr3(cr3);
		uproc_cr3 = cr3;
	}
}

void
uproc_switch(struct hyp_thread *prev, struct hyp_thread *next)
{
	struct uthread *p = sched_uctx(prev), *n = sched_uctx(next);

	if (p != NULL)
		fxsave(p->ut_fpu);
	trap_set_kstack(sched_kstack_top(next));
	metal_curut = n;
	if (n == NULL) {
		set_cr3(vm_kernel_cr3());
		return;
	}
	set_cr3(n->ut_proc->up_vm->vm_cr3);
	fxrstor(n->ut_fpu);
	wrmsr(MSR_FS_BASE, n->ut_fsbase);
	wrmsr(MSR_GS_BASE, n->ut_gsbase);
	n->ut_slice = metal_ticks;
}

/* --- creation ----------------------------------------------------------- */

static struct uproc *
uproc_alloc(struct uproc *parent, int pid)
{
	struct uproc *p = mem_alloc(sizeof(*p), 16);

	if (p == NULL)
		return NULL;
	memset(p, 0, sizeof(*p));
	p->up_pid = pid;
	p->up_parent = parent;
	p->up_sibling = parent->up_children;
	parent->up_children = p;
	p->up_allnext = uproc_all;
	uproc_all = p;
	return p;
}

static void
uproc_free(struct uproc *p)
{
	struct uproc **pp;

	for (pp = &uproc_all; *pp != NULL; pp = &(*pp)->up_allnext) {
		if (*pp == p) {
			*pp = p->up_allnext;
			break;
		}
	}
	mem_free(p, sizeof(*p));
}

static void
uproc_unlink_child(struct uproc *p)
{
	struct uproc **pp;

	if (p->up_parent == NULL)
		return;
	for (pp = &p->up_parent->up_children; *pp != NULL; pp = &(*pp)->up_sibling) {
		if (*pp == p) {
			*pp = p->up_sibling;
			break;
		}
	}
	p->up_parent = NULL;
}

/* First code of every program thread: become the process, enter user mode. */
static void
uthread_main(void *arg)
{
	struct uthread *ut = arg;
	struct trapframe tf;
	long r;

	r = pith_kproc_switch(ut->ut_proc->up_pid);
	if (r != 0) {
		metal_puts("pith: a new thread cannot join its process\n");
		uproc_exit(9, 1);
	}
	tf = ut->ut_start;
	metal_enter_user(&tf);
}

static struct uthread *
uthread_alloc(struct uproc *p, int tid)
{
	struct uthread *ut = mem_alloc(sizeof(*ut), 16);

	if (ut == NULL)
		return NULL;
	memset(ut, 0, sizeof(*ut));
	ut->ut_proc = p;
	ut->ut_tid = tid;
	return ut;
}

static int
uthread_start(struct uthread *ut)
{
	struct uproc *p = ut->ut_proc;
	int error;

	error = sched_spawn(uthread_main, ut, ut, p->up_comm, &ut->ut_thread);
	if (error != 0)
		return error;
	ut->ut_next = p->up_threads;
	p->up_threads = ut;
	p->up_nthreads++;
	return 0;
}

static void
frame_init(struct trapframe *tf, u64 rip, u64 rsp)
{
	memset(tf, 0, sizeof(*tf));
	tf->tf_rip = rip;
	tf->tf_rsp = rsp;
	tf->tf_cs = SEL_UCODE;
	tf->tf_ss = SEL_UDATA;
	tf->tf_rflags = RFLAGS_IF | 0x2;
}

static void
comm_set(struct uproc *p, const char *path)
{
	const char *b = path;
	int i;

	for (; *path != '\0'; path++)
		if (*path == '/')
			b = path + 1;
	for (i = 0; i < 15 && b[i] != '\0'; i++)
		p->up_comm[i] = b[i];
	p->up_comm[i] = '\0';
}

int
metal_app_run(const void *elf, hyp_size_t len, char *const argv[],
    char *const envp[])
{
	struct elf_image ei;
	struct vmspace *vm;
	struct uproc *p;
	struct uthread *ut;
	int argc = 0, envc = 0, error, status;
	long pid;

	/* A boot module by physical address: read it through the direct map. */
	if ((uintptr)elf < 0x40000000ul)
		elf = metal_kva((u64)(uintptr)elf);
	uproc_root.up_pid = 1;
	uproc_cr3 = read_cr3();
	while (argv != NULL && argv[argc] != NULL)
		argc++;
	while (envp != NULL && envp[envc] != NULL)
		envc++;
	error = elf_load(elf, len, argc > 0 ? argv[0] : "program", argv, argc,
	    envp, envc, &vm, &ei);
	if (error != 0) {
		metal_puts("pith: cannot run the program: ");
		metal_puts(error == ENOEXEC ? "not a static x86-64 Linux program: " :
		    error == ENOMEM ? "out of memory" : error == E2BIG ?
		    "arguments and environment too long" : "error");
		if (error == ENOEXEC)
			metal_puts(elf_why);
		metal_puts("\n");
		return 127 << 8;
	}
	pid = pith_kproc_create(PITH_PROC_COPYFDS_K);
	if (pid < 0 || (p = uproc_alloc(&uproc_root, (int)pid)) == NULL) {
		vms_release(vm);
		metal_puts("pith: cannot create the program's process\n");
		return 127 << 8;
	}
	p->up_vm = vm;
	uproc_init = p;
	comm_set(p, argc > 0 ? argv[0] : "program");
	ut = uthread_alloc(p, p->up_pid);
	if (ut != NULL) {
		uproc_fpu_init(ut->ut_fpu);
		frame_init(&ut->ut_start, ei.ei_entry, ei.ei_sp);
	}
	if (ut == NULL || uthread_start(ut) != 0) {
		metal_puts("pith: cannot run the program: out of memory\n");
		if (ut != NULL)
			mem_free(ut, sizeof(*ut));
		vms_release(vm);
		(void)pith_kproc_release(p->up_pid);
		uproc_unlink_child(p);
		uproc_free(p);
		return 127 << 8;
	}
	while (!p->up_zombie)
		(void)sched_sleepq(&uproc_root.up_waitq, 0);
	status = p->up_status;
	uproc_unlink_child(p);
	uproc_free(p);
	return status;
}

/* --- fork, vfork and clone ---------------------------------------------- */

long
uproc_clone(struct trapframe *tf, u64 flags, u64 stack, u64 ptid, u64 ctid,
    u64 tls)
{
	struct uthread *cur = uthread_cur(), *ut;
	struct uproc *p = cur->ut_proc, *np;
	struct vmspace *vm;
	int error, tid;
	long pid;

	if ((flags & CLONE_THREAD) && !(flags & CLONE_VM))
		return -EINVAL;
	if (flags & CLONE_THREAD) {
		np = p;
		tid = uproc_nexttid++;
	} else {
		if (flags & CLONE_VM) {
			vm = p->up_vm;
			vm->vm_refs++;
		} else if ((vm = vms_fork(p->up_vm, &error)) == NULL)
			return -error;
		pid = pith_kproc_create(PITH_PROC_COPYFDS_K);
		if (pid < 0) {
			vms_release(vm);
			return pid;
		}
		np = uproc_alloc((flags & CLONE_PARENT) && p->up_parent != NULL ?
		    p->up_parent : p, (int)pid);
		if (np == NULL) {
			vms_release(vm);
			(void)pith_kproc_release((int)pid);
			return -ENOMEM;
		}
		np->up_vm = vm;
		memcpy(np->up_comm, p->up_comm, sizeof(np->up_comm));
		memcpy(np->up_sigact, p->up_sigact, sizeof(np->up_sigact));
		memcpy(np->up_sigflags, p->up_sigflags, sizeof(np->up_sigflags));
		memcpy(np->up_sigmaskact, p->up_sigmaskact,
		    sizeof(np->up_sigmaskact));
		memcpy(np->up_sigrestorer, p->up_sigrestorer,
		    sizeof(np->up_sigrestorer));
		tid = (int)pid;
	}
	ut = uthread_alloc(np, tid);
	if (ut == NULL)
		goto nomem;
	fxsave(ut->ut_fpu);             /* the parent's live FPU state */
	ut->ut_fsbase = (flags & CLONE_SETTLS) ? tls : cur->ut_fsbase;
	ut->ut_gsbase = cur->ut_gsbase;
	ut->ut_sigmask = cur->ut_sigmask;
	if (flags & CLONE_CHILD_CLEARTID)
		ut->ut_clear_tid = ctid;
	ut->ut_start = *tf;
	ut->ut_start.tf_rax = 0;
	if (stack != 0)
		ut->ut_start.tf_rsp = stack;
	if ((flags & CLONE_PARENT_SETTID) &&
	    vms_write_u32(p->up_vm, ptid, (u32)tid) != 0)
		goto fault;
	if ((flags & CLONE_CHILD_SETTID) &&
	    vms_write_u32(np->up_vm, ctid, (u32)tid) != 0)
		goto fault;
	if (uthread_start(ut) != 0)
		goto nomem;
	if (flags & CLONE_VFORK) {
		while (!np->up_vfork_done && !np->up_zombie)
			(void)sched_sleepq(&np->up_vforkq, 0);
	}
	return tid;
fault:
	error = EFAULT;
	goto fail;
nomem:
	error = ENOMEM;
fail:
	if (ut != NULL)
		mem_free(ut, sizeof(*ut));
	if (np != p) {
		vms_release(np->up_vm);
		(void)pith_kproc_release(np->up_pid);
		uproc_unlink_child(np);
		uproc_free(np);
	}
	return -error;
}

/* --- exec --------------------------------------------------------------- */

/*
 * Close the descriptors marked close-on-exec (the kernel has no exec).
 * One poll of all 1024 possible descriptors, in the static buffer exec
 * uses, says which are open (the others come back POLLNVAL); only those
 * are asked for their flags.
 */
static void
close_on_exec(void)
{
	struct kpollfd {
		int fd;
		short events, revents;
	} *pfd;
	long fd, r;
	int polled;
	u8 *buf = exec_bounce_get();

	pfd = (struct kpollfd *)(void *)buf;
	for (fd = 0; fd < 1024; fd++) {
		pfd[fd].fd = (int)fd;
		pfd[fd].events = 0;
		pfd[fd].revents = 0;
	}
	/* If poll fails, every descriptor is asked. */
	polled = pith_syscall6(7 /* poll */, (long)pfd, 1024, 0, 0, 0, 0) >= 0;
	for (fd = 0; fd < 1024; fd++) {
		if (polled && (pfd[fd].revents & 0x20 /* POLLNVAL */))
			continue;
		r = pith_syscall6(72 /* fcntl */, fd, 1 /* F_GETFD */, 0, 0, 0, 0);
		if (r > 0 && (r & 1))
			(void)pith_syscall6(3 /* close */, fd, 0, 0, 0, 0, 0);
	}
	exec_bounce_put();
}

static int exec_at(struct trapframe *tf, const char *path, char *const argv[],
    char *const envp[], int argc, int envc, int depth);

/*
 * "#!interpreter [one argument]": run the interpreter with argv
 * { interpreter, [argument,] path, argv[1]... }, as Linux does, up to
 * four levels deep (ELOOP beyond).
 */
static int
exec_script(struct trapframe *tf, const char *path, u8 *img, u64 size,
    char *const argv[], char *const envp[], int argc, int envc, int depth)
{
	char line[256], *interp, *arg = NULL, **nargv;
	hyp_size_t i, n;
	int error, nargc = 0, j;

	for (n = 2; n < size && n - 2 < sizeof(line) - 1 && img[n] != '\n'; n++)
		line[n - 2] = (char)img[n];
	line[n - 2] = '\0';
	mem_free(img, size);
	for (i = 0; line[i] == ' ' || line[i] == '\t'; i++)
		;
	interp = &line[i];
	for (; line[i] != '\0' && line[i] != ' ' && line[i] != '\t'; i++)
		;
	if (line[i] != '\0') {
		line[i++] = '\0';
		for (; line[i] == ' ' || line[i] == '\t'; i++)
			;
		if (line[i] != '\0') {
			arg = &line[i];
			/* The rest of the line is one argument, trailing blanks off. */
			for (n = i; line[n] != '\0'; n++)
				;
			while (n > i && (line[n - 1] == ' ' || line[n - 1] == '\t' ||
			    line[n - 1] == '\r'))
				line[--n] = '\0';
		}
	}
	if (*interp == '\0')
		return ENOEXEC;
	if (depth >= 4)
		return 40;              /* ELOOP */
	nargv = mem_alloc((hyp_size_t)(argc + 3) * sizeof(char *), 8);
	if (nargv == NULL)
		return ENOMEM;
	nargv[nargc++] = interp;
	if (arg != NULL)
		nargv[nargc++] = arg;
	nargv[nargc++] = (char *)path;
	for (j = 1; j < argc; j++)
		nargv[nargc++] = argv[j];
	nargv[nargc] = NULL;
	error = exec_at(tf, interp, nargv, envp, nargc, envc, depth + 1);
	mem_free(nargv, (hyp_size_t)(argc + 3) * sizeof(char *));
	return error;
}

int
uproc_exec(struct trapframe *tf, const char *path, char *const argv[],
    char *const envp[], int argc, int envc)
{
	return exec_at(tf, path, argv, envp, argc, envc, 0);
}

static int
exec_at(struct trapframe *tf, const char *path, char *const argv[],
    char *const envp[], int argc, int envc, int depth)
{
	struct uthread *ut = uthread_cur();
	struct uproc *p = ut->ut_proc;
	extern int exec_read_file(const char *path, u8 **img, u64 *size);
	struct vmspace *vm, *old;
	struct elf_image ei;
	u8 *img;
	u64 size;
	int error, i;

	if (p->up_execer != NULL)
		return EAGAIN;          /* another thread is already exec'ing */
	if ((error = exec_read_file(path, &img, &size)) != 0)
		return error;
	if (size >= 2 && img[0] == '#' && img[1] == '!')
		return exec_script(tf, path, img, size, argv, envp, argc, envc,
		    depth);
	/*
	 * The other threads end as they next head for user mode (futex and
	 * wait4 sleepers are woken for it); this one waits for them.
	 */
	if (p->up_nthreads > 1) {
		p->up_execer = ut;
		futex_wake_proc(p);
		(void)sched_wakeq(&p->up_waitq, -1);
		while (p->up_nthreads > 1 && !p->up_exiting)
			(void)sched_sleepq(&p->up_execq, 0);
		p->up_execer = NULL;
		if (p->up_exiting) {
			mem_free(img, size);
			return EINTR;
		}
	}
	error = elf_load(img, size, path, argv, argc, envp, envc, &vm, &ei);
	mem_free(img, size);
	if (error != 0)
		return error;
	old = p->up_vm;
	p->up_vm = vm;
	set_cr3(vm->vm_cr3);
	vms_release(old);
	close_on_exec();
	comm_set(p, path);
	for (i = 0; i < NSIG; i++)
		if (p->up_sigact[i] != 1)       /* SIG_IGN survives exec */
			p->up_sigact[i] = 0;
	ut->ut_fsbase = ut->ut_gsbase = 0;
	wrmsr(MSR_FS_BASE, 0);
	wrmsr(MSR_GS_BASE, 0);
	ut->ut_clear_tid = 0;
	uproc_fpu_init(ut->ut_fpu);
	fxrstor(ut->ut_fpu);
	frame_init(tf, ei.ei_entry, ei.ei_sp);
	if (!p->up_vfork_done) {
		p->up_vfork_done = 1;
		(void)sched_wakeq(&p->up_vforkq, -1);
	}
	return 0;
}

/* --- exit and wait ------------------------------------------------------ */

/*
 * The last thread is gone: release everything but the zombie record
 * (which an orphan does not keep).  The caller does not touch p after.
 */
static void
uproc_reap_self(struct uproc *p)
{
	struct uproc *c, *next;

	set_cr3(vm_kernel_cr3());
	vms_release(p->up_vm);
	p->up_vm = NULL;
	(void)pith_kproc_switch(1);
	(void)pith_kproc_release(p->up_pid);
	p->up_vfork_done = 1;
	(void)sched_wakeq(&p->up_vforkq, -1);
	/* Orphans go to the root; dead ones need no one to wait. */
	for (c = p->up_children; c != NULL; c = next) {
		next = c->up_sibling;
		if (c->up_zombie) {
			uproc_free(c);
			continue;
		}
		c->up_parent = &uproc_root;
		c->up_sibling = uproc_root.up_children;
		uproc_root.up_children = c;
	}
	p->up_children = NULL;
	p->up_zombie = 1;
	/* An orphan has no one to wait for it: it goes now. */
	if (p->up_parent == &uproc_root && p != uproc_init) {
		uproc_unlink_child(p);
		uproc_free(p);
		return;
	}
	if (p->up_parent != NULL) {
		(void)sched_wakeq(&p->up_parent->up_waitq, -1);
		if (p->up_parent != &uproc_root)
			sig_post(p->up_parent, NULL, 17 /* SIGCHLD */);
	}
}

void
uproc_doom(struct uproc *p, int st)
{
	if (p->up_exiting)
		return;
	p->up_exiting = 1;
	p->up_status = st;
	/* Wake its threads that wait here, so that they see the mark. */
	futex_wake_proc(p);
	(void)sched_wakeq(&p->up_waitq, -1);
	(void)sched_wakeq(&p->up_vforkq, -1);
	(void)sched_wakeq(&p->up_execq, -1);
}

void
uproc_exit(int status, int group)
{
	struct uthread *ut = uthread_cur(), **pp;
	struct uproc *p = ut->ut_proc;

	if (group)
		uproc_doom(p, status);
	else if (p->up_nthreads == 1 && !p->up_exiting)
		p->up_status = status;
	if (ut->ut_clear_tid != 0 && p->up_nthreads > 1 &&
	    vms_write_u32(p->up_vm, ut->ut_clear_tid, 0) == 0)
		(void)futex_op(ut->ut_clear_tid, 1 /* WAKE */, 1, 0, 0, 0);
	for (pp = &p->up_threads; *pp != NULL; pp = &(*pp)->ut_next) {
		if (*pp == ut) {
			*pp = ut->ut_next;
			break;
		}
	}
	if (--p->up_nthreads == 0)
		uproc_reap_self(p);
	else if (p->up_execer != NULL)
		(void)sched_wakeq(&p->up_execq, -1);
	/* From here the thread is a plain kernel thread on its way out. */
	fxsave(ut->ut_fpu);
	sched_set_uctx(sched_curthread(), NULL);
	metal_curut = NULL;
	set_cr3(vm_kernel_cr3());
	mem_free(ut, sizeof(*ut));
	sched_thread_exit();
}

long
uproc_wait4(long pid, u64 ustatus, long options, u64 rusage)
{
	struct uthread *ut = uthread_cur();
	struct uproc *p = ut->ut_proc, *c;
	int st, cpid;

	if (options & ~(WNOHANG | 2 | 8 | 0x40000000 | 0x80000000))
		return -EINVAL;
	if (ustatus != 0 && !vms_check(p->up_vm, ustatus, 4, 1))
		return -EFAULT;
	if (rusage != 0 && !vms_check(p->up_vm, rusage, 144, 1))
		return -EFAULT;
	for (;;) {
		int found = 0;

		for (c = p->up_children; c != NULL; c = c->up_sibling) {
			if (pid > 0 && c->up_pid != pid)
				continue;
			found = 1;
			if (c->up_zombie)
				break;
		}
		if (!found)
			return -ECHILD;
		if (c != NULL)
			break;
		if (options & WNOHANG)
			return 0;
		if (p->up_exiting || sig_deliverable(ut))
			return -EINTR;
		(void)sched_sleepq(&p->up_waitq, 0);
	}
	st = c->up_status;
	cpid = c->up_pid;
	uproc_unlink_child(c);
	uproc_free(c);
	if (ustatus != 0)
		*(volatile u32 *)(uintptr)ustatus = (u32)st;
	if (rusage != 0)
		memset((void *)(uintptr)rusage, 0, 144);
	return cpid;
}

/*
 * waitid: as wait4, but the answer is a siginfo, and WNOWAIT leaves the
 * child to be waited for again.
 */
long
uproc_waitid(long idtype, long id, u64 uinfo, long options, u64 rusage)
{
	struct uthread *ut = uthread_cur();
	struct uproc *p = ut->ut_proc, *c;
	int *si;

	if (idtype < 0 || idtype > 2 || (options & 4 /* WEXITED */) == 0 ||
	    (options & ~(1 | 2 | 4 | 8 | 0x1000000 | 0x40000000 | 0x80000000)))
		return -EINVAL;
	if (uinfo != 0 && !vms_check(p->up_vm, uinfo, 128, 1))
		return -EFAULT;
	if (rusage != 0 && !vms_check(p->up_vm, rusage, 144, 1))
		return -EFAULT;
	for (;;) {
		int found = 0;

		for (c = p->up_children; c != NULL; c = c->up_sibling) {
			if (idtype == 1 && c->up_pid != id)
				continue;
			found = 1;
			if (c->up_zombie)
				break;
		}
		if (!found)
			return -ECHILD;
		if (c != NULL)
			break;
		if (options & WNOHANG) {
			if (uinfo != 0)
				memset((void *)(uintptr)uinfo, 0, 128);
			return 0;
		}
		if (p->up_exiting || sig_deliverable(ut))
			return -EINTR;
		(void)sched_sleepq(&p->up_waitq, 0);
	}
	if (uinfo != 0) {
		si = (int *)(uintptr)uinfo;
		memset(si, 0, 128);
		si[0] = 17;                     /* si_signo: SIGCHLD */
		si[2] = (c->up_status & 0x7f) != 0 ? 2 : 1;    /* CLD_KILLED, CLD_EXITED */
		si[4] = c->up_pid;
		si[5] = 0;                      /* si_uid */
		si[6] = (c->up_status & 0x7f) != 0 ? c->up_status & 0x7f :
		    (c->up_status >> 8) & 0xff;
	}
	if (rusage != 0)
		memset((void *)(uintptr)rusage, 0, 144);
	if ((options & 0x1000000) == 0) {       /* not WNOWAIT: reap */
		uproc_unlink_child(c);
		uproc_free(c);
	}
	return 0;
}

/* Processes not yet ended (for the shutdown: 0 lets pith_fini run). */
int
uproc_nlive(void)
{
	struct uproc *p;
	int n = 0;

	for (p = uproc_all; p != NULL; p = p->up_allnext)
		if (!p->up_zombie)
			n++;
	return n;
}

struct uproc *
uproc_next(struct uproc *p)
{
	for (p = p == NULL ? uproc_all : p->up_allnext; p != NULL; p = p->up_allnext)
		if (!p->up_zombie)
			return p;
	return NULL;
}

static struct uproc *
uproc_find(long pid)
{
	struct uproc *p;

	for (p = uproc_all; p != NULL; p = p->up_allnext)
		if (p->up_pid == pid && !p->up_zombie)
			return p;
	return NULL;
}

/* kill/tkill/tgkill: post the signal (signal.c decides what it does). */
long
uproc_kill(long pid, long sig, int thread)
{
	struct uthread *ut = uthread_cur(), *t;
	struct uproc *p;

	if (sig < 0 || sig >= NSIG)
		return -EINVAL;
	p = NULL;
	if (thread) {
		/* tkill/tgkill: the process of that thread. */
		for (p = uproc_all; p != NULL; p = p->up_allnext)
			for (t = p->up_threads; t != NULL; t = t->ut_next)
				if (t->ut_tid == pid)
					goto found;
		return -ESRCH;
	} else if (pid == 0 || pid == -1) {
		p = ut->ut_proc;
	} else {
		p = uproc_find(pid < 0 ? -pid : pid);
	}
found:
	if (p == NULL)
		return -ESRCH;
	if (sig == 0)
		return 0;
	sig_post(p, thread ? t : NULL, (int)sig);
	return 0;
}

/* --- faults and the way back to user mode ------------------------------- */

/* A page was needed and none is left: the program ends, as by OOM kill. */
static void
uproc_oom(struct uproc *p)
{
	if (!p->up_exiting) {
		metal_puts("pith: ");
		metal_puts(p->up_comm);
		metal_puts(" (pid ");
		metal_putd(p->up_pid);
		metal_puts(") killed: out of memory\n");
	}
	uproc_doom(p, 9);
}

void
uproc_fault(struct trapframe *tf, int sig, const char *what)
{
	struct uthread *ut = uthread_cur();
	struct uproc *p = ut->ut_proc;
	u64 cr2;

	__asm__ volatile("movq %%cr2, %0" : "=r"(cr2));
	if (tf->tf_vector == 14 && (tf->tf_err & 1) == 0) {
		int r = vms_fault(p->up_vm, cr2);

		if (r > 0)
			return;
		if (r < 0) {
			uproc_oom(p);
			uproc_exit(9, 1);
		}
	}
	/* A handler that is neither blocked nor ignored takes it, as Linux. */
	if (sig_fault(ut, sig, tf->tf_vector == 14 ?
	    ((tf->tf_err & 1) ? 2 /* SEGV_ACCERR */ : 1 /* SEGV_MAPERR */) :
	    tf->tf_vector == 6 ? 1 /* ILL_ILLOPC */ : 0,
	    tf->tf_vector == 14 ? cr2 : tf->tf_rip))
		return;
	metal_puts("pith: ");
	metal_puts(p->up_comm);
	metal_puts(" (pid ");
	metal_putd(p->up_pid);
	metal_puts(", tid ");
	metal_putd(ut->ut_tid);
	metal_puts(") killed by ");
	metal_puts(signames[sig]);
	metal_puts(": ");
	metal_puts(what);
	if (tf->tf_vector == 14) {
		metal_puts(" at address ");
		metal_putx(cr2);
		metal_puts((tf->tf_err & 2) ? " (write)" :
		    (tf->tf_err & 0x10) ? " (execute)" : " (read)");
	}
	metal_puts("\n");
	trap_dump(tf);
	uproc_doom(p, sig);
	uproc_exit(sig, 1);
}

int
uproc_kfault(struct trapframe *tf, u64 addr)
{
	struct uthread *ut = uthread_cur();

	if (ut == NULL || ut->ut_proc->up_vm == NULL)
		return 0;
	/* A page not touched yet, or the stack: as for the program. */
	if ((tf->tf_err & 1) == 0) {
		int r = vms_fault(ut->ut_proc->up_vm, addr);

		if (r > 0)
			return 1;
		if (r < 0) {
			/* Finish the call on a scratch page; the program ends. */
			uproc_oom(ut->ut_proc);
			return vms_scratch(ut->ut_proc->up_vm, addr);
		}
	}
	if (!vms_scratch(ut->ut_proc->up_vm, addr))
		return 0;
	if (!ut->ut_doomed) {
		metal_puts("pith: ");
		metal_puts(ut->ut_proc->up_comm);
		metal_puts(": system call given a bad address ");
		metal_putx(addr);
		metal_puts("\n");
	}
	ut->ut_doomed = 1;
	return 1;
}

void
uproc_tick(struct trapframe *tf)
{
	struct uthread *ut = uthread_cur();

	if (ut != NULL && metal_ticks - ut->ut_slice >= SLICE_TICKS) {
		hyp_yield();
		ut->ut_slice = metal_ticks;
	}
}

void
uproc_return_check(struct trapframe *tf)
{
	struct uthread *ut = uthread_cur();

	if (ut == NULL)
		return;
	if (ut->ut_doomed) {
		metal_puts("pith: ");
		metal_puts(ut->ut_proc->up_comm);
		metal_puts(" killed by SIGSEGV (bad address in a system call)\n");
		uproc_doom(ut->ut_proc, 11);
	}
	if (ut->ut_proc->up_exiting)
		uproc_exit(ut->ut_proc->up_status, 1);
	if (ut->ut_proc->up_execer != NULL && ut->ut_proc->up_execer != ut)
		uproc_exit(0, 0);
	if (ut->ut_hassaved || sig_deliverable(ut))
		sig_deliver(tf);
}

/* --- futexes ------------------------------------------------------------ */

/*
 * Waiters live on their own kernel stacks (mapped in every address
 * space) and on one global list: few programs, few waiters.  Keys are
 * (address space, user address), so private and shared futexes of one
 * process match; a futex in MAP_SHARED memory that processes share
 * (vm.c) is not matched across them.
 */
struct futex_waiter {
	struct futex_waiter *fw_next;
	struct vmspace *fw_vm;
	u64 fw_addr;
	u32 fw_bitset;
	int fw_woken;
	struct uproc *fw_proc;
	struct waitq fw_wq;
};

static struct futex_waiter *futex_list;

static void
futex_unlink(struct futex_waiter *w)
{
	struct futex_waiter **pp;

	for (pp = &futex_list; *pp != NULL; pp = &(*pp)->fw_next) {
		if (*pp == w) {
			*pp = w->fw_next;
			return;
		}
	}
}

static int
futex_wake(struct vmspace *vm, u64 addr, int n, u32 bitset)
{
	struct futex_waiter **pp, *w;
	int woken = 0;

	for (pp = &futex_list; (w = *pp) != NULL && woken < n;) {
		if (w->fw_vm == vm && w->fw_addr == addr && (w->fw_bitset & bitset)) {
			*pp = w->fw_next;
			w->fw_woken = 1;
			(void)sched_wakeq(&w->fw_wq, -1);
			woken++;
			continue;
		}
		pp = &w->fw_next;
	}
	return woken;
}

void
futex_wake_proc(struct uproc *p)
{
	struct futex_waiter **pp, *w;

	for (pp = &futex_list; (w = *pp) != NULL;) {
		if (w->fw_proc == p) {
			*pp = w->fw_next;
			(void)sched_wakeq(&w->fw_wq, -1);
			continue;
		}
		pp = &w->fw_next;
	}
}

static long
futex_wait(struct vmspace *vm, u64 addr, u32 val, hyp_i64 deadline, u32 bitset)
{
	struct futex_waiter w;
	u32 cur;

	if (bitset == 0)
		return -EINVAL;
	if (vms_read_u32(vm, addr, &cur) != 0)
		return -EFAULT;
	if (cur != val)
		return -EAGAIN;
	memset(&w, 0, sizeof(w));
	w.fw_vm = vm;
	w.fw_addr = addr;
	w.fw_bitset = bitset;
	w.fw_proc = uthread_cur()->ut_proc;
	w.fw_next = futex_list;
	futex_list = &w;
	if (sched_sleepq(&w.fw_wq, deadline) && !w.fw_woken) {
		futex_unlink(&w);
		return -ETIMEDOUT;
	}
	if (!w.fw_woken) {
		futex_unlink(&w);
		return -EINTR;
	}
	return 0;
}

struct kts {
	long tv_sec, tv_nsec;
};

long
futex_op(u64 uaddr, int op, u32 val, u64 utimeout, u64 uaddr2, u32 val3)
{
	struct uthread *ut = uthread_cur();
	struct vmspace *vm = ut->ut_proc->up_vm;
	int cmd = op & 127, realtime = (op & 256) != 0;
	struct futex_waiter **pp, *w;
	hyp_i64 deadline = 0;
	struct kts ts;
	u32 cur;
	int n, moved;

	switch (cmd) {
	case 0:         /* FUTEX_WAIT: relative timeout */
	case 9:         /* FUTEX_WAIT_BITSET: absolute */
		if (utimeout != 0) {
			if (!vms_check(vm, utimeout, sizeof(ts), 0))
				return -EFAULT;
			ts = *(const struct kts *)(uintptr)utimeout;
			if (ts.tv_sec < 0 || ts.tv_nsec < 0 || ts.tv_nsec >= 1000000000)
				return -EINVAL;
			/* Beyond ~285 years the nanoseconds overflow: forever. */
			if (ts.tv_sec >= 9000000000l)
				return futex_wait(vm, uaddr, val, 0,
				    cmd == 9 ? val3 : 0xffffffffu);
			deadline = ts.tv_sec * 1000000000ll + ts.tv_nsec;
			if (cmd == 0)
				deadline += hyp_clock_ns(HYP_CLOCK_MONOTONIC);
			else if (realtime)
				deadline += hyp_clock_ns(HYP_CLOCK_MONOTONIC) -
				    hyp_clock_ns(HYP_CLOCK_REALTIME);
			if (deadline <= 0)
				deadline = 1;
		}
		return futex_wait(vm, uaddr, val, deadline,
		    cmd == 9 ? val3 : 0xffffffffu);
	case 1:         /* FUTEX_WAKE */
		return futex_wake(vm, uaddr, (int)(val > 0x7fffffff ? 0x7fffffff : val),
		    0xffffffffu);
	case 10:        /* FUTEX_WAKE_BITSET */
		if (val3 == 0)
			return -EINVAL;
		return futex_wake(vm, uaddr, (int)(val > 0x7fffffff ? 0x7fffffff : val),
		    val3);
	case 3:         /* FUTEX_REQUEUE */
	case 4:         /* FUTEX_CMP_REQUEUE */
		if (cmd == 4) {
			if (vms_read_u32(vm, uaddr, &cur) != 0)
				return -EFAULT;
			if (cur != val3)
				return -EAGAIN;
		}
		n = futex_wake(vm, uaddr, (int)(val > 0x7fffffff ? 0x7fffffff : val),
		    0xffffffffu);
		/* val2 travels in the timeout argument. */
		moved = 0;
		for (pp = &futex_list; (w = *pp) != NULL; pp = &w->fw_next) {
			if ((u64)moved >= utimeout)
				break;
			if (w->fw_vm == vm && w->fw_addr == uaddr) {
				w->fw_addr = uaddr2;
				moved++;
			}
		}
		return n + moved;
	default:
		return -ENOSYS;
	}
}
