/*
 * Bare-metal fork/exec/wait test.  The child program (CHILD, built first)
 * is embedded and written to /tmp/child; then: fork + _exit(7) + wait4,
 * fork + execve of the child with arguments, vfork + execve, a pipe from
 * a forked child to its parent, posix_spawn, execve from a process with
 * a second thread (spinning in user mode), a writer to a pipe with no
 * reader (SIGPIPE ends it), waitid with WNOWAIT, the one-CPU affinity
 * mask, prctl's thread name, MAP_SHARED anonymous memory across fork
 * (and MAP_PRIVATE not shared), and wait with no children.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <sys/prctl.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

__asm__(".section .rodata\n.globl child_img\nchild_img:\n.incbin \"" CHILD "\"\n"
    ".globl child_end\nchild_end:\n.previous\n");
extern const char child_img[], child_end[];
extern char **environ;

static void *
spin(void *arg)
{
	for (;;)
		;
	return arg;
}

#define CHECK(c) do { if (!(c)) { printf("FAIL line %d: %s (errno %d)\n", __LINE__, #c, errno); return 1; } } while (0)

int
main(void)
{
	char *cargv[] = { "child", "one", "two", NULL };
	char *cenv[] = { "CHILDENV=yes", NULL };
	int fd, st, pfd[2];
	pid_t pid;
	char buf[64];
	ssize_t n;

	fd = open("/tmp/child", O_CREAT | O_WRONLY | O_TRUNC, 0755);
	CHECK(fd >= 0);
	CHECK(write(fd, child_img, child_end - child_img) == child_end - child_img);
	close(fd);

	pid = fork();
	CHECK(pid >= 0);
	if (pid == 0)
		_exit(7);
	CHECK(waitpid(pid, &st, 0) == pid);
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 7);
	printf("fork: child exited 7\n");

	pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		execve("/tmp/child", cargv, cenv);
		_exit(99);
	}
	CHECK(waitpid(pid, &st, 0) == pid);
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 5);
	printf("fork+exec: child exited 5\n");

	pid = vfork();
	CHECK(pid >= 0);
	if (pid == 0) {
		execve("/tmp/child", cargv, cenv);
		_exit(99);
	}
	CHECK(waitpid(pid, &st, 0) == pid);
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 5);
	printf("vfork+exec: child exited 5\n");

	{
		int a = open("/tmp/child", O_RDONLY | O_CLOEXEC), b = dup(a);
		char sa[16], sb[16];
		char *xargv[] = { "child", "cloexec", sa, sb, NULL };

		CHECK(a >= 0 && b >= 0);
		snprintf(sa, sizeof(sa), "%d", a);
		snprintf(sb, sizeof(sb), "%d", b);
		pid = fork();
		CHECK(pid >= 0);
		if (pid == 0) {
			execve("/tmp/child", xargv, cenv);
			_exit(99);
		}
		CHECK(waitpid(pid, &st, 0) == pid);
		CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 6);
		close(a);
		close(b);
		printf("exec closed the O_CLOEXEC descriptor only\n");
	}

	CHECK(pipe(pfd) == 0);
	pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		close(pfd[0]);
		write(pfd[1], "through the pipe", 16);
		_exit(0);
	}
	close(pfd[1]);
	n = read(pfd[0], buf, sizeof(buf) - 1);
	CHECK(n == 16);
	buf[n] = '\0';
	CHECK(read(pfd[0], buf, sizeof(buf)) == 0);
	CHECK(waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0);
	printf("pipe: %s\n", buf);

	CHECK(posix_spawn(&pid, "/tmp/child", NULL, NULL, cargv, environ) == 0);
	CHECK(waitpid(pid, &st, 0) == pid);
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 5);
	printf("posix_spawn: child exited 5\n");

	pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		*(volatile int *)0 = 1;
		_exit(0);
	}
	CHECK(waitpid(pid, &st, 0) == pid);
	CHECK(WIFSIGNALED(st) && WTERMSIG(st) == 11);
	printf("child killed by signal 11\n");

	pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		pthread_t t;

		if (pthread_create(&t, NULL, spin, NULL) != 0)
			_exit(98);
		execve("/tmp/child", cargv, cenv);
		_exit(99);
	}
	CHECK(waitpid(pid, &st, 0) == pid);
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 5);
	printf("execve with a second thread: child exited 5\n");

	CHECK(pipe(pfd) == 0);
	pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		int i;

		/* Until the parent's read end is gone too. */
		close(pfd[0]);
		for (i = 0; i < 2000; i++) {
			write(pfd[1], "x", 1);
			usleep(1000);
		}
		_exit(0);
	}
	close(pfd[0]);
	close(pfd[1]);
	CHECK(waitpid(pid, &st, 0) == pid);
	CHECK(WIFSIGNALED(st) && WTERMSIG(st) == SIGPIPE);
	printf("writer to a broken pipe: killed by SIGPIPE\n");

	{
		siginfo_t si;
		cpu_set_t cs;
		char name[16];

		pid = fork();
		CHECK(pid >= 0);
		if (pid == 0)
			_exit(9);
		memset(&si, 0, sizeof(si));
		CHECK(waitid(P_PID, pid, &si, WEXITED | WNOWAIT) == 0);
		CHECK(si.si_pid == pid && si.si_code == CLD_EXITED && si.si_status == 9);
		CHECK(waitpid(pid, &st, 0) == pid && WEXITSTATUS(st) == 9);
		printf("waitid: child exited 9, then reaped\n");
		CHECK(sched_getaffinity(0, sizeof(cs), &cs) == 0 && CPU_COUNT(&cs) == 1);
		CHECK(prctl(PR_SET_NAME, "renamed", 0, 0, 0) == 0);
		CHECK(prctl(PR_GET_NAME, name, 0, 0, 0) == 0 && strcmp(name, "renamed") == 0);
		printf("one CPU; prctl name %s\n", name);
	}

	/* Shared memory: one page touched before the fork, one not (the
	 * child's write must still reach the parent); private stays so. */
	{
		volatile char *sh = mmap(NULL, 8192, PROT_READ | PROT_WRITE,
		    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
		volatile char *pv = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

		CHECK(sh != MAP_FAILED && pv != MAP_FAILED);
		sh[0] = 'p';
		pv[0] = 'p';
		pid = fork();
		CHECK(pid >= 0);
		if (pid == 0) {
			sh[0] = 'c';
			sh[4096] = 'c';
			pv[0] = 'c';
			_exit(sh[0] == 'c' ? 0 : 1);
		}
		CHECK(waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0);
		CHECK(sh[0] == 'c' && sh[4096] == 'c' && pv[0] == 'p');
		sh[1] = 'x';
		CHECK(munmap((void *)sh, 8192) == 0 && munmap((void *)pv, 4096) == 0);
		printf("MAP_SHARED seen across fork, MAP_PRIVATE not\n");
	}

	CHECK(waitpid(-1, &st, 0) == -1 && errno == ECHILD);
	printf("forkexec ok\n");
	return 0;
}
