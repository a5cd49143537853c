/*
 * tmc-watch - one watch entry (TMC's watchdog.<site>) turned into items.
 *
 *   tmc-watch [-d] [-c config.json] [-t template.json] -w watch
 *
 * Started by the supervisor, one per watch. Watches <site root><dir> with
 * inotify (or scans it, see tree.c), hands every complete file off to the
 * first stages of the watch's template once (index.c, batch.c), and
 * keeps state/<key>.stat current for `tmcwatch status` (handed off,
 * converted, failed, in progress, waiting), where <key> is the watch's name
 * made safe for file names (rules.c). SIGTERM/SIGINT: hand off what is
 * ready, write the index, exit 0; files not ready yet are found by the next
 * start's scan. SIGHUP: reopen the log file. A second tmc-watch for the
 * same watch waits for the first one's lock (state/<key>.lock).
 *
 * Exit codes (sysexits.h): 64 usage, 78 configuration (no such watch, two
 * watches whose names make the same key), 69 spool unusable, 75 another
 * tmc-watch kept the lock for 30 s.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/inotify.h>
#include <sys/signalfd.h>
#include <sysexits.h>
#include <unistd.h>

#include "watch.h"

static const struct watch *
watch_find(struct wctx *c, const char *name)
{
	const struct watch *w = NULL;
	char other[ITEM_ID_MAX];

	for (size_t i = 0; i < c->conf.nwatches; i++)
		if (strcmp(c->conf.watches[i].name, name) == 0)
			w = &c->conf.watches[i];
	if (w == NULL) {
		log_warnx("no watch \"%s\" in %s", name, c->conf.path);
		exit(EX_CONFIG);
	}
	watch_key(w->name, c->key, sizeof(c->key));
	for (size_t i = 0; i < c->conf.nwatches; i++) {
		watch_key(c->conf.watches[i].name, other, sizeof(other));
		if (&c->conf.watches[i] != w && strcmp(other, c->key) == 0) {
			log_warnx("watches \"%s\" and \"%s\" would share state/%s.*: rename one",
				  w->name, c->conf.watches[i].name, c->key);
			exit(EX_CONFIG);
		}
	}
	return w;
}

/* -w watch, tmc-watch's own option. */
static bool
watch_own_opt(void *arg, int ch, const char *val)
{
	if (ch != 'w')
		return false;
	*(const char **)arg = val;
	return true;
}

static void
watch_args(struct wctx *c, int argc, char **argv)
{
	const char *name = NULL;
	struct stage_args a = {.name = "tmc-watch",
			       .own_opts = "w:",
			       .own_usage = " -w watch",
			       .own = watch_own_opt,
			       .arg = &name};

	if (stage_args_parse(&a, argc, argv) != argc || name == NULL)
		stage_args_usage(&a);
	c->debug = a.debug || getenv("TMC_DEBUG") != NULL;
	stage_args_conf(&a, &c->conf);
	c->w = watch_find(c, name);
	c->site = conf_site(&c->conf, c->w->site);
	c->tpl = conf_template(&c->conf, c->w->template);
}

/* The spool inside the watched tree would be watched too: never. */
static void
watch_spool_inside(struct wctx *c)
{
	char *root = realpath(c->root_abs, NULL), *spool = realpath(c->conf.spool_dir, NULL);
	size_t n = root ? strlen(root) : 0;

	if (root && spool && strncmp(spool, root, n) == 0 && spool[n] == '/')
		tree_exclude(c, spool + n, "the spool");
	free(root);
	free(spool);
}

/* Output folders of the template that lie inside the watched tree are not
 * watched: the watch would convert its own outputs. */
static void
watch_outputs(struct wctx *c)
{
	const char *dir = c->w->dir;
	size_t n = strlen(dir);

	while (n > 0 && dir[n - 1] == '/')
		n--;
	for (size_t j = 0; j < c->tpl->nsteps; j++) {
		const char *head = c->tpl->steps[j].path_head;
		size_t k = strlen(head);

		while (k > 0 && head[k - 1] == '/')
			k--;
		if (k == n && strncmp(head, dir, n) == 0) {
			log_warnx("step %s writes into the watched folder %s itself: its outputs "
				  "are watched too",
				  c->tpl->steps[j].name, c->root_abs);
		} else if (k > n && strncmp(head, dir, n) == 0 && head[n] == '/') {
			char *rel = xstrndup(head + n, k - n), *why;

			why = xasprintf("outputs of step %s", c->tpl->steps[j].name);
			tree_exclude(c, rel, why);
			free(why);
			free(rel);
		}
	}
}

static void
watch_read_signals(struct wctx *c)
{
	struct signalfd_siginfo si;

	while (read(c->sigfd, &si, sizeof(si)) == sizeof(si)) {
		if (si.ssi_signo == SIGHUP && c->conf.log_file)
			log_open_file(c->conf.log_file);
		else if (si.ssi_signo != SIGHUP)
			c->stop = true;
	}
}

/* One tmc-watch per watch: wait up to 30 s for a predecessor to finish. */
static void
watch_lock(struct wctx *c)
{
	char name[ITEM_ID_MAX + 8];

	snprintf(name, sizeof(name), "%s.lock", c->key);
	c->lockfd = openat(c->statefd, name, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (c->lockfd < 0) {
		log_warn("%s/state/%s", c->sp.path, name);
		exit(EX_UNAVAILABLE);
	}
	for (int i = 0; flock(c->lockfd, LOCK_EX | LOCK_NB) < 0; i++) {
		if (errno != EWOULDBLOCK || i == 300) {
			log_warn("another tmc-watch keeps %s/state/%s", c->sp.path, name);
			exit(EX_TEMPFAIL);
		}
		usleep(100 * 1000);
	}
}

/* Items are not fsynced (publish.c): after a reboot, check what was lost. */
static void
watch_boot(struct wctx *c)
{
	const char *e = getenv("TMC_WATCH_BOOT_ID"); /* tests: pretend a reboot */
	int fd = open("/proc/sys/kernel/random/boot_id", O_RDONLY | O_CLOEXEC);
	char boot[40] = "";
	ssize_t n;

	if (e)
		snprintf(boot, sizeof(boot), "%s", e);
	else if (fd >= 0 && (n = read(fd, boot, sizeof(boot) - 1)) > 0)
		boot[n] = '\0';
	if (fd >= 0)
		close(fd);
	boot[strcspn(boot, "\n ")] = '\0';
	if (boot[0] == '\0') {
		log_warnx("no boot id (/proc/sys/kernel/random/boot_id): a reboot is not noticed");
		return;
	}
	c->tree.rebooted = index_boot(&c->ix, boot);
	if (c->tree.rebooted)
		log_info("the host restarted since state/%s was written: items lost from the spool "
			 "are handed off again",
			 c->ix.name);
}

/* "Total processed" counts files accounted for since the daemon started:
 * the log's count then is the basis, kept in run/processed/ for a
 * restarted tmc-watch of the same run (spool/processed.c). */
static void
processed_start(struct wctx *c)
{
	long long files;

	snprintf(c->processed_who, sizeof(c->processed_who), "watch-%s", c->key);
	if (processed_read(&c->sp, c->processed_who, &files, &c->processed_basis) < 0 ||
	    c->processed_basis > c->tally.ok + c->tally.failed)
		c->processed_basis = c->tally.ok + c->tally.failed;
	processed_write(&c->sp, c->processed_who,
			c->tally.ok + c->tally.failed - c->processed_basis, c->processed_basis);
}

static void
watch_setup(struct wctx *c)
{
	size_t n;

	c->root_abs = xasprintf("%s%s", c->site->root, c->w->dir);
	n = strlen(c->root_abs);
	while (n > 1 && c->root_abs[n - 1] == '/')
		c->root_abs[--n] = '\0';
	log_set_stage(c->w->name);
	c->quiet_ms = c->w->quiet_ms;
	c->poll_ms = (c->w->min_sec > 0 ? c->w->min_sec : POLL_DEFAULT_S) * 1000;
	c->trace = getenv("TMC_TRACE") != NULL;
	watch_outputs(c);
	watch_spool_inside(c);
	c->tally_due = now_ms_mono() + 1000;
	if (spool_open(&c->sp, c->conf.spool_dir, false) < 0)
		exit(EX_UNAVAILABLE);
	fault_init(c->sp.fd, "tmc-watch");
	c->statefd = openat(c->sp.fd, "state", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (c->statefd < 0) {
		log_warn("%s/state", c->sp.path);
		exit(EX_UNAVAILABLE);
	}
	watch_lock(c);
	tally_init(&c->tally, c->statefd, c->key, c->tpl);
	/* the watchdog jobs first: the log gives their files' rows */
	if (index_open(&c->ix, c->statefd, c->key) < 0 || wdjob_load(c) < 0 ||
	    tally_open(&c->tally) < 0)
		exit(EX_UNAVAILABLE);
	processed_start(c);
	emitter_init(&c->em, &c->sp, c->tpl);
	watch_boot(c);
	c->sigfd = signals_open();
	c->refuse.skipped.debug = c->debug;
	tree_init(c);
}

static void
stat_values(struct wctx *c, long long *v)
{
	v[0] = c->ix.handed;
	v[1] = c->tally.ok;
	v[2] = c->tally.failed;
	v[3] = (long long)pend_count(&c->pend);
	v[4] = c->tree.root ? (long long)c->tree.ndirs : 0;
	v[5] = c->tree.root ? (long long)tree_unwatched(c) : -1;
}

/* state/<key>.stat for `tmcwatch status` (ticket format, not fsynced: it
 * is made again from the index and the result log at every start). */
static void
stat_write(struct wctx *c, bool force)
{
	long long v[6], done;
	struct ticket t = {0};
	char name[ITEM_ID_MAX + 8];
	size_t len;
	char *text;

	stat_values(c, v);
	if (!force && memcmp(v, c->stat_written, sizeof(v)) == 0)
		return;
	memcpy(c->stat_written, v, sizeof(v));
	done = v[1] + v[2];
	ticket_set(&t, "name", c->w->name);
	ticket_set(&t, "folder", c->root_abs);
	ticket_setf(&t, "handed", "%lld", v[0]);
	ticket_setf(&t, "ok", "%lld", v[1]);
	ticket_setf(&t, "failed", "%lld", v[2]);
	ticket_setf(&t, "in_progress", "%lld", v[0] > done ? v[0] - done : 0);
	ticket_setf(&t, "waiting", "%lld", v[3]);
	ticket_setf(&t, "folders", "%lld", v[4]);
	ticket_setf(&t, "scanned", "%lld", v[5] < 0 ? 0 : v[5]);
	ticket_set(&t, "watching", c->tree.root ? "yes" : "no");
	job_file(name, sizeof(name), c->key, JF_STAT);
	processed_write(&c->sp, c->processed_who, done - c->processed_basis, c->processed_basis);
	text = ticket_format(&t, &len);
	if (file_publish_at(c->statefd, name, text, len, false) < 0)
		log_warn("%s/state/%s", c->sp.path, name);
	free(text);
	ticket_free(&t);
}

static int
min_due(int64_t a, int64_t b)
{
	return a == 0 || (b != 0 && b < a);
}

/* poll() timeout: the nearest deadline, -1 when none */
static int
watch_timeout(struct wctx *c)
{
	int64_t due = 0, now = now_ms_mono();
	int64_t all[] = {pend_next_due(&c->pend), timers_next(&c->tm), c->tally_due, c->stat_due,
			 refuse_due(&c->refuse),  wdjob_due(&c->wd)};

	for (size_t i = 0; i < sizeof(all) / sizeof(*all); i++)
		if (min_due(due, all[i]))
			due = all[i];
	if (c->batch.n || (c->pend.nheap && c->pend.heap[0]->due <= now))
		return 0;
	return due == 0 ? -1 : due <= now ? 0 : (int)(due - now);
}

static void
watch_timers(struct wctx *c, int64_t now)
{
	if (c->tm.root_due && now >= c->tm.root_due && c->tree.rootfd < 0)
		tree_root_open(c);
	if (timers_rescan_take(&c->tm, now)) {
		if (c->tree.root)
			tree_walk(c, c->tree.root, WALK_FULL);
		c->tm.overflowed = false;
	}
	if (c->tree.root && timers_poll_take(&c->tm, now))
		tree_poll(c);
	if (c->tree.root)
		timers_sweep_check(&c->tm, c->ix.live, now);
	pend_expire(c, now);
	refuse_tick(&c->refuse, now);
}

/* Hand off what the turn found ready. A failure is returned, not called
 * back: a rescan is scheduled here. */
static void
watch_flush(struct wctx *c)
{
	struct flushed f = batch_flush(c);

	if (f.retry_ms)
		timers_rescan(&c->tm, false, now_ms_mono());
	if (f.files)
		c->tally_due = 1; /* soon: something is in flight */
}

/* Results are read every second while items are in flight; the stat file
 * is written at most once a second, when a count changed. Idle, nothing
 * wakes the loop. */
static void
watch_accounting(struct wctx *c, int64_t now)
{
	long long v[6];

	if (c->tally_due && now >= c->tally_due) {
		tally_refresh(&c->tally);
		c->tally_due = c->ix.handed > c->tally.ok + c->tally.failed ? now + 1000 : 0;
	}
	stat_values(c, v);
	if (memcmp(v, c->stat_written, sizeof(v)) == 0) {
		c->stat_due = 0;
	} else if (now >= c->stat_next) {
		stat_write(c, false);
		c->stat_next = now + 1000;
		c->stat_due = 0;
	} else {
		c->stat_due = c->stat_next;
	}
}

static void
watch_loop(struct wctx *c)
{
	while (!c->stop) {
		/* ifd changes when inotify's instance limit is hit and cleared */
		struct pollfd pfd[2] = {{c->sigfd, POLLIN, 0}, {c->tree.ifd, POLLIN, 0}};
		int64_t now;

		if (poll(pfd, 2, watch_timeout(c)) < 0 && errno != EINTR)
			fatal("poll");
		if (pfd[0].revents)
			watch_read_signals(c);
		if (pfd[1].revents)
			events_read(c);
		now = now_ms_mono();
		watch_timers(c, now);
		watch_flush(c);
		watch_accounting(c, now);
		wdjob_tick(c, now);
	}
}

static void
watch_teardown(struct wctx *c)
{
	batch_flush(c); /* what could not be handed off is found by the next start */
	tally_refresh(&c->tally);
	wdjob_tick(c, now_ms_mono()); /* what is finished is written; the rest at the next start */
	stat_write(c, true);
	tree_free(c);
	pend_free_all(&c->pend);
	batch_free(&c->batch);
	emitter_free(&c->em);
	index_close(&c->ix);
	tally_close(&c->tally);
	wdjob_free(&c->wd);
	refuse_free(&c->refuse);
	close(c->sigfd);
	close(c->statefd);
	close(c->lockfd);
	spool_close(&c->sp);
	free(c->root_abs);
	conf_free(&c->conf);
}

int
main(int argc, char **argv)
{
	static struct wctx c;
	int64_t t0;

	watch_args(&c, argc, argv);
	watch_setup(&c);
	t0 = now_ms_mono();
	log_info("watching %s for template %s (quiet %d ms, state/%s.*)", c.root_abs, c.tpl->name,
		 c.quiet_ms, c.key);
	if (tree_root_open(&c) == 0)
		log_info("ready: %zu folders, %zu watched, %zu files known, in %lld ms",
			 c.tree.ndirs, c.tree.nwatched, c.ix.live, (long long)(now_ms_mono() - t0));
	stat_write(&c, true);
	watch_loop(&c);
	log_info("stopping: %lld files handed off, %zu waiting", c.ix.handed, pend_count(&c.pend));
	watch_teardown(&c);
	return 0;
}
