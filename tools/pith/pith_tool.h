/*
 * The pith command: declarations shared by its source files.
 *
 * Every file operation the commands make goes through a struct fsops: one
 * vector calls the host's libc, the other the in-process Pith kernel's
 * system calls (pith_sys_*), which have the very same signatures and error
 * policy (-1 with errno).  A struct loc names a file on either side and
 * remembers how to print it ("disk.img:/etc/passwd" or "./site/a").
 */
#ifndef PITH_TOOL_H
#define PITH_TOOL_H

#include <dirent.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/types.h>

struct fsops {
	const char *name;
	int (*stat)(const char *, struct stat *);
	int (*lstat)(const char *, struct stat *);
	int (*open)(const char *, int, ...);
	ssize_t (*read)(int, void *, size_t);
	ssize_t (*write)(int, const void *, size_t);
	ssize_t (*pwrite)(int, const void *, size_t, off_t);
	int (*close)(int);
	int (*fsync)(int);
	int (*ftruncate)(int, off_t);
	int (*fchmod)(int, mode_t);
	int (*fchown)(int, uid_t, gid_t);
	int (*mkdir)(const char *, mode_t);
	int (*rmdir)(const char *);
	int (*unlink)(const char *);
	int (*rename)(const char *, const char *);
	int (*link)(const char *, const char *);
	int (*symlink)(const char *, const char *);
	ssize_t (*readlink)(const char *, char *, size_t);
	int (*chmod)(const char *, mode_t);
	int (*chown)(const char *, uid_t, gid_t);
	int (*lchown)(const char *, uid_t, gid_t);
	int (*utimensat)(int, const char *, const struct timespec *, int);
	int (*statfs)(const char *, struct statfs *);
	ssize_t (*getdents64)(int, void *, size_t);
	int (*mknod)(const char *, mode_t, dev_t);
	/* Relative to an open directory: one lookup instead of a path's. */
	int (*fstatat)(int, const char *, struct stat *, int);
	int (*openat)(int, const char *, int, ...);
};

extern const struct fsops host_ops;
extern const struct fsops pith_ops;

/* A file on the host or inside a mounted image. */
struct loc {
	const struct fsops *ops;
	const char *img;	/* image spec as the user wrote it; NULL: host */
	size_t skip;		/* length of the mount-point prefix in path */
	char path[PATH_MAX];	/* path for ops (kernel path for images) */
};

/* main.c: messages and common state. */
extern const char *progname;
extern volatile sig_atomic_t interrupted;
void warnx_(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void warn_loc(const struct loc *l, int err);
const char *loc_name(const struct loc *l, char *buf, size_t len);
int usage_error(const char *cmd, const char *usage);
void command_help(const char *cmd);
bool want_help(int argc, char **argv);

/* image.c: IMAGE[@N]:/path arguments, the kernel and its mounts. */
#define IMG_RDONLY	0x1
#define IMG_RDWR	0x2
bool arg_is_image(const char *arg);
int loc_parse(const char *arg, int mode, struct loc *l);
int loc_host(const char *path, struct loc *l);
int loc_child(const struct loc *parent, const char *name, struct loc *child);
const char *loc_base(const struct loc *l);
int image_boot(void);
int image_attach(const char *spec, int mode, const char **mnt);
int image_finish(void);
int image_hostfd(const struct loc *l);

/* Reading a directory on either side: sorted names, "." and ".." left out. */
struct namelist {
	char **names;
	size_t n;
};
int dir_list(const struct loc *dir, struct namelist *nl, bool all);
void namelist_free(struct namelist *nl);

/* Command entry points. */
int cmd_ls(int argc, char **argv);
int cmd_cat(int argc, char **argv);
int cmd_stat(int argc, char **argv);
int cmd_df(int argc, char **argv);
int cmd_cp(int argc, char **argv);
int cmd_mkdir(int argc, char **argv);
int cmd_rm(int argc, char **argv);
int cmd_mv(int argc, char **argv);
int cmd_ln(int argc, char **argv);
int cmd_chmod(int argc, char **argv);
int cmd_chown(int argc, char **argv);
int cmd_touch(int argc, char **argv);
int cmd_mount(int argc, char **argv);
int cmd_exec(int argc, char **argv);
int cmd_ps(int argc, char **argv);
int cmd_kill(int argc, char **argv);
int cmd_stop(int argc, char **argv);
int cmd_run(int argc, char **argv);
int cmd_bake(int argc, char **argv);

/* Shared helpers. */
void mode_string(mode_t mode, char out[11]);
int parse_mode(const char *s, mode_t old, bool isdir, mode_t *out);

#endif /* PITH_TOOL_H */
