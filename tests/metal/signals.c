/*
 * Bare-metal signals test: handlers run on kill/raise with the interrupted
 * registers and FPU state restored afterwards; a blocked signal waits in
 * sigpending until unblocked; SIGCHLD wakes sigsuspend; sigaltstack with
 * SA_ONSTACK; default actions (SIGTERM, abort's SIGABRT) end a child with
 * that signal; SIGPIPE ignored gives EPIPE; pause() returns when a child
 * signals the parent; handlers survive fork; a periodic ITIMER_REAL
 * interrupts pause() twice; signals reach a getpid loop and a
 * sigprocmask that unblocks one (the syscall fast path's pending-work
 * test, platform/metal/entry.S).  Prints "signals ok" when all held.
 */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#define CHECK(c) do { if (!(c)) { printf("FAIL line %d: %s (errno %d)\n", __LINE__, #c, errno); return 1; } } while (0)

static volatile sig_atomic_t got_usr1, got_chld, on_alt;
static sigjmp_buf segv_jb;
static void *volatile segv_addr;

static void
on_segv(int sig, siginfo_t *si, void *uc)
{
	segv_addr = si->si_addr;
	siglongjmp(segv_jb, 1);
}
static char altstack[65536];

static void
on_usr1(int sig)
{
	volatile double x = 1.5;

	got_usr1 = sig;
	x = x * 3.0;            /* clobbers SSE registers inside the handler */
	(void)x;
}

static void
on_chld(int sig)
{
	got_chld = sig;
}

static void
on_usr2(int sig)
{
	char here;

	on_alt = &here >= altstack && &here < altstack + sizeof(altstack);
}

int
main(void)
{
	struct sigaction sa;
	sigset_t set, old, pend;
	stack_t ss;
	volatile double keep = 2.25;
	int st, fds[2];
	pid_t pid;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_usr1;
	CHECK(sigaction(SIGUSR1, &sa, NULL) == 0);
	CHECK(raise(SIGUSR1) == 0);
	CHECK(got_usr1 == SIGUSR1);
	CHECK(keep == 2.25);
	printf("handler ran, state restored\n");

	got_usr1 = 0;
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	CHECK(sigprocmask(SIG_BLOCK, &set, &old) == 0);
	CHECK(kill(getpid(), SIGUSR1) == 0);
	CHECK(got_usr1 == 0);
	CHECK(sigpending(&pend) == 0 && sigismember(&pend, SIGUSR1));
	CHECK(sigprocmask(SIG_SETMASK, &old, NULL) == 0);
	CHECK(got_usr1 == SIGUSR1);
	printf("blocked signal pending, delivered on unblock\n");

	sa.sa_handler = on_chld;
	CHECK(sigaction(SIGCHLD, &sa, NULL) == 0);
	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	CHECK(sigprocmask(SIG_BLOCK, &set, &old) == 0);
	pid = fork();
	CHECK(pid >= 0);
	if (pid == 0)
		_exit(0);
	sigemptyset(&set);
	while (!got_chld)
		CHECK(sigsuspend(&set) == -1 && errno == EINTR);
	CHECK(sigprocmask(SIG_SETMASK, &old, NULL) == 0);
	CHECK(waitpid(pid, &st, 0) == pid && WIFEXITED(st));
	printf("SIGCHLD woke sigsuspend\n");

	ss.ss_sp = altstack;
	ss.ss_size = sizeof(altstack);
	ss.ss_flags = 0;
	CHECK(sigaltstack(&ss, NULL) == 0);
	sa.sa_handler = on_usr2;
	sa.sa_flags = SA_ONSTACK;
	CHECK(sigaction(SIGUSR2, &sa, NULL) == 0);
	CHECK(raise(SIGUSR2) == 0);
	CHECK(on_alt);
	printf("handler on the alternate stack\n");

	pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		raise(SIGTERM);
		_exit(0);
	}
	CHECK(waitpid(pid, &st, 0) == pid && WIFSIGNALED(st) && WTERMSIG(st) == SIGTERM);
	pid = fork();
	CHECK(pid >= 0);
	if (pid == 0)
		abort();
	CHECK(waitpid(pid, &st, 0) == pid && WIFSIGNALED(st) && WTERMSIG(st) == SIGABRT);
	printf("default actions: SIGTERM, SIGABRT\n");

	signal(SIGPIPE, SIG_IGN);
	CHECK(pipe(fds) == 0);
	close(fds[0]);
	CHECK(write(fds[1], "x", 1) == -1 && errno == EPIPE);
	close(fds[1]);
	printf("SIGPIPE ignored: EPIPE\n");

	got_usr1 = 0;
	pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		usleep(20000);
		kill(getppid(), SIGUSR1);
		_exit(0);
	}
	CHECK(pause() == -1 && errno == EINTR && got_usr1 == SIGUSR1);
	CHECK(waitpid(pid, &st, 0) == pid);
	printf("pause interrupted by a child's signal\n");

	/* A forked child keeps the parent's handlers, and they work. */
	pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		got_usr1 = 0;
		raise(SIGUSR1);
		_exit(got_usr1 == SIGUSR1 ? 0 : 1);
	}
	CHECK(waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0);
	printf("handler inherited across fork\n");

	{
		struct sigaction sv;

		memset(&sv, 0, sizeof(sv));
		sv.sa_sigaction = on_segv;
		sv.sa_flags = SA_SIGINFO | SA_NODEFER;
		CHECK(sigaction(SIGSEGV, &sv, NULL) == 0);
		if (sigsetjmp(segv_jb, 1) == 0) {
			(void)*(volatile int *)0x1234;
			CHECK(0);
		}
		CHECK(segv_addr == (void *)0x1234);
		printf("SIGSEGV handler got si_addr 0x1234 and jumped out\n");
	}

	{
		struct itimerval it = { { 0, 20000 }, { 0, 20000 } }, cur;

		got_usr1 = 0;
		sa.sa_handler = on_usr1;
		sa.sa_flags = 0;
		CHECK(sigaction(SIGALRM, &sa, NULL) == 0);
		CHECK(setitimer(ITIMER_REAL, &it, NULL) == 0);
		CHECK(getitimer(ITIMER_REAL, &cur) == 0 && cur.it_interval.tv_usec == 20000);
		CHECK(pause() == -1 && errno == EINTR && got_usr1 == SIGALRM);
		got_usr1 = 0;
		CHECK(pause() == -1 && errno == EINTR && got_usr1 == SIGALRM);
		it.it_value.tv_usec = 0;
		CHECK(setitimer(ITIMER_REAL, &it, NULL) == 0);
		CHECK(alarm(5) == 0 && alarm(0) >= 4);
		printf("interval timer: SIGALRM twice; alarm\n");
	}
	{
		/*
		 * Calls that take entry.S's fast way still deliver: SIGALRM
		 * arrives during a getpid loop, and a pending SIGUSR1 runs
		 * its handler before the sigprocmask that unblocks it returns.
		 */
		struct itimerval it = { { 0, 0 }, { 0, 10000 } };
		long i;

		got_usr1 = 0;
		sa.sa_handler = on_usr1;
		sa.sa_flags = 0;
		CHECK(sigaction(SIGALRM, &sa, NULL) == 0);
		CHECK(sigaction(SIGUSR1, &sa, NULL) == 0);
		CHECK(setitimer(ITIMER_REAL, &it, NULL) == 0);
		for (i = 0; i < 100000000 && got_usr1 == 0; i++)
			(void)getpid();
		CHECK(got_usr1 == SIGALRM);
		got_usr1 = 0;
		sigemptyset(&set);
		sigaddset(&set, SIGUSR1);
		CHECK(sigprocmask(SIG_BLOCK, &set, NULL) == 0);
		CHECK(kill(getpid(), SIGUSR1) == 0 && got_usr1 == 0);
		CHECK(getpid() > 0 && got_usr1 == 0);
		CHECK(sigprocmask(SIG_UNBLOCK, &set, NULL) == 0);
		CHECK(got_usr1 == SIGUSR1);
		printf("fast-path calls: SIGALRM in a getpid loop, SIGUSR1 on unblocking\n");
		/* The edges of the table: past it, and a hole in it. */
		errno = 0;
		CHECK(syscall(1000) == -1 && errno == ENOSYS);
		errno = 0;
		CHECK(syscall(-1L) == -1 && errno == ENOSYS);
		errno = 0;
		CHECK(syscall(335) == -1 && errno == ENOSYS);
		printf("syscall 1000, -1 and 335: ENOSYS\n");
	}
	printf("signals ok\n");
	return 0;
}
