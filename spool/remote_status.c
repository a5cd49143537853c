/*
 * remote_status.c - reading run/remote/<pid>, the files each tmc-remote
 * keeps (stages/remote/status.c): one line per worker host
 *   host=<h> inflight=<0|1> done=<n> failed=<n> last_seen=<unix s> function=<f>
 * summed per host for `tmcwatch status` and the metrics file. A file of a
 * process that is gone keeps its counts (a new run clears run/remote/) but
 * nothing of it is in flight.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "spool.h"

static struct remote_host *
host_slot(struct remote_host **v, size_t *n, const char *host)
{
	for (size_t i = 0; i < *n; i++)
		if (strcmp((*v)[i].host, host) == 0)
			return &(*v)[i];
	*v = xreallocarray(*v, *n + 1, sizeof(**v));
	(*v)[*n] = (struct remote_host){0};
	snprintf((*v)[*n].host, sizeof((*v)[*n].host), "%s", host);
	return &(*v)[(*n)++];
}

static void
read_line(char *line, bool alive, struct remote_host **v, size_t *n)
{
	char host[128] = "", fn[256] = "";
	long long inflight = 0, done = 0, failed = 0, seen = 0;
	struct remote_host *h;

	if (sscanf(line,
		   "host=%127s inflight=%lld done=%lld failed=%lld last_seen=%lld function=%255s",
		   host, &inflight, &done, &failed, &seen, fn) < 5)
		return;
	h = host_slot(v, n, host);
	h->inflight += alive ? inflight : 0;
	h->done += done;
	h->failed += failed;
	if (seen >= h->last_seen) {
		h->last_seen = seen;
		snprintf(h->function, sizeof(h->function), "%s", fn);
	}
}

int
remote_hosts(const struct spool *sp, struct remote_host **v, size_t *n)
{
	int fd = openat(sp->fd, "run/remote", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d = fd < 0 ? NULL : fdopendir(fd);
	struct dirent *e;

	*v = NULL;
	*n = 0;
	if (d == NULL) {
		if (fd >= 0)
			close(fd);
		return errno == ENOENT ? 0 : -1;
	}
	while ((e = readdir(d)) != NULL) {
		pid_t pid = (pid_t)atoi(e->d_name);
		bool alive = pid > 0 && (kill(pid, 0) == 0 || errno == EPERM);
		char *text, *save = NULL;

		if (e->d_name[0] < '1' || e->d_name[0] > '9' ||
		    (text = file_read_at(dirfd(d), e->d_name, 1 << 20, NULL)) == NULL)
			continue;
		for (char *l = strtok_r(text, "\n", &save); l; l = strtok_r(NULL, "\n", &save))
			read_line(l, alive, v, n);
		free(text);
	}
	closedir(d);
	return 0;
}
