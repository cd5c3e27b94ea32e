/*
 * Virtual CPUs.
 *
 * There are kern_cfg.ncpus of them; holding one is the right to run kernel
 * code, and per-CPU state (the allocator's caches) belongs to the holder.
 * A host thread takes a CPU on system-call entry and gives it back on exit
 * or before it blocks, so a blocked caller never holds a CPU.
 *
 * Taking a CPU is one CAS on ci_owner, first on the CPU the lwp last ran
 * on (its caches are warm there), then on every other; releasing is one
 * plain store.  When all are busy the caller sleeps on cpu_wait_cv; a
 * releasing thread signals only if someone sleeps (cpu_nwaiters).  Without
 * a fence between the store and that check the two can cross, so a waiter
 * also rescans every millisecond: rare latency rather than a fence on
 * every system call.
 */
#include "kern/kern.h"
#include "kern_private.h"

#define CPU_WAIT_RECHECK_NS 1000000    /* see cpu_enter_slow */

static struct cpu_info cpu_infos[MAXCPUS];
static unsigned cpu_n;                  /* [I] after boot */
static unsigned cpu_next_hint;          /* [a] round robin for new lwps */

static struct hyp_mutex cpu_wait_lock;
static struct hyp_cond cpu_wait_cv;
static unsigned cpu_nwaiters;           /* [a], changed under cpu_wait_lock */

void
cpu_init(unsigned n)
{
	KASSERT(n >= 1 && n <= MAXCPUS);
	cpu_n = n;
	for (unsigned i = 0; i < n; i++) {
		cpu_infos[i].ci_owner = NULL;
		cpu_infos[i].ci_index = i;
		cpu_infos[i].ci_kmem = kmem_cpu_cache(i);
		cpu_infos[i].ci_filefree = NULL;
	}
	cpu_next_hint = 0;
	cpu_nwaiters = 0;
	hyp_mutex_init(&cpu_wait_lock);
	hyp_cond_init(&cpu_wait_cv);
}

void
cpu_fini(void)
{
	for (unsigned i = 0; i < cpu_n; i++)
		KASSERT(cpu_infos[i].ci_owner == NULL);
	hyp_cond_destroy(&cpu_wait_cv);
	hyp_mutex_destroy(&cpu_wait_lock);
	cpu_n = 0;
}

struct cpu_info *
cpu_lookup(unsigned i)
{
	KASSERT(i < cpu_n);
	return &cpu_infos[i];
}

unsigned
cpu_count(void)
{
	return cpu_n;
}

unsigned
cpu_index(const struct cpu_info *ci)
{
	return ci->ci_index;
}

struct cpu_info *
cpu_hint(void)
{
	unsigned i = __atomic_fetch_add(&cpu_next_hint, 1, __ATOMIC_RELAXED);

	return &cpu_infos[i % cpu_n];
}

static inline bool
cpu_try(struct cpu_info *ci, struct lwp *l)
{
	struct lwp *expect = NULL;

	return __atomic_compare_exchange_n(&ci->ci_owner, &expect, l, 0,
	    __ATOMIC_SEQ_CST, __ATOMIC_RELAXED);
}

static struct cpu_info *
cpu_scan(struct lwp *l)
{
	for (unsigned i = 0; i < cpu_n; i++) {
		struct cpu_info *ci = &cpu_infos[i];
		if (__atomic_load_n(&ci->ci_owner, __ATOMIC_RELAXED) == NULL &&
		    cpu_try(ci, l))
			return ci;
	}
	return NULL;
}

static struct cpu_info *
cpu_enter_slow(struct lwp *l)
{
	struct cpu_info *ci;

	if ((ci = cpu_scan(l)) != NULL)
		return ci;
	hyp_mutex_enter(&cpu_wait_lock);
	__atomic_add_fetch(&cpu_nwaiters, 1, __ATOMIC_SEQ_CST);
	/*
	 * cpu_leave's release is a plain store, so it can miss a waiter
	 * that arrives at the same instant; the bounded wait turns that
	 * rare race into a millisecond's delay instead of a fence on every
	 * system call.
	 */
	while ((ci = cpu_scan(l)) == NULL)
		(void)hyp_cond_timedwait(&cpu_wait_cv, &cpu_wait_lock,
		    hyp_clock_ns(HYP_CLOCK_MONOTONIC) + CPU_WAIT_RECHECK_NS);
	__atomic_sub_fetch(&cpu_nwaiters, 1, __ATOMIC_SEQ_CST);
	hyp_mutex_exit(&cpu_wait_lock);
	return ci;
}

void
cpu_enter(struct lwp *l)
{
	struct cpu_info *ci = l->l_lastcpu;

	KASSERT(l->l_cpu == NULL);
	if (__predict_false(ci == NULL || !cpu_try(ci, l)))
		ci = cpu_enter_slow(l);
	l->l_cpu = ci;
}

void
cpu_leave(struct lwp *l)
{
	struct cpu_info *ci = l->l_cpu;

	KASSERT(ci != NULL && ci->ci_owner == l);
	l->l_lastcpu = ci;
	l->l_cpu = NULL;
	__atomic_store_n(&ci->ci_owner, NULL, __ATOMIC_RELEASE);
	if (__predict_false(__atomic_load_n(&cpu_nwaiters, __ATOMIC_RELAXED))) {
		hyp_mutex_enter(&cpu_wait_lock);
		hyp_cond_signal(&cpu_wait_cv);
		hyp_mutex_exit(&cpu_wait_lock);
	}
}

bool
cpu_borrow(struct cpu_info *ci, struct lwp *l)
{
	KASSERT(l->l_cpu != NULL && l->l_cpu != ci);
	return cpu_try(ci, l);
}

/* As cpu_leave, for a borrowed CPU: waiters may take it now. */
void
cpu_return(struct cpu_info *ci, struct lwp *l)
{
	KASSERT(ci->ci_owner == l);
	__atomic_store_n(&ci->ci_owner, NULL, __ATOMIC_RELEASE);
	if (__atomic_load_n(&cpu_nwaiters, __ATOMIC_RELAXED)) {
		hyp_mutex_enter(&cpu_wait_lock);
		hyp_cond_signal(&cpu_wait_cv);
		hyp_mutex_exit(&cpu_wait_lock);
	}
}

void
cpu_block(struct lwp *l)
{
	cpu_leave(l);
}

void
cpu_unblock(struct lwp *l)
{
	cpu_enter(l);
}
