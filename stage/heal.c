/*
 * heal.c - protocol steps that a fault of the machine (a full disk, EIO, a
 * read-only remount, no descriptors) left half done, retried by the live
 * worker from its loop with a growing delay (250 ms doubling to 30 s),
 * so work flows again within seconds of the fault clearing, with no
 * restart and no recovery pass:
 *  - an item we could not give back to new/ stays claimed (its lock held,
 *    so recovery never charges it a death) until the rename works;
 *  - a committed fan-out whose delivery or removal failed is delivered
 *    again (delivery is idempotent);
 *  - a committed chain handoff whose finalize failed in the successor's
 *    tmp/ is finalized again (stage_finalize is idempotent).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "heal.h"

static struct heal *
heal_new(struct heals *h, enum heal_kind kind, struct stage_dir *sd, const char *id)
{
	struct heal *e;

	h->v = xreallocarray(h->v, h->n + 1, sizeof(*h->v));
	e = &h->v[h->n++];
	memset(e, 0, sizeof(*e));
	e->kind = kind;
	e->sd = sd;
	e->it.dirfd = e->it.lockfd = -1;
	snprintf(e->id, sizeof(e->id), "%s", id);
	e->delay_ms = HEAL_DELAY_MIN_MS;
	e->due_ms = now_ms_mono() + e->delay_ms;
	return e;
}

void
heal_add_item(struct heals *h, enum heal_kind kind, struct stage_dir *sd, struct item *it)
{
	struct heal *e = heal_new(h, kind, sd, it->id);

	e->it = *it; /* the fds, ticket and path now belong to the list */
	memset(it, 0, sizeof(*it));
	it->dirfd = it->lockfd = -1;
	log_warnx("%s: %s retried every few seconds until it works", e->it.path,
		  kind == HEAL_RETURN ? "return to new/" : "delivery");
}

void
heal_add_finalize(struct heals *h, struct stage_dir *sd, const char *id, bool pixels)
{
	heal_new(h, HEAL_FINALIZE, sd, id)->pixels = pixels;
}

int64_t
heal_due_ms(const struct heals *h)
{
	int64_t due = 0;

	for (size_t i = 0; i < h->n; i++)
		if (due == 0 || h->v[i].due_ms < due)
			due = h->v[i].due_ms;
	return due;
}

static bool
heal_one(struct heal *e)
{
	switch (e->kind) {
	case HEAL_RETURN: return item_giveback(e->sd, &e->it) == 0;
	case HEAL_DELIVER: return item_deliver(e->sd, &e->it) == 0;
	case HEAL_FINALIZE: return stage_finalize_own(e->sd, e->id, e->pixels) == 0;
	}
	return false;
}

int
heal_run(struct heals *h)
{
	int64_t now = now_ms_mono();
	size_t k = 0;
	int healed = 0;

	for (size_t i = 0; i < h->n; i++) {
		struct heal *e = &h->v[i];

		if (e->due_ms <= now && heal_one(e)) {
			log_info("%s/%s: healed after the fault cleared", e->sd->path, e->id);
			item_release(&e->it);
			healed++;
			continue;
		}
		if (e->due_ms <= now) {
			e->delay_ms = e->delay_ms * 2 > HEAL_DELAY_MAX_MS ? HEAL_DELAY_MAX_MS
									  : e->delay_ms * 2;
			e->due_ms = now + e->delay_ms;
		}
		h->v[k++] = *e;
	}
	h->n = k;
	if (healed)
		fault_clear_all();
	return healed;
}

void
heal_free(struct heals *h)
{
	for (size_t i = 0; i < h->n; i++)
		item_release(&h->v[i].it);
	xfree(&h->v);
	h->n = 0;
}
