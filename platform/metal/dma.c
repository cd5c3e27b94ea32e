/*
 * Addresses for devices: the physical address behind a kernel pointer
 * (for DMA), and mappings for device memory (MMIO).
 *
 * metal_virt_to_phys() walks the current page tables, so it is right for
 * any kernel address -- the identity map, a heap elsewhere, a thread's
 * stack -- and it says how many bytes from there are physically
 * contiguous (to the end of the page that maps it), so that a driver can
 * cut a buffer into segments that a device can reach.
 *
 * metal_map_mmio() makes device memory outside the boot page tables'
 * identity map of the first 1 GiB reachable (QEMU puts 32-bit BARs just
 * below 4 GiB and 64-bit ones above it): 2 MiB pages at the same virtual
 * address, writable, no-execute when the CPU allows it, uncached
 * (PCD|PWT: uncached under the default PAT).  New page-table pages come
 * from mem_alloc and are never freed.  A range already mapped (a 1 GiB
 * or 2 MiB page, e.g. under 1 GiB) is left as it is.
 *
 * What both assume: 4-level paging rooted at CR3, and page-table pages
 * reachable at their physical address (pt_kva).  That holds with the
 * boot page tables in boot.S.  A platform that maps the kernel elsewhere
 * and has its own MMIO mapper replaces metal_map_mmio wholesale and
 * makes pt_kva its phys-to-virtual conversion; the drivers only use the
 * two functions.
 *
 * Single CPU, no preemption in the kernel: no locks.
 */
#include "metal.h"

#define PTE_P 0x1ul
#define PTE_W 0x2ul
#define PTE_PWT 0x8ul
#define PTE_PCD 0x10ul
#define PTE_PS 0x80ul
#define PTE_NX (1ul << 63)
#define PTE_ADDR 0x000ffffffffff000ul
#define BIGPAGE (2ul << 20)
#define ENOMEM 12

/* A page-table page, given its physical address. */
static inline u64 *
pt_kva(u64 pa)
{
	return (u64 *)(uintptr)pa;
}

static u64
cr3_root(void)
{
	u64 cr3;

	__asm__ volatile("movq %%cr3, %0" : "=r"(cr3));
	return cr3 & PTE_ADDR;
}

/*
 * The physical address of p; in *contig (if not NULL) the bytes from p to
 * the end of the page that maps it.  Not mapped: a kernel bug, fatal.
 */
u64
metal_virt_to_phys(const void *p, u64 *contig)
{
	u64 va = (u64)(uintptr)p, *t = pt_kva(cr3_root()), e = 0, size;
	int level, shift;

	for (level = 4; level >= 1; level--) {
		shift = 12 + 9 * (level - 1);
		e = t[(va >> shift) & 511];
		if ((e & PTE_P) == 0)
			metal_fatal("DMA from an unmapped address");
		if (level == 1 || (level <= 3 && (e & PTE_PS) != 0))
			break;
		t = pt_kva(e & PTE_ADDR);
	}
	size = 1ul << shift;
	if (contig != NULL)
		*contig = size - (va & (size - 1));
	return ((e & PTE_ADDR) & ~(size - 1)) + (va & (size - 1));
}

/* Is EFER.NXE on, so that page-table bit 63 means no-execute? */
static int
nx_enabled(void)
{
	u32 lo, hi;

	__asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(0xc0000080u));
	return (lo >> 11) & 1;
}

#define MMIO_BIGPAGE 1

/*
 * The table that entry i of table points to, in *next, made if missing:
 * 0, or MMIO_BIGPAGE when the entry maps a page itself, or ENOMEM.
 */
static int
mmio_table(u64 *table, unsigned i, u64 **next)
{
	if ((table[i] & PTE_P) != 0) {
		if (table[i] & PTE_PS)
			return MMIO_BIGPAGE;
		*next = pt_kva(table[i] & PTE_ADDR);
		return 0;
	}
	*next = mem_alloc(4096, 4096);
	if (*next == NULL)
		return ENOMEM;
	memset(*next, 0, 4096);
	table[i] = metal_virt_to_phys(*next, NULL) | PTE_P | PTE_W;
	return 0;
}

/*
 * Make [pa, pa + len) reachable, uncached.  Returns the address to use
 * (pa itself), or NULL when no page table could be had.
 */
void *
metal_map_mmio(u64 pa, hyp_size_t len)
{
	u64 va, end = pa + len, *pml4 = pt_kva(cr3_root()), *pdpt, *pd;
	u64 nx = nx_enabled() ? PTE_NX : 0;
	int r;

	for (va = pa & ~(BIGPAGE - 1); va < end; va += BIGPAGE) {
		r = mmio_table(pml4, (va >> 39) & 511, &pdpt);
		if (r == 0)
			r = mmio_table(pdpt, (va >> 30) & 511, &pd);
		if (r == ENOMEM)
			return NULL;
		if (r != 0 || (pd[(va >> 21) & 511] & PTE_P) != 0)
			continue;       /* mapped already, by a large page */
		pd[(va >> 21) & 511] = va | PTE_P | PTE_W | PTE_PS | PTE_PCD |
		    PTE_PWT | nx;
		__asm__ volatile("invlpg (%0)" :: "r"(va) : "memory");
	}
	return (void *)(uintptr)pa;
}
