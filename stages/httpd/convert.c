/*
 * convert.c - act=convert (doc/TMC.md, REST API: convert) and the control acts TMC's
 * README promised but its API lacked (doc/TMC.md, Control; Fixes: API): pause, resume, stop,
 * cancel.
 *
 * convert validates first and writes last (TMC wrote the upload before
 * validating, doc/TMC.md, Fixes: validate first): json parses -> TMC's key checks ("invalid json
 * key", "invalid site value") -> job_accept (config/job.h: the very check tmc-jobs runs before it
 * takes a job, so nothing accepted here goes to err/ as a whole: template known, target.root a
 * site's root, paths and rename replacements that do not climb, names within NAME_MAX and PATH_MAX,
 * types; "invalid json key" with the reason in the X-TMC-Error header) ->
 * a filelist job must carry its list, every line a relative path that
 * stays under every step's folder once renamed ("file upload failed"; TMC
 * queued it and failed it later)
 * -> Idempotency-Key replay -> duplicate (dup.c) -> job_queue() (spool/
 * jobq.c: the list becomes req/<seq>.file, durably, before the job is
 * linked into req/<seq>, durably; tmc-jobs moves the list to proc/<seq>.file,
 * TMC's place, when it takes the job). Only then "success". Like every
 * write of tmc-httpd, all of it happens in req/ (tmcwatch-spool(5); its
 * systemd unit may write nothing else).
 *
 * Answers keep TMC's keys, {"daemon","result"[,"seq"]}. HTTP status: 200
 * for success and duplicated (TMC clients read "result"), 400 for a request
 * TMC would also have refused or tmc-jobs would fail, 422 for an
 * Idempotency-Key reused with another job, 503 with Retry-After when the
 * job could not be saved for a cause that passes (a full disk or inodes, a
 * read-only or failing file system, no fds, all 1000 seqs of this second
 * taken: the cause, not a stale errno, in X-TMC-Error), 500 for any other
 * failure to save ("file save failed ", TMC's string with its trailing
 * space).
 *
 * Idempotency-Key: idem.c. Its record is durable before the job is linked,
 * under a lock, so a kill anywhere and a retry make one job; a duplicate
 * answered for a keyed request records the key too.
 *
 * Control acts write req/<seq>.ctrl = {"status":"<act>"} durably (temp,
 * fsync, rename); tmc-jobs moves it to proc/<seq>.ctrl, TMC's control file,
 * at once, and is thereby the only writer there: a command cannot be lost
 * between its read and rewrite of that file. A job waiting in req/ gets its
 * ctrl too: tmc-jobs honours it (TMC dropped it, doc/TMC.md, Fixes: cancel). Answers
 * {"daemon","result","seq"}: 200 "success", 404 "not found", 409 "already
 * finished" (done/ or err/).
 *
 * The statuses above are http.status_codes "rest"; by default ("tmc")
 * server.c sends every one of them but 503 as 200, as TMC did.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h> /* flock: the pid file */
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "httpd.h"
#include "job.h"

static unsigned
answer(struct strbuf *out, int spoolfd, const char *result, const char *seq, unsigned code)
{
	struct php_obj o = {0};

	php_set_str(&o, "daemon", spool_daemon_running(spoolfd) ? "running" : "stopped");
	php_set_str(&o, "result", result);
	if (seq)
		php_set_str(&o, "seq", seq);
	php_encode(&o, out);
	php_obj_free(&o);
	return code;
}

/* TMC's own checks: (proc or template) and hires.site/path_head/path_tail
 * set (isset: present and not null) */
static bool
has_tmc_keys(const struct json *doc)
{
	static const char *need[] = {"site", "path_head", "path_tail"};
	int hires, t;

	if (doc->ntok < 1 || !json_is_object(doc, 0))
		return false;
	if (((t = json_get(doc, 0, "proc")) < 0 || json_is_null(doc, t)) &&
	    ((t = json_get(doc, 0, "template")) < 0 || json_is_null(doc, t)))
		return false;
	if ((hires = json_get(doc, 0, "hires")) < 0 || !json_is_object(doc, hires))
		return false;
	for (size_t i = 0; i < sizeof(need) / sizeof(need[0]); i++)
		if ((t = json_get(doc, hires, need[i])) < 0 || json_is_null(doc, t))
			return false;
	return true;
}

static bool
site_known(const struct conf *conf, const struct json *doc)
{
	int t = json_get(doc, json_get(doc, 0, "hires"), "site");
	char *site = json_strdup(doc, t);
	bool known = site && conf_site(conf, site) != NULL;

	free(site);
	return known;
}

static bool
is_filelist(const struct json *doc)
{
	int t = json_get(doc, json_get(doc, 0, "hires"), "filelist");

	return t >= 0 && tmc_truthy(doc, t);
}

/* ---- convert ---- */

/* The job could not be queued. A machine fault (full disk or inodes,
 * read-only, I/O error, no fds or memory) and a second with no free seq
 * are temporary: 503 with Retry-After and the true cause; anything else
 * 500. TMC's body either way. */
static unsigned
queue_failed(struct httpd *h, int e, struct strbuf *out, char *err, size_t elen,
	     unsigned *retry_after)
{
	if (e == EAGAIN) {
		snprintf(err, elen, "no free seq: all 1000 seqs of this second are taken");
		*retry_after = 1;
	} else {
		snprintf(err, elen, "%s/req: %s", h->spool.path, strerror(e));
		*retry_after = 10;
	}
	if (errno_is_machine_fault(e))
		fault_note_errno(e, "queueing a job in req/");
	return answer(out, h->spool.fd, "file save failed ", NULL,
		      e == EAGAIN || errno_is_machine_fault(e) ? 503 : 500);
}

/* A job was queued: the file system works again. */
static void
queue_ok(void)
{
	static const enum fault_kind kinds[] = {FAULT_SPACE, FAULT_INODES, FAULT_READONLY,
						FAULT_IO};

	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
		if (fault_active(kinds[i]))
			fault_clear(kinds[i]);
}

static unsigned
convert_queue(struct httpd *h, const struct convert_in *in, const char *json, size_t jlen,
	      const char *list, size_t listlen, struct idem *id, struct strbuf *out, char *err,
	      size_t elen, unsigned *retry_after)
{
	struct jobq_hook hook = {.before_link = idem_record, .arg = id};
	char seq[32];

	if (job_find_same(h->spool.fd, h->spool.path, json, jlen, list, listlen, seq,
			  sizeof(seq)) == 1) {
		h->duplicated++;
		log_info("convert: duplicate of job %s", seq);
		if (in->idem_key && idem_record(seq, id) < 0)
			return queue_failed(h, errno, out, err, elen, retry_after);
		return answer(out, h->spool.fd, "duplicated", seq, 200);
	}
	h->spool.seq_tz = h->conf.seq_timezone; /* as reloaded (SIGHUP) */
	if (job_queue_hook(&h->spool, json, jlen, list, list ? listlen : 0,
			   in->idem_key ? &hook : NULL, seq, sizeof(seq)) < 0)
		return queue_failed(h, errno, out, err, elen, retry_after);
	queue_ok();
	job_note_queued(seq, json, jlen);
	h->accepted++;
	log_info("convert: job %s queued (%zu bytes%s)", seq, jlen, list ? ", with file list" : "");
	return answer(out, h->spool.fd, "success", seq, 200);
}

static unsigned
convert_checked(struct httpd *h, const struct convert_in *in, const char *json, size_t jlen,
		const char *list, size_t listlen, struct strbuf *out, char *err, size_t elen,
		unsigned *retry_after)
{
	struct idem id = {.dirfd = -1};
	char seq[32];
	int fd = h->spool.fd;
	unsigned code;

	if (in->idem_key) {
		if (!idem_key_valid(in->idem_key)) {
			snprintf(err, elen,
				 "Idempotency-Key must be 1 to 255 visible ASCII characters");
			return answer(out, fd, "invalid idempotency key", NULL, 400);
		}
		switch (idem_begin(h, &id, in->idem_key, json, jlen, list, listlen, seq,
				   sizeof(seq))) {
		case -1: return queue_failed(h, errno, out, err, elen, retry_after);
		case IDEM_REPLAY:
			h->replayed++;
			log_info("convert: Idempotency-Key replay, job %s", seq);
			return answer(out, fd, "success", seq, 200);
		case IDEM_REUSED:
			snprintf(err, elen, "this Idempotency-Key was used for another job");
			return answer(out, fd, "idempotency key reused", NULL, 422);
		}
	}
	code = convert_queue(h, in, json, jlen, list, listlen, &id, out, err, elen, retry_after);
	idem_end(&id);
	return code;
}

unsigned
act_convert(struct httpd *h, const struct convert_in *in, struct strbuf *out, char *err,
	    size_t elen, unsigned *retry_after)
{
	struct json doc = {0};
	const char *list = NULL;
	size_t jlen = 0, listlen = 0;
	const char *json = params_get(in->params, "json", &jlen);
	int fd = h->spool.fd;
	unsigned code;

	if (json == NULL) {
		snprintf(err, elen, "no json parameter");
		return answer(out, fd, "invalid json format", NULL, 400);
	}
	if (json_parse(&doc, "json", json, jlen, err, elen) < 0) {
		code = answer(out, fd, "invalid json format", NULL, 400);
		goto out;
	}
	if (!has_tmc_keys(&doc)) {
		snprintf(err, elen,
			 "the job needs proc or template, and hires.site, "
			 "hires.path_head, hires.path_tail");
		code = answer(out, fd, "invalid json key", NULL, 400);
		goto out;
	}
	if (!site_known(&h->conf, &doc)) {
		snprintf(err, elen, "hires.site names no site of config.json");
		code = answer(out, fd, "invalid site value", NULL, 400);
		goto out;
	}
	/* the check tmc-jobs runs (config/job.h): refused here, never in err/ later */
	if (job_accept(&h->conf, "json", json, jlen, NULL, 0, err, elen) < 0) {
		code = answer(out, fd, "invalid json key", NULL, 400);
		goto out;
	}
	if (is_filelist(&doc)) {
		if (!in->upload->present || in->upload->filename[0] == '\0') {
			snprintf(err, elen,
				 "hires.filelist is set, but no fileupload file was sent");
			code = answer(out, fd, "file upload failed", NULL, 400);
			goto out;
		}
		if (filelist_check(in->upload->data, in->upload->len, err, elen) < 0 ||
		    job_accept(&h->conf, "json", json, jlen, in->upload->data, in->upload->len, err,
			       elen) < 0) {
			code = answer(out, fd, "file upload failed", NULL, 400);
			goto out;
		}
		list = in->upload->data;
		listlen = in->upload->len;
	}
	code = convert_checked(h, in, json, jlen, list, listlen, out, err, elen, retry_after);
out:
	json_free(&doc);
	return code;
}

/* ---- pause, resume, stop, cancel ---- */

/* req/<seq>.ctrl, durably (temp, fsync, rename): tmc-jobs moves it to
 * proc/<seq>.ctrl and acts, so it stays the only writer of that file and no
 * command is lost between its read and its rewrite there. */
static int
control_request_write(struct httpd *h, const char *act, const char *seq)
{
	char name[96], *text = xasprintf("{\"status\":\"%s\"}", act);
	int fd = openat(h->spool.fd, "req", O_RDONLY | O_DIRECTORY | O_CLOEXEC), r = -1;

	job_file(name, sizeof(name), seq, JF_CTRL);
	if (fd >= 0)
		r = file_publish_at(fd, name, text, strlen(text), true);
	if (r < 0)
		log_warn("%s/req/%s", h->spool.path, name);
	if (fd >= 0)
		close(fd);
	free(text);
	return r;
}

static bool
has_job(int spoolfd, const char *dir, const char *seq)
{
	char path[96];
	struct stat st;

	snprintf(path, sizeof(path), "%s/%s", dir, seq);
	return fstatat(spoolfd, path, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode);
}

unsigned
act_control(struct httpd *h, const char *act, const char *seq, struct strbuf *out, char *err,
	    size_t elen)
{
	int fd = h->spool.fd;

	if (!tmc_seq_name_ok(seq)) {
		snprintf(err, elen, "%s", TMC_SEQ_NAME_RULE);
		return answer(out, fd, "not found", NULL, 400);
	}
	if (!has_job(fd, "req", seq) && !has_job(fd, "proc", seq)) {
		if (has_job(fd, "done", seq) || has_job(fd, "err", seq)) {
			snprintf(err, elen, "job %s has finished", seq);
			return answer(out, fd, "already finished", seq, 409);
		}
		snprintf(err, elen, "no job %s in req/ or proc/", seq);
		return answer(out, fd, "not found", seq, 404);
	}
	if (control_request_write(h, act, seq) < 0) {
		snprintf(err, elen, "req/%s.ctrl: %s", seq, strerror(errno));
		return answer(out, fd, "file save failed ", seq, 500);
	}
	log_info("%s: job %s", act, seq);
	return answer(out, fd, "success", seq, 200);
}
