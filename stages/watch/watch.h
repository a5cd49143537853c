/*
 * watch.h - tmc-watch internals: one process per watch entry turns files
 * that land in the watch's folder tree into items of its template.
 *
 * The pieces, one file each, and who calls whom (always downwards: a file
 * never calls a file above it, tests/integration/99-no-cycles.t checks it):
 *
 *   main.c      arguments, set-up, the event loop, the stat file
 *     |
 *   events.c    inotify events -> folder changes and pending files
 *     |
 *   tree.c      the folder tree: one node per folder, inotify watches, walks
 *     |
 *   pending.c   files waiting to be ready: quiet period, stalled writers,
 *     |         two-scan stability for scanned folders; a deadline heap
 *   batch.c     ready files collected in a loop turn, handed off together,
 *     |         then recorded in the index with one fdatasync
 *   publish.c   one ready file -> the first items of the template (ticket)
 *
 *   beside them, called from above and calling nothing of the above:
 *   refuse.c    objects never taken (links, FIFOs, devices, loops,
 *               temporaries): said once per path, at a bounded rate
 *   timers.c    when the next walks are due: rescans, polls, the root
 *   files.c     a file of the tree by its relative path (lstat beneath)
 *   index.c     the persistent index of what was handed off
 *   tally.c     results of the watch's items (state/<key>.log) -> counts
 *               and TMC's rows
 *   wdjob.c     the handed-off files as TMC's watchdog jobs wd<seq> in
 *               proc/ and done/ (a journal, state/<key>.wdjobs); called
 *               from batch.c and main.c, calls tally.c
 *   rules.c     temporary names, include/exclude, rename, keys and ids
 *   hmap.c      an intrusive hash table and a set of 64-bit hashes
 *
 * A lower piece reports what it could not do to its caller instead of
 * calling back up: batch_flush returns "rescan in N ms" and main.c
 * schedules it (timers.c).
 *
 * struct wctx is composed in main.c of one part per piece; a part is
 * written only by the file that owns it (named at each part) and read by
 * the files above it. The set-up fields at its top are main.c's.
 *
 * Times of files are never compared with this host's clock: readiness is
 * measured on CLOCK_MONOTONIC, "already handed off" is decided by the index
 * of (device slot, inode, size, mtime), and max_sec compares a file's mtime
 * with the newest ctime seen on the same file system.
 */
#ifndef TMC_WATCH_H
#define TMC_WATCH_H

#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

#include "stage.h"

#define container_of(p, T, m) ((T *)(void *)((char *)(p)-offsetof(T, m)))

#define SETTLE_MS 1000      /* quiet period for files a walk found (writer unknown) */
#define STALL_MS 300000     /* a file held open without a write this long is taken */
#define RETRY_MS 5000       /* after a hand-off failed (full spool), rescan */
#define POLL_DEFAULT_S 60   /* scan interval when min_sec is 0 */
#define RESCAN_MIN_MS 50    /* first rescan after an overflow, doubling ... */
#define RESCAN_MAX_MS 10000 /* ... up to this while overflows keep coming */
#define BATCH_MAX 1000      /* files handed off per loop turn */

/* ---- hmap.c ---- */
struct hnode {
	struct hnode *next;
	uint64_t h;
};
struct hmap {
	struct hnode **b;
	size_t nb, n;
};
void hmap_add(struct hmap *m, struct hnode *n, uint64_t h);
void hmap_del(struct hmap *m, struct hnode *n);
struct hnode *hmap_first(const struct hmap *m, uint64_t h); /* then hmap_next */
struct hnode *hmap_next(const struct hnode *n, uint64_t h);
void hmap_free(struct hmap *m); /* the table, not the nodes */
/* every node, in no order; the callback may not change the table */
void hmap_each(const struct hmap *m, void (*fn)(struct hnode *, void *), void *arg);
uint64_t hash_bytes(const void *p, size_t n, uint64_t seed);
uint64_t hash_u64(uint64_t x);

struct u64set { /* open addressing; 0 is stored as 1 */
	uint64_t *v;
	size_t cap, n;
};
bool u64set_add(struct u64set *s, uint64_t x); /* true when new */
bool u64set_has(const struct u64set *s, uint64_t x);
void u64set_free(struct u64set *s);

/* ---- rules.c ---- */
/* A file's identity: what the index records and the item id is made of.
 * slot: the watch's number for the file system (0: the watch folder's),
 * stable across remounts that renumber st_dev. */
struct ident {
	uint64_t ino;
	int64_t size, mtime_s;
	int32_t mtime_ns;
	uint16_t slot;
};
void ident_from_stat(struct ident *id, const struct stat *st, uint16_t slot);
bool ident_same(const struct ident *a, const struct ident *b);
/* Names that uploaders and sync tools give a file in the middle of a
 * transfer (Office ~$x, LibreOffice .~lock.x#, rsync .x.XXXXXX, *.part,
 * *.filepart, *.crdownload, *.tmp, *~, every dot file ...): whose
 * temporary it is, or NULL for a final name. */
const char *rules_temp_name(const char *name);
/* TMC's selection: some include matches and no exclude does; fnmatch with
 * flags 0 on the relative path with its leading "/" (so * matches /). */
bool rules_selected(const struct watch *w, const char *rel);
/* TMC's rename (str_ireplace of each pair, in order, every occurrence,
 * ASCII case-insensitive; pairs with "" or "0" on either side are skipped). */
void rules_rename(const struct watch *w, const char *rel, struct strbuf *out);
/* The watch's name as an id-safe key ([A-Za-z0-9._-], no leading '.'):
 * itself when it is one, else '#' -> '.', other bytes -> "_XX" (hex). */
void watch_key(const char *name, char *buf, size_t len);
/* "w-<key>-<slot>-<ino>-<size>-<mtime s>.<ns>"; a long key is shortened to
 * its first 16 characters and a hash, so the id fits ITEM_ID_MAX. */
void watch_item_id(char *buf, size_t len, const char *key, const struct ident *id);
/* Does the file name (in folder dirrel) concern the watch at all? Temporary
 * names, include/exclude and "no first step applies to its extension" say no. */
bool rules_wanted(const struct watch *w, const struct template *tpl, const char *dirrel,
		  const char *name);

/* ---- files.c ---- */
/* rel of a file in folder dirrel, into buf ("/a/b/name"); false when too long */
bool file_rel(const char *dirrel, const char *name, char *buf, size_t len);
/* lstat of rel beneath the watch folder (rootfd; -1: ENOENT), no symbolic
 * link followed on the way. */
int file_stat(int rootfd, const char *rel, struct stat *st);

/* ---- timers.c ---- */
/* When the next walks are due, CLOCK_MONOTONIC ms; 0 = not set. */
struct timers {
	int64_t rescan_due, rescan_delay, last_overflow; /* a walk of the whole tree */
	bool overflowed;              /* the next full walk follows an overflow */
	int64_t poll_due;             /* a walk of the folders that are scanned */
	int64_t root_due, root_delay; /* opening the watch folder again */
	size_t sweep_base;            /* index entries after the last sweep */
};
/* A full walk in RETRY_MS, or after an overflow sooner the first time and
 * later (doubling up to RESCAN_MAX_MS) while overflows keep coming; an
 * earlier one already due stays. Returns the delay asked for. */
int64_t timers_rescan(struct timers *t, bool overflow, int64_t now);
bool timers_rescan_take(struct timers *t, int64_t now);       /* due: cleared, true */
void timers_poll(struct timers *t, int64_t now, int poll_ms); /* unless set */
bool timers_poll_take(struct timers *t, int64_t now);         /* due: cleared, true */
/* The watch folder is missing: next try in 1 s, doubling up to 60 s
 * (lost: 1 s again). Returns true the first time (to say so once). */
bool timers_root_missing(struct timers *t, int64_t now, bool lost);
void timers_root_found(struct timers *t);
/* Files come and go: after enough new index entries, a walk in a minute
 * lets the index forget the ones gone. */
void timers_sweep_check(struct timers *t, size_t live, int64_t now);
void timers_swept(struct timers *t, size_t live); /* the index was just swept */
int64_t timers_next(const struct timers *t);

/* ---- index.c ---- */
enum { IX_HANDED = 'A', IX_SKIPPED = 'S' };
struct ient {
	struct hnode h;
	struct ident id;
	uint32_t gen; /* last full walk that saw it */
	char kind;    /* IX_HANDED or IX_SKIPPED */
};
struct index {
	int dirfd; /* state/ */
	int fd;    /* <key>.index, O_APPEND */
	char name[160], tmpname[176];
	bool existed; /* the file was there at start: not the first scan */
	struct hmap map;
	size_t live, records; /* entries in memory; lines in the file */
	long long handed;     /* files handed off since the index began */
	struct strbuf out;    /* lines to append at the next flush */
	char **slot_rel;      /* device slots: the folder (relative) each was found at */
	size_t nslots;
	struct ient *free;    /* recycled entries (h.next links) */
	struct ient **blocks; /* entries are allocated 256 at a time */
	size_t nblocks;
	char boot[40];           /* the boot id of the host that last wrote the index */
	uint32_t gen;            /* the current full walk's generation (tree.c bumps it) */
	struct index_sync *sync; /* the fdatasync thread (index.c) */
};
int index_open(struct index *ix, int statefd, const char *key);
void index_close(struct index *ix);
struct ient *index_get(struct index *ix, uint16_t slot, uint64_t ino);
/* Record an identity (replacing the entry of its slot+inode); the line is
 * queued for index_flush(). IX_HANDED adds one to the handed-off count. */
void index_put(struct index *ix, const struct ident *id, char kind, uint32_t gen);
void index_forget(struct index *ix, const struct ident *id);
/* Append the queued lines; a thread makes them durable. 0 or -1 (logged). */
int index_flush(struct index *ix);
/* Drop entries no walk has seen since generation keep. Returns how many. */
size_t index_sweep(struct index *ix, uint32_t keep);
/* Rewrite the file from memory: temp, fsync, rename, fsync folder. */
int index_compact(struct index *ix);
bool index_wants_compaction(const struct index *ix);
/* The slot of the file system first found at folder rel (queues a line). */
uint16_t index_slot(struct index *ix, const char *rel);
/* Record this host's boot id; true when the index was last written before
 * a reboot (items not yet on disk then may be lost). */
bool index_boot(struct index *ix, const char *boot_id);

/* ---- tally.c ---- */
struct tally {
	int dirfd, fd;
	char name[160];
	ino_t ino;
	off_t off;
	struct strbuf part; /* an unfinished last line */
	const struct template *tpl;
	struct hmap live;   /* ids with steps still to report */
	struct u64set done; /* ids fully reported */
	struct u64set want; /* ids a watchdog job waits for (wdjob.c) */
	struct tdone {      /* ... accounted for: their rows, for wdjob.c */
		uint64_t h;
		struct rowcount rc;
	} * q;
	size_t nq, capq;
	long long ok, failed;
	bool changed;
};
/* tally_init, then (wdjob_load says which ids it wants) tally_open reads the log */
void tally_init(struct tally *t, int statefd, const char *key, const struct template *tpl);
int tally_open(struct tally *t);
uint64_t tally_hash(const char *id);
bool tally_finished(const struct tally *t, uint64_t h); /* accounted for */
void tally_want(struct tally *t, uint64_t h);           /* queue its row when it is */
void tally_close(struct tally *t);
void tally_refresh(struct tally *t);                     /* read what stages appended */
bool tally_known(const struct tally *t, const char *id); /* any result line for it */
/* Steps a file with this extension goes through (bit per step index, the
 * first 64 steps), as the stages decide it. */
uint64_t tally_expected(const struct template *tpl, const char *ext);

/* ---- refuse.c ---- */
struct refusals {
	struct hmap seen; /* path hash -> when it was last reported */
	int64_t window;   /* start of the current minute (0: none) */
	int lines;        /* lines written in it */
	long long more;   /* objects not reported in it (over the rate) */
	bool debug;       /* debug lines (names skipped), else info (refusals) */
};
struct refuse {
	struct refusals refused; /* objects never taken (info) */
	struct refusals skipped; /* temporary and unselected names (debug) */
};

/* ---- tree.c ---- */
struct pend;
struct dnode {
	struct hnode by_wd, by_name;
	struct dnode *parent, *child, *next, *prev;
	char *rel;        /* "" for the watch folder, else "/a/b" */
	const char *name; /* last component, inside rel */
	int wd;           /* inotify watch, -1: scanned instead */
	bool netfs;       /* on a network file system or mode "poll": never watched */
	bool enospc;      /* not watched because of inotify's limits */
	bool dead;        /* being removed */
	dev_t dev;
	ino_t ino; /* of the folder, for loops (0: not walked yet) */
	uint16_t slot;
	uint32_t seen;     /* walk stamp */
	struct pend *pend; /* pending files in this folder (pending.c's list) */
};

enum walk_kind {
	WALK_FULL,    /* start, overflow: the whole tree, every unknown file */
	WALK_ARRIVAL, /* a folder created or moved in */
	WALK_POLL,    /* folders that are scanned instead of watched */
};

struct candidate {
	struct dnode *dir;
	char *name;
	struct stat st;
};

struct tree {
	int rootfd; /* the watch folder, -1 while it is missing */
	int ifd;    /* -1: no inotify instance (the limit) */
	struct dnode *root;
	struct hmap by_wd, by_name;
	size_t ndirs, nwatched;
	uint32_t stamp;  /* bumped per walk */
	int walk_errors; /* folders a walk could not read */
	bool rebooted;   /* the first full walk re-drives lost items */
	char **outputs;  /* output folders inside the tree (not watched) */
	size_t noutputs;
	long max_watches;       /* TMC_WATCH_MAX_WATCHES (tests): pretend limit */
	size_t nenospc;         /* folders not watched because of inotify's limits */
	int limit_err;          /* ENOSPC (watches) or EMFILE (instances): the last hit */
	size_t enospc_logged;   /* ... of which were reported */
	struct candidate *cand; /* files a walk found, dispatched after it */
	size_t ncand, capcand;
	int64_t newest_ctime[64]; /* per slot, over the last full walk */
};

/* ---- pending.c ---- */
enum pend_state { P_WRITING, P_QUIET, P_POLL };
struct pend {
	struct hnode h;
	struct dnode *dir;
	struct pend *dnext, *dprev; /* the folder's list */
	char *name;
	enum pend_state state;
	struct ident id; /* last stat (or none: id.size -1) */
	int64_t due;     /* heap key; 0: not in the heap */
	size_t hpos;
	uint32_t stamp; /* P_POLL: the walk that saw this identity first */
	uint32_t seen;  /* P_POLL: the last walk that saw the file */
};
struct pending {
	struct hmap map;    /* (folder, name) -> entry */
	struct pend **heap; /* entries waiting for a deadline */
	size_t nheap, capheap;
};

/* ---- batch.c ---- */
struct ready { /* no folder pointer: a folder may go before the flush */
	char *rel;
	struct ident id;
	bool redrive; /* in the index already: its item was lost (a reboot) */
};
/* What flushes did since the last batch_flush returned. */
struct flushed {
	size_t files;     /* files handed off or recorded */
	int64_t retry_ms; /* > 0: some could not be handed off, walk again then */
};
struct batch {
	struct ready *v;
	size_t n, cap;
	struct flushed done; /* flushes of a full batch in the middle of a turn */
};

/* ---- wdjob.c ---- */
#define WD_SEQ_MAX 24 /* "wd" + 12 + 3 digits, and room */
struct wdjob;
struct wdjobs {
	int procfd, donefd, errfd;
	int fd; /* state/<key>.wdjobs, O_APPEND */
	char name[ITEM_ID_MAX + 16];
	struct wdjob **v; /* unfinished jobs, oldest first */
	size_t n;
	struct wdjob *open; /* taking files (NULL: none) */
	struct hmap files;  /* their files, by id hash */
	struct strbuf out;  /* journal lines to append */
	bool journal_used;  /* lines were appended since it was emptied */
	int64_t window_ms;  /* min_sec */
	int64_t retry_ms;   /* writing failed: again then (0: no) */
};

/* ---- the context, composed in main.c ---- */
struct wctx {
	/* set up by main.c, read by every part */
	struct conf conf;
	const struct watch *w;
	const struct site *site;
	const struct template *tpl;
	char key[ITEM_ID_MAX];
	char *root_abs; /* site root + watch dir */
	struct spool sp;
	int statefd, lockfd, sigfd;
	bool stop, trace, debug;
	int quiet_ms, poll_ms;

	struct tree tree;     /* tree.c */
	struct pending pend;  /* pending.c */
	struct batch batch;   /* batch.c */
	struct emitter em;    /* publish.c (spool's emitter) */
	struct timers tm;     /* timers.c */
	struct refuse refuse; /* refuse.c */
	struct index ix;      /* index.c */
	struct tally tally;   /* tally.c */
	struct wdjobs wd;     /* wdjob.c */

	/* main.c: the stat file and reading results */
	int64_t tally_due, stat_due, stat_next;
	char processed_who[ITEM_ID_MAX + 8]; /* run/processed/watch-<key> */
	long long processed_basis;           /* files accounted for when the daemon started */
	long long stat_written[6];
};

/* tree.c */
void tree_init(struct wctx *c); /* the inotify instance; exits when unusable */
void tree_exclude(struct wctx *c, const char *rel, const char *why); /* never watched */
int tree_root_open(struct wctx *c); /* 0 watching, -1 folder missing (retried) */
void tree_root_lost(struct wctx *c);
void tree_walk(struct wctx *c, struct dnode *start, enum walk_kind kind);
void tree_poll(struct wctx *c); /* walk every folder that is not watched */
struct dnode *tree_child(struct wctx *c, struct dnode *parent, const char *name);
struct dnode *tree_child_add(struct wctx *c, struct dnode *parent, const char *name);
void tree_remove(struct wctx *c, struct dnode *n, bool rm_watch);
struct dnode *tree_by_wd(struct wctx *c, int wd);
bool tree_is_output(const struct wctx *c, const char *rel);
void tree_free(struct wctx *c);
size_t tree_unwatched(const struct wctx *c); /* folders scanned instead of watched */

/* refuse.c */
/* Not a regular file (mode's type): never taken; one info line per path an hour. */
void refuse_type(struct wctx *c, const struct dnode *dir, const char *name, mode_t mode);
void refuse_loop(struct wctx *c, const struct dnode *d, const struct dnode *ancestor);
/* true when the name does not concern the watch (rules_wanted), with a
 * debug line saying why (a temporary name, not selected). */
bool refuse_unwanted(struct wctx *c, const struct dnode *dir, const char *name);
void refuse_flush(struct refusals *r);      /* the "... and K more" line, if any */
int64_t refuse_due(const struct refuse *r); /* when a summary is due (0: none) */
void refuse_tick(struct refuse *r, int64_t now);
void refuse_free(struct refuse *r);

/* events.c */
void events_read(struct wctx *c);

/* pending.c */
struct pend *pend_find(struct wctx *c, struct dnode *dir, const char *name);
void pend_drop(struct wctx *c, struct pend *p);
void pend_drop_dir(struct wctx *c, struct dnode *dir);
/* An event: a write is going on / the writer closed / attributes changed. */
void pend_writing(struct wctx *c, struct dnode *dir, const char *name);
void pend_closed(struct wctx *c, struct dnode *dir, const char *name, int wait_ms);
void pend_attrib(struct wctx *c, struct dnode *dir, const char *name);
/* A walk found an unknown file: watched folder -> settle; scanned folder ->
 * ready when the next scan sees the same identity. */
void pend_found(struct wctx *c, struct dnode *dir, const char *name, const struct stat *st,
		bool after_overflow);
void pend_poll_sweep(struct wctx *c, struct dnode *dir); /* after a poll walk of dir */
int64_t pend_next_due(const struct pending *p);
void pend_expire(struct wctx *c, int64_t now);
void pend_free_all(struct pending *p);
size_t pend_count(const struct pending *p);

/* batch.c */
/* The file is complete: hand it off unless the index already has it. */
void batch_ready(struct wctx *c, struct dnode *dir, const char *name, const struct stat *st);
/* After a reboot: a file the index has as handed off whose item is in no
 * first stage and has no result line is handed off again. */
void batch_recheck(struct wctx *c, struct dnode *dir, const char *name, const struct ident *id);
/* Publish the batch, make it durable, then record it in the index. What
 * could not be handed off (full spool) is not recorded: the result asks for
 * a rescan, which finds it again. Includes flushes since the last call. */
struct flushed batch_flush(struct wctx *c);
bool batch_full(const struct batch *b);
void batch_free(struct batch *b);

/* publish.c */
/* Is an item of this id in new/ or cur/ of a first stage? */
bool publish_present(struct wctx *c, const char *id);
/* 1 published, 0 handed off before (present or reported), 2 refused
 * (record as skipped), -1 failed or changed (a rescan finds it again). */
int publish_one(struct wctx *c, const struct ready *r, const char *id, bool present);

/* wdjob.c */
int wdjob_load(struct wctx *c); /* after tally_init, before tally_open */
bool wdjob_has(struct wctx *c, const char *id);
/* A file being handed off joins the open job (one opens if none is): 1; 0
 * when it is in a job already or finished; -1 when no job could be opened
 * (no seq claimed in proc/: a fault; hand nothing off, rescan). */
int wdjob_add(struct wctx *c, const char *id, const char *rel, int64_t now);
void wdjob_drop(struct wctx *c, const char *id); /* it was not handed off after all */
int wdjob_sync(struct wctx *c);                  /* the journal lines, durably */
void wdjob_handed(struct wctx *c);               /* a hand-off is over (min_sec 0) */
/* Rows in, windows closed, .stat current, finished jobs written. */
void wdjob_tick(struct wctx *c, int64_t now);
int64_t wdjob_due(const struct wdjobs *wd); /* next wake (0: none) */
void wdjob_free(struct wdjobs *wd);

#endif
