/*
 * Boot and shut down the kernel many times, each time leaving behind
 * whatever a careless embedder would: open files, unread pipes, epoll
 * sets watching them, directories, symlinks, a second mount, extra
 * processes with descriptor tables of their own, a thread that used the
 * kernel.  After every pith_fini() the kernel must hold no host memory
 * (pith_mem_inuse() == 0) and must not have reported a leak on the
 * console; the next pith_init() must work.  The sanitizer build adds
 * LeakSanitizer's verdict at exit.
 *
 * The kernel's console output (stderr) is captured into a temporary file
 * for the duration and searched afterwards.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/epoll.h>

#include <pith/pith.h>

#include "lib/tap.h"

#define CYCLES 200

struct stats {
	int init_fail;
	int op_fail;
	int inuse_nonzero;
	size_t worst_inuse;
	int first_bad_cycle;
	int running_zero;
};

static void *
thread_body(void *arg)
{
	int *res = arg;
	int fd;

	fd = pith_sys_open("/tmp/thread", O_CREAT | O_RDWR, 0600);
	*res = fd >= 0 && pith_sys_write(fd, "t", 1) == 1 ? 0 : -1;
	return NULL;
}

/* Leave state of every kind behind; returns the number of failed ops. */
static int
workload(int cycle)
{
	struct epoll_event ev;
	char name[64], buf[8192];	/* the largest write below is 8000 */
	int fails = 0, fd, ep, p[2], i, tres = -1;
	pid_t pid;
	pthread_t th;

#define TRY(x) do { if ((x) < 0) fails++; } while (0)
	memset(buf, 'a' + cycle % 26, sizeof(buf));
	TRY(pith_sys_mkdir("/tmp/d", 0755));
	for (i = 0; i < 8; i++) {
		snprintf(name, sizeof(name), "/tmp/d/f%d", i);
		fd = pith_sys_open(name, O_CREAT | O_RDWR, 0644);
		TRY(fd);
		/* files of growing sizes, some left open */
		TRY(pith_sys_write(fd, buf, (size_t)(i + 1) * 1000));
		if (i % 2)
			TRY(pith_sys_close(fd));
	}
	fd = pith_sys_open("/tmp/d/f6", O_RDWR);
	TRY(fd);
	TRY(pith_sys_ftruncate(fd, 1 << 20));	/* a sparse tail */
	TRY(pith_sys_symlink("/tmp/d/f0", "/tmp/link"));
	TRY(pith_sys_link("/tmp/d/f0", "/tmp/hard"));
	fd = pith_sys_open("/tmp/d/f1", O_RDONLY);
	TRY(fd);
	TRY(pith_sys_unlink("/tmp/d/f1"));	/* open but unlinked */
	TRY(pith_sys_mkdir("/tmp/d/sub", 0700));
	TRY(pith_sys_chdir("/tmp/d/sub"));	/* cwd held */
	TRY(pith_sys_pipe(p));
	TRY(pith_sys_write(p[1], buf, 3000));	/* unread data */
	TRY(pith_sys_pipe2((int[2]){0, 0}, O_NONBLOCK));
	ep = pith_sys_epoll_create1(0);
	TRY(ep);
	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN;
	TRY(pith_sys_epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &ev));
	ev.events = EPOLLOUT;
	TRY(pith_sys_epoll_ctl(ep, EPOLL_CTL_ADD, p[1], &ev));
	TRY(pith_sys_epoll_ctl(pith_sys_epoll_create1(0), EPOLL_CTL_ADD, ep,
	    &ev));	/* nested epoll */
	TRY(pith_sys_dup2(p[0], 100));
	fd = pith_sys_open("/dev/null", O_RDWR);
	TRY(fd);
	TRY(pith_sys_mkdir("/mnt", 0755));
	TRY(pith_sys_mount("tmpfs", "/mnt", "tmpfs", 0, NULL));
	fd = pith_sys_open("/mnt/f", O_CREAT | O_RDWR, 0644);
	TRY(fd);
	TRY(pith_sys_write(fd, buf, sizeof(buf)));
	/* processes: one sharing our files, one with none, one we run as */
	pid = pith_proc_create(PITH_PROC_COPYFDS);
	TRY(pid);
	TRY(pith_proc_create(0));
	if (cycle % 4 == 0 && pid > 0) {
		TRY(pith_proc_switch(pid));
		TRY(pith_sys_open("/tmp/child", O_CREAT | O_RDWR, 0644));
		TRY(pith_sys_setresuid(1000, 1000, 1000));
	}
	if (cycle % 10 == 0) {
		if (pthread_create(&th, NULL, thread_body, &tres) == 0) {
			pthread_join(th, NULL);
			TRY(tres);
		} else {
			fails++;
		}
	}
	if (cycle % 7 == 0 && pid > 0) {
		/* a released process whose memory goes at once */
		pid_t q = pith_proc_create(PITH_PROC_COPYFDS);

		TRY(q);
		if (q > 0)
			TRY(pith_proc_release(q));
	}
#undef TRY
	return fails;
}

static void
cycles(struct stats *s, int from, int to)
{
	size_t inuse;
	int i;

	for (i = from; i < to; i++) {
		if (pith_init(NULL) < 0) {
			s->init_fail++;
			if (!s->first_bad_cycle)
				s->first_bad_cycle = i + 1;
			continue;
		}
		if (pith_mem_inuse() == 0)
			s->running_zero++;
		s->op_fail += workload(i);
		pith_fini();
		inuse = pith_mem_inuse();
		if (inuse) {
			s->inuse_nonzero++;
			if (inuse > s->worst_inuse)
				s->worst_inuse = inuse;
			if (!s->first_bad_cycle)
				s->first_bad_cycle = i + 1;
		}
	}
}

static long
rss_kib(void)
{
	char line[256];
	long kb = -1;
	FILE *f = fopen("/proc/self/status", "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "VmRSS: %ld", &kb) == 1)
			break;
	fclose(f);
	return kb;
}

/* Count (and show a few of) the captured console lines that report a
 * leak. */
static int
scan_console(FILE *f)
{
	char line[512];
	int leaks = 0, shown = 0;

	rewind(f);
	while (fgets(line, sizeof(line), f)) {
		/* kmem's "pith: leak: ..." and any subsystem's own
		 * report ("vfs: 3 vnodes leaked at shutdown") */
		if (strstr(line, "pith: leak") || strstr(line, "leak")) {
			leaks++;
			if (shown++ < 10)
				diag("console: %s", strtok(line, "\n"));
		}
	}
	return leaks;
}

int
main(void)
{
	struct stats s;
	FILE *cap;
	long rss0, rss1, rss2;
	int saved, r, e;

	setvbuf(stdout, NULL, _IOLBF, 0);
	memset(&s, 0, sizeof(s));

	is_int(pith_mem_inuse(), 0, "no memory held before the first boot");
	r = pith_init(NULL);
	ok(r == 0, "pith_init(NULL) works");
	if (r < 0)
		bail_out("pith_init: %s", strerror(errno));
	errno = 0;
	r = pith_init(NULL);
	e = errno;
	ok(r == -1 && e == EBUSY, "a second pith_init fails with EBUSY");
	ok(pith_mem_inuse() > 0, "a running kernel holds memory");
	pith_fini();
	is_int(pith_mem_inuse(), 0, "an idle boot leaves nothing");

	cap = tmpfile();
	if (!cap)
		bail_out("tmpfile: %s", strerror(errno));
	fflush(stderr);
	saved = dup(2);
	dup2(fileno(cap), 2);

	/* a warm-up cycle, so RSS growth measures leaks, not first use */
	if (pith_init(NULL) == 0) {
		(void)workload(1);
		pith_fini();
	}
	rss0 = rss_kib();
	cycles(&s, 0, CYCLES / 2);
	rss1 = rss_kib();
	cycles(&s, CYCLES / 2, CYCLES);
	rss2 = rss_kib();

	fflush(stderr);
	dup2(saved, 2);
	close(saved);

	is_int(s.init_fail, 0, "pith_init worked in all %d cycles", CYCLES);
	is_int(s.op_fail, 0, "every operation of the workload worked");
	is_int(s.inuse_nonzero, 0, "pith_mem_inuse() is 0 after every pith_fini");
	if (s.inuse_nonzero || s.init_fail)
		diag("first bad cycle %d, worst inuse after fini %zu bytes",
		    s.first_bad_cycle, s.worst_inuse);
	is_int(s.running_zero, 0, "pith_mem_inuse() is non-zero while running");
	is_int(scan_console(cap), 0, "the console reported no leak");
	/* The first half finds the allocator's high-water mark; after it,
	 * memory returned by fini must be reused, not added to. */
	diag("RSS %ld KiB before, %ld KiB after %d cycles, %ld KiB after %d",
	    rss0, rss1, CYCLES / 2, rss2, CYCLES);
#ifdef PITH_SAN
	/* AddressSanitizer's quarantine holds freed memory on purpose. */
	skip(1, "RSS growth is meaningless under AddressSanitizer");
#else
	ok(rss2 - rss1 < 2 * 1024, "RSS grew less than 2 MiB over the last %d "
	    "cycles", CYCLES - CYCLES / 2);
#endif
	fclose(cap);

	/* and the kernel still boots and works afterwards */
	r = pith_init(NULL);
	ok(r == 0, "pith_init after the cycles");
	if (r == 0) {
		int fd = pith_sys_open("/tmp/after", O_CREAT | O_RDWR, 0600);

		ok(fd >= 0 && pith_sys_write(fd, "ok", 2) == 2,
		    "a file can be written after the cycles");
		pith_fini();
	} else {
		skip(1, "no kernel");
	}
	is_int(pith_mem_inuse(), 0, "nothing held at the end");
	return done_testing();
}
