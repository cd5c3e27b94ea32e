/*
 * Small helpers shared by the VFS and file systems: conversions between
 * vnode types, mode bits and dirent types, and building getdents64
 * records.  A record is assembled on the stack (a name is at most
 * NAME_MAX bytes) and moved out with uiomove in one piece, so a record is
 * either wholly in the caller's buffer or not at all.
 */
#include "vfs/vfs_impl.h"

mode_t
vn_dtype_to_mode(int dtype)
{
	switch (dtype) {
	case DT_FIFO:
		return S_IFIFO;
	case DT_CHR:
		return S_IFCHR;
	case DT_DIR:
		return S_IFDIR;
	case DT_BLK:
		return S_IFBLK;
	case DT_REG:
		return S_IFREG;
	case DT_LNK:
		return S_IFLNK;
	case DT_SOCK:
		return S_IFSOCK;
	default:
		return 0;
	}
}

int
vn_type_to_dtype(enum vtype t)
{
	switch (t) {
	case VREG:
		return DT_REG;
	case VDIR:
		return DT_DIR;
	case VLNK:
		return DT_LNK;
	case VCHR:
		return DT_CHR;
	case VBLK:
		return DT_BLK;
	case VFIFO:
		return DT_FIFO;
	case VSOCK:
		return DT_SOCK;
	default:
		return DT_UNKNOWN;
	}
}

#define DIRENT_HDRLEN offsetof(struct linux_dirent64, d_name)

int
vfs_dirent_add(struct uio *uio, uint64_t ino, int64_t next_cookie,
    int dtype, const char *name, size_t namelen)
{
	union {
		struct linux_dirent64 d;
		char buf[roundup(DIRENT_HDRLEN + NAME_MAX + 1, 8)];
	} u;
	size_t reclen;

	KASSERT(namelen <= NAME_MAX);
	reclen = roundup(DIRENT_HDRLEN + namelen + 1, 8);
	if (reclen > uio->uio_resid)
		return ENOSPC;
	memset(u.buf + DIRENT_HDRLEN + namelen, 0,
	    reclen - DIRENT_HDRLEN - namelen);
	u.d.d_ino = ino;
	u.d.d_off = next_cookie;
	u.d.d_reclen = (uint16_t)reclen;
	u.d.d_type = (uint8_t)dtype;
	memcpy(u.d.d_name, name, namelen);
	return uiomove(u.buf, reclen, uio);
}
