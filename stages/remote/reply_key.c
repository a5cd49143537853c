/*
 * reply_key.c - the reply's numbered header keys and parts, "r.<k>" and
 * "f.<k>" as the protocol first wrote them, or "r_<k>" and "f_<k>" (a
 * ticket key cannot hold a '.'; the worker host writes these): both are
 * read, so that either spelling on the worker host works. Its own file so
 * that apply.c and apply_files.c both use it and call each other one way.
 */
#include <stdio.h>

#include "remote.h"

const char *
reply_key(const struct wire_msg *m, char p, long long k, const struct wire_part **part)
{
	const char *seps = "._", *v = NULL;
	char key[32];

	if (part)
		*part = NULL;
	for (const char *sep = seps; *sep && v == NULL; sep++) {
		snprintf(key, sizeof(key), "%c%c%lld", p, *sep, k);
		v = ticket_get(&m->hdr, key);
	}
	for (const char *sep = seps; part && *sep && *part == NULL; sep++) {
		snprintf(key, sizeof(key), "%c%c%lld", p, *sep, k);
		*part = wire_get(m, key);
	}
	return v;
}
