/*
 * fail.c - an item that could not be processed (tmcwatch-spool(5), Failing).
 *
 * Temporary failures (a slot timeout, a failed fetch) go back to new/ with
 * the attempt count raised and not_before set, both kept in the ticket so
 * they survive restarts; the delay doubles per attempt. Permanent failures
 * and the last retry move the item to err/<id> with a "reason" file that a
 * person can read. Nothing is ever deleted here.
 *
 * A fault of the machine (errno_is_machine_fault: a full or read-only disk,
 * EIO, no descriptors or memory) is never the item's: item_fault() gives it
 * back untouched (no attempt counted, nothing written: writing is what
 * fails), and the caller retries it later. The reason is written inside the
 * item before it moves to err/, durably, so an err/ entry always has one:
 * when even that fails with a machine fault the item stays where it is.
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
/* The reason goes inside the item before it moves (an item folder), so no
 * err/ entry is ever without one. -1 with errno: a machine fault, the item
 * must not move yet. 1: not a folder (a stray file), write it afterwards. */
static int
reason_write_inside(int fromfd, const char *id, const char *line, size_t n)
{
	int fd = openat(fromfd, id, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC), r, e;

	if (fd < 0)
		return errno_is_machine_fault(errno) ? -1 : 1;
	r = file_publish_at(fd, "reason", line, n, true);
	e = errno;
	close(fd);
	errno = e;
	if (r < 0 && errno_is_machine_fault(e))
		return -1;
	return r < 0 ? 1 : 0;
}

static void
reason_write_beside(struct stage_dir *sd, const char *name, const char *line, size_t n)
{
	char rname[NAME_MAX + 1];

	snprintf(rname, sizeof(rname), "%.240s.reason", name);
	if (file_publish_at(sd->errfd, rname, line, n, true) < 0)
		log_warn("write reason for %s/err/%s", sd->path, name);
}

int
item_reject_at(struct stage_dir *sd, int fromfd, const char *id, const char *reason)
{
	char name[NAME_MAX + 1], line[REASON_MAX + 128];
	int n, inside;

	if (reason == NULL || *reason == '\0')
		n = snprintf(line, sizeof(line), "failed in %s (no reason was given)\n",
			     sd->label ? sd->label : sd->path);
	else
		n = snprintf(line, sizeof(line), "%s\n", reason);
	if (n >= (int)sizeof(line))
		n = (int)sizeof(line) - 1, line[n - 1] = '\n';
	if ((inside = reason_write_inside(fromfd, id, line, (size_t)n)) < 0) {
		fault_note_errno(errno, "write the reason of a failed item");
		log_warn("%s: %s: not moved to err/ before its reason is written; retried",
			 sd->path, id);
		return -1;
	}
	snprintf(name, sizeof(name), "%s", id);
	for (int i = 2; renameat2(fromfd, id, sd->errfd, name, RENAME_NOREPLACE) < 0; i++) {
		if (errno == ENOENT)
			return 0; /* someone else moved it */
		if ((errno != EEXIST && errno != ENOTEMPTY) || i > 1000) {
			if (errno_is_machine_fault(errno))
				fault_note_errno(errno, "move a failed item to err/");
			log_warn("move %s to %s/err", id, sd->path);
			return -1;
		}
		snprintf(name, sizeof(name), "%.200s.%d", id, i);
	}
	log_warnx("%s/err/%s: %.*s", sd->path, name, n - 1, line);
	if (inside == 0) { /* a folder: its worker may have left temps in output folders */
		int dfd = openat(sd->errfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

		if (dfd >= 0) {
			outfile_sweep_temps(dfd, id, sd->label ? sd->label : sd->path);
			close(dfd);
		}
	}
	if (inside > 0) /* not a folder (a stray file): keep the reason beside it */
		reason_write_beside(sd, name, line, (size_t)n);
	return 0;
}

int
item_giveback(struct stage_dir *sd, struct item *it)
{
	/* renamed while still locked: if the rename fails, the item stays ours
	 * (the caller retries), never unlocked in cur/ where recovery would
	 * charge it a death */
	if (renameat2(sd->curfd, it->id, sd->newfd, it->id, RENAME_NOREPLACE) < 0 &&
	    errno != ENOENT) {
		int e = errno;

		log_warn("return %s to new/", it->path);
		if (errno_is_machine_fault(e))
			fault_note_errno(e, "return an item to new/");
		errno = e;
		return -1;
	}
	close(it->lockfd);
	it->lockfd = -1;
	return 0;
}

int
item_fault(struct stage_dir *sd, struct item *it, int err, const char *what)
{
	fault_note_errno(err, what);
	return item_giveback(sd, it);
}

/* Back to new/ with the ticket rewritten. The lock is dropped before the
 * rename: a claimer woken by the rename must find the ticket unlocked, or it
 * would skip the item and nothing would wake it again. */
int
item_unclaim(struct stage_dir *sd, struct item *it)
{
	size_t len;
	char *text = ticket_format(&it->ticket, &len);
	/* durable: a ticket lost to a crash or a read-only remount must not
	 * come back empty (it would be the item's fault) */
	int r = file_publish_at(it->dirfd, "ticket", text, len, true);

	free(text);
	if (r < 0) {
		int e = errno;

		log_warn("rewrite %s/ticket", it->path);
		if (errno_is_machine_fault(e))
			fault_note_errno(e, "rewrite a ticket");
		errno = e;
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
item_fail(struct stage_dir *sd, struct item *it, bool temporary, int max_attempts, int retry_delay,
	  const char *reason)
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
