/*
 * pubbatch.c - publishing many new items with one sync (tmcwatch-spool(5),
 * Publishing).
 *
 * item_publish() pays two or three fsyncs per item (the ticket, its folder,
 * new/), and they serialize: a publisher of thousands of items is bounded
 * by them. A batch builds each item in tmp/ exactly as item_publish does
 * ("+<id>.<pid>.<n>" with its ticket), but writes the ticket in place and
 * syncs nothing: the '+' folder is private until its rename, as out.tmp is
 * in handoff.c. The flush then makes all of them durable with one
 * syncfs(2) (the tickets' bytes and the folders' entries), renames each
 * into new/ (RENAME_NOREPLACE: an id already there counts as present), and
 * fsyncs each new/ once when any item asked to be durable. So an item is
 * in new/ whole or not at all, as with item_publish; a crash before the
 * flush leaves only '+' folders, which stage_recover() removes (recover.c).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "spool.h"

static unsigned batch_counter;

void
publish_batch_init(struct publish_batch *b)
{
	memset(b, 0, sizeof(*b));
}

/* Remove the '+' folders of items [from, n) that were built, not renamed. */
static void
batch_discard(struct publish_batch *b, size_t from)
{
	int e = errno;

	for (size_t k = from; k < b->n; k++) {
		if (b->v[k].tmp[0] != '\0' && rmtree_at(b->v[k].sd->tmpfd, b->v[k].tmp) < 0)
			log_warn("remove %s/tmp/%s", b->v[k].sd->path, b->v[k].tmp);
		b->v[k].tmp[0] = '\0';
	}
	errno = e;
}

/* mkdir tmp/<name>, write tmp/<name>/ticket (no fsync: the flush syncs). */
static int
batch_build(struct stage_dir *sd, const char *name, const struct ticket *t)
{
	char path[NAME_MAX + 16];
	size_t len;
	char *text;
	int fd, r = -1, e;

	if (mkdirat(sd->tmpfd, name, 0755) < 0) {
		log_warn("%s/tmp/%s", sd->path, name);
		return -1;
	}
	snprintf(path, sizeof(path), "%s/ticket", name);
	text = ticket_format(t, &len);
	fd = openat(sd->tmpfd, path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (fd >= 0 && write_all(fd, text, len) == 0 && close(fd) == 0)
		r = 0;
	else if (fd >= 0)
		close(fd);
	free(text);
	if (r < 0) {
		e = errno;
		log_warn("%s/tmp/%s", sd->path, path);
		rmtree_at(sd->tmpfd, name);
		errno = e;
	}
	return r;
}

int
publish_batch_add(struct publish_batch *b, struct stage_dir *sd, const char *id,
		  const struct ticket *t, bool durable)
{
	struct publish_entry *pe;
	struct stat st;

	if (!id_valid(id))
		fatalx("publish_batch_add: invalid id \"%s\"", id);
	if (b->flushed) { /* the last flush's results were read: a new batch */
		b->n = b->settled = 0;
		b->flushed = false;
	}
	if (fstat(sd->tmpfd, &st) < 0) {
		log_warn("%s/tmp", sd->path);
		return -1;
	}
	if (b->n == b->cap) {
		b->cap = b->cap ? b->cap * 2 : 64;
		b->v = xreallocarray(b->v, b->cap, sizeof(*b->v));
	}
	pe = &b->v[b->n];
	memset(pe, 0, sizeof(*pe));
	pe->sd = sd;
	pe->dev = st.st_dev;
	pe->durable = durable;
	snprintf(pe->id, sizeof(pe->id), "%s", id);
	/* present: nothing to build (a durable one still gets new/'s fsync:
	 * maybe published by a process that died before its fsync) */
	if (!item_present(sd, id)) {
		snprintf(pe->tmp, sizeof(pe->tmp), "+%s.%d.b%u", id, (int)getpid(),
			 batch_counter++);
		if (batch_build(sd, pe->tmp, t) < 0)
			return -1;
	}
	b->n++;
	return 0;
}

/* One syncfs per file system the built items are on. */
static int
batch_sync(struct publish_batch *b)
{
	for (size_t k = 0; k < b->n; k++) {
		bool seen = false;

		if (b->v[k].tmp[0] == '\0')
			continue;
		for (size_t i = 0; i < k && !seen; i++)
			seen = b->v[i].tmp[0] != '\0' && b->v[i].dev == b->v[k].dev;
		if (!seen && syncfs(b->v[k].sd->tmpfd) < 0) {
			log_warn("syncfs %s/tmp", b->v[k].sd->path);
			return -1;
		}
	}
	return 0;
}

/* Rename v[k] into new/: 1 published, 0 present, -1 error (errno). */
static int
batch_rename(struct publish_entry *pe)
{
	struct stage_dir *sd = pe->sd;

	if (pe->tmp[0] == '\0')
		return 0;
	if (renameat2(sd->tmpfd, pe->tmp, sd->newfd, pe->id, RENAME_NOREPLACE) == 0) {
		pe->tmp[0] = '\0';
		return 1;
	}
	if (errno != EEXIST && errno != ENOTEMPTY) {
		log_warn("publish %s/new/%s", sd->path, pe->id);
		return -1;
	}
	if (rmtree_at(sd->tmpfd, pe->tmp) < 0)
		log_warn("remove %s/tmp/%s", sd->path, pe->tmp);
	pe->tmp[0] = '\0';
	return 0;
}

/* fsync each distinct new/ that holds a durable item. */
static int
batch_fsync_new(struct publish_batch *b)
{
	for (size_t k = 0; k < b->n; k++) {
		bool seen = false;

		if (!b->v[k].durable)
			continue;
		for (size_t i = 0; i < k && !seen; i++)
			seen = b->v[i].durable && b->v[i].sd == b->v[k].sd;
		if (!seen && fsync(b->v[k].sd->newfd) < 0) {
			log_warn("fsync %s/new", b->v[k].sd->path);
			return -1;
		}
	}
	return 0;
}

int
publish_batch_flush(struct publish_batch *b)
{
	int published = 0, r;

	if (b->flushed)
		return 0;
	b->flushed = true; /* whatever happens, this batch ends here */
	b->settled = 0;
	if (batch_sync(b) < 0) {
		batch_discard(b, 0);
		return -1;
	}
	for (size_t k = 0; k < b->n; k++) {
		if ((r = batch_rename(&b->v[k])) < 0) {
			batch_discard(b, k);
			return -1;
		}
		b->v[k].result = r;
		published += r;
		b->settled = k + 1;
	}
	if (batch_fsync_new(b) < 0)
		return -1; /* all are in new/ (settled), maybe not durably */
	return published;
}

size_t
publish_batch_pending(const struct publish_batch *b)
{
	return b->flushed ? 0 : b->n;
}

void
publish_batch_free(struct publish_batch *b)
{
	if (!b->flushed)
		batch_discard(b, 0);
	free(b->v);
	memset(b, 0, sizeof(*b));
}
