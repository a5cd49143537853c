/*
 * inline_read.c - an inline template's name and file read back
 * (inline.c makes and writes them): what a stage worker and the
 * supervisor need to find a template that is not in template.json, kept
 * apart from inline.c so that they do not link the hash that names it.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "conf.h"
#include "json.h"
#include "util.h"

bool
inline_name_ok(const char *name)
{
	const char *h = name + strlen(INLINE_PREFIX);

	return strncmp(name, INLINE_PREFIX, strlen(INLINE_PREFIX)) == 0 &&
	       strlen(name) == INLINE_NAME_LEN && strspn(h, "0123456789abcdef") == 12;
}

int
inline_path(char *buf, size_t len, const char *spool_dir, const char *name)
{
	int n = snprintf(buf, len, "%s/%s/%s.json", spool_dir, INLINE_DIR, name);

	if (n < 0 || (size_t)n >= len) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return 0;
}

int
inline_read(const char *spool_dir, const char *name, struct template *tpl, struct conf_errors *errs)
{
	char path[PATH_MAX], err[PATH_MAX + 256];
	struct json doc;
	size_t before = errs->n;

	memset(tpl, 0, sizeof(*tpl));
	if (inline_path(path, sizeof(path), spool_dir, name) < 0) {
		conf_errors_add(errs, "%s/%s: %s", spool_dir, INLINE_DIR, strerror(errno));
		return 1;
	}
	if (json_load_file(&doc, path, err, sizeof(err)) < 0) {
		conf_errors_add(errs, "%s", err);
		return 1;
	}
	if (conf_template_from(&doc, name, tpl, errs) == 0)
		conf_template_check(tpl, path, errs);
	json_free(&doc);
	return (int)(errs->n - before);
}
