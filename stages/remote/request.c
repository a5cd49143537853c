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

/* The whole original, at most size bytes (max_payload was checked). */
static uint8_t *
read_source(int fd, long long size, size_t *got)
{
	uint8_t *buf = xmalloc((size_t)size + 1);
	size_t n = 0;
	ssize_t r;

	while (n < (size_t)size && (r = read(fd, buf + n, (size_t)size - n)) != 0) {
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			free(buf);
			return NULL;
		}
		n += (size_t)r;
	}
	*got = n;
	return buf;
}

uint8_t *
request_build(struct stage_ctx *ctx, int fd, long long size, const char *nonce, int deadline_s,
	      size_t *len)
{
	const char *src = stage_source_path(ctx) ?: "", *slash = strrchr(src, '/');
	struct wire_msg m;
	char digest[65];
	size_t klen, got;
	const char *key = remote_secret(ctx->conf, &klen);
	uint8_t *data = read_source(fd, size, &got), *out;

	if (data == NULL) {
		snprintf(ctx->reason, sizeof(ctx->reason), "%s: %s", src, strerror(errno));
		return NULL;
	}
	conf_template_digest(ctx->tpl, digest);
	wire_init(&m, "req");
	ticket_set(&m.hdr, "v", "1");
	ticket_set(&m.hdr, "id", ctx->item->id);
	ticket_set(&m.hdr, "template", ctx->tpl->name);
	ticket_setf(&m.hdr, "step", "%d", ctx->step_idx);
	ticket_set(&m.hdr, "digest", digest);
	ticket_set(&m.hdr, "site_digest",
		   (conf_site_digest(ctx->conf, ticket_get(ctx->ticket, "site"), digest), digest));
	ticket_set(&m.hdr, "version", TMC_VERSION);
	ticket_set(&m.hdr, "nonce", nonce);
	ticket_setf(&m.hdr, "expires", "%lld", (long long)now_s_real() + deadline_s);
	ticket_setf(&m.hdr, "deadline", "%d", deadline_s);
	ticket_setf(&m.hdr, "max_reply", "%ld", ctx->conf->gearman.max_reply);
	ticket_set(&m.hdr, "name", slash ? slash + 1 : src);
	for (size_t i = 0; i < sizeof(copied) / sizeof(*copied); i++)
		if (ticket_get(ctx->ticket, copied[i]))
			ticket_set(&m.hdr, copied[i], ticket_get(ctx->ticket, copied[i]));
	wire_add(&m, "src", data, got);
	out = wire_encode(&m, key, klen, len);
	wire_free(&m);
	free(data);
	return out;
}
