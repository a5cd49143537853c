/*
 * cmd_requeue.c - tmcwatch requeue and purge (like postsuper -r and -d):
 *
 *   requeue ID... | --failed [--stage S] [--since T]
 *   purge   ID... | --failed --older-than AGE [--stage S]
 *
 * Both pick failed items (err/ of a stage or of outbox/) from
 * spool_census(): by their name in err/ (what `tmcwatch queue` shows), or
 * every one, in one stage or template with --stage, failed within T or
 * before AGE (30s, 30m, 2h, 7d; the age of the item's folder). The moves
 * themselves are item_requeue() and item_purge() (spool/requeue.c), safe
 * while the daemon runs. Each is logged (stderr and the log file).
 * Exit 0 when every ID matched and every item was done, 1 otherwise.
 */
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tmcwatch.h"

struct pick {
	bool purge, failed;
	const char *stage;
	int64_t since, older; /* seconds; -1 unset */
	char **ids;
	int nids;
	int *hits; /* per id: items it matched */
};

/* "90", "90s", "30m", "2h", "7d" -> seconds; -1 when malformed */
static int64_t
duration_parse(const char *s)
{
	char *end;
	long long v = strtoll(s, &end, 10);
	int64_t unit = 1;

	if (end == s || v < 0 || v > 100LL * 365 * 86400)
		return -1;
	switch (*end) {
	case '\0':
	case 's': break;
	case 'm': unit = 60; break;
	case 'h': unit = 3600; break;
	case 'd': unit = 86400; break;
	default: return -1;
	}
	if (*end && end[1])
		return -1;
	return (int64_t)v * unit;
}

static bool
picked(struct pick *p, const struct census_item *ci, int64_t now)
{
	bool any = false;

	if (ci->state != CENSUS_FAILED || !stage_matches(ci->stage, p->stage))
		return false;
	if ((p->since >= 0 && now - ci->mtime > p->since) ||
	    (p->older >= 0 && now - ci->mtime < p->older))
		return false;
	if (p->failed)
		return true;
	for (int i = 0; i < p->nids; i++) {
		if (strcmp(ci->id, p->ids[i]) == 0) {
			p->hits[i]++;
			any = true;
		}
	}
	return any;
}

/* One item: its stage's folders are opened once per run of items of that
 * stage (the census sorts by stage). 1 done, 0 refused, -1 error. */
static int
act(struct pick *p, const struct spool *sp, struct stage_dir *sd, const struct census_item *ci)
{
	char path[PATH_MAX], why[PATH_MAX + 128];
	int r;

	if (sd->label == NULL || strcmp(sd->label, ci->stage) != 0) {
		stage_close(sd);
		if (census_stage_path(sp, ci->stage, path, sizeof(path)) < 0 ||
		    stage_open_path(sd, path, false) < 0)
			return -1;
		free(sd->label);
		sd->label = xstrdup(ci->stage);
	}
	r = p->purge ? item_purge(sd, ci->id, why, sizeof(why))
		     : item_requeue(sd, ci->id, why, sizeof(why));
	if (r > 0 && p->purge)
		log_info("purged %s (%s; %s: %s)", why, ci->original, ci->origin, ci->reason);
	else if (r > 0)
		log_info("requeued %s (%s; %s)", why, ci->original, ci->origin);
	else
		log_warnx("not %s: %s", p->purge ? "purged" : "requeued", why);
	return r;
}

static int
pick_run(struct pick *p, const struct spool *sp)
{
	struct stage_dir sd = {
		.fd = -1, .tmpfd = -1, .newfd = -1, .curfd = -1, .errfd = -1, .freefd = -1};
	int64_t now = now_s_real();
	struct census c;
	int done = 0, rc = 0;

	spool_census(sp, CENSUS_ITEMS, &c);
	for (size_t i = 0; i < c.nitems; i++) {
		if (!picked(p, &c.items[i], now))
			continue;
		if (act(p, sp, &sd, &c.items[i]) > 0)
			done++;
		else
			rc = 1;
	}
	for (int i = 0; i < p->nids; i++) {
		if (p->hits[i] == 0) {
			fprintf(stderr, "tmcwatch: %s: no failed item of that name%s%s\n",
				p->ids[i], p->stage ? " in " : "", p->stage ? p->stage : "");
			rc = 1;
		}
	}
	printf("%s %d item%s\n", p->purge ? "purged" : "requeued", done, done == 1 ? "" : "s");
	stage_close(&sd);
	census_free(&c);
	return rc;
}

static int
pick_usage(bool purge)
{
	if (purge)
		fprintf(stderr,
			"usage: tmcwatch purge ID... | --failed --older-than AGE [--stage S]\n");
	else
		fprintf(stderr,
			"usage: tmcwatch requeue ID... | --failed [--stage S] [--since T]\n");
	return EX_USAGE;
}

static int
pick_args(struct pick *p, int argc, char **argv)
{
	static const struct option longopts[] = {
		{"failed", no_argument, NULL, 'f'},
		{"stage", required_argument, NULL, 's'},
		{"since", required_argument, NULL, 'S'},
		{"older-than", required_argument, NULL, 'o'},
		{NULL, 0, NULL, 0},
	};
	int ch;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (ch) {
		case 'f': p->failed = true; break;
		case 's': p->stage = optarg; break;
		case 'S':
			if (p->purge || (p->since = duration_parse(optarg)) < 0)
				return -1;
			break;
		case 'o':
			if (!p->purge || (p->older = duration_parse(optarg)) < 0)
				return -1;
			break;
		default: return -1;
		}
	}
	p->ids = argv + optind;
	p->nids = argc - optind;
	/* IDs or --failed, not both; purging every failed item needs an age */
	if ((p->nids > 0) == p->failed || (p->purge && p->failed && p->older < 0))
		return -1;
	return 0;
}

static int
pick_main(const struct opts *o, int argc, char **argv, bool purge)
{
	struct pick p = {.purge = purge, .since = -1, .older = -1};
	struct conf conf = {0};
	struct spool sp;
	int rc;

	if (pick_args(&p, argc, argv) < 0)
		return pick_usage(purge);
	if (load_config(o, &conf, false) > 0) {
		conf_free(&conf);
		return EX_CONFIG;
	}
	if (conf.log_file)
		log_open_file(conf.log_file);
	if (spool_open(&sp, conf.spool_dir, false) < 0) {
		conf_free(&conf);
		return EX_UNAVAILABLE;
	}
	p.hits = xcalloc((size_t)p.nids + 1, sizeof(*p.hits));
	rc = pick_run(&p, &sp);
	free(p.hits);
	spool_close(&sp);
	conf_free(&conf);
	return rc;
}

int
cmd_requeue(const struct opts *o, int argc, char **argv)
{
	return pick_main(o, argc, argv, false);
}

int
cmd_purge(const struct opts *o, int argc, char **argv)
{
	return pick_main(o, argc, argv, true);
}
