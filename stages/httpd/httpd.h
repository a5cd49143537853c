/*
 * httpd.h - tmc-httpd, TMC's REST API (doc/TMC.md, REST API) over the spool.
 *
 * tmc-httpd only writes in req/ (jobs req/<seq>, uploaded lists
 * req/<seq>.file, control requests req/<seq>.ctrl, req/.idempotency/;
 * tmcwatch-spool(5)) and reads the status files tmc-jobs writes; it runs
 * nothing. Stopping it never loses a job: a job is in req/, fsynced,
 * before the client hears "success". It links no image or video library.
 *
 * Files: main.c (arguments, signals, the loop), server.c (libmicrohttpd:
 * limits, Host/token/Origin checks, routing, bodies), form.c (query, url-
 * encoded and multipart parsing), php.c (the PHP semantics TMC's answers
 * depend on; those the programs share are config/tmc.c's), acts.c
 * (status, seqdetail, filelist, errorlist, fileresult), convert.c (convert
 * and the control acts), dup.c (TMC's "duplicated"), idem.c
 * (Idempotency-Key), conns.c (the whole-request deadline), metrics.c
 * (/metrics), healthz.c (/healthz), page.c (/ and /status, the status page).
 * form.c, php.c and acts.c do no network I/O, so tests/fuzz drives them.
 */
#ifndef TMC_HTTPD_H
#define TMC_HTTPD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "conf.h"
#include "json.h"
#include "spool.h"
#include "tmc.h"

/* form.c: request parameters, PHP's $_REQUEST: query first, then the body
 * (POST wins), a later key replaces an earlier one. Values may hold any
 * byte; params_str() refuses a value with a NUL. */
#define PARAMS_MAX 256
struct param {
	char *key;
	char *val;
	size_t len;
};
struct params {
	struct param *v;
	size_t n;
};
/* -1 when there are already PARAMS_MAX keys */
int params_set(struct params *p, const char *key, size_t klen, const char *val, size_t vlen);
const char *params_get(const struct params *p, const char *key, size_t *len);
/* NULL when absent or when the value holds a NUL */
const char *params_str(const struct params *p, const char *key);
void params_free(struct params *p);

/* The uploaded file of a multipart body ($_FILES[name]). */
struct upload {
	bool present;   /* a part with that name and a filename="" parameter */
	char *filename; /* as sent; "" means "no file chosen" (PHP: no upload) */
	char *data;
	size_t len;
};
void upload_free(struct upload *up);

/* a=1&b=%20x+y: '+' is a space, %XX a byte, a bad escape stays as it is
 * (PHP's urldecode). Returns 0, or -1 with err (too many keys). */
int form_urlencoded(struct params *p, const char *buf, size_t len, char *err, size_t elen);
/* multipart/form-data (RFC 7578) held whole in buf. Fields go to p; the
 * file part named upname to up. -1 with err on a malformed body. */
int form_multipart(struct params *p, struct upload *up, const char *upname, const char *buf,
		   size_t len, const char *boundary, char *err, size_t elen);
/* The boundary parameter of a Content-Type value, into out; -1 when
 * missing or not 1..70 characters. */
int form_boundary(const char *ctype, char *out, size_t len);
/* Lines of an uploaded file list: each non-empty trimmed line must be a
 * relative path that does not climb (path_check_rel). -1 with err. */
int filelist_check(const char *data, size_t len, char *err, size_t elen);

/* php.c: the PHP behaviour TMC's answers are made of */
bool php_is_numeric(const char *s, size_t n, double *val); /* PHP 8 is_numeric() */
/* $a == $b for two strings (NULL is PHP's null): numbers compare as numbers */
bool php_eq(const char *a, const char *b);
/* $a == 0 for a string field (NULL: null, which is == 0) */
bool php_eq_zero(const char *a);
/* A PHP array being built: keys keep the place of their first assignment,
 * values are JSON text (already encoded). */
#define PHP_OBJ_MAX 8
struct php_obj {
	size_t n;
	struct {
		const char *key;
		struct strbuf val;
	} kv[PHP_OBJ_MAX];
};
void php_set(struct php_obj *o, const char *key, const char *json);  /* json: encoded */
void php_set_str(struct php_obj *o, const char *key, const char *s); /* NULL: null */
void php_set_strn(struct php_obj *o, const char *key, const char *s, size_t n);
void php_set_int(struct php_obj *o, const char *key, long long v);
bool php_isset(const struct php_obj *o, const char *key);
void php_encode(const struct php_obj *o, struct strbuf *out); /* json_encode */
void php_obj_free(struct php_obj *o);
/* A JSON value re-encoded as PHP's json_encode(json_decode()) would write it
 * (strings with PHP's escaping; other tokens as they were sent). */
void php_json_value(const struct json *doc, int t, struct strbuf *out);

/* acts.c: answers from the server files, doc/TMC.md, REST API. Each
 * fills out (JSON) and returns the HTTP status. */
struct act_in {
	int spoolfd;     /* the spool folder */
	const char *seq; /* checked by tmc_seq_name_ok() */
	const struct params *params;
};
bool job_known(int spoolfd, const char *seq);
unsigned act_status(const struct act_in *in, struct strbuf *out);
unsigned act_seqdetail(const struct act_in *in, struct strbuf *out);
unsigned act_filelist(const struct act_in *in, struct strbuf *out);
unsigned act_errorlist(const struct act_in *in, struct strbuf *out);
unsigned act_fileresult(const struct act_in *in, struct strbuf *out);
/* The same over open streams, for the fuzz harness: result may be NULL */
void result_seqdetail(FILE *result, struct php_obj *o);
void result_list(FILE *result, const struct params *params, bool errors, struct php_obj *o);
void result_file(FILE *result, const char *val, struct php_obj *o);
bool stat_status(const char *stat, struct php_obj *o); /* true: the error branch */

/* convert.c */
struct httpd;
struct convert_in {
	const struct params *params;
	const struct upload *upload;
	const char *idem_key; /* Idempotency-Key header or NULL */
};
/* *retry_after: seconds for a Retry-After header when the answer is 503 */
unsigned act_convert(struct httpd *h, const struct convert_in *in, struct strbuf *out, char *err,
		     size_t elen, unsigned *retry_after);
/* act = "pause" | "resume" | "stop" | "cancel" */
unsigned act_control(struct httpd *h, const char *act, const char *seq, struct strbuf *out,
		     char *err, size_t elen);

/* dup.c: TMC's "duplicated", from the job names of req/ and proc/ kept by
 * inotify. Is the job text (and list) identical to a job waiting in req/
 * or running in proc/? 1 with its seq, 0 no, -1 error. */
int job_find_same(int spoolfd, const char *spool, const char *text, size_t len, const char *list,
		  size_t listlen, char *seq, size_t seqlen);
/* A job we just queued: known without reading it back. */
void job_note_queued(const char *seq, const char *text, size_t len);

/* idem.c: Idempotency-Key records, durable before their job (see idem.c) */
enum { IDEM_NEW, IDEM_REPLAY, IDEM_REUSED };
struct idem {
	struct httpd *h;
	int dirfd;                     /* req/.idempotency, flocked while queueing */
	char name[2 * SHA256_LEN + 1]; /* sha256 of the key */
	char job[2 * SHA256_LEN + 1];  /* sha256 of job and list */
};
bool idem_key_valid(const char *key); /* 1 to 255 visible ASCII characters */
/* Lock and look up: IDEM_REPLAY with seq, IDEM_REUSED (another job), or
 * IDEM_NEW with the lock held until idem_end(); -1 with errno. */
int idem_begin(struct httpd *h, struct idem *id, const char *key, const char *json, size_t jlen,
	       const char *list, size_t listlen, char *seq, size_t seqlen);
int idem_record(const char *seq, void *arg); /* job_queue_hook's before_link */
void idem_end(struct idem *id);

/* conns.c: the whole-request deadline (libmicrohttpd callbacks and the reaper) */
struct MHD_Connection;
enum MHD_ConnectionNotificationCode;
void conns_notify(void *cls, struct MHD_Connection *c, void **socket_context,
		  enum MHD_ConnectionNotificationCode toe);
void conns_answered(struct MHD_Connection *c);     /* an answer is queued */
void conns_request_done(struct MHD_Connection *c); /* the deadline starts again */
void conns_reap(int deadline_s);                   /* close connections past it */

/* metrics.c: Prometheus text format 0.0.4 */
void metrics_write(struct httpd *h, struct strbuf *out);

/* healthz.c: /healthz (200 or 503, reasons as text or JSON) from
 * spool_health(), with req/ not writable by us as a condition of its own */
unsigned healthz_write(struct httpd *h, bool json, struct strbuf *out, char *err, size_t elen);
void health_collect(struct httpd *h, struct spool_health *hl);

/* page.c: GET / and /status, the status view as HTML; page_chart.c its
 * throughput chart */
void page_write(struct httpd *h, struct strbuf *out);
void html_esc(struct strbuf *out, const char *s);
void page_chart(struct httpd *h, struct strbuf *out);

/* server.c */
struct httpd {
	struct conf conf;
	const char *conf_path, *tpl_path;
	struct spool spool;
	struct MHD_Daemon *mhd;
	bool loopback;         /* bound to a loopback address: check Host */
	int64_t idem_swept_ms; /* last sweep of req/.idempotency */
	/* counters for /metrics */
	unsigned long long requests[6]; /* by status class: 1xx..5xx, [0] other */
	unsigned long long accepted, duplicated, rejected, replayed;
};
int server_start(struct httpd *h);
int server_fd(struct httpd *h);         /* the epoll fd to wait on */
int server_timeout_ms(struct httpd *h); /* for poll(), at most 500 */
void server_run(struct httpd *h);
void server_stop(struct httpd *h);

#endif
