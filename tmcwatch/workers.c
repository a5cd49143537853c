/*
 * workers.c - the supervisor's side of the status files stage workers keep
 * in run/workers/ (read with workers_each(), spool/workers.c): a dead
 * worker's file loses its item but keeps its count; a new run starts with
 * none.
 */
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tmcwatch.h"

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
	rmtree_at(fd, "remote"); /* tmc-remote's per-host counts (tmc-remote(8)) */
	close(fd);
}
