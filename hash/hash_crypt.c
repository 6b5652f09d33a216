// SPDX-License-Identifier: MIT
/*
 * The crypt(3) family as Dovecot 2.3 runs it: DES-CRYPT, SHA256-CRYPT, SHA512-CRYPT and CRYPT run
 * crypt() on the whole value (crypt_verify), except that "$2?$" values go to the BLF-CRYPT
 * verifier; BLF-CRYPT only takes "$2[a-z]$" values of at least 30 characters. MD5-CRYPT and the
 * "$1$" branch of MD5 use Dovecot's own md5crypt, which accepts any salt byte; libxcrypt refuses
 * some, so we carry our own md5crypt too (on libcrypto's MD5).
 *
 * crypt() would run whatever cost a value names, so a value reaches it only after
 * pgd_crypt_cost_check() (hash/crypt_setting.c) has read every cost parameter and found it within
 * caps.
 */
#include "hash/hash_impl.h"
#include "util/secret.h"

#include <crypt.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

/* "$1$" + 8 salt bytes + "$" + 22 characters + NUL */
#define MD5CRYPT_OUT_LEN 35
/* Dovecot hands crypt_blowfish_rn() the first 30 characters: "$2y$NN$", 22 salt, 1 more. */
#define BLF_SETTING_LEN 30
/* crypt_blowfish's key: BF_N + 2 = 18 words of 4 bytes */
#define BCRYPT_KEY_LEN 72

static const char crypt_alphabet[] =
    "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

static bool has_prefix(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

static bool md5_begin(EVP_MD_CTX *ctx)
{
	return EVP_DigestInit_ex(ctx, EVP_md5(), NULL) == 1;
}

static bool md5_add(EVP_MD_CTX *ctx, const void *data, size_t len)
{
	return EVP_DigestUpdate(ctx, data, len) == 1;
}

static bool md5_end(EVP_MD_CTX *ctx, unsigned char out[PGD_MD5_LEN])
{
	return EVP_DigestFinal_ex(ctx, out, NULL) == 1;
}

static void crypt_b64(char **p, unsigned long v, int n)
{
	while (n-- > 0) {
		*(*p)++ = crypt_alphabet[v & 0x3f];
		v >>= 6;
	}
}

/*
 * Poul-Henning Kamp's md5crypt as Dovecot computes it: an optional "$1$", then the salt up to
 * the first '$' or 8 bytes, whatever those bytes are. Writes "$1$salt$hash" into out.
 * Returns false only if libcrypto fails.
 */
static bool md5crypt(const char *pw, const char *setting, char out[MD5CRYPT_OUT_LEN])
{
	const char *salt = has_prefix(setting, "$1$") ? setting + 3 : setting;
	size_t sl = 0, pl = strlen(pw);
	unsigned char sum[PGD_MD5_LEN];
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	bool ok = ctx != NULL;

	while (sl < 8 && salt[sl] != '\0' && salt[sl] != '$')
		sl++;

	/* the "alternate sum": MD5(pw salt pw) */
	ok = ok && md5_begin(ctx) && md5_add(ctx, pw, pl) && md5_add(ctx, salt, sl) &&
	     md5_add(ctx, pw, pl) && md5_end(ctx, sum);
	ok = ok && md5_begin(ctx) && md5_add(ctx, pw, pl) && md5_add(ctx, "$1$", 3) &&
	     md5_add(ctx, salt, sl);
	for (size_t left = pl; ok && left > 0; left -= left > PGD_MD5_LEN ? PGD_MD5_LEN : left)
		ok = md5_add(ctx, sum, left > PGD_MD5_LEN ? PGD_MD5_LEN : left);
	/* one byte per bit of the length: a NUL for a set bit, else the first password byte */
	for (size_t bits = pl; ok && bits > 0; bits >>= 1)
		ok = md5_add(ctx, (bits & 1) != 0 ? "" : pw, 1);
	ok = ok && md5_end(ctx, sum);
	for (int i = 0; ok && i < 1000; i++) {
		ok = md5_begin(ctx);
		ok = ok && ((i & 1) != 0 ? md5_add(ctx, pw, pl) : md5_add(ctx, sum, PGD_MD5_LEN));
		if (ok && i % 3 != 0)
			ok = md5_add(ctx, salt, sl);
		if (ok && i % 7 != 0)
			ok = md5_add(ctx, pw, pl);
		ok = ok && ((i & 1) != 0 ? md5_add(ctx, sum, PGD_MD5_LEN) : md5_add(ctx, pw, pl));
		ok = ok && md5_end(ctx, sum);
	}
	EVP_MD_CTX_free(ctx);
	if (ok) {
		char *p = out;

		memcpy(p, "$1$", 3);
		p += 3;
		memcpy(p, salt, sl);
		p += sl;
		*p++ = '$';
		crypt_b64(&p, (unsigned long)sum[0] << 16 | (unsigned long)sum[6] << 8 | sum[12],
		          4);
		crypt_b64(&p, (unsigned long)sum[1] << 16 | (unsigned long)sum[7] << 8 | sum[13],
		          4);
		crypt_b64(&p, (unsigned long)sum[2] << 16 | (unsigned long)sum[8] << 8 | sum[14],
		          4);
		crypt_b64(&p, (unsigned long)sum[3] << 16 | (unsigned long)sum[9] << 8 | sum[15],
		          4);
		crypt_b64(&p, (unsigned long)sum[4] << 16 | (unsigned long)sum[10] << 8 | sum[5],
		          4);
		crypt_b64(&p, sum[11], 2);
		*p = '\0';
	}
	pgd_wipe(sum, sizeof(sum));
	return ok;
}

static enum pgd_hash_result verify_md5crypt(const char *password, const char *hash,
                                            struct pgd_hash_info *info)
{
	char out[MD5CRYPT_OUT_LEN];
	enum pgd_hash_result res;

	if (!md5crypt(password, hash, out)) {
		pgd_hash_set_detail(info, "MD5 is not available from libcrypto");
		return PGD_HASH_UNSUPPORTED;
	}
	res = pgd_ct_streq(out, hash) ? PGD_HASH_MATCH : PGD_HASH_MISMATCH;
	pgd_wipe(out, sizeof(out));
	return res;
}

/*
 * crypt_rn(password, setting) compared in constant time with expected. libxcrypt refuses a
 * passphrase of CRYPT_MAX_PASSPHRASE_SIZE bytes or more, which the module lets through (up to
 * PGD_MAX_PASSWORD_LEN): such a password cannot match, so a stand-in of the longest accepted
 * length is hashed instead, at the same cost, and the verdict is a mismatch. Otherwise the
 * refusal would be blamed on the stored hash, and answered faster than a wrong password.
 */
static enum pgd_hash_result crypt_compare(const char *password, const char *setting,
                                          const char *expected, struct pgd_hash_info *info)
{
	struct crypt_data *cd = calloc(1, sizeof(*cd));
	bool too_long = strnlen(password, CRYPT_MAX_PASSPHRASE_SIZE) >= CRYPT_MAX_PASSPHRASE_SIZE;
	char stand_in[CRYPT_MAX_PASSPHRASE_SIZE];
	enum pgd_hash_result res;
	const char *out;

	if (cd == NULL)
		return PGD_HASH_NOMEM;
	if (too_long) {
		memset(stand_in, 'x', sizeof(stand_in) - 1);
		stand_in[sizeof(stand_in) - 1] = '\0';
	}
	errno = 0;
	out = crypt_rn(too_long ? stand_in : password, setting, cd, (int)sizeof(*cd));
	if (out == NULL && errno == ENOMEM) {
		res = PGD_HASH_NOMEM;
	} else if (out == NULL || out[0] == '*') {
		pgd_hash_set_detail(info, "crypt() rejects the stored hash");
		res = PGD_HASH_MALFORMED;
	} else if (too_long) {
		res = PGD_HASH_MISMATCH;
	} else {
		res = pgd_ct_streq(out, expected) ? PGD_HASH_MATCH : PGD_HASH_MISMATCH;
	}
	pgd_wipe(cd, sizeof(*cd));
	free(cd);
	return res;
}

/*
 * Dovecot's BLF-CRYPT runs its own crypt_blowfish, which reads at most BCRYPT_KEY_LEN bytes of
 * the password (18 words of 4 bytes): a longer password verifies as its first 72 bytes, where
 * libxcrypt would refuse one of 512 bytes or more outright. The first 72 bytes give libxcrypt's
 * bcrypt the same key, so that is what it gets.
 */
static enum pgd_hash_result verify_blf(const char *password, const char *hash,
                                       const struct pgd_hash_policy *policy,
                                       struct pgd_hash_info *info)
{
	char setting[BLF_SETTING_LEN + 1], key[BCRYPT_KEY_LEN + 1];
	size_t key_len = strnlen(password, BCRYPT_KEY_LEN);
	enum pgd_hash_result res;

	if (hash[0] == '\0') {
		pgd_hash_set_detail(info, "empty hash");
		return PGD_HASH_MALFORMED;
	}
	if (strlen(hash) < BLF_SETTING_LEN || hash[0] != '$' || hash[1] != '2' || hash[2] < 'a' ||
	    hash[2] > 'z' || hash[3] != '$') {
		pgd_hash_set_detail(info, "not a bcrypt hash");
		return PGD_HASH_MALFORMED;
	}
	memcpy(setting, hash, BLF_SETTING_LEN);
	setting[BLF_SETTING_LEN] = '\0';
	res = pgd_crypt_cost_check(setting, policy, info);
	if (res == PGD_HASH_MATCH && !policy->dry_run) {
		memcpy(key, password, key_len);
		key[key_len] = '\0';
		res = crypt_compare(key, setting, hash, info);
		pgd_wipe(key, sizeof(key));
	}
	pgd_wipe(setting, sizeof(setting));
	return res;
}

/* Dovecot's crypt_verify(): crypt() of the whole value, bcrypt by its own verifier. */
static enum pgd_hash_result verify_crypt(const char *password, const char *hash,
                                         const struct pgd_hash_policy *policy,
                                         struct pgd_hash_info *info)
{
	enum pgd_hash_result res;

	if (strlen(hash) > 4 && hash[0] == '$' && hash[1] == '2' && hash[3] == '$')
		return verify_blf(password, hash, policy, info);
	if (hash[0] == '\0') {
		pgd_hash_set_detail(info, "empty hash");
		return PGD_HASH_MALFORMED;
	}
	res = pgd_crypt_cost_check(hash, policy, info);
	if (res != PGD_HASH_MATCH || policy->dry_run)
		return res;
	return crypt_compare(password, hash, hash, info);
}

/* Dovecot turns the decoded bytes into a C string for the crypt family: a NUL ends the hash. */
enum pgd_hash_result pgd_verify_crypt(const struct pgd_scheme *s, const struct pgd_raw *raw,
                                      const char *password, const struct pgd_hash_policy *policy,
                                      struct pgd_hash_info *info)
{
	(void)s;
	return verify_crypt(password, (const char *)raw->data, policy, info);
}

enum pgd_hash_result pgd_verify_blf(const struct pgd_scheme *s, const struct pgd_raw *raw,
                                    const char *password, const struct pgd_hash_policy *policy,
                                    struct pgd_hash_info *info)
{
	(void)s;
	return verify_blf(password, (const char *)raw->data, policy, info);
}

enum pgd_hash_result pgd_verify_md5_crypt(const struct pgd_scheme *s, const struct pgd_raw *raw,
                                          const char *password,
                                          const struct pgd_hash_policy *policy,
                                          struct pgd_hash_info *info)
{
	const char *hash = (const char *)raw->data;

	(void)s;
	if (hash[0] == '\0') {
		pgd_hash_set_detail(info, "empty hash");
		return PGD_HASH_MALFORMED;
	}
	if (!has_prefix(hash, "$1$")) {
		pgd_hash_set_detail(info, "not an MD5-CRYPT hash");
		return PGD_HASH_MALFORMED;
	}
	return policy->dry_run ? PGD_HASH_MATCH : verify_md5crypt(password, hash, info);
}

/* Dovecot's md5_verify(): "$1$" is md5crypt, anything else must decode as PLAIN-MD5. */
enum pgd_hash_result pgd_verify_md5(const struct pgd_scheme *s, const struct pgd_raw *raw,
                                    const char *password, const struct pgd_hash_policy *policy,
                                    struct pgd_hash_info *info)
{
	const char *hash = (const char *)raw->data;
	enum pgd_hash_result res;

	(void)s;
	if (has_prefix(hash, "$1$"))
		return policy->dry_run ? PGD_HASH_MATCH : verify_md5crypt(password, hash, info);
	res = pgd_verify_plain_md5_str(hash, password, policy, info);
	if (res == PGD_HASH_MALFORMED)
		pgd_hash_set_detail(info, "not a valid MD5-CRYPT or PLAIN-MD5 hash");
	return res;
}

enum pgd_hash_result pgd_generate_crypt(const struct pgd_scheme *s, const char *password,
                                        const char *user, unsigned long rounds, struct pgd_raw *out,
                                        struct pgd_hash_info *info)
{
	char salt[CRYPT_GENSALT_OUTPUT_SIZE], key[BCRYPT_KEY_LEN + 1];
	struct crypt_data *cd;
	const char *hashed;
	enum pgd_hash_result res = PGD_HASH_MATCH;

	(void)user;
	errno = 0;
	if (rounds == 0)
		rounds = s->rounds_default;
	if (crypt_gensalt_rn(s->crypt_prefix, rounds, NULL, 0, salt, (int)sizeof(salt)) == NULL) {
		pgd_hash_set_detail(info, "crypt_gensalt() refuses %s", s->name);
		return errno == ENOMEM ? PGD_HASH_NOMEM : PGD_HASH_UNSUPPORTED;
	}
	cd = calloc(1, sizeof(*cd));
	if (cd == NULL)
		return PGD_HASH_NOMEM;
	/* bcrypt reads 72 bytes: a longer password makes Dovecot's hash of its first 72 */
	if (salt[0] == '$' && salt[1] == '2') {
		size_t key_len = strnlen(password, BCRYPT_KEY_LEN);

		memcpy(key, password, key_len);
		key[key_len] = '\0';
		password = key;
	}
	hashed = crypt_rn(password, salt, cd, (int)sizeof(*cd));
	if (hashed == NULL || hashed[0] == '*') {
		pgd_hash_set_detail(info, "crypt() refuses %s", s->name);
		res = PGD_HASH_UNSUPPORTED;
	} else if (!pgd_raw_set(out, hashed, strlen(hashed))) {
		res = PGD_HASH_NOMEM;
	}
	pgd_wipe(cd, sizeof(*cd));
	free(cd);
	pgd_wipe(salt, sizeof(salt));
	pgd_wipe(key, sizeof(key));
	return res;
}

enum pgd_hash_result pgd_generate_md5_crypt(const struct pgd_scheme *s, const char *password,
                                            const char *user, unsigned long rounds,
                                            struct pgd_raw *out, struct pgd_hash_info *info)
{
	char salt[9], hashed[MD5CRYPT_OUT_LEN];
	enum pgd_hash_result res = PGD_HASH_MATCH;

	(void)s;
	(void)user;
	(void)rounds;
	if (!pgd_random_salt(salt, 8)) {
		pgd_hash_set_detail(info, "no random bytes for a salt");
		return PGD_HASH_UNSUPPORTED;
	}
	if (!md5crypt(password, salt, hashed)) {
		pgd_hash_set_detail(info, "MD5 is not available from libcrypto");
		res = PGD_HASH_UNSUPPORTED;
	} else if (!pgd_raw_set(out, hashed, strlen(hashed))) {
		res = PGD_HASH_NOMEM;
	}
	pgd_wipe(hashed, sizeof(hashed));
	return res;
}
