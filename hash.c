// SPDX-License-Identifier: MIT
/*
 * Dovecot 2.3 password schemes, reimplemented from the behaviour of src/auth/password-scheme*.c
 * and checked against `doveadm pw` (tests/vectors/).
 *
 * How Dovecot's SQL passdb reads a password column, which is what we copy:
 *   - auth_request_set_password(): a value that starts with '{' and contains '}' keeps its
 *     prefix; any other value gets "{default_pass_scheme}" put in front of it. So the bare
 *     "$1$salt$hash$junk" rule of password_get_scheme() never applies to SQL rows: with the
 *     default MD5 such a row is verified by md5_verify() on the whole string.
 *   - password_decode(): ".b64"/".base64"/".hex" suffixes; schemes with a fixed digest length
 *     guess hex (exactly twice the length) or base64, and the decoded length must match.
 *   - DES-CRYPT, SHA256-CRYPT, SHA512-CRYPT and CRYPT all run crypt() on the whole value
 *     (crypt_verify), except that "$2?$" values go to the BLF-CRYPT verifier.
 *   - BLF-CRYPT only takes "$2[a-z]$" values of at least 30 characters.
 *   - MD5-CRYPT and the "$1$" branch of MD5 use Dovecot's own md5crypt, which accepts any salt
 *     byte; libxcrypt refuses some, so we carry our own md5crypt too.
 */
#include "hash.h"
#include "secret.h"

#include <crypt.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#define MD5_LEN 16
/* "$1$" + 8 salt bytes + "$" + 22 characters + NUL */
#define MD5CRYPT_OUT_LEN 35
/* Dovecot hands crypt_blowfish_rn() the first 30 characters: "$2y$NN$", 22 salt, 1 more. */
#define BLF_SETTING_LEN 30
/* Longest scheme name we echo in a detail line. */
#define NAME_ECHO_MAX 40

enum verifier {
	VERIFY_CRYPT,
	VERIFY_BLF_CRYPT,
	VERIFY_MD5_CRYPT,
	VERIFY_MD5,
	VERIFY_PLAIN,
	VERIFY_PLAIN_MD5,
};

enum encoding {
	ENC_NONE,
	ENC_HEX,
	ENC_BASE64,
};

enum generator {
	GEN_CRYPT,
	GEN_MD5_CRYPT,
	GEN_PLAIN,
	GEN_PLAIN_MD5,
};

struct scheme {
	const char *name;
	enum verifier verifier;
	enum encoding default_encoding;
	size_t raw_len; /* decoded length every value must have, or 0 */
	enum generator generator;
	const char *crypt_prefix; /* for crypt_gensalt_rn */
	unsigned long rounds_default, rounds_min, rounds_max;
};

static const struct scheme schemes[] = {
    {"SHA512-CRYPT", VERIFY_CRYPT, ENC_NONE, 0, GEN_CRYPT, "$6$", 5000, 1000, 999999999},
    {"SHA256-CRYPT", VERIFY_CRYPT, ENC_NONE, 0, GEN_CRYPT, "$5$", 5000, 1000, 999999999},
    {"BLF-CRYPT", VERIFY_BLF_CRYPT, ENC_NONE, 0, GEN_CRYPT, "$2y$", 5, 4, 31},
    /* Dovecot generates bcrypt for plain CRYPT too. */
    {"CRYPT", VERIFY_CRYPT, ENC_NONE, 0, GEN_CRYPT, "$2y$", 5, 4, 31},
    {"DES-CRYPT", VERIFY_CRYPT, ENC_NONE, 0, GEN_CRYPT, "", 0, 0, 0},
    {"MD5-CRYPT", VERIFY_MD5_CRYPT, ENC_NONE, 0, GEN_MD5_CRYPT, "$1$", 0, 0, 0},
    {"MD5", VERIFY_MD5, ENC_NONE, 0, GEN_MD5_CRYPT, "$1$", 0, 0, 0},
    {"PLAIN-MD5", VERIFY_PLAIN_MD5, ENC_HEX, MD5_LEN, GEN_PLAIN_MD5, NULL, 0, 0, 0},
    {"PLAIN", VERIFY_PLAIN, ENC_NONE, 0, GEN_PLAIN, NULL, 0, 0, 0},
    {"CLEAR", VERIFY_PLAIN, ENC_NONE, 0, GEN_PLAIN, NULL, 0, 0, 0},
    {"CLEARTEXT", VERIFY_PLAIN, ENC_NONE, 0, GEN_PLAIN, NULL, 0, 0, 0},
};

static const char b64_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
static const char crypt_alphabet[] =
    "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/* A decoded stored value: data points into the caller's string, or into heap (heap_size
 * bytes, NUL-terminated after len) that we wipe. */
struct raw {
	const unsigned char *data;
	size_t len;
	unsigned char *heap;
	size_t heap_size;
};

static unsigned char ascii_upper(unsigned char c)
{
	return c >= 'a' && c <= 'z' ? (unsigned char)(c - 'a' + 'A') : c;
}

/* Case-insensitive in ASCII only: strcasecmp() follows the locale (Turkish 'i'). */
static bool ascii_caseeq(const char *a, size_t alen, const char *b)
{
	size_t blen = strlen(b);

	if (alen != blen)
		return false;
	for (size_t i = 0; i < alen; i++) {
		if (ascii_upper((unsigned char)a[i]) != ascii_upper((unsigned char)b[i]))
			return false;
	}
	return true;
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static bool has_prefix(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

static void set_detail(struct pgd_hash_info *info, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void set_detail(struct pgd_hash_info *info, const char *fmt, ...)
{
	va_list ap;

	if (info == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(info->detail, sizeof(info->detail), fmt, ap);
	va_end(ap);
}

static void set_scheme(struct pgd_hash_info *info, const char *name)
{
	if (info != NULL)
		snprintf(info->scheme, sizeof(info->scheme), "%s", name);
}

/* Copies a scheme name the database gave us into out as printable ASCII, shortened, so that
 * a log line cannot be forged or flooded through it. */
static void sanitize_name(const char *name, size_t len, char out[NAME_ECHO_MAX + 4])
{
	size_t n = len < NAME_ECHO_MAX ? len : NAME_ECHO_MAX;
	size_t i;

	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)name[i];
		out[i] = c >= 0x20 && c < 0x7f ? (char)c : '?';
	}
	if (n < len) {
		memcpy(out + i, "...", 3);
		i += 3;
	}
	out[i] = '\0';
}

/*
 * Finds the scheme for "NAME[.SUFFIX]" (len bytes, not NUL-terminated) as Dovecot's
 * password_scheme_lookup() does: the name ends at the first '.', an unknown suffix makes the
 * whole scheme unknown. Returns NULL if unknown; *explicit_enc says whether a suffix was given.
 */
static const struct scheme *scheme_lookup(const char *name, size_t len, enum encoding *enc,
                                          bool *explicit_enc)
{
	const char *dot = memchr(name, '.', len);
	size_t base_len = dot != NULL ? (size_t)(dot - name) : len;
	const struct scheme *found = NULL;

	for (size_t i = 0; i < sizeof(schemes) / sizeof(schemes[0]); i++) {
		if (ascii_caseeq(name, base_len, schemes[i].name)) {
			found = &schemes[i];
			break;
		}
	}
	if (found == NULL)
		return NULL;
	if (dot == NULL) {
		*enc = found->default_encoding;
		*explicit_enc = false;
		return found;
	}

	const char *suffix = dot + 1;
	size_t suffix_len = len - base_len - 1;

	*explicit_enc = true;
	if (ascii_caseeq(suffix, suffix_len, "b64") || ascii_caseeq(suffix, suffix_len, "base64"))
		*enc = ENC_BASE64;
	else if (ascii_caseeq(suffix, suffix_len, "hex"))
		*enc = ENC_HEX;
	else
		return NULL;
	return found;
}

static int hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Strict hex as Dovecot's hex_to_binary(): pairs of hex digits, either case, nothing else.
 * out needs len / 2 bytes. Returns false on any other input. */
static bool hex_decode(const char *in, size_t len, unsigned char *out, size_t *out_len)
{
	if (len % 2 != 0)
		return false;
	for (size_t i = 0; i < len; i += 2) {
		int hi = hex_value(in[i]);
		int lo = hex_value(in[i + 1]);

		if (hi < 0 || lo < 0)
			return false;
		out[i / 2] = (unsigned char)(hi << 4 | lo);
	}
	*out_len = len / 2;
	return true;
}

static int b64_value(char c)
{
	const char *p = c != '\0' ? strchr(b64_alphabet, c) : NULL;

	return p != NULL ? (int)(p - b64_alphabet) : -1;
}

static bool b64_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/*
 * Base64 as Dovecot 2.3's base64_decode() accepts it (measured with doveadm, see
 * tests/vectors): standard alphabet, padding required, space/tab/CR/LF ignored anywhere,
 * nothing but those after the padding, unused low bits not checked. out needs len * 3 / 4
 * bytes. Returns false on any other input.
 */
static bool b64_decode(const char *in, size_t len, unsigned char *out, size_t *out_len)
{
	unsigned int quad[4];
	size_t nq = 0, n = 0;
	int pads = 0;
	bool ok = true;

	for (size_t i = 0; ok && i < len; i++) {
		char c = in[i];
		int v = c == '=' ? 0 : b64_value(c);

		if (b64_space(c))
			continue;
		/* '=' only in the last one or two places of the final group, then only spaces */
		if ((pads > 0 && (nq == 0 || c != '=')) || (c == '=' && nq < 2) || v < 0) {
			ok = false;
			break;
		}
		if (c == '=')
			pads++;
		quad[nq++] = (unsigned int)v;
		if (nq == 4) {
			unsigned int w = quad[0] << 18 | quad[1] << 12 | quad[2] << 6 | quad[3];

			out[n++] = (unsigned char)(w >> 16);
			if (pads < 2)
				out[n++] = (unsigned char)(w >> 8);
			if (pads < 1)
				out[n++] = (unsigned char)w;
			nq = 0;
		}
	}
	pgd_wipe(quad, sizeof(quad));
	if (!ok || nq != 0)
		return false;
	*out_len = n;
	return true;
}

static void raw_release(struct raw *raw)
{
	if (raw->heap != NULL) {
		pgd_wipe(raw->heap, raw->heap_size);
		free(raw->heap);
	}
	raw->data = NULL;
	raw->heap = NULL;
	raw->len = raw->heap_size = 0;
}

/*
 * Decodes value for scheme s as Dovecot's password_decode() does. On success fills raw, which
 * the caller releases, and returns true; otherwise sets *res and the detail and returns false.
 */
static bool decode_value(const struct scheme *s, enum encoding enc, bool explicit_enc,
                         const char *value, struct raw *raw, enum pgd_hash_result *res,
                         struct pgd_hash_info *info)
{
	size_t len = strlen(value);
	bool guessed = false;
	bool ok = false;

	*raw = (struct raw){.data = (const unsigned char *)value, .len = len};
	if (enc != ENC_NONE && s->raw_len != 0 && !explicit_enc) {
		/* Dovecot guesses: exactly twice the digest length is hex, anything else base64 */
		enc = len == s->raw_len * 2 ? ENC_HEX : ENC_BASE64;
		guessed = true;
	}
	if (enc != ENC_NONE) {
		/* big enough for either decoding, plus the NUL the crypt verifiers rely on */
		raw->heap_size = len / 2 + len / 4 + 4;
		raw->heap = calloc(1, raw->heap_size);
		if (raw->heap == NULL) {
			*res = PGD_HASH_NOMEM;
			return false;
		}
		raw->data = raw->heap;
		if (enc == ENC_HEX) {
			ok = hex_decode(value, len, raw->heap, &raw->len);
			if (!ok && !guessed) {
				set_detail(info, "stored value is not valid hex");
				*res = PGD_HASH_MALFORMED;
				raw_release(raw);
				return false;
			}
		}
		/* a guessed hex that is not hex may still be base64 */
		if (!ok && !b64_decode(value, len, raw->heap, &raw->len)) {
			set_detail(info, "stored value is not valid base64");
			*res = PGD_HASH_MALFORMED;
			raw_release(raw);
			return false;
		}
		raw->heap[raw->len] = '\0';
	}
	if (s->raw_len != 0 && raw->len != s->raw_len) {
		set_detail(info, "decoded length %zu instead of %zu", raw->len, s->raw_len);
		*res = PGD_HASH_MALFORMED;
		raw_release(raw);
		return false;
	}
	return true;
}

/* One-shot MD5 through libcrypto. Returns false if libcrypto cannot give us MD5 (FIPS mode). */
static bool md5_digest(const void *data, size_t len, unsigned char out[MD5_LEN])
{
	unsigned int out_len = 0;

	return EVP_Digest(data, len, out, &out_len, EVP_md5(), NULL) == 1 && out_len == MD5_LEN;
}

static bool md5_begin(EVP_MD_CTX *ctx)
{
	return EVP_DigestInit_ex(ctx, EVP_md5(), NULL) == 1;
}

static bool md5_add(EVP_MD_CTX *ctx, const void *data, size_t len)
{
	return EVP_DigestUpdate(ctx, data, len) == 1;
}

static bool md5_end(EVP_MD_CTX *ctx, unsigned char out[MD5_LEN])
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
	unsigned char sum[MD5_LEN];
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	bool ok = ctx != NULL;

	while (sl < 8 && salt[sl] != '\0' && salt[sl] != '$')
		sl++;

	/* the "alternate sum": MD5(pw salt pw) */
	ok = ok && md5_begin(ctx) && md5_add(ctx, pw, pl) && md5_add(ctx, salt, sl) &&
	     md5_add(ctx, pw, pl) && md5_end(ctx, sum);
	ok = ok && md5_begin(ctx) && md5_add(ctx, pw, pl) && md5_add(ctx, "$1$", 3) &&
	     md5_add(ctx, salt, sl);
	for (size_t left = pl; ok && left > 0; left -= left > MD5_LEN ? MD5_LEN : left)
		ok = md5_add(ctx, sum, left > MD5_LEN ? MD5_LEN : left);
	/* one byte per bit of the length: a NUL for a set bit, else the first password byte */
	for (size_t bits = pl; ok && bits > 0; bits >>= 1)
		ok = md5_add(ctx, (bits & 1) != 0 ? "" : pw, 1);
	ok = ok && md5_end(ctx, sum);
	for (int i = 0; ok && i < 1000; i++) {
		ok = md5_begin(ctx);
		ok = ok && ((i & 1) != 0 ? md5_add(ctx, pw, pl) : md5_add(ctx, sum, MD5_LEN));
		if (ok && i % 3 != 0)
			ok = md5_add(ctx, salt, sl);
		if (ok && i % 7 != 0)
			ok = md5_add(ctx, pw, pl);
		ok = ok && ((i & 1) != 0 ? md5_add(ctx, sum, MD5_LEN) : md5_add(ctx, pw, pl));
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
		set_detail(info, "MD5 is not available from libcrypto");
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
		set_detail(info, "crypt() rejects the stored hash");
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
	unsigned long cap =
	    policy->max_bcrypt_cost != 0 ? policy->max_bcrypt_cost : PGD_DEFAULT_MAX_BCRYPT_COST;
	char setting[BLF_SETTING_LEN + 1];
	enum pgd_hash_result res;

	if (hash[0] == '\0') {
		set_detail(info, "empty hash");
		return PGD_HASH_MALFORMED;
	}
	if (strlen(hash) < BLF_SETTING_LEN || hash[0] != '$' || hash[1] != '2' || hash[2] < 'a' ||
	    hash[2] > 'z' || hash[3] != '$') {
		set_detail(info, "not a bcrypt hash");
		return PGD_HASH_MALFORMED;
	}
	if (is_digit(hash[4]) && is_digit(hash[5]) && hash[6] == '$') {
		unsigned long cost = (unsigned long)((hash[4] - '0') * 10 + (hash[5] - '0'));

		if (cost > cap) {
			set_detail(info, "bcrypt cost %lu above cap %lu", cost, cap);
			return PGD_HASH_TOO_COSTLY;
		}
	}
	memcpy(setting, hash, BLF_SETTING_LEN);
	setting[BLF_SETTING_LEN] = '\0';
	res = crypt_compare(password, setting, hash, info);
	pgd_wipe(setting, sizeof(setting));
	return res;
}

/* Dovecot's crypt_verify(): crypt() of the whole value, bcrypt by its own verifier. */
static enum pgd_hash_result verify_crypt(const char *password, const char *hash,
                                         const struct pgd_hash_policy *policy,
                                         struct pgd_hash_info *info)
{
	unsigned long cap =
	    policy->max_crypt_rounds != 0 ? policy->max_crypt_rounds : PGD_DEFAULT_MAX_CRYPT_ROUNDS;

	if (strlen(hash) > 4 && hash[0] == '$' && hash[1] == '2' && hash[3] == '$')
		return verify_blf(password, hash, policy, info);
	if (hash[0] == '\0') {
		set_detail(info, "empty hash");
		return PGD_HASH_MALFORMED;
	}
	if ((has_prefix(hash, "$5$rounds=") || has_prefix(hash, "$6$rounds=")) &&
	    is_digit(hash[10])) {
		unsigned long rounds = 0;
		bool saturated = false;

		for (const char *p = hash + 10; is_digit(*p); p++) {
			unsigned long d = (unsigned long)(*p - '0');

			if (rounds > (ULONG_MAX - d) / 10) {
				saturated = true;
				break;
			}
			rounds = rounds * 10 + d;
		}
		if (saturated || rounds > cap) {
			set_detail(info, "rounds %lu%s above cap %lu", rounds, saturated ? "+" : "",
			           cap);
			return PGD_HASH_TOO_COSTLY;
		}
	}
	return crypt_compare(password, hash, hash, info);
}

static enum pgd_hash_result verify_plain_md5(const char *password, const unsigned char *digest,
                                             struct pgd_hash_info *info)
{
	unsigned char sum[MD5_LEN];
	enum pgd_hash_result res;

	if (!md5_digest(password, strlen(password), sum)) {
		set_detail(info, "MD5 is not available from libcrypto");
		return PGD_HASH_UNSUPPORTED;
	}
	res = pgd_ct_memeq(sum, digest, MD5_LEN) ? PGD_HASH_MATCH : PGD_HASH_MISMATCH;
	pgd_wipe(sum, sizeof(sum));
	return res;
}

/* Dovecot's md5_verify(): "$1$" is md5crypt, anything else must decode as PLAIN-MD5. */
static enum pgd_hash_result verify_md5(const char *password, const char *hash,
                                       struct pgd_hash_info *info)
{
	const struct scheme *plain_md5;
	enum pgd_hash_result res = PGD_HASH_MALFORMED;
	enum encoding enc;
	bool explicit_enc;
	struct raw digest;

	if (has_prefix(hash, "$1$"))
		return verify_md5crypt(password, hash, info);
	plain_md5 = scheme_lookup("PLAIN-MD5", 9, &enc, &explicit_enc);
	if (!decode_value(plain_md5, enc, explicit_enc, hash, &digest, &res, info)) {
		if (res == PGD_HASH_MALFORMED)
			set_detail(info, "not a valid MD5-CRYPT or PLAIN-MD5 hash");
		return res;
	}
	res = verify_plain_md5(password, digest.data, info);
	raw_release(&digest);
	return res;
}

static enum pgd_hash_result verify_raw(const struct scheme *s, const struct raw *raw,
                                       const char *password, const struct pgd_hash_policy *policy,
                                       struct pgd_hash_info *info)
{
	/* Dovecot turns the decoded bytes into a C string for the crypt family */
	const char *hash = (const char *)raw->data;

	switch (s->verifier) {
	case VERIFY_CRYPT:
		return verify_crypt(password, hash, policy, info);
	case VERIFY_BLF_CRYPT:
		return verify_blf(password, hash, policy, info);
	case VERIFY_MD5_CRYPT:
		if (hash[0] == '\0') {
			set_detail(info, "empty hash");
			return PGD_HASH_MALFORMED;
		}
		if (!has_prefix(hash, "$1$")) {
			set_detail(info, "not an MD5-CRYPT hash");
			return PGD_HASH_MALFORMED;
		}
		return verify_md5crypt(password, hash, info);
	case VERIFY_MD5:
		return verify_md5(password, hash, info);
	case VERIFY_PLAIN:
		if (raw->len != strlen(password))
			return PGD_HASH_MISMATCH;
		return pgd_ct_memeq(raw->data, password, raw->len) ? PGD_HASH_MATCH
		                                                   : PGD_HASH_MISMATCH;
	case VERIFY_PLAIN_MD5:
		return verify_plain_md5(password, raw->data, info);
	}
	return PGD_HASH_UNSUPPORTED;
}

enum pgd_hash_result pgd_hash_verify(const char *stored, const char *password,
                                     const struct pgd_hash_policy *policy,
                                     struct pgd_hash_info *info)
{
	static const struct pgd_hash_policy defaults = {0};
	const char *name, *value, *brace;
	size_t name_len;
	const struct scheme *s;
	enum encoding enc;
	bool explicit_enc;
	struct raw raw;
	enum pgd_hash_result res = PGD_HASH_MALFORMED;

	if (info != NULL) {
		info->scheme[0] = '\0';
		info->detail[0] = '\0';
	}
	if (policy == NULL)
		policy = &defaults;
	if (stored == NULL || stored[0] == '\0') {
		set_detail(info, "empty stored value");
		return PGD_HASH_MALFORMED;
	}
	if (password == NULL)
		return PGD_HASH_MISMATCH;

	/* auth_request_set_password(): only "{...}..." keeps its own scheme */
	brace = stored[0] == '{' ? strchr(stored, '}') : NULL;
	if (brace != NULL) {
		name = stored + 1;
		name_len = (size_t)(brace - name);
		value = brace + 1;
	} else {
		name = policy->default_scheme != NULL ? policy->default_scheme : "MD5";
		name_len = strlen(name);
		value = stored;
	}

	s = scheme_lookup(name, name_len, &enc, &explicit_enc);
	if (s == NULL) {
		char shown[NAME_ECHO_MAX + 4];

		sanitize_name(name, name_len, shown);
		set_detail(info, "unknown scheme %s", name_len > 0 ? shown : "(empty)");
		return PGD_HASH_UNSUPPORTED;
	}
	set_scheme(info, s->name);

	if (!decode_value(s, enc, explicit_enc, value, &raw, &res, info))
		return res;
	res = verify_raw(s, &raw, password, policy, info);
	raw_release(&raw);
	return res;
}

static void hex_encode(const unsigned char *in, size_t len, char *out)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < len; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 0x0f];
	}
	out[2 * len] = '\0';
}

static void b64_encode(const unsigned char *in, size_t len, char *out)
{
	size_t o = 0;

	for (size_t i = 0; i < len; i += 3) {
		unsigned long w = (unsigned long)in[i] << 16;

		if (i + 1 < len)
			w |= (unsigned long)in[i + 1] << 8;
		if (i + 2 < len)
			w |= in[i + 2];
		out[o++] = b64_alphabet[(w >> 18) & 0x3f];
		out[o++] = b64_alphabet[(w >> 12) & 0x3f];
		out[o++] = i + 1 < len ? b64_alphabet[(w >> 6) & 0x3f] : '=';
		out[o++] = i + 2 < len ? b64_alphabet[w & 0x3f] : '=';
	}
	out[o] = '\0';
}

/* Hashes password for a crypt scheme into a heap string; NULL with *res set on failure. */
static char *generate_crypt(const struct scheme *s, const char *password, unsigned long rounds,
                            enum pgd_hash_result *res)
{
	char salt[CRYPT_GENSALT_OUTPUT_SIZE];
	char *copy = NULL;

	errno = 0;
	if (crypt_gensalt_rn(s->crypt_prefix, rounds, NULL, 0, salt, (int)sizeof(salt)) == NULL) {
		*res = errno == ENOMEM ? PGD_HASH_NOMEM : PGD_HASH_UNSUPPORTED;
		return NULL;
	}
	if (s->generator == GEN_MD5_CRYPT) {
		char out[MD5CRYPT_OUT_LEN];

		if (md5crypt(password, salt, out))
			copy = strdup(out);
		else
			*res = PGD_HASH_UNSUPPORTED;
		pgd_wipe(out, sizeof(out));
	} else {
		struct crypt_data *cd = calloc(1, sizeof(*cd));
		const char *out = NULL;

		if (cd != NULL)
			out = crypt_rn(password, salt, cd, (int)sizeof(*cd));
		if (cd == NULL)
			*res = PGD_HASH_NOMEM;
		else if (out == NULL || out[0] == '*')
			*res = PGD_HASH_UNSUPPORTED;
		else
			copy = strdup(out);
		if (cd != NULL) {
			pgd_wipe(cd, sizeof(*cd));
			free(cd);
		}
	}
	if (copy == NULL && *res == PGD_HASH_MATCH)
		*res = PGD_HASH_NOMEM;
	pgd_wipe(salt, sizeof(salt));
	return copy;
}

enum pgd_hash_result pgd_hash_generate(const char *scheme, const char *password,
                                       unsigned long rounds, char **out)
{
	const struct scheme *s;
	enum encoding enc;
	bool explicit_enc;
	unsigned char digest[MD5_LEN];
	const unsigned char *raw = NULL;
	size_t raw_len = 0, name_len, enc_len;
	char *crypted = NULL;
	enum pgd_hash_result res = PGD_HASH_MATCH;

	if (out == NULL)
		return PGD_HASH_MALFORMED;
	*out = NULL;
	if (scheme == NULL || password == NULL)
		return PGD_HASH_MALFORMED;
	name_len = strlen(scheme);
	s = scheme_lookup(scheme, name_len, &enc, &explicit_enc);
	if (s == NULL)
		return PGD_HASH_UNSUPPORTED;
	if (rounds == 0)
		rounds = s->rounds_default;
	else if (rounds < s->rounds_min || rounds > s->rounds_max)
		return PGD_HASH_MALFORMED;

	switch (s->generator) {
	case GEN_CRYPT:
	case GEN_MD5_CRYPT:
		crypted = generate_crypt(s, password, rounds, &res);
		if (crypted == NULL)
			return res;
		raw = (const unsigned char *)crypted;
		raw_len = strlen(crypted);
		break;
	case GEN_PLAIN:
		raw = (const unsigned char *)password;
		raw_len = strlen(password);
		break;
	case GEN_PLAIN_MD5:
		if (!md5_digest(password, strlen(password), digest))
			return PGD_HASH_UNSUPPORTED;
		raw = digest;
		raw_len = sizeof(digest);
		break;
	}

	enc_len = enc == ENC_HEX      ? raw_len * 2
	          : enc == ENC_BASE64 ? (raw_len + 2) / 3 * 4
	                              : raw_len;
	*out = malloc(name_len + 2 + enc_len + 1);
	if (*out == NULL) {
		res = PGD_HASH_NOMEM;
	} else {
		char *p = *out;

		/* doveadm pw prints the name it was given in upper case, suffix included */
		*p++ = '{';
		for (size_t i = 0; i < name_len; i++)
			*p++ = (char)ascii_upper((unsigned char)scheme[i]);
		*p++ = '}';
		if (enc == ENC_HEX) {
			hex_encode(raw, raw_len, p);
		} else if (enc == ENC_BASE64) {
			b64_encode(raw, raw_len, p);
		} else {
			memcpy(p, raw, raw_len);
			p[raw_len] = '\0';
		}
	}
	pgd_wipe(digest, sizeof(digest));
	pgd_free_secret(crypted);
	return res;
}

bool pgd_hash_scheme_known(const char *name)
{
	enum encoding enc;
	bool explicit_enc;

	return name != NULL && scheme_lookup(name, strlen(name), &enc, &explicit_enc) != NULL;
}

const char *pgd_hash_result_str(enum pgd_hash_result r)
{
	switch (r) {
	case PGD_HASH_MATCH:
		return "match";
	case PGD_HASH_MISMATCH:
		return "mismatch";
	case PGD_HASH_MALFORMED:
		return "malformed stored hash";
	case PGD_HASH_UNSUPPORTED:
		return "unsupported scheme";
	case PGD_HASH_TOO_COSTLY:
		return "hash cost above cap";
	case PGD_HASH_NOMEM:
		return "out of memory";
	}
	return "unknown result";
}
