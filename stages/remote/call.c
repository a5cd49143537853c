/*
 * call.c - one request to one gearmand, and its reply awaited.
 *
 * gearman_client_do() blocks until the job completes, fails, or the
 * deadline (the client's timeout) passes. The unique id "<item>:<step>"
 * lets gearmand coalesce a re-send with the job still queued or running,
 * so a unit is not done twice at once. A data packet "started <host>"
 * sent by the worker host when it takes the job tells which host has it
 * (status), before the reply does. Every failure here is a fault, not
 * the item's: the caller puts the item back and sends it again later.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libgearman-1.0/gearman.h>

#include "remote.h"

static int
client_setup(gearman_client_st *cl, const char *server, int timeout_ms, char *reason, size_t rlen)
{
	char host[256];
	const char *colon = strrchr(server, ':');
	in_port_t port = GEARMAN_DEFAULT_TCP_PORT;

	snprintf(host, sizeof(host), "%s", server);
	if (colon) {
		host[colon - server] = '\0';
		port = (in_port_t)atoi(colon + 1);
	}
	if (gearman_client_add_server(cl, host, port) != GEARMAN_SUCCESS) {
		snprintf(reason, rlen, "gearmand %s: %s", server, gearman_client_error(cl));
		return -1;
	}
	gearman_client_set_timeout(cl, timeout_ms);
	return 0;
}

/* "started <host>": the worker host that took the job (status: in flight) */
static void
note_data(const char *fn, const void *d, size_t n, char *host, size_t hlen)
{
	if (n > 8 && n < 8 + REMOTE_HOST_MAX && memcmp(d, "started ", 8) == 0) {
		snprintf(host, hlen, "%.*s", (int)(n - 8), (const char *)d + 8);
		rstatus_begin(host, fn);
	}
}

/* libgearman 1.x hands the job's data packets to gearman_client_do()'s
 * caller in front of the result, in one buffer: "started <host>" then the
 * reply, which begins with WIRE_MAGIC. */
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

int
gear_call(const char *server, const char *fn, const char *unique, const void *req, size_t reqlen,
	  int deadline_s, long max_reply, uint8_t **rep, size_t *replen, char *host, size_t hlen,
	  char *reason, size_t rlen)
{
	gearman_client_st *cl = gearman_client_create(NULL);
	int64_t end = now_ms_mono() + (int64_t)deadline_s * 1000;
	gearman_return_t ret = GEARMAN_WORK_DATA;
	void *res = NULL;
	size_t n = 0;

	*rep = NULL;
	if (cl == NULL) {
		snprintf(reason, rlen, "gearman client: %s", strerror(ENOMEM));
		return -1;
	}
	if (client_setup(cl, server, deadline_s * 1000, reason, rlen) < 0) {
		gearman_client_free(cl);
		return -1;
	}
	while (ret == GEARMAN_WORK_DATA || ret == GEARMAN_WORK_STATUS ||
	       ret == GEARMAN_WORK_WARNING || ret == GEARMAN_PAUSE) {
		int64_t left = end - now_ms_mono();

		if (left <= 0) {
			ret = GEARMAN_TIMEOUT;
			break;
		}
		gearman_client_set_timeout(cl, (int)left);
		free(res);
		res = gearman_client_do(cl, fn, unique, req, reqlen, &n, &ret);
		if (ret == GEARMAN_WORK_DATA && res)
			note_data(fn, res, n, host, hlen);
	}
	if (ret == GEARMAN_SUCCESS && res)
		strip_data(fn, &res, &n, host, hlen);
	if (ret == GEARMAN_SUCCESS && res && (long)n <= max_reply) {
		*rep = res;
		*replen = n;
		gearman_client_free(cl);
		return 0;
	}
	if (ret == GEARMAN_SUCCESS)
		snprintf(reason, rlen, "gearmand %s: %s: a reply of %zu bytes (max_reply %ld)",
			 server, fn, n, max_reply);
	else if (ret == GEARMAN_TIMEOUT)
		snprintf(reason, rlen, "gearmand %s: %s: no reply within %d s", server, fn,
			 deadline_s);
	else
		snprintf(reason, rlen, "gearmand %s: %s: %s", server, fn,
			 gearman_client_error(cl) ?: gearman_strerror(ret));
	free(res);
	gearman_client_free(cl);
	return -1;
}
