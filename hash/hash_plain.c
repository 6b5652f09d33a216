// SPDX-License-Identifier: MIT
/*
 * The schemes that store the password itself (PLAIN, CLEAR, CLEARTEXT, PLAIN-TRUNC), and
 * Dovecot's generic verification that the schemes without a verifier of their own use: make the
 * value from the password, compare the bytes (PLAIN-MD5 included, which MD5 falls back to).
 */
#include "hash/hash_impl.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "util/secret.h"

enum pgd_hash_result pgd_generate_plain(const struct pgd_scheme *s, const char *password,
                                        const char *user, unsigned long rounds, struct pgd_raw *out,
                                        struct pgd_hash_info *info)
{
	(void)s;
	(void)user;
	(void)rounds;
	(void)info;
	return pgd_raw_set(out, password, strlen(password)) ? PGD_HASH_MATCH : PGD_HASH_NOMEM;
}

/* "<length>-<password>". doveadm pw -s PLAIN-TRUNC prints the bare password, which its own
 * verifier then refuses; we print the form it verifies. Not for an empty password: "0-" would
 * let every password in, and the verifier refuses it. */
enum pgd_hash_result pgd_generate_plain_trunc(const struct pgd_scheme *s, const char *password,
                                              const char *user, unsigned long rounds,
                                              struct pgd_raw *out, struct pgd_hash_info *info)
{
	size_t len = strlen(password);

	(void)s;
	(void)user;
	(void)rounds;
	if (len == 0) {
		pgd_hash_set_detail(info, "PLAIN-TRUNC cannot store an empty password");
		return PGD_HASH_MALFORMED;
	}
	if (!pgd_raw_alloc(out, len + 24))
		return PGD_HASH_NOMEM;
	out->len = (size_t)snprintf((char *)out->heap, out->heap_size, "%zu-%s", len, password);
	return PGD_HASH_MATCH;
}

/*
 * Dovecot's plain_trunc_verify(): "<length>-<password>". A stored password exactly <length>
 * long also accepts any longer password that starts with it. Dovecot reads the length as a
 * size_t that wraps around (doveadm verifies "18446744073709551619-sec" as "3-sec") and lets
 * every password in with a length of 0, comparing no byte; we refuse both as malformed, as we
 * refuse a PBKDF2 of 0 rounds.
 */
enum pgd_hash_result pgd_verify_plain_trunc(const struct pgd_scheme *s, const struct pgd_raw *raw,
                                            const char *password,
                                            const struct pgd_hash_policy *policy,
                                            struct pgd_hash_info *info)
{
	size_t i, trunc_len = 0, pw_len = strlen(password), stored_len;
	const unsigned char *stored;
	bool overflow = false;

	(void)s;
	(void)policy;
	for (i = 0; i < raw->len && raw->data[i] >= '0' && raw->data[i] <= '9'; i++) {
		size_t d = (size_t)(raw->data[i] - '0');

		if (trunc_len > (SIZE_MAX - d) / 10)
			overflow = true;
		trunc_len = trunc_len * 10 + d;
	}
	if (i == 0 || i == raw->len || raw->data[i] != '-') {
		pgd_hash_set_detail(info, "PLAIN-TRUNC value lacks its length- prefix");
		return PGD_HASH_MALFORMED;
	}
	if (overflow || trunc_len == 0) {
		pgd_hash_set_detail(info, "PLAIN-TRUNC length %s", overflow ? "overflows" : "0");
		return PGD_HASH_MALFORMED;
	}
	stored = raw->data + i + 1;
	stored_len = raw->len - i - 1;
	if (stored_len == trunc_len && pw_len >= trunc_len)
		return pgd_ct_memeq(stored, password, trunc_len) ? PGD_HASH_MATCH
		                                                 : PGD_HASH_MISMATCH;
	if (pw_len != stored_len)
		return PGD_HASH_MISMATCH;
	return pgd_ct_memeq(stored, password, pw_len) ? PGD_HASH_MATCH : PGD_HASH_MISMATCH;
}

/* Dovecot's generic verification: make the value from the password, compare the bytes. */
enum pgd_hash_result pgd_verify_generated(const struct pgd_scheme *s, const struct pgd_raw *raw,
                                          const char *password,
                                          const struct pgd_hash_policy *policy,
                                          struct pgd_hash_info *info)
{
	struct pgd_raw mine = {0};
	enum pgd_hash_result res = s->generate(s, password, policy->login_user, 0, &mine, info);

	if (res == PGD_HASH_MATCH)
		res = mine.len == raw->len && pgd_ct_memeq(mine.data, raw->data, raw->len)
		          ? PGD_HASH_MATCH
		          : PGD_HASH_MISMATCH;
	pgd_raw_release(&mine);
	return res;
}

/* PLAIN-MD5 as hash.c's table has it, for the MD5 values that are not MD5-crypt. */
static const struct pgd_scheme plain_md5 = {
    .name = "PLAIN-MD5",
    .default_encoding = PGD_ENC_HEX,
    .raw_len = PGD_MD5_LEN,
    .generate = pgd_generate_digest,
    .digest = PGD_DIGEST_MD5,
};

enum pgd_hash_result pgd_verify_plain_md5_str(const char *value, const char *password,
                                              const struct pgd_hash_policy *policy,
                                              struct pgd_hash_info *info)
{
	enum pgd_hash_result res = PGD_HASH_MALFORMED;
	struct pgd_raw digest;

	if (!pgd_value_decode(plain_md5.default_encoding, false, plain_md5.raw_len, value, &digest,
	                      &res, info))
		return res;
	res = policy->dry_run ? PGD_HASH_MATCH
	                      : pgd_verify_generated(&plain_md5, &digest, password, policy, info);
	pgd_raw_release(&digest);
	return res;
}
