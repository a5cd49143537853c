/*
 * pending.c - files that are not ready yet, and when they will be.
 *
 * The rules (a file renamed into place is ready at once: events.c):
 *   P_WRITING  a writer is at work (IN_CREATE, IN_MODIFY seen; no close
 *              yet). It waits for IN_CLOSE_WRITE; a file that stays open
 *              without a write for STALL_MS is taken as it is (a hard link
 *              makes IN_CREATE and no close) and converted again if it
 *              changes later.
 *   P_QUIET    closed after writing (IN_CLOSE_WRITE, quiet_ms), attributes
 *              changed (quiet_ms), or found by a walk in a watched folder
 *              (SETTLE_MS: it may still be being written). When the time is
 *              up its size and mtime are read again: if they changed, the
 *              wait starts over, else it is handed off. Any event for the
 *              file meanwhile restarts the wait.
 *   P_POLL     found by a walk in a folder that is scanned, not watched: it
 *              is ready when the next scan finds the same inode, size and
 *              mtime.
 * Deadlines are CLOCK_MONOTONIC; files are never judged by their times.
 * Entries live in a hash table keyed by (folder, name), on their folder's
 * list (so a folder that goes takes its entries), and, when they wait for a
 * deadline, in a binary heap.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "watch.h"

/* ---- the deadline heap ---- */

static void
heap_swap(struct pending *q, size_t i, size_t j)
{
	struct pend *t = q->heap[i];

	q->heap[i] = q->heap[j];
	q->heap[j] = t;
	q->heap[i]->hpos = i;
	q->heap[j]->hpos = j;
}

static void
heap_up(struct pending *q, size_t i)
{
	while (i > 0 && q->heap[(i - 1) / 2]->due > q->heap[i]->due) {
		heap_swap(q, i, (i - 1) / 2);
		i = (i - 1) / 2;
	}
}

static void
heap_down(struct pending *q, size_t i)
{
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, m = i;

		if (l < q->nheap && q->heap[l]->due < q->heap[m]->due)
			m = l;
		if (r < q->nheap && q->heap[r]->due < q->heap[m]->due)
			m = r;
		if (m == i)
			return;
		heap_swap(q, i, m);
		i = m;
	}
}

static void
heap_remove(struct pending *q, struct pend *p)
{
	size_t i = p->hpos;

	if (p->due == 0)
		return;
	p->due = 0;
	if (i != --q->nheap) {
		q->heap[i] = q->heap[q->nheap];
		q->heap[i]->hpos = i;
		heap_down(q, i);
		heap_up(q, i);
	}
}

static void
heap_set(struct pending *q, struct pend *p, int64_t due)
{
	if (p->due == 0) {
		if (q->nheap == q->capheap) {
			q->capheap = q->capheap ? q->capheap * 2 : 64;
			q->heap = xreallocarray(q->heap, q->capheap, sizeof(*q->heap));
		}
		p->hpos = q->nheap;
		q->heap[q->nheap++] = p;
		p->due = due;
		heap_up(q, p->hpos);
		return;
	}
	p->due = due;
	heap_down(q, p->hpos);
	heap_up(q, p->hpos);
}

int64_t
pend_next_due(const struct pending *q)
{
	return q->nheap ? q->heap[0]->due : 0;
}

size_t
pend_count(const struct pending *q)
{
	return q->map.n;
}

/* ---- entries ---- */

static uint64_t
pend_hash(const struct dnode *dir, const char *name)
{
	return hash_bytes(name, strlen(name), (uint64_t)(uintptr_t)dir ^ 0x5bd1e995);
}

struct pend *
pend_find(struct wctx *c, struct dnode *dir, const char *name)
{
	uint64_t h = pend_hash(dir, name);

	for (struct hnode *n = hmap_first(&c->pend.map, h); n; n = hmap_next(n, h)) {
		struct pend *p = container_of(n, struct pend, h);

		if (p->dir == dir && strcmp(p->name, name) == 0)
			return p;
	}
	return NULL;
}

static struct pend *
pend_get(struct wctx *c, struct dnode *dir, const char *name)
{
	struct pend *p = pend_find(c, dir, name);

	if (p)
		return p;
	p = xcalloc(1, sizeof(*p));
	p->dir = dir;
	p->name = xstrdup(name);
	p->id.size = -1;
	p->dnext = dir->pend;
	if (dir->pend)
		dir->pend->dprev = p;
	dir->pend = p;
	hmap_add(&c->pend.map, &p->h, pend_hash(dir, name));
	return p;
}

void
pend_drop(struct wctx *c, struct pend *p)
{
	heap_remove(&c->pend, p);
	hmap_del(&c->pend.map, &p->h);
	if (p->dprev)
		p->dprev->dnext = p->dnext;
	else
		p->dir->pend = p->dnext;
	if (p->dnext)
		p->dnext->dprev = p->dprev;
	free(p->name);
	free(p);
}

void
pend_drop_dir(struct wctx *c, struct dnode *dir)
{
	while (dir->pend)
		pend_drop(c, dir->pend);
}

static void
free_one(struct hnode *n, void *arg)
{
	struct pend *p = container_of(n, struct pend, h);

	(void)arg;
	free(p->name);
	free(p);
}

void
pend_free_all(struct pending *q)
{
	hmap_each(&q->map, free_one, NULL);
	hmap_free(&q->map);
	xfree(&q->heap);
	q->nheap = q->capheap = 0;
}

/* stat the file; false (and the entry dropped) when it is gone or not a
 * regular file any more. */
static bool
pend_stat(struct wctx *c, struct pend *p, struct stat *st)
{
	char rel[PATH_MAX];

	if (!file_rel(p->dir->rel, p->name, rel, sizeof(rel)) ||
	    file_stat(c->tree.rootfd, rel, st) < 0 || !S_ISREG(st->st_mode)) {
		pend_drop(c, p);
		return false;
	}
	return true;
}

/* ---- events and walks ---- */

void
pend_writing(struct wctx *c, struct dnode *dir, const char *name)
{
	struct pend *p = pend_find(c, dir, name);
	int64_t now = now_ms_mono();
	struct stat st;

	if (p && p->state == P_WRITING && p->due - now > STALL_MS - 1000)
		return; /* a write a moment ago already set the deadline */
	if (p == NULL)
		p = pend_get(c, dir, name);
	if (p->state != P_WRITING) {
		if (!pend_stat(c, p, &st))
			return;
		ident_from_stat(&p->id, &st, dir->slot);
		p->state = P_WRITING;
	}
	heap_set(&c->pend, p, now + STALL_MS);
}

void
pend_closed(struct wctx *c, struct dnode *dir, const char *name, int wait_ms)
{
	struct pend *p = pend_get(c, dir, name);
	struct stat st;

	if (!pend_stat(c, p, &st))
		return;
	ident_from_stat(&p->id, &st, dir->slot);
	p->state = P_QUIET;
	heap_set(&c->pend, p, now_ms_mono() + wait_ms);
}

void
pend_attrib(struct wctx *c, struct dnode *dir, const char *name)
{
	struct pend *p = pend_find(c, dir, name);
	int64_t left = p ? p->due - now_ms_mono() : 0;

	if (p && p->state == P_WRITING)
		return; /* the writer's close decides */
	pend_closed(c, dir, name, left > c->quiet_ms ? (int)left : c->quiet_ms);
}

void
pend_found(struct wctx *c, struct dnode *dir, const char *name, const struct stat *st,
	   bool after_overflow)
{
	struct pend *p = pend_find(c, dir, name);
	struct ident id;

	ident_from_stat(&id, st, dir->slot);
	if (dir->wd >= 0) {
		/* a close lost in an overflow would leave a writer's entry waiting */
		if (p && (p->state != P_WRITING || !after_overflow) && p->state != P_POLL)
			return;
		p = p ? p : pend_get(c, dir, name);
		p->id = id;
		p->state = P_QUIET;
		heap_set(&c->pend, p,
			 now_ms_mono() + (c->quiet_ms > SETTLE_MS ? c->quiet_ms : SETTLE_MS));
		return;
	}
	if (p && p->state == P_POLL && ident_same(&p->id, &id) && p->stamp != c->tree.stamp) {
		pend_drop(c, p);
		batch_ready(c, dir, name, st);
		return;
	}
	p = p ? p : pend_get(c, dir, name);
	heap_remove(&c->pend, p);
	if (p->state != P_POLL || !ident_same(&p->id, &id)) {
		p->id = id;
		p->stamp = c->tree.stamp;
	}
	p->state = P_POLL;
	p->seen = c->tree.stamp;
}

void
pend_poll_sweep(struct wctx *c, struct dnode *dir)
{
	struct pend *p, *next;

	for (p = dir->pend; p; p = next) {
		next = p->dnext;
		if (p->state == P_POLL && p->seen != c->tree.stamp)
			pend_drop(c, p);
	}
}

/* Hand off what is due; at most BATCH_MAX per loop turn. */
void
pend_expire(struct wctx *c, int64_t now)
{
	while (c->pend.nheap > 0 && c->pend.heap[0]->due <= now && !batch_full(&c->batch)) {
		struct pend *p = c->pend.heap[0];
		struct stat st;
		struct ident id;

		if (!pend_stat(c, p, &st))
			continue;
		ident_from_stat(&id, &st, p->dir->slot);
		if (!ident_same(&id, &p->id)) { /* still changing: wait again */
			p->id = id;
			heap_set(&c->pend, p,
				 now + (p->state == P_WRITING ? STALL_MS : c->quiet_ms));
			continue;
		}
		if (p->state == P_WRITING)
			log_info("%s%s/%s: no write and no close for %d s; taken as it is",
				 c->root_abs, p->dir->rel, p->name, STALL_MS / 1000);
		{
			struct dnode *dir = p->dir;
			char name[NAME_MAX + 1];

			snprintf(name, sizeof(name), "%s", p->name);
			pend_drop(c, p);
			batch_ready(c, dir, name, &st);
		}
	}
}
