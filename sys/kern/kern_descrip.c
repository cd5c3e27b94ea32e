/*
 * Open files, descriptor tables and uio transfers.
 *
 * fd_get is on the path of every read, write and fstat, so it takes no
 * lock and writes no shared cache line: it reads the table's slot array
 * with acquire loads, then takes a reference on the file it found with a
 * compare-and-swap that refuses a count of zero, and checks that the slot
 * still holds that file.  Two things make that safe without RCU:
 *
 *  - struct file memory is type-stable: a released file goes back to a
 *    private free list, never to kmem, until shutdown.  A lookup racing
 *    with close may touch the refcount of a file that has been freed (the
 *    CAS then sees zero and fails) or even reused (the CAS succeeds, the
 *    slot re-check fails, and the reference is dropped again): both are
 *    harmless.  Each file sits on its own cache lines, so two threads
 *    working on two files never share one.
 *  - a slot array that is outgrown stays allocated until the table is
 *    freed, so a lookup that loaded the old array still reads valid
 *    memory; the re-check goes through the current array.
 *
 * Everything that changes a table (install, close, dup2, flags) takes the
 * table's fd_lock; the slot bitmap and the close-on-exec bitmap are only
 * read under it.  Files are released (file_rele) after fd_lock is dropped,
 * since the last release may sleep in fo_close.
 *
 * fd_get_light (fstat) goes further and takes no reference at all: the
 * lwp announces the table it reads in l_fdlight (a plain store, ordered
 * before the slot load by a compiler barrier only), and whoever takes a
 * file out of a slot calls fd_light_sync before dropping the table's
 * reference.  That pays for both sides of the fence with hyp_membarrier
 * and waits for readers still announcing the table -- but only when
 * a light lookup has ever used this table (fd_lightused, set with a
 * locked instruction by the first one) and another host thread's lwp
 * exists: the usual single-threaded caller skips it, and a thread
 * attaching later counts itself (lwp_user_count) with a locked
 * instruction before its first lookup.  Either way, either the closer
 * sees the reader or the reader sees the emptied slot.  The table's reference
 * thus outlives every light user, so the file's count never reaches
 * zero under one.
 */
#include "kern/kern.h"
#include "kern/proc.h"
#include "kern/file.h"
#include "kern/kern_private.h"
#include "kern/poll.h"

#define FD_NBITS (8 * sizeof(unsigned long))
#define FD_NWORDS (FD_LIMIT_DEFAULT / FD_NBITS)
#define FD_INITIAL 64

/* A slot array.  Outgrown arrays are chained on fa_retired and freed
 * with the table, for the benefit of lockless readers. */
struct fdarray {
	int fa_n;                       /* [I] slots */
	struct fdarray *fa_retired;     /* [fd_lock] older arrays */
	struct file *fa_files[];        /* [a] read lockless, set under fd_lock */
};

struct filedesc {
	kmutex_t fd_lock;
	struct fdarray *fd_array;       /* [a] current array */
	/* A light lookup has used this table: from then on closes must
	 * synchronise with them (fd_light_sync).  Set once, never cleared. */
	unsigned fd_lightused;          /* [a] */
	unsigned long fd_map[FD_NWORDS];        /* [fd_lock] used slots */
	unsigned long fd_cloexec[FD_NWORDS];    /* [fd_lock] FD_CLOEXEC */
};

/* --- uio ----------------------------------------------------------------- */

int
uiomove(void *buf, size_t n, struct uio *uio)
{
	char *cp = buf;
	int error = 0;

	KASSERT(uio->uio_rw == UIO_READ || uio->uio_rw == UIO_WRITE);
	while (n > 0 && uio->uio_resid > 0) {
		struct iovec *iov = uio->uio_iov;
		size_t cnt;

		if (uio->uio_iovcnt <= 0)
			break;
		cnt = MIN(iov->iov_len, n);
		if (cnt == 0) {
			uio->uio_iov++;
			uio->uio_iovcnt--;
			continue;
		}
		if (uio->uio_segflg == UIO_SYSSPACE) {
			if (uio->uio_rw == UIO_READ)
				memcpy(iov->iov_base, cp, cnt);
			else
				memcpy(cp, iov->iov_base, cnt);
		} else if (uio->uio_rw == UIO_READ) {
			error = copyout(cp, iov->iov_base, cnt);
		} else {
			error = copyin(iov->iov_base, cp, cnt);
		}
		if (error)
			break;
		iov->iov_base = (char *)iov->iov_base + cnt;
		iov->iov_len -= cnt;
		uio->uio_resid -= cnt;
		uio->uio_offset += cnt;
		cp += cnt;
		n -= cnt;
	}
	return error;
}

void
uio_setup_sys(struct uio *uio, struct iovec *iov, void *buf, size_t len,
    off_t off, enum uio_rw rw)
{
	iov->iov_base = buf;
	iov->iov_len = len;
	uio->uio_iov = iov;
	uio->uio_iovcnt = 1;
	uio->uio_offset = off;
	uio->uio_resid = len;
	uio->uio_rw = rw;
	uio->uio_segflg = UIO_SYSSPACE;
}

/* --- the file cache ------------------------------------------------------ */

/* A file on its own cache lines, with the raw block kmem gave us. */
struct fileslot {
	struct file fs_file;
	void *fs_raw;
	struct fileslot *fs_all;        /* [filecache_lock] every slot */
	bool fs_reap;                   /* [filecache_lock] on a free list */
} __attribute__((aligned(64)));

#define FILESLOT_ALLOC (sizeof(struct fileslot) + 48)

static kmutex_t filecache_lock;
static struct fileslot *filecache_all;  /* [filecache_lock] */
static struct file *filecache_free;     /* [filecache_lock] via f_data */

/*
 * Free files are kept per virtual CPU, so opening and closing take no
 * shared lock; a caller without a CPU (shutdown paths) uses the shared
 * list.  Either way a file's memory stays a struct file until shutdown.
 */
static struct file **
filecache_list(bool *locked)
{
	struct lwp *l = curlwp();

	if (l != NULL && l->l_cpu != NULL) {
		*locked = false;
		return &l->l_cpu->ci_filefree;
	}
	mutex_enter(&filecache_lock);
	*locked = true;
	return &filecache_free;
}

static struct file *
filecache_get(void)
{
	struct fileslot *fs;
	struct file *fp, **list;
	bool locked;
	void *raw;

	list = filecache_list(&locked);
	fp = *list;
	if (fp != NULL)
		*list = fp->f_data;
	if (locked)
		mutex_exit(&filecache_lock);
	if (fp != NULL)
		return fp;
	/*
	 * The CPU's list is empty: take one that a caller without a CPU
	 * freed (a process released from outside, pithd's hang-ups), or
	 * those would pile up on the shared list until shutdown.
	 */
	if (!locked) {
		mutex_enter(&filecache_lock);
		fp = filecache_free;
		if (fp != NULL)
			filecache_free = fp->f_data;
		mutex_exit(&filecache_lock);
		if (fp != NULL)
			return fp;
	}

	raw = kmem_alloc(FILESLOT_ALLOC);
	if (raw == NULL)
		return NULL;
	fs = (struct fileslot *)roundup((uintptr_t)raw, 64);
	memset(fs, 0, sizeof(*fs));
	fs->fs_raw = raw;
	mutex_enter(&filecache_lock);
	fs->fs_all = filecache_all;
	filecache_all = fs;
	mutex_exit(&filecache_lock);
	return &fs->fs_file;
}

/* fp's count is zero: it can never be found again except by a racing
 * lookup, whose CAS fails on the zero count. */
static void
filecache_put(struct file *fp)
{
	struct file **list;
	bool locked;

	list = filecache_list(&locked);
	fp->f_data = *list;
	*list = fp;
	if (locked)
		mutex_exit(&filecache_lock);
}

static inline struct fileslot *
fileslot_of(struct file *fp)
{
	return container_of(fp, struct fileslot, fs_file);
}

/*
 * pith_mem_reap, holding every CPU: no lookup can be racing (the files'
 * type-stability is for lock-free lookups in flight, and none is), so
 * the free files on every list go back to kmem.  Files on the lists are
 * marked first, then the list of all slots is swept.  No sleeping on
 * the lock (the reaper holds borrowed CPUs): if it is busy, next time.
 */
void
filecache_reap(void)
{
	struct fileslot *fs, **fsp;
	struct file *fp;

	if (!mutex_tryenter(&filecache_lock))
		return;
	for (unsigned i = 0; i < cpu_count(); i++) {
		struct cpu_info *ci = cpu_lookup(i);

		for (fp = ci->ci_filefree; fp != NULL; fp = fp->f_data)
			fileslot_of(fp)->fs_reap = true;
		ci->ci_filefree = NULL;
	}
	for (fp = filecache_free; fp != NULL; fp = fp->f_data)
		fileslot_of(fp)->fs_reap = true;
	filecache_free = NULL;
	for (fsp = &filecache_all; (fs = *fsp) != NULL;) {
		if (fs->fs_reap) {
			*fsp = fs->fs_all;
			kmem_free(fs->fs_raw, FILESLOT_ALLOC);
		} else
			fsp = &fs->fs_all;
	}
	mutex_exit(&filecache_lock);
}

/* [I] hyp_membarrier works here, so fd_get_light may skip references. */
static bool fd_light_ok;

static int
filecache_init(void)
{
	mutex_init(&filecache_lock);
	fd_light_ok = hyp_membarrier() == 0;
	return 0;
}

/*
 * Shutdown: every process is gone, so every file should be free.  A file
 * still held is reported and left alone (with the lock, so that its late
 * release stays safe); kmem's own leak report will name it again.
 */
static void
filecache_fini(void)
{
	struct fileslot *fs, **fsp = &filecache_all;
	bool busy = false;

	while ((fs = *fsp) != NULL) {
		if (atomic_load(&fs->fs_file.f_refcnt) != 0) {
			kprintf("file %p still open at shutdown (refcnt %u)\n",
			    &fs->fs_file, fs->fs_file.f_refcnt);
			busy = true;
			fsp = &fs->fs_all;
			continue;
		}
		*fsp = fs->fs_all;
		kmem_free(fs->fs_raw, FILESLOT_ALLOC);
	}
	filecache_free = NULL;
	for (unsigned i = 0; i < cpu_count(); i++)
		cpu_lookup(i)->ci_filefree = NULL;
	if (!busy)
		mutex_destroy(&filecache_lock);
}

COMPONENT(filecache, COMP_KERN, filecache_init, filecache_fini);

/* --- files --------------------------------------------------------------- */

int
file_alloc(const struct fileops *ops, void *data, unsigned flag,
    struct file **ret)
{
	struct file *fp;
	struct cred *cr;

	cr = cred_get();
	if (cr == NULL)
		return ENOMEM;
	fp = filecache_get();
	if (fp == NULL) {
		cred_free(cr);
		return ENOMEM;
	}
	KASSERT(atomic_load(&fp->f_refcnt) == 0);
	fp->f_ops = ops;
	fp->f_data = data;
	fp->f_flag = flag;
	fp->f_offset = 0;
	fp->f_cred = cr;
	fp->f_epoll = NULL;
	mutex_init(&fp->f_lock);
	/* Publishes the fields above to lookups that find fp. */
	atomic_store(&fp->f_refcnt, 1);
	*ret = fp;
	return 0;
}

void
file_hold(struct file *fp)
{
	KASSERT(atomic_load(&fp->f_refcnt) > 0);
	atomic_inc_uint(&fp->f_refcnt);
}

/* A reference unless the count already dropped to zero. */
static bool
file_tryhold(struct file *fp)
{
	unsigned n = atomic_load(&fp->f_refcnt);

	while (n != 0) {
		if (atomic_cas(&fp->f_refcnt, &n, n + 1))
			return true;
	}
	return false;
}

void
file_rele(struct file *fp)
{
	unsigned n = atomic_dec_uint_nv(&fp->f_refcnt);

	KASSERT(n != UINT_MAX);
	if (n != 0)
		return;
	/* Registrations go before the object they watch does. */
	if (fp->f_epoll != NULL)
		epoll_file_release(fp);
	KASSERT(fp->f_epoll == NULL);
	if (fp->f_ops->fo_close != NULL)
		fp->f_ops->fo_close(fp);
	cred_free(fp->f_cred);
	fp->f_cred = NULL;
	mutex_destroy(&fp->f_lock);
	filecache_put(fp);
}

/* --- descriptor tables ----------------------------------------------------- */

static struct fdarray *
fdarray_alloc(int n)
{
	struct fdarray *fa;

	fa = kmem_zalloc(sizeof(*fa) + n * sizeof(struct file *));
	if (fa != NULL)
		fa->fa_n = n;
	return fa;
}

static void
fdarray_free(struct fdarray *fa)
{
	kmem_free(fa, sizeof(*fa) + fa->fa_n * sizeof(struct file *));
}

int
fd_table_alloc(struct filedesc **ret)
{
	struct filedesc *fdp;

	fdp = kmem_zalloc(sizeof(*fdp));
	if (fdp == NULL)
		return ENOMEM;
	fdp->fd_array = fdarray_alloc(FD_INITIAL);
	if (fdp->fd_array == NULL) {
		kmem_free(fdp, sizeof(*fdp));
		return ENOMEM;
	}
	mutex_init(&fdp->fd_lock);
	*ret = fdp;
	return 0;
}

int
fd_limit(struct filedesc *fdp)
{
	return FD_LIMIT_DEFAULT;
}

static bool
fd_bit(const unsigned long *map, int fd)
{
	return (map[fd / FD_NBITS] >> (fd % FD_NBITS)) & 1;
}

static inline void
fd_bit_set(unsigned long *map, int fd, bool on)
{
	if (on)
		map[fd / FD_NBITS] |= 1UL << (fd % FD_NBITS);
	else
		map[fd / FD_NBITS] &= ~(1UL << (fd % FD_NBITS));
}

/* Make the array hold slot fd.  fd_lock held. */
static int
fd_grow(struct filedesc *fdp, int fd)
{
	struct fdarray *old = fdp->fd_array, *fa;
	int n = old->fa_n;

	KASSERT(mutex_owned(&fdp->fd_lock));
	if (fd < n)
		return 0;
	while (n <= fd)
		n *= 2;
	n = MIN(n, FD_LIMIT_DEFAULT);
	KASSERT(fd < n);
	fa = fdarray_alloc(n);
	if (fa == NULL)
		return ENOMEM;
	memcpy(fa->fa_files, old->fa_files, old->fa_n * sizeof(struct file *));
	fa->fa_retired = old;
	atomic_store(&fdp->fd_array, fa);
	return 0;
}

/* Put fp (whose new reference the caller gave) in slot fd.  fd_lock held;
 * returns what was there for the caller to release after unlocking. */
static inline struct file *
fd_set_slot(struct filedesc *fdp, int fd, struct file *fp, bool cloexec)
{
	struct fdarray *fa = fdp->fd_array;
	struct file *old;

	KASSERT(mutex_owned(&fdp->fd_lock));
	KASSERT(fd < fa->fa_n);
	old = fa->fa_files[fd];
	atomic_store(&fa->fa_files[fd], fp);
	fd_bit_set(fdp->fd_map, fd, fp != NULL);
	fd_bit_set(fdp->fd_cloexec, fd, fp != NULL && cloexec);
	return old;
}

/* Lowest free slot >= minfd, or -1.  fd_lock held. */
static int
fd_find_free(struct filedesc *fdp, int minfd)
{
	int w, fd;

	for (w = minfd / FD_NBITS; w < (int)FD_NWORDS; w++) {
		unsigned long free = ~fdp->fd_map[w];

		if (w == minfd / (int)FD_NBITS)
			free &= ~0UL << (minfd % FD_NBITS);
		if (free != 0) {
			fd = w * FD_NBITS + __builtin_ctzl(free);
			return fd < fd_limit(fdp) ? fd : -1;
		}
	}
	return -1;
}

int
fd_table_copy(struct filedesc *from, struct filedesc **ret)
{
	struct filedesc *fdp;
	struct fdarray *fa;
	int error, fd;

	error = fd_table_alloc(&fdp);
	if (error)
		return error;
	mutex_enter(&from->fd_lock);
	fa = from->fd_array;
	mutex_enter(&fdp->fd_lock);
	error = fd_grow(fdp, fa->fa_n - 1);
	if (error == 0) {
		for (fd = 0; fd < fa->fa_n; fd++) {
			struct file *fp = fa->fa_files[fd];

			if (fp == NULL)
				continue;
			file_hold(fp);
			fd_set_slot(fdp, fd, fp, fd_bit(from->fd_cloexec, fd));
		}
	}
	mutex_exit(&fdp->fd_lock);
	mutex_exit(&from->fd_lock);
	if (error) {
		fd_table_free(fdp);
		return error;
	}
	*ret = fdp;
	return 0;
}

/*
 * fp was just taken out of one of fdp's slots (and fd_lock released):
 * before its reference goes, no lwp may still be using it through
 * fd_get_light.  See the top of the file.
 */
static void
fd_light_sync_self(struct filedesc *fdp, struct lwp *self)
{
	unsigned n;

	if (!fd_light_ok)
		return;
	/*
	 * The exchange that released fd_lock is a full barrier on x86, so
	 * the emptied slot is visible before these loads; the compiler
	 * barrier keeps the compiler from hoisting them above it.
	 */
	__asm__ volatile("" ::: "memory");
	if (!__atomic_load_n(&fdp->fd_lightused, __ATOMIC_RELAXED))
		return;
	n = lwp_user_count();
	if (n == 0 || (n == 1 && self != NULL && !(self->l_flags & LW_KTHREAD)))
		return;
	if (hyp_membarrier() != 0)
		panic("fd_light_sync: hyp_membarrier failed after boot");
	lwp_wait_fdlight(fdp);
}

static void
fd_light_sync(struct filedesc *fdp)
{
	fd_light_sync_self(fdp, curlwp());
}

/*
 * Empty every slot, each file released outside the lock.  sync: other
 * threads may still be in calls of the process (proc_exit); the last
 * reference to the process (fd_table_free) needs none.
 */
static void
fd_table_closeall_common(struct filedesc *fdp, bool sync)
{
	int fd;

	for (fd = 0; fd < atomic_load(&fdp->fd_array)->fa_n; fd++) {
		struct file *fp;

		mutex_enter(&fdp->fd_lock);
		fp = fd_set_slot(fdp, fd, NULL, false);
		mutex_exit(&fdp->fd_lock);
		if (fp != NULL) {
			if (sync)
				fd_light_sync(fdp);
			file_rele(fp);
		}
	}
}

/* The process is exiting and its threads have been turned away. */
void
fd_table_closeall(struct filedesc *fdp)
{
	fd_table_closeall_common(fdp, true);
}

void
fd_table_free(struct filedesc *fdp)
{
	struct fdarray *fa, *next;

	fd_table_closeall_common(fdp, false);
	for (fa = fdp->fd_array; fa != NULL; fa = next) {
		next = fa->fa_retired;
		fdarray_free(fa);
	}
	mutex_destroy(&fdp->fd_lock);
	kmem_free(fdp, sizeof(*fdp));
}

void
fd_closeexec(struct filedesc *fdp)
{
	int fd;

	for (fd = 0; fd < fdp->fd_array->fa_n; fd++) {
		struct file *fp = NULL;

		mutex_enter(&fdp->fd_lock);
		if (fd_bit(fdp->fd_cloexec, fd))
			fp = fd_set_slot(fdp, fd, NULL, false);
		mutex_exit(&fdp->fd_lock);
		if (fp != NULL) {
			fd_light_sync(fdp);
			file_rele(fp);
		}
	}
}

static struct filedesc *
fd_curtable(void)
{
	return curproc()->p_fd;
}

int
fd_get(int fd, struct file **ret)
{
	struct filedesc *fdp = fd_curtable();
	struct fdarray *fa;
	struct file *fp;

	for (;;) {
		fa = atomic_load(&fdp->fd_array);
		if ((unsigned)fd >= (unsigned)fa->fa_n)
			return EBADF;
		fp = atomic_load(&fa->fa_files[fd]);
		if (fp == NULL)
			return EBADF;
		if (!file_tryhold(fp))
			continue;       /* being closed: look again */
		fa = atomic_load(&fdp->fd_array);
		if (__predict_true(atomic_load(&fa->fa_files[fd]) == fp)) {
			*ret = fp;
			return 0;
		}
		file_rele(fp);          /* the slot changed under us */
	}
}

/*
 * fd's file without a reference, for a short call of the calling lwp
 * (fstat): *light is that lwp, or NULL if the caller got a reference
 * after all; either goes to fd_put_light.  Falls back to fd_get when
 * light lookups are off, for kernel threads, and when the lwp is already
 * inside one.
 */
int
fd_get_light(int fd, struct file **ret, struct lwp **light)
{
	struct lwp *l = curlwp();
	struct filedesc *fdp;
	struct fdarray *fa;
	struct file *fp;

	if (!fd_light_ok || l == NULL || (l->l_flags & LW_KTHREAD) ||
	    l->l_fdlight != NULL) {
		*light = NULL;
		return fd_get(fd, ret);
	}
	fdp = l->l_proc->p_fd;
	__atomic_store_n(&l->l_fdlight, fdp, __ATOMIC_RELAXED);
	/* The announcement before the slot load; hyp_membarrier in
	 * fd_light_sync supplies the hardware fence. */
	__asm__ volatile("" ::: "memory");
	/* The table's first light lookup: a full fence (the store is an
	 * exchange) so that a closer that skips the wait has emptied its
	 * slot before our load below. */
	if (__predict_false(!__atomic_load_n(&fdp->fd_lightused,
	    __ATOMIC_RELAXED)))
		__atomic_store_n(&fdp->fd_lightused, 1, __ATOMIC_SEQ_CST);
	fa = atomic_load(&fdp->fd_array);
	if ((unsigned)fd >= (unsigned)fa->fa_n ||
	    (fp = atomic_load(&fa->fa_files[fd])) == NULL) {
		atomic_store(&l->l_fdlight, NULL);
		return EBADF;
	}
	*light = l;
	*ret = fp;
	return 0;
}

void
fd_put_light(struct file *fp, struct lwp *light)
{
	if (light == NULL) {
		file_rele(fp);
		return;
	}
	KASSERT(light->l_fdlight != NULL);
	/* Release: every use of fp is done before a closer sees NULL. */
	atomic_store(&light->l_fdlight, NULL);
}

int
fd_get_nopath(int fd, struct file **ret)
{
	struct file *fp;
	int error;

	error = fd_get(fd, &fp);
	if (error)
		return error;
	if (__predict_false(atomic_load(&fp->f_flag) & O_PATH)) {
		file_rele(fp);
		return EBADF;
	}
	*ret = fp;
	return 0;
}

static int
fd_install_common(struct file *fp, int minfd, bool cloexec, bool hold,
    int *fdret)
{
	struct filedesc *fdp = fd_curtable();
	struct file *old;
	int fd, error;

	if (minfd < 0 || minfd >= fd_limit(fdp))
		return EINVAL;
	mutex_enter(&fdp->fd_lock);
	fd = fd_find_free(fdp, minfd);
	if (fd < 0) {
		error = EMFILE;
		goto out;
	}
	if (__predict_false(fd >= fdp->fd_array->fa_n)) {
		error = fd_grow(fdp, fd);
		if (error)
			goto out;
	}
	if (hold)
		file_hold(fp);
	old = fd_set_slot(fdp, fd, fp, cloexec);
	KASSERT(old == NULL);
	*fdret = fd;
out:
	mutex_exit(&fdp->fd_lock);
	return error;
}

int
fd_install(struct file *fp, int minfd, bool cloexec, int *fdret)
{
	return fd_install_common(fp, minfd, cloexec, true, fdret);
}

int
fd_install_move(struct file *fp, int minfd, bool cloexec, int *fdret)
{
	return fd_install_common(fp, minfd, cloexec, false, fdret);
}

int
fd_install_at(struct file *fp, int fd, bool cloexec)
{
	struct filedesc *fdp = fd_curtable();
	struct file *old;
	int error;

	if (fd < 0 || fd >= fd_limit(fdp))
		return EBADF;
	mutex_enter(&fdp->fd_lock);
	error = fd_grow(fdp, fd);
	if (error) {
		mutex_exit(&fdp->fd_lock);
		return error;
	}
	file_hold(fp);
	old = fd_set_slot(fdp, fd, fp, cloexec);
	mutex_exit(&fdp->fd_lock);
	if (old != NULL) {
		fd_light_sync(fdp);
		file_rele(old);
	}
	return 0;
}

int
fd_close(int fd)
{
	struct lwp *l = curlwp();
	struct filedesc *fdp = l->l_proc->p_fd;
	struct file *fp = NULL;

	mutex_enter(&fdp->fd_lock);
	if (fd >= 0 && fd < fdp->fd_array->fa_n)
		fp = fd_set_slot(fdp, fd, NULL, false);
	mutex_exit(&fdp->fd_lock);
	if (fp == NULL)
		return EBADF;
	fd_light_sync_self(fdp, l);
	file_rele(fp);
	return 0;
}

int
fd_getflags(int fd, int *flags)
{
	struct filedesc *fdp = fd_curtable();
	int error = EBADF;

	mutex_enter(&fdp->fd_lock);
	if (fd >= 0 && fd < fdp->fd_array->fa_n && fd_bit(fdp->fd_map, fd)) {
		*flags = fd_bit(fdp->fd_cloexec, fd) ? FD_CLOEXEC : 0;
		error = 0;
	}
	mutex_exit(&fdp->fd_lock);
	return error;
}

int
fd_setflags(int fd, int flags)
{
	struct filedesc *fdp = fd_curtable();
	int error = EBADF;

	mutex_enter(&fdp->fd_lock);
	if (fd >= 0 && fd < fdp->fd_array->fa_n && fd_bit(fdp->fd_map, fd)) {
		fd_bit_set(fdp->fd_cloexec, fd, (flags & FD_CLOEXEC) != 0);
		error = 0;
	}
	mutex_exit(&fdp->fd_lock);
	return error;
}
