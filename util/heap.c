/*
 * heap.c - glibc's heap kept between the requests of a program that
 * handles one big request at a time (tmc-remote, tmc-gworker).
 *
 * By default glibc serves a block of at least M_MMAP_THRESHOLD with its own
 * mmap (unmapped at free) and gives the heap's free top back to the kernel
 * (brk) once it exceeds M_TRIM_THRESHOLD; both follow the biggest block
 * freed so far, the trim threshold at twice the mmap threshold. A request
 * that holds a ~10 MB original in two or three buffers at once grows the
 * heap past that every time and is trimmed back at the end: every request
 * page-faults and zeroes its ~20-30 MB afresh (12% of tmc-remote's CPU
 * in a profile). Fixed thresholds sized from the request's limits keep the
 * memory mapped for the next request; the RSS kept is bounded by the same
 * limits (it is what one request of that size needs anyway).
 */
#include <limits.h>
#include <malloc.h>

#include "util.h"

/* a message's header and framing beside its payload (a request's header is
 * a few hundred bytes; a reply's names its files) */
#define HEAP_SLACK (1u << 20)

static int
clamp_int(size_t v)
{
	return v > (size_t)INT_MAX ? INT_MAX : (int)v;
}

void
heap_keep_for(size_t payload, size_t reply)
{
	size_t block = payload + HEAP_SLACK;
	/* kept free at most: the payload's buffer and the library's copy of
	 * it, and a reply's two while it fits a block (a bigger reply, a
	 * video's outputs, has its own mmap and leaves nothing behind) */
	size_t keep = 2 * block + 2 * (reply < block ? reply : block);

	/* mallopt fails only on a value out of its range, and under a
	 * sanitizer (its allocator has no such knobs): then the defaults */
	if (mallopt(M_MMAP_THRESHOLD, clamp_int(block)) != 1 ||
	    mallopt(M_TRIM_THRESHOLD, clamp_int(keep)) != 1)
		log_debug("mallopt: glibc's heap thresholds left as they are");
}
