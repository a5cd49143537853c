/*
 * stream_tiff.c - the first page of a TIFF, strip by strip (scanline by
 * scanline when a strip is large) or one row of tiles at a time, through
 * libtiff into the shrink
 * (stream.h): 8- and 16-bit gray, gray+alpha, RGB and RGBA, contiguous
 * samples, any compression libtiff decodes. The ICC profile, the
 * orientation tag and the resolution go with the image, as GraphicsMagick's
 * reader sets them.
 *
 * Left to GraphicsMagick (declined before any pixel is read): CMYK (the
 * site's CMYK profiles convert it, ops.c), YCbCr, palette, Lab, bilevel,
 * min-is-white, float samples, separate planes, associated alpha.
 *
 * libtiff reads our descriptor through our own procedures (pread, no
 * memory mapping: mapped pages would count as resident), which keep the
 * errno of a failed read: only that can be a fault of the machine; any other
 * failure is the file's (an errno left by libtiff's insides says nothing).
 * Its error handler is ours only for the duration of the read
 * (GraphicsMagick installs its own).
 */
#include <errno.h>
#include <stdarg.h>
#include <sys/stat.h>
#include <stdlib.h>
#include <string.h>
#include <tiffio.h>
#include <unistd.h>

#include "stream.h"

static char tiff_msg[256]; /* the last libtiff error while we read */

static void
tiff_error(const char *module, const char *fmt, va_list ap)
{
	(void)module;
	vsnprintf(tiff_msg, sizeof(tiff_msg), fmt, ap);
}

static void
tiff_warning(const char *module, const char *fmt, va_list ap)
{
	(void)module;
	(void)fmt;
	(void)ap;
}

/* The original as libtiff sees it: our descriptor, a position, and the
 * errno of the first read that failed. */
struct tiff_io {
	int fd;
	off_t pos;
	int read_errno;
};

static tsize_t
tio_read(thandle_t h, tdata_t buf, tsize_t n)
{
	struct tiff_io *io = h;
	ssize_t r;

	do
		r = pread(io->fd, buf, (size_t)n, io->pos);
	while (r < 0 && errno == EINTR);
	if (r < 0) {
		if (io->read_errno == 0)
			io->read_errno = errno;
		return -1;
	}
	io->pos += r;
	return r;
}

static tsize_t
tio_write(thandle_t h, tdata_t buf, tsize_t n)
{
	(void)h;
	(void)buf;
	(void)n;
	return -1; /* opened for reading */
}

static toff_t
tio_size(thandle_t h)
{
	struct tiff_io *io = h;
	struct stat st;

	return fstat(io->fd, &st) == 0 ? (toff_t)st.st_size : 0;
}

static toff_t
tio_seek(thandle_t h, toff_t off, int whence)
{
	struct tiff_io *io = h;
	off_t base = whence == SEEK_SET ? 0 : whence == SEEK_CUR ? io->pos : (off_t)tio_size(h);

	io->pos = base + (off_t)off;
	return (toff_t)io->pos;
}

static int
tio_close(thandle_t h)
{
	(void)h;
	return 0; /* the descriptor is the caller's */
}

static int
tio_map(thandle_t h, tdata_t *base, toff_t *size)
{
	(void)h;
	(void)base;
	(void)size;
	return 0; /* never mapped */
}

static void
tio_unmap(thandle_t h, tdata_t base, toff_t size)
{
	(void)h;
	(void)base;
	(void)size;
}

struct tiff_shape {
	uint32_t w, h, tw, th; /* tw, th: tile size, 0 for strips */
	uint16_t bps, spp, orientation;
	bool alpha;
};

/* The page's shape, or false when GraphicsMagick should read it. */
static bool
tiff_supported(TIFF *tif, struct tiff_shape *t)
{
	uint16_t photo = 0, planar = PLANARCONFIG_CONTIG, fmt = SAMPLEFORMAT_UINT, nextra = 0;
	uint16_t *extra = NULL;

	if (!TIFFGetField(tif, TIFFTAG_IMAGEWIDTH, &t->w) ||
	    !TIFFGetField(tif, TIFFTAG_IMAGELENGTH, &t->h) ||
	    !TIFFGetField(tif, TIFFTAG_PHOTOMETRIC, &photo))
		return false;
	TIFFGetFieldDefaulted(tif, TIFFTAG_BITSPERSAMPLE, &t->bps);
	TIFFGetFieldDefaulted(tif, TIFFTAG_SAMPLESPERPIXEL, &t->spp);
	TIFFGetFieldDefaulted(tif, TIFFTAG_PLANARCONFIG, &planar);
	TIFFGetFieldDefaulted(tif, TIFFTAG_SAMPLEFORMAT, &fmt);
	TIFFGetFieldDefaulted(tif, TIFFTAG_EXTRASAMPLES, &nextra, &extra);
	TIFFGetFieldDefaulted(tif, TIFFTAG_ORIENTATION, &t->orientation);
	if ((photo != PHOTOMETRIC_MINISBLACK && photo != PHOTOMETRIC_RGB) ||
	    planar != PLANARCONFIG_CONTIG || fmt != SAMPLEFORMAT_UINT ||
	    (t->bps != 8 && t->bps != 16) || nextra > 1)
		return false;
	if (nextra == 1 && extra[0] == EXTRASAMPLE_ASSOCALPHA)
		return false; /* unspecified is alpha too, as GraphicsMagick reads it */
	if (t->spp != (photo == PHOTOMETRIC_RGB ? 3 : 1) + nextra)
		return false;
	t->alpha = nextra == 1;
	if (TIFFIsTiled(tif) &&
	    (!TIFFGetField(tif, TIFFTAG_TILEWIDTH, &t->tw) ||
	     !TIFFGetField(tif, TIFFTAG_TILELENGTH, &t->th) || !t->tw || !t->th))
		return false;
	return true;
}

static int
tiff_feed(struct stream_out *so, const struct tiff_shape *t, const void *row)
{
	return t->bps == 16 ? shrink_row16(&so->sh, row) : shrink_row8(&so->sh, row);
}

#define TIFF_STRIP_MAX (32 << 20) /* bytes: larger strips are read by scanline */
#define TIFF_BAND_MAX                                                                              \
	(64 << 20) /* bytes: a tiled TIFF with larger tiles or rows of                             \
		    * tiles is left to GraphicsMagick and its limits */

/* A row of tiles, held whole, stays within a few rows' memory: tile sizes
 * come from the header, so a hostile one (a tile 2^31 rows high) must not
 * become an allocation that fails as if the machine were out of memory
 * (a fault retried for ever) or that holds the whole picture. */
static bool
tiff_tiles_fit(TIFF *tif, const struct tiff_shape *t)
{
	uint64_t px = (uint64_t)t->spp * (t->bps / 8u), rows = t->th < t->h ? t->th : t->h;

	return TIFFTileSize64(tif) <= TIFF_STRIP_MAX && (uint64_t)t->w * px * rows <= TIFF_BAND_MAX;
}

/* Strips: whole strips when they are small (libtiff then inflates with
 * libdeflate, measured 2.5x faster than zlib's scanline by scanline),
 * else scanlines in order (libtiff decodes a strip incrementally). */
static int
tiff_strips(TIFF *tif, const struct tiff_shape *t, struct stream_out *so, bool *emit_failed)
{
	tmsize_t line = TIFFScanlineSize(tif), ssize = TIFFStripSize(tif);
	uint32_t rps = 0;
	bool whole = ssize > 0 && ssize <= TIFF_STRIP_MAX;
	unsigned char *buf = malloc(whole ? (size_t)ssize : (size_t)line);
	int rc = buf && line > 0 ? 0 : -1;

	if (buf == NULL)
		so->oom = true; /* a strip of at most TIFF_STRIP_MAX: worth another try */

	TIFFGetFieldDefaulted(tif, TIFFTAG_ROWSPERSTRIP, &rps);
	if (rps == 0 || rps > t->h)
		rps = t->h;
	for (uint32_t y = 0; rc == 0 && y < t->h;) {
		uint32_t rows = whole ? (t->h - y < rps ? t->h - y : rps) : 1;

		if (whole ? TIFFReadEncodedStrip(tif, TIFFComputeStrip(tif, y, 0), buf,
						 (tmsize_t)rows * line) < (tmsize_t)rows * line
			  : TIFFReadScanline(tif, buf, y, 0) < 0) {
			rc = -1;
			break;
		}
		for (uint32_t r = 0; rc == 0 && r < rows; r++)
			if (tiff_feed(so, t, buf + (size_t)r * (size_t)line) != 0)
				rc = -1, *emit_failed = true;
		y += rows;
	}
	free(buf);
	return rc;
}

/* Tiles: one row of tiles at a time into a band of th full rows. */
static int
tiff_tiles(TIFF *tif, const struct tiff_shape *t, struct stream_out *so, bool *emit_failed)
{
	size_t px = (size_t)t->spp * (t->bps / 8), rowb = (size_t)t->w * px;
	size_t tileb = (size_t)t->tw * px, bandh = t->th < t->h ? t->th : t->h;
	unsigned char *tile = malloc((size_t)TIFFTileSize64(tif)), *band = malloc(rowb * bandh);
	int rc = tile && band ? 0 : -1;

	if (rc < 0)
		so->oom = true; /* sizes checked by tiff_tiles_fit: worth another try */

	for (uint32_t y0 = 0; rc == 0 && y0 < t->h; y0 += t->th) {
		uint32_t rows = t->h - y0 < t->th ? t->h - y0 : t->th;

		for (uint32_t x0 = 0; rc == 0 && x0 < t->w; x0 += t->tw) {
			size_t n = (t->w - x0 < t->tw ? t->w - x0 : t->tw) * px;

			if (TIFFReadTile(tif, tile, x0, y0, 0, 0) < 0) {
				rc = -1;
				break;
			}
			for (uint32_t r = 0; r < rows; r++)
				memcpy(band + r * rowb + x0 * px, tile + r * tileb, n);
		}
		for (uint32_t r = 0; rc == 0 && r < rows; r++)
			if (tiff_feed(so, t, band + r * rowb) != 0)
				rc = -1, *emit_failed = true;
	}
	free(tile);
	free(band);
	return rc;
}

/* The open TIFF, after the handlers are ours: 0 read, 1 declined, -1 failed. */
static int
tiff_read(TIFF *tif, const struct stream_req *rq, struct stream_out *so, bool *emit_failed)
{
	struct tiff_shape t = {0};
	unsigned long f;
	uint32_t icclen = 0;
	float xres = 0, yres = 0;
	uint16_t unit = RESUNIT_NONE;
	void *icc = NULL;
	int rc;

	if (!tiff_supported(tif, &t))
		return 1;
	if ((f = stream_factor(rq, "TIFF", t.w, t.h)) == 0)
		return -1;
	if (f < 2 || (t.tw && !tiff_tiles_fit(tif, &t)))
		return 1;
	if (stream_out_begin(so, rq, t.w, t.h, t.spp, t.alpha, f, t.bps) < 0)
		return -1;
	if (TIFFGetField(tif, TIFFTAG_ICCPROFILE, &icclen, &icc))
		stream_out_icc(so, icc, icclen);
	if (TIFFGetField(tif, TIFFTAG_XRESOLUTION, &xres) &&
	    TIFFGetField(tif, TIFFTAG_YRESOLUTION, &yres)) {
		TIFFGetFieldDefaulted(tif, TIFFTAG_RESOLUTIONUNIT, &unit);
		stream_out_density(so, xres, yres,
				   unit == RESUNIT_INCH         ? PixelsPerInchResolution
				   : unit == RESUNIT_CENTIMETER ? PixelsPerCentimeterResolution
								: UndefinedResolution);
	}
	if (t.orientation >= 1 && t.orientation <= 8)
		so->img->orientation = (OrientationType)t.orientation; /* same numbering */
	rc = t.tw ? tiff_tiles(tif, &t, so, emit_failed) : tiff_strips(tif, &t, so, emit_failed);
	if (rc < 0 && !*emit_failed)
		snprintf(rq->reason, rq->rlen, "%s: TIFF: %s", rq->path,
			 so->oom       ? "out of memory for a row of strips or tiles"
			 : tiff_msg[0] ? tiff_msg
				       : "cannot read the pixels");
	return rc;
}

enum stage_rc
stream_tiff(const struct stream_req *rq, Image **out)
{
	TIFFErrorHandler prev_err, prev_warn;
	struct stream_out so = {0};
	struct tiff_io io = {.fd = fileno(rq->fp)};
	bool emit_failed = false;
	enum stage_rc rc = STAGE_OK;
	TIFF *tif;
	int r;

	*out = NULL;
	tiff_msg[0] = '\0';
	prev_err = TIFFSetErrorHandler(tiff_error);
	prev_warn = TIFFSetWarningHandler(tiff_warning);
	tif = TIFFClientOpen(rq->path, "rm", &io, tio_read, tio_write, tio_seek, tio_close,
			     tio_size, tio_map, tio_unmap);
	if (tif == NULL && io.read_errno == 0) {
		r = 1; /* let GraphicsMagick say what is wrong with it */
	} else if (tif == NULL) {
		r = -1;
	} else {
		r = tiff_read(tif, rq, &so, &emit_failed);
		TIFFClose(tif);
	}
	TIFFSetErrorHandler(prev_err);
	TIFFSetWarningHandler(prev_warn);
	if (r < 0 && emit_failed) {
		rc = stream_out_fail(&so, rq);
	} else if (r < 0 && so.oom) {
		rc = STAGE_TEMPFAIL;
	} else if (r < 0 && io.read_errno) {
		snprintf(rq->reason, rq->rlen, "%s: %s", rq->path, strerror(io.read_errno));
		rc = stage_errno_rc(io.read_errno, "tmc-image: read the original");
	} else if (r < 0) {
		rc = STAGE_PERMFAIL;
	}
	if (so.img)
		*out = stream_out_end(&so, r == 0);
	return rc == STAGE_OK && r < 0 ? STAGE_PERMFAIL : rc;
}
