/*
 * finish.c - closing a job: the file moves of TMC's close() (doc/TMC.md,
 * Job file moves) and the callback for tmc-notify(8) (doc/TMC.md, Callback).
 *
 *   done     proc/<seq> -> done/<seq>, proc/<seq>.file -> done/<seq>.file;
 *            .stat, .log stay in proc/; a leftover ctrl is removed
 *   cancel   the undispatched files get "<src>\t0\t0\t0" rows (doc/TMC.md, Fixes: cancel),
 *            proc/<seq>.ctrl ({"status":"cancelled","pos":..,"cnt":..}) ->
 *            done/<seq>.ctrl, proc/<seq> -> done/<seq>; .file stays
 *   error    err/<seq>.reason written, proc/<seq> -> err/<seq>
 *   stop     {"status":"stopped","pos":..,"cnt":..} in proc/<seq>.ctrl,
 *            proc/<seq> -> req/<seq> (TMC's requeue; no callback)
 *
 * Crash safety: the rows are complete and fsynced, then "#close <kind>" is
 * appended to the journal, then the callback is queued and "#callback"
 * appended, then the files move, the job file last. A job still in proc/
 * whose journal says "#close" is only closed again: every step above is
 * idempotent, and the callback is never queued twice.
 *
 * Callback (outbox/new/<seq>/ticket, an item published into outbox/ with
 * item_publish, durably; tmc-notify claims it):
 * url, seq, result, count, processed, created, warn. count = files of the
 * list; processed = files with a real row (cancel rows not counted);
 * created, warn = sums over the rows (TMC: warn is the sum of warnings);
 * result = 1 only for a job that ended normally with every file processed,
 * no warning and at least one file (doc/TMC.md, Callback; 0 for cancelled jobs, Fixes: cancel).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "jobs.h"

static const char *kind_names[] = {"done", "cancelled", "error", "stopped"};

static void
cancel_rows(struct job *j)
{
	size_t n = 0;

	for (size_t i = 0; i < j->total; i++) {
		if (!j->files[i].done) {
			results_file_done(j, i, true);
			n++;
		}
	}
	if (n)
		log_info("job %s: %zu files not converted (cancelled)", j->seq, n);
}

static int
callback_queue(struct jobsd *d, struct job *j, enum close_kind kind)
{
	bool ok = kind == CLOSE_DONE && j->nprocessed == j->total && j->warn == 0 &&
		  j->nprocessed > 0;
	struct ticket t = {0};
	int r;

	ticket_set(&t, "url", j->spec.callback);
	ticket_set(&t, "seq", j->seq);
	ticket_set(&t, "result", ok ? "1" : "0");
	ticket_setf(&t, "count", "%zu", j->total);
	ticket_setf(&t, "processed", "%zu", j->nprocessed);
	ticket_setf(&t, "created", "%lld", j->created);
	ticket_setf(&t, "warn", "%lld", j->warn);
	/* durable: the journal's "#callback" follows, so it must not be lost */
	r = item_publish(&d->outbox, j->seq, &t, true);
	if (r < 0)
		log_warnx("%s/outbox: the callback of job %s is not queued", d->sp.path, j->seq);
	ticket_free(&t);
	return r < 0 ? -1 : 0;
}

static void
move(struct jobsd *d, int from, const char *fromdir, int to, const char *name)
{
	if (renameat(from, name, to, name) < 0 && errno != ENOENT)
		log_warn("%s/%s/%s: move", d->sp.path, fromdir, name);
}

static void
finish_move(struct jobsd *d, struct job *j, enum close_kind kind)
{
	char name[SEQ_MAX + 16], text[REASON_MAX + 2];
	long long pos = (long long)j->dispatched, cnt = (long long)j->total;

	job_file(name, sizeof(name), j->seq, JF_CTRL);
	if (kind == CLOSE_DONE) {
		job_file(name, sizeof(name), j->seq, JF_FILE);
		move(d, d->procfd, "proc", d->donefd, name);
		job_file(name, sizeof(name), j->seq, JF_CTRL);
		unlinkat(d->procfd, name, 0);
	} else if (kind == CLOSE_CANCEL) {
		ctrl_write(d, j->seq, "cancelled", pos, cnt);
		move(d, d->procfd, "proc", d->donefd, name);
	} else if (kind == CLOSE_ERROR) {
		job_file(name, sizeof(name), j->seq, JF_REASON);
		snprintf(text, sizeof(text), "%s\n", j->reason);
		if (file_publish_at(d->errfd, name, text, strlen(text), true) < 0)
			log_warn("%s/err/%s", d->sp.path, name);
	} else {
		ctrl_write(d, j->seq, j->stop_paused ? "paused" : "stopped", pos, cnt);
	}
	move(d, d->procfd, "proc",
	     kind == CLOSE_ERROR  ? d->errfd
	     : kind == CLOSE_STOP ? d->reqfd
				  : d->donefd,
	     j->seq);
}

void
finish_close(struct jobsd *d, struct job *j, enum close_kind kind)
{
	char line[REASON_MAX + 32], name[SEQ_MAX + 16];

	if (!j->closed_mark) {
		if (kind == CLOSE_CANCEL && j->files)
			cancel_rows(j);
		results_flush(d, j);
		if (j->files)
			results_stat(d, j, true);
		if (j->resultfd >= 0 && fsync(j->resultfd) < 0)
			log_warn("%s/done/%s%s", d->sp.path, j->seq, job_file_suffix(JF_RESULT));
		for (char *p = j->reason; *p; p++)
			if (*p == '\n')
				*p = ' ';
		snprintf(line, sizeof(line), "#close %d %s\n", (int)kind, j->reason);
		if (kind != CLOSE_STOP)
			results_mark(d, j, line);
	}
	if (kind != CLOSE_STOP && j->spec.callback && !j->cb_mark &&
	    callback_queue(d, j, kind) == 0)
		results_mark(d, j, "#callback\n");
	finish_move(d, j, kind);
	failpoint("jobs-closed"); /* tests: die before the journal goes (sweep.c) */
	job_file(name, sizeof(name), j->seq, JF_ROWS);
	if (kind != CLOSE_STOP && unlinkat(d->procfd, name, 0) < 0 && errno != ENOENT)
		log_warn("%s/proc/%s", d->sp.path, name);
	log_info("client finished:%s (%s): %zu files, %zu processed (success %zu, error %zu), "
		 "created %lld, warnings %lld%s%s",
		 j->seq, kind_names[kind], j->total, j->nprocessed, j->nsuccess,
		 j->ndone - j->nsuccess, j->created, j->warn, kind == CLOSE_ERROR ? ": " : "",
		 kind == CLOSE_ERROR ? j->reason : "");
}

/* A job TMC closed at once as done with total 0 (job_tmc_no_files: no hires,
 * or a site config.json does not name): done/<seq>.result with no row and
 * proc/<seq>.stat "0\t0\t0" (status "finished", seqdetail total 0), the
 * callback with result 0 and count 0 when hires.callback names one, then
 * req/<seq> -> done/<seq>, last, so a crash before it only does this again.
 * 0, or -1 (logged; the job stays in req/). */
int
finish_no_files(struct jobsd *d, const char *seq, const char *callback, const char *why)
{
	char name[SEQ_MAX + 16];
	struct ticket t = {0};

	job_file(name, sizeof(name), seq, JF_RESULT);
	if (file_publish_at(d->donefd, name, "", 0, true) < 0) {
		log_warn("%s/done/%s", d->sp.path, name);
		return -1;
	}
	job_file(name, sizeof(name), seq, JF_STAT);
	if (file_publish_at(d->procfd, name, "0\t0\t0", 5, false) < 0)
		log_warn("%s/proc/%s", d->sp.path, name);
	if (callback) {
		ticket_set(&t, "url", callback);
		ticket_set(&t, "seq", seq);
		ticket_set(&t, "result", "0");
		ticket_set(&t, "count", "0");
		ticket_set(&t, "processed", "0");
		ticket_set(&t, "created", "0");
		ticket_set(&t, "warn", "0");
		if (item_publish(&d->outbox, seq, &t, true) < 0)
			log_warnx("%s/outbox: the callback of job %s is not queued", d->sp.path,
				  seq);
		ticket_free(&t);
	}
	if (renameat2(d->reqfd, seq, d->donefd, seq, RENAME_NOREPLACE) < 0) {
		log_warn("%s: move req/%s to done/", d->sp.path, seq);
		return -1;
	}
	log_info("client finished:%s (done): 0 files, %s (TMC closed such a job as done)", seq,
		 why);
	return 0;
}

int
finish_reject(struct jobsd *d, int fromfd, const char *name, const char *seq, const char *reason)
{
	char rname[SEQ_MAX + 16], *text = xasprintf("%s\n", reason);
	int r = 0;

	job_file(rname, sizeof(rname), seq, JF_REASON);
	if (file_publish_at(d->errfd, rname, text, strlen(text), true) < 0)
		log_warn("%s/err/%s", d->sp.path, rname);
	if (renameat2(fromfd, name, d->errfd, seq, RENAME_NOREPLACE) < 0) {
		log_warn("%s: move %s to err/%s", d->sp.path, name, seq);
		unlinkat(d->errfd, rname, 0);
		r = -1;
	} else {
		log_warnx("job %s moved to err/: %s", seq, reason);
	}
	free(text);
	return r;
}
