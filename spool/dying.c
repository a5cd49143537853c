/*
 * dying.c - run/dying: the supervisor's children that keep dying.
 *
 * The supervisor restarts a child that dies within 10 s of its start with
 * a growing delay; after five such deaths in a row the child "keeps dying"
 * (a missing library, a broken configuration of one stage, a disk it cannot
 * write). It keeps the set of such children in run/dying, one
 * "since deaths label cause" line each, rewritten in place at every change
 * (no new inode: the disk may be full), so that status and /healthz can say
 * which stage is stuck and why. The file is the running daemon's: readers
 * trust it only while spool_daemon_running() says so.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "spool.h"

#define DYING_FILE "run/dying"

int
dying_write(int spoolfd, const struct dying_rec *v, size_t n)
{
	struct strbuf sb = {0};
	int fd, r = 0;

	for (size_t i = 0; i < n; i++)
		sb_printf(&sb, "%lld %d %s %s\n", (long long)v[i].since, v[i].deaths, v[i].label,
			  v[i].cause);
	fd = openat(spoolfd, DYING_FILE, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (fd < 0 || ftruncate(fd, 0) < 0 ||
	    (sb.len && pwrite(fd, sb.buf, sb.len, 0) != (ssize_t)sb.len)) {
		log_warn(DYING_FILE ": cannot record the children that keep dying");
		r = -1;
	}
	if (fd >= 0)
		close(fd);
	sb_free(&sb);
	return r;
}

int
dying_read(int spoolfd, struct dying_rec **v, size_t *n)
{
	char *text = file_read_at(spoolfd, DYING_FILE, 1 << 20, NULL), *line, *save = NULL;
	size_t cap = 0;

	*v = NULL;
	*n = 0;
	if (text == NULL)
		return errno == ENOENT ? 0 : -1;
	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		struct dying_rec r = {0};
		long long since;
		int off = 0;

		if (sscanf(line, "%lld %d %255s %n", &since, &r.deaths, r.label, &off) < 3)
			continue;
		r.since = since;
		snprintf(r.cause, sizeof(r.cause), "%s", off ? line + off : "");
		if (*n == cap)
			*v = xreallocarray(*v, (cap = cap ? 2 * cap : 8), sizeof(**v));
		(*v)[(*n)++] = r;
	}
	free(text);
	return 0;
}
