/*
 * capture.h - one frame of a video as a raw pixel file: the capture that
 * tmc-video does for tmc-image (`tmc-video --capture`, the protocol below)
 * and the tmc-capture test tool.
 *
 * Link stages/video/capture.c and the FFmpeg libraries (libavformat,
 * libavcodec, libswscale, libavutil); this header needs no FFmpeg header,
 * so tmc-image includes it for the protocol's exit codes without linking
 * any of them.
 */
#ifndef TMC_VIDEO_CAPTURE_H
#define TMC_VIDEO_CAPTURE_H

#include <stddef.h>

/*
 * Write the frame of src shown at `seconds` (counted from the start of the
 * file, as `ffmpeg -ss seconds -i src` does: the first frame whose time is
 * at or after it; the last frame when seconds is past the end) into the
 * folder dirfd under name, atomically (temporary name, rename), in the
 * image stage's raw format:
 *
 *     "TMCPIX1 <w> <h> RGB 0 0\n" then w*h*3 bytes, RGB, rows top to bottom
 *
 * The frame is turned as the display matrix says (phone videos), and
 * non-square pixels are not resampled (w x h are the coded size, turned).
 * srcfd is src opened by stage_open_source() (taken over: closed when
 * done); with -1, src is opened here O_NOFOLLOW|O_NONBLOCK (the test
 * tool). It must be a regular MP4/MOV file; FFmpeg reads only that
 * descriptor and opens nothing else.
 *
 * Returns an enum stage_rc value (stage.h): 0 done; 1 temporary failure
 * (out of memory, disk full: retry later); 2 permanent failure (missing,
 * empty, truncated or corrupt file, not an MP4, no video stream). On
 * failure reason says why, naming src. Never ends the process.
 */
int video_capture_raw(const char *src, int srcfd, double seconds, int dirfd, const char *name,
		      char *reason, size_t rlen);
/* The same, written onto outfd (from its current offset, not renamed:
 * the caller owns the file); srcfd is taken over. */
int video_capture_fd(const char *src, int srcfd, double seconds, int outfd, char *reason,
		     size_t rlen);

/*
 * `tmc-video --capture SECONDS NAME` (capmode.c): the frame of the video
 * on stdin (a regular file, already opened by the caller beneath its
 * root) written as above onto stdout (a regular file the caller renames
 * into place). NAME is only for messages. FFmpeg's messages go to stderr
 * as log lines; on failure the last stderr line is "reason: <text naming
 * NAME>". Exit status:
 */
#define CAPTURE_EXIT_OK 0
#define CAPTURE_EXIT_USAGE 64     /* EX_USAGE: bad arguments */
#define CAPTURE_EXIT_PERM 65      /* EX_DATAERR: corrupt, truncated, not an MP4, ... */
#define CAPTURE_EXIT_TEMP 75      /* EX_TEMPFAIL: out of memory, disk full, EIO */
#define CAPTURE_EXIT_NOEXEC 127   /* the program could not be run (set by the caller's child) */
#define CAPTURE_REASON "reason: " /* prefix of the reason line on stderr */

#endif
