/*
 * output.c - the one output file a step writes for an item, and its
 * extension: the rule tmc-image, tmc-video and tmc-copy name their outputs
 * by, and the one tmc-remote checks a worker host's reply against (a reply
 * may carry a file only at the path our own step would have written).
 * Keeping it in one place makes a difference between the two impossible.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "stage.h"

const char *
stage_image_ext(const struct step *step)
{
	const char *f = step->format;

	if (f == NULL || *f == '\0' || strcasecmp(f, "jpg") == 0 || strcasecmp(f, "jpeg") == 0)
		return "jpg";
	if (strcasecmp(f, "png") == 0)
		return "png";
	if (strcasecmp(f, "webp") == 0)
		return "webp";
	return NULL;
}

/* tmc-video writes mp4, keeping the name of an original that is one */
bool
stage_video_keeps_ext(const struct stage_ctx *ctx)
{
	const char *rel = ticket_get(ctx->ticket, "out") ?: ticket_get(ctx->ticket, "rel") ?: "";

	return strcasecmp(path_ext(rel), "mp4") == 0;
}

int
stage_step_output(const struct stage_ctx *ctx, char *buf, size_t len, char *reason, size_t rlen)
{
	const struct step *s = ctx->step;
	const char *ext = NULL;

	if (s->kind == STEP_PASS || !s->save)
		return 0;
	if (s->kind == STEP_IMAGE && (ext = stage_image_ext(s)) == NULL) {
		snprintf(reason, rlen, "step %s: unsupported format \"%s\"", s->name, s->format);
		return -1;
	}
	if (s->kind == STEP_VIDEO && !stage_video_keeps_ext(ctx))
		ext = "mp4";
	return stage_output_path(ctx, ext, buf, len, reason, rlen) < 0 ? -1 : 1;
}
