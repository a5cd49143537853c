/*
 * client.c - one job in proc/ (TMC's "client", doc/TMC.md, Job state), from
 * adoption to closing. Called by main.c (jobs found in proc/ at start) and
 * intake.c (jobs taken from req/).
 *
 * Adoption, in order: the journal's markers (a close that a crash cut
 * short is only finished); the ctrl file's start-up words; the file list
 * (proc/<seq>.file: uploaded for filelist jobs, else made by a scan that is
 * redone from scratch when it never finished, doc/TMC.md, Fixes: atomic scan); then every path
 * of the list checked, the journal's rows, done/<seq>.result reconciled,
 * "dispatched" from .stat, and the whole log read. A job therefore resumes
 * from its per-file results, never from line 0 (doc/TMC.md, Fixes: adoption, resume position).
 *
 * A job ends when every file has a row (done/), or, for stop, cancel and
 * error, when its files in flight have finished (req/, done/, err/).
 * Failures of the environment (a folder that cannot be read) send the job
 * to err/ with the reason; nothing here is fatal.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "jobs.h"

#define SCAN_BUDGET 4096

static void job_error(struct job *j, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
job_error(struct job *j, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(j->reason, sizeof(j->reason), fmt, ap);
	va_end(ap);
	log_warnx("job %s: %s", j->seq, j->reason);
	j->mode = JM_ERROR;
}

/* proc/<seq>.file (done/ when a crash cut a close short): 1 loaded, 0 none. */
static int
list_load(struct jobsd *d, struct job *j)
{
	char name[SEQ_MAX + 16];
	size_t len = 0;
	char *buf;

	job_file(name, sizeof(name), j->seq, JF_FILE);
	buf = file_read_at(d->procfd, name, (size_t)1 << 30, &len);
	if (buf == NULL && errno == ENOENT && j->closed_mark)
		buf = file_read_at(d->donefd, name, (size_t)1 << 30, &len);
	if (buf == NULL && errno == ENOENT)
		return 0;
	if (buf == NULL) {
		job_error(j, "proc/%s: %s", name, strerror(errno));
		return -1;
	}
	j->listbuf = buf;
	j->total = job_list_split(buf, len, &j->rel);
	return 1;
}

static int
list_check(struct job *j)
{
	char reason[REASON_MAX];

	for (size_t i = 0; i < j->total; i++) {
		if (jobspec_check_file(&j->spec, j->rel[i], reason, sizeof(reason)) < 0) {
			job_error(j, "proc/%s.file, file %zu: %s", j->seq, i + 1, reason);
			return -1;
		}
	}
	return 0;
}

/* "dispatched" is ours only when the journal was there before this
 * adoption: tmc-jobs writes .stat only after it made the journal. A .stat
 * without one is TMC's (a job TMC began, killed or stopped, then switched
 * over, tmcwatch-tmc(7)), counting what it sent to gearman; those files died
 * with TMC's workers, so every file without a row is converted again. */
static void
stat_resume(struct jobsd *d, struct job *j)
{
	char name[SEQ_MAX + 16], *buf;
	long long v[3];

	job_file(name, sizeof(name), j->seq, JF_STAT);
	if ((buf = file_read_at(d->procfd, name, 256, NULL)) == NULL)
		return;
	if (jm_stat_parse(buf, v) == 0 && v[1] > 0 && j->journal_new)
		log_info(
			"job %s: TMC's proc/%s (%lld dispatched) is not ours: every file without a "
			"row is converted",
			j->seq, name, v[1]);
	else if (jm_stat_parse(buf, v) == 0 && v[1] > 0)
		j->dispatched = (size_t)v[1] < j->total ? (size_t)v[1] : j->total;
	free(buf);
	for (size_t i = 0; i < j->dispatched; i++)
		j->ndone_disp += j->files[i].done != 0;
}

/* The list is there: results, position, log. */
static void
job_ready(struct jobsd *d, struct job *j)
{
	j->files = xcalloc(j->total + 1, sizeof(*j->files));
	if (results_open(d, j) < 0)
		job_error(j, "cannot open its result files (see the log)");
	else if (!j->closed_mark)
		list_check(j);
	stat_resume(d, j);
	results_read_log(d, j);
	if (!j->closed_mark && !j->tpl_wait)
		track_redrive(d, j);
	j->last_line_ms = now_ms_mono();
	j->stat_dirty = true;
	results_flush(d, j);
	if (!j->closed_mark)
		results_stat(d, j, true);
	log_info("job %s: %zu files, %zu dispatched, %zu finished, template %s", j->seq, j->total,
		 j->dispatched, j->ndone, j->spec.tpl->name);
}

static void
scan_tmpname(char *buf, size_t len, const char *seq)
{
	snprintf(buf, len, ".%s.file.tmp", seq);
}

static void
scan_begin(struct jobsd *d, struct job *j)
{
	char tmp[SEQ_MAX + 16], reason[REASON_MAX];

	scan_tmpname(tmp, sizeof(tmp), j->seq);
	j->scanfd =
		openat(d->procfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (j->scanfd < 0) {
		job_error(j, "proc/%s: %s", tmp, strerror(errno));
		return;
	}
	if ((j->scan = scan_start(&j->spec, j->scanfd, reason, sizeof(reason))) == NULL) {
		job_error(j, "%s", reason);
		close(j->scanfd);
		j->scanfd = -1;
		unlinkat(d->procfd, tmp, 0);
	}
}

/* keep: the list is complete, rename it into place (doc/TMC.md, Fixes: atomic scan). */
static int
scan_end(struct jobsd *d, struct job *j, bool keep)
{
	char tmp[SEQ_MAX + 16], name[SEQ_MAX + 16];
	int r = 0;

	scan_tmpname(tmp, sizeof(tmp), j->seq);
	job_file(name, sizeof(name), j->seq, JF_FILE);
	scan_free(&j->scan);
	if (keep && (fsync(j->scanfd) < 0 || renameat(d->procfd, tmp, d->procfd, name) < 0 ||
		     fsync(d->procfd) < 0)) {
		job_error(j, "proc/%s: %s", name, strerror(errno));
		r = -1;
	}
	close(j->scanfd);
	j->scanfd = -1;
	if (!keep || r < 0)
		unlinkat(d->procfd, tmp, 0);
	return r;
}

static void
job_scan(struct jobsd *d, struct job *j)
{
	char reason[REASON_MAX];
	int r;

	if (j->mode == JM_STOP || j->mode == JM_ERROR) {
		scan_end(d, j, false);
		return;
	}
	if ((r = scan_step(j->scan, SCAN_BUDGET, reason, sizeof(reason))) < 0) {
		scan_end(d, j, false);
		job_error(j, "%s", reason);
	} else if (r == 1) {
		log_info("job %s: scan found %zu files", j->seq, scan_count(j->scan));
		if (scan_end(d, j, true) == 0 && list_load(d, j) > 0)
			job_ready(d, j);
	}
}

/* Start-up words of the ctrl file (doc/TMC.md, Job state): "stopped" and
 * "resume" are consumed; "stop" of a job just taken from req/ too; the
 * rest is what ctrl_apply() does on every tick. */
static void
ctrl_initial(struct jobsd *d, struct job *j, bool from_req)
{
	char reason[REASON_MAX], name[SEQ_MAX + 16];
	enum ctrl_cmd c = ctrl_read(d, j->seq, false, NULL, reason, sizeof(reason));

	if (c == CTRL_STOPPED || c == CTRL_RESUME || (c == CTRL_STOP && from_req)) {
		job_file(name, sizeof(name), j->seq, JF_CTRL);
		if (unlinkat(d->procfd, name, 0) < 0 && errno != ENOENT)
			log_warn("%s/proc/%s", d->sp.path, name);
	}
	ctrl_apply(d, j, false);
}

/* An inline proc's template file (config/inline.c), written before the
 * job's first item is: its stage workers load their steps from it. The
 * job is in proc/ already, so the supervisor, which removes the file only
 * when no job in proc/ runs it, cannot take it away after this. */
static int
inline_ready(struct jobsd *d, struct job *j)
{
	if (inline_store(d->conf.spool_dir, j->spec.own) == 0)
		return 0;
	fault_note_errno(errno, "templates/");
	log_warn("job %s: %s/%s/%s.json (retried)", j->seq, d->conf.spool_dir, INLINE_DIR,
		 j->spec.own->name);
	return -1;
}

struct job *
job_adopt(struct jobsd *d, const char *seq, struct jobspec *spec, bool from_req)
{
	struct job *j = xcalloc(1, sizeof(*j));
	int r;

	snprintf(j->seq, sizeof(j->seq), "%s", seq);
	j->spec = *spec;
	memset(spec, 0, sizeof(*spec));
	j->ts = tplstages_get(d, j->spec.tpl);
	j->tpl_wait = j->spec.own && inline_ready(d, j) < 0;
	j->logfd = j->rowsfd = j->resultfd = j->scanfd = -1;
	j->mode = JM_RUN;
	log_info("new client added:%s%s", seq, from_req ? "" : " (adopted from proc/)");
	if (results_journal(d, j) < 0)
		job_error(j, "cannot open proc/%s%s", seq, job_file_suffix(JF_ROWS));
	if ((r = list_load(d, j)) > 0)
		job_ready(d, j);
	else if (r == 0 && j->spec.filelist && !j->closed_mark)
		job_error(j, "hires.filelist is true, but %s.file does not exist.", seq);
	else if (r == 0 && !j->closed_mark && j->mode != JM_ERROR)
		scan_begin(d, j);
	if (!j->closed_mark && j->mode != JM_ERROR)
		ctrl_initial(d, j, from_req);
	return j;
}

static int
job_maybe_close(struct jobsd *d, struct job *j)
{
	bool drained = j->scan == NULL && (j->files == NULL || track_inflight(j) == 0);
	enum close_kind kind;

	if (j->closed_mark) {
		kind = j->close_kind;
	} else if (j->mode == JM_RUN || j->mode == JM_PAUSE) {
		if (j->files == NULL || j->ndone < j->total)
			return 0;
		kind = CLOSE_DONE;
	} else if (!drained || (j->mode == JM_CANCEL && j->files == NULL)) {
		return 0;
	} else {
		kind = j->mode == JM_CANCEL ? CLOSE_CANCEL
		       : j->mode == JM_STOP ? CLOSE_STOP
					    : CLOSE_ERROR;
	}
	finish_close(d, j, kind);
	return 1;
}

int
job_work(struct jobsd *d, struct job *j, bool tick)
{
	if (j->scan)
		job_scan(d, j);
	if (tick && !j->closed_mark)
		ctrl_apply(d, j, false);
	/* each tick, an inline template is made sure of again: if it was removed
	 * (a job the supervisor could not match to it), it is written back before
	 * more items go to its folders, and its workers start again */
	if (tick && j->spec.own && !j->tpl_wait && !j->closed_mark)
		j->tpl_wait = inline_ready(d, j) < 0;
	if (j->tpl_wait && inline_ready(d, j) == 0) {
		j->tpl_wait = false;
		if (j->files && !j->closed_mark)
			track_redrive(d, j);
	}
	if (j->files && !j->closed_mark && !j->tpl_wait) {
		results_read_log(d, j);
		track_resolve(d, j, tick);
		track_emit(d, j);
	}
	results_flush(d, j);
	results_stat(d, j, false);
	return job_maybe_close(d, j);
}

int
job_timeout(const struct job *j)
{
	if (j->scan)
		return 0;
	return j->stat_dirty ? 100 : -1;
}

static void
close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

void
job_free(struct job **jp)
{
	struct job *j = *jp;

	if (j == NULL)
		return;
	scan_free(&j->scan);
	close_fd(&j->logfd);
	close_fd(&j->rowsfd);
	close_fd(&j->resultfd);
	close_fd(&j->scanfd);
	for (size_t i = 0; j->files && i < j->total; i++)
		free(j->files[i].res);
	free(j->files);
	free(j->rel);
	free(j->listbuf);
	sb_free(&j->logpart);
	sb_free(&j->jbuf);
	sb_free(&j->rbuf);
	sb_free(&j->journal);
	jobspec_free(&j->spec);
	free(j);
	*jp = NULL;
}
