/*
 * tmc-copy - the stage program for "copy" and "pass" steps.
 *
 * copy: the original (ticket "src") is copied to root + path_head + tail +
 * out, durably (temp name, fsync, rename, fsync folder): operators use it to
 * relocate or archive originals. overwrite and force_dir mean what they mean
 * for image steps; an existing output that must not be overwritten is a
 * skip, not a warning (doc/TMC.md, Overwrite). pass: hands the item on and
 * writes nothing (benchmarks, tests).
 * The original is opened with stage_open_source(): beneath its root, no
 * symbolic link on the way, the file that was queued.
 * Failures: a missing or unreadable original and a refused path are
 * permanent; a fault of the machine (ENOSPC, EDQUOT, EIO, EROFS, EMFILE,
 * ENFILE, ENOMEM, also from a folder fsync) is retried until it clears
 * (stage_errno_rc).
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "stage.h"

static enum stage_rc
copy_errno_rc(int e)
{
	return stage_errno_rc(e, "tmc-copy");
}

/* The output folder, made when force_dir, opened one component at a time
 * beneath the root without following symlinks (a link planted under a site
 * root must not redirect a copy). 0 ready, 1 skip with a warning, -1 error. */
static int
copy_make_dir(struct stage_ctx *ctx, const char *dst)
{
	const char *root = ticket_get(ctx->ticket, "root");
	char dir[PATH_MAX];
	int rootfd, fd;

	snprintf(dir, sizeof(dir), "%s", dst + strlen(root));
	dirname(dir);
	if ((rootfd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
		snprintf(ctx->reason, sizeof(ctx->reason), "%s: %s", root, strerror(errno));
		return -1;
	}
	fd = dir_open_beneath(rootfd, dir, ctx->step->force_dir, 0755);
	close(rootfd);
	if (fd >= 0) {
		close(fd);
		return 0;
	}
	if (errno == ENOENT && !ctx->step->force_dir) {
		snprintf(ctx->reason, sizeof(ctx->reason),
			 "%s%s: no such folder and force_dir is false", root, dir);
		return 1;
	}
	snprintf(ctx->reason, sizeof(ctx->reason), "%s%s: %s", root, dir,
		 errno == ELOOP ? "a symbolic link in the output path is not followed"
				: strerror(errno));
	if (errno == ELOOP)
		errno = EPERM;
	return -1;
}

static enum stage_rc
copy_process(struct stage_ctx *ctx)
{
	const char *src = stage_source_path(ctx);
	char dst[PATH_MAX];
	struct stat st;
	int fd, r;

	if (ctx->step->kind == STEP_PASS || !ctx->step->save)
		return STAGE_OK;
	if (src == NULL ||
	    stage_output_path(ctx, NULL, dst, sizeof(dst), ctx->reason, sizeof(ctx->reason)) < 0)
		return STAGE_PERMFAIL;
	if (!stage_overwrite(ctx) && lstat(dst, &st) == 0 && !outfile_begun(dst)) {
		ctx->skipped = true; /* exists: a skip, as TMC */
		return STAGE_OK;
	}
	if ((fd = stage_open_source(ctx, &st)) < 0)
		return copy_errno_rc(errno);
	if ((r = copy_make_dir(ctx, dst)) != 0) {
		close(fd);
		if (r > 0)
			ctx->warnings++;
		return r > 0 ? STAGE_OK : copy_errno_rc(errno);
	}
	r = outfile_copy(fd, dst, true, ctx->reason, sizeof(ctx->reason));
	close(fd);
	if (r < 0)
		return copy_errno_rc(errno);
	ctx->created++;
	return STAGE_OK;
}

static const struct stage_ops copy_ops = {
	.name = "tmc-copy",
	.process = copy_process,
};

int
main(int argc, char **argv)
{
	return stage_main(argc, argv, &copy_ops);
}
