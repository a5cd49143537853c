/*
 * cmd_submit.c - tmcwatch submit job.json: check the job as tmc-jobs will
 * (job_accept, config/job.h: exit 65 with the reason on stderr), queue it
 * in req/ durably, print its seq as the last line.
 *
 * The seq keeps TMC's 15-digit form (yymmddHHMMSS + 3 digits, local time)
 * but is unique: job_queue() (spool/jobq.c, shared with tmc-httpd) writes
 * the job under a temporary name, fsyncs it, and link(2)s it to req/<seq>,
 * which fails instead of replacing when the seq is taken. TMC's rand(1,100)
 * could collide. --dry-run queues nothing: it prints what the job would
 * make (dryrun.c).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "job.h"
#include "json.h"
#include "tmcwatch.h"

/* When every seq of this second is taken, wait for the next one (a
 * command may wait; the REST shim answers 503 instead), three times. */
static int
submit_queue(const struct spool *sp, const char *raw, size_t len, char *seq, size_t seqlen)
{
	struct timespec ts;

	for (int second = 0;; second++) {
		if (job_queue(sp, raw, len, NULL, 0, seq, seqlen) == 0)
			return 0;
		if (errno != EAGAIN || second == 2)
			return -1;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec = 0;
		ts.tv_nsec = 1000000000L - ts.tv_nsec;
		nanosleep(&ts, NULL);
	}
}

int
cmd_submit(const struct opts *o, int argc, char **argv)
{
	struct conf conf = {0};
	char err[1024], seq[32];
	struct spool sp;
	int r = EX_DATAERR;
	size_t len = 0;
	char *raw = NULL;

	bool dry = argc == 3 && strcmp(argv[1], "--dry-run") == 0;

	if (dry)
		argv++, argc--;
	if (argc != 2) {
		fprintf(stderr, "usage: tmcwatch submit [--dry-run] job.json\n");
		return EX_USAGE;
	}
	if (load_config(o, &conf, false) > 0) {
		conf_free(&conf);
		return EX_CONFIG;
	}
	/* req/<seq> keeps the job's bytes as they were sent, as TMC did */
	if ((raw = file_read_at(AT_FDCWD, argv[1], 16 << 20, &len)) == NULL) {
		fprintf(stderr, "%s: %s\n", argv[1], strerror(errno));
		goto out;
	}
	/* the check tmc-jobs runs before it takes a job: refused now, with
	 * the reason, rather than queued and sent to err/ later */
	if (job_accept(&conf, argv[1], raw, len, NULL, 0, err, sizeof(err)) < 0) {
		fprintf(stderr, "tmcwatch submit: refused: %s\n", err);
		goto out;
	}
	if (dry) {
		r = submit_dry_run(&conf, argv[1], raw, len);
		goto out;
	}
	r = EX_CANTCREAT;
	if (spool_open(&sp, conf.spool_dir, true) < 0)
		goto out;
	sp.seq_tz = conf.seq_timezone;
	if (submit_queue(&sp, raw, len, seq, sizeof(seq)) == 0) {
		printf("%s\n", seq);
		r = 0;
	} else {
		fprintf(stderr, "tmcwatch submit: %s/req: %s\n", sp.path,
			errno == EAGAIN ? "no free seq: all 1000 of this second are taken"
					: strerror(errno));
		r = errno == EAGAIN || errno_is_machine_fault(errno) ? EX_TEMPFAIL : EX_CANTCREAT;
	}
	spool_close(&sp);
out:
	free(raw);
	conf_free(&conf);
	return r;
}
