/*
 * libFuzzer target for pithd's request decoder (proto_decode): the input
 * is split into a request message (first byte: its length) and the
 * contents of a small shared area.  The decoder must never read or write
 * outside the message, the area and its guard page, and every pointer it
 * hands to the kernel must lie inside the area or its private scratch.
 * Built by `make fuzz` with the table generated from syscalls.master.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "pithclient/proto.c"
#include "gen/remote.c"

#define FZ_AREA 8192

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char *area;
	unsigned long nr;
	void *scratch;
	size_t mlen;
	long out[6];
	int r;

	if (area == NULL) {
		/* The area, then the zero guard page, as the server maps it. */
		area = mmap(NULL, FZ_AREA + 4096, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (area == MAP_FAILED)
			abort();
		mprotect(area + FZ_AREA, 4096, PROT_READ);
	}
	if (size == 0)
		return 0;
	mlen = data[0];
	data++, size--;
	if (mlen > size)
		mlen = size;
	memset(area, 0, FZ_AREA);
	memcpy(area, data + mlen, size - mlen > FZ_AREA ? FZ_AREA : size - mlen);
	r = proto_decode(data, mlen, area, FZ_AREA, out, &nr, &scratch);
	if (r == 0) {
		struct proto_req q;
		struct proto_res res[6];

		memcpy(&q, data, sizeof(q));
		if (proto_resolve(nr, q.pq_arg, res) != 0)
			abort();
		for (int i = 0; i < 6; i++) {
			char *p = (char *)out[i];

			if (res[i].kind == PK_VAL || p == NULL || p == scratch)
				continue;
			if (p < area || p > area + FZ_AREA)
				abort();
		}
	}
	free(scratch);
	return 0;
}
