/*
 * pith run and pith bake: an unmodified static Linux program on the
 * bare-metal kernel (platform/metal, issue 5), under QEMU or baked into a
 * bootable image.  docs/run.md is the user's side; the kernel's side of
 * the contract is platform/metal/bootargs.c.
 *
 * pith run checks that the program is a static x86-64 ELF, writes the
 * kernel command line (options, then `--` and argv, each word escaped),
 * packs --dir into a newc cpio archive, and starts qemu-system-x86_64
 * with the kernel (-kernel), the program and the archive as multiboot
 * modules (-initrd), COM1 on the terminal and COM2 into a file.  The
 * kernel's last act is one line on COM2 -- "exit N", "signal N",
 * "panic" or "error" -- which becomes pith run's exit status: N, 128+N,
 * or 125 with a message.  125 is also every failure of pith run itself,
 * as with env(1) and docker run.
 *
 * pith bake appends the same three things to a copy of the kernel image
 * instead: a struct boot_bake header and the blobs, placed in the file
 * right where the multiboot loader stops reading, with the multiboot
 * header's load_end_addr and the last PT_LOAD stretched over them, so
 * that any multiboot or ELF loader brings them in at the first page past
 * the kernel's _end.  The sections after that point move down by a
 * multiple of the page size; three section headers (.pith.app,
 * .pith.cpio, .pith.cmdline) name the blobs for readelf.  --iso wraps the
 * result in a GRUB rescue image (grub-mkrescue).
 *
 * Temporary files live in one mkdtemp directory, removed on every exit;
 * SIGINT and SIGTERM (which main.c turns into `interrupted`) and
 * --timeout end QEMU.
 */
#include <dirent.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <linux/kvm.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>

#include "pith_tool.h"
#include "../../platform/metal/bootparse.h"

#ifndef PITH_LIBDIR
#define PITH_LIBDIR "/usr/local/lib"
#endif

#define KERNEL_NAME	"pith-kernel.elf"
#define QEMU		"qemu-system-x86_64"
#define RUN_FAIL	125	/* pith run itself, or the kernel, failed */

struct runopts {
	const char *kernel;
	const char *disk;
	const char *mem;
	const char *dir;
	const char *out;
	char **env;
	int nenv;
	char **mounts;
	int nmounts;
	int gdb;
	int kvm;		/* -1: if usable, 0: never, 1: required */
	long timeout;		/* seconds, 0: none */
	bool iso;
	char **argv;		/* PROGRAM ARGS..., NULL-terminated */
};

/* The temporary directory and what is in it, removed by run_cleanup. */
static char run_tmp[PATH_MAX];
/* The exit status of a failure: 125 for run (the program's are 0-255), 1 for bake. */
static int run_failstatus = RUN_FAIL;
static pid_t run_qemu = -1;

static void
run_cleanup(void)
{
	char cmd[PATH_MAX + 16];
	DIR *d;
	struct dirent *de;
	char p[PATH_MAX * 2];

	if (run_qemu > 0) {
		kill(run_qemu, SIGKILL);
		waitpid(run_qemu, NULL, 0);
		run_qemu = -1;
	}
	if (run_tmp[0] == '\0')
		return;
	/* Two levels at most: files, and the ISO tree of pith bake --iso. */
	snprintf(cmd, sizeof(cmd), "%s", run_tmp);
	d = opendir(run_tmp);
	while (d != NULL && (de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		snprintf(p, sizeof(p), "%s/%s", run_tmp, de->d_name);
		if (unlink(p) != 0 && errno == EISDIR) {
			pid_t pid = fork();

			if (pid == 0) {
				execlp("rm", "rm", "-rf", "--", p, (char *)NULL);
				_exit(127);
			}
			if (pid > 0)
				waitpid(pid, NULL, 0);
		}
	}
	if (d != NULL)
		closedir(d);
	rmdir(cmd);
	run_tmp[0] = '\0';
}

static void __attribute__((noreturn))
run_exit(int status)
{
	run_cleanup();
	fflush(stdout);
	exit(status);
}

static void __attribute__((noreturn, format(printf, 2, 3)))
run_fail(const char *cmd, const char *fmt, ...)
{
	char msg[PATH_MAX + 512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	warnx_("%s: %s", cmd, msg);
	run_exit(run_failstatus);
}

static int
run_mktemp(void)
{
	const char *t = getenv("TMPDIR");

	/* QEMU's option syntax takes no ',' in the file names made here. */
	if (t == NULL || *t == '\0' || strchr(t, ',') != NULL)
		t = "/tmp";
	snprintf(run_tmp, sizeof(run_tmp), "%s/pith-run.XXXXXX", t);
	if (mkdtemp(run_tmp) == NULL) {
		run_tmp[0] = '\0';
		return errno;
	}
	return 0;
}

/* --- finding things ------------------------------------------------------ */

static bool
run_try(char *buf, size_t len, const char *dir, const char *name)
{
	int n = snprintf(buf, len, "%s/%s", dir, name);

	return n > 0 && (size_t)n < len && access(buf, R_OK) == 0;
}

/*
 * The kernel image: --kernel, $PITH_KERNEL, the build tree next to this
 * binary (build/pith -> build/metal/), an install (bin/../lib/pith/),
 * then LIBDIR/pith.
 */
static void
run_findkernel(const char *cmd, const struct runopts *o, char *buf,
    size_t len)
{
	const char *env = getenv("PITH_KERNEL");
	char self[PATH_MAX], *slash;
	ssize_t n;

	if (o->kernel != NULL || (env != NULL && *env != '\0')) {
		const char *k = o->kernel != NULL ? o->kernel : env;

		if (access(k, R_OK) != 0)
			run_fail(cmd, "kernel %s: %s", k, strerror(errno));
		snprintf(buf, len, "%s", k);
		return;
	}
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n > 0) {
		self[n] = '\0';
		slash = strrchr(self, '/');
		if (slash != NULL) {
			*slash = '\0';
			if (run_try(buf, len, self, "metal/" KERNEL_NAME) ||
			    run_try(buf, len, self, "../lib/pith/" KERNEL_NAME))
				return;
		}
	}
	if (run_try(buf, len, PITH_LIBDIR "/pith", KERNEL_NAME))
		return;
	run_fail(cmd, "no kernel image: build it with 'make metal', or give "
	    "--kernel FILE or PITH_KERNEL (looked next to pith and in %s/pith)",
	    PITH_LIBDIR);
}

/*
 * A static x86-64 Linux executable, or a clear reason why not.  Read
 * with pread at the offsets the header gives, every one checked.
 */
static void
run_checkprog(const char *cmd, const char *path)
{
	Elf64_Ehdr eh;
	Elf64_Phdr ph;
	struct stat st;
	int fd, i;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		run_fail(cmd, "%s: %s", path, strerror(errno));
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		run_fail(cmd, "%s: not a regular file", path);
	}
	if (pread(fd, &eh, sizeof(eh), 0) != (ssize_t)sizeof(eh) ||
	    memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0) {
		close(fd);
		run_fail(cmd, "%s: not an ELF executable", path);
	}
	if (eh.e_ident[EI_CLASS] != ELFCLASS64 ||
	    eh.e_ident[EI_DATA] != ELFDATA2LSB || eh.e_machine != EM_X86_64) {
		close(fd);
		run_fail(cmd, "%s: not an x86-64 program (ELF class %d, "
		    "machine %d)", path, eh.e_ident[EI_CLASS], eh.e_machine);
	}
	if (eh.e_type != ET_EXEC && eh.e_type != ET_DYN) {
		close(fd);
		run_fail(cmd, "%s: not an executable (ELF type %d)", path,
		    eh.e_type);
	}
	if (eh.e_phentsize != sizeof(ph) || eh.e_phnum == 0) {
		close(fd);
		run_fail(cmd, "%s: no program headers", path);
	}
	for (i = 0; i < eh.e_phnum; i++) {
		if (pread(fd, &ph, sizeof(ph), (off_t)(eh.e_phoff +
		    (Elf64_Off)i * sizeof(ph))) != (ssize_t)sizeof(ph)) {
			close(fd);
			run_fail(cmd, "%s: truncated program headers", path);
		}
		if (ph.p_type == PT_INTERP) {
			close(fd);
			run_fail(cmd, "%s is dynamically linked (it needs an "
			    "interpreter); Pith runs static programs only: "
			    "link it with -static (e.g. musl-gcc -static)",
			    path);
		}
	}
	close(fd);
}

/* --- the command line ------------------------------------------------------ */

struct sbuf {
	char *s;
	size_t len, cap;
};

static void
sb_putc(struct sbuf *b, char c)
{
	if (b->len + 2 > b->cap) {
		b->cap = b->cap ? b->cap * 2 : 256;
		b->s = realloc(b->s, b->cap);
		if (b->s == NULL) {
			warnx_("%s", strerror(ENOMEM));
			run_exit(run_failstatus);
		}
	}
	b->s[b->len++] = c;
	b->s[b->len] = '\0';
}

static void
sb_puts(struct sbuf *b, const char *s)
{
	while (*s != '\0')
		sb_putc(b, *s++);
}

/* One word: `\`, space and bytes outside 0x21-0x7e as \xHH. */
static void
sb_word(struct sbuf *b, const char *w)
{
	const unsigned char *p = (const unsigned char *)w;

	if (b->len > 0)
		sb_putc(b, ' ');
	for (; *p != '\0'; p++) {
		if (*p == '\\' || *p < 0x21 || *p > 0x7e) {
			sb_puts(b, "\\x");
			sb_putc(b, "0123456789abcdef"[*p >> 4]);
			sb_putc(b, "0123456789abcdef"[*p & 15]);
		} else
			sb_putc(b, (char)*p);
	}
}

static char *
run_cmdline(const struct runopts *o)
{
	struct sbuf b = { NULL, 0, 0 };
	char opt[PATH_MAX + 16];
	int i;

	for (i = 0; i < o->nenv; i++) {
		snprintf(opt, sizeof(opt), "env=%s", o->env[i]);
		sb_word(&b, opt);
	}
	for (i = 0; i < o->nmounts; i++) {
		snprintf(opt, sizeof(opt), "mount=%s", o->mounts[i]);
		sb_word(&b, opt);
	}
	sb_word(&b, "--");
	for (i = 0; o->argv[i] != NULL; i++)
		sb_word(&b, o->argv[i]);
	return b.s;
}

/* --- the cpio writer ----------------------------------------------------- */

struct cpio_out {
	FILE *f;
	const char *path;
	unsigned long ino;
	unsigned long long size;
};

static int
cpio_pad(struct cpio_out *c)
{
	static const char zero[4];
	size_t n = (size_t)((4 - c->size % 4) % 4);

	if (n > 0 && fwrite(zero, 1, n, c->f) != n)
		return errno ? errno : EIO;
	c->size += n;
	return 0;
}

static int
cpio_hdr(struct cpio_out *c, const char *name, mode_t mode, time_t mtime,
    unsigned long long fsize, dev_t rdev)
{
	size_t nlen = strlen(name) + 1;
	int n;

	if (fsize > 0xffffffffull)
		return EFBIG;
	n = fprintf(c->f, "070701%08lX%08X%08X%08X%08X%08lX%08llX%08X%08X"
	    "%08X%08X%08zX%08X", c->ino++, (unsigned)mode, 0u, 0u,
	    S_ISDIR(mode) ? 2u : 1u, (unsigned long)(mtime < 0 ? 0 : mtime),
	    fsize, 0u, 0u, major(rdev), minor(rdev), nlen, 0u);
	if (n != 110 || fwrite(name, 1, nlen, c->f) != nlen)
		return errno ? errno : EIO;
	c->size += 110 + nlen;
	return cpio_pad(c);
}

static int
cpio_copy(struct cpio_out *c, const char *host, unsigned long long size)
{
	char buf[65536];
	unsigned long long left = size;
	ssize_t n;
	int fd, error = 0;

	fd = open(host, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return errno;
	while (left > 0) {
		n = read(fd, buf, left < sizeof(buf) ? left : sizeof(buf));
		if (n <= 0) {
			error = n < 0 ? errno : EIO;	/* it shrank */
			break;
		}
		if (fwrite(buf, 1, (size_t)n, c->f) != (size_t)n) {
			error = errno ? errno : EIO;
			break;
		}
		left -= (unsigned long long)n;
	}
	close(fd);
	c->size += size - left;
	return error ? error : cpio_pad(c);
}

static int
dirent_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/*
 * Everything under host/ as name/...: directories first so that the
 * unpacker meets a directory before its contents; owners are root's (the
 * program runs as root, whoever ran pith); hard links become copies.
 */
static int
cpio_tree(struct cpio_out *c, const char *host, const char *name)
{
	struct namelist nl = { NULL, 0 };
	char hp[PATH_MAX], np[PATH_MAX], target[PATH_MAX];
	struct dirent *de;
	struct stat st;
	size_t i;
	ssize_t n;
	DIR *d;
	int error = 0;

	d = opendir(host);
	if (d == NULL)
		return errno;
	while ((de = readdir(d)) != NULL) {
		char **nn;

		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		nn = realloc(nl.names, (nl.n + 1) * sizeof(*nn));
		if (nn == NULL || (nn[nl.n] = strdup(de->d_name)) == NULL) {
			error = ENOMEM;
			if (nn != NULL)
				nl.names = nn;
			break;
		}
		nl.names = nn;
		nl.n++;
	}
	closedir(d);
	if (nl.n > 0)
		qsort(nl.names, nl.n, sizeof(*nl.names), dirent_cmp);
	for (i = 0; i < nl.n && error == 0; i++) {
		if (interrupted) {
			error = EINTR;
			break;
		}
		if ((size_t)snprintf(hp, sizeof(hp), "%s/%s", host,
		    nl.names[i]) >= sizeof(hp) ||
		    (size_t)snprintf(np, sizeof(np), "%s%s%s", name,
		    *name ? "/" : "", nl.names[i]) >= sizeof(np)) {
			error = ENAMETOOLONG;
			break;
		}
		c->path = hp;
		if (lstat(hp, &st) != 0) {
			error = errno;
			break;
		}
		if (S_ISDIR(st.st_mode)) {
			error = cpio_hdr(c, np, st.st_mode, st.st_mtime, 0, 0);
			if (error == 0)
				error = cpio_tree(c, hp, np);
		} else if (S_ISREG(st.st_mode)) {
			error = cpio_hdr(c, np, st.st_mode, st.st_mtime,
			    (unsigned long long)st.st_size, 0);
			if (error == 0)
				error = cpio_copy(c, hp,
				    (unsigned long long)st.st_size);
		} else if (S_ISLNK(st.st_mode)) {
			n = readlink(hp, target, sizeof(target) - 1);
			if (n < 0) {
				error = errno;
				break;
			}
			error = cpio_hdr(c, np, st.st_mode, st.st_mtime,
			    (unsigned long long)n, 0);
			if (error == 0 && fwrite(target, 1, (size_t)n, c->f) !=
			    (size_t)n)
				error = errno ? errno : EIO;
			c->size += (unsigned long long)n;
			if (error == 0)
				error = cpio_pad(c);
		} else {
			error = cpio_hdr(c, np, st.st_mode, st.st_mtime, 0,
			    st.st_rdev);
		}
	}
	if (error == 0)
		c->path = NULL;
	for (i = 0; i < nl.n; i++)
		free(nl.names[i]);
	free(nl.names);
	return error;
}

/* Write the archive of dir into out; a message and exit on failure. */
static void
run_cpio(const char *cmd, const char *dir, const char *out)
{
	struct cpio_out c = { NULL, NULL, 1, 0 };
	struct stat st;
	int error;

	if (stat(dir, &st) != 0)
		run_fail(cmd, "--dir %s: %s", dir, strerror(errno));
	if (!S_ISDIR(st.st_mode))
		run_fail(cmd, "--dir %s: not a directory", dir);
	c.f = fopen(out, "wbe");
	if (c.f == NULL)
		run_fail(cmd, "%s: %s", out, strerror(errno));
	error = cpio_tree(&c, dir, "");
	if (error == 0)
		error = cpio_hdr(&c, "TRAILER!!!", 0, 0, 0, 0);
	if (fclose(c.f) != 0 && error == 0)
		error = errno;
	if (error != 0)
		run_fail(cmd, "--dir %s: %s", c.path != NULL ? c.path : dir,
		    strerror(error));
}

/* --- options ------------------------------------------------------------- */

static bool
mount_spec_ok(const char *s)
{
	const char *a = strchr(s, ':'), *b, *e;

	if (a == NULL || a == s || a[1] != '/')
		return false;
	b = strchr(a + 1, ':');
	if (b == NULL || b[1] == '\0' || b[1] == ':')
		return false;
	e = strchr(b + 1, ':');
	return e == NULL || strcmp(e, ":ro") == 0 || strcmp(e, ":rw") == 0;
}

static int
run_parse(const char *cmd, bool bake, int argc, char **argv,
    struct runopts *o)
{
	static const struct option opts[] = {
		{ "kernel", required_argument, NULL, 'k' },
		{ "disk", required_argument, NULL, 'd' },
		{ "mem", required_argument, NULL, 'm' },
		{ "dir", required_argument, NULL, 'C' },
		{ "env", required_argument, NULL, 'e' },
		{ "mount", required_argument, NULL, 'M' },
		{ "gdb", no_argument, NULL, 'g' },
		{ "kvm", no_argument, NULL, 'K' },
		{ "no-kvm", no_argument, NULL, 'N' },
		{ "timeout", required_argument, NULL, 't' },
		{ "iso", no_argument, NULL, 'I' },
		{ "output", required_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	char *end;
	int c;

	memset(o, 0, sizeof(*o));
	o->kvm = -1;
	o->mem = "64M";
	o->env = calloc((size_t)argc + 1, sizeof(char *));
	o->mounts = calloc((size_t)argc + 1, sizeof(char *));
	if (o->env == NULL || o->mounts == NULL)
		return usage_error(cmd, strerror(ENOMEM));
	while ((c = getopt_long(argc, argv, "+k:d:m:C:e:M:o:", opts, NULL)) !=
	    -1) {
		if (c == 'h') {
			command_help(cmd);
			exit(0);
		}
		/* Options that only one of the two commands takes. */
		if (bake ? strchr("dmgKNt", c) != NULL : strchr("Io", c) != NULL)
			return usage_error(cmd, "option not valid here");
		switch (c) {
		case 'k':
			o->kernel = optarg;
			break;
		case 'd':
			o->disk = optarg;
			break;
		case 'm':
			o->mem = optarg;
			if (strspn(optarg, "0123456789") == 0 ||
			    strspn(optarg, "0123456789") + 1 < strlen(optarg) ||
			    strchr("0123456789KMGkmg", optarg[strlen(optarg) -
			    1]) == NULL)
				return usage_error(cmd, "--mem wants a size "
				    "such as 64M or 1G");
			break;
		case 'C':
			o->dir = optarg;
			break;
		case 'e':
			if (strchr(optarg, '=') == NULL || optarg[0] == '=')
				return usage_error(cmd,
				    "--env wants NAME=VALUE");
			o->env[o->nenv++] = optarg;
			break;
		case 'M':
			if (!mount_spec_ok(optarg))
				return usage_error(cmd, "--mount wants "
				    "SOURCE:/DIR:FSTYPE[:ro], e.g. "
				    "vda:/mnt:ext2");
			o->mounts[o->nmounts++] = optarg;
			break;
		case 'g':
			o->gdb = 1;
			break;
		case 'K':
			o->kvm = 1;
			break;
		case 'N':
			o->kvm = 0;
			break;
		case 't':
			o->timeout = strtol(optarg, &end, 10);
			if (*optarg == '\0' || *end != '\0' || o->timeout <= 0)
				return usage_error(cmd, "--timeout wants whole "
				    "seconds > 0");
			break;
		case 'I':
			o->iso = true;
			break;
		case 'o':
			o->out = optarg;
			break;
		default:
			return usage_error(cmd, NULL);
		}
	}
	if (optind >= argc)
		return usage_error(cmd, "no program given");
	if (bake && o->out == NULL)
		return usage_error(cmd, "no output file: give -o OUT");
	o->argv = argv + optind;
	return 0;
}

/* --- pith run ------------------------------------------------------------ */

/*
 * The probe behind kvm_usable, in a child: a one-page guest that runs a
 * single hlt in real mode must come back with KVM_EXIT_HLT.  Opening
 * /dev/kvm is not enough: it opens where virtualization is off in the
 * firmware or nested without support, and QEMU would then fail or hang.
 * Returns 0 if it worked, else an errno value (the child's exit status).
 */
static int
kvm_probe(const char *dev)
{
	struct kvm_userspace_memory_region reg;
	struct kvm_sregs sr;
	struct kvm_regs r;
	struct kvm_run *run;
	unsigned char *mem;
	int kvm, vm, cpu;
	long sz;

	kvm = open(dev, O_RDWR | O_CLOEXEC);
	if (kvm < 0)
		return errno;
	if (ioctl(kvm, KVM_GET_API_VERSION, 0) != KVM_API_VERSION)
		return errno != 0 ? errno : ENODEV;
	vm = ioctl(kvm, KVM_CREATE_VM, 0);
	mem = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
	    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (vm < 0 || mem == MAP_FAILED)
		return errno;
	mem[0] = 0xf4;		/* hlt */
	memset(&reg, 0, sizeof(reg));
	reg.guest_phys_addr = 0x1000;
	reg.memory_size = 4096;
	reg.userspace_addr = (uintptr_t)mem;
	if (ioctl(vm, KVM_SET_USER_MEMORY_REGION, &reg) != 0 ||
	    (cpu = ioctl(vm, KVM_CREATE_VCPU, 0)) < 0 ||
	    (sz = ioctl(kvm, KVM_GET_VCPU_MMAP_SIZE, 0)) <= 0)
		return errno;
	run = mmap(NULL, (size_t)sz, PROT_READ | PROT_WRITE, MAP_SHARED, cpu,
	    0);
	if (run == MAP_FAILED || ioctl(cpu, KVM_GET_SREGS, &sr) != 0)
		return errno;
	sr.cs.base = 0;
	sr.cs.selector = 0;
	memset(&r, 0, sizeof(r));
	r.rip = 0x1000;
	r.rflags = 2;
	if (ioctl(cpu, KVM_SET_SREGS, &sr) != 0 ||
	    ioctl(cpu, KVM_SET_REGS, &r) != 0 || ioctl(cpu, KVM_RUN, 0) != 0)
		return errno;
	return run->exit_reason == KVM_EXIT_HLT ? 0 : ENODEV;
}

/*
 * The KVM device: /dev/kvm, or $PITH_KVM_DEVICE (for the tests, which
 * point it at /dev/null to see the fallback on any machine).
 */
static const char *
kvm_device(void)
{
	const char *dev = getenv("PITH_KVM_DEVICE");

	return dev != NULL && *dev != '\0' ? dev : "/dev/kvm";
}

/*
 * The second probe: the kernel itself, booted under -accel kvm with a
 * boot option it refuses, must reach its argument check and leave by
 * the debug-exit port (QEMU's status is then odd and above 1) within
 * two seconds.  Nested KVM can run the one-instruction guest above and
 * still stop a real boot ("KVM internal error") or hang in the firmware.
 */
static int
kvm_boot_probe(const char *kernel)
{
	const char *qa[] = {
		QEMU, "-display", "none", "-vga", "none", "-monitor", "none",
		"-serial", "null", "-nic", "none", "-no-reboot", "-m", "16M",
		"-device", "isa-debug-exit,iobase=0xf4,iosize=0x04",
		"-accel", "kvm", "-cpu", "host", "-kernel", kernel,
		"-append", "--pith-kvm-probe", NULL,
	};
	struct timespec tick = { 0, 20 * 1000 * 1000 };
	pid_t pid;
	int st, i, fd;

	pid = fork();
	if (pid < 0)
		return errno;
	if (pid == 0) {
		if ((fd = open("/dev/null", O_RDWR)) >= 0) {
			(void)dup2(fd, 0);
			(void)dup2(fd, 1);
			(void)dup2(fd, 2);
		}
		execvp(QEMU, (char *const *)qa);
		_exit(127);
	}
	for (i = 0; i < 100; i++) {
		if (waitpid(pid, &st, WNOHANG) == pid)
			return WIFEXITED(st) && (WEXITSTATUS(st) & 1) &&
			    WEXITSTATUS(st) > 1 ? 0 : ENODEV;
		(void)nanosleep(&tick, NULL);
	}
	(void)kill(pid, SIGKILL);
	(void)waitpid(pid, &st, 0);
	return ETIMEDOUT;
}

/* Why kvm_usable said no, for the messages. */
static const char *kvm_why = "";

/*
 * Does KVM run this kernel here?  If not, kvm_why says why (errno is
 * ENOENT when there is no device at all).  Both probes cost a fraction
 * of a second, and only where the device opens.
 */
static bool
kvm_usable(const char *kernel)
{
	const char *dev = kvm_device();
	pid_t pid;
	int st, error;

	if (access(dev, R_OK | W_OK) != 0) {
		kvm_why = strerror(errno);
		return false;
	}
	pid = fork();
	if (pid == 0) {
		alarm(2);
		_exit(kvm_probe(dev) & 0xff);
	}
	if (pid < 0 || waitpid(pid, &st, 0) != pid) {
		kvm_why = "the probe did not run";
		errno = ECHILD;
		return false;
	}
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		errno = WIFEXITED(st) ? WEXITSTATUS(st) : ETIMEDOUT;
		kvm_why = strerror(errno);
		return false;
	}
	if ((error = kvm_boot_probe(kernel)) != 0) {
		errno = error;
		kvm_why = error == ETIMEDOUT ?
		    "a test boot of the kernel did not finish in 2 s" :
		    "a test boot of the kernel failed";
		return false;
	}
	return true;
}

/* Is there an executable named prog on $PATH? */
static bool
on_path(const char *prog)
{
	const char *path = getenv("PATH");
	char buf[PATH_MAX];
	const char *p, *e;

	if (path == NULL)
		path = "/usr/local/bin:/usr/bin:/bin";
	for (p = path; *p != '\0'; p = *e ? e + 1 : e) {
		e = strchr(p, ':');
		if (e == NULL)
			e = p + strlen(p);
		if ((size_t)snprintf(buf, sizeof(buf), "%.*s/%s",
		    (int)(e - p), p, prog) < sizeof(buf) &&
		    access(buf, X_OK) == 0)
			return true;
	}
	return false;
}

static void
on_alarm(int sig)
{
	(void)sig;
	interrupted = 2;
}

/* The status line the kernel left on COM2; the exit status it means. */
static int
run_status(const char *cmd, const char *file, int qst, bool timedout)
{
	char line[64] = "";
	FILE *f = fopen(file, "re");
	int n;

	if (f != NULL) {
		if (fgets(line, sizeof(line), f) == NULL)
			line[0] = '\0';
		fclose(f);
	}
	line[strcspn(line, "\r\n")] = '\0';
	if (sscanf(line, "exit %d", &n) == 1 && n >= 0 && n <= 255)
		return n;
	if (sscanf(line, "signal %d", &n) == 1 && n > 0 && n < 128) {
		warnx_("%s: the program was killed by signal %d (%s)", cmd, n,
		    strsignal(n));
		return 128 + n;
	}
	if (strcmp(line, "panic") == 0) {
		warnx_("kernel panic");
		return RUN_FAIL;
	}
	if (strcmp(line, "error") == 0) {
		warnx_("%s: the kernel refused its boot arguments (its "
		    "message is above)", cmd);
		return RUN_FAIL;
	}
	if (timedout)
		warnx_("%s: timed out; QEMU stopped", cmd);
	else if (interrupted)
		warnx_("%s: interrupted; QEMU stopped", cmd);
	else if (WIFEXITED(qst))
		warnx_("%s: QEMU ended (status %d) without a status from the "
		    "kernel", cmd, WEXITSTATUS(qst));
	else
		warnx_("%s: QEMU was killed by signal %d without a status "
		    "from the kernel", cmd, WTERMSIG(qst));
	return timedout ? 124 : RUN_FAIL;
}

/* What one QEMU run is given: file names in the temporary directory. */
struct runvm {
	char kernel[PATH_MAX];
	char prog[PATH_MAX + 8];	/* a symbolic link to PROGRAM */
	char cpio[PATH_MAX + 16];
	char initrd[2 * PATH_MAX + 32];
	char status[PATH_MAX + 16];	/* COM2 goes here */
	char serial2[PATH_MAX + 32];
	char drive[PATH_MAX + 64];
	char *cmdline;
	bool kvm;
};

/* Check the host side, make the temporary files; exits on failure. */
static void
run_prepare(const char *cmd, struct runopts *o, struct runvm *vm)
{
	char abs[PATH_MAX];
	int error;

	run_checkprog(cmd, o->argv[0]);
	run_findkernel(cmd, o, vm->kernel, sizeof(vm->kernel));
	if (o->disk != NULL && access(o->disk, R_OK | W_OK) != 0)
		run_fail(cmd, "--disk %s: %s", o->disk, strerror(errno));
	if (o->disk != NULL && strchr(o->disk, ',') != NULL)
		run_fail(cmd, "--disk %s: QEMU cannot take a ',' in a file "
		    "name", o->disk);
	if (!on_path(QEMU))
		run_fail(cmd, "%s not found (Debian: apt-get install "
		    "qemu-system-x86)", QEMU);
	if (o->kvm == -1 && getenv("PITH_KVM") != NULL)
		o->kvm = strcmp(getenv("PITH_KVM"), "0") != 0;
	if (o->kvm == 1 && !kvm_usable(vm->kernel))
		run_fail(cmd, "--kvm: KVM does not work here (%s: %s)",
		    kvm_device(), kvm_why);
	vm->kvm = o->kvm == 1 || (o->kvm == -1 && kvm_usable(vm->kernel));
	/* A device that is there but fails: say so once, then emulate. */
	if (o->kvm == -1 && !vm->kvm && errno != ENOENT)
		fprintf(stderr, "%s: %s: KVM not usable (%s: %s); using "
		    "software emulation (TCG)\n", progname, cmd, kvm_device(),
		    kvm_why);
	if ((error = run_mktemp()) != 0)
		run_fail(cmd, "temporary directory: %s", strerror(error));
	/* QEMU splits -initrd at commas: the program goes by a safe name. */
	snprintf(vm->prog, sizeof(vm->prog), "%s/prog", run_tmp);
	if (realpath(o->argv[0], abs) == NULL || symlink(abs, vm->prog) != 0)
		run_fail(cmd, "%s: %s", o->argv[0], strerror(errno));
	snprintf(vm->initrd, sizeof(vm->initrd), "%s", vm->prog);
	if (o->dir != NULL) {
		snprintf(vm->cpio, sizeof(vm->cpio), "%s/root.cpio", run_tmp);
		run_cpio(cmd, o->dir, vm->cpio);
		snprintf(vm->initrd, sizeof(vm->initrd), "%s,%s", vm->prog,
		    vm->cpio);
	}
	snprintf(vm->status, sizeof(vm->status), "%s/status", run_tmp);
	snprintf(vm->serial2, sizeof(vm->serial2), "file:%s", vm->status);
	if (o->disk != NULL)
		snprintf(vm->drive, sizeof(vm->drive),
		    "file=%s,if=virtio,format=raw", o->disk);
	vm->cmdline = run_cmdline(o);
}

/* QEMU's argument vector, NULL-terminated, in qa (room for 48). */
static void
run_argv(const struct runopts *o, const struct runvm *vm, const char **qa)
{
	static const char *const fixed[] = {
		"-display", "none", "-vga", "none", "-monitor", "none",
		"-serial", "stdio",		/* COM1: the terminal */
		"-nic", "none",			/* and no option ROM to load */
		"-no-reboot", "-device",
		"isa-debug-exit,iobase=0xf4,iosize=0x04",
	};
	size_t i;
	int n = 0;

	qa[n++] = QEMU;
	qa[n++] = "-kernel";
	qa[n++] = vm->kernel;
	qa[n++] = "-initrd";
	qa[n++] = vm->initrd;
	qa[n++] = "-append";
	qa[n++] = vm->cmdline;
	qa[n++] = "-m";
	qa[n++] = o->mem;
	for (i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
		qa[n++] = fixed[i];
	qa[n++] = "-serial";		/* COM2: the status line */
	qa[n++] = vm->serial2;
	qa[n++] = "-accel";
	qa[n++] = vm->kvm ? "kvm" : "tcg";
	qa[n++] = "-cpu";
	qa[n++] = vm->kvm ? "host" : "max";
	if (o->disk != NULL) {
		qa[n++] = "-drive";
		qa[n++] = vm->drive;
	}
	if (o->gdb) {
		qa[n++] = "-s";
		qa[n++] = "-S";
	}
	qa[n] = NULL;
}

/*
 * Wait for QEMU; on SIGINT/SIGTERM (main.c's handlers only set
 * `interrupted`, so waitpid returns EINTR) or the --timeout alarm, stop
 * it.  Returns its wait status; *timedout says whether the alarm rang.
 */
static int
run_wait(const char *cmd, pid_t pid, long timeout, bool *timedout)
{
	struct sigaction sa;
	int st = 0;

	if (timeout > 0) {
		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = on_alarm;
		sigaction(SIGALRM, &sa, NULL);
		alarm((unsigned)timeout);
	}
	while (waitpid(pid, &st, 0) < 0) {
		if (errno != EINTR)
			run_fail(cmd, "waitpid: %s", strerror(errno));
		if (interrupted) {
			*timedout = interrupted == 2;
			kill(pid, SIGTERM);
			waitpid(pid, &st, 0);
			break;
		}
	}
	alarm(0);
	run_qemu = -1;
	return st;
}

int
cmd_run(int argc, char **argv)
{
	const char *cmd = "run", *qa[48];
	struct runopts o;
	struct runvm vm;
	bool timedout = false;
	int qst, r, i;
	pid_t pid;

	if (run_parse(cmd, false, argc, argv, &o) != 0)
		exit(RUN_FAIL);
	memset(&vm, 0, sizeof(vm));
	run_prepare(cmd, &o, &vm);
	run_argv(&o, &vm, qa);
	if (o.gdb)
		fprintf(stderr, "%s: %s: waiting for gdb on localhost:1234 "
		    "(gdb %s -ex 'target remote :1234')\n", progname, cmd,
		    vm.kernel);
	if (getenv("PITH_RUN_DEBUG") != NULL) {
		for (i = 0; qa[i] != NULL; i++)
			fprintf(stderr, "%s'%s'", i ? " " : "", qa[i]);
		fprintf(stderr, "\n");
	}
	fflush(stdout);
	pid = fork();
	if (pid < 0)
		run_fail(cmd, "fork: %s", strerror(errno));
	if (pid == 0) {
		signal(SIGINT, SIG_DFL);
		signal(SIGTERM, SIG_DFL);
		signal(SIGPIPE, SIG_DFL);
		execvp(QEMU, (char *const *)qa);
		fprintf(stderr, "%s: %s: %s: %s\n", progname, cmd, QEMU,
		    strerror(errno));
		_exit(127);
	}
	run_qemu = pid;
	free(vm.cmdline);
	qst = run_wait(cmd, pid, o.timeout, &timedout);
	if (WIFEXITED(qst) && WEXITSTATUS(qst) == 127 &&
	    access(vm.status, F_OK) != 0)
		run_exit(RUN_FAIL);	/* exec failed, said so */
	r = run_status(cmd, vm.status, qst, timedout);
	if (interrupted == 1 && r == RUN_FAIL)
		r = 130;
	run_exit(r);
}

/* --- pith bake ----------------------------------------------------------- */

static unsigned char *
slurp(const char *cmd, const char *path, size_t *len)
{
	unsigned char *buf;
	struct stat st;
	ssize_t n;
	size_t got = 0;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) != 0)
		run_fail(cmd, "%s: %s", path, strerror(errno));
	buf = malloc((size_t)st.st_size + 1);
	if (buf == NULL)
		run_fail(cmd, "%s: %s", path, strerror(ENOMEM));
	while (got < (size_t)st.st_size) {
		n = read(fd, buf + got, (size_t)st.st_size - got);
		if (n <= 0)
			run_fail(cmd, "%s: %s", path,
			    n < 0 ? strerror(errno) : "file shrank");
		got += (size_t)n;
	}
	close(fd);
	*len = got;
	return buf;
}

/* The multiboot v1 header with the a.out kludge, as boot.S writes it. */
struct mbhdr {
	uint32_t magic, flags, checksum;
	uint32_t header_addr, load_addr, load_end_addr, bss_end_addr;
	uint32_t entry_addr;
};

static bool
in_file(size_t len, uint64_t off, uint64_t size)
{
	return off <= len && size <= len - off;
}

/* The value of symbol name in the image's .symtab, or 0. */
static uint64_t
elf_symbol(const unsigned char *k, size_t len, const Elf64_Ehdr *eh,
    const char *name)
{
	const Elf64_Shdr *sh = (const Elf64_Shdr *)(k + eh->e_shoff);
	const Elf64_Shdr *str;
	const Elf64_Sym *sym;
	size_t i, j, nsym;

	for (i = 0; i < eh->e_shnum; i++) {
		if (sh[i].sh_type != SHT_SYMTAB || sh[i].sh_link >= eh->e_shnum)
			continue;
		str = &sh[sh[i].sh_link];
		if (!in_file(len, sh[i].sh_offset, sh[i].sh_size) ||
		    !in_file(len, str->sh_offset, str->sh_size))
			continue;
		sym = (const Elf64_Sym *)(k + sh[i].sh_offset);
		nsym = sh[i].sh_size / sizeof(*sym);
		for (j = 0; j < nsym; j++) {
			if (sym[j].st_name >= str->sh_size)
				continue;
			if (strncmp((const char *)k + str->sh_offset +
			    sym[j].st_name, name, str->sh_size -
			    sym[j].st_name) == 0)
				return sym[j].st_value;
		}
	}
	return 0;
}

/* Write all of buf to fd. */
static int
put(int fd, const void *buf, size_t len)
{
	const char *p = buf;
	ssize_t n;

	while (len > 0) {
		n = write(fd, p, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return errno;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static int
put_zero(int fd, size_t len)
{
	static const char zero[4096];
	int error;

	while (len > 0) {
		size_t n = len < sizeof(zero) ? len : sizeof(zero);

		if ((error = put(fd, zero, n)) != 0)
			return error;
		len -= n;
	}
	return 0;
}

#define ALIGN(v, a) (((v) + (a) - 1) / (a) * (a))

/*
 * A baked image being made.  The new file is: the kernel's bytes up to
 * ins (where the multiboot loader stops reading), zero bytes for the
 * kernel's bss, the blob, padding to delta (a multiple of 4096), the rest
 * of the kernel file, the section names (old and new) and the section
 * headers (old, moved, and three new).
 */
struct bake {
	unsigned char *k;		/* the kernel file, headers edited */
	size_t klen;
	Elf64_Ehdr *eh;
	struct mbhdr *mb;
	Elf64_Phdr *last;		/* the highest PT_LOAD */
	uint64_t baddr;			/* the blob's address: _end, page up */
	size_t ins, zero, delta;
	struct boot_bake bb;
	unsigned char *blob;
	size_t bloblen;
	Elf64_Shdr *nsh;		/* the new section headers */
	char *shstr;			/* the new section names */
	size_t shstrlen, newshoff;
};

static const char bake_names[] = ".pith.app\0.pith.cpio\0.pith.cmdline";

/* Read and check the kernel: an x86-64 ELF with a multiboot a.out header. */
static void
bake_kernel(const char *cmd, const char *kpath, struct bake *b)
{
	Elf64_Ehdr *eh;
	Elf64_Phdr *ph;
	struct mbhdr *mb = NULL;
	uint64_t kend, text_off;
	size_t i, mboff = 0;

	b->k = slurp(cmd, kpath, &b->klen);
	eh = b->eh = (Elf64_Ehdr *)b->k;
	if (b->klen < sizeof(*eh) || memcmp(eh->e_ident, ELFMAG, SELFMAG) != 0 ||
	    eh->e_ident[EI_CLASS] != ELFCLASS64 ||
	    eh->e_machine != EM_X86_64 || eh->e_phentsize != sizeof(*ph) ||
	    eh->e_shentsize != sizeof(Elf64_Shdr) ||
	    !in_file(b->klen, eh->e_phoff, (uint64_t)eh->e_phnum * sizeof(*ph)) ||
	    !in_file(b->klen, eh->e_shoff,
	    (uint64_t)eh->e_shnum * sizeof(Elf64_Shdr)) ||
	    eh->e_shstrndx >= eh->e_shnum)
		run_fail(cmd, "kernel %s: not a 64-bit x86-64 ELF image with "
		    "section headers", kpath);
	/* The multiboot header: 4-aligned in the first 8 KiB. */
	for (i = 0; i + sizeof(*mb) <= b->klen && i < 8192; i += 4) {
		struct mbhdr *m = (struct mbhdr *)(b->k + i);

		if (m->magic == 0x1BADB002 &&
		    m->magic + m->flags + m->checksum == 0) {
			mb = m;
			mboff = i;
			break;
		}
	}
	if (mb == NULL || (mb->flags & 0x10000) == 0)
		run_fail(cmd, "kernel %s: no multiboot header with load "
		    "addresses (is it a Pith kernel image?)", kpath);
	kend = elf_symbol(b->k, b->klen, eh, "_end");
	if (kend == 0)
		run_fail(cmd, "kernel %s: no _end symbol (stripped?)", kpath);
	b->mb = mb;
	b->baddr = ALIGN(kend, 4096);
	if (mb->header_addr < mb->load_addr ||
	    mboff < mb->header_addr - mb->load_addr ||
	    mb->load_end_addr < mb->load_addr ||
	    b->baddr < mb->load_end_addr || mb->bss_end_addr > b->baddr)
		run_fail(cmd, "kernel %s: multiboot addresses do not fit the "
		    "file", kpath);
	text_off = mboff - (mb->header_addr - mb->load_addr);
	b->ins = text_off + (mb->load_end_addr - mb->load_addr);
	if (b->ins > b->klen)
		run_fail(cmd, "kernel %s: shorter than its multiboot load "
		    "addresses say", kpath);
	ph = (Elf64_Phdr *)(b->k + eh->e_phoff);
	for (i = 0; i < eh->e_phnum; i++) {
		if (ph[i].p_type != PT_LOAD)
			continue;
		if (ph[i].p_offset + ph[i].p_filesz > b->ins)
			run_fail(cmd, "kernel %s: a segment lies past the "
			    "multiboot load end", kpath);
		if (b->last == NULL || ph[i].p_vaddr > b->last->p_vaddr)
			b->last = &ph[i];
	}
}

/* The header and the three blobs, as the image will find them. */
static void
bake_blob(const char *cmd, struct bake *b, const char *app, const char *cpio,
    const char *cmdline)
{
	struct boot_bake *bb = &b->bb;
	unsigned char *a, *c = NULL;
	size_t alen, clen = 0, cmdlen = strlen(cmdline);

	a = slurp(cmd, app, &alen);
	if (cpio != NULL)
		c = slurp(cmd, cpio, &clen);
	memset(bb, 0, sizeof(*bb));
	memcpy(bb->bb_magic, BOOT_BAKE_MAGIC, 8);
	bb->bb_version = BOOT_BAKE_VERSION;
	bb->bb_hdrlen = sizeof(*bb);
	bb->bb_app_off = ALIGN(sizeof(*bb), 16);
	bb->bb_app_len = alen;
	bb->bb_cpio_off = ALIGN(bb->bb_app_off + alen, 16);
	bb->bb_cpio_len = clen;
	bb->bb_cmd_off = ALIGN(bb->bb_cpio_off + clen, 16);
	bb->bb_cmd_len = cmdlen;
	bb->bb_total = bb->bb_cmd_off + cmdlen + 1;
	bb->bb_sum = boot_bake_sum(bb);
	b->bloblen = (size_t)bb->bb_total;
	if (b->baddr + b->bloblen > 0x40000000ull)
		run_fail(cmd, "the program and files are too big to bake "
		    "(%zu bytes; the image must end below 1 GiB)", b->bloblen);
	b->blob = calloc(1, b->bloblen);
	if (b->blob == NULL)
		run_fail(cmd, "%s", strerror(ENOMEM));
	memcpy(b->blob, bb, sizeof(*bb));
	memcpy(b->blob + bb->bb_app_off, a, alen);
	if (clen > 0)
		memcpy(b->blob + bb->bb_cpio_off, c, clen);
	memcpy(b->blob + bb->bb_cmd_off, cmdline, cmdlen + 1);
	free(a);
	free(c);
	b->zero = (size_t)(b->baddr - b->mb->load_end_addr);
	b->delta = ALIGN(b->zero + b->bloblen, 4096);
}

/*
 * The headers of the new file: the multiboot load range and the last
 * PT_LOAD stretched over the blob, everything after ins moved by delta,
 * three section headers naming the blobs.
 */
static void
bake_headers(const char *cmd, const char *kpath, struct bake *b)
{
	Elf64_Ehdr *eh = b->eh;
	Elf64_Phdr *ph = (Elf64_Phdr *)(b->k + eh->e_phoff);
	Elf64_Shdr *sh = (Elf64_Shdr *)(b->k + eh->e_shoff), *str;
	uint64_t end = b->baddr + b->bloblen;
	const struct boot_bake *bb = &b->bb;
	uint64_t off[3] = { bb->bb_app_off, bb->bb_cpio_off, bb->bb_cmd_off };
	uint64_t sz[3] = { bb->bb_app_len, bb->bb_cpio_len,
	    bb->bb_cmd_len + 1 };
	uint32_t nm[3] = { 0, 10, 21 };	/* in bake_names */
	size_t i;

	b->mb->load_end_addr = (uint32_t)end;
	b->mb->bss_end_addr = (uint32_t)end;
	if (b->last != NULL) {
		b->last->p_filesz = end - b->last->p_vaddr;
		if (b->last->p_memsz < b->last->p_filesz)
			b->last->p_memsz = b->last->p_filesz;
	}
	for (i = 0; i < eh->e_phnum; i++)
		if (&ph[i] != b->last && ph[i].p_offset >= b->ins &&
		    ph[i].p_filesz != 0)
			ph[i].p_offset += b->delta;
	b->nsh = calloc((size_t)eh->e_shnum + 3, sizeof(*b->nsh));
	if (b->nsh == NULL)
		run_fail(cmd, "%s", strerror(ENOMEM));
	memcpy(b->nsh, sh, eh->e_shnum * sizeof(*sh));
	for (i = 0; i < eh->e_shnum; i++)
		if (b->nsh[i].sh_offset >= b->ins &&
		    b->nsh[i].sh_type != SHT_NULL)
			b->nsh[i].sh_offset += b->delta;
	/* The section names, old and new, go to the end of the file. */
	str = &sh[eh->e_shstrndx];
	if (!in_file(b->klen, str->sh_offset, str->sh_size))
		run_fail(cmd, "kernel %s: bad section-name table", kpath);
	b->shstrlen = str->sh_size;
	b->shstr = malloc(b->shstrlen + sizeof(bake_names));
	if (b->shstr == NULL)
		run_fail(cmd, "%s", strerror(ENOMEM));
	memcpy(b->shstr, b->k + str->sh_offset, b->shstrlen);
	memcpy(b->shstr + b->shstrlen, bake_names, sizeof(bake_names));
	b->nsh[eh->e_shstrndx].sh_offset = b->klen + b->delta;
	b->nsh[eh->e_shstrndx].sh_size = b->shstrlen + sizeof(bake_names);
	b->newshoff = ALIGN(b->klen + b->delta + b->shstrlen +
	    sizeof(bake_names), 8);
	for (i = 0; i < 3; i++) {
		Elf64_Shdr *s = &b->nsh[eh->e_shnum + i];

		s->sh_name = (uint32_t)b->shstrlen + nm[i];
		s->sh_type = SHT_PROGBITS;
		s->sh_offset = b->ins + b->zero + off[i];
		s->sh_size = sz[i];
		s->sh_addralign = 1;
	}
	eh->e_shoff = b->newshoff;
	eh->e_shnum += 3;
}

static void
bake_write(const char *cmd, const struct bake *b, const char *out)
{
	size_t names_end = b->klen + b->delta + b->shstrlen +
	    sizeof(bake_names);
	int fd, error;

	fd = open(out, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0755);
	if (fd < 0)
		run_fail(cmd, "%s: %s", out, strerror(errno));
	if ((error = put(fd, b->k, b->ins)) == 0 &&
	    (error = put_zero(fd, b->zero)) == 0 &&
	    (error = put(fd, b->blob, b->bloblen)) == 0 &&
	    (error = put_zero(fd, b->delta - b->zero - b->bloblen)) == 0 &&
	    (error = put(fd, b->k + b->ins, b->klen - b->ins)) == 0 &&
	    (error = put(fd, b->shstr, b->shstrlen +
	    sizeof(bake_names))) == 0 &&
	    (error = put_zero(fd, b->newshoff - names_end)) == 0)
		error = put(fd, b->nsh, (size_t)b->eh->e_shnum *
		    sizeof(*b->nsh));
	if (close(fd) != 0 && error == 0)
		error = errno;
	if (error != 0) {
		unlink(out);
		run_fail(cmd, "%s: %s", out, strerror(error));
	}
}

static void
bake_image(const char *cmd, const char *kpath, const char *app,
    const char *cpio, const char *cmdline, const char *out)
{
	struct bake b;

	memset(&b, 0, sizeof(b));
	bake_kernel(cmd, kpath, &b);
	bake_blob(cmd, &b, app, cpio, cmdline);
	bake_headers(cmd, kpath, &b);
	bake_write(cmd, &b, out);
	free(b.k);
	free(b.blob);
	free(b.nsh);
	free(b.shstr);
}

/* grub-mkrescue around the baked image: BIOS (and EFI if installed). */
static void
bake_iso(const char *cmd, const char *elf, const char *out)
{
	char dir[PATH_MAX + 8], p[PATH_MAX + 64];
	FILE *f;
	pid_t pid;
	int st;

	if (!on_path("grub-mkrescue"))
		run_fail(cmd, "--iso needs grub-mkrescue (Debian: apt-get "
		    "install grub-pc-bin grub-common xorriso mtools)");
	snprintf(dir, sizeof(dir), "%s/iso", run_tmp);
	snprintf(p, sizeof(p), "%s/boot/grub", dir);
	if (mkdir(dir, 0755) != 0 || mkdir((snprintf(p, sizeof(p),
	    "%s/boot", dir), p), 0755) != 0 ||
	    mkdir((snprintf(p, sizeof(p), "%s/boot/grub", dir), p), 0755) != 0)
		run_fail(cmd, "%s: %s", p, strerror(errno));
	snprintf(p, sizeof(p), "%s/boot/grub/grub.cfg", dir);
	f = fopen(p, "we");
	if (f == NULL)
		run_fail(cmd, "%s: %s", p, strerror(errno));
	fprintf(f, "# Written by pith bake --iso.\n"
	    "set timeout=0\nset default=0\n"
	    "menuentry \"Pith application\" {\n"
	    "\tmultiboot /boot/app.elf\n\tboot\n}\n");
	if (fclose(f) != 0)
		run_fail(cmd, "%s: %s", p, strerror(errno));
	snprintf(p, sizeof(p), "%s/boot/app.elf", dir);
	if (rename(elf, p) != 0)
		run_fail(cmd, "%s: %s", p, strerror(errno));
	snprintf(p, sizeof(p), "%s/grub-mkrescue.log", run_tmp);
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		int log = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0600);

		/* grub-mkrescue is chatty on success: shown only on failure. */
		if (log >= 0) {
			dup2(log, 1);
			dup2(log, 2);
		}
		execlp("grub-mkrescue", "grub-mkrescue", "-o", out, dir,
		    (char *)NULL);
		fprintf(stderr, "grub-mkrescue: %s\n", strerror(errno));
		_exit(127);
	}
	if (pid < 0 || waitpid(pid, &st, 0) < 0 || !WIFEXITED(st) ||
	    WEXITSTATUS(st) != 0) {
		char line[512];

		f = fopen(p, "re");
		while (f != NULL && fgets(line, sizeof(line), f) != NULL)
			fputs(line, stderr);
		if (f != NULL)
			fclose(f);
		run_fail(cmd, "grub-mkrescue failed");
	}
}

int
cmd_bake(int argc, char **argv)
{
	const char *cmd = "bake";
	struct runopts o;
	char kernel[PATH_MAX], cpio[PATH_MAX + 16], elf[PATH_MAX + 16];
	char *cmdline;
	int r;

	run_failstatus = 1;
	if ((r = run_parse(cmd, true, argc, argv, &o)) != 0)
		exit(1);
	run_checkprog(cmd, o.argv[0]);
	run_findkernel(cmd, &o, kernel, sizeof(kernel));
	if ((r = run_mktemp()) != 0)
		run_fail(cmd, "temporary directory: %s", strerror(r));
	if (o.dir != NULL) {
		snprintf(cpio, sizeof(cpio), "%s/root.cpio", run_tmp);
		run_cpio(cmd, o.dir, cpio);
	}
	cmdline = run_cmdline(&o);
	if (o.iso) {
		snprintf(elf, sizeof(elf), "%s/app.elf", run_tmp);
		bake_image(cmd, kernel, o.argv[0], o.dir ? cpio : NULL,
		    cmdline, elf);
		bake_iso(cmd, elf, o.out);
	} else
		bake_image(cmd, kernel, o.argv[0], o.dir ? cpio : NULL,
		    cmdline, o.out);
	free(cmdline);
	run_exit(0);
}
