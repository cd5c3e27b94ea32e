/*
 * Bare-metal user-mode test: prints its arguments and environment, so
 * tests/scripts/metal_run.t can check argv/envp/auxv reached it, and
 * exits with the status given as argv[1] ("exit=N").
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <unistd.h>

int
main(int argc, char **argv, char **envp)
{
	int i, status = 0;
	unsigned char *rnd = (unsigned char *)getauxval(AT_RANDOM);

	printf("hello from pid %d, argc %d\n", (int)getpid(), argc);
	for (i = 0; i < argc; i++) {
		printf("argv[%d]=%s\n", i, argv[i]);
		if (strncmp(argv[i], "exit=", 5) == 0)
			status = atoi(argv[i] + 5);
	}
	for (i = 0; envp[i] != NULL; i++)
		printf("env %s\n", envp[i]);
	printf("pagesz %lu, AT_RANDOM %s, AT_EXECFN %s\n",
	    getauxval(AT_PAGESZ), rnd != NULL ? "set" : "missing",
	    (char *)getauxval(AT_EXECFN));
	printf("stack aligned %d\n", ((unsigned long)__builtin_frame_address(0) & 15) == 0);
	return status;
}
