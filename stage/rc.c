/*
 * rc.c - turning an errno into a stage's verdict on an item, in one place,
 * so every stage program treats a fault of the machine the same way: as
 * temporary, never the item's (tmcwatch-spool(5), FAULTS).
 */
#include <errno.h>

#include "stage.h"

enum stage_rc
stage_errno_rc(int err, const char *what)
{
	if (errno_is_machine_fault(err)) {
		fault_note_errno(err, what);
		return STAGE_FAULT;
	}
	if (err == EAGAIN || err == EINTR || err == ETIMEDOUT)
		return STAGE_TEMPFAIL;
	return STAGE_PERMFAIL;
}
