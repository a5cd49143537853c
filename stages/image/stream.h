/*
 * stream.h - reading a large PNG, TIFF or WebP original row by row,
 * shrunk on the fly (shrink.h) to the smallest size that still covers the
 * step's size hint, into a GraphicsMagick image: bounded memory where
 * GraphicsMagick would hold every pixel (it has no streaming reader).
 *
 * stream.c dispatches on the coder named by the magic bytes and builds the
 * image; stream_png.c, stream_tiff.c and stream_webp.c decode with the
 * distribution's libpng, libtiff and libwebp. A reader that meets what it
 * does not handle (an interlaced PNG, a CMYK TIFF, an animated WebP, ...)
 * says so before decoding, and GraphicsMagick reads the file as before.
 */
#ifndef TMC_IMAGE_STREAM_H
#define TMC_IMAGE_STREAM_H

#include <stdio.h>

#include "image.h"
#include "shrink.h"

/* What a reader is asked to do. */
struct stream_req {
	const char *path;     /* for reasons */
	FILE *fp;             /* the original, open, at offset 0 */
	unsigned long hw, hh; /* the size hint (stored frame) */
	long long max_pixels; /* image_limits_pixels() */
	char *reason;
	size_t rlen;
};

/* What a reader builds: the image, filled row by row by the shrink. */
struct stream_out {
	Image *img;
	int ch;     /* samples per pixel of the rows */
	bool alpha; /* the last sample is alpha */
	bool oom;   /* stream_out_begin ran out of memory: worth another try */
	struct shrink sh;
	ExceptionInfo ex;
};

/* The original at path (opened as fp, coder from its magic bytes) read
 * shrunk for hint ("WxH"). STAGE_OK with *out NULL: not for streaming
 * (another coder, no hint, no gain, a variant a reader leaves to
 * GraphicsMagick); fp is then back at offset 0. */
enum stage_rc image_stream_read(const char *path, FILE *fp, const char *coder, const char *hint,
				Image **out, char *reason, size_t rlen);

/* For the readers. A reader returns STAGE_OK with *out NULL to decline. */
enum stage_rc stream_png(const struct stream_req *rq, Image **out);
enum stage_rc stream_tiff(const struct stream_req *rq, Image **out);
enum stage_rc stream_webp(const struct stream_req *rq, Image **out);

/* The shrink factor for a w x h image, or 0 (with reason) when the header
 * says more pixels than the limit: a decompression bomb, never decoded. */
unsigned long stream_factor(const struct stream_req *rq, const char *coder, unsigned long w,
			    unsigned long h);
/* Start the output image for w x h input shrunk by f (0: no shrink, the
 * rows come at the image's size w x h); -1 with reason. */
int stream_out_begin(struct stream_out *so, const struct stream_req *rq, unsigned long w,
		     unsigned long h, int ch, bool alpha, unsigned long f, unsigned depth);
/* One output row of 16-bit samples into the image (a shrink_emit_fn). */
int stream_out_row(void *so, unsigned long y, const uint16_t *row);
/* A row GraphicsMagick would not take (its pixel cache): the reason, and
 * TEMPFAIL for a cache or resource error that may pass, else PERMFAIL. */
enum stage_rc stream_out_fail(const struct stream_out *so, const struct stream_req *rq);
/* The original's resolution, as GraphicsMagick's reader would set it. */
void stream_out_density(struct stream_out *so, double x, double y, ResolutionType units);
/* Attach the embedded ICC profile, if any. */
void stream_out_icc(struct stream_out *so, const void *icc, size_t len);
/* Finish: the image (rows all written) or NULL; frees the rest. */
Image *stream_out_end(struct stream_out *so, bool ok);

#endif
