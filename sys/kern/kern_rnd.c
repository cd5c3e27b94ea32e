/*
 * The kernel's random number generator, and getrandom(2).
 *
 * A ChaCha20 (RFC 8439) keystream generator with fast key erasure: each
 * refill runs the block function RND_BLOCKS times under the current key,
 * immediately replaces the key with the first 32 bytes of that output, and
 * hands out the rest, wiping each byte as it goes.  Whoever captures the
 * state later learns nothing about output already given.  The key comes
 * from hyp_getrandom at boot (no entropy, no boot) and fresh host entropy
 * is mixed into it every RND_RESEED_BYTES of output.
 *
 * One generator behind rnd_lock: output is cheap (about 1 GB/s) and few
 * paths want it, so per-CPU state would buy little.  Never blocks for
 * long: the lock is held only to copy out of the buffer or refill it.
 */
#include "kern/kern.h"
#include "kern_private.h"
#include "gen/sysproto.h"

#define RND_BLOCKS 16
#define RND_BUFSIZE (RND_BLOCKS * 64)
#define RND_RESEED_BYTES (64ul << 20)

static kmutex_t rnd_lock;
static uint32_t rnd_key[8];             /* [rnd_lock] */
static uint8_t rnd_buf[RND_BUFSIZE];    /* [rnd_lock] */
static size_t rnd_avail;                /* [rnd_lock] unread bytes at end */
static size_t rnd_since_seed;           /* [rnd_lock] */

static inline uint32_t
rotl32(uint32_t v, int n)
{
	return (v << n) | (v >> (32 - n));
}

#define QR(a, b, c, d) do { \
	a += b; d ^= a; d = rotl32(d, 16); \
	c += d; b ^= c; b = rotl32(b, 12); \
	a += b; d ^= a; d = rotl32(d, 8); \
	c += d; b ^= c; b = rotl32(b, 7); \
} while (0)

static inline uint32_t
le32_load(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	    (uint32_t)p[3] << 24;
}

static inline void
le32_store(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

void
chacha20_block(const uint32_t key[8], uint32_t counter,
    const uint32_t nonce[3], uint8_t out[64])
{
	uint32_t in[16], x[16];

	in[0] = 0x61707865;     /* "expand 32-byte k" */
	in[1] = 0x3320646e;
	in[2] = 0x79622d32;
	in[3] = 0x6b206574;
	for (int i = 0; i < 8; i++)
		in[4 + i] = key[i];
	in[12] = counter;
	in[13] = nonce[0];
	in[14] = nonce[1];
	in[15] = nonce[2];
	for (int i = 0; i < 16; i++)
		x[i] = in[i];
	for (int i = 0; i < 10; i++) {
		QR(x[0], x[4], x[8], x[12]);
		QR(x[1], x[5], x[9], x[13]);
		QR(x[2], x[6], x[10], x[14]);
		QR(x[3], x[7], x[11], x[15]);
		QR(x[0], x[5], x[10], x[15]);
		QR(x[1], x[6], x[11], x[12]);
		QR(x[2], x[7], x[8], x[13]);
		QR(x[3], x[4], x[9], x[14]);
	}
	for (int i = 0; i < 16; i++)
		le32_store(out + 4 * i, x[i] + in[i]);
}

/* Mix 32 bytes of host entropy into the key.  rnd_lock held or boot. */
static int
rnd_reseed(void)
{
	uint8_t seed[32];
	int error;

	error = hyp_getrandom(seed, sizeof(seed));
	if (error != 0)
		return error;
	for (int i = 0; i < 8; i++)
		rnd_key[i] ^= le32_load(seed + 4 * i);
	memset(seed, 0, sizeof(seed));
	rnd_since_seed = 0;
	return 0;
}

/* New buffer and new key from the old key.  rnd_lock held. */
static void
rnd_refill(void)
{
	static const uint32_t nonce[3] = { 0, 0, 0 };

	if (rnd_since_seed >= RND_RESEED_BYTES)
		(void)rnd_reseed();     /* on failure keep the old key */
	for (uint32_t i = 0; i < RND_BLOCKS; i++)
		chacha20_block(rnd_key, i, nonce, rnd_buf + 64 * i);
	for (int i = 0; i < 8; i++)
		rnd_key[i] = le32_load(rnd_buf + 4 * i);
	memset(rnd_buf, 0, 32);
	rnd_avail = RND_BUFSIZE - 32;
	rnd_since_seed += RND_BUFSIZE;
}

void
cprng_bytes(void *buf, size_t len)
{
	uint8_t *out = buf;

	mutex_enter(&rnd_lock);
	while (len > 0) {
		if (rnd_avail == 0)
			rnd_refill();
		size_t n = MIN(len, rnd_avail);
		uint8_t *src = rnd_buf + RND_BUFSIZE - rnd_avail;
		memcpy(out, src, n);
		memset(src, 0, n);
		rnd_avail -= n;
		out += n;
		len -= n;
	}
	mutex_exit(&rnd_lock);
}

uint32_t
cprng_u32(void)
{
	uint32_t v;

	cprng_bytes(&v, sizeof(v));
	return v;
}

int
rnd_init(void)
{
	int error;

	mutex_init(&rnd_lock);
	memset(rnd_key, 0, sizeof(rnd_key));
	rnd_avail = 0;
	error = rnd_reseed();
	if (error != 0) {
		mutex_destroy(&rnd_lock);
		return EIO;
	}
	return 0;
}

void
rnd_fini(void)
{
	memset(rnd_key, 0, sizeof(rnd_key));
	memset(rnd_buf, 0, sizeof(rnd_buf));
	rnd_avail = 0;
	mutex_destroy(&rnd_lock);
}

#define GRND_ALL (GRND_NONBLOCK | GRND_RANDOM | GRND_INSECURE)
/* Linux caps one read at MAX_RW_COUNT. */
#define RND_MAX_RW (INT_MAX & ~4095l)

/*
 * The pool is seeded before the first system call can run, so there is
 * nothing to wait for: every flag combination returns at once.
 */
long
sys_getrandom(void *buf, size_t buflen, unsigned int flags)
{
	uint8_t chunk[256];
	size_t done = 0;

	if ((flags & ~GRND_ALL) != 0 ||
	    (flags & (GRND_INSECURE | GRND_RANDOM)) ==
	    (GRND_INSECURE | GRND_RANDOM))
		return -EINVAL;
	if (buflen > (size_t)RND_MAX_RW)
		buflen = RND_MAX_RW;
	while (done < buflen) {
		size_t n = MIN(buflen - done, sizeof(chunk));
		cprng_bytes(chunk, n);
		if (copyout(chunk, (uint8_t *)buf + done, n) != 0) {
			memset(chunk, 0, sizeof(chunk));
			return done > 0 ? (long)done : -EFAULT;
		}
		done += n;
	}
	memset(chunk, 0, sizeof(chunk));
	return (long)done;
}
