/*
 * recover.c - returning the work of dead workers (tmcwatch-spool(5), Recovering).
 *
 * For every cur/<id> whose ticket lock can be taken, the holder is dead (the
 * kernel dropped its flock): the item goes back to new/ with attempt+1, or to
 * err/ once it has killed max_attempts workers (a poison file must not take
 * the pipeline down forever). An item that had committed its handoff (out/)
 * goes back without a charge: its next claim only delivers. In tmp/, a
 * committed one-successor handoff (named by its id) is finalized into new/,
 * finished items being removed ("~...") are removed, and half-published
 * items ("+...") after an hour.
 * Safe to run while workers of the same stage run: live claims hold locks.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "spool.h"

#define TMP_MAX_AGE 3600

/* An item sent to err/ here never got its step's result line (its worker
 * died before writing one): write it, failed with the reason, so that
 * tmc-jobs and tmc-watch account for the file instead of waiting for it.
 * Written before the item moves to err/: a recovery killed in between
 * leaves the item in cur/ and the next one writes the line again (a
 * reader takes a step's last line), where the other order would leave it
 * in err/ with no line, its job waiting for ever.
 * The stage folder names the step ("<NN>-<step>"); the spool is three
 * folders up (<spool>/stages/<template>/<NN>-<step>). */
static void
recover_result(const struct stage_dir *sd, const struct ticket *t, const char *reason)
{
	const char *base = strrchr(sd->label, '/');
	char root[PATH_MAX], *cut;
	struct spool sp = {.path = root};
	char *end;
	long idx;
	int up;

	snprintf(root, sizeof(root), "%s", sd->path);
	for (up = 0; up < 3 && (cut = strrchr(root, '/')) != NULL; up++)
		*cut = '\0';
	base = base ? base + 1 : sd->label;
	idx = strtol(base, &end, 10);
	if (end == base || *end != '-')
		return; /* not a stage of a template (the outbox) */
	if ((sp.fd = openat(sd->fd, "../../..", O_PATH | O_DIRECTORY | O_CLOEXEC)) < 0)
		return;
	result_append(&sp, t, end + 1, (int)idx, 0, 1, RO_FAILED, reason);
	close(sp.fd);
}

static int
recover_locked(struct stage_dir *sd, struct item *it, int max_attempts)
{
	char reason[REASON_MAX];
	long long attempt;

	if (item_committed(it))
		return item_unclaim(sd, it) < 0 ? -1 : 1;
	attempt = ticket_get_ll(&it->ticket, "attempt", 0) + 1;
	if (attempt >= max_attempts) {
		snprintf(reason, sizeof(reason),
			 "the worker processing it died %lld times (last error: %s)", attempt,
			 ticket_get(&it->ticket, "last_error") ?: "none");
		recover_result(sd, &it->ticket, reason);
		failpoint("recover-result"); /* tests: die between the line and err/ */
		return item_reject_at(sd, sd->curfd, it->id, reason) < 0 ? -1 : 1;
	}
	ticket_setf(&it->ticket, "attempt", "%lld", attempt);
	ticket_set(&it->ticket, "last_error", "worker died while processing it");
	if (item_unclaim(sd, it) < 0)
		return -1;
	log_info("%s: worker died, returned to new/ (attempt %lld)", it->path, attempt);
	return 1;
}

static int
recover_one(struct stage_dir *sd, const char *id, int max_attempts)
{
	char path[NAME_MAX + 16], reason[REASON_MAX];
	struct item it = {.dirfd = -1, .lockfd = -1};
	struct stat a, b;
	int r;

	snprintf(path, sizeof(path), "%s/ticket", id);
	it.lockfd = openat(sd->curfd, path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
	if (it.lockfd < 0)
		return errno == ENOENT ? item_reject_at(sd, sd->curfd, id, "item has no ticket")
				       : 0;
	if (flock(it.lockfd, LOCK_EX | LOCK_NB) < 0) {
		close(it.lockfd);
		return 0; /* alive */
	}
	/* the holder may have finished (moved it away) just before our lock */
	if (fstat(it.lockfd, &a) < 0 || fstatat(sd->curfd, path, &b, AT_SYMLINK_NOFOLLOW) < 0 ||
	    a.st_ino != b.st_ino || a.st_dev != b.st_dev) {
		close(it.lockfd);
		return 0;
	}
	snprintf(it.id, sizeof(it.id), "%s", id);
	it.path = xasprintf("%s/cur/%s", sd->path, id);
	it.dirfd = openat(sd->curfd, id, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	char *buf = file_read_at(sd->curfd, path, 1 << 20, NULL);

	if (it.dirfd < 0 || buf == NULL)
		r = -1;
	else if (ticket_parse(&it.ticket, buf, strlen(buf), reason, sizeof(reason)) < 0)
		r = item_reject_at(sd, sd->curfd, id, reason);
	else
		r = recover_locked(sd, &it, max_attempts);
	if (r < 0)
		log_warn("recover %s", it.path);
	free(buf);
	item_release(&it);
	return r;
}

static void
recover_tmp(struct stage_dir *sd)
{
	DIR *d;
	struct dirent *de;
	struct stat st;
	int fd = dup(sd->tmpfd);

	if (fd < 0 || (d = fdopendir(fd)) == NULL) {
		if (fd >= 0)
			close(fd);
		return;
	}
	rewinddir(d);
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		if (id_valid(de->d_name)) {
			stage_finalize(sd, de->d_name, true);
			continue;
		}
		/* ctime, not mtime: a folder a publisher took from free/
		 * (recycle.c) keeps its old mtime; its rename into tmp/ set
		 * its ctime */
		if (de->d_name[0] != '~' &&
		    (fstatat(sd->tmpfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
		     time(NULL) - st.st_ctime < TMP_MAX_AGE))
			continue;
		if (rmtree_at(sd->tmpfd, de->d_name) < 0)
			log_warn("remove %s/tmp/%s", sd->path, de->d_name);
	}
	closedir(d);
}

int
stage_recover(struct stage_dir *sd, int max_attempts)
{
	DIR *d;
	struct dirent *de;
	int fd = dup(sd->curfd), n = 0, r;

	if (fd < 0 || (d = fdopendir(fd)) == NULL) {
		log_warn("%s/cur", sd->path);
		if (fd >= 0)
			close(fd);
		return -1;
	}
	rewinddir(d);
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		r = recover_one(sd, de->d_name, max_attempts);
		if (r > 0)
			n++;
	}
	closedir(d);
	recover_tmp(sd);
	return n;
}
