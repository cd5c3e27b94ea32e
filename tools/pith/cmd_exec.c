/*
 * pith exec: run an unmodified program with a pithd server's files under
 * a prefix, through libpithshim (lib/pithshim, docs/shim.md).
 *
 * The command only prepares the environment and execs: LD_PRELOAD gets
 * the shim (ahead of anything already preloaded), PITH_SERVER the socket
 * made absolute (the program may change directory before its first call),
 * PITH_PREFIX the prefix.  The shim is looked for next to this binary
 * (the build tree), then in ../lib beside it and in the configured
 * LIBDIR (an install).  Signal dispositions the pith command set up for
 * itself are put back first: a pipeline's writer must die of SIGPIPE as
 * it would without us.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pith_tool.h"

#ifndef PITH_LIBDIR
#define PITH_LIBDIR "/usr/local/lib"
#endif

#define SHIM_NAME "libpithshim.so"

/* Whether dir/name names a readable file; its path into buf. */
static bool
exec_try(char *buf, size_t len, const char *dir, const char *name)
{
	int n = snprintf(buf, len, "%s/%s", dir, name);

	return n > 0 && (size_t)n < len && access(buf, R_OK) == 0;
}

/* The shim's absolute path into buf, or ENOENT. */
static int
exec_findshim(char *buf, size_t len)
{
	char self[PATH_MAX], *slash;
	ssize_t n;

	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n > 0) {
		self[n] = '\0';
		slash = strrchr(self, '/');
		if (slash != NULL) {
			*slash = '\0';
			if (exec_try(buf, len, self, SHIM_NAME) ||
			    exec_try(buf, len, self, "../lib/" SHIM_NAME))
				return 0;
		}
	}
	if (exec_try(buf, len, PITH_LIBDIR, SHIM_NAME))
		return 0;
	return ENOENT;
}

/* PATH made absolute without resolving it (the socket may not exist). */
static int
exec_abspath(const char *path, char *buf, size_t len)
{
	char cwd[PATH_MAX];

	if (path[0] == '/') {
		if ((size_t)snprintf(buf, len, "%s", path) >= len)
			return ENAMETOOLONG;
		return 0;
	}
	if (getcwd(cwd, sizeof(cwd)) == NULL)
		return errno;
	if ((size_t)snprintf(buf, len, "%s/%s", cwd, path) >= len)
		return ENAMETOOLONG;
	return 0;
}

int
cmd_exec(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "server", required_argument, NULL, 's' },
		{ "prefix", required_argument, NULL, 'p' },
		{ NULL, 0, NULL, 0 },
	};
	char shim[PATH_MAX], server[PATH_MAX], *preload, *old;
	const char *srv = getenv("PITH_SERVER");
	const char *prefix = NULL;
	int c, error;

	while ((c = getopt_long(argc, argv, "+s:p:", opts, NULL)) != -1) {
		switch (c) {
		case 's':
			srv = optarg;
			break;
		case 'p':
			prefix = optarg;
			break;
		default:
			return usage_error("exec", NULL);
		}
	}
	if (optind >= argc)
		return usage_error("exec", "no program given");
	if (srv == NULL || *srv == '\0')
		return usage_error("exec",
		    "no server: give --server or set PITH_SERVER");
	if (prefix != NULL && prefix[0] != '/')
		return usage_error("exec", "the prefix must be absolute");
	error = exec_abspath(srv, server, sizeof(server));
	if (error) {
		warnx_("exec: %s: %s", srv, strerror(error));
		return 1;
	}
	if (exec_findshim(shim, sizeof(shim)) != 0) {
		warnx_("exec: %s not found next to pith or in %s", SHIM_NAME,
		    PITH_LIBDIR);
		return 1;
	}
	old = getenv("LD_PRELOAD");
	if (old != NULL && *old != '\0') {
		if (asprintf(&preload, "%s:%s", shim, old) < 0) {
			warnx_("exec: %s", strerror(ENOMEM));
			return 1;
		}
	} else
		preload = shim;
	if (setenv("LD_PRELOAD", preload, 1) != 0 ||
	    setenv("PITH_SERVER", server, 1) != 0 ||
	    (prefix != NULL && setenv("PITH_PREFIX", prefix, 1) != 0)) {
		warnx_("exec: %s", strerror(errno));
		return 1;
	}
	signal(SIGPIPE, SIG_DFL);
	signal(SIGINT, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	execvp(argv[optind], argv + optind);
	error = errno;
	warnx_("exec: %s: %s", argv[optind], strerror(error));
	/* The shell's statuses for "not found" and "cannot run". */
	exit(error == ENOENT ? 127 : 126);
}
