/*
 * Processes and credentials.
 *
 * A process is what a client of the kernel is: its own descriptor table,
 * working and root directories, umask and credentials.  Host threads run as
 * one process at a time (lwp->l_proc).  pid 1 is the first process, made at
 * boot; pid 0 owns the kernel threads.
 *
 * Locking: [p] p_lock; [t] proc_lock (the process table); [I] immutable
 * after creation; [a] atomic.
 */
#ifndef PITH_KERN_PROC_H
#define PITH_KERN_PROC_H

#include "kern/kern.h"

#define NGROUPS_PITH 64         /* supplementary groups we keep */

/*
 * Credentials are immutable once published: set*id calls build a new one
 * and swap p_cred under p_lock.  Readers take a reference (cred_hold) and
 * never see a cred change under them.
 */
struct cred {
	unsigned cr_refcnt;             /* [a] */
	uid_t cr_uid, cr_euid, cr_suid, cr_fsuid;
	gid_t cr_gid, cr_egid, cr_sgid, cr_fsgid;
	int cr_ngroups;
	gid_t cr_groups[NGROUPS_PITH];
};

struct cred *cred_alloc(void);          /* root, refcnt 1; NULL if no memory */
struct cred *cred_dup(const struct cred *c);
void cred_hold(struct cred *c);
void cred_free(struct cred *c);         /* drops a reference */
bool cred_groupmember(const struct cred *c, gid_t gid);
/* The calling thread's process's credentials, referenced: cred_free after. */
struct cred *cred_get(void);
/* The same, borrowed: valid until the system call in progress returns.
 * Not for keeping (a struct file's f_cred takes cred_get). */
const struct cred *cred_borrow(void);

struct filedesc;

/*
 * Hooks that the VFS registers so the core can copy and drop directory
 * references without calling upward by name.
 */
struct proc_vfs_hooks {
	void (*pv_hold)(void *dir);     /* take another reference */
	void (*pv_rele)(void *dir);     /* drop one */
};
void proc_set_vfs_hooks(const struct proc_vfs_hooks *h);

struct proc {
	pid_t p_pid;                    /* [I] */
	pid_t p_ppid;                   /* [p] */
	unsigned p_refcnt;              /* [a] table + lwps running as it */
	int p_flags;                    /* [p] P_* */
	kmutex_t p_lock;
	struct cred *p_cred;            /* [p] swapped whole, see struct cred */
	struct filedesc *p_fd;          /* [I] */
	void *p_cwd;                    /* [p] struct vnode *, referenced */
	void *p_root;                   /* [p] struct vnode *, referenced */
	mode_t p_umask;                 /* [p] */
	unsigned long p_gen;            /* [p,a] new on every p_cred/p_root change */
	LIST_ENTRY(proc) p_hash;        /* [t] */
};
#define P_EXITING 0x1

/* The calling thread's process (never NULL inside a system call). */
static inline struct proc *
curproc(void)
{
	return curlwp()->l_proc;
}

/*
 * Create a child of parent.  copyfds: copy the descriptor table (sharing
 * the open files), else start empty.  Returns 0 and a process with one
 * reference (the table's), or EAGAIN/ENOMEM.
 */
int proc_create(struct proc *parent, bool copyfds, struct proc **ret);
/* Find by pid and take a reference; NULL if none or exiting. */
struct proc *proc_find(pid_t pid);
void proc_hold(struct proc *p);
void proc_rele(struct proc *p);
/* Mark exiting, close descriptors, drop the table's reference. */
int proc_exit(struct proc *p);
/* The caller's root, borrowed like cred_borrow() (NULL once released). */
void *proc_root_borrow(void);
/* Directory accessors: return a referenced vnode (pv_hold taken). */
void *proc_cwd_get(struct proc *p);
void *proc_root_get(struct proc *p);
/* Replace the cwd (consumes the caller's reference on dir). */
void proc_cwd_set(struct proc *p, void *dir);
/* p_cred or p_root changed: p_lock held.  Invalidates lwps' copies. */
void proc_gen_bump(struct proc *p);
/* Drop the lwp's cached credentials and root (lwp exit, shutdown). */
void lwp_cache_drop(struct lwp *l);
void lwp_cache_sync(struct lwp *l);

/* System-call entry: bring the lwp's copies up to date for the call. */
static inline void
lwp_cache_check(struct lwp *l)
{
	if (__predict_false(l->l_gen !=
	    __atomic_load_n(&l->l_proc->p_gen, __ATOMIC_ACQUIRE)))
		lwp_cache_sync(l);
}

/*
 * A process released from outside (pithd, when its client dies) may have
 * an lwp asleep in a call nothing will wake: a poll with no descriptors,
 * a long nanosleep.  Such sleeps are cut into slices of this length, and
 * between slices the call gives up with EINTR once its process is
 * exiting.
 */
#define PROC_EXIT_SLICE_NS      (100 * 1000 * 1000LL)

/* Whether the calling lwp's process is being released. */
static inline bool
proc_exiting(void)
{
	return (__atomic_load_n(&curproc()->p_flags, __ATOMIC_RELAXED) &
	    P_EXITING) != 0;
}

/* The end of the next slice of a sleep until deadline (<0: none). */
static inline int64_t
proc_exit_slice(int64_t now, int64_t deadline)
{
	int64_t end = now + PROC_EXIT_SLICE_NS;

	return deadline >= 0 && deadline < end ? deadline : end;
}

extern struct proc *proc0;      /* kernel threads */
extern struct proc *proc1;      /* the first process */

#endif
