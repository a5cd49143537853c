/*
 * timers.c - when tmc-watch walks next: a rescan of the whole tree (after
 * an inotify overflow, after a hand-off failed, to let the index forget
 * files gone), the walk of folders that are scanned instead of watched,
 * and the next try to open a missing watch folder. CLOCK_MONOTONIC ms;
 * 0 is "not set". The callers decide and log; this file only keeps times.
 */
#include "watch.h"

int64_t
timers_rescan(struct timers *t, bool overflow, int64_t now)
{
	int64_t delay = RETRY_MS;

	if (overflow) {
		/* overflows keep coming: walking sooner would only overflow again */
		if (t->last_overflow && now - t->last_overflow < 30000)
			t->rescan_delay = t->rescan_delay * 2 > RESCAN_MAX_MS ? RESCAN_MAX_MS
									      : t->rescan_delay * 2;
		else
			t->rescan_delay = RESCAN_MIN_MS;
		t->last_overflow = now;
		t->overflowed = true;
		delay = t->rescan_delay;
	}
	if (t->rescan_due == 0 || t->rescan_due > now + delay)
		t->rescan_due = now + delay;
	return delay;
}

bool
timers_rescan_take(struct timers *t, int64_t now)
{
	if (t->rescan_due == 0 || now < t->rescan_due)
		return false;
	t->rescan_due = 0;
	return true;
}

void
timers_poll(struct timers *t, int64_t now, int poll_ms)
{
	if (!t->poll_due)
		t->poll_due = now + poll_ms;
}

bool
timers_root_missing(struct timers *t, int64_t now, bool lost)
{
	bool first = t->root_delay == 0;

	if (lost)
		t->root_delay = 1000;
	else
		t->root_delay = t->root_delay ? t->root_delay * 2 : 1000;
	if (t->root_delay > 60000)
		t->root_delay = 60000;
	t->root_due = now + t->root_delay;
	return first;
}

void
timers_root_found(struct timers *t)
{
	t->root_delay = 0;
	t->root_due = 0;
}

void
timers_sweep_check(struct timers *t, size_t live, int64_t now)
{
	if (live > 2 * t->sweep_base + 10000 && !t->rescan_due) {
		t->sweep_base = live;
		t->rescan_due = now + 60000;
	}
}

void
timers_swept(struct timers *t, size_t live)
{
	t->sweep_base = live;
}

bool
timers_poll_take(struct timers *t, int64_t now)
{
	if (t->poll_due == 0 || now < t->poll_due)
		return false;
	t->poll_due = 0;
	return true;
}

int64_t
timers_next(const struct timers *t)
{
	int64_t all[] = {t->rescan_due, t->poll_due, t->root_due}, due = 0;

	for (size_t i = 0; i < sizeof(all) / sizeof(*all); i++)
		if (all[i] != 0 && (due == 0 || all[i] < due))
			due = all[i];
	return due;
}
