/*
 * remote.c - which work leaves this host ("gearman" in config.json), and
 * what two hosts must agree on before one does the other's work.
 *
 * A remote unit is a head step and every step below it (route_below): the
 * worker host decodes the original once and runs the whole unit, so a
 * chain of image steps costs one round trip, not one per step
 * (tmcwatch-worker(8)). The rule lives here so that the supervisor's plan,
 * tmc-remote, the worker and `check` agree on it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "util.h"

static bool
strv_has(char *const *v, size_t n, const char *s)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(v[i], s) == 0)
			return true;
	return false;
}

/* "template/step" named in "steps" */
static bool
step_named(const struct gearman_conf *g, const struct template *tpl, const struct step *st)
{
	size_t tl = strlen(tpl->name);

	for (size_t i = 0; i < g->nsteps; i++)
		if (strncmp(g->steps[i], tpl->name, tl) == 0 && g->steps[i][tl] == '/' &&
		    strcmp(g->steps[i] + tl + 1, st->name) == 0)
			return true;
	return false;
}

bool
conf_remote_head(const struct conf *conf, const struct template *tpl, size_t j)
{
	const struct gearman_conf *g = &conf->gearman;
	const struct step *st;

	/* an inline template is never one: names here are checked against
	 * template.json (conf_remote_check), where no inline template is */
	if (g->nservers == 0 || tpl->name == NULL || j >= tpl->nsteps)
		return false;
	st = &tpl->steps[j];
	if (strv_has(g->templates, g->ntemplates, tpl->name) && strcmp(st->source, "hires") == 0)
		return true;
	return step_named(g, tpl, st);
}

bool
conf_remote_any(const struct conf *conf)
{
	for (size_t t = 0; t < conf->ntemplates; t++)
		for (size_t j = 0; j < conf->templates[t].nsteps; j++)
			if (conf_remote_head(conf, &conf->templates[t], j))
				return true;
	return false;
}

char *
conf_remote_function(const struct template *tpl, size_t j, bool big)
{
	return xasprintf("tmcwatch:%s:%02zu%s", tpl->name, j, big ? ":big" : "");
}

/* The step j reads (for any extension), or -1 for the original. */
static int
source_of(const struct template *tpl, size_t j)
{
	for (size_t k = j; k-- > 0;)
		if (strcmp(tpl->steps[k].name, tpl->steps[j].source) == 0)
			return (int)k;
	return -1;
}

/* A step below another head is already in that head's unit; a head that
 * reads another step's output cannot be sent at all: a request carries the
 * original, and the worker host has no other input to start from. */
static void
check_nested(const struct conf *conf, const struct template *tpl, struct conf_errors *errs)
{
	for (size_t j = 0; j < tpl->nsteps; j++) {
		int src = source_of(tpl, j);
		bool nested = false;

		if (!conf_remote_head(conf, tpl, j))
			continue;
		for (int k = src; k >= 0 && !nested; k = source_of(tpl, (size_t)k))
			if (conf_remote_head(conf, tpl, (size_t)k)) {
				conf_errors_add(errs,
						"%s:%d:%d: gearman.steps: %s/%s is already sent "
						"with %s/%s, a step above it",
						conf->path, conf->gearman.line, conf->gearman.col,
						tpl->name, tpl->steps[j].name, tpl->name,
						tpl->steps[k].name);
				nested = true;
			}
		if (!nested && src >= 0)
			conf_errors_add(errs,
					"%s:%d:%d: gearman.steps: %s/%s reads the output of %s/%s, "
					"but a remote unit starts from the original: name %s/%s to "
					"send both",
					conf->path, conf->gearman.line, conf->gearman.col,
					tpl->name, tpl->steps[j].name, tpl->name,
					tpl->steps[src].name, tpl->name, tpl->steps[src].name);
	}
}

void
conf_remote_check(const struct conf *conf, struct conf_errors *errs)
{
	const struct gearman_conf *g = &conf->gearman;
	const struct template *tpl;

	for (size_t i = 0; i < g->ntemplates; i++)
		if (conf_template(conf, g->templates[i]) == NULL)
			conf_errors_add(errs,
					"%s:%d:%d: gearman.templates: template \"%s\" is not "
					"defined in %s",
					conf->path, g->line, g->col, g->templates[i],
					conf->tpl_path);
	for (size_t i = 0; i < g->nsteps; i++) {
		const char *slash = strchr(g->steps[i], '/');
		char *name = slash ? xstrndup(g->steps[i], (size_t)(slash - g->steps[i])) : NULL;
		bool found = false;

		if ((tpl = name ? conf_template(conf, name) : NULL) != NULL)
			for (size_t j = 0; j < tpl->nsteps && !found; j++)
				found = strcmp(tpl->steps[j].name, slash + 1) == 0;
		if (!found)
			conf_errors_add(errs,
					"%s:%d:%d: gearman.steps: \"%s\" names no step "
					"(\"template/step\" of %s)",
					conf->path, g->line, g->col, g->steps[i], conf->tpl_path);
		free(name);
	}
	if (g->nservers == 0 && (g->ntemplates > 0 || g->nsteps > 0))
		conf_errors_add(errs, "%s:%d:%d: gearman: templates or steps without servers",
				conf->path, g->line, g->col);
	for (size_t t = 0; t < conf->ntemplates; t++)
		check_nested(conf, &conf->templates[t], errs);
}
