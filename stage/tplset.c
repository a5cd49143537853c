/*
 * tplset.c - a template's stage folders as one spool stage_set: the step
 * names come from the loaded template (spool/ knows no templates); and the
 * inline templates a stage worker finds in the spool, not in template.json.
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

const struct template *
stage_inline_template(const struct conf *conf, const char *name, struct template *tpl)
{
	struct conf_errors errs = {0};
	int n;

	if (!inline_name_ok(name))
		return NULL;
	n = inline_read(conf->spool_dir, name, tpl, &errs);
	for (size_t i = 0; i < errs.n; i++)
		log_warnx("%s", errs.msg[i]);
	conf_errors_free(&errs);
	if (n > 0)
		conf_template_free(tpl);
	return n > 0 ? NULL : tpl;
}
