/*
 * inline.c - a job's inline "proc" (doc/TMC.md, Steps) as a template of its
 * own, so that it runs with the same guarantees as template.json's: stage
 * folders, stage workers, recovery, status and queue all work by template
 * name, and every program loads the steps from one file.
 *
 * The name is "inline-" and the first 12 hex digits of the SHA-256 of the
 * proc's canonical text: every step key written out in one order, defaults
 * included (so a later change of config.json's skipsamesize does not change
 * a queued job's steps), numbers exact. Two jobs with the same steps share
 * one template. The file <spool>/templates/<name>.json is template.json's
 * form with that one template; it is written by tmc-jobs when it takes or
 * adopts the job (the job file carries the proc, so it can always be made
 * again) and removed by the supervisor when nothing uses it. The flock
 * protocol between the two is in inline_store() and tmcwatch-spool(5).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conf.h"
#include "json.h"
#include "util.h"

#define INLINE_TRIES 16

/* "key":"value", as json.c quotes every string we write (UTF-8 kept) */
static void
canon_str(struct strbuf *sb, const char *key, const char *s)
{
	sb_printf(sb, "\"%s\":", key);
	json_quote(sb, s ? s : "", false);
	sb_addc(sb, ',');
}

static void
canon_step(struct strbuf *sb, const struct step *st)
{
	sb_addc(sb, '{');
	canon_str(sb, "name", st->name);
	canon_str(sb, "source", st->source);
	canon_str(sb, "path_head", st->path_head);
	canon_str(sb, "kind", step_kind_name(st->kind));
	sb_printf(sb, "\"size\":[%d,%d],", st->size[0], st->size[1]);
	sb_printf(sb,
		  "\"strip\":%s,\"cmyk\":%s,\"srgb\":%s,\"force_dir\":%s,\"overwrite\":%s,"
		  "\"watermark\":%s,\"save\":%s,\"enlarge\":%s,\"progressive\":%s,"
		  "\"skipsamesize\":%s,",
		  st->strip ? "true" : "false", st->cmyk ? "true" : "false",
		  st->srgb ? "true" : "false", st->force_dir ? "true" : "false",
		  st->overwrite ? "true" : "false", st->watermark ? "true" : "false",
		  st->save ? "true" : "false", st->enlarge ? "true" : "false",
		  st->progressive ? "true" : "false", st->skipsamesize ? "true" : "false");
	if (st->has_sharpen)
		sb_printf(sb, "\"sharpen\":[%.17g,%.17g],", st->sharpen[0], st->sharpen[1]);
	sb_printf(sb, "\"comp\":%d,\"bitrate\":%d,\"density\":%d,\"timeout\":%d,", st->comp,
		  st->bitrate, st->density, st->timeout);
	canon_str(sb, "format", st->format);
	canon_str(sb, "source_ext", st->source_ext);
	canon_str(sb, "sampling", step_sampling_name(st->sampling));
	sb->len--; /* the last comma */
	sb->buf[sb->len] = '\0';
	sb_addc(sb, '}');
}

char *
conf_template_canon(const struct template *tpl)
{
	struct strbuf proc = {0};

	sb_addc(&proc, '[');
	for (size_t j = 0; j < tpl->nsteps; j++) {
		if (j)
			sb_addc(&proc, ',');
		canon_step(&proc, &tpl->steps[j]);
	}
	sb_addc(&proc, ']');
	return proc.buf;
}

/* The whole file: {"inline-<hex>":{"description":...,"proc":[...]}} */
static char *
canon_file(const struct template *tpl, char name[INLINE_NAME_LEN + 1])
{
	struct strbuf file = {0};
	char *proc = conf_template_canon(tpl);
	uint8_t d[SHA256_LEN];
	char hex[2 * SHA256_LEN + 1];

	sha256(proc, strlen(proc), d);
	sha256_hex(d, hex);
	snprintf(name, INLINE_NAME_LEN + 1, "%s%.12s", INLINE_PREFIX, hex);
	sb_printf(&file, "{\"%s\":{\"description\":\"a job's inline proc\",\"proc\":%s}}\n", name,
		  proc);
	free(proc);
	return file.buf;
}

void
inline_make(const struct template *parsed, struct template *out)
{
	char name[INLINE_NAME_LEN + 1], err[256];
	struct conf_errors errs = {0};
	char *text = canon_file(parsed, name);
	struct json doc = {0};

	/* our own text: a failure to read it back is a bug */
	if (json_parse(&doc, name, text, strlen(text), err, sizeof(err)) < 0)
		fatalx("inline template %s: %s", name, err);
	if (conf_template_from(&doc, name, out, &errs) + conf_template_check(out, name, &errs) > 0)
		fatalx("inline template %s: %s", name, errs.msg[0]);
	json_free(&doc);
	free(text);
}

/* The file is there (ours, under LOCK_SH, the inode its name has) or not. */
static int
inline_present(int dirfd, const char *file)
{
	struct stat a, b;
	int fd = openat(dirfd, file, O_RDONLY | O_CLOEXEC | O_NOFOLLOW), r;

	if (fd < 0)
		return errno == ENOENT ? 0 : -1;
	if (flock(fd, LOCK_SH) < 0 || fstat(fd, &a) < 0) {
		r = -1;
	} else {
		/* the supervisor may have removed it while we waited for the lock */
		r = fstatat(dirfd, file, &b, AT_SYMLINK_NOFOLLOW) == 0 && a.st_ino == b.st_ino &&
		    a.st_dev == b.st_dev && a.st_nlink > 0;
	}
	close(fd);
	return r;
}

static int
inline_dir(const char *spool_dir)
{
	char path[PATH_MAX];
	int fd;

	if (snprintf(path, sizeof(path), "%s/%s", spool_dir, INLINE_DIR) >= (int)sizeof(path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	if (mkdir(path, 0755) == 0)
		fsync_dir_at(AT_FDCWD, spool_dir);
	else if (errno != EEXIST)
		return -1;
	fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	return fd;
}

int
inline_store(const char *spool_dir, const struct template *tpl)
{
	char name[INLINE_NAME_LEN + 1], file[INLINE_NAME_LEN + 8];
	char *text = canon_file(tpl, name);
	int dirfd = inline_dir(spool_dir), r = -1, saved;

	snprintf(file, sizeof(file), "%s.json", name);
	for (int i = 0; dirfd >= 0; i++) {
		int p = inline_present(dirfd, file);

		if (p > 0) {
			r = 0;
			break;
		}
		if (p < 0 || file_publish_at(dirfd, file, text, strlen(text), true) < 0)
			break;
		if (i == INLINE_TRIES) { /* removed as often as written: never */
			errno = EAGAIN;
			break;
		}
	}
	saved = errno;
	if (dirfd >= 0)
		close(dirfd);
	free(text);
	errno = saved;
	return r;
}
