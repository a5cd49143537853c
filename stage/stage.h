/*
 * stage.h - the stage skeleton: every stage program's main is one call,
 * stage_main(argc, argv, &ops).
 *
 * The skeleton parses "-c config.json [-t template.json] -T template -s NN",
 * opens the stage folder, recovers dead claims, then loops: scan new/ once,
 * wait on inotify, claim an item, take a slot, call ops->process, and hand
 * the item on (successors = steps of the same template whose source is this
 * step, that apply to the item's extension and are listed in its "steps").
 * A stage program only writes ops->process and never touches the protocol.
 */
#ifndef TMC_WORKER_H
#define TMC_WORKER_H

#include <stdint.h>
#include <sys/stat.h>

#include "conf.h"
#include "spool.h"

enum stage_rc {
	STAGE_OK = 0,   /* done: hand on */
	STAGE_TEMPFAIL, /* retry later (ENOSPC, ENOMEM, slot timeout) */
	STAGE_PERMFAIL, /* err/ with ctx->reason (corrupt input, bad options) */
	STAGE_STOPPED,  /* abandoned for a pending SIGTERM: back to new/ as it was
			 * (no attempt counted), and the program stops */
	STAGE_FAULT,    /* a fault of the machine (errno_is_machine_fault: disk
			 * full, read-only, EIO, no fds or memory): back to new/
			 * as it was, no attempt counted, retried after 1 s
			 * doubling to 30 s for as long as the fault lasts */
	STAGE_DECLINED, /* not this program's to do now (tmc-remote: too big to
			 * send, or no worker host serves it): back to new/ as it
			 * was, no attempt counted, and this process leaves it for
			 * STAGE_DECLINE_S to the other workers of the stage */
};
#define STAGE_DECLINE_S 30

struct stage_ctx {
	const struct conf *conf;
	const struct template *tpl;
	const struct step *step;
	int step_idx;
	const struct site *site; /* from ticket "site", or NULL */
	const struct spool *spool;
	struct item *item;       /* claimed: item->dirfd is cur/<id>, item->path its path */
	struct ticket *ticket;   /* == &item->ticket; successors start from a copy */
	bool has_pixels;         /* the item holds "pixels.*" from the previous step */
	bool wants_pixels;       /* some successor reads this step's output: write "next.*" */
	bool carried;            /* this process ran the previous step and carried the item
				  * on: the pixels it handed on may still be in its memory */
	bool big;                /* set by ops->prepare: take a big slot */
	int created;             /* output files written by this step (result row) */
	int warnings;            /* warnings (missing profile, ...) */
	bool skipped;            /* wrote nothing on purpose (output exists and overwrite is
				  * false, or skipsamesize found it the same): the result
				  * line and record say "skipped" */
	bool covered;            /* process() did the steps below this one too (a remote
				  * unit, tmc-remote): hand on to no successor */
	bool results_written;    /* process() appended every result line, this step's
				  * too: a failure adds none (tmc-remote) */
	bool recorded;           /* process() wrote this step's usage record with its
				  * own outcome: a failure adds none (tmc-remote) */
	long long bytes_in;      /* size of the original (usage record) */
	long long bytes_out;     /* bytes of the outputs this step committed */
	char reason[REASON_MAX]; /* why it failed, or the warning text */
};

struct stage_ops {
	const char *name;                     /* "tmc-image", ... */
	int (*init)(const struct conf *conf); /* after exec: library setup; -1 exits */
	/* Optional, before a slot is taken: cheap checks (header only), set ctx->big. */
	enum stage_rc (*prepare)(struct stage_ctx *ctx);
	enum stage_rc (*process)(struct stage_ctx *ctx);
	void (*fini)(void);
	bool pixels; /* process() writes next.* pixel files for its successors */
	bool follow; /* carry an item on to a successor step of the same kind in
		      * this process (tmc-image); TMC_NO_FOLLOW (tests) turns it off */
	bool noslot; /* process() takes no worker slot: its work is done on
		      * another host (tmc-remote) */
	/* Optional: may this process claim an item now? false leaves new/ to
	 * the other workers of the stage and asks again in a second (tmc-remote:
	 * no worker host registered, or every server at its cap). Cheap: it is
	 * called before every claim. */
	bool (*ready)(const struct template *tpl, int step_idx);
};

int stage_main(int argc, char **argv, const struct stage_ops *ops);

/* args.c: the command line and config every stage program starts with:
 * "[-d] [-c config.json] [-t template.json]" and the program's own options. */
struct stage_args {
	const char *name;       /* the log's program name (log_init) */
	const char *usage_name; /* usage's first word; NULL: name */
	const char *own_opts;   /* getopt letters of the program's own options; NULL none */
	const char *own_usage;  /* usage's words for them (" -T template"); NULL none */
	bool (*own)(void *arg, int ch, const char *val); /* one of them; false: usage */
	void *arg;
	const char *cpath, *tpath; /* set by stage_args_parse */
	int debug;
};
/* Parses the options (a bad one: usage, exit 64) and sets the log's name and
 * level; returns the index of the first operand. */
int stage_args_parse(struct stage_args *a, int argc, char **argv);
void stage_args_usage(const struct stage_args *a) __attribute__((noreturn));
/* Loads and checks the configuration, every error logged as file:line:col
 * (errors: exit 78), and opens its log file. */
void stage_args_conf(const struct stage_args *a, struct conf *conf);
/* Both, for a program with no operands to check between them. */
void stage_args_load(struct stage_args *a, struct conf *conf, int argc, char **argv);

/* rc.c: the one rule for an errno: a machine fault is STAGE_FAULT (noted
 * with fault_note_errno(err, what)), EAGAIN, EINTR and ETIMEDOUT are
 * STAGE_TEMPFAIL, anything else is the data's: STAGE_PERMFAIL. */
enum stage_rc stage_errno_rc(int err, const char *what);

/* Output path of a step for an item: root + path_head + tail + out_rel, with
 * the extension replaced by ext when ext is not NULL. Checked to stay under
 * root. Returns 0, or -1 with reason. Used by the stages that write files. */
int stage_output_path(const struct stage_ctx *ctx, const char *ext, char *buf, size_t len,
		      char *reason, size_t rlen);
/* output.c: the one file step ctx->step writes for the item (tmc-image:
 * its format's extension, tmc-video: mp4 or the original's name when it is
 * one, tmc-copy: the original's name): 1 with its path in buf, 0 the step
 * writes no file (pass, "save": false), -1 with reason. tmc-remote accepts a
 * reply's file only at this path. */
int stage_step_output(const struct stage_ctx *ctx, char *buf, size_t len, char *reason,
		      size_t rlen);
const char *stage_image_ext(const struct step *step); /* "jpg", "png", "webp", NULL */
bool stage_video_keeps_ext(const struct stage_ctx *ctx);
/* A long process() (a transcode) reports how far it is, 0..100: a 4th
 * field in the worker's status file, shown by `tmcwatch status`. */
void stage_progress(int percent);
/* Source path of the original: ticket "src". */
const char *stage_source_path(const struct stage_ctx *ctx);
/* source.c: open the item's original for reading: src_rel beneath
 * src_root with no symbolic link in any component, a regular file, the
 * identity recorded when it was queued (src_id), the hard-link policy.
 * Returns the descriptor (blocking reads) and fills *st; or -1 with
 * ctx->reason naming the path and errno: ENOENT and the like as open(2),
 * ELOOP a symbolic link on the way, EXDEV a way out of the root, ESTALE
 * changed since it was queued, EPERM refused by the hard-link policy,
 * EINVAL not a regular file. Every stage opens originals only this way. */
int stage_open_source(struct stage_ctx *ctx, struct stat *st);
/* sibling.c: the path of another tmcwatch program (e.g. "tmc-video"):
 * $TMC_LIBEXEC/prog when TMC_LIBEXEC is set; else beside this process's
 * binary when it is there; else TMC_LIBEXECDIR/prog. 0, or -1 with errno
 * ENAMETOOLONG. Whether it exists is for the caller's exec to find out. */
int stage_sibling_path(const char *prog, char *buf, size_t len);
/* Ticket keys src_root, src_rel and (st not NULL) src_id, set by whoever
 * queues an original (tmc-watch, tmc-jobs). */
void stage_ticket_source(struct ticket *t, const char *root, const char *rel,
			 const struct stat *st);
/* "<dev>:<ino>:<size>:<mtime ns>", as in src_id. */
void stage_src_id(const struct stat *st, char *buf, size_t len);
/* Effective overwrite: ticket "overwrite" (job or watch override) or the step's. */
bool stage_overwrite(const struct stage_ctx *ctx);

/* record.c: a JSON line per finished step (and callback attempt) in
 * state/records/YYYYMMDD.json (UTC):
 *   {"time":"2026-11-22T10:00:00Z","stage":"tpl/01-Preview","origin":"job:<seq>",
 *    "item":"<id>","file":"/a.jpg","site":"site01","outcome":"ok|warning|retry|failed|skipped",
 *    "created":1,"warnings":0,"ms":120,"bytes_in":123,"bytes_out":45,"reason":""} */
struct record {
	int64_t time;    /* real s */
	char stage[300]; /* "<tpl>/<NN-step>", or "outbox" for a callback */
	char site[128];
	char outcome[16];
	int created, warnings;
	long long ms, bytes_in, bytes_out;
};
void record_write(const struct spool *sp, const struct record *r, const char *origin,
		  const char *item, const char *file, const char *reason);
void record_step(const struct stage_ctx *ctx, const char *stage, const char *outcome, long long ms);
/* 0 with r filled (fields a line lacks are 0 or ""), -1 not a record */
int record_parse(const char *line, size_t len, struct record *r);

/* records_read.c */
typedef void (*record_fn)(const struct record *r, void *arg);
struct records_tail { /* zeroed before the first call */
	bool started;
	char day[32]; /* "YYYYMMDD.json" being followed */
	off_t off;    /* read up to here */
};
/* The records written since the last call (the first call only finds the
 * end: earlier ones are not counted); follows into later days. */
int records_follow(const struct spool *sp, struct records_tail *rt, record_fn fn, void *arg);
/* The records of time since (real s) and later, oldest first. */
int records_since(const struct spool *sp, int64_t since, record_fn fn, void *arg);

/* stepcb.c: the step's per-step callbacks (step->callback) for the
 * output it saved, each published durably into outbox/ under a
 * deterministic id, before the commit. 0, or -1 with errno (logged). */
int stepcb_queue(const struct stage_ctx *ctx, struct stage_dir *outbox);
/* "<item>.s<NN>c<k>" (a hash for a long item id): action k of step NN */
void stepcb_id(char *buf, size_t len, const char *item, int step, size_t k);

/* tplset.c: stage_set_open() with tpl's name and step names. */
void stage_set_template(struct stage_set *set, const struct spool *sp, const struct template *tpl);
/* An inline template ("inline-<digest>", conf.h) read from the spool into
 * *tpl (freed by the caller): tpl, or NULL (logged) when name is none or
 * its file is missing or bad. */
const struct template *stage_inline_template(const struct conf *conf, const char *name,
					     struct template *tpl);

/* emit.c: publish the first items of one original into every step of tpl
 * that reads "hires" and applies to its extension (ticket "src"). Returns
 * how many were published (0: all already there), -1 on error. */
int emit_item(const struct spool *sp, const struct template *tpl, const char *id,
	      const struct ticket *base, bool durable);
/* The same for many originals: the stage folders stay open between calls. */
struct emitter {
	const struct template *tpl;
	struct stage_set set; /* the template's stage folders */
};
void emitter_init(struct emitter *em, const struct spool *sp, const struct template *tpl);
int emitter_emit(struct emitter *em, const char *id, const struct ticket *base, bool durable);
/* Many originals at once: stage each one's first items into b (the count,
 * or -1), then commit them all (publish_commit; b is emptied for reuse). */
int emitter_stage(struct emitter *em, struct publish_batch *b, const char *id,
		  const struct ticket *base);
int emitter_commit(struct publish_batch *b, bool durable);
void emitter_free(struct emitter *em);

/* trace.c: with TMC_TRACE set (benchmarks), a line when an item enters
 * step's new/ ('P') and when it is claimed there ('C') */
void trace_note(char what, const char *id, int step);

/* scan.c: a job's hires expansion (doc/TMC.md, Selection), incremental so that tmc-jobs'
 * loop stays responsive; `tmcwatch submit --dry-run` lists the same way. */
struct scan;
struct jobspec;
/* Start writing matches of js under its site root to fd, one "/rel" line
 * each. NULL + reason when the base climbs out of the site root; a
 * missing base lists 0 files. */
struct scan *scan_start(const struct jobspec *js, int fd, char *reason, size_t rlen);
/* Visit up to budget entries: 1 done, 0 more to do, -1 error (reason). */
int scan_step(struct scan *sc, int budget, char *reason, size_t rlen);
size_t scan_count(const struct scan *sc);
void scan_free(struct scan **sc);

/* steps.c: which steps a file expects, and its result row (pure; tmc-jobs
 * and tmc-watch's watchdog jobs, doc/TMC.md, Result rows) */
enum sres_state {
	SR_NONE = 0, /* no result yet */
	SR_OK,       /* a line that is not a failure */
	SR_MAYBE,    /* a line of 0.1 (no outcome) with created 0, warnings 1, a
		      * reason: a failure, or a success with one warning; its
		      * successors or err/ tell (see steps.c, track.c) */
	SR_FAILED,   /* failed: its successors never run */
};
struct sres {
	int created, warnings;
	uint32_t hash; /* of the reason */
	uint8_t state; /* enum sres_state */
	bool line;     /* a stage reported it (else: resolved by us) */
};
struct rowcount {
	int requested, created, warnings;
};
void sres_record(struct sres *r, const struct result_line *rl);
/* Steps for a file of extension ext: exp[j] = 1 when step j is expected
 * (applies to ext and reads hires or an expected step that did not fail).
 * Returns how many expected steps still have no result. */
size_t steps_expected(const struct template *tpl, const char *ext, const struct sres *res,
		      uint8_t *exp);
void steps_row(const struct template *tpl, const struct sres *res, struct rowcount *rc);

/* remote_work.c: a worker host's remote/ folder (tmcwatch-worker(8)). A
 * request's work folder remote/<key>/ with src/ and out/, made under the
 * flock of remote/<key>.lock (returned in *lockfd, held for the request's
 * life), anything a dead taker of the same key left removed first: its
 * fd, or -1 (logged; EBUSY: a live tmc-gworker has the key). */
int remote_work_create(const struct spool *sp, const struct conf *conf, const char *key,
		       int *lockfd);
/* The work folder, its log and lock, and item <key> in every stage. */
void remote_work_remove(const struct spool *sp, const struct conf *conf, const char *key);
/* The same for every key whose lock nobody holds; how many, -1 on error. */
int remote_work_clean(const struct spool *sp, const struct conf *conf);

#endif
