/*
 * jobq.c - a job file into req/, durably, under a unique seq: what
 * `tmcwatch submit` and tmc-httpd's act=convert do (doc/ARCHITECTURE.md, Durability:
 * a job accepted is a promise).
 *
 * The seq keeps TMC's 15-digit form, yymmddHHMMSS (in seq_timezone, else
 * local time: seqstamp.c) + 3 digits,
 * but is unique where TMC's rand(1,100) could collide and overwrite a job:
 *
 *   1. the job (and the uploaded file list, if any) is written under a
 *      temporary dot name in req/, fsynced;
 *   2. a seq is chosen: the 3 digits count up within the second, per
 *      process; a seq already used by a job in proc/, done/ or err/ (or by
 *      a list in proc/) is skipped;
 *   3. the list is link(2)ed to req/<seq>.file and req/ fsynced, so the
 *      list is durable before the job can be seen (tmc-jobs moves it to
 *      proc/<seq>.file, TMC's place, when it takes the job);
 *   4. the job is link(2)ed to req/<seq> and req/ fsynced. link fails with
 *      EEXIST instead of replacing, so two writers (another tmc-httpd,
 *      `tmcwatch submit`) can never take the same seq: the loser tries the
 *      next 3 digits. A hook (tmc-httpd's Idempotency-Key record) runs
 *      after the seq is chosen and before the job is linked, so what it
 *      records is durable before the job can be seen.
 *
 * When all 1000 seqs of the second are taken it fails at once with EAGAIN
 * (the caller retries in the next second: tmc-httpd answers 503 with
 * Retry-After, its one thread never sleeps here); the search is bounded by
 * the seqs left in the second, since the count is kept per process.
 * Errors keep their errno through the cleanup (a full disk is ENOSPC, not
 * the ENOENT of removing a temporary file that was never made), so callers
 * can tell a machine fault from a bad request.
 *
 * Everything is written in req/ only (tmc-httpd's unit may write nothing
 * else). A crash leaves at most dot files in req/ (readers skip dot names)
 * or a req/<seq>.file without its job; never a half job in req/.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "spool.h"

static int
jobq_temp(int dirfd, const char *name, const char *buf, size_t len)
{
	int fd, saved;

	unlinkat(dirfd, name, 0); /* a leftover of a crashed process with our pid */
	fd = openat(dirfd, name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (fd < 0)
		return -1;
	if (write_all(fd, buf, len) < 0 || fsync(fd) < 0) {
		saved = errno;
		close(fd);
		unlinkat(dirfd, name, 0);
		errno = saved;
		return -1;
	}
	if (close(fd) < 0) {
		saved = errno;
		unlinkat(dirfd, name, 0);
		errno = saved;
		return -1;
	}
	return 0;
}

/* Is seq taken by a job that ran or runs (proc/, done/, err/), or by a
 * list in proc/? */
static bool
jobq_seq_used(const struct spool *sp, const char *seq, bool list)
{
	static const char *dirs[] = {"proc", "done", "err"};
	char path[64];
	struct stat st;

	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", dirs[i], seq);
		if (fstatat(sp->fd, path, &st, AT_SYMLINK_NOFOLLOW) == 0)
			return true;
	}
	snprintf(path, sizeof(path), "proc/%s.file", seq);
	return list && fstatat(sp->fd, path, &st, AT_SYMLINK_NOFOLLOW) == 0;
}

/* 1 linked, 0 seq taken (try another), -1 error */
static int
jobq_link(const struct spool *sp, int reqfd, const char *tmp, const char *tmplist, const char *seq,
	  const struct jobq_hook *hook)
{
	char file[64];

	if (jobq_seq_used(sp, seq, tmplist != NULL))
		return 0;
	snprintf(file, sizeof(file), "%s.file", seq);
	if (tmplist) {
		if (linkat(reqfd, tmplist, reqfd, file, 0) < 0)
			return errno == EEXIST ? 0 : -1;
		if (fsync(reqfd) < 0)
			goto undo;
	}
	if (hook && hook->before_link(seq, hook->arg) < 0)
		goto undo;
	failpoint("jobq-before-link");
	if (linkat(reqfd, tmp, reqfd, seq, 0) == 0)
		return 1;
	if (errno != EEXIST)
		goto undo;
	if (tmplist)
		unlinkat(reqfd, file, 0);
	return 0;
undo:
	if (tmplist) {
		int saved = errno;

		unlinkat(reqfd, file, 0);
		errno = saved;
	}
	return -1;
}

/* A free seq of this second, and the job linked to it: 1, or -1 (EAGAIN:
 * every seq of this second is taken). */
static int
jobq_pick(const struct spool *sp, int reqfd, const char *tmp, const char *tmplist, char *seq,
	  size_t seqlen, const struct jobq_hook *hook)
{
	static char last_stamp[16];
	static int next;
	char stamp[16];
	time_t now = time(NULL);
	int r;

	seq_stamp(stamp, sizeof(stamp), now, sp->seq_tz);
	if (strcmp(stamp, last_stamp) != 0) {
		memcpy(last_stamp, stamp, sizeof(stamp));
		next = 0;
	}
	for (; next < 1000; next++) {
		snprintf(seq, seqlen, "%s%03d", stamp, next);
		if ((r = jobq_link(sp, reqfd, tmp, tmplist, seq, hook)) != 0) {
			next++;
			return r;
		}
	}
	errno = EAGAIN;
	return -1;
}

int
job_queue_hook(const struct spool *sp, const char *text, size_t len, const char *list,
	       size_t listlen, const struct jobq_hook *hook, char *seq, size_t seqlen)
{
	static unsigned counter;
	char tmp[64], tmplist[80];
	int reqfd, r = -1, saved = 0;

	snprintf(tmp, sizeof(tmp), ".jobq.%d.%u", (int)getpid(), counter++);
	snprintf(tmplist, sizeof(tmplist), "%s.list", tmp);
	reqfd = openat(sp->fd, "req", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (reqfd < 0 || jobq_temp(reqfd, tmp, text, len) < 0 ||
	    (list && jobq_temp(reqfd, tmplist, list, listlen) < 0)) {
		saved = errno;
		log_warn("%s/req/%s", sp->path, tmp);
	} else if ((r = jobq_pick(sp, reqfd, tmp, list ? tmplist : NULL, seq, seqlen, hook)) < 0) {
		saved = errno;
		log_warn("%s/req: queueing a job", sp->path);
	} else if (fsync(reqfd) < 0) {
		/* not promised, so not queued: take it back (unless already taken) */
		saved = errno;
		log_warn("fsync %s/req", sp->path);
		unlinkat(reqfd, seq, 0);
		r = -1;
	}
	if (reqfd >= 0) {
		unlinkat(reqfd, tmp, 0);
		unlinkat(reqfd, tmplist, 0);
		close(reqfd);
	}
	errno = saved; /* the cause, not what the cleanup met */
	return r < 0 ? -1 : 0;
}

int
job_queue(const struct spool *sp, const char *text, size_t len, const char *list, size_t listlen,
	  char *seq, size_t seqlen)
{
	return job_queue_hook(sp, text, len, list, listlen, NULL, seq, seqlen);
}
