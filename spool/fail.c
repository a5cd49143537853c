/*
 * fail.c - an item that could not be processed (DESIGN.md, Failure).
 *
 * Temporary failures (ENOSPC, ENOMEM, a slot timeout) go back to new/ with
 * the attempt count raised and not_before set, both kept in the ticket so
 * they survive restarts; the delay doubles per attempt. Permanent failures
 * and the last retry move the item to err/<id> with a "reason" file that a
 * person can read. Nothing is ever deleted here.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "spool.h"

/* Move fromfd/<id> into err/, under <id>, or <id>.N when an earlier failure
 * of the same id is still there, and write its reason. */
int
item_reject_at(struct stage_dir *sd, int fromfd, const char *id, const char *reason)
{
	char name[NAME_MAX + 1], line[REASON_MAX + 64];
	int fd, n;

	snprintf(name, sizeof(name), "%s", id);
	for (int i = 2; renameat2(fromfd, id, sd->errfd, name, RENAME_NOREPLACE) < 0; i++) {
		if (errno == ENOENT)
			return 0; /* someone else moved it */
		if ((errno != EEXIST && errno != ENOTEMPTY) || i > 1000) {
			log_warn("move %s to %s/err", id, sd->path);
			return -1;
		}
		snprintf(name, sizeof(name), "%.200s.%d", id, i);
	}
	log_warnx("%s/err/%s: %s", sd->path, name, reason);
	n = snprintf(line, sizeof(line), "%s\n", reason);
	fd = openat(sd->errfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) /* not a folder (a stray file): keep the reason beside it */
		fd = dup(sd->errfd), snprintf(name + strlen(name), sizeof(name) - strlen(name), ".reason");
	else
		snprintf(name, sizeof(name), "reason");
	if (fd < 0 || file_publish_at(fd, name, line, (size_t)n, false) < 0)
		log_warn("write reason for %s/err/%s", sd->path, id);
	if (fd >= 0)
		close(fd);
	return 0;
}

/* Back to new/ with the ticket rewritten. The lock is dropped before the
 * rename: a claimer woken by the rename must find the ticket unlocked, or it
 * would skip the item and nothing would wake it again. */
int
item_unclaim(struct stage_dir *sd, struct item *it)
{
	size_t len;
	char *text = ticket_format(&it->ticket, &len);
	int r = file_publish_at(it->dirfd, "ticket", text, len, false);

	free(text);
	if (r < 0) {
		log_warn("rewrite %s/ticket", it->path);
		return -1;
	}
	close(it->lockfd);
	it->lockfd = -1;
	if (renameat2(sd->curfd, it->id, sd->newfd, it->id, RENAME_NOREPLACE) < 0 &&
	    errno != ENOENT) {
		log_warn("return %s to new/", it->path);
		return -1;
	}
	return 0;
}

static int
retry_later(struct stage_dir *sd, struct item *it, long long attempt, int retry_delay,
	    const char *reason)
{
	long long delay = retry_delay;

	for (long long i = 1; i < attempt && delay < 3600; i++)
		delay *= 2;
	ticket_setf(&it->ticket, "attempt", "%lld", attempt);
	ticket_setf(&it->ticket, "not_before", "%lld", (long long)(now_s_real() + delay));
	ticket_set(&it->ticket, "last_error", reason);
	if (item_unclaim(sd, it) < 0)
		return -1;
	log_warnx("%s: attempt %lld failed, retry in %llds: %s", it->path, attempt, delay, reason);
	return 0;
}

int
item_fail(struct stage_dir *sd, struct item *it, bool temporary, int max_attempts,
	  int retry_delay, const char *reason)
{
	long long attempt = ticket_get_ll(&it->ticket, "attempt", 0) + 1;
	char why[REASON_MAX + 64];

	if (temporary && attempt < max_attempts)
		return retry_later(sd, it, attempt, retry_delay, reason);
	if (temporary)
		snprintf(why, sizeof(why), "%s (gave up after %lld attempts)", reason, attempt);
	else
		snprintf(why, sizeof(why), "%s", reason);
	return item_reject_at(sd, sd->curfd, it->id, why);
}
