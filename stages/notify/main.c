/*
 * tmc-notify - job and step callbacks from <spool>/outbox (see notify.h),
 * started by the supervisor:
 *
 *   tmc-notify [-d] [-c config.json] [-t template.json]
 *
 * One loop waits, with curl_multi_poll(), on curl's sockets, the outbox's
 * inotify (new/, IN_MOVED_TO) and a signalfd. Up to NOTIFY_PARALLEL
 * callbacks are in flight at once, each claimed with the spool protocol
 * (flock + rename into cur/), so a receiver that never answers holds one
 * transfer for callback_timeout seconds and nothing else. At start: dead
 * claims go back to new/ (stage_recover), then new/ is scanned; events are
 * hints, the scan is the truth.
 *
 * An item put back with not_before (a retry) would wake its own inotify
 * watch; it is remembered with its due time and not claimed before then,
 * when new/ is scanned again (queue.c). At most NOTIFY_PER_HOST transfers
 * go to one receiver (host and port) at once: its other callbacks wait
 * unclaimed in new/ until one of them ends, so a receiver that hangs with a
 * hundred callbacks queued holds 4 of the 16 transfers, not all of them.
 *
 * Signals: SIGTERM/SIGINT take no new item and exit 0 once the transfers in
 * hand have ended (at most callback_timeout seconds); SIGHUP reopens the
 * log file. Exit: 64 usage, 78 configuration, 69 spool, 70 libcurl.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <unistd.h>

#include "notify.h"
#include "stage.h"

static void
take(struct notify *n, const char *id)
{
	struct delivery *d = NULL;
	char host[NOTIFY_HOST_MAX] = "";
	int64_t due = 0;

	if (queue_deferred(n, id, now_s_real()) || queue_held(n, id))
		return;
	if (queue_peek_host(n, id, host, sizeof(host)) && queue_host_busy(n, host)) {
		queue_hold(n, id, host); /* its receiver has NOTIFY_PER_HOST in flight */
		return;
	}
	for (size_t i = 0; i < NOTIFY_PARALLEL && d == NULL; i++)
		if (!n->d[i].busy)
			d = &n->d[i];
	switch (item_claim(&n->sd, id, &d->it, &due)) {
	case 1:
		snprintf(d->host, sizeof(d->host), "%s", host);
		deliver_start(n, d);
		break;
	case 2: queue_defer(n, id, due); break;
	default: break;
	}
}

static void
read_signals(struct notify *n)
{
	struct signalfd_siginfo si;

	while (read(n->sigfd, &si, sizeof(si)) == sizeof(si)) {
		if (si.ssi_signo == SIGHUP) {
			if (n->conf.log_file)
				log_open_file(n->conf.log_file);
		} else if (!n->stop) {
			n->stop = true;
			log_info("stopping after %zu callbacks in flight", n->active);
		}
	}
}

static void
finished_transfers(struct notify *n)
{
	struct delivery *d;
	CURLMsg *m;
	int left;

	while ((m = curl_multi_info_read(n->multi, &left)) != NULL) {
		if (m->msg != CURLMSG_DONE)
			continue;
		curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&d);
		deliver_done(n, d, m->data.result);
	}
}

static void
wait_events(struct notify *n)
{
	struct curl_waitfd fds[2] = {{n->inbox.ifd, CURL_WAIT_POLLIN, 0},
				     {n->sigfd, CURL_WAIT_POLLIN, 0}};
	int64_t now = now_s_real();
	long due = queue_next_due_ms(n, now), timeout = due < 0 || due > 60000 ? 60000 : due;
	int running;

	if (curl_multi_poll(n->multi, fds, n->stop ? 0 : 2, (int)timeout, NULL) != CURLM_OK)
		fatalx("curl_multi_poll failed");
	if (fds[1].revents)
		read_signals(n);
	if (fds[0].revents && inbox_read_events(&n->inbox))
		inbox_scan(&n->inbox, &n->sd);
	curl_multi_perform(n->multi, &running);
	finished_transfers(n);
	if (due >= 0 && queue_next_due_ms(n, now_s_real()) == 0) {
		queue_forget_due(n, now_s_real());
		inbox_scan(&n->inbox, &n->sd); /* a retry is due: new/ is the truth */
	}
}

static void
setup(struct notify *n, int argc, char **argv)
{
	struct stage_args a = {.name = "tmc-notify"};

	if (stage_args_parse(&a, argc, argv) != argc)
		stage_args_usage(&a);
	stage_args_conf(&a, &n->conf);
	if (spool_open(&n->spool, n->conf.spool_dir, false) < 0)
		exit(EX_UNAVAILABLE);
	fault_init(n->spool.fd, "tmc-notify");
	if (outbox_open(&n->sd, &n->spool, true) < 0)
		exit(EX_UNAVAILABLE);
	if ((mkdirat(n->sd.fd, "sent", 0755) < 0 && errno != EEXIST) ||
	    (n->sentfd = openat(n->sd.fd, "sent", O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
		log_warn("%s/sent", n->sd.path);
		exit(EX_UNAVAILABLE);
	}
	log_set_stage("outbox");
	n->sigfd = signals_open();
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != 0 || (n->multi = curl_multi_init()) == NULL) {
		log_warnx("libcurl initialisation failed");
		exit(EX_SOFTWARE);
	}
	stage_recover(&n->sd, 0x7fffffff);
	if (inbox_open(&n->inbox, &n->sd) < 0 || inbox_scan(&n->inbox, &n->sd) < 0)
		exit(EX_UNAVAILABLE);
}

int
main(int argc, char **argv)
{
	struct notify n = {.sigfd = -1, .sentfd = -1};
	const char *id;

	setup(&n, argc, argv);
	log_info("started");
	while (!n.stop || n.active > 0) {
		while (!n.stop && n.active < NOTIFY_PARALLEL &&
		       ((id = queue_next_ready(&n)) != NULL || (id = inbox_next(&n.inbox)) != NULL))
			take(&n, id);
		wait_events(&n);
	}
	log_info("stopped: %llu callbacks delivered, %llu failed for good", n.delivered, n.failed);
	curl_multi_cleanup(n.multi);
	curl_global_cleanup();
	inbox_close(&n.inbox);
	stage_close(&n.sd);
	spool_close(&n.spool);
	close(n.sigfd);
	close(n.sentfd);
	queue_free(&n);
	conf_free(&n.conf);
	return 0;
}
