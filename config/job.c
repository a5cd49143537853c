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

static char *
empty_callback(const struct json *doc, int hires)
{
	char *cb = json_strdup(doc, json_get(doc, hires, "callback"));

	if (cb && (strncmp(cb, "http://", 7) == 0 || strncmp(cb, "https://", 8) == 0))
		return cb;
	free(cb);
	return NULL;
}

int
job_tmc_no_files(const struct conf *conf, const struct json *doc, char *why, size_t wlen,
		 char **callback)
{
	int hires;
	char *site;
	bool known;

	*callback = NULL;
	if (doc->ntok < 1 || !json_is_object(doc, 0))
		return 0;
	if ((hires = json_get(doc, 0, "hires")) < 0 || json_is_null(doc, hires)) {
		snprintf(why, wlen, "the job has no hires");
		return 1;
	}
	if (!json_is_object(doc, hires) ||
	    (site = json_strdup(doc, json_get(doc, hires, "site"))) == NULL)
		return 0;
	if (!(known = conf_site(conf, site) != NULL))
		snprintf(why, wlen, "hires.site \"%s\" is not a site of config.json", site);
	free(site);
	if (known)
		return 0;
	*callback = empty_callback(doc, hires);
	return 1;
}
