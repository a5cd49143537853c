/*
 * requeue.c - the operator's hands on failed items (tmcwatch requeue and
 * purge): err/<name> back to new/ with a fresh count, or removed.
 *
 * Requeue, safe while the stage runs (an item in err/ has no holder; its
 * ticket's flock is taken anyway, so an item a worker is still putting
 * there, before its reason is written, is left alone):
 *  1. refuse when new/<id> or cur/<id> exists (the same original is there);
 *  2. rewrite the ticket without attempt, not_before, last_error and
 *     first_try (temporary name, rename, fsync): a kill here leaves a
 *     failed item with its reason and a fresh ticket, which is harmless;
 *  3. renameat2 err/<name> -> new/<id> RENAME_NOREPLACE (workers learn of
 *     it by inotify, as of any arrival);
 *  4. remove the old reason file as new/<id>/reason (a kill before leaves
 *     it inside a waiting item, where no worker looks; a new failure
 *     replaces it), fsync new/.
 * The reason goes last, so that an item in err/ always keeps one.
 * Purge renames err/<name> into tmp/ as "~..." and removes it there, like
 * a finished item, so no half-removed item is ever seen in err/.
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

static const char *const reset_keys[] = {"attempt", "not_before", "last_error", "first_try"};

/* err/<name>, its ticket locked (no holder), parsed into t. 0, or 1 with why. */
static int
failed_open(struct stage_dir *sd, const char *name, int *itemfd, int *lockfd, struct ticket *t,
	    char *why, size_t wlen)
{
	char perr[128], *text = NULL;
	size_t len;

	*lockfd = -1;
	if ((*itemfd = openat(sd->errfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) <
	    0) {
		snprintf(why, wlen, "%s/err/%s: %s", sd->path, name, strerror(errno));
		return 1;
	}
	*lockfd = openat(*itemfd, "ticket", O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (*lockfd >= 0 && flock(*lockfd, LOCK_EX | LOCK_NB) < 0) {
		snprintf(why, wlen, "%s/err/%s: a worker still holds it; try again", sd->path,
			 name);
		return 1;
	}
	if (*lockfd < 0 || (text = file_read_at(*itemfd, "ticket", 1 << 20, &len)) == NULL) {
		snprintf(why, wlen, "%s/err/%s/ticket: %s (purge it)", sd->path, name,
			 strerror(errno));
		return 1;
	}
	if (ticket_parse(t, text, len, perr, sizeof(perr)) < 0) {
		snprintf(why, wlen, "%s/err/%s/ticket: %s (fix or purge it)", sd->path, name, perr);
		free(text);
		return 1;
	}
	free(text);
	return 0;
}

static int
requeue_move(struct stage_dir *sd, int itemfd, const char *name, const char *id, struct ticket *t,
	     char *why, size_t wlen)
{
	char path[ITEM_ID_MAX + 8], *text;
	struct stat st;
	size_t len;
	int r;

	if (fstatat(sd->newfd, id, &st, AT_SYMLINK_NOFOLLOW) == 0 ||
	    fstatat(sd->curfd, id, &st, AT_SYMLINK_NOFOLLOW) == 0) {
		snprintf(why, wlen, "%s/err/%s: an item %s is already in %s/", sd->path, name, id,
			 fstatat(sd->newfd, id, &st, AT_SYMLINK_NOFOLLOW) == 0 ? "new" : "cur");
		return 0;
	}
	for (size_t i = 0; i < sizeof(reset_keys) / sizeof(*reset_keys); i++)
		ticket_unset(t, reset_keys[i]);
	text = ticket_format(t, &len);
	r = file_publish_at(itemfd, "ticket", text, len, true);
	free(text);
	if (r < 0) {
		snprintf(why, wlen, "%s/err/%s/ticket: %s", sd->path, name, strerror(errno));
		return -1;
	}
	if (renameat2(sd->errfd, name, sd->newfd, id, RENAME_NOREPLACE) < 0) {
		r = errno;
		snprintf(why, wlen, "%s/err/%s -> new/%s: %s", sd->path, name, id,
			 r == EEXIST || r == ENOTEMPTY ? "an item of that id arrived meanwhile"
						       : strerror(r));
		return r == EEXIST || r == ENOTEMPTY || r == ENOENT ? 0 : -1;
	}
	/* by path: once a worker has claimed it, it is the worker's (a new
	 * failure writes a new reason, which must stay) */
	snprintf(path, sizeof(path), "%s/reason", id);
	if (unlinkat(sd->newfd, path, 0) < 0 && errno != ENOENT)
		log_warn("%s/new/%s", sd->path, path);
	if (fsync(sd->newfd) < 0)
		log_warn("%s/new: fsync", sd->path);
	snprintf(why, wlen, "%s/err/%s -> new/%s", sd->path, name, id);
	return 1;
}

int
item_requeue(struct stage_dir *sd, const char *name, char *why, size_t wlen)
{
	struct ticket t = {0};
	const char *id;
	int itemfd, lockfd, r;

	if (!id_valid(name)) {
		snprintf(why, wlen, "%s/err/%s: not an item name", sd->path, name);
		return 0;
	}
	r = failed_open(sd, name, &itemfd, &lockfd, &t, why, wlen);
	if (r == 0) {
		/* err/<id>.N (a second failure of that id) goes back as <id> */
		id = ticket_get(&t, "id");
		r = requeue_move(sd, itemfd, name, id && id_valid(id) ? id : name, &t, why, wlen);
	} else {
		r = 0;
	}
	ticket_free(&t);
	if (lockfd >= 0)
		close(lockfd);
	if (itemfd >= 0)
		close(itemfd);
	return r;
}

int
item_purge(struct stage_dir *sd, const char *name, char *why, size_t wlen)
{
	static unsigned seq;
	char trash[NAME_MAX + 1];
	int lockfd = -1, itemfd, r;

	if (!id_valid(name)) {
		snprintf(why, wlen, "%s/err/%s: not an item name", sd->path, name);
		return 0;
	}
	itemfd = openat(sd->errfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (itemfd >= 0 &&
	    (lockfd = openat(itemfd, "ticket", O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) >= 0 &&
	    flock(lockfd, LOCK_EX | LOCK_NB) < 0) {
		snprintf(why, wlen, "%s/err/%s: a worker still holds it; try again", sd->path,
			 name);
		close(lockfd);
		close(itemfd);
		return 0;
	}
	snprintf(trash, sizeof(trash), "~%.200s.%d.%u", name, (int)getpid(), seq++);
	r = renameat(sd->errfd, name, sd->tmpfd, trash) < 0 ? errno : 0;
	if (lockfd >= 0)
		close(lockfd);
	if (itemfd >= 0)
		close(itemfd);
	if (r) {
		snprintf(why, wlen, "%s/err/%s: %s", sd->path, name, strerror(r));
		return r == ENOENT ? 0 : -1;
	}
	if (rmtree_at(sd->tmpfd, trash) < 0)
		log_warn("%s/tmp/%s: remove (recovery removes it)", sd->path, trash);
	/* a stray file's reason lies beside it */
	snprintf(trash, sizeof(trash), "%.200s.reason", name);
	unlinkat(sd->errfd, trash, 0);
	snprintf(why, wlen, "%s/err/%s removed", sd->path, name);
	return 1;
}
