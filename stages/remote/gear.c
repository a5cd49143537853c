/*
 * gear.c - which gearmand to send a unit to, asked of gearmand itself.
 *
 * gearmand's admin protocol (plain text on its port): "status\n" answers
 * one line per function "name\tqueued+running\trunning\tworkers\n" and
 * ".\n". A unit is sent only where a worker host registered its function
 * and has room (queued+running below its workers), so that with no worker
 * host up nothing is claimed and the local workers carry everything. The
 * answer is cached for a second per server: ready() runs before every
 * claim. The in-flight cap per server (gearman.max_per_server) is a set
 * of flock'ed files run/remote/cap/<server>.<k>, shared by every tmc-remote
 * of this spool host; the kernel drops a dead holder's lock.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "remote.h"

#define CACHE_MS 1000

struct cache {
	char server[256];
	int64_t at_ms; /* when asked (mono), 0 never */
	char *status;  /* the last answer, NULL when unreachable */
};
static struct cache *cache;
static size_t ncache;

/* gearmand's status for server, asked again when older than max_ms */
static const char *
cached_status(const char *server, int64_t max_ms)
{
	struct cache *c = NULL;
	int64_t now = now_ms_mono();

	for (size_t i = 0; i < ncache && c == NULL; i++)
		if (strcmp(cache[i].server, server) == 0)
			c = &cache[i];
	if (c == NULL) {
		cache = xreallocarray(cache, ncache + 1, sizeof(*cache));
		c = &cache[ncache++];
		*c = (struct cache){0};
		snprintf(c->server, sizeof(c->server), "%s", server);
	}
	if (c->at_ms == 0 || now - c->at_ms >= max_ms) {
		free(c->status);
		c->status = gear_admin(server, "status", 500);
		c->at_ms = now;
	}
	return c->status;
}

/* Does the status answer show fn with a worker that has room? */
static bool
status_has_room(const char *status, const char *fn)
{
	size_t fl = strlen(fn);

	for (const char *p = status; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL) {
		long total, running, avail;

		if (strncmp(p, fn, fl) != 0 || p[fl] != '\t')
			continue;
		if (sscanf(p + fl, "\t%ld\t%ld\t%ld", &total, &running, &avail) == 3)
			return avail > 0 && total < avail;
	}
	return false;
}

bool
gear_has_worker(const struct conf *conf, const char *fn)
{
	for (size_t i = 0; i < conf->gearman.nservers; i++)
		if (status_has_room(cached_status(conf->gearman.servers[i], CACHE_MS), fn))
			return true;
	return false;
}

/* A free cap slot of server: the flock'ed descriptor, or -1. */
static int
cap_take(const struct conf *conf, const struct spool *sp, const char *server)
{
	char name[400];
	int fd;

	if (mkdirat(sp->fd, "run/remote", 0755) < 0 && errno != EEXIST)
		return -1;
	if (mkdirat(sp->fd, "run/remote/cap", 0755) < 0 && errno != EEXIST)
		return -1;
	for (int k = 0; k < conf->gearman.max_per_server; k++) {
		snprintf(name, sizeof(name), "run/remote/cap/%s.%d", server, k);
		for (char *p = name + strlen("run/remote/cap/"); *p; p++)
			if (*p == '/')
				*p = '_';
		fd = openat(sp->fd, name, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
		if (fd < 0) {
			log_warn("%s/%s", sp->path, name);
			return -1;
		}
		if (flock(fd, LOCK_EX | LOCK_NB) == 0)
			return fd;
		close(fd);
	}
	return -1;
}

int
gear_pick(const struct conf *conf, const struct spool *sp, const char *fn, struct gear_pick *pk)
{
	pk->capfd = -1;
	for (size_t i = 0; i < conf->gearman.nservers; i++) {
		const char *server = conf->gearman.servers[i];

		/* asked afresh: an item is about to be held for a reply */
		if (!status_has_room(cached_status(server, 0), fn))
			continue;
		if ((pk->capfd = cap_take(conf, sp, server)) < 0)
			continue;
		snprintf(pk->server, sizeof(pk->server), "%s", server);
		return 0;
	}
	return -1;
}

void
gear_release(struct gear_pick *pk)
{
	if (pk->capfd >= 0)
		close(pk->capfd);
	pk->capfd = -1;
}
