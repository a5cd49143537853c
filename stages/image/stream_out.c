/*
 * stream_out.c - what the streaming readers (stream_*.c) share: the shrink
 * factor with its pixel-limit check, and the GraphicsMagick image the
 * shrunk rows are written into.
 *
 * Only when the size hint lets the image shrink by 2 or more: otherwise
 * some output needs (nearly) every pixel and GraphicsMagick's own reader
 * is as good. The pixel limit is checked again here from the header the
 * reader parsed, before any pixel is decoded (the file was reopened since
 * prepare() read its header).
 */
#include <string.h>

#include "stream.h"

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
		so->oom = true;
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

enum stage_rc
stream_out_fail(const struct stream_out *so, const struct stream_req *rq)
{
	const ExceptionInfo *e = &so->ex;

	snprintf(rq->reason, rq->rlen, "%s: %s%s%s%s", rq->path,
		 e->reason ? e->reason : "GraphicsMagick failed without a reason",
		 e->description ? " (" : "", e->description ? e->description : "",
		 e->description ? ")" : "");
	if (e->severity == ResourceLimitError || e->severity == CacheError ||
	    e->severity == ResourceLimitFatalError || e->severity == CacheFatalError)
		return STAGE_TEMPFAIL;
	return STAGE_PERMFAIL;
}

void
stream_out_density(struct stream_out *so, double x, double y, ResolutionType units)
{
	if (so->img && x > 0 && y > 0) {
		so->img->x_resolution = x;
		so->img->y_resolution = y;
		so->img->units = units;
	}
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
