/*
 * The read-only commands: ls, cat, stat, df.
 *
 * They mount their images read-only, so the image's bytes stay exactly as
 * they were.  Each argument is handled on its own: a failure is reported,
 * the rest still run, and the exit status says something failed.  Output
 * mimics the GNU tools (ls -l with long-iso times, stat's layout, df in
 * 1K blocks) with numeric owners, since an image's users are not the
 * host's.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#include "pith_tool.h"

void
mode_string(mode_t mode, char out[11])
{
	static const char rwx[] = "rwxrwxrwx";
	int i;

	switch (mode & S_IFMT) {
	case S_IFDIR: out[0] = 'd'; break;
	case S_IFLNK: out[0] = 'l'; break;
	case S_IFCHR: out[0] = 'c'; break;
	case S_IFBLK: out[0] = 'b'; break;
	case S_IFIFO: out[0] = 'p'; break;
	case S_IFSOCK: out[0] = 's'; break;
	default: out[0] = '-'; break;
	}
	for (i = 0; i < 9; i++)
		out[i + 1] = (mode & (0400 >> i)) ? rwx[i] : '-';
	if (mode & S_ISUID)
		out[3] = (mode & S_IXUSR) ? 's' : 'S';
	if (mode & S_ISGID)
		out[6] = (mode & S_IXGRP) ? 's' : 'S';
	if (mode & S_ISVTX)
		out[9] = (mode & S_IXOTH) ? 't' : 'T';
	out[10] = '\0';
}

/* --- ls ------------------------------------------------------------------ */

struct ls_opts {
	bool l, a, R, d;
	bool many;	/* more than one argument: print headers */
	bool first;	/* nothing printed yet */
};

struct ls_ent {
	char *name;
	struct stat st;
	char *target;	/* symlink target under -l */
};

static void
ls_size(const struct stat *st, char *buf, size_t len)
{
	if (S_ISCHR(st->st_mode) || S_ISBLK(st->st_mode))
		snprintf(buf, len, "%u, %u", major(st->st_rdev),
		    minor(st->st_rdev));
	else
		snprintf(buf, len, "%lld", (long long)st->st_size);
}

static void
ls_print(const struct ls_opts *o, struct ls_ent *e, size_t n, bool total)
{
	int wl = 1, wu = 1, wg = 1, ws = 1, w;
	char buf[64], mode[11], tbuf[32];
	long long blocks = 0;
	struct tm tm;
	size_t i;

	if (!o->l) {
		for (i = 0; i < n; i++)
			printf("%s\n", e[i].name);
		return;
	}
	for (i = 0; i < n; i++) {
		w = snprintf(buf, sizeof(buf), "%lu",
		    (unsigned long)e[i].st.st_nlink);
		wl = w > wl ? w : wl;
		w = snprintf(buf, sizeof(buf), "%u", e[i].st.st_uid);
		wu = w > wu ? w : wu;
		w = snprintf(buf, sizeof(buf), "%u", e[i].st.st_gid);
		wg = w > wg ? w : wg;
		ls_size(&e[i].st, buf, sizeof(buf));
		w = (int)strlen(buf);
		ws = w > ws ? w : ws;
		blocks += e[i].st.st_blocks;
	}
	if (total)
		printf("total %lld\n", blocks / 2);
	for (i = 0; i < n; i++) {
		mode_string(e[i].st.st_mode, mode);
		ls_size(&e[i].st, buf, sizeof(buf));
		localtime_r(&e[i].st.st_mtime, &tm);
		strftime(tbuf, sizeof(tbuf), "%Y-%m-%d %H:%M", &tm);
		printf("%s %*lu %*u %*u %*s %s %s%s%s\n", mode, wl,
		    (unsigned long)e[i].st.st_nlink, wu, e[i].st.st_uid, wg,
		    e[i].st.st_gid, ws, buf, tbuf, e[i].name,
		    e[i].target ? " -> " : "", e[i].target ? e[i].target : "");
	}
}

static char *
read_target(const struct loc *l)
{
	char buf[PATH_MAX];
	ssize_t n;

	n = l->ops->readlink(l->path, buf, sizeof(buf) - 1);
	if (n < 0)
		return strdup("?");
	buf[n] = '\0';
	return strdup(buf);
}

static void
ls_free(struct ls_ent *e, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		free(e[i].name);
		free(e[i].target);
	}
	free(e);
}

static int ls_dir(struct ls_opts *o, const struct loc *dir);

/* List directory dir's entries; under -R, then each subdirectory. */
static int
ls_dir(struct ls_opts *o, const struct loc *dir)
{
	char name[PATH_MAX + 256];
	struct namelist nl;
	struct ls_ent *e;
	struct loc c;
	size_t i, n = 0;
	int err, rc = 0;

	if ((err = dir_list(dir, &nl, o->a)) != 0) {
		warn_loc(dir, err);
		return 1;
	}
	if (o->many || o->R)
		printf("%s%s:\n", o->first ? "" : "\n",
		    loc_name(dir, name, sizeof(name)));
	o->first = false;
	e = calloc(nl.n ? nl.n : 1, sizeof(*e));
	if (e == NULL) {
		namelist_free(&nl);
		warnx_("%s", strerror(ENOMEM));
		return 1;
	}
	for (i = 0; i < nl.n; i++) {
		if (loc_child(dir, nl.names[i], &c) != 0) {
			rc = 1;
			continue;
		}
		if (dir->ops->lstat(c.path, &e[n].st) != 0) {
			warn_loc(&c, errno);
			rc = 1;
			continue;
		}
		e[n].name = strdup(nl.names[i]);
		if (o->l && S_ISLNK(e[n].st.st_mode))
			e[n].target = read_target(&c);
		n++;
	}
	ls_print(o, e, n, true);
	for (i = 0; o->R && i < n && !interrupted; i++) {
		if (!S_ISDIR(e[i].st.st_mode) || strcmp(e[i].name, ".") == 0 ||
		    strcmp(e[i].name, "..") == 0)
			continue;
		if (loc_child(dir, e[i].name, &c) == 0)
			rc |= ls_dir(o, &c);
	}
	ls_free(e, n);
	namelist_free(&nl);
	return rc;
}

int
cmd_ls(int argc, char **argv)
{
	struct ls_opts o = { .first = true };
	struct ls_ent e;
	struct loc l;
	int c, i, rc = 0;
	char name[PATH_MAX + 256];

	while ((c = getopt(argc, argv, "laRd")) != -1) {
		switch (c) {
		case 'l': o.l = true; break;
		case 'a': o.a = true; break;
		case 'R': o.R = true; break;
		case 'd': o.d = true; break;
		default: return usage_error("ls", NULL);
		}
	}
	if (optind == argc)
		return usage_error("ls", "missing operand");
	o.many = argc - optind > 1;
	/* Files first, as ls does, then the directories. */
	for (i = optind; i < argc; i++) {
		if (loc_parse(argv[i], IMG_RDONLY, &l) != 0) {
			rc = 1;
			continue;
		}
		memset(&e, 0, sizeof(e));
		if ((o.l || o.d ? l.ops->lstat(l.path, &e.st) :
		    l.ops->stat(l.path, &e.st)) != 0 &&
		    l.ops->lstat(l.path, &e.st) != 0) {
			warn_loc(&l, errno);
			rc = 1;
			continue;
		}
		if (S_ISDIR(e.st.st_mode) && !o.d)
			continue;
		e.name = (char *)loc_name(&l, name, sizeof(name));
		if (o.l && S_ISLNK(e.st.st_mode))
			e.target = read_target(&l);
		ls_print(&o, &e, 1, false);
		free(e.target);
		o.first = false;
	}
	for (i = optind; i < argc && !interrupted; i++) {
		if (!arg_is_image(argv[i]) && access(argv[i], F_OK) != 0)
			continue;
		if (loc_parse(argv[i], IMG_RDONLY, &l) != 0 ||
		    l.ops->stat(l.path, &e.st) != 0 || !S_ISDIR(e.st.st_mode))
			continue;
		if (o.d || (o.l && l.ops->lstat(l.path, &e.st) == 0 &&
		    S_ISLNK(e.st.st_mode)))
			continue;
		rc |= ls_dir(&o, &l);
	}
	return rc;
}

/* --- cat ----------------------------------------------------------------- */

static int
write_all(int fd, const char *buf, size_t n)
{
	ssize_t w;

	while (n > 0) {
		w = write(fd, buf, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return errno;
		buf += w;
		n -= (size_t)w;
	}
	return 0;
}

static int
cat_one(const struct loc *l)
{
	static char buf[1 << 17];
	ssize_t n;
	int fd, err = 0;

	fd = l->ops->open(l->path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		warn_loc(l, errno);
		return 1;
	}
	while ((n = l->ops->read(fd, buf, sizeof(buf))) > 0)
		if ((err = write_all(STDOUT_FILENO, buf, (size_t)n)) != 0)
			break;
	if (n < 0)
		warn_loc(l, errno);
	else if (err != 0)
		warnx_("stdout: %s", strerror(err));
	l->ops->close(fd);
	return n < 0 || err != 0;
}

int
cmd_cat(int argc, char **argv)
{
	struct loc l;
	int i, rc = 0;

	if (getopt(argc, argv, "") != -1)
		return usage_error("cat", NULL);
	if (optind == argc)
		return usage_error("cat", "missing operand");
	fflush(stdout);
	for (i = optind; i < argc && !interrupted; i++) {
		if (loc_parse(argv[i], IMG_RDONLY, &l) != 0) {
			rc = 1;
			continue;
		}
		rc |= cat_one(&l);
	}
	return rc;
}

/* --- stat ---------------------------------------------------------------- */

static const char *
type_name(mode_t m)
{
	switch (m & S_IFMT) {
	case S_IFDIR: return "directory";
	case S_IFLNK: return "symbolic link";
	case S_IFCHR: return "character special file";
	case S_IFBLK: return "block special file";
	case S_IFIFO: return "fifo";
	case S_IFSOCK: return "socket";
	}
	return "regular file";
}

static void
stat_time(const char *what, const struct timespec *ts)
{
	char buf[64], zone[16];
	struct tm tm;

	localtime_r(&ts->tv_sec, &tm);
	strftime(buf, sizeof(buf), "%Y-%m-%d %H:%M:%S", &tm);
	strftime(zone, sizeof(zone), "%z", &tm);
	printf("%s: %s.%09ld %s\n", what, buf, ts->tv_nsec, zone);
}

static int
stat_one(const struct loc *l)
{
	char name[PATH_MAX + 256], mode[11];
	struct stat st;
	char *target;

	if (l->ops->lstat(l->path, &st) != 0) {
		warn_loc(l, errno);
		return 1;
	}
	loc_name(l, name, sizeof(name));
	if (S_ISLNK(st.st_mode)) {
		target = read_target(l);
		printf("  File: %s -> %s\n", name, target ? target : "?");
		free(target);
	} else {
		printf("  File: %s\n", name);
	}
	printf("  Size: %-15lld Blocks: %-10lld IO Block: %-6ld %s\n",
	    (long long)st.st_size, (long long)st.st_blocks,
	    (long)st.st_blksize, S_ISREG(st.st_mode) && st.st_size == 0 ?
	    "regular empty file" : type_name(st.st_mode));
	printf("Device: %u,%u\tInode: %-11llu Links: %lu", major(st.st_dev),
	    minor(st.st_dev), (unsigned long long)st.st_ino,
	    (unsigned long)st.st_nlink);
	if (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode))
		printf("     Device type: %u,%u", major(st.st_rdev),
		    minor(st.st_rdev));
	printf("\n");
	mode_string(st.st_mode, mode);
	printf("Access: (%04o/%s)  Uid: (%5u)   Gid: (%5u)\n",
	    (unsigned)(st.st_mode & 07777), mode, st.st_uid, st.st_gid);
	stat_time("Access", &st.st_atim);
	stat_time("Modify", &st.st_mtim);
	stat_time("Change", &st.st_ctim);
	return 0;
}

int
cmd_stat(int argc, char **argv)
{
	struct loc l;
	int i, rc = 0;

	if (getopt(argc, argv, "") != -1)
		return usage_error("stat", NULL);
	if (optind == argc)
		return usage_error("stat", "missing operand");
	for (i = optind; i < argc; i++) {
		if (loc_parse(argv[i], IMG_RDONLY, &l) != 0) {
			rc = 1;
			continue;
		}
		rc |= stat_one(&l);
	}
	return rc;
}

/* --- df ------------------------------------------------------------------ */

static int
df_one(const char *arg)
{
	char buf[PATH_MAX + 2], name[PATH_MAX + 256];
	unsigned long long k, total, avail, used, pct, ipct;
	struct statfs sf;
	struct loc l;

	/* "disk.img" alone means its root. */
	if (!arg_is_image(arg) && strlen(arg) < PATH_MAX) {
		snprintf(buf, sizeof(buf), "%s:/", arg);
		if (arg_is_image(buf))
			arg = buf;
	}
	if (loc_parse(arg, IMG_RDONLY, &l) != 0)
		return 1;
	if (l.ops->statfs(l.path, &sf) != 0) {
		warn_loc(&l, errno);
		return 1;
	}
	k = (unsigned long long)sf.f_bsize / 1024;
	if (k == 0)
		k = 1;
	total = (unsigned long long)sf.f_blocks * k;
	used = ((unsigned long long)sf.f_blocks - sf.f_bfree) * k;
	avail = (unsigned long long)sf.f_bavail * k;
	pct = used + avail ? (used * 100 + used + avail - 1) / (used + avail) :
	    0;
	ipct = sf.f_files ? ((sf.f_files - sf.f_ffree) * 100 + sf.f_files -
	    1) / sf.f_files : 0;
	printf("%-20s %10llu %10llu %10llu %3llu%% %9llu %9llu %9llu %3llu%%\n",
	    l.img ? l.img : loc_name(&l, name, sizeof(name)), total, used,
	    avail, pct, (unsigned long long)sf.f_files,
	    (unsigned long long)(sf.f_files - sf.f_ffree),
	    (unsigned long long)sf.f_ffree, ipct);
	return 0;
}

int
cmd_df(int argc, char **argv)
{
	int i, rc = 0;

	if (getopt(argc, argv, "") != -1)
		return usage_error("df", NULL);
	if (optind == argc)
		return usage_error("df", "missing operand");
	printf("%-20s %10s %10s %10s %4s %9s %9s %9s %4s\n", "Image",
	    "1K-blocks", "Used", "Available", "Use%", "Inodes", "IUsed",
	    "IFree", "IUse%");
	for (i = optind; i < argc; i++)
		rc |= df_one(argv[i]);
	return rc;
}
