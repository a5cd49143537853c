/*
 * worker.c - the stage skeleton (see stage.h): its own options -T and -s
 * (args.c reads the ones every program shares), the main loop, and one
 * item's life: claim, slot, process, result line, handoff.
 *
 * Failure policy: a process() error is the item's, never the process's:
 * STAGE_TEMPFAIL retries later, STAGE_PERMFAIL sends it to err/ with the
 * reason. Only a broken spool (cannot open our own folders) ends the
 * program, with exit 69/70, and the supervisor restarts it with backoff.
 * SIGTERM is read from a signalfd between items: the item in hand is
 * finished, never abandoned half-way, unless process() itself gives it up
 * (STAGE_STOPPED, a long transcode): then it goes back to new/ untouched.
 *
 * A fault of the machine (STAGE_FAULT, or a protocol step failing with
 * errno_is_machine_fault) is nobody's fault: the item goes back to new/
 * untouched, no attempt counted, and this worker claims it again after a
 * delay of 1 s doubling to 30 s while faults go on; what cannot be undone
 * (a committed handoff) is finished from the loop by heal.c. Work resumes
 * by itself when the fault clears: no restart, no recovery.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "heal.h"
#include "stage.h"

#define FAULT_DELAY_MAX_S 30

struct stage {
	const struct stage_ops *ops;
	struct conf conf;
	const struct template *tpl;
	struct template inl; /* an inline template's, read from the spool */
	int idx;             /* the step in hand */
	int home_idx;        /* our own step, the one this process was started for */
	struct spool spool;
	struct stage_dir sd;
	/* the stage of the step in hand: &sd, or a successor's (in succ) while
	 * this process carries an item on (stage_run_item) and idx is that step */
	struct stage_dir *here;
	bool carry;              /* carry items on (ops->follow, no TMC_NO_FOLLOW) */
	struct stage_set succ;   /* successors' folders, opened lazily */
	struct stage_dir outbox; /* for the step's callbacks (has_outbox) */
	bool has_outbox;
	struct inbox inbox;
	int sigfd;
	int statusfd;                /* run/workers/<label>.<pid>: item and start time */
	char status_id[ITEM_ID_MAX]; /* the item in hand ("" idle), its start, its percent */
	long long status_start;
	int status_percent;
	bool status_idle_due; /* the item is done, "-" not written yet (stage_idle) */
	long long processed;
	int64_t due_s; /* earliest deferred item, real seconds; 0 none */
	/* Items whose ticket says not_before: claiming one puts it back in new/,
	 * which is itself an arrival event; without this list the stage would
	 * claim it again at once, in a loop, until it is due. */
	struct deferred {
		char id[ITEM_ID_MAX];
		int64_t due_s;
	} * deferred;
	size_t ndeferred;
	struct heals heals;    /* half-done protocol steps, retried (heal.c) */
	int fault_delay_s;     /* next retry delay after a machine fault; 0 none */
	int64_t fault_grown_s; /* when it last grew (real s) */
	int64_t rescan_ms;     /* new/ could not be read: scan again then (mono) */
	bool stop;
};

/* The skeleton's own options: -T template -s step-index. */
struct stage_step_arg {
	const char *tname;
	int idx;
};

static bool
stage_own_opt(void *arg, int ch, const char *val)
{
	struct stage_step_arg *sa = arg;

	if (ch == 'T')
		sa->tname = val;
	else if (ch == 's')
		sa->idx = atoi(val);
	else
		return false;
	return true;
}

static void
stage_step_args(struct stage *st, int argc, char **argv)
{
	struct stage_step_arg sa = {NULL, -1};
	struct stage_args a = {.name = st->ops->name,
			       .usage_name = argv[0],
			       .own_opts = "T:s:",
			       .own_usage = " -T template -s step-index",
			       .own = stage_own_opt,
			       .arg = &sa};

	stage_args_parse(&a, argc, argv);
	if (sa.tname == NULL || sa.idx < 0)
		stage_args_usage(&a);
	stage_args_conf(&a, &st->conf);
	if ((st->tpl = conf_template(&st->conf, sa.tname)) == NULL)
		st->tpl = stage_inline_template(&st->conf, sa.tname, &st->inl);
	if (st->tpl == NULL || (size_t)sa.idx >= st->tpl->nsteps)
		fatalx("no step %d in template %s", sa.idx, sa.tname);
	st->idx = st->home_idx = sa.idx;
}

static void
stage_read_signals(struct stage *st)
{
	struct signalfd_siginfo si;

	while (read(st->sigfd, &si, sizeof(si)) == sizeof(si)) {
		if (si.ssi_signo == SIGHUP && st->conf.log_file)
			log_open_file(st->conf.log_file);
		else if (si.ssi_signo != SIGHUP)
			st->stop = true;
	}
}

static struct stage *stage_current; /* for stage_progress() */

static void
stage_status_write(struct stage *st)
{
	char buf[192];
	int n;

	if (st->statusfd < 0)
		return;
	/* one fixed-width pwrite, no truncate: readers see an old or a new
	 * line, padded with spaces (a transcode rewrites it every percent) */
	if (st->status_id[0] && st->status_percent >= 0)
		n = snprintf(buf, sizeof(buf), "%lld %s %lld %d", st->processed, st->status_id,
			     st->status_start, st->status_percent);
	else if (st->status_id[0])
		n = snprintf(buf, sizeof(buf), "%lld %s %lld", st->processed, st->status_id,
			     st->status_start);
	else
		n = snprintf(buf, sizeof(buf), "%lld -", st->processed);
	if (n < 0 || n > (int)sizeof(buf) - 1)
		n = (int)sizeof(buf) - 1;
	memset(buf + n, ' ', sizeof(buf) - 1 - (size_t)n);
	buf[sizeof(buf) - 1] = '\n';
	if (pwrite(st->statusfd, buf, sizeof(buf), 0) < 0)
		log_warn("worker status file");
}

/* The status file the supervisor reads for timeouts and `tmcwatch status`:
 * "<processed> <item id> <start s on CLOCK_MONOTONIC> [<percent>]" or
 * "<processed> -". Monotonic seconds are the same clock in every process
 * of this boot. */
static void
stage_status(struct stage *st, const char *id)
{
	snprintf(st->status_id, sizeof(st->status_id), "%s", id ? id : "");
	st->status_start = now_ms_mono() / 1000;
	st->status_percent = -1;
	st->status_idle_due = false;
	stage_status_write(st);
}

/* An item is done. Under a flood the next item's line follows at once, so
 * "-" is written only when the worker is about to block (stage_wait) or
 * stop: one status write per item instead of two. Until then the line
 * names the item just finished, with its start, a moment longer. */
static void
stage_status_done(struct stage *st)
{
	st->status_id[0] = '\0';
	st->status_percent = -1;
	st->status_idle_due = true;
}

static void
stage_status_flush(struct stage *st)
{
	if (st->status_idle_due)
		stage_status(st, NULL);
}

void
stage_progress(int percent)
{
	struct stage *st = stage_current;

	percent = percent < 0 ? 0 : percent > 100 ? 100 : percent;
	if (st == NULL || st->status_id[0] == '\0' || percent == st->status_percent)
		return;
	st->status_percent = percent;
	stage_status_write(st);
}

static void
stage_status_open(struct stage *st)
{
	char name[PATH_MAX], *p;
	int fd;

	snprintf(name, sizeof(name), "run/workers/%s.%d", st->sd.label, (int)getpid());
	for (p = name + strlen("run/workers/"); *p; p++)
		if (*p == '/')
			*p = '+';
	fd = openat(st->spool.fd, "run/workers", O_RDONLY | O_DIRECTORY);
	if (fd < 0 && mkdirat(st->spool.fd, "run/workers", 0755) < 0 && errno != EEXIST)
		log_warn("%s/run/workers", st->spool.path);
	if (fd >= 0)
		close(fd);
	st->statusfd = openat(st->spool.fd, name, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (st->statusfd < 0)
		log_warn("%s/%s", st->spool.path, name);
	stage_status(st, NULL);
}

static struct stage_dir *
successor_dir(struct stage *st, int j)
{
	return stage_set_get(&st->succ, (size_t)j);
}

/* Successors of our step for this item: later steps that read our step's
 * output for the file's extension (route_successor). A successor stage that
 * cannot be opened sets *err (its errno): handing on without it would
 * lose its step. */
/* What a successor does not inherit: the retry state of this step, and the
 * step index tickets carried before the stage folder alone named it. */
static const char *const step_keys[] = {"attempt", "not_before", "last_error", "step", NULL};

static size_t
stage_successors(struct stage *st, struct item *it, struct successor *succ, int *err)
{
	const char *ext = path_ext(ticket_get(&it->ticket, "src") ?: "");
	const struct template *tpl = st->tpl;
	size_t n = 0;

	for (int j = st->idx + 1; j < (int)tpl->nsteps; j++) {
		if (!route_successor(tpl, (size_t)st->idx, (size_t)j, ext))
			continue;
		if ((succ[n].sd = successor_dir(st, j)) == NULL) {
			*err = errno ? errno : EIO; /* logged */
			continue;
		}
		succ[n].idx = j;
		succ[n].same = ticket_copy_without(&succ[n].ticket, &it->ticket, step_keys);
		n++;
	}
	return n;
}

static bool
has_pixels(int dirfd)
{
	struct stat st;

	return fstatat(dirfd, "pixels.mpc", &st, 0) == 0 ||
	       fstatat(dirfd, "pixels.raw", &st, 0) == 0 ||
	       fstatat(dirfd, "pixels.miff", &st, 0) == 0;
}

static enum stage_rc
stage_run_ops(struct stage *st, struct stage_ctx *ctx, size_t nsucc)
{
	const struct conf *c = &st->conf;
	struct slot slot = {.fd = -1};
	enum stage_rc rc = STAGE_OK;

	ctx->wants_pixels = nsucc > 0;
	ctx->has_pixels = st->ops->pixels && has_pixels(ctx->item->dirfd);
	if (st->ops->prepare && (rc = st->ops->prepare(ctx)) != STAGE_OK)
		return rc;
	if (st->ops->noslot) /* the work is another host's: no CPU budget here */
		return st->ops->process(ctx);
	if (slot_acquire(&st->spool, ctx->big, ctx->big ? c->big_worker : c->worker_cnt,
			 ctx->big ? 3600 * 1000 : 600 * 1000, &slot) < 0) {
		snprintf(ctx->reason, sizeof(ctx->reason), "no %s slot free: %s",
			 ctx->big ? "big" : "worker", strerror(errno));
		return STAGE_TEMPFAIL;
	}
	failpoint("process");
	rc = st->ops->process(ctx);
	slot_release(&slot);
	return rc;
}

static void deferred_add(struct stage *st, const char *id, int64_t due);

/* The step saved an output: its callbacks go to outbox/ before the commit
 * (stage/stepcb.c). Failing that, the item is redone: a machine fault as
 * one, anything else as a temporary failure (a spool folder, never the
 * item's fault). */
static enum stage_rc
stage_queue_callbacks(struct stage *st, struct stage_ctx *ctx)
{
	enum stage_rc rc;
	int e;

	/* remote=1: a worker host's item; the spool host queues its callbacks */
	if (!st->has_outbox || ctx->step->ncallback == 0 || ctx->created == 0 || ctx->skipped ||
	    ticket_get_ll(ctx->ticket, "remote", 0) == 1)
		return STAGE_OK;
	if (stepcb_queue(ctx, &st->outbox) == 0) {
		failpoint("stepcb-queued"); /* tests: die between queue and commit */
		return STAGE_OK;
	}
	e = errno;
	snprintf(ctx->reason, sizeof(ctx->reason), "cannot queue the step's callback in %s: %s",
		 st->outbox.path, strerror(e));
	rc = stage_errno_rc(e, "queue a step callback");
	return rc == STAGE_FAULT ? rc : STAGE_TEMPFAIL;
}

/* The retry delay after a machine fault: 1 s, doubled (to 30 s) only once
 * a whole delay has passed with faults, so a burst of items failing at
 * once does not push the retry of all of them far out. */
static int
stage_fault_delay(struct stage *st)
{
	int64_t now = now_s_real();

	if (st->fault_delay_s == 0) {
		st->fault_delay_s = 1;
		st->fault_grown_s = now;
	} else if (now - st->fault_grown_s >= st->fault_delay_s) {
		st->fault_delay_s *= 2;
		if (st->fault_delay_s > FAULT_DELAY_MAX_S)
			st->fault_delay_s = FAULT_DELAY_MAX_S;
		st->fault_grown_s = now;
	}
	return st->fault_delay_s;
}

/* A machine fault: the item waits in new/ (or, when even that rename
 * fails, in our hands) and is claimed again after the growing delay. */
static void
stage_fault_retry(struct stage *st, struct item *it, const char *why)
{
	int delay = stage_fault_delay(st);

	log_warnx("%s: %s; retried in %ds (a fault of the machine, not the item's)", it->path,
		  why[0] ? why : "machine fault", delay);
	deferred_add(st, it->id, now_s_real() + delay);
	if (item_giveback(st->here, it) < 0)
		heal_add_item(&st->heals, HEAL_RETURN, st->here, it);
}

static void
stage_fault_over(struct stage *st)
{
	st->fault_delay_s = 0;
	fault_clear_all();
}

static int
step_timeout(const struct conf *c, const struct step *s)
{
	return s->timeout              ? s->timeout
	       : s->kind == STEP_VIDEO ? c->video_timeout
				       : c->image_timeout;
}

/* The step this process carries the item on to after ours, or -1 (handed
 * on as before): the one successor (a fan-out is delivered as before), a
 * step of the same kind (our program's), under the same time limit as the
 * step we were started for (the supervisor times us by that one), not the
 * head of a remote unit, and no stop pending. */
static int
stage_follow(struct stage *st, struct successor *succ, size_t nsucc)
{
	const struct step *home = &st->tpl->steps[st->home_idx], *b;
	long long j;

	if (!st->carry || nsucc != 1)
		return -1;
	stage_read_signals(st);
	j = succ[0].idx;
	if (st->stop || j <= st->idx || j >= (long long)st->tpl->nsteps)
		return -1;
	b = &st->tpl->steps[j];
	if (b->kind != home->kind || step_timeout(&st->conf, b) != step_timeout(&st->conf, home))
		return -1;
	/* a remote unit's head is handed on through its new/, where tmc-remote
	 * can claim it: carried, the unit would never go to a worker host */
	if (conf_remote_head(&st->conf, st->tpl, (size_t)j))
		return -1;
	return (int)j;
}

/* The step is done: hand on, or carry the item on (returns the step, with
 * *next claimed in its stage; else -1). A failure after the commit is
 * finished by heal.c; before it, a machine fault retries the item,
 * anything else is a temporary failure that counts. */
static int
stage_hand_on(struct stage *st, struct item *it, struct successor *succ, size_t nsucc,
	      struct item *next)
{
	char why[REASON_MAX];
	int j = stage_follow(st, succ, nsucc), r, e;

	if (j >= 0) {
		r = item_handon(st->here, it, &succ[0], st->ops->pixels, next);
		e = errno;
		if (r == 0) {
			stage_fault_over(st);
			return j;
		}
	} else {
		r = item_handoff(st->here, it, succ, nsucc, st->ops->pixels);
		e = errno;
		for (size_t k = 0; r == 0 && k < nsucc; k++)
			trace_note('P', it->id, succ[k].idx);
	}
	if (r == 0 || r == 1) {
		stage_fault_over(st);
	} else if (r == 2) {
		heal_add_finalize(&st->heals, succ[0].sd, it->id, st->ops->pixels);
	} else if (it->lockfd >= 0 && it->dirfd >= 0 && item_committed(it)) {
		heal_add_item(&st->heals, HEAL_DELIVER, st->here, it);
	} else if (errno_is_machine_fault(e)) {
		fault_note_errno(e, "hand an item on");
		snprintf(why, sizeof(why), "handoff failed: %s", strerror(e));
		stage_fault_retry(st, it, why);
	} else {
		snprintf(why, sizeof(why), "handoff failed: %s", strerror(e));
		if (item_fail(st->here, it, true, st->conf.max_attempts, st->conf.retry_delay,
			      why) < 0)
			stage_fault_retry(st, it, why);
	}
	return -1;
}

/* One line per item, one shape for every outcome (the stage is the line's
 * prefix): "<origin> <id> <original> <outcome> created=N warnings=N next=N
 * <ms>ms[ reason: <why>]", outcome ok|warning|retry|failed|skipped (the
 * result line's words), the original by its absolute path, so a failure
 * names the file, not only a spool path.
 * Priorities: ok and skipped info, warning and retry warning, failed error. */
static void
log_outcome(const struct stage_ctx *ctx, const char *outcome, size_t nsucc, long long ms)
{
	const char *file = ticket_get(ctx->ticket, "src") ?: ticket_get(ctx->ticket, "rel");
	bool why = strcmp(outcome, "ok") != 0 && strcmp(outcome, "skipped") != 0;
	void (*out)(const char *, ...) = strcmp(outcome, "failed") == 0 ? log_errx
					 : why                          ? log_warnx
									: log_info;

	out("%s %s %s %s created=%d warnings=%d next=%zu %lldms%s%s",
	    ticket_get(ctx->ticket, "origin") ?: "-", ctx->item->id, file ? file : "-", outcome,
	    ctx->created, ctx->warnings, nsucc, ms, why ? " reason: " : "", why ? ctx->reason : "");
}

/* TEMPFAIL or PERMFAIL: the item's own failure, counted; if even writing
 * its ticket or reason fails (a machine fault), it is retried as one. */
static void
stage_failed(struct stage *st, struct stage_ctx *ctx, enum stage_rc rc, int64_t t0)
{
	const struct step *step = &st->tpl->steps[st->idx];
	struct item *it = ctx->item;
	long long attempt = ticket_get_ll(&it->ticket, "attempt", 0) + 1;
	bool last = rc == STAGE_PERMFAIL || attempt >= st->conf.max_attempts;

	if (ctx->reason[0] == '\0')
		snprintf(ctx->reason, sizeof(ctx->reason), "step %s failed (%s, no reason given)",
			 step->name, rc == STAGE_PERMFAIL ? "permanently" : "temporarily");
	if (last && !ctx->results_written)
		result_append(&st->spool, &it->ticket, step->name, st->idx, 0, 1, RO_FAILED,
			      ctx->reason);
	if (item_fail(st->here, it, rc == STAGE_TEMPFAIL, st->conf.max_attempts,
		      st->conf.retry_delay, ctx->reason) < 0) {
		stage_fault_retry(st, it, ctx->reason);
		return;
	}
	log_outcome(ctx, last ? "failed" : "retry", 0, (long long)(now_ms_mono() - t0));
	if (!ctx->recorded)
		record_step(ctx, st->here->label, last ? "failed" : "retry",
			    (long long)(now_ms_mono() - t0));
}

/* STAGE_DECLINED: back to new/ untouched, not claimed again by this
 * process for STAGE_DECLINE_S (the stage's other workers take it). */
static void
stage_decline(struct stage *st, struct item *it, const char *why)
{
	log_debug("%s: declined (%s): left to the other workers", it->path, why);
	deferred_add(st, it->id, now_s_real() + STAGE_DECLINE_S);
	if (item_giveback(st->here, it) < 0)
		heal_add_item(&st->heals, HEAL_RETURN, st->here, it);
	stage_status(st, NULL);
}

/* One step of a claimed item; returns the step it is carried on to, with
 * *next claimed there, or -1. */
static int
stage_item(struct stage *st, struct item *it, struct item *next)
{
	const struct step *step = &st->tpl->steps[st->idx];
	struct successor *succ = xcalloc(st->tpl->nsteps, sizeof(*succ));
	struct stage_ctx ctx = {
		.conf = &st->conf,
		.tpl = st->tpl,
		.step = step,
		.step_idx = st->idx,
		.spool = &st->spool,
		.item = it,
		.ticket = &it->ticket,
		.carried = st->idx != st->home_idx,
	};
	int64_t t0 = now_ms_mono();
	unsigned long long written = outfile_written();
	struct stat sst;
	size_t nsucc;
	enum stage_rc rc;
	int err = 0, j = -1;

	ctx.site = conf_site(&st->conf, ticket_get(&it->ticket, "site") ?: "");
	if (stat(ticket_get(&it->ticket, "src") ?: "", &sst) == 0)
		ctx.bytes_in = (long long)sst.st_size; /* the original's size, for the record */
	trace_note('C', it->id, st->idx);
	stage_status(st, it->id);
	outfile_tag_item(it->id, it->dirfd);
	nsucc = stage_successors(st, it, succ, &err);
	if (err == 0) {
		rc = stage_run_ops(st, &ctx, nsucc);
		if (rc == STAGE_OK)
			rc = stage_queue_callbacks(st, &ctx);
	} else if ((rc = stage_errno_rc(err, "open a successor stage")) != STAGE_FAULT) {
		snprintf(ctx.reason, sizeof(ctx.reason), "cannot open a successor stage: %s",
			 strerror(err));
		rc = STAGE_TEMPFAIL; /* a folder of the spool, never the item's fault */
	} else {
		snprintf(ctx.reason, sizeof(ctx.reason), "cannot open a successor stage: %s",
			 strerror(err));
	}
	ctx.bytes_out = (long long)(outfile_written() - written);
	const char *origin = ticket_get(&it->ticket, "origin") ?: "-";
	long long ms;

	if (rc == STAGE_STOPPED) {
		log_info("%s %s stopped before it was done: back to new/ (%s)", origin, it->id,
			 ctx.reason);
		if (item_unclaim(st->here, it) < 0 && item_giveback(st->here, it) < 0)
			log_warnx("%s: left in cur/, recovery will return it", it->path);
		st->stop = true;
		stage_status(st, NULL);
		goto out;
	}
	if (rc == STAGE_FAULT) {
		stage_fault_retry(st, it, ctx.reason);
		stage_status(st, NULL);
		goto out;
	}
	if (rc == STAGE_DECLINED) {
		stage_decline(st, it, ctx.reason);
		goto out;
	}
	if (ctx.covered) /* the steps below were done with this one */
		nsucc = 0;
	if (rc == STAGE_OK) {
		enum result_outcome o = ctx.warnings  ? RO_WARNING
					: ctx.skipped ? RO_SKIPPED
						      : RO_OK;

		/* the line is what the item's origin waits for: one that cannot
		 * be written (a full disk...) stops the commit, and the step
		 * is redone once it can */
		if (result_append(&st->spool, &it->ticket, step->name, st->idx, ctx.created,
				  ctx.warnings, o, ctx.warnings ? ctx.reason : "") < 0) {
			int e = errno;

			snprintf(ctx.reason, sizeof(ctx.reason), "cannot write its result line: %s",
				 strerror(e));
			if (errno_is_machine_fault(e)) {
				fault_note_errno(e, "write a result line");
				stage_fault_retry(st, it, ctx.reason);
				stage_status(st, NULL);
			} else {
				stage_failed(st, &ctx, STAGE_TEMPFAIL, t0);
			}
			goto out;
		}
		/* the record before the commit, as the result line: a kill after
		 * the commit must not lose it (a step redone is recorded again,
		 * it ran twice) */
		ms = (long long)(now_ms_mono() - t0);
		record_step(&ctx, st->here->label, result_outcome_name(o), ms);
		j = stage_hand_on(st, it, succ, nsucc, next);
		log_outcome(&ctx, result_outcome_name(o), nsucc, ms);
	} else {
		stage_failed(st, &ctx, rc, t0);
	}
	st->processed++;
	stage_status_done(st);
out:
	for (size_t k = 0; k < st->tpl->nsteps; k++)
		ticket_free(&succ[k].ticket);
	free(succ);
	return j;
}

/* A claimed item's step, then each step this process carries it on to
 * (tmcwatch-spool(5), Carrying an item on): every step keeps its own
 * stage folder, result line, record, callbacks, log line and slot. */
static void
stage_run_item(struct stage *st, struct item *it)
{
	struct item next = {.dirfd = -1, .lockfd = -1};
	int j = stage_item(st, it, &next);

	while (j >= 0) {
		outfile_tag_item(NULL, -1);
		item_release(it);
		*it = next;
		st->idx = j;
		st->here = successor_dir(st, j); /* opened by stage_successors */
		log_set_stage(st->here->label);
		j = stage_item(st, it, &next);
	}
	st->idx = st->home_idx;
	st->here = &st->sd;
	log_set_stage(st->sd.label);
}

static struct deferred *
deferred_find(struct stage *st, const char *id)
{
	for (size_t i = 0; i < st->ndeferred; i++)
		if (strcmp(st->deferred[i].id, id) == 0)
			return &st->deferred[i];
	return NULL;
}

static void
deferred_add(struct stage *st, const char *id, int64_t due)
{
	struct deferred *d = deferred_find(st, id);

	if (d == NULL) {
		st->deferred =
			xreallocarray(st->deferred, st->ndeferred + 1, sizeof(*st->deferred));
		d = &st->deferred[st->ndeferred++];
		snprintf(d->id, sizeof(d->id), "%s", id);
	}
	d->due_s = due;
	if (st->due_s == 0 || due < st->due_s)
		st->due_s = due;
}

/* Forget the items that are due; st->due_s becomes the next one's time. */
static void
deferred_prune(struct stage *st, int64_t now)
{
	size_t k = 0;

	st->due_s = 0;
	for (size_t i = 0; i < st->ndeferred; i++) {
		if (st->deferred[i].due_s <= now)
			continue;
		st->deferred[k++] = st->deferred[i];
		if (st->due_s == 0 || st->deferred[i].due_s < st->due_s)
			st->due_s = st->deferred[i].due_s;
	}
	st->ndeferred = k;
}

static void
stage_take(struct stage *st, const char *id)
{
	struct item it = {.dirfd = -1, .lockfd = -1};
	struct deferred *d = deferred_find(st, id);
	int64_t due = 0;

	if (d && d->due_s > now_s_real())
		return;
	switch (item_claim(&st->sd, id, &it, &due)) {
	case -1: /* a machine fault: the inbox must not forget the item */
		if (errno_is_machine_fault(errno))
			deferred_add(st, id, now_s_real() + stage_fault_delay(st));
		break;
	case 1:
		if (item_committed(&it)) { /* a crash after the commit: only deliver */
			if (item_deliver(&st->sd, &it) < 0)
				heal_add_item(&st->heals, HEAL_DELIVER, &st->sd, &it);
		} else {
			stage_run_item(st, &it);
			outfile_tag_item(NULL, -1); /* its folder is closed below */
		}
		item_release(&it);
		break;
	case 2: deferred_add(st, id, due); break;
	default: break;
	}
}

/* ms until the next deferred item, heal or rescan is due; -1 none */
static int
stage_timeout(struct stage *st)
{
	int64_t now = now_ms_mono(), t = -1,
		due[3] = {
			st->due_s ? now + (st->due_s - now_s_real()) * 1000 : 0,
			heal_due_ms(&st->heals),
			st->rescan_ms,
		};

	for (int i = 0; i < 3; i++)
		if (due[i] && (t < 0 || due[i] - now < t))
			t = due[i] - now > 0 ? due[i] - now : 0;
	return t > INT32_MAX ? INT32_MAX : (int)t;
}

/* Refill the inbox from new/; a machine fault (no descriptor to read the
 * folder with) is retried in a second instead of ending the program. */
static int
stage_scan(struct stage *st)
{
	if (inbox_scan(&st->inbox, &st->sd) >= 0)
		return 0;
	if (!errno_is_machine_fault(errno))
		return -1;
	fault_note_errno(errno, "read new/");
	st->rescan_ms = now_ms_mono() + 1000;
	return 0;
}

static int
stage_wait(struct stage *st)
{
	struct pollfd pfd[2] = {{st->inbox.ifd, POLLIN, 0}, {st->sigfd, POLLIN, 0}};
	bool scan = false;

	stage_status_flush(st);
	if (poll(pfd, 2, stage_timeout(st)) < 0 && errno != EINTR)
		fatal("poll");
	if (pfd[1].revents)
		stage_read_signals(st);
	if (st->heals.n && heal_due_ms(&st->heals) <= now_ms_mono() && heal_run(&st->heals))
		st->fault_delay_s = 0;
	if (st->rescan_ms && now_ms_mono() >= st->rescan_ms) {
		st->rescan_ms = 0;
		scan = true;
	}
	if (st->due_s && now_s_real() >= st->due_s) {
		deferred_prune(st, now_s_real());
		scan = true;
	}
	if (!scan && pfd[0].revents && inbox_read_events(&st->inbox))
		scan = true;
	return scan ? stage_scan(st) : 0;
}

/* Does a step this process may run (ours, or one it carries items on to)
 * have callbacks? Then the outbox is opened at start. */
static bool
stage_has_callbacks(const struct stage *st)
{
	for (size_t j = (size_t)st->idx; j < st->tpl->nsteps; j++)
		if (st->tpl->steps[j].ncallback > 0 && (j == (size_t)st->idx || st->carry))
			return true;
	return false;
}

static void
stage_setup(struct stage *st)
{
	const struct step *step = &st->tpl->steps[st->idx];

	if (spool_open(&st->spool, st->conf.spool_dir, false) < 0)
		exit(69); /* EX_UNAVAILABLE */
	fault_init(st->spool.fd, st->ops->name);
	if (stage_open(&st->sd, &st->spool, st->tpl->name, st->idx, step->name, true) < 0)
		exit(69);
	log_set_stage(st->sd.label);
	stage_set_template(&st->succ, &st->spool, st->tpl);
	st->here = &st->sd;
	st->carry = st->ops->follow && getenv("TMC_NO_FOLLOW") == NULL;
	if (stage_has_callbacks(st)) {
		if (outbox_open(&st->outbox, &st->spool, false) < 0)
			exit(69);
		st->has_outbox = true;
	}
	st->sigfd = signals_open();
	if (st->ops->init && st->ops->init(&st->conf) < 0)
		exit(70);
	stage_recover(&st->sd, st->conf.max_attempts);
	if (inbox_open(&st->inbox, &st->sd) < 0 || stage_scan(st) < 0)
		exit(69);
	stage_status_open(st);
}

static void
stage_teardown(struct stage *st)
{
	if (st->ops->fini)
		st->ops->fini();
	inbox_close(&st->inbox);
	stage_set_close(&st->succ);
	if (st->has_outbox)
		stage_close(&st->outbox);
	free(st->deferred);
	heal_free(&st->heals);
	stage_close(&st->sd);
	spool_close(&st->spool);
	if (st->statusfd >= 0)
		close(st->statusfd);
	close(st->sigfd);
	conf_template_free(&st->inl);
	conf_free(&st->conf);
}

/* ops->ready says no: claim nothing, look again in a second */
static bool
stage_ready(struct stage *st)
{
	int64_t again;

	if (st->ops->ready == NULL || st->ops->ready(st->tpl, st->idx))
		return true;
	again = now_ms_mono() + 1000;
	if (st->rescan_ms == 0 || st->rescan_ms > again)
		st->rescan_ms = again;
	return false;
}

int
stage_main(int argc, char **argv, const struct stage_ops *ops)
{
	struct stage st = {.ops = ops, .statusfd = -1, .sigfd = -1};
	const char *id;

	stage_step_args(&st, argc, argv);
	stage_setup(&st);
	stage_current = &st;
	log_info("started");
	while (!st.stop) {
		while (!st.stop && stage_ready(&st) && (id = inbox_next(&st.inbox)) != NULL) {
			stage_take(&st, id);
			stage_read_signals(&st);
		}
		if (!st.stop && stage_wait(&st) < 0)
			break;
	}
	stage_status_flush(&st);
	log_info("stopping after %lld items", st.processed);
	stage_current = NULL;
	stage_teardown(&st);
	return 0;
}

int
stage_output_path(const struct stage_ctx *ctx, const char *ext, char *buf, size_t len, char *reason,
		  size_t rlen)
{
	const char *root = ticket_get(ctx->ticket, "root");
	const char *tail = ticket_get(ctx->ticket, "tail") ?: "";
	const char *out = ticket_get(ctx->ticket, "out") ?: ticket_get(ctx->ticket, "rel");
	char *dot;

	if (root == NULL || out == NULL || *out == '\0') {
		snprintf(reason, rlen, "ticket has no output root or name");
		return -1;
	}
	if (path_check_rel(ctx->step->path_head, reason, rlen) < 0 ||
	    path_check_rel(tail, reason, rlen) < 0 || path_check_rel(out, reason, rlen) < 0)
		return -1;
	if (path_join(buf, len, root, ctx->step->path_head, tail, out) < 0) {
		snprintf(reason, rlen, "output path too long");
		return -1;
	}
	dot = strrchr(buf, '.');
	if (ext && dot && strchr(dot, '/') == NULL)
		*dot = '\0';
	if (ext && (strlen(buf) + strlen(ext) + 2 > len)) {
		snprintf(reason, rlen, "output path too long");
		return -1;
	}
	if (ext)
		strcat(strcat(buf, "."), ext);
	return 0;
}

const char *
stage_source_path(const struct stage_ctx *ctx)
{
	return ticket_get(ctx->ticket, "src");
}

bool
stage_overwrite(const struct stage_ctx *ctx)
{
	const char *o = ticket_get(ctx->ticket, "overwrite");

	if (o && *o)
		return strcmp(o, "1") == 0;
	return ctx->step->overwrite;
}
