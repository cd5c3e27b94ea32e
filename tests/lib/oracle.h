/*
 * Linux's answers, recorded hosted and replayed in the VM.  A foundation
 * test that compares Pith with Linux runs the same script of calls on the
 * host's libc and on Pith (tests/sys/vfs_oracle.h, mknod_test.c).  Inside
 * the VM there is no Linux to ask, so the hosted run, given PITH_ORACLE=
 * FILE, appends one line per script to FILE -- "NAME N V1 ... VN", NAME
 * without spaces, each V a result or -errno -- and
 * tests/scripts/metal_systests.t turns that file into a C string the musl
 * build compiles in (-DPITH_ORACLE_H="file.h" defining oracle_text).  The
 * VM run compares Pith's answers with those, the same way.
 *
 * Header-only.  Without PITH_ORACLE, oracle_save does nothing; a VM build
 * without recorded answers finds none (oracle_load returns -1) and the
 * test fails the comparison rather than passing it.
 */
#ifndef PITH_TESTS_ORACLE_H
#define PITH_TESTS_ORACLE_H

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "tap.h"

/* Hosted: append script name's n answers to $PITH_ORACLE, if set. */
static void __attribute__((unused))
oracle_save(const char *name, const long *val, int n)
{
	const char *path = getenv("PITH_ORACLE");
	FILE *f;
	int i;

	if (path == NULL || *path == '\0')
		return;
	if ((f = fopen(path, "a")) == NULL)
		bail_out("PITH_ORACLE %s: %s", path, strerror(errno));
	fprintf(f, "%s %d", name, n);
	for (i = 0; i < n; i++)
		fprintf(f, " %ld", val[i]);
	fputc('\n', f);
	if (fclose(f) != 0)
		bail_out("PITH_ORACLE %s: %s", path, strerror(errno));
}

#ifdef PITH_METAL
#ifdef PITH_ORACLE_H
#include PITH_ORACLE_H
#else
static const char oracle_text[] = "";
#endif

/* VM: script name's recorded answers into val (at most max of them);
 * returns how many were recorded, or -1 when there is no line for name
 * or it is malformed. */
static int __attribute__((unused))
oracle_load(const char *name, long *val, int max)
{
	const char *p = oracle_text;
	size_t len = strlen(name);
	char *end;
	long n, i;

	for (; *p != '\0'; p = strchr(p, '\n') + 1) {
		if (strncmp(p, name, len) == 0 && p[len] == ' ')
			break;
		if (strchr(p, '\n') == NULL)
			return -1;
	}
	if (*p == '\0')
		return -1;
	n = strtol(p + len, &end, 10);
	if (end == p + len || n < 0 || n > max)
		return -1;
	for (i = 0; i < n; i++) {
		p = end;
		val[i] = strtol(p, &end, 10);
		if (end == p)
			return -1;
	}
	return (int)n;
}
#endif

#endif
