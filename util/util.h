/*
 * util.h - general utilities every tmcwatch program links (libutil):
 * allocation, heap thresholds, strings, logging, signals, durable file
 * primitives, path checks and SHA-256. Nothing here knows the spool, the
 * config or a stage; functions are grouped by the file that holds them.
 */
#ifndef TMC_UTIL_H
#define TMC_UTIL_H

#include <dirent.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

/* xalloc.c: allocators that cannot fail (they exit on ENOMEM) */
void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t n);
void *xreallocarray(void *p, size_t n, size_t size);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
char *xvasprintf(const char *fmt, va_list ap) __attribute__((format(printf, 1, 0)));
/* free *p and set it to NULL */
void xfree(void *pp);

/* strbuf.c: growing NUL-terminated buffer */
struct strbuf {
	char *buf;
	size_t len, cap;
};
void sb_add(struct strbuf *sb, const char *s, size_t n);
void sb_adds(struct strbuf *sb, const char *s);
void sb_addc(struct strbuf *sb, char c);
void sb_printf(struct strbuf *sb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void sb_reset(struct strbuf *sb);
void sb_free(struct strbuf *sb);

/* log.c: one vocabulary; UTC timestamps; stderr and an optional file; on the
 * journal each stderr line starts with its priority (<3> <4> <6> <7>) */
void log_init(const char *progname, int debug);
void log_set_stage(const char *stage); /* e.g. "tpl/01-Preview", shown on every line */
int log_open_file(const char *path);   /* also reopens (SIGHUP); -1 on error */
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2))); /* adds strerror */
void log_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_errx(const char *fmt, ...) __attribute__((format(printf, 1, 2))); /* journal <3> */
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
void fatalx(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
extern const char *log_progname;

/* signals.c: block SIGTERM, SIGINT, SIGHUP (and SIGPIPE, never read) and
 * return a signalfd for the first three; exits if it cannot. */
int signals_open(void);

/* heap.c: keep the heap mapped between requests of up to payload bytes
 * in and reply bytes out, handled one at a time (no brk/mmap churn) */
void heap_keep_for(size_t payload, size_t reply);

/* fsio.c: durable file primitives; all return 0 or -1 with errno set */
int fsync_dir_at(int dirfd, const char *name); /* name NULL: dirfd itself */
int write_all(int fd, const void *buf, size_t len);
/* Up to len bytes, fewer only at end of file: the count, or -1 with errno. */
ssize_t read_all(int fd, void *buf, size_t len);
/* tmp -> write -> fsync (if durable) -> rename to name in dirfd -> fsync dir */
int file_publish_at(int dirfd, const char *name, const void *buf, size_t len, bool durable);
/* Read a whole small file (up to max bytes) into a malloc'd NUL-terminated buffer. */
char *file_read_at(int dirfd, const char *name, size_t max, size_t *len);
/* The folder name below parent, for readdir; NULL with errno (nothing left open). */
DIR *dir_open_at(int parent, const char *name);
int mkdir_p(const char *path, mode_t mode);
int rmtree_at(int dirfd, const char *name); /* remove a directory tree, no symlink follow */
int64_t now_ms_mono(void);                  /* CLOCK_MONOTONIC, ms */
int64_t now_s_real(void); /* CLOCK_REALTIME, s: only for deadlines kept in items */
/* Crash tests: when $TMC_FAILPOINT is name, the process SIGKILLs itself
 * there; when it is "name:hang", it hangs there (time-limit tests). */
void failpoint(const char *name);

/* path.c: paths from users, checked before use */
/* 0 if rel has no "..", no NUL, no empty path after joining; "" and "/x/y" ok. */
int path_check_rel(const char *rel, char *reason, size_t len);
/* Join root + parts into buf with truncation check; -1 on overflow. */
int path_join(char *buf, size_t len, const char *root, const char *a, const char *b, const char *c);
/* Open (and with create, make) every directory of rel under rootfd without
 * following symlinks; returns an O_DIRECTORY fd or -1 (errno ELOOP for a
 * symlink, ENOTDIR, ENOENT when !create). */
int dir_open_beneath(int rootfd, const char *rel, bool create, mode_t mode);
/* Open rel beneath rootfd with no symbolic link in any component (the last
 * one included) and no way out: openat2 RESOLVE_BENEATH|RESOLVE_NO_SYMLINKS|
 * RESOLVE_NO_MAGICLINKS, or open_beneath_walk() where openat2 is missing.
 * flags as for open(2) (O_NOFOLLOW and O_CLOEXEC are added). -1 with errno
 * ELOOP (a symbolic link on the way), EXDEV (leads out), ENOENT, ... */
int open_beneath(int rootfd, const char *rel, int flags);
/* The same by hand, one component at a time with O_NOFOLLOW (the fallback;
 * public so that tests can run it on a kernel that has openat2). */
int open_beneath_walk(int rootfd, const char *rel, int flags);
/* fstat of the folder holding rel beneath rootfd, opened as open_beneath. */
int parent_stat_beneath(int rootfd, const char *rel, struct stat *st);
/* The hard-link policy: a regular file with more than one link whose owner
 * is not the owner of the folder it sits in is refused (someone linked in a
 * file they do not own); an operator's own hard-linked copies pass. */
bool hardlink_refused(const struct stat *file, const struct stat *folder);
const char *path_ext(const char *path); /* after the last '.' of the last component, or "" */

/* sha256.c: SHA-256 and HMAC-SHA256 (nettle underneath) */
#define SHA256_LEN 32
struct sha256 {
	/* nettle's struct sha256_ctx, kept opaque so that nettle's macros
	 * (which rename sha256_init) stay out of every other file */
	_Alignas(8) unsigned char ctx[128];
};
void sha256_init(struct sha256 *c);
void sha256_update(struct sha256 *c, const void *data, size_t n);
void sha256_final(struct sha256 *c, uint8_t out[SHA256_LEN]);
void sha256(const void *data, size_t n, uint8_t out[SHA256_LEN]);
void hmac_sha256(const void *key, size_t klen, const void *data, size_t n, uint8_t out[SHA256_LEN]);
void sha256_hex(const uint8_t d[SHA256_LEN], char hex[2 * SHA256_LEN + 1]);

#endif
