/*
 * spool.h - the handoff protocol every tmcwatch program links (libspool).
 *
 * The protocol itself is written down in man/tmcwatch-spool.5: items are
 * directories that move tmp/ -> new/ -> cur/ -> (successors' new/ | err/),
 * claimed under a flock on their ticket, committed by one rename. Functions
 * are grouped by the file that holds them. Errors from the environment
 * (full disk, vanished file) are return values with a reason; impossible
 * states (our own malformed id) are fatal.
 */
#ifndef TMC_SPOOL_H
#define TMC_SPOOL_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "util.h"

#define ITEM_ID_MAX 128
#define REASON_MAX 1024

/* ticket.c: key=value lines; values escaped (\\ \n \t) */
struct ticket {
	size_t n;
	struct ticket_kv {
		char *key, *val;
	} * kv;
};
int ticket_parse(struct ticket *t, const char *buf, size_t len, char *reason, size_t rlen);
const char *ticket_get(const struct ticket *t, const char *key);
long long ticket_get_ll(const struct ticket *t, const char *key, long long def);
void ticket_set(struct ticket *t, const char *key, const char *val);
void ticket_setf(struct ticket *t, const char *key, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void ticket_unset(struct ticket *t, const char *key);
void ticket_copy(struct ticket *dst, const struct ticket *src);
/* A copy without the keys named (a NULL-ended list); true when src had
 * none of them, so dst says what src says. */
bool ticket_copy_without(struct ticket *dst, const struct ticket *src, const char *const *keys);
char *ticket_format(const struct ticket *t, size_t *len);
void ticket_free(struct ticket *t);

/* layout.c: the spool's folders */
struct spool {
	char *path;
	int fd;
	int freefd;         /* free/ (recycle.c), -1 when the spool has none */
	const char *seq_tz; /* config's seq_timezone (not owned), NULL: local time */
};
struct stage_dir {
	char *path;  /* <spool>/stages/<template>/<NN>-<step> */
	char *label; /* <template>/<NN>-<step> */
	int fd, tmpfd, newfd, curfd, errfd;
	int freefd; /* the spool's free/, borrowed (-1: none, or no spool known) */
};
/* Open (create when asked) the spool and its fixed folders. */
int spool_open(struct spool *sp, const char *path, bool create);
void spool_close(struct spool *sp);
/* Is a tmcwatch daemon running on this spool? (it holds run/tmcwatch.pid
 * locked for its life; a stale file is not a running daemon) */
bool spool_daemon_running(int spoolfd);
/* "<NN>-<step>" for step index idx; names are checked by the config loader. */
void stage_name(char *buf, size_t len, int idx, const char *step);
/* create false: only an existing stage; a missing one (ENOENT) fails
 * quietly, anything else is logged with the path */
int stage_open(struct stage_dir *sd, const struct spool *sp, const char *tpl, int idx,
	       const char *step, bool create);
int stage_open_path(struct stage_dir *sd, const char *path, bool create);
void stage_close(struct stage_dir *sd);

/* The spool's outbox/ (callbacks for tmc-notify): the same tmp/ new/ cur/
 * err/ shape as a stage, so item_publish, item_claim... work on it. */
int outbox_open(struct stage_dir *sd, const struct spool *sp, bool create);

/* stageset.c: the stage folders of one template, each opened (created) on
 * first use: what emitters, successors and jobs hand items into. */
struct stage_set {
	const struct spool *sp;
	char *tpl;
	size_t n;
	char **names;         /* step names, by index */
	struct stage_dir *sd; /* fd -1: not opened yet */
};
/* names[0..nsteps) are copied. */
void stage_set_open(struct stage_set *set, const struct spool *sp, const char *tpl, size_t nsteps,
		    const char *const *names);
/* Step j's folder, opened now if it was not; NULL (logged) when it cannot be. */
struct stage_dir *stage_set_get(struct stage_set *set, size_t j);
void stage_set_close(struct stage_set *set);

/* id.c */
bool id_valid(const char *id); /* [A-Za-z0-9._-], 1..ITEM_ID_MAX-1, not starting with '.' */

/* publish.c: new items from outside the pipeline (jobs, watches, tests) */
/* Build <id>/ticket in sd's tmp/ and rename it into new/ without replacing.
 * Returns 1 published, 0 already present (in new/ or cur/), -1 error. */
int item_publish(struct stage_dir *sd, const char *id, const struct ticket *t, bool durable);
/* Is there an item id in sd: in new/, in cur/, or in tmp/ as a committed
 * chain handoff whose finalize is pending (a valid id there is always one:
 * handoff.c)? Its err/ does not count. */
bool item_present(const struct stage_dir *sd, const char *id);
/* Publishing many at once: each item is built in its stage's tmp/
 * (publish_stage), then publish_commit puts every ticket on disk with one
 * syncfs (PUBLISH_SYNCFS_MIN or more items, and the machine holding under
 * PUBLISH_SYNCFS_DIRTY_KB of unwritten data; else each is fsynced) and
 * renames them into new/. A ticket is thus on disk before its item is
 * named, whatever the batch. tag is the caller's, to tell the items apart
 * after the commit. */
#define PUBLISH_SYNCFS_MIN 4
#define PUBLISH_SYNCFS_DIRTY_KB 8192
struct publish_staged {
	struct stage_dir *sd;
	char id[ITEM_ID_MAX];
	char tmp[NAME_MAX + 1];
	long tag;
	int r; /* after the commit: 1 published, 0 already there, -1 not published */
};
struct publish_batch {
	struct publish_staged *v;
	size_t n, cap;
	bool committed;
};
void publish_batch_init(struct publish_batch *b);
/* 1 staged, 0 already present (not staged), -1 error (logged, errno) */
int publish_stage(struct publish_batch *b, struct stage_dir *sd, const char *id,
		  const struct ticket *t, long tag);
/* The items published (r says which), or -1 (errno, logged): a sync that
 * failed publishes none; a rename that failed publishes those before it. */
int publish_commit(struct publish_batch *b, bool durable);
/* Forget the batch; items staged and never committed are removed. */
void publish_batch_free(struct publish_batch *b);

/* recycle.c: finished item folders kept in the spool's free/ for the next
 * publish, so a flow of items allocates and frees no inodes. recycle_put:
 * the finished folder parentfd/name (open as dirfd), holding only its
 * ticket, renamed into free/ (true) while free/ has room. recycle_take:
 * one renamed from there to sd's tmp/tmpname (true), its ticket to be
 * overwritten in place. */
bool recycle_put(const struct stage_dir *sd, int parentfd, const char *name, int dirfd);
bool recycle_take(const struct stage_dir *sd, const char *tmpname);

/* claim.c */
struct item {
	char id[ITEM_ID_MAX];
	int dirfd;  /* cur/<id> */
	int lockfd; /* the ticket, flocked */
	struct ticket ticket;
	char *path; /* <stage>/cur/<id> */
};
/* 1 claimed, 0 not available (taken, gone), 2 deferred: its ticket says
 * not_before (real time) is later, or another worker holds its lock in new/
 * (look again in a second), *due_s is set and the item is in new/; -1 error (logged). A ticket that
 * does not parse, or an item with no ticket, goes to err/ with the reason and returns 0. */
int item_claim(struct stage_dir *sd, const char *id, struct item *it, int64_t *due_s);
void item_release(struct item *it); /* close fds, free; the lock goes with the fd */

/* handoff.c: the commit. Successor items are built inside the claimed item
 * (out.tmp/), committed by renaming out.tmp -> out, then moved one by one
 * into their stages' new/; a crash anywhere redoes nothing that was done. */
struct successor {
	struct stage_dir *sd;
	int idx;              /* its step's index in the template */
	struct ticket ticket; /* filled by the caller (starts as a copy) */
	/* the ticket is the item's own, unchanged: a chain handoff then
	 * writes no ticket.next and the item moves on with its ticket */
	bool same;
};
/* Stage the successors: out.tmp/<stage>/ticket, and (with pixels) every
 * "next.*" file of the item linked as "pixels.*". Then commit and deliver.
 * Successor stages must be siblings of sd (the same template).
 * 0 done; -1 (errno) not committed, the item is still claimed; with
 * several successors, committed but not all delivered when item_committed()
 * says so (retry item_deliver); 2: a chain handoff committed whose finalize
 * in the successor's tmp/ failed (retry stage_finalize). */
int item_handoff(struct stage_dir *sd, struct item *it, struct successor *succ, size_t n,
		 bool pixels);
/* A chain handoff that keeps the item: ticket.next flocked (or, when the
 * ticket is the same, the item's own lock kept), the commit,
 * the finalize into the successor's cur/ (tmcwatch-spool(5), Carrying an
 * item on). 0: *next is claimed in s->sd's cur/ (release it with
 * item_release); -1 (errno) not committed, it is still claimed; 2 committed,
 * finalize pending (retry stage_finalize); 1 committed and finalized but
 * not ours to carry (logged: someone else's item of that id). */
int item_handon(struct stage_dir *sd, struct item *it, struct successor *s, bool pixels,
		struct item *next);
/* Deliver what an earlier, committed handoff left in out/, then finish. */
bool item_committed(const struct item *it);
int item_deliver(struct stage_dir *sd, struct item *it);
/* Finish a committed one-successor handoff found in sd's tmp/ (idempotent;
 * recovery calls it too). */
int stage_finalize(struct stage_dir *sd, const char *id, bool pixels);
/* The same, by the process that committed it and carries it no further: a
 * lock on its ticket is then nobody's claim (heal.c, handoff_move). */
int stage_finalize_own(struct stage_dir *sd, const char *id, bool pixels);
/* Remove a finished item (moved aside first, so recovery never sees half of it). */
int item_finish(struct stage_dir *sd, struct item *it);

/* fail.c */
/* Temporary: back to new/ with attempt+1 and not_before = now + delay; after
 * max_attempts, permanent. Permanent: cur/<id> -> err/<id> with a reason file. */
int item_fail(struct stage_dir *sd, struct item *it, bool temporary, int max_attempts,
	      int retry_delay, const char *reason);
/* fromfd/<id> -> err/ with a reason (never empty: a fallback names the
 * stage). The reason is written first: -1 (errno a machine fault) leaves
 * the item where it was, to be retried. */
int item_reject_at(struct stage_dir *sd, int fromfd, const char *id, const char *reason);
/* Rewrite the ticket (durably), drop the lock, rename cur/<id> back to new/<id>. */
int item_unclaim(struct stage_dir *sd, struct item *it);
/* A fault of the machine (err): note it, and give the item back to new/ as
 * it is (no attempt counted, nothing written), the lock dropped after the
 * rename. -1: still in cur/ and still ours (lock held): retry later. */
int item_fault(struct stage_dir *sd, struct item *it, int err, const char *what);
/* The same without noting a fault (a deferred item, its ticket unchanged). */
int item_giveback(struct stage_dir *sd, struct item *it);

/* recover.c: cur/ entries whose lock can be taken go back to new/ (attempt+1);
 * after max_attempts deaths they go to err/. Old tmp/ entries are removed.
 * Returns the number of items moved, -1 on error. */
int stage_recover(struct stage_dir *sd, int max_attempts);

/* inbox.c: the stage's view of new/: scan once, then inotify */
struct inbox {
	int ifd;        /* inotify on new/, or a 1 s timerfd while polling */
	bool polled;    /* the inotify limit: new/ is scanned every second */
	unsigned ticks; /* while polled: seconds since the last try to watch */
	char *path;     /* <stage>/new */
	char **ids;
	size_t n, cap, pos;
	char *cur; /* the id inbox_next() returned last (owned) */
};
int inbox_open(struct inbox *ib, struct stage_dir *sd);
int inbox_scan(struct inbox *ib, struct stage_dir *sd); /* refill from new/ */
/* After poll says ifd is readable; 1 when the caller must rescan (an
 * overflow, or a poll tick: ifd may then be another descriptor). */
int inbox_read_events(struct inbox *ib);
const char *inbox_next(struct inbox *ib); /* NULL when empty */
void inbox_close(struct inbox *ib);

/* watchlimit.c: inotify's per-user limits (those of this user namespace:
 * /proc/sys/user/max_inotify_watches and max_inotify_instances). A program
 * that hits one polls the folder instead and retries the watch now and
 * then; never exits for it. */
bool inotify_limit_errno(int err); /* ENOSPC (watches) or EMFILE (instances, not fds) */
/* "user.max_inotify_watches = 8192 (/proc/sys/user/max_inotify_watches)" */
void inotify_limit_text(int err, char *buf, size_t len);
/* fault_note(FAULT_WATCHES) naming the limit in force and what is polled
 * (logged once while the fault lasts); the caller fault_clear()s it once
 * every watch it needs works again. */
void inotify_limit_hit(int err, const char *what);

/* slots.c: the global worker and big slots, flock'ed files under run/slots */
struct slot {
	int fd;
	int index;
	bool big;
};
int slots_init(const struct spool *sp, int worker_cnt, int big_cnt);
/* Block until a slot is free (or timeout_ms passes: -1 with ETIMEDOUT). */
int slot_acquire(const struct spool *sp, bool big, int count, int timeout_ms, struct slot *s);
void slot_release(struct slot *s);
/* How many of `count` slots are held right now. */
int slots_busy(const struct spool *sp, bool big, int count);

/* outfile.c: files written for users: temp name in the target folder, rename */
/* Temp name for final path (same folder): ".<name>.tmcwatch-<item id>" once
 * outfile_tag(id) was called (the skeleton does it per item), else
 * ".<name>.tmcwatch-<pid>-<n>". buf[0] is '\0' when it does not fit. */
void outfile_temp(char *buf, size_t len, const char *final);
void outfile_tag(const char *tag);
/* The same, and list each temp made from now on in itemdirfd's "temps". */
void outfile_tag_item(const char *tag, int itemdirfd);
/* Remove the temps an item listed (only names ".<name>.tmcwatch-<id>"),
 * logging each: for an item that goes to err/ after its worker died. */
void outfile_sweep_temps(int itemdirfd, const char *id, const char *where);
/* Did an earlier attempt at the tagged item begin writing final (its temp
 * is in the item's "temps")? Then an existing final is most likely that
 * attempt's output, renamed into place before it died or failed: the
 * step writes it again (the same bytes) and counts it as written, instead
 * of taking it for an output that was there before (skipped), so that its
 * row and its per-step callbacks are not lost. */
bool outfile_begun(const char *final);
/* fsync tmp (if durable), rename over final, fsync the folder. */
int outfile_commit(const char *tmp, const char *final, bool durable);
/* Write a whole file as name in folder dirfd through the temp name. */
int outfile_publish_at(int dirfd, const char *name, const void *buf, size_t len, bool durable);
/* Copy a whole file through a temp name. */
int outfile_copy(int srcfd, const char *final, bool durable, char *reason, size_t rlen);
/* Bytes of every output this process committed so far (the usage record's
 * bytes_out is the difference over one item). */
unsigned long long outfile_written(void);

/* result.c: one line per finished step, appended with one write(2), its
 * outcome said in words (tmcwatch-spool(5), RESULTS): ok; warning (done,
 * with warnings); failed (the last attempt failed: its successors never
 * run); skipped (done on purpose without writing: the output exists and
 * must not be overwritten, or is the same size). The words are the usage
 * record's (stage/records.c). */
enum result_outcome {
	RO_UNKNOWN = 0, /* a line of 0.1, before the field: readers guess as 0.1 did */
	RO_OK,
	RO_WARNING,
	RO_FAILED,
	RO_SKIPPED,
};
int result_append(const struct spool *sp, const struct ticket *t, const char *step_name,
		  int step_idx, int created, int warnings, enum result_outcome outcome,
		  const char *reason);
const char *result_outcome_name(enum result_outcome o); /* "ok"...; "" for RO_UNKNOWN */
/* result_parse.c: one line without its '\n', split in place: 0, or -1 when
 * it is not a result line. A line of 0.1 (7 fields) reads as RO_UNKNOWN. */
struct result_line {
	char *id, *name, *rel, *reason;
	int step, created, warnings;
	enum result_outcome outcome;
};
int result_parse(char *line, struct result_line *rl);

/* seqstamp.c: "yymmddHHMMSS" of t in time zone tz (an IANA name such as
 * "Asia/Seoul", checked by the config loader; NULL or "": local time) into
 * buf (at least 13 bytes): the date part of every seq. */
void seq_stamp(char *buf, size_t len, time_t t, const char *tz);

/* jobq.c: a job into req/ under a fresh 15-digit seq (TMC's yymmddHHMMSS
 * in sp->seq_tz + 3 digits), durably; list (NULL for none) becomes req/<seq>.file first
 * (tmc-jobs moves it to proc/). 0 with seq filled, or -1 (logged). */
int job_queue(const struct spool *sp, const char *text, size_t len, const char *list,
	      size_t listlen, char *seq, size_t seqlen);
/* The same, with before_link(seq) called once the seq is chosen and before
 * the job is linked to req/<seq> (again for the next seq if that one was
 * taken meanwhile); its failure fails the queueing. -1 keeps the cause in
 * errno: EAGAIN when every seq of this second is taken (retry in the next
 * second), ENOSPC, EROFS, EIO... from the file system. */
struct jobq_hook {
	int (*before_link)(const char *seq, void *arg);
	void *arg;
};
int job_queue_hook(const struct spool *sp, const char *text, size_t len, const char *list,
		   size_t listlen, const struct jobq_hook *hook, char *seq, size_t seqlen);

/* jobfiles.c: the names of a job's files ("<seq>.stat"...; a watch's in
 * state/ use the same suffixes on its key). */
enum job_file {
	JF_JOB,    /* "<seq>": the job itself */
	JF_STAT,   /* progress */
	JF_CTRL,   /* pause/stop/cancel request, and the state after one */
	JF_FILE,   /* the file list */
	JF_ROWS,   /* the rows so far */
	JF_LOG,    /* the job's (a watch's) log */
	JF_RESULT, /* the rows handed out (done/) */
	JF_REASON, /* why it failed (err/) */
	JF_NKINDS
};
const char *job_file_suffix(enum job_file kind); /* "" ".stat" ".ctrl" ... */
/* "<seq><suffix>" into buf; -1 (buf "") when it does not fit. */
int job_file(char *buf, size_t len, const char *seq, enum job_file kind);
/* The kind of a file name by its suffix (never JF_JOB), its seq (the name
 * without the suffix) into seq when seq is not NULL; -1 for no job file or
 * a seq longer than seqlen - 1. */
int job_file_kind(const char *name, char *seq, size_t seqlen);
/* May this name be a job's seq (its file in req/ proc/ done/ err/)? The
 * one rule; tmc_seq_name_ok() (config/tmc.h) asks it. */
#define JOB_NAME_MAX 64
bool job_name_ok(const char *name);
/* The job files (job_name_ok, not their .stat .file .log ...) in the job
 * folder `name` (req, proc, done, err) below parent; 0 when unreadable. */
long job_count_at(int parent, const char *name);

/* processed.c: "Total processed", files finished since the daemon started,
 * kept per program in run/processed/<who> ("<files> <basis>"). */
int processed_read(const struct spool *sp, const char *who, long long *files, long long *basis);
void processed_write(const struct spool *sp, const char *who, long long files, long long basis);
long long processed_total(const struct spool *sp); /* the sum over programs */
void processed_clear(const struct spool *sp);      /* the supervisor, at start */

/* fault.c: faults of the machine a program is living through (disk full,
 * read-only, I/O errors, out of fds or memory, watch limit), kept in
 * run/faults/<program>.<pid> (flocked for the program's life) for status,
 * /healthz and the metrics. A machine fault is never an item's fault: the
 * item is retried. Note a fault when an operation fails with such an errno,
 * clear it when the same kind of operation succeeds again. */
#define FAULT_CAUSE_MAX 256
enum fault_kind {
	FAULT_SPACE,
	FAULT_INODES,
	FAULT_READONLY,
	FAULT_IO,
	FAULT_FDS,
	FAULT_MEMORY,
	FAULT_WATCHES,
	FAULT_NKINDS
};
struct fault_rec {
	char program[32];
	pid_t pid;
	enum fault_kind kind;
	int64_t since; /* real time, s */
	char cause[FAULT_CAUSE_MAX];
};
/* ENOSPC EDQUOT EIO EROFS EMFILE ENFILE ENOMEM: the machine's, not the data's */
bool errno_is_machine_fault(int err);
enum fault_kind fault_kind_of(int err);
const char *fault_name(enum fault_kind k);        /* "disk-full", "read-only", ... */
int fault_init(int spoolfd, const char *program); /* once, after spool_open */
void fault_note(enum fault_kind k, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void fault_note_errno(int err, const char *what); /* kind from err, cause "what: strerror" */
void fault_clear(enum fault_kind k);
void fault_clear_all(void); /* all but the watch limit */
bool fault_active(enum fault_kind k);
/* Every live program's faults (files of dead programs are removed). */
int faults_read(int spoolfd, struct fault_rec **v, size_t *n);

/* dying.c: run/dying, the supervisor's children that keep dying (written by
 * the supervisor at every change, trusted only while the daemon runs) */
struct dying_rec {
	char label[256]; /* the child's label: "tpl/00-Origin#0", "jobs" */
	int64_t since;   /* real time, s, of the fifth quick death */
	int deaths;      /* quick deaths in a row */
	char cause[128]; /* the last death: "exited 1", "killed by signal 9" */
};
int dying_write(int spoolfd, const struct dying_rec *v, size_t n);
int dying_read(int spoolfd, struct dying_rec **v, size_t *n);

/* health.c: why the spool cannot move items, for status, /healthz, metrics:
 * not-running, disk-full, inodes-full, read-only, io-error (statvfs of req/
 * and a write probe), keeps-dying (run/dying) and every live program's
 * faults (run/faults). Returns the number of conditions: 0 is healthy. */
#define SPOOL_RESERVE_BYTES (1024ULL * 1024) /* less free than this is full */
#define SPOOL_RESERVE_INODES 16
#define HEALTH_MAX 64
struct health_cond {
	char kind[24]; /* "disk-full", "not-running", "keeps-dying", ... */
	char who[64];  /* "spool", "tmcwatch", a child label, "program[pid]" */
	int64_t since; /* real time, s; 0 unknown */
	char cause[FAULT_CAUSE_MAX + 64];
};
struct spool_health {
	bool daemon_running;
	size_t n;
	struct health_cond c[HEALTH_MAX];
};
int spool_health(const struct spool *sp, struct spool_health *h);

/* census.c: what every stage (stages/<tpl>/<NN-step>/) and outbox/ hold:
 * per stage the entries of new/ (waiting), cur/ (working) and err/
 * (failed) and the reason of the newest failure; with CENSUS_ITEMS, every
 * item with what its ticket says (CENSUS_FAILED_ITEMS: only the failed
 * ones). The one walk of the stage tree. */
#define CENSUS_ITEMS 1
#define CENSUS_FAILED_ITEMS 2 /* items of err/ only */
enum census_state { CENSUS_WAITING, CENSUS_DEFERRED, CENSUS_WORKING, CENSUS_FAILED };
const char *census_state_name(enum census_state s); /* "waiting", "deferred", ... */
struct census_item {
	char stage[300];         /* "<tpl>/<NN-step>", or "outbox" for a callback */
	size_t order;            /* the stage's index (outbox: after every stage) */
	enum census_state state; /* deferred: in new/ with not_before later than now */
	char id[256];            /* its name in the folder (err/ may add ".N") */
	char *original;          /* ticket src, else rel, else url (a callback) */
	char *origin;            /* ticket origin: "job:<seq>", "watch:<key>" */
	int64_t mtime;           /* real s: its folder's mtime (when it last changed) */
	long long attempts;      /* ticket attempt: failed attempts so far */
	int64_t not_before;      /* real s; 0 none */
	char *reason;            /* err/ reason file, else ticket last_error */
};
struct census_stage {
	char tpl[256], step[256]; /* outbox: "" and "outbox" */
	char label[300];          /* "<tpl>/<step>" or "outbox" */
	long waiting, working, failed;
	int64_t oldest_waiting; /* real s: mtime of the oldest entry of new/; 0 none */
	char last_error[256];
};
struct census {
	struct census_stage *stages; /* by template, then step (byte order) */
	size_t nstages;
	struct census_stage outbox;
	struct census_item *items; /* by stage, then failed, working, deferred, waiting, id */
	size_t nitems;
};
int spool_census(const struct spool *sp, int flags, struct census *c);
void census_free(struct census *c);
/* The folder of a stage label ("outbox" or <spool>/stages/<label>). */
int census_stage_path(const struct spool *sp, const char *label, char *buf, size_t len);
/* One item by stage label, state (its folder) and name; 0 or -1 not there. */
int census_item(const struct spool *sp, const char *label, enum census_state state,
		const char *name, struct census_item *ci);
void census_item_free(struct census_item *ci);

/* prom.c: Prometheus text format 0.0.4. The spool's gauges (stage, item,
 * job and callback counts, the oldest waiting item's age, tmc_daemon_up,
 * tmc_fault) as `tmcwatch status` counts them; written by the supervisor
 * into state/metrics.prom and by tmc-httpd at every /metrics scrape. */
void prom_spool_gauges(const struct spool *sp, struct strbuf *out);
/* Is name[0..len) a family prom_spool_gauges() writes? */
bool prom_spool_family(const char *name, size_t len);
void prom_help(struct strbuf *out, const char *name, const char *type, const char *text);
void prom_label(struct strbuf *out, const char *s); /* a label value, escaped */

/* requeue.c: the operator's requeue and purge of err/<name> (safe while the
 * stage runs). 1 done, 0 refused (why says why: already in new/ or cur/, a
 * worker still holds it, gone), -1 error; why names the item either way. */
int item_requeue(struct stage_dir *sd, const char *name, char *why, size_t wlen);
int item_purge(struct stage_dir *sd, const char *name, char *why, size_t wlen);

/* workers.c: run/workers/<label with / as +>.<pid>, kept by each stage
 * worker (stage/worker.c): "<processed> <id> <start s mono> [<percent>]"
 * while it works, "<processed> -" while it waits. */
struct worker_status {
	pid_t pid;
	char label[256];
	long long processed;
	char item[ITEM_ID_MAX]; /* "" when idle */
	long long start_s;
	int percent; /* how far the item is (a transcode), -1 unknown */
};
/* Calls fn for each status file; returns how many. */
int workers_each(const struct spool *sp, void (*fn)(const struct worker_status *, void *),
		 void *arg);

/* wire.c: the message between a spool host and a worker host, carried by
 * gearmand (tmcwatch-worker(8), PROTOCOL). One text line "TMCW1 <kind>
 * <header bytes> <parts>", a header in the ticket's key=value form, parts
 * of bytes each "<name>\n<length>\n<bytes>", and "MAC <hex>\n": the
 * HMAC-SHA256 with the shared secret of everything before it. gearmand
 * authenticates nobody, so a message is believed only when its MAC is
 * right and its "expires" (Unix seconds) has not passed. */
#define WIRE_MAGIC "TMCW1"
#define WIRE_NAME_MAX 64
struct wire_part {
	char name[WIRE_NAME_MAX + 1]; /* [A-Za-z0-9._:-]+ */
	const uint8_t *data;          /* the caller's (encode) or in the buffer (decode) */
	size_t len;
	uint8_t *slot; /* wire_layout: where a part added with no data goes */
};
struct wire_msg {
	char kind[4];      /* "req" or "rep" */
	struct ticket hdr; /* id, expires, ... (the caller's keys) */
	struct wire_part *parts;
	size_t nparts;
};
void wire_init(struct wire_msg *m, const char *kind);
/* A part; data is not copied and must live until wire_encode. data NULL
 * (wire_layout only): len bytes the caller writes into the message. */
void wire_add(struct wire_msg *m, const char *name, const void *data, size_t len);
/* The signed message, malloc'ed, its size in *len. */
uint8_t *wire_encode(const struct wire_msg *m, const void *key, size_t klen, size_t *len);
/* The same bytes in two phases, so that a big part is read straight into
 * the message instead of into a buffer of its own and then copied:
 * wire_layout returns the message laid out, malloc'ed, unsigned (its
 * length in *body), each part added with no data having its place in
 * parts[i].slot; the caller fills those and wire_seal appends the MAC
 * (returns buf, the whole length in *len). */
uint8_t *wire_layout(struct wire_msg *m, size_t *body);
uint8_t *wire_seal(uint8_t *buf, size_t body, const void *key, size_t klen, size_t *len);
/* Check and read buf: the MAC (constant time), the kind, the framing,
 * "expires" >= now - max_skew. 0, or -1 with reason (nothing believed).
 * Parts point into buf, which must outlive m. */
int wire_decode(struct wire_msg *m, const uint8_t *buf, size_t len, const char *kind,
		const void *key, size_t klen, long long now, int max_skew, char *reason,
		size_t rlen);
const struct wire_part *wire_get(const struct wire_msg *m, const char *name);
/* Header value key of a message whose MAC is NOT checked, for a log line
 * only (never believed): out holds it with unsafe bytes made '?'; 0, or -1
 * (not framed as kind, or no such key). */
int wire_peek(const uint8_t *buf, size_t len, const char *kind, const char *key, char *out,
	      size_t olen);
void wire_free(struct wire_msg *m);

/* gearadmin.c: one admin command ("status", "workers") to gearmand at
 * "host[:port]" (4730); its answer up to the line ".", malloc'ed, or NULL
 * with errno (unreachable, timed out). */
char *gear_admin(const char *server, const char *cmd, int timeout_ms);

/* remote_status.c: what the tmc-remote of this spool host did with each
 * worker host, summed over run/remote/<pid> (tmc-remote(8)). in flight
 * counts only processes that are alive. */
struct remote_host {
	char host[128];
	char function[256]; /* the last unit function sent there */
	long long inflight, done, failed, last_seen;
};
int remote_hosts(const struct spool *sp, struct remote_host **v, size_t *n);
#endif
