/*
 * plan.c - the processes a configuration asks for, as a table of rows
 * {label, program, argv}: one row per (template, step) and stage worker,
 * one per watch, and one each for tmc-jobs and tmc-notify. Programs are
 * looked up in one folder: TMC_LIBEXEC, else beside the tmcwatch binary when
 * that holds tmc-jobs (a build tree, so a built tmcwatch runs its own
 * siblings, never an older installed set), else the installed libexec
 * folder. A program that is not there is left out of the rows and listed in
 * plan->missing: run logs it (its items wait in new/ until it is installed),
 * check fails on it.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tmcwatch.h"

static char libexec[PATH_MAX];
static char libexec_how[PATH_MAX + 64];

/* The folder of the running binary (readlink of /proc/self/exe), or "". */
static void
self_dir(char *dir, size_t len)
{
	ssize_t n = readlink("/proc/self/exe", dir, len - 1);
	char *slash;

	dir[n > 0 ? n : 0] = '\0';
	if ((slash = strrchr(dir, '/')) != NULL)
		*slash = '\0';
}

const char *
libexec_dir(void)
{
	char self[PATH_MAX], probe[PATH_MAX + 16];

	if (libexec[0])
		return libexec;
	if (getenv("TMC_LIBEXEC") && getenv("TMC_LIBEXEC")[0]) {
		snprintf(libexec, sizeof(libexec), "%s", getenv("TMC_LIBEXEC"));
		snprintf(libexec_how, sizeof(libexec_how), "TMC_LIBEXEC");
		return libexec;
	}
	self_dir(self, sizeof(self));
	snprintf(probe, sizeof(probe), "%s/tmc-jobs", self);
	if (self[0] && access(probe, X_OK) == 0) {
		snprintf(libexec, sizeof(libexec), "%s", self);
		snprintf(libexec_how, sizeof(libexec_how), "beside tmcwatch");
		return libexec;
	}
	snprintf(libexec, sizeof(libexec), "%s", TMC_LIBEXECDIR);
	snprintf(libexec_how, sizeof(libexec_how),
		 "the installed folder; TMC_LIBEXEC is unset and %s has no tmc-jobs",
		 self[0] ? self : "the folder of tmcwatch");
	return libexec;
}

const char *
libexec_source(void)
{
	libexec_dir();
	return libexec_how;
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
		int err = errno;

		p->missing = xreallocarray(p->missing, p->nmissing + 1, sizeof(*p->missing));
		p->missing[p->nmissing++] = (struct plan_missing){
			.program = xstrdup(prog),
			.label = xstrdup(label),
			.err = err,
		};
		for (char **a = argv; *a; a++)
			free(*a);
		free(argv);
		return;
	}
	p->rows = xreallocarray(p->rows, p->n + 1, sizeof(*p->rows));
	p->rows[p->n++] = (struct child_spec){
		.label = xstrdup(label),
		.program = xstrdup(path),
		.argv = argv,
		.tpl_idx = t,
		.step_idx = s,
		.timeout = timeout,
	};
}

/* The stage_workers rows of step j of tpl. */
static void
plan_step(struct plan *p, const struct conf *conf, const struct template *tpl, int t, size_t j)
{
	const struct step *s = &tpl->steps[j];
	char label[512], sidx[24], name[300];
	const char *extra[] = {"-T", tpl->name, "-s", sidx};
	int timeout = s->timeout              ? s->timeout
		      : s->kind == STEP_VIDEO ? conf->video_timeout
					      : conf->image_timeout;

	snprintf(sidx, sizeof(sidx), "%zu", j);
	stage_name(name, sizeof(name), (int)j, s->name);
	for (int w = 0; w < conf->stage_workers; w++) {
		snprintf(label, sizeof(label), "%s/%s#%d", tpl->name, name, w);
		plan_add(p, step_program(s), label, argv_make(step_program(s), conf, extra, 4), t,
			 (int)j, timeout);
		if (p->n && strcmp(p->rows[p->n - 1].label, label) == 0)
			p->rows[p->n - 1].tpl_name = xstrdup(tpl->name);
	}
}

/* A remote unit's head: gearman.max_inflight tmc-remote beside the local
 * workers (tmc-remote(8)). Its time limit is past the reply's deadline, so
 * that a late worker host is given up by tmc-remote, not killed for. */
static void
plan_remote(struct plan *p, const struct conf *conf, const struct template *tpl, int t, size_t j)
{
	const struct step *s = &tpl->steps[j];
	char label[512], sidx[24], name[300];
	const char *extra[] = {"-T", tpl->name, "-s", sidx};
	int deadline = conf->gearman.deadline  ? conf->gearman.deadline
		       : s->timeout            ? s->timeout
		       : s->kind == STEP_VIDEO ? conf->video_timeout
					       : conf->image_timeout;

	snprintf(sidx, sizeof(sidx), "%zu", j);
	stage_name(name, sizeof(name), (int)j, s->name);
	for (int w = 0; w < conf->gearman.max_inflight; w++) {
		snprintf(label, sizeof(label), "%s/%s#remote%d", tpl->name, name, w);
		plan_add(p, "tmc-remote", label, argv_make("tmc-remote", conf, extra, 4), t, (int)j,
			 deadline + 60);
		if (p->n && strcmp(p->rows[p->n - 1].label, label) == 0)
			p->rows[p->n - 1].tpl_name = xstrdup(tpl->name);
	}
}

void
plan_template(struct plan *p, const struct conf *conf, const struct template *tpl, int t)
{
	for (size_t j = 0; j < tpl->nsteps; j++) {
		plan_step(p, conf, tpl, t, j);
		if (conf_remote_head(conf, tpl, j))
			plan_remote(p, conf, tpl, t, j);
	}
}

static void
plan_stages(struct plan *p, const struct conf *conf)
{
	for (size_t t = 0; t < conf->ntemplates; t++)
		plan_template(p, conf, &conf->templates[t], (int)t);
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

/* Steps in a remote unit: a head, or reading (by name, for any extension)
 * a step in one. A superset of route_below's for each extension is fine:
 * a worker that gets no item costs nothing. */
static void
unit_steps(const struct conf *conf, const struct template *tpl, uint8_t *unit)
{
	for (size_t j = 0; j < tpl->nsteps; j++) {
		unit[j] = conf_remote_head(conf, tpl, j);
		for (size_t k = 0; k < j && !unit[j]; k++)
			unit[j] = unit[k] && strcmp(tpl->steps[k].name, tpl->steps[j].source) == 0;
	}
}

/* tmcwatch worker (tmcwatch-worker(8)): stage workers for every step of
 * every remote unit, and gearman.workers tmc-gworker processes; no watch,
 * tmc-jobs or tmc-notify (the spool host has them). */
void
plan_build_worker(struct plan *p, const struct conf *conf)
{
	int n = conf->gearman.workers ? conf->gearman.workers : conf->worker_cnt;
	char label[64];

	memset(p, 0, sizeof(*p));
	for (size_t t = 0; t < conf->ntemplates; t++) {
		const struct template *tpl = &conf->templates[t];
		uint8_t *unit = xcalloc(tpl->nsteps + 1, 1);

		unit_steps(conf, tpl, unit);
		for (size_t j = 0; j < tpl->nsteps; j++)
			if (unit[j])
				plan_step(p, conf, tpl, (int)t, j);
		free(unit);
	}
	for (int w = 0; w < n; w++) {
		snprintf(label, sizeof(label), "gworker#%d", w);
		plan_add(p, "tmc-gworker", label, argv_make("tmc-gworker", conf, NULL, 0), -1, -1,
			 0);
	}
}

void
plan_free(struct plan *p)
{
	for (size_t i = 0; i < p->n; i++) {
		free(p->rows[i].label);
		free(p->rows[i].program);
		free(p->rows[i].tpl_name);
		for (char **a = p->rows[i].argv; *a; a++)
			free(*a);
		free(p->rows[i].argv);
	}
	xfree(&p->rows);
	p->n = 0;
	for (size_t i = 0; i < p->nmissing; i++) {
		free(p->missing[i].program);
		free(p->missing[i].label);
	}
	xfree(&p->missing);
	p->nmissing = 0;
}

void
plan_log_missing(const struct plan *p)
{
	for (size_t i = 0; i < p->nmissing; i++)
		log_warnx("%s is not installed in %s (%s): %s: %s waits", p->missing[i].program,
			  libexec_dir(), libexec_source(), strerror(p->missing[i].err),
			  p->missing[i].label);
}
