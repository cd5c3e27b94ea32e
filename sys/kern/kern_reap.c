/*
 * Memory reaping: pith_mem_reap gives the host back what the kernel keeps
 * cached but does not use.
 *
 * The kernel's caches are built for speed, not for giving back: kmem's
 * free lists (per CPU and the depot) never return a slab by themselves,
 * freed files wait on per-CPU lists, freed vnodes on the vnode cache's
 * free list.  A server that had a thousand clients an hour ago would keep
 * their peak forever.  So a reaper (pithd, after a quiet second) calls
 * pith_mem_reap, which:
 *
 *  1. enters the kernel on a CPU, then borrows every other CPU that is
 *     free (cpu_borrow: the same CAS an lwp entering takes);
 *  2. if it got them all, no other lwp is inside the kernel, so memory
 *     kept type-stable for lock-free readers that may hold a stale
 *     pointer (files, vnodes) can go back to kmem (calls that run without
 *     a CPU, such as fstat's light descriptor lookup, never touch a freed
 *     file or vnode).  Subsystems above kern (the VFS) register a hook
 *     for that with kern_reap_register, since kern may not call them by
 *     name; freed files are kern's own;
 *  3. drains the free lists of every CPU it holds into kmem's depot, then
 *     has kmem return each slab whose blocks are all free, keeping
 *     KMEM_REAP_KEEP empty slabs per small size class for the next burst;
 *  4. gives the CPUs back.
 *
 * A CPU that is busy is skipped: its list stays (bounded at KMEM_CPU_MAX
 * blocks per class) and the type-stable caches wait for a quieter reap.
 * Nothing in a reap sleeps (hooks use mutex_tryenter; kmem_lock is the
 * host's), so the reaper's own CPU is never given up while it holds
 * borrowed ones.  One reap runs at a time: a second reaper meanwhile
 * returns 0 at once (reap_busy).
 */
#include "kern/kern.h"
#include "kern_private.h"

#define REAP_NHOOKS 8

static void (*reap_hooks[REAP_NHOOKS])(bool);  /* [I] set at boot */
static unsigned reap_nhooks;                    /* [a] */
static int reap_busy;                           /* [a] a reap runs */

/* Boot is single-threaded: registration needs no lock. */
void
kern_reap_register(void (*fn)(bool quiescent))
{
	unsigned n = __atomic_load_n(&reap_nhooks, __ATOMIC_ACQUIRE);

	for (unsigned i = 0; i < n; i++)
		if (reap_hooks[i] == fn)
			return;
	if (n >= REAP_NHOOKS)
		panic("kern_reap_register: more than %d hooks", REAP_NHOOKS);
	reap_hooks[n] = fn;
	__atomic_store_n(&reap_nhooks, n + 1, __ATOMIC_RELEASE);
}

/* The reap proper; l holds its CPU. */
static void
reap_run(struct lwp *l)
{
	bool held[MAXCPUS];
	unsigned n = cpu_count(), nheld = 0, nhooks;

	for (unsigned i = 0; i < n; i++) {
		struct cpu_info *ci = cpu_lookup(i);

		held[i] = ci == l->l_cpu || cpu_borrow(ci, l);
		nheld += held[i];
	}
	nhooks = __atomic_load_n(&reap_nhooks, __ATOMIC_ACQUIRE);
	for (unsigned i = 0; i < nhooks; i++)
		reap_hooks[i](nheld == n);
	if (nheld == n)
		filecache_reap();
	for (unsigned i = 0; i < n; i++)
		if (held[i])
			kmem_cpu_drain(cpu_lookup(i)->ci_kmem);
	kmem_reap(KMEM_REAP_KEEP);
	for (unsigned i = 0; i < n; i++)
		if (held[i] && cpu_lookup(i) != l->l_cpu)
			cpu_return(cpu_lookup(i), l);
}

PITH_API size_t
pith_mem_reap(void)
{
	struct lwp *l;
	size_t before, after;
	int expect = 0;

	if (!kern_running || (l = lwp_current()) == NULL)
		return 0;
	if (!__atomic_compare_exchange_n(&reap_busy, &expect, 1, 0,
	    __ATOMIC_ACQUIRE, __ATOMIC_RELAXED))
		return 0;
	/* What went back, by the host total: the hooks' frees count too
	 * (in the sanitizer build they are all there is).  Others may
	 * allocate meanwhile, so this is a figure, not an account. */
	before = kmem_inuse();
	cpu_enter(l);
	reap_run(l);
	cpu_leave(l);
	after = kmem_inuse();
	__atomic_store_n(&reap_busy, 0, __ATOMIC_RELEASE);
	return before > after ? before - after : 0;
}
