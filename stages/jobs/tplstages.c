/*
 * tplstages.c - the stage folders of a template (spool's stage_set), one
 * set shared by every job of that template. Used by client.c (a job takes
 * its template's set) and track.c (where a file's item is); it calls
 * neither, so those two do not call each other in a circle.
 */
#include <stdlib.h>

#include "jobs.h"
#include "stage.h"

struct tplstages *
tplstages_get(struct jobsd *d, const struct template *tpl)
{
	struct tplstages *ts;

	for (size_t i = 0; i < d->nts; i++)
		if (d->ts[i]->tpl == tpl)
			return d->ts[i];
	ts = xcalloc(1, sizeof(*ts));
	ts->tpl = tpl;
	stage_set_template(&ts->set, &d->sp, tpl);
	d->ts = xreallocarray(d->ts, d->nts + 1, sizeof(*d->ts));
	d->ts[d->nts++] = ts;
	return ts;
}

void
tplstages_free(struct jobsd *d)
{
	for (size_t i = 0; i < d->nts; i++) {
		stage_set_close(&d->ts[i]->set);
		free(d->ts[i]);
	}
	xfree(&d->ts);
	d->nts = 0;
}
