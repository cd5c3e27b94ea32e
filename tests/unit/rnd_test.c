/*
 * Unit test of the kernel's random generator: the ChaCha20 block function
 * against RFC 8439's test vector (section 2.3.2), the generator's output,
 * and getrandom's flag checks.
 */
#include "kern/kern.h"
#include "kern/kern_private.h"
#include "gen/sysproto.h"
#include "unit/ktap.h"


static const uint8_t rfc8439_block[64] = {
	0x10, 0xf1, 0xe7, 0xe4, 0xd1, 0x3b, 0x59, 0x15,
	0x50, 0x0f, 0xdd, 0x1f, 0xa3, 0x20, 0x71, 0xc4,
	0xc7, 0xd1, 0xf4, 0xc7, 0x33, 0xc0, 0x68, 0x03,
	0x04, 0x22, 0xaa, 0x9a, 0xc3, 0xd4, 0x6c, 0x4e,
	0xd2, 0x82, 0x64, 0x46, 0x07, 0x9f, 0xaa, 0x09,
	0x14, 0xc2, 0xd7, 0x05, 0xd9, 0x8b, 0x02, 0xa2,
	0xb5, 0x12, 0x9c, 0xd1, 0xde, 0x16, 0x4e, 0xb9,
	0xcb, 0xd0, 0x83, 0xe8, 0xa2, 0x50, 0x3c, 0x4e,
};

static void
test_vector(void)
{
	uint32_t key[8];
	const uint32_t nonce[3] = { 0x09000000, 0x4a000000, 0 };
	uint8_t out[64];

	for (int i = 0; i < 8; i++) {
		uint32_t b = 4 * i;
		key[i] = b | (b + 1) << 8 | (b + 2) << 16 | (b + 3) << 24;
	}
	chacha20_block(key, 1, nonce, out);
	ok(memcmp(out, rfc8439_block, 64) == 0, "chacha20 RFC 8439 2.3.2 block");
}

static void
test_output(void)
{
	uint8_t a[2000], b[2000];
	unsigned ones = 0;

	cprng_bytes(a, sizeof(a));
	cprng_bytes(b, sizeof(b));
	ok(memcmp(a, b, sizeof(a)) != 0, "two draws differ");
	for (size_t i = 0; i < sizeof(a); i++)
		for (unsigned v = a[i]; v != 0; v >>= 1)
			ones += v & 1;
	/* 16000 bits: the count of ones is within 8000 +- 400 (5 sigma). */
	ok(ones > 7600 && ones < 8400, "output looks balanced");
	ok(cprng_u32() != cprng_u32() || cprng_u32() != cprng_u32(),
	    "cprng_u32 varies");
}

static void
test_getrandom(void)
{
	uint8_t buf[600];

	memset(buf, 0, sizeof(buf));
	ok(sys_getrandom(buf, sizeof(buf), 0) == (long)sizeof(buf),
	    "getrandom returns the count");
	ok(sys_getrandom(buf, 16, GRND_NONBLOCK | GRND_RANDOM) == 16,
	    "GRND_NONBLOCK|GRND_RANDOM accepted");
	ok(sys_getrandom(buf, 16, GRND_INSECURE) == 16, "GRND_INSECURE accepted");
	ok(sys_getrandom(buf, 16, 0x8) == -EINVAL, "unknown flag: EINVAL");
	ok(sys_getrandom(buf, 16, GRND_INSECURE | GRND_RANDOM) == -EINVAL,
	    "GRND_INSECURE|GRND_RANDOM: EINVAL");
	ok(sys_getrandom(NULL, 0, 0) == 0, "zero length: 0");
	ok(sys_getrandom(NULL, 16, 0) == -EFAULT, "NULL buffer: EFAULT");
}

int
pith_unittest_main(void)
{
	kprintf("1..12\n");
	test_vector();
	ok(pith_kinit(NULL) == 0, "boot");
	test_output();
	test_getrandom();
	pith_fini();
	return t_fail != 0;
}
