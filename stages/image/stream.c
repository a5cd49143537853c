/*
 * stream.c - the streaming read of large originals (stream.h): which
 * coders stream, the shrink factor and its pixel-limit check, and the
 * GraphicsMagick image the shrunk rows are written into.
 *
 * Only when the size hint lets the image shrink by 2 or more: otherwise
 * some output needs (nearly) every pixel and GraphicsMagick's own reader
 * is as good. The pixel limit is checked again here from the header the
 * reader parsed, before any pixel is decoded (the file was reopened since
 * prepare() read its header).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "stream.h"

enum stage_rc
image_stream_read(const char *path, FILE *fp, const char *coder, const char *hint, Image **out,
		  char *reason, size_t rlen)
{
	struct stream_req rq = {.path = path, .fp = fp, .reason = reason, .rlen = rlen};
	enum stage_rc rc;

	*out = NULL;
	if (hint == NULL || sscanf(hint, "%lux%lu", &rq.hw, &rq.hh) != 2 || !rq.hw || !rq.hh)
		return STAGE_OK;
	rq.max_pixels = image_limits_pixels();
	if (strcmp(coder, "PNG") == 0)
		rc = stream_png(&rq, out);
	else if (strcmp(coder, "TIFF") == 0)
		rc = stream_tiff(&rq, out);
	else if (strcmp(coder, "WEBP") == 0)
		rc = stream_webp(&rq, out);
	else
		return STAGE_OK;
	if (rc == STAGE_OK && *out)
		log_debug("%s: %s read row by row, shrunk to %lux%lu for %s", path, coder,
			  (*out)->columns, (*out)->rows, hint);
	if (rc == STAGE_OK && *out == NULL && fseek(fp, 0, SEEK_SET) != 0) {
		snprintf(reason, rlen, "%s: %s", path, strerror(errno));
		return stage_errno_rc(errno, "tmc-image: rewind the original");
	}
	return rc;
}

unsigned long
stream_factor(const struct stream_req *rq, const char *coder, unsigned long w, unsigned long h)
{
	if ((double)w * (double)h > (double)rq->max_pixels) {
		snprintf(rq->reason, rq->rlen,
			 "%s: %lux%lu %s would decode to %.0f MP, over the limit of %lld MP "
			 "(decompression bomb?)",
			 rq->path, w, h, coder, (double)w * (double)h / 1e6,
			 rq->max_pixels / 1000000);
		return 0;
	}
	return shrink_factor(w, h, rq->hw, rq->hh);
}

int
stream_out_begin(struct stream_out *so, const struct stream_req *rq, unsigned long w,
		 unsigned long h, int ch, bool alpha, unsigned long f, unsigned depth)
{
	ImageInfo *info = CloneImageInfo(NULL);

	memset(so, 0, sizeof(*so));
	GetExceptionInfo(&so->ex);
	so->ch = ch;
	so->alpha = alpha;
	so->img = AllocateImage(info);
	DestroyImageInfo(info);
	if (so->img == NULL ||
	    (f && shrink_init(&so->sh, w, h, ch, alpha, f, stream_out_row, so) < 0)) {
		snprintf(rq->reason, rq->rlen, "%s: %lux%lu shrunk by %lu: out of memory", rq->path,
			 w, h, f);
		stream_out_end(so, false);
		return -1;
	}
	so->img->columns = f ? so->sh.ow : w;
	so->img->rows = f ? so->sh.oh : h;
	so->img->depth = depth > 8 ? 16 : 8;
	so->img->matte = alpha ? MagickTrue : MagickFalse;
	if (ch <= 2)
		so->img->is_grayscale = MagickTrue;
	return 0;
}

int
stream_out_row(void *arg, unsigned long y, const uint16_t *row)
{
	struct stream_out *so = arg;
	PixelPacket *q = SetImagePixelsEx(so->img, 0, (long)y, so->img->columns, 1, &so->ex);
	int ch = so->ch;

	if (q == NULL)
		return -1;
	for (unsigned long x = 0; x < so->img->columns; x++, row += ch, q++) {
		bool gray = ch <= 2;

		q->red = ScaleShortToQuantum(row[0]);
		q->green = gray ? q->red : ScaleShortToQuantum(row[1]);
		q->blue = gray ? q->red : ScaleShortToQuantum(row[2]);
		q->opacity = so->alpha ? MaxRGB - ScaleShortToQuantum(row[ch - 1]) : OpaqueOpacity;
	}
	return SyncImagePixelsEx(so->img, &so->ex) == MagickPass ? 0 : -1;
}

void
stream_out_icc(struct stream_out *so, const void *icc, size_t len)
{
	if (so->img && icc && len)
		SetImageProfile(so->img, "ICM", icc, len);
}

Image *
stream_out_end(struct stream_out *so, bool ok)
{
	Image *img = so->img;

	shrink_free(&so->sh);
	DestroyExceptionInfo(&so->ex);
	so->img = NULL;
	if (!ok && img) {
		DestroyImage(img);
		img = NULL;
	}
	return img;
}
