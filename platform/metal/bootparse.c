/*
 * Boot arguments without the machine: the command-line parser, the newc
 * cpio unpacker and the mounts (the contract is in bootparse.h and
 * docs/run.md).
 *
 * Everything here runs once, on the boot thread, after pith_kinit and
 * before the program starts, so it keeps no locks; its only door to the
 * kernel is pith_syscall6 with Linux x86-64 numbers, as a program's would
 * be.  It uses no libc either: it compiles -nostdinc into the bare-metal
 * image and with libc into the hosted test, so the few string helpers it
 * needs are its own.
 *
 * The unpacker trusts nothing in the archive: every header field is
 * checked hex, every length against the end of the buffer, every name for
 * a terminating NUL and for ".." components, before anything is created.
 * Directory times are set in a second pass, once their contents stop
 * changing them.
 */
#include "bootparse.h"

long pith_syscall6(long nr, long a1, long a2, long a3, long a4, long a5,
    long a6);

/* Linux x86-64 system-call numbers and constants. */
#define SYS_write	1
#define SYS_open	2
#define SYS_close	3
#define SYS_link	86
#define SYS_unlink	87
#define SYS_mkdir	83
#define SYS_symlink	88
#define SYS_chmod	90
#define SYS_lchown	94
#define SYS_mknod	133
#define SYS_mount	165
#define SYS_utimensat	280

#define O_WRONLY	01
#define O_CREAT		0100
#define O_TRUNC		01000
#define O_NOFOLLOW	0400000
#define O_CLOEXEC	02000000
#define AT_FDCWD	(-100)
#define AT_SYMLINK_NOFOLLOW 0x100
#define MS_RDONLY	1

#define S_IFMT		0170000
#define S_IFSOCK	0140000
#define S_IFLNK		0120000
#define S_IFREG		0100000
#define S_IFBLK		0060000
#define S_IFDIR		0040000
#define S_IFCHR		0020000
#define S_IFIFO		0010000

#define EPERM		1
#define ENOENT		2
#define EIO		5
#define E2BIG		7
#define ENOMEM		12
#define EACCES		13
#define EFAULT		14
#define EBUSY		16
#define EEXIST		17
#define ENODEV		19
#define ENOTDIR		20
#define EISDIR		21
#define EINVAL		22
#define ENOSPC		28
#define EROFS		30
#define EMLINK		31
#define ENAMETOOLONG	36
#define ENOSYS		38
#define ENOTEMPTY	39
#define ELOOP		40

#define BOOT_PATHMAX	4096
#define CPIO_HDRLEN	110
#define CPIO_MAXLINKS	64

/*
 * Every buffer handed to pith_syscall6 is one of these, in the image's
 * static data.  The kernel's copyin takes only lower-half addresses, as
 * for a program's pointers; on the bare-metal platform the heap, the
 * modules and kernel stacks live in the upper half (its direct map), the
 * image itself below 4 MiB.  So names are built here and file data is
 * written through a bounce buffer.  One boot thread: no locks.
 */
static char bp_path[BOOT_PATHMAX];	/* the entry being made */
static char bp_other[BOOT_PATHMAX];	/* a link's target, a mount source */
static char bp_mkdir[BOOT_PATHMAX];	/* boot_mkdirp's prefixes */
static char bp_fstype[64];
static unsigned char bp_bounce[16384];
static long bp_times[4];

static long
sc(long nr, long a1, long a2, long a3, long a4, long a5)
{
	return pith_syscall6(nr, a1, a2, a3, a4, a5, 0);
}

/* --- strings and messages ----------------------------------------------- */

static unsigned long
bp_strlen(const char *s)
{
	unsigned long n = 0;

	while (s[n] != '\0')
		n++;
	return n;
}

static int
bp_streq(const char *a, const char *b)
{
	while (*a != '\0' && *a == *b) {
		a++;
		b++;
	}
	return *a == *b;
}

static int
bp_prefix(const char *s, const char *pre)
{
	while (*pre != '\0')
		if (*s++ != *pre++)
			return 0;
	return 1;
}

static char *
bp_strchr(char *s, int c)
{
	for (; *s != '\0'; s++)
		if (*s == (char)c)
			return s;
	return (char *)0;
}

/* Copy s into one of the static buffers; ENAMETOOLONG if it does not fit. */
static int
bp_copy(char *dst, const char *s, unsigned long len)
{
	unsigned long i;

	for (i = 0; i < len; i++)
		if ((dst[i] = s[i]) == '\0')
			return 0;
	dst[len - 1] = '\0';
	return ENAMETOOLONG;
}

/* A message being built in a fixed buffer; output past the end is lost. */
struct msg {
	char *m_buf;
	unsigned long m_len;
	unsigned long m_used;
};

static void
msg_init(struct msg *m, char *buf, unsigned long len)
{
	m->m_buf = buf;
	m->m_len = len;
	m->m_used = 0;
	if (len > 0)
		buf[0] = '\0';
}

static void
msg_putc(struct msg *m, char c)
{
	if (m->m_len == 0 || m->m_used + 1 >= m->m_len)
		return;
	m->m_buf[m->m_used++] = c;
	m->m_buf[m->m_used] = '\0';
}

static void
msg_puts(struct msg *m, const char *s)
{
	while (*s != '\0')
		msg_putc(m, *s++);
}

/* A string from the outside world: unprintable bytes as \xHH. */
static void
msg_putq(struct msg *m, const char *s, unsigned long max)
{
	unsigned long i;

	for (i = 0; s[i] != '\0' && i < max; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c >= 0x20 && c < 0x7f) {
			msg_putc(m, (char)c);
			continue;
		}
		msg_puts(m, "\\x");
		msg_putc(m, "0123456789abcdef"[c >> 4]);
		msg_putc(m, "0123456789abcdef"[c & 15]);
	}
	if (s[i] != '\0')
		msg_puts(m, "...");
}

static void
msg_putu(struct msg *m, unsigned long v)
{
	char buf[24];
	int i = sizeof(buf) - 1;

	buf[i] = '\0';
	do {
		buf[--i] = (char)('0' + v % 10);
		v /= 10;
	} while (v != 0);
	msg_puts(m, &buf[i]);
}

static void
msg_puto(struct msg *m, unsigned long v)
{
	char buf[24];
	int i = sizeof(buf) - 1;

	buf[i] = '\0';
	do {
		buf[--i] = (char)('0' + (v & 7));
		v >>= 3;
	} while (v != 0);
	buf[--i] = '0';
	msg_puts(m, &buf[i]);
}

const char *
boot_errname(int error)
{
	static const struct {
		int e;
		const char *name;
	} names[] = {
		{ EPERM, "EPERM" }, { ENOENT, "ENOENT" }, { EIO, "EIO" },
		{ E2BIG, "E2BIG" }, { ENOMEM, "ENOMEM" },
		{ EACCES, "EACCES" }, { EFAULT, "EFAULT" },
		{ EBUSY, "EBUSY" }, { EEXIST, "EEXIST" },
		{ ENODEV, "ENODEV" }, { ENOTDIR, "ENOTDIR" },
		{ EISDIR, "EISDIR" }, { EINVAL, "EINVAL" },
		{ ENOSPC, "ENOSPC" }, { EROFS, "EROFS" },
		{ EMLINK, "EMLINK" }, { ENAMETOOLONG, "ENAMETOOLONG" },
		{ ENOSYS, "ENOSYS" }, { ENOTEMPTY, "ENOTEMPTY" },
		{ ELOOP, "ELOOP" },
	};
	unsigned i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (names[i].e == error)
			return names[i].name;
	return "E?";
}

static void
msg_puterr(struct msg *m, int error)
{
	msg_puts(m, boot_errname(error));
	msg_puts(m, " (errno ");
	msg_putu(m, (unsigned long)error);
	msg_puts(m, ")");
}

/* --- the command line ----------------------------------------------------- */

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/*
 * Decode the \xHH escapes of one word in place.  Checked before anything
 * is written, so that an error can quote the word as it was given.
 */
static int
word_decode(char *w, struct msg *m, int index)
{
	char *s, *d;

	for (s = w; *s != '\0'; s++) {
		if (*s != '\\')
			continue;
		if (s[1] != 'x' || hexval(s[2]) < 0 || hexval(s[3]) < 0 ||
		    (hexval(s[2]) | hexval(s[3])) == 0) {
			msg_puts(m, "bad escape in boot word ");
			msg_putu(m, (unsigned long)index);
			msg_puts(m, " '");
			msg_putq(m, w, 64);
			msg_puts(m, "': want \\xHH, HH from 01 to ff");
			return EINVAL;
		}
		s += 3;
	}
	for (s = d = w; *s != '\0'; s++, d++) {
		if (*s == '\\') {
			*d = (char)(hexval(s[2]) << 4 | hexval(s[3]));
			s += 3;
		} else
			*d = *s;
	}
	*d = '\0';
	return 0;
}

static int
opt_env(char *val, struct boot_cmdline *bc, struct msg *m)
{
	char *eq = bp_strchr(val, '=');
	unsigned long n;
	int i;

	if (eq == (char *)0 || eq == val) {
		msg_puts(m, "boot option 'env=");
		msg_putq(m, val, 64);
		msg_puts(m, "': want env=NAME=VALUE");
		return EINVAL;
	}
	/* A later env= for the same name replaces the earlier one. */
	n = (unsigned long)(eq - val) + 1;
	for (i = 0; i < bc->bc_envc; i++) {
		const char *old = bc->bc_envp[i];
		unsigned long k;

		for (k = 0; k < n && old[k] == val[k]; k++)
			;
		if (k == n) {
			bc->bc_envp[i] = val;
			return 0;
		}
	}
	if (bc->bc_envc >= BOOT_MAXENV) {
		msg_puts(m, "too many env= options (limit ");
		msg_putu(m, BOOT_MAXENV);
		msg_puts(m, ")");
		return E2BIG;
	}
	bc->bc_envp[bc->bc_envc++] = val;
	bc->bc_envp[bc->bc_envc] = (char *)0;
	return 0;
}

static int
opt_mount(char *val, struct boot_cmdline *bc, struct msg *m)
{
	struct boot_mount *bm;
	char *part[5], *p;
	int n = 0;

	part[n++] = val;
	for (p = val; *p != '\0'; p++) {
		if (*p != ':')
			continue;
		if (n == 5)
			break;
		*p = '\0';
		part[n++] = p + 1;
	}
	if (n < 3 || n > 4 || *part[0] == '\0' || *part[1] != '/' ||
	    *part[2] == '\0' ||
	    (n == 4 && !bp_streq(part[3], "ro") && !bp_streq(part[3], "rw"))) {
		/* Put the colons back to quote the option as given. */
		while (--n > 0)
			part[n][-1] = ':';
		msg_puts(m, "boot option 'mount=");
		msg_putq(m, val, 80);
		msg_puts(m, "': want mount=SOURCE:/DIR:FSTYPE[:ro]");
		return EINVAL;
	}
	if (bc->bc_nmounts >= BOOT_MAXMOUNTS) {
		msg_puts(m, "too many mount= options (limit ");
		msg_putu(m, BOOT_MAXMOUNTS);
		msg_puts(m, ")");
		return E2BIG;
	}
	bm = &bc->bc_mounts[bc->bc_nmounts++];
	bm->bm_source = part[0];
	bm->bm_dir = part[1];
	bm->bm_fstype = part[2];
	bm->bm_rdonly = n == 4 && bp_streq(part[3], "ro");
	return 0;
}

static int
parse_option(char *w, struct boot_cmdline *bc, struct msg *m)
{
	if (bp_prefix(w, "env="))
		return opt_env(w + 4, bc, m);
	if (bp_prefix(w, "mount="))
		return opt_mount(w + 6, bc, m);
	if (bp_prefix(w, "selftest=")) {
		bc->bc_selftest = w + 9;
		return 0;
	}
	msg_puts(m, "unknown boot option '");
	msg_putq(m, w, 64);
	msg_puts(m, "' (known: env=, mount=, selftest=; argv follows --)");
	return EINVAL;
}

static int
push_arg(char *w, struct boot_cmdline *bc, struct msg *m)
{
	if (bc->bc_argc >= BOOT_MAXARGS) {
		msg_puts(m, "too many arguments (limit ");
		msg_putu(m, BOOT_MAXARGS);
		msg_puts(m, ")");
		return E2BIG;
	}
	bc->bc_argv[bc->bc_argc++] = w;
	bc->bc_argv[bc->bc_argc] = (char *)0;
	return 0;
}

static void
cmdline_clear(struct boot_cmdline *bc)
{
	bc->bc_argc = 0;
	bc->bc_argv[0] = (char *)0;
	bc->bc_envc = 0;
	bc->bc_envp[0] = (char *)0;
	bc->bc_nmounts = 0;
	bc->bc_selftest = (const char *)0;
	bc->bc_dashdash = 0;
}

int
boot_parse(char *buf, struct boot_cmdline *bc, char *err,
    unsigned long errlen)
{
	struct msg m;
	char *w, *sp;
	int index = 0, error = 0;

	msg_init(&m, err, errlen);
	cmdline_clear(bc);
	for (w = buf; w != (char *)0; w = sp, index++) {
		sp = bp_strchr(w, ' ');
		if (sp != (char *)0)
			*sp++ = '\0';
		if (bc->bc_dashdash) {
			/* After "--" every word counts, "" included. */
			if ((error = word_decode(w, &m, index)) != 0 ||
			    (error = push_arg(w, bc, &m)) != 0)
				return error;
			continue;
		}
		if (*w == '\0')
			continue;
		if (bp_streq(w, "--")) {
			bc->bc_dashdash = 1;
			continue;
		}
		/* The loader's own name for the image, first and without '='. */
		if (index == 0 && bp_strchr(w, '=') == (char *)0)
			continue;
		if ((error = word_decode(w, &m, index)) != 0 ||
		    (error = parse_option(w, bc, &m)) != 0)
			return error;
	}
	return error;
}

int
boot_split_plain(char *buf, struct boot_cmdline *bc, char *err,
    unsigned long errlen)
{
	struct msg m;
	char *p = buf;
	int error;

	msg_init(&m, err, errlen);
	bc->bc_argc = 0;
	bc->bc_argv[0] = (char *)0;
	while (*p != '\0') {
		while (*p == ' ')
			*p++ = '\0';
		if (*p == '\0')
			break;
		if ((error = push_arg(p, bc, &m)) != 0)
			return error;
		while (*p != '\0' && *p != ' ')
			p++;
	}
	return 0;
}

/* --- directories and mounts ---------------------------------------------- */

int
boot_mkdirp(const char *path, unsigned mode)
{
	char *buf = bp_mkdir;
	unsigned long n = bp_strlen(path), i;
	long r;

	if (n >= sizeof(bp_mkdir))
		return ENAMETOOLONG;
	for (i = 0; i <= n; i++) {
		buf[i] = path[i];
		if (i == 0 || (path[i] != '/' && path[i] != '\0'))
			continue;
		if (buf[i - 1] == '/')
			continue;
		buf[i] = '\0';
		r = sc(SYS_mkdir, (long)buf, (long)mode, 0, 0, 0);
		if (r != 0 && r != -EEXIST)
			return (int)-r;
		buf[i] = path[i];
	}
	return 0;
}

int
boot_mount_all(const struct boot_cmdline *bc, char *err,
    unsigned long errlen)
{
	const struct boot_mount *bm;
	struct msg m;
	long r;
	int i, error;

	msg_init(&m, err, errlen);
	for (i = 0; i < bc->bc_nmounts; i++) {
		bm = &bc->bc_mounts[i];
		error = boot_mkdirp(bm->bm_dir, 0755);
		if (error == 0 &&
		    (bp_copy(bp_other, bm->bm_source, sizeof(bp_other)) != 0 ||
		    bp_copy(bp_path, bm->bm_dir, sizeof(bp_path)) != 0 ||
		    bp_copy(bp_fstype, bm->bm_fstype, sizeof(bp_fstype)) != 0))
			error = ENAMETOOLONG;
		if (error == 0) {
			r = sc(SYS_mount, (long)bp_other, (long)bp_path,
			    (long)bp_fstype, bm->bm_rdonly ? MS_RDONLY : 0, 0);
			error = (int)-r;
		}
		if (error != 0) {
			msg_puts(&m, "mount=");
			msg_putq(&m, bm->bm_source, 64);
			msg_putc(&m, ':');
			msg_putq(&m, bm->bm_dir, 64);
			msg_putc(&m, ':');
			msg_putq(&m, bm->bm_fstype, 16);
			msg_puts(&m, bm->bm_rdonly ? ":ro: " : ": ");
			msg_puterr(&m, error);
			if (error == ENODEV)
				msg_puts(&m, ": no such device or file "
				    "system type");
			return error;
		}
	}
	return 0;
}

/* --- newc cpio ----------------------------------------------------------- */

struct cpio_ent {
	unsigned long ce_ino, ce_mode, ce_uid, ce_gid, ce_nlink, ce_mtime;
	unsigned long ce_size, ce_dmaj, ce_dmin, ce_rmaj, ce_rmin;
	unsigned long ce_namesize, ce_check;
	int ce_crc;			/* "070702": ce_check is the data's sum */
	const char *ce_name;
	const unsigned char *ce_data;
	unsigned long ce_off;		/* of the header, for messages */
};

/* Hard links seen so far: the first path of each (dev, ino). */
struct cpio_links {
	int cl_n;
	struct {
		unsigned long dmaj, dmin, ino;
		const char *name;	/* in the archive, which stays */
	} cl_tab[CPIO_MAXLINKS];
};

static unsigned long
align4(unsigned long v)
{
	return (v + 3) & ~3ul;
}

static int
hex8(const unsigned char *p, unsigned long *v)
{
	int i, h;

	*v = 0;
	for (i = 0; i < 8; i++) {
		if ((h = hexval((char)p[i])) < 0)
			return EINVAL;
		*v = *v << 4 | (unsigned long)h;
	}
	return 0;
}

static void
ent_where(struct msg *m, const struct cpio_ent *ce)
{
	msg_puts(m, "cpio: ");
	if (ce->ce_name != (const char *)0) {
		msg_putq(m, ce->ce_name, 96);
		msg_puts(m, ": ");
	} else {
		msg_puts(m, "header at byte ");
		msg_putu(m, ce->ce_off);
		msg_puts(m, ": ");
	}
}

/*
 * Read and check the header at off; on success *next is the offset of
 * the following header.
 */
static int
cpio_header(const unsigned char *b, unsigned long len, unsigned long off,
    struct cpio_ent *ce, unsigned long *next, struct msg *m)
{
	unsigned long *f[13] = {
		&ce->ce_ino, &ce->ce_mode, &ce->ce_uid, &ce->ce_gid,
		&ce->ce_nlink, &ce->ce_mtime, &ce->ce_size, &ce->ce_dmaj,
		&ce->ce_dmin, &ce->ce_rmaj, &ce->ce_rmin, &ce->ce_namesize,
		&ce->ce_check,
	};
	unsigned long data, i;
	const char *why;

	ce->ce_name = (const char *)0;
	ce->ce_off = off;
	if (off >= len || len - off < 6) {
		why = "archive ends without its TRAILER!!! entry";
		goto bad;
	}
	if (b[off] != '0' || b[off + 1] != '7' || b[off + 2] != '0' ||
	    b[off + 3] != '7' || b[off + 4] != '0' ||
	    (b[off + 5] != '1' && b[off + 5] != '2')) {
		why = "bad magic (not a newc cpio archive: want 070701)";
		goto bad;
	}
	if (len - off < CPIO_HDRLEN) {
		why = "truncated header";
		goto bad;
	}
	ce->ce_crc = b[off + 5] == '2';
	for (i = 0; i < 13; i++) {
		if (hex8(b + off + 6 + 8 * i, f[i]) != 0) {
			why = "a header field is not hexadecimal";
			goto bad;
		}
	}
	if (ce->ce_namesize < 2 || ce->ce_namesize > BOOT_PATHMAX - 2 ||
	    off + CPIO_HDRLEN + ce->ce_namesize > len) {
		why = "bad name size";
		goto bad;
	}
	ce->ce_name = (const char *)b + off + CPIO_HDRLEN;
	for (i = 0; i < ce->ce_namesize - 1; i++)
		if (ce->ce_name[i] == '\0')
			break;
	if (i != ce->ce_namesize - 1 || ce->ce_name[i] != '\0') {
		ce->ce_name = (const char *)0;
		why = "the name's length does not match its size field";
		goto bad;
	}
	data = align4(off + CPIO_HDRLEN + ce->ce_namesize);
	if (data > len || ce->ce_size > len - data) {
		why = "the file's data runs past the end of the archive";
		goto bad;
	}
	ce->ce_data = b + data;
	*next = align4(data + ce->ce_size);
	return 0;
bad:
	ent_where(m, ce);
	msg_puts(m, why);
	return EINVAL;
}

/*
 * The entry's path in the root, "/a/b" for "a/b", "./a/b" or "/a/b";
 * "/" for ".".  A ".." component is refused.
 */
static int
cpio_path(const char *name, char *path)
{
	const char *s = name, *c;
	unsigned long n = 0;

	for (;;) {
		while (*s == '/')
			s++;
		if (s[0] == '.' && s[1] == '/')
			s += 2;
		else
			break;
	}
	if (s[0] == '.' && s[1] == '\0')
		s++;
	path[n++] = '/';
	for (c = s; *c != '\0'; c++) {
		if ((c == s || c[-1] == '/') && c[0] == '.' && c[1] == '.' &&
		    (c[2] == '/' || c[2] == '\0'))
			return EINVAL;
		if (n + 1 >= BOOT_PATHMAX)
			return ENAMETOOLONG;
		path[n++] = *c;
	}
	/* "a/" names the directory a. */
	while (n > 1 && path[n - 1] == '/')
		n--;
	path[n] = '\0';
	return 0;
}

static int
mkparent(char *path)
{
	unsigned long n = bp_strlen(path);
	int error;

	while (n > 0 && path[n - 1] != '/')
		n--;
	if (n <= 1)
		return 0;
	path[n - 1] = '\0';
	error = boot_mkdirp(path, 0755);
	path[n - 1] = '/';
	return error;
}

static int
write_all(long fd, const unsigned char *p, unsigned long len)
{
	unsigned long n, i;
	long r;

	while (len > 0) {
		n = len < sizeof(bp_bounce) ? len : sizeof(bp_bounce);
		for (i = 0; i < n; i++)
			bp_bounce[i] = p[i];
		r = sc(SYS_write, fd, (long)bp_bounce, (long)n, 0, 0);
		if (r < 0)
			return (int)-r;
		if (r == 0)
			return EIO;
		p += r;
		len -= (unsigned long)r;
	}
	return 0;
}

/* Write the entry's data over path, which exists or is made with mode. */
static int
cpio_fill(const char *path, const struct cpio_ent *ce, int create)
{
	long fd, r;
	int error;

	fd = sc(SYS_open, (long)path, O_WRONLY | O_TRUNC | O_NOFOLLOW |
	    O_CLOEXEC | (create ? O_CREAT : 0), (long)(ce->ce_mode & 07777),
	    0, 0);
	if (fd < 0)
		return (int)-fd;
	error = write_all(fd, ce->ce_data, ce->ce_size);
	r = sc(SYS_close, fd, 0, 0, 0, 0);
	if (error == 0 && r < 0)
		error = (int)-r;
	return error;
}

static int
cpio_regular(const char *path, const struct cpio_ent *ce,
    struct cpio_links *cl)
{
	char *first = bp_other;
	long r;
	int i;

	if (ce->ce_nlink > 1) {
		for (i = 0; i < cl->cl_n; i++) {
			if (cl->cl_tab[i].ino != ce->ce_ino ||
			    cl->cl_tab[i].dmaj != ce->ce_dmaj ||
			    cl->cl_tab[i].dmin != ce->ce_dmin)
				continue;
			/* newc stores the data with the last name only. */
			if (cpio_path(cl->cl_tab[i].name, first) != 0)
				return EINVAL;
			(void)sc(SYS_unlink, (long)path, 0, 0, 0, 0);
			r = sc(SYS_link, (long)first, (long)path, 0, 0, 0);
			if (r < 0)
				return (int)-r;
			return ce->ce_size > 0 ? cpio_fill(path, ce, 0) : 0;
		}
		if (cl->cl_n == CPIO_MAXLINKS)
			return EMLINK;
		i = cl->cl_n++;
		cl->cl_tab[i].ino = ce->ce_ino;
		cl->cl_tab[i].dmaj = ce->ce_dmaj;
		cl->cl_tab[i].dmin = ce->ce_dmin;
		cl->cl_tab[i].name = ce->ce_name;
	}
	/* Whatever is in the way (a symbolic link too) is replaced. */
	(void)sc(SYS_unlink, (long)path, 0, 0, 0, 0);
	return cpio_fill(path, ce, 1);
}

static int
cpio_symlink(const char *path, const struct cpio_ent *ce)
{
	char *target = bp_other;
	unsigned long i;
	long r;

	if (ce->ce_size == 0 || ce->ce_size >= sizeof(bp_other))
		return ENAMETOOLONG;
	for (i = 0; i < ce->ce_size; i++) {
		target[i] = (char)ce->ce_data[i];
		if (target[i] == '\0')
			return EINVAL;
	}
	target[i] = '\0';
	(void)sc(SYS_unlink, (long)path, 0, 0, 0, 0);
	r = sc(SYS_symlink, (long)target, (long)path, 0, 0, 0);
	return (int)-r;
}

static int
cpio_dir(const char *path, const struct cpio_ent *ce)
{
	long r;

	r = sc(SYS_mkdir, (long)path, (long)(ce->ce_mode & 07777), 0, 0, 0);
	/* An existing directory stays; its mode is set by the caller. */
	return r == -EEXIST ? 0 : (int)-r;
}

static int
cpio_node(const char *path, const struct cpio_ent *ce)
{
	unsigned long dev;
	long r;

	/* Linux's 32-bit dev_t encoding, as mknod(2) takes it. */
	dev = (ce->ce_rmin & 0xff) | (ce->ce_rmaj & 0xfff) << 8 |
	    (ce->ce_rmin & ~0xfful) << 12;
	(void)sc(SYS_unlink, (long)path, 0, 0, 0, 0);
	r = sc(SYS_mknod, (long)path, (long)ce->ce_mode, (long)dev, 0, 0);
	return (int)-r;
}

static int
cpio_times(const char *path, const struct cpio_ent *ce)
{
	bp_times[0] = bp_times[2] = (long)ce->ce_mtime;
	bp_times[1] = bp_times[3] = 0;
	return (int)-sc(SYS_utimensat, AT_FDCWD, (long)path, (long)bp_times,
	    AT_SYMLINK_NOFOLLOW, 0);
}

static int
cpio_entry(const struct cpio_ent *ce, struct cpio_links *cl, struct msg *m)
{
	char *path = bp_path;
	unsigned long type = ce->ce_mode & S_IFMT, sum, i;
	const char *what = (const char *)0;
	int error;

	if ((error = cpio_path(ce->ce_name, path)) != 0) {
		what = error == EINVAL ? "a '..' in the name" : (const char *)0;
		goto out;
	}
	if (ce->ce_crc && type == S_IFREG) {
		for (sum = 0, i = 0; i < ce->ce_size; i++)
			sum += ce->ce_data[i];
		if ((sum & 0xffffffff) != ce->ce_check) {
			error = EINVAL;
			what = "checksum mismatch (070702 archive)";
			goto out;
		}
	}
	if (type != S_IFDIR && bp_streq(path, "/")) {
		error = EINVAL;
		what = "the root must be a directory";
		goto out;
	}
	if ((error = mkparent(path)) != 0)
		goto out;
	switch (type) {
	case S_IFDIR:
		error = cpio_dir(path, ce);
		break;
	case S_IFREG:
		error = cpio_regular(path, ce, cl);
		break;
	case S_IFLNK:
		error = cpio_symlink(path, ce);
		break;
	case S_IFCHR:
	case S_IFBLK:
	case S_IFIFO:
	case S_IFSOCK:
		error = cpio_node(path, ce);
		break;
	default:
		error = EINVAL;
		what = "unknown file type";
		goto out;
	}
	/* The owner before the mode: chown clears set-user-ID bits. */
	if (error == 0)
		error = (int)-sc(SYS_lchown, (long)path, (long)ce->ce_uid,
		    (long)ce->ce_gid, 0, 0);
	if (error == 0 && type != S_IFLNK)
		error = (int)-sc(SYS_chmod, (long)path,
		    (long)(ce->ce_mode & 07777), 0, 0, 0);
	if (error == 0 && type != S_IFDIR)
		error = cpio_times(path, ce);
out:
	if (error != 0) {
		ent_where(m, ce);
		if (what != (const char *)0) {
			msg_puts(m, what);
			if (type != S_IFDIR && type != S_IFREG &&
			    type != S_IFLNK && error == EINVAL) {
				msg_puts(m, " (mode ");
				msg_puto(m, ce->ce_mode);
				msg_puts(m, ")");
			}
		} else
			msg_puterr(m, error);
	}
	return error;
}

int
boot_cpio_unpack(const void *buf, unsigned long len, char *err,
    unsigned long errlen)
{
	static struct cpio_links links;
	const unsigned char *b = buf;
	struct cpio_ent ce;
	unsigned long off, next;
	char *path = bp_path;
	struct msg m;
	int error, pass;

	msg_init(&m, err, errlen);
	links.cl_n = 0;
	/*
	 * Pass 0 checks every header before anything is made; pass 1 makes
	 * the files; pass 2 sets the directories' times.
	 */
	for (pass = 0; pass < 3; pass++) {
		for (off = 0;; off = next) {
			error = cpio_header(b, len, off, &ce, &next, &m);
			if (error != 0)
				return error;
			if (bp_streq(ce.ce_name, "TRAILER!!!"))
				break;
			if (pass == 1)
				error = cpio_entry(&ce, &links, &m);
			else if (pass == 2 && (ce.ce_mode & S_IFMT) == S_IFDIR &&
			    cpio_path(ce.ce_name, path) == 0 &&
			    (error = cpio_times(path, &ce)) != 0) {
				ent_where(&m, &ce);
				msg_puterr(&m, error);
			}
			if (error != 0)
				return error;
		}
	}
	return 0;
}
