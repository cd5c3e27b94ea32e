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

#define COPY_LOWEST 4096ul
#define COPY_USER_TOP 0x0000800000000000ul

static inline bool
copy_range_ok(const void *uaddr, size_t len)
{
	uintptr_t a = (uintptr_t)uaddr;

	if (len == 0)
		return true;
	return a >= COPY_LOWEST && a < COPY_USER_TOP &&
	    len <= COPY_USER_TOP - a;
}

int
copyin(const void *uaddr, void *kaddr, size_t len)
{
	if (!copy_range_ok(uaddr, len))
		return EFAULT;
	if (len != 0)           /* a NULL buffer of length 0 is fine */
		memcpy(kaddr, uaddr, len);
	return 0;
}

int
copyout(const void *kaddr, void *uaddr, size_t len)
{
	if (!copy_range_ok(uaddr, len))
		return EFAULT;
	if (len != 0)
		memcpy(uaddr, kaddr, len);
	return 0;
}

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
