/*
 * idem.c - Idempotency-Key: the same key answers the same seq for
 * http.idempotency_ttl seconds (default 24 h), finished or not, and a kill
 * at any instruction followed by a retry of the key makes exactly one job.
 *
 * req/.idempotency/<sha256 of the key> holds "<seq>\n<sha256 of job and
 * list>\n" (a dot folder: tmc-jobs never looks at it). Its order with the
 * job is what makes it crash-safe:
 *
 *   1. flock(LOCK_EX) on req/.idempotency: keyed converts of every
 *      tmc-httpd on the spool take turns (the kernel drops the lock of a
 *      killed process), so a record without its job is never in progress
 *      while another request looks at it;
 *   2. the record is written durably (temp, fsync, rename, fsync) once the
 *      seq is chosen and BEFORE the job is linked to req/<seq>
 *      (job_queue_hook, spool/jobq.c); if that seq is taken meanwhile the
 *      record is rewritten for the next one;
 *   3. the job is linked and req/ fsynced.
 *
 * A retry finds the record: its job exists (req/, proc/, done/, err/) ->
 * the same seq; it does not (killed between 2 and 3: the client never got
 * a seq) -> the job is queued now and the record rewritten. A kill before
 * 2 leaves no record and no job. So one key never makes two jobs, and the
 * job is never visible without its key.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "httpd.h"

#define IDEM_DIR "req/.idempotency"

bool
idem_key_valid(const char *key)
{
	size_t n = strlen(key);

	if (n < 1 || n > 255)
		return false;
	for (const char *p = key; *p; p++)
		if (*p < 0x21 || *p > 0x7e)
			return false;
	return true;
}

static void
idem_names(struct idem *id, const char *key, const char *json, size_t jlen, const char *list,
	   size_t listlen)
{
	uint8_t d[SHA256_LEN];
	struct sha256 c;

	sha256(key, strlen(key), d);
	sha256_hex(d, id->name);
	sha256_init(&c);
	sha256_update(&c, json, jlen);
	if (list) {
		sha256_update(&c, "\0list\0", 6);
		sha256_update(&c, list, listlen);
	}
	sha256_final(&c, d);
	sha256_hex(d, id->job);
}

/* Once an hour, forget records older than the retention (and temporary
 * files a killed writer left). */
static void
idem_sweep(struct httpd *h, int dfd)
{
	int64_t now = now_ms_mono();
	time_t old = time(NULL) - h->conf.http.idempotency_ttl;
	struct dirent *de;
	struct stat st;
	int fd;
	DIR *d;

	if (h->idem_swept_ms && now - h->idem_swept_ms < 3600 * 1000)
		return;
	h->idem_swept_ms = now;
	if ((fd = dup(dfd)) < 0 || (d = fdopendir(fd)) == NULL) {
		if (fd >= 0)
			close(fd);
		return;
	}
	while ((de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0 &&
		    fstatat(dfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
		    S_ISREG(st.st_mode) && st.st_mtime < old)
			unlinkat(dfd, de->d_name, 0);
	closedir(d);
}

/* The record: IDEM_REPLAY (seq set), IDEM_REUSED, or IDEM_NEW (none, expired,
 * or a record whose job was never linked). */
static int
idem_lookup(struct httpd *h, struct idem *id, char *seq, size_t seqlen)
{
	char *text = file_read_at(id->dirfd, id->name, 4096, NULL), *nl;
	struct stat st;
	int r = IDEM_NEW;

	if (text == NULL)
		return IDEM_NEW;
	if ((nl = strchr(text, '\n')) != NULL && (*nl = '\0', tmc_seq_name_ok(text)) &&
	    fstatat(id->dirfd, id->name, &st, 0) == 0 &&
	    st.st_mtime >= time(NULL) - h->conf.http.idempotency_ttl) {
		if (strncmp(nl + 1, id->job, 2 * SHA256_LEN) != 0)
			r = IDEM_REUSED;
		else if (job_known(h->spool.fd, text))
			r = IDEM_REPLAY, snprintf(seq, seqlen, "%s", text);
		else
			log_info("Idempotency-Key of seq %s: its job was never queued (a crash "
				 "between the two writes): queueing it now",
				 text);
	}
	free(text);
	return r;
}

int
idem_begin(struct httpd *h, struct idem *id, const char *key, const char *json, size_t jlen,
	   const char *list, size_t listlen, char *seq, size_t seqlen)
{
	int r;

	id->dirfd = openat(h->spool.fd, IDEM_DIR, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (id->dirfd < 0 || flock(id->dirfd, LOCK_EX) < 0) {
		int e = errno;

		log_warn("%s/%s", h->spool.path, IDEM_DIR);
		idem_end(id);
		errno = e;
		return -1;
	}
	id->h = h;
	idem_names(id, key, json, jlen, list, listlen);
	idem_sweep(h, id->dirfd);
	if ((r = idem_lookup(h, id, seq, seqlen)) != IDEM_NEW)
		idem_end(id);
	return r;
}

/* job_queue_hook's before_link: the record, durable before the job exists */
int
idem_record(const char *seq, void *arg)
{
	struct idem *id = arg;
	char *line = xasprintf("%s\n%s\n", seq, id->job);
	int r;

	failpoint("idem-before-record");
	if ((r = file_publish_at(id->dirfd, id->name, line, strlen(line), true)) < 0) {
		int e = errno;

		log_warn("%s/%s/%s", id->h->spool.path, IDEM_DIR, id->name);
		errno = e;
	}
	free(line);
	return r;
}

void
idem_end(struct idem *id)
{
	if (id->dirfd >= 0)
		close(id->dirfd); /* and the lock with it */
	id->dirfd = -1;
}
