/*
 * DMA addresses: the physical address behind a kernel pointer.
 *
 * metal_virt_to_phys() walks the current page tables, so it is right for
 * any kernel address -- the identity map, a heap elsewhere, a thread's
 * stack -- and it says how many bytes from there are physically
 * contiguous (to the end of the page that maps it), so that a driver can
 * cut a buffer into segments that a device can reach.
 *
 * It assumes 4-level paging rooted at CR3, and reads page-table pages
 * through the direct map (pt_kva = metal_kva, vm.c): a user program's
 * page tables leave low memory to the program, so a table's physical
 * address is not a kernel pointer there.  Heap pointers are direct-map
 * addresses, not physical ones, which is why a driver must ask here.
 *
 * Read-only, single CPU, no preemption in the kernel: no locks.
 */
#include "metal.h"

#define PTE_P 0x1ul
#define PTE_PS 0x80ul
#define PTE_ADDR 0x000ffffffffff000ul

/* A page-table page, given its physical address. */
static inline u64 *
pt_kva(u64 pa)
{
	return metal_kva(pa);
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
