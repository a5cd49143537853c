/*
 * jobfiles.c - the names of a job's files in req/ proc/ done/ err/
 * (tmcwatch-spool(5)): "<seq>" is the job, "<seq>.stat" its progress,
 * "<seq>.ctrl" a pause/stop/cancel request, "<seq>.file" its file list,
 * "<seq>.rows" and "<seq>.log" its rows and log, "<seq>.result" the rows
 * handed out, "<seq>.reason" why it failed. A watch's files in state/ use
 * the same suffixes on its key. The one place the suffixes are spelled, and
 * the one count of a job folder's jobs (status, metrics).
 */
#include <stdio.h>
#include <string.h>

#include "spool.h"

static const char *const suffixes[JF_NKINDS] = {
	[JF_JOB] = "",       [JF_STAT] = ".stat", [JF_CTRL] = ".ctrl",     [JF_FILE] = ".file",
	[JF_ROWS] = ".rows", [JF_LOG] = ".log",   [JF_RESULT] = ".result", [JF_REASON] = ".reason",
};

const char *
job_file_suffix(enum job_file kind)
{
	if ((unsigned)kind >= JF_NKINDS)
		fatalx("job_file_suffix: kind %d", (int)kind);
	return suffixes[kind];
}

int
job_file(char *buf, size_t len, const char *seq, enum job_file kind)
{
	int n = snprintf(buf, len, "%s%s", seq, job_file_suffix(kind));

	if (n < 0 || (size_t)n >= len) {
		if (len)
			buf[0] = '\0';
		return -1;
	}
	return 0;
}

int
job_file_kind(const char *name, char *seq, size_t seqlen)
{
	size_t len = strlen(name);

	/* no suffix ends another; JF_JOB ("") is never guessed */
	for (int k = JF_NKINDS - 1; k > JF_JOB; k--) {
		size_t sl = strlen(suffixes[k]);

		if (len <= sl || strcmp(name + len - sl, suffixes[k]) != 0)
			continue;
		if (seq && (len - sl >= seqlen))
			return -1;
		if (seq)
			snprintf(seq, seqlen, "%.*s", (int)(len - sl), name);
		return k;
	}
	return -1;
}

/* 1..JOB_NAME_MAX of [A-Za-z0-9._-], not '.' first (never "..", a dot file
 * or a writer's temporary), no '/', no suffix of a job file ("a.ctrl" is
 * job a's control file, not a job) nor of a copy in progress (.part, .tmp,
 * .swp: tmc-jobs waits for the final name). */
bool
job_name_ok(const char *name)
{
	static const char chars[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
				    "0123456789._-";
	static const char *const temps[] = {".part", ".tmp", ".swp"};
	size_t n;

	if (name == NULL || name[0] == '.')
		return false;
	n = strlen(name);
	if (n < 1 || n > JOB_NAME_MAX || strspn(name, chars) != n ||
	    job_file_kind(name, NULL, 0) >= 0)
		return false;
	for (size_t i = 0; i < sizeof(temps) / sizeof(temps[0]); i++)
		if (n > strlen(temps[i]) && strcmp(name + n - strlen(temps[i]), temps[i]) == 0)
			return false;
	return true;
}

long
job_count_at(int parent, const char *name)
{
	DIR *d = dir_open_at(parent, name);
	struct dirent *de;
	long n = 0;

	if (d == NULL)
		return 0;
	while ((de = readdir(d)) != NULL)
		if (job_name_ok(de->d_name))
			n++;
	closedir(d);
	return n;
}
