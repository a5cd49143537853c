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
#include <string.h>
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

/* Build <id>/ticket in tmp/+<id>.<pid>.<n>, in a recycled folder when
 * free/ has one (its ticket overwritten in place, recycle.c); its bytes
 * are not synced yet. */
static int
item_build(struct stage_dir *sd, const char *id, const struct ticket *t, char *tmp, size_t tlen)
{
	char path[NAME_MAX + 16];
	bool reused;
	size_t len;
	char *text;
	int fd, r = -1;

	if (!id_valid(id))
		fatalx("item_publish: invalid id \"%s\"", id);
	/* '+' starts no id: recovery tells a half-built item from a handoff */
	snprintf(tmp, tlen, "+%s.%d.%u", id, (int)getpid(), publish_counter++);
	reused = recycle_take(sd, tmp);
	if (!reused && mkdirat(sd->tmpfd, tmp, 0755) < 0) {
		log_warn("%s/tmp/%s", sd->path, tmp);
		return -1;
	}
	text = ticket_format(t, &len);
	/* the folder is ours alone until it is renamed: no temporary name */
	snprintf(path, sizeof(path), "%s/ticket", tmp);
	fd = openat(sd->tmpfd, path,
		    O_WRONLY | O_CLOEXEC | O_NOFOLLOW | (reused ? 0 : O_CREAT | O_EXCL), 0644);
	if (fd >= 0) {
		r = write_all(fd, text, len);
		if (r == 0 && reused && ftruncate(fd, (off_t)len) < 0)
			r = -1;
		if (close(fd) < 0)
			r = -1;
	}
	if (r < 0) {
		int e = errno;

		log_warn("%s/tmp/%s", sd->path, path);
		rmtree_at(sd->tmpfd, tmp);
		errno = e;
	}
	free(text);
	return r;
}

/* One item's bytes on disk: its ticket, then its folder (the entry). */
static int
item_sync(struct stage_dir *sd, const char *tmp)
{
	char path[NAME_MAX + 16];
	int fd, r;

	snprintf(path, sizeof(path), "%s/ticket", tmp);
	if ((fd = openat(sd->tmpfd, path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) < 0)
		return -1;
	r = fsync(fd);
	close(fd);
	if (r < 0 || (fd = openat(sd->tmpfd, tmp, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return -1;
	r = fsync(fd);
	close(fd);
	return r;
}

void
publish_batch_init(struct publish_batch *b)
{
	memset(b, 0, sizeof(*b));
}

int
publish_stage(struct publish_batch *b, struct stage_dir *sd, const char *id, const struct ticket *t,
	      long tag)
{
	struct publish_staged *p;

	if (item_present(sd, id))
		return 0;
	if (b->n == b->cap) {
		b->cap = b->cap ? 2 * b->cap : 16;
		b->v = xreallocarray(b->v, b->cap, sizeof(*b->v));
	}
	p = &b->v[b->n];
	memset(p, 0, sizeof(*p));
	if (item_build(sd, id, t, p->tmp, sizeof(p->tmp)) < 0)
		return -1;
	p->sd = sd;
	p->tag = tag;
	snprintf(p->id, sizeof(p->id), "%s", id);
	b->n++;
	return 1;
}

/* Is little data waiting to be written, machine-wide (/proc/meminfo's
 * Dirty plus Writeback, under PUBLISH_SYNCFS_DIRTY_KB)? A syncfs waits for
 * everything dirty on the file system, not only the batch: right after a
 * user copied originals in, that is their bytes too. */
static bool
little_dirty(void)
{
	char buf[4096], *p;
	long long kb = 0;
	ssize_t n;
	int fd = open("/proc/meminfo", O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return false;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return false;
	buf[n] = '\0';
	if ((p = strstr(buf, "\nDirty:")) == NULL)
		return false;
	kb += strtoll(p + 7, NULL, 10);
	if ((p = strstr(buf, "\nWriteback:")) != NULL)
		kb += strtoll(p + 11, NULL, 10);
	return kb < PUBLISH_SYNCFS_DIRTY_KB;
}

/* The staged items' bytes on disk: one syncfs for many (the file system
 * writes them together, then one cache flush) while little else is dirty,
 * else an fsync of each ticket and folder. */
static int
batch_sync(struct publish_batch *b)
{
	if (b->n >= PUBLISH_SYNCFS_MIN && little_dirty())
		return syncfs(b->v[0].sd->tmpfd);
	for (size_t k = 0; k < b->n; k++)
		if (item_sync(b->v[k].sd, b->v[k].tmp) < 0)
			return -1;
	return 0;
}

static void
batch_unstage(struct publish_batch *b, size_t from)
{
	for (size_t k = from; k < b->n; k++) {
		rmtree_at(b->v[k].sd->tmpfd, b->v[k].tmp);
		b->v[k].r = -1;
	}
}

int
publish_commit(struct publish_batch *b, bool durable)
{
	int published = 0, e;
	size_t k;

	b->committed = true;
	if (b->n == 0)
		return 0;
	if (batch_sync(b) < 0) {
		e = errno;
		log_warn("%s/tmp: sync %zu new items", b->v[0].sd->path, b->n);
		batch_unstage(b, 0);
		errno = e;
		return -1;
	}
	for (k = 0; k < b->n; k++) {
		struct publish_staged *p = &b->v[k];

		if (renameat2(p->sd->tmpfd, p->tmp, p->sd->newfd, p->id, RENAME_NOREPLACE) == 0) {
			p->r = 1;
			published++;
		} else if (errno == EEXIST || errno == ENOTEMPTY) {
			p->r = 0;
			rmtree_at(p->sd->tmpfd, p->tmp);
		} else {
			e = errno;
			log_warn("publish %s/new/%s", p->sd->path, p->id);
			batch_unstage(b, k);
			errno = e;
			return -1;
		}
	}
	/* durable: the entries in new/ too (each folder once) */
	for (k = 0; durable && k < b->n; k++) {
		bool seen = false;

		for (size_t i = 0; i < k && !seen; i++)
			seen = b->v[i].sd == b->v[k].sd;
		if (!seen && fsync(b->v[k].sd->newfd) < 0) {
			e = errno;
			log_warn("fsync %s/new", b->v[k].sd->path);
			errno = e;
			return -1;
		}
	}
	return published;
}

void
publish_batch_free(struct publish_batch *b)
{
	if (!b->committed)
		batch_unstage(b, 0); /* staged, never committed */
	free(b->v);
	memset(b, 0, sizeof(*b));
}

int
item_publish(struct stage_dir *sd, const char *id, const struct ticket *t, bool durable)
{
	struct publish_batch b;
	int r;

	/* present: maybe published by a process that died before its fsync */
	if (item_present(sd, id)) {
		if (durable && fsync(sd->newfd) < 0) {
			log_warn("fsync %s/new", sd->path);
			return -1;
		}
		return 0;
	}
	publish_batch_init(&b);
	r = publish_stage(&b, sd, id, t, 0);
	if (r > 0)
		r = publish_commit(&b, durable);
	publish_batch_free(&b);
	return r;
}
