/*
 * Time: conversions the rest of the kernel uses, and the clock system
 * calls.
 *
 * The host offers two clocks (hyp.h): realtime and monotonic.  Linux's
 * clock ids map onto them: REALTIME and REALTIME_COARSE read the host's
 * realtime; MONOTONIC, MONOTONIC_RAW, MONOTONIC_COARSE and BOOTTIME read
 * its monotonic clock (a kernel in a process has nothing to suspend, so
 * boot time is monotonic time, and we do no slewing to set RAW apart).
 * PROCESS_CPUTIME_ID and THREAD_CPUTIME_ID are answered with the monotonic
 * clock too: the kernel cannot see the host's CPU accounting, and a clock
 * that advances is what callers of these use for timing.  Sleeping on them
 * (clock_nanosleep) is EINVAL.  Any other id is EINVAL, as Linux says for
 * an id it does not know.
 *
 * Sleeps release the virtual CPU and sleep in the host until the deadline;
 * they are never interrupted, so rem is never written.
 */
#include "kern/kern.h"
#include "kern/proc.h"
#include "gen/sysproto.h"

#define NSEC_PER_SEC 1000000000ll
#define INT64_MAX_NS 0x7fffffffffffffffll
#define INT64_MAX_SEC (INT64_MAX_NS / NSEC_PER_SEC)

int64_t
time_mono_ns(void)
{
	return hyp_clock_ns(HYP_CLOCK_MONOTONIC);
}

int64_t
time_real_ns(void)
{
	return hyp_clock_ns(HYP_CLOCK_REALTIME);
}

void
time_ns_to_ts(int64_t ns, struct timespec *ts)
{
	ts->tv_sec = ns / NSEC_PER_SEC;
	ts->tv_nsec = ns % NSEC_PER_SEC;
	if (ts->tv_nsec < 0) {
		ts->tv_sec--;
		ts->tv_nsec += NSEC_PER_SEC;
	}
}

/* Saturates instead of overflowing for far-away times. */
int64_t
time_ts_to_ns(const struct timespec *ts)
{
	if (ts->tv_sec >= INT64_MAX_SEC)
		return INT64_MAX_NS;
	if (ts->tv_sec <= -INT64_MAX_SEC)
		return -INT64_MAX_NS;
	return ts->tv_sec * NSEC_PER_SEC + ts->tv_nsec;
}

void
time_now(struct timespec *ts)
{
	time_ns_to_ts(time_real_ns(), ts);
}

/* The host clock behind a Linux clock id, or -1 if unsupported. */
static int
time_clock_map(clockid_t clk)
{
	switch (clk) {
	case CLOCK_REALTIME:
	case CLOCK_REALTIME_COARSE:
		return HYP_CLOCK_REALTIME;
	case CLOCK_MONOTONIC:
	case CLOCK_MONOTONIC_RAW:
	case CLOCK_MONOTONIC_COARSE:
	case CLOCK_BOOTTIME:
	case CLOCK_PROCESS_CPUTIME_ID:
	case CLOCK_THREAD_CPUTIME_ID:
		return HYP_CLOCK_MONOTONIC;
	default:
		return -1;
	}
}

static bool
time_ts_valid(const struct timespec *ts)
{
	return ts->tv_sec >= 0 && ts->tv_nsec >= 0 &&
	    ts->tv_nsec < NSEC_PER_SEC;
}

long
sys_clock_gettime(clockid_t clk, struct timespec *tp)
{
	struct timespec ts;
	int hc = time_clock_map(clk);

	if (hc < 0)
		return -EINVAL;
	time_ns_to_ts(hyp_clock_ns(hc), &ts);
	return copyout(&ts, tp, sizeof(ts)) != 0 ? -EFAULT : 0;
}

long
sys_clock_getres(clockid_t clk, struct timespec *res)
{
	struct timespec ts;
	int hc = time_clock_map(clk);

	if (hc < 0)
		return -EINVAL;
	if (res == NULL)
		return 0;       /* Linux allows a NULL res */
	time_ns_to_ts(hyp_clock_res_ns(hc), &ts);
	return copyout(&ts, res, sizeof(ts)) != 0 ? -EFAULT : 0;
}

/*
 * Sleep until the monotonic clock reads deadline, CPU released.  In
 * slices (PROC_EXIT_SLICE_NS): EINTR, early, once the process is being
 * released from outside; 0 otherwise.
 */
static int
time_sleep_until(int64_t deadline)
{
	struct lwp *l = curlwp();
	bool held = l != NULL && l->l_cpu != NULL;
	int64_t slice;
	int error = 0;

	if (held)
		cpu_block(l);
	for (;;) {
		slice = proc_exit_slice(time_mono_ns(), deadline);
		hyp_sleep_until(slice);
		if (slice == deadline || time_mono_ns() >= deadline)
			break;
		if (l != NULL && proc_exiting()) {
			error = EINTR;
			break;
		}
	}
	if (held)
		cpu_unblock(l);
	return error;
}

/* Monotonic deadline for now + ts, saturating. */
static int64_t
time_deadline_rel(const struct timespec *ts)
{
	int64_t now = time_mono_ns(), d = time_ts_to_ns(ts);

	return d > INT64_MAX_NS - now ? INT64_MAX_NS : now + d;
}

long
sys_nanosleep(const struct timespec *req, struct timespec *rem)
{
	struct timespec ts;

	if (copyin(req, &ts, sizeof(ts)) != 0)
		return -EFAULT;
	if (!time_ts_valid(&ts))
		return -EINVAL;
	return -time_sleep_until(time_deadline_rel(&ts));
}

long
sys_clock_nanosleep(clockid_t clk, int flags, const struct timespec *req,
    struct timespec *rem)
{
	struct timespec ts;
	int hc = time_clock_map(clk);
	int64_t deadline;

	if (hc < 0 || clk == CLOCK_THREAD_CPUTIME_ID ||
	    clk == CLOCK_PROCESS_CPUTIME_ID)
		return -EINVAL;
	if (copyin(req, &ts, sizeof(ts)) != 0)
		return -EFAULT;
	if (!time_ts_valid(&ts))
		return -EINVAL;
	if ((flags & TIMER_ABSTIME) == 0) {
		deadline = time_deadline_rel(&ts);
	} else if (hc == HYP_CLOCK_MONOTONIC) {
		deadline = time_ts_to_ns(&ts);
	} else {
		/* Realtime deadline: the equivalent monotonic one, now. */
		int64_t left = time_ts_to_ns(&ts) - time_real_ns();
		int64_t now = time_mono_ns();
		if (left <= 0)
			return 0;
		deadline = left > INT64_MAX_NS - now ? INT64_MAX_NS : now + left;
	}
	return -time_sleep_until(deadline);
}
