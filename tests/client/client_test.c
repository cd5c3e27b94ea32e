/*
 * A client of pithd for tests/scripts/pithd.t: each mode is one scenario,
 * run against a server the script started, printing "ok - what" or
 * "not ok - what" lines that the script numbers into TAP.
 *
 *	client_test SOCK basic DIR      the file calls, round trip by round trip
 *	client_test SOCK cwd DIR TAG    a private cwd and descriptor table
 *	client_test SOCK mkroot FILE    (as root) a 0600 file
 *	client_test SOCK eacces FILE    (as a user) EACCES and EPERM on it
 *	client_test SOCK hang           blocks in read on a pipe (to be killed)
 *	client_test SOCK stream FILE    rewrites FILE forever (to be killed)
 *	client_test SOCK badversion     speaks protocol 999: refused
 *	client_test SOCK hostile        malformed requests, then a good one
 *	client_test SOCK write FILE N   writes N KiB of a pattern, checks it
 *	client_test SOCK verify FILE N  FILE holds that pattern; removes it
 *	client_test SOCK block KIND     blocks forever in poll, nanosleep or
 *	                                epoll_wait with nothing to wake it
 *	client_test SOCK fork DIR       fork: the child is a copy of our process
 *	client_test SOCK tokens         fork/exec tokens: single use, same uid
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <pith/client.h>
#include "pithclient/proto.h"
#include "../lib/check.h"

static int
has_entry(const char *dir, const char *name)
{
	char buf[4096];
	long n, off;
	int fd = pith_sys_open(dir, O_RDONLY | O_DIRECTORY), found = 0;

	if (fd < 0)
		return 0;
	while ((n = pith_sys_getdents64(fd, buf, sizeof(buf))) > 0)
		for (off = 0; off < n;) {
			struct dirent64 *de = (void *)(buf + off);

			if (strcmp(de->d_name, name) == 0)
				found = 1;
			off += de->d_reclen;
		}
	pith_sys_close(fd);
	return found;
}

static void
mode_basic(const char *dir)
{
	char path[256], path2[256], buf[100000], big[100000];
	struct stat st;
	struct pollfd pfd[2];
	int fd, p[2];
	long n;

	check(pith_sys_mkdir(dir, 0755) == 0, "mkdir");
	check(pith_sys_mkdir(dir, 0755) < 0 && errno == EEXIST, "mkdir again: EEXIST");
	snprintf(path, sizeof(path), "%s/file", dir);
	fd = pith_sys_open(path, O_CREAT | O_RDWR | O_EXCL, 0640);
	check(fd >= 0, "open O_CREAT");
	for (size_t i = 0; i < sizeof(big); i++)
		big[i] = (char)(i * 7 + 3);
	check(pith_sys_write(fd, "hello, pithd\n", 13) == 13, "write");
	check(pith_sys_write(fd, big, sizeof(big)) == (long)sizeof(big), "write 100000 bytes");
	check(pith_sys_lseek(fd, 0, SEEK_SET) == 0, "lseek");
	n = pith_sys_read(fd, buf, 13);
	check(n == 13 && memcmp(buf, "hello, pithd\n", 13) == 0, "read back");
	n = pith_sys_read(fd, buf, sizeof(buf));
	check(n == (long)sizeof(big) && memcmp(buf, big, sizeof(big)) == 0, "read back 100000 bytes");
	check(pith_sys_read(fd, buf, sizeof(buf)) == 0, "read at EOF: 0");
	check(pith_sys_fstat(fd, &st) == 0 && st.st_size == 13 + (long)sizeof(big) &&
	    (st.st_mode & 07777) == (0640 & ~022), "fstat size and mode");
	check(pith_sys_pread(fd, buf, 5, 7) == 5 && memcmp(buf, "pithd", 5) == 0, "pread");
	check(pith_sys_close(fd) == 0, "close");
	check(pith_sys_close(fd) < 0 && errno == EBADF, "close again: EBADF");
	check(pith_sys_stat(path, &st) == 0 && S_ISREG(st.st_mode), "stat");
	check(pith_sys_stat("/no/such", &st) < 0 && errno == ENOENT, "stat: ENOENT");
	check(has_entry(dir, "file"), "getdents64 lists the file");
	snprintf(path2, sizeof(path2), "%s/renamed", dir);
	check(pith_sys_rename(path, path2) == 0, "rename");
	check(!has_entry(dir, "file") && has_entry(dir, "renamed"), "getdents64 after rename");
	check(pith_sys_unlink(path2) == 0, "unlink");
	check(pith_sys_unlink(path2) < 0 && errno == ENOENT, "unlink again: ENOENT");
	check(pith_sys_rmdir(dir) == 0, "rmdir");

	check(pith_sys_pipe(p) == 0, "pipe");
	pfd[0].fd = p[0];
	pfd[0].events = POLLIN;
	pfd[1].fd = p[1];
	pfd[1].events = POLLOUT;
	check(pith_sys_poll(pfd, 2, 0) == 1 && pfd[1].revents == POLLOUT &&
	    pfd[0].revents == 0, "poll: writable end only");
	check(pith_sys_write(p[1], "x", 1) == 1, "write to pipe");
	check(pith_sys_poll(pfd, 1, 1000) == 1 && pfd[0].revents == POLLIN, "poll: readable");
	check(pith_sys_read(p[0], buf, sizeof(buf)) == 1 && buf[0] == 'x', "read from pipe");
	pith_sys_close(p[0]);
	pith_sys_close(p[1]);
	check(pith_sys_getcwd(buf, sizeof(buf)) != NULL && strcmp(buf, "/") == 0, "getcwd: /");
	check(pith_sys_getpid() == pith_client_pid() && pith_client_pid() > 1, "getpid is the kernel pid");
	check(pith_syscall(SYS_mmap, 0, 0, 0, 0, 0, 0) == -ENOSYS, "unimplemented call: ENOSYS");
	check(pith_sys_stat(NULL, &st) < 0 && errno == EFAULT, "NULL path: EFAULT");
}

static void
mode_cwd(const char *dir, const char *tag)
{
	char buf[256];
	int fd;

	pith_sys_mkdir(dir, 0755);
	check(pith_sys_chdir(dir) == 0, "chdir");
	fd = pith_sys_open("tagfile", O_CREAT | O_RDWR | O_TRUNC, 0644);
	check(fd == 0, "first descriptor is 0: a table of our own");
	check(pith_sys_write(fd, tag, strlen(tag)) == (long)strlen(tag), "write tag");
	usleep(300000);
	check(pith_sys_getcwd(buf, sizeof(buf)) != NULL && strcmp(buf, dir) == 0, "cwd is still ours");
	memset(buf, 0, sizeof(buf));
	check(pith_sys_pread(fd, buf, sizeof(buf) - 1, 0) == (long)strlen(tag) &&
	    strcmp(buf, tag) == 0, "our file has our tag");
}

static void
mode_mkroot(const char *file)
{
	int fd = pith_sys_open(file, O_CREAT | O_WRONLY | O_TRUNC, 0600);

	check(fd >= 0 && pith_sys_write(fd, "secret", 6) == 6, "root writes a 0600 file");
	check(pith_sys_getuid() == 0, "root client has uid 0");
}

static void
mode_eacces(const char *file)
{
	check(pith_sys_getuid() == getuid() && pith_sys_getgid() == getgid(),
	    "kernel credentials are the peer's");
	check(pith_sys_open(file, O_RDONLY) < 0 && errno == EACCES, "open root's 0600 file: EACCES");
	check(pith_sys_chown(file, getuid(), getgid()) < 0 && errno == EPERM, "chown it: EPERM");
	check(pith_sys_setuid(0) < 0 && errno == EPERM, "setuid(0): EPERM");
}

static void
mode_hang(void)
{
	char c;
	int p[2];

	if (pith_sys_pipe(p) < 0)
		exit(1);
	printf("ready\n");
	fflush(stdout);
	pith_sys_read(p[0], &c, 1);	/* never returns: killed */
	exit(1);
}

static void
mode_stream(const char *file)
{
	char buf[65536];
	int fd = pith_sys_open(file, O_CREAT | O_WRONLY | O_TRUNC, 0644);

	memset(buf, 'z', sizeof(buf));
	printf("ready\n");
	fflush(stdout);
	for (;;)
		if (pith_sys_pwrite(fd, buf, sizeof(buf), 0) < 0)
			exit(1);
}

static void
mode_write(const char *file, int kib)
{
	char buf[1024], rbuf[1024];
	struct stat st;
	int fd = pith_sys_open(file, O_CREAT | O_RDWR | O_TRUNC, 0644), ok = 1;

	for (int i = 0; i < kib; i++) {
		memset(buf, 'a' + i % 26, sizeof(buf));
		if (pith_sys_write(fd, buf, sizeof(buf)) != sizeof(buf))
			ok = 0;
	}
	check(ok && pith_sys_fsync(fd) == 0, "write and fsync");
	check(pith_sys_fstat(fd, &st) == 0 && st.st_size == kib * 1024L, "size");
	for (int i = 0; i < kib && ok; i++) {
		memset(buf, 'a' + i % 26, sizeof(buf));
		if (pith_sys_pread(fd, rbuf, sizeof(rbuf), i * 1024L) != sizeof(rbuf) ||
		    memcmp(buf, rbuf, sizeof(buf)) != 0)
			ok = 0;
	}
	check(ok, "contents read back");
	check(pith_sys_close(fd) == 0, "close");
}


/* fork: the child runs as a copy of our kernel process. */
static void
mode_fork(const char *dir)
{
	pid_t me = pith_client_pid(), pid;
	char buf[16], cwd[256];
	int fd, status;

	check(pith_sys_chdir(dir) == 0, "chdir");
	pith_sys_umask(027);
	fd = pith_sys_open("forked", O_CREAT | O_RDWR | O_TRUNC, 0644);
	check(fd >= 0 && pith_sys_write(fd, "p", 1) == 1, "parent writes");
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		check_failed = 0;
		check(pith_client_pid() > 0 && pith_client_pid() != me,
		    "child: a kernel process of its own");
		check(pith_sys_getppid() == me, "child: its parent is ours");
		check(pith_sys_write(fd, "c", 1) == 1,
		    "child: writes to the parent's descriptor");
		check(pith_sys_getcwd(cwd, sizeof(cwd)) != NULL &&
		    strcmp(cwd, dir) == 0, "child: the parent's cwd");
		check(pith_sys_umask(0) == 027, "child: the parent's umask");
		check(pith_sys_getuid() == getuid(), "child: the parent's uid");
		_exit(check_failed);
	}
	check(pid > 0 && waitpid(pid, &status, 0) == pid &&
	    WIFEXITED(status) && WEXITSTATUS(status) == 0, "child passed");
	check(pith_sys_write(fd, "P", 1) == 1, "parent writes again");
	memset(buf, 0, sizeof(buf));
	check(pith_sys_pread(fd, buf, sizeof(buf), 0) == 3 &&
	    strcmp(buf, "pcP") == 0, "one open file, one offset: pcP");
	check(pith_sys_close(fd) == 0, "close");
}

/* In a child made without the atfork handlers: leave the parent's
 * connection, claim tok, return 0 or the errno. */
static int
claim_in_child(const char *sock, const char *tok, int exec, uid_t uid,
    int probe)
{
	int status;
	pid_t pid = (pid_t)syscall(SYS_fork);

	if (pid == 0) {
		int e = 0;

		pith_client_disconnect();
		if (uid != 0 && setresgid(uid, uid, uid) + setresuid(uid, uid,
		    uid) != 0)
			_exit(99);
		if (pith_client_claim(sock, tok, exec) < 0)
			e = errno;
		/* probe: the parked process's close-on-exec descriptor 5 is
		 * gone, descriptor 6 is there. */
		if (e == 0 && probe && (pith_sys_fcntl(5, F_GETFD) != -1 ||
		    pith_sys_fcntl(6, F_GETFD) != 0))
			e = 98;
		_exit(e);
	}
	if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
		return -1;
	return WEXITSTATUS(status);
}

static void
mode_tokens(const char *sock)
{
	char tok[PITH_CLIENT_TOKENSTR], tok2[PITH_CLIENT_TOKENSTR];
	char bogus[] = "00000000000000000000000000000000";
	pid_t kp;
	int fd;

	kp = pith_client_fork_token(tok);
	check(kp > 1 && strlen(tok) == 32, "a fork token");
	check(pith_client_fork_token(tok2) > 1 && strcmp(tok, tok2) != 0,
	    "tokens differ");
	check(claim_in_child(sock, bogus, 0, 0, 0) == ESRCH,
	    "a made-up token: ESRCH");
	check(claim_in_child(sock, "xyz", 0, 0, 0) == EINVAL,
	    "a malformed token: EINVAL");
	if (getuid() == 0)
		check(claim_in_child(sock, tok, 0, 1000, 0) == EPERM,
		    "another uid: EPERM");
	else
		printf("ok - another uid: EPERM # SKIP not root\n");
	check(claim_in_child(sock, tok, 0, 0, 0) == 0, "claimed");
	check(claim_in_child(sock, tok, 0, 0, 0) == ESRCH,
	    "claimed twice: ESRCH (single use)");
	check(pith_client_cancel(tok2) == 0, "cancel our other token");
	check(pith_client_cancel(tok2) < 0 && errno == ESRCH,
	    "cancel again: ESRCH");
	check(claim_in_child(sock, tok2, 0, 0, 0) == ESRCH,
	    "a cancelled token: ESRCH");

	/* A fork token dies with the connection that made it. */
	check(pith_client_fork_token(tok) > 1, "another fork token");
	check(pith_client_disconnect() == 0, "disconnect");
	check(claim_in_child(sock, tok, 0, 0, 0) == ESRCH,
	    "its maker gone: ESRCH");

	/* park: the new image gets our process without the close-on-exec
	 * descriptors; our connection is shut. */
	check(pith_client_connect(sock) == 0, "connect again");
	pith_sys_pipe2((int[2]){ 0 }, 0);	/* 0 and 1 */
	fd = pith_sys_open("/", O_RDONLY | O_DIRECTORY);
	check(pith_sys_dup3(fd, 5, O_CLOEXEC) == 5 && pith_sys_dup2(fd, 6) == 6,
	    "descriptors 5 (close-on-exec) and 6");
	check(pith_client_park(tok) == 0, "parked");
	check(pith_client_cancel(tok) == 0 && pith_client_park(tok) == 0,
	    "withdrawn and parked again");
	check(claim_in_child(sock, tok, 1, 0, 1) == 0,
	    "the new image has 6, not 5");
	check(pith_sys_getpid() < 0, "our connection is gone");
	pith_client_disconnect();
	check(pith_client_connect(sock) == 0, "connect again");
}

static void
mode_block(const char *kind)
{
	struct timespec ts = { 1000000, 0 };
	struct epoll_event ev;
	int ep;

	printf("ready\n");
	fflush(stdout);
	if (strcmp(kind, "poll") == 0)
		pith_sys_poll(NULL, 0, -1);
	else if (strcmp(kind, "nanosleep") == 0)
		pith_sys_nanosleep(&ts, NULL);
	else if ((ep = pith_sys_epoll_create1(0)) >= 0)
		pith_sys_epoll_wait(ep, &ev, 1, -1);
	exit(1);
}

static void
mode_verify(const char *file, int kib)
{
	char buf[1024], rbuf[1024];
	struct stat st;
	int fd = pith_sys_open(file, O_RDONLY), ok = fd >= 0;

	check(ok && pith_sys_fstat(fd, &st) == 0 && st.st_size == kib * 1024L,
	    "size");
	for (int i = 0; i < kib && ok; i++) {
		memset(buf, 'a' + i % 26, sizeof(buf));
		if (pith_sys_read(fd, rbuf, sizeof(rbuf)) != sizeof(rbuf) ||
		    memcmp(buf, rbuf, sizeof(buf)) != 0)
			ok = 0;
	}
	check(ok, "contents intact");
	pith_sys_close(fd);
	check(pith_sys_unlink(file) == 0, "removed");
}

static int
raw_connect(const char *sock)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_SEQPACKET, 0);

	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", sock);
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0)
		return -1;
	return fd;
}

static void
mode_badversion(const char *sock)
{
	struct proto_hello h = { PROTO_MAGIC, 999, 0, 0, { 0 } };
	struct proto_welcome w;
	int fd = raw_connect(sock);

	check(fd >= 0 && send(fd, &h, sizeof(h), 0) == sizeof(h), "hello sent");
	check(recv(fd, &w, sizeof(w), 0) == sizeof(w) &&
	    w.pw_error == EPROTONOSUPPORT, "refused: EPROTONOSUPPORT");
	w.pw_msg[sizeof(w.pw_msg) - 1] = '\0';
	printf("# server says: %s\n", w.pw_msg);
	check(strstr(w.pw_msg, "999") != NULL, "the message names the version");
	check(recv(fd, &w, sizeof(w), 0) == 0, "then the server closes");
}

/* A raw session: handshake, then requests built by hand. */
static int
raw_session(const char *sock, char **area)
{
	struct proto_hello h = { PROTO_MAGIC, PROTO_VERSION, 0, 0, { 0 } };
	char cbuf[CMSG_SPACE(sizeof(int))];
	struct proto_welcome w;
	struct iovec iov = { &w, sizeof(w) };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1,
	    .msg_control = cbuf, .msg_controllen = sizeof(cbuf) };
	int fd = raw_connect(sock), mfd = -1;

	if (fd < 0 || send(fd, &h, sizeof(h), 0) != sizeof(h) ||
	    recvmsg(fd, &mh, 0) != sizeof(w) || w.pw_error != 0)
		return -1;
	memcpy(&mfd, CMSG_DATA(CMSG_FIRSTHDR(&mh)), sizeof(int));
	*area = mmap(NULL, w.pw_areasize, PROT_READ | PROT_WRITE, MAP_SHARED, mfd, 0);
	/* Shrinking the area would make the server fault: sealed. */
	check(ftruncate(mfd, 4096) < 0 && errno == EPERM, "area is sealed against shrinking");
	return fd;
}

static long
raw_call(int fd, long nr, const uint64_t *a)
{
	struct proto_req q = { PROTO_OP_SYSCALL, (uint32_t)nr, { 0 } };
	struct proto_rep r;

	memcpy(q.pq_arg, a, sizeof(q.pq_arg));
	if (send(fd, &q, sizeof(q), 0) != sizeof(q) || recv(fd, &r, sizeof(r), 0) != sizeof(r))
		return -99999;
	return (long)r.pr_ret;
}

static void
mode_hostile(const char *sock)
{
	char junk[200], *area;
	uint64_t a[6] = { 0 };
	int fd = raw_session(sock, &area);

	check(fd >= 0, "raw handshake");
	a[0] = PROTO_AREASIZE - 10;	/* a buffer running off the area */
	a[1] = 100;
	check(raw_call(fd, SYS_getcwd, a) == -EFAULT, "buffer past the area: EFAULT");
	a[0] = 1; a[1] = UINT64_MAX - 5; a[2] = 64;
	check(raw_call(fd, SYS_read, a) == -EFAULT, "offset overflow: EFAULT");
	memset(area + PROTO_AREASIZE - 8, 'A', 8);	/* no NUL before the end */
	a[0] = PROTO_AREASIZE - 8; a[1] = 0;
	check(raw_call(fd, SYS_stat, a) == -ENOENT,
	    "unterminated string at the end: stops at the guard");
	a[0] = 1; a[1] = 0; a[2] = 2000;
	check(raw_call(fd, SYS_writev, a) == -EINVAL, "iovcnt > IOV_MAX: EINVAL");
	struct iovec *iov = (struct iovec *)area;
	iov[0].iov_base = (void *)(uintptr_t)(PROTO_AREASIZE - 1);
	iov[0].iov_len = 4096;
	a[0] = 1; a[1] = 0; a[2] = 1;
	check(raw_call(fd, SYS_writev, a) == -EFAULT, "iovec past the area: EFAULT");
	check(raw_call(fd, 100000, a) == -ENOSYS, "unknown number: ENOSYS");
	check(raw_call(fd, SYS_mmap, a) == -ENOSYS, "unimplemented number: ENOSYS");
	check(raw_call(fd, SYS_getpid, a) > 1, "a good call still works");
	memset(junk, 0x5a, sizeof(junk));
	send(fd, junk, 7, 0);		/* truncated */
	check(recv(fd, junk, sizeof(junk), 0) == 0, "truncated request: closed");
	close(fd);
	fd = raw_session(sock, &area);
	send(fd, junk, sizeof(junk), 0);	/* oversized */
	check(recv(fd, junk, sizeof(junk), 0) == 0, "oversized request: closed");
	close(fd);
	fd = raw_session(sock, &area);
	struct proto_req q = { 77, 39, { 0 } };
	send(fd, &q, sizeof(q), 0);	/* unknown op */
	check(recv(fd, junk, sizeof(junk), 0) == 0, "unknown op: closed");
	close(fd);
	/* And the library still connects. */
	check(pith_client_connect(sock) == 0 && pith_sys_getpid() > 1, "server still serves");
}

int
main(int argc, char **argv)
{
	const char *sock = argc > 1 ? argv[1] : NULL, *mode = argc > 2 ? argv[2] : "";

	if (argc < 3) {
		fprintf(stderr, "usage: client_test SOCK MODE [ARGS]\n");
		return 2;
	}
	if (strcmp(mode, "badversion") == 0) {
		mode_badversion(sock);
		return check_failed;
	}
	if (strcmp(mode, "hostile") == 0) {
		mode_hostile(sock);
		return check_failed;
	}
	if (pith_client_connect(sock) < 0) {
		printf("not ok - connect %s: %s\n", sock, strerror(errno));
		return 1;
	}
	if (strcmp(mode, "basic") == 0 && argc > 3)
		mode_basic(argv[3]);
	else if (strcmp(mode, "cwd") == 0 && argc > 4)
		mode_cwd(argv[3], argv[4]);
	else if (strcmp(mode, "mkroot") == 0 && argc > 3)
		mode_mkroot(argv[3]);
	else if (strcmp(mode, "eacces") == 0 && argc > 3)
		mode_eacces(argv[3]);
	else if (strcmp(mode, "hang") == 0)
		mode_hang();
	else if (strcmp(mode, "stream") == 0 && argc > 3)
		mode_stream(argv[3]);
	else if (strcmp(mode, "fork") == 0 && argc > 3)
		mode_fork(argv[3]);
	else if (strcmp(mode, "tokens") == 0)
		mode_tokens(sock);
	else if (strcmp(mode, "block") == 0 && argc > 3)
		mode_block(argv[3]);
	else if (strcmp(mode, "verify") == 0 && argc > 4)
		mode_verify(argv[3], atoi(argv[4]));
	else if (strcmp(mode, "write") == 0 && argc > 4)
		mode_write(argv[3], atoi(argv[4]));
	else {
		fprintf(stderr, "client_test: bad mode %s\n", mode);
		return 2;
	}
	check(pith_client_disconnect() == 0, "disconnect");
	return check_failed;
}
