/*
 * tmcwatch.h - the supervisor and command line (links no image or video
 * library). One file per command and per supervisor concern.
 */
#ifndef TMC_TMCWATCH_H
#define TMC_TMCWATCH_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "conf.h"
#include "spool.h"

/* sysexits.h values, named where they are used */
#include <sysexits.h>

struct opts {
	const char *conf_path;
	const char *tpl_path;
	int debug;
	bool json;
	bool worker; /* tmcwatch worker: the worker host's plan (plan_build_worker) */
};

/* main.c */
int load_config(const struct opts *o, struct conf *conf, bool quiet);

/* cmd_*.c */
int cmd_run(const struct opts *o, int argc, char **argv);
int cmd_worker(const struct opts *o, int argc, char **argv); /* cmd_run.c */
int cmd_check(const struct opts *o, int argc, char **argv);
int cmd_status(const struct opts *o, int argc, char **argv);
int cmd_submit(const struct opts *o, int argc, char **argv);
int cmd_queue(const struct opts *o, int argc, char **argv);
int cmd_requeue(const struct opts *o, int argc, char **argv);
int cmd_purge(const struct opts *o, int argc, char **argv);
int cmd_sweep(const struct opts *o, int argc, char **argv);
/* cmd_queue.c, for queue, requeue and purge */
void age_text(char *buf, size_t len, int64_t secs);      /* "42s", "5m", "3h", "2d" */
bool stage_matches(const char *label, const char *want); /* --stage: label, template, outbox */

/* plan.c: the processes a configuration asks for, as a table */
struct child_spec {
	char *label;   /* "tpl/00-Origin#0", "jobs", "watch:site01" */
	char *program; /* absolute path */
	char **argv;   /* NULL-terminated */
	int tpl_idx;   /* stage children: template and step index; -1 otherwise
			* (and for an inline template's: inline.c) */
	int step_idx;
	char *tpl_name; /* stage children: the template's name; NULL otherwise */
	int timeout;    /* seconds an item may take; 0 none */
};
struct plan_missing {
	char *program; /* "tmc-video" */
	char *label;   /* the row it would have been */
	int err;       /* errno of access(X_OK) */
};
struct plan {
	struct child_spec *rows;
	size_t n;
	struct plan_missing *missing; /* rows left out: program not there */
	size_t nmissing;
};
void plan_build(struct plan *p, const struct conf *conf);
/* A worker host's rows: the stages of the remote units and tmc-gworker. */
void plan_build_worker(struct plan *p, const struct conf *conf);
/* The rows of one template's stage workers (t: its index in conf, -1 for
 * an inline template). */
void plan_template(struct plan *p, const struct conf *conf, const struct template *tpl, int t);
void plan_log_missing(const struct plan *p); /* one warning per missing row */
void plan_free(struct plan *p);
const char *libexec_dir(void);
const char *libexec_source(void); /* why that folder: "TMC_LIBEXEC", ... */

/* children.c: spawn, reap, back off */
struct child {
	struct child_spec spec;
	pid_t pid; /* 0 when not running */
	int64_t started_ms;
	int64_t restart_at_ms; /* when to start again; 0 = not scheduled */
	int quick_deaths;      /* consecutive deaths within 10 s of start */
	int64_t dying_since;   /* real time s it began to keep dying; 0 not */
	char last_death[64];   /* "exited 1", "killed by signal 9" */
	bool retired;          /* from an old configuration: never restarted */
};
struct children {
	struct child *c;
	size_t n;
};
void children_adopt(struct children *cs, struct plan *p); /* takes the rows */
void children_start_due(struct children *cs, int64_t now);
/* Reap every dead child; calls on_death for each (pid still set). */
void children_reap(struct children *cs, void (*on_death)(struct child *, void *), void *arg);
void children_signal(struct children *cs, int sig);
size_t children_alive(const struct children *cs);
/* Children that ran past the quick-death window no longer keep dying;
 * true when that changed anything. */
bool children_settle(struct children *cs, int64_t now);
int64_t children_next_due(const struct children *cs);
void children_free(struct children *cs);

/* dryrun.c: submit --dry-run after job_accept; 0 or EX_DATAERR */
int submit_dry_run(const struct conf *conf, const char *name, const char *raw, size_t len);

/* sweep.c: retention (tmcwatch.conf(5) retention_days, records_days) */
int sweep_run(const struct spool *sp, const struct conf *conf); /* removed, -1 busy */
void sweep_spawn(const struct opts *o);                         /* `tmcwatch sweep` as a child */

/* inline.c: the stage workers of inline templates (<spool>/templates/),
 * started on demand and retired when idle; their files removed when unused */
struct inline_tpl {
	char name[INLINE_NAME_LEN + 1];
	struct template tpl;
	int64_t idle_ms;  /* monotonic ms since its stages hold nothing; 0 busy */
	int64_t check_ms; /* next look at whether it can be removed */
	bool bad;         /* its file does not load (logged once) */
	bool warned;      /* a program it needs is missing (logged once) */
	bool seen;
};
struct inlines {
	struct inline_tpl *v;
	size_t n;
};
void inline_tick(struct inlines *in, const struct conf *conf, const struct spool *sp,
		 struct children *cs);
const struct template *inline_find(const struct inlines *in, const char *name);
void inline_free(struct inlines *in);

/* supervise.c */
/* SIGCHLD, SIGTERM, SIGINT, SIGHUP blocked and readable from the returned
 * signalfd: called before the pid file exists, so a SIGHUP sent as soon as
 * it does (logrotate) is read, not the default action that ends the process. */
int supervise_signals(void);
/* The daemon's loop; it reads sigfd and closes it. */
int supervise(const struct opts *o, struct conf *conf, struct spool *sp, int sigfd);

/* metrics.c: state/metrics.prom every metrics_interval seconds (start
 * before the children: records written from then on are counted) */
void metrics_start(const struct spool *sp);
void metrics_tick(const struct spool *sp, const struct conf *conf);
void metrics_free(void);
/* status_remote.c: worker hosts and each remote head's share, for status
 * (text lines and the "remote" JSON member with its trailing comma) and
 * the metrics file (tmcwatch_remote_*); nothing without gearman.servers. */
void status_remote(const struct spool *sp, const struct conf *conf, struct strbuf *text,
		   struct strbuf *json);
void metrics_remote(const struct spool *sp, const struct conf *conf, struct strbuf *out);
/* metrics_watch.c: the configured watches' counts; returns how many */
int metrics_watches(const struct spool *sp, const struct conf *conf, struct strbuf *out);

/* workers.c: forget a dead worker's item, clear them all at start (the
 * reader, workers_each(), is in spool.h) */
void workers_forget(const struct spool *sp, pid_t pid);
void workers_clear(const struct spool *sp);

#endif
