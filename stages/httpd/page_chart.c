/*
 * page_chart.c - the status page's throughput: steps finished in each of
 * the last 60 minutes, from the usage records (records_since), drawn as an
 * inline SVG bar chart (ok and warning in blue, failures in red stacked on
 * top), with the hour's totals. No script: the page refreshes itself.
 */
#include <stdio.h>
#include <string.h>

#include "httpd.h"
#include "stage.h"

#define MINUTES 60
#define BAR_W 15
#define CHART_H 80

struct per_minute {
	int64_t now;
	unsigned done[MINUTES], failed[MINUTES]; /* [0] the oldest minute */
	unsigned long long bytes_out;
};

static void
minute_add(const struct record *r, void *arg)
{
	struct per_minute *pm = arg;
	int64_t ago = (pm->now - r->time) / 60;
	int i = MINUTES - 1 - (int)ago;

	if (ago < 0 || ago >= MINUTES || strcmp(r->stage, "outbox") == 0)
		return;
	if (strcmp(r->outcome, "ok") == 0 || strcmp(r->outcome, "warning") == 0 ||
	    strcmp(r->outcome, "skipped") == 0)
		pm->done[i]++;
	else if (strcmp(r->outcome, "failed") == 0)
		pm->failed[i]++;
	pm->bytes_out += (unsigned long long)(r->bytes_out > 0 ? r->bytes_out : 0);
}

static void
bars(struct strbuf *out, const struct per_minute *pm, unsigned top)
{
	for (int i = 0; i < MINUTES; i++) {
		unsigned d = pm->done[i] * CHART_H / top, f = pm->failed[i] * CHART_H / top;

		if (pm->done[i] && d == 0)
			d = 1; /* one step still shows */
		if (pm->failed[i] && f == 0)
			f = 1;
		sb_printf(out,
			  "<rect class=\"ok\" x=\"%d\" y=\"%u\" width=\"%d\" height=\"%u\">"
			  "<title>%d min ago: %u done, %u failed</title></rect>",
			  i * (BAR_W + 1), CHART_H - d, BAR_W, d, MINUTES - 1 - i, pm->done[i],
			  pm->failed[i]);
		if (f)
			sb_printf(out,
				  "<rect class=\"bad\" x=\"%d\" y=\"%u\" width=\"%d\" "
				  "height=\"%u\"/>",
				  i * (BAR_W + 1), CHART_H - d - f < CHART_H ? CHART_H - d - f : 0,
				  BAR_W, f);
	}
}

void
page_chart(struct httpd *h, struct strbuf *out)
{
	struct per_minute pm = {.now = now_s_real()};
	unsigned top = 1, done = 0, failed = 0;

	records_since(&h->spool, pm.now - MINUTES * 60 + 1, minute_add, &pm);
	for (int i = 0; i < MINUTES; i++) {
		done += pm.done[i];
		failed += pm.failed[i];
		if (pm.done[i] + pm.failed[i] > top)
			top = pm.done[i] + pm.failed[i];
	}
	sb_printf(out,
		  "<h2>Throughput, last hour</h2>\n<p>%u steps finished, %u failed, "
		  "%.1f MiB written; busiest minute: %u.</p>\n",
		  done, failed, (double)pm.bytes_out / (1024.0 * 1024.0),
		  top > 1 || done + failed ? top : 0);
	sb_printf(out,
		  "<svg class=\"chart\" role=\"img\" aria-label=\"steps finished per minute\" "
		  "width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\">",
		  MINUTES * (BAR_W + 1), CHART_H + 14, MINUTES * (BAR_W + 1), CHART_H + 14);
	sb_printf(out, "<line x1=\"0\" y1=\"%d\" x2=\"%d\" y2=\"%d\" class=\"axis\"/>", CHART_H,
		  MINUTES * (BAR_W + 1), CHART_H);
	bars(out, &pm, top);
	sb_printf(out,
		  "<text x=\"0\" y=\"%d\">-60 min</text><text x=\"%d\" y=\"%d\" "
		  "text-anchor=\"end\">now</text></svg>\n",
		  CHART_H + 12, MINUTES * (BAR_W + 1), CHART_H + 12);
}
