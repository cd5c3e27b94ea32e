/*
 * libpithshim internals shared by its source files: the routing of paths
 * and descriptors between the host and a pithd server.  Nothing here is
 * exported from the shared object; only the libc names the shim replaces
 * are (SHIM_EXPORT).
 */
#ifndef PITH_SHIM_H
#define PITH_SHIM_H

#include <dlfcn.h>
#include <limits.h>
#include <sys/types.h>

#define SHIM_EXPORT	__attribute__((visibility("default")))

/*
 * The next definition of a libc function (glibc's), looked up once.  A
 * race between two first calls only looks it up twice.
 */
#define REAL(fn) ({							\
	static void *real_;						\
	if (real_ == NULL)						\
		real_ = dlsym(RTLD_NEXT, #fn);				\
	(__typeof__(&fn))real_;						\
})

/* Where a path goes: the host's libc, or the server with these. */
struct shim_route {
	int	 sr_dirfd;		/* server dirfd or AT_FDCWD */
	const char *sr_path;		/* path as the server sees it */
};

int shim_route(int dirfd, const char *path, struct shim_route *r);
int shim_sfd(int fd);
int shim_newfd(long sfd, int min);
void shim_forget(int fd);
long shim_call(long nr, long a1, long a2, long a3, long a4, long a5,
    long a6);
long shim_ret(long r);
long shim_err(int error);
int shim_hostname(const char *spath, char *buf, size_t size);

#define SHIM_CWDENV	"PITH_CWD"
/* From an execve to the new image: the parked process, kept descriptors. */
#define SHIM_TOKENENV	"PITH_TOKEN"
#define SHIM_FDSENV	"PITH_FDS"
int shim_connected_now(void);
int shim_vforked(void);
int shim_maxfd_now(void);
void shim_setcwd(int server);
void shim_cloned(const char *tok);
/* stdio.c: stdin, stdout, stderr follow a dup onto 0-2 (before, after). */
void shim_std_follow(int fd, int done);
/* exec.c: execvp's PATH search, returning the errno that ended it. */
int shim_exec_search(const char *file, char *const argv[],
    char *const envp[], int scripts);

extern int shim_cwd_server;
extern char shim_cwd[PATH_MAX];

#define SCALL(nr, a1, a2, a3, a4, a5, a6)				\
	shim_call((nr), (long)(a1), (long)(a2), (long)(a3), (long)(a4),	\
	    (long)(a5), (long)(a6))

#endif /* PITH_SHIM_H */
