/*
 * rename(2) and renameat2(2) against the host kernel: over files and
 * empty directories, ENOTEMPTY, EISDIR, ENOTDIR, into its own subtree,
 * onto itself and onto another link of itself, "." and "..", trailing
 * slashes, RENAME_NOREPLACE, RENAME_EXCHANGE and RENAME_WHITEOUT, and
 * link counts afterwards.  EXDEV and EBUSY across and on mounts are in
 * mount_test.c.
 */
#include "vfs_oracle.h"

#ifndef RENAME_NOREPLACE
#define RENAME_NOREPLACE 1
#define RENAME_EXCHANGE 2
#define RENAME_WHITEOUT 4
#endif

static void
mkfile(const struct be *b, const char *p, const char *data)
{
	int fd = b->open(p, O_CREAT | O_TRUNC | O_WRONLY, 0644);

	if (fd >= 0) {
		b->write(fd, data, strlen(data));
		b->close(fd);
	}
}

static long
content(const struct be *b, const char *p)
{
	char buf[32] = { 0 };
	int fd = b->open(p, O_RDONLY);

	if (fd < 0)
		return -errno;
	b->read(fd, buf, sizeof(buf) - 1);
	b->close(fd);
	return buf[0];
}

static void
s_rename(const struct be *b)
{
	struct stat st;

	b->mkdir("d", 0755);
	b->mkdir("d/sub", 0755);
	b->mkdir("e", 0755);
	b->mkdir("full", 0755);
	mkfile(b, "full/x", "x");
	mkfile(b, "a", "A");
	mkfile(b, "b", "B");

	R("file over file", b->rename("a", "b"));
	V("b has A", content(b, "b"));
	V("a gone", content(b, "a"));
	R("missing source", b->rename("a", "c"));
	R("into missing dir", b->rename("b", "nope/c"));
	R("file over dir", b->rename("b", "e"));
	R("dir over file", b->rename("e", "b"));
	R("dir over nonempty", b->rename("e", "full"));
	R("dir over empty dir", b->rename("d", "e"));
	R("stat e/sub", b->stat("e/sub", &st));
	R("stat d", b->stat("d", &st));
	R("into own subtree", b->rename("e", "e/sub/x"));
	R("onto own child", b->rename("e", "e/sub"));
	R("parent onto child's child", b->rename("e/sub", "e/sub/y"));
	R("child over ancestor", b->rename("e/sub", "e"));
	R("to itself", b->rename("b", "b"));
	R("link", b->link("b", "b2"));
	R("onto own link", b->rename("b", "b2"));
	R("stat b still", b->stat("b", &st));
	V("nlink 2", st.st_nlink);
	R("dir to itself", b->rename("e", "e"));
	R("src .", b->rename("e/.", "z"));
	R("src ..", b->rename("e/sub/..", "z"));
	R("dst .", b->rename("b", "e/."));
	R("dst ..", b->rename("b", "e/.."));
	R("src trailing / on file", b->rename("b/", "z"));
	R("dst trailing / for file", b->rename("b", "z/"));
	R("dir trailing /", b->rename("e/", "f/"));
	R("stat f", b->stat("f", &st));
	V("f nlink", st.st_nlink);
	R("stat .", b->stat(".", &st));
	V(". nlink", st.st_nlink);
	R("move dir to other parent", b->rename("f/sub", "full/sub"));
	R("stat full", b->stat("full", &st));
	V("full nlink 3", st.st_nlink);
	R("stat f", b->stat("f", &st));
	V("f nlink 2", st.st_nlink);
	R("stat full/sub/..", b->stat("full/sub/..", &st));
	V("dotdot is full", st.st_nlink);

	R("NOREPLACE existing", b->renameat2(AT_FDCWD, "b", AT_FDCWD, "b2",
	    RENAME_NOREPLACE));
	R("NOREPLACE new", b->renameat2(AT_FDCWD, "b", AT_FDCWD, "c",
	    RENAME_NOREPLACE));
	mkfile(b, "p", "P");
	mkfile(b, "q", "Q");
	R("EXCHANGE files", b->renameat2(AT_FDCWD, "p", AT_FDCWD, "q",
	    RENAME_EXCHANGE));
	V("p has Q", content(b, "p"));
	V("q has P", content(b, "q"));
	R("EXCHANGE missing", b->renameat2(AT_FDCWD, "p", AT_FDCWD, "zz",
	    RENAME_EXCHANGE));
	R("EXCHANGE file and dir", b->renameat2(AT_FDCWD, "p", AT_FDCWD, "f",
	    RENAME_EXCHANGE));
	R("lstat p", b->lstat("p", &st));
	V("p is dir", S_ISDIR(st.st_mode));
	R("EXCHANGE back", b->renameat2(AT_FDCWD, "p", AT_FDCWD, "f",
	    RENAME_EXCHANGE));
	R("EXCHANGE dir with own child", b->renameat2(AT_FDCWD, "full",
	    AT_FDCWD, "full/sub", RENAME_EXCHANGE));
	R("EXCHANGE|NOREPLACE", b->renameat2(AT_FDCWD, "p", AT_FDCWD, "q",
	    RENAME_EXCHANGE | RENAME_NOREPLACE));
	R("bad flags", b->renameat2(AT_FDCWD, "p", AT_FDCWD, "q", 0x100));
	R("symlink", b->symlink("q", "lq"));
	R("rename symlink", b->rename("lq", "lq2"));
	R("lstat lq2", b->lstat("lq2", &st));
	V("still a link", S_ISLNK(st.st_mode));
	R("symlink over file", b->rename("lq2", "p"));
	R("lstat p", b->lstat("p", &st));
	V("p is link", S_ISLNK(st.st_mode));
	R("rename empty", b->rename("", "x"));
	R("rename to empty", b->rename("q", ""));
}

int
main(void)
{
	if (pith_init(NULL) != 0)
		bail_out("pith_init: %s", strerror(errno));
	umask(022);
	pith_sys_umask(022);
	or_compare("rename", s_rename);
	/* Documented difference: Linux's tmpfs supports whiteouts for
	 * overlayfs; Pith has no overlay and refuses them. */
	is_int(pith_sys_renameat2(AT_FDCWD, "/tmp/rename/p", AT_FDCWD,
	    "/tmp/rename/q", RENAME_WHITEOUT), -1, "RENAME_WHITEOUT fails");
	is_int(errno, EINVAL, "... with EINVAL");
	pith_fini();
	return done_testing();
}
