/*
 * pith ps, pith kill, pith stop: a pithd server's administration.
 *
 * The pith command carries an in-process kernel (libpith) and cannot link
 * libpithclient, whose pith_sys_* are the same names, so these speak the
 * protocol themselves: the handshake of lib/pithclient/proto.h, then one
 * administrative request (PROTO_OP_PS, _KILL, _STOP).  The server allows
 * them to its owner and root only (EPERM otherwise); it learns who we are
 * from the socket (SO_PEERCRED), not from anything we say.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include "../../lib/pithclient/proto.h"
#include "pith_tool.h"

struct admin {
	int fd;
	char *area;
	size_t areasize;
	pid_t kpid;			/* our own kernel process */
};

static int
admin_welcome(struct admin *a)
{
	char cbuf[CMSG_SPACE(sizeof(int))];
	struct proto_welcome w;
	struct iovec iov = { &w, sizeof(w) };
	struct msghdr mh = { 0 };
	struct cmsghdr *cm;
	int memfd = -1;
	ssize_t n;

	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	mh.msg_control = cbuf;
	mh.msg_controllen = sizeof(cbuf);
	n = recvmsg(a->fd, &mh, MSG_CMSG_CLOEXEC);
	for (cm = CMSG_FIRSTHDR(&mh); n > 0 && cm != NULL;
	    cm = CMSG_NXTHDR(&mh, cm))
		if (cm->cmsg_level == SOL_SOCKET &&
		    cm->cmsg_type == SCM_RIGHTS &&
		    cm->cmsg_len == CMSG_LEN(sizeof(int)))
			memcpy(&memfd, CMSG_DATA(cm), sizeof(int));
	if (n != sizeof(w) || w.pw_magic != PROTO_MAGIC) {
		warnx_("not a pithd server (bad welcome)");
		goto fail;
	}
	if (w.pw_error != 0) {
		w.pw_msg[sizeof(w.pw_msg) - 1] = '\0';
		warnx_("the server refused us: %s", w.pw_msg);
		goto fail;
	}
	if (memfd < 0 || w.pw_areasize < 4096 || w.pw_areasize > (1u << 30)) {
		warnx_("not a pithd server (bad welcome)");
		goto fail;
	}
	a->area = mmap(NULL, w.pw_areasize, PROT_READ | PROT_WRITE,
	    MAP_SHARED, memfd, 0);
	close(memfd);
	if (a->area == MAP_FAILED) {
		warnx_("mmap: %s", strerror(errno));
		return -1;
	}
	a->areasize = w.pw_areasize;
	a->kpid = w.pw_pid;
	return 0;
fail:
	if (memfd >= 0)
		close(memfd);
	return -1;
}

static int
admin_connect(const char *srv, struct admin *a)
{
	struct proto_hello h;
	struct sockaddr_un sun;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(srv) >= sizeof(sun.sun_path)) {
		warnx_("%s: %s", srv, strerror(ENAMETOOLONG));
		return -1;
	}
	strcpy(sun.sun_path, srv);
	a->fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (a->fd < 0 || connect(a->fd, (struct sockaddr *)&sun,
	    sizeof(sun)) < 0) {
		warnx_("%s: %s", srv, strerror(errno));
		return -1;
	}
	memset(&h, 0, sizeof(h));
	h.ph_magic = PROTO_MAGIC;
	h.ph_version = PROTO_VERSION;
	if (send(a->fd, &h, sizeof(h), MSG_NOSIGNAL) != sizeof(h)) {
		warnx_("%s: %s", srv, strerror(errno));
		return -1;
	}
	return admin_welcome(a);
}

/* One request; the result or -errno (-EIO if the server hung up). */
static long
admin_op(struct admin *a, uint32_t op, uint64_t a0, uint64_t a1)
{
	struct proto_req q;
	struct proto_rep r;

	memset(&q, 0, sizeof(q));
	q.pq_op = op;
	q.pq_arg[0] = a0;
	q.pq_arg[1] = a1;
	if (send(a->fd, &q, sizeof(q), MSG_NOSIGNAL) != sizeof(q) ||
	    recv(a->fd, &r, sizeof(r), 0) != sizeof(r))
		return -EIO;
	return (long)r.pr_ret;
}

/* The common command line: [--server SOCKET] and n operands. */
static const char *
admin_args(const char *cmd, int argc, char **argv, int nargs)
{
	static const struct option opts[] = {
		{ "server", required_argument, NULL, 's' },
		{ NULL, 0, NULL, 0 },
	};
	const char *srv = getenv("PITH_SERVER");
	int c;

	while ((c = getopt_long(argc, argv, "+s:", opts, NULL)) != -1) {
		if (c != 's') {
			usage_error(cmd, NULL);
			return NULL;
		}
		srv = optarg;
	}
	if (argc - optind != nargs) {
		usage_error(cmd, argc - optind < nargs ? "missing operand" :
		    "too many operands");
		return NULL;
	}
	if (srv == NULL || *srv == '\0') {
		usage_error(cmd, "no server: give --server or set PITH_SERVER");
		return NULL;
	}
	return srv;
}

int
cmd_ps(int argc, char **argv)
{
	const char *srv = admin_args("ps", argc, argv, 0);
	struct proto_ps *e;
	struct admin a;
	long n, i, room;

	if (srv == NULL || admin_connect(srv, &a) < 0)
		return 1;
	n = admin_op(&a, PROTO_OP_PS, 0, a.areasize);
	if (n < 0) {
		warnx_("ps: %s", strerror((int)-n));
		return 1;
	}
	room = (long)(a.areasize / sizeof(*e));
	printf("%6s %8s %6s %4s %-16s %s\n", "KPID", "PID", "UID", "FDS",
	    "COMMAND", "CWD");
	for (i = 0; i < n && i < room; i++) {
		e = (struct proto_ps *)a.area + i;
		if (e->pp_kpid == a.kpid)	/* ourselves */
			continue;
		e->pp_comm[sizeof(e->pp_comm) - 1] = '\0';
		e->pp_cwd[sizeof(e->pp_cwd) - 1] = '\0';
		printf("%6d %8d %6u %4u %-16s %s\n", (int)e->pp_kpid,
		    (int)e->pp_peerpid, (unsigned)e->pp_uid,
		    (unsigned)e->pp_nfds, e->pp_comm[0] ? e->pp_comm : "?",
		    e->pp_cwd[0] ? e->pp_cwd : "?");
	}
	return 0;
}

int
cmd_kill(int argc, char **argv)
{
	const char *srv = admin_args("kill", argc, argv, 1);
	struct admin a;
	char *end;
	long pid, r;

	if (srv == NULL)
		return 1;
	errno = 0;
	pid = strtol(argv[optind], &end, 10);
	if (errno || end == argv[optind] || *end != '\0' || pid < 2 ||
	    pid > INT32_MAX)
		return usage_error("kill", "PID must be a kernel pid above 1");
	if (admin_connect(srv, &a) < 0)
		return 1;
	r = admin_op(&a, PROTO_OP_KILL, (uint64_t)pid, 0);
	if (r < 0) {
		warnx_("kill: %ld: %s", pid, r == -ESRCH ?
		    "no such client process" : strerror((int)-r));
		return 1;
	}
	return 0;
}

int
cmd_stop(int argc, char **argv)
{
	const char *srv = admin_args("stop", argc, argv, 0);
	struct timespec ts = { 0, 50 * 1000 * 1000 };
	struct admin a;
	struct stat st;
	char c;
	long r;

	if (srv == NULL || admin_connect(srv, &a) < 0)
		return 1;
	r = admin_op(&a, PROTO_OP_STOP, 0, 0);
	/* The server may hang up on us before it answers: that is it
	 * stopping. */
	if (r < 0 && r != -EIO) {
		warnx_("stop: %s", strerror((int)-r));
		return 1;
	}
	/* The server hangs up on every client as it shuts down, then
	 * removes its socket; wait for both, up to 30 s. */
	recv(a.fd, &c, 1, 0);
	for (int i = 0; i < 600; i++) {
		if (lstat(srv, &st) < 0)
			return 0;
		nanosleep(&ts, NULL);
	}
	warnx_("stop: %s: the server has not stopped after 30 s", srv);
	return 1;
}
