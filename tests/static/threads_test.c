/*
 * Threads in a static program under pithload (tests/scripts/pithd_static.t
 * builds it with musl and, if libc.a is there, glibc): every thread's
 * system calls trap to pithload's handler, which must find that thread's
 * record, run libc on its own thread pointer and give the program's back.
 * Eight threads count under a mutex and work on files in the server; one
 * thread dies holding a robust mutex; a signal lands on a thread blocked
 * in a routed call; detached threads exit on their own (musl unmaps the
 * stack it stands on); the threaded program forks and spawns (libc's
 * posix_spawn: clone with CLONE_VM|CLONE_VFORK).  Prints "ok - what" /
 * "not ok - what" lines.
 *
 *	threads_test DIR		DIR is under the prefix (the server's)
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <semaphore.h>
#include <spawn.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "../lib/check.h"

#define NTHREADS 8
#define NCOUNT 2000

static const char *dir;
static pthread_mutex_t count_lock = PTHREAD_MUTEX_INITIALIZER;
static long counter;
static __thread int my_id = -1;		/* each thread's own thread pointer */
static __thread volatile sig_atomic_t my_sig;

/* One thread's file work in the server: its own file, written, checked
 * by stat, read back, renamed; 0 if all of it held. */
static int
file_work(int id)
{
	char path[512], path2[512], want[64], got[64];
	struct stat st;
	int fd, n, bad = 0;

	snprintf(path, sizeof(path), "%s/t%d", dir, id);
	snprintf(path2, sizeof(path2), "%s/u%d", dir, id);
	n = snprintf(want, sizeof(want), "thread %d was here\n", id);
	for (int round = 0; round < 20 && !bad; round++) {
		fd = open(path, O_CREAT | O_WRONLY | O_TRUNC, 0644);
		if (fd < 0 || write(fd, want, (size_t)n) != n || close(fd) != 0)
			bad = 1;
		if (!bad && (stat(path, &st) != 0 || st.st_size != n))
			bad = 2;
		fd = bad ? -1 : open(path, O_RDONLY);
		if (!bad && (fd < 0 || read(fd, got, sizeof(got)) != n ||
		    memcmp(got, want, (size_t)n) != 0))
			bad = 3;
		if (fd >= 0)
			close(fd);
		if (!bad && (rename(path, path2) != 0 || access(path, F_OK) == 0))
			bad = 4;
	}
	return bad;
}

static void *
worker(void *arg)
{
	int id = (int)(long)arg;

	my_id = id;
	for (int i = 0; i < NCOUNT; i++) {
		pthread_mutex_lock(&count_lock);
		counter++;
		pthread_mutex_unlock(&count_lock);
		if (i % 500 == 0)
			sched_yield();
	}
	if (file_work(id) != 0)
		return (void *)1;
	/* Still its own thread-local after all those system calls. */
	return (void *)(long)(my_id == id ? 0 : 2);
}

static pthread_mutex_t robust;

static void *
dies_holding(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&robust);
	return NULL;		/* exits with the mutex held */
}

static void
on_usr1(int sig)
{
	(void)sig;
	my_sig = 1;		/* the interrupted thread's own variable */
}

static int sig_pipe[2];
static sem_t sig_ready;
static volatile int sig_done;

/* Blocks in read (a routed call) until the signal interrupts it. */
static void *
waits_for_signal(void *arg)
{
	char c;
	ssize_t n;

	(void)arg;
	my_id = 100;
	sem_post(&sig_ready);
	n = read(sig_pipe[0], &c, 1);
	sig_done = 1;
	return (void *)(long)(n < 0 && errno == EINTR && my_sig == 1 &&
	    my_id == 100 ? 0 : 1);
}

static sem_t detached_done;

static void *
detached(void *arg)
{
	int bad = file_work(50 + (int)(long)arg);

	if (!bad)
		sem_post(&detached_done);
	return NULL;
}

static void
test_workers(void)
{
	pthread_t t[NTHREADS];
	void *r;
	int joined = 0, clean = 0;

	for (int i = 0; i < NTHREADS; i++)
		if (pthread_create(&t[i], NULL, worker, (void *)(long)i) != 0) {
			check(0, "pthread_create");
			return;
		}
	check(1, "8 threads started");
	for (int i = 0; i < NTHREADS; i++)
		if (pthread_join(t[i], &r) == 0) {
			joined++;
			clean += r == NULL;
		}
	check(joined == NTHREADS, "8 threads joined");
	check(clean == NTHREADS, "each thread's files and thread-locals held");
	check(counter == (long)NTHREADS * NCOUNT, "mutex counter is 8 x 2000");
	check(my_id == -1, "main's thread-local untouched");
}

static void
test_robust(void)
{
	pthread_mutexattr_t a;
	pthread_t t;

	pthread_mutexattr_init(&a);
	pthread_mutexattr_setrobust(&a, PTHREAD_MUTEX_ROBUST);
	pthread_mutex_init(&robust, &a);
	pthread_create(&t, NULL, dies_holding, NULL);
	pthread_join(t, NULL);
	check(pthread_mutex_lock(&robust) == EOWNERDEAD,
	    "a robust mutex held by a dead thread says EOWNERDEAD");
	check(pthread_mutex_consistent(&robust) == 0 &&
	    pthread_mutex_unlock(&robust) == 0, "and is made consistent");
}

static void
test_signal(void)
{
	struct sigaction sa;
	pthread_t t;
	void *r = (void *)1;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_usr1;	/* no SA_RESTART: read says EINTR */
	sigaction(SIGUSR1, &sa, NULL);
	if (pipe(sig_pipe) != 0 || sem_init(&sig_ready, 0, 0) != 0) {
		check(0, "pipe");
		return;
	}
	pthread_create(&t, NULL, waits_for_signal, NULL);
	sem_wait(&sig_ready);
	/* Until it is out of the read: a signal that comes before the read
	 * starts does not interrupt it. */
	for (int i = 0; i < 400 && !sig_done; i++) {
		pthread_kill(t, SIGUSR1);
		usleep(50000);
	}
	if (!sig_done)
		write(sig_pipe[1], "x", 1);	/* let it go: the check fails */
	pthread_join(t, &r);
	check(r == NULL, "a signal on a thread blocked in read: EINTR, "
	    "its handler saw its own thread-locals");
	check(my_sig == 0, "and not main's");
	close(sig_pipe[0]);
	close(sig_pipe[1]);
}

static void
test_detached(void)
{
	pthread_attr_t a;
	pthread_t t;
	int n = 0;

	sem_init(&detached_done, 0, 0);
	pthread_attr_init(&a);
	pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
	for (int i = 0; i < 4; i++)
		if (pthread_create(&t, &a, detached, (void *)(long)i) == 0)
			n++;
	for (int i = 0; i < n; i++)
		sem_wait(&detached_done);
	usleep(50000);		/* they exit after posting */
	check(n == 4, "4 detached threads did their file work and exited");
	/* A new thread after they are gone: the thread list is sane. */
	pthread_create(&t, NULL, worker, (void *)7L);
	check(pthread_join(t, NULL) == 0, "a thread after detached ones");
}

static void *
sleeper(void *arg)
{
	(void)arg;
	usleep(300000);
	return NULL;
}

static void
test_fork(void)
{
	char path[512], buf[32];
	pthread_t t;
	int fd, status = -1;
	pid_t pid;

	pthread_create(&t, NULL, sleeper, NULL);
	snprintf(path, sizeof(path), "%s/forked", dir);
	fd = open(path, O_CREAT | O_RDWR | O_TRUNC, 0644);
	pid = fork();
	if (pid == 0) {
		/* The child has one thread, the parent's descriptor, and
		 * can make threads of its own. */
		pthread_t c;
		int ok = write(fd, "child", 5) == 5;

		ok = ok && pthread_create(&c, NULL, worker, (void *)9L) == 0 &&
		    pthread_join(c, NULL) == 0;
		_exit(ok ? 0 : 1);
	}
	check(pid > 0 && waitpid(pid, &status, 0) == pid &&
	    WIFEXITED(status) && WEXITSTATUS(status) == 0,
	    "fork from a threaded program: the child wrote and threaded");
	check(fd >= 0 && pread(fd, buf, sizeof(buf), 0) == 5 &&
	    memcmp(buf, "child", 5) == 0, "the parent sees its write");
	close(fd);
	pthread_join(t, NULL);
}

static void
test_spawn(void)
{
	extern char **environ;
	char *argv[] = { "sh", "-c", "exit 3", NULL };
	int status = -1;
	pid_t pid;

	check(posix_spawn(&pid, "/bin/sh", NULL, NULL, argv, environ) == 0 &&
	    waitpid(pid, &status, 0) == pid && WIFEXITED(status) &&
	    WEXITSTATUS(status) == 3, "posix_spawn of /bin/sh: exit 3");
}

int
main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: threads_test DIR\n");
		return 2;
	}
	dir = argv[1];
	test_workers();
	test_robust();
	test_signal();
	test_detached();
	test_fork();
	test_spawn();
	return check_failed;
}
