/*
 * stepcb.c - a step's per-step callbacks (TMC's "callback" array, config/
 * stepcb.c) queued in outbox/ for tmc-notify, by the stage that saved the
 * output, before the item's commit.
 *
 * Exactly once across crashes: each action is one outbox item whose id is
 * derived from the item id, the step index and the action's index, published
 * durably with RENAME_NOREPLACE (item_publish). A step redone after a crash
 * before its commit publishes the same id again: while the first is still
 * queued that is a no-op; once it was delivered, tmc-notify finds its
 * delivered marker (outbox/sent/<id>) and drops the copy unsent.
 *
 * %file% is TMC's dst_file: the renamed path below path_head + path_tail
 * ("/sub/a.jpg"), with the original's extension, not the output's. In a
 * URL it is percent-encoded (RFC 3986 unreserved and "/" kept), so names
 * with spaces, "&" or "#" arrive whole; in a file action's cmd it is put
 * in as it is, as TMC did.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stage.h"

#define FILE_TOKEN "%file%"

static void
pct_encode(struct strbuf *sb, const char *s)
{
	static const char keep[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
				   "0123456789-._~/";

	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (strchr(keep, *p))
			sb_addc(sb, (char)*p);
		else
			sb_printf(sb, "%%%02X", *p);
	}
}

/* target with every %file% replaced by file (percent-encoded when enc) */
static char *
substitute(const char *target, const char *file, bool enc)
{
	struct strbuf sb = {0};
	const char *p = target, *q;

	while ((q = strstr(p, FILE_TOKEN)) != NULL) {
		sb_add(&sb, p, (size_t)(q - p));
		if (enc)
			pct_encode(&sb, file);
		else
			sb_adds(&sb, file);
		p = q + strlen(FILE_TOKEN);
	}
	sb_adds(&sb, p);
	return sb.buf ? sb.buf : xstrdup("");
}

/* "<item id>.s<NN>c<k>"; an item id too long for that is replaced by a
 * 64-bit FNV-1a hash of it, still deterministic (not SHA-256: tmc-jobs,
 * which links this library, must not link nettle). */
void
stepcb_id(char *buf, size_t len, const char *item, int step, size_t k)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	if ((size_t)snprintf(buf, len, "%s.s%02dc%zu", item, step, k) < len && len <= ITEM_ID_MAX)
		return;
	for (const unsigned char *p = (const unsigned char *)item; *p; p++)
		h = (h ^ *p) * 0x100000001b3ULL;
	snprintf(buf, len, "cb-%016llx-%zu.s%02dc%zu", (unsigned long long)h, strlen(item), step,
		 k);
}

static void
stepcb_ticket(const struct stage_ctx *ctx, const struct step_cb *cb, const char *file,
	      struct ticket *t)
{
	char *v;

	memset(t, 0, sizeof(*t));
	ticket_set(t, "kind", cb->action == STEP_CB_CURL ? "get" : "file");
	if (cb->action == STEP_CB_CURL) {
		v = substitute(cb->target, file, true);
		ticket_set(t, "url", v);
	} else {
		v = substitute(cb->cmd, file, false);
		ticket_set(t, "target", cb->target);
		ticket_set(t, "cmd", v);
	}
	free(v);
	ticket_set(t, "origin", ticket_get(ctx->ticket, "origin") ?: "-");
	ticket_set(t, "item", ctx->item->id);
	ticket_set(t, "step", ctx->step->name);
	ticket_set(t, "file", file);
}

int
stepcb_queue(const struct stage_ctx *ctx, struct stage_dir *outbox)
{
	const char *file = ticket_get(ctx->ticket, "out") ?: ticket_get(ctx->ticket, "rel") ?: "";
	char id[ITEM_ID_MAX];
	struct ticket t;
	int r;

	for (size_t k = 0; k < ctx->step->ncallback; k++) {
		stepcb_id(id, sizeof(id), ctx->item->id, ctx->step_idx, k);
		stepcb_ticket(ctx, &ctx->step->callback[k], file, &t);
		r = item_publish(outbox, id, &t, true);
		ticket_free(&t);
		if (r < 0)
			return -1;
		if (r == 1)
			log_debug("%s: callback %zu queued as outbox/new/%s", ctx->item->id, k, id);
	}
	return 0;
}
