/*
 * metrics.c - GET /metrics in Prometheus text format 0.0.4, three parts:
 *
 *  - the spool's gauges, computed at each scrape (spool/prom.c: stage,
 *    item, job and callback counts, the oldest waiting item's age,
 *    tmc_daemon_up, tmc_fault), so they are right while the daemon is down;
 *  - the daemon's counters and histograms, as the supervisor last wrote
 *    them to <spool>/state/metrics.prom (tmcwatch(8), METRICS): steps,
 *    files created, bytes, step durations, watches, callbacks. The gauge
 *    families of the first part are left out of it, so none is written
 *    twice; when the file is missing the part is empty;
 *  - this process's own counters:
 *      tmc_http_requests_total{code}, tmc_http_jobs_total{result}
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "httpd.h"

#define TEXTFILE_MAX (32 << 20)

/* The family a line of the text format is about: the sample's name, or the
 * name after "# HELP " / "# TYPE ". */
static bool
line_family(const char *line, size_t len, const char **name, size_t *nlen)
{
	if (len > 7 && (strncmp(line, "# HELP ", 7) == 0 || strncmp(line, "# TYPE ", 7) == 0)) {
		line += 7;
		len -= 7;
	} else if (len == 0 || line[0] == '#') {
		return false;
	}
	*name = line;
	for (*nlen = 0; *nlen < len && line[*nlen] != ' ' && line[*nlen] != '{'; (*nlen)++)
		;
	return true;
}

/* state/metrics.prom without the families we compute afresh */
static void
daemon_part(struct httpd *h, struct strbuf *out)
{
	size_t len, nlen;
	char *text = file_read_at(h->spool.fd, "state/metrics.prom", TEXTFILE_MAX, &len);
	const char *p, *end, *name;

	for (p = text; p && p < text + len; p = end + 1) {
		if ((end = memchr(p, '\n', (size_t)(text + len - p))) == NULL)
			break; /* the file is renamed into place whole: never half a line */
		if (line_family(p, (size_t)(end - p), &name, &nlen) &&
		    prom_spool_family(name, nlen))
			continue;
		sb_add(out, p, (size_t)(end - p) + 1);
	}
	free(text);
}

void
metrics_write(struct httpd *h, struct strbuf *out)
{
	static const char *classes[6] = {"other", "1xx", "2xx", "3xx", "4xx", "5xx"};

	prom_spool_gauges(&h->spool, out);
	daemon_part(h, out);
	prom_help(out, "tmc_http_requests_total", "counter",
		  "HTTP requests answered by tmc-httpd, by status class.");
	for (int i = 0; i < 6; i++)
		sb_printf(out, "tmc_http_requests_total{code=\"%s\"} %llu\n", classes[i],
			  h->requests[i]);
	prom_help(out, "tmc_http_jobs_total", "counter",
		  "act=convert outcomes since tmc-httpd started.");
	sb_printf(out,
		  "tmc_http_jobs_total{result=\"success\"} %llu\n"
		  "tmc_http_jobs_total{result=\"duplicated\"} %llu\n"
		  "tmc_http_jobs_total{result=\"replayed\"} %llu\n"
		  "tmc_http_jobs_total{result=\"rejected\"} %llu\n",
		  h->accepted, h->duplicated, h->replayed, h->rejected);
}
