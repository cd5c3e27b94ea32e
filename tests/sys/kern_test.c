/*
 * The kernel core through the public API: boot/shutdown cycles (and their
 * cost), uname, clocks and sleeps, getrandom, credentials, processes, and
 * many host threads calling in at once (each gets an lwp, freed when the
 * thread exits).
 */
#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <time.h>
#include <sys/utsname.h>
#include <sys/random.h>

#include <pith/pith.h>
#include "lib/tap.h"
#include "lib/host.h"

/* The test's process, as getpid tells it to main (test_random_creds). */
static pid_t main_pid;

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void
test_cycles(void)
{
	struct pith_config bad = { .ncpus = 1000 };
	int i, fails = 0;
	double t0, per;

	if (!PITH_HOSTED) {
		skip(4, "%s", HOST_WHY_INIT);
		return;
	}
	is_int(pith_init(&bad), -1, "1000 CPUs refused");
	is_int(errno, EINVAL, "with EINVAL");
	t0 = now_s();
	for (i = 0; i < 200; i++) {
		if (pith_init(NULL) != 0)
			fails++;
		pith_fini();
	}
	per = (now_s() - t0) / 200;
	is_int(fails, 0, "200 boot/shutdown cycles");
	/* Speed is make bench's to judge, not a test's. */
	diag("a cycle took %.0f us", per * 1e6);
	host_mem_none("no memory held after shutdown");
}

static void
test_uname_time(void)
{
	struct utsname u;
	struct timespec ts, req;
	double t0;

	ok(pith_sys_uname(&u) == 0 && strcmp(u.sysname, "Linux") == 0 &&
	    strcmp(u.machine, "x86_64") == 0, "uname: Linux on x86_64");
	if (PITH_HOSTED)
		ok(strcmp(u.nodename, "kerntest") == 0, "uname: our hostname");
	else
		skip(1, "the configured hostname: %s", HOST_WHY_INIT);
	ok(pith_sys_clock_gettime(CLOCK_MONOTONIC, &ts) == 0 &&
	    ts.tv_nsec >= 0 && ts.tv_nsec < 1000000000, "clock_gettime");
	errno = 0;
	ok(pith_sys_clock_gettime(42, &ts) == -1 && errno == EINVAL,
	    "unknown clock: EINVAL");
	errno = 0;
	ok(pith_sys_clock_gettime(CLOCK_REALTIME, NULL) == -1 &&
	    errno == EFAULT, "NULL timespec: EFAULT");
	req.tv_sec = 0;
	req.tv_nsec = 1000000000;
	errno = 0;
	ok(pith_sys_nanosleep(&req, NULL) == -1 && errno == EINVAL,
	    "nanosleep with tv_nsec 1e9: EINVAL");
	req.tv_sec = -1;
	req.tv_nsec = 0;
	errno = 0;
	ok(pith_sys_nanosleep(&req, NULL) == -1 && errno == EINVAL,
	    "nanosleep with negative seconds: EINVAL");
	req.tv_sec = 0;
	req.tv_nsec = 20000000;
	t0 = now_s();
	ok(pith_sys_nanosleep(&req, NULL) == 0 && now_s() - t0 >= 0.019,
	    "nanosleep sleeps 20 ms");
	pith_sys_clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_nsec += 20000000;
	if (ts.tv_nsec >= 1000000000) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000;
	}
	t0 = now_s();
	ok(pith_sys_clock_nanosleep(CLOCK_REALTIME, TIMER_ABSTIME, &ts,
	    NULL) == 0 && now_s() - t0 >= 0.015,
	    "clock_nanosleep TIMER_ABSTIME on the realtime clock");
}

static void
test_random_creds(void)
{
	unsigned char a[64], b[64];

	ok(pith_sys_getrandom(a, sizeof(a), 0) == 64 &&
	    pith_sys_getrandom(b, sizeof(b), GRND_NONBLOCK) == 64 &&
	    memcmp(a, b, 64) != 0, "getrandom");
	errno = 0;
	ok(pith_sys_getrandom(a, 8, 0x100) == -1 && errno == EINVAL,
	    "getrandom unknown flag: EINVAL");
	/* Hosted the first process is pid 1; in the VM the program is a
	 * process the kernel started (its pid is its own business).  The
	 * threads below must all see this one. */
	main_pid = pith_sys_getpid();
	ok(pith_sys_getuid() == 0 && main_pid > 0 &&
	    (!PITH_HOSTED || main_pid == 1), "pid %d, root", (int)main_pid);
	is_int(pith_sys_umask(077), 022, "umask starts at 022");
}

static void
test_procs(void)
{
#if !PITH_HOSTED
	skip(10, "%s", HOST_WHY_PROC);
#else
	pid_t pid = pith_proc_create(PITH_PROC_COPYFDS);

	ok(pid > 1, "pith_proc_create");
	errno = 0;
	ok(pith_proc_create(0x40) == -1 && errno == EINVAL,
	    "pith_proc_create with unknown flags: EINVAL");
	ok(pith_proc_switch(pid) == 0 && pith_sys_getpid() == pid,
	    "switch to the child");
	is_int(pith_sys_umask(022), 077, "child inherited the umask");
	ok(pith_proc_release(pid) == 0, "release it while running as it");
	errno = 0;
	ok(pith_sys_getuid() == (uid_t)-1 && errno == ESRCH,
	    "system calls of a released process: ESRCH");
	/* getpid cannot fail (it is a direct call): it still names the pid. */
	is_int(pith_sys_getpid(), pid, "getpid of a released process");
	ok(pith_proc_switch(1) == 0 && pith_sys_getpid() == 1, "switch back");
	errno = 0;
	ok(pith_proc_release(1) == -1 && errno == EPERM, "pid 1: EPERM");
	errno = 0;
	ok(pith_proc_switch(4242) == -1 && errno == ESRCH,
	    "unknown pid: ESRCH");
#endif
}

#define NTHREADS 16

static void *
worker(void *arg)
{
	unsigned char buf[32];
	long good = 1;

	(void)arg;
	for (int i = 0; i < 2000; i++) {
		if (pith_sys_getpid() != main_pid || pith_sys_getrandom(buf, 32, 0) != 32)
			good = 0;
	}
	return (void *)good;
}

static void
test_threads(void)
{
	pthread_t t[NTHREADS];
	int good = 0;

	for (int round = 0; round < 2; round++) {
		for (int i = 0; i < NTHREADS; i++)
			pthread_create(&t[i], NULL, worker, NULL);
		for (int i = 0; i < NTHREADS; i++) {
			void *r;
			pthread_join(t[i], &r);
			good += r != NULL;
		}
	}
	is_int(good, 2 * NTHREADS, "%d threads on 2 CPUs, twice", NTHREADS);
}

/*
 * A process released while one of its threads is blocked in a call: the
 * call must end (its pipe's other end is closed with the descriptors),
 * later calls get ESRCH, and nothing is touched after it is freed (the
 * sanitizer build checks that).  Hosted only: it switches processes.
 */
#if PITH_HOSTED
struct inflight {
	pid_t pid;
	int fd;
	long got;
	int err_after;
};

static void *
inflight_reader(void *arg)
{
	struct inflight *f = arg;
	char c;

	if (pith_proc_switch(f->pid) != 0)
		return NULL;
	f->got = pith_sys_read(f->fd, &c, 1);
	errno = 0;
	(void)pith_sys_getuid();
	f->err_after = errno;
	return NULL;
}

static void
test_release_inflight(void)
{
	struct inflight f = { .got = -2 };
	struct timespec ts = { 0, 50 * 1000 * 1000 };
	pthread_t th;
	int p[2];

	f.pid = pith_proc_create(0);
	ok(f.pid > 0 && pith_proc_switch(f.pid) == 0 && pith_sys_pipe(p) == 0,
	    "a process with a pipe");
	f.fd = p[0];
	pith_proc_switch(1);
	pthread_create(&th, NULL, inflight_reader, &f);
	nanosleep(&ts, NULL);                   /* let it block in read */
	ok(pith_proc_release(f.pid) == 0, "release it while its thread reads");
	pthread_join(th, NULL);
	/* Had the thread not reached read() yet, read itself is ESRCH. */
	ok((f.got == 0 || f.got == -1) && f.err_after == ESRCH,
	    "the blocked read ends (EOF), later calls get ESRCH");
}
#else
static void
test_release_inflight(void)
{
	skip(3, "%s", HOST_WHY_PROC);
}
#endif

int
main(void)
{
	struct pith_config cfg = { .ncpus = 2, .hostname = "kerntest" };

	plan(32);
	test_cycles();
	if (pith_init(&cfg) != 0)
		bail_out("pith_init: %s", strerror(errno));
	test_uname_time();
	test_random_creds();
	test_procs();
	test_threads();
	test_release_inflight();
	pith_fini();
	host_mem_none("all memory back at the end");
	return done_testing();
}
