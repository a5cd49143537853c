/*
 * prom.c - the spool's gauges in Prometheus text format 0.0.4, written the
 * same way by the supervisor (state/metrics.prom, tmcwatch/metrics.c) and
 * by tmc-httpd's /metrics, which computes them afresh at each scrape:
 *
 *   tmc_stage_items{template,step,state=waiting|working|failed}  new/ cur/ err/
 *   tmc_stage_oldest_waiting_seconds{template,step}   age of the oldest in new/
 *   tmc_items{state}                       the same summed over every stage
 *   tmc_jobs{state=waiting|running|done|failed}   job files in req/ proc/ done/ err/
 *   tmc_callbacks{state=waiting|failed}    outbox/new+cur, outbox/err
 *   tmc_daemon_up                          1 while tmcwatch holds its pid file
 *   tmc_fault{kind}, tmc_fault_since_seconds{kind}   spool_health()
 *
 * Counts come from spool_census(), health from spool_health(): the answers
 * `tmcwatch status` gives.
 */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "spool.h"

static const char *const families[] = {
	"tmc_stage_items", "tmc_stage_oldest_waiting_seconds",
	"tmc_items",       "tmc_jobs",
	"tmc_callbacks",   "tmc_daemon_up",
	"tmc_fault",       "tmc_fault_since_seconds",
};

static const char *const kinds[] = {
	"not-running", "disk-full",     "inodes-full", "read-only",   "io-error",
	"out-of-fds",  "out-of-memory", "watch-limit", "keeps-dying",
};
#define NKINDS (sizeof(kinds) / sizeof(*kinds))

bool
prom_spool_family(const char *name, size_t len)
{
	for (size_t i = 0; i < sizeof(families) / sizeof(*families); i++)
		if (strlen(families[i]) == len && strncmp(families[i], name, len) == 0)
			return true;
	return false;
}

void
prom_help(struct strbuf *out, const char *name, const char *type, const char *text)
{
	sb_printf(out, "# HELP %s %s\n# TYPE %s %s\n", name, text, name, type);
}

void
prom_label(struct strbuf *out, const char *s)
{
	for (; *s; s++) {
		if (*s == '\\' || *s == '"')
			sb_addc(out, '\\');
		if (*s == '\n')
			sb_adds(out, "\\n");
		else
			sb_addc(out, *s);
	}
}

static void
stage_labels(struct strbuf *out, const char *name, const struct census_stage *cs)
{
	sb_printf(out, "%s{template=\"", name);
	prom_label(out, cs->tpl);
	sb_adds(out, "\",step=\"");
	prom_label(out, cs->step);
	sb_addc(out, '"');
}

static void
stages_write(const struct census *c, struct strbuf *out)
{
	static const char *state[3] = {"waiting", "working", "failed"};
	int64_t now = now_s_real();
	long totals[3] = {0};

	prom_help(out, "tmc_stage_items", "gauge",
		  "Items in one stage folder: new/ (waiting), cur/ (working), err/ (failed).");
	for (size_t i = 0; i < c->nstages; i++) {
		const struct census_stage *cs = &c->stages[i];
		long n[3] = {cs->waiting, cs->working, cs->failed};

		for (int k = 0; k < 3; k++) {
			totals[k] += n[k];
			stage_labels(out, "tmc_stage_items", cs);
			sb_printf(out, ",state=\"%s\"} %ld\n", state[k], n[k]);
		}
	}
	prom_help(out, "tmc_stage_oldest_waiting_seconds", "gauge",
		  "Age of the oldest item waiting in a stage's new/ (0 when none waits).");
	for (size_t i = 0; i < c->nstages; i++) {
		const struct census_stage *cs = &c->stages[i];
		int64_t age = cs->oldest_waiting ? now - cs->oldest_waiting : 0;

		stage_labels(out, "tmc_stage_oldest_waiting_seconds", cs);
		sb_printf(out, "} %lld\n", (long long)(age > 0 ? age : 0));
	}
	prom_help(out, "tmc_items", "gauge", "Items over all stages by state.");
	for (int k = 0; k < 3; k++)
		sb_printf(out, "tmc_items{state=\"%s\"} %ld\n", state[k], totals[k]);
}

static void
health_write(const struct spool_health *hl, struct strbuf *out)
{
	int64_t since[NKINDS] = {0};
	bool on[NKINDS] = {0};

	for (size_t i = 0; i < hl->n; i++)
		for (size_t k = 0; k < NKINDS; k++)
			if (strcmp(hl->c[i].kind, kinds[k]) == 0) {
				on[k] = true;
				if (hl->c[i].since > 0 && (!since[k] || hl->c[i].since < since[k]))
					since[k] = hl->c[i].since;
			}
	prom_help(out, "tmc_fault", "gauge",
		  "1 while a condition keeps items from moving (tmcwatch status shows the cause).");
	for (size_t k = 0; k < NKINDS; k++)
		sb_printf(out, "tmc_fault{kind=\"%s\"} %d\n", kinds[k], on[k] ? 1 : 0);
	prom_help(out, "tmc_fault_since_seconds", "gauge",
		  "Unix time a condition in force began, where known.");
	for (size_t k = 0; k < NKINDS; k++)
		if (on[k] && since[k])
			sb_printf(out, "tmc_fault_since_seconds{kind=\"%s\"} %lld\n", kinds[k],
				  (long long)since[k]);
}

void
prom_spool_gauges(const struct spool *sp, struct strbuf *out)
{
	struct spool_health hl;
	struct census c;

	spool_census(sp, 0, &c);
	stages_write(&c, out);
	prom_help(out, "tmc_jobs", "gauge",
		  "Job files in req/ (waiting), proc/ (running), done/, err/ (failed).");
	sb_printf(out,
		  "tmc_jobs{state=\"waiting\"} %ld\ntmc_jobs{state=\"running\"} %ld\n"
		  "tmc_jobs{state=\"done\"} %ld\ntmc_jobs{state=\"failed\"} %ld\n",
		  job_count_at(sp->fd, "req"), job_count_at(sp->fd, "proc"),
		  job_count_at(sp->fd, "done"), job_count_at(sp->fd, "err"));
	prom_help(out, "tmc_callbacks", "gauge",
		  "Job callbacks waiting in the outbox or failed for good.");
	sb_printf(out,
		  "tmc_callbacks{state=\"waiting\"} %ld\ntmc_callbacks{state=\"failed\"} %ld\n",
		  c.outbox.waiting + c.outbox.working, c.outbox.failed);
	census_free(&c);
	spool_health(sp, &hl);
	prom_help(out, "tmc_daemon_up", "gauge", "1 when tmcwatch runs on this spool.");
	sb_printf(out, "tmc_daemon_up %d\n", hl.daemon_running ? 1 : 0);
	health_write(&hl, out);
}
