/*
 * main.c - tmc-image: the stage for one image step of one template.
 *
 *   tmc-image -c config.json [-t template.json] -T template -s step-index
 *
 * The skeleton (stage/worker.c) claims items and calls, per item:
 * prepare() without a slot: read the header only (the original's, or the
 * pixels handed in), refuse sizes over the pixel limit (decompression
 * bombs), and ask for a big slot above conf->big_pixels; then process() in
 * a slot: load, ops, hand pixels on, save (see image.h for the order).
 * An mp4 original's frame is captured in prepare() by a `tmc-video
 * --capture` child (mp4frame.c): this program links no FFmpeg.
 *
 * GraphicsMagick runs single-threaded (one worker per core is faster)
 * under the memory, disk and pixel limits of limits.c;
 * delegates, URLs and executing anything are refused by its
 * confirm-access hook. Nothing an item does ends the process.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "image.h"

static struct {
	char id[ITEM_ID_MAX]; /* the item prepare() read the header of */
	struct image_hdr hdr;
	char hint[64];
	int pixfd;                 /* the item's folder, or IMAGE_PIXELS_HELD */
	char held_id[ITEM_ID_MAX]; /* the item whose next.raw is held in memory */
} img_state;

static MagickPassFail
confirm_access(const ConfirmAccessMode mode, const char *path, ExceptionInfo *ex)
{
	if (mode == FileReadConfirmAccessMode || mode == FileWriteConfirmAccessMode)
		return MagickPass;
	ThrowException(ex, DelegateError, "access refused by tmc-image", path);
	return MagickFail;
}

static int
image_init(const struct conf *conf)
{
	ExceptionInfo ex;

	if (image_limits_init(conf) < 0)
		log_warnx("pixel cache files go to MAGICK_TMPDIR, TMPDIR or /tmp");
	GetExceptionInfo(&ex);
	if (InitializeMagickEx(NULL, MAGICK_OPT_NO_SIGNAL_HANDER, &ex) != MagickPass) {
		log_warnx("GraphicsMagick: %s", ex.reason ? ex.reason : "initialisation failed");
		DestroyExceptionInfo(&ex);
		return -1;
	}
	DestroyExceptionInfo(&ex);
	MagickSetConfirmAccessHandler(confirm_access);
	image_limits_start();
	return 0;
}

static void
image_fini(void)
{
	image_ops_fini();
	image_pixels_drop();
	DestroyMagick();
	image_limits_fini();
}

/* Pixels libjpeg will decode for this hint (GraphicsMagick scales by 1/2,
 * 1/4 or 1/8 while the result still covers the hint). */
static double
decoded_pixels(const struct image_hdr *hdr, const char *hint)
{
	unsigned long hw, hh, s = 1;

	if (strcmp(hdr->coder, "JPEG") == 0 && sscanf(hint, "%lux%lu", &hw, &hh) == 2 && hw && hh) {
		unsigned long f = hdr->w / hw < hdr->h / hh ? hdr->w / hw : hdr->h / hh;

		while (s * 2 <= f && s < 8)
			s *= 2;
	}
	return (double)hdr->w * (double)hdr->h / (double)(s * s);
}

/* The header of the pixels the previous step handed in. */
static enum stage_rc
pixels_header(struct stage_ctx *ctx, struct image_hdr *hdr)
{
	Image *img = NULL;
	enum stage_rc rc;
	int q;

	if (img_state.pixfd == IMAGE_PIXELS_HELD ||
	    faccessat(ctx->item->dirfd, "pixels.mpc", F_OK, 0) != 0)
		return image_pixels_header(img_state.pixfd, hdr, ctx->reason, sizeof(ctx->reason));
	if ((rc = image_read_mpc(ctx->item->path, true, &img, &q, NULL, ctx->reason,
				 sizeof(ctx->reason))) == STAGE_OK) {
		*hdr = (struct image_hdr){"MPC", img->columns, img->rows, 1, true};
		DestroyImage(img);
	}
	return rc;
}

/* Seconds an mp4's frame capture may take: half the step's time limit, so
 * that the capture is killed with a reason before the supervisor kills the
 * whole worker at the full limit. */
static int
capture_limit(const struct stage_ctx *ctx)
{
	int limit = ctx->step->timeout > 0 ? ctx->step->timeout : ctx->conf->image_timeout;

	if (limit <= 0)
		limit = 300;
	return limit / 2 > 0 ? limit / 2 : 1;
}

static enum stage_rc
image_prepare(struct stage_ctx *ctx)
{
	struct image_hdr *hdr = &img_state.hdr;
	const char *src = stage_source_path(ctx);
	enum stage_rc rc;
	struct stat st;
	int fd;

	snprintf(img_state.id, sizeof(img_state.id), "%s", ctx->item->id);
	img_state.hint[0] = '\0';
	/* carried on from our own previous step: its pixels are the held
	 * bytes of its next.raw, now this item's pixels.raw */
	img_state.pixfd = ctx->item->dirfd;
	if (ctx->carried && ctx->has_pixels && image_pixels_held() &&
	    strcmp(img_state.held_id, ctx->item->id) == 0)
		img_state.pixfd = IMAGE_PIXELS_HELD;
	else
		image_pixels_drop();
	/* pixels handed in that are empty, short or malformed were lost to a
	 * crash or a file system error, not spoilt by the original: redo the
	 * item from its original (tmcwatch-spool(5), "redone") */
	if (ctx->has_pixels && (rc = pixels_header(ctx, hdr)) != STAGE_OK) {
		if (rc != STAGE_PERMFAIL || src == NULL)
			return rc;
		log_warnx("%s: %s: redone from the original %s", ctx->item->path, ctx->reason, src);
		ctx->reason[0] = '\0';
		ctx->has_pixels = false;
	}
	if (!ctx->has_pixels && src && strcasecmp(path_ext(src), "mp4") == 0) {
		const char *cap = ticket_get(ctx->ticket, "capture");

		if ((fd = stage_open_source(ctx, &st)) < 0)
			return stage_errno_rc(errno, "tmc-image: open the original");
		rc = image_mp4_frame(ctx, src, fd, cap ? strtod(cap, NULL) : 0, capture_limit(ctx));
		if (rc != STAGE_OK)
			return rc;
		ctx->has_pixels = true;
		if ((rc = pixels_header(ctx, hdr)) != STAGE_OK)
			return rc;
	} else if (!ctx->has_pixels && src == NULL) {
		snprintf(ctx->reason, sizeof(ctx->reason), "ticket has no source path");
		return STAGE_PERMFAIL;
	} else if (!ctx->has_pixels) {
		if ((fd = stage_open_source(ctx, &st)) < 0)
			return stage_errno_rc(errno, "tmc-image: open the original");
		if ((rc = image_ping(src, fd, hdr, ctx->reason, sizeof(ctx->reason))) != STAGE_OK)
			return rc;
	}
	if (!ctx->has_pixels)
		image_hint(ctx->tpl, ctx->step_idx, path_ext(src), hdr->w, hdr->h, hdr->orientation,
			   img_state.hint, sizeof(img_state.hint));
	if (decoded_pixels(hdr, img_state.hint) > (double)image_limits_pixels()) {
		snprintf(ctx->reason, sizeof(ctx->reason),
			 "%s: %lux%lu %s would decode to %.0f MP, over the limit of %lld MP "
			 "(decompression bomb?)",
			 ctx->has_pixels ? "pixels.raw" : src, hdr->w, hdr->h, hdr->coder,
			 decoded_pixels(hdr, img_state.hint) / 1e6,
			 image_limits_pixels() / 1000000);
		return STAGE_PERMFAIL;
	}
	ctx->big = (double)hdr->w * (double)hdr->h > (double)ctx->conf->big_pixels;
	return STAGE_OK;
}

/* The original decoded: a partly decoded one (truncated) is a warning, or
 * with "truncated": "error" a failure; its JPEG sampling is noted for the
 * outputs of this step and of the steps that read its pixels. */
static enum stage_rc
source_loaded(struct image_run *r)
{
	struct stage_ctx *ctx = r->ctx;
	const ImageAttribute *a = GetImageAttribute(r->img, "JPEG-Sampling-factors");
	char why[REASON_MAX];

	if (a && a->value && strlen(a->value) < sizeof(r->sampling))
		snprintf(r->sampling, sizeof(r->sampling), "%s", a->value);
	if (ctx->reason[0] == '\0')
		return STAGE_OK;
	if (ctx->conf->truncated == TRUNCATED_ERROR) {
		snprintf(why, sizeof(why), "%s", ctx->reason);
		snprintf(ctx->reason, sizeof(ctx->reason),
			 "%s: truncated, refused (\"truncated\": \"error\")", why);
		return STAGE_PERMFAIL;
	}
	snprintf(why, sizeof(why), "%s", ctx->reason);
	ctx->reason[0] = '\0';
	image_warn(ctx, "%s: truncated, decoded in part: the rest is grey", why);
	return STAGE_OK;
}

static enum stage_rc
image_load(struct image_run *r)
{
	struct stage_ctx *ctx = r->ctx;
	struct image_hdr *hdr = &img_state.hdr;
	enum stage_rc rc;
	struct stat st;
	int fd;

	if (ctx->has_pixels) {
		if (strcmp(hdr->coder, "MPC") == 0)
			rc = image_read_mpc(ctx->item->path, false, &r->img, &r->quality,
					    r->sampling, ctx->reason, sizeof(ctx->reason));
		else
			rc = image_read_pixels(img_state.pixfd, &r->img, &r->quality, r->sampling,
					       ctx->reason, sizeof(ctx->reason));
		image_pixels_drop(); /* built from them: the memory is not needed */
		if (rc == STAGE_OK) {
			r->base_w = r->img->columns;
			r->base_h = r->img->rows;
		}
		return rc;
	}
	/* opened again, and checked again: the file the header was read from */
	if ((fd = stage_open_source(ctx, &st)) < 0)
		return stage_errno_rc(errno, "tmc-image: open the original");
	rc = image_read_source(stage_source_path(ctx), fd, false, img_state.hint, &r->img,
			       &r->quality, ctx->reason, sizeof(ctx->reason));
	if (rc != STAGE_OK || (rc = source_loaded(r)) != STAGE_OK)
		return rc;
	/* fit from the header's size, so a hinted decode gives the same output size */
	bool swap = r->img->orientation >= LeftTopOrientation &&
		    r->img->orientation <= LeftBottomOrientation;
	r->base_w = hdr->valid ? (swap ? hdr->h : hdr->w) : r->img->columns;
	r->base_h = hdr->valid ? (swap ? hdr->w : hdr->h) : r->img->rows;
	return image_orient(r);
}

static enum stage_rc
image_steps(struct image_run *r)
{
	enum stage_rc rc;

	if ((rc = image_resize(r)) != STAGE_OK || (rc = image_profiles(r)) != STAGE_OK ||
	    (rc = image_sharpen(r)) != STAGE_OK || (rc = image_watermark(r)) != STAGE_OK)
		return rc;
	return STAGE_OK;
}

static enum stage_rc
image_process(struct stage_ctx *ctx)
{
	const struct step *step = ctx->step;
	struct image_run r = {.ctx = ctx, .quality = 0};
	char out[PATH_MAX];
	bool save = step->save, exists = false;
	struct stat st;
	int64_t t[4];
	enum stage_rc rc;

	if (image_format_ext(step) == NULL) {
		snprintf(ctx->reason, sizeof(ctx->reason), "step %s: unsupported format \"%s\"",
			 step->name, step->format);
		return STAGE_PERMFAIL;
	}
	if (strcmp(img_state.id, ctx->item->id) != 0 && (rc = image_prepare(ctx)) != STAGE_OK)
		return rc;
	if (save) {
		if (stage_output_path(ctx, image_format_ext(step), out, sizeof(out), ctx->reason,
				      sizeof(ctx->reason)) < 0)
			return STAGE_PERMFAIL;
		exists = lstat(out, &st) == 0;
		if (exists && !stage_overwrite(ctx) && !outfile_begun(out)) {
			log_info("%s exists, not overwritten", out);
			save = false;
			ctx->skipped = true;
			if (!ctx->wants_pixels)
				return STAGE_OK;
		}
	}
	image_limits_set(ctx->big);
	t[0] = now_ms_mono();
	if ((rc = image_load(&r)) != STAGE_OK)
		goto end;
	t[1] = now_ms_mono();
	if ((rc = image_steps(&r)) != STAGE_OK)
		goto end;
	t[2] = now_ms_mono();
	if (step->comp > 50 && step->comp < 100)
		r.quality = step->comp;
	else if (r.quality <= 0 || r.quality > 100)
		r.quality = IMAGE_DEFAULT_QUALITY;
	if (ctx->wants_pixels && image_pixels_mpc())
		rc = image_write_mpc(ctx->item->path, r.img, r.quality, r.sampling, ctx->reason,
				     sizeof(ctx->reason));
	else if (ctx->wants_pixels &&
		 (rc = image_write_pixels(ctx->item->dirfd, r.img, r.quality, r.sampling,
					  ctx->reason, sizeof(ctx->reason))) == STAGE_OK)
		snprintf(img_state.held_id, sizeof(img_state.held_id), "%s", ctx->item->id);
	if (rc != STAGE_OK)
		goto end;
	t[3] = now_ms_mono();
	if (save)
		rc = image_save(&r, out, exists);
	log_debug("%s: load %lldms (hint %s) ops %lldms pixels %lldms save %lldms", ctx->item->id,
		  (long long)(t[1] - t[0]), img_state.hint[0] ? img_state.hint : "none",
		  (long long)(t[2] - t[1]), (long long)(t[3] - t[2]),
		  (long long)(now_ms_mono() - t[3]));
end:
	if (rc != STAGE_OK)
		image_limits_explain(ctx->big, ctx->reason, sizeof(ctx->reason));
	if (r.img)
		DestroyImage(r.img);
	img_state.id[0] = '\0';
	image_limits_set(false);
	return rc;
}

static const struct stage_ops image_ops = {
	.name = "tmc-image",
	.init = image_init,
	.prepare = image_prepare,
	.process = image_process,
	.fini = image_fini,
	.pixels = true,
	.follow = true,
};

int
main(int argc, char **argv)
{
	return stage_main(argc, argv, &image_ops);
}
