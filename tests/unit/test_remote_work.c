/*
 * test_remote_work.c - a worker host's remote/ folder (stage/remote_work.c)
 * on a real temporary spool: a key whose lock is held is live and kept;
 * once its lock is let go it is dead, and the clean removes its folder,
 * log, lock and items, but never an item of another origin; a key made
 * again after its taker died starts afresh.
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

#include "stage.h"

#define KEY "it1-0123456789abcdef0123456789abcdef"

static char root[256];
static struct spool sp;
static struct stage_dir sd;
static struct step step = {.name = "A"};
static struct template tpl = {.name = "tpl", .steps = &step, .nsteps = 1};
static struct conf conf = {.templates = &tpl, .ntemplates = 1};

static bool
there(const char *rel)
{
	char p[1024];
	struct stat st;

	snprintf(p, sizeof(p), "%s/%s", root, rel);
	return lstat(p, &st) == 0;
}

static void
put_item(const char *id, const char *origin)
{
	struct ticket t = {0};

	ticket_set(&t, "id", id);
	ticket_set(&t, "origin", origin);
	assert_int_equal(item_publish(&sd, id, &t, false), 1);
	ticket_free(&t);
}

static void
put_log(const char *key)
{
	char p[1024];
	FILE *f;

	snprintf(p, sizeof(p), "%s/remote/%s.log", root, key);
	assert_non_null(f = fopen(p, "w"));
	fputs("line\n", f);
	fclose(f);
}

static int
setup(void **state)
{
	(void)state;
	snprintf(root, sizeof(root), "%s/tmcwatch-unit.XXXXXX", getenv("TMPDIR") ?: "/tmp");
	if (mkdtemp(root) == NULL || spool_open(&sp, root, true) < 0 ||
	    stage_open(&sd, &sp, "tpl", 0, "A", true) < 0)
		return -1;
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	stage_close(&sd);
	rmtree_at(AT_FDCWD, root);
	spool_close(&sp);
	return 0;
}

static void
test_live_kept_dead_removed(void **state)
{
	int lockfd, fd = remote_work_create(&sp, &conf, KEY, &lockfd);

	(void)state;
	assert_true(fd >= 0 && lockfd >= 0);
	assert_true(there("remote/" KEY "/src") && there("remote/" KEY "/out"));
	put_item(KEY, "remote:" KEY);
	put_item("job1-0", "job:1");
	put_log(KEY);
	assert_int_equal(remote_work_clean(&sp, &conf), 0);
	assert_true(there("remote/" KEY) && there("stages/tpl/00-A/new/" KEY));
	close(lockfd); /* its tmc-gworker died */
	close(fd);
	assert_int_equal(remote_work_clean(&sp, &conf), 1);
	assert_false(there("remote/" KEY));
	assert_false(there("remote/" KEY ".log"));
	assert_false(there("remote/" KEY ".lock"));
	assert_false(there("stages/tpl/00-A/new/" KEY));
	assert_true(there("stages/tpl/00-A/new/job1-0"));
}

static void
test_item_without_folder(void **state)
{
	(void)state;
	/* a stop took the folder, recovery put the item back in new/ */
	put_item("it2-00000000000000000000000000000000",
		 "remote:it2-00000000000000000000000000000000");
	assert_int_equal(remote_work_clean(&sp, &conf), 1);
	assert_false(there("stages/tpl/00-A/new/it2-00000000000000000000000000000000"));
}

static void
test_again_afresh(void **state)
{
	int lockfd, fd = remote_work_create(&sp, &conf, KEY, &lockfd);

	(void)state;
	put_item(KEY, "remote:" KEY);
	put_log(KEY);
	close(lockfd);
	close(fd);
	fd = remote_work_create(&sp, &conf, KEY, &lockfd);
	assert_true(fd >= 0);
	assert_false(there("remote/" KEY ".log"));
	assert_false(there("stages/tpl/00-A/new/" KEY));
	/* a second taker of a live key is refused */
	{
		int lock2, fd2 = remote_work_create(&sp, &conf, KEY, &lock2);

		assert_int_equal(fd2, -1);
		assert_int_equal(lock2, -1);
	}
	remote_work_remove(&sp, &conf, KEY);
	close(lockfd);
	close(fd);
	assert_false(there("remote/" KEY));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_live_kept_dead_removed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_item_without_folder, setup, teardown),
		cmocka_unit_test_setup_teardown(test_again_afresh, setup, teardown),
	};

	log_init("test_remote_work", 0);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
