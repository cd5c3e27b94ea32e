/*
 * pithd's clients: one host thread per connection.
 *
 * The thread makes the handshake, then becomes a fresh process of the
 * kernel (pith_proc_create + pith_proc_switch: a child of pid 1 with no
 * descriptors) carrying the peer's credentials from SO_PEERCRED and
 * SO_PEERGROUPS -- never what the client says -- and serves one request
 * at a time: decode (lib/pithclient/proto.c), call, reply.  The shared
 * area is a memfd this thread creates, seals against resizing (so the
 * client cannot make the server fault by shrinking it) and maps with a
 * zero page after it.
 *
 * Ending: when the peer closes, recv sees it and the thread releases the
 * process.  A peer that dies while its thread is inside a call cannot be
 * seen by that thread, so the main loop watches every socket for a hang-up
 * and releases the process itself (conn_hangup): its descriptors close,
 * which wakes a call waiting on a pipe the client held the other end of.
 * c_released makes sure only one of them releases it.
 *
 * fork and exec (docs/protocol.md): a process can wait in the server
 * under a token, 16 bytes from the host's getrandom, until a new
 * connection claims it in its hello.  PROTO_OP_FORK makes a copy of the
 * caller's process (pith_proc_create with PITH_PROC_COPYFDS: descriptors
 * sharing the open files, cwd, umask, credentials) for the child to claim;
 * the copy is released if the maker's connection ends first.
 * PROTO_OP_PARK keeps the caller's own process alive past the end of its
 * connection (the execve closes the socket) for PROTO_PARK_SECONDS, for
 * the new image to claim; a claim with PROTO_HELLO_EXEC closes its
 * close-on-exec descriptors.  A token is claimed once, only by a peer
 * with the uid that made it.
 *
 * Transport: requests arrive on the socket, or (PROTO_HELLO_RING, what
 * libpithclient asks for) in a one-page ring shared with the client: the
 * thread spins briefly on its state word after each reply, then sleeps
 * on it as a futex, so a client that calls in a loop never waits for a
 * system call to wake the server.  Ending a ring connection (hang-up,
 * kill, shutdown) marks the ring DEAD and wakes the thread (conn_kick).
 *
 * Locking: conn_lock guards the registry, each conn's c_kpid, c_released,
 * c_park and c_ntokens, and the token list; the rest of a conn belongs to
 * its thread.  The thread frees its conn after taking it off the
 * registry.  Kernel processes are released outside the lock.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <linux/futex.h>

#include <pith/pith.h>
#include "pithclient/proto.h"
#include "pithd.h"

/* Fork copies one connection may have waiting at once. */
#define CONN_MAXTOKENS	16
/* Descriptor numbers the kernel hands out (its RLIMIT_NOFILE). */
#define CONN_MAXFD	1024

/* A kernel process waiting to be claimed. */
struct ptoken {
	struct ptoken *t_next;		/* [conn_lock] */
	unsigned char t_tok[PROTO_TOKENLEN];
	pid_t t_kpid;
	uid_t t_uid;			/* who may claim it */
	struct conn *t_owner;		/* [conn_lock] the maker, NULL if gone */
	int t_park;			/* the maker's own process (exec) */
	struct timespec t_deadline;	/* [conn_lock] orphaned park tokens */
};

static pthread_mutex_t conn_lock = PTHREAD_MUTEX_INITIALIZER;
static struct ptoken *token_list;	/* [conn_lock] */
static pthread_cond_t conn_gone = PTHREAD_COND_INITIALIZER;
static struct conn *conn_list;		/* [conn_lock] */
static unsigned conn_n;			/* [conn_lock] */
static uint64_t conn_nextid = 1;	/* [conn_lock] */

unsigned
conn_count(void)
{
	unsigned n;

	pthread_mutex_lock(&conn_lock);
	n = conn_n;
	pthread_mutex_unlock(&conn_lock);
	return n;
}

#define CONN_MAXTAKE	(CONN_MAXTOKENS + 1)

/*
 * c is ending: collect in pids[] (room for CONN_MAXTAKE) what to release
 * -- its process unless someone already has or it is parked for an exec
 * (then the token keeps it PROTO_PARK_SECONDS more), and the fork copies
 * nobody claimed.  conn_lock held; the caller releases them after
 * dropping it.  Returns how many.
 */
static int
conn_take(struct conn *c, pid_t *pids)
{
	struct ptoken **tp, *t;
	int n = 0;

	if (!c->c_released) {
		c->c_released = 1;
		if (c->c_park != NULL) {
			c->c_park->t_owner = NULL;
			clock_gettime(CLOCK_MONOTONIC, &c->c_park->t_deadline);
			c->c_park->t_deadline.tv_sec += PROTO_PARK_SECONDS;
			c->c_park = NULL;
		} else if (c->c_kpid > 0)
			pids[n++] = c->c_kpid;
	}
	for (tp = &token_list; (t = *tp) != NULL;) {
		if (t->t_owner == c && !t->t_park && n < CONN_MAXTAKE) {
			*tp = t->t_next;
			pids[n++] = t->t_kpid;
			c->c_ntokens--;
			free(t);
			continue;
		}
		tp = &t->t_next;
	}
	return n;
}

static long
conn_futex(uint32_t *addr, int op, uint32_t val, const struct timespec *ts)
{
	return syscall(SYS_futex, addr, op, val, ts, NULL, 0);
}

/* Make c's thread leave: DEAD in the ring, and a wake-up.  conn_lock held
 * (the ring is unmapped only after the conn leaves the registry). */
static void
conn_kick(struct conn *c)
{
	__atomic_store_n(&c->c_dead, 1, __ATOMIC_SEQ_CST);
	if (c->c_ring != NULL) {
		__atomic_store_n(&c->c_ring->rg_state, PROTO_RING_DEAD,
		    __ATOMIC_SEQ_CST);
		conn_futex(&c->c_ring->rg_state, FUTEX_WAKE, INT32_MAX, NULL);
	}
}

static void
conn_release(const pid_t *pids, int n)
{
	for (int i = 0; i < n; i++)
		pith_proc_release(pids[i]);
}

void
conn_hangup(uint64_t id)
{
	pid_t pids[CONN_MAXTAKE];
	struct conn *c;
	int n = 0;

	pthread_mutex_lock(&conn_lock);
	for (c = conn_list; c != NULL; c = c->c_next)
		if (c->c_id == id)
			break;
	if (c != NULL) {
		/* Level-triggered: stop hearing about it.  The fd is open:
		 * the thread closes it only after leaving the list. */
		epoll_ctl(pithd_epfd, EPOLL_CTL_DEL, c->c_fd, NULL);
		n = conn_take(c, pids);
		conn_kick(c);
	}
	pthread_mutex_unlock(&conn_lock);
	conn_release(pids, n);
}

unsigned
conn_reap_tokens(void)
{
	struct ptoken **tp, *t, *dead = NULL;
	struct timespec now;
	unsigned left = 0;

	clock_gettime(CLOCK_MONOTONIC, &now);
	pthread_mutex_lock(&conn_lock);
	for (tp = &token_list; (t = *tp) != NULL;) {
		if (t->t_owner == NULL && (now.tv_sec > t->t_deadline.tv_sec ||
		    (now.tv_sec == t->t_deadline.tv_sec &&
		    now.tv_nsec >= t->t_deadline.tv_nsec))) {
			*tp = t->t_next;
			t->t_next = dead;
			dead = t;
			continue;
		}
		left++;
		tp = &t->t_next;
	}
	pthread_mutex_unlock(&conn_lock);
	while ((t = dead) != NULL) {
		dead = t->t_next;
		pithd_log("pithd: parked process %d not claimed in %d s: "
		    "released\n", (int)t->t_kpid, PROTO_PARK_SECONDS);
		pith_proc_release(t->t_kpid);
		free(t);
	}
	return left;
}

/* Shutdown: every waiting process goes. */
static void
token_release_all(void)
{
	struct ptoken *t;

	pthread_mutex_lock(&conn_lock);
	while ((t = token_list) != NULL) {
		token_list = t->t_next;
		if (t->t_owner != NULL) {
			if (t->t_park)
				t->t_owner->c_park = NULL;
			else
				t->t_owner->c_ntokens--;
		}
		pthread_mutex_unlock(&conn_lock);
		/* A parked process of a live connection is released with it. */
		if (!t->t_park || t->t_owner == NULL)
			pith_proc_release(t->t_kpid);
		free(t);
		pthread_mutex_lock(&conn_lock);
	}
	pthread_mutex_unlock(&conn_lock);
}

int
conn_shutdown_all(int ms)
{
	struct timespec ts;
	struct conn *c;
	pid_t pids[CONN_MAXTAKE];
	int n, left;

	token_release_all();
	for (;;) {
		n = 0;
		pthread_mutex_lock(&conn_lock);
		for (c = conn_list; c != NULL; c = c->c_next) {
			shutdown(c->c_fd, SHUT_RDWR);
			conn_kick(c);
			if (!c->c_released) {
				n = conn_take(c, pids);
				break;
			}
		}
		pthread_mutex_unlock(&conn_lock);
		if (c == NULL)
			break;
		conn_release(pids, n);
	}
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += ms / 1000;
	ts.tv_nsec += (long)(ms % 1000) * 1000000;
	if (ts.tv_nsec >= 1000000000) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000;
	}
	pthread_mutex_lock(&conn_lock);
	while (conn_n > 0)
		if (pthread_cond_timedwait(&conn_gone, &conn_lock, &ts) != 0)
			break;
	left = (int)conn_n;
	pthread_mutex_unlock(&conn_lock);
	return left;
}

/* recvmsg that closes any descriptors a client sends (none are expected).
 * Returns the byte count, 0 at end, -1 on error; *bad if fds or
 * truncation came along. */
static ssize_t
conn_recv(int fd, void *buf, size_t len, int *bad)
{
	char cbuf[CMSG_SPACE(16 * sizeof(int))];
	struct iovec iov = { buf, len };
	struct msghdr mh = { 0 };
	struct cmsghdr *cm;
	ssize_t n;
	int nfd, fds[16];

	*bad = 0;
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	mh.msg_control = cbuf;
	mh.msg_controllen = sizeof(cbuf);
	do
		n = recvmsg(fd, &mh, MSG_CMSG_CLOEXEC);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -1;
	for (cm = CMSG_FIRSTHDR(&mh); cm != NULL; cm = CMSG_NXTHDR(&mh, cm)) {
		*bad = 1;
		if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS)
			continue;
		nfd = (int)((cm->cmsg_len - CMSG_LEN(0)) / sizeof(int));
		if (nfd > 16)
			nfd = 16;
		memcpy(fds, CMSG_DATA(cm), (size_t)nfd * sizeof(int));
		for (int i = 0; i < nfd; i++)
			close(fds[i]);
	}
	if (mh.msg_flags & (MSG_TRUNC | MSG_CTRUNC))
		*bad = 1;
	return n;
}

static void
conn_refuse(struct conn *c, int error, uint32_t version, const char *why)
{
	struct proto_welcome w;

	memset(&w, 0, sizeof(w));
	w.pw_magic = PROTO_MAGIC;
	w.pw_version = PROTO_VERSION;
	w.pw_error = error;
	snprintf(w.pw_msg, sizeof(w.pw_msg), "%s", why);
	send(c->c_fd, &w, sizeof(w), MSG_NOSIGNAL);
	pithd_log("pithd: refused client pid %d uid %u (protocol version %u): "
	    "%s\n", (int)c->c_peerpid, (unsigned)c->c_uid, version, why);
}

/* The area: sealed memfd, mapped with a read-only zero page after it. */
static int
conn_area(struct conn *c)
{
	size_t size = PROTO_AREASIZE;
	long pg = sysconf(_SC_PAGESIZE);
	void *base, *p;

	c->c_memfd = memfd_create("pithd-area", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (c->c_memfd < 0)
		return errno;
	if (ftruncate(c->c_memfd, (off_t)size) < 0 ||
	    fcntl(c->c_memfd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW |
	    F_SEAL_SEAL) < 0)
		return errno;
	base = mmap(NULL, size + (size_t)pg, PROT_READ,
	    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (base == MAP_FAILED)
		return errno;
	p = mmap(base, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED,
	    c->c_memfd, 0);
	if (p == MAP_FAILED) {
		munmap(base, size + (size_t)pg);
		return errno;
	}
	c->c_area = base;
	c->c_areasize = size;
	return 0;
}

/* The ring: one sealed page, shared. */
static int
conn_ringmap(struct conn *c)
{
	void *p;

	c->c_ringfd = memfd_create("pithd-ring", MFD_CLOEXEC |
	    MFD_ALLOW_SEALING);
	if (c->c_ringfd < 0)
		return errno;
	if (ftruncate(c->c_ringfd, PROTO_RINGSIZE) < 0 ||
	    fcntl(c->c_ringfd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW |
	    F_SEAL_SEAL) < 0)
		return errno;
	p = mmap(NULL, PROTO_RINGSIZE, PROT_READ | PROT_WRITE, MAP_SHARED,
	    c->c_ringfd, 0);
	if (p == MAP_FAILED)
		return errno;
	pthread_mutex_lock(&conn_lock);
	c->c_ring = p;
	if (c->c_dead)		/* ended while we set up */
		conn_kick(c);
	pthread_mutex_unlock(&conn_lock);
	return 0;
}

/* The peer's credentials, as the kernel of this thread's process. */
static int
conn_creds(struct conn *c)
{
	gid_t groups[256];
	socklen_t len = sizeof(groups);
	long r;
	int n = 0;

	if (getsockopt(c->c_fd, SOL_SOCKET, SO_PEERGROUPS, groups, &len) == 0)
		n = (int)(len / sizeof(gid_t));
	r = pith_syscall6(SYS_setgroups, n, (long)groups, 0, 0, 0, 0);
	if (r == 0)
		r = pith_syscall6(SYS_setresgid, c->c_gid, c->c_gid, c->c_gid,
		    0, 0, 0);
	if (r == 0)
		r = pith_syscall6(SYS_setresuid, c->c_uid, c->c_uid, c->c_uid,
		    0, 0, 0);
	return r < 0 ? (int)-r : 0;
}

static int
conn_welcome(struct conn *c)
{
	char cbuf[CMSG_SPACE(2 * sizeof(int))];
	struct proto_welcome w;
	struct iovec iov = { &w, sizeof(w) };
	struct msghdr mh = { 0 };
	struct cmsghdr *cm;
	int fds[2] = { c->c_memfd, c->c_ringfd }, nfd = c->c_ring ? 2 : 1;

	memset(&w, 0, sizeof(w));
	memset(cbuf, 0, sizeof(cbuf));
	w.pw_magic = PROTO_MAGIC;
	w.pw_version = PROTO_VERSION;
	w.pw_pid = c->c_kpid;
	w.pw_areasize = c->c_areasize;
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	mh.msg_control = cbuf;
	mh.msg_controllen = CMSG_SPACE((size_t)nfd * sizeof(int));
	cm = CMSG_FIRSTHDR(&mh);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN((size_t)nfd * sizeof(int));
	memcpy(CMSG_DATA(cm), fds, (size_t)nfd * sizeof(int));
	if (sendmsg(c->c_fd, &mh, MSG_NOSIGNAL) != sizeof(w))
		return errno ? errno : EPIPE;
	return 0;
}

/* Tokens are compared in constant time: a guess learns nothing. */
static int
token_equal(const unsigned char *a, const unsigned char *b)
{
	unsigned char d = 0;

	for (int i = 0; i < PROTO_TOKENLEN; i++)
		d |= a[i] ^ b[i];
	return d == 0;
}

/* A new token for process kpid, made by c; 0 or an errno. */
static int
token_new(struct conn *c, pid_t kpid, int park, struct ptoken **tp)
{
	struct ptoken *t = calloc(1, sizeof(*t));
	size_t got = 0;
	ssize_t n;

	if (t == NULL)
		return ENOMEM;
	while (got < sizeof(t->t_tok)) {
		n = getrandom(t->t_tok + got, sizeof(t->t_tok) - got, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			free(t);
			return EIO;
		}
		got += (size_t)n;
	}
	t->t_kpid = kpid;
	t->t_uid = c->c_uid;
	t->t_owner = c;
	t->t_park = park;
	pthread_mutex_lock(&conn_lock);
	t->t_next = token_list;
	token_list = t;
	if (park)
		c->c_park = t;
	else
		c->c_ntokens++;
	pthread_mutex_unlock(&conn_lock);
	*tp = t;
	return 0;
}

/*
 * c claims the process behind tok.  A parked process whose maker is still
 * connected (its exec closed the socket, but we have not seen it yet, or
 * someone else is claiming) is taken from it: that connection is shut.
 */
static int
token_claim(struct conn *c, const unsigned char *tok)
{
	struct ptoken **tp, *t;
	struct conn *o;

	pthread_mutex_lock(&conn_lock);
	for (tp = &token_list; (t = *tp) != NULL; tp = &t->t_next)
		if (token_equal(t->t_tok, tok))
			break;
	if (t == NULL || t->t_uid != c->c_uid) {
		pthread_mutex_unlock(&conn_lock);
		return t == NULL ? ESRCH : EPERM;
	}
	*tp = t->t_next;
	if ((o = t->t_owner) != NULL) {
		if (t->t_park) {
			o->c_park = NULL;
			o->c_kpid = 0;
			o->c_released = 1;
			shutdown(o->c_fd, SHUT_RDWR);
			conn_kick(o);
		} else
			o->c_ntokens--;
	}
	c->c_kpid = t->t_kpid;
	pthread_mutex_unlock(&conn_lock);
	free(t);
	return 0;
}

/* A new image: close the descriptors marked close-on-exec. */
static void
conn_closeexec(void)
{
	long fl;

	for (int fd = 0; fd < CONN_MAXFD; fd++) {
		fl = pith_syscall6(SYS_fcntl, fd, F_GETFD, 0, 0, 0, 0);
		if (fl > 0 && (fl & FD_CLOEXEC))
			pith_syscall6(SYS_close, fd, 0, 0, 0, 0, 0);
	}
}

/* The process for a new connection: a fresh one, or a claimed one. */
static int
conn_process(struct conn *c, const struct proto_hello *h)
{
	pid_t pid;
	int error;

	if (h->ph_flags & PROTO_HELLO_CLAIM) {
		error = token_claim(c, h->ph_token);
		if (error)
			return error;
		if (pith_proc_switch(c->c_kpid) < 0)
			return errno;
		/* The process keeps the credentials it had (fork, exec). */
		if (h->ph_flags & PROTO_HELLO_EXEC)
			conn_closeexec();
		return 0;
	}
	pid = pith_proc_create(0);
	if (pid < 0)
		return errno;
	pthread_mutex_lock(&conn_lock);
	c->c_kpid = pid;
	pthread_mutex_unlock(&conn_lock);
	if (pith_proc_switch(pid) < 0)
		return errno;
	return conn_creds(c);
}

/* Read the hello, set up the process and the area, say welcome. */
static int
conn_handshake(struct conn *c)
{
	struct timeval tv = { 10, 0 };
	union {
		struct proto_hello h;
		char raw[sizeof(struct proto_hello) + 16];
	} m;
	char why[112];
	ssize_t n;
	int bad, error;

	/* A peer that never speaks does not keep a thread forever. */
	setsockopt(c->c_fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	n = conn_recv(c->c_fd, &m, sizeof(m), &bad);
	/* Magic and version first: another version's hello may be shorter. */
	if (n < 8 || bad || m.h.ph_magic != PROTO_MAGIC) {
		if (n > 0)
			conn_refuse(c, EPROTO, 0, "malformed hello");
		return EPROTO;
	}
	if (m.h.ph_version != PROTO_VERSION) {
		snprintf(why, sizeof(why), "protocol version %u is not the "
		    "server's %u", m.h.ph_version, PROTO_VERSION);
		conn_refuse(c, EPROTONOSUPPORT, m.h.ph_version, why);
		return EPROTONOSUPPORT;
	}
	if (n != sizeof(m.h) || m.h.ph_reserved != 0 || (m.h.ph_flags &
	    ~(PROTO_HELLO_CLAIM | PROTO_HELLO_EXEC | PROTO_HELLO_RING)) != 0) {
		conn_refuse(c, EPROTO, m.h.ph_version, "malformed hello");
		return EPROTO;
	}
	tv.tv_sec = 0;
	setsockopt(c->c_fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	error = conn_process(c, &m.h);
	if (error == 0)
		error = conn_area(c);
	if (error == 0 && (m.h.ph_flags & PROTO_HELLO_RING))
		error = conn_ringmap(c);
	if (error) {
		conn_refuse(c, error, m.h.ph_version, error == ESRCH ?
		    "no process waits under that token" : strerror(error));
		return error;
	}
	return conn_welcome(c);
}

/* Where a token goes or comes from: 16 bytes of the area, or NULL. */
static unsigned char *
conn_tokslot(struct conn *c, uint64_t off)
{
	if (off > c->c_areasize || c->c_areasize - off < PROTO_TOKENLEN)
		return NULL;
	return (unsigned char *)c->c_area + off;
}

static long
op_fork(struct conn *c, const struct proto_req *q)
{
	unsigned char *slot = conn_tokslot(c, q->pq_arg[0]);
	struct ptoken *t;
	pid_t pid;
	int error;

	if (slot == NULL)
		return -EFAULT;
	if (c->c_ntokens >= CONN_MAXTOKENS)	/* only our thread adds */
		return -EAGAIN;
	pid = pith_proc_create(PITH_PROC_COPYFDS);
	if (pid < 0)
		return -errno;
	error = token_new(c, pid, 0, &t);
	if (error) {
		pith_proc_release(pid);
		return -error;
	}
	memcpy(slot, t->t_tok, PROTO_TOKENLEN);
	return pid;
}

static long
op_park(struct conn *c, const struct proto_req *q)
{
	unsigned char *slot = conn_tokslot(c, q->pq_arg[0]);
	struct ptoken *t;
	int error;

	if (slot == NULL)
		return -EFAULT;
	if (c->c_park != NULL)		/* only our thread sets it */
		return -EBUSY;
	error = token_new(c, c->c_kpid, 1, &t);
	if (error)
		return -error;
	memcpy(slot, t->t_tok, PROTO_TOKENLEN);
	return 0;
}

static long
op_cancel(struct conn *c, const struct proto_req *q)
{
	unsigned char *slot = conn_tokslot(c, q->pq_arg[0]);
	unsigned char tok[PROTO_TOKENLEN];
	struct ptoken **tp, *t;
	pid_t pid = 0;

	if (slot == NULL)
		return -EFAULT;
	memcpy(tok, slot, sizeof(tok));
	pthread_mutex_lock(&conn_lock);
	for (tp = &token_list; (t = *tp) != NULL; tp = &t->t_next)
		if (t->t_owner == c && token_equal(t->t_tok, tok))
			break;
	if (t != NULL) {
		*tp = t->t_next;
		if (t->t_park)
			c->c_park = NULL;
		else {
			c->c_ntokens--;
			pid = t->t_kpid;
		}
	}
	pthread_mutex_unlock(&conn_lock);
	if (t == NULL)
		return -ESRCH;
	free(t);
	if (pid > 0)
		pith_proc_release(pid);
	return 0;
}

/* What ps says of kernel process kpid: its cwd and descriptors, read by
 * running as it for a moment. */
static void
op_ps_look(struct conn *c, struct proto_ps *e)
{
	char path[64];
	long r;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/comm", (int)e->pp_peerpid);
	if ((f = fopen(path, "r")) != NULL) {
		if (fgets(e->pp_comm, sizeof(e->pp_comm), f) != NULL)
			e->pp_comm[strcspn(e->pp_comm, "\n")] = '\0';
		fclose(f);
	}
	if (pith_proc_switch(e->pp_kpid) < 0)
		goto out;
	r = pith_syscall6(SYS_getcwd, (long)e->pp_cwd, sizeof(e->pp_cwd), 0,
	    0, 0, 0);
	if (r < 0)
		e->pp_cwd[0] = '\0';
	for (int fd = 0; fd < CONN_MAXFD; fd++)
		if (pith_syscall6(SYS_fcntl, fd, F_GETFD, 0, 0, 0, 0) >= 0)
			e->pp_nfds++;
out:
	if (pith_proc_switch(c->c_kpid) < 0)
		pith_proc_switch(1);
}

static long
op_ps(struct conn *c, const struct proto_req *q)
{
	uint64_t off = q->pq_arg[0], room = q->pq_arg[1];
	struct proto_ps *e, *v = NULL;
	struct conn *o;
	size_t n = 0, cap = 0, i;

	if (off > c->c_areasize || room > c->c_areasize - off)
		return -EFAULT;
	pthread_mutex_lock(&conn_lock);
	for (o = conn_list; o != NULL; o = o->c_next) {
		if (o->c_released || o->c_kpid <= 0)
			continue;
		if (n == cap) {
			cap = cap ? 2 * cap : 64;
			e = realloc(v, cap * sizeof(*v));
			if (e == NULL) {
				pthread_mutex_unlock(&conn_lock);
				free(v);
				return -ENOMEM;
			}
			v = e;
		}
		memset(&v[n], 0, sizeof(v[n]));
		v[n].pp_kpid = o->c_kpid;
		v[n].pp_peerpid = o->c_peerpid;
		v[n].pp_uid = o->c_uid;
		n++;
	}
	pthread_mutex_unlock(&conn_lock);
	for (i = 0; i < n && (i + 1) * sizeof(*v) <= room; i++) {
		op_ps_look(c, &v[i]);
		memcpy(c->c_area + off + i * sizeof(*v), &v[i], sizeof(*v));
	}
	free(v);
	return (long)n;
}

static long
op_kill(struct conn *c, const struct proto_req *q)
{
	pid_t pids[CONN_MAXTAKE];
	struct conn *o;
	int n = 0;

	pthread_mutex_lock(&conn_lock);
	for (o = conn_list; o != NULL; o = o->c_next)
		if (!o->c_released && o->c_kpid > 0 &&
		    (uint64_t)o->c_kpid == q->pq_arg[0])
			break;
	if (o != NULL) {
		shutdown(o->c_fd, SHUT_RDWR);
		if (o->c_park != NULL) {	/* no waiting on: it is killed */
			o->c_park->t_owner = NULL;
			o->c_park->t_deadline.tv_sec = 0;
			o->c_park = NULL;
		}
		n = conn_take(o, pids);
		conn_kick(o);
	}
	pthread_mutex_unlock(&conn_lock);
	if (o == NULL)
		return -ESRCH;
	pithd_log("pithd: client pid %d (uid %u) ends kernel process %d\n",
	    (int)c->c_peerpid, (unsigned)c->c_uid, (int)q->pq_arg[0]);
	conn_release(pids, n);
	return 0;
}

/*
 * An operation other than a system call: the result for the reply, or
 * PROTO_BADMSG for an unknown one.
 */
static long
conn_op(struct conn *c, const struct proto_req *q)
{
	switch (q->pq_op) {
	case PROTO_OP_FORK:
		return op_fork(c, q);
	case PROTO_OP_PARK:
		return op_park(c, q);
	case PROTO_OP_CANCEL:
		return op_cancel(c, q);
	case PROTO_OP_PS:
	case PROTO_OP_KILL:
	case PROTO_OP_STOP:
		if (!c->c_admin)
			return -EPERM;
		if (q->pq_op == PROTO_OP_PS)
			return op_ps(c, q);
		if (q->pq_op == PROTO_OP_KILL)
			return op_kill(c, q);
		pithd_log("pithd: client pid %d (uid %u) asks the server to "
		    "stop\n", (int)c->c_peerpid, (unsigned)c->c_uid);
		kill(getpid(), SIGTERM);
		return 0;
	}
	return PROTO_BADMSG;
}

/* One request, already in private memory: the reply's value, or
 * PROTO_BADMSG to close.  n is the message's length. */
static long
conn_handle(struct conn *c, const void *msg, size_t n, int bad)
{
	const struct proto_req *q = msg;
	unsigned long nr;
	void *scratch = NULL;
	long a[6], r;

	if (!bad && n == sizeof(*q) && q->pq_op != PROTO_OP_SYSCALL)
		return conn_op(c, q);
	r = bad ? PROTO_BADMSG : proto_decode(msg, n, c->c_area,
	    c->c_areasize, a, &nr, &scratch);
	if (r == 0)
		r = pith_syscall6((long)nr, a[0], a[1], a[2], a[3], a[4], a[5]);
	free(scratch);
	return r;
}

static void
conn_serve(struct conn *c)
{
	union {
		struct proto_req q;
		char raw[sizeof(struct proto_req) + 64];
	} msg;
	struct proto_rep rep;
	ssize_t n;
	int bad;

	for (;;) {
		n = conn_recv(c->c_fd, &msg, sizeof(msg), &bad);
		if (n <= 0)
			return;
		rep.pr_ret = conn_handle(c, &msg, (size_t)n, bad);
		if (rep.pr_ret == PROTO_BADMSG) {
			pithd_log("pithd: client pid %d: malformed request, "
			    "closing\n", (int)c->c_peerpid);
			return;
		}
		if (send(c->c_fd, &rep, sizeof(rep), MSG_NOSIGNAL) !=
		    sizeof(rep))
			return;
	}
}

/* Polls of the ring's state before sleeping on it (a few tens of us). */
#define CONN_SPIN	2000

/* The ring transport: see struct proto_ring. */
static void
conn_serve_ring(struct conn *c)
{
	struct proto_ring *g = c->c_ring;
	struct proto_req q;
	uint32_t s;
	long r;
	int i;

	for (;;) {
		s = __atomic_load_n(&g->rg_state, __ATOMIC_ACQUIRE);
		for (i = 0; s != PROTO_RING_REQ && i < CONN_SPIN; i++) {
			__builtin_ia32_pause();
			s = __atomic_load_n(&g->rg_state, __ATOMIC_ACQUIRE);
		}
		if (__atomic_load_n(&c->c_dead, __ATOMIC_SEQ_CST))
			return;
		if (s != PROTO_RING_REQ) {
			__atomic_store_n(&g->rg_srvwait, 1, __ATOMIC_SEQ_CST);
			s = __atomic_load_n(&g->rg_state, __ATOMIC_SEQ_CST);
			if (s != PROTO_RING_REQ &&
			    !__atomic_load_n(&c->c_dead, __ATOMIC_SEQ_CST))
				conn_futex(&g->rg_state, FUTEX_WAIT, s, NULL);
			__atomic_store_n(&g->rg_srvwait, 0, __ATOMIC_SEQ_CST);
			continue;
		}
		memcpy(&q, &g->rg_req, sizeof(q));
		r = conn_handle(c, &q, sizeof(q), 0);
		if (r == PROTO_BADMSG) {
			pithd_log("pithd: client pid %d: malformed request, "
			    "closing\n", (int)c->c_peerpid);
			return;
		}
		g->rg_ret = r;
		s = PROTO_RING_REQ;
		if (!__atomic_compare_exchange_n(&g->rg_state, &s,
		    PROTO_RING_REP, 0, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST))
			return;		/* DEAD, or a client scribbling */
		if (__atomic_load_n(&g->rg_cliwait, __ATOMIC_SEQ_CST))
			conn_futex(&g->rg_state, FUTEX_WAKE, 1, NULL);
	}
}

static void
conn_end(struct conn *c)
{
	pid_t pids[CONN_MAXTAKE];
	struct conn **pp;
	int n;

	pith_proc_switch(1);
	pthread_mutex_lock(&conn_lock);
	n = conn_take(c, pids);
	pthread_mutex_unlock(&conn_lock);
	conn_release(pids, n);
	pthread_mutex_lock(&conn_lock);
	for (pp = &conn_list; *pp != NULL; pp = &(*pp)->c_next)
		if (*pp == c) {
			*pp = c->c_next;
			break;
		}
	conn_n--;
	pthread_cond_broadcast(&conn_gone);
	pthread_mutex_unlock(&conn_lock);
	if (c->c_area != NULL)
		munmap(c->c_area, c->c_areasize + (size_t)sysconf(_SC_PAGESIZE));
	if (c->c_memfd >= 0)
		close(c->c_memfd);
	if (c->c_ring != NULL)
		munmap(c->c_ring, PROTO_RINGSIZE);
	if (c->c_ringfd >= 0)
		close(c->c_ringfd);
	close(c->c_fd);
	free(c);
}

static void *
conn_thread(void *arg)
{
	struct conn *c = arg;

	if (conn_handshake(c) == 0) {
		if (c->c_ring != NULL)
			conn_serve_ring(c);
		else
			conn_serve(c);
	}
	conn_end(c);
	return NULL;
}

void
conn_start(int fd)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);
	struct epoll_event ev;
	pthread_attr_t attr;
	pthread_t t;
	struct conn *c;

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0 ||
	    (c = calloc(1, sizeof(*c))) == NULL) {
		close(fd);
		return;
	}
	c->c_fd = fd;
	c->c_memfd = -1;
	c->c_ringfd = -1;
	c->c_peerpid = cred.pid;
	c->c_uid = cred.uid;
	c->c_gid = cred.gid;
	c->c_admin = cred.uid == 0 || cred.uid == getuid();
	pthread_mutex_lock(&conn_lock);
	c->c_id = conn_nextid++;
	c->c_next = conn_list;
	conn_list = c;
	conn_n++;
	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLRDHUP;
	ev.data.u64 = c->c_id;
	epoll_ctl(pithd_epfd, EPOLL_CTL_ADD, fd, &ev);
	pthread_mutex_unlock(&conn_lock);

	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	pthread_attr_setstacksize(&attr, 1024 * 1024);
	if (pthread_create(&t, &attr, conn_thread, c) != 0) {
		pithd_log("pithd: no thread for a client: dropping it\n");
		conn_end(c);
	}
	pthread_attr_destroy(&attr);
}
