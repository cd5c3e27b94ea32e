/*
 * The bare-metal device test: the program of build/metal/devtest.elf,
 * booted by tests/scripts/metal_dev.t with virtio disks and (sometimes) a
 * virtio-rng.  It boots the kernel, mounts the first disk as ext2 through
 * the system calls a program would use, reads the file the host put
 * there, writes files and directories, syncs and unmounts -- the host
 * then checks the image with e2fsck and debugfs.  It also drives the
 * block hypercalls directly on a scratch disk (vdb): unaligned reads and
 * writes, the lock rules, the read-only rules, and errors.  TAP on the
 * serial console; returning 0 powers off with the "pass" status.
 *
 * What to do comes from the command line (QEMU -append), words:
 *   devtest=rw       vda writable ext2 with /host.txt, vdb scratch (>= 1 MiB)
 *   devtest=ro       vda read-only (readonly=on): writable opens refuse
 *   rng=1 / rng=0    whether a virtio-rng is expected
 *   bench=N          also write then read an N MiB file on vda, timed
 *
 * Freestanding like selftest.c; numbers are the Linux x86-64 ABI's.
 */
#include <pith/hyp.h>

#include "mout.h"

#define NULL ((void *)0)

struct pith_kconfig {
	unsigned ncpus;
	__SIZE_TYPE__ mem_limit;
	const char *hostname;
	unsigned flags;
};

long pith_kinit(const struct pith_kconfig *cfg);
void pith_fini(void);
int main(void);
const char *metal_cmdline(void);
int vrng_present(void);
int vblk_count(void);

#define SYS_read 0
#define SYS_write 1
#define SYS_open 2
#define SYS_close 3
#define SYS_stat 4
#define SYS_lseek 8
#define SYS_fsync 74
#define SYS_mkdir 83
#define SYS_sync 162
#define SYS_mount 165
#define SYS_umount2 166
#define SYS_clock_gettime 228

#define O_RDONLY 0
#define O_WRONLY 01
#define O_RDWR 02
#define O_CREAT 0100
#define O_TRUNC 01000
#define MS_RDONLY 1
#define CLOCK_MONOTONIC 1

#define ENOENT 2
#define EBADF 9
#define EIO 5
#define EBUSY 16
#define EROFS 30

#define HOST_TEXT "written by the host with debugfs\n"
#define VM_TEXT "written in the VM through virtio-blk\n"
#define BIG (1024 * 1024 + 4096 + 17)

struct st_x86_64 {
	unsigned long st_dev, st_ino, st_nlink;
	unsigned st_mode, st_uid, st_gid, pad0;
	unsigned long st_rdev;
	long st_size, st_blksize, st_blocks;
	long times[6];
	long reserved[3];
};

struct ts {
	long tv_sec, tv_nsec;
};

static int ntest, nfail;
/*
 * Buffers given to pith_syscall must lie in the image (the kernel's
 * copyin takes only lower-half addresses; the heap is in the upper half),
 * and the image must end below 4 MiB: one big static buffer, and the big
 * file is read back through a smaller one (read_file_same).
 */
static unsigned char bigbuf[BIG];
static unsigned char readbuf[64 * 1024];

/* The value of option key= on the command line, or NULL. */
static const char *
opt(const char *key)
{
	const char *s = metal_cmdline();
	unsigned long n = mt_len(key);

	for (; *s != '\0'; s++)
		if ((s == metal_cmdline() || s[-1] == ' ') && mt_eq(s, key, n))
			return s + n;
	return NULL;
}

static int
opt_is(const char *key, const char *val)
{
	const char *v = opt(key);

	return v != NULL && mt_eq(v, val, mt_len(val)) &&
	    (v[mt_len(val)] == '\0' || v[mt_len(val)] == ' ');
}

static long
opt_num(const char *key)
{
	const char *v = opt(key);
	long n = 0;

	if (v == NULL)
		return 0;
	for (; *v >= '0' && *v <= '9'; v++)
		n = n * 10 + (*v - '0');
	return n;
}

static void
ok(int cond, const char *what, long got)
{
	ntest++;
	if (!cond) {
		nfail++;
		out("not ");
	}
	out("ok ");
	out_long(ntest);
	out(" - ");
	out(what);
	if (!cond) {
		out(" (got ");
		out_long(got);
		out(")");
	}
	out("\n");
}

static void
pattern(unsigned char *p, unsigned long n, unsigned seed)
{
	unsigned long i;
	unsigned x = seed * 2654435761u + 1;

	for (i = 0; i < n; i++) {
		x = x * 1103515245u + 12345u;
		p[i] = (unsigned char)(x >> 16);
	}
}

static long
write_file(const char *path, const void *buf, long len)
{
	long fd, r;

	fd = sc(SYS_open, (long)path, O_CREAT | O_TRUNC | O_WRONLY, 0644);
	if (fd < 0)
		return fd;
	r = sc(SYS_write, fd, (long)buf, len);
	sc(SYS_close, fd, 0, 0);
	return r;
}

static long
read_file(const char *path, void *buf, long len)
{
	long fd, r, got = 0;

	fd = sc(SYS_open, (long)path, O_RDONLY, 0);
	if (fd < 0)
		return fd;
	while (got < len) {
		r = sc(SYS_read, fd, (long)buf + got, len - got);
		if (r <= 0) {
			if (r < 0)
				got = r;
			break;
		}
		got += r;
	}
	sc(SYS_close, fd, 0, 0);
	return got;
}

/* Read path through readbuf: its length if it holds want[0..len), else -1. */
static long
read_file_same(const char *path, const unsigned char *want, long len)
{
	long fd, r, got = 0, same = 1;

	fd = sc(SYS_open, (long)path, O_RDONLY, 0);
	if (fd < 0)
		return fd;
	for (;;) {
		r = sc(SYS_read, fd, (long)readbuf, sizeof(readbuf));
		if (r <= 0) {
			if (r < 0)
				got = r;
			break;
		}
		if (got + r > len || !mt_eq(readbuf, want + got, r))
			same = 0;
		got += r;
	}
	sc(SYS_close, fd, 0, 0);
	return got >= 0 && !same ? -1 : got;
}

static long
now_ms(void)
{
	struct ts t;

	sc(SYS_clock_gettime, CLOCK_MONOTONIC, (long)&t, 0);
	return t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/*
 * Raw block throughput on vdb: N MiB written then read in requests of
 * each size, timed (informative: the figure goes to the log only).  From
 * 8 MiB on, past what the other tests leave for the host to check.
 */
#define RAW_BASE (8ull << 20)

static void
bench_raw(long mib)
{
	static const unsigned long sizes[] = { 4096, 65536, 1ul << 20 };
	struct hyp_bio *b;
	unsigned long long size, off;
	unsigned char *back;
	long t0, t1, t2;
	unsigned i;
	int e;

	if ((e = hyp_malloc(1ul << 20, 4096, (void **)&back)) != 0) {
		ok(0, "raw vdb bench: a 1 MiB buffer", e);
		return;
	}
	e = hyp_bio_open("vdb", 0, &b, &size);
	if (e != 0 || size < RAW_BASE + ((unsigned long long)mib << 20)) {
		out("# bench: vdb too small for the raw figures\n");
		if (e == 0)
			hyp_bio_close(b);
		goto out;
	}
	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		t0 = now_ms();
		for (off = 0; e == 0 && off < (unsigned long long)mib << 20;
		    off += sizes[i])
			e = hyp_bio_write(b, RAW_BASE + off, bigbuf, sizes[i]);
		if (e == 0)
			e = hyp_bio_sync(b);
		t1 = now_ms();
		for (off = 0; e == 0 && off < (unsigned long long)mib << 20;
		    off += sizes[i])
			e = hyp_bio_read(b, RAW_BASE + off, back, sizes[i]);
		t2 = now_ms();
		out("# bench: raw vdb, ");
		out_long(mib);
		out(" MiB in ");
		out_long((long)sizes[i]);
		out("-byte requests: write+flush ");
		out_long(t1 - t0);
		out(" ms, read ");
		out_long(t2 - t1);
		out(" ms\n");
	}
	ok(e == 0, "raw vdb bench", e);
	hyp_bio_close(b);
out:
	hyp_free(back, 1ul << 20);
}

/*
 * Several threads with transfers in flight on one handle at once: each
 * writes its own 512 KiB region of vdb (from 2 MiB on) in 64 KiB pieces,
 * then reads it back.  A waiting thread also reaps the others' requests.
 */
#define NWORKERS 4
#define WREGION (512 * 1024)
#define WPIECE (64 * 1024)

struct worker {
	struct hyp_bio *w_b;
	int w_id;
	int w_error;
	int w_same;
};

/*
 * Heap blocks, not static arrays: the image must end below 4 MiB, and
 * heap addresses (the platform's direct map, not physical) are what the
 * kernel's own buffers look like to the driver.  Set by test_bio_threads.
 */
static unsigned char *wbuf[NWORKERS], *wback[NWORKERS];

static void
worker_run(void *arg)
{
	struct worker *w = arg;
	unsigned long long base = (2ul << 20) +
	    (unsigned long long)w->w_id * WREGION;
	unsigned long off;
	int e = 0;

	pattern(wbuf[w->w_id], WREGION, 100 + w->w_id);
	for (off = 0; e == 0 && off < WREGION; off += WPIECE)
		e = hyp_bio_write(w->w_b, base + off, wbuf[w->w_id] + off,
		    WPIECE);
	for (off = 0; e == 0 && off < WREGION; off += WPIECE)
		e = hyp_bio_read(w->w_b, base + off, wback[w->w_id] + off,
		    WPIECE);
	w->w_error = e;
	w->w_same = mt_eq(wbuf[w->w_id], wback[w->w_id], WREGION);
}

static void
test_bio_threads(void)
{
	struct worker w[NWORKERS];
	struct hyp_thread *t[NWORKERS];
	struct hyp_bio *b;
	unsigned long long size;
	int e, i, started = 0, good = 0, opened;

	e = hyp_bio_open("vdb", 0, &b, &size);
	opened = e == 0;
	for (i = 0; e == 0 && i < NWORKERS; i++) {
		e = hyp_malloc(WREGION, 4096, (void **)&wbuf[i]);
		if (e == 0 && (e = hyp_malloc(WREGION, 4096,
		    (void **)&wback[i])) != 0) {
			hyp_free(wbuf[i], WREGION);
			wbuf[i] = NULL;
		}
	}
	if (e == 0 && size < (2ul << 20) + NWORKERS * WREGION)
		e = -1;
	for (i = 0; e == 0 && i < NWORKERS; i++) {
		w[i].w_b = b;
		w[i].w_id = i;
		w[i].w_error = -1;
		w[i].w_same = 0;
		e = hyp_thread_create(worker_run, &w[i], "bio", &t[i]);
		if (e == 0)
			started++;
	}
	for (i = 0; i < started; i++) {
		hyp_thread_join(t[i]);
		good += w[i].w_error == 0 && w[i].w_same;
	}
	ok(e == 0 && good == NWORKERS,
	    "4 threads write and read back their own regions at once",
	    e ? e : good);
	for (i = 0; i < NWORKERS; i++) {
		if (wbuf[i] != NULL)
			hyp_free(wbuf[i], WREGION);
		if (wback[i] != NULL)
			hyp_free(wback[i], WREGION);
		wbuf[i] = wback[i] = NULL;
	}
	if (opened)
		hyp_bio_close(b);
}

/*
 * A buffer that is contiguous to the kernel but not in physical memory:
 * four pages of a static array mapped in the order 2, 0, 3, 1 at an
 * unused address (PML4 slot 259, above the platform's direct map, kernel
 * stacks and MMIO windows in 256-258) with 4 KiB pages.  The driver must
 * cut transfers at the seams.  This edits the kernel's page tables
 * directly, so it knows their layout (platform/metal/vm.c: the tables and
 * this image's arrays are identity-mapped, and kernel threads run on the
 * kernel's tables); it runs only in this test image.
 */
#define ALIAS_SLOT 259
#define ALIAS_VA (0xffff000000000000ul | ((unsigned long)ALIAS_SLOT << 39))

static unsigned long alias_tables[3][512] __attribute__((aligned(4096)));
static unsigned char alias_pages[4][4096] __attribute__((aligned(4096)));

static unsigned char *
alias_map(void)
{
	static const int order[4] = { 2, 0, 3, 1 };
	unsigned long cr3, *pml4;
	int i;

	__asm__ volatile("movq %%cr3, %0" : "=r"(cr3));
	pml4 = (unsigned long *)(cr3 & 0x000ffffffffff000ul);
	if (pml4[ALIAS_SLOT] != 0)
		return NULL;            /* the slot is taken: skip */
	alias_tables[0][0] = (unsigned long)alias_tables[1] | 3;
	alias_tables[1][0] = (unsigned long)alias_tables[2] | 3;
	for (i = 0; i < 4; i++)
		alias_tables[2][i] = (unsigned long)alias_pages[order[i]] | 3;
	pml4[ALIAS_SLOT] = (unsigned long)alias_tables[0] | 3;
	for (i = 0; i < 4; i++)
		__asm__ volatile("invlpg (%0)" :: "r"(ALIAS_VA + 4096ul * i) :
		    "memory");
	return (unsigned char *)ALIAS_VA;
}

static void
test_bio_scattered(struct hyp_bio *b)
{
	static unsigned char want[8192], got[8192];
	unsigned char *va = alias_map();
	unsigned i;
	int e;

	if (va == NULL) {
		ok(1, "# SKIP scattered buffer: PML4 slot 259 in use", 0);
		return;
	}
	/* 8192 bytes from 256 into the first page: pieces 3840, 4096, 256. */
	pattern(want, sizeof(want), 9);
	for (i = 0; i < sizeof(want); i++)
		va[256 + i] = want[i];
	e = hyp_bio_write(b, 1ul << 20, va + 256, sizeof(want));
	if (e == 0)
		e = hyp_bio_read(b, 1ul << 20, got, sizeof(got));
	ok(e == 0 && mt_eq(got, want, sizeof(got)),
	    "write from a buffer scattered in physical memory", e);
	for (i = 0; i < 4 * 4096; i++)
		va[i] = 0;
	e = hyp_bio_read(b, 1ul << 20, va + 256, sizeof(want));
	ok(e == 0 && mt_eq(va + 256, want, sizeof(want)) && va[255] == 0 &&
	    va[256 + sizeof(want)] == 0,
	    "read into a buffer scattered in physical memory", e);
}

/* The block hypercalls on the scratch disk vdb. */
static void
test_bio_direct(void)
{
	static unsigned char w[70000], r[70000];
	struct hyp_bio *b, *b2;
	unsigned long long size;
	int e;

	e = hyp_bio_open("/dev/vdb", 0, &b, &size);
	ok(e == 0 && size >= (1ul << 20), "hyp_bio_open /dev/vdb, writable",
	    e);
	if (e)
		return;
	e = hyp_bio_open("vdb", 0, &b2, &size);
	ok(e == EBUSY, "a second writable open: EBUSY", e);
	e = hyp_bio_open("vdb", HYP_BIO_RDONLY, &b2, &size);
	ok(e == EBUSY, "a read-only open beside the writer: EBUSY", e);
	/* Unaligned at both ends, spanning several requests' worth. */
	pattern(w, sizeof(w), 7);
	e = hyp_bio_write(b, 1000, w, sizeof(w));
	ok(e == 0, "write 70000 bytes at offset 1000", e);
	e = hyp_bio_write(b, 3, "edge", 4);
	ok(e == 0, "write 4 bytes at offset 3 (inside one sector)", e);
	e = hyp_bio_sync(b);
	ok(e == 0, "hyp_bio_sync (flush)", e);
	e = hyp_bio_read(b, 1000, r, sizeof(r));
	ok(e == 0 && mt_eq(r, w, sizeof(w)), "read it back", e);
	e = hyp_bio_read(b, 0, r, 8);
	ok(e == 0 && mt_eq(r + 3, "edge", 4) && r[0] == 0 && r[7] == 0,
	    "the small write patched only its bytes", e);
	test_bio_scattered(b);
	e = hyp_bio_read(b, size - 1, r, 2);
	ok(e == EIO, "read past the end: EIO", e);
	e = hyp_bio_write(b, size, r, 1);
	ok(e == EIO, "write at the end: EIO", e);
	hyp_bio_close(b);
	e = hyp_bio_open("vdb", HYP_BIO_RDONLY, &b, &size);
	if (e == 0)
		e = hyp_bio_open("vdb", HYP_BIO_RDONLY, &b2, &size);
	ok(e == 0, "two read-only opens after close", e);
	if (e == 0) {
		e = hyp_bio_write(b, 0, w, 512);
		ok(e == EBADF, "write on a read-only handle: EBADF", e);
		e = hyp_bio_open("vdb", 0, &b, &size);
		ok(e == EBUSY, "writable open beside readers: EBUSY", e);
		hyp_bio_close(b2);
		/* b is still the first read-only handle. */
		e = hyp_bio_read(b, 1000, r, 512);
		ok(e == 0 && mt_eq(r, w, 512), "read on a read-only handle", e);
		hyp_bio_close(b);
	}
	e = hyp_bio_open("vdz", HYP_BIO_RDONLY, &b, &size);
	ok(e == ENOENT, "no such disk: ENOENT", e);
	e = hyp_bio_open("sda", HYP_BIO_RDONLY, &b, &size);
	ok(e == ENOENT, "not a virtio disk name: ENOENT", e);
}

static void
test_ext2_rw(void)
{
	char buf[128];
	struct st_x86_64 st;
	long r, big, t0, t1, t2, i;

	r = sc(SYS_mkdir, (long)"/mnt", 0755, 0);
	ok(r == 0, "mkdir /mnt", r);
	r = pith_syscall6(SYS_mount, (long)"vda", (long)"/mnt", (long)"ext2",
	    0, 0, 0);
	ok(r == 0, "mount vda on /mnt as ext2", r);
	if (r != 0)
		return;
	r = read_file("/mnt/host.txt", buf, sizeof(buf));
	ok(r == (long)mt_len(HOST_TEXT) && mt_eq(buf, HOST_TEXT, r),
	    "read the file the host wrote", r);
	r = write_file("/mnt/f", VM_TEXT, mt_len(VM_TEXT));
	ok(r == (long)mt_len(VM_TEXT), "write /mnt/f", r);
	r = sc(SYS_mkdir, (long)"/mnt/dir", 0755, 0);
	if (r == 0)
		r = sc(SYS_mkdir, (long)"/mnt/dir/sub", 0700, 0);
	ok(r == 0, "mkdir /mnt/dir/sub", r);
	pattern(bigbuf, BIG, 42);
	r = write_file("/mnt/dir/big", bigbuf, BIG);
	ok(r == BIG, "write /mnt/dir/big (1 MiB and some)", r);
	r = sc(SYS_sync, 0, 0, 0);
	ok(r == 0, "sync", r);
	r = read_file_same("/mnt/dir/big", bigbuf, BIG);
	ok(r == BIG, "read it back", r);
	r = sc(SYS_stat, (long)"/mnt/dir/sub", (long)&st, 0);
	ok(r == 0 && (st.st_mode & 0777) == 0700, "stat /mnt/dir/sub", r);

	big = opt_num("bench=");
	if (big > 0) {
		/* bigbuf's first MiB: the kernel copies only from the image. */
		unsigned char *chunk = bigbuf;
		const long chunklen = 1l << 20;
		long fd, moved = 0;

		pattern(chunk, chunklen, 3);
		t0 = now_ms();
		fd = sc(SYS_open, (long)"/mnt/bench",
		    O_CREAT | O_TRUNC | O_RDWR, 0644);
		for (i = 0; fd >= 0 && i < big; i++)
			moved += sc(SYS_write, fd, (long)chunk, chunklen);
		if (fd >= 0)
			sc(SYS_fsync, fd, 0, 0);
		t1 = now_ms();
		if (fd >= 0)
			sc(SYS_lseek, fd, 0, 0);
		for (i = 0; fd >= 0 && i < big; i++)
			moved += sc(SYS_read, fd, (long)chunk, chunklen);
		t2 = now_ms();
		if (fd >= 0)
			sc(SYS_close, fd, 0, 0);
		out("# bench: wrote ");
		out_long(big);
		out(" MiB (fsync included) in ");
		out_long(t1 - t0);
		out(" ms, read it back in ");
		out_long(t2 - t1);
		out(" ms (the buffer cache keeps at most 16 MiB)\n");
		ok(moved == 2 * big * chunklen, "bench file moved",
		    moved);
	}

	r = pith_syscall6(SYS_umount2, (long)"/mnt", 0, 0, 0, 0, 0);
	ok(r == 0, "umount /mnt", r);
}

static void
test_ext2_ro(void)
{
	struct hyp_bio *b;
	unsigned long long size;
	char buf[128];
	long r;
	int e;

	e = hyp_bio_open("vda", 0, &b, &size);
	ok(e == EROFS, "writable open of a read-only disk: EROFS", e);
	r = sc(SYS_mkdir, (long)"/mnt", 0755, 0);
	ok(r == 0, "mkdir /mnt", r);
	r = pith_syscall6(SYS_mount, (long)"/dev/vda", (long)"/mnt",
	    (long)"ext2", 0, 0, 0);
	ok(r == -EROFS, "writable mount of a read-only disk: EROFS", r);
	r = pith_syscall6(SYS_mount, (long)"/dev/vda", (long)"/mnt",
	    (long)"ext2", MS_RDONLY, 0, 0);
	ok(r == 0, "read-only mount", r);
	if (r != 0)
		return;
	r = read_file("/mnt/host.txt", buf, sizeof(buf));
	ok(r == (long)mt_len(HOST_TEXT) && mt_eq(buf, HOST_TEXT, r),
	    "read the file the host wrote", r);
	r = write_file("/mnt/g", "x", 1);
	ok(r == -EROFS, "create on the read-only mount: EROFS", r);
	r = pith_syscall6(SYS_umount2, (long)"/mnt", 0, 0, 0, 0, 0);
	ok(r == 0, "umount /mnt", r);
}

int
main(void)
{
	struct pith_kconfig cfg = { 1, 32ul << 20, "pith-devtest", 0 };
	unsigned char rnd[256];
	long r, i, distinct;
	int want_rng = opt_is("rng=", "1"), e;
	unsigned char seen[256];

	out("# devtest: ");
	out(metal_cmdline());
	out("\n");
	e = hyp_getrandom(rnd, sizeof(rnd));
	for (i = 0; i < 256; i++)
		seen[i] = 0;
	for (i = 0, distinct = 0; i < (long)sizeof(rnd); i++) {
		distinct += !seen[rnd[i]];
		seen[rnd[i]] = 1;
	}
	ok(vrng_present() == want_rng, want_rng ? "virtio-rng found" :
	    "no virtio-rng", vrng_present());
	/* 256 random bytes show well over 100 distinct values. */
	ok(e == 0 && distinct > 100, "hyp_getrandom: 256 bytes", distinct);

	r = pith_kinit(&cfg);
	ok(r == 0, "pith_kinit", r);
	if (r != 0)
		return 1;
	if (opt_is("devtest=", "rw")) {
		ok(vblk_count() == 2, "two virtio disks", vblk_count());
		test_ext2_rw();
		test_bio_direct();
		test_bio_threads();
		if (opt_num("bench=") > 0)
			bench_raw(opt_num("bench="));
	} else if (opt_is("devtest=", "ro")) {
		ok(vblk_count() == 1, "one virtio disk", vblk_count());
		test_ext2_ro();
	} else {
		ok(0, "devtest=rw or devtest=ro on the command line", 0);
	}
	pith_fini();
	out("1..");
	out_long(ntest);
	out("\n");
	out(nfail == 0 ? "# devtest: all passed\n" : "# devtest: FAILED\n");
	return nfail == 0 ? 0 : 1;
}
