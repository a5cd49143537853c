/*
 * request.c - the request of one unit (tmc-remote(8), REQUEST): the
 * original's bytes and the ticket keys a stage reads, signed with
 * gearman.secret and valid until the deadline. The worker host checks the
 * template digest, so that it never runs a unit with other steps than
 * ours (its bytes would not be the bytes a local worker writes).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "remote.h"

static const char *const copied[] = {"rel", "out", "tail", "capture", "density", "steps", "site"};

const char *
remote_secret(const struct conf *conf, size_t *len)
{
	const char *s = conf->gearman.secret ?: "";

	*len = strlen(s);
	return s;
}

/* The header a worker host reads (tmc-remote(8), REQUEST). */
static void
request_header(struct stage_ctx *ctx, struct wire_msg *m, const char *nonce, int deadline_s)
{
	const char *src = stage_source_path(ctx) ?: "", *slash = strrchr(src, '/');
	char digest[65];

	conf_template_digest(ctx->tpl, digest);
	ticket_set(&m->hdr, "v", "1");
	ticket_set(&m->hdr, "id", ctx->item->id);
	ticket_set(&m->hdr, "template", ctx->tpl->name);
	ticket_setf(&m->hdr, "step", "%d", ctx->step_idx);
	ticket_set(&m->hdr, "digest", digest);
	ticket_set(&m->hdr, "site_digest",
		   (conf_site_digest(ctx->conf, ticket_get(ctx->ticket, "site"), digest), digest));
	ticket_set(&m->hdr, "version", TMC_VERSION);
	ticket_set(&m->hdr, "nonce", nonce);
	ticket_setf(&m->hdr, "expires", "%lld", (long long)now_s_real() + deadline_s);
	ticket_setf(&m->hdr, "deadline", "%d", deadline_s);
	ticket_setf(&m->hdr, "max_reply", "%ld", ctx->conf->gearman.max_reply);
	ticket_set(&m->hdr, "name", slash ? slash + 1 : src);
	for (size_t i = 0; i < sizeof(copied) / sizeof(*copied); i++)
		if (ticket_get(ctx->ticket, copied[i]))
			ticket_set(&m->hdr, copied[i], ticket_get(ctx->ticket, copied[i]));
}

/* The original is read straight into its place in the message (one copy
 * of ~10 MB less than a buffer of its own copied in: wire_layout). A file
 * shorter than its fstat (cut meanwhile) is sent as read, as before: that
 * message is laid out again, with a copy, for its length is in the framing. */
uint8_t *
request_build(struct stage_ctx *ctx, int fd, long long size, const char *nonce, int deadline_s,
	      size_t *len)
{
	size_t klen, body;
	const char *key = remote_secret(ctx->conf, &klen);
	struct wire_msg m;
	uint8_t *buf, *out;
	ssize_t got;
	int e = 0;

	wire_init(&m, "req");
	request_header(ctx, &m, nonce, deadline_s);
	wire_add(&m, "src", NULL, (size_t)size);
	buf = wire_layout(&m, &body);
	if ((got = read_all(fd, m.parts[0].slot, (size_t)size)) < 0) {
		e = errno;
		snprintf(ctx->reason, sizeof(ctx->reason), "%s: %s", stage_source_path(ctx) ?: "",
			 strerror(e));
		out = NULL;
	} else if ((size_t)got < (size_t)size) {
		m.parts[0].data = m.parts[0].slot;
		m.parts[0].len = (size_t)got;
		out = wire_encode(&m, key, klen, len);
	} else {
		out = wire_seal(buf, body, key, klen, len);
		buf = NULL; /* it is out */
	}
	free(buf);
	wire_free(&m);
	if (out == NULL)
		errno = e;
	return out;
}
