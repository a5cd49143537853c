/*
 * id.c - item ids.
 *
 * Ids are deterministic (job seq + file index, or watch + device + inode +
 * size + mtime), so a handoff repeated after a crash finds its successor
 * already there. They are folder names, so only a safe alphabet passes;
 * an id that fails here came from our own code and is a bug.
 */
#include <string.h>

#include "spool.h"

bool
id_valid(const char *id)
{
	size_t n = strlen(id);

	if (n == 0 || n >= ITEM_ID_MAX || id[0] == '.')
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = id[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '.' || c == '_' || c == '-'))
			return false;
	}
	return true;
}
