/*
 * conf_check.c - what needs the whole configuration: references between
 * entries and files, and files in the config folder, and conf_load_logged()
 * (load, then check); source_ext filters and lookups are route.c's. The
 * checker calls the loader, never the other way round; what both need is
 * in conf_common.c.
 *
 * Contract: conf_check() runs after conf_load(), also after a failed one so
 * that `tmcwatch check` lists everything at once (it skips what the loader
 * left unset), and adds one message per problem, "file:line:col: key: what",
 * returning how many. It changes nothing but each step's source_idx. Errors:
 * a watch naming an undefined site or template; a template without steps;
 * a template or step name that cannot be a folder name (the spool has
 * stages/<template>/<NN>-<step>); a step whose source is neither "hires" nor
 * an EARLIER step that can take the same files, which also rules out cycles;
 * two steps of one name that can take the same file; a per-step "callback"
 * file action whose folder does not exist (stepcb.c); a site's profile or
 * watermark file that does not open. TMC only warned about missing profiles when an
 * image needed them, and the stages still do (a file can vanish later);
 * check makes it an error so it is seen before the first job.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conf.h"
#include "spool.h"

#define NAME_MAX_LEN 64
#define NAME_CHARS "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-"
#define NAME_RULE                                                                                  \
	"cannot be a folder name: use letters (UTF-8 too), digits, _ . - (not '.' first), "        \
	"at most 64 characters"

/* ---- templates and steps ---- */

/* Names become folder names. Non-ASCII (already checked to be UTF-8 by
 * the parser) is allowed: TMC's own README names its templates in Korean. */
static bool
name_ok(const char *s)
{
	size_t chars = 0;

	if (s[0] == '\0' || s[0] == '.')
		return false;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p < 0x80 && strchr(NAME_CHARS, *p) == NULL)
			return false;
		chars += (*p & 0xc0) != 0x80;
	}
	return chars <= NAME_MAX_LEN;
}

/* Two entries of one name are alternatives by extension (TMC's image and
 * mp4 "Origin"); if one file could take both, "source": name is ambiguous. */
static void
step_check_twin(const struct template *tpl, size_t i, const char *file, const char *label,
		struct conf_errors *errs)
{
	const struct step *st = &tpl->steps[i], *o;
	size_t j;

	for (j = 0; j < i; j++) {
		o = &tpl->steps[j];
		if (o->name == NULL || strcmp(o->name, st->name) != 0 ||
		    !route_filters_overlap(o->source_ext, st->source_ext))
			continue;
		conf_errors_add(errs,
				"%s:%d:%d: %s[%zu].name: step \"%s\" is already defined at %s[%zu] "
				"for files this one takes too (source_ext \"%s\" and \"%s\")",
				file, st->line, st->col, label, i, st->name, label, j,
				o->source_ext ? o->source_ext : "",
				st->source_ext ? st->source_ext : "");
		return;
	}
}

/* Only earlier steps count, so a forward reference, a step naming itself
 * and any cycle all fail here. */
static void
step_check_source(struct template *tpl, size_t i, const char *file, const char *label,
		  struct conf_errors *errs)
{
	struct step *st = &tpl->steps[i];
	bool named = false;
	size_t j;

	if (st->source == NULL || strcmp(st->source, "hires") == 0)
		return;
	for (j = 0; j < i; j++) {
		if (tpl->steps[j].name == NULL || strcmp(tpl->steps[j].name, st->source) != 0)
			continue;
		named = true;
		if (route_filters_overlap(tpl->steps[j].source_ext, st->source_ext)) {
			st->source_idx = (int)j;
			return;
		}
	}
	if (named)
		conf_errors_add(errs,
				"%s:%d:%d: %s[%zu].source: no earlier step \"%s\" takes the files "
				"this step takes (source_ext \"%s\")",
				file, st->line, st->col, label, i, st->source,
				st->source_ext ? st->source_ext : "");
	else
		conf_errors_add(errs,
				"%s:%d:%d: %s[%zu].source: source \"%s\" is not an earlier step",
				file, st->line, st->col, label, i, st->source);
}

static void
step_check(struct template *tpl, size_t i, const char *file, const char *label,
	   struct conf_errors *errs)
{
	struct step *st = &tpl->steps[i];

	st->source_idx = -1;
	if (st->name == NULL) /* the loader said so */
		return;
	if (!name_ok(st->name))
		conf_errors_add(errs, "%s:%d:%d: %s[%zu].name: step name \"%s\" %s", file, st->line,
				st->col, label, i, st->name, NAME_RULE);
	else if (strcmp(st->name, "hires") == 0)
		conf_errors_add(errs, "%s:%d:%d: %s[%zu].name: \"hires\" names the original", file,
				st->line, st->col, label, i);
	step_cb_check(st, file, label, i, errs);
	step_check_twin(tpl, i, file, label, errs);
	step_check_source(tpl, i, file, label, errs);
}

int
conf_template_check(struct template *tpl, const char *file, struct conf_errors *errs)
{
	char *label = tpl->name ? xasprintf("%s.proc", tpl->name) : xstrdup("proc");
	size_t before = errs->n, i;

	if (tpl->name && !name_ok(tpl->name))
		conf_errors_add(errs, "%s:%d:%d: %s: template name \"%s\" %s", file, tpl->line,
				tpl->col, tpl->name, tpl->name, NAME_RULE);
	if (tpl->nsteps == 0)
		conf_errors_add(errs, "%s:%d:%d: %s: template has no steps", file, tpl->line,
				tpl->col, label);
	for (i = 0; i < tpl->nsteps; i++)
		step_check(tpl, i, file, label, errs);
	free(label);
	return (int)(errs->n - before);
}

/* ---- sites and watches ---- */

/* Opened, not just stat'ed: an unreadable profile fails the same way later. */
static void
site_file_check(const struct conf *conf, const struct site *site, const char *key, const char *what,
		const char *name, struct conf_errors *errs)
{
	char *path = name[0] == '/' ? xstrdup(name) : xasprintf("%s/%s", conf->dir, name);
	const char *why = NULL;
	struct stat st;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)) < 0 || fstat(fd, &st) < 0)
		why = strerror(errno);
	else if (!S_ISREG(st.st_mode))
		why = "not a regular file";
	if (fd >= 0)
		close(fd);
	if (why)
		conf_errors_add(errs, "%s:%d:%d: site.%s.%s: %s %s: %s", conf->path, site->line,
				site->col, site->name, key, what, path, why);
	free(path);
}

static void
site_check(const struct conf *conf, const struct site *site, struct conf_errors *errs)
{
	size_t i;

	for (i = 0; i < site->ncmyk; i++)
		site_file_check(conf, site, "cmyk", "profile", site->cmyk[i], errs);
	for (i = 0; i < site->nsrgb; i++)
		site_file_check(conf, site, "srgb", "profile", site->srgb[i], errs);
	if (site->watermark)
		site_file_check(conf, site, "watermark", "watermark", site->watermark, errs);
}

static void
watch_check(const struct conf *conf, const struct watch *w, struct conf_errors *errs)
{
	if (w->site && conf_site(conf, w->site) == NULL)
		conf_errors_add(errs,
				"%s:%d:%d: watchdog.%s: site \"%s\" is not defined in \"site\"",
				conf->path, w->line, w->col, w->name, w->site);
	if (w->template && conf_template(conf, w->template) == NULL)
		conf_errors_add(errs,
				"%s:%d:%d: watchdog.%s.template: template \"%s\" is not "
				"defined in %s",
				conf->path, w->line, w->col, w->name, w->template, conf->tpl_path);
}

int
conf_check(struct conf *conf, struct conf_errors *errs)
{
	size_t before = errs->n, i;

	for (i = 0; i < conf->nsites; i++)
		site_check(conf, &conf->sites[i], errs);
	for (i = 0; i < conf->nwatches; i++)
		watch_check(conf, &conf->watches[i], errs);
	for (i = 0; i < conf->ntemplates; i++)
		conf_template_check(&conf->templates[i], conf->tpl_path, errs);
	conf_remote_check(conf, errs);
	return (int)(errs->n - before);
}

int
conf_load_logged(struct conf *conf, const char *path, const char *tpl_path)
{
	struct conf_errors errs = {0};
	int n = conf_load(conf, path, tpl_path, &errs) + conf_check(conf, &errs);

	for (size_t i = 0; i < errs.n; i++)
		log_warnx("%s", errs.msg[i]);
	conf_errors_free(&errs);
	return n;
}
