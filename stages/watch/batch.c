/*
 * batch.c - the files found ready in one loop turn, handed off together.
 *
 * A flush:
 *   1. for each file, its id (watch_item_id: from the watch and the file's
 *      identity) and whether an item of that id is in a first stage's new/
 *      or cur/ (publish_present);
 *   2. the result log is read to its end (tally.c);
 *   3. each file joins the open watchdog job (wdjob.c; durable first);
 *      a file whose item is present or already has result lines was handed
 *      off by an earlier run that died before recording it: recorded only.
 *      (A stage writes its result line before the item leaves cur/, so
 *      checking the stages first and the log second misses nothing.)
 *      Others are published (publish.c);
 *   4. one index line per file, one fdatasync.
 * A process crash before 4 republishes the same ids: idempotent. A publish
 * that fails (full spool) is not recorded; the flush returns "rescan in
 * RETRY_MS" to the event loop, and that walk finds the file again. A batch
 * that reaches BATCH_MAX in the middle of a walk is flushed at once; what
 * that flush asks for is returned by the next batch_flush.
 */
#include <limits.h>
#include <stdlib.h>

#include "watch.h"

static void
batch_add(struct batch *b, const char *rel, const struct ident *id, bool redrive)
{
	if (b->n == b->cap) {
		b->cap = b->cap ? b->cap * 2 : 64;
		b->v = xreallocarray(b->v, b->cap, sizeof(*b->v));
	}
	b->v[b->n++] = (struct ready){xstrdup(rel), *id, redrive};
}

static struct flushed flush_now(struct wctx *c);

/* Full: hand off now (memory stays bounded during a long walk). */
static void
batch_maybe_flush(struct wctx *c)
{
	struct flushed f;

	if (!batch_full(&c->batch))
		return;
	f = flush_now(c);
	c->batch.done.files += f.files;
	if (f.retry_ms)
		c->batch.done.retry_ms = f.retry_ms;
}

bool
batch_full(const struct batch *b)
{
	return b->n >= BATCH_MAX;
}

void
batch_ready(struct wctx *c, struct dnode *dir, const char *name, const struct stat *st)
{
	char rel[PATH_MAX];
	struct ident id;
	struct ient *e;

	ident_from_stat(&id, st, dir->slot);
	e = index_get(&c->ix, id.slot, id.ino);
	if (e && ident_same(&e->id, &id)) {
		e->gen = c->ix.gen;
		return;
	}
	for (size_t i = 0; i < c->batch.n; i++)
		if (ident_same(&c->batch.v[i].id, &id))
			return;
	if (!file_rel(dir->rel, name, rel, sizeof(rel)))
		return;
	batch_add(&c->batch, rel, &id, false);
	batch_maybe_flush(c);
}

void
batch_recheck(struct wctx *c, struct dnode *dir, const char *name, const struct ident *id)
{
	char iid[ITEM_ID_MAX], rel[PATH_MAX];

	watch_item_id(iid, sizeof(iid), c->key, id);
	if (tally_known(&c->tally, iid) || publish_present(c, iid) ||
	    !file_rel(dir->rel, name, rel, sizeof(rel)))
		return;
	batch_add(&c->batch, rel, id, true);
	batch_maybe_flush(c);
}

static struct flushed
flush_now(struct wctx *c)
{
	struct batch *b = &c->batch;
	struct flushed f = {b->n, 0};
	size_t published = 0;
	char(*ids)[ITEM_ID_MAX];
	bool *present, *joined, unrecorded = false;

	if (b->n == 0)
		return f;
	ids = xcalloc(b->n, sizeof(*ids));
	present = xcalloc(b->n, sizeof(*present));
	joined = xcalloc(b->n, sizeof(*joined));
	for (size_t i = 0; i < b->n; i++) {
		watch_item_id(ids[i], sizeof(ids[i]), c->key, &b->v[i].id);
		present[i] = !b->v[i].redrive && publish_present(c, ids[i]);
	}
	tally_refresh(&c->tally);
	for (size_t i = 0; i < b->n; i++) {
		int r = wdjob_add(c, ids[i], b->v[i].rel, now_ms_mono());

		joined[i] = r > 0;
		unrecorded |= r < 0;
	}
	/* a file is in its watchdog job before its items exist: when that
	 * cannot be recorded (state/ full, or no seq could be claimed in proc/),
	 * none is handed off; the rescan brings them back */
	if (wdjob_sync(c) < 0 || unrecorded) {
		for (size_t i = 0; i < b->n; i++)
			if (joined[i])
				wdjob_drop(c, ids[i]);
		f.retry_ms = RETRY_MS;
		goto out;
	}
	for (size_t i = 0; i < b->n; i++) {
		int r = publish_one(c, &b->v[i], ids[i], present[i]);

		if (r < 0 || r == 2)
			wdjob_drop(c, ids[i]);
		if (r < 0)
			f.retry_ms = RETRY_MS;
		else if (!b->v[i].redrive)
			index_put(&c->ix, &b->v[i].id, r == 2 ? IX_SKIPPED : IX_HANDED, c->ix.gen);
		published += r == 1;
	}
	if (published)
		failpoint("watch-published"); /* tests: die between publish and record */
	wdjob_sync(c);
	wdjob_handed(c);
	index_flush(&c->ix);
	if (index_wants_compaction(&c->ix))
		index_compact(&c->ix);
out:
	for (size_t i = 0; i < b->n; i++)
		free(b->v[i].rel);
	b->n = 0;
	free(ids);
	free(present);
	free(joined);
	return f;
}

struct flushed
batch_flush(struct wctx *c)
{
	struct flushed f = flush_now(c);

	f.files += c->batch.done.files;
	if (!f.retry_ms)
		f.retry_ms = c->batch.done.retry_ms;
	c->batch.done = (struct flushed){0, 0};
	return f;
}

void
batch_free(struct batch *b)
{
	for (size_t i = 0; i < b->n; i++)
		free(b->v[i].rel);
	free(b->v);
	*b = (struct batch){0};
}
