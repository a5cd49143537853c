/*
 * verify.c - whether a request is believed and served (tmcwatch-worker(8),
 * PROTOCOL). Nothing is read before wire_decode has checked the MAC with
 * gearman.secret and "expires" within gearman.max_skew; then the request
 * must name a template and a head step this host serves as a remote unit,
 * with the same template digest and tmcwatch version (the same bytes from
 * the same original), an original no bigger than gearman.max_payload,
 * and names that are safe as a folder (id, nonce) and a file (name). A
 * refusal is final for that host (retry=0); nothing is published.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gworker.h"

static int
refuse(struct gw_result *res, const char *fmt, const char *a, const char *b)
{
	snprintf(res->error, sizeof(res->error), fmt, a ? a : "", b ? b : "");
	res->retry = false;
	return -1;
}

/* A nonce: GW_NONCE_MIN..GW_NONCE_MAX lowercase hex digits. */
static bool
hex_ok(const char *s)
{
	if (s == NULL || strlen(s) < GW_NONCE_MIN || strlen(s) > GW_NONCE_MAX)
		return false;
	for (; *s; s++)
		if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f')))
			return false;
	return true;
}

/* The request's id and nonce, checked: the folder name "<id>-<nonce>". */
static int
verify_key(struct gw_req *rq, struct gw_result *res)
{
	const char *id = ticket_get(&rq->msg.hdr, "id"), *nonce = ticket_get(&rq->msg.hdr, "nonce");

	if (id == NULL || !id_valid(id) || !hex_ok(nonce) ||
	    snprintf(rq->key, sizeof(rq->key), "%s-%s", id, nonce) >= (int)sizeof(rq->key))
		return refuse(res, "bad request: id \"%s\" or nonce \"%s\"", id, nonce);
	rq->id = id;
	rq->nonce = nonce;
	return 0;
}

/* The unit: template, head step, served here, same digest and version. */
static int
verify_unit(struct gw *g, struct gw_req *rq, struct gw_result *res)
{
	const struct ticket *h = &rq->msg.hdr;
	const char *tname = ticket_get(h, "template"), *digest = ticket_get(h, "digest");
	long long step = ticket_get_ll(h, "step", -1);
	char mine[65];

	if ((rq->tpl = tname ? conf_template(&g->conf, tname) : NULL) == NULL)
		return refuse(res, "not served: template \"%s\" is not defined on host %s", tname,
			      g->host);
	if (step < 0 || (size_t)step >= rq->tpl->nsteps ||
	    !conf_remote_head(&g->conf, rq->tpl, (size_t)step))
		return refuse(res, "not served: step %s of template %s is no remote unit here",
			      ticket_get(h, "step"), tname);
	rq->head = (size_t)step;
	if (strcmp(ticket_get(h, "version") ?: "", TMC_VERSION) != 0)
		return refuse(res,
			      "version mismatch: the spool host runs %s, this host " TMC_VERSION,
			      ticket_get(h, "version"), NULL);
	conf_template_digest(rq->tpl, mine);
	if (strcmp(digest ?: "", mine) != 0)
		return refuse(res, "template digest mismatch for %s: %s differs from this host's",
			      tname, digest);
	conf_site_digest(&g->conf, ticket_get(h, "site"), mine);
	if (strcmp(ticket_get(h, "site_digest") ?: "", mine) != 0)
		return refuse(res,
			      "site digest mismatch for site \"%s\" (its block, profile and "
			      "watermark files, truncated): %s differs from this host's",
			      ticket_get(h, "site"), ticket_get(h, "site_digest"));
	return 0;
}

/* Names that become a folder (id-nonce) and a file (name). */
static int
verify_names(struct gw *g, struct gw_req *rq, struct gw_result *res)
{
	const struct wire_part *src = wire_get(&rq->msg, "src");
	char why[256];

	rq->name = ticket_get(&rq->msg.hdr, "name");
	if (rq->name == NULL || rq->name[0] == '.' || strchr(rq->name, '/') ||
	    path_check_rel(rq->name, why, sizeof(why)) < 0)
		return refuse(res, "bad request: name \"%s\"%s", rq->name, "");
	if (src == NULL)
		return refuse(res, "bad request: no part \"src\"%s%s", NULL, NULL);
	if ((long)src->len > g->conf.gearman.max_payload)
		return refuse(res, "refused: the original (%s bytes) is over gearman.max_payload%s",
			      (snprintf(why, sizeof(why), "%zu", src->len), why), "");
	if (!route_first(rq->tpl, rq->head, path_ext(rq->name)))
		return refuse(res, "not served: step %s does not read a .%s original",
			      rq->tpl->steps[rq->head].name, path_ext(rq->name));
	return 0;
}

int
verify_request(struct gw *g, struct gw_req *rq, const void *buf, size_t len, struct gw_result *res)
{
	const struct gearman_conf *gc = &g->conf.gearman;
	char reason[256];
	long long dl;

	if (wire_decode(&rq->msg, buf, len, "req", gc->secret, strlen(gc->secret), now_s_real(),
			gc->max_skew, reason, sizeof(reason)) < 0)
		return refuse(res, "refused: %s%s", reason, "");
	/* The reply of every later refusal names this request, so that it
	 * cannot be replayed as the answer to another. */
	if (verify_key(rq, res) < 0)
		return -1;
	if (strcmp(ticket_get(&rq->msg.hdr, "v") ?: "", "1") != 0)
		return refuse(res, "refused: protocol version \"%s\" is not 1%s",
			      ticket_get(&rq->msg.hdr, "v"), "");
	if (verify_unit(g, rq, res) < 0 || verify_names(g, rq, res) < 0)
		return -1;
	/* the request's own limit, else the head step's time limit */
	dl = ticket_get_ll(&rq->msg.hdr, "deadline", 0);
	if (dl <= 0 || dl > 86400) {
		const struct step *st = &rq->tpl->steps[rq->head];

		dl = st->timeout              ? st->timeout
		     : st->kind == STEP_VIDEO ? g->conf.video_timeout
					      : g->conf.image_timeout;
	}
	rq->deadline = (int)dl;
	rq->until_ms = now_ms_mono() + dl * 1000;
	return 0;
}

void
request_free(struct gw_req *rq)
{
	wire_free(&rq->msg);
}
