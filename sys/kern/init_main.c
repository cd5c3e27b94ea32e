/*
 * Boot and shutdown.
 *
 * pith_kinit reads as the boot sequence: check the configuration, start
 * the platform, then the core in dependency order -- memory, CPUs, the
 * random generator, lwps and the first processes, the timer thread -- and
 * finally every linked-in component, level by level.  A failure anywhere
 * unwinds what was done, in reverse, and leaves nothing allocated, so a
 * failed boot can be retried.  pith_fini is the same walk backwards, and
 * the two together cost well under a millisecond, so tests may boot a
 * fresh kernel each.
 *
 * kern_state guards against two boots at once (EBUSY); boot and shutdown
 * themselves run on one thread, with no other thread inside the kernel.
 */
#include "kern/kern.h"
#include "kern/proc.h"
#include "kern_private.h"

#define NCPUS_MAX MAXCPUS
/* A kernel needs a few slabs to boot at all. */
#define MEM_LIMIT_MIN ((size_t)1 << 20)
#define PITH_F_ALL 0x1u         /* PITH_F_TRACE, see include/pith/pith.h */

struct kern_config kern_cfg;
volatile int kern_running;

enum { KS_DOWN, KS_BOOTING, KS_UP, KS_STOPPING };
static int kern_state;                  /* [a] */

extern const struct component pithk_components_start[];
extern const struct component pithk_components_end[];

/* The components sorted by level, and how many have been started. */
static const struct component **comp_sorted;
static size_t comp_count, comp_started;

static const struct hyp_upcalls kern_upcalls = {
	.hu_lwp_exit = lwp_exit_upcall,
};

static int
kern_config_set(const struct pith_kconfig *cfg)
{
	struct pith_kconfig def = { 0, 0, NULL, 0 };

	if (cfg == NULL)
		cfg = &def;
	if (cfg->ncpus > NCPUS_MAX || (cfg->flags & ~PITH_F_ALL) != 0)
		return EINVAL;
	if (cfg->hostname != NULL &&
	    (cfg->hostname[0] == '\0' ||
	    strnlen(cfg->hostname, sizeof(kern_cfg.hostname)) >=
	    sizeof(kern_cfg.hostname)))
		return EINVAL;
	if (cfg->mem_limit != 0 && cfg->mem_limit < MEM_LIMIT_MIN)
		return ENOMEM;
	kern_cfg.ncpus = cfg->ncpus != 0 ? cfg->ncpus : NCPUS_DEFAULT;
	kern_cfg.mem_limit = cfg->mem_limit != 0 ? cfg->mem_limit :
	    MEM_LIMIT_DEFAULT;
	strlcpy(kern_cfg.hostname, cfg->hostname != NULL ? cfg->hostname :
	    "pith", sizeof(kern_cfg.hostname));
	kern_cfg.flags = cfg->flags;
	return 0;
}

/* Sort the linked-in components by level (stable: link order within). */
static int
comp_sort(void)
{
	const struct component *c;
	size_t n = (size_t)(pithk_components_end - pithk_components_start);

	comp_count = n;
	comp_started = 0;
	comp_sorted = NULL;
	if (n == 0)
		return 0;
	comp_sorted = kmem_alloc(n * sizeof(*comp_sorted));
	if (comp_sorted == NULL)
		return ENOMEM;
	for (size_t i = 0; i < n; i++) {
		size_t j;
		c = &pithk_components_start[i];
		for (j = i; j > 0 && comp_sorted[j - 1]->c_level > c->c_level; j--)
			comp_sorted[j] = comp_sorted[j - 1];
		comp_sorted[j] = c;
	}
	return 0;
}

static void
comp_stop_all(void)
{
	while (comp_started > 0) {
		const struct component *c = comp_sorted[--comp_started];
		if (c->c_fini != NULL)
			c->c_fini();
	}
	if (comp_sorted != NULL)
		kmem_free(comp_sorted, comp_count * sizeof(*comp_sorted));
	comp_sorted = NULL;
	comp_count = 0;
}

static int
comp_start_all(void)
{
	int error;

	error = comp_sort();
	if (error != 0)
		return error;
	for (; comp_started < comp_count; comp_started++) {
		const struct component *c = comp_sorted[comp_started];
		error = c->c_init != NULL ? c->c_init() : 0;
		if (error != 0) {
			kprintf("pith: %s: init failed, error %d\n",
			    c->c_name, error);
			return error;
		}
	}
	return 0;
}

/*
 * The calling thread's lwp now runs as proc0: the processes are gone,
 * and the components' fini code runs as the kernel.
 */
static void
kern_become_proc0(void)
{
	struct lwp *l = curlwp();

	if (l != NULL && l->l_proc != proc0) {
		struct proc *old = l->l_proc;
		proc_hold(proc0);
		l->l_proc = proc0;
		proc_rele(old);
	}
}

/*
 * Boot stages, in order; kern_unwind(stage) undoes every stage up to and
 * including the given one, in reverse.  pith_fini is kern_unwind(ST_COMPS).
 */
enum {
	ST_NONE,
	ST_HYP,         /* platform and allocator up */
	ST_CPU,         /* virtual CPUs */
	ST_RND,         /* generator seeded */
	ST_LOCKS,       /* lwp list and callout queue */
	ST_PROCS,       /* proc0, proc1, the caller's lwp */
	ST_COMPS,       /* callout thread, components (comp_started) */
};

static void
kern_unwind(int stage)
{
	struct lwp *l = curlwp();

	if (stage >= ST_COMPS) {
		/* Processes go first: their directories and files before
		 * the file systems that hold them. */
		proc_exit_all();
		kern_become_proc0();
		proc_drop_dirs(proc0);
		lwp_drop_all_caches();
		if (l != NULL)
			cpu_enter(l);
		comp_stop_all();
		if (l != NULL)
			cpu_leave(l);
	}
	if (stage >= ST_LOCKS)
		callout_thread_stop();  /* joins the thread if there is one */
	kern_running = 0;
	if (stage >= ST_PROCS) {
		proc_exit_all();
		kern_become_proc0();
	}
	if (stage >= ST_LOCKS)
		lwp_fini();
	if (stage >= ST_PROCS)
		proc_fini();
	if (stage >= ST_RND)
		rnd_fini();
	if (stage >= ST_CPU)
		cpu_fini();
	if (stage >= ST_HYP) {
		kmem_fini();
		sleepq_fini();
		hyp_fini();
	}
}

static int
kern_boot(int *stagep)
{
	struct lwp *l;
	int error;

	error = hyp_init(HYP_VERSION, &kern_upcalls);
	if (error != 0)
		return error;
	sleepq_init();
	kmem_init(kern_cfg.mem_limit);
	*stagep = ST_HYP;
	cpu_init(kern_cfg.ncpus);
	*stagep = ST_CPU;
	if ((error = rnd_init()) != 0)
		return error;
	*stagep = ST_RND;
	lwp_init();
	callout_sysinit();
	*stagep = ST_LOCKS;
	if ((error = proc_init()) != 0)
		return error;
	*stagep = ST_PROCS;
	if ((error = lwp_alloc(proc1, 0, &l)) != 0)
		return error;
	hyp_curlwp_set(l);
	kern_running = 1;
	if ((error = callout_thread_start()) != 0)
		return error;
	*stagep = ST_COMPS;
	cpu_enter(l);
	error = comp_start_all();
	cpu_leave(l);
	return error;
}

PITH_API long
pith_kinit(const struct pith_kconfig *cfg)
{
	int error, stage = ST_NONE;
	int expect = KS_DOWN;

	if (!__atomic_compare_exchange_n(&kern_state, &expect, KS_BOOTING, 0,
	    __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
		return -EBUSY;
	error = kern_config_set(cfg);
	if (error == 0)
		error = kern_boot(&stage);
	if (error != 0) {
		kern_unwind(stage);
		__atomic_store_n(&kern_state, KS_DOWN, __ATOMIC_RELEASE);
		return -error;
	}
	__atomic_store_n(&kern_state, KS_UP, __ATOMIC_RELEASE);
	return 0;
}

PITH_API void
pith_fini(void)
{
	struct lwp *l;
	int expect = KS_UP;

	if (!__atomic_compare_exchange_n(&kern_state, &expect, KS_STOPPING, 0,
	    __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
		return;
	l = lwp_current();
	if (l != NULL && l->l_cpu != NULL)
		cpu_leave(l);
	kern_unwind(ST_COMPS);
	__atomic_store_n(&kern_state, KS_DOWN, __ATOMIC_RELEASE);
}

PITH_API size_t
pith_mem_inuse(void)
{
	return kmem_inuse();
}
