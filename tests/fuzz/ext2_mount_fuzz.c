/*
 * libFuzzer target: the input is a disk image.  Each run boots a kernel,
 * mounts the image read-only as ext2 from a memfd (reached through
 * /proc/self/fd/N, so nothing touches the disk), walks everything --
 * getdents64, fstatat, read, readlink, FS_IOC_FIEMAP (the whole map of
 * every file, however large and sparse) -- within fixed bounds on depth,
 * entries and bytes, unmounts and shuts the kernel down.  A mount that
 * refuses the image is fine; a crash, a hang, a leak or a sanitizer
 * report is a bug.
 *
 * Short inputs are zero-padded to PAD_MIN bytes so that the mutator can
 * work on the first blocks of a seed image.  Built by `make fuzz`
 * (build-fuzz/tests/fuzz/ext2_mount_fuzz); seeds in tests/fuzz/corpus/ext2.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <linux/fiemap.h>
#include <linux/fs.h>
#include <pith/pith.h>

#define PAD_MIN (64 * 1024)
#define MAX_DEPTH 12
#define MAX_ENTRIES 4000
#define MAX_BYTES (2 * 1024 * 1024)
#define MNT "/mnt"

struct lde {
	uint64_t d_ino;
	int64_t d_off;
	unsigned short d_reclen;
	unsigned char d_type;
	char d_name[];
};

struct budget {
	int entries;
	long bytes;
};

static void walk(int dirfd, int depth, struct budget *b);

#define FM_EXTENTS 8
#define FM_CALLS 64

/* FS_IOC_FIEMAP over the whole file, as pith cp asks for it. */
static void
fiemap_all(int fd)
{
	struct {
		struct fiemap fm;
		struct fiemap_extent e[FM_EXTENTS];
	} m;
	uint64_t start = 0;
	uint32_t i;
	int calls;

	for (calls = 0; calls < FM_CALLS; calls++) {
		memset(&m, 0, sizeof(m));
		m.fm.fm_start = start;
		m.fm.fm_length = FIEMAP_MAX_OFFSET;
		m.fm.fm_extent_count = FM_EXTENTS;
		if (pith_sys_ioctl(fd, FS_IOC_FIEMAP, &m.fm) != 0 ||
		    m.fm.fm_mapped_extents == 0 ||
		    m.fm.fm_mapped_extents > FM_EXTENTS)
			return;
		for (i = 0; i < m.fm.fm_mapped_extents; i++) {
			if (m.e[i].fe_flags & FIEMAP_EXTENT_LAST)
				return;
			if (m.e[i].fe_logical + m.e[i].fe_length <= start)
				abort();        /* the map went backwards */
			start = m.e[i].fe_logical + m.e[i].fe_length;
		}
	}
}

static void
visit(int dirfd, const char *name, int depth, struct budget *b)
{
	char buf[8192];
	struct stat st;
	ssize_t n;
	int fd;

	if (pith_sys_fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) != 0)
		return;
	if (S_ISLNK(st.st_mode)) {
		(void)pith_sys_readlinkat(dirfd, name, buf, sizeof(buf));
		return;
	}
	if (S_ISDIR(st.st_mode)) {
		if (depth >= MAX_DEPTH)
			return;
		fd = pith_sys_openat(dirfd, name, O_RDONLY | O_DIRECTORY, 0);
		if (fd >= 0) {
			walk(fd, depth + 1, b);
			pith_sys_close(fd);
		}
		return;
	}
	if (!S_ISREG(st.st_mode))
		return;
	fd = pith_sys_openat(dirfd, name, O_RDONLY, 0);
	if (fd < 0)
		return;
	while (b->bytes < MAX_BYTES &&
	    (n = pith_sys_read(fd, buf, sizeof(buf))) > 0)
		b->bytes += n;
	/* A read far out, where indirect blocks are consulted. */
	if (st.st_size > 1 << 20)
		(void)pith_sys_pread(fd, buf, 16, st.st_size - 16);
	/* The block map, a few extents at a time to the end. */
	fiemap_all(fd);
	pith_sys_close(fd);
}

static void
walk(int dirfd, int depth, struct budget *b)
{
	char buf[4096];
	struct lde *d;
	ssize_t n;
	int off, rounds = 0;

	while (b->entries < MAX_ENTRIES && rounds++ < 256 &&
	    (n = pith_sys_getdents64(dirfd, buf, sizeof(buf))) > 0) {
		for (off = 0; off < n && b->entries < MAX_ENTRIES;
		    off += d->d_reclen) {
			d = (struct lde *)(buf + off);
			if (d->d_reclen == 0)
				abort();        /* the kernel built a bad record */
			b->entries++;
			if (!strcmp(d->d_name, ".") || !strcmp(d->d_name, ".."))
				continue;
			visit(dirfd, d->d_name, depth, b);
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char zero[4096];
	struct budget b = { 0, 0 };
	char path[64];
	size_t left;
	int mfd, root;

	mfd = memfd_create("ext2fuzz", MFD_CLOEXEC);
	if (mfd < 0)
		return 0;
	if (size > 0 && write(mfd, data, size) != (ssize_t)size)
		goto out;
	for (left = size; left < PAD_MIN; left += sizeof(zero))
		if (write(mfd, zero, sizeof(zero)) != (ssize_t)sizeof(zero))
			goto out;
	snprintf(path, sizeof(path), "/proc/self/fd/%d", mfd);
	if (pith_init(NULL) != 0)
		abort();
	pith_sys_mkdir(MNT, 0755);
	if (pith_sys_mount(path, MNT, "ext2", 1 /* MS_RDONLY */, NULL) == 0) {
		root = pith_sys_open(MNT, O_RDONLY | O_DIRECTORY, 0);
		if (root >= 0) {
			walk(root, 0, &b);
			pith_sys_close(root);
		}
		if (pith_sys_umount2(MNT, 0) != 0)
			abort();        /* nothing of ours is open any more */
	}
	pith_fini();
out:
	close(mfd);
	return 0;
}
