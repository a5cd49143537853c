/*
 * test_image_geometry.c - tmc-image's size arithmetic (stages/image/geometry.c,
 * included here: it needs no GraphicsMagick): TMC's box fit with its
 * rounding and the enlarge option, and the JPEG size hint a step asks for
 * (largest output of the step and every step reading from it; none when an
 * output needs the full size; rotated by EXIF orientation; source_ext).
 * Tables of labelled cases; a failing case prints its label.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "../../stages/image/geometry.c"

#define NCASES(a) (sizeof(a) / sizeof((a)[0]))

static const struct fit_case {
	const char *label;
	unsigned long w, h;
	int size[2];
	bool enlarge;
	unsigned long nw, nh;
} fit_cases[] = {
	{"landscape into a square box fits the width", 6000, 4000, {1000, 1000}, true, 1000, 667},
	{"portrait into a square box fits the height", 4000, 6000, {1000, 1000}, true, 667, 1000},
	{"equal aspect fits the height (TMC)", 800, 400, {200, 100}, true, 200, 100},
	{"wider than a wide box fits the width", 1000, 200, {400, 300}, true, 400, 80},
	{"taller than a wide box fits the height", 300, 400, {400, 300}, true, 225, 300},
	{"[W,0] constrains the width only", 400, 300, {50, 0}, true, 50, 38},
	{"[0,H] constrains the height only", 400, 300, {0, 40}, true, 53, 40},
	{"[0,0] keeps the size", 400, 300, {0, 0}, true, 400, 300},
	{"half rounds up (37.5 -> 38)", 400, 300, {50, 0}, true, 50, 38},
	{"never below 1 px", 10000, 10, {100, 0}, true, 100, 1},
	{"smaller images are enlarged by default", 400, 300, {1000, 1000}, true, 1000, 750},
	{"enlarge false keeps a smaller image", 400, 300, {1000, 1000}, false, 400, 300},
	{"enlarge false still shrinks", 4000, 3000, {1000, 1000}, false, 1000, 750},
	{"enlarge false shrinks a tall image", 400, 3000, {1000, 1000}, false, 133, 1000},
	{"negative sizes count as 0", 400, 300, {-5, 0}, true, 400, 300},
};

static void
test_fit(void **state)
{
	int failed = 0;

	(void)state;
	for (size_t i = 0; i < NCASES(fit_cases); i++) {
		const struct fit_case *c = &fit_cases[i];
		unsigned long nw, nh;

		image_fit(c->w, c->h, c->size, c->enlarge, &nw, &nh);
		if (nw != c->nw || nh != c->nh) {
			print_error("%s: got %lux%lu, want %lux%lu\n", c->label, nw, nh, c->nw,
				    c->nh);
			failed++;
		}
	}
	assert_int_equal(failed, 0);
}

/* A template from a compact description: name,source,w,h,source_ext per step. */
struct tstep {
	const char *name, *source;
	int w, h;
	const char *ext;
};

static void
tpl_make(struct template *t, struct step *steps, const struct tstep *d, size_t n)
{
	memset(t, 0, sizeof(*t));
	t->name = "t";
	t->steps = steps;
	t->nsteps = n;
	for (size_t i = 0; i < n; i++) {
		memset(&steps[i], 0, sizeof(steps[i]));
		steps[i].name = (char *)d[i].name;
		steps[i].source = (char *)d[i].source;
		steps[i].size[0] = d[i].w;
		steps[i].size[1] = d[i].h;
		steps[i].source_ext = (char *)(d[i].ext ? d[i].ext : "");
		steps[i].kind = STEP_IMAGE;
		steps[i].enlarge = true;
		steps[i].path_head = (char *)"/x";
	}
}

static const struct tstep reference[] = {
	/* TMC's reference job */
	{"S1000", "hires", 1000, 1000, NULL}, {"S600", "S1000", 600, 600, NULL},
	{"S400", "S600", 400, 400, NULL},     {"S300", "S400", 300, 300, NULL},
	{"S200", "S300", 200, 200, NULL},     {"S150", "S200", 150, 150, NULL},
	{"S100", "S150", 100, 100, NULL},     {"S60", "S100", 60, 60, NULL},
};
static const struct tstep two_roots[] = {
	/* two hires steps, a [0,0] one */
	{"Thumb", "hires", 200, 200, NULL},
	{"Small", "Thumb", 100, 100, NULL},
	{"Full", "hires", 0, 0, NULL},
	{"Prev", "Full", 600, 600, NULL},
};
static const struct tstep by_ext[] = {
	/* same name, filtered by extension */
	{"Origin", "hires", 1000, 1000, "jpg"},
	{"Origin", "hires", 500, 500, "png"},
	{"Preview", "Origin", 300, 300, NULL},
	{"Keep", "Origin", 0, 0, NULL},
};
static const struct tstep wide_box[] = {
	{"Banner", "hires", 1200, 0, NULL},
};

static const struct hint_case {
	const char *label;
	const struct tstep *steps;
	size_t n;
	int idx;
	const char *ext;
	unsigned long w, h;
	int orientation;
	const char *want;
} hint_cases[] = {
	{"reference job: the 1000 box", reference, NCASES(reference), 0, "jpg", 6000, 4000, 1,
	 "1000x667"},
	{"portrait original", reference, NCASES(reference), 0, "jpg", 4000, 6000, 1, "667x1000"},
	{"EXIF 6: hint in the stored frame", reference, NCASES(reference), 0, "jpg", 6000, 4000, 6,
	 "1000x667"},
	{"EXIF 6 on a stored portrait", reference, NCASES(reference), 0, "jpg", 4000, 6000, 6,
	 "667x1000"},
	{"original smaller than the box: none", reference, NCASES(reference), 0, "jpg", 800, 600, 1,
	 ""},
	{"only this step's subtree counts", two_roots, NCASES(two_roots), 0, "jpg", 6000, 4000, 1,
	 "200x133"},
	{"a [0,0] step needs the full size: none", two_roots, NCASES(two_roots), 2, "jpg", 6000,
	 4000, 1, ""},
	{"jpg: the jpg Origin and its readers", by_ext, NCASES(by_ext), 0, "jpg", 6000, 4000, 1,
	 "1000x667"},
	{"png: the png Origin (PNG ignores it anyway)", by_ext, NCASES(by_ext), 1, "png", 6000,
	 4000, 1, "500x333"},
	{"one free side", wide_box, NCASES(wide_box), 0, "jpg", 6000, 4000, 1, "1200x800"},
};

static void
test_hint(void **state)
{
	struct step steps[16];
	struct template t;
	char buf[64];
	int failed = 0;

	(void)state;
	for (size_t i = 0; i < NCASES(hint_cases); i++) {
		const struct hint_case *c = &hint_cases[i];

		tpl_make(&t, steps, c->steps, c->n);
		image_hint(&t, c->idx, c->ext, c->w, c->h, c->orientation, buf, sizeof(buf));
		if (strcmp(buf, c->want) != 0) {
			print_error("%s: got \"%s\", want \"%s\"\n", c->label, buf, c->want);
			failed++;
		}
	}
	assert_int_equal(failed, 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fit),
		cmocka_unit_test(test_hint),
	};

	return cmocka_run_group_tests_name("image_geometry", tests, NULL, NULL);
}
