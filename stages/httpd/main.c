/*
 * tmc-httpd - TMC's REST API for tmcwatch (see httpd.h), started by its own
 * systemd unit, never by the supervisor:
 *
 *   tmc-httpd [-d] [-c config.json] [-t template.json]
 *
 * Settings: the config object "http" (listen, port, token, max_body,
 * max_connections, max_per_ip, request_deadline, timeout,
 * idempotency_ttl); jobs go to spool_dir/req, the only folder it
 * writes. The spool and req/ are made if missing (the spool's parent must
 * exist), so jobs can be accepted before tmcwatch first runs; they wait in
 * req/.
 * Signals: SIGTERM/SIGINT stop (a request in hand is answered first: the
 * loop is single-threaded), SIGHUP reopens the log file and reloads the
 * configuration (sites, templates, token, limits; listen and port need a
 * restart). A configuration that does not load is refused and the running
 * one kept.
 * Exit: 0 after a signal; 64 usage; 78 configuration; 73 log file; 69 spool
 * or cannot listen.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <unistd.h>

#include "httpd.h"

static void
usage(void)
{
	fprintf(stderr, "usage: tmc-httpd [-d] [-c config.json] [-t template.json]\n");
	exit(EX_USAGE);
}

static int
load(struct httpd *h, struct conf *conf)
{
	struct conf_errors errs = {0};
	int n = conf_load(conf, h->conf_path, h->tpl_path, &errs);

	if (n == 0)
		n = conf_check(conf, &errs);
	for (size_t i = 0; i < errs.n; i++)
		log_warnx("%s", errs.msg[i]);
	conf_errors_free(&errs);
	return n > 0 ? -1 : 0;
}

static void
reload(struct httpd *h)
{
	struct conf fresh = {0};

	if (h->conf.log_file)
		log_open_file(h->conf.log_file);
	if (load(h, &fresh) < 0) {
		log_warnx("SIGHUP: the new configuration has errors; keeping the running one");
		conf_free(&fresh);
		return;
	}
	if (strcmp(fresh.http.listen, h->conf.http.listen) != 0 ||
	    fresh.http.port != h->conf.http.port ||
	    strcmp(fresh.spool_dir, h->conf.spool_dir) != 0 ||
	    fresh.http.max_connections != h->conf.http.max_connections ||
	    fresh.http.timeout != h->conf.http.timeout ||
	    fresh.http.max_per_ip != h->conf.http.max_per_ip)
		log_warnx("SIGHUP: listen, port, spool_dir, max_connections, max_per_ip and "
			  "timeout change at the next start");
	/* keep what the running daemon and spool were set up with */
	free(fresh.http.listen);
	fresh.http.listen = xstrdup(h->conf.http.listen);
	fresh.http.port = h->conf.http.port;
	free(fresh.spool_dir);
	fresh.spool_dir = xstrdup(h->conf.spool_dir);
	conf_free(&h->conf);
	h->conf = fresh;
	log_info("configuration reloaded");
}

/* true when asked to stop */
static bool
read_signals(struct httpd *h, int sigfd)
{
	struct signalfd_siginfo si;
	bool stop = false;

	while (read(sigfd, &si, sizeof(si)) == sizeof(si)) {
		if (si.ssi_signo == SIGHUP)
			reload(h);
		else
			stop = true;
	}
	return stop;
}

/* The spool and its req/, made if missing (not the spool's parents), and
 * req/.idempotency/. Not spool_open(): tmc-httpd needs no other folder and
 * may see no other (its unit hides stages/ and outbox/ behind mounts that
 * spool_open's one-file-system check would refuse); what it reads elsewhere
 * it reads when there. */
static int
spool_req(struct spool *sp, const char *path)
{
	struct stat st;

	sp->fd = -1;
	sp->path = xstrdup(path);
	if (mkdir(path, 0755) < 0 && errno != EEXIST) {
		log_warn("spool_dir %s (its parent folder must exist)", path);
		return -1;
	}
	if ((sp->fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
		log_warn("spool %s", path);
		return -1;
	}
	if ((mkdirat(sp->fd, "req", 0755) < 0 && errno != EEXIST) ||
	    (mkdirat(sp->fd, "req/.idempotency", 0755) < 0 && errno != EEXIST) ||
	    fstatat(sp->fd, "req/.idempotency", &st, AT_SYMLINK_NOFOLLOW) < 0 ||
	    !S_ISDIR(st.st_mode)) {
		log_warn("%s/req/.idempotency", path);
		return -1;
	}
	return 0;
}

static void
setup(struct httpd *h, int argc, char **argv)
{
	int ch, debug = 0;

	h->conf_path = CONF_DEFAULT_PATH;
	while ((ch = getopt(argc, argv, "c:dt:")) != -1) {
		switch (ch) {
		case 'c': h->conf_path = optarg; break;
		case 'd': debug = 1; break;
		case 't': h->tpl_path = optarg; break;
		default: usage();
		}
	}
	if (optind != argc)
		usage();
	log_init("tmc-httpd", debug);
	if (load(h, &h->conf) < 0)
		exit(EX_CONFIG);
	if (h->conf.log_file && log_open_file(h->conf.log_file) < 0)
		exit(EX_CANTCREAT);
	if (spool_req(&h->spool, h->conf.spool_dir) < 0)
		exit(EX_UNAVAILABLE);
}

int
main(int argc, char **argv)
{
	struct httpd h = {0};
	struct pollfd pfd[2];
	bool stop = false;

	setup(&h, argc, argv);
	pfd[1].fd = signals_open();
	if (server_start(&h) < 0)
		exit(EX_UNAVAILABLE);
	pfd[0].fd = server_fd(&h);
	pfd[0].events = pfd[1].events = POLLIN;
	while (!stop) {
		if (poll(pfd, 2, server_timeout_ms(&h)) < 0 && errno != EINTR)
			fatal("poll");
		if (pfd[1].revents)
			stop = read_signals(&h, pfd[1].fd);
		server_run(&h);
	}
	log_info("stopping: %llu jobs accepted", h.accepted);
	server_stop(&h);
	close(pfd[1].fd);
	spool_close(&h.spool);
	conf_free(&h.conf);
	return 0;
}
