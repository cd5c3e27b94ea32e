/*
 * Block I/O on the hosted platform: a block device is a host file (a disk
 * image) or a host block device, reached with pread/pwrite.
 *
 * The open file is locked with an open-file-description lock (F_OFD_SETLK)
 * over the whole file: exclusive for a writable open, shared for a
 * read-only one.  OFD locks conflict between two opens in the same process
 * as well as between processes, so two writers -- two Pith kernels, or
 * Pith and another tool that locks -- cannot both write one image.
 *
 * Transfers loop over short counts and EINTR; a read that meets end of
 * file before len bytes is EIO, as a disk read past its end would be.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <linux/fs.h>

#include "hosted.h"

struct hyp_bio {
	int hb_fd;
	int hb_flags;
	unsigned long long hb_size;
};

static int
hyp_bio_lock(int fd, int rdonly)
{
	struct flock fl = {
		.l_type = rdonly ? F_RDLCK : F_WRLCK,
		.l_whence = SEEK_SET,
		.l_start = 0,
		.l_len = 0,
	};

	if (fcntl(fd, F_OFD_SETLK, &fl) == 0)
		return 0;
	if (errno == EAGAIN || errno == EACCES)
		return EBUSY;
	/* A file system without locks: go on unlocked. */
	if (errno == ENOLCK || errno == EINVAL)
		return 0;
	return errno;
}

static int
hyp_bio_getsize(int fd, unsigned long long *size)
{
	struct stat st;
	unsigned long long bytes;

	if (fstat(fd, &st) != 0)
		return errno;
	if (S_ISDIR(st.st_mode))
		return EISDIR;
	if (S_ISBLK(st.st_mode)) {
		if (ioctl(fd, BLKGETSIZE64, &bytes) != 0)
			return errno;
		*size = bytes;
		return 0;
	}
	if (!S_ISREG(st.st_mode))
		return EINVAL;
	*size = (unsigned long long)st.st_size;
	return 0;
}

int
hyp_bio_open(const char *name, int flags, struct hyp_bio **ret,
    unsigned long long *size)
{
	struct hyp_bio *b;
	int fd, error, rdonly = (flags & HYP_BIO_RDONLY) != 0;

	do {
		fd = open(name, (rdonly ? O_RDONLY : O_RDWR) | O_CLOEXEC);
	} while (fd < 0 && errno == EINTR);
	if (fd < 0)
		return errno;
	error = hyp_bio_getsize(fd, size);
	if (error == 0)
		error = hyp_bio_lock(fd, rdonly);
	if (error == 0 && (b = malloc(sizeof(*b))) == NULL)
		error = ENOMEM;
	if (error) {
		close(fd);
		return error;
	}
	b->hb_fd = fd;
	b->hb_flags = flags;
	b->hb_size = *size;
	*ret = b;
	return 0;
}

int
hyp_bio_read(struct hyp_bio *b, unsigned long long off, void *buf,
    hyp_size_t len)
{
	char *p = buf;
	ssize_t n;

	if (off > b->hb_size || len > b->hb_size - off)
		return EIO;
	while (len > 0) {
		n = pread(b->hb_fd, p, len, (off_t)off);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return EIO;
		}
		if (n == 0)
			return EIO;     /* the file shrank under us */
		p += n;
		off += (unsigned long long)n;
		len -= (hyp_size_t)n;
	}
	return 0;
}

int
hyp_bio_write(struct hyp_bio *b, unsigned long long off, const void *buf,
    hyp_size_t len)
{
	const char *p = buf;
	ssize_t n;

	if (b->hb_flags & HYP_BIO_RDONLY)
		return EBADF;
	if (off > b->hb_size || len > b->hb_size - off)
		return EIO;
	while (len > 0) {
		n = pwrite(b->hb_fd, p, len, (off_t)off);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return errno == ENOSPC || errno == EDQUOT ? ENOSPC : EIO;
		}
		p += n;
		off += (unsigned long long)n;
		len -= (hyp_size_t)n;
	}
	return 0;
}

int
hyp_bio_sync(struct hyp_bio *b)
{
	if (b->hb_flags & HYP_BIO_RDONLY)
		return 0;
	while (fdatasync(b->hb_fd) != 0) {
		if (errno != EINTR)
			return EIO;
	}
	return 0;
}

void
hyp_bio_close(struct hyp_bio *b)
{
	close(b->hb_fd);        /* drops the OFD lock */
	free(b);
}
