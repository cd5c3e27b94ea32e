/*
 * Pith: an anykernel library.  This is the API for programs that embed a
 * Pith kernel in their own process.
 *
 *	pith_init(NULL);
 *	int fd = pith_sys_open("/hello", O_CREAT | O_RDWR, 0644);
 *	pith_sys_write(fd, "hi\n", 3);
 *	pith_sys_close(fd);
 *	pith_fini();
 *
 * Error policy, for the whole API: each pith_sys_X() has the signature and
 * the semantics of the libc function X on Linux x86-64 -- the host's own
 * flag values and struct layouts -- and returns -1 with errno set on
 * failure.  pith_syscall() is the raw door beneath them: Linux x86-64
 * system-call numbers in, a result or -errno out, errno untouched.  The
 * other pith_* calls here return 0 or -1 with errno set unless their
 * comment says otherwise.
 *
 * One kernel per host process.  Any number of host threads may call in at
 * once; a thread that has not chosen a process runs in the first process
 * (pid 1), whose credentials are root.
 */
#ifndef PITH_PITH_H
#define PITH_PITH_H

#include <stddef.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

#define PITH_VERSION_MAJOR 0
#define PITH_VERSION_MINOR 1
#define PITH_VERSION_STRING "0.1.0"

struct pith_config {
	unsigned ncpus;         /* virtual CPUs; 0: the host's CPU count */
	size_t mem_limit;       /* bytes the kernel may allocate; 0: 256 MiB */
	const char *hostname;   /* uname nodename; NULL: "pith" */
	unsigned flags;         /* PITH_F_* */
};

/* Print every system call with its arguments and result (like strace). */
#define PITH_F_TRACE 0x1u

/*
 * Boot a kernel in this process: a tmpfs root with /dev (null, zero,
 * random, urandom, console, tty) and /tmp, one process (pid 1) running as
 * root with descriptors 0, 1, 2 open on the console.  cfg may be NULL for
 * the defaults.  Fails with EBUSY if a kernel is already running, EINVAL
 * for a bad config, ENOMEM if the memory limit is too small to boot.
 */
int pith_init(const struct pith_config *cfg);

/*
 * Shut the kernel down: every process is ended, every file system synced
 * and unmounted, every kernel thread joined, and every byte the kernel took
 * from the host returned.  No thread may be inside a pith_* call.
 */
void pith_fini(void);

/* The raw system call: Linux x86-64 numbers, returns result or -errno. */
long pith_syscall(long nr, ...);
long pith_syscall6(long nr, long a1, long a2, long a3, long a4, long a5,
    long a6);

/*
 * Processes.  Each has its own descriptor table, working and root
 * directory, umask and credentials.  A host thread runs as exactly one
 * process at a time.
 *
 * pith_proc_create makes a child of the calling thread's process with the
 * parent's credentials, directories and umask; with PITH_PROC_COPYFDS it
 * also gets a copy of the parent's descriptor table (sharing the open
 * files, as fork does), otherwise it starts with none.  Returns the new pid
 * or -1 (EAGAIN when the process table is full, ENOMEM).  The caller keeps
 * running as before.
 */
#define PITH_PROC_COPYFDS 0x1u
pid_t pith_proc_create(unsigned flags);
/* The calling thread runs as pid from now on (ESRCH if there is none). */
int pith_proc_switch(pid_t pid);
/*
 * End pid: close its descriptors and drop its directories.  Threads still
 * switched to it get ESRCH from then on until they switch away; its memory
 * is freed when the last one has.  The first process cannot be released
 * (EPERM).
 */
int pith_proc_release(pid_t pid);

/* Memory the kernel holds from the host right now, in bytes. */
size_t pith_mem_inuse(void);
/*
 * Give the host back what the kernel caches but does not use: free files
 * and vnodes (only if no other thread is inside the kernel), and every
 * allocator slab whose blocks are all free but one per size class.
 * Returns the bytes given back; 0 if another reap is running.  Call it
 * when idle: it holds virtual CPUs while it runs.
 */
size_t pith_mem_reap(void);

#include <pith/pith_sys.h>

#ifdef __cplusplus
}
#endif

#endif /* PITH_PITH_H */
