/*
 * workers.c - reading the status files stage workers keep in run/workers/,
 * named <label with / as +>.<pid>, as stage/worker.c writes them (one
 * fixed-width line rewritten in place, padded with spaces):
 *
 *   "<processed> <item id> <start s, CLOCK_MONOTONIC> [<percent>]"  working
 *   "<processed> -"                                                 idle
 *
 * The one reader: the supervisor uses it for time limits, `tmcwatch
 * status` for "working", "Total processed" and the worker list.
 */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "spool.h"

static int
worker_parse(int dirfd, const char *name, struct worker_status *ws)
{
	const char *dot = strrchr(name, '.');
	char *text;
	int n;

	memset(ws, 0, sizeof(*ws));
	if (dot == NULL || (ws->pid = atoi(dot + 1)) <= 0)
		return -1;
	snprintf(ws->label, sizeof(ws->label), "%.*s", (int)(dot - name), name);
	for (char *p = ws->label; *p; p++)
		if (*p == '+')
			*p = '/';
	if ((text = file_read_at(dirfd, name, 4096, NULL)) == NULL)
		return -1;
	ws->percent = -1;
	n = sscanf(text, "%lld %127s %lld %d", &ws->processed, ws->item, &ws->start_s,
		   &ws->percent);
	free(text);
	if (n < 2)
		return -1;
	if (strcmp(ws->item, "-") == 0)
		ws->item[0] = '\0';
	return 0;
}

int
workers_each(const struct spool *sp, void (*fn)(const struct worker_status *, void *), void *arg)
{
	struct worker_status ws;
	struct dirent *de;
	int fd, n = 0;
	DIR *d;

	fd = openat(sp->fd, "run/workers", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 || (d = fdopendir(fd)) == NULL) {
		if (fd >= 0)
			close(fd);
		return 0;
	}
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.' || worker_parse(dirfd(d), de->d_name, &ws) < 0)
			continue;
		fn(&ws, arg);
		n++;
	}
	closedir(d);
	return n;
}
