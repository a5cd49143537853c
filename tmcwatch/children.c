/*
 * children.c - the supervisor's children: fork+exec, reap, back off.
 *
 * A child is started with the signal mask it would have had (the
 * supervisor blocks signals to read them from a signalfd). A child that
 * dies within 10 s of its start counts as a quick death: the restart delay
 * doubles from 1 s up to 60 s and after 5 in a row it is reported as
 * "keeps dying" (s6 and Postfix do the same); one that ran longer is
 * restarted after 1 s. Retired children (from an old configuration) are
 * never restarted.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tmcwatch.h"

#define QUICK_MS 10000
#define MAX_DELAY_MS 60000

void
children_adopt(struct children *cs, struct plan *p)
{
	cs->c = xreallocarray(cs->c, cs->n + p->n, sizeof(*cs->c));
	for (size_t i = 0; i < p->n; i++)
		cs->c[cs->n++] = (struct child){.spec = p->rows[i], .restart_at_ms = 1};
	free(p->rows);
	p->rows = NULL;
	p->n = 0;
}

static void
child_spawn(struct child *c, int64_t now)
{
	sigset_t empty;
	pid_t pid;

	pid = fork();
	if (pid < 0) {
		log_warn("fork for %s", c->spec.label);
		c->restart_at_ms = now + 1000;
		return;
	}
	if (pid == 0) {
		/* a supervisor killed with -9 takes its children with it, so a new
		 * one never finds orphans working beside its own */
		if (prctl(PR_SET_PDEATHSIG, SIGTERM) < 0 || getppid() == 1)
			_exit(EX_UNAVAILABLE);
		sigemptyset(&empty);
		sigprocmask(SIG_SETMASK, &empty, NULL);
		execv(c->spec.program, c->spec.argv);
		log_warn("exec %s", c->spec.program);
		_exit(EX_UNAVAILABLE);
	}
	c->pid = pid;
	c->started_ms = now;
	c->restart_at_ms = 0;
	log_debug("started %s: pid %d", c->spec.label, (int)pid);
}

void
children_start_due(struct children *cs, int64_t now)
{
	for (size_t i = 0; i < cs->n; i++) {
		struct child *c = &cs->c[i];

		if (c->pid == 0 && !c->retired && c->restart_at_ms && c->restart_at_ms <= now)
			child_spawn(c, now);
	}
}

/* TMC_RESTART_DELAY_MS shortens the base delay for tests (tmcwatch(8)). */
static int64_t
restart_base_ms(void)
{
	const char *e = getenv("TMC_RESTART_DELAY_MS");

	return e && atoi(e) > 0 ? atoi(e) : 1000;
}

static void
child_died(struct child *c, int status, int64_t now)
{
	int64_t delay = restart_base_ms();

	if (WIFSIGNALED(status))
		snprintf(c->last_death, sizeof(c->last_death), "killed by signal %d",
			 WTERMSIG(status));
	else
		snprintf(c->last_death, sizeof(c->last_death), "exited %d", WEXITSTATUS(status));
	if (WIFSIGNALED(status) || WEXITSTATUS(status) != 0)
		log_warnx("%s (pid %d) %s", c->spec.label, (int)c->pid, c->last_death);
	else
		log_debug("%s (pid %d) exited 0", c->spec.label, (int)c->pid);
	c->pid = 0;
	if (now - c->started_ms < QUICK_MS) {
		c->quick_deaths++;
		for (int i = 1; i < c->quick_deaths && delay < MAX_DELAY_MS; i++)
			delay *= 2;
		if (delay > MAX_DELAY_MS)
			delay = MAX_DELAY_MS;
	} else {
		c->quick_deaths = 0;
		c->dying_since = 0;
	}
	if (c->quick_deaths >= 5 && c->dying_since == 0)
		c->dying_since = now_s_real();
	if (c->quick_deaths >= 5)
		log_warnx("%s keeps dying (%d times in a row within 10 s of start); next try in "
			  "%lld ms",
			  c->spec.label, c->quick_deaths, (long long)delay);
	c->restart_at_ms = now + delay;
}

bool
children_settle(struct children *cs, int64_t now)
{
	bool changed = false;

	for (size_t i = 0; i < cs->n; i++) {
		struct child *c = &cs->c[i];

		if (c->pid != 0 && c->quick_deaths > 0 && now - c->started_ms >= QUICK_MS) {
			if (c->dying_since)
				log_info("%s runs again (pid %d) after %d quick deaths",
					 c->spec.label, (int)c->pid, c->quick_deaths);
			changed |= c->dying_since != 0;
			c->quick_deaths = 0;
			c->dying_since = 0;
		}
	}
	return changed;
}

/* Drop retired children that have exited. */
static void
children_compact(struct children *cs)
{
	size_t k = 0;

	for (size_t i = 0; i < cs->n; i++) {
		if (cs->c[i].retired && cs->c[i].pid == 0) {
			struct plan p = {.rows = xmalloc(sizeof(*p.rows)), .n = 1};

			p.rows[0] = cs->c[i].spec;
			plan_free(&p);
			continue;
		}
		cs->c[k++] = cs->c[i];
	}
	cs->n = k;
}

void
children_reap(struct children *cs, void (*on_death)(struct child *, void *), void *arg)
{
	int status;
	pid_t pid;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		for (size_t i = 0; i < cs->n; i++) {
			if (cs->c[i].pid != pid)
				continue;
			if (on_death)
				on_death(&cs->c[i], arg);
			child_died(&cs->c[i], status, now_ms_mono());
			break;
		}
	}
	children_compact(cs);
}

void
children_signal(struct children *cs, int sig)
{
	for (size_t i = 0; i < cs->n; i++)
		if (cs->c[i].pid > 0 && kill(cs->c[i].pid, sig) < 0 && errno != ESRCH)
			log_warn("kill %d %s", sig, cs->c[i].spec.label);
}

size_t
children_alive(const struct children *cs)
{
	size_t n = 0;

	for (size_t i = 0; i < cs->n; i++)
		n += cs->c[i].pid > 0;
	return n;
}

int64_t
children_next_due(const struct children *cs)
{
	int64_t next = 0;

	for (size_t i = 0; i < cs->n; i++) {
		const struct child *c = &cs->c[i];

		if (c->pid == 0 && !c->retired && c->restart_at_ms &&
		    (next == 0 || c->restart_at_ms < next))
			next = c->restart_at_ms;
	}
	return next;
}

void
children_free(struct children *cs)
{
	struct plan p = {.rows = xcalloc(cs->n, sizeof(*p.rows)), .n = cs->n};

	for (size_t i = 0; i < cs->n; i++)
		p.rows[i] = cs->c[i].spec;
	plan_free(&p);
	xfree(&cs->c);
	cs->n = 0;
}
