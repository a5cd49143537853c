/*
 * faultprobe.c - tmc-faultprobe, a test tool: a program that lives through
 * machine faults as the stage programs do, through spool/fault.c only.
 * Every 50 ms it writes 64 KiB to a new file in the spool's req/ (unlinked
 * at once); a write that fails with a machine errno is noted
 * (fault_note_errno), a write that succeeds clears what was noted. It
 * prints "fault KIND" or "clear" on stdout at each change, so a test can
 * wait for it. Until SIGTERM.
 *
 *   tmc-faultprobe SPOOL
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "spool.h"

/* 0 written, else the errno */
static int
try_write(int spoolfd)
{
	static char block[64 * 1024];
	char name[64];
	int fd, err = 0;

	snprintf(name, sizeof(name), "req/.faultprobe.%d", (int)getpid());
	fd = openat(spoolfd, name, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return errno;
	if (write_all(fd, block, sizeof(block)) < 0 || fsync(fd) < 0)
		err = errno;
	close(fd);
	unlinkat(spoolfd, name, 0);
	return err;
}

int
main(int argc, char **argv)
{
	struct spool sp;
	char what[4200];
	int last = -1, err;

	if (argc != 2) {
		fprintf(stderr, "usage: tmc-faultprobe SPOOL\n");
		return 64;
	}
	log_init("tmc-faultprobe", 0);
	if (spool_open(&sp, argv[1], false) < 0 || fault_init(sp.fd, "tmc-faultprobe") < 0)
		return 69;
	snprintf(what, sizeof(what), "write %s/req/.faultprobe", sp.path);
	setvbuf(stdout, NULL, _IOLBF, 0);
	for (;;) {
		err = try_write(sp.fd);
		if (err && errno_is_machine_fault(err))
			fault_note_errno(err, what);
		else if (!err)
			fault_clear_all();
		if (err != last)
			printf(err ? "fault %s\n" : "clear\n", fault_name(fault_kind_of(err)));
		last = err;
		nanosleep(&(struct timespec){0, 50 * 1000 * 1000}, NULL);
	}
}
