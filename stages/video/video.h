/*
 * video.h - tmc-video, the video stage (FFmpeg libraries), and the pieces
 * of it that tmc-capture links through capture.c. tmc-image links none of
 * it: it runs `tmc-video --capture` (capmode.c) for an mp4's frame.
 *
 * capture.c owns everything about reading a video: opening the original
 * safely (our own fd behind a custom AVIOContext, MP4/MOV only, FFmpeg may
 * open nothing else), FFmpeg's log routed into ours, the display matrix,
 * and the frame at a time as raw RGB. transcode.c owns the H.264 rendition
 * (filter graph, x264, AAC, faststart mp4). main.c is the stage: paths,
 * overwrite, force_dir, the atomic publish.
 *
 * Every function that can fail returns an enum stage_rc with a reason that
 * names the file; none of them ends the process.
 */
#ifndef TMC_VIDEO_H
#define TMC_VIDEO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>

#include "capture.h"
#include "stage.h"

#define VIDEO_MAX_PIXELS (8192 * 8192) /* frames above this are refused */

/* An original opened for reading: its video stream and a decoder for it. */
struct video_input {
	const char *path;
	int fd;
	int64_t size; /* bytes, from fstat */
	AVIOContext *pb;
	AVFormatContext *fmt;
	AVStream *vst;
	AVCodecContext *dec;
	int64_t start; /* file start time, AV_TIME_BASE units (0 if unknown) */
};

/* How to turn decoded frames for display (ffmpeg's autorotate): transpose
 * first, then mirror columns (hflip) and/or rows (vflip). */
struct video_orient {
	bool transpose, hflip, vflip;
	int degrees; /* clockwise, for messages */
};

/* capture.c */
void video_log_init(void);  /* route FFmpeg's log into ours (idempotent) */
void video_log_reset(void); /* per item: forget the last error, reset the flood limit */
/* Classify an FFmpeg error: reason "<path>: <what>: <FFmpeg's last error or
 * av_err2str>" and the rc (ENOMEM, ENOSPC, EDQUOT, EIO: temporary). */
enum stage_rc video_error(int averr, const char *path, const char *what, char *reason, size_t rlen);
/* Open path (see capture.h for what is refused); threads = decoder threads;
 * full: complete the codec parameters by decoding the first frames
 * (avformat_find_stream_info), else trust the MP4 header where it is enough. */
/* fd: path opened by stage_open_source() (taken over: video_close closes
 * it, also when video_open fails), or -1 to open path here. */
enum stage_rc video_open(struct video_input *in, const char *path, int fd, bool full, int threads,
			 char *reason, size_t rlen);
/* Refuse a file whose sample table points past its end (a moov-first file
 * cut short): the demuxer would otherwise report a clean end. */
enum stage_rc video_check_complete(struct video_input *in, const AVStream *st, char *reason,
				   size_t rlen);
void video_close(struct video_input *in);
void video_orientation(const AVStream *st, struct video_orient *o);
/* The frame shown at seconds (capture.h's rule) into *frame (caller frees). */
enum stage_rc video_capture(struct video_input *in, double seconds, AVFrame **frame, char *reason,
			    size_t rlen);
/* Write frame as a TMCPIX1 RGB file, turned by o, scaled to w x h (after
 * turning; 0 x 0 keeps the size), atomically into dirfd/name. */
enum stage_rc video_write_raw(const AVFrame *frame, const struct video_orient *o, int w, int h,
			      int dirfd, const char *name, char *reason, size_t rlen);
/* The same at the frame's own size, written onto fd (capture mode). */
enum stage_rc video_write_raw_fd(const AVFrame *frame, const struct video_orient *o, int fd,
				 const char *name, char *reason, size_t rlen);

/* capmode.c: `tmc-video --capture SECONDS NAME` (capture.h); the exit status */
int video_capture_main(int argc, char **argv);

/* transcode.c */
struct video_job {
	const char *src;               /* the original, for messages */
	int src_fd;                    /* ... opened by stage_open_source(): taken over */
	const char *tmp;               /* output's temporary name (for messages) */
	int out_fd;                    /* ... opened by the caller (O_NOFOLLOW), read-write */
	int box[2];                    /* the step's size; 0 = free side */
	int bitrate;                   /* kbit/s: the video's maximum rate */
	const char *watermark;         /* PNG/JPEG to overlay, or NULL */
	const char *preset;            /* x264 preset */
	int threads;                   /* decoder, filter and x264 threads (1 in the stage) */
	void (*progress)(int percent); /* optional: percent of the duration done */
	/* out */
	int out_w, out_h;
	int64_t frames;
	char warning[512]; /* a missing watermark: the output is still made */
};
/* STAGE_STOPPED when a SIGTERM/SIGINT is pending (checked every packet). */
enum stage_rc video_transcode(struct video_job *job, char *reason, size_t rlen);
void video_transcode_fini(void); /* drop the cached watermark */
/* Output size for a source shown as w x h: TMC's fit into box, never
 * enlarged, even sides (x264's 4:2:0), at least 2 x 2. */
void video_fit(int w, int h, const int box[2], int *ow, int *oh);
/* encoder.c: the H.264 encoder, chosen at the first call and logged
 * (TMC_H264_ENCODERS: names in order of preference, then FFmpeg's default);
 * NULL when this FFmpeg has none. */
#define VIDEO_CRF "23"
const AVCodec *video_h264_encoder(void);
/* Rate control for that encoder: libx264 CRF 23 with preset, capped at
 * bitrate kbit/s; any other: bitrate as its target. */
void video_encoder_options(const AVCodec *codec, AVCodecContext *e, AVDictionary **opts,
			   const char *preset, int bitrate);
/* Pending SIGTERM/SIGINT (blocked by the skeleton, read between items). */
bool video_stop_pending(void);

#endif
