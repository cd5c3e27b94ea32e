/*
 * libpithshim: execve, and what crosses it.
 *
 * The new image keeps the kernel process (docs/protocol.md): before the
 * host's execve this process parks it under a token, makes the
 * placeholders of server descriptors without close-on-exec (in the
 * server) inheritable, and passes both in the environment ($PITH_TOKEN,
 * $PITH_FDS); the new image's shim claims the process at load, and the
 * server closes its close-on-exec descriptors then.  If execve fails, the
 * token is withdrawn and the placeholders are made close-on-exec again.
 * A child of vfork (dash runs simple commands so) shares the parent's
 * memory and connection while the parent waits: it must not park the
 * parent's process, so it asks for a copy instead (PROTO_OP_FORK, on
 * the parent's connection, safe while the parent is suspended) and hands
 * that over.  posix_spawn, system and popen children come through
 * here too: spawn.c redoes them on fork and the shim's execve.
 *
 * Two more things are carried:
 *
 * - the working directory in the server, in $PITH_CWD: shim_setcwd keeps
 *   environ in step, and the explicit environment a shell passes to
 *   execve gets the variable added or removed here;
 *
 * - standard input, output and error that are server descriptors (a
 *   shell's `cmd > /pith/f` opens the file in the child, then execs):
 *   glibc's stdio writes them with internal calls the shim never sees.
 *   The program gets a pipe in their place (and a copy of our kernel
 *   process to claim, PROTO_OP_FORK), and this process, which
 *   keeps the connection, becomes a pump: it copies between the pipes
 *   and the server descriptors until the program is done with them, waits
 *   for it, and exits with its status (or dies of its signal), so the
 *   shell waiting for this pid sees the program's end and finds the file
 *   complete.  A background child of the program that still holds a
 *   pipe when the program ends gets a pump of its own (shim_pump_detach).  Signals the shell sends (INT, TERM, HUP, QUIT, USR1/2) are
 *   passed on.  The program is forked with the raw system call, so no
 *   atfork handler runs: it only moves the pipes and execs.  If its exec
 *   fails, the errno comes back on a close-on-exec pipe and execve
 *   returns it here as if nothing had happened (shells try each PATH
 *   entry).
 */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include <pith/client.h>
#include "shim.h"

#define PUMP_BUF	65536

struct shim_pump {
	int	sp_fd;		/* 0, 1 or 2 in the program */
	int	sp_sfd;		/* the server descriptor behind it */
	int	sp_in;		/* server -> program (its input) */
	int	sp_pipe;	/* our end, non-blocking */
	int	sp_other;	/* the program's end */
	int	sp_done;
	int	sp_len, sp_off;	/* bytes in sp_buf, bytes already passed on */
	char	sp_buf[PUMP_BUF];
};

static struct shim_pump shim_pumps[3];

/* What an execve hands to the new image, and how to undo it. */
struct shim_handoff {
	int	sh_ok;			/* a token was made */
	char	sh_tokvar[64];		/* PITH_TOKEN=... */
	char	sh_fdsvar[4096];	/* PITH_FDS=... */
	int	sh_nkept;
	int	sh_kept[256];		/* placeholders made inheritable */
};
static volatile pid_t shim_pumpchild;

static void
shim_forward(int sig, siginfo_t *si, void *uc)
{
	(void)uc;
	/* The terminal's ^C and ^\ reach the whole foreground group, the
	 * program with us: passing them on would deliver them twice. */
	if (shim_pumpchild > 0 && si->si_code != SI_KERNEL)
		kill(shim_pumpchild, sig);
}

/* A pipe end moved to 3 or above, so it never lands on 0-2. */
static int
shim_high(int fd)
{
	int h;

	if (fd >= 3)
		return fd;
	h = REAL(fcntl)(fd, F_DUPFD_CLOEXEC, 3);
	REAL(close)(fd);
	return h;
}

static int
shim_pump_open(struct shim_pump *p)
{
	int fds[2];
	long fl;

	fl = SCALL(SYS_fcntl, p->sp_sfd, F_GETFL, 0, 0, 0, 0);
	if (fl < 0)
		return (int)-fl;
	if ((fl & O_ACCMODE) == O_RDONLY)
		p->sp_in = 1;
	else if ((fl & O_ACCMODE) == O_WRONLY)
		p->sp_in = 0;
	else
		p->sp_in = p->sp_fd == 0;
	if (pipe2(fds, O_CLOEXEC | O_NONBLOCK) < 0)
		return errno;
	fds[0] = shim_high(fds[0]);
	fds[1] = shim_high(fds[1]);
	p->sp_pipe = p->sp_in ? fds[1] : fds[0];
	p->sp_other = p->sp_in ? fds[0] : fds[1];
	/* The program's end blocks, as a shell's pipe would. */
	REAL(fcntl)(p->sp_other, F_SETFL, 0);
	p->sp_done = p->sp_len = p->sp_off = 0;
	return 0;
}

static void
shim_pump_close(struct shim_pump *p)
{
	REAL(close)(p->sp_pipe);
	p->sp_done = 1;
}

/* The program wrote: pass it all to the server. */
static void
shim_pump_out(struct shim_pump *p)
{
	ssize_t n;
	long w;
	int off;

	n = REAL(read)(p->sp_pipe, p->sp_buf, sizeof(p->sp_buf));
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		shim_pump_close(p);
		return;
	}
	for (off = 0; off < n; off += (int)w) {
		w = SCALL(SYS_write, p->sp_sfd, p->sp_buf + off, n - off, 0,
		    0, 0);
		if (w == -EINTR) {
			w = 0;
			continue;
		}
		if (w <= 0) {
			/* The program sees EPIPE, as on a broken pipe. */
			shim_pump_close(p);
			return;
		}
	}
}

/* The program can take input: read the server when we have none. */
static void
shim_pump_in(struct shim_pump *p)
{
	ssize_t w;
	long n;

	if (p->sp_off == p->sp_len) {
		n = SCALL(SYS_read, p->sp_sfd, p->sp_buf, sizeof(p->sp_buf), 0,
		    0, 0);
		if (n == -EINTR)
			return;
		if (n <= 0) {
			shim_pump_close(p);
			return;
		}
		p->sp_len = (int)n;
		p->sp_off = 0;
	}
	w = REAL(write)(p->sp_pipe, p->sp_buf + p->sp_off,
	    (size_t)(p->sp_len - p->sp_off));
	if (w < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (w < 0) {
		shim_pump_close(p);
		return;
	}
	p->sp_off += (int)w;
}

/* One pass over the pumps that poll found ready. */
static void
shim_pump_step(struct pollfd *pf, const int *idx, int live)
{
	for (int k = 0; k < live; k++) {
		struct shim_pump *p = &shim_pumps[idx[k]];

		if (pf[k].revents == 0)
			continue;
		if (!p->sp_in)
			shim_pump_out(p);
		else if (pf[k].revents & POLLOUT)
			shim_pump_in(p);
		else
			shim_pump_close(p);	/* reader gone */
	}
}

/* End as the program ended: its exit status, or its signal. */
static void __attribute__((noreturn))
shim_pump_exit(int status)
{
	if (WIFSIGNALED(status)) {
		signal(WTERMSIG(status), SIG_DFL);
		raise(WTERMSIG(status));
		_exit(128 + WTERMSIG(status));
	}
	_exit(WEXITSTATUS(status));
}

/*
 * The program has ended but something it started still holds a pipe
 * (`daemon &`): the shell waiting for us must see the end now, and the
 * file must still get what the survivor writes.  So a child of ours
 * (glibc's fork: a copy of the kernel process, the same server
 * descriptors) pumps on, and we end with the program's status.
 */
static void
shim_pump_detach(int status)
{
	int hs[2], hs_ok;
	char c = 0;
	pid_t pid;

	/* The copy waits in the server only while our connection lives:
	 * the child says when it has claimed it (fork returns after). */
	hs_ok = pipe2(hs, O_CLOEXEC) == 0;
	pid = fork();
	if (pid == 0) {
		shim_pumpchild = 0;
		if (hs_ok) {
			REAL(write)(hs[1], &c, 1);
			REAL(close)(hs[0]);
			REAL(close)(hs[1]);
		}
		return;
	}
	if (hs_ok) {
		REAL(close)(hs[1]);
		while (pid > 0 && REAL(read)(hs[0], &c, 1) < 0 &&
		    errno == EINTR)
			;
	}
	shim_pump_exit(status);
}

/*
 * Pump until the program and whatever it left holding the pipes are
 * done.  state: RUN while the program runs (its pidfd in the poll set),
 * DRAIN once it is reaped (take what is already there, without
 * waiting), DETACHED in the child shim_pump_detach leaves behind.
 */
enum { PUMP_RUN, PUMP_DRAIN, PUMP_DETACHED };

static void __attribute__((noreturn))
shim_pump_run(int npump, pid_t pid)
{
	static const int fwd[] = { SIGHUP, SIGINT, SIGQUIT, SIGTERM,
	    SIGUSR1, SIGUSR2 };
	struct pollfd pf[4];
	struct sigaction sa;
	int idx[3], i, live, n, status = 0, pidfd, state = PUMP_RUN;

	shim_pumpchild = pid;
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = shim_forward;
	sa.sa_flags = SA_SIGINFO;
	sigemptyset(&sa.sa_mask);
	for (i = 0; i < (int)(sizeof(fwd) / sizeof(fwd[0])); i++)
		sigaction(fwd[i], &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	/* Readable when the program ends (Linux 5.3); without it we wait
	 * for the pipes to close instead. */
	pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	for (;;) {
		live = 0;
		for (i = 0; i < npump; i++) {
			if (shim_pumps[i].sp_done)
				continue;
			pf[live].fd = shim_pumps[i].sp_pipe;
			pf[live].events = shim_pumps[i].sp_in ? POLLOUT : POLLIN;
			pf[live].revents = 0;
			idx[live++] = i;
		}
		if (live == 0)
			break;
		pf[live].fd = state == PUMP_RUN ? pidfd : -1;
		pf[live].events = POLLIN;
		pf[live].revents = 0;
		n = poll(pf, (nfds_t)live + 1, state == PUMP_DRAIN ? 0 : -1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			break;
		if (n == 0 && state == PUMP_DRAIN) {
			/* Drained: what comes later is a survivor's. */
			if (pidfd >= 0)
				REAL(close)(pidfd);
			pidfd = -1;
			shim_pump_detach(status);
			state = PUMP_DETACHED;
			continue;
		}
		shim_pump_step(pf, idx, live);
		if (state == PUMP_RUN && (pf[live].revents & POLLIN) &&
		    waitpid(pid, &status, WNOHANG) == pid)
			state = PUMP_DRAIN;
	}
	if (state == PUMP_DETACHED)
		_exit(0);		/* nobody waits for this one */
	if (state == PUMP_RUN)
		while (waitpid(pid, &status, 0) < 0)
			if (errno != EINTR)
				_exit(127);
	shim_pump_exit(status);
}

/* Whether the pump needs host descriptor fd, or server descriptor sfd. */
static int
shim_pump_keeps(int npump, int fd, int sfd)
{
	for (int i = 0; i < npump; i++)
		if (fd == shim_pumps[i].sp_pipe ||
		    (sfd >= 0 && sfd == shim_pumps[i].sp_sfd))
			return 1;
	return fd == pith_client_sockfd();
}

/* Drop what the pump holds as the program's stand-in (below). */
static void
shim_pump_drop(int npump, int fd)
{
	int sfd = shim_sfd(fd);

	if (shim_pump_keeps(npump, fd, -1))
		return;
	if (sfd >= 0) {
		if (!shim_pump_keeps(npump, -1, sfd))
			SCALL(SYS_close, sfd, 0, 0, 0, 0, 0);
		shim_forget(fd);
		REAL(close)(fd);
	} else if (REAL(fcntl)(fd, F_GETFD) & FD_CLOEXEC)
		REAL(close)(fd);
}

/*
 * The pump outlives the exec it stands for, so it lets go of what the
 * exec would have closed: host descriptors that are close-on-exec (a
 * posix_spawn error pipe held open would keep the spawner waiting for
 * the program's end) and server descriptors other than the pumped ones
 * (the program has its own copies; ours would keep a server pipe's
 * reader from seeing its end).  Descriptors are listed from
 * /proc/self/fd first, then dropped.
 */
static void
shim_pump_shed(int npump)
{
	char buf[4096];
	static int fds[4096];
	int dfd, n = 0, i;
	long len, off;

	dfd = REAL(open)("/proc/self/fd", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return;
	while (n < (int)(sizeof(fds) / sizeof(fds[0])) &&
	    (len = syscall(SYS_getdents64, dfd, buf, sizeof(buf))) > 0)
		for (off = 0; off < len && n < 4096; ) {
			struct { unsigned long long ino; long long off;
			    unsigned short reclen; unsigned char type;
			    char name[]; } *de = (void *)(buf + off);

			if (de->name[0] >= '0' && de->name[0] <= '9')
				fds[n++] = atoi(de->name);
			off += de->reclen;
		}
	REAL(close)(dfd);
	for (i = 0; i < n; i++)
		if (fds[i] != dfd)
			shim_pump_drop(npump, fds[i]);
}

/*
 * Keep server descriptors from `from` up that are not close-on-exec in
 * the server: their placeholders become inheritable and are listed.
 */
static void
shim_handoff_fds(struct shim_handoff *ho, int from)
{
	size_t len = strlen(SHIM_FDSENV "="), n;
	int fd, sfd, max = shim_maxfd_now();
	long fl;

	strcpy(ho->sh_fdsvar, SHIM_FDSENV "=");
	ho->sh_nkept = 0;
	for (fd = from; fd < max && ho->sh_nkept < 256; fd++) {
		if ((sfd = shim_sfd(fd)) < 0)
			continue;
		fl = SCALL(SYS_fcntl, sfd, F_GETFD, 0, 0, 0, 0);
		if (fl < 0 || (fl & FD_CLOEXEC))
			continue;
		n = (size_t)snprintf(ho->sh_fdsvar + len,
		    sizeof(ho->sh_fdsvar) - len, "%s%d:%d",
		    ho->sh_nkept ? "," : "", fd, sfd);
		if (n >= sizeof(ho->sh_fdsvar) - len)
			break;
		if (REAL(fcntl)(fd, F_SETFD, 0) < 0) {
			ho->sh_fdsvar[len] = '\0';
			continue;
		}
		len += n;
		ho->sh_kept[ho->sh_nkept++] = fd;
	}
}

/*
 * Ready the hand-off to a new image: copy (a pumped exec: we stay, the
 * program gets a copy; a vfork child: the process is the parent's) or
 * park (we become the program), keeping descriptors from `from` up.
 * ho->sh_ok says whether there is something to hand off.
 */
static void
shim_handoff(struct shim_handoff *ho, int copy, int from)
{
	char tok[PITH_CLIENT_TOKENSTR];
	int r;

	ho->sh_ok = 0;
	ho->sh_nkept = 0;
	if (!shim_connected_now())
		return;
	r = copy ? (int)pith_client_fork_token(tok) : pith_client_park(tok);
	if (r < 0)
		return;
	snprintf(ho->sh_tokvar, sizeof(ho->sh_tokvar), "%s=%s", SHIM_TOKENENV,
	    tok);
	shim_handoff_fds(ho, from);
	ho->sh_ok = 1;
}

/* execve failed: take the token back, the placeholders close-on-exec. */
static void
shim_handoff_undo(struct shim_handoff *ho)
{
	int error = errno;

	if (!ho->sh_ok)
		return;
	pith_client_cancel(ho->sh_tokvar + strlen(SHIM_TOKENENV "="));
	for (int i = 0; i < ho->sh_nkept; i++)
		REAL(fcntl)(ho->sh_kept[i], F_SETFD, FD_CLOEXEC);
	ho->sh_ok = 0;
	errno = error;
}

/* execve with pipes in place of the server's standard descriptors. */
static int
shim_exec_pumped(const char *path, char *const argv[], char *const envp[],
    int npump)
{
	int (*rdup2)(int, int) = REAL(dup2);
	int (*rexecve)(const char *, char *const[], char *const[]) =
	    REAL(execve);
	ssize_t (*rwrite)(int, const void *, size_t) = REAL(write);
	int st[2], i, error = 0;
	ssize_t n;
	pid_t pid;

	for (i = 0; i < npump && error == 0; i++) {
		error = shim_pump_open(&shim_pumps[i]);
		if (error)
			npump = i;
	}
	if (error == 0 && pipe2(st, O_CLOEXEC) < 0)
		error = errno;
	if (error)
		goto fail;
	pid = (pid_t)syscall(SYS_fork);
	if (pid == 0) {
		for (i = 0; i < npump; i++)
			rdup2(shim_pumps[i].sp_other, shim_pumps[i].sp_fd);
		rexecve(path, argv, envp);
		error = errno;
		rwrite(st[1], &error, sizeof(error));
		_exit(127);
	}
	error = pid < 0 ? errno : 0;
	REAL(close)(st[1]);
	if (pid > 0) {
		do
			n = REAL(read)(st[0], &error, sizeof(error));
		while (n < 0 && errno == EINTR);
		if (n != sizeof(error))
			error = 0;
		if (error)
			while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
				;
	}
	REAL(close)(st[0]);
	if (error == 0) {
		for (i = 0; i < npump; i++)
			REAL(close)(shim_pumps[i].sp_other);
		shim_pump_shed(npump);
		shim_pump_run(npump, pid);
	}
fail:
	for (i = 0; i < npump; i++) {
		REAL(close)(shim_pumps[i].sp_pipe);
		REAL(close)(shim_pumps[i].sp_other);
	}
	errno = error;
	return -1;
}

static int shim_null(const void *p);

/* Whether path is a static ELF executable (no PT_INTERP). */
static int
shim_isstatic(const char *path)
{
	Elf64_Ehdr eh;
	Elf64_Phdr ph;
	int fd = REAL(open)(path, O_RDONLY | O_CLOEXEC), st = 0;

	if (fd < 0)
		return 0;
	if (REAL(pread)(fd, &eh, sizeof(eh), 0) != sizeof(eh) ||
	    memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0 ||
	    eh.e_ident[EI_CLASS] != ELFCLASS64 ||
	    (eh.e_type != ET_EXEC && eh.e_type != ET_DYN))
		goto out;
	st = 1;
	for (int i = 0; i < eh.e_phnum && st; i++)
		if (REAL(pread)(fd, &ph, sizeof(ph), (off_t)(eh.e_phoff +
		    (unsigned long)i * sizeof(ph))) != sizeof(ph) ||
		    ph.p_type == PT_INTERP)
			st = 0;
out:
	REAL(close)(fd);
	return st;
}

/* pithload, beside this library, into buf; 0 if it is not there. */
static int
shim_pithload(char *buf, size_t len)
{
	Dl_info di;
	const char *slash;

	if (dladdr((void *)shim_pithload, &di) == 0 || di.dli_fname == NULL ||
	    (slash = strrchr(di.dli_fname, '/')) == NULL ||
	    (size_t)snprintf(buf, len, "%.*s/pithload",
	    (int)(slash - di.dli_fname), di.dli_fname) >= len)
		return 0;
	return access(buf, X_OK) == 0;
}

/*
 * The program's copy of our kernel process must not keep the pumped
 * descriptors: it has pipes at 0-2 and could never reach them, yet they
 * would hold the files open in the server for its whole life.  So they
 * are close-on-exec in the server while the copy is made (set: 1), and
 * its claim closes them; then put back as they were (set: 0), for the
 * pump or for the caller if execve fails.
 */
static void
shim_pump_cloexec(int npump, int *saved, int set)
{
	for (int i = 0; i < npump; i++) {
		if (set)
			saved[i] = (int)SCALL(SYS_fcntl, shim_pumps[i].sp_sfd,
			    F_GETFD, 0, 0, 0, 0);
		if (saved[i] < 0 || (saved[i] & FD_CLOEXEC))
			continue;
		SCALL(SYS_fcntl, shim_pumps[i].sp_sfd, F_SETFD,
		    set ? saved[i] | FD_CLOEXEC : saved[i], 0, 0, 0);
	}
}

/* Whether env entry e is variable name (of length len). */
static int
shim_isvar(const char *e, const char *name, size_t len)
{
	return strncmp(e, name, len) == 0 && e[len] == '=';
}

SHIM_EXPORT int
execve(const char *path, char *const argv[], char *const envp[])
{
	size_t i, n, lc = strlen(SHIM_CWDENV), lt = strlen(SHIM_TOKENENV),
	    lf = strlen(SHIM_FDSENV);
	char var[PATH_MAX + 16];
	int fd, sfd, npump = 0, r, saved[3];
	/* On our stack: vfork and light posix_spawn children of several
	 * threads share the parent's memory and may exec at once. */
	struct shim_handoff ho;

	for (n = 0; envp != NULL && envp[n] != NULL; n++)
		;
	char *nenv[n + 4];
	size_t j = 0;

	for (fd = 0; fd < 3; fd++) {
		sfd = shim_sfd(fd);
		if (sfd < 0)
			continue;
		shim_pumps[npump].sp_fd = fd;
		shim_pumps[npump].sp_sfd = sfd;
		npump++;
	}
	shim_pump_cloexec(npump, saved, 1);
	shim_handoff(&ho, npump > 0 || shim_vforked(), npump > 0 ? 3 : 0);
	shim_pump_cloexec(npump, saved, 0);
	for (i = 0; i < n; i++)
		if (!shim_isvar(envp[i], SHIM_CWDENV, lc) &&
		    !shim_isvar(envp[i], SHIM_TOKENENV, lt) &&
		    !shim_isvar(envp[i], SHIM_FDSENV, lf))
			nenv[j++] = envp[i];
	if (shim_cwd_server) {
		snprintf(var, sizeof(var), "%s=%s", SHIM_CWDENV, shim_cwd);
		nenv[j++] = var;
	}
	if (ho.sh_ok) {
		nenv[j++] = ho.sh_tokvar;
		nenv[j++] = ho.sh_fdsvar;
	}
	nenv[j] = NULL;
	/* A static program has no libc for us: pithload runs it. */
	for (n = 0; !shim_null(argv) && argv[n] != NULL; n++)
		;
	char *largv[n + 4], load[PATH_MAX];

	if (!shim_null(argv) && !shim_null(path) && shim_isstatic(path) &&
	    shim_pithload(load, sizeof(load))) {
		largv[0] = load;
		largv[1] = (char *)path;
		memcpy(largv + 2, argv, (n + 1) * sizeof(*argv));
		if (n == 0) {
			largv[2] = (char *)path;
			largv[3] = NULL;
		}
		argv = largv;
		path = load;
	}
	if (npump == 0)
		r = REAL(execve)(path, argv, nenv);
	else
		r = shim_exec_pumped(path, argv, nenv, npump);
	shim_handoff_undo(&ho);
	return r;
}

/*
 * The other exec functions: glibc's call its execve by an internal name,
 * so they are redone here over the execve above (PATH search and the
 * ENOEXEC fallback to /bin/sh as glibc does them), so that find -exec,
 * xargs and env carry the standard descriptors too.
 */
/* glibc declares these arguments nonnull, but a NULL must not crash us:
 * the pointer is hidden from the optimiser so the test stays. */
static int
shim_null(const void *p)
{
	__asm__("" : "+r" (p));
	return (uintptr_t)p == 0;
}

SHIM_EXPORT int
execv(const char *path, char *const argv[])
{
	return execve(path, argv, environ);
}

/* A file without #! or ELF magic: run it with /bin/sh, as glibc does. */
static void
shim_exec_script(const char *file, char *const argv[], char *const envp[])
{
	size_t n;

	for (n = 0; argv[n] != NULL; n++)
		;
	char *nargv[n + 2];

	nargv[0] = (char *)"/bin/sh";
	nargv[1] = (char *)file;
	memcpy(nargv + 2, argv + (n > 0), (n > 0 ? n - 1 : 0) * sizeof(char *));
	nargv[n > 0 ? n + 1 : 2] = NULL;
	execve(nargv[0], nargv, envp);
}

/*
 * execvp's search of PATH (the caller's environment, not envp's; an empty
 * element is the working directory).  Returns only on failure, with the
 * errno to report.  With scripts, a file the kernel will not run
 * (ENOEXEC) is run by /bin/sh, as execvp does; posix_spawnp passes 0
 * (glibc dropped that fallback there in 2.15).
 */
int
shim_exec_search(const char *file, char *const argv[], char *const envp[],
    int scripts)
{
	char buf[PATH_MAX];
	const char *path, *p, *end;
	size_t dlen, flen = strlen(file);
	int eacces = 0;

	path = getenv("PATH");
	if (path == NULL)
		path = "/bin:/usr/bin";
	for (p = path; ; p = end + 1) {
		end = strchrnul(p, ':');
		dlen = (size_t)(end - p);
		if (dlen + flen + 2 <= sizeof(buf)) {
			memcpy(buf, p, dlen);
			if (dlen == 0)
				buf[dlen++] = '.';
			buf[dlen] = '/';
			memcpy(buf + dlen + 1, file, flen + 1);
			execve(buf, argv, envp);
			switch (errno) {
			case EACCES:
				eacces = 1;
				/* FALLTHROUGH */
			case ENOENT:
			case ESTALE:
			case ENOTDIR:
			case ENODEV:
			case ETIMEDOUT:
				break;
			case ENOEXEC:
				if (scripts)
					shim_exec_script(buf, argv, envp);
				return errno;
			default:
				return errno;
			}
		}
		if (*end == '\0')
			break;
	}
	return eacces ? EACCES : ENOENT;
}

SHIM_EXPORT int
execvpe(const char *file, char *const argv[], char *const envp[])
{
	if (shim_null(file) || *file == '\0') {
		errno = ENOENT;
		return -1;
	}
	if (strchr(file, '/') != NULL) {
		execve(file, argv, envp);
		if (errno == ENOEXEC)
			shim_exec_script(file, argv, envp);
		return -1;
	}
	errno = shim_exec_search(file, argv, envp, 1);
	return -1;
}

SHIM_EXPORT int
execvp(const char *file, char *const argv[])
{
	return execvpe(file, argv, environ);
}

/* The list forms: gather the arguments, then as above. */
static void
shim_fillargs(const char *arg0, va_list ap, char **argv, size_t n)
{
	size_t i;

	argv[0] = (char *)arg0;
	for (i = 1; i <= n; i++)
		argv[i] = va_arg(ap, char *);
}

SHIM_EXPORT int
execl(const char *path, const char *arg0, ...)
{
	va_list ap, c;
	size_t n = 0;

	va_start(ap, arg0);
	va_copy(c, ap);
	if (!shim_null(arg0))
		while (va_arg(c, char *) != NULL)
			n++;
	va_end(c);
	char *argv[n + 2];

	if (!shim_null(arg0))
		shim_fillargs(arg0, ap, argv, n + 1);
	else
		argv[0] = NULL;
	va_end(ap);
	return execve(path, argv, environ);
}

SHIM_EXPORT int
execlp(const char *file, const char *arg0, ...)
{
	va_list ap, c;
	size_t n = 0;

	va_start(ap, arg0);
	va_copy(c, ap);
	if (!shim_null(arg0))
		while (va_arg(c, char *) != NULL)
			n++;
	va_end(c);
	char *argv[n + 2];

	if (!shim_null(arg0))
		shim_fillargs(arg0, ap, argv, n + 1);
	else
		argv[0] = NULL;
	va_end(ap);
	return execvpe(file, argv, environ);
}

SHIM_EXPORT int
execle(const char *path, const char *arg0, ...)
{
	va_list ap, c;
	char *const *envp;
	size_t n = 0;

	va_start(ap, arg0);
	va_copy(c, ap);
	if (!shim_null(arg0))
		while (va_arg(c, char *) != NULL)
			n++;
	envp = va_arg(c, char *const *);
	va_end(c);
	char *argv[n + 2];

	if (!shim_null(arg0))
		shim_fillargs(arg0, ap, argv, n + 1);
	else
		argv[0] = NULL;
	va_end(ap);
	return execve(path, argv, envp);
}
