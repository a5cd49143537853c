/*
 * processed.c - "Total processed" as TMC counted it: the files finished
 * since the daemon started (doc/TMC.md, Status), not the step items the
 * stage workers count. Each program that finishes files - tmc-jobs (a row
 * written) and each tmc-watch (a file accounted for) - keeps
 * run/processed/<who> = "<files> <basis>\n", rewritten by rename: files
 * since the supervisor started, and a number of the program's own that
 * lets a restarted program (same supervisor run) continue the count
 * (tmc-watch: its result log's count at the run's start). The supervisor
 * empties run/processed/ at start; `tmcwatch status` sums the files. A
 * program killed loses at most the files of its last second.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "spool.h"

#define PROCESSED_DIR "run/processed"

static int
processed_dir(const struct spool *sp, bool create)
{
	int fd = openat(sp->fd, PROCESSED_DIR, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);

	if (fd < 0 && errno == ENOENT && create && mkdirat(sp->fd, PROCESSED_DIR, 0755) == 0)
		fd = openat(sp->fd, PROCESSED_DIR, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	return fd;
}

/* "<files> <basis>" of who in the open run/processed/ folder dfd */
static int
read_at(int dfd, const char *who, long long *files, long long *basis)
{
	char *text = file_read_at(dfd, who, 256, NULL);
	int n = text ? sscanf(text, "%lld %lld", files, basis) : 0;

	free(text);
	return n == 2 ? 0 : -1;
}

int
processed_read(const struct spool *sp, const char *who, long long *files, long long *basis)
{
	int fd = processed_dir(sp, false), r = fd >= 0 ? read_at(fd, who, files, basis) : -1;

	if (fd >= 0)
		close(fd);
	return r;
}

void
processed_write(const struct spool *sp, const char *who, long long files, long long basis)
{
	int fd = processed_dir(sp, true), n;
	char line[64];

	n = snprintf(line, sizeof(line), "%lld %lld\n", files, basis);
	if (fd < 0 || file_publish_at(fd, who, line, (size_t)n, false) < 0)
		log_warn("%s/%s/%s", sp->path, PROCESSED_DIR, who);
	if (fd >= 0)
		close(fd);
}

long long
processed_total(const struct spool *sp)
{
	DIR *d = dir_open_at(sp->fd, PROCESSED_DIR);
	long long sum = 0, files, basis;
	struct dirent *de;

	if (d == NULL)
		return 0;
	while ((de = readdir(d)) != NULL)
		if (de->d_name[0] != '.' && read_at(dirfd(d), de->d_name, &files, &basis) == 0)
			sum += files;
	closedir(d);
	return sum;
}

void
processed_clear(const struct spool *sp)
{
	int fd = openat(sp->fd, "run", O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0)
		return;
	rmtree_at(fd, "processed");
	mkdirat(fd, "processed", 0755);
	close(fd);
}
