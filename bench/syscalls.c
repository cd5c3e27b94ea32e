/*
 * The cost of a system call: getpid, fstat of an open file, open+close of
 * an existing file, through Pith (a function call into the kernel in
 * this process) and through the host kernel (a real system call; getpid
 * by syscall(2), since libc may cache it).
 *
 * With an argument "icount OP N" it instead performs N operations of one
 * kind and nothing else of note, for bench/run.sh to count instructions
 * under callgrind.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#include <pith/pith.h>

#include "bench.h"

#define N 200000
#define NOPEN 50000

static int
icount(const char *op, long n)
{
	struct stat st;
	long i;
	int fd;

	fd = pith_sys_open("/tmp/f", O_CREAT | O_RDWR, 0644);
	if (fd < 0)
		bench_die("pith open");
	if (strcmp(op, "getpid") == 0) {
		for (i = 0; i < n; i++)
			(void)pith_sys_getpid();
	} else if (strcmp(op, "fstat") == 0) {
		for (i = 0; i < n; i++)
			(void)pith_sys_fstat(fd, &st);
	} else if (strcmp(op, "openclose") == 0) {
		for (i = 0; i < n; i++)
			(void)pith_sys_close(pith_sys_open("/tmp/f", O_RDONLY));
	} else {
		fprintf(stderr, "syscalls: unknown op %s\n", op);
		return 2;
	}
	pith_fini();
	return 0;
}

int
main(int argc, char **argv)
{
	char path[] = "/dev/shm/pith-bench.XXXXXX";
	struct stat st;
	double p, h;
	int pfd, hfd;

	if (pith_init(NULL) < 0)
		bench_die("pith_init");
	if (argc == 4 && strcmp(argv[1], "icount") == 0)
		return icount(argv[2], atol(argv[3]));

	pfd = pith_sys_open("/tmp/f", O_CREAT | O_RDWR, 0644);
	if (pfd < 0)
		bench_die("pith open");
	hfd = mkstemp(path);
	if (hfd < 0)
		bench_die("mkstemp");

	p = BEST_NS_PER_OP(N, for (int i = 0; i < N; i++)
	    (void)pith_sys_getpid());
	h = BEST_NS_PER_OP(N, for (int i = 0; i < N; i++)
	    (void)syscall(SYS_getpid));
	figure("getpid", p, h, "ns/op", p / h);

	p = BEST_NS_PER_OP(N, for (int i = 0; i < N; i++)
	    (void)pith_sys_fstat(pfd, &st));
	h = BEST_NS_PER_OP(N, for (int i = 0; i < N; i++)
	    (void)fstat(hfd, &st));
	figure("fstat", p, h, "ns/op", p / h);

	p = BEST_NS_PER_OP(NOPEN, for (int i = 0; i < NOPEN; i++)
	    (void)pith_sys_close(pith_sys_open("/tmp/f", O_RDONLY)));
	h = BEST_NS_PER_OP(NOPEN, for (int i = 0; i < NOPEN; i++)
	    (void)close(open(path, O_RDONLY)));
	figure("open+close", p, h, "ns/op", p / h);

	close(hfd);
	unlink(path);
	pith_fini();
	return 0;
}
