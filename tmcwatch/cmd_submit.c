/*
 * cmd_submit.c - tmcwatch submit job.json: check the job, queue it in req/
 * durably, print its seq as the last line.
 *
 * The seq keeps TMC's 15-digit form (yymmddHHMMSS + 3 digits, local time)
 * but is unique: the job is written under a temporary name, fsynced, and
 * link(2)ed to req/<seq>, which fails instead of replacing when the seq is
 * taken; then another 3 digits are tried. TMC's rand(1,100) could collide.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "job.h"
#include "json.h"
#include "tmcwatch.h"

static int
queue_job(const struct spool *sp, const char *text, size_t len, char *seq, size_t seqlen)
{
	char tmp[64], stamp[16];
	time_t now = time(NULL);
	int reqfd, r = -1;

	reqfd = openat(sp->fd, "req", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	snprintf(tmp, sizeof(tmp), ".submit.%d", (int)getpid());
	if (reqfd < 0 || file_publish_at(reqfd, tmp, text, len, true) < 0) {
		log_warn("%s/req/%s", sp->path, tmp);
		if (reqfd >= 0)
			close(reqfd);
		return -1;
	}
	strftime(stamp, sizeof(stamp), "%y%m%d%H%M%S", localtime(&now));
	srandom((unsigned)(now ^ getpid()));
	for (int i = 0; i < 1000 && r < 0; i++) {
		snprintf(seq, seqlen, "%s%03d", stamp, (int)((random() + i) % 1000));
		if (linkat(reqfd, tmp, reqfd, seq, 0) == 0)
			r = 0;
		else if (errno != EEXIST)
			break;
	}
	if (r < 0)
		log_warn("%s/req: no free seq", sp->path);
	unlinkat(reqfd, tmp, 0);
	if (r == 0 && fsync(reqfd) < 0)
		log_warn("fsync %s/req", sp->path);
	close(reqfd);
	return r;
}

int
cmd_submit(const struct opts *o, int argc, char **argv)
{
	struct conf conf = {0};
	struct json doc = {0};
	char err[1024], seq[32];
	struct spool sp;
	int r = EX_DATAERR;
	size_t len = 0;
	char *raw = NULL;

	if (argc != 2) {
		fprintf(stderr, "usage: tmcwatch submit job.json\n");
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
	if (json_parse(&doc, argv[1], raw, len, err, sizeof(err)) < 0 ||
	    job_check(&conf, &doc, err, sizeof(err)) < 0) {
		fprintf(stderr, "%s\n", err);
		goto out;
	}
	r = EX_CANTCREAT;
	if (spool_open(&sp, conf.spool_dir, true) < 0)
		goto out;
	if (queue_job(&sp, raw, len, seq, sizeof(seq)) == 0) {
		printf("%s\n", seq);
		r = 0;
	}
	spool_close(&sp);
out:
	free(raw);
	json_free(&doc);
	conf_free(&conf);
	return r;
}
