/*
 * image.h - tmc-image, the image stage: one process per (template, image
 * step), GraphicsMagick's C API, plugged into the stage skeleton (stage.h).
 *
 * One item is: decode the original once (explicit coder chosen from magic
 * bytes, JPEG size hint from the largest box the step's subtree needs) or
 * read the previous step's pixels (pixels.raw), then orient, resize, ICC
 * profiles, sharpen, watermark; hand the finished pixels on (next.raw) and
 * write the output (flatten alpha for JPEG, strip, encode, atomic rename).
 *
 * Every function that can fail returns an enum stage_rc and writes a reason
 * naming the file; none of them ends the process.
 */
#ifndef TMC_IMAGE_H
#define TMC_IMAGE_H

#include <stdbool.h>
#include <stddef.h>

#include <magick/api.h>

#include "geometry.h"
#include "stage.h"

#define IMAGE_DEFAULT_QUALITY 92  /* ImageMagick's default, what TMC's outputs got */
#define IMAGE_MAX_PIXELS_FACTOR 4 /* decoded pixels limit = factor * conf big_pixels */
#define IMAGE_SAMPLING_MAX 16     /* "2x2,1x1,1x1": JPEG sampling factors, and a NUL */

/* What the header says about the item's input (prepare -> process). */
struct image_hdr {
	const char *coder;  /* "JPEG", "PNG", ...; "RAW" for pixels.raw */
	unsigned long w, h; /* as stored (before EXIF orientation) */
	int orientation;    /* EXIF orientation 1..8, 0 unknown */
	bool valid;
};

/* One item in work. */
struct image_run {
	struct stage_ctx *ctx;
	Image *img;
	int quality;                  /* JPEG quality inherited down the chain */
	unsigned long base_w, base_h; /* what the size box fits: the original's oriented
				       * header size, or the pixels' size */
	/* the original's JPEG sampling factors, inherited too ("" when it was
	 * no JPEG); its density travels in img's resolution */
	char sampling[IMAGE_SAMPLING_MAX];
};

/* load.c */
const char *image_sniff(const unsigned char *buf, size_t len);
/* fd: the original opened by stage_open_source() (taken over: closed when
 * done), or -1 to open path here. follow: the path may be a symbolic link
 * (files from the config folder, never originals). */
enum stage_rc image_ping(const char *path, int fd, struct image_hdr *hdr, char *reason,
			 size_t rlen);
/* A source that decoded only in part (truncated: the decoder filled the
 * rest) returns STAGE_OK, the image, and reason saying what is missing:
 * the caller counts a warning or fails. reason is "" for a whole image. */
enum stage_rc image_read_source(const char *path, int fd, bool follow, const char *hint,
				Image **out, int *quality, char *reason, size_t rlen);
/* dirfd IMAGE_PIXELS_HELD reads the held copy of the last next.raw this
 * process wrote (image_pixels_held()) instead of an item's pixels.raw. */
#define IMAGE_PIXELS_HELD (-1)
enum stage_rc image_pixels_header(int dirfd, struct image_hdr *hdr, char *reason, size_t rlen);
bool image_pixels_held(void);
void image_pixels_drop(void);
/* sampling: IMAGE_SAMPLING_MAX bytes */
enum stage_rc image_read_pixels(int dirfd, Image **out, int *quality, char *sampling, char *reason,
				size_t rlen);
enum stage_rc image_write_pixels(int dirfd, const Image *img, int quality, const char *sampling,
				 char *reason, size_t rlen);
bool image_pixels_mpc(void); /* TMC_IMAGE_PIXELS=mpc: hand pixels on as MPC (bench) */
enum stage_rc image_write_mpc(const char *dirpath, Image *img, int quality, const char *sampling,
			      char *reason, size_t rlen);
enum stage_rc image_read_mpc(const char *dirpath, bool ping, Image **out, int *quality,
			     char *sampling, char *reason, size_t rlen);
/* GraphicsMagick's exception as text, and the rc it means. */
enum stage_rc image_exception(const ExceptionInfo *e, const char *what, char *reason, size_t rlen);

/* ops.c: each may add a warning to ctx (ctx->warnings, ctx->reason) */
enum stage_rc image_orient(struct image_run *r);
enum stage_rc image_resize(struct image_run *r);
enum stage_rc image_profiles(struct image_run *r);
enum stage_rc image_sharpen(struct image_run *r);
enum stage_rc image_watermark(struct image_run *r);
enum stage_rc image_flatten(struct image_run *r);
void image_warn(struct stage_ctx *ctx, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void image_ops_fini(void);

/* limits.c: GraphicsMagick's resource limits and pixel cache folder */
int image_limits_init(const struct conf *conf); /* before InitializeMagick */
void image_limits_start(void);                  /* after it */
void image_limits_set(bool big);                /* per item: imagick_mem[big] */
long long image_limits_pixels(void);            /* decoded pixels allowed per image */
void image_limits_explain(bool big, char *reason, size_t rlen);
void image_limits_fini(void); /* after DestroyMagick */
/* mp4frame.c: the frame at seconds of the mp4 src (srcfd: opened by
 * stage_open_source, taken over) into the item's pixels.raw, captured by a
 * `tmc-video --capture` child killed after limit_s seconds. */
enum stage_rc image_mp4_frame(struct stage_ctx *ctx, const char *src, int srcfd, double seconds,
			      int limit_s);

/* save.c */
const char *image_format_ext(const struct step *step); /* "jpg", "png", "webp" */
enum stage_rc image_save(struct image_run *r, const char *path, bool exists);

#endif
