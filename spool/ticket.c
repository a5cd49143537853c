/*
 * ticket.c - an item's ticket: small key=value text, one pair per line.
 *
 * Keys are [a-z0-9_]+; values are escaped (backslash, newline, tab) so any
 * file name survives. A ticket is self-describing (tmcwatch-spool(5),
 * Tickets: a worker must need nothing else), so parse is strict: a line that is not
 * key=value, a bad key or a bad escape rejects the whole ticket, and the
 * item goes to err/ with the reason instead of being half understood.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "spool.h"

static bool
key_ok(const char *k, size_t n)
{
	if (n == 0)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((k[i] >= 'a' && k[i] <= 'z') || (k[i] >= '0' && k[i] <= '9') || k[i] == '_'))
			return false;
	return true;
}

static char *
unescape(const char *s, size_t n)
{
	char *out = xmalloc(n + 1), *o = out;

	for (size_t i = 0; i < n; i++) {
		if (s[i] != '\\') {
			*o++ = s[i];
			continue;
		}
		if (++i == n)
			goto bad;
		switch (s[i]) {
		case '\\': *o++ = '\\'; break;
		case 'n': *o++ = '\n'; break;
		case 't': *o++ = '\t'; break;
		default: goto bad;
		}
	}
	*o = '\0';
	return out;
bad:
	free(out);
	return NULL;
}

int
ticket_parse(struct ticket *t, const char *buf, size_t len, char *reason, size_t rlen)
{
	const char *p = buf, *end = buf + len;
	int line = 0;

	memset(t, 0, sizeof(*t));
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *eq;
		char *val;

		line++;
		if (nl == NULL) {
			snprintf(reason, rlen, "ticket line %d: no newline at end", line);
			goto fail;
		}
		eq = memchr(p, '=', (size_t)(nl - p));
		if (eq == NULL || !key_ok(p, (size_t)(eq - p)) ||
		    memchr(p, '\0', (size_t)(nl - p))) {
			snprintf(reason, rlen, "ticket line %d: not key=value", line);
			goto fail;
		}
		if ((val = unescape(eq + 1, (size_t)(nl - eq - 1))) == NULL) {
			snprintf(reason, rlen, "ticket line %d: bad escape", line);
			goto fail;
		}
		char *key = xstrndup(p, (size_t)(eq - p));
		ticket_set(t, key, val);
		free(key);
		free(val);
		p = nl + 1;
	}
	return 0;
fail:
	ticket_free(t);
	return -1;
}

static struct ticket_kv *
ticket_find(const struct ticket *t, const char *key)
{
	for (size_t i = 0; i < t->n; i++)
		if (strcmp(t->kv[i].key, key) == 0)
			return &t->kv[i];
	return NULL;
}

const char *
ticket_get(const struct ticket *t, const char *key)
{
	struct ticket_kv *kv = ticket_find(t, key);

	return kv ? kv->val : NULL;
}

long long
ticket_get_ll(const struct ticket *t, const char *key, long long def)
{
	const char *v = ticket_get(t, key);
	char *end;
	long long n;

	if (v == NULL || *v == '\0')
		return def;
	n = strtoll(v, &end, 10);
	return *end == '\0' ? n : def;
}

void
ticket_set(struct ticket *t, const char *key, const char *val)
{
	struct ticket_kv *kv = ticket_find(t, key);

	if (!key_ok(key, strlen(key)))
		fatalx("ticket_set: bad key \"%s\"", key);
	if (kv) {
		free(kv->val);
		kv->val = xstrdup(val);
		return;
	}
	t->kv = xreallocarray(t->kv, t->n + 1, sizeof(*t->kv));
	t->kv[t->n].key = xstrdup(key);
	t->kv[t->n].val = xstrdup(val);
	t->n++;
}

void
ticket_setf(struct ticket *t, const char *key, const char *fmt, ...)
{
	va_list ap;
	char *v;

	va_start(ap, fmt);
	if (vasprintf(&v, fmt, ap) < 0)
		fatal("vasprintf");
	va_end(ap);
	ticket_set(t, key, v);
	free(v);
}

void
ticket_unset(struct ticket *t, const char *key)
{
	struct ticket_kv *kv = ticket_find(t, key);

	if (kv == NULL)
		return;
	free(kv->key);
	free(kv->val);
	*kv = t->kv[--t->n];
}

void
ticket_copy(struct ticket *dst, const struct ticket *src)
{
	memset(dst, 0, sizeof(*dst));
	for (size_t i = 0; i < src->n; i++)
		ticket_set(dst, src->kv[i].key, src->kv[i].val);
}

bool
ticket_copy_without(struct ticket *dst, const struct ticket *src, const char *const *keys)
{
	bool same = true;

	ticket_copy(dst, src);
	for (size_t i = 0; keys[i]; i++) {
		if (ticket_get(dst, keys[i]) != NULL) {
			ticket_unset(dst, keys[i]);
			same = false;
		}
	}
	return same;
}

char *
ticket_format(const struct ticket *t, size_t *len)
{
	struct strbuf sb = {0};

	for (size_t i = 0; i < t->n; i++) {
		sb_adds(&sb, t->kv[i].key);
		sb_addc(&sb, '=');
		for (const char *v = t->kv[i].val; *v; v++) {
			if (*v == '\\')
				sb_adds(&sb, "\\\\");
			else if (*v == '\n')
				sb_adds(&sb, "\\n");
			else if (*v == '\t')
				sb_adds(&sb, "\\t");
			else
				sb_addc(&sb, *v);
		}
		sb_addc(&sb, '\n');
	}
	if (sb.buf == NULL)
		sb_adds(&sb, "");
	if (len)
		*len = sb.len;
	return sb.buf;
}

void
ticket_free(struct ticket *t)
{
	for (size_t i = 0; i < t->n; i++) {
		free(t->kv[i].key);
		free(t->kv[i].val);
	}
	xfree(&t->kv);
	t->n = 0;
}
