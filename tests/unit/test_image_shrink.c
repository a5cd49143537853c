/*
 * test_image_shrink.c - tmc-image's streaming area-average shrink
 * (stages/image/shrink.c, included here: it needs no GraphicsMagick): the
 * factor that still covers a size hint, whole and partial edge boxes,
 * 8-bit samples scaled to 16, alpha-weighted colours, and a 1-pixel
 * checker that only a true area average turns into flat grey.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <string.h>

#include "../../stages/image/shrink.c"

/* The output rows, collected. */
static uint16_t got[16][64];
static unsigned long got_rows;

static int
collect(void *arg, unsigned long oy, const uint16_t *row)
{
	const struct shrink *s = arg;

	memcpy(got[oy], row, s->ow * (size_t)s->ch * sizeof(*row));
	got_rows = oy + 1;
	return 0;
}

static void
test_factor(void **state)
{
	(void)state;
	assert_int_equal(shrink_factor(10000, 10000, 1000, 1000), 10);
	assert_int_equal(shrink_factor(12000, 8400, 1000, 700), 12);
	assert_int_equal(shrink_factor(2400, 1600, 500, 333), 4); /* 1600/333 = 4.8 */
	assert_int_equal(shrink_factor(1000, 1000, 999, 999), 1);
	assert_int_equal(shrink_factor(100, 100, 0, 0), 1);
	assert_int_equal(shrink_side(10001, 10), 1001);
	assert_int_equal(shrink_side(10000, 10), 1000);
}

/* 5x3 gray by 2: boxes 2x2, 1x2 (right edge), 2x1 (bottom), 1x1 (corner). */
static void
test_edges(void **state)
{
	const uint8_t rows[3][5] = {{0, 2, 4, 6, 8}, {2, 4, 6, 8, 10}, {100, 200, 50, 50, 7}};
	struct shrink s;

	(void)state;
	got_rows = 0;
	assert_int_equal(shrink_init(&s, 5, 3, 1, false, 2, collect, &s), 0);
	s.arg = &s;
	for (int y = 0; y < 3; y++)
		assert_int_equal(shrink_row8(&s, rows[y]), 0);
	assert_int_equal(got_rows, 2);
	assert_int_equal(s.ow, 3);
	assert_int_equal(got[0][0], 2 * 257);   /* (0+2+2+4)/4 */
	assert_int_equal(got[0][1], 6 * 257);   /* (4+6+6+8)/4 */
	assert_int_equal(got[0][2], 9 * 257);   /* (8+10)/2 */
	assert_int_equal(got[1][0], 150 * 257); /* (100+200)/2 */
	assert_int_equal(got[1][1], 50 * 257);
	assert_int_equal(got[1][2], 7 * 257);
	shrink_free(&s);
}

/* Opaque red beside transparent blue: red at half alpha, no purple. */
static void
test_alpha(void **state)
{
	const uint16_t row[8] = {65535, 0, 0, 65535, 0, 0, 65535, 0};
	struct shrink s;

	(void)state;
	assert_int_equal(shrink_init(&s, 2, 1, 4, true, 2, collect, NULL), 0);
	s.arg = &s;
	assert_int_equal(shrink_row16(&s, row), 0);
	assert_int_equal(got[0][0], 65535);
	assert_int_equal(got[0][1], 0);
	assert_int_equal(got[0][2], 0);
	assert_int_equal(got[0][3], 32768); /* 65535 / 2, rounded */
	shrink_free(&s);
}

/* A black/white 1-pixel checker by 4: flat 50 % grey (point sampling
 * would give all black or all white). */
static void
test_checker(void **state)
{
	uint8_t row[2][16];
	struct shrink s;

	(void)state;
	for (int x = 0; x < 16; x++) {
		row[0][x] = (x & 1) ? 255 : 0;
		row[1][x] = (x & 1) ? 0 : 255;
	}
	assert_int_equal(shrink_init(&s, 16, 16, 1, false, 4, collect, NULL), 0);
	s.arg = &s;
	for (int y = 0; y < 16; y++)
		assert_int_equal(shrink_row8(&s, row[y & 1]), 0);
	assert_int_equal(got_rows, 4);
	for (int y = 0; y < 4; y++)
		for (int x = 0; x < 4; x++)
			assert_int_equal(got[y][x], 32768); /* 127.5 * 257, rounded */
	shrink_free(&s);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_factor),
		cmocka_unit_test(test_edges),
		cmocka_unit_test(test_alpha),
		cmocka_unit_test(test_checker),
	};

	return cmocka_run_group_tests_name("image_shrink", tests, NULL, NULL);
}
