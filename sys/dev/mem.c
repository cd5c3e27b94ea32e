/*
 * The memory devices, as Linux's drivers/char/mem.c: /dev/null (1,3),
 * /dev/zero (1,5), /dev/full (1,7), /dev/random (1,8), /dev/urandom (1,9).
 *
 * null reads end-of-file and swallows writes; zero reads zeros and
 * swallows writes; full reads zeros and fails every non-empty write with
 * ENOSPC; random and urandom read from the kernel's generator (which
 * never blocks, as Linux's once seeded) and accept writes without mixing
 * them in.  No ioctls (ENOTTY, as Linux for null/zero/full; the random
 * ioctls are not provided).  All are always ready for poll.
 *
 * The devices keep no state, so nothing here locks.
 */

#include "kern/cdev.h"

#define MEM_MAJOR 1
#define MEM_NULL 3
#define MEM_ZERO 5
#define MEM_FULL 7
#define MEM_RANDOM 8
#define MEM_URANDOM 9

/* Source for reads of zero and full; never written. */
static char mem_zeroes[4096] __attribute__((aligned(16)));

/* Account for a whole write without looking at the bytes. */
static void
mem_consume(struct uio *uio)
{
	struct iovec *iov;

	while (uio->uio_resid > 0 && uio->uio_iovcnt > 0) {
		iov = uio->uio_iov;
		if (iov->iov_len > uio->uio_resid)
			iov->iov_len = uio->uio_resid;
		iov->iov_base = (char *)iov->iov_base + iov->iov_len;
		uio->uio_offset += (off_t)iov->iov_len;
		uio->uio_resid -= iov->iov_len;
		iov->iov_len = 0;
		uio->uio_iov++;
		uio->uio_iovcnt--;
	}
	uio->uio_resid = 0;
}

static int
mem_read_zero(struct uio *uio)
{
	int error = 0;

	while (uio->uio_resid > 0 && error == 0)
		error = uiomove(mem_zeroes,
		    MIN(uio->uio_resid, sizeof(mem_zeroes)), uio);
	return error;
}

static int
mem_read_random(struct uio *uio)
{
	char buf[256];
	size_t n;
	int error = 0;

	while (uio->uio_resid > 0 && error == 0) {
		n = MIN(uio->uio_resid, sizeof(buf));
		cprng_bytes(buf, n);
		error = uiomove(buf, n, uio);
	}
	memset(buf, 0, sizeof(buf));
	return error;
}

static int
mem_open(dev_t dev, int flags)
{
	return 0;
}

static int
mem_read(dev_t dev, struct uio *uio, int flags)
{
	switch (minor(dev)) {
	case MEM_NULL:
		return 0;
	case MEM_ZERO:
	case MEM_FULL:
		return mem_read_zero(uio);
	case MEM_RANDOM:
	case MEM_URANDOM:
		return mem_read_random(uio);
	default:
		return ENXIO;
	}
}

static int
mem_write(dev_t dev, struct uio *uio, int flags)
{
	switch (minor(dev)) {
	case MEM_FULL:
		return uio->uio_resid > 0 ? ENOSPC : 0;
	case MEM_NULL:
	case MEM_ZERO:
	case MEM_RANDOM:
	case MEM_URANDOM:
		mem_consume(uio);
		return 0;
	default:
		return ENXIO;
	}
}

#define MEMDEV(name, mode) { \
	.d_name = name, .d_mode = mode, .d_open = mem_open, \
	.d_read = mem_read, .d_write = mem_write, \
}

static const struct cdevsw mem_null_sw = MEMDEV("null", 0666);
static const struct cdevsw mem_zero_sw = MEMDEV("zero", 0666);
static const struct cdevsw mem_full_sw = MEMDEV("full", 0666);
static const struct cdevsw mem_random_sw = MEMDEV("random", 0666);
static const struct cdevsw mem_urandom_sw = MEMDEV("urandom", 0666);

static const struct {
	unsigned minor;
	const struct cdevsw *sw;
} mem_devs[] = {
	{ MEM_NULL, &mem_null_sw },
	{ MEM_ZERO, &mem_zero_sw },
	{ MEM_FULL, &mem_full_sw },
	{ MEM_RANDOM, &mem_random_sw },
	{ MEM_URANDOM, &mem_urandom_sw },
};

static void
mem_fini(void)
{
	size_t i;

	for (i = 0; i < nitems(mem_devs); i++)
		cdev_unregister(makedev(MEM_MAJOR, mem_devs[i].minor));
}

static int
mem_init(void)
{
	size_t i;
	int error;

	for (i = 0; i < nitems(mem_devs); i++) {
		error = cdev_register(makedev(MEM_MAJOR, mem_devs[i].minor),
		    mem_devs[i].sw);
		if (error) {
			mem_fini();
			return error;
		}
	}
	return 0;
}

COMPONENT(mem, COMP_DEV, mem_init, mem_fini);
