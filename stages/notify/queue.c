/*
 * queue.c - which callbacks in outbox/new/ tmc-notify takes now. Two
 * reasons to leave one there for a while, both kept in memory only (the
 * folder is the truth; losing this costs one scan, never a callback):
 *
 *   deferred  a retry whose not_before is later: its return to new/ wakes
 *             inotify, and claiming it again at once would spin until due;
 *   held      its receiver (host:port of the url) already has
 *             NOTIFY_PER_HOST transfers in flight: it waits, unclaimed,
 *             until one of them ends, so one receiver that hangs cannot
 *             take every transfer.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "notify.h"

void
queue_defer(struct notify *n, const char *id, int64_t due_s)
{
	for (size_t i = 0; i < n->ndef; i++) {
		if (strcmp(n->def[i].id, id) == 0) {
			n->def[i].due_s = due_s;
			return;
		}
	}
	n->def = xreallocarray(n->def, n->ndef + 1, sizeof(*n->def));
	snprintf(n->def[n->ndef].id, sizeof(n->def[n->ndef].id), "%s", id);
	n->def[n->ndef++].due_s = due_s;
}

bool
queue_deferred(struct notify *n, const char *id, int64_t now)
{
	for (size_t i = 0; i < n->ndef; i++) {
		if (strcmp(n->def[i].id, id) != 0)
			continue;
		if (n->def[i].due_s > now)
			return true;
		n->def[i] = n->def[--n->ndef];
		return false;
	}
	return false;
}

/* The scan that follows offers the due items again if they are still in
 * new/ (an operator may have removed one: its entry must not stay due). */
void
queue_forget_due(struct notify *n, int64_t now)
{
	for (size_t i = 0; i < n->ndef;) {
		if (n->def[i].due_s <= now)
			n->def[i] = n->def[--n->ndef];
		else
			i++;
	}
}

long
queue_next_due_ms(struct notify *n, int64_t now)
{
	int64_t best = 0;

	for (size_t i = 0; i < n->ndef; i++)
		if (best == 0 || n->def[i].due_s < best)
			best = n->def[i].due_s;
	if (best == 0)
		return -1;
	return best > now ? (long)(best - now) * 1000 : 0;
}

/* "scheme://[user@]host[:port]/..." -> "host:port" in lower case */
static bool
host_of(const char *url, char *host, size_t len)
{
	const char *p = strstr(url, "://"), *end, *at;
	size_t n;

	if (p == NULL)
		return false;
	p += 3;
	end = p + strcspn(p, "/?#");
	for (at = p; at < end; at++)
		if (*at == '@')
			p = at + 1;
	n = (size_t)(end - p);
	if (n == 0 || n >= len)
		return false;
	for (size_t i = 0; i < n; i++)
		host[i] = (char)tolower((unsigned char)p[i]);
	host[n] = '\0';
	return true;
}

bool
queue_peek_host(struct notify *n, const char *id, char *host, size_t len)
{
	struct ticket t;
	char path[ITEM_ID_MAX + 16], reason[256], *text;
	size_t tl;
	bool ok = false;

	if (!id_valid(id))
		return false;
	snprintf(path, sizeof(path), "%s/ticket", id);
	if ((text = file_read_at(n->sd.newfd, path, 1 << 20, &tl)) == NULL)
		return false;
	if (ticket_parse(&t, text, tl, reason, sizeof(reason)) == 0) {
		ok = host_of(ticket_get(&t, "url") ?: "", host, len);
		ticket_free(&t);
	}
	free(text);
	return ok;
}

bool
queue_host_busy(struct notify *n, const char *host)
{
	int k = 0;

	for (size_t i = 0; i < NOTIFY_PARALLEL; i++)
		if (n->d[i].busy && strcmp(n->d[i].host, host) == 0)
			k++;
	return k >= NOTIFY_PER_HOST;
}

void
queue_hold(struct notify *n, const char *id, const char *host)
{
	n->held = xreallocarray(n->held, n->nheld + 1, sizeof(*n->held));
	snprintf(n->held[n->nheld].id, sizeof(n->held[n->nheld].id), "%s", id);
	snprintf(n->held[n->nheld].host, sizeof(n->held[n->nheld].host), "%s", host);
	n->nheld++;
}

bool
queue_held(struct notify *n, const char *id)
{
	for (size_t i = 0; i < n->nheld; i++)
		if (strcmp(n->held[i].id, id) == 0)
			return true;
	return false;
}

/* A transfer to host ended: its held items are offered again, in order. */
void
queue_release(struct notify *n, const char *host)
{
	size_t k = 0;

	if (host[0] == '\0')
		return;
	for (size_t i = 0; i < n->nheld; i++) {
		if (strcmp(n->held[i].host, host) != 0) {
			n->held[k++] = n->held[i];
			continue;
		}
		n->ready = xreallocarray(n->ready, n->nready + 1, sizeof(*n->ready));
		n->ready[n->nready++] = xstrdup(n->held[i].id);
	}
	n->nheld = k;
}

const char *
queue_next_ready(struct notify *n)
{
	static char cur[ITEM_ID_MAX];

	if (n->nready == 0)
		return NULL;
	snprintf(cur, sizeof(cur), "%s", n->ready[0]);
	free(n->ready[0]);
	memmove(n->ready, n->ready + 1, --n->nready * sizeof(*n->ready));
	return cur;
}

void
queue_free(struct notify *n)
{
	for (size_t i = 0; i < n->nready; i++)
		free(n->ready[i]);
	xfree(&n->ready);
	xfree(&n->held);
	xfree(&n->def);
	n->nready = n->nheld = n->ndef = 0;
}
