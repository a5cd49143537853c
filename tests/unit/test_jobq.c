/*
 * test_jobq.c - job_queue() (spool/jobq.c) on a real temporary spool, and
 * SHA-256 / HMAC-SHA256 (util/sha256.c) against FIPS 180-2 and RFC 4231.
 */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "spool.h"

static char root[256];
static struct spool sp;

static int
setup(void **state)
{
	(void)state;
	snprintf(root, sizeof(root), "%s/tmcwatch-unit.XXXXXX", getenv("TMPDIR") ?: "/tmp");
	if (mkdtemp(root) == NULL)
		return -1;
	return spool_open(&sp, root, true);
}

static int
teardown(void **state)
{
	(void)state;
	rmtree_at(AT_FDCWD, root);
	spool_close(&sp);
	return 0;
}

static char *
slurp(const char *dir, const char *name)
{
	char path[128];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return file_read_at(sp.fd, path, 1 << 20, NULL);
}

static int
count(const char *dir)
{
	char cmd[512];
	FILE *p;
	int n = -1;

	snprintf(cmd, sizeof(cmd), "ls -A %s/%s | wc -l", root, dir);
	p = popen(cmd, "r");
	if (p && fscanf(p, "%d", &n) != 1)
		n = -1;
	if (p)
		pclose(p);
	return n;
}

static void
test_seq_form_and_bytes(void **state)
{
	char seq[32], stamp[16], *got;
	time_t now = time(NULL);

	(void)state;
	assert_int_equal(job_queue(&sp, "{\"a\":1}", 7, NULL, 0, seq, sizeof(seq)), 0);
	assert_int_equal(strlen(seq), 15);
	assert_int_equal(strspn(seq, "0123456789"), 15);
	strftime(stamp, sizeof(stamp), "%y%m%d%H", localtime(&now));
	assert_memory_equal(seq, stamp, 8); /* yymmddHH of now (local time, as TMC) */
	got = slurp("req", seq);
	assert_non_null(got);
	assert_string_equal(got, "{\"a\":1}");
	free(got);
	assert_int_equal(count("req"), 1); /* no temporary file left */
}

static void
test_list_before_job(void **state)
{
	char seq[32], name[48], *got;

	(void)state;
	assert_int_equal(job_queue(&sp, "{}", 2, "/a.jpg\n", 7, seq, sizeof(seq)), 0);
	snprintf(name, sizeof(name), "%s.file", seq);
	got = slurp("req", name);
	assert_non_null(got);
	assert_string_equal(got, "/a.jpg\n");
	free(got);
	assert_int_equal(count("req"), 3); /* the first test's job, this job, its list */
}

static void
test_unique_and_skips_used(void **state)
{
	char seq[32], seen[200][32], path[512];
	time_t now = time(NULL);
	char stamp[16];

	(void)state;
	/* seqs of the next seconds already used by finished jobs */
	for (int t = 0; t < 3; t++) {
		time_t when = now + t;

		strftime(stamp, sizeof(stamp), "%y%m%d%H%M%S", localtime(&when));
		for (int k = 0; k < 1000; k += 2) {
			snprintf(path, sizeof(path), "%s/done/%s%03d", root, stamp, k);
			close(open(path, O_CREAT | O_WRONLY, 0644));
		}
	}
	for (int i = 0; i < 200; i++) {
		assert_int_equal(job_queue(&sp, "{}", 2, NULL, 0, seq, sizeof(seq)), 0);
		snprintf(path, sizeof(path), "%s/done/%s", root, seq);
		assert_int_not_equal(access(path, F_OK), 0); /* not a seq of done/ */
		for (int j = 0; j < i; j++)
			assert_string_not_equal(seen[j], seq);
		snprintf(seen[i], sizeof(seen[i]), "%s", seq);
	}
}

static void
hex_of(const uint8_t d[SHA256_LEN], char *hex)
{
	sha256_hex(d, hex);
}

static void
test_sha256_vectors(void **state)
{
	static const struct {
		const char *label, *msg, *hex;
	} v[] = {
		{"empty", "", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
		{"abc", "abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
		{"448 bits", "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
		 "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"},
	};
	uint8_t d[SHA256_LEN];
	char hex[2 * SHA256_LEN + 1];
	struct sha256 c;

	(void)state;
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		sha256(v[i].msg, strlen(v[i].msg), d);
		hex_of(d, hex);
		if (strcmp(hex, v[i].hex) != 0)
			fail_msg("%s: %s", v[i].label, hex);
	}
	/* a million 'a', fed in odd pieces */
	sha256_init(&c);
	for (int i = 0; i < 1000000; i += 7)
		sha256_update(&c, "aaaaaaa", 1000000 - i < 7 ? (size_t)(1000000 - i) : 7);
	sha256_final(&c, d);
	hex_of(d, hex);
	assert_string_equal(hex,
			    "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

static void
test_hmac_rfc4231(void **state)
{
	uint8_t key20[20], key131[131], data50[50], d[SHA256_LEN];
	char hex[2 * SHA256_LEN + 1];

	(void)state;
	memset(key20, 0x0b, sizeof(key20));
	hmac_sha256(key20, 20, "Hi There", 8, d);
	hex_of(d, hex);
	assert_string_equal(hex,
			    "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
	hmac_sha256("Jefe", 4, "what do ya want for nothing?", 28, d);
	hex_of(d, hex);
	assert_string_equal(hex,
			    "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
	memset(key20, 0xaa, sizeof(key20));
	memset(data50, 0xdd, sizeof(data50));
	hmac_sha256(key20, 20, data50, 50, d);
	hex_of(d, hex);
	assert_string_equal(hex,
			    "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe");
	memset(key131, 0xaa, sizeof(key131)); /* a key longer than the block */
	hmac_sha256(key131, 131, "Test Using Larger Than Block-Size Key - Hash Key First", 54, d);
	hex_of(d, hex);
	assert_string_equal(hex,
			    "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_seq_form_and_bytes),
		cmocka_unit_test(test_list_before_job),
		cmocka_unit_test(test_unique_and_skips_used),
		cmocka_unit_test(test_sha256_vectors),
		cmocka_unit_test(test_hmac_rfc4231),
	};

	log_init("test_jobq", 0);
	return cmocka_run_group_tests(tests, setup, teardown);
}
