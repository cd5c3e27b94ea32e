/*
 * Copying between the kernel and the caller of a system call.
 *
 * On the hosted platform the caller shares our address space, so a copy is
 * a memcpy; what these functions add is the check a real kernel's fault
 * handler would make for the cases we can detect: a NULL or near-NULL
 * pointer (the first page is never mapped on Linux) and a range that wraps
 * around the address space, or that reaches into the kernel half of
 * x86-64's canonical addresses.  Those are EFAULT, as on Linux.
 */
#include "kern/kern.h"

/*
 * Copy a NUL-terminated string of at most len bytes including the NUL.
 * *done (if not NULL) gets the bytes copied including the NUL.
 */
int
copyinstr(const char *uaddr, char *kaddr, size_t len, size_t *done)
{
	uintptr_t a = (uintptr_t)uaddr;
	size_t i;

	if (a < COPY_LOWEST || a >= COPY_USER_TOP)
		return EFAULT;
	for (i = 0; i < len; i++) {
		if (a + i >= COPY_USER_TOP)
			return EFAULT;
		kaddr[i] = uaddr[i];
		if (kaddr[i] == '\0') {
			if (done != NULL)
				*done = i + 1;
			return 0;
		}
	}
	if (done != NULL)
		*done = i;
	return ENAMETOOLONG;
}
