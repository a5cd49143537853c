/*
 * tplstages.c - the stage folders of a template, shared by the jobs that
 * use it and opened (created) on first use. Used by client.c (a job takes
 * its template's set) and track.c (where a file's item is); it calls
 * neither, so those two do not call each other in a circle.
 */
#include <stdlib.h>

#include "jobs.h"

struct tplstages *
tplstages_get(struct jobsd *d, const struct template *tpl)
{
	struct tplstages *ts;

	for (size_t i = 0; i < d->nts; i++)
		if (d->ts[i]->tpl == tpl)
			return d->ts[i];
	ts = xcalloc(1, sizeof(*ts));
	ts->sp = &d->sp;
	ts->tpl = tpl;
	ts->sd = xcalloc(tpl->nsteps, sizeof(*ts->sd));
	for (size_t s = 0; s < tpl->nsteps; s++)
		ts->sd[s].fd = -1;
	d->ts = xreallocarray(d->ts, d->nts + 1, sizeof(*d->ts));
	d->ts[d->nts++] = ts;
	return ts;
}

struct stage_dir *
tplstages_dir(struct tplstages *ts, int s)
{
	struct stage_dir *sd = &ts->sd[s];

	if (sd->fd < 0 &&
	    stage_open(sd, ts->sp, ts->tpl->name, s, ts->tpl->steps[s].name, true) < 0) {
		sd->fd = -1;
		return NULL;
	}
	return sd;
}

void
tplstages_free(struct jobsd *d)
{
	for (size_t i = 0; i < d->nts; i++) {
		for (size_t s = 0; s < d->ts[i]->tpl->nsteps; s++)
			if (d->ts[i]->sd[s].fd >= 0)
				stage_close(&d->ts[i]->sd[s]);
		free(d->ts[i]->sd);
		free(d->ts[i]);
	}
	xfree(&d->ts);
	d->nts = 0;
}
