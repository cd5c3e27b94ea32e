/*
 * pithload: run a statically linked program under `pith exec`, its system
 * calls routed by the shim's rule through Linux's syscall user dispatch.
 *
 *	pithload PATH ARGV0 [ARGS...]	(pith exec runs it; LD_PRELOAD has
 *					 libpithshim.so, so we have the shim)
 *
 * A static program has no libc of ours to interpose, so it is loaded into
 * this process instead: its PT_LOAD segments mapped where they ask (or,
 * static-pie, at a base of ours), a fresh stack with argv, environ and
 * the auxiliary vector the kernel would give it, and a jump to its entry.
 * Just before the jump, PR_SET_SYSCALL_USER_DISPATCH is switched on with
 * the allowed region covering the shared objects' code (ld.so, libc, the
 * shim, the vDSO): our own calls, all made through libc, go to the host
 * as usual; every system call instruction in the program raises SIGSYS
 * instead, and the handler (sud_sigsys) makes the call on the program's
 * behalf by calling the libc function of the same meaning, which the shim
 * interposes: a path under the prefix or a server descriptor goes to the
 * server, the rest to the host from libc's code.
 *
 * The program brings its own thread pointer (arch_prctl ARCH_SET_FS), so
 * the handler swaps ours in while it runs libc code and the program's
 * back before returning; ARCH_SET_FS itself is only recorded.  It gets
 * no share of our heap: brk is emulated in a region reserved after its
 * image.  Its signal handlers get libc's sigreturn trampoline (inside the
 * allowed region) as restorer, and SIGSYS stays ours: sigaction on it is
 * refused and masks lose it.  fork goes through libc's fork, so the
 * client library's atfork handlers give the child its copy of the kernel
 * process (dispatch is not inherited: the child switches it on again); execve goes through the shim's (the kernel process is kept)
 * and a static target is started through pithload again.  Threads
 * (clone with CLONE_VM) are refused with ENOSYS: one thread pointer is
 * swapped, not one per thread.
 *
 * This file is built without the stack protector: the handler starts
 * with the program's thread pointer, where the canary is not ours.
 */
#include <dirent.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <link.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ucontext.h>
#include <unistd.h>
#include <asm/prctl.h>
#include <sys/auxv.h>
#include <sys/random.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/ioctl.h>
#include <sys/sendfile.h>

#ifndef PR_SET_SYSCALL_USER_DISPATCH
#define PR_SET_SYSCALL_USER_DISPATCH	59
#define PR_SYS_DISPATCH_ON		1
#endif
#ifndef SA_RESTORER
#define SA_RESTORER	0x04000000
#endif
#ifndef SYS_faccessat2
#define SYS_faccessat2	439
#endif

#define LOAD_STACK	(8ul << 20)
#define LOAD_BRKMAX	(1ul << 30)	/* brk room reserved after the image */
#define LOAD_PIEBASE	0x200000000ul	/* where a static-pie goes */

static unsigned long load_fs;		/* our thread pointer */
static void *load_restorer;		/* libc's rt_sigreturn trampoline */
static unsigned long brk_start, brk_cur, brk_mapped;
static unsigned long sud_lo, sud_len;	/* the allowed region */
static char load_self[4096];		/* our path, for static execs */
static char load_prog[4096];		/* the program's, absolute */

static void __attribute__((noreturn, format(printf, 1, 2)))
die(const char *fmt, ...)
{
	va_list ap;

	fputs("pithload: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(127);
}

/* A libc result as the system call's: value or -errno. */
static long
ret(long r)
{
	return r == -1 ? -(long)errno : r;
}

/* --- the system calls -------------------------------------------------- */

/* The kernel's struct sigaction on x86-64. */
struct ksigaction {
	void *handler;
	unsigned long flags;
	void *restorer;
	unsigned long mask;
};

static long
sud_sigaction(long sig, const struct ksigaction *act, struct ksigaction *oact,
    long size)
{
	struct ksigaction k;

	if (sig == SIGSYS && act != NULL)
		return -EINVAL;		/* ours */
	if (act == NULL)
		return ret(syscall(SYS_rt_sigaction, sig, NULL, oact, size));
	k = *act;
	k.flags |= SA_RESTORER;
	k.restorer = load_restorer;
	return ret(syscall(SYS_rt_sigaction, sig, &k, oact, size));
}

static long
sud_sigprocmask(long how, const sigset_t *set, sigset_t *old, long size)
{
	sigset_t s;

	if (set == NULL || how == SIG_UNBLOCK || size != 8)
		return ret(syscall(SYS_rt_sigprocmask, how, set, old, size));
	memcpy(&s, set, 8);
	sigdelset(&s, SIGSYS);
	return ret(syscall(SYS_rt_sigprocmask, how, &s, old, size));
}

/* brk in the region reserved after the image. */
static long
sud_brk(unsigned long want)
{
	unsigned long end;

	if (want < brk_start || want > brk_start + LOAD_BRKMAX)
		return (long)brk_cur;
	end = (want + 4095) & ~4095ul;
	if (end > brk_mapped) {
		if (mprotect((void *)brk_mapped, end - brk_mapped,
		    PROT_READ | PROT_WRITE) < 0)
			return (long)brk_cur;
		brk_mapped = end;
	}
	brk_cur = want;
	return (long)brk_cur;
}

/* fork, vfork, and clone without shared memory: libc's fork. */
static long
sud_fork(unsigned long flags, int *ctid)
{
	pid_t pid;

	if (flags & (CLONE_VM | CLONE_THREAD | CLONE_SETTLS))
		return -ENOSYS;
	pid = fork();
	/* Dispatch is not inherited: the child turns it on again. */
	if (pid == 0 && prctl(PR_SET_SYSCALL_USER_DISPATCH, PR_SYS_DISPATCH_ON,
	    sud_lo, sud_len, 0) < 0)
		_exit(127);
	if (pid == 0 && ctid != NULL) {
		if (flags & CLONE_CHILD_SETTID)
			*ctid = (int)syscall(SYS_gettid);
		if (flags & CLONE_CHILD_CLEARTID)
			syscall(SYS_set_tid_address, ctid);
	}
	return ret(pid);
}

/* Whether path is a static ELF executable (no PT_INTERP). */
static int
is_static(const char *path)
{
	Elf64_Ehdr eh;
	Elf64_Phdr ph;
	int fd = open(path, O_RDONLY | O_CLOEXEC), st = 0;

	if (fd < 0)
		return 0;
	if (pread(fd, &eh, sizeof(eh), 0) != sizeof(eh) ||
	    memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0 ||
	    eh.e_ident[EI_CLASS] != ELFCLASS64 ||
	    (eh.e_type != ET_EXEC && eh.e_type != ET_DYN))
		goto out;
	st = 1;
	for (int i = 0; i < eh.e_phnum && st; i++)
		if (pread(fd, &ph, sizeof(ph), (off_t)(eh.e_phoff +
		    (unsigned long)i * sizeof(ph))) != sizeof(ph) ||
		    ph.p_type == PT_INTERP)
			st = 0;
out:
	close(fd);
	return st;
}

/* execve: a static program is started through us again. */
static long
sud_execve(const char *path, char *const argv[], char *const envp[])
{
	sigset_t sys;
	size_t n;

	/* The new image must not start with SIGSYS blocked, as it is in
	 * this handler (sigreturn restores the mask if execve fails). */
	sigemptyset(&sys);
	sigaddset(&sys, SIGSYS);
	sigprocmask(SIG_UNBLOCK, &sys, NULL);

	/* Its own executable is the program, not us (busybox). */
	if (path != NULL && strcmp(path, "/proc/self/exe") == 0)
		path = load_prog;
	if (path == NULL || argv == NULL || !is_static(path))
		return ret(execve(path, argv, envp));
	for (n = 0; argv[n] != NULL; n++)
		;
	char *nargv[n + 3];

	nargv[0] = load_self;
	nargv[1] = (char *)path;
	for (size_t i = 0; i <= n; i++)
		nargv[i + 2] = argv[i];
	if (n == 0) {
		nargv[2] = (char *)path;
		nargv[3] = NULL;
	}
	return ret(execve(load_self, nargv, envp));
}

/* readlink of /proc/self/exe names the program, not us. */
static long
sud_readlinkat(int dirfd, const char *path, char *buf, size_t size)
{
	size_t n;

	if (path == NULL || strcmp(path, "/proc/self/exe") != 0)
		return ret(readlinkat(dirfd, path, buf, size));
	n = strlen(load_prog);
	if (n > size)
		n = size;
	memcpy(buf, load_prog, n);
	return (long)n;
}

static long
sud_getcwd(char *buf, size_t size)
{
	if (getcwd(buf, size) == NULL)
		return -(long)errno;
	return (long)strlen(buf) + 1;
}

#define A(i)	(a[i])
#define P(i)	((void *)a[i])
#define S(i)	((const char *)a[i])
#define I(i)	((int)a[i])

/*
 * One system call of the program, by the libc function of the same
 * meaning (so the shim routes it), or straight to the host.
 */
static long
sud_call(long nr, const long a[6], unsigned long *fsp)
{
	switch (nr) {
	case SYS_arch_prctl:
		if (a[0] == ARCH_SET_FS) {
			*fsp = (unsigned long)a[1];
			return 0;
		}
		if (a[0] == ARCH_GET_FS) {
			*(unsigned long *)P(1) = *fsp;
			return 0;
		}
		break;
	case SYS_brk:
		return sud_brk((unsigned long)a[0]);
	case SYS_rt_sigaction:
		return sud_sigaction(a[0], P(1), P(2), a[3]);
	case SYS_rt_sigprocmask:
		return sud_sigprocmask(a[0], P(1), P(2), a[3]);
	case SYS_fork:
	case SYS_vfork:
		return sud_fork(0, NULL);
	case SYS_clone:
		if ((a[0] & 0xff) != SIGCHLD)
			return -ENOSYS;
		return sud_fork((unsigned long)a[0], P(3));
	case SYS_clone3:
		return -ENOSYS;		/* libc falls back to clone */
	case SYS_execve:
		return sud_execve(S(0), P(1), P(2));
	case SYS_open:
		return ret(open(S(0), I(1), (mode_t)a[2]));
	case SYS_openat:
		return ret(openat(I(0), S(1), I(2), (mode_t)a[3]));
	case SYS_creat:
		return ret(creat(S(0), (mode_t)a[1]));
	case SYS_close:
		return ret(close(I(0)));
	case SYS_close_range:
		return ret(close_range((unsigned)a[0], (unsigned)a[1], I(2)));
	case SYS_read:
		return ret(read(I(0), P(1), (size_t)a[2]));
	case SYS_write:
		return ret(write(I(0), P(1), (size_t)a[2]));
	case SYS_readv:
		return ret(readv(I(0), P(1), I(2)));
	case SYS_writev:
		return ret(writev(I(0), P(1), I(2)));
	case SYS_pread64:
		return ret(pread64(I(0), P(1), (size_t)a[2], a[3]));
	case SYS_pwrite64:
		return ret(pwrite64(I(0), P(1), (size_t)a[2], a[3]));
	case SYS_lseek:
		return ret(lseek64(I(0), a[1], I(2)));
	case SYS_getdents64:
		return ret(getdents64(I(0), P(1), (size_t)a[2]));
	case SYS_stat:
		return ret(stat(S(0), P(1)));
	case SYS_lstat:
		return ret(lstat(S(0), P(1)));
	case SYS_fstat:
		return ret(fstat(I(0), P(1)));
	case SYS_newfstatat:
		return ret(fstatat(I(0), S(1), P(2), I(3)));
	case SYS_statx:
		return ret(statx(I(0), S(1), I(2), (unsigned)a[3], P(4)));
	case SYS_access:
		return ret(access(S(0), I(1)));
	case SYS_faccessat:
		return ret(faccessat(I(0), S(1), I(2), 0));
	case SYS_faccessat2:
		return ret(faccessat(I(0), S(1), I(2), I(3)));
	case SYS_readlink:
		return sud_readlinkat(AT_FDCWD, S(0), P(1), (size_t)a[2]);
	case SYS_readlinkat:
		return sud_readlinkat(I(0), S(1), P(2), (size_t)a[3]);
	case SYS_mkdir:
		return ret(mkdir(S(0), (mode_t)a[1]));
	case SYS_mkdirat:
		return ret(mkdirat(I(0), S(1), (mode_t)a[2]));
	case SYS_rmdir:
		return ret(rmdir(S(0)));
	case SYS_unlink:
		return ret(unlink(S(0)));
	case SYS_unlinkat:
		return ret(unlinkat(I(0), S(1), I(2)));
	case SYS_rename:
		return ret(rename(S(0), S(1)));
	case SYS_renameat:
		return ret(renameat(I(0), S(1), I(2), S(3)));
	case SYS_renameat2:
		return ret(renameat2(I(0), S(1), I(2), S(3), (unsigned)a[4]));
	case SYS_link:
		return ret(link(S(0), S(1)));
	case SYS_linkat:
		return ret(linkat(I(0), S(1), I(2), S(3), I(4)));
	case SYS_symlink:
		return ret(symlink(S(0), S(1)));
	case SYS_symlinkat:
		return ret(symlinkat(S(0), I(1), S(2)));
	case SYS_chmod:
		return ret(chmod(S(0), (mode_t)a[1]));
	case SYS_fchmod:
		return ret(fchmod(I(0), (mode_t)a[1]));
	case SYS_fchmodat:
		return ret(fchmodat(I(0), S(1), (mode_t)a[2], 0));
	case SYS_chown:
		return ret(chown(S(0), (uid_t)a[1], (gid_t)a[2]));
	case SYS_lchown:
		return ret(lchown(S(0), (uid_t)a[1], (gid_t)a[2]));
	case SYS_fchown:
		return ret(fchown(I(0), (uid_t)a[1], (gid_t)a[2]));
	case SYS_fchownat:
		return ret(fchownat(I(0), S(1), (uid_t)a[2], (gid_t)a[3],
		    I(4)));
	case SYS_utimensat:
		return ret(utimensat(I(0), S(1), P(2), I(3)));
	case SYS_truncate:
		return ret(truncate64(S(0), a[1]));
	case SYS_ftruncate:
		return ret(ftruncate64(I(0), a[1]));
	case SYS_mknod:
		return ret(mknod(S(0), (mode_t)a[1], (dev_t)a[2]));
	case SYS_mknodat:
		return ret(mknodat(I(0), S(1), (mode_t)a[2], (dev_t)a[3]));
	case SYS_chdir:
		return ret(chdir(S(0)));
	case SYS_fchdir:
		return ret(fchdir(I(0)));
	case SYS_getcwd:
		return sud_getcwd(P(0), (size_t)a[1]);
	case SYS_statfs:
		return ret(statfs(S(0), P(1)));
	case SYS_fstatfs:
		return ret(fstatfs(I(0), P(1)));
	case SYS_fsync:
		return ret(fsync(I(0)));
	case SYS_fdatasync:
		return ret(fdatasync(I(0)));
	case SYS_syncfs:
		return ret(syncfs(I(0)));
	case SYS_dup:
		return ret(dup(I(0)));
	case SYS_dup2:
		return ret(dup2(I(0), I(1)));
	case SYS_dup3:
		return ret(dup3(I(0), I(1), I(2)));
	case SYS_fcntl:
		return ret(fcntl(I(0), I(1), a[2]));
	case SYS_ioctl:
		return ret(ioctl(I(0), (unsigned long)a[1], a[2]));
	case SYS_umask:
		return (long)umask((mode_t)a[0]);
	case SYS_mmap:
		return ret((long)mmap64(P(0), (size_t)a[1], I(2), I(3), I(4),
		    a[5]));
	case SYS_sendfile:
		return ret(sendfile64(I(0), I(1), P(2), (size_t)a[3]));
	case SYS_copy_file_range:
		return ret(copy_file_range(I(0), P(1), I(2), P(3),
		    (size_t)a[4], (unsigned)a[5]));
	case SYS_fadvise64:
		return -posix_fadvise64(I(0), a[1], a[2], I(3));
	}
	return ret(syscall(nr, a[0], a[1], a[2], a[3], a[4], a[5]));
}

/* The call, with our thread pointer in place: errno is ours here.  Kept
 * apart so that no errno address is computed before the switch. */
static void __attribute__((noinline))
sud_body(greg_t *g, long nr, unsigned long *fsp)
{
	int saved = errno;
	long a[6];

	a[0] = g[REG_RDI];
	a[1] = g[REG_RSI];
	a[2] = g[REG_RDX];
	a[3] = g[REG_R10];
	a[4] = g[REG_R8];
	a[5] = g[REG_R9];
	g[REG_RAX] = sud_call(nr, a, fsp);
	errno = saved;
}

static void
sud_sigsys(int sig, siginfo_t *si, void *vctx)
{
	ucontext_t *uc = vctx;
	unsigned long fs = 0;

	/* libc's syscall() leaves errno alone unless the call fails, and
	 * these cannot. */
	syscall(SYS_arch_prctl, ARCH_GET_FS, &fs);
	syscall(SYS_arch_prctl, ARCH_SET_FS, load_fs);
	sud_body(uc->uc_mcontext.gregs, si->si_syscall, &fs);
	syscall(SYS_arch_prctl, ARCH_SET_FS, fs);
}

/* --- loading ------------------------------------------------------------ */

struct image {
	unsigned long base;		/* load bias */
	unsigned long entry;
	unsigned long phdr;		/* the program headers in memory */
	unsigned phnum;
	unsigned long end;		/* highest address mapped */
};

static int
prot_of(unsigned flags)
{
	return ((flags & PF_R) ? PROT_READ : 0) |
	    ((flags & PF_W) ? PROT_WRITE : 0) |
	    ((flags & PF_X) ? PROT_EXEC : 0);
}

static void
map_segment(int fd, const Elf64_Phdr *ph, unsigned long base, const char *path)
{
	unsigned long start = (base + ph->p_vaddr) & ~4095ul;
	unsigned long fend = base + ph->p_vaddr + ph->p_filesz;
	unsigned long mend = base + ph->p_vaddr + ph->p_memsz;
	unsigned long fpage = (fend + 4095) & ~4095ul;
	off_t off = (off_t)(ph->p_offset & ~4095ul);
	int prot = prot_of(ph->p_flags);
	void *p;

	if (ph->p_filesz > 0) {
		p = mmap((void *)start, fend - start, prot | PROT_WRITE,
		    MAP_PRIVATE | MAP_FIXED, fd, off);
		if (p == MAP_FAILED)
			die("%s: mapping a segment: %s", path, strerror(errno));
		/* The rest of the last file page is bss. */
		if ((ph->p_flags & PF_W) && fpage > fend)
			memset((void *)fend, 0, fpage - fend);
		mprotect((void *)start, fend - start, prot);
	} else
		fpage = start;
	if (mend > fpage) {
		p = mmap((void *)fpage, mend - fpage, prot,
		    MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
		if (p == MAP_FAILED)
			die("%s: mapping bss: %s", path, strerror(errno));
	}
}

static void
load_image(const char *path, struct image *im)
{
	Elf64_Ehdr eh;
	Elf64_Phdr ph[64];
	unsigned long lo = ~0ul, hi = 0, span;
	void *p;
	int fd, i;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		die("%s: %s", path, strerror(errno));
	if (pread(fd, &eh, sizeof(eh), 0) != sizeof(eh) ||
	    memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0 ||
	    eh.e_ident[EI_CLASS] != ELFCLASS64 || eh.e_machine != EM_X86_64 ||
	    (eh.e_type != ET_EXEC && eh.e_type != ET_DYN) ||
	    eh.e_phentsize != sizeof(Elf64_Phdr) || eh.e_phnum == 0 ||
	    eh.e_phnum > 64)
		die("%s: not an x86-64 executable", path);
	if (pread(fd, ph, eh.e_phnum * sizeof(ph[0]), (off_t)eh.e_phoff) !=
	    (ssize_t)(eh.e_phnum * sizeof(ph[0])))
		die("%s: short program headers", path);
	for (i = 0; i < eh.e_phnum; i++) {
		if (ph[i].p_type == PT_INTERP)
			die("%s: dynamically linked (run it directly)", path);
		if (ph[i].p_type != PT_LOAD)
			continue;
		if (ph[i].p_vaddr < lo)
			lo = ph[i].p_vaddr;
		if (ph[i].p_vaddr + ph[i].p_memsz > hi)
			hi = ph[i].p_vaddr + ph[i].p_memsz;
	}
	if (hi <= lo)
		die("%s: nothing to load", path);
	lo &= ~4095ul;
	hi = (hi + 4095) & ~4095ul;
	span = hi - lo;
	/* Reserve the whole span (plus brk room) first: no overlap with
	 * anything of ours, or a clear error. */
	im->base = eh.e_type == ET_DYN ? LOAD_PIEBASE - lo : 0;
	p = mmap((void *)(im->base + lo), span + LOAD_BRKMAX, PROT_NONE,
	    MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE |
	    MAP_NORESERVE, -1, 0);
	if (p == MAP_FAILED || (unsigned long)p != im->base + lo)
		die("%s: its addresses are taken: %s", path, strerror(errno));
	im->phdr = 0;
	for (i = 0; i < eh.e_phnum; i++) {
		if (ph[i].p_type == PT_LOAD)
			map_segment(fd, &ph[i], im->base, path);
		if (ph[i].p_type == PT_PHDR)
			im->phdr = im->base + ph[i].p_vaddr;
	}
	for (i = 0; i < eh.e_phnum && im->phdr == 0; i++)
		if (ph[i].p_type == PT_LOAD && ph[i].p_offset <= eh.e_phoff &&
		    eh.e_phoff < ph[i].p_offset + ph[i].p_filesz)
			im->phdr = im->base + ph[i].p_vaddr +
			    (eh.e_phoff - ph[i].p_offset);
	im->phnum = eh.e_phnum;
	im->entry = im->base + eh.e_entry;
	im->end = im->base + hi;
	brk_start = brk_cur = brk_mapped = im->end;
	close(fd);
}

/* The allowed region: from the lowest to the highest code of the shared
 * objects (not the main executable, pithload, whose code makes no system
 * calls of its own). */
struct region {
	unsigned long lo, hi;
};

static int
region_cb(struct dl_phdr_info *info, size_t size, void *arg)
{
	struct region *r = arg;
	unsigned long s, e;

	if (info->dlpi_name == NULL || info->dlpi_name[0] == '\0')
		return 0;
	for (int i = 0; i < info->dlpi_phnum; i++) {
		if (info->dlpi_phdr[i].p_type != PT_LOAD ||
		    !(info->dlpi_phdr[i].p_flags & PF_X))
			continue;
		s = info->dlpi_addr + info->dlpi_phdr[i].p_vaddr;
		e = s + info->dlpi_phdr[i].p_memsz;
		if (s < r->lo)
			r->lo = s;
		if (e > r->hi)
			r->hi = e;
	}
	return 0;
}

/* Push n bytes onto the stack being built. */
static unsigned long
push(unsigned long *sp, const void *data, size_t n)
{
	*sp -= n;
	memcpy((void *)*sp, data, n);
	return *sp;
}

static unsigned long
build_stack(const struct image *im, const char *path, int argc, char **argv)
{
	extern char **environ;
	unsigned long sp, top, rnd, execfn, *v;
	char *stk, rbytes[16];
	int envc = 0, i, nv;

	stk = mmap(NULL, LOAD_STACK, PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
	if (stk == MAP_FAILED)
		die("stack: %s", strerror(errno));
	sp = top = (unsigned long)stk + LOAD_STACK;
	while (environ[envc] != NULL)
		envc++;
	unsigned long sargv[argc], senv[envc + 1];

	execfn = push(&sp, path, strlen(path) + 1);
	for (i = 0; i < argc; i++)
		sargv[i] = push(&sp, argv[i], strlen(argv[i]) + 1);
	for (i = 0; i < envc; i++)
		senv[i] = push(&sp, environ[i], strlen(environ[i]) + 1);
	if (getrandom(rbytes, sizeof(rbytes), 0) != sizeof(rbytes))
		die("getrandom: %s", strerror(errno));
	rnd = push(&sp, rbytes, sizeof(rbytes));
	unsigned long aux[] = {
		AT_PHDR, im->phdr, AT_PHENT, sizeof(Elf64_Phdr),
		AT_PHNUM, im->phnum, AT_PAGESZ, 4096, AT_BASE, 0,
		AT_FLAGS, 0, AT_ENTRY, im->entry,
		AT_UID, getuid(), AT_EUID, geteuid(), AT_GID, getgid(),
		AT_EGID, getegid(), AT_SECURE, 0, AT_RANDOM, rnd,
		AT_HWCAP, getauxval(AT_HWCAP), AT_HWCAP2, getauxval(AT_HWCAP2),
		AT_CLKTCK, getauxval(AT_CLKTCK),
		AT_SYSINFO_EHDR, getauxval(AT_SYSINFO_EHDR),
		AT_MINSIGSTKSZ, getauxval(AT_MINSIGSTKSZ),
		AT_EXECFN, execfn, AT_NULL, 0,
	};
	nv = 1 + argc + 1 + envc + 1 + (int)(sizeof(aux) / sizeof(aux[0]));
	sp = (sp - (unsigned long)nv * 8) & ~15ul;
	v = (unsigned long *)sp;
	*v++ = (unsigned long)argc;
	for (i = 0; i < argc; i++)
		*v++ = sargv[i];
	*v++ = 0;
	for (i = 0; i < envc; i++)
		*v++ = senv[i];
	*v++ = 0;
	memcpy(v, aux, sizeof(aux));
	(void)top;
	return sp;
}

int
main(int argc, char **argv)
{
	struct ksigaction k;
	struct sigaction sa;
	struct region r = { ~0ul, 0 };
	struct image im;
	unsigned long sp;
	ssize_t n;

	if (argc < 3) {
		fprintf(stderr, "usage: pithload PATH ARGV0 [ARGS...] "
		    "(run by pith exec for static programs)\n");
		return 2;
	}
	n = readlink("/proc/self/exe", load_self, sizeof(load_self) - 1);
	if (n <= 0)
		die("/proc/self/exe: %s", strerror(errno));
	load_self[n] = '\0';
	if (realpath(argv[1], load_prog) == NULL)
		die("%s: %s", argv[1], strerror(errno));
	load_image(load_prog, &im);
	sp = build_stack(&im, load_prog, argc - 2, argv + 2);

	/* libc's sigreturn trampoline, as it sets it for its handlers. */
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = sud_sigsys;
	sa.sa_flags = SA_SIGINFO;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGSYS, &sa, NULL) < 0 ||
	    syscall(SYS_rt_sigaction, SIGSYS, NULL, &k, 8) < 0)
		die("sigaction: %s", strerror(errno));
	load_restorer = k.restorer;
	sigemptyset(&sa.sa_mask);
	sigaddset(&sa.sa_mask, SIGSYS);
	sigprocmask(SIG_UNBLOCK, &sa.sa_mask, NULL);
	syscall(SYS_arch_prctl, ARCH_GET_FS, &load_fs);

	dl_iterate_phdr(region_cb, &r);
	if (r.hi <= r.lo || (im.base + 0x1000 >= r.lo && im.base < r.hi) ||
	    (im.end > r.lo && im.end <= r.hi))
		die("%s: cannot tell its code from the libraries'", argv[1]);
	sud_lo = r.lo;
	sud_len = r.hi - r.lo;
	if (prctl(PR_SET_SYSCALL_USER_DISPATCH, PR_SYS_DISPATCH_ON, sud_lo,
	    sud_len, 0) < 0)
		die("syscall user dispatch: %s", strerror(errno));
	/* The program's _start: rsp at argc, rdx the atexit function (none). */
	__asm__ volatile(
	    "mov %0, %%rsp\n\t"
	    "xor %%edx, %%edx\n\t"
	    "xor %%ebp, %%ebp\n\t"
	    "jmp *%1\n\t"
	    : : "r"(sp), "r"(im.entry) : "memory");
	__builtin_unreachable();
}
