/*
 * stageset.c - the stage folders of one template (stages/<tpl>/<NN>-<step>),
 * each opened, and created, the first time an item is handed into it: the
 * emitter's first steps, a worker's successors and a job's steps all keep
 * their folders here.
 */
#include <stdlib.h>

#include "spool.h"

void
stage_set_open(struct stage_set *set, const struct spool *sp, const char *tpl, size_t nsteps,
	       const char *const *names)
{
	set->sp = sp;
	set->tpl = xstrdup(tpl);
	set->n = nsteps;
	set->names = xcalloc(nsteps + 1, sizeof(*set->names));
	set->sd = xcalloc(nsteps + 1, sizeof(*set->sd));
	for (size_t j = 0; j < nsteps; j++) {
		set->names[j] = xstrdup(names[j]);
		set->sd[j].fd = -1;
	}
}

struct stage_dir *
stage_set_get(struct stage_set *set, size_t j)
{
	struct stage_dir *sd;

	if (j >= set->n)
		fatalx("stage_set_get: step %zu of %zu in %s", j, set->n, set->tpl);
	sd = &set->sd[j];
	if (sd->fd < 0 && stage_open(sd, set->sp, set->tpl, (int)j, set->names[j], true) < 0)
		return NULL;
	return sd;
}

void
stage_set_close(struct stage_set *set)
{
	for (size_t j = 0; set->sd && j < set->n; j++) {
		if (set->sd[j].fd >= 0)
			stage_close(&set->sd[j]);
		free(set->names[j]);
	}
	xfree(&set->sd);
	xfree(&set->names);
	xfree(&set->tpl);
	set->n = 0;
}
