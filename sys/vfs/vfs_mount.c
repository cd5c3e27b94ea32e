/*
 * Mounts: the file-system switch, the mount list, mount(2), umount2(2),
 * statfs(2), sync(2), and the boot-time root.
 *
 * The mount list and every vnode's v_mountedhere change only with
 * mountlist_lock held as writer; lookup reads v_mountedhere atomically and
 * takes the lock as reader only to cross.  A mount is busy while any of
 * its vnodes other than its root is in the vnode cache (every cached
 * vnode is referenced) or its root has references besides the mount's
 * own and the unmounting caller's: that covers open files, working
 * directories and mounts stacked below.
 *
 * Linux lets mounts stack on one directory; we refuse with EBUSY.  umount2
 * with MNT_DETACH is not lazy here: it fails with EBUSY like a plain one.
 *
 * Boot: at COMP_VFS the VFS registers its directory hooks with the core;
 * at COMP_ROOT it mounts tmpfs on "/", gives process 1 its root and cwd,
 * fills /dev with a node per registered character device, makes /tmp and
 * opens /dev/console as descriptors 0, 1 and 2 of process 1.  Shutdown
 * unmounts everything, newest first, without the busy check.
 */
#include "vfs/vfs_impl.h"
#include "kern/cdev.h"
#include "gen/sysproto.h"

#define VFS_MAXTYPES 16

krwlock_t mountlist_lock;
static TAILQ_HEAD(mountlisthead, mount) mountlist = TAILQ_HEAD_INITIALIZER(mountlist);
static const struct vfsops *vfs_types[VFS_MAXTYPES];   /* boot-time only */
static unsigned vfs_nextminor = 1;                      /* [M] */

int
vfs_register(const struct vfsops *ops)
{
	unsigned i;

	for (i = 0; i < VFS_MAXTYPES; i++) {
		if (vfs_types[i] != NULL &&
		    strcmp(vfs_types[i]->vfs_name, ops->vfs_name) == 0)
			return EEXIST;
	}
	for (i = 0; i < VFS_MAXTYPES; i++) {
		if (vfs_types[i] == NULL) {
			vfs_types[i] = ops;
			return 0;
		}
	}
	return ENOSPC;
}

void
vfs_unregister(const struct vfsops *ops)
{
	unsigned i;

	for (i = 0; i < VFS_MAXTYPES; i++)
		if (vfs_types[i] == ops)
			vfs_types[i] = NULL;
}

const struct vfsops *
vfs_byname(const char *name)
{
	unsigned i;

	for (i = 0; i < VFS_MAXTYPES; i++) {
		if (vfs_types[i] != NULL &&
		    strcmp(vfs_types[i]->vfs_name, name) == 0)
			return vfs_types[i];
	}
	return NULL;
}

dev_t
vfs_newdev(void)
{
	/* Anonymous devices, major 0, as Linux gives tmpfs. */
	return makedev(0, __atomic_fetch_add(&vfs_nextminor, 1,
	    __ATOMIC_RELAXED) + 20);
}

struct vnode *
vfs_crossdown(struct vnode *vp)
{
	struct vnode *rvp = NULL;
	struct mount *mp;

	rw_enter(&mountlist_lock, RW_READER);
	mp = vp->v_mountedhere;
	if (mp != NULL && mp->mnt_root != NULL) {
		rvp = mp->mnt_root;
		vref(rvp);
	}
	rw_exit(&mountlist_lock);
	return rvp;
}

static void
vfs_mount_free(struct mount *mp)
{
	rw_destroy(&mp->mnt_nslock);
	kmem_free(mp, sizeof(*mp));
}

/*
 * Mount ops on covered (referenced; consumed on success), or as the root
 * when covered is NULL.  Caller has checked permission and busy-ness.
 */
static int
vfs_domount(const struct vfsops *ops, struct vnode *covered, int flags,
    const char *source, const void *data, struct mount **mpp)
{
	struct mount *mp;
	int error;

	mp = kmem_zalloc(sizeof(*mp));
	if (mp == NULL)
		return ENOMEM;
	mp->mnt_op = ops;
	mp->mnt_flags = flags & (MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC);
	mp->mnt_dev = vfs_newdev();
	rw_init(&mp->mnt_nslock);
	error = ops->vfs_mount(mp, source, data);
	if (error) {
		vfs_mount_free(mp);
		return error;
	}
	KASSERT(mp->mnt_root != NULL);
	rw_enter(&mountlist_lock, RW_WRITER);
	if (covered != NULL && covered->v_mountedhere != NULL) {
		rw_exit(&mountlist_lock);
		vrele(mp->mnt_root);
		mp->mnt_root = NULL;
		ops->vfs_unmount(mp);
		vfs_mount_free(mp);
		return EBUSY;
	}
	mp->mnt_covered = covered;
	if (covered != NULL)
		atomic_store(&covered->v_mountedhere, mp);
	TAILQ_INSERT_TAIL(&mountlist, mp, mnt_list);
	rw_exit(&mountlist_lock);
	*mpp = mp;
	return 0;
}

/* Tear down mp; mountlist_lock held as writer, mp off the list. */
static void
vfs_dounmount(struct mount *mp)
{
	struct vnode *rvp = mp->mnt_root;

	if (mp->mnt_covered != NULL)
		atomic_store(&mp->mnt_covered->v_mountedhere, NULL);
	mp->mnt_root = NULL;
	vcache_purge(mp);
	vcache_nocache(rvp);
	vrele(rvp);
	if (mp->mnt_op->vfs_sync != NULL)
		mp->mnt_op->vfs_sync(mp);
	mp->mnt_op->vfs_unmount(mp);
	if (vcache_count(mp) != 0)
		kprintf("vfs: unmount leaves %u vnodes\n", vcache_count(mp));
}

static int
vfs_copydata(const void *udata, char **kdata)
{
	char *buf;
	int error;

	*kdata = NULL;
	if (udata == NULL)
		return 0;
	buf = kmem_zalloc(PATH_MAX);
	if (buf == NULL)
		return ENOMEM;
	error = copyinstr(udata, buf, PATH_MAX, NULL);
	if (error == ENAMETOOLONG)
		error = copyin(udata, buf, PATH_MAX);
	if (error) {
		kmem_free(buf, PATH_MAX);
		return error;
	}
	*kdata = buf;
	return 0;
}

static bool
vfs_isroot(void)
{
	struct cred *c = cred_get();
	bool r = c->cr_euid == 0;

	cred_free(c);
	return r;
}

static int
vfs_remount(struct vnode *vp, unsigned long flags)
{
	struct mount *mp = vp->v_mount;

	if (vp != mp->mnt_root)
		return EINVAL;
	rw_enter(&mountlist_lock, RW_WRITER);
	mp->mnt_flags = (int)(flags & (MS_RDONLY | MS_NOSUID | MS_NODEV |
	    MS_NOEXEC));
	rw_exit(&mountlist_lock);
	return 0;
}

long
sys_mount(const char *source, const char *target, const char *fstype,
    unsigned long flags, const void *data)
{
	char name[64], *src = NULL, *kdata = NULL;
	const struct vfsops *ops = NULL;
	struct nameidata nd;
	struct mount *mp;
	int error;

	if (!vfs_isroot())
		return -EPERM;
	nd_init(&nd, ND_FOLLOW);
	error = namei_at(AT_FDCWD, target, &nd);
	if (error)
		goto out;
	if (flags & MS_REMOUNT) {
		error = vfs_remount(nd.nd_vp, flags);
		goto out;
	}
	if (flags & MS_BIND) {
		error = EINVAL;
		goto out;
	}
	if (fstype == NULL) {
		error = EFAULT;
		goto out;
	}
	error = copyinstr(fstype, name, sizeof(name), NULL);
	if (error) {
		error = error == ENAMETOOLONG ? ENODEV : error;
		goto out;
	}
	ops = vfs_byname(name);
	if (ops == NULL) {
		error = ENODEV;
		goto out;
	}
	if (nd.nd_vp->v_type != VDIR) {
		error = ENOTDIR;
		goto out;
	}
	if (nd.nd_vp == nd.nd_vp->v_mount->mnt_root) {
		error = EBUSY;
		goto out;
	}
	if (source != NULL) {
		src = kmem_alloc(PATH_MAX);
		if (src == NULL) {
			error = ENOMEM;
			goto out;
		}
		error = copyinstr(source, src, PATH_MAX, NULL);
		if (error)
			goto out;
	}
	error = vfs_copydata(data, &kdata);
	if (error)
		goto out;
	error = vfs_domount(ops, nd.nd_vp, (int)flags, src, kdata, &mp);
	if (error == 0)
		nd.nd_vp = NULL;        /* now mp->mnt_covered's reference */
out:
	if (kdata != NULL)
		kmem_free(kdata, PATH_MAX);
	if (src != NULL)
		kmem_free(src, PATH_MAX);
	nd_fini(&nd);
	return -error;
}

long
sys_umount2(const char *target, int flags)
{
	struct nameidata nd;
	struct mount *mp;
	struct vnode *rvp;
	int error;

	if (flags & ~(MNT_FORCE | MNT_DETACH | MNT_EXPIRE | UMOUNT_NOFOLLOW))
		return -EINVAL;
	if ((flags & MNT_EXPIRE) && (flags & (MNT_FORCE | MNT_DETACH)))
		return -EINVAL;
	if (!vfs_isroot())
		return -EPERM;
	nd_init(&nd, (flags & UMOUNT_NOFOLLOW) ? 0 : ND_FOLLOW);
	error = namei_at(AT_FDCWD, target, &nd);
	rvp = nd.nd_vp;
	nd.nd_vp = NULL;
	nd_fini(&nd);
	if (error)
		return -error;
	mp = rvp->v_mount;
	if (rvp != mp->mnt_root) {
		vrele(rvp);
		return -EINVAL;
	}
	vcache_purge(mp);
	rw_enter(&mountlist_lock, RW_WRITER);
	/* Our lookup holds one reference on the root, the mount another. */
	if (mp->mnt_covered == NULL || (atomic_load(&rvp->v_refcnt) & 0x7fffffffu) > 2 ||
	    vcache_count(mp) > 1) {
		rw_exit(&mountlist_lock);
		vrele(rvp);
		return -EBUSY;
	}
	TAILQ_REMOVE(&mountlist, mp, mnt_list);
	vrele(rvp);
	vfs_dounmount(mp);
	rw_exit(&mountlist_lock);
	vrele(mp->mnt_covered);
	vfs_mount_free(mp);
	return 0;
}

/* --- statfs and sync ----------------------------------------------------- */

static int
vfs_statfs_vp(struct vnode *vp, struct statfs *usf)
{
	struct mount *mp = vp->v_mount;
	struct statfs sf;
	int error;

	memset(&sf, 0, sizeof(sf));
	error = mp->mnt_op->vfs_statfs(mp, &sf);
	if (error)
		return error;
	sf.f_flags = ST_VALID;
	if (mp->mnt_flags & MS_RDONLY)
		sf.f_flags |= ST_RDONLY;
	if (mp->mnt_flags & MS_NOSUID)
		sf.f_flags |= ST_NOSUID;
	if (mp->mnt_flags & MS_NODEV)
		sf.f_flags |= ST_NODEV;
	if (mp->mnt_flags & MS_NOEXEC)
		sf.f_flags |= ST_NOEXEC;
	sf.f_fsid.val[0] = (int)(mp->mnt_dev & 0xffffffff);
	sf.f_fsid.val[1] = (int)(mp->mnt_dev >> 32);
	if (sf.f_namelen == 0)
		sf.f_namelen = NAME_MAX;
	return copyout(&sf, usf, sizeof(sf));
}

long
sys_statfs(const char *path, struct statfs *buf)
{
	struct nameidata nd;
	int error;

	nd_init(&nd, ND_FOLLOW);
	error = namei_at(AT_FDCWD, path, &nd);
	if (error == 0)
		error = vfs_statfs_vp(nd.nd_vp, buf);
	nd_fini(&nd);
	return -error;
}

long
sys_fstatfs(int fd, struct statfs *buf)
{
	struct file *fp;
	struct vnode *vp;
	int error;

	error = vn_getfile(fd, true, &fp, &vp);
	if (error)
		return -error;
	error = vfs_statfs_vp(vp, buf);
	vrele(vp);
	file_rele(fp);
	return -error;
}

static void
vfs_sync_mount(struct mount *mp)
{
	if (mp->mnt_op->vfs_sync != NULL)
		mp->mnt_op->vfs_sync(mp);
}

long
sys_sync(void)
{
	struct mount *mp;

	rw_enter(&mountlist_lock, RW_READER);
	TAILQ_FOREACH(mp, &mountlist, mnt_list)
		vfs_sync_mount(mp);
	rw_exit(&mountlist_lock);
	return 0;
}

long
sys_syncfs(int fd)
{
	struct file *fp;
	struct vnode *vp;
	int error;

	error = vn_getfile(fd, true, &fp, &vp);
	if (error == EINVAL)
		return 0;       /* a pipe or socket: nothing to sync */
	if (error)
		return -error;
	vfs_sync_mount(vp->v_mount);
	vrele(vp);
	file_rele(fp);
	return 0;
}

/* --- boot ------------------------------------------------------------------ */

static void
vfs_pv_hold(void *dir)
{
	vref(dir);
}

static void
vfs_pv_rele(void *dir)
{
	vrele(dir);
}

static const struct proc_vfs_hooks vfs_hooks = {
	.pv_hold = vfs_pv_hold,
	.pv_rele = vfs_pv_rele,
};

static int
vfs_init(void)
{
	rw_init(&mountlist_lock);
	vcache_init();
	bio_init();
	proc_set_vfs_hooks(&vfs_hooks);
	return 0;
}

static void
vfs_fini(void)
{
	bio_fini();
	vcache_fini();
	rw_destroy(&mountlist_lock);
}

COMPONENT(vfs, COMP_VFS, vfs_init, vfs_fini);

/* Make a node named name in dvp (boot-time, kernel path). */
static int
vfs_mknode(struct vnode *dvp, const char *name, enum vtype type, mode_t mode,
    dev_t rdev, struct vnode **vpp)
{
	struct componentname cn = { name, strlen(name) };
	struct vattr va;
	struct vnode *vp;
	int error;

	memset(&va, 0, sizeof(va));
	va.va_type = type;
	va.va_mode = mode;
	va.va_rdev = rdev;
	rw_enter(&dvp->v_mount->mnt_nslock, RW_WRITER);
	error = dvp->v_op->vop_create(dvp, &cn, &va, &vp);
	rw_exit(&dvp->v_mount->mnt_nslock);
	if (error)
		return error;
	if (vpp != NULL)
		*vpp = vp;
	else
		vrele(vp);
	return 0;
}

/* A device node at a path under /dev ("net/tun" makes /dev/net). */
static int
vfs_mkdevnode(struct vnode *devvp, const char *path, mode_t mode, dev_t dev)
{
	struct componentname cn;
	struct vnode *dvp = devvp, *vp;
	const char *slash;
	char name[NAME_MAX + 1];
	int error = 0;

	vref(dvp);
	while ((slash = strchr(path, '/')) != NULL) {
		if ((size_t)(slash - path) > NAME_MAX) {
			error = ENAMETOOLONG;
			goto out;
		}
		memcpy(name, path, (size_t)(slash - path));
		name[slash - path] = '\0';
		error = vfs_mknode(dvp, name, VDIR, 0755, 0, &vp);
		if (error == EEXIST) {
			cn.cn_name = name;
			cn.cn_namelen = strlen(name);
			rw_enter(&dvp->v_mount->mnt_nslock, RW_READER);
			error = dvp->v_op->vop_lookup(dvp, &cn, &vp);
			rw_exit(&dvp->v_mount->mnt_nslock);
		}
		if (error)
			goto out;
		vrele(dvp);
		dvp = vp;
		path = slash + 1;
	}
	error = vfs_mknode(dvp, path, VCHR, mode, dev, NULL);
out:
	vrele(dvp);
	return error;
}

static int
vfs_populate_dev(struct vnode *rootvp)
{
	const struct cdevsw *sw;
	struct vnode *devvp;
	dev_t dev;
	unsigned i;
	int error;

	error = vfs_mknode(rootvp, "dev", VDIR, 0755, 0, &devvp);
	if (error)
		return error;
	for (i = 0; cdev_get(i, &dev, &sw); i++) {
		error = vfs_mkdevnode(devvp, sw->d_name, sw->d_mode & ALLPERMS,
		    dev);
		if (error)
			kprintf("vfs: /dev/%s: error %d\n", sw->d_name, error);
	}
	vrele(devvp);
	return vfs_mknode(rootvp, "tmp", VDIR, 01777, 0, NULL);
}

/* Open the console as fds 0-2 of proc1, running as proc1 meanwhile. */
static void
vfs_open_console(void)
{
	struct lwp *l = lwp_current();
	struct proc *saved;
	struct file *fp;
	int i, fd, error;

	if (l == NULL)
		return;
	saved = l->l_proc;
	l->l_proc = proc1;
	error = vn_open_path(AT_FDCWD, "/dev/console", O_RDWR, 0, &fp);
	if (error == 0) {
		for (i = 0; i < 3; i++)
			fd_install(fp, i, false, &fd);
		file_rele(fp);
	} else {
		kprintf("vfs: cannot open /dev/console: error %d\n", error);
	}
	l->l_proc = saved;
}

static int
vfs_mountroot(void)
{
	const struct vfsops *ops = vfs_byname("tmpfs");
	struct mount *mp;
	struct vnode *rvp;
	int error;

	if (ops == NULL) {
		kprintf("vfs: no tmpfs for the root\n");
		return ENODEV;
	}
	error = vfs_domount(ops, NULL, 0, "rootfs", NULL, &mp);
	if (error)
		return error;
	rvp = mp->mnt_root;
	error = vfs_populate_dev(rvp);
	if (error)
		return error;
	mutex_enter(&proc1->p_lock);
	if (proc1->p_root != NULL)
		vrele(proc1->p_root);
	vref(rvp);
	proc1->p_root = rvp;
	proc_gen_bump(proc1);
	mutex_exit(&proc1->p_lock);
	vref(rvp);
	proc_cwd_set(proc1, rvp);
	vfs_open_console();
	return 0;
}

static void
vfs_unmountall(void)
{
	struct mount *mp = NULL, *last;

	rw_enter(&mountlist_lock, RW_WRITER);
	while (!TAILQ_EMPTY(&mountlist)) {
		TAILQ_FOREACH(last, &mountlist, mnt_list)
			mp = last;
		TAILQ_REMOVE(&mountlist, mp, mnt_list);
		vfs_dounmount(mp);
		if (mp->mnt_covered != NULL)
			vrele(mp->mnt_covered);
		vfs_mount_free(mp);
	}
	rw_exit(&mountlist_lock);
}

COMPONENT(vfs_root, COMP_ROOT, vfs_mountroot, vfs_unmountall);
