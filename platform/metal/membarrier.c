/*
 * hyp_membarrier on bare metal: one CPU, and threads switch only at calls
 * into the scheduler, so every other thread is stopped at a point where
 * its memory accesses are complete.  The compiler barrier keeps ours in
 * order around the call.
 */
#include "metal.h"

int
hyp_membarrier(void)
{
	__asm__ volatile("" ::: "memory");
	return 0;
}
