/*
 * apply.c - a reply, believed only when it is the answer to the request in
 * flight: its MAC (gearman.secret), kind, expiry, and the id, step and
 * nonce we sent. A late reply to an abandoned request carries another
 * nonce and is never applied. Then, under the claim: the files
 * (apply_files.c), every step's result line and usage record, and the step
 * callbacks of the steps below the head (the skeleton writes the head's
 * line and queues its callbacks, then commits with no successors).
 * A step that failed on the worker host (retried there already) sends the
 * head item to err/ with the reason, its unit's lines written here.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "remote.h"

/* A refusal: retry=1 a fault of the worker host, retry=0 a config error
 * (logged loudly once per reason), declined for the local workers. */
static enum stage_rc
reply_refused(struct stage_ctx *ctx, const struct wire_msg *m, const char *host)
{
	static char said[REASON_MAX];
	const char *err = ticket_get(&m->hdr, "error");

	snprintf(ctx->reason, sizeof(ctx->reason), "worker host %s refused: %s", host, err);
	if (ticket_get_ll(&m->hdr, "retry", 0) == 1)
		return STAGE_FAULT;
	if (strcmp(said, ctx->reason) != 0) {
		log_errx("%s: %s (a configuration difference between the hosts; the local "
			 "workers do it)",
			 ctx->item->id, ctx->reason);
		snprintf(said, sizeof(said), "%s", ctx->reason);
	}
	return STAGE_DECLINED;
}

/* A reason names the worker host's private copy of the original,
 * ".../remote/<id>-<nonce>/src/<name>": name ours instead, so that err/ and
 * the result rows say which file, as a local failure does. */
static char *
reason_local(const char *reason, const struct stage_ctx *ctx, const char *nonce)
{
	const char *src = stage_source_path(ctx) ?: "", *name = strrchr(src, '/');
	char *key = xasprintf("/%s-%s/src/%s", ctx->item->id, nonce, name ? name + 1 : src);
	struct strbuf sb = {0};
	const char *p = reason, *hit;

	while ((hit = strstr(p, key)) != NULL) {
		const char *start = hit;

		while (start > p && start[-1] != ' ' && start[-1] != '(')
			start--;
		sb_add(&sb, p, (size_t)(start - p));
		sb_adds(&sb, src);
		p = hit + strlen(key);
	}
	sb_adds(&sb, p);
	free(key);
	return sb.buf ? sb.buf : xstrdup("");
}

static int
reply_lines(struct stage_ctx *ctx, const struct wire_msg *m, struct unit_step *us,
	    const char *nonce)
{
	long long n = ticket_get_ll(&m->hdr, "results", -1);

	for (long long k = 0; k < n; k++) {
		const char *line;
		struct result_line rl;
		char *copy;

		if ((line = reply_key(m, 'r', k, NULL)) == NULL)
			return -1;
		copy = xstrdup(line);
		if (result_parse(copy, &rl) < 0 || rl.step < 0 ||
		    (size_t)rl.step >= ctx->tpl->nsteps || !us[rl.step].in_unit ||
		    strcmp(rl.name, ctx->tpl->steps[rl.step].name) != 0) {
			free(copy);
			return -1;
		}
		free(us[rl.step].line);
		free(us[rl.step].fixed);
		us[rl.step].line = copy;
		us[rl.step].rl = rl;
		us[rl.step].fixed = reason_local(rl.reason ?: "", ctx, nonce);
		us[rl.step].rl.reason = us[rl.step].fixed;
		us[rl.step].has_line = true;
	}
	return n >= 1 && us[ctx->step_idx].has_line ? 0 : -1;
}

/* The step's outcome here: a file kept because it exists makes it skipped. */
static enum result_outcome
step_outcome(struct unit_step *u, int *created)
{
	*created = u->rl.created - u->skipped_files;
	if (*created < 0)
		*created = 0;
	if (u->rl.outcome == RO_FAILED)
		return RO_FAILED;
	if (u->rl.warnings)
		return RO_WARNING;
	if (u->skipped_files > 0 && *created == 0)
		return RO_SKIPPED;
	return u->rl.outcome == RO_UNKNOWN ? RO_OK : u->rl.outcome;
}

static struct stage_dir outbox;
static bool outbox_ok;

/* One step below the head: its line, record and callbacks, as its own
 * stage would have written them. */
static int
step_finish(struct stage_ctx *ctx, struct unit_step *u, bool head)
{
	const struct step *s = &ctx->tpl->steps[u->idx];
	struct stage_ctx cj = *ctx;
	char label[600], name[300];
	int created;
	enum result_outcome o = step_outcome(u, &created);

	if (head) { /* the skeleton writes its line and record, queues its callbacks */
		ctx->created = created;
		ctx->warnings = u->rl.warnings;
		ctx->skipped = o == RO_SKIPPED;
		snprintf(ctx->reason, sizeof(ctx->reason), "%s", u->rl.reason ?: "");
		return 0;
	}
	cj.step = s;
	cj.step_idx = u->idx;
	cj.created = created;
	cj.warnings = u->rl.warnings;
	cj.bytes_out = 0;
	snprintf(cj.reason, sizeof(cj.reason), "%s", u->rl.reason ?: "");
	result_append(ctx->spool, ctx->ticket, s->name, u->idx, created, u->rl.warnings, o,
		      u->rl.reason ?: "");
	stage_name(name, sizeof(name), u->idx, s->name);
	snprintf(label, sizeof(label), "%s/%s", ctx->tpl->name, name);
	record_step(&cj, label, result_outcome_name(o), 0);
	if (s->ncallback == 0 || created == 0 || o == RO_FAILED || o == RO_SKIPPED)
		return 0;
	if (!outbox_ok && outbox_open(&outbox, ctx->spool, false) < 0)
		return -1;
	outbox_ok = true;
	return stepcb_queue(&cj, &outbox);
}

/* Apply a checked reply: files, then the steps' lines (failures last). */
static enum stage_rc
reply_results(struct stage_ctx *ctx, const struct wire_msg *m, struct unit_step *us,
	      const char *host)
{
	const struct unit_step *failed = NULL;
	size_t n = ctx->tpl->nsteps;

	for (size_t j = 0; j < n; j++)
		if (us[j].has_line && us[j].rl.outcome == RO_FAILED && failed == NULL)
			failed = &us[j];
	for (size_t j = 0; j < n && failed == NULL; j++)
		if (us[j].in_unit && !us[j].has_line) {
			snprintf(ctx->reason, sizeof(ctx->reason),
				 "bad reply from %s: no result for step %s (refused; the local "
				 "workers do it)",
				 host, ctx->tpl->steps[j].name);
			log_errx("%s: %s", ctx->item->id, ctx->reason);
			return STAGE_DECLINED;
		}
	/* signed and ours, but never applicable: resending gets the same */
	if (apply_files(ctx, m, us, true) < 0) {
		log_errx("%s: bad reply from %s: %s (refused; the local workers do it)",
			 ctx->item->id, host, ctx->reason);
		return STAGE_DECLINED;
	}
	if (apply_files(ctx, m, us, false) < 0)
		return stage_errno_rc(errno, "tmc-remote") == STAGE_FAULT ? STAGE_FAULT
									  : STAGE_TEMPFAIL;
	failpoint("remote-applied"); /* tests: outputs written, nothing else */
	for (size_t j = 0; j < n; j++)
		if (us[j].has_line && step_finish(ctx, &us[j], (int)j == ctx->step_idx) < 0) {
			snprintf(ctx->reason, sizeof(ctx->reason),
				 "cannot queue a step callback: %s", strerror(errno));
			return STAGE_TEMPFAIL;
		}
	if (failed == NULL) {
		ctx->covered = true;
		return STAGE_OK;
	}
	/* A step below failed: the head goes to err/, but its own output was
	 * written, so its line, record and callbacks are its own outcome's,
	 * as the steps' below (the skeleton adds none for a failure). */
	if (step_finish(ctx, &us[ctx->step_idx], false) < 0) {
		snprintf(ctx->reason, sizeof(ctx->reason), "cannot queue a step callback: %s",
			 strerror(errno));
		return STAGE_TEMPFAIL;
	}
	ctx->results_written = true;
	ctx->recorded = true;
	snprintf(ctx->reason, sizeof(ctx->reason), "step %s failed on host %s: %s",
		 ctx->tpl->steps[failed->idx].name, host, failed->rl.reason ?: "");
	return STAGE_PERMFAIL;
}

static int
reply_check(struct stage_ctx *ctx, const struct wire_msg *m, const char *nonce)
{
	const char *id = ticket_get(&m->hdr, "id"), *n = ticket_get(&m->hdr, "nonce");

	if (id && n && strcmp(id, ctx->item->id) == 0 && strcmp(n, nonce) == 0 &&
	    ticket_get_ll(&m->hdr, "step", -1) == ctx->step_idx)
		return 0;
	/* A refusal made before the worker host could read the request's
	 * names may lack them; signed with our secret, it can at most make
	 * this host do the unit itself. Results never pass without them. */
	if (ticket_get(&m->hdr, "error") && (id == NULL || !*id) && (n == NULL || !*n))
		return 0;
	snprintf(ctx->reason, sizeof(ctx->reason),
		 "bad reply: not the answer to this request (id %s, step %s, nonce %s)", id ?: "-",
		 ticket_get(&m->hdr, "step") ?: "-", n ?: "-");
	return -1;
}

enum stage_rc
reply_apply(struct stage_ctx *ctx, const uint8_t *buf, size_t len, const char *nonce, char *host,
	    size_t hlen)
{
	const char *ext = path_ext(stage_source_path(ctx) ?: "");
	size_t n = ctx->tpl->nsteps, klen;
	const char *key = remote_secret(ctx->conf, &klen);
	struct unit_step *us = xcalloc(n, sizeof(*us));
	uint8_t *below = xcalloc(n, 1);
	struct wire_msg m;
	char why[REASON_MAX], said[REMOTE_HOST_MAX];
	enum stage_rc rc = STAGE_FAULT;

	route_below(ctx->tpl, (size_t)ctx->step_idx, ext, below, n);
	for (size_t j = 0; j < n; j++)
		us[j] = (struct unit_step){.idx = (int)j,
					   .in_unit = below[j] || (int)j == ctx->step_idx};
	snprintf(said, sizeof(said), "%s", host[0] ? host : "a worker host");
	host[0] = '\0'; /* named again only by a reply that checks */
	if (wire_decode(&m, buf, len, "rep", key, klen, now_s_real(), ctx->conf->gearman.max_skew,
			why, sizeof(why)) < 0) {
		char named[REMOTE_HOST_MAX];

		/* the name the reply gives, unverified: logged, never counted */
		if (wire_peek(buf, len, "rep", "host", named, sizeof(named)) == 0)
			snprintf(ctx->reason, sizeof(ctx->reason),
				 "bad reply from unverified host %s: %s", named, why);
		else
			snprintf(ctx->reason, sizeof(ctx->reason), "bad reply from %s: %s", said,
				 why);
		log_errx("%s: %s (refused)", ctx->item->id, ctx->reason);
		goto out;
	}
	if (reply_check(ctx, &m, nonce) < 0) {
		log_errx("%s: %s (refused)", ctx->item->id, ctx->reason);
	} else {
		const char *h = ticket_get(&m.hdr, "host") ?: "";

		/* the signed name counts in status, never the "started" one */
		snprintf(host, hlen, "%s", remote_host_ok(h, strlen(h)) ? h : "unknown");
		if (ticket_get(&m.hdr, "error"))
			rc = reply_refused(ctx, &m, host);
		else if (reply_lines(ctx, &m, us, nonce) < 0) {
			/* signed and ours: sending it again gets the same */
			snprintf(ctx->reason, sizeof(ctx->reason),
				 "bad reply from %s: its result lines are not this unit's", host);
			log_errx("%s: %s (refused; the local workers do it)", ctx->item->id,
				 ctx->reason);
			rc = STAGE_DECLINED;
		} else if ((rc = reply_results(ctx, &m, us, host)) == STAGE_FAULT)
			log_errx("%s: bad reply from %s: %s (refused)", ctx->item->id, host,
				 ctx->reason);
	}
	wire_free(&m);
out:
	for (size_t j = 0; j < n; j++) {
		free(us[j].line);
		free(us[j].fixed);
	}
	free(us);
	free(below);
	return rc;
}
