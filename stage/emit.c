/*
 * emit.c - making the first items for one original (jobs, watches, tests).
 *
 * Which steps apply to a file is decided once, here, from its extension:
 * every step fed from the original (route_first, config/route.c) gets an
 * item with the same deterministic id; later steps are reached by handoff. The caller fills the
 * ticket's origin and paths (see tmcwatch-spool(5)); emit adds id, template and step. An emitter
 * keeps the first stages' folders open, so a job of 100,000 files opens them once, and may
 * publish in batches (one sync for many items) when its caller flushes them.
 */
#include <stdio.h>
#include <string.h>

#include "stage.h"

void
emitter_init(struct emitter *em, const struct spool *sp, const struct template *tpl)
{
	em->tpl = tpl;
	em->batch = 0;
	publish_batch_init(&em->pb);
	stage_set_template(&em->set, sp, tpl);
}

void
emitter_batch(struct emitter *em, size_t n)
{
	em->batch = n;
}

int
emitter_flush(struct emitter *em)
{
	return publish_batch_pending(&em->pb) ? publish_batch_flush(&em->pb) : 0;
}

void
emitter_free(struct emitter *em)
{
	publish_batch_free(&em->pb);
	stage_set_close(&em->set);
}

int
emitter_emit(struct emitter *em, const char *id, const struct ticket *base, bool durable)
{
	const char *ext = path_ext(ticket_get(base, "src") ?: "");
	const struct template *tpl = em->tpl;
	int published = 0;

	for (size_t j = 0; j < tpl->nsteps; j++) {
		struct stage_dir *sd;
		struct ticket t;
		int r;

		if (!route_first(tpl, j, ext))
			continue;
		if ((sd = stage_set_get(&em->set, j)) == NULL)
			return -1;
		ticket_copy(&t, base);
		ticket_set(&t, "id", id);
		ticket_set(&t, "template", tpl->name);
		ticket_setf(&t, "step", "%zu", j);
		if (em->batch)
			r = publish_batch_add(&em->pb, sd, id, &t, durable);
		else
			r = item_publish(sd, id, &t, durable);
		ticket_free(&t);
		if (r < 0)
			return -1;
		published += r;
	}
	/* every step of this original goes in the same flush */
	if (em->batch && publish_batch_pending(&em->pb) >= em->batch)
		return emitter_flush(em);
	return published;
}

int
emit_item(const struct spool *sp, const struct template *tpl, const char *id,
	  const struct ticket *base, bool durable)
{
	struct emitter em;
	int r;

	emitter_init(&em, sp, tpl);
	r = emitter_emit(&em, id, base, durable);
	emitter_free(&em);
	return r;
}
