/*
 * Host side of a unit test.  The test itself is kernel code (built with
 * the kernel's flags, linked into a private copy of the kernel object) and
 * prints TAP through kprintf; this main only calls it.  The kernel is not
 * booted here: each test boots what it needs.
 */
#include <stdio.h>
#include <unistd.h>

int pith_unittest_main(void);

int
main(void)
{
	/* kprintf writes to stderr; prove reads stdout. */
	if (dup2(STDOUT_FILENO, STDERR_FILENO) < 0)
		return 1;
	return pith_unittest_main() == 0 ? 0 : 1;
}
