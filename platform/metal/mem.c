/*
 * Memory: every byte between the end of what the loader gave us (the
 * image, its modules) and the top of RAM the multiboot loader reported
 * (capped at 1 GiB) is one heap, addressed through the direct map
 * (vm.c: KERN_DMAP).  Blocks are powers of two from 16 bytes, carved
 * off the front of the heap aligned to their size (up to 4 KiB), and a
 * freed block goes on the free list of its size class for reuse:
 * hyp_free is told the size, so blocks need no header.  Memory never returns to the bump region; the
 * kernel's own slab allocator (kmem) sits above this and keeps the
 * traffic here low.
 *
 * User programs' pages (mem_alloc_user_page) come from the 4 KiB free
 * list or the bump region, but never take the last MEM_RESERVE bytes of
 * the bump region: a program that runs out of memory gets ENOMEM while
 * the kernel still has room to clean up after it.
 *
 * Single CPU, cooperative threads: nothing here blocks or yields, so no
 * lock is needed.
 */
#include "metal.h"

#define ENOMEM 12
#define MEM_MINSHIFT 4
#define MEM_NCLASSES 31                 /* up to 1 GiB */
#define MEM_MAXALIGN 4096ul
#define MEM_RESERVE (512ul * 1024)

struct mem_free {
	struct mem_free *mf_next;
};

static uintptr mem_next, mem_top;
static struct mem_free *mem_freelist[MEM_NCLASSES];
static u64 mem_nfree4k;                 /* blocks on the 4 KiB list */
static u64 mem_used;

void
mem_init(uintptr start, uintptr end)
{
	mem_next = start;
	mem_top = end;
}

static int
mem_class(hyp_size_t size)
{
	int k = MEM_MINSHIFT;

	while (k < MEM_NCLASSES && ((hyp_size_t)1 << k) < size)
		k++;
	return k;
}

/* The first block on class k's list aligned to align, unlinked; or NULL. */
static void *
mem_take(int k, hyp_size_t align)
{
	struct mem_free **pp, *f;

	for (pp = &mem_freelist[k]; (f = *pp) != NULL; pp = &f->mf_next) {
		if (((uintptr)f & (align - 1)) == 0) {
			*pp = f->mf_next;
			if (k == 12)
				mem_nfree4k--;
			return f;
		}
	}
	return NULL;
}

void *
mem_alloc(hyp_size_t size, hyp_size_t align)
{
	hyp_size_t bsize, balign;
	uintptr p;
	int k;

	if (align == 0)
		align = 16;
	if (size == 0)
		size = 1;
	k = mem_class(size);
	if (k >= MEM_NCLASSES)
		return NULL;
	bsize = (hyp_size_t)1 << k;
	p = (uintptr)mem_take(k, align);
	if (p == 0) {
		balign = bsize < MEM_MAXALIGN ? bsize : MEM_MAXALIGN;
		if (balign < align)
			balign = align;
		p = (mem_next + balign - 1) & ~(balign - 1);
		if (p > mem_top || mem_top - p < bsize)
			return NULL;
		mem_next = p + bsize;
	}
	mem_used += bsize;
	return (void *)p;
}

void
mem_free(void *p, hyp_size_t size)
{
	struct mem_free *f = p;
	int k;

	if (p == NULL)
		return;
	k = mem_class(size == 0 ? 1 : size);
	f->mf_next = mem_freelist[k];
	mem_freelist[k] = f;
	if (k == 12)
		mem_nfree4k++;
	mem_used -= (u64)1 << k;
}

void *
mem_alloc_user_page(void)
{
	void *p = mem_take(12, 4096);
	uintptr a;

	if (p == NULL) {
		a = (mem_next + 4095) & ~4095ul;
		if (a > mem_top || mem_top - a < 4096 + MEM_RESERVE)
			return NULL;
		mem_next = a + 4096;
		p = (void *)a;
	}
	mem_used += 4096;
	return p;
}

/* Bytes mem_alloc_user_page could still hand out. */
u64
mem_user_avail(void)
{
	u64 bump = mem_top > mem_next + MEM_RESERVE + 4096 ?
	    mem_top - mem_next - MEM_RESERVE - 4096 : 0;

	return bump + mem_nfree4k * 4096;
}

void
mem_forget(hyp_size_t size)
{
	mem_used -= (u64)1 << mem_class(size);
}

u64
mem_inuse(void)
{
	return mem_used;
}

int
hyp_malloc(hyp_size_t size, hyp_size_t align, void **ret)
{
	void *p;

	if (align > MEM_MAXALIGN || (align & (align - 1)) != 0)
		return ENOMEM;
	p = mem_alloc(size, align);
	if (p == NULL)
		return ENOMEM;
	*ret = p;
	return 0;
}

void
hyp_free(void *p, hyp_size_t size)
{
	mem_free(p, size);
}
