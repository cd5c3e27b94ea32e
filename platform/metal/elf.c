/*
 * The ELF loader: a static x86-64 Linux program (ET_EXEC, or ET_DYN with
 * no PT_INTERP: static-PIE, which relocates itself) into a fresh address
 * space, with the initial stack the System V x86-64 ABI describes: argc,
 * argv, envp and the auxiliary vector, 16-byte aligned at the entry.
 *
 * The image is a buffer the caller owns (a boot module or a file read by
 * execve); segments are copied, not mapped, so the buffer may go once
 * this returns.  A static-PIE lands at VM_PIE_BASE; AT_BASE is 0 (no
 * interpreter), as Linux gives static-PIE programs.  Bad input is ENOEXEC
 * with the reason in elf_why, never a crash.
 */
#include "uproc.h"

#define ET_EXEC 2
#define ET_DYN 3
#define EM_X86_64 62
#define PT_LOAD 1
#define PT_INTERP 3
#define PT_PHDR 6
#define PF_X 1
#define PF_W 2
#define PF_R 4

#define AT_NULL 0
#define AT_PHDR 3
#define AT_PHENT 4
#define AT_PHNUM 5
#define AT_PAGESZ 6
#define AT_BASE 7
#define AT_FLAGS 8
#define AT_ENTRY 9
#define AT_UID 11
#define AT_EUID 12
#define AT_GID 13
#define AT_EGID 14
#define AT_PLATFORM 15
#define AT_HWCAP 16
#define AT_CLKTCK 17
#define AT_SECURE 23
#define AT_RANDOM 25
#define AT_EXECFN 31

struct elf64_ehdr {
	u8 e_ident[16];
	u16 e_type, e_machine;
	u32 e_version;
	u64 e_entry, e_phoff, e_shoff;
	u32 e_flags;
	u16 e_ehsize, e_phentsize, e_phnum, e_shentsize, e_shnum, e_shstrndx;
};

struct elf64_phdr {
	u32 p_type, p_flags;
	u64 p_offset, p_vaddr, p_paddr, p_filesz, p_memsz, p_align;
};

#define PG_DOWN(a) ((a) & ~(PAGE_SIZE - 1))
#define PG_UP(a) (((a) + PAGE_SIZE - 1) & ~(PAGE_SIZE - 1))
#define STRINGS_MAX (120ul * 1024)

/* Why the last load failed with ENOEXEC (execve stays silent, as Linux). */
const char *elf_why = "";

static int
elf_bad(const char *why)
{
	elf_why = why;
	return ENOEXEC;
}

static hyp_size_t
kstrlen(const char *s)
{
	hyp_size_t n = 0;

	while (s[n] != '\0')
		n++;
	return n;
}

static int
phdr_prot(const struct elf64_phdr *ph)
{
	return ((ph->p_flags & PF_R) ? VM_PROT_READ : 0) |
	    ((ph->p_flags & PF_W) ? VM_PROT_WRITE : 0) |
	    ((ph->p_flags & PF_X) ? VM_PROT_EXEC : 0);
}

/* Check the headers; the lowest and highest addresses the loads use. */
static int
elf_check(const u8 *img, u64 size, u64 *lo, u64 *hi)
{
	const struct elf64_ehdr *eh = (const void *)img;
	const struct elf64_phdr *ph;
	int i, nload = 0;

	if (size < sizeof(*eh) || memcmp(eh->e_ident, "\177ELF", 4) != 0)
		return elf_bad("no ELF header");
	if (eh->e_ident[4] != 2 || eh->e_ident[5] != 1 || eh->e_machine != EM_X86_64)
		return elf_bad("not 64-bit little-endian x86-64");
	if (eh->e_type != ET_EXEC && eh->e_type != ET_DYN)
		return elf_bad("neither an executable nor a position-independent one");
	if (eh->e_phentsize != sizeof(*ph) || eh->e_phnum == 0 ||
	    eh->e_phoff > size || (size - eh->e_phoff) / sizeof(*ph) < eh->e_phnum)
		return elf_bad("bad program headers");
	*lo = ~0ul;
	*hi = 0;
	ph = (const void *)(img + eh->e_phoff);
	for (i = 0; i < eh->e_phnum; i++, ph++) {
		if (ph->p_type == PT_INTERP)
			return elf_bad("dynamically linked (has an interpreter); "
			    "build with -static");
		if (ph->p_type != PT_LOAD || ph->p_memsz == 0)
			continue;
		if (ph->p_filesz > ph->p_memsz || ph->p_offset > size ||
		    size - ph->p_offset < ph->p_filesz ||
		    ph->p_vaddr + ph->p_memsz < ph->p_vaddr ||
		    ph->p_vaddr + ph->p_memsz > USER_TOP)
			return elf_bad("a segment lies outside the file or memory");
		if (PG_DOWN(ph->p_vaddr) < *lo)
			*lo = PG_DOWN(ph->p_vaddr);
		if (PG_UP(ph->p_vaddr + ph->p_memsz) > *hi)
			*hi = PG_UP(ph->p_vaddr + ph->p_memsz);
		nload++;
	}
	if (nload == 0)
		return elf_bad("nothing to load");
	if (eh->e_type == ET_EXEC && (*lo < USER_MIN || *hi > VM_MMAP_TOP))
		return elf_bad("loads below 4 MiB or too high");
	if (eh->e_type == ET_DYN && *hi - *lo > VM_MMAP_TOP - VM_PIE_BASE)
		return elf_bad("too large");
	return 0;
}

/* The union of the protections of every load segment touching page a. */
static int
seg_prot_at(const u8 *img, u64 bias, u64 a)
{
	const struct elf64_ehdr *eh = (const void *)img;
	const struct elf64_phdr *ph = (const void *)(img + eh->e_phoff);
	int i, prot = 0;

	for (i = 0; i < eh->e_phnum; i++) {
		if (ph[i].p_type != PT_LOAD || ph[i].p_memsz == 0)
			continue;
		if (PG_DOWN(ph[i].p_vaddr + bias) <= a &&
		    a < PG_UP(ph[i].p_vaddr + bias + ph[i].p_memsz))
			prot |= phdr_prot(&ph[i]);
	}
	return prot;
}

static int
elf_segments(struct vmspace *vm, const u8 *img, u64 bias)
{
	const struct elf64_ehdr *eh = (const void *)img;
	const struct elf64_phdr *ph = (const void *)(img + eh->e_phoff);
	int i, error;

	/* Map read-write first: pages two segments share are mapped once. */
	for (i = 0; i < eh->e_phnum; i++) {
		u64 a, lo, hi;

		if (ph[i].p_type != PT_LOAD || ph[i].p_memsz == 0)
			continue;
		lo = PG_DOWN(ph[i].p_vaddr + bias);
		hi = PG_UP(ph[i].p_vaddr + bias + ph[i].p_memsz);
		for (a = lo; a < hi; a += PAGE_SIZE) {
			if (!vms_range_free(vm, a, a + PAGE_SIZE, NULL))
				continue;
			error = vms_map(vm, a, PAGE_SIZE, VM_PROT_READ | VM_PROT_WRITE);
			if (error != 0)
				return error;
		}
		/*
		 * As Linux maps whole file pages: the file bytes before the
		 * segment in its first page come along (they hold the ELF and
		 * program headers of binaries that load none explicitly).
		 */
		if (((ph[i].p_vaddr - ph[i].p_offset) & (PAGE_SIZE - 1)) == 0) {
			u64 lead = ph[i].p_offset & (PAGE_SIZE - 1);

			error = vms_copyout(vm, ph[i].p_vaddr + bias - lead,
			    img + ph[i].p_offset - lead, lead);
			if (error != 0)
				return error;
		}
	}
	/* The segments' own bytes last, so that they win over leads. */
	for (i = 0; i < eh->e_phnum; i++) {
		if (ph[i].p_type != PT_LOAD || ph[i].p_memsz == 0)
			continue;
		error = vms_copyout(vm, ph[i].p_vaddr + bias, img + ph[i].p_offset,
		    ph[i].p_filesz);
		if (error != 0)
			return error;
	}
	for (i = 0; i < eh->e_phnum; i++) {
		u64 lo, hi;

		if (ph[i].p_type != PT_LOAD || ph[i].p_memsz == 0)
			continue;
		lo = PG_DOWN(ph[i].p_vaddr + bias);
		hi = PG_UP(ph[i].p_vaddr + bias + ph[i].p_memsz);
		if ((error = vms_protect(vm, lo, hi - lo, phdr_prot(&ph[i]))) != 0)
			return error;
	}
	/*
	 * A page two segments share (only a first or last page can be) gets
	 * what either needs, so that text and data in one page both work.
	 */
	for (i = 0; i < eh->e_phnum; i++) {
		u64 ends[2];
		int k;

		if (ph[i].p_type != PT_LOAD || ph[i].p_memsz == 0)
			continue;
		ends[0] = PG_DOWN(ph[i].p_vaddr + bias);
		ends[1] = PG_DOWN(ph[i].p_vaddr + bias + ph[i].p_memsz - 1);
		for (k = 0; k < 2; k++) {
			int prot = seg_prot_at(img, bias, ends[k]);

			if ((error = vms_protect(vm, ends[k], PAGE_SIZE, prot)) != 0)
				return error;
		}
	}
	return 0;
}

/* Where the program headers are in the loaded image (AT_PHDR). */
static u64
elf_phdr_addr(const u8 *img, u64 bias)
{
	const struct elf64_ehdr *eh = (const void *)img;
	const struct elf64_phdr *ph = (const void *)(img + eh->e_phoff);
	int i;

	for (i = 0; i < eh->e_phnum; i++)
		if (ph[i].p_type == PT_PHDR)
			return ph[i].p_vaddr + bias;
	for (i = 0; i < eh->e_phnum; i++)
		if (ph[i].p_type == PT_LOAD && eh->e_phoff >= ph[i].p_offset &&
		    eh->e_phoff - ph[i].p_offset < ph[i].p_filesz)
			return ph[i].p_vaddr + bias + (eh->e_phoff - ph[i].p_offset);
	/* Not in a segment: where the first one's page brought them. */
	for (i = 0; i < eh->e_phnum; i++)
		if (ph[i].p_type == PT_LOAD)
			return ph[i].p_vaddr - ph[i].p_offset + eh->e_phoff + bias;
	return 0;
}

/*
 * The initial stack, built in a kernel buffer mirroring the top of the
 * user stack and copied out whole:
 *	[strings: execfn, argv, envp, "x86_64", 16 random bytes]
 *	padding to 16
 *	argc, argv[], NULL, envp[], NULL, auxv pairs, AT_NULL
 */
static int
elf_stack(struct vmspace *vm, const u8 *img, u64 bias, const char *execfn,
    char *const argv[], int argc, char *const envp[], int envc, u64 *spp)
{
	const struct elf64_ehdr *eh = (const void *)img;
	u64 top = VM_STACK_TOP, strsz = 0, nwords, sp, p, *w, i;
	u64 argp, envpp, execfn_u, rnd_u, plat_u;
	u8 *buf;
	int error, j;

	for (j = 0; j < argc; j++)
		strsz += kstrlen(argv[j]) + 1;
	for (j = 0; j < envc; j++)
		strsz += kstrlen(envp[j]) + 1;
	strsz += kstrlen(execfn) + 1 + 7 + 16;
	if (strsz > STRINGS_MAX)
		return E2BIG;
	nwords = 1 + (u64)argc + 1 + (u64)envc + 1 + 2 * 19;
	sp = (top - strsz) & ~15ul;
	sp -= nwords * 8;
	sp &= ~15ul;
	if (top - sp > VM_STACK_INIT)
		return E2BIG;
	buf = mem_alloc(top - sp, 16);
	if (buf == NULL)
		return ENOMEM;
	memset(buf, 0, top - sp);
#define UB(a) (buf + ((a) - sp))
	/* Strings from the top down. */
	p = top;
	p -= kstrlen(execfn) + 1;
	execfn_u = p;
	memcpy(UB(p), execfn, kstrlen(execfn) + 1);
	p -= 7;
	plat_u = p;
	memcpy(UB(p), "x86_64", 7);
	p -= 16;
	rnd_u = p;
	(void)hyp_getrandom(UB(p), 16);
	w = (u64 *)(void *)UB(sp);
	*w++ = (u64)argc;
	argp = p;
	for (j = argc - 1; j >= 0; j--) {
		hyp_size_t n = kstrlen(argv[j]) + 1;

		argp -= n;
		memcpy(UB(argp), argv[j], n);
	}
	envpp = argp;
	for (j = envc - 1; j >= 0; j--) {
		hyp_size_t n = kstrlen(envp[j]) + 1;

		envpp -= n;
		memcpy(UB(envpp), envp[j], n);
	}
	/* The pointers, now that the strings have addresses. */
	p = argp;
	for (j = 0; j < argc; j++) {
		*w++ = p;
		p += kstrlen(argv[j]) + 1;
	}
	*w++ = 0;
	p = envpp;
	for (j = 0; j < envc; j++) {
		*w++ = p;
		p += kstrlen(envp[j]) + 1;
	}
	*w++ = 0;
#define AUX(k, v) do { *w++ = (k); *w++ = (v); } while (0)
	AUX(AT_PHDR, elf_phdr_addr(img, bias));
	AUX(AT_PHENT, sizeof(struct elf64_phdr));
	AUX(AT_PHNUM, eh->e_phnum);
	AUX(AT_PAGESZ, PAGE_SIZE);
	AUX(AT_BASE, 0);
	AUX(AT_FLAGS, 0);
	AUX(AT_ENTRY, eh->e_entry + bias);
	AUX(AT_UID, 0);
	AUX(AT_EUID, 0);
	AUX(AT_GID, 0);
	AUX(AT_EGID, 0);
	AUX(AT_SECURE, 0);
	/* CPUID 1 EDX, as Linux reports it. */
	{
		u32 a, b, c, d;

		__asm__ volatile("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d)
		    : "a"(1), "c"(0));
		AUX(AT_HWCAP, d);
	}
	AUX(AT_CLKTCK, 100);
	AUX(AT_PLATFORM, plat_u);
	AUX(AT_RANDOM, rnd_u);
	AUX(AT_EXECFN, execfn_u);
	AUX(AT_NULL, 0);
#undef AUX
	i = (u64)((u8 *)w - UB(sp));
	if (i > (u64)(envpp - sp))
		metal_fatal("elf_stack: vectors overran the strings");
	error = vms_copyout(vm, sp, buf, top - sp);
	mem_free(buf, top - sp);
#undef UB
	if (error == 0)
		*spp = sp;
	return error;
}

int
elf_load(const u8 *img, u64 size, const char *execfn, char *const argv[],
    int argc, char *const envp[], int envc, struct vmspace **vmp,
    struct elf_image *ei)
{
	const struct elf64_ehdr *eh = (const void *)img;
	struct vmspace *vm;
	u64 lo, hi, bias = 0;
	int error;

	if ((error = elf_check(img, size, &lo, &hi)) != 0)
		return error;
	if (eh->e_type == ET_DYN)
		bias = VM_PIE_BASE - lo;
	vm = vms_create();
	if (vm == NULL)
		return ENOMEM;
	if ((error = elf_segments(vm, img, bias)) != 0)
		goto fail;
	vm->vm_brk_base = vm->vm_brk = hi + bias;
	vm->vm_stack_lo = VM_STACK_TOP - VM_STACK_INIT;
	vm->vm_stack_limit = VM_STACK_TOP - VM_STACK_MAX;
	vm->vm_mmap_next = VM_MMAP_TOP;
	error = vms_map(vm, vm->vm_stack_lo, VM_STACK_INIT,
	    VM_PROT_READ | VM_PROT_WRITE);
	if (error != 0)
		goto fail;
	error = elf_stack(vm, img, bias, execfn, argv, argc, envp, envc,
	    &ei->ei_sp);
	if (error != 0)
		goto fail;
	ei->ei_entry = eh->e_entry + bias;
	*vmp = vm;
	return 0;
fail:
	vms_release(vm);
	return error;
}
