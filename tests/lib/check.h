/*
 * The reporter of the test programs a script runs and relays line by
 * line (tests/scripts/tap.sh's client): "ok - what" or "not ok - what",
 * flushed at once so that a program killed later has said what it did;
 * the script numbers the lines and owns the plan.  check_failed is the
 * program's exit status.  Header-only: the static programs are built by
 * the scripts, one source file each, with musl and glibc alike.
 */
#ifndef PITH_TESTS_CHECK_H
#define PITH_TESTS_CHECK_H

#include <stdio.h>

static int check_failed;

static void
check(int cond, const char *what)
{
	printf("%s - %s\n", cond ? "ok" : "not ok", what);
	fflush(stdout);
	if (!cond)
		check_failed = 1;
}

#endif
