/*
 * metrics_watch.c - the watch part of state/metrics.prom: each configured
 * watch's counts as its tmc-watch keeps them in state/<key>.stat (ticket
 * format; the file `tmcwatch status` shows as "watch NAME: ...").
 */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tmcwatch.h"

struct wstat {
	char name[256];
	long long v[6]; /* handed ok failed in_progress waiting folders */
};
static const char *const keys[6] = {"handed", "ok", "failed", "in_progress", "waiting", "folders"};

static bool
configured(const struct conf *conf, const char *name)
{
	for (size_t i = 0; i < conf->nwatches; i++)
		if (strcmp(conf->watches[i].name, name) == 0)
			return true;
	return false;
}

/* Every configured watch's stat file, by name (state/ is listed in
 * directory order: sorting keeps the output stable between writes). */
static size_t
wstats_read(const struct spool *sp, const struct conf *conf, struct wstat **out)
{
	int fd = openat(sp->fd, "state", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	struct wstat *v = NULL;
	struct dirent *de;
	size_t n = 0, len;
	char why[128], *text;
	DIR *d;

	if (fd < 0 || (d = fdopendir(fd)) == NULL) {
		if (fd >= 0)
			close(fd);
		return 0;
	}
	while ((de = readdir(d)) != NULL) {
		struct ticket t = {0};
		const char *name;

		if (de->d_name[0] == '.' || job_file_kind(de->d_name, NULL, 0) != JF_STAT ||
		    (text = file_read_at(dirfd(d), de->d_name, 65536, &len)) == NULL)
			continue;
		if (ticket_parse(&t, text, len, why, sizeof(why)) == 0 &&
		    (name = ticket_get(&t, "name")) != NULL && configured(conf, name)) {
			v = xreallocarray(v, n + 1, sizeof(*v));
			snprintf(v[n].name, sizeof(v[n].name), "%s", name);
			for (int k = 0; k < 6; k++)
				v[n].v[k] = ticket_get_ll(&t, keys[k], 0);
			n++;
		}
		ticket_free(&t);
		free(text);
	}
	closedir(d);
	*out = v;
	return n;
}

static int
wstat_cmp(const void *a, const void *b)
{
	return strcmp(((const struct wstat *)a)->name, ((const struct wstat *)b)->name);
}

static void
sample(struct strbuf *out, const char *family, const char *watch, const char *state, long long v)
{
	sb_printf(out, "%s{watch=\"", family);
	prom_label(out, watch);
	if (state)
		sb_printf(out, "\",state=\"%s", state);
	sb_printf(out, "\"} %lld\n", v);
}

int
metrics_watches(const struct spool *sp, const struct conf *conf, struct strbuf *out)
{
	static const char *const totals[3] = {"handed", "converted", "failed"};
	struct wstat *v = NULL;
	size_t n = wstats_read(sp, conf, &v);

	if (n > 1)
		qsort(v, n, sizeof(*v), wstat_cmp);
	prom_help(out, "tmc_watch_files_total", "counter",
		  "Files a watch handed off, and of those converted or failed.");
	for (size_t i = 0; i < n; i++)
		for (int k = 0; k < 3; k++)
			sample(out, "tmc_watch_files_total", v[i].name, totals[k], v[i].v[k]);
	prom_help(out, "tmc_watch_files", "gauge",
		  "Files of a watch in progress (handed off, not finished) or waiting to settle.");
	for (size_t i = 0; i < n; i++) {
		sample(out, "tmc_watch_files", v[i].name, "in_progress", v[i].v[3]);
		sample(out, "tmc_watch_files", v[i].name, "waiting", v[i].v[4]);
	}
	prom_help(out, "tmc_watch_folders", "gauge", "Folders a watch has under inotify.");
	for (size_t i = 0; i < n; i++)
		sample(out, "tmc_watch_folders", v[i].name, NULL, v[i].v[5]);
	free(v);
	return (int)n;
}
