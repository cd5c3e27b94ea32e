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
 *
 * Eight bytes at a time once the source is aligned: an aligned 8-byte
 * load never crosses a page, so reading past the NUL within the word can
 * not fault where the string's own last byte did not.  The unaligned
 * head is one 8-byte load too when it stays inside the page (a path like
 * "/tmp/f" is then a single load).  Every path lookup starts here.
 */
int
copyinstr(const char *uaddr, char *kaddr, size_t len, size_t *done)
{
	const uint64_t ones = 0x0101010101010101ull, highs = 0x8080808080808080ull;
	uintptr_t a = (uintptr_t)uaddr;
	size_t i = 0;

	if (a < COPY_LOWEST || a >= COPY_USER_TOP)
		return EFAULT;
	/* A string may not run into the kernel half: stop there. */
	if (len > COPY_USER_TOP - a)
		len = COPY_USER_TOP - a;
#ifndef PITH_SAN
	if ((a & 4095) <= 4096 - 8 && len >= 8) {
		uint64_t w, m;

		memcpy(&w, uaddr, 8);
		memcpy(kaddr, &w, 8);           /* kaddr holds len >= 8 */
		/* The lowest flagged byte is the first NUL (flags above a
		 * true NUL can be false, below one they cannot). */
		m = (w - ones) & ~w & highs;
		if (m != 0) {
			i = (size_t)__builtin_ctzll(m) / 8;
			goto found;
		}
		/* No NUL in the first eight: go on from the next aligned
		 * byte (a few may be copied twice). */
		i = 8 - (a & 7);
	}
#endif
	for (; i < len && ((a + i) & 7) != 0; i++) {
		if ((kaddr[i] = uaddr[i]) == '\0')
			goto found;
	}
#ifndef PITH_SAN        /* ASan would rightly flag the bytes past the NUL */
	for (; i + 8 <= len; i += 8) {
		uint64_t w = *(const uint64_t *)(const void *)(uaddr + i);

		if (((w - ones) & ~w & highs) != 0)
			break;          /* a NUL in this word: finish bytewise */
		memcpy(kaddr + i, &w, 8);
	}
#else
	(void)ones;
	(void)highs;
#endif
	for (; i < len; i++) {
		if ((kaddr[i] = uaddr[i]) == '\0')
			goto found;
	}
	if (done != NULL)
		*done = i;
	return (uintptr_t)uaddr + i >= COPY_USER_TOP ? EFAULT : ENAMETOOLONG;
found:
	if (done != NULL)
		*done = i + 1;
	return 0;
}
