/*
 * Memory and string primitives for the freestanding kernel.
 *
 * The compiler emits calls to memcpy, memset, memmove and memcmp on its
 * own (struct copies, zero initialisers), and the data path of every read
 * and write goes through memcpy, so these matter for speed.  Small sizes
 * are done with a few possibly-overlapping 8-byte loads and stores, which
 * is branch-light and needs no loop; large sizes use `rep movsb` / `rep
 * stosb`, which modern x86 CPUs (ERMS/FSRM) run at full cache bandwidth.
 *
 * GCC recognises byte-copy loops and turns them back into calls to memcpy
 * -- here that would be infinite recursion -- so every loop in this file
 * contains an empty asm statement that defeats the idiom recogniser.
 */
#define KERN_STRING_IMPL
#include "kern/kern.h"

typedef uint64_t __attribute__((may_alias, aligned(1))) u64u;
typedef uint32_t __attribute__((may_alias, aligned(1))) u32u;
typedef uint16_t __attribute__((may_alias, aligned(1))) u16u;

#define LOOP_BARRIER() __asm__ volatile("")

/* Sizes at or above this go through rep movsb / rep stosb. */
#define REP_THRESHOLD 512

/* Copy n <= 16 bytes; sources are all read before any store. */
static inline void
copy_small(unsigned char *d, const unsigned char *s, size_t n)
{
	if (n >= 8) {
		uint64_t a = *(const u64u *)s, b = *(const u64u *)(s + n - 8);
		*(u64u *)d = a;
		*(u64u *)(d + n - 8) = b;
	} else if (n >= 4) {
		uint32_t a = *(const u32u *)s, b = *(const u32u *)(s + n - 4);
		*(u32u *)d = a;
		*(u32u *)(d + n - 4) = b;
	} else if (n >= 2) {
		uint16_t a = *(const u16u *)s, b = *(const u16u *)(s + n - 2);
		*(u16u *)d = a;
		*(u16u *)(d + n - 2) = b;
	} else if (n == 1) {
		*d = *s;
	}
}

static inline void
rep_movsb(void *d, const void *s, size_t n)
{
	__asm__ volatile("rep movsb"
	    : "+D"(d), "+S"(s), "+c"(n) : : "memory");
}

void *
memcpy(void *dst, const void *src, size_t n)
{
	unsigned char *d = dst;
	const unsigned char *s = src;

	if (__predict_true(n <= 16)) {
		copy_small(d, s, n);
		return dst;
	}
	if (n >= REP_THRESHOLD) {
		rep_movsb(d, s, n);
		return dst;
	}
	/* 17..511: 32-byte blocks, then an overlapping last block. */
	if (n <= 32) {
		uint64_t a = *(const u64u *)s, b = *(const u64u *)(s + 8);
		uint64_t c = *(const u64u *)(s + n - 16);
		uint64_t e = *(const u64u *)(s + n - 8);
		*(u64u *)d = a;
		*(u64u *)(d + 8) = b;
		*(u64u *)(d + n - 16) = c;
		*(u64u *)(d + n - 8) = e;
		return dst;
	}
	const unsigned char *slast = s + n - 32;
	unsigned char *dlast = d + n - 32;
	uint64_t t0 = *(const u64u *)slast, t1 = *(const u64u *)(slast + 8);
	uint64_t t2 = *(const u64u *)(slast + 16), t3 = *(const u64u *)(slast + 24);
	while (n > 32) {
		uint64_t a = *(const u64u *)s, b = *(const u64u *)(s + 8);
		uint64_t c = *(const u64u *)(s + 16), e = *(const u64u *)(s + 24);
		*(u64u *)d = a;
		*(u64u *)(d + 8) = b;
		*(u64u *)(d + 16) = c;
		*(u64u *)(d + 24) = e;
		d += 32;
		s += 32;
		n -= 32;
		LOOP_BARRIER();
	}
	*(u64u *)dlast = t0;
	*(u64u *)(dlast + 8) = t1;
	*(u64u *)(dlast + 16) = t2;
	*(u64u *)(dlast + 24) = t3;
	return dst;
}

void *
memmove(void *dst, const void *src, size_t n)
{
	unsigned char *d = dst;
	const unsigned char *s = src;

	if (n <= 16) {
		copy_small(d, s, n);
		return dst;
	}
	if ((uintptr_t)d - (uintptr_t)s >= n) {
		/* No harmful overlap: d before s, or disjoint. */
		if (n >= REP_THRESHOLD) {
			rep_movsb(d, s, n);
			return dst;
		}
		while (n >= 8) {
			*(u64u *)d = *(const u64u *)s;
			d += 8;
			s += 8;
			n -= 8;
			LOOP_BARRIER();
		}
	} else {
		/* d overlaps the end of s: copy backwards. */
		d += n;
		s += n;
		while (n >= 8) {
			d -= 8;
			s -= 8;
			*(u64u *)d = *(const u64u *)s;
			n -= 8;
			LOOP_BARRIER();
		}
		d -= n;
		s -= n;
		/* The n < 8 head bytes: read before write, so overlap is fine. */
	}
	copy_small(d, s, n);
	return dst;
}

void *
memset(void *dst, int c, size_t n)
{
	unsigned char *d = dst;
	uint64_t v = (unsigned char)c * 0x0101010101010101ull;

	if (n >= REP_THRESHOLD) {
		__asm__ volatile("rep stosb"
		    : "+D"(d), "+c"(n) : "a"(c) : "memory");
		return dst;
	}
	if (n >= 8) {
		unsigned char *dlast = d + n - 8;
		while (n > 8) {
			*(u64u *)d = v;
			d += 8;
			n -= 8;
			LOOP_BARRIER();
		}
		*(u64u *)dlast = v;
		return dst;
	}
	if (n >= 4) {
		*(u32u *)d = (uint32_t)v;
		*(u32u *)(d + n - 4) = (uint32_t)v;
		return dst;
	}
	while (n-- > 0) {
		*d++ = (unsigned char)c;
		LOOP_BARRIER();
	}
	return dst;
}

int
memcmp(const void *a, const void *b, size_t n)
{
	const unsigned char *p = a, *q = b;

	while (n >= 8 && *(const u64u *)p == *(const u64u *)q) {
		p += 8;
		q += 8;
		n -= 8;
		LOOP_BARRIER();
	}
	for (; n > 0; n--, p++, q++) {
		if (*p != *q)
			return *p - *q;
	}
	return 0;
}

size_t
strlen(const char *s)
{
	const char *p = s;

	while (*p != '\0')
		p++;
	return p - s;
}

size_t
strnlen(const char *s, size_t max)
{
	size_t n = 0;

	while (n < max && s[n] != '\0')
		n++;
	return n;
}

int
strcmp(const char *a, const char *b)
{
	while (*a != '\0' && *a == *b) {
		a++;
		b++;
	}
	return (unsigned char)*a - (unsigned char)*b;
}

int
strncmp(const char *a, const char *b, size_t n)
{
	for (; n > 0; n--, a++, b++) {
		if (*a != *b)
			return (unsigned char)*a - (unsigned char)*b;
		if (*a == '\0')
			return 0;
	}
	return 0;
}

char *
strchr(const char *s, int c)
{
	for (;; s++) {
		if (*s == (char)c)
			return (char *)s;
		if (*s == '\0')
			return NULL;
	}
}

size_t
strlcpy(char *dst, const char *src, size_t size)
{
	size_t len = strlen(src);

	if (size > 0) {
		size_t n = len < size - 1 ? len : size - 1;
		memcpy(dst, src, n);
		dst[n] = '\0';
	}
	return len;
}
