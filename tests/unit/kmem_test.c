/*
 * Unit test of the kernel allocator: size classes, the per-CPU caches, the
 * large-block path, the memory limit, accounting, and that shutdown hands
 * every byte back to the host.
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
	kprintf("1..16\n");
	ok(pith_kinit(NULL) == 0, "boot");
	test_basic();
	test_large();
	ok(pith_kinit(NULL) == -EBUSY, "second boot: EBUSY");
	pith_fini();
	ok(pith_mem_inuse() == 0, "everything returned at shutdown");
	test_limit();
	struct pith_kconfig bad = { 1000, 0, NULL, 0 };
	ok(pith_kinit(&bad) == -EINVAL, "1000 CPUs: EINVAL");
	ok(pith_mem_inuse() == 0, "nothing held after the failed boot");
	return t_fail != 0;
}
