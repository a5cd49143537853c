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

#endif
