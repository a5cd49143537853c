/*
 * index.c - state/<key>.index: what this watch has handed off.
 *
 * An append-only log with compaction. Why a log: a hand-off must be on disk
 * before the watcher forgets it, and appending one line per file with one
 * fdatasync per batch costs the same whether the index holds ten files or a
 * million, where rewriting the whole file per batch would not. Compaction
 * (temp file, fsync, rename, fsync folder) rewrites it from memory when the
 * log has grown past twice the live entries, and after a sweep dropped the
 * files that are gone. A crash mid-append leaves a last line without its
 * newline: it is ignored and cut off at the next start.
 *
 * Appends are written at once and made durable by a syncer thread
 * (fdatasync of a dup of the descriptor), so a slow fdatasync on a busy
 * file system never holds up the next file's hand-off. Until it is done, a
 * power cut can lose the tail; the files are then found again and the
 * hand-off recognises their items (batch.c), so nothing is converted
 * twice for it.
 *
 *   tmc-watch-index 1
 *   D <slot> <folder>                     a file system (device slot) and where
 *                                         it was first found ("/" the watch folder)
 *   B <boot id>                           the host's boot when a run started
 *   C <count>                             files handed off before the last compaction
 *   A <slot> <ino> <size> <mtime s> <ns>  handed off (counts one)
 *   F <slot> <ino> <size> <mtime s> <ns>  handed off, rewritten by a compaction
 *   S <slot> <ino> <size> <mtime s> <ns>  seen and skipped: older than max_sec
 *                                         when the index began (the first scan)
 *
 * Entries are keyed by (slot, inode); a different size or mtime for the same
 * key is a changed file. Device slots, not st_dev, because st_dev of a
 * network file system changes when it is mounted again.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "watch.h"

#define INDEX_MAGIC "tmc-watch-index 1\n"

struct index_sync {
	pthread_t th;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int fd; /* a dup of the index's descriptor, replaced on compaction */
	bool dirty, stop;
};

static void *
sync_main(void *arg)
{
	struct index_sync *s = arg;
	int fd;

	pthread_mutex_lock(&s->mu);
	for (;;) {
		while (!s->dirty && !s->stop)
			pthread_cond_wait(&s->cv, &s->mu);
		if (!s->dirty)
			break;
		s->dirty = false;
		fd = dup(s->fd);
		pthread_mutex_unlock(&s->mu);
		if (fd < 0 || fdatasync(fd) < 0)
			log_warn("fdatasync of the watch index");
		if (fd >= 0)
			close(fd);
		pthread_mutex_lock(&s->mu);
	}
	pthread_mutex_unlock(&s->mu);
	return NULL;
}

/* Ask the syncer for an fdatasync of what was written (started on first use). */
static void
sync_request(struct index *ix)
{
	struct index_sync *s = ix->sync;

	if (s == NULL) {
		sigset_t all, old;
		int r;

		s = xcalloc(1, sizeof(*s));
		pthread_mutex_init(&s->mu, NULL);
		pthread_cond_init(&s->cv, NULL);
		s->fd = dup(ix->fd);
		/* the thread takes no signal: SIGTERM is the main loop's (signalfd) */
		sigfillset(&all);
		pthread_sigmask(SIG_SETMASK, &all, &old);
		r = s->fd < 0 ? -1 : pthread_create(&s->th, NULL, sync_main, s);
		pthread_sigmask(SIG_SETMASK, &old, NULL);
		if (r != 0) {
			log_warn("index syncer");
			if (s->fd >= 0)
				close(s->fd);
			free(s);
			fdatasync(ix->fd);
			return;
		}
		ix->sync = s;
	}
	pthread_mutex_lock(&s->mu);
	s->dirty = true;
	pthread_cond_signal(&s->cv);
	pthread_mutex_unlock(&s->mu);
}

static void
sync_replace_fd(struct index *ix)
{
	struct index_sync *s = ix->sync;

	if (s == NULL)
		return;
	pthread_mutex_lock(&s->mu);
	close(s->fd);
	s->fd = dup(ix->fd);
	pthread_mutex_unlock(&s->mu);
}

static void
sync_stop(struct index *ix)
{
	struct index_sync *s = ix->sync;

	if (s == NULL)
		return;
	pthread_mutex_lock(&s->mu);
	s->stop = true;
	pthread_cond_signal(&s->cv);
	pthread_mutex_unlock(&s->mu);
	pthread_join(s->th, NULL);
	close(s->fd);
	pthread_mutex_destroy(&s->mu);
	pthread_cond_destroy(&s->cv);
	xfree(&ix->sync);
}

static uint64_t
ix_hash(uint16_t slot, uint64_t ino)
{
	return hash_u64(ino ^ ((uint64_t)slot << 56) ^ ((uint64_t)slot >> 8));
}

struct ient *
index_get(struct index *ix, uint16_t slot, uint64_t ino)
{
	uint64_t h = ix_hash(slot, ino);

	for (struct hnode *n = hmap_first(&ix->map, h); n; n = hmap_next(n, h)) {
		struct ient *e = container_of(n, struct ient, h);

		if (e->id.ino == ino && e->id.slot == slot)
			return e;
	}
	return NULL;
}

static struct ient *
ient_new(struct index *ix)
{
	struct ient *e = ix->free;

	if (e == NULL) {
		struct ient *block = xcalloc(256, sizeof(*block));

		ix->blocks = xreallocarray(ix->blocks, ix->nblocks + 1, sizeof(*ix->blocks));
		ix->blocks[ix->nblocks++] = block;

		for (int i = 1; i < 256; i++) {
			block[i].h.next = ix->free ? &ix->free->h : NULL;
			ix->free = &block[i];
		}
		return block;
	}
	ix->free = e->h.next ? container_of(e->h.next, struct ient, h) : NULL;
	memset(e, 0, sizeof(*e));
	return e;
}

static void
ient_release(struct index *ix, struct ient *e)
{
	hmap_del(&ix->map, &e->h);
	e->h.next = ix->free ? &ix->free->h : NULL;
	ix->free = e;
	ix->live--;
}

/* Memory only: the entry for id (replaced if its slot+inode is there). */
static struct ient *
index_set(struct index *ix, const struct ident *id, char kind, uint32_t gen)
{
	struct ient *e = index_get(ix, id->slot, id->ino);

	if (e == NULL) {
		e = ient_new(ix);
		hmap_add(&ix->map, &e->h, ix_hash(id->slot, id->ino));
		ix->live++;
	}
	e->id = *id;
	e->kind = kind;
	e->gen = gen;
	return e;
}

static void
line_entry(struct strbuf *sb, char tag, const struct ident *id)
{
	sb_printf(sb, "%c %u %" PRIu64 " %" PRId64 " %" PRId64 " %" PRId32 "\n", tag,
		  (unsigned)id->slot, id->ino, id->size, id->mtime_s, id->mtime_ns);
}

static void
line_slot(struct strbuf *sb, unsigned slot, const char *rel)
{
	sb_printf(sb, "D %u ", slot);
	for (const char *p = *rel ? rel : "/"; *p; p++) {
		if (*p == '\n')
			sb_adds(sb, "\\n");
		else if (*p == '\\')
			sb_adds(sb, "\\\\");
		else
			sb_addc(sb, *p);
	}
	sb_addc(sb, '\n');
}

static void
slot_add(struct index *ix, const char *rel)
{
	ix->slot_rel = xreallocarray(ix->slot_rel, ix->nslots + 1, sizeof(char *));
	ix->slot_rel[ix->nslots++] = xstrdup(strcmp(rel, "/") == 0 ? "" : rel);
}

static void
slot_parse(struct index *ix, const char *text)
{
	struct strbuf rel = {0};

	for (const char *p = text; *p; p++) {
		if (p[0] == '\\' && p[1] == 'n')
			sb_addc(&rel, '\n'), p++;
		else if (p[0] == '\\' && p[1] == '\\')
			sb_addc(&rel, '\\'), p++;
		else
			sb_addc(&rel, *p);
	}
	slot_add(ix, rel.buf ? rel.buf : "");
	sb_free(&rel);
}

/* One line of the file; false when it does not parse. */
static bool
index_line(struct index *ix, char *line)
{
	unsigned slot;
	unsigned long long ino;
	long long size, ms, count;
	int ns, used = 0;
	struct ident id;

	switch (line[0]) {
	case 'D':
		if (sscanf(line, "D %u %n", &slot, &used) != 1 || used == 0 || slot != ix->nslots)
			return false;
		slot_parse(ix, line + used);
		return true;
	case 'C':
		if (sscanf(line, "C %lld", &count) != 1)
			return false;
		ix->handed = count;
		return true;
	case 'B': return sscanf(line, "B %39s", ix->boot) == 1;
	case 'A':
	case 'F':
	case 'S':
		if (sscanf(line + 1, " %u %llu %lld %lld %d", &slot, &ino, &size, &ms, &ns) != 5 ||
		    slot >= ix->nslots)
			return false;
		id = (struct ident){.ino = ino,
				    .size = size,
				    .mtime_s = ms,
				    .mtime_ns = ns,
				    .slot = (uint16_t)slot};
		index_set(ix, &id, line[0] == 'S' ? IX_SKIPPED : IX_HANDED, 0);
		ix->handed += line[0] == 'A';
		return true;
	default: return false;
	}
}

static int
index_load(struct index *ix, char *buf, size_t len)
{
	size_t good = 0, bad = 0;
	char *p = buf, *nl;

	if (len < strlen(INDEX_MAGIC) || memcmp(buf, INDEX_MAGIC, strlen(INDEX_MAGIC)) != 0) {
		log_warnx("state/%s: not a tmc-watch index; moved aside, starting afresh",
			  ix->name);
		return -1;
	}
	p += strlen(INDEX_MAGIC);
	good = (size_t)(p - buf);
	while ((nl = memchr(p, '\n', len - (size_t)(p - buf))) != NULL) {
		*nl = '\0';
		if (!index_line(ix, p))
			bad++;
		ix->records++;
		p = nl + 1;
		good = (size_t)(p - buf);
	}
	if (bad)
		log_warnx("state/%s: %zu lines that do not parse were skipped", ix->name, bad);
	if (good < len) {
		log_warnx("state/%s: an unfinished last line (a crash while appending) is cut off",
			  ix->name);
		if (ftruncate(ix->fd, (off_t)good) < 0)
			log_warn("truncate state/%s", ix->name);
	}
	return 0;
}

int
index_open(struct index *ix, int statefd, const char *key)
{
	size_t len;
	char *buf, aside[200];

	memset(ix, 0, sizeof(*ix));
	ix->dirfd = statefd;
	snprintf(ix->name, sizeof(ix->name), "%s.index", key);
	snprintf(ix->tmpname, sizeof(ix->tmpname), ".%s.index.tmp", key);
	buf = file_read_at(statefd, ix->name, SIZE_MAX / 2, &len);
	if (buf == NULL && errno != ENOENT) {
		log_warn("state/%s", ix->name);
		return -1;
	}
	ix->existed = buf != NULL;
	ix->fd = openat(statefd, ix->name, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW,
			0644);
	if (ix->fd < 0) {
		log_warn("state/%s", ix->name);
		free(buf);
		return -1;
	}
	if (buf && index_load(ix, buf, len) < 0) {
		snprintf(aside, sizeof(aside), "%s.bad", ix->name);
		renameat(statefd, ix->name, statefd, aside);
		free(buf);
		close(ix->fd);
		return index_open(ix, statefd, key);
	}
	free(buf);
	if (!ix->existed)
		sb_adds(&ix->out, INDEX_MAGIC);
	if (ix->nslots == 0) {
		slot_add(ix, "");
		line_slot(&ix->out, 0, "");
	}
	return index_flush(ix);
}

uint16_t
index_slot(struct index *ix, const char *rel)
{
	for (size_t i = 0; i < ix->nslots; i++)
		if (strcmp(ix->slot_rel[i], rel) == 0)
			return (uint16_t)i;
	if (ix->nslots >= 64) /* more mounts than that inside one watch: share the last */
		return (uint16_t)(ix->nslots - 1);
	slot_add(ix, rel);
	line_slot(&ix->out, (unsigned)ix->nslots - 1, rel);
	ix->records++;
	return (uint16_t)(ix->nslots - 1);
}

void
index_put(struct index *ix, const struct ident *id, char kind, uint32_t gen)
{
	index_set(ix, id, kind, gen);
	line_entry(&ix->out, kind == IX_SKIPPED ? 'S' : 'A', id);
	ix->records++;
	ix->handed += kind == IX_HANDED;
}

void
index_forget(struct index *ix, const struct ident *id)
{
	struct ient *e = index_get(ix, id->slot, id->ino);

	if (e)
		ient_release(ix, e);
}

int
index_flush(struct index *ix)
{
	if (ix->out.len == 0)
		return 0;
	if (write_all(ix->fd, ix->out.buf, ix->out.len) < 0) {
		log_warn("state/%s", ix->name);
		return -1;
	}
	sb_reset(&ix->out);
	sync_request(ix);
	return 0;
}

struct sweep_arg {
	struct index *ix;
	uint32_t keep;
	size_t n;
};

static void
sweep_one(struct hnode *n, void *arg)
{
	struct sweep_arg *a = arg;
	struct ient *e = container_of(n, struct ient, h);

	if (e->gen < a->keep) {
		ient_release(a->ix, e);
		a->n++;
	}
}

size_t
index_sweep(struct index *ix, uint32_t keep)
{
	struct sweep_arg a = {ix, keep, 0};

	hmap_each(&ix->map, sweep_one, &a);
	return a.n;
}

static void
compact_one(struct hnode *n, void *arg)
{
	struct ient *e = container_of(n, struct ient, h);

	line_entry(arg, e->kind == IX_SKIPPED ? 'S' : 'F', &e->id);
}

bool
index_boot(struct index *ix, const char *boot_id)
{
	bool changed = ix->existed && strcmp(ix->boot, boot_id) != 0;

	if (strcmp(ix->boot, boot_id) != 0) {
		snprintf(ix->boot, sizeof(ix->boot), "%s", boot_id);
		sb_printf(&ix->out, "B %s\n", ix->boot);
		ix->records++;
		index_flush(ix);
	}
	return changed;
}

bool
index_wants_compaction(const struct index *ix)
{
	return ix->records > 2 * ix->live + 1024;
}

int
index_compact(struct index *ix)
{
	struct strbuf sb = {0};
	int fd, r = -1;

	if (index_flush(ix) < 0)
		return -1;
	sb_adds(&sb, INDEX_MAGIC);
	for (size_t i = 0; i < ix->nslots; i++)
		line_slot(&sb, (unsigned)i, ix->slot_rel[i]);
	if (ix->boot[0])
		sb_printf(&sb, "B %s\n", ix->boot);
	sb_printf(&sb, "C %lld\n", ix->handed);
	hmap_each(&ix->map, compact_one, &sb);
	fd = openat(ix->dirfd, ix->tmpname, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW,
		    0644);
	if (fd < 0 || write_all(fd, sb.buf, sb.len) < 0 || fsync(fd) < 0) {
		log_warn("state/%s", ix->tmpname);
		goto out;
	}
	if (renameat(ix->dirfd, ix->tmpname, ix->dirfd, ix->name) < 0 || fsync(ix->dirfd) < 0) {
		log_warn("state/%s", ix->name);
		goto out;
	}
	close(ix->fd);
	ix->fd = fd; /* the new file, positioned at its end: appends continue there */
	fd = -1;
	if (fcntl(ix->fd, F_SETFL, O_APPEND) < 0)
		log_warn("state/%s", ix->name);
	sync_replace_fd(ix);
	ix->records = ix->nslots + 2 + ix->live;
	log_info("index compacted: %zu files", ix->live);
	r = 0;
out:
	if (fd >= 0) {
		close(fd);
		unlinkat(ix->dirfd, ix->tmpname, 0);
	}
	sb_free(&sb);
	return r;
}

void
index_close(struct index *ix)
{
	index_flush(ix);
	sync_stop(ix);
	if (ix->fd >= 0 && fdatasync(ix->fd) < 0)
		log_warn("state/%s", ix->name);
	if (ix->fd >= 0)
		close(ix->fd);
	ix->fd = -1;
	hmap_free(&ix->map);
	for (size_t i = 0; i < ix->nslots; i++)
		free(ix->slot_rel[i]);
	xfree(&ix->slot_rel);
	sb_free(&ix->out);
	for (size_t i = 0; i < ix->nblocks; i++)
		free(ix->blocks[i]);
	xfree(&ix->blocks);
	ix->nblocks = 0;
	ix->free = NULL;
}
