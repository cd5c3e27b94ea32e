/*
 * A tiny TAP producer for Pith's test programs.  Output goes to stdout,
 * diagnostics to stdout prefixed "# " so prove shows them with -v.  Not
 * thread-safe: call it from one thread.
 */
#ifndef PITH_TESTS_TAP_H
#define PITH_TESTS_TAP_H

/* Announce n tests up front; or call done_testing() at the end instead. */
void plan(int n);
/* One test: passes if cond is non-zero.  Returns cond. */
int ok(int cond, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Compare two integers; on failure print both.  Returns got == want. */
int is_int(long long got, long long want, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* A comment line. */
void diag(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Record n skipped tests with a reason. */
void skip(int n, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Abort the whole run. */
void bail_out(const char *fmt, ...) __attribute__((format(printf, 1, 2)))
    __attribute__((noreturn));
/* Print the plan if none was given; returns the exit status (0: all ok). */
int done_testing(void);
/* Tests run / failed so far. */
int tap_count(void);
int tap_failed(void);

#endif
