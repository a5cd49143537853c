/*
 * records_read.c - reading the usage record (state/records/YYYYMMDD.json,
 * record.c) back: followed from where reading stopped, for the
 * supervisor's metrics (records_follow), and the last stretch of time, for
 * tmc-httpd's status page (records_since, which seeks back from the end so
 * a long day costs only what it must read).
 *
 * Lines are written with one write(2) each; a line not yet ended by a
 * newline is left for the next read. Files are read in blocks through
 * pread, never whole.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "stage.h"

#define BLOCK 65536
#define BACK_MAX (64LL << 20) /* records_since reads at most this far back */

/* Is name "YYYYMMDD.json"? */
static bool
day_name(const char *name)
{
	return strlen(name) == 13 && strspn(name, "0123456789") == 8 &&
	       strcmp(name + 8, ".json") == 0;
}

/* The first day file after `after` ("" for none: the oldest), into next. */
static bool
day_after(int dirfd, const char *after, char *next, size_t len)
{
	int fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	struct dirent *de;
	DIR *d;

	next[0] = '\0';
	if (fd < 0 || (d = fdopendir(fd)) == NULL) {
		if (fd >= 0)
			close(fd);
		return false;
	}
	while ((de = readdir(d)) != NULL)
		if (day_name(de->d_name) && strcmp(de->d_name, after) > 0 &&
		    (next[0] == '\0' || strcmp(de->d_name, next) < 0))
			snprintf(next, len, "%s", de->d_name);
	closedir(d);
	return next[0] != '\0';
}

static void
newest_day(int dirfd, char *buf, size_t len)
{
	char cur[32] = "", next[32];

	while (day_after(dirfd, cur, next, sizeof(next)))
		snprintf(cur, sizeof(cur), "%s", next);
	snprintf(buf, len, "%s", cur);
}

/* Every whole line of fd from *off on: fn for those that parse and are not
 * older than since; *off ends after the last newline read. */
static void
lines_from(int fd, off_t *off, int64_t since, record_fn fn, void *arg)
{
	struct strbuf sb = {0};
	char buf[BLOCK];
	struct record r;
	ssize_t n;

	while ((n = pread(fd, buf, sizeof(buf), *off + (off_t)sb.len)) > 0) {
		size_t start = 0;
		char *nl;

		sb_add(&sb, buf, (size_t)n);
		while ((nl = memchr(sb.buf + start, '\n', sb.len - start)) != NULL) {
			size_t end = (size_t)(nl - sb.buf);

			if (record_parse(sb.buf + start, end - start, &r) == 0 && r.time >= since)
				fn(&r, arg);
			start = end + 1;
		}
		*off += (off_t)start;
		memmove(sb.buf, sb.buf + start, sb.len - start);
		sb.len -= start;
	}
	sb_free(&sb);
}

static int
records_dir(const struct spool *sp)
{
	return openat(sp->fd, "state/records", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
}

int
records_follow(const struct spool *sp, struct records_tail *rt, record_fn fn, void *arg)
{
	int dfd = records_dir(sp), fd;
	char next[32];
	struct stat st;

	if (dfd < 0) {
		if (errno != ENOENT)
			return -1;
		rt->started = true; /* no record yet: every one to come is new */
		return 0;
	}
	if (!rt->started) { /* what was there before we started is not ours to count */
		newest_day(dfd, rt->day, sizeof(rt->day));
		rt->off = 0;
		if (rt->day[0] && fstatat(dfd, rt->day, &st, 0) == 0)
			rt->off = st.st_size;
		rt->started = true;
	}
	for (;;) {
		if (rt->day[0] && (fd = openat(dfd, rt->day, O_RDONLY | O_CLOEXEC)) >= 0) {
			if (fstat(fd, &st) == 0 && st.st_size < rt->off)
				rt->off = 0; /* replaced or cut: read it again from its start */
			lines_from(fd, &rt->off, 0, fn, arg);
			close(fd);
		}
		if (!day_after(dfd, rt->day, next, sizeof(next)))
			break;
		snprintf(rt->day, sizeof(rt->day), "%s", next);
		rt->off = 0;
	}
	close(dfd);
	return 0;
}

/* Where the first line not older than since begins, seeking back from the
 * end one block at a time. */
static off_t
start_of_since(int fd, off_t size, int64_t since)
{
	char buf[BLOCK + 1];
	off_t off = size;
	struct record r;
	ssize_t n;

	while (off > 0 && size - off < BACK_MAX) {
		char *nl, *line, *end;

		off = off > BLOCK ? off - BLOCK : 0;
		if (off == 0)
			return 0;
		if ((n = pread(fd, buf, BLOCK, off)) <= 0)
			return off;
		buf[n] = '\0';
		if ((nl = memchr(buf, '\n', (size_t)n)) == NULL)
			continue;
		line = nl + 1;
		if ((end = memchr(line, '\n', (size_t)(buf + n - line))) == NULL)
			continue;
		if (record_parse(line, (size_t)(end - line), &r) == 0 && r.time < since)
			return off + (line - buf);
	}
	return off;
}

int
records_since(const struct spool *sp, int64_t since, record_fn fn, void *arg)
{
	int dfd = records_dir(sp), fd;
	char day[32], next[32];
	time_t t = (time_t)since;
	struct stat st;
	struct tm tm;
	off_t off;

	if (dfd < 0)
		return errno == ENOENT ? 0 : -1;
	gmtime_r(&t, &tm);
	strftime(day, sizeof(day), "%Y%m%d.json", &tm);
	for (;;) { /* the day of `since`, then every later one */
		if ((fd = openat(dfd, day, O_RDONLY | O_CLOEXEC)) >= 0) {
			off = fstat(fd, &st) == 0 ? start_of_since(fd, st.st_size, since) : 0;
			lines_from(fd, &off, since, fn, arg);
			close(fd);
		}
		if (!day_after(dfd, day, next, sizeof(next)))
			break;
		snprintf(day, sizeof(day), "%s", next);
	}
	close(dfd);
	return 0;
}
