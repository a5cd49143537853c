/*
 * sweep.c - journals a killed tmc-jobs left behind.
 *
 * finish_close() moves the job file out of proc/ last and then removes the
 * journal proc/<seq>.rows; a kill between the two left the journal in
 * proc/ for good (no job file there, so no adoption ever looks at it). At
 * start, before adopting, a journal whose job is closed (done/<seq> or
 * err/<seq>) and neither running (proc/<seq>) nor requeued (req/<seq>: a
 * stopped job keeps its journal) is removed, and the removal logged.
 */
#include <errno.h>
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "jobs.h"

static bool
exists_at(int dirfd, const char *name)
{
	struct stat st;

	return fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0;
}

static void
sweep_one(struct jobsd *d, const char *name)
{
	char seq[SEQ_MAX + 8];

	if (job_file_kind(name, seq, sizeof(seq)) != JF_ROWS)
		return;
	if (!tmc_seq_name_ok(seq) || exists_at(d->procfd, seq) || exists_at(d->reqfd, seq) ||
	    !(exists_at(d->donefd, seq) || exists_at(d->errfd, seq)))
		return;
	if (unlinkat(d->procfd, name, 0) < 0 && errno != ENOENT)
		log_warn("%s/proc/%s", d->sp.path, name);
	else
		log_info("removed %s/proc/%s: job %s was closed, its journal left behind by a kill",
			 d->sp.path, name, seq);
}

void
sweep_journals(struct jobsd *d)
{
	int fd = dup(d->procfd);
	DIR *dir = fd >= 0 ? fdopendir(fd) : NULL;
	struct dirent *de;

	if (dir == NULL) {
		log_warn("%s/proc", d->sp.path);
		if (fd >= 0)
			close(fd);
		return;
	}
	/* a dup shares its offset with procfd and every earlier reader */
	rewinddir(dir);
	while ((de = readdir(dir)) != NULL)
		sweep_one(d, de->d_name);
	closedir(dir);
}
