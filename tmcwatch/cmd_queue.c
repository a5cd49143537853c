/*
 * cmd_queue.c - tmcwatch queue [--json] [--stage S] [--failed]: one line
 * per item waiting, deferred, working or failed in any stage or the
 * outbox (like postqueue -p), read from the spool by spool_census(), so it
 * is right while the daemon is down too. Each item is named by its
 * original (the ticket's src), with who made it (job:<seq>, watch:<key>),
 * its age, its failed attempts and the reason of the last failure.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "tmcwatch.h"

/* "42s", "5m", "3h", "2d": the largest unit that fits */
void
age_text(char *buf, size_t len, int64_t secs)
{
	if (secs < 0)
		secs = 0;
	if (secs < 120)
		snprintf(buf, len, "%llds", (long long)secs);
	else if (secs < 2 * 3600)
		snprintf(buf, len, "%lldm", (long long)secs / 60);
	else if (secs < 2 * 86400)
		snprintf(buf, len, "%lldh", (long long)secs / 3600);
	else
		snprintf(buf, len, "%lldd", (long long)secs / 86400);
}

/* --stage S: a stage label ("tpl/01-Preview"), a template's name (all its
 * steps) or "outbox" */
bool
stage_matches(const char *label, const char *want)
{
	size_t n;

	if (want == NULL || strcmp(label, want) == 0)
		return true;
	n = strlen(want);
	return strncmp(label, want, n) == 0 && label[n] == '/';
}

static void
item_json(struct strbuf *sb, const struct census_item *ci, int64_t now)
{
	sb_adds(sb, "{\"stage\":");
	json_quote(sb, ci->stage, false);
	sb_printf(sb, ",\"state\":\"%s\",\"id\":", census_state_name(ci->state));
	json_quote(sb, ci->id, false);
	sb_adds(sb, ",\"original\":");
	json_quote(sb, ci->original, false);
	sb_adds(sb, ",\"origin\":");
	json_quote(sb, ci->origin, false);
	sb_printf(sb, ",\"age\":%lld,\"mtime\":%lld,\"attempts\":%lld,\"not_before\":",
		  (long long)(now - ci->mtime), (long long)ci->mtime, ci->attempts);
	if (ci->not_before > 0)
		sb_printf(sb, "%lld", (long long)ci->not_before);
	else
		sb_adds(sb, "null");
	sb_adds(sb, ",\"reason\":");
	json_quote(sb, ci->reason, false);
	sb_addc(sb, '}');
}

/* The cells of one line: stage, state, id, age, tries, origin, original */
#define NCOLS 7
static void
cells(const struct census_item *ci, int64_t now, char *age, char *tries, const char *c[NCOLS])
{
	age_text(age, 32, now - ci->mtime);
	snprintf(tries, 32, "%lld", ci->attempts);
	c[0] = ci->stage, c[1] = census_state_name(ci->state), c[2] = ci->id, c[3] = age;
	c[4] = tries, c[5] = ci->origin[0] ? ci->origin : "-";
	c[6] = ci->original[0] ? ci->original : "-";
}

/* Columns aligned on the widest value (age and tries to the right); the
 * reason, last, is not padded. */
static void
print_text(const struct census_item **v, size_t n, int64_t now)
{
	static const char *const head[NCOLS] = {"STAGE", "STATE",  "ID",      "AGE",
						"TRIES", "ORIGIN", "ORIGINAL"};
	const char *c[NCOLS];
	char age[32], tries[32];
	int w[NCOLS];

	for (int k = 0; k < NCOLS; k++)
		w[k] = (int)strlen(head[k]);
	for (size_t i = 0; i < n; i++) {
		cells(v[i], now, age, tries, c);
		for (int k = 0; k < NCOLS; k++)
			w[k] = (int)strlen(c[k]) > w[k] ? (int)strlen(c[k]) : w[k];
	}
	for (size_t i = 0; i <= n; i++) {
		if (i == 0)
			memcpy(c, head, sizeof(c));
		else
			cells(v[i - 1], now, age, tries, c);
		for (int k = 0; k < NCOLS; k++)
			printf(k == 3 || k == 4 ? "%*s " : "%-*s ", w[k], c[k]);
		printf("%s\n", i == 0 ? "REASON" : v[i - 1]->reason);
	}
}

static int
queue_usage(void)
{
	fprintf(stderr, "usage: tmcwatch queue [--json] [--stage S] [--failed]\n");
	return EX_USAGE;
}

int
cmd_queue(const struct opts *o, int argc, char **argv)
{
	static const struct option longopts[] = {
		{"json", no_argument, NULL, 'j'},
		{"stage", required_argument, NULL, 's'},
		{"failed", no_argument, NULL, 'f'},
		{NULL, 0, NULL, 0},
	};
	const char *stage = NULL;
	bool json = false, failed = false;
	const struct census_item **v;
	struct census c;
	struct conf conf = {0};
	struct spool sp;
	int64_t now = now_s_real();
	size_t n = 0;
	int ch;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (ch) {
		case 'j': json = true; break;
		case 's': stage = optarg; break;
		case 'f': failed = true; break;
		default: return queue_usage();
		}
	}
	if (optind != argc)
		return queue_usage();
	if (load_config(o, &conf, false) > 0) {
		conf_free(&conf);
		return EX_CONFIG;
	}
	if (spool_open(&sp, conf.spool_dir, false) < 0) {
		conf_free(&conf);
		return EX_UNAVAILABLE;
	}
	spool_census(&sp, CENSUS_ITEMS, &c);
	v = xcalloc(c.nitems + 1, sizeof(*v));
	for (size_t i = 0; i < c.nitems; i++)
		if (stage_matches(c.items[i].stage, stage) &&
		    (!failed || c.items[i].state == CENSUS_FAILED))
			v[n++] = &c.items[i];
	if (json) {
		struct strbuf sb = {0};

		sb_addc(&sb, '[');
		for (size_t i = 0; i < n; i++) {
			if (i)
				sb_addc(&sb, ',');
			item_json(&sb, v[i], now);
		}
		sb_adds(&sb, "]\n");
		fputs(sb.buf, stdout);
		sb_free(&sb);
	} else if (n) {
		print_text(v, n, now);
	} else {
		printf("queue is empty\n");
	}
	free(v);
	census_free(&c);
	spool_close(&sp);
	conf_free(&conf);
	return 0;
}
