/*
 * The kernel core's private interfaces: what the files of sys/kern/ tell
 * one another and nobody else needs.  Boot and shutdown order lives in
 * init_main.c; each *_init here is called once from there, each *_fini in
 * reverse.  Nothing outside sys/kern/ (and the core's unit tests) should
 * include this.
 */
#ifndef PITH_KERN_KERN_PRIVATE_H
#define PITH_KERN_KERN_PRIVATE_H

#include "kern/kern.h"
#include "kern/proc.h"

#define MAXCPUS 256
#define NCPUS_DEFAULT 8
#define MEM_LIMIT_DEFAULT ((size_t)256 << 20)

/* --- kmem ---------------------------------------------------------------- */

#define KMEM_NCLASSES 15
#define KMEM_MAXCLASS 4096

/*
 * One CPU's allocator cache: a free list per size class and the CPU's
 * share of the in-use statistics (signed: a block may be freed on another
 * CPU than the one that allocated it).  Touched only by the lwp holding
 * the CPU, so it needs no lock.
 */
struct kmem_cpu {
	void *kc_free[KMEM_NCLASSES];
	unsigned kc_nfree[KMEM_NCLASSES];
	int64_t kc_bytes;               /* requested bytes allocated - freed */
	int64_t kc_count;               /* allocations - frees */
};

void kmem_init(size_t limit);
/* Report leaks and return every byte to the host. */
void kmem_fini(void);
/* Outstanding kernel allocations (for tests): bytes and count. */
void kmem_stats(int64_t *bytes, int64_t *count);
/* Move every block on kc's lists to the depot; the caller holds kc's CPU
 * (or every thread is gone). */
void kmem_cpu_drain(struct kmem_cpu *kc);
/* Give slabs whose blocks are all in the depot back to the host, keeping
 * keep empty ones per class; bytes returned.  Drain the CPUs first. */
size_t kmem_reap(unsigned keep);
/* Empty slabs a reap keeps per small size class, for the next burst. */
#define KMEM_REAP_KEEP 1
/* CPU i's cache, for cpu_init to hang on its cpu_info. */
struct kmem_cpu *kmem_cpu_cache(unsigned i);

/* --- virtual CPUs -------------------------------------------------------- */

/*
 * A virtual CPU.  ci_owner is the lwp holding it (NULL: free), taken with
 * one CAS and released with one store; everything else is [I] or belongs
 * to the holder.  Cache-line aligned so that CPUs do not share lines.
 */
struct cpu_info {
	struct lwp *ci_owner;           /* [a] */
	unsigned ci_index;              /* [I] */
	struct kmem_cpu *ci_kmem;       /* [owner] allocator cache */
	struct file *ci_filefree;       /* [owner] free files (kern_descrip.c) */
} __attribute__((aligned(64)));

void cpu_init(unsigned n);
/* CPU number i (< cpu_count()), for shutdown walks over per-CPU state. */
struct cpu_info *cpu_lookup(unsigned i);
void cpu_fini(void);
/* Hold ci for the reaper l if it is free (false if busy); cpu_return
 * gives it back.  l holds a CPU of its own meanwhile. */
bool cpu_borrow(struct cpu_info *ci, struct lwp *l);
void cpu_return(struct cpu_info *ci, struct lwp *l);
/* Every freed file back to kmem; the reaper holds every CPU. */
void filecache_reap(void);
/* A CPU for a new lwp to try first (spreads lwps over the CPUs). */
struct cpu_info *cpu_hint(void);

/* --- lwps ---------------------------------------------------------------- */

int lwp_alloc(struct proc *p, int flags, struct lwp **ret);
void lwp_free(struct lwp *l);
void lwp_drop_all_caches(void);
void lwp_init(void);
/* Live lwps of host threads (kernel threads not counted); see fd_get_light. */
unsigned lwp_user_count(void);
/* Wait until no other lwp has l_fdlight == fdp (kern_descrip.c). */
void lwp_wait_fdlight(const void *fdp);
/* The shared sleep queues behind every lock (kern_lock.c). */
void sleepq_init(void);
void sleepq_fini(void);
/* Free every lwp left (at shutdown); clears the caller's binding. */
void lwp_fini(void);
/* The hu_lwp_exit upcall. */
void lwp_exit_upcall(void *arg);

/* --- callouts, rnd, proc ------------------------------------------------- */

void callout_sysinit(void);
int callout_thread_start(void);
void callout_thread_stop(void);

int rnd_init(void);
void rnd_fini(void);
/* RFC 8439 section 2.3: one 64-byte block. */
void chacha20_block(const uint32_t key[8], uint32_t counter,
    const uint32_t nonce[3], uint8_t out[64]);

int proc_init(void);
/* Drop the directories of proc0 (before the VFS goes). */
void proc_drop_dirs(struct proc *p);
/* End every process in the table (not proc0). */
void proc_exit_all(void);
void proc_fini(void);

/*
 * The embedding API's kernel halves (lib/pith/wrap.c turns -errno into
 * errno).  struct pith_kconfig must match struct pith_config in
 * include/pith/pith.h field for field.
 */
struct pith_kconfig {
	unsigned ncpus;
	size_t mem_limit;
	const char *hostname;
	unsigned flags;
};
PITH_API long pith_kinit(const struct pith_kconfig *cfg);
PITH_API void pith_fini(void);
PITH_API size_t pith_mem_inuse(void);
PITH_API size_t pith_mem_reap(void);
PITH_API long pith_kproc_create(unsigned flags);
PITH_API long pith_kproc_switch(pid_t pid);
PITH_API long pith_kproc_release(pid_t pid);

/* True between a successful boot and the start of shutdown. */
extern volatile int kern_running;

#endif
