// SPDX-License-Identifier: MIT
/*
 * The crypt(3) family as Dovecot 2.3 runs it: DES-CRYPT, SHA256-CRYPT, SHA512-CRYPT and CRYPT run
 * crypt() on the whole value (crypt_verify), except that "$2?$" values go to the BLF-CRYPT
 * verifier; BLF-CRYPT only takes "$2[a-z]$" values of at least 30 characters. MD5-CRYPT and the
 * "$1$" branch of MD5 use Dovecot's own md5crypt, which accepts any salt byte; libxcrypt refuses
 * some, so we carry our own md5crypt too (on libcrypto's MD5).
 *
 * crypt() would run whatever cost a value names, so the costs we can read are capped first:
 * SHA-crypt rounds=, bcrypt cost, $md5,rounds=, $sha1$ rounds, BSDi "_" rounds, and the memory
 * of scrypt ($7$) and yescrypt ($y$, $gy$).
 */
#include "hash.h"
#include "hash_impl.h"
#include "secret.h"

#include <crypt.h>
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

/* "$1$" + 8 salt bytes + "$" + 22 characters + NUL */
#define MD5CRYPT_OUT_LEN 35
/* Dovecot hands crypt_blowfish_rn() the first 30 characters: "$2y$NN$", 22 salt, 1 more. */
#define BLF_SETTING_LEN 30

static const char crypt_alphabet[] =
    "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

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

static enum pgd_hash_result verify_blf(const char *password, const char *hash,
                                       const struct pgd_hash_policy *policy,
                                       struct pgd_hash_info *info)
{
	unsigned long cap = pgd_policy_cap(policy->max_bcrypt_cost, PGD_DEFAULT_MAX_BCRYPT_COST);
	char setting[BLF_SETTING_LEN + 1];
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
	if (is_digit(hash[4]) && is_digit(hash[5]) && hash[6] == '$') {
		unsigned long cost = (unsigned long)((hash[4] - '0') * 10 + (hash[5] - '0'));

		if (cost > cap) {
			pgd_hash_set_detail(info, "bcrypt cost %lu above cap %lu", cost, cap);
			return PGD_HASH_TOO_COSTLY;
		}
	}
	memcpy(setting, hash, BLF_SETTING_LEN);
	setting[BLF_SETTING_LEN] = '\0';
	res = crypt_compare(password, setting, hash, info);
	pgd_wipe(setting, sizeof(setting));
	return res;
}

static int atoi64(char c)
{
	const char *p = c != '\0' ? strchr(crypt_alphabet, c) : NULL;

	return p != NULL ? (int)(p - crypt_alphabet) : -1;
}

/* Decimal digits at s, saturating at ULONG_MAX; *saturated says so. */
static unsigned long read_decimal(const char *s, bool *saturated)
{
	unsigned long v = 0;

	*saturated = false;
	for (; is_digit(*s); s++) {
		unsigned long d = (unsigned long)(*s - '0');

		if (v > (ULONG_MAX - d) / 10) {
			*saturated = true;
			return ULONG_MAX;
		}
		v = v * 10 + d;
	}
	return v;
}

/* n characters of crypt's base64, least significant first (scrypt's r and p, BSDi rounds). */
static bool read_b64_fixed(const char *s, int n, unsigned long *out)
{
	*out = 0;
	for (int i = 0; i < n; i++) {
		int v = atoi64(s[i]);

		if (v < 0)
			return false;
		*out |= (unsigned long)v << (6 * i);
	}
	return true;
}

/* yescrypt's variable-length number (libxcrypt decode64_uint32); NULL if malformed. */
static const char *read_b64_var(const char *s, uint32_t min, unsigned long *out)
{
	unsigned long start = 0, end = 47, chars = 1, bits = 0;
	int c = atoi64(*s++);

	if (c < 0)
		return NULL;
	*out = min;
	while ((unsigned long)c > end) {
		*out += (end + 1 - start) << bits;
		start = end + 1;
		end = start + (62 - end) / 2;
		chars++;
		bits += 6;
	}
	*out += ((unsigned long)c - start) << bits;
	while (--chars > 0) {
		c = atoi64(*s++);
		if (c < 0)
			return NULL;
		bits -= 6;
		*out += (unsigned long)c << bits;
	}
	return s;
}

/* 128 * r * 2^log2_n * p bytes in KiB, saturating. */
static unsigned long scrypt_kib(unsigned long log2_n, unsigned long r, unsigned long p)
{
	unsigned long kib = r / 8 + (r % 8 != 0); /* 128 * r bytes, rounded up to KiB */

	/* kib << log2_n overflows once log2_n reaches the count of leading zero bits */
	if (log2_n >= 64 || (kib != 0 && log2_n >= (unsigned long)__builtin_clzl(kib)))
		return ULONG_MAX;
	kib <<= log2_n;
	if (p != 0 && kib > ULONG_MAX / p)
		return ULONG_MAX;
	return kib * (p != 0 ? p : 1);
}

/*
 * Refuses a crypt setting whose cost we can read and that is above the policy's caps; crypt()
 * itself judges everything else. Returns PGD_HASH_MATCH when the value may go to crypt().
 */
static enum pgd_hash_result crypt_cost_check(const char *hash, const struct pgd_hash_policy *policy,
                                             struct pgd_hash_info *info)
{
	unsigned long cap = pgd_policy_cap(policy->max_crypt_rounds, PGD_DEFAULT_MAX_CRYPT_ROUNDS);
	unsigned long mem_cap = pgd_policy_cap(policy->max_memory_kib, PGD_DEFAULT_MAX_MEMORY_KIB);
	const char *digits = NULL;
	unsigned long rounds = 0, kib = 0, r = 0, p = 0, log2_n = 0;
	bool saturated = false;

	if (has_prefix(hash, "$5$rounds=") || has_prefix(hash, "$6$rounds="))
		digits = hash + 10;
	else if (has_prefix(hash, "$md5,rounds=") || has_prefix(hash, "$md5$rounds="))
		digits = hash + 12;
	else if (has_prefix(hash, "$sha1$"))
		digits = hash + 6;
	if (digits != NULL && is_digit(*digits)) {
		rounds = read_decimal(digits, &saturated);
	} else if (hash[0] == '_' && read_b64_fixed(hash + 1, 4, &rounds)) {
		/* BSDi extended DES: 4 characters of rounds */
	} else if (has_prefix(hash, "$7$") && hash[3] != '\0' && atoi64(hash[3]) >= 0 &&
	           read_b64_fixed(hash + 4, 5, &r) && read_b64_fixed(hash + 9, 5, &p)) {
		log2_n = (unsigned long)atoi64(hash[3]);
		kib = scrypt_kib(log2_n, r, p);
	} else if (has_prefix(hash, "$y$") || has_prefix(hash, "$gy$")) {
		const char *q = hash + (hash[1] == 'y' ? 3 : 4);
		unsigned long flavor;

		q = read_b64_var(q, 0, &flavor);
		q = q != NULL ? read_b64_var(q, 1, &log2_n) : NULL;
		q = q != NULL ? read_b64_var(q, 1, &r) : NULL;
		if (q != NULL)
			kib = scrypt_kib(log2_n, r, 1);
	}
	if (saturated || rounds > cap) {
		pgd_hash_set_detail(info, "rounds %lu%s above cap %lu", rounds,
		                    saturated ? "+" : "", cap);
		return PGD_HASH_TOO_COSTLY;
	}
	if (kib > mem_cap) {
		pgd_hash_set_detail(info, "scrypt memory %lu KiB above cap %lu KiB", kib, mem_cap);
		return PGD_HASH_TOO_COSTLY;
	}
	return PGD_HASH_MATCH;
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
	res = crypt_cost_check(hash, policy, info);
	if (res != PGD_HASH_MATCH)
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
	(void)policy;
	if (hash[0] == '\0') {
		pgd_hash_set_detail(info, "empty hash");
		return PGD_HASH_MALFORMED;
	}
	if (!has_prefix(hash, "$1$")) {
		pgd_hash_set_detail(info, "not an MD5-CRYPT hash");
		return PGD_HASH_MALFORMED;
	}
	return verify_md5crypt(password, hash, info);
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
		return verify_md5crypt(password, hash, info);
	res = pgd_verify_plain_md5_str(hash, password, policy, info);
	if (res == PGD_HASH_MALFORMED)
		pgd_hash_set_detail(info, "not a valid MD5-CRYPT or PLAIN-MD5 hash");
	return res;
}

enum pgd_hash_result pgd_generate_crypt(const struct pgd_scheme *s, const char *password,
                                        const char *user, unsigned long rounds, struct pgd_raw *out,
                                        struct pgd_hash_info *info)
{
	char salt[CRYPT_GENSALT_OUTPUT_SIZE];
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
