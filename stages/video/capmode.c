/*
 * capmode.c - `tmc-video --capture SECONDS NAME`: tmc-video as a
 * short-lived child of tmc-image, capturing the frame of an mp4 original so
 * that FFmpeg's decoders run only in tmc-video processes and
 * GraphicsMagick's only in tmc-image ones (two decoder attack surfaces,
 * two processes).
 *
 * The parent has done everything that needs the spool or the root: it
 * opened the original beneath its root (stage_open_source: no link, the
 * identity it was queued with) and hands it as stdin; stdout is the item's
 * temporary pixels file, which the parent renames into place on success.
 * This mode reads no configuration and opens no file: FFmpeg reads only
 * stdin (capture.c's custom I/O, io_open refused). The parent enforces a
 * time limit (SIGKILL) and dies with us never left behind (the parent set
 * PR_SET_PDEATHSIG before exec). The protocol (exit codes, reason line) is
 * in capture.h.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "video.h"

static int
capture_usage(void)
{
	fprintf(stderr, "usage: tmc-video --capture SECONDS NAME <video >pixels.raw\n");
	return CAPTURE_EXIT_USAGE;
}

int
video_capture_main(int argc, char **argv)
{
	char reason[REASON_MAX] = "", *end;
	double seconds;
	int rc;

	log_init("tmc-video", 0);
	log_set_stage("capture");
	if (argc != 4 || strcmp(argv[1], "--capture") != 0)
		return capture_usage();
	errno = 0;
	seconds = strtod(argv[2], &end);
	if (errno || end == argv[2] || *end != '\0' || !(seconds >= 0))
		return capture_usage();
	failpoint("capture"); /* tests: TMC_FAILPOINT=capture:hang, the time limit */
	rc = video_capture_fd(argv[3], STDIN_FILENO, seconds, STDOUT_FILENO, reason,
			      sizeof(reason));
	if (rc == STAGE_OK)
		return CAPTURE_EXIT_OK;
	fprintf(stderr, "%s%s\n", CAPTURE_REASON, reason[0] ? reason : "capture failed");
	return rc == STAGE_TEMPFAIL || rc == STAGE_FAULT ? CAPTURE_EXIT_TEMP : CAPTURE_EXIT_PERM;
}
