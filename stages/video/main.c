/*
 * main.c - tmc-video: the stage for one video step ("ffmpeg": true) of one
 * template.
 *
 *   tmc-video -c config.json [-t template.json] -T template -s step-index
 *   tmc-video --capture SECONDS NAME <video >pixels.raw   (for tmc-image: capmode.c)
 *
 * The skeleton (stage/worker.c) claims items and calls process() in a
 * slot. An item is: the H.264 rendition of the original (transcode.c)
 * written under a temporary name beside its output and renamed into place
 * durably; and, when a later step reads this step's output, the frame at
 * the ticket's `capture` seconds at the rendition's size (next.raw, the
 * image stage's raw format), as TMC let later steps use an ffmpeg step's
 * frame image.
 *
 * TMC's rules kept: the output keeps the original's relative name (an mp4
 * stays "name.mp4" whatever its case; a .mov becomes .mp4); overwrite false
 * and an existing output is a skip, not a warning; force_dir false and a
 * missing folder is a warning; a missing watermark is a warning and the
 * video is made without it; a step on a file that is not a video does
 * nothing (TMC logged "ffmpeg is true but video is null").
 *
 * x264 runs single-threaded at preset VIDEO_PRESET (one worker per core,
 * doc/ARCHITECTURE.md, Performance); TMC_X264_PRESET overrides it for benchmarks.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "video.h"

#define VIDEO_PRESET "veryfast"

static const char *video_preset = VIDEO_PRESET;

static int
video_init(const struct conf *conf)
{
	(void)conf;
	video_log_init();
	if (getenv("TMC_X264_PRESET") && *getenv("TMC_X264_PRESET"))
		video_preset = getenv("TMC_X264_PRESET");
	/* chosen and said at start, not at the first video */
	video_h264_encoder();
	return 0;
}

static void
video_fini(void)
{
	video_transcode_fini();
}

static bool
is_video_name(const char *path)
{
	static const char *const ext[] = {"mp4", "m4v", "mov", "3gp", "3g2"};
	const char *e = path_ext(path);

	for (size_t i = 0; i < sizeof(ext) / sizeof(ext[0]); i++)
		if (strcasecmp(e, ext[i]) == 0)
			return true;
	return false;
}

static enum stage_rc
errno_rc(int err)
{
	return stage_errno_rc(err, "tmc-video");
}

static void
video_warn(struct stage_ctx *ctx, const char *msg)
{
	size_t n = strlen(ctx->reason);

	ctx->warnings++;
	snprintf(ctx->reason + n, sizeof(ctx->reason) - n, "%s%s", n ? "; " : "", msg);
	log_warnx("%s: %s", ticket_get(ctx->ticket, "rel") ?: "?", msg);
}

/* The output's folder: made when force_dir (0), missing otherwise (1, a
 * warning as TMC), or an error (-1). */
static int
video_make_dir(struct stage_ctx *ctx, const char *out)
{
	char dir[PATH_MAX], msg[PATH_MAX + 64];
	struct stat st;

	snprintf(dir, sizeof(dir), "%s", out);
	dirname(dir);
	if (stat(dir, &st) == 0)
		return 0;
	if (!ctx->step->force_dir) {
		snprintf(msg, sizeof(msg), "%s: no such folder and force_dir is false", dir);
		video_warn(ctx, msg);
		return 1;
	}
	if (mkdir_p(dir, 0755) < 0) {
		int err = errno;

		snprintf(ctx->reason, sizeof(ctx->reason), "%s: %s", dir, strerror(err));
		errno = err;
		return -1;
	}
	return 0;
}

/* The site's watermark file, or NULL with a warning. */
static const char *
video_watermark(struct stage_ctx *ctx, char *buf, size_t len)
{
	const struct site *site = ctx->site;
	char msg[256];

	if (site == NULL || site->watermark == NULL || site->watermark[0] == '\0') {
		snprintf(msg, sizeof(msg), "Watermark file not configured for site %s",
			 site ? site->name : "(none)");
		video_warn(ctx, msg);
		return NULL;
	}
	if (site->watermark[0] == '/')
		snprintf(buf, len, "%s", site->watermark);
	else
		snprintf(buf, len, "%s/%s", ctx->conf->dir ? ctx->conf->dir : ".", site->watermark);
	return buf;
}

/* Transcode into a temporary file beside out, then rename it into place. */
static enum stage_rc
video_render(struct stage_ctx *ctx, const char *src, const char *out)
{
	char tmp[PATH_MAX], wm[PATH_MAX];
	struct video_job job = {
		.src = src,
		.src_fd = -1,
		.tmp = tmp,
		.bitrate = ctx->step->bitrate,
		.preset = video_preset,
		.threads = 1,
		.progress = stage_progress,
	};
	enum stage_rc rc;
	struct stat st;
	int fd;

	job.box[0] = ctx->step->size[0];
	job.box[1] = ctx->step->size[1];
	if (ctx->step->watermark)
		job.watermark = video_watermark(ctx, wm, sizeof(wm));
	outfile_temp(tmp, sizeof(tmp), out);
	if (tmp[0] == '\0') {
		snprintf(ctx->reason, sizeof(ctx->reason), "%s: name too long", out);
		return STAGE_PERMFAIL;
	}
	if ((unlink(tmp) < 0 && errno != ENOENT) ||
	    (fd = open(tmp, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644)) < 0) {
		snprintf(ctx->reason, sizeof(ctx->reason), "%s: %s", tmp, strerror(errno));
		return errno_rc(errno);
	}
	job.out_fd = fd;
	if ((job.src_fd = stage_open_source(ctx, &st)) < 0) {
		rc = stage_errno_rc(errno, "tmc-video: open the original");
		close(fd);
		unlink(tmp);
		return rc;
	}
	rc = video_transcode(&job, ctx->reason, sizeof(ctx->reason));
	if (close(fd) < 0 && rc == STAGE_OK) {
		snprintf(ctx->reason, sizeof(ctx->reason), "%s: %s", tmp, strerror(errno));
		rc = errno_rc(errno);
	}
	if (rc == STAGE_OK && outfile_commit(tmp, out, true) < 0) {
		snprintf(ctx->reason, sizeof(ctx->reason), "%s: %s", out, strerror(errno));
		rc = errno_rc(errno);
	}
	if (rc != STAGE_OK) {
		unlink(tmp);
		return rc;
	}
	if (job.warning[0])
		video_warn(ctx, job.warning);
	ctx->created++;
	log_info("%s: %dx%d, %lld frames", out, job.out_w, job.out_h, (long long)job.frames);
	return STAGE_OK;
}

/* For a later step that reads ours: the frame at `capture` seconds, at the
 * size this step gives the video. */
static enum stage_rc
video_pixels(struct stage_ctx *ctx, const char *src)
{
	const char *cap = ticket_get(ctx->ticket, "capture");
	struct video_input in;
	struct video_orient o;
	AVFrame *frame = NULL;
	enum stage_rc rc;
	struct stat st;
	int w, h, fd;

	if ((fd = stage_open_source(ctx, &st)) < 0)
		return stage_errno_rc(errno, "tmc-video: open the original");
	rc = video_open(&in, src, fd, false, 1, ctx->reason, sizeof(ctx->reason));
	if (rc == STAGE_OK)
		rc = video_capture(&in, cap ? strtod(cap, NULL) : 0, &frame, ctx->reason,
				   sizeof(ctx->reason));
	if (rc == STAGE_OK) {
		video_orientation(in.vst, &o);
		w = o.transpose ? frame->height : frame->width;
		h = o.transpose ? frame->width : frame->height;
		video_fit(w, h, ctx->step->size, &w, &h);
		rc = video_write_raw(frame, &o, w, h, ctx->item->dirfd, "next.raw", ctx->reason,
				     sizeof(ctx->reason));
	}
	av_frame_free(&frame);
	video_close(&in);
	return rc;
}

static enum stage_rc
video_process(struct stage_ctx *ctx)
{
	const char *src = stage_source_path(ctx);
	char out[PATH_MAX];
	bool save = ctx->step->save;
	struct stat st;
	enum stage_rc rc;
	int r;

	video_log_reset();
	if (src == NULL) {
		snprintf(ctx->reason, sizeof(ctx->reason), "ticket has no source path");
		return STAGE_PERMFAIL;
	}
	if (!is_video_name(src)) {
		log_info("%s: not a video, nothing to do (TMC: ffmpeg is true but video "
			 "is null)",
			 src);
		return STAGE_OK;
	}
	if (save && stage_output_path(ctx, stage_video_keeps_ext(ctx) ? NULL : "mp4", out,
				      sizeof(out), ctx->reason, sizeof(ctx->reason)) < 0)
		return STAGE_PERMFAIL;
	if (save && !stage_overwrite(ctx) && lstat(out, &st) == 0 && !outfile_begun(out)) {
		log_info("%s exists, not overwritten", out);
		save = false;
		ctx->skipped = true;
	}
	if (save && (r = video_make_dir(ctx, out)) != 0) {
		if (r < 0)
			return errno_rc(errno);
		save = false;
	}
	if (save && (rc = video_render(ctx, src, out)) != STAGE_OK)
		return rc;
	if (ctx->wants_pixels)
		return video_pixels(ctx, src);
	return STAGE_OK;
}

static const struct stage_ops video_ops = {
	.name = "tmc-video",
	.init = video_init,
	.process = video_process,
	.fini = video_fini,
	.pixels = true, /* next.raw for a later step that reads ours */
};

int
main(int argc, char **argv)
{
	if (argc > 1 && strcmp(argv[1], "--capture") == 0)
		return video_capture_main(argc, argv); /* a child of tmc-image */
	return stage_main(argc, argv, &video_ops);
}
