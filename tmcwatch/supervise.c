/*
 * supervise.c - the supervisor's main loop: signals from a signalfd, one
 * handler each; children started when due; every second, time limits and
 * the systemd watchdog. SIGTERM/SIGINT: children get SIGTERM (they finish
 * the item in hand), stragglers SIGKILL after STOP_GRACE_MS, then every
 * stage is recovered, so an item is finished or back in new/, never lost.
 * SIGHUP: the log file is reopened (logrotate); if config.json or
 * template.json changed, the configuration is reloaded (one with errors is
 * refused and logged, and the running one stays) and the children are
 * replaced, each after the item in hand; if not, the children only reopen
 * their logs, so a daily rotation restarts nothing.
 * The children that keep dying are kept in run/dying (spool/dying.c) for
 * status and /healthz, rewritten when that set changes; state/metrics.prom
 * is written from the tick (metrics.c). Retention: the tick starts
 * `tmcwatch sweep` as a process of its own at start and every day
 * (sweep.c), so a large folder never holds up the loop.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/signalfd.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include "tmcwatch.h"

#define STOP_GRACE_MS 30000

struct sup {
	const struct opts *o;
	struct conf *conf;
	struct spool *sp;
	struct children cs;
	int sigfd;
	bool stopping;
	int64_t kill_at_ms;
	char *conf_text, *tpl_text; /* the files as last loaded, to see a change */
	bool dying_dirty;           /* run/dying must be rewritten */
	int64_t sweep_at_ms;        /* next retention sweep (monotonic) */
	struct inlines inl;         /* inline templates (inline.c) */
};

#define SWEEP_EVERY_MS (24 * 3600 * 1000LL)

static char *
read_text(const char *path)
{
	return file_read_at(AT_FDCWD, path, 64 << 20, NULL) ?: xstrdup("");
}

/* Did either file change since the running configuration was loaded? */
static bool
conf_changed(struct sup *s)
{
	char *c = read_text(s->conf->path), *t = read_text(s->conf->tpl_path);
	bool changed = strcmp(c, s->conf_text) != 0 || strcmp(t, s->tpl_text) != 0;

	free(s->conf_text);
	free(s->tpl_text);
	s->conf_text = c;
	s->tpl_text = t;
	return changed;
}

static void
recover_stage(struct sup *s, const struct template *tpl, int j, bool all)
{
	struct stage_dir sd;

	if (stage_open(&sd, s->sp, tpl->name, j, tpl->steps[j].name, true) < 0)
		return;
	if (stage_recover(&sd, s->conf->max_attempts) > 0 && !all)
		log_info("%s: returned the dead worker's items to new/", sd.label);
	stage_close(&sd);
}

static void
recover_template(struct sup *s, const struct template *tpl, bool all)
{
	for (size_t j = 0; j < tpl->nsteps; j++)
		recover_stage(s, tpl, (int)j, all);
}

static void
recover_all(struct sup *s)
{
	for (size_t t = 0; t < s->conf->ntemplates; t++)
		recover_template(s, &s->conf->templates[t], true);
	for (size_t t = 0; t < s->inl.n; t++)
		if (!s->inl.v[t].bad)
			recover_template(s, &s->inl.v[t].tpl, true);
}

static void
on_death(struct child *c, void *arg)
{
	struct sup *s = arg;
	const struct template *tpl = NULL;

	workers_forget(s->sp, c->pid);
	if (c->spec.tpl_idx >= 0 && !c->retired && (size_t)c->spec.tpl_idx < s->conf->ntemplates)
		tpl = &s->conf->templates[c->spec.tpl_idx];
	else if (c->spec.tpl_idx < 0 && c->spec.tpl_name)
		tpl = inline_find(&s->inl, c->spec.tpl_name);
	/* its claim is in its own stage; a handoff it committed but did not
	 * finish is in a later stage's tmp/ */
	if (tpl)
		recover_template(s, tpl, false);
}

/* run/dying: the children that keep dying now (retired ones are gone). */
static void
dying_sync(struct sup *s)
{
	struct dying_rec *v = xcalloc(s->cs.n + 1, sizeof(*v));
	size_t n = 0;

	if (children_settle(&s->cs, now_ms_mono()))
		s->dying_dirty = true;
	if (!s->dying_dirty) {
		free(v);
		return;
	}
	for (size_t i = 0; i < s->cs.n; i++) {
		const struct child *c = &s->cs.c[i];

		if (c->dying_since == 0 || c->retired)
			continue;
		snprintf(v[n].label, sizeof(v[n].label), "%s", c->spec.label);
		v[n].since = c->dying_since;
		v[n].deaths = c->quick_deaths;
		snprintf(v[n].cause, sizeof(v[n].cause), "%s", c->last_death);
		n++;
	}
	if (dying_write(s->sp->fd, v, n) == 0)
		s->dying_dirty = false;
	free(v);
}

static void
reload(struct sup *s)
{
	struct conf_errors errs = {0};
	struct conf nc = {0};
	struct plan p;
	size_t retiring = 0, started;

	if (s->conf->log_file)
		log_open_file(s->conf->log_file);
	if (!conf_changed(s)) {
		log_info("SIGHUP: configuration unchanged; logs reopened");
		children_signal(&s->cs, SIGHUP);
		return;
	}
	if (conf_load(&nc, s->conf->path, s->o->tpl_path, &errs) + conf_check(&nc, &errs) > 0) {
		for (size_t i = 0; i < errs.n; i++)
			log_warnx("%s", errs.msg[i]);
		log_warnx("reload refused: the new configuration has %zu errors; the running one "
			  "stays",
			  errs.n);
		conf_errors_free(&errs);
		conf_free(&nc);
		return;
	}
	if (strcmp(nc.spool_dir, s->conf->spool_dir) != 0)
		log_warnx("spool_dir changed to %s: takes effect at the next start", nc.spool_dir);
	for (size_t i = 0; i < s->cs.n; i++) {
		retiring += !s->cs.c[i].retired && s->cs.c[i].pid > 0;
		s->cs.c[i].retired = true;
	}
	children_signal(&s->cs, SIGTERM);
	conf_free(s->conf);
	*s->conf = nc;
	if (s->conf->log_file)
		log_open_file(s->conf->log_file);
	(s->o->worker ? plan_build_worker : plan_build)(&p, s->conf);
	plan_log_missing(&p);
	started = p.n;
	children_adopt(&s->cs, &p);
	plan_free(&p);
	/* the new set is counted, not new plus the old ones still finishing */
	log_info("configuration reloaded: %zu processes started, %zu old ones stop after "
		 "the item in hand",
		 started, retiring);
	sd_notify(0, "RELOADING=0\nREADY=1");
}

static void
begin_stop(struct sup *s)
{
	if (s->stopping)
		return;
	log_info("stopping: %zu children", children_alive(&s->cs));
	sd_notify(0, "STOPPING=1");
	s->stopping = true;
	s->kill_at_ms = now_ms_mono() + STOP_GRACE_MS;
	children_signal(&s->cs, SIGTERM);
}

static void
read_signals(struct sup *s)
{
	struct signalfd_siginfo si;

	while (read(s->sigfd, &si, sizeof(si)) == sizeof(si)) {
		switch (si.ssi_signo) {
		case SIGCHLD:
			children_reap(&s->cs, on_death, s);
			s->dying_dirty = true;
			break;
		case SIGHUP:
			sd_notify(0, "RELOADING=1");
			reload(s);
			break;
		default: begin_stop(s); break;
		}
	}
}

static void
check_timeout(const struct worker_status *ws, void *arg)
{
	struct sup *s = arg;
	long long now = now_ms_mono() / 1000;

	if (ws->item[0] == '\0')
		return;
	for (size_t i = 0; i < s->cs.n; i++) {
		struct child *c = &s->cs.c[i];

		if (c->pid != ws->pid || c->spec.timeout <= 0 ||
		    now - ws->start_s <= c->spec.timeout)
			continue;
		log_warnx("%s: item %s took more than %d s: killing pid %d", c->spec.label,
			  ws->item, c->spec.timeout, (int)c->pid);
		kill(c->pid, SIGKILL);
	}
}

static void
tick(struct sup *s)
{
	char status[128];

	if (s->stopping && now_ms_mono() >= s->kill_at_ms) {
		log_warnx("%zu children still running after %d s: SIGKILL", children_alive(&s->cs),
			  STOP_GRACE_MS / 1000);
		children_signal(&s->cs, SIGKILL);
		s->kill_at_ms = now_ms_mono() + 1000;
	}
	if (!s->stopping)
		workers_each(s->sp, check_timeout, s);
	dying_sync(s);
	if (!s->stopping) {
		inline_tick(&s->inl, s->conf, s->sp, &s->cs);
		metrics_tick(s->sp, s->conf);
	}
	if (!s->stopping && now_ms_mono() >= s->sweep_at_ms) {
		sweep_spawn(s->o);
		s->sweep_at_ms = now_ms_mono() + SWEEP_EVERY_MS;
	}
	snprintf(status, sizeof(status), "STATUS=%zu processes running\nWATCHDOG=1",
		 children_alive(&s->cs));
	sd_notify(0, status);
}

int
supervise_signals(void)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	if (sigprocmask(SIG_BLOCK, &set, NULL) < 0)
		return -1;
	return signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
}

int
supervise(const struct opts *o, struct conf *conf, struct spool *sp, int sigfd)
{
	struct sup s = {.o = o, .conf = conf, .sp = sp, .sigfd = sigfd, .dying_dirty = true};
	int64_t next_tick = 0, now, due;
	struct plan p;

	s.conf_text = read_text(conf->path);
	s.tpl_text = read_text(conf->tpl_path);
	recover_all(&s);
	metrics_start(sp);
	(o->worker ? plan_build_worker : plan_build)(&p, conf);
	plan_log_missing(&p);
	children_adopt(&s.cs, &p);
	plan_free(&p);
	if (s.cs.n == 0) {
		/* tmc-jobs and tmc-notify are always planned: none means no
		 * program is installed where tmcwatch looked */
		log_warnx("no stage program in %s (%s): nothing to run", libexec_dir(),
			  libexec_source());
		children_free(&s.cs);
		close(s.sigfd);
		free(s.conf_text);
		free(s.tpl_text);
		return EX_UNAVAILABLE;
	}
	sd_notify(0, "READY=1");
	log_info("running: %zu processes, spool %s", s.cs.n, sp->path);
	while (!s.stopping || children_alive(&s.cs) > 0) {
		now = now_ms_mono();
		if (!s.stopping)
			children_start_due(&s.cs, now);
		if (now >= next_tick) {
			tick(&s);
			next_tick = now + 1000;
		}
		due = children_next_due(&s.cs);
		int timeout = (int)(next_tick - now);
		if (!s.stopping && due && due - now < timeout)
			timeout = due > now ? (int)(due - now) : 0;
		struct pollfd pfd = {s.sigfd, POLLIN, 0};
		if (poll(&pfd, 1, timeout) < 0 && errno != EINTR)
			fatal("poll");
		read_signals(&s);
	}
	recover_all(&s);
	inline_free(&s.inl);
	children_free(&s.cs);
	metrics_free();
	dying_write(sp->fd, NULL, 0);
	free(s.conf_text);
	free(s.tpl_text);
	close(s.sigfd);
	log_info("stopped");
	return 0;
}
