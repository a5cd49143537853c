/*
 * deliver.c - one callback, from claimed item to outcome.
 *
 * The request is TMC's: POST multipart/form-data with the fields
 * processed, created, warn, seq, result, count (doc/TMC.md, Callback), built
 * here rather than by curl_mime so that its bytes are known, the same on
 * every retry, and can be signed: X-TMC-Delivery: <seq> (a receiver
 * de-duplicates with it; the same across retries and restarts) and, with
 * callback_secret set, X-TMC-Signature: sha256=<hex HMAC-SHA256 of the
 * body>. TLS certificates are verified (TMC turned that off). Only http
 * and https, also after a redirect (at most 3, the POST kept).
 *
 * Outcome: an answer that decodes to an object whose "code" == 1 (PHP's
 * loose ==, as TMC) is success, whatever the HTTP status; anything else is
 * a failure with a reason ("HTTP 500: <start of the answer>", curl's error
 * text). A bad URL or scheme is permanent: outbox/err/ at once. Other
 * failures are retried with exponential backoff (item_fail: retry_delay,
 * doubling, at most about an hour) until callback_retry_for seconds have
 * passed since the first failure; then outbox/err/<id>/reason keeps the
 * last error, and the log says so.
 *
 * A step callback (kind=get) is a GET of its url with the same options,
 * timeouts and retries, and X-TMC-Delivery: <outbox id>; any 2xx is
 * success (TMC ignored the answer). kind=file is written here, no transfer
 * (stepcb.c); a machine fault there is retried for as long as it lasts.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "notify.h"
#include "stage.h"

static const char *fields[] = {"processed", "created", "warn", "seq", "result", "count"};

void
deliver_body(const struct ticket *t, struct strbuf *body, char *boundary, size_t blen)
{
	uint8_t d[SHA256_LEN];
	char hex[2 * SHA256_LEN + 1];
	struct sha256 c;

	/* a boundary that cannot occur in the values (digits, a seq) */
	sha256_init(&c);
	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
		const char *v = ticket_get(t, fields[i]) ?: "";

		sha256_update(&c, v, strlen(v) + 1);
	}
	sha256_final(&c, d);
	sha256_hex(d, hex);
	snprintf(boundary, blen, "------------------------tmcwatch%.24s", hex);
	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
		sb_printf(body, "--%s\r\nContent-Disposition: form-data; name=\"%s\"\r\n\r\n%s\r\n",
			  boundary, fields[i], ticket_get(t, fields[i]) ?: "");
	sb_printf(body, "--%s--\r\n", boundary);
}

static bool
number_is_one(const char *s)
{
	char *end;
	double v = strtod(s, &end);

	if (end == s)
		return false;
	while (*end == ' ' || *end == '\t' || *end == '\n' || *end == '\r')
		end++;
	return *end == '\0' && v == 1;
}

bool
deliver_answer_ok(const char *answer, size_t len)
{
	struct json doc = {0};
	char err[256], *s;
	bool ok = false, b;
	double v;
	int t;

	if (json_parse(&doc, "answer", answer, len, err, sizeof(err)) < 0)
		return false;
	if (json_is_object(&doc, 0) && (t = json_get(&doc, 0, "code")) >= 0) {
		if (json_is_number(&doc, t))
			ok = json_double(&doc, t, &v) == 0 && v == 1;
		else if (json_is_bool(&doc, t))
			ok = json_bool(&doc, t, &b) == 0 && b;
		else if ((s = json_strdup(&doc, t)) != NULL) {
			ok = number_is_one(s);
			free(s);
		}
	}
	json_free(&doc);
	return ok;
}

static size_t
on_answer(char *p, size_t size, size_t nmemb, void *arg)
{
	struct delivery *d = arg;
	size_t n = size * nmemb;

	if (d->answer.len + n > NOTIFY_ANSWER_MAX)
		return 0; /* CURLE_WRITE_ERROR: an answer that big is not {"code":1} */
	sb_add(&d->answer, p, n);
	return n;
}

static void
delivery_free(struct notify *n, struct delivery *d)
{
	if (d->easy) {
		curl_multi_remove_handle(n->multi, d->easy);
		curl_easy_cleanup(d->easy);
	}
	d->easy = NULL;
	curl_slist_free_all(d->headers);
	d->headers = NULL;
	sb_free(&d->body);
	sb_free(&d->answer);
	item_release(&d->it);
	d->busy = false;
	n->active--;
	queue_release(n, d->host);
	d->host[0] = '\0';
}

static void
add_header(struct delivery *d, const char *fmt, const char *v)
{
	char line[256];

	snprintf(line, sizeof(line), fmt, v);
	d->headers = curl_slist_append(d->headers, line);
}

static void
deliver_setopt(struct notify *n, struct delivery *d, const char *url)
{
	long timeout = n->conf.callback_timeout;
	CURL *e = d->easy;

	curl_easy_setopt(e, CURLOPT_URL, url);
#if LIBCURL_VERSION_NUM >= 0x075500
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(e, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
#else
	curl_easy_setopt(e, CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
	curl_easy_setopt(e, CURLOPT_REDIR_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
	curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 1L);
	curl_easy_setopt(e, CURLOPT_MAXREDIRS, 3L);
	if (d->kind == CB_GET) {
		curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
	} else {
		curl_easy_setopt(e, CURLOPT_POSTREDIR, (long)CURL_REDIR_POST_ALL);
		curl_easy_setopt(e, CURLOPT_POST, 1L);
		curl_easy_setopt(e, CURLOPT_POSTFIELDS, d->body.buf);
		curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE, (long)d->body.len);
	}
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, d->headers);
	curl_easy_setopt(e, CURLOPT_USERAGENT, "tmc-notify/" TMC_VERSION);
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT, timeout < 10 ? timeout : 10L);
	curl_easy_setopt(e, CURLOPT_TIMEOUT, timeout);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_answer);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, d);
	curl_easy_setopt(e, CURLOPT_ERRORBUFFER, d->errbuf);
	curl_easy_setopt(e, CURLOPT_PRIVATE, d);
}

/* The attempt in the usage record (stage "outbox"): the supervisor counts
 * tmc_callbacks_total from it. Before the item is failed or finished. */
static void
attempt_record(struct notify *n, struct delivery *d, const char *outcome, const char *reason)
{
	const struct ticket *t = &d->it.ticket;
	struct record r = {.ms = d->t0_ms ? (long long)(now_ms_mono() - d->t0_ms) : 0};
	char origin[128];

	snprintf(r.stage, sizeof(r.stage), "outbox");
	snprintf(r.outcome, sizeof(r.outcome), "%s", outcome);
	if (d->kind == CB_POST)
		snprintf(origin, sizeof(origin), "job:%s", ticket_get(t, "seq") ?: d->it.id);
	else
		snprintf(origin, sizeof(origin), "%s", ticket_get(t, "origin") ?: "-");
	record_write(&n->spool, &r, origin, d->it.id,
		     ticket_get(t, d->kind == CB_FILE ? "target" : "url"), reason);
}

/* outbox/err/ with the reason, logged by item_reject_at */
static void
give_up(struct notify *n, struct delivery *d, const char *reason)
{
	attempt_record(n, d, "failed", reason);
	item_fail(&n->sd, &d->it, false, 0, 0, reason);
	n->failed++;
}

/* The job callback's multipart body and headers (TMC's POST) */
static void
deliver_post_body(struct notify *n, struct delivery *d)
{
	const struct ticket *t = &d->it.ticket;
	char boundary[96];

	deliver_body(t, &d->body, boundary, sizeof(boundary));
	add_header(d, "Content-Type: multipart/form-data; boundary=%s", boundary);
	add_header(d, "X-TMC-Delivery: %s", ticket_get(t, "seq") ?: d->it.id);
	add_header(d, "%s", "Expect:");
	if (n->conf.callback_secret) {
		uint8_t mac[SHA256_LEN];
		char hex[2 * SHA256_LEN + 1];

		hmac_sha256(n->conf.callback_secret, strlen(n->conf.callback_secret), d->body.buf,
			    d->body.len, mac);
		sha256_hex(mac, hex);
		add_header(d, "X-TMC-Signature: sha256=%s", hex);
	}
}

static void deliver_ok(struct notify *n, struct delivery *d, const char *how);
static void deliver_failed(struct notify *n, struct delivery *d, bool permanent, bool machine,
			   const char *reason);

/* A step's file action, done here and now (a local write, no transfer). */
static void
deliver_file(struct notify *n, struct delivery *d)
{
	const char *target = ticket_get(&d->it.ticket, "target");
	const char *cmd = ticket_get(&d->it.ticket, "cmd");
	char path[PATH_MAX + 256], how[PATH_MAX + 300], reason[PATH_MAX + 300];
	int e;

	d->t0_ms = now_ms_mono();
	if (target == NULL || cmd == NULL) {
		deliver_failed(n, d, true, false, "callback ticket has no target or cmd");
		return;
	}
	if (cb_file_drop(target, cmd, path, sizeof(path)) == 0) {
		snprintf(how, sizeof(how), "wrote %s", path);
		deliver_ok(n, d, how);
		return;
	}
	e = errno;
	if (errno_is_machine_fault(e))
		fault_note_errno(e, "write a file callback");
	snprintf(reason, sizeof(reason), "%s: %s", path, strerror(e));
	deliver_failed(n, d, false, errno_is_machine_fault(e), reason);
}

/* What is not a transfer: an unknown kind, a step callback delivered
 * before (its marker), a file action. true when a transfer remains. */
static bool
deliver_local(struct notify *n, struct delivery *d)
{
	if (d->kind == CB_BAD) {
		deliver_failed(n, d, true, false, "callback ticket has an unknown kind");
		return false;
	}
	if (d->kind != CB_POST && cb_sent(n, d->it.id)) {
		log_info("%s: delivered before (outbox/sent/%s): this copy is dropped", d->what,
			 d->it.id);
		item_finish(&n->sd, &d->it);
		delivery_free(n, d);
		return false;
	}
	if (d->kind == CB_FILE) {
		deliver_file(n, d);
		return false;
	}
	return true;
}

bool
deliver_start(struct notify *n, struct delivery *d)
{
	const struct ticket *t = &d->it.ticket;
	const char *url = ticket_get(t, "url");

	d->busy = true;
	n->active++;
	d->kind = cb_kind(t);
	cb_what(t, d->it.id, d->what, sizeof(d->what));
	if (!deliver_local(n, d))
		return false;
	if (url == NULL || *url == '\0') {
		give_up(n, d, "callback ticket has no url");
		delivery_free(n, d);
		return false;
	}
	if (d->kind == CB_POST)
		deliver_post_body(n, d);
	else
		add_header(d, "X-TMC-Delivery: %s", d->it.id);
	d->errbuf[0] = '\0';
	d->t0_ms = now_ms_mono();
	if ((d->easy = curl_easy_init()) == NULL) {
		item_unclaim(&n->sd, &d->it);
		delivery_free(n, d);
		return false;
	}
	deliver_setopt(n, d, url);
	curl_multi_add_handle(n->multi, d->easy);
	return true;
}

/* The reason of a failed attempt; true when retrying cannot help. */
static bool
failure_reason(struct delivery *d, CURLcode rc, long status, char *buf, size_t len)
{
	size_t cut = d->answer.len < 200 ? d->answer.len : 200;

	if (rc != CURLE_OK) {
		snprintf(buf, len, "%s", d->errbuf[0] ? d->errbuf : curl_easy_strerror(rc));
		buf[strcspn(buf, "\n")] = '\0';
		return rc == CURLE_UNSUPPORTED_PROTOCOL || rc == CURLE_URL_MALFORMAT;
	}
	if (d->kind == CB_GET)
		snprintf(buf, len, "HTTP %ld: %.*s", status, (int)cut,
			 d->answer.buf ? d->answer.buf : "");
	else
		snprintf(buf, len, "HTTP %ld, answer is not {\"code\":1}: %.*s", status, (int)cut,
			 d->answer.buf ? d->answer.buf : "");
	for (char *p = buf; *p; p++)
		if ((unsigned char)*p < 0x20)
			*p = ' ';
	return false;
}

/* Success: recorded, marked (a step callback), removed, logged. */
static void
deliver_ok(struct notify *n, struct delivery *d, const char *how)
{
	long long attempt = ticket_get_ll(&d->it.ticket, "attempt", 0) + 1;

	attempt_record(n, d, "ok", "");
	if (d->kind != CB_POST)
		cb_mark_sent(n, d->it.id);
	if (item_finish(&n->sd, &d->it) == 0) {
		n->delivered++;
		log_info("%s: delivered (%s, attempt %lld, %lldms)", d->what, how, attempt,
			 (long long)(now_ms_mono() - d->t0_ms));
	}
	delivery_free(n, d);
}

/* Failure: retried with backoff (item_fail logs it) until
 * callback_retry_for has passed since the first, then outbox/err/; a
 * machine fault is retried for as long as it lasts, never err/. */
static void
deliver_failed(struct notify *n, struct delivery *d, bool permanent, bool machine,
	       const char *reason)
{
	long long attempt = ticket_get_ll(&d->it.ticket, "attempt", 0) + 1;
	int64_t now = now_s_real(), first = ticket_get_ll(&d->it.ticket, "first_try", 0);
	char why[REASON_MAX];

	if (first <= 0) {
		first = now;
		ticket_setf(&d->it.ticket, "first_try", "%lld", (long long)now);
	}
	if (!machine && (permanent || now - first >= n->conf.callback_retry_for)) {
		snprintf(why, sizeof(why), "%.600s failed after %lld attempts in %llds: %s",
			 d->what, attempt, (long long)(now - first), reason);
		give_up(n, d, why);
	} else {
		snprintf(why, sizeof(why), "%.600s: %s", d->what, reason);
		attempt_record(n, d, "retry", why);
		if (item_fail(&n->sd, &d->it, true, 0x7fffffff,
			      n->conf.retry_delay > 0 ? n->conf.retry_delay : 1, why) == 0)
			queue_defer(n, d->it.id,
				    ticket_get_ll(&d->it.ticket, "not_before", now + 1));
	}
	delivery_free(n, d);
}

void
deliver_done(struct notify *n, struct delivery *d, CURLcode rc)
{
	long status = 0;
	char reason[REASON_MAX - 128], how[32];
	bool ok;

	curl_easy_getinfo(d->easy, CURLINFO_RESPONSE_CODE, &status);
	if (d->kind == CB_GET) /* TMC ignored a GET's answer: any 2xx */
		ok = rc == CURLE_OK && status >= 200 && status < 300;
	else
		ok = rc == CURLE_OK &&
		     deliver_answer_ok(d->answer.buf ? d->answer.buf : "", d->answer.len);
	if (ok) {
		snprintf(how, sizeof(how), "HTTP %ld", status);
		deliver_ok(n, d, how);
		return;
	}
	deliver_failed(n, d, failure_reason(d, rc, status, reason, sizeof(reason)), false, reason);
}
