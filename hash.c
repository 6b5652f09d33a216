// SPDX-License-Identifier: MIT
/*
 * Dovecot 2.3 password schemes, reimplemented from the behaviour of src/auth/password-scheme*.c
 * and checked against `doveadm pw` (tests/vectors/). This file reads "{SCHEME.enc}value",
 * decodes it and hands it to the scheme; the schemes live in hash_crypt.c (crypt(3) family),
 * hash_digest.c (libcrypto digests, PBKDF2, SCRAM), hash_cram.c, hash_otp.c and hash_argon2.c.
 *
 * How Dovecot's SQL passdb reads a password column, which is what we copy:
 *   - auth_request_set_password(): a value that starts with '{' and contains '}' keeps its
 *     prefix; any other value gets "{default_pass_scheme}" put in front of it. So the bare
 *     "$1$salt$hash$junk" rule of password_get_scheme() never applies to SQL rows: with the
 *     default MD5 such a row is verified by md5_verify() on the whole string.
 *   - password_decode(): ".b64"/".base64"/".hex" suffixes; schemes with a fixed digest length
 *     guess hex (exactly twice the length) or base64, and the decoded length must match.
 *   - password_verify(): a scheme with its own verifier uses it; the others (SHA*, PLAIN-MD*,
 *     CRAM-MD5, DIGEST-MD5, PLAIN) make the value from the password and compare the bytes.
 *   - Schemes Dovecot 2.3.19 dropped (NTLM, LANMAN, RPA, SKEY) are unknown schemes, as there.
 */
#include "hash.h"
#include "hash/hash_impl.h"
#include "hash/hash_policy.h"
#include "util/secret.h"

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

/* Longest scheme name given to pgd_hash_generate_ex (a command line, never a stored value)
 * that we echo in a detail line. */
#define NAME_ECHO_MAX 40

static enum pgd_hash_result verify_plain_trunc(const struct pgd_scheme *s,
                                               const struct pgd_raw *raw, const char *password,
                                               const struct pgd_hash_policy *policy,
                                               struct pgd_hash_info *info);
static enum pgd_hash_result generate_plain(const struct pgd_scheme *s, const char *password,
                                           const char *user, unsigned long rounds,
                                           struct pgd_raw *out, struct pgd_hash_info *info);

static enum pgd_hash_result generate_plain_trunc(const struct pgd_scheme *s, const char *password,
                                                 const char *user, unsigned long rounds,
                                                 struct pgd_raw *out, struct pgd_hash_info *info);

#define SHA_CRYPT_ROUNDS 5000, 1000, 999999999
#define BLF_COST 5, 4, 31
#define NO_ROUNDS 0, 0, 0

/* Dovecot 2.3.19's list (doveadm pw -l), in that program's spelling. */
static const struct pgd_scheme schemes[] = {
    {"SHA512-CRYPT", PGD_ENC_NONE, 0, pgd_verify_crypt, pgd_generate_crypt, PGD_DIGEST_NONE, "$6$",
     SHA_CRYPT_ROUNDS},
    {"SHA256-CRYPT", PGD_ENC_NONE, 0, pgd_verify_crypt, pgd_generate_crypt, PGD_DIGEST_NONE, "$5$",
     SHA_CRYPT_ROUNDS},
    {"BLF-CRYPT", PGD_ENC_NONE, 0, pgd_verify_blf, pgd_generate_crypt, PGD_DIGEST_NONE, "$2y$",
     BLF_COST},
    /* Dovecot generates bcrypt for plain CRYPT too. */
    {"CRYPT", PGD_ENC_NONE, 0, pgd_verify_crypt, pgd_generate_crypt, PGD_DIGEST_NONE, "$2y$",
     BLF_COST},
    {"DES-CRYPT", PGD_ENC_NONE, 0, pgd_verify_crypt, pgd_generate_crypt, PGD_DIGEST_NONE, "",
     NO_ROUNDS},
    {"MD5-CRYPT", PGD_ENC_NONE, 0, pgd_verify_md5_crypt, pgd_generate_md5_crypt, PGD_DIGEST_NONE,
     "$1$", NO_ROUNDS},
    {"MD5", PGD_ENC_NONE, 0, pgd_verify_md5, pgd_generate_md5_crypt, PGD_DIGEST_NONE, "$1$",
     NO_ROUNDS},
    {"PLAIN-MD5", PGD_ENC_HEX, 16, NULL, pgd_generate_digest, PGD_DIGEST_MD5, NULL, NO_ROUNDS},
    {"LDAP-MD5", PGD_ENC_BASE64, 16, NULL, pgd_generate_digest, PGD_DIGEST_MD5, NULL, NO_ROUNDS},
    {"PLAIN-MD4", PGD_ENC_HEX, 16, NULL, pgd_generate_digest, PGD_DIGEST_MD4, NULL, NO_ROUNDS},
    {"SHA", PGD_ENC_BASE64, 20, NULL, pgd_generate_digest, PGD_DIGEST_SHA1, NULL, NO_ROUNDS},
    {"SHA1", PGD_ENC_BASE64, 20, NULL, pgd_generate_digest, PGD_DIGEST_SHA1, NULL, NO_ROUNDS},
    {"SHA256", PGD_ENC_BASE64, 32, NULL, pgd_generate_digest, PGD_DIGEST_SHA256, NULL, NO_ROUNDS},
    {"SHA512", PGD_ENC_BASE64, 64, NULL, pgd_generate_digest, PGD_DIGEST_SHA512, NULL, NO_ROUNDS},
    {"SMD5", PGD_ENC_BASE64, 0, pgd_verify_salted, pgd_generate_salted, PGD_DIGEST_MD5, NULL,
     NO_ROUNDS},
    {"SSHA", PGD_ENC_BASE64, 0, pgd_verify_salted, pgd_generate_salted, PGD_DIGEST_SHA1, NULL,
     NO_ROUNDS},
    {"SSHA256", PGD_ENC_BASE64, 0, pgd_verify_salted, pgd_generate_salted, PGD_DIGEST_SHA256, NULL,
     NO_ROUNDS},
    {"SSHA512", PGD_ENC_BASE64, 0, pgd_verify_salted, pgd_generate_salted, PGD_DIGEST_SHA512, NULL,
     NO_ROUNDS},
    {"PBKDF2", PGD_ENC_NONE, 0, pgd_verify_pbkdf2, pgd_generate_pbkdf2, PGD_DIGEST_SHA1, NULL, 5000,
     1, 4294967295UL},
    {"SCRAM-SHA-1", PGD_ENC_NONE, 0, pgd_verify_scram, pgd_generate_scram, PGD_DIGEST_SHA1, NULL,
     4096, 1, 2147483647UL},
    {"SCRAM-SHA-256", PGD_ENC_NONE, 0, pgd_verify_scram, pgd_generate_scram, PGD_DIGEST_SHA256,
     NULL, 4096, 1, 2147483647UL},
    {"ARGON2I", PGD_ENC_NONE, 0, pgd_verify_argon2, pgd_generate_argon2, PGD_DIGEST_NONE,
     "$argon2i$", 4, 3, 4294967295UL},
    {"ARGON2ID", PGD_ENC_NONE, 0, pgd_verify_argon2, pgd_generate_argon2, PGD_DIGEST_NONE,
     "$argon2id$", 2, 1, 4294967295UL},
    /* Dovecot 2.4: either variant, read from the value; made as argon2id (hash_policy.c
     * refuses it under 2.3's rules). */
    {"ARGON2", PGD_ENC_NONE, 0, pgd_verify_argon2, pgd_generate_argon2, PGD_DIGEST_NONE,
     "$argon2id$", 2, 1, 4294967295UL},
    {"CRAM-MD5", PGD_ENC_HEX, 32, NULL, pgd_generate_cram_md5, PGD_DIGEST_MD5, NULL, NO_ROUNDS},
    {"HMAC-MD5", PGD_ENC_HEX, 32, NULL, pgd_generate_cram_md5, PGD_DIGEST_MD5, NULL, NO_ROUNDS},
    {"DIGEST-MD5", PGD_ENC_HEX, 16, NULL, pgd_generate_digest_md5, PGD_DIGEST_MD5, NULL, NO_ROUNDS},
    {"OTP", PGD_ENC_NONE, 0, pgd_verify_otp, pgd_generate_otp, PGD_DIGEST_SHA1, NULL, NO_ROUNDS},
    {"PLAIN", PGD_ENC_NONE, 0, NULL, generate_plain, PGD_DIGEST_NONE, NULL, NO_ROUNDS},
    {"CLEAR", PGD_ENC_NONE, 0, NULL, generate_plain, PGD_DIGEST_NONE, NULL, NO_ROUNDS},
    {"CLEARTEXT", PGD_ENC_NONE, 0, NULL, generate_plain, PGD_DIGEST_NONE, NULL, NO_ROUNDS},
    {"PLAIN-TRUNC", PGD_ENC_NONE, 0, verify_plain_trunc, generate_plain_trunc, PGD_DIGEST_NONE,
     NULL, NO_ROUNDS},
};

#define N_SCHEMES (sizeof(schemes) / sizeof(schemes[0]))

static const char b64_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
static const char crypt_alphabet[] =
    "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

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

void pgd_hash_set_detail(struct pgd_hash_info *info, const char *fmt, ...)
{
	va_list ap;

	if (info == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(info->detail, sizeof(info->detail), fmt, ap);
	va_end(ap);
}

enum pgd_hash_result pgd_hash_too_costly(struct pgd_hash_info *info, const char *cap_key,
                                         unsigned long cap, const char *fmt, ...)
{
	va_list ap;

	if (info != NULL) {
		va_start(ap, fmt);
		vsnprintf(info->detail, sizeof(info->detail), fmt, ap);
		va_end(ap);
		info->cap_key = cap_key;
		info->cap = cap;
	}
	return PGD_HASH_TOO_COSTLY;
}

static void set_scheme(struct pgd_hash_info *info, const char *name)
{
	if (info != NULL)
		snprintf(info->scheme, sizeof(info->scheme), "%s", name);
}

unsigned long pgd_policy_cap(unsigned long value, unsigned long fallback)
{
	return value != 0 ? value : fallback;
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

/* The canonical name if name (len bytes, any case, a suffix allowed) is one of the schemes
 * Dovecot 2.3.14 dropped, else NULL. */
static const char *dropped_scheme(const char *name, size_t len)
{
	static const char *const dropped[] = {"NTLM", "LANMAN", "RPA", "SKEY"};
	const char *dot = memchr(name, '.', len);
	size_t base_len = dot != NULL ? (size_t)(dot - name) : len;

	for (size_t i = 0; i < sizeof(dropped) / sizeof(dropped[0]); i++)
		if (ascii_caseeq(name, base_len, dropped[i]))
			return dropped[i];
	return NULL;
}

/* False for a scheme in the table whose library this build lacks. */
/*
 * The detail for a scheme name we do not know. The name is part of the stored value: with
 * default_pass_scheme = PLAIN a "{Tr0ub4dor}&3" is a password. Only its length is told, or
 * which of the schemes Dovecot dropped it is (a constant, as a known scheme's name is).
 */
static void unknown_scheme_detail(struct pgd_hash_info *info, const char *name, size_t name_len)
{
	const char *dropped = dropped_scheme(name, name_len);

	if (dropped != NULL)
		pgd_hash_set_detail(info, "unknown scheme %s (Dovecot 2.3.14 dropped it)", dropped);
	else if (name_len == 0)
		pgd_hash_set_detail(info, "unknown scheme (empty)");
	else
		pgd_hash_set_detail(info, "unknown scheme (a name of %zu bytes)", name_len);
}

static bool scheme_built(const struct pgd_scheme *s)
{
	return s->verify != pgd_verify_argon2 || pgd_argon2_available();
}

/*
 * Finds the scheme for "NAME[.SUFFIX]" (len bytes, not NUL-terminated) as Dovecot's
 * password_scheme_lookup() does: the name ends at the first '.', an unknown suffix makes the
 * whole scheme unknown. Returns NULL if unknown; *explicit_enc says whether a suffix was given.
 */
static const struct pgd_scheme *scheme_lookup(const char *name, size_t len, enum pgd_encoding *enc,
                                              bool *explicit_enc)
{
	const char *dot = memchr(name, '.', len);
	size_t base_len = dot != NULL ? (size_t)(dot - name) : len;
	const struct pgd_scheme *found = NULL;

	for (size_t i = 0; i < N_SCHEMES; i++) {
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
		*enc = PGD_ENC_BASE64;
	else if (ascii_caseeq(suffix, suffix_len, "hex"))
		*enc = PGD_ENC_HEX;
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
bool pgd_hex_decode(const char *in, size_t len, unsigned char *out, size_t *out_len)
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
bool pgd_b64_decode(const char *in, size_t len, unsigned char *out, size_t *out_len)
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

void pgd_hex_encode(const unsigned char *in, size_t len, char *out)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < len; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 0x0f];
	}
	out[2 * len] = '\0';
}

void pgd_b64_encode(const unsigned char *in, size_t len, char *out)
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

bool pgd_raw_alloc(struct pgd_raw *out, size_t size)
{
	*out = (struct pgd_raw){0};
	out->heap = calloc(1, size + 1);
	if (out->heap == NULL)
		return false;
	out->heap_size = size + 1;
	out->data = out->heap;
	return true;
}

bool pgd_raw_set(struct pgd_raw *out, const void *data, size_t len)
{
	if (!pgd_raw_alloc(out, len))
		return false;
	if (len > 0)
		memcpy(out->heap, data, len);
	out->len = len;
	return true;
}

void pgd_raw_release(struct pgd_raw *raw)
{
	if (raw->heap != NULL) {
		pgd_wipe(raw->heap, raw->heap_size);
		free(raw->heap);
	}
	*raw = (struct pgd_raw){0};
}

bool pgd_random_bytes(void *buf, size_t len)
{
	unsigned char *p = buf;

	while (len > 0) {
		ssize_t n = getrandom(p, len, 0);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return false;
		p += n;
		len -= (size_t)n;
	}
	return true;
}

bool pgd_random_salt(char *out, size_t len)
{
	unsigned char *bytes = (unsigned char *)out;

	if (!pgd_random_bytes(out, len))
		return false;
	/* 256 is a multiple of 64: no bias */
	for (size_t i = 0; i < len; i++)
		out[i] = crypt_alphabet[bytes[i] % 64];
	out[len] = '\0';
	return true;
}

/*
 * Decodes value for scheme s as Dovecot's password_decode() does. On success fills raw, which
 * the caller releases, and returns true; otherwise sets *res and the detail and returns false.
 */
static bool decode_value(const struct pgd_scheme *s, enum pgd_encoding enc, bool explicit_enc,
                         const char *value, struct pgd_raw *raw, enum pgd_hash_result *res,
                         struct pgd_hash_info *info)
{
	size_t len = strlen(value);
	bool guessed = false;
	bool ok = false;

	*raw = (struct pgd_raw){.data = (const unsigned char *)value, .len = len};
	if (enc != PGD_ENC_NONE && s->raw_len != 0 && !explicit_enc) {
		/* Dovecot guesses: exactly twice the digest length is hex, anything else base64 */
		enc = len == s->raw_len * 2 ? PGD_ENC_HEX : PGD_ENC_BASE64;
		guessed = true;
	}
	if (enc != PGD_ENC_NONE) {
		/* big enough for either decoding, plus the NUL the crypt verifiers rely on */
		if (!pgd_raw_alloc(raw, len / 2 + len / 4 + 4)) {
			*res = PGD_HASH_NOMEM;
			return false;
		}
		if (enc == PGD_ENC_HEX) {
			ok = pgd_hex_decode(value, len, raw->heap, &raw->len);
			if (!ok && !guessed) {
				pgd_hash_set_detail(info, "stored value is not valid hex");
				*res = PGD_HASH_MALFORMED;
				pgd_raw_release(raw);
				return false;
			}
		}
		/* a guessed hex that is not hex may still be base64 */
		if (!ok && !pgd_b64_decode(value, len, raw->heap, &raw->len)) {
			pgd_hash_set_detail(info, "stored value is not valid base64");
			*res = PGD_HASH_MALFORMED;
			pgd_raw_release(raw);
			return false;
		}
		raw->heap[raw->len] = '\0';
	}
	if (s->raw_len != 0 && raw->len != s->raw_len) {
		pgd_hash_set_detail(info, "decoded length %zu instead of %zu", raw->len,
		                    s->raw_len);
		*res = PGD_HASH_MALFORMED;
		pgd_raw_release(raw);
		return false;
	}
	return true;
}

static enum pgd_hash_result generate_plain(const struct pgd_scheme *s, const char *password,
                                           const char *user, unsigned long rounds,
                                           struct pgd_raw *out, struct pgd_hash_info *info)
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
static enum pgd_hash_result generate_plain_trunc(const struct pgd_scheme *s, const char *password,
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
static enum pgd_hash_result verify_plain_trunc(const struct pgd_scheme *s,
                                               const struct pgd_raw *raw, const char *password,
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
static enum pgd_hash_result verify_generated(const struct pgd_scheme *s, const struct pgd_raw *raw,
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

enum pgd_hash_result pgd_verify_plain_md5_str(const char *value, const char *password,
                                              const struct pgd_hash_policy *policy,
                                              struct pgd_hash_info *info)
{
	enum pgd_encoding enc;
	bool explicit_enc;
	const struct pgd_scheme *s = scheme_lookup("PLAIN-MD5", 9, &enc, &explicit_enc);
	enum pgd_hash_result res = PGD_HASH_MALFORMED;
	struct pgd_raw digest;

	if (!decode_value(s, enc, explicit_enc, value, &digest, &res, info))
		return res;
	res =
	    policy->dry_run ? PGD_HASH_MATCH : verify_generated(s, &digest, password, policy, info);
	pgd_raw_release(&digest);
	return res;
}

/*
 * Dovecot's reading of a stored value (auth_request_set_password(): only "{...}..." keeps its
 * own scheme, anything else, and everything with noscheme, is in default_scheme): finds the
 * scheme and decodes the value into
 * *raw, which the caller releases. False with *res and info's detail set when the scheme is
 * unknown, not built or the value does not decode; *raw is then empty.
 */
static bool read_stored(const char *stored, const char *default_scheme, bool noscheme,
                        const struct pgd_scheme **scheme, struct pgd_raw *raw,
                        enum pgd_hash_result *res, struct pgd_hash_info *info)
{
	const char *name, *value, *brace;
	size_t name_len;
	const struct pgd_scheme *s;
	enum pgd_encoding enc;
	bool explicit_enc;

	*raw = (struct pgd_raw){0};
	*res = PGD_HASH_MALFORMED;
	brace = stored[0] == '{' && !noscheme ? strchr(stored, '}') : NULL;
	if (brace != NULL) {
		name = stored + 1;
		name_len = (size_t)(brace - name);
		value = brace + 1;
	} else {
		name = default_scheme != NULL ? default_scheme : "MD5";
		name_len = strlen(name);
		value = stored;
	}
	s = scheme_lookup(name, name_len, &enc, &explicit_enc);
	if (s == NULL) {
		unknown_scheme_detail(info, name, name_len);
		*res = PGD_HASH_UNSUPPORTED;
		return false;
	}
	set_scheme(info, s->name);
	if (!scheme_built(s)) {
		pgd_hash_set_detail(info, "%s needs libsodium, which this build lacks", s->name);
		*res = PGD_HASH_UNSUPPORTED;
		return false;
	}
	if (!decode_value(s, enc, explicit_enc, value, raw, res, info))
		return false;
	*scheme = s;
	return true;
}

/* Empties info; false (info says why) when there is no stored value to read. */
static bool start_reading(const char *stored, struct pgd_hash_info *info)
{
	if (info != NULL) {
		info->scheme[0] = '\0';
		info->detail[0] = '\0';
		info->policy_refused = NULL;
	}
	if (stored == NULL || stored[0] == '\0') {
		pgd_hash_set_detail(info, "empty stored value");
		return false;
	}
	return true;
}

enum pgd_hash_result pgd_hash_verify(const char *stored, const char *password,
                                     const struct pgd_hash_policy *policy,
                                     struct pgd_hash_info *info)
{
	static const struct pgd_hash_policy defaults = {0};
	const struct pgd_scheme *s = NULL;
	struct pgd_raw raw;
	enum pgd_hash_result res;

	if (policy == NULL)
		policy = &defaults;
	if (!start_reading(stored, info))
		return PGD_HASH_MALFORMED;
	if (password == NULL)
		return PGD_HASH_MISMATCH;
	if (!read_stored(stored, policy->default_scheme, policy->noscheme, &s, &raw, &res, info))
		return res;
	res = pgd_hash_policy_check(s->name, raw.data, raw.len, policy, info);
	if (res == PGD_HASH_MATCH)
		res = s->verify != NULL ? s->verify(s, &raw, password, policy, info)
		                        : verify_generated(s, &raw, password, policy, info);
	pgd_raw_release(&raw);
	return res;
}

/* Appends to out at *at; false (and out emptied) when it does not fit. */
static bool fingerprint_add(char *out, size_t outlen, size_t *at, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static bool fingerprint_add(char *out, size_t outlen, size_t *at, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (*at >= outlen)
		return false;
	va_start(ap, fmt);
	n = vsnprintf(out + *at, outlen - *at, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= outlen - *at) {
		if (outlen > 0)
			out[0] = '\0';
		*at = outlen;
		return false;
	}
	*at += (size_t)n;
	return true;
}

bool pgd_hash_policy_fingerprint(const struct pgd_hash_policy *policy, char *out, size_t outlen)
{
	size_t at = 0;
	bool ok = outlen > 0;

	if (ok)
		out[0] = '\0';
		/* A string as name=LEN:bytes; (name=-; for NULL), a number as name=VALUE; */
#define STR(name)                                                                                  \
	ok = ok && (policy->name != NULL ? fingerprint_add(out, outlen, &at, #name "=%zu:%s;",     \
	                                                   strlen(policy->name), policy->name)     \
	                                 : fingerprint_add(out, outlen, &at, #name "=-;"));
#define NUM(type, name)                                                                            \
	ok = ok &&                                                                                 \
	     fingerprint_add(out, outlen, &at, #name "=%llu;", (unsigned long long)policy->name);
	PGD_HASH_POLICY_FIELDS(STR, NUM)
#undef STR
#undef NUM
	return ok;
}

enum pgd_hash_result pgd_hash_inspect(const char *stored, const struct pgd_hash_policy *policy,
                                      struct pgd_hash_info *info)
{
	static const struct pgd_hash_policy defaults = {0};
	const struct pgd_scheme *s = NULL;
	struct pgd_raw raw;
	enum pgd_hash_result res;

	if (policy == NULL)
		policy = &defaults;
	if (!start_reading(stored, info))
		return PGD_HASH_MALFORMED;
	if (!read_stored(stored, policy->default_scheme, policy->noscheme, &s, &raw, &res, info))
		return res;
	/* the release's scheme rules first, as pgd_hash_verify applies them */
	res = pgd_hash_policy_check(s->name, raw.data, raw.len, policy, info);
	if (res == PGD_HASH_MATCH && s->verify != NULL) {
		/* The verifier's own checks and caps, stopped before it hashes (PLAIN-TRUNC, which
		 * hashes nothing, compares "": a mismatch then says every check passed). */
		struct pgd_hash_policy dry = *policy;

		dry.dry_run = true;
		res = s->verify(s, &raw, "", &dry, info);
		if (res == PGD_HASH_MISMATCH) {
			res = PGD_HASH_MATCH;
			if (info != NULL)
				info->detail[0] = '\0';
		}
	}
	pgd_raw_release(&raw);
	return res;
}

bool pgd_hash_decode_stored(const char *stored, const char *default_scheme,
                            const char **scheme_name, struct pgd_raw *raw)
{
	const struct pgd_scheme *s = NULL;
	enum pgd_hash_result res;

	*raw = (struct pgd_raw){0};
	if (stored == NULL || stored[0] == '\0' ||
	    !read_stored(stored, default_scheme, false, &s, raw, &res, NULL))
		return false;
	*scheme_name = s->name;
	return true;
}

enum pgd_hash_result pgd_hash_generate_ex(const char *scheme, const char *password,
                                          const char *user, unsigned long rounds, char **out,
                                          struct pgd_hash_info *info)
{
	const struct pgd_scheme *s;
	enum pgd_encoding enc;
	bool explicit_enc;
	struct pgd_raw raw = {0};
	size_t name_len, enc_len;
	enum pgd_hash_result res;

	if (info != NULL) {
		info->scheme[0] = '\0';
		info->detail[0] = '\0';
	}
	if (out == NULL)
		return PGD_HASH_MALFORMED;
	*out = NULL;
	if (scheme == NULL || password == NULL)
		return PGD_HASH_MALFORMED;
	name_len = strlen(scheme);
	s = scheme_lookup(scheme, name_len, &enc, &explicit_enc);
	if (s == NULL) {
		char shown[NAME_ECHO_MAX + 4];

		sanitize_name(scheme, name_len, shown);
		pgd_hash_set_detail(info, "unknown scheme %s", name_len > 0 ? shown : "(empty)");
		return PGD_HASH_UNSUPPORTED;
	}
	set_scheme(info, s->name);
	if (!scheme_built(s)) {
		pgd_hash_set_detail(info, "%s needs libsodium, which this build lacks", s->name);
		return PGD_HASH_UNSUPPORTED;
	}
	if (rounds != 0 && (rounds < s->rounds_min || rounds > s->rounds_max)) {
		if (s->rounds_max == 0)
			pgd_hash_set_detail(info, "%s takes no rounds", s->name);
		else
			pgd_hash_set_detail(info, "%s rounds must be %lu to %lu", s->name,
			                    s->rounds_min, s->rounds_max);
		return PGD_HASH_MALFORMED;
	}

	res = s->generate(s, password, user, rounds, &raw, info);
	if (res != PGD_HASH_MATCH) {
		pgd_raw_release(&raw);
		return res;
	}
	enc_len = enc == PGD_ENC_HEX      ? raw.len * 2
	          : enc == PGD_ENC_BASE64 ? (raw.len + 2) / 3 * 4
	                                  : raw.len;
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
		if (enc == PGD_ENC_HEX) {
			pgd_hex_encode(raw.data, raw.len, p);
		} else if (enc == PGD_ENC_BASE64) {
			pgd_b64_encode(raw.data, raw.len, p);
		} else {
			memcpy(p, raw.data, raw.len);
			p[raw.len] = '\0';
		}
	}
	pgd_raw_release(&raw);
	return res;
}

enum pgd_hash_result pgd_hash_generate(const char *scheme, const char *password,
                                       unsigned long rounds, char **out)
{
	return pgd_hash_generate_ex(scheme, password, NULL, rounds, out, NULL);
}

bool pgd_hash_scheme_known(const char *name)
{
	enum pgd_encoding enc;
	bool explicit_enc;
	const struct pgd_scheme *s;

	if (name == NULL)
		return false;
	s = scheme_lookup(name, strlen(name), &enc, &explicit_enc);
	return s != NULL && scheme_built(s);
}

const char *pgd_hash_scheme_name(size_t i)
{
	for (size_t k = 0; k < N_SCHEMES; k++) {
		if (!scheme_built(&schemes[k]))
			continue;
		if (i-- == 0)
			return schemes[k].name;
	}
	return NULL;
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
