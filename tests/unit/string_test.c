/*
 * Unit test of the kernel's memory and string primitives against naive
 * byte loops, across the size thresholds (tiny, word loop, rep movsb) and
 * every overlap direction for memmove.
 */
#include "kern/kern.h"
#include "unit/ktap.h"


#define N 1400
static unsigned char src[N + 64], dst[N + 64], ref[N + 64];

static void
fill(unsigned char *p, size_t n, unsigned seed)
{
	for (size_t i = 0; i < n; i++) {
		seed = seed * 1103515245 + 12345;
		p[i] = (unsigned char)(seed >> 16);
	}
}

/* A byte loop the compiler will not turn into a call. */
static void
naive_move(unsigned char *d, const unsigned char *s, size_t n)
{
	if (d < s) {
		for (size_t i = 0; i < n; i++) {
			d[i] = s[i];
			__asm__ volatile("");
		}
	} else {
		for (size_t i = n; i > 0; i--) {
			d[i - 1] = s[i - 1];
			__asm__ volatile("");
		}
	}
}

static bool
same(const unsigned char *a, const unsigned char *b, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (a[i] != b[i])
			return false;
	}
	return true;
}

/*
 * copyinstr against strlen and a byte copy: strings of length 0..40 at
 * each alignment, with limits below, at and above what they need, and
 * strings ending right before a page boundary (the 8-byte head load must
 * not be taken there).
 */
static bool
copyinstr_one(const char *s, size_t len, size_t limit)
{
	static char kbuf[64];
	size_t done = 0;
	int error;

	memset(kbuf, 'X', sizeof(kbuf));
	error = copyinstr(s, kbuf, limit, &done);
	if (len + 1 <= limit)
		return error == 0 && done == len + 1 &&
		    memcmp(kbuf, s, len + 1) == 0;
	return error == ENAMETOOLONG && done == limit &&
	    memcmp(kbuf, s, limit) == 0;
}

static bool
copyinstr_all(void)
{
	static char page[3 * 4096] __attribute__((aligned(4096)));
	char *s;
	bool good = true;

	for (size_t len = 0; len <= 40; len++) {
		for (size_t al = 0; al < 8; al++) {
			s = page + 64 + al;
			memset(s, 'a', len);
			s[len] = '\0';
			for (size_t lim = 1; lim <= 48; lim++)
				good &= copyinstr_one(s, len, lim);
			/* Ending at the last bytes of a page. */
			s = page + 2 * 4096 - 1 - len;
			memset(s, 'b', len);
			s[len] = '\0';
			good &= copyinstr_one(s, len, 64);
		}
	}
	return good;
}

int
pith_unittest_main(void)
{
	bool good;

	kprintf("1..6\n");
	good = true;
	for (size_t n = 0; n <= 1100 && good; n += (n < 80 ? 1 : 37)) {
		for (size_t off = 0; off < 8; off++) {
			fill(src, sizeof(src), (unsigned)(n + off));
			fill(dst, sizeof(dst), 7);
			memcpy(ref, dst, sizeof(ref));
			naive_move(ref + off, src + 3, n);
			memcpy(dst + off, src + 3, n);
			good = good && same(dst, ref, sizeof(dst));
		}
	}
	ok(good, "memcpy at every size and alignment");

	good = true;
	for (size_t n = 0; n <= 1100 && good; n += (n < 80 ? 1 : 37)) {
		for (int shift = -9; shift <= 9; shift++) {
			size_t s = 20, d = (size_t)(20 + shift);
			fill(dst, sizeof(dst), (unsigned)n);
			memcpy(ref, dst, sizeof(ref));
			naive_move(ref + d, ref + s, n);
			memmove(dst + d, dst + s, n);
			good = good && same(dst, ref, sizeof(dst));
		}
	}
	ok(good, "memmove with every overlap");

	good = true;
	for (size_t n = 0; n <= 1100 && good; n += (n < 80 ? 1 : 37)) {
		fill(dst, sizeof(dst), 3);
		memcpy(ref, dst, sizeof(ref));
		for (size_t i = 0; i < n; i++)
			ref[5 + i] = 0x5a;
		memset(dst + 5, 0x5a, n);
		good = good && same(dst, ref, sizeof(dst));
	}
	ok(good, "memset at every size");

	ok(memcmp("abcdefghij", "abcdefghik", 10) < 0 &&
	    memcmp("abcdefghij", "abcdefghij", 10) == 0 &&
	    strcmp("abc", "abd") < 0 && strncmp("abcx", "abcy", 3) == 0 &&
	    strlen("hello") == 5 && strnlen("hello", 3) == 3 &&
	    strchr("hello", 'l') != NULL && strchr("hello", 'z') == NULL,
	    "comparisons and searches");
	char buf[8];
	ok(strlcpy(buf, "truncated", sizeof(buf)) == 9 &&
	    strcmp(buf, "truncat") == 0, "strlcpy truncates and counts");
	ok(copyinstr_all(), "copyinstr at every length, alignment and limit");
	return t_fail != 0;
}
