/*
 * dup.c - TMC's "duplicated": a convert whose job is identical to one
 * waiting (req/) or running (proc/) returns that job's seq instead of
 * queueing a second one (TMC's README says "waiting or running"; TMC's code
 * only looked at req/, doc/TMC.md, REST API: convert). Identical means the same bytes,
 * and for a filelist job the same uploaded list too (TMC compared the JSON
 * alone, so a second list was silently dropped).
 *
 * Reading every queued job at every convert would make a convert cost
 * O(jobs waiting). Instead the set of job names in req/ and proc/ is kept
 * in memory, with each job's SHA-256, and kept current by inotify on both
 * folders (created, moved in, moved out, deleted; a write closed drops the
 * digest). Events are read before each lookup; they are produced by the
 * system call that made the change, so nothing done before the convert
 * arrived is missed. The folders are scanned at the first lookup and after
 * an event queue overflow (events are hints, the scan is the truth). A
 * digest is computed when first needed, not on the event, so a job file
 * still being written by hand is read once it is whole. A seq's text never
 * changes once linked into req/ (jobq.c), so a name keeps its digest while
 * it moves from req/ to proc/. Only act=convert asks this question, so the
 * answer lives here, beside the set that makes it cheap.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <unistd.h>

#include "httpd.h"

#define JOB_MAX (64 << 20)
#define IN_REQ 1
#define IN_PROC 2

struct entry {
	char seq[TMC_SEQ_NAME_MAX + 1]; /* "" = free slot */
	uint8_t d[SHA256_LEN];
	bool digested;
	unsigned char in; /* IN_REQ | IN_PROC */
};

static struct {
	int ifd, wd[2];
	struct entry *tab;
	size_t cap, n; /* open addressing, linear probing; cap a power of 2 */
	bool scanned;
} jobs = {.ifd = -1};

static const char *dirs[2] = {"req", "proc"};

static size_t
slot_of(const char *seq)
{
	uint32_t h = 2166136261u;

	for (const unsigned char *p = (const unsigned char *)seq; *p; p++)
		h = (h ^ *p) * 16777619u;
	return h & (jobs.cap - 1);
}

static struct entry *
dup_find(const char *seq)
{
	for (size_t i = slot_of(seq);; i = (i + 1) & (jobs.cap - 1)) {
		if (jobs.tab[i].seq[0] == '\0')
			return NULL;
		if (strcmp(jobs.tab[i].seq, seq) == 0)
			return &jobs.tab[i];
	}
}

static void dup_grow(void);

static struct entry *
dup_add(const char *seq)
{
	struct entry *e = dup_find(seq);
	size_t i;

	if (e)
		return e;
	if ((jobs.n + 1) * 2 > jobs.cap)
		dup_grow();
	for (i = slot_of(seq); jobs.tab[i].seq[0]; i = (i + 1) & (jobs.cap - 1))
		;
	memset(&jobs.tab[i], 0, sizeof(jobs.tab[i]));
	snprintf(jobs.tab[i].seq, sizeof(jobs.tab[i].seq), "%s", seq);
	jobs.n++;
	return &jobs.tab[i];
}

static void
dup_grow(void)
{
	struct entry *old = jobs.tab;
	size_t oldcap = jobs.cap;

	jobs.cap = jobs.cap ? jobs.cap * 2 : 1024;
	jobs.tab = xcalloc(jobs.cap, sizeof(*jobs.tab));
	jobs.n = 0;
	for (size_t i = 0; i < oldcap; i++)
		if (old[i].seq[0])
			*dup_add(old[i].seq) = old[i];
	free(old);
}

/* Remove e, shifting back the entries of its probe run (no tombstones). */
static void
dup_del(struct entry *e)
{
	size_t i = (size_t)(e - jobs.tab), j = i, k;

	for (;;) {
		jobs.tab[i].seq[0] = '\0';
		for (;;) {
			j = (j + 1) & (jobs.cap - 1);
			if (jobs.tab[j].seq[0] == '\0') {
				jobs.n--;
				return;
			}
			k = slot_of(jobs.tab[j].seq);
			/* can the entry at j move to the hole at i? */
			if (i <= j ? (i < k && k <= j) : (i < k || k <= j))
				continue;
			break;
		}
		jobs.tab[i] = jobs.tab[j];
		i = j;
	}
}

static void
dup_event(int which, const char *name, uint32_t mask)
{
	struct entry *e;

	if (!tmc_seq_name_ok(name)) /* job files only: not seq.stat, seq.file, .temp names */
		return;
	if (mask & (IN_CREATE | IN_MOVED_TO)) {
		dup_add(name)->in |= (unsigned char)which;
	} else if ((e = dup_find(name)) != NULL) {
		if (mask & IN_CLOSE_WRITE)
			e->digested = false; /* written in place: read it again */
		else if ((e->in &= (unsigned char)~which) == 0)
			dup_del(e);
	}
}

static void
dup_scan(int spoolfd)
{
	struct dirent *de;
	DIR *d;

	free(jobs.tab);
	jobs.tab = NULL;
	jobs.cap = jobs.n = 0;
	dup_grow();
	for (int k = 0; k < 2; k++) {
		int fd = openat(spoolfd, dirs[k], O_RDONLY | O_DIRECTORY | O_CLOEXEC);

		if (fd < 0 || (d = fdopendir(fd)) == NULL) {
			if (fd >= 0)
				close(fd);
			continue;
		}
		while ((de = readdir(d)) != NULL)
			dup_event(1 << k, de->d_name, IN_CREATE);
		closedir(d);
	}
	jobs.scanned = true;
}

static void
dup_watch(const char *spool)
{
	char path[4096];

	jobs.ifd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	for (int k = 0; k < 2 && jobs.ifd >= 0; k++) {
		snprintf(path, sizeof(path), "%s/%s", spool, dirs[k]);
		jobs.wd[k] = inotify_add_watch(jobs.ifd, path,
					       IN_CREATE | IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE |
						       IN_CLOSE_WRITE | IN_ONLYDIR);
		if (jobs.wd[k] < 0) {
			log_warn("inotify on %s: duplicates found by scanning", dirs[k]);
			close(jobs.ifd);
			jobs.ifd = -1;
		}
	}
}

/* Apply pending events; rescan when they were lost or no watch works. */
static void
dup_refresh(int spoolfd, const char *spool)
{
	char buf[16384] __attribute__((aligned(__alignof__(struct inotify_event))));
	bool rescan = !jobs.scanned;
	ssize_t len;

	if (jobs.ifd < 0 && !jobs.scanned)
		dup_watch(spool);
	if (jobs.ifd < 0)
		rescan = true;
	while (jobs.ifd >= 0 && (len = read(jobs.ifd, buf, sizeof(buf))) > 0) {
		for (char *p = buf; p < buf + len;) {
			struct inotify_event *ev = (struct inotify_event *)p;

			if (ev->mask & (IN_Q_OVERFLOW | IN_IGNORED))
				rescan = true;
			else if (ev->len > 0 && !rescan)
				dup_event(ev->wd == jobs.wd[0] ? IN_REQ : IN_PROC, ev->name,
					  ev->mask);
			p += sizeof(*ev) + ev->len;
		}
	}
	if (rescan)
		dup_scan(spoolfd);
}

static bool
dup_digest(int spoolfd, struct entry *e)
{
	char path[96];
	size_t len;
	char *text;

	if (e->digested)
		return true;
	snprintf(path, sizeof(path), "req/%s", e->seq);
	if ((text = file_read_at(spoolfd, path, JOB_MAX, &len)) == NULL) {
		snprintf(path, sizeof(path), "proc/%s", e->seq); /* moved on meanwhile */
		if ((text = file_read_at(spoolfd, path, JOB_MAX, &len)) == NULL)
			return false;
	}
	sha256(text, len, e->d);
	free(text);
	e->digested = true;
	return true;
}

static bool
list_same(int spoolfd, const char *seq, const char *list, size_t listlen)
{
	char path[96];
	size_t len;
	char *text;
	bool same;

	if (list == NULL) /* the same JSON: not a filelist job either */
		return true;
	snprintf(path, sizeof(path), "req/%s%s", seq,
		 job_file_suffix(JF_FILE)); /* proc/ once taken */
	if ((text = file_read_at(spoolfd, path, JOB_MAX, &len)) == NULL) {
		snprintf(path, sizeof(path), "proc/%s%s", seq, job_file_suffix(JF_FILE));
		if ((text = file_read_at(spoolfd, path, JOB_MAX, &len)) == NULL)
			return false;
	}
	same = len == listlen && memcmp(text, list, len) == 0;
	free(text);
	return same;
}

int
job_find_same(int spoolfd, const char *spool, const char *text, size_t len, const char *list,
	      size_t listlen, char *seq, size_t seqlen)
{
	uint8_t want[SHA256_LEN];

	sha256(text, len, want);
	seq[0] = '\0';
	dup_refresh(spoolfd, spool);
	for (size_t i = 0; i < jobs.cap; i++) {
		struct entry *e = &jobs.tab[i];

		if (e->seq[0] == '\0' || !dup_digest(spoolfd, e) ||
		    memcmp(e->d, want, SHA256_LEN) != 0 ||
		    !list_same(spoolfd, e->seq, list, listlen))
			continue;
		if (seq[0] == '\0' || strcmp(e->seq, seq) < 0) /* the oldest */
			snprintf(seq, seqlen, "%s", e->seq);
	}
	return seq[0] ? 1 : 0;
}

void
job_note_queued(const char *seq, const char *text, size_t len)
{
	struct entry *e;

	if (!jobs.scanned || !tmc_seq_name_ok(seq))
		return;
	e = dup_add(seq);
	e->in |= IN_REQ;
	sha256(text, len, e->d);
	e->digested = true;
}
