/*
 * jobq.c - a job file into req/, durably, under a unique seq: what
 * `tmcwatch submit` and tmc-httpd's act=convert do (DESIGN.md, Durability:
 * a job accepted is a promise).
 *
 * The seq keeps TMC's 15-digit form, yymmddHHMMSS (local time) + 3 digits,
 * but is unique where TMC's rand(1,100) could collide and overwrite a job:
 *
 *   1. the job (and the uploaded file list, if any) is written under a
 *      temporary dot name in req/ (proc/), fsynced;
 *   2. a seq is chosen: the 3 digits count up within the second, per
 *      process; a seq already used by a job in proc/, done/ or err/ is
 *      skipped;
 *   3. the list is link(2)ed to proc/<seq>.file and proc/ fsynced, so the
 *      list is durable before the job can be seen;
 *   4. the job is link(2)ed to req/<seq> and req/ fsynced. link fails with
 *      EEXIST instead of replacing, so two writers (another tmc-httpd,
 *      `tmcwatch submit`) can never take the same seq: the loser tries the
 *      next 3 digits. When all 1000 of a second are taken, it waits for the
 *      next second.
 *
 * A crash leaves at most a dot file in req/ or proc/ (readers skip dot
 * names) or a proc/<seq>.file without its job; never a half job in req/.
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

/* Is seq the name of a job that already ran or runs (proc/, done/, err/)? */
static bool
jobq_seq_used(const struct spool *sp, const char *seq)
{
	static const char *dirs[] = {"proc", "done", "err"};
	char path[64];
	struct stat st;

	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", dirs[i], seq);
		if (fstatat(sp->fd, path, &st, AT_SYMLINK_NOFOLLOW) == 0)
			return true;
	}
	return false;
}

/* 1 linked, 0 seq taken (try another), -1 error */
static int
jobq_link(const struct spool *sp, int reqfd, int procfd, const char *tmp, const char *seq)
{
	char file[64];

	if (jobq_seq_used(sp, seq))
		return 0;
	snprintf(file, sizeof(file), "%s.file", seq);
	if (procfd >= 0) {
		if (linkat(procfd, tmp, procfd, file, 0) < 0)
			return errno == EEXIST ? 0 : -1;
		if (fsync(procfd) < 0)
			goto undo;
	}
	if (linkat(reqfd, tmp, reqfd, seq, 0) == 0)
		return 1;
	if (errno != EEXIST)
		goto undo;
	if (procfd >= 0)
		unlinkat(procfd, file, 0);
	return 0;
undo:
	if (procfd >= 0) {
		int saved = errno;

		unlinkat(procfd, file, 0);
		errno = saved;
	}
	return -1;
}

static int
jobq_pick(const struct spool *sp, int reqfd, int procfd, const char *tmp, char *seq,
	  size_t seqlen)
{
	static char last_stamp[16];
	static int next;
	char stamp[16];
	struct timespec ts;
	time_t now;
	int r;

	for (int second = 0; second < 3; second++) {
		now = time(NULL);
		strftime(stamp, sizeof(stamp), "%y%m%d%H%M%S", localtime(&now));
		if (strcmp(stamp, last_stamp) != 0) {
			memcpy(last_stamp, stamp, sizeof(stamp));
			next = 0;
		}
		for (; next < 1000; next++) {
			snprintf(seq, seqlen, "%s%03d", stamp, next);
			if ((r = jobq_link(sp, reqfd, procfd, tmp, seq)) != 0) {
				next++;
				return r;
			}
		}
		/* all 1000 seqs of this second are taken: wait for the next one */
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec = 0;
		ts.tv_nsec = 1000000000L - ts.tv_nsec;
		nanosleep(&ts, NULL);
	}
	errno = EAGAIN;
	return -1;
}

int
job_queue(const struct spool *sp, const char *text, size_t len, const char *list,
	  size_t listlen, char *seq, size_t seqlen)
{
	static unsigned counter;
	char tmp[64];
	int reqfd, procfd = -1, r = -1;

	snprintf(tmp, sizeof(tmp), ".jobq.%d.%u", (int)getpid(), counter++);
	reqfd = openat(sp->fd, "req", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (reqfd < 0 || jobq_temp(reqfd, tmp, text, len) < 0) {
		log_warn("%s/req/%s", sp->path, tmp);
		goto out;
	}
	if (list) {
		procfd = openat(sp->fd, "proc", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (procfd < 0 || jobq_temp(procfd, tmp, list, listlen) < 0) {
			log_warn("%s/proc/%s", sp->path, tmp);
			goto out;
		}
	}
	if ((r = jobq_pick(sp, reqfd, procfd, tmp, seq, seqlen)) < 0)
		log_warn("%s/req: queueing a job", sp->path);
	else if (fsync(reqfd) < 0) {
		/* not promised, so not queued: take it back (unless already taken) */
		log_warn("fsync %s/req", sp->path);
		unlinkat(reqfd, seq, 0);
		r = -1;
	}
out:
	if (reqfd >= 0) {
		unlinkat(reqfd, tmp, 0);
		close(reqfd);
	}
	if (procfd >= 0) {
		unlinkat(procfd, tmp, 0);
		close(procfd);
	}
	return r < 0 ? -1 : 0;
}
