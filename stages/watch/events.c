/*
 * events.c - inotify events into folder changes and file states.
 *
 * Events are hints, walks are the truth (doc/ARCHITECTURE.md, Design rules): a folder created or
 * moved in is walked (its watch is added before it is listed); a folder
 * deleted or moved away drops its node, its watches and its pending files;
 * IN_Q_OVERFLOW schedules a walk of the whole tree, sooner the first time
 * and later (doubling up to RESCAN_MAX_MS) while overflows keep coming
 * (timers.c).
 *
 * A name with no pending entry is admitted first (event_admit): temporary
 * and unselected names are skipped, and anything that is not a regular
 * file (a symlink, FIFO, socket or device) is refused when it appears
 * (refuse.c), so it never waits in the pending list.
 *
 * Files (after the name rules of rules_wanted):
 *   IN_MOVED_TO              ready at once (a rename is atomic)
 *   IN_CLOSE_WRITE           quiet period, then re-check (pending.c)
 *   IN_CREATE, IN_MODIFY     a writer is at work
 *   IN_ATTRIB                quiet period (touch, cp -p setting the mtime)
 *   IN_DELETE, IN_MOVED_FROM forget the pending file
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/inotify.h>
#include <unistd.h>

#include "watch.h"

/* The watch descriptor's folder is gone from inotify (deleted, unmounted,
 * or its watch removed by us). */
static void
event_ignored(struct wctx *c, struct dnode *d)
{
	struct stat st;

	if (d == c->tree.root) {
		tree_root_lost(c);
		return;
	}
	if (file_stat(c->tree.rootfd, d->rel, &st) == 0 && S_ISDIR(st.st_mode))
		tree_walk(c, d, WALK_ARRIVAL); /* unmounted: the folder below is watched */
	else
		tree_remove(c, d, false);
}

static void
event_dir(struct wctx *c, struct dnode *d, const struct inotify_event *ev)
{
	char rel[PATH_MAX];
	struct dnode *child;

	if (ev->mask & (IN_CREATE | IN_MOVED_TO)) {
		if (!file_rel(d->rel, ev->name, rel, sizeof(rel)) || tree_is_output(c, rel))
			return;
		child = tree_child_add(c, d, ev->name);
		tree_walk(c, child, WALK_ARRIVAL);
	} else if (ev->mask & (IN_DELETE | IN_MOVED_FROM)) {
		if ((child = tree_child(c, d, ev->name)) != NULL)
			tree_remove(c, child, (ev->mask & IN_MOVED_FROM) != 0);
	}
}

/* A name with no pending entry: a regular file to follow? (st: its lstat) */
static bool
event_admit(struct wctx *c, struct dnode *d, const struct inotify_event *ev, struct stat *st)
{
	bool appeared = (ev->mask & (IN_CREATE | IN_MOVED_TO)) != 0;
	char rel[PATH_MAX];

	/* writes come in floods: only an object that appears is looked at
	 * before its name is judged */
	if (rules_temp_name(ev->name) ||
	    (!appeared && !rules_wanted(c->w, c->tpl, d->rel, ev->name))) {
		refuse_unwanted(c, d, ev->name);
		return false;
	}
	if (!file_rel(d->rel, ev->name, rel, sizeof(rel)) || file_stat(c->tree.rootfd, rel, st) < 0)
		return false; /* gone already */
	if (!S_ISREG(st->st_mode)) {
		refuse_type(c, d, ev->name, st->st_mode);
		return false;
	}
	return !refuse_unwanted(c, d, ev->name);
}

static void
event_file(struct wctx *c, struct dnode *d, const struct inotify_event *ev)
{
	struct pend *p = pend_find(c, d, ev->name);
	char rel[PATH_MAX];
	struct stat st;

	if (ev->mask & (IN_DELETE | IN_MOVED_FROM)) {
		if (p)
			pend_drop(c, p);
		return;
	}
	/* writes come in floods: an entry that is already waiting needs no rules */
	if ((ev->mask & IN_MODIFY) && p) {
		pend_writing(c, d, ev->name);
		return;
	}
	if (p == NULL && !event_admit(c, d, ev, &st))
		return;
	if (ev->mask & IN_MOVED_TO) {
		if (p)
			pend_drop(c, p);
		if (file_rel(d->rel, ev->name, rel, sizeof(rel)) &&
		    file_stat(c->tree.rootfd, rel, &st) == 0 && S_ISREG(st.st_mode))
			batch_ready(c, d, ev->name, &st);
	} else if (ev->mask & IN_CLOSE_WRITE) {
		pend_closed(c, d, ev->name, c->quiet_ms);
	} else if (ev->mask & (IN_CREATE | IN_MODIFY)) {
		pend_writing(c, d, ev->name);
	} else if (ev->mask & IN_ATTRIB) {
		pend_attrib(c, d, ev->name);
	}
}

/* Events were lost: the whole tree is walked again (timers.c says when). */
static void
event_overflow(struct wctx *c)
{
	int64_t delay = timers_rescan(&c->tm, true, now_ms_mono());

	log_warnx("inotify queue overflowed (fs.inotify.max_queued_events): events were "
		  "lost, %s is walked again in %lld ms",
		  c->root_abs, (long long)delay);
}

static void
event_one(struct wctx *c, const struct inotify_event *ev)
{
	struct dnode *d;

	if (ev->mask & IN_Q_OVERFLOW) {
		event_overflow(c);
		return;
	}
	if ((d = tree_by_wd(c, ev->wd)) == NULL)
		return; /* a watch removed a moment ago */
	if (ev->mask & IN_IGNORED) {
		event_ignored(c, d);
		return;
	}
	if (ev->len == 0) {
		if (d == c->tree.root && (ev->mask & (IN_DELETE_SELF | IN_MOVE_SELF | IN_UNMOUNT)))
			tree_root_lost(c);
		return; /* other folders' own moves arrive as their parent's events */
	}
	if (ev->mask & IN_ISDIR)
		event_dir(c, d, ev);
	else
		event_file(c, d, ev);
}

void
events_read(struct wctx *c)
{
	char buf[64 * 1024] __attribute__((aligned(__alignof__(struct inotify_event))));
	ssize_t n;

	/* a bounded number of reads per loop turn, so deadlines are served too */
	for (int round = 0; round < 16 && c->tree.ifd >= 0; round++) {
		n = read(c->tree.ifd, buf, sizeof(buf));
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		if (n <= 0) {
			log_warn("read inotify");
			return;
		}
		for (char *p = buf; p < buf + n;) {
			const struct inotify_event *ev = (const struct inotify_event *)p;

			event_one(c, ev);
			p += sizeof(*ev) + ev->len;
		}
	}
}
