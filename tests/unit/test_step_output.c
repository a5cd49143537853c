/*
 * test_step_output.c - the one output a step writes for an item
 * (stage/output.c), the rule tmc-image, tmc-video and tmc-copy name their
 * files by and the only path tmc-remote accepts a reply's file at: an
 * image step its format's extension whatever the original's, video mp4
 * (an mp4 original's name kept), copy the original's name, pass and
 * "save": false no file, an unknown format refused.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "stage.h"

static int
output_of(enum step_kind kind, const char *format, bool save, const char *out, char *buf,
	  size_t len)
{
	struct step s = {.name = "S",
			 .kind = kind,
			 .format = (char *)format,
			 .save = save,
			 .path_head = (char *)"thumbs/"};
	struct template tpl = {.name = "tpl", .steps = &s, .nsteps = 1};
	struct ticket t = {0};
	struct stage_ctx ctx = {.tpl = &tpl, .step = &s, .ticket = &t};
	char why[256];
	int r;

	ticket_set(&t, "root", "/site/");
	ticket_set(&t, "tail", "a/b/");
	ticket_set(&t, "rel", out);
	r = stage_step_output(&ctx, buf, len, why, sizeof(why));
	ticket_free(&t);
	return r;
}

static void
test_image(void **state)
{
	char p[1024];

	(void)state;
	assert_int_equal(output_of(STEP_IMAGE, NULL, true, "x/photo.php", p, sizeof(p)), 1);
	assert_string_equal(p, "/site/thumbs/a/b/x/photo.jpg");
	assert_int_equal(output_of(STEP_IMAGE, "PNG", true, "photo.tif", p, sizeof(p)), 1);
	assert_string_equal(p, "/site/thumbs/a/b/photo.png");
	assert_int_equal(output_of(STEP_IMAGE, "webp", true, "photo.jpg", p, sizeof(p)), 1);
	assert_string_equal(p, "/site/thumbs/a/b/photo.webp");
	assert_int_equal(output_of(STEP_IMAGE, "gif", true, "photo.jpg", p, sizeof(p)), -1);
	assert_int_equal(output_of(STEP_IMAGE, NULL, false, "photo.jpg", p, sizeof(p)), 0);
}

static void
test_video_copy_pass(void **state)
{
	char p[1024];

	(void)state;
	assert_int_equal(output_of(STEP_VIDEO, NULL, true, "clip.mov", p, sizeof(p)), 1);
	assert_string_equal(p, "/site/thumbs/a/b/clip.mp4");
	assert_int_equal(output_of(STEP_VIDEO, NULL, true, "clip.MP4", p, sizeof(p)), 1);
	assert_string_equal(p, "/site/thumbs/a/b/clip.MP4");
	assert_int_equal(output_of(STEP_COPY, NULL, true, "doc.pdf", p, sizeof(p)), 1);
	assert_string_equal(p, "/site/thumbs/a/b/doc.pdf");
	assert_int_equal(output_of(STEP_PASS, NULL, true, "doc.pdf", p, sizeof(p)), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_image),
		cmocka_unit_test(test_video_copy_pass),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
