/*
 * TAP for kernel-side unit tests: they run inside a private copy of the
 * kernel, so they print with kprintf rather than through tests/lib.
 */
#ifndef PITH_TESTS_KTAP_H
#define PITH_TESTS_KTAP_H

#include "kern/kern.h"

int pith_unittest_main(void);

static int t_n;
static int t_fail;

static inline void
ok(bool cond, const char *name)
{
	t_n++;
	if (!cond)
		t_fail++;
	kprintf("%sok %d - %s\n", cond ? "" : "not ", t_n, name);
}

#endif
