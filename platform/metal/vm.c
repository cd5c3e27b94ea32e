/*
 * Page tables: the kernel's, the kernel stacks with their guard pages, and
 * the address spaces of user programs.
 *
 * Layout of every address space (4-level paging, 4 KiB pages for all that
 * changes, 2 MiB pages for the fixed direct map):
 *
 *	0 - 4 MiB		the image, identity-mapped, supervisor only:
 *				text read-only and executable, the rest
 *				no-execute; page 0 unmapped
 *	4 MiB - 128 TiB		the user program (USER_MIN .. USER_TOP)
 *	KERN_DMAP		physical memory below 1 GiB, no-execute: the
 *				heap's addresses (metal_kva / metal_pa)
 *	KERN_STACKS		kernel thread stacks, 512 KiB slots, the low
 *				part of each never mapped: the guard
 *	KERN_MMIO		device memory mapped by metal_map_mmio
 *
 * Kernel threads run on the boot tables (vm_kernel_cr3), which in place of
 * the user part identity-map the first 1 GiB (2 MiB pages, no-execute), so
 * boot code may still read the multiboot structures by physical address.
 * The kernel's upper-half tables are shared: a user PML4 copies the upper
 * 256 entries once, and later stacks and MMIO mappings land in the shared
 * lower levels.
 *
 * User page-table entries: a present entry maps a page with the
 * program's protection (U, RW if writable, NX unless executable).  A page
 * not touched yet is a non-present entry with PTE_LAZY and the same W/NX
 * bits: the first access (vms_fault, or the kernel's own in a system
 * call) gives it a zeroed page.  A PROT_NONE page is a non-present entry
 * with PTE_MAPPED set (and its frame kept, PTE_FRAME, if it had one), so
 * that mprotect can bring it back and mmap does not reuse the range.  A
 * zero entry is unmapped.  So that a program out of memory still hears
 * ENOMEM from mmap and brk rather than dying on a touch, abi.c refuses a
 * mapping larger than the memory left (mem_user_avail); a touch that finds
 * none left ends the program (SIGKILL), as Linux's OOM killer would.
 * The main thread's stack grows on demand down to its limit.
 *
 * MAP_SHARED anonymous memory is marked PTE_SHARED (in every kind of
 * entry, kept through mprotect and mremap): fork gives the child the
 * same frames instead of copies, filling a lazy one first so that both
 * see one page, and shared_refs counts each frame's other holders, so
 * that only the last unmap frees it.  (Futexes on it are still keyed
 * per address space: uproc.c.)
 *
 * One CPU and no preemption in ring 0: nothing here locks.  The caller
 * owns the struct vmspace (uproc.c counts its references).
 */
#include "metal.h"
#include "uproc.h"

#define PTE_P 0x1ul
#define PTE_W 0x2ul
#define PTE_U 0x4ul
#define PTE_PWT 0x8ul
#define PTE_PCD 0x10ul
#define PTE_PS 0x80ul
#define PTE_MAPPED 0x200ul              /* software: part of a user mapping */
#define PTE_FRAME 0x400ul               /* software: non-present but has a page */
#define PTE_LAZY 0x800ul                /* software: accessible, no page yet */
#define PTE_SHARED (1ul << 52)          /* software: MAP_SHARED anonymous */
#define PTE_NX (1ul << 63)
#define PTE_ADDR 0x000ffffffffff000ul

#define ENOMEM 12
#define EFAULT 14

#define IMAGE_TOP 0x400000ul
#define RAM_MAP 0x40000000ul            /* 1 GiB */
#define KSTACK_SLOT (512ul * 1024)
#define KSTACK_NSLOTS 4096

extern char _load_start[], _etext[];

static u64 vm_ramtop;                   /* RAM's end, capped at RAM_MAP */
static u64 kpml4[512] __attribute__((aligned(4096)));
static u64 kpdpt_low[512] __attribute__((aligned(4096)));
static u64 kpd_low[512] __attribute__((aligned(4096)));
static u64 kpt_image[2][512] __attribute__((aligned(4096)));
static u64 kpdpt_dmap[512] __attribute__((aligned(4096)));
static u64 kpd_dmap[512] __attribute__((aligned(4096)));
static u64 kpdpt_stacks[512] __attribute__((aligned(4096)));
static u64 kpdpt_mmio[512] __attribute__((aligned(4096)));

static u64 pte_nx;                      /* PTE_NX if the CPU has it */
static void *kstack_backing[KSTACK_NSLOTS];
static u8 kstack_used[KSTACK_NSLOTS];
static u64 mmio_next = KERN_MMIO;

/* A static table's physical address: the image is identity-mapped. */
static u64
img_pa(const void *p)
{
	return (u64)(uintptr)p;
}

void
vm_init(u64 ramtop)
{
	u64 a, text_lo = (u64)(uintptr)_load_start, text_hi = (u64)(uintptr)_etext;
	unsigned i;

	if ((rdmsr(MSR_EFER) & EFER_NXE) != 0)
		pte_nx = PTE_NX;
	/* The image: 4 KiB pages, page 0 left out so NULL faults. */
	for (a = PAGE_SIZE; a < IMAGE_TOP; a += PAGE_SIZE) {
		u64 f = PTE_P;

		if (a < text_lo || a >= text_hi)
			f |= PTE_W | pte_nx;
		kpt_image[a >> 21][(a >> 12) & 511] = a | f;
	}
	kpd_low[0] = img_pa(kpt_image[0]) | PTE_P | PTE_W;
	kpd_low[1] = img_pa(kpt_image[1]) | PTE_P | PTE_W;
	for (i = 2; i < 512; i++)
		kpd_low[i] = ((u64)i << 21) | PTE_P | PTE_W | PTE_PS | pte_nx;
	kpdpt_low[0] = img_pa(kpd_low) | PTE_P | PTE_W;
	kpml4[0] = img_pa(kpdpt_low) | PTE_P | PTE_W;

	/* The direct map of the first 1 GiB (what the heap hands out). */
	for (i = 0; i < 512; i++)
		kpd_dmap[i] = ((u64)i << 21) | PTE_P | PTE_W | PTE_PS | pte_nx;
	kpdpt_dmap[0] = img_pa(kpd_dmap) | PTE_P | PTE_W;
	kpml4[(KERN_DMAP >> 39) & 511] = img_pa(kpdpt_dmap) | PTE_P | PTE_W;
	kpml4[(KERN_STACKS >> 39) & 511] = img_pa(kpdpt_stacks) | PTE_P | PTE_W;
	kpml4[(KERN_MMIO >> 39) & 511] = img_pa(kpdpt_mmio) | PTE_P | PTE_W;
	vm_ramtop = ramtop < RAM_MAP ? ramtop : RAM_MAP;
	load_cr3(img_pa(kpml4));
}

u64
vm_kernel_cr3(void)
{
	return img_pa(kpml4);
}

static void
invlpg(u64 va)
{
	__asm__ volatile("invlpg (%0)" :: "r"(va) : "memory");
}

/* A zeroed page-table page, or NULL. */
static u64 *
pt_alloc(void)
{
	u64 *t = mem_alloc(PAGE_SIZE, PAGE_SIZE);

	if (t != NULL)
		memset(t, 0, PAGE_SIZE);
	return t;
}

static u64 *
pt_next(u64 e)
{
	return metal_kva(e & PTE_ADDR);
}

/*
 * The level-1 entry for va under pml4, creating the tables on the way
 * when alloc (user: intermediate entries carry U); NULL if absent or out
 * of memory.
 */
static u64 *
pte_walk(u64 *pml4, u64 va, int alloc, int user)
{
	u64 *t = pml4, *n;
	int shift;

	for (shift = 39; shift > 12; shift -= 9) {
		u64 *e = &t[(va >> shift) & 511];

		if ((*e & PTE_P) == 0) {
			if (!alloc || (n = pt_alloc()) == NULL)
				return NULL;
			/* The kernel's own tables stay for good: not "in use". */
			if (!user)
				mem_forget(PAGE_SIZE);
			*e = metal_pa(n) | PTE_P | PTE_W | (user ? PTE_U : 0);
		}
		if (*e & PTE_PS)
			return NULL;
		t = pt_next(*e);
	}
	return &t[(va >> 12) & 511];
}

/* --- kernel stacks ------------------------------------------------------ */

void *
vm_kstack_alloc(hyp_size_t size)
{
	u64 base, off;
	u8 *mem;
	int s;

	if (size > KSTACK_SLOT - PAGE_SIZE)
		return NULL;
	for (s = 0; s < KSTACK_NSLOTS && kstack_used[s]; s++)
		;
	if (s == KSTACK_NSLOTS)
		return NULL;
	mem = mem_alloc(size, PAGE_SIZE);
	if (mem == NULL)
		return NULL;
	base = KERN_STACKS + (u64)s * KSTACK_SLOT + KSTACK_SLOT - size;
	for (off = 0; off < size; off += PAGE_SIZE) {
		u64 *pte = pte_walk(kpml4, base + off, 1, 0);

		if (pte == NULL) {
			while (off > 0) {
				off -= PAGE_SIZE;
				*pte_walk(kpml4, base + off, 0, 0) = 0;
				invlpg(base + off);
			}
			mem_free(mem, size);
			return NULL;
		}
		*pte = metal_pa(mem + off) | PTE_P | PTE_W | pte_nx;
	}
	kstack_used[s] = 1;
	kstack_backing[s] = mem;
	return (void *)(uintptr)base;
}

void
vm_kstack_free(void *p, hyp_size_t size)
{
	u64 base = (u64)(uintptr)p, off;
	int s = (int)((base - KERN_STACKS) / KSTACK_SLOT);

	for (off = 0; off < size; off += PAGE_SIZE) {
		*pte_walk(kpml4, base + off, 0, 0) = 0;
		invlpg(base + off);
	}
	mem_free(kstack_backing[s], size);
	kstack_backing[s] = NULL;
	kstack_used[s] = 0;
}

void *
metal_map_mmio(u64 pa, hyp_size_t len)
{
	u64 off = pa & (PAGE_SIZE - 1), va = mmio_next, a;

	len = (len + off + PAGE_SIZE - 1) & ~(PAGE_SIZE - 1);
	for (a = 0; a < len; a += PAGE_SIZE) {
		u64 *pte = pte_walk(kpml4, va + a, 1, 0);

		if (pte == NULL)
			return NULL;
		*pte = ((pa & ~(PAGE_SIZE - 1)) + a) | PTE_P | PTE_W | PTE_PCD |
		    PTE_PWT | pte_nx;
	}
	mmio_next += len + PAGE_SIZE;
	return (void *)(uintptr)(va + off);
}

/* --- user address spaces ------------------------------------------------ */

struct vmspace *
vms_create(void)
{
	struct vmspace *vm;
	u64 *pdpt, *pd;
	int i;

	vm = mem_alloc(sizeof(*vm), 16);
	if (vm == NULL)
		return NULL;
	memset(vm, 0, sizeof(*vm));
	vm->vm_pml4 = pt_alloc();
	pdpt = pt_alloc();
	pd = pt_alloc();
	if (vm->vm_pml4 == NULL || pdpt == NULL || pd == NULL) {
		if (vm->vm_pml4 != NULL)
			mem_free(vm->vm_pml4, PAGE_SIZE);
		if (pdpt != NULL)
			mem_free(pdpt, PAGE_SIZE);
		if (pd != NULL)
			mem_free(pd, PAGE_SIZE);
		mem_free(vm, sizeof(*vm));
		return NULL;
	}
	for (i = 256; i < 512; i++)
		vm->vm_pml4[i] = kpml4[i];
	pd[0] = kpd_low[0];
	pd[1] = kpd_low[1];
	pdpt[0] = metal_pa(pd) | PTE_P | PTE_W | PTE_U;
	vm->vm_pml4[0] = metal_pa(pdpt) | PTE_P | PTE_W | PTE_U;
	vm->vm_cr3 = metal_pa(vm->vm_pml4);
	vm->vm_mmap_next = VM_MMAP_TOP;
	vm->vm_refs = 1;
	return vm;
}

/*
 * Call fn on every user entry that maps something in [lo, hi); tables
 * are skipped whole when absent.  fn may change the entry.
 */
static int
vms_walk(struct vmspace *vm, u64 lo, u64 hi,
    int (*fn)(struct vmspace *, u64 va, u64 *pte, void *), void *arg)
{
	u64 va = lo;
	int error;

	while (va < hi) {
		u64 *t = vm->vm_pml4, *e = NULL;
		int shift, skip = 0;

		for (shift = 39; shift > 12; shift -= 9) {
			e = &t[(va >> shift) & 511];
			if ((*e & PTE_P) == 0) {
				u64 step = 1ul << shift;

				va = (va & ~(step - 1)) + step;
				skip = 1;
				break;
			}
			t = pt_next(*e);
		}
		if (skip)
			continue;
		e = &t[(va >> 12) & 511];
		if (*e != 0 && (error = fn(vm, va, e, arg)) != 0)
			return error;
		va += PAGE_SIZE;
	}
	return 0;
}

/*
 * Holders of each shared frame besides the first, by frame number below
 * vm_ramtop; made on the first fork of a shared page.  NULL until then.
 */
static u16 *shared_refs;

/* One more holder of the frame of shared entry e: 0, or ENOMEM. */
static int
shared_ref(u64 e)
{
	u64 n = vm_ramtop >> 12, pfn = (e & PTE_ADDR) >> 12;

	if (shared_refs == NULL) {
		if ((shared_refs = mem_alloc(n * sizeof(u16), 16)) == NULL)
			return ENOMEM;
		memset(shared_refs, 0, n * sizeof(u16));
	}
	if (pfn >= n || shared_refs[pfn] == 0xffff)
		return ENOMEM;
	shared_refs[pfn]++;
	return 0;
}

/* The frame of entry pte is let go: freed unless shared and held still. */
static void
page_free(u64 pte)
{
	u64 pfn = (pte & PTE_ADDR) >> 12;

	if ((pte & (PTE_P | PTE_FRAME)) == 0)
		return;
	if ((pte & PTE_SHARED) && shared_refs != NULL &&
	    pfn < (vm_ramtop >> 12) && shared_refs[pfn] > 0) {
		shared_refs[pfn]--;
		return;
	}
	mem_free(metal_kva(pte & PTE_ADDR), PAGE_SIZE);
}

static int
unmap_one(struct vmspace *vm, u64 va, u64 *pte, void *arg)
{
	page_free(*pte);
	*pte = 0;
	return 0;
}

/*
 * Free the user page tables below t, a table at level shift (39: the
 * PML4).  first: t lies on the path PML4[0] -> PDPT[0] -> PD, whose
 * entries 0 and 1 are the image's shared tables and stay.
 */
static void
tables_free(u64 *t, int shift, int first)
{
	int i, n = shift == 39 ? 256 : 512;

	for (i = 0; i < n; i++) {
		if ((t[i] & PTE_P) == 0)
			continue;
		if (shift == 21) {
			if (!(first && i < 2))
				mem_free(pt_next(t[i]), PAGE_SIZE);
			continue;
		}
		tables_free(pt_next(t[i]), shift - 9, first && i == 0);
		mem_free(pt_next(t[i]), PAGE_SIZE);
	}
}

void
vms_release(struct vmspace *vm)
{
	if (vm->vm_refs <= 0)
		metal_fatal("vms_release: no reference");
	if (--vm->vm_refs > 0)
		return;
	(void)vms_walk(vm, USER_MIN, USER_TOP, unmap_one, NULL);
	tables_free(vm->vm_pml4, 39, 1);
	mem_free(vm->vm_pml4, PAGE_SIZE);
	mem_free(vm, sizeof(*vm));
}

/*
 * The entry for a user page with protection prot and frame pa (0: none
 * yet, so a lazy or frameless PROT_NONE entry).
 */
static u64
pte_make(int prot, u64 pa)
{
	u64 f = PTE_MAPPED | PTE_U;

	if ((prot & VM_PROT_ALL) == 0)
		return f | (pa != 0 ? pa | PTE_FRAME : 0);
	if (prot & VM_PROT_WRITE)
		f |= PTE_W;
	if ((prot & VM_PROT_EXEC) == 0)
		f |= pte_nx;
	return f | (pa != 0 ? pa | PTE_P : PTE_LAZY);
}

/* The protection an entry gives (present or lazy), 0 for PROT_NONE. */
static int
pte_prot(u64 e)
{
	if ((e & (PTE_P | PTE_LAZY)) == 0)
		return 0;
	return VM_PROT_READ | ((e & PTE_W) ? VM_PROT_WRITE : 0) |
	    ((e & pte_nx) == 0 ? VM_PROT_EXEC : 0);
}

static void *upage_alloc(void);

/*
 * Give a lazy entry its zeroed page: 0, or ENOMEM when memory is out
 * (the entry stays lazy).
 */
static int
pte_fill(u64 *pte)
{
	void *pg;

	if ((*pte & PTE_LAZY) == 0)
		return 0;
	if ((pg = upage_alloc()) == NULL)
		return ENOMEM;
	*pte = pte_make(pte_prot(*pte), metal_pa(pg)) | (*pte & PTE_SHARED);
	return 0;
}

/*
 * The present entry at va, filling it if lazy; NULL if unmapped,
 * PROT_NONE, read-only for a write, or out of memory.
 */
static u64 *
pte_access(struct vmspace *vm, u64 va, int write)
{
	u64 *pte = pte_walk(vm->vm_pml4, va, 0, 1);

	if (pte == NULL || pte_fill(pte) != 0 || (*pte & PTE_P) == 0 ||
	    (write && (*pte & PTE_W) == 0))
		return NULL;
	return pte;
}

/* Every page of [lo, hi) unmapped? Else *busy = the highest mapped one. */
static int
find_busy(struct vmspace *vm, u64 va, u64 *pte, void *arg)
{
	*(u64 *)arg = va;
	return 0;
}

int
vms_range_free(struct vmspace *vm, u64 lo, u64 hi, u64 *busy)
{
	u64 b = 0;

	(void)vms_walk(vm, lo, hi, find_busy, &b);
	if (busy != NULL)
		*busy = b;
	return b == 0;
}

/* A fresh zeroed user page, keeping a reserve for the kernel. */
static void *
upage_alloc(void)
{
	void *p = mem_alloc_user_page();

	if (p != NULL)
		memset(p, 0, PAGE_SIZE);
	return p;
}

/*
 * Map [va, va + len) anonymous, zeroed, with prot; the range must be
 * free (or the caller unmapped it).  Pages come on first touch; ENOMEM
 * here is only for page tables, and leaves the range unmapped.
 */
static int
vms_map_entry(struct vmspace *vm, u64 va, u64 len, u64 e)
{
	u64 a;

	for (a = 0; a < len; a += PAGE_SIZE) {
		u64 *pte = pte_walk(vm->vm_pml4, va + a, 1, 1);

		if (pte == NULL)
			goto nomem;
		*pte = e;
	}
	return 0;
nomem:
	vms_unmap(vm, va, a);
	return ENOMEM;
}

int
vms_map(struct vmspace *vm, u64 va, u64 len, int prot)
{
	return vms_map_entry(vm, va, len, pte_make(prot, 0));
}

/* As vms_map, but MAP_SHARED: a fork shares the pages, not copies. */
int
vms_map_shared(struct vmspace *vm, u64 va, u64 len, int prot)
{
	return vms_map_entry(vm, va, len, pte_make(prot, 0) | PTE_SHARED);
}

void
vms_unmap(struct vmspace *vm, u64 va, u64 len)
{
	(void)vms_walk(vm, va, va + len, unmap_one, NULL);
	if (read_cr3() == vm->vm_cr3)
		load_cr3(vm->vm_cr3);
}

struct protarg {
	int prot;
	u64 expect;                     /* next address expected (holes: ENOMEM) */
};

static int
check_one(struct vmspace *vm, u64 va, u64 *pte, void *arg)
{
	struct protarg *pa = arg;

	if (va != pa->expect)
		return ENOMEM;
	pa->expect = va + PAGE_SIZE;
	return 0;
}

static int
protect_one(struct vmspace *vm, u64 va, u64 *pte, void *arg)
{
	struct protarg *pa = arg;

	*pte = pte_make(pa->prot, (*pte & (PTE_P | PTE_FRAME)) ?
	    *pte & PTE_ADDR : 0) | (*pte & PTE_SHARED);
	return 0;
}

/* Is every page of [va, va + len) mapped (with any protection)? */
int
vms_mapped(struct vmspace *vm, u64 va, u64 len)
{
	struct protarg pa = { 0, va };

	return vms_walk(vm, va, va + len, check_one, &pa) == 0 &&
	    pa.expect == va + len;
}

/* The protection of the page at va (0 if unmapped or PROT_NONE). */
int
vms_prot_at(struct vmspace *vm, u64 va)
{
	u64 *pte = pte_walk(vm->vm_pml4, va, 0, 1);

	return pte == NULL ? 0 : pte_prot(*pte);
}

/* Drop the page: the next touch gets a zeroed one. */
static int
zero_one(struct vmspace *vm, u64 va, u64 *pte, void *arg)
{
	u64 e = *pte;

	/* Shared memory keeps its contents (the other holders see them). */
	if ((e & (PTE_P | PTE_FRAME)) && !(e & PTE_SHARED)) {
		page_free(e);
		*pte = pte_make(pte_prot(e), 0);
	}
	return 0;
}

/* MADV_DONTNEED on private anonymous memory: it reads back as zeros. */
void
vms_zero(struct vmspace *vm, u64 va, u64 len)
{
	(void)vms_walk(vm, va, va + len, zero_one, NULL);
	if (read_cr3() == vm->vm_cr3)
		load_cr3(vm->vm_cr3);
}

/* mprotect: every page must be mapped (ENOMEM otherwise, as Linux). */
int
vms_protect(struct vmspace *vm, u64 va, u64 len, int prot)
{
	struct protarg pa = { prot, va };
	int error;

	if ((error = vms_walk(vm, va, va + len, check_one, &pa)) != 0)
		return error;
	if (pa.expect != va + len)
		return ENOMEM;
	error = vms_walk(vm, va, va + len, protect_one, &pa);
	if (read_cr3() == vm->vm_cr3)
		load_cr3(vm->vm_cr3);
	return error;
}

/* Move the pages of [from, from + len) to [to, to + len) (free). */
int
vms_move(struct vmspace *vm, u64 from, u64 to, u64 len)
{
	u64 a;

	/* Make every destination table first, so the move cannot fail half way. */
	for (a = 0; a < len; a += PAGE_SIZE)
		if (pte_walk(vm->vm_pml4, to + a, 1, 1) == NULL)
			return ENOMEM;
	for (a = 0; a < len; a += PAGE_SIZE) {
		u64 *s = pte_walk(vm->vm_pml4, from + a, 0, 1);

		if (s != NULL && *s != 0) {
			*pte_walk(vm->vm_pml4, to + a, 0, 1) = *s;
			*s = 0;
		}
	}
	if (read_cr3() == vm->vm_cr3)
		load_cr3(vm->vm_cr3);
	return 0;
}

/*
 * Copy a page 64 bytes at a time through registers: source and copy
 * often share an emulator TLB slot (both page-aligned in the direct map),
 * and alternating single loads and stores would evict each other's entry
 * on every access; eight loads then eight stores pay that once per line.
 */
static void
page_copy(u64 *d, const u64 *s)
{
	int i;

	for (i = 0; i < (int)(PAGE_SIZE / 8); i += 8) {
		u64 a = s[i], b = s[i + 1], c = s[i + 2], e = s[i + 3];
		u64 f = s[i + 4], g = s[i + 5], h = s[i + 6], k = s[i + 7];

		d[i] = a;
		d[i + 1] = b;
		d[i + 2] = c;
		d[i + 3] = e;
		d[i + 4] = f;
		d[i + 5] = g;
		d[i + 6] = h;
		d[i + 7] = k;
	}
}

static int
fork_one(struct vmspace *vm, u64 va, u64 *pte, void *arg)
{
	struct vmspace *child = arg;
	u64 *c = pte_walk(child->vm_pml4, va, 1, 1), e = *pte;
	void *pg;

	if (c == NULL)
		return ENOMEM;
	if (e & PTE_SHARED) {
		/* One page for both: a lazy one is made now. */
		if (pte_fill(pte) != 0)
			return ENOMEM;
		e = *pte;
		if ((e & (PTE_P | PTE_FRAME)) && shared_ref(e) != 0)
			return ENOMEM;
	} else if (e & (PTE_P | PTE_FRAME)) {
		if ((pg = mem_alloc_user_page()) == NULL)
			return ENOMEM;
		page_copy(pg, metal_kva(e & PTE_ADDR));
		e = (e & ~PTE_ADDR) | metal_pa(pg);
	}
	*c = e;
	return 0;
}

/* fork: a copy of every page (no copy-on-write), shared ones shared. */
struct vmspace *
vms_fork(struct vmspace *vm, int *errorp)
{
	struct vmspace *child = vms_create();
	int error;

	if (child == NULL) {
		*errorp = ENOMEM;
		return NULL;
	}
	if ((error = vms_walk(vm, USER_MIN, USER_TOP, fork_one, child)) != 0) {
		vms_release(child);
		*errorp = error;
		return NULL;
	}
	child->vm_brk_base = vm->vm_brk_base;
	child->vm_brk = vm->vm_brk;
	child->vm_mmap_next = vm->vm_mmap_next;
	child->vm_stack_lo = vm->vm_stack_lo;
	child->vm_stack_limit = vm->vm_stack_limit;
	return child;
}

/*
 * Copy between the kernel and an address space that need not be the
 * current one (the ELF loader builds a new program this way).  The pages
 * must be mapped; EFAULT otherwise.
 */
int
vms_copyout(struct vmspace *vm, u64 va, const void *src, u64 len)
{
	const u8 *s = src;

	while (len > 0) {
		u64 *pte = pte_walk(vm->vm_pml4, va, 0, 1);
		u64 off = va & (PAGE_SIZE - 1), n = PAGE_SIZE - off;

		if (pte == NULL)
			return EFAULT;
		if (pte_fill(pte) != 0)
			return ENOMEM;
		if ((*pte & (PTE_P | PTE_FRAME)) == 0)
			return EFAULT;
		if (n > len)
			n = len;
		memcpy((u8 *)metal_kva(*pte & PTE_ADDR) + off, s, n);
		s += n;
		va += n;
		len -= n;
	}
	return 0;
}

/* Read a user word of the current address space without faulting. */
int
vms_read_u32(struct vmspace *vm, u64 va, u32 *v)
{
	u64 *pte;

	if ((va & 3) != 0 || va < USER_MIN || va >= USER_TOP)
		return EFAULT;
	if ((pte = pte_access(vm, va, 0)) == NULL)
		return EFAULT;
	*v = *(volatile u32 *)((u8 *)metal_kva(*pte & PTE_ADDR) + (va & 4095));
	return 0;
}

int
vms_write_u32(struct vmspace *vm, u64 va, u32 v)
{
	u64 *pte;

	if ((va & 3) != 0 || va < USER_MIN || va >= USER_TOP)
		return EFAULT;
	if ((pte = pte_access(vm, va, 1)) == NULL)
		return EFAULT;
	*(volatile u32 *)((u8 *)metal_kva(*pte & PTE_ADDR) + (va & 4095)) = v;
	return 0;
}

/* Is [va, va + len) mapped with at least prot (for checking arguments)? */
int
vms_check(struct vmspace *vm, u64 va, u64 len, int write)
{
	u64 a, end = va + len;

	if (len == 0)
		return 1;
	if (va < USER_MIN || end > USER_TOP || end < va)
		return 0;
	for (a = va & ~(PAGE_SIZE - 1); a < end; a += PAGE_SIZE)
		if (pte_access(vm, a, write) == NULL)
			return 0;
	return 1;
}

/*
 * Make sure [va, va + len) can be read (written, if write) by the kernel
 * for a system call, growing the main stack into it if need be: 0 or
 * EFAULT.
 */
int
vms_prefault(struct vmspace *vm, u64 va, u64 len, int write)
{
	u64 a, end = va + len;

	if (len == 0)
		return 0;
	if (va < USER_MIN || end > USER_TOP || end < va)
		return EFAULT;
	for (a = va & ~(PAGE_SIZE - 1); a < end; a += PAGE_SIZE) {
		u64 *pte = pte_walk(vm->vm_pml4, a, 0, 1);

		if ((pte == NULL || *pte == 0) && vms_fault(vm, a) <= 0)
			return EFAULT;
		if (pte_access(vm, a, write) == NULL)
			return EFAULT;
	}
	return 0;
}

/*
 * A fault on a non-present user page at addr: a lazy page gets its page,
 * and the main stack grows down on demand to its limit.  1 if handled,
 * 0 if the address is not the program's, -1 if memory is out.
 */
int
vms_fault(struct vmspace *vm, u64 addr)
{
	u64 lo, *pte;

	if (addr >= USER_MIN && addr < USER_TOP &&
	    (pte = pte_walk(vm->vm_pml4, addr, 0, 1)) != NULL &&
	    (*pte & PTE_LAZY))
		return pte_fill(pte) == 0 ? 1 : -1;
	if (vm->vm_stack_limit == 0 || addr < vm->vm_stack_limit ||
	    addr >= vm->vm_stack_lo)
		return 0;
	lo = addr & ~(PAGE_SIZE - 1);
	if (!vms_range_free(vm, lo, vm->vm_stack_lo, NULL))
		return 0;
	if (vms_map(vm, lo, vm->vm_stack_lo - lo, VM_PROT_READ | VM_PROT_WRITE) != 0)
		return 0;
	vm->vm_stack_lo = lo;
	return 1;
}

/*
 * A kernel access to an unmapped user address during a system call: the
 * kernel cannot be unwound, so give it a scratch page to finish with and
 * let the caller kill the program on its way out.
 */
int
vms_scratch(struct vmspace *vm, u64 addr)
{
	u64 lo = addr & ~(PAGE_SIZE - 1);
	u64 *pte;
	void *pg;

	if (addr < USER_MIN || addr >= USER_TOP)
		return 0;
	pte = pte_walk(vm->vm_pml4, lo, 1, 1);
	if (pte == NULL || (pg = upage_alloc()) == NULL)
		return 0;
	page_free(*pte);
	*pte = metal_pa(pg) | PTE_P | PTE_W | PTE_MAPPED | pte_nx;
	invlpg(lo);
	return 1;
}
