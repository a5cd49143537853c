/*
 * slots.c - the global CPU and memory budget (tmcwatch-spool(5), SLOTS).
 *
 * worker_cnt slot files run/slots/slot.N and big_worker files big.N; a
 * worker holds one with flock while it processes an item. The kernel drops
 * the lock when the holder dies, so a crash never leaks a slot. Waiting:
 * try every slot without blocking, then sleep a little (1 ms doubling to
 * 50 ms) and try again; only contended workers wait, and they wait for any
 * slot, not one chosen in advance.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

#include "spool.h"

static int
slot_open(const struct spool *sp, bool big, int i)
{
	char name[64];
	int fd;

	snprintf(name, sizeof(name), "run/slots/%s.%d", big ? "big" : "slot", i);
	fd = openat(sp->fd, name, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (fd < 0)
		log_warn("%s/%s", sp->path, name);
	return fd;
}

int
slots_init(const struct spool *sp, int worker_cnt, int big_cnt)
{
	for (int i = 0; i < worker_cnt + big_cnt; i++) {
		int fd = slot_open(sp, i >= worker_cnt, i >= worker_cnt ? i - worker_cnt : i);

		if (fd < 0)
			return -1;
		close(fd);
	}
	return 0;
}

/* Each process opens a slot file once and keeps it: only the flock changes
 * hands per item. A held slot's fd is marked so it is not reused. */
#define SLOT_CACHE 256
static int slot_fds[2][SLOT_CACHE];
static bool slot_cached[2][SLOT_CACHE], slot_held[2][SLOT_CACHE];

static int
slot_fd(const struct spool *sp, bool big, int i)
{
	if (i >= SLOT_CACHE)
		return slot_open(sp, big, i);
	if (!slot_cached[big][i]) {
		if ((slot_fds[big][i] = slot_open(sp, big, i)) < 0)
			return -1;
		slot_cached[big][i] = true;
	}
	return slot_fds[big][i];
}

static int
slot_try(const struct spool *sp, bool big, int count, struct slot *s)
{
	int start = (int)(getpid() % (count > 0 ? count : 1));

	for (int k = 0; k < count; k++) {
		int i = (start + k) % count;
		int fd;

		if (i < SLOT_CACHE && slot_held[big][i])
			continue;
		if ((fd = slot_fd(sp, big, i)) < 0)
			return -1;
		if (flock(fd, LOCK_EX | LOCK_NB) == 0) {
			s->fd = fd;
			s->index = i;
			s->big = big;
			if (i < SLOT_CACHE)
				slot_held[big][i] = true;
			return 1;
		}
		if (i >= SLOT_CACHE)
			close(fd);
	}
	return 0;
}

int
slot_acquire(const struct spool *sp, bool big, int count, int timeout_ms, struct slot *s)
{
	int64_t deadline = now_ms_mono() + timeout_ms;
	int delay_ms = 1, r;

	s->fd = -1;
	if (count <= 0)
		return 0; /* no budget configured: unlimited */
	while ((r = slot_try(sp, big, count, s)) == 0) {
		struct timespec ts = {0, delay_ms * 1000000L};

		if (timeout_ms >= 0 && now_ms_mono() >= deadline) {
			errno = ETIMEDOUT;
			return -1;
		}
		nanosleep(&ts, NULL);
		if (delay_ms < 50)
			delay_ms *= 2;
	}
	return r < 0 ? -1 : 0;
}

void
slot_release(struct slot *s)
{
	if (s->fd < 0)
		return;
	if (s->index < SLOT_CACHE && slot_cached[s->big][s->index]) {
		flock(s->fd, LOCK_UN);
		slot_held[s->big][s->index] = false;
	} else {
		close(s->fd);
	}
	s->fd = -1;
}

int
slots_busy(const struct spool *sp, bool big, int count)
{
	int busy = 0;

	for (int i = 0; i < count; i++) {
		int fd = slot_open(sp, big, i);

		if (fd < 0)
			continue;
		if (flock(fd, LOCK_EX | LOCK_NB) < 0 && errno == EWOULDBLOCK)
			busy++;
		close(fd);
	}
	return busy;
}
