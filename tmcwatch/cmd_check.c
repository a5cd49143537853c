/*
 * cmd_check.c - tmcwatch check: like nginx -t. Every error on its own line
 * as "file:line:col: key: what is wrong"; exit 0 with "configuration OK",
 * or EX_CONFIG.
 */
#include <stdio.h>

#include "tmcwatch.h"

int
cmd_check(const struct opts *o, int argc, char **argv)
{
	struct conf conf = {0};
	int n;

	(void)argc;
	(void)argv;
	n = load_config(o, &conf, false);
	conf_free(&conf);
	if (n > 0) {
		fprintf(stderr, "%d error%s in the configuration\n", n, n == 1 ? "" : "s");
		return EX_CONFIG;
	}
	printf("configuration OK\n");
	return 0;
}
