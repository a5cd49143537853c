/*
 * job.h - TMC job files (doc/TMC.md, Job files): the one complete check that
 * `tmcwatch submit`, tmc-httpd's act=convert and tmc-jobs all run before a
 * job is queued or taken, so that a job refused later by tmc-jobs is
 * refused at the door instead (job.c, jobspec.c).
 */
#ifndef TMC_JOB_H
#define TMC_JOB_H

#include <stdbool.h>
#include <stddef.h>

#include "conf.h"
#include "json.h"

/* 0 when the job's keys are sound under conf; else -1 and one message
 * "file:line:col: key: what is wrong" in err. Checks what TMC's API checked
 * (hires.site/path_head/path_tail set, site known, template or proc) and
 * what it did not: the template exists, types, paths that climb out.
 * Part of jobspec_load(); callers that queue use job_accept(). */
int job_check(const struct conf *conf, const struct json *doc, char *err, size_t len);

/* TMC closed a job at once as done, with no file, no row and total 0,
 * when it had no "hires" (absent or null) or when hires.site named no site
 * of config.json (its scan found nothing): 1 for such a job, with why
 * filled and *callback the hires.callback URL to call (http:// or https://,
 * malloc'd) or NULL; 0 for any other job (job_check judges it). */
int job_tmc_no_files(const struct conf *conf, const struct json *doc, char *why, size_t wlen,
		     char **callback);

/* A job file checked and resolved against the configuration, so that
 * nothing later can fail on its content (jobspec.c). */
struct jobspec {
	const struct site *site;
	const struct template *tpl;
	char *path_head, *path_tail;
	char **include, **exclude;
	size_t ninclude, nexclude;
	struct rename_rule *rename;
	size_t nrename;
	bool subdir, filelist;
	int overwrite;  /* -1 unset, else 0/1 */
	char *capture;  /* seconds as text, NULL unset */
	int density;    /* hires.density: DPI of every output, over the steps'; 0 unset */
	char *callback; /* URL, NULL unset */
	char *out_root; /* target.root or the site root */
	/* an inline proc that is no configured template: its own template
	 * "inline-<digest>" (conf.h, inline.c); tpl points to it */
	struct template *own;
};
/* 0, or -1 with the reason: everything for which tmc-jobs would send the
 * job as a whole to err/ (bad JSON, keys, unknown site or template, a
 * target.root that is no site's root, paths or rename replacements that
 * climb with "..", a path component over NAME_MAX, a folder over PATH_MAX). */
int jobspec_load(struct jobspec *js, const struct conf *conf, const char *name, const char *text,
		 size_t len, char *reason, size_t rlen);
void jobspec_free(struct jobspec *js);
/* Every path a file of the list makes stays under its root: 0 or -1. */
int jobspec_check_file(const struct jobspec *js, const char *rel, char *reason, size_t rlen);
/* Split a file list in place (buf holds len + 1 bytes): lines trimmed as
 * PHP trim() (tmc_trim), empty ones skipped, an inner NUL made 0x01 so the path check
 * refuses the line. *lines is malloc'd (pointers into buf); the count. */
size_t job_list_split(char *buf, size_t len, char ***lines);

/* The door: the job (name labels messages) and its uploaded file list
 * (NULL: none) as tmc-jobs will judge them: jobspec_load, then every list
 * line with jobspec_check_file (a line that climbs sends the whole job to
 * err/ there). A file of the list that does not exist is not checked: it
 * stays a per-file error row. 0, or -1 with the reason. */
int job_accept(const struct conf *conf, const char *name, const char *text, size_t len,
	       const char *list, size_t listlen, char *reason, size_t rlen);

/* The inline template a job runs ("inline-<digest>", in name) when it has
 * one: 1; 0 when it names a template; -1 when it does not load here (it
 * goes to err/, or was taken under another configuration). */
int job_inline_name(const struct conf *conf, const char *text, size_t len, char *name, size_t nlen);

#endif
