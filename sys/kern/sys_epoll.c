/*
 * epoll: epoll_create, epoll_create1, epoll_ctl, epoll_wait, epoll_pwait.
 *
 * An epoll instance (struct eventpoll) keeps one epitem per watched
 * (file, fd) pair, in a small hash by fd.  Each item hooks up to
 * EPI_NWAIT waitents onto the wait queues the file's fo_poll names, using
 * the same pollwait mechanism as poll (kern/poll.h).  A wakeup that
 * matches the item's events puts it on the ready list and wakes waiters;
 * epoll_wait takes items off the ready list, asks each file for its
 * current readiness (fo_poll without a pollwait) and reports those that
 * are ready.  Level-triggered items go back on the list after being
 * reported, so the next wait asks again; EPOLLET items wait for the next
 * wakeup; EPOLLONESHOT items are disabled (events cleared) until
 * EPOLL_CTL_MOD re-arms them.
 *
 * Items do not hold a reference on their file (as in Linux): when the
 * file's last reference goes, file_rele calls epoll_file_release, which
 * removes every item on the file's f_epoll list before the file's
 * fo_close frees the object the items watch.
 *
 * Locks, in order:
 *   epoll_lock      global; serialises file release against epoll close
 *   ep_lock         one instance's items (hash, item fields, f_epoll
 *                   membership); held across fo_poll so that items and
 *                   their files stay put
 *   f_lock          the watched file's f_epoll list
 *   object locks -> wq_lock (the wakeup path)
 *   ep_rdlock       the ready list, ei_ready and ei_events; the only lock
 *                   the wakeup callback takes
 * A file is never released (file_rele) with ep_lock held.
 *
 * An epoll descriptor is itself pollable: POLLIN while its ready list is
 * not empty (which may report an item whose readiness has since gone, as
 * early Linux did).  Cycles of epoll instances watching each other are
 * not detected (no ELOOP); do not build them.
 */
#include "kern/kern.h"
#include "kern/file.h"
#include "kern/poll.h"
#include "kern/proc.h"
#include "gen/sysproto.h"

#define EPI_NWAIT 2
#define EP_NHASH 32
#define EP_BATCH 128
#define EP_MAX_EVENTS (INT_MAX / (int)sizeof(struct epoll_event))
#define EP_PRIVATE (EPOLLONESHOT | EPOLLET | EPOLLWAKEUP | EPOLLEXCLUSIVE)
#define EPOLLEXCLUSIVE_OK (EPOLLIN | EPOLLOUT | EPOLLERR | EPOLLHUP | \
    EPOLLWAKEUP | EPOLLET | EPOLLEXCLUSIVE)
#define ANONFS_DEV 0x10UL

struct epitem;

struct epwait {
	struct waitent ew_we;
	struct epitem *ew_item;         /* [I] */
};

struct epitem {
	struct eventpoll *ei_ep;        /* [I] */
	struct file *ei_fp;             /* [I] not referenced, see above */
	int ei_fd;                      /* [I] */
	uint32_t ei_events;             /* [ep_lock + ep_rdlock to change] */
	uint64_t ei_data;               /* [ep_lock] */
	bool ei_ready;                  /* [ep_rdlock] on ep_rdlist */
	TAILQ_ENTRY(epitem) ei_rdlink;  /* [ep_rdlock] */
	LIST_ENTRY(epitem) ei_hlink;    /* [ep_lock] */
	LIST_ENTRY(epitem) ei_flink;    /* [f_lock of ei_fp] */
	int ei_nwait;                   /* [ep_lock] */
	struct epwait ei_wait[EPI_NWAIT];
};

LIST_HEAD(epitemlist, epitem);

struct eventpoll {
	kmutex_t ep_lock;
	kmutex_t ep_rdlock;
	kcondvar_t ep_cv;               /* [ep_rdlock] ready list not empty */
	TAILQ_HEAD(, epitem) ep_rdlist; /* [ep_rdlock] */
	struct epitemlist ep_hash[EP_NHASH];    /* [ep_lock] */
	struct waitq ep_pollwq;         /* pollers of the epoll fd itself */
	uint64_t ep_ino;                /* [I] */
	uid_t ep_uid;                   /* [I] */
	gid_t ep_gid;                   /* [I] */
};

/* The file's f_epoll is the head of its item list. */
#define FILE_EPLIST(fp) ((struct epitemlist *)&(fp)->f_epoll)
CTASSERT(sizeof(struct epitemlist) == sizeof(void *));

static kmutex_t epoll_lock;
static uint64_t epoll_nextino = 1;      /* [a] */

static const struct fileops epollops;

/* --- ready list ------------------------------------------------------------- */

/* Put ei on the ready list and wake waiters.  ep_rdlock held. */
static void
ep_set_ready(struct eventpoll *ep, struct epitem *ei)
{
	KASSERT(mutex_owned(&ep->ep_rdlock));
	if (!ei->ei_ready) {
		TAILQ_INSERT_TAIL(&ep->ep_rdlist, ei, ei_rdlink);
		ei->ei_ready = true;
	}
	cv_broadcast(&ep->ep_cv);
}

/* Wait-queue callback: runs under the object's wq_lock. */
static void
ep_wake(struct waitent *we, int events)
{
	struct epwait *ew = container_of(we, struct epwait, ew_we);
	struct epitem *ei = ew->ew_item;
	struct eventpoll *ep = ei->ei_ep;
	bool woke = false;

	mutex_enter(&ep->ep_rdlock);
	if ((ei->ei_events & ~EP_PRIVATE) != 0 &&
	    (events == 0 || (events & ei->ei_events) != 0)) {
		ep_set_ready(ep, ei);
		woke = true;
	}
	mutex_exit(&ep->ep_rdlock);
	if (woke)
		waitq_wakeup(&ep->ep_pollwq, POLLIN | POLLRDNORM);
}

struct ep_pollwait {
	struct pollwait epw_pw;
	struct epitem *epw_item;
};

static void
ep_pw_add(struct pollwait *pw, struct waitq *wq)
{
	struct ep_pollwait *epw = container_of(pw, struct ep_pollwait, epw_pw);
	struct epitem *ei = epw->epw_item;
	struct epwait *ew;

	if (ei->ei_nwait == EPI_NWAIT) {
		pw->pw_error = ENOMEM;
		return;
	}
	ew = &ei->ei_wait[ei->ei_nwait++];
	ew->ew_item = ei;
	ew->ew_we.we_wake = ep_wake;
	ew->ew_we.we_arg = ei;
	ew->ew_we.we_q = NULL;
	waitq_add(wq, &ew->ew_we);
}

/* --- items -------------------------------------------------------------------- */

static struct epitemlist *
ep_bucket(struct eventpoll *ep, int fd)
{
	return &ep->ep_hash[(unsigned)fd % EP_NHASH];
}

static struct epitem *
ep_find(struct eventpoll *ep, struct file *fp, int fd)
{
	struct epitem *ei;

	KASSERT(mutex_owned(&ep->ep_lock));
	LIST_FOREACH(ei, ep_bucket(ep, fd), ei_hlink)
		if (ei->ei_fd == fd && ei->ei_fp == fp)
			return ei;
	return NULL;
}

/* Unhook and free ei.  ep_lock held; the file is alive (referenced, or
 * being released with its f_epoll list still holding ei). */
static void
ep_remove(struct eventpoll *ep, struct epitem *ei)
{
	struct file *fp = ei->ei_fp;
	int i;

	KASSERT(mutex_owned(&ep->ep_lock));
	for (i = 0; i < ei->ei_nwait; i++)
		waitq_remove(&ei->ei_wait[i].ew_we);
	mutex_enter(&ep->ep_rdlock);
	if (ei->ei_ready)
		TAILQ_REMOVE(&ep->ep_rdlist, ei, ei_rdlink);
	mutex_exit(&ep->ep_rdlock);
	mutex_enter(&fp->f_lock);
	LIST_REMOVE(ei, ei_flink);
	mutex_exit(&fp->f_lock);
	LIST_REMOVE(ei, ei_hlink);
	kmem_free(ei, sizeof(*ei));
}

static int
ep_insert(struct eventpoll *ep, struct file *fp, int fd,
    const struct epoll_event *ev)
{
	struct ep_pollwait epw;
	struct epitem *ei;
	int revents;

	KASSERT(mutex_owned(&ep->ep_lock));
	ei = kmem_zalloc(sizeof(*ei));
	if (ei == NULL)
		return ENOMEM;
	ei->ei_ep = ep;
	ei->ei_fp = fp;
	ei->ei_fd = fd;
	ei->ei_events = (ev->events & ~EPOLLWAKEUP) | EPOLLERR | EPOLLHUP;
	ei->ei_data = ev->data;
	LIST_INSERT_HEAD(ep_bucket(ep, fd), ei, ei_hlink);
	mutex_enter(&fp->f_lock);
	LIST_INSERT_HEAD(FILE_EPLIST(fp), ei, ei_flink);
	mutex_exit(&fp->f_lock);

	epw.epw_pw.pw_add = ep_pw_add;
	epw.epw_pw.pw_file = fp;
	epw.epw_pw.pw_error = 0;
	epw.epw_item = ei;
	revents = fp->f_ops->fo_poll(fp, (int)ei->ei_events, &epw.epw_pw);
	if (epw.epw_pw.pw_error) {
		ep_remove(ep, ei);
		return epw.epw_pw.pw_error;
	}
	if (revents & ei->ei_events) {
		mutex_enter(&ep->ep_rdlock);
		ep_set_ready(ep, ei);
		mutex_exit(&ep->ep_rdlock);
		waitq_wakeup(&ep->ep_pollwq, POLLIN | POLLRDNORM);
	}
	return 0;
}

static int
ep_modify(struct eventpoll *ep, struct epitem *ei,
    const struct epoll_event *ev)
{
	struct file *fp = ei->ei_fp;
	bool ready;

	KASSERT(mutex_owned(&ep->ep_lock));
	if (ei->ei_events & EPOLLEXCLUSIVE)
		return EINVAL;
	mutex_enter(&ep->ep_rdlock);
	ei->ei_events = (ev->events & ~EPOLLWAKEUP) | EPOLLERR | EPOLLHUP;
	mutex_exit(&ep->ep_rdlock);
	ei->ei_data = ev->data;
	ready = (fp->f_ops->fo_poll(fp, (int)ei->ei_events, NULL) &
	    ei->ei_events) != 0;
	if (ready) {
		mutex_enter(&ep->ep_rdlock);
		ep_set_ready(ep, ei);
		mutex_exit(&ep->ep_rdlock);
		waitq_wakeup(&ep->ep_pollwq, POLLIN | POLLRDNORM);
	}
	return 0;
}

/* --- the epoll file --------------------------------------------------------- */

static int
ep_poll(struct file *fp, int events, struct pollwait *pw)
{
	struct eventpoll *ep = fp->f_data;
	int revents = 0;

	pollwait_add(pw, &ep->ep_pollwq);
	mutex_enter(&ep->ep_rdlock);
	if (!TAILQ_EMPTY(&ep->ep_rdlist))
		revents = POLLIN | POLLRDNORM;
	mutex_exit(&ep->ep_rdlock);
	return revents;
}

static int
ep_stat(struct file *fp, struct stat *st)
{
	struct eventpoll *ep = fp->f_data;

	memset(st, 0, sizeof(*st));
	st->st_dev = ANONFS_DEV;
	st->st_ino = ep->ep_ino;
	st->st_nlink = 1;
	st->st_mode = S_IRUSR | S_IWUSR;
	st->st_uid = ep->ep_uid;
	st->st_gid = ep->ep_gid;
	st->st_blksize = 4096;
	return 0;
}

static void
ep_close(struct file *fp)
{
	struct eventpoll *ep = fp->f_data;
	struct epitem *ei;
	int i;

	mutex_enter(&epoll_lock);
	mutex_enter(&ep->ep_lock);
	for (i = 0; i < EP_NHASH; i++)
		while ((ei = LIST_FIRST(&ep->ep_hash[i])) != NULL)
			ep_remove(ep, ei);
	mutex_exit(&ep->ep_lock);
	mutex_exit(&epoll_lock);
	waitq_destroy(&ep->ep_pollwq);
	cv_destroy(&ep->ep_cv);
	mutex_destroy(&ep->ep_rdlock);
	mutex_destroy(&ep->ep_lock);
	kmem_free(ep, sizeof(*ep));
}

static const struct fileops epollops = {
	.fo_poll = ep_poll,
	.fo_stat = ep_stat,
	.fo_close = ep_close,
};

void
epoll_file_release(struct file *fp)
{
	struct epitem *ei;

	KASSERT(atomic_load(&fp->f_refcnt) == 0);
	mutex_enter(&epoll_lock);
	while ((ei = LIST_FIRST(FILE_EPLIST(fp))) != NULL) {
		struct eventpoll *ep = ei->ei_ep;

		mutex_enter(&ep->ep_lock);
		ep_remove(ep, ei);
		mutex_exit(&ep->ep_lock);
	}
	mutex_exit(&epoll_lock);
}

static int
epoll_init(void)
{
	mutex_init(&epoll_lock);
	return 0;
}

static void
epoll_fini(void)
{
	mutex_destroy(&epoll_lock);
}

COMPONENT(epoll, COMP_KERN, epoll_init, epoll_fini);

/* --- system calls ------------------------------------------------------------- */

static int
ep_create(int flags, int *fdret)
{
	struct eventpoll *ep;
	struct file *fp;
	struct cred *cr;
	int error, i;

	ep = kmem_zalloc(sizeof(*ep));
	if (ep == NULL)
		return ENOMEM;
	mutex_init(&ep->ep_lock);
	mutex_init(&ep->ep_rdlock);
	cv_init(&ep->ep_cv);
	TAILQ_INIT(&ep->ep_rdlist);
	for (i = 0; i < EP_NHASH; i++)
		LIST_INIT(&ep->ep_hash[i]);
	waitq_init(&ep->ep_pollwq);
	ep->ep_ino = __atomic_fetch_add(&epoll_nextino, 1, __ATOMIC_RELAXED);
	cr = cred_get();
	if (cr != NULL) {
		ep->ep_uid = cr->cr_fsuid;
		ep->ep_gid = cr->cr_fsgid;
		cred_free(cr);
	}
	error = file_alloc(&epollops, ep, O_RDWR, &fp);
	if (error) {
		waitq_destroy(&ep->ep_pollwq);
		cv_destroy(&ep->ep_cv);
		mutex_destroy(&ep->ep_rdlock);
		mutex_destroy(&ep->ep_lock);
		kmem_free(ep, sizeof(*ep));
		return error;
	}
	error = fd_install(fp, 0, (flags & EPOLL_CLOEXEC) != 0, fdret);
	file_rele(fp);
	return error;
}

long
sys_epoll_create1(int flags)
{
	int error, fd = -1;

	if (flags & ~EPOLL_CLOEXEC)
		return -EINVAL;
	error = ep_create(flags, &fd);
	return error ? -error : fd;
}

long
sys_epoll_create(int size)
{
	if (size <= 0)
		return -EINVAL;
	return sys_epoll_create1(0);
}

static int
epoll_ctl_checks(struct file *epfp, struct file *tfp, int op,
    const struct epoll_event *ev)
{
	if (tfp->f_ops->fo_poll == NULL)
		return EPERM;
	if (epfp == tfp || epfp->f_ops != &epollops)
		return EINVAL;
	if (op != EPOLL_CTL_DEL && (ev->events & EPOLLEXCLUSIVE)) {
		if (op == EPOLL_CTL_MOD)
			return EINVAL;
		if (op == EPOLL_CTL_ADD && (tfp->f_ops == &epollops ||
		    (ev->events & ~EPOLLEXCLUSIVE_OK)))
			return EINVAL;
	}
	return 0;
}

static int
epoll_ctl_op(struct eventpoll *ep, struct file *tfp, int op, int fd,
    const struct epoll_event *ev)
{
	struct epitem *ei;
	int error;

	mutex_enter(&ep->ep_lock);
	ei = ep_find(ep, tfp, fd);
	switch (op) {
	case EPOLL_CTL_ADD:
		error = ei != NULL ? EEXIST : ep_insert(ep, tfp, fd, ev);
		break;
	case EPOLL_CTL_DEL:
		error = ENOENT;
		if (ei != NULL) {
			ep_remove(ep, ei);
			error = 0;
		}
		break;
	case EPOLL_CTL_MOD:
		error = ei != NULL ? ep_modify(ep, ei, ev) : ENOENT;
		break;
	default:
		error = EINVAL;
		break;
	}
	mutex_exit(&ep->ep_lock);
	return error;
}

long
sys_epoll_ctl(int epfd, int op, int fd, struct epoll_event *uev)
{
	struct epoll_event ev = { 0, 0 };
	struct file *epfp = NULL, *tfp = NULL;
	int error;

	if (op != EPOLL_CTL_DEL) {
		error = copyin(uev, &ev, sizeof(ev));
		if (error)
			return -error;
	}
	error = fd_get_nopath(epfd, &epfp);
	if (error)
		return -error;
	error = fd_get_nopath(fd, &tfp);
	if (error)
		goto out;
	error = epoll_ctl_checks(epfp, tfp, op, &ev);
	if (error)
		goto out;
	error = epoll_ctl_op(epfp->f_data, tfp, op, fd, &ev);
out:
	/* After ep_lock is dropped: this may be tfp's last reference. */
	if (tfp != NULL)
		file_rele(tfp);
	file_rele(epfp);
	return -error;
}

/*
 * Take up to max ready events into kev.  Each item that was on the ready
 * list at the start is looked at once; ep_lock keeps items and their
 * files in place while fo_poll runs without ep_rdlock.
 */
static int
ep_collect(struct eventpoll *ep, struct epoll_event *kev, int max)
{
	struct epitem *ei;
	int n = 0, todo = 0;

	mutex_enter(&ep->ep_lock);
	mutex_enter(&ep->ep_rdlock);
	TAILQ_FOREACH(ei, &ep->ep_rdlist, ei_rdlink)
		todo++;
	while (todo-- > 0 && n < max &&
	    (ei = TAILQ_FIRST(&ep->ep_rdlist)) != NULL) {
		uint32_t want = ei->ei_events, revents;

		TAILQ_REMOVE(&ep->ep_rdlist, ei, ei_rdlink);
		ei->ei_ready = false;
		mutex_exit(&ep->ep_rdlock);
		revents = 0;
		if (want & ~EP_PRIVATE)
			revents = (uint32_t)ei->ei_fp->f_ops->fo_poll(ei->ei_fp,
			    (int)want, NULL) & want & ~EP_PRIVATE;
		mutex_enter(&ep->ep_rdlock);
		if (revents == 0)
			continue;
		kev[n].events = revents;
		kev[n].data = ei->ei_data;
		n++;
		if (want & EPOLLONESHOT)
			ei->ei_events &= EP_PRIVATE;
		else if (!(want & EPOLLET) && !ei->ei_ready) {
			TAILQ_INSERT_TAIL(&ep->ep_rdlist, ei, ei_rdlink);
			ei->ei_ready = true;
		}
	}
	mutex_exit(&ep->ep_rdlock);
	mutex_exit(&ep->ep_lock);
	return n;
}

static long
do_epoll_wait(int epfd, struct epoll_event *uev, int maxevents, int timeout)
{
	struct epoll_event *kev;
	struct eventpoll *ep;
	struct file *fp;
	int64_t deadline, slice;
	bool timedout = false, intr = false;
	int error, n, max;

	if (maxevents <= 0 || maxevents > EP_MAX_EVENTS)
		return -EINVAL;
	error = fd_get_nopath(epfd, &fp);
	if (error)
		return -error;
	if (fp->f_ops != &epollops) {
		file_rele(fp);
		return -EINVAL;
	}
	ep = fp->f_data;
	max = MIN(maxevents, EP_BATCH);
	kev = kmem_alloc(max * sizeof(*kev));
	if (kev == NULL) {
		file_rele(fp);
		return -ENOMEM;
	}
	deadline = timeout < 0 ? -1 : time_mono_ns() + (int64_t)timeout * 1000000;
	for (;;) {
		n = ep_collect(ep, kev, max);
		if (n > 0 || timeout == 0 || timedout)
			break;
		mutex_enter(&ep->ep_rdlock);
		while (TAILQ_EMPTY(&ep->ep_rdlist) && !timedout && !intr) {
			/* In slices: see PROC_EXIT_SLICE_NS. */
			slice = proc_exit_slice(time_mono_ns(), deadline);
			if (cv_timedwait(&ep->ep_cv, &ep->ep_rdlock,
			    slice) == ETIMEDOUT) {
				timedout = slice == deadline;
				intr = !timedout && proc_exiting();
			}
		}
		mutex_exit(&ep->ep_rdlock);
		if (intr) {
			kmem_free(kev, max * sizeof(*kev));
			file_rele(fp);
			return -EINTR;
		}
	}
	error = 0;
	if (n > 0)
		error = copyout(kev, uev, n * sizeof(*kev));
	kmem_free(kev, max * sizeof(*kev));
	file_rele(fp);
	return error ? -error : n;
}

long
sys_epoll_wait(int epfd, struct epoll_event *events, int maxevents,
    int timeout)
{
	return do_epoll_wait(epfd, events, maxevents, timeout);
}

/* No signals yet: the mask is checked for size and otherwise ignored. */
long
sys_epoll_pwait(int epfd, struct epoll_event *events, int maxevents,
    int timeout, const sigset_t *sigmask, size_t sigsetsize)
{
	if (sigmask != NULL && sigsetsize != sizeof(sigset_t))
		return -EINVAL;
	return do_epoll_wait(epfd, events, maxevents, timeout);
}
