/*
 * publish.c - one ready file becomes the first items of the watch's
 * template (batch.c decides when, and records it in the index after).
 *
 * The ticket is what a TMC watchdog job would have given the worker: root =
 * the site root, tail = "", rel = the path relative to the watch folder
 * with its leading "/", out = rel after the watch's rename rules, src = the
 * absolute path, origin = "watch:<key>", and overwrite / capture when the
 * watch sets them. Outputs therefore land at root + step path_head + out,
 * where TMC's watchdog jobs put them. It is published with item_publish
 * (rename into new/, never replacing).
 *
 * Just before publishing, the file is looked at once more beneath the watch
 * folder with no symbolic link on the way (file_stat): the ticket records
 * where it was found (src_root = the watch folder, src_rel = rel) and what
 * it was (src_id = device, inode, size, mtime), so a stage that later finds
 * another file there refuses it (stage_open_source). A file that changed
 * since it was judged ready is handed off when it settles again; one that
 * went, turned into a symbolic link or is refused by the hard-link policy
 * (more than one link, owner not the folder's owner: tmcwatch.conf(5)) is
 * recorded as skipped with a log line, so it is not retried.
 *
 * Items are not fsynced (between stages rename is enough against a process
 * crash; a syncfs or three fsyncs per item would put every other writer's
 * I/O on this file system into the hand-off latency). A power cut can
 * therefore lose an item the index already records; the index carries the
 * boot id, and the first walk after a reboot hands off again every indexed
 * file whose item is in no first stage and has no result line at all
 * (batch_recheck). Items lost further down the pipeline are the stages'
 * handoffs' business: their files have results already, and "incomplete"
 * cannot be told from "the template gained a step since" without
 * reconverting everything.
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

#include "watch.h"

bool
publish_present(struct wctx *c, const char *id)
{
	const struct template *tpl = c->tpl;

	for (size_t j = 0; j < tpl->nsteps; j++) {
		struct stage_dir *sd;

		if (strcmp(tpl->steps[j].source, "hires") != 0)
			continue;
		if ((sd = stage_set_get(&c->em.set, j)) != NULL && item_present(sd, id))
			return true;
	}
	return false;
}

static void
publish_ticket(struct wctx *c, const struct ready *r, const struct stat *st, struct ticket *t)
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
publish_check(struct wctx *c, const struct ready *r, struct stat *st)
{
	struct stat dir;

	if (file_stat(c->tree.rootfd, r->rel, st) < 0) {
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
	if (st->st_nlink > 1 && parent_stat_beneath(c->tree.rootfd, r->rel, &dir) == 0 &&
	    hardlink_refused(st, &dir)) {
		log_warnx("%s%s: a hard link (%ju links) owned by uid %u in a folder owned by uid "
			  "%u: refused, not handed off",
			  c->root_abs, r->rel, (uintmax_t)st->st_nlink, (unsigned)st->st_uid,
			  (unsigned)dir.st_uid);
		return 2;
	}
	return 0;
}

int
publish_one(struct wctx *c, const struct ready *r, const char *id, bool present)
{
	struct ticket t = {0};
	struct stat st;
	int n;

	if (r->redrive)
		log_info("%s: its item %s was lost with the last boot; handed off again", r->rel,
			 id);
	else if (present || tally_known(&c->tally, id)) {
		log_info("%s: handed off before a restart as %s; recorded now", r->rel, id);
		return 0;
	}
	if ((n = publish_check(c, r, &st)) != 0) {
		if (n == 1)
			log_info("%s: changed since it was found; handed off when it settles",
				 r->rel);
		return n == 1 ? -1 : 2;
	}
	publish_ticket(c, r, &st, &t);
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
