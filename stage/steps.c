/*
 * steps.c - which steps of a template a file expects, and its result row
 * (pure; unit-tested). A file is finished when every expected step has a
 * result; its row is TMC's (doc/TMC.md, Result rows).
 *
 * Expected: the step is on the file's route (config/route.c route_source:
 * it applies to the extension and reads "hires" or a step that runs) and
 * the step it reads did not fail: what route_reached() gives, minus what
 * lies below a failure (that part depends on results, so it is here).
 *
 * A line says its outcome: "failed" is SR_FAILED, anything else SR_OK.
 * A line of 0.1 (no outcome, before an upgrade) is guessed as 0.1 did: a
 * permanent failure was written as created 0, warnings 1 and the reason,
 * and a success with one warning and nothing written looks the same
 * (SR_MAYBE). Successors of a failure never run; successors of a success
 * do. So a MAYBE step's successors stay expected until they report (it was
 * a success) or the caller finds the item in the stage's err/ or nowhere
 * at all and marks it SR_FAILED (stages/jobs/track.c; tmc-watch trusts the
 * outcome word and guesses 0.1's lines as failures, stages/watch/tally.c).
 *
 * Row: requested = the template's step count (TMC counted proc entries,
 * skipped ones too); created and warnings summed over the results. One
 * missing or unreadable original fails every step that reads hires with
 * the same reason; TMC counted that once (its load failed once), so equal
 * failure reasons of hires steps count once. A step resolved as failed
 * without any report (its item was lost or rejected) adds one warning.
 */
#include <stdint.h>
#include <string.h>

#include "stage.h"

/* FNV-1a of a failure reason: equal reasons count once */
static uint32_t
reason_hash(const char *s)
{
	uint32_t h = 2166136261u;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h;
}

void
sres_record(struct sres *r, const struct result_line *rl)
{
	r->created = rl->created;
	r->warnings = rl->warnings;
	r->hash = rl->reason && *rl->reason ? reason_hash(rl->reason) : 0;
	r->line = true;
	if (rl->outcome == RO_FAILED)
		r->state = SR_FAILED;
	else if (rl->outcome != RO_UNKNOWN)
		r->state = SR_OK;
	else /* 0.1's line: guessed */
		r->state = rl->created == 0 && rl->warnings == 1 && r->hash ? SR_MAYBE : SR_OK;
}

size_t
steps_expected(const struct template *tpl, const char *ext, const struct sres *res, uint8_t *exp)
{
	size_t pending = 0;

	for (size_t j = 0; j < tpl->nsteps; j++) {
		int src;

		exp[j] = 0;
		src = route_source(tpl, j, ext);
		if (src == ROUTE_NONE ||
		    (src >= 0 && (!exp[src] || (res && res[src].state == SR_FAILED))))
			continue;
		exp[j] = 1;
		if (res == NULL || res[j].state == SR_NONE)
			pending++;
	}
	return pending;
}

static bool
hash_seen(uint32_t *seen, size_t *n, size_t cap, uint32_t h)
{
	for (size_t i = 0; i < *n; i++)
		if (seen[i] == h)
			return true;
	if (*n < cap)
		seen[(*n)++] = h;
	return false;
}

void
steps_row(const struct template *tpl, const struct sres *res, struct rowcount *rc)
{
	uint32_t seen[64];
	size_t nseen = 0;

	rc->requested = (int)tpl->nsteps;
	rc->created = rc->warnings = 0;
	for (size_t j = 0; res && j < tpl->nsteps; j++) {
		const struct sres *r = &res[j];

		if (!r->line) {
			rc->warnings += r->state == SR_FAILED;
			continue;
		}
		rc->created += r->created;
		if (strcmp(tpl->steps[j].source, "hires") == 0 && r->created == 0 && r->hash &&
		    (r->state == SR_MAYBE || r->state == SR_FAILED) &&
		    hash_seen(seen, &nseen, sizeof(seen) / sizeof(seen[0]), r->hash))
			continue;
		rc->warnings += r->warnings;
	}
}
