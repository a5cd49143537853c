/*
 * jobs.h - tmc-jobs: TMC job files from req/ to done/ (doc/ARCHITECTURE.md;
 * tmc-jobs(8) has the whole contract).
 *
 * One process, one loop (main.c). A job goes req/ -> proc/ -> done/ | err/
 * (| back to req/ on "stop"), with TMC's file names and formats:
 *
 *   proc/<seq>          the job JSON, as it was sent
 *   proc/<seq>.file     one relative source path per line (scan or upload)
 *   proc/<seq>.stat     "total\tdispatched\tfinished", no newline
 *   proc/<seq>.ctrl     {"status":"pause"|"resume"|"stop"|"cancel"} and ours
 *   proc/<seq>.log      one line per finished step, appended by the stages
 *   proc/<seq>.rows     ours: "<file index>\t<result row>" journal, then
 *                       "#close ..." and "#callback" markers
 *   done/<seq>.result   "<src>\t<requested>\t<created>\t<warnings>\n" rows
 *   err/<seq>.reason    why a job went to err/
 *   outbox/new/<seq>/ticket     for tmc-notify (an outbox item)
 *
 * Functions are grouped by the file that holds them. match.c and steps.c
 * are pure (no I/O) and unit-tested by tests/unit/test_jobs_match.c.
 */
#ifndef TMC_JOBS_H
#define TMC_JOBS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "conf.h"
#include "job.h"
#include "json.h"
#include "spool.h"
#include "tmc.h"
#include "stage.h" /* scan_start... (stage/scan.c) */

#define SEQ_MAX (TMC_SEQ_NAME_MAX + 1) /* a seq and its NUL */
#define JOB_MAX_BYTES (16 << 20)

/* match.c: names, .stat, item ids and log lines (pure); TMC's shared
 * rules (globs, rename, seqs, file list lines) are tmc.h's and job.h's */
bool jm_name_ignored(const char *name); /* dot names and temporary names */
/* "total\tdispatched\tfinished" or TMC's bare "total": 0, or -1. */
int jm_stat_parse(const char *s, long long v[3]);
void jm_item_id(char *buf, size_t len, const char *seq, size_t idx);
/* File index from an item id "<seq>-<digits>"; -1 when not this job's. */
int jm_item_index(const char *seq, const char *id, size_t *idx);
/* proc/<seq>.log lines: result_parse() (spool.h) */

/* steps.c (which steps a file expects, its result row) moved to stage/steps.c:
 * stage.h, shared with tmc-watch's watchdog jobs */

/* the job check and struct jobspec: config/job.h (shared with the door) */

/* scan.c (hires expansion) moved to stage/scan.c: stage.h, shared with
 * `tmcwatch submit --dry-run` */

/* the daemon and its jobs */
enum job_mode { JM_RUN, JM_PAUSE, JM_STOP, JM_CANCEL, JM_ERROR };
enum close_kind { CLOSE_DONE, CLOSE_CANCEL, CLOSE_ERROR, CLOSE_STOP };

struct jfile {
	struct sres *res; /* per step, NULL until a line arrives */
	uint8_t done;     /* 1 row written, 2 cancel row */
	uint8_t absent;   /* quiet checks in a row that found it nowhere */
};

struct tplstages {
	struct stage_set set; /* its stage folders, opened (created) on first use */
	int users;            /* jobs holding it */
};

struct job {
	char seq[SEQ_MAX];
	struct jobspec spec;
	struct tplstages *ts;
	enum job_mode mode;
	char reason[REASON_MAX]; /* JM_ERROR: why */
	struct scan *scan;       /* while the list is being made */
	int scanfd;
	char *listbuf;
	char **rel; /* the list, per file index */
	size_t total, dispatched, ndone, nprocessed;
	size_t nfresh;     /* rows of files processed by this run, not yet in d->processed */
	size_t ndone_disp; /* files below dispatched with a row */
	size_t nsuccess;   /* rows TMC's seqdetail counts as success */
	size_t low;        /* no file below low lacks a row */
	size_t hi;         /* 1 + the highest file index reported */
	long long created, warn;
	struct jfile *files;
	int logfd, rowsfd, resultfd;
	off_t logoff;
	struct strbuf logpart;    /* a line not yet complete */
	struct strbuf jbuf, rbuf; /* rows not yet written: journal, result */
	struct strbuf journal;    /* proc/<seq>.rows as read at adoption */
	bool journal_rows;        /* it had rows */
	bool journal_new;         /* no proc/<seq>.rows before: .stat, if any, is TMC's */
	bool stop_paused;         /* stopped while paused: requeued paused (TMC) */
	int64_t last_line_ms, stat_ms;
	bool stat_dirty;
	bool tpl_wait;    /* its inline template's file is not written yet: no items */
	bool closed_mark; /* "#close" in the journal: only finish closing */
	enum close_kind close_kind;
	bool cb_mark; /* "#callback" in the journal */
	struct ctrl_seen {
		ino_t ino;
		off_t size;
		int64_t mtime_ns;
	} ctrl_bad; /* last ctrl that did not parse */
};

struct jobsd {
	struct conf conf;
	struct spool sp;
	int reqfd, procfd, donefd, errfd;
	struct stage_dir outbox;         /* callbacks for tmc-notify (finish.c) */
	int ifd, wd_req, wd_proc, sigfd; /* ifd -1: the inotify limit, req/ and proc/ polled */
	unsigned poll_ticks;             /* ticks since the last try to watch again */
	struct job **jobs;
	size_t njobs;
	struct tplstages **ts;
	size_t nts;
	struct cand *cands;
	size_t ncands;
	size_t window; /* files in flight per job */
	int quiet_ms;  /* req/ files written in place: quiet period */
	int settle_ms; /* ... and how long one that does not parse is left alone */
	bool stop;
	long long processed, processed_written; /* "Total processed" (spool/processed.c) */
};

/* client.c: a job's life in proc/ */
/* Take over proc/<seq> (spec is moved in). from_req: just taken from req/. */
struct job *job_adopt(struct jobsd *d, const char *seq, struct jobspec *spec, bool from_req);
void job_free(struct job **jp);
/* One pass: scan, results, control, emission, closing. 1 when closed. */
int job_work(struct jobsd *d, struct job *j, bool tick);
int job_timeout(const struct job *j); /* ms until it wants the loop back, -1 none */

/* tplstages.c: a template's stage folders (a spool stage_set), one per
 * template for all its jobs */
struct tplstages *tplstages_get(struct jobsd *d, const struct template *tpl);
/* A job lets go; an inline template's set is closed with its last job (the
 * supervisor may remove its folders once no job runs it). */
void tplstages_put(struct jobsd *d, struct tplstages *ts);
void tplstages_free(struct jobsd *d);

/* results.c: proc/<seq>.log in, rows and .stat out */
int results_journal(struct jobsd *d, struct job *j);
int results_open(struct jobsd *d, struct job *j);
void results_read_log(struct jobsd *d, struct job *j);
void results_file_done(struct job *j, size_t i, bool cancel_row);
void results_processed(struct jobsd *d); /* run/processed/jobs */
void results_flush(struct jobsd *d, struct job *j);
void results_stat(struct jobsd *d, struct job *j, bool force);
int results_mark(struct jobsd *d, struct job *j, const char *line);
void results_evaluate(struct job *j, size_t i);

/* track.c: emission and the items that went missing */
void track_emit(struct jobsd *d, struct job *j);
void track_resolve(struct jobsd *d, struct job *j, bool tick);
size_t track_inflight(const struct job *j);
void track_redrive(struct jobsd *d, struct job *j);

/* resolve.c: a listed file beneath its site root, as a stage will open it */
int resolve_open_root(const struct job *j); /* the site root, or -1 (logged) */
/* 1 found (*st), 0 not found (the stage reports it), -1 refused (reason):
 * a symbolic link on the way, a way out, not a regular file, the
 * hard-link policy. */
int resolve_src(const struct job *j, int rootfd, size_t i, struct stat *st, char *reason,
		size_t rlen);

/* ctrl.c: proc/<seq>.ctrl */
enum ctrl_cmd {
	CTRL_NONE,
	CTRL_PARTIAL,
	CTRL_BAD,
	CTRL_PAUSE,
	CTRL_PAUSED,
	CTRL_RESUME,
	CTRL_STOP,
	CTRL_STOPPED,
	CTRL_CANCEL,
	CTRL_CANCELLED,
	CTRL_OTHER
};
/* Read proc/<seq>.ctrl; final: a parse failure is CTRL_BAD, not PARTIAL. */
enum ctrl_cmd ctrl_read(struct jobsd *d, const char *seq, bool final, struct ctrl_seen *bad,
			char *reason, size_t rlen);
int ctrl_write(struct jobsd *d, const char *seq, const char *status, long long pos, long long cnt);
void ctrl_apply(struct jobsd *d, struct job *j, bool final);

/* finish.c: closing a job */
void finish_close(struct jobsd *d, struct job *j, enum close_kind kind);
int finish_reject(struct jobsd *d, int fromfd, const char *name, const char *seq,
		  const char *reason);
int finish_no_files(struct jobsd *d, const char *seq, const char *callback, const char *why);

/* intake.c: req/ */
struct cand {
	char *name;
	int64_t due_ms;  /* check again then; 0 = no deadline */
	bool ready;      /* complete: may be taken */
	bool closed;     /* IN_CLOSE_WRITE or found at start: a parse failure is final */
	bool paused;     /* its ctrl says pause: looked at again on the tick */
	int64_t last_ms; /* its last write event; 0 for a file renamed in */
};
void intake_scan(struct jobsd *d);
void intake_event(struct jobsd *d, const char *name, uint32_t mask);
void intake_work(struct jobsd *d, bool tick);
void intake_ctrl(struct jobsd *d, const char *seq); /* its ctrl changed */
int64_t intake_next_due(const struct jobsd *d);
void intake_free(struct jobsd *d);

/* sweep.c: at start, proc/<seq>.rows of closed jobs (left by a kill) */
void sweep_journals(struct jobsd *d);

#endif
