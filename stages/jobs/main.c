/*
 * main.c - tmc-jobs -c config.json [-t template.json] [-d]: TMC's job
 * daemon loop (doc/TMC.md, Daemon loop) without its sleeps. Started by the
 * tmcwatch supervisor; one per spool (run/tmc-jobs.lock, flock).
 *
 * The loop waits on a signalfd and one inotify descriptor (req/ and proc/)
 * with a timeout: the one-second tick (ctrl files, missing reports), a
 * req/ file's quiet period, a pending .stat rewrite, or 0 while a scan has
 * entries left. Each turn: events, then every job (scan, results, control,
 * emission, closing), then req/ (judging, taking while fewer than
 * client_cnt jobs are open, paused ones included, as TMC counted them).
 *
 * At start every job file already in proc/ is adopted and resumes (TMC
 * left them there forever, doc/TMC.md, Fixes: adoption). SIGTERM/SIGINT: rows and .stat are
 * flushed and the process exits 0 at once; jobs stay in proc/ and are
 * adopted by the next start, so nothing waits for items in flight (TMC
 * requeued them to req/ only because it could not adopt). SIGHUP reopens
 * the log file. Exit codes: sysexits.h.
 *
 * At inotify's limits (spool/watchlimit.c) req/ and proc/ are scanned on
 * every tick instead, as after an overflow, and the watches are tried again
 * every POLL_RETRY ticks: tmc-jobs never exits for it.
 */
#include <dirent.h>
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
#include <time.h>
#include <unistd.h>

#include "jobs.h"

#define TICK_MS 1000
#define QUIET_MS 300
#define SETTLE_MS 3000
#define LOCK_WAIT_MS 30000
#define POLL_RETRY 5 /* ticks between tries to watch again */

static void
jobsd_args(struct jobsd *d, int argc, char **argv)
{
	struct stage_args a = {.name = "tmc-jobs"};
	const char *w;

	stage_args_load(&a, &d->conf, argc, argv);
	/* TMC_JOBS_WINDOW: files in flight per job (tests); TMC's que was worker_cnt */
	d->window = (size_t)(d->conf.worker_cnt * 4 > 16 ? d->conf.worker_cnt * 4 : 16);
	if ((w = getenv("TMC_JOBS_WINDOW")) != NULL && atoi(w) > 0)
		d->window = (size_t)atoi(w);
	d->quiet_ms = QUIET_MS;
	d->settle_ms = SETTLE_MS;
}

/* One tmc-jobs per spool; a predecessor that is finishing gets a while. */
static int
jobsd_lock(struct jobsd *d)
{
	int fd = openat(d->sp.fd, "run/tmc-jobs.lock", O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW,
			0644);
	struct timespec pause = {0, 100 * 1000000};

	if (fd < 0) {
		log_warn("%s/run/tmc-jobs.lock", d->sp.path);
		exit(EX_CANTCREAT);
	}
	for (int waited = 0; flock(fd, LOCK_EX | LOCK_NB) < 0; waited += 100) {
		if (errno != EWOULDBLOCK || waited >= LOCK_WAIT_MS) {
			log_warnx("another tmc-jobs holds %s/run/tmc-jobs.lock", d->sp.path);
			exit(EX_TEMPFAIL);
		}
		nanosleep(&pause, NULL);
	}
	return fd;
}

static int
open_dir(struct jobsd *d, const char *name)
{
	int fd = openat(d->sp.fd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0) {
		log_warn("%s/%s", d->sp.path, name);
		exit(EX_UNAVAILABLE);
	}
	return fd;
}

/* inotify on req/ and proc/; false (nothing watched) at inotify's limits. */
static bool
jobsd_watch(struct jobsd *d)
{
	char path[4096];
	int err;

	if ((d->ifd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC)) < 0 && !inotify_limit_errno(errno))
		fatal("inotify_init1");
	snprintf(path, sizeof(path), "%s/req", d->sp.path);
	if (d->ifd >= 0 &&
	    (d->wd_req = inotify_add_watch(d->ifd, path,
					   IN_CREATE | IN_MODIFY | IN_CLOSE_WRITE | IN_MOVED_TO |
						   IN_MOVED_FROM | IN_DELETE)) >= 0) {
		snprintf(path, sizeof(path), "%s/proc", d->sp.path);
		d->wd_proc = inotify_add_watch(
			d->ifd, path, IN_MODIFY | IN_CLOSE_WRITE | IN_MOVED_TO | IN_DELETE);
		if (d->wd_proc >= 0)
			return true;
	}
	err = errno;
	if (!inotify_limit_errno(err))
		fatal("inotify_add_watch %s", path);
	if (d->ifd >= 0)
		close(d->ifd);
	d->ifd = -1;
	snprintf(path, sizeof(path), "%s/req and proc", d->sp.path);
	inotify_limit_hit(err, path);
	return false;
}

static void
jobsd_open(struct jobsd *d)
{
	if (spool_open(&d->sp, d->conf.spool_dir, false) < 0)
		exit(EX_UNAVAILABLE);
	d->sp.seq_tz = d->conf.seq_timezone;
	fault_init(d->sp.fd, "tmc-jobs");
	d->reqfd = open_dir(d, "req");
	d->procfd = open_dir(d, "proc");
	d->donefd = open_dir(d, "done");
	d->errfd = open_dir(d, "err");
	if (outbox_open(&d->outbox, &d->sp, false) < 0)
		exit(EX_UNAVAILABLE);
	d->sigfd = signals_open();
	if (!jobsd_watch(d))
		log_info("%s/req and proc are scanned every second until inotify has room again",
			 d->sp.path);
}

/* Polling (no inotify): what an overflow does, every tick; and now and then
 * a try to watch again (then one more scan, for what came meanwhile). */
static void
jobsd_poll(struct jobsd *d)
{
	if (++d->poll_ticks >= POLL_RETRY) {
		d->poll_ticks = 0;
		if (jobsd_watch(d)) {
			log_info("%s/req and proc are watched again", d->sp.path);
			fault_clear(FAULT_WATCHES);
		}
	}
	intake_scan(d);
	for (size_t i = 0; i < d->njobs; i++)
		ctrl_apply(d, d->jobs[i], false);
}

static int
name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void
jobsd_adopt_one(struct jobsd *d, const char *seq)
{
	char reason[REASON_MAX], label[SEQ_MAX + 8];
	struct jobspec js;
	size_t len;
	char *text = file_read_at(d->procfd, seq, JOB_MAX_BYTES, &len);

	snprintf(label, sizeof(label), "proc/%s", seq);
	if (text == NULL) {
		log_warn("%s/%s", d->sp.path, label);
		return;
	}
	if (jobspec_load(&js, &d->conf, label, text, len, reason, sizeof(reason)) < 0) {
		finish_reject(d, d->procfd, seq, seq, reason);
	} else {
		d->jobs = xreallocarray(d->jobs, d->njobs + 1, sizeof(*d->jobs));
		d->jobs[d->njobs++] = job_adopt(d, seq, &js, false);
	}
	free(text);
}

/* Job files in proc/ (tmc_seq_name_ok: not .stat .file ...), oldest first. */
static void
jobsd_adopt(struct jobsd *d)
{
	char **names = NULL;
	size_t n = 0;
	struct dirent *de;
	int fd = dup(d->procfd);
	DIR *dir = fd >= 0 ? fdopendir(fd) : NULL;

	if (dir == NULL)
		fatal("%s/proc", d->sp.path);
	/* a dup shares its offset with procfd and every earlier reader */
	rewinddir(dir);
	while ((de = readdir(dir)) != NULL) {
		if (jm_name_ignored(de->d_name) || !tmc_seq_name_ok(de->d_name) ||
		    de->d_type == DT_DIR)
			continue;
		names = xreallocarray(names, n + 1, sizeof(*names));
		names[n++] = xstrdup(de->d_name);
	}
	closedir(dir);
	if (n)
		qsort(names, n, sizeof(*names), name_cmp);
	for (size_t i = 0; i < n; i++) {
		jobsd_adopt_one(d, names[i]);
		free(names[i]);
	}
	free(names);
}

static struct job *
job_by_seq(struct jobsd *d, const char *seq, size_t len)
{
	for (size_t i = 0; i < d->njobs; i++)
		if (strlen(d->jobs[i]->seq) == len && strncmp(d->jobs[i]->seq, seq, len) == 0)
			return d->jobs[i];
	return NULL;
}

/* proc/<seq>.ctrl changed: the job acts now (a close or rename is final). */
static void
proc_event(struct jobsd *d, const char *name, uint32_t mask)
{
	char seq[SEQ_MAX];
	struct job *j;

	if (name[0] == '.' || job_file_kind(name, seq, sizeof(seq)) != JF_CTRL)
		return;
	if ((j = job_by_seq(d, seq, strlen(seq))) != NULL) {
		ctrl_apply(d, j, (mask & (IN_CLOSE_WRITE | IN_MOVED_TO)) != 0);
	} else {
		intake_ctrl(d, seq);
	}
}

static void
jobsd_events(struct jobsd *d)
{
	char buf[16384] __attribute__((aligned(__alignof__(struct inotify_event))));
	ssize_t n;

	while (d->ifd >= 0 && (n = read(d->ifd, buf, sizeof(buf))) > 0) {
		for (char *p = buf; p < buf + n;) {
			struct inotify_event *ev = (struct inotify_event *)p;

			p += sizeof(*ev) + ev->len;
			if (ev->mask & IN_Q_OVERFLOW) {
				intake_scan(d);
				for (size_t i = 0; i < d->njobs; i++)
					ctrl_apply(d, d->jobs[i], false);
			} else if (ev->len && ev->wd == d->wd_req) {
				intake_event(d, ev->name, ev->mask);
			} else if (ev->len && ev->wd == d->wd_proc) {
				proc_event(d, ev->name, ev->mask);
			}
		}
	}
}

static void
jobsd_signals(struct jobsd *d)
{
	struct signalfd_siginfo si;

	while (read(d->sigfd, &si, sizeof(si)) == sizeof(si)) {
		if (si.ssi_signo == SIGHUP && d->conf.log_file)
			log_open_file(d->conf.log_file);
		else if (si.ssi_signo != SIGHUP)
			d->stop = true;
	}
}

static int
jobsd_timeout(struct jobsd *d, int64_t next_tick)
{
	int64_t now = now_ms_mono(), due = intake_next_due(d);
	int64_t t = next_tick - now;

	if (due && due - now < t)
		t = due - now;
	for (size_t i = 0; i < d->njobs; i++) {
		int jt = job_timeout(d->jobs[i]);

		if (jt >= 0 && jt < t)
			t = jt;
	}
	return t > 0 ? (int)t : 0;
}

static void
jobsd_work(struct jobsd *d, bool tick)
{
	for (size_t i = 0; i < d->njobs;) {
		if (job_work(d, d->jobs[i], tick)) {
			struct tplstages *ts = d->jobs[i]->ts;

			job_free(&d->jobs[i]);
			tplstages_put(d, ts);
			d->jobs[i] = d->jobs[--d->njobs];
		} else {
			i++;
		}
	}
	intake_work(d, tick);
	if (tick)
		results_processed(d);
}

static void
jobsd_close(struct jobsd *d)
{
	for (size_t i = 0; i < d->njobs; i++) {
		results_flush(d, d->jobs[i]);
		if (d->jobs[i]->files)
			results_stat(d, d->jobs[i], true);
		job_free(&d->jobs[i]);
	}
	free(d->jobs);
	results_processed(d);
	intake_free(d);
	tplstages_free(d);
	if (d->ifd >= 0)
		close(d->ifd);
	close(d->sigfd);
	close(d->reqfd);
	close(d->procfd);
	close(d->donefd);
	close(d->errfd);
	stage_close(&d->outbox);
	spool_close(&d->sp);
	conf_free(&d->conf);
}

int
main(int argc, char **argv)
{
	struct jobsd d = {0};
	int64_t next_tick = 0;
	int lockfd;

	jobsd_args(&d, argc, argv);
	jobsd_open(&d);
	lockfd = jobsd_lock(&d);
	sweep_journals(&d);
	/* a predecessor of this daemon run counted first ("Total processed") */
	if (processed_read(&d.sp, "jobs", &d.processed, &d.processed_written) < 0)
		d.processed = 0;
	d.processed_written = d.processed;
	jobsd_adopt(&d);
	intake_scan(&d);
	log_info("started: %zu jobs adopted, window %zu files per job", d.njobs, d.window);
	while (!d.stop) {
		struct pollfd pfd[2] = {{d.sigfd, POLLIN, 0}, {d.ifd, POLLIN, 0}};
		bool tick;

		if (poll(pfd, 2, jobsd_timeout(&d, next_tick)) < 0 && errno != EINTR)
			fatal("poll");
		jobsd_signals(&d);
		jobsd_events(&d);
		if ((tick = now_ms_mono() >= next_tick))
			next_tick = now_ms_mono() + TICK_MS;
		if (tick && d.ifd < 0)
			jobsd_poll(&d);
		if (!d.stop)
			jobsd_work(&d, tick);
	}
	log_info("stopping: %zu jobs stay in proc/", d.njobs);
	jobsd_close(&d);
	close(lockfd);
	return 0;
}
