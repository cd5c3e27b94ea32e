/*
 * Path name lookup (namei).
 *
 * A path is walked one component at a time from the process root, its
 * working directory or a directory descriptor.  Each step checks search
 * permission on the directory, then asks the file system with the mount's
 * namespace lock held as reader, then crosses into a mount covering the
 * result.  ".." at the process root stays there; ".." at the root of a
 * mounted file system is looked up in the directory the mount covers.
 *
 * Symbolic links are expanded in place: the link's text replaces the
 * component in the path buffer, in front of whatever is left, and the walk
 * continues from the link's directory (or the root).  At most SYMLOOP_MAX
 * links are followed per lookup (ELOOP beyond).
 *
 * The namespace lock of the mount being walked is held as reader from one
 * step to the next and dropped only when the walk leaves the mount (or
 * ends), so a path costs one lock round trip per mount, not per
 * component.  It is dropped before crossing into a mount, because the
 * mount list lock comes first in the lock order.
 *
 * The path is copied into a small buffer on the stack, and into a PATH_MAX
 * one from kmem only when it is long or a symlink has to be spliced in:
 * so a buffer is the caller's exactly when its size is NAMEI_SMALL.
 *
 * Only references are held between walks, never locks: a concurrent rename
 * can move a directory while we walk through it, with the same effect as
 * on Linux (we may see the old or the new place).  Creating callers ask for
 * the parent (ND_WANTPARENT) and then do their change under the namespace
 * write lock, where the file system re-checks existence.
 */
#include "vfs/vfs_impl.h"

#define NAMEI_SMALL 256

struct namestate {
	struct nameidata *ns_nd;
	char *ns_buf;                   /* the path left to walk */
	size_t ns_bufsize;              /* NAMEI_SMALL (stack) or PATH_MAX */
	char *ns_link;                  /* PATH_MAX: symlink text, lazily */
	struct vnode *ns_root;          /* process root, borrowed for the call */
	struct vnode *ns_dvp;           /* current directory: referenced, */
	bool ns_borrowed;               /* ... or the borrowed root */
	struct mount *ns_locked;        /* whose mnt_nslock we hold (reader) */
	int ns_nlinks;
};

void
nd_init(struct nameidata *nd, int flags)
{
	nd->nd_flags = flags;
	nd->nd_cred = (struct cred *)cred_borrow();     /* see ND_OWNCRED */
	nd->nd_vp = nd->nd_dvp = NULL;
	nd->nd_trailslash = false;
	nd->nd_last = ND_LAST_NORM;
}

void
nd_fini(struct nameidata *nd)
{
	nd_done(nd);
	if (nd->nd_flags & ND_OWNCRED)
		cred_free(nd->nd_cred);
}

/*
 * An absolute path starts at the process root without a reference of its
 * own (the root is borrowed for the whole call), which saves a vref and a
 * vrele per lookup.  ns_take_dvp hands ns_dvp on referenced either way;
 * ns_drop_dvp lets it go.
 */
static void
ns_set_root(struct namestate *ns)
{
	ns->ns_dvp = ns->ns_root;
	ns->ns_borrowed = true;
}

static struct vnode *
ns_take_dvp(struct namestate *ns)
{
	struct vnode *vp = ns->ns_dvp;

	if (ns->ns_borrowed)
		vref(vp);
	ns->ns_borrowed = false;
	ns->ns_dvp = NULL;
	return vp;
}

static void
ns_drop_dvp(struct namestate *ns)
{
	if (!ns->ns_borrowed)
		vrele(ns->ns_dvp);
	ns->ns_borrowed = false;
	ns->ns_dvp = NULL;
}

static void
ns_lock(struct namestate *ns, struct mount *mp)
{
	if (ns->ns_locked == mp)
		return;
	if (ns->ns_locked != NULL)
		rw_exit(&ns->ns_locked->mnt_nslock);
	rw_enter(&mp->mnt_nslock, RW_READER);
	ns->ns_locked = mp;
}

static void
ns_unlock(struct namestate *ns)
{
	if (ns->ns_locked != NULL) {
		rw_exit(&ns->ns_locked->mnt_nslock);
		ns->ns_locked = NULL;
	}
}

void
nd_done(struct nameidata *nd)
{
	if (nd->nd_vp != NULL)
		vrele(nd->nd_vp);
	if (nd->nd_dvp != NULL)
		vrele(nd->nd_dvp);
	nd->nd_vp = nd->nd_dvp = NULL;
}

int
vn_lookup_locked(struct vnode *dvp, const struct componentname *cn,
    struct vnode **vpp)
{
	return dvp->v_op->vop_lookup(dvp, cn, vpp);
}

/* Replace vp by the root of whatever is mounted on it, repeatedly. */
static struct vnode *
vn_crossmounts(struct namestate *ns, struct vnode *vp)
{
	struct vnode *rvp;

	while (atomic_load(&vp->v_mountedhere) != NULL) {
		ns_unlock(ns);
		rvp = vfs_crossdown(vp);
		if (rvp == NULL)
			break;
		vrele(vp);
		vp = rvp;
	}
	return vp;
}

/* ".." from dvp: leave mounts upward first, stay at the process root. */
static int
vn_lookup_dotdot(struct namestate *ns, const struct componentname *cn,
    struct vnode **vpp)
{
	struct vnode *dvp = ns->ns_dvp;
	struct mount *mp;

	for (;;) {
		if (dvp == ns->ns_root) {
			vref(dvp);
			*vpp = dvp;
			return 0;
		}
		mp = dvp->v_mount;
		if (dvp != mp->mnt_root || mp->mnt_covered == NULL)
			break;
		/* The covered vnode lives while the mount does, and the
		 * mount lives while we hold its root. */
		vref(mp->mnt_covered);
		ns_drop_dvp(ns);
		dvp = ns->ns_dvp = mp->mnt_covered;
	}
	ns_lock(ns, dvp->v_mount);
	return dvp->v_op->vop_lookup(dvp, cn, vpp);
}

static int
vn_lookup_one(struct namestate *ns, const struct componentname *cn,
    enum nd_last kind, struct vnode **vpp)
{
	struct vnode *dvp = ns->ns_dvp;

	if (kind == ND_LAST_DOT) {
		vref(dvp);
		*vpp = dvp;
		return 0;
	}
	if (kind == ND_LAST_DOTDOT)
		return vn_lookup_dotdot(ns, cn, vpp);
	ns_lock(ns, dvp->v_mount);
	return dvp->v_op->vop_lookup(dvp, cn, vpp);
}

/* A walk's buffer goes: kmem's if PATH_MAX, else the caller's stack. */
static void
namei_buf_free(char *buf, size_t size)
{
	if (size == PATH_MAX)
		kmem_free(buf, size);
	else
		KASSERT(size == NAMEI_SMALL);
}

/* Move the walk into a PATH_MAX buffer (for a symlink splice). */
static int
vn_bigbuf(struct namestate *ns, const char **restp)
{
	char *nbuf;
	size_t off = (size_t)(*restp - ns->ns_buf);

	if (ns->ns_bufsize == PATH_MAX)
		return 0;
	nbuf = kmem_alloc(PATH_MAX);
	if (nbuf == NULL)
		return ENOMEM;
	memcpy(nbuf, ns->ns_buf, ns->ns_bufsize);
	namei_buf_free(ns->ns_buf, ns->ns_bufsize);
	ns->ns_buf = nbuf;
	ns->ns_bufsize = PATH_MAX;
	*restp = nbuf + off;
	return 0;
}

/*
 * vp is a symlink met at *rest (the text after its name): splice its
 * target in front of rest in ns_buf.  Returns the new start of the path.
 */
static int
vn_follow(struct namestate *ns, struct vnode *vp, const char *rest,
    char **newp)
{
	struct iovec iov;
	struct uio uio;
	size_t len, restlen;
	int error;

	if (++ns->ns_nlinks > SYMLOOP_MAX)
		return ELOOP;
	error = vn_bigbuf(ns, &rest);
	if (error)
		return error;
	if (ns->ns_link == NULL) {
		ns->ns_link = kmem_alloc(PATH_MAX);
		if (ns->ns_link == NULL)
			return ENOMEM;
	}
	uio_setup_sys(&uio, &iov, ns->ns_link, PATH_MAX, 0, UIO_READ);
	error = vp->v_op->vop_readlink(vp, &uio);
	if (error)
		return error;
	len = PATH_MAX - uio.uio_resid;
	if (len == 0)
		return ENOENT;
	restlen = strlen(rest);
	if (len + restlen >= PATH_MAX)
		return ENAMETOOLONG;
	memmove(ns->ns_buf + len, rest, restlen + 1);
	memcpy(ns->ns_buf, ns->ns_link, len);
	if (ns->ns_buf[0] == '/') {
		ns_drop_dvp(ns);
		ns_set_root(ns);
	}
	*newp = ns->ns_buf;
	return 0;
}

static enum nd_last
vn_namekind(const char *name, size_t len)
{
	if (len == 1 && name[0] == '.')
		return ND_LAST_DOT;
	if (len == 2 && name[0] == '.' && name[1] == '.')
		return ND_LAST_DOTDOT;
	return ND_LAST_NORM;
}

/* The path is exhausted at a directory ("/", "" with EMPTYPATH). */
static void
vn_walk_end_dir(struct namestate *ns)
{
	struct nameidata *nd = ns->ns_nd;

	nd->nd_last = ND_LAST_ROOT;
	nd->nd_cn.cn_name = nd->nd_name;
	nd->nd_cn.cn_namelen = 0;
	nd->nd_name[0] = '\0';
	nd->nd_vp = ns_take_dvp(ns);
	if (nd->nd_flags & ND_WANTPARENT) {
		vref(nd->nd_vp);
		nd->nd_dvp = nd->nd_vp;
	}
}

static int
vn_walk(struct namestate *ns, char *p)
{
	struct nameidata *nd = ns->ns_nd;
	struct componentname cn;
	struct vnode *vp;
	enum nd_last kind;
	char *next;
	bool islast, trail;
	int error;

	(void)nd;
	for (;;) {
		while (*p == '/')
			p++;
		if (*p == '\0') {
			vn_walk_end_dir(ns);
			return 0;
		}
		if (ns->ns_dvp->v_type != VDIR)
			return ENOTDIR;
		for (next = p; *next != '/' && *next != '\0'; next++)
			continue;
		cn.cn_name = p;
		cn.cn_namelen = (size_t)(next - p);
		if (cn.cn_namelen > NAME_MAX)
			return ENAMETOOLONG;
		trail = *next == '/';
		while (*next == '/')
			next++;
		islast = *next == '\0';
		kind = vn_namekind(p, cn.cn_namelen);

		error = vn_access(ns->ns_dvp, VEXEC, nd->nd_cred);
		if (error)
			return error;
		if (islast && (nd->nd_flags & ND_WANTPARENT)) {
			memcpy(nd->nd_name, p, cn.cn_namelen);
			nd->nd_name[cn.cn_namelen] = '\0';
			nd->nd_cn.cn_name = nd->nd_name;
			nd->nd_cn.cn_namelen = cn.cn_namelen;
			nd->nd_last = kind;
			nd->nd_trailslash = trail;
			if (nd->nd_flags & ND_NOLAST) {
				nd->nd_dvp = ns_take_dvp(ns);
				return 0;
			}
		}
		error = vn_lookup_one(ns, &cn, kind, &vp);
		if (error == ENOENT && islast && (nd->nd_flags & ND_WANTPARENT)) {
			nd->nd_dvp = ns_take_dvp(ns);
			return 0;
		}
		if (error)
			return error;
		if (!islast || !(nd->nd_flags & ND_NOCROSS))
			vp = vn_crossmounts(ns, vp);
		if (vp->v_type == VLNK &&
		    (!islast || trail || (nd->nd_flags & ND_FOLLOW))) {
			error = vn_follow(ns, vp, p + cn.cn_namelen, &p);
			vrele(vp);
			if (error)
				return error;
			continue;
		}
		if (islast) {
			if (trail && vp->v_type != VDIR) {
				vrele(vp);
				return ENOTDIR;
			}
			nd->nd_vp = vp;
			nd->nd_trailslash = trail;
			nd->nd_last = kind;
			if (nd->nd_flags & ND_WANTPARENT)
				nd->nd_dvp = ns_take_dvp(ns);
			else
				ns_drop_dvp(ns);
			return 0;
		}
		ns_drop_dvp(ns);
		ns->ns_dvp = vp;
		p = next;
	}
}

/*
 * Walk the path in buf (consumed: freed here if it is PATH_MAX bytes of
 * kmem; a NAMEI_SMALL one is the caller's stack) from startdir (consumed
 * reference; NULL or ignored for absolute paths).
 */
static int
namei_buf(struct vnode *startdir, char *buf, size_t bufsize,
    struct nameidata *nd)
{
	struct namestate ns;
	int error;

	nd->nd_vp = nd->nd_dvp = NULL;
	nd->nd_trailslash = false;
	nd->nd_last = ND_LAST_NORM;
	ns.ns_nd = nd;
	ns.ns_buf = buf;
	ns.ns_bufsize = bufsize;
	ns.ns_link = NULL;
	ns.ns_locked = NULL;
	ns.ns_nlinks = 0;
	ns.ns_borrowed = false;
	ns.ns_root = proc_root_borrow();
	if (ns.ns_root == NULL) {
		/* The process was released while this call was in flight. */
		if (startdir != NULL)
			vrele(startdir);
		namei_buf_free(buf, bufsize);
		nd_done(nd);
		return ENOENT;
	}
	if (buf[0] == '/') {
		if (startdir != NULL)
			vrele(startdir);
		ns_set_root(&ns);
	} else {
		ns.ns_dvp = startdir;
	}
	if (buf[0] == '\0') {
		if (nd->nd_flags & ND_EMPTYPATH) {
			vn_walk_end_dir(&ns);
			error = 0;
		} else {
			error = ENOENT;
		}
	} else {
		error = vn_walk(&ns, buf);
	}
	ns_unlock(&ns);
	if (ns.ns_dvp != NULL)
		ns_drop_dvp(&ns);
	if (ns.ns_link != NULL)
		kmem_free(ns.ns_link, PATH_MAX);
	namei_buf_free(ns.ns_buf, ns.ns_bufsize);
	if (error)
		nd_done(nd);
	return error;
}

int
namei_kern(struct vnode *startdir, const char *path, struct nameidata *nd)
{
	size_t len = strnlen(path, PATH_MAX);
	char *buf;

	nd->nd_vp = nd->nd_dvp = NULL;
	if (len >= PATH_MAX || (buf = kmem_alloc(PATH_MAX)) == NULL) {
		if (startdir != NULL)
			vrele(startdir);
		return len >= PATH_MAX ? ENAMETOOLONG : ENOMEM;
	}
	memcpy(buf, path, len + 1);
	return namei_buf(startdir, buf, PATH_MAX, nd);
}

/* The starting directory for a relative path: referenced. */
static int
vn_startdir(int dirfd, bool emptyok, struct vnode **vpp)
{
	struct file *fp;
	struct vnode *vp;
	int error;

	if (dirfd == AT_FDCWD) {
		*vpp = proc_cwd_get(curproc());
		return *vpp != NULL ? 0 : ENOENT;       /* released meanwhile */
	}
	error = vn_getfile(dirfd, true, &fp, &vp);
	if (error)
		return error;
	file_rele(fp);
	if (vp->v_type != VDIR && !emptyok) {
		vrele(vp);
		return ENOTDIR;
	}
	*vpp = vp;
	return 0;
}

/* Copy a user path into small (NAMEI_SMALL bytes, the caller's), or a
 * PATH_MAX buffer from kmem if it is long. */
static int
namei_copyin(const char *upath, char *small, char **bufp, size_t *sizep)
{
	char *buf;
	int error;

	error = copyinstr(upath, small, NAMEI_SMALL, NULL);
	if (error == 0) {
		*bufp = small;
		*sizep = NAMEI_SMALL;
		return 0;
	}
	if (error != ENAMETOOLONG)
		return error;
	buf = kmem_alloc(PATH_MAX);
	if (buf == NULL)
		return ENOMEM;
	error = copyinstr(upath, buf, PATH_MAX, NULL);
	if (error) {
		kmem_free(buf, PATH_MAX);
		return error;
	}
	*bufp = buf;
	*sizep = PATH_MAX;
	return 0;
}

int
namei_at(int dirfd, const char *upath, struct nameidata *nd)
{
	struct vnode *start = NULL;
	char small[NAMEI_SMALL];
	size_t size;
	char *buf;
	int error;

	nd->nd_vp = nd->nd_dvp = NULL;
	if (upath == NULL)
		return EFAULT;
	error = namei_copyin(upath, small, &buf, &size);
	if (error)
		return error;
	if (buf[0] == '\0' && !(nd->nd_flags & ND_EMPTYPATH)) {
		namei_buf_free(buf, size);
		return ENOENT;
	}
	if (buf[0] != '/') {
		error = vn_startdir(dirfd, buf[0] == '\0', &start);
		if (error) {
			namei_buf_free(buf, size);
			return error;
		}
	}
	return namei_buf(start, buf, size, nd);
}
