/*
 * dup.c - TMC's "duplicated": a convert whose job is identical to one
 * waiting (req/) or running (proc/) returns that job's seq instead of
 * queueing a second one (seed 000 says "waiting or running"; TMC's code
 * only looked at req/, TMC-REFERENCE 6.2). Identical means the same bytes,
 * and for a filelist job the same uploaded list too (TMC compared the JSON
 * alone, so a second list was silently dropped).
 *
 * Every convert would otherwise read every queued job: the digest of each
 * job file is kept in memory by seq. A seq's job text never changes once
 * it is linked into req/ (jobq.c), so a name seen in one scan keeps its
 * digest while it stays in req/ or proc/; names gone from both are
 * forgotten at the next scan. Only tmc-httpd's own process keeps this
 * cache: jobs written by others are read once, when first seen.
 * (tmc-jobs may later offer job_find_duplicate() in config/job.c; this
 * file is the REST shim's own until then.)
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "httpd.h"

#define JOB_MAX (64 << 20)

struct dig {
	char seq[65];
	uint8_t d[SHA256_LEN];
};

struct digs {
	struct dig *v;
	size_t n, cap;
};

static struct digs cache; /* sorted by seq */

static int
dig_cmp(const void *a, const void *b)
{
	return strcmp(((const struct dig *)a)->seq, ((const struct dig *)b)->seq);
}

static struct dig *
dig_find(struct digs *ds, const char *seq)
{
	struct dig key;

	snprintf(key.seq, sizeof(key.seq), "%s", seq);
	return ds->n ? bsearch(&key, ds->v, ds->n, sizeof(*ds->v), dig_cmp) : NULL;
}

static void
dig_add(struct digs *ds, const char *seq, const uint8_t d[SHA256_LEN])
{
	if (ds->n == ds->cap) {
		ds->cap = ds->cap ? ds->cap * 2 : 256;
		ds->v = xreallocarray(ds->v, ds->cap, sizeof(*ds->v));
	}
	snprintf(ds->v[ds->n].seq, sizeof(ds->v[ds->n].seq), "%s", seq);
	memcpy(ds->v[ds->n].d, d, SHA256_LEN);
	ds->n++;
}

/* Digest of dir/seq: from the cache, or read once. -1 when unreadable. */
static int
job_digest(int dirfd, const char *seq, struct digs *fresh, uint8_t d[SHA256_LEN])
{
	struct dig *c = dig_find(&cache, seq);
	size_t len;
	char *text;

	if (c) {
		memcpy(d, c->d, SHA256_LEN);
	} else {
		if ((text = file_read_at(dirfd, seq, JOB_MAX, &len)) == NULL)
			return -1;
		sha256(text, len, d);
		free(text);
	}
	dig_add(fresh, seq, d);
	return 0;
}

static bool
list_same(int procfd, const char *seq, const char *list, size_t listlen)
{
	char name[80];
	size_t len;
	char *text;
	bool same;

	if (list == NULL) /* the same JSON: not a filelist job either */
		return true;
	snprintf(name, sizeof(name), "%s.file", seq);
	if ((text = file_read_at(procfd, name, JOB_MAX, &len)) == NULL)
		return false;
	same = len == listlen && memcmp(text, list, len) == 0;
	free(text);
	return same;
}

static void
scan_dir(int spoolfd, const char *dir, const uint8_t want[SHA256_LEN], const char *list,
	 size_t listlen, struct digs *fresh, char *best, size_t bestlen)
{
	int fd = openat(spoolfd, dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC), procfd;
	uint8_t d[SHA256_LEN];
	struct dirent *de;
	DIR *dp;

	if (fd < 0 || (dp = fdopendir(fd)) == NULL) {
		if (fd >= 0)
			close(fd);
		return;
	}
	procfd = openat(spoolfd, "proc", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	while ((de = readdir(dp)) != NULL) {
		/* job files only: a seq, not seq.stat, seq.file, .temp names */
		if (!seq_valid(de->d_name) || job_digest(dirfd(dp), de->d_name, fresh, d) < 0)
			continue;
		if (memcmp(d, want, SHA256_LEN) != 0)
			continue;
		if (!list_same(procfd, de->d_name, list, listlen))
			continue;
		if (best[0] == '\0' || strcmp(de->d_name, best) < 0)
			snprintf(best, bestlen, "%s", de->d_name);
	}
	if (procfd >= 0)
		close(procfd);
	closedir(dp);
}

int
job_find_same(int spoolfd, const char *text, size_t len, const char *list, size_t listlen,
	      char *seq, size_t seqlen)
{
	struct digs fresh = {0};
	uint8_t want[SHA256_LEN];

	sha256(text, len, want);
	seq[0] = '\0';
	scan_dir(spoolfd, "req", want, list, listlen, &fresh, seq, seqlen);
	scan_dir(spoolfd, "proc", want, list, listlen, &fresh, seq, seqlen);
	if (fresh.n > 1)
		qsort(fresh.v, fresh.n, sizeof(*fresh.v), dig_cmp);
	free(cache.v);
	cache = fresh;
	return seq[0] ? 1 : 0;
}
