/*
 * pithd: the server platform.  Boots the hosted kernel, mounts the images
 * it is given, and serves system calls to clients (libpithclient) over a
 * unix socket, one thread and one kernel process per client (conn.c).
 *
 * The socket is the only door, so where it lives matters: its directory
 * is created 0700 if missing, a directory anyone may write without the
 * sticky bit is refused (someone else could replace the socket), and the
 * socket itself is 0600 unless --socket-mode widens it.  A stale socket
 * (nobody listening) is replaced; a live one is an error.
 *
 * The main thread owns the listening socket and an epoll set holding it,
 * a signalfd (SIGTERM, SIGINT: shut down; SIGUSR1: a status line on
 * stderr) and every client socket, the latter only to learn of hang-ups
 * while a client's thread is busy inside the kernel (conn_hangup).
 * When no client has come or gone for a second (PITHD_QUIET_NS), it
 * calls pith_mem_reap once, so that the memory of a burst of clients goes
 * back to the host instead of staying cached in the kernel.
 * Shutdown: stop accepting, remove the socket, hang up on every client,
 * sync, unmount the images, pith_fini, exit 0.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <pith/pith.h>
#include "pithclient/proto.h"
#include "pithd.h"

#define PITHD_MAXIMAGES 16
#define PITHD_QUIET_NS 1000000000ll	/* no client came or went: reap */
#define PITHD_LISTEN_ID 0		/* epoll cookies; clients start at 1 */
#define PITHD_SIGNAL_ID UINT64_MAX

struct image {
	char *path;			/* host path, absolute */
	char *mnt;			/* mount point in the kernel */
};

static struct {
	const char *socket;
	mode_t sockmode;
	unsigned ncpus;
	size_t memory;			/* the kernel's memory limit; 0: default */
	int foreground;
	struct image images[PITHD_MAXIMAGES];
	int nimages;
} opt = { .sockmode = 0600 };

int pithd_epfd = -1;
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;

void
pithd_log(const char *fmt, ...)
{
	va_list ap;

	pthread_mutex_lock(&log_lock);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fflush(stderr);
	pthread_mutex_unlock(&log_lock);
}

static void __attribute__((noreturn))
usage(int status)
{
	fprintf(status ? stderr : stdout,
	    "usage: pithd --socket PATH [--image IMG:/MNT]... [--config FILE]\n"
	    "             [--ncpus N] [--memory SIZE] [--socket-mode MODE] "
	    "[--foreground]\n"
	    "  -s, --socket PATH       listen on this unix socket\n"
	    "  -i, --image IMG:/MNT    mount the ext2 image IMG at /MNT\n"
	    "  -c, --config FILE       read options from FILE (\"key value\" "
	    "lines)\n"
	    "  -n, --ncpus N           virtual CPUs (default: the host's)\n"
	    "  -M, --memory SIZE       the kernel's memory, tmpfs included "
	    "(e.g. 2G;\n"
	    "                          default 256M)\n"
	    "  -m, --socket-mode MODE  the socket's mode (default 0600)\n"
	    "  -f, --foreground        do not detach\n"
	    "  -h, --help              this text\n"
	    "  -V, --version           the version\n");
	exit(status);
}

static void __attribute__((noreturn, format(printf, 1, 2)))
die(const char *fmt, ...)
{
	va_list ap;

	fputs("pithd: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

/* "IMG:/MNT": the mount point starts at the last ":/". */
static void
add_image(const char *arg)
{
	const char *sep = NULL, *p;
	struct image *im;
	char *img, abs[PATH_MAX];

	for (p = arg; (p = strstr(p, ":/")) != NULL; p++)
		sep = p;
	if (sep == NULL || sep == arg)
		die("--image %s: expected IMG:/MOUNTPOINT", arg);
	if (opt.nimages == PITHD_MAXIMAGES)
		die("too many images (at most %d)", PITHD_MAXIMAGES);
	img = strndup(arg, (size_t)(sep - arg));
	if (img == NULL || realpath(img, abs) == NULL)
		die("%s: %s", img ? img : arg, strerror(errno));
	free(img);
	im = &opt.images[opt.nimages++];
	im->path = strdup(abs);
	im->mnt = strdup(sep + 1);
	if (im->path == NULL || im->mnt == NULL)
		die("out of memory");
}

static unsigned
parse_uint(const char *what, const char *s, int base, unsigned max)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, base);
	if (errno || end == s || *end != '\0' || v > max)
		die("%s: bad value '%s'", what, s);
	return (unsigned)v;
}

/* "N", "NK", "NM", "NG": bytes. */
static size_t
parse_size(const char *what, const char *s)
{
	unsigned long long v, mul = 1;
	char *end;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (*end == 'K' || *end == 'k')
		mul = 1ull << 10;
	else if (*end == 'M' || *end == 'm')
		mul = 1ull << 20;
	else if (*end == 'G' || *end == 'g')
		mul = 1ull << 30;
	if (mul != 1)
		end++;
	if (errno || end == s || *end != '\0' || v == 0 ||
	    v > (1ull << 46) / mul)
		die("%s: bad size '%s'", what, s);
	return (size_t)(v * mul);
}

static void set_option(int c, const char *arg);

/* The config file: one "key value" per line, keys as the long options;
 * '#' starts a comment. */
static void
read_config(const char *path)
{
	char line[PATH_MAX + 64], *key, *val, *p;
	FILE *f = fopen(path, "r");
	int lineno = 0;

	if (f == NULL)
		die("%s: %s", path, strerror(errno));
	while (fgets(line, sizeof(line), f) != NULL) {
		lineno++;
		if ((p = strchr(line, '#')) != NULL)
			*p = '\0';
		key = strtok(line, " \t\r\n");
		if (key == NULL)
			continue;
		val = strtok(NULL, "\r\n");
		while (val != NULL && (*val == ' ' || *val == '\t'))
			val++;
		if (strcmp(key, "socket") == 0 && val)
			set_option('s', val);
		else if (strcmp(key, "image") == 0 && val)
			set_option('i', val);
		else if (strcmp(key, "ncpus") == 0 && val)
			set_option('n', val);
		else if (strcmp(key, "memory") == 0 && val)
			set_option('M', val);
		else if (strcmp(key, "socket-mode") == 0 && val)
			set_option('m', val);
		else if (strcmp(key, "foreground") == 0 && val == NULL)
			set_option('f', NULL);
		else
			die("%s:%d: unknown or incomplete line '%s'", path,
			    lineno, key);
	}
	fclose(f);
}

static void
set_option(int c, const char *arg)
{
	switch (c) {
	case 's':
		opt.socket = strdup(arg);
		break;
	case 'i':
		add_image(arg);
		break;
	case 'n':
		opt.ncpus = parse_uint("--ncpus", arg, 10, 1024);
		break;
	case 'M':
		opt.memory = parse_size("--memory", arg);
		break;
	case 'm':
		opt.sockmode = parse_uint("--socket-mode", arg, 8, 0777);
		break;
	case 'f':
		opt.foreground = 1;
		break;
	case 'c':
		read_config(arg);
		break;
	}
}

static void
parse_args(int argc, char **argv)
{
	static const struct option lopts[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "image", required_argument, NULL, 'i' },
		{ "config", required_argument, NULL, 'c' },
		{ "ncpus", required_argument, NULL, 'n' },
		{ "memory", required_argument, NULL, 'M' },
		{ "socket-mode", required_argument, NULL, 'm' },
		{ "foreground", no_argument, NULL, 'f' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 }
	};
	int c;

	while ((c = getopt_long(argc, argv, "s:i:c:n:M:m:fhV", lopts, NULL)) != -1) {
		switch (c) {
		case 'h':
			usage(0);
		case 'V':
			printf("pithd %s (protocol %u)\n", PITH_VERSION_STRING,
			    PROTO_VERSION);
			exit(0);
		case '?':
			usage(2);
		default:
			set_option(c, optarg);
		}
	}
	if (optind != argc)
		die("unexpected argument '%s' (try --help)", argv[optind]);
	if (opt.socket == NULL)
		die("--socket PATH is required (try --help)");
}

/* The socket's directory: made 0700 if missing; refused if anyone can
 * write it without the sticky bit. */
static void
check_socket_dir(const char *sock)
{
	char *copy = strdup(sock), *dir;
	struct stat st;

	if (copy == NULL)
		die("out of memory");
	dir = dirname(copy);
	if (stat(dir, &st) < 0) {
		if (errno != ENOENT || mkdir(dir, 0700) < 0)
			die("%s: %s", dir, strerror(errno));
		if (stat(dir, &st) < 0)
			die("%s: %s", dir, strerror(errno));
	}
	if (!S_ISDIR(st.st_mode))
		die("%s: not a directory", dir);
	if ((st.st_mode & S_IWOTH) && !(st.st_mode & S_ISVTX))
		die("%s: world-writable without the sticky bit; refusing to "
		    "put the socket there", dir);
	if (st.st_uid != getuid() && st.st_uid != 0)
		die("%s: owned by another user (uid %u)", dir,
		    (unsigned)st.st_uid);
	free(copy);
}

/* A socket file already there: replace it if nobody answers. */
static void
check_stale(const char *path, const struct sockaddr_un *sun)
{
	struct stat st;
	int fd;

	if (lstat(path, &st) < 0)
		return;
	if (!S_ISSOCK(st.st_mode))
		die("%s: exists and is not a socket", path);
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd >= 0 && connect(fd, (const struct sockaddr *)sun,
	    sizeof(*sun)) == 0)
		die("%s: a server is already listening there", path);
	if (fd >= 0)
		close(fd);
	if (unlink(path) < 0)
		die("%s: %s", path, strerror(errno));
}

static int
make_socket(void)
{
	struct sockaddr_un sun;
	mode_t old;
	int fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(opt.socket) >= sizeof(sun.sun_path))
		die("%s: path too long for a unix socket", opt.socket);
	strcpy(sun.sun_path, opt.socket);
	check_socket_dir(opt.socket);
	check_stale(opt.socket, &sun);
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		die("socket: %s", strerror(errno));
	/* Never exists with looser permissions than asked, even briefly. */
	old = umask(0177);
	if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0)
		die("%s: %s", opt.socket, strerror(errno));
	umask(old);
	if (chmod(opt.socket, opt.sockmode) < 0 || listen(fd, 128) < 0)
		die("%s: %s", opt.socket, strerror(errno));
	return fd;
}

/* mkdir -p in the kernel, for a mount point. */
static void
kernel_mkdirs(const char *path)
{
	char buf[PATH_MAX];
	size_t i;

	snprintf(buf, sizeof(buf), "%s", path);
	for (i = 1; buf[i] != '\0'; i++) {
		if (buf[i] != '/')
			continue;
		buf[i] = '\0';
		pith_sys_mkdir(buf, 0755);
		buf[i] = '/';
	}
	pith_sys_mkdir(buf, 0755);
}

static void
mount_images(void)
{
	for (int i = 0; i < opt.nimages; i++) {
		kernel_mkdirs(opt.images[i].mnt);
		if (pith_sys_mount(opt.images[i].path, opt.images[i].mnt,
		    "ext2", 0, NULL) < 0)
			die("mount %s on %s: %s", opt.images[i].path,
			    opt.images[i].mnt, strerror(errno));
	}
}

static void
unmount_images(void)
{
	pith_sys_sync();
	for (int i = opt.nimages - 1; i >= 0; i--)
		if (pith_sys_umount2(opt.images[i].mnt, 0) < 0)
			pithd_log("pithd: unmount %s: %s\n", opt.images[i].mnt,
			    strerror(errno));
}

/* Detach; the parent waits until the child is serving (or has failed)
 * so that its exit status means something. */
static int
daemonize(void)
{
	int p[2], status;
	char c;
	pid_t pid;

	if (pipe2(p, O_CLOEXEC) < 0)
		die("pipe: %s", strerror(errno));
	pid = fork();
	if (pid < 0)
		die("fork: %s", strerror(errno));
	if (pid > 0) {
		close(p[1]);
		status = read(p[0], &c, 1) == 1 ? 0 : 1;
		_exit(status);
	}
	close(p[0]);
	setsid();
	return p[1];
}

static long long
pithd_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ll + ts.tv_nsec;
}

static void
serve(int lfd, int sfd)
{
	struct epoll_event ev, evs[32];
	struct signalfd_siginfo si;
	long long last = pithd_now();
	bool dirty = false;		/* clients came or went since a reap */
	int n, fd;

	for (;;) {
		/* Once a second: parked processes nobody claimed go. */
		n = epoll_wait(pithd_epfd, evs, 32, 1000);
		conn_reap_tokens();
		if (n < 0 && errno != EINTR)
			die("epoll_wait: %s", strerror(errno));
		if (dirty && pithd_now() - last >= PITHD_QUIET_NS) {
			pith_mem_reap();
			dirty = false;
		}
		for (int i = 0; i < n; i++) {
			ev = evs[i];
			if (ev.data.u64 == PITHD_SIGNAL_ID) {
				if (read(sfd, &si, sizeof(si)) != sizeof(si))
					continue;
				if (si.ssi_signo == SIGUSR1) {
					pithd_log("pithd: %u clients, kernel "
					    "memory %zu bytes\n", conn_count(),
					    pith_mem_inuse());
					continue;
				}
				return;
			}
			last = pithd_now();
			dirty = true;
			if (ev.data.u64 != PITHD_LISTEN_ID) {
				conn_hangup(ev.data.u64);
				continue;
			}
			while ((fd = accept4(lfd, NULL, NULL,
			    SOCK_CLOEXEC)) >= 0)
				conn_start(fd);
		}
	}
}

int
main(int argc, char **argv)
{
	struct pith_config cfg = { 0 };
	struct epoll_event ev;
	sigset_t mask;
	int lfd, sfd, ready = -1, left;

	parse_args(argc, argv);
	if (!opt.foreground)
		ready = daemonize();

	/* Signals arrive through the signalfd only; threads inherit this. */
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGUSR1);
	pthread_sigmask(SIG_BLOCK, &mask, NULL);
	signal(SIGPIPE, SIG_IGN);
	sfd = signalfd(-1, &mask, SFD_CLOEXEC);
	pithd_epfd = epoll_create1(EPOLL_CLOEXEC);
	if (sfd < 0 || pithd_epfd < 0)
		die("signalfd/epoll: %s", strerror(errno));

	cfg.ncpus = opt.ncpus;
	cfg.mem_limit = opt.memory;
	if (pith_init(&cfg) < 0)
		die("cannot boot the kernel: %s", strerror(errno));
	mount_images();
	lfd = make_socket();

	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN;
	ev.data.u64 = PITHD_LISTEN_ID;
	epoll_ctl(pithd_epfd, EPOLL_CTL_ADD, lfd, &ev);
	ev.data.u64 = PITHD_SIGNAL_ID;
	epoll_ctl(pithd_epfd, EPOLL_CTL_ADD, sfd, &ev);

	pithd_log("pithd: serving on %s\n", opt.socket);
	if (ready >= 0) {
		if (write(ready, "", 1) != 1)
			die("lost the parent");
		close(ready);
		if (freopen("/dev/null", "r", stdin) == NULL)
			die("/dev/null: %s", strerror(errno));
	}
	serve(lfd, sfd);

	/* Shutdown. */
	close(lfd);
	unlink(opt.socket);
	left = conn_shutdown_all(5000);
	unmount_images();
	if (left > 0) {
		/* A thread still in the kernel: pith_fini must not run. */
		pithd_log("pithd: %d clients still inside calls; exiting "
		    "without shutting the kernel down\n", left);
		_exit(0);
	}
	pith_fini();
	pithd_log("pithd: stopped\n");
	return 0;
}
