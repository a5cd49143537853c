/*
 * capture.c - reading videos: the original opened safely, FFmpeg's log,
 * the display matrix, and the frame at a time written as raw RGB.
 *
 * Linked by tmc-video (which also captures for tmc-image: `tmc-video
 * --capture`, capmode.c) and by the tmc-capture test tool. Nothing else
 * links FFmpeg: tmc-image runs tmc-video for an mp4's frame.
 *
 * Security (doc/ARCHITECTURE.md, Security boundaries): the original is opened here with
 * O_NOFOLLOW|O_NONBLOCK, must be a non-empty regular file, and reaches
 * FFmpeg only through a custom AVIOContext on that fd. Its format is probed
 * from the bytes and must be MP4/MOV (the mov demuxer); FFmpeg's io_open is
 * replaced by a refusal, so no reference inside a file (data references,
 * playlists) can make it open another file or a URL.
 *
 * Frame capture (doc/ARCHITECTURE.md, Performance): seek to the keyframe at or before
 * the target, decode forward, and convert only the frame that is kept:
 * skipped frames are released as decoded. Past the end, the last frame.
 *
 * Failures are the item's: a missing, empty, truncated or corrupt file, a
 * file that is not MP4, one with no video stream are permanent with a
 * reason; out of memory and a full disk are temporary.
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libavutil/avstring.h>
#include <libavutil/display.h>
#include <libavutil/imgutils.h>
#include <libavutil/pixdesc.h>
#include <libswscale/swscale.h>

#include "video.h"

#define IO_BUFFER_SIZE (64 * 1024)
#define LOG_FLOOD_MAX 20
#define MOV_DEMUXER "mov,mp4,m4a,3gp,3g2,mj2"

/* --- FFmpeg's log ------------------------------------------------------------ */

static struct {
	bool init;
	char last_error[256]; /* the last message at AV_LOG_ERROR or worse */
	int lines;            /* forwarded since video_log_reset() */
	int print_prefix;
} vlog = {.print_prefix = 1};

static void
video_log_cb(void *avcl, int level, const char *fmt, va_list ap)
{
	char line[1024];
	size_t n;

	if (level > AV_LOG_WARNING)
		return;
	av_log_format_line2(avcl, level, fmt, ap, line, sizeof(line), &vlog.print_prefix);
	n = strlen(line);
	while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == ' '))
		line[--n] = '\0';
	if (n == 0)
		return;
	if (level <= AV_LOG_ERROR) {
		const char *msg = strrchr(line, ']'); /* drop "[mov,mp4,... @ 0x...] " */

		msg = msg && msg[1] == ' ' ? msg + 2 : line;
		snprintf(vlog.last_error, sizeof(vlog.last_error), "%s", msg);
	}
	if (vlog.lines++ < LOG_FLOOD_MAX)
		log_warnx("ffmpeg: %s", line);
	else if (vlog.lines == LOG_FLOOD_MAX + 1)
		log_warnx("ffmpeg: more messages for this item are not shown");
}

void
video_log_init(void)
{
	if (vlog.init)
		return;
	vlog.init = true;
	av_log_set_level(AV_LOG_WARNING);
	av_log_set_callback(video_log_cb);
}

void
video_log_reset(void)
{
	vlog.last_error[0] = '\0';
	vlog.lines = 0;
}

enum stage_rc
video_error(int averr, const char *path, const char *what, char *reason, size_t rlen)
{
	char err[AV_ERROR_MAX_STRING_SIZE];

	av_strerror(averr, err, sizeof(err));
	/* FFmpeg's own words say more about bad data; a system error says it all */
	if (vlog.last_error[0] && (averr == AVERROR_INVALIDDATA || averr == AVERROR(EINVAL) ||
				   averr == AVERROR_PATCHWELCOME || averr == AVERROR(ENOSYS) ||
				   averr == AVERROR(EPERM) || averr == AVERROR_BUG))
		snprintf(reason, rlen, "%s: %s: %s (%s)", path, what, vlog.last_error, err);
	else
		snprintf(reason, rlen, "%s: %s: %s", path, what, err);
	switch (averr) {
	case AVERROR(ENOMEM):
	case AVERROR(ENOSPC):
	case AVERROR(EDQUOT):
	case AVERROR(EIO):
	case AVERROR(EMFILE):
	case AVERROR(ENFILE):
	case AVERROR(EAGAIN): return STAGE_TEMPFAIL;
	default: return STAGE_PERMFAIL;
	}
}

/* --- opening ------------------------------------------------------------------ */

static int
input_read(void *opaque, uint8_t *buf, int size)
{
	struct video_input *in = opaque;
	ssize_t n;

	do
		n = read(in->fd, buf, (size_t)size);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return AVERROR(errno);
	return n == 0 ? AVERROR_EOF : (int)n;
}

static int64_t
input_seek(void *opaque, int64_t off, int whence)
{
	struct video_input *in = opaque;
	off_t r;

	if (whence & AVSEEK_SIZE)
		return in->size;
	r = lseek(in->fd, (off_t)off, whence & ~AVSEEK_FORCE);
	return r < 0 ? AVERROR(errno) : (int64_t)r;
}

/* FFmpeg asks to open another resource (a data reference, a segment): no. */
static int
input_refuse_open(AVFormatContext *s, AVIOContext **pb, const char *url, int flags,
		  AVDictionary **options)
{
	(void)pb;
	(void)flags;
	(void)options;
	av_log(s, AV_LOG_ERROR, "refused to open %s: only the original itself is read\n", url);
	return AVERROR(EPERM);
}

static enum stage_rc
input_fd(struct video_input *in, const char *path, int fd, char *reason, size_t rlen)
{
	struct stat st;
	int err;

	in->fd = fd >= 0 ? fd : open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (in->fd < 0) {
		err = errno;
		snprintf(reason, rlen, "%s: %s", path,
			 err == ELOOP ? "is a symbolic link, refused" : strerror(err));
		return (err == EMFILE || err == ENFILE || err == ENOMEM || err == EIO)
			       ? STAGE_TEMPFAIL
			       : STAGE_PERMFAIL;
	}
	if (fstat(in->fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		snprintf(reason, rlen, "%s: not a regular file, refused", path);
		return STAGE_PERMFAIL;
	}
	if (st.st_size == 0) {
		snprintf(reason, rlen, "%s: empty file", path);
		return STAGE_PERMFAIL;
	}
	in->size = st.st_size;
	return STAGE_OK;
}

/* Probe the bytes; only the mov demuxer (MP4, MOV, 3GP) is accepted. */
static enum stage_rc
input_probe(struct video_input *in, const AVInputFormat **ifmt, char *reason, size_t rlen)
{
	int r = av_probe_input_buffer2(in->pb, ifmt, in->path, NULL, 0, 0);

	if (r < 0)
		return video_error(r, in->path, "not a video file", reason, rlen);
	if (strcmp((*ifmt)->name, MOV_DEMUXER) != 0) {
		snprintf(reason, rlen, "%s: not an MP4 file (its content looks like %s)", in->path,
			 (*ifmt)->long_name ? (*ifmt)->long_name : (*ifmt)->name);
		return STAGE_PERMFAIL;
	}
	return STAGE_OK;
}

/* The video stream to use: the demuxer's best that is not cover art. */
static enum stage_rc
input_video_stream(struct video_input *in, const AVCodec **codec, char *reason, size_t rlen)
{
	int audio = 0, i;

	i = av_find_best_stream(in->fmt, AVMEDIA_TYPE_VIDEO, -1, -1, codec, 0);
	if (i >= 0 && !(in->fmt->streams[i]->disposition & AV_DISPOSITION_ATTACHED_PIC)) {
		in->vst = in->fmt->streams[i];
		return STAGE_OK;
	}
	if (i == AVERROR_DECODER_NOT_FOUND) {
		for (unsigned k = 0; k < in->fmt->nb_streams; k++)
			if (in->fmt->streams[k]->codecpar->codec_type == AVMEDIA_TYPE_VIDEO)
				i = (int)k;
		snprintf(reason, rlen, "%s: no decoder for its video (%s)", in->path,
			 i >= 0 ? avcodec_get_name(in->fmt->streams[i]->codecpar->codec_id) : "?");
		return STAGE_PERMFAIL;
	}
	for (unsigned k = 0; k < in->fmt->nb_streams; k++)
		audio += in->fmt->streams[k]->codecpar->codec_type == AVMEDIA_TYPE_AUDIO;
	snprintf(reason, rlen, "%s: no video stream (%d audio stream%s)", in->path, audio,
		 audio == 1 ? "" : "s");
	return STAGE_PERMFAIL;
}

static enum stage_rc
input_decoder(struct video_input *in, const AVCodec *codec, int threads, char *reason, size_t rlen)
{
	const AVCodecParameters *par = in->vst->codecpar;
	int r;

	if (par->width <= 0 || par->height <= 0 ||
	    (int64_t)par->width * par->height > VIDEO_MAX_PIXELS) {
		snprintf(reason, rlen, "%s: video size %dx%d refused (limit %d pixels)", in->path,
			 par->width, par->height, VIDEO_MAX_PIXELS);
		return STAGE_PERMFAIL;
	}
	if ((in->dec = avcodec_alloc_context3(codec)) == NULL)
		return video_error(AVERROR(ENOMEM), in->path, "decoder", reason, rlen);
	if ((r = avcodec_parameters_to_context(in->dec, par)) < 0)
		return video_error(r, in->path, "decoder parameters", reason, rlen);
	in->dec->pkt_timebase = in->vst->time_base;
	in->dec->thread_count = threads > 0 ? threads : 1;
	if ((r = avcodec_open2(in->dec, codec, NULL)) < 0)
		return video_error(r, in->path, "cannot open the decoder", reason, rlen);
	return STAGE_OK;
}

/* The mov demuxer knows every stream's codec, size and start from the
 * header; avformat_find_stream_info() also decodes the first frames (in a
 * decoder of its own), which costs a capture at 0 s a fifth of its time.
 * So it runs only when asked (transcode: complete codec parameters for the
 * encoder's colour tags) or when the header lacks the video's size. The
 * file's start is then the earliest stream start, as it computes it. */
static int
input_stream_info(struct video_input *in, bool full)
{
	int64_t start = INT64_MAX;
	bool sized = false;

	for (unsigned k = 0; k < in->fmt->nb_streams; k++) {
		const AVStream *st = in->fmt->streams[k];

		if (st->codecpar->codec_type == AVMEDIA_TYPE_VIDEO && st->codecpar->width > 0 &&
		    st->codecpar->height > 0)
			sized = true;
		if (st->start_time != AV_NOPTS_VALUE)
			start = FFMIN(start,
				      av_rescale_q(st->start_time, st->time_base, AV_TIME_BASE_Q));
	}
	if (full || !sized) {
		int r = avformat_find_stream_info(in->fmt, NULL);

		if (r < 0)
			return r;
		start = in->fmt->start_time;
	}
	in->start = start != INT64_MAX && start != AV_NOPTS_VALUE ? start : 0;
	return 0;
}

enum stage_rc
video_open(struct video_input *in, const char *path, int fd, bool full, int threads, char *reason,
	   size_t rlen)
{
	const AVInputFormat *ifmt = NULL;
	const AVCodec *codec = NULL;
	unsigned char *buf;
	enum stage_rc rc;
	int r;

	memset(in, 0, sizeof(*in));
	in->path = path;
	in->fd = -1;
	video_log_init();
	if ((rc = input_fd(in, path, fd, reason, rlen)) != STAGE_OK)
		return rc;
	if ((buf = av_malloc(IO_BUFFER_SIZE)) == NULL ||
	    (in->pb = avio_alloc_context(buf, IO_BUFFER_SIZE, 0, in, input_read, NULL,
					 input_seek)) == NULL) {
		av_free(buf);
		return video_error(AVERROR(ENOMEM), path, "open", reason, rlen);
	}
	if ((rc = input_probe(in, &ifmt, reason, rlen)) != STAGE_OK)
		return rc;
	if ((in->fmt = avformat_alloc_context()) == NULL)
		return video_error(AVERROR(ENOMEM), path, "open", reason, rlen);
	in->fmt->pb = in->pb; /* ours: avformat_close_input leaves it to video_close */
	in->fmt->io_open = input_refuse_open;
	in->fmt->protocol_whitelist = av_strdup("file");
	if ((r = avformat_open_input(&in->fmt, path, ifmt, NULL)) < 0) /* frees fmt on error */
		return video_error(r, path, "not a valid MP4", reason, rlen);
	if ((r = input_stream_info(in, full)) < 0)
		return video_error(r, path, "cannot read its streams", reason, rlen);
	if ((rc = input_video_stream(in, &codec, reason, rlen)) != STAGE_OK ||
	    (rc = video_check_complete(in, in->vst, reason, rlen)) != STAGE_OK)
		return rc;
	return input_decoder(in, codec, threads, reason, rlen);
}

enum stage_rc
video_check_complete(struct video_input *in, const AVStream *st, char *reason, size_t rlen)
{
	int n = avformat_index_get_entries_count(st);
	int64_t end = 0;

	for (int i = 0; i < n; i++) {
		const AVIndexEntry *e = avformat_index_get_entry((AVStream *)st, i);

		if (e && e->pos + e->size > end)
			end = e->pos + e->size;
	}
	if (end > in->size) {
		snprintf(reason, rlen,
			 "%s: truncated: its samples reach byte %lld but the file has %lld",
			 in->path, (long long)end, (long long)in->size);
		return STAGE_PERMFAIL;
	}
	return STAGE_OK;
}

void
video_close(struct video_input *in)
{
	avcodec_free_context(&in->dec);
	avformat_close_input(&in->fmt);
	if (in->pb) {
		av_freep(&in->pb->buffer);
		avio_context_free(&in->pb);
	}
	if (in->fd >= 0)
		close(in->fd);
	in->fd = -1;
}

/* --- the display matrix --------------------------------------------------------- */

/* As ffmpeg's autorotate: the angle rounded, multiples of 90 degrees
 * turned exactly, mirrored matrices mirrored; other angles are ignored. */
void
video_orientation(const AVStream *st, struct video_orient *o)
{
	const int32_t *m =
		(const int32_t *)av_stream_get_side_data(st, AV_PKT_DATA_DISPLAYMATRIX, NULL);
	double theta;

	memset(o, 0, sizeof(*o));
	if (m == NULL)
		return;
	theta = -round(av_display_rotation_get(m));
	theta -= 360 * floor(theta / 360 + 0.9 / 360);
	if (fabs(theta - 90) < 1.0) {
		o->transpose = true; /* clock: transpose + hflip; cclock_flip: transpose */
		o->hflip = m[3] <= 0;
	} else if (fabs(theta - 180) < 1.0) {
		o->hflip = m[0] < 0;
		o->vflip = m[4] < 0;
	} else if (fabs(theta - 270) < 1.0) {
		o->transpose = true; /* cclock: transpose + vflip; clock_flip: + hflip */
		o->vflip = true;
		o->hflip = m[3] < 0;
	} else if (fabs(theta) < 1.0) {
		o->vflip = m[4] < 0;
	} else {
		log_warnx("rotation of %.0f degrees is not a multiple of 90: ignored", theta);
	}
	o->degrees = (int)lround(theta) % 360;
}

/* --- the frame at a time --------------------------------------------------------- */

/* Decode what is pending; keep the first frame at or after target in
 * *want, the latest earlier one in last. 1: found, 0: more input, <0 error. */
static int
capture_receive(struct video_input *in, AVFrame *cur, AVFrame *last, bool *have_last,
		int64_t target, AVFrame **want)
{
	int r;

	while ((r = avcodec_receive_frame(in->dec, cur)) == 0) {
		int64_t pts = cur->best_effort_timestamp;

		if (pts == AV_NOPTS_VALUE || pts >= target) {
			*want = av_frame_clone(cur);
			av_frame_unref(cur);
			return *want ? 1 : AVERROR(ENOMEM);
		}
		av_frame_unref(last); /* skipped: never converted */
		av_frame_move_ref(last, cur);
		*have_last = true;
	}
	return r == AVERROR(EAGAIN) ? 0 : r;
}

/* Read and decode until the wanted frame or the end. */
static int
capture_decode(struct video_input *in, AVPacket *pkt, AVFrame *cur, AVFrame *last, bool *have_last,
	       int64_t target, AVFrame **want, int *bad)
{
	int r;

	for (;;) {
		r = av_read_frame(in->fmt, pkt);
		if (r == AVERROR_EOF) {
			avcodec_send_packet(in->dec, NULL);
			r = capture_receive(in, cur, last, have_last, target, want);
			return r == AVERROR_EOF ? 0 : r;
		}
		if (r < 0)
			return r;
		if (pkt->stream_index != in->vst->index) {
			av_packet_unref(pkt);
			continue;
		}
		r = avcodec_send_packet(in->dec, pkt);
		av_packet_unref(pkt);
		if (r == AVERROR_INVALIDDATA) /* a damaged packet: go on, as ffmpeg does */
			(*bad)++;
		else if (r < 0)
			return r;
		if ((r = capture_receive(in, cur, last, have_last, target, want)) != 0)
			return r;
	}
}

enum stage_rc
video_capture(struct video_input *in, double seconds, AVFrame **frame, char *reason, size_t rlen)
{
	AVPacket *pkt = av_packet_alloc();
	AVFrame *cur = av_frame_alloc(), *last = av_frame_alloc();
	int64_t target;
	bool have_last = false;
	enum stage_rc rc = STAGE_OK;
	int r, bad = 0;

	*frame = NULL;
	if (!pkt || !cur || !last) {
		rc = video_error(AVERROR(ENOMEM), in->path, "capture", reason, rlen);
		goto end;
	}
	if (!(seconds >= 0) || seconds > 1e9)
		seconds = 0;
	for (unsigned k = 0; k < in->fmt->nb_streams; k++)
		if (in->fmt->streams[k] != in->vst)
			in->fmt->streams[k]->discard = AVDISCARD_ALL;
	target = av_rescale_q(in->start + llround(seconds * AV_TIME_BASE), AV_TIME_BASE_Q,
			      in->vst->time_base);
	if (seconds > 0 && av_seek_frame(in->fmt, in->vst->index, target, AVSEEK_FLAG_BACKWARD) < 0)
		log_debug("%s: cannot seek, decoding from the start", in->path);
	r = capture_decode(in, pkt, cur, last, &have_last, target, frame, &bad);
	if (r < 0 && r != AVERROR(ENOMEM))
		rc = video_error(r, in->path, "cannot read the video", reason, rlen);
	else if (r < 0)
		rc = video_error(r, in->path, "capture", reason, rlen);
	else if (*frame == NULL && have_last) /* past the end: the last frame */
		*frame = av_frame_clone(last);
	if (rc == STAGE_OK && *frame == NULL)
		rc = video_error(AVERROR_INVALIDDATA, in->path,
				 bad ? "no frame could be decoded" : "the video has no frame",
				 reason, rlen);
end:
	if (rc != STAGE_OK)
		av_frame_free(frame);
	av_packet_free(&pkt);
	av_frame_free(&cur);
	av_frame_free(&last);
	return rc;
}

/* Copy w x h RGB pixels from src (stride bytes per row) into dst (packed),
 * turned by o. */
static void
orient_copy(uint8_t *dst, const uint8_t *src, int stride, int w, int h,
	    const struct video_orient *o)
{
	int dw = o->transpose ? h : w, dh = o->transpose ? w : h;

	for (int y = 0; y < dh; y++) {
		int yy = o->vflip ? dh - 1 - y : y;
		uint8_t *d = dst + (size_t)y * (size_t)dw * 3;

		if (!o->transpose && !o->hflip) {
			memcpy(d, src + (size_t)yy * (size_t)stride, (size_t)dw * 3);
			continue;
		}
		for (int x = 0; x < dw; x++) {
			int xx = o->hflip ? dw - 1 - x : x;
			const uint8_t *s =
				o->transpose ? src + (size_t)xx * (size_t)stride + (size_t)yy * 3
					     : src + (size_t)yy * (size_t)stride + (size_t)xx * 3;

			d[3 * x] = s[0];
			d[3 * x + 1] = s[1];
			d[3 * x + 2] = s[2];
		}
	}
}

/* The frame as RGB at sw x sh (before turning), in an aligned frame. */
static int
frame_to_rgb(const AVFrame *f, int sw, int sh, AVFrame *rgb)
{
	const AVPixFmtDescriptor *desc = av_pix_fmt_desc_get(f->format);
	struct SwsContext *sws;
	int full = f->color_range == AVCOL_RANGE_JPEG, r;

	rgb->format = AV_PIX_FMT_RGB24;
	rgb->width = sw;
	rgb->height = sh;
	if ((r = av_frame_get_buffer(rgb, 0)) < 0)
		return r;
	sws = sws_getContext(f->width, f->height, f->format, sw, sh, AV_PIX_FMT_RGB24,
			     sw == f->width && sh == f->height ? SWS_BICUBIC : SWS_LANCZOS, NULL,
			     NULL, NULL);
	if (sws == NULL)
		return AVERROR(EINVAL);
	if (desc && !(desc->flags & AV_PIX_FMT_FLAG_RGB))
		sws_setColorspaceDetails(sws, sws_getCoefficients(f->colorspace), full,
					 sws_getCoefficients(SWS_CS_DEFAULT), 1, 0, 1 << 16,
					 1 << 16);
	r = sws_scale(sws, (const uint8_t *const *)f->data, f->linesize, 0, f->height, rgb->data,
		      rgb->linesize);
	sws_freeContext(sws);
	return r == sh ? 0 : AVERROR(EINVAL);
}

/* The frame as a TMCPIX1 file in memory (*out, malloc'd, *outlen bytes):
 * turned by o, scaled to w x h (after turning; 0 x 0 keeps the size). */
static enum stage_rc
raw_build(const AVFrame *f, const struct video_orient *o, int w, int h, const char *name,
	  uint8_t **out, size_t *outlen, char *reason, size_t rlen)
{
	AVFrame *rgb = av_frame_alloc();
	int sw = f->width, sh = f->height, hlen, r;
	char hdr[128];
	size_t total;
	uint8_t *buf = NULL;
	enum stage_rc rc = STAGE_OK;

	*out = NULL;
	if (w > 0 && h > 0) { /* the size wanted after turning: before, it is swapped */
		sw = o->transpose ? h : w;
		sh = o->transpose ? w : h;
	}
	if (rgb == NULL || (int64_t)sw * sh > VIDEO_MAX_PIXELS || sw <= 0 || sh <= 0) {
		snprintf(reason, rlen, "%s: frame of %dx%d refused", name, sw, sh);
		av_frame_free(&rgb);
		return rgb ? STAGE_PERMFAIL : STAGE_TEMPFAIL;
	}
	if ((r = frame_to_rgb(f, sw, sh, rgb)) < 0) {
		rc = video_error(r, name, "conversion to RGB", reason, rlen);
		goto end;
	}
	hlen = snprintf(hdr, sizeof(hdr), "TMCPIX1 %d %d RGB 0 0\n", o->transpose ? sh : sw,
			o->transpose ? sw : sh);
	total = (size_t)hlen + (size_t)sw * (size_t)sh * 3;
	if ((buf = malloc(total)) == NULL) {
		snprintf(reason, rlen, "%s: %zu bytes: out of memory", name, total);
		rc = STAGE_TEMPFAIL;
		goto end;
	}
	memcpy(buf, hdr, (size_t)hlen);
	orient_copy(buf + hlen, rgb->data[0], rgb->linesize[0], sw, sh, o);
	*out = buf;
	*outlen = total;
end:
	av_frame_free(&rgb);
	return rc;
}

static enum stage_rc
raw_write_error(int err, const char *name, char *reason, size_t rlen)
{
	snprintf(reason, rlen, "%s: %s", name, strerror(err));
	/* stage_errno_rc's rule; tests' tmc-capture links no libstage */
	if (errno_is_machine_fault(err)) {
		fault_note_errno(err, name);
		return STAGE_FAULT;
	}
	return STAGE_PERMFAIL;
}

enum stage_rc
video_write_raw(const AVFrame *f, const struct video_orient *o, int w, int h, int dirfd,
		const char *name, char *reason, size_t rlen)
{
	uint8_t *buf;
	size_t total;
	enum stage_rc rc = raw_build(f, o, w, h, name, &buf, &total, reason, rlen);

	/* durable: an intermediate read by a later step after a crash must
	 * not come back empty */
	if (rc == STAGE_OK && file_publish_at(dirfd, name, buf, total, true) < 0)
		rc = raw_write_error(errno, name, reason, rlen);
	free(buf);
	return rc;
}

enum stage_rc
video_write_raw_fd(const AVFrame *f, const struct video_orient *o, int fd, const char *name,
		   char *reason, size_t rlen)
{
	uint8_t *buf;
	size_t total;
	enum stage_rc rc = raw_build(f, o, 0, 0, name, &buf, &total, reason, rlen);

	if (rc == STAGE_OK && write_all(fd, buf, total) < 0)
		rc = raw_write_error(errno, name, reason, rlen);
	free(buf);
	return rc;
}

/* The frame at seconds, turned, into dirfd/name (dirfd >= 0) or onto outfd. */
static int
capture_raw(const char *src, int srcfd, double seconds, int dirfd, const char *name, int outfd,
	    char *reason, size_t rlen)
{
	struct video_input in;
	struct video_orient o;
	AVFrame *frame = NULL;
	enum stage_rc rc;

	video_log_init();
	video_log_reset();
	rc = video_open(&in, src, srcfd, false, 1, reason, rlen);
	if (rc == STAGE_OK)
		rc = video_capture(&in, seconds, &frame, reason, rlen);
	if (rc == STAGE_OK) {
		video_orientation(in.vst, &o);
		rc = dirfd >= 0 ? video_write_raw(frame, &o, 0, 0, dirfd, name, reason, rlen)
				: video_write_raw_fd(frame, &o, outfd, name, reason, rlen);
	}
	av_frame_free(&frame);
	video_close(&in);
	return (int)rc;
}

int
video_capture_raw(const char *src, int srcfd, double seconds, int dirfd, const char *name,
		  char *reason, size_t rlen)
{
	return capture_raw(src, srcfd, seconds, dirfd, name, -1, reason, rlen);
}

int
video_capture_fd(const char *src, int srcfd, double seconds, int outfd, char *reason, size_t rlen)
{
	return capture_raw(src, srcfd, seconds, -1, src, outfd, reason, rlen);
}
