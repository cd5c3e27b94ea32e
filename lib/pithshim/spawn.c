/*
 * libpithshim: children that glibc makes behind the shim's back.
 *
 * A child must be a process of the server's kernel holding a copy of its
 * parent's kernel process, as after fork (docs/shim.md).  glibc's fork
 * runs the atfork handlers that arrange that (libpithclient asks the
 * server for the copy, the child claims it), but glibc also makes
 * children without them: posix_spawn and posix_spawnp clone with
 * CLONE_VM|CLONE_VFORK and exec with internal calls, system and popen
 * are built on that, and vfork and clone are system calls.  So:
 *
 * - posix_spawn and posix_spawnp are redone here: the child applies the
 *   attributes and file actions through the shim's own open, close,
 *   dup2, chdir and fchdir (so /pith paths and server descriptors work in
 *   them) and execs through the shim's execve (so the kernel process and
 *   its descriptors cross, and server descriptors at 0-2 are pumped).
 *   When an action or the exec needs the server, the child is glibc's
 *   fork (its atfork handlers give it a copy of the kernel process) and
 *   an error comes back on a close-on-exec pipe; otherwise it is a light
 *   child in our memory while we wait (CLONE_VM | CLONE_VFORK, as
 *   glibc's), which is what keeps spawning from a large process cheap,
 *   and the shim's execve asks for the copy on our connection.  Either
 *   way the child's errno is posix_spawn's result, and the child is
 *   reaped.
 * - The file actions are glibc's private array (posix/spawn_int.h).  The
 *   shim reads it only after checking, once, that glibc's own add
 *   functions lay out a probe exactly as struct spawn_gaction below says;
 *   if they do not (another glibc), or an entry carries a tag we do not
 *   know, or the attributes carry a flag we do not know, the call goes to
 *   glibc's posix_spawn unchanged and its child connects afresh.
 * - system, popen and pclose are built on the same child with our own
 *   action list, so they never depend on that layout.
 * - vfork is fork; clone without CLONE_VM, CLONE_FILES or CLONE_THREAD
 *   gets a copy of the kernel process that the child claims.
 *
 * The error pipe's write end must survive the file actions: an action
 * naming its number moves it out of the way first (spawn_guard).
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/wait.h>

#include <pith/client.h>
#include "shim.h"

/* What the child does, in order: ours, whoever filled it in. */
enum {
	SPAWN_CLOSE, SPAWN_DUP2, SPAWN_OPEN, SPAWN_CHDIR, SPAWN_FCHDIR,
	SPAWN_CLOSEFROM, SPAWN_TCSETPGRP, SPAWN_NTAGS
};

struct spawn_act {
	int		 sa_tag;
	int		 sa_fd;		/* close, dup2 source, open target... */
	int		 sa_fd2;	/* dup2 target */
	const char	*sa_path;	/* open, chdir */
	int		 sa_oflag;
	mode_t		 sa_mode;
};

/* One spawn: the request the child carries out. */
struct spawn_req {
	const char		*sq_file;
	int			 sq_search;	/* posix_spawnp: PATH */
	const struct spawn_act	*sq_acts;
	int			 sq_nacts;
	const posix_spawnattr_t	*sq_attr;	/* or NULL */
	char *const		*sq_argv;
	char *const		*sq_envp;
	sigset_t		 sq_oldmask;	/* the caller's */
	int			 sq_ep;		/* error pipe, write end, or -1 */
	int			 sq_light;	/* a child in our memory */
	volatile int		 sq_err;	/* its errno, when light */
};

/*
 * glibc 2.36's file-action entry and list (posix/spawn_int.h, spawn.h),
 * trusted only once spawn_probe has seen glibc lay a probe out this way.
 */
struct spawn_gaction {
	int	ga_tag;
	union {
		struct { int fd; } close;
		struct { int fd, newfd; } dup2;
		struct { int fd; char *path; int oflag; mode_t mode; } open;
		struct { char *path; } chdir;
		struct { int fd; } fchdir;
		struct { int from; } closefrom;
		struct { int fd; } tcsetpgrp;
	} ga_u;
};

struct spawn_glist {
	int			 gl_allocated;
	int			 gl_used;
	struct spawn_gaction	*gl_actions;
	int			 gl_pad[16];
};

_Static_assert(sizeof(struct spawn_glist) ==
    sizeof(posix_spawn_file_actions_t), "posix_spawn_file_actions_t");

#define SPAWN_KNOWNFLAGS (POSIX_SPAWN_RESETIDS | POSIX_SPAWN_SETPGROUP | \
	POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK |		\
	POSIX_SPAWN_SETSCHEDPARAM | POSIX_SPAWN_SETSCHEDULER |		\
	POSIX_SPAWN_USEVFORK | POSIX_SPAWN_SETSID)

static pthread_once_t spawn_once = PTHREAD_ONCE_INIT;
static int spawn_layout_ok;		/* [spawn_once] */

/* Whether probe entry i is what glibc was asked to add. */
static int
spawn_probe_entry(const struct spawn_gaction *a, int i)
{
	switch (i) {
	case 0:
		return a->ga_tag == SPAWN_CLOSE && a->ga_u.close.fd == 7;
	case 1:
		return a->ga_tag == SPAWN_DUP2 && a->ga_u.dup2.fd == 3 &&
		    a->ga_u.dup2.newfd == 9;
	case 2:
		return a->ga_tag == SPAWN_OPEN && a->ga_u.open.fd == 5 &&
		    a->ga_u.open.path != NULL &&
		    strcmp(a->ga_u.open.path, "/probe/o") == 0 &&
		    a->ga_u.open.oflag == (O_WRONLY | O_CREAT) &&
		    a->ga_u.open.mode == 0640;
	case 3:
		return a->ga_tag == SPAWN_CHDIR && a->ga_u.chdir.path != NULL &&
		    strcmp(a->ga_u.chdir.path, "/probe/c") == 0;
	case 4:
		return a->ga_tag == SPAWN_FCHDIR && a->ga_u.fchdir.fd == 4;
	case 5:
		return a->ga_tag == SPAWN_CLOSEFROM &&
		    a->ga_u.closefrom.from == 8;
	case 6:
		return a->ga_tag == SPAWN_TCSETPGRP &&
		    a->ga_u.tcsetpgrp.fd == 6;
	}
	return 0;
}

/* Does glibc lay file actions out as struct spawn_gaction says? */
static void
spawn_probe(void)
{
	posix_spawn_file_actions_t fa;
	const struct spawn_glist *gl = (const struct spawn_glist *)&fa;
	int ok, i;

	if (posix_spawn_file_actions_init(&fa) != 0)
		return;
	ok = posix_spawn_file_actions_addclose(&fa, 7) == 0 &&
	    posix_spawn_file_actions_adddup2(&fa, 3, 9) == 0 &&
	    posix_spawn_file_actions_addopen(&fa, 5, "/probe/o",
	    O_WRONLY | O_CREAT, 0640) == 0 &&
	    posix_spawn_file_actions_addchdir_np(&fa, "/probe/c") == 0 &&
	    posix_spawn_file_actions_addfchdir_np(&fa, 4) == 0 &&
	    posix_spawn_file_actions_addclosefrom_np(&fa, 8) == 0 &&
	    posix_spawn_file_actions_addtcsetpgrp_np(&fa, 6) == 0;
	ok = ok && gl->gl_used == 7 && gl->gl_allocated >= gl->gl_used &&
	    gl->gl_actions != NULL;
	for (i = 0; ok && i < 7; i++)
		ok = spawn_probe_entry(&gl->gl_actions[i], i);
	posix_spawn_file_actions_destroy(&fa);
	spawn_layout_ok = ok;
}

/*
 * glibc's file actions as our list (*acts, malloc'd, or NULL when there
 * are none).  ENOTSUP when they cannot be read safely: the caller hands
 * the call to glibc.
 */
static int
spawn_gather(const posix_spawn_file_actions_t *fa, struct spawn_act **acts,
    int *nacts)
{
	const struct spawn_glist *gl = (const struct spawn_glist *)fa;
	const struct spawn_gaction *g;
	struct spawn_act *a;
	int i;

	*acts = NULL;
	*nacts = 0;
	if (fa == NULL)
		return 0;
	pthread_once(&spawn_once, spawn_probe);
	if (!spawn_layout_ok || gl->gl_used < 0 ||
	    gl->gl_used > gl->gl_allocated ||
	    (gl->gl_used > 0 && gl->gl_actions == NULL))
		return ENOTSUP;
	if (gl->gl_used == 0)
		return 0;
	a = calloc((size_t)gl->gl_used, sizeof(*a));
	if (a == NULL)
		return ENOMEM;
	for (i = 0; i < gl->gl_used; i++) {
		g = &gl->gl_actions[i];
		a[i].sa_tag = g->ga_tag;
		switch (g->ga_tag) {
		case SPAWN_CLOSE:
			a[i].sa_fd = g->ga_u.close.fd;
			break;
		case SPAWN_DUP2:
			a[i].sa_fd = g->ga_u.dup2.fd;
			a[i].sa_fd2 = g->ga_u.dup2.newfd;
			break;
		case SPAWN_OPEN:
			a[i].sa_fd = g->ga_u.open.fd;
			a[i].sa_path = g->ga_u.open.path;
			a[i].sa_oflag = g->ga_u.open.oflag;
			a[i].sa_mode = g->ga_u.open.mode;
			break;
		case SPAWN_CHDIR:
			a[i].sa_path = g->ga_u.chdir.path;
			break;
		case SPAWN_FCHDIR:
			a[i].sa_fd = g->ga_u.fchdir.fd;
			break;
		case SPAWN_CLOSEFROM:
			a[i].sa_fd = g->ga_u.closefrom.from;
			break;
		case SPAWN_TCSETPGRP:
			a[i].sa_fd = g->ga_u.tcsetpgrp.fd;
			break;
		default:
			free(a);
			return ENOTSUP;
		}
	}
	*acts = a;
	*nacts = gl->gl_used;
	return 0;
}

/* --- the child ------------------------------------------------------- */

/* If fd is the error pipe, move the pipe elsewhere before fd is used. */
static int
spawn_guard(struct spawn_req *q, int fd)
{
	int nfd;

	if (fd != q->sq_ep)
		return 0;
	nfd = REAL(fcntl)(q->sq_ep, F_DUPFD_CLOEXEC, q->sq_ep + 1);
	if (nfd < 0)
		return errno;
	REAL(close)(q->sq_ep);
	q->sq_ep = nfd;
	return 0;
}

static int
spawn_do_open(struct spawn_req *q, const struct spawn_act *a)
{
	int fd, error;

	if ((error = spawn_guard(q, a->sa_fd)) != 0)
		return error;
	fd = open(a->sa_path, a->sa_oflag, a->sa_mode);
	if (fd < 0)
		return errno;
	if (fd == a->sa_fd)
		return 0;
	error = dup2(fd, a->sa_fd) < 0 ? errno : 0;
	close(fd);
	return error;
}

/* dup2 onto itself: the descriptor is to survive the exec (POSIX). */
static int
spawn_do_dup2(struct spawn_req *q, const struct spawn_act *a)
{
	int fl, error;

	if (a->sa_fd == a->sa_fd2) {
		fl = fcntl(a->sa_fd, F_GETFD);
		if (fl < 0 || fcntl(a->sa_fd, F_SETFD, fl & ~FD_CLOEXEC) < 0)
			return errno;
		return 0;
	}
	if (a->sa_fd == q->sq_ep)
		return EBADF;		/* not the program's descriptor */
	if ((error = spawn_guard(q, a->sa_fd2)) != 0)
		return error;
	return dup2(a->sa_fd, a->sa_fd2) < 0 ? errno : 0;
}

/* closefrom: everything from sa_fd up except the error pipe. */
static int
spawn_do_closefrom(struct spawn_req *q, int from)
{
	if (from < 0)
		return EBADF;
	if (q->sq_ep >= from) {
		if (q->sq_ep > from &&
		    close_range((unsigned)from, (unsigned)q->sq_ep - 1, 0) < 0)
			return errno;
		from = q->sq_ep + 1;
	}
	return close_range((unsigned)from, ~0U, 0) < 0 ? errno : 0;
}

static int
spawn_action(struct spawn_req *q, const struct spawn_act *a)
{
	switch (a->sa_tag) {
	case SPAWN_CLOSE:
		/* Closing what is not open is not an error (POSIX 2008 TC2);
		 * the error pipe is not the program's to close. */
		if (a->sa_fd != q->sq_ep && close(a->sa_fd) < 0 &&
		    errno != EBADF)
			return errno;
		return 0;
	case SPAWN_DUP2:
		return spawn_do_dup2(q, a);
	case SPAWN_OPEN:
		return spawn_do_open(q, a);
	case SPAWN_CHDIR:
		/* A light child must not touch the shim's cwd or environ,
		 * which are the parent's memory; its chdir is the host's. */
		if (q->sq_light)
			return REAL(chdir)(a->sa_path) < 0 ? errno : 0;
		return chdir(a->sa_path) < 0 ? errno : 0;
	case SPAWN_FCHDIR:
		if (q->sq_light)
			return REAL(fchdir)(a->sa_fd) < 0 ? errno : 0;
		return fchdir(a->sa_fd) < 0 ? errno : 0;
	case SPAWN_CLOSEFROM:
		return spawn_do_closefrom(q, a->sa_fd);
	case SPAWN_TCSETPGRP:
		return tcsetpgrp(a->sa_fd, getpgrp()) < 0 ? errno : 0;
	}
	return EINVAL;
}

/* Handlers do not cross exec; SIG_DFL where the attributes ask. */
static void
spawn_signals(const posix_spawnattr_t *attr, short flags)
{
	struct sigaction sa, old;
	sigset_t def;
	int sig;

	sigemptyset(&def);
	if (attr != NULL && (flags & POSIX_SPAWN_SETSIGDEF))
		posix_spawnattr_getsigdefault(attr, &def);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_DFL;
	sigemptyset(&sa.sa_mask);
	for (sig = 1; sig < NSIG; sig++) {
		if (sigaction(sig, NULL, &old) < 0)
			continue;
		if (sigismember(&def, sig) == 1 ||
		    (old.sa_handler != SIG_IGN && old.sa_handler != SIG_DFL))
			sigaction(sig, &sa, NULL);
	}
}

/* The attributes other than signals, in glibc's order. */
static int
spawn_attrs(const posix_spawnattr_t *attr, short flags)
{
	struct sched_param sp;
	pid_t pg;
	int pol;

	if (flags & (POSIX_SPAWN_SETSCHEDPARAM | POSIX_SPAWN_SETSCHEDULER))
		posix_spawnattr_getschedparam(attr, &sp);
	if (flags & POSIX_SPAWN_SETSCHEDULER) {
		posix_spawnattr_getschedpolicy(attr, &pol);
		if (sched_setscheduler(0, pol, &sp) < 0)
			return errno;
	} else if ((flags & POSIX_SPAWN_SETSCHEDPARAM) &&
	    sched_setparam(0, &sp) < 0)
		return errno;
	if ((flags & POSIX_SPAWN_SETSID) && setsid() < 0)
		return errno;
	if (flags & POSIX_SPAWN_SETPGROUP) {
		posix_spawnattr_getpgroup(attr, &pg);
		if (setpgid(0, pg) < 0)
			return errno;
	}
	if ((flags & POSIX_SPAWN_RESETIDS) &&
	    (seteuid(getuid()) < 0 || setegid(getgid()) < 0))
		return errno;
	return 0;
}

/* In the child: returns only with the errno that stops it. */
static int
spawn_child(struct spawn_req *q)
{
	short flags = 0;
	sigset_t mask = q->sq_oldmask;
	int i, error;

	if (q->sq_attr != NULL)
		posix_spawnattr_getflags(q->sq_attr, &flags);
	spawn_signals(q->sq_attr, flags);
	if (q->sq_attr != NULL && (error = spawn_attrs(q->sq_attr, flags)))
		return error;
	for (i = 0; i < q->sq_nacts; i++)
		if ((error = spawn_action(q, &q->sq_acts[i])) != 0)
			return error;
	if (flags & POSIX_SPAWN_SETSIGMASK)
		posix_spawnattr_getsigmask(q->sq_attr, &mask);
	sigprocmask(SIG_SETMASK, &mask, NULL);
	if (q->sq_search && strchr(q->sq_file, '/') == NULL)
		return shim_exec_search(q->sq_file, q->sq_argv, q->sq_envp, 0);
	execve(q->sq_file, q->sq_argv, q->sq_envp);
	return errno;
}

/* --- the parent ------------------------------------------------------ */

/*
 * Whether q's child can run in our memory while we wait, as glibc's own
 * posix_spawn does (CLONE_VM | CLONE_VFORK: no page tables copied, which
 * is what makes spawning from a large process cheap).  Only when nothing
 * it does before exec is the server's: the shim's table, cwd and
 * connection are our memory, so the child may read them (the shim's
 * execve then asks for a copy of our kernel process on our connection,
 * safe while we are suspended: exec.c) but not change them.  So: no
 * server descriptor at 0-2 (exec would become a pump, which never
 * execs), no action naming a server path or descriptor, no closefrom
 * over server descriptors, no chdir while the cwd is the server's, no
 * RESETIDS (glibc's seteuid signals every thread of ours).
 */
static int
spawn_light_ok(const struct spawn_req *q)
{
	const struct spawn_act *a;
	struct shim_route r;
	short flags = 0;
	int i, fd;

	if (q->sq_attr != NULL)
		posix_spawnattr_getflags(q->sq_attr, &flags);
	if (flags & POSIX_SPAWN_RESETIDS)
		return 0;
	for (fd = 0; fd < 3; fd++)
		if (shim_sfd(fd) >= 0)
			return 0;
	for (i = 0; i < q->sq_nacts; i++) {
		a = &q->sq_acts[i];
		if (a->sa_path != NULL && shim_route(AT_FDCWD, a->sa_path, &r))
			return 0;
		if (a->sa_tag == SPAWN_CLOSEFROM) {
			if (a->sa_fd < shim_maxfd_now())
				return 0;
		} else if (shim_sfd(a->sa_fd) >= 0 ||
		    (a->sa_tag == SPAWN_DUP2 && shim_sfd(a->sa_fd2) >= 0))
			return 0;
		if ((a->sa_tag == SPAWN_CHDIR || a->sa_tag == SPAWN_FCHDIR) &&
		    shim_cwd_server)
			return 0;
	}
	return 1;
}

/* The light child: its errno goes back through our shared memory. */
static int
spawn_light_child(void *arg)
{
	struct spawn_req *q = arg;

	q->sq_err = spawn_child(q);
	_exit(127);
}

#define SPAWN_STACK	(256 * 1024)

static int
spawn_run_light(pid_t *pidp, struct spawn_req *q)
{
	sigset_t all;
	char *stack;
	int error;
	pid_t pid;

	stack = mmap(NULL, SPAWN_STACK, PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
	if (stack == MAP_FAILED)
		return errno;
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &q->sq_oldmask);
	q->sq_ep = -1;
	q->sq_light = 1;
	q->sq_err = 0;
	/* We are suspended until the child has exec'd or exited. */
	pid = REAL(clone)(spawn_light_child, stack + SPAWN_STACK,
	    CLONE_VM | CLONE_VFORK | SIGCHLD, q);
	error = pid < 0 ? errno : q->sq_err;
	pthread_sigmask(SIG_SETMASK, &q->sq_oldmask, NULL);
	munmap(stack, SPAWN_STACK);
	if (pid > 0 && error != 0)
		while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
			;
	if (error == 0 && pidp != NULL)
		*pidp = pid;
	return error;
}

/*
 * Fork (glibc's, with the atfork handlers that copy the kernel process),
 * run q in the child, and wait until it has exec'd or failed.  Returns
 * 0 with *pidp set, or the child's errno (the child reaped).  A child
 * that needs nothing of the server's before exec runs light instead.
 */
static int
spawn_run(pid_t *pidp, struct spawn_req *q)
{
	sigset_t all;
	int ep[2], error, cerr;
	ssize_t n;
	pid_t pid;

	if (q->sq_file == NULL || q->sq_file[0] == '\0')
		return ENOENT;
	if (spawn_light_ok(q))
		return spawn_run_light(pidp, q);
	if (pipe2(ep, O_CLOEXEC) < 0)
		return errno;
	/* No handler of the caller's may run in the child before exec. */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &q->sq_oldmask);
	q->sq_ep = ep[1];
	pid = fork();
	if (pid == 0) {
		REAL(close)(ep[0]);
		cerr = spawn_child(q);
		REAL(write)(q->sq_ep, &cerr, sizeof(cerr));
		_exit(127);
	}
	error = pid < 0 ? errno : 0;
	pthread_sigmask(SIG_SETMASK, &q->sq_oldmask, NULL);
	REAL(close)(ep[1]);
	if (pid > 0) {
		do
			n = REAL(read)(ep[0], &cerr, sizeof(cerr));
		while (n < 0 && errno == EINTR);
		if (n == sizeof(cerr)) {
			error = cerr;
			while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
				;
		}
	}
	REAL(close)(ep[0]);
	if (error == 0 && pidp != NULL)
		*pidp = pid;
	return error;
}

/* posix_spawn or posix_spawnp: ours, or glibc's when we cannot read fa. */
static int
spawn_entry(pid_t *pidp, const char *file, int search,
    const posix_spawn_file_actions_t *fa, const posix_spawnattr_t *attr,
    char *const argv[], char *const envp[])
{
	struct spawn_req q;
	struct spawn_act *acts;
	short flags = 0;
	int nacts, error;

	if (attr != NULL)
		posix_spawnattr_getflags(attr, &flags);
	error = (flags & ~SPAWN_KNOWNFLAGS) ? ENOTSUP :
	    spawn_gather(fa, &acts, &nacts);
	if (error == ENOTSUP)
		return search ?
		    REAL(posix_spawnp)(pidp, file, fa, attr, argv, envp) :
		    REAL(posix_spawn)(pidp, file, fa, attr, argv, envp);
	if (error)
		return error;
	memset(&q, 0, sizeof(q));
	q.sq_file = file;
	q.sq_search = search;
	q.sq_acts = acts;
	q.sq_nacts = nacts;
	q.sq_attr = attr;
	q.sq_argv = argv;
	q.sq_envp = envp;
	error = spawn_run(pidp, &q);
	free(acts);
	return error;
}

SHIM_EXPORT int
posix_spawn(pid_t *pidp, const char *path,
    const posix_spawn_file_actions_t *fa, const posix_spawnattr_t *attr,
    char *const argv[], char *const envp[])
{
	return spawn_entry(pidp, path, 0, fa, attr, argv, envp);
}

SHIM_EXPORT int
posix_spawnp(pid_t *pidp, const char *file,
    const posix_spawn_file_actions_t *fa, const posix_spawnattr_t *attr,
    char *const argv[], char *const envp[])
{
	return spawn_entry(pidp, file, 1, fa, attr, argv, envp);
}

/* --- system, popen, pclose ------------------------------------------- */

/* /bin/sh -c cmd with our own actions and attributes. */
static int
spawn_shell(pid_t *pidp, const char *cmd, const struct spawn_act *acts,
    int nacts, const posix_spawnattr_t *attr)
{
	char *argv[] = { (char *)"sh", (char *)"-c", (char *)cmd, NULL };
	struct spawn_req q;

	memset(&q, 0, sizeof(q));
	q.sq_file = "/bin/sh";
	q.sq_acts = acts;
	q.sq_nacts = nacts;
	q.sq_attr = attr;
	q.sq_argv = argv;
	q.sq_envp = environ;
	return spawn_run(pidp, &q);
}

/*
 * system: as glibc does it, SIGINT and SIGQUIT ignored and SIGCHLD
 * blocked in the caller while the shell runs, the child with the
 * caller's mask and those two at their default unless ignored.  Two
 * threads in system() at once each restore what they saved (glibc
 * counts them; we do not).
 */
static int
spawn_system(const char *cmd)
{
	struct sigaction ign, oint, oquit;
	posix_spawnattr_t attr;
	sigset_t chld, omask, def;
	int status, error;
	pid_t pid;

	memset(&ign, 0, sizeof(ign));
	ign.sa_handler = SIG_IGN;
	sigemptyset(&ign.sa_mask);
	sigaction(SIGINT, &ign, &oint);
	sigaction(SIGQUIT, &ign, &oquit);
	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	sigprocmask(SIG_BLOCK, &chld, &omask);
	sigemptyset(&def);
	if (oint.sa_handler != SIG_IGN)
		sigaddset(&def, SIGINT);
	if (oquit.sa_handler != SIG_IGN)
		sigaddset(&def, SIGQUIT);
	posix_spawnattr_init(&attr);
	posix_spawnattr_setsigdefault(&attr, &def);
	posix_spawnattr_setsigmask(&attr, &omask);
	posix_spawnattr_setflags(&attr,
	    POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);
	error = spawn_shell(&pid, cmd, NULL, 0, &attr);
	posix_spawnattr_destroy(&attr);
	if (error == 0) {
		while (waitpid(pid, &status, 0) < 0)
			if (errno != EINTR) {
				status = -1;
				break;
			}
	} else
		status = 127 << 8;	/* the shell could not run */
	sigaction(SIGINT, &oint, NULL);
	sigaction(SIGQUIT, &oquit, NULL);
	sigprocmask(SIG_SETMASK, &omask, NULL);
	return status;
}

SHIM_EXPORT int
system(const char *cmd)
{
	/* NULL asks whether a shell is there. */
	if (cmd == NULL)
		return spawn_system("exit 0") == 0;
	return spawn_system(cmd);
}

/*
 * The streams popen made, with their children: pclose waits for the
 * child, and a new popen child closes the others' descriptors (POSIX).
 */
struct spawn_popen {
	FILE			*sp_fp;
	pid_t			 sp_pid;
	struct spawn_popen	*sp_next;
};
static pthread_mutex_t spawn_plock = PTHREAD_MUTEX_INITIALIZER;
static struct spawn_popen *spawn_popens;	/* [spawn_plock] */

/* The child's actions: its end to 0 or 1, the other streams closed. */
static int
spawn_popen_acts(struct spawn_act **actsp, int end, int std)
{
	struct spawn_popen *p;
	struct spawn_act *acts;
	int n = 1;

	for (p = spawn_popens; p != NULL; p = p->sp_next)
		n++;
	acts = calloc((size_t)n, sizeof(*acts));
	if (acts == NULL)
		return -1;
	acts[0].sa_tag = SPAWN_DUP2;
	acts[0].sa_fd = end;
	acts[0].sa_fd2 = std;
	n = 1;
	for (p = spawn_popens; p != NULL; p = p->sp_next) {
		acts[n].sa_tag = SPAWN_CLOSE;
		acts[n++].sa_fd = fileno(p->sp_fp);
	}
	*actsp = acts;
	return n;
}

SHIM_EXPORT FILE *
popen(const char *cmd, const char *mode)
{
	struct spawn_popen *p = NULL;
	struct spawn_act *acts = NULL;
	int fds[2] = { -1, -1 }, rd, cloexec, mine, theirs, n, error;
	FILE *fp = NULL;
	pid_t pid;

	if (mode == NULL || (mode[0] != 'r' && mode[0] != 'w') ||
	    (mode[1] != '\0' && strcmp(mode + 1, "e") != 0)) {
		errno = EINVAL;
		return NULL;
	}
	rd = mode[0] == 'r';
	cloexec = mode[1] == 'e';
	if ((p = malloc(sizeof(*p))) == NULL || pipe2(fds, O_CLOEXEC) < 0)
		goto fail;
	mine = rd ? fds[0] : fds[1];
	theirs = rd ? fds[1] : fds[0];
	pthread_mutex_lock(&spawn_plock);
	n = spawn_popen_acts(&acts, theirs, rd ? 1 : 0);
	error = n < 0 ? ENOMEM : spawn_shell(&pid, cmd, acts, n, NULL);
	if (error == 0 && (fp = fdopen(mine, rd ? "r" : "w")) == NULL)
		error = errno;	/* the child runs on, its pipe closed */
	if (error == 0) {
		p->sp_fp = fp;
		p->sp_pid = pid;
		p->sp_next = spawn_popens;
		spawn_popens = p;
	}
	pthread_mutex_unlock(&spawn_plock);
	free(acts);
	REAL(close)(theirs);
	if (error) {
		REAL(close)(mine);
		free(p);
		errno = error;
		return NULL;
	}
	if (!cloexec)
		REAL(fcntl)(mine, F_SETFD, 0);
	return fp;
fail:
	error = errno;
	free(p);
	errno = error;
	return NULL;
}

SHIM_EXPORT int
pclose(FILE *fp)
{
	struct spawn_popen **pp, *p = NULL;
	int status;

	pthread_mutex_lock(&spawn_plock);
	for (pp = &spawn_popens; *pp != NULL; pp = &(*pp)->sp_next)
		if ((*pp)->sp_fp == fp) {
			p = *pp;
			*pp = p->sp_next;
			break;
		}
	pthread_mutex_unlock(&spawn_plock);
	if (p == NULL)
		return REAL(pclose)(fp);	/* not one of ours */
	fclose(fp);
	while (waitpid(p->sp_pid, &status, 0) < 0)
		if (errno != EINTR) {
			status = -1;
			break;
		}
	free(p);
	return status;
}

/* --- vfork, clone ---------------------------------------------------- */

/*
 * vfork is fork: the child then has memory of its own and its own copy
 * of the kernel process, so it may do whatever it likes before exec.
 */
SHIM_EXPORT pid_t
vfork(void)
{
	return fork();
}

/* glibc's other name for it, which <unistd.h> does not declare. */
pid_t __vfork(void);

SHIM_EXPORT pid_t
__vfork(void)
{
	return fork();
}

/* What a clone child needs before it runs the caller's function. */
struct spawn_clone {
	int	(*sc_fn)(void *);
	void	 *sc_arg;
	int	  sc_tokok;
	char	  sc_tok[PITH_CLIENT_TOKENSTR];
};

/* In the clone child (its own copy of memory): claim the copy. */
static int
spawn_clone_child(void *arg)
{
	struct spawn_clone *c = arg;

	shim_cloned(c->sc_tokok ? c->sc_tok : NULL);
	return c->sc_fn(c->sc_arg);
}

/*
 * clone(fn, stack, flags, arg, ptid, tls, ctid).  A child that shares
 * memory, descriptors or the thread group is a thread of ours as far as
 * the server is concerned: passed through.  Otherwise it is a fork: it
 * gets a copy of the kernel process (made now, claimed by the child).
 */
SHIM_EXPORT int
clone(int (*fn)(void *), void *stack, int flags, void *arg, ...)
{
	struct spawn_clone c;
	pid_t *ptid = NULL, *ctid = NULL;
	void *tls = NULL;
	va_list ap;
	int r;

	if (flags & (CLONE_PARENT_SETTID | CLONE_SETTLS | CLONE_CHILD_SETTID |
	    CLONE_CHILD_CLEARTID)) {
		va_start(ap, arg);
		ptid = va_arg(ap, pid_t *);
		tls = va_arg(ap, void *);
		ctid = va_arg(ap, pid_t *);
		va_end(ap);
	}
	if ((flags & (CLONE_VM | CLONE_FILES | CLONE_THREAD)) || fn == NULL ||
	    stack == NULL)
		return REAL(clone)(fn, stack, flags, arg, ptid, tls, ctid);
	c.sc_fn = fn;
	c.sc_arg = arg;
	c.sc_tokok = shim_connected_now() &&
	    pith_client_fork_token(c.sc_tok) >= 0;
	r = REAL(clone)(spawn_clone_child, stack, flags, &c, ptid, tls,
	    ctid);
	if (r < 0 && c.sc_tokok)
		pith_client_cancel(c.sc_tok);
	return r;
}
