/*
 * The Linux application interface on bare metal: the `syscall` handler.
 *
 * The rule: calls about the program's address space and threads belong
 * to the platform that owns them -- hosted, the host Linux answers them;
 * here this file, uproc.c and signal.c do: brk, mmap, munmap, mprotect,
 * mremap, madvise, arch_prctl, set_tid_address, set_robust_list, the
 * signal calls (rt_sigaction, rt_sigprocmask, sigaltstack, rt_sigreturn,
 * rt_sigsuspend, pause, rt_sigpending, kill/tkill/tgkill), exit,
 * exit_group, clone, fork, vfork, execve, wait4, waitid, futex,
 * sched_yield, gettid, the CPU affinity calls, prctl's name and the
 * resource limits.  Every other number
 * goes to the kernel's pith_syscall6 unchanged -- files, pipes, poll,
 * clocks, getrandom, uname, getpid, ioctl on the console -- which names
 * once what it lacks and returns ENOSYS.
 *
 * Registers: rax the number, rdi rsi rdx r10 r8 r9 the arguments, the
 * result (or -errno) in rax; rcx and r11 are the `syscall` instruction's.
 *
 * Dispatch is a table, abi_calls[], indexed by number, and entry.S uses
 * it directly: for an ordinary call it saves only the registers C may
 * clobber, calls the table's handler (the platform's, abi_kernel, or the
 * kernel's pith_syscall6 itself), tests the current thread for pending
 * work (a signal, an exit) and returns by sysret.  Calls that read or replace the user's
 * registers (ABI_FRAME_CALLS: rt_sigreturn, clone, fork, vfork, execve),
 * and any call that leaves work pending, go the slow way: the whole
 * trapframe and metal_syscall(), which returns by iret when the call
 * replaced the frame (execve, rt_sigreturn).
 */
#include "uproc.h"
#include "asmoff.h"

/*
 * The pointer arguments of the calls passed to the kernel, from
 * syscalls.master (genucheck.awk).  The kernel trusts any lower-half
 * address, and on this platform the image (below USER_MIN) is mapped in
 * every address space, so they are checked here first: EFAULT for a
 * pointer below USER_MIN or into pages that are not there, as Linux.
 */
enum { UC_NONE, UC_STR, UC_IN, UC_OUT, UC_OUTR, UC_IOVIN, UC_IOVOUT, UC_PTR };

struct ucheck_arg {
	u8 uc_kind;
	signed char uc_lenarg;          /* argument holding the count, or -1 */
	u8 uc_count;                    /* else this count */
	u8 uc_elsize;
};

#include "ucheck.h"

#define UCHECK_N (sizeof(ucheck_tab) / sizeof(ucheck_tab[0]))
_Static_assert(UCHECK_N <= ABI_NCALLS, "ucheck_tab");
#define UCHECK_MAX (64ul << 20)         /* longer ranges: the first page */

#define SYS_poll 7
#define SYS_mmap 9
#define SYS_mprotect 10
#define SYS_munmap 11
#define SYS_brk 12
#define SYS_rt_sigaction 13
#define SYS_rt_sigprocmask 14
#define SYS_rt_sigreturn 15
#define SYS_sched_yield 24
#define SYS_pause 34
#define SYS_getitimer 36
#define SYS_alarm 37
#define SYS_setitimer 38
#define SYS_rt_sigpending 127
#define SYS_rt_sigsuspend 130
#define SYS_mremap 25
#define SYS_msync 26
#define SYS_madvise 28
#define SYS_clone 56
#define SYS_fork 57
#define SYS_vfork 58
#define SYS_execve 59
#define SYS_exit 60
#define SYS_wait4 61
#define SYS_kill 62
#define SYS_getrlimit 97
#define SYS_sigaltstack 131
#define SYS_arch_prctl 158
#define SYS_setrlimit 160
#define SYS_gettid 186
#define SYS_tkill 200
#define SYS_futex 202
#define SYS_set_tid_address 218
#define SYS_exit_group 231
#define SYS_tgkill 234
#define SYS_set_robust_list 273
#define SYS_prlimit64 302
#define SYS_prctl 157
#define SYS_sched_setaffinity 203
#define SYS_sched_getaffinity 204
#define SYS_waitid 247
#define SYS_getcpu 309

#define MAP_SHARED 0x01
#define MAP_PRIVATE 0x02
#define MAP_FIXED 0x10
#define MAP_ANONYMOUS 0x20
#define MAP_FIXED_NOREPLACE 0x100000
#define MREMAP_MAYMOVE 1
#define MREMAP_FIXED 2
#define MADV_DONTNEED 4
#define EEXIST 17
#define ENODEV 19

#define PG_UP(a) (((a) + PAGE_SIZE - 1) & ~(PAGE_SIZE - 1))

static struct vmspace *
curvm(void)
{
	return uthread_cur()->ut_proc->up_vm;
}

/* --- memory ------------------------------------------------------------- */

/* A free range of len bytes below the mmap cursor, or 0. */
static u64
mmap_find(struct vmspace *vm, u64 len)
{
	u64 hi = vm->vm_mmap_next, busy;

	while (hi >= USER_MIN + len) {
		if (vms_range_free(vm, hi - len, hi, &busy))
			return hi - len;
		hi = busy & ~(PAGE_SIZE - 1);
	}
	return 0;
}

static long
sys_mmap(u64 addr, u64 len, u64 prot, u64 flags, long fd, u64 off)
{
	struct vmspace *vm = curvm();
	u64 va;
	long r;
	int error;

	if (len == 0 || (addr & (PAGE_SIZE - 1)) || (off & (PAGE_SIZE - 1)))
		return -EINVAL;
	if ((flags & (MAP_SHARED | MAP_PRIVATE)) == 0 || (prot & ~7ul) != 0)
		return -EINVAL;
	len = PG_UP(len);
	if (len == 0 || len > USER_TOP)
		return -ENOMEM;
	if (!(flags & MAP_ANONYMOUS) && (flags & MAP_SHARED) &&
	    (prot & VM_PROT_WRITE))
		return -ENODEV;         /* no shared writable file mappings */
	/* Pages come on first touch, but never promise more than is left. */
	if ((prot & VM_PROT_ALL) && len > mem_user_avail())
		return -ENOMEM;
	if (flags & (MAP_FIXED | MAP_FIXED_NOREPLACE)) {
		if (addr < USER_MIN || addr + len > USER_TOP || addr + len < addr)
			return -EPERM;
		if (!vms_range_free(vm, addr, addr + len, NULL)) {
			if (flags & MAP_FIXED_NOREPLACE)
				return -EEXIST;
			vms_unmap(vm, addr, len);
		}
		va = addr;
	} else {
		va = 0;
		if (addr >= USER_MIN && addr + len <= VM_MMAP_TOP &&
		    addr + len > addr && vms_range_free(vm, addr, addr + len, NULL))
			va = addr;
		if (va == 0 && (va = mmap_find(vm, len)) == 0)
			return -ENOMEM;
	}
	if (flags & MAP_ANONYMOUS) {
		if ((error = (flags & MAP_SHARED ? vms_map_shared : vms_map)(vm,
		    va, len, (int)prot)) != 0)
			return -error;
	} else {
		/* A private copy of the file: read it in, then set prot. */
		if ((error = vms_map(vm, va, len, VM_PROT_READ | VM_PROT_WRITE)) != 0)
			return -error;
		r = pith_syscall6(17 /* pread64 */, fd, (long)va, (long)len,
		    (long)off, 0, 0);
		if (r < 0) {
			vms_unmap(vm, va, len);
			return r;
		}
		if ((error = vms_protect(vm, va, len, (int)prot)) != 0) {
			vms_unmap(vm, va, len);
			return -error;
		}
	}
	if (!(flags & (MAP_FIXED | MAP_FIXED_NOREPLACE)) && va < vm->vm_mmap_next)
		vm->vm_mmap_next = va;
	return (long)va;
}

static long
sys_munmap(u64 addr, u64 len)
{
	struct vmspace *vm = curvm();

	if ((addr & (PAGE_SIZE - 1)) || len == 0)
		return -EINVAL;
	len = PG_UP(len);
	if (addr < USER_MIN || addr + len > USER_TOP || addr + len < addr)
		return -EINVAL;
	vms_unmap(vm, addr, len);
	/* The most recent mapping gone: let the cursor climb back. */
	if (addr == vm->vm_mmap_next && addr + len <= VM_MMAP_TOP)
		vm->vm_mmap_next = addr + len;
	return 0;
}

static long
sys_mprotect(u64 addr, u64 len, u64 prot)
{
	if ((addr & (PAGE_SIZE - 1)) || (prot & ~7ul) != 0)
		return -EINVAL;
	len = PG_UP(len);
	if (len == 0)
		return 0;
	if (addr < USER_MIN || addr + len > USER_TOP || addr + len < addr)
		return -ENOMEM;
	return -vms_protect(curvm(), addr, len, (int)prot);
}

static long
sys_brk(u64 want)
{
	struct vmspace *vm = curvm();
	u64 cur = PG_UP(vm->vm_brk), next = PG_UP(want);

	if (want < vm->vm_brk_base || want >= VM_MMAP_TOP)
		return (long)vm->vm_brk;
	if (next > cur) {
		if (next - cur > mem_user_avail() ||
		    !vms_range_free(vm, cur, next, NULL) ||
		    vms_map(vm, cur, next - cur, VM_PROT_READ | VM_PROT_WRITE) != 0)
			return (long)vm->vm_brk;
	} else if (next < cur) {
		vms_unmap(vm, next, cur - next);
	}
	vm->vm_brk = want;
	return (long)want;
}

static long
sys_mremap(u64 old, u64 oldlen, u64 newlen, u64 flags, u64 newaddr)
{
	struct vmspace *vm = curvm();
	u64 va;
	int error, prot;

	if ((old & (PAGE_SIZE - 1)) || (flags & ~3ul) != 0 || newlen == 0)
		return -EINVAL;
	if ((flags & MREMAP_FIXED) && !(flags & MREMAP_MAYMOVE))
		return -EINVAL;
	oldlen = PG_UP(oldlen);
	newlen = PG_UP(newlen);
	if (old < USER_MIN || old + oldlen > USER_TOP || oldlen == 0)
		return -EFAULT;
	if (!vms_mapped(vm, old, oldlen))
		return -EFAULT;
	/* New pages get the protection of the mapping's last page. */
	prot = vms_prot_at(vm, old + oldlen - PAGE_SIZE);
	if (newlen <= oldlen && !(flags & MREMAP_FIXED)) {
		if (newlen < oldlen)
			vms_unmap(vm, old + newlen, oldlen - newlen);
		return (long)old;
	}
	if (prot != 0 && newlen > oldlen && newlen - oldlen > mem_user_avail())
		return -ENOMEM;
	/* Grow in place if the pages above are free. */
	if (!(flags & MREMAP_FIXED) && old + newlen <= USER_TOP &&
	    vms_range_free(vm, old + oldlen, old + newlen, NULL)) {
		error = vms_map(vm, old + oldlen, newlen - oldlen, prot);
		return error != 0 ? -error : (long)old;
	}
	if (!(flags & MREMAP_MAYMOVE))
		return -ENOMEM;
	if (flags & MREMAP_FIXED) {
		va = newaddr;
		if ((va & (PAGE_SIZE - 1)) || va < USER_MIN || va + newlen > USER_TOP)
			return -EINVAL;
		vms_unmap(vm, va, newlen);
	} else if ((va = mmap_find(vm, newlen)) == 0) {
		return -ENOMEM;
	}
	if (newlen > oldlen && (error = vms_map(vm, va + oldlen, newlen - oldlen,
	    prot)) != 0)
		return -error;
	if ((error = vms_move(vm, old, va, newlen < oldlen ? newlen : oldlen)) != 0) {
		vms_unmap(vm, va, newlen);
		return -error;
	}
	if (newlen < oldlen)
		vms_unmap(vm, old + newlen, oldlen - newlen);
	if (!(flags & MREMAP_FIXED) && va < vm->vm_mmap_next)
		vm->vm_mmap_next = va;
	return (long)va;
}

static long
sys_madvise(u64 addr, u64 len, long advice)
{
	struct vmspace *vm = curvm();

	if (addr & (PAGE_SIZE - 1))
		return -EINVAL;
	len = PG_UP(len);
	/* Private anonymous memory reads back as zeros after DONTNEED. */
	if (advice == MADV_DONTNEED && len > 0) {
		if (addr < USER_MIN || addr + len > USER_TOP || addr + len < addr ||
		    !vms_mapped(vm, addr, len))
			return -ENOMEM;
		vms_zero(vm, addr, len);
	}
	return 0;
}

/* --- signal dispositions and masks (delivery: signal.c) ----------------- */

struct ksigaction {
	u64 sa_handler, sa_flags, sa_restorer, sa_mask;
};

static long
sys_rt_sigaction(long sig, u64 act, u64 oact, u64 size)
{
	struct uproc *p = uthread_cur()->ut_proc;
	struct ksigaction k;

	if (sig < 1 || sig >= NSIG || size != 8)
		return -EINVAL;
	if (act != 0 && (sig == 9 || sig == 19))
		return -EINVAL;
	if ((act != 0 && !vms_check(p->up_vm, act, sizeof(k), 0)) ||
	    (oact != 0 && !vms_check(p->up_vm, oact, sizeof(k), 1)))
		return -EFAULT;
	k.sa_handler = p->up_sigact[sig];
	k.sa_flags = p->up_sigflags[sig];
	k.sa_restorer = p->up_sigrestorer[sig];
	k.sa_mask = p->up_sigmaskact[sig];
	if (act != 0) {
		const struct ksigaction *a = (const void *)(uintptr)act;

		p->up_sigact[sig] = a->sa_handler;
		p->up_sigflags[sig] = a->sa_flags;
		p->up_sigrestorer[sig] = a->sa_restorer;
		p->up_sigmaskact[sig] = a->sa_mask;
	}
	if (oact != 0)
		*(struct ksigaction *)(uintptr)oact = k;
	return 0;
}

static long
sys_rt_sigprocmask(long how, u64 set, u64 oset, u64 size)
{
	struct uthread *ut = uthread_cur();
	struct vmspace *vm = ut->ut_proc->up_vm;
	u64 old = ut->ut_sigmask, s;

	if (size != 8)
		return -EINVAL;
	if ((set != 0 && !vms_check(vm, set, 8, 0)) ||
	    (oset != 0 && !vms_check(vm, oset, 8, 1)))
		return -EFAULT;
	if (set != 0) {
		s = *(const u64 *)(uintptr)set & ~((1ul << 8) | (1ul << 18));
		switch (how) {
		case 0:
			ut->ut_sigmask |= s;
			break;
		case 1:
			ut->ut_sigmask &= ~s;
			break;
		case 2:
			ut->ut_sigmask = s;
			break;
		default:
			return -EINVAL;
		}
	}
	if (oset != 0)
		*(u64 *)(uintptr)oset = old;
	return 0;
}

static long
sys_sigaltstack(u64 ss, u64 oss)
{
	struct uthread *ut = uthread_cur();
	struct vmspace *vm = ut->ut_proc->up_vm;
	u64 old[3];

	if ((ss != 0 && !vms_check(vm, ss, 24, 0)) ||
	    (oss != 0 && !vms_check(vm, oss, 24, 1)))
		return -EFAULT;
	old[0] = ut->ut_altstack[0];
	old[1] = ut->ut_altstack[1] != 0 ? 0 : 2;      /* SS_DISABLE */
	old[2] = ut->ut_altstack[2];
	if (ss != 0) {
		const u64 *n = (const void *)(uintptr)ss;

		if ((n[1] & 0xffffffffu) & ~(u64)2)
			return -EINVAL;
		if ((n[1] & 2) == 0 && n[2] < 2048)
			return -ENOMEM;
		ut->ut_altstack[0] = n[0];
		ut->ut_altstack[1] = (n[1] & 2) ? 0 : 1;
		ut->ut_altstack[2] = n[2];
	}
	if (oss != 0)
		memcpy((void *)(uintptr)oss, old, sizeof(old));
	return 0;
}

/* --- limits ------------------------------------------------------------- */

static long
rlimit_get(long res, u64 *cur, u64 *max)
{
	*cur = *max = ~0ul;
	if (res < 0 || res >= 16)
		return -EINVAL;
	if (res == 3)           /* RLIMIT_STACK */
		*cur = VM_STACK_MAX;
	if (res == 7)           /* RLIMIT_NOFILE */
		*cur = *max = 1024;
	return 0;
}

static long
sys_prlimit(long pid, long res, u64 newlim, u64 oldlim)
{
	struct vmspace *vm = curvm();
	u64 c, m;
	long r;

	if (pid != 0 && pid != uthread_cur()->ut_proc->up_pid)
		return -ESRCH;
	if ((r = rlimit_get(res, &c, &m)) != 0)
		return r;
	if (newlim != 0 && !vms_check(vm, newlim, 16, 0))
		return -EFAULT;
	if (oldlim != 0) {
		if (!vms_check(vm, oldlim, 16, 1))
			return -EFAULT;
		((u64 *)(uintptr)oldlim)[0] = c;
		((u64 *)(uintptr)oldlim)[1] = m;
	}
	return 0;
}

/* --- the one CPU and the thread's name ---------------------------------- */

/* sched_getaffinity: CPU 0 only; the size of the mask written, as Linux. */
static long
sys_getaffinity(u64 size, u64 umask)
{
	struct vmspace *vm = curvm();

	if (size < 8 || (size & 7) != 0)
		return -EINVAL;
	if (!vms_check(vm, umask, 8, 1))
		return -EFAULT;
	*(u64 *)(uintptr)umask = 1;
	return 8;
}

static long
sys_getcpu(u64 ucpu, u64 unode)
{
	struct vmspace *vm = curvm();

	if ((ucpu != 0 && !vms_check(vm, ucpu, 4, 1)) ||
	    (unode != 0 && !vms_check(vm, unode, 4, 1)))
		return -EFAULT;
	if (ucpu != 0)
		*(u32 *)(uintptr)ucpu = 0;
	if (unode != 0)
		*(u32 *)(uintptr)unode = 0;
	return 0;
}

/* prctl: the name (PR_SET_NAME, PR_GET_NAME); the rest is EINVAL. */
static long
sys_prctl(long op, u64 arg)
{
	struct uproc *p = uthread_cur()->ut_proc;
	int i;

	if (op == 15) {
		if (!vms_check(p->up_vm, arg, 1, 0))
			return -EFAULT;
		for (i = 0; i < 15; i++) {
			if (((arg + (u64)i) & (PAGE_SIZE - 1)) == 0 &&
			    !vms_check(p->up_vm, arg + (u64)i, 1, 0))
				return -EFAULT;
			if ((p->up_comm[i] = *(const char *)(uintptr)(arg + (u64)i)) == '\0')
				break;
		}
		p->up_comm[i] = '\0';
		return 0;
	}
	if (op == 16) {
		if (!vms_check(p->up_vm, arg, 16, 1))
			return -EFAULT;
		memcpy((void *)(uintptr)arg, p->up_comm, 16);
		return 0;
	}
	return -EINVAL;
}

/* --- execve ------------------------------------------------------------- */

/*
 * The kernel's system calls take only user addresses (its copyin refuses
 * the upper half), so files are read through this buffer in the image
 * (and close-on-exec polls through it).  One user at a time; others wait.
 */
#define BOUNCE 65536
static u8 exec_bounce[BOUNCE] __attribute__((aligned(16)));
static int exec_bounce_busy;
static struct waitq exec_bounce_wq;

/* Take the buffer (waiting for it) and give it back. */
u8 *
exec_bounce_get(void)
{
	while (exec_bounce_busy)
		(void)sched_sleepq(&exec_bounce_wq, 0);
	exec_bounce_busy = 1;
	return exec_bounce;
}

void
exec_bounce_put(void)
{
	exec_bounce_busy = 0;
	(void)sched_wakeq(&exec_bounce_wq, 1);
}

int exec_read_file(const char *path, u8 **imgp, u64 *sizep);

int
exec_read_file(const char *path, u8 **imgp, u64 *sizep)
{
	struct {
		u64 st_dev, st_ino, st_nlink;
		u32 st_mode, st_uid, st_gid, pad;
		u64 st_rdev;
		i64 st_size, st_blksize, st_blocks;
		i64 t[9];
	} *st;
	hyp_size_t plen = 0;
	long fd, r;
	u64 size = 0, got = 0;
	u8 *img = NULL;
	int error = 0;

	while (path[plen] != '\0')
		plen++;
	if (plen >= 4096)
		return 36;              /* ENAMETOOLONG */
	(void)exec_bounce_get();
	memcpy(exec_bounce, path, plen + 1);
	fd = pith_syscall6(2 /* open */, (long)exec_bounce, 0 /* O_RDONLY */,
	    0, 0, 0, 0);
	if (fd < 0) {
		error = (int)-fd;
		goto out;
	}
	st = (void *)exec_bounce;
	if ((r = pith_syscall6(5 /* fstat */, fd, (long)st, 0, 0, 0, 0)) < 0) {
		error = (int)-r;
		goto close;
	}
	if ((st->st_mode & 0170000) != 0100000) {
		error = (st->st_mode & 0170000) == 0040000 ? 21 : 13;  /* EISDIR, EACCES */
		goto close;
	}
	if ((st->st_mode & 0111) == 0) {
		error = 13;             /* EACCES */
		goto close;
	}
	size = (u64)st->st_size;
	if (size < 4 || size > (256ul << 20)) {
		error = ENOEXEC;
		goto close;
	}
	if ((img = mem_alloc(size, 16)) == NULL) {
		error = ENOMEM;
		goto close;
	}
	while (got < size) {
		u64 n = size - got < BOUNCE ? size - got : BOUNCE;

		r = pith_syscall6(0 /* read */, fd, (long)exec_bounce, (long)n,
		    0, 0, 0);
		if (r <= 0) {
			error = r < 0 ? (int)-r : ENOEXEC;
			break;
		}
		memcpy(img + got, exec_bounce, (hyp_size_t)r);
		got += (u64)r;
	}
close:
	(void)pith_syscall6(3 /* close */, fd, 0, 0, 0, 0, 0);
out:
	exec_bounce_put();
	if (error != 0) {
		if (img != NULL)
			mem_free(img, size);
		return error;
	}
	*imgp = img;
	*sizep = size;
	return 0;
}

/* Copy a user string (at most max bytes with the NUL) to the heap. */
static int
ustr_dup(struct vmspace *vm, u64 u, hyp_size_t max, char **out,
    hyp_size_t *lenp)
{
	hyp_size_t n = 0;
	char *s;

	for (;;) {
		if (n >= max)
			return E2BIG;
		if ((n == 0 || ((u + n) & (PAGE_SIZE - 1)) == 0) &&
		    !vms_check(vm, u + n, 1, 0))
			return EFAULT;
		if (*(const char *)(uintptr)(u + n) == '\0')
			break;
		n++;
	}
	if ((s = mem_alloc(n + 1, 1)) == NULL)
		return ENOMEM;
	memcpy(s, (const void *)(uintptr)u, n + 1);
	*out = s;
	*lenp = n + 1;
	return 0;
}

struct strvec {
	char **sv_v;
	hyp_size_t *sv_len;
	int sv_n;
};

static void
strvec_free(struct strvec *sv)
{
	int i;

	for (i = 0; i < sv->sv_n; i++)
		mem_free(sv->sv_v[i], sv->sv_len[i]);
	if (sv->sv_v != NULL)
		mem_free(sv->sv_v, (hyp_size_t)(sv->sv_n + 1) * sizeof(char *));
	if (sv->sv_len != NULL)
		mem_free(sv->sv_len, (hyp_size_t)(sv->sv_n + 1) * sizeof(hyp_size_t));
}

static int
strvec_copy(struct vmspace *vm, u64 uv, struct strvec *sv, hyp_size_t *total)
{
	int n = 0, error;
	u64 p;

	sv->sv_v = NULL;
	sv->sv_len = NULL;
	sv->sv_n = 0;
	if (uv == 0)
		goto alloc;
	for (;; n++) {
		if (n >= 4096)
			return E2BIG;
		if (!vms_check(vm, uv + 8 * (u64)n, 8, 0))
			return EFAULT;
		if (*(const u64 *)(uintptr)(uv + 8 * (u64)n) == 0)
			break;
	}
alloc:
	sv->sv_v = mem_alloc((hyp_size_t)(n + 1) * sizeof(char *), 8);
	sv->sv_len = mem_alloc((hyp_size_t)(n + 1) * sizeof(hyp_size_t), 8);
	if (sv->sv_v == NULL || sv->sv_len == NULL) {
		strvec_free(sv);
		return ENOMEM;
	}
	for (sv->sv_n = 0; sv->sv_n < n; sv->sv_n++) {
		p = *(const u64 *)(uintptr)(uv + 8 * (u64)sv->sv_n);
		error = ustr_dup(vm, p, 131072, &sv->sv_v[sv->sv_n],
		    &sv->sv_len[sv->sv_n]);
		if (error != 0) {
			strvec_free(sv);
			return error;
		}
		*total += sv->sv_len[sv->sv_n];
		if (*total > 120 * 1024) {
			sv->sv_n++;
			strvec_free(sv);
			return E2BIG;
		}
	}
	sv->sv_v[n] = NULL;
	return 0;
}

static long
sys_execve(struct trapframe *tf, u64 upath, u64 uargv, u64 uenvp)
{
	struct vmspace *vm = curvm();
	struct strvec av, ev;
	hyp_size_t plen, total = 0;
	char *path;
	int error;

	if ((error = ustr_dup(vm, upath, 4096, &path, &plen)) != 0)
		return error == E2BIG ? -36 : -error;
	if ((error = strvec_copy(vm, uargv, &av, &total)) != 0)
		goto out;
	if ((error = strvec_copy(vm, uenvp, &ev, &total)) != 0) {
		strvec_free(&av);
		goto out;
	}
	error = uproc_exec(tf, path, av.sv_v, ev.sv_v, av.sv_n, ev.sv_n);
	strvec_free(&av);
	strvec_free(&ev);
out:
	mem_free(path, plen);
	return error != 0 ? -error : 0;
}

/* --- checking the kernel's pointer arguments ---------------------------- */

static int
ucheck_str(struct vmspace *vm, u64 p)
{
	u64 a = p;

	/* Page by page up to the NUL, at most PATH_MAX and a page. */
	for (;;) {
		u64 pg_end = (a | (PAGE_SIZE - 1)) + 1;

		if (vms_prefault(vm, a, 1, 0) != 0)
			return EFAULT;
		for (; a < pg_end; a++)
			if (*(const char *)(uintptr)a == '\0')
				return 0;
		if (a - p > 4096 + PAGE_SIZE)
			return 0;       /* the kernel says ENAMETOOLONG */
	}
}

static int
ucheck_iov(struct vmspace *vm, u64 iov, u64 n, int write)
{
	const u64 *v = (const u64 *)(uintptr)iov;
	u64 i;

	if (n > 1024)
		return 0;               /* the kernel says EINVAL */
	if (vms_prefault(vm, iov, n * 16, 0) != 0)
		return EFAULT;
	for (i = 0; i < n; i++) {
		u64 len = v[2 * i + 1];

		if (len == 0)
			continue;
		if (v[2 * i] < USER_MIN)
			return EFAULT;
		if (vms_prefault(vm, v[2 * i], len > PAGE_SIZE ? 1 : len, write) != 0)
			return EFAULT;
	}
	return 0;
}

/*
 * poll and ppoll check their count against the descriptor limit before
 * they read the array (sys_poll.c: FD_LIMIT_DEFAULT, Linux's soft
 * RLIMIT_NOFILE), and setgroups its count against NGROUPS_MAX before it
 * reads the list (kern_proc.c, as Linux): past them the kernel says
 * EINVAL, which comes first, so the array is not checked here.
 */
#define SYS_ppoll 271
#define POLL_NFDS_MAX 1024
#define SYS_setgroups 116
#define SETGROUPS_MAX 65536

static int
ucheck_count_first(long nr, const u64 *a)
{
	if (nr == SYS_poll || nr == SYS_ppoll)
		return a[1] > POLL_NFDS_MAX;
	if (nr == SYS_setgroups)
		return (u32)a[0] > SETGROUPS_MAX;
	return 0;
}

static long
ucheck(long nr, const u64 *a)
{
	struct vmspace *vm;
	int i;

	if ((u64)nr >= UCHECK_N)
		return 0;
	vm = curvm();
	for (i = 0; i < 6; i++) {
		const struct ucheck_arg *c = &ucheck_tab[nr][i];
		u64 p = a[i], len;

		if (c->uc_kind == UC_NONE || p == 0 || p >= USER_TOP)
			continue;       /* NULL and the upper half: the kernel's */
		if (p < USER_MIN)
			return -EFAULT;
		if (ucheck_count_first(nr, a))
			continue;
		len = (c->uc_lenarg >= 0 ? a[c->uc_lenarg] : c->uc_count) *
		    (u64)c->uc_elsize;
		switch (c->uc_kind) {
		case UC_STR:
			if (ucheck_str(vm, p) != 0)
				return -EFAULT;
			break;
		case UC_IOVIN:
		case UC_IOVOUT:
			if (ucheck_iov(vm, p, a[c->uc_lenarg],
			    c->uc_kind == UC_IOVOUT) != 0)
				return -EFAULT;
			break;
		default:
			/* Partial results (outr) and huge counts: the first page. */
			if (c->uc_kind == UC_OUTR || c->uc_kind == UC_PTR ||
			    len > UCHECK_MAX)
				len = len == 0 ? 0 : 1;
			if (vms_prefault(vm, p, len, c->uc_kind == UC_OUT ||
			    c->uc_kind == UC_OUTR) != 0)
				return -EFAULT;
			break;
		}
	}
	return 0;
}

/* --- the dispatcher ----------------------------------------------------- */

static long
sys_arch_prctl(long code, u64 addr)
{
	struct uthread *ut = uthread_cur();

	switch (code) {
	case 0x1001:            /* ARCH_SET_GS */
	case 0x1002:            /* ARCH_SET_FS */
		if (addr >= USER_TOP)
			return -EPERM;
		if (code == 0x1002) {
			ut->ut_fsbase = addr;
			wrmsr(MSR_FS_BASE, addr);
		} else {
			ut->ut_gsbase = addr;
			wrmsr(MSR_GS_BASE, addr);
		}
		return 0;
	case 0x1003:            /* ARCH_GET_FS */
	case 0x1004:            /* ARCH_GET_GS */
		if (!vms_check(ut->ut_proc->up_vm, addr, 8, 1))
			return -EFAULT;
		*(u64 *)(uintptr)addr = code == 0x1003 ? ut->ut_fsbase :
		    ut->ut_gsbase;
		return 0;
	default:
		return -EINVAL;
	}
}

/* --- the dispatch table ------------------------------------------------- */

/*
 * abi_calls[nr] is the handler of call nr, called with the number and
 * the six argument registers (the kernel's pith_syscall6 shape, so that
 * entry.S calls any entry the same way, and pith_syscall6 itself is the
 * entry of the kernel's calls that take no pointers).  abi_init fills it
 * from abi_platform[] (the calls this platform answers), abi_kernel
 * (kernel calls whose pointers need checking first) and pith_syscall6.
 * The calls in ABI_FRAME_CALLS read or replace the user's registers, so
 * their entry stays NULL: entry.S then builds the whole trapframe and
 * metal_syscall runs them (abi_frame_call).
 */
#define ABI_ARGS long nr, long a1, long a2, long a3, long a4, long a5, long a6
typedef long (*abi_fn)(ABI_ARGS);

/* One adapter per platform call: the registers to the handler's types. */
#define ABI_CALL(name, expr) \
	static long name(ABI_ARGS) { return (expr); }

ABI_CALL(abi_mmap, sys_mmap(a1, a2, a3, a4, (long)a5, a6))
ABI_CALL(abi_mprotect, sys_mprotect(a1, a2, a3))
ABI_CALL(abi_munmap, sys_munmap(a1, a2))
ABI_CALL(abi_brk, sys_brk(a1))
ABI_CALL(abi_mremap, sys_mremap(a1, a2, a3, a4, a5))
ABI_CALL(abi_madvise, sys_madvise(a1, a2, (long)a3))
ABI_CALL(abi_msync, 0)
ABI_CALL(abi_rt_sigaction, sys_rt_sigaction((long)a1, a2, a3, a4))
ABI_CALL(abi_rt_sigprocmask, sys_rt_sigprocmask((long)a1, a2, a3, a4))
ABI_CALL(abi_sigaltstack, sys_sigaltstack(a1, a2))
ABI_CALL(abi_rt_sigsuspend, sig_suspend(a1, a2))
ABI_CALL(abi_pause, sig_suspend(0, 0))
ABI_CALL(abi_alarm, sig_alarm(a1))
ABI_CALL(abi_getitimer, sig_getitimer((long)(int)a1, a2))
ABI_CALL(abi_setitimer, sig_setitimer((long)(int)a1, a2, a3))
ABI_CALL(abi_rt_sigpending, sig_pending(a1, a2))
ABI_CALL(abi_sched_yield, (hyp_yield(), 0))
ABI_CALL(abi_wait4, uproc_wait4((long)(int)a1, a2, (long)a3, a4))
ABI_CALL(abi_kill, uproc_kill((long)(int)a1, (long)a2, 0))
ABI_CALL(abi_tkill, uproc_kill((long)(int)a1, (long)a2, 1))
ABI_CALL(abi_tgkill, uproc_kill((long)(int)a2, (long)a3, 1))
ABI_CALL(abi_arch_prctl, sys_arch_prctl((long)a1, a2))
ABI_CALL(abi_gettid, uthread_cur()->ut_tid)
ABI_CALL(abi_set_robust_list, a2 == 24 ? 0 : -EINVAL)
ABI_CALL(abi_futex, futex_op(a1, (int)a2, (u32)a3, a4, a5, (u32)a6))
ABI_CALL(abi_waitid, uproc_waitid((long)(int)a1, (long)(int)a2, a3,
    (long)a4, a5))
ABI_CALL(abi_sched_getaffinity, sys_getaffinity(a2, a3))
ABI_CALL(abi_getcpu, sys_getcpu(a1, a2))
ABI_CALL(abi_prctl, sys_prctl((long)a1, a2))
ABI_CALL(abi_getrlimit, sys_prlimit(0, (long)a1, 0, a2))
ABI_CALL(abi_setrlimit, 0)
ABI_CALL(abi_prlimit64, sys_prlimit((long)a1, (long)a2, a3, a4))

static long
abi_exit(ABI_ARGS)
{
	uproc_exit((int)((a1 & 0xff) << 8), 0);
}

static long
abi_exit_group(ABI_ARGS)
{
	uproc_exit((int)((a1 & 0xff) << 8), 1);
}

static long
abi_set_tid_address(ABI_ARGS)
{
	struct uthread *ut = uthread_cur();

	ut->ut_clear_tid = a1;
	return ut->ut_tid;
}

static long
abi_sched_setaffinity(ABI_ARGS)
{
	struct uthread *ut = uthread_cur();

	return (a1 == 0 || (long)(int)a1 == ut->ut_proc->up_pid ||
	    (long)(int)a1 == ut->ut_tid) ? 0 : -ESRCH;
}

/*
 * A call the platform does not answer and that has pointer arguments
 * (ucheck_ptrargs): the pointers checked, then the kernel.
 */
static long
abi_kernel(ABI_ARGS)
{
	const u64 args[6] = { (u64)a1, (u64)a2, (u64)a3, (u64)a4, (u64)a5,
	    (u64)a6 };
	long rv;

	if ((rv = ucheck(nr, args)) != 0)
		return rv;
	return pith_syscall6(nr, a1, a2, a3, a4, a5, a6);
}

/*
 * Writing to a pipe nobody reads raises SIGPIPE on Linux, which ends
 * the program unless it ignores, handles or blocks the signal; the
 * return path (entry.S's pending check) delivers it.
 */
static long
abi_kernel_write(ABI_ARGS)
{
	long rv = abi_kernel(nr, a1, a2, a3, a4, a5, a6);
	struct uthread *ut;

	if (rv == -32 /* EPIPE */) {
		ut = uthread_cur();
		sig_post(ut->ut_proc, ut, 13 /* SIGPIPE */);
	}
	return rv;
}

#define SYS_write 1
#define SYS_pwrite64 18
#define SYS_writev 20
#define SYS_pwritev2 296

static const abi_fn abi_platform[ABI_NCALLS] = {
	[SYS_write] = abi_kernel_write,
	[SYS_pwrite64] = abi_kernel_write,
	[SYS_writev] = abi_kernel_write,
	[SYS_pwritev2] = abi_kernel_write,
	[SYS_mmap] = abi_mmap,
	[SYS_mprotect] = abi_mprotect,
	[SYS_munmap] = abi_munmap,
	[SYS_brk] = abi_brk,
	[SYS_mremap] = abi_mremap,
	[SYS_madvise] = abi_madvise,
	[SYS_msync] = abi_msync,
	[SYS_rt_sigaction] = abi_rt_sigaction,
	[SYS_rt_sigprocmask] = abi_rt_sigprocmask,
	[SYS_sigaltstack] = abi_sigaltstack,
	[SYS_rt_sigsuspend] = abi_rt_sigsuspend,
	[SYS_pause] = abi_pause,
	[SYS_alarm] = abi_alarm,
	[SYS_getitimer] = abi_getitimer,
	[SYS_setitimer] = abi_setitimer,
	[SYS_rt_sigpending] = abi_rt_sigpending,
	[SYS_sched_yield] = abi_sched_yield,
	[SYS_exit] = abi_exit,
	[SYS_exit_group] = abi_exit_group,
	[SYS_wait4] = abi_wait4,
	[SYS_kill] = abi_kill,
	[SYS_tkill] = abi_tkill,
	[SYS_tgkill] = abi_tgkill,
	[SYS_arch_prctl] = abi_arch_prctl,
	[SYS_gettid] = abi_gettid,
	[SYS_set_tid_address] = abi_set_tid_address,
	[SYS_set_robust_list] = abi_set_robust_list,
	[SYS_futex] = abi_futex,
	[SYS_waitid] = abi_waitid,
	[SYS_sched_getaffinity] = abi_sched_getaffinity,
	[SYS_sched_setaffinity] = abi_sched_setaffinity,
	[SYS_getcpu] = abi_getcpu,
	[SYS_prctl] = abi_prctl,
	[SYS_getrlimit] = abi_getrlimit,
	[SYS_setrlimit] = abi_setrlimit,
	[SYS_prlimit64] = abi_prlimit64,
};

/* The calls that take the whole trapframe; all below 64 today. */
#define ABI_FRAME_CALLS ((1ul << SYS_rt_sigreturn) | (1ul << SYS_clone) | \
	(1ul << SYS_fork) | (1ul << SYS_vfork) | (1ul << SYS_execve))
#define ABI_IS_FRAME(nr) ((u64)(nr) < 64 && (ABI_FRAME_CALLS & (1ul << (nr))))

/* Read by entry.S; written once, by abi_init. */
abi_fn abi_calls[ABI_NCALLS];

void
abi_init(void)
{
	long nr;

	for (nr = 0; nr < ABI_NCALLS; nr++) {
		if (ABI_IS_FRAME(nr))
			abi_calls[nr] = NULL;
		else if (abi_platform[nr] != NULL)
			abi_calls[nr] = abi_platform[nr];
		else if (ucheck_ptrargs[nr])
			abi_calls[nr] = abi_kernel;
		else
			abi_calls[nr] = pith_syscall6;
	}
}

/* A call in abi_frame_calls; *replaced: return by iret, not sysret. */
static long
abi_frame_call(struct trapframe *tf, long nr, int *replaced)
{
	long rv;

	switch (nr) {
	case SYS_rt_sigreturn:
		*replaced = 1;
		return sig_return(tf);
	case SYS_clone:
		return uproc_clone(tf, tf->tf_rdi, tf->tf_rsi, tf->tf_rdx,
		    tf->tf_r10, tf->tf_r8);
	case SYS_fork:
		return uproc_clone(tf, 17 /* SIGCHLD */, 0, 0, 0, 0);
	case SYS_vfork:
		return uproc_clone(tf, 0x4000 | 0x100 | 17, 0, 0, 0, 0);
	case SYS_execve:
		rv = sys_execve(tf, tf->tf_rdi, tf->tf_rsi, tf->tf_rdx);
		*replaced = rv == 0;
		return rv;
	default:
		return -ENOSYS;         /* a bit set without a case here */
	}
}

/*
 * The `syscall` instruction's slow way (entry.S): with the whole
 * trapframe, for the calls in abi_frame_calls, numbers past the table,
 * a return address sysret cannot take (how ABI_SLOW_CALL), and calls
 * that left work for the way out -- a signal, an exit (ABI_SLOW_RETURN:
 * the call is made, its result in tf_rax).  nr is the call's number
 * either way (a restart after a signal needs it).  Returns nonzero when
 * the frame must go back by iret.
 */
int
metal_syscall(struct trapframe *tf, int how, long nr)
{
	int replaced = 0;
	abi_fn fn;

	if (how == ABI_SLOW_CALL) {
		if (ABI_IS_FRAME(nr))
			tf->tf_rax = (u64)abi_frame_call(tf, nr, &replaced);
		else {
			/* Past the table: the kernel says ENOSYS. */
			fn = (u64)nr < ABI_NCALLS ? abi_calls[nr] : pith_syscall6;
			tf->tf_rax = (u64)fn(nr, (long)tf->tf_rdi,
			    (long)tf->tf_rsi, (long)tf->tf_rdx, (long)tf->tf_r10,
			    (long)tf->tf_r8, (long)tf->tf_r9);
		}
	}
	uproc_return_check(tf);
	/* sysret needs a canonical rip; iret for replaced frames. */
	return replaced || tf->tf_rip >= USER_TOP;
}

/* entry.S reads these structures by the numbers in asmoff.h. */
#define ASMOFF(type, field, off) \
	_Static_assert(__builtin_offsetof(type, field) == (off), #off)
ASMOFF(struct trapframe, tf_r15, TF_R15);
ASMOFF(struct trapframe, tf_r14, TF_R14);
ASMOFF(struct trapframe, tf_r13, TF_R13);
ASMOFF(struct trapframe, tf_r12, TF_R12);
ASMOFF(struct trapframe, tf_r11, TF_R11);
ASMOFF(struct trapframe, tf_r10, TF_R10);
ASMOFF(struct trapframe, tf_r9, TF_R9);
ASMOFF(struct trapframe, tf_r8, TF_R8);
ASMOFF(struct trapframe, tf_rbp, TF_RBP);
ASMOFF(struct trapframe, tf_rdi, TF_RDI);
ASMOFF(struct trapframe, tf_rsi, TF_RSI);
ASMOFF(struct trapframe, tf_rdx, TF_RDX);
ASMOFF(struct trapframe, tf_rcx, TF_RCX);
ASMOFF(struct trapframe, tf_rbx, TF_RBX);
ASMOFF(struct trapframe, tf_rax, TF_RAX);
ASMOFF(struct trapframe, tf_vector, TF_VECTOR);
ASMOFF(struct trapframe, tf_err, TF_ERR);
ASMOFF(struct trapframe, tf_rip, TF_RIP);
ASMOFF(struct trapframe, tf_cs, TF_CS);
ASMOFF(struct trapframe, tf_rflags, TF_RFLAGS);
ASMOFF(struct trapframe, tf_rsp, TF_RSP);
ASMOFF(struct trapframe, tf_ss, TF_SS);
_Static_assert(sizeof(struct trapframe) == TF_SIZE, "TF_SIZE");
ASMOFF(struct uthread, ut_proc, UT_PROC);
ASMOFF(struct uthread, ut_doomed, UT_DOOMED);
ASMOFF(struct uthread, ut_sigmask, UT_SIGMASK);
ASMOFF(struct uthread, ut_sigpending, UT_SIGPENDING);
ASMOFF(struct uthread, ut_hassaved, UT_HASSAVED);
ASMOFF(struct uproc, up_exiting, UP_EXITING);
ASMOFF(struct uproc, up_execer, UP_EXECER);
ASMOFF(struct uproc, up_sigpending, UP_SIGPENDING);
/* entry.S loads these as 32-bit words, the rest as 64-bit. */
_Static_assert(sizeof(((struct uthread *)0)->ut_doomed) == 4 &&
    sizeof(((struct uthread *)0)->ut_hassaved) == 4 &&
    sizeof(((struct uproc *)0)->up_exiting) == 4, "int fields");
_Static_assert(ABI_NCALLS == 1 << ABI_NCALLS_SHIFT && ABI_NCALLS > 335,
    "ABI_NCALLS");
