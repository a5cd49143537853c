/*
 * inline.c - the supervisor's side of inline templates (config/inline.c):
 * a job's own "proc", kept by tmc-jobs in <spool>/templates/<name>.json.
 * They are not in the plan built from template.json; each tick this file
 * reads the templates folder and
 *   - starts a template's stage workers when its stage folders hold items
 *     (tmp/, new/ or cur/ of any step), as plan.c would for a template;
 *   - retires them (SIGTERM, never restarted) after inline_idle seconds in
 *     which its stage folders held nothing;
 *   - removes the file and the stage folders once no worker of it is left,
 *     none of its folders holds an item (err/ included: an operator may
 *     requeue those) and no job in req/ or proc/ runs it. The check is made
 *     again under an exclusive flock on the file, the lock tmc-jobs takes
 *     shared to see the file is there after it put the job in proc/.
 * Memory holds only what the folders say; after a restart the folders tell
 * again which templates have work.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "job.h"
#include "tmc.h"
#include "tmcwatch.h"

#define JOB_READ_MAX (16 << 20)

const struct template *
inline_find(const struct inlines *in, const char *name)
{
	for (size_t i = 0; i < in->n; i++)
		if (strcmp(in->v[i].name, name) == 0)
			return in->v[i].bad ? NULL : &in->v[i].tpl;
	return NULL;
}

/* Does the folder at rel (below the spool) hold an item (or cannot it be
 * read: then it may)? In tmp/ only a
 * committed handoff (a bare id) is one: "+id" is a publish a crash cut
 * short and "~id" one being removed (tmcwatch-spool(5)); they are
 * cleaned, never run. */
static bool
dir_holds(const struct spool *sp, const char *rel, bool tmp)
{
	int fd = openat(sp->fd, rel, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	struct dirent *de;
	bool any = false;

	if (d == NULL) {
		int e = errno;

		if (fd >= 0)
			close(fd);
		/* a missing folder holds nothing; one that cannot be read now
		 * (EMFILE, EIO) may: never judged empty, so never removed */
		return e != ENOENT;
	}
	while (!any && (de = readdir(d)) != NULL)
		any = de->d_name[0] != '.' && !(tmp && strchr("+~", de->d_name[0]));
	closedir(d);
	return any;
}

/* Items in the template's stage folders: tmp/ new/ cur/ (and err/). */
static bool
stages_hold(const struct spool *sp, const struct template *tpl, bool with_err)
{
	static const char *const subs[] = {"tmp", "new", "cur", "err"};
	char name[300], rel[700];

	for (size_t j = 0; j < tpl->nsteps; j++) {
		stage_name(name, sizeof(name), (int)j, tpl->steps[j].name);
		for (size_t k = 0; k < (with_err ? 4u : 3u); k++) {
			snprintf(rel, sizeof(rel), "stages/%s/%s/%s", tpl->name, name, subs[k]);
			if (dir_holds(sp, rel, k == 0))
				return true;
		}
	}
	return false;
}

/* Does a job in req/ or proc/ run this inline template? A job's name may
 * hold dots ("myjob.json" runs as job "myjob.json", tmc_seq_name_ok);
 * its side files (.stat, .ctrl, ...) are what tmc_seq_name_ok refuses. */
static bool
jobs_run(const struct spool *sp, const struct conf *conf, const char *tname)
{
	static const char *const dirs[] = {"req", "proc"};
	char name[INLINE_NAME_LEN + 1];
	bool found = false;

	for (size_t k = 0; k < 2 && !found; k++) {
		int fd = openat(sp->fd, dirs[k], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
		struct dirent *de;

		if (d == NULL) {
			if (fd >= 0)
				close(fd);
			return true; /* cannot tell: keep it */
		}
		while (!found && (de = readdir(d)) != NULL) {
			size_t len;
			char *text;

			if (!tmc_seq_name_ok(de->d_name) ||
			    (text = file_read_at(dirfd(d), de->d_name, JOB_READ_MAX, &len)) == NULL)
				continue;
			switch (job_inline_name(conf, text, len, name, sizeof(name))) {
			case 1: found = strcmp(name, tname) == 0; break;
			case -1: /* a job that does not load here (tmc-jobs will say why): it
				  * may run this template under a name this config no longer
				  * gives it, so keep it until the job has gone */
				found = true;
				break;
			}
			free(text);
		}
		closedir(d);
	}
	return found;
}

static void
inline_drop(struct inlines *in, size_t i)
{
	conf_template_free(&in->v[i].tpl);
	in->v[i] = in->v[--in->n];
}

/* Remove the file and the stage folders, under LOCK_EX on the file. */
static bool
inline_remove(struct inline_tpl *it, const struct conf *conf, const struct spool *sp)
{
	char file[INLINE_NAME_LEN + 16];
	int fd, sfd;
	bool gone = false;

	snprintf(file, sizeof(file), "%s/%s.json", INLINE_DIR, it->name);
	if ((fd = openat(sp->fd, file, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) < 0)
		return errno == ENOENT;
	if (flock(fd, LOCK_EX | LOCK_NB) == 0 && !stages_hold(sp, &it->tpl, true) &&
	    !jobs_run(sp, conf, it->name)) {
		sfd = openat(sp->fd, "stages", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (sfd >= 0 && rmtree_at(sfd, it->name) < 0)
			log_warn("%s/stages/%s", sp->path, it->name);
		if (sfd >= 0)
			close(sfd);
		if (unlinkat(sp->fd, file, 0) < 0 && errno != ENOENT)
			log_warn("%s/%s", sp->path, file);
		else
			gone = true;
		log_info("inline template %s: removed (no job runs it, no item is left)", it->name);
	}
	close(fd);
	return gone;
}

/* Its workers: any that will run (not retired), any still alive. */
static void
workers_of(const struct children *cs, const char *name, bool *running, bool *alive)
{
	*running = *alive = false;
	for (size_t i = 0; i < cs->n; i++) {
		const struct child *c = &cs->c[i];

		if (c->spec.tpl_name == NULL || strcmp(c->spec.tpl_name, name) != 0)
			continue;
		*running |= !c->retired;
		*alive |= c->pid > 0;
	}
}

static void
inline_start(struct inline_tpl *it, const struct conf *conf, struct children *cs)
{
	struct plan p = {0};

	plan_template(&p, conf, &it->tpl, -1);
	if (!it->warned)
		plan_log_missing(&p);
	it->warned = p.nmissing > 0;
	if (p.n)
		log_info("inline template %s: items waiting: %zu stage workers started", it->name,
			 p.n);
	children_adopt(cs, &p);
	plan_free(&p);
}

static void
inline_retire(struct inline_tpl *it, struct children *cs)
{
	for (size_t i = 0; i < cs->n; i++) {
		struct child *c = &cs->c[i];

		if (c->spec.tpl_name == NULL || strcmp(c->spec.tpl_name, it->name) != 0 ||
		    c->retired)
			continue;
		c->retired = true;
		if (c->pid > 0 && kill(c->pid, SIGTERM) < 0 && errno != ESRCH)
			log_warn("kill %s", c->spec.label);
	}
	log_info("inline template %s: idle: its stage workers stop", it->name);
}

/* One template's turn; true when it is gone. */
static bool
inline_step(struct inline_tpl *it, const struct conf *conf, const struct spool *sp,
	    struct children *cs, int64_t now)
{
	bool busy = stages_hold(sp, &it->tpl, false), running, alive;

	workers_of(cs, it->name, &running, &alive);
	if (busy) {
		it->idle_ms = 0;
		if (!running)
			inline_start(it, conf, cs);
		return false;
	}
	if (it->idle_ms == 0)
		it->idle_ms = now;
	if (now - it->idle_ms < (int64_t)conf->inline_idle * 1000)
		return false;
	if (running)
		inline_retire(it, cs);
	else if (!alive && now >= it->check_ms) {
		it->check_ms = now + (int64_t)conf->inline_idle * 1000;
		return inline_remove(it, conf, sp);
	}
	return false;
}

static void
inline_add(struct inlines *in, const struct conf *conf, const char *name)
{
	struct conf_errors errs = {0};
	struct inline_tpl *it;

	in->v = xreallocarray(in->v, in->n + 1, sizeof(*in->v));
	it = &in->v[in->n++];
	memset(it, 0, sizeof(*it));
	snprintf(it->name, sizeof(it->name), "%s", name);
	if (inline_read(conf->spool_dir, name, &it->tpl, &errs) > 0) {
		for (size_t i = 0; i < errs.n; i++)
			log_warnx("%s", errs.msg[i]);
		log_warnx("inline template %s: its file does not load: its items wait", name);
		it->bad = true;
	}
	conf_errors_free(&errs);
}

/* The templates folder: new files added, vanished ones forgotten. */
static void
inline_scan(struct inlines *in, const struct conf *conf, const struct spool *sp)
{
	int fd = openat(sp->fd, INLINE_DIR, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	struct dirent *de;
	char name[NAME_MAX + 1];

	for (size_t i = 0; i < in->n; i++)
		in->v[i].seen = false;
	while (d && (de = readdir(d)) != NULL) {
		size_t n = strlen(de->d_name);

		if (n < 6 || strcmp(de->d_name + n - 5, ".json") != 0)
			continue;
		snprintf(name, sizeof(name), "%.*s", (int)(n - 5), de->d_name);
		if (!inline_name_ok(name))
			continue;
		size_t i;
		for (i = 0; i < in->n && strcmp(in->v[i].name, name) != 0; i++)
			;
		if (i == in->n)
			inline_add(in, conf, name);
		in->v[i].seen = true;
	}
	if (d)
		closedir(d);
	else if (fd >= 0)
		close(fd);
	for (size_t i = 0; i < in->n;)
		if (!in->v[i].seen)
			inline_drop(in, i);
		else
			i++;
}

void
inline_tick(struct inlines *in, const struct conf *conf, const struct spool *sp,
	    struct children *cs)
{
	int64_t now = now_ms_mono();

	inline_scan(in, conf, sp);
	for (size_t i = 0; i < in->n;) {
		if (!in->v[i].bad && inline_step(&in->v[i], conf, sp, cs, now))
			inline_drop(in, i);
		else
			i++;
	}
}

void
inline_free(struct inlines *in)
{
	while (in->n)
		inline_drop(in, 0);
	xfree(&in->v);
}
