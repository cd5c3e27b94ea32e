/*
 * The program inside the VM for bench/metal_bench.sh: the same static
 * binary (musl-gcc -static) runs on Pith (pith-kernel.elf) and on Linux
 * (as /init of a minimal initramfs), so both kernels do the same work.
 *
 *	vmbench [-p] [-m DIR] hello
 *	vmbench [-p] [-m DIR] getpid N
 *	vmbench [-p] [-m DIR] disk DEVICE FSTYPE MIB
 *
 * Every mode first writes the marker line the script times the boot by.
 * getpid makes N getpid system calls (musl does not cache it) and prints
 * the time they took; disk mounts DEVICE on /mnt, writes MIB MiB in 1 MiB
 * writes, fsyncs, unmounts and mounts again (so that nothing is read from
 * a cache), reads the file back, checks it, and prints both times.
 * -m DIR: first mount devtmpfs on /dev and load DIR's kernel modules in
 * name order (Linux's virtio and ext4 drivers are modules in Debian).
 * -p: power off at the end (the program is Linux's init, which may not
 * exit).  Results are lines "RESULT name value".
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#define MARKER "PITH-BENCH-FIRST-OUTPUT\n"

static long long
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000000ll + ts.tv_nsec;
}

static int
cmpstr(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void
load_modules(const char *dir)
{
	char *names[64], path[512];
	struct dirent *de;
	int n = 0, i, fd;
	DIR *d;

	mkdir("/dev", 0755);
	if (mount("devtmpfs", "/dev", "devtmpfs", 0, NULL) != 0)
		printf("mount devtmpfs: %s\n", strerror(errno));
	d = opendir(dir);
	while (d != NULL && (de = readdir(d)) != NULL && n < 64)
		if (strstr(de->d_name, ".ko") != NULL)
			names[n++] = strdup(de->d_name);
	if (d != NULL)
		closedir(d);
	qsort(names, (size_t)n, sizeof(names[0]), cmpstr);
	for (i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0 || (syscall(SYS_finit_module, fd, "", 0) != 0 &&
		    errno != EEXIST))
			printf("module %s: %s\n", names[i], strerror(errno));
		if (fd >= 0)
			close(fd);
	}
}

static int
bench_getpid(long n)
{
	long long t0, t1;
	long i;

	t0 = now_ns();
	for (i = 0; i < n; i++)
		syscall(SYS_getpid);
	t1 = now_ns();
	printf("RESULT getpid_ns %lld\n", t1 - t0);
	return 0;
}

static int
mount_wait(const char *dev, const char *fstype)
{
	int tries;

	/* A module's device node may appear a moment after it loads. */
	for (tries = 0; tries < 200; tries++) {
		if (mount(dev, "/mnt", fstype, 0, NULL) == 0)
			return 0;
		if (errno != ENOENT && errno != ENXIO && errno != ENODEV)
			break;
		usleep(10000);
	}
	printf("mount %s on /mnt (%s): %s\n", dev, fstype, strerror(errno));
	return 1;
}

static int
bench_disk(const char *dev, const char *fstype, long mib)
{
	/* Allocated here: hello's memory figure must not pay for it. */
	char *buf = malloc(1 << 20);
	const size_t bsz = 1 << 20;
	long long t0, t1, t2, t3;
	long i, bad = 0;
	ssize_t n;
	int fd;

	if (buf == NULL) {
		printf("malloc: %s\n", strerror(errno));
		return 1;
	}
	mkdir("/mnt", 0755);
	if (mount_wait(dev, fstype) != 0)
		return 1;
	memset(buf, 0x5a, bsz);
	t0 = now_ns();
	fd = open("/mnt/big", O_CREAT | O_WRONLY | O_TRUNC, 0644);
	for (i = 0; fd >= 0 && i < mib; i++) {
		buf[0] = (char)i;
		if (write(fd, buf, bsz) != (ssize_t)bsz)
			break;
	}
	if (fd < 0 || i < mib || fsync(fd) != 0 || close(fd) != 0) {
		printf("write /mnt/big: %s\n", strerror(errno));
		return 1;
	}
	t1 = now_ns();
	if (umount("/mnt") != 0 || mount_wait(dev, fstype) != 0) {
		printf("remount: %s\n", strerror(errno));
		return 1;
	}
	t2 = now_ns();
	fd = open("/mnt/big", O_RDONLY);
	for (i = 0; fd >= 0 && i < mib; i++) {
		n = read(fd, buf, bsz);
		if (n != (ssize_t)bsz)
			break;
		if (buf[0] != (char)i || buf[bsz - 1] != 0x5a)
			bad++;
	}
	if (fd < 0 || i < mib) {
		printf("read /mnt/big: %s\n", strerror(errno));
		return 1;
	}
	close(fd);
	t3 = now_ns();
	umount("/mnt");
	free(buf);
	printf("RESULT write_ns %lld\nRESULT read_ns %lld\nRESULT bad_mib %ld\n",
	    t1 - t0, t3 - t2, bad);
	return bad != 0;
}

int
main(int argc, char **argv)
{
	int poweroff = 0, rc = 2, c;

	(void)!write(1, MARKER, sizeof(MARKER) - 1);
	while ((c = getopt(argc, argv, "pm:")) != -1) {
		if (c == 'p')
			poweroff = 1;
		else if (c == 'm')
			load_modules(optarg);
	}
	if (optind < argc && strcmp(argv[optind], "hello") == 0)
		rc = 0;
	else if (optind + 1 < argc && strcmp(argv[optind], "getpid") == 0)
		rc = bench_getpid(atol(argv[optind + 1]));
	else if (optind + 3 < argc && strcmp(argv[optind], "disk") == 0)
		rc = bench_disk(argv[optind + 1], argv[optind + 2],
		    atol(argv[optind + 3]));
	else
		printf("usage: vmbench [-p] [-m DIR] hello | getpid N | "
		    "disk DEVICE FSTYPE MIB\n");
	printf("RESULT status %d\n", rc);
	fflush(stdout);
	if (poweroff) {
		sync();
		reboot(RB_POWER_OFF);
	}
	return rc;
}
