/*
 * json.h - strict JSON documents on top of jsmn, with comments and positions.
 *
 * One parse per file: the text is kept, `//` and `/ * * /` comments are
 * blanked (so line:col stay true), jsmn tokenises it with JSMN_STRICT and
 * JSMN_PARENT_LINKS, and our own pass rejects what jsmn's strict mode still
 * lets through (a key without a value, duplicate keys, trailing garbage).
 * Accessors never fail loudly: they return -1 / false / NULL and the caller
 * reports with json_where(), so every message can name file:line:col.
 */
#ifndef TMC_JSON_H
#define TMC_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Every includer sees jsmn's types (their layout depends on the two options
 * below, so they are set here, once); only json.c, which defines
 * TMC_JSON_IMPL, compiles jsmn's static parser. Elsewhere its unused static
 * functions would trip -Werror=unused-function. */
#define JSMN_STRICT
#define JSMN_PARENT_LINKS
#ifdef TMC_JSON_IMPL
#define JSMN_STATIC
#else
#define JSMN_HEADER
#endif
#include <jsmn.h>

struct json {
	char *name; /* file name for messages ("-" or a label for buffers) */
	char *text; /* NUL-terminated copy of the input, comments blanked */
	size_t len;
	jsmntok_t *tok;
	int ntok;
};

/* Parse; on error returns -1 and writes "file:line:col: what" into err. */
int json_parse(struct json *doc, const char *name, const char *text, size_t len, char *err,
	       size_t errlen);
int json_load_file(struct json *doc, const char *path, char *err, size_t errlen);
void json_free(struct json *doc);

/* Token index of member `key` of object token `obj`, or -1. The index is
 * the member's value; its key is the token before it. */
int json_get(const struct json *doc, int obj, const char *key);
/* Index of the next sibling token after token i (skips its subtree). */
int json_next(const struct json *doc, int i);
/* Iterate: for (k = json_first(doc, obj); k > 0; k = json_next(doc, k + 1) - 1)
 * is awkward, so use these: object members yield key tokens, arrays values. */
int json_first(const struct json *doc, int container);              /* first child or -1 */
int json_sibling(const struct json *doc, int container, int child); /* next or -1 */
int json_count(const struct json *doc, int container);              /* number of children */

bool json_is_string(const struct json *doc, int t);
bool json_is_number(const struct json *doc, int t);
bool json_is_bool(const struct json *doc, int t);
bool json_is_null(const struct json *doc, int t);
bool json_is_object(const struct json *doc, int t);
bool json_is_array(const struct json *doc, int t);

/* Values. Return 0 on success, -1 on wrong type or range. */
int json_bool(const struct json *doc, int t, bool *out);
int json_int(const struct json *doc, int t, long long *out);
int json_double(const struct json *doc, int t, double *out);
/* Unescaped UTF-8 copy (malloc); NULL when not a string or the escape is bad
 * or it contains a NUL. */
char *json_strdup(const struct json *doc, int t);
/* True when string token t equals s (after unescaping). */
bool json_streq(const struct json *doc, int t, const char *s);

/* "file:line:col" of token t into buf. */
const char *json_where(const struct json *doc, int t, char *buf, size_t len);
void json_line_col(const struct json *doc, int t, int *line, int *col);

/* Write s as a JSON string literal (with quotes) into a growing buffer; PHP
 * json_encode style when php_slashes is set ("/" as "\/", non-ASCII as \uXXXX). */
struct strbuf;
void json_quote(struct strbuf *sb, const char *s, bool php_slashes);

#endif
