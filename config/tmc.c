/*
 * tmc.c - TMC's rules that tmcwatch keeps on purpose (tmc.h says each one):
 * glob selection, str_ireplace renaming, PHP's empty(), truthiness and
 * trim(), and the two seq rules. Pure functions, no state, no I/O.
 */
#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "tmc.h"
#include "spool.h"
#include "util.h"

static bool
any_match(char *const *pat, size_t n, const char *rel)
{
	for (size_t i = 0; i < n; i++)
		if (pat[i] && fnmatch(pat[i], rel, 0) == 0)
			return true;
	return false;
}

bool
tmc_selected(char *const *include, size_t ninclude, char *const *exclude, size_t nexclude,
	     const char *rel)
{
	return any_match(include, ninclude, rel) && !any_match(exclude, nexclude, rel);
}

/* One str_ireplace: every non-overlapping occurrence, left to right.
 * strncasecmp folds ASCII only in the C locale, which every program keeps
 * (none calls setlocale), as PHP 8.2's str_ireplace does. */
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
tmc_rename(const char *rel, const struct rename_rule *rules, size_t n)
{
	char *out = xstrdup(rel), *next;

	for (size_t i = 0; i < n; i++) {
		if (tmc_empty(rules[i].from) || tmc_empty(rules[i].to))
			continue; /* TMC tested both with empty() and skipped the rule */
		next = ireplace(out, rules[i].from, rules[i].to);
		free(out);
		out = next;
	}
	return out;
}

bool
tmc_empty(const char *s)
{
	return s == NULL || s[0] == '\0' || (s[0] == '0' && s[1] == '\0');
}

bool
tmc_truthy(const struct json *doc, int t)
{
	double d;
	bool b;
	char *s;

	if (t < 0 || json_is_null(doc, t)) /* a missing key is null */
		return false;
	if (json_is_bool(doc, t))
		return json_bool(doc, t, &b) == 0 && b;
	if (json_is_number(doc, t)) /* one json_double refuses is out of range: not 0 */
		return json_double(doc, t, &d) < 0 || d != 0;
	if (json_is_string(doc, t)) {
		bool truthy;

		if ((s = json_strdup(doc, t)) == NULL) /* not decodable: not "" or "0" */
			return doc->tok[t].end > doc->tok[t].start;
		truthy = !tmc_empty(s);
		free(s);
		return truthy;
	}
	return json_count(doc, t) > 0; /* arrays and objects: not empty */
}

static bool
trim_char(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\0' || c == '\x0b';
}

void
tmc_trim(const char **s, size_t *n)
{
	while (*n > 0 && trim_char(**s))
		(*s)++, (*n)--;
	while (*n > 0 && trim_char((*s)[*n - 1]))
		(*n)--;
}

bool
tmc_seq_is_tmc(const char *name)
{
	return strlen(name) == TMC_SEQ_LEN && strspn(name, "0123456789") == TMC_SEQ_LEN;
}

bool
tmc_seq_name_ok(const char *name)
{
	return job_name_ok(name);
}
