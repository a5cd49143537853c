/*
 * main.c - tmcwatch [-c config.json] [-t template.json] [-d] COMMAND
 *
 * Commands are a table; each lives in its own cmd_*.c. Exit codes come from
 * sysexits.h and are documented in tmcwatch(8).
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tmcwatch.h"

static const struct command {
	const char *name;
	int (*fn)(const struct opts *, int, char **);
	const char *help;
} commands[] = {
	{"run", cmd_run, "run the daemon in the foreground (what systemd starts)"},
	{"worker", cmd_worker, "run a worker host for remote units through gearmand (foreground)"},
	{"check", cmd_check, "validate config.json and template.json"},
	{"status", cmd_status, "print the daemon's and every stage's state [--json]"},
	{"submit", cmd_submit, "validate a job file, queue it in req/, print its seq [--dry-run]"},
	{"queue", cmd_queue, "list items waiting, working, failed [--json] [--stage S] [--failed]"},
	{"requeue", cmd_requeue,
	 "failed items back to new/: ID... | --failed [--stage S] [--since T]"},
	{"purge", cmd_purge, "remove failed items: ID... | --failed --older-than AGE [--stage S]"},
	{"sweep", cmd_sweep, "remove what is older than the retention now (the daemon does daily)"},
};

static void
usage(FILE *f)
{
	fprintf(f, "usage: tmcwatch [-d] [-c config.json] [-t template.json] command [args]\n"
		   "       tmcwatch --help | --version\n\ncommands:\n");
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(f, "  %-8s %s\n", commands[i].name, commands[i].help);
	fprintf(f, "\nDefault config: %s; template.json beside it.\n", CONF_DEFAULT_PATH);
}

int
load_config(const struct opts *o, struct conf *conf, bool quiet)
{
	struct conf_errors errs = {0};
	int n;

	n = conf_load(conf, o->conf_path, o->tpl_path, &errs);
	if (n == 0)
		n = conf_check(conf, &errs);
	for (size_t i = 0; i < errs.n && !quiet; i++)
		fprintf(stderr, "%s\n", errs.msg[i]);
	conf_errors_free(&errs);
	return n;
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, 'V'},
		{NULL, 0, NULL, 0},
	};
	struct opts o = {.conf_path = CONF_DEFAULT_PATH};
	int ch;

	log_init("tmcwatch", 0);
	while ((ch = getopt_long(argc, argv, "+c:dt:hV", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c': o.conf_path = optarg; break;
		case 't': o.tpl_path = optarg; break;
		case 'd': o.debug = 1; break;
		case 'h': usage(stdout); return 0;
		case 'V': printf("tmcwatch %s\n", TMC_VERSION); return 0;
		default: usage(stderr); return EX_USAGE;
		}
	}
	log_init("tmcwatch", o.debug);
	if (optind >= argc) {
		usage(stderr);
		return EX_USAGE;
	}
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strcmp(argv[optind], commands[i].name) == 0)
			return commands[i].fn(&o, argc - optind, argv + optind);
	fprintf(stderr, "tmcwatch: unknown command \"%s\"\n", argv[optind]);
	usage(stderr);
	return EX_USAGE;
}
