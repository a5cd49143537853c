/*
 * cmd_check.c - tmcwatch check: like nginx -t. Every error on its own line
 * as "file:line:col: key: what is wrong"; exit 0 with "configuration OK",
 * or EX_CONFIG. A configuration that loads is then checked against the
 * machine: a stage program it needs that is not installed where run would
 * look is an error (EX_UNAVAILABLE: run would leave its items waiting); a
 * site root that does not exist, and a REST shim that listens beyond
 * loopback without a token, are warnings (the exit status stays 0).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "tmcwatch.h"

/* One error per missing program (not per worker row), with where run looks. */
static int
check_programs(const struct conf *conf)
{
	struct plan p;
	int errors = 0;

	plan_build(&p, conf);
	for (size_t i = 0; i < p.nmissing; i++) {
		const struct plan_missing *m = &p.missing[i];
		size_t more = 0;
		bool seen = false;

		for (size_t j = 0; j < i; j++)
			seen = seen || strcmp(p.missing[j].program, m->program) == 0;
		if (seen)
			continue;
		for (size_t j = i + 1; j < p.nmissing; j++)
			more += strcmp(p.missing[j].program, m->program) == 0;
		fprintf(stderr, "error: %s/%s: %s (looked in %s: %s); %s needs it%s\n",
			libexec_dir(), m->program, strerror(m->err), libexec_dir(),
			libexec_source(), m->label, more ? " and more" : "");
		errors++;
	}
	plan_free(&p);
	return errors;
}

static void
warn_site_roots(const struct conf *conf)
{
	struct stat st;

	for (size_t i = 0; i < conf->nsites; i++) {
		const struct site *s = &conf->sites[i];

		if (stat(s->root, &st) == 0 && S_ISDIR(st.st_mode))
			continue;
		fprintf(stderr, "warning: %s:%d:%d: site.%s.root: %s: %s\n", conf->path, s->line,
			s->col, s->name, s->root,
			stat(s->root, &st) == 0 ? "not a folder" : strerror(errno));
	}
}

/* 127.0.0.0/8, ::1 and ::ffff:127.x.y.z; a listen that is none of these
 * (or not an address at all) counts as reachable from elsewhere. */
static bool
is_loopback(const char *addr)
{
	struct in_addr a4;
	struct in6_addr a6;

	if (inet_pton(AF_INET, addr, &a4) == 1)
		return (ntohl(a4.s_addr) >> 24) == 127;
	if (inet_pton(AF_INET6, addr, &a6) == 1)
		return IN6_IS_ADDR_LOOPBACK(&a6) ||
		       (IN6_IS_ADDR_V4MAPPED(&a6) && a6.s6_addr[12] == 127);
	return false;
}

static void
warn_http(const struct conf *conf)
{
	const struct http_conf *h = &conf->http;

	if (h->token || !h->listen || is_loopback(h->listen))
		return;
	fprintf(stderr,
		"warning: %s: http.listen: tmc-httpd listens on %s port %d, beyond loopback, and "
		"http.token is not set: whoever reaches that port can submit and cancel jobs\n",
		conf->path, h->listen, h->port);
}

int
cmd_check(const struct opts *o, int argc, char **argv)
{
	struct conf conf = {0};
	int n;

	(void)argc;
	(void)argv;
	n = load_config(o, &conf, false);
	if (n > 0) {
		conf_free(&conf);
		fprintf(stderr, "%d error%s in the configuration\n", n, n == 1 ? "" : "s");
		return EX_CONFIG;
	}
	warn_site_roots(&conf);
	warn_http(&conf);
	n = check_programs(&conf);
	conf_free(&conf);
	if (n > 0) {
		fprintf(stderr, "%d stage program%s missing: run would leave %s items waiting\n", n,
			n == 1 ? "" : "s", n == 1 ? "its" : "their");
		return EX_UNAVAILABLE;
	}
	printf("configuration OK\n");
	return 0;
}
