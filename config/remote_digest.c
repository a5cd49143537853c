/*
 * remote_digest.c - the digest two hosts compare before one does the
 * other's work: same program version, same step keys, hence the same bytes
 * from the same original. Its own file so that only the programs that send
 * or take remote work link the hash (nettle). The site digest covers what
 * else shapes the bytes: the item's site block and the files it names.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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

/* "<name> <sha256 of its bytes>" or "<name> missing": a file the stages
 * read, found where they look for it (absolute, or in the config folder). */
static void
file_digest(const struct conf *conf, const char *kind, const char *name, struct strbuf *sb)
{
	char *path = name[0] == '/' ? xstrdup(name) : xasprintf("%s/%s", conf->dir ?: ".", name);
	uint8_t buf[65536], d[SHA256_LEN];
	char hex[65];
	struct sha256 c;
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	free(path);
	if (fd < 0) {
		sb_printf(sb, "%s %s missing\n", kind, name);
		return;
	}
	sha256_init(&c);
	while ((n = read(fd, buf, sizeof(buf))) > 0 || (n < 0 && errno == EINTR))
		if (n > 0)
			sha256_update(&c, buf, (size_t)n);
	sha256_final(&c, d);
	close(fd);
	sha256_hex(d, hex);
	sb_printf(sb, "%s %s %s\n", kind, name, n < 0 ? "unreadable" : hex);
}

void
conf_site_digest(const struct conf *conf, const char *site_name, char hex[65])
{
	const struct site *s = site_name ? conf_site(conf, site_name) : NULL;
	struct strbuf sb = {0};
	uint8_t d[SHA256_LEN];

	sb_printf(&sb, "truncated %d\n", (int)conf->truncated);
	if (s == NULL)
		sb_printf(&sb, "site %s undefined\n", site_name ?: "");
	else {
		sb_printf(&sb, "site %s\n", s->name);
		for (size_t i = 0; i < s->ncmyk; i++)
			file_digest(conf, "cmyk", s->cmyk[i], &sb);
		for (size_t i = 0; i < s->nsrgb; i++)
			file_digest(conf, "srgb", s->srgb[i], &sb);
		if (s->watermark && s->watermark[0])
			file_digest(conf, "watermark", s->watermark, &sb);
	}
	sha256(sb.buf ?: "", sb.len, d);
	sha256_hex(d, hex);
	sb_free(&sb);
}
