/*
 * libpithshim: directory streams and stdio streams on server files.
 *
 * glibc's opendir and fopen open their files with internal calls that an
 * LD_PRELOAD library cannot see, so the shim replaces the entry points
 * instead.  A server directory stream is a struct shim_dir, handed out as
 * a DIR *: it starts with a magic number where glibc's DIR has its
 * descriptor (a small int) and its lock, so the two cannot be confused,
 * and every dirent function checks for it before passing a DIR to glibc.
 * The stream owns its descriptor; closedir closes it.  Not safe for two
 * threads to read one stream at once (POSIX does not require it).
 *
 * A server stdio stream is glibc's own FILE made by fopencookie over the
 * shim's read, write, lseek and close of the descriptor, so buffering,
 * getline and the rest are glibc's; fileno() is the shim's descriptor.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "shim.h"

#define SHIM_DIRMAGIC	0x5049544844495221ULL	/* "PITHDIR!" */

struct linux_dirent64 {
	uint64_t	d_ino;
	int64_t		d_off;
	unsigned short	d_reclen;
	unsigned char	d_type;
	char		d_name[];
};

struct shim_dir {
	uint64_t	sd_magic;
	int		sd_fd;		/* host number of the server fd */
	int		sd_pos;		/* next record in sd_buf */
	int		sd_len;		/* bytes in sd_buf */
	long		sd_off;		/* d_off of the last entry returned */
	struct dirent64	sd_ent;		/* what readdir returns */
	char		sd_buf[32768];
};

static struct shim_dir *
shim_dir(DIR *d)
{
	struct shim_dir *sd = (struct shim_dir *)d;

	if (d != NULL && sd->sd_magic == SHIM_DIRMAGIC)
		return sd;
	return NULL;
}

static DIR *
shim_dir_new(int fd)
{
	struct shim_dir *sd;

	sd = calloc(1, sizeof(*sd));
	if (sd == NULL)
		return NULL;
	sd->sd_magic = SHIM_DIRMAGIC;
	sd->sd_fd = fd;
	return (DIR *)sd;
}

SHIM_EXPORT DIR *
fdopendir(int fd)
{
	struct stat st;

	if (shim_sfd(fd) < 0)
		return REAL(fdopendir)(fd);
	if (fstat(fd, &st) < 0)
		return NULL;
	if (!S_ISDIR(st.st_mode)) {
		errno = ENOTDIR;
		return NULL;
	}
	return shim_dir_new(fd);
}

SHIM_EXPORT DIR *
opendir(const char *path)
{
	struct shim_route r;
	DIR *d;
	int fd, error;

	if (!shim_route(AT_FDCWD, path, &r))
		return REAL(opendir)(path);
	fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	d = shim_dir_new(fd);
	if (d == NULL) {
		error = errno;
		close(fd);
		errno = error;
	}
	return d;
}

SHIM_EXPORT struct dirent64 *
readdir64(DIR *d)
{
	struct shim_dir *sd = shim_dir(d);
	struct linux_dirent64 *ld;
	ssize_t n;
	size_t len;

	if (sd == NULL)
		return REAL(readdir64)(d);
	if (sd->sd_pos >= sd->sd_len) {
		/* End of stream leaves errno alone; an error sets it. */
		n = getdents64(sd->sd_fd, sd->sd_buf, sizeof(sd->sd_buf));
		if (n <= 0)
			return NULL;
		sd->sd_len = (int)n;
		sd->sd_pos = 0;
	}
	ld = (struct linux_dirent64 *)(sd->sd_buf + sd->sd_pos);
	if (ld->d_reclen < offsetof(struct linux_dirent64, d_name) + 1 ||
	    ld->d_reclen > sd->sd_len - sd->sd_pos) {
		/* Not what getdents64 returns: stop rather than loop. */
		sd->sd_pos = sd->sd_len;
		errno = EIO;
		return NULL;
	}
	sd->sd_pos += ld->d_reclen;
	sd->sd_off = ld->d_off;
	len = strnlen(ld->d_name, sizeof(sd->sd_ent.d_name) - 1);
	sd->sd_ent.d_ino = ld->d_ino;
	sd->sd_ent.d_off = ld->d_off;
	sd->sd_ent.d_reclen = sizeof(sd->sd_ent);
	sd->sd_ent.d_type = ld->d_type;
	memcpy(sd->sd_ent.d_name, ld->d_name, len);
	sd->sd_ent.d_name[len] = '\0';
	return &sd->sd_ent;
}

/* struct dirent and struct dirent64 are one layout on x86-64. */
SHIM_EXPORT struct dirent *
readdir(DIR *d)
{
	if (shim_dir(d) == NULL)
		return REAL(readdir)(d);
	return (struct dirent *)readdir64(d);
}

SHIM_EXPORT int
closedir(DIR *d)
{
	struct shim_dir *sd = shim_dir(d);
	int fd;

	if (sd == NULL)
		return REAL(closedir)(d);
	fd = sd->sd_fd;
	sd->sd_magic = 0;
	free(sd);
	return close(fd);
}

SHIM_EXPORT int
dirfd(DIR *d)
{
	struct shim_dir *sd = shim_dir(d);

	if (sd == NULL)
		return REAL(dirfd)(d);
	return sd->sd_fd;
}

SHIM_EXPORT void
seekdir(DIR *d, long off)
{
	struct shim_dir *sd = shim_dir(d);

	if (sd == NULL) {
		REAL(seekdir)(d, off);
		return;
	}
	if (lseek(sd->sd_fd, off, SEEK_SET) < 0)
		return;
	sd->sd_pos = sd->sd_len = 0;
	sd->sd_off = off;
}

SHIM_EXPORT void
rewinddir(DIR *d)
{
	if (shim_dir(d) == NULL) {
		REAL(rewinddir)(d);
		return;
	}
	seekdir(d, 0);
}

SHIM_EXPORT long
telldir(DIR *d)
{
	struct shim_dir *sd = shim_dir(d);

	if (sd == NULL)
		return REAL(telldir)(d);
	return sd->sd_off;
}

/* --- stdio ----------------------------------------------------------- */

static ssize_t
shim_cread(void *c, char *buf, size_t n)
{
	return read((int)(intptr_t)c, buf, n);
}

static ssize_t
shim_cwrite(void *c, const char *buf, size_t n)
{
	ssize_t r = write((int)(intptr_t)c, buf, n);

	/* fopencookie's writer reports an error as 0, not -1. */
	return r < 0 ? 0 : r;
}

static int
shim_cseek(void *c, off64_t *off, int whence)
{
	off64_t r = lseek((int)(intptr_t)c, *off, whence);

	if (r < 0)
		return -1;
	*off = r;
	return 0;
}

static int
shim_cclose(void *c)
{
	return close((int)(intptr_t)c);
}

/* fopen's mode string as open flags; EINVAL for a bad one. */
static int
shim_fmode(const char *mode, int *flags)
{
	int f;

	switch (mode[0]) {
	case 'r':
		f = O_RDONLY;
		break;
	case 'w':
		f = O_WRONLY | O_CREAT | O_TRUNC;
		break;
	case 'a':
		f = O_WRONLY | O_CREAT | O_APPEND;
		break;
	default:
		return EINVAL;
	}
	for (mode++; *mode != '\0' && *mode != ','; mode++)
		switch (*mode) {
		case '+':
			f = (f & ~O_ACCMODE) | O_RDWR;
			break;
		case 'e':
			f |= O_CLOEXEC;
			break;
		case 'x':
			f |= O_EXCL;
			break;
		}
	*flags = f;
	return 0;
}

/* A stream on the shim's descriptor fd; own: fclose closes fd. */
static FILE *
shim_fcookie(int fd, const char *mode, bool own)
{
	cookie_io_functions_t io = {
		shim_cread, shim_cwrite, shim_cseek, own ? shim_cclose : NULL
	};
	FILE *f;

	f = fopencookie((void *)(intptr_t)fd, mode, io);
	/* glibc marks a cookie stream's descriptor -2; give it ours, so
	 * that fileno() works (sort fstats it).  The cookie functions do
	 * the I/O, so glibc never uses the number itself. */
	if (f != NULL)
		f->_fileno = fd;
	return f;
}

/* A stream that owns fd (the file fopen opened): fd is closed if the
 * stream cannot be made. */
static FILE *
shim_fcookie_own(int fd, const char *mode)
{
	FILE *f = shim_fcookie(fd, mode, true);
	int error;

	if (f == NULL) {
		error = errno;
		close(fd);
		errno = error;
	}
	return f;
}

/*
 * The standard streams follow descriptors 0-2.  A shell runs a builtin
 * with its output redirected by dup2-ing the file onto 1 and back after;
 * glibc's stdout writes descriptor 1 with internal calls the shim never
 * sees, which would reach the host placeholder.  So while 0, 1 or 2 is
 * a server descriptor, its stream is a cookie stream on that number (not
 * owning it: closing it leaves the descriptor alone; its mode is the
 * descriptor's access mode), and glibc's own
 * stream comes back when a host descriptor returns there.  Called by
 * dup3 around a dup onto 0-2 that involves a server descriptor: before
 * (done 0), to flush what was written to the old file; after (done 1),
 * to swap.  Single-threaded use of the standard streams is assumed, as
 * shells do; who frees: the cookie stream is closed on the swap back.
 */
static FILE *shim_std_orig[3];	/* glibc's stream while 0-2 is a server's */

static FILE **
shim_std_stream(int fd)
{
	return fd == 0 ? &stdin : fd == 1 ? &stdout : &stderr;
}

/* glibc's stream back at fd (0-2), if a following one stands in for it. */
static void
shim_std_restore(int fd)
{
	FILE **sp = shim_std_stream(fd), *f = *sp;

	if (shim_std_orig[fd] == NULL)
		return;
	*sp = shim_std_orig[fd];
	shim_std_orig[fd] = NULL;
	fclose(f);
}

void
shim_std_follow(int fd, int done)
{
	static const char *const modes[] = { "r", "w", "r+", "r+" };
	FILE **sp = shim_std_stream(fd), *f;
	int server = shim_sfd(fd) >= 0, fl;

	if (!done) {
		if (fd > 0)
			fflush(*sp);
		return;
	}
	if (server == (shim_std_orig[fd] != NULL))
		return;			/* already the right kind */
	if (server) {
		if ((fl = fcntl(fd, F_GETFL)) < 0)
			return;
		if ((f = shim_fcookie(fd, modes[fl & O_ACCMODE], false)) == NULL)
			return;
		if (fd == 2)
			setvbuf(f, NULL, _IONBF, 0);
		shim_std_orig[fd] = *sp;
		*sp = f;
	} else
		shim_std_restore(fd);
}

SHIM_EXPORT FILE *
fopen64(const char *path, const char *mode)
{
	struct shim_route r;
	int fd, flags, error;

	if (!shim_route(AT_FDCWD, path, &r))
		return REAL(fopen64)(path, mode);
	error = shim_fmode(mode, &flags);
	if (error) {
		errno = error;
		return NULL;
	}
	fd = open(path, flags, 0666);
	if (fd < 0)
		return NULL;
	return shim_fcookie_own(fd, mode);
}

SHIM_EXPORT FILE *
fopen(const char *path, const char *mode)
{
	return fopen64(path, mode);
}

SHIM_EXPORT FILE *
fdopen(int fd, const char *mode)
{
	if (shim_sfd(fd) < 0)
		return REAL(fdopen)(fd, mode);
	return shim_fcookie(fd, mode, true);
}

/*
 * freopen onto a server file.  glibc reopens with internal calls, and a
 * glibc FILE does its I/O with internal calls too, so the result must be
 * a cookie stream.  The server file takes the old stream's descriptor
 * number, as freopen's reuse of it would (children then find stdout at
 * 1), the old FILE is released without closing that number, and stdin,
 * stdout and stderr are pointed at the new stream.  The caller gets a
 * new FILE *, not the one it passed: a pointer to the old stream that
 * the program kept elsewhere is dangling, except for the three standard
 * streams, whose storage glibc never frees (writes through such a kept
 * pointer go to the host placeholder).
 */
SHIM_EXPORT FILE *
freopen64(const char *path, const char *mode, FILE *stream)
{
	struct shim_route r;
	int fd, num, flags, error;
	FILE *f;

	/* A mode change (no path) of a server stream: glibc would reopen
	 * /proc/self/fd/N, the host placeholder.  Refused, stream kept. */
	if (path == NULL && shim_sfd(fileno(stream)) >= 0) {
		errno = EOPNOTSUPP;
		return NULL;
	}
	if (path == NULL || !shim_route(AT_FDCWD, path, &r))
		return REAL(freopen64)(path, mode, stream);
	error = shim_fmode(mode, &flags);
	if (error) {
		errno = error;
		return NULL;
	}
	fflush(stream);
	num = fileno(stream);
	fd = open(path, flags, 0666);
	if (fd >= 0 && num >= 0 && fd != num) {
		/* Our dup2 replaces a host or a server descriptor alike. */
		if (dup3(fd, num, flags & O_CLOEXEC) < 0) {
			error = errno;
			close(fd);
			fd = -1;
			errno = error;
		} else {
			close(fd);
			fd = num;
		}
	}
	error = errno;
	/* freopen's stream owns its descriptor (fclose closes it), so a
	 * following stream at num, which does not, gives way: glibc's is
	 * the one released below and replaced. */
	if (num >= 0 && num < 3 && shim_std_orig[num] != NULL &&
	    (stream == *shim_std_stream(num) || stream == shim_std_orig[num])) {
		shim_std_restore(num);
		stream = *shim_std_stream(num);
	}
	if (fd >= 0 && num >= 0)
		stream->_fileno = -1;	/* fclose must not close it now */
	fclose(stream);
	if (fd < 0) {
		errno = error;
		return NULL;
	}
	if ((f = shim_fcookie_own(fd, mode)) == NULL)
		return NULL;
	for (num = 0; num < 3; num++)
		if (stream == *shim_std_stream(num))
			*shim_std_stream(num) = f;
	return f;
}

SHIM_EXPORT FILE *
freopen(const char *path, const char *mode, FILE *stream)
{
	return freopen64(path, mode, stream);
}
