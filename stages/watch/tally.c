/*
 * tally.c - what became of the files this watch handed off.
 *
 * Stages append one line per finished step to state/<key>.log (result.c):
 *   <id>\t<step idx>\t<step name>\t<created>\t<warnings>\t<rel>\t<reason>
 * A file is accounted for when every step that applies to its extension has
 * reported, minus the steps below one that failed (created 0 with a warning:
 * its successors never run). It is "converted" when no step failed, else
 * "failed". A line repeated after a crash is ignored once its file is
 * accounted for. The whole log is read at start, then followed from where
 * reading stopped; a log that shrank or was replaced (rotation) is read
 * from its start. Ids are kept as 64-bit hashes (items in flight with their
 * step bits), so a million files cost about 16 MB.
 *
 * The same record answers "did a stage already see this item?" for
 * batch.c: after a crash between a publish and its index record, an item
 * that was already converted is recognised by its result lines.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "watch.h"

struct tent {
	struct hnode h;
	uint64_t expect, done, failed;
};

static int
source_index(const struct template *tpl, int before, const char *name, const char *ext)
{
	for (int j = before - 1; j >= 0; j--)
		if (strcmp(tpl->steps[j].name, name) == 0 && step_applies(&tpl->steps[j], ext))
			return j;
	return -1;
}

/* Steps reached from hires for ext; with cut >= 0, the steps below cut. */
static uint64_t
chain(const struct template *tpl, const char *ext, int cut)
{
	uint64_t mask = 0, below = cut >= 0 && cut < 64 ? 1ULL << cut : 0;
	size_t n = tpl->nsteps < 64 ? tpl->nsteps : 64;

	for (size_t j = 0; j < n; j++) {
		const struct step *s = &tpl->steps[j];
		int k;

		if (!step_applies(s, ext))
			continue;
		if (strcmp(s->source, "hires") == 0) {
			mask |= 1ULL << j;
			continue;
		}
		k = source_index(tpl, (int)j, s->source, ext);
		if (k >= 0 && (mask & (1ULL << k)))
			mask |= 1ULL << j;
		if (k >= 0 && (below & (1ULL << k)) && (int)j != cut)
			below |= 1ULL << j;
	}
	return cut >= 0 ? below & ~(1ULL << cut) : mask;
}

uint64_t
tally_expected(const struct template *tpl, const char *ext)
{
	return chain(tpl, ext, -1);
}

static struct tent *
tally_find(const struct tally *t, uint64_t h)
{
	struct hnode *n = hmap_first(&t->live, h);

	return n ? container_of(n, struct tent, h) : NULL;
}

bool
tally_known(const struct tally *t, const char *id)
{
	uint64_t h = hash_bytes(id, strlen(id), 0);

	return u64set_has(&t->done, h) || tally_find(t, h) != NULL;
}

/* Split a line into its 7 tab-separated fields; false if it has fewer. */
static bool
fields(char *line, char **f)
{
	for (int i = 0; i < 7; i++) {
		f[i] = line;
		line = strchr(line, '\t');
		if (line == NULL)
			return i == 6;
		if (i < 6)
			*line++ = '\0';
	}
	return true;
}

static void
tally_line(struct tally *t, char *line)
{
	char *f[7];
	struct tent *e;
	uint64_t h, bit;
	long idx;
	const char *ext;

	if (!fields(line, f) || (idx = strtol(f[1], NULL, 10)) < 0 || idx >= 64)
		return;
	h = hash_bytes(f[0], strlen(f[0]), 0);
	if (u64set_has(&t->done, h))
		return;
	ext = path_ext(f[5]);
	if ((e = tally_find(t, h)) == NULL) {
		e = xcalloc(1, sizeof(*e));
		e->expect = tally_expected(t->tpl, ext);
		hmap_add(&t->live, &e->h, h);
	}
	bit = 1ULL << idx;
	e->done |= bit;
	if (atoi(f[3]) == 0 && atoi(f[4]) > 0) {
		e->failed |= bit;
		e->expect &= ~chain(t->tpl, ext, (int)idx);
	}
	if ((e->expect & ~e->done) != 0)
		return;
	if (e->failed)
		t->failed++;
	else
		t->ok++;
	t->changed = true;
	u64set_add(&t->done, h);
	hmap_del(&t->live, &e->h);
	free(e);
}

static void
free_tent(struct hnode *n, void *arg)
{
	(void)arg;
	free(container_of(n, struct tent, h));
}

static void
tally_reset(struct tally *t)
{
	hmap_each(&t->live, free_tent, NULL);
	hmap_free(&t->live);
	u64set_free(&t->done);
	sb_reset(&t->part);
	t->off = 0;
	t->ok = t->failed = 0;
	t->changed = true;
}

static void
tally_read(struct tally *t)
{
	char buf[65536];
	ssize_t n;

	while ((n = pread(t->fd, buf, sizeof(buf), t->off)) > 0) {
		char *p = buf, *nl;

		t->off += n;
		while ((nl = memchr(p, '\n', (size_t)(buf + n - p))) != NULL) {
			sb_add(&t->part, p, (size_t)(nl - p));
			tally_line(t, t->part.buf);
			sb_reset(&t->part);
			p = nl + 1;
		}
		sb_add(&t->part, p, (size_t)(buf + n - p));
	}
	if (n < 0)
		log_warn("state/%s", t->name);
}

void
tally_refresh(struct tally *t)
{
	struct stat st, now;

	if (t->fd < 0) {
		t->fd = openat(t->dirfd, t->name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
		if (t->fd < 0 || fstat(t->fd, &st) < 0)
			return;
		t->ino = st.st_ino;
	}
	if (fstat(t->fd, &st) == 0 && st.st_size < t->off) {
		log_info("state/%s shrank: counting from its start", t->name);
		tally_reset(t);
	}
	tally_read(t);
	if (fstatat(t->dirfd, t->name, &now, AT_SYMLINK_NOFOLLOW) == 0 && now.st_ino != t->ino) {
		/* rotated: what was appended to the old file is read; follow the new one */
		close(t->fd);
		t->fd = -1;
		t->off = 0;
		sb_reset(&t->part);
		tally_refresh(t);
	}
}

int
tally_open(struct tally *t, int statefd, const char *key, const struct template *tpl)
{
	memset(t, 0, sizeof(*t));
	t->dirfd = statefd;
	t->fd = -1;
	t->tpl = tpl;
	job_file(t->name, sizeof(t->name), key, JF_LOG);
	tally_refresh(t);
	if (t->fd < 0 && errno != ENOENT) {
		log_warn("state/%s", t->name);
		return -1;
	}
	return 0;
}

void
tally_close(struct tally *t)
{
	hmap_each(&t->live, free_tent, NULL);
	hmap_free(&t->live);
	u64set_free(&t->done);
	sb_free(&t->part);
	if (t->fd >= 0)
		close(t->fd);
	t->fd = -1;
}
