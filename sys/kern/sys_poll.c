/*
 * Wait queues, and poll, ppoll, select and pselect6.
 *
 * poll and select share one loop (poll_loop).  The first scan asks every
 * file for its readiness with a pollwait that hooks a pollent onto each
 * wait queue the file names; each pollent holds a reference on its file
 * so the queue outlives it.  If nothing is ready the caller sleeps on its
 * poller's condition variable until a wait queue callback marks it woken
 * or the deadline passes, then scans again with no pollwait (the hooks
 * stay in place until the call returns).  Timing out is followed by one
 * last scan, as Linux does.  The woken flag is cleared under pl_lock
 * before each scan, so a wakeup between a scan and the sleep is never
 * lost.
 *
 * Lock order: object lock -> wq_lock -> pl_lock.  Callbacks run under
 * wq_lock and take only pl_lock.
 *
 * There are no signals yet, so the sigmask arguments of ppoll and
 * pselect6 are checked for size and otherwise ignored.  The one EINTR
 * is for a process released from outside while it sleeps here (pithd's
 * clients that die): the sleep goes in slices (PROC_EXIT_SLICE_NS) and
 * gives up between them once the process is exiting.
 */
#include "kern/kern.h"
#include "kern/file.h"
#include "kern/poll.h"
#include "kern/proc.h"
#include "gen/sysproto.h"

/* --- wait queues ------------------------------------------------------------ */

void
waitq_init(struct waitq *wq)
{
	mutex_init(&wq->wq_lock);
	TAILQ_INIT(&wq->wq_list);
}

void
waitq_destroy(struct waitq *wq)
{
	KASSERT(TAILQ_EMPTY(&wq->wq_list));
	mutex_destroy(&wq->wq_lock);
}

void
waitq_add(struct waitq *wq, struct waitent *we)
{
	mutex_enter(&wq->wq_lock);
	we->we_q = wq;
	TAILQ_INSERT_TAIL(&wq->wq_list, we, we_link);
	mutex_exit(&wq->wq_lock);
}

/* The owner removes its entry; the queue is alive until it has. */
void
waitq_remove(struct waitent *we)
{
	struct waitq *wq = atomic_load(&we->we_q);

	if (wq == NULL)
		return;
	mutex_enter(&wq->wq_lock);
	KASSERT(we->we_q == wq);
	TAILQ_REMOVE(&wq->wq_list, we, we_link);
	atomic_store(&we->we_q, NULL);
	mutex_exit(&wq->wq_lock);
}

void
waitq_wakeup(struct waitq *wq, int events)
{
	struct waitent *we;

	mutex_enter(&wq->wq_lock);
	TAILQ_FOREACH(we, &wq->wq_list, we_link)
		we->we_wake(we, events);
	mutex_exit(&wq->wq_lock);
}

void
pollwait_add(struct pollwait *pw, struct waitq *wq)
{
	if (pw != NULL)
		pw->pw_add(pw, wq);
}

/* --- the poll loop ------------------------------------------------------------ */

struct pollent {
	struct waitent pe_we;
	struct file *pe_fp;             /* referenced */
	struct pollent *pe_next;
};

struct poller {
	struct pollwait pl_pw;
	kmutex_t pl_lock;
	kcondvar_t pl_cv;
	bool pl_woken;                  /* [pl_lock] */
	struct pollent *pl_ents;        /* owner only */
};

/* What a file without fo_poll (a regular file) reports: always ready. */
#define POLL_ALWAYS (POLLIN | POLLOUT | POLLRDNORM | POLLWRNORM)

/* A scanner fills in readiness for its caller's set and returns 0 or an
 * errno; *count is the number of ready entries. */
typedef int (*poll_scan_t)(void *arg, struct pollwait *pw, int *count);

static void
poller_wake(struct waitent *we, int events)
{
	struct poller *pl = we->we_arg;

	mutex_enter(&pl->pl_lock);
	pl->pl_woken = true;
	cv_signal(&pl->pl_cv);
	mutex_exit(&pl->pl_lock);
}

static void
poller_add(struct pollwait *pw, struct waitq *wq)
{
	struct poller *pl = container_of(pw, struct poller, pl_pw);
	struct pollent *pe;

	KASSERT(pw->pw_file != NULL);
	pe = kmem_alloc(sizeof(*pe));
	if (pe == NULL) {
		pw->pw_error = ENOMEM;
		return;
	}
	pe->pe_we.we_wake = poller_wake;
	pe->pe_we.we_arg = pl;
	pe->pe_we.we_q = NULL;
	file_hold(pw->pw_file);
	pe->pe_fp = pw->pw_file;
	pe->pe_next = pl->pl_ents;
	pl->pl_ents = pe;
	waitq_add(wq, &pe->pe_we);
}

static void
poller_init(struct poller *pl)
{
	pl->pl_pw.pw_add = poller_add;
	pl->pl_pw.pw_file = NULL;
	pl->pl_pw.pw_error = 0;
	mutex_init(&pl->pl_lock);
	cv_init(&pl->pl_cv);
	pl->pl_woken = false;
	pl->pl_ents = NULL;
}

static void
poller_fini(struct poller *pl)
{
	struct pollent *pe;

	while ((pe = pl->pl_ents) != NULL) {
		pl->pl_ents = pe->pe_next;
		waitq_remove(&pe->pe_we);
		file_rele(pe->pe_fp);
		kmem_free(pe, sizeof(*pe));
	}
	cv_destroy(&pl->pl_cv);
	mutex_destroy(&pl->pl_lock);
}

/* Sleep until woken or the deadline (<0: none).  ETIMEDOUT, EINTR (the
 * process is exiting) or 0. */
static int
poller_sleep(struct poller *pl, int64_t deadline)
{
	int64_t slice;
	int error = 0;

	mutex_enter(&pl->pl_lock);
	while (!pl->pl_woken && error == 0) {
		slice = proc_exit_slice(time_mono_ns(), deadline);
		error = cv_timedwait(&pl->pl_cv, &pl->pl_lock, slice);
		if (error == ETIMEDOUT && slice != deadline)
			error = proc_exiting() ? EINTR : 0;
	}
	mutex_exit(&pl->pl_lock);
	return error;
}

/*
 * Scan until something is ready, the deadline (<0: none) passes, or an
 * error.  nowait: scan once (a zero timeout).
 */
static int
poll_loop(poll_scan_t scan, void *arg, bool nowait, int64_t deadline,
    int *count)
{
	struct poller pl;
	struct pollwait *pw;
	bool timedout = false;
	int error;

	poller_init(&pl);
	pw = nowait ? NULL : &pl.pl_pw;
	for (;;) {
		mutex_enter(&pl.pl_lock);
		pl.pl_woken = false;
		mutex_exit(&pl.pl_lock);
		*count = 0;
		error = scan(arg, pw, count);
		if (error == 0 && pw != NULL)
			error = pw->pw_error;
		if (error || *count > 0 || nowait || timedout)
			break;
		pw = NULL;
		error = poller_sleep(&pl, deadline);
		if (error == EINTR)
			break;
		timedout = error == ETIMEDOUT;
		error = 0;
	}
	poller_fini(&pl);
	return error;
}

/* Ask fp for events; with pw, register too. */
static int
poll_file(struct file *fp, int events, struct pollwait *pw)
{
	if (fp->f_ops->fo_poll == NULL)
		return POLL_ALWAYS;
	if (pw != NULL)
		pw->pw_file = fp;
	return fp->f_ops->fo_poll(fp, events, pw);
}

/* --- timeouts ---------------------------------------------------------------- */

#define NS_PER_SEC 1000000000LL

/* Deadline for a timespec (NULL: none).  EINVAL if malformed. */
static int
ts_deadline(const struct timespec *ts, bool *nowait, int64_t *deadline)
{
	*nowait = false;
	*deadline = -1;
	if (ts == NULL)
		return 0;
	if (ts->tv_sec < 0 || ts->tv_nsec < 0 || ts->tv_nsec >= NS_PER_SEC)
		return EINVAL;
	if (ts->tv_sec == 0 && ts->tv_nsec == 0) {
		*nowait = true;
		return 0;
	}
	/* Beyond a century is forever (and cannot overflow). */
	if (ts->tv_sec >= (1L << 32))
		return 0;
	*deadline = time_mono_ns() + time_ts_to_ns(ts);
	return 0;
}

static void
ms_deadline(int ms, bool *nowait, int64_t *deadline)
{
	*nowait = ms == 0;
	*deadline = ms < 0 ? -1 : time_mono_ns() + (int64_t)ms * 1000000;
}

static int64_t
time_left(int64_t deadline)
{
	int64_t left = deadline - time_mono_ns();

	return left > 0 ? left : 0;
}

/* --- poll ------------------------------------------------------------------------ */

struct pollscan {
	struct pollfd *ps_fds;
	unsigned long ps_nfds;
};

static int
poll_scan(void *arg, struct pollwait *pw, int *count)
{
	struct pollscan *ps = arg;
	unsigned long i;

	for (i = 0; i < ps->ps_nfds; i++) {
		struct pollfd *pfd = &ps->ps_fds[i];
		struct file *fp;
		int events, revents;

		pfd->revents = 0;
		if (pfd->fd < 0)
			continue;
		if (fd_get_nopath(pfd->fd, &fp) != 0) {
			pfd->revents = POLLNVAL;
			(*count)++;
			continue;
		}
		events = (unsigned short)pfd->events | POLLERR | POLLHUP;
		revents = poll_file(fp, events, pw) & events;
		file_rele(fp);
		pfd->revents = (short)revents;
		if (revents != 0)
			(*count)++;
	}
	return 0;
}

static long
do_poll(struct pollfd *ufds, unsigned long nfds, bool nowait,
    int64_t deadline)
{
	struct pollscan ps;
	size_t size;
	int error, count = 0;

	if (nfds > FD_LIMIT_DEFAULT)
		return -EINVAL;
	size = nfds * sizeof(struct pollfd);
	ps.ps_nfds = nfds;
	ps.ps_fds = NULL;
	if (nfds > 0) {
		ps.ps_fds = kmem_alloc(size);
		if (ps.ps_fds == NULL)
			return -ENOMEM;
		error = copyin(ufds, ps.ps_fds, size);
		if (error)
			goto out;
	}
	error = poll_loop(poll_scan, &ps, nowait, deadline, &count);
	if (error == 0 && nfds > 0)
		error = copyout(ps.ps_fds, ufds, size);
out:
	if (ps.ps_fds != NULL)
		kmem_free(ps.ps_fds, size);
	return error ? -error : count;
}

long
sys_poll(struct pollfd *fds, unsigned long nfds, int timeout)
{
	int64_t deadline;
	bool nowait;

	ms_deadline(timeout, &nowait, &deadline);
	return do_poll(fds, nfds, nowait, deadline);
}

long
sys_ppoll(struct pollfd *fds, unsigned long nfds,
    const struct timespec *timeout, const sigset_t *sigmask,
    size_t sigsetsize)
{
	struct timespec ts;
	int64_t deadline;
	bool nowait;
	long ret;
	int error;

	if (sigmask != NULL && sigsetsize != sizeof(sigset_t))
		return -EINVAL;
	if (timeout != NULL) {
		error = copyin(timeout, &ts, sizeof(ts));
		if (error)
			return -error;
	}
	error = ts_deadline(timeout != NULL ? &ts : NULL, &nowait, &deadline);
	if (error)
		return -error;
	ret = do_poll(fds, nfds, nowait, deadline);
	/* Linux writes the time left back; a zero timeout stays zero. */
	if (timeout != NULL && !nowait && deadline >= 0) {
		time_ns_to_ts(time_left(deadline), &ts);
		(void)copyout(&ts, (void *)timeout, sizeof(ts));
	}
	return ret;
}

/* --- select --------------------------------------------------------------------- */

#define SEL_IN (POLLRDNORM | POLLRDBAND | POLLIN | POLLHUP | POLLERR)
#define SEL_OUT (POLLWRBAND | POLLWRNORM | POLLOUT | POLLERR)
#define SEL_EX (POLLPRI)
#define NFDBITS (8 * sizeof(unsigned long))

struct selscan {
	int ss_nfds;
	unsigned long *ss_in[3];        /* requested: read, write, except */
	unsigned long *ss_out[3];       /* results */
};

static bool
sel_isset(unsigned long *set, int fd)
{
	return set != NULL && ((set[fd / NFDBITS] >> (fd % NFDBITS)) & 1);
}

static void
sel_set(unsigned long *set, int fd)
{
	set[fd / NFDBITS] |= 1UL << (fd % NFDBITS);
}

static int
select_scan(void *arg, struct pollwait *pw, int *count)
{
	static const int want[3] = { SEL_IN, SEL_OUT, SEL_EX };
	struct selscan *ss = arg;
	size_t words = howmany(ss->ss_nfds, NFDBITS);
	int fd, i;

	for (i = 0; i < 3; i++)
		if (ss->ss_out[i] != NULL)
			memset(ss->ss_out[i], 0, words * sizeof(unsigned long));
	for (fd = 0; fd < ss->ss_nfds; fd++) {
		struct file *fp;
		int events = 0, revents;

		for (i = 0; i < 3; i++)
			if (sel_isset(ss->ss_in[i], fd))
				events |= want[i];
		if (events == 0)
			continue;
		if (fd_get_nopath(fd, &fp) != 0)
			return EBADF;
		revents = poll_file(fp, events, pw);
		file_rele(fp);
		for (i = 0; i < 3; i++) {
			if (sel_isset(ss->ss_in[i], fd) && (revents & want[i])) {
				sel_set(ss->ss_out[i], fd);
				(*count)++;
			}
		}
	}
	return 0;
}

/*
 * Linux clamps nfds to the size of the descriptor table rather than
 * refusing it; here the table can never hold more than FD_LIMIT_DEFAULT,
 * so that is the clamp.
 */
static long
do_select(int nfds, fd_set *rfds, fd_set *wfds, fd_set *efds, bool nowait,
    int64_t deadline)
{
	fd_set *usets[3] = { rfds, wfds, efds };
	struct selscan ss;
	unsigned long *buf;
	size_t bytes, bufsize;
	int error = 0, count = 0, i;

	if (nfds < 0)
		return -EINVAL;
	ss.ss_nfds = MIN(nfds, FD_LIMIT_DEFAULT);
	bytes = howmany(ss.ss_nfds, NFDBITS) * sizeof(unsigned long);
	bufsize = MAX(bytes * 6, 16);
	buf = kmem_zalloc(bufsize);
	if (buf == NULL)
		return -ENOMEM;
	for (i = 0; i < 3; i++) {
		ss.ss_in[i] = ss.ss_out[i] = NULL;
		if (usets[i] == NULL || bytes == 0)
			continue;
		ss.ss_in[i] = (unsigned long *)((char *)buf + bytes * 2 * i);
		ss.ss_out[i] = (unsigned long *)((char *)buf + bytes * (2 * i + 1));
		error = copyin(usets[i], ss.ss_in[i], bytes);
		if (error)
			goto out;
	}
	error = poll_loop(select_scan, &ss, nowait, deadline, &count);
	for (i = 0; i < 3 && error == 0; i++)
		if (ss.ss_out[i] != NULL)
			error = copyout(ss.ss_out[i], usets[i], bytes);
out:
	kmem_free(buf, bufsize);
	return error ? -error : count;
}

long
sys_select(int nfds, fd_set *rfds, fd_set *wfds, fd_set *efds,
    struct timeval *timeout)
{
	struct timeval tv;
	struct timespec ts;
	int64_t deadline;
	bool nowait;
	long ret;
	int error;

	if (timeout != NULL) {
		error = copyin(timeout, &tv, sizeof(tv));
		if (error)
			return -error;
		if (tv.tv_sec < 0 || tv.tv_usec < 0)
			return -EINVAL;
		ts.tv_sec = tv.tv_sec + tv.tv_usec / 1000000;
		ts.tv_nsec = (tv.tv_usec % 1000000) * 1000;
	}
	error = ts_deadline(timeout != NULL ? &ts : NULL, &nowait, &deadline);
	if (error)
		return -error;
	ret = do_select(nfds, rfds, wfds, efds, nowait, deadline);
	if (timeout != NULL && !nowait && deadline >= 0) {
		int64_t left = time_left(deadline);

		tv.tv_sec = left / NS_PER_SEC;
		tv.tv_usec = (left % NS_PER_SEC) / 1000;
		(void)copyout(&tv, timeout, sizeof(tv));
	}
	return ret;
}

/* pselect6's sixth argument: a pointer to { const sigset_t *, size_t }. */
struct sigset_argpack {
	const sigset_t *sa_set;
	size_t sa_size;
};

long
sys_pselect6(int nfds, fd_set *rfds, fd_set *wfds, fd_set *efds,
    struct timespec *timeout, void *sigmask)
{
	struct sigset_argpack sa;
	struct timespec ts;
	int64_t deadline;
	bool nowait;
	long ret;
	int error;

	if (sigmask != NULL) {
		error = copyin(sigmask, &sa, sizeof(sa));
		if (error)
			return -error;
		if (sa.sa_set != NULL && sa.sa_size != sizeof(sigset_t))
			return -EINVAL;
	}
	if (timeout != NULL) {
		error = copyin(timeout, &ts, sizeof(ts));
		if (error)
			return -error;
	}
	error = ts_deadline(timeout != NULL ? &ts : NULL, &nowait, &deadline);
	if (error)
		return -error;
	ret = do_select(nfds, rfds, wfds, efds, nowait, deadline);
	if (timeout != NULL && !nowait && deadline >= 0) {
		time_ns_to_ts(time_left(deadline), &ts);
		(void)copyout(&ts, timeout, sizeof(ts));
	}
	return ret;
}
