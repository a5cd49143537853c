/*
 * match.c - the pure parts of tmc-jobs that are TMC's rules: which names in
 * req/ are jobs, include/exclude globs, rename rules, file list lines, the
 * .stat text, item ids and proc/<seq>.log lines. No I/O, no state; unit
 * tests include this file (tests/unit/test_jobs_match.c).
 *
 * Globs are TMC's (TMC-REFERENCE 2.2): fnmatch(3) with flags 0 on the
 * relative name with its leading "/", so '*' and '?' cross '/' and match a
 * leading dot, and matching is case-sensitive. Rename is PHP's str_ireplace
 * (4.4): every occurrence, ASCII case-insensitive, rules in order, a rule
 * whose search or replacement is "" or "0" (PHP's empty()) skipped.
 */
#include <ctype.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "jobs.h"

bool
jm_seq_is_tmc(const char *name)
{
	size_t n = 0;

	for (; name[n]; n++)
		if (!isdigit((unsigned char)name[n]))
			return false;
	return n == 15;
}

bool
jm_seq_ok(const char *name)
{
	size_t n = strlen(name);

	if (n == 0 || n > 40)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)name[i]) && name[i] != '_' && name[i] != '-')
			return false;
	return true;
}

static bool
ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return n >= m && strcmp(s + n - m, suffix) == 0;
}

bool
jm_name_ignored(const char *name)
{
	return name[0] == '.' || name[0] == '\0' || ends_with(name, "~") ||
	       ends_with(name, ".part") || ends_with(name, ".tmp") || ends_with(name, ".swp");
}

static bool
any_match(char *const *pat, size_t n, const char *rel)
{
	for (size_t i = 0; i < n; i++)
		if (fnmatch(pat[i], rel, 0) == 0)
			return true;
	return false;
}

bool
jm_match(char *const *inc, size_t ninc, char *const *exc, size_t nexc, const char *rel)
{
	return any_match(inc, ninc, rel) && !any_match(exc, nexc, rel);
}

static bool
php_empty(const char *s)
{
	return s == NULL || s[0] == '\0' || strcmp(s, "0") == 0;
}

/* One str_ireplace: every non-overlapping occurrence, left to right. */
static char *
ireplace(const char *s, const char *from, const char *to)
{
	size_t nf = strlen(from), nt = strlen(to);
	struct strbuf sb = {0};

	while (*s) {
		if (strncasecmp(s, from, nf) == 0) {
			sb_add(&sb, to, nt);
			s += nf;
		} else {
			sb_addc(&sb, *s++);
		}
	}
	return sb.buf ? sb.buf : xstrdup("");
}

char *
jm_rename(const char *rel, const struct rename_rule *rules, size_t n)
{
	char *out = xstrdup(rel), *next;

	for (size_t i = 0; i < n; i++) {
		if (php_empty(rules[i].from) || php_empty(rules[i].to))
			continue;
		next = ireplace(out, rules[i].from, rules[i].to);
		free(out);
		out = next;
	}
	return out;
}

static bool
php_trim_char(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\0' || c == '\v';
}

/* Trim [*b, *e) as PHP trim(); an inner NUL becomes 0x01, so the path
 * check refuses the line instead of reading half of it. */
static char *
trim_line(char *b, char *e)
{
	while (b < e && php_trim_char(*b))
		b++;
	while (e > b && php_trim_char(e[-1]))
		e--;
	for (char *p = b; p < e; p++)
		if (*p == '\0')
			*p = '\x01';
	*e = '\0';
	return b;
}

size_t
jm_list_split(char *buf, size_t len, char ***lines)
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

static int
parse_count(const char *s, char **end, long long *v)
{
	if (!isdigit((unsigned char)*s))
		return -1;
	*v = strtoll(s, end, 10);
	return 0;
}

int
jm_stat_parse(const char *s, long long v[3])
{
	char *e;

	v[0] = v[1] = v[2] = 0;
	if (parse_count(s, &e, &v[0]) < 0)
		return -1;
	if (*e == '\0' || *e == '\n')
		return 0; /* TMC's scan wrote the bare count */
	if (*e != '\t' || parse_count(e + 1, &e, &v[1]) < 0 || *e != '\t' ||
	    parse_count(e + 1, &e, &v[2]) < 0)
		return -1;
	return *e == '\0' || *e == '\n' ? 0 : -1;
}

void
jm_item_id(char *buf, size_t len, const char *seq, size_t idx)
{
	snprintf(buf, len, "%s-%06zu", seq, idx);
}

int
jm_item_index(const char *seq, const char *id, size_t *idx)
{
	size_t n = strlen(seq);
	const char *p;
	char *e;

	if (strncmp(id, seq, n) != 0 || id[n] != '-')
		return -1;
	p = id + n + 1;
	if (!isdigit((unsigned char)*p))
		return -1;
	*idx = (size_t)strtoull(p, &e, 10);
	return *e == '\0' ? 0 : -1;
}

static int
parse_int(const char *s, int *out)
{
	char *e;
	long v;

	if (*s == '\0')
		return -1;
	v = strtol(s, &e, 10);
	if (*e != '\0' || v < -1000000 || v > 1000000)
		return -1;
	*out = (int)v;
	return 0;
}

int
jm_logline_parse(char *line, struct logline *ll)
{
	char *f[7], *p = line;

	for (int n = 0; n < 6; n++) {
		f[n] = p;
		if ((p = strchr(p, '\t')) == NULL)
			return -1;
		*p++ = '\0';
	}
	f[6] = p; /* the reason: the rest (writers blank tabs in fields) */
	if (f[0][0] == '\0' || parse_int(f[1], &ll->step) < 0 || parse_int(f[3], &ll->created) < 0 ||
	    parse_int(f[4], &ll->warnings) < 0)
		return -1;
	ll->id = f[0];
	ll->name = f[2];
	ll->rel = f[5];
	ll->reason = f[6];
	return 0;
}

uint32_t
jm_hash(const char *s)
{
	uint32_t h = 2166136261u;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h;
}
