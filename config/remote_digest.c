/*
 * remote_digest.c - the digest two hosts compare before one does the
 * other's work: same program version, same step keys, hence the same bytes
 * from the same original. Its own file so that only the programs that send
 * or take remote work link the hash (nettle).
 */
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "util.h"

void
conf_template_digest(const struct template *tpl, char hex[65])
{
	char *canon = conf_template_canon(tpl);
	char *text = xasprintf("tmcwatch %s\n%s\n", TMC_VERSION, canon);
	uint8_t d[SHA256_LEN];

	sha256(text, strlen(text), d);
	sha256_hex(d, hex);
	free(text);
	free(canon);
}
