/*
 * conf.h - TMC's config.json and template.json, loaded and checked.
 *
 * conf_load() reads both files as TMC wrote them (comments allowed) into one
 * struct conf; every key tmcwatch adds has a default, so a TMC config.json
 * works unchanged. conf_check() then verifies what needs the whole picture
 * (sites named by watches, templates, step sources, cycles, profile and
 * watermark files). Both report every error, one per line, as
 * "file:line:col: key: what is wrong", into the caller's error list, and
 * return the number of errors. The loader allocates; conf_free() releases.
 *
 * The library's other headers: json.h (json.c, JSON with comments and
 * positions), job.h (job.c, jobspec.c: TMC job files) and tmc.h (tmc.c:
 * TMC's rules that the programs share).
 */
#ifndef TMC_CONF_H
#define TMC_CONF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CONF_DEFAULT_PATH "/etc/tmcwatch/config.json"
#define CONF_DEFAULT_SPOOL "/var/spool/tmcwatch"

/* The configuration, as conf_load.c fills it and conf_check.c completes it */

enum step_kind {
	STEP_IMAGE = 0, /* tmc-image (default) */
	STEP_VIDEO,     /* tmc-video: "ffmpeg": true */
	STEP_COPY,      /* copies the original to its output path (tmcwatch extension) */
	STEP_PASS,      /* hands the item on, writes nothing (benchmarks, tests) */
};

/* "truncated": an original that decodes only in part */
enum conf_truncated {
	TRUNCATED_WARN = 0,
	TRUNCATED_ERROR,
};

/* "sampling" of a JPEG output's chroma; "source" keeps the original's
 * (4:2:0 for an original that is not a JPEG, libjpeg's default) */
enum step_sampling {
	SAMPLING_SOURCE = 0,
	SAMPLING_420,
	SAMPLING_422,
	SAMPLING_444,
};

/* A per-step callback action (doc/TMC.md, Step options): fired by the
 * stage through outbox/ once per output the step saved; tmc-notify sends it. */
enum step_cb_action {
	STEP_CB_CURL = 0, /* GET target, %file% percent-encoded */
	STEP_CB_FILE,     /* write cmd into target's folder, %datetime% named */
};

struct step_cb {
	enum step_cb_action action;
	char *target; /* curl: http(s) URL; file: absolute path, %datetime% in the name */
	char *cmd;    /* file: the text written; NULL for curl */
};

struct step {
	char *name;             /* required */
	char *source;           /* required: "hires" or an earlier step's name */
	char *path_head;        /* required */
	enum step_kind kind;    /* "kind": "image"|"video"|"copy"|"pass"; "ffmpeg": true => video */
	int size[2];            /* required for image/video steps; [0,0] keeps the size */
	bool strip, cmyk, srgb; /* README defaults: true */
	bool force_dir;         /* default true */
	bool overwrite;         /* default false */
	bool watermark;         /* default false */
	bool save;              /* default true */
	bool enlarge;           /* tmcwatch: enlarge smaller images, default true (TMC did) */
	bool progressive;       /* tmcwatch: progressive JPEG, default false */
	bool skipsamesize;      /* default: config "skipsamesize" */
	bool has_sharpen;
	double sharpen[2]; /* radius, sigma */
	int comp;          /* JPEG quality; applied when 51..99 (TMC) */
	int bitrate;       /* kbit/s, video; default 300 */
	int density;       /* DPI metadata, 0 = keep */
	char *format;      /* tmcwatch: "jpg" (default), "png", "webp"; mp4 for video */
	char *source_ext;  /* "" = all; "jpg"; "!mp4" */
	int timeout;       /* seconds; 0 = the kind's default from the config */
	/* tmcwatch: JPEG chroma sampling, default "source" */
	enum step_sampling sampling;
	/* Derived by conf_check(): index of the step whose output this one reads,
	 * per source extension decided at item creation; -1 = hires. Steps that
	 * share a name are resolved by source_ext, so this is only the first match. */
	int source_idx;
	int line, col;            /* where the step object starts, for messages */
	struct step_cb *callback; /* TMC's per-step "callback" actions */
	size_t ncallback;
	int callback_line, callback_col; /* where "callback" is; 0 when absent */
};

struct template
{
	char *name;
	char *description;
	struct step *steps;
	size_t nsteps;
	int line, col; /* its key in template.json; for a job, its "proc" */
};

struct site {
	char *name;
	char *root;
	char **cmyk; /* profile file names, in the config folder */
	size_t ncmyk;
	char **srgb;
	size_t nsrgb;
	char *watermark; /* file name in the config folder, or NULL */
	int line, col;   /* its key in config.json, for conf_check's messages */
};

struct rename_rule {
	char *from, *to; /* case-insensitive replace, as PHP str_ireplace */
};

struct watch {
	char *name; /* the watchdog key (a site name); extensions: "site" key + any name */
	char *site;
	char *dir; /* under the site root */
	int mindepth;
	char **include;
	size_t ninclude;
	char **exclude;
	size_t nexclude;
	struct rename_rule *rename;
	size_t nrename;
	int overwrite;  /* -1 unset, 0, 1 */
	double capture; /* seconds, default 0 */
	int min_sec;    /* rescan interval for network file systems */
	int max_sec;    /* window against the newest mtime seen */
	char *template;
	char *mode;    /* "auto" (default), "inotify", "poll" */
	int quiet_ms;  /* tmcwatch: quiet period after IN_CLOSE_WRITE, default 200 */
	int line, col; /* the watch object in config.json */
};

struct http_conf {
	char *listen;         /* default "127.0.0.1" */
	int port;             /* default 8080 */
	char *token;          /* optional bearer token */
	long max_body;        /* bytes, default 1 MiB */
	int max_connections;  /* default 256 */
	int timeout;          /* seconds, default 30 */
	int max_per_ip;       /* connections per client address, default 16 */
	int request_deadline; /* seconds for a whole request head and body, default 10 */
	int idempotency_ttl;  /* seconds an Idempotency-Key is kept, default 86400 */
	char *status_codes;   /* "tmc" (default: 200 for every act, as TMC) or "rest" */
	bool rest_codes;      /* status_codes is "rest" */
};

/* "gearman": stage work sent to worker hosts through gearmand
 * (tmcwatch-worker(8)); no "servers" (the default): everything is local. */
struct gearman_conf {
	char **servers; /* "host[:port]" (port 4730), tried in order; none: off */
	size_t nservers;
	char **templates; /* every first step of these templates is a remote unit */
	size_t ntemplates;
	char **steps; /* "template/step": this step (and its steps below) is one */
	size_t nsteps;
	char *secret;       /* shared HMAC key, at least 16 bytes (or secret_file's) */
	char *secret_file;  /* read at load, whitespace at its end dropped */
	int max_inflight;   /* remote units in flight from this spool host per unit
			     * (processes of tmc-remote), default 4 */
	int max_per_server; /* in flight on one gearmand at once, default 16 */
	long max_payload;   /* bytes of an original sent; bigger stays local, 64 MiB */
	long max_reply;     /* bytes of a reply accepted, default 256 MiB */
	int deadline;       /* seconds before an unanswered request is re-sent;
			     * 0 (default): the head step's time limit */
	int max_skew;       /* seconds of clock difference between hosts allowed
			     * when checking a message's expiry, default 300 */
	long big_bytes;     /* originals above go only to workers with "big",
			     * default 32 MiB */
	bool tls;           /* TLS to gearmand (libgearman built with SSL) */
	/* on a worker host (tmcwatch worker) */
	int workers;   /* gearman worker processes, default worker_cnt */
	bool big;      /* take big originals (declare the memory for them) */
	char *name;    /* this worker host's name in status, default hostname */
	int line, col; /* of the "gearman" object, for messages */
};

struct conf {
	char *path;     /* config.json as given */
	char *tpl_path; /* template.json */
	char *dir;      /* folder of config.json: profiles, watermark, 16X16.png */

	/* TMC keys */
	int client_cnt;     /* default 10 */
	int worker_cnt;     /* default: number of CPUs */
	int sleep_delay;    /* accepted, unused: stages are event driven */
	char *ffmpeg_dir;   /* accepted, unused: the FFmpeg libraries are linked */
	int imagick_mem[2]; /* MiB, normal and big; default 512, 2048 */
	int big_worker;     /* default 1 */
	bool skipsamesize;  /* default false */
	int width_threshold, height_threshold; /* default 2000 */

	/* tmcwatch keys */
	char *spool_dir;      /* default CONF_DEFAULT_SPOOL */
	char *seq_timezone;   /* IANA zone of a seq's date ("Asia/Seoul"); NULL: local */
	char *log_file;       /* optional; reopened on SIGHUP */
	int max_attempts;     /* temporary failures or worker deaths before err/, default 3 */
	int retry_delay;      /* seconds before the first retry, doubling, default 5 */
	int image_timeout;    /* seconds per item, default 300 */
	int video_timeout;    /* default 3600 */
	int stage_workers;    /* processes per stage; 0 unset: worker_cnt for an image
			       * step reading the original, 1 for the others */
	int metrics_interval; /* seconds between state/metrics.prom writes, 0 none; default 15 */
	long big_pixels;      /* width*height above which the big slot is taken, default 100e6 */
	int retention_days;   /* days finished and failed work is kept (done/, err/, stage and
			       * outbox err/), 0 for ever; default 30 */
	int records_days;     /* days of state/records kept, 0 for ever; default 90 */
	int inline_idle;      /* seconds an inline template's stages may stay idle before
			       * their workers stop, default 60 (inline.c) */

	/* tmc-image (tmcwatch key): an original that decodes in part is "warn"
	 * (default, TMC: written, grey where data is missing) or "error" */
	enum conf_truncated truncated;

	struct site *sites;
	size_t nsites;
	struct watch *watches;
	size_t nwatches;
	struct template *templates;
	size_t ntemplates;
	struct http_conf http;
	struct gearman_conf gearman;

	/* tmc-notify (tmcwatch keys) */
	char *callback_secret;  /* optional: X-TMC-Signature: sha256=HMAC(secret, body) */
	int callback_retry_for; /* seconds a callback is retried before outbox/err, default 86400 */
	int callback_timeout;   /* seconds per attempt, default 30 (connect: at most 10) */
};

/* Error list: every message the loader and checker produce. */
struct conf_errors {
	char **msg;
	size_t n;
};

/* conf_load.c: both files read into struct conf, every key's type and
 * default; a job's inline "proc" with the same table */

/* Load config.json (and template.json: tpl_path, or "template.json" beside
 * config.json when NULL). Returns the number of errors added to errs; on a
 * non-zero return *conf may be partially filled and must still be freed. */
int conf_load(struct conf *conf, const char *path, const char *tpl_path, struct conf_errors *errs);
void conf_free(struct conf *conf);
void conf_errors_free(struct conf_errors *errs);
/* Append one message (the same format) to the list. */
void conf_errors_add(struct conf_errors *errs, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* A "proc" array anywhere (a job file's inline steps): parsed with the same
 * table and defaults as template.json's; `label` prefixes every key in
 * messages (e.g. "proc"); skipsamesize is the config's default. Returns the
 * number of errors added; tpl is filled (name NULL) and must be freed. */
struct json;
int conf_proc_parse(const struct json *doc, int proc, const char *label, bool skipsamesize,
		    struct template *tpl, struct conf_errors *errs);
void conf_template_free(struct template *tpl);
/* The template `name` of a document in template.json's form (an inline
 * template's file, inline.c): loaded with the same table; a step key
 * left out takes its default (skipsamesize false). Returns the number of
 * errors added; tpl must be freed. */
int conf_template_from(const struct json *doc, const char *name, struct template *tpl,
		       struct conf_errors *errs);

/* remote.c: which steps are sent to worker hosts ("gearman"), and the
 * digest that both hosts must agree on before one does the other's work. */

/* Is step j of tpl the head of a remote unit: gearman servers are set, and
 * tpl is in "templates" and step j reads the original, or "tpl/step" is in
 * "steps"? The unit is the head and every step below it (route_below). An
 * inline template is never remote. */
bool conf_remote_head(const struct conf *conf, const struct template *tpl, size_t j);
/* Is any step of any template a remote head? */
bool conf_remote_any(const struct conf *conf);
/* The gearman function of a unit: "tmcwatch:<template>:<NN>", with ":big"
 * for originals over big_bytes. Returns a malloc'ed string. */
char *conf_remote_function(const struct template *tpl, size_t j, bool big);
/* 64 hex digits: SHA-256 of tmcwatch's version and the template's
 * canonical steps (inline.c). Two hosts with the same digest produce the
 * same bytes from the same original (same program, same step keys). */
void conf_template_digest(const struct template *tpl, char hex[65]);
/* The digest of what else shapes the bytes (remote_digest.c): the site
 * block named by site_name (NULL: none) without its root (where outputs go,
 * not how they look), the SHA-256 of each ICC profile and watermark file it
 * names, resolved in the config folder as the stages resolve them, and
 * "truncated". Two hosts must agree on it too. */
void conf_site_digest(const struct conf *conf, const char *site_name, char hex[65]);
/* The text the digest is taken of, malloc'ed (inline.c). */
char *conf_template_canon(const struct template *tpl);
/* conf_check's part: names in "templates" and "steps" exist, no unit
 * inside another, servers for any. */
void conf_remote_check(const struct conf *conf, struct conf_errors *errs);

/* inline.c: a job's inline "proc" as a template of its own, named
 * "inline-" + the first 12 hex digits of the SHA-256 of its canonical text
 * and kept in <spool>/templates/<name>.json, so that every program loads
 * it like a template of template.json (tmcwatch-spool(5), TEMPLATES). */

#define INLINE_PREFIX "inline-"
#define INLINE_NAME_LEN (sizeof(INLINE_PREFIX) - 1 + 12)
#define INLINE_DIR "templates"
/* Is name an inline template's name ("inline-" and 12 lowercase hex)? */
bool inline_name_ok(const char *name);
/* The template a parsed and checked proc becomes: its canonical text (every
 * step key written out, defaults included) read back, so it is exactly what
 * the stages will load from the file. Two procs that mean the same steps
 * get one name. *out must be freed with conf_template_free(). */
void inline_make(const struct template *parsed, struct template *out);
/* Make sure <spool>/templates/<name>.json holds tpl: written temp + fsync
 * + rename when it is not there, checked under a shared flock so that the
 * supervisor's removal (which holds it exclusively) cannot take it away
 * unseen. 0, or -1 with errno (a machine fault: retry). */
int inline_store(const char *spool_dir, const struct template *tpl);
/* Read <spool>/templates/<name>.json back and check it; the number of
 * errors added. tpl must be freed. */
int inline_read(const char *spool_dir, const char *name, struct template *tpl,
		struct conf_errors *errs);
/* The template file's path, in buf; -1 when it does not fit. */
int inline_path(char *buf, size_t len, const char *spool_dir, const char *name);

/* stepcb.c: a step's "callback" array (label: "tpl.proc[2].callback") */
int step_cb_parse(const struct json *doc, int tok, const char *label, struct step *st,
		  struct conf_errors *errs);
/* The folder of every file action exists (conf_template_check). */
void step_cb_check(const struct step *st, const char *file, const char *label, size_t i,
		   struct conf_errors *errs);
void step_cb_free_one(struct step_cb *cb);
void step_cb_free(struct step *st);

/* conf_check.c: what needs the whole picture (names, sources, cycles,
 * files) */

/* Cross-checks; returns the number of errors added. */
int conf_check(struct conf *conf, struct conf_errors *errs);
/* conf_load + conf_check, each error logged with log_warnx: what every
 * program but `tmcwatch check` does at start. Returns the number of errors. */
int conf_load_logged(struct conf *conf, const char *path, const char *tpl_path);
/* conf_check()'s checks of one template (names, sources, callbacks); sets
 * every step's source_idx. `file` names the document in messages. */
int conf_template_check(struct template *tpl, const char *file, struct conf_errors *errs);
const char *step_kind_name(enum step_kind kind);      /* conf_common.c */
const char *step_sampling_name(enum step_sampling s); /* conf_common.c */
/* Same step, field by field: every field of struct step that acts (jobspec.c);
 * a step with callbacks equals none (an inline proc may carry none).
 * A new step key belongs here and in inline.c's canonical text. */
bool step_equal(const struct step *a, const struct step *b);

/* route.c: lookups by name, and the route of an original with extension
 * ext (no dot, as it appears in the name) through a template. Every
 * program routes, and counts an item finished, with these. */

const struct site *conf_site(const struct conf *conf, const char *name);
const struct template *conf_template(const struct conf *conf, const char *name);
/* Does a step with this source_ext filter apply to a file with extension ext?
 * "" applies to all, "!x" to all but x; compared case-insensitively (TMC
 * compared exactly; see tmcwatch.conf(5)). Extensions: a list "jpg,png"
 * ("!jpg,png": neither), and "jpeg" is "jpg". */
bool step_applies(const struct step *step, const char *ext);
/* Can one file pass both source_ext filters? (conf_check: twins, sources) */
bool route_filters_overlap(const char *a, const char *b);

#define ROUTE_HIRES (-1) /* the step reads the original */
#define ROUTE_NONE (-2)  /* the step never runs for ext */
/* The step whose output step j reads for ext: the LAST earlier step named
 * by its source whose filter admits ext (TMC's im[name]); ROUTE_HIRES; or
 * ROUTE_NONE when step j does not apply to ext or no such step does. */
int route_source(const struct template *tpl, size_t j, const char *ext);
/* Is step j fed from the original (an item is emitted for it)? */
bool route_first(const struct template *tpl, size_t j, const char *ext);
/* Is step j fed by step idx's output (a handoff goes to it)? */
bool route_successor(const struct template *tpl, size_t idx, size_t j, const char *ext);
/* mask[j] = 1 for the steps that run for ext (applies, and its source is
 * the original or a step that runs): what counts an item finished. Fills
 * the first n entries (n <= nsteps is exact: routes read earlier steps
 * only); returns how many are set. */
size_t route_reached(const struct template *tpl, const char *ext, uint8_t *mask, size_t n);
/* mask[j] = 1 for the steps below step idx for ext (reading its output,
 * directly or not): those that never run when idx fails. idx itself is 0. */
size_t route_below(const struct template *tpl, size_t idx, const char *ext, uint8_t *mask,
		   size_t n);

#endif
