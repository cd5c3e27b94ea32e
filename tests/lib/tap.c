/*
 * TAP output for the test programs: a counter, a failure count and
 * printf-style helpers.  Every line is flushed at once so that output
 * interleaves correctly with a child process that forks after a test.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "lib/tap.h"

static int tap_n;
static int tap_nfail;
static int tap_planned;

static void
tap_vline(int pass, const char *fmt, va_list ap)
{
	tap_n++;
	if (!pass)
		tap_nfail++;
	printf("%sok %d - ", pass ? "" : "not ", tap_n);
	vprintf(fmt, ap);
	printf("\n");
	fflush(stdout);
}

void
plan(int n)
{
	tap_planned = 1;
	printf("1..%d\n", n);
	fflush(stdout);
}

int
ok(int cond, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	tap_vline(cond != 0, fmt, ap);
	va_end(ap);
	return cond != 0;
}

int
is_int(long long got, long long want, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	tap_vline(got == want, fmt, ap);
	va_end(ap);
	if (got != want)
		diag("  got %lld, want %lld", got, want);
	return got == want;
}

void
diag(const char *fmt, ...)
{
	va_list ap;

	printf("# ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
}

void
skip(int n, const char *fmt, ...)
{
	va_list ap;

	while (n-- > 0) {
		tap_n++;
		printf("ok %d # skip ", tap_n);
		va_start(ap, fmt);
		vprintf(fmt, ap);
		va_end(ap);
		printf("\n");
	}
	fflush(stdout);
}

void
bail_out(const char *fmt, ...)
{
	va_list ap;

	printf("Bail out! ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
	exit(255);
}

int
done_testing(void)
{
	if (!tap_planned)
		printf("1..%d\n", tap_n);
	fflush(stdout);
	return tap_nfail ? 1 : 0;
}

int
tap_count(void)
{
	return tap_n;
}

int
tap_failed(void)
{
	return tap_nfail;
}
