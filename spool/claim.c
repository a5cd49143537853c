/*
 * claim.c - taking an item from new/ (tmcwatch-spool(5), Claiming).
 *
 * 1. open new/<id>/ticket O_NOFOLLOW; 2. flock(LOCK_EX|LOCK_NB): another
 * worker holding it means "not ours"; 3. renameat2(new/<id>, cur/<id>,
 * RENAME_NOREPLACE): ENOENT means another worker won. The lock belongs to the
 * ticket's inode, survives the rename and is held until item_release(), so
 * recovery (recover.c) can tell a live claim from a dead one without pids.
 *
 * A fault of the machine anywhere here (EIO on the rename, no descriptor
 * left, a ticket that cannot be read) is never the item's: it stays in (or
 * goes back to) new/ and item_claim returns -1 with errno, so the caller
 * tries it again later. An empty ticket is named as such in err/.
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

#define TICKET_MAX (1 << 20)

/* An item in new/ with no ticket is malformed (items are built complete in
 * tmp/); whoever renames it out of new/ first reports it. */
static int
claim_ticketless(struct stage_dir *sd, const char *id)
{
	struct stat st;

	if (fstatat(sd->newfd, id, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return 0;
	if (!S_ISDIR(st.st_mode))
		return item_reject_at(sd, sd->newfd, id, "not an item directory") < 0 ? -1 : 0;
	return item_reject_at(sd, sd->newfd, id, "item has no ticket") < 0 ? -1 : 0;
}

static int
ticket_load_fd(int fd, struct ticket *t, char *reason, size_t rlen)
{
	struct stat st;
	char *buf;
	ssize_t n;
	int r;

	if (fstat(fd, &st) < 0) {
		snprintf(reason, rlen, "ticket: %s", strerror(errno));
		return errno_is_machine_fault(errno) ? -2 : -1;
	}
	if (!S_ISREG(st.st_mode) || st.st_size > TICKET_MAX) {
		snprintf(reason, rlen, "ticket is not a regular file under 1 MiB");
		return -1;
	}
	if (st.st_size == 0) {
		snprintf(reason, rlen,
			 "ticket is empty (it was lost in a crash or a file system "
			 "error before it was on disk): its origin must submit the file again");
		return -1;
	}
	buf = xmalloc((size_t)st.st_size + 1);
	n = pread(fd, buf, (size_t)st.st_size, 0);
	if (n != st.st_size) {
		int e = n < 0 ? errno : 0;

		snprintf(reason, rlen, "ticket read: %s", n < 0 ? strerror(e) : "short read");
		free(buf);
		errno = e;
		return n < 0 && errno_is_machine_fault(e) ? -2 : -1;
	}
	r = ticket_parse(t, buf, (size_t)n, reason, rlen);
	free(buf);
	return r;
}

/* A machine fault after the rename into cur/: back to new/ under the lock,
 * then -1 with errno so the caller retries the id later. */
static int
claim_giveback(struct stage_dir *sd, struct item *it, int err, const char *what)
{
	if (it->lockfd >= 0 && item_fault(sd, it, err, what) < 0)
		log_warnx("%s: left in cur/; recovery returns it", it->path);
	item_release(it);
	errno = err;
	return -1;
}

static int
claim_finish(struct stage_dir *sd, const char *id, struct item *it, int lockfd, int64_t *due_s)
{
	char reason[REASON_MAX];
	int64_t nb;
	int r;

	memset(it, 0, sizeof(*it));
	snprintf(it->id, sizeof(it->id), "%s", id);
	it->lockfd = lockfd;
	it->path = xasprintf("%s/cur/%s", sd->path, id);
	it->dirfd = openat(sd->curfd, id, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (it->dirfd < 0) {
		int e = errno;

		if (e == ELOOP || e == ENOTDIR) {
			item_release(it);
			return item_reject_at(sd, sd->curfd, id,
					      "item is a symlink, not a folder") < 0
				       ? -1
				       : 0;
		}
		log_warn("%s/cur/%s", sd->path, id);
		return claim_giveback(sd, it, e, "open a claimed item");
	}
	if ((r = ticket_load_fd(lockfd, &it->ticket, reason, sizeof(reason))) < 0) {
		int e = errno;

		log_warnx("%s: %s", it->path, reason);
		if (r == -2)
			return claim_giveback(sd, it, e, "read a ticket");
		r = item_fail(sd, it, false, 0, 0, reason) < 0
			    ? claim_giveback(sd, it, errno, "reject an item")
			    : 0;
		item_release(it);
		return r;
	}
	nb = ticket_get_ll(&it->ticket, "not_before", 0);
	if (nb > now_s_real()) {
		/* the ticket is unchanged: nothing to rewrite (and nothing that a
		 * full disk could refuse) */
		if (item_giveback(sd, it) < 0)
			return claim_giveback(sd, it, errno, "return a deferred item");
		*due_s = nb;
		item_release(it);
		return 2;
	}
	return 1;
}

int
item_claim(struct stage_dir *sd, const char *id, struct item *it, int64_t *due_s)
{
	char path[NAME_MAX + 16];
	int fd;

	if (!id_valid(id))
		return item_reject_at(sd, sd->newfd, id, "invalid item name") < 0 ? -1 : 0;
	snprintf(path, sizeof(path), "%s/ticket", id);
	fd = openat(sd->newfd, path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0) {
		if (errno == ENOENT)
			return claim_ticketless(sd, id);
		if (errno == ELOOP || errno == ENOTDIR)
			return item_reject_at(sd, sd->newfd, id,
					      "ticket is a symlink or not in a folder") < 0
				       ? -1
				       : 0;
		int e = errno;

		log_warn("%s/new/%s", sd->path, path);
		if (errno_is_machine_fault(e))
			fault_note_errno(e, "open a ticket");
		errno = e;
		return -1;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		/* another worker holds it in new/: claiming it (then it is gone
		 * in a moment), or giving it back (item_giveback renames it
		 * while locked, and its event has come and gone): look again in
		 * a second, or an item given back by a worker that will not take
		 * it again (tmc-remote declining) would wait for a rescan */
		close(fd);
		*due_s = now_s_real() + 1;
		return 2;
	}
	if (renameat2(sd->newfd, id, sd->curfd, id, RENAME_NOREPLACE) < 0) {
		int e = errno;

		close(fd);
		if (e == ENOENT)
			return 0;
		if (e == EEXIST || e == ENOTEMPTY)
			return item_reject_at(sd, sd->newfd, id,
					      "an item of the same id is already in cur/") < 0
				       ? -1
				       : 0;
		errno = e;
		log_warn("claim %s/new/%s", sd->path, id);
		if (errno_is_machine_fault(e))
			fault_note_errno(e, "claim an item");
		errno = e;
		return -1;
	}
	return claim_finish(sd, id, it, fd, due_s);
}

void
item_release(struct item *it)
{
	if (it->dirfd >= 0)
		close(it->dirfd);
	if (it->lockfd >= 0)
		close(it->lockfd);
	it->dirfd = it->lockfd = -1;
	ticket_free(&it->ticket);
	xfree(&it->path);
}
