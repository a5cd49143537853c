/*
 * test_tmc.c - TMC's rules in config/tmc.c, the one implementation that
 * tmc-jobs, tmc-watch, tmc-httpd and the job check all call: glob
 * selection, str_ireplace renaming, PHP's empty(), truthiness and trim(),
 * and the seq rules. Tables of labelled
 * cases; a failing case prints its label.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tmc.h"
#include "util.h"

#include "cases.h"

static void
test_selection(void **state)
{
	static const struct {
		const char *label, *inc, *exc, *rel;
		bool want;
	} cases[] = {
		{"*.jpg at the top", "*.jpg", NULL, "/a.jpg", true},
		{"*.jpg at any depth ('*' crosses '/')", "*.jpg", NULL, "/s/t/a.jpg", true},
		{"a name without its leading / never matches", "img0004*.jpg", NULL,
		 "/img00041.jpg", false},
		{"with the leading /", "/img0004*.jpg", NULL, "/img00041.jpg", true},
		{"/a*.jpg matches a deeper file", "/a*.jpg", NULL, "/a/b/c.jpg", true},
		{"a folder's files at any depth", "/sub/*", NULL, "/sub/x/y.png", true},
		{"another folder's not", "/sub/*", NULL, "/other/x.png", false},
		{"case-sensitive", "*.jpg", NULL, "/A.JPG", false},
		{"a leading dot is matched", "*", NULL, "/.hidden", true},
		{"? matches /", "?a.jpg", NULL, "/a.jpg", true},
		{"? is one character", "?.jpg", NULL, "/a.jpg", false},
		{"/?.jpg", "/?.jpg", NULL, "/a.jpg", true},
		{"classes", "/[ab].jpg", NULL, "/b.jpg", true},
		{"classes, no match", "/[ab].jpg", NULL, "/c.jpg", false},
		{"two classes", "*.[jp][pn]g", NULL, "/q.png", true},
		{"escape", "/\\*.jpg", NULL, "/*.jpg", true},
		{"escape, no match", "/\\*.jpg", NULL, "/a.jpg", false},
		{"excluded", "*.jpg", "*_l.jpg", "/x_l.jpg", false},
		{"not excluded", "*.jpg", "*_l.jpg", "/x_m.jpg", true},
		{"exclude in a sub-folder", "*", "/skip/*", "/skip/deep/a.jpg", false},
		{"no include: nothing", NULL, NULL, "/a.jpg", false},
	};
	int failed = 0;

	(void)state;
	for (size_t i = 0; i < NCASES(cases); i++) {
		char *inc[1] = {(char *)cases[i].inc}, *exc[1] = {(char *)cases[i].exc};

		failed += fails(cases[i].label,
				tmc_selected(inc, cases[i].inc != NULL, exc, cases[i].exc != NULL,
					     cases[i].rel) != cases[i].want);
	}
	assert_int_equal(failed, 0);
}

static void
test_selection_lists(void **state)
{
	char *inc[] = {"*.png", "/keep/*"}, *exc[] = {"*_l.*", "*/old/*"};

	(void)state;
	assert_true(tmc_selected(inc, 2, exc, 2, "/a.png"));         /* the first include */
	assert_true(tmc_selected(inc, 2, exc, 2, "/keep/a.jpg"));    /* the second */
	assert_false(tmc_selected(inc, 2, exc, 2, "/a.jpg"));        /* neither */
	assert_false(tmc_selected(inc, 2, exc, 2, "/keep/a_l.jpg")); /* the first exclude */
	assert_false(tmc_selected(inc, 2, exc, 2, "/x/old/a.png"));  /* the second */
	assert_true(tmc_selected(inc, 2, NULL, 0, "/keep/a_l.jpg")); /* no exclude */
}

static void
test_rename(void **state)
{
	static struct rename_rule mp4[] = {{"h.mp4", ".mp4"}, {"v.mp4", ".mp4"}};
	static struct rename_rule chain[] = {{"a", "b"}, {"b", "c"}};
	static struct rename_rule empty[] = {{"", "x"},  {"a", ""},   {"a", "0"},
					     {"0", "x"}, {NULL, "x"}, {"a", NULL}};
	static struct rename_rule one_a[] = {{"a", "b"}}, src[] = {{"src", "dst"}};
	static struct rename_rule grow[] = {{"ab", "abab"}}, pair[] = {{"aa", "b"}};
	static struct rename_rule zero[] = {{"00", "1"}}, up[] = {{"JPG", "jpeg"}};
	static const struct {
		const char *label;
		const struct rename_rule *rules;
		size_t n;
		const char *in, *want;
	} cases[] = {
		{"README example", mp4, 2, "/a/clip_h.mp4", "/a/clip_.mp4"},
		{"case-insensitive match, replacement as given", mp4, 2, "/A/CLIP_H.MP4",
		 "/A/CLIP_.mp4"},
		{"an upper-case search", up, 1, "/a.jpg", "/a.jpeg"},
		{"every occurrence", mp4, 2, "/xh.mp4/yv.mp4", "/x.mp4/y.mp4"},
		{"every occurrence, any case", one_a, 1, "/aAa/xa.jpg", "/bbb/xb.jpg"},
		{"folders too", src, 1, "/src/src.jpg", "/dst/dst.jpg"},
		{"rules in order, on the result", chain, 2, "/a", "/c"},
		{"\"\", \"0\" and null (PHP empty) skipped", empty, 6, "/a0.jpg", "/a0.jpg"},
		{"\"00\" is not empty()", zero, 1, "/a00.jpg", "/a1.jpg"},
		{"the replacement is not rescanned", grow, 1, "/ab", "/abab"},
		{"occurrences do not overlap, from the left", pair, 1, "/aaa", "/ba"},
		{"no rules", NULL, 0, "/a.jpg", "/a.jpg"},
		{"an empty name", one_a, 1, "", ""},
	};
	int failed = 0;

	(void)state;
	for (size_t i = 0; i < NCASES(cases); i++) {
		char *got = tmc_rename(cases[i].in, cases[i].rules, cases[i].n);

		failed += fails(cases[i].label, strcmp(got, cases[i].want) != 0);
		free(got);
	}
	assert_int_equal(failed, 0);
}

static void
test_empty(void **state)
{
	(void)state;
	assert_true(tmc_empty(NULL) && tmc_empty("") && tmc_empty("0"));
	assert_false(tmc_empty("00") || tmc_empty("0.0") || tmc_empty(" ") || tmc_empty("a") ||
		     tmc_empty("false"));
}

/* json_decode() then PHP's boolean conversion, element by element */
static void
test_truthy(void **state)
{
	static const char text[] =
		"[false, true, null, 0, 0.0, -0, 1, -1, 0.5, 1e999, \"\", \"0\", \"\\u0030\","
		" \"00\", \"0.0\", \" \", \"false\", [], [0], {}, {\"a\": 0}]";
	static const bool want[] = {false, true, false, false, false, false, true,
				    true,  true, true,  false, false, false, true,
				    true,  true, true,  false, true,  false, true};
	struct json doc = {0};
	char err[256];
	size_t i = 0;
	int failed = 0;

	(void)state;
	assert_int_equal(json_parse(&doc, "t", text, strlen(text), err, sizeof(err)), 0);
	assert_int_equal(json_count(&doc, 0), (int)NCASES(want));
	for (int t = json_first(&doc, 0); t >= 0; t = json_sibling(&doc, 0, t), i++) {
		char label[64];

		snprintf(label, sizeof(label), "element %zu", i);
		failed += fails(label, tmc_truthy(&doc, t) != want[i]);
	}
	assert_false(tmc_truthy(&doc, -1)); /* a missing key: null */
	json_free(&doc);
	assert_int_equal(failed, 0);
}

static void
test_trim(void **state)
{
	static const char all[] = " \t\n\r\0\x0b a b \x0b\0\r\n\t ";
	const char *s = all;
	size_t n = sizeof(all) - 1;

	(void)state;
	tmc_trim(&s, &n);
	assert_int_equal(n, 3);
	assert_memory_equal(s, "a b", 3);
	s = "\f a\v";
	n = strlen(s);
	tmc_trim(&s, &n);
	assert_int_equal(n, 3); /* form feed is not trim()'s; \v (\x0B) is */
	assert_memory_equal(s, "\f a", 3);
	s = " \t ";
	n = strlen(s);
	tmc_trim(&s, &n);
	assert_int_equal(n, 0);
}

static void
test_seq(void **state)
{
	char longest[TMC_SEQ_NAME_MAX + 2];

	(void)state;
	assert_true(tmc_seq_is_tmc("210101000000001"));
	assert_false(tmc_seq_is_tmc("21010100000000"));   /* 14 digits */
	assert_false(tmc_seq_is_tmc("2101010000000012")); /* 16 */
	assert_false(tmc_seq_is_tmc("21010100000000a"));
	assert_false(tmc_seq_is_tmc("myjob.json") || tmc_seq_is_tmc(""));

	assert_true(tmc_seq_name_ok("210101000000001") && tmc_seq_name_ok("my_job-2") &&
		    tmc_seq_name_ok("A"));
	assert_false(tmc_seq_name_ok(NULL) || tmc_seq_name_ok(""));
	/* a job file copied into req/ runs under its name, as in TMC */
	assert_true(tmc_seq_name_ok("myjob.json") && tmc_seq_name_ok("a.b.c"));
	/* never a side file, a dot file or a copy in progress */
	assert_false(tmc_seq_name_ok("210101000000001.ctrl") || tmc_seq_name_ok("a.file") ||
		     tmc_seq_name_ok("a.stat") || tmc_seq_name_ok("a.result") ||
		     tmc_seq_name_ok("a.reason") || tmc_seq_name_ok("a.rows") ||
		     tmc_seq_name_ok("a.log") || tmc_seq_name_ok(".a") || tmc_seq_name_ok(".") ||
		     tmc_seq_name_ok("a.part") || tmc_seq_name_ok("a.tmp") ||
		     tmc_seq_name_ok("a.swp") || tmc_seq_name_ok("a~"));
	assert_false(tmc_seq_name_ok("..") || tmc_seq_name_ok("../../etc/passwd") ||
		     tmc_seq_name_ok("a/b") || tmc_seq_name_ok("a b") ||
		     tmc_seq_name_ok("\xec\x82\xac"));
	memset(longest, 'x', sizeof(longest));
	longest[TMC_SEQ_NAME_MAX] = '\0';
	assert_true(tmc_seq_name_ok(longest)); /* tmc-httpd(8): 1 to 64 */
	longest[TMC_SEQ_NAME_MAX] = 'x';
	longest[TMC_SEQ_NAME_MAX + 1] = '\0';
	assert_false(tmc_seq_name_ok(longest));
	assert_int_equal(TMC_SEQ_NAME_MAX, 64);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_selection), cmocka_unit_test(test_selection_lists),
		cmocka_unit_test(test_rename),    cmocka_unit_test(test_empty),
		cmocka_unit_test(test_truthy),    cmocka_unit_test(test_trim),
		cmocka_unit_test(test_seq),
	};

	log_init("test_tmc", 0);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
