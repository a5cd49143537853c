/*
 * test_watch.c - tmc-watch's pure parts: temporary names, a watch's lists
 * handed to TMC's selection and rename (config/tmc.c), keys and item ids,
 * the persistent index (append, reopen, a torn last line, sweep,
 * compaction), and the result tally (expected steps, failures that cut a chain, repeated lines).
 * The behaviour with real folders and processes is tests/integration/3*.
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
#include <unistd.h>

#include <cmocka.h>

#include "watch.h"

static char root[256];
static int rootfd = -1;

static int
setup(void **state)
{
	(void)state;
	snprintf(root, sizeof(root), "%s/tmcwatch-unit.XXXXXX", getenv("TMPDIR") ?: "/tmp");
	if (mkdtemp(root) == NULL)
		return -1;
	rootfd = open(root, O_RDONLY | O_DIRECTORY);
	return rootfd < 0 ? -1 : 0;
}

static int
teardown(void **state)
{
	(void)state;
	close(rootfd);
	rmtree_at(AT_FDCWD, root);
	return 0;
}

static const struct {
	const char *name;
	bool temp;
} temp_cases[] = {
	{"a.jpg", false},
	{".a.jpg.Xy12Ab", true}, /* rsync */
	{".hidden.jpg", true},
	{"a.jpg.part", true},
	{"a.jpg.PART", true},
	{"a.tmp", true},
	{"a.jpg~", true},
	{"a.jpg.filepart", true},
	{"a.crdownload", true},
	{"part.jpg", false},
	{"tmp.jpg", false},
	{"a.jpg.tmcwatch", false},
	/* uploaders' temporaries (rules.c's table) and names that look alike */
	{"~$x.jpg", true},
	{"~$Report.docx", true}, /* Office owner files */
	{".~lock.x.jpg#", true},
	{"~WRL0001.tmp", true},
	{"~RF12ab.TMP", true},
	{".syncthing.x.jpg.tmp", true},
	{"~syncthing~x.jpg.tmp", true},
	{".dropbox.cache", true},
	{"x.jpg.dropbox", true},
	{".owncloudsync.log", true},
	{"x.jpg.ocTransferId123.part", true},
	{".x.jpg.~6ee3b2", true},
	{"._x.jpg", true},
	{".nfs0000000000ab0001", true},
	{"x.jpg.filepart", true},
	{"x.jpg.crdownload", true},
	{"x.jpg.partial", true},
	{"x.jpg.download", true},
	{"x.jpg.opdownload", true},
	{"x.jpg.swp", true},
	{"#x.jpg#", true},
	{"x.jpg.temp", true},
	{"~x.jpg", false},
	{"x~y.jpg", false},
	{"x$.jpg", false},
	{"lock.jpg", false},
	{"x.swf", false},
	{"sync.jpg", false},
	{"partial.jpg", false},
	{"download.png", false},
};

static void
test_temp_names(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(temp_cases) / sizeof(*temp_cases); i++) {
		if ((rules_temp_name(temp_cases[i].name) != NULL) != temp_cases[i].temp)
			fail_msg("case %zu \"%s\": want %s", i, temp_cases[i].name,
				 temp_cases[i].temp ? "temporary" : "final");
	}
}

/* A watch's include, exclude and rename lists reach TMC's rules (config/tmc.c,
 * whose cases are test_tmc.c's): one case of each list. */
static void
test_watch_rules(void **state)
{
	char *inc[] = {"*.jpg"}, *exc[] = {"/skip/*"};
	struct rename_rule ren[] = {{"_H.", "."}, {"jpg", "jpeg"}};
	struct watch w = {.include = inc,
			  .ninclude = 1,
			  .exclude = exc,
			  .nexclude = 1,
			  .rename = ren,
			  .nrename = 2};
	struct strbuf out = {0};

	(void)state;
	assert_true(rules_selected(&w, "/x/a.jpg"));
	assert_false(rules_selected(&w, "/skip/a.jpg"));
	assert_false(rules_selected(&w, "/a.png"));
	rules_rename(&w, "/x/a_h.jpg", &out);
	assert_string_equal(out.buf, "/x/a.jpeg");
	sb_free(&out);
}

static void
test_keys_and_ids(void **state)
{
	static const struct {
		const char *name, *key;
	} cases[] = {
		{"site01", "site01"},
		{"site01#0", "site01.0"},
		{"a b", "a_20b"},
		{".x", "_2ex"},
		{"", "_"},
		{"사이트", "_ec_82_ac_ec_9d_b4_ed_8a_b8"},
	};
	struct ident id = {.ino = UINT64_MAX,
			   .size = INT64_MAX,
			   .mtime_s = -31536000,
			   .mtime_ns = 5,
			   .slot = 3};
	char key[ITEM_ID_MAX], buf[ITEM_ID_MAX], again[ITEM_ID_MAX];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		watch_key(cases[i].name, key, sizeof(key));
		if (strcmp(key, cases[i].key) != 0 || !id_valid(key))
			fail_msg("case %zu: key of \"%s\" is \"%s\", want \"%s\"", i, cases[i].name,
				 key, cases[i].key);
	}
	watch_item_id(buf, sizeof(buf), "site01", &id);
	assert_string_equal(buf, "w-site01-3-18446744073709551615-9223372036854775807--31536000"
				 ".000000005");
	assert_true(id_valid(buf));
	/* a long key is shortened, still deterministic and valid */
	memset(key, 'k', 100);
	key[100] = '\0';
	watch_item_id(buf, sizeof(buf), key, &id);
	watch_item_id(again, sizeof(again), key, &id);
	assert_true(id_valid(buf));
	assert_string_equal(buf, again);
	key[99] = 'j';
	watch_item_id(again, sizeof(again), key, &id);
	assert_string_not_equal(buf, again);
}

static struct ident
mkid(uint64_t ino, int64_t size, int64_t ms)
{
	return (struct ident){.ino = ino, .size = size, .mtime_s = ms, .mtime_ns = 7};
}

static void
test_index_persists(void **state)
{
	struct index ix;
	struct ident a = mkid(10, 100, 1000), b = mkid(11, 5, -2000), b2 = mkid(11, 6, 3000);
	struct ient *e;
	int fd;

	(void)state;
	assert_int_equal(index_open(&ix, rootfd, "k"), 0);
	assert_false(ix.existed);
	index_put(&ix, &a, IX_HANDED, 1);
	index_put(&ix, &b, IX_SKIPPED, 1);
	assert_int_equal(index_slot(&ix, "/mnt/nfs"), 1);
	assert_int_equal(index_slot(&ix, "/mnt/nfs"), 1);
	assert_int_equal(index_flush(&ix), 0);
	index_close(&ix);
	/* a crash in the middle of an append leaves half a line */
	fd = openat(rootfd, "k.index", O_WRONLY | O_APPEND);
	assert_true(write(fd, "A 0 12 1", 8) == 8);
	close(fd);

	assert_int_equal(index_open(&ix, rootfd, "k"), 0);
	assert_true(ix.existed);
	assert_int_equal(ix.live, 2);
	assert_int_equal(ix.handed, 1);
	assert_non_null(e = index_get(&ix, 0, 10));
	assert_true(ident_same(&e->id, &a));
	assert_non_null(e = index_get(&ix, 0, 11));
	assert_int_equal(e->kind, IX_SKIPPED);
	assert_null(index_get(&ix, 0, 12));
	assert_null(index_get(&ix, 1, 10));
	assert_int_equal(index_slot(&ix, "/mnt/nfs"), 1);
	/* the same inode with new content replaces the entry */
	index_put(&ix, &b2, IX_HANDED, 2);
	assert_int_equal(ix.live, 2);
	assert_int_equal(ix.handed, 2);
	assert_int_equal(index_flush(&ix), 0);
	/* a sweep forgets what no walk saw since generation 2; compaction keeps the rest */
	assert_int_equal(index_sweep(&ix, 2), 1);
	assert_int_equal(index_compact(&ix), 0);
	index_put(&ix, &a, IX_HANDED, 3);
	assert_int_equal(index_flush(&ix), 0);
	index_close(&ix);

	assert_int_equal(index_open(&ix, rootfd, "k"), 0);
	assert_int_equal(ix.live, 2);
	assert_int_equal(ix.handed, 3); /* C 2 from the compaction + one A */
	assert_non_null(e = index_get(&ix, 0, 11));
	assert_true(ident_same(&e->id, &b2));
	assert_int_equal(ix.nslots, 2);
	index_close(&ix);
}

static void
test_index_rejects_garbage(void **state)
{
	struct index ix;
	struct stat st;
	int fd;

	(void)state;
	fd = openat(rootfd, "g.index", O_WRONLY | O_CREAT | O_TRUNC, 0644);
	assert_true(write(fd, "garbage\n", 8) == 8);
	close(fd);
	assert_int_equal(index_open(&ix, rootfd, "g"), 0);
	assert_int_equal(ix.live, 0);
	assert_int_equal(fstatat(rootfd, "g.index.bad", &st, 0), 0);
	index_close(&ix);
}

static struct step tsteps[] = {
	{.name = "A", .source = "hires", .source_ext = ""},
	{.name = "B", .source = "A", .source_ext = ""},
	{.name = "V", .source = "hires", .source_ext = "mp4"},
	{.name = "C", .source = "B", .source_ext = "!mp4"},
	{.name = "D", .source = "A", .source_ext = "png"},
};
static const struct template ttpl = {.name = "t", .steps = tsteps, .nsteps = 5};

static void
append(const char *name, const char *text)
{
	int fd = openat(rootfd, name, O_WRONLY | O_APPEND | O_CREAT, 0644);

	assert_true(fd >= 0);
	assert_true(write(fd, text, strlen(text)) == (ssize_t)strlen(text));
	close(fd);
}

static void
test_tally(void **state)
{
	struct tally t;

	(void)state;
	assert_int_equal(tally_expected(&ttpl, "jpg"), 0x0b); /* A B C */
	assert_int_equal(tally_expected(&ttpl, "png"), 0x1b); /* A B C D */
	assert_int_equal(tally_expected(&ttpl, "mp4"), 0x07); /* A B V */
	assert_int_equal((tally_init(&t, rootfd, "w", &ttpl), tally_open(&t)), 0);
	assert_int_equal(t.ok + t.failed, 0);
	tally_want(&t, tally_hash("i2")); /* a watchdog job waits for i2: its row */
	/* i1: complete; i2: B failed, so C never comes; i3: half; i4: a repeat */
	append("w.log", "i1\t0\tA\t1\t0\t/a.jpg\t\ni1\t1\tB\t1\t0\t/a.jpg\t\n"
			"i2\t0\tA\t1\t0\t/b.jpg\t\ni2\t1\tB\t0\t1\t/b.jpg\tcorrupt\n"
			"i3\t0\tA\t1\t0\t/c.mp4\t\ni1\t2");
	tally_refresh(&t);
	assert_int_equal(t.ok, 0);
	assert_int_equal(t.failed, 1);
	assert_int_equal(t.nq, 1); /* TMC's row: every step requested, A's file, B's warning */
	assert_true(t.q[0].h == tally_hash("i2") && tally_finished(&t, t.q[0].h));
	assert_int_equal(t.q[0].rc.requested, (int)ttpl.nsteps);
	assert_int_equal(t.q[0].rc.created, 1);
	assert_int_equal(t.q[0].rc.warnings, 1);
	assert_true(tally_known(&t, "i3"));
	assert_false(tally_known(&t, "i9"));
	append("w.log", "\tV\t1\t0\t/a.jpg\t\ni1\t3\tC\t1\t0\t/a.jpg\t\n"
			"i1\t3\tC\t1\t0\t/a.jpg\t\n");
	tally_refresh(&t);
	assert_int_equal(t.ok, 1);
	assert_int_equal(t.failed, 1);
	tally_close(&t);
	/* read again from the start: the same counts */
	assert_int_equal((tally_init(&t, rootfd, "w", &ttpl), tally_open(&t)), 0);
	assert_int_equal(t.ok, 1);
	assert_int_equal(t.failed, 1);
	assert_true(tally_known(&t, "i1"));
	tally_close(&t);
}

/* Lines with their outcome: a warning with nothing written is no failure
 * (0.1's guess counted it failed and stopped waiting for its successors). */
static void
test_tally_outcome(void **state)
{
	struct tally t;

	(void)state;
	assert_int_equal((tally_init(&t, rootfd, "o", &ttpl), tally_open(&t)), 0);
	append("o.log", "i5\t0\tA\t0\t1\t/a.jpg\texists, no profile\twarning\n"
			"i6\t0\tA\t0\t1\t/b.jpg\t/s/b.jpg: No such file\tfailed\n");
	tally_refresh(&t);
	assert_int_equal(t.failed, 1);
	assert_int_equal(t.ok, 0);
	assert_true(tally_known(&t, "i5"));
	append("o.log", "i5\t1\tB\t0\t0\t/a.jpg\t\tskipped\n"
			"i5\t3\tC\t1\t0\t/a.jpg\t\tok\n");
	tally_refresh(&t);
	assert_int_equal(t.ok, 1);
	assert_int_equal(t.failed, 1);
	tally_close(&t);
}

static void
test_sets(void **state)
{
	struct u64set s = {0};

	(void)state;
	for (uint64_t i = 0; i < 5000; i++)
		assert_true(u64set_add(&s, i * 7919));
	assert_false(u64set_add(&s, 0));
	for (uint64_t i = 0; i < 5000; i++)
		assert_true(u64set_has(&s, i * 7919));
	assert_false(u64set_has(&s, 3));
	u64set_free(&s);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_temp_names),
		cmocka_unit_test(test_watch_rules),
		cmocka_unit_test(test_keys_and_ids),
		cmocka_unit_test(test_index_persists),
		cmocka_unit_test(test_index_rejects_garbage),
		cmocka_unit_test(test_tally),
		cmocka_unit_test(test_tally_outcome),
		cmocka_unit_test(test_sets),
	};

	log_init("test_watch", 0);
	return cmocka_run_group_tests(tests, setup, teardown);
}
