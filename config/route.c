/*
 * route.c - the route of an original through a template: the lookups by
 * name, which steps a source_ext filter admits (step_applies), which step
 * each step reads for a file of a given extension (route_source), and from
 * that the steps fed from the original (route_first), the steps fed by one
 * step (route_successor), everything below one step (route_below) and the
 * steps that will run at all (route_reached).
 *
 * One place, because the rule that routes an item (stage/emit.c,
 * stage/worker.c) and the rules that count it finished (tmc-jobs'
 * steps.c, tmc-watch's tally.c) and show it (tmcwatch submit --dry-run)
 * must be the same code. The subtle parts:
 *  - steps may share a name when their filters never take the same file
 *    (TMC's image "Origin" and mp4 "Origin"); "source": name then reads
 *    the LAST earlier step of that name whose filter admits the file
 *    (TMC's im[name] held the latest);
 *  - a step whose source resolves to no step for the extension never runs,
 *    and neither does anything below it.
 * Routes only ever read earlier steps, so the first n steps of a template
 * route exactly as the whole template does: callers that keep a fixed-size
 * bitset (tally.c: 64 steps) pass n.
 */
#include <string.h>
#include <strings.h>

#include "conf.h"

/* ---- lookups ---- */

const struct site *
conf_site(const struct conf *conf, const char *name)
{
	size_t i;

	for (i = 0; name && i < conf->nsites; i++)
		if (conf->sites[i].name && strcmp(conf->sites[i].name, name) == 0)
			return &conf->sites[i];
	return NULL;
}

const struct template *
conf_template(const struct conf *conf, const char *name)
{
	size_t i;

	for (i = 0; name && i < conf->ntemplates; i++)
		if (conf->templates[i].name && strcmp(conf->templates[i].name, name) == 0)
			return &conf->templates[i];
	return NULL;
}

/* ---- source_ext filters ---- */

/* Case-insensitive, and "jpeg" is "jpg" (doc/TMC.md, Fixes: extensions). */
static bool
ext_eq(const char *a, size_t an, const char *b, size_t bn)
{
	if (an == 4 && strncasecmp(a, "jpeg", 4) == 0) {
		a = "jpg";
		an = 3;
	}
	if (bn == 4 && strncasecmp(b, "jpeg", 4) == 0) {
		b = "jpg";
		bn = 3;
	}
	return an == bn && strncasecmp(a, b, an) == 0;
}

/* Is ext (n bytes) an item of the comma list? */
static bool
list_has(const char *list, const char *ext, size_t n)
{
	size_t len;

	for (;; list += len + 1) {
		len = strcspn(list, ",");
		if (ext_eq(list, len, ext, n))
			return true;
		if (list[len] == '\0')
			return false;
	}
}

static bool
filter_applies(const char *filter, const char *ext, size_t n)
{
	if (filter == NULL || *filter == '\0')
		return true;
	if (*filter == '!')
		return !list_has(filter + 1, ext, n);
	return list_has(filter, ext, n);
}

bool
step_applies(const struct step *step, const char *ext)
{
	if (ext == NULL)
		ext = "";
	return filter_applies(step->source_ext, ext, strlen(ext));
}

static bool
filter_positive(const char *f)
{
	return f != NULL && *f != '\0' && *f != '!';
}

/* A negative filter (or "") takes endless extensions, so two of them always
 * meet; else try the positive list. */
bool
route_filters_overlap(const char *a, const char *b)
{
	const char *list = filter_positive(a) ? a : b, *other = list == a ? b : a;
	size_t len;

	if (!filter_positive(list))
		return true;
	for (;; list += len + 1) {
		len = strcspn(list, ",");
		if (filter_applies(other, list, len))
			return true;
		if (list[len] == '\0')
			return false;
	}
}

/* ---- routes ---- */

int
route_source(const struct template *tpl, size_t j, const char *ext)
{
	const struct step *s = &tpl->steps[j];

	if (!step_applies(s, ext))
		return ROUTE_NONE;
	if (strcmp(s->source, "hires") == 0)
		return ROUTE_HIRES;
	for (size_t k = j; k-- > 0;)
		if (strcmp(tpl->steps[k].name, s->source) == 0 && step_applies(&tpl->steps[k], ext))
			return (int)k;
	return ROUTE_NONE;
}

bool
route_first(const struct template *tpl, size_t j, const char *ext)
{
	return route_source(tpl, j, ext) == ROUTE_HIRES;
}

bool
route_successor(const struct template *tpl, size_t idx, size_t j, const char *ext)
{
	return route_source(tpl, j, ext) == (int)idx;
}

size_t
route_reached(const struct template *tpl, const char *ext, uint8_t *mask, size_t n)
{
	size_t count = 0;

	for (size_t j = 0; j < n && j < tpl->nsteps; j++) {
		int k = route_source(tpl, j, ext);

		mask[j] = k == ROUTE_HIRES || (k >= 0 && mask[k]);
		count += mask[j];
	}
	return count;
}

size_t
route_below(const struct template *tpl, size_t idx, const char *ext, uint8_t *mask, size_t n)
{
	size_t count = 0;

	for (size_t j = 0; j < n && j < tpl->nsteps; j++) {
		int k = route_source(tpl, j, ext);

		mask[j] = j > idx && k >= 0 && ((size_t)k == idx || mask[k]);
		count += mask[j];
	}
	return count;
}
