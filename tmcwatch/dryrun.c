/*
 * dryrun.c - `tmcwatch submit --dry-run job.json`: what the job would do,
 * queueing nothing. After job_accept() (cmd_submit.c), the files are listed
 * as tmc-jobs lists them (the same scan, stage/scan.c, into a memfd) and
 * each is checked as tmc-jobs checks it (jobspec_check_file); per file the
 * steps on its route (config/route.c route_reached: a step whose source
 * step does not apply is skipped, as no item would reach it) and the
 * output path each would write (root + path_head + path_tail + the renamed name, with the
 * extension of the step's output). A job with an uploaded file list
 * (filelist) is only checked: its list comes with the upload.
 * Exit 0 when the job would run, 65 with the reasons when refused.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "job.h"
#include "stage.h"
#include "tmc.h"
#include "tmcwatch.h"

/* The extension a step's output gets; NULL keeps the original's; "" when
 * the step writes nothing. */
static const char *
output_ext(const struct step *s, const char *ext)
{
	if (s->kind == STEP_PASS || !s->save)
		return "";
	if (s->kind == STEP_COPY)
		return NULL;
	if (s->kind == STEP_VIDEO)
		return strcasecmp(ext, "mp4") == 0 ? NULL : "mp4";
	return s->format && *s->format ? s->format : "jpg";
}

/* One file: its steps and outputs. 1 printed, 0 no step applies, -1 refused. */
static int
dry_file(const struct jobspec *js, const char *rel, size_t *outputs)
{
	const struct template *tpl = js->tpl;
	uint8_t *reach = xcalloc(tpl->nsteps + 1, sizeof(*reach));
	char reason[1024], path[PATH_MAX + 16], *out, *dot;
	const char *ext = path_ext(rel), *oext;
	int r = 0;

	if (jobspec_check_file(js, rel, reason, sizeof(reason)) < 0) {
		printf("%s: refused: %s\n", rel, reason);
		free(reach);
		return -1;
	}
	out = tmc_rename(rel, js->rename, js->nrename);
	route_reached(tpl, ext, reach, tpl->nsteps);
	for (size_t j = 0; j < tpl->nsteps; j++) {
		const struct step *s = &tpl->steps[j];

		if (!reach[j])
			continue;
		if (r++ == 0)
			printf("%s%s%s%s\n", js->site->root, js->path_head, js->path_tail, rel);
		oext = output_ext(s, ext);
		if (oext && *oext == '\0') {
			printf("  %02zu-%s: writes nothing\n", j, s->name);
			continue;
		}
		if (path_join(path, sizeof(path) - 8, js->out_root, s->path_head, js->path_tail,
			      out) < 0) {
			printf("  %02zu-%s: output path too long\n", j, s->name);
			continue;
		}
		if (oext && (dot = strrchr(path, '.')) && strchr(dot, '/') == NULL)
			*dot = '\0';
		printf("  %02zu-%s: %s%s%s\n", j, s->name, path, oext ? "." : "", oext ? oext : "");
		(*outputs)++;
	}
	if (r == 0)
		printf("%s: no step applies to \".%s\"\n", rel, ext);
	free(out);
	free(reach);
	return r > 0;
}

/* The scan's lines, as tmc-jobs would write proc/<seq>.file (buf holds
 * *len + 1 bytes, for job_list_split); NULL + reason. */
static char *
dry_list(const struct jobspec *js, size_t *len, char *reason, size_t rlen)
{
	int fd = memfd_create("tmcwatch-dry-run", MFD_CLOEXEC), r = -1;
	struct scan *sc = NULL;
	char *text = NULL;
	struct stat st;

	if (fd < 0) {
		snprintf(reason, rlen, "memfd_create: %s", strerror(errno));
		return NULL;
	}
	if ((sc = scan_start(js, fd, reason, rlen)) != NULL) {
		while ((r = scan_step(sc, 4096, reason, rlen)) == 0)
			;
		scan_free(&sc);
	}
	if (r == 1 && fstat(fd, &st) == 0) {
		text = xmalloc((size_t)st.st_size + 1);
		*len = (size_t)st.st_size;
		if (pread(fd, text, *len, 0) != (ssize_t)*len) {
			snprintf(reason, rlen, "read the list back: %s", strerror(errno));
			free(text);
			text = NULL;
		} else {
			text[*len] = '\0';
		}
	}
	close(fd);
	return text;
}

int
submit_dry_run(const struct conf *conf, const char *name, const char *raw, size_t len)
{
	char reason[1024] = "", *list, **lines = NULL;
	size_t n, llen = 0, outputs = 0, files = 0;
	struct jobspec js;
	int refused = 0, r;

	if (jobspec_load(&js, conf, name, raw, len, reason, sizeof(reason)) < 0) {
		fprintf(stderr, "tmcwatch submit: refused: %s\n", reason);
		return EX_DATAERR;
	}
	printf("template %s, site %s, output root %s\n", js.tpl->name, js.site->name, js.out_root);
	if (js.filelist) {
		printf("files: the list uploaded with the job (filelist), not known here\n");
		jobspec_free(&js);
		return 0;
	}
	if ((list = dry_list(&js, &llen, reason, sizeof(reason))) == NULL) {
		fprintf(stderr, "tmcwatch submit: refused: %s\n", reason);
		jobspec_free(&js);
		return EX_DATAERR;
	}
	n = job_list_split(list, llen, &lines);
	for (size_t i = 0; i < n; i++) {
		if ((r = dry_file(&js, lines[i], &outputs)) < 0)
			refused++;
		files += r > 0;
	}
	printf("%zu files listed, %zu with steps, %zu outputs; nothing queued (dry run)\n", n,
	       files, outputs);
	if (refused)
		fprintf(stderr, "tmcwatch submit: refused: %d files would send the job to err/\n",
			refused);
	free(lines);
	free(list);
	jobspec_free(&js);
	return refused ? EX_DATAERR : 0;
}
