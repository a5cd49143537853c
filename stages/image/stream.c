/*
 * stream.c - the streaming read of large originals (stream.h): which
 * coders stream, and the reader each is handed to (stream_png.c,
 * stream_tiff.c, stream_webp.c; what they share is in stream_out.c).
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
