/*
 * The server platform's figures (issue 6), for bench/run.sh: starts a
 * pithd of the build tree on a temporary socket and measures, against the
 * host doing the same,
 *
 *	remote getpid, remote stat of a path     vs a 64-byte unix-socket
 *						  ping-pong between two processes
 *	64 KiB reads of a 1 GiB file, `pith exec dd` vs host dd on /dev/shm
 *	ls -lR of a 20,000-file tree, `pith exec ls` vs host ls on /dev/shm
 *	server memory per idle connected client   (RSS growth / clients)
 *
 * Linked with libpithclient.  Times are best-of-N wall clock (bench.h);
 * they are noisy on a shared machine.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <pith/client.h>
#include "pithclient/proto.h"
#include "../bench.h"

#define PINGS		20000
#define CALLS		50000
#define IDLE_CLIENTS	200
#define BIG		(1024L * 1024 * 1024)
#define TREE_DIRS	200
#define TREE_FILES	100	/* per directory: 20,000 files */

static char dir[256], sock[256], pithd[PATH_MAX], pith[PATH_MAX];
static char shm[256];
static pid_t server;

static void
cleanup(void)
{
	char cmd[PATH_MAX + 32];

	if (server > 0) {
		kill(server, SIGTERM);
		waitpid(server, NULL, 0);
		server = 0;
	}
	if (shm[0] != '\0') {
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", shm);
		if (system(cmd) != 0)
			fprintf(stderr, "pithd_bench: could not remove %s\n", shm);
	}
	if (dir[0] != '\0') {
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
		if (system(cmd) != 0)
			fprintf(stderr, "pithd_bench: could not remove %s\n", dir);
	}
}

static void
start_server(void)
{
	char *slash;
	ssize_t n;

	n = readlink("/proc/self/exe", pithd, sizeof(pithd) - 256);
	if (n <= 0)
		bench_die("/proc/self/exe");
	pithd[n] = '\0';
	slash = strrchr(pithd, '/');
	*slash = '\0';
	slash = strrchr(pithd, '/');	/* build/bench -> build */
	*slash = '\0';
	memcpy(pith, pithd, strlen(pithd) + 1);
	strcat(pith, "/pith");
	strcat(pithd, "/pithd");
	snprintf(dir, sizeof(dir), "/tmp/pithd_bench.XXXXXX");
	if (mkdtemp(dir) == NULL)
		bench_die("mkdtemp");
	memcpy(sock, dir, strlen(dir) + 1);
	strcat(sock, "/s");
	server = fork();
	if (server == 0) {
		int null = open("/dev/null", O_WRONLY);

		dup2(null, 2);
		execl(pithd, "pithd", "--foreground", "--memory", "2G",
		    "--socket", sock, (char *)NULL);
		_exit(127);
	}
	for (int i = 0; i < 200 && access(sock, F_OK) != 0; i++)
		usleep(20000);
	if (pith_client_connect(sock) < 0)
		bench_die("pith_client_connect");
}

/* Run argv with stdout to /dev/null; its wall time in ns, or -1. */
static double
run(char *const argv[])
{
	double t0 = now_ns();
	int status;
	pid_t pid = fork();

	if (pid == 0) {
		int null = open("/dev/null", O_WRONLY);

		dup2(null, 1);
		setenv("PITH_SERVER", sock, 1);
		execv(argv[0], argv);
		_exit(127);
	}
	if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status) ||
	    WEXITSTATUS(status) != 0)
		return -1;
	return now_ns() - t0;
}

static double
best_run(char *const argv[], int runs)
{
	double best = 1e300, t;

	for (int i = 0; i < runs; i++) {
		t = run(argv);
		if (t < 0)
			return -1;
		if (t < best)
			best = t;
	}
	return best;
}

/* A 64-byte round trip between two processes over a unix socket. */
static double
pingpong_ns(void)
{
	char buf[64];
	int sv[2];
	pid_t pid;
	double ns;

	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0)
		bench_die("socketpair");
	pid = fork();
	if (pid == 0) {
		close(sv[0]);
		while (read(sv[1], buf, sizeof(buf)) == sizeof(buf))
			if (write(sv[1], buf, sizeof(buf)) != sizeof(buf))
				break;
		_exit(0);
	}
	close(sv[1]);
	memset(buf, 'x', sizeof(buf));
	ns = BEST_NS_PER_OP(PINGS, {
		for (int i = 0; i < PINGS; i++)
			if (write(sv[0], buf, sizeof(buf)) != sizeof(buf) ||
			    read(sv[0], buf, sizeof(buf)) != sizeof(buf))
				bench_die("ping-pong");
	});
	close(sv[0]);
	waitpid(pid, NULL, 0);
	return ns;
}

static long
server_rss_kib(void)
{
	char path[64], line[256];
	long kb = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)server);
	if ((f = fopen(path, "r")) == NULL)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "VmRSS: %ld", &kb) == 1)
			break;
	fclose(f);
	return kb;
}

/* A connection as libpithclient makes it (ring included), kept idle. */
static int
idle_client(void)
{
	struct proto_hello h = { PROTO_MAGIC, PROTO_VERSION, PROTO_HELLO_RING,
	    0, { 0 } };
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	char cbuf[CMSG_SPACE(2 * sizeof(int))];
	struct proto_welcome w;
	struct iovec iov = { &w, sizeof(w) };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1,
	    .msg_control = cbuf, .msg_controllen = sizeof(cbuf) };
	struct cmsghdr *cm;
	int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0), fds[2];

	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", sock);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0 ||
	    send(fd, &h, sizeof(h), 0) != sizeof(h) ||
	    recvmsg(fd, &mh, MSG_CMSG_CLOEXEC) != sizeof(w) || w.pw_error)
		bench_die("idle client");
	cm = CMSG_FIRSTHDR(&mh);
	if (cm != NULL && cm->cmsg_len == CMSG_LEN(sizeof(fds))) {
		memcpy(fds, CMSG_DATA(cm), sizeof(fds));
		close(fds[0]);
		close(fds[1]);
	}
	return fd;
}

static void
fill(char *buf, size_t n)
{
	for (size_t i = 0; i < n; i++)
		buf[i] = (char)('a' + i % 23);
}

int
main(void)
{
	static char buf[1 << 20];
	char path[PATH_MAX], arg[PATH_MAX + 8];
	double ping, gp, st, host, remote;
	struct stat sb;
	long rss0, rss1;
	int fds[IDLE_CLIENTS], fd;

	atexit(cleanup);
	start_server();

	ping = pingpong_ns();
	gp = BEST_NS_PER_OP(CALLS, {
		for (int i = 0; i < CALLS; i++)
			pith_sys_getpid();
	});
	figure("remote getpid vs socket ping-pong", gp, ping, "ns/call",
	    gp / ping);
	fd = pith_sys_open("/tmp/statme", O_CREAT | O_WRONLY, 0644);
	pith_sys_close(fd);
	st = BEST_NS_PER_OP(CALLS, {
		for (int i = 0; i < CALLS; i++)
			if (pith_sys_stat("/tmp/statme", &sb) < 0)
				bench_die("remote stat");
	});
	figure("remote stat vs socket ping-pong", st, ping, "ns/call",
	    st / ping);

	/* Memory per idle client. */
	usleep(200000);
	rss0 = server_rss_kib();
	for (int i = 0; i < IDLE_CLIENTS; i++)
		fds[i] = idle_client();
	usleep(300000);
	rss1 = server_rss_kib();
	figure("pithd memory per idle client", (double)(rss1 - rss0) /
	    IDLE_CLIENTS, 0, "KiB", (double)(rss1 - rss0) / IDLE_CLIENTS);
	for (int i = 0; i < IDLE_CLIENTS; i++)
		close(fds[i]);

	/* 1 GiB read in 64 KiB pieces. */
	snprintf(shm, sizeof(shm), "/dev/shm/pithd_bench.XXXXXX");
	if (mkdtemp(shm) == NULL)
		bench_die("mkdtemp /dev/shm");
	fill(buf, sizeof(buf));
	memcpy(path, shm, strlen(shm) + 1);
	strcat(path, "/big");
	fd = open(path, O_CREAT | O_WRONLY | O_TRUNC, 0644);
	for (long off = 0; off < BIG; off += (long)sizeof(buf))
		if (write(fd, buf, sizeof(buf)) != (ssize_t)sizeof(buf))
			bench_die("host big file");
	close(fd);
	fd = pith_sys_open("/tmp/big", O_CREAT | O_WRONLY | O_TRUNC, 0644);
	for (long off = 0; off < BIG;) {
		long n = pith_sys_write(fd, buf, sizeof(buf));

		if (n <= 0)
			bench_die("server big file");
		off += n;
	}
	pith_sys_close(fd);
	snprintf(arg, sizeof(arg), "if=%s", path);
	{
		char *h[] = { "/bin/dd", arg, "of=/dev/null", "bs=64k",
		    "status=none", NULL };
		char *p[] = { pith, "exec", "--", "/bin/dd", "if=/pith/tmp/big",
		    "of=/dev/null", "bs=64k", "status=none", NULL };

		host = best_run(h, 3);
		remote = best_run(p, 3);
	}
	unlink(path);
	pith_sys_unlink("/tmp/big");
	if (host > 0 && remote > 0)
		figure("pith exec dd 64 KiB reads of 1 GiB", BIG / remote,
		    BIG / host, "GB/s", host / remote);

	/* ls -lR of 20,000 files. */
	pith_sys_mkdir("/tree", 0755);
	memcpy(path, shm, strlen(shm) + 1);
	strcat(path, "/tree");
	mkdir(path, 0755);
	for (int d = 0; d < TREE_DIRS; d++) {
		char sub[PATH_MAX + 32];

		snprintf(sub, sizeof(sub), "%s/tree/d%03d", shm, d);
		mkdir(sub, 0755);
		snprintf(sub, sizeof(sub), "/tree/d%03d", d);
		pith_sys_mkdir(sub, 0755);
		for (int f = 0; f < TREE_FILES; f++) {
			char file[PATH_MAX + 64];

			snprintf(file, sizeof(file), "%s/tree/d%03d/file%03d",
			    shm, d, f);
			close(open(file, O_CREAT | O_WRONLY, 0644));
			snprintf(file, sizeof(file), "/tree/d%03d/file%03d", d,
			    f);
			pith_sys_close(pith_sys_open(file, O_CREAT | O_WRONLY,
			    0644));
		}
	}
	{
		char *h[] = { "/bin/ls", "-lR", path, NULL };
		char *p[] = { pith, "exec", "--", "/bin/ls", "-lR",
		    "/pith/tree", NULL };

		host = best_run(h, 3);
		remote = best_run(p, 3);
	}
	if (host > 0 && remote > 0)
		figure("pith exec ls -lR 20,000 files", remote / 1e6,
		    host / 1e6, "ms", remote / host);
	return 0;
}
