/*
 * census.c - what the spool holds: every stage of every template
 * (stages/<tpl>/<NN-step>/{new,cur,err}) and outbox/, counted per stage
 * and, when asked, item by item from their tickets. The one walk of the
 * stage tree that `tmcwatch status`, `tmcwatch queue`, requeue, purge and
 * tmc-httpd's /metrics share, so only spool/ knows the spool's shape.
 *
 * Reading is lock-free and safe while the daemon runs: tickets are replaced
 * by rename, so a ticket read is an old or a new one, and an item that moves
 * between listing and reading is simply shown with what could be read.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "spool.h"

#define TICKET_READ_MAX (1 << 20)

static const char *const sub_names[3] = {"new", "cur", "err"};

const char *
census_state_name(enum census_state s)
{
	static const char *const names[] = {"waiting", "deferred", "working", "failed"};

	return names[s];
}

static int
name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Names in dirfd/name not starting with '.', sorted (byte order); -1 when
 * it cannot be listed. */
static int
sorted_names(int dirfd, const char *name, char ***out)
{
	int fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	struct dirent *de;
	char **v = NULL;
	size_t n = 0;
	DIR *d;

	if (fd < 0 || (d = fdopendir(fd)) == NULL) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		v = xreallocarray(v, n + 1, sizeof(*v));
		v[n++] = xstrdup(de->d_name);
	}
	closedir(d);
	if (n)
		qsort(v, n, sizeof(*v), name_cmp);
	*out = v;
	return (int)n;
}

static void
names_free(char **v, int n)
{
	for (int i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

/* The first line of dirfd/path, or NULL */
static char *
first_line(int dirfd, const char *path)
{
	char *text = file_read_at(dirfd, path, 4096, NULL);

	if (text)
		text[strcspn(text, "\n")] = '\0';
	return text;
}

/* One item from its folder subfd/name: ticket fields, mtime, reason. */
static void
item_fill(int subfd, const char *name, enum census_state state, struct census_item *ci)
{
	char path[NAME_MAX + 16], why[128], *text, *reason;
	struct ticket t = {0};
	struct stat st = {0};
	size_t len;
	const char *v;

	snprintf(ci->id, sizeof(ci->id), "%s", name);
	ci->state = state;
	if (fstatat(subfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0)
		ci->mtime = st.st_mtime;
	snprintf(path, sizeof(path), "%s/ticket", name);
	text = file_read_at(subfd, path, TICKET_READ_MAX, &len);
	if (text && ticket_parse(&t, text, len, why, sizeof(why)) == 0) {
		v = ticket_get(&t, "src") ?: ticket_get(&t, "rel") ?: ticket_get(&t, "url");
		ci->original = xstrdup(v ? v : "");
		if ((v = ticket_get(&t, "origin")) == NULL && ticket_get(&t, "seq"))
			ci->origin = xasprintf("job:%s", ticket_get(&t, "seq")); /* a callback */
		else
			ci->origin = xstrdup(v ? v : "");
		ci->attempts = ticket_get_ll(&t, "attempt", 0);
		ci->not_before = ticket_get_ll(&t, "not_before", 0);
		if (state == CENSUS_WAITING && ci->not_before > now_s_real())
			ci->state = CENSUS_DEFERRED;
		if ((v = ticket_get(&t, "last_error")) != NULL)
			ci->reason = xstrdup(v);
	}
	if (state == CENSUS_FAILED) { /* err/<id>/reason, or <name>.reason beside a stray file */
		snprintf(path, sizeof(path), S_ISDIR(st.st_mode) ? "%s/reason" : "%s.reason", name);
		if ((reason = first_line(subfd, path)) != NULL) {
			free(ci->reason);
			ci->reason = reason;
		}
	}
	ci->original = ci->original ?: xstrdup("");
	ci->origin = ci->origin ?: xstrdup("");
	ci->reason = ci->reason ?: xstrdup(text ? "" : "no readable ticket");
	ticket_free(&t);
	free(text);
}

static void
item_add(struct census *c, const char *label, size_t order, int subfd, const char *name,
	 enum census_state state)
{
	struct census_item *ci;

	c->items = xreallocarray(c->items, c->nitems + 1, sizeof(*c->items));
	ci = &c->items[c->nitems++];
	memset(ci, 0, sizeof(*ci));
	snprintf(ci->stage, sizeof(ci->stage), "%s", label);
	ci->order = order;
	item_fill(subfd, name, state, ci);
}

/* A stray file in err/ keeps its reason as "<name>.reason" beside it:
 * that one is counted (as status always did) but is not an item. */
static bool
is_reason_of_stray(int subfd, const char *name)
{
	size_t len = strlen(name);
	struct stat st;
	char base[NAME_MAX + 1];

	if (len <= 7 || strcmp(name + len - 7, ".reason") != 0)
		return false;
	snprintf(base, sizeof(base), "%.*s", (int)(len - 7), name);
	return fstatat(subfd, base, &st, AT_SYMLINK_NOFOLLOW) == 0 && !S_ISDIR(st.st_mode);
}

/* One of new/ cur/ err/: count its entries (not starting with '.'); in
 * err/, remember the newest (by mtime; ties: the later one read). */
static long
sub_walk(struct census *c, struct census_stage *cs, size_t order, int stagefd, int k, int flags,
	 char *newest, size_t nlen)
{
	bool items = (flags & CENSUS_ITEMS) || (k == 2 && (flags & CENSUS_FAILED_ITEMS));
	DIR *d = dir_open_at(stagefd, sub_names[k]);
	time_t best = 0;
	struct dirent *de;
	struct stat st;
	long n = 0;

	if (d == NULL)
		return 0;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		n++;
		if ((newest || k == 0) &&
		    fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0) {
			if (newest && st.st_mtime >= best) {
				best = st.st_mtime;
				snprintf(newest, nlen, "%s", de->d_name);
			}
			if (k == 0 && (cs->oldest_waiting == 0 || st.st_mtime < cs->oldest_waiting))
				cs->oldest_waiting = st.st_mtime;
		}
		if (items && !(k == 2 && is_reason_of_stray(dirfd(d), de->d_name)))
			item_add(c, cs->label, order, dirfd(d), de->d_name,
				 k == 0   ? CENSUS_WAITING
				 : k == 1 ? CENSUS_WORKING
					  : CENSUS_FAILED);
	}
	closedir(d);
	return n;
}

static void
stage_walk(struct census *c, struct census_stage *cs, size_t order, int stagefd, int flags)
{
	char newest[NAME_MAX + 1] = "", path[NAME_MAX + 16], *reason;

	cs->waiting = sub_walk(c, cs, order, stagefd, 0, flags, NULL, 0);
	cs->working = sub_walk(c, cs, order, stagefd, 1, flags, NULL, 0);
	cs->failed = sub_walk(c, cs, order, stagefd, 2, flags, newest, sizeof(newest));
	snprintf(path, sizeof(path), "err/%s/reason", newest);
	if (newest[0] && (reason = first_line(stagefd, path)) != NULL) {
		snprintf(cs->last_error, sizeof(cs->last_error), "%s", reason);
		free(reason);
	}
}

static void
template_walk(struct census *c, int stagesfd, const char *tpl, int flags)
{
	int tfd = openat(stagesfd, tpl, O_RDONLY | O_DIRECTORY | O_CLOEXEC), ns, sfd;
	struct census_stage *cs;
	char **steps = NULL;

	if (tfd < 0)
		return;
	ns = sorted_names(tfd, ".", &steps);
	for (int j = 0; j < ns; j++) {
		if ((sfd = openat(tfd, steps[j], O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
			continue;
		c->stages = xreallocarray(c->stages, c->nstages + 1, sizeof(*c->stages));
		cs = &c->stages[c->nstages];
		memset(cs, 0, sizeof(*cs));
		snprintf(cs->tpl, sizeof(cs->tpl), "%s", tpl);
		snprintf(cs->step, sizeof(cs->step), "%s", steps[j]);
		snprintf(cs->label, sizeof(cs->label), "%s/%s", tpl, steps[j]);
		stage_walk(c, cs, c->nstages, sfd, flags);
		c->nstages++;
		close(sfd);
	}
	if (ns > 0)
		names_free(steps, ns);
	close(tfd);
}

static int
item_cmp(const void *a, const void *b)
{
	const struct census_item *x = a, *y = b;
	int s;

	if (x->order != y->order)
		return x->order < y->order ? -1 : 1;
	/* failed first: what needs a person; then working, deferred, waiting */
	if (x->state != y->state)
		return (int)y->state - (int)x->state;
	s = strcmp(x->id, y->id);
	return s;
}

int
spool_census(const struct spool *sp, int flags, struct census *c)
{
	int stagesfd = openat(sp->fd, "stages", O_RDONLY | O_DIRECTORY | O_CLOEXEC), nt, ofd;
	char **tpls = NULL;

	memset(c, 0, sizeof(*c));
	nt = stagesfd < 0 ? -1 : sorted_names(stagesfd, ".", &tpls);
	for (int i = 0; i < nt; i++)
		template_walk(c, stagesfd, tpls[i], flags);
	if (nt > 0)
		names_free(tpls, nt);
	if (stagesfd >= 0)
		close(stagesfd);
	snprintf(c->outbox.label, sizeof(c->outbox.label), "outbox");
	snprintf(c->outbox.step, sizeof(c->outbox.step), "outbox");
	if ((ofd = openat(sp->fd, "outbox", O_RDONLY | O_DIRECTORY | O_CLOEXEC)) >= 0) {
		stage_walk(c, &c->outbox, c->nstages, ofd, flags);
		close(ofd);
	}
	if (c->nitems)
		qsort(c->items, c->nitems, sizeof(*c->items), item_cmp);
	return stagesfd < 0 ? -1 : 0;
}

void
census_free(struct census *c)
{
	for (size_t i = 0; i < c->nitems; i++)
		census_item_free(&c->items[i]);
	free(c->items);
	free(c->stages);
	memset(c, 0, sizeof(*c));
}

/* The folder of a stage label: "outbox" or stages/<tpl>/<NN-step> */
int
census_stage_path(const struct spool *sp, const char *label, char *buf, size_t len)
{
	int n = strcmp(label, "outbox") == 0 ? snprintf(buf, len, "%s/outbox", sp->path)
					     : snprintf(buf, len, "%s/stages/%s", sp->path, label);

	return n < 0 || (size_t)n >= len ? -1 : 0;
}

/* One item (the worker list of `tmcwatch status` names a worker's item by
 * its original): 0 filled (census_item_free it), -1 not there. */
int
census_item(const struct spool *sp, const char *label, enum census_state state, const char *name,
	    struct census_item *ci)
{
	char path[PATH_MAX];
	int k = state == CENSUS_WORKING ? 1 : state == CENSUS_FAILED ? 2 : 0, fd;
	struct stat st;

	memset(ci, 0, sizeof(*ci));
	if (!id_valid(name) || strstr(label, "..") ||
	    census_stage_path(sp, label, path, sizeof(path)) < 0 ||
	    strlen(path) + 5 >= sizeof(path))
		return -1;
	strcat(path, "/");
	strcat(path, sub_names[k]);
	if ((fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return -1;
	if (fstatat(fd, name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
		close(fd);
		return -1;
	}
	snprintf(ci->stage, sizeof(ci->stage), "%s", label);
	item_fill(fd, name, state, ci);
	close(fd);
	return 0;
}

void
census_item_free(struct census_item *ci)
{
	free(ci->original);
	free(ci->origin);
	free(ci->reason);
	memset(ci, 0, sizeof(*ci));
}
