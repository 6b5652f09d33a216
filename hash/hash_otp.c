// SPDX-License-Identifier: MIT
/*
 * OTP (RFC 2289 S/KEY successor) as Dovecot 2.3 stores it: "algo seq seed hash", algo one of
 * md4, md5, sha1; hash = 16 hex digits of the 64-bit value after seq+1 folded hashes of
 * seed || password. The folding is RFC 2289's (and Dovecot's lib-otp: SHA-1 words are
 * byte-swapped); no library does it, so the few lines below do, on libcrypto's digests.
 *
 * Dovecot verifies by rebuilding the entry from its parsed fields and comparing the text,
 * ignoring case: any other spacing or spelling of the same numbers is a mismatch.
 */
#include "hash/hash_impl.h"
#include "util/secret.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define OTP_HASH_LEN 8
#define OTP_SEED_MAX 16
#define OTP_DEFAULT_SEQ 1024
/* "sha1 " + "-2147483648 " + 16 + " " + 16 + NUL */
#define OTP_ENTRY_MAX 64

struct otp_state {
	enum pgd_digest digest;
	const char *algo;
	long seq;
	char seed[OTP_SEED_MAX + 1];
	unsigned char hash[OTP_HASH_LEN];
};

static bool is_lws(char c)
{
	return c == ' ' || c == '\t';
}

static bool is_alnum(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static char ascii_lower(char c)
{
	return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

static int hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = ascii_lower(c);
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Dovecot's otp_parse_dbentry(). */
static bool otp_parse(const char *p, struct otp_state *st)
{
	static const struct {
		const char *name;
		enum pgd_digest digest;
	} algos[] = {{"md4", PGD_DIGEST_MD4}, {"md5", PGD_DIGEST_MD5}, {"sha1", PGD_DIGEST_SHA1}};
	const char *word = p;
	size_t i, n = 0;
	bool neg = false;
	unsigned long v = 0;

	while (*p != '\0' && !is_lws(*p))
		p++;
	if (*p == '\0')
		return false;
	st->algo = NULL;
	for (i = 0; i < sizeof(algos) / sizeof(algos[0]); i++) {
		if (strlen(algos[i].name) == (size_t)(p - word) &&
		    memcmp(algos[i].name, word, (size_t)(p - word)) == 0) {
			st->algo = algos[i].name;
			st->digest = algos[i].digest;
		}
	}
	if (st->algo == NULL)
		return false;
	p++;
	/* str_parse_int(): optional '-', digits, within int */
	if (*p == '-') {
		neg = true;
		p++;
	}
	if (*p < '0' || *p > '9')
		return false;
	for (; *p >= '0' && *p <= '9'; p++) {
		v = v * 10 + (unsigned long)(*p - '0');
		if (v > (unsigned long)INT_MAX + 1)
			return false;
	}
	if ((!neg && v > INT_MAX) || !is_lws(*p))
		return false;
	st->seq = neg ? -(long)v : (long)v;
	p++;
	for (i = 0; is_alnum(*p) && i < OTP_SEED_MAX; i++)
		st->seed[i] = ascii_lower(*p++);
	st->seed[i] = '\0';
	if (*p++ != ' ')
		return false;
	/* otp_read_hex(): 16 hex digits, spaces and tabs between them ignored, then anything */
	for (; *p != '\0' && n < 2 * OTP_HASH_LEN; p++) {
		int d = hex_digit(*p);

		if (d < 0 && !is_lws(*p))
			return false;
		if (d < 0)
			continue;
		if (n % 2 == 0)
			st->hash[n / 2] = (unsigned char)(d << 4);
		else
			st->hash[n / 2] |= (unsigned char)d;
		n++;
	}
	return n == 2 * OTP_HASH_LEN;
}

/* One hash of a || b, folded to 64 bits. */
static bool otp_step(enum pgd_digest d, const void *a, size_t alen, const void *b, size_t blen,
                     unsigned char out[OTP_HASH_LEN])
{
	unsigned char full[PGD_MAX_DIGEST_LEN];

	if (!pgd_digest2(d, a, alen, b, blen, full))
		return false;
	if (d == PGD_DIGEST_SHA1) {
		for (int j = 0; j < 4; j++) {
			out[3 - j] = full[j] ^ full[8 + j] ^ full[16 + j];
			out[7 - j] = full[4 + j] ^ full[12 + j];
		}
	} else {
		for (int j = 0; j < OTP_HASH_LEN; j++)
			out[j] = full[j] ^ full[j + 8];
	}
	pgd_wipe(full, sizeof(full));
	return true;
}

/* Dovecot's otp_hash() then otp_print_dbentry(), into out[OTP_ENTRY_MAX]. */
static bool otp_entry(const struct otp_state *st, const char *password, char *out)
{
	unsigned char h[OTP_HASH_LEN];
	char hex[2 * OTP_HASH_LEN + 1];
	bool ok = otp_step(st->digest, st->seed, strlen(st->seed), password, strlen(password), h);

	for (long i = 0; ok && i < st->seq; i++)
		ok = otp_step(st->digest, h, sizeof(h), "", 0, h);
	if (ok) {
		pgd_hex_encode(h, sizeof(h), hex);
		snprintf(out, OTP_ENTRY_MAX, "%s %ld %s %s", st->algo, st->seq, st->seed, hex);
	}
	pgd_wipe(h, sizeof(h));
	pgd_wipe(hex, sizeof(hex));
	return ok;
}

enum pgd_hash_result pgd_generate_otp(const struct pgd_scheme *s, const char *password,
                                      const char *user, unsigned long rounds, struct pgd_raw *out,
                                      struct pgd_hash_info *info)
{
	struct otp_state st = {.digest = PGD_DIGEST_SHA1, .algo = "sha1", .seq = OTP_DEFAULT_SEQ};
	unsigned char seed[OTP_SEED_MAX / 2];
	char entry[OTP_ENTRY_MAX];
	enum pgd_hash_result res = PGD_HASH_MATCH;

	(void)user;
	(void)rounds;
	if (!pgd_random_bytes(seed, sizeof(seed))) {
		pgd_hash_set_detail(info, "no random bytes for a seed");
		return PGD_HASH_UNSUPPORTED;
	}
	pgd_hex_encode(seed, sizeof(seed), st.seed);
	if (!otp_entry(&st, password, entry)) {
		pgd_hash_set_detail(info, "libcrypto cannot compute %s", s->name);
		return PGD_HASH_UNSUPPORTED;
	}
	if (!pgd_raw_set(out, entry, strlen(entry)))
		res = PGD_HASH_NOMEM;
	pgd_wipe(entry, sizeof(entry));
	return res;
}

enum pgd_hash_result pgd_verify_otp(const struct pgd_scheme *s, const struct pgd_raw *raw,
                                    const char *password, const struct pgd_hash_policy *policy,
                                    struct pgd_hash_info *info)
{
	unsigned long cap = pgd_policy_cap(policy->max_iterations, PGD_DEFAULT_MAX_ITERATIONS);
	struct otp_state st;
	char entry[OTP_ENTRY_MAX];
	char *folded;
	enum pgd_hash_result res;

	if (!otp_parse((const char *)raw->data, &st)) {
		pgd_hash_set_detail(info, "invalid OTP entry");
		return PGD_HASH_MALFORMED;
	}
	/* Dovecot runs a negative sequence as a huge unsigned one: it never finishes */
	if (st.seq < 0 || (unsigned long)st.seq > cap) {
		return pgd_hash_too_costly(info, "max_iterations", cap,
		                           "OTP sequence %ld %s cap %lu", st.seq,
		                           st.seq < 0 ? "below 0, past" : "above", cap);
	}
	if (policy->dry_run)
		return PGD_HASH_MATCH;
	if (!otp_entry(&st, password, entry)) {
		pgd_hash_set_detail(info, "libcrypto cannot compute %s with %s", s->name, st.algo);
		return PGD_HASH_UNSUPPORTED;
	}
	/* strcasecmp() in constant time: compare lower-cased copies */
	folded = malloc(raw->len + 1);
	if (folded == NULL) {
		pgd_wipe(entry, sizeof(entry));
		return PGD_HASH_NOMEM;
	}
	for (size_t i = 0; i <= raw->len; i++)
		folded[i] = ascii_lower((char)raw->data[i]);
	res = pgd_ct_streq(folded, entry) ? PGD_HASH_MATCH : PGD_HASH_MISMATCH;
	pgd_free_secret(folded);
	pgd_wipe(entry, sizeof(entry));
	pgd_wipe(&st, sizeof(st));
	return res;
}
