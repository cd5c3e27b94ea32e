/*
 * libpithclient: pith_syscall6 over a connection to pithd.
 *
 * The generated pith_sys_* wrappers (gen/wrappers.c, gen/clientsys.c) and
 * the hand-written ones (lib/pith/wrap.c) are the in-process library's,
 * compiled unchanged: they all end in pith_syscall6, which here marshals
 * instead of entering a kernel.  Marshalling follows proto_resolve: every
 * pointer argument's bytes are laid out in the shared area (16-byte
 * aligned, in argument order; a count that is the transfer length of a
 * read or write is cut to what fits), the request carries offsets, and
 * after the reply the output kinds are copied back to the caller.
 *
 * One connection per process, guarded by client_lock: calls from several
 * threads take turns.
 *
 * fork: a child must not speak on its parent's connection (the replies
 * would cross).  The atfork handlers, set at the first connection, ask
 * the server before the fork for a copy of the kernel process
 * (PROTO_OP_FORK, with client_lock held across the fork so no other
 * thread's call is cut in half), and the child connects at once
 * presenting the token, becoming that copy: same descriptors (sharing the
 * open files), cwd, umask and credentials.  If that fails the child is
 * left unconnected and its next call connects afresh.  execve: a caller
 * (libpithshim) parks the process under a token (pith_client_park) that
 * the new image claims (pith_client_claim with exec set).
 *
 * Requests travel through the ring (struct proto_ring, PROTO_HELLO_RING):
 * the client posts, wakes the server's thread only if it sleeps, and
 * spins briefly for the reply before sleeping on the futex with a timeout,
 * checking the socket for the server's end each time it wakes empty.
 *
 * The socket is moved to a high descriptor (CLIENT_HIGHFD, or near a
 * small RLIMIT_NOFILE) so programs juggling low numbers do not meet it.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/syscall.h>
#include <poll.h>
#include <linux/futex.h>

#include <pith/client.h>
#include "pithclient/proto.h"

#define CLIENT_HIGHFD	900

/* Stubs for the in-process library's life cycle, which lib/pith/wrap.c
 * wraps: a client has no kernel of its own to boot or switch. */
long pith_kinit(const struct pith_config *cfg);
long pith_kproc_create(unsigned flags);
long pith_kproc_switch(pid_t pid);
long pith_kproc_release(pid_t pid);

static pthread_mutex_t client_lock = PTHREAD_MUTEX_INITIALIZER;
static int client_fd = -1;		/* [client_lock] */
static char *client_area;		/* [client_lock] */
static size_t client_areasize;		/* [client_lock] */
static struct proto_ring *client_ring;	/* [client_lock] */
static pid_t client_kpid = -1;		/* [client_lock] */
static int client_atfork_done;		/* [client_lock] */
static char client_errmsg[160];		/* [client_lock] */
static char client_path[sizeof(((struct sockaddr_un *)0)->sun_path)];
/* Between the atfork handlers: the copy made for the child. */
static int client_forktok_ok;
static unsigned char client_forktok[PROTO_TOKENLEN];

static long client_op(uint32_t op, uint64_t arg1, unsigned char *tok);
static int client_connect_locked(const char *path,
    const unsigned char *tok, int exec);

/* Forget the connection; the server releases the process when it sees
 * the socket close. */
static void
client_drop(void)
{
	int fd = client_fd;

	/* Not ours any more before close: libpithshim's close hides it. */
	client_fd = -1;
	if (client_area != NULL)
		munmap(client_area, client_areasize);
	if (client_ring != NULL)
		munmap(client_ring, PROTO_RINGSIZE);
	client_ring = NULL;
	if (fd >= 0)
		close(fd);
	client_area = NULL;
	client_areasize = 0;
	client_kpid = -1;
}

static void
client_prefork(void)
{
	pthread_mutex_lock(&client_lock);
	client_forktok_ok = client_fd >= 0 &&
	    client_op(PROTO_OP_FORK, 0, client_forktok) >= 0;
}

static void
client_postfork_parent(void)
{
	/* The child claims the copy; if fork failed, it waits in the server
	 * until this connection ends. */
	client_forktok_ok = 0;
	pthread_mutex_unlock(&client_lock);
}

static void
client_postfork_child(void)
{
	pthread_mutex_init(&client_lock, NULL);
	/* The parent's connection and area are not ours. */
	client_drop();
	if (client_forktok_ok && client_path[0] != '\0')
		client_connect_locked(client_path, client_forktok, 0);
	client_forktok_ok = 0;
}

static int
client_sockaddr(const char *path, struct sockaddr_un *sun)
{
	memset(sun, 0, sizeof(*sun));
	sun->sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun->sun_path))
		return ENAMETOOLONG;
	strcpy(sun->sun_path, path);
	return 0;
}

/* Receive the welcome and, if accepted, the area's and the ring's
 * descriptors (memfd[1] stays -1 without a ring). */
static int
client_welcome(int fd, struct proto_welcome *w, int memfd[2])
{
	char cbuf[CMSG_SPACE(2 * sizeof(int))];
	struct iovec iov = { w, sizeof(*w) };
	struct msghdr mh = { 0 };
	struct cmsghdr *cm;
	ssize_t n;

	memfd[0] = memfd[1] = -1;
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	mh.msg_control = cbuf;
	mh.msg_controllen = sizeof(cbuf);
	do
		n = recvmsg(fd, &mh, MSG_CMSG_CLOEXEC);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return errno;
	for (cm = CMSG_FIRSTHDR(&mh); cm != NULL; cm = CMSG_NXTHDR(&mh, cm))
		if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS &&
		    (cm->cmsg_len == CMSG_LEN(sizeof(int)) ||
		    cm->cmsg_len == CMSG_LEN(2 * sizeof(int))))
			memcpy(memfd, CMSG_DATA(cm), cm->cmsg_len -
			    CMSG_LEN(0));
	if (n != sizeof(*w) || w->pw_magic != PROTO_MAGIC) {
		snprintf(client_errmsg, sizeof(client_errmsg),
		    "not a pithd server (bad welcome)");
		return EPROTO;
	}
	w->pw_msg[sizeof(w->pw_msg) - 1] = '\0';
	return 0;
}

static int
client_handshake(int fd, const char *path, const unsigned char *tok,
    int exec)
{
	struct proto_hello h;
	struct proto_welcome w;
	int error, memfd[2];
	void *area, *ring;

	memset(&h, 0, sizeof(h));
	h.ph_magic = PROTO_MAGIC;
	h.ph_version = PROTO_VERSION;
	h.ph_flags = PROTO_HELLO_RING;
	if (tok != NULL) {
		h.ph_flags |= PROTO_HELLO_CLAIM | (exec ? PROTO_HELLO_EXEC : 0);
		memcpy(h.ph_token, tok, PROTO_TOKENLEN);
	}
	if (send(fd, &h, sizeof(h), MSG_NOSIGNAL) != sizeof(h))
		return errno;
	error = client_welcome(fd, &w, memfd);
	if (error)
		goto out;
	if (w.pw_error != 0) {
		error = w.pw_error > 0 ? w.pw_error : EPROTO;
		snprintf(client_errmsg, sizeof(client_errmsg), "%s", w.pw_msg);
		if (error == EPROTONOSUPPORT)
			fprintf(stderr, "libpithclient: %s refused us (protocol "
			    "version %u, server's %u): %s\n", path,
			    PROTO_VERSION, w.pw_version, w.pw_msg);
		goto out;
	}
	if (memfd[0] < 0 || memfd[1] < 0 || w.pw_areasize == 0 ||
	    w.pw_areasize > (1u << 30)) {
		error = EPROTO;
		goto out;
	}
	area = mmap(NULL, w.pw_areasize, PROT_READ | PROT_WRITE, MAP_SHARED,
	    memfd[0], 0);
	if (area == MAP_FAILED) {
		error = errno;
		goto out;
	}
	ring = mmap(NULL, PROTO_RINGSIZE, PROT_READ | PROT_WRITE, MAP_SHARED,
	    memfd[1], 0);
	if (ring == MAP_FAILED) {
		error = errno;
		munmap(area, w.pw_areasize);
		goto out;
	}
	client_ring = ring;
	client_area = area;
	client_areasize = w.pw_areasize;
	client_kpid = w.pw_pid;
out:
	if (memfd[0] >= 0)
		close(memfd[0]);
	if (memfd[1] >= 0)
		close(memfd[1]);
	return error;
}

/* The socket out of the way of the program's own descriptors. */
static int
client_highfd(int fd)
{
	struct rlimit rl;
	int h, min = CLIENT_HIGHFD;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < 1024)
		min = rl.rlim_cur > 64 ? (int)rl.rlim_cur - 32 : fd;
	if (fd >= min)
		return fd;
	h = fcntl(fd, F_DUPFD_CLOEXEC, min);
	if (h < 0)
		return fd;
	close(fd);
	return h;
}

static int
client_connect_locked(const char *path, const unsigned char *tok, int exec)
{
	struct sockaddr_un sun;
	int fd, error;

	if (client_fd >= 0)
		return EISCONN;
	if (path == NULL)
		path = getenv("PITH_SERVER");
	if (path == NULL || *path == '\0')
		return ENOTCONN;
	error = client_sockaddr(path, &sun);
	if (error)
		return error;
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return errno;
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		error = errno;
		close(fd);
		return error;
	}
	client_fd = client_highfd(fd);
	error = client_handshake(client_fd, path, tok, exec);
	if (error) {
		client_drop();
		return error;
	}
	if (path != client_path)
		strcpy(client_path, path);
	if (!client_atfork_done) {
		pthread_atfork(client_prefork, client_postfork_parent,
		    client_postfork_child);
		client_atfork_done = 1;
	}
	return 0;
}

/* "%02x" * 16 and back. */
static void
client_tokstr(const unsigned char *tok, char *s)
{
	static const char hex[] = "0123456789abcdef";

	for (int i = 0; i < PROTO_TOKENLEN; i++) {
		s[2 * i] = hex[tok[i] >> 4];
		s[2 * i + 1] = hex[tok[i] & 15];
	}
	s[2 * PROTO_TOKENLEN] = '\0';
}

static int
client_tokparse(const char *s, unsigned char *tok)
{
	int hi, lo;

	if (s == NULL || strlen(s) != 2 * PROTO_TOKENLEN)
		return EINVAL;
	for (int i = 0; i < PROTO_TOKENLEN; i++) {
		hi = s[2 * i];
		lo = s[2 * i + 1];
		hi = hi >= 'a' && hi <= 'f' ? hi - 'a' + 10 :
		    hi >= '0' && hi <= '9' ? hi - '0' : -1;
		lo = lo >= 'a' && lo <= 'f' ? lo - 'a' + 10 :
		    lo >= '0' && lo <= '9' ? lo - '0' : -1;
		if (hi < 0 || lo < 0)
			return EINVAL;
		tok[i] = (unsigned char)(hi << 4 | lo);
	}
	return 0;
}

static long client_roundtrip(const struct proto_req *q);

/*
 * A non-syscall operation: arg0 is a token slot at the area's start
 * (copied in from tok first when cancelling, out to tok after), arg1 as
 * given.  client_lock held.
 */
static long
client_op(uint32_t op, uint64_t arg1, unsigned char *tok)
{
	struct proto_req q;
	long r;

	if (client_fd < 0)
		return -ENOTCONN;
	memset(&q, 0, sizeof(q));
	q.pq_op = op;
	q.pq_arg[0] = 0;
	q.pq_arg[1] = arg1;
	if (tok != NULL && op == PROTO_OP_CANCEL)
		memcpy(client_area, tok, PROTO_TOKENLEN);
	r = client_roundtrip(&q);
	if (r >= 0 && tok != NULL && op != PROTO_OP_CANCEL && client_fd >= 0)
		memcpy(tok, client_area, PROTO_TOKENLEN);
	return r;
}

static long
client_ret(long r)
{
	if (r < 0) {
		errno = (int)-r;
		return -1;
	}
	return r;
}

__attribute__((visibility("default"))) pid_t
pith_client_fork_token(char tok[PITH_CLIENT_TOKENSTR])
{
	unsigned char t[PROTO_TOKENLEN];
	long r;

	pthread_mutex_lock(&client_lock);
	r = client_op(PROTO_OP_FORK, 0, t);
	pthread_mutex_unlock(&client_lock);
	if (r >= 0)
		client_tokstr(t, tok);
	return (pid_t)client_ret(r);
}

__attribute__((visibility("default"))) int
pith_client_park(char tok[PITH_CLIENT_TOKENSTR])
{
	unsigned char t[PROTO_TOKENLEN];
	long r;

	pthread_mutex_lock(&client_lock);
	r = client_op(PROTO_OP_PARK, 0, t);
	pthread_mutex_unlock(&client_lock);
	if (r >= 0)
		client_tokstr(t, tok);
	return (int)client_ret(r);
}

__attribute__((visibility("default"))) int
pith_client_cancel(const char *tok)
{
	unsigned char t[PROTO_TOKENLEN];
	long r;

	if (client_tokparse(tok, t) != 0)
		return (int)client_ret(-EINVAL);
	pthread_mutex_lock(&client_lock);
	r = client_op(PROTO_OP_CANCEL, 0, t);
	pthread_mutex_unlock(&client_lock);
	return (int)client_ret(r);
}

__attribute__((visibility("default"))) int
pith_client_claim(const char *path, const char *tok, int exec)
{
	unsigned char t[PROTO_TOKENLEN];
	int error;

	if (client_tokparse(tok, t) != 0) {
		errno = EINVAL;
		return -1;
	}
	pthread_mutex_lock(&client_lock);
	client_errmsg[0] = '\0';
	error = client_connect_locked(path, t, exec);
	pthread_mutex_unlock(&client_lock);
	if (error) {
		errno = error;
		return -1;
	}
	return 0;
}

__attribute__((visibility("default"))) long
pith_client_admin(unsigned op, long arg, void *buf, size_t len)
{
	struct proto_req q;
	long r;

	if (op != PROTO_OP_PS && op != PROTO_OP_KILL && op != PROTO_OP_STOP)
		return client_ret(-EINVAL);
	pthread_mutex_lock(&client_lock);
	r = client_fd < 0 ? -(long)client_connect_locked(NULL, NULL, 0) : 0;
	if (r == 0 && len > client_areasize)
		len = client_areasize;
	if (r == 0) {
		memset(&q, 0, sizeof(q));
		q.pq_op = op;
		q.pq_arg[0] = op == PROTO_OP_PS ? 0 : (uint64_t)arg;
		q.pq_arg[1] = len;
		r = client_roundtrip(&q);
		if (r > 0 && op == PROTO_OP_PS && client_fd >= 0)
			memcpy(buf, client_area, len);
	}
	pthread_mutex_unlock(&client_lock);
	return client_ret(r);
}

__attribute__((visibility("default"))) int
pith_client_sockfd(void)
{
	return client_fd;
}

__attribute__((visibility("default"))) int
pith_client_connect(const char *path)
{
	int error;

	pthread_mutex_lock(&client_lock);
	client_errmsg[0] = '\0';
	error = client_connect_locked(path, NULL, 0);
	pthread_mutex_unlock(&client_lock);
	if (error) {
		errno = error;
		return -1;
	}
	return 0;
}

__attribute__((visibility("default"))) int
pith_client_disconnect(void)
{
	int error = 0;

	pthread_mutex_lock(&client_lock);
	if (client_fd < 0)
		error = ENOTCONN;
	else
		client_drop();
	pthread_mutex_unlock(&client_lock);
	if (error) {
		errno = error;
		return -1;
	}
	return 0;
}

__attribute__((visibility("default"))) pid_t
pith_client_pid(void)
{
	pid_t pid;

	pthread_mutex_lock(&client_lock);
	pid = client_kpid;
	pthread_mutex_unlock(&client_lock);
	return pid;
}

__attribute__((visibility("default"))) const char *
pith_client_error(void)
{
	return client_errmsg;
}

/* --- marshalling ------------------------------------------------------------- */

struct marshal {
	uint64_t a[6];			/* what the caller passed */
	struct proto_res r[6];
	struct proto_req q;
	size_t used;			/* bytes of the area laid out */
};

#define ALIGN16(x) (((x) + 15) & ~(size_t)15)

/* Reserve len bytes of the area; returns the offset or PROTO_NULL. */
static uint64_t
marshal_take(struct marshal *m, uint64_t len)
{
	size_t off = ALIGN16(m->used);

	if (off > client_areasize || len > client_areasize - off)
		return PROTO_NULL;
	m->used = off + len;
	return off;
}

/* A transfer length the caller allows us to cut (read/write counts). */
static int
marshal_cuttable(unsigned long nr, int i, struct marshal *m)
{
	const struct proto_arg *pa = &proto_calls[nr].pc_arg[i];

	return (m->r[i].kind == PK_IN || m->r[i].kind == PK_OUTR) &&
	    pa->pa_narg >= 0 && pa->pa_size == 1;
}

static int
marshal_iov(struct marshal *m, int i)
{
	const struct iovec *uiov = (const struct iovec *)(uintptr_t)m->a[i];
	int n = (int)(m->r[i].len / sizeof(struct iovec)), j;
	struct iovec *kiov;
	uint64_t off, aoff;
	size_t len, room;

	aoff = marshal_take(m, m->r[i].len);
	if (aoff == PROTO_NULL)
		return -ENOMEM;
	kiov = (struct iovec *)(client_area + aoff);
	m->q.pq_arg[i] = aoff;
	for (j = 0; j < n; j++) {
		len = uiov[j].iov_len;
		room = client_areasize - ALIGN16(m->used);
		if (ALIGN16(m->used) > client_areasize)
			room = 0;
		if (len > room)
			len = room;	/* a short transfer, as readv may do */
		off = marshal_take(m, len);
		if (off == PROTO_NULL)
			off = 0, len = 0;
		if (m->r[i].kind == PK_IOVIN && len != 0)
			memcpy(client_area + off, uiov[j].iov_base, len);
		kiov[j].iov_base = (void *)(uintptr_t)off;
		kiov[j].iov_len = len;
	}
	return 0;
}

static int
marshal_psel(struct marshal *m, int i)
{
	const uint64_t *upair = (const uint64_t *)(uintptr_t)m->a[i];
	uint64_t pair[2], off, len;

	pair[0] = upair[0];
	pair[1] = upair[1];
	if (pair[0] != 0) {
		len = pair[1] > 128 ? 128 : pair[1];
		off = marshal_take(m, len);
		if (off == PROTO_NULL)
			return -ENOMEM;
		memcpy(client_area + off, (void *)(uintptr_t)pair[0], len);
		pair[0] = off;
	} else
		pair[0] = PROTO_NULL;
	off = marshal_take(m, sizeof(pair));
	if (off == PROTO_NULL)
		return -ENOMEM;
	memcpy(client_area + off, pair, sizeof(pair));
	m->q.pq_arg[i] = off;
	return 0;
}

/* One pointer argument into the area; cut says it may be shortened. */
static int
marshal_arg(unsigned long nr, struct marshal *m, int i, int cut)
{
	const void *up = (const void *)(uintptr_t)m->a[i];
	uint64_t len = m->r[i].len, off;
	size_t room;

	switch (m->r[i].kind) {
	case PK_STR:
		len = strlen(up) + 1;
		break;
	case PK_IOVIN:
	case PK_IOVOUT:
		return marshal_iov(m, i);
	case PK_PSEL:
		return marshal_psel(m, i);
	}
	if (cut) {
		room = ALIGN16(m->used) <= client_areasize ?
		    client_areasize - ALIGN16(m->used) : 0;
		if (len > room) {
			len = room;
			m->r[i].len = len;
			m->q.pq_arg[proto_calls[nr].pc_arg[i].pa_narg] = len;
		}
	}
	off = marshal_take(m, len);
	if (off == PROTO_NULL)
		return m->r[i].kind == PK_STR ? -ENAMETOOLONG : -ENOMEM;
	if (m->r[i].kind == PK_STR || m->r[i].kind == PK_IN ||
	    m->r[i].kind == PK_INOUT || m->r[i].kind == PK_FDSET)
		memcpy(client_area + off, up, len);
	m->q.pq_arg[i] = off;
	return 0;
}

static int
marshal(unsigned long nr, struct marshal *m)
{
	int i, pass, cut, error;

	m->used = 0;
	/* Fixed-size arguments first, so a cut length gets what is left. */
	for (pass = 0; pass < 2; pass++) {
		for (i = 0; i < 6; i++) {
			if (m->r[i].kind == PK_VAL || m->r[i].kind == PK_NKINDS)
				continue;
			if (m->a[i] == 0) {
				m->q.pq_arg[i] = PROTO_NULL;
				continue;
			}
			cut = marshal_cuttable(nr, i, m);
			if (cut != pass)
				continue;
			error = marshal_arg(nr, m, i, cut);
			if (error)
				return error;
		}
	}
	return 0;
}

static void
unmarshal_iov(struct marshal *m, int i, long ret)
{
	const struct iovec *uiov = (const struct iovec *)(uintptr_t)m->a[i];
	const struct iovec *kiov =
	    (const struct iovec *)(client_area + m->q.pq_arg[i]);
	int n = (int)(m->r[i].len / sizeof(struct iovec)), j;
	size_t left = (size_t)ret, len;

	for (j = 0; j < n && left > 0; j++) {
		len = kiov[j].iov_len < left ? kiov[j].iov_len : left;
		memcpy(uiov[j].iov_base,
		    client_area + (uintptr_t)kiov[j].iov_base, len);
		left -= len;
	}
}

static void
unmarshal(unsigned long nr, struct marshal *m, long ret)
{
	uint64_t len;
	int i;

	if (ret < 0)
		return;
	for (i = 0; i < 6; i++) {
		if (m->a[i] == 0 || m->q.pq_arg[i] == PROTO_NULL)
			continue;
		len = m->r[i].len;
		switch (m->r[i].kind) {
		case PK_OUTR:
			len = (uint64_t)ret * proto_calls[nr].pc_arg[i].pa_size;
			if (len > m->r[i].len)
				len = m->r[i].len;
			/* FALLTHROUGH */
		case PK_OUT:
		case PK_INOUT:
		case PK_FDSET:
			memcpy((void *)(uintptr_t)m->a[i],
			    client_area + m->q.pq_arg[i], len);
			break;
		case PK_IOVOUT:
			unmarshal_iov(m, i, ret);
			break;
		}
	}
}

/* Polls of the reply before sleeping (a few tens of microseconds). */
#define CLIENT_SPIN	4000

static long
client_futex(uint32_t *addr, int op, uint32_t val, const struct timespec *ts)
{
	return syscall(SYS_futex, addr, op, val, ts, NULL, 0);
}

/* Whether the server has gone: its end of the socket closed. */
static int
client_gone(void)
{
	struct pollfd pf = { client_fd, POLLIN | POLLRDHUP, 0 };

	return poll(&pf, 1, 0) != 0;
}

/* One request and its reply through the ring; -EIO if the server left. */
static long
client_ring_roundtrip(const struct proto_req *q)
{
	static const struct timespec tick = { 0, 100 * 1000 * 1000 };
	struct proto_ring *g = client_ring;
	uint32_t s;
	int i;

	memcpy(&g->rg_req, q, sizeof(*q));
	__atomic_store_n(&g->rg_state, PROTO_RING_REQ, __ATOMIC_SEQ_CST);
	if (__atomic_load_n(&g->rg_srvwait, __ATOMIC_SEQ_CST))
		client_futex(&g->rg_state, FUTEX_WAKE, 1, NULL);
	s = __atomic_load_n(&g->rg_state, __ATOMIC_ACQUIRE);
	for (i = 0; s == PROTO_RING_REQ && i < CLIENT_SPIN; i++) {
		__builtin_ia32_pause();
		s = __atomic_load_n(&g->rg_state, __ATOMIC_ACQUIRE);
	}
	while (s == PROTO_RING_REQ) {
		__atomic_store_n(&g->rg_cliwait, 1, __ATOMIC_SEQ_CST);
		s = __atomic_load_n(&g->rg_state, __ATOMIC_SEQ_CST);
		if (s == PROTO_RING_REQ)
			client_futex(&g->rg_state, FUTEX_WAIT, s, &tick);
		__atomic_store_n(&g->rg_cliwait, 0, __ATOMIC_SEQ_CST);
		s = __atomic_load_n(&g->rg_state, __ATOMIC_ACQUIRE);
		if (s == PROTO_RING_REQ && client_gone())
			break;
	}
	if (s != PROTO_RING_REP)
		return -EIO;
	return (long)__atomic_load_n(&g->rg_ret, __ATOMIC_ACQUIRE);
}

/* One request and its reply; -EIO (and the connection dropped) if the
 * server is gone. */
static long
client_roundtrip(const struct proto_req *q)
{
	struct proto_rep rep;
	ssize_t n;
	long r;

	if (client_ring != NULL) {
		r = client_ring_roundtrip(q);
		if (r == -EIO && __atomic_load_n(&client_ring->rg_state,
		    __ATOMIC_ACQUIRE) != PROTO_RING_REP)
			goto lost;
		return r;
	}
	do
		n = send(client_fd, q, sizeof(*q), MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	if (n != sizeof(*q))
		goto lost;
	do
		n = recv(client_fd, &rep, sizeof(rep), 0);
	while (n < 0 && errno == EINTR);
	if (n != sizeof(rep))
		goto lost;
	return (long)rep.pr_ret;
lost:
	snprintf(client_errmsg, sizeof(client_errmsg),
	    "connection to the server lost");
	client_drop();
	return -EIO;
}

static long
client_call(long nr, struct marshal *m)
{
	long ret;
	int error;

	if (client_fd < 0) {
		error = client_connect_locked(NULL, NULL, 0);
		if (error)
			return -(long)error;
	}
	error = proto_resolve((unsigned long)nr, m->a, m->r);
	if (error)
		return error;
	memcpy(m->q.pq_arg, m->a, sizeof(m->a));
	m->q.pq_op = PROTO_OP_SYSCALL;
	m->q.pq_nr = (uint32_t)nr;
	error = marshal((unsigned long)nr, m);
	if (error)
		return error;
	ret = client_roundtrip(&m->q);
	if (client_fd >= 0)
		unmarshal((unsigned long)nr, m, ret);
	return ret;
}

__attribute__((visibility("default"))) long
pith_syscall6(long nr, long a1, long a2, long a3, long a4, long a5, long a6)
{
	struct marshal m;
	long ret;

	if (nr < 0 || nr >= PROTO_NCALLS)
		return -ENOSYS;
	m.a[0] = (uint64_t)a1;
	m.a[1] = (uint64_t)a2;
	m.a[2] = (uint64_t)a3;
	m.a[3] = (uint64_t)a4;
	m.a[4] = (uint64_t)a5;
	m.a[5] = (uint64_t)a6;
	pthread_mutex_lock(&client_lock);
	ret = client_call(nr, &m);
	pthread_mutex_unlock(&client_lock);
	return ret;
}

__attribute__((visibility("default"))) long
pith_syscall(long nr, ...)
{
	va_list ap;
	long a[6];
	int i;

	va_start(ap, nr);
	for (i = 0; i < 6; i++)
		a[i] = va_arg(ap, long);
	va_end(ap);
	return pith_syscall6(nr, a[0], a[1], a[2], a[3], a[4], a[5]);
}

long
pith_kinit(const struct pith_config *cfg)
{
	return -ENOSYS;
}

long
pith_kproc_create(unsigned flags)
{
	return -ENOSYS;
}

long
pith_kproc_switch(pid_t pid)
{
	return -ENOSYS;
}

long
pith_kproc_release(pid_t pid)
{
	return -ENOSYS;
}

__attribute__((visibility("default"))) void
pith_fini(void)
{
}

__attribute__((visibility("default"))) size_t
pith_mem_inuse(void)
{
	return 0;
}

/* The server reaps its own memory (pithd, when quiet). */
__attribute__((visibility("default"))) size_t
pith_mem_reap(void)
{
	return 0;
}
