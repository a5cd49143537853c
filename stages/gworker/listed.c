/*
 * listed.c - whether every gearmand still lists this worker with its
 * functions (tmcwatch-worker(8), "Registration").
 *
 * libgearman reconnects by itself when a gearmand restarts or a network
 * partition ends, and that reconnect does not reliably register the
 * functions again: gearmand then lists the worker by name with no
 * functions, while libgearman waits for work that never comes. So an idle
 * tmc-gworker asks each server's admin "workers" listing now and then and
 * trusts only what gearmand says. The listing names a connection by its
 * identifier, the host name, which the tmc-gworker processes of one host
 * share: a server is right when it lists the name at least once, every
 * connection of that name with all the functions this process registered,
 * and no nameless connection with one of them (libgearman's reconnect
 * seen both ways: the name without the functions, the functions without
 * the name). A sibling's (or another host's) half-registered connection
 * makes each process that sees it connect afresh, which is harmless and
 * heals it too.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gworker.h"

#define ADMIN_TIMEOUT_MS 2000

/* fn is one of the space-separated words of list[0..len). */
static bool
has_word(const char *list, size_t len, const char *fn)
{
	size_t fl = strlen(fn);

	for (const char *p = list, *end = list + len; p < end;) {
		size_t k = strcspn(p, " \n");

		if (p + k > end)
			k = (size_t)(end - p);
		if (k == fl && memcmp(p, fn, fl) == 0)
			return true;
		p += k + 1;
	}
	return false;
}

enum line_state { OTHER, OURS_SHORT, OURS_WHOLE, NAMELESS_OURS };

/* One listing line "<fd> <ip> <id> : fn fn ...": another's; of this host's
 * name, short of a function or with every one; or nameless ("-") with one of
 * our functions: a tmc-gworker whose libgearman reconnected without its
 * name (only this program serves these functions, always named). */
static enum line_state
line_state(const struct gw *g, const char *line, size_t len)
{
	char id[sizeof(g->host)] = "";
	const char *colon = memmem(line, len, " : ", 3), *fns;
	size_t flen;
	char fmt[32];
	bool all = true, any = false;

	snprintf(fmt, sizeof(fmt), "%%*s %%*s %%%zus", sizeof(id) - 1);
	if (colon == NULL || sscanf(line, fmt, id) != 1)
		return OTHER;
	fns = colon + 3;
	flen = len - (size_t)(fns - line);
	for (size_t i = 0; i < g->nfns; i++) {
		bool has = has_word(fns, flen, g->fns[i]);

		all = all && has;
		any = any || has;
	}
	if (strcmp(id, g->host) == 0)
		return all ? OURS_WHOLE : OURS_SHORT;
	return strcmp(id, "-") == 0 && any ? NAMELESS_OURS : OTHER;
}

/* 1 listed right, 0 not, -1 the listing could not be had (no verdict). */
static int
server_lists(const struct gw *g, const char *server)
{
	char *a = gear_admin(server, "workers", ADMIN_TIMEOUT_MS);
	int seen = 0, bad = 0;

	if (a == NULL) {
		log_debug("gearmand %s: no worker listing (%s)", server, strerror(errno));
		return -1;
	}
	for (const char *p = a; *p;) {
		size_t len = strcspn(p, "\n");
		enum line_state st = line_state(g, p, len);

		seen += st == OURS_WHOLE || st == OURS_SHORT;
		bad += st == OURS_SHORT || st == NAMELESS_OURS;
		p += len + (p[len] == '\n');
	}
	free(a);
	return seen > 0 && bad == 0;
}

bool
gear_listed(const struct gw *g)
{
	const struct gearman_conf *gc = &g->conf.gearman;

	for (size_t i = 0; i < gc->nservers; i++)
		if (server_lists(g, gc->servers[i]) == 0) {
			log_warnx("gearmand %s does not list this worker (%s) with its %zu "
				  "functions: connecting afresh",
				  gc->servers[i], g->host, g->nfns);
			return false;
		}
	return true;
}

bool
gear_lists_us(const struct gw *g)
{
	const struct gearman_conf *gc = &g->conf.gearman;

	for (size_t i = 0; i < gc->nservers; i++)
		if (server_lists(g, gc->servers[i]) == 1)
			return true;
	return false;
}
