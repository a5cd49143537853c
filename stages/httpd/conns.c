/*
 * conns.c - the whole-request deadline: http.request_deadline seconds for
 * a request's head and body, counted from the connection's accept (or the
 * end of its previous request on a kept-alive connection).
 *
 * libmicrohttpd's connection timeout restarts with every byte, so a client
 * sending one byte a second holds its connection (and, with enough of
 * them, the server) forever. Here every connection is stamped when it is
 * accepted (MHD_OPTION_NOTIFY_CONNECTION, the socket context), and
 * conns_reap(), run before every MHD_run() of the loop (at most 500 ms
 * apart), shuts down the socket of any connection still without an answer
 * past the deadline: libmicrohttpd then sees the end of the stream and
 * closes it. A connection whose answer is queued is not cut (a slow reader
 * of an answer is bounded by http.timeout). The per-address and total
 * limits are libmicrohttpd's own (server.c).
 */
#include <stdlib.h>
#include <sys/socket.h>

#include <microhttpd.h>

#include "httpd.h"

struct conn {
	struct conn *prev, *next;
	int fd;
	int64_t start_ms; /* accept, or the end of the previous request */
	bool answered;    /* an answer is queued: not ours to cut */
	bool cut;         /* shut down once */
};

static struct conn *conns;

void
conns_notify(void *cls, struct MHD_Connection *c, void **socket_context,
	     enum MHD_ConnectionNotificationCode toe)
{
	const union MHD_ConnectionInfo *ci;
	struct conn *k;

	(void)cls;
	if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
		ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
		k = xcalloc(1, sizeof(*k));
		k->fd = ci ? ci->connect_fd : -1;
		k->start_ms = now_ms_mono();
		k->next = conns;
		if (conns)
			conns->prev = k;
		conns = k;
		*socket_context = k;
	} else if ((k = *socket_context) != NULL) {
		if (k->prev)
			k->prev->next = k->next;
		else
			conns = k->next;
		if (k->next)
			k->next->prev = k->prev;
		free(k);
		*socket_context = NULL;
	}
}

static struct conn *
conn_of(struct MHD_Connection *c)
{
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);

	return ci ? ci->socket_context : NULL;
}

void
conns_answered(struct MHD_Connection *c)
{
	struct conn *k = conn_of(c);

	if (k)
		k->answered = true;
}

void
conns_request_done(struct MHD_Connection *c)
{
	struct conn *k = conn_of(c);

	if (k) {
		k->answered = false;
		k->start_ms = now_ms_mono();
	}
}

void
conns_reap(int deadline_s)
{
	int64_t limit = now_ms_mono() - (int64_t)deadline_s * 1000;
	unsigned n = 0;

	for (struct conn *k = conns; k; k = k->next) {
		if (k->answered || k->cut || k->start_ms > limit || k->fd < 0)
			continue;
		shutdown(k->fd, SHUT_RDWR);
		k->cut = true;
		n++;
	}
	if (n)
		log_info("HTTP: %u connection%s past http.request_deadline (%d s) closed", n,
			 n == 1 ? "" : "s", deadline_s);
}
