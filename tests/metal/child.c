/* Exec'd by forkexec.c: prints its argv and one variable, exits 5. */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

int
main(int argc, char **argv)
{
	const char *e = getenv("CHILDENV");

	printf("child pid %d ppid %d argc %d argv[1] %s env %s\n", (int)getpid(),
	    (int)getppid(), argc, argc > 1 ? argv[1] : "-", e ? e : "-");
	return 5;
}
