/*
 * stream_png.c - a non-interlaced PNG, row by row through libpng into the
 * shrink (stream.h): palette, gray, alpha, tRNS and 16-bit samples are
 * expanded by libpng's own transforms; the iCCP profile and the pHYs
 * resolution go with the image as GraphicsMagick's reader would set them.
 *
 * An interlaced (Adam7) PNG needs every pass before any final row exists,
 * so it is left to GraphicsMagick and its memory limit (tmc-image(8)).
 * libpng reports errors by longjmp: everything that must be freed after
 * one lives in struct png_job, reached through a pointer that never changes.
 */
#include <errno.h>
#include <png.h>
#include <stdlib.h>
#include <string.h>

#include "stream.h"

struct png_job {
	const struct stream_req *rq;
	png_structp png;
	png_infop info;
	struct stream_out so;
	bool started; /* so is live */
	unsigned char *row;
	int read_errno; /* the read(2) error behind a libpng error, 0 for the data's */
	bool emit_failed;
	bool row_oom;
};

static void
png_job_error(png_structp png, png_const_charp msg)
{
	struct png_job *j = png_get_error_ptr(png);

	snprintf(j->rq->reason, j->rq->rlen, "%s: PNG: %s", j->rq->path, msg);
	png_longjmp(png, 1);
}

static void
png_job_warning(png_structp png, png_const_charp msg)
{
	(void)png;
	(void)msg; /* benign (unknown chunks, gamma notes): GraphicsMagick's path ignores them too
		    */
}

static void
png_job_read(png_structp png, png_bytep buf, size_t len)
{
	struct png_job *j = png_get_io_ptr(png);
	size_t n = fread(buf, 1, len, j->rq->fp);

	if (n == len)
		return;
	if (ferror(j->rq->fp)) {
		j->read_errno = errno ? errno : EIO;
		png_error(png, strerror(j->read_errno));
	}
	png_error(png, "file truncated (unexpected end of file)");
}

/* Header read: set the transforms. 1 to go on, 0 to leave the file to
 * GraphicsMagick, -1 for a header over the pixel limit (reason set). */
static int
png_job_setup(struct png_job *j, unsigned long *f, int *ch, unsigned *depth)
{
	png_structp png = j->png;
	png_infop info = j->info;
	png_uint_32 w = png_get_image_width(png, info), h = png_get_image_height(png, info);
	int type = png_get_color_type(png, info);

	if ((*f = stream_factor(j->rq, "PNG", w, h)) == 0)
		return -1;
	if (*f < 2 || png_get_interlace_type(png, info) != PNG_INTERLACE_NONE)
		return 0;
	*depth = png_get_bit_depth(png, info);
	if (type == PNG_COLOR_TYPE_PALETTE)
		png_set_palette_to_rgb(png);
	if (type == PNG_COLOR_TYPE_GRAY && *depth < 8)
		png_set_expand_gray_1_2_4_to_8(png);
	if (png_get_valid(png, info, PNG_INFO_tRNS))
		png_set_tRNS_to_alpha(png);
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	if (*depth == 16)
		png_set_swap(png); /* native uint16_t */
#endif
	png_read_update_info(png, info);
	*ch = png_get_channels(png, info);
	*depth = png_get_bit_depth(png, info);
	return *ch >= 1 && *ch <= 4 && (*depth == 8 || *depth == 16);
}

/* Everything between setjmp and the last row; returns 0, 1 to decline,
 * -1 on an error (reason set). */
static int
png_job_run(struct png_job *j)
{
	png_structp png = j->png;
	png_infop info = j->info;
	png_charp name;
	png_bytep icc;
	png_uint_32 icclen, xres, yres;
	unsigned long f;
	unsigned depth;
	int ch, comp, go, unit;

	png_read_info(png, info);
	if ((go = png_job_setup(j, &f, &ch, &depth)) <= 0)
		return go < 0 ? -1 : 1;
	if (stream_out_begin(&j->so, j->rq, png_get_image_width(png, info),
			     png_get_image_height(png, info), ch, ch == 2 || ch == 4, f, depth) < 0)
		return -1;
	j->started = true;
	if (png_get_iCCP(png, info, &name, &comp, &icc, &icclen) == PNG_INFO_iCCP)
		stream_out_icc(&j->so, icc, icclen);
	if (png_get_pHYs(png, info, &xres, &yres, &unit) == PNG_INFO_pHYs)
		stream_out_density(&j->so, unit == PNG_RESOLUTION_METER ? xres / 100.0 : xres,
				   unit == PNG_RESOLUTION_METER ? yres / 100.0 : yres,
				   unit == PNG_RESOLUTION_METER ? PixelsPerCentimeterResolution
								: UndefinedResolution);
	if ((j->row = malloc(png_get_rowbytes(png, info))) == NULL) {
		j->row_oom = true;
		png_error(png, "out of memory for a row");
	}
	for (unsigned long y = 0; y < png_get_image_height(png, info); y++) {
		png_read_row(png, j->row, NULL);
		if ((depth == 16 ? shrink_row16(&j->so.sh, (const uint16_t *)(void *)j->row)
				 : shrink_row8(&j->so.sh, j->row)) != 0) {
			j->emit_failed = true;
			return -1;
		}
	}
	png_read_end(png, NULL); /* the rest checked too: a cut file is not a whole image */
	return 0;
}

/* png_job_run under libpng's longjmp; the same return values. */
static int
png_job_guarded(struct png_job *j)
{
	if (setjmp(png_jmpbuf(j->png)) != 0)
		return -1;
	return png_job_run(j);
}

enum stage_rc
stream_png(const struct stream_req *rq, Image **out)
{
	struct png_job job = {.rq = rq}, *j = &job;
	enum stage_rc rc = STAGE_OK;
	int r;

	j->png = png_create_read_struct(PNG_LIBPNG_VER_STRING, j, png_job_error, png_job_warning);
	if (j->png == NULL || (j->info = png_create_info_struct(j->png)) == NULL) {
		snprintf(rq->reason, rq->rlen, "%s: PNG: out of memory", rq->path);
		png_destroy_read_struct(j->png ? &j->png : NULL, NULL, NULL);
		return STAGE_TEMPFAIL;
	}
	png_set_read_fn(j->png, j, png_job_read);
#ifdef PNG_IGNORE_ADLER32
	/* every IDAT byte is under a chunk CRC already (still checked): the
	 * zlib checksum on top costs 4 % of the decode and catches nothing more */
	png_set_option(j->png, PNG_IGNORE_ADLER32, PNG_OPTION_ON);
#endif
	r = png_job_guarded(j);
	if (r < 0 && j->emit_failed)
		rc = stream_out_fail(&j->so, rq);
	else if (r < 0 && (j->so.oom || j->row_oom))
		rc = STAGE_TEMPFAIL;
	else if (r < 0)
		rc = j->read_errno ? stage_errno_rc(j->read_errno, "tmc-image: read the original")
				   : STAGE_PERMFAIL;
	if (r < 0 && rc == STAGE_OK)
		rc = STAGE_PERMFAIL;
	*out = j->started ? stream_out_end(&j->so, r == 0) : NULL;
	free(j->row);
	png_destroy_read_struct(&j->png, &j->info, NULL);
	return rc;
}
