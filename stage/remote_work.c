/*
 * remote_work.c - a worker host's remote/ folder (tmcwatch-worker(8)).
 *
 * Each request tmc-gworker has in hand is a key "<item id>-<nonce>" with
 *   remote/<key>.lock   flocked by its tmc-gworker for the request's life
 *   remote/<key>/src/   the original, as the spool host sent it
 *   remote/<key>/out/   the unit's outputs (the items' output root)
 *   remote/<key>.log    the unit's result lines (spool/result.c)
 * and one item per step of the unit, all with id <key>, in the local stages.
 * Work whose lock nobody holds is dead (a crash, a stop): it is removed with
 * its items, by the supervisor before any child starts and by tmc-gworker
 * at its start. remote/ itself is flocked shared while a key is made and
 * exclusively while dead work is looked for, so a key being made is never
 * taken for dead.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "stage.h"

static int
remote_dir(const struct spool *sp)
{
	int fd;

	if (mkdirat(sp->fd, "remote", 0755) < 0 && errno != EEXIST)
		return -1;
	fd = openat(sp->fd, "remote", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		log_warn("%s/remote", sp->path);
	return fd;
}

static void stages_each(const struct spool *sp, const struct conf *conf,
			void (*fn)(struct stage_dir *, const char *, void *), void *arg);
static void drop_one(struct stage_dir *sd, const char *tpl, void *key);

/* remote/<key>.lock taken (fd), anything a dead taker of key left removed;
 * -1 (logged) when it cannot be, EBUSY: a live tmc-gworker has the key. */
static int
take_key(const struct spool *sp, const struct conf *conf, int rfd, const char *key)
{
	char name[ITEM_ID_MAX + 8];
	int fd;

	snprintf(name, sizeof(name), "%s.lock", key);
	if ((fd = openat(rfd, name, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644)) < 0) {
		log_warn("%s/remote/%s", sp->path, name);
		return -1;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		close(fd);
		errno = EBUSY; /* a duplicate of a request in hand */
		log_warn("%s/remote/%s", sp->path, name);
		return -1;
	}
	/* the same request again after its taker died: start afresh */
	stages_each(sp, conf, drop_one, (void *)key);
	rmtree_at(rfd, key);
	snprintf(name, sizeof(name), "%s.log", key);
	unlinkat(rfd, name, 0);
	return fd;
}

int
remote_work_create(const struct spool *sp, const struct conf *conf, const char *key, int *lockfd)
{
	int rfd = remote_dir(sp), wfd = -1;

	*lockfd = -1;
	if (rfd < 0)
		return -1;
	flock(rfd, LOCK_SH);
	if ((*lockfd = take_key(sp, conf, rfd, key)) >= 0 &&
	    ((mkdirat(rfd, key, 0755) < 0 && errno != EEXIST) ||
	     (wfd = openat(rfd, key, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0 ||
	     (mkdirat(wfd, "src", 0755) < 0 && errno != EEXIST) ||
	     (mkdirat(wfd, "out", 0755) < 0 && errno != EEXIST))) {
		log_warn("%s/remote/%s", sp->path, key);
		if (wfd >= 0)
			close(wfd);
		wfd = -1;
	}
	close(rfd); /* drops the shared lock; the key's own lock is held */
	if (wfd < 0 && *lockfd >= 0) {
		close(*lockfd);
		*lockfd = -1;
	}
	return wfd;
}

/* Item <key> out of one stage: new/, err/, tmp/, and cur/ when no worker
 * holds its ticket (a live one finishes, and its line goes nowhere read). */
static void
stage_drop(struct stage_dir *sd, const char *key)
{
	char ticket[ITEM_ID_MAX + 8];
	int fd;

	rmtree_at(sd->newfd, key);
	rmtree_at(sd->errfd, key);
	rmtree_at(sd->tmpfd, key);
	snprintf(ticket, sizeof(ticket), "%s/ticket", key);
	fd = openat(sd->curfd, ticket, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd >= 0 && flock(fd, LOCK_EX | LOCK_NB) == 0)
		rmtree_at(sd->curfd, key);
	else if (fd < 0)
		rmtree_at(sd->curfd, key); /* no ticket: not an item anyone holds */
	if (fd >= 0)
		close(fd);
}

/* Every stage of every template of conf, when it exists (a worker host
 * has folders only for the steps it served). fn(sd, arg) for each. */
static void
stages_each(const struct spool *sp, const struct conf *conf,
	    void (*fn)(struct stage_dir *, const char *, void *), void *arg)
{
	for (size_t t = 0; t < conf->ntemplates; t++) {
		const struct template *tpl = &conf->templates[t];

		for (size_t j = 0; j < tpl->nsteps; j++) {
			struct stage_dir sd;

			if (stage_open(&sd, sp, tpl->name, (int)j, tpl->steps[j].name, false) < 0)
				continue;
			fn(&sd, tpl->name, arg);
			stage_close(&sd);
		}
	}
}

static void
drop_one(struct stage_dir *sd, const char *tpl, void *key)
{
	(void)tpl;
	stage_drop(sd, key);
}

void
remote_work_remove(const struct spool *sp, const struct conf *conf, const char *key)
{
	char name[ITEM_ID_MAX + 8];
	int rfd = remote_dir(sp);

	stages_each(sp, conf, drop_one, (void *)key);
	if (rfd < 0)
		return;
	if (rmtree_at(rfd, key) < 0)
		log_warn("%s/remote/%s", sp->path, key);
	snprintf(name, sizeof(name), "%s.log", key);
	unlinkat(rfd, name, 0);
	snprintf(name, sizeof(name), "%s.lock", key);
	unlinkat(rfd, name, 0);
	close(rfd);
}

struct keys {
	char **v;
	size_t n;
};

static void
keys_add(struct keys *k, const char *name, size_t len)
{
	char *key = xstrndup(name, len);

	for (size_t i = 0; i < k->n; i++)
		if (strcmp(k->v[i], key) == 0) {
			free(key);
			return;
		}
	if (!id_valid(key)) {
		free(key);
		return;
	}
	k->v = xreallocarray(k->v, k->n + 1, sizeof(*k->v));
	k->v[k->n++] = key;
}

/* Is <name>/ticket in fd an item of a remote unit (origin=remote:...)? */
static bool
remote_item(int fd, const char *name)
{
	char path[ITEM_ID_MAX + 8], reason[128];
	struct ticket t = {0};
	size_t len;
	char *buf;
	bool yes;

	snprintf(path, sizeof(path), "%s/ticket", name);
	if ((buf = file_read_at(fd, path, 1 << 20, &len)) == NULL)
		return false;
	yes = ticket_parse(&t, buf, len, reason, sizeof(reason)) == 0 &&
	      strncmp(ticket_get(&t, "origin") ?: "", "remote:", 7) == 0;
	ticket_free(&t);
	free(buf);
	return yes;
}

/* Keys named in fd: remote/ (all) or a stage's new/ cur/ err/ (items
 * = true: only remote units' items, a spool may hold others). */
static void
keys_of_dir(int fd, struct keys *k, bool items)
{
	DIR *d = fdopendir(dup(fd));
	struct dirent *de;

	if (d == NULL)
		return;
	rewinddir(d);
	while ((de = readdir(d)) != NULL) {
		const char *dot = strrchr(de->d_name, '.');
		size_t len = strlen(de->d_name);

		if (de->d_name[0] == '.' || (items && !remote_item(fd, de->d_name)))
			continue;
		if (dot && (strcmp(dot, ".lock") == 0 || strcmp(dot, ".log") == 0))
			len = (size_t)(dot - de->d_name);
		keys_add(k, de->d_name, len);
	}
	closedir(d);
}

static void
keys_of_stage(struct stage_dir *sd, const char *tpl, void *arg)
{
	(void)tpl;
	keys_of_dir(sd->newfd, arg, true);
	keys_of_dir(sd->curfd, arg, true);
	keys_of_dir(sd->errfd, arg, true);
}

/* Nobody holds remote/<key>.lock (or there is none). */
static bool
key_dead(int rfd, const char *key)
{
	char name[ITEM_ID_MAX + 8];
	bool dead;
	int fd;

	snprintf(name, sizeof(name), "%s.lock", key);
	if ((fd = openat(rfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) < 0)
		return errno == ENOENT;
	dead = flock(fd, LOCK_EX | LOCK_NB) == 0;
	close(fd);
	return dead;
}

int
remote_work_clean(const struct spool *sp, const struct conf *conf)
{
	struct keys k = {0};
	int rfd = remote_dir(sp), n = 0;

	if (rfd < 0)
		return -1;
	flock(rfd, LOCK_EX);
	keys_of_dir(rfd, &k, false);
	stages_each(sp, conf, keys_of_stage, &k);
	for (size_t i = 0; i < k.n; i++) {
		if (key_dead(rfd, k.v[i])) {
			remote_work_remove(sp, conf, k.v[i]);
			n++;
		}
		free(k.v[i]);
	}
	free(k.v);
	close(rfd);
	if (n)
		log_info("removed %d requests' dead work from %s/remote", n, sp->path);
	return n;
}
