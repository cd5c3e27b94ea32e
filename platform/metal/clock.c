/*
 * Clocks.  The monotonic clock is the TSC since boot, converted to
 * nanoseconds with its rate measured once at boot against the PIT
 * (channel 2, 10 ms, polled, before the timer interrupt starts: short,
 * for boot speed).  The wall clock is the CMOS RTC read once at boot
 * (UTC, whole seconds) plus the monotonic clock since.  Under QEMU's
 * software emulation the TSC follows the host's clock closely enough;
 * an invariant-TSC check and periodic RTC resync are left for later
 * (platform/metal/README.md).
 */
#include "metal.h"

#define PIT_HZ 1193182ul
#define PIT_LATCH 11932ul       /* 10 ms: boot speed over the last ppm */
#define NSEC 1000000000ul

static u64 tsc_boot, tsc_hz;
static hyp_i64 rtc_boot_ns;

static void
tsc_calibrate(void)
{
	u64 t0, t1;
	unsigned long spins = 0;

	/* Gate channel 2 on, speaker off; mode 0 counts down once. */
	outb(0x61, (u8)((inb(0x61) & ~0x02) | 0x01));
	outb(0x43, 0xb0);
	outb(0x42, PIT_LATCH & 0xff);
	outb(0x42, PIT_LATCH >> 8);
	t0 = rdtsc();
	while ((inb(0x61) & 0x20) == 0 && spins++ < 100000000ul)
		;
	t1 = rdtsc();
	tsc_hz = (t1 - t0) * PIT_HZ / PIT_LATCH;
	if (tsc_hz == 0)
		metal_fatal("TSC calibration failed");
}

static u8
cmos_read(u8 reg)
{
	outb(0x70, reg);
	return inb(0x71);
}

static unsigned
bcd(u8 v, int binary)
{
	return binary ? v : (unsigned)(v >> 4) * 10 + (v & 0xf);
}

/* Days from 1970-01-01 to y-m-d (proleptic Gregorian). */
static long
days_from_civil(long y, unsigned m, unsigned d)
{
	long era;
	unsigned yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = (unsigned)(y - era * 400);
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (long)doe - 719468;
}

static void
rtc_read(void)
{
	unsigned sec, min, hour, day, mon, year, spins = 0;
	int binary, pm;
	u8 b, h;

	while ((cmos_read(0x0a) & 0x80) != 0 && spins++ < 1000000)
		;
	b = cmos_read(0x0b);
	binary = (b & 0x04) != 0;
	sec = bcd(cmos_read(0x00), binary);
	min = bcd(cmos_read(0x02), binary);
	h = cmos_read(0x04);
	pm = (h & 0x80) != 0;
	hour = bcd(h & 0x7f, binary);
	if ((b & 0x02) == 0 && pm)      /* 12-hour mode */
		hour = hour % 12 + 12;
	else if ((b & 0x02) == 0 && hour == 12)
		hour = 0;
	day = bcd(cmos_read(0x07), binary);
	mon = bcd(cmos_read(0x08), binary);
	year = 2000 + bcd(cmos_read(0x09), binary);
	rtc_boot_ns = (hyp_i64)((days_from_civil(year, mon, day) * 86400 +
	    hour * 3600 + min * 60 + sec)) * (hyp_i64)NSEC;
}

void
clock_init(void)
{
	tsc_calibrate();
	rtc_read();
	tsc_boot = rdtsc();
	metal_puts("pith metal: TSC ");
	metal_putd((long)(tsc_hz / 1000));
	metal_puts(" kHz\n");
}

static hyp_i64
tsc_ns(void)
{
	u64 t = rdtsc() - tsc_boot;

	/* Split so that nothing overflows for any TSC below 9 GHz. */
	return (hyp_i64)((t / tsc_hz) * NSEC + (t % tsc_hz) * NSEC / tsc_hz);
}

hyp_i64
hyp_clock_ns(int clock)
{
	if (clock == HYP_CLOCK_REALTIME)
		return rtc_boot_ns + tsc_ns();
	return tsc_ns();
}

hyp_i64
hyp_clock_res_ns(int clock)
{
	/* One TSC tick, at least 1 ns. */
	return tsc_hz >= NSEC ? 1 : (hyp_i64)((NSEC + tsc_hz - 1) / tsc_hz);
}
