/*
 * page.c - GET / and /status: the status view as one plain HTML page, no
 * script, refreshed by <meta http-equiv="refresh">: health (spool_health,
 * as /healthz), queues per stage (spool_census, as `tmcwatch status`),
 * workers with their originals and progress, the newest failures with
 * their reasons, the spool's disk, and the last hour's throughput
 * (page_chart.c). Every string from the spool is HTML-escaped: file names
 * and reasons are chosen by whoever drops files into a watched folder.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#include "httpd.h"

#define FAILURES_SHOWN 20

static const char style[] =
	"body{font:14px/1.4 system-ui,sans-serif;margin:1.5em auto;max-width:980px;color:#222;"
	"padding:0 1em}h1{font-size:20px;margin:0 0 .2em}h2{font-size:16px;margin:1.4em 0 .4em;"
	"border-bottom:1px solid #ddd}table{border-collapse:collapse;width:100%}"
	"th,td{text-align:left;padding:3px 8px;border-bottom:1px solid #eee;vertical-align:top}"
	"td.n,th.n{text-align:right;font-variant-numeric:tabular-nums}td:first-child{white-space:"
	"nowrap}"
	".ok{fill:#3a7bd5}.bad{fill:#d9534f}.axis{stroke:#999}svg text{font-size:10px;fill:#666}"
	".pill{display:inline-block;padding:1px 8px;border-radius:9px;color:#fff;font-weight:600}"
	".pill.good{background:#2e8b57}.pill.down{background:#d9534f}"
	".bar{background:#eee;border-radius:3px;height:10px;width:120px;display:inline-block}"
	".bar span{display:block;height:10px;border-radius:3px;background:#3a7bd5}"
	".muted{color:#777}.err{color:#b52b27}code{font-size:12px;word-break:break-all}";

/* s with & < > " ' as entities: safe in text and in quoted attributes */
void
html_esc(struct strbuf *out, const char *s)
{
	for (; s && *s; s++) {
		switch (*s) {
		case '&': sb_adds(out, "&amp;"); break;
		case '<': sb_adds(out, "&lt;"); break;
		case '>': sb_adds(out, "&gt;"); break;
		case '"': sb_adds(out, "&quot;"); break;
		case '\'': sb_adds(out, "&#39;"); break;
		default: sb_addc(out, *s);
		}
	}
}

static void
age(struct strbuf *out, long long secs)
{
	if (secs < 0)
		secs = 0;
	if (secs < 120)
		sb_printf(out, "%llds", secs);
	else if (secs < 7200)
		sb_printf(out, "%lldm", secs / 60);
	else if (secs < 172800)
		sb_printf(out, "%lldh", secs / 3600);
	else
		sb_printf(out, "%lldd", secs / 86400);
}

static void
section_health(struct httpd *h, struct strbuf *out)
{
	struct spool_health hl;

	health_collect(h, &hl);
	sb_printf(out,
		  "<p>daemon <span class=\"pill %s\">%s</span> &nbsp; health "
		  "<span class=\"pill %s\">%s</span></p>\n",
		  hl.daemon_running ? "good" : "down",
		  hl.daemon_running ? "running" : "not running", hl.n ? "down" : "good",
		  hl.n ? "problems" : "ok");
	if (hl.n == 0)
		return;
	sb_adds(out, "<ul class=\"err\">\n");
	for (size_t i = 0; i < hl.n; i++) {
		sb_adds(out, "<li><b>");
		html_esc(out, hl.c[i].kind);
		sb_adds(out, "</b> (");
		html_esc(out, hl.c[i].who);
		sb_adds(out, ")");
		if (hl.c[i].since > 0) {
			sb_adds(out, " for ");
			age(out, now_s_real() - hl.c[i].since);
		}
		sb_adds(out, ": ");
		html_esc(out, hl.c[i].cause);
		sb_adds(out, "</li>\n");
	}
	sb_adds(out, "</ul>\n");
}

static void
stage_row(struct strbuf *out, const struct census_stage *cs, int64_t now)
{
	sb_adds(out, "<tr><td>");
	html_esc(out, cs->label);
	sb_printf(out,
		  "</td><td class=\"n\">%ld</td><td class=\"n\">%ld</td><td class=\"n\">%ld"
		  "</td><td class=\"n\">",
		  cs->waiting, cs->working, cs->failed);
	if (cs->oldest_waiting)
		age(out, now - cs->oldest_waiting);
	sb_adds(out, "</td><td class=\"err\">");
	html_esc(out, cs->last_error);
	sb_adds(out, "</td></tr>\n");
}

static void
section_queues(const struct census *c, struct strbuf *out)
{
	int64_t now = now_s_real();

	sb_adds(out, "<h2>Queues</h2>\n<table><tr><th>stage</th><th class=\"n\">waiting</th>"
		     "<th class=\"n\">working</th><th class=\"n\">failed</th><th class=\"n\">"
		     "oldest waiting</th><th>last error</th></tr>\n");
	for (size_t i = 0; i < c->nstages; i++)
		stage_row(out, &c->stages[i], now);
	stage_row(out, &c->outbox, now);
	sb_adds(out, "</table>\n");
}

struct wctx {
	struct httpd *h;
	struct strbuf rows;
	int n;
};

static void
worker_row(const struct worker_status *ws, void *arg)
{
	struct wctx *w = arg;
	struct census_item ci;
	bool got;

	if (ws->item[0] == '\0')
		return;
	got = census_item(&w->h->spool, ws->label, CENSUS_WORKING, ws->item, &ci) == 0;
	w->n++;
	sb_adds(&w->rows, "<tr><td>");
	html_esc(&w->rows, ws->label);
	sb_printf(&w->rows, "</td><td class=\"n\">%d</td><td><code>", (int)ws->pid);
	html_esc(&w->rows, got && ci.original[0] ? ci.original : ws->item);
	sb_adds(&w->rows, "</code></td><td class=\"n\">");
	age(&w->rows, now_ms_mono() / 1000 - ws->start_s);
	sb_adds(&w->rows, "</td><td>");
	if (ws->percent >= 0)
		sb_printf(&w->rows,
			  "<span class=\"bar\"><span style=\"width:%d%%\"></span></span> "
			  "%d%%",
			  ws->percent, ws->percent);
	sb_adds(&w->rows, "</td></tr>\n");
	if (got)
		census_item_free(&ci);
}

static void
section_workers(struct httpd *h, struct strbuf *out)
{
	struct wctx w = {.h = h};

	workers_each(&h->spool, worker_row, &w);
	sb_adds(out, "<h2>Workers</h2>\n");
	if (w.n == 0)
		sb_adds(out, "<p class=\"muted\">No worker has an item in hand.</p>\n");
	else
		sb_printf(out,
			  "<table><tr><th>stage</th><th class=\"n\">pid</th><th>original</th>"
			  "<th class=\"n\">for</th><th>progress</th></tr>\n%s</table>\n",
			  w.rows.buf);
	sb_free(&w.rows);
}

static int
newest_first(const void *a, const void *b)
{
	const struct census_item *x = a, *y = b;

	return x->mtime < y->mtime ? 1 : x->mtime > y->mtime ? -1 : strcmp(x->id, y->id);
}

static void
section_failures(struct httpd *h, struct strbuf *out)
{
	int64_t now = now_s_real();
	struct census c;

	spool_census(&h->spool, CENSUS_FAILED_ITEMS, &c);
	if (c.nitems > 1)
		qsort(c.items, c.nitems, sizeof(*c.items), newest_first);
	sb_printf(out, "<h2>Recent failures</h2>\n");
	if (c.nitems == 0)
		sb_adds(out, "<p class=\"muted\">No item has failed for good.</p>\n");
	else
		sb_printf(out,
			  "<p class=\"muted\">%zu in err/%s (<code>tmcwatch queue --failed</code>)."
			  "</p>\n<table><tr><th>stage</th><th>original</th><th class=\"n\">age</th>"
			  "<th>reason</th></tr>\n",
			  c.nitems, c.nitems > FAILURES_SHOWN ? ", the newest shown" : "");
	for (size_t i = 0; i < c.nitems && i < FAILURES_SHOWN; i++) {
		const struct census_item *ci = &c.items[i];

		sb_adds(out, "<tr><td>");
		html_esc(out, ci->stage);
		sb_adds(out, "</td><td><code>");
		html_esc(out, ci->original[0] ? ci->original : ci->id);
		sb_adds(out, "</code></td><td class=\"n\">");
		age(out, now - ci->mtime);
		sb_adds(out, "</td><td class=\"err\">");
		html_esc(out, ci->reason);
		sb_adds(out, "</td></tr>\n");
	}
	if (c.nitems)
		sb_adds(out, "</table>\n");
	census_free(&c);
}

static void
section_disk(struct httpd *h, struct strbuf *out)
{
	struct statvfs v;
	double total, avail;
	int used;

	sb_adds(out, "<h2>Disk</h2>\n<p>spool <code>");
	html_esc(out, h->spool.path);
	sb_adds(out, "</code>: ");
	if (statvfs(h->spool.path, &v) < 0 || v.f_blocks == 0) {
		sb_adds(out, "unknown</p>\n");
		return;
	}
	total = (double)v.f_blocks * (double)v.f_frsize;
	avail = (double)v.f_bavail * (double)v.f_frsize;
	used = (int)(100.0 * (total - avail) / total);
	sb_printf(out,
		  "<span class=\"bar\"><span style=\"width:%d%%\"></span></span> %d%% used, "
		  "%.1f GiB free of %.1f GiB",
		  used, used, avail / 1073741824.0, total / 1073741824.0);
	if (v.f_files)
		sb_printf(out, "; %llu of %llu inodes free", (unsigned long long)v.f_favail,
			  (unsigned long long)v.f_files);
	sb_adds(out, "</p>\n");
}

void
page_write(struct httpd *h, struct strbuf *out)
{
	char host[256] = "", when[64];
	time_t t = time(NULL);
	struct census c;

	gethostname(host, sizeof(host) - 1);
	strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S %Z", localtime(&t));
	sb_printf(out, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
		       "<meta http-equiv=\"refresh\" content=\"10\">\n<title>tmcwatch on ");
	html_esc(out, host);
	sb_printf(out, "</title>\n<style>%s</style></head><body>\n<h1>tmcwatch on ", style);
	html_esc(out, host);
	sb_printf(out, "</h1>\n<p class=\"muted\">%s; this page refreshes every 10 s.</p>\n", when);
	section_health(h, out);
	page_chart(h, out);
	spool_census(&h->spool, 0, &c);
	section_queues(&c, out);
	census_free(&c);
	section_workers(h, out);
	section_failures(h, out);
	section_disk(h, out);
	sb_adds(out, "</body></html>\n");
}
