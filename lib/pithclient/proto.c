/*
 * The protocol's argument rules, shared by client and server.
 *
 * proto_resolve turns the generated table (gen/remote.c, from the remote
 * column of syscalls.master) plus one call's argument values into a kind
 * and a byte length per argument; the kinds that depend on a command
 * (ioctl, fcntl) are settled here, in one place, so both sides always
 * agree.  proto_decode is the server's half: it checks one request
 * against the client's shared area and produces the kernel's arguments.
 * It never trusts the area after checking it: values that decide where
 * the kernel reads or writes (counts, offsets, iovec arrays) come from
 * the request, which the server has copied, or are copied to private
 * memory before being checked.  Strings are read by the kernel in place;
 * the server maps a zero page after the area, so one cannot run off it.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <linux/ioctl.h>

#include "pithclient/proto.h"

/* ioctl commands without a direction/size encoding that Pith knows. */
static int
proto_ioctl_legacy(unsigned cmd, struct proto_res *r)
{
	switch (cmd) {
	case 0x5450:	/* FIONCLEX */
	case 0x5451:	/* FIOCLEX */
	/* Encoded as if it wrote an int through a pointer, but its argument
	 * is the source descriptor itself (cp tries it on every file). */
	case 0x40049409:	/* FICLONE */
		r->kind = PK_VAL;
		return 1;
	/* Its extents follow the encoded 32-byte header, as many as the
	 * header says: not marshalled (a NULL argument, EFAULT), so that
	 * the kernel never writes past what the client sent. */
	case 0xC020660B:	/* FS_IOC_FIEMAP */
		r->kind = PK_NKINDS;
		return 1;
	case 0x5421:	/* FIONBIO */
	case 0x5410:	/* TIOCSPGRP */
		r->kind = PK_IN;
		r->len = sizeof(int);
		return 1;
	case 0x541B:	/* FIONREAD */
	case 0x540F:	/* TIOCGPGRP */
		r->kind = PK_OUT;
		r->len = sizeof(int);
		return 1;
	case 0x5401:	/* TCGETS */
		r->kind = PK_OUT;
		r->len = PROTO_KTERMIOS_SIZE;
		return 1;
	case 0x5402:	/* TCSETS, TCSETSW, TCSETSF */
	case 0x5403:
	case 0x5404:
		r->kind = PK_IN;
		r->len = PROTO_KTERMIOS_SIZE;
		return 1;
	case 0x5413:	/* TIOCGWINSZ */
		r->kind = PK_OUT;
		r->len = 8;
		return 1;
	case 0x5414:	/* TIOCSWINSZ */
		r->kind = PK_IN;
		r->len = 8;
		return 1;
	}
	return 0;
}

/*
 * An ioctl's argument: the known legacy commands by name, encoded ones by
 * their direction and size, and anything else as a NULL pointer -- the
 * kernel then answers ENOTTY or EFAULT without touching server memory.
 */
static void
proto_ioctl(unsigned cmd, struct proto_res *r)
{
	unsigned dir = _IOC_DIR(cmd), size = _IOC_SIZE(cmd);

	if (proto_ioctl_legacy(cmd, r))
		return;
	if (_IOC_TYPE(cmd) == 0x54 || _IOC_TYPE(cmd) == 0) {
		/* Unencoded tty-style commands we do not know. */
		r->kind = PK_NKINDS;
		return;
	}
	r->len = size;
	if (dir == _IOC_NONE)
		r->kind = PK_VAL;
	else if (dir == _IOC_READ)
		r->kind = PK_OUT;
	else if (dir == _IOC_WRITE)
		r->kind = PK_IN;
	else
		r->kind = PK_INOUT;
}

static void
proto_fcntl(int cmd, struct proto_res *r)
{
	switch (cmd) {
	case F_GETLK:
	case F_SETLK:
	case F_SETLKW:
	case F_OFD_GETLK:
	case F_OFD_SETLK:
	case F_OFD_SETLKW:
		r->kind = PK_INOUT;
		r->len = sizeof(struct flock);
		break;
	case F_GETOWN_EX:
		r->kind = PK_OUT;
		r->len = sizeof(struct f_owner_ex);
		break;
	case F_SETOWN_EX:
		r->kind = PK_IN;
		r->len = sizeof(struct f_owner_ex);
		break;
	default:
		r->kind = PK_VAL;
		break;
	}
}

/* count * size, or UINT64_MAX when it does not fit (the caller refuses). */
static uint64_t
proto_mul(uint64_t count, uint64_t size)
{
	if (size != 0 && count > UINT64_MAX / size)
		return UINT64_MAX;
	return count * size;
}

int
proto_resolve(unsigned long nr, const uint64_t a[6], struct proto_res r[6])
{
	const struct proto_call *pc;
	const struct proto_arg *pa;
	uint64_t n;
	int i;

	if (nr >= PROTO_NCALLS || proto_calls[nr].pc_name == NULL)
		return -ENOSYS;
	pc = &proto_calls[nr];
	for (i = 0; i < 6; i++) {
		r[i].kind = PK_VAL;
		r[i].len = 0;
	}
	for (i = 0; i < pc->pc_nargs; i++) {
		pa = &pc->pc_arg[i];
		n = pa->pa_narg < 0 ? pa->pa_count : a[pa->pa_narg];
		r[i].kind = pa->pa_kind;
		switch (pa->pa_kind) {
		case PK_IN:
		case PK_OUT:
		case PK_INOUT:
		case PK_OUTR:
			r[i].len = proto_mul(n, pa->pa_size);
			break;
		case PK_IOVIN:
		case PK_IOVOUT:
			if ((int)n < 0 || (int)n > PROTO_IOV_MAX)
				return -EINVAL;
			r[i].len = (uint64_t)(int)n * sizeof(struct iovec);
			break;
		case PK_FDSET:
			if ((int)n < 0)
				return -EINVAL;
			n = (int)n > (int)PROTO_FDSET_MAXBITS ?
			    PROTO_FDSET_MAXBITS : (uint64_t)(int)n;
			r[i].len = (n + 63) / 64 * 8;
			break;
		case PK_IOCTL:
			proto_ioctl((unsigned)n, &r[i]);
			break;
		case PK_FCNTL:
			proto_fcntl((int)n, &r[i]);
			break;
		case PK_PSEL:
			r[i].len = 2 * sizeof(uint64_t);
			break;
		}
	}
	return 0;
}

/* The kernel pointer for an area offset of len bytes, or NULL if bad. */
static char *
proto_ptr(char *area, size_t areasize, uint64_t off, uint64_t len)
{
	if (off > areasize || len > areasize - off)
		return NULL;
	return area + off;
}

/* Translate an iovec array (already copied to private memory) in place. */
static int
proto_iov(struct iovec *iov, int n, char *area, size_t areasize)
{
	uint64_t off, len;
	char *p;
	int i;

	for (i = 0; i < n; i++) {
		off = (uint64_t)(uintptr_t)iov[i].iov_base;
		len = iov[i].iov_len;
		if (off == PROTO_NULL) {
			iov[i].iov_base = NULL;	/* the kernel says EFAULT */
			continue;
		}
		p = proto_ptr(area, areasize, off, len);
		if (p == NULL)
			return -EFAULT;
		iov[i].iov_base = p;
	}
	return 0;
}

/* An argument the kernel reads pointers from: copy, then translate. */
static int
proto_private(const struct proto_res *r, char *src, char *area,
    size_t areasize, void **scratchp, long *out)
{
	uint64_t *pair;
	char *p;

	if (*scratchp != NULL)
		return PROTO_BADMSG;	/* the table has one per call */
	p = malloc(r->len ? r->len : 1);
	if (p == NULL)
		return -ENOMEM;
	memcpy(p, src, r->len);
	*scratchp = p;
	*out = (long)p;
	if (r->kind != PK_PSEL)
		return proto_iov((struct iovec *)p,
		    (int)(r->len / sizeof(struct iovec)), area, areasize);
	pair = (uint64_t *)p;
	if (pair[0] == PROTO_NULL) {
		pair[0] = 0;
		return 0;
	}
	/* The sigset's size is the kernel's to judge; keep it in the area. */
	src = proto_ptr(area, areasize, pair[0], pair[1] > 128 ? 128 : pair[1]);
	if (src == NULL)
		return -EFAULT;
	pair[0] = (uint64_t)(uintptr_t)src;
	return 0;
}

int
proto_decode(const void *msg, size_t reqlen, char *area, size_t areasize,
    long out[6], unsigned long *nrp, void **scratchp)
{
	struct proto_req q;
	struct proto_res r[6];
	char *p;
	int i, error, fdsarg = -1;

	*scratchp = NULL;
	if (reqlen != sizeof(q))
		return PROTO_BADMSG;
	memcpy(&q, msg, sizeof(q));
	if (q.pq_op != PROTO_OP_SYSCALL)
		return PROTO_BADMSG;
	*nrp = q.pq_nr;
	error = proto_resolve(q.pq_nr, q.pq_arg, r);
	if (error)
		return error;
	for (i = 0; i < 6; i++) {
		out[i] = (long)q.pq_arg[i];
		if (r[i].kind == PK_VAL)
			continue;
		if (r[i].kind == PK_NKINDS || q.pq_arg[i] == PROTO_NULL) {
			out[i] = 0;
			continue;
		}
		p = proto_ptr(area, areasize, q.pq_arg[i], r[i].len);
		if (p == NULL)
			return -EFAULT;
		out[i] = (long)p;
		if (r[i].kind == PK_FDSET)
			fdsarg = proto_calls[q.pq_nr].pc_arg[i].pa_narg;
		if (r[i].kind == PK_IOVIN || r[i].kind == PK_IOVOUT ||
		    r[i].kind == PK_PSEL) {
			error = proto_private(&r[i], p, area, areasize,
			    scratchp, &out[i]);
			if (error)
				return error;
		}
	}
	/* The kernel must not look past the bits we checked. */
	if (fdsarg >= 0 && (int)out[fdsarg] > (int)PROTO_FDSET_MAXBITS)
		out[fdsarg] = PROTO_FDSET_MAXBITS;
	return 0;
}
