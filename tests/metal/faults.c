/*
 * Bare-metal fault test, by argv[1]: "null" reads address 0, "exec" jumps
 * into a data page, "ud" runs an invalid instruction, "oom" mallocs until
 * malloc fails (then exits 1 with a message), "stack" recurses deeply
 * (the stack grows on demand; exits 0), "badptr" hands write(2) an
 * unmapped buffer.  "null", "exec", "ud" and "badptr" must end the
 * program by a signal with a diagnostic on the console, never the kernel.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static volatile int *volatile nullp;
static unsigned char code[16] = { 0xc3 };       /* ret, in .data */

static int
deep(int n)
{
	volatile char buf[1024];

	buf[0] = (char)n;
	return n == 0 ? 0 : deep(n - 1) + buf[0];
}

int
main(int argc, char **argv)
{
	const char *what = argc > 1 ? argv[1] : "";
	unsigned long mib = 0;

	printf("faults: %s\n", what);
	fflush(stdout);
	if (strcmp(what, "null") == 0)
		return *nullp;
	if (strcmp(what, "exec") == 0) {
		((void (*)(void))(void *)code)();
		return 0;
	}
	if (strcmp(what, "ud") == 0) {
		__asm__ volatile("ud2");
		return 0;
	}
	if (strcmp(what, "oom") == 0) {
		for (;;) {
			char *p = malloc(1 << 20);

			if (p == NULL) {
				printf("malloc failed after %lu MiB\n", mib);
				return 1;
			}
			memset(p, 1, 1 << 20);
			mib++;
		}
	}
	if (strcmp(what, "badptr") == 0) {
		write(1, (const void *)0x10000000ul, 16);
		return 0;
	}
	if (strcmp(what, "stack") == 0) {
		printf("deep %d\n", deep(4000) >= 0);
		return 0;
	}
	return 2;
}
