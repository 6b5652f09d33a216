// SPDX-License-Identifier: MIT
/*
 * Dovecot 2.3 password schemes, reimplemented from the behaviour of src/auth/password-scheme*.c
 * and checked against `doveadm pw` (tests/vectors/). This file reads "{SCHEME.enc}value",
 * decodes it and hands it to the scheme: the scheme table and the dispatch. The schemes live in
 * hash/: hash_crypt.c (crypt(3) family), hash_digest.c (libcrypto digests, PBKDF2, SCRAM),
 * hash_cram.c, hash_otp.c, hash_argon2.c and hash_plain.c; the codecs in codec.c, the detail
 * line and the policy's fingerprint in verdict.c, the release's scheme rules in hash_policy.c.
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
#include "util/printable.h"
#include "util/str.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Longest scheme name given to pgd_hash_generate_ex (a command line, never a stored value)
 * that we echo in a detail line. */
#define NAME_ECHO_MAX 40

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
    {"PLAIN", PGD_ENC_NONE, 0, NULL, pgd_generate_plain, PGD_DIGEST_NONE, NULL, NO_ROUNDS},
    {"CLEAR", PGD_ENC_NONE, 0, NULL, pgd_generate_plain, PGD_DIGEST_NONE, NULL, NO_ROUNDS},
    {"CLEARTEXT", PGD_ENC_NONE, 0, NULL, pgd_generate_plain, PGD_DIGEST_NONE, NULL, NO_ROUNDS},
    {"PLAIN-TRUNC", PGD_ENC_NONE, 0, pgd_verify_plain_trunc, pgd_generate_plain_trunc,
     PGD_DIGEST_NONE, NULL, NO_ROUNDS},
};

#define N_SCHEMES (sizeof(schemes) / sizeof(schemes[0]))

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

static void set_scheme(struct pgd_hash_info *info, const char *name)
{
	if (info != NULL)
		snprintf(info->scheme, sizeof(info->scheme), "%s", name);
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

/* False for a scheme in the table whose library this build lacks. */
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
	if (!pgd_value_decode(enc, explicit_enc, s->raw_len, value, raw, res, info))
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
	if (!pgd_str_set(stored)) {
		pgd_hash_set_detail(info, "empty stored value");
		return false;
	}
	return true;
}

/*
 * What pgd_hash_verify and pgd_hash_inspect do before the verifier: info emptied, stored read
 * under *policy (NULL: the defaults, put there), the release's scheme rules applied. True with
 * *s and *raw (released by the caller) when the verifier is next; false with *res the answer
 * and *raw empty.
 */
static bool read_for_verifier(const char *stored, bool have_password,
                              const struct pgd_hash_policy **policy, const struct pgd_scheme **s,
                              struct pgd_raw *raw, enum pgd_hash_result *res,
                              struct pgd_hash_info *info)
{
	static const struct pgd_hash_policy defaults = {0};

	*raw = (struct pgd_raw){0};
	if (*policy == NULL)
		*policy = &defaults;
	*res = PGD_HASH_MALFORMED;
	if (!start_reading(stored, info))
		return false;
	*res = PGD_HASH_MISMATCH;
	if (!have_password)
		return false;
	if (!read_stored(stored, (*policy)->default_scheme, (*policy)->noscheme, s, raw, res, info))
		return false;
	*res = pgd_hash_policy_check((*s)->name, raw->data, raw->len, *policy, info);
	if (*res == PGD_HASH_MATCH)
		return true;
	pgd_raw_release(raw);
	return false;
}

enum pgd_hash_result pgd_hash_verify(const char *stored, const char *password,
                                     const struct pgd_hash_policy *policy,
                                     struct pgd_hash_info *info)
{
	const struct pgd_scheme *s = NULL;
	struct pgd_raw raw;
	enum pgd_hash_result res;

	if (!read_for_verifier(stored, password != NULL, &policy, &s, &raw, &res, info))
		return res;
	res = s->verify != NULL ? s->verify(s, &raw, password, policy, info)
	                        : pgd_verify_generated(s, &raw, password, policy, info);
	pgd_raw_release(&raw);
	return res;
}

enum pgd_hash_result pgd_hash_inspect(const char *stored, const struct pgd_hash_policy *policy,
                                      struct pgd_hash_info *info)
{
	const struct pgd_scheme *s = NULL;
	struct pgd_raw raw;
	enum pgd_hash_result res;

	/* the release's scheme rules first, as pgd_hash_verify applies them */
	if (!read_for_verifier(stored, true, &policy, &s, &raw, &res, info))
		return res;
	if (s->verify != NULL) {
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
	if (!pgd_str_set(stored) ||
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
		/* shortened and escaped, so that a log line cannot be forged or flooded through it
		 */
		char shown[NAME_ECHO_MAX * 4 + 1];

		pgd_printable_n(scheme, NAME_ECHO_MAX, shown, sizeof(shown), PGD_PRINT_BLANKS);
		pgd_hash_set_detail(info, "unknown scheme %s%s", name_len > 0 ? shown : "(empty)",
		                    name_len > NAME_ECHO_MAX ? "..." : "");
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
