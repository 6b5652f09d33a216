// SPDX-License-Identifier: MIT
/*
 * libFuzzer target: the stored-value parser and verifier (pgd_hash_verify), and, for values
 * that name a scheme, a generate-then-verify round trip.
 *
 * Also pgd_hash_inspect (the audit's reading, no hashing) against the verdict: a cost cap
 * refuses the same values in both. And rehash's rule (pgd_hash_rehash_verdict) on every value,
 * the password naming update_scheme when it is one; in the round trip, a value just made is
 * never rewritten by the conf that made it.
 *
 * Input: one selector byte, then the stored value, a NUL, the password. The selector picks the
 * default scheme; its high bit asks for the round trip. The cost caps are the lowest the conf
 * accepts (rounds 1000, bcrypt 4) so that an execution stays in the milliseconds.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hash.h"
#include "hash/stored_cost.h"
#include "util/secret.h"

static const char *const default_schemes[] = {
    NULL,        "MD5",       "SHA512-CRYPT",  "SHA256-CRYPT",     "BLF-CRYPT",
    "CRYPT",     "DES-CRYPT", "MD5-CRYPT",     "PLAIN-MD5",        "PLAIN",
    "CLEARTEXT", "plain.b64", "PLAIN-MD5.hex", "sha512-crypt.hex",
};
#define NSCHEMES (sizeof(default_schemes) / sizeof(default_schemes[0]))

/* What reaches a log line must be a C string of printable ASCII. */
static void check_printable(const char *s, size_t cap)
{
	const char *end = memchr(s, '\0', cap);

	if (end == NULL)
		abort();
	for (; s < end; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s >= 0x7f)
			abort();
}

static void round_trip(const char *scheme, const char *password)
{
	static const unsigned long rounds[] = {1, 4, 1000, 0};
	struct pgd_hash_policy policy = {.max_crypt_rounds = 1000, .max_bcrypt_cost = 4};
	struct pgd_rehash_target target = {.scheme = scheme};
	enum pgd_hash_result r = PGD_HASH_MALFORMED;
	char *made = NULL;

	if (strlen(scheme) > 40)
		return;
	/* The lowest cost the scheme takes (1 for SCRAM and argon2id, 4 for bcrypt and argon2i,
	 * 1000 for SHA-crypt, 0 for the rest), so that the value made stays under the caps. A
	 * higher Argon2 opslimit also picks a larger memory step (4 is libsodium's 1 GiB
	 * "sensitive"). */
	for (size_t i = 0; i < 4 && r == PGD_HASH_MALFORMED; i++) {
		target.rounds = rounds[i];
		r = pgd_hash_generate(scheme, password, rounds[i], &made);
	}
	if (r != PGD_HASH_MATCH) {
		if (made != NULL)
			abort();
		return;
	}
	if (made == NULL)
		abort();
	/* rehash never rewrites what the same conf just made */
	if (pgd_hash_rehash_verdict(made, &policy, &target) != PGD_REHASH_KEEP_COST)
		abort();
	/* Under 2.3's rules, or for a scheme only 2.4 has (ARGON2) under 2.4's. */
	r = pgd_hash_verify(made, password, &policy, NULL);
	if (r == PGD_HASH_UNSUPPORTED) {
		policy.dovecot = 24;
		policy.allow_weak = true;
		r = pgd_hash_verify(made, password, &policy, NULL);
	}
	if (r != PGD_HASH_MATCH)
		abort();
	pgd_free_secret(made);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pgd_hash_policy policy = {
	    .max_crypt_rounds = 1000,
	    .max_bcrypt_cost = 4,
	    .login_user = "fuzz@example.org",
	};
	struct pgd_rehash_target target = {.rounds = 5000};
	struct pgd_hash_info info;
	enum pgd_hash_result r;
	char *buf, *password;
	size_t len;

	if (size < 1 || size > 4096)
		return 0;
	policy.default_scheme = default_schemes[(data[0] & 0x7f) % NSCHEMES];
	len = size - 1;
	buf = malloc(len + 2);
	if (buf == NULL)
		return 0;
	memcpy(buf, data + 1, len);
	buf[len] = '\0';
	buf[len + 1] = '\0';
	password = buf + strlen(buf) + 1; /* after the first NUL, or "" */

	memset(&info, 'Z', sizeof(info));
	r = pgd_hash_verify(buf, password, &policy, &info);
	if (r > PGD_HASH_NOMEM)
		abort();
	check_printable(info.scheme, sizeof(info.scheme));
	check_printable(info.detail, sizeof(info.detail));
	if (r == PGD_HASH_MATCH && info.detail[0] != '\0')
		abort();
	(void)pgd_hash_verify(buf, password, NULL, NULL);
	/* The audit's reading: a cost cap refuses the same values as at a login (the release's
	 * scheme rules, which refuse before any cost is read, are applied by both). */
	if (r != PGD_HASH_UNSUPPORTED) {
		struct pgd_hash_info seen;
		enum pgd_hash_result ri = pgd_hash_inspect(buf, &policy, &seen);

		if ((ri == PGD_HASH_TOO_COSTLY) != (r == PGD_HASH_TOO_COSTLY))
			abort();
		if (ri == PGD_HASH_TOO_COSTLY && seen.cap_key == NULL)
			abort();
		check_printable(seen.scheme, sizeof(seen.scheme));
		check_printable(seen.detail, sizeof(seen.detail));
	}
	target.scheme = pgd_hash_scheme_known(password) ? password : "SHA512-CRYPT";
	target.any_scheme = (data[0] & 1) != 0;
	if (pgd_hash_rehash_verdict(buf, &policy, &target) > PGD_REHASH_KEEP_NOSCHEME)
		abort();
	if ((data[0] & 0x80) != 0 && pgd_hash_scheme_known(buf))
		round_trip(buf, password);
	pgd_wipe(buf, len + 2);
	free(buf);
	return 0;
}
