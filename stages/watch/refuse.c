/*
 * refuse.c - objects in the watched tree that will never be taken, and
 * saying so at a bounded rate.
 *
 * Only regular files become items. Symbolic links (to files or folders:
 * never followed, since a link could lead out of the tree or into a loop),
 * FIFOs (reading one would block), sockets, devices and folders that are
 * their own parents (bind-mount loops) are refused: one info line naming
 * the path and the reason, and they are never entered into the pending
 * list, so `tmcwatch status` does not count them as waiting.
 *
 * Temporary names of uploaders (rules.c) and names the watch does not
 * select are skipped with a debug line only: every upload through Office,
 * rsync or a browser makes them, so at info level they would drown the log
 * while telling nothing wrong; with -d (or TMC_DEBUG) each decision shows.
 *
 * Rate: each path is reported at most once an hour (remembered as a 64-bit
 * hash, at most REFUSE_MEMORY of them), and at most REFUSE_PER_MIN lines a
 * minute per level; the rest are counted and summed up in one "... and K
 * more" line when the minute is over (refuse_tick, from the event loop).
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "watch.h"

#define REFUSE_REPEAT_MS (3600 * 1000) /* the same path: once an hour */
#define REFUSE_WINDOW_MS (60 * 1000)
#define REFUSE_PER_MIN 20
#define REFUSE_MEMORY 65536 /* paths remembered */

struct rseen {
	struct hnode h;
	int64_t at;
};

/* the entries of one hash (collisions of 64-bit path hashes are ignored) */
static struct rseen *
seen_find(const struct refusals *r, uint64_t h)
{
	struct hnode *n = hmap_first(&r->seen, h);

	return n ? container_of(n, struct rseen, h) : NULL;
}

static void
seen_collect(struct hnode *n, void *arg)
{
	struct hnode ***v = arg;

	*(*v)++ = n;
}

/* Full: forget what is older than an hour, or everything if that is not
 * enough (a few paths are then reported again: harmless). */
static void
seen_prune(struct refusals *r, int64_t now)
{
	struct hnode **all = xcalloc(r->seen.n, sizeof(*all)), **end = all;
	size_t kept = 0;

	hmap_each(&r->seen, seen_collect, &end);
	for (struct hnode **p = all; p < end; p++) {
		struct rseen *e = container_of(*p, struct rseen, h);

		if (now - e->at < REFUSE_REPEAT_MS && kept < REFUSE_MEMORY / 2) {
			kept++;
			continue;
		}
		hmap_del(&r->seen, *p);
		free(e);
	}
	free(all);
}

/* Should a line about this path be written now? Counts it either way. */
static bool
refuse_due_path(struct refusals *r, const char *path, int64_t now)
{
	uint64_t h = hash_bytes(path, strlen(path), 0x7265667573);
	struct rseen *e = seen_find(r, h);

	if (e && now - e->at < REFUSE_REPEAT_MS)
		return false;
	if (e == NULL) {
		if (r->seen.n >= REFUSE_MEMORY)
			seen_prune(r, now);
		e = xcalloc(1, sizeof(*e));
		hmap_add(&r->seen, &e->h, h);
	}
	e->at = now;
	if (r->window == 0 || now - r->window >= REFUSE_WINDOW_MS) {
		refuse_flush(r);
		r->window = now;
	}
	if (r->lines >= REFUSE_PER_MIN) {
		r->more++;
		return false;
	}
	r->lines++;
	return true;
}

void
refuse_flush(struct refusals *r)
{
	if (r->more > 0) {
		if (r->debug)
			log_debug("... and %lld more names skipped in the last minute", r->more);
		else
			log_info("... and %lld more objects not taken in the last minute (each "
				 "path is reported once an hour)",
				 r->more);
	}
	r->more = 0;
	r->lines = 0;
	r->window = 0;
}

int64_t
refuse_due(const struct refuse *r)
{
	int64_t a = r->refused.more ? r->refused.window + REFUSE_WINDOW_MS : 0;
	int64_t b = r->skipped.more ? r->skipped.window + REFUSE_WINDOW_MS : 0;

	return a == 0 ? b : b == 0 || a < b ? a : b;
}

void
refuse_tick(struct refuse *r, int64_t now)
{
	if (r->refused.more && now - r->refused.window >= REFUSE_WINDOW_MS)
		refuse_flush(&r->refused);
	if (r->skipped.more && now - r->skipped.window >= REFUSE_WINDOW_MS)
		refuse_flush(&r->skipped);
}

/* Why an object of this type is never taken. */
static const char *
type_reason(const char *abs, mode_t mode)
{
	struct stat st;

	switch (mode & S_IFMT) {
	case S_IFLNK:
		if (stat(abs, &st) == 0 && S_ISDIR(st.st_mode))
			return "a symbolic link to a folder (links are never followed)";
		return "a symbolic link (links are never followed)";
	case S_IFIFO: return "a FIFO (named pipe): reading it would block";
	case S_IFSOCK: return "a socket";
	case S_IFCHR: return "a character device";
	case S_IFBLK: return "a block device";
	default: return "not a regular file";
	}
}

void
refuse_type(struct wctx *c, const struct dnode *dir, const char *name, mode_t mode)
{
	char abs[PATH_MAX];

	if (snprintf(abs, sizeof(abs), "%s%s/%s", c->root_abs, dir->rel, name) >= (int)sizeof(abs))
		return;
	if (refuse_due_path(&c->refuse.refused, abs, now_ms_mono()))
		log_info("%s: not taken: %s", abs, type_reason(abs, mode));
}

void
refuse_loop(struct wctx *c, const struct dnode *d, const struct dnode *ancestor)
{
	char abs[PATH_MAX];

	if (snprintf(abs, sizeof(abs), "%s%s", c->root_abs, d->rel) >= (int)sizeof(abs))
		return;
	if (refuse_due_path(&c->refuse.refused, abs, now_ms_mono()))
		log_info("%s: not taken: a folder loop (it is %s%s again, e.g. a bind mount "
			 "inside itself): neither watched nor walked",
			 abs, c->root_abs, ancestor->rel[0] ? ancestor->rel : "");
}

bool
refuse_unwanted(struct wctx *c, const struct dnode *dir, const char *name)
{
	char abs[PATH_MAX];
	const char *who;

	if (rules_wanted(c->w, c->tpl, dir->rel, name))
		return false;
	if (!c->refuse.skipped.debug ||
	    snprintf(abs, sizeof(abs), "%s%s/%s", c->root_abs, dir->rel, name) >=
		    (int)sizeof(abs) ||
	    !refuse_due_path(&c->refuse.skipped, abs, now_ms_mono()))
		return true;
	if ((who = rules_temp_name(name)) != NULL)
		log_debug(
			"%s: skipped: a temporary name (%s); a file is taken under its final name",
			abs, who);
	else
		log_debug("%s: skipped: not selected by include/exclude, or no first step of "
			  "template %s takes its extension",
			  abs, c->tpl->name);
	return true;
}

static void
free_seen(struct hnode *n, void *arg)
{
	(void)arg;
	free(container_of(n, struct rseen, h));
}

void
refuse_free(struct refuse *r)
{
	refuse_flush(&r->refused);
	hmap_each(&r->refused.seen, free_seen, NULL);
	hmap_free(&r->refused.seen);
	hmap_each(&r->skipped.seen, free_seen, NULL);
	hmap_free(&r->skipped.seen);
}
