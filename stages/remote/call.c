/*
 * call.c - one request to one gearmand, and its reply awaited.
 *
 * One task, run (non-blocking, one look a second) until it completes,
 * fails, nothing comes from the worker host for the deadline, or the
 * program is asked to stop. The unique id is the request's nonce: a
 * re-send is a new job (joining an abandoned one would bring back a reply
 * to the old nonce, refused), and spool hosts sharing a gearmand never
 * collide. A data packet "started <host>"
 * sent by the worker host when it takes the job tells which host has it
 * (status), before the reply does. Every failure here is a fault, not
 * the item's: the caller puts the item back and sends it again later.
 */
#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libgearman-1.0/gearman.h>

#include "remote.h"

typedef void client_ssl_fn(gearman_client_st *, bool, const char *, const char *, const char *);
static client_ssl_fn *tls_set; /* gearman.tls: libgearman's setter, found at init */

/* gearman.tls as tmc-gworker does it (stages/gworker/gear.c), looked up at
 * run time. libgearman 1.1.20 exports gearman_client_set_ssl whether or
 * not it was built with an SSL library (Debian's 1.1.20 has it, links no
 * SSL library, and then talks in clear); gearman_worker_set_ssl it exports
 * only when built with one, so that symbol is the proof of TLS. Without it
 * the key is refused at start, never sent in clear. */
int
gear_tls_init(bool tls)
{
	if (!tls)
		return 0;
	if (dlsym(RTLD_DEFAULT, "gearman_worker_set_ssl") == NULL)
		return -1;
	*(void **)&tls_set = dlsym(RTLD_DEFAULT, "gearman_client_set_ssl");
	return tls_set ? 0 : -1;
}

static int
client_setup(gearman_client_st *cl, const char *server, int64_t timeout_ms, char *reason,
	     size_t rlen)
{
	char host[256];
	const char *colon = strrchr(server, ':');
	in_port_t port = GEARMAN_DEFAULT_TCP_PORT;

	snprintf(host, sizeof(host), "%s", server);
	if (colon) {
		host[colon - server] = '\0';
		port = (in_port_t)atoi(colon + 1);
	}
	if (tls_set) /* certificates: libgearman's GEARMAND_CA_CERTIFICATE... */
		tls_set(cl, true, NULL, NULL, NULL);
	if (gearman_client_add_server(cl, host, port) != GEARMAN_SUCCESS) {
		snprintf(reason, rlen, "gearmand %s: %s", server, gearman_client_error(cl));
		return -1;
	}
	gearman_client_set_timeout(cl, timeout_ms > INT_MAX ? INT_MAX : (int)timeout_ms);
	return 0;
}

/* "started <host>": the worker host that took the job (status: in flight).
 * Unsigned, so the name is taken only when it is a plain host name; true
 * when the packet is a "started" one at all. */
static bool
note_data(const char *fn, const void *d, size_t n, char *host, size_t hlen)
{
	if (n < 8 || memcmp(d, "started ", 8) != 0)
		return false;
	if (remote_host_ok((const char *)d + 8, n - 8)) {
		snprintf(host, hlen, "%.*s", (int)(n - 8), (const char *)d + 8);
		rstatus_begin(host, fn);
	}
	return true;
}

/* A reply with the data packets in front of it ("started <host>" then
 * WIRE_MAGIC), as some libgearman releases hand the result: the reply
 * alone. */
static void
strip_data(const char *fn, void **res, size_t *n, char *host, size_t hlen)
{
	const char *magic = WIRE_MAGIC " ", *at;
	size_t off;

	if (*n < 8 || memcmp(*res, "started ", 8) != 0)
		return;
	if ((at = memmem(*res, *n, magic, strlen(magic))) == NULL)
		return;
	off = (size_t)(at - (const char *)*res);
	note_data(fn, *res, off, host, hlen);
	memmove(*res, at, *n - off);
	*n -= off;
}

/* What the task's callbacks saw. */
struct call {
	const char *fn;
	char *host;
	size_t hlen;
	struct strbuf reply;
	long max_reply;
	size_t over; /* a reply this big came, over max_reply: not copied */
	bool done;
	bool started; /* the worker host's "started <host>" came */
};

static gearman_return_t
on_data(gearman_task_st *task)
{
	struct call *c = gearman_task_context(task);

	if (note_data(c->fn, gearman_task_data(task), gearman_task_data_size(task), c->host,
		      c->hlen))
		c->started = true;
	return GEARMAN_SUCCESS;
}

static gearman_return_t
on_complete(gearman_task_st *task)
{
	struct call *c = gearman_task_context(task);

	size_t n = gearman_task_data_size(task);

	/* checked before the copy: an oversize reply never costs its size twice
	 * (the "started" packets some releases put in front are small) */
	if (n > (size_t)c->max_reply + 8 + REMOTE_HOST_MAX)
		c->over = n;
	else
		sb_add(&c->reply, gearman_task_data(task), n);
	c->done = true;
	return GEARMAN_SUCCESS;
}

/* The job ran and failed (its worker said so), or gearmand gave it up. */
static gearman_return_t
on_fail(gearman_task_st *task)
{
	(void)task;
	return GEARMAN_SUCCESS;
}

/* SIGTERM or SIGINT waits (the skeleton blocks them for its signalfd) */
static bool
stop_pending(void)
{
	sigset_t set;

	return sigpending(&set) == 0 && (sigismember(&set, SIGTERM) || sigismember(&set, SIGINT));
}

/* Run the task until it ends, until no worker host took it within
 * REMOTE_START_WAIT_S, until deadline_s passed since one did (the first
 * "started" packet, never a later one), or until the program is asked to
 * stop (*stopped): one look a second, so a stopping daemon never waits for
 * a deadline. At most REMOTE_START_WAIT_S + deadline_s in all, under the
 * supervisor's limit for tmc-remote (tmcwatch/plan.c: deadline + 60). */
static gearman_return_t
call_run(gearman_client_st *cl, struct call *c, int deadline_s, bool *stopped)
{
	int64_t t0 = now_ms_mono(), last = t0;
	bool started = false;
	gearman_return_t ret;

	gearman_client_add_options(cl, GEARMAN_CLIENT_NON_BLOCKING);
	gearman_client_set_timeout(cl, 1000);
	for (;;) {
		ret = gearman_client_run_tasks(cl);
		if (c->done || (ret != GEARMAN_IO_WAIT && ret != GEARMAN_PAUSE))
			return c->done ? GEARMAN_SUCCESS : ret;
		if (c->started && !started) {
			started = true;
			last = now_ms_mono();
		}
		if ((*stopped = stop_pending()) ||
		    now_ms_mono() - last >=
			    (started ? deadline_s : REMOTE_START_WAIT_S) * (int64_t)1000)
			return GEARMAN_TIMEOUT;
		ret = gearman_client_wait(cl);
		if (ret != GEARMAN_SUCCESS && ret != GEARMAN_TIMEOUT && ret != GEARMAN_IO_WAIT)
			return ret;
	}
}

static int
call_result(struct call *c, gearman_client_st *cl, gearman_return_t ret, const char *server,
	    int deadline_s, long max_reply, uint8_t **rep, size_t *replen, char *reason,
	    size_t rlen)
{
	void *res = c->reply.buf;
	size_t n = c->reply.len;

	if (ret == GEARMAN_SUCCESS && c->done && (res || c->over)) {
		if (res)
			strip_data(c->fn, &res, &n, c->host, c->hlen);
		if (res && (long)n <= max_reply) {
			*rep = res;
			*replen = n;
			return 0;
		}
		snprintf(reason, rlen, "gearmand %s: %s: a reply of %zu bytes (max_reply %ld)",
			 server, c->fn, c->over ? c->over : n, max_reply);
		sb_free(&c->reply);
		return -3;
	} else if (ret == GEARMAN_TIMEOUT && !c->started) {
		snprintf(reason, rlen, "gearmand %s: %s: no worker host took it within %d s",
			 server, c->fn, REMOTE_START_WAIT_S);
	} else if (ret == GEARMAN_TIMEOUT) {
		snprintf(reason, rlen, "gearmand %s: %s: no reply within %d s of its start", server,
			 c->fn, deadline_s);
	} else if (ret == GEARMAN_SUCCESS) {
		snprintf(reason, rlen, "gearmand %s: %s: the job failed on its worker host", server,
			 c->fn);
	} else {
		snprintf(reason, rlen, "gearmand %s: %s: %s", server, c->fn,
			 gearman_client_error(cl) ?: gearman_strerror(ret));
	}
	sb_free(&c->reply);
	return -1;
}

int
gear_call(const char *server, const char *fn, const char *unique, const void *req, size_t reqlen,
	  int deadline_s, long max_reply, uint8_t **rep, size_t *replen, char *host, size_t hlen,
	  char *reason, size_t rlen)
{
	gearman_client_st *cl = gearman_client_create(NULL);
	struct call c = {.fn = fn, .host = host, .hlen = hlen, .max_reply = max_reply};
	gearman_return_t ret;
	bool stopped = false;
	int r;

	*rep = NULL;
	if (cl == NULL) {
		snprintf(reason, rlen, "gearman client: %s", strerror(ENOMEM));
		return -1;
	}
	if (client_setup(cl, server, deadline_s * (int64_t)1000, reason, rlen) < 0) {
		gearman_client_free(cl);
		return -1;
	}
	gearman_client_set_data_fn(cl, on_data);
	gearman_client_set_complete_fn(cl, on_complete);
	gearman_client_set_fail_fn(cl, on_fail);
	if (gearman_client_add_task(cl, NULL, &c, fn, unique, req, reqlen, &ret) == NULL ||
	    ret != GEARMAN_SUCCESS) {
		snprintf(reason, rlen, "gearmand %s: %s: %s", server, fn, gearman_client_error(cl));
		gearman_client_free(cl);
		return -1;
	}
	ret = call_run(cl, &c, deadline_s, &stopped);
	r = call_result(&c, cl, ret, server, deadline_s, max_reply, rep, replen, reason, rlen);
	if (stopped) {
		snprintf(reason, rlen, "stopping: the unit in flight on %s is given up",
			 host[0] ? host : server);
		r = -2;
	}
	gearman_client_free(cl);
	return r;
}
