/*
 * tree.c - the watch's folder tree: one node per folder, its inotify watch,
 * and the walks that make the tree agree with the disk.
 *
 * A walk opens each folder beneath the watch folder without following
 * symlinks (openat2 RESOLVE_BENEATH|RESOLVE_NO_SYMLINKS), adds its inotify
 * watch FIRST and lists it AFTER, so a file that lands in a new folder is
 * either listed or reported by an event, never neither. Every file the
 * index does not know is a candidate for pending.c; sub-folders are walked
 * in turn; nodes of folders that are gone are removed with their watches.
 *
 * A folder is scanned instead of watched when it is on a network file
 * system (statfs type: inotify cannot see other hosts' writes there), when
 * the watch says mode "poll", or when inotify's limits are reached
 * (inotify_add_watch says ENOSPC, or inotify_init1 EMFILE: the user
 * namespace's max_inotify_watches / max_inotify_instances, spool/
 * watchlimit.c): that is logged with the limit in force and the number of
 * folders concerned, noted as the watch-limit fault, and those folders are
 * walked every min_sec seconds, their watches (and the inotify instance)
 * tried again each time. A folder that is one of its own parents (a bind
 * mount loop) is refused (refuse.c) and neither watched nor walked. Output folders of the watch's
 * own template that lie inside the tree are neither watched nor walked.
 *
 * Walks run inside the event loop; events that arrive meanwhile wait in the
 * inotify queue (an overflow only means a rescan).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/syscall.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "openat2_compat.h"
#include "watch.h"

#define WATCH_MASK                                                                                 \
	(IN_CREATE | IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE | IN_MODIFY |        \
	 IN_ATTRIB | IN_DELETE_SELF | IN_MOVE_SELF | IN_ONLYDIR | IN_EXCL_UNLINK)

/* ---- nodes ---- */

static uint64_t
name_hash(const struct dnode *parent, const char *name)
{
	return hash_bytes(name, strlen(name), (uint64_t)(uintptr_t)parent);
}

struct dnode *
tree_child(struct wctx *c, struct dnode *parent, const char *name)
{
	uint64_t h = name_hash(parent, name);

	for (struct hnode *n = hmap_first(&c->tree.by_name, h); n; n = hmap_next(n, h)) {
		struct dnode *d = container_of(n, struct dnode, by_name);

		if (d->parent == parent && strcmp(d->name, name) == 0)
			return d;
	}
	return NULL;
}

static struct dnode *
node_new(struct dnode *parent, const char *name)
{
	struct dnode *d = xcalloc(1, sizeof(*d));

	d->wd = -1;
	if (parent) {
		d->rel = xasprintf("%s/%s", parent->rel, name);
		d->name = d->rel + strlen(parent->rel) + 1;
		d->parent = parent;
		d->dev = parent->dev;
		d->slot = parent->slot;
		d->netfs = parent->netfs;
		d->next = parent->child;
		if (parent->child)
			parent->child->prev = d;
		parent->child = d;
	} else {
		d->rel = xstrdup("");
		d->name = d->rel;
	}
	return d;
}

struct dnode *
tree_child_add(struct wctx *c, struct dnode *parent, const char *name)
{
	struct dnode *d = tree_child(c, parent, name);

	if (d)
		return d;
	d = node_new(parent, name);
	hmap_add(&c->tree.by_name, &d->by_name, name_hash(parent, name));
	c->tree.ndirs++;
	return d;
}

struct dnode *
tree_by_wd(struct wctx *c, int wd)
{
	for (struct hnode *n = hmap_first(&c->tree.by_wd, (uint64_t)wd); n;
	     n = hmap_next(n, (uint64_t)wd)) {
		struct dnode *d = container_of(n, struct dnode, by_wd);

		if (d->wd == wd)
			return d;
	}
	return NULL;
}

static void
node_unwatch(struct wctx *c, struct dnode *d, bool rm)
{
	if (d->wd < 0)
		return;
	if (rm)
		inotify_rm_watch(c->tree.ifd, d->wd); /* EINVAL when the kernel dropped it: fine */
	hmap_del(&c->tree.by_wd, &d->by_wd);
	d->wd = -1;
	c->tree.nwatched--;
}

void
tree_remove(struct wctx *c, struct dnode *d, bool rm_watch)
{
	while (d->child)
		tree_remove(c, d->child, rm_watch);
	node_unwatch(c, d, rm_watch);
	pend_drop_dir(c, d);
	c->tree.nenospc -= d->enospc;
	if (d->parent) {
		if (d->prev)
			d->prev->next = d->next;
		else
			d->parent->child = d->next;
		if (d->next)
			d->next->prev = d->prev;
		hmap_del(&c->tree.by_name, &d->by_name);
	} else {
		c->tree.root = NULL;
	}
	c->tree.ndirs--;
	free(d->rel);
	free(d);
}

void
tree_free(struct wctx *c)
{
	struct tree *t = &c->tree;

	if (t->root)
		tree_remove(c, t->root, false);
	hmap_free(&t->by_name);
	hmap_free(&t->by_wd);
	for (size_t i = 0; i < t->ncand; i++)
		free(t->cand[i].name);
	free(t->cand);
	for (size_t i = 0; i < t->noutputs; i++)
		free(t->outputs[i]);
	free(t->outputs);
	if (t->ifd >= 0)
		close(t->ifd);
	if (t->rootfd >= 0)
		close(t->rootfd);
	t->ifd = t->rootfd = -1;
}

void
tree_init(struct wctx *c)
{
	const char *e = getenv("TMC_WATCH_MAX_WATCHES");

	c->tree.max_watches = e ? atol(e) : 0;
	c->tree.rootfd = -1;
	c->tree.ifd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (c->tree.ifd < 0 && !inotify_limit_errno(errno))
		fatal("inotify_init1");
	if (c->tree.ifd < 0) /* every folder is scanned; the walks say so and retry */
		c->tree.limit_err = errno;
}

void
tree_exclude(struct wctx *c, const char *rel, const char *why)
{
	struct tree *t = &c->tree;

	t->outputs = xreallocarray(t->outputs, t->noutputs + 1, sizeof(char *));
	t->outputs[t->noutputs++] = xstrdup(rel);
	log_info("%s%s holds %s: not watched", c->root_abs, rel, why);
}

bool
tree_is_output(const struct wctx *c, const char *rel)
{
	for (size_t i = 0; i < c->tree.noutputs; i++)
		if (strcmp(c->tree.outputs[i], rel) == 0)
			return true;
	return false;
}

/* ---- folders on disk ---- */

static int
dir_open(struct wctx *c, const struct dnode *d)
{
	struct open_how how = {
		.flags = O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW,
		.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS,
	};
	int fd = (int)syscall(SYS_openat2, c->tree.rootfd, d->rel[0] ? d->rel + 1 : ".", &how,
			      sizeof(how));

	if (fd < 0 && errno == ENOSYS)
		fd = dir_open_beneath(c->tree.rootfd, d->rel, false, 0);
	return fd;
}

/* File systems where inotify cannot see what other hosts write. */
static bool
netfs_type(int fd)
{
	static const unsigned long types[] = {
		0x6969,     /* NFS */
		0x517B,     /* SMB */
		0xFF534D42, /* CIFS */
		0xFE534D42, /* SMB2 */
		0x65735546, /* FUSE (sshfs, glusterfs, s3fs, ...) */
		0x00C36400, /* Ceph */
		0x5346414F, /* AFS */
		0x6B414653, /* kAFS */
		0x01021997, /* 9p */
		0x01161970, /* GFS2 */
		0x7461636F, /* OCFS2 */
		0x0BD00BD0, /* Lustre */
		0x47504653, /* GPFS */
		0x19830326, /* BeeGFS */
		0x73757245, /* Coda */
	};
	struct statfs sf;

	if (fstatfs(fd, &sf) < 0)
		return false;
	for (size_t i = 0; i < sizeof(types) / sizeof(*types); i++)
		if ((unsigned long)(unsigned int)sf.f_type == types[i])
			return true;
	return false;
}

static bool
netfs_here(const struct wctx *c, int fd)
{
	if (strcmp(c->w->mode, "poll") == 0)
		return true;
	if (strcmp(c->w->mode, "inotify") == 0)
		return false;
	return netfs_type(fd);
}

/* Watch folder d (open as fd). 0, or -1 with errno (ENOSPC: the limit). */
static int
watch_add(struct wctx *c, struct dnode *d, int fd)
{
	char path[64];
	struct dnode *other;
	int wd;

	if (c->tree.max_watches > 0 && (long)c->tree.nwatched >= c->tree.max_watches && d->wd < 0) {
		errno = ENOSPC;
		return -1;
	}
	if (c->tree.ifd < 0) { /* no inotify instance (the instance limit) */
		errno = c->tree.limit_err ? c->tree.limit_err : EMFILE;
		return -1;
	}
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	wd = inotify_add_watch(c->tree.ifd, path, WATCH_MASK);
	if (wd < 0 && errno == ENOENT) { /* no /proc: the path itself, last part not followed */
		char *abs = xasprintf("%s%s", c->root_abs, d->rel);

		wd = inotify_add_watch(c->tree.ifd, abs, WATCH_MASK | IN_DONT_FOLLOW);
		free(abs);
	}
	if (wd < 0)
		return -1;
	if (wd == d->wd)
		return 0;
	if ((other = tree_by_wd(c, wd)) != NULL) /* the folder moved here: it is ours now */
		node_unwatch(c, other, false);
	node_unwatch(c, d, true); /* a different folder had this name before */
	d->wd = wd;
	hmap_add(&c->tree.by_wd, &d->by_wd, (uint64_t)wd);
	c->tree.nwatched++;
	return 0;
}

static void
walk_watch(struct wctx *c, struct dnode *d, int fd, enum walk_kind kind)
{
	if (d->netfs)
		node_unwatch(c, d, true); /* a network file system mounted here since */
	if (d->netfs || (kind != WALK_FULL && d->wd >= 0))
		return;
	if (watch_add(c, d, fd) == 0) {
		c->tree.nenospc -= d->enospc;
		d->enospc = false;
		return;
	}
	if (inotify_limit_errno(errno)) {
		c->tree.limit_err = errno;
		c->tree.nenospc += !d->enospc;
		d->enospc = true;
		return;
	}
	log_warn("inotify_add_watch %s%s: scanned instead", c->root_abs, d->rel);
}

/* The folder's device: a mount point inside the tree gets its own slot.
 * (A mount made inside the tree while watching is noticed by the next
 * full walk: a restart or an overflow.) */
static void
walk_device(struct wctx *c, struct dnode *d, int fd, const struct stat *st)
{
	if (d->parent == NULL)
		return;
	if (st->st_dev == d->parent->dev) {
		d->dev = d->parent->dev;
		d->slot = d->parent->slot;
		d->netfs = d->parent->netfs;
		return;
	}
	if (st->st_dev == d->dev)
		return; /* a mount point seen before */
	d->dev = st->st_dev;
	d->slot = index_slot(&c->ix, d->rel);
	d->netfs = netfs_here(c, fd);
	log_info("%s%s: another file system (%s), device slot %u", c->root_abs, d->rel,
		 d->netfs ? "scanned every min_sec" : "watched", (unsigned)d->slot);
}

static void
candidate_add(struct wctx *c, struct dnode *d, const char *name, const struct stat *st)
{
	if (c->tree.ncand == c->tree.capcand) {
		c->tree.capcand = c->tree.capcand ? c->tree.capcand * 2 : 256;
		c->tree.cand = xreallocarray(c->tree.cand, c->tree.capcand, sizeof(*c->tree.cand));
	}
	c->tree.cand[c->tree.ncand++] = (struct candidate){d, xstrdup(name), *st};
}

struct walk {
	enum walk_kind kind;
	bool collect; /* first scan with max_sec: decide after the walk */
	bool after_overflow;
	size_t files, unknown;
	struct dnode **stack;
	size_t n, cap;
};

static void
walk_push(struct walk *wk, struct dnode *d)
{
	if (wk->n == wk->cap) {
		wk->cap = wk->cap ? wk->cap * 2 : 64;
		wk->stack = xreallocarray(wk->stack, wk->cap, sizeof(*wk->stack));
	}
	wk->stack[wk->n++] = d;
}

static void
newest_ctime(struct wctx *c, uint16_t slot, const struct stat *st)
{
	if (slot < 64 && st->st_ctim.tv_sec > c->tree.newest_ctime[slot])
		c->tree.newest_ctime[slot] = st->st_ctim.tv_sec;
}

static void
walk_file(struct wctx *c, struct walk *wk, struct dnode *d, int fd, const char *name)
{
	struct stat st;
	struct ient *e;

	if (refuse_unwanted(c, d, name))
		return;
	if (fstatat(fd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return;
	if (!S_ISREG(st.st_mode)) {
		refuse_type(c, d, name, st.st_mode);
		return;
	}
	wk->files++;
	newest_ctime(c, d->slot, &st);
	e = index_get(&c->ix, d->slot, (uint64_t)st.st_ino);
	if (e) {
		struct ident id;

		ident_from_stat(&id, &st, d->slot);
		if (ident_same(&e->id, &id)) {
			e->gen = c->ix.gen;
			if (c->tree.rebooted && e->kind == IX_HANDED)
				batch_recheck(c, d, name, &id);
			return;
		}
	}
	wk->unknown++;
	if (wk->collect)
		candidate_add(c, d, name, &st);
	else
		pend_found(c, d, name, &st, wk->after_overflow);
}

static void
walk_subdir(struct wctx *c, struct walk *wk, struct dnode *d, const char *name)
{
	struct dnode *child = tree_child(c, d, name);

	if (child == NULL) {
		char rel[PATH_MAX];

		if (snprintf(rel, sizeof(rel), "%s/%s", d->rel, name) >= (int)sizeof(rel) ||
		    tree_is_output(c, rel))
			return;
		child = tree_child_add(c, d, name);
	}
	child->seen = c->tree.stamp;
	walk_push(wk, child);
}

/* List folder d (open as fd, which is closed); false when it could not
 * be read. */
static bool
walk_list(struct wctx *c, struct walk *wk, struct dnode *d, int fd)
{
	struct dirent *de;
	DIR *dir = fdopendir(fd);

	if (dir == NULL) {
		close(fd);
		return false;
	}
	errno = 0;
	while ((de = readdir(dir)) != NULL) {
		unsigned char type = de->d_type;
		struct stat st;

		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (type == DT_UNKNOWN && fstatat(fd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0)
			type = IFTODT(st.st_mode);
		if (type == DT_DIR)
			walk_subdir(c, wk, d, de->d_name);
		else if (type == DT_REG || type == DT_UNKNOWN)
			walk_file(c, wk, d, fd, de->d_name);
		else if (!rules_temp_name(de->d_name))
			refuse_type(c, d, de->d_name, DTTOIF(type));
		else
			refuse_unwanted(c, d, de->d_name);
		errno = 0;
	}
	closedir(dir);
	return errno == 0;
}

/* Is folder d (stat st) one of its own parents? Then it is a loop (a bind
 * mount of a folder inside itself): refused, never walked nor watched
 * (its watch would be its parent's). */
static bool
walk_loop(struct wctx *c, struct dnode *d, const struct stat *st)
{
	d->ino = st->st_ino;
	for (const struct dnode *a = d->parent; a; a = a->parent) {
		if (a->ino == st->st_ino && a->dev == st->st_dev) {
			refuse_loop(c, d, a);
			return true;
		}
	}
	return false;
}

static void
walk_dir(struct wctx *c, struct walk *wk, struct dnode *d)
{
	struct dnode *ch, *next;
	struct stat st;
	int fd = dir_open(c, d), e;

	if (fd >= 0 && fstat(fd, &st) < 0) {
		e = errno;
		close(fd);
		fd = -1;
		errno = e;
	}
	if (fd < 0) {
		if (errno == ENOENT || errno == ENOTDIR || errno == ELOOP || errno == EXDEV) {
			if (d == c->tree.root)
				tree_root_lost(c);
			else
				tree_remove(c, d, true);
			return;
		}
		log_warn("%s%s", c->root_abs, d->rel);
		c->tree.walk_errors++;
		return;
	}
	if (walk_loop(c, d, &st)) {
		close(fd);
		tree_remove(c, d, true);
		return;
	}
	walk_device(c, d, fd, &st);
	newest_ctime(c, d->slot, &st);
	walk_watch(c, d, fd, wk->kind);
	d->seen = c->tree.stamp;
	if (!walk_list(c, wk, d, fd)) {
		log_warn("%s%s", c->root_abs, d->rel);
		c->tree.walk_errors++;
		return;
	}
	for (ch = d->child; ch; ch = next) {
		next = ch->next;
		if (ch->seen != c->tree.stamp)
			tree_remove(c, ch, true);
	}
	if (d->wd < 0)
		pend_poll_sweep(c, d);
}

/* The first scan of a new index with max_sec: files whose mtime is older
 * than max_sec before the newest ctime seen on their file system are
 * recorded as skipped (TMC's first scan looked only 30 days back). */
static void
walk_decide(struct wctx *c, struct walk *wk)
{
	size_t skipped = 0;

	for (size_t i = 0; i < c->tree.ncand; i++) {
		struct candidate *k = &c->tree.cand[i];
		int64_t newest = k->dir->slot < 64 ? c->tree.newest_ctime[k->dir->slot] : 0;

		if ((int64_t)k->st.st_mtim.tv_sec < newest - c->w->max_sec) {
			struct ident id;

			ident_from_stat(&id, &k->st, k->dir->slot);
			index_put(&c->ix, &id, IX_SKIPPED, c->ix.gen);
			skipped++;
		} else {
			pend_found(c, k->dir, k->name, &k->st, wk->after_overflow);
		}
		free(k->name);
	}
	c->tree.ncand = 0;
	if (skipped)
		log_info("first scan: %zu files older than max_sec (%d s) before the newest change "
			 "are left alone",
			 skipped, c->w->max_sec);
	index_flush(&c->ix);
}

/* The watch limit: say which limit and how many folders, when it starts
 * and each time twice as many folders are concerned; note the fault. */
static void
walk_limit_report(struct wctx *c)
{
	char limit[256], what[PATH_MAX + 64];

	if (c->tree.max_watches > 0)
		snprintf(limit, sizeof(limit), "%ld (TMC_WATCH_MAX_WATCHES)", c->tree.max_watches);
	else
		inotify_limit_text(c->tree.limit_err ? c->tree.limit_err : ENOSPC, limit,
				   sizeof(limit));
	log_warnx("inotify %s limit reached (%s): %zu folders of %s are scanned every %d s "
		  "instead; this watch needs %zu more watches, %zu in all",
		  c->tree.ifd < 0 ? "instance" : "watch", limit, c->tree.nenospc, c->root_abs,
		  c->poll_ms / 1000, c->tree.nenospc, c->tree.ndirs);
	snprintf(what, sizeof(what), "%zu folders of %s", c->tree.nenospc, c->root_abs);
	if (c->tree.max_watches <= 0)
		inotify_limit_hit(c->tree.limit_err ? c->tree.limit_err : ENOSPC, what);
	c->tree.enospc_logged = c->tree.nenospc;
}

static void
walk_report(struct wctx *c)
{
	if (c->tree.nenospc == 0 && c->tree.enospc_logged > 0) {
		log_info("every folder of %s is watched again", c->root_abs);
		fault_clear(FAULT_WATCHES);
	}
	if (c->tree.nenospc > 0 &&
	    (c->tree.enospc_logged == 0 || c->tree.nenospc >= 2 * c->tree.enospc_logged))
		walk_limit_report(c);
	if (c->tree.nenospc == 0)
		c->tree.enospc_logged = 0;
	if (tree_unwatched(c))
		timers_poll(&c->tm, now_ms_mono(), c->poll_ms);
}

/* No inotify instance (the instance limit): try again before a walk. */
static void
walk_inotify_retry(struct wctx *c)
{
	if (c->tree.ifd >= 0)
		return;
	c->tree.ifd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (c->tree.ifd < 0)
		c->tree.limit_err = errno;
}

void
tree_walk(struct wctx *c, struct dnode *start, enum walk_kind kind)
{
	struct walk wk = {.kind = kind, .after_overflow = kind == WALK_FULL && c->tm.overflowed};
	bool whole = kind == WALK_FULL && start == c->tree.root;
	int64_t t0 = now_ms_mono();

	c->tree.stamp++;
	walk_inotify_retry(c);
	if (whole) {
		c->ix.gen++;
		c->tree.walk_errors = 0;
		memset(c->tree.newest_ctime, 0, sizeof(c->tree.newest_ctime));
		wk.collect = !c->ix.existed && c->w->max_sec > 0;
	}
	walk_push(&wk, start);
	while (wk.n > 0 && c->tree.root != NULL)
		walk_dir(c, &wk, wk.stack[--wk.n]);
	free(wk.stack);
	if (c->tree.root == NULL) { /* the watch folder went away during the walk */
		for (size_t i = 0; i < c->tree.ncand; i++)
			free(c->tree.cand[i].name);
		c->tree.ncand = 0;
		return;
	}
	if (wk.collect)
		walk_decide(c, &wk);
	walk_report(c);
	if (whole) {
		c->ix.existed = true;
		c->tree.rebooted = false;
		log_info(
			"scanned %s: %zu folders (%zu watched), %zu files, %zu not handed off yet, "
			"in %lld ms",
			c->root_abs, c->tree.ndirs, c->tree.nwatched, wk.files, wk.unknown,
			(long long)(now_ms_mono() - t0));
		if (c->tree.walk_errors == 0) {
			size_t gone = index_sweep(&c->ix, c->ix.gen - 1);

			if (gone || index_wants_compaction(&c->ix))
				index_compact(&c->ix);
			timers_swept(&c->tm, c->ix.live);
		}
	}
}

/* Walk every folder that is not watched (scanned: network file systems,
 * mode poll, the watch limit): each sub-tree under an unwatched folder
 * whose parent is watched, whole (a watched folder below an unwatched one
 * is listed again: rare, and it keeps the sub-trees disjoint). */
void
tree_poll(struct wctx *c)
{
	struct dnode **tops = NULL, *d, *up;
	size_t n = 0, cap = 0;

	for (d = c->tree.root; d;) {
		if (d->wd < 0 && (d->parent == NULL || d->parent->wd >= 0)) {
			if (n == cap)
				tops = xreallocarray(tops, cap = cap ? cap * 2 : 16, sizeof(*tops));
			tops[n++] = d;
		} else if (d->child) {
			d = d->child;
			continue;
		}
		for (up = d; up && !up->next; up = up->parent)
			;
		d = up ? up->next : NULL;
	}
	/* walking one top never removes another: they are disjoint sub-trees,
	 * and a top that vanished is removed by its own walk only */
	for (size_t i = 0; i < n && c->tree.root; i++)
		tree_walk(c, tops[i], WALK_POLL);
	free(tops);
	if (c->tree.root && tree_unwatched(c))
		timers_poll(&c->tm, now_ms_mono(), c->poll_ms);
}

size_t
tree_unwatched(const struct wctx *c)
{
	return c->tree.ndirs - c->tree.nwatched;
}

int
tree_root_open(struct wctx *c)
{
	struct stat st;
	int fd = open(c->root_abs, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0 || fstat(fd, &st) < 0) {
		int e = errno;

		if (fd >= 0)
			close(fd);
		errno = e;
		if (timers_root_missing(&c->tm, now_ms_mono(), false))
			log_warn("%s: watching starts when it exists", c->root_abs);
		return -1;
	}
	timers_root_found(&c->tm);
	c->tree.rootfd = fd;
	c->tree.root = node_new(NULL, "");
	c->tree.root->dev = st.st_dev;
	c->tree.root->ino = st.st_ino;
	c->tree.root->slot = 0;
	c->tree.root->netfs = netfs_here(c, fd);
	c->tree.ndirs = 1;
	if (c->tree.root->netfs)
		log_info("%s is scanned every %d s (%s)", c->root_abs, c->poll_ms / 1000,
			 strcmp(c->w->mode, "poll") == 0 ? "mode poll" : "network file system");
	tree_walk(c, c->tree.root, WALK_FULL);
	return c->tree.root ? 0 : -1;
}

void
tree_root_lost(struct wctx *c)
{
	log_warnx("%s was removed or moved away: watching starts again when it exists",
		  c->root_abs);
	if (c->tree.root)
		tree_remove(c, c->tree.root, true);
	if (c->tree.rootfd >= 0)
		close(c->tree.rootfd);
	c->tree.rootfd = -1;
	timers_root_missing(&c->tm, now_ms_mono(), true);
}
