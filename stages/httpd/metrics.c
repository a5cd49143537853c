/*
 * metrics.c - GET /metrics in Prometheus text format 0.0.4: what
 * `tmcwatch status` counts, read from the spool at each scrape (folders
 * are the truth; nothing is cached), plus this process's own counters.
 *
 *   tmc_stage_items{template,step,state=waiting|working|failed}  new/ cur/ err/
 *                                 (spool_census(), as `tmcwatch status`)
 *   tmc_items{state}              the same summed over every stage
 *   tmc_jobs{state=waiting|running|done|failed}   job files in req/ proc/ done/ err/
 *   tmc_callbacks{state=waiting|failed}           outbox/new+cur, outbox/err
 *   tmc_daemon_up                 1 when tmcwatch holds its pid file lock
 *   tmc_fault{kind}, tmc_fault_since_seconds{kind}   healthz.c
 *   tmc_http_requests_total{code} and tmc_http_jobs_total{result}  since start
 */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "httpd.h"

/* Job files (a seq, no ".stat"/".file"/... suffix) in parent/name */
static long
count_jobs(int parent, const char *name)
{
	int fd = openat(parent, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	struct dirent *de;
	long n = 0;
	DIR *d;

	if (fd < 0 || (d = fdopendir(fd)) == NULL) {
		if (fd >= 0)
			close(fd);
		return 0;
	}
	while ((de = readdir(d)) != NULL)
		if (de->d_name[0] != '.' && seq_valid(de->d_name))
			n++;
	closedir(d);
	return n;
}

/* A label value: backslash, double quote and newline escaped */
static void
label(struct strbuf *out, const char *s)
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

/* Every stage's new/ cur/ err/ as counted by spool_census(), the walk
 * `tmcwatch status` shares */
static void
stages_write(const struct census *c, struct strbuf *out, long totals[3])
{
	static const char *state[3] = {"waiting", "working", "failed"};

	for (size_t i = 0; i < c->nstages; i++) {
		const struct census_stage *cs = &c->stages[i];
		long n[3] = {cs->waiting, cs->working, cs->failed};

		for (int k = 0; k < 3; k++) {
			totals[k] += n[k];
			sb_adds(out, "tmc_stage_items{template=\"");
			label(out, cs->tpl);
			sb_adds(out, "\",step=\"");
			label(out, cs->step);
			sb_printf(out, "\",state=\"%s\"} %ld\n", state[k], n[k]);
		}
	}
}

static void
help(struct strbuf *out, const char *name, const char *type, const char *text)
{
	sb_printf(out, "# HELP %s %s\n# TYPE %s %s\n", name, text, name, type);
}

void
metrics_write(struct httpd *h, struct strbuf *out)
{
	static const char *classes[6] = {"other", "1xx", "2xx", "3xx", "4xx", "5xx"};
	int fd = h->spool.fd;
	long totals[3] = {0};
	struct census c;

	help(out, "tmc_stage_items", "gauge",
	     "Items in one stage folder: new/ (waiting), cur/ (working), err/ (failed).");
	spool_census(&h->spool, 0, &c);
	stages_write(&c, out, totals);
	help(out, "tmc_items", "gauge", "Items over all stages by state.");
	sb_printf(out,
	          "tmc_items{state=\"waiting\"} %ld\ntmc_items{state=\"working\"} %ld\n"
	          "tmc_items{state=\"failed\"} %ld\n",
	          totals[0], totals[1], totals[2]);
	help(out, "tmc_jobs", "gauge",
	     "Job files in req/ (waiting), proc/ (running), done/, err/ (failed).");
	sb_printf(out,
	          "tmc_jobs{state=\"waiting\"} %ld\ntmc_jobs{state=\"running\"} %ld\n"
	          "tmc_jobs{state=\"done\"} %ld\ntmc_jobs{state=\"failed\"} %ld\n",
	          count_jobs(fd, "req"), count_jobs(fd, "proc"),
	          count_jobs(fd, "done"), count_jobs(fd, "err"));
	help(out, "tmc_callbacks", "gauge",
	     "Job callbacks waiting in the outbox or failed for good.");
	sb_printf(
	    out,
	    "tmc_callbacks{state=\"waiting\"} %ld\ntmc_callbacks{state=\"failed\"} %ld\n",
	    c.outbox.waiting + c.outbox.working, c.outbox.failed);
	census_free(&c);
	help(out, "tmc_daemon_up", "gauge", "1 when tmcwatch runs on this spool.");
	sb_printf(out, "tmc_daemon_up %d\n", spool_daemon_running(fd) ? 1 : 0);
	health_metrics(h, out);
	help(out, "tmc_http_requests_total", "counter",
	     "HTTP requests answered by tmc-httpd, by status class.");
	for (int i = 0; i < 6; i++)
		sb_printf(out, "tmc_http_requests_total{code=\"%s\"} %llu\n", classes[i],
		          h->requests[i]);
	help(out, "tmc_http_jobs_total", "counter",
	     "act=convert outcomes since tmc-httpd started.");
	sb_printf(out, "tmc_http_jobs_total{result=\"success\"} %llu\n"
		       "tmc_http_jobs_total{result=\"duplicated\"} %llu\n"
		       "tmc_http_jobs_total{result=\"replayed\"} %llu\n"
		       "tmc_http_jobs_total{result=\"rejected\"} %llu\n",
		  h->accepted, h->duplicated, h->replayed, h->rejected);
}
