/*
 * rules.c - which names concern a watch, what they are renamed to, and the
 * names tmc-watch makes (the watch's key, item ids). Pure functions: the
 * unit tests (tests/unit/test_watch.c) call them directly.
 *
 * Selection and rename are TMC's rules, the same as a job's: a watch's
 * include, exclude and rename lists handed to config/tmc.c (tmc.h says the
 * rules: fnmatch with flags 0 on "/rel", str_ireplace).
 */
#include <fnmatch.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tmc.h"
#include "watch.h"

void
ident_from_stat(struct ident *id, const struct stat *st, uint16_t slot)
{
	id->ino = (uint64_t)st->st_ino;
	id->size = (int64_t)st->st_size;
	id->mtime_s = (int64_t)st->st_mtim.tv_sec;
	id->mtime_ns = (int32_t)st->st_mtim.tv_nsec;
	id->slot = slot;
}

bool
ident_same(const struct ident *a, const struct ident *b)
{
	return a->ino == b->ino && a->size == b->size && a->mtime_s == b->mtime_s &&
	       a->mtime_ns == b->mtime_ns && a->slot == b->slot;
}

/*
 * Names that uploaders and sync tools give a file while it is on its way,
 * before the rename to its final name (which is taken as usual). One table,
 * most specific first, so the log can say whose temporary it is. Matched
 * with fnmatch(FNM_CASEFOLD) on the last component only: Windows tools
 * write ~RF1234.TMP as often as .tmp.
 */
static const struct {
	const char *pattern, *who;
} temp_names[] = {
	{"~$*", "a Microsoft Office owner file"},
	{".~lock.*#", "a LibreOffice lock file"},
	{".syncthing.*.tmp", "a Syncthing temporary"},
	{"~syncthing~*.tmp", "a Syncthing temporary"},
	{".dropbox*", "a Dropbox file"},
	{"*.dropbox", "a Dropbox file"},
	{".owncloudsync.log*", "an ownCloud/Nextcloud sync journal"},
	{"._sync_*.db*", "an ownCloud/Nextcloud sync journal"},
	{".sync_*.db*", "an ownCloud/Nextcloud sync journal"},
	{".*.~*", "an ownCloud/Nextcloud download temporary"},
	{".~*", "an ownCloud/Nextcloud temporary"},
	{"*.~*", "an ownCloud/Nextcloud temporary"},
	{"._*", "a macOS resource fork (AppleDouble, over SMB/AFP)"},
	{".nfs*", "an NFS silly-renamed file"},
	{".smbdelete*", "a Samba file deleted while open"},
	{".#*", "an Emacs lock file"},
	{"#*#", "an Emacs auto-save file"},
	{".goutputstream-*", "a GNOME (GIO) temporary"},
	{".?*.??????", "an rsync temporary (.name.XXXXXX)"},
	{"*.filepart", "a WinSCP partial transfer"},
	{"*.crdownload", "a Chrome download"},
	{"*.part", "a partial download or upload (Firefox, Nextcloud, curl)"},
	{"*.partial", "a partial download (Edge, IE)"},
	{"*.download", "a Safari download"},
	{"*.opdownload", "an Opera download"},
	{"*.!ut", "a uTorrent download"},
	{"*.!qb", "a qBittorrent download"},
	{"*.sw[m-p]", "a Vim swap file"},
	{"*~", "an editor backup"},
	{"*.tmp", "a temporary (Office ~WRL*.tmp, Samba/Windows clients, many tools)"},
	{"*.temp", "a temporary"},
	{".*", "a dot file (hidden, or a temporary of a tool not listed)"},
};

const char *
rules_temp_name(const char *name)
{
	for (size_t i = 0; i < sizeof(temp_names) / sizeof(*temp_names); i++)
		if (fnmatch(temp_names[i].pattern, name, FNM_CASEFOLD) == 0)
			return temp_names[i].who;
	return NULL;
}

bool
rules_selected(const struct watch *w, const char *rel)
{
	return tmc_selected(w->include, w->ninclude, w->exclude, w->nexclude, rel);
}

void
rules_rename(const struct watch *w, const char *rel, struct strbuf *out)
{
	char *renamed = tmc_rename(rel, w->rename, w->nrename);

	sb_reset(out);
	sb_adds(out, renamed);
	free(renamed);
}

static bool
key_char(unsigned char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
	       ch == '.' || ch == '_' || ch == '-';
}

void
watch_key(const char *name, char *buf, size_t len)
{
	size_t n = 0;

	for (const unsigned char *p = (const unsigned char *)name; *p && n + 4 < len; p++) {
		if (key_char(*p) && !(p == (const unsigned char *)name && *p == '.'))
			buf[n++] = (char)*p;
		else if (*p == '#')
			buf[n++] = '.';
		else
			n += (size_t)snprintf(buf + n, len - n, "_%02x", *p);
	}
	buf[n] = '\0';
	if (n == 0)
		snprintf(buf, len, "_");
}

void
watch_item_id(char *buf, size_t len, const char *key, const struct ident *id)
{
	char shortkey[32];
	int n;

	n = snprintf(buf, len, "w-%s-%u-%llu-%lld-%lld.%09d", key, (unsigned)id->slot,
		     (unsigned long long)id->ino, (long long)id->size, (long long)id->mtime_s,
		     (int)id->mtime_ns);
	if (n >= 0 && (size_t)n < len && n < ITEM_ID_MAX)
		return;
	snprintf(shortkey, sizeof(shortkey), "%.16s.%08llx", key,
		 (unsigned long long)(hash_bytes(key, strlen(key), 0) & 0xffffffffULL));
	snprintf(buf, len, "w-%s-%u-%llu-%lld-%lld.%09d", shortkey, (unsigned)id->slot,
		 (unsigned long long)id->ino, (long long)id->size, (long long)id->mtime_s,
		 (int)id->mtime_ns);
}

/* Does any first step (source "hires") take files with this extension? */
static bool
ext_wanted(const struct template *tpl, const char *ext)
{
	for (size_t j = 0; j < tpl->nsteps; j++)
		if (route_first(tpl, j, ext))
			return true;
	return false;
}

bool
rules_wanted(const struct watch *w, const struct template *tpl, const char *dirrel,
	     const char *name)
{
	char rel[PATH_MAX];

	return !rules_temp_name(name) && file_rel(dirrel, name, rel, sizeof(rel)) &&
	       rules_selected(w, rel) && ext_wanted(tpl, path_ext(name));
}
