/*
 * job.c - checking a job file before it is accepted, and finding the same
 * job waiting or running (see job.h).
 */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "job.h"
#include "spool.h"

static int
job_err(const struct json *doc, int t, char *err, size_t len, const char *key, const char *what)
{
	char where[512];

	snprintf(err, len, "%s: %s: %s", json_where(doc, t, where, sizeof(where)), key, what);
	return -1;
}

static int
job_path(const struct json *doc, int hires, const char *key, char *err, size_t len)
{
	char reason[512], name[64];
	int t = json_get(doc, hires, key);
	char *s;

	snprintf(name, sizeof(name), "hires.%s", key);
	if (t < 0)
		return job_err(doc, hires, err, len, name, "missing");
	if ((s = json_strdup(doc, t)) == NULL)
		return job_err(doc, t, err, len, name, "expected a string");
	if (path_check_rel(s, reason, sizeof(reason)) < 0) {
		free(s);
		return job_err(doc, t, err, len, name, reason);
	}
	free(s);
	return 0;
}

static int
job_strings(const struct json *doc, int hires, const char *key, char *err, size_t len)
{
	int t = json_get(doc, hires, key);
	char name[64];

	snprintf(name, sizeof(name), "hires.%s", key);
	if (t < 0)
		return 0;
	if (!json_is_array(doc, t))
		return job_err(doc, t, err, len, name, "expected an array of patterns");
	for (int v = json_first(doc, t); v >= 0; v = json_sibling(doc, t, v))
		if (!json_is_string(doc, v))
			return job_err(doc, v, err, len, name, "expected a string");
	return 0;
}

static int
job_template(const struct conf *conf, const struct json *doc, char *err, size_t len)
{
	int t = json_get(doc, 0, "template"), p = json_get(doc, 0, "proc");
	char *name;

	if (t >= 0) {
		if ((name = json_strdup(doc, t)) == NULL)
			return job_err(doc, t, err, len, "template", "expected a string");
		bool known = conf_template(conf, name) != NULL;
		free(name);
		if (known || (name = NULL, p >= 0))
			return 0;
		return job_err(doc, t, err, len, "template", "no such template in template.json");
	}
	if (p < 0 || !json_is_array(doc, p) || json_count(doc, p) == 0)
		return job_err(doc, 0, err, len, "template", "neither a template nor a proc list");
	return 0;
}

int
job_check(const struct conf *conf, const struct json *doc, char *err, size_t len)
{
	int hires, t;
	char *site;

	if (doc->ntok < 1 || !json_is_object(doc, 0))
		return job_err(doc, 0, err, len, "job", "expected a JSON object");
	if ((hires = json_get(doc, 0, "hires")) < 0 || !json_is_object(doc, hires))
		return job_err(doc, 0, err, len, "hires", "missing or not an object");
	if ((t = json_get(doc, hires, "site")) < 0)
		return job_err(doc, hires, err, len, "hires.site", "missing");
	if ((site = json_strdup(doc, t)) == NULL)
		return job_err(doc, t, err, len, "hires.site", "expected a string");
	bool known = conf_site(conf, site) != NULL;
	free(site);
	if (!known)
		return job_err(doc, t, err, len, "hires.site", "no such site in config.json");
	if (job_path(doc, hires, "path_head", err, len) < 0 ||
	    job_path(doc, hires, "path_tail", err, len) < 0 ||
	    job_strings(doc, hires, "include", err, len) < 0 ||
	    job_strings(doc, hires, "exclude", err, len) < 0)
		return -1;
	return job_template(conf, doc, err, len);
}

/* ---- duplicates (tmc-httpd's act=convert) ---- */

/* The job text without the blanks and comments between tokens; NULL when
 * it is not JSON. Equal results mean the same job however it was laid out. */
static char *
job_normalize(const char *text, size_t len)
{
	struct strbuf sb = {0};
	struct json doc = {0};
	bool in_str = false;
	char err[256];

	if (json_parse(&doc, "job", text, len, err, sizeof(err)) < 0)
		return NULL;
	for (size_t i = 0; i < doc.len; i++) {
		char c = doc.text[i];

		if (in_str) {
			sb_addc(&sb, c);
			if (c == '\\' && i + 1 < doc.len)
				sb_addc(&sb, doc.text[++i]);
			else if (c == '"')
				in_str = false;
		} else if (c == '"') {
			in_str = true;
			sb_addc(&sb, c);
		} else if (c != ' ' && c != '\t' && c != '\n' && c != '\r') {
			sb_addc(&sb, c);
		}
	}
	json_free(&doc);
	return sb.buf ? sb.buf : xstrdup("");
}

static bool
job_same_list(int procfd, int reqfd, const char *seq, const char *list, size_t listlen)
{
	char name[300], *cur;
	size_t len = 0;
	bool same;

	if (list == NULL)
		return true;
	snprintf(name, sizeof(name), "%s.file", seq);
	cur = file_read_at(procfd, name, 1 << 30, &len);
	if (cur == NULL && reqfd >= 0) /* waiting, its list beside it */
		cur = file_read_at(reqfd, name, 1 << 30, &len);
	same = cur && len == listlen && memcmp(cur, list, len) == 0;
	free(cur);
	return same;
}

/* 1 when dirname/<name> is the same job as norm. */
static int
job_same(int dirfd, const char *name, const char *norm, int procfd, int reqfd, const char *list,
	 size_t listlen)
{
	size_t len = 0;
	char *text = file_read_at(dirfd, name, 16 << 20, &len), *other;
	int same;

	if (text == NULL)
		return 0;
	other = job_normalize(text, len);
	same = other && strcmp(other, norm) == 0 &&
	       job_same_list(procfd, reqfd, name, list, listlen);
	free(other);
	free(text);
	return same;
}

static int
job_dup_in(const struct spool *sp, const char *dir, const char *norm, const char *list,
	   size_t listlen, char *seq, size_t seqlen)
{
	int procfd = openat(sp->fd, "proc", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int fd = openat(sp->fd, dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	struct dirent *de;
	int found = 0;

	if (d == NULL || procfd < 0) {
		if (fd >= 0)
			close(fd);
		if (procfd >= 0)
			close(procfd);
		return -1;
	}
	while (!found && (de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.' || strchr(de->d_name, '.') || de->d_type == DT_DIR)
			continue;
		if ((found = job_same(dirfd(d), de->d_name, norm, procfd,
				      strcmp(dir, "req") == 0 ? dirfd(d) : -1, list, listlen)))
			snprintf(seq, seqlen, "%s", de->d_name);
	}
	closedir(d);
	close(procfd);
	return found;
}

int
job_find_duplicate(const struct spool *sp, const char *text, size_t len, const char *list,
		   size_t listlen, char *seq, size_t seqlen)
{
	char *norm = job_normalize(text, len);
	int r;

	if (norm == NULL)
		return 0;
	r = job_dup_in(sp, "req", norm, list, listlen, seq, seqlen);
	if (r == 0)
		r = job_dup_in(sp, "proc", norm, list, listlen, seq, seqlen);
	free(norm);
	return r;
}
