/*
 * plan.c - the processes a configuration asks for, as a table of rows
 * {label, program, argv}: one row per (template, step) and stage worker,
 * one per watch, and one each for tmc-jobs and tmc-notify. Programs are
 * looked up in TMC_LIBEXEC, else beside the tmcwatch binary (a build tree),
 * else the installed libexec folder. A program that is not installed is
 * reported once and left out: its items wait in new/ until it is.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tmcwatch.h"

const char *
libexec_dir(void)
{
	static char dir[PATH_MAX];
	char probe[PATH_MAX + 16];
	ssize_t n;

	if (dir[0])
		return dir;
	if (getenv("TMC_LIBEXEC")) {
		snprintf(dir, sizeof(dir), "%s", getenv("TMC_LIBEXEC"));
		return dir;
	}
	n = readlink("/proc/self/exe", dir, sizeof(dir) - 1);
	if (n > 0) {
		dir[n] = '\0';
		*strrchr(dir, '/') = '\0';
		snprintf(probe, sizeof(probe), "%s/tmc-copy", dir);
		if (access(probe, X_OK) == 0)
			return dir;
	}
	snprintf(dir, sizeof(dir), "%s", TMC_LIBEXECDIR);
	return dir;
}

static const char *
step_program(const struct step *s)
{
	switch (s->kind) {
	case STEP_VIDEO: return "tmc-video";
	case STEP_COPY:
	case STEP_PASS: return "tmc-copy";
	default: return "tmc-image";
	}
}

static char **
argv_make(const char *prog, const struct conf *conf, const char *extra[], size_t nextra)
{
	char **argv = xcalloc(6 + nextra + 1, sizeof(*argv));
	size_t k = 0;

	argv[k++] = xstrdup(prog);
	argv[k++] = xstrdup("-c");
	argv[k++] = xstrdup(conf->path);
	argv[k++] = xstrdup("-t");
	argv[k++] = xstrdup(conf->tpl_path);
	for (size_t i = 0; i < nextra; i++)
		argv[k++] = xstrdup(extra[i]);
	return argv;
}

static void
plan_add(struct plan *p, const char *prog, const char *label, char **argv, int t, int s,
	 int timeout)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/%s", libexec_dir(), prog);
	if (access(path, X_OK) < 0) {
		log_warnx("%s is not installed in %s: %s waits", prog, libexec_dir(), label);
		for (char **a = argv; *a; a++)
			free(*a);
		free(argv);
		return;
	}
	p->rows = xreallocarray(p->rows, p->n + 1, sizeof(*p->rows));
	p->rows[p->n++] = (struct child_spec){
		.label = xstrdup(label), .program = xstrdup(path), .argv = argv,
		.tpl_idx = t, .step_idx = s, .timeout = timeout,
	};
}

static void
plan_stages(struct plan *p, const struct conf *conf)
{
	char label[512], sidx[24], name[300];

	for (size_t t = 0; t < conf->ntemplates; t++) {
		const struct template *tpl = &conf->templates[t];

		for (size_t j = 0; j < tpl->nsteps; j++) {
			const struct step *s = &tpl->steps[j];
			const char *extra[] = {"-T", tpl->name, "-s", sidx};
			int timeout = s->timeout ? s->timeout
				      : s->kind == STEP_VIDEO ? conf->video_timeout
							      : conf->image_timeout;

			snprintf(sidx, sizeof(sidx), "%zu", j);
			stage_name(name, sizeof(name), (int)j, s->name);
			for (int w = 0; w < conf->stage_workers; w++) {
				snprintf(label, sizeof(label), "%s/%s#%d", tpl->name, name, w);
				plan_add(p, step_program(s), label,
					 argv_make(step_program(s), conf, extra, 4), (int)t, (int)j,
					 timeout);
			}
		}
	}
}

void
plan_build(struct plan *p, const struct conf *conf)
{
	char label[300];

	memset(p, 0, sizeof(*p));
	plan_stages(p, conf);
	for (size_t w = 0; w < conf->nwatches; w++) {
		const char *extra[] = {"-w", conf->watches[w].name};

		snprintf(label, sizeof(label), "watch:%s", conf->watches[w].name);
		plan_add(p, "tmc-watch", label, argv_make("tmc-watch", conf, extra, 2), -1, -1, 0);
	}
	plan_add(p, "tmc-jobs", "jobs", argv_make("tmc-jobs", conf, NULL, 0), -1, -1, 0);
	plan_add(p, "tmc-notify", "notify", argv_make("tmc-notify", conf, NULL, 0), -1, -1, 0);
}

void
plan_free(struct plan *p)
{
	for (size_t i = 0; i < p->n; i++) {
		free(p->rows[i].label);
		free(p->rows[i].program);
		for (char **a = p->rows[i].argv; *a; a++)
			free(*a);
		free(p->rows[i].argv);
	}
	xfree(&p->rows);
	p->n = 0;
}
