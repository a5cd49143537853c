/*
 * seqstamp.c - the date part of a seq, "yymmddHHMMSS", in the time zone
 * config.json's seq_timezone names (TMC's api.php ran under Asia/Seoul:
 * an operator whose clients expect that sets it; without it the host's
 * local time, as before). Every writer of a seq calls this one function
 * (jobq.c for `tmcwatch submit` and act=convert, tmc-jobs for a job it
 * must file under a fresh seq, tmc-watch for its watchdog jobs' wd<seq>),
 * so their dates cannot disagree.
 *
 * glibc has no time zone argument to localtime(), only the process's TZ:
 * it is set for the one call and put back. The programs that make seqs
 * are single-threaded where they do, and log lines are stamped in UTC
 * (gmtime_r), so nothing else reads TZ meanwhile. The zone's name was
 * checked against the zoneinfo files when the configuration was loaded
 * (glibc would silently take an unknown one for UTC).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "spool.h"

static void
local_in(time_t t, const char *tz, struct tm *tm)
{
	const char *was = getenv("TZ");
	char *saved = was ? xstrdup(was) : NULL, *want = xasprintf(":%s", tz);

	setenv("TZ", want, 1);
	tzset();
	localtime_r(&t, tm);
	if (saved)
		setenv("TZ", saved, 1);
	else
		unsetenv("TZ");
	tzset();
	free(saved);
	free(want);
}

void
seq_stamp(char *buf, size_t len, time_t t, const char *tz)
{
	struct tm tm;

	if (tz && *tz)
		local_in(t, tz, &tm);
	else
		localtime_r(&t, &tm);
	if (strftime(buf, len, "%y%m%d%H%M%S", &tm) == 0 && len)
		buf[0] = '\0';
}
