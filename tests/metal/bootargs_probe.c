/*
 * The boot-arguments probe: a stand-in for the application, linked into
 * build/metal/bootargs-probe.elf instead of the self-test, so that `pith
 * run`, `pith bake` and the boot path (platform/metal/bootargs.c) can be
 * checked end to end under QEMU before user mode exists.
 *
 * It boots the kernel, calls metal_bootargs_setup like the real boot path,
 * and prints what it was given on COM1: "probe: argv[N]=[...]" (bytes
 * outside 0x20-0x7e as \xHH), "probe: env[N]=[...]", the program image's
 * size and ELF magic.  Arguments after argv[0] are requests:
 *	cat:PATH	print the file ("probe: cat PATH=[...]")
 *	stat:PATH	print its mode, size and mtime
 *	write:PATH	create PATH holding "probe was here\n"
 * and the machine ends with metal_exit_status: "exit N" with N from
 * env PROBE_EXIT (default 0), or "signal N" with PROBE_SIGNAL.
 */
#include "metal.h"

struct pith_kconfig {
	unsigned ncpus;
	hyp_size_t mem_limit;
	const char *hostname;
	unsigned flags;
};

long pith_kinit(const struct pith_kconfig *cfg);
long pith_syscall6(long nr, long a1, long a2, long a3, long a4, long a5,
    long a6);

#define SYS_read 0
#define SYS_write 1
#define SYS_open 2
#define SYS_close 3
#define SYS_stat 4
#define O_RDONLY 0
#define O_WRONLY 01
#define O_CREAT 0100
#define O_TRUNC 01000

struct pr_stat {
	unsigned long st_dev, st_ino, st_nlink;
	unsigned st_mode, st_uid, st_gid, pad0;
	unsigned long st_rdev;
	long st_size, st_blksize, st_blocks;
	long st_atime, st_atime_ns, st_mtime, st_mtime_ns, st_ctime,
	    st_ctime_ns;
	long reserved[3];
};

static long
sc(long nr, long a1, long a2, long a3)
{
	return pith_syscall6(nr, a1, a2, a3, 0, 0, 0);
}

/*
 * Pointers given to pith_syscall6 must be lower-half addresses (the
 * kernel's copyin checks, as for a program); argv lives wherever the
 * loader put it, so paths are copied here, into the image's data, first.
 */
static char pr_pathbuf[1024];

static const char *
pr_path(const char *s)
{
	unsigned i;

	for (i = 0; i < sizeof(pr_pathbuf) - 1 && s[i] != '\0'; i++)
		pr_pathbuf[i] = s[i];
	pr_pathbuf[i] = '\0';
	return pr_pathbuf;
}

static int
pr_prefix(const char *s, const char *p)
{
	while (*p != '\0')
		if (*s++ != *p++)
			return 0;
	return 1;
}

static void
pr_quoted(const char *s, long n)
{
	char hex[5] = "\\x00";
	long i;

	metal_puts("[");
	for (i = 0; n < 0 ? s[i] != '\0' : i < n; i++) {
		u8 c = (u8)s[i];

		if (c >= 0x20 && c < 0x7f) {
			hyp_console_write(&s[i], 1);
			continue;
		}
		hex[2] = "0123456789abcdef"[c >> 4];
		hex[3] = "0123456789abcdef"[c & 15];
		metal_puts(hex);
	}
	metal_puts("]");
}

static long
pr_num(const char *s)
{
	long v = 0;

	while (*s >= '0' && *s <= '9')
		v = v * 10 + (*s++ - '0');
	return v;
}

static void
pr_cat(const char *path)
{
	static char buf[4096];
	long fd, n;

	metal_puts("probe: cat ");
	metal_puts(path);
	fd = sc(SYS_open, (long)pr_path(path), O_RDONLY, 0);
	n = fd < 0 ? fd : sc(SYS_read, fd, (long)buf, sizeof(buf));
	if (fd >= 0)
		sc(SYS_close, fd, 0, 0);
	if (n < 0) {
		metal_puts(" error ");
		metal_putd(-n);
	} else {
		metal_puts("=");
		pr_quoted(buf, n);
	}
	metal_puts("\n");
}

static void
pr_stat(const char *path)
{
	static struct pr_stat st;
	long r = sc(SYS_stat, (long)pr_path(path), (long)&st, 0);

	metal_puts("probe: stat ");
	metal_puts(path);
	if (r < 0) {
		metal_puts(" error ");
		metal_putd(-r);
	} else {
		metal_puts(" mode=");
		metal_putx(st.st_mode);
		metal_puts(" size=");
		metal_putd(st.st_size);
		metal_puts(" mtime=");
		metal_putd(st.st_mtime);
	}
	metal_puts("\n");
}

static void
pr_write(const char *path)
{
	static const char msg[] = "probe was here\n";
	long fd, r;

	fd = sc(SYS_open, (long)pr_path(path), O_WRONLY | O_CREAT | O_TRUNC,
	    0644);
	r = fd < 0 ? fd : sc(SYS_write, fd, (long)msg, sizeof(msg) - 1);
	if (fd >= 0)
		sc(SYS_close, fd, 0, 0);
	metal_puts("probe: write ");
	metal_puts(path);
	metal_puts(r < 0 ? " error " : " ok ");
	metal_putd(r);
	metal_puts("\n");
}

int
main(void)
{
	struct pith_kconfig cfg = { 1, 48ul << 20, "pith-probe", 0 };
	struct metal_bootargs ba;
	const u8 *elf;
	long status = 0, sig = 0;
	int i;

	if (pith_kinit(&cfg) != 0)
		metal_fatal("pith_kinit failed");
	metal_bootargs_setup(&ba);
	elf = ba.ba_elf;
	metal_puts("probe: program ");
	metal_putd((long)ba.ba_elflen);
	metal_puts(" bytes, ");
	metal_puts(ba.ba_elflen >= 4 && elf[0] == 0x7f && elf[1] == 'E' &&
	    elf[2] == 'L' && elf[3] == 'F' ? "ELF" : "not ELF");
	metal_puts("\n");
	for (i = 0; ba.ba_argv[i] != NULL; i++) {
		metal_puts("probe: argv[");
		metal_putd(i);
		metal_puts("]=");
		pr_quoted(ba.ba_argv[i], -1);
		metal_puts("\n");
	}
	for (i = 0; ba.ba_envp[i] != NULL; i++) {
		metal_puts("probe: env[");
		metal_putd(i);
		metal_puts("]=");
		pr_quoted(ba.ba_envp[i], -1);
		metal_puts("\n");
		if (pr_prefix(ba.ba_envp[i], "PROBE_EXIT="))
			status = pr_num(ba.ba_envp[i] + 11);
		if (pr_prefix(ba.ba_envp[i], "PROBE_SIGNAL="))
			sig = pr_num(ba.ba_envp[i] + 13);
	}
	for (i = 1; ba.ba_argv[i] != NULL; i++) {
		if (pr_prefix(ba.ba_argv[i], "cat:"))
			pr_cat(ba.ba_argv[i] + 4);
		else if (pr_prefix(ba.ba_argv[i], "stat:"))
			pr_stat(ba.ba_argv[i] + 5);
		else if (pr_prefix(ba.ba_argv[i], "write:"))
			pr_write(ba.ba_argv[i] + 6);
	}
	/* No pith_fini: like a real run, the machine just ends. */
	if (sig != 0)
		metal_exit_status(METAL_STATUS_SIGNAL, (int)sig);
	metal_exit_status(METAL_STATUS_EXIT, (int)status);
}
