/*
 * intake.c - req/: which files are jobs, when they are complete, their seq,
 * and taking them, oldest first, while fewer than client_cnt run.
 *
 * Complete: a file renamed (IN_MOVED_TO) or linked (`tmcwatch submit`,
 * tmc-httpd: IN_CREATE of a file that already holds a whole JSON object)
 * into req/ is complete at once. A file written in place (cp, an editor)
 * is taken once it was closed (IN_CLOSE_WRITE), left alone for a quiet
 * period (CLOCK_MONOTONIC) and parses as a whole JSON object. One that does
 * not parse is refused only after settle_ms without a write (an interrupted
 * scp closes its file too), so a partially copied file is never taken nor
 * refused; a file renamed into req/ is judged at once. Dot names and
 * temporary names (*.part, *.tmp, *~, *.swp) are never looked at. An entry
 * that is not a regular file (a symbolic link, a fifo, a folder, a socket)
 * is never followed nor opened blocking: it goes to err/ at once with a
 * reason (its own name when that is a free seq, else a fresh seq).
 *
 * Seq: the file's name, as in TMC: req/myjob.json runs as job
 * "myjob.json" and ends as done/myjob.json (+ .result, .file), and the API
 * answers for that seq. A name that cannot be a seq (tmc_seq_name_ok: 1 to
 * 64 of [A-Za-z0-9._-], not '.' first, not a side file's suffix) goes to
 * err/ under a fresh seq, its reason naming the file; so does the seq of a
 * job running in proc/. A job whose seq already ran (done/, err/) goes to
 * err/ under its name when free (TMC: "File already exists, moved to Error
 * directory"), with err/<seq>.reason. Fresh seqs (TMC's 15 digits, dated in
 * seq_timezone) are only ever names in err/.
 *
 * Checked when complete (jobspec.c) and again when taken: a job that is not
 * JSON, misses a key, names an unknown template or climbs out of its root
 * goes to err/<seq> with err/<seq>.reason; nothing else is affected. A job
 * without hires, or whose hires.site is no site of config.json, ends at
 * once in done/ with total 0 and its callback (result 0), as TMC closed it
 * (finish_no_files). A waiting job whose ctrl says pause stays in req/ (a pause
 * never moves the job file, doc/TMC.md, Fixes: pause) until it is resumed.
 *
 * Beside jobs, req/<seq>.ctrl and req/<seq>.file are accepted for writers
 * that may write only in req/ (TMC's API wrote proc/<seq>.file itself; both
 * work): a complete ctrl is moved to proc/ at once, a list when its job is
 * taken (a list already in proc/ wins).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "jobs.h"

/* req/<seq>.ctrl and req/<seq>.file: a control request and a file list
 * left beside a job by a writer that may write only in req/ (see
 * tmcwatch-spool(5)). 1 ctrl, 2 list, 0 neither. */
static int
side_file(const char *name)
{
	char seq[SEQ_MAX];
	int kind = job_file_kind(name, seq, sizeof(seq));

	if (kind < 0 || !tmc_seq_name_ok(seq))
		return 0;
	return kind == JF_CTRL ? 1 : kind == JF_FILE ? 2 : 0;
}

/* A complete req/<seq>.ctrl goes where tmc-jobs reads it: proc/. */
static void
side_ctrl(struct jobsd *d, const char *name)
{
	if (renameat(d->reqfd, name, d->procfd, name) < 0 && errno != ENOENT)
		log_warn("%s: move req/%s to proc/", d->sp.path, name);
}

/* The job is taken: its list in req/, if any, joins it in proc/. */
static void
side_list(struct jobsd *d, const char *seq)
{
	char name[SEQ_MAX + 16];

	job_file(name, sizeof(name), seq, JF_FILE);
	if (renameat2(d->reqfd, name, d->procfd, name, RENAME_NOREPLACE) < 0 && errno != ENOENT)
		log_warn("%s: move req/%s to proc/ (proc/ has one: kept)", d->sp.path, name);
}

static struct cand *
cand_find(struct jobsd *d, const char *name)
{
	for (size_t i = 0; i < d->ncands; i++)
		if (strcmp(d->cands[i].name, name) == 0)
			return &d->cands[i];
	return NULL;
}

static struct cand *
cand_add(struct jobsd *d, const char *name)
{
	struct cand *c = cand_find(d, name);

	if (c)
		return c;
	d->cands = xreallocarray(d->cands, d->ncands + 1, sizeof(*d->cands));
	c = &d->cands[d->ncands++];
	memset(c, 0, sizeof(*c));
	c->name = xstrdup(name);
	return c;
}

static void
cand_remove(struct jobsd *d, struct cand *c)
{
	free(c->name);
	*c = d->cands[--d->ncands];
}

static bool
exists_at(int dirfd, const char *name)
{
	struct stat st;

	return fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0;
}

/* A fresh seq for err/: TMC's form, now in seq_timezone, that no job holds */
static int
err_seq(struct jobsd *d, char *seq, size_t len, int k)
{
	char stamp[16];

	seq_stamp(stamp, sizeof(stamp), time(NULL), d->conf.seq_timezone);
	snprintf(seq, len, "%s%03d", stamp, (int)((now_ms_mono() + k) % 1000));
	return exists_at(d->reqfd, seq) || exists_at(d->procfd, seq) || exists_at(d->donefd, seq) ||
			       exists_at(d->errfd, seq)
		       ? -1
		       : 0;
}

/* req/<name> to err/ with err/<seq>.reason: under its own name when that
 * can be a seq that no job in proc/ or err/ holds (TMC moved req/<name> to
 * err/<name>), else under a fresh seq (the reason names req/<name>). A
 * rename, never a link: an entry that is not a file (a folder) moves too. */
static void
cand_to_err(struct jobsd *d, struct cand *c, const char *reason)
{
	char seq[SEQ_MAX];

	if (tmc_seq_name_ok(c->name) && !exists_at(d->procfd, c->name) &&
	    !exists_at(d->errfd, c->name)) {
		finish_reject(d, d->reqfd, c->name, c->name, reason);
	} else {
		for (int k = 0; k < 3; k++) /* free names: a failure here is not a collision */
			if (err_seq(d, seq, sizeof(seq), k) == 0 &&
			    finish_reject(d, d->reqfd, c->name, seq, reason) == 0)
				break;
	}
	cand_remove(d, c);
}

/* A job's seq is its file's name, as in TMC ("myjob.json" runs as job
 * "myjob.json"). 0 when it can be; else the job goes to err/ (-1): a name
 * that cannot be a seq (tmc_seq_name_ok), or the seq of a job that runs
 * (proc/) or ran (done/: TMC's "File already exists", err/). A job that was
 * stopped comes back under its seq with its journal in proc/: it is no
 * other job. */
static int
cand_name(struct jobsd *d, struct cand *c)
{
	char reason[REASON_MAX];
	const char *n = c->name;

	if (!tmc_seq_name_ok(n))
		snprintf(reason, sizeof(reason), "req/%s: this name cannot be a seq: %s", n,
			 TMC_SEQ_NAME_RULE);
	else if (exists_at(d->procfd, n))
		snprintf(reason, sizeof(reason),
			 "req/%s: job %s is running (proc/%s): a seq names one job", n, n, n);
	else if (exists_at(d->donefd, n))
		snprintf(reason, sizeof(reason),
			 "req/%s: job %s already ran (done/%s exists): a seq names one job", n, n,
			 n);
	else if (exists_at(d->errfd, n))
		snprintf(reason, sizeof(reason),
			 "req/%s: job %s already failed (err/%s exists): a seq names one job", n, n,
			 n);
	else
		return 0;
	cand_to_err(d, c, reason);
	return -1;
}

/* Why req/<name> is no job file: -2 with reason; -1 when it is gone. */
static int
odd_entry(struct jobsd *d, const char *name, char *reason, size_t rlen)
{
	struct stat st;
	const char *what;

	if (fstatat(d->reqfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return -1;
	what = S_ISLNK(st.st_mode)    ? "a symbolic link"
	       : S_ISFIFO(st.st_mode) ? "a fifo"
	       : S_ISDIR(st.st_mode)  ? "a folder"
	       : S_ISSOCK(st.st_mode) ? "a socket"
	       : S_ISREG(st.st_mode)  ? NULL
				      : "a device";
	if (what == NULL)
		return -1; /* a regular file after all (replaced meanwhile): judged again */
	snprintf(reason, rlen, "req/%s: %s, not a regular file: not followed, not a job", name,
		 what);
	return -2;
}

static const char *
label(const char *name, char *buf, size_t len)
{
	snprintf(buf, len, "req/%s", name);
	return buf;
}

/* 1 a complete JSON object, 0 not (yet: reason says why), -1 gone or
 * unreadable, -2 not a regular file (reason). */
static int
cand_read(struct jobsd *d, const char *name, char **text, size_t *len, char *reason, size_t rlen)
{
	struct json doc = {0};
	char label[SEQ_MAX + 300], err[512];
	int r;

	if ((*text = file_read_at(d->reqfd, name, JOB_MAX_BYTES, len)) == NULL) {
		if (errno == EFBIG) {
			snprintf(reason, rlen, "larger than %d bytes", JOB_MAX_BYTES);
			return 0;
		}
		if (errno == ELOOP || errno == EINVAL || errno == EISDIR || errno == ENXIO)
			return odd_entry(d, name, reason, rlen);
		if (errno != ENOENT)
			log_warn("%s/req/%s: ignored", d->sp.path, name);
		return -1;
	}
	snprintf(label, sizeof(label), "req/%s", name);
	r = json_parse(&doc, label, *text, *len, err, sizeof(err)) == 0 && json_is_object(&doc, 0);
	if (r == 0 && doc.ntok > 0)
		snprintf(reason, rlen, "%s: expected a JSON object", label);
	else if (r == 0)
		snprintf(reason, rlen, "not a JSON job: %s", err);
	json_free(&doc);
	return r;
}

/* A complete job that TMC closed at once as done (job_tmc_no_files): 1 when
 * it was one (finished, or left for the next look on a failure), 0 not. */
static int
cand_no_files(struct jobsd *d, struct cand *c, const char *text, size_t len)
{
	struct json doc = {0};
	char why[REASON_MAX], err[256], *cb = NULL;
	int r = json_parse(&doc, c->name, text, len, err, sizeof(err)) == 0 &&
		job_tmc_no_files(&d->conf, &doc, why, sizeof(why), &cb);

	json_free(&doc);
	if (r && finish_no_files(d, c->name, cb, why) == 0)
		cand_remove(d, c);
	else if (r)
		c->due_ms = now_ms_mono() + d->settle_ms;
	free(cb);
	return r;
}

/* Complete now? Then check it; final: a file that does not parse is bad. */
static void
cand_judge(struct jobsd *d, struct cand *c, bool final)
{
	char reason[REASON_MAX] = "", lbl[SEQ_MAX + 300], *text;
	struct jobspec js;
	size_t len;
	int r = cand_read(d, c->name, &text, &len, reason, sizeof(reason));

	if (r == -2) {
		cand_to_err(d, c, reason);
	} else if (r < 0) {
		cand_remove(d, c);
	} else if (r == 0) {
		c->due_ms = 0;
		if (final && now_ms_mono() - c->last_ms < d->settle_ms)
			c->due_ms = c->last_ms + d->settle_ms; /* an interrupted copy: wait */
		else if (final)
			cand_to_err(d, c, reason);
	} else if (cand_name(d, c) < 0 || cand_no_files(d, c, text, len)) {
		/* in err/, or done/ (TMC's empty job) */
	} else if (jobspec_load(&js, &d->conf, label(c->name, lbl, sizeof(lbl)), text, len, reason,
				sizeof(reason)) < 0) {
		cand_to_err(d, c, reason);
	} else {
		jobspec_free(&js);
		c->ready = true;
		c->due_ms = 0;
	}
	free(text);
}

void
intake_scan(struct jobsd *d)
{
	int fd = dup(d->reqfd);
	struct dirent *de;
	DIR *dir;

	if (fd < 0 || (dir = fdopendir(fd)) == NULL) {
		log_warn("%s/req", d->sp.path);
		if (fd >= 0)
			close(fd);
		return;
	}
	rewinddir(dir);
	while ((de = readdir(dir)) != NULL) {
		if (side_file(de->d_name) == 1)
			side_ctrl(d, de->d_name);
		if (jm_name_ignored(de->d_name) || side_file(de->d_name) ||
		    cand_find(d, de->d_name))
			continue;
		struct cand *c = cand_add(d, de->d_name);

		c->closed = true; /* a writer still at work will send events */
		c->last_ms = now_ms_mono();
		c->due_ms = c->last_ms + d->quiet_ms;
	}
	closedir(dir);
}

void
intake_event(struct jobsd *d, const char *name, uint32_t mask)
{
	struct cand *c;

	if (jm_name_ignored(name))
		return;
	if (side_file(name)) {
		if (side_file(name) == 1 && (mask & (IN_CLOSE_WRITE | IN_MOVED_TO)))
			side_ctrl(d, name);
		return;
	}
	if (mask & (IN_DELETE | IN_MOVED_FROM)) {
		if ((c = cand_find(d, name)) != NULL)
			cand_remove(d, c);
		return;
	}
	c = cand_add(d, name);
	if (c->ready)
		return;
	if (mask & IN_MOVED_TO) {
		c->closed = true;
		c->last_ms = 0; /* renamed in: complete, judged now */
		cand_judge(d, c, true);
		return;
	}
	if (mask & IN_CLOSE_WRITE)
		c->closed = true;
	c->last_ms = now_ms_mono();
	c->due_ms = c->last_ms + d->quiet_ms;
	if (mask & IN_CREATE)
		cand_judge(d, c, false); /* a link: complete already */
	if ((c = cand_find(d, name)) != NULL && !c->ready)
		c->due_ms = now_ms_mono() + d->quiet_ms;
}

void
intake_ctrl(struct jobsd *d, const char *seq)
{
	struct cand *c = cand_find(d, seq);

	if (c)
		c->paused = false;
}

static bool
cand_takeable(struct jobsd *d, struct cand *c, bool tick)
{
	char reason[REASON_MAX];
	enum ctrl_cmd cmd;

	if (!c->ready || (c->paused && !tick))
		return false;
	cmd = ctrl_read(d, c->name, false, NULL, reason, sizeof(reason));
	c->paused = cmd == CTRL_PAUSE || cmd == CTRL_PAUSED || cmd == CTRL_PARTIAL;
	return !c->paused;
}

static void
cand_take(struct jobsd *d, struct cand *c)
{
	char reason[REASON_MAX], lbl[SEQ_MAX + 300], *text;
	struct jobspec js;
	size_t len;

	if (cand_read(d, c->name, &text, &len, reason, sizeof(reason)) <= 0 ||
	    jobspec_load(&js, &d->conf, label(c->name, lbl, sizeof(lbl)), text, len, reason,
			 sizeof(reason)) < 0) {
		free(text);
		c->ready = false; /* judged again */
		c->due_ms = now_ms_mono();
		return;
	}
	free(text);
	side_list(d, c->name);
	if (renameat2(d->reqfd, c->name, d->procfd, c->name, RENAME_NOREPLACE) < 0) {
		log_warn("%s: take req/%s", d->sp.path, c->name);
		jobspec_free(&js);
		c->ready = false;
		return;
	}
	d->jobs = xreallocarray(d->jobs, d->njobs + 1, sizeof(*d->jobs));
	d->jobs[d->njobs++] = job_adopt(d, c->name, &js, true);
	cand_remove(d, c);
}

void
intake_work(struct jobsd *d, bool tick)
{
	int64_t now = now_ms_mono();

	for (size_t i = 0; i < d->ncands; i++) {
		struct cand *c = &d->cands[i];

		if (!c->ready && c->due_ms && c->due_ms <= now) {
			cand_judge(d, c, c->closed);
			i = (size_t)-1; /* the table may have changed: again */
		}
	}
	while (d->njobs < (size_t)d->conf.client_cnt) {
		struct cand *best = NULL;

		for (size_t i = 0; i < d->ncands; i++)
			if (cand_takeable(d, &d->cands[i], tick) &&
			    (!best || strcmp(d->cands[i].name, best->name) < 0))
				best = &d->cands[i];
		if (best == NULL)
			break;
		cand_take(d, best);
	}
}

int64_t
intake_next_due(const struct jobsd *d)
{
	int64_t due = 0;

	for (size_t i = 0; i < d->ncands; i++)
		if (d->cands[i].due_ms && (!due || d->cands[i].due_ms < due))
			due = d->cands[i].due_ms;
	return due;
}

void
intake_free(struct jobsd *d)
{
	while (d->ncands)
		cand_remove(d, &d->cands[0]);
	xfree(&d->cands);
}
