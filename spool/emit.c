/*
 * emit.c - making the first items for one original (jobs, watches, tests).
 *
 * Which steps apply to a file is decided once, here, from its extension:
 * every step whose source is "hires" and whose source_ext filter admits the
 * file gets an item with the same deterministic id; later steps are reached
 * by handoff. The caller fills the ticket's origin and paths (see
 * tmcwatch-spool(5)); emit adds id, template and step.
 */
#include <stdio.h>
#include <string.h>

#include "worker.h"

int
emit_item(const struct spool *sp, const struct template *tpl, const char *id,
	  const struct ticket *base, bool durable)
{
	const char *ext = path_ext(ticket_get(base, "src") ?: "");
	int published = 0;

	for (size_t j = 0; j < tpl->nsteps; j++) {
		const struct step *s = &tpl->steps[j];
		struct stage_dir sd;
		struct ticket t;
		int r;

		if (strcmp(s->source, "hires") != 0 || !step_applies(s, ext))
			continue;
		if (stage_open(&sd, sp, tpl->name, (int)j, s->name, true) < 0)
			return -1;
		ticket_copy(&t, base);
		ticket_set(&t, "id", id);
		ticket_set(&t, "template", tpl->name);
		ticket_setf(&t, "step", "%zu", j);
		r = item_publish(&sd, id, &t, durable);
		ticket_free(&t);
		stage_close(&sd);
		if (r < 0)
			return -1;
		published += r;
	}
	return published;
}
