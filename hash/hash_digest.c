// SPDX-License-Identifier: MIT
/*
 * The schemes made of libcrypto digests, as Dovecot 2.3 lays them out:
 *   SHA/SHA1, SHA256, SHA512, PLAIN-MD5, LDAP-MD5, PLAIN-MD4   H(password)
 *   SMD5, SSHA, SSHA256, SSHA512    H(password || salt) || salt (4 salt bytes when we make one)
 *   DIGEST-MD5                      MD5("user:realm:password"), realm after the last '@'
 *   PBKDF2                          "$1$salt$rounds$hex(PBKDF2-HMAC-SHA1(password, salt), 20)"
 *   SCRAM-SHA-1, SCRAM-SHA-256      "iter,b64(salt),b64(StoredKey),b64(ServerKey)" (RFC 5802)
 * MD4 lives only in OpenSSL 3's legacy provider; we load it into a private library context so
 * the host program's OpenSSL state (default context, providers) stays as it was.
 */
#include "hash/hash_impl.h"
#include "util/secret.h"

#include <limits.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/provider.h>

#define SALTED_SALT_LEN 4
#define PBKDF2_KEY_LEN 20
#define PBKDF2_SALT_LEN 16
#define SCRAM_SALT_LEN 16
#define SCRAM_MIN_ITERATIONS 4096
#define SCRAM_MAX_ITERATIONS 2147483647UL

static pthread_once_t md4_once = PTHREAD_ONCE_INIT;
static EVP_MD *md4_md;

/* Never freed: the module stays loaded (-z nodelete) and the context is reused by every login. */
static void md4_load(void)
{
	OSSL_LIB_CTX *ctx = OSSL_LIB_CTX_new();

	if (ctx == NULL)
		return;
	if (OSSL_PROVIDER_load(ctx, "legacy") == NULL) {
		OSSL_LIB_CTX_free(ctx);
		return;
	}
	md4_md = EVP_MD_fetch(ctx, "MD4", NULL);
}

static const EVP_MD *evp_md(enum pgd_digest d)
{
	switch (d) {
	case PGD_DIGEST_MD4:
		pthread_once(&md4_once, md4_load);
		return md4_md;
	case PGD_DIGEST_MD5:
		return EVP_md5();
	case PGD_DIGEST_SHA1:
		return EVP_sha1();
	case PGD_DIGEST_SHA256:
		return EVP_sha256();
	case PGD_DIGEST_SHA512:
		return EVP_sha512();
	case PGD_DIGEST_NONE:
		break;
	}
	return NULL;
}

size_t pgd_digest_len(enum pgd_digest d)
{
	switch (d) {
	case PGD_DIGEST_MD4:
	case PGD_DIGEST_MD5:
		return 16;
	case PGD_DIGEST_SHA1:
		return 20;
	case PGD_DIGEST_SHA256:
		return 32;
	case PGD_DIGEST_SHA512:
		return 64;
	case PGD_DIGEST_NONE:
		break;
	}
	return 0;
}

bool pgd_digest2(enum pgd_digest d, const void *a, size_t alen, const void *b, size_t blen,
                 unsigned char *out)
{
	const EVP_MD *md = evp_md(d);
	EVP_MD_CTX *ctx;
	bool ok;

	if (md == NULL)
		return false;
	ctx = EVP_MD_CTX_new();
	ok = ctx != NULL && EVP_DigestInit_ex(ctx, md, NULL) == 1 &&
	     EVP_DigestUpdate(ctx, a, alen) == 1 && EVP_DigestUpdate(ctx, b, blen) == 1 &&
	     EVP_DigestFinal_ex(ctx, out, NULL) == 1;
	EVP_MD_CTX_free(ctx);
	return ok;
}

static bool hmac(enum pgd_digest d, const void *key, size_t key_len, const void *data, size_t len,
                 unsigned char *out)
{
	const EVP_MD *md = evp_md(d);
	unsigned int out_len = 0;

	return md != NULL && key_len <= INT_MAX &&
	       HMAC(md, key, (int)key_len, data, len, out, &out_len) != NULL &&
	       out_len == pgd_digest_len(d);
}

bool pgd_pbkdf2(enum pgd_digest d, const char *password, const unsigned char *salt, size_t salt_len,
                unsigned int iterations, unsigned char *out, size_t out_len)
{
	const EVP_MD *md = evp_md(d);
	size_t pw_len = strlen(password);

	if (md == NULL || pw_len > INT_MAX || salt_len > INT_MAX || iterations == 0 ||
	    iterations > INT_MAX || out_len > INT_MAX)
		return false;
	/* a non-NULL salt even when empty: libcrypto treats NULL as "no salt given" */
	return PKCS5_PBKDF2_HMAC(password, (int)pw_len,
	                         salt_len > 0 ? salt : (const unsigned char *)"", (int)salt_len,
	                         (int)iterations, md, (int)out_len, out) == 1;
}

static enum pgd_hash_result no_digest(const struct pgd_scheme *s, struct pgd_hash_info *info)
{
	pgd_hash_set_detail(info, "libcrypto cannot compute %s%s", s->name,
	                    s->digest == PGD_DIGEST_MD4 ? " (legacy provider missing)" : "");
	return PGD_HASH_UNSUPPORTED;
}

enum pgd_hash_result pgd_generate_digest(const struct pgd_scheme *s, const char *password,
                                         const char *user, unsigned long rounds,
                                         struct pgd_raw *out, struct pgd_hash_info *info)
{
	(void)user;
	(void)rounds;
	if (!pgd_raw_alloc(out, pgd_digest_len(s->digest)))
		return PGD_HASH_NOMEM;
	if (!pgd_digest2(s->digest, password, strlen(password), "", 0, out->heap)) {
		pgd_raw_release(out);
		return no_digest(s, info);
	}
	out->len = pgd_digest_len(s->digest);
	return PGD_HASH_MATCH;
}

enum pgd_hash_result pgd_generate_salted(const struct pgd_scheme *s, const char *password,
                                         const char *user, unsigned long rounds,
                                         struct pgd_raw *out, struct pgd_hash_info *info)
{
	size_t dlen = pgd_digest_len(s->digest);

	(void)user;
	(void)rounds;
	if (!pgd_raw_alloc(out, dlen + SALTED_SALT_LEN))
		return PGD_HASH_NOMEM;
	if (!pgd_random_bytes(out->heap + dlen, SALTED_SALT_LEN)) {
		pgd_raw_release(out);
		pgd_hash_set_detail(info, "no random bytes for a salt");
		return PGD_HASH_UNSUPPORTED;
	}
	if (!pgd_digest2(s->digest, password, strlen(password), out->heap + dlen, SALTED_SALT_LEN,
	                 out->heap)) {
		pgd_raw_release(out);
		return no_digest(s, info);
	}
	out->len = dlen + SALTED_SALT_LEN;
	return PGD_HASH_MATCH;
}

/* Dovecot's ssha_verify() and kin: the digest, then a salt of at least one byte. */
enum pgd_hash_result pgd_verify_salted(const struct pgd_scheme *s, const struct pgd_raw *raw,
                                       const char *password, const struct pgd_hash_policy *policy,
                                       struct pgd_hash_info *info)
{
	size_t dlen = pgd_digest_len(s->digest);
	unsigned char mine[PGD_MAX_DIGEST_LEN];
	enum pgd_hash_result res;

	if (raw->len <= dlen) {
		pgd_hash_set_detail(info, "%s value too short (%zu bytes)", s->name, raw->len);
		return PGD_HASH_MALFORMED;
	}
	if (policy->dry_run)
		return PGD_HASH_MATCH;
	if (!pgd_digest2(s->digest, password, strlen(password), raw->data + dlen, raw->len - dlen,
	                 mine))
		return no_digest(s, info);
	res = pgd_ct_memeq(mine, raw->data, dlen) ? PGD_HASH_MATCH : PGD_HASH_MISMATCH;
	pgd_wipe(mine, sizeof(mine));
	return res;
}

enum pgd_hash_result pgd_generate_digest_md5(const struct pgd_scheme *s, const char *password,
                                             const char *user, unsigned long rounds,
                                             struct pgd_raw *out, struct pgd_hash_info *info)
{
	const char *at;
	size_t user_len, realm_len, pw_len = strlen(password), len;
	char *text;
	bool ok;

	(void)rounds;
	if (user == NULL) {
		pgd_hash_set_detail(info, "DIGEST-MD5 needs the login name");
		return PGD_HASH_UNSUPPORTED;
	}
	/* user@realm; user@domain@realm keeps user@domain as the user */
	at = strrchr(user, '@');
	user_len = at != NULL ? (size_t)(at - user) : strlen(user);
	realm_len = at != NULL ? strlen(at + 1) : 0;
	len = user_len + 1 + realm_len + 1 + pw_len;
	text = malloc(len + 1);
	if (text == NULL || !pgd_raw_alloc(out, PGD_MD5_LEN)) {
		free(text);
		return PGD_HASH_NOMEM;
	}
	snprintf(text, len + 1, "%.*s:%s:%s", (int)user_len, user, at != NULL ? at + 1 : "",
	         password);
	ok = pgd_digest2(PGD_DIGEST_MD5, text, len, "", 0, out->heap);
	pgd_wipe(text, len);
	free(text);
	if (!ok) {
		pgd_raw_release(out);
		return no_digest(s, info);
	}
	out->len = PGD_MD5_LEN;
	return PGD_HASH_MATCH;
}

/* Dovecot's str_to_uint(): decimal digits only, the whole string, no overflow. */
static bool parse_uint(const char *s, size_t len, unsigned long max, unsigned long *out)
{
	unsigned long v = 0;

	if (len == 0)
		return false;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		if (v > (max - (unsigned long)(s[i] - '0')) / 10)
			return false;
		v = v * 10 + (unsigned long)(s[i] - '0');
	}
	*out = v;
	return true;
}

static enum pgd_hash_result too_many(const char *name, unsigned long n, unsigned long cap,
                                     struct pgd_hash_info *info)
{
	return pgd_hash_too_costly(info, "max_iterations", cap, "%s iterations %lu above cap %lu",
	                           name, n, cap);
}

enum pgd_hash_result pgd_generate_pbkdf2(const struct pgd_scheme *s, const char *password,
                                         const char *user, unsigned long rounds,
                                         struct pgd_raw *out, struct pgd_hash_info *info)
{
	char salt[PBKDF2_SALT_LEN + 1];
	unsigned char key[PBKDF2_KEY_LEN];
	char hex[2 * PBKDF2_KEY_LEN + 1];
	enum pgd_hash_result res = PGD_HASH_MATCH;

	(void)user;
	if (rounds == 0)
		rounds = s->rounds_default;
	if (!pgd_random_salt(salt, PBKDF2_SALT_LEN)) {
		pgd_hash_set_detail(info, "no random bytes for a salt");
		return PGD_HASH_UNSUPPORTED;
	}
	if (rounds > UINT_MAX ||
	    !pgd_pbkdf2(PGD_DIGEST_SHA1, password, (const unsigned char *)salt, PBKDF2_SALT_LEN,
	                (unsigned int)rounds, key, sizeof(key)))
		return no_digest(s, info);
	pgd_hex_encode(key, sizeof(key), hex);
	if (!pgd_raw_alloc(out, 3 + PBKDF2_SALT_LEN + 1 + 10 + 1 + 2 * PBKDF2_KEY_LEN))
		res = PGD_HASH_NOMEM;
	else
		out->len = (size_t)snprintf((char *)out->heap, out->heap_size, "$1$%s$%lu$%s", salt,
		                            rounds, hex);
	pgd_wipe(key, sizeof(key));
	pgd_wipe(hex, sizeof(hex));
	return res;
}

/*
 * Dovecot's pbkdf2_verify(): "$1$" then exactly three '$'-separated fields: the salt (used as
 * it is, not decoded), the rounds (str_to_uint) and 40 hex digits. Dovecot verifies rounds 0 as
 * a key of zeros (any password matches "$1$s$0$000..."); we refuse rounds 0 as malformed.
 */
enum pgd_hash_result pgd_verify_pbkdf2(const struct pgd_scheme *s, const struct pgd_raw *raw,
                                       const char *password, const struct pgd_hash_policy *policy,
                                       struct pgd_hash_info *info)
{
	unsigned long cap = pgd_policy_cap(policy->max_iterations, PGD_DEFAULT_MAX_ITERATIONS);
	const char *v = (const char *)raw->data, *salt, *d1, *d2;
	unsigned char want[PBKDF2_KEY_LEN], mine[PBKDF2_KEY_LEN];
	unsigned long rounds;
	size_t hex_len, want_len;
	enum pgd_hash_result res;

	if (raw->len < 3 || memcmp(v, "$1$", 3) != 0) {
		pgd_hash_set_detail(info, "PBKDF2 value does not start with $1$");
		return PGD_HASH_MALFORMED;
	}
	salt = v + 3;
	d1 = strchr(salt, '$');
	d2 = d1 != NULL ? strchr(d1 + 1, '$') : NULL;
	if (d2 == NULL || strchr(d2 + 1, '$') != NULL ||
	    !parse_uint(d1 + 1, (size_t)(d2 - d1 - 1), UINT_MAX, &rounds)) {
		pgd_hash_set_detail(info, "PBKDF2 value is not $1$salt$rounds$hash");
		return PGD_HASH_MALFORMED;
	}
	hex_len = strlen(d2 + 1);
	if (hex_len != 2 * PBKDF2_KEY_LEN || !pgd_hex_decode(d2 + 1, hex_len, want, &want_len)) {
		pgd_hash_set_detail(info, "PBKDF2 hash is not 40 hex digits");
		return PGD_HASH_MALFORMED;
	}
	if (rounds == 0) {
		pgd_hash_set_detail(info, "PBKDF2 rounds 0");
		return PGD_HASH_MALFORMED;
	}
	if (rounds > cap)
		return too_many(s->name, rounds, cap, info);
	if (policy->dry_run)
		return PGD_HASH_MATCH;
	if (!pgd_pbkdf2(PGD_DIGEST_SHA1, password, (const unsigned char *)salt, (size_t)(d1 - salt),
	                (unsigned int)rounds, mine, sizeof(mine)))
		return no_digest(s, info);
	res = pgd_ct_memeq(mine, want, sizeof(mine)) ? PGD_HASH_MATCH : PGD_HASH_MISMATCH;
	pgd_wipe(mine, sizeof(mine));
	pgd_wipe(want, sizeof(want));
	return res;
}

/* SaltedPassword -> StoredKey and ServerKey (RFC 5802). */
static bool scram_keys(enum pgd_digest d, const unsigned char *salted, unsigned char *stored_key,
                       unsigned char *server_key)
{
	size_t dlen = pgd_digest_len(d);
	unsigned char client_key[PGD_MAX_DIGEST_LEN];
	bool ok = hmac(d, salted, dlen, "Client Key", 10, client_key) &&
	          pgd_digest2(d, client_key, dlen, "", 0, stored_key) &&
	          (server_key == NULL || hmac(d, salted, dlen, "Server Key", 10, server_key));

	pgd_wipe(client_key, sizeof(client_key));
	return ok;
}

enum pgd_hash_result pgd_generate_scram(const struct pgd_scheme *s, const char *password,
                                        const char *user, unsigned long rounds, struct pgd_raw *out,
                                        struct pgd_hash_info *info)
{
	size_t dlen = pgd_digest_len(s->digest);
	unsigned char salt[SCRAM_SALT_LEN], salted[PGD_MAX_DIGEST_LEN];
	unsigned char stored_key[PGD_MAX_DIGEST_LEN], server_key[PGD_MAX_DIGEST_LEN];
	char salt64[(SCRAM_SALT_LEN + 2) / 3 * 4 + 1];
	char stored64[(PGD_MAX_DIGEST_LEN + 2) / 3 * 4 + 1];
	char server64[(PGD_MAX_DIGEST_LEN + 2) / 3 * 4 + 1];
	enum pgd_hash_result res = PGD_HASH_MATCH;
	size_t size;

	(void)user;
	/* Dovecot raises what -r asks for to the RFC's 4096 */
	if (rounds < SCRAM_MIN_ITERATIONS)
		rounds = rounds == 0 ? s->rounds_default : SCRAM_MIN_ITERATIONS;
	if (!pgd_random_bytes(salt, sizeof(salt))) {
		pgd_hash_set_detail(info, "no random bytes for a salt");
		return PGD_HASH_UNSUPPORTED;
	}
	if (!pgd_pbkdf2(s->digest, password, salt, sizeof(salt), (unsigned int)rounds, salted,
	                dlen) ||
	    !scram_keys(s->digest, salted, stored_key, server_key)) {
		res = no_digest(s, info);
		goto out;
	}
	pgd_b64_encode(salt, sizeof(salt), salt64);
	pgd_b64_encode(stored_key, dlen, stored64);
	pgd_b64_encode(server_key, dlen, server64);
	size = 11 + strlen(salt64) + strlen(stored64) + strlen(server64) + 4;
	if (!pgd_raw_alloc(out, size))
		res = PGD_HASH_NOMEM;
	else
		out->len = (size_t)snprintf((char *)out->heap, out->heap_size, "%lu,%s,%s,%s",
		                            rounds, salt64, stored64, server64);
out:
	pgd_wipe(salted, sizeof(salted));
	pgd_wipe(stored_key, sizeof(stored_key));
	pgd_wipe(server_key, sizeof(server_key));
	pgd_wipe(stored64, sizeof(stored64));
	pgd_wipe(server64, sizeof(server64));
	return res;
}

/* base64 of field [p, p + len) into out (PGD_MAX_DIGEST_LEN bytes); its length must be want */
static bool scram_b64_field(const char *p, size_t len, unsigned char *out, size_t want)
{
	unsigned char *buf = malloc(len / 4 * 3 + 4);
	size_t got = 0;
	bool ok = buf != NULL && pgd_b64_decode(p, len, buf, &got) && got == want;

	if (ok)
		memcpy(out, buf, want);
	if (buf != NULL) {
		pgd_wipe(buf, len / 4 * 3 + 4);
		free(buf);
	}
	return ok;
}

/*
 * Dovecot's scram_verify(): four ','-separated fields (empty ones count), iterations 4096 to
 * INT_MAX (str_to_uint), StoredKey and ServerKey base64 of the digest length. The salt is
 * base64 too; we refuse a salt that does not decode (Dovecot uses what it could decode).
 */
enum pgd_hash_result pgd_verify_scram(const struct pgd_scheme *s, const struct pgd_raw *raw,
                                      const char *password, const struct pgd_hash_policy *policy,
                                      struct pgd_hash_info *info)
{
	unsigned long cap = pgd_policy_cap(policy->max_iterations, PGD_DEFAULT_MAX_ITERATIONS);
	size_t dlen = pgd_digest_len(s->digest);
	const char *f[5], *v = (const char *)raw->data;
	size_t n = 1, salt_len = 0;
	unsigned long iter;
	unsigned char want[PGD_MAX_DIGEST_LEN], server_key[PGD_MAX_DIGEST_LEN];
	unsigned char salted[PGD_MAX_DIGEST_LEN], mine[PGD_MAX_DIGEST_LEN];
	unsigned char *salt = NULL;
	enum pgd_hash_result res = PGD_HASH_MALFORMED;

	f[0] = v;
	for (const char *p = v; *p != '\0' && n < 5; p++)
		if (*p == ',')
			f[n++] = p + 1;
	if (n != 4) {
		pgd_hash_set_detail(info, "%s value is not iter,salt,storedkey,serverkey", s->name);
		return PGD_HASH_MALFORMED;
	}
	if (!parse_uint(f[0], (size_t)(f[1] - f[0] - 1), UINT_MAX, &iter) ||
	    iter < SCRAM_MIN_ITERATIONS || iter > SCRAM_MAX_ITERATIONS) {
		pgd_hash_set_detail(info, "%s iteration count invalid", s->name);
		return PGD_HASH_MALFORMED;
	}
	if (!scram_b64_field(f[2], (size_t)(f[3] - f[2] - 1), want, dlen)) {
		pgd_hash_set_detail(info, "%s StoredKey invalid", s->name);
		goto out;
	}
	if (!scram_b64_field(f[3], strlen(f[3]), server_key, dlen)) {
		pgd_hash_set_detail(info, "%s ServerKey invalid", s->name);
		goto out;
	}
	salt = malloc((size_t)(f[2] - f[1]) / 4 * 3 + 4);
	if (salt == NULL) {
		res = PGD_HASH_NOMEM;
		goto out;
	}
	if (!pgd_b64_decode(f[1], (size_t)(f[2] - f[1] - 1), salt, &salt_len)) {
		pgd_hash_set_detail(info, "%s salt is not base64", s->name);
		goto out;
	}
	if (iter > cap) {
		res = too_many(s->name, iter, cap, info);
		goto out;
	}
	if (policy->dry_run) {
		res = PGD_HASH_MATCH;
		goto out;
	}
	if (!pgd_pbkdf2(s->digest, password, salt, salt_len, (unsigned int)iter, salted, dlen) ||
	    !scram_keys(s->digest, salted, mine, NULL)) {
		res = no_digest(s, info);
		goto out;
	}
	res = pgd_ct_memeq(mine, want, dlen) ? PGD_HASH_MATCH : PGD_HASH_MISMATCH;
out:
	free(salt);
	pgd_wipe(salted, sizeof(salted));
	pgd_wipe(mine, sizeof(mine));
	pgd_wipe(want, sizeof(want));
	pgd_wipe(server_key, sizeof(server_key));
	return res;
}
