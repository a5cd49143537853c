/*
 * workers.c - reading the status files stage workers keep in run/workers/
 * ("<processed> <item> <start s, CLOCK_MONOTONIC> [<percent>]" or
 * "<processed> -"),
 * named <label with / as +>.<pid>. The supervisor uses them for time limits,
 * `tmcwatch status` for "working" and "Total processed".
 */
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tmcwatch.h"

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
	n = sscanf(text, "%lld %127s %lld %d", &ws->processed, ws->item, &ws->start_s, &ws->percent);
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

static void
forget_one(const struct worker_status *ws, void *arg)
{
	const struct spool *sp = ((void **)arg)[0];
	pid_t pid = *(pid_t *)((void **)arg)[1];
	char name[300];
	int dirfd;

	if (ws->pid != pid)
		return;
	/* keep its count for "Total processed", but not its item */
	snprintf(name, sizeof(name), "%s.%d", ws->label, (int)pid);
	for (char *p = name; *p; p++)
		if (*p == '/')
			*p = '+';
	if ((dirfd = openat(sp->fd, "run/workers", O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return;
	if (ws->processed == 0) {
		unlinkat(dirfd, name, 0);
	} else {
		char line[64];
		int n = snprintf(line, sizeof(line), "%lld -\n", ws->processed);

		if (file_publish_at(dirfd, name, line, (size_t)n, false) < 0)
			log_warn("%s/run/workers/%s", sp->path, name);
	}
	close(dirfd);
}

void
workers_forget(const struct spool *sp, pid_t pid)
{
	void *arg[2] = {(void *)sp, &pid};

	workers_each(sp, forget_one, arg);
}

void
workers_clear(const struct spool *sp)
{
	int fd = openat(sp->fd, "run", O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0)
		return;
	rmtree_at(fd, "workers");
	mkdirat(fd, "workers", 0755);
	close(fd);
}
