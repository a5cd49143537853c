/*
 * publish.c - new items from outside the pipeline (jobs, watches, tests).
 *
 * The item is built complete in the stage's tmp/ and renamed into new/ with
 * RENAME_NOREPLACE, so a reader never sees half an item and a repeated
 * publish of the same deterministic id never replaces one. An id already in
 * cur/ (being worked on), or in tmp/ as a committed handoff about to enter
 * new/, counts as present too (item_present). Stage-to-stage handoff does
 * not come here: it moves committed items (handoff.c), which is exactly-once.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "spool.h"

static unsigned publish_counter;

bool
item_present(const struct stage_dir *sd, const char *id)
{
	struct stat st;

	return fstatat(sd->newfd, id, &st, AT_SYMLINK_NOFOLLOW) == 0 ||
	       fstatat(sd->curfd, id, &st, AT_SYMLINK_NOFOLLOW) == 0 ||
	       (id_valid(id) && fstatat(sd->tmpfd, id, &st, AT_SYMLINK_NOFOLLOW) == 0);
}

int
item_publish(struct stage_dir *sd, const char *id, const struct ticket *t, bool durable)
{
	char tmp[NAME_MAX + 1];
	size_t len;
	char *text;
	int fd = -1, r = -1;

	if (!id_valid(id))
		fatalx("item_publish: invalid id \"%s\"", id);
	/* present: maybe published by a process that died before its fsync */
	if (item_present(sd, id)) {
		if (durable && fsync(sd->newfd) < 0) {
			log_warn("fsync %s/new", sd->path);
			return -1;
		}
		return 0;
	}
	/* '+' starts no id: recovery tells a half-built item from a handoff */
	snprintf(tmp, sizeof(tmp), "+%s.%d.%u", id, (int)getpid(), publish_counter++);
	if (mkdirat(sd->tmpfd, tmp, 0755) < 0) {
		log_warn("%s/tmp/%s", sd->path, tmp);
		return -1;
	}
	fd = openat(sd->tmpfd, tmp, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	text = ticket_format(t, &len);
	/* the ticket's bytes are on disk before the rename names the item,
	 * always: after a crash of the machine or a file system error an item
	 * is there whole or not at all (its origin re-drives a missing one),
	 * never there with an empty ticket that nobody could redo. "durable"
	 * adds the folder's fsync: the item itself survives. */
	if (fd < 0 || file_publish_at(fd, "ticket", text, len, true) < 0) {
		log_warn("%s/tmp/%s/ticket", sd->path, tmp);
		goto out;
	}
	if (renameat2(sd->tmpfd, tmp, sd->newfd, id, RENAME_NOREPLACE) < 0) {
		if (errno == EEXIST || errno == ENOTEMPTY) {
			r = 0;
			goto out;
		}
		log_warn("publish %s/new/%s", sd->path, id);
		goto out;
	}
	if (durable && fsync(sd->newfd) < 0) {
		log_warn("fsync %s/new", sd->path);
		goto out_published;
	}
	r = 1;
	goto out_published;
out:
	rmtree_at(sd->tmpfd, tmp);
out_published:
	if (fd >= 0)
		close(fd);
	free(text);
	return r;
}
