/*
 * test_records.c - reading the usage record back (stage/record.c,
 * records_read.c) on a real temporary spool: a line parses into its
 * fields, records_follow counts only what was written after it started,
 * leaves a line without its newline for later and follows into the next
 * day's file, and records_since finds the last hour in a long file by
 * seeking back from its end.
 */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "stage.h"

static char root[256];
static struct spool sp;

static int
setup(void **state)
{
	(void)state;
	snprintf(root, sizeof(root), "%s/tmcwatch-unit.XXXXXX", getenv("TMPDIR") ?: "/tmp");
	if (mkdtemp(root) == NULL || spool_open(&sp, root, true) < 0)
		return -1;
	return mkdirat(sp.fd, "state/records", 0755);
}

static int
teardown(void **state)
{
	(void)state;
	rmtree_at(AT_FDCWD, root);
	spool_close(&sp);
	return 0;
}

/* Append text to state/records/<day>.json */
static void
append(const char *day, const char *text)
{
	char name[64];
	int fd;

	snprintf(name, sizeof(name), "state/records/%s.json", day);
	fd = openat(sp.fd, name, O_WRONLY | O_APPEND | O_CREAT, 0644);
	assert_true(fd >= 0);
	assert_int_equal(write_all(fd, text, strlen(text)), 0);
	close(fd);
}

static char *
line(char *buf, size_t len, time_t t, const char *stage, const char *outcome)
{
	char when[32];
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	snprintf(buf, len,
		 "{\"time\":\"%s\",\"stage\":\"%s\",\"site\":\"s1\",\"outcome\":\"%s\","
		 "\"created\":2,\"warnings\":0,\"ms\":1500,\"bytes_in\":10,\"bytes_out\":7,"
		 "\"reason\":\"a \\\"quoted\\\" reason\"}\n",
		 when, stage, outcome);
	return buf;
}

static void
test_parse(void **state)
{
	char buf[512];
	struct record r;

	(void)state;
	line(buf, sizeof(buf), 1700000000, "tpl/01-B", "warning");
	assert_int_equal(record_parse(buf, strlen(buf) - 1, &r), 0);
	assert_int_equal(r.time, 1700000000);
	assert_string_equal(r.stage, "tpl/01-B");
	assert_string_equal(r.site, "s1");
	assert_string_equal(r.outcome, "warning");
	assert_int_equal(r.created, 2);
	assert_int_equal(r.ms, 1500);
	assert_int_equal(r.bytes_in, 10);
	assert_int_equal(r.bytes_out, 7);
	snprintf(buf, sizeof(buf), "{\"time\":\"yesterday\",\"stage\":\"x\"}");
	assert_int_equal(record_parse(buf, strlen(buf), &r), -1);
	snprintf(buf, sizeof(buf), "not json");
	assert_int_equal(record_parse(buf, strlen(buf), &r), -1);
}

static void
count(const struct record *r, void *arg)
{
	(void)r;
	(*(int *)arg)++;
}

static void
test_follow(void **state)
{
	struct records_tail rt = {0};
	char buf[512];
	int n = 0;

	(void)state;
	append("20261121", line(buf, sizeof(buf), 1700000000, "tpl/00-A", "ok"));
	records_follow(&sp, &rt, count, &n);
	assert_int_equal(n, 0); /* before the start: not counted */
	append("20261121", line(buf, sizeof(buf), 1700000001, "tpl/00-A", "ok"));
	line(buf, sizeof(buf), 1700000002, "tpl/00-A", "ok");
	buf[strlen(buf) - 1] = '\0'; /* half a line: no newline yet */
	append("20261121", buf);
	records_follow(&sp, &rt, count, &n);
	assert_int_equal(n, 1);
	append("20261121", "\n");
	append("20261122", line(buf, sizeof(buf), 1700086400, "tpl/00-A", "ok"));
	records_follow(&sp, &rt, count, &n);
	assert_int_equal(n, 3); /* the rest of the line, then the next day */
	records_follow(&sp, &rt, count, &n);
	assert_int_equal(n, 3);
}

static void
test_since(void **state)
{
	time_t now = time(NULL), t0 = now - 20 * 3600;
	struct tm tm;
	char day[16], buf[512];
	int n = 0;

	(void)state;
	gmtime_r(&now, &tm);
	strftime(day, sizeof(day), "%Y%m%d", &tm);
	/* many old lines (several blocks), then 50 in the last hour */
	for (int i = 0; i < 3000 && t0 + i * 10 < now - 3700; i++)
		append(day, line(buf, sizeof(buf), t0 + i * 10, "tpl/00-A", "ok"));
	for (int i = 0; i < 50; i++)
		append(day, line(buf, sizeof(buf), now - 3000 + i, "tpl/00-A", "ok"));
	records_since(&sp, now - 3600, count, &n);
	assert_int_equal(n, 50);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse),
		cmocka_unit_test_setup_teardown(test_follow, setup, teardown),
		cmocka_unit_test_setup_teardown(test_since, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
