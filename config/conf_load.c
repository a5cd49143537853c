/*
 * conf_load.c - config.json and template.json into one struct conf.
 *
 * Contract: conf_load() reads TMC's two files as TMC's users wrote them
 * (comments allowed) and fills struct conf from tables: one row per key
 * {name, type, offset, default, min, max} for each kind of object (the top
 * level, a site, a watch, http, a template, a step). Defaults come from the
 * same rows, so a TMC config.json without tmcwatch's keys loads unchanged.
 * Keys TMC knew and tmcwatch does not use are accepted and ignored; any other
 * key is an error that names it, so a typo never silently becomes a default.
 *
 * Failure: nothing is logged, and loading goes on after an error, so one
 * `tmcwatch check` lists them all, each "file:line:col: key: what" with key a
 * dotted path (site.site01.root, template_site01.proc[2].size); a file that
 * cannot be read is "path: strerror". What needs both files or the disk
 * (sites and templates named elsewhere, step sources, profile files) is
 * conf_check()'s. Only allocation failure exits (x* allocators).
 */
#include <limits.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf.h"
#include "json.h"
#include "spool.h"

#define KEYS_MAX 32 /* rows of the largest table; see the static asserts */
#define NROWS(a) (sizeof(a) / sizeof((a)[0]))

struct ld {
	const struct json *doc;
	struct conf_errors *errs;
	const char *dir;   /* the config folder, for relative paths */
	bool skipsamesize; /* the config's: every step's default */
};

enum ktype {
	KT_INT,  /* int in [min, max] */
	KT_LONG, /* long in [min, max] */
	KT_BOOL,
	KT_TRI,    /* int: -1 while absent, else 0 or 1 from a bool */
	KT_DOUBLE, /* double >= min */
	KT_STR,    /* char *, replacing the default */
	KT_PATH,   /* char *, relative to the config folder */
	KT_FUNC,   /* the row's own parser */
	KT_LATER,  /* only noted: the object's post-check reads it */
	KT_IGNORE, /* TMC's, accepted and unused */
};

struct key;
typedef void (*key_fn)(struct ld *ld, const struct key *key, int tok, void *base, const char *path);

struct key {
	const char *name;
	enum ktype type;
	size_t off;
	long long def, min, max;
	const char *sdef;
	key_fn fn;
	bool required;
};

/* clang-format off */
#define K_ROW(s, f, t, d, lo, hi, sd, req) {#f, t, offsetof(s, f), d, lo, hi, sd, NULL, req}
#define K_INT(s, f, d, lo, hi) K_ROW(s, f, KT_INT, d, lo, hi, NULL, false)
#define K_LONG(s, f, d, lo, hi) K_ROW(s, f, KT_LONG, d, lo, hi, NULL, false)
#define K_BOOL(s, f, d) K_ROW(s, f, KT_BOOL, d, 0, 1, NULL, false)
#define K_TRI(s, f) K_ROW(s, f, KT_TRI, -1, 0, 1, NULL, false)
#define K_DOUBLE(s, f, d, lo) K_ROW(s, f, KT_DOUBLE, d, lo, 0, NULL, false)
#define K_STR(s, f, sd) K_ROW(s, f, KT_STR, 0, 0, 0, sd, false)
#define K_NEED(s, f) K_ROW(s, f, KT_STR, 0, 0, 0, NULL, true)
#define K_PATH(s, f, sd) K_ROW(s, f, KT_PATH, 0, 0, 0, sd, false)
#define K_FUNC(n, fn) {n, KT_FUNC, 0, 0, 0, 0, NULL, fn, false}
#define K_LATER(n) {n, KT_LATER, 0, 0, 0, 0, NULL, NULL, false}
#define K_IGNORE(n) {n, KT_IGNORE, 0, 0, 0, 0, NULL, NULL, false}

static void ld_imagick_mem(struct ld *, const struct key *, int, void *, const char *);
static void ld_sites(struct ld *, const struct key *, int, void *, const char *);
static void ld_watchdog(struct ld *, const struct key *, int, void *, const char *);
static void ld_http(struct ld *, const struct key *, int, void *, const char *);
static void ld_gearman(struct ld *, const struct key *, int, void *, const char *);
static void ld_gm_servers(struct ld *, const struct key *, int, void *, const char *);
static void ld_gm_templates(struct ld *, const struct key *, int, void *, const char *);
static void ld_gm_steps(struct ld *, const struct key *, int, void *, const char *);
static void ld_cmyk(struct ld *, const struct key *, int, void *, const char *);
static void ld_srgb(struct ld *, const struct key *, int, void *, const char *);
static void ld_include(struct ld *, const struct key *, int, void *, const char *);
static void ld_exclude(struct ld *, const struct key *, int, void *, const char *);
static void ld_rename(struct ld *, const struct key *, int, void *, const char *);
static void ld_tpl_proc(struct ld *, const struct key *, int, void *, const char *);
static void ld_size(struct ld *, const struct key *, int, void *, const char *);
static void ld_sharpen(struct ld *, const struct key *, int, void *, const char *);
static void ld_sampling(struct ld *, const struct key *, int, void *, const char *);
static void ld_truncated(struct ld *, const struct key *, int, void *, const char *);
static void ld_callback(struct ld *, const struct key *, int, void *, const char *);

static const struct key conf_keys[] = {
	K_INT(struct conf, client_cnt, 10, 1, INT_MAX),
	K_INT(struct conf, worker_cnt, 1, 1, INT_MAX), /* default: online CPUs */
	/* accepted, unused: stages wait on inotify, never in a sleep loop */
	K_INT(struct conf, sleep_delay, 100, 0, INT_MAX),
	K_STR(struct conf, ffmpeg_dir, NULL), /* accepted, unused: FFmpeg is linked */
	K_FUNC("imagick_mem", ld_imagick_mem),
	/* 0 would leave big images waiting forever, as it did in TMC */
	K_INT(struct conf, big_worker, 1, 1, INT_MAX),
	K_BOOL(struct conf, skipsamesize, false),
	K_INT(struct conf, width_threshold, 2000, 1, INT_MAX),
	K_INT(struct conf, height_threshold, 2000, 1, INT_MAX),
	K_PATH(struct conf, spool_dir, CONF_DEFAULT_SPOOL),
	K_STR(struct conf, seq_timezone, NULL), /* checked by ld_seq_timezone */
	K_PATH(struct conf, log_file, NULL),
	K_INT(struct conf, max_attempts, 3, 1, INT_MAX),
	K_INT(struct conf, retry_delay, 5, 0, INT_MAX),
	K_INT(struct conf, image_timeout, 300, 1, INT_MAX),
	K_INT(struct conf, video_timeout, 3600, 1, INT_MAX),
	/* 0: unset, the plan decides per step (tmcwatch/plan.c) */
	K_INT(struct conf, stage_workers, 0, 1, INT_MAX),
	K_INT(struct conf, metrics_interval, 15, 0, 86400),
	K_LONG(struct conf, big_pixels, 100000000, 1, LONG_MAX),
	K_INT(struct conf, retention_days, 30, 0, 36500),
	K_INT(struct conf, records_days, 90, 0, 36500),
	K_INT(struct conf, inline_idle, 60, 1, 86400),
	K_FUNC("site", ld_sites),
	K_FUNC("watchdog", ld_watchdog),
	K_FUNC("http", ld_http),
	K_FUNC("gearman", ld_gearman),
	K_STR(struct conf, callback_secret, NULL),
	K_INT(struct conf, callback_retry_for, 86400, 0, INT_MAX),
	K_INT(struct conf, callback_timeout, 30, 1, 3600),
	K_FUNC("truncated", ld_truncated), /* "warn" (default, TMC) or "error" */
	/* TMC: "tcc.min_sec" fed a list of saved folders to an outside tool */
	K_IGNORE("tcc"),
};

static const struct key gearman_keys[] = {
	K_FUNC("servers", ld_gm_servers),
	K_FUNC("templates", ld_gm_templates),
	K_FUNC("steps", ld_gm_steps),
	K_STR(struct gearman_conf, secret, NULL),
	K_PATH(struct gearman_conf, secret_file, NULL),
	K_INT(struct gearman_conf, max_inflight, 4, 1, 4096),
	K_INT(struct gearman_conf, max_per_server, 16, 1, 65536),
	K_LONG(struct gearman_conf, max_payload, 64L << 20, 1, 1L << 40),
	K_LONG(struct gearman_conf, max_reply, 256L << 20, 1, 1L << 40),
	K_INT(struct gearman_conf, deadline, 0, 0, 86400),
	K_INT(struct gearman_conf, max_skew, 300, 0, 86400),
	K_LONG(struct gearman_conf, big_bytes, 32L << 20, 1, 1L << 40),
	K_BOOL(struct gearman_conf, tls, false),
	K_INT(struct gearman_conf, workers, 0, 0, 4096), /* 0: worker_cnt */
	K_BOOL(struct gearman_conf, big, false),
	K_STR(struct gearman_conf, name, NULL),
};

static const struct key site_keys[] = {
	K_NEED(struct site, root),
	K_FUNC("cmyk", ld_cmyk),
	K_FUNC("srgb", ld_srgb),
	K_STR(struct site, watermark, NULL),
};

static const struct key watch_keys[] = {
	K_STR(struct watch, site, NULL), /* tmcwatch: else the watchdog key is the site */
	K_NEED(struct watch, dir),
	K_INT(struct watch, mindepth, 0, 0, INT_MAX),
	K_FUNC("include", ld_include),
	K_FUNC("exclude", ld_exclude),
	K_FUNC("rename", ld_rename),
	K_TRI(struct watch, overwrite),
	K_DOUBLE(struct watch, capture, 0, 0),
	K_INT(struct watch, min_sec, 0, 0, INT_MAX),
	K_INT(struct watch, max_sec, 0, 0, INT_MAX),
	K_NEED(struct watch, template),
	K_STR(struct watch, mode, "auto"),
	K_INT(struct watch, quiet_ms, 200, 0, INT_MAX),
};

static const struct key http_keys[] = {
	K_STR(struct http_conf, listen, "127.0.0.1"),
	K_INT(struct http_conf, port, 8080, 1, 65535),
	K_STR(struct http_conf, token, NULL),
	K_LONG(struct http_conf, max_body, 1048576, 1, LONG_MAX),
	K_INT(struct http_conf, max_connections, 256, 1, INT_MAX),
	K_INT(struct http_conf, timeout, 30, 1, INT_MAX),
	K_INT(struct http_conf, max_per_ip, 16, 1, INT_MAX),
	K_INT(struct http_conf, request_deadline, 10, 1, INT_MAX),
	K_INT(struct http_conf, idempotency_ttl, 86400, 1, INT_MAX),
	K_STR(struct http_conf, status_codes, "tmc"),
};

static const struct key tpl_keys[] = {
	K_STR(struct template, description, NULL),
	K_FUNC("proc", ld_tpl_proc),
};

/* The README's defaults where TMC's code differs (strip, cmyk, srgb): the
 * README is what TMC's users configured against. */
static const struct key step_keys[] = {
	K_NEED(struct step, name),
	K_NEED(struct step, source),
	K_NEED(struct step, path_head),
	K_LATER("kind"),
	K_LATER("ffmpeg"),
	K_FUNC("size", ld_size),
	K_BOOL(struct step, strip, true),
	K_BOOL(struct step, cmyk, true),
	K_BOOL(struct step, srgb, true),
	K_BOOL(struct step, force_dir, true),
	K_BOOL(struct step, overwrite, false),
	K_BOOL(struct step, watermark, false),
	K_BOOL(struct step, save, true),
	K_BOOL(struct step, enlarge, true),
	K_BOOL(struct step, progressive, false),
	K_BOOL(struct step, skipsamesize, false), /* replaced by the config's */
	K_FUNC("sharpen", ld_sharpen),
	K_INT(struct step, comp, 0, 0, 100),
	K_INT(struct step, bitrate, 300, 1, INT_MAX),
	K_INT(struct step, density, 0, 0, INT_MAX),
	K_FUNC("sampling", ld_sampling), /* default "source" */
	K_STR(struct step, format, NULL), /* default by kind */
	K_STR(struct step, source_ext, ""),
	K_INT(struct step, timeout, 0, 0, INT_MAX),
	K_FUNC("callback", ld_callback), /* stepcb.c */
	/* TMC internals that leaked into some templates */
	K_IGNORE("force_image"),
	K_IGNORE("offercomp"),
	K_IGNORE("rename"),
};

_Static_assert(NROWS(conf_keys) <= KEYS_MAX, "KEYS_MAX");
_Static_assert(NROWS(watch_keys) <= KEYS_MAX, "KEYS_MAX");
_Static_assert(NROWS(step_keys) <= KEYS_MAX, "KEYS_MAX");
/* clang-format on */

/* "file:line:col: path.name: what"; name may be NULL. */
static void __attribute__((format(printf, 5, 6)))
ld_err(struct ld *ld, int tok, const char *path, const char *name, const char *fmt, ...)
{
	char where[PATH_MAX + 32], what[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	json_where(ld->doc, tok, where, sizeof(where));
	conf_errors_add(ld->errs, "%s: %s%s%s: %s", where, path, *path && name ? "." : "",
			name ? name : "", what);
}

static char *
key_join(const char *path, const char *name)
{
	return *path ? xasprintf("%s.%s", path, name) : xstrdup(name);
}

/* ---- scalar values ---- */

static void
val_int(struct ld *ld, const struct key *k, int tok, void *p, const char *path)
{
	bool bounded = k->max != INT_MAX && k->max != LONG_MAX; /* a real upper limit */
	long long v;

	if (json_int(ld->doc, tok, &v) < 0)
		ld_err(ld, tok, path, k->name, "expected an integer");
	else if (bounded && (v < k->min || v > k->max))
		ld_err(ld, tok, path, k->name, "must be between %lld and %lld, not %lld", k->min,
		       k->max, v);
	else if (v < k->min)
		ld_err(ld, tok, path, k->name, "must be at least %lld, not %lld", k->min, v);
	else if (v > k->max)
		ld_err(ld, tok, path, k->name, "must be at most %lld, not %lld", k->max, v);
	else if (k->type == KT_INT)
		*(int *)p = (int)v;
	else
		*(long *)p = (long)v;
}

static void
val_bool(struct ld *ld, const struct key *k, int tok, void *p, const char *path)
{
	bool b;

	if (json_bool(ld->doc, tok, &b) < 0)
		ld_err(ld, tok, path, k->name, "expected true or false");
	else if (k->type == KT_TRI)
		*(int *)p = b;
	else
		*(bool *)p = b;
}

static void
val_double(struct ld *ld, const struct key *k, int tok, void *p, const char *path)
{
	double v;

	if (json_double(ld->doc, tok, &v) < 0)
		ld_err(ld, tok, path, k->name, "expected a number");
	else if (v < (double)k->min)
		ld_err(ld, tok, path, k->name, "must be at least %lld, not %g", k->min, v);
	else
		*(double *)p = v;
}

static void
val_str(struct ld *ld, const struct key *k, int tok, void *p, const char *path)
{
	char **field = p, *s = json_strdup(ld->doc, tok);

	if (s == NULL) {
		ld_err(ld, tok, path, k->name, "expected a string");
		return;
	}
	if (k->type == KT_PATH && *s == '\0') {
		ld_err(ld, tok, path, k->name, "expected a path, not \"\"");
		free(s);
		return;
	}
	free(*field);
	*field = s;
	if (k->type == KT_PATH && s[0] != '/') {
		*field = xasprintf("%s/%s", ld->dir, s);
		free(s);
	}
}

static void
ld_value(struct ld *ld, const struct key *k, int tok, void *base, const char *path)
{
	void *p = (char *)base + k->off;

	switch (k->type) {
	case KT_INT:
	case KT_LONG: val_int(ld, k, tok, p, path); break;
	case KT_BOOL:
	case KT_TRI: val_bool(ld, k, tok, p, path); break;
	case KT_DOUBLE: val_double(ld, k, tok, p, path); break;
	case KT_STR:
	case KT_PATH: val_str(ld, k, tok, p, path); break;
	case KT_FUNC: k->fn(ld, k, tok, base, path); break;
	case KT_LATER:
	case KT_IGNORE: break;
	}
}

/* ---- objects ---- */

static void
keys_default(const struct key *keys, size_t n, void *base)
{
	size_t i;
	void *p;

	for (i = 0; i < n; i++) {
		p = (char *)base + keys[i].off;
		if (keys[i].type == KT_INT || keys[i].type == KT_TRI)
			*(int *)p = (int)keys[i].def;
		else if (keys[i].type == KT_LONG)
			*(long *)p = (long)keys[i].def;
		else if (keys[i].type == KT_BOOL)
			*(bool *)p = keys[i].def != 0;
		else if (keys[i].type == KT_DOUBLE)
			*(double *)p = (double)keys[i].def;
		else if (keys[i].type == KT_STR || keys[i].type == KT_PATH)
			*(char **)p = keys[i].sdef ? xstrdup(keys[i].sdef) : NULL;
	}
}

static int
key_index(const struct key *keys, size_t n, const char *name)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strcmp(keys[i].name, name) == 0)
			return (int)i;
	fatalx("conf: no row \"%s\"", name); /* a typo in this file */
}

static int
key_find(const struct json *doc, int k, const struct key *keys, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (json_streq(doc, k, keys[i].name))
			return (int)i;
	return -1;
}

/* Members of obj into base by the table; tokof[i] = value token of row i or
 * -1. False (and an error) when obj is not an object. */
static bool
ld_object(struct ld *ld, int obj, const struct key *keys, size_t n, void *base, const char *path,
	  int *tokof)
{
	char *name;
	size_t i;
	int k, r;

	for (i = 0; i < n; i++)
		tokof[i] = -1;
	if (!json_is_object(ld->doc, obj)) {
		ld_err(ld, obj, path, NULL, "expected an object");
		return false;
	}
	for (k = json_first(ld->doc, obj); k >= 0; k = json_sibling(ld->doc, obj, k)) {
		if ((r = key_find(ld->doc, k, keys, n)) < 0) {
			name = json_strdup(ld->doc, k);
			ld_err(ld, k, path, name, "unknown key");
			free(name);
			continue;
		}
		tokof[r] = k + 1;
		ld_value(ld, &keys[r], k + 1, base, path);
	}
	for (i = 0; i < n; i++)
		if (keys[i].required && tokof[i] < 0)
			ld_err(ld, obj, path, keys[i].name, "required key is missing");
	return true;
}

/* ---- arrays ---- */

static void
ld_strv(struct ld *ld, int tok, const char *path, const char *name, char ***v, size_t *n)
{
	char *s, *sub;
	int e, i = 0;

	if (!json_is_array(ld->doc, tok)) {
		ld_err(ld, tok, path, name, "expected an array of strings");
		return;
	}
	*v = xcalloc((size_t)json_count(ld->doc, tok), sizeof(**v));
	for (e = json_first(ld->doc, tok); e >= 0; e = json_sibling(ld->doc, tok, e), i++) {
		s = json_strdup(ld->doc, e);
		if (s != NULL && *s != '\0') {
			(*v)[(*n)++] = s;
			continue;
		}
		free(s);
		sub = xasprintf("%s[%d]", name, i);
		ld_err(ld, e, path, sub, "expected a non-empty string");
		free(sub);
	}
}

/* [a, b] with integers in [min, INT_MAX]; out is untouched on error */
static int
int_pair(const struct json *doc, int tok, long long min, int out[2])
{
	long long v[2];
	int e, i = 0;

	if (!json_is_array(doc, tok) || json_count(doc, tok) != 2)
		return -1;
	for (e = json_first(doc, tok); e >= 0; e = json_sibling(doc, tok, e), i++)
		if (json_int(doc, e, &v[i]) < 0 || v[i] < min || v[i] > INT_MAX)
			return -1;
	out[0] = (int)v[0];
	out[1] = (int)v[1];
	return 0;
}

static void
ld_imagick_mem(struct ld *ld, const struct key *key, int tok, void *base, const char *path)
{
	struct conf *conf = base;

	if (int_pair(ld->doc, tok, 1, conf->imagick_mem) < 0)
		ld_err(ld, tok, path, key->name,
		       "expected [normal, big]: two positive integers (MiB)");
}

/* ---- sites ---- */

static void
ld_cmyk(struct ld *ld, const struct key *key, int tok, void *base, const char *path)
{
	struct site *site = base;

	ld_strv(ld, tok, path, key->name, &site->cmyk, &site->ncmyk);
}

static void
ld_srgb(struct ld *ld, const struct key *key, int tok, void *base, const char *path)
{
	struct site *site = base;

	ld_strv(ld, tok, path, key->name, &site->srgb, &site->nsrgb);
}

static void
ld_site(struct ld *ld, int k, struct site *site)
{
	int tokof[KEYS_MAX];
	char *path;

	site->name = json_strdup(ld->doc, k);
	json_line_col(ld->doc, k, &site->line, &site->col);
	path = xasprintf("site.%s", site->name);
	keys_default(site_keys, NROWS(site_keys), site);
	ld_object(ld, k + 1, site_keys, NROWS(site_keys), site, path, tokof);
	/* a relative root would follow whatever folder a daemon runs in */
	if (site->root && site->root[0] != '/')
		ld_err(ld, tokof[key_index(site_keys, NROWS(site_keys), "root")], path, "root",
		       "expected an absolute path, not \"%s\"", site->root);
	if (site->watermark && *site->watermark == '\0')
		xfree(&site->watermark); /* "" reads as "no watermark" */
	free(path);
}

static void
ld_sites(struct ld *ld, const struct key *key, int tok, void *base, const char *path)
{
	struct conf *conf = base;
	int k;

	if (!json_is_object(ld->doc, tok)) {
		ld_err(ld, tok, path, key->name, "expected an object");
		return;
	}
	conf->sites = xcalloc((size_t)json_count(ld->doc, tok), sizeof(*conf->sites));
	for (k = json_first(ld->doc, tok); k >= 0; k = json_sibling(ld->doc, tok, k))
		ld_site(ld, k, &conf->sites[conf->nsites++]);
}

/* ---- watches ---- */

static void
ld_include(struct ld *ld, const struct key *key, int tok, void *base, const char *path)
{
	struct watch *w = base;

	ld_strv(ld, tok, path, key->name, &w->include, &w->ninclude);
	if (json_is_array(ld->doc, tok) && json_count(ld->doc, tok) == 0)
		ld_err(ld, tok, path, key->name, "an empty list matches no file (omit it for all)");
}

static void
ld_exclude(struct ld *ld, const struct key *key, int tok, void *base, const char *path)
{
	struct watch *w = base;

	ld_strv(ld, tok, path, key->name, &w->exclude, &w->nexclude);
}

static void
ld_rename(struct ld *ld, const struct key *key, int tok, void *base, const char *path)
{
	struct watch *w = base;
	char *from, *to, *name;
	int k;

	if (!json_is_object(ld->doc, tok)) {
		ld_err(ld, tok, path, key->name, "expected an object {\"from\": \"to\", ...}");
		return;
	}
	w->rename = xcalloc((size_t)json_count(ld->doc, tok), sizeof(*w->rename));
	for (k = json_first(ld->doc, tok); k >= 0; k = json_sibling(ld->doc, tok, k)) {
		from = json_strdup(ld->doc, k);
		to = json_strdup(ld->doc, k + 1);
		if (to != NULL && *from != '\0') {
			w->rename[w->nrename++] = (struct rename_rule){from, to};
			continue;
		}
		name = xasprintf("%s.%s", key->name, from);
		ld_err(ld, to ? k : k + 1, path, name,
		       to ? "the text to replace is empty" : "expected a string");
		free(name);
		free(from);
		free(to);
	}
}

static void
watch_post(struct ld *ld, struct watch *w, const char *path, const int *tokof)
{
	static const char *const modes[] = {"auto", "inotify", "poll"};
	size_t i;

	if (tokof[key_index(watch_keys, NROWS(watch_keys), "include")] < 0) {
		w->include = xcalloc(1, sizeof(*w->include));
		w->include[w->ninclude++] = xstrdup("*");
	}
	for (i = 0; i < NROWS(modes); i++)
		if (strcmp(w->mode, modes[i]) == 0)
			return;
	ld_err(ld, tokof[key_index(watch_keys, NROWS(watch_keys), "mode")], path, "mode",
	       "expected \"auto\", \"inotify\" or \"poll\", not \"%s\"", w->mode);
}

/* One watch: TMC's watchdog.<site> object, or (tmcwatch) one element of an
 * array under that key (idx >= 0), named "<key>#<idx>". */
static void
ld_watch(struct ld *ld, struct conf *conf, int tok, const char *key, int idx)
{
	char *path =
		idx < 0 ? xasprintf("watchdog.%s", key) : xasprintf("watchdog.%s[%d]", key, idx);
	int tokof[KEYS_MAX];
	struct watch *w;

	if (!json_is_object(ld->doc, tok)) {
		ld_err(ld, tok, path, NULL,
		       idx < 0 ? "expected an object or an array of objects"
			       : "expected an object");
		free(path);
		return;
	}
	conf->watches = xreallocarray(conf->watches, conf->nwatches + 1, sizeof(*w));
	w = &conf->watches[conf->nwatches++];
	memset(w, 0, sizeof(*w));
	w->name = idx < 0 ? xstrdup(key) : xasprintf("%s#%d", key, idx);
	json_line_col(ld->doc, tok, &w->line, &w->col);
	keys_default(watch_keys, NROWS(watch_keys), w);
	ld_object(ld, tok, watch_keys, NROWS(watch_keys), w, path, tokof);
	watch_post(ld, w, path, tokof);
	if (w->site == NULL)
		w->site = xstrdup(key);
	free(path);
}

static void
ld_watchdog(struct ld *ld, const struct key *key, int tok, void *base, const char *path)
{
	const struct json *doc = ld->doc;
	int k, e, i;
	char *name;

	if (!json_is_object(doc, tok)) {
		ld_err(ld, tok, path, key->name, "expected an object");
		return;
	}
	for (k = json_first(doc, tok); k >= 0; k = json_sibling(doc, tok, k)) {
		name = json_strdup(doc, k);
		if (json_is_array(doc, k + 1))
			for (i = 0, e = json_first(doc, k + 1); e >= 0;
			     e = json_sibling(doc, k + 1, e), i++)
				ld_watch(ld, base, e, name, i);
		else
			ld_watch(ld, base, k + 1, name, -1);
		free(name);
	}
}

/* ---- http ---- */

static void
ld_http(struct ld *ld, const struct key *key, int tok, void *base, const char *path)
{
	struct http_conf *http = &((struct conf *)base)->http;
	int tokof[KEYS_MAX];
	char *sub = key_join(path, key->name);

	ld_object(ld, tok, http_keys, NROWS(http_keys), http, sub, tokof);
	if (http->token && *http->token == '\0')
		ld_err(ld, tokof[key_index(http_keys, NROWS(http_keys), "token")], sub, "token",
		       "an empty token would admit anyone: omit the key for no token");
	/* TMC answered 200 to every act; "rest" sends 400/404/409/422/500 */
	http->rest_codes = http->status_codes && strcmp(http->status_codes, "rest") == 0;
	if (http->status_codes && !http->rest_codes && strcmp(http->status_codes, "tmc") != 0)
		ld_err(ld, tokof[key_index(http_keys, NROWS(http_keys), "status_codes")], sub,
		       "status_codes", "expected \"tmc\" or \"rest\", not \"%s\"",
		       http->status_codes);
	free(sub);
}

/* ---- gearman ---- */

static void
ld_gm_servers(struct ld *ld, const struct key *key, int tok, void *base, const char *path)
{
	struct gearman_conf *g = base;

	ld_strv(ld, tok, path, key->name, &g->servers, &g->nservers);
}

static void
ld_gm_templates(struct ld *ld, const struct key *key, int tok, void *base, const char *path)
{
	struct gearman_conf *g = base;

	ld_strv(ld, tok, path, key->name, &g->templates, &g->ntemplates);
}

static void
ld_gm_steps(struct ld *ld, const struct key *key, int tok, void *base, const char *path)
{
	struct gearman_conf *g = base;

	ld_strv(ld, tok, path, key->name, &g->steps, &g->nsteps);
}

/* The secret is kept out of config.json when it can be: secret_file, read
 * once here; its last line's end (newline, spaces) is not part of it. */
static void
ld_gm_secret_file(struct ld *ld, int tok, struct gearman_conf *g, const char *sub)
{
	size_t len = 0;
	char *s = file_read_at(AT_FDCWD, g->secret_file, 4096, &len);

	if (s == NULL) {
		ld_err(ld, tok, sub, "secret_file", "%s: %s", g->secret_file, strerror(errno));
		return;
	}
	while (len > 0 && (s[len - 1] == '\n' || s[len - 1] == '\r' || s[len - 1] == ' ' ||
			   s[len - 1] == '\t'))
		s[--len] = '\0';
	free(g->secret);
	g->secret = s;
}

static void
ld_gearman(struct ld *ld, const struct key *key, int tok, void *base, const char *path)
{
	struct gearman_conf *g = &((struct conf *)base)->gearman;
	int tokof[KEYS_MAX];
	char *sub = key_join(path, key->name);
	int at;

	json_line_col(ld->doc, tok, &g->line, &g->col);
	ld_object(ld, tok, gearman_keys, NROWS(gearman_keys), g, sub, tokof);
	at = tokof[key_index(gearman_keys, NROWS(gearman_keys), "secret_file")];
	if (g->secret_file && g->secret)
		ld_err(ld, at, sub, "secret_file", "give secret or secret_file, not both");
	else if (g->secret_file)
		ld_gm_secret_file(ld, at, g, sub);
	at = tokof[key_index(gearman_keys, NROWS(gearman_keys), "secret")];
	/* gearmand authenticates nobody: the signature is the only check */
	if (g->nservers > 0 && (g->secret == NULL || strlen(g->secret) < 16))
		ld_err(ld, at >= 0 ? at : tok, sub, "secret",
		       "a shared secret of at least 16 bytes is required with servers "
		       "(gearmand authenticates nobody)");
	free(sub);
}

/* ---- steps ---- */

static void
ld_size(struct ld *ld, const struct key *key, int tok, void *base, const char *path)
{
	struct step *st = base;

	if (int_pair(ld->doc, tok, 0, st->size) < 0)
		ld_err(ld, tok, path, key->name,
		       "expected [width, height]: two non-negative integers");
}

static void
ld_sharpen(struct ld *ld, const struct key *key, int tok, void *base, const char *path)
{
	struct step *st = base;
	int n = json_count(ld->doc, tok), e, i = 0;
	double v[2];

	if (!json_is_array(ld->doc, tok) || n < 1 || n > 2)
		goto bad;
	for (e = json_first(ld->doc, tok); e >= 0; e = json_sibling(ld->doc, tok, e), i++)
		if (json_double(ld->doc, e, &v[i]) < 0 || v[i] < 0)
			goto bad;
	/* TMC took [sigma] alone as radius 0 */
	st->sharpen[0] = n == 2 ? v[0] : 0;
	st->sharpen[1] = n == 2 ? v[1] : v[0];
	st->has_sharpen = true;
	return;
bad:
	ld_err(ld, tok, path, key->name, "expected [radius, sigma]: two non-negative numbers");
}

/* The index of the string at tok in names[n], or -1 with an error naming
 * the choices. */
static int
ld_choice(struct ld *ld, const struct key *key, int tok, const char *path, const char *const *names,
	  size_t n)
{
	char list[128] = "";
	size_t i, len = 0;

	for (i = 0; i < n; i++)
		if (json_streq(ld->doc, tok, names[i]))
			return (int)i;
	for (i = 0; i < n && len < sizeof(list); i++)
		len += (size_t)snprintf(list + len, sizeof(list) - len, "%s\"%s\"",
					i == 0       ? ""
					: i + 1 == n ? " or "
						     : ", ",
					names[i]);
	ld_err(ld, tok, path, key->name, "expected %s", list);
	return -1;
}

static void
ld_sampling(struct ld *ld, const struct key *key, int tok, void *base, const char *path)
{
	const char *names[SAMPLING_444 + 1];
	int i;

	for (i = 0; i <= SAMPLING_444; i++)
		names[i] = step_sampling_name((enum step_sampling)i);
	i = ld_choice(ld, key, tok, path, names, NROWS(names));
	if (i >= 0)
		((struct step *)base)->sampling = (enum step_sampling)i;
}

static void
ld_truncated(struct ld *ld, const struct key *key, int tok, void *base, const char *path)
{
	static const char *const names[] = {"warn", "error"};
	int i = ld_choice(ld, key, tok, path, names, NROWS(names));

	if (i >= 0)
		((struct conf *)base)->truncated = (enum conf_truncated)i;
}

static void
ld_callback(struct ld *ld, const struct key *key, int tok, void *base, const char *path)
{
	char *label = key_join(path, key->name);

	step_cb_parse(ld->doc, tok, label, base, ld->errs);
	free(label);
}

static int
kind_from_name(const char *s)
{
	int k;

	for (k = STEP_IMAGE; k <= STEP_PASS; k++)
		if (strcmp(s, step_kind_name((enum step_kind)k)) == 0)
			return k;
	return -1;
}

/* "kind", or TMC's "ffmpeg": true for video. An mp4 source_ext alone does
 * not make a video step: TMC transcoded only with "ffmpeg": true. */
static void
step_kind(struct ld *ld, struct step *st, const char *path, int tkind, int tff)
{
	char *s = tkind >= 0 ? json_strdup(ld->doc, tkind) : NULL;
	int k = s ? kind_from_name(s) : -1;
	bool ff = false;

	if (k >= 0)
		st->kind = (enum step_kind)k;
	else if (s)
		ld_err(ld, tkind, path, "kind",
		       "expected \"image\", \"video\", \"copy\" or \"pass\", not \"%s\"", s);
	else if (tkind >= 0)
		ld_err(ld, tkind, path, "kind", "expected a string");
	free(s);
	if (tff >= 0 && json_bool(ld->doc, tff, &ff) < 0)
		ld_err(ld, tff, path, "ffmpeg", "expected true or false");
	else if (ff && tkind >= 0 && st->kind != STEP_VIDEO)
		ld_err(ld, tff, path, "ffmpeg", "true conflicts with \"kind\": \"%s\"",
		       step_kind_name(st->kind));
	else if (ff)
		st->kind = STEP_VIDEO;
}

static void
step_format(struct ld *ld, struct step *st, const char *path, int tok)
{
	bool video = st->kind == STEP_VIDEO;

	if (st->format == NULL)
		st->format = xstrdup(video ? "mp4" : "jpg");
	else if (video && strcmp(st->format, "mp4") != 0)
		ld_err(ld, tok, path, "format", "a video step writes \"mp4\", not \"%s\"",
		       st->format);
	else if (!video && strcmp(st->format, "jpg") != 0 && strcmp(st->format, "png") != 0 &&
		 strcmp(st->format, "webp") != 0)
		ld_err(ld, tok, path, "format", "expected \"jpg\", \"png\" or \"webp\", not \"%s\"",
		       st->format);
}

/* "", "jpg", "jpg,png" or "!mp4": extensions as in file names, no dots */
static bool
ext_filter_ok(const char *s)
{
	static const char ext[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_+-";
	size_t n;

	if (*s == '\0')
		return true;
	for (s += *s == '!';; s += n + 1) {
		n = strspn(s, ext);
		if (n == 0 || (s[n] != ',' && s[n] != '\0'))
			return false;
		if (s[n] == '\0')
			return true;
	}
}

static void
step_post(struct ld *ld, struct step *st, int obj, const char *path, const int *tokof)
{
	int tsize = tokof[key_index(step_keys, NROWS(step_keys), "size")];
	int tcb = tokof[key_index(step_keys, NROWS(step_keys), "callback")];
	int text = tokof[key_index(step_keys, NROWS(step_keys), "source_ext")];

	step_kind(ld, st, path, tokof[key_index(step_keys, NROWS(step_keys), "kind")],
		  tokof[key_index(step_keys, NROWS(step_keys), "ffmpeg")]);
	step_format(ld, st, path, tokof[key_index(step_keys, NROWS(step_keys), "format")]);
	if (tsize < 0 && (st->kind == STEP_IMAGE || st->kind == STEP_VIDEO))
		ld_err(ld, obj, path, "size", "required key is missing (image and video steps)");
	if (!ext_filter_ok(st->source_ext))
		ld_err(ld, text, path, "source_ext",
		       "expected \"\", \"jpg\", \"jpg,png\" or \"!mp4\" (no dots), not "
		       "\"%s\"",
		       st->source_ext);
	if (tcb >= 0)
		json_line_col(ld->doc, tcb - 1, &st->callback_line, &st->callback_col);
}

static void
ld_step(struct ld *ld, int tok, struct step *st, const char *path)
{
	int tokof[KEYS_MAX];

	keys_default(step_keys, NROWS(step_keys), st);
	st->skipsamesize = ld->skipsamesize;
	st->source_idx = -1;
	json_line_col(ld->doc, tok, &st->line, &st->col);
	if (ld_object(ld, tok, step_keys, NROWS(step_keys), st, path, tokof))
		step_post(ld, st, tok, path, tokof);
	else
		st->format = xstrdup("jpg");
}

static void
ld_proc(struct ld *ld, int tok, struct template *tpl, const char *label)
{
	char *path;
	int e, i = 0;

	if (!json_is_array(ld->doc, tok)) {
		ld_err(ld, tok, label, NULL, "expected an array of steps");
		return;
	}
	tpl->steps = xcalloc((size_t)json_count(ld->doc, tok), sizeof(*tpl->steps));
	for (e = json_first(ld->doc, tok); e >= 0; e = json_sibling(ld->doc, tok, e), i++) {
		path = xasprintf("%s[%d]", label, i);
		ld_step(ld, e, &tpl->steps[tpl->nsteps++], path);
		free(path);
	}
}

static void
ld_tpl_proc(struct ld *ld, const struct key *key, int tok, void *base, const char *path)
{
	char *label = key_join(path, key->name);

	ld_proc(ld, tok, base, label);
	free(label);
}

int
conf_proc_parse(const struct json *doc, int proc, const char *label, bool skipsamesize,
		struct template *tpl, struct conf_errors *errs)
{
	struct ld ld = {doc, errs, NULL, skipsamesize};
	size_t before = errs->n;

	memset(tpl, 0, sizeof(*tpl));
	json_line_col(doc, proc, &tpl->line, &tpl->col);
	ld_proc(&ld, proc, tpl, label);
	return (int)(errs->n - before);
}

/* ---- the two documents ---- */

/* seq_timezone: a zone of the system's tz database, as glibc will read it
 * (TZDIR, else /usr/share/zoneinfo), since glibc takes a zone it cannot
 * find for UTC without a word. A name, never a path out of that folder. */
static void
ld_seq_timezone(struct ld *ld, const struct conf *conf, int tok)
{
	static const char chars[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
				    "0123456789/_+-";
	const char *tz = conf->seq_timezone, *dir = getenv("TZDIR");
	char *path, head[4];
	int fd;

	if (tz == NULL || tok < 0)
		return;
	if (tz[0] == '\0' || tz[0] == '/' || strspn(tz, chars) != strlen(tz) || strlen(tz) > 128) {
		ld_err(ld, tok, "", "seq_timezone",
		       "expected a time zone name such as \"Asia/Seoul\" or \"UTC\", not \"%s\"",
		       tz);
		return;
	}
	path = xasprintf("%s/%s", dir && *dir ? dir : "/usr/share/zoneinfo", tz);
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0 || read(fd, head, 4) != 4 || memcmp(head, "TZif", 4) != 0)
		ld_err(ld, tok, "", "seq_timezone", "unknown time zone \"%s\": %s: %s", tz, path,
		       fd < 0 ? strerror(errno) : "not a zoneinfo file");
	if (fd >= 0)
		close(fd);
	free(path);
}

static void
ld_config(struct ld *ld, struct conf *conf)
{
	int tokof[KEYS_MAX];

	ld_object(ld, 0, conf_keys, NROWS(conf_keys), conf, "", tokof);
	ld_seq_timezone(ld, conf, tokof[key_index(conf_keys, NROWS(conf_keys), "seq_timezone")]);
}

static void
ld_template(struct ld *ld, int k, struct template *tpl)
{
	int tokof[KEYS_MAX];

	tpl->name = json_strdup(ld->doc, k);
	json_line_col(ld->doc, k, &tpl->line, &tpl->col);
	keys_default(tpl_keys, NROWS(tpl_keys), tpl);
	ld_object(ld, k + 1, tpl_keys, NROWS(tpl_keys), tpl, tpl->name, tokof);
}

static void
ld_templates(struct ld *ld, struct conf *conf)
{
	int k;

	conf->templates = xcalloc((size_t)json_count(ld->doc, 0), sizeof(*conf->templates));
	for (k = json_first(ld->doc, 0); k >= 0; k = json_sibling(ld->doc, 0, k))
		ld_template(ld, k, &conf->templates[conf->ntemplates++]);
}

static void
load_doc(struct conf *conf, const char *path, void (*fn)(struct ld *, struct conf *),
	 struct conf_errors *errs)
{
	char err[PATH_MAX + 256], where[PATH_MAX + 32];
	struct json doc;
	struct ld ld = {&doc, errs, conf->dir, conf->skipsamesize};

	if (json_load_file(&doc, path, err, sizeof(err)) < 0) {
		conf_errors_add(errs, "%s", err);
		return;
	}
	if (json_is_object(&doc, 0))
		fn(&ld, conf);
	else
		conf_errors_add(errs, "%s: expected an object at the top level",
				json_where(&doc, 0, where, sizeof(where)));
	json_free(&doc);
}

int
conf_template_from(const struct json *doc, const char *name, struct template *tpl,
		   struct conf_errors *errs)
{
	struct ld ld = {doc, errs, NULL, false};
	size_t before = errs->n;
	int k;

	memset(tpl, 0, sizeof(*tpl));
	if ((k = json_get(doc, 0, name)) < 0 || !json_is_object(doc, k))
		conf_errors_add(errs, "%s: no template \"%s\" in it", doc->name, name);
	else
		ld_template(&ld, k - 1, tpl);
	return (int)(errs->n - before);
}

/* Absolute, so a daemon that changes folder still finds profiles and the
 * spool; symlinks are kept as the operator wrote them. */
static char *
conf_dir(const char *path)
{
	const char *slash;
	char *cwd, *dir;

	while (strncmp(path, "./", 2) == 0)
		path += 2;
	slash = strrchr(path, '/');
	if (path[0] == '/')
		return slash == path ? xstrdup("/") : xstrndup(path, (size_t)(slash - path));
	if ((cwd = getcwd(NULL, 0)) == NULL)
		cwd = xstrdup(".");
	dir = slash ? xasprintf("%s/%.*s", cwd, (int)(slash - path), path) : xstrdup(cwd);
	free(cwd);
	return dir;
}

static void
conf_defaults(struct conf *conf)
{
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);

	keys_default(conf_keys, NROWS(conf_keys), conf);
	keys_default(http_keys, NROWS(http_keys), &conf->http);
	keys_default(gearman_keys, NROWS(gearman_keys), &conf->gearman);
	conf->worker_cnt = cpus > 0 && cpus < INT_MAX ? (int)cpus : 1;
	conf->imagick_mem[0] = 512;
	conf->imagick_mem[1] = 2048;
}

int
conf_load(struct conf *conf, const char *path, const char *tpl_path, struct conf_errors *errs)
{
	const char *slash = strrchr(path, '/');
	size_t before = errs->n;

	memset(conf, 0, sizeof(*conf));
	conf->path = xstrdup(path);
	conf->dir = conf_dir(path);
	if (tpl_path)
		conf->tpl_path = xstrdup(tpl_path);
	else if (slash)
		conf->tpl_path = xasprintf("%.*s/template.json", (int)(slash - path), path);
	else
		conf->tpl_path = xstrdup("template.json");
	conf_defaults(conf);
	load_doc(conf, conf->path, ld_config, errs);
	load_doc(conf, conf->tpl_path, ld_templates, errs);
	return (int)(errs->n - before);
}

/* ---- freeing ---- */

static void
strv_free(char ***v, size_t *n)
{
	size_t i;

	for (i = 0; i < *n; i++)
		free((*v)[i]);
	xfree(v);
	*n = 0;
}

void
conf_template_free(struct template *tpl)
{
	struct step *st;
	size_t i;

	for (i = 0; i < tpl->nsteps; i++) {
		st = &tpl->steps[i];
		free(st->name);
		free(st->source);
		free(st->path_head);
		free(st->format);
		free(st->source_ext);
		step_cb_free(st);
	}
	free(tpl->steps);
	free(tpl->name);
	free(tpl->description);
	memset(tpl, 0, sizeof(*tpl));
}

static void
watch_free(struct watch *w)
{
	size_t i;

	for (i = 0; i < w->nrename; i++) {
		free(w->rename[i].from);
		free(w->rename[i].to);
	}
	free(w->rename);
	strv_free(&w->include, &w->ninclude);
	strv_free(&w->exclude, &w->nexclude);
	free(w->name);
	free(w->site);
	free(w->dir);
	free(w->template);
	free(w->mode);
}

static void
site_free(struct site *site)
{
	strv_free(&site->cmyk, &site->ncmyk);
	strv_free(&site->srgb, &site->nsrgb);
	free(site->name);
	free(site->root);
	free(site->watermark);
}

void
conf_free(struct conf *conf)
{
	size_t i;

	for (i = 0; i < conf->nsites; i++)
		site_free(&conf->sites[i]);
	for (i = 0; i < conf->nwatches; i++)
		watch_free(&conf->watches[i]);
	for (i = 0; i < conf->ntemplates; i++)
		conf_template_free(&conf->templates[i]);
	free(conf->sites);
	free(conf->watches);
	free(conf->templates);
	free(conf->http.listen);
	free(conf->http.token);
	free(conf->http.status_codes);
	strv_free(&conf->gearman.servers, &conf->gearman.nservers);
	strv_free(&conf->gearman.templates, &conf->gearman.ntemplates);
	strv_free(&conf->gearman.steps, &conf->gearman.nsteps);
	free(conf->gearman.secret);
	free(conf->gearman.secret_file);
	free(conf->gearman.name);
	free(conf->path);
	free(conf->tpl_path);
	free(conf->dir);
	free(conf->ffmpeg_dir);
	free(conf->spool_dir);
	free(conf->seq_timezone);
	free(conf->log_file);
	free(conf->callback_secret);
	memset(conf, 0, sizeof(*conf));
}
