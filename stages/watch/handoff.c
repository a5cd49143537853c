/*
 * handoff.c - a ready file becomes the first items of the watch's template.
 *
 * The ticket is what a TMC watchdog job would have given the worker
 * (TMC-REFERENCE 5.3): root = the site root, tail = "", rel = the path
 * relative to the watch folder with its leading "/", out = rel after the
 * watch's rename rules, src = the absolute path, origin = "watch:<key>",
 * and overwrite / capture when the watch sets them. Outputs therefore land
 * at root + step path_head + out, where TMC's watchdog jobs put them.
 *
 * Ready files are collected during one loop turn and handed off together:
 *   1. for each, its id (watch_item_id: from the watch and the file's
 *      identity) and whether an item of that id is in a first stage's new/
 *      or cur/;
 *   2. the result log is read to its end (tally.c);
 *   3. a file whose item is present or already has result lines was handed
 *      off by an earlier run that died before recording it: recorded only.
 *      (A stage writes its result line before the item leaves cur/, so
 *      checking the stages first and the log second misses nothing.)
 *      Others are published (item_publish: rename into new/, never
 *      replacing);
 *   4. one index line per file, one fdatasync.
 * Just before publishing, the file is looked at once more beneath the watch
 * folder with no symbolic link on the way (file_stat): the ticket records
 * where it was found (src_root = the watch folder, src_rel = rel) and what
 * it was (src_id = device, inode, size, mtime), so a stage that later finds
 * another file there refuses it (stage_open_source). A file that changed
 * since it was judged ready is handed off when it settles again; one that
 * went, turned into a symbolic link or is refused by the hard-link policy
 * (more than one link, owner not the folder's owner: tmcwatch.conf(5)) is
 * recorded as skipped with a log line, so it is not retried.
 * A process crash before 4 republishes the same ids: idempotent. A publish
 * that fails (full spool) is not recorded; a rescan in RETRY_MS finds it.
 *
 * Items are not fsynced (DESIGN, Durability: between stages rename is
 * enough against a process crash; a syncfs or three fsyncs per item would
 * put every other writer's I/O on this file system into the hand-off
 * latency). A power cut can therefore lose an item the index already
 * records; the index carries the boot id, and the first walk after a
 * reboot hands off again every indexed file whose item is in no first
 * stage and has no result line at all (handoff_recheck). Items lost
 * further down the pipeline are the stages' handoffs' business: their
 * files have results already, and "incomplete" cannot be told from "the
 * template gained a step since" without reconverting everything.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "openat2_compat.h"
#include "watch.h"

bool
file_rel(const struct dnode *dir, const char *name, char *buf, size_t len)
{
	int n = snprintf(buf, len, "%s/%s", dir->rel, name);

	return n > 0 && (size_t)n < len;
}

int
file_stat(struct wctx *c, const char *rel, struct stat *st)
{
	char dir[PATH_MAX];
	const char *base = strrchr(rel, '/');
	int fd, r, e;

	if (c->rootfd < 0) {
		errno = ENOENT;
		return -1;
	}
	/* lstat of the last component, its folders opened beneath the root
	 * with no link on the way: a link itself is reported (and refused by
	 * the caller), never followed */
	if (base == NULL)
		base = rel;
	else if (snprintf(dir, sizeof(dir), "%.*s", (int)(base - rel), rel) >= (int)sizeof(dir)) {
		errno = ENAMETOOLONG;
		return -1;
	} else
		base++;
	if (*base == '\0')
		return fstat(c->rootfd, st);
	if ((fd = open_beneath(c->rootfd, base == rel ? "" : dir, O_PATH | O_DIRECTORY)) < 0)
		return -1;
	r = fstatat(fd, base, st, AT_SYMLINK_NOFOLLOW);
	e = errno;
	close(fd);
	errno = e;
	return r;
}

/* Does any first step (source "hires") take files with this extension? */
static bool
ext_wanted(const struct template *tpl, const char *ext)
{
	for (size_t j = 0; j < tpl->nsteps; j++)
		if (strcmp(tpl->steps[j].source, "hires") == 0 && step_applies(&tpl->steps[j], ext))
			return true;
	return false;
}

bool
handoff_wanted(struct wctx *c, struct dnode *dir, const char *name)
{
	char rel[PATH_MAX];

	return !rules_temp_name(name) && file_rel(dir, name, rel, sizeof(rel)) &&
	       rules_selected(c->w, rel) && ext_wanted(c->tpl, path_ext(name));
}

/* Is an item of this id in new/ or cur/ of a first stage? */
static bool
handoff_present(struct wctx *c, const char *id)
{
	const struct template *tpl = c->tpl;
	struct stat st;

	for (size_t j = 0; j < tpl->nsteps; j++) {
		struct stage_dir *sd = &c->em.sd[j];

		if (strcmp(tpl->steps[j].source, "hires") != 0)
			continue;
		if (sd->fd < 0 &&
		    stage_open(sd, &c->sp, tpl->name, (int)j, tpl->steps[j].name, true) < 0)
			continue;
		if (fstatat(sd->newfd, id, &st, AT_SYMLINK_NOFOLLOW) == 0 ||
		    fstatat(sd->curfd, id, &st, AT_SYMLINK_NOFOLLOW) == 0)
			return true;
	}
	return false;
}

void
handoff_ready(struct wctx *c, struct dnode *dir, const char *name, const struct stat *st)
{
	char rel[PATH_MAX];
	struct ident id;
	struct ient *e;

	ident_from_stat(&id, st, dir->slot);
	e = index_get(&c->ix, id.slot, id.ino);
	if (e && ident_same(&e->id, &id)) {
		e->gen = c->gen;
		return;
	}
	for (size_t i = 0; i < c->nbatch; i++)
		if (ident_same(&c->batch[i].id, &id))
			return;
	if (!file_rel(dir, name, rel, sizeof(rel)))
		return;
	if (c->nbatch == c->capbatch) {
		c->capbatch = c->capbatch ? c->capbatch * 2 : 64;
		c->batch = xreallocarray(c->batch, c->capbatch, sizeof(*c->batch));
	}
	c->batch[c->nbatch++] = (struct ready){xstrdup(rel), id, false};
	if (c->nbatch >= BATCH_MAX)
		handoff_flush(c);
}

void
handoff_recheck(struct wctx *c, struct dnode *dir, const char *name, const struct ident *id)
{
	char iid[ITEM_ID_MAX], rel[PATH_MAX];

	watch_item_id(iid, sizeof(iid), c->key, id);
	if (tally_known(&c->tally, iid) || handoff_present(c, iid) ||
	    !file_rel(dir, name, rel, sizeof(rel)))
		return;
	if (c->nbatch == c->capbatch) {
		c->capbatch = c->capbatch ? c->capbatch * 2 : 64;
		c->batch = xreallocarray(c->batch, c->capbatch, sizeof(*c->batch));
	}
	c->batch[c->nbatch++] = (struct ready){xstrdup(rel), *id, true};
	if (c->nbatch >= BATCH_MAX)
		handoff_flush(c);
}

static void
handoff_ticket(struct wctx *c, const struct ready *r, const struct stat *st, struct ticket *t)
{
	struct strbuf out = {0};

	rules_rename(c->w, r->rel, &out);
	ticket_setf(t, "origin", "watch:%s", c->key);
	ticket_set(t, "site", c->site->name);
	ticket_setf(t, "src", "%s%s", c->root_abs, r->rel);
	ticket_set(t, "rel", r->rel);
	ticket_set(t, "out", out.buf);
	ticket_set(t, "root", c->site->root);
	ticket_set(t, "tail", "");
	stage_ticket_source(t, c->root_abs, r->rel, st);
	if (c->w->overwrite >= 0)
		ticket_set(t, "overwrite", c->w->overwrite ? "1" : "0");
	if (c->w->capture != 0)
		ticket_setf(t, "capture", "%g", c->w->capture);
	if (c->trace) {
		struct timespec ts;

		clock_gettime(CLOCK_REALTIME, &ts);
		ticket_setf(t, "t_pub", "%lld", (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec);
	}
	sb_free(&out);
}

/* The file as it is now, beneath the watch folder: 0 to publish, 1 changed
 * since it was judged ready (later), 2 refused or gone (skip it). */
static int
handoff_check(struct wctx *c, const struct ready *r, struct stat *st)
{
	struct stat dir;

	if (file_stat(c, r->rel, st) < 0) {
		log_warn("%s%s: not handed off", c->root_abs, r->rel);
		return 2;
	}
	if (!S_ISREG(st->st_mode)) {
		log_warnx("%s%s: no longer a regular file, not handed off", c->root_abs, r->rel);
		return 2;
	}
	if ((uint64_t)st->st_ino != r->id.ino || st->st_size != r->id.size ||
	    st->st_mtim.tv_sec != r->id.mtime_s || st->st_mtim.tv_nsec != r->id.mtime_ns)
		return 1;
	if (st->st_nlink > 1 && parent_stat_beneath(c->rootfd, r->rel, &dir) == 0 &&
	    hardlink_refused(st, &dir)) {
		log_warnx("%s%s: a hard link (%ju links) owned by uid %u in a folder owned by uid "
			  "%u: refused, not handed off", c->root_abs, r->rel,
			  (uintmax_t)st->st_nlink, (unsigned)st->st_uid, (unsigned)dir.st_uid);
		return 2;
	}
	return 0;
}

/* 1 published, 0 handed off before (present or reported), 2 refused
 * (recorded as skipped), -1 failed or changed (a rescan finds it again). */
static int
handoff_one(struct wctx *c, const struct ready *r, const char *id, bool present)
{
	struct ticket t = {0};
	struct stat st;
	int n;

	if (r->redrive)
		log_info("%s: its item %s was lost with the last boot; handed off again", r->rel, id);
	else if (present || tally_known(&c->tally, id)) {
		log_info("%s: handed off before a restart as %s; recorded now", r->rel, id);
		return 0;
	}
	if ((n = handoff_check(c, r, &st)) != 0) {
		if (n == 1)
			log_info("%s: changed since it was found; handed off when it settles",
				 r->rel);
		return n == 1 ? -1 : 2;
	}
	handoff_ticket(c, r, &st, &t);
	n = emitter_emit(&c->em, id, &t, false);
	ticket_free(&t);
	if (n < 0) {
		log_warnx("%s: could not hand off %s; trying again in %d s", r->rel, id,
			  RETRY_MS / 1000);
		return -1;
	}
	log_info("%s: handed off as %s", r->rel, id);
	return 1;
}

void
handoff_flush(struct wctx *c)
{
	size_t n = c->nbatch, published = 0;
	char (*ids)[ITEM_ID_MAX];
	bool *present;

	if (n == 0)
		return;
	ids = xcalloc(n, sizeof(*ids));
	present = xcalloc(n, sizeof(*present));
	for (size_t i = 0; i < n; i++) {
		watch_item_id(ids[i], sizeof(ids[i]), c->key, &c->batch[i].id);
		present[i] = !c->batch[i].redrive && handoff_present(c, ids[i]);
	}
	tally_refresh(&c->tally);
	for (size_t i = 0; i < n; i++) {
		int r = handoff_one(c, &c->batch[i], ids[i], present[i]);

		if (r < 0)
			rescan_schedule(c, false);
		else if (!c->batch[i].redrive)
			index_put(&c->ix, &c->batch[i].id, r == 2 ? IX_SKIPPED : IX_HANDED,
				  c->gen);
		published += r == 1;
	}
	if (published)
		failpoint("watch-published"); /* tests: die between publish and record */
	index_flush(&c->ix);
	if (index_wants_compaction(&c->ix))
		index_compact(&c->ix);
	for (size_t i = 0; i < n; i++)
		free(c->batch[i].rel);
	c->nbatch = 0;
	free(ids);
	free(present);
	c->tally_due = 1; /* soon: something is in flight */
}
