/*
 * Bare-metal threads test: 8 pthreads add to a mutex-protected counter
 * (the total must be exact), and a thread spinning in user mode without
 * system calls must not stop the others' timers: the main thread's
 * nanosleep still ends and its flag stops the spinner (timer preemption).
 * A condition wait with a 20 ms deadline times out (futex timeouts).
 * The program ends with a thread still blocked in a condition wait:
 * exit_group must end it too.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <time.h>

#define NTHREADS 8
#define NADD 20000

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static long counter;
static volatile int stop;

static void *
adder(void *arg)
{
	int i;

	for (i = 0; i < NADD; i++) {
		pthread_mutex_lock(&lock);
		counter++;
		pthread_mutex_unlock(&lock);
		if (i % 1000 == 0)
			sched_yield();
	}
	return arg;
}

static pthread_cond_t never = PTHREAD_COND_INITIALIZER;

static void *
blocker(void *arg)
{
	pthread_mutex_lock(&lock);
	for (;;)
		pthread_cond_wait(&never, &lock);
	return arg;
}

static void *
spinner(void *arg)
{
	unsigned long n = 0;

	while (!stop)
		n++;
	return (void *)n;
}

int
main(void)
{
	pthread_t t[NTHREADS], s;
	struct timespec ts = { 0, 50 * 1000 * 1000 };
	void *r;
	int i;

	for (i = 0; i < NTHREADS; i++)
		if (pthread_create(&t[i], NULL, adder, (void *)(long)i) != 0) {
			printf("pthread_create failed\n");
			return 1;
		}
	for (i = 0; i < NTHREADS; i++) {
		pthread_join(t[i], &r);
		if ((long)r != i) {
			printf("join %d returned %ld\n", i, (long)r);
			return 1;
		}
	}
	printf("counter %ld (want %d)\n", counter, NTHREADS * NADD);
	if (pthread_create(&s, NULL, spinner, NULL) != 0)
		return 1;
	nanosleep(&ts, NULL);
	stop = 1;
	pthread_join(s, &r);
	printf("spinner stopped after the main thread slept\n");
	{
		pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
		struct timespec t0, t1, dl;
		long ms;
		int e;

		clock_gettime(CLOCK_REALTIME, &t0);
		dl = t0;
		dl.tv_nsec += 20 * 1000 * 1000;
		if (dl.tv_nsec >= 1000000000) {
			dl.tv_sec++;
			dl.tv_nsec -= 1000000000;
		}
		pthread_mutex_lock(&lock);
		e = pthread_cond_timedwait(&cv, &lock, &dl);
		pthread_mutex_unlock(&lock);
		clock_gettime(CLOCK_REALTIME, &t1);
		ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
		printf("cond_timedwait: %s after >= 20 ms: %s\n",
		    e == ETIMEDOUT ? "ETIMEDOUT" : "other", ms >= 19 ? "yes" : "no");
		if (e != ETIMEDOUT || ms < 19)
			return 1;
	}
	if (pthread_create(&s, NULL, blocker, NULL) != 0)
		return 1;
	sched_yield();
	printf("exiting with a thread blocked in a condition wait\n");
	return counter == NTHREADS * NADD ? 0 : 1;
}
