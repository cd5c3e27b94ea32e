/*
 * Bare-metal fault test, by argv[1]: "null" reads address 0, "exec" jumps
 * into a data page, "kread" and "kdmap" read kernel memory (the image at
 * 1 MiB, the direct map), "textwrite" writes its own code, "ud" runs an invalid instruction, "oom" mallocs until
 * malloc fails (then exits 1 with a message), "oomtouch" maps more than
 * memory in pieces that each fit and then touches it all (killed by
 * SIGKILL with a message, as Linux's OOM killer would), "stack" recurses deeply
 * (the stack grows on demand; exits 0), "badptr" hands system calls
 * unmapped buffers and kernel addresses (EFAULT, as Linux), "partial"
 * makes the kernel write past a mapping's end in a read(2) whose buffer
 * starts mapped (the program is killed: no EFAULT recovery inside the
 * kernel), "spin" arms a 50 ms ITIMER_REAL and loops without system
 * calls (SIGALRM must end it).  "null", "exec", "ud" and "partial" must
 * end the program by a signal with a diagnostic on the console, never
 * the kernel.
 */
#include <stdio.h>
#include <stdlib.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <unistd.h>

static const char *
efault(long r)
{
	return r == -1 && errno == EFAULT ? "EFAULT" : "not EFAULT";
}

static volatile int *volatile nullp;
static unsigned char code[16] = { 0xc3 };       /* ret, in .data */

static int
deep(int n)
{
	volatile char buf[1024];

	buf[0] = (char)n;
	return n == 0 ? 0 : deep(n - 1) + buf[0];
}

/* The kernel, not the program, is first to touch this buffer. */
static long __attribute__((noinline))
stack_read(void)
{
	volatile char big[512 * 1024];
	int fd = open("/dev/zero", O_RDONLY);
	long r = read(fd, (char *)big, sizeof(big));

	close(fd);
	return r + big[0];
}

int
main(int argc, char **argv)
{
	const char *what = argc > 1 ? argv[1] : "";
	unsigned long mib = 0;

	printf("faults: %s\n", what);
	fflush(stdout);
	if (strcmp(what, "null") == 0)
		return *nullp;
	if (strcmp(what, "exec") == 0) {
		((void (*)(void))(void *)code)();
		return 0;
	}
	if (strcmp(what, "kread") == 0)      /* the kernel's image */
		return *(volatile int *)0x100000ul;
	if (strcmp(what, "kdmap") == 0)      /* the kernel's direct map */
		return *(volatile int *)0xffff800000100000ul;
	if (strcmp(what, "textwrite") == 0) {
		*(volatile unsigned char *)(void *)main = 0xc3;
		return 0;
	}
	if (strcmp(what, "ud") == 0) {
		__asm__ volatile("ud2");
		return 0;
	}
	if (strcmp(what, "oom") == 0) {
		for (;;) {
			char *p = malloc(1 << 20);

			if (p == NULL) {
				printf("malloc failed after %lu MiB\n", mib);
				return 1;
			}
			memset(p, 1, 1 << 20);
			mib++;
		}
	}
	if (strcmp(what, "badptr") == 0) {
		struct iovec iov = { (void *)0x10000000ul, 8 };
		int fd = open("/dev/zero", O_RDONLY);

		printf("write unmapped: %s\n", efault(write(1, (void *)0x10000000ul, 16)));
		printf("write kernel image: %s\n", efault(write(1, (void *)0x100000ul, 16)));
		printf("read into kernel image: %s\n", efault(read(fd, (void *)0x200000ul, 16)));
		printf("open unmapped path: %s\n", efault(open((char *)0x10000000ul, O_RDONLY)));
		printf("writev unmapped buffer: %s\n", efault(writev(1, &iov, 1)));
		return 0;
	}
	if (strcmp(what, "spin") == 0) {
		struct itimerval it = { { 0, 0 }, { 0, 50000 } };

		setitimer(ITIMER_REAL, &it, NULL);
		for (;;)
			;
	}
	if (strcmp(what, "partial") == 0) {
		char *p = mmap(NULL, 8192, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		int fd = open("/dev/zero", O_RDONLY);

		munmap(p + 4096, 4096);
		read(fd, p, 8192);
		printf("partial read survived\n");
		return 0;
	}
	if (strcmp(what, "oomtouch") == 0) {
		/* Each mapping fits what is left; together they do not. */
		char *m[16];
		int i;
		size_t j;

		for (i = 0; i < 16; i++) {
			m[i] = mmap(NULL, 8 << 20, PROT_READ | PROT_WRITE,
			    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
			if (m[i] == MAP_FAILED)
				return 3;
		}
		printf("16 mappings of 8 MiB made\n");
		fflush(stdout);
		for (i = 0; i < 16; i++)
			for (j = 0; j < (8 << 20); j += 4096)
				m[i][j] = 1;
		return 0;
	}
	if (strcmp(what, "stack") == 0) {
		/* First, while only the initial 128 KiB are mapped. */
		printf("read into the stack below its mapped part: %s\n",
		    stack_read() == 512 * 1024 ? "ok" : "failed");
		printf("deep %d\n", deep(4000) >= 0);
		return 0;
	}
	return 2;
}
