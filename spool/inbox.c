/*
 * inbox.c - a stage's view of its new/ folder.
 *
 * Events are hints; the folder is the truth (doc/ARCHITECTURE.md, Design rules): at start and
 * on IN_Q_OVERFLOW the queue is refilled from a scan of new/, sorted so the
 * oldest ids (job seq first) go first; in between, IN_MOVED_TO names arrive
 * in order. A name in the queue that another worker took is simply not
 * claimable, so duplicates in the queue cost one failed open.
 *
 * When inotify's limits are reached (watchlimit.c) the inbox polls: ifd is
 * then a timerfd that fires every second, each tick asks the caller to
 * rescan new/, and every POLL_RETRY ticks the watch is tried again; once it
 * works ifd is the inotify descriptor again. The caller only ever polls
 * ifd, so stages and tmc-notify need no code of their own for it.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "spool.h"

#define POLL_RETRY 5 /* ticks (s) between tries to watch again */

static void
inbox_push(struct inbox *ib, const char *id)
{
	if (ib->n == ib->cap) {
		ib->cap = ib->cap ? ib->cap * 2 : 64;
		ib->ids = xreallocarray(ib->ids, ib->cap, sizeof(*ib->ids));
	}
	ib->ids[ib->n++] = xstrdup(id);
}

static void
inbox_clear(struct inbox *ib)
{
	for (size_t i = ib->pos; i < ib->n; i++)
		free(ib->ids[i]);
	ib->n = ib->pos = 0;
}

/* A new inotify descriptor watching new/; -1 with errno. */
static int
inbox_watch(const struct inbox *ib)
{
	int fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC), e;

	if (fd < 0)
		return -1;
	if (inotify_add_watch(fd, ib->path, IN_MOVED_TO | IN_ONLYDIR) < 0) {
		e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

/* The limit is reached: a timerfd ticks every second instead. */
static int
inbox_poll_start(struct inbox *ib, int err)
{
	struct itimerspec its = {.it_interval = {1, 0}, .it_value = {1, 0}};

	inotify_limit_hit(err, ib->path);
	ib->ifd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (ib->ifd < 0 || timerfd_settime(ib->ifd, 0, &its, NULL) < 0) {
		log_warn("timerfd for polling %s", ib->path);
		if (ib->ifd >= 0)
			close(ib->ifd);
		ib->ifd = -1;
		return -1;
	}
	ib->polled = true;
	ib->ticks = 0;
	log_info("%s is scanned every second until inotify has room again", ib->path);
	return 0;
}

int
inbox_open(struct inbox *ib, struct stage_dir *sd)
{
	memset(ib, 0, sizeof(*ib));
	ib->path = xasprintf("%s/new", sd->path);
	if ((ib->ifd = inbox_watch(ib)) >= 0)
		return 0;
	if (inotify_limit_errno(errno))
		return inbox_poll_start(ib, errno);
	log_warn("inotify on %s", ib->path);
	return -1;
}

/* A poll tick: every POLL_RETRY ticks, try to watch again. Always 1: the
 * caller rescans new/ (after a successful watch too, for what arrived
 * before it). */
static int
inbox_tick(struct inbox *ib)
{
	uint64_t n;
	int fd;

	if (read(ib->ifd, &n, sizeof(n)) < 0 && errno != EAGAIN && errno != EINTR)
		log_warn("read timerfd");
	if (++ib->ticks < POLL_RETRY)
		return 1;
	ib->ticks = 0;
	if ((fd = inbox_watch(ib)) < 0)
		return 1;
	close(ib->ifd);
	ib->ifd = fd;
	ib->polled = false;
	log_info("%s is watched again", ib->path);
	fault_clear(FAULT_WATCHES);
	return 1;
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int
inbox_scan(struct inbox *ib, struct stage_dir *sd)
{
	DIR *d;
	struct dirent *de;
	int fd = dup(sd->newfd);

	if (fd < 0 || (d = fdopendir(fd)) == NULL) {
		log_warn("%s/new", sd->path);
		if (fd >= 0)
			close(fd);
		return -1;
	}
	inbox_clear(ib);
	rewinddir(d);
	while ((de = readdir(d)) != NULL)
		if (de->d_name[0] != '.')
			inbox_push(ib, de->d_name);
	closedir(d);
	if (ib->n > 1) /* qsort(NULL, 0) is undefined: UBSan stops a stage with an empty new/ */
		qsort(ib->ids, ib->n, sizeof(*ib->ids), cmp_str);
	return (int)ib->n;
}

/* Returns 1 when the queue overflowed and the caller must rescan. */
int
inbox_read_events(struct inbox *ib)
{
	char buf[64 * 1024] __attribute__((aligned(__alignof__(struct inotify_event))));
	int overflow = 0;
	ssize_t n;

	if (ib->polled)
		return inbox_tick(ib);
	while ((n = read(ib->ifd, buf, sizeof(buf))) > 0) {
		for (char *p = buf; p < buf + n;) {
			struct inotify_event *ev = (struct inotify_event *)p;

			if (ev->mask & IN_Q_OVERFLOW)
				overflow = 1;
			else if (ev->len > 0 && ev->name[0] != '.')
				inbox_push(ib, ev->name);
			p += sizeof(*ev) + ev->len;
		}
	}
	if (n < 0 && errno != EAGAIN && errno != EINTR)
		log_warn("read inotify");
	return overflow;
}

const char *
inbox_next(struct inbox *ib)
{
	xfree(&ib->cur);
	if (ib->pos >= ib->n) {
		ib->n = ib->pos = 0;
		return NULL;
	}
	ib->cur = ib->ids[ib->pos++];
	return ib->cur;
}

void
inbox_close(struct inbox *ib)
{
	inbox_clear(ib);
	xfree(&ib->cur);
	xfree(&ib->ids);
	xfree(&ib->path);
	if (ib->ifd >= 0)
		close(ib->ifd);
	ib->ifd = -1;
}
