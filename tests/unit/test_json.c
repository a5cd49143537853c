/*
 * test_json.c - json.c: every rejection with its exact file:line:col, the
 * holes jsmn's strict mode leaves open, comments, escapes and UTF-8, the
 * accessors, PHP-style quoting, and TMC's README examples (fixtures/).
 *
 * Tables of labelled cases; a test runs its whole table and prints each
 * failing case's label with what it got, then fails once.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "spool.h"

#define NCASES(a) (sizeof(a) / sizeof((a)[0]))

static int
differs(const char *label, const char *got, const char *want)
{
	if (got == want || (got && want && strcmp(got, want) == 0))
		return 0;
	print_error("%s:\n   got: %s\n  want: %s\n", label, got ? got : "(null)",
		    want ? want : "(null)");
	return 1;
}

static const char *
fixture(const char *name)
{
	static char path[PATH_MAX];
	const char *src = getenv("TMC_SRC");

	snprintf(path, sizeof(path), "%s/tests/unit/fixtures/%s", src ? src : ".", name);
	return path;
}

/* ---- rejections ---- */

struct bad_case {
	const char *label;
	const char *text;
	size_t len; /* 0: strlen(text) */
	const char *err;
};

/* clang-format off */
static const struct bad_case bad_cases[] = {
	/* keys */
	{"key without value", "{\"a\"}", 0, "t.json:1:2: key \"a\" has no value"},
	{"key with colon, no value", "{\"a\":}", 0, "t.json:1:2: key \"a\" has no value"},
	{"key then comma", "{\"a\",\"b\":1}", 0, "t.json:1:2: key \"a\" has no value"},
	{"two keys, no colon", "{\"a\" \"b\"}", 0, "t.json:1:2: key \"a\" has no value"},
	{"last key without value", "{\"a\":1,\n \"b\"}", 0, "t.json:2:2: key \"b\" has no value"},
	{"number as key", "{1:2}", 0, "t.json:1:2: object key must be a string"},
	{"true as key", "{\"a\":1, true:2}", 0, "t.json:1:9: object key must be a string"},
	{"null as key", "{null:1}", 0, "t.json:1:2: object key must be a string"},
	{"object as key", "{{}:1}", 0, "t.json:1:2: object key must be a string"},
	{"array as key", "{\"a\":1,[]:1}", 0, "t.json:1:8: object key must be a string"},
	/* commas */
	{"object: missing comma", "{\"a\":1 \"b\":2}", 0, "t.json:1:8: expected ',' or '}'"},
	{"object: missing comma, number", "{\"a\":1 2}", 0, "t.json:1:8: expected ',' or '}'"},
	{"array: missing comma", "[1 2]", 0, "t.json:1:4: expected ',' or ']'"},
	{"array: missing comma, objects", "[{}\n {}]", 0, "t.json:2:2: expected ',' or ']'"},
	{"array: missing comma, strings", "[\"a\" \"b\"]", 0, "t.json:1:6: expected ',' or ']'"},
	{"array: trailing comma", "[1,]", 0, "t.json:1:3: unexpected ','"},
	{"array: leading comma", "[,1]", 0, "t.json:1:2: unexpected ','"},
	{"array: double comma", "[1,,2]", 0, "t.json:1:4: unexpected ','"},
	{"object: trailing comma", "{\"a\":1,}", 0, "t.json:1:7: unexpected ','"},
	{"object: leading comma", "{,\"a\":1}", 0, "t.json:1:2: unexpected ','"},
	{"object: trailing comma after array", "{\"a\":[1],\n}", 0,
	 "t.json:1:9: unexpected ','"},
	{"comma before the document", ",{}", 0, "t.json:1:1: unexpected ','"},
	/* colons */
	{"colon in array", "[\"a\":1]", 0, "t.json:1:5: unexpected ':'"},
	{"double colon", "{\"a\"::1}", 0, "t.json:1:6: unexpected ':'"},
	{"colon after number value", "{\"a\":1:2}", 0, "t.json:1:7: unexpected ':'"},
	{"colon after string value", "{\"a\":\"b\":\"c\"}", 0, "t.json:1:9: unexpected ':'"},
	{"colon after object in array", "[{\"a\":1}:2]", 0, "t.json:1:9: unexpected ':'"},
	{"lone colon", ":", 0, "t.json:1:1: unexpected ':'"},
	/* trailing data */
	{"two objects", "{}{}", 0, "t.json:1:3: trailing data after the top-level value"},
	{"object then number", "{} 1", 0, "t.json:1:4: trailing data after the top-level value"},
	{"object then word", "{}\n  x", 0, "t.json:2:3: trailing data after the top-level value"},
	{"object then colon", "{}:1", 0, "t.json:1:3: trailing data after the top-level value"},
	{"object then comma", "{\"a\":1}\n\n   ,", 0,
	 "t.json:3:4: trailing data after the top-level value"},
	{"extra closing brace", "{}}", 0, "t.json:1:3: trailing data after the top-level value"},
	{"two strings", "\"a\" \"b\"", 0, "t.json:1:5: trailing data after the top-level value"},
	{"slash after object", "{\"a\":1}/", 0, "t.json:1:8: trailing data after the top-level value"},
	/* duplicates */
	{"duplicate key", "{\"a\":1,\n  \"a\":2}", 0, "t.json:2:3: duplicate key \"a\" (first at 1:2)"},
	{"duplicate key, escaped", "{\"a\":1,\"\\u0061\":2}", 0,
	 "t.json:1:8: duplicate key \"\\u0061\" (first at 1:2)"},
	{"duplicate key, nested", "{\"x\":{\"k\":1,\"j\":2,\"k\":3}}", 0,
	 "t.json:1:19: duplicate key \"k\" (first at 1:7)"},
	{"duplicate key, third of three", "{\"b\":1,\"a\":1,\"b\":2,\"a\":3}", 0,
	 "t.json:1:14: duplicate key \"b\" (first at 1:2)"},
	{"duplicate key, UTF-8 columns", "{\"\xed\x95\x9c\xea\xb8\x80\":1,\"\xed\x95\x9c\xea\xb8\x80\":2}", 0,
	 "t.json:1:9: duplicate key \"\xed\x95\x9c\xea\xb8\x80\" (first at 1:2)"},
	{"duplicate key after comments", "/* c */ {\"a\":1, // x\n /* y */ \"a\":2}", 0,
	 "t.json:2:10: duplicate key \"a\" (first at 1:10)"},
	/* strings */
	{"invalid escape", "[\"ab\\x\"]", 0, "t.json:1:5: invalid escape '\\x'"},
	{"invalid escape in key", "{\"\\q\":1}", 0, "t.json:1:3: invalid escape '\\q'"},
	{"short \\u escape", "[\"\\u12G4\"]", 0,
	 "t.json:1:3: invalid \\u escape (four hex digits expected)"},
	{"\\u0000", "[\"a\\u0000b\"]", 0, "t.json:1:4: \\u0000 (NUL) is not allowed in a string"},
	{"\\u0000 in key", "{\"\\u0000\":1}", 0,
	 "t.json:1:3: \\u0000 (NUL) is not allowed in a string"},
	{"lone high surrogate", "[\"\\ud800\"]", 0,
	 "t.json:1:3: unpaired UTF-16 surrogate in \\u escape"},
	{"lone low surrogate", "[\"\\udc00\"]", 0,
	 "t.json:1:3: unpaired UTF-16 surrogate in \\u escape"},
	{"high surrogate, no low", "[\"\\ud800\\u0041\"]", 0,
	 "t.json:1:3: unpaired UTF-16 surrogate in \\u escape"},
	{"raw tab in string", "[\"a\tb\"]", 0,
	 "t.json:1:4: control character in a string (escape it)"},
	{"raw newline in string", "{\"a\":\"x\ny\"}", 0,
	 "t.json:1:8: control character in a string (escape it)"},
	{"invalid UTF-8 byte", "[\"\xff\"]", 0, "t.json:1:3: invalid UTF-8 in a string"},
	{"truncated UTF-8", "[\"a\xe2\x82\"]", 0, "t.json:1:4: invalid UTF-8 in a string"},
	{"UTF-8 surrogate", "[\"\xed\xa0\x80\"]", 0, "t.json:1:3: invalid UTF-8 in a string"},
	{"overlong UTF-8", "[\"\xc0\xaf\"]", 0, "t.json:1:3: invalid UTF-8 in a string"},
	{"unterminated string", "[\"abc", 0, "t.json:1:2: unterminated string"},
	{"unterminated key", "{\"a\":1,\n \"b", 0, "t.json:2:2: unterminated string"},
	/* literals */
	{"tru", "[tru]", 0, "t.json:1:2: invalid literal 'tru'"},
	{"nul", "{\"a\":nul}", 0, "t.json:1:6: invalid literal 'nul'"},
	{"truex", "[truex]", 0, "t.json:1:2: invalid literal 'truex'"},
	{"leading zero", "[01]", 0, "t.json:1:2: invalid literal '01'"},
	{"bare point", "[1.]", 0, "t.json:1:2: invalid literal '1.'"},
	{"no integer part", "[.5]", 0, "t.json:1:2: unexpected '.'"},
	{"minus alone", "[-]", 0, "t.json:1:2: invalid literal '-'"},
	{"empty exponent", "[1e]", 0, "t.json:1:2: invalid literal '1e'"},
	{"plus sign", "[+1]", 0, "t.json:1:2: unexpected '+'"},
	{"two points", "[1.2.3]", 0, "t.json:1:2: invalid literal '1.2.3'"},
	{"capital TRUE", "[TRUE]", 0, "t.json:1:2: unexpected 'T'"},
	{"slash in number", "[1/2]", 0, "t.json:1:3: unexpected '/'"},
	{"quote in literal", "[tr\"ue\"]", 0, "t.json:1:4: unexpected '\"'"},
	{"single quotes", "{'a':1}", 0, "t.json:1:2: unexpected '''"},
	{"hex number", "[0x10]", 0, "t.json:1:2: invalid literal '0x10'"},
	/* structure */
	{"unclosed object", "{\"a\":1", 0, "t.json:1:1: unclosed '{'"},
	{"unclosed inner array", "{\"a\":[1,\n [2]", 0, "t.json:1:6: unclosed '['"},
	{"mismatched brace", "[1}", 0, "t.json:1:3: unexpected '}'"},
	{"mismatched bracket", "{]", 0, "t.json:1:2: unexpected ']'"},
	{"closing only", "]", 0, "t.json:1:1: unexpected ']'"},
	{"line:col of a later line", "{\n  \"a\":\n  [1,\n   2 3]}", 0,
	 "t.json:4:6: expected ',' or ']'"},
	/* input */
	{"empty", "", 0, "t.json:1:1: empty document"},
	{"only blanks and a comment", "  // only\n", 0, "t.json:2:1: empty document"},
	{"unterminated comment", "{} /* x", 0, "t.json:1:4: unterminated comment"},
	{"NUL byte", "[1,\n 2]\0", 8, "t.json:2:4: NUL byte in the input"},
	{"byte 0x80 outside strings", "[1, \x80]", 0, "t.json:1:5: unexpected byte 0x80"},
	{"lone slash", "[1, /]", 0, "t.json:1:5: unexpected '/'"},
};
/* clang-format on */

static void
test_rejections(void **state)
{
	const struct bad_case *c;
	struct json doc;
	char err[512];
	size_t i;
	int fails = 0, r;

	(void)state;
	for (i = 0; i < NCASES(bad_cases); i++) {
		c = &bad_cases[i];
		err[0] = '\0';
		r = json_parse(&doc, "t.json", c->text, c->len ? c->len : strlen(c->text), err,
			       sizeof(err));
		fails += differs(c->label, r < 0 ? err : "(parsed)", c->err);
		if (r == 0)
			json_free(&doc);
		else
			fails += doc.text != NULL || doc.tok != NULL;
	}
	assert_int_equal(fails, 0);
}

static void
test_deep_nesting(void **state)
{
	char text[2 * 600 + 1];
	struct json doc;
	char err[256];

	(void)state;
	memset(text, '[', 600);
	memset(text + 600, ']', 600);
	text[1200] = '\0';
	assert_int_equal(json_parse(&doc, "t.json", text, 1200, err, sizeof(err)), -1);
	assert_string_equal(err, "t.json:1:513: nested deeper than 512 levels");
	assert_int_equal(json_parse(&doc, "t.json", text + 600 - 512, 1024, err, sizeof(err)), 0);
	json_free(&doc);
}

/* ---- what is accepted ---- */

struct good_case {
	const char *label;
	const char *text;
	const char *key;  /* member of the top object to read, or NULL */
	const char *want; /* its unescaped string */
};

/* clang-format off */
static const struct good_case good_cases[] = {
	{"empty object", "{}", NULL, NULL},
	{"empty array", " [ ] ", NULL, NULL},
	{"top-level number", "42", NULL, NULL},
	{"top-level literal", "true", NULL, NULL},
	{"top-level string", "\"x\"", NULL, NULL},
	{"numbers", "[-0, 0, 1e5, 1E+2, -1.5e-3, 10.25]", NULL, NULL},
	{"CRLF lines", "{\r\n\"a\": \"b\"\r\n}\r\n", "a", "b"},
	{"byte order mark", "\xef\xbb\xbf{\"a\":\"b\"}", "a", "b"},
	{"line comment", "// head\n{\"a\": \"b\" // tail\n}", "a", "b"},
	{"block comment", "{/* one */\"a\"/**/:/* two\n lines */\"b\"}", "a", "b"},
	{"comment at the end, no newline", "{\"a\":\"b\"} // end", "a", "b"},
	{"comment-like text in a string", "{\"a\": \"http://x/*y*/ // z\"}", "a",
	 "http://x/*y*/ // z"},
	{"escaped quote then comment", "{\"a\": \"q\\\"//\" // c\n}", "a", "q\"//"},
	{"comment stars", "{/***/\"a\":\"b\"/* ** */}", "a", "b"},
	{"same key in sibling objects", "{\"x\":{\"a\":1},\"y\":{\"a\":2},\"a\":\"ok\"}", "a", "ok"},
	{"keys differing by case", "{\"A\":1,\"a\":\"lower\"}", "a", "lower"},
	{"simple escapes", "{\"a\":\"\\\"\\\\\\/\\b\\f\\n\\r\\t\"}", "a", "\"\\/\b\f\n\r\t"},
	{"\\u escape, 2-byte", "{\"a\":\"caf\\u00e9\"}", "a", "caf\xc3\xa9"},
	{"\\u escape, 3-byte, upper hex", "{\"a\":\"\\uD55C\\uAE00\"}", "a", "\xed\x95\x9c\xea\xb8\x80"},
	{"surrogate pair", "{\"a\":\"\\ud83d\\ude00!\"}", "a", "\xf0\x9f\x98\x80!"},
	{"raw UTF-8", "{\"a\":\"\xed\x95\x9c \xf0\x9f\x98\x80\"}", "a", "\xed\x95\x9c \xf0\x9f\x98\x80"},
	{"DEL is allowed raw", "{\"a\":\"\x7f\"}", "a", "\x7f"},
	{"escaped key", "{\"\\u0061\":\"b\"}", "a", "b"},
	{"PHP-escaped URL", "{\"a\":\"http:\\/\\/192.168.0.255\\/api\"}", "a",
	 "http://192.168.0.255/api"},
};
/* clang-format on */

static void
test_accepted(void **state)
{
	const struct good_case *c;
	struct json doc;
	char err[512], *s;
	size_t i;
	int fails = 0;

	(void)state;
	for (i = 0; i < NCASES(good_cases); i++) {
		c = &good_cases[i];
		if (json_parse(&doc, "t.json", c->text, strlen(c->text), err, sizeof(err)) < 0) {
			fails += differs(c->label, err, "(parsed)");
			continue;
		}
		if (c->key) {
			s = json_strdup(&doc, json_get(&doc, 0, c->key));
			fails += differs(c->label, s, c->want);
			fails += !json_streq(&doc, json_get(&doc, 0, c->key), c->want);
			free(s);
		}
		json_free(&doc);
	}
	assert_int_equal(fails, 0);
}

/* ---- values ---- */

struct num_case {
	const char *label;
	const char *text; /* the value, parsed as [text] */
	int ok;
	long long i;
	double d;
};

/* clang-format off */
static const struct num_case int_cases[] = {
	{"positive", "42", 0, 42, 0},
	{"negative", "-7", 0, -7, 0},
	{"zero", "0", 0, 0, 0},
	{"minus zero", "-0", 0, 0, 0},
	{"max", "9223372036854775807", 0, LLONG_MAX, 0},
	{"min", "-9223372036854775808", 0, LLONG_MIN, 0},
	{"overflow", "9223372036854775808", -1, 0, 0},
	{"underflow", "-9223372036854775809", -1, 0, 0},
	{"fraction", "1.5", -1, 0, 0},
	{"integral fraction", "1.0", -1, 0, 0},
	{"exponent", "1e3", -1, 0, 0},
	{"string", "\"1\"", -1, 0, 0},
	{"true", "true", -1, 0, 0},
	{"null", "null", -1, 0, 0},
	{"array", "[1]", -1, 0, 0},
};

static const struct num_case double_cases[] = {
	{"integer", "3", 0, 0, 3.0},
	{"fraction", "0.5", 0, 0, 0.5},
	{"negative exponent", "-1.5e-3", 0, 0, -0.0015},
	{"exponent", "2E+2", 0, 0, 200.0},
	{"too large", "1e999", -1, 0, 0},
	{"string", "\"0.5\"", -1, 0, 0},
	{"false", "false", -1, 0, 0},
};

static const struct num_case bool_cases[] = {
	{"true", "true", 0, 1, 0},
	{"false", "false", 0, 0, 0},
	{"null", "null", -1, 0, 0},
	{"one", "1", -1, 0, 0},
	{"string", "\"true\"", -1, 0, 0},
};
/* clang-format on */

enum num_kind { NUM_INT, NUM_DOUBLE, NUM_BOOL };

static int
num_case_run(const struct num_case *c, enum num_kind kind)
{
	char text[128], err[256], label[160];
	struct json doc;
	long long i = 0;
	double d = 0;
	bool b = false;
	int r;

	snprintf(text, sizeof(text), "[%s]", c->text);
	snprintf(label, sizeof(label), "%s: %s",
		 kind == NUM_INT    ? "int"
		 : kind == NUM_BOOL ? "bool"
				    : "double",
		 c->label);
	if (json_parse(&doc, "t.json", text, strlen(text), err, sizeof(err)) < 0)
		return differs(label, err, "(parsed)");
	r = kind == NUM_INT    ? json_int(&doc, 1, &i)
	    : kind == NUM_BOOL ? json_bool(&doc, 1, &b)
			       : json_double(&doc, 1, &d);
	json_free(&doc);
	if (r != c->ok || (r == 0 && kind == NUM_INT && i != c->i) ||
	    (r == 0 && kind == NUM_BOOL && b != (c->i != 0)) ||
	    (r == 0 && kind == NUM_DOUBLE && d != c->d)) {
		print_error("%s: returned %d, %lld / %g / %d\n", label, r, i, d, b);
		return 1;
	}
	return 0;
}

static void
test_values(void **state)
{
	size_t i;
	int fails = 0;

	(void)state;
	for (i = 0; i < NCASES(int_cases); i++)
		fails += num_case_run(&int_cases[i], NUM_INT);
	for (i = 0; i < NCASES(double_cases); i++)
		fails += num_case_run(&double_cases[i], NUM_DOUBLE);
	for (i = 0; i < NCASES(bool_cases); i++)
		fails += num_case_run(&bool_cases[i], NUM_BOOL);
	assert_int_equal(fails, 0);
}

/* ---- navigation and positions ---- */

static const char nav_text[] = "{\"a\": [1, {\"b\": 2}, 3],\n"
			       " \"c\": {\"d\": \"e\"},\n"
			       " \"f\": null, \"g\": false}";

static void
test_navigation(void **state)
{
	struct json doc;
	char err[256], where[64];
	int a, c, k, n, line, col;

	(void)state;
	assert_int_equal(json_parse(&doc, "nav.json", nav_text, strlen(nav_text), err, sizeof(err)),
			 0);
	assert_true(json_is_object(&doc, 0));
	assert_int_equal(json_count(&doc, 0), 4);
	a = json_get(&doc, 0, "a");
	assert_true(json_is_array(&doc, a));
	assert_int_equal(json_count(&doc, a), 3);
	assert_true(json_streq(&doc, a - 1, "a")); /* the key is the token before */
	k = json_first(&doc, a);
	assert_true(json_is_number(&doc, k));
	k = json_sibling(&doc, a, k);
	assert_true(json_is_object(&doc, k));
	assert_int_equal(json_get(&doc, k, "b"), k + 2);
	k = json_sibling(&doc, a, k);
	assert_int_equal(json_sibling(&doc, a, k), -1);
	/* json_next skips a whole member: key, value and its subtree */
	assert_int_equal(json_next(&doc, 1), json_get(&doc, 0, "c") - 1);
	c = json_get(&doc, 0, "c");
	assert_int_equal(json_next(&doc, c), json_get(&doc, 0, "f") - 1);
	assert_true(json_is_null(&doc, json_get(&doc, 0, "f")));
	assert_true(json_is_bool(&doc, json_get(&doc, 0, "g")));
	assert_false(json_is_string(&doc, json_get(&doc, 0, "g")));
	/* members are keys; missing and wrong containers are -1 */
	n = 0;
	for (k = json_first(&doc, 0); k >= 0; k = json_sibling(&doc, 0, k))
		n++;
	assert_int_equal(n, 4);
	assert_int_equal(json_get(&doc, 0, "zz"), -1);
	assert_int_equal(json_get(&doc, a, "a"), -1);
	assert_int_equal(json_first(&doc, json_get(&doc, 0, "f")), -1);
	assert_int_equal(json_count(&doc, json_get(&doc, 0, "f")), 0);
	assert_int_equal(json_first(&doc, json_get(&doc, c, "d")), -1);
	assert_null(json_strdup(&doc, a));
	assert_false(json_is_object(&doc, -1));
	assert_false(json_is_object(&doc, doc.ntok));
	/* positions: strings at their opening quote */
	json_line_col(&doc, json_get(&doc, c, "d"), &line, &col);
	assert_int_equal(line, 2);
	assert_int_equal(col, 13);
	assert_string_equal(json_where(&doc, json_get(&doc, 0, "f") - 1, where, sizeof(where)),
			    "nav.json:3:2");
	assert_string_equal(json_where(&doc, -1, where, sizeof(where)), "nav.json");
	json_line_col(&doc, 999, &line, &col);
	assert_int_equal(line, 0);
	json_free(&doc);
	json_free(&doc); /* twice is harmless */
}

/* ---- quoting ---- */

struct quote_case {
	const char *label;
	const char *in;
	bool php;
	const char *want;
	bool lossy; /* invalid UTF-8 in: it reads back with U+FFFD */
};

/* clang-format off */
static const struct quote_case quote_cases[] = {
	{"plain", "abc", false, "\"abc\"", false},
	{"empty", "", true, "\"\"", false},
	{"quote and backslash", "a\"b\\c", false, "\"a\\\"b\\\\c\"", false},
	{"control characters", "\b\f\n\r\t\x01\x1f", false, "\"\\b\\f\\n\\r\\t\\u0001\\u001f\"", false},
	{"slash plain", "a/b", false, "\"a/b\"", false},
	{"slash php", "http://x/y", true, "\"http:\\/\\/x\\/y\"", false},
	{"UTF-8 plain", "caf\xc3\xa9", false, "\"caf\xc3\xa9\"", false},
	{"UTF-8 php", "caf\xc3\xa9", true, "\"caf\\u00e9\"", false},
	{"Hangul php", "\xed\x95\x9c\xea\xb8\x80", true, "\"\\ud55c\\uae00\"", false},
	{"astral php", "\xf0\x9f\x98\x80", true, "\"\\ud83d\\ude00\"", false},
	{"astral plain", "\xf0\x9f\x98\x80", false, "\"\xf0\x9f\x98\x80\"", false},
	{"DEL stays", "\x7f", true, "\"\x7f\"", false},
	{"invalid byte php", "a\xff" "b", true, "\"a\\ufffdb\"", true},
	{"invalid byte plain", "a\xff" "b", false, "\"a\xef\xbf\xbd" "b\"", true},
	{"truncated sequence is one U+FFFD", "\xe2\x82" "x", true, "\"\\ufffdx\"", true},
	{"surrogate bytes, three U+FFFD", "\xed\xa0\x80", true, "\"\\ufffd\\ufffd\\ufffd\"", true},
	{"overlong, two U+FFFD", "\xc0\xaf", true, "\"\\ufffd\\ufffd\"", true},
	{"lone continuation", "\x80", false, "\"\xef\xbf\xbd\"", true},
};
/* clang-format on */

static void
test_quote(void **state)
{
	struct strbuf sb = {0};
	struct json doc;
	char err[256], *back;
	size_t i;
	int fails = 0;

	(void)state;
	for (i = 0; i < NCASES(quote_cases); i++) {
		sb_reset(&sb);
		json_quote(&sb, quote_cases[i].in, quote_cases[i].php);
		fails += differs(quote_cases[i].label, sb.buf, quote_cases[i].want);
		/* every output is a JSON string that reads back; valid input round-trips
		 */
		if (json_parse(&doc, "q", sb.buf, sb.len, err, sizeof(err)) < 0) {
			fails += differs(quote_cases[i].label, err, "(parsed)");
			continue;
		}
		back = json_strdup(&doc, 0);
		if (!quote_cases[i].lossy)
			fails += differs(quote_cases[i].label, back, quote_cases[i].in);
		free(back);
		json_free(&doc);
	}
	sb_free(&sb);
	assert_int_equal(fails, 0);
}

/* ---- files ---- */

static void
test_files(void **state)
{
	static const char *const names[] = {"config.json", "template.json", "job_image.json",
					    "job_video.json", "job_mixed.json"};
	struct json doc;
	char err[PATH_MAX + 64], want[PATH_MAX + 64], *s;
	size_t i;
	int fails = 0;

	(void)state;
	for (i = 0; i < NCASES(names); i++) {
		if (json_load_file(&doc, fixture(names[i]), err, sizeof(err)) < 0)
			fails += differs(names[i], err, "(parsed)");
		else
			json_free(&doc);
	}
	assert_int_equal(fails, 0);
	/* the README's job: an escaped URL and a Korean template name */
	assert_int_equal(json_load_file(&doc, fixture("job_image.json"), err, sizeof(err)), 0);
	s = json_strdup(&doc, json_get(&doc, json_get(&doc, 0, "hires"), "callback"));
	assert_string_equal(s, "http://192.168.0.255/api/convert_end");
	free(s);
	assert_true(json_streq(&doc, json_get(&doc, 0, "template"),
			       "\xed\x85\x9c\xed\x94\x8c\xeb\xa6\xbf\xeb\xaa\x85"));
	json_free(&doc);

	assert_int_equal(json_load_file(&doc, "/nonexistent/t.json", err, sizeof(err)), -1);
	assert_string_equal(err, "/nonexistent/t.json: No such file or directory");
	snprintf(want, sizeof(want), "%s: not a regular file", fixture(""));
	assert_int_equal(json_load_file(&doc, fixture(""), err, sizeof(err)), -1);
	assert_string_equal(err, want);
	assert_null(doc.text);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rejections), cmocka_unit_test(test_deep_nesting),
		cmocka_unit_test(test_accepted),   cmocka_unit_test(test_values),
		cmocka_unit_test(test_navigation), cmocka_unit_test(test_quote),
		cmocka_unit_test(test_files),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
