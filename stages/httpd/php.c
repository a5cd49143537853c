/*
 * php.c - the few PHP behaviours that TMC's API answers are made of, so a
 * TMC client reads the same bodies (doc/TMC.md, REST API): is_numeric(), loose
 * == between strings, arrays that keep their keys' first places, and
 * json_encode() with its default flags ("\/", \uXXXX; invalid UTF-8
 * becomes U+FFFD where PHP returned an empty body, doc/TMC.md, Fixes: API). Comparisons
 * follow PHP 8. trim(), empty() and truthiness are shared with the other
 * programs: config/tmc.c.
 */
#include <stdlib.h>
#include <string.h>

#include "httpd.h"

static bool
num_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

static bool
digit(char c)
{
	return c >= '0' && c <= '9';
}

bool
php_is_numeric(const char *s, size_t n, double *val)
{
	size_t i = 0, j, digits = 0;
	char buf[128];

	while (i < n && num_space(s[i]))
		i++;
	j = i;
	if (i < n && (s[i] == '+' || s[i] == '-'))
		i++;
	while (i < n && digit(s[i]))
		i++, digits++;
	if (i < n && s[i] == '.') {
		i++;
		while (i < n && digit(s[i]))
			i++, digits++;
	}
	if (digits == 0)
		return false;
	if (i < n && (s[i] == 'e' || s[i] == 'E')) {
		size_t k = i + 1;

		if (k < n && (s[k] == '+' || s[k] == '-'))
			k++;
		if (k < n && digit(s[k])) {
			while (k < n && digit(s[k]))
				k++;
			i = k;
		}
	}
	size_t numend = i;
	while (i < n && num_space(s[i]))
		i++;
	if (i != n)
		return false;
	if (val) {
		size_t len = numend - j < sizeof(buf) - 1 ? numend - j : sizeof(buf) - 1;

		memcpy(buf, s + j, len);
		buf[len] = '\0';
		*val = strtod(buf, NULL);
	}
	return true;
}

bool
php_eq(const char *a, const char *b)
{
	double x, y;

	if (a == NULL || b == NULL) /* null == "x": as "" == "x" */
		return strcmp(a ? a : "", b ? b : "") == 0;
	if (php_is_numeric(a, strlen(a), &x) && php_is_numeric(b, strlen(b), &y))
		return x == y;
	return strcmp(a, b) == 0;
}

bool
php_eq_zero(const char *a)
{
	double x;

	if (a == NULL)
		return true;
	return php_is_numeric(a, strlen(a), &x) && x == 0;
}

static int
php_find(const struct php_obj *o, const char *key)
{
	for (size_t i = 0; i < o->n; i++)
		if (strcmp(o->kv[i].key, key) == 0)
			return (int)i;
	return -1;
}

void
php_set(struct php_obj *o, const char *key, const char *json)
{
	int i = php_find(o, key);

	if (i < 0) {
		if (o->n >= PHP_OBJ_MAX)
			fatalx("php_set: more than %d keys", PHP_OBJ_MAX);
		i = (int)o->n++;
		o->kv[i].key = key;
		memset(&o->kv[i].val, 0, sizeof(o->kv[i].val));
	}
	sb_reset(&o->kv[i].val);
	sb_adds(&o->kv[i].val, json);
}

void
php_set_str(struct php_obj *o, const char *key, const char *s)
{
	struct strbuf sb = {0};

	if (s)
		json_quote(&sb, s, true);
	else
		sb_adds(&sb, "null");
	php_set(o, key, sb.buf);
	sb_free(&sb);
}

void
php_set_strn(struct php_obj *o, const char *key, const char *s, size_t n)
{
	char *c = xstrndup(s, n);

	php_set_str(o, key, c);
	free(c);
}

void
php_set_int(struct php_obj *o, const char *key, long long v)
{
	char buf[32];

	snprintf(buf, sizeof(buf), "%lld", v);
	php_set(o, key, buf);
}

bool
php_isset(const struct php_obj *o, const char *key)
{
	int i = php_find(o, key);

	return i >= 0 && strcmp(o->kv[i].val.buf, "null") != 0;
}

void
php_encode(const struct php_obj *o, struct strbuf *out)
{
	sb_addc(out, '{');
	for (size_t i = 0; i < o->n; i++) {
		if (i)
			sb_addc(out, ',');
		json_quote(out, o->kv[i].key, true);
		sb_addc(out, ':');
		sb_adds(out, o->kv[i].val.buf);
	}
	sb_addc(out, '}');
}

void
php_obj_free(struct php_obj *o)
{
	for (size_t i = 0; i < o->n; i++)
		sb_free(&o->kv[i].val);
	o->n = 0;
}

void
php_json_value(const struct json *doc, int t, struct strbuf *out)
{
	char *s;

	if (json_is_string(doc, t) && (s = json_strdup(doc, t)) != NULL) {
		json_quote(out, s, true);
		free(s);
	} else if (json_is_string(doc, t)) {
		sb_adds(out, "null"); /* a string PHP could not have decoded either */
	} else {
		sb_add(out, doc->text + doc->tok[t].start,
		       (size_t)(doc->tok[t].end - doc->tok[t].start));
	}
}
