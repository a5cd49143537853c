/*
 * save.c - the step's output file: flatten alpha (JPEG), strip metadata,
 * encode in memory, then publish atomically under the site root.
 *
 * The output folder is opened one component at a time under the root with
 * O_NOFOLLOW (dir_open_beneath), created when force_dir says so; the file
 * is written to the item's temp name in that folder (outfile_publish_at:
 * ".<name>.tmcwatch-<item id>", the same on a redo), fsynced, renamed into place and
 * the folder fsynced: an output is a promise to a user, and a reader never
 * sees half a thumbnail. Encoding first also gives the size that
 * skipsamesize compares (doc/TMC.md, Overwrite, with TMC's bug fixed: the real
 * output name is compared).
 *
 * Failures: a folder missing with force_dir false is TMC's warning; a full
 * disk is temporary; anything else that prevents the write (permissions, a
 * file or a symbolic link where a folder should be) is permanent.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "image.h"

/* the shared rule (stage/output.c), which tmc-remote checks replies by */
const char *
image_format_ext(const struct step *step)
{
	return stage_image_ext(step);
}

static const char *
format_magick(const char *ext)
{
	return strcmp(ext, "png") == 0 ? "PNG" : strcmp(ext, "webp") == 0 ? "WEBP" : "JPEG";
}

/* Strip removes EXIF, IPTC, XMP and comments but keeps the ICC profile, so
 * the output stays correctly coloured (TMC re-attached one too). */
static void
strip_keep_icc(Image *img)
{
	const unsigned char *icc;
	unsigned char *copy = NULL;
	size_t len = 0;

	if ((icc = GetImageProfile(img, "ICM", &len)) != NULL && len > 0) {
		copy = xmalloc(len);
		memcpy(copy, icc, len);
	}
	StripImage(img);
	if (copy)
		SetImageProfile(img, "ICM", copy, len);
	free(copy);
}

/* The JPEG sampling factors of the output: the step's "sampling", or the
 * original's (doc/TMC.md, Step options); 4:2:0 for an original that was
 * no JPEG, as libjpeg's default that TMC's imagick kept. Always given, so
 * GraphicsMagick's own choice (4:4:4 from quality 90) never applies. */
static const char *
sampling_factors(const struct image_run *r)
{
	switch (r->ctx->step->sampling) {
	case SAMPLING_420: return "2x2,1x1,1x1";
	case SAMPLING_422: return "2x1,1x1,1x1";
	case SAMPLING_444: return "1x1,1x1,1x1";
	case SAMPLING_SOURCE: break;
	}
	return r->sampling[0] ? r->sampling : "2x2,1x1,1x1";
}

static unsigned char *
encode(struct image_run *r, const char *ext, size_t *len)
{
	const struct step *s = r->ctx->step;
	ImageInfo *info = CloneImageInfo(NULL);
	ExceptionInfo ex;
	unsigned char *blob;

	GetExceptionInfo(&ex);
	info->quality = (unsigned long)r->quality;
	info->interlace = s->progressive && strcmp(ext, "jpg") == 0 ? LineInterlace : NoInterlace;
	if (strcmp(ext, "jpg") == 0)
		CloneString(&info->sampling_factor, sampling_factors(r));
	snprintf(info->magick, sizeof(info->magick), "%s", format_magick(ext));
	snprintf(r->img->magick, sizeof(r->img->magick), "%s", format_magick(ext));
	snprintf(info->filename, sizeof(info->filename), "%s:out.%s", format_magick(ext), ext);
	snprintf(r->img->filename, sizeof(r->img->filename), "%s:out.%s", format_magick(ext), ext);
	if (r->img->depth > 8)
		r->img->depth = 8;
	blob = ImageToBlob(info, r->img, len, &ex);
	if (blob == NULL || *len == 0) {
		image_exception(&ex, "encode", r->ctx->reason, sizeof(r->ctx->reason));
		if (blob)
			MagickFree(blob);
		blob = NULL;
	}
	DestroyExceptionInfo(&ex);
	DestroyImageInfo(info);
	return blob;
}

static enum stage_rc
write_errno(struct stage_ctx *ctx, const char *path, int err)
{
	snprintf(ctx->reason, sizeof(ctx->reason), "cannot write %s: %s", path,
		 err == ELOOP ? "a symbolic link in the output path, refused" : strerror(err));
	return stage_errno_rc(err, "tmc-image: write an output");
}

/* Publish blob at path (root + rel) through a folder opened beneath root. */
static enum stage_rc
publish(struct image_run *r, const char *path, const unsigned char *blob, size_t len)
{
	struct stage_ctx *ctx = r->ctx;
	const char *root = ticket_get(ctx->ticket, "root");
	char rel[PATH_MAX], *slash;
	const char *base;
	int rootfd, dirfd, err;

	if (root == NULL || strncmp(path, root, strlen(root)) != 0 ||
	    snprintf(rel, sizeof(rel), "%s", path + strlen(root)) >= (int)sizeof(rel)) {
		snprintf(ctx->reason, sizeof(ctx->reason), "%s: not under the output root", path);
		return STAGE_PERMFAIL;
	}
	slash = strrchr(rel, '/');
	base = slash ? slash + 1 : rel;
	if (slash)
		*slash = '\0';
	if ((rootfd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return write_errno(ctx, root, errno);
	dirfd = dir_open_beneath(rootfd, slash ? rel : "", ctx->step->force_dir, 0775);
	err = errno;
	close(rootfd);
	if (dirfd < 0 && err == ENOENT && !ctx->step->force_dir) {
		image_warn(ctx,
			   "output folder of %s does not exist (force_dir is false): not saved",
			   path);
		return STAGE_OK;
	}
	if (dirfd < 0)
		return write_errno(ctx, path, err);
	if (outfile_publish_at(dirfd, base, blob, len, true) < 0) {
		err = errno;
		close(dirfd);
		return write_errno(ctx, path, err);
	}
	close(dirfd);
	ctx->created++;
	return STAGE_OK;
}

enum stage_rc
image_save(struct image_run *r, const char *path, bool exists)
{
	const struct step *s = r->ctx->step;
	const char *ext = image_format_ext(s);
	unsigned char *blob;
	const char *dens;
	enum stage_rc rc;
	struct stat st;
	size_t len = 0;
	int density;

	if (strcmp(ext, "jpg") == 0 && (rc = image_flatten(r)) != STAGE_OK)
		return rc;
	if (s->strip)
		strip_keep_icc(r->img);
	/* the job's hires.density, else the step's: DPI metadata only, no
	 * resampling (doc/TMC.md, Step options); else the original's, kept */
	dens = ticket_get(r->ctx->ticket, "density");
	density = dens ? atoi(dens) : 0;
	if (density <= 0)
		density = s->density;
	if (density > 0) {
		r->img->x_resolution = r->img->y_resolution = density;
		r->img->units = PixelsPerInchResolution;
	}
	if ((blob = encode(r, ext, &len)) == NULL)
		return STAGE_PERMFAIL;
	if (exists && s->skipsamesize && lstat(path, &st) == 0 && S_ISREG(st.st_mode) &&
	    (size_t)st.st_size == len && !outfile_begun(path)) {
		log_info("SKIP: filesize same - %s", path);
		r->ctx->skipped = true;
		rc = STAGE_OK;
	} else {
		rc = publish(r, path, blob, len);
	}
	MagickFree(blob);
	return rc;
}
