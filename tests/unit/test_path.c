/*
 * test_path.c - opening originals beneath their root (util/path.c):
 * open_beneath (openat2) and open_beneath_walk (the fallback where openat2
 * is missing) on a real temporary tree with the links an attacker plants:
 * a folder link to the outside, a file link, a link that stays inside,
 * ".." out; and the hard-link policy.
 */
#include <errno.h>
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

#include "util.h"

static char top[256], root[300], outside[300];
static int rootfd = -1;

typedef int (*open_fn)(int, const char *, int);

static void
put(const char *dir, const char *name, const char *text)
{
	char p[700];
	FILE *f;

	snprintf(p, sizeof(p), "%s/%s", dir, name);
	f = fopen(p, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static int
setup(void **state)
{
	char p[700];

	(void)state;
	snprintf(top, sizeof(top), "%s/tmcwatch-path.XXXXXX", getenv("TMPDIR") ?: "/tmp");
	if (mkdtemp(top) == NULL)
		return -1;
	snprintf(root, sizeof(root), "%s/root", top);
	snprintf(outside, sizeof(outside), "%s/outside", top);
	if (mkdir(root, 0755) < 0 || mkdir(outside, 0755) < 0)
		return -1;
	snprintf(p, sizeof(p), "%s/sub", root);
	mkdir(p, 0755);
	put(root, "sub/a.jpg", "inside");
	put(outside, "secret", "outside");
	snprintf(p, sizeof(p), "%s/dirlink", root);
	if (symlink(outside, p) < 0) /* a folder link out */
		return -1;
	snprintf(p, sizeof(p), "%s/sub/filelink", root);
	if (symlink("a.jpg", p) < 0) /* a file link that stays inside */
		return -1;
	snprintf(p, sizeof(p), "%s/inlink", root);
	if (symlink("sub", p) < 0) /* a folder link that stays inside */
		return -1;
	rootfd = open(root, O_RDONLY | O_DIRECTORY);
	return rootfd < 0 ? -1 : 0;
}

static int
teardown(void **state)
{
	char cmd[600];

	(void)state;
	close(rootfd);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", top);
	return system(cmd) == 0 ? 0 : -1;
}

static void
expect_text(int fd, const char *text)
{
	char buf[64] = "";
	ssize_t n;

	assert_true(fd >= 0);
	n = read(fd, buf, sizeof(buf) - 1);
	assert_true(n >= 0);
	buf[n] = '\0';
	assert_string_equal(buf, text);
	close(fd);
}

static void
expect_err(int fd, int err)
{
	if (fd >= 0)
		close(fd);
	assert_int_equal(fd, -1);
	assert_int_equal(errno, err);
}

static void
check_opener(open_fn fn)
{
	expect_text(fn(rootfd, "/sub/a.jpg", O_RDONLY), "inside");
	expect_text(fn(rootfd, "sub/a.jpg", O_RDONLY), "inside");
	expect_err(fn(rootfd, "/dirlink/secret", O_RDONLY), ELOOP);
	expect_err(fn(rootfd, "/sub/filelink", O_RDONLY), ELOOP);
	expect_err(fn(rootfd, "/inlink/a.jpg", O_RDONLY), ELOOP); /* inside, still refused */
	expect_err(fn(rootfd, "/dirlink/secret", O_PATH), ELOOP);
	expect_err(fn(rootfd, "/sub/filelink", O_PATH), ELOOP);
	expect_err(fn(rootfd, "/../outside/secret", O_RDONLY), EXDEV);
	expect_err(fn(rootfd, "/sub/../../outside/secret", O_RDONLY), EXDEV);
	expect_err(fn(rootfd, "/sub/none.jpg", O_RDONLY), ENOENT);
	expect_err(fn(rootfd, "/nodir/a.jpg", O_RDONLY), ENOENT);
}

static void
test_openat2(void **state)
{
	(void)state;
	check_opener(open_beneath);
}

static void
test_walk(void **state)
{
	(void)state;
	check_opener(open_beneath_walk);
}

static void
test_parent(void **state)
{
	struct stat a, b;

	(void)state;
	assert_int_equal(parent_stat_beneath(rootfd, "/sub/a.jpg", &a), 0);
	assert_int_equal(fstatat(rootfd, "sub", &b, 0), 0);
	assert_int_equal(a.st_ino, b.st_ino);
	assert_int_equal(parent_stat_beneath(rootfd, "/top.jpg", &a), 0);
	assert_int_equal(fstat(rootfd, &b), 0);
	assert_int_equal(a.st_ino, b.st_ino);
	assert_int_equal(parent_stat_beneath(rootfd, "/dirlink/secret", &a), -1);
	assert_int_equal(errno, ELOOP);
}

static void
test_hardlink_policy(void **state)
{
	struct stat f = {.st_mode = S_IFREG | 0644, .st_nlink = 1, .st_uid = 0};
	struct stat d = {.st_mode = S_IFDIR | 0755, .st_uid = 1000};

	(void)state;
	assert_false(hardlink_refused(&f, &d)); /* one link: whoever owns it */
	f.st_nlink = 2;
	assert_true(hardlink_refused(&f, &d)); /* linked in by someone else */
	f.st_uid = 1000;
	assert_false(hardlink_refused(&f, &d)); /* the folder owner's own copy */
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_openat2),
		cmocka_unit_test(test_walk),
		cmocka_unit_test(test_parent),
		cmocka_unit_test(test_hardlink_policy),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
