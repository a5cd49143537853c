/*
 * transcode.c - the H.264 rendition of a video step (doc/TMC.md,
 * Video, with Fixes: video).
 *
 * Video: decode -> [turn as the display matrix says] -> scale into the
 * step's box (aspect kept, never enlarged, even sides) -> overlay the
 * site's watermark (scaled down to fit, centred; its own alpha, as TMC) ->
 * x264, CRF 23 capped by VBV at `bitrate` kbit/s (maxrate = bufsize =
 * bitrate: `bitrate` is the maximum the README promises, where TMC's
 * two-pass ABR only aimed at it on average). Frame times pass through from
 * the source, so variable frame rate keeps its timing. Audio: AAC is
 * copied; anything else becomes AAC 128 kbit/s (TMC's rate); no audio, no
 * audio track. The mp4 is written with its moov first (+faststart).
 *
 * Output goes to job->out_fd (opened O_NOFOLLOW by the caller, who names
 * and publishes it) through our own AVIOContexts with pread/pwrite, so the
 * muxer's second pass for faststart also reads our fd and FFmpeg opens no
 * path. A pending SIGTERM is checked every packet: the item is abandoned
 * within a packet's work (STAGE_STOPPED) so shutdown never waits for a
 * long transcode.
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libavfilter/avfilter.h>
#include <libavfilter/buffersink.h>
#include <libavfilter/buffersrc.h>
#include <libavutil/channel_layout.h>
#include <libavutil/opt.h>
#include <libavutil/pixdesc.h>

#include "video.h"

#define IO_BUFFER_SIZE (256 * 1024)
#define AUDIO_BITRATE 128000
#define WATERMARK_MAX_BYTES (32 << 20)

struct tc {
	struct video_job *job;
	struct video_input in;
	struct video_orient orient;
	char *reason;
	size_t rlen;
	int threads;
	AVPacket *pkt;
	AVFrame *frame, *filt;
	/* video */
	AVFilterGraph *vg;
	AVFilterContext *vsrc, *wsrc, *vsink;
	int g_w, g_h, g_fmt; /* the frames the graph was built for */
	AVCodecContext *venc;
	AVStream *ovs;
	AVFrame *wm;                /* the decoded watermark, or NULL */
	int wm_w, wm_h, wm_x, wm_y; /* its size and place in the output */
	int64_t voff;               /* file start, video time base */
	int64_t vdur;               /* one frame, encoder time base (last packet's duration) */
	/* audio */
	AVStream *ias;
	bool acopy;
	AVCodecContext *adec, *aenc;
	AVFilterGraph *ag;
	AVFilterContext *asrc, *asink;
	AVStream *oas;
	int64_t aoff;
	/* output */
	AVFormatContext *out;
	int64_t duration; /* AV_TIME_BASE units, for progress */
	int percent;
	int64_t said_ms; /* monotonic ms of the last progress line */
};

/* A long transcode says how far it is this often, so its log never goes
 * quiet for minutes (status shows the percent too). */
#define PROGRESS_LOG_MS 10000

/* A warning for the result line: the output is still made. */
static void __attribute__((format(printf, 2, 3)))
job_warn(struct video_job *job, const char *fmt, ...)
{
	size_t n = strlen(job->warning);
	va_list ap;

	if (n > 0 && n + 2 < sizeof(job->warning)) {
		strcpy(job->warning + n, "; ");
		n += 2;
	}
	va_start(ap, fmt);
	vsnprintf(job->warning + n, sizeof(job->warning) - n, fmt, ap);
	va_end(ap);
}

/* --- our output file: pwrite/pread on job->out_fd -------------------------------------
 */

struct outio {
	int fd;
	int64_t pos;
};

static int
outio_write(void *opaque, uint8_t *buf, int size)
{
	struct outio *o = opaque;
	int done = 0;

	while (done < size) {
		ssize_t n = pwrite(o->fd, buf + done, (size_t)(size - done), (off_t)o->pos);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return AVERROR(errno);
		done += (int)n;
		o->pos += n;
	}
	return done;
}

static int
outio_read(void *opaque, uint8_t *buf, int size)
{
	struct outio *o = opaque;
	ssize_t n;

	do
		n = pread(o->fd, buf, (size_t)size, (off_t)o->pos);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return AVERROR(errno);
	if (n == 0)
		return AVERROR_EOF;
	o->pos += n;
	return (int)n;
}

static int64_t
outio_seek(void *opaque, int64_t off, int whence)
{
	struct outio *o = opaque;
	struct stat st;

	if ((whence & AVSEEK_SIZE) || (whence & ~AVSEEK_FORCE) == SEEK_END) {
		if (fstat(o->fd, &st) < 0)
			return AVERROR(errno);
		if (whence & AVSEEK_SIZE)
			return st.st_size;
		off += st.st_size;
	} else if ((whence & ~AVSEEK_FORCE) == SEEK_CUR) {
		off += o->pos;
	}
	if (off < 0)
		return AVERROR(EINVAL);
	return o->pos = off;
}

static AVIOContext *
outio_open(int fd, bool write)
{
	struct outio *o = av_mallocz(sizeof(*o));
	unsigned char *buf = av_malloc(IO_BUFFER_SIZE);
	AVIOContext *pb = NULL;

	if (o && buf)
		pb = avio_alloc_context(buf, IO_BUFFER_SIZE, write, o, write ? NULL : outio_read,
					write ? outio_write : NULL, outio_seek);
	if (pb == NULL) {
		av_free(o);
		av_free(buf);
		return NULL;
	}
	o->fd = fd;
	return pb;
}

static void
outio_free(AVIOContext **pb)
{
	if (*pb == NULL)
		return;
	av_freep(&(*pb)->opaque);
	av_freep(&(*pb)->buffer);
	avio_context_free(pb);
}

/* The muxer's second pass (faststart) reopens "the output": our fd again. */
static int
outio_reopen(AVFormatContext *s, AVIOContext **pb, const char *url, int flags,
	     AVDictionary **options)
{
	struct outio *o = s->pb ? s->pb->opaque : NULL;

	(void)options;
	if (o == NULL || (flags & AVIO_FLAG_WRITE)) {
		av_log(s, AV_LOG_ERROR, "refused to open %s\n", url);
		return AVERROR(EPERM);
	}
	return (*pb = outio_open(o->fd, false)) ? 0 : AVERROR(ENOMEM);
}

static int
outio_close(AVFormatContext *s, AVIOContext *pb)
{
	(void)s;
	outio_free(&pb);
	return 0;
}

/* --- geometry ------------------------------------------------------------------------
 */

static int
even_side(double v, int cap)
{
	int e = 2 * (int)lround(v / 2);

	while (e > cap && e > 2)
		e -= 2;
	return e < 2 ? 2 : e;
}

void
video_fit(int w, int h, const int box[2], int *ow, int *oh)
{
	int W = box[0] > 0 ? box[0] : 0, H = box[1] > 0 ? box[1] : 0;
	double fw = w, fh = h;

	if (W && H) { /* TMC: wider than the box fits the width, else the height */
		if ((int64_t)w * H > (int64_t)W * h)
			H = 0;
		else
			W = 0;
	}
	if (W && W < w) {
		fw = W;
		fh = (double)h * W / w;
	} else if (H && H < h) {
		fh = H;
		fw = (double)w * H / h;
	}
	*ow = even_side(round(fw), W && W < w ? W : w);
	*oh = even_side(round(fh), H && H < h ? H : h);
}

bool
video_stop_pending(void)
{
	sigset_t set;

	if (sigpending(&set) < 0)
		return false;
	return sigismember(&set, SIGTERM) == 1 || sigismember(&set, SIGINT) == 1;
}

/* --- the watermark --------------------------------------------------------------------
 */

/* Decoded once per process; decoded again when the file's size or mtime change. */
static struct {
	char *path;
	off_t size;
	struct timespec mtime;
	AVFrame *frame;
} wm_cache;

static int
wm_decode(const uint8_t *data, size_t len, AVFrame **out)
{
	enum AVCodecID id = len >= 8 && memcmp(data, "\x89PNG\r\n\x1a\n", 8) == 0 ? AV_CODEC_ID_PNG
			    : len >= 3 && data[0] == 0xff && data[1] == 0xd8 ? AV_CODEC_ID_MJPEG
									     : AV_CODEC_ID_NONE;
	const AVCodec *codec = id != AV_CODEC_ID_NONE ? avcodec_find_decoder(id) : NULL;
	AVCodecContext *dec = codec ? avcodec_alloc_context3(codec) : NULL;
	AVPacket *pkt = av_packet_alloc();
	AVFrame *f = av_frame_alloc();
	int r = codec ? 0 : AVERROR_INVALIDDATA;

	if (r == 0 && (!dec || !pkt || !f || av_new_packet(pkt, (int)len) < 0))
		r = AVERROR(ENOMEM);
	if (r == 0) {
		memcpy(pkt->data, data, len);
		dec->thread_count = 1;
		if ((r = avcodec_open2(dec, codec, NULL)) == 0 &&
		    (r = avcodec_send_packet(dec, pkt)) == 0 &&
		    (r = avcodec_send_packet(dec, NULL)) == 0)
			r = avcodec_receive_frame(dec, f);
	}
	if (r == 0) {
		*out = f;
		f = NULL;
	}
	av_frame_free(&f);
	av_packet_free(&pkt);
	avcodec_free_context(&dec);
	return r;
}

static int
wm_load(const char *path, const AVFrame **frame, char *why, size_t wlen)
{
	struct stat st;
	uint8_t *data = NULL;
	size_t off = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK), r = 0;

	if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size <= 0 ||
	    st.st_size > WATERMARK_MAX_BYTES) {
		snprintf(why, wlen, "%s",
			 fd < 0 ? strerror(errno) : "not a regular file of a sane size");
		if (fd >= 0)
			close(fd);
		return -1;
	}
	if (wm_cache.frame && strcmp(wm_cache.path, path) == 0 && wm_cache.size == st.st_size &&
	    wm_cache.mtime.tv_sec == st.st_mtim.tv_sec &&
	    wm_cache.mtime.tv_nsec == st.st_mtim.tv_nsec) {
		close(fd);
		*frame = wm_cache.frame;
		return 0;
	}
	data = xmalloc((size_t)st.st_size);
	while (off < (size_t)st.st_size) {
		ssize_t n = pread(fd, data + off, (size_t)st.st_size - off, (off_t)off);

		if (n <= 0) {
			snprintf(why, wlen, "%s", n < 0 ? strerror(errno) : "file shrank");
			r = -1;
			break;
		}
		off += (size_t)n;
	}
	close(fd);
	av_frame_free(&wm_cache.frame);
	xfree(&wm_cache.path);
	if (r == 0 && (r = wm_decode(data, off, &wm_cache.frame)) < 0)
		snprintf(why, wlen, "cannot decode it (PNG or JPEG): %s", av_err2str(r));
	free(data);
	if (r < 0)
		return -1;
	wm_cache.path = xstrdup(path);
	wm_cache.size = st.st_size;
	wm_cache.mtime = st.st_mtim;
	*frame = wm_cache.frame;
	return 0;
}

/* TMC's image rule (scale down only, width first) and then the height
 * too, so the watermark always fits; centred. */
static void
wm_fit(int iw, int ih, int *ww, int *wh)
{
	if (ih < *wh || iw < *ww) {
		if (iw < *ww) {
			*wh = (int)floor((double)*wh * iw / *ww);
			*ww = iw;
		} else {
			*ww = (int)floor((double)*ww * ih / *wh);
			*wh = ih;
		}
		if (*wh > ih) {
			*ww = (int)floor((double)*ww * ih / *wh);
			*wh = ih;
		}
	}
	*ww = *ww < 1 ? 1 : *ww;
	*wh = *wh < 1 ? 1 : *wh;
}

/* The decoded watermark goes into the graph as it is, and the graph scales
 * it (area average, as `scale=...:flags=area` in ffmpeg's command line). */
static int
wm_prepare(struct tc *tc, const char *path)
{
	const AVFrame *src;
	char why[256];

	if (wm_load(path, &src, why, sizeof(why)) < 0) {
		job_warn(tc->job, "Watermark file does not exist or is unreadable - file:%s (%s)",
			 path, why);
		return 0;
	}
	tc->wm_w = src->width;
	tc->wm_h = src->height;
	wm_fit(tc->job->out_w, tc->job->out_h, &tc->wm_w, &tc->wm_h);
	if ((tc->wm = av_frame_clone(src)) == NULL)
		return AVERROR(ENOMEM);
	tc->wm_x = (tc->job->out_w - tc->wm_w) / 2;
	tc->wm_y = (tc->job->out_h - tc->wm_h) / 2;
	return 0;
}

/* --- writing --------------------------------------------------------------------------
 */

static int
tc_write(struct tc *tc, AVPacket *pkt, AVRational from, AVStream *ost)
{
	int r;

	pkt->stream_index = ost->index;
	pkt->pos = -1;
	av_packet_rescale_ts(pkt, from, ost->time_base);
	if ((r = av_interleaved_write_frame(tc->out, pkt)) < 0)
		return r;
	return 0;
}

/* Send frame (NULL: flush) to enc and write every packet it gives. */
static int
tc_encode(struct tc *tc, AVCodecContext *enc, AVFrame *frame, AVStream *ost)
{
	int r = avcodec_send_frame(enc, frame);

	if (r < 0 && r != AVERROR_EOF)
		return r;
	while ((r = avcodec_receive_packet(enc, tc->pkt)) == 0) {
		if (enc == tc->venc && tc->pkt->duration <= 0)
			tc->pkt->duration = tc->vdur;
		if ((r = tc_write(tc, tc->pkt, enc->time_base, ost)) < 0)
			return r;
	}
	return r == AVERROR(EAGAIN) || r == AVERROR_EOF ? 0 : r;
}

/* --- the video filter graph ------------------------------------------------------------
 */

static const char *
orient_filters(const struct video_orient *o)
{
	if (o->transpose)
		return o->hflip ? (o->vflip ? "transpose=clock_flip," : "transpose=clock,")
				: (o->vflip ? "transpose=cclock," : "transpose=cclock_flip,");
	if (o->hflip && o->vflip)
		return "hflip,vflip,";
	return o->hflip ? "hflip," : o->vflip ? "vflip," : "";
}

static int
graph_io(AVFilterGraph *g, const char *desc, AVFilterContext *src, AVFilterContext *src2,
	 AVFilterContext *sink)
{
	AVFilterInOut *outs = avfilter_inout_alloc(), *outs2 = src2 ? avfilter_inout_alloc() : NULL;
	AVFilterInOut *ins = avfilter_inout_alloc();
	int r = AVERROR(ENOMEM);

	if (outs && ins && (outs2 || !src2)) {
		outs->name = av_strdup("in");
		outs->filter_ctx = src;
		outs->next = outs2;
		if (outs2) {
			outs2->name = av_strdup("wm");
			outs2->filter_ctx = src2;
			outs2 = NULL; /* now in outs */
		}
		ins->name = av_strdup("out");
		ins->filter_ctx = sink;
		if ((r = avfilter_graph_parse_ptr(g, desc, &ins, &outs, NULL)) >= 0)
			r = avfilter_graph_config(g, NULL);
	}
	avfilter_inout_free(&ins);
	avfilter_inout_free(&outs);
	avfilter_inout_free(&outs2);
	return r;
}

static AVFilterGraph *
graph_new(int threads)
{
	AVFilterGraph *g = avfilter_graph_alloc();

	if (g) {
		g->nb_threads = threads;
		g->scale_sws_opts = av_strdup("flags=bicubic"); /* ffmpeg's default */
	}
	return g;
}

static int
vgraph_build(struct tc *tc, const AVFrame *f)
{
	AVRational tb = tc->in.vst->time_base, sar = f->sample_aspect_ratio;
	char args[256], desc[512];
	int r;

	avfilter_graph_free(&tc->vg);
	if ((tc->vg = graph_new(tc->threads)) == NULL)
		return AVERROR(ENOMEM);
	snprintf(args, sizeof(args),
		 "video_size=%dx%d:pix_fmt=%d:time_base=%d/%d:pixel_aspect=%d/%d", f->width,
		 f->height, f->format, tb.num, tb.den, sar.num > 0 ? sar.num : 1,
		 sar.num > 0 && sar.den > 0 ? sar.den : 1);
	if ((r = avfilter_graph_create_filter(&tc->vsrc, avfilter_get_by_name("buffer"), "in", args,
					      NULL, tc->vg)) < 0 ||
	    (r = avfilter_graph_create_filter(&tc->vsink, avfilter_get_by_name("buffersink"), "out",
					      NULL, NULL, tc->vg)) < 0)
		return r;
	if (tc->wm) {
		snprintf(args, sizeof(args),
			 "video_size=%dx%d:pix_fmt=%d:time_base=%d/%d:pixel_aspect=1/1",
			 tc->wm->width, tc->wm->height, tc->wm->format, tb.num, tb.den);
		if ((r = avfilter_graph_create_filter(&tc->wsrc, avfilter_get_by_name("buffer"),
						      "wm", args, NULL, tc->vg)) < 0)
			return r;
		snprintf(desc, sizeof(desc),
			 "[wm]scale=%d:%d:flags=area[w];[in]%sscale=%d:%d:flags=bicubic,"
			 "setsar=1[v];"
			 "[v][w]overlay=x=%d:y=%d:eof_action=repeat:format=yuv420,format="
			 "yuv420p[out]",
			 tc->wm_w, tc->wm_h, orient_filters(&tc->orient), tc->job->out_w,
			 tc->job->out_h, tc->wm_x, tc->wm_y);
	} else {
		snprintf(desc, sizeof(desc),
			 "[in]%sscale=%d:%d:flags=bicubic,setsar=1,format=yuv420p[out]",
			 orient_filters(&tc->orient), tc->job->out_w, tc->job->out_h);
	}
	if ((r = graph_io(tc->vg, desc, tc->vsrc, tc->wm ? tc->wsrc : NULL, tc->vsink)) < 0)
		return r;
	if (tc->wm) { /* one frame at the first frame's time, then its end: overlay
			 repeats it */
		AVFrame *w = av_frame_clone(tc->wm);

		if (w == NULL)
			return AVERROR(ENOMEM);
		w->pts = f->pts;
		r = av_buffersrc_add_frame(tc->wsrc, w);
		av_frame_free(&w);
		if (r < 0 || (r = av_buffersrc_add_frame(tc->wsrc, NULL)) < 0)
			return r;
	}
	tc->g_w = f->width;
	tc->g_h = f->height;
	tc->g_fmt = f->format;
	return 0;
}

/* Everything the graph has ready goes to the encoder. */
static int
vgraph_drain(struct tc *tc)
{
	AVRational tb = av_buffersink_get_time_base(tc->vsink);
	int r;

	while ((r = av_buffersink_get_frame(tc->vsink, tc->filt)) >= 0) {
		tc->filt->pict_type = AV_PICTURE_TYPE_NONE; /* x264 decides, not the source */
		if (tc->filt->pts != AV_NOPTS_VALUE)
			tc->filt->pts = av_rescale_q(tc->filt->pts, tb, tc->venc->time_base);
		r = tc_encode(tc, tc->venc, tc->filt, tc->ovs);
		av_frame_unref(tc->filt);
		if (r < 0)
			return r;
		tc->job->frames++;
	}
	return r == AVERROR(EAGAIN) || r == AVERROR_EOF ? 0 : r;
}

/* One decoded frame (NULL: the end) through the graph. */
static int
video_frame(struct tc *tc, AVFrame *f)
{
	int r;

	if (f == NULL)
		return tc->vg ? (r = av_buffersrc_add_frame(tc->vsrc, NULL)) < 0 ? r
										 : vgraph_drain(tc)
			      : 0;
	if (f->best_effort_timestamp != AV_NOPTS_VALUE)
		f->pts = f->best_effort_timestamp - tc->voff;
	if (tc->vg && (f->width != tc->g_w || f->height != tc->g_h || f->format != tc->g_fmt)) {
		/* the stream changed size: finish what the old graph holds, then rebuild
		 */
		if ((r = av_buffersrc_add_frame(tc->vsrc, NULL)) < 0 || (r = vgraph_drain(tc)) < 0)
			return r;
		avfilter_graph_free(&tc->vg);
	}
	if (tc->vg == NULL && (r = vgraph_build(tc, f)) < 0)
		return r;
	if ((r = av_buffersrc_add_frame_flags(tc->vsrc, f, AV_BUFFERSRC_FLAG_KEEP_REF)) < 0)
		return r;
	return vgraph_drain(tc);
}

/* Send pkt (NULL: flush) to dec; each frame to fn. Damaged packets are
 * skipped, as ffmpeg does. */
static int
decode(struct tc *tc, AVCodecContext *dec, AVPacket *pkt, int (*fn)(struct tc *, AVFrame *))
{
	int r = avcodec_send_packet(dec, pkt);

	if (r == AVERROR_INVALIDDATA)
		return 0;
	if (r < 0 && r != AVERROR_EOF)
		return r;
	while ((r = avcodec_receive_frame(dec, tc->frame)) == 0) {
		r = fn(tc, tc->frame);
		av_frame_unref(tc->frame);
		if (r < 0)
			return r;
	}
	return r == AVERROR(EAGAIN) || r == AVERROR_EOF || r == AVERROR_INVALIDDATA ? 0 : r;
}

/* --- audio
 * -------------------------------------------------------------------------------- */

static int
aac_rate(int rate)
{
	static const int ok[] = {96000, 88200, 64000, 48000, 44100, 32000, 24000,
				 22050, 16000, 12000, 11025, 8000,  7350};

	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
		if (ok[i] == rate)
			return rate;
	return 48000;
}

static int
agraph_build(struct tc *tc, const AVFrame *f)
{
	AVRational tb = tc->ias->time_base;
	AVChannelLayout cl = {0};
	char args[512], layout[128], desc[256];
	int r;

	if ((tc->ag = graph_new(tc->threads)) == NULL)
		return AVERROR(ENOMEM);
	if (f->ch_layout.order == AV_CHANNEL_ORDER_UNSPEC)
		av_channel_layout_default(&cl, f->ch_layout.nb_channels);
	else if ((r = av_channel_layout_copy(&cl, &f->ch_layout)) < 0)
		return r;
	av_channel_layout_describe(&cl, layout, sizeof(layout));
	av_channel_layout_uninit(&cl);
	snprintf(args, sizeof(args),
		 "time_base=%d/%d:sample_rate=%d:sample_fmt=%s:channel_layout=%s", tb.num, tb.den,
		 f->sample_rate, av_get_sample_fmt_name(f->format), layout);
	av_channel_layout_describe(&tc->aenc->ch_layout, layout, sizeof(layout));
	snprintf(desc, sizeof(desc),
		 "[in]aformat=sample_fmts=fltp:sample_rates=%d:channel_layouts=%s[out]",
		 tc->aenc->sample_rate, layout);
	if ((r = avfilter_graph_create_filter(&tc->asrc, avfilter_get_by_name("abuffer"), "in",
					      args, NULL, tc->ag)) < 0 ||
	    (r = avfilter_graph_create_filter(&tc->asink, avfilter_get_by_name("abuffersink"),
					      "out", NULL, NULL, tc->ag)) < 0 ||
	    (r = graph_io(tc->ag, desc, tc->asrc, NULL, tc->asink)) < 0)
		return r;
	av_buffersink_set_frame_size(tc->asink, (unsigned)tc->aenc->frame_size);
	return 0;
}

static int
agraph_drain(struct tc *tc)
{
	AVRational tb = av_buffersink_get_time_base(tc->asink);
	int r;

	while ((r = av_buffersink_get_frame(tc->asink, tc->filt)) >= 0) {
		if (tc->filt->pts != AV_NOPTS_VALUE)
			tc->filt->pts = av_rescale_q(tc->filt->pts, tb, tc->aenc->time_base);
		r = tc_encode(tc, tc->aenc, tc->filt, tc->oas);
		av_frame_unref(tc->filt);
		if (r < 0)
			return r;
	}
	return r == AVERROR(EAGAIN) || r == AVERROR_EOF ? 0 : r;
}

static int
audio_frame(struct tc *tc, AVFrame *f)
{
	int r;

	if (f == NULL)
		return tc->ag ? (r = av_buffersrc_add_frame(tc->asrc, NULL)) < 0 ? r
										 : agraph_drain(tc)
			      : 0;
	if (f->best_effort_timestamp != AV_NOPTS_VALUE)
		f->pts = f->best_effort_timestamp - tc->aoff;
	if (tc->ag == NULL && (r = agraph_build(tc, f)) < 0)
		return r;
	if ((r = av_buffersrc_add_frame_flags(tc->asrc, f, AV_BUFFERSRC_FLAG_KEEP_REF)) < 0)
		return r;
	return agraph_drain(tc);
}

/* The audio track: AAC copied, anything else to AAC, none if no decoder. */
static enum stage_rc
audio_open(struct tc *tc)
{
	const AVCodec *dcodec = NULL, *ecodec;
	AVCodecParameters *par;
	int i, r;

	i = av_find_best_stream(tc->in.fmt, AVMEDIA_TYPE_AUDIO, -1, tc->in.vst->index, &dcodec, 0);
	if (i == AVERROR_DECODER_NOT_FOUND)
		job_warn(tc->job, "audio dropped: this FFmpeg cannot decode it");
	if (i < 0)
		return STAGE_OK; /* a video with no audio */
	tc->ias = tc->in.fmt->streams[i];
	tc->ias->discard = AVDISCARD_DEFAULT;
	if (video_check_complete(&tc->in, tc->ias, tc->reason, tc->rlen) != STAGE_OK)
		return STAGE_PERMFAIL;
	par = tc->ias->codecpar;
	tc->aoff = av_rescale_q(tc->in.start, AV_TIME_BASE_Q, tc->ias->time_base);
	if ((tc->oas = avformat_new_stream(tc->out, NULL)) == NULL)
		return video_error(AVERROR(ENOMEM), tc->job->src, "audio", tc->reason, tc->rlen);
	if (par->codec_id == AV_CODEC_ID_AAC) {
		tc->acopy = true;
		if ((r = avcodec_parameters_copy(tc->oas->codecpar, par)) < 0)
			return video_error(r, tc->job->src, "audio", tc->reason, tc->rlen);
		tc->oas->codecpar->codec_tag = 0;
		tc->oas->time_base = tc->ias->time_base;
		return STAGE_OK;
	}
	ecodec = avcodec_find_encoder(AV_CODEC_ID_AAC);
	if (!(tc->adec = avcodec_alloc_context3(dcodec)) ||
	    !(tc->aenc = avcodec_alloc_context3(ecodec)))
		return video_error(AVERROR(ENOMEM), tc->job->src, "audio", tc->reason, tc->rlen);
	if ((r = avcodec_parameters_to_context(tc->adec, par)) < 0)
		return video_error(r, tc->job->src, "audio decoder", tc->reason, tc->rlen);
	tc->adec->pkt_timebase = tc->ias->time_base;
	tc->adec->thread_count = 1;
	if ((r = avcodec_open2(tc->adec, dcodec, NULL)) < 0)
		return video_error(r, tc->job->src, "audio decoder", tc->reason, tc->rlen);
	tc->aenc->sample_rate = aac_rate(par->sample_rate);
	av_channel_layout_default(&tc->aenc->ch_layout, par->ch_layout.nb_channels == 1 ? 1 : 2);
	tc->aenc->sample_fmt = AV_SAMPLE_FMT_FLTP;
	tc->aenc->bit_rate = AUDIO_BITRATE;
	tc->aenc->time_base = (AVRational){1, tc->aenc->sample_rate};
	if (tc->out->oformat->flags & AVFMT_GLOBALHEADER)
		tc->aenc->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
	if ((r = avcodec_open2(tc->aenc, ecodec, NULL)) < 0 ||
	    (r = avcodec_parameters_from_context(tc->oas->codecpar, tc->aenc)) < 0)
		return video_error(r, tc->job->src, "AAC encoder", tc->reason, tc->rlen);
	tc->oas->time_base = tc->aenc->time_base;
	return STAGE_OK;
}

/* --- setup
 * ---------------------------------------------------------------------------------- */

static enum stage_rc
video_open_encoder(struct tc *tc)
{
	const AVCodecParameters *par = tc->in.vst->codecpar;
	const AVCodec *codec = video_h264_encoder();
	AVRational fr = av_guess_frame_rate(tc->in.fmt, tc->in.vst, NULL);
	AVDictionary *opts = NULL;
	AVCodecContext *e;
	int r;

	if (codec == NULL) {
		snprintf(tc->reason, tc->rlen, "%s: this FFmpeg has no H.264 encoder",
			 tc->job->src);
		return STAGE_PERMFAIL;
	}
	if ((tc->venc = e = avcodec_alloc_context3(codec)) == NULL)
		return video_error(AVERROR(ENOMEM), tc->job->src, "encoder", tc->reason, tc->rlen);
	e->width = tc->job->out_w;
	e->height = tc->job->out_h;
	e->pix_fmt = AV_PIX_FMT_YUV420P;
	e->sample_aspect_ratio = (AVRational){1, 1};
	e->time_base = tc->in.vst->time_base;
	if (fr.num > 0 && fr.den > 0)
		e->framerate = fr;
	tc->vdur = fr.num > 0 && fr.den > 0 ? av_rescale_q(1, av_inv_q(fr), e->time_base) : 0;
	e->color_range = par->color_range;
	e->color_primaries = par->color_primaries;
	e->color_trc = par->color_trc;
	e->colorspace = par->color_space;
	e->thread_count = tc->threads;
	if (tc->out->oformat->flags & AVFMT_GLOBALHEADER)
		e->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
	video_encoder_options(codec, e, &opts, tc->job->preset, tc->job->bitrate);
	r = avcodec_open2(e, codec, &opts);
	av_dict_free(&opts);
	if (r < 0 || (tc->ovs = avformat_new_stream(tc->out, NULL)) == NULL ||
	    (r = avcodec_parameters_from_context(tc->ovs->codecpar, e)) < 0)
		return video_error(r < 0 ? r : AVERROR(ENOMEM), tc->job->src, codec->name,
				   tc->reason, tc->rlen);
	tc->ovs->time_base = e->time_base;
	return STAGE_OK;
}

static enum stage_rc
output_open(struct tc *tc)
{
	int r = avformat_alloc_output_context2(&tc->out, NULL, "mp4", NULL);

	if (r < 0 || (tc->out->pb = outio_open(tc->job->out_fd, true)) == NULL)
		return video_error(r < 0 ? r : AVERROR(ENOMEM), tc->job->src, "output", tc->reason,
				   tc->rlen);
	tc->out->flags |= AVFMT_FLAG_CUSTOM_IO;
	tc->out->io_open = outio_reopen;
	tc->out->io_close2 = outio_close;
	av_freep(&tc->out->url);
	tc->out->url = av_strdup(tc->job->tmp);
	return STAGE_OK;
}

static enum stage_rc
tc_setup(struct tc *tc)
{
	struct video_job *job = tc->job;
	const AVCodecParameters *par;
	AVRational sar;
	AVDictionary *opts = NULL;
	enum stage_rc rc;
	int w, h, r;

	if ((rc = video_open(&tc->in, job->src, job->src_fd, true, tc->threads, tc->reason,
			     tc->rlen)) != STAGE_OK)
		return rc;
	video_orientation(tc->in.vst, &tc->orient);
	par = tc->in.vst->codecpar;
	sar = tc->in.vst->sample_aspect_ratio.num ? tc->in.vst->sample_aspect_ratio
						  : par->sample_aspect_ratio;
	w = par->width;
	h = par->height;
	if (sar.num > 0 && sar.den > 0 && sar.num != sar.den)
		w = (int)av_rescale(w, sar.num, sar.den); /* shown with square pixels */
	video_fit(tc->orient.transpose ? h : w, tc->orient.transpose ? w : h, job->box, &job->out_w,
		  &job->out_h);
	tc->voff = av_rescale_q(tc->in.start, AV_TIME_BASE_Q, tc->in.vst->time_base);
	tc->duration = tc->in.fmt->duration > 0 ? tc->in.fmt->duration : 0;
	for (unsigned k = 0; k < tc->in.fmt->nb_streams; k++)
		if (tc->in.fmt->streams[k] != tc->in.vst)
			tc->in.fmt->streams[k]->discard = AVDISCARD_ALL;
	if (job->watermark && (r = wm_prepare(tc, job->watermark)) < 0)
		return video_error(r, job->watermark, "watermark", tc->reason, tc->rlen);
	if ((rc = output_open(tc)) != STAGE_OK || (rc = video_open_encoder(tc)) != STAGE_OK ||
	    (rc = audio_open(tc)) != STAGE_OK)
		return rc;
	av_dict_set(&opts, "movflags", "+faststart", 0);
	r = avformat_write_header(tc->out, &opts);
	av_dict_free(&opts);
	if (r < 0)
		return video_error(r, job->tmp, "cannot write the mp4 header", tc->reason,
				   tc->rlen);
	return STAGE_OK;
}

/* --- the loop
 * -------------------------------------------------------------------------------- */

static void
tc_progress(struct tc *tc, const AVPacket *pkt)
{
	int64_t t, now = now_ms_mono();
	int pct;

	if (pkt->pts == AV_NOPTS_VALUE)
		return;
	t = av_rescale_q(pkt->pts - tc->voff, tc->in.vst->time_base, AV_TIME_BASE_Q);
	pct = tc->duration > 0 ? (int)(t * 100 / tc->duration) : 0;
	pct = pct < 0 ? 0 : pct > 99 ? 99 : pct;
	if (now - tc->said_ms >= PROGRESS_LOG_MS) {
		tc->said_ms = now;
		if (tc->duration > 0)
			log_info("%s: transcoding: %lld of %lld s (%d%%)", tc->job->src,
				 (long long)(t / AV_TIME_BASE),
				 (long long)(tc->duration / AV_TIME_BASE), pct);
		else
			log_info("%s: transcoding: %lld s done", tc->job->src,
				 (long long)(t / AV_TIME_BASE));
	}
	if (tc->job->progress && tc->duration > 0 && pct != tc->percent)
		tc->job->progress(tc->percent = pct);
}

static int
tc_packet(struct tc *tc, AVPacket *pkt)
{
	if (pkt->stream_index == tc->in.vst->index) {
		tc_progress(tc, pkt);
		return decode(tc, tc->in.dec, pkt, video_frame);
	}
	if (tc->ias && pkt->stream_index == tc->ias->index) {
		if (!tc->acopy)
			return decode(tc, tc->adec, pkt, audio_frame);
		if (pkt->pts != AV_NOPTS_VALUE)
			pkt->pts -= tc->aoff;
		if (pkt->dts != AV_NOPTS_VALUE)
			pkt->dts -= tc->aoff;
		return tc_write(tc, pkt, tc->ias->time_base, tc->oas);
	}
	return 0;
}

static int
tc_flush(struct tc *tc)
{
	int r;

	if ((r = decode(tc, tc->in.dec, NULL, video_frame)) < 0 ||
	    (r = video_frame(tc, NULL)) < 0 || (r = tc_encode(tc, tc->venc, NULL, tc->ovs)) < 0)
		return r;
	if (tc->adec &&
	    ((r = decode(tc, tc->adec, NULL, audio_frame)) < 0 || (r = audio_frame(tc, NULL)) < 0 ||
	     (r = tc_encode(tc, tc->aenc, NULL, tc->oas)) < 0))
		return r;
	return 0;
}

/* An error while transcoding, blamed on the output when writing failed. */
static enum stage_rc
tc_fail(struct tc *tc, int r, const char *what)
{
	if (tc->out && tc->out->pb && tc->out->pb->error < 0)
		return video_error(tc->out->pb->error, tc->job->tmp, "cannot write", tc->reason,
				   tc->rlen);
	return video_error(r, tc->job->src, what, tc->reason, tc->rlen);
}

static enum stage_rc
tc_run(struct tc *tc)
{
	int r;

	if (tc->ias)
		tc->ias->discard = AVDISCARD_DEFAULT;
	while ((r = av_read_frame(tc->in.fmt, tc->pkt)) >= 0) {
		if (video_stop_pending()) {
			av_packet_unref(tc->pkt);
			snprintf(tc->reason, tc->rlen, "%s: transcode stopped by a signal",
				 tc->job->src);
			return STAGE_STOPPED;
		}
		r = tc_packet(tc, tc->pkt);
		av_packet_unref(tc->pkt);
		if (r < 0)
			return tc_fail(tc, r, "transcode");
	}
	if (r != AVERROR_EOF)
		return video_error(r, tc->job->src, "cannot read the video", tc->reason, tc->rlen);
	if ((r = tc_flush(tc)) < 0)
		return tc_fail(tc, r, "transcode");
	if (tc->job->frames == 0)
		return video_error(AVERROR_INVALIDDATA, tc->job->src, "no frame could be decoded",
				   tc->reason, tc->rlen);
	if ((r = av_write_trailer(tc->out)) < 0 || (r = tc->out->pb->error) < 0)
		return tc_fail(tc, r, "cannot finish the mp4");
	return STAGE_OK;
}

enum stage_rc
video_transcode(struct video_job *job, char *reason, size_t rlen)
{
	struct tc tc = {.job = job,
			.reason = reason,
			.rlen = rlen,
			.percent = -1,
			.in = {.fd = -1},
			.said_ms = now_ms_mono()};
	enum stage_rc rc;

	tc.threads = job->threads > 0 ? job->threads : 1;
	job->frames = 0;
	job->warning[0] = '\0';
	video_log_init();
	video_log_reset();
	if (!(tc.pkt = av_packet_alloc()) || !(tc.frame = av_frame_alloc()) ||
	    !(tc.filt = av_frame_alloc())) {
		rc = video_error(AVERROR(ENOMEM), job->src, "transcode", reason, rlen);
		if (job->src_fd >= 0) /* never handed to video_open */
			close(job->src_fd);
	} else if ((rc = tc_setup(&tc)) == STAGE_OK)
		rc = tc_run(&tc);
	avfilter_graph_free(&tc.vg);
	avfilter_graph_free(&tc.ag);
	avcodec_free_context(&tc.venc);
	avcodec_free_context(&tc.aenc);
	avcodec_free_context(&tc.adec);
	if (tc.out) {
		outio_free(&tc.out->pb);
		avformat_free_context(tc.out);
	}
	av_frame_free(&tc.wm);
	av_frame_free(&tc.frame);
	av_frame_free(&tc.filt);
	av_packet_free(&tc.pkt);
	video_close(&tc.in);
	return rc;
}

void
video_transcode_fini(void)
{
	av_frame_free(&wm_cache.frame);
	xfree(&wm_cache.path);
}
