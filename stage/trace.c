/*
 * trace.c - TMC_TRACE, for `make bench` only: when an item enters a stage's
 * new/ and when a worker claims it, as lines "P|C <id> <step> <ns>" in the
 * file TMC_TRACE names (O_APPEND: lines of every process stay whole).
 * tests/bench/spool.sh pairs them: pickup latency is C - P. The times are
 * taken after the rename into new/ and at the claim, so neither the build
 * of an item nor its step's work is counted.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "stage.h"

static int trace_fd = -2; /* -2: TMC_TRACE not looked at yet */

void
trace_note(char what, const char *id, int step)
{
	struct timespec ts;
	char line[256];
	int len;

	if (trace_fd == -2) {
		const char *path = getenv("TMC_TRACE");

		trace_fd = path ? open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644) : -1;
		if (path && trace_fd < 0)
			log_warn("TMC_TRACE %s", path);
	}
	if (trace_fd < 0)
		return;
	clock_gettime(CLOCK_REALTIME, &ts);
	len = snprintf(line, sizeof(line), "%c %s %d %lld\n", what, id, step,
		       (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec);
	if (len > 0 && (size_t)len < sizeof(line) && write(trace_fd, line, (size_t)len) < 0)
		log_warn("TMC_TRACE");
}
