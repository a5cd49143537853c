/*
 * tally.c - what became of the files this watch handed off.
 *
 * Stages append one line per finished step to state/<key>.log (result.c,
 * read by result_parse). A file is accounted for when every step that
 * applies to its extension has reported, minus the steps below one that
 * failed (its successors never run). A line says "failed"; a line of 0.1
 * (no outcome, before an upgrade) is guessed as 0.1 did: created 0 with a
 * warning. It is "converted" when no step failed, else
 * "failed". A line repeated after a crash is ignored once its file is
 * accounted for. The whole log is read at start, then followed from where
 * reading stopped; a log that shrank or was replaced (rotation) is read
 * from its start. Ids are kept as 64-bit hashes (items in flight with their
 * step bits), so a million files cost about 16 MB.
 *
 * Files a watchdog job waits for (tally_want) get their TMC row when they
 * are accounted for (stage/steps.c's steps_row: requested = the template's
 * steps, created and warnings summed, one failure of the original counted
 * once), queued in t->q for wdjob.c, which empties it.
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
	struct sres *res; /* per step: the row (stage/steps.c) */
};

/* A route (config/route.c) as a bitset of the first 64 steps. */
static uint64_t
route_bits(const struct template *tpl, const char *ext, int below)
{
	uint8_t mask[64];
	size_t n = tpl->nsteps < 64 ? tpl->nsteps : 64;
	uint64_t bits = 0;

	if (below >= 0)
		route_below(tpl, (size_t)below, ext, mask, n);
	else
		route_reached(tpl, ext, mask, n);
	for (size_t j = 0; j < n; j++)
		bits |= (uint64_t)mask[j] << j;
	return bits;
}

uint64_t
tally_expected(const struct template *tpl, const char *ext)
{
	return route_bits(tpl, ext, -1);
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

/* A file a watchdog job waits for is accounted for: its row, queued for
 * wdjob.c (tally_take). */
static void
tally_queue(struct tally *t, uint64_t h, const struct sres *res)
{
	if (t->nq == t->capq) {
		t->capq = t->capq ? t->capq * 2 : 64;
		t->q = xreallocarray(t->q, t->capq, sizeof(*t->q));
	}
	t->q[t->nq].h = h;
	steps_row(t->tpl, res, &t->q[t->nq].rc);
	t->nq++;
}

uint64_t
tally_hash(const char *id)
{
	return hash_bytes(id, strlen(id), 0);
}

bool
tally_finished(const struct tally *t, uint64_t h)
{
	return u64set_has(&t->done, h);
}

void
tally_want(struct tally *t, uint64_t h)
{
	u64set_add(&t->want, h);
}

/* The line's own word; 0.1's guess for a line without one. */
static bool
line_failed(const struct result_line *rl)
{
	if (rl->outcome != RO_UNKNOWN)
		return rl->outcome == RO_FAILED;
	return rl->created == 0 && rl->warnings > 0;
}

static void
tally_line(struct tally *t, char *line)
{
	struct result_line rl;
	struct tent *e;
	uint64_t h, bit;
	int idx;
	const char *ext;

	if (result_parse(line, &rl) < 0 || (idx = rl.step) < 0 || idx >= 64)
		return;
	h = hash_bytes(rl.id, strlen(rl.id), 0);
	if (u64set_has(&t->done, h))
		return;
	ext = path_ext(rl.rel);
	if ((e = tally_find(t, h)) == NULL) {
		e = xcalloc(1, sizeof(*e));
		e->expect = tally_expected(t->tpl, ext);
		e->res = xcalloc(t->tpl->nsteps, sizeof(*e->res));
		hmap_add(&t->live, &e->h, h);
	}
	if ((size_t)idx < t->tpl->nsteps)
		sres_record(&e->res[idx], &rl);
	bit = 1ULL << idx;
	e->done |= bit;
	if (line_failed(&rl)) {
		e->failed |= bit;
		e->expect &= ~route_bits(t->tpl, ext, (int)idx);
	}
	if ((e->expect & ~e->done) != 0)
		return;
	if (e->failed)
		t->failed++;
	else
		t->ok++;
	t->changed = true;
	u64set_add(&t->done, h);
	if (u64set_has(&t->want, h))
		tally_queue(t, h, e->res);
	hmap_del(&t->live, &e->h);
	free(e->res);
	free(e);
}

static void
free_tent(struct hnode *n, void *arg)
{
	struct tent *e = container_of(n, struct tent, h);

	(void)arg;
	free(e->res);
	free(e);
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

void
tally_init(struct tally *t, int statefd, const char *key, const struct template *tpl)
{
	memset(t, 0, sizeof(*t));
	t->dirfd = statefd;
	t->fd = -1;
	t->tpl = tpl;
	job_file(t->name, sizeof(t->name), key, JF_LOG);
}

int
tally_open(struct tally *t)
{
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
	u64set_free(&t->want);
	free(t->q);
	sb_free(&t->part);
	if (t->fd >= 0)
		close(t->fd);
	t->fd = -1;
}
