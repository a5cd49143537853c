/*
 * load.c - getting pixels into memory: the original (decoded once, with a
 * size hint) or the previous step's pixels (pixels.raw in the item).
 *
 * The original is opened O_NOFOLLOW|O_NONBLOCK and must be a regular file;
 * its coder is chosen here from its magic bytes (JPEG, PNG, GIF, WebP,
 * TIFF, BMP) and passed to GraphicsMagick as an explicit "JPEG:" prefix on
 * an already open stream, so GraphicsMagick never guesses a format, never
 * reaches a delegate or a script coder, and never opens the path itself.
 *
 * pixels.raw is our own format, written by the previous step (see
 * image_write_pixels): one text line "TMCPIX1 <w> <h> <map> <quality>
 * <icc length> <sampling> <x dpi> <y dpi> <units>\n" (the last four, the
 * original's JPEG sampling and density, may be absent: files of 0.1), the
 * ICC profile, then 8-bit pixels in map order (RGB, RGBA, I or IA). Measured cheaper than MPC (see
 * the bench), and safe to hard-link into several successors: it is only ever read.
 *
 * Failures: a missing, empty, unrecognised or corrupt source is permanent;
 * running out of memory or a resource limit that may pass is temporary.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "image.h"
#include "stream.h"

#define PIXELS_MAGIC "TMCPIX1"
#define PIXELS_HDR_MAX 192

const char *
image_sniff(const unsigned char *b, size_t n)
{
	if (n >= 3 && b[0] == 0xff && b[1] == 0xd8 && b[2] == 0xff)
		return "JPEG";
	if (n >= 8 && memcmp(b, "\x89PNG\r\n\x1a\n", 8) == 0)
		return "PNG";
	if (n >= 6 && (memcmp(b, "GIF87a", 6) == 0 || memcmp(b, "GIF89a", 6) == 0))
		return "GIF";
	if (n >= 12 && memcmp(b, "RIFF", 4) == 0 && memcmp(b + 8, "WEBP", 4) == 0)
		return "WEBP";
	if (n >= 4 && (memcmp(b, "II*\0", 4) == 0 || memcmp(b, "MM\0*", 4) == 0))
		return "TIFF";
	if (n >= 14 && b[0] == 'B' && b[1] == 'M')
		return "BMP";
	return NULL;
}

enum stage_rc
image_exception(const ExceptionInfo *e, const char *what, char *reason, size_t rlen)
{
	snprintf(reason, rlen, "%s: %s%s%s%s", what,
		 e->reason ? e->reason : "GraphicsMagick failed without a reason",
		 e->description ? " (" : "", e->description ? e->description : "",
		 e->description ? ")" : "");
	/* a pixel, width or height limit: the same next time */
	if (e->reason && (strstr(e->reason, "exceeds") || strstr(e->reason, "exceeded")))
		return STAGE_PERMFAIL;
	if (e->severity == ResourceLimitError || e->severity == ResourceLimitFatalError ||
	    e->severity == CacheError || e->severity == CacheFatalError)
		return STAGE_TEMPFAIL;
	return STAGE_PERMFAIL;
}

static enum stage_rc
errno_rc(int err)
{
	return stage_errno_rc(err, "tmc-image");
}

/* Open the original (or take fd, opened by stage_open_source(), which
 * this owns from now on), and name its coder. */
static enum stage_rc
source_open(const char *path, int fd, bool follow, FILE **fp, const char **coder, char *reason,
	    size_t rlen)
{
	unsigned char magic[16];
	struct stat st;
	ssize_t n;
	int err;

	*fp = NULL;
	if (fd < 0)
		fd = open(path, O_RDONLY | (follow ? 0 : O_NOFOLLOW) | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) {
		err = errno;
		snprintf(reason, rlen, "%s: %s", path,
			 err == ELOOP ? "is a symbolic link, refused" : strerror(err));
		return errno_rc(err);
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		err = errno;
		snprintf(reason, rlen, "%s: %s", path,
			 S_ISREG(st.st_mode) ? strerror(err) : "not a regular file, refused");
		close(fd);
		return STAGE_PERMFAIL;
	}
	if (st.st_size == 0) {
		snprintf(reason, rlen, "%s: empty file", path);
		close(fd);
		return STAGE_PERMFAIL;
	}
	n = pread(fd, magic, sizeof(magic), 0);
	if (n < 0 || (*coder = image_sniff(magic, (size_t)n)) == NULL) {
		err = errno;
		if (n < 0)
			snprintf(reason, rlen, "%s: %s", path, strerror(err));
		else
			snprintf(reason, rlen,
				 "%s: unsupported format (magic bytes %02x %02x %02x %02x; "
				 "JPEG, PNG, GIF, WebP, TIFF and BMP are read)",
				 path, magic[0], n > 1 ? magic[1] : 0, n > 2 ? magic[2] : 0,
				 n > 3 ? magic[3] : 0);
		close(fd);
		return n < 0 ? errno_rc(err) : STAGE_PERMFAIL;
	}
	if (fcntl(fd, F_SETFL, 0) < 0 || (*fp = fdopen(fd, "rb")) == NULL) {
		err = errno;
		snprintf(reason, rlen, "%s: %s", path, strerror(err));
		close(fd);
		return errno_rc(err);
	}
	return STAGE_OK;
}

/* An ImageInfo reading the open stream fp with an explicit coder. */
static ImageInfo *
source_info(FILE *fp, const char *coder, const char *path)
{
	ImageInfo *info = CloneImageInfo(NULL);

	info->file = fp;
	snprintf(info->filename, sizeof(info->filename), "%s:%s", coder, path);
	info->subimage = 0; /* first frame of a GIF, first page of a TIFF */
	info->subrange = 1;
	return info;
}

enum stage_rc
image_ping(const char *path, int fd, struct image_hdr *hdr, char *reason, size_t rlen)
{
	ExceptionInfo ex;
	ImageInfo *info;
	Image *img;
	FILE *fp;
	magick_uint64_t limit;
	enum stage_rc rc;

	memset(hdr, 0, sizeof(*hdr));
	if ((rc = source_open(path, fd, false, &fp, &hdr->coder, reason, rlen)) != STAGE_OK)
		return rc;
	GetExceptionInfo(&ex);
	info = source_info(fp, hdr->coder, path);
	/* the header's size is what we want to judge, so no pixel limit here */
	limit = GetMagickResourceLimit(PixelsResource);
	SetMagickResourceLimit(PixelsResource, INT64_MAX);
	img = PingImage(info, &ex);
	SetMagickResourceLimit(PixelsResource, (magick_int64_t)limit);
	if (img == NULL) {
		rc = image_exception(&ex, path, reason, rlen);
	} else {
		const ImageAttribute *o = GetImageAttribute(img, "EXIF:Orientation");

		hdr->w = img->columns;
		hdr->h = img->rows;
		/* a ping leaves img->orientation unset; the EXIF profile is there */
		hdr->orientation = (int)img->orientation;
		if (hdr->orientation == 0 && o && o->value)
			hdr->orientation = atoi(o->value);
		hdr->valid = true;
		DestroyImageList(img);
	}
	DestroyImageInfo(info);
	DestroyExceptionInfo(&ex);
	fclose(fp);
	return rc;
}

/* A warning from a decoder that says data is missing: the decoder gave
 * what it had (libjpeg fills the rest grey), the caller decides between a
 * warning (TMC) and a failure (conf "truncated"). Other warnings
 * (extraneous bytes, unknown markers: common from cameras) are noted and
 * the image is used. */
static bool
truncated(const ExceptionInfo *e)
{
	const char *r = e->reason ? e->reason : "", *d = e->description ? e->description : "";

	return strstr(r, "Premature end") || strstr(d, "Premature end") ||
	       strstr(r, "nexpected end") || strstr(d, "nexpected end") || strstr(r, "truncated") ||
	       strstr(d, "truncated");
}

enum stage_rc
image_read_source(const char *path, int fd, bool follow, const char *hint, Image **out,
		  int *quality, char *reason, size_t rlen)
{
	ExceptionInfo ex;
	ImageInfo *info;
	const ImageAttribute *q;
	const char *coder;
	Image *img;
	FILE *fp;
	enum stage_rc rc;

	*out = NULL;
	reason[0] = '\0';
	if ((rc = source_open(path, fd, follow, &fp, &coder, reason, rlen)) != STAGE_OK)
		return rc;
	/* a large PNG, TIFF or WebP: row by row, shrunk as it is read (stream.c) */
	rc = image_stream_read(path, fp, coder, hint, out, reason, rlen);
	if (rc != STAGE_OK || *out) {
		fclose(fp);
		return rc;
	}
	GetExceptionInfo(&ex);
	info = source_info(fp, coder, path);
	if (hint && *hint && strcmp(coder, "JPEG") == 0) /* other coders read size otherwise */
		CloneString(&info->size, hint);
	img = ReadImage(info, &ex);
	if (img == NULL || ex.severity >= ErrorException) {
		rc = image_exception(&ex, path, reason, rlen);
		if (img)
			DestroyImageList(img);
		img = NULL;
	} else if (ex.severity >= WarningException && truncated(&ex)) {
		image_exception(&ex, path, reason, rlen); /* kept: the image is partial */
	} else if (ex.severity >= WarningException) {
		image_exception(&ex, path, reason, rlen);
		log_warnx("%s", reason); /* noted; the image is fine to use */
		reason[0] = '\0';
	}
	if (img && img->next) { /* keep the first frame only */
		Image *rest = img->next;

		img->next = NULL;
		rest->previous = NULL;
		DestroyImageList(rest);
	}
	if (img && (q = GetImageAttribute(img, "JPEG-Quality")) && q->value)
		*quality = atoi(q->value);
	DestroyImageInfo(info);
	DestroyExceptionInfo(&ex);
	fclose(fp);
	*out = img;
	return rc;
}

/* --- pixels.raw ------------------------------------------------------------ */

static const char *
pixels_map(const Image *img)
{
	bool gray = IsGrayColorspace(img->colorspace) || img->is_grayscale;

	if (gray)
		return img->matte ? "IA" : "I";
	return img->matte ? "RGBA" : "RGB";
}

/* A sampling as the header carries it: "HxV,HxV..." or "-". */
static bool
sampling_ok(const char *s)
{
	return *s && strlen(s) < IMAGE_SAMPLING_MAX && strspn(s, "0123456789x,") == strlen(s);
}

/* The bytes of the last next.raw this process wrote: a step it carries
 * the item on to builds its image from them exactly as it would from
 * pixels.raw (the same bytes), without reading the file back. */
static struct {
	unsigned char *buf;
	size_t len;
} held;

enum stage_rc
image_write_pixels(int dirfd, const Image *img, int quality, const char *sampling, char *reason,
		   size_t rlen)
{
	const unsigned char *icc;
	const char *map = pixels_map(img);
	size_t icclen = 0, npix, hlen, total;
	ExceptionInfo ex;
	char hdr[PIXELS_HDR_MAX];
	unsigned char *buf;
	enum stage_rc rc = STAGE_OK;

	icc = GetImageProfile(img, "ICM", &icclen);
	if (icc == NULL)
		icclen = 0;
	hlen = (size_t)snprintf(hdr, sizeof(hdr), "%s %lu %lu %s %d %zu %s %.4f %.4f %d\n",
				PIXELS_MAGIC, img->columns, img->rows, map, quality, icclen,
				sampling_ok(sampling) ? sampling : "-", img->x_resolution,
				img->y_resolution, (int)img->units);
	npix = (size_t)img->columns * img->rows * strlen(map);
	total = hlen + icclen + npix;
	if ((buf = malloc(total)) == NULL) {
		snprintf(reason, rlen, "next.raw: %zu bytes: out of memory", total);
		return STAGE_TEMPFAIL;
	}
	memcpy(buf, hdr, hlen);
	if (icclen)
		memcpy(buf + hlen, icc, icclen);
	GetExceptionInfo(&ex);
	if (DispatchImage(img, 0, 0, img->columns, img->rows, map, CharPixel, buf + hlen + icclen,
			  &ex) != MagickPass) {
		rc = image_exception(&ex, "next.raw", reason, rlen);
	} else if (file_publish_at(dirfd, "next.raw", buf, total, true) < 0) {
		/* durable before the handoff publishes it: after a crash or a
		 * read-only remount a successor must not find it empty */
		snprintf(reason, rlen, "next.raw: %s", strerror(errno));
		rc = errno_rc(errno);
	}
	DestroyExceptionInfo(&ex);
	image_pixels_drop();
	if (rc == STAGE_OK) { /* the very bytes of next.raw, for a carried step */
		held.buf = buf;
		held.len = total;
	} else {
		free(buf);
	}
	return rc;
}

void
image_pixels_drop(void)
{
	free(held.buf);
	held.buf = NULL;
	held.len = 0;
}

bool
image_pixels_held(void)
{
	return held.buf != NULL;
}

struct pixels_file {
	unsigned long w, h;
	char map[8];
	int quality;
	char sampling[IMAGE_SAMPLING_MAX]; /* "" unknown */
	double xres, yres;
	int units;
	size_t icclen, off; /* off: where the ICC profile starts */
};

/* The original's sampling and density after the first five fields. */
static int
pixels_parse_meta(const char *s, struct pixels_file *pf)
{
	int n = 0;

	if (sscanf(s, " %15s %lf %lf %d%n", pf->sampling, &pf->xres, &pf->yres, &pf->units, &n) !=
		    4 ||
	    s[n] != '\0' || !(pf->xres >= 0 && pf->yres >= 0 && pf->xres < 1e6 && pf->yres < 1e6) ||
	    pf->units < UndefinedResolution || pf->units > PixelsPerCentimeterResolution)
		return -1;
	if (!sampling_ok(pf->sampling))
		pf->sampling[0] = '\0';
	return 0;
}

static int
pixels_parse(const unsigned char *p, size_t len, struct pixels_file *pf)
{
	char line[PIXELS_HDR_MAX];
	const unsigned char *nl = memchr(p, '\n', len < sizeof(line) ? len : sizeof(line));
	int n = 0;

	if (nl == NULL)
		return -1;
	memcpy(line, p, (size_t)(nl - p));
	line[nl - p] = '\0';
	memset(pf, 0, sizeof(*pf));
	if (sscanf(line, PIXELS_MAGIC " %lu %lu %7s %d %zu%n", &pf->w, &pf->h, pf->map,
		   &pf->quality, &pf->icclen, &n) != 5)
		return -1;
	if (line[n] != '\0' && pixels_parse_meta(line + n, pf) < 0)
		return -1;
	if (strcmp(pf->map, "RGB") && strcmp(pf->map, "RGBA") && strcmp(pf->map, "I") &&
	    strcmp(pf->map, "IA"))
		return -1;
	pf->off = (size_t)(nl - p) + 1;
	if (pf->w == 0 || pf->h == 0 || pf->icclen > len ||
	    len - pf->off - pf->icclen != (size_t)pf->w * pf->h * strlen(pf->map))
		return -1;
	return 0;
}

/* Map pixels.raw; *len is its size. IMAGE_PIXELS_HELD: the held copy. */
static unsigned char *
pixels_map_file(int dirfd, size_t *len, char *reason, size_t rlen, enum stage_rc *rc)
{
	struct stat st;
	void *p;
	int fd;

	if (dirfd == IMAGE_PIXELS_HELD && held.buf) {
		*len = held.len;
		return held.buf;
	}
	fd = openat(dirfd, "pixels.raw", O_RDONLY | O_NOFOLLOW | O_CLOEXEC);

	if (fd < 0 || fstat(fd, &st) < 0) {
		snprintf(reason, rlen, "pixels.raw: %s", strerror(errno));
		*rc = errno_rc(errno);
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	*len = (size_t)st.st_size;
	p = *len ? mmap(NULL, *len, PROT_READ, MAP_PRIVATE, fd, 0) : MAP_FAILED;
	close(fd);
	if (p == MAP_FAILED) {
		snprintf(reason, rlen, "pixels.raw: %s", *len ? strerror(errno) : "empty");
		*rc = *len ? errno_rc(errno) : STAGE_PERMFAIL;
		return NULL;
	}
	return p;
}

static void
pixels_unmap(unsigned char *p, size_t len)
{
	if (p != held.buf)
		munmap(p, len);
}

enum stage_rc
image_pixels_header(int dirfd, struct image_hdr *hdr, char *reason, size_t rlen)
{
	struct pixels_file pf;
	enum stage_rc rc = STAGE_OK;
	unsigned char *p;
	size_t len;

	memset(hdr, 0, sizeof(*hdr));
	if ((p = pixels_map_file(dirfd, &len, reason, rlen, &rc)) == NULL)
		return rc;
	if (pixels_parse(p, len, &pf) < 0) {
		snprintf(reason, rlen, "pixels.raw: malformed");
		rc = STAGE_PERMFAIL;
	} else {
		hdr->coder = "RAW";
		hdr->w = pf.w;
		hdr->h = pf.h;
		hdr->orientation = 1;
		hdr->valid = true;
	}
	pixels_unmap(p, len);
	return rc;
}

enum stage_rc
image_read_pixels(int dirfd, Image **out, int *quality, char *sampling, char *reason, size_t rlen)
{
	struct pixels_file pf;
	enum stage_rc rc = STAGE_OK;
	ExceptionInfo ex;
	unsigned char *p;
	Image *img = NULL;
	size_t len;

	*out = NULL;
	if ((p = pixels_map_file(dirfd, &len, reason, rlen, &rc)) == NULL)
		return rc;
	if (pixels_parse(p, len, &pf) < 0) {
		snprintf(reason, rlen, "pixels.raw: malformed");
		pixels_unmap(p, len);
		return STAGE_PERMFAIL;
	}
	GetExceptionInfo(&ex);
	img = ConstituteImage(pf.w, pf.h, pf.map, CharPixel, p + pf.off + pf.icclen, &ex);
	if (img == NULL) {
		rc = image_exception(&ex, "pixels.raw", reason, rlen);
	} else {
		if (pf.map[0] == 'I') {
			img->colorspace = GRAYColorspace;
			img->is_grayscale = MagickTrue;
		}
		if (pf.icclen)
			SetImageProfile(img, "ICM", p + pf.off, pf.icclen);
		img->x_resolution = pf.xres;
		img->y_resolution = pf.yres;
		img->units = (ResolutionType)pf.units;
		*quality = pf.quality;
		snprintf(sampling, IMAGE_SAMPLING_MAX, "%s", pf.sampling);
	}
	DestroyExceptionInfo(&ex);
	pixels_unmap(p, len);
	*out = img;
	return rc;
}

/* --- pixels.mpc: GraphicsMagick's own cache format, the measured alternative --
 * (TMC_IMAGE_PIXELS=mpc, benchmarks only; see tests/bench/image.sh). */

bool
image_pixels_mpc(void)
{
	const char *v = getenv("TMC_IMAGE_PIXELS");

	return v && strcmp(v, "mpc") == 0;
}

enum stage_rc
image_write_mpc(const char *dirpath, Image *img, int quality, const char *sampling, char *reason,
		size_t rlen)
{
	ImageInfo *info = CloneImageInfo(NULL);
	char q[16];
	enum stage_rc rc = STAGE_OK;

	snprintf(q, sizeof(q), "%d", quality);
	SetImageAttribute(img, "tmc:quality", NULL);
	SetImageAttribute(img, "tmc:quality", q);
	SetImageAttribute(img, "tmc:sampling", NULL);
	if (sampling_ok(sampling))
		SetImageAttribute(img, "tmc:sampling", sampling);
	snprintf(info->filename, sizeof(info->filename), "MPC:%s/next.mpc", dirpath);
	snprintf(img->filename, sizeof(img->filename), "MPC:%s/next.mpc", dirpath);
	if (WriteImage(info, img) != MagickPass)
		rc = image_exception(&img->exception, "next.mpc", reason, rlen);
	DestroyImageInfo(info);
	return rc;
}

enum stage_rc
image_read_mpc(const char *dirpath, bool ping, Image **out, int *quality, char *sampling,
	       char *reason, size_t rlen)
{
	ImageInfo *info = CloneImageInfo(NULL);
	const ImageAttribute *q;
	ExceptionInfo ex;
	enum stage_rc rc = STAGE_OK;

	GetExceptionInfo(&ex);
	snprintf(info->filename, sizeof(info->filename), "MPC:%s/pixels.mpc", dirpath);
	*out = ping ? PingImage(info, &ex) : ReadImage(info, &ex);
	if (*out == NULL)
		rc = image_exception(&ex, "pixels.mpc", reason, rlen);
	else if ((q = GetImageAttribute(*out, "tmc:quality")) && q->value)
		*quality = atoi(q->value);
	if (*out && sampling) {
		q = GetImageAttribute(*out, "tmc:sampling");
		snprintf(sampling, IMAGE_SAMPLING_MAX, "%s",
			 q && q->value && sampling_ok(q->value) ? q->value : "");
	}
	DestroyExceptionInfo(&ex);
	DestroyImageInfo(info);
	return rc;
}
