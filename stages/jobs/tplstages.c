/*
 * tplstages.c - the stage folders of a template (spool's stage_set), one
 * set shared by every job of that template (found by name), counted; an
 * inline template's set is closed with its last job. Used by client.c (a job takes
 * its template's set) and track.c (where a file's item is); it calls
 * neither, so those two do not call each other in a circle.
 */
#include <stdlib.h>
#include <string.h>

#include "jobs.h"
#include "stage.h"

struct tplstages *
tplstages_get(struct jobsd *d, const struct template *tpl)
{
	struct tplstages *ts;

	/* by name: an inline template is each job's own copy */
	for (size_t i = 0; i < d->nts; i++)
		if (strcmp(d->ts[i]->set.tpl, tpl->name) == 0) {
			d->ts[i]->users++;
			return d->ts[i];
		}
	ts = xcalloc(1, sizeof(*ts));
	ts->users = 1;
	stage_set_template(&ts->set, &d->sp, tpl);
	d->ts = xreallocarray(d->ts, d->nts + 1, sizeof(*d->ts));
	d->ts[d->nts++] = ts;
	return ts;
}

void
tplstages_put(struct jobsd *d, struct tplstages *ts)
{
	if (ts == NULL || --ts->users > 0 || !inline_name_ok(ts->set.tpl))
		return;
	for (size_t i = 0; i < d->nts; i++)
		if (d->ts[i] == ts) {
			d->ts[i] = d->ts[--d->nts];
			break;
		}
	stage_set_close(&ts->set);
	free(ts);
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
