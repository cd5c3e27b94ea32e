/*
 * Boot arguments, the part that needs no machine: the kernel command-line
 * parser, the newc cpio unpacker and the mount= step.  They reach the
 * kernel only through pith_syscall6, so the same file compiles into the
 * bare-metal image (bootargs.c drives it) and into a hosted test
 * (tests/sys/metal_bootparse_test.c, against libpith).  This header
 * includes nothing: it must fit both a -nostdinc build and a libc one.
 *
 * The command line (docs/run.md): words separated by single spaces; in a
 * word, `\`, space and every byte outside 0x21-0x7e are written \xHH.
 * Words before a lone `--` are options (env=NAME=VALUE,
 * mount=SOURCE:DIR:FSTYPE[:ro|:rw], selftest=WHAT); the words after it are
 * argv, argv[0] included.  A first word without '=' that is not `--` is
 * the boot loader's name for the image (QEMU and GRUB put it there) and
 * is skipped.
 */
#ifndef PITH_METAL_BOOTPARSE_H
#define PITH_METAL_BOOTPARSE_H

#define BOOT_MAXARGS	512
#define BOOT_MAXENV	128
#define BOOT_MAXMOUNTS	16
#define BOOT_ERRLEN	160

struct boot_mount {
	char *bm_source;		/* "vda", or a host path when hosted */
	char *bm_dir;
	char *bm_fstype;
	int bm_rdonly;
};

/*
 * One parsed command line.  Every pointer points into the buffer given to
 * boot_parse, which it decodes in place: the caller keeps that buffer
 * alive as long as the strings are used.
 */
struct boot_cmdline {
	char *bc_argv[BOOT_MAXARGS + 1];	/* NULL-terminated */
	int bc_argc;
	char *bc_envp[BOOT_MAXENV + 1];		/* NULL-terminated */
	int bc_envc;
	struct boot_mount bc_mounts[BOOT_MAXMOUNTS];
	int bc_nmounts;
	const char *bc_selftest;		/* selftest=..., or NULL */
	int bc_dashdash;			/* a lone "--" was seen */
};

/*
 * Parse the NUL-terminated command line in buf, in place.  Returns 0, or
 * EINVAL/E2BIG with a message naming the bad word in err.
 */
int boot_parse(char *buf, struct boot_cmdline *bc, char *err,
    unsigned long errlen);

/*
 * Split a module string ("name arg1 arg2", plain spaces, no escapes) into
 * argv, in place; for programs given without `--` on the command line.
 */
int boot_split_plain(char *buf, struct boot_cmdline *bc, char *err,
    unsigned long errlen);

/*
 * Unpack a newc ("070701", or "070702" with its checksum checked) cpio
 * archive into the kernel's root: regular files, directories, symbolic
 * links, hard links, device nodes and FIFOs, with modes, owners and
 * modification times.  Missing parent directories are made.  Returns 0,
 * or an errno with a message naming the entry in err; a malformed archive
 * is EINVAL and nothing after the bad entry is unpacked.
 */
int boot_cpio_unpack(const void *buf, unsigned long len, char *err,
    unsigned long errlen);

/* mkdir -p with mode for every directory made; 0 or an errno. */
int boot_mkdirp(const char *path, unsigned mode);

/* Perform bc's mount= options in order; 0 or an errno with a message. */
int boot_mount_all(const struct boot_cmdline *bc, char *err,
    unsigned long errlen);

/*
 * A baked image (pith bake, docs/run.md): the program, the cpio archive
 * and the command line appended to the kernel image, loaded with it at
 * the first page boundary after the image's end (its _end symbol).  The
 * header is followed by the three blobs at their offsets; bb_sum makes a
 * stray "PITHBAKE" in memory that was never baked fail the check.
 */
#define BOOT_BAKE_MAGIC		"PITHBAKE"
#define BOOT_BAKE_VERSION	1
struct boot_bake {
	char bb_magic[8];
	unsigned int bb_version;
	unsigned int bb_hdrlen;		/* sizeof(struct boot_bake) */
	unsigned long long bb_total;	/* header and blobs, bytes */
	unsigned long long bb_app_off, bb_app_len;
	unsigned long long bb_cpio_off, bb_cpio_len;	/* len 0: none */
	unsigned long long bb_cmd_off, bb_cmd_len;	/* NUL not counted */
	unsigned long long bb_sum;	/* boot_bake_sum() of the above */
};

/* The check sum of a bake header: every field before bb_sum. */
static inline unsigned long long
boot_bake_sum(const struct boot_bake *bb)
{
	const unsigned long long *f = &bb->bb_total;
	unsigned long long s = 0x5049544842414b45ull ^ bb->bb_version ^
	    ((unsigned long long)bb->bb_hdrlen << 32);
	int i;

	for (i = 0; i < 7; i++)
		s = (s ^ f[i]) * 0x100000001b3ull;
	return s;
}

/* "ENOENT"-style name of a Linux errno, "E?" for one it does not know. */
const char *boot_errname(int error);

#endif
