/*
 * virtio-rng (QEMU -device virtio-rng-pci) behind hyp_getrandom, with the
 * CPU's own entropy (metal_cpu_random: RDRAND, else timing jitter) as the
 * fallback when there is no such device or it stops answering.
 *
 * The device fills the writable buffers it is given with random bytes
 * from the host.  We hand it our own static buffer, not the caller's,
 * so that a device that answers late (after we gave up on it) can
 * scribble only on memory that is ours for good.  One request at a time:
 * a thread that finds the buffer busy yields until it is free.  Waiting
 * polls the used ring (interrupts are off) and yields between looks; a
 * device silent for VRNG_TIMEOUT_NS is marked dead and never used again.
 *
 * Cooperative threads on one CPU, nothing yields between a check and the
 * update it guards: no locks.
 */
#include "metal.h"

#define VRNG_CHUNK 64
#define VRNG_TIMEOUT_NS 1000000000l

static struct virtio_dev vrng_vd;
static struct virtq vrng_vq;
static int vrng_ok;                     /* attached and answering */
static int vrng_busy;                   /* vrng_buf is with the device */
static u8 vrng_buf[VRNG_CHUNK] __attribute__((aligned(64)));

int
vrng_present(void)
{
	return vrng_ok;
}

void
vrng_probe(struct pci_dev *pd)
{
	int error;

	if (vrng_ok)
		return;                 /* one is enough */
	error = virtio_attach(&vrng_vd, pd);
	if (error == 0)
		error = virtio_negotiate(&vrng_vd, 0);
	if (error == 0)
		error = virtq_init(&vrng_vd, &vrng_vq, 0, 8);
	if (error) {
		metal_puts("virtio-rng: device not usable, error ");
		metal_putd(error);
		metal_puts("\n");
		virtio_failed(&vrng_vd);
		return;
	}
	virtio_ready(&vrng_vd);
	vrng_ok = 1;
	metal_puts("pith metal: virtio-rng entropy\n");
}

/* Up to len (<= VRNG_CHUNK) bytes from the device into p; 0 if it fails. */
static hyp_size_t
vrng_fill(u8 *p, hyp_size_t len)
{
	struct virtio_seg seg;
	hyp_i64 deadline;
	u32 got = 0;

	/* A device given up on keeps vrng_busy set for good. */
	while (vrng_busy && vrng_ok)
		hyp_yield();
	if (!vrng_ok)
		return 0;
	vrng_busy = 1;
	seg.vs_addr = metal_virt_to_phys(vrng_buf, NULL);
	seg.vs_len = (u32)len;
	seg.vs_write = 1;
	if (virtq_add(&vrng_vq, &seg, 1, vrng_buf) != 0) {
		vrng_busy = 0;
		return 0;
	}
	virtq_kick(&vrng_vq);
	deadline = hyp_clock_ns(HYP_CLOCK_MONOTONIC) + VRNG_TIMEOUT_NS;
	while (virtq_reap(&vrng_vq, &got) == NULL) {
		if (hyp_clock_ns(HYP_CLOCK_MONOTONIC) > deadline) {
			metal_puts("virtio-rng: no answer, using the CPU's "
			    "entropy\n");
			vrng_ok = 0;    /* vrng_buf stays the device's */
			return 0;
		}
		/* An interrupt handler would reap and wake us instead. */
		hyp_yield();
		cpu_relax();
	}
	if (got > len)
		got = (u32)len;
	memcpy(p, vrng_buf, got);
	memset(vrng_buf, 0, sizeof(vrng_buf));
	vrng_busy = 0;
	return got;
}

int
hyp_getrandom(void *buf, hyp_size_t len)
{
	u8 *p = buf;
	hyp_size_t n, got;

	while (len > 0 && vrng_ok) {
		n = len < VRNG_CHUNK ? len : VRNG_CHUNK;
		got = vrng_fill(p, n);
		if (got == 0)
			break;
		p += got;
		len -= got;
	}
	return len > 0 ? metal_cpu_random(p, len) : 0;
}
