/*
 * jobspec.c - a job file (doc/TMC.md, Job files) checked and resolved against
 * the configuration, so that nothing later can fail on its content; and
 * job_accept(), the door every writer of req/ goes through (tmc-httpd's
 * convert, `tmcwatch submit`), running this same check so that a job is
 * refused with its reason before it is queued, never queued and then sent
 * to err/ by tmc-jobs.
 *
 * On top of job_check() (config/job.c, shared with submit and the API):
 * include is required unless filelist (TMC's README marks it required; doc/TMC.md, Job files);
 * flags take PHP's truthiness (bool, number, string, null); callback is an http(s) URL; capture a
 * number; density a non-negative integer; target.root must be the root of a configured site (TMC
 * took any folder and wrote there as root, doc/TMC.md, Fixes: security); rename pairs that are not
 * two strings are skipped, as TMC skipped them, and a replacement with a ".." component is refused
 * (it would climb out of every step's folder). Lengths: no component of path_head, path_tail or a
 * replacement over NAME_MAX, no folder to scan (site root + path_head + path_tail) and no output
 * folder (root + a step's path_head + path_tail) over PATH_MAX: such a job found nothing and
 * finished silently with 0 files.
 *
 * A path_head without a leading "/" is taken below the site root (TMC
 * joined the strings, naming a sibling of the root).
 *
 * Template or proc (doc/TMC.md, Steps): a known, non-empty "template" wins; else an
 * inline "proc", parsed and checked as template.json's procs are. One that
 * is step for step a configured template runs as that template; any other
 * becomes a template of its own, "inline-<digest>" (inline.c), owned by the
 * jobspec (js->own). job_accept() only checks: tmc-jobs writes the
 * template's file when it takes the job. Errors: -1 with the reason, never
 * fatal.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "job.h"
#include "tmc.h"
#include "util.h"

#define REASON_MAX_JOB 1024

static int
js_err(char *reason, size_t rlen, const struct json *doc, int t, const char *key, const char *what)
{
	char where[512];

	snprintf(reason, rlen, "%s: %s: %s", json_where(doc, t, where, sizeof(where)), key, what);
	return -1;
}

/* PHP truthiness of an optional key (tmc_truthy): 0, or -1 for arrays
 * and objects, which PHP would take but no TMC client sends. */
static int
js_flag(const struct json *doc, int obj, const char *key, bool *out, char *reason, size_t rlen)
{
	int t = json_get(doc, obj, key);
	char name[64];

	snprintf(name, sizeof(name), "hires.%s", key);
	if (t >= 0 && (json_is_array(doc, t) || json_is_object(doc, t))) {
		*out = false;
		return js_err(reason, rlen, doc, t, name, "expected true or false");
	}
	*out = tmc_truthy(doc, t);
	return 0;
}

static void
js_strings(const struct json *doc, int arr, char ***out, size_t *n)
{
	*n = 0;
	*out = xcalloc((size_t)json_count(doc, arr) + 1, sizeof(**out));
	for (int v = json_first(doc, arr); v >= 0; v = json_sibling(doc, arr, v))
		(*out)[(*n)++] = json_strdup(doc, v);
}

static int
js_patterns(struct jobspec *js, const struct json *doc, int hires, char *reason, size_t rlen)
{
	int inc = json_get(doc, hires, "include"), exc = json_get(doc, hires, "exclude");

	if (inc >= 0)
		js_strings(doc, inc, &js->include, &js->ninclude);
	else if (!js->filelist)
		return js_err(reason, rlen, doc, hires, "hires.include",
			      "missing (required unless filelist is true)");
	if (exc >= 0)
		js_strings(doc, exc, &js->exclude, &js->nexclude);
	return 0;
}

/* No component of p longer than NAME_MAX: the kernel would refuse the
 * name (ENAMETOOLONG) and the job would find nothing. */
static int
js_components(const char *p, char *reason, size_t rlen)
{
	while (*p) {
		size_t n = strcspn(p, "/");

		if (n > NAME_MAX) {
			snprintf(reason, rlen, "a path component of %zu bytes (NAME_MAX is %d)", n,
				 NAME_MAX);
			return -1;
		}
		p += n;
		p += *p == '/';
	}
	return 0;
}

static int
js_rename(struct jobspec *js, const struct json *doc, int hires, char *reason, size_t rlen)
{
	int t = json_get(doc, hires, "rename");
	char why[512];

	if (t < 0 || json_is_null(doc, t))
		return 0;
	if (!json_is_object(doc, t))
		return js_err(reason, rlen, doc, t, "hires.rename",
			      "expected an object of \"search\": \"replacement\" pairs");
	js->rename = xcalloc((size_t)json_count(doc, t) + 1, sizeof(*js->rename));
	for (int k = json_first(doc, t); k >= 0; k = json_sibling(doc, t, k)) {
		char *to = json_strdup(doc, k + 1);

		if (to == NULL)
			continue; /* TMC skipped pairs that are not strings */
		js->rename[js->nrename].from = json_strdup(doc, k);
		js->rename[js->nrename++].to = to;
		if (path_check_rel(to, why, sizeof(why)) < 0 ||
		    js_components(to, why, sizeof(why)) < 0)
			return js_err(reason, rlen, doc, k + 1, "hires.rename", why);
	}
	return 0;
}

static int
js_options(struct jobspec *js, const struct json *doc, int hires, char *reason, size_t rlen)
{
	int t;
	double d;
	bool ow;

	if ((t = json_get(doc, hires, "overwrite")) >= 0 && !json_is_null(doc, t)) {
		if (js_flag(doc, hires, "overwrite", &ow, reason, rlen) < 0)
			return -1;
		js->overwrite = ow;
	}
	if ((t = json_get(doc, hires, "capture")) >= 0 && !json_is_null(doc, t)) {
		if (json_double(doc, t, &d) < 0 || d < 0)
			return js_err(reason, rlen, doc, t, "hires.capture",
				      "expected a number of seconds");
		js->capture = xasprintf("%g", d);
	}
	if ((t = json_get(doc, hires, "density")) >= 0 && !json_is_null(doc, t)) {
		long long v;

		if (json_int(doc, t, &v) < 0 || v < 0 || v > INT_MAX)
			return js_err(reason, rlen, doc, t, "hires.density",
				      "expected dots per inch, a non-negative integer");
		js->density = (int)v;
	}
	if ((t = json_get(doc, hires, "callback")) >= 0 && !json_is_null(doc, t)) {
		js->callback = json_strdup(doc, t);
		if (js->callback && js->callback[0] == '\0')
			xfree(&js->callback); /* TMC: only a non-empty callback is called */
		else if (js->callback == NULL || (strncmp(js->callback, "http://", 7) != 0 &&
						  strncmp(js->callback, "https://", 8) != 0))
			return js_err(reason, rlen, doc, t, "hires.callback",
				      "expected an http:// or https:// URL");
	}
	return 0;
}

static size_t
root_len(const char *s)
{
	size_t n = strlen(s);

	while (n > 1 && s[n - 1] == '/')
		n--;
	return n;
}

static int
js_target(struct jobspec *js, const struct conf *conf, const struct json *doc, char *reason,
	  size_t rlen)
{
	int t = json_get(doc, 0, "target"), r;
	char *root;

	js->out_root = xstrdup(js->site->root);
	if (t < 0 || json_is_null(doc, t))
		return 0;
	if (!json_is_object(doc, t) || (r = json_get(doc, t, "root")) < 0 ||
	    (root = json_strdup(doc, r)) == NULL)
		return js_err(reason, rlen, doc, t, "target", "expected {\"root\": \"/folder\"}");
	for (size_t i = 0; i < conf->nsites; i++) {
		const char *sr = conf->sites[i].root;

		if (root_len(sr) == root_len(root) && strncmp(sr, root, root_len(sr)) == 0) {
			free(js->out_root);
			js->out_root = xstrdup(sr);
			free(root);
			return 0;
		}
	}
	free(root);
	return js_err(
		reason, rlen, doc, r, "target.root",
		"must be the root of a site in config.json (outputs stay under a known root)");
}

static bool
streq(const char *a, const char *b)
{
	return a == b || (a && b && strcmp(a, b) == 0);
}

bool
step_equal(const struct step *a, const struct step *b)
{
	return streq(a->name, b->name) && streq(a->source, b->source) &&
	       streq(a->path_head, b->path_head) && a->kind == b->kind &&
	       a->size[0] == b->size[0] && a->size[1] == b->size[1] && a->strip == b->strip &&
	       a->cmyk == b->cmyk && a->srgb == b->srgb && a->force_dir == b->force_dir &&
	       a->overwrite == b->overwrite && a->watermark == b->watermark && a->save == b->save &&
	       a->enlarge == b->enlarge && a->progressive == b->progressive &&
	       a->skipsamesize == b->skipsamesize && a->has_sharpen == b->has_sharpen &&
	       a->sharpen[0] == b->sharpen[0] && a->sharpen[1] == b->sharpen[1] &&
	       a->comp == b->comp && a->bitrate == b->bitrate && a->density == b->density &&
	       a->sampling == b->sampling && streq(a->format, b->format) &&
	       streq(a->source_ext, b->source_ext) && a->timeout == b->timeout &&
	       /* an inline proc has none: one never runs a template's callbacks */
	       a->ncallback == 0 && b->ncallback == 0;
}

static const struct template *
template_same(const struct conf *conf, const struct template *tpl)
{
	for (size_t i = 0; i < conf->ntemplates; i++) {
		const struct template *c = &conf->templates[i];
		size_t j;

		if (c->nsteps != tpl->nsteps)
			continue;
		for (j = 0; j < c->nsteps && step_equal(&c->steps[j], &tpl->steps[j]); j++)
			;
		if (j == c->nsteps)
			return c;
	}
	return NULL;
}

/* A per-step "callback" in a job's inline proc is refused before anything
 * else: it would let whoever may submit a job (the API) make this host
 * request any URL and write files (doc/TMC.md, Fixes: security). Only
 * template.json, the operator's file, may carry them. */
static int
js_inline_callbacks(const struct json *doc, int p, char *reason, size_t rlen)
{
	char key[64];
	int e, i = 0, t;

	for (e = json_first(doc, p); e >= 0; e = json_sibling(doc, p, e), i++) {
		if (!json_is_object(doc, e) || (t = json_get(doc, e, "callback")) < 0)
			continue;
		snprintf(key, sizeof(key), "proc[%d].callback", i);
		return js_err(reason, rlen, doc, t, key,
			      "a job's inline proc may not carry per-step callbacks (they request "
			      "URLs and write files); name a template of template.json instead");
	}
	return 0;
}

/* An inline proc: the same parser and checks as template.json's, so a bad
 * one is refused here with file:line:col; then the configured template it
 * equals, or a template of its own (inline.c) that this jobspec owns. */
static int
js_inline(struct jobspec *js, const struct conf *conf, const struct json *doc, int p, char *reason,
	  size_t rlen)
{
	struct conf_errors errs = {0};
	struct template tpl;
	int r = 0;

	if (js_inline_callbacks(doc, p, reason, rlen) < 0)
		return -1;
	if (conf_proc_parse(doc, p, "proc", conf->skipsamesize, &tpl, &errs) +
		    conf_template_check(&tpl, doc->name, &errs) >
	    0) {
		snprintf(reason, rlen, "%s", errs.msg[0]);
		r = -1;
	} else if ((js->tpl = template_same(conf, &tpl)) == NULL) {
		js->own = xcalloc(1, sizeof(*js->own));
		inline_make(&tpl, js->own);
		js->tpl = js->own;
	}
	conf_template_free(&tpl);
	conf_errors_free(&errs);
	return r;
}

static int
js_template(struct jobspec *js, const struct conf *conf, const struct json *doc, char *reason,
	    size_t rlen)
{
	int t = json_get(doc, 0, "template"), p = json_get(doc, 0, "proc");
	char *name = t >= 0 ? json_strdup(doc, t) : NULL;

	if (name && *name)
		js->tpl = conf_template(conf, name);
	free(name);
	if (js->tpl)
		return 0;
	if (p >= 0 && json_is_array(doc, p) && json_count(doc, p) > 0)
		return js_inline(js, conf, doc, p, reason, rlen);
	return js_err(reason, rlen, doc, t >= 0 ? t : 0, "template",
		      "no such template in template.json, and no proc");
}

static int
js_hires(struct jobspec *js, const struct conf *conf, const struct json *doc, char *reason,
	 size_t rlen)
{
	int hires = json_get(doc, 0, "hires");
	char *site = json_strdup(doc, json_get(doc, hires, "site")), *base;
	int r;

	js->site = conf_site(conf, site);
	free(site);
	js->path_head = json_strdup(doc, json_get(doc, hires, "path_head"));
	js->path_tail = json_strdup(doc, json_get(doc, hires, "path_tail"));
	if (js->path_head[0] && js->path_head[0] != '/') {
		/* TMC joined root and path_head as strings: "site01" named a
		 * sibling of the root; here it is the folder below it */
		char *h = xasprintf("/%s", js->path_head);

		free(js->path_head);
		js->path_head = h;
	}
	if (js_flag(doc, hires, "subdir", &js->subdir, reason, rlen) < 0 ||
	    js_flag(doc, hires, "filelist", &js->filelist, reason, rlen) < 0 ||
	    js_patterns(js, doc, hires, reason, rlen) < 0 ||
	    js_rename(js, doc, hires, reason, rlen) < 0 ||
	    js_options(js, doc, hires, reason, rlen) < 0)
		return -1;
	base = xasprintf("%s%s", js->path_head, js->path_tail);
	r = path_check_rel(base, reason, rlen);
	free(base);
	return r;
}

/* Names the kernel would refuse: a component over NAME_MAX in path_head or
 * path_tail, a folder to scan or to write over PATH_MAX. */
static int
js_lengths(const struct jobspec *js, const struct json *doc, char *reason, size_t rlen)
{
	int hires = json_get(doc, 0, "hires");
	size_t tail = strlen(js->path_tail), n;
	char why[512];

	if (js_components(js->path_head, why, sizeof(why)) < 0)
		return js_err(reason, rlen, doc, json_get(doc, hires, "path_head"),
			      "hires.path_head", why);
	if (js_components(js->path_tail, why, sizeof(why)) < 0)
		return js_err(reason, rlen, doc, json_get(doc, hires, "path_tail"),
			      "hires.path_tail", why);
	if ((n = strlen(js->site->root) + strlen(js->path_head) + tail) >= PATH_MAX) {
		snprintf(why, sizeof(why), "the folder to scan is %zu bytes long (PATH_MAX is %d)",
			 n, PATH_MAX);
		return js_err(reason, rlen, doc, hires, "hires.path_tail", why);
	}
	for (size_t j = 0; j < js->tpl->nsteps; j++) {
		const char *head = js->tpl->steps[j].path_head;

		n = strlen(js->out_root) + (head ? strlen(head) : 0) + tail;
		if (n >= PATH_MAX) {
			snprintf(why, sizeof(why),
				 "step %s writes under a folder of %zu bytes (PATH_MAX is %d)",
				 js->tpl->steps[j].name, n, PATH_MAX);
			return js_err(reason, rlen, doc, hires, "hires.path_tail", why);
		}
	}
	return 0;
}

int
jobspec_load(struct jobspec *js, const struct conf *conf, const char *name, const char *text,
	     size_t len, char *reason, size_t rlen)
{
	struct json doc = {0};
	char err[1024];
	int r = -1;

	memset(js, 0, sizeof(*js));
	js->overwrite = -1;
	if (json_parse(&doc, name, text, len, err, sizeof(err)) < 0)
		snprintf(reason, rlen, "not a JSON job: %s", err);
	else if (job_check(conf, &doc, err, sizeof(err)) < 0)
		snprintf(reason, rlen, "%s", err);
	else if (js_hires(js, conf, &doc, reason, rlen) == 0 &&
		 js_target(js, conf, &doc, reason, rlen) == 0 &&
		 js_template(js, conf, &doc, reason, rlen) == 0 &&
		 js_lengths(js, &doc, reason, rlen) == 0)
		r = 0;
	json_free(&doc);
	if (r < 0)
		jobspec_free(js);
	return r;
}

static void
free_strings(char ***v, size_t n)
{
	for (size_t i = 0; *v && i < n; i++)
		free((*v)[i]);
	xfree(v);
}

void
jobspec_free(struct jobspec *js)
{
	free_strings(&js->include, js->ninclude);
	free_strings(&js->exclude, js->nexclude);
	for (size_t i = 0; js->rename && i < js->nrename; i++) {
		free(js->rename[i].from);
		free(js->rename[i].to);
	}
	xfree(&js->rename);
	xfree(&js->path_head);
	xfree(&js->path_tail);
	xfree(&js->capture);
	xfree(&js->callback);
	xfree(&js->out_root);
	if (js->own) {
		conf_template_free(js->own);
		xfree(&js->own);
	}
	js->tpl = NULL;
	js->site = NULL;
}

/* Each part, and the parts joined: "/a/." + "./b" would climb. */
static int
check_joined(const char *a, const char *b, const char *c, char *reason, size_t rlen)
{
	char *joined = xasprintf("%s%s%s", a, b, c);
	int r = path_check_rel(c, reason, rlen) < 0 || path_check_rel(joined, reason, rlen) < 0;

	free(joined);
	return r ? -1 : 0;
}

int
jobspec_check_file(const struct jobspec *js, const char *rel, char *reason, size_t rlen)
{
	char *out;
	int r = 0;

	if (check_joined(js->path_head, js->path_tail, rel, reason, rlen) < 0)
		return -1;
	out = tmc_rename(rel, js->rename, js->nrename);
	for (size_t j = 0; r == 0 && j < js->tpl->nsteps; j++)
		r = check_joined(js->tpl->steps[j].path_head, js->path_tail, out, reason, rlen);
	free(out);
	return r;
}

/* Trim [*b, *e) as PHP trim(); an inner NUL becomes 0x01, so the path
 * check refuses the line instead of reading half of it. */
static char *
trim_line(char *b, char *e)
{
	const char *s = b;
	size_t n = (size_t)(e - b);

	tmc_trim(&s, &n);
	b += s - b;
	e = b + n;
	for (char *p = b; p < e; p++)
		if (*p == '\0')
			*p = '\x01';
	*e = '\0';
	return b;
}

size_t
job_list_split(char *buf, size_t len, char ***lines)
{
	size_t n = 0, cap = 0;
	char *p = buf, *end = buf + len;

	*lines = NULL;
	while (p < end) {
		char *nl = memchr(p, '\n', (size_t)(end - p));
		char *e = nl ? nl : end;
		char *line = trim_line(p, e);

		if (*line) {
			if (n == cap) {
				cap = cap ? cap * 2 : 64;
				*lines = xreallocarray(*lines, cap, sizeof(**lines));
			}
			(*lines)[n++] = line;
		}
		p = nl ? nl + 1 : end;
	}
	return n;
}

int
job_accept(const struct conf *conf, const char *name, const char *text, size_t len,
	   const char *list, size_t listlen, char *reason, size_t rlen)
{
	struct jobspec js;
	char **lines = NULL, *buf, why[REASON_MAX_JOB];
	size_t n;
	int r = 0;

	if (jobspec_load(&js, conf, name, text, len, reason, rlen) < 0)
		return -1;
	if (list) {
		buf = xmalloc(listlen + 1);
		memcpy(buf, list, listlen);
		buf[listlen] = '\0';
		n = job_list_split(buf, listlen, &lines);
		for (size_t i = 0; r == 0 && i < n; i++)
			if ((r = jobspec_check_file(&js, lines[i], why, sizeof(why))) < 0)
				snprintf(reason, rlen, "file list, file %zu: %s", i + 1, why);
		free(lines);
		free(buf);
	}
	jobspec_free(&js);
	return r;
}

int
job_inline_name(const struct conf *conf, const char *text, size_t len, char *name, size_t nlen)
{
	char reason[REASON_MAX_JOB];
	struct jobspec js;
	int r = 0;

	if (jobspec_load(&js, conf, "job", text, len, reason, sizeof(reason)) < 0)
		return -1;
	if (js.own) {
		snprintf(name, nlen, "%s", js.own->name);
		r = 1;
	}
	jobspec_free(&js);
	return r;
}
