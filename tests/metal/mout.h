/*
 * What the bare-metal test programs (selftest.c, devtest.c) share: raw
 * system calls through pith_syscall6 and console output without a libc.
 * Each program includes this once; everything is static.
 */
#ifndef PITH_TESTS_METAL_MOUT_H
#define PITH_TESTS_METAL_MOUT_H

#include <pith/hyp.h>

long pith_syscall6(long nr, long a1, long a2, long a3, long a4, long a5,
    long a6);

static long
sc(long nr, long a1, long a2, long a3)
{
	return pith_syscall6(nr, a1, a2, a3, 0, 0, 0);
}

static unsigned long
mt_len(const char *s)
{
	unsigned long n = 0;

	while (s[n] != '\0')
		n++;
	return n;
}

static void
out(const char *s)
{
	hyp_console_write(s, mt_len(s));
}

static void
out_long(long v)
{
	char buf[24];
	int i = sizeof(buf);
	unsigned long u = v < 0 ? -(unsigned long)v : (unsigned long)v;

	do {
		buf[--i] = (char)('0' + u % 10);
		u /= 10;
	} while (u != 0);
	if (v < 0)
		buf[--i] = '-';
	hyp_console_write(&buf[i], sizeof(buf) - i);
}

/* Are the n bytes at a and b the same? */
static int
mt_eq(const void *a, const void *b, unsigned long n)
{
	const unsigned char *x = a, *y = b;
	unsigned long i;

	for (i = 0; i < n; i++)
		if (x[i] != y[i])
			return 0;
	return 1;
}

#endif
