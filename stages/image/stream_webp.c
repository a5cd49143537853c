/*
 * stream_webp.c - a still WebP through libwebp's scaled decode: its
 * rescaler area-averages (alpha-weighted) as rows are decoded, so only the
 * shrunk image is ever held, and the rows go to the GraphicsMagick image as
 * the other readers' do (stream.h). The ICCP chunk comes from libwebpdemux.
 *
 * An animated WebP is left to GraphicsMagick (first frame, as before).
 * The compressed file is mapped read-only: it is what the decoder reads,
 * and it is far smaller than its pixels.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <webp/decode.h>
#include <webp/demux.h>

#include "stream.h"

/* The ICCP chunk, if any, onto the image. */
static void
webp_icc(struct stream_out *so, const uint8_t *buf, size_t len)
{
	WebPData data = {buf, len};
	WebPDemuxer *dmx = WebPDemux(&data);
	WebPChunkIterator it;

	if (dmx == NULL)
		return;
	if ((WebPDemuxGetI(dmx, WEBP_FF_FORMAT_FLAGS) & ICCP_FLAG) &&
	    WebPDemuxGetChunk(dmx, "ICCP", 1, &it)) {
		stream_out_icc(so, it.chunk.bytes, it.chunk.size);
		WebPDemuxReleaseChunkIterator(&it);
	}
	WebPDemuxDelete(dmx);
}

/* The decoded, scaled RGB(A) rows into the image, as 16-bit samples. */
static int
webp_rows(struct stream_out *so, const WebPRGBABuffer *b, unsigned long w, unsigned long h)
{
	uint16_t *row = malloc(w * (size_t)so->ch * sizeof(*row));

	if (row == NULL)
		return -1;
	for (unsigned long y = 0; y < h; y++) {
		const uint8_t *p = b->rgba + y * (size_t)b->stride;

		for (size_t i = 0; i < w * (size_t)so->ch; i++)
			row[i] = (uint16_t)(p[i] * 257);
		if (stream_out_row(so, y, row) != 0) {
			free(row);
			return -1;
		}
	}
	free(row);
	return 0;
}

/* Decode the mapped file: 0, 1 declined, -1 failed (reason set, *erc
 * what it means). */
static int
webp_decode(const struct stream_req *rq, const uint8_t *buf, size_t len, struct stream_out *so,
	    enum stage_rc *erc)
{
	WebPDecoderConfig cfg;
	VP8StatusCode st;
	unsigned long f, ow, oh;
	int rc;

	if (!WebPInitDecoderConfig(&cfg) ||
	    WebPGetFeatures(buf, len, &cfg.input) != VP8_STATUS_OK || cfg.input.has_animation)
		return 1; /* GraphicsMagick reads it or says what is wrong */
	if ((f = stream_factor(rq, "WEBP", (unsigned long)cfg.input.width,
			       (unsigned long)cfg.input.height)) == 0)
		return -1;
	if (f < 2)
		return 1;
	/* the same output size as the other readers' box shrink */
	ow = shrink_side((unsigned long)cfg.input.width, f);
	oh = shrink_side((unsigned long)cfg.input.height, f);
	if (stream_out_begin(so, rq, ow, oh, cfg.input.has_alpha ? 4 : 3, cfg.input.has_alpha, 0,
			     8) < 0) {
		*erc = STAGE_TEMPFAIL; /* out of memory */
		return -1;
	}
	webp_icc(so, buf, len);
	cfg.options.use_scaling = 1;
	cfg.options.scaled_width = (int)ow;
	cfg.options.scaled_height = (int)oh;
	cfg.output.colorspace = cfg.input.has_alpha ? MODE_RGBA : MODE_RGB;
	if ((st = WebPDecode(buf, len, &cfg)) != VP8_STATUS_OK) {
		snprintf(rq->reason, rq->rlen, "%s: WebP: %s (libwebp status %d)", rq->path,
			 st == VP8_STATUS_NOT_ENOUGH_DATA ? "file truncated" : "cannot decode",
			 (int)st);
		*erc = st == VP8_STATUS_OUT_OF_MEMORY ? STAGE_TEMPFAIL : STAGE_PERMFAIL;
		WebPFreeDecBuffer(&cfg.output);
		return -1;
	}
	rc = webp_rows(so, &cfg.output.u.RGBA, ow, oh);
	WebPFreeDecBuffer(&cfg.output);
	if (rc < 0)
		*erc = stream_out_fail(so, rq);
	return rc;
}

enum stage_rc
stream_webp(const struct stream_req *rq, Image **out)
{
	struct stream_out so = {0};
	enum stage_rc rc = STAGE_PERMFAIL;
	struct stat st;
	void *map;
	int r;

	*out = NULL;
	if (fstat(fileno(rq->fp), &st) < 0 || st.st_size <= 0)
		return STAGE_OK; /* GraphicsMagick reports it */
	map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fileno(rq->fp), 0);
	if (map == MAP_FAILED) {
		snprintf(rq->reason, rq->rlen, "%s: %s", rq->path, strerror(errno));
		return stage_errno_rc(errno, "tmc-image: map the original");
	}
	r = webp_decode(rq, map, (size_t)st.st_size, &so, &rc);
	munmap(map, (size_t)st.st_size);
	if (so.img)
		*out = stream_out_end(&so, r == 0);
	return r < 0 ? rc : STAGE_OK;
}
