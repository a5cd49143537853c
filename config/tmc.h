/*
 * tmc.h - TMC's semantics that tmcwatch follows on purpose, in one place:
 * which files a job or a watch selects, how their names are renamed, what
 * PHP's empty(), truthiness and trim() make of a value, and which names are
 * seqs. Every program that applies one of these rules calls these
 * functions (tmc.c); none keeps a copy, so they cannot drift apart
 * (tests/unit/test_tmc.c tests them; tests/integration/93-layout.t checks
 * that they are defined only here).
 */
#ifndef TMC_TMC_H
#define TMC_TMC_H

#include <stdbool.h>
#include <stddef.h>

#include "conf.h"
#include "json.h"
#include "spool.h"

/* Selection (TMC's glob): some include matches and no exclude does, each
 * fnmatch(3) with flags 0 on the path relative to the folder with its
 * leading "/": '*' and '?' cross '/' and match a leading dot, matching is
 * case-sensitive, "*.jpg" matches at any depth. No include: nothing. */
bool tmc_selected(char *const *include, size_t ninclude, char *const *exclude, size_t nexclude,
		  const char *rel);

/* Rename (PHP's str_ireplace per rule): the rules in order, each on the
 * result of the one before, every non-overlapping occurrence from the left,
 * ASCII case-insensitive, the replacement as written; a rule whose search
 * or replacement is empty (tmc_empty) is skipped. A malloc'd string. */
char *tmc_rename(const char *rel, const struct rename_rule *rules, size_t n);

/* PHP's empty() of a string: NULL (null), "" and "0". */
bool tmc_empty(const char *s);

/* PHP's truthiness of a JSON value as json_decode() gives it: false, null,
 * 0, 0.0, "", "0", [] and {} are false, everything else true. */
bool tmc_truthy(const struct json *doc, int t);

/* PHP's trim() with its default characters " \t\n\r\0\x0B". */
void tmc_trim(const char **s, size_t *n);

/*
 * Seqs. Two questions, two rules:
 * - tmc_seq_is_tmc: is this name TMC's seq form, 15 digits (yymmddHHMMSS
 *   and 3 more)? The form every writer of req/ gives a job (tmcwatch
 *   submit, tmc-httpd, tmc-jobs renaming any other name it finds there).
 * - tmc_seq_name_ok: may this name be a job's seq? 1 to TMC_SEQ_NAME_MAX
 *   of [A-Za-z0-9._-], not '.' first, and not ending in a job file's
 *   suffix (.stat .ctrl .file .rows .log .result .reason) or a copy's
 *   (.part .tmp .swp): never a side file, a dot file or a temporary, never "..", never a path. A
 * job file copied into req/ under such a name ("myjob.json") runs under it, as in TMC. Every
 * program asks this one question before it builds a path from a seq it did not make (a client's
 * query, a name read from the spool). The bound leaves room for "<seq>-<index>" under ITEM_ID_MAX
 * and for
 *   "<dir>/<seq>.result" in the buffers; tmc-httpd(8) documents it. The
 *   rule itself is spool's job_name_ok(), so that the spool's own counts
 *   (metrics, status) see the same jobs.
 */
#define TMC_SEQ_LEN 15
#define TMC_SEQ_NAME_MAX JOB_NAME_MAX
#define TMC_SEQ_NAME_RULE                                                                          \
	"seq must be 1 to 64 of [A-Za-z0-9._-], not '.' first, not ending in .stat, .ctrl, "       \
	".file, .rows, .log, .result, .reason, .part, .tmp or .swp"
bool tmc_seq_is_tmc(const char *name);
bool tmc_seq_name_ok(const char *name);

#endif
