/*
 * job.h - TMC job files (seed 000 "작업 파일"; TMC-REFERENCE 2.1): checked
 * before a job is accepted, by `tmcwatch submit`, tmc-jobs and tmc-httpd.
 */
#ifndef TMC_JOB_H
#define TMC_JOB_H

#include <stddef.h>

#include "conf.h"
#include "json.h"

/* 0 when the job can run under conf; else -1 and one message
 * "file:line:col: key: what is wrong" in err. Checks what TMC's API checked
 * (hires.site/path_head/path_tail set, site known, template or proc) and
 * what it did not: the template exists, types, paths that climb out. */
int job_check(const struct conf *conf, const struct json *doc, char *err, size_t len);

/* TMC's "duplicated" (README: the same JSON waiting or running): 1 and the
 * seq of a job in req/ (waiting) or proc/ (running, paused) whose JSON is
 * the same as text once blanks and comments between tokens are dropped,
 * and, when list is not NULL (filelist jobs), whose proc/<seq>.file holds
 * the same bytes; 0 when none (or text is not JSON); -1 when req/ or proc/
 * cannot be read. TMC compared md5 of the bytes in req/ only. */
struct spool;
int job_find_duplicate(const struct spool *sp, const char *text, size_t len, const char *list,
		       size_t listlen, char *seq, size_t seqlen);

#endif
