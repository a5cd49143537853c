/*
 * acts.c - the read-only acts: status, seqdetail, filelist, errorlist,
 * fileresult (doc/TMC.md, REST API), answered from the server files that
 * tmc-jobs keeps in TMC's formats (doc/TMC.md, Server files): req/<seq>, proc/<seq>.stat
 * ("total\tdispatched\tfinished" or a bare count), req|proc|done/<seq>.ctrl
 * (JSON), done/<seq>.result ("source\trequested\tcreated\twarnings\n"),
 * err/<seq>.
 *
 * Bodies are TMC's, key for key and type for type (.stat fields are
 * strings, seqdetail counts integers). One change: a job in err/ has status
 * "error", with err/<seq>'s "result" or "unknown error" (TMC's error branch
 * could not be reached, doc/TMC.md, Fixes: API). HTTP status: 200 whenever the seq
 * names a job, also when TMC's body says "not found" for a part of it (a
 * job whose result file is not there yet); 404 when no job of that seq
 * exists in req/, proc/, done/ or err/; 400 for a seq that cannot be a file
 * name (e.g. "../../etc/passwd"), answered with the same "not found" body.
 * The seq check happens before any path is built.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "httpd.h"

#define SMALL_MAX (1 << 20) /* .stat, .ctrl, err/<seq>: small JSON or numbers */
#define LIST_MAX 10000      /* TMC's cap on one page */

static bool
spool_has(int spoolfd, const char *dir, const char *seq, enum job_file kind)
{
	char path[128];
	struct stat st;

	snprintf(path, sizeof(path), "%s/%s%s", dir, seq, job_file_suffix(kind));
	return fstatat(spoolfd, path, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode);
}

static char *
spool_read(int spoolfd, const char *dir, const char *seq, enum job_file kind, size_t *len)
{
	char path[128];

	snprintf(path, sizeof(path), "%s/%s%s", dir, seq, job_file_suffix(kind));
	return file_read_at(spoolfd, path, SMALL_MAX, len);
}

static FILE *
spool_fopen(int spoolfd, const char *dir, const char *seq, enum job_file kind)
{
	char path[128];
	struct stat st;
	FILE *f;
	int fd;

	snprintf(path, sizeof(path), "%s/%s%s", dir, seq, job_file_suffix(kind));
	fd = openat(spoolfd, path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || (f = fdopen(fd, "r")) == NULL) {
		close(fd);
		return NULL;
	}
	return f;
}

bool
job_known(int spoolfd, const char *seq)
{
	return spool_has(spoolfd, "req", seq, JF_JOB) || spool_has(spoolfd, "proc", seq, JF_JOB) ||
	       spool_has(spoolfd, "done", seq, JF_JOB) || spool_has(spoolfd, "err", seq, JF_JOB) ||
	       spool_has(spoolfd, "proc", seq, JF_STAT) ||
	       spool_has(spoolfd, "done", seq, JF_RESULT);
}

/* explode("\t", line) into at most max fields (NUL-terminated in place) */
static size_t
explode_tab(char *line, char **f, size_t max)
{
	size_t n = 0;

	f[n++] = line;
	for (char *p = line; *p && n < max; p++) {
		if (*p == '\t') {
			*p = '\0';
			f[n++] = p + 1;
		}
	}
	return n;
}

static bool
field_blank(const char *s)
{
	size_t n = strlen(s);

	tmc_trim(&s, &n);
	return n == 0;
}

/* A copy of s without PHP's trim() characters at either end */
static char *
trimmed(const char *s)
{
	size_t n = strlen(s);

	tmc_trim(&s, &n);
	return xstrndup(s, n);
}

static unsigned
finish(struct php_obj *o, struct strbuf *out, unsigned code)
{
	php_encode(o, out);
	php_obj_free(o);
	return code;
}

/* not found: 404 when no job has that seq, 200 when the job exists */
static unsigned
not_found(const struct act_in *in, struct php_obj *o, const char *key, struct strbuf *out)
{
	php_set_str(o, key, "not found");
	return finish(o, out, job_known(in->spoolfd, in->seq) ? 200 : 404);
}

/* ---- status (doc/TMC.md, REST API: status) ---- */

bool
stat_status(const char *stat, struct php_obj *o)
{
	char *copy = xstrdup(stat), *f[3] = {NULL, NULL, NULL};
	bool error = false;

	explode_tab(copy, f, 3);
	if (f[1] && php_eq(f[1], "-1")) {
		php_set_str(o, "status", "error");
		php_set(o, "result", "null"); /* its place: the caller fills it */
		error = true;
	} else if (php_eq(f[0], f[2])) {
		php_set_str(o, "status", "finished");
	} else {
		php_set_str(o, "status", "processing");
	}
	php_set_str(o, "total", f[0]);
	php_set_str(o, "processed", f[1]);
	php_set_str(o, "finished", f[2]);
	free(copy);
	return error;
}

/* err/<seq>'s "result", or "unknown error" (TMC's unreachable error branch;
 * tmc-jobs may write -1 as the dispatched count of a failed job) */
static void
status_error(const struct act_in *in, struct php_obj *o)
{
	struct json doc = {0};
	char err[256], *text, *s = NULL;
	size_t len;
	int t;

	if ((text = spool_read(in->spoolfd, "err", in->seq, JF_JOB, &len)) != NULL &&
	    json_parse(&doc, "err", text, len, err, sizeof(err)) == 0 && json_is_object(&doc, 0) &&
	    (t = json_get(&doc, 0, "result")) >= 0)
		s = json_strdup(&doc, t);
	php_set_str(o, "result", s ? s : "unknown error");
	free(s);
	free(text);
	json_free(&doc);
}

/* A job in err/: "error" and why, whatever .stat or a ctrl said (TMC
 * answered "not found", or "processing" from a .stat left in proc/: doc/TMC.md, Fixes: API) */
static void
status_failed(const struct act_in *in, struct php_obj *o)
{
	static const char *keep[] = {"total", "processed", "finished"};
	struct php_obj e = {0};

	php_set_str(&e, "status", "error");
	status_error(in, &e);
	for (size_t k = 0; k < sizeof(keep) / sizeof(keep[0]); k++)
		for (size_t i = 0; i < o->n; i++)
			if (strcmp(o->kv[i].key, keep[k]) == 0)
				php_set(&e, keep[k], o->kv[i].val.buf);
	php_obj_free(o);
	*o = e;
}

/* A ctrl file's status, cnt (total) and pos (processed, finished) */
static void
status_from_ctrl(const char *text, size_t len, struct php_obj *o)
{
	struct json doc = {0};
	struct strbuf v = {0};
	char err[256];
	int t;

	if (json_parse(&doc, "ctrl", text, len, err, sizeof(err)) < 0 || !json_is_object(&doc, 0))
		goto out;
	if ((t = json_get(&doc, 0, "status")) >= 0 && !json_is_null(&doc, t)) {
		php_json_value(&doc, t, &v);
		php_set(o, "status", v.buf);
		sb_reset(&v);
	}
	if ((t = json_get(&doc, 0, "cnt")) >= 0 && !json_is_null(&doc, t)) {
		php_json_value(&doc, t, &v);
		php_set(o, "total", v.buf);
		sb_reset(&v);
	}
	if ((t = json_get(&doc, 0, "pos")) >= 0 && !json_is_null(&doc, t)) {
		php_json_value(&doc, t, &v);
		php_set(o, "processed", v.buf);
		php_set(o, "finished", v.buf);
	}
out:
	sb_free(&v);
	json_free(&doc);
}

/* proc/<seq>.ctrl (else done/), then a command in req/<seq>.ctrl that
 * tmc-jobs has not moved to proc/ yet: the newest word wins */
static void
status_ctrl(const struct act_in *in, struct php_obj *o)
{
	size_t len;
	char *text;

	text = spool_read(in->spoolfd, "proc", in->seq, JF_CTRL, &len);
	if (text == NULL)
		text = spool_read(in->spoolfd, "done", in->seq, JF_CTRL, &len);
	if (text)
		status_from_ctrl(text, len, o);
	free(text);
	if ((text = spool_read(in->spoolfd, "req", in->seq, JF_CTRL, &len)) != NULL)
		status_from_ctrl(text, len, o);
	free(text);
}

unsigned
act_status(const struct act_in *in, struct strbuf *out)
{
	struct php_obj o = {0};
	char *stat;

	if (!tmc_seq_name_ok(in->seq)) {
		php_set_str(&o, "status", "not found");
		return finish(&o, out, 400);
	}
	if (spool_has(in->spoolfd, "req", in->seq, JF_JOB)) {
		php_set_str(&o, "status", "waiting");
		return finish(&o, out, 200);
	}
	if ((stat = spool_read(in->spoolfd, "proc", in->seq, JF_STAT, NULL)) != NULL) {
		if (stat_status(stat, &o))
			status_error(in, &o);
		free(stat);
	}
	status_ctrl(in, &o);
	if (spool_has(in->spoolfd, "err", in->seq, JF_JOB))
		status_failed(in, &o);
	if (!php_isset(&o, "status")) {
		if (spool_has(in->spoolfd, "proc", in->seq, JF_JOB))
			php_set_str(&o, "status", "starting");
		else if (spool_has(in->spoolfd, "done", in->seq, JF_JOB))
			php_set_str(&o, "status", "finished but no info");
	}
	if (!php_isset(&o, "status")) {
		php_obj_free(&o);
		return not_found(in, &o, "status", out);
	}
	return finish(&o, out, 200);
}

/* ---- seqdetail (doc/TMC.md, REST API: seqdetail) ---- */

void
result_seqdetail(FILE *result, struct php_obj *o)
{
	long long total = 0, success = 0, error = 0;
	char *line = NULL, *f[4];
	size_t cap = 0;

	while (getline(&line, &cap, result) > 0) {
		size_t n;

		memset(f, 0, sizeof(f));
		n = explode_tab(line, f, 4);
		if (field_blank(f[0]))
			continue;
		total++;
		if (php_eq_zero(n > 3 ? f[3] : NULL) || php_eq(f[1], f[2]))
			success++;
		else
			error++;
	}
	free(line);
	php_set_int(o, "total", total);
	php_set_int(o, "success", success);
	php_set_int(o, "error", error);
	php_set_str(o, "result", "found");
}

unsigned
act_seqdetail(const struct act_in *in, struct strbuf *out)
{
	struct php_obj o = {0};
	FILE *f;

	if (!tmc_seq_name_ok(in->seq)) {
		php_set_str(&o, "result", "not found");
		return finish(&o, out, 400);
	}
	if ((f = spool_fopen(in->spoolfd, "done", in->seq, JF_RESULT)) == NULL)
		return not_found(in, &o, "result", out);
	result_seqdetail(f, &o);
	fclose(f);
	return finish(&o, out, 200);
}

/* ---- filelist, errorlist (doc/TMC.md, REST API: filelist, errorlist) ---- */

struct page {
	double start, offset;
	long long cnt;
	struct strbuf list;
};

/* start: filelist: empty or not numeric -> 0 (an integer in the answer),
 * else the parameter as given (a string); errorlist: the parameter as given
 * whenever it is there. offset: empty, not numeric, negative or above
 * 10000 -> 10000. */
static void
page_params(const struct params *params, bool errors, struct php_obj *o, struct page *pg)
{
	const char *s = params_str(params, "start"), *n = params_str(params, "offset");
	double v;

	pg->start = 0;
	if (s && php_is_numeric(s, strlen(s), &v))
		pg->start = v;
	if (errors ? s != NULL : !tmc_empty(s) && php_is_numeric(s, strlen(s), NULL))
		php_set_str(o, "start", s);
	else
		php_set_int(o, "start", 0);
	pg->offset = LIST_MAX;
	if (!tmc_empty(n) && php_is_numeric(n, strlen(n), &v) && v >= 0 && v <= LIST_MAX)
		pg->offset = v;
}

static void
page_add(struct page *pg, const char *json)
{
	sb_addc(&pg->list, pg->cnt ? ',' : '[');
	sb_adds(&pg->list, json);
	pg->cnt++;
}

static void
page_finish(struct page *pg, struct php_obj *o, bool found)
{
	struct php_obj tail = {0};

	if (!found) {
		sb_free(&pg->list);
		return;
	}
	/* key order: list, start, offset, result (list only when not empty) */
	tail = *o;
	o->n = 0;
	if (pg->cnt > 0) {
		sb_addc(&pg->list, ']');
		php_set(o, "list", pg->list.buf);
	}
	for (size_t i = 0; i < tail.n; i++) {
		php_set(o, tail.kv[i].key, tail.kv[i].val.buf);
		sb_free(&tail.kv[i].val);
	}
	php_set_int(o, "offset", pg->cnt);
	php_set_str(o, "result", "found");
	sb_free(&pg->list);
}

void
result_list(FILE *result, const struct params *params, bool errors, struct php_obj *o)
{
	struct page pg = {0};
	struct strbuf q = {0};
	char *line = NULL, *f[4];
	size_t cap = 0;
	long long pos = 0;
	ssize_t len;

	page_params(params, errors, o, &pg);
	while (pg.cnt < pg.offset && (len = getline(&line, &cap, result)) > 0) {
		char *row0;
		size_t n;

		memset(f, 0, sizeof(f));
		if (errors) { /* the line is trimmed first: "0\n" is empty() */
			const char *s = line;
			size_t sl = (size_t)len;

			tmc_trim(&s, &sl);
			memmove(line, s, sl);
			line[sl] = '\0';
		}
		n = explode_tab(line, f, 4);
		if (!field_blank(f[0]) && pos >= pg.start &&
		    (!errors || !tmc_empty(n > 3 ? f[3] : NULL) || php_eq(f[1], "-1"))) {
			row0 = trimmed(f[0]);
			sb_reset(&q);
			json_quote(&q, row0, true);
			page_add(&pg, q.buf);
			free(row0);
		}
		pos++;
	}
	free(line);
	sb_free(&q);
	page_finish(&pg, o, true);
}

unsigned
act_filelist(const struct act_in *in, struct strbuf *out)
{
	struct php_obj o = {0};
	FILE *f;

	if (!tmc_seq_name_ok(in->seq)) {
		php_set_str(&o, "result", "not found");
		return finish(&o, out, 400);
	}
	if ((f = spool_fopen(in->spoolfd, "done", in->seq, JF_RESULT)) == NULL)
		return not_found(in, &o, "result", out);
	result_list(f, in->params, false, &o);
	fclose(f);
	return finish(&o, out, 200);
}

/* err/<seq> with a "file" array (the error report shape TMC's API expected) */
static bool
errorlist_report(const struct act_in *in, const char *text, size_t len, struct php_obj *o)
{
	struct json doc = {0};
	struct page pg = {0};
	struct strbuf v = {0};
	char err[256];
	int t;
	long long i = 0;
	bool ok = false;

	if (json_parse(&doc, "err", text, len, err, sizeof(err)) == 0 && json_is_object(&doc, 0) &&
	    (t = json_get(&doc, 0, "file")) >= 0 && json_is_array(&doc, t)) {
		page_params(in->params, true, o, &pg);
		for (int e = json_first(&doc, t); e >= 0 && pg.cnt < pg.offset;
		     e = json_sibling(&doc, t, e), i++) {
			if (i < pg.start)
				continue;
			sb_reset(&v);
			php_json_value(&doc, e, &v);
			page_add(&pg, v.buf);
		}
		page_finish(&pg, o, true);
		ok = true;
	}
	sb_free(&v);
	json_free(&doc);
	return ok;
}

unsigned
act_errorlist(const struct act_in *in, struct strbuf *out)
{
	struct php_obj o = {0};
	size_t len = 0;
	char *text;
	FILE *f;

	if (!tmc_seq_name_ok(in->seq)) {
		php_set_str(&o, "result", "not found");
		return finish(&o, out, 400);
	}
	text = spool_read(in->spoolfd, "err", in->seq, JF_JOB, &len);
	if (text && len > 0) {
		bool ok = errorlist_report(in, text, len, &o);

		free(text);
		if (!ok) {
			php_obj_free(&o);
			php_set_str(&o, "result", "file read error");
		}
		return finish(&o, out, 200);
	}
	free(text);
	if ((f = spool_fopen(in->spoolfd, "done", in->seq, JF_RESULT)) == NULL)
		return not_found(in, &o, "result", out);
	result_list(f, in->params, true, &o);
	fclose(f);
	return finish(&o, out, 200);
}

/* ---- fileresult (doc/TMC.md, REST API: fileresult) ---- */

void
result_file(FILE *result, const char *val, struct php_obj *o)
{
	char *line = NULL, *f[4];
	size_t cap = 0;
	ssize_t len;

	/* while (($line = trim(fgets($h))) != false): "" and "0" end the scan */
	while ((len = getline(&line, &cap, result)) > 0) {
		const char *s = line;
		size_t sl = (size_t)len, n;

		tmc_trim(&s, &sl);
		if (sl == 0 || (sl == 1 && s[0] == '0'))
			break;
		memmove(line, s, sl);
		line[sl] = '\0';
		memset(f, 0, sizeof(f));
		n = explode_tab(line, f, 4);
		char *name = trimmed(f[0]);
		bool match = val && strcmp(name, val) == 0;

		free(name);
		if (!match)
			continue;
		php_set_str(o, "result", "found");
		php_set_str(o, "requested", n > 1 ? f[1] : NULL);
		php_set_str(o, "success", n > 2 ? f[2] : NULL);
		php_set_str(o, "warning", n > 3 ? f[3] : NULL);
		break;
	}
	free(line);
}

unsigned
act_fileresult(const struct act_in *in, struct strbuf *out)
{
	struct php_obj o = {0};
	const char *val = params_str(in->params, "val");
	FILE *f;

	php_set_str(&o, "seq", in->seq);
	php_set_str(&o, "filename", val);
	php_set_str(&o, "result", "not found");
	if (!tmc_seq_name_ok(in->seq))
		return finish(&o, out, 400);
	if ((f = spool_fopen(in->spoolfd, "done", in->seq, JF_RESULT)) != NULL) {
		result_file(f, val, &o);
		fclose(f);
	}
	return finish(&o, out, job_known(in->spoolfd, in->seq) ? 200 : 404);
}
