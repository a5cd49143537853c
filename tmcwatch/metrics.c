/*
 * metrics.c - the daemon's own metrics: every metrics_interval seconds the
 * supervisor writes <spool>/state/metrics.prom (Prometheus text format,
 * for node_exporter's textfile collector and tmc-httpd's /metrics) by
 * rename, so a reader never sees half of it:
 *
 *   the spool's gauges (spool/prom.c), and, from the usage records the
 *   stages append (stage/record.c, followed from where reading stopped):
 *   tmc_steps_total{template,step,site,outcome=ok|warning|retry|failed}
 *   tmc_files_created_total{template,step,site}
 *   tmc_bytes_read_total{template,step,site}     the originals' sizes
 *   tmc_bytes_written_total{template,step,site}  the outputs' sizes
 *   tmc_step_duration_seconds{template,step}     histogram, ok and warning
 *   tmc_callbacks_total{outcome=delivered|retry|failed}   tmc-notify's attempts
 *   and from each configured watch's state/<key>.stat (tmc-watch):
 *   tmc_watch_files_total{watch,state=handed|converted|failed}
 *   tmc_watch_files{watch,state=in_progress|waiting}, tmc_watch_folders{watch}
 *   and from tmc-remote's run/remote/<pid> (status_remote.c), with gearman:
 *   tmcwatch_remote_units_total{host,outcome=done|failed}
 *   tmcwatch_remote_inflight{host}, tmcwatch_remote_last_seen_timestamp_seconds{host}
 *   tmc_metrics_written_timestamp_seconds   when this file was written
 *
 * Counters start at 0 when the supervisor starts (records written before
 * are not counted again), which Prometheus' rate() takes as a reset.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "stage.h"
#include "tmcwatch.h"

static const double bounds[] = {0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900};
#define NBOUNDS (sizeof(bounds) / sizeof(*bounds))
static const char *const outcomes[] = {"ok", "warning", "retry", "failed", "skipped"};
#define NOUTCOMES 5

struct series { /* one template/step/site */
	char stage[300], site[128];
	unsigned long long steps[NOUTCOMES], created, bytes_in, bytes_out;
};
struct hist { /* one template/step */
	char stage[300];
	unsigned long long bucket[NBOUNDS], count;
	double sum;
};
struct metrics {
	struct records_tail tail;
	struct series *s;
	size_t ns;
	struct hist *h;
	size_t nh;
	unsigned long long callbacks[3]; /* delivered, retry, failed */
	int64_t next_ms;
	bool failing; /* the last write failed (logged once) */
};

static struct metrics M;

static struct series *
series_of(const struct record *r)
{
	for (size_t i = 0; i < M.ns; i++)
		if (strcmp(M.s[i].stage, r->stage) == 0 && strcmp(M.s[i].site, r->site) == 0)
			return &M.s[i];
	M.s = xreallocarray(M.s, M.ns + 1, sizeof(*M.s));
	memset(&M.s[M.ns], 0, sizeof(*M.s));
	snprintf(M.s[M.ns].stage, sizeof(M.s->stage), "%s", r->stage);
	snprintf(M.s[M.ns].site, sizeof(M.s->site), "%s", r->site);
	return &M.s[M.ns++];
}

static struct hist *
hist_of(const char *stage)
{
	for (size_t i = 0; i < M.nh; i++)
		if (strcmp(M.h[i].stage, stage) == 0)
			return &M.h[i];
	M.h = xreallocarray(M.h, M.nh + 1, sizeof(*M.h));
	memset(&M.h[M.nh], 0, sizeof(*M.h));
	snprintf(M.h[M.nh].stage, sizeof(M.h->stage), "%s", stage);
	return &M.h[M.nh++];
}

static void
count_record(const struct record *r, void *arg)
{
	struct series *s;
	struct hist *h;
	int k;

	(void)arg;
	for (k = 0; k < NOUTCOMES && strcmp(outcomes[k], r->outcome) != 0; k++)
		;
	if (k == NOUTCOMES)
		return;
	if (strcmp(r->stage, "outbox") == 0) {
		if (k < 4) /* a callback is never skipped */
			M.callbacks[k <= 1 ? 0 : k - 1]++;
		return;
	}
	if (strchr(r->stage, '/') == NULL)
		return;
	s = series_of(r);
	s->steps[k]++;
	s->created += (unsigned long long)(r->created > 0 ? r->created : 0);
	s->bytes_in += (unsigned long long)(r->bytes_in > 0 ? r->bytes_in : 0);
	s->bytes_out += (unsigned long long)(r->bytes_out > 0 ? r->bytes_out : 0);
	if (k > 1)
		return;
	h = hist_of(r->stage);
	for (size_t b = 0; b < NBOUNDS; b++)
		if ((double)r->ms / 1000.0 <= bounds[b])
			h->bucket[b]++;
	h->count++;
	h->sum += (double)r->ms / 1000.0;
}

/* template="...",step="..." from "<tpl>/<NN-step>" */
static void
stage_labels(struct strbuf *out, const char *stage)
{
	const char *slash = strchr(stage, '/');
	char tpl[300];

	snprintf(tpl, sizeof(tpl), "%.*s", (int)(slash - stage), stage);
	sb_adds(out, "template=\"");
	prom_label(out, tpl);
	sb_adds(out, "\",step=\"");
	prom_label(out, slash + 1);
	sb_addc(out, '"');
}

static void
series_family(struct strbuf *out, const char *name, const char *help, int which)
{
	prom_help(out, name, "counter", help);
	for (size_t i = 0; i < M.ns; i++) {
		const struct series *s = &M.s[i];
		unsigned long long v = which == 0   ? s->created
				       : which == 1 ? s->bytes_in
						    : s->bytes_out;

		sb_printf(out, "%s{", name);
		stage_labels(out, s->stage);
		sb_adds(out, ",site=\"");
		prom_label(out, s->site);
		sb_printf(out, "\"} %llu\n", v);
	}
}

static void
steps_write(struct strbuf *out)
{
	prom_help(out, "tmc_steps_total", "counter",
		  "Finished steps by outcome (retry: failed, to be tried again).");
	for (size_t i = 0; i < M.ns; i++)
		for (int k = 0; k < NOUTCOMES; k++) {
			sb_adds(out, "tmc_steps_total{");
			stage_labels(out, M.s[i].stage);
			sb_adds(out, ",site=\"");
			prom_label(out, M.s[i].site);
			sb_printf(out, "\",outcome=\"%s\"} %llu\n", outcomes[k], M.s[i].steps[k]);
		}
	series_family(out, "tmc_files_created_total", "Output files written.", 0);
	series_family(out, "tmc_bytes_read_total", "Bytes of the originals steps were run on.", 1);
	series_family(out, "tmc_bytes_written_total", "Bytes of the output files written.", 2);
}

static void
hist_write(struct strbuf *out)
{
	prom_help(out, "tmc_step_duration_seconds", "histogram",
		  "Time a step took, from claim to handoff (ok and warning outcomes).");
	for (size_t i = 0; i < M.nh; i++) {
		const struct hist *h = &M.h[i];

		for (size_t b = 0; b <= NBOUNDS; b++) {
			sb_adds(out, "tmc_step_duration_seconds_bucket{");
			stage_labels(out, h->stage);
			if (b < NBOUNDS)
				sb_printf(out, ",le=\"%g\"} %llu\n", bounds[b], h->bucket[b]);
			else
				sb_printf(out, ",le=\"+Inf\"} %llu\n", h->count);
		}
		sb_adds(out, "tmc_step_duration_seconds_sum{");
		stage_labels(out, h->stage);
		sb_printf(out, "} %.3f\ntmc_step_duration_seconds_count{", h->sum);
		stage_labels(out, h->stage);
		sb_printf(out, "} %llu\n", h->count);
	}
	prom_help(out, "tmc_callbacks_total", "counter",
		  "Callback attempts by outcome (retry: failed, to be tried again).");
	sb_printf(out,
		  "tmc_callbacks_total{outcome=\"delivered\"} %llu\n"
		  "tmc_callbacks_total{outcome=\"retry\"} %llu\n"
		  "tmc_callbacks_total{outcome=\"failed\"} %llu\n",
		  M.callbacks[0], M.callbacks[1], M.callbacks[2]);
}

static void
metrics_write(const struct spool *sp, const struct conf *conf)
{
	struct strbuf out = {0};
	int fd;

	prom_spool_gauges(sp, &out);
	steps_write(&out);
	hist_write(&out);
	metrics_watches(sp, conf, &out);
	metrics_remote(sp, conf, &out);
	prom_help(&out, "tmc_metrics_written_timestamp_seconds", "gauge",
		  "Unix time tmcwatch wrote these metrics.");
	sb_printf(&out, "tmc_metrics_written_timestamp_seconds %lld\n", (long long)now_s_real());
	fd = openat(sp->fd, "state", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 || file_publish_at(fd, "metrics.prom", out.buf, out.len, false) < 0) {
		if (!M.failing)
			log_warn("%s/state/metrics.prom", sp->path);
		M.failing = true;
	} else if (M.failing) {
		log_info("%s/state/metrics.prom written again", sp->path);
		M.failing = false;
	}
	if (fd >= 0)
		close(fd);
	sb_free(&out);
}

void
metrics_start(const struct spool *sp)
{
	memset(&M, 0, sizeof(M));
	records_follow(sp, &M.tail, count_record, NULL); /* finds the end */
}

void
metrics_tick(const struct spool *sp, const struct conf *conf)
{
	int64_t now = now_ms_mono();

	if (conf->metrics_interval <= 0 || now < M.next_ms)
		return;
	M.next_ms = now + (int64_t)conf->metrics_interval * 1000;
	records_follow(sp, &M.tail, count_record, NULL);
	metrics_write(sp, conf);
}

void
metrics_free(void)
{
	free(M.s);
	free(M.h);
	memset(&M, 0, sizeof(M));
}
