/*
 * test_jobs_match.c - the pure rules of tmc-jobs (stages/jobs/match.c,
 * included here, and stage/steps.c, linked): file list lines (config/jobspec.c), .stat, item
 * ids, result log lines, which steps a file expects and its result row
 * (doc/TMC.md, Result rows). TMC's globs and rename are test_tmc.c's. Tables of labelled
 * cases; a failing case prints its label.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../stages/jobs/match.c"
#include "job.h"

#include "cases.h"

static void
test_list(void **state)
{
	char buf[] = "  /a.jpg \r\n\n\t\n/b c.jpg\n/x\0y\n/last";
	char **lines;
	size_t n = job_list_split(buf, sizeof(buf) - 1, &lines);

	(void)state;
	assert_int_equal(n, 4);
	assert_string_equal(lines[0], "/a.jpg");
	assert_string_equal(lines[1], "/b c.jpg");
	assert_string_equal(lines[2], "/x\001y"); /* refused later by path_check_rel */
	assert_string_equal(lines[3], "/last");
	free(lines);
	n = job_list_split(buf, 0, &lines);
	assert_int_equal(n, 0);
	free(lines);
}

static void
test_stat_ids_names(void **state)
{
	long long v[3];
	size_t idx;
	char id[64];

	(void)state;
	assert_int_equal(jm_stat_parse("10\t5\t3", v), 0);
	assert_true(v[0] == 10 && v[1] == 5 && v[2] == 3);
	assert_int_equal(jm_stat_parse("12", v), 0); /* TMC's scan wrote the bare count */
	assert_true(v[0] == 12 && v[1] == 0 && v[2] == 0);
	assert_int_equal(jm_stat_parse("10\t5", v), -1);
	assert_int_equal(jm_stat_parse("x", v), -1);
	jm_item_id(id, sizeof(id), "210101000000001", 17);
	assert_string_equal(id, "210101000000001-000017");
	assert_int_equal(jm_item_index("210101000000001", id, &idx), 0);
	assert_int_equal(idx, 17);
	assert_int_equal(jm_item_index("210101000000001", "210101000000001-1234567", &idx), 0);
	assert_int_equal(idx, 1234567);
	assert_int_equal(jm_item_index("210101000000002", id, &idx), -1);
	assert_int_equal(jm_item_index("210101000000001", "210101000000001-", &idx), -1);
	assert_int_equal(jm_item_index("210101000000001", "210101000000001-12a", &idx), -1);
	assert_true(jm_name_ignored(".submit.12"));
	assert_true(jm_name_ignored("job.part") && jm_name_ignored("job~") &&
		    jm_name_ignored("job.tmp"));
	assert_false(jm_name_ignored("myjob.json"));
}

/* A line of 0.1 (seven fields) and lines with their outcome (eight). */
static void
test_logline(void **state)
{
	char ok[] = "S-000001\t2\tPreview\t1\t0\t/a b.jpg\t";
	char why[] = "S-000002\t0\tA\t0\t1\t/x.jpg\t/src/x.jpg: No such file";
	char failed[] = "S-000002\t0\tA\t0\t1\t/x.jpg\t/src/x.jpg: No such file\tfailed";
	char warned[] = "S-000002\t0\tA\t0\t1\t/x.jpg\tno profile\twarning";
	char skipped[] = "S-000003\t1\tC\t0\t0\t/y.jpg\t\tskipped";
	char newer[] = "S-000003\t1\tC\t1\t0\t/y.jpg\t\tok\tmore";
	char odd[] = "S-000003\t1\tC\t1\t0\t/y.jpg\t\tsplendid";
	char bad[] = "S-000001\t2\tPreview\t1\t0";
	char badnum[] = "S-000001\tx\tP\t1\t0\t/a\t";
	struct result_line ll;

	(void)state;
	assert_int_equal(result_parse(ok, &ll), 0);
	assert_string_equal(ll.id, "S-000001");
	assert_int_equal(ll.step, 2);
	assert_string_equal(ll.name, "Preview");
	assert_true(ll.created == 1 && ll.warnings == 0);
	assert_string_equal(ll.rel, "/a b.jpg");
	assert_string_equal(ll.reason, "");
	assert_int_equal(ll.outcome, RO_UNKNOWN);
	assert_int_equal(result_parse(why, &ll), 0);
	assert_string_equal(ll.reason, "/src/x.jpg: No such file");
	assert_int_equal(ll.outcome, RO_UNKNOWN);
	assert_int_equal(result_parse(failed, &ll), 0);
	assert_string_equal(ll.reason, "/src/x.jpg: No such file");
	assert_int_equal(ll.outcome, RO_FAILED);
	assert_int_equal(result_parse(warned, &ll), 0);
	assert_true(ll.outcome == RO_WARNING && ll.warnings == 1);
	assert_int_equal(result_parse(skipped, &ll), 0);
	assert_true(ll.outcome == RO_SKIPPED && ll.reason[0] == '\0');
	assert_int_equal(result_parse(newer, &ll), 0);
	assert_int_equal(ll.outcome, RO_OK);
	assert_int_equal(result_parse(odd, &ll), 0);
	assert_int_equal(ll.outcome, RO_UNKNOWN);
	assert_int_equal(result_parse(bad, &ll), -1);
	assert_int_equal(result_parse(badnum, &ll), -1);
}

static void
record(struct sres *r, int created, int warnings, const char *reason, enum result_outcome o)
{
	struct result_line rl = {
		.created = created, .warnings = warnings, .reason = (char *)reason, .outcome = o};

	sres_record(r, &rl);
}

/* The outcome decides; only a line of 0.1 is guessed (SR_MAYBE). */
static void
test_sres_outcome(void **state)
{
	struct sres r = {0};

	(void)state;
	record(&r, 0, 1, "/s/x.jpg: No such file or directory", RO_FAILED);
	assert_int_equal(r.state, SR_FAILED);
	record(&r, 0, 1, "no colour profile", RO_WARNING);
	assert_int_equal(r.state, SR_OK);
	record(&r, 0, 0, "", RO_SKIPPED);
	assert_int_equal(r.state, SR_OK);
	record(&r, 0, 1, "/s/x.jpg: No such file or directory", RO_UNKNOWN);
	assert_int_equal(r.state, SR_MAYBE);
	record(&r, 1, 0, "", RO_UNKNOWN);
	assert_int_equal(r.state, SR_OK);
}

/* TMC README's mixed template: image and mp4 Origins, a shared Preview. */
static const char mixed[] =
	"[{\"name\":\"Origin\",\"source\":\"hires\",\"source_ext\":\"!mp4\",\"path_head\":\"/o\","
	"\"size\":[1000,1000],\"save\":false},"
	"{\"name\":\"Origin\",\"source\":\"hires\",\"source_ext\":\"mp4\",\"path_head\":\"/o\","
	"\"size\":[1000,1000],\"save\":false},"
	"{\"name\":\"Preview\",\"source\":\"Origin\",\"path_head\":\"/p\",\"size\":[600,600]},"
	"{\"name\":\"Thumb\",\"source\":\"Preview\",\"source_ext\":\"jpg\",\"path_head\":\"/t\","
	"\"size\":[100,100]},"
	"{\"name\":\"Copy\",\"source\":\"hires\",\"kind\":\"copy\",\"path_head\":\"/c\"}]";

static void
load_template(struct template *tpl, const char *text)
{
	struct conf_errors errs = {0};
	struct json doc = {0};
	char err[256];

	assert_int_equal(json_parse(&doc, "proc", text, strlen(text), err, sizeof(err)), 0);
	assert_int_equal(conf_proc_parse(&doc, 0, "proc", false, tpl, &errs), 0);
	assert_int_equal(conf_template_check(tpl, "proc", &errs), 0);
	json_free(&doc);
}

enum { N, OK, MB, FL, LOST }; /* no line, ok line, ambiguous line, failed line, lost */

static void
res_set(struct sres *res, const int *st, const int *created)
{
	for (int j = 0; j < 5; j++) {
		memset(&res[j], 0, sizeof(res[j]));
		if (st[j] == OK)
			record(&res[j], created[j], 0, "", RO_OK);
		else if (st[j] == MB)
			record(&res[j], 0, 1, "/src/x: No such file or directory", RO_UNKNOWN);
		else if (st[j] == FL)
			record(&res[j], 0, 1, "/src/x: No such file or directory", RO_FAILED);
		if (st[j] == FL || st[j] == LOST)
			res[j].state = SR_FAILED;
	}
}

static void
test_steps(void **state)
{
	static const struct {
		const char *label, *ext;
		int st[5], created[5];
		size_t pending;
		int row_created, row_warn;
	} cases[] = {
		{"jpg, nothing yet: Origin, Preview, Thumb, Copy",
		 "jpg",
		 {N, N, N, N, N},
		 {0},
		 4,
		 0,
		 0},
		{"mp4: its Origin, Preview (no Thumb)", "mp4", {N, N, N, N, N}, {0}, 3, 0, 0},
		{"png: Origin, Preview, Copy", "png", {N, N, N, N, N}, {0}, 3, 0, 0},
		{"JPG: case-insensitive filter", "JPG", {N, N, N, N, N}, {0}, 4, 0, 0},
		{"jpg, all done", "jpg", {OK, N, OK, OK, OK}, {0, 0, 1, 1, 1}, 0, 3, 0},
		{"mp4, all done", "mp4", {N, OK, OK, N, OK}, {0, 0, 1, 0, 1}, 0, 2, 0},
		{"jpg, Origin failed: its successors are not expected",
		 "jpg",
		 {FL, N, N, N, MB},
		 {0},
		 0,
		 0,
		 1},
		{"jpg, Origin ambiguous: successors still expected",
		 "jpg",
		 {MB, N, N, N, OK},
		 {0, 0, 0, 0, 1},
		 2,
		 1,
		 1},
		{"jpg, Origin ambiguous, successors reported: it was a success",
		 "jpg",
		 {MB, N, OK, OK, OK},
		 {0, 0, 1, 1, 1},
		 0,
		 3,
		 1},
		{"jpg, Thumb lost: one warning for it",
		 "jpg",
		 {OK, N, OK, LOST, OK},
		 {0, 0, 1, 0, 1},
		 0,
		 2,
		 1},
	};
	struct sres res[5];
	struct rowcount rc;
	struct template tpl;
	uint8_t exp[5];
	int failed = 0;

	(void)state;
	load_template(&tpl, mixed);
	for (size_t i = 0; i < NCASES(cases); i++) {
		res_set(res, cases[i].st, cases[i].created);
		size_t p = steps_expected(&tpl, cases[i].ext, res, exp);

		steps_row(&tpl, res, &rc);
		failed += fails(cases[i].label, p != cases[i].pending || rc.requested != 5 ||
							rc.created != cases[i].row_created ||
							rc.warnings != cases[i].row_warn);
	}
	conf_template_free(&tpl);
	assert_int_equal(failed, 0);
}

static void
test_row_dedupe(void **state)
{
	static const char two[] =
		"[{\"name\":\"A\",\"source\":\"hires\",\"kind\":\"copy\",\"path_head\":\"/a\"},"
		"{\"name\":\"B\",\"source\":\"hires\",\"kind\":\"copy\",\"path_head\":\"/b\"}]";
	struct template tpl;
	struct sres res[2] = {{0}};
	struct rowcount rc;

	(void)state;
	load_template(&tpl, two);
	/* one missing original fails both steps that read it: TMC's one warning */
	record(&res[0], 0, 1, "/s/x.jpg: No such file or directory", RO_FAILED);
	record(&res[1], 0, 1, "/s/x.jpg: No such file or directory", RO_UNKNOWN);
	steps_row(&tpl, res, &rc);
	assert_true(rc.requested == 2 && rc.created == 0 && rc.warnings == 1);
	record(&res[1], 0, 1, "/b: Permission denied", RO_FAILED);
	steps_row(&tpl, res, &rc);
	assert_int_equal(rc.warnings, 2);
	conf_template_free(&tpl);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_list),    cmocka_unit_test(test_stat_ids_names),
		cmocka_unit_test(test_logline), cmocka_unit_test(test_sres_outcome),
		cmocka_unit_test(test_steps),   cmocka_unit_test(test_row_dedupe),
	};

	log_init("test_jobs_match", 0);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
