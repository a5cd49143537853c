/*
 * notify.h - tmc-notify: job callbacks from <spool>/outbox, POSTed with
 * libcurl (doc/TMC.md, Callback, with Fixes: daemon loop and security),
 * and the per-step callbacks stages queue there (kind=get, kind=file:
 * stepcb.c).
 *
 * The outbox is a stage folder (tmp/ new/ cur/ err/) and an item is one
 * callback: tmc-jobs publishes it with item_publish() and a ticket of
 *   url        the job's hires.callback (http or https only)
 *   seq        the job's seq (also the delivery id: X-TMC-Delivery)
 *   result, count, processed, created, warn   TMC's callback fields, as text
 * A step callback's ticket has instead kind=get + url, or kind=file + target
 * + cmd, and origin, item, step, file (stage/stepcb.c).
 * tmc-notify adds first_try (real seconds of the first failed attempt) and,
 * through item_fail(), attempt, not_before and last_error.
 *
 * Files: main.c (arguments, signals, the loop over inotify, signalfd and
 * curl's sockets), deliver.c (one callback: request, answer, outcome),
 * queue.c (what to take now: retries not yet due, receivers at their
 * limit), stepcb.c (step callbacks: log names, delivered markers, the file
 * drop).
 */
#ifndef TMC_NOTIFY_H
#define TMC_NOTIFY_H

#include <curl/curl.h>

#include "conf.h"
#include "spool.h"

#define NOTIFY_PARALLEL 16 /* transfers at once */
#define NOTIFY_PER_HOST 4  /* ... to one receiver (host:port) */
#define NOTIFY_HOST_MAX 128
#define NOTIFY_ANSWER_MAX 65536 /* bytes of a receiver's answer we keep */

enum cb_kind {
	CB_POST, /* a job callback: TMC's multipart POST */
	CB_GET,  /* a step's "curl" action */
	CB_FILE, /* a step's "file" action */
	CB_BAD,  /* an unknown kind: outbox/err/ */
};

struct delivery {
	bool busy;
	enum cb_kind kind;
	char what[1024];            /* "callback <url> for job <seq>", ... (cb_what) */
	char host[NOTIFY_HOST_MAX]; /* the receiver, "host:port" */
	struct item it;
	CURL *easy;
	struct curl_slist *headers;
	struct strbuf body; /* the multipart request, fixed across retries */
	struct strbuf answer;
	char errbuf[CURL_ERROR_SIZE];
	int64_t t0_ms;
};

struct deferred {
	char id[ITEM_ID_MAX];
	int64_t due_s; /* real time */
};

struct held {
	char id[ITEM_ID_MAX];
	char host[NOTIFY_HOST_MAX];
};

struct notify {
	struct conf conf;
	struct spool spool;
	struct stage_dir sd;
	int sentfd; /* outbox/sent: delivered markers of step callbacks */
	struct inbox inbox;
	int sigfd;
	CURLM *multi;
	struct delivery d[NOTIFY_PARALLEL];
	size_t active;
	struct deferred *def; /* items waiting for their not_before */
	size_t ndef;
	struct held *held; /* items waiting for a transfer to their receiver */
	size_t nheld;
	char **ready; /* held items whose receiver has room again */
	size_t nready;
	bool stop;
	unsigned long long delivered, failed;
};

/* deliver.c */
/* Start the POST for a claimed item; false when it could not start (the
 * item was failed or put back, and released). */
bool deliver_start(struct notify *n, struct delivery *d);
/* A finished transfer: success -> item removed; failure -> retried later
 * with backoff, or outbox/err/ with the last error once
 * callback_retry_for has passed. The item is released. */
void deliver_done(struct notify *n, struct delivery *d, CURLcode rc);
/* The multipart body TMC's libcurl call produced, in TMC's field order. */
void deliver_body(const struct ticket *t, struct strbuf *body, char *boundary, size_t blen);
/* {"code":1} with PHP's loose ==: 1, "1", true, 1.0 */
bool deliver_answer_ok(const char *answer, size_t len);

/* stepcb.c */
enum cb_kind cb_kind(const struct ticket *t);
void cb_what(const struct ticket *t, const char *id, char *buf, size_t len);
bool cb_sent(struct notify *n, const char *id);
void cb_mark_sent(struct notify *n, const char *id);
/* Write cmd as a new file named by target (see stepcb.c); 0 with the
 * file's path in path, or -1 with errno and the folder in path. */
int cb_file_drop(const char *target, const char *cmd, char *path, size_t plen);

/* queue.c: which items in new/ to take now, in memory (the folder is the
 * truth: forgetting all of it costs one scan) */
void queue_defer(struct notify *n, const char *id, int64_t due_s);
bool queue_deferred(struct notify *n, const char *id, int64_t now); /* due ones dropped */
void queue_forget_due(struct notify *n, int64_t now);
long queue_next_due_ms(struct notify *n, int64_t now); /* -1: nothing deferred */
/* "host:port" of the item's url, read from new/<id>/ticket without claiming */
bool queue_peek_host(struct notify *n, const char *id, char *host, size_t len);
bool queue_host_busy(struct notify *n, const char *host);
void queue_hold(struct notify *n, const char *id, const char *host);
bool queue_held(struct notify *n, const char *id);
void queue_release(struct notify *n, const char *host); /* a transfer to host ended */
const char *queue_next_ready(struct notify *n);
void queue_free(struct notify *n);

#endif
