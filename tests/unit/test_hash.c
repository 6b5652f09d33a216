// SPDX-License-Identifier: MIT
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "hash.h"
#include "util/secret.h"
#include "vector_hex.h"

/* Hashes of "secret" made by doveadm pw / crypt(3). */
#define SHA512_SECRET                                                                              \
	"$6$TYTuKSovyugSQICY$BmfvHe/diKeL/"                                                        \
	"X0Ncp59E.m.6B6p83x5sTNfbN31kPI1I85QXAHbV1npLtukTxOe2L5rQ/"                                \
	"A/6UrhD3xcIW/fN/"
#define SHA512_1000_SECRET                                                                         \
	"$6$rounds=1000$abc$MqEcPZUYRGGcOeq7PhMpfjfu/"                                             \
	"F0HrVEI0OlZBijWvO8mSG77iNUDP5MqFceKpJTBc8iITVt"                                           \
	"NyLiNTRNCxv6oh0"
#define MD5CRYPT_SECRET "$1$iSetJBOB$KjbSuxAro4KilATcf8YGG."
#define BCRYPT_SECRET "$2y$05$abcdefghijklmnopqrstuuOQiyCxlgf/oeuTqixKmWdcYUh4Hjl0a"
#define DES_SECRET "XYZJ1viSbBT0A"
#define MD5HEX_SECRET "5ebe2294ecd0e0f08eab7690d2a6ee69"
#define MD5B64_SECRET "Xr4ilOzQ4PCOq3aQ0qbuaQ=="

struct verify_case {
	const char *stored;
	const char *password;
	const char *default_scheme;
	enum pgd_hash_result result;
	const char *scheme; /* expected info.scheme */
	const char *detail; /* substring expected in info.detail; NULL: must be empty */
};

static void run_verify_cases(const struct verify_case *cases, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		const struct verify_case *c = &cases[i];
		struct pgd_hash_policy policy = {.default_scheme = c->default_scheme};
		struct pgd_hash_info info;
		enum pgd_hash_result r = pgd_hash_verify(c->stored, c->password, &policy, &info);

		if (r != c->result)
			fail_msg("case %zu (%s): got %s, want %s (%s)", i, c->stored,
			         pgd_hash_result_str(r), pgd_hash_result_str(c->result),
			         info.detail);
		if (strcmp(info.scheme, c->scheme) != 0)
			fail_msg("case %zu (%s): scheme \"%s\", want \"%s\"", i, c->stored,
			         info.scheme, c->scheme);
		if (c->detail == NULL && info.detail[0] != '\0')
			fail_msg("case %zu (%s): unexpected detail \"%s\"", i, c->stored,
			         info.detail);
		if (c->detail != NULL && strstr(info.detail, c->detail) == NULL)
			fail_msg("case %zu (%s): detail \"%s\" lacks \"%s\"", i, c->stored,
			         info.detail, c->detail);
		/* an unknown {NAME} never reaches the detail, not even 3 bytes of it */
		if (r == PGD_HASH_UNSUPPORTED && c->stored[0] == '{' &&
		    strstr(info.detail, "dropped it") == NULL) {
			const char *end = strchr(c->stored, '}');

			for (const char *p = c->stored + 1; end != NULL && p + 3 <= end; p++) {
				char piece[4] = {p[0], p[1], p[2], '\0'};

				if (strstr(info.detail, piece) != NULL)
					fail_msg("case %zu (%s): detail \"%s\" quotes \"%s\"", i,
					         c->stored, info.detail, piece);
			}
		}
	}
}

static void test_parse(void **state)
{
	static const struct verify_case cases[] = {
	    {"{SHA512-CRYPT}" SHA512_SECRET, "secret", NULL, PGD_HASH_MATCH, "SHA512-CRYPT", NULL},
	    {"{SHA512-CRYPT}" SHA512_SECRET, "Secret", NULL, PGD_HASH_MISMATCH, "SHA512-CRYPT",
	     NULL},
	    {"{sha512-crypt}" SHA512_SECRET, "secret", NULL, PGD_HASH_MATCH, "SHA512-CRYPT", NULL},
	    {"{Sha512-Crypt}" SHA512_SECRET, "secret", NULL, PGD_HASH_MATCH, "SHA512-CRYPT", NULL},
	    {"{md5-crypt}" MD5CRYPT_SECRET, "secret", NULL, PGD_HASH_MATCH, "MD5-CRYPT", NULL},
	    {"{PLAIN-MD5.b64}" MD5B64_SECRET, "secret", NULL, PGD_HASH_MATCH, "PLAIN-MD5", NULL},
	    {"{plain-md5.BASE64}" MD5B64_SECRET, "secret", NULL, PGD_HASH_MATCH, "PLAIN-MD5", NULL},
	    {"{PLAIN-MD5.HEX}" MD5HEX_SECRET, "secret", NULL, PGD_HASH_MATCH, "PLAIN-MD5", NULL},
	    {"{PLAIN-MD5}" MD5HEX_SECRET, "secret", NULL, PGD_HASH_MATCH, "PLAIN-MD5", NULL},
	    {"{PLAIN-MD5}" MD5B64_SECRET, "secret", NULL, PGD_HASH_MATCH, "PLAIN-MD5", NULL},
	    {"{PLAIN-MD5}5EBE2294ECD0E0F08EAB7690D2A6EE69", "secret", NULL, PGD_HASH_MATCH,
	     "PLAIN-MD5", NULL},
	    {"{PLAIN.hex}736563726574", "secret", NULL, PGD_HASH_MATCH, "PLAIN", NULL},
	    {"{PLAIN.b64}c2VjcmV0", "secret", NULL, PGD_HASH_MATCH, "PLAIN", NULL},
	    {"{PLAIN.b64} c2Vj\r\ncmV0\t", "secret", NULL, PGD_HASH_MATCH, "PLAIN", NULL},
	    {"{PLAIN.b64}YR==", "a", NULL, PGD_HASH_MATCH, "PLAIN", NULL},
	    {"{PLAIN}secret", "secret", NULL, PGD_HASH_MATCH, "PLAIN", NULL},
	    {"{PLAIN}secret", "secret ", NULL, PGD_HASH_MISMATCH, "PLAIN", NULL},
	    {"{PLAIN}", "", NULL, PGD_HASH_MATCH, "PLAIN", NULL},
	    {"{PLAIN}", "x", NULL, PGD_HASH_MISMATCH, "PLAIN", NULL},
	    {"{CLEAR}secret", "secret", NULL, PGD_HASH_MATCH, "CLEAR", NULL},
	    {"{cleartext}secret", "secret", NULL, PGD_HASH_MATCH, "CLEARTEXT", NULL},
	    {"{PLAIN}}{x", "}{x", NULL, PGD_HASH_MATCH, "PLAIN", NULL},
	    /* bare $1$ and other unprefixed values: default scheme, as Dovecot's SQL passdb */
	    {MD5CRYPT_SECRET, "secret", NULL, PGD_HASH_MATCH, "MD5", NULL},
	    {MD5CRYPT_SECRET, "secreT", NULL, PGD_HASH_MISMATCH, "MD5", NULL},
	    {MD5CRYPT_SECRET "$junk", "secret", NULL, PGD_HASH_MISMATCH, "MD5", NULL},
	    {MD5CRYPT_SECRET, "secret", "SHA512-CRYPT", PGD_HASH_MATCH, "SHA512-CRYPT", NULL},
	    {MD5CRYPT_SECRET, "secret", "md5-crypt", PGD_HASH_MATCH, "MD5-CRYPT", NULL},
	    {MD5HEX_SECRET, "secret", NULL, PGD_HASH_MATCH, "MD5", NULL},
	    {MD5B64_SECRET, "secret", NULL, PGD_HASH_MATCH, "MD5", NULL},
	    {MD5HEX_SECRET, "secret", "PLAIN-MD5", PGD_HASH_MATCH, "PLAIN-MD5", NULL},
	    {"secret", "secret", "PLAIN", PGD_HASH_MATCH, "PLAIN", NULL},
	    {"c2VjcmV0", "secret", "PLAIN.b64", PGD_HASH_MATCH, "PLAIN", NULL},
	    {"secret", "secret", NULL, PGD_HASH_MALFORMED, "MD5", "MD5-CRYPT or PLAIN-MD5"},
	    {SHA512_SECRET, "secret", "SHA512-CRYPT", PGD_HASH_MATCH, "SHA512-CRYPT", NULL},
	    {SHA512_SECRET, "secret", "crypt", PGD_HASH_MATCH, "CRYPT", NULL},
	    {SHA512_SECRET, "secret", NULL, PGD_HASH_MALFORMED, "MD5", "PLAIN-MD5"},
	    {"x", "x", "NOPE", PGD_HASH_UNSUPPORTED, "", "unknown scheme (a name of 4 bytes)"},
	    /* no closing brace: the whole value goes to the default scheme */
	    {"{PLAINsecret", "secret", NULL, PGD_HASH_MALFORMED, "MD5", "PLAIN-MD5"},
	    {"{PLAINsecret", "{PLAINsecret", "PLAIN", PGD_HASH_MATCH, "PLAIN", NULL},
	    {"{", "{", "PLAIN", PGD_HASH_MATCH, "PLAIN", NULL},
	    /* unknown schemes and suffixes; the name is never echoed: with PLAIN as the default
	     * a "{...}" may be part of a password */
	    {"{Tr0ub4dor}&3", "x", "PLAIN", PGD_HASH_UNSUPPORTED, "",
	     "unknown scheme (a name of 9 bytes)"},
	    {"{FOO}bar", "bar", NULL, PGD_HASH_UNSUPPORTED, "",
	     "unknown scheme (a name of 3 bytes)"},
	    {"{SSHA}c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0", "x", NULL, PGD_HASH_MISMATCH, "SSHA", NULL},
	    {"{NTLM}8846f7eaee8fb117ad06bdd830b7586c", "x", NULL, PGD_HASH_UNSUPPORTED, "",
	     "unknown scheme NTLM (Dovecot 2.3.14 dropped it)"},
	    {"{PLAIN.xyz}secret", "secret", NULL, PGD_HASH_UNSUPPORTED, "",
	     "unknown scheme (a name of 9 bytes)"},
	    {"{PLAIN.}secret", "secret", NULL, PGD_HASH_UNSUPPORTED, "",
	     "unknown scheme (a name of 6 bytes)"},
	    {"{PLAIN.b64.hex}c2VjcmV0", "secret", NULL, PGD_HASH_UNSUPPORTED, "", "unknown"},
	    {"{.hex}00", "", NULL, PGD_HASH_UNSUPPORTED, "", "unknown scheme (a name of 4 bytes)"},
	    {"{}secret", "secret", NULL, PGD_HASH_UNSUPPORTED, "", "unknown scheme (empty)"},
	    {"{ PLAIN}secret", "secret", NULL, PGD_HASH_UNSUPPORTED, "",
	     "unknown scheme (a name of 6 bytes)"},
	    {"{PLA\xc3\x8dN}secret", "secret", NULL, PGD_HASH_UNSUPPORTED, "",
	     "unknown scheme (a name of 6 bytes)"},
	    {"{\x01\x1b[31mEVIL\x7f}x", "x", NULL, PGD_HASH_UNSUPPORTED, "",
	     "unknown scheme (a name of 11 bytes)"},
	    {"{AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA}x", "x", NULL,
	     PGD_HASH_UNSUPPORTED, "", "unknown scheme (a name of 68 bytes)"},
	    /* the crypt family runs crypt() on whatever value it gets */
	    {"{SHA512-CRYPT}" MD5CRYPT_SECRET, "secret", NULL, PGD_HASH_MATCH, "SHA512-CRYPT",
	     NULL},
	    {"{SHA512-CRYPT}" BCRYPT_SECRET, "secret", NULL, PGD_HASH_MATCH, "SHA512-CRYPT", NULL},
	    {"{SHA256-CRYPT}" DES_SECRET, "secret", NULL, PGD_HASH_MATCH, "SHA256-CRYPT", NULL},
	    {"{DES-CRYPT}" DES_SECRET, "secret", NULL, PGD_HASH_MATCH, "DES-CRYPT", NULL},
	    {"{DES-CRYPT}" DES_SECRET, "secret-longer", NULL, PGD_HASH_MISMATCH, "DES-CRYPT", NULL},
	    {"{DES-CRYPT}" DES_SECRET, "secret", NULL, PGD_HASH_MATCH, "DES-CRYPT", NULL},
	    {"{CRYPT}" SHA512_SECRET, "secret", NULL, PGD_HASH_MATCH, "CRYPT", NULL},
	    {"{CRYPT}" BCRYPT_SECRET, "secret", NULL, PGD_HASH_MATCH, "CRYPT", NULL},
	    {"{BLF-CRYPT}" BCRYPT_SECRET, "secret", NULL, PGD_HASH_MATCH, "BLF-CRYPT", NULL},
	    {"{BLF-CRYPT}" BCRYPT_SECRET, "Secret", NULL, PGD_HASH_MISMATCH, "BLF-CRYPT", NULL},
	    {"{BLF-CRYPT}" SHA512_SECRET, "secret", NULL, PGD_HASH_MALFORMED, "BLF-CRYPT",
	     "not a bcrypt hash"},
	    {"{MD5-CRYPT}" DES_SECRET, "secret", NULL, PGD_HASH_MALFORMED, "MD5-CRYPT",
	     "not an MD5-CRYPT hash"},
	    {"{MD5-CRYPT}" SHA512_SECRET, "secret", NULL, PGD_HASH_MALFORMED, "MD5-CRYPT",
	     "not an MD5-CRYPT hash"},
	    {"{MD5}" MD5CRYPT_SECRET, "secret", NULL, PGD_HASH_MATCH, "MD5", NULL},
	    {"{MD5}" MD5HEX_SECRET, "secret", NULL, PGD_HASH_MATCH, "MD5", NULL},
	    {"{MD5}" SHA512_SECRET, "secret", NULL, PGD_HASH_MALFORMED, "MD5", "PLAIN-MD5"},
	    {"{SHA512-CRYPT.hex}24312469536574"
	     "4a424f42244b6a6253757841726f344b696c4154636638594747 2e",
	     "secret", NULL, PGD_HASH_MALFORMED, "SHA512-CRYPT", "hex"},
	    /* md5crypt salts libxcrypt would refuse (from openssl passwd -1 -salt) */
	    {"{MD5-CRYPT}$1$a b$tLOzUF0jdQOfXD3oaJ67E0", "secret", NULL, PGD_HASH_MATCH,
	     "MD5-CRYPT", NULL},
	    {"$1$s\xc3\xa4l$1nPG5UeAoTr5Y8EhgCV1W.", "secret", NULL, PGD_HASH_MATCH, "MD5", NULL},
	};

	(void)state;
	run_verify_cases(cases, sizeof(cases) / sizeof(cases[0]));
}

static void test_malformed(void **state)
{
	static const struct verify_case cases[] = {
	    {"", "secret", NULL, PGD_HASH_MALFORMED, "", "empty stored value"},
	    {"", "", "PLAIN", PGD_HASH_MALFORMED, "", "empty stored value"},
	    /* a truncated crypt value still hashes; it just cannot match */
	    {"{SHA512-CRYPT}$6$TYTuKSovyugSQICY$Bmfv", "secret", NULL, PGD_HASH_MISMATCH,
	     "SHA512-CRYPT", NULL},
	    {"{SHA512-CRYPT}$6$", "secret", NULL, PGD_HASH_MISMATCH, "SHA512-CRYPT", NULL},
	    {"{SHA512-CRYPT}" SHA512_SECRET "x", "secret", NULL, PGD_HASH_MISMATCH, "SHA512-CRYPT",
	     NULL},
	    {"{SHA512-CRYPT}*0", "secret", NULL, PGD_HASH_MALFORMED, "SHA512-CRYPT", "crypt()"},
	    {"{CRYPT}*0", "*0", NULL, PGD_HASH_MALFORMED, "CRYPT", "crypt()"},
	    {"{CRYPT}!", "secret", NULL, PGD_HASH_MALFORMED, "CRYPT", "crypt()"},
	    {"{CRYPT}x", "secret", NULL, PGD_HASH_MALFORMED, "CRYPT", "crypt()"},
	    {"{SHA512-CRYPT}$6$rounds=999$abc$x", "secret", NULL, PGD_HASH_MALFORMED,
	     "SHA512-CRYPT", "crypt()"},
	    {"{SHA512-CRYPT}$6$rounds=01000$abc$x", "secret", NULL, PGD_HASH_MALFORMED,
	     "SHA512-CRYPT", "crypt()"},
	    {"{SHA512-CRYPT}", "", NULL, PGD_HASH_MALFORMED, "SHA512-CRYPT", "empty hash"},
	    {"{CRYPT}", "", NULL, PGD_HASH_MALFORMED, "CRYPT", "empty hash"},
	    {"{BLF-CRYPT}", "", NULL, PGD_HASH_MALFORMED, "BLF-CRYPT", "empty hash"},
	    {"{MD5-CRYPT}", "", NULL, PGD_HASH_MALFORMED, "MD5-CRYPT", "empty hash"},
	    {"{BLF-CRYPT}$2y$05$abc", "secret", NULL, PGD_HASH_MALFORMED, "BLF-CRYPT",
	     "not a bcrypt hash"},
	    {"{BLF-CRYPT}$2y$05$abcdefghijklmnopqrstuu", "secret", NULL, PGD_HASH_MALFORMED,
	     "BLF-CRYPT", "not a bcrypt hash"},
	    {"{BLF-CRYPT}$2y$05$abcdefghijklmnopqrstuuO", "secret", NULL, PGD_HASH_MISMATCH,
	     "BLF-CRYPT", NULL},
	    {"{BLF-CRYPT}$2c$05$abcdefghijklmnopqrstuuOQiyCxlgf/oeuTqixKmWdcYUh4Hjl0a", "secret",
	     NULL, PGD_HASH_MALFORMED, "BLF-CRYPT", "crypt()"},
	    {"{BLF-CRYPT}$2y$03$abcdefghijklmnopqrstuuOQiyCxlgf/oeuTqixKmWdcYUh4Hjl0a", "secret",
	     NULL, PGD_HASH_MALFORMED, "BLF-CRYPT", "crypt()"},
	    {"{BLF-CRYPT}" BCRYPT_SECRET "x", "secret", NULL, PGD_HASH_MISMATCH, "BLF-CRYPT", NULL},
	    {"{PLAIN.hex}abc", "secret", NULL, PGD_HASH_MALFORMED, "PLAIN", "hex"},
	    {"{PLAIN.hex}zz", "secret", NULL, PGD_HASH_MALFORMED, "PLAIN", "hex"},
	    {"{PLAIN.hex}736563726574 ", "secret", NULL, PGD_HASH_MALFORMED, "PLAIN", "hex"},
	    {"{PLAIN.b64}c2VjcmV", "secret", NULL, PGD_HASH_MALFORMED, "PLAIN", "base64"},
	    {"{PLAIN.b64}YQ", "a", NULL, PGD_HASH_MALFORMED, "PLAIN", "base64"},
	    {"{PLAIN.b64}YQ=", "a", NULL, PGD_HASH_MALFORMED, "PLAIN", "base64"},
	    {"{PLAIN.b64}YQ==x", "a", NULL, PGD_HASH_MALFORMED, "PLAIN", "base64"},
	    {"{PLAIN.b64}YQ==YQ==", "aa", NULL, PGD_HASH_MALFORMED, "PLAIN", "base64"},
	    {"{PLAIN.b64}Y===", "a", NULL, PGD_HASH_MALFORMED, "PLAIN", "base64"},
	    {"{PLAIN.b64}YW=E", "aa", NULL, PGD_HASH_MALFORMED, "PLAIN", "base64"},
	    {"{PLAIN.b64}c2VjcmV0-_", "secret", NULL, PGD_HASH_MALFORMED, "PLAIN", "base64"},
	    {"{PLAIN.b64}\vYQ==", "a", NULL, PGD_HASH_MALFORMED, "PLAIN", "base64"},
	    {"{PLAIN-MD5}5ebe2294ecd0e0f08eab7690d2a6ee", "secret", NULL, PGD_HASH_MALFORMED,
	     "PLAIN-MD5", "base64"},
	    {"{PLAIN-MD5}5ebe2294ecd0e0f08eab7690d2a6", "secret", NULL, PGD_HASH_MALFORMED,
	     "PLAIN-MD5", "decoded length 21 instead of 16"},
	    {"{PLAIN-MD5}" MD5HEX_SECRET "00", "secret", NULL, PGD_HASH_MALFORMED, "PLAIN-MD5",
	     "base64"},
	    {"{PLAIN-MD5}Xr4ilOzQ4PCOq3aQ0qbuaQ", "secret", NULL, PGD_HASH_MALFORMED, "PLAIN-MD5",
	     "base64"},
	    {"{PLAIN-MD5}abcdefghijklmnopqrstuvwxyzABCDEF", "secret", NULL, PGD_HASH_MALFORMED,
	     "PLAIN-MD5", "decoded length 24 instead of 16"},
	    {"{PLAIN-MD5.hex}" MD5B64_SECRET, "secret", NULL, PGD_HASH_MALFORMED, "PLAIN-MD5",
	     "hex"},
	    {"{PLAIN-MD5.b64}" MD5HEX_SECRET, "secret", NULL, PGD_HASH_MALFORMED, "PLAIN-MD5",
	     "decoded length"},
	    {"{PLAIN-MD5}", "", NULL, PGD_HASH_MALFORMED, "PLAIN-MD5", "decoded length 0"},
	    {"{MD5}secret", "secret", NULL, PGD_HASH_MALFORMED, "MD5", "MD5-CRYPT or PLAIN-MD5"},
	    {"{MD5}", "", NULL, PGD_HASH_MALFORMED, "MD5", "MD5-CRYPT or PLAIN-MD5"},
	    /* Dovecot makes the decoded bytes a C string for crypt: a NUL ends the hash */
	    {"{PLAIN.hex}73656372657400", "secret", NULL, PGD_HASH_MISMATCH, "PLAIN", NULL},
	};
	struct pgd_hash_info info;

	(void)state;
	run_verify_cases(cases, sizeof(cases) / sizeof(cases[0]));

	assert_int_equal(pgd_hash_verify(NULL, "x", NULL, &info), PGD_HASH_MALFORMED);
	assert_int_equal(pgd_hash_verify("{PLAIN}x", NULL, NULL, &info), PGD_HASH_MISMATCH);
	assert_int_equal(pgd_hash_verify("{PLAIN}x", "x", NULL, NULL), PGD_HASH_MATCH);
	assert_int_equal(pgd_hash_verify("{FOO}x", "x", NULL, NULL), PGD_HASH_UNSUPPORTED);
	assert_int_equal(pgd_hash_verify("x", "x", NULL, NULL), PGD_HASH_MALFORMED);
}

/*
 * pgd_hash_inspect: the verdict a login's checks give before any hashing, caps included (named
 * by their conf key), and no hashing at all: every value here costs seconds to hash.
 */
static void test_inspect(void **state)
{
	static const struct {
		const char *stored;
		enum pgd_hash_result want;
		const char *cap_key;
	} cases[] = {
	    {"{SHA512-CRYPT}$6$rounds=999999$saltsalt$"
	     "qK9Ovy8ZpPxyZ5cKmNkLz1lmy7nkXbUJfUmmSs5bsi3fvpnDUMz6v9Y4tSVyHJqYrA4gyR1xhZtC8dTU7Yqhq"
	     "/",
	     PGD_HASH_MATCH, NULL},
	    {"{SHA512-CRYPT}$6$rounds=1000001$saltsalt$x", PGD_HASH_TOO_COSTLY, "max_crypt_rounds"},
	    {"{BLF-CRYPT}$2y$14$abcdefghijklmnopqrstuuNotARealHashButWellFormed0123456",
	     PGD_HASH_MATCH, NULL},
	    {"{BLF-CRYPT}$2y$20$abcdefghijklmnopqrstuuNotARealHashButWellFormed0123456",
	     PGD_HASH_TOO_COSTLY, "max_bcrypt_cost"},
	    {"{PBKDF2}$1$saltsalt$999999$42309fa0b400b37ed65e26184ef13eaa980b96e1", PGD_HASH_MATCH,
	     NULL},
	    {"{PBKDF2}$1$saltsalt$2000000$42309fa0b400b37ed65e26184ef13eaa980b96e1",
	     PGD_HASH_TOO_COSTLY, "max_iterations"},
	    {"{PBKDF2}$1$saltsalt$5000$nothex", PGD_HASH_MALFORMED, NULL},
	    {"{SCRAM-SHA-256}2000000,JyCQ2NjCT+5Tn5EMl9nx9A==,"
	     "CfIfiJzModECqBDRCNytrnlUVZoz0295DRrg6NL8IbQ=,"
	     "nOdifXVCEVLulNPn6GOBEkqkKEPJytIc/COgPag0yLI=",
	     PGD_HASH_TOO_COSTLY, "max_iterations"},
	    {"{SCRAM-SHA-256}999999,JyCQ2NjCT+5Tn5EMl9nx9A==,"
	     "CfIfiJzModECqBDRCNytrnlUVZoz0295DRrg6NL8IbQ=,"
	     "nOdifXVCEVLulNPn6GOBEkqkKEPJytIc/COgPag0yLI=",
	     PGD_HASH_MATCH, NULL},
	    {"{OTP}sha1 2000000 d8a3b062d80de55c c4722bb7b64f45e5", PGD_HASH_TOO_COSTLY,
	     "max_iterations"},
	    {"{MD5-CRYPT}$1$saltsalt$notthehashatall", PGD_HASH_MATCH, NULL},
	    {"{SSHA512}c2hvcnQ=", PGD_HASH_MALFORMED, NULL},
#ifdef PGD_HAVE_SODIUM
	    {"{ARGON2ID}$argon2id$v=19$m=262144,t=16,p=1$qUXzI2xucZDnr+7ogzKriQ$"
	     "YRLn7kmE2hj8KbZjPXDpofESDvC6VoD3A1m7WKJMXRQ",
	     PGD_HASH_MATCH, NULL},
	    {"{ARGON2ID}$argon2id$v=19$m=1048576,t=3,p=1$qUXzI2xucZDnr+7ogzKriQ$"
	     "YRLn7kmE2hj8KbZjPXDpofESDvC6VoD3A1m7WKJMXRQ",
	     PGD_HASH_TOO_COSTLY, "max_memory_kib"},
	    {"{ARGON2I}$argon2i$v=19$m=65536,t=17,p=1$qUXzI2xucZDnr+7ogzKriQ$"
	     "YRLn7kmE2hj8KbZjPXDpofESDvC6VoD3A1m7WKJMXRQ",
	     PGD_HASH_TOO_COSTLY, "max_argon2_ops"},
#endif
	};
	struct timespec t0, t1;

	(void)state;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct pgd_hash_info info;
		enum pgd_hash_result r = pgd_hash_inspect(cases[i].stored, NULL, &info);

		if (r != cases[i].want)
			fail_msg("%s: %s, want %s (%s)", cases[i].stored, pgd_hash_result_str(r),
			         pgd_hash_result_str(cases[i].want), info.detail);
		if (cases[i].cap_key != NULL &&
		    (strcmp(info.cap_key, cases[i].cap_key) != 0 || info.cap == 0))
			fail_msg("%s: cap %s %lu, want %s", cases[i].stored, info.cap_key, info.cap,
			         cases[i].cap_key);
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	/* hashed, these would take well over ten seconds */
	assert_true((double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9 <
	            1.0);
}

/* Never echo the stored value or the password, whatever goes wrong. */
static void test_detail_keeps_secrets(void **state)
{
	static const char *const stored[] = {
	    "{SHA512-CRYPT}$6$rounds=5000000$hunter2salt$hunter2hash",
	    "{BLF-CRYPT}$2y$20$hunter2hunter2hunter2hunter2hunter2",
	    "{BLF-CRYPT}hunter2",
	    "{MD5-CRYPT}hunter2",
	    "{CRYPT}hunter2*",
	    "{PLAIN.hex}hunter2",
	    "{PLAIN.b64}hunter2",
	    "{PLAIN-MD5}hunter2",
	    "{MD5}hunter2",
	    "hunter2",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(stored) / sizeof(stored[0]); i++) {
		struct pgd_hash_info info;
		enum pgd_hash_result r = pgd_hash_verify(stored[i], "hunter2", NULL, &info);

		assert_true(r != PGD_HASH_MATCH);
		if (info.detail[0] == '\0' || strstr(info.detail, "hunter2") != NULL)
			fail_msg("case %zu: detail \"%s\"", i, info.detail);
	}
}

struct cap_case {
	const char *stored;
	unsigned long max_rounds, max_cost;
	enum pgd_hash_result result;
	const char *detail;
};

static void test_caps(void **state)
{
	static const struct cap_case cases[] = {
	    {"{SHA512-CRYPT}$6$rounds=999999999$abc$def", 0, 0, PGD_HASH_TOO_COSTLY,
	     "rounds 999999999 above cap 1000000"},
	    {"{SHA256-CRYPT}$5$rounds=1000001$abc$def", 0, 0, PGD_HASH_TOO_COSTLY,
	     "rounds 1000001 above cap 1000000"},
	    {"{CRYPT}$6$rounds=99999999999999999999999999$abc$def", 0, 0, PGD_HASH_TOO_COSTLY,
	     "above cap 1000000"},
	    {"{DES-CRYPT}$5$rounds=2000000$abc$def", 0, 0, PGD_HASH_TOO_COSTLY, "rounds 2000000"},
	    {"{SHA512-CRYPT}" SHA512_1000_SECRET, 999, 0, PGD_HASH_TOO_COSTLY,
	     "rounds 1000 above cap 999"},
	    {"{SHA512-CRYPT}" SHA512_1000_SECRET, 1000, 0, PGD_HASH_MATCH, NULL},
	    {"{BLF-CRYPT}$2y$31$abcdefghijklmnopqrstuuOQiyCxlgf/oeuTqixKmWdcYUh4Hjl0a", 0, 0,
	     PGD_HASH_TOO_COSTLY, "bcrypt cost 31 above cap 14"},
	    {"{BLF-CRYPT}$2b$15$abcdefghijklmnopqrstuuOQiyCxlgf/oeuTqixKmWdcYUh4Hjl0a", 0, 0,
	     PGD_HASH_TOO_COSTLY, "bcrypt cost 15 above cap 14"},
	    {"{SHA512-CRYPT}$2a$20$abcdefghijklmnopqrstuuOQiyCxlgf/oeuTqixKmWdcYUh4Hjl0a", 0, 0,
	     PGD_HASH_TOO_COSTLY, "bcrypt cost 20"},
	    {"{CRYPT}$2y$99$abcdefghijklmnopqrstuuOQiyCxlgf/oeuTqixKmWdcYUh4Hjl0a", 0, 0,
	     PGD_HASH_TOO_COSTLY, "bcrypt cost 99"},
	    {"{BLF-CRYPT}" BCRYPT_SECRET, 0, 4, PGD_HASH_TOO_COSTLY, "bcrypt cost 5 above cap 4"},
	    {"{BLF-CRYPT}" BCRYPT_SECRET, 0, 5, PGD_HASH_MATCH, NULL},
	    /* a cost that cannot be read exactly never reaches crypt() */
	    {"{SHA512-CRYPT}$6$rounds=x$abc$def", 0, 0, PGD_HASH_MALFORMED, "crypt()"},
	    /* libxcrypt would run these; only the form it writes back is read */
	    {"{CRYPT}$sha1$+100000001$abcdefgh$x", 0, 0, PGD_HASH_MALFORMED,
	     "sha1crypt parameters not in the one form libxcrypt writes"},
	    {"{CRYPT}$sha1$-1$abcdefgh$x", 0, 0, PGD_HASH_MALFORMED, "sha1crypt parameters"},
	    {"{CRYPT}$sha1$18446744073709551616$abcdefgh$x", 0, 0, PGD_HASH_TOO_COSTLY,
	     "sha1crypt rounds 18446744073709551615+ above cap 1000000"},
	    {"{CRYPT}$y$j9T/szz$abcdefgh$x", 0, 0, PGD_HASH_TOO_COSTLY,
	     "yescrypt passes 4655 above cap 16"},
	};
	double start = pgd_test_now();

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct cap_case *c = &cases[i];
		struct pgd_hash_policy policy = {.max_crypt_rounds = c->max_rounds,
		                                 .max_bcrypt_cost = c->max_cost};

		pgd_expect_verify(i, c->stored, &policy, c->result, c->detail);
	}
	/* Refusals come before any hashing: all of this is a few cheap hashes at most. */
	if (pgd_test_now() - start > 2.0)
		fail_msg("cap checks took %.2f s", pgd_test_now() - start);
}

/* Every row of the doveadm-made vector file, with Dovecot's default scheme MD5. */
static void test_vectors(void **state)
{
	struct pgd_vectors v;
	unsigned rows = 0, bad = 0, stricter = 0;

	(void)state;
	pgd_vectors_open(&v, "crypt-schemes.tsv");
	while (pgd_vectors_next(&v, 3)) {
		const char *verdict = v.field[0], *stored = v.field[2];
		struct pgd_hash_info info;
		enum pgd_hash_result r = pgd_hash_verify(stored, v.password, NULL, &info);

		rows++;
		if (!pgd_vectors_agree(&v, verdict, r, &stricter)) {
			bad++;
			print_message("# %s:%u: doveadm says %s, we say %s (%s) for %s\n", v.path,
			              v.lineno, verdict, pgd_hash_result_str(r), info.detail,
			              stored);
		}
	}
	print_message("# %u vectors, %u where doveadm says mismatch and we say malformed\n", rows,
	              stricter);
	assert_true(rows > 500);
	assert_int_equal(bad, 0);
}

static void test_generate_round_trip(void **state)
{
	static const struct pgd_gen_case cases[] = {
	    {"SHA512-CRYPT", 0, "{SHA512-CRYPT}$6$"},
	    {"SHA512-CRYPT", 5000, "{SHA512-CRYPT}$6$"},
	    {"SHA512-CRYPT", 1000, "{SHA512-CRYPT}$6$rounds=1000$"},
	    {"sha512-crypt", 6000, "{SHA512-CRYPT}$6$rounds=6000$"},
	    {"SHA256-CRYPT", 0, "{SHA256-CRYPT}$5$"},
	    {"SHA256-CRYPT", 2000, "{SHA256-CRYPT}$5$rounds=2000$"},
	    {"BLF-CRYPT", 0, "{BLF-CRYPT}$2y$05$"},
	    {"BLF-CRYPT", 4, "{BLF-CRYPT}$2y$04$"},
	    {"CRYPT", 0, "{CRYPT}$2y$05$"},
	    {"MD5-CRYPT", 0, "{MD5-CRYPT}$1$"},
	    {"MD5", 0, "{MD5}$1$"},
	    {"DES-CRYPT", 0, "{DES-CRYPT}"},
	    {"PLAIN", 0, "{PLAIN}"},
	    {"CLEAR", 0, "{CLEAR}"},
	    {"CLEARTEXT", 0, "{CLEARTEXT}"},
	    {"PLAIN-MD5", 0, "{PLAIN-MD5}"},
	    {"PLAIN-MD5.b64", 0, "{PLAIN-MD5.B64}"},
	    {"PLAIN-MD5.hex", 0, "{PLAIN-MD5.HEX}"},
	    {"PLAIN.hex", 0, "{PLAIN.HEX}"},
	    {"PLAIN.base64", 0, "{PLAIN.BASE64}"},
	    {"SHA512-CRYPT.hex", 0, "{SHA512-CRYPT.HEX}243624"},
	    {"MD5-CRYPT.b64", 0, "{MD5-CRYPT.B64}JDEk"},
	};
	static const char *const passwords[] = {
	    "secret", "", "p\xc3\xa4sswort \xe6\x97\xa5", "tab\there", "\xff\xfe", "$1${}:'\"",
	};
	struct pgd_doveadm doveadm = {0};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		for (size_t j = 0; j < sizeof(passwords) / sizeof(passwords[0]); j++)
			pgd_expect_generated(&cases[i], passwords[j], NULL, true, &doveadm);
	if (!doveadm.seen)
		print_message("# doveadm not found: generated hashes not checked by Dovecot\n");
}

static void test_generate_salts_differ(void **state)
{
	static const char *const schemes[] = {"SHA512-CRYPT", "BLF-CRYPT", "MD5-CRYPT",
	                                      "DES-CRYPT"};

	(void)state;
	for (size_t i = 0; i < sizeof(schemes) / sizeof(schemes[0]); i++) {
		char *a = NULL, *b = NULL;

		assert_int_equal(pgd_hash_generate(schemes[i], "secret", 0, &a), PGD_HASH_MATCH);
		assert_int_equal(pgd_hash_generate(schemes[i], "secret", 0, &b), PGD_HASH_MATCH);
		/* DES has 4096 salts: a clash is possible but rare enough to ignore */
		assert_string_not_equal(a, b);
		pgd_free_secret(a);
		pgd_free_secret(b);
	}
}

struct gen_fail_case {
	const char *scheme;
	const char *password;
	unsigned long rounds;
	enum pgd_hash_result result;
};

static void test_generate_refusals(void **state)
{
	static const struct gen_fail_case cases[] = {
	    {"FOO", "x", 0, PGD_HASH_UNSUPPORTED},
	    {"NTLM", "x", 0, PGD_HASH_UNSUPPORTED},
	    {"SKEY", "x", 0, PGD_HASH_UNSUPPORTED},
	    {"PLAIN.xyz", "x", 0, PGD_HASH_UNSUPPORTED},
	    {"", "x", 0, PGD_HASH_UNSUPPORTED},
	    {"SHA512-CRYPT", "x", 999, PGD_HASH_MALFORMED},
	    {"SHA512-CRYPT", "x", 1000000000, PGD_HASH_MALFORMED},
	    {"SHA256-CRYPT", "x", 1, PGD_HASH_MALFORMED},
	    {"BLF-CRYPT", "x", 3, PGD_HASH_MALFORMED},
	    {"BLF-CRYPT", "x", 32, PGD_HASH_MALFORMED},
	    {"CRYPT", "x", 32, PGD_HASH_MALFORMED},
	    {"DES-CRYPT", "x", 1, PGD_HASH_MALFORMED},
	    {"MD5-CRYPT", "x", 1000, PGD_HASH_MALFORMED},
	    {"PLAIN", "x", 5, PGD_HASH_MALFORMED},
	    {"PLAIN-MD5", "x", 5, PGD_HASH_MALFORMED},
	    {NULL, "x", 0, PGD_HASH_MALFORMED},
	    {"PLAIN", NULL, 0, PGD_HASH_MALFORMED},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct gen_fail_case *c = &cases[i];
		static char untouched[] = "untouched";
		char *out = untouched;
		enum pgd_hash_result r = pgd_hash_generate(c->scheme, c->password, c->rounds, &out);

		if (r != c->result)
			fail_msg("case %zu: got %s, want %s", i, pgd_hash_result_str(r),
			         pgd_hash_result_str(c->result));
		assert_null(out);
	}
	assert_int_equal(pgd_hash_generate("PLAIN", "x", 0, NULL), PGD_HASH_MALFORMED);
}

static void test_known_hex_and_b64_output(void **state)
{
	char *out = NULL;

	(void)state;
	assert_int_equal(pgd_hash_generate("PLAIN-MD5", "secret", 0, &out), PGD_HASH_MATCH);
	assert_string_equal(out, "{PLAIN-MD5}" MD5HEX_SECRET);
	pgd_free_secret(out);
	assert_int_equal(pgd_hash_generate("PLAIN-MD5.b64", "secret", 0, &out), PGD_HASH_MATCH);
	assert_string_equal(out, "{PLAIN-MD5.B64}" MD5B64_SECRET);
	pgd_free_secret(out);
	assert_int_equal(pgd_hash_generate("plain.b64", "a", 0, &out), PGD_HASH_MATCH);
	assert_string_equal(out, "{PLAIN.B64}YQ==");
	pgd_free_secret(out);
	assert_int_equal(pgd_hash_generate("PLAIN.b64", "aa", 0, &out), PGD_HASH_MATCH);
	assert_string_equal(out, "{PLAIN.B64}YWE=");
	pgd_free_secret(out);
	assert_int_equal(pgd_hash_generate("PLAIN.hex", "", 0, &out), PGD_HASH_MATCH);
	assert_string_equal(out, "{PLAIN.HEX}");
	pgd_free_secret(out);
}

struct known_case {
	const char *name;
	bool known;
};

static void test_scheme_known(void **state)
{
	static const struct known_case cases[] = {
	    {"SHA512-CRYPT", true},  {"sha512-crypt", true},
	    {"SHA256-CRYPT", true},  {"BLF-CRYPT", true},
	    {"CRYPT", true},         {"DES-CRYPT", true},
	    {"MD5-CRYPT", true},     {"MD5", true},
	    {"PLAIN-MD5", true},     {"PLAIN", true},
	    {"CLEAR", true},         {"CLEARTEXT", true},
	    {"PLAIN-MD5.b64", true}, {"PLAIN.HEX", true},
	    {"plain.Base64", true},  {"PLAIN.xyz", false},
	    {"PLAIN.", false},       {"PLAIN.b64.hex", false},
	    {".hex", false},         {"", false},
	    {"SSHA", true},          {"NTLM", false},
	    {"SHA512", true},        {"{PLAIN}", false},
	    {"PLAIN ", false},       {"MD5-CRYPTX", false},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		if (pgd_hash_scheme_known(cases[i].name) != cases[i].known)
			fail_msg("scheme_known(\"%s\") should be %d", cases[i].name,
			         cases[i].known);
	}
	assert_false(pgd_hash_scheme_known(NULL));
}

static void test_result_str(void **state)
{
	static const enum pgd_hash_result all[] = {
	    PGD_HASH_MATCH,       PGD_HASH_MISMATCH,   PGD_HASH_MALFORMED,
	    PGD_HASH_UNSUPPORTED, PGD_HASH_TOO_COSTLY, PGD_HASH_NOMEM,
	};

	(void)state;
	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
		assert_non_null(pgd_hash_result_str(all[i]));
		for (size_t j = 0; j < i; j++)
			assert_string_not_equal(pgd_hash_result_str(all[i]),
			                        pgd_hash_result_str(all[j]));
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_parse),
	    cmocka_unit_test(test_malformed),
	    cmocka_unit_test(test_inspect),
	    cmocka_unit_test(test_detail_keeps_secrets),
	    cmocka_unit_test(test_caps),
	    cmocka_unit_test(test_vectors),
	    cmocka_unit_test(test_generate_round_trip),
	    cmocka_unit_test(test_generate_salts_differ),
	    cmocka_unit_test(test_generate_refusals),
	    cmocka_unit_test(test_known_hex_and_b64_output),
	    cmocka_unit_test(test_scheme_known),
	    cmocka_unit_test(test_result_str),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
