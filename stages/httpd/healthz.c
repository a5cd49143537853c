/*
 * healthz.c - GET /healthz from spool_health() (the answer `tmcwatch
 * status`, the tmc_fault gauges of /metrics and the status page give too).
 *
 * /healthz is 200 "ok" when a job sent now would be queued and worked on;
 * else 503 with one line per condition ("kind (who) since T: cause", T the
 * Unix time or "unknown"), or a JSON object when the client asks for
 * application/json: the daemon not running, the spool full (blocks or
 * inodes), read-only or failing, a program's recorded fault, a child that
 * keeps dying. req/ not writable by us is a condition of its own.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "httpd.h"

/* req/ is where tmc-httpd puts jobs: not writable by us is not healthy,
 * whatever the rest of the spool says. */
static void
req_writable(struct httpd *h, struct spool_health *hl)
{
	struct health_cond *c;

	if (faccessat(h->spool.fd, "req", W_OK, AT_EACCESS) == 0 || hl->n == HEALTH_MAX)
		return;
	c = &hl->c[hl->n++];
	memset(c, 0, sizeof(*c));
	snprintf(c->kind, sizeof(c->kind), "%s", errno == EROFS ? "read-only" : "req-not-writable");
	snprintf(c->who, sizeof(c->who), "tmc-httpd");
	snprintf(c->cause, sizeof(c->cause), "%s/req: %s", h->spool.path, strerror(errno));
}

static void
conds_text(const struct spool_health *hl, struct strbuf *out)
{
	for (size_t i = 0; i < hl->n; i++) {
		const struct health_cond *c = &hl->c[i];

		sb_printf(out, "%s (%s) since ", c->kind, c->who);
		if (c->since > 0)
			sb_printf(out, "%lld", (long long)c->since);
		else
			sb_adds(out, "unknown");
		sb_printf(out, ": %s\n", c->cause);
	}
}

static void
conds_json(const struct spool_health *hl, struct strbuf *out)
{
	sb_printf(out, "{\"status\":\"%s\",\"daemon\":\"%s\",\"conditions\":[",
		  hl->n ? "unhealthy" : "ok", hl->daemon_running ? "running" : "stopped");
	for (size_t i = 0; i < hl->n; i++) {
		const struct health_cond *c = &hl->c[i];

		sb_printf(out, "%s{\"kind\":\"%s\",\"who\":", i ? "," : "", c->kind);
		json_quote(out, c->who, false);
		if (c->since > 0)
			sb_printf(out, ",\"since\":%lld,\"cause\":", (long long)c->since);
		else
			sb_adds(out, ",\"since\":null,\"cause\":");
		json_quote(out, c->cause, false);
		sb_addc(out, '}');
	}
	sb_adds(out, "]}\n");
}

void
health_collect(struct httpd *h, struct spool_health *hl)
{
	spool_health(&h->spool, hl);
	req_writable(h, hl);
}

unsigned
healthz_write(struct httpd *h, bool json, struct strbuf *out, char *err, size_t elen)
{
	struct spool_health hl;

	health_collect(h, &hl);
	if (json)
		conds_json(&hl, out);
	else if (hl.n == 0)
		sb_adds(out, "ok\n");
	else
		conds_text(&hl, out);
	if (hl.n == 0)
		return 200;
	snprintf(err, elen, "%s (%s): %s", hl.c[0].kind, hl.c[0].who, hl.c[0].cause);
	return 503;
}
