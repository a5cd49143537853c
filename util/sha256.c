/*
 * sha256.c - SHA-256 and HMAC-SHA256 through nettle, the cryptography
 * library every program that needs it already loads (tmc-httpd through
 * libmicrohttpd's GnuTLS, tmc-notify through libcurl's). tmc-notify signs
 * callback bodies with it and tmc-httpd names idempotency keys by their
 * digest. These wrappers only keep the callers' small vocabulary (and the
 * hex form); checked against the FIPS and RFC 4231 vectors in
 * tests/unit/test_jobq.c.
 */
#include <nettle/hmac.h>
#include <nettle/sha2.h>
#include <stdio.h>

/* nettle names its functions sha256_init and sha256_update by macro; ours
 * keep those names, so the macros go and nettle's own names are used. */
#undef sha256_init
#undef sha256_update
#include "util.h"

_Static_assert(sizeof(struct sha256_ctx) <= sizeof(((struct sha256 *)0)->ctx),
	       "struct sha256 holds nettle's sha256_ctx");
#define CTX(c) ((struct sha256_ctx *)(void *)(c)->ctx)

void
sha256_init(struct sha256 *c)
{
	nettle_sha256_init(CTX(c));
}

void
sha256_update(struct sha256 *c, const void *data, size_t n)
{
	nettle_sha256_update(CTX(c), n, data);
}

void
sha256_final(struct sha256 *c, uint8_t out[SHA256_LEN])
{
	nettle_sha256_digest(CTX(c), SHA256_LEN, out);
}

void
sha256(const void *data, size_t n, uint8_t out[SHA256_LEN])
{
	struct sha256 c;

	sha256_init(&c);
	sha256_update(&c, data, n);
	sha256_final(&c, out);
}

void
hmac_sha256(const void *key, size_t klen, const void *data, size_t n, uint8_t out[SHA256_LEN])
{
	struct hmac_sha256_ctx c;

	nettle_hmac_sha256_set_key(&c, klen, key);
	nettle_hmac_sha256_update(&c, n, data);
	nettle_hmac_sha256_digest(&c, SHA256_LEN, out);
}

void
sha256_hex(const uint8_t d[SHA256_LEN], char hex[2 * SHA256_LEN + 1])
{
	for (int i = 0; i < SHA256_LEN; i++)
		snprintf(hex + 2 * i, 3, "%02x", d[i]);
}
