/*
 * The bare-metal boot arguments (platform/metal/bootparse.c), hosted: the
 * same source the image runs, linked here with libpith so that its
 * pith_syscall6 calls reach an in-process kernel.
 *
 * The command-line parser gets good and bad lines (escapes, empty
 * arguments, every option, every error naming the bad word).  The cpio
 * unpacker gets archives written by the host's cpio(1) (newc and crc)
 * from a tree made here -- files, directories, symbolic and hard links, a
 * FIFO, odd modes and times -- and the unpacked tree is compared with the
 * host's lstat; then hand-made malformed archives, each refused with a
 * message.  mount= mounts an ext2 image made by mke2fs.  The parts that
 * need cpio(1) or mke2fs skip without them.
 */
#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <pith/pith.h>

#include "lib/tap.h"
#include "bootparse.h"

static struct boot_cmdline bc;
static char err[BOOT_ERRLEN];

static int
parse(const char *line)
{
	static char buf[65536];

	snprintf(buf, sizeof(buf), "%s", line);
	return boot_parse(buf, &bc, err, sizeof(err));
}

static void
test_parse(void)
{
	char big[8192];
	int i, r;

	r = parse("/path/pith-kernel.elf env=A=1 mount=vda:/mnt:ext2 -- "
	    "prog a\\x20b c\\x5cd \\xc3\\xa9 e=f");
	is_int(r, 0, "a full command line parses");
	ok(bc.bc_dashdash && bc.bc_argc == 5, "argv after --: %d words",
	    bc.bc_argc);
	ok(bc.bc_argc == 5 && strcmp(bc.bc_argv[0], "prog") == 0 &&
	    strcmp(bc.bc_argv[1], "a b") == 0 &&
	    strcmp(bc.bc_argv[2], "c\\d") == 0 &&
	    strcmp(bc.bc_argv[3], "\xc3\xa9") == 0 &&
	    strcmp(bc.bc_argv[4], "e=f") == 0 && bc.bc_argv[5] == NULL,
	    "\\xHH escapes decode: space, backslash, UTF-8; '=' in argv");
	ok(bc.bc_envc == 1 && strcmp(bc.bc_envp[0], "A=1") == 0 &&
	    bc.bc_envp[1] == NULL, "env=A=1");
	ok(bc.bc_nmounts == 1 && strcmp(bc.bc_mounts[0].bm_source, "vda") == 0
	    && strcmp(bc.bc_mounts[0].bm_dir, "/mnt") == 0 &&
	    strcmp(bc.bc_mounts[0].bm_fstype, "ext2") == 0 &&
	    !bc.bc_mounts[0].bm_rdonly, "mount=vda:/mnt:ext2");

	r = parse("env=X=a\\x20b env=Y== env=X=2 mount=/dev/vdb:/a/b:ext2:ro "
	    "selftest=fault");
	ok(r == 0 && !bc.bc_dashdash && bc.bc_argc == 0,
	    "options only; no loader word; no argv (%s)", err);
	ok(bc.bc_envc == 2 && strcmp(bc.bc_envp[0], "X=2") == 0 &&
	    strcmp(bc.bc_envp[1], "Y==") == 0,
	    "a later env= replaces the same name; values keep '='");
	ok(bc.bc_nmounts == 1 && bc.bc_mounts[0].bm_rdonly &&
	    strcmp(bc.bc_mounts[0].bm_dir, "/a/b") == 0, ":ro mounts");
	ok(bc.bc_selftest != NULL && strcmp(bc.bc_selftest, "fault") == 0,
	    "selftest= is recorded");

	r = parse("k -- a  b ");
	ok(r == 0 && bc.bc_argc == 4 && strcmp(bc.bc_argv[1], "") == 0 &&
	    strcmp(bc.bc_argv[3], "") == 0, "empty arguments after -- kept");
	r = parse("k -- -- --x");
	ok(r == 0 && bc.bc_argc == 2 && strcmp(bc.bc_argv[0], "--") == 0,
	    "a second -- is an argument");
	r = parse("");
	ok(r == 0 && bc.bc_argc == 0 && !bc.bc_dashdash, "empty line");
	r = parse("k  env=A=1");
	ok(r == 0 && bc.bc_envc == 1, "empty words among options skipped");

	r = parse("k quiet");
	ok(r == EINVAL && strstr(err, "'quiet'") != NULL,
	    "unknown option refused, named: %s", err);
	r = parse("k foo=bar -- x");
	ok(r == EINVAL && strstr(err, "'foo=bar'") != NULL,
	    "unknown key refused: %s", err);
	r = parse("k -- a\\qb");
	ok(r == EINVAL && strstr(err, "a\\qb") != NULL &&
	    strstr(err, "word 2") != NULL, "bad escape refused: %s", err);
	r = parse("k -- a\\x4");
	ok(r == EINVAL, "short escape refused: %s", err);
	r = parse("k -- a\\x00b");
	ok(r == EINVAL, "\\x00 refused: %s", err);
	r = parse("k env=NOEQUALS");
	ok(r == EINVAL && strstr(err, "env=NOEQUALS") != NULL,
	    "env= without a value refused: %s", err);
	r = parse("k env==x");
	ok(r == EINVAL, "env= with an empty name refused: %s", err);
	r = parse("k mount=vda:mnt:ext2");
	ok(r == EINVAL && strstr(err, "mount=vda:mnt:ext2") != NULL,
	    "relative mount point refused, quoted whole: %s", err);
	r = parse("k mount=vda:/mnt");
	ok(r == EINVAL, "mount= without a type refused: %s", err);
	r = parse("k mount=vda:/mnt:ext2:rx");
	ok(r == EINVAL, "mount= with a bad flag refused: %s", err);
	r = parse("k mount=vda:/m:ext2:ro:x");
	ok(r == EINVAL, "mount= with five fields refused: %s", err);

	strcpy(big, "k --");
	for (i = 0; i < BOOT_MAXARGS + 1; i++)
		strcat(big, " a");
	r = parse(big);
	ok(r == E2BIG && strstr(err, "too many arguments") != NULL,
	    "%d arguments refused: %s", BOOT_MAXARGS + 1, err);

	snprintf(big, sizeof(big), "  prog   one two ");
	r = boot_split_plain(big, &bc, err, sizeof(err));
	ok(r == 0 && bc.bc_argc == 3 && strcmp(bc.bc_argv[0], "prog") == 0 &&
	    strcmp(bc.bc_argv[2], "two") == 0 && bc.bc_argv[3] == NULL,
	    "module string split on spaces");
}

/* --- cpio ------------------------------------------------------------------ */

static char hostdir[64];

static int
sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int
sh(const char *fmt, ...)
{
	char cmd[4096];
	va_list ap;
	int st;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	st = system(cmd);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void *
slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	long n;

	if (f == NULL)
		return NULL;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = malloc(n > 0 ? (size_t)n : 1);
	if (buf != NULL && fread(buf, 1, (size_t)n, f) != (size_t)n) {
		free(buf);
		buf = NULL;
	}
	fclose(f);
	*len = (size_t)n;
	return buf;
}

static void
mkfile(const char *rel, const char *data, mode_t mode, time_t mtime)
{
	char p[256];
	struct timeval tv[2] = { { mtime, 0 }, { mtime, 0 } };
	FILE *f;

	snprintf(p, sizeof(p), "%s/%s", hostdir, rel);
	f = fopen(p, "w");
	if (f == NULL)
		bail_out("%s: %s", p, strerror(errno));
	fputs(data, f);
	fclose(f);
	chmod(p, mode);
	utimes(p, tv);
}

/* Compare one unpacked entry with the host's. */
static void
same(const char *rel, const char *prefix)
{
	struct stat hs, ps;
	char hp[256], pp[256], hb[4096], pb[4096];
	ssize_t hn, pn;
	int fd;

	snprintf(hp, sizeof(hp), "%s/%s", hostdir, rel);
	snprintf(pp, sizeof(pp), "%s/%s", prefix, rel);
	if (!ok(lstat(hp, &hs) == 0 && pith_sys_lstat(pp, &ps) == 0,
	    "%s: unpacked", pp))
		return;
	ok(hs.st_mode == ps.st_mode, "%s: mode %o (host %o)", pp, ps.st_mode,
	    hs.st_mode);
	if (!S_ISDIR(hs.st_mode))
		ok(hs.st_mtime == ps.st_mtime, "%s: mtime %ld (host %ld)", pp,
		    (long)ps.st_mtime, (long)hs.st_mtime);
	if (S_ISREG(hs.st_mode)) {
		fd = open(hp, O_RDONLY);
		hn = read(fd, hb, sizeof(hb));
		close(fd);
		fd = pith_sys_open(pp, O_RDONLY);
		pn = pith_sys_read(fd, pb, sizeof(pb));
		pith_sys_close(fd);
		ok(hn == pn && hn >= 0 && memcmp(hb, pb, (size_t)hn) == 0,
		    "%s: contents (%zd bytes)", pp, pn);
	} else if (S_ISLNK(hs.st_mode)) {
		hn = readlink(hp, hb, sizeof(hb));
		pn = pith_sys_readlink(pp, pb, sizeof(pb));
		ok(hn == pn && hn > 0 && memcmp(hb, pb, (size_t)hn) == 0,
		    "%s: link target", pp);
	}
}

static void
test_cpio_host(const char *format, const char *prefix)
{
	const char *names[] = { "a.txt", "empty", "sub", "sub/deep",
	    "sub/deep/x", "link", "hard1", "hard2", "fifo", "exec" };
	char arc[128], p[256];
	struct stat s1, s2;
	size_t len, i;
	void *buf;
	int r;

	snprintf(arc, sizeof(arc), "%s.%s.cpio", hostdir, format);
	if (sh("cd %s && find . | sort | cpio -o -H %s >%s 2>/dev/null",
	    hostdir, format, arc) != 0 || (buf = slurp(arc, &len)) == NULL) {
		ok(0, "cpio -o -H %s", format);
		return;
	}
	unlink(arc);
	/* Into the root, as at boot; the second archive goes over the first. */
	r = boot_cpio_unpack(buf, len, err, sizeof(err));
	is_int(r, 0, "host cpio -H %s archive unpacks (%s)", format, err);
	free(buf);
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		same(names[i], prefix);
	snprintf(p, sizeof(p), "%s/hard1", prefix);
	pith_sys_stat(p, &s1);
	snprintf(p, sizeof(p), "%s/hard2", prefix);
	pith_sys_stat(p, &s2);
	ok(s1.st_ino == s2.st_ino && s1.st_nlink == 2,
	    "hard links share an inode (nlink %lu)", (unsigned long)s1.st_nlink);
	snprintf(p, sizeof(p), "%s/sub", prefix);
	r = pith_sys_stat(p, &s1);
	ok(r == 0 && s1.st_mtime == 1000000000,
	    "directory mtime set after its contents (%d, %ld)", r,
	    (long)s1.st_mtime);
}

/* One newc header for the malformed-archive tests. */
static size_t
put_hdr(char *b, const char *magic, unsigned mode, size_t size,
    const char *name, size_t namesize)
{
	size_t n;

	n = (size_t)sprintf(b, "%s%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X"
	    "%08X%08X%08X", magic, 1u, mode, 0u, 0u, 1u, 0u, (unsigned)size, 0u,
	    0u, 0u, 0u, (unsigned)namesize, 0u);
	memcpy(b + n, name, strlen(name) + 1);
	n += namesize;
	while (n % 4)
		b[n++] = 0;
	return n;
}

static size_t
put_file(char *b, const char *name, const char *data)
{
	size_t n = put_hdr(b, "070701", 0100644, strlen(data), name,
	    strlen(name) + 1);

	memcpy(b + n, data, strlen(data));
	n += strlen(data);
	while (n % 4)
		b[n++] = 0;
	return n;
}

static size_t
put_trailer(char *b)
{
	return put_hdr(b, "070701", 0, 0, "TRAILER!!!", 11);
}

static void
bad_archive(const char *b, size_t len, const char *want, const char *what)
{
	int r = boot_cpio_unpack(b, len, err, sizeof(err));

	ok(r == EINVAL && strstr(err, want) != NULL, "%s refused: %s", what,
	    err);
}

static void
test_cpio_bad(void)
{
	static char b[8192];
	struct stat st;
	size_t n;

	n = put_file(b, "good1", "data");
	n += put_trailer(b + n);
	is_int(boot_cpio_unpack(b, n, err, sizeof(err)), 0,
	    "hand-made archive unpacks");
	ok(pith_sys_stat("/good1", &st) == 0 && st.st_size == 4,
	    "... /good1 has its 4 bytes");

	n = put_file(b, "never", "x");
	bad_archive(b, n, "without its TRAILER", "an archive with no trailer");
	ok(pith_sys_stat("/never", &st) == -1 && errno == ENOENT,
	    "... and nothing of it was made");
	bad_archive(b, 50, "truncated header", "a truncated header");
	bad_archive(b, 3, "without its TRAILER", "three bytes");
	memcpy(b, "070707", 6);
	bad_archive(b, n, "bad magic", "an odc (070707) archive");
	n = put_file(b, "f", "x");
	b[20] = 'g';
	bad_archive(b, n, "not hexadecimal", "a non-hex header field");
	n = put_hdr(b, "070701", 0100644, 4000, "big", 4);
	memcpy(b + n, "abcd", 4);
	n += 4;
	bad_archive(b, n, "past the end", "data running past the end");
	n = put_hdr(b, "070701", 0100644, 0, "name", 9);
	n += put_trailer(b + n);
	bad_archive(b, n, "name's length", "a wrong name size");
	n = put_hdr(b, "070701", 0100644, 0, "", 6000);
	bad_archive(b, n, "bad name size", "a huge name size");
	n = put_file(b, "../escape", "x");
	n += put_trailer(b + n);
	bad_archive(b, n, "'..'", "a '..' name");
	n = put_file(b, "a/../../b", "x");
	n += put_trailer(b + n);
	bad_archive(b, n, "'..'", "an inner '..'");
	n = put_hdr(b, "070701", 0170644, 0, "weird", 6);
	n += put_trailer(b + n);
	bad_archive(b, n, "unknown file type", "an unknown file type");
	n = put_hdr(b, "070702", 0100644, 4, "crc", 4);
	memcpy(b + n, "abcd", 4);
	n += 4;
	n += put_trailer(b + n);
	bad_archive(b, n, "checksum", "a 070702 entry with a bad checksum");
	n = put_hdr(b, "070701", 0100644, 0, ".", 2);
	n += put_trailer(b + n);
	bad_archive(b, n, "root must be a directory", "a file named '.'");
}

static void
test_mount(void)
{
	char img[128], line[512];
	struct stat st;
	int fd, r;

	snprintf(img, sizeof(img), "%s.img", hostdir);
	if (access("/usr/sbin/mke2fs", X_OK) != 0 ||
	    sh("/usr/sbin/mke2fs -q -F -t ext2 %s 4M >/dev/null 2>&1",
	    img) != 0) {
		skip(5, "mke2fs not available (Debian: e2fsprogs)");
		return;
	}
	snprintf(line, sizeof(line), "k mount=%s:/mnt/disk:ext2 -- p", img);
	is_int(parse(line), 0, "mount= line parses");
	r = boot_mount_all(&bc, err, sizeof(err));
	is_int(r, 0, "mount=IMG:/mnt/disk:ext2 mounts, parents made (%s)",
	    err);
	fd = pith_sys_open("/mnt/disk/hello", O_CREAT | O_WRONLY, 0644);
	ok(fd >= 0 && pith_sys_write(fd, "hi\n", 3) == 3, "write on it");
	pith_sys_close(fd);
	ok(pith_sys_stat("/mnt/disk/lost+found",
	    &st) == 0, "it is the ext2 image (lost+found)");
	snprintf(line, sizeof(line), "k mount=%s:/x:nosuchfs", img);
	parse(line);
	r = boot_mount_all(&bc, err, sizeof(err));
	ok(r == ENODEV && strstr(err, "nosuchfs") != NULL &&
	    strstr(err, "ENODEV") != NULL, "unknown type: %s", err);
	unlink(img);
}

int
main(void)
{
	char p[256];

	if (pith_init(NULL) != 0)
		bail_out("pith_init: %s", strerror(errno));
	test_parse();

	snprintf(hostdir, sizeof(hostdir), "/tmp/pith-bootparse.XXXXXX");
	if (mkdtemp(hostdir) == NULL)
		bail_out("mkdtemp: %s", strerror(errno));
	mkfile("a.txt", "alpha\n", 0640, 1234567890);
	mkfile("empty", "", 0600, 1);
	snprintf(p, sizeof(p), "%s/sub/deep", hostdir);
	sh("mkdir -p %s", p);
	mkfile("sub/deep/x", "deep file", 04755, 2000000000);
	sh("ln -s sub/deep/x %s/link", hostdir);
	mkfile("hard1", "shared", 0644, 42);
	sh("ln %s/hard1 %s/hard2", hostdir, hostdir);
	snprintf(p, sizeof(p), "%s/fifo", hostdir);
	mkfifo(p, 0620);
	mkfile("exec", "#!/bin/sh\n", 0751, 7);
	sh("chmod 0751 %s/sub/deep && touch -h -d @1000000000 %s/sub "
	    "%s/sub/deep", hostdir, hostdir, hostdir);
	if (sh("command -v cpio >/dev/null") != 0) {
		skip(1, "cpio(1) not installed (Debian: cpio)");
	} else {
		test_cpio_host("newc", "");
		test_cpio_host("crc", "");
	}
	test_cpio_bad();
	test_mount();
	sh("rm -rf %s", hostdir);
	pith_fini();
	return done_testing();
}
