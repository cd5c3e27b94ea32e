/*
 * Bare-metal memory test: brk up and down, anonymous mmap of many sizes
 * with the contents checked, munmap, mprotect to read-only and back,
 * mremap growing a mapping (contents kept), MAP_FIXED over a mapping,
 * MADV_DONTNEED reading back zeros,
 * and malloc/free churn.  Prints "memstress ok" when all held.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#define CHECK(c) do { if (!(c)) { printf("FAIL line %d: %s\n", __LINE__, #c); return 1; } } while (0)

int
main(void)
{
	/* musl's sbrk only answers sbrk(0): use the system call. */
	char *b0 = (char *)syscall(SYS_brk, 0), *p[64], *q;
	size_t i, j, sz;

	CHECK(b0 != NULL && b0 != (char *)-1);
	CHECK((char *)syscall(SYS_brk, b0 + (1 << 20)) == b0 + (1 << 20));
	memset(b0, 0x5a, 1 << 20);
	CHECK((char *)syscall(SYS_brk, b0 + (1 << 19)) == b0 + (1 << 19));
	CHECK(b0[(1 << 19) - 1] == 0x5a);
	CHECK((char *)syscall(SYS_brk, b0 + (1ul << 40)) == b0 + (1 << 19));
	for (i = 0; i < 64; i++) {
		sz = 4096 * (i + 1) + i;
		p[i] = mmap(NULL, sz, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		CHECK(p[i] != MAP_FAILED);
		for (j = 0; j < sz; j += 512)
			CHECK(p[i][j] == 0);
		memset(p[i], (int)i, sz);
	}
	for (i = 0; i < 64; i += 2)
		CHECK(munmap(p[i], 4096 * (i + 1) + i) == 0);
	for (i = 1; i < 64; i += 2)
		for (j = 0; j < 4096 * (i + 1); j += 1024)
			CHECK(p[i][j] == (char)i);
	q = mmap(NULL, 3 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK(q != MAP_FAILED);
	strcpy(q, "kept");
	CHECK(mprotect(q, 3 * 4096, PROT_READ) == 0);
	CHECK(strcmp(q, "kept") == 0);
	CHECK(mprotect(q, 3 * 4096, PROT_NONE) == 0);
	CHECK(mprotect(q, 3 * 4096, PROT_READ | PROT_WRITE) == 0);
	CHECK(strcmp(q, "kept") == 0);
	q = mremap(q, 3 * 4096, 300 * 4096, MREMAP_MAYMOVE);
	CHECK(q != MAP_FAILED);
	CHECK(strcmp(q, "kept") == 0);
	q[300 * 4096 - 1] = 1;
	CHECK(mmap(q, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) == q);
	CHECK(q[0] == 0);
	memset(q, 7, 8192);
	CHECK(madvise(q, 8192, MADV_DONTNEED) == 0);
	CHECK(q[0] == 0 && q[8191] == 0);
	CHECK(munmap(q, 300 * 4096) == 0);
	CHECK(mprotect(q, 4096, PROT_READ) == -1);
	for (i = 0; i < 2000; i++) {
		void *m[8];

		for (j = 0; j < 8; j++) {
			m[j] = malloc((i * 37 + j * 4093) % 200000 + 1);
			CHECK(m[j] != NULL);
			memset(m[j], 1, 1);
		}
		for (j = 0; j < 8; j++)
			free(m[j]);
	}
	printf("memstress ok\n");
	return 0;
}
