/*
 * results.c - what the stages report in, and what the job reports out.
 *
 * In: proc/<seq>.log, appended by the stages (spool/result.c), read from an
 * offset kept per job, complete lines only; a line repeated after a crash
 * replaces the earlier one of the same (item, step) until the file's row
 * is written; after that it is late and ignored.
 *
 * Out: one row per file in done/<seq>.result, in the order files finish
 * (TMC's order), each row first appended to the journal proc/<seq>.rows as
 * "<file index>\t<row>". The journal is the record of finished files (TMC
 * had none: a restart began at line 0, doc/TMC.md, Fixes: adoption): at adoption done/<seq>.result
 * is rewritten from it if the two differ (a crash between the two writes),
 * and rows are never written twice. proc/<seq>.stat is TMC's
 * "total\tdispatched\tfinished" (finished = files with a real row; cancel
 * rows do not count), rewritten by rename at most every 100 ms.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "jobs.h"

#define STAT_EVERY_MS 100

static int
open_at(struct jobsd *d, int dirfd, const char *dir, const char *name, int flags)
{
	int fd = openat(dirfd, name, flags | O_CLOEXEC | O_NOFOLLOW, 0644);

	if (fd < 0)
		log_warn("%s/%s/%s", d->sp.path, dir, name);
	return fd;
}

/* Counts of a row "<src>\t<requested>\t<created>\t<warnings>". */
static int
row_counts(const char *row, struct rowcount *rc)
{
	const char *t = row + strlen(row);

	for (int k = 0; k < 3; k++)
		if ((t = memrchr(row, '\t', (size_t)(t - row))) == NULL)
			return -1;
	return sscanf(t + 1, "%d\t%d\t%d", &rc->requested, &rc->created, &rc->warnings) == 3 ? 0
											     : -1;
}

static void
count_row(struct job *j, size_t i, const struct rowcount *rc, bool cancel)
{
	j->files[i].done = cancel ? 2 : 1;
	j->ndone++;
	if (i < j->dispatched)
		j->ndone_disp++;
	if (!cancel)
		j->nprocessed++;
	if (rc->warnings == 0 || rc->requested == rc->created)
		j->nsuccess++; /* doc/TMC.md, REST API: seqdetail */
	j->created += rc->created;
	j->warn += rc->warnings;
	xfree(&j->files[i].res);
	j->stat_dirty = true;
}

/* A journal row: mark the file, add its row to the projection. */
static void
journal_row(struct job *j, char *line, struct strbuf *proj)
{
	struct rowcount rc;
	char *tab = strchr(line, '\t'), *e;
	size_t i = (size_t)strtoull(line, &e, 10);

	if (tab == NULL || e != tab || i >= j->total || row_counts(tab + 1, &rc) < 0) {
		log_warnx("job %s: proc/%s.rows: bad line \"%.80s\" ignored", j->seq, j->seq, line);
		return;
	}
	if (j->files[i].done)
		return;
	count_row(j, i, &rc, rc.requested == 0);
	if (i + 1 > j->hi)
		j->hi = i + 1;
	sb_adds(proj, tab + 1);
	sb_addc(proj, '\n');
}

/* Rows of the journal (markers were read at adoption). */
static void
journal_apply(struct job *j, struct strbuf *proj)
{
	char *p = j->journal.buf, *nl;

	for (; p && (nl = strchr(p, '\n')) != NULL; p = nl + 1) {
		*nl = '\0';
		if (*p != '#' && *p) {
			journal_row(j, p, proj);
			j->journal_rows = true;
		}
		*nl = '\n';
	}
}

static const struct job *sort_job;

static int
by_rel(const void *a, const void *b)
{
	size_t x = *(const size_t *)a, y = *(const size_t *)b;
	int c = strcmp(sort_job->rel[x], sort_job->rel[y]);

	return c ? c : (x > y) - (x < y);
}

/* The first file of the list named src without a row, or -1. */
static ssize_t
file_named(const struct job *j, const size_t *order, const char *src)
{
	size_t lo = 0, hi = j->total;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (strcmp(j->rel[order[mid]], src) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (; lo < j->total && strcmp(j->rel[order[lo]], src) == 0; lo++)
		if (!j->files[order[lo]].done)
			return (ssize_t)order[lo];
	return -1;
}

/* Rows but no journal: a job that TMC began (stopped or paused, then moved
 * over). Each row marks the first file of its name without one (doc/TMC.md,
 * Fixes: adoption: the rows are the record of completed files); the journal gets them. */
static void
result_import(struct job *j, char *cur, struct strbuf *proj)
{
	size_t *order = xcalloc(j->total + 1, sizeof(*order));
	char *p = cur, *nl, *tab;
	struct rowcount rc;
	ssize_t i;

	for (size_t k = 0; k < j->total; k++)
		order[k] = k;
	sort_job = j;
	qsort(order, j->total, sizeof(*order), by_rel);
	for (; (nl = strchr(p, '\n')) != NULL; p = nl + 1) {
		*nl = '\0';
		if ((tab = strchr(p, '\t')) != NULL && row_counts(p, &rc) == 0) {
			*tab = '\0';
			i = file_named(j, order, p);
			*tab = '\t';
			if (i >= 0) {
				count_row(j, (size_t)i, &rc, rc.requested == 0);
				j->hi = (size_t)i + 1 > j->hi ? (size_t)i + 1 : j->hi;
				sb_printf(&j->jbuf, "%zd\t%s\n", i, p);
				sb_printf(proj, "%s\n", p);
			}
		}
		*nl = '\n';
	}
	free(order);
	log_info("job %s: %zu rows of done/%s.result taken over", j->seq, j->ndone, j->seq);
}

/* done/<seq>.result must be the journal's rows; rewrite it when not. */
static int
result_reconcile(struct jobsd *d, struct job *j, struct strbuf *proj)
{
	char name[SEQ_MAX + 16], *cur;
	size_t len = 0;
	bool same;

	job_file(name, sizeof(name), j->seq, JF_RESULT);
	cur = file_read_at(d->donefd, name, (size_t)1 << 31, &len);
	if (cur && j->ndone == 0 && !j->journal_rows)
		result_import(j, cur, proj);
	same = cur ? len == proj->len && memcmp(cur, proj->buf ?: "", len) == 0 : proj->len == 0;
	free(cur);
	if (!same) {
		log_info("job %s: done/%s rewritten from the journal (%zu rows)", j->seq, name,
			 j->ndone);
		if (file_publish_at(d->donefd, name, proj->buf ?: "", proj->len, true) < 0) {
			log_warn("%s/done/%s", d->sp.path, name);
			return -1;
		}
	}
	j->resultfd = open_at(d, d->donefd, "done", name, O_WRONLY | O_APPEND | O_CREAT);
	return j->resultfd < 0 ? -1 : 0;
}

int
results_open(struct jobsd *d, struct job *j)
{
	struct strbuf proj = {0};
	char name[SEQ_MAX + 16];
	int r;

	journal_apply(j, &proj);
	sb_free(&j->journal);
	r = result_reconcile(d, j, &proj);
	sb_free(&proj);
	job_file(name, sizeof(name), j->seq, JF_LOG);
	j->logfd = open_at(d, d->procfd, "proc", name, O_RDONLY | O_CREAT);
	j->logoff = 0;
	return r < 0 || j->logfd < 0 ? -1 : 0;
}

/* Read proc/<seq>.rows into j->journal; keep its markers; cut a partial
 * last line (a power cut mid-write). */
int
results_journal(struct jobsd *d, struct job *j)
{
	char name[SEQ_MAX + 16], *buf, *end, *p;
	size_t len = 0;

	job_file(name, sizeof(name), j->seq, JF_ROWS);
	j->journal_new =
		faccessat(d->procfd, name, F_OK, AT_SYMLINK_NOFOLLOW) < 0 && errno == ENOENT;
	j->rowsfd = open_at(d, d->procfd, "proc", name, O_RDWR | O_APPEND | O_CREAT);
	if (j->rowsfd < 0 || (buf = file_read_at(d->procfd, name, (size_t)1 << 31, &len)) == NULL)
		return -1;
	end = memrchr(buf, '\n', len);
	len = end ? (size_t)(end - buf) + 1 : 0;
	if (ftruncate(j->rowsfd, (off_t)len) < 0)
		log_warn("%s/proc/%s", d->sp.path, name);
	buf[len] = '\0';
	for (p = buf; *p; p = strchr(p, '\n') + 1) {
		if (strncmp(p, "#close ", 7) == 0) {
			j->closed_mark = true;
			j->close_kind = (enum close_kind)atoi(p + 7);
			sscanf(p + 7, "%*d %1023[^\n]", j->reason);
		} else if (strncmp(p, "#callback", 9) == 0) {
			j->cb_mark = true;
		}
	}
	sb_reset(&j->journal);
	sb_add(&j->journal, buf, len);
	free(buf);
	return 0;
}

int
results_mark(struct jobsd *d, struct job *j, const char *line)
{
	if (j->rowsfd < 0 || write_all(j->rowsfd, line, strlen(line)) < 0 ||
	    fdatasync(j->rowsfd) < 0) {
		log_warn("%s/proc/%s%s", d->sp.path, j->seq, job_file_suffix(JF_ROWS));
		return -1;
	}
	return 0;
}

void
results_file_done(struct job *j, size_t i, bool cancel)
{
	struct rowcount rc = {0, 0, 0};

	if (j->files[i].done)
		return;
	if (!cancel) {
		steps_row(j->spec.tpl, j->files[i].res, &rc);
		j->nfresh++;
	}
	sb_printf(&j->jbuf, "%zu\t%s\t%d\t%d\t%d\n", i, j->rel[i], rc.requested, rc.created,
		  rc.warnings);
	sb_printf(&j->rbuf, "%s\t%d\t%d\t%d\n", j->rel[i], rc.requested, rc.created, rc.warnings);
	count_row(j, i, &rc, cancel);
}

void
results_evaluate(struct job *j, size_t i)
{
	uint8_t *exp;

	if (j->files[i].done)
		return;
	exp = xmalloc(j->spec.tpl->nsteps + 1);
	if (steps_expected(j->spec.tpl, path_ext(j->rel[i]), j->files[i].res, exp) == 0)
		results_file_done(j, i, false);
	free(exp);
}

static void
log_line(struct job *j, char *line)
{
	struct result_line ll;
	size_t i;

	if (result_parse(line, &ll) < 0 || jm_item_index(j->seq, ll.id, &i) < 0 || i >= j->total ||
	    ll.step < 0 || (size_t)ll.step >= j->spec.tpl->nsteps) {
		log_warnx("job %s: proc/%s.log: a line that is not ours ignored", j->seq, j->seq);
		return;
	}
	if (i + 1 > j->hi)
		j->hi = i + 1;
	if (j->files[i].done) {
		log_debug("job %s: late result for %s step %d ignored", j->seq, ll.id, ll.step);
		return;
	}
	if (j->files[i].res == NULL)
		j->files[i].res = xcalloc(j->spec.tpl->nsteps, sizeof(struct sres));
	sres_record(&j->files[i].res[ll.step], &ll);
	j->files[i].absent = 0;
	results_evaluate(j, i);
}

static void
log_lines(struct job *j)
{
	char *p = j->logpart.buf, *nl;
	size_t used;

	while ((nl = memchr(p, '\n', j->logpart.len - (size_t)(p - j->logpart.buf))) != NULL) {
		*nl = '\0';
		log_line(j, p);
		p = nl + 1;
	}
	used = (size_t)(p - j->logpart.buf);
	memmove(j->logpart.buf, p, j->logpart.len - used);
	j->logpart.len -= used;
	j->logpart.buf[j->logpart.len] = '\0';
}

void
results_read_log(struct jobsd *d, struct job *j)
{
	char buf[65536];
	ssize_t n;

	if (j->logfd < 0 || j->files == NULL)
		return;
	while ((n = pread(j->logfd, buf, sizeof(buf), j->logoff)) > 0) {
		j->logoff += n;
		sb_add(&j->logpart, buf, (size_t)n);
		log_lines(j);
		j->last_line_ms = now_ms_mono();
	}
	if (n < 0)
		log_warn("%s/proc/%s%s", d->sp.path, j->seq, job_file_suffix(JF_LOG));
}

void
results_flush(struct jobsd *d, struct job *j)
{
	if (j->jbuf.len == 0)
		return;
	d->processed += (long long)j->nfresh; /* "Total processed": files, as TMC */
	j->nfresh = 0;
	/* the journal first: a row is never written without its record */
	if (write_all(j->rowsfd, j->jbuf.buf, j->jbuf.len) < 0)
		log_warn("%s/proc/%s%s", d->sp.path, j->seq, job_file_suffix(JF_ROWS));
	else if (write_all(j->resultfd, j->rbuf.buf, j->rbuf.len) < 0)
		log_warn("%s/done/%s%s", d->sp.path, j->seq, job_file_suffix(JF_RESULT));
	sb_reset(&j->jbuf);
	sb_reset(&j->rbuf);
}

void
results_stat(struct jobsd *d, struct job *j, bool force)
{
	char name[SEQ_MAX + 16], buf[96];
	int64_t now = now_ms_mono();
	int n;

	if (!force && (!j->stat_dirty || now - j->stat_ms < STAT_EVERY_MS))
		return;
	job_file(name, sizeof(name), j->seq, JF_STAT);
	n = snprintf(buf, sizeof(buf), "%zu\t%zu\t%zu", j->total, j->dispatched, j->nprocessed);
	if (file_publish_at(d->procfd, name, buf, (size_t)n, false) < 0)
		log_warn("%s/proc/%s", d->sp.path, name);
	j->stat_dirty = false;
	j->stat_ms = now;
}

/* run/processed/jobs for `tmcwatch status` "Total processed" (once a tick
 * and at the end). */
void
results_processed(struct jobsd *d)
{
	if (d->processed == d->processed_written)
		return;
	processed_write(&d->sp, "jobs", d->processed, 0);
	d->processed_written = d->processed;
}
