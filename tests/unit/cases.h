/*
 * cases.h - for unit tests that run a table of cases: the table's length,
 * and a failed case reported by its label (so one run shows every failing
 * case, not only the first). Include after <cmocka.h>.
 */
#ifndef TESTS_UNIT_CASES_H
#define TESTS_UNIT_CASES_H

#include <stdbool.h>

#define NCASES(a) (sizeof(a) / sizeof((a)[0]))

static inline int
fails(const char *label, bool failed)
{
	if (failed)
		print_error("case failed: %s\n", label);
	return failed;
}

#endif
