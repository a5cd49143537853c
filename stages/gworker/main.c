/*
 * main.c - tmc-gworker -c config.json [-t template.json] [-d]: started by
 * `tmcwatch worker` (gearman.workers of them) on a worker host.
 *
 * The loop: connect (gear.c), wait for one job at a time with a 1 s
 * timeout, read SIGTERM/SIGINT/SIGHUP from the signalfd between waits (and
 * during a job, unit.c). When gearmand is gone (killed, restarted, not up
 * yet) the worker is dropped and made again after a pause doubling from
 * 1 s to MAX_BACKOFF_S, so a restarted gearmand is found again without
 * restarting this program. After each job the worker is made afresh too:
 * when gearmand died during a job, libgearman reconnects by itself and
 * registers the functions again but not the identifier (the host name in
 * gearmand's worker list); one connect per unit costs nothing beside the
 * unit's decoding. And libgearman's own reconnect while idle is not
 * trusted either: every LISTED_EVERY_MS of idleness each gearmand's worker
 * listing is asked whether it still lists this host with its functions
 * (listed.c); when not, the worker is made afresh at once.
 * At start and then once a minute, dead work in remote/
 * (stage/remote_work.c: a predecessor that died, an abandoned unit's items
 * a live stage worker carried on) is removed.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sysexits.h>
#include <unistd.h>

#include "gworker.h"

#define MAX_BACKOFF_S 8
#define LISTED_EVERY_MS 5000
/* Dead work is looked for this often, not only at start: an abandoned
 * unit's item that a live stage worker held when its work was removed
 * (deadline, stop) is carried on by that worker, which writes
 * remote/<key>.log and hands the item to the next step again. */
#define CLEAN_EVERY_MS 60000

static void
gw_setup(struct gw *g, int argc, char **argv)
{
	struct stage_args a = {.name = "tmc-gworker"};

	stage_args_load(&a, &g->conf, argc, argv);
	if (g->conf.gearman.nservers == 0 || !conf_remote_any(&g->conf)) {
		log_errx("%s: no gearman servers or no remote unit (gearman.templates, "
			 "gearman.steps): nothing to serve",
			 a.cpath);
		exit(EX_CONFIG);
	}
	/* one request at a time (an original of up to max_payload, as this
	 * host's spool hosts are configured alike) and its reply: the heap
	 * stays mapped between them (util/heap.c) */
	heap_keep_for((size_t)g->conf.gearman.max_payload, (size_t)g->conf.gearman.max_reply);
	if (spool_open(&g->sp, g->conf.spool_dir, false) < 0)
		exit(EX_UNAVAILABLE);
	fault_init(g->sp.fd, "tmc-gworker");
	if (g->conf.gearman.name)
		snprintf(g->host, sizeof(g->host), "%s", g->conf.gearman.name);
	else if (gethostname(g->host, sizeof(g->host) - 1) < 0)
		snprintf(g->host, sizeof(g->host), "unknown");
	if ((g->sigfd = signals_open()) < 0)
		fatal("signalfd");
}

/* remote_work_clean, at most once per CLEAN_EVERY_MS. */
static void
gw_clean(struct gw *g, int64_t *last)
{
	int64_t now = now_ms_mono();

	if (*last != 0 && now - *last < CLEAN_EVERY_MS)
		return;
	*last = now;
	remote_work_clean(&g->sp, &g->conf);
}

/* A pause that a signal cuts short. */
static void
gw_pause(struct gw *g, int seconds)
{
	struct pollfd pfd = {g->sigfd, POLLIN, 0};

	if (poll(&pfd, 1, seconds * 1000) > 0)
		gw_read_signals(g);
}

static bool
wait_ok(gearman_return_t r)
{
	return r == GEARMAN_SUCCESS || r == GEARMAN_TIMEOUT || r == GEARMAN_IO_WAIT ||
	       r == GEARMAN_NO_JOBS;
}

/* gearmand reachable or not, as logged: one warning when an outage starts
 * and one line when it ends, however many attempts are made meanwhile. */
struct link {
	bool down;
	int64_t down_ms; /* when the outage began (mono) */
	int backoff;     /* seconds before the next attempt */
};

/* A wait that did not fail while down: proof that gearmand answers? A job
 * or gearmand's "no job" is; a timeout is not (a connect to an unplugged
 * host times out the same as an idle wait), so gearmand's worker listing
 * is asked. Unproven, the outage goes on, unlogged, at the same pace. */
static void
link_ok(struct gw *g, struct link *l, gearman_return_t r)
{
	if (!l->down)
		return;
	if (r != GEARMAN_SUCCESS && r != GEARMAN_NO_JOBS && !(g->w && gear_lists_us(g)))
		return;
	log_info("gearmand answers again after %lld s",
		 (long long)((now_ms_mono() - l->down_ms + 500) / 1000));
	l->down = false;
	l->backoff = 1;
}

static void
link_failed(struct gw *g, struct link *l, gearman_return_t r)
{
	if (!l->down) {
		log_warnx("gearmand: %s: connecting again in %d s",
			  g->w ? gearman_worker_error(g->w) : gearman_strerror(r), l->backoff);
		l->down = true;
		l->down_ms = now_ms_mono();
	} else {
		log_debug("gearmand: %s: connecting again in %d s",
			  g->w ? gearman_worker_error(g->w) : gearman_strerror(r), l->backoff);
	}
	gear_close(g);
	gw_pause(g, l->backoff);
	l->backoff = l->backoff * 2 > MAX_BACKOFF_S ? MAX_BACKOFF_S : l->backoff * 2;
}

int
main(int argc, char **argv)
{
	struct gw g = {.sigfd = -1};
	struct link link = {.backoff = 1};
	int64_t checked = 0; /* when gearmand's listing was last asked */
	int64_t cleaned = 0;

	gw_setup(&g, argc, argv);
	gw_clean(&g, &cleaned);
	log_info("started as host %s, %zu servers", g.host, g.conf.gearman.nservers);
	while (!g.stop) {
		gearman_return_t r;

		gw_clean(&g, &cleaned);
		if (g.w == NULL) {
			if (gear_connect(&g) < 0) {
				gw_pause(&g, link.backoff);
				continue;
			}
			checked = now_ms_mono();
		}
		r = gearman_worker_work(g.w);
		gw_read_signals(&g);
		if (g.did_job) {
			g.did_job = false;
			gear_close(&g);
		}
		if (!wait_ok(r)) {
			link_failed(&g, &link, r);
			continue;
		}
		link_ok(&g, &link, r);
		if (g.w && !g.stop && now_ms_mono() - checked >= LISTED_EVERY_MS) {
			checked = now_ms_mono();
			if (!gear_listed(&g))
				gear_close(&g);
		}
	}
	log_info("stopping");
	gear_close(&g);
	close(g.sigfd);
	spool_close(&g.sp);
	conf_free(&g.conf);
	return 0;
}
