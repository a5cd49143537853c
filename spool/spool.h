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
	} *kv;
};
int ticket_parse(struct ticket *t, const char *buf, size_t len, char *reason, size_t rlen);
const char *ticket_get(const struct ticket *t, const char *key);
long long ticket_get_ll(const struct ticket *t, const char *key, long long def);
void ticket_set(struct ticket *t, const char *key, const char *val);
void ticket_setf(struct ticket *t, const char *key, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void ticket_unset(struct ticket *t, const char *key);
void ticket_copy(struct ticket *dst, const struct ticket *src);
char *ticket_format(const struct ticket *t, size_t *len);
void ticket_free(struct ticket *t);

/* layout.c: the spool's folders */
struct spool {
	char *path;
	int fd;
};
struct stage_dir {
	char *path;   /* <spool>/stages/<template>/<NN>-<step> */
	char *label;  /* <template>/<NN>-<step> */
	int fd, tmpfd, newfd, curfd, errfd;
};
/* Open (create when asked) the spool and its fixed folders. */
int spool_open(struct spool *sp, const char *path, bool create);
void spool_close(struct spool *sp);
/* Is a tmcwatch daemon running on this spool? (it holds run/tmcwatch.pid
 * locked for its life; a stale file is not a running daemon) */
bool spool_daemon_running(int spoolfd);
/* "<NN>-<step>" for step index idx; names are checked by the config loader. */
void stage_name(char *buf, size_t len, int idx, const char *step);
int stage_open(struct stage_dir *sd, const struct spool *sp, const char *tpl, int idx,
	       const char *step, bool create);
int stage_open_path(struct stage_dir *sd, const char *path, bool create);
void stage_close(struct stage_dir *sd);

/* id.c */
bool id_valid(const char *id);  /* [A-Za-z0-9._-], 1..ITEM_ID_MAX-1, not starting with '.' */

/* publish.c: new items from outside the pipeline (jobs, watches, tests) */
/* Build <id>/ticket in sd's tmp/ and rename it into new/ without replacing.
 * Returns 1 published, 0 already present (in new/ or cur/), -1 error. */
int item_publish(struct stage_dir *sd, const char *id, const struct ticket *t, bool durable);

/* claim.c */
struct item {
	char id[ITEM_ID_MAX];
	int dirfd;          /* cur/<id> */
	int lockfd;         /* the ticket, flocked */
	struct ticket ticket;
	char *path;         /* <stage>/cur/<id> */
};
/* 1 claimed, 0 not available (taken, gone, locked), 2 deferred: its ticket
 * says not_before (real time) is later, *due_s is set and the item is back in
 * new/; -1 error (logged). A ticket that does not parse, or an item with no
 * ticket, goes to err/ with the reason and returns 0. */
int item_claim(struct stage_dir *sd, const char *id, struct item *it, int64_t *due_s);
void item_release(struct item *it); /* close fds, free; the lock goes with the fd */

/* handoff.c: the commit. Successor items are built inside the claimed item
 * (out.tmp/), committed by renaming out.tmp -> out, then moved one by one
 * into their stages' new/; a crash anywhere redoes nothing that was done. */
struct successor {
	struct stage_dir *sd;
	struct ticket ticket;   /* filled by the caller (starts as a copy) */
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
/* Deliver what an earlier, committed handoff left in out/, then finish. */
bool item_committed(const struct item *it);
int item_deliver(struct stage_dir *sd, struct item *it);
/* Finish a committed one-successor handoff found in sd's tmp/ (idempotent;
 * recovery calls it too). */
int stage_finalize(struct stage_dir *sd, const char *id, bool pixels);
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
	int ifd;                 /* inotify on new/ */
	char **ids;
	size_t n, cap, pos;
	char *cur;               /* the id inbox_next() returned last (owned) */
};
int inbox_open(struct inbox *ib, struct stage_dir *sd);
int inbox_scan(struct inbox *ib, struct stage_dir *sd);      /* refill from new/ */
int inbox_read_events(struct inbox *ib);                     /* after poll says readable */
const char *inbox_next(struct inbox *ib);                    /* NULL when empty */
void inbox_close(struct inbox *ib);

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
/* fsync tmp (if durable), rename over final, fsync the folder. */
int outfile_commit(const char *tmp, const char *final, bool durable);
/* Copy a whole file through a temp name. */
int outfile_copy(int srcfd, const char *final, bool durable, char *reason, size_t rlen);

/* result.c: one line per finished step, appended with one write(2) */
int result_append(const struct spool *sp, const struct ticket *t, const char *step_name,
		  int step_idx, int created, int warnings, const char *reason);

/* jobq.c: a job into req/ under a fresh 15-digit seq (TMC's yymmddHHMMSS +
 * 3 digits), durably; list (NULL for none) becomes req/<seq>.file first
 * (tmc-jobs moves it to proc/). 0 with seq filled, or -1 (logged). */
int job_queue(const struct spool *sp, const char *text, size_t len, const char *list,
	      size_t listlen, char *seq, size_t seqlen);

/* fault.c: faults of the machine a program is living through (disk full,
 * read-only, I/O errors, out of fds or memory, watch limit), kept in
 * run/faults/<program>.<pid> (flocked for the program's life) for status,
 * /healthz and the metrics. A machine fault is never an item's fault: the
 * item is retried. Note a fault when an operation fails with such an errno,
 * clear it when the same kind of operation succeeds again. */
#define FAULT_CAUSE_MAX 256
enum fault_kind {
	FAULT_SPACE, FAULT_INODES, FAULT_READONLY, FAULT_IO, FAULT_FDS, FAULT_MEMORY,
	FAULT_WATCHES, FAULT_NKINDS
};
struct fault_rec {
	char program[32];
	pid_t pid;
	enum fault_kind kind;
	int64_t since;               /* real time, s */
	char cause[FAULT_CAUSE_MAX];
};
/* ENOSPC EDQUOT EIO EROFS EMFILE ENFILE ENOMEM: the machine's, not the data's */
bool errno_is_machine_fault(int err);
enum fault_kind fault_kind_of(int err);
const char *fault_name(enum fault_kind k);  /* "disk-full", "read-only", ... */
int fault_init(int spoolfd, const char *program);  /* once, after spool_open */
void fault_note(enum fault_kind k, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void fault_note_errno(int err, const char *what);  /* kind from err, cause "what: strerror" */
void fault_clear(enum fault_kind k);
void fault_clear_all(void);                 /* all but the watch limit */
bool fault_active(enum fault_kind k);
/* Every live program's faults (files of dead programs are removed). */
int faults_read(int spoolfd, struct fault_rec **v, size_t *n);

#endif
