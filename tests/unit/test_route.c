/*
 * test_route.c - config/route.c: which step each step reads for a file of
 * a given extension, and the steps fed from the original, fed by one step,
 * below one step, and reached at all. Tables over TMC's mixed template (an
 * image "Origin" and an mp4 "Origin" sharing the name, steps sourcing
 * "Origin"), source_ext filters, and unreachable steps. A failing case
 * prints its label.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <string.h>

#include "conf.h"

#define NCASES(a) (sizeof(a) / sizeof((a)[0]))

/* clang-format off */
static struct step msteps[] = {
	{.name = "Origin",  .source = "hires",   .source_ext = "!mp4"},    /* 0 image */
	{.name = "Origin",  .source = "hires",   .source_ext = "mp4"},     /* 1 video */
	{.name = "Preview", .source = "Origin",  .source_ext = ""},        /* 2 either Origin */
	{.name = "Thumb",   .source = "Preview", .source_ext = NULL},      /* 3 */
	{.name = "Still",   .source = "Origin",  .source_ext = "mp4"},     /* 4 */
	{.name = "Poster",  .source = "Still",   .source_ext = ""},        /* 5 mp4 only */
	{.name = "Web",     .source = "Origin",  .source_ext = "jpg,png"}, /* 6 */
	{.name = "Gif",     .source = "Web",     .source_ext = "gif"},     /* 7 never runs */
	{.name = "Deep",    .source = "Gif",     .source_ext = ""},        /* 8 below 7 */
};
/* Twins whose filters overlap (conf_check refuses them): the route still
 * takes the LAST earlier one that admits the file, as TMC's im[name]. */
static struct step tsteps[] = {
	{.name = "A", .source = "hires", .source_ext = ""},
	{.name = "A", .source = "hires", .source_ext = "jpg"},
	{.name = "B", .source = "A",     .source_ext = ""},
};
/* clang-format on */
static const struct template mtpl = {.name = "m", .steps = msteps, .nsteps = NCASES(msteps)};
static const struct template ttpl = {.name = "t", .steps = tsteps, .nsteps = NCASES(tsteps)};

struct source_case {
	const char *label;
	const struct template *tpl;
	size_t j;
	const char *ext;
	int want;
};

#define H ROUTE_HIRES
#define N ROUTE_NONE
/* clang-format off */
static const struct source_case source_cases[] = {
	{"image Origin reads hires",               &mtpl, 0, "jpg",  H},
	{"image Origin skips mp4",                 &mtpl, 0, "mp4",  N},
	{"mp4 Origin reads hires",                 &mtpl, 1, "mp4",  H},
	{"mp4 Origin skips jpg",                   &mtpl, 1, "jpg",  N},
	{"Preview of a jpg reads the image Origin", &mtpl, 2, "jpg", 0},
	{"Preview of an mp4 reads the mp4 Origin", &mtpl, 2, "mp4",  1},
	{"Preview, upper case, jpeg is jpg",       &mtpl, 2, "JPEG", 0},
	{"Thumb reads Preview",                    &mtpl, 3, "png",  2},
	{"Still reads the mp4 Origin",             &mtpl, 4, "mp4",  1},
	{"Still does not apply to jpg",            &mtpl, 4, "jpg",  N},
	{"Poster: its source Still skips jpg",     &mtpl, 5, "jpg",  N},
	{"Poster of an mp4 reads Still",           &mtpl, 5, "mp4",  4},
	{"Web reads the image Origin",             &mtpl, 6, "png",  0},
	{"Gif: its source Web skips gif",          &mtpl, 7, "gif",  N},
	{"Deep reads Gif (which never runs)",      &mtpl, 8, "gif",  7},
	{"no extension: the image Origin",         &mtpl, 2, "",     0},
	{"no extension: Web does not apply",       &mtpl, 6, "",     N},
	{"twins: the last that admits, jpg",       &ttpl, 2, "jpg",  1},
	{"twins: the last that admits, png",       &ttpl, 2, "png",  0},
};
/* clang-format on */

static void
test_source(void **state)
{
	int fails = 0, got;

	(void)state;
	for (size_t i = 0; i < NCASES(source_cases); i++) {
		const struct source_case *c = &source_cases[i];

		got = route_source(c->tpl, c->j, c->ext);
		if (got != c->want) {
			print_error("%s: step %zu on \"%s\": %d, want %d\n", c->label, c->j, c->ext,
				    got, c->want);
			fails++;
		}
		if (route_first(c->tpl, c->j, c->ext) != (c->want == H)) {
			print_error("%s: route_first disagrees\n", c->label);
			fails++;
		}
		if (c->want >= 0 && !route_successor(c->tpl, (size_t)c->want, c->j, c->ext)) {
			print_error("%s: route_successor disagrees\n", c->label);
			fails++;
		}
	}
	assert_int_equal(fails, 0);
}

enum set_kind { REACHED, FIRST, SUCCESSORS, BELOW };

struct set_case {
	const char *label;
	enum set_kind kind;
	size_t idx; /* SUCCESSORS, BELOW */
	const char *ext;
	const char *want; /* one '0' or '1' per step */
};

/* clang-format off */
static const struct set_case set_cases[] = {
	{"jpg runs image Origin, Preview, Thumb, Web",   REACHED, 0, "jpg",  "101100100"},
	{"png as jpg",                                   REACHED, 0, "png",  "101100100"},
	{"mp4 runs its Origin, Preview, Thumb, Still, Poster",
							 REACHED, 0, "mp4",  "011111000"},
	{"gif: Gif and Deep never run",                  REACHED, 0, "gif",  "101100000"},
	{"no extension",                                 REACHED, 0, "",     "101100000"},
	{"twins, jpg",                                   REACHED, 0, "jpg",  "111"},
	{"first of a jpg",                               FIRST,   0, "jpg",  "100000000"},
	{"first of an mp4",                              FIRST,   0, "mp4",  "010000000"},
	{"fed by the image Origin",                      SUCCESSORS, 0, "jpg", "001000100"},
	{"fed by the mp4 Origin",                        SUCCESSORS, 1, "mp4", "001010000"},
	{"the image Origin feeds no mp4",                SUCCESSORS, 0, "mp4", "000000000"},
	{"fed by Preview",                               SUCCESSORS, 2, "mp4", "000100000"},
	{"below the image Origin",                       BELOW,   0, "jpg",  "001100100"},
	{"below the mp4 Origin",                         BELOW,   1, "mp4",  "001111000"},
	{"below Still",                                  BELOW,   4, "mp4",  "000001000"},
	{"below Thumb: nothing",                         BELOW,   3, "jpg",  "000000000"},
	{"twins, below the jpg A",                       BELOW,   1, "jpg",  "001"},
	{"twins, below the first A for jpg: nothing",    BELOW,   0, "jpg",  "000"},
};
/* clang-format on */

static void
set_of(const struct set_case *c, const struct template *tpl, char *got)
{
	uint8_t mask[16] = {0};

	if (c->kind == REACHED)
		route_reached(tpl, c->ext, mask, tpl->nsteps);
	else if (c->kind == BELOW)
		route_below(tpl, c->idx, c->ext, mask, tpl->nsteps);
	for (size_t j = 0; j < tpl->nsteps; j++) {
		if (c->kind == FIRST)
			mask[j] = route_first(tpl, j, c->ext);
		else if (c->kind == SUCCESSORS)
			mask[j] = route_successor(tpl, c->idx, j, c->ext);
		got[j] = mask[j] ? '1' : '0';
	}
	got[tpl->nsteps] = '\0';
}

static void
test_sets(void **state)
{
	char got[16];
	int fails = 0;

	(void)state;
	for (size_t i = 0; i < NCASES(set_cases); i++) {
		const struct set_case *c = &set_cases[i];
		const struct template *tpl = strlen(c->want) == ttpl.nsteps ? &ttpl : &mtpl;

		set_of(c, tpl, got);
		if (strcmp(got, c->want) != 0) {
			print_error("%s: %s, want %s\n", c->label, got, c->want);
			fails++;
		}
	}
	assert_int_equal(fails, 0);
}

/* A prefix routes as the whole template does (tally.c keeps 64 bits). */
static void
test_prefix(void **state)
{
	uint8_t whole[16], part[16];

	(void)state;
	memset(part, 0xff, sizeof(part));
	assert_int_equal(route_reached(&mtpl, "mp4", whole, mtpl.nsteps), 5);
	assert_int_equal(route_reached(&mtpl, "mp4", part, 4), 3);
	assert_memory_equal(whole, part, 4);
	assert_int_equal(part[4], 0xff); /* nothing written past n */
	assert_int_equal(route_below(&mtpl, 1, "mp4", whole, mtpl.nsteps), 4);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_source),
		cmocka_unit_test(test_sets),
		cmocka_unit_test(test_prefix),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
