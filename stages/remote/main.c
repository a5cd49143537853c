/*
 * tmc-remote - a remote unit's items sent to worker hosts through gearmand
 * (tmc-remote(8), tmcwatch-worker(8)).
 *
 * A stage program on the skeleton, beside the local workers of the head
 * step of a remote unit: it claims an item the same way, but only while a
 * worker host has registered the unit's function (ops->ready), takes no
 * worker slot (the CPU is the worker host's), sends the original in one
 * signed request, waits for the one reply that carries the outputs of
 * every step of the unit, and writes them here (apply.c). The skeleton
 * then writes the head's result line and commits the item with no
 * successors: the unit covered the steps below.
 * Outcomes: anything that is not the item's fault (gearmand unreachable,
 * no reply by the deadline, a dead worker host, a bad reply, a refusal
 * with retry=1) is STAGE_FAULT: back to new/ with no attempt counted. An
 * original over max_payload, no worker host for a big one, or a refusal
 * with retry=0 (the hosts' templates differ) is STAGE_DECLINED: left to
 * the local workers.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sysexits.h>
#include <unistd.h>

#include "remote.h"

static const struct conf *conf;
static bool status_open;

static int
remote_init(const struct conf *c)
{
	conf = c;
	if (c->gearman.nservers == 0) {
		log_errx("no gearman.servers in %s: nothing to send", c->path);
		return -1;
	}
	if (gear_tls_init(c->gearman.tls) < 0) {
		log_errx("gearman.tls is true, but this libgearman was built without TLS "
			 "(it has no gearman_worker_set_ssl): refusing to talk to gearmand in "
			 "clear");
		exit(EX_CONFIG);
	}
	/* one request at a time, each an original of up to max_payload bytes
	 * and a reply: the heap stays mapped between them (util/heap.c) */
	heap_keep_for((size_t)c->gearman.max_payload, (size_t)c->gearman.max_reply);
	return 0;
}

static bool
remote_ready(const struct template *tpl, int idx)
{
	static char *fn, *fn_big;

	if (fn == NULL) {
		fn = conf_remote_function(tpl, (size_t)idx, false);
		fn_big = conf_remote_function(tpl, (size_t)idx, true);
	}
	return gear_has_worker(conf, fn) || gear_has_worker(conf, fn_big);
}

static void
make_nonce(char hex[33])
{
	uint8_t b[16];

	if (getrandom(b, sizeof(b), 0) != (ssize_t)sizeof(b))
		fatal("getrandom");
	for (size_t i = 0; i < sizeof(b); i++)
		snprintf(hex + 2 * i, 3, "%02x", b[i]);
}

/* Seconds the worker host may spend: gearman.deadline, else the step's
 * time limit (as the supervisor gives a local worker). */
int remote_deadline(const struct conf *c, const struct step *s);
int
remote_deadline(const struct conf *c, const struct step *s)
{
	if (c->gearman.deadline > 0)
		return c->gearman.deadline;
	if (s->timeout > 0)
		return s->timeout;
	return s->kind == STEP_VIDEO ? c->video_timeout : c->image_timeout;
}

/* Send the unit and apply its reply; pk's cap slot is held meanwhile. */
static enum stage_rc
remote_send(struct stage_ctx *ctx, struct gear_pick *pk, const char *fn, uint8_t *req,
	    size_t reqlen, const char *nonce)
{
	char host[REMOTE_HOST_MAX] = "";
	int deadline = remote_deadline(conf, ctx->step);
	uint8_t *rep;
	size_t replen;
	enum stage_rc rc;
	int r;

	/* the nonce as gearman's unique id: a re-send (a new nonce) never joins
	 * an abandoned job whose reply it would refuse, spool hosts sharing a
	 * gearmand never collide, and 32 characters fit libgearman's 63 */
	r = gear_call(pk->server, fn, nonce, req, reqlen, deadline, conf->gearman.max_reply, &rep,
		      &replen, host, sizeof(host), ctx->reason, sizeof(ctx->reason));
	if (r < 0) {
		rstatus_idle(); /* no signed reply: no host is counted */
		if (r == -3)    /* sending it again gets the same: the local workers do it */
			log_errx("%s: %s (refused; the local workers do it)", ctx->item->id,
				 ctx->reason);
		return r == -2 ? STAGE_STOPPED : r == -3 ? STAGE_DECLINED : STAGE_FAULT;
	}
	rc = reply_apply(ctx, rep, replen, nonce, host, sizeof(host));
	free(rep);
	if (host[0]) /* named by its signed reply, which checked */
		rstatus_end(host, fn, rc == STAGE_OK);
	else
		rstatus_idle();
	if (rc == STAGE_OK)
		log_info("%s: unit %s done on %s", ctx->item->id, fn, host);
	return rc;
}

static enum stage_rc
remote_process(struct stage_ctx *ctx)
{
	const struct gearman_conf *g = &conf->gearman;
	struct gear_pick pk;
	struct stat st;
	char nonce[33], *fn;
	uint8_t *req;
	size_t reqlen;
	enum stage_rc rc;
	int fd;

	if (!status_open) {
		rstatus_init(ctx->spool);
		status_open = true;
	}
	if ((fd = stage_open_source(ctx, &st)) < 0) /* the local workers say why */
		return stage_errno_rc(errno, "tmc-remote") == STAGE_FAULT ? STAGE_FAULT
									  : STAGE_DECLINED;
	if (st.st_size > g->max_payload) {
		snprintf(ctx->reason, sizeof(ctx->reason), "%lld bytes, over max_payload %ld",
			 (long long)st.st_size, g->max_payload);
		close(fd);
		return STAGE_DECLINED;
	}
	fn = conf_remote_function(ctx->tpl, (size_t)ctx->step_idx, st.st_size > g->big_bytes);
	if (gear_pick(conf, ctx->spool, fn, &pk) < 0) {
		snprintf(ctx->reason, sizeof(ctx->reason), "no worker host free for %s", fn);
		close(fd);
		free(fn);
		return STAGE_DECLINED;
	}
	make_nonce(nonce);
	req = request_build(ctx, fd, (long long)st.st_size, nonce, remote_deadline(conf, ctx->step),
			    &reqlen);
	close(fd);
	rc = req ? remote_send(ctx, &pk, fn, req, reqlen, nonce) : stage_errno_rc(errno, fn);
	gear_release(&pk);
	free(req);
	free(fn);
	return rc;
}

static void
remote_fini(void)
{
	rstatus_fini();
}

static const struct stage_ops remote_ops = {
	.name = "tmc-remote",
	.init = remote_init,
	.ready = remote_ready,
	.process = remote_process,
	.fini = remote_fini,
	.noslot = true,
};

int
main(int argc, char **argv)
{
	return stage_main(argc, argv, &remote_ops);
}
