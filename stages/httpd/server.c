/*
 * server.c - libmicrohttpd, driven from our own loop (main.c) through its
 * epoll fd: one thread, so a handler runs to its end before the next one
 * starts and no job file is ever written by two requests at once.
 *
 * Every request, at its headers, before any body is read:
 *   method  GET, HEAD or POST, else 405;
 *   Host    when bound to a loopback address: localhost, 127.0.0.1,
 *           [::1] or the listen address, with or without a port, else 403
 *           (DNS rebinding);
 *   path    /api/..., /api, /api.php (TMC's .htaccess routed ^api/ to
 *           api.php), /healthz, /metrics, / and /status (page.c); else 404;
 *   token   with http.token set: "Authorization: Bearer <token>" on /api,
 *           /metrics and the page, else 401 (/healthz stays open for probes);
 *   Origin  a browser's cross-site request (Sec-Fetch-Site: cross-site, or
 *           an Origin other than a loopback one on a loopback server) is
 *           refused with 403: GET act=convert must not be a CSRF target;
 *   size    Content-Length above http.max_body: 413 at once. A chunked
 *           body that grows past it is cut: the connection is closed.
 * Limits: http.max_connections in all (MHD_OPTION_CONNECTION_LIMIT),
 * http.max_per_ip per client address (MHD_OPTION_PER_IP_CONNECTION_LIMIT:
 * one address cannot take every connection), http.request_deadline seconds
 * for a whole request head and body however slowly it trickles (conns.c),
 * http.timeout seconds of silence (MHD_OPTION_CONNECTION_TIMEOUT), 64 KiB
 * of headers and query string per connection (MHD answers 431/414 above).
 *
 * Then the body (kept whole, at most max_body) is parsed as PHP's
 * $_REQUEST (form.c) and the act is called. Every answer is JSON with
 * Content-Type application/json (metrics and healthz: text/plain); an
 * error carries its reason in an X-TMC-Error header so that TMC's bodies
 * stay as they were, and by default (http.status_codes "tmc") an act's
 * answer is a 200 like all of TMC's (tmc_status). Per-request state is freed in the completion
 * callback, whatever happened to the connection.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <fcntl.h>
#include <unistd.h>

#include <microhttpd.h>

#include "httpd.h"

#define HEADER_MEMORY (64 * 1024)

enum route { R_NONE, R_API, R_HEALTHZ, R_METRICS, R_PAGE };
enum method { M_GET, M_HEAD, M_POST };

struct request {
	enum method method;
	enum route route;
	struct strbuf body;
	bool answered; /* a response was queued at the headers */
};

struct reply {
	unsigned code;
	const char *ctype;
	struct strbuf body;
	char err[1024];
	unsigned retry_after; /* seconds, for a 503 */
	unsigned rest_code;   /* the REST status an act's answer was sent as 200 for */
};

static void
mhd_log(void *cls, const char *fmt, va_list ap)
{
	char buf[1024];

	(void)cls;
	vsnprintf(buf, sizeof(buf), fmt, ap);
	buf[strcspn(buf, "\n")] = '\0';
	log_warnx("libmicrohttpd: %s", buf);
}

/* A header value may not carry a line break: anything below 0x20 is a space */
static void
header_safe(char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			*s = ' ';
}

static enum MHD_Result
send_reply(struct httpd *h, struct MHD_Connection *c, struct reply *r)
{
	struct MHD_Response *resp;
	enum MHD_Result ret;
	size_t len = r->body.len;
	char *buf = r->body.buf ? r->body.buf : xstrdup("");

	r->body.buf = NULL;
	resp = MHD_create_response_from_buffer(len, buf, MHD_RESPMEM_MUST_FREE);
	if (resp == NULL) {
		free(buf);
		return MHD_NO;
	}
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
				r->ctype ? r->ctype : "application/json");
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
	if (r->ctype && strncmp(r->ctype, "text/html", 9) == 0) /* the page: no script at all */
		MHD_add_response_header(resp, "Content-Security-Policy",
					"default-src 'none'; style-src 'unsafe-inline'");
	if (r->err[0]) {
		header_safe(r->err);
		MHD_add_response_header(resp, "X-TMC-Error", r->err);
	}
	if (r->code == 401)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_WWW_AUTHENTICATE,
					"Bearer realm=\"tmcwatch\"");
	if (r->code == 503 && r->retry_after) {
		char ra[16];

		snprintf(ra, sizeof(ra), "%u", r->retry_after);
		MHD_add_response_header(resp, MHD_HTTP_HEADER_RETRY_AFTER, ra);
	}
	if (r->code == 405)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, "GET, HEAD, POST");
	ret = MHD_queue_response(c, r->code, resp);
	conns_answered(c);
	MHD_destroy_response(resp);
	h->requests[r->code >= 100 && r->code < 600 ? r->code / 100 : 0]++;
	if (r->code >= 400 || r->rest_code >= 400)
		log_info("HTTP %u%s%s", r->rest_code >= 400 ? r->rest_code : r->code,
			 r->err[0] ? ": " : "", r->err);
	return ret;
}

/* {"result":"<text>"} with a status and a reason */
static enum MHD_Result
send_error(struct httpd *h, struct MHD_Connection *c, unsigned code, const char *result,
	   const char *fmt, ...)
{
	struct reply r = {.code = code};
	struct php_obj o = {0};
	va_list ap;

	php_set_str(&o, "result", result);
	php_encode(&o, &r.body);
	php_obj_free(&o);
	va_start(ap, fmt);
	vsnprintf(r.err, sizeof(r.err), fmt, ap);
	va_end(ap);
	enum MHD_Result ret = send_reply(h, c, &r);
	sb_free(&r.body);
	return ret;
}

/* ---- checks at the headers ---- */

static char listen_name[64]; /* http.listen as a Host names it: "127.0.0.5", "[::1]" */

static bool
host_loopback(const char *host, size_t n)
{
	static const char *names[] = {"localhost", "127.0.0.1", "[::1]", listen_name};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (names[i][0] && strlen(names[i]) == n && strncasecmp(host, names[i], n) == 0)
			return true;
	return false;
}

/* "name[:port]" with a loopback name or the listen address */
static bool
host_ok(const char *host)
{
	const char *port;
	size_t n;

	if (host[0] == '[') {
		const char *rb = strchr(host, ']');

		if (rb == NULL)
			return false;
		n = (size_t)(rb - host) + 1;
	} else {
		n = strcspn(host, ":");
	}
	port = host + n;
	if (*port == ':') {
		size_t digits = strspn(port + 1, "0123456789");

		if (digits < 1 || digits > 5 || port[1 + digits] != '\0')
			return false;
	} else if (*port != '\0') {
		return false;
	}
	return host_loopback(host, n);
}

/* An Origin header ("http://localhost:8080") naming a loopback host */
static bool
origin_ok(const char *origin)
{
	const char *p = strstr(origin, "://");

	if (p == NULL)
		return false;
	p += 3;
	return strchr(p, '/') == NULL && host_ok(p);
}

static bool
token_ok(const char *want, const char *auth)
{
	size_t wl = strlen(want), al;
	unsigned char diff = 0;

	if (auth == NULL || strncasecmp(auth, "Bearer ", 7) != 0)
		return false;
	auth += 7;
	while (*auth == ' ')
		auth++;
	al = strlen(auth);
	if (al != wl)
		return false;
	for (size_t i = 0; i < wl; i++)
		diff |= (unsigned char)(want[i] ^ auth[i]);
	return diff == 0;
}

static enum route
route_of(const char *url)
{
	if (strcmp(url, "/api") == 0 || strncmp(url, "/api/", 5) == 0 ||
	    strcmp(url, "/api.php") == 0)
		return R_API;
	if (strcmp(url, "/healthz") == 0)
		return R_HEALTHZ;
	if (strcmp(url, "/metrics") == 0)
		return R_METRICS;
	if (strcmp(url, "/") == 0 || strcmp(url, "/status") == 0)
		return R_PAGE;
	return R_NONE;
}

static const char *
header(struct MHD_Connection *c, const char *name)
{
	return MHD_lookup_connection_value(c, MHD_HEADER_KIND, name);
}

/* The checks that need no body; returns MHD_YES with rq->answered set when
 * it answered, MHD_YES to go on reading, MHD_NO to drop the connection. */
static enum MHD_Result
request_begin(struct httpd *h, struct MHD_Connection *c, const char *url, const char *method,
	      const char *version, struct request *rq)
{
	const struct http_conf *hc = &h->conf.http;
	const char *host = header(c, MHD_HTTP_HEADER_HOST), *v;
	unsigned long long cl;

	rq->answered = true;
	if (strcmp(method, "GET") == 0)
		rq->method = M_GET;
	else if (strcmp(method, "HEAD") == 0)
		rq->method = M_HEAD;
	else if (strcmp(method, "POST") == 0)
		rq->method = M_POST;
	else
		return send_error(h, c, 405, "method not allowed", "method %.32s", method);
	if (h->loopback && (host ? !host_ok(host) : strcmp(version, "HTTP/1.0") != 0))
		return send_error(h, c, 403, "invalid host", "Host %.200s is not a loopback name",
				  host ? host : "(none)");
	if ((rq->route = route_of(url)) == R_NONE)
		return send_error(h, c, 404, "not found", "no such path %.200s", url);
	if (rq->route != R_HEALTHZ && hc->token &&
	    !token_ok(hc->token, header(c, MHD_HTTP_HEADER_AUTHORIZATION)))
		return send_error(h, c, 401, "unauthorized", "a bearer token is required");
	if (rq->route == R_API) {
		if ((v = header(c, "Sec-Fetch-Site")) != NULL && strcasecmp(v, "cross-site") == 0)
			return send_error(h, c, 403, "cross-site request",
					  "cross-site browser request");
		if (h->loopback && (v = header(c, "Origin")) != NULL && !origin_ok(v))
			return send_error(h, c, 403, "cross-site request", "Origin %.200s", v);
	}
	if ((v = header(c, MHD_HTTP_HEADER_CONTENT_LENGTH)) != NULL) {
		char *end;

		errno = 0;
		cl = strtoull(v, &end, 10);
		if (errno || *end || cl > (unsigned long long)hc->max_body)
			return send_error(h, c, 413, "request too large",
					  "body of %.30s bytes, http.max_body is %ld", v,
					  hc->max_body);
	}
	rq->answered = false;
	return MHD_YES;
}

/* ---- parameters and dispatch ---- */

static enum MHD_Result
query_arg(void *cls, enum MHD_ValueKind kind, const char *key, size_t klen, const char *val,
	  size_t vlen)
{
	(void)kind;
	if (klen <= 256)
		params_set(cls, key, klen, val ? val : "", val ? vlen : 0);
	return MHD_YES;
}

static int
request_params(struct MHD_Connection *c, struct request *rq, struct params *p, struct upload *up,
	       char *err, size_t elen)
{
	const char *ct = header(c, MHD_HTTP_HEADER_CONTENT_TYPE);
	char boundary[80];

	MHD_get_connection_values_n(c, MHD_GET_ARGUMENT_KIND, query_arg, p);
	if (p->n >= PARAMS_MAX) {
		snprintf(err, elen, "more than %d query parameters", PARAMS_MAX);
		return -1;
	}
	if (rq->method != M_POST || ct == NULL)
		return 0;
	if (strncasecmp(ct, "application/x-www-form-urlencoded", 33) == 0)
		return form_urlencoded(p, rq->body.buf ? rq->body.buf : "", rq->body.len, err,
				       elen);
	if (strncasecmp(ct, "multipart/form-data", 19) == 0) {
		if (form_boundary(ct, boundary, sizeof(boundary)) < 0) {
			snprintf(err, elen, "multipart/form-data without a usable boundary");
			return -1;
		}
		return form_multipart(p, up, "fileupload", rq->body.buf ? rq->body.buf : "",
				      rq->body.len, boundary, err, elen);
	}
	return 0; /* other bodies: PHP's $_POST stays empty */
}

typedef unsigned (*read_act)(const struct act_in *, struct strbuf *);

static const struct {
	const char *name;
	read_act fn;
} read_acts[] = {
	{"status", act_status},       {"seqdetail", act_seqdetail},   {"filelist", act_filelist},
	{"errorlist", act_errorlist}, {"fileresult", act_fileresult},
};

static const char *control_acts[] = {"pause", "resume", "stop", "cancel"};

static bool
writes(const char *act)
{
	for (size_t i = 0; i < sizeof(control_acts) / sizeof(control_acts[0]); i++)
		if (strcasecmp(act, control_acts[i]) == 0)
			return true;
	return strcasecmp(act, "convert") == 0;
}

/* act names compare without case: PHP's method_exists() did */
static void
api_dispatch(struct httpd *h, struct MHD_Connection *c, struct request *rq, const struct params *p,
	     const struct upload *up, struct reply *r)
{
	const char *act = params_str(p, "act");
	struct act_in in = {.spoolfd = h->spool.fd, .seq = params_str(p, "seq"), .params = p};

	for (size_t i = 0; act && i < sizeof(read_acts) / sizeof(read_acts[0]); i++)
		if (strcasecmp(act, read_acts[i].name) == 0) {
			r->code = read_acts[i].fn(&in, &r->body);
			if (r->code == 400)
				snprintf(r->err, sizeof(r->err), "%s", TMC_SEQ_NAME_RULE);
			else if (r->code == 404)
				snprintf(r->err, sizeof(r->err),
					 "no job %.64s in req/, proc/, done/ or err/", in.seq);
			return;
		}
	if (act && rq->method == M_HEAD && writes(act)) { /* HEAD changes nothing */
		r->code = 405;
		sb_adds(&r->body, "{\"result\":\"method not allowed\"}");
		snprintf(r->err, sizeof(r->err), "HEAD cannot %s", act);
		return;
	}
	if (act && strcasecmp(act, "convert") == 0) {
		struct convert_in ci = {
			.params = p,
			.upload = up,
			.idem_key =
				MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Idempotency-Key"),
		};
		r->code = act_convert(h, &ci, &r->body, r->err, sizeof(r->err), &r->retry_after);
		if (r->code >= 400)
			h->rejected++;
		return;
	}
	for (size_t i = 0; act && i < sizeof(control_acts) / sizeof(control_acts[0]); i++)
		if (strcasecmp(act, control_acts[i]) == 0) {
			r->code = act_control(h, control_acts[i], in.seq, &r->body, r->err,
					      sizeof(r->err));
			return;
		}
	r->code = 400;
	sb_adds(&r->body, "{\"result\":\"Invalid act value\"}");
	snprintf(r->err, sizeof(r->err), "unknown act %.64s", act ? act : "(none)");
}

/* http.status_codes "tmc" (the default): an act's answer goes out as 200,
 * as TMC's api.php sent everything, so PHP's file_get_contents and `curl -f`
 * read TMC's body; what went wrong stays in X-TMC-Error. Not mapped: 405
 * (HEAD of an act that writes) and 503 with Retry-After (the job was not
 * saved, try again: TMC had no such answer, and a client must not read it
 * as done). The refusals at the headers (401, 403, 404 path, 405, 413) are
 * answered before any act and keep their status. */
static void
tmc_status(struct httpd *h, struct reply *r)
{
	if (h->conf.http.rest_codes || r->code < 400 || r->code == 405 || r->code == 503)
		return;
	if (r->err[0] == '\0')
		snprintf(r->err, sizeof(r->err), "HTTP %u", r->code);
	r->rest_code = r->code;
	r->code = 200;
}

static enum MHD_Result
request_end(struct httpd *h, struct MHD_Connection *c, struct request *rq)
{
	struct params p = {0};
	struct upload up = {0};
	struct reply r = {.code = 200};
	enum MHD_Result ret;

	if (rq->route == R_HEALTHZ) { /* healthz.c */
		const char *acc = header(c, MHD_HTTP_HEADER_ACCEPT);
		bool json = acc && strstr(acc, "application/json");

		r.ctype = json ? "application/json" : "text/plain; charset=utf-8";
		r.code = healthz_write(h, json, &r.body, r.err, sizeof(r.err));
	} else if (rq->route == R_METRICS) {
		r.ctype = "text/plain; version=0.0.4; charset=utf-8";
		metrics_write(h, &r.body);
	} else if (rq->route == R_PAGE) {
		r.ctype = "text/html; charset=utf-8";
		page_write(h, &r.body);
	} else if (request_params(c, rq, &p, &up, r.err, sizeof(r.err)) < 0) {
		r.code = 400;
		sb_adds(&r.body, "{\"result\":\"invalid request\"}");
		tmc_status(h, &r);
	} else {
		api_dispatch(h, c, rq, &p, &up, &r);
		tmc_status(h, &r);
	}
	ret = send_reply(h, c, &r);
	sb_free(&r.body);
	params_free(&p);
	upload_free(&up);
	return ret;
}

static enum MHD_Result
on_request(void *cls, struct MHD_Connection *c, const char *url, const char *method,
	   const char *version, const char *data, size_t *size, void **con_cls)
{
	struct httpd *h = cls;
	struct request *rq = *con_cls;

	if (rq == NULL) {
		*con_cls = rq = xcalloc(1, sizeof(*rq));
		return request_begin(h, c, url, method, version, rq);
	}
	if (*size > 0) {
		if (!rq->answered && rq->body.len + *size > (size_t)h->conf.http.max_body) {
			log_info("HTTP body over %ld bytes (chunked): connection closed",
				 h->conf.http.max_body);
			return MHD_NO;
		}
		if (!rq->answered)
			sb_add(&rq->body, data, *size);
		*size = 0;
		return MHD_YES;
	}
	if (rq->answered)
		return MHD_YES;
	rq->answered = true;
	return request_end(h, c, rq);
}

static void
on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
	     enum MHD_RequestTerminationCode toe)
{
	struct request *rq = *con_cls;

	(void)cls;
	conns_request_done(c);
	if (toe == MHD_REQUEST_TERMINATED_TIMEOUT_REACHED)
		log_info("HTTP connection timed out");
	if (rq) {
		sb_free(&rq->body);
		free(rq);
	}
	*con_cls = NULL;
}

/* ---- the daemon ---- */

static int
listen_addr(struct httpd *h, struct sockaddr_storage *ss, unsigned *flags)
{
	const struct http_conf *hc = &h->conf.http;
	struct sockaddr_in *in4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, hc->listen, &in4->sin_addr) == 1) {
		in4->sin_family = AF_INET;
		in4->sin_port = htons((uint16_t)hc->port);
		h->loopback = (ntohl(in4->sin_addr.s_addr) >> 24) == 127;
		snprintf(listen_name, sizeof(listen_name), "%s", hc->listen);
		return 0;
	}
	if (inet_pton(AF_INET6, hc->listen, &in6->sin6_addr) == 1) {
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons((uint16_t)hc->port);
		h->loopback = IN6_IS_ADDR_LOOPBACK(&in6->sin6_addr);
		snprintf(listen_name, sizeof(listen_name), "[%s]", hc->listen);
		*flags |= MHD_USE_IPv6;
		return 0;
	}
	log_warnx("http.listen \"%s\" is not an IPv4 or IPv6 address", hc->listen);
	return -1;
}

int
server_start(struct httpd *h)
{
	const struct http_conf *hc = &h->conf.http;
	struct sockaddr_storage ss;
	unsigned flags = MHD_USE_EPOLL | MHD_USE_ERROR_LOG;

	if (listen_addr(h, &ss, &flags) < 0)
		return -1;
	h->mhd = MHD_start_daemon(
		flags, (uint16_t)hc->port, NULL, NULL, on_request, h, MHD_OPTION_EXTERNAL_LOGGER,
		mhd_log, h, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
		MHD_OPTION_CONNECTION_LIMIT, (unsigned)hc->max_connections,
		MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned)hc->max_per_ip,
		MHD_OPTION_NOTIFY_CONNECTION, conns_notify, h, MHD_OPTION_CONNECTION_TIMEOUT,
		(unsigned)hc->timeout, MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)HEADER_MEMORY,
		MHD_OPTION_NOTIFY_COMPLETED, on_completed, h, MHD_OPTION_END);
	if (h->mhd == NULL) {
		log_warnx("cannot listen on %s port %d", hc->listen, hc->port);
		return -1;
	}
	log_info("listening on %s port %d%s%s", hc->listen, hc->port,
		 h->loopback ? " (loopback: Host checked)" : "",
		 hc->token ? ", token required" : "");
	return 0;
}

int
server_fd(struct httpd *h)
{
	const union MHD_DaemonInfo *i = MHD_get_daemon_info(h->mhd, MHD_DAEMON_INFO_EPOLL_FD);

	return i ? i->epoll_fd : -1;
}

/* At most half a second: libmicrohttpd takes its listening socket out of
 * the epoll set at max_connections and puts it back only at the start of
 * a later MHD_run(), which no socket event would ever trigger once the
 * last connection has timed out. */
int
server_timeout_ms(struct httpd *h)
{
	MHD_UNSIGNED_LONG_LONG ms;

	if (MHD_get_timeout(h->mhd, &ms) != MHD_YES)
		return 500;
	return ms > 500 ? 500 : (int)ms;
}

void
server_run(struct httpd *h)
{
	conns_reap(h->conf.http.request_deadline);
	MHD_run(h->mhd);
}

void
server_stop(struct httpd *h)
{
	if (h->mhd)
		MHD_stop_daemon(h->mhd);
	h->mhd = NULL;
}
