/*
 * Permissions against the host kernel.  A setup script runs as root on
 * both sides; then a script runs as an ordinary user (uid 1000, gid 1000,
 * supplementary group 2000): on the host in a forked child that dropped
 * its privileges, on Pith in a new process with the same credentials.
 * Results and errnos are compared one by one.  Covers owner/group/other
 * bits, search permission, sticky directories, chmod/chown rules, set-id
 * clearing, S_ISGID inheritance, utimensat's rules and access(2) with
 * real versus effective ids.  In the VM (musl build) the host's answers
 * are the ones the hosted run recorded (tests/lib/oracle.h), and the
 * user's process is a forked child, as on the host, where hosted it is a
 * second process of the kernel in this one (pith_proc_*).  Forked
 * children append to logs in shared memory.
 */
#include "vfs_oracle.h"
#include <sys/mman.h>
#include <sys/wait.h>
#include <grp.h>

static void
mkfile(const struct be *b, const char *p, mode_t mode)
{
	int fd = b->open(p, O_CREAT | O_WRONLY, mode);

	if (fd >= 0) {
		b->write(fd, "data", 4);
		b->close(fd);
	}
	b->chmod(p, mode);
}

static void
s_setup(const struct be *b)
{
	struct stat st;

	b->mkdir("pub", 0777);
	b->chmod("pub", 0777);
	b->mkdir("priv", 0700);
	b->mkdir("sticky", 0777);
	b->chmod("sticky", 01777);
	b->mkdir("sgid", 0775);
	b->chown("sgid", 0, 2000);
	b->chmod("sgid", 02775);
	b->mkdir("noexec", 0777);
	b->chmod("noexec", 0666);
	b->mkdir("udir", 0755);
	b->chown("udir", 1000, 1000);
	mkfile(b, "pub/rootfile", 0644);
	mkfile(b, "pub/pubw", 0666);
	mkfile(b, "ro", 0444);
	b->chown("ro", 1000, 1000);
	mkfile(b, "mine", 0644);
	b->chown("mine", 1000, 1000);
	mkfile(b, "grp", 0640);
	b->chown("grp", 0, 2000);
	mkfile(b, "sticky/rootf", 0666);
	mkfile(b, "sticky/userf", 0666);
	b->chown("sticky/userf", 1000, 1000);
	mkfile(b, "suidf", 04777);
	mkfile(b, "s2", 06755);
	R("root chown clears set-id", b->chown("s2", 1, 1));
	R("stat s2", b->stat("s2", &st));
	V("s2 mode", st.st_mode & 07777);
	mkfile(b, "s3", 02745);
	R("root chown keeps sgid without gx", b->chown("s3", 1, 1));
	R("stat s3", b->stat("s3", &st));
	V("s3 mode", st.st_mode & 07777);
	mkfile(b, "x1", 0600);
	R("root reads 0600", b->access("x1", R_OK | W_OK));
	R("root X on 0600 file", b->access("x1", X_OK));
	R("root X on priv dir", b->access("priv", X_OK));
	b->chmod("x1", 0001);
	R("root X with o+x", b->access("x1", X_OK));
	b->mkdir("priv/in", 0755);
}

static void
s_user(const struct be *b)
{
	struct timespec ts[2] = { { 5, 0 }, { 6, 0 } };
	struct stat st;
	int fd;

	R("open priv/in", b->open("priv/in", O_RDONLY));
	R("stat priv/in", b->stat("priv/in", &st));
	R("mkdir priv/x", b->mkdir("priv/x", 0755));
	fd = RFD("read grp", b->open("grp", O_RDONLY));
	b->close(fd);
	R("write grp", b->open("grp", O_WRONLY));
	R("write rootfile", b->open("pub/rootfile", O_WRONLY));
	R("trunc rootfile", b->open("pub/rootfile", O_RDONLY | O_TRUNC));
	fd = RFD("read rootfile", b->open("pub/rootfile", O_RDONLY));
	b->close(fd);
	R("write ro (owner, no w)", b->open("ro", O_WRONLY));
	R("truncate ro", b->truncate("ro", 0));
	R("truncate rootfile", b->truncate("pub/rootfile", 0));
	R("chmod rootfile", b->chmod("pub/rootfile", 0777));
	R("chmod mine", b->chmod("mine", 0755));
	R("chmod mine sgid", b->chmod("mine", 02755));
	R("stat mine", b->stat("mine", &st));
	V("mine mode", st.st_mode & 07777);
	R("chgrp to non-member", b->chown("mine", -1, 3000));
	R("chgrp to member", b->chown("mine", -1, 2000));
	R("stat mine", b->stat("mine", &st));
	V("mine gid", st.st_gid);
	V("mine mode after chgrp", st.st_mode & 07777);
	R("chown to root", b->chown("mine", 0, -1));
	R("chown to self", b->chown("mine", 1000, -1));
	R("chown other's", b->chown("pub/rootfile", 1000, -1));
	R("chgrp other's", b->chown("pub/rootfile", -1, 1000));
	R("chown -1 -1 other's", b->chown("pub/rootfile", -1, -1));
	b->chmod("mine", 02755);
	R("chown -1 -1 mine", b->chown("mine", -1, -1));
	R("stat mine", b->stat("mine", &st));
	V("mine mode after chown -1", st.st_mode & 07777);
	R("chmod non-member sgid", b->chown("mine", -1, 1000));
	b->chmod("mine", 0644);
	R("create in sticky", (fd = b->open("sticky/new", O_CREAT | O_RDWR,
	    0644)) >= 0 ? b->close(fd) : -1);
	R("unlink other's in sticky", b->unlink("sticky/rootf"));
	R("rename other's in sticky", b->rename("sticky/rootf", "sticky/z"));
	R("rename over other's in sticky", b->rename("sticky/new",
	    "sticky/rootf"));
	R("unlink own in sticky", b->unlink("sticky/userf"));
	R("mkdir sgid/sub", b->mkdir("sgid/sub", 0755));
	R("stat sgid/sub", b->stat("sgid/sub", &st));
	V("sub gid", st.st_gid);
	V("sub mode", st.st_mode & 07777);
	fd = RFD("create sgid/f", b->open("sgid/f", O_CREAT | O_RDWR, 02755));
	b->close(fd);
	R("stat sgid/f", b->stat("sgid/f", &st));
	V("f gid", st.st_gid);
	V("f mode", st.st_mode & 07777);
	fd = RFD("create mine2", b->open("mine2", O_CREAT | O_RDWR, 0777));
	b->close(fd);
	R("stat mine2", b->stat("mine2", &st));
	V("mine2 uid", st.st_uid);
	V("mine2 gid", st.st_gid);
	V("mine2 mode (umask)", st.st_mode & 07777);
	R("create in root dir", b->open("nope", O_CREAT | O_RDWR, 0644));
	R("unlink in root dir", b->unlink("mine"));
	R("access grp W", b->access("grp", W_OK));
	R("access grp R", b->access("grp", R_OK));
	R("access priv X", b->access("priv", X_OK));
	R("access priv/in F", b->access("priv/in", F_OK));
	R("access bad mode", b->access("grp", 8));
	R("utimes NULL on other's", b->utimensat(AT_FDCWD, "pub/rootfile",
	    NULL, 0));
	R("utimes set on other's", b->utimensat(AT_FDCWD, "pub/rootfile", ts,
	    0));
	R("utimes NULL on writable", b->utimensat(AT_FDCWD, "pub/pubw", NULL,
	    0));
	R("utimes set on writable", b->utimensat(AT_FDCWD, "pub/pubw", ts, 0));
	R("utimes set on own", b->utimensat(AT_FDCWD, "ro", ts, 0));
	R("chdir noexec", b->chdir("noexec"));
	R("chdir priv", b->chdir("priv"));
	fd = RFD("open suidf", b->open("suidf", O_WRONLY));
	R("write suidf", b->write(fd, "x", 1));
	b->close(fd);
	R("stat suidf", b->stat("suidf", &st));
	V("suidf mode after write", st.st_mode & 07777);
	R("rmdir in udir", b->mkdir("udir/d", 0755));
	R("rename dir into other dir (needs w on it)", b->rename("udir/d",
	    "pub/d"));
	R("rename root's dir away", b->rename("priv", "pub/priv"));
}

/* Real uid 0, effective 1000: access uses the real one. */
static void
s_eaccess(const struct be *b)
{
	R("access priv/in (real root)", b->access("priv/in", F_OK));
	R("faccessat EACCESS", b->faccessat(AT_FDCWD, "grp", W_OK,
	    AT_EACCESS));
	R("faccessat real", b->faccessat(AT_FDCWD, "grp", W_OK, 0));
	R("open grp W (effective)", b->open("grp", O_WRONLY));
}

struct as {
	uid_t ruid, euid;
};

#if PITH_HOSTED
static int
host_become(const struct as *a)
{
	gid_t g[2] = { 1000, 2000 };

	if (setgroups(2, g) != 0 || setresgid(1000, 1000, 1000) != 0 ||
	    setresuid(a->ruid, a->euid, a->ruid) != 0)
		return -1;
	return 0;
}
#endif

static int
pith_become(const struct as *a)
{
	gid_t g[2] = { 1000, 2000 };

	if (pith_sys_setgroups(2, g) != 0 ||
	    pith_sys_setresgid(1000, 1000, 1000) != 0 ||
	    pith_sys_setresuid(a->ruid, a->euid, a->ruid) != 0)
		return -1;
	return 0;
}

/* A log a forked child appends to (MAP_SHARED). */
static struct orlog *
or_shared(void)
{
	struct orlog *lg = mmap(NULL, sizeof(*lg), PROT_READ | PROT_WRITE,
	    MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	if (lg == MAP_FAILED)
		bail_out("mmap: %s", strerror(errno));
	memset(lg, 0, sizeof(*lg));
	return lg;
}

#if PITH_HOSTED
/* The host's side: setup as root, user's script in a forked child that
 * dropped its privileges; answers into hl, and recorded if asked. */
static void
host_as(const char *what, void (*user)(const struct be *),
    const struct as *a, struct orlog *hl)
{
	char hdir[] = "/dev/shm/pith-perm.XXXXXX", cmd[128];
	char hcwd[4096];
	pid_t pid;
	int st;

	if (mkdtemp(hdir) == NULL || getcwd(hcwd, sizeof(hcwd)) == NULL)
		bail_out("setup: %s", strerror(errno));
	chmod(hdir, 0755);
	chdir(hdir);
	or_cur = hl;
	s_setup(&host_be);
	pid = fork();
	if (pid == 0) {
		umask(022);
		if (host_become(a) != 0)
			_exit(2);
		user(&host_be);
		_exit(0);
	}
	waitpid(pid, &st, 0);
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
		diag("host child failed: %d", st);
	chdir(hcwd);
	snprintf(cmd, sizeof(cmd), "chmod -R u+rwx %s; rm -rf %s", hdir, hdir);
	if (system(cmd) != 0)
		diag("cleanup failed");
	oracle_save(what, hl->val, hl->n);
}
#endif

/* Run user on Pith as *a, in a process of its own, logging to or_cur;
 * this process keeps its root credentials. */
static void
pith_as(void (*user)(const struct be *), const struct as *a)
{
#if PITH_HOSTED
	pid_t p = pith_proc_create(0);

	if (p < 0 || pith_proc_switch(p) != 0)
		bail_out("pith_proc_create: %s", strerror(errno));
	pith_sys_umask(022);
	if (pith_become(a) == 0)
		user(&pith_be);
	else
		diag("pith: could not change credentials: %s", strerror(errno));
	pith_proc_switch(1);
	pith_proc_release(p);
#else
	pid_t p;
	int st = -1;

	fflush(stdout);
	if ((p = fork()) < 0)
		bail_out("fork: %s", strerror(errno));
	if (p == 0) {
		pith_sys_umask(022);
		if (pith_become(a) != 0)
			_exit(2);
		user(&pith_be);
		_exit(0);
	}
	if (waitpid(p, &st, 0) != p || !WIFEXITED(st) ||
	    WEXITSTATUS(st) != 0)
		diag("pith child failed: status %d", st);
#endif
}

/* Run setup as root, then user as *a, on both sides; compare. */
static void
compare_as(const char *what, void (*user)(const struct be *),
    const struct as *a)
{
	struct orlog *hl = or_shared(), *pl = or_shared();
	char pdir[64];
	int i;

#if PITH_HOSTED
	host_as(what, user, a, hl);
#endif
	snprintf(pdir, sizeof(pdir), "/tmp/%s", what);
	pith_sys_chdir("/");
	if (pith_sys_mkdir(pdir, 0755) != 0 || pith_sys_chdir(pdir) != 0)
		bail_out("pith mkdir %s: %s", pdir, strerror(errno));
	or_cur = pl;
	s_setup(&pith_be);
	pith_as(user, a);
	or_cur = NULL;
	pith_sys_chdir("/");
	if (!PITH_HOSTED && or_recorded(what, hl, pl) != 0)
		goto out;

	if (hl->n != pl->n)
		ok(0, "%s: %d steps on host, %d on pith", what, hl->n, pl->n);
	for (i = 0; i < hl->n && i < pl->n; i++) {
		if (hl->val[i] != pl->val[i])
			diag("%s step %d (%s): host %ld pith %ld", what, i,
			    hl->label[i], hl->val[i], pl->val[i]);
		ok(hl->val[i] == pl->val[i], "%s: %s (%ld)", what, hl->label[i],
		    hl->val[i]);
	}
out:
	munmap(hl, sizeof(*hl));
	munmap(pl, sizeof(*pl));
}

/* An ordinary user may neither mount nor unmount. */
static void
s_mounts(const struct be *b)
{
	(void)b;
	R("user mount", pith_sys_mount("none", "/tmp", "tmpfs", 0, NULL));
	R("user umount", pith_sys_umount2("/tmp", 0));
}

static void
pith_only(void)
{
	struct as u = { 1000, 1000 };
	struct orlog *lg = or_shared();

	or_cur = lg;
	pith_as(s_mounts, &u);
	or_cur = NULL;
	ok(lg->n == 2 && lg->val[0] < 0, "user mount fails");
	is_int(-lg->val[0], EPERM, "... EPERM");
	ok(lg->n == 2 && lg->val[1] < 0, "user umount fails");
	is_int(-lg->val[1], EPERM, "... EPERM");
	munmap(lg, sizeof(*lg));
}

int
main(void)
{
	struct as user = { 1000, 1000 }, mixed = { 0, 1000 };

	if (geteuid() != 0) {
		printf("1..0 # SKIP needs root to compare with the host\n");
		return 0;
	}
	if (pith_init(NULL) != 0)
		bail_out("pith_init: %s", strerror(errno));
	umask(022);
	pith_sys_umask(022);
	compare_as("perm", s_user, &user);
	compare_as("eaccess", s_eaccess, &mixed);
	pith_only();
	pith_fini();
	return done_testing();
}
