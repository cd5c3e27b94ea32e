/*
 * User programs on bare metal: address spaces (vm.c), processes and
 * threads (uproc.c), the ELF loader (elf.c) and the system calls the
 * platform answers itself (abi.c).  Private to platform/metal.
 */
#ifndef PITH_METAL_UPROC_H
#define PITH_METAL_UPROC_H

#include "metal.h"

void *memcpy(void *dst, const void *src, hyp_size_t n);
void *memset(void *dst, int c, hyp_size_t n);
int memcmp(const void *a, const void *b, hyp_size_t n);

/* The kernel's doors (build/kernel.o). */
struct pith_kconfig {
	unsigned ncpus;
	hyp_size_t mem_limit;
	const char *hostname;
	unsigned flags;
};
long pith_kinit(const struct pith_kconfig *cfg);
void pith_fini(void);
long pith_syscall6(long nr, long a1, long a2, long a3, long a4, long a5,
    long a6);
long pith_kproc_create(unsigned flags);
long pith_kproc_switch(int pid);
long pith_kproc_release(int pid);
#define PITH_PROC_COPYFDS_K 0x1u

/* Linux errno values the platform returns itself. */
#define EPERM 1
#define ENOENT 2
#define ESRCH 3
#define EINTR 4
#define E2BIG 7
#define ENOEXEC 8
#define EBADF 9
#define ECHILD 10
#define EAGAIN 11
#define ENOMEM 12
#define EFAULT 14
#define EBUSY 16
#define EINVAL 22
#define ENOSYS 38
#define ETIMEDOUT 110

/* --- address spaces (vm.c) ---------------------------------------------- */

#define VM_PROT_READ 1
#define VM_PROT_WRITE 2
#define VM_PROT_EXEC 4
#define VM_PROT_ALL 7

#define VM_STACK_TOP 0x7ffffffff000ul
#define VM_STACK_MAX (8ul << 20)
#define VM_STACK_INIT (128ul << 10)
#define VM_MMAP_TOP 0x7f0000000000ul
#define VM_PIE_BASE 0x555555554000ul

struct vmspace {
	u64 *vm_pml4;                   /* kernel address of the top table */
	u64 vm_cr3;
	u64 vm_brk_base, vm_brk;        /* the program break */
	u64 vm_mmap_next;               /* mmap searches down from here */
	u64 vm_stack_lo, vm_stack_limit;        /* main stack, grows down */
	int vm_refs;                    /* processes sharing it (CLONE_VM) */
};

struct vmspace *vms_create(void);
void vms_release(struct vmspace *vm);
struct vmspace *vms_fork(struct vmspace *vm, int *errorp);
int vms_map(struct vmspace *vm, u64 va, u64 len, int prot);
int vms_map_shared(struct vmspace *vm, u64 va, u64 len, int prot);
void vms_unmap(struct vmspace *vm, u64 va, u64 len);
int vms_protect(struct vmspace *vm, u64 va, u64 len, int prot);
int vms_mapped(struct vmspace *vm, u64 va, u64 len);
int vms_prot_at(struct vmspace *vm, u64 va);
void vms_zero(struct vmspace *vm, u64 va, u64 len);
int vms_move(struct vmspace *vm, u64 from, u64 to, u64 len);
int vms_range_free(struct vmspace *vm, u64 lo, u64 hi, u64 *busy);
int vms_copyout(struct vmspace *vm, u64 va, const void *src, u64 len);
int vms_read_u32(struct vmspace *vm, u64 va, u32 *v);
int vms_write_u32(struct vmspace *vm, u64 va, u32 v);
int vms_check(struct vmspace *vm, u64 va, u64 len, int write);
int vms_fault(struct vmspace *vm, u64 addr);
int vms_prefault(struct vmspace *vm, u64 va, u64 len, int write);
int vms_scratch(struct vmspace *vm, u64 addr);

/* --- processes and threads (uproc.c) ------------------------------------ */

#define NSIG 65

struct uproc {
	int up_pid;                     /* the kernel's process */
	struct vmspace *up_vm;
	struct uproc *up_parent;
	struct uproc *up_children, *up_sibling;
	struct uproc *up_allnext;
	struct uthread *up_threads;
	int up_nthreads;
	int up_exiting;                 /* exit_group or a fatal signal */
	int up_status;                  /* wait status once exiting */
	int up_zombie;                  /* every thread gone */
	int up_vfork_done;
	struct uthread *up_execer;      /* execve waits for the other threads */
	struct waitq up_execq;
	struct waitq up_waitq;          /* wait4 of this process's children */
	struct waitq up_vforkq;         /* the vfork parent */
	u64 up_sigpending;              /* process-directed, bit sig - 1 */
	struct waitq up_sigq;           /* sigsuspend and pause */
	hyp_i64 up_alarm;               /* ITIMER_REAL: next expiry (monotonic ns) */
	hyp_i64 up_alarm_interval;      /* its period, 0: one-shot */
	u64 up_sigact[NSIG];            /* handlers (signal.c) */
	u64 up_sigflags[NSIG];
	u64 up_sigmaskact[NSIG];
	u64 up_sigrestorer[NSIG];
	char up_comm[16];
};

struct uthread {
	u8 ut_fpu[512] __attribute__((aligned(16)));    /* fxsave image */
	struct uproc *ut_proc;
	struct uthread *ut_next;        /* in up_threads */
	struct hyp_thread *ut_thread;
	int ut_tid;
	int ut_doomed;                  /* a bad pointer reached the kernel */
	u64 ut_fsbase, ut_gsbase;
	u64 ut_clear_tid;
	u64 ut_sigmask;
	u64 ut_sigpending;              /* thread-directed */
	u64 ut_savedmask;               /* sigsuspend's caller's mask */
	int ut_hassaved;
	int ut_fault_sig;               /* a fault signal being delivered */
	int ut_fault_code;              /* its si_code */
	u64 ut_fault_addr;              /* its si_addr */
	u64 ut_altstack[3];
	u64 ut_slice;                   /* tick it last got the CPU */
	struct trapframe ut_start;      /* its first user-mode registers */
};

extern struct uthread *metal_curut;     /* uthread_cur(), for entry.S */
struct uthread *uthread_cur(void);
int uproc_exec(struct trapframe *tf, const char *path, char *const argv[],
    char *const envp[], int argc, int envc);
long uproc_clone(struct trapframe *tf, u64 flags, u64 stack, u64 ptid,
    u64 ctid, u64 tls);
long uproc_wait4(long pid, u64 ustatus, long options, u64 rusage);
long uproc_waitid(long idtype, long id, u64 uinfo, long options, u64 rusage);
void uproc_exit(int status, int group) __attribute__((noreturn));
long uproc_kill(long pid, long sig, int thread);
void uproc_fpu_init(u8 *fpu);
/* Mark p as ending with wait status st (the first one wins). */
void uproc_doom(struct uproc *p, int st);

/* --- signals (signal.c) ------------------------------------------------- */

void sig_post(struct uproc *p, struct uthread *t, int sig);
/* A CPU fault: 1 if a handler will take it, 0 if it must kill. */
int sig_fault(struct uthread *ut, int sig, int code, u64 addr);
int sig_deliverable(struct uthread *ut);
void sig_deliver(struct trapframe *tf);
long sig_return(struct trapframe *tf);
long sig_suspend(u64 umask, u64 size);
long sig_pending(u64 uset, u64 size);
long sig_alarm(u64 seconds);
long sig_setitimer(long which, u64 unew, u64 uold);
long sig_getitimer(long which, u64 ucur);
/* For uproc.c: the first live process after p in the list, or NULL. */
struct uproc *uproc_next(struct uproc *p);
int uproc_nlive(void);
/* The static buffer exec passes to the kernel (abi.c). */
u8 *exec_bounce_get(void);
void exec_bounce_put(void);
long futex_op(u64 uaddr, int op, u32 val, u64 utimeout, u64 uaddr2, u32 val3);
void futex_wake_proc(struct uproc *p);

/* --- ELF (elf.c) -------------------------------------------------------- */

struct elf_image {
	u64 ei_entry;
	u64 ei_sp;
};
extern const char *elf_why;
int elf_load(const u8 *img, u64 size, const char *execfn,
    char *const argv[], int argc, char *const envp[], int envc,
    struct vmspace **vmp, struct elf_image *ei);

#endif
