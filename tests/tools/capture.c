/*
 * capture.c - tmc-capture, a test and benchmark tool: the frame of a video
 * at a time, written as the image stage's raw pixel file, through the same
 * code `tmc-video --capture` runs for tmc-image's mp4 sources
 * (stages/video/capture.c).
 *
 *   tmc-capture [-t seconds] [-n times] input.mp4 output.raw
 *
 * -n repeats the capture in the same process (benchmarks: the cost without
 * process start-up). Exit 0, or 1 with the reason on stderr; 2 on a
 * temporary failure.
 */
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "capture.h"
#include "spool.h"

int
main(int argc, char **argv)
{
	char dir[PATH_MAX], name[PATH_MAX], reason[REASON_MAX];
	double seconds = 0;
	int ch, times = 1, dirfd, rc = 0;

	log_init("tmc-capture", 0);
	while ((ch = getopt(argc, argv, "n:t:")) != -1) {
		switch (ch) {
		case 'n': times = atoi(optarg); break;
		case 't': seconds = strtod(optarg, NULL); break;
		default: return 64;
		}
	}
	if (argc - optind != 2)
		fatalx("usage: tmc-capture [-t seconds] [-n times] input.mp4 output.raw");
	snprintf(dir, sizeof(dir), "%s", argv[optind + 1]);
	snprintf(name, sizeof(name), "%s", argv[optind + 1]);
	if ((dirfd = open(dirname(dir), O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		fatal("%s", dir);
	for (int i = 0; i < times && rc == 0; i++)
		rc = video_capture_raw(argv[optind], -1, seconds, dirfd, basename(name), reason,
				       sizeof(reason));
	close(dirfd);
	if (rc != 0)
		fprintf(stderr, "tmc-capture: %s\n", reason);
	return rc;
}
