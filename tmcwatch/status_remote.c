/*
 * status_remote.c - remote work in `tmcwatch status` and the metrics file
 * (tmc-remote(8), STATUS): one entry per worker host, from the counts the
 * spool host's tmc-remote processes keep (run/remote/<pid>,
 * remote_hosts()) and the functions gearmand's admin "workers" lists for
 * it (asked of each configured server, 1 s at most each; a worker host
 * registered there and not yet used is listed with zero counts), and per
 * remote head stage the share of its items done remotely.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "json.h"
#include "tmcwatch.h"

/* "workers" answers "<fd> <ip> <id> : fn fn ...": the functions of id. */
static void
functions_of(const char *answer, const char *host, struct strbuf *fns)
{
	const char *p = answer;

	for (; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL) {
		char id[256] = "";
		const char *colon = strstr(p, " : "), *eol = strchr(p, '\n');

		if (colon == NULL || (eol && colon > eol) || sscanf(p, "%*s %*s %255s", id) != 1 ||
		    strcmp(id, host) != 0)
			continue;
		size_t len = eol ? (size_t)(eol - colon - 3) : strlen(colon + 3);

		while (len && colon[3 + len - 1] == ' ')
			len--;
		if (len && fns->len)
			sb_addc(fns, ' ');
		sb_add(fns, colon + 3, len);
	}
}

/* Worker hosts gearmand knows of that the counts do not yet hold. */
static void
add_registered(const char *answer, struct remote_host **v, size_t *n)
{
	for (const char *p = answer; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL) {
		char id[128] = "";
		const char *colon = strstr(p, " : "), *eol = strchr(p, '\n');
		size_t i;

		if (colon == NULL || (eol && colon > eol) || sscanf(p, "%*s %*s %127s", id) != 1 ||
		    strcmp(id, "-") == 0 || colon[3] == '\n' || colon[3] == '\0')
			continue;
		for (i = 0; i < *n && strcmp((*v)[i].host, id) != 0; i++)
			;
		if (i < *n)
			continue;
		*v = xreallocarray(*v, *n + 1, sizeof(**v));
		(*v)[*n] = (struct remote_host){0};
		snprintf((*v)[(*n)++].host, sizeof((*v)->host), "%s", id);
	}
}

struct share {
	const char *label;
	long long all;
};

static void
count_processed(const struct worker_status *ws, void *arg)
{
	struct share *sh = arg;

	if (strcmp(ws->label, sh->label) == 0)
		sh->all += ws->processed;
}

/* Units done remotely for function fn (all hosts). */
static long long
done_for(const struct remote_host *v, size_t n, const char *fn)
{
	long long d = 0;

	for (size_t i = 0; i < n; i++)
		if (strncmp(v[i].function, fn, strlen(fn)) == 0)
			d += v[i].done;
	return d;
}

/* "last seen" as status shows its other times: local time and the age
 * ("2026-12-05 01:59:00 (12s ago)"), or "never" (registered, not used) */
static void
seen_text(char *buf, size_t len, long long last_seen)
{
	time_t t = (time_t)last_seen;
	char when[32];

	if (last_seen <= 0) {
		snprintf(buf, len, "never");
		return;
	}
	strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", localtime(&t));
	snprintf(buf, len, "%s (%llds ago)", when, (long long)now_s_real() - last_seen);
}

static void
host_out(const struct remote_host *h, const char *fns, struct strbuf *text, struct strbuf *json)
{
	char seen[80];

	seen_text(seen, sizeof(seen), h->last_seen);
	sb_printf(text,
		  "remote host %s: functions %s in flight %lld done %lld failed %lld last seen "
		  "%s\n",
		  h->host, fns[0] ? fns : "-", h->inflight, h->done, h->failed, seen);
	sb_printf(json, "%s{\"host\":", json->len ? "," : "");
	json_quote(json, h->host, false);
	sb_adds(json, ",\"functions\":[");
	for (const char *f = fns; *f;) {
		size_t k = strcspn(f, " ");
		char *one = xstrndup(f, k);

		if (f != fns)
			sb_addc(json, ',');
		json_quote(json, one, false);
		free(one);
		f += k + (f[k] == ' ');
	}
	sb_printf(json, "],\"inflight\":%lld,\"done\":%lld,\"failed\":%lld,\"last_seen\":%lld}",
		  h->inflight, h->done, h->failed, h->last_seen);
}

static void
shares_out(const struct spool *sp, const struct conf *conf, const struct remote_host *v, size_t n,
	   struct strbuf *text, struct strbuf *json)
{
	for (size_t t = 0; t < conf->ntemplates; t++)
		for (size_t j = 0; j < conf->templates[t].nsteps; j++) {
			const struct template *tpl = &conf->templates[t];
			char name[300], label[600], *fn;
			struct share sh = {label, 0};
			long long d;

			if (!conf_remote_head(conf, tpl, j))
				continue;
			stage_name(name, sizeof(name), (int)j, tpl->steps[j].name);
			snprintf(label, sizeof(label), "%s/%s", tpl->name, name);
			workers_each(sp, count_processed, &sh);
			fn = conf_remote_function(tpl, j, false);
			d = done_for(v, n, fn);
			sb_printf(text, "remote stage %s: %lld of %lld units done remotely\n",
				  label, d, sh.all > d ? sh.all : d);
			sb_printf(json, "%s{\"stage\":", json->len ? "," : "");
			json_quote(json, label, false);
			sb_printf(json, ",\"remote\":%lld,\"all\":%lld}", d,
				  sh.all > d ? sh.all : d);
			free(fn);
		}
}

void
status_remote(const struct spool *sp, const struct conf *conf, struct strbuf *text,
	      struct strbuf *json)
{
	struct strbuf hosts = {0}, stages = {0}, answers = {0};
	struct remote_host *v;
	size_t n;

	if (conf->gearman.nservers == 0)
		return;
	remote_hosts(sp, &v, &n);
	for (size_t i = 0; i < conf->gearman.nservers; i++) {
		char *a = gear_admin(conf->gearman.servers[i], "workers", 1000);

		if (a)
			sb_adds(&answers, a);
		free(a);
	}
	add_registered(answers.buf, &v, &n);
	for (size_t i = 0; i < n; i++) {
		struct strbuf fns = {0};

		functions_of(answers.buf, v[i].host, &fns);
		host_out(&v[i], fns.buf ? fns.buf : "", text, &hosts);
		sb_free(&fns);
	}
	shares_out(sp, conf, v, n, text, &stages);
	sb_printf(json, "\"remote\":{\"hosts\":[%s],\"stages\":[%s]},", hosts.buf ? hosts.buf : "",
		  stages.buf ? stages.buf : "");
	sb_free(&hosts);
	sb_free(&stages);
	sb_free(&answers);
	free(v);
}

void
metrics_remote(const struct spool *sp, const struct conf *conf, struct strbuf *out)
{
	struct remote_host *v;
	size_t n;

	if (conf->gearman.nservers == 0 || remote_hosts(sp, &v, &n) < 0)
		return;
	prom_help(out, "tmcwatch_remote_units_total", "counter",
		  "Remote units sent from this spool host, by worker host and outcome.");
	for (size_t i = 0; i < n; i++) {
		for (int ok = 1; ok >= 0; ok--) {
			sb_adds(out, "tmcwatch_remote_units_total{host=\"");
			prom_label(out, v[i].host);
			sb_printf(out, "\",outcome=\"%s\"} %lld\n", ok ? "done" : "failed",
				  ok ? v[i].done : v[i].failed);
		}
	}
	prom_help(out, "tmcwatch_remote_inflight", "gauge", "Remote units in flight now.");
	for (size_t i = 0; i < n; i++) {
		sb_adds(out, "tmcwatch_remote_inflight{host=\"");
		prom_label(out, v[i].host);
		sb_printf(out, "\"} %lld\n", v[i].inflight);
	}
	prom_help(out, "tmcwatch_remote_last_seen_timestamp_seconds", "gauge",
		  "Unix time of the last unit that went to the worker host.");
	for (size_t i = 0; i < n; i++) {
		sb_adds(out, "tmcwatch_remote_last_seen_timestamp_seconds{host=\"");
		prom_label(out, v[i].host);
		sb_printf(out, "\"} %lld\n", v[i].last_seen);
	}
	free(v);
}
