/*
 * reply.c - the signed reply (tmcwatch-worker(8), PROTOCOL): v=1, id, step,
 * nonce (the request's, so a late reply never passes for another request),
 * host, expires (now + 300), and either error=<reason> retry=0|1, or
 * results=<n> with r.<k>=<result line> and files=<n> with f.<k>=<path
 * beneath the output root> and part f.<k> = the file's bytes: every file
 * the unit's steps left under remote/<key>/out (outfile temps excepted).
 * A reply never exceeds the request's max_reply (else gearman.max_reply):
 * bigger outputs are refused (retry=0) rather than loaded and sent for the
 * spool host to drop. The files are listed with their sizes first and then
 * read straight into their places in the message (wire_layout), not each
 * into a buffer of its own copied in afterwards.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gworker.h"

#define REPLY_EXPIRES_S 300

struct files {
	char **path; /* beneath out/ */
	size_t *len, n;
	int outfd;         /* remote/<key>/out, the files read beneath it */
	int err;           /* errno of the first file that could not be read */
	bool changed;      /* a file's size was not its listed one when read */
	size_t total, cap; /* bytes listed, and at most (the reply's max_reply) */
	bool over;         /* the outputs are bigger than cap: none is read */
};

/* An outfile temp (spool/outfile.c): ".<name>.tmcwatch-<id>", a write in
 * progress or left by a failed step, never an output. Other dot names
 * (a ".thumbs/" folder of path_head) are outputs like any. */
static bool
is_temp(const char *name)
{
	return name[0] == '.' && strstr(name + 1, ".tmcwatch-") != NULL;
}

static void
walk_fail(struct files *f)
{
	if (f->err == 0)
		f->err = errno ? errno : EIO;
}

static void
add_file(off_t size, char *rel, struct files *f)
{
	if (f->over || (size_t)size > f->cap - f->total) {
		f->over = true; /* the spool host would drop the reply: send none */
		free(rel);
		return;
	}
	f->path = xreallocarray(f->path, f->n + 1, sizeof(*f->path));
	f->len = xreallocarray(f->len, f->n + 1, sizeof(*f->len));
	f->path[f->n] = rel;
	f->len[f->n] = (size_t)size;
	f->total += (size_t)size;
	f->n++;
}

/* Every file beneath dirfd; a folder or entry that cannot be read sets
 * f->err (the reply is then a fault, retry=1: never a unit with an output
 * silently missing). */
static void
walk(int dirfd, const char *prefix, struct files *f)
{
	DIR *d = fdopendir(dirfd);
	struct dirent *de;

	if (d == NULL) {
		walk_fail(f);
		close(dirfd);
		return;
	}
	for (errno = 0; (de = readdir(d)) != NULL; errno = 0) {
		char *rel;
		struct stat st;
		int fd;

		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0 ||
		    is_temp(de->d_name))
			continue;
		if (fstatat(dirfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
			walk_fail(f);
			continue;
		}
		rel = prefix[0] ? xasprintf("%s/%s", prefix, de->d_name) : xstrdup(de->d_name);
		if (S_ISREG(st.st_mode)) {
			add_file(st.st_size, rel, f);
			continue;
		}
		if (S_ISDIR(st.st_mode)) {
			fd = openat(dirfd, de->d_name,
				    O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (fd >= 0)
				walk(fd, rel, f);
			else
				walk_fail(f);
		}
		free(rel);
	}
	if (errno != 0)
		walk_fail(f);
	closedir(d);
}

static void
files_free(struct files *f)
{
	for (size_t i = 0; i < f->n; i++)
		free(f->path[i]);
	free(f->path);
	free(f->len);
	if (f->outfd >= 0)
		close(f->outfd);
}

/* File rel beneath out/ into dst, exactly len bytes: 0, or -1 with errno
 * (f->changed when it is not len bytes long: replaced since it was listed). */
static int
read_output(struct files *f, const char *rel, uint8_t *dst, size_t len)
{
	int fd = open_beneath(f->outfd, rel, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	struct stat st;
	ssize_t got = 0;

	if (fd < 0)
		return -1;
	if (fstat(fd, &st) == 0 && (!S_ISREG(st.st_mode) || (size_t)st.st_size != len))
		f->changed = true;
	else if ((got = read_all(fd, dst, len)) >= 0 && (size_t)got < len)
		f->changed = true; /* cut while read */
	close(fd);
	return f->changed || got < 0 ? -1 : 0;
}

/* The listed files into their slots of the laid-out message m, whose parts
 * are the files in order (add_files); 0, or -1 with f->err or f->changed
 * set (the reply is then an error, retry=1). */
static int
fill_files(struct files *f, const struct wire_msg *m)
{
	for (size_t k = 0; k < f->n; k++) {
		const struct wire_part *p = &m->parts[k];

		if (read_output(f, f->path[k], p->slot, p->len) < 0) {
			if (!f->changed)
				walk_fail(f);
			return -1;
		}
	}
	return 0;
}

static void
add_results(struct wire_msg *m, const struct gw_result *res)
{
	char key[32];

	ticket_setf(&m->hdr, "results", "%zu", res->nlines);
	for (size_t k = 0; k < res->nlines; k++) {
		snprintf(key, sizeof(key), "r_%zu", k);
		ticket_set(&m->hdr, key, res->lines[k]);
	}
}

static void
add_files(struct wire_msg *m, const struct files *f)
{
	char key[32];

	ticket_setf(&m->hdr, "files", "%zu", f->n);
	for (size_t k = 0; k < f->n; k++) {
		snprintf(key, sizeof(key), "f_%zu", k);
		ticket_set(&m->hdr, key, f->path[k]);
		wire_add(m, key, NULL, f->len[k]); /* read into place: fill_files */
	}
}

/* The request's max_reply (what its spool host accepts), else ours. */
static size_t
reply_cap(const struct gw *g, const struct gw_req *rq)
{
	long long cap = ticket_get_ll(&rq->msg.hdr, "max_reply", 0);

	return cap > 0 ? (size_t)cap : (size_t)g->conf.gearman.max_reply;
}

static void
add_error(struct wire_msg *m, const struct gw_result *res, const struct files *f)
{
	char why[REASON_MAX];

	if (res->error[0])
		snprintf(why, sizeof(why), "%s", res->error);
	else if (f->over)
		snprintf(why, sizeof(why),
			 "refused: the unit's outputs make a reply over max_reply (%zu bytes)",
			 f->cap);
	else if (f->changed)
		snprintf(why, sizeof(why),
			 "an output on the worker host changed while it was read");
	else
		snprintf(why, sizeof(why), "cannot read an output on the worker host: %s",
			 strerror(f->err));
	ticket_set(&m->hdr, "error", why);
	/* too big is final (a retry makes the same bytes); unreadable is ours */
	ticket_set(&m->hdr, "retry",
		   res->error[0] ? (res->retry ? "1" : "0")
		   : f->over     ? "0"
				 : "1");
}

static uint8_t *
encode(struct gw *g, const struct gw_req *rq, const struct gw_result *res, struct files *f,
       size_t *len)
{
	const struct gearman_conf *gc = &g->conf.gearman;
	struct wire_msg m;
	uint8_t *buf;
	size_t body;
	bool ok = res->error[0] == '\0' && f->err == 0 && !f->changed && !f->over;

	wire_init(&m, "rep");
	ticket_set(&m.hdr, "v", "1");
	ticket_set(&m.hdr, "id", rq->id ? rq->id : "");
	ticket_setf(&m.hdr, "step", "%zu", rq->head);
	ticket_set(&m.hdr, "nonce", rq->nonce ? rq->nonce : "");
	ticket_set(&m.hdr, "host", g->host);
	ticket_setf(&m.hdr, "expires", "%lld", (long long)now_s_real() + REPLY_EXPIRES_S);
	if (ok) {
		add_results(&m, res);
		add_files(&m, f);
	} else
		add_error(&m, res, f);
	buf = wire_layout(&m, &body);
	if (ok && fill_files(f, &m) < 0) {
		free(buf); /* an error reply instead: no file part */
		wire_free(&m);
		return encode(g, rq, res, f, len);
	}
	wire_seal(buf, body, gc->secret, strlen(gc->secret), len);
	wire_free(&m);
	return buf;
}

uint8_t *
reply_build(struct gw *g, const struct gw_req *rq, const struct gw_result *res, size_t *len)
{
	struct files f = {.cap = reply_cap(g, rq), .outfd = -1};
	uint8_t *buf;
	int fd;

	if (res->error[0] == '\0' && rq->workfd >= 0) {
		f.outfd = openat(rq->workfd, "out", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (f.outfd >= 0 && (fd = fcntl(f.outfd, F_DUPFD_CLOEXEC, 0)) >= 0)
			walk(fd, "", &f); /* walk closes its fd */
		else
			walk_fail(&f);
	}
	buf = encode(g, rq, res, &f, len);
	if (buf != NULL && *len > f.cap && res->error[0] == '\0' && !f.over) {
		/* the files fit, the header with them not */
		free(buf);
		f.over = true;
		buf = encode(g, rq, res, &f, len);
	}
	if (res->error[0] == '\0' && (f.over || f.err || f.changed))
		log_warnx("request %s refused: %s", rq->key,
			  f.over      ? "the unit's outputs make a reply over max_reply"
			  : f.changed ? "an output changed while it was read (retry=1)"
				      : "cannot read an output (retry=1)");
	files_free(&f);
	return buf;
}
