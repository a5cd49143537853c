/*
 * signals.c - the signals every tmcwatch program reads from a descriptor
 * (doc/ARCHITECTURE.md, Design rules): SIGTERM and SIGINT (stop after the work in hand) and
 * SIGHUP (reopen the log, or reload) are blocked and delivered through a
 * signalfd; SIGPIPE is blocked and never read, so a peer that hangs up is
 * an EPIPE on the write, not a death. Children started later get the
 * empty mask back before exec (tmcwatch/children.c).
 */
#include <signal.h>
#include <sys/signalfd.h>

#include "util.h"

int
signals_open(void)
{
	sigset_t set;
	int fd;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGPIPE);
	if (sigprocmask(SIG_BLOCK, &set, NULL) < 0)
		fatal("sigprocmask");
	sigdelset(&set, SIGPIPE);
	if ((fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC)) < 0)
		fatal("signalfd");
	return fd;
}
