/*
 * tmpfs mount-level operations and registration.
 *
 * A mount is a struct tmpfs_mount: the inode hash, the inode and page
 * counters and their limits.  Options follow Linux tmpfs: "size=N" with
 * an optional k/m/g/t suffix or a percentage of the kernel's memory limit
 * (0: no limit beyond memory), "nr_inodes=N" (same suffixes), "mode=",
 * "uid=", "gid=" for the root directory.  By default a mount may use as
 * many pages as the kernel's memory limit and one inode per 512 bytes of
 * it; kmem_alloc failing is ENOSPC whatever the limits say.
 *
 * Unmount frees every node.  The VFS may drop its reference on the root
 * vnode after vfs_unmount returns; if the root still has a vnode then, the
 * mount is marked dying and the root's vop_reclaim frees what is left.
 */

#include "fs/tmpfs/tmpfs.h"

#define TMPFS_INOHASH_MIN 64
#define TMPFS_ROOT_INO 1

struct tmpfs_args {
	uint64_t ta_pages;              /* 0: no limit */
	uint64_t ta_nodes;              /* 0: no limit */
	mode_t ta_mode;
	uid_t ta_uid;
	gid_t ta_gid;
};

static size_t
tmpfs_memlimit(void)
{
	return kern_cfg.mem_limit != 0 ? kern_cfg.mem_limit : (size_t)256 << 20;
}

/* Parse a number with an optional k/m/g/t or % suffix. */
static int
tmpfs_parse_size(const char *s, size_t len, bool pct_ok, uint64_t *ret)
{
	uint64_t v = 0;
	size_t i = 0;
	int shift = 0;

	if (len == 0)
		return EINVAL;
	for (; i < len && s[i] >= '0' && s[i] <= '9'; i++) {
		if (v > (~(uint64_t)0 - 9) / 10)
			return EINVAL;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	if (i == 0)
		return EINVAL;
	if (i + 1 == len) {
		switch (s[i]) {
		case 'k': case 'K': shift = 10; break;
		case 'm': case 'M': shift = 20; break;
		case 'g': case 'G': shift = 30; break;
		case 't': case 'T': shift = 40; break;
		case '%':
			if (!pct_ok || v > 100)
				return EINVAL;
			*ret = (uint64_t)tmpfs_memlimit() / 100 * v;
			return 0;
		default:
			return EINVAL;
		}
	} else if (i != len) {
		return EINVAL;
	}
	if (v > (~(uint64_t)0 >> shift))
		return EINVAL;
	*ret = v << shift;
	return 0;
}

static int
tmpfs_parse_octal(const char *s, size_t len, uint64_t max, uint64_t *ret)
{
	uint64_t v = 0;
	size_t i;

	if (len == 0)
		return EINVAL;
	for (i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '7')
			return EINVAL;
		v = v * 8 + (uint64_t)(s[i] - '0');
		if (v > max)
			return EINVAL;
	}
	*ret = v;
	return 0;
}

static const char *
tmpfs_memchr(const char *s, char c, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (s[i] == c)
			return s + i;
	return NULL;
}

static bool
tmpfs_optis(const char *opt, size_t len, const char *name)
{
	size_t n = strlen(name);

	return len > n && memcmp(opt, name, n) == 0 && opt[n] == '=';
}

/* One "name=value" option. */
static int
tmpfs_parse_opt(const char *opt, size_t len, struct tmpfs_args *ta)
{
	const char *val = tmpfs_memchr(opt, '=', len);
	size_t vlen;
	uint64_t v;
	int error;

	if (val == NULL)
		return EINVAL;
	val++;
	vlen = len - (size_t)(val - opt);
	if (tmpfs_optis(opt, len, "size")) {
		error = tmpfs_parse_size(val, vlen, true, &v);
		ta->ta_pages = howmany(v, TMPFS_PAGE_SIZE);
	} else if (tmpfs_optis(opt, len, "nr_inodes")) {
		error = tmpfs_parse_size(val, vlen, false, &v);
		ta->ta_nodes = v;
	} else if (tmpfs_optis(opt, len, "mode")) {
		error = tmpfs_parse_octal(val, vlen, ALLPERMS, &v);
		ta->ta_mode = (mode_t)v;
	} else if (tmpfs_optis(opt, len, "uid")) {
		error = tmpfs_parse_size(val, vlen, false, &v);
		if (!error && v > UINT_MAX - 1)
			error = EINVAL;
		ta->ta_uid = (uid_t)v;
	} else if (tmpfs_optis(opt, len, "gid")) {
		error = tmpfs_parse_size(val, vlen, false, &v);
		if (!error && v > UINT_MAX - 1)
			error = EINVAL;
		ta->ta_gid = (gid_t)v;
	} else {
		error = EINVAL;
	}
	return error;
}

static int
tmpfs_parse_args(const char *data, struct tmpfs_args *ta)
{
	const char *p, *end;
	size_t len;
	int error;

	if (data == NULL)
		return 0;
	len = strnlen(data, PATH_MAX);
	if (len >= PATH_MAX)
		return EINVAL;
	for (p = data; p < data + len; p = end + 1) {
		end = tmpfs_memchr(p, ',', (size_t)(data + len - p));
		if (end == NULL)
			end = data + len;
		if (end > p) {
			error = tmpfs_parse_opt(p, (size_t)(end - p), ta);
			if (error)
				return error;
		}
	}
	return 0;
}

/* Free what is left of a mount: the root node (if any) and tm. */
void
tmpfs_mount_free(struct tmpfs_mount *tm)
{
	if (tm->tm_root != NULL)
		tmpfs_node_free(tm->tm_root);
	if (tm->tm_inohash != NULL)
		kmem_free(tm->tm_inohash,
		    tm->tm_inohashsize * sizeof(*tm->tm_inohash));
	mutex_destroy(&tm->tm_lock);
	kmem_free(tm, sizeof(*tm));
}

static int
tmpfs_mount(struct mount *mp, const char *source, const void *data)
{
	struct tmpfs_args ta;
	struct tmpfs_mount *tm;
	struct tmpfs_node *root;
	struct cred *cr;
	int error;

	memset(&ta, 0, sizeof(ta));
	ta.ta_mode = 01777;
	cr = cred_get();
	if (cr != NULL) {
		ta.ta_uid = cr->cr_fsuid;
		ta.ta_gid = cr->cr_fsgid;
		cred_free(cr);
	}
	ta.ta_pages = howmany(tmpfs_memlimit(), TMPFS_PAGE_SIZE);
	ta.ta_nodes = tmpfs_memlimit() / 512;
	error = tmpfs_parse_args(data, &ta);
	if (error)
		return error;

	tm = kmem_zalloc(sizeof(*tm));
	if (tm == NULL)
		return ENOMEM;
	mutex_init(&tm->tm_lock);
	tm->tm_mp = mp;
	tm->tm_nextino = TMPFS_ROOT_INO;
	tm->tm_pages_max = ta.ta_pages != 0 ? ta.ta_pages : ~(uint64_t)0;
	tm->tm_nodes_max = ta.ta_nodes != 0 ? ta.ta_nodes : ~(uint64_t)0;
	tm->tm_inohashsize = TMPFS_INOHASH_MIN;
	tm->tm_inohash = kmem_zalloc(TMPFS_INOHASH_MIN * sizeof(*tm->tm_inohash));
	if (tm->tm_inohash == NULL) {
		error = ENOMEM;
		goto fail;
	}
	error = tmpfs_node_alloc(tm, VDIR, ta.ta_mode, ta.ta_uid, ta.ta_gid, 0,
	    &root);
	if (error)
		goto fail;
	root->tn_dir.td_parent = root;
	root->tn_nlink = 2;
	tm->tm_root = root;
	mp->mnt_data = tm;
	error = vcache_get(mp, root->tn_ino, &mp->mnt_root);
	if (error) {
		mp->mnt_data = NULL;
		goto fail;
	}
	return 0;
fail:
	tmpfs_mount_free(tm);
	return error;
}

static int
tmpfs_unmount(struct mount *mp)
{
	struct tmpfs_mount *tm = VFS_TO_TM(mp);
	struct tmpfs_node **hash, *tn, *next;
	size_t size, i;
	bool rootbusy;

	mutex_enter(&tm->tm_lock);
	hash = tm->tm_inohash;
	size = tm->tm_inohashsize;
	tm->tm_inohash = NULL;
	tm->tm_inohashsize = 0;
	rootbusy = tm->tm_root->tn_nvnodes != 0;
	tm->tm_dying = rootbusy;
	mutex_exit(&tm->tm_lock);

	for (i = 0; i < size; i++) {
		for (tn = hash[i]; tn != NULL; tn = next) {
			next = tn->tn_hnext;
			if (tn == tm->tm_root)
				continue;
			KASSERT(tn->tn_nvnodes == 0);
			tmpfs_node_free(tn);
		}
	}
	kmem_free(hash, size * sizeof(*hash));
	/* The root's entries named nodes that are gone now. */
	tmpfs_dir_fini(tm->tm_root);
	if (!rootbusy)
		tmpfs_mount_free(tm);
	return 0;
}

static int
tmpfs_statfs(struct mount *mp, struct statfs *sf)
{
	struct tmpfs_mount *tm = VFS_TO_TM(mp);
	uint64_t used = atomic_load(&tm->tm_pages), nodes;

	mutex_enter(&tm->tm_lock);
	nodes = tm->tm_nodes;
	mutex_exit(&tm->tm_lock);
	memset(sf, 0, sizeof(*sf));
	sf->f_type = TMPFS_MAGIC;
	sf->f_bsize = TMPFS_PAGE_SIZE;
	sf->f_frsize = TMPFS_PAGE_SIZE;
	/* Without a size= limit, report the kernel's memory limit. */
	sf->f_blocks = tm->tm_pages_max != ~(uint64_t)0 ? tm->tm_pages_max :
	    howmany(tmpfs_memlimit(), TMPFS_PAGE_SIZE);
	sf->f_bfree = sf->f_bavail = sf->f_blocks > used ? sf->f_blocks - used : 0;
	sf->f_files = tm->tm_nodes_max != ~(uint64_t)0 ? tm->tm_nodes_max :
	    tmpfs_memlimit() / 512;
	sf->f_ffree = sf->f_files > nodes ? sf->f_files - nodes : 0;
	sf->f_fsid.val[0] = (int)(uint32_t)mp->mnt_dev;
	sf->f_fsid.val[1] = (int)(uint32_t)(mp->mnt_dev >> 32);
	sf->f_namelen = NAME_MAX;
	return 0;
}

static int
tmpfs_sync(struct mount *mp)
{
	return 0;
}

static int
tmpfs_loadvnode(struct mount *mp, struct vnode *vp, uint64_t key)
{
	struct tmpfs_mount *tm = VFS_TO_TM(mp);
	struct tmpfs_node *tn;

	mutex_enter(&tm->tm_lock);
	tn = tm->tm_inohash != NULL ? tmpfs_node_find(tm, key) : NULL;
	if (tn == NULL) {
		mutex_exit(&tm->tm_lock);
		return ENOENT;
	}
	tn->tn_nvnodes++;
	vp->v_op = &tmpfs_vnodeops;
	vp->v_type = tn->tn_type;
	vp->v_data = tn;
	vp->v_rdev = tn->tn_rdev;
	atomic_store(&tn->tn_vnode, vp);
	mutex_exit(&tm->tm_lock);
	return 0;
}

const struct vfsops tmpfs_vfsops = {
	.vfs_name = "tmpfs",
	.vfs_mount = tmpfs_mount,
	.vfs_unmount = tmpfs_unmount,
	.vfs_statfs = tmpfs_statfs,
	.vfs_sync = tmpfs_sync,
	.vfs_loadvnode = tmpfs_loadvnode,
};

static int
tmpfs_modinit(void)
{
	return vfs_register(&tmpfs_vfsops);
}

static void
tmpfs_modfini(void)
{
	vfs_unregister(&tmpfs_vfsops);
}

COMPONENT(tmpfs, COMP_FS, tmpfs_modinit, tmpfs_modfini);
