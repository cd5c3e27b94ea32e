/*
 * Exec'd by forkexec.c: prints its argv and one variable, exits 5; with
 * "cloexec A B", checks that descriptor A was closed by the exec and B
 * was not.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int
main(int argc, char **argv)
{
	if (argc == 4 && strcmp(argv[1], "cloexec") == 0) {
		int a = fcntl(atoi(argv[2]), F_GETFD), b = fcntl(atoi(argv[3]), F_GETFD);

		printf("cloexec: %s\n", a == -1 && b == 0 ? "ok" : "wrong");
		return a == -1 && b == 0 ? 6 : 1;
	}
	const char *e = getenv("CHILDENV");

	printf("child pid %d ppid %d argc %d argv[1] %s env %s\n", (int)getpid(),
	    (int)getppid(), argc, argc > 1 ? argv[1] : "-", e ? e : "-");
	return 5;
}
