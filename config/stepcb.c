/*
 * stepcb.c - TMC's per-step "callback" key: an array of actions a step
 * fires for every output it saved (doc/TMC.md, Step options).
 *
 *   {"action": "curl", "target": "http://host/x.php?file=%file%"}
 *   {"action": "file", "target": "/abs/folder/%datetime%", "cmd": "... %file% ..."}
 *
 * Owned here: the shape of one array (parse) and what needs the disk (the
 * folder of a file action exists). The stage queues them in outbox/
 * (stage/stepcb.c); tmc-notify carries them out. Each error is one
 * "file:line:col: key: what" in the caller's list, like the loader's.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "conf.h"
#include "json.h"
#include "spool.h"

/* Always false, so that a check can `return cb_err(...)`. */
static bool __attribute__((format(printf, 5, 6)))
cb_err(const struct json *doc, int tok, const char *path, struct conf_errors *errs, const char *fmt,
       ...)
{
	char where[1024], what[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	json_where(doc, tok, where, sizeof(where));
	conf_errors_add(errs, "%s: %s: %s", where, path, what);
	return false;
}

static bool
is_http(const char *s)
{
	return strncmp(s, "http://", 7) == 0 || strncmp(s, "https://", 8) == 0;
}

/* The file action's target: an absolute path whose last component names
 * the file (%datetime% makes each name new) and whose folder is fixed. */
static const char *
file_target_why(const char *t)
{
	const char *slash = strrchr(t, '/');

	if (t[0] != '/')
		return "must be an absolute path";
	if (strstr(slash, "%datetime%") == NULL)
		return "the file name must contain %datetime% (every callback writes a new file)";
	if (strstr(t, "%datetime%") < slash)
		return "%datetime% may only be in the file name, not in the folder";
	if (strstr(t, "/../") || strstr(t, "/./") || strstr(t, "//"))
		return "must be a plain path (no \"..\", \".\" or \"//\")";
	return NULL;
}

/* One action object into cb; false (reported) when it is not one. */
static bool
cb_one(const struct json *doc, int obj, const char *path, struct step_cb *cb,
       struct conf_errors *errs)
{
	int ta = json_get(doc, obj, "action"), tt = json_get(doc, obj, "target");
	int tc = json_get(doc, obj, "cmd");
	const char *why;

	if (!json_is_object(doc, obj) || ta < 0 || tt < 0)
		return cb_err(doc, obj, path, errs,
			      "expected {\"action\": \"curl\"|\"file\", \"target\": ...}");
	if ((cb->target = json_strdup(doc, tt)) == NULL || cb->target[0] == '\0')
		return cb_err(doc, tt, path, errs, "target: expected a non-empty string");
	if (json_streq(doc, ta, "curl")) {
		cb->action = STEP_CB_CURL;
		if (!is_http(cb->target))
			return cb_err(doc, tt, path, errs,
				      "target: expected an http:// or https:// URL");
		return true;
	}
	if (!json_streq(doc, ta, "file"))
		return cb_err(doc, ta, path, errs, "action: expected \"curl\" or \"file\"");
	cb->action = STEP_CB_FILE;
	if ((why = file_target_why(cb->target)) != NULL)
		return cb_err(doc, tt, path, errs, "target: %s", why);
	if (tc < 0 || (cb->cmd = json_strdup(doc, tc)) == NULL)
		return cb_err(doc, tc < 0 ? obj : tc, path, errs,
			      "cmd: a file action needs a string \"cmd\"");
	return true;
}

int
step_cb_parse(const struct json *doc, int tok, const char *path, struct step *st,
	      struct conf_errors *errs)
{
	size_t before = errs->n;
	size_t i = 0;
	char *p;
	int e;

	if (!json_is_array(doc, tok)) {
		cb_err(doc, tok, path, errs, "expected an array of {\"action\": ...} objects");
		return 1;
	}
	st->callback = xcalloc((size_t)json_count(doc, tok) + 1, sizeof(*st->callback));
	for (e = json_first(doc, tok); e >= 0; e = json_sibling(doc, tok, e), i++) {
		struct step_cb *cb = &st->callback[st->ncallback];

		p = xasprintf("%s[%zu]", path, i);
		if (cb_one(doc, e, p, cb, errs))
			st->ncallback++;
		else
			step_cb_free_one(cb);
		free(p);
	}
	return (int)(errs->n - before);
}

void
step_cb_free_one(struct step_cb *cb)
{
	xfree(&cb->target);
	xfree(&cb->cmd);
}

void
step_cb_free(struct step *st)
{
	for (size_t i = 0; i < st->ncallback; i++)
		step_cb_free_one(&st->callback[i]);
	xfree(&st->callback);
	st->ncallback = 0;
}

/* The folder a file action writes into must exist now (like a profile). */
void
step_cb_check(const struct step *st, const char *file, const char *label, size_t i,
	      struct conf_errors *errs)
{
	struct stat sb;

	for (size_t k = 0; k < st->ncallback; k++) {
		const struct step_cb *cb = &st->callback[k];
		const char *why = NULL;
		char *dir;

		if (cb->action != STEP_CB_FILE)
			continue;
		dir = xstrndup(cb->target, (size_t)(strrchr(cb->target, '/') - cb->target));
		if (dir[0] == '\0')
			dir = (free(dir), xstrdup("/"));
		if (stat(dir, &sb) < 0)
			why = strerror(errno);
		else if (!S_ISDIR(sb.st_mode))
			why = "not a folder";
		if (why)
			conf_errors_add(
				errs, "%s:%d:%d: %s[%zu].callback[%zu].target: folder %s: %s", file,
				st->callback_line, st->callback_col, label, i, k, dir, why);
		free(dir);
	}
}
