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
 * Locking: conn_lock guards the registry and each conn's c_kpid and
 * c_released; the rest of a conn belongs to its thread.  The thread frees
 * its conn after taking it off the registry.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>

#include <pith/pith.h>
#include "pithclient/proto.h"
#include "pithd.h"

static pthread_mutex_t conn_lock = PTHREAD_MUTEX_INITIALIZER;
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

/* Release c's kernel process unless someone already has.  conn_lock held. */
static pid_t
conn_take_kpid(struct conn *c)
{
	pid_t pid = 0;

	if (!c->c_released && c->c_kpid > 0)
		pid = c->c_kpid;
	c->c_released = 1;
	return pid;
}

void
conn_hangup(uint64_t id)
{
	struct conn *c;
	pid_t pid = 0;

	pthread_mutex_lock(&conn_lock);
	for (c = conn_list; c != NULL; c = c->c_next)
		if (c->c_id == id)
			break;
	if (c != NULL) {
		/* Level-triggered: stop hearing about it.  The fd is open:
		 * the thread closes it only after leaving the list. */
		epoll_ctl(pithd_epfd, EPOLL_CTL_DEL, c->c_fd, NULL);
		pid = conn_take_kpid(c);
	}
	pthread_mutex_unlock(&conn_lock);
	if (pid > 0)
		pith_proc_release(pid);
}

int
conn_shutdown_all(int ms)
{
	struct timespec ts;
	struct conn *c;
	pid_t pids[64];
	int n, left;

	for (;;) {
		n = 0;
		pthread_mutex_lock(&conn_lock);
		for (c = conn_list; c != NULL && n < 64; c = c->c_next) {
			shutdown(c->c_fd, SHUT_RDWR);
			if (!c->c_released && c->c_kpid > 0)
				pids[n++] = conn_take_kpid(c);
		}
		pthread_mutex_unlock(&conn_lock);
		for (int i = 0; i < n; i++)
			pith_proc_release(pids[i]);
		if (n < 64)
			break;
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
	char cbuf[CMSG_SPACE(sizeof(int))];
	struct proto_welcome w;
	struct iovec iov = { &w, sizeof(w) };
	struct msghdr mh = { 0 };
	struct cmsghdr *cm;

	memset(&w, 0, sizeof(w));
	memset(cbuf, 0, sizeof(cbuf));
	w.pw_magic = PROTO_MAGIC;
	w.pw_version = PROTO_VERSION;
	w.pw_pid = c->c_kpid;
	w.pw_areasize = c->c_areasize;
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	mh.msg_control = cbuf;
	mh.msg_controllen = sizeof(cbuf);
	cm = CMSG_FIRSTHDR(&mh);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &c->c_memfd, sizeof(int));
	if (sendmsg(c->c_fd, &mh, MSG_NOSIGNAL) != sizeof(w))
		return errno ? errno : EPIPE;
	return 0;
}

/* Read the hello, set up the process and the area, say welcome. */
static int
conn_handshake(struct conn *c)
{
	struct timeval tv = { 10, 0 };
	struct proto_hello h;
	char why[112];
	ssize_t n;
	pid_t pid;
	int bad, error;

	/* A peer that never speaks does not keep a thread forever. */
	setsockopt(c->c_fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	n = conn_recv(c->c_fd, &h, sizeof(h), &bad);
	if (n != sizeof(h) || bad || h.ph_magic != PROTO_MAGIC) {
		if (n > 0)
			conn_refuse(c, EPROTO, 0, "malformed hello");
		return EPROTO;
	}
	if (h.ph_version != PROTO_VERSION) {
		snprintf(why, sizeof(why), "protocol version %u is not the "
		    "server's %u", h.ph_version, PROTO_VERSION);
		conn_refuse(c, EPROTONOSUPPORT, h.ph_version, why);
		return EPROTONOSUPPORT;
	}
	tv.tv_sec = 0;
	setsockopt(c->c_fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	pid = pith_proc_create(0);
	if (pid < 0) {
		error = errno;
		conn_refuse(c, error, h.ph_version, strerror(error));
		return error;
	}
	pthread_mutex_lock(&conn_lock);
	c->c_kpid = pid;
	pthread_mutex_unlock(&conn_lock);
	error = pith_proc_switch(pid) < 0 ? errno : 0;
	if (error == 0)
		error = conn_creds(c);
	if (error == 0)
		error = conn_area(c);
	if (error) {
		conn_refuse(c, error, h.ph_version, strerror(error));
		return error;
	}
	return conn_welcome(c);
}

static void
conn_serve(struct conn *c)
{
	union {
		struct proto_req q;
		char raw[sizeof(struct proto_req) + 64];
	} msg;
	struct proto_rep rep;
	unsigned long nr;
	void *scratch;
	long a[6];
	ssize_t n;
	int bad, error;

	for (;;) {
		n = conn_recv(c->c_fd, &msg, sizeof(msg), &bad);
		if (n <= 0)
			return;
		error = bad ? PROTO_BADMSG : proto_decode(&msg, (size_t)n,
		    c->c_area, c->c_areasize, a, &nr, &scratch);
		if (error == PROTO_BADMSG) {
			free(scratch);
			pithd_log("pithd: client pid %d: malformed request, "
			    "closing\n", (int)c->c_peerpid);
			return;
		}
		if (error)
			rep.pr_ret = error;
		else
			rep.pr_ret = pith_syscall6((long)nr, a[0], a[1], a[2],
			    a[3], a[4], a[5]);
		free(scratch);
		if (send(c->c_fd, &rep, sizeof(rep), MSG_NOSIGNAL) !=
		    sizeof(rep))
			return;
	}
}

static void
conn_end(struct conn *c)
{
	struct conn **pp;
	pid_t pid;

	pith_proc_switch(1);
	pthread_mutex_lock(&conn_lock);
	pid = conn_take_kpid(c);
	pthread_mutex_unlock(&conn_lock);
	if (pid > 0)
		pith_proc_release(pid);
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
	close(c->c_fd);
	free(c);
}

static void *
conn_thread(void *arg)
{
	struct conn *c = arg;

	if (conn_handshake(c) == 0)
		conn_serve(c);
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
	c->c_peerpid = cred.pid;
	c->c_uid = cred.uid;
	c->c_gid = cred.gid;
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
