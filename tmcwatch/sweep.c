/*
 * sweep.c - retention: what finished or failed long ago is removed, so the
 * spool does not grow for ever. `tmcwatch sweep` runs it; the supervisor
 * starts that command as a process of its own at start and every day
 * (sweep_spawn), so its loop never waits on a large folder.
 *
 * Removed, by modification time, when older than the configuration says:
 *  - done/ and err/ jobs (retention_days): all of a seq's files together
 *    (<seq>, <seq>.file, <seq>.result, ...), judged by the newest of them,
 *    and never a seq that is also in req/ or proc/;
 *  - failed items in every stage's err/ and in outbox/err/ (retention_days):
 *    the item's folder's age, as `tmcwatch purge --failed --older-than`
 *    judges it, and removed the way purge removes it (item_purge);
 *  - usage records state/records/YYYYMMDD.json (records_days);
 *  - delivered markers of step callbacks, outbox/sent/<id> (retention_days;
 *    tmc-notify's, see stages/notify/stepcb.c): a marker only guards
 *    against a crashed stage queuing the same callback again, minutes
 *    later at most.
 * In-flight work (req/, proc/, new/, cur/, tmp/) is never looked at, and
 * neither is state/<watch>.log: tmc-watch's accounting reads it and its
 * lines carry no time (tmcwatch.conf(5) says how to trim it).
 * Each failed item removed is logged with its original, origin and reason;
 * jobs and record days are logged by name at debug, and each class with its
 * count at info. One sweep at a time: run/sweep.lock is held with flock.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tmcwatch.h"

#define DAY_S 86400

struct entry {
	char *name;
	size_t seqlen; /* the job's seq: the name up to its first '.' */
	int64_t mtime;
};

static int
entry_cmp(const void *a, const void *b)
{
	const struct entry *x = a, *y = b;
	size_t n = x->seqlen < y->seqlen ? x->seqlen : y->seqlen;
	int c = memcmp(x->name, y->name, n);

	return c                        ? c
	       : x->seqlen != y->seqlen ? (x->seqlen < y->seqlen ? -1 : 1)
					: strcmp(x->name, y->name);
}

/* The entries of dirfd not starting with '.', with their mtimes. */
static struct entry *
list_entries(int dirfd, size_t *n)
{
	int fd = dup(dirfd);
	struct entry *v = NULL;
	struct dirent *de;
	struct stat st;
	DIR *d;

	*n = 0;
	if (fd < 0 || (d = fdopendir(fd)) == NULL) {
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.' ||
		    fstatat(dirfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			continue;
		v = xreallocarray(v, *n + 1, sizeof(*v));
		v[*n].name = xstrdup(de->d_name);
		v[*n].seqlen = strcspn(de->d_name, ".");
		v[(*n)++].mtime = st.st_mtim.tv_sec;
	}
	closedir(d);
	if (*n > 1) /* qsort(NULL, 0) is undefined */
		qsort(v, *n, sizeof(*v), entry_cmp);
	return v;
}

static void
entries_free(struct entry *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i].name);
	free(v);
}

/* Is the job seq (any of its files) in req/ or proc/, i.e. still running? */
static bool
job_live(const struct spool *sp, const char *seq)
{
	char path[NAME_MAX + 8];
	struct stat st;

	snprintf(path, sizeof(path), "req/%s", seq);
	if (fstatat(sp->fd, path, &st, AT_SYMLINK_NOFOLLOW) == 0)
		return true;
	snprintf(path, sizeof(path), "proc/%s", seq);
	return fstatat(sp->fd, path, &st, AT_SYMLINK_NOFOLLOW) == 0;
}

/* Remove entries [i, j) of one seq from dirfd; how many went. */
static int
remove_seq(const struct spool *sp, const char *dir, int dirfd, struct entry *v, size_t i, size_t j)
{
	int n = 0;

	for (size_t k = i; k < j; k++) {
		if (unlinkat(dirfd, v[k].name, 0) < 0 && errno != ENOENT) {
			log_warn("retention: remove %s/%s/%s", sp->path, dir, v[k].name);
			continue;
		}
		n++;
	}
	if (n)
		log_debug("retention: removed %s/%s/%.*s (%d files)", sp->path, dir,
			  (int)v[i].seqlen, v[i].name, n);
	return n;
}

/* done/ or err/: each seq whose newest file is older than cutoff. */
static int
sweep_jobs(const struct spool *sp, const char *dir, int64_t cutoff)
{
	int dirfd = openat(sp->fd, dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	size_t n = 0, i = 0, j;
	struct entry *v;
	int jobs = 0;

	if (dirfd < 0) {
		log_warn("retention: %s/%s", sp->path, dir);
		return 0;
	}
	v = list_entries(dirfd, &n);
	for (; i < n; i = j) {
		int64_t newest = v[i].mtime;
		char seq[NAME_MAX + 1];

		/* sorted by seq first: a seq's files are neighbours */
		for (j = i + 1; j < n && v[j].seqlen == v[i].seqlen &&
				memcmp(v[i].name, v[j].name, v[i].seqlen) == 0;
		     j++)
			newest = v[j].mtime > newest ? v[j].mtime : newest;
		snprintf(seq, sizeof(seq), "%.*s", (int)v[i].seqlen, v[i].name);
		if (newest >= cutoff || seq[0] == '\0' || job_live(sp, seq))
			continue;
		if (remove_seq(sp, dir, dirfd, v, i, j) > 0)
			jobs++;
	}
	entries_free(v, n);
	close(dirfd);
	return jobs;
}

/* Failed items of every stage and of outbox/, as purge removes them. */
static int
sweep_failed(const struct spool *sp, int64_t cutoff)
{
	struct stage_dir sd = {
		.fd = -1, .tmpfd = -1, .newfd = -1, .curfd = -1, .errfd = -1, .freefd = -1};
	char path[PATH_MAX], why[PATH_MAX + 128];
	struct census c;
	int n = 0;

	spool_census(sp, CENSUS_FAILED_ITEMS, &c);
	for (size_t i = 0; i < c.nitems; i++) {
		const struct census_item *ci = &c.items[i];

		if (ci->state != CENSUS_FAILED || ci->mtime >= cutoff)
			continue;
		if (sd.label == NULL || strcmp(sd.label, ci->stage) != 0) {
			stage_close(&sd);
			if (census_stage_path(sp, ci->stage, path, sizeof(path)) < 0 ||
			    stage_open_path(&sd, path, false) < 0)
				continue;
			free(sd.label);
			sd.label = xstrdup(ci->stage);
		}
		if (item_purge(&sd, ci->id, why, sizeof(why)) > 0) {
			log_info("retention: removed %s (%s; %s: %s)", why, ci->original ?: "-",
				 ci->origin ?: "-", ci->reason ?: "");
			n++;
		} else {
			log_warnx("retention: not removed: %s", why);
		}
	}
	stage_close(&sd);
	census_free(&c);
	return n;
}

/* state/records/YYYYMMDD.json older than cutoff. */
static int
sweep_records(const struct spool *sp, int64_t cutoff)
{
	int dirfd =
		openat(sp->fd, "state/records", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	struct entry *v;
	size_t n = 0;
	int days = 0;

	if (dirfd < 0)
		return 0; /* nothing recorded yet */
	v = list_entries(dirfd, &n);
	for (size_t i = 0; i < n; i++) {
		size_t len = strlen(v[i].name);

		if (v[i].mtime >= cutoff || len != 13 || strspn(v[i].name, "0123456789") != 8 ||
		    strcmp(v[i].name + 8, ".json") != 0)
			continue;
		if (unlinkat(dirfd, v[i].name, 0) < 0) {
			if (errno != ENOENT)
				log_warn("retention: remove %s/state/records/%s", sp->path,
					 v[i].name);
			continue;
		}
		log_debug("retention: removed %s/state/records/%s", sp->path, v[i].name);
		days++;
	}
	entries_free(v, n);
	close(dirfd);
	return days;
}

/* outbox/sent/ markers older than cutoff; logged with a count when any. */
static int
sweep_sent(const struct spool *sp, int64_t cutoff)
{
	int dirfd = openat(sp->fd, "outbox/sent", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	struct entry *v;
	size_t n = 0;
	int k = 0;

	if (dirfd < 0)
		return 0; /* no step callback delivered yet */
	v = list_entries(dirfd, &n);
	for (size_t i = 0; i < n; i++) {
		if (v[i].mtime >= cutoff || !id_valid(v[i].name))
			continue;
		if (unlinkat(dirfd, v[i].name, 0) < 0) {
			if (errno != ENOENT)
				log_warn("retention: remove %s/outbox/sent/%s", sp->path,
					 v[i].name);
			continue;
		}
		k++;
	}
	entries_free(v, n);
	close(dirfd);
	if (k > 0)
		log_info("retention: removed %d delivered markers of step callbacks from "
			 "%s/outbox/sent",
			 k, sp->path);
	return k;
}

/* One sweep; returns what it removed, or -1 when another sweep runs. */
int
sweep_run(const struct spool *sp, const struct conf *conf)
{
	int lockfd =
		openat(sp->fd, "run/sweep.lock", O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
	int64_t now = now_s_real(), keep = (int64_t)conf->retention_days * DAY_S;
	int done = 0, failed = 0, items = 0, records = 0;

	if (lockfd < 0 || flock(lockfd, LOCK_EX | LOCK_NB) < 0) {
		log_warn("retention: %s/run/sweep.lock (another sweep is running?)", sp->path);
		if (lockfd >= 0)
			close(lockfd);
		return -1;
	}
	if (conf->retention_days > 0) {
		done = sweep_jobs(sp, "done", now - keep);
		failed = sweep_jobs(sp, "err", now - keep);
		items = sweep_failed(sp, now - keep);
		sweep_sent(sp, now - keep);
	}
	if (conf->records_days > 0)
		records = sweep_records(sp, now - (int64_t)conf->records_days * DAY_S);
	log_info("retention: removed %d done jobs, %d failed jobs, %d failed items (older than %d "
		 "days), %d days of usage records (older than %d days)",
		 done, failed, items, conf->retention_days, records, conf->records_days);
	close(lockfd);
	return done + failed + items + records;
}

/* `tmcwatch sweep` in a process of its own (the supervisor's daily run):
 * it reads the configuration itself and logs where the supervisor does.
 * Its exit is reaped with the other children's (an unknown pid is
 * ignored there). */
void
sweep_spawn(const struct opts *o)
{
	char *argv[9];
	sigset_t empty;
	int n = 0;
	pid_t pid;

	argv[n++] = "tmcwatch";
	if (o->debug)
		argv[n++] = "-d";
	argv[n++] = "-c", argv[n++] = (char *)o->conf_path;
	if (o->tpl_path)
		argv[n++] = "-t", argv[n++] = (char *)o->tpl_path;
	argv[n++] = "sweep";
	argv[n] = NULL;
	if ((pid = fork()) < 0) {
		log_warn("retention: fork");
		return;
	}
	if (pid == 0) {
		sigemptyset(&empty);
		sigprocmask(SIG_SETMASK, &empty, NULL);
		execv("/proc/self/exe", argv);
		log_warn("retention: exec /proc/self/exe");
		_exit(EX_UNAVAILABLE);
	}
	log_debug("retention: sweep started, pid %d", (int)pid);
}

int
cmd_sweep(const struct opts *o, int argc, char **argv)
{
	struct conf conf = {0};
	struct spool sp;
	int r;

	(void)argv;
	if (argc != 1) {
		fprintf(stderr, "usage: tmcwatch sweep\n");
		return EX_USAGE;
	}
	if (load_config(o, &conf, false) > 0) {
		conf_free(&conf);
		return EX_CONFIG;
	}
	if (conf.log_file)
		log_open_file(conf.log_file);
	if (spool_open(&sp, conf.spool_dir, false) < 0) {
		conf_free(&conf);
		return EX_CANTCREAT;
	}
	r = sweep_run(&sp, &conf);
	spool_close(&sp);
	conf_free(&conf);
	return r < 0 ? EX_TEMPFAIL : 0;
}
