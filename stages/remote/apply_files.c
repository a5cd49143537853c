/*
 * apply_files.c - the reply's files, written by this host only.
 *
 * A file is accepted only at the one path a step of the unit writes for
 * this item, computed from OUR ticket by the rule the local stages use
 * (stage_step_output: the step's own extension, never the reply's), at most
 * one file a step, and a step whose line says it created a file must have
 * sent it. Anything else makes the whole reply bad before a byte is
 * written. The
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

static void
step_ctx(const struct stage_ctx *ctx, int j, struct stage_ctx *cj)
{
	*cj = *ctx;
	cj->step = &ctx->tpl->steps[j];
	cj->step_idx = j;
}

/* The first unit step whose one output (stage_step_output) is rel
 * (relative to the root), its path in full; every such step counts the
 * file. -1 none, -2 a step given a second file. */
static int
file_step(const struct stage_ctx *ctx, struct unit_step *us, const char *rel, char *full,
	  size_t flen)
{
	const char *root = ticket_get(ctx->ticket, "root") ?: "";
	char why[REASON_MAX], path[PATH_MAX];
	struct stage_ctx cj;
	int first = -1;

	while (*rel == '/')
		rel++;
	for (size_t j = 0; j < ctx->tpl->nsteps; j++) {
		const char *p;

		if (!us[j].in_unit || !us[j].has_line || us[j].rl.outcome == RO_FAILED)
			continue;
		step_ctx(ctx, (int)j, &cj);
		if (stage_step_output(&cj, path, sizeof(path), why, sizeof(why)) != 1 ||
		    strncmp(path, root, strlen(root)) != 0)
			continue;
		for (p = path + strlen(root); *p == '/'; p++)
			;
		if (strcmp(p, rel) != 0)
			continue;
		if (us[j].nfiles++ > 0)
			return -2;
		if (first < 0) {
			first = (int)j;
			snprintf(full, flen, "%s", path);
		}
	}
	return first;
}

/* A step that says it created its file must have sent it. */
static int
files_complete(struct stage_ctx *ctx, const struct unit_step *us)
{
	for (size_t j = 0; j < ctx->tpl->nsteps; j++) {
		const struct unit_step *u = &us[j];

		if (!u->in_unit || !u->has_line || u->rl.outcome == RO_FAILED ||
		    u->rl.outcome == RO_SKIPPED || u->rl.created <= 0 || u->nfiles > 0)
			continue;
		snprintf(ctx->reason, sizeof(ctx->reason),
			 "reply is incomplete: step %s created %d file(s) but none was sent",
			 ctx->tpl->steps[j].name, u->rl.created);
		errno = EPROTO;
		return -1;
	}
	return 0;
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

	for (size_t j = 0; j < ctx->tpl->nsteps; j++)
		us[j].nfiles = 0;
	for (long long k = 0; k < n; k++) {
		const char *rel;
		const struct wire_part *part;
		int j = -1, r;

		rel = reply_key(m, 'f', k, &part);
		if (rel == NULL || part == NULL ||
		    (j = file_step(ctx, us, rel, full, sizeof(full))) < 0) {
			snprintf(ctx->reason, sizeof(ctx->reason),
				 j == -2 ? "reply file f.%lld \"%s\" is a second file for its step"
					 : "reply file f.%lld \"%s\" is not an output of this unit",
				 k, rel ? rel : "(missing)");
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
	return check_only ? files_complete(ctx, us) : 0;
}
