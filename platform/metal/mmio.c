/*
 * Device memory (MMIO) outside the boot page tables' identity map of the
 * first 1 GiB: QEMU puts 32-bit BARs just below 4 GiB and 64-bit ones
 * above it.  metal_map_mmio() maps them with 2 MiB pages at the same
 * virtual address, writable, no-execute when the CPU allows it, uncached
 * (PCD|PWT: uncached under the default PAT).  New page-table pages come
 * from mem_alloc and are never freed.  A range already mapped (by a 1 GiB
 * or 2 MiB page, e.g. under 1 GiB) is left as it is.
 *
 * It assumes 4-level paging rooted at CR3 with page-table pages readable
 * at their physical address (boot.S's tables).  A platform with its own
 * MMIO window and mapper (same signature) replaces this file.
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

static inline u64 *
pt_kva(u64 pa)
{
	return (u64 *)(uintptr)pa;
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
	u64 va, end = pa + len, cr3, *pml4, *pdpt, *pd;
	u64 nx = nx_enabled() ? PTE_NX : 0;
	int r;

	__asm__ volatile("movq %%cr3, %0" : "=r"(cr3));
	pml4 = pt_kva(cr3 & PTE_ADDR);
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
