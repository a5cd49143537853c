/*
 * unit.c - a request run through this host's own spool, as one host would
 * run it: the original written to remote/<key>/src/<name>, the head item
 * published into the head step's stage with a ticket like tmc-jobs' (stages/jobs/track.c)
 * but origin=remote:<key>, root=remote/<key>/out, overwrite=1 and remote=1
 * (stage workers queue no step callbacks: the spool host does). The local
 * stages do the rest (follow-on steps, limits, big slots, retries, crash
 * recovery). Their result lines go to remote/<key>.log (spool/result.c),
 * watched with inotify: the unit is over when every step of it that runs
 * for the original's extension has a line, a failed step covering the steps
 * below it (steps_expected). A step whose item went to err/ without a line
 * (its worker kept dying) counts as failed with the reason there, looked
 * for on a 1 s tick. The deadline passed or a stop: an error reply with
 * retry=1, the work removed by the caller.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gworker.h"

struct unitwait {
	struct gw *g;
	struct gw_req *rq;
	uint8_t *unit;    /* steps of the unit */
	struct sres *res; /* per step */
	char **line;      /* per step: its last line */
	uint8_t *exp;
};

static void
fail(struct gw_result *res, bool retry, const char *fmt, const char *a, int err)
{
	snprintf(res->error, sizeof(res->error), fmt, a, strerror(err));
	res->retry = retry;
}

/* The original into src/, and its ticket's source keys. */
static int
write_original(struct gw *g, struct gw_req *rq, struct ticket *t, struct gw_result *res)
{
	const struct wire_part *src = wire_get(&rq->msg, "src");
	char root[PATH_MAX];
	struct stat st;
	int fd = openat(rq->workfd, "src", O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	snprintf(root, sizeof(root), "%s/remote/%s/src", g->sp.path, rq->key);
	if (fd < 0 || file_publish_at(fd, rq->name, src->data, src->len, false) < 0 ||
	    fstatat(fd, rq->name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
		fail(res, true, "cannot write the original in %s: %s", root, errno);
		if (fd >= 0)
			close(fd);
		return -1;
	}
	close(fd);
	ticket_setf(t, "src", "%s/%s", root, rq->name);
	stage_ticket_source(t, root, rq->name, &st);
	return 0;
}

static void
copy_key(struct ticket *t, const struct ticket *h, const char *key)
{
	const char *v = ticket_get(h, key);

	if (v)
		ticket_set(t, key, v);
}

static int
publish_head(struct gw *g, struct gw_req *rq, struct gw_result *res)
{
	static const char *const keys[] = {"rel",     "out",   "tail", "capture",
					   "density", "steps", "site"};
	struct ticket t = {0};
	struct stage_dir sd;
	int r = -1;

	ticket_set(&t, "id", rq->key);
	ticket_setf(&t, "origin", "remote:%s", rq->key);
	for (size_t i = 0; i < sizeof(keys) / sizeof(*keys); i++)
		copy_key(&t, &rq->msg.hdr, keys[i]);
	if (ticket_get(&t, "rel") == NULL)
		ticket_set(&t, "rel", rq->name);
	ticket_setf(&t, "root", "%s/remote/%s/out", g->sp.path, rq->key);
	ticket_set(&t, "overwrite", "1");
	ticket_set(&t, "remote", "1");
	ticket_set(&t, "template", rq->tpl->name);
	if (write_original(g, rq, &t, res) == 0) {
		if (stage_open(&sd, &g->sp, rq->tpl->name, (int)rq->head,
			       rq->tpl->steps[rq->head].name, true) < 0) {
			fail(res, true, "cannot open the stage of %s: %s", rq->tpl->name, errno);
		} else {
			if ((r = item_publish(&sd, rq->key, &t, false)) < 0)
				fail(res, true, "cannot publish into %s: %s", sd.path, errno);
			stage_close(&sd);
		}
	}
	ticket_free(&t);
	return r < 0 ? -1 : 0;
}

static void
record_line(struct unitwait *w, const char *raw, size_t n)
{
	char *copy = xstrndup(raw, n), *parsed = xstrndup(raw, n);
	struct result_line rl;

	if (result_parse(parsed, &rl) == 0 && rl.step >= 0 &&
	    (size_t)rl.step < w->rq->tpl->nsteps && w->unit[rl.step] &&
	    strcmp(rl.id, w->rq->key) == 0) {
		sres_record(&w->res[rl.step], &rl);
		free(w->line[rl.step]);
		w->line[rl.step] = copy;
		copy = NULL;
	}
	free(copy);
	free(parsed);
}

static void
read_log(struct unitwait *w)
{
	char path[PATH_MAX];
	size_t len;
	char *buf, *p, *nl;

	snprintf(path, sizeof(path), "%s/remote/%s.log", w->g->sp.path, w->rq->key);
	if ((buf = file_read_at(AT_FDCWD, path, 64 << 20, &len)) == NULL)
		return;
	for (p = buf; (nl = memchr(p, '\n', len - (size_t)(p - buf))) != NULL; p = nl + 1)
		record_line(w, p, (size_t)(nl - p));
	free(buf);
}

/* Step j's item in its err/ without a line: a failure with err/'s reason. */
static void
check_err(struct unitwait *w, size_t j)
{
	const struct step *st = &w->rq->tpl->steps[j];
	char path[ITEM_ID_MAX + 16], *reason, *line;
	struct stage_dir sd;
	struct stat sb;

	if (stage_open(&sd, &w->g->sp, w->rq->tpl->name, (int)j, st->name, false) < 0)
		return;
	snprintf(path, sizeof(path), "%s/reason", w->rq->key);
	if (fstatat(sd.errfd, w->rq->key, &sb, AT_SYMLINK_NOFOLLOW) == 0) {
		reason = file_read_at(sd.errfd, path, 1000, NULL);
		if (reason)
			reason[strcspn(reason, "\t\n")] = '\0';
		line = xasprintf("%s\t%zu\t%s\t0\t1\t%s\t%s\tfailed", w->rq->key, j, st->name,
				 ticket_get(&w->rq->msg.hdr, "rel") ?: w->rq->name,
				 reason && *reason ? reason : "its item went to err/");
		record_line(w, line, strlen(line));
		free(line);
		free(reason);
	}
	stage_close(&sd);
}

/* Steps of the unit still expected without a line. */
static size_t
pending(struct unitwait *w, bool tick)
{
	const struct template *tpl = w->rq->tpl;
	size_t n = 0;

	steps_expected(tpl, path_ext(w->rq->name), w->res, w->exp);
	for (size_t j = 0; j < tpl->nsteps; j++) {
		if (!w->unit[j] || !w->exp[j] || w->res[j].state != SR_NONE)
			continue;
		if (tick)
			check_err(w, j);
		n += w->res[j].state == SR_NONE;
	}
	return n;
}

static int
watch_log(struct gw *g)
{
	char path[PATH_MAX];
	int fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);

	snprintf(path, sizeof(path), "%s/remote", g->sp.path);
	if (fd >= 0 && inotify_add_watch(fd, path, IN_MODIFY | IN_CREATE | IN_CLOSE_WRITE) < 0) {
		close(fd);
		fd = -1;
	}
	if (fd < 0) /* at inotify's limits: the 1 s tick reads the log */
		log_warn("inotify on %s", path);
	return fd;
}

static void
drain(int fd)
{
	char buf[4096];

	while (fd >= 0 && read(fd, buf, sizeof(buf)) > 0)
		;
}

/* Until no step of the unit is pending, the deadline, or a stop. */
static void
wait_unit(struct unitwait *w, struct gw_result *res)
{
	int ifd = watch_log(w->g);
	int64_t tick_at = now_ms_mono() + 1000, now;
	bool tick = false;

	for (;;) {
		read_log(w);
		if (pending(w, tick) == 0)
			break;
		now = now_ms_mono();
		if (now >= w->rq->until_ms) {
			snprintf(res->error, sizeof(res->error),
				 "deadline of %d s passed on host %s", w->rq->deadline, w->g->host);
			res->retry = true;
			break;
		}
		if (w->g->stop) {
			snprintf(res->error, sizeof(res->error), "host %s is stopping", w->g->host);
			res->retry = true;
			break;
		}
		struct pollfd pfd[2] = {{w->g->sigfd, POLLIN, 0}, {ifd, POLLIN, 0}};
		int64_t until = tick_at < w->rq->until_ms ? tick_at : w->rq->until_ms;

		poll(pfd, ifd >= 0 ? 2 : 1, (int)(until > now ? until - now : 0));
		gw_read_signals(w->g);
		drain(ifd);
		if ((tick = now_ms_mono() >= tick_at))
			tick_at = now_ms_mono() + 1000;
	}
	if (ifd >= 0)
		close(ifd);
}

void
unit_run(struct gw *g, struct gw_req *rq, struct gw_result *res)
{
	size_t n = rq->tpl->nsteps;
	struct unitwait w = {.g = g, .rq = rq};

	if ((rq->workfd = remote_work_create(&g->sp, &g->conf, rq->key, &rq->lockfd)) < 0) {
		fail(res, true, "cannot make the work folder %s: %s", rq->key, errno);
		return;
	}
	if (publish_head(g, rq, res) < 0)
		return;
	w.unit = xcalloc(n + 1, 1);
	w.exp = xcalloc(n + 1, 1);
	w.res = xcalloc(n + 1, sizeof(*w.res));
	w.line = xcalloc(n + 1, sizeof(*w.line));
	route_below(rq->tpl, rq->head, path_ext(rq->name), w.unit, n);
	w.unit[rq->head] = 1;
	wait_unit(&w, res);
	for (size_t j = 0; j < n; j++) {
		if (w.line[j] && res->error[0] == '\0') {
			res->lines = xreallocarray(res->lines, res->nlines + 1, sizeof(char *));
			res->lines[res->nlines++] = w.line[j];
		} else {
			free(w.line[j]);
		}
	}
	free(w.unit);
	free(w.exp);
	free(w.res);
	free(w.line);
}

void
result_free(struct gw_result *res)
{
	for (size_t i = 0; i < res->nlines; i++)
		free(res->lines[i]);
	free(res->lines);
}
