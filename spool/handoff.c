/*
 * handoff.c - finishing an item: the commit, delivery and removal.
 *
 * One successor (a chain, the common case): the item itself moves on.
 *  1. only when the successor's ticket differs from the item's (the item
 *     was retried here: attempt, not_before and last_error are dropped), it
 *     is written as ticket.next inside the item, fsynced;
 *  2. commit: rename cur/<id> -> <successor>/tmp/<id>. Before it, a crash
 *     redoes the step; after it, the step is over;
 *  3. finalize (stage_finalize, also run by recovery, idempotent):
 *     ticket -> ticket.spare, ticket.next -> ticket (when there is one),
 *     next.* -> pixels.*, then tmp/<id> -> new/<id>.
 * A ticket names no step (the stage folder does), so the usual chain
 * handoff writes nothing: two renames, no fsync, no inode allocated or
 * block freed. A ticket.next that is written overwrites ticket.spare when
 * the item has one: on ext4 without a journal every allocation walks past
 * each inode of the group freed in the last minutes (ext4's
 * recently_deleted).
 * In a stage's tmp/ a name that is a valid id is therefore always a
 * committed handoff; temporary names start with '+' (publish) or '~'
 * (finished items being removed), characters no id has.
 *
 * Carried on (item_handon, tmcwatch-spool(5) "Carrying an item on"): the
 * same three steps, but the lock is kept across the commit (the item's own,
 * or a written ticket.next's, flocked before it) and the finalize ends in
 * the successor's cur/ instead of new/: the item stays
 * claimed by this process, which runs the successor's step next. The one
 * rule that makes it safe is the claim's: a locked ticket is a live
 * holder's, so stage_finalize leaves a tmp/<id> whose ticket is locked.
 *
 * Several successors: exactly-once across crashes, in three steps:
 *  1. stage: successors are built inside the claimed item, in
 *     out.tmp/<successor's stage folder name>/ (ticket, and pixels
 *     hard-linked from the item's next.* files as pixels.*);
 *  2. commit: rename out.tmp -> out. Before it, a crash redoes the step
 *     (outputs are rewritten with the same bytes); after it, the step is
 *     never redone: a claim that finds out/ only delivers;
 *  3. deliver: each out/<stage> is renamed into that sibling stage's
 *     new/<id>. A rename
 *     either happened or not, so a successor is delivered exactly once.
 * Then item_finish() moves cur/<id> into tmp/ and removes it there, so
 * recovery never sees a half-removed item.
 *
 * Durability: a fan-out's tickets (out.tmp/<stage>/ticket) are fsynced
 * before out.tmp -> out, and so is a chain's ticket.next: without that
 * fsync, 79-fault-remount-ro.t found (once in five runs) an item whose
 * ticket was empty after the disk failed. A chain handoff that writes no
 * ticket.next has nothing to fsync: the ticket it moves on with was
 * fsynced by its publisher (or by the handoff that last rewrote it). An
 * empty ticket.next found at finalize (a file system that lost its bytes)
 * is dropped and the item goes on with its previous ticket. The pixels
 * handed on were fsynced by the step that wrote them.
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
#include <unistd.h>

#include "spool.h"

/* Hand the item's next.* files on as pixels.* in dstfd: hard links for a
 * fan-out (the item keeps its own), renames when the item itself moves on
 * (dstfd is the item). Missing names are already done (a redo). */
static int
pass_pixels(int itemfd, int dstfd, bool move)
{
	DIR *d;
	struct dirent *de;
	char to[NAME_MAX + 1];
	int fd, r = 0;

	if ((fd = dup(itemfd)) < 0 || (d = fdopendir(fd)) == NULL) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	rewinddir(d);
	while ((de = readdir(d)) != NULL && r == 0) {
		if (strncmp(de->d_name, "next.", 5) != 0)
			continue;
		snprintf(to, sizeof(to), "pixels.%s", de->d_name + 5);
		if (move ? renameat(itemfd, de->d_name, dstfd, to) < 0 && errno != ENOENT
			 : linkat(itemfd, de->d_name, dstfd, to, 0) < 0 && errno != EEXIST)
			r = -1;
	}
	closedir(d);
	return r;
}

/* out.tmp is private to the claim holder until the commit, so files in it
 * are written in place, without temp names. */
static int
write_new_at(int dirfd, const char *name, const char *buf, size_t len)
{
	int fd = openat(dirfd, name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644);
	int r;

	if (fd < 0)
		return -1;
	r = write_all(fd, buf, len);
	if (r == 0 && fsync(fd) < 0)
		r = -1;
	if (close(fd) < 0)
		r = -1;
	return r;
}

/* The entry is named after the successor's stage folder ("01-Preview"), a
 * sibling of ours: that is all delivery needs to know. */
static int
stage_successor(struct item *it, int outfd, const struct successor *s, bool pixels)
{
	const char *name = strrchr(s->sd->path, '/') + 1;
	char *text;
	size_t len;
	int fd, r = -1;

	if (mkdirat(outfd, name, 0755) < 0)
		return -1;
	if ((fd = openat(outfd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return -1;
	text = ticket_format(&s->ticket, &len);
	if (write_new_at(fd, "ticket", text, len) == 0 &&
	    (!pixels || pass_pixels(it->dirfd, fd, false) == 0))
		r = 0;
	free(text);
	close(fd);
	return r;
}

/* ticket.next becomes the ticket; the old ticket is kept as ticket.spare
 * (two renames: a finalize cut between them finds no ticket and goes on
 * with the second). One found empty is what a power cut left of a write
 * that never reached the disk: it is dropped and the item goes on with the
 * ticket it had (back from ticket.spare if the cut came between the two
 * renames), which names the same original and origin. */
static int
ticket_next_in(int fd)
{
	struct stat st;

	if (fstatat(fd, "ticket.next", &st, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? 0 : -1; /* ENOENT: done before (a redo) */
	if (st.st_size == 0 && (faccessat(fd, "ticket", F_OK, AT_SYMLINK_NOFOLLOW) == 0 ||
				renameat(fd, "ticket.spare", fd, "ticket") == 0)) {
		log_warnx("an empty ticket.next (a power cut before it was on disk): the item "
			  "keeps its previous ticket");
		return unlinkat(fd, "ticket.next", 0) < 0 && errno != ENOENT ? -1 : 0;
	}
	if (renameat(fd, "ticket", fd, "ticket.spare") < 0 && errno != ENOENT)
		return -1;
	return renameat(fd, "ticket.next", fd, "ticket") < 0 && errno != ENOENT ? -1 : 0;
}

/* Is the committed handoff tmp/<id> (folder fd) carried on by a live
 * process? It holds the flock of its ticket (ticket.next until renamed). */
static bool
finalize_held(int fd)
{
	int lfd = openat(fd, "ticket.next", O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
	bool held;

	if (lfd < 0)
		lfd = openat(fd, "ticket", O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
	if (lfd < 0)
		return false;
	held = flock(lfd, LOCK_SH | LOCK_NB) < 0 && errno == EWOULDBLOCK;
	close(lfd);
	return held;
}

/* The renames inside tmp/<id>, then tmp/<id> -> destfd/<id>. The holder
 * (owner true) carries it into cur/; anyone else leaves a held one alone. */
static int
finalize_into(struct stage_dir *sd, const char *id, bool pixels, int destfd, bool owner)
{
	int fd = openat(sd->tmpfd, id, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	int r = 0;

	if (fd < 0) {
		if (errno == ENOENT)
			return 0; /* finalized by someone else */
		log_warn("finalize %s/tmp/%s", sd->path, id);
		return -1;
	}
	if (!owner && finalize_held(fd)) {
		close(fd);
		return 0; /* a live worker carries it on into cur/ */
	}
	if (ticket_next_in(fd) < 0)
		r = -1;
	if (r == 0 && pixels && pass_pixels(fd, fd, true) < 0)
		r = -1;
	int e = errno;

	close(fd);
	errno = e;
	if (r == 0 && renameat2(sd->tmpfd, id, destfd, id, RENAME_NOREPLACE) < 0) {
		if (errno == ENOENT)
			return 0;
		if (errno == EEXIST || errno == ENOTEMPTY)
			return item_reject_at(sd, sd->tmpfd, id,
					      "an item of the same id is already in new/");
		r = -1;
	}
	if (r < 0) {
		e = errno;
		log_warn("finalize %s/tmp/%s", sd->path, id);
		if (errno_is_machine_fault(e))
			fault_note_errno(e, "finalize a handoff");
		errno = e;
	}
	return r;
}

int
stage_finalize(struct stage_dir *sd, const char *id, bool pixels)
{
	return finalize_into(sd, id, pixels, sd->newfd, false);
}

int
stage_finalize_own(struct stage_dir *sd, const char *id, bool pixels)
{
	return finalize_into(sd, id, pixels, sd->newfd, true);
}

/* ticket.next, made of ticket.spare when the item has one (see the top of
 * this file), else a new file. Reused, it is an inode that was a ticket
 * in new/ before: a worker that opened it there may still hold its flock
 * for a moment, so a carried item (keep) that cannot lock it writes a new
 * one instead. */
static int
ticket_next_open(struct item *it, bool reuse)
{
	int flags = O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW;

	if (reuse)
		(void)renameat(it->dirfd, "ticket.spare", it->dirfd, "ticket.next");
	else if (unlinkat(it->dirfd, "ticket.next", 0) < 0 && errno != ENOENT)
		return -1;
	return openat(it->dirfd, "ticket.next", reuse ? flags : flags | O_EXCL, 0644);
}

/* ticket.next, written and fsynced before the commit publishes it (see
 * ticket_next_in); with keep, its descriptor stays open and flocked. */
static int
write_ticket_next(struct item *it, struct successor *s, bool keep)
{
	size_t len;
	char *text = ticket_format(&s->ticket, &len);
	bool reuse = true;
	int fd, r;

again:
	fd = ticket_next_open(it, reuse);
	r = fd < 0 ? -1 : write_all(fd, text, len);
	/* fsynced again: without it 79-fault-remount-ro.t found, once in five
	 * runs, an item whose ticket was empty after the disk failed */
	if (r == 0 && fsync(fd) < 0)
		r = -1;
	if (r == 0 && keep && flock(fd, LOCK_EX | LOCK_NB) < 0) {
		if (errno == EWOULDBLOCK && reuse) {
			close(fd);
			reuse = false;
			goto again;
		}
		r = -1;
	}
	free(text);
	if (fd >= 0 && (r < 0 || !keep)) {
		int e = errno;

		if (close(fd) < 0)
			r = -1;
		else if (r < 0)
			errno = e;
		fd = -1;
	}
	return r < 0 ? -1 : keep ? fd : 0;
}

/* The same ticket: a ticket.next left by an earlier attempt whose commit
 * failed goes, so the finalize cannot take it for this handoff's. */
static int
drop_ticket_next(struct item *it)
{
	return unlinkat(it->dirfd, "ticket.next", 0) < 0 && errno != ENOENT ? -1 : 0;
}

static int
handoff_move(struct stage_dir *sd, struct item *it, struct successor *s, bool pixels)
{
	int r = s->same ? drop_ticket_next(it) : write_ticket_next(it, s, false);

	if (r < 0 || renameat2(sd->curfd, it->id, s->sd->tmpfd, it->id, RENAME_NOREPLACE) < 0) {
		log_warn("handoff %s to %s", it->path, s->sd->path);
		return -1;
	}
	failpoint("after-commit");
	/* the lock goes first, so a worker woken by the arrival finds the
	 * ticket free */
	close(it->lockfd);
	it->lockfd = -1;
	/* committed: whatever happens now, the caller retries the finalize
	 * (and recovery would finish it). Ours: nobody carries it on, so a
	 * lock on the reused ticket.next is a passing one, not a holder's. */
	if (stage_finalize_own(s->sd, it->id, pixels) < 0) {
		log_warnx("%s/tmp/%s: finalize pending, retried", s->sd->path, it->id);
		return 2;
	}
	return 0;
}

/* Is cur/<id>/ticket of the successor the inode lockfd holds? 1 yes, 0
 * another (not ours to touch), -1 cannot tell. */
static int
handon_ours(struct successor *s, const char *id, int lockfd)
{
	char path[NAME_MAX + 16];
	struct stat a, b;

	snprintf(path, sizeof(path), "%s/ticket", id);
	if (fstat(lockfd, &a) < 0 || fstatat(s->sd->curfd, path, &b, AT_SYMLINK_NOFOLLOW) < 0)
		return -1;
	return a.st_ino == b.st_ino && a.st_dev == b.st_dev;
}

/* The carried item could not be opened (EMFILE...): while its lock is still
 * ours, cur/<id> goes back to new/<id>, so a worker of that stage claims it
 * as any delivered item; released in cur/, nobody would until the next
 * recovery (a supervisor start). */
static void
handon_return(struct successor *s, const char *id)
{
	if (renameat2(s->sd->curfd, id, s->sd->newfd, id, RENAME_NOREPLACE) < 0)
		log_warn("carry %s/cur/%s on: back to new/", s->sd->path, id);
	else
		log_warnx("%s/cur/%s: not carried on, delivered to new/", s->sd->path, id);
}

/* The carried item in the successor's cur/, claimed by lockfd: the same
 * fields item_claim fills. 0, or -1 when it cannot be opened (then it is
 * delivered to new/ instead) or cur/<id>/ticket is not our inode. */
static int
handon_open(struct successor *s, const char *id, int lockfd, struct item *next)
{
	memset(next, 0, sizeof(*next));
	snprintf(next->id, sizeof(next->id), "%s", id);
	next->lockfd = lockfd;
	next->path = xasprintf("%s/cur/%s", s->sd->path, id);
	next->dirfd = openat(s->sd->curfd, id, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (next->dirfd < 0 || handon_ours(s, id, lockfd) != 1) {
		log_warn("carry %s on", next->path);
		if (next->dirfd < 0 && handon_ours(s, id, lockfd) == 1)
			handon_return(s, id);
		item_release(next);
		return -1;
	}
	ticket_copy(&next->ticket, &s->ticket);
	return 0;
}

int
item_handon(struct stage_dir *sd, struct item *it, struct successor *s, bool pixels,
	    struct item *next)
{
	/* the same ticket: the item's own lock goes on with it */
	int lockfd = s->same ? (drop_ticket_next(it) < 0 ? -1 : it->lockfd)
			     : write_ticket_next(it, s, true);

	next->dirfd = next->lockfd = -1;
	if (lockfd < 0 ||
	    renameat2(sd->curfd, it->id, s->sd->tmpfd, it->id, RENAME_NOREPLACE) < 0) {
		int e = errno;

		log_warn("handoff %s to %s", it->path, s->sd->path);
		if (lockfd >= 0 && lockfd != it->lockfd)
			close(lockfd);
		errno = e;
		return -1;
	}
	failpoint("handon-committed");
	if (lockfd != it->lockfd)
		close(it->lockfd);
	it->lockfd = -1;
	if (finalize_into(s->sd, it->id, pixels, s->sd->curfd, true) < 0) {
		close(lockfd); /* no longer held: a finalize (ours, recovery's) puts it in new/ */
		log_warnx("%s/tmp/%s: finalize pending, retried", s->sd->path, it->id);
		return 2;
	}
	if (handon_open(s, it->id, lockfd, next) < 0)
		return 1;
	failpoint("handon-claimed");
	return 0;
}

int
item_handoff(struct stage_dir *sd, struct item *it, struct successor *succ, size_t n, bool pixels)
{
	int outfd;

	if (n == 1)
		return handoff_move(sd, it, &succ[0], pixels);
	if (n == 0) /* the last step: moving out of cur/ is the commit */
		return item_finish(sd, it);

	if (rmtree_at(it->dirfd, "out.tmp") < 0 || mkdirat(it->dirfd, "out.tmp", 0755) < 0)
		goto fail;
	outfd = openat(it->dirfd, "out.tmp", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (outfd < 0)
		goto fail;
	for (size_t k = 0; k < n; k++) {
		if (stage_successor(it, outfd, &succ[k], pixels) < 0) {
			close(outfd);
			goto fail;
		}
	}
	close(outfd);
	if (renameat(it->dirfd, "out.tmp", it->dirfd, "out") < 0)
		goto fail;
	failpoint("after-commit");
	return item_deliver(sd, it);
fail:
	log_warn("handoff %s", it->path);
	return -1;
}

bool
item_committed(const struct item *it)
{
	struct stat st;

	return fstatat(it->dirfd, "out", &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode);
}

static int
deliver_one(struct stage_dir *sd, struct item *it, int outfd, const char *k)
{
	char path[PATH_MAX + 8];
	const char *slash = strrchr(sd->path, '/');
	int destfd, r;

	snprintf(path, sizeof(path), "%.*s/%s/new", (int)(slash - sd->path), sd->path, k);
	destfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (destfd < 0) {
		log_warn("successor stage %s", path);
		return -1;
	}
	r = renameat2(outfd, k, destfd, it->id, RENAME_NOREPLACE);
	if (r < 0 && (errno == EEXIST || errno == ENOTEMPTY)) {
		log_warnx("%s/%s already exists; dropping the duplicate handoff", path, it->id);
		r = rmtree_at(outfd, k);
	} else if (r < 0) {
		log_warn("deliver %s/out/%s to %s", it->path, k, path);
	}
	close(destfd);
	return r;
}

int
item_deliver(struct stage_dir *sd, struct item *it)
{
	failpoint("before-deliver");
	DIR *d;
	struct dirent *de;
	int fd, r = 0;

	fd = openat(it->dirfd, "out", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 || (d = fdopendir(fd)) == NULL) {
		log_warn("%s/out", it->path);
		if (fd >= 0)
			close(fd);
		return -1;
	}
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		if (deliver_one(sd, it, dirfd(d), de->d_name) < 0)
			r = -1;
	}
	closedir(d);
	if (r < 0)
		return -1;
	return item_finish(sd, it);
}

int
item_finish(struct stage_dir *sd, struct item *it)
{
	char trash[NAME_MAX + 1];

	static unsigned seq;

	snprintf(trash, sizeof(trash), "~%s.%d.%u", it->id, (int)getpid(), seq++);
	if (renameat(sd->curfd, it->id, sd->tmpfd, trash) < 0) {
		log_warn("finish %s", it->path);
		return -1;
	}
	/* out of cur/, the lock protects nothing: dropped now, so the next
	 * item made of this folder (recycle.c) finds its ticket free */
	if (it->lockfd >= 0)
		close(it->lockfd);
	it->lockfd = -1;
	if (recycle_put(sd, sd->tmpfd, trash, it->dirfd))
		return 0;
	/* the usual leftovers first, without reading the folder */
	if (it->dirfd >= 0) {
		unlinkat(it->dirfd, "ticket", 0);
		unlinkat(it->dirfd, "ticket.spare", 0);
		unlinkat(it->dirfd, "out", AT_REMOVEDIR);
	}
	if (unlinkat(sd->tmpfd, trash, AT_REMOVEDIR) == 0)
		return 0;
	if (rmtree_at(sd->tmpfd, trash) < 0)
		log_warn("remove %s/tmp/%s", sd->path, trash);
	return 0;
}
