/*
 * args.c - the command line and config every stage program starts with:
 * "[-d] [-c config.json] [-t template.json]" plus the program's own
 * options, the log's name and level, and the configuration loaded and
 * checked (every error as file:line:col, conf_load_logged) with the log
 * file opened. One place, so that the skeleton, tmc-jobs, tmc-notify,
 * tmc-gworker and tmc-watch read the same options and exit alike: 64
 * (EX_USAGE) for a bad command line, 78 (EX_CONFIG) for a configuration
 * with errors. tmc-httpd keeps its own: it checks a configuration only once
 * it loaded, loads it again on SIGHUP, and exits 73 when its log file
 * cannot be opened.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <sysexits.h>

#include "stage.h"

void
stage_args_usage(const struct stage_args *a)
{
	fprintf(stderr, "usage: %s [-d] [-c config.json] [-t template.json]%s\n",
		a->usage_name ? a->usage_name : a->name, a->own_usage ? a->own_usage : "");
	exit(EX_USAGE);
}

int
stage_args_parse(struct stage_args *a, int argc, char **argv)
{
	char opts[64];
	int ch;

	snprintf(opts, sizeof(opts), "c:dt:%s", a->own_opts ? a->own_opts : "");
	a->cpath = CONF_DEFAULT_PATH;
	a->tpath = NULL;
	a->debug = 0;
	while ((ch = getopt(argc, argv, opts)) != -1) {
		switch (ch) {
		case 'c': a->cpath = optarg; break;
		case 'd': a->debug = 1; break;
		case 't': a->tpath = optarg; break;
		default:
			if (ch == '?' || a->own == NULL || !a->own(a->arg, ch, optarg))
				stage_args_usage(a);
		}
	}
	log_init(a->name, a->debug);
	return optind;
}

void
stage_args_conf(const struct stage_args *a, struct conf *conf)
{
	if (conf_load_logged(conf, a->cpath, a->tpath) > 0)
		exit(EX_CONFIG);
	if (conf->log_file)
		log_open_file(conf->log_file);
}

void
stage_args_load(struct stage_args *a, struct conf *conf, int argc, char **argv)
{
	stage_args_parse(a, argc, argv);
	stage_args_conf(a, conf);
}
