/*
 * Processes, credentials and the system calls that read and change them.
 *
 * The process table is a small hash on pid under proc_lock.  Pids run
 * from 1 to PID_MAX-1 and are reused after wrapping; a full table is
 * EAGAIN.  proc0 (pid 0) owns the kernel threads and is not in the table,
 * so nobody can switch to it or release it; proc1 (pid 1) is the first
 * process.
 *
 * A process is referenced by the table and by each lwp running as it.
 * proc_exit marks it P_EXITING (system calls of lwps still running as it
 * then fail with ESRCH), closes its descriptors, drops its directories and
 * takes it out of the table; the struct goes when the last lwp lets go.
 *
 * Credentials are immutable once published (struct cred): a set*id call
 * builds a new cred and swaps p_cred under p_lock, so readers holding a
 * reference never see one change.  "Privileged" means euid 0, standing in
 * for CAP_SETUID/CAP_SETGID.
 */
#include "kern/kern.h"
#include "kern/proc.h"
#include "kern/file.h"
#include "kern_private.h"
#include "gen/sysproto.h"

#define PID_MAX 32768
#define PROC_HASHSIZE 64

/* Must match PITH_PROC_COPYFDS in include/pith/pith.h. */
#define PITH_PROC_COPYFDS_K 0x1u

static LIST_HEAD(prochash, proc) proc_hash[PROC_HASHSIZE];     /* [t] */
static kmutex_t proc_lock;
static pid_t proc_nextpid;              /* [t] */
static unsigned proc_count;             /* [t] processes in the table */
static const struct proc_vfs_hooks *proc_hooks;

struct proc *proc0;
struct proc *proc1;

static inline struct prochash *
proc_bucket(pid_t pid)
{
	return &proc_hash[(unsigned)pid % PROC_HASHSIZE];
}

/* --- credentials ---------------------------------------------------------- */

struct cred *
cred_alloc(void)
{
	struct cred *c = kmem_zalloc(sizeof(*c));

	if (c != NULL)
		c->cr_refcnt = 1;
	return c;
}

struct cred *
cred_dup(const struct cred *c)
{
	struct cred *n = kmem_alloc(sizeof(*n));

	if (n != NULL) {
		*n = *c;
		n->cr_refcnt = 1;
	}
	return n;
}

void
cred_hold(struct cred *c)
{
	atomic_inc_uint(&c->cr_refcnt);
}

void
cred_free(struct cred *c)
{
	if (atomic_dec_uint_nv(&c->cr_refcnt) == 0)
		kmem_free(c, sizeof(*c));
}

bool
cred_groupmember(const struct cred *c, gid_t gid)
{
	if (c->cr_fsgid == gid)
		return true;
	for (int i = 0; i < c->cr_ngroups; i++) {
		if (c->cr_groups[i] == gid)
			return true;
	}
	return false;
}

/*
 * Generations are unique across processes, so an lwp that switched
 * processes sees a mismatch as surely as one whose process changed.
 */
static void proc_dir_hold(void *dir);
static void proc_dir_rele(void *dir);
static unsigned long proc_gen_next;     /* [a] */

void
proc_gen_bump(struct proc *p)
{
	KASSERT(mutex_owned(&p->p_lock));
	__atomic_store_n(&p->p_gen,
	    __atomic_add_fetch(&proc_gen_next, 1, __ATOMIC_RELAXED),
	    __ATOMIC_RELEASE);
}

/* Refresh l's copies of its process's credentials and root. */
void
lwp_cache_sync(struct lwp *l)
{
	struct proc *p = l->l_proc;
	struct cred *oc = l->l_cred, *nc;
	void *oroot = l->l_root, *nroot;

	mutex_enter(&p->p_lock);
	nc = p->p_cred;
	if (nc != NULL)
		cred_hold(nc);
	nroot = p->p_root;
	proc_dir_hold(nroot);
	l->l_gen = p->p_gen;
	mutex_exit(&p->p_lock);
	l->l_cred = nc;
	l->l_root = nroot;
	if (oc != NULL)
		cred_free(oc);
	proc_dir_rele(oroot);
}

void
lwp_cache_drop(struct lwp *l)
{
	struct cred *c = l->l_cred;
	void *root = l->l_root;

	l->l_cred = NULL;
	l->l_root = NULL;
	l->l_gen = 0;
	if (c != NULL)
		cred_free(c);
	proc_dir_rele(root);
}

/*
 * The calling lwp, its cache usable.  Inside a system call the cache was
 * brought up to date at entry (lwp_cache_check) and is not touched again
 * until the call returns, so what cred_borrow() hands out stays valid for
 * the whole call; outside one (boot, kernel threads) it is refreshed here.
 */
static inline struct lwp *
lwp_cache_fresh(void)
{
	struct lwp *l = curlwp();

	if (__predict_false(l->l_gen == 0 || (l->l_syscall < 0 &&
	    l->l_gen != __atomic_load_n(&l->l_proc->p_gen, __ATOMIC_ACQUIRE))))
		lwp_cache_sync(l);
	return l;
}

void *
proc_root_borrow(void)
{
	return lwp_cache_fresh()->l_root;
}

const struct cred *
cred_borrow(void)
{
	return lwp_cache_fresh()->l_cred;
}

struct cred *
cred_get(void)
{
	struct lwp *l = lwp_cache_fresh();

	cred_hold(l->l_cred);
	return l->l_cred;
}

/* --- processes ------------------------------------------------------------- */

void
proc_set_vfs_hooks(const struct proc_vfs_hooks *h)
{
	proc_hooks = h;
}

static void
proc_dir_hold(void *dir)
{
	if (dir != NULL && proc_hooks != NULL)
		proc_hooks->pv_hold(dir);
}

static void
proc_dir_rele(void *dir)
{
	if (dir != NULL && proc_hooks != NULL)
		proc_hooks->pv_rele(dir);
}

void
proc_hold(struct proc *p)
{
	atomic_inc_uint(&p->p_refcnt);
}

/* Last reference: directories and descriptors are already gone. */
void
proc_rele(struct proc *p)
{
	if (atomic_dec_uint_nv(&p->p_refcnt) != 0)
		return;
	KASSERT(p->p_cwd == NULL && p->p_root == NULL);
	if (p->p_fd != NULL)
		fd_table_free(p->p_fd);
	if (p->p_cred != NULL)
		cred_free(p->p_cred);
	mutex_destroy(&p->p_lock);
	kmem_free(p, sizeof(*p));
}

static struct proc *
proc_lookup_locked(pid_t pid)
{
	struct proc *p;

	KASSERT(mutex_owned(&proc_lock));
	LIST_FOREACH(p, proc_bucket(pid), p_hash) {
		if (p->p_pid == pid)
			return p;
	}
	return NULL;
}

/* A free pid, or 0 if the table is full.  proc_lock held. */
static pid_t
proc_alloc_pid(void)
{
	if (proc_count >= PID_MAX - 1)
		return 0;
	for (;;) {
		pid_t pid = proc_nextpid++;
		if (proc_nextpid >= PID_MAX)
			proc_nextpid = 1;
		if (proc_lookup_locked(pid) == NULL)
			return pid;
	}
}

/* A bare process: root credentials, umask 022, no directories or fds. */
static int
proc_alloc(struct proc **ret)
{
	struct proc *p = kmem_zalloc(sizeof(*p));

	if (p == NULL)
		return ENOMEM;
	mutex_init(&p->p_lock);
	p->p_refcnt = 1;
	p->p_umask = 022;
	*ret = p;
	return 0;
}

/* Enter p into the table under a new pid. */
static int
proc_insert(struct proc *p)
{
	mutex_enter(&proc_lock);
	p->p_pid = proc_alloc_pid();
	if (p->p_pid == 0) {
		mutex_exit(&proc_lock);
		return EAGAIN;
	}
	LIST_INSERT_HEAD(proc_bucket(p->p_pid), p, p_hash);
	proc_count++;
	mutex_exit(&proc_lock);
	return 0;
}

/* Take p's directories and descriptors away and release them. */
static void
proc_strip(struct proc *p)
{
	void *cwd, *root;
	struct filedesc *fdp;

	/*
	 * The descriptors close now, but the table itself stays until the
	 * last reference to p goes (proc_rele): another thread may be in
	 * the middle of a call of p's and still look descriptors up.
	 * Lookups of the directories see NULL and fail with ENOENT.
	 */
	mutex_enter(&p->p_lock);
	cwd = p->p_cwd;
	root = p->p_root;
	fdp = p->p_fd;
	p->p_cwd = p->p_root = NULL;
	proc_gen_bump(p);
	mutex_exit(&p->p_lock);
	if (fdp != NULL)
		fd_table_closeall(fdp);
	proc_dir_rele(cwd);
	proc_dir_rele(root);
}

int
proc_create(struct proc *parent, bool copyfds, struct proc **ret)
{
	struct proc *p;
	int error;

	error = proc_alloc(&p);
	if (error != 0)
		return error;
	mutex_enter(&parent->p_lock);
	p->p_ppid = parent->p_pid;
	p->p_cred = parent->p_cred;
	cred_hold(p->p_cred);
	p->p_umask = parent->p_umask;
	p->p_cwd = parent->p_cwd;
	p->p_root = parent->p_root;
	proc_dir_hold(p->p_cwd);
	proc_dir_hold(p->p_root);
	/* A hook-less early boot has no directories to share. */
	if (proc_hooks == NULL)
		p->p_cwd = p->p_root = NULL;
	mutex_exit(&parent->p_lock);
	mutex_enter(&p->p_lock);
	proc_gen_bump(p);
	mutex_exit(&p->p_lock);
	if (copyfds && parent->p_fd != NULL)
		error = fd_table_copy(parent->p_fd, &p->p_fd);
	else
		error = fd_table_alloc(&p->p_fd);
	if (error == 0)
		error = proc_insert(p);
	if (error != 0) {
		proc_strip(p);
		proc_rele(p);
		return error;
	}
	*ret = p;
	return 0;
}

struct proc *
proc_find(pid_t pid)
{
	struct proc *p;

	mutex_enter(&proc_lock);
	p = proc_lookup_locked(pid);
	if (p != NULL && (p->p_flags & P_EXITING) == 0)
		proc_hold(p);
	else
		p = NULL;
	mutex_exit(&proc_lock);
	return p;
}

int
proc_exit(struct proc *p)
{
	mutex_enter(&p->p_lock);
	if (p->p_flags & P_EXITING) {
		mutex_exit(&p->p_lock);
		return ESRCH;
	}
	p->p_flags |= P_EXITING;
	mutex_exit(&p->p_lock);
	proc_strip(p);
	mutex_enter(&proc_lock);
	LIST_REMOVE(p, p_hash);
	proc_count--;
	mutex_exit(&proc_lock);
	proc_rele(p);
	return 0;
}

void *
proc_cwd_get(struct proc *p)
{
	void *d;

	mutex_enter(&p->p_lock);
	d = p->p_cwd;
	proc_dir_hold(d);
	mutex_exit(&p->p_lock);
	return d;
}

void *
proc_root_get(struct proc *p)
{
	struct lwp *l;
	void *d;

	if (p == curproc()) {
		l = lwp_cache_fresh();
		proc_dir_hold(l->l_root);
		return l->l_root;
	}
	mutex_enter(&p->p_lock);
	d = p->p_root;
	proc_dir_hold(d);
	mutex_exit(&p->p_lock);
	return d;
}

void
proc_cwd_set(struct proc *p, void *dir)
{
	void *old;

	mutex_enter(&p->p_lock);
	if (p->p_flags & P_EXITING) {
		/* Stripped already: a late chdir must not leave a reference. */
		old = dir;
	} else {
		old = p->p_cwd;
		p->p_cwd = dir;
	}
	mutex_exit(&p->p_lock);
	proc_dir_rele(old);
}

void
proc_drop_dirs(struct proc *p)
{
	void *cwd, *root;

	mutex_enter(&p->p_lock);
	cwd = p->p_cwd;
	root = p->p_root;
	p->p_cwd = p->p_root = NULL;
	proc_gen_bump(p);
	mutex_exit(&p->p_lock);
	proc_dir_rele(cwd);
	proc_dir_rele(root);
}

int
proc_init(void)
{
	struct cred *c;
	int error;

	mutex_init(&proc_lock);
	for (unsigned i = 0; i < PROC_HASHSIZE; i++)
		LIST_INIT(&proc_hash[i]);
	proc_nextpid = 1;
	proc_count = 0;
	proc_hooks = NULL;
	proc0 = proc1 = NULL;

	c = cred_alloc();
	if (c == NULL)
		return ENOMEM;
	error = proc_alloc(&proc0);
	if (error != 0) {
		cred_free(c);
		goto fail;
	}
	mutex_enter(&proc0->p_lock);
	proc0->p_cred = c;      /* pid 0: not in the table */
	proc_gen_bump(proc0);
	mutex_exit(&proc0->p_lock);
	error = proc_create(proc0, false, &proc1);
	if (error != 0)
		goto fail;
	KASSERT(proc1->p_pid == 1);
	proc1->p_ppid = 0;
	return 0;
fail:
	if (proc0 != NULL)
		proc_rele(proc0);
	proc0 = NULL;
	mutex_destroy(&proc_lock);
	return error;
}

/* End every process in the table: shutdown, every thread quiet. */
void
proc_exit_all(void)
{
	struct proc *p;

	for (unsigned i = 0; i < PROC_HASHSIZE; i++) {
		mutex_enter(&proc_lock);
		while ((p = LIST_FIRST(&proc_hash[i])) != NULL) {
			proc_hold(p);
			mutex_exit(&proc_lock);
			proc_exit(p);
			proc_rele(p);
			mutex_enter(&proc_lock);
		}
		mutex_exit(&proc_lock);
	}
}

void
proc_fini(void)
{
	KASSERT(proc_count == 0);
	proc_strip(proc0);
	proc_rele(proc0);
	proc0 = proc1 = NULL;
	proc_hooks = NULL;
	mutex_destroy(&proc_lock);
}

/* --- the embedding API ------------------------------------------------------ */

PITH_API long
pith_kproc_create(unsigned flags)
{
	struct lwp *l;
	struct proc *p;
	int error;

	if ((flags & ~PITH_PROC_COPYFDS_K) != 0)
		return -EINVAL;
	if (!kern_running)
		return -EINVAL;
	l = lwp_current();
	if (l == NULL)
		return -ENOMEM;
	if (l->l_proc->p_flags & P_EXITING)
		return -ESRCH;
	error = proc_create(l->l_proc, (flags & PITH_PROC_COPYFDS_K) != 0, &p);
	if (error != 0)
		return -error;
	return p->p_pid;
}

PITH_API long
pith_kproc_switch(pid_t pid)
{
	struct lwp *l;
	struct proc *p, *old;

	if (!kern_running)
		return -EINVAL;
	l = lwp_current();
	if (l == NULL)
		return -ENOMEM;
	p = proc_find(pid);
	if (p == NULL)
		return -ESRCH;
	old = l->l_proc;
	l->l_proc = p;
	proc_rele(old);
	return 0;
}

PITH_API long
pith_kproc_release(pid_t pid)
{
	struct proc *p;
	int error;

	if (!kern_running)
		return -EINVAL;
	if (pid == 0 || pid == 1)
		return -EPERM;
	p = proc_find(pid);
	if (p == NULL)
		return -ESRCH;
	error = proc_exit(p);
	proc_rele(p);
	return error != 0 ? -error : 0;
}

/* --- system calls ------------------------------------------------------------ */

long
sys_getpid(void)
{
	return curproc()->p_pid;
}

long
sys_getppid(void)
{
	return __atomic_load_n(&curproc()->p_ppid, __ATOMIC_RELAXED);
}

/* Read one field of the caller's credentials. */
#define CRED_READ(field) ({ \
	struct proc *p_ = curproc(); \
	long v_; \
	mutex_enter(&p_->p_lock); \
	v_ = p_->p_cred->field; \
	mutex_exit(&p_->p_lock); \
	v_; \
})

long
sys_getuid(void)
{
	return CRED_READ(cr_uid);
}

long
sys_geteuid(void)
{
	return CRED_READ(cr_euid);
}

long
sys_getgid(void)
{
	return CRED_READ(cr_gid);
}

long
sys_getegid(void)
{
	return CRED_READ(cr_egid);
}

/*
 * The common shape of every set*id call: under p_lock, let change() check
 * the request against the current cred and fill in a copy; publish the
 * copy if it succeeded.
 */
struct groups_req;
struct cred_req {
	unsigned a, b, c;
	const struct groups_req *groups;        /* setgroups only */
};
typedef int (*cred_change_t)(const struct cred *cur, struct cred *n,
    const struct cred_req *r);

static long
cred_modify(cred_change_t change, const struct cred_req *r)
{
	struct proc *p = curproc();
	struct cred *old, *n;
	int error;

	mutex_enter(&p->p_lock);
	old = p->p_cred;
	n = cred_dup(old);
	if (n == NULL) {
		mutex_exit(&p->p_lock);
		return -ENOMEM;
	}
	error = change(old, n, r);
	if (error != 0) {
		mutex_exit(&p->p_lock);
		cred_free(n);
		return -error;
	}
	p->p_cred = n;
	proc_gen_bump(p);
	mutex_exit(&p->p_lock);
	cred_free(old);
	return 0;
}

#define ID_NONE ((unsigned)-1)

static inline bool
cred_priv(const struct cred *c)
{
	return c->cr_euid == 0;
}

static int
setuid_change(const struct cred *c, struct cred *n, const struct cred_req *r)
{
	uid_t uid = r->a;

	if (uid == ID_NONE)
		return EINVAL;
	if (cred_priv(c)) {
		n->cr_uid = n->cr_euid = n->cr_suid = n->cr_fsuid = uid;
	} else if (uid == c->cr_uid || uid == c->cr_suid) {
		n->cr_euid = n->cr_fsuid = uid;
	} else {
		return EPERM;
	}
	return 0;
}

static int
setgid_change(const struct cred *c, struct cred *n, const struct cred_req *r)
{
	gid_t gid = r->a;

	if (gid == ID_NONE)
		return EINVAL;
	if (cred_priv(c)) {
		n->cr_gid = n->cr_egid = n->cr_sgid = n->cr_fsgid = gid;
	} else if (gid == c->cr_gid || gid == c->cr_sgid) {
		n->cr_egid = n->cr_fsgid = gid;
	} else {
		return EPERM;
	}
	return 0;
}

/* An unprivileged caller may set each id only to one of its current
 * real, effective or saved ids. */
static inline bool
id_allowed(unsigned v, unsigned r, unsigned e, unsigned s)
{
	return v == ID_NONE || v == r || v == e || v == s;
}

static int
setresuid_change(const struct cred *c, struct cred *n,
    const struct cred_req *r)
{
	if (!cred_priv(c) &&
	    (!id_allowed(r->a, c->cr_uid, c->cr_euid, c->cr_suid) ||
	    !id_allowed(r->b, c->cr_uid, c->cr_euid, c->cr_suid) ||
	    !id_allowed(r->c, c->cr_uid, c->cr_euid, c->cr_suid)))
		return EPERM;
	if (r->a != ID_NONE)
		n->cr_uid = r->a;
	if (r->b != ID_NONE)
		n->cr_euid = r->b;
	if (r->c != ID_NONE)
		n->cr_suid = r->c;
	n->cr_fsuid = n->cr_euid;
	return 0;
}

static int
setresgid_change(const struct cred *c, struct cred *n,
    const struct cred_req *r)
{
	if (!cred_priv(c) &&
	    (!id_allowed(r->a, c->cr_gid, c->cr_egid, c->cr_sgid) ||
	    !id_allowed(r->b, c->cr_gid, c->cr_egid, c->cr_sgid) ||
	    !id_allowed(r->c, c->cr_gid, c->cr_egid, c->cr_sgid)))
		return EPERM;
	if (r->a != ID_NONE)
		n->cr_gid = r->a;
	if (r->b != ID_NONE)
		n->cr_egid = r->b;
	if (r->c != ID_NONE)
		n->cr_sgid = r->c;
	n->cr_fsgid = n->cr_egid;
	return 0;
}

long
sys_setuid(uid_t uid)
{
	struct cred_req r = { uid, 0, 0, NULL };

	return cred_modify(setuid_change, &r);
}

long
sys_setgid(gid_t gid)
{
	struct cred_req r = { gid, 0, 0, NULL };

	return cred_modify(setgid_change, &r);
}

long
sys_setresuid(uid_t ruid, uid_t euid, uid_t suid)
{
	struct cred_req r = { ruid, euid, suid, NULL };

	return cred_modify(setresuid_change, &r);
}

long
sys_setresgid(gid_t rgid, gid_t egid, gid_t sgid)
{
	struct cred_req r = { rgid, egid, sgid, NULL };

	return cred_modify(setresgid_change, &r);
}

long
sys_getgroups(int size, gid_t *list)
{
	struct cred *c;
	long ret;

	if (size < 0)
		return -EINVAL;
	c = cred_get();
	ret = c->cr_ngroups;
	if (size != 0) {
		if (size < c->cr_ngroups)
			ret = -EINVAL;
		else if (copyout(c->cr_groups, list,
		    c->cr_ngroups * sizeof(gid_t)) != 0)
			ret = -EFAULT;
	}
	cred_free(c);
	return ret;
}

/* The groups being installed by setgroups, sorted as Linux keeps them. */
struct groups_req {
	int n;
	gid_t g[NGROUPS_PITH];
};

static int
setgroups_change(const struct cred *c, struct cred *n,
    const struct cred_req *r)
{
	const struct groups_req *gr = r->groups;

	if (!cred_priv(c))
		return EPERM;
	n->cr_ngroups = gr->n;
	memcpy(n->cr_groups, gr->g, gr->n * sizeof(gid_t));
	return 0;
}

/*
 * Linux accepts up to NGROUPS_MAX (65536) groups; we keep NGROUPS_PITH
 * and say EINVAL beyond that, as for a size over NGROUPS_MAX.
 */
long
sys_setgroups(int size, const gid_t *list)
{
	struct groups_req *gr;
	struct cred *c;
	long error;

	c = cred_get();
	error = cred_priv(c) ? 0 : -EPERM;
	cred_free(c);
	if (error != 0)
		return error;
	if ((unsigned)size > NGROUPS_MAX || size > NGROUPS_PITH)
		return -EINVAL;
	gr = kmem_alloc(sizeof(*gr));
	if (gr == NULL)
		return -ENOMEM;
	gr->n = size;
	if (copyin(list, gr->g, size * sizeof(gid_t)) != 0) {
		error = -EFAULT;
		goto out;
	}
	for (int i = 0; i < size; i++) {
		gid_t v = gr->g[i];
		int j;
		if (v == ID_NONE) {
			error = -EINVAL;
			goto out;
		}
		for (j = i; j > 0 && gr->g[j - 1] > v; j--)
			gr->g[j] = gr->g[j - 1];
		gr->g[j] = v;
	}
	struct cred_req r = { 0, 0, 0, gr };
	error = cred_modify(setgroups_change, &r);
out:
	kmem_free(gr, sizeof(*gr));
	return error;
}

long
sys_umask(mode_t mask)
{
	struct proc *p = curproc();
	mode_t old;

	mutex_enter(&p->p_lock);
	old = p->p_umask;
	p->p_umask = mask & 0777;
	mutex_exit(&p->p_lock);
	return old;
}
