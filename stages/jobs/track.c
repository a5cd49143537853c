/*
 * track.c - putting a job's files into the pipeline, a window at a time,
 * and accounting for items that will never report.
 *
 * Emission: file i gets id "<seq>-<i>" (6+ digits) and one item in every
 * step of the template that reads hires and applies to its extension, with
 * the ticket keys of tmcwatch-spool(5): origin job:<seq>, site, src, rel,
 * out (rel after the rename rules), root, tail, overwrite, capture, and
 * src_root, src_rel, src_id: the file as resolve.c found it beneath the
 * site root (a refused file gets its error row instead of items). At most
 * `window` files of a job are in flight (dispatched, no row yet), like TMC's
 * que, so pause, stop and cancel hold back everything not yet emitted and
 * only the window finishes.
 *
 * Exactly once across crashes: a file below the recorded "dispatched" is
 * never emitted again. Above it, a crash may have emitted some (the count is
 * written after emitting), so each step's item is published only when it is
 * in neither new/ nor cur/ of its stage, and, checked after that, the log
 * has no result for it; an item that went all the way wrote its result
 * before it left cur/. This is why items are published one step at a time
 * here (publish_stage) and not with emitter_emit(), which would redo a step
 * whose item already finished. A batch's items are committed together
 * (publish_commit: one syncfs), and "dispatched" moves only past files
 * whose items were all published.
 *
 * Missing reports (once a second): a step whose item sits in its stage's
 * err/ failed (for SR_MAYBE: the ambiguous line was a failure); it may have
 * no line at all when its worker died too often or its ticket was bad. A
 * file with steps still expected, no new line in the log for 2 s, and its
 * id in no stage's new/ or cur/ on two ticks in a row was lost (a power
 * cut between stages): its missing steps count as failed, so the job ends.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "jobs.h"
#include "stage.h"

#define QUIET_MS 2000

size_t
track_inflight(const struct job *j)
{
	return j->dispatched - j->ndone_disp;
}

static bool
in_dir(int dirfd, const char *id)
{
	struct stat st;

	return fstatat(dirfd, id, &st, AT_SYMLINK_NOFOLLOW) == 0;
}

static bool
in_stage(struct tplstages *ts, int s, const char *id)
{
	struct stage_dir *sd = stage_set_get(&ts->set, (size_t)s);

	return sd && item_present(sd, id);
}

static void
ticket_base(const struct job *j, size_t i, const struct stat *st, struct ticket *t)
{
	char *out = tmc_rename(j->rel[i], j->spec.rename, j->spec.nrename);
	char *srcrel = xasprintf("%s%s%s", j->spec.path_head, j->spec.path_tail, j->rel[i]);

	memset(t, 0, sizeof(*t));
	ticket_setf(t, "origin", "job:%s", j->seq);
	ticket_set(t, "site", j->spec.site->name);
	ticket_setf(t, "src", "%s%s%s%s", j->spec.site->root, j->spec.path_head, j->spec.path_tail,
		    j->rel[i]);
	ticket_set(t, "rel", j->rel[i]);
	ticket_set(t, "out", out);
	ticket_set(t, "root", j->spec.out_root);
	ticket_set(t, "tail", j->spec.path_tail);
	stage_ticket_source(t, j->spec.site->root, srcrel, st);
	if (j->spec.overwrite >= 0)
		ticket_set(t, "overwrite", j->spec.overwrite ? "1" : "0");
	if (j->spec.capture)
		ticket_set(t, "capture", j->spec.capture);
	if (j->spec.density > 0)
		ticket_setf(t, "density", "%d", j->spec.density);
	free(out);
	free(srcrel);
}

/* Build file i's item for step s in the batch (tag: i * nsteps + s). */
static int
stage_step(struct job *j, struct publish_batch *b, size_t i, int s, const struct stat *src)
{
	struct stage_dir *sd = stage_set_get(&j->ts->set, (size_t)s);
	struct ticket t;
	char id[ITEM_ID_MAX];
	int r;

	if (sd == NULL)
		return -1;
	jm_item_id(id, sizeof(id), j->seq, i);
	ticket_base(j, i, src, &t);
	ticket_set(&t, "id", id);
	ticket_set(&t, "template", j->spec.tpl->name);
	r = publish_stage(b, sd, id, &t, (long)(i * j->spec.tpl->nsteps + (size_t)s));
	ticket_free(&t);
	return r < 0 ? -1 : 0;
}

/* Every item built: on disk with one sync, then into new/. The first file
 * with an item not published bounds *to (it and the rest: next time). */
static int
commit_steps(struct job *j, struct publish_batch *b, size_t *to)
{
	size_t nsteps = j->spec.tpl->nsteps;
	int r = publish_commit(b, false) < 0 ? -1 : 0;

	for (size_t k = 0; k < b->n; k++) {
		size_t i = (size_t)b->v[k].tag / nsteps;

		if (b->v[k].r == 1)
			trace_note('P', b->v[k].id, (int)((size_t)b->v[k].tag % nsteps));
		else if (b->v[k].r < 0 && i < *to)
			*to = i;
	}
	return r;
}

static void mark_failed(struct job *j, size_t i, size_t s, const char *why);

static bool
first_step(const struct job *j, size_t i, size_t s)
{
	return route_first(j->spec.tpl, s, path_ext(j->rel[i]));
}

static bool
has_result(const struct job *j, size_t i, size_t s)
{
	return j->files[i].done || (j->files[i].res && j->files[i].res[s].state != SR_NONE);
}

/* Phase 1: the first steps of files [from, to) with no item and no result. */
static size_t
emit_needs(struct job *j, size_t from, size_t to, size_t *need)
{
	char id[ITEM_ID_MAX];
	size_t n = 0;

	for (size_t i = from; i < to; i++) {
		jm_item_id(id, sizeof(id), j->seq, i);
		for (size_t s = 0; s < j->spec.tpl->nsteps; s++)
			if (first_step(j, i, s) && !has_result(j, i, s) &&
			    !in_stage(j->ts, (int)s, id))
				need[n++] = i * j->spec.tpl->nsteps + s;
	}
	return n;
}

/* File i is refused (resolve.c): its first steps fail here, its row
 * follows; no item is made. */
static void
refuse_file(struct job *j, size_t i, const char *reason)
{
	for (size_t s = 0; s < j->spec.tpl->nsteps; s++)
		if (first_step(j, i, s) && !has_result(j, i, s))
			mark_failed(j, i, s, reason);
}

/* Emit files [dispatched, dispatched + room). 0, or -1 to retry later. */
static int
emit_batch(struct jobsd *d, struct job *j, size_t room)
{
	size_t nsteps = j->spec.tpl->nsteps, from = j->dispatched;
	size_t to = from + room < j->total ? from + room : j->total;
	size_t *need = xcalloc((to - from) * nsteps + 1, sizeof(*need));
	size_t n = emit_needs(j, from, to, need), last = SIZE_MAX;
	int r = 0, rootfd = n ? resolve_open_root(j) : -1, found = 0;
	char reason[REASON_MAX];
	struct publish_batch batch;
	struct stat st;

	publish_batch_init(&batch);
	results_read_log(d, j); /* results that arrived after phase 1 */
	for (size_t k = 0; k < n && r == 0; k++) {
		size_t i = need[k] / nsteps, s = need[k] % nsteps;

		if (i != last) { /* need[] is in file order: resolve each file once */
			last = i;
			if ((found = resolve_src(j, rootfd, i, &st, reason, sizeof(reason))) < 0)
				refuse_file(j, i, reason);
		}
		if (found >= 0 && !has_result(j, i, s) &&
		    stage_step(j, &batch, i, (int)s, found > 0 ? &st : NULL) < 0) {
			to = i; /* this file and the rest: next time */
			r = -1;
		}
	}
	if (rootfd >= 0)
		close(rootfd);
	free(need);
	if (commit_steps(j, &batch, &to) < 0)
		r = -1;
	publish_batch_free(&batch);
	for (size_t i = from; i < to; i++) {
		j->dispatched++;
		j->ndone_disp += j->files[i].done != 0;
		results_evaluate(j, i); /* a file no step applies to is done now */
	}
	j->stat_dirty = j->stat_dirty || to > from;
	return r;
}

void
track_emit(struct jobsd *d, struct job *j)
{
	while (j->mode == JM_RUN && j->files && j->dispatched < j->total &&
	       track_inflight(j) < d->window) {
		if (emit_batch(d, j, d->window - track_inflight(j)) < 0)
			break;
	}
}

/* After a crash: files up to the highest one reported were dispatched (in
 * index order), whatever .stat says; publish what a crash cut short there,
 * paused or not, window or not. */
void
track_redrive(struct jobsd *d, struct job *j)
{
	if (j->files && j->hi > j->dispatched && j->hi <= j->total)
		emit_batch(d, j, j->hi - j->dispatched);
}

static const char *
err_reason(struct tplstages *ts, int s, const char *id, char *buf, size_t len)
{
	struct stage_dir *sd = stage_set_get(&ts->set, (size_t)s);
	char path[ITEM_ID_MAX + 16], *r;

	snprintf(path, sizeof(path), "%s/reason", id);
	if (sd == NULL || (r = file_read_at(sd->errfd, path, 4096, NULL)) == NULL)
		return "its item went to the stage's err/";
	r[strcspn(r, "\n")] = '\0';
	snprintf(buf, len, "%s", r);
	free(r);
	return buf;
}

static void
mark_failed(struct job *j, size_t i, size_t s, const char *why)
{
	struct sres *r;

	if (j->files[i].res == NULL)
		j->files[i].res = xcalloc(j->spec.tpl->nsteps, sizeof(struct sres));
	r = &j->files[i].res[s];
	r->state = SR_FAILED;
	log_warnx("job %s: %s step %zu (%s): %s", j->seq, j->rel[i], s, j->spec.tpl->steps[s].name,
		  why);
}

/* err/ evidence for steps without a result and for SR_MAYBE ones. */
static bool
resolve_err(struct job *j, size_t i, const uint8_t *exp, const char *id)
{
	char buf[REASON_MAX];
	bool changed = false;

	for (size_t s = 0; s < j->spec.tpl->nsteps; s++) {
		struct sres *r = j->files[i].res ? &j->files[i].res[s] : NULL;
		bool maybe = r && r->state == SR_MAYBE,
		     open = exp[s] && (!r || r->state == SR_NONE);
		struct stage_dir *sd;

		if (!maybe && !open)
			continue;
		if ((sd = stage_set_get(&j->ts->set, s)) == NULL || !in_dir(sd->errfd, id))
			continue;
		mark_failed(j, i, s,
			    maybe ? "failed (its item is in err/)"
				  : err_reason(j->ts, (int)s, id, buf, sizeof(buf)));
		changed = true;
	}
	return changed;
}

static bool
anywhere(struct job *j, const char *id)
{
	for (size_t s = 0; s < j->spec.tpl->nsteps; s++)
		if (in_stage(j->ts, (int)s, id))
			return true;
	return false;
}

/* Nothing in flight twice in a row: MAYBE lines were failures, and what is
 * still expected was lost. */
static void
resolve_lost(struct job *j, size_t i, uint8_t *exp)
{
	const char *ext = path_ext(j->rel[i]);

	for (size_t s = 0; j->files[i].res && s < j->spec.tpl->nsteps; s++)
		if (j->files[i].res[s].state == SR_MAYBE)
			j->files[i].res[s].state = SR_FAILED;
	steps_expected(j->spec.tpl, ext, j->files[i].res, exp);
	for (size_t s = 0; s < j->spec.tpl->nsteps; s++)
		if (exp[s] && (!j->files[i].res || j->files[i].res[s].state == SR_NONE))
			mark_failed(
				j, i, s,
				"its item is in no stage and never reported: counted as failed");
}

static void
resolve_file(struct job *j, size_t i, uint8_t *exp, bool quiet)
{
	char id[ITEM_ID_MAX];

	jm_item_id(id, sizeof(id), j->seq, i);
	if (steps_expected(j->spec.tpl, path_ext(j->rel[i]), j->files[i].res, exp) == 0 ||
	    resolve_err(j, i, exp, id)) {
		results_evaluate(j, i);
		return;
	}
	if (!quiet || anywhere(j, id)) {
		j->files[i].absent = 0;
		return;
	}
	if (++j->files[i].absent < 2)
		return;
	resolve_lost(j, i, exp);
	results_evaluate(j, i);
}

static bool
has_maybe(const struct job *j, size_t i)
{
	for (size_t s = 0; j->files[i].res && s < j->spec.tpl->nsteps; s++)
		if (j->files[i].res[s].state == SR_MAYBE)
			return true;
	return false;
}

/* Every pass: files with an ambiguous line (their item moves to err/ just
 * after the line). On the tick: every file in flight. */
void
track_resolve(struct jobsd *d, struct job *j, bool tick)
{
	bool quiet = now_ms_mono() - j->last_line_ms >= QUIET_MS;
	char id[ITEM_ID_MAX];
	uint8_t *exp;

	(void)d;
	if (j->files == NULL)
		return;
	while (j->low < j->dispatched && j->files[j->low].done)
		j->low++;
	exp = xmalloc(j->spec.tpl->nsteps + 1);
	for (size_t i = j->low; i < j->dispatched; i++) {
		if (j->files[i].done)
			continue;
		if (tick) {
			resolve_file(j, i, exp, quiet);
		} else if (has_maybe(j, i)) {
			jm_item_id(id, sizeof(id), j->seq, i);
			steps_expected(j->spec.tpl, path_ext(j->rel[i]), j->files[i].res, exp);
			if (resolve_err(j, i, exp, id))
				results_evaluate(j, i);
		}
	}
	free(exp);
}
