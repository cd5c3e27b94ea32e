/*
 * Open files and descriptor tables.
 *
 * A struct file is one open instance of something -- a vnode, a pipe end,
 * an epoll set, a device -- reached through its ops vector, so the
 * descriptor layer knows nothing about what lies beneath.  Descriptor
 * tables map small integers to referenced files.
 *
 * Locking: [I] immutable after the file is published; [a] atomic;
 * [f] f_lock.
 */
#ifndef PITH_KERN_FILE_H
#define PITH_KERN_FILE_H

#include "kern/kern.h"
#include "kern/proc.h"

enum uio_rw { UIO_READ, UIO_WRITE };
enum uio_seg { UIO_USERSPACE, UIO_SYSSPACE };

/* A scatter-gather transfer in progress.  uiomove advances it. */
struct uio {
	struct iovec *uio_iov;
	int uio_iovcnt;
	off_t uio_offset;
	size_t uio_resid;
	enum uio_rw uio_rw;
	enum uio_seg uio_segflg;
};

/*
 * Move up to n bytes between the kernel buffer buf and the uio, in the
 * uio's direction; advances the uio.  Returns 0 or EFAULT.
 */
int uiomove(void *buf, size_t n, struct uio *uio);
/* Build a one-segment kernel-space uio. */
void uio_setup_sys(struct uio *uio, struct iovec *iov, void *buf, size_t len,
    off_t off, enum uio_rw rw);

struct file;
struct stat;
struct pollwait;

/*
 * fo_read/fo_write flags, and the offset protocol.
 *
 * FOF_UPDATE_OFFSET (read, write, readv, writev): the op takes f_lock,
 * transfers starting at f_offset (uio_offset on entry is only a hint),
 * stores the final uio_offset back into f_offset and drops f_lock.  It
 * holds f_lock across the transfer, so two threads reading one shared
 * open file never read from the same offset (Linux's f_pos_lock).  An op
 * for a file without a position (pipes, devices) ignores the flag and
 * must not hold f_lock while it sleeps.
 * Without the flag (pread64, pwrite64, preadv, pwritev) the op transfers
 * at uio_offset and leaves f_offset alone; the syscall layer has checked
 * that the file is seekable (fo_seek != NULL) and the offset >= 0.
 * An op that moved some bytes and then hit an error (EAGAIN, EPIPE)
 * returns 0 with uio_resid showing the partial transfer; the syscall layer
 * also turns such an error into the partial count.
 */
#define FOF_UPDATE_OFFSET 0x1

/*
 * The ops vector.  Each op is called with no lock held and a reference on
 * the file; ops return 0 or an errno.  Absent ops (NULL) mean the
 * operation is not supported on this kind of file and the syscall layer
 * returns the errno Linux would (EINVAL, ESPIPE, ENOTTY...).
 */
struct fileops {
	int (*fo_read)(struct file *fp, struct uio *uio, int flags);
	int (*fo_write)(struct file *fp, struct uio *uio, int flags);
	/* data: for FIONREAD and FIONBIO a kernel int (the syscall layer
	 * copies it in and out); for every other command the caller's
	 * pointer argument, which the op copies in/out itself.  Unknown
	 * commands: ENOTTY. */
	int (*fo_ioctl)(struct file *fp, unsigned long cmd, void *data);
	/* Current readiness for events (POLL* bits, plus POLLERR/POLLHUP
	 * always); if pw is non-NULL also register pw with every wait queue
	 * that will be woken when readiness changes (see kern/poll.h).
	 * NULL: not pollable in epoll's sense (regular files, directories):
	 * poll and select report it always ready, epoll_ctl refuses it
	 * with EPERM, as Linux does. */
	int (*fo_poll)(struct file *fp, int events, struct pollwait *pw);
	/* Fill all of *st, padding included (it is copied out whole). */
	int (*fo_stat)(struct file *fp, struct stat *st);
	/* lseek; NULL means ESPIPE.  Computes and stores f_offset. */
	int (*fo_seek)(struct file *fp, off_t off, int whence, off_t *newoff);
	/* Last reference gone: free f_data.  Cannot fail usefully. */
	void (*fo_close)(struct file *fp);
	/* fstatfs, fsync, ftruncate, fchmod...: files backed by a vnode
	 * return it (referenced) here; NULL means not a vnode. */
	int (*fo_vnode)(struct file *fp, void **vpp);
};

struct file {
	const struct fileops *f_ops;    /* [I] */
	void *f_data;                   /* [I] owned by the ops */
	unsigned f_refcnt;              /* [a] descriptors + calls in flight */
	unsigned f_flag;                /* [f] O_ACCMODE bits, O_APPEND, O_NONBLOCK... */
	off_t f_offset;                 /* [f] */
	struct cred *f_cred;            /* [I] opener's, referenced */
	kmutex_t f_lock;
	void *f_epoll;                  /* [f] epoll registrations on this file */
};

/* Allocate a file with one reference and the caller's credentials. */
int file_alloc(const struct fileops *ops, void *data, unsigned flag,
    struct file **ret);
void file_hold(struct file *fp);
void file_rele(struct file *fp);

/* Descriptor tables. */
#define FD_LIMIT_DEFAULT 1024   /* RLIMIT_NOFILE soft limit, as Linux */

struct filedesc;
int fd_table_alloc(struct filedesc **ret);
int fd_table_copy(struct filedesc *from, struct filedesc **ret);
/* Close every descriptor and free the table. */
void fd_table_free(struct filedesc *fdp);
/* Close every descriptor but keep the table (a process that exits while
 * another thread may still be in a call of its: the table goes with the
 * last reference to the process). */
void fd_table_closeall(struct filedesc *fdp);
/* Descriptor limit of the table (EMFILE beyond it). */
int fd_limit(struct filedesc *fdp);

/* Look up fd in the caller's table: a referenced file, or EBADF. */
int fd_get(int fd, struct file **ret);
/* As fd_get, but EBADF for an O_PATH descriptor: Linux refuses those
 * everywhere but fstat, close, dup and a few fcntl commands. */
int fd_get_nopath(int fd, struct file **ret);
/*
 * fd_get without taking a reference, for short calls (fstat): the file
 * stays valid until fd_put_light, which must come before the call
 * returns; the caller may sleep in between.  See kern_descrip.c.
 */
int fd_get_light(int fd, struct file **ret, struct lwp **light);
void fd_put_light(struct file *fp, struct lwp *light);
/* Install fp at the lowest free slot >= minfd; takes a new reference. */
int fd_install(struct file *fp, int minfd, bool cloexec, int *fdret);
/* The same, but on success the table takes over the caller's reference
 * (open: saves a hold and a release, two atomic operations). */
int fd_install_move(struct file *fp, int minfd, bool cloexec, int *fdret);
/* Install fp at exactly fd, closing what was there (dup2). */
int fd_install_at(struct file *fp, int fd, bool cloexec);
int fd_close(int fd);
int fd_getflags(int fd, int *flags);           /* FD_CLOEXEC */
int fd_setflags(int fd, int flags);
/* Close every descriptor marked close-on-exec (for execve). */
void fd_closeexec(struct filedesc *fdp);

/* Pipes (kern/sys_pipe.c): F_GETPIPE_SZ and F_SETPIPE_SZ for fcntl.
 * EBADF if fp is not a pipe. */
int pipe_getsize(struct file *fp, long *ret);
int pipe_setsize(struct file *fp, unsigned long size, long *ret);

#endif
