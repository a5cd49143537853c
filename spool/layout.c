/*
 * layout.c - the spool's folders (tmcwatch-spool(5), SYNOPSIS).
 *
 *   <spool>/req proc done err            TMC job folders
 *   <spool>/stages/<tpl>/<NN>-<step>/{tmp,new,cur,err}
 *   <spool>/outbox/{tmp,new,cur,err}     callbacks
 *   <spool>/state/  <spool>/run/slots/  <spool>/run/faults/
 *
 * Every folder of one spool must be on one file system, since items move by
 * rename; spool_open() checks that the stage tree and req/ share a device.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "spool.h"

static const char *spool_dirs[] = {
	"req",        "proc",       "done",       "err",   "stages", "outbox",    "outbox/tmp",
	"outbox/new", "outbox/cur", "outbox/err", "state", "run",    "run/slots",
};

int
spool_open(struct spool *sp, const char *path, bool create)
{
	struct stat st0, st;
	size_t i = 0;

	memset(sp, -1, sizeof(*sp));
	sp->path = NULL;
	sp->seq_tz = NULL;
	/* the spool folder itself is made, never its parents: a typo in
	 * spool_dir must not grow a tree somewhere unexpected */
	if (create && mkdir(path, 0755) < 0 && errno != EEXIST) {
		log_warn("spool_dir %s (its parent folder must exist)", path);
		return -1;
	}
	sp->fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (sp->fd < 0) {
		log_warn("spool %s", path);
		return -1;
	}
	sp->path = xstrdup(path);
	if (fstat(sp->fd, &st0) < 0)
		goto fail;
	/* run/faults/ is not listed: fault_init() makes it, so a spool of an
	 * older version opens as it is */
	for (i = 0; i < sizeof(spool_dirs) / sizeof(spool_dirs[0]); i++) {
		if (create && mkdirat(sp->fd, spool_dirs[i], 0755) < 0 && errno != EEXIST)
			goto fail_dir;
		if (fstatat(sp->fd, spool_dirs[i], &st, AT_SYMLINK_NOFOLLOW) < 0)
			goto fail_dir;
		if (!S_ISDIR(st.st_mode)) {
			errno = ENOTDIR;
			goto fail_dir;
		}
		if (st.st_dev != st0.st_dev) {
			log_warnx("spool %s/%s is on another file system: items move by rename",
				  path, spool_dirs[i]);
			goto fail;
		}
	}
	/* free/ (recycle.c) is not listed either: a spool of an older version
	 * opens as it is, and recycles nothing until a run makes it */
	if (create && mkdirat(sp->fd, "free", 0755) < 0 && errno != EEXIST)
		goto fail_free;
	sp->freefd = openat(sp->fd, "free", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (sp->freefd < 0 && (create || errno != ENOENT))
		goto fail_free;
	return 0;
fail_free:
	log_warn("spool %s/free", path);
	goto fail;
fail_dir:
	log_warn("spool %s/%s", path, spool_dirs[i]);
fail:
	spool_close(sp);
	return -1;
}

void
spool_close(struct spool *sp)
{
	if (sp->fd >= 0)
		close(sp->fd);
	if (sp->freefd >= 0)
		close(sp->freefd);
	sp->fd = sp->freefd = -1;
	xfree(&sp->path);
}

void
stage_name(char *buf, size_t len, int idx, const char *step)
{
	if (snprintf(buf, len, "%02d-%s", idx, step) >= (int)len)
		fatalx("stage name too long: %s", step);
}

static int
stage_sub(struct stage_dir *sd, const char *sub, bool create)
{
	int fd;

	if (create && mkdirat(sd->fd, sub, 0755) < 0 && errno != EEXIST)
		return -1;
	fd = openat(sd->fd, sub, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	return fd;
}

int
stage_open_path(struct stage_dir *sd, const char *path, bool create)
{
	memset(sd, 0, sizeof(*sd));
	sd->fd = sd->tmpfd = sd->newfd = sd->curfd = sd->errfd = sd->freefd = -1;
	sd->path = xstrdup(path);
	if (create && mkdir_p(path, 0755) < 0)
		goto fail;
	if ((sd->fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0 ||
	    (sd->tmpfd = stage_sub(sd, "tmp", create)) < 0 ||
	    (sd->newfd = stage_sub(sd, "new", create)) < 0 ||
	    (sd->curfd = stage_sub(sd, "cur", create)) < 0 ||
	    (sd->errfd = stage_sub(sd, "err", create)) < 0)
		goto fail;
	if (sd->label == NULL)
		sd->label = xstrdup(path);
	return 0;
fail:
	/* opening only an existing stage (create false), a missing one is an
	 * answer, not a fault: a worker host has folders only for the steps
	 * it serves, and only once their workers made them */
	if (create || errno != ENOENT)
		log_warn("stage folder %s", path);
	stage_close(sd);
	return -1;
}

int
stage_open(struct stage_dir *sd, const struct spool *sp, const char *tpl, int idx, const char *step,
	   bool create)
{
	char name[NAME_MAX + 1], path[PATH_MAX];
	int r;

	stage_name(name, sizeof(name), idx, step);
	if (snprintf(path, sizeof(path), "%s/stages/%s/%s", sp->path, tpl, name) >=
	    (int)sizeof(path)) {
		log_warnx("stage path too long: %s/stages/%s/%s", sp->path, tpl, name);
		return -1;
	}
	r = stage_open_path(sd, path, create);
	if (r == 0) {
		free(sd->label);
		sd->label = xasprintf("%s/%s", tpl, name);
		sd->freefd = sp->freefd;
	}
	return r;
}

int
outbox_open(struct stage_dir *sd, const struct spool *sp, bool create)
{
	char path[PATH_MAX];
	int r;

	if (snprintf(path, sizeof(path), "%s/outbox", sp->path) >= (int)sizeof(path)) {
		log_warnx("outbox path too long: %s/outbox", sp->path);
		return -1;
	}
	r = stage_open_path(sd, path, create);
	if (r == 0) {
		free(sd->label);
		sd->label = xstrdup("outbox");
		sd->freefd = sp->freefd;
	}
	return r;
}

void
stage_close(struct stage_dir *sd)
{
	int *fds[] = {&sd->fd, &sd->tmpfd, &sd->newfd, &sd->curfd, &sd->errfd};

	for (size_t i = 0; i < sizeof(fds) / sizeof(fds[0]); i++) {
		if (*fds[i] >= 0)
			close(*fds[i]);
		*fds[i] = -1;
	}
	xfree(&sd->path);
	xfree(&sd->label);
}

bool
spool_daemon_running(int spoolfd)
{
	int fd = openat(spoolfd, "run/tmcwatch.pid", O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	bool locked;

	if (fd < 0)
		return false;
	locked = flock(fd, LOCK_SH | LOCK_NB) < 0 && errno == EWOULDBLOCK;
	close(fd);
	return locked;
}
