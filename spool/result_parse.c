/*
 * result_parse.c - reading one result line (result.c writes them; the
 * format is tmcwatch-spool(5), RESULTS), for tmc-jobs and tmc-watch.
 *
 * Eight tab-separated fields, the outcome last. A line of 0.1 has seven
 * (no outcome): it reads as RO_UNKNOWN and the reader guesses as 0.1 did.
 * Writers blank tabs inside fields, so the reason never holds one and the
 * field count tells the two apart.
 */
#include <stdlib.h>
#include <string.h>

#include "spool.h"

static int
parse_int(const char *s, int *out)
{
	char *e;
	long v;

	if (*s == '\0')
		return -1;
	v = strtol(s, &e, 10);
	if (*e != '\0' || v < -1000000 || v > 1000000)
		return -1;
	*out = (int)v;
	return 0;
}

/* An unknown word (a later version's) is RO_UNKNOWN: guessed, not dropped. */
static enum result_outcome
outcome_parse(const char *w)
{
	for (int o = RO_OK; o <= RO_SKIPPED; o++)
		if (strcmp(w, result_outcome_name((enum result_outcome)o)) == 0)
			return (enum result_outcome)o;
	return RO_UNKNOWN;
}

int
result_parse(char *line, struct result_line *rl)
{
	char *f[8], *p = line;
	int n;

	for (n = 0; n < 8; n++) {
		f[n] = p;
		if ((p = strchr(p, '\t')) == NULL)
			break;
		*p++ = '\0';
	}
	if (n == 8) /* more fields than this version knows: the rest is a later version's */
		n = 7;
	if (n < 6 || f[0][0] == '\0' || parse_int(f[1], &rl->step) < 0 ||
	    parse_int(f[3], &rl->created) < 0 || parse_int(f[4], &rl->warnings) < 0)
		return -1;
	rl->id = f[0];
	rl->name = f[2];
	rl->rel = f[5];
	rl->reason = f[6];
	rl->outcome = n == 7 ? outcome_parse(f[7]) : RO_UNKNOWN;
	return 0;
}
