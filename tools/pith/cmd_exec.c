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
 *
 * --root: the server's tree is the program's root ($PITH_ROOT), but for
 * the host paths the shim keeps (docs/shim.md); it starts in the
 * server's "/".
 *
 * A statically linked program (an ELF executable without PT_INTERP) has
 * no libc to interpose: it is run by pithload, found beside the shim,
 * which loads it under syscall user dispatch (tools/pithload).
 */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
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

/* Whether path is a static ELF executable: no PT_INTERP. */
static bool
exec_isstatic(const char *path)
{
	Elf64_Ehdr eh;
	Elf64_Phdr ph;
	bool st = false;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return false;
	if (pread(fd, &eh, sizeof(eh), 0) != sizeof(eh) ||
	    memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0 ||
	    eh.e_ident[EI_CLASS] != ELFCLASS64 ||
	    (eh.e_type != ET_EXEC && eh.e_type != ET_DYN))
		goto out;
	st = true;
	for (int i = 0; i < eh.e_phnum && st; i++)
		if (pread(fd, &ph, sizeof(ph), (off_t)(eh.e_phoff +
		    (unsigned long)i * sizeof(ph))) != sizeof(ph) ||
		    ph.p_type == PT_INTERP)
			st = false;
out:
	close(fd);
	return st;
}

/* The program as execvp would find it, into buf; false if not found. */
static bool
exec_which(const char *prog, char *buf, size_t len)
{
	const char *path = getenv("PATH"), *p, *colon;
	size_t n;

	if (strchr(prog, '/') != NULL)
		return (size_t)snprintf(buf, len, "%s", prog) < len;
	if (path == NULL)
		path = "/usr/local/bin:/usr/bin:/bin";
	for (p = path;; p = colon + 1) {
		colon = strchr(p, ':');
		n = colon != NULL ? (size_t)(colon - p) : strlen(p);
		if ((size_t)snprintf(buf, len, "%.*s%s%s", (int)n, p,
		    n > 0 ? "/" : "", prog) < len && access(buf, X_OK) == 0)
			return true;
		if (colon == NULL)
			return false;
	}
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
		{ "root", no_argument, NULL, 'r' },
		{ NULL, 0, NULL, 0 },
	};
	char shim[PATH_MAX], server[PATH_MAX], prog[PATH_MAX], *preload, *old;
	char *slash;
	const char *srv = getenv("PITH_SERVER");
	const char *prefix = NULL;
	int c, error;
	bool root = false;

	while ((c = getopt_long(argc, argv, "+s:p:r", opts, NULL)) != -1) {
		switch (c) {
		case 's':
			srv = optarg;
			break;
		case 'p':
			prefix = optarg;
			break;
		case 'r':
			root = true;
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
	if (prefix != NULL && root)
		return usage_error("exec", "--root and --prefix exclude each other");
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
	    (prefix != NULL && setenv("PITH_PREFIX", prefix, 1) != 0) ||
	    (root && (setenv("PITH_ROOT", "1", 1) != 0 ||
	    setenv("PITH_PREFIX", "/", 1) != 0 ||
	    setenv("PITH_CWD", "/", 1) != 0))) {
		warnx_("exec: %s", strerror(errno));
		return 1;
	}
	signal(SIGPIPE, SIG_DFL);
	signal(SIGINT, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	if (exec_which(argv[optind], prog, sizeof(prog)) &&
	    exec_isstatic(prog)) {
		/* pithload PATH ARGV0 ARGS..., beside the shim. */
		char **nargv = calloc((size_t)(argc - optind) + 3,
		    sizeof(*nargv));

		slash = strrchr(shim, '/');
		if (nargv == NULL || slash == NULL) {
			warnx_("exec: %s", strerror(ENOMEM));
			return 1;
		}
		strcpy(slash + 1, "pithload");
		nargv[0] = shim;
		nargv[1] = prog;
		memcpy(nargv + 2, argv + optind,
		    (size_t)(argc - optind) * sizeof(*nargv));
		execv(shim, nargv);
		warnx_("exec: %s: %s", shim, strerror(errno));
		exit(126);
	}
	execvp(argv[optind], argv + optind);
	error = errno;
	warnx_("exec: %s: %s", argv[optind], strerror(error));
	/* The shell's statuses for "not found" and "cannot run". */
	exit(error == ENOENT ? 127 : 126);
}
