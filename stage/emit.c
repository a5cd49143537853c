/*
 * emit.c - making the first items for one original (jobs, watches, tests).
 *
 * Which steps apply to a file is decided once, here, from its extension:
 * every step fed from the original (route_first, config/route.c) gets an
 * item with the same deterministic id; later steps are reached by handoff. The caller fills the
 * ticket's origin and paths (see tmcwatch-spool(5)); emit adds id and template. An emitter
 * keeps the first stages' folders open, so a job of 100,000 files opens them once.
 */
#include <stdio.h>
#include <string.h>

#include "stage.h"

void
emitter_init(struct emitter *em, const struct spool *sp, const struct template *tpl)
{
	em->tpl = tpl;
	stage_set_template(&em->set, sp, tpl);
}

void
emitter_free(struct emitter *em)
{
	stage_set_close(&em->set);
}

int
emitter_stage(struct emitter *em, struct publish_batch *b, const char *id,
	      const struct ticket *base)
{
	const char *ext = path_ext(ticket_get(base, "src") ?: "");
	const struct template *tpl = em->tpl;
	int staged = 0;

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
		r = publish_stage(b, sd, id, &t, (long)j);
		ticket_free(&t);
		if (r < 0)
			return -1;
		staged += r;
	}
	return staged;
}

int
emitter_commit(struct publish_batch *b, bool durable)
{
	int r = publish_commit(b, durable);

	for (size_t k = 0; k < b->n; k++)
		if (b->v[k].r == 1)
			trace_note('P', b->v[k].id, (int)b->v[k].tag);
	publish_batch_free(b);
	publish_batch_init(b);
	return r;
}

int
emitter_emit(struct emitter *em, const char *id, const struct ticket *base, bool durable)
{
	struct publish_batch b;
	int r;

	publish_batch_init(&b);
	r = emitter_stage(em, &b, id, base);
	if (r > 0)
		r = emitter_commit(&b, durable);
	publish_batch_free(&b);
	return r;
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
