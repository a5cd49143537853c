/*
 * wdjob.c - the files this watch hands off, as TMC's watchdog jobs
 * (doc/TMC.md, Watchdog: jobs), so that readers of done/ and the REST API
 * see them as they saw TMC's.
 *
 * Grouping, as TMC's windows: a job opens when a file is handed off and no
 * job of this watch is open; it takes every file handed off during the
 * next min_sec seconds (CLOCK_MONOTONIC, never file times; min_sec 0: the
 * files of that one hand-off), then closes to new files. Once every file of
 * it is accounted for (tally.c gives its TMC row), it is finished:
 *   done/wd<seq>.file    its files in hand-off order, "/rel\n" each
 *   done/wd<seq>.result  one row per file, in the order they finished
 *   done/wd<seq>         the job TMC's watchdog generated, written last
 * each temp + fsync + rename. proc/wd<seq>.stat, TMC's
 * "total\tdispatched\tfinished" (every file is dispatched when it joins),
 * is kept current while it runs and stays, as every job's .stat stays.
 * Nothing else is ever in proc/ or req/ for it, so tmc-jobs never adopts it.
 *
 * Seq: "wd" + yymmddHHMMSS (local time) + 3 digits counting up within the
 * second (TMC: rand(1,100)), skipping seqs done/ or err/ has; it is claimed
 * by creating proc/wd<seq>.stat with O_EXCL, so two watches (two
 * processes) never take the same one, and a tmc-jobs seq (15 digits) never
 * looks like it.
 *
 * Crash: state/<key>.wdjobs is the journal, one line per event, made
 * durable (fdatasync) before what it records can happen:
 *   O <seq>              a job opened
 *   F <seq> <id> <rel>   a file joined it (before the file is published)
 *   X <seq> <id>         it did not after all (refused, changed, spool full)
 *   D <seq>              the job's done/ files are written
 * At start the journal is read before the result log (tally_want): a job
 * without D is closed to new files (a dead process's window is over), and
 * its files' rows come back from the log, in the same order, so it finishes
 * once with one row per file; a kill between its done/ files and D writes
 * the same bytes again. A file handed off again after a crash (its index
 * record was lost) is in a job already, or accounted for, and joins none.
 * The journal is rewritten with the unfinished jobs only at start and
 * emptied whenever no job is left.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "json.h"
#include "watch.h"

#define WD_SUFFIX ".wdjobs"
#define WD_RETRY_MS 1000 /* a job whose files could not be written: again */

struct wdfile {
	struct hnode h;
	struct wdjob *job;
	char *id, *rel;
	bool done, dropped;
};

struct wdjob {
	char seq[WD_SEQ_MAX];
	int64_t close_ms; /* open to new files until then (0: closed) */
	struct wdfile **f;
	size_t n, cap, live, ndone;
	struct strbuf rows; /* in the order files finished */
	bool dirty;         /* .stat to write */
};

static bool
at_exists(int dirfd, const char *name)
{
	struct stat st;

	return fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0;
}

static struct wdjob *
job_by_seq(struct wdjobs *wd, const char *seq)
{
	for (size_t i = 0; i < wd->n; i++)
		if (strcmp(wd->v[i]->seq, seq) == 0)
			return wd->v[i];
	return NULL;
}

static struct wdfile *
file_by_hash(struct wdjobs *wd, uint64_t h)
{
	struct hnode *n = hmap_first(&wd->files, h);

	return n ? container_of(n, struct wdfile, h) : NULL;
}

static struct wdjob *
job_new(struct wdjobs *wd, const char *seq)
{
	struct wdjob *j = xcalloc(1, sizeof(*j));

	snprintf(j->seq, sizeof(j->seq), "%s", seq);
	j->dirty = true;
	wd->v = xreallocarray(wd->v, wd->n + 1, sizeof(*wd->v));
	wd->v[wd->n++] = j;
	return j;
}

static void
job_file_add(struct wdjobs *wd, struct wdjob *j, const char *id, const char *rel)
{
	struct wdfile *f = xcalloc(1, sizeof(*f));

	f->job = j;
	f->id = xstrdup(id);
	f->rel = xstrdup(rel);
	hmap_add(&wd->files, &f->h, tally_hash(id));
	if (j->n == j->cap) {
		j->cap = j->cap ? j->cap * 2 : 16;
		j->f = xreallocarray(j->f, j->cap, sizeof(*j->f));
	}
	j->f[j->n++] = f;
	j->live++;
	j->dirty = true;
}

static void
file_drop(struct wdjobs *wd, struct wdfile *f)
{
	if (f->dropped)
		return;
	f->dropped = true;
	f->job->live--;
	if (f->done)
		f->job->ndone--;
	f->job->dirty = true;
	hmap_del(&wd->files, &f->h);
}

static void
job_free(struct wdjobs *wd, struct wdjob *j)
{
	for (size_t i = 0; i < j->n; i++) {
		if (!j->f[i]->dropped)
			hmap_del(&wd->files, &j->f[i]->h);
		free(j->f[i]->id);
		free(j->f[i]->rel);
		free(j->f[i]);
	}
	free(j->f);
	sb_free(&j->rows);
	free(j);
}

/* ---- the journal ---- */

/* Append what is queued and make it durable: 0, or -1 (logged; the
 * journal cut back to its old end, so that no half line remains to run into
 * the next one and what was queued is not in it). */
int
wdjob_sync(struct wctx *c)
{
	struct wdjobs *wd = &c->wd;
	struct stat st = {0};
	int r = 0;

	if (wd->out.len == 0)
		return 0;
	if (wd->fd >= 0 && fstat(wd->fd, &st) < 0)
		log_warn("%s/state/%s", c->sp.path, wd->name);
	if (wd->fd < 0 || st.st_ino == 0 || write_all(wd->fd, wd->out.buf, wd->out.len) < 0 ||
	    fdatasync(wd->fd) < 0) {
		int err = errno;

		log_warn("%s/state/%s", c->sp.path, wd->name);
		if (errno_is_machine_fault(err))
			fault_note_errno(err, "the watchdog job journal");
		if (st.st_ino && ftruncate(wd->fd, st.st_size) < 0)
			log_warn("%s/state/%s: cut back", c->sp.path, wd->name);
		if (wd->open) /* its "O" line may be what was cut: files join a new one */
			wd->open->close_ms = 0, wd->open = NULL;
		r = -1;
	}
	sb_reset(&wd->out);
	wd->journal_used = true;
	return r;
}

static void
journal_line(struct wdjobs *wd, char *line)
{
	char *seq = line + 2, *id, *rel;
	struct wdjob *j;
	struct wdfile *f;

	if (strlen(line) < 3 || line[1] != ' ')
		return;
	if ((id = strchr(seq, ' ')) != NULL)
		*id++ = '\0';
	j = job_by_seq(wd, seq);
	if (line[0] == 'O' && j == NULL && strlen(seq) < WD_SEQ_MAX)
		job_new(wd, seq);
	else if (line[0] == 'D' && j != NULL) {
		for (size_t i = 0; i < wd->n; i++)
			if (wd->v[i] == j)
				wd->v[i] = wd->v[--wd->n];
		job_free(wd, j);
	} else if (line[0] == 'F' && j && id && (rel = strchr(id, ' ')) != NULL) {
		*rel++ = '\0';
		if (file_by_hash(wd, tally_hash(id)) == NULL)
			job_file_add(wd, j, id, rel);
	} else if (line[0] == 'X' && j && id && (f = file_by_hash(wd, tally_hash(id))) != NULL)
		file_drop(wd, f);
}

static int
seq_cmp(const void *a, const void *b)
{
	return strcmp((*(struct wdjob *const *)a)->seq, (*(struct wdjob *const *)b)->seq);
}

/* The unfinished jobs, as lines: the journal rewritten at start. */
static void
journal_compact_text(struct wdjobs *wd, struct strbuf *sb)
{
	for (size_t i = 0; i < wd->n; i++) {
		struct wdjob *j = wd->v[i];

		sb_printf(sb, "O %s\n", j->seq);
		for (size_t k = 0; k < j->n; k++)
			if (!j->f[k]->dropped)
				sb_printf(sb, "F %s %s %s\n", j->seq, j->f[k]->id, j->f[k]->rel);
	}
}

/* Read state/<key>.wdjobs, keep the unfinished jobs (closed to new files)
 * and rewrite it with them only. Before tally_open: their files' rows are
 * what the log gives. */
int
wdjob_load(struct wctx *c)
{
	struct wdjobs *wd = &c->wd;
	struct strbuf keep = {0};
	char *text, *p, *nl;
	size_t len = 0;

	wd->fd = -1;
	wd->window_ms = (int64_t)c->w->min_sec * 1000;
	snprintf(wd->name, sizeof(wd->name), "%s%s", c->key, WD_SUFFIX);
	wd->procfd = openat(c->sp.fd, "proc", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	wd->donefd = openat(c->sp.fd, "done", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	wd->errfd = openat(c->sp.fd, "err", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (wd->procfd < 0 || wd->donefd < 0 || wd->errfd < 0) {
		log_warn("%s: proc/, done/, err/", c->sp.path);
		return -1;
	}
	text = file_read_at(c->statefd, wd->name, (size_t)1 << 30, &len);
	for (p = text; p && (nl = strchr(p, '\n')) != NULL; p = nl + 1) {
		*nl = '\0';
		journal_line(wd, p); /* a partial last line (a power cut) is left out */
	}
	free(text);
	if (wd->n)
		qsort(wd->v, wd->n, sizeof(*wd->v), seq_cmp);
	for (size_t i = 0; i < wd->n; i++) {
		log_info(
			"watchdog job %s: open at the last stop, closed now; finished when its %zu "
			"files are",
			wd->v[i]->seq, wd->v[i]->live);
		for (size_t k = 0; k < wd->v[i]->n; k++)
			tally_want(&c->tally, tally_hash(wd->v[i]->f[k]->id));
	}
	journal_compact_text(wd, &keep);
	if (file_publish_at(c->statefd, wd->name, keep.buf ? keep.buf : "", keep.len, true) < 0)
		log_warn("%s/state/%s", c->sp.path, wd->name);
	sb_free(&keep);
	wd->fd = openat(c->statefd, wd->name,
			O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (wd->fd < 0)
		log_warn("%s/state/%s", c->sp.path, wd->name);
	return wd->fd < 0 ? -1 : 0;
}

/* ---- seqs ---- */

static int
stat_write(struct wctx *c, struct wdjob *j)
{
	char name[WD_SEQ_MAX + 8], buf[96];
	int n = snprintf(buf, sizeof(buf), "%zu\t%zu\t%zu", j->live, j->live, j->ndone);

	job_file(name, sizeof(name), j->seq, JF_STAT);
	if (file_publish_at(c->wd.procfd, name, buf, (size_t)n, false) < 0) {
		log_warn("%s/proc/%s", c->sp.path, name);
		return -1;
	}
	j->dirty = false;
	return 0;
}

/* A fresh seq, claimed with O_EXCL on proc/wd<seq>.stat: 0, or -1. */
static int
seq_claim(struct wctx *c, char *seq, size_t len)
{
	static char last[16];
	static int next;
	char stamp[16], name[WD_SEQ_MAX + 8];
	time_t now = time(NULL);
	int fd;

	/* dated as every other seq: in seq_timezone, else local time */
	seq_stamp(stamp, sizeof(stamp), now, c->conf.seq_timezone);
	if (strcmp(stamp, last) != 0) {
		memcpy(last, stamp, sizeof(stamp));
		next = 0;
	}
	for (; next < 1000; next++) {
		snprintf(seq, len, "wd%s%03d", stamp, next);
		job_file(name, sizeof(name), seq, JF_STAT);
		if (at_exists(c->wd.donefd, seq) || at_exists(c->wd.errfd, seq) ||
		    job_by_seq(&c->wd, seq))
			continue;
		fd = openat(c->wd.procfd, name,
			    O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644);
		if (fd >= 0) {
			close(fd);
			next++;
			return 0;
		}
		if (errno != EEXIST) {
			log_warn("%s/proc/%s", c->sp.path, name);
			return -1;
		}
	}
	log_warnx("every watchdog seq of this second is taken");
	return -1;
}

/* ---- files joining and leaving ---- */

bool
wdjob_has(struct wctx *c, const char *id)
{
	return file_by_hash(&c->wd, tally_hash(id)) != NULL;
}

/* A file is being handed off: it joins the open job (one opens). Queued
 * for wdjob_sync, which the caller runs before publishing. True when it
 * joined now (not in a job already). */
int
wdjob_add(struct wctx *c, const char *id, const char *rel, int64_t now)
{
	struct wdjobs *wd = &c->wd;
	uint64_t h = tally_hash(id);
	char seq[WD_SEQ_MAX];

	if (file_by_hash(wd, h) != NULL || tally_finished(&c->tally, h))
		return 0;
	if (wd->open && now >= wd->open->close_ms && wd->window_ms > 0)
		wd->open->close_ms = 0, wd->open = NULL;
	if (wd->open == NULL) {
		if (seq_claim(c, seq, sizeof(seq)) < 0)
			return -1;
		wd->open = job_new(wd, seq);
		wd->open->close_ms = now + wd->window_ms;
		sb_printf(&wd->out, "O %s\n", seq);
		log_info("watchdog job %s opened", seq);
	}
	job_file_add(wd, wd->open, id, rel);
	tally_want(&c->tally, h);
	sb_printf(&wd->out, "F %s %s %s\n", wd->open->seq, id, rel);
	return 1;
}

/* A file that was not handed off after all (refused, changed, spool full). */
void
wdjob_drop(struct wctx *c, const char *id)
{
	struct wdfile *f = file_by_hash(&c->wd, tally_hash(id));

	if (f == NULL || f->done)
		return;
	sb_printf(&c->wd.out, "X %s %s\n", f->job->seq, id);
	file_drop(&c->wd, f);
}

/* The hand-off is over: with min_sec 0 the job took its files. */
void
wdjob_handed(struct wctx *c)
{
	if (c->wd.open && c->wd.window_ms == 0)
		c->wd.open->close_ms = 0, c->wd.open = NULL;
}

/* ---- finishing ---- */

static void
json_strings(struct strbuf *sb, char **v, size_t n)
{
	sb_addc(sb, '[');
	for (size_t i = 0; i < n; i++) {
		if (i)
			sb_addc(sb, ',');
		json_quote(sb, v[i], true);
	}
	sb_addc(sb, ']');
}

/* The job TMC's watchdog generated (doc/TMC.md, Watchdog: jobs): its
 * sprintf with its spaces, its key order and optional parts, the strings
 * it printed raw quoted (valid JSON where TMC's broke on a quote) and the
 * parts it json_encode'd escaped as PHP does. */
static void
job_json(struct wctx *c, struct strbuf *sb)
{
	const struct watch *w = c->w;

	sb_adds(sb, "{\"hires\":{\"site\":");
	json_quote(sb, w->site, false);
	sb_adds(sb, ",\"path_head\":");
	json_quote(sb, w->dir, false);
	sb_adds(sb, ",\"path_tail\":\"\",\"include\":");
	json_strings(sb, w->include, w->ninclude);
	sb_adds(sb, " ,");
	if (w->nrename) {
		sb_adds(sb, "\"rename\":{");
		for (size_t i = 0; i < w->nrename; i++) {
			if (i)
				sb_addc(sb, ',');
			json_quote(sb, w->rename[i].from, true);
			sb_addc(sb, ':');
			json_quote(sb, w->rename[i].to, true);
		}
		sb_adds(sb, "} ,");
	}
	if (w->nexclude) {
		sb_adds(sb, "\"exclude\":");
		json_strings(sb, w->exclude, w->nexclude);
		sb_adds(sb, " ,");
	}
	if (w->capture != 0)
		sb_printf(sb, "\"capture\":%d ,", (int)w->capture);
	if (w->overwrite >= 0)
		sb_printf(sb, "\"overwrite\":%s,", w->overwrite ? "true" : "false");
	sb_adds(sb, "\"filelist\":true},\"template\":");
	json_quote(sb, w->template, false);
	sb_addc(sb, '}');
}

static int
done_write(struct wctx *c, const char *seq, enum job_file kind, const struct strbuf *sb)
{
	char name[WD_SEQ_MAX + 16];

	job_file(name, sizeof(name), seq, kind);
	if (file_publish_at(c->wd.donefd, name, sb->buf ? sb->buf : "", sb->len, true) == 0)
		return 0;
	log_warn("%s/done/%s", c->sp.path, name);
	if (errno_is_machine_fault(errno))
		fault_note_errno(errno, "a watchdog job's files");
	return -1;
}

/* done/ files, the last .stat, then D: 0, or -1 (tried again later). */
static int
job_finish(struct wctx *c, struct wdjob *j)
{
	struct strbuf list = {0}, json = {0};
	char name[WD_SEQ_MAX + 8];
	int r = 0;

	if (j->live == 0) { /* every file was refused: no job, as TMC wrote none */
		job_file(name, sizeof(name), j->seq, JF_STAT);
		unlinkat(c->wd.procfd, name, 0);
	} else {
		for (size_t i = 0; i < j->n; i++)
			if (!j->f[i]->dropped)
				sb_printf(&list, "%s\n", j->f[i]->rel);
		job_json(c, &json);
		r = done_write(c, j->seq, JF_FILE, &list) < 0 ||
				    done_write(c, j->seq, JF_RESULT, &j->rows) < 0 ||
				    done_write(c, j->seq, JF_JOB, &json) < 0 || stat_write(c, j) < 0
			    ? -1
			    : 0;
	}
	sb_free(&list);
	sb_free(&json);
	if (r < 0)
		return -1;
	sb_printf(&c->wd.out, "D %s\n", j->seq);
	if (wdjob_sync(c) < 0)
		return -1;
	log_info("watchdog job %s finished: %zu files, done/%s", j->seq, j->live, j->seq);
	return 0;
}

/* Rows tally.c queued: each to its file's job, once. */
static void
take_rows(struct wctx *c)
{
	struct tally *t = &c->tally;

	for (size_t i = 0; i < t->nq; i++) {
		struct wdfile *f = file_by_hash(&c->wd, t->q[i].h);
		const struct rowcount *rc = &t->q[i].rc;

		if (f == NULL || f->done)
			continue;
		f->done = true;
		f->job->ndone++;
		f->job->dirty = true;
		sb_printf(&f->job->rows, "%s\t%d\t%d\t%d\n", f->rel, rc->requested, rc->created,
			  rc->warnings);
	}
	t->nq = 0;
}

/* After the results were read: rows to their jobs, the window closed when
 * due, .stat files current, finished jobs written. */
void
wdjob_tick(struct wctx *c, int64_t now)
{
	struct wdjobs *wd = &c->wd;

	take_rows(c);
	if (wd->open && now >= wd->open->close_ms)
		wd->open->close_ms = 0, wd->open = NULL;
	if (wd->retry_ms && now < wd->retry_ms)
		return;
	wd->retry_ms = 0;
	for (size_t i = 0; i < wd->n;) {
		struct wdjob *j = wd->v[i];

		if (j != wd->open && j->ndone == j->live) {
			if (job_finish(c, j) < 0) {
				wd->retry_ms = now + WD_RETRY_MS;
				return;
			}
			memmove(&wd->v[i], &wd->v[i + 1], (wd->n - i - 1) * sizeof(*wd->v));
			wd->n--;
			job_free(wd, j);
			continue;
		}
		if (j->dirty && stat_write(c, j) < 0)
			wd->retry_ms = now + WD_RETRY_MS;
		i++;
	}
	if (wd->n == 0 && wd->journal_used && wd->fd >= 0) {
		if (ftruncate(wd->fd, 0) < 0)
			log_warn("%s/state/%s", c->sp.path, wd->name);
		wd->journal_used = false;
	}
}

/* When the loop must wake: the open window's end, a retry (0: none). */
int64_t
wdjob_due(const struct wdjobs *wd)
{
	int64_t due = wd->open ? wd->open->close_ms : 0;

	if (wd->retry_ms && (due == 0 || wd->retry_ms < due))
		due = wd->retry_ms;
	return due;
}

void
wdjob_free(struct wdjobs *wd)
{
	int fds[] = {wd->procfd, wd->donefd, wd->errfd, wd->fd};

	for (size_t i = 0; i < wd->n; i++)
		job_free(wd, wd->v[i]);
	free(wd->v);
	hmap_free(&wd->files);
	sb_free(&wd->out);
	for (size_t i = 0; i < sizeof(fds) / sizeof(fds[0]); i++)
		if (fds[i] >= 0)
			close(fds[i]);
}
