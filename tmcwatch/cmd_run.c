/*
 * cmd_run.c - tmcwatch run: the daemon, in the foreground.
 *
 * One daemon per spool: run/tmcwatch.pid is held with flock for the
 * daemon's life, so `status` can tell "running" from a stale file, and a
 * second `run` on the same spool refuses to start (EX_TEMPFAIL).
 *
 * tmcwatch worker is the same daemon with a worker host's plan
 * (tmcwatch-worker(8)): a configuration with no remote unit is refused,
 * and the dead work of a previous life is removed from remote/ before any
 * child starts (stage/remote_work.c).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "stage.h"
#include "tmcwatch.h"

static int
pidfile_lock(const struct spool *sp)
{
	char buf[32];
	int fd, n;

	fd = openat(sp->fd, "run/tmcwatch.pid", O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (fd < 0) {
		log_warn("%s/run/tmcwatch.pid", sp->path);
		return -1;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		n = (int)pread(fd, buf, sizeof(buf) - 1, 0);
		buf[n > 0 ? n : 0] = '\0';
		buf[strcspn(buf, "\n")] = '\0';
		log_warnx("another tmcwatch (pid %s) runs on spool %s", buf[0] ? buf : "?",
			  sp->path);
		close(fd);
		return -1;
	}
	n = snprintf(buf, sizeof(buf), "%d\n", (int)getpid());
	if (ftruncate(fd, 0) < 0 || pwrite(fd, buf, (size_t)n, 0) != n)
		log_warn("%s/run/tmcwatch.pid", sp->path);
	return fd;
}

int
cmd_run(const struct opts *o, int argc, char **argv)
{
	struct conf conf = {0};
	struct spool sp;
	int lockfd, sigfd, r;

	(void)argc;
	(void)argv;
	if (load_config(o, &conf, false) > 0) {
		conf_free(&conf);
		return EX_CONFIG;
	}
	if (o->worker && !conf_remote_any(&conf)) {
		log_warnx("%s: tmcwatch worker needs gearman.servers and a remote unit "
			  "(gearman.templates or gearman.steps)",
			  conf.path);
		conf_free(&conf);
		return EX_CONFIG;
	}
	if (conf.log_file && log_open_file(conf.log_file) < 0) {
		conf_free(&conf);
		return EX_CANTCREAT;
	}
	if (spool_open(&sp, conf.spool_dir, true) < 0) {
		conf_free(&conf);
		return EX_CANTCREAT;
	}
	/* before the pid file tells anyone to signal us */
	if ((sigfd = supervise_signals()) < 0)
		fatal("signalfd");
	if ((lockfd = pidfile_lock(&sp)) < 0) {
		close(sigfd);
		spool_close(&sp);
		conf_free(&conf);
		return EX_TEMPFAIL;
	}
	fault_init(sp.fd, "tmcwatch");
	workers_clear(&sp);
	processed_clear(&sp); /* "Total processed" counts from this start */
	if (o->worker)
		remote_work_clean(&sp, &conf);
	if (slots_init(&sp, conf.worker_cnt, conf.big_worker) < 0) {
		close(sigfd);
		r = EX_CANTCREAT;
	} else {
		r = supervise(o, &conf, &sp, sigfd);
	}
	unlinkat(sp.fd, "run/tmcwatch.pid", 0);
	close(lockfd);
	spool_close(&sp);
	conf_free(&conf);
	return r;
}

int
cmd_worker(const struct opts *o, int argc, char **argv)
{
	struct opts w = *o;

	w.worker = true;
	return cmd_run(&w, argc, argv);
}
