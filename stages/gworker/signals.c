/*
 * signals.c - tmc-gworker's signals, read from its signalfd between jobs
 * and while a unit runs (unit.c): SIGHUP reopens the log file, SIGTERM and
 * SIGINT ask the program to stop. Its own file so that the main loop and
 * the unit's wait both call it without calling each other.
 */
#include <signal.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "gworker.h"

void
gw_read_signals(struct gw *g)
{
	struct signalfd_siginfo si;

	while (read(g->sigfd, &si, sizeof(si)) == sizeof(si)) {
		if (si.ssi_signo == SIGHUP) {
			if (g->conf.log_file)
				log_open_file(g->conf.log_file);
			continue;
		}
		g->stop = true;
	}
}
