/*
 * The commands that change an image: mkdir, rm, mv, ln, chmod, chown,
 * touch.
 *
 * Each is a thin loop over its operands calling the kernel's system calls
 * with the semantics of the coreutils command of the same name (mkdir -p
 * makes parents u+wx, rm -f is quiet about missing files, mv and ln put
 * the new name inside an existing directory).  Operands may also be host
 * paths; the commands then act on the host, as the coreutils would.
 * Images are mounted read-write; a failing operand is reported and the
 * others still run.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <pith/pith.h>

#include "pith_tool.h"

static mode_t
cur_umask(void)
{
	mode_t um = umask(022);

	umask(um);
	return um;
}

/*
 * Parse MODE: octal, or chmod(1) symbolic clauses "[ugoa]*[-+=][rwxXst]*"
 * separated by commas, applied to old.
 */
int
parse_mode(const char *s, mode_t old, bool isdir, mode_t *out)
{
	mode_t who, perm, m = old & 07777, um = cur_umask();
	char *end, op;
	long v;

	if (*s >= '0' && *s <= '7') {
		v = strtol(s, &end, 8);
		if (*end != '\0' || v < 0 || v > 07777)
			return EINVAL;
		*out = (mode_t)v;
		return 0;
	}
	while (*s != '\0') {
		for (who = 0;; s++) {
			if (*s == 'u') who |= S_ISUID | S_IRWXU;
			else if (*s == 'g') who |= S_ISGID | S_IRWXG;
			else if (*s == 'o') who |= S_IRWXO;
			else if (*s == 'a') who |= 07777;
			else break;
		}
		if (*s != '+' && *s != '-' && *s != '=')
			return EINVAL;
		while (*s == '+' || *s == '-' || *s == '=') {
			op = *s++;
			for (perm = 0; *s != '\0' && strchr("rwxXst", *s);
			    s++) {
				if (*s == 'r') perm |= 0444;
				else if (*s == 'w') perm |= 0222;
				else if (*s == 'x') perm |= 0111;
				else if (*s == 'X' && (isdir || (old & 0111)))
					perm |= 0111;
				else if (*s == 's') perm |= S_ISUID | S_ISGID;
				else if (*s == 't') perm |= S_ISVTX;
			}
			/* No "who": like chmod, all, but not umask's bits. */
			perm &= who ? who : (07777 & ~um) | S_ISVTX;
			if (op == '+')
				m |= perm;
			else if (op == '-')
				m &= ~perm;
			else
				m = (m & ~(who ? who : 07777)) | perm;
		}
		if (*s == ',')
			s++;
		else if (*s != '\0')
			return EINVAL;
	}
	*out = m;
	return 0;
}

/* --- mkdir --------------------------------------------------------------- */

/* Make every missing parent of l (not l itself), u+wx as mkdir -p does. */
static int
mkdir_parents(const struct loc *l)
{
	struct loc p = *l;
	struct stat st;
	size_t i;

	for (i = l->skip + 1; p.path[i] != '\0'; i++) {
		if (p.path[i] != '/')
			continue;
		p.path[i] = '\0';
		if (p.ops->mkdir(p.path, 0777 | S_IWUSR | S_IXUSR) != 0 &&
		    (errno != EEXIST || p.ops->stat(p.path, &st) != 0 ||
		    !S_ISDIR(st.st_mode))) {
			if (errno == EEXIST)
				errno = ENOTDIR;
			warn_loc(&p, errno);
			return 1;
		}
		p.path[i] = '/';
	}
	return 0;
}

int
cmd_mkdir(int argc, char **argv)
{
	bool parents = false;
	const char *mstr = NULL;
	mode_t mode = 0777;
	struct stat st;
	struct loc l;
	int c, i, rc = 0;

	while ((c = getopt(argc, argv, "pm:")) != -1) {
		switch (c) {
		case 'p': parents = true; break;
		case 'm': mstr = optarg; break;
		default: return usage_error("mkdir", NULL);
		}
	}
	if (optind == argc)
		return usage_error("mkdir", "missing operand");
	if (mstr != NULL && parse_mode(mstr, 0777 & ~cur_umask(), true,
	    &mode) != 0) {
		warnx_("mkdir: invalid mode '%s'", mstr);
		return 1;
	}
	for (i = optind; i < argc; i++) {
		if (loc_parse(argv[i], IMG_RDWR, &l) != 0) {
			rc = 1;
			continue;
		}
		if (parents && mkdir_parents(&l) != 0) {
			rc = 1;
			continue;
		}
		if (l.ops->mkdir(l.path, mode) != 0) {
			if (parents && errno == EEXIST &&
			    l.ops->stat(l.path, &st) == 0 &&
			    S_ISDIR(st.st_mode))
				continue;
			warn_loc(&l, errno);
			rc = 1;
			continue;
		}
		/* -m is exact, whatever the umask (as mkdir(1)). */
		if (mstr != NULL && l.ops->chmod(l.path, mode) != 0) {
			warn_loc(&l, errno);
			rc = 1;
		}
	}
	return rc;
}

/* --- rm ------------------------------------------------------------------ */

static int
rm_tree(const struct loc *l, bool recursive, bool force)
{
	struct namelist nl;
	struct stat st;
	struct loc c;
	size_t i;
	int err, rc = 0;

	if (l->ops->lstat(l->path, &st) != 0) {
		if (force && errno == ENOENT)
			return 0;
		warn_loc(l, errno);
		return 1;
	}
	if (!S_ISDIR(st.st_mode)) {
		if (l->ops->unlink(l->path) != 0) {
			warn_loc(l, errno);
			return 1;
		}
		return 0;
	}
	if (!recursive) {
		warn_loc(l, EISDIR);
		return 1;
	}
	if ((err = dir_list(l, &nl, false)) != 0) {
		warn_loc(l, err);
		return 1;
	}
	for (i = 0; i < nl.n && !interrupted; i++)
		if (loc_child(l, nl.names[i], &c) == 0)
			rc |= rm_tree(&c, recursive, force);
	namelist_free(&nl);
	if (rc == 0 && !interrupted && l->ops->rmdir(l->path) != 0) {
		warn_loc(l, errno);
		rc = 1;
	}
	return rc;
}

static bool
is_root(const struct loc *l)
{
	const char *p = l->path + l->skip;

	while (*p == '/' || (p[0] == '.' && (p[1] == '/' || p[1] == '\0')))
		p++;
	return l->img != NULL && *p == '\0';
}

int
cmd_rm(int argc, char **argv)
{
	bool recursive = false, force = false;
	struct loc l;
	int c, i, rc = 0;

	while ((c = getopt(argc, argv, "rRf")) != -1) {
		switch (c) {
		case 'r': case 'R': recursive = true; break;
		case 'f': force = true; break;
		default: return usage_error("rm", NULL);
		}
	}
	if (optind == argc)
		return force ? 0 : usage_error("rm", "missing operand");
	for (i = optind; i < argc && !interrupted; i++) {
		if (loc_parse(argv[i], IMG_RDWR, &l) != 0) {
			rc = 1;
			continue;
		}
		if (is_root(&l)) {
			warnx_("%s: refusing to remove an image's root",
			    argv[i]);
			rc = 1;
			continue;
		}
		rc |= rm_tree(&l, recursive, force);
	}
	return rc;
}

/* --- mv and ln ------------------------------------------------------------ */

/* If dst is a directory, make it dst/basename(src). */
static int
into_dir(struct loc *dst, const char *base)
{
	struct loc dir = *dst;
	struct stat st;

	if (dst->ops->stat(dst->path, &st) != 0 || !S_ISDIR(st.st_mode))
		return 0;
	if (base[0] == '\0')
		return 0;
	return loc_child(&dir, base, dst);
}

static bool
same_fs(const struct loc *a, const struct loc *b)
{
	if (a->ops != b->ops)
		return false;
	return a->img == NULL || strncmp(a->path, b->path, a->skip + 1) == 0;
}

int
cmd_mv(int argc, char **argv)
{
	struct loc src, dst, d;
	int i, rc = 0;

	if (getopt(argc, argv, "") != -1)
		return usage_error("mv", NULL);
	if (argc - optind < 2)
		return usage_error("mv", "missing operand");
	if (loc_parse(argv[argc - 1], IMG_RDWR, &dst) != 0)
		return 1;
	for (i = optind; i < argc - 1 && !interrupted; i++) {
		if (loc_parse(argv[i], IMG_RDWR, &src) != 0) {
			rc = 1;
			continue;
		}
		if (!same_fs(&src, &dst)) {
			warnx_("%s: %s; use cp and rm", argv[i],
			    strerror(EXDEV));
			rc = 1;
			continue;
		}
		d = dst;
		if (into_dir(&d, loc_base(&src)) != 0 ||
		    src.ops->rename(src.path, d.path) != 0) {
			warn_loc(&src, errno);
			rc = 1;
		}
	}
	return rc;
}

int
cmd_ln(int argc, char **argv)
{
	bool sym = false;
	struct loc target, link;
	int c, i, rc = 0;
	const char *base;

	while ((c = getopt(argc, argv, "s")) != -1) {
		switch (c) {
		case 's': sym = true; break;
		default: return usage_error("ln", NULL);
		}
	}
	if (argc - optind < 2)
		return usage_error("ln", "missing operand");
	if (loc_parse(argv[argc - 1], IMG_RDWR, &link) != 0)
		return 1;
	for (i = optind; i < argc - 1; i++) {
		struct loc l = link;

		if (sym) {
			base = strrchr(argv[i], '/');
			base = base ? base + 1 : argv[i];
			if (into_dir(&l, base) != 0 ||
			    l.ops->symlink(argv[i], l.path) != 0) {
				warn_loc(&l, errno);
				rc = 1;
			}
			continue;
		}
		if (loc_parse(argv[i], IMG_RDWR, &target) != 0) {
			rc = 1;
			continue;
		}
		if (!same_fs(&target, &l)) {
			warnx_("%s: %s", argv[i], strerror(EXDEV));
			rc = 1;
			continue;
		}
		if (into_dir(&l, loc_base(&target)) != 0 ||
		    l.ops->link(target.path, l.path) != 0) {
			warn_loc(&l, errno);
			rc = 1;
		}
	}
	return rc;
}

/* --- chmod, chown, touch -------------------------------------------------- */

int
cmd_chmod(int argc, char **argv)
{
	struct stat st;
	struct loc l;
	mode_t mode;
	int i, rc = 0;

	/* Not getopt: "-x" is a mode here, as for chmod(1). */
	i = 1;
	if (i < argc && strcmp(argv[i], "--") == 0)
		i++;
	if (argc - i < 2)
		return usage_error("chmod", "missing operand");
	for (int j = i + 1; j < argc; j++) {
		if (loc_parse(argv[j], IMG_RDWR, &l) != 0) {
			rc = 1;
			continue;
		}
		if (l.ops->stat(l.path, &st) != 0) {
			warn_loc(&l, errno);
			rc = 1;
			continue;
		}
		if (parse_mode(argv[i], st.st_mode, S_ISDIR(st.st_mode),
		    &mode) != 0) {
			warnx_("chmod: invalid mode '%s'", argv[i]);
			return 1;
		}
		if (l.ops->chmod(l.path, mode) != 0) {
			warn_loc(&l, errno);
			rc = 1;
		}
	}
	return rc;
}

static int
parse_id(const char *s, size_t len, unsigned *id)
{
	char buf[16], *end;
	unsigned long v;

	if (len == 0 || len >= sizeof(buf))
		return EINVAL;
	memcpy(buf, s, len);
	buf[len] = '\0';
	v = strtoul(buf, &end, 10);
	if (*end != '\0' || buf[0] == '-' || v > 0xfffffffeUL)
		return EINVAL;
	*id = (unsigned)v;
	return 0;
}

int
cmd_chown(int argc, char **argv)
{
	unsigned uid = (unsigned)-1, gid = (unsigned)-1;
	const char *spec, *colon;
	struct loc l;
	int i, rc = 0;

	if (getopt(argc, argv, "") != -1)
		return usage_error("chown", NULL);
	if (argc - optind < 2)
		return usage_error("chown", "missing operand");
	spec = argv[optind];
	colon = strchr(spec, ':');
	if (colon == NULL)
		colon = strchr(spec, '.');
	if ((colon != spec &&
	    parse_id(spec, colon ? (size_t)(colon - spec) : strlen(spec),
	    &uid) != 0) || (colon != NULL && colon[1] != '\0' &&
	    parse_id(colon + 1, strlen(colon + 1), &gid) != 0)) {
		warnx_("chown: invalid owner '%s' (numbers only)", spec);
		return 1;
	}
	for (i = optind + 1; i < argc; i++) {
		if (loc_parse(argv[i], IMG_RDWR, &l) != 0) {
			rc = 1;
			continue;
		}
		if (l.ops->chown(l.path, (uid_t)uid, (gid_t)gid) != 0) {
			warn_loc(&l, errno);
			rc = 1;
		}
	}
	return rc;
}

int
cmd_touch(int argc, char **argv)
{
	struct loc l;
	int fd, i, rc = 0;

	if (getopt(argc, argv, "") != -1)
		return usage_error("touch", NULL);
	if (optind == argc)
		return usage_error("touch", "missing operand");
	for (i = optind; i < argc; i++) {
		if (loc_parse(argv[i], IMG_RDWR, &l) != 0) {
			rc = 1;
			continue;
		}
		fd = l.ops->open(l.path, O_WRONLY | O_CREAT | O_NONBLOCK |
		    O_NOCTTY | O_CLOEXEC, 0666);
		if (fd >= 0)
			l.ops->close(fd);
		else if (errno != EISDIR) {
			warn_loc(&l, errno);
			rc = 1;
			continue;
		}
		if (l.ops->utimensat(AT_FDCWD, l.path, NULL, 0) != 0) {
			warn_loc(&l, errno);
			rc = 1;
		}
	}
	return rc;
}
