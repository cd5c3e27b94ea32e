/*
 * Unit test of the kernel allocator: size classes, the per-CPU caches, the
 * large-block path, the memory limit, accounting, that a reap
 * (pith_mem_reap) gives empty slabs back and keeps busy ones, and that
 * shutdown hands every byte back to the host.
 */
#include "kern/kern.h"
#include "kern/kern_private.h"
#include "unit/ktap.h"


#define NBLK 2000

static void *blk[NBLK];
static size_t blksz[NBLK];

/* Allocate blocks of assorted sizes, fill each with its index, check. */
static bool
churn(unsigned seed)
{
	bool good = true;

	for (int i = 0; i < NBLK; i++) {
		seed = seed * 1103515245 + 12345;
		blksz[i] = (seed >> 8) % (i % 50 == 0 ? 9000 : 2049);
		blk[i] = kmem_alloc(blksz[i]);
		if (blk[i] == NULL)
			return false;
		if (((uintptr_t)blk[i] & 15) != 0)
			good = false;
		memset(blk[i], i & 0xff, blksz[i]);
	}
	for (int i = 0; i < NBLK; i++) {
		const unsigned char *p = blk[i];
		for (size_t j = 0; j < blksz[i]; j++) {
			if (p[j] != (i & 0xff)) {
				good = false;
				break;
			}
		}
	}
	for (int i = 0; i < NBLK; i += 2)
		kmem_free(blk[i], blksz[i]);
	for (int i = 1; i < NBLK; i += 2)
		kmem_free(blk[i], blksz[i]);
	return good;
}

static void
test_basic(void)
{
	int64_t b0, n0, b1, n1;
	char *s;

	kmem_stats(&b0, &n0);
	ok(churn(1), "blocks hold their contents, 16-byte aligned (no CPU)");
	kmem_stats(&b1, &n1);
	ok(b0 == b1 && n0 == n1, "accounting balances (no CPU)");

	struct lwp *l = curlwp();
	cpu_enter(l);
	ok(churn(2) && churn(3), "blocks hold their contents (per-CPU caches)");
	kmem_stats(&b1, &n1);
	ok(b0 == b1 && n0 == n1, "accounting balances (per-CPU caches)");
	cpu_leave(l);

	s = kmem_strdup("hello, kernel");
	ok(s != NULL && strcmp(s, "hello, kernel") == 0, "kmem_strdup");
	kmem_strfree(s);
	unsigned char *z = kmem_zalloc(300);
	bool zero = z != NULL;
	for (int i = 0; zero && i < 300; i++)
		zero = z[i] == 0;
	ok(zero, "kmem_zalloc zeroes");
	kmem_free(z, 300);
}

static void
test_large(void)
{
	size_t before = kmem_inuse();
	void *p = kmem_alloc(1 << 20);

	ok(p != NULL && kmem_inuse() >= before + (1 << 20),
	    "a 1 MiB block counts against the host total");
	memset(p, 0xa5, 1 << 20);
	kmem_free(p, 1 << 20);
	ok(kmem_inuse() == before, "and is returned on free");
}

#ifndef PITH_SAN
#define NREAP 20000
#define NPAGES 1500
static void *rblk[NREAP];
static void *rpage[NPAGES];
static int hook_calls, hook_quiescent;

static void
reap_hook(bool quiescent)
{
	hook_calls++;
	hook_quiescent = quiescent;
}

/* Fill many 64-byte blocks and pages, some on the CPU's list. */
static bool
reap_fill(void)
{
	for (int i = 0; i < NREAP; i++)
		if ((rblk[i] = kmem_alloc(64)) == NULL)
			return false;
	for (int i = 0; i < NPAGES; i++)
		if ((rpage[i] = kmem_alloc(4096)) == NULL)
			return false;
	for (int i = 0; i < NREAP; i++)
		memset(rblk[i], 0x5a, 64);
	return true;
}

static void
test_reap(void)
{
	/* What a reap may keep over where we started: one empty slab of
	 * the small class this test touches (none of the page slabs). */
	const size_t slack = 64 << 10;
	struct lwp *l = curlwp();
	size_t m0, m1, m2, freed;
	bool good = true;
	int64_t b0, n0, b1, n1;

	kern_reap_register(reap_hook);
	kern_reap_register(reap_hook);	/* twice: registered once */
	pith_mem_reap();
	m0 = pith_mem_inuse();
	kmem_stats(&b0, &n0);
	cpu_enter(l);
	ok(reap_fill(), "20,000 small blocks and 1,500 pages");
	m1 = pith_mem_inuse();
	/* Free in an order that leaves blocks on the CPU's lists too. */
	for (int i = NREAP - 1; i >= 0; i--)
		kmem_free(rblk[i], 64);
	for (int i = 0; i < NPAGES; i++)
		kmem_free(rpage[i], 4096);
	cpu_leave(l);
	ok(pith_mem_inuse() == m1, "freeing alone keeps the slabs");
	hook_calls = 0;
	freed = pith_mem_reap();
	m2 = pith_mem_inuse();
	kprintf("# before %zu, filled %zu, reaped %zu, after %zu\n", m0, m1,
	    freed, m2);
	ok(m2 + freed == m1 && m1 - m0 > (4u << 20) && freed > (2u << 20),
	    "the reap says what it gave back");
	ok(m2 <= m0 + slack, "memory back to the start but a slab a class");
	ok(hook_calls == 1 && hook_quiescent,
	    "the hook ran once, quiescent (no other CPU held)");
	ok(pith_mem_reap() == 0, "a second reap finds nothing");

	/* A live block holds its slab; its neighbours' slabs go. */
	cpu_enter(l);
	good = reap_fill();
	for (int i = 0; i < NREAP; i++)
		if (i != NREAP / 2)
			kmem_free(rblk[i], 64);
	for (int i = 0; i < NPAGES; i++)
		if (i != 7)
			kmem_free(rpage[i], 4096);
	cpu_leave(l);
	/* A CPU someone else holds: no quiescence, its list untouched. */
	KASSERT(cpu_count() > 1);
	struct cpu_info *other = cpu_lookup(1);
	__atomic_store_n(&other->ci_owner, (struct lwp *)1, __ATOMIC_RELEASE);
	hook_calls = 0;
	pith_mem_reap();
	ok(hook_calls == 1 && !hook_quiescent,
	    "with a CPU busy the hook is told it is not quiescent");
	__atomic_store_n(&other->ci_owner, NULL, __ATOMIC_RELEASE);
	pith_mem_reap();
	for (int j = 0; j < 64; j++)
		good = good && ((unsigned char *)rblk[NREAP / 2])[j] == 0x5a;
	memset(rpage[7], 0xa5, 4096);
	ok(good && pith_mem_inuse() <= m0 + slack + (64 << 10) + (2 << 20) &&
	    pith_mem_inuse() >= m0 + (2 << 20),
	    "live blocks survive a reap; only their slabs stay");
	kmem_free(rblk[NREAP / 2], 64);
	kmem_free(rpage[7], 4096);
	pith_mem_reap();
	ok(pith_mem_inuse() <= m0 + slack, "freed, their slabs go too");
	ok(churn(7), "allocation works after reaps");
	kmem_stats(&b1, &n1);
	ok(b0 == b1 && n0 == n1, "accounting balances across reaps");
}
#else
static void
test_reap(void)
{
	for (int i = 0; i < 11; i++)
		ok(1, "# SKIP the sanitizer build caches nothing to reap");
}
#endif

static void
test_limit(void)
{
	struct pith_kconfig cfg = { 2, 4 << 20, "limit", 0 };
	void *p, *q;

	ok(pith_kinit(&cfg) == 0, "boot with a 4 MiB limit");
	p = kmem_alloc(8 << 20);
	ok(p == NULL, "8 MiB past the limit: NULL");
	q = kmem_alloc(1 << 20);
	ok(q != NULL, "1 MiB within it: fine");
	kmem_free(q, 1 << 20);
	pith_fini();
}

int
pith_unittest_main(void)
{
	kprintf("1..27\n");
	ok(pith_kinit(NULL) == 0, "boot");
	test_basic();
	test_large();
	test_reap();
	ok(pith_kinit(NULL) == -EBUSY, "second boot: EBUSY");
	pith_fini();
	ok(pith_mem_inuse() == 0, "everything returned at shutdown");
	test_limit();
	struct pith_kconfig bad = { 1000, 0, NULL, 0 };
	ok(pith_kinit(&bad) == -EINVAL, "1000 CPUs: EINVAL");
	ok(pith_mem_inuse() == 0, "nothing held after the failed boot");
	return t_fail != 0;
}
