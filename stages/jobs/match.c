/*
 * match.c - the pure parts of tmc-jobs' own formats: which names in req/
 * are temporaries, the .stat text, item ids and proc/<seq>.log lines. No
 * I/O, no state; unit tests include this file (tests/unit/test_jobs_match.c).
 * TMC's rules that tmc-jobs shares with the other programs (globs, rename,
 * seqs, trim) are config/tmc.c's.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jobs.h"

static bool
ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return n >= m && strcmp(s + n - m, suffix) == 0;
}

bool
jm_name_ignored(const char *name)
{
	return name[0] == '.' || name[0] == '\0' || ends_with(name, "~") ||
	       ends_with(name, ".part") || ends_with(name, ".tmp") || ends_with(name, ".swp");
}

static int
parse_count(const char *s, char **end, long long *v)
{
	if (!isdigit((unsigned char)*s))
		return -1;
	*v = strtoll(s, end, 10);
	return 0;
}

int
jm_stat_parse(const char *s, long long v[3])
{
	char *e;

	v[0] = v[1] = v[2] = 0;
	if (parse_count(s, &e, &v[0]) < 0)
		return -1;
	if (*e == '\0' || *e == '\n')
		return 0; /* TMC's scan wrote the bare count */
	if (*e != '\t' || parse_count(e + 1, &e, &v[1]) < 0 || *e != '\t' ||
	    parse_count(e + 1, &e, &v[2]) < 0)
		return -1;
	return *e == '\0' || *e == '\n' ? 0 : -1;
}

void
jm_item_id(char *buf, size_t len, const char *seq, size_t idx)
{
	snprintf(buf, len, "%s-%06zu", seq, idx);
}

int
jm_item_index(const char *seq, const char *id, size_t *idx)
{
	size_t n = strlen(seq);
	const char *p;
	char *e;

	if (strncmp(id, seq, n) != 0 || id[n] != '-')
		return -1;
	p = id + n + 1;
	if (!isdigit((unsigned char)*p))
		return -1;
	*idx = (size_t)strtoull(p, &e, 10);
	return *e == '\0' ? 0 : -1;
}
