/*
 * apply_files.c - the reply's files, written by this host only.
 *
 * A file is accepted only at a path one step of the unit would write for
 * this item: root + path_head + tail + out with its extension replaced
 * (stage_output_path from OUR ticket), the extension [a-z0-9]{1,5}.
 * Anything else makes the whole reply bad before a byte is written. The
 * writes follow the local stages' rules: the folder opened beneath the
 * root without symbolic links (made when force_dir), a temp name and a
 * rename (outfile), and an existing output kept when overwrite is false
 * (that step is "skipped"). A redo after a crash writes the same bytes.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "remote.h"

static bool
ext_ok(const char *ext)
{
	size_t n = strspn(ext, "abcdefghijklmnopqrstuvwxyz0123456789");

	return n >= 1 && n <= 5 && ext[n] == '\0';
}

static void
step_ctx(const struct stage_ctx *ctx, int j, struct stage_ctx *cj)
{
	*cj = *ctx;
	cj->step = &ctx->tpl->steps[j];
	cj->step_idx = j;
}

/* The unit step that writes rel (relative to the root), or -1. */
static int
file_step(const struct stage_ctx *ctx, const struct unit_step *us, const char *rel, char *full,
	  size_t flen)
{
	const char *root = ticket_get(ctx->ticket, "root") ?: "";
	const char *ext = path_ext(rel);
	char why[REASON_MAX];
	struct stage_ctx cj;

	if (!ext_ok(ext))
		return -1;
	while (*rel == '/')
		rel++;
	for (size_t j = 0; j < ctx->tpl->nsteps; j++) {
		const char *p;

		if (!us[j].in_unit || !us[j].has_line || us[j].rl.outcome == RO_FAILED)
			continue;
		step_ctx(ctx, (int)j, &cj);
		if (stage_output_path(&cj, ext, full, flen, why, sizeof(why)) < 0)
			continue;
		for (p = full + strlen(root); *p == '/'; p++)
			;
		if (strncmp(full, root, strlen(root)) == 0 && strcmp(p, rel) == 0)
			return (int)j;
	}
	return -1;
}

/* Write one file; 0, 1 kept (exists), 2 no folder (warning), -1 errno. */
static int
write_one(struct stage_ctx *cj, const char *full, const struct wire_part *part)
{
	const char *root = ticket_get(cj->ticket, "root");
	char dir[PATH_MAX], *slash;
	struct stat st;
	int rootfd, dfd, r;

	if (!stage_overwrite(cj) && lstat(full, &st) == 0 && !outfile_begun(full))
		return 1;
	snprintf(dir, sizeof(dir), "%s", full + strlen(root));
	slash = strrchr(dir, '/');
	*(slash ? slash : dir) = '\0';
	if ((rootfd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return -1;
	dfd = dir_open_beneath(rootfd, dir[0] == '/' ? dir + 1 : dir, cj->step->force_dir, 0755);
	close(rootfd);
	if (dfd < 0)
		return errno == ENOENT && !cj->step->force_dir ? 2 : -1;
	r = outfile_publish_at(dfd, strrchr(full, '/') + 1, part->data, part->len, true);
	close(dfd);
	return r < 0 ? -1 : 0;
}

int
apply_files(struct stage_ctx *ctx, const struct wire_msg *m, struct unit_step *us, bool check_only)
{
	long long n = ticket_get_ll(&m->hdr, "files", 0);
	char full[PATH_MAX];
	struct stage_ctx cj;

	for (long long k = 0; k < n; k++) {
		const char *rel;
		const struct wire_part *part;
		int j, r;

		rel = reply_key(m, 'f', k, &part);
		if (rel == NULL || part == NULL ||
		    (j = file_step(ctx, us, rel, full, sizeof(full))) < 0) {
			snprintf(ctx->reason, sizeof(ctx->reason),
				 "reply file f.%lld \"%s\" is not an output of this unit", k,
				 rel ? rel : "(missing)");
			errno = EPROTO;
			return -1;
		}
		if (check_only)
			continue;
		step_ctx(ctx, j, &cj);
		if ((r = write_one(&cj, full, part)) < 0) {
			snprintf(ctx->reason, sizeof(ctx->reason), "%s: %s", full, strerror(errno));
			return -1;
		}
		if (r == 1)
			us[j].skipped_files++;
		else if (r == 0)
			us[j].written_files++;
		else
			us[j].rl.warnings++;
	}
	return 0;
}
