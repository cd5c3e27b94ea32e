/*
 * Kernel memory allocator.
 *
 * Small blocks (up to KMEM_MAXCLASS bytes) come from size classes carved
 * out of 64 KiB slabs taken from the host with hyp_malloc.  The largest
 * class is the page (4 KiB, page-aligned: tmpfs data and radix nodes);
 * its slabs are 2 MiB, so that a file's data costs the host one
 * allocation (and, hosted, one huge-page fault) per 511 pages instead of
 * a malloc with a header and a fault per page.  Free blocks are
 * kept on singly linked lists threaded through the blocks themselves:
 * one list per class per virtual CPU (no lock: only the lwp holding the
 * CPU touches it) in front of one global depot per class (kmem_lock).
 * The fast path -- the caller holds a CPU and its list is not empty -- is
 * a table lookup and a list pop.  A CPU's list refills from the depot in
 * batches and spills back to it when it grows long, so memory freed on one
 * CPU is reused by others.  Callers without a CPU (boot, kernel threads
 * between runs, host threads outside a system call) go to the depot.
 *
 * Slabs go back to the host only when asked: kmem_reap (pith_mem_reap,
 * which pithd calls after a quiet second) finds the slabs whose every
 * block is free and returns them, keeping KMEM_REAP_KEEP empty ones per
 * small class (none of the 2 MiB page slabs) for the next burst; kmem_fini frees them all at shutdown.  A
 * block does not know its slab (the host aligns to a page at most), so
 * the reap sorts a class's slabs by address and finds each free block's
 * by binary search: O(free blocks x log slabs), under kmem_lock, rare.
 * Blocks on CPU lists are invisible to it: the reaper drains the lists
 * of the CPUs it holds first (kmem_cpu_drain).  Between reaps the memory
 * of a large tmpfs file, once freed, stays with the kernel for reuse: the
 * price of page allocation without a host call.  Large blocks go straight
 * to hyp_malloc, each behind a header that links it on a list so that
 * shutdown can return them too.
 *
 * Every byte taken from the host counts against kern_cfg.mem_limit
 * (kmem_host, atomic); allocation fails with NULL past it.  Outstanding
 * allocations are counted (requested sizes) per CPU and in the depot, and
 * summed at shutdown to report leaks.
 *
 * With PITH_SAN (the sanitizer build) every allocation is its own
 * hyp_malloc, with a small header recording the size, so AddressSanitizer
 * sees overflows and use-after-free and LeakSanitizer sees leaks.
 */
#include "kern/kern.h"
#include "kern_private.h"

#define KMEM_SLAB_SIZE (64 * 1024)
#define KMEM_PAGE_SIZE 4096
#define KMEM_PAGE_SLAB_SIZE (2 * 1024 * 1024)

struct kmem_freeblk {
	struct kmem_freeblk *next;
};

/* A slab's header sits at its start; blocks follow. */
struct kmem_slab {
	struct kmem_slab *ks_next;
	unsigned ks_class;
	unsigned ks_nfree;              /* [kmem_lock] reap's count */
} __attribute__((aligned(16)));
CTASSERT(sizeof(struct kmem_slab) == 16);

#define KMEM_REAP_DOOMED (~0u)         /* ks_nfree of a slab going back */

/* A large block's header: links it for shutdown. */
struct kmem_large {
	struct kmem_large *kl_next;
	struct kmem_large *kl_prev;
	size_t kl_size;
	size_t kl_magic;
};
#define KMEM_LARGE_MAGIC 0x6c61726765ul
CTASSERT(sizeof(struct kmem_large) % 16 == 0);

static const unsigned kmem_class_size[KMEM_NCLASSES] = {
	16, 32, 48, 64, 96, 128, 192, 256, 384, 512, 768, 1024, 1536, 2048,
	KMEM_PAGE_SIZE,
};
CTASSERT(KMEM_MAXCLASS == KMEM_PAGE_SIZE);

/* Bytes of a slab of class c. */
static inline size_t
kmem_slab_size(unsigned c)
{
	return kmem_class_size[c] == KMEM_PAGE_SIZE ? KMEM_PAGE_SLAB_SIZE :
	    KMEM_SLAB_SIZE;
}
/* Class of a size, indexed by (size + 15) / 16; filled at init. */
static uint8_t kmem_size2class[KMEM_MAXCLASS / 16 + 1];

/* Per-CPU caches: refill and spill in batches of KMEM_BATCH. */
#define KMEM_BATCH 32
#define KMEM_CPU_MAX (2 * KMEM_BATCH)

static struct kmem_cpu kmem_cpus[MAXCPUS];

static struct hyp_mutex kmem_lock;      /* protects everything below */
#ifndef PITH_SAN
static struct kmem_freeblk *kmem_depot[KMEM_NCLASSES];
/*
 * The newest slab of each class is carved lazily: blocks [carve, end) were
 * never handed out, so a fresh slab's memory is first touched by its
 * first user, not all at once when the slab arrives.
 */
static char *kmem_carve[KMEM_NCLASSES];
static char *kmem_carve_end[KMEM_NCLASSES];
static struct kmem_slab *kmem_slabs;
static size_t kmem_nslabs[KMEM_NCLASSES];
#endif
static struct kmem_large kmem_large_head;
static int64_t kmem_depot_bytes;        /* in-use stats of CPU-less callers */
static int64_t kmem_depot_count;

static size_t kmem_limit;
static size_t kmem_host;                /* [a] bytes held from the host */

struct kmem_cpu *
kmem_cpu_cache(unsigned i)
{
	KASSERT(i < MAXCPUS);
	return &kmem_cpus[i];
}

/* Charge n bytes against the limit; false if it would be exceeded. */
static bool
kmem_host_charge(size_t n)
{
	size_t now = __atomic_add_fetch(&kmem_host, n, __ATOMIC_RELAXED);

	if (now > kmem_limit || now < n) {
		__atomic_sub_fetch(&kmem_host, n, __ATOMIC_RELAXED);
		return false;
	}
	return true;
}

static void
kmem_host_uncharge(size_t n)
{
	__atomic_sub_fetch(&kmem_host, n, __ATOMIC_RELAXED);
}

static void *
kmem_host_alloc(size_t size, size_t align)
{
	void *p;

	if (!kmem_host_charge(size))
		return NULL;
	if (hyp_malloc(size, align, &p) != 0) {
		kmem_host_uncharge(size);
		return NULL;
	}
	return p;
}

static void
kmem_host_free(void *p, size_t size)
{
	hyp_free(p, size);
	kmem_host_uncharge(size);
}

void
kmem_init(size_t limit)
{
	unsigned c = 0;

	kmem_limit = limit;
	for (unsigned i = 0; i < nitems(kmem_size2class); i++) {
		while (kmem_class_size[c] < i * 16)
			c++;
		kmem_size2class[i] = (uint8_t)c;
	}
	hyp_mutex_init(&kmem_lock);
	kmem_large_head.kl_next = kmem_large_head.kl_prev = &kmem_large_head;
}

#ifdef PITH_SAN

/*
 * Sanitizer build: one host allocation per block, a 16-byte header with
 * the size in front (checked at free), no caches.
 */
struct kmem_sanhdr {
	size_t ks_size;
	size_t ks_magic;
};
#define KMEM_SAN_MAGIC 0x73616e6b6d656dul

void *
kmem_alloc(size_t size)
{
	size_t total = size + sizeof(struct kmem_sanhdr);
	struct kmem_sanhdr *h;

	if (total < size)
		return NULL;
	h = kmem_host_alloc(total, 16);
	if (h == NULL)
		return NULL;
	h->ks_size = size;
	h->ks_magic = KMEM_SAN_MAGIC;
	__atomic_add_fetch(&kmem_depot_bytes, (int64_t)size, __ATOMIC_RELAXED);
	__atomic_add_fetch(&kmem_depot_count, 1, __ATOMIC_RELAXED);
	return h + 1;
}

void
kmem_free(void *p, size_t size)
{
	struct kmem_sanhdr *h;

	if (p == NULL)
		return;
	h = (struct kmem_sanhdr *)p - 1;
	if (h->ks_magic != KMEM_SAN_MAGIC || h->ks_size != size)
		panic("kmem_free(%p, %zu): bad block or size (allocated %zu)",
		    p, size, h->ks_size);
	h->ks_magic = 0;
	__atomic_sub_fetch(&kmem_depot_bytes, (int64_t)size, __ATOMIC_RELAXED);
	__atomic_sub_fetch(&kmem_depot_count, 1, __ATOMIC_RELAXED);
	kmem_host_free(h, size + sizeof(*h));
}

/* Nothing is cached: every block went back to the host when freed. */
void
kmem_cpu_drain(struct kmem_cpu *kc)
{
	(void)kc;
}

size_t
kmem_reap(unsigned keep)
{
	(void)keep;
	return 0;
}

#else /* !PITH_SAN */

static void *kmem_alloc_slow(unsigned c, size_t size, struct kmem_cpu *kc);
static void kmem_free_slow(void *p, unsigned c, size_t size,
    struct kmem_cpu *kc);
static void *kmem_large_alloc(size_t size);
static void kmem_large_free(void *p, size_t size);

static inline struct kmem_cpu *
kmem_mycpu(void)
{
	struct lwp *l = curlwp();

	if (l == NULL || l->l_cpu == NULL)
		return NULL;
	return l->l_cpu->ci_kmem;
}

void *
kmem_alloc(size_t size)
{
	struct kmem_cpu *kc;
	struct kmem_freeblk *b;
	unsigned c;

	if (__predict_false(size > KMEM_MAXCLASS))
		return kmem_large_alloc(size);
	c = kmem_size2class[(size + 15) >> 4];
	kc = kmem_mycpu();
	if (__predict_true(kc != NULL && (b = kc->kc_free[c]) != NULL)) {
		kc->kc_free[c] = b->next;
		kc->kc_nfree[c]--;
		kc->kc_bytes += size;
		kc->kc_count++;
		return b;
	}
	return kmem_alloc_slow(c, size, kc);
}

void
kmem_free(void *p, size_t size)
{
	struct kmem_cpu *kc;
	struct kmem_freeblk *b = p;
	unsigned c;

	if (p == NULL)
		return;
	if (__predict_false(size > KMEM_MAXCLASS)) {
		kmem_large_free(p, size);
		return;
	}
	c = kmem_size2class[(size + 15) >> 4];
	kc = kmem_mycpu();
	if (__predict_true(kc != NULL && kc->kc_nfree[c] < KMEM_CPU_MAX)) {
		b->next = kc->kc_free[c];
		kc->kc_free[c] = b;
		kc->kc_nfree[c]++;
		kc->kc_bytes -= size;
		kc->kc_count--;
		return;
	}
	kmem_free_slow(p, c, size, kc);
}

/* Take a new slab and put its blocks on the depot.  kmem_lock held. */
static bool
kmem_slab_grow(unsigned c)
{
	struct kmem_slab *s;
	unsigned bsize = kmem_class_size[c];
	size_t ssize = kmem_slab_size(c);
	char *p, *end;

	s = kmem_host_alloc(ssize, 4096);
	if (s == NULL)
		return false;
	s->ks_class = c;
	s->ks_nfree = 0;
	s->ks_next = kmem_slabs;
	kmem_slabs = s;
	kmem_nslabs[c]++;
	end = (char *)s + ssize - bsize;
	/*
	 * Blocks whose size is a multiple of the cache line start on a line,
	 * so a structure padded to lines (struct lwp) never shares one with
	 * another thread's; pages start on a page (the header costs the
	 * slab's first page).
	 */
	p = (char *)(s + 1);
	if (bsize == KMEM_PAGE_SIZE)
		p = (char *)s + KMEM_PAGE_SIZE;
	else if (bsize % 64 == 0)
		p = (char *)s + roundup(sizeof(*s), 64);
	kmem_carve[c] = p;
	kmem_carve_end[c] = end + bsize;
	return true;
}

/* A free block of class c from the depot or the carve region, or NULL.
 * kmem_lock held. */
static struct kmem_freeblk *
kmem_depot_get(unsigned c)
{
	struct kmem_freeblk *b = kmem_depot[c];

	if (b != NULL) {
		kmem_depot[c] = b->next;
		return b;
	}
	if (kmem_carve_end[c] - kmem_carve[c] < (ptrdiff_t)kmem_class_size[c])
		return NULL;
	b = (struct kmem_freeblk *)kmem_carve[c];
	kmem_carve[c] += kmem_class_size[c];
	return b;
}

static void *
kmem_alloc_slow(unsigned c, size_t size, struct kmem_cpu *kc)
{
	struct kmem_freeblk *b;

	hyp_mutex_enter(&kmem_lock);
	b = kmem_depot_get(c);
	if (b == NULL) {
		if (!kmem_slab_grow(c)) {
			hyp_mutex_exit(&kmem_lock);
			return NULL;
		}
		b = kmem_depot_get(c);
	}
	if (kc == NULL) {
		kmem_depot_bytes += size;
		kmem_depot_count++;
		hyp_mutex_exit(&kmem_lock);
		return b;
	}
	/* Refill the CPU's list with a batch while we hold the lock. */
	for (unsigned i = 0; i < KMEM_BATCH; i++) {
		struct kmem_freeblk *x = kmem_depot_get(c);
		if (x == NULL)
			break;
		x->next = kc->kc_free[c];
		kc->kc_free[c] = x;
		kc->kc_nfree[c]++;
	}
	hyp_mutex_exit(&kmem_lock);
	kc->kc_bytes += size;
	kc->kc_count++;
	return b;
}

static void
kmem_free_slow(void *p, unsigned c, size_t size, struct kmem_cpu *kc)
{
	struct kmem_freeblk *b = p;

	hyp_mutex_enter(&kmem_lock);
	b->next = kmem_depot[c];
	kmem_depot[c] = b;
	if (kc == NULL) {
		kmem_depot_bytes -= size;
		kmem_depot_count--;
		hyp_mutex_exit(&kmem_lock);
		return;
	}
	/* The CPU's list is full: spill a batch back to the depot. */
	for (unsigned i = 0; i < KMEM_BATCH && kc->kc_free[c] != NULL; i++) {
		struct kmem_freeblk *x = kc->kc_free[c];
		kc->kc_free[c] = x->next;
		kc->kc_nfree[c]--;
		x->next = kmem_depot[c];
		kmem_depot[c] = x;
	}
	hyp_mutex_exit(&kmem_lock);
	kc->kc_bytes -= size;
	kc->kc_count--;
}

static void *
kmem_large_alloc(size_t size)
{
	size_t total = size + sizeof(struct kmem_large);
	struct kmem_large *h;

	if (total < size)
		return NULL;
	h = kmem_host_alloc(total, 16);
	if (h == NULL)
		return NULL;
	h->kl_size = size;
	h->kl_magic = KMEM_LARGE_MAGIC;
	hyp_mutex_enter(&kmem_lock);
	h->kl_next = kmem_large_head.kl_next;
	h->kl_prev = &kmem_large_head;
	h->kl_next->kl_prev = h;
	kmem_large_head.kl_next = h;
	kmem_depot_bytes += size;
	kmem_depot_count++;
	hyp_mutex_exit(&kmem_lock);
	return h + 1;
}

static void
kmem_large_free(void *p, size_t size)
{
	struct kmem_large *h = (struct kmem_large *)p - 1;

	if (h->kl_magic != KMEM_LARGE_MAGIC || h->kl_size != size)
		panic("kmem_free(%p, %zu): bad block or size", p, size);
	h->kl_magic = 0;
	hyp_mutex_enter(&kmem_lock);
	h->kl_prev->kl_next = h->kl_next;
	h->kl_next->kl_prev = h->kl_prev;
	kmem_depot_bytes -= size;
	kmem_depot_count--;
	hyp_mutex_exit(&kmem_lock);
	kmem_host_free(h, size + sizeof(*h));
}

/* Where a slab of class c puts its first block (see kmem_slab_grow). */
static size_t
kmem_slab_first(unsigned c)
{
	unsigned bsize = kmem_class_size[c];

	if (bsize == KMEM_PAGE_SIZE)
		return KMEM_PAGE_SIZE;
	if (bsize % 64 == 0)
		return roundup(sizeof(struct kmem_slab), 64);
	return sizeof(struct kmem_slab);
}

void
kmem_cpu_drain(struct kmem_cpu *kc)
{
	struct kmem_freeblk *b;

	hyp_mutex_enter(&kmem_lock);
	for (unsigned c = 0; c < KMEM_NCLASSES; c++) {
		while ((b = kc->kc_free[c]) != NULL) {
			kc->kc_free[c] = b->next;
			b->next = kmem_depot[c];
			kmem_depot[c] = b;
		}
		kc->kc_nfree[c] = 0;
	}
	hyp_mutex_exit(&kmem_lock);
}

/* The slab of v among the n sorted slabs of size ssize, or NULL. */
static struct kmem_slab *
kmem_slab_find(struct kmem_slab **v, size_t n, const void *p, size_t ssize)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		char *s = (char *)v[mid];

		if ((const char *)p < s)
			hi = mid;
		else if ((const char *)p >= s + ssize)
			lo = mid + 1;
		else
			return v[mid];
	}
	return NULL;
}

/* Shell sort by address: no libc, and n is the slabs of one class. */
static void
kmem_slab_sort(struct kmem_slab **v, size_t n)
{
	for (size_t gap = n / 2; gap > 0; gap /= 2)
		for (size_t i = gap; i < n; i++) {
			struct kmem_slab *x = v[i];
			size_t j = i;

			for (; j >= gap && v[j - gap] > x; j -= gap)
				v[j] = v[j - gap];
			v[j] = x;
		}
}

/*
 * Return class c's empty slabs beyond keep; bytes returned.  kmem_lock
 * held.  The scratch array is the host's, outside the limit: a reap must
 * work when the kernel is at its limit, which is when it matters most.
 */
static size_t
kmem_reap_class(unsigned c, unsigned keep)
{
	size_t ssize = kmem_slab_size(c), n = kmem_nslabs[c], i = 0, freed = 0;
	size_t nblocks = (ssize - kmem_slab_first(c)) / kmem_class_size[c];
	struct kmem_slab **v, *s, **sp;
	struct kmem_freeblk *b, **bp;
	unsigned kept = 0;
	void *mem;

	/* A 2 MiB page slab is no small reserve: the next burst pays one
	 * host allocation for it instead. */
	if (kmem_class_size[c] == KMEM_PAGE_SIZE)
		keep = 0;
	if (n == 0 || hyp_malloc(n * sizeof(*v), 0, &mem) != 0)
		return 0;
	v = mem;
	for (s = kmem_slabs; s != NULL; s = s->ks_next)
		if (s->ks_class == c) {
			KASSERT(i < n);
			s->ks_nfree = 0;
			v[i++] = s;
		}
	KASSERT(i == n);
	kmem_slab_sort(v, n);
	for (b = kmem_depot[c]; b != NULL; b = b->next) {
		s = kmem_slab_find(v, n, b, ssize);
		KASSERT(s != NULL);
		s->ks_nfree++;
	}
	/* The newest slab's uncarved tail is free too. */
	if (kmem_carve_end[c] > kmem_carve[c]) {
		s = kmem_slab_find(v, n, kmem_carve[c], ssize);
		KASSERT(s != NULL);
		s->ks_nfree += (unsigned)((size_t)(kmem_carve_end[c] -
		    kmem_carve[c]) / kmem_class_size[c]);
	}
	for (i = 0; i < n; i++) {
		KASSERT(v[i]->ks_nfree <= nblocks);
		if (v[i]->ks_nfree != nblocks)
			continue;
		if (kept < keep)
			kept++;
		else
			v[i]->ks_nfree = KMEM_REAP_DOOMED;
	}
	/* Unthread the doomed slabs' blocks from the depot... */
	for (bp = &kmem_depot[c]; (b = *bp) != NULL;) {
		if (kmem_slab_find(v, n, b, ssize)->ks_nfree ==
		    KMEM_REAP_DOOMED)
			*bp = b->next;
		else
			bp = &b->next;
	}
	if (kmem_carve_end[c] > kmem_carve[c] && kmem_slab_find(v, n,
	    kmem_carve[c], ssize)->ks_nfree == KMEM_REAP_DOOMED)
		kmem_carve[c] = kmem_carve_end[c] = NULL;
	/* ...and give them back. */
	for (sp = &kmem_slabs; (s = *sp) != NULL;) {
		if (s->ks_class == c && s->ks_nfree == KMEM_REAP_DOOMED) {
			*sp = s->ks_next;
			kmem_nslabs[c]--;
			kmem_host_free(s, ssize);
			freed += ssize;
		} else
			sp = &s->ks_next;
	}
	hyp_free(mem, n * sizeof(*v));
	return freed;
}

size_t
kmem_reap(unsigned keep)
{
	size_t freed = 0;

	hyp_mutex_enter(&kmem_lock);
	for (unsigned c = 0; c < KMEM_NCLASSES; c++)
		freed += kmem_reap_class(c, keep);
	hyp_mutex_exit(&kmem_lock);
	return freed;
}

#endif /* PITH_SAN */

void *
kmem_zalloc(size_t size)
{
	void *p = kmem_alloc(size);

	if (p != NULL)
		memset(p, 0, size);
	return p;
}

char *
kmem_strdup(const char *s)
{
	size_t n = strlen(s) + 1;
	char *p = kmem_alloc(n);

	if (p != NULL)
		memcpy(p, s, n);
	return p;
}

void
kmem_strfree(char *s)
{
	if (s != NULL)
		kmem_free(s, strlen(s) + 1);
}

size_t
kmem_inuse(void)
{
	return __atomic_load_n(&kmem_host, __ATOMIC_RELAXED);
}

/*
 * Outstanding allocations.  Exact only when no other thread allocates
 * (the per-CPU counters are read without their owners' cooperation).
 */
void
kmem_stats(int64_t *bytes, int64_t *count)
{
	int64_t b, n;

	hyp_mutex_enter(&kmem_lock);
	b = kmem_depot_bytes;
	n = kmem_depot_count;
	hyp_mutex_exit(&kmem_lock);
	for (unsigned i = 0; i < MAXCPUS; i++) {
		b += __atomic_load_n(&kmem_cpus[i].kc_bytes, __ATOMIC_RELAXED);
		n += __atomic_load_n(&kmem_cpus[i].kc_count, __ATOMIC_RELAXED);
	}
	*bytes = b;
	*count = n;
}

/*
 * Shutdown: report what was never freed, then give every slab and large
 * block back to the host.  Single-threaded: every other thread is gone.
 */
void
kmem_fini(void)
{
	int64_t bytes, count;

	kmem_stats(&bytes, &count);
	if (count != 0 || bytes != 0)
		kprintf("pith: leak: %lld bytes in %lld allocations\n",
		    (long long)bytes, (long long)count);
#ifndef PITH_SAN
	while (kmem_slabs != NULL) {
		struct kmem_slab *s = kmem_slabs;
		kmem_slabs = s->ks_next;
		kmem_host_free(s, kmem_slab_size(s->ks_class));
	}
	while (kmem_large_head.kl_next != &kmem_large_head) {
		struct kmem_large *h = kmem_large_head.kl_next;
		kmem_large_head.kl_next = h->kl_next;
		kmem_host_free(h, h->kl_size + sizeof(*h));
	}
	memset(kmem_depot, 0, sizeof(kmem_depot));
	memset(kmem_carve, 0, sizeof(kmem_carve));
	memset(kmem_carve_end, 0, sizeof(kmem_carve_end));
	memset(kmem_nslabs, 0, sizeof(kmem_nslabs));
#endif
	memset(kmem_cpus, 0, sizeof(kmem_cpus));
	kmem_depot_bytes = 0;
	kmem_depot_count = 0;
	hyp_mutex_destroy(&kmem_lock);
}
