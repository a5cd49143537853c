/*
 * tplset.c - a template's stage folders as one spool stage_set: the step
 * names come from the loaded template (spool/ knows no templates).
 */
#include <stdlib.h>

#include "stage.h"

void
stage_set_template(struct stage_set *set, const struct spool *sp, const struct template *tpl)
{
	const char **names = xcalloc(tpl->nsteps + 1, sizeof(*names));

	for (size_t j = 0; j < tpl->nsteps; j++)
		names[j] = tpl->steps[j].name;
	stage_set_open(set, sp, tpl->name, tpl->nsteps, names);
	free(names);
}
