/*
 * test_conf.c - conf_load.c and conf_check.c: TMC's README examples load as
 * they are, defaults, every load error and every check error with its exact
 * "file:line:col: key: what", the watchdog extensions, a job's inline proc,
 * step_applies() and the lookups (config/route.c; routes: test_route.c).
 *
 * Each case writes config.json and template.json (and any files it needs)
 * into a temporary folder made by mkdtemp, which is the working folder, so
 * messages read "config.json:...". Expected messages write that folder as
 * '@'. Tables of labelled cases; a failing case prints its label.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conf.h"
#include "json.h"
#include "spool.h"

#define NCASES(a) (sizeof(a) / sizeof((a)[0]))

static char tmpdir[PATH_MAX];
static char srcdir[PATH_MAX];

/* ---- helpers ---- */

static int
differs(const char *label, const char *got, const char *want)
{
	if (got == want || (got && want && strcmp(got, want) == 0))
		return 0;
	print_error("%s:\n   got: %s\n  want: %s\n", label, got ? got : "(null)",
		    want ? want : "(null)");
	return 1;
}

static void
write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	assert_true(fputs(text, f) >= 0);
	assert_int_equal(fclose(f), 0);
}

/* The messages, one per line; '@' in want is the folder dir. */
static char *
errs_join(const struct conf_errors *errs)
{
	struct strbuf sb = {0};
	size_t i;

	for (i = 0; i < errs->n; i++) {
		if (i)
			sb_addc(&sb, '\n');
		sb_adds(&sb, errs->msg[i]);
	}
	return sb.buf ? sb.buf : xstrdup("");
}

static char *
expand(const char *want, const char *dir)
{
	struct strbuf sb = {0};

	for (; *want; want++) {
		if (*want == '@')
			sb_adds(&sb, dir);
		else
			sb_addc(&sb, *want);
	}
	return sb.buf ? sb.buf : xstrdup("");
}

static int
errs_differ(const char *label, const struct conf_errors *errs, const char *want, const char *dir)
{
	char *got = errs_join(errs), *exp = expand(want, dir);
	int r = differs(label, got, exp);

	free(got);
	free(exp);
	return r;
}

static int
load(const char *config, const char *tpl, struct conf *conf, struct conf_errors *errs)
{
	write_file("config.json", config);
	write_file("template.json", tpl);
	return conf_load(conf, "config.json", NULL, errs);
}

static int
rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static int
group_setup(void **state)
{
	const char *src = getenv("TMC_SRC"), *tmp = getenv("TMPDIR");

	(void)state;
	if (realpath(src ? src : ".", srcdir) == NULL)
		return -1;
	snprintf(tmpdir, sizeof(tmpdir), "%s/test_conf.XXXXXX", tmp ? tmp : "/tmp");
	if (mkdtemp(tmpdir) == NULL || chdir(tmpdir) < 0)
		return -1;
	return 0;
}

static int
group_teardown(void **state)
{
	(void)state;
	if (chdir("/") < 0)
		return -1;
	return nftw(tmpdir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* ---- TMC's README examples ---- */

static void
readme_config_assert(const struct conf *c)
{
	const struct watch *w = &c->watches[0];

	assert_int_equal(c->client_cnt, 10);
	assert_int_equal(c->worker_cnt, 20);
	assert_int_equal(c->sleep_delay, 100);
	assert_string_equal(c->ffmpeg_dir, "/usr/bin/");
	assert_int_equal(c->imagick_mem[0], 2048);
	assert_int_equal(c->imagick_mem[1], 8196);
	assert_int_equal(c->big_worker, 3);
	assert_true(c->skipsamesize);
	assert_int_equal(c->nsites, 2);
	assert_string_equal(c->sites[1].name, "site02");
	assert_string_equal(c->sites[1].root, "/data/site02");
	assert_int_equal(c->sites[0].ncmyk, 2);
	assert_string_equal(c->sites[0].cmyk[1], "AdobeRGB1998.icc");
	assert_int_equal(c->sites[0].nsrgb, 1);
	assert_string_equal(c->sites[0].srgb[0], "sRGB.icm");
	assert_string_equal(c->sites[0].watermark, "sample.png");
	assert_int_equal(c->nwatches, 1);
	assert_string_equal(w->name, "site01");
	assert_string_equal(w->site, "site01");
	assert_string_equal(w->dir, "/source");
	assert_int_equal(w->mindepth, 2);
	assert_int_equal(w->ninclude, 3);
	assert_string_equal(w->include[2], "*.mp4");
	assert_int_equal(w->nexclude, 1);
	assert_int_equal(w->nrename, 2);
	assert_string_equal(w->rename[1].from, "v.mp4");
	assert_string_equal(w->rename[1].to, ".mp4");
	assert_int_equal(w->overwrite, 1);
	assert_true(w->capture == 3.0);
	assert_int_equal(w->min_sec, 1200);
	assert_int_equal(w->max_sec, 86400);
	assert_string_equal(w->template, "it_hires_new");
	assert_string_equal(w->mode, "auto");
	assert_int_equal(w->quiet_ms, 200);
}

#define TPL1 "\xed\x85\x9c\xed\x94\x8c\xeb\xa6\xbf\xeb\xaa\x85" /* "템플릿명" */

static void
readme_template_assert(const struct conf *c)
{
	const struct template *t = conf_template(c, TPL1), *t2 = conf_template(c, TPL1 "2");
	const struct step *o, *p;

	assert_non_null(t);
	assert_non_null(t2);
	assert_int_equal(c->ntemplates, 2);
	assert_int_equal(t->nsteps, 2);
	o = &t->steps[0];
	assert_string_equal(o->name, "Origin");
	assert_true(o->strip && o->cmyk && o->srgb && o->force_dir && o->overwrite && o->save);
	assert_true(o->watermark && o->has_sharpen);
	assert_true(o->sharpen[0] == 4.0 && o->sharpen[1] == 0.4);
	assert_int_equal(o->size[0], 1000);
	assert_int_equal(o->comp, 80);
	p = &t->steps[1];
	assert_string_equal(p->source, "Origin");
	/* README defaults where the step is silent */
	assert_true(p->strip && p->cmyk && p->srgb && p->save && p->enlarge && p->skipsamesize);
	assert_false(p->watermark || p->has_sharpen || p->progressive);
	assert_int_equal(p->bitrate, 300);
	assert_int_equal(p->density, 0);
	assert_string_equal(p->format, "jpg");
	assert_string_equal(p->source_ext, "");
	assert_int_equal(p->kind, STEP_IMAGE);
	assert_int_equal(t2->nsteps, 4);
	/* an mp4 step without "ffmpeg": true stays an image step, as in TMC */
	assert_string_equal(t2->steps[3].source_ext, "mp4");
	assert_int_equal(t2->steps[3].kind, STEP_IMAGE);
	assert_int_equal(t2->steps[3].bitrate, 300);
	assert_false(t2->steps[0].save);
}

/* TMC's own config needs no tmcwatch key and loads with no error; check then
 * names exactly the files that are not there, the watch's template that
 * the README never shows, and the README's placeholder template names. The
 * two "Origin" steps (jpg, mp4) pass, and so do its Korean template names. */
static void
test_readme_fixtures(void **state)
{
	static const char want[] =
		"config.json:10:5: site.site01.cmyk: profile @/USWebCoatedSWOP.icc: No such "
		"file or directory\n"
		"config.json:10:5: site.site01.cmyk: profile @/AdobeRGB1998.icc: No such "
		"file or directory\n"
		"config.json:10:5: site.site01.srgb: profile @/sRGB.icm: No such file or "
		"directory\n"
		"config.json:10:5: site.site01.watermark: watermark @/sample.png: No such "
		"file or directory\n"
		"config.json:16:5: site.site02.cmyk: profile @/USWebCoatedSWOP.icc: No such "
		"file or directory\n"
		"config.json:16:5: site.site02.cmyk: profile @/AdobeRGB1998.icc: No such "
		"file or directory\n"
		"config.json:16:5: site.site02.srgb: profile @/sRGB.icm: No such file or "
		"directory\n"
		"config.json:16:5: site.site02.watermark: watermark @/sample.png: No such "
		"file or directory\n"
		"config.json:24:15: watchdog.site01.template: template \"it_hires_new\" is "
		"not defined in template.json";
	struct conf_errors errs = {0};
	char *fixtures = xasprintf("%s/tests/unit/fixtures", srcdir);
	struct conf conf;

	(void)state;
	assert_int_equal(chdir(fixtures), 0);
	assert_int_equal(conf_load(&conf, "config.json", NULL, &errs), 0);
	assert_int_equal(chdir(tmpdir), 0);
	assert_string_equal(conf.dir, fixtures);
	assert_string_equal(conf.tpl_path, "template.json");
	readme_config_assert(&conf);
	readme_template_assert(&conf);
	assert_int_equal(conf_check(&conf, &errs), 9);
	assert_int_equal(errs_differ("README check", &errs, want, fixtures), 0);
	/* Preview (jpg) reads the jpg Origin, the mp4 Preview reads hires */
	assert_int_equal(conf_template(&conf, TPL1 "2")->steps[2].source_idx, 0);
	assert_int_equal(conf_template(&conf, TPL1 "2")->steps[3].source_idx, -1);
	conf_free(&conf);
	conf_errors_free(&errs);
	free(fixtures);
}

/* The README's job with inline steps, through the same step table. */
static void
test_job_proc(void **state)
{
	struct conf_errors errs = {0};
	struct template tpl;
	struct json doc;
	char *path = xasprintf("%s/tests/unit/fixtures/job_mixed.json", srcdir);
	char err[PATH_MAX + 64];

	(void)state;
	assert_int_equal(json_load_file(&doc, path, err, sizeof(err)), 0);
	assert_int_equal(
		conf_proc_parse(&doc, json_get(&doc, 0, "proc"), "proc", true, &tpl, &errs), 0);
	assert_int_equal(conf_template_check(&tpl, "job_mixed.json", &errs), 0);
	assert_int_equal(errs.n, 0);
	assert_null(tpl.name);
	assert_int_equal(tpl.nsteps, 4);
	assert_int_equal(tpl.line, 17);
	assert_string_equal(tpl.steps[3].path_head, "/site01/Flv");
	assert_int_equal(tpl.steps[2].source_idx, 0);
	assert_true(tpl.steps[2].watermark && tpl.steps[2].skipsamesize);
	conf_template_free(&tpl);
	/* a job without steps: the inline proc is not an array */
	assert_int_equal(
		conf_proc_parse(&doc, json_get(&doc, 0, "hires"), "proc", false, &tpl, &errs), 1);
	assert_int_equal(errs_differ("job proc", &errs,
				     "@/tests/unit/fixtures/job_mixed.json:2:12: proc: "
				     "expected an array of steps",
				     srcdir),
			 0);
	conf_template_free(&tpl);
	json_free(&doc);
	free(path);
	path = xasprintf("%s/tests/unit/fixtures/job_image.json", srcdir);
	assert_int_equal(json_load_file(&doc, path, err, sizeof(err)), 0);
	assert_int_equal(json_get(&doc, 0, "proc"), -1);
	json_free(&doc);
	conf_errors_free(&errs);
	free(path);
}

/* An inline proc's template (config/inline.c) is its canonical text read
 * back: every key that acts must survive it. Each key here is set to a value
 * other than its default, so a key the canonical text forgets makes a step
 * differ from the parsed one. */
static void
test_inline_round_trip(void **state)
{
	static const char text[] =
		"{\"proc\": [{\"name\": \"A\", \"source\": \"hires\", \"path_head\": \"/a\","
		" \"size\": [640, 480], \"strip\": false, \"cmyk\": false, \"srgb\": false,"
		" \"force_dir\": false, \"overwrite\": true, \"watermark\": true, \"save\": false,"
		" \"enlarge\": false, \"progressive\": true, \"skipsamesize\": false,"
		" \"sharpen\": [1.5, 0.25], \"comp\": 77, \"density\": 300, \"format\": \"png\","
		" \"source_ext\": \"!mp4\", \"timeout\": 42, \"sampling\": \"4:4:4\"},"
		" {\"name\": \"V\", \"source\": \"hires\", \"path_head\": \"/v\", \"ffmpeg\": true,"
		" \"size\": [320, 240], \"bitrate\": 500, \"source_ext\": \"mp4\"}]}";
	struct conf_errors errs = {0};
	struct template tpl, made;
	struct json doc;
	char err[256];

	(void)state;
	assert_int_equal(json_parse(&doc, "job", text, strlen(text), err, sizeof(err)), 0);
	assert_int_equal(
		conf_proc_parse(&doc, json_get(&doc, 0, "proc"), "proc", true, &tpl, &errs), 0);
	assert_int_equal(conf_template_check(&tpl, "job", &errs), 0);
	inline_make(&tpl, &made);
	assert_int_equal(made.nsteps, tpl.nsteps);
	for (size_t i = 0; i < tpl.nsteps; i++)
		assert_true(step_equal(&tpl.steps[i], &made.steps[i]));
	assert_int_equal(made.steps[0].sampling, SAMPLING_444);
	assert_true(inline_name_ok(made.name));
	conf_template_free(&made);
	conf_template_free(&tpl);
	json_free(&doc);
	conf_errors_free(&errs);
}

/* Our sample configuration: no error, no check error. */
static void
test_sample_config(void **state)
{
	struct conf_errors errs = {0};
	char *path = xasprintf("%s/config/config.json", srcdir);
	struct conf conf;

	(void)state;
	assert_int_equal(conf_load(&conf, path, NULL, &errs), 0);
	assert_int_equal(conf_check(&conf, &errs), 0);
	assert_int_equal(conf.ntemplates, 2);
	assert_int_equal(conf.templates[0].steps[2].source_idx, 1);
	assert_int_equal(conf_template(&conf, "archive")->steps[0].kind, STEP_COPY);
	assert_non_null(conf_site(&conf, "site01"));
	conf_free(&conf);
	conf_errors_free(&errs);
	free(path);
}

/* ---- defaults and paths ---- */

static void
test_defaults(void **state)
{
	struct conf_errors errs = {0};
	struct conf conf;
	char *want;

	(void)state;
	assert_int_equal(load("{}", "{}", &conf, &errs), 0);
	assert_int_equal(conf.client_cnt, 10);
	assert_int_equal(conf.worker_cnt, (int)sysconf(_SC_NPROCESSORS_ONLN));
	assert_int_equal(conf.sleep_delay, 100);
	assert_null(conf.ffmpeg_dir);
	assert_int_equal(conf.imagick_mem[0], 512);
	assert_int_equal(conf.imagick_mem[1], 2048);
	assert_int_equal(conf.big_worker, 1);
	assert_false(conf.skipsamesize);
	assert_int_equal(conf.width_threshold, 2000);
	assert_int_equal(conf.height_threshold, 2000);
	assert_string_equal(conf.spool_dir, CONF_DEFAULT_SPOOL);
	assert_null(conf.log_file);
	assert_int_equal(conf.max_attempts, 3);
	assert_int_equal(conf.retry_delay, 5);
	assert_int_equal(conf.image_timeout, 300);
	assert_int_equal(conf.video_timeout, 3600);
	assert_int_equal(conf.stage_workers, 0); /* unset: tmcwatch/plan.c decides */
	assert_int_equal(conf.big_pixels, 100000000);
	assert_string_equal(conf.http.listen, "127.0.0.1");
	assert_int_equal(conf.http.port, 8080);
	assert_null(conf.http.token);
	assert_int_equal(conf.http.max_body, 1048576);
	assert_int_equal(conf.http.max_connections, 256);
	assert_int_equal(conf.http.max_per_ip, 16);
	assert_int_equal(conf.http.request_deadline, 10);
	assert_int_equal(conf.http.timeout, 30);
	assert_int_equal(conf.http.idempotency_ttl, 86400);
	assert_null(conf.callback_secret);
	assert_int_equal(conf.callback_retry_for, 86400);
	assert_int_equal(conf.callback_timeout, 30);
	assert_int_equal(conf.nsites + conf.nwatches + conf.ntemplates, 0);
	assert_string_equal(conf.dir, tmpdir);
	assert_string_equal(conf.path, "config.json");
	assert_string_equal(conf.tpl_path, "template.json");
	assert_int_equal(conf_check(&conf, &errs), 0);
	conf_free(&conf);

	/* relative paths are the config folder's; an absolute one stays */
	assert_int_equal(mkdir("sub", 0755), 0);
	write_file("sub/config.json", "{\"spool_dir\": \"spool\", \"log_file\": \"../log/t.log\"}");
	write_file("sub/template.json", "{}");
	assert_int_equal(conf_load(&conf, "./sub/config.json", NULL, &errs), 0);
	want = xasprintf("%s/sub", tmpdir);
	assert_string_equal(conf.dir, want);
	free(want);
	want = xasprintf("%s/sub/spool", tmpdir);
	assert_string_equal(conf.spool_dir, want);
	free(want);
	want = xasprintf("%s/sub/../log/t.log", tmpdir);
	assert_string_equal(conf.log_file, want);
	free(want);
	assert_string_equal(conf.tpl_path, "./sub/template.json");
	conf_free(&conf);
	/* -t wins; an absolute config path gives its own folder */
	want = xasprintf("%s/sub/config.json", tmpdir);
	assert_int_equal(conf_load(&conf, want, "template.json", &errs), 0);
	assert_string_equal(conf.tpl_path, "template.json");
	free(want);
	want = xasprintf("%s/sub", tmpdir);
	assert_string_equal(conf.dir, want);
	free(want);
	conf_free(&conf);
	assert_int_equal(unlink("sub/config.json") | unlink("sub/template.json") | rmdir("sub"), 0);
	assert_int_equal(errs.n, 0);
}

static void
test_step_defaults(void **state)
{
	static const char tpl[] =
		"{\"t\": {\"description\": \"d\", \"proc\": [\n"
		"{\"name\": \"A\", \"source\": \"hires\", \"size\": [0, 0], \"path_head\": "
		"\"/a\"},\n"
		"{\"name\": \"V\", \"source\": \"hires\", \"ffmpeg\": true, \"size\": [640, "
		"0], \"path_head\": \"/v\"},\n"
		"{\"name\": \"C\", \"kind\": \"copy\", \"source\": \"hires\", \"path_head\": "
		"\"/c\"},\n"
		"{\"name\": \"P\", \"kind\": \"pass\", \"source\": \"A\", \"path_head\": "
		"\"\", \"sharpen\": [0.5], \"format\": \"webp\"}]}}";
	struct conf_errors errs = {0};
	const struct step *s;
	struct conf conf;

	(void)state;
	assert_int_equal(load("{\"skipsamesize\": true}", tpl, &conf, &errs), 0);
	assert_string_equal(conf.templates[0].description, "d");
	s = conf.templates[0].steps;
	assert_int_equal(s[0].kind, STEP_IMAGE);
	assert_true(s[0].strip && s[0].cmyk && s[0].srgb && s[0].force_dir && s[0].save &&
		    s[0].enlarge && s[0].skipsamesize);
	assert_false(s[0].overwrite || s[0].watermark || s[0].progressive || s[0].has_sharpen);
	assert_int_equal(s[0].comp + s[0].density + s[0].timeout, 0);
	assert_int_equal(s[0].bitrate, 300);
	assert_string_equal(s[0].format, "jpg");
	assert_int_equal(s[0].line, 2);
	assert_int_equal(s[0].col, 1);
	assert_int_equal(s[0].callback_line, 0);
	assert_int_equal(s[1].kind, STEP_VIDEO);
	assert_string_equal(s[1].format, "mp4");
	assert_int_equal(s[1].size[0], 640);
	assert_int_equal(s[2].kind, STEP_COPY);
	assert_int_equal(s[2].size[0] + s[2].size[1], 0);
	assert_int_equal(s[3].kind, STEP_PASS);
	assert_true(s[3].has_sharpen && s[3].sharpen[0] == 0 && s[3].sharpen[1] == 0.5);
	assert_string_equal(s[3].format, "webp");
	assert_string_equal(s[3].path_head, "");
	conf_free(&conf);
	conf_errors_free(&errs);
}

/* TMC's one watch per site, and tmcwatch's arrays and "site" keys */
static void
test_watch_forms(void **state)
{
	static const char config[] =
		"{\"site\": {\"s1\": {\"root\": \"/r\"}, \"s2\": {\"root\": \"/q\"}},\n"
		" \"watchdog\": {\n"
		"  \"s1\": [{\"dir\": \"/a\", \"template\": \"t\"},\n"
		"         {\"dir\": \"/b\", \"template\": \"t\", \"mode\": \"poll\", "
		"\"min_sec\": 60,\n"
		"          \"include\": [\"*.jpg\"], \"overwrite\": false, \"capture\": "
		"2.5}],\n"
		"  \"nfs-drop\": {\"site\": \"s2\", \"dir\": \"/c\", \"template\": \"t\", "
		"\"quiet_ms\": 0}}}";
	static const char tpl[] =
		"{\"t\": {\"proc\": [{\"name\": \"A\", \"source\": \"hires\", \"size\": [1, "
		"1], \"path_head\": \"/a\"}]}}";
	struct conf_errors errs = {0};
	const struct watch *w;
	struct conf conf;

	(void)state;
	assert_int_equal(load(config, tpl, &conf, &errs), 0);
	assert_int_equal(conf_check(&conf, &errs), 0);
	assert_int_equal(conf.nwatches, 3);
	w = conf.watches;
	assert_string_equal(w[0].name, "s1#0");
	assert_string_equal(w[0].site, "s1");
	assert_int_equal(w[0].ninclude, 1);
	assert_string_equal(w[0].include[0], "*");
	assert_int_equal(w[0].overwrite, -1);
	assert_true(w[0].capture == 0);
	assert_int_equal(w[0].min_sec + w[0].max_sec + w[0].mindepth, 0);
	assert_int_equal(w[0].line, 3);
	assert_int_equal(w[0].col, 10);
	assert_string_equal(w[1].name, "s1#1");
	assert_string_equal(w[1].mode, "poll");
	assert_int_equal(w[1].min_sec, 60);
	assert_string_equal(w[1].include[0], "*.jpg");
	assert_int_equal(w[1].overwrite, 0);
	assert_true(w[1].capture == 2.5);
	assert_string_equal(w[2].name, "nfs-drop");
	assert_string_equal(w[2].site, "s2");
	assert_string_equal(w[2].dir, "/c");
	assert_int_equal(w[2].quiet_ms, 0);
	conf_free(&conf);
	conf_errors_free(&errs);
}

/* ---- load errors ---- */

struct load_case {
	const char *label;
	const char *config;
	const char *tpl; /* NULL: "{}" */
	const char *want;
};

#define T_STEP(extra)                                                                              \
	"{\"t\": {\"proc\": [{\"name\": \"A\", \"source\": \"hires\", \"path_head\": "             \
	"\"/a\"" extra "}]}}"

/* clang-format off */
static const struct load_case load_cases[] = {
	{"unknown top-level key; tcc is TMC's", "{\"frobnicate\": 1, \"tcc\": {\"min_sec\": 5}}", NULL,
	 "config.json:1:2: frobnicate: unknown key"},
	{"wrong types", "{\"worker_cnt\": \"20\",\n \"skipsamesize\": 1,\n \"spool_dir\": 5,\n \"sleep_delay\": 1.5,\n \"ffmpeg_dir\": null}", NULL,
	 "config.json:1:16: worker_cnt: expected an integer\n"
	 "config.json:2:18: skipsamesize: expected true or false\n"
	 "config.json:3:15: spool_dir: expected a string\n"
	 "config.json:4:17: sleep_delay: expected an integer\n"
	 "config.json:5:16: ffmpeg_dir: expected a string"},
	{"ranges", "{\"worker_cnt\": 0, \"client_cnt\": -3, \"big_worker\": 0, \"big_pixels\": 0, \"retry_delay\": -1}", NULL,
	 "config.json:1:16: worker_cnt: must be at least 1, not 0\n"
	 "config.json:1:33: client_cnt: must be at least 1, not -3\n"
	 "config.json:1:51: big_worker: must be at least 1, not 0\n"
	 "config.json:1:68: big_pixels: must be at least 1, not 0\n"
	 "config.json:1:86: retry_delay: must be at least 0, not -1"},
	{"integer overflow", "{\"image_timeout\": 2147483648}", NULL,
	 "config.json:1:19: image_timeout: must be at most 2147483647, not 2147483648"},
	{"empty spool_dir", "{\"spool_dir\": \"\"}", NULL,
	 "config.json:1:15: spool_dir: expected a path, not \"\""},
	{"imagick_mem: one number", "{\"imagick_mem\": [512]}", NULL,
	 "config.json:1:17: imagick_mem: expected [normal, big]: two positive integers (MiB)"},
	{"imagick_mem: negative", "{\"imagick_mem\": [512, -1]}", NULL,
	 "config.json:1:17: imagick_mem: expected [normal, big]: two positive integers (MiB)"},
	{"imagick_mem: zero", "{\"imagick_mem\": [0, 1]}", NULL,
	 "config.json:1:17: imagick_mem: expected [normal, big]: two positive integers (MiB)"},
	{"imagick_mem: fraction", "{\"imagick_mem\": [512, 1.5]}", NULL,
	 "config.json:1:17: imagick_mem: expected [normal, big]: two positive integers (MiB)"},
	{"imagick_mem: three", "{\"imagick_mem\": [1, 2, 3]}", NULL,
	 "config.json:1:17: imagick_mem: expected [normal, big]: two positive integers (MiB)"},
	{"imagick_mem: string", "{\"imagick_mem\": \"512\"}", NULL,
	 "config.json:1:17: imagick_mem: expected [normal, big]: two positive integers (MiB)"},
	{"site: not an object", "{\"site\": []}", NULL, "config.json:1:10: site: expected an object"},
	{"site: entry not an object", "{\"site\": {\"s1\": 5}}", NULL,
	 "config.json:1:17: site.s1: expected an object"},
	{"site: root missing", "{\"site\": {\"s1\": {}}}", NULL,
	 "config.json:1:17: site.s1.root: required key is missing"},
	{"site: every key wrong",
	 "{\"site\": {\"s1\": {\n"
	 "  \"cmyk\": \"a.icc\",\n"
	 "  \"root\": \"rel/dir\",\n"
	 "  \"watermark\": 3,\n"
	 "  \"srgb\": [1, \"\"],\n"
	 "  \"bogus\": true}}}",
	 NULL,
	 "config.json:2:11: site.s1.cmyk: expected an array of strings\n"
	 "config.json:4:16: site.s1.watermark: expected a string\n"
	 "config.json:5:12: site.s1.srgb[0]: expected a non-empty string\n"
	 "config.json:5:15: site.s1.srgb[1]: expected a non-empty string\n"
	 "config.json:6:3: site.s1.bogus: unknown key\n"
	 "config.json:3:11: site.s1.root: expected an absolute path, not \"rel/dir\""},
	{"watchdog: not an object", "{\"watchdog\": [1]}", NULL,
	 "config.json:1:14: watchdog: expected an object"},
	{"watchdog: a number", "{\"watchdog\": {\"s1\": 5}}", NULL,
	 "config.json:1:21: watchdog.s1: expected an object or an array of objects"},
	{"watchdog: array of numbers", "{\"watchdog\": {\"s1\": [{\"dir\": \"/a\", \"template\": \"t\"}, 5]}}", NULL,
	 "config.json:1:54: watchdog.s1[1]: expected an object"},
	{"watchdog: required keys", "{\"watchdog\": {\"s1\": {}}}", NULL,
	 "config.json:1:21: watchdog.s1.dir: required key is missing\n"
	 "config.json:1:21: watchdog.s1.template: required key is missing"},
	{"watchdog: every key wrong",
	 "{\"watchdog\": {\"s1\": {\"dir\": \"/a\", \"template\": \"t\",\n"
	 " \"mindepth\": -1,\n"
	 " \"include\": [],\n"
	 " \"exclude\": \"*.tmp\",\n"
	 " \"rename\": {\"h.mp4\": 1, \"\": \".mp4\"},\n"
	 " \"overwrite\": \"yes\",\n"
	 " \"capture\": -1,\n"
	 " \"mode\": \"fast\",\n"
	 " \"quiet_ms\": 1.5,\n"
	 " \"site\": [\"s1\"]}}}",
	 NULL,
	 "config.json:2:14: watchdog.s1.mindepth: must be at least 0, not -1\n"
	 "config.json:3:13: watchdog.s1.include: an empty list matches no file (omit it for all)\n"
	 "config.json:4:13: watchdog.s1.exclude: expected an array of strings\n"
	 "config.json:5:22: watchdog.s1.rename.h.mp4: expected a string\n"
	 "config.json:5:25: watchdog.s1.rename.: the text to replace is empty\n"
	 "config.json:6:15: watchdog.s1.overwrite: expected true or false\n"
	 "config.json:7:13: watchdog.s1.capture: must be at least 0, not -1\n"
	 "config.json:9:14: watchdog.s1.quiet_ms: expected an integer\n"
	 "config.json:10:10: watchdog.s1.site: expected a string\n"
	 "config.json:8:10: watchdog.s1.mode: expected \"auto\", \"inotify\" or \"poll\", not \"fast\""},
	{"http: not an object", "{\"http\": 5}", NULL, "config.json:1:10: http: expected an object"},
	{"http: wrong values",
	 "{\"http\": {\"port\": 70000, \"token\": \"\", \"max_body\": 0, \"listen\": 1, \"tls\": true}}", NULL,
	 "config.json:1:19: http.port: must be between 1 and 65535, not 70000\n"
	 "config.json:1:51: http.max_body: must be at least 1, not 0\n"
	 "config.json:1:64: http.listen: expected a string\n"
	 "config.json:1:67: http.tls: unknown key\n"
	 "config.json:1:35: http.token: an empty token would admit anyone: omit the key for no token"},
	{"config is not an object", "[]", NULL, "config.json:1:1: expected an object at the top level"},
	{"duplicate key in config", "{\"worker_cnt\": 2,\n \"big_worker\": 1,\n \"worker_cnt\": 4}", NULL,
	 "config.json:3:2: duplicate key \"worker_cnt\" (first at 1:2)"},
	{"syntax error in template.json", "{}", "{\"t\": {\"proc\": [\n  {\"name\": \"A\",}]}}",
	 "template.json:2:15: unexpected ','"},
	{"template: not an object", "{}", "{\"t\": []}", "template.json:1:7: t: expected an object"},
	{"template: wrong keys", "{}", "{\"t\": {\"description\": 5, \"steps\": [], \"proc\": {}}}",
	 "template.json:1:23: t.description: expected a string\n"
	 "template.json:1:26: t.steps: unknown key\n"
	 "template.json:1:47: t.proc: expected an array of steps"},
	{"step: not an object", "{}", "{\"t\": {\"proc\": [5]}}", "template.json:1:17: t.proc[0]: expected an object"},
	{"step: required keys", "{}", "{\"t\": {\"proc\": [{}]}}",
	 "template.json:1:17: t.proc[0].name: required key is missing\n"
	 "template.json:1:17: t.proc[0].source: required key is missing\n"
	 "template.json:1:17: t.proc[0].path_head: required key is missing\n"
	 "template.json:1:17: t.proc[0].size: required key is missing (image and video steps)"},
	{"step: size missing (video)", "{}", T_STEP(", \"ffmpeg\": true"),
	 "template.json:1:17: t.proc[0].size: required key is missing (image and video steps)"},
	{"step: size missing (copy is fine)", "{}", T_STEP(", \"kind\": \"copy\""), ""},
	{"step: negative size", "{}", T_STEP(", \"size\": [-1, 100]"),
	 "template.json:1:77: t.proc[0].size: expected [width, height]: two non-negative integers"},
	{"step: one size", "{}", T_STEP(", \"size\": [100]"),
	 "template.json:1:77: t.proc[0].size: expected [width, height]: two non-negative integers"},
	{"step: fractional size", "{}", T_STEP(", \"size\": [100, 1.5]"),
	 "template.json:1:77: t.proc[0].size: expected [width, height]: two non-negative integers"},
	{"step: every key wrong", "{}",
	 "{\"t\": {\"proc\": [{\"name\": 1, \"source\": \"hires\", \"path_head\": \"/a\", \"size\": [1, 1],\n"
	 " \"sharpen\": [1, -0.5],\n"
	 " \"comp\": 101,\n"
	 " \"strip\": \"yes\",\n"
	 " \"bitrate\": 0,\n"
	 " \"source_ext\": \".jpg\",\n"
	 " \"format\": \"gif\",\n"
	 " \"kind\": \"gif\",\n"
	 " \"sharpness\": 1}]}}",
	 "template.json:1:26: t.proc[0].name: expected a string\n"
	 "template.json:2:13: t.proc[0].sharpen: expected [radius, sigma]: two non-negative numbers\n"
	 "template.json:3:10: t.proc[0].comp: must be between 0 and 100, not 101\n"
	 "template.json:4:11: t.proc[0].strip: expected true or false\n"
	 "template.json:5:13: t.proc[0].bitrate: must be at least 1, not 0\n"
	 "template.json:9:2: t.proc[0].sharpness: unknown key\n"
	 "template.json:8:10: t.proc[0].kind: expected \"image\", \"video\", \"copy\" or \"pass\", not \"gif\"\n"
	 "template.json:7:12: t.proc[0].format: expected \"jpg\", \"png\" or \"webp\", not \"gif\"\n"
	 "template.json:6:16: t.proc[0].source_ext: expected \"\", \"jpg\", \"jpg,png\" or \"!mp4\" (no dots), not \".jpg\""},
	{"step: ffmpeg conflicts with kind", "{}", T_STEP(", \"kind\": \"image\", \"ffmpeg\": true, \"size\": [1, 1]"),
	 "template.json:1:96: t.proc[0].ffmpeg: true conflicts with \"kind\": \"image\""},
	{"step: ffmpeg not a bool", "{}", T_STEP(", \"ffmpeg\": 1, \"size\": [1, 1]"),
	 "template.json:1:79: t.proc[0].ffmpeg: expected true or false"},
	{"step: video format", "{}", T_STEP(", \"kind\": \"video\", \"format\": \"webm\", \"size\": [1, 1]"),
	 "template.json:1:96: t.proc[0].format: a video step writes \"mp4\", not \"webm\""},
	{"step: sharpen of three", "{}", T_STEP(", \"size\": [1, 1], \"sharpen\": [1, 2, 3]"),
	 "template.json:1:96: t.proc[0].sharpen: expected [radius, sigma]: two non-negative numbers"},
	{"step: source_ext lists", "{}", T_STEP(", \"size\": [1, 1], \"source_ext\": \"!jpg,png\""), ""},
	{"step: bad source_ext list", "{}", T_STEP(", \"size\": [1, 1], \"source_ext\": \"jpg,,png\""),
	 "template.json:1:99: t.proc[0].source_ext: expected \"\", \"jpg\", \"jpg,png\" or \"!mp4\" (no dots), not \"jpg,,png\""},
	{"step: TMC internals are accepted", "{}",
	 T_STEP(", \"size\": [1, 1], \"force_image\": true, \"offercomp\": 1, \"rename\": {}"), ""},
};
/* clang-format on */

static void
test_load_errors(void **state)
{
	struct conf_errors errs = {0};
	const struct load_case *c;
	struct conf conf;
	size_t i;
	int fails = 0, n;

	(void)state;
	for (i = 0; i < NCASES(load_cases); i++) {
		c = &load_cases[i];
		n = load(c->config, c->tpl ? c->tpl : "{}", &conf, &errs);
		fails += errs_differ(c->label, &errs, c->want, tmpdir);
		if (n != (int)errs.n) {
			print_error("%s: returned %d for %zu errors\n", c->label, n, errs.n);
			fails++;
		}
		/* check on a half-loaded configuration must not trip on what is unset */
		conf_check(&conf, &errs);
		conf_free(&conf);
		conf_errors_free(&errs);
	}
	assert_int_equal(fails, 0);
}

static void
test_missing_files(void **state)
{
	struct conf_errors errs = {0};
	struct conf conf;

	(void)state;
	assert_int_equal(conf_load(&conf, "nowhere/config.json", NULL, &errs), 2);
	assert_int_equal(errs_differ("missing files", &errs,
				     "nowhere/config.json: No such file or directory\n"
				     "nowhere/template.json: No such file or directory",
				     ""),
			 0);
	/* defaults are still there for whoever looks */
	assert_string_equal(conf.spool_dir, CONF_DEFAULT_SPOOL);
	assert_int_equal(conf_check(&conf, &errs), 0);
	conf_free(&conf);
	conf_errors_free(&errs);
	/* a folder where a file should be */
	assert_int_equal(mkdir("dir.json", 0755), 0);
	assert_int_equal(conf_load(&conf, "config.json", "dir.json", &errs), 1);
	assert_string_equal(errs.msg[0], "dir.json: not a regular file");
	assert_int_equal(rmdir("dir.json"), 0);
	conf_free(&conf);
	conf_errors_free(&errs);
}

/* ---- check errors ---- */

struct check_case {
	const char *label;
	const char *config;
	const char *tpl;
	const char *files; /* space-separated, made in the folder; a trailing '/' makes a
			      folder */
	const char *want;
};

/* clang-format off */
#define SITE_S1 "\"site\": {\"s1\": {\"root\": \"/r\"}}"
#define STEP(name, source, ext)                                                             \
	"{\"name\": \"" name "\", \"source\": \"" source "\", \"source_ext\": \"" ext           \
	"\", \"size\": [1, 1], \"path_head\": \"/x\"}"
#define TPL_OK "{\"t\": {\"proc\": [\n" STEP("A", "hires", "") "]}}"
#define PROC2(a, b) "{\"t\": {\"proc\": [\n" a ",\n" b "]}}"
#define PROC3(a, b, c) "{\"t\": {\"proc\": [\n" a ",\n" b ",\n" c "]}}"

#define TPL_CHAIN                                                                           \
	"{\"t\": {\"proc\": [\n" STEP("A", "hires", "") ",\n" STEP("B", "A", "") ",\n" STEP(      \
		"C", "hires", "") "]}}"
#define GM_OK "\"servers\": [\"10.0.0.1\"], \"secret\": \"0123456789abcdef\""
static const struct check_case check_cases[] = {
	{"all good", "{" SITE_S1 ", \"watchdog\": {\"s1\": {\"dir\": \"/in\", \"template\": \"t\"}}}", TPL_OK, "", ""},
	{"gearman: a template and a step of another unit", "{\"gearman\": {" GM_OK ", \"templates\": [\"t\"]}}", TPL_CHAIN, "", ""},
	{"gearman: unknown template and step",
	 "{\"gearman\": {" GM_OK ",\n \"templates\": [\"u\"], \"steps\": [\"t/Z\", \"A\"]}}", TPL_CHAIN, "",
	 "config.json:1:13: gearman.templates: template \"u\" is not defined in template.json\n"
	 "config.json:1:13: gearman.steps: \"t/Z\" names no step (\"template/step\" of template.json)\n"
	 "config.json:1:13: gearman.steps: \"A\" names no step (\"template/step\" of template.json)"},
	{"gearman: a step below a unit's head", "{\"gearman\": {" GM_OK ", \"steps\": [\"t/A\", \"t/B\"]}}", TPL_CHAIN, "",
	 "config.json:1:13: gearman.steps: t/B is already sent with t/A, a step above it"},
	{"gearman: a head that reads a step", "{\"gearman\": {" GM_OK ", \"steps\": [\"t/B\"]}}", TPL_CHAIN, "",
	 "config.json:1:13: gearman.steps: t/B reads the output of t/A, but a remote unit starts from "
	 "the original: name t/A to send both"},
	{"gearman: units without servers", "{\"gearman\": {\"templates\": [\"t\"]}}", TPL_CHAIN, "",
	 "config.json:1:13: gearman: templates or steps without servers"},
	{"watch names an unknown site",
	 "{" SITE_S1 ",\n \"watchdog\": {\"s2\": {\"dir\": \"/in\", \"template\": \"t\"}}}", TPL_OK, "",
	 "config.json:2:21: watchdog.s2: site \"s2\" is not defined in \"site\""},
	{"watch names an unknown site by \"site\"",
	 "{" SITE_S1 ",\n \"watchdog\": {\"w\": [{\"site\": \"s9\", \"dir\": \"/in\", \"template\": \"t\"}]}}", TPL_OK, "",
	 "config.json:2:21: watchdog.w#0: site \"s9\" is not defined in \"site\""},
	{"watch names an unknown template",
	 "{" SITE_S1 ",\n \"watchdog\": {\"s1\": {\"dir\": \"/in\", \"template\": \"nope\"}}}", TPL_OK, "",
	 "config.json:2:21: watchdog.s1.template: template \"nope\" is not defined in template.json"},
	{"template without steps", "{}", "{\"t\": {\"proc\": []},\n \"u\": {\"description\": \"no proc\"}}", "",
	 "template.json:1:2: t.proc: template has no steps\n"
	 "template.json:2:2: u.proc: template has no steps"},
	{"forward reference", "{}", PROC2(STEP("A", "B", ""), STEP("B", "hires", "")), "",
	 "template.json:2:1: t.proc[0].source: source \"B\" is not an earlier step"},
	{"step naming itself", "{}", PROC2(STEP("A", "hires", ""), STEP("B", "B", "")), "",
	 "template.json:3:1: t.proc[1].source: source \"B\" is not an earlier step"},
	{"cycle", "{}", PROC2(STEP("A", "B", ""), STEP("B", "A", "")), "",
	 "template.json:2:1: t.proc[0].source: source \"B\" is not an earlier step"},
	{"unknown source", "{}", PROC2(STEP("A", "hires", ""), STEP("B", "Orign", "")), "",
	 "template.json:3:1: t.proc[1].source: source \"Orign\" is not an earlier step"},
	{"source takes other files", "{}", PROC2(STEP("A", "hires", "mp4"), STEP("B", "A", "jpg")), "",
	 "template.json:3:1: t.proc[1].source: no earlier step \"A\" takes the files this step takes (source_ext \"jpg\")"},
	{"same name, same files", "{}", PROC2(STEP("A", "hires", ""), STEP("A", "hires", "")), "",
	 "template.json:3:1: t.proc[1].name: step \"A\" is already defined at t.proc[0] for files this one takes too (source_ext \"\" and \"\")"},
	{"same name, case differs", "{}", PROC2(STEP("A", "hires", "jpg"), STEP("A", "hires", "JPG")), "",
	 "template.json:3:1: t.proc[1].name: step \"A\" is already defined at t.proc[0] for files this one takes too (source_ext \"jpg\" and \"JPG\")"},
	{"same name, jpeg is jpg", "{}", PROC2(STEP("A", "hires", "jpeg"), STEP("A", "hires", "jpg")), "",
	 "template.json:3:1: t.proc[1].name: step \"A\" is already defined at t.proc[0] for files this one takes too (source_ext \"jpeg\" and \"jpg\")"},
	{"same name, jpg and !mp4", "{}", PROC2(STEP("A", "hires", "jpg"), STEP("A", "hires", "!mp4")), "",
	 "template.json:3:1: t.proc[1].name: step \"A\" is already defined at t.proc[0] for files this one takes too (source_ext \"jpg\" and \"!mp4\")"},
	{"same name, two negations", "{}", PROC2(STEP("A", "hires", "!mp4"), STEP("A", "hires", "!jpg")), "",
	 "template.json:3:1: t.proc[1].name: step \"A\" is already defined at t.proc[0] for files this one takes too (source_ext \"!mp4\" and \"!jpg\")"},
	{"same name, lists meet", "{}", PROC2(STEP("A", "hires", "jpg,png"), STEP("A", "hires", "gif,png")), "",
	 "template.json:3:1: t.proc[1].name: step \"A\" is already defined at t.proc[0] for files this one takes too (source_ext \"jpg,png\" and \"gif,png\")"},
	{"same name, disjoint: jpg and mp4", "{}", PROC2(STEP("A", "hires", "jpg"), STEP("A", "hires", "mp4")), "", ""},
	{"same name, disjoint: !mp4 and mp4", "{}", PROC2(STEP("A", "hires", "!mp4"), STEP("A", "hires", "mp4")), "", ""},
	{"same name, disjoint: !jpg,png and png", "{}", PROC2(STEP("A", "hires", "!jpg,png"), STEP("A", "hires", "png")), "", ""},
	{"bad step names", "{}",
	 "{\"t\": {\"proc\": [\n" STEP("a/b", "hires", "") ",\n" STEP(".hidden", "hires", "") ",\n" STEP("", "hires", "") ",\n"
	 STEP("hires", "hires", "") ",\n" STEP("x1234567890123456789012345678901234567890123456789012345678901234", "hires", "") ",\n"
	 STEP("x123456789012345678901234567890123456789012345678901234567890123", "hires", "") ",\n"
	 STEP("Ok_name-1.v2", "hires", "") "]}}",
	 "",
	 "template.json:2:1: t.proc[0].name: step name \"a/b\" cannot be a folder name: use letters (UTF-8 too), digits, _ . - (not '.' first), at most 64 characters\n"
	 "template.json:3:1: t.proc[1].name: step name \".hidden\" cannot be a folder name: use letters (UTF-8 too), digits, _ . - (not '.' first), at most 64 characters\n"
	 "template.json:4:1: t.proc[2].name: step name \"\" cannot be a folder name: use letters (UTF-8 too), digits, _ . - (not '.' first), at most 64 characters\n"
	 "template.json:5:1: t.proc[3].name: \"hires\" names the original\n"
	 "template.json:6:1: t.proc[4].name: step name \"x1234567890123456789012345678901234567890123456789012345678901234\" cannot be a folder name: use letters (UTF-8 too), digits, _ . - (not '.' first), at most 64 characters"},
	{"bad template name", "{}", "{\"my thumbs\": {\"proc\": [" STEP("A", "hires", "") "]}}", "",
	 "template.json:1:2: my thumbs: template name \"my thumbs\" cannot be a folder name: use letters (UTF-8 too), digits, _ . - (not '.' first), at most 64 characters"},
	{"per-step file callback into a missing folder", "{}",
	 "{\"t\": {\"proc\": [\n{\"name\": \"A\", \"source\": \"hires\", \"size\": [1, 1], \"path_head\": \"/a\",\n"
	 "  \"callback\": [{\"action\": \"file\", \"target\": \"/nonexistent-tmcwatch/%datetime%\", \"cmd\": \"%file%\"}]}]}}",
	 "", "template.json:3:3: t.proc[0].callback[0].target: folder /nonexistent-tmcwatch: No such "
	     "file or directory"},
	{"profiles and watermark missing",
	 "{\"site\": {\"s1\": {\"root\": \"/r\", \"cmyk\": [\"a.icc\", \"b.icc\"],\n"
	 "  \"srgb\": [\"/nonexistent/sRGB.icm\"], \"watermark\": \"wm.png\"}}}", TPL_OK, "b.icc",
	 "config.json:1:11: site.s1.cmyk: profile @/a.icc: No such file or directory\n"
	 "config.json:1:11: site.s1.srgb: profile /nonexistent/sRGB.icm: No such file or directory\n"
	 "config.json:1:11: site.s1.watermark: watermark @/wm.png: No such file or directory"},
	{"profiles and watermark present",
	 "{\"site\": {\"s1\": {\"root\": \"/r\", \"cmyk\": [\"a.icc\"], \"srgb\": [\"icc/sRGB.icm\"], \"watermark\": \"wm.png\"}}}",
	 TPL_OK, "a.icc icc/ icc/sRGB.icm wm.png", ""},
	{"watermark is a folder", "{\"site\": {\"s1\": {\"root\": \"/r\", \"watermark\": \"wm\"}}}", TPL_OK, "wm/",
	 "config.json:1:11: site.s1.watermark: watermark @/wm: not a regular file"},
	{"empty watermark means none", "{\"site\": {\"s1\": {\"root\": \"/r\", \"watermark\": \"\"}}}", TPL_OK, "", ""},
};
/* clang-format on */

/* Make (or with undo, remove in reverse) the case's files. */
static void
case_files(const char *files, bool undo)
{
	char *list = xstrdup(files), *words[16], *save = NULL, *w;
	size_t n = 0, i;

	for (w = strtok_r(list, " ", &save); w && n < 16; w = strtok_r(NULL, " ", &save))
		words[n++] = w;
	for (i = 0; i < n; i++) {
		w = words[undo ? n - 1 - i : i];
		if (undo)
			assert_int_equal(remove(w), 0);
		else if (w[strlen(w) - 1] == '/')
			assert_int_equal(mkdir(w, 0755), 0);
		else
			write_file(w, "x");
	}
	free(list);
}

static void
test_check_errors(void **state)
{
	struct conf_errors errs = {0};
	const struct check_case *c;
	struct conf conf;
	size_t i;
	int fails = 0, n;

	(void)state;
	for (i = 0; i < NCASES(check_cases); i++) {
		c = &check_cases[i];
		case_files(c->files, false);
		if (load(c->config, c->tpl, &conf, &errs) != 0) {
			fails += errs_differ(c->label, &errs, "(loads)", tmpdir);
		} else {
			n = conf_check(&conf, &errs);
			fails += errs_differ(c->label, &errs, c->want, tmpdir);
			fails += n != (int)errs.n;
		}
		conf_free(&conf);
		conf_errors_free(&errs);
		case_files(c->files, true);
	}
	assert_int_equal(fails, 0);
}

/* Which steps head a remote unit, their gearman functions, the keys'
 * defaults, secret_file's last newline, and the refusals of the loader. */
static void
test_gearman(void **state)
{
	struct conf_errors errs = {0};
	struct conf conf;
	char hex[65], hex2[65];
	char *fn;

	(void)state;
	write_file("secret", "0123456789abcdef-file\n");
	assert_int_equal(load("{\"gearman\": {\"servers\": [\"g1:4730\", \"g2\"], "
			      "\"secret_file\": \"secret\", \"templates\": [\"t\"], "
			      "\"steps\": []}}",
			      TPL_CHAIN, &conf, &errs),
			 0);
	assert_int_equal(conf_check(&conf, &errs), 0);
	assert_string_equal(conf.gearman.secret, "0123456789abcdef-file");
	assert_int_equal(conf.gearman.nservers, 2);
	assert_int_equal(conf.gearman.max_inflight, 4);
	assert_int_equal(conf.gearman.max_payload, 64L << 20);
	assert_true(conf_remote_head(&conf, &conf.templates[0], 0));
	assert_false(conf_remote_head(&conf, &conf.templates[0], 1)); /* below A */
	assert_true(conf_remote_head(&conf, &conf.templates[0], 2));
	assert_true(conf_remote_any(&conf));
	fn = conf_remote_function(&conf.templates[0], 2, true);
	assert_string_equal(fn, "tmcwatch:t:02:big");
	free(fn);
	conf_template_digest(&conf.templates[0], hex);
	assert_int_equal(strlen(hex), 64);
	conf.templates[0].steps[1].size[0] = 2; /* another step key, another digest */
	conf_template_digest(&conf.templates[0], hex2);
	assert_string_not_equal(hex, hex2);
	conf_free(&conf);
	assert_int_equal(load("{\"gearman\": {\"servers\": [\"g\"], \"secret\": \"short\"}}",
			      TPL_CHAIN, &conf, &errs),
			 1);
	assert_int_equal(
		errs_differ("short secret", &errs,
			    "config.json:1:42: gearman.secret: a shared secret of at least "
			    "16 bytes is required with servers (gearmand authenticates "
			    "nobody)",
			    tmpdir),
		0);
	conf_free(&conf);
	conf_errors_free(&errs);
	assert_int_equal(load("{\"gearman\": {\"templates\": [\"t\"]}}", TPL_CHAIN, &conf, &errs),
			 0);
	assert_false(conf_remote_any(&conf)); /* no servers: nothing leaves */
	conf_free(&conf);
	conf_errors_free(&errs);
	unlink("secret");
}

/* source_idx: the first earlier entry of that name that can take the file;
 * shaped like TMC's shipped template_site01 */
static void
test_source_idx(void **state)
{
	static const char tpl[] = "{\"t\": {\"proc\": [\n" STEP(
		"Origin", "hires",
		"!mp4") ",\n"
			"{\"name\": \"NoWm\", \"source\": \"hires\", \"source_ext\": "
			"\"mp4\", \"ffmpeg\": true, \"size\": [640, 640], \"path_head\": "
			"\"/n\"},\n" STEP("NoWm", "Origin", "!mp4") ",\n" STEP(
				"Preview", "NoWm",
				"!mp4") ",\n" STEP("Preview", "hires",
						   "mp4") ",\n" STEP("Thumb", "Origin",
								     "") ",\n" STEP("Small",
										    "Thumb",
										    "jpg,png") "]"
											       "}"
											       "}";
	static const int want[] = {-1, -1, 0, 2, -1, 0, 5};
	struct conf_errors errs = {0};
	struct conf conf;
	size_t i;

	(void)state;
	assert_int_equal(load("{}", tpl, &conf, &errs), 0);
	assert_int_equal(conf_check(&conf, &errs), 0);
	assert_int_equal(conf.templates[0].nsteps, NCASES(want));
	for (i = 0; i < NCASES(want); i++)
		assert_int_equal(conf.templates[0].steps[i].source_idx, want[i]);
	assert_int_equal(conf.templates[0].steps[1].kind, STEP_VIDEO);
	conf_free(&conf);
	conf_errors_free(&errs);
}

/* ---- filters and lookups ---- */

struct applies_case {
	const char *label;
	const char *filter;
	const char *ext;
	bool want;
};

/* clang-format off */
static const struct applies_case applies_cases[] = {
	{"empty filter, any", "", "jpg", true},
	{"empty filter, no extension", "", "", true},
	{"NULL extension", "", NULL, true},
	{"same", "jpg", "jpg", true},
	{"other", "jpg", "png", false},
	{"case-insensitive", "jpg", "JPG", true},
	{"case-insensitive filter", "MP4", "mp4", true},
	{"jpeg is jpg", "jpg", "jpeg", true},
	{"jpg is jpeg", "JPEG", "jpg", true},
	{"prefix is not a match", "jpg", "jp", false},
	{"longer is not a match", "jp", "jpg", false},
	{"negation, other", "!mp4", "jpg", true},
	{"negation, same", "!mp4", "MP4", false},
	{"negation, no extension", "!mp4", "", true},
	{"list, first", "jpg,png", "jpg", true},
	{"list, last", "jpg,png", "PNG", true},
	{"list, none", "jpg,png", "gif", false},
	{"negated list", "!jpg,png", "png", false},
	{"negated list, other", "!jpg,png", "gif", true},
	{"positive filter, no extension", "jpg", "", false},
};
/* clang-format on */

static void
test_step_applies(void **state)
{
	const struct applies_case *c;
	struct step st;
	size_t i;
	int fails = 0;

	(void)state;
	memset(&st, 0, sizeof(st));
	for (i = 0; i < NCASES(applies_cases); i++) {
		c = &applies_cases[i];
		st.source_ext = (char *)c->filter;
		if (step_applies(&st, c->ext) != c->want) {
			print_error("%s: \"%s\" on \"%s\" should be %d\n", c->label, c->filter,
				    c->ext ? c->ext : "(null)", c->want);
			fails++;
		}
	}
	st.source_ext = NULL;
	fails += !step_applies(&st, "jpg");
	assert_int_equal(fails, 0);
}

static void
test_lookups(void **state)
{
	struct conf_errors errs = {0};
	struct conf conf;

	(void)state;
	assert_string_equal(step_kind_name(STEP_IMAGE), "image");
	assert_string_equal(step_kind_name(STEP_VIDEO), "video");
	assert_string_equal(step_kind_name(STEP_COPY), "copy");
	assert_string_equal(step_kind_name(STEP_PASS), "pass");
	assert_string_equal(step_kind_name((enum step_kind)42), "unknown");
	assert_int_equal(load("{" SITE_S1 "}", TPL_OK, &conf, &errs), 0);
	assert_string_equal(conf_site(&conf, "s1")->root, "/r");
	assert_null(conf_site(&conf, "S1"));
	assert_null(conf_site(&conf, NULL));
	assert_int_equal(conf_template(&conf, "t")->nsteps, 1);
	assert_null(conf_template(&conf, "T"));
	assert_null(conf_template(&conf, NULL));
	conf_free(&conf);
	assert_null(conf.sites);
	conf_free(&conf); /* twice is harmless */
	conf_errors_add(&errs, "%s:%d: %s", "f", 1, "x");
	assert_int_equal(errs.n, 1);
	assert_string_equal(errs.msg[0], "f:1: x");
	conf_errors_free(&errs);
	assert_int_equal(errs.n, 0);
	assert_null(errs.msg);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_readme_fixtures),   cmocka_unit_test(test_job_proc),
		cmocka_unit_test(test_inline_round_trip), cmocka_unit_test(test_sample_config),
		cmocka_unit_test(test_defaults),          cmocka_unit_test(test_step_defaults),
		cmocka_unit_test(test_watch_forms),       cmocka_unit_test(test_load_errors),
		cmocka_unit_test(test_missing_files),     cmocka_unit_test(test_check_errors),
		cmocka_unit_test(test_source_idx),        cmocka_unit_test(test_step_applies),
		cmocka_unit_test(test_lookups),           cmocka_unit_test(test_gearman),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
