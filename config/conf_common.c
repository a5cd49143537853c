/*
 * conf_common.c - what the loader (conf_load.c) and the checker
 * (conf_check.c) both use, so that neither calls the other's internals:
 * the list of error messages and the names of step kinds.
 * (conf_load_logged, in conf_check.c, runs the loader then the checker:
 * calls go check -> load -> common, never back.)
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "conf.h"
#include "util.h"

const char *
step_kind_name(enum step_kind kind)
{
	static const char *const names[] = {"image", "video", "copy", "pass"};

	return (unsigned int)kind < sizeof(names) / sizeof(names[0]) ? names[kind] : "unknown";
}

const char *
step_sampling_name(enum step_sampling s)
{
	static const char *const names[] = {"source", "4:2:0", "4:2:2", "4:4:4"};

	return (unsigned int)s < sizeof(names) / sizeof(names[0]) ? names[s] : "unknown";
}

void
conf_errors_add(struct conf_errors *errs, const char *fmt, ...)
{
	va_list ap;
	char *msg;

	va_start(ap, fmt);
	msg = xvasprintf(fmt, ap);
	va_end(ap);
	errs->msg = xreallocarray(errs->msg, errs->n + 1, sizeof(*errs->msg));
	errs->msg[errs->n++] = msg;
}

void
conf_errors_free(struct conf_errors *errs)
{
	size_t i;

	for (i = 0; i < errs->n; i++)
		free(errs->msg[i]);
	xfree(&errs->msg);
	errs->n = 0;
}
