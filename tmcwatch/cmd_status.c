/*
 * cmd_status.c - tmcwatch status [--json]
 *
 * Everything is read from the spool itself (folder counts, the workers'
 * status files, the pid file's lock), so the answer is right while the
 * daemon is down too. First TMC's three lines, unchanged for its scripts,
 * then the health: every condition that keeps items from moving (daemon
 * not running, spool full or read-only, I/O errors, a program's recorded
 * fault, a child that keeps dying) with who sees it, its cause and since
 * when (spool_health(), the same answer /healthz gives), then one line per
 * stage and the callbacks (spool_census(), the walk /metrics and `tmcwatch
 * queue` use), the job folders, and the monitor view: each worker's item
 * named by its original.
 * Exit (LSB status codes): 0 running and healthy, 3 not running,
 * STATUS_EXIT_FAULT running with a condition in force.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#include "json.h"
#include "tmcwatch.h"

#define LSB_NOT_RUNNING 3
#define STATUS_EXIT_FAULT 150 /* LSB's first application-specific code */

struct status {
	bool running;
	long long processed;
	long working_total;
	struct census census; /* per stage counts (spool/census.c) */
	const struct spool *sp;
	int req, proc, done, err;
	struct strbuf workers_text, workers_json;
	struct strbuf watches_text, watches_json;
	struct strbuf remote_text, remote_json; /* status_remote.c */
	struct spool_health health;
};

static int
name_cmp(const struct dirent **a, const struct dirent **b)
{
	return strcmp((*a)->d_name, (*b)->d_name);
}

static int
not_dot(const struct dirent *de)
{
	return de->d_name[0] != '.';
}

/* A worker's item, named by its original (the ticket's src) as well */
static void
worker_line(const struct worker_status *ws, void *arg)
{
	struct status *s = arg;
	long long elapsed = now_ms_mono() / 1000 - ws->start_s;
	struct census_item ci;
	const char *original = "";
	bool got = false;

	if (ws->item[0] == '\0' || !s->running)
		return;
	if (census_item(s->sp, ws->label, CENSUS_WORKING, ws->item, &ci) == 0) {
		original = ci.original;
		got = true;
	}
	sb_printf(&s->workers_text, "worker %s pid %d: %s%s%s%s for %llds", ws->label, (int)ws->pid,
		  original, original[0] ? " (" : "", ws->item, original[0] ? ")" : "", elapsed);
	if (ws->percent >= 0)
		sb_printf(&s->workers_text, " (%d%%)", ws->percent);
	sb_addc(&s->workers_text, '\n');
	sb_printf(&s->workers_json, "%s{\"stage\":", s->workers_json.len ? "," : "");
	json_quote(&s->workers_json, ws->label, false);
	sb_printf(&s->workers_json, ",\"pid\":%d,\"item\":", (int)ws->pid);
	json_quote(&s->workers_json, ws->item, false);
	sb_adds(&s->workers_json, ",\"original\":");
	json_quote(&s->workers_json, original, false);
	sb_printf(&s->workers_json, ",\"elapsed\":%lld", elapsed);
	if (ws->percent >= 0)
		sb_printf(&s->workers_json, ",\"percent\":%d", ws->percent);
	sb_addc(&s->workers_json, '}');
	if (got)
		census_item_free(&ci);
}

/* One line per configured watch, from the state/<key>.stat file its
 * tmc-watch keeps (ticket format; see stages/watch/main.c). */
static void
watch_line(struct status *s, const struct conf *conf, int dirfd, const char *file)
{
	static const char *const keys[] = {"handed", "ok", "failed", "in_progress", "waiting"};
	char *text = file_read_at(dirfd, file, 65536, NULL), reason[128];
	struct ticket t = {0};
	const char *name;
	size_t i;

	if (text == NULL || ticket_parse(&t, text, strlen(text), reason, sizeof(reason)) < 0 ||
	    (name = ticket_get(&t, "name")) == NULL)
		goto out;
	for (i = 0; i < conf->nwatches && strcmp(conf->watches[i].name, name) != 0; i++)
		;
	if (i == conf->nwatches)
		goto out;
	sb_printf(&s->watches_text,
		  "watch %s: handed off %lld, converted %lld, failed %lld, "
		  "in progress %lld, waiting %lld\n",
		  name, ticket_get_ll(&t, "handed", 0), ticket_get_ll(&t, "ok", 0),
		  ticket_get_ll(&t, "failed", 0), ticket_get_ll(&t, "in_progress", 0),
		  ticket_get_ll(&t, "waiting", 0));
	sb_printf(&s->watches_json, "%s{\"watch\":", s->watches_json.len ? "," : "");
	json_quote(&s->watches_json, name, false);
	for (i = 0; i < sizeof(keys) / sizeof(*keys); i++)
		sb_printf(&s->watches_json, ",\"%s\":%lld", keys[i], ticket_get_ll(&t, keys[i], 0));
	sb_addc(&s->watches_json, '}');
out:
	ticket_free(&t);
	free(text);
}

static void
watches_collect(struct status *s, const struct spool *sp, const struct conf *conf)
{
	struct dirent **ents;
	char path[PATH_MAX];
	int n, fd = openat(sp->fd, "state", O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	snprintf(path, sizeof(path), "%s/state", sp->path);
	n = fd < 0 ? -1 : scandir(path, &ents, not_dot, name_cmp);
	for (int i = 0; i < n; i++) {
		if (job_file_kind(ents[i]->d_name, NULL, 0) == JF_STAT)
			watch_line(s, conf, fd, ents[i]->d_name);
		free(ents[i]);
	}
	if (n >= 0)
		free(ents);
	if (fd >= 0)
		close(fd);
}

static void
status_collect(struct status *s, const struct spool *sp)
{
	spool_health(sp, &s->health);
	s->running = s->health.daemon_running;
	s->sp = sp;
	spool_census(sp, 0, &s->census);
	for (size_t i = 0; i < s->census.nstages; i++)
		s->working_total += s->census.stages[i].working;
	workers_each(sp, worker_line, s);
	s->processed = processed_total(sp); /* files, as TMC counted (doc/TMC.md, Status) */
	s->req = (int)job_count_at(sp->fd, "req");
	s->proc = (int)job_count_at(sp->fd, "proc");
	s->done = (int)job_count_at(sp->fd, "done");
	s->err = (int)job_count_at(sp->fd, "err");
}

static long long
free_mib(const char *path)
{
	struct statvfs v;

	if (statvfs(path, &v) < 0)
		return -1;
	return (long long)v.f_bavail * (long long)v.f_frsize / (1024 * 1024);
}

static void
since_text(char *buf, size_t len, int64_t since)
{
	time_t t = (time_t)since;
	char when[32];

	if (since <= 0) {
		snprintf(buf, len, "since unknown");
		return;
	}
	strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", localtime(&t));
	snprintf(buf, len, "since %s (%llds)", when, (long long)(now_s_real() - since));
}

static void
print_health_text(const struct spool_health *h)
{
	char since[80];

	if (h->n == 0) {
		printf("health: ok\n");
		return;
	}
	printf("health: %zu problem%s: items do not move until %s cleared\n", h->n,
	       h->n == 1 ? "" : "s", h->n == 1 ? "it is" : "they are");
	for (size_t i = 0; i < h->n; i++) {
		since_text(since, sizeof(since), h->c[i].since);
		printf("  %s (%s) %s: %s\n", h->c[i].kind, h->c[i].who, since, h->c[i].cause);
	}
}

static void
health_json(struct strbuf *sb, const struct spool_health *h)
{
	sb_printf(sb, "\"health\":{\"ok\":%s,\"conditions\":[", h->n ? "false" : "true");
	for (size_t i = 0; i < h->n; i++) {
		sb_printf(sb, "%s{\"kind\":\"%s\",\"who\":", i ? "," : "", h->c[i].kind);
		json_quote(sb, h->c[i].who, false);
		if (h->c[i].since > 0)
			sb_printf(sb, ",\"since\":%lld", (long long)h->c[i].since);
		else
			sb_adds(sb, ",\"since\":null");
		sb_adds(sb, ",\"cause\":");
		json_quote(sb, h->c[i].cause, false);
		sb_addc(sb, '}');
	}
	sb_adds(sb, "]},");
}

static void
print_text(const struct status *s, const struct conf *conf)
{
	char when[64];
	time_t t = time(NULL);
	double load[3] = {0};

	strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", localtime(&t));
	if (s->running)
		printf("TMC status:running [%s]\n", when);
	else
		printf("TMC status:not running [%s]\n", when);
	printf("(working/running) workers : (%ld/%d)\n", s->working_total, conf->worker_cnt);
	printf("Total processed : %lld\n", s->processed);
	print_health_text(&s->health);
	for (size_t i = 0; i < s->census.nstages; i++) {
		const struct census_stage *c = &s->census.stages[i];

		printf("stage %s: waiting %ld working %ld failed %ld%s%s\n", c->label, c->waiting,
		       c->working, c->failed, c->last_error[0] ? " last error: " : "",
		       c->last_error);
	}
	printf("jobs: waiting %d running %d done %d failed %d\n", s->req, s->proc, s->done, s->err);
	printf("callbacks: waiting %ld failed %ld\n",
	       s->census.outbox.waiting + s->census.outbox.working, s->census.outbox.failed);
	fputs(s->watches_text.buf ? s->watches_text.buf : "", stdout);
	getloadavg(load, 3);
	printf("spool %s: %lld MiB free; load %.2f %.2f %.2f\n", conf->spool_dir,
	       free_mib(conf->spool_dir), load[0], load[1], load[2]);
	for (size_t i = 0; i < conf->nsites; i++)
		printf("site %s %s: %lld MiB free\n", conf->sites[i].name, conf->sites[i].root,
		       free_mib(conf->sites[i].root));
	fputs(s->remote_text.buf ? s->remote_text.buf : "", stdout);
	fputs(s->workers_text.buf ? s->workers_text.buf : "", stdout);
}

static void
print_json(const struct status *s, const struct conf *conf)
{
	struct strbuf sb = {0};

	sb_printf(&sb, "{\"status\":\"%s\",\"working\":%ld,\"running\":%d,\"processed\":%lld,",
		  s->running ? "running" : "not running", s->working_total, conf->worker_cnt,
		  s->processed);
	health_json(&sb, &s->health);
	sb_adds(&sb, s->remote_json.buf ? s->remote_json.buf : "");
	sb_adds(&sb, "\"stages\":[");
	for (size_t i = 0; i < s->census.nstages; i++) {
		const struct census_stage *c = &s->census.stages[i];

		sb_printf(&sb, "%s{\"stage\":", i ? "," : "");
		json_quote(&sb, c->label, false);
		sb_printf(&sb, ",\"waiting\":%ld,\"working\":%ld,\"failed\":%ld,\"last_error\":",
			  c->waiting, c->working, c->failed);
		json_quote(&sb, c->last_error, false);
		sb_addc(&sb, '}');
	}
	sb_printf(&sb,
		  "],\"jobs\":{\"waiting\":%d,\"running\":%d,\"done\":%d,\"failed\":%d},"
		  "\"callbacks\":{\"waiting\":%ld,\"failed\":%ld},\"spool_free_mib\":%lld,"
		  "\"workers\":[%s],"
		  "\"watches\":[%s]}\n",
		  s->req, s->proc, s->done, s->err,
		  s->census.outbox.waiting + s->census.outbox.working, s->census.outbox.failed,
		  free_mib(conf->spool_dir), s->workers_json.buf ? s->workers_json.buf : "",
		  s->watches_json.buf ? s->watches_json.buf : "");
	fputs(sb.buf, stdout);
	sb_free(&sb);
}

int
cmd_status(const struct opts *o, int argc, char **argv)
{
	struct status s = {0};
	struct conf conf = {0};
	struct spool sp;
	bool json = argc > 1 && strcmp(argv[1], "--json") == 0;

	if (load_config(o, &conf, false) > 0) {
		conf_free(&conf);
		return EX_CONFIG;
	}
	if (spool_open(&sp, conf.spool_dir, false) < 0) {
		printf("TMC status:not running\n");
		conf_free(&conf);
		return LSB_NOT_RUNNING;
	}
	status_collect(&s, &sp);
	watches_collect(&s, &sp, &conf);
	status_remote(&sp, &conf, &s.remote_text, &s.remote_json);
	if (json)
		print_json(&s, &conf);
	else
		print_text(&s, &conf);
	census_free(&s.census);
	sb_free(&s.workers_text);
	sb_free(&s.workers_json);
	sb_free(&s.watches_text);
	sb_free(&s.watches_json);
	sb_free(&s.remote_text);
	sb_free(&s.remote_json);
	spool_close(&sp);
	conf_free(&conf);
	return !s.running ? LSB_NOT_RUNNING : s.health.n ? STATUS_EXIT_FAULT : 0;
}
