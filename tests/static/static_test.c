/*
 * A static program for tests/scripts/pithd_static.t, built with musl: it
 * makes its system calls with no libc the shim could interpose, so
 * whatever reaches the server got there through pithload's syscall user
 * dispatch.  Prints "ok - what" / "not ok - what" lines.
 *
 *	static_test DIR		DIR is under the prefix (the server's)
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "../lib/check.h"

static volatile sig_atomic_t got;


static void
on_usr1(int sig)
{
	got = sig;
}

int
main(int argc, char **argv)
{
	char path[512], buf[64];
	struct stat st;
	struct dirent *de;
	DIR *d;
	int fd, status, found = 0;
	pid_t pid;
	char *big;

	if (argc < 2) {
		fprintf(stderr, "usage: static_test DIR\n");
		return 2;
	}
	snprintf(path, sizeof(path), "%s/static.txt", argv[1]);
	fd = open(path, O_CREAT | O_RDWR | O_TRUNC, 0640);
	check(fd >= 0, "open under the prefix");
	check(write(fd, "p", 1) == 1, "write");
	/* A raw system call, not libc's wrapper: dispatch sees it too. */
	check(syscall(SYS_fstat, fd, &st) == 0 && st.st_size == 1 &&
	    (st.st_mode & 0777) == 0640, "raw fstat sees the server's file");
	check(stat("/etc/passwd", &st) == 0 && S_ISREG(st.st_mode),
	    "host paths stay the host's");
	check(open(argv[1], O_RDONLY | O_DIRECTORY) >= 0, "the directory");
	d = opendir(argv[1]);
	while (d != NULL && (de = readdir(d)) != NULL)
		if (strcmp(de->d_name, "static.txt") == 0)
			found = 1;
	check(found, "getdents64 lists the file");
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		check_failed = 0;
		check(write(fd, "c", 1) == 1,
		    "child: writes to the parent's descriptor");
		_exit(check_failed);
	}
	check(pid > 0 && waitpid(pid, &status, 0) == pid &&
	    WIFEXITED(status) && WEXITSTATUS(status) == 0, "fork: child ok");
	memset(buf, 0, sizeof(buf));
	check(pread(fd, buf, sizeof(buf), 0) == 2 && strcmp(buf, "pc") == 0,
	    "one open file, one offset: pc");
	/* malloc of a lot: brk and mmap. */
	big = malloc(8 << 20);
	check(big != NULL, "malloc 8 MiB");
	if (big != NULL) {
		memset(big, 1, 8 << 20);
		free(big);
	}
	signal(SIGUSR1, on_usr1);
	raise(SIGUSR1);
	check(got == SIGUSR1, "a signal handler runs and returns");
	check(signal(SIGSYS, SIG_IGN) == SIG_ERR, "SIGSYS is not the program's");
	check(syscall(99999) == -1 && errno == ENOSYS, "an unknown call: ENOSYS");
	check(chdir(argv[1]) == 0 && getcwd(buf, sizeof(buf)) != NULL &&
	    strcmp(buf, argv[1]) == 0, "chdir and getcwd in the server");
	check(access("static.txt", R_OK) == 0, "a relative path there");
	check(unlink("static.txt") == 0 && access("static.txt", F_OK) < 0,
	    "unlink");
	return check_failed;
}
