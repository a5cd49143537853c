/*
 * scan.c - expanding "hires" into a file list (doc/TMC.md, Selection), a few
 * thousand entries per call so that one big tree never stalls the loop.
 *
 * base = site root + path_head + path_tail, opened with open_beneath()
 * (openat2 RESOLVE_BENEATH|RESOLVE_NO_SYMLINKS; an O_NOFOLLOW walk where the
 * kernel lacks it): no symbolic link on the way, as the stages open the
 * files (a base reached through one would list files no stage reads). Then TMC's
 * order: each folder's entries sorted by bytes, visited in that order,
 * sub-folders recursed into in place (pre-order) when subdir is true. The
 * relative name is the path below base with a leading "/", built while
 * walking (TMC removed every occurrence of base, not only the prefix).
 * Fixed bugs of TMC (doc/TMC.md, Fixes: scan): "." and ".." are never listed; symbolic
 * links (to files or folders) are neither listed nor followed, so a loop
 * cannot happen; only regular files are listed. A name holding a control
 * character cannot be a line of the list: it is left out with a warning.
 *
 * A base that does not exist or cannot be read lists 0 files (TMC: the job
 * ends with 0 processed); a base that leads out of the site root is an
 * error. The caller writes the lines to a temporary file and renames it to
 * proc/<seq>.file when done, so a scan cut short is redone from scratch.
 * In the stage library so that tmc-jobs and `tmcwatch submit --dry-run`
 * list the same files.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "openat2_compat.h"
#include "job.h"
#include "stage.h"
#include "tmc.h"

#define SCAN_DEPTH_MAX 256
#define SCAN_FLUSH (64 * 1024)

struct dent {
	char *name;
	unsigned char type;
};

struct frame {
	int fd;
	struct dent *ents;
	size_t n, i;
	size_t rellen; /* length of the relative name of this folder */
};

struct scan {
	const struct jobspec *js;
	int outfd;
	struct frame *st;
	size_t depth, cap;
	struct strbuf rel, out;
	size_t count;
};

static int
dent_cmp(const void *a, const void *b)
{
	return strcmp(((const struct dent *)a)->name, ((const struct dent *)b)->name);
}

/* Every entry but "." and "..", sorted by bytes (PHP scandir, C locale). */
static int
list_dir(int fd, struct dent **ents, size_t *n)
{
	size_t cap = 0;
	struct dirent *de;
	int dfd = dup(fd);
	DIR *d;

	*ents = NULL;
	*n = 0;
	if (dfd < 0 || (d = fdopendir(dfd)) == NULL) {
		if (dfd >= 0)
			close(dfd);
		return -1;
	}
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (*n == cap) {
			cap = cap ? cap * 2 : 32;
			*ents = xreallocarray(*ents, cap, sizeof(**ents));
		}
		(*ents)[(*n)++] = (struct dent){xstrdup(de->d_name), de->d_type};
	}
	closedir(d);
	if (*n)
		qsort(*ents, *n, sizeof(**ents), dent_cmp);
	return 0;
}

static void
frame_free(struct frame *f)
{
	for (size_t i = 0; i < f->n; i++)
		free(f->ents[i].name);
	free(f->ents);
	close(f->fd);
}

static void
scan_push(struct scan *sc, int fd)
{
	struct frame *f;

	if (sc->depth == sc->cap) {
		sc->cap = sc->cap ? sc->cap * 2 : 16;
		sc->st = xreallocarray(sc->st, sc->cap, sizeof(*sc->st));
	}
	f = &sc->st[sc->depth];
	memset(f, 0, sizeof(*f));
	f->fd = fd;
	f->rellen = sc->rel.len;
	if (list_dir(fd, &f->ents, &f->n) < 0)
		log_warn("scan %s%s%s%s", sc->js->site->root, sc->js->path_head, sc->js->path_tail,
			 sc->rel.buf ? sc->rel.buf : "");
	sc->depth++;
}

struct scan *
scan_start(const struct jobspec *js, int outfd, char *reason, size_t rlen)
{
	struct scan *sc = xcalloc(1, sizeof(*sc));
	char *rel = xasprintf("%s%s", js->path_head, js->path_tail), *p = rel;
	int rootfd, fd = -1;

	sc->js = js;
	sc->outfd = outfd;
	while (*p == '/')
		p++;
	rootfd = open(js->site->root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (rootfd >= 0)
		fd = open_beneath(rootfd, p, O_RDONLY | O_DIRECTORY);
	if (fd < 0 && errno == EXDEV) {
		snprintf(reason, rlen, "%s%s: leads out of the site root %s", js->path_head,
			 js->path_tail, js->site->root);
		scan_free(&sc);
	} else if (fd < 0 && errno == ELOOP) {
		snprintf(reason, rlen,
			 "%s%s: a symbolic link on the way beneath the site root %s "
			 "is not followed",
			 js->path_head, js->path_tail, js->site->root);
		scan_free(&sc);
	} else if (fd < 0) {
		log_warn("%s/%s: the job lists no file", js->site->root, p);
	} else {
		sb_adds(&sc->rel, "");
		scan_push(sc, fd);
	}
	if (rootfd >= 0)
		close(rootfd);
	free(rel);
	return sc;
}

static void
scan_file(struct scan *sc)
{
	char reason[512];

	if (path_check_rel(sc->rel.buf, reason, sizeof(reason)) < 0) {
		log_warnx("%s: left out of the list: %s", sc->js->site->root, reason);
		return;
	}
	if (!tmc_selected(sc->js->include, sc->js->ninclude, sc->js->exclude, sc->js->nexclude,
			  sc->rel.buf))
		return;
	sb_add(&sc->out, sc->rel.buf, sc->rel.len);
	sb_addc(&sc->out, '\n');
	sc->count++;
}

static void
scan_dir(struct scan *sc, int parent, const char *name)
{
	int fd;

	if (!sc->js->subdir)
		return;
	if (sc->depth >= SCAN_DEPTH_MAX) {
		log_warnx("%s%s: deeper than %d folders: not listed", sc->js->path_head,
			  sc->rel.buf, SCAN_DEPTH_MAX);
		return;
	}
	fd = openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		log_warn("scan %s%s%s", sc->js->path_head, sc->js->path_tail, sc->rel.buf);
		return;
	}
	scan_push(sc, fd);
}

static void
scan_entry(struct scan *sc, struct frame *f, const struct dent *e)
{
	unsigned char type = e->type;
	struct stat st;

	sc->rel.len = f->rellen;
	sb_addc(&sc->rel, '/');
	sb_adds(&sc->rel, e->name);
	if (type == DT_UNKNOWN) {
		if (fstatat(f->fd, e->name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			return;
		type = S_ISDIR(st.st_mode) ? DT_DIR : S_ISREG(st.st_mode) ? DT_REG : DT_LNK;
	}
	if (type == DT_DIR)
		scan_dir(sc, f->fd, e->name); /* may move sc->st: f is stale after */
	else if (type == DT_REG)
		scan_file(sc);
}

static int
scan_flush(struct scan *sc, char *reason, size_t rlen)
{
	if (sc->out.len == 0)
		return 0;
	if (write_all(sc->outfd, sc->out.buf, sc->out.len) < 0) {
		snprintf(reason, rlen, "writing the file list: %s", strerror(errno));
		return -1;
	}
	sb_reset(&sc->out);
	return 0;
}

int
scan_step(struct scan *sc, int budget, char *reason, size_t rlen)
{
	while (budget-- > 0 && sc->depth > 0) {
		struct frame *f = &sc->st[sc->depth - 1];

		if (f->i == f->n) {
			frame_free(f);
			sc->depth--;
			continue;
		}
		scan_entry(sc, f, &f->ents[f->i++]);
	}
	if ((sc->depth == 0 || sc->out.len >= SCAN_FLUSH) && scan_flush(sc, reason, rlen) < 0)
		return -1;
	return sc->depth == 0;
}

size_t
scan_count(const struct scan *sc)
{
	return sc->count;
}

void
scan_free(struct scan **scp)
{
	struct scan *sc = *scp;

	if (sc == NULL)
		return;
	while (sc->depth > 0)
		frame_free(&sc->st[--sc->depth]);
	free(sc->st);
	sb_free(&sc->rel);
	sb_free(&sc->out);
	free(sc);
	*scp = NULL;
}
