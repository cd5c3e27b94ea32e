/*
 * Unit test of callouts, driven by the test platform's clock: ordering,
 * stop, reschedule, the timer thread, and halt.
 */
#include "kern/kern.h"
#include "kern/kern_private.h"
#include "unit/ktap.h"

void hyp_test_clock_advance(hyp_i64 ns);


static char order[8];
static int norder;
static volatile int fired;

static void
record(void *arg)
{
	if (norder < (int)sizeof(order) - 1)
		order[norder++] = *(const char *)arg;
	__atomic_add_fetch(&fired, 1, __ATOMIC_SEQ_CST);
}

/* Far-future deadlines so that the timer thread leaves them to us. */
#define FAR (1000ll * 1000000000ll)

static void
test_direct(void)
{
	struct callout a, b, c;
	int64_t base = time_mono_ns() + FAR, next;

	callout_init(&a, record, "a");
	callout_init(&b, record, "b");
	callout_init(&c, record, "c");
	callout_schedule_ns(&a, base + 100);
	callout_schedule_ns(&b, base + 50);
	callout_schedule_ns(&c, base + 200);
	next = callout_run_due(base + 60);
	ok(norder == 1 && order[0] == 'b', "only the due callout runs");
	ok(next == base + 100, "next deadline reported");
	ok(callout_stop(&c), "stop of a pending callout: true");
	ok(!callout_stop(&c), "stop again: false");
	callout_schedule_ns(&b, base + 150);
	callout_schedule_ns(&b, base + 90);     /* reschedule moves it */
	next = callout_run_due(base + 1000);
	ok(norder == 3 && order[1] == 'b' && order[2] == 'a',
	    "rescheduled callout runs once, in deadline order");
	ok(next == -1, "queue empty: -1");
}

static void
test_thread(void)
{
	struct callout a;
	int spins = 0;

	fired = 0;
	callout_init(&a, record, "t");
	callout_schedule_ns(&a, time_mono_ns() + 5000000);
	hyp_test_clock_advance(6000000);
	while (__atomic_load_n(&fired, __ATOMIC_SEQ_CST) == 0 &&
	    spins++ < 5000000)
		hyp_yield();
	ok(fired == 1, "the timer thread runs a due callout");
	callout_schedule_ns(&a, time_mono_ns() + FAR);
	callout_halt(&a);
	ok(!callout_stop(&a), "halt cancels a pending callout");
}

int
pith_unittest_main(void)
{
	kprintf("1..10\n");
	ok(pith_kinit(NULL) == 0, "boot");
	test_direct();
	test_thread();
	pith_fini();
	ok(pith_kinit(NULL) == 0, "boot again");
	pith_fini();
	return t_fail != 0;
}
