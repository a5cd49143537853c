/*
 * json.c - strict JSON with comments for configuration and job files.
 *
 * Contract: json_parse() keeps a copy of the text, blanks `//` and `/ * * /`
 * comments with spaces (newlines stay, so every byte keeps its offset and
 * line:col stay true), tokenises with jsmn (one pass to count, one to fill)
 * and then walks the tokens once more, because jsmn's strict mode still
 * accepts a key without a value, missing, doubled or trailing commas, stray
 * colons, malformed literals (`tru`, `01`), raw control characters and bad
 * UTF-8 in strings, duplicate keys and more than one top-level value. What
 * passes is RFC 8259 JSON plus comments, with no NUL in any string.
 *
 * Failure: -1 and one message "name:line:col: what" in the caller's buffer.
 * Nothing is logged; only allocation failure exits (x* allocators). Columns
 * count UTF-8 characters, as an editor does; a non-ASCII character inside a
 * block comment counts as one column per byte, since the comment is blanked.
 *
 * This is the one file that compiles jsmn's parser (see json.h).
 */
#define TMC_JSON_IMPL
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <locale.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "json.h"
#include "spool.h"

#define JSON_MAX_DEPTH 512         /* our walk recurses; jsmn itself does not */
#define JSON_MAX_LEN (INT_MAX / 2) /* jsmn keeps offsets in int */
#define JSON_SHOW 40               /* bytes of a bad literal or key quoted back */

struct parse {
	struct json *doc;
	char *err;
	size_t errlen;
	int depth;
};

/* ---- positions and messages ---- */

static void
off_line_col(const char *text, size_t off, int *line, int *col)
{
	size_t i;

	*line = 1;
	*col = 1;
	for (i = 0; i < off; i++) {
		if (text[i] == '\n') {
			(*line)++;
			*col = 1;
		} else if (((unsigned char)text[i] & 0xC0) != 0x80) {
			(*col)++;
		}
	}
}

static int __attribute__((format(printf, 3, 4)))
parse_fail(struct parse *p, size_t off, const char *fmt, ...)
{
	char what[256];
	va_list ap;
	int line, col;

	if (p->errlen == 0)
		return -1;
	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	off_line_col(p->doc->text, off, &line, &col);
	snprintf(p->err, p->errlen, "%s:%d:%d: %s", p->doc->name, line, col, what);
	return -1;
}

static int
unexpected(struct parse *p, size_t i)
{
	unsigned char c = (unsigned char)p->doc->text[i];

	if (c > ' ' && c < 0x7f)
		return parse_fail(p, i, "unexpected '%c'", c);
	return parse_fail(p, i, "unexpected byte 0x%02x", c);
}

static bool
is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static size_t
skip_blank(const char *s, size_t i, size_t len)
{
	while (i < len && is_blank(s[i]))
		i++;
	return i;
}

/* A token's text including a string's quotes. */
static size_t
span_start(const struct json *doc, int t)
{
	return (size_t)doc->tok[t].start - (doc->tok[t].type == JSMN_STRING);
}

static size_t
span_end(const struct json *doc, int t)
{
	return (size_t)doc->tok[t].end + (doc->tok[t].type == JSMN_STRING);
}

/* ---- UTF-8 and escapes ---- */

/* Length (1..4) of the well-formed UTF-8 sequence at s, or -k where k >= 1
 * is the length of its longest well-formed prefix, which a decoder replaces
 * by one U+FFFD (Unicode's "maximal subpart"). Rejects overlong forms,
 * surrogates and code points above U+10FFFF (Unicode table 3-7). */
static int
utf8_decode(const unsigned char *s, size_t n, uint32_t *cp)
{
	unsigned char lo = 0x80, hi = 0xBF;
	uint32_t c;
	int len, i;

	if (s[0] < 0x80) {
		*cp = s[0];
		return 1;
	}
	if (s[0] >= 0xC2 && s[0] <= 0xDF) {
		len = 2;
		c = s[0] & 0x1F;
	} else if (s[0] >= 0xE0 && s[0] <= 0xEF) {
		len = 3;
		c = s[0] & 0x0F;
		lo = s[0] == 0xE0 ? 0xA0 : lo;
		hi = s[0] == 0xED ? 0x9F : hi;
	} else if (s[0] >= 0xF0 && s[0] <= 0xF4) {
		len = 4;
		c = s[0] & 0x07;
		lo = s[0] == 0xF0 ? 0x90 : lo;
		hi = s[0] == 0xF4 ? 0x8F : hi;
	} else {
		return -1;
	}
	for (i = 1; i < len; i++) {
		if ((size_t)i >= n || s[i] < lo || s[i] > hi)
			return -i;
		c = (c << 6) | (s[i] & 0x3F);
		lo = 0x80;
		hi = 0xBF;
	}
	*cp = c;
	return len;
}

static size_t
utf8_encode(uint32_t cp, char *out)
{
	if (cp < 0x80) {
		out[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		out[0] = (char)(0xC0 | (cp >> 6));
		out[1] = (char)(0x80 | (cp & 0x3F));
		return 2;
	}
	if (cp < 0x10000) {
		out[0] = (char)(0xE0 | (cp >> 12));
		out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
		out[2] = (char)(0x80 | (cp & 0x3F));
		return 3;
	}
	out[0] = (char)(0xF0 | (cp >> 18));
	out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
	out[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
	out[3] = (char)(0x80 | (cp & 0x3F));
	return 4;
}

static int
hex4(const char *s, size_t n, uint32_t *out)
{
	uint32_t v = 0;
	size_t i;
	char c;

	if (n < 4)
		return -1;
	for (i = 0; i < 4; i++) {
		c = s[i];
		if (c >= '0' && c <= '9')
			v = v * 16 + (uint32_t)(c - '0');
		else if (c >= 'a' && c <= 'f')
			v = v * 16 + (uint32_t)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			v = v * 16 + (uint32_t)(c - 'A' + 10);
		else
			return -1;
	}
	*out = v;
	return 0;
}

enum { ESC_BAD = -1, ESC_HEX = -2, ESC_SURROGATE = -3 };

/* Decode the escape at s ("\x..."): bytes consumed (2, 6 or 12 for a
 * surrogate pair), or one of the ESC_* codes. */
static int
escape_decode(const char *s, size_t n, uint32_t *cp)
{
	static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
	const char *hit;
	uint32_t lo;

	if (n < 2 || s[1] == '\0')
		return ESC_BAD;
	if (s[1] != 'u') {
		if ((hit = strchr(from, s[1])) == NULL)
			return ESC_BAD;
		*cp = (unsigned char)to[hit - from];
		return 2;
	}
	if (hex4(s + 2, n - 2, cp) < 0)
		return ESC_HEX;
	if (*cp >= 0xDC00 && *cp <= 0xDFFF)
		return ESC_SURROGATE;
	if (*cp < 0xD800 || *cp > 0xDBFF)
		return 6;
	if (n < 12 || s[6] != '\\' || s[7] != 'u' || hex4(s + 8, n - 8, &lo) < 0 || lo < 0xDC00 ||
	    lo > 0xDFFF)
		return ESC_SURROGATE;
	*cp = 0x10000 + ((*cp - 0xD800) << 10) + (lo - 0xDC00);
	return 12;
}

static int
escape_check(struct parse *p, size_t i, size_t limit)
{
	const char *s = p->doc->text;
	unsigned char c = (unsigned char)s[i + 1];
	uint32_t cp;
	int n = escape_decode(s + i, limit - i, &cp);

	if (n == ESC_HEX)
		return parse_fail(p, i, "invalid \\u escape (four hex digits expected)");
	if (n == ESC_SURROGATE)
		return parse_fail(p, i, "unpaired UTF-16 surrogate in \\u escape");
	if (n == ESC_BAD && c > ' ' && c < 0x7f)
		return parse_fail(p, i, "invalid escape '\\%c'", c);
	if (n == ESC_BAD)
		return parse_fail(p, i, "invalid escape");
	if (cp == 0)
		return parse_fail(p, i, "\\u0000 (NUL) is not allowed in a string");
	return n;
}

/* Check the string whose text starts at i (after its quote) and closes
 * before limit: no raw control character, valid escapes, valid UTF-8. */
static int
string_check(struct parse *p, size_t i, size_t limit)
{
	const unsigned char *s = (const unsigned char *)p->doc->text;
	size_t open = i - 1;
	uint32_t cp;
	int n;

	while (i < limit && s[i] != '"') {
		if (s[i] < 0x20)
			return parse_fail(p, i, "control character in a string (escape it)");
		if (s[i] == '\\')
			n = escape_check(p, i, limit);
		else if (s[i] < 0x80)
			n = 1;
		else if ((n = utf8_decode(s + i, limit - i, &cp)) < 0)
			return parse_fail(p, i, "invalid UTF-8 in a string");
		if (n < 0)
			return -1;
		i += (size_t)n;
	}
	if (i >= limit)
		return parse_fail(p, open, "unterminated string");
	return 0;
}

/* ---- literals ---- */

static size_t
digits(const char *s, size_t i, size_t n)
{
	while (i < n && s[i] >= '0' && s[i] <= '9')
		i++;
	return i;
}

/* RFC 8259 number: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? */
static bool
number_ok(const char *s, size_t n)
{
	size_t i = s[0] == '-', j;

	if (i >= n || s[i] < '0' || s[i] > '9')
		return false;
	i = s[i] == '0' ? i + 1 : digits(s, i, n);
	if (i < n && s[i] == '.') {
		j = digits(s, i + 1, n);
		if (j == i + 1)
			return false;
		i = j;
	}
	if (i < n && (s[i] == 'e' || s[i] == 'E')) {
		i++;
		if (i < n && (s[i] == '+' || s[i] == '-'))
			i++;
		j = digits(s, i, n);
		if (j == i)
			return false;
		i = j;
	}
	return i == n;
}

static bool
literal_ok(const char *s, size_t n)
{
	return (n == 4 && memcmp(s, "true", 4) == 0) || (n == 5 && memcmp(s, "false", 5) == 0) ||
	       (n == 4 && memcmp(s, "null", 4) == 0) || (n > 0 && number_ok(s, n));
}

/* ---- comments and jsmn ---- */

/* Index just past the string opening at s[i] (a '"'), or len. */
static size_t
skip_string(const char *s, size_t len, size_t i)
{
	for (i++; i < len; i++) {
		if (s[i] == '\\')
			i++;
		else if (s[i] == '"')
			return i + 1;
	}
	return len;
}

static void
blank(char *s, size_t from, size_t to)
{
	for (; from < to; from++)
		if (s[from] != '\n')
			s[from] = ' ';
}

static int
comments_blank(struct parse *p)
{
	char *s = p->doc->text, *close;
	size_t len = p->doc->len, i = 0, end;

	/* Windows editors write a byte order mark; RFC 8259 lets a parser
	 * ignore it, and line 1 rarely holds more than "{" */
	if (len >= 3 && memcmp(s, "\xef\xbb\xbf", 3) == 0)
		blank(s, 0, 3);
	while (i < len) {
		if (s[i] == '"') {
			i = skip_string(s, len, i);
		} else if (s[i] == '/' && i + 1 < len && s[i + 1] == '/') {
			for (end = i; end < len && s[end] != '\n'; end++)
				;
			blank(s, i, end);
			i = end;
		} else if (s[i] == '/' && i + 1 < len && s[i + 1] == '*') {
			close = memmem(s + i + 2, len - i - 2, "*/", 2);
			if (close == NULL)
				return parse_fail(p, i, "unterminated comment");
			end = (size_t)(close - s) + 2;
			blank(s, i, end);
			i = end;
		} else {
			i++;
		}
	}
	return 0;
}

/* End of the value starting at i, found by bracket counting alone, so that
 * jsmn's complaints about what follows it can be named "trailing data". */
static size_t
value_end(const char *s, size_t len, size_t i)
{
	int depth = 0;

	for (; i < len; i++) {
		if (s[i] == '"') {
			i = skip_string(s, len, i) - 1;
			if (depth == 0)
				return i + 1;
		} else if (s[i] == '{' || s[i] == '[') {
			depth++;
		} else if (s[i] == '}' || s[i] == ']') {
			if (--depth <= 0)
				return i + 1;
		} else if (depth == 0 && (is_blank(s[i]) || s[i] == ',' || s[i] == ':')) {
			return i;
		}
	}
	return len;
}

static int
unclosed(struct parse *p, unsigned int ntok)
{
	const jsmntok_t *tok = p->doc->tok;
	unsigned int i;

	for (i = ntok; tok != NULL && i-- > 0;)
		if (tok[i].type != JSMN_STRING && tok[i].type != JSMN_PRIMITIVE &&
		    tok[i].start >= 0 && tok[i].end < 0)
			return parse_fail(p, (size_t)tok[i].start, "unclosed '%c'",
					  p->doc->text[tok[i].start]);
	return parse_fail(p, p->doc->len, "unexpected end of input");
}

/* jsmn names no reason and, for strings, points at the opening quote: work
 * out what it objected to. */
static int
jsmn_fail(struct parse *p, const jsmn_parser *jp, int r)
{
	const char *s = p->doc->text;
	size_t len = p->doc->len, pos = jp->pos, root, end, i;

	if (r == JSMN_ERROR_PART && pos < len && s[pos] == '"')
		return parse_fail(p, pos, "unterminated string");
	if (r == JSMN_ERROR_PART || pos >= len)
		return unclosed(p, jp->toknext);
	root = skip_blank(s, 0, len);
	end = value_end(s, len, root);
	if (pos >= end && end > root)
		return parse_fail(p, skip_blank(s, end, len),
				  "trailing data after the top-level value");
	if (s[pos] == '"')
		return string_check(p, pos + 1, len) < 0 ? -1 : unexpected(p, pos);
	if (s[pos] == '{' || s[pos] == '[')
		return parse_fail(p, pos, "object key must be a string");
	if (strchr("-0123456789tfn", s[pos]) == NULL)
		return unexpected(p, pos);
	for (i = pos; i < len && !strchr(" \t\r\n,]}", s[i]); i++)
		if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] >= 0x7f)
			return unexpected(p, i);
	if (jp->toksuper >= 0 && p->doc->tok && p->doc->tok[jp->toksuper].type == JSMN_STRING)
		return parse_fail(p, pos, "expected ',' or '}'");
	return parse_fail(p, pos, "object key must be a string");
}

static int
tokenise(struct parse *p)
{
	struct json *doc = p->doc;
	jsmn_parser jp;
	int n;

	/* jsmn's strict mode wants a delimiter after a top-level number or
	 * literal: lend it the newline a text file ends with anyway. */
	doc->text[doc->len] = '\n';
	jsmn_init(&jp);
	n = jsmn_parse(&jp, doc->text, doc->len + 1, NULL, 0);
	if (n > 0) {
		doc->tok = xcalloc((size_t)n, sizeof(*doc->tok));
		jsmn_init(&jp);
		n = jsmn_parse(&jp, doc->text, doc->len + 1, doc->tok, (unsigned int)n);
	}
	doc->text[doc->len] = '\0';
	if (n < 0)
		return jsmn_fail(p, &jp, n);
	doc->ntok = n;
	return 0;
}

/* ---- the structural walk ---- */

/* Between two tokens: only blanks and, where sep is set, exactly one sep. */
static int
gap_check(struct parse *p, size_t from, size_t to, char sep, char closer)
{
	const char *s = p->doc->text;
	bool seen = false;
	size_t i;

	for (i = from; i < to; i++) {
		if (is_blank(s[i]))
			continue;
		if (s[i] != sep || seen)
			return unexpected(p, i);
		seen = true;
	}
	if (sep == ':' && !seen)
		return parse_fail(p, to, "expected ':'");
	if (sep && !seen)
		return parse_fail(p, to, "expected ',' or '%c'", closer);
	return 0;
}

static int walk_value(struct parse *p, int t, int *next, size_t *end);

/* jsmn makes whatever follows a ':' a child of the token before it, even a
 * number or a string that is already a value: point at that colon. */
static int
stray_colon(struct parse *p, int t)
{
	const char *s = p->doc->text;
	size_t i, to = span_start(p->doc, t + 1);

	for (i = span_end(p->doc, t); i < to; i++)
		if (s[i] == ':')
			return unexpected(p, i);
	return parse_fail(p, to, "unexpected value");
}

struct keyref {
	char *s;
	int tok;
};

static int
keyref_cmp(const void *a, const void *b)
{
	const struct keyref *x = a, *y = b;
	int c = strcmp(x->s, y->s);

	return c ? c : x->tok - y->tok;
}

/* Sorted, so that an object with many keys (a hostile job file) costs
 * n log n; the reported pair is the first repeat in text order. */
static int
dups_check(struct parse *p, int obj)
{
	const struct json *doc = p->doc;
	size_t n = (size_t)doc->tok[obj].size, i, best = 0;
	struct keyref *keys = xcalloc(n, sizeof(*keys));
	int k, line, col, r = 0;

	for (i = 0, k = json_first(doc, obj); k >= 0; k = json_sibling(doc, obj, k), i++) {
		keys[i].s = json_strdup(doc, k);
		keys[i].tok = k;
	}
	qsort(keys, n, sizeof(*keys), keyref_cmp);
	for (i = 1; i < n; i++)
		if (strcmp(keys[i - 1].s, keys[i].s) == 0 &&
		    (!best || keys[i].tok < keys[best].tok))
			best = i;
	if (best) {
		k = keys[best].tok;
		json_line_col(doc, keys[best - 1].tok, &line, &col);
		r = parse_fail(p, span_start(doc, k), "duplicate key \"%.*s\" (first at %d:%d)",
			       doc->tok[k].end - doc->tok[k].start > JSON_SHOW
				       ? JSON_SHOW
				       : doc->tok[k].end - doc->tok[k].start,
			       doc->text + doc->tok[k].start, line, col);
	}
	for (i = 0; i < n; i++)
		free(keys[i].s);
	free(keys);
	return r;
}

static int
walk_member(struct parse *p, int key, int *next, size_t *end)
{
	const struct json *doc = p->doc;
	const jsmntok_t *kt = &doc->tok[key];

	if (kt->type != JSMN_STRING)
		return parse_fail(p, span_start(doc, key), "object key must be a string");
	if (string_check(p, (size_t)kt->start, (size_t)kt->end + 1) < 0)
		return -1;
	if (kt->size == 0)
		return parse_fail(p, span_start(doc, key), "key \"%.*s\" has no value",
				  kt->end - kt->start > JSON_SHOW ? JSON_SHOW : kt->end - kt->start,
				  doc->text + kt->start);
	if (gap_check(p, span_end(doc, key), span_start(doc, key + 1), ':', 0) < 0 ||
	    walk_value(p, key + 1, next, end) < 0)
		return -1;
	/* jsmn hangs a value that follows without a comma on the key */
	if (kt->size > 1)
		return parse_fail(p, span_start(doc, *next), "expected ',' or '}'");
	return 0;
}

static int
walk_container(struct parse *p, int t, int *next, size_t *end)
{
	const struct json *doc = p->doc;
	bool obj = doc->tok[t].type == JSMN_OBJECT;
	char closer = obj ? '}' : ']';
	size_t pos = (size_t)doc->tok[t].start + 1;
	int k, c = t + 1;

	if (++p->depth > JSON_MAX_DEPTH)
		return parse_fail(p, (size_t)doc->tok[t].start, "nested deeper than %d levels",
				  JSON_MAX_DEPTH);
	for (k = 0; k < doc->tok[t].size; k++) {
		if (c >= doc->ntok)
			return parse_fail(p, doc->len, "unexpected end of input");
		if (gap_check(p, pos, span_start(doc, c), k ? ',' : 0, closer) < 0)
			return -1;
		if ((obj ? walk_member(p, c, &c, &pos) : walk_value(p, c, &c, &pos)) < 0)
			return -1;
	}
	if (gap_check(p, pos, (size_t)doc->tok[t].end - 1, 0, closer) < 0)
		return -1;
	if (obj && dups_check(p, t) < 0)
		return -1;
	p->depth--;
	*next = c;
	*end = (size_t)doc->tok[t].end;
	return 0;
}

/* In strict mode jsmn ends a literal only at a blank, ',', ']' or '}', so
 * "1:2" or "1/2" arrive as one token: name the character that cannot be in
 * any literal, else the literal. */
static int
literal_fail(struct parse *p, int t)
{
	const jsmntok_t *tok = &p->doc->tok[t];
	const char *s = p->doc->text;
	int i, n = tok->end - tok->start;
	char c;

	for (i = tok->start; i < tok->end; i++) {
		c = s[i];
		if (!(c >= '0' && c <= '9') && !(c >= 'a' && c <= 'z') && !(c >= 'A' && c <= 'Z') &&
		    c != '.' && c != '+' && c != '-')
			return unexpected(p, (size_t)i);
	}
	return parse_fail(p, (size_t)tok->start, "invalid literal '%.*s'",
			  n > JSON_SHOW ? JSON_SHOW : n, s + tok->start);
}

static int
walk_value(struct parse *p, int t, int *next, size_t *end)
{
	const struct json *doc = p->doc;
	const jsmntok_t *tok = &doc->tok[t];
	int n = tok->end - tok->start;

	if (tok->type == JSMN_OBJECT || tok->type == JSMN_ARRAY)
		return walk_container(p, t, next, end);
	if (tok->type == JSMN_STRING &&
	    string_check(p, (size_t)tok->start, (size_t)tok->end + 1) < 0)
		return -1;
	if (tok->type == JSMN_PRIMITIVE && !literal_ok(doc->text + tok->start, (size_t)n))
		return literal_fail(p, t);
	if (tok->size > 0)
		return stray_colon(p, t);
	*next = t + 1;
	*end = span_end(doc, t);
	return 0;
}

static int
walk_document(struct parse *p)
{
	const struct json *doc = p->doc;
	size_t end = 0, i;
	int next = 0;

	if (doc->ntok == 0) {
		i = skip_blank(doc->text, 0, doc->len);
		return i < doc->len ? unexpected(p, i) : parse_fail(p, i, "empty document");
	}
	if (gap_check(p, 0, span_start(doc, 0), 0, 0) < 0 || walk_value(p, 0, &next, &end) < 0)
		return -1;
	i = skip_blank(doc->text, end, doc->len);
	if (next < doc->ntok || i < doc->len)
		return parse_fail(p, i, "trailing data after the top-level value");
	return 0;
}

/* ---- public: parsing ---- */

int
json_parse(struct json *doc, const char *name, const char *text, size_t len, char *err,
	   size_t errlen)
{
	struct parse p = {doc, err, errlen, 0};
	bool big = len > JSON_MAX_LEN;
	const char *nul;

	memset(doc, 0, sizeof(*doc));
	doc->name = xstrdup(name);
	doc->len = big ? 0 : len;
	doc->text = xmalloc(doc->len + 2); /* + jsmn's borrowed newline + NUL */
	memcpy(doc->text, text, doc->len);
	doc->text[doc->len] = '\0';
	if (big)
		parse_fail(&p, 0, "document larger than %d bytes", JSON_MAX_LEN);
	else if ((nul = memchr(text, '\0', len)) != NULL)
		parse_fail(&p, (size_t)(nul - text), "NUL byte in the input");
	else if (comments_blank(&p) == 0 && tokenise(&p) == 0 && walk_document(&p) == 0)
		return 0;
	json_free(doc);
	return -1;
}

static int
file_read(const char *path, struct strbuf *sb, char *err, size_t errlen)
{
	char buf[65536];
	struct stat st;
	ssize_t n;
	int fd;

	/* O_NONBLOCK: a FIFO planted as a config file must not hang us */
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)) < 0)
		goto fail;
	if (fstat(fd, &st) < 0)
		goto fail;
	if (!S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "%s: not a regular file", path);
		close(fd);
		return -1;
	}
	while ((n = read(fd, buf, sizeof(buf))) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			goto fail;
		sb_add(sb, buf, (size_t)n);
	}
	close(fd);
	return 0;
fail:
	snprintf(err, errlen, "%s: %s", path, strerror(errno));
	if (fd >= 0)
		close(fd);
	return -1;
}

int
json_load_file(struct json *doc, const char *path, char *err, size_t errlen)
{
	struct strbuf sb = {0};
	int r = -1;

	memset(doc, 0, sizeof(*doc));
	if (file_read(path, &sb, err, errlen) == 0)
		r = json_parse(doc, path, sb.buf ? sb.buf : "", sb.len, err, errlen);
	sb_free(&sb);
	return r;
}

void
json_free(struct json *doc)
{
	xfree(&doc->name);
	xfree(&doc->text);
	xfree(&doc->tok);
	doc->len = 0;
	doc->ntok = 0;
}

/* ---- public: navigation ---- */

static bool
tok_ok(const struct json *doc, int t)
{
	return t >= 0 && t < doc->ntok;
}

int
json_next(const struct json *doc, int i)
{
	int pending = 1;

	while (pending > 0 && i < doc->ntok)
		pending += doc->tok[i++].size - 1;
	return i;
}

int
json_first(const struct json *doc, int container)
{
	if (!json_is_object(doc, container) && !json_is_array(doc, container))
		return -1;
	return doc->tok[container].size > 0 ? container + 1 : -1;
}

int
json_sibling(const struct json *doc, int container, int child)
{
	int n;

	if (!tok_ok(doc, child))
		return -1;
	n = json_next(doc, child);
	return n < doc->ntok && doc->tok[n].parent == container ? n : -1;
}

int
json_count(const struct json *doc, int container)
{
	if (!json_is_object(doc, container) && !json_is_array(doc, container))
		return 0;
	return doc->tok[container].size;
}

int
json_get(const struct json *doc, int obj, const char *key)
{
	int k;

	if (!json_is_object(doc, obj))
		return -1;
	for (k = json_first(doc, obj); k >= 0; k = json_sibling(doc, obj, k))
		if (json_streq(doc, k, key))
			return k + 1;
	return -1;
}

/* ---- public: types and values ---- */

static char
first_char(const struct json *doc, int t)
{
	return doc->text[doc->tok[t].start];
}

bool
json_is_string(const struct json *doc, int t)
{
	return tok_ok(doc, t) && doc->tok[t].type == JSMN_STRING;
}

bool
json_is_number(const struct json *doc, int t)
{
	return tok_ok(doc, t) && doc->tok[t].type == JSMN_PRIMITIVE &&
	       (first_char(doc, t) == '-' ||
		(first_char(doc, t) >= '0' && first_char(doc, t) <= '9'));
}

bool
json_is_bool(const struct json *doc, int t)
{
	return tok_ok(doc, t) && doc->tok[t].type == JSMN_PRIMITIVE &&
	       (first_char(doc, t) == 't' || first_char(doc, t) == 'f');
}

bool
json_is_null(const struct json *doc, int t)
{
	return tok_ok(doc, t) && doc->tok[t].type == JSMN_PRIMITIVE && first_char(doc, t) == 'n';
}

bool
json_is_object(const struct json *doc, int t)
{
	return tok_ok(doc, t) && doc->tok[t].type == JSMN_OBJECT;
}

bool
json_is_array(const struct json *doc, int t)
{
	return tok_ok(doc, t) && doc->tok[t].type == JSMN_ARRAY;
}

int
json_bool(const struct json *doc, int t, bool *out)
{
	if (!json_is_bool(doc, t))
		return -1;
	*out = first_char(doc, t) == 't';
	return 0;
}

int
json_int(const struct json *doc, int t, long long *out)
{
	const char *s, *end;
	long long v;

	if (!json_is_number(doc, t))
		return -1;
	s = doc->text + doc->tok[t].start;
	end = doc->text + doc->tok[t].end;
	/* fractions and exponents are not integers, even 1.0 or 1e3 */
	if (memchr(s, '.', (size_t)(end - s)) || memchr(s, 'e', (size_t)(end - s)) ||
	    memchr(s, 'E', (size_t)(end - s)))
		return -1;
	errno = 0;
	v = strtoll(s, (char **)&end, 10);
	if (errno != 0 || end != doc->text + doc->tok[t].end)
		return -1;
	*out = v;
	return 0;
}

int
json_double(const struct json *doc, int t, double *out)
{
	/* JSON's decimal point is '.', whatever LC_NUMERIC a program set */
	locale_t c_locale = newlocale(LC_ALL_MASK, "C", (locale_t)0);
	char *end;
	double v;

	if (!json_is_number(doc, t) || c_locale == (locale_t)0)
		return -1;
	errno = 0;
	v = strtod_l(doc->text + doc->tok[t].start, &end, c_locale);
	freelocale(c_locale);
	if (end != doc->text + doc->tok[t].end || isinf(v))
		return -1;
	*out = v;
	return 0;
}

char *
json_strdup(const struct json *doc, int t)
{
	const char *s;
	char *out, *o;
	size_t n, i = 0;
	uint32_t cp;
	int k;

	if (!json_is_string(doc, t))
		return NULL;
	s = doc->text + doc->tok[t].start;
	n = (size_t)(doc->tok[t].end - doc->tok[t].start);
	out = o = xmalloc(n + 1); /* unescaping never lengthens */
	while (i < n) {
		if (s[i] != '\\') {
			*o++ = s[i++];
			continue;
		}
		k = escape_decode(s + i, n - i, &cp);
		if (k < 0 || cp == 0) {
			free(out);
			return NULL;
		}
		o += utf8_encode(cp, o);
		i += (size_t)k;
	}
	*o = '\0';
	return out;
}

bool
json_streq(const struct json *doc, int t, const char *s)
{
	const char *raw;
	size_t n;
	char *u;
	bool eq;

	if (!json_is_string(doc, t))
		return false;
	raw = doc->text + doc->tok[t].start;
	n = (size_t)(doc->tok[t].end - doc->tok[t].start);
	if (memchr(raw, '\\', n) == NULL)
		return strlen(s) == n && memcmp(raw, s, n) == 0;
	u = json_strdup(doc, t);
	eq = u != NULL && strcmp(u, s) == 0;
	free(u);
	return eq;
}

/* ---- public: positions ---- */

void
json_line_col(const struct json *doc, int t, int *line, int *col)
{
	if (!tok_ok(doc, t)) {
		*line = *col = 0;
		return;
	}
	off_line_col(doc->text, span_start(doc, t), line, col);
}

const char *
json_where(const struct json *doc, int t, char *buf, size_t len)
{
	int line, col;

	if (!tok_ok(doc, t)) {
		snprintf(buf, len, "%s", doc->name ? doc->name : "-");
		return buf;
	}
	json_line_col(doc, t, &line, &col);
	snprintf(buf, len, "%s:%d:%d", doc->name, line, col);
	return buf;
}

/* ---- public: writing ---- */

static void
quote_cp(struct strbuf *sb, uint32_t cp, bool php)
{
	static const char from[] = "\"\\\b\f\n\r\t", to[] = "\"\\bfnrt";
	const char *hit = cp && cp < 0x80 ? strchr(from, (int)cp) : NULL;
	char utf8[4];

	if (hit != NULL) {
		sb_addc(sb, '\\');
		sb_addc(sb, to[hit - from]);
	} else if (cp == '/' && php) {
		sb_adds(sb, "\\/");
	} else if (cp < 0x20) {
		sb_printf(sb, "\\u%04x", (unsigned int)cp);
	} else if (cp < 0x80 || !php) {
		sb_add(sb, utf8, utf8_encode(cp, utf8));
	} else if (cp < 0x10000) {
		sb_printf(sb, "\\u%04x", (unsigned int)cp);
	} else {
		cp -= 0x10000;
		sb_printf(sb, "\\u%04x\\u%04x", (unsigned int)(0xD800 + (cp >> 10)),
			  (unsigned int)(0xDC00 + (cp & 0x3FF)));
	}
}

/* PHP's json_encode() answers invalid UTF-8 with an empty body; a client
 * gets more from valid JSON, so each ill-formed sequence (maximal subpart)
 * becomes U+FFFD, in both modes. */
void
json_quote(struct strbuf *sb, const char *s, bool php_slashes)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n = strlen(s);
	uint32_t cp;
	int k;

	sb_addc(sb, '"');
	while (n > 0) {
		k = utf8_decode(p, n, &cp);
		if (k < 0) {
			cp = 0xFFFD;
			k = -k;
		}
		quote_cp(sb, cp, php_slashes);
		p += k;
		n -= (size_t)k;
	}
	sb_addc(sb, '"');
}
