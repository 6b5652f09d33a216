// SPDX-License-Identifier: MIT
/*
 * What a crypt(3) setting asks libxcrypt to do, read the way libxcrypt 4.4 reads it (checked
 * against lib/crypt.c, crypt-sha512.c, crypt-sha256.c, crypt-bcrypt.c, crypt-pbkdf1-sha1.c,
 * crypt-sunmd5.c, crypt-des.c, crypt-scrypt.c, crypt-gost-yescrypt.c and
 * alg-yescrypt-{common,opt}.c of 4.4.33, Debian 12's, and 4.4.38: the parsers are the same).
 *
 * crypt() runs whatever cost a setting names, so a stored value only reaches it when this
 * reader understood every parameter that sets a cost and found it within the caps. Anything it
 * cannot read exactly (a sign, a leading zero, an overflow, a flag or prefix it does not know)
 * is a malformed stored value: the reader accepts a subset of what libxcrypt accepts, never
 * more, and an unknown prefix (a later libxcrypt's $sm3$, say) never reaches crypt() at all.
 */
#include "hash/hash_impl.h"

#include <limits.h>
#include <stdint.h>
#include <string.h>

/* libxcrypt's limits (crypt-sha512.c, crypt-sunmd5.c, crypt-bcrypt.c) */
#define SHA_ROUNDS_MIN 1000UL
#define SHA_ROUNDS_MAX 999999999UL
#define SHA_ROUNDS_DEFAULT 5000UL
#define SUNMD5_BASE_ROUNDS 4096UL
#define SUNMD5_MAX_ROUNDS 0xFFFFFFFFUL
#define BCRYPT_MIN_COST 4UL
#define BCRYPT_MAX_COST 31UL
/* yescrypt (alg-yescrypt.h): the only read-write flavor libxcrypt computes, and Salloc */
#define YESCRYPT_RW 0x002U
#define YESCRYPT_RW_DEFAULT_FLAGS 0x0b6U
#define YESCRYPT_SALLOC (12288U + 64U)

static const char crypt_alphabet[] =
    "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

static int atoi64(char c)
{
	const char *p = c != '\0' ? strchr(crypt_alphabet, c) : NULL;

	return p != NULL ? (int)(p - crypt_alphabet) : -1;
}

static bool has_prefix(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static uint64_t sat_mul(uint64_t a, uint64_t b)
{
	if (a != 0 && b > UINT64_MAX / a)
		return UINT64_MAX;
	return a * b;
}

static uint64_t sat_add(uint64_t a, uint64_t b)
{
	return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

static unsigned long to_ulong(uint64_t v)
{
	return v > ULONG_MAX ? ULONG_MAX : (unsigned long)v;
}

/*
 * A decimal count as libxcrypt writes it back: "0" (only if zero_ok) or a first digit 1-9,
 * then digits. Past 2^64 - 1 it saturates there and sets *saturated. Returns the character
 * after it, or NULL when s does not start that way.
 */
static const char *read_count(const char *s, bool zero_ok, uint64_t *out, bool *saturated)
{
	uint64_t v = 0;

	*saturated = false;
	if (!is_digit(*s) || (*s == '0' && (!zero_ok || is_digit(s[1]))))
		return NULL;
	for (; is_digit(*s); s++) {
		uint64_t d = (uint64_t)(*s - '0');

		if (v > (UINT64_MAX - d) / 10)
			*saturated = true;
		v = *saturated ? UINT64_MAX : v * 10 + d;
	}
	*out = v;
	return s;
}

/* A refusal with its reason; false, for the readers' return. */
static bool refuse(struct pgd_crypt_cost *cost, enum pgd_crypt_refusal why)
{
	cost->why = why;
	return false;
}

/* A count libxcrypt refuses as too high (or past 2^64 - 1): above every cap. */
static bool too_high(struct pgd_crypt_cost *cost, enum pgd_crypt_cost_kind kind, uint64_t v)
{
	cost->kind = kind;
	if (kind == PGD_CRYPT_COST_BCRYPT)
		cost->bcrypt_cost = to_ulong(v);
	else
		cost->rounds = to_ulong(v);
	return refuse(cost, PGD_CRYPT_TOO_HIGH);
}

/* libxcrypt's check_badsalt_chars(): what crypt() refuses in any setting. */
static bool crypt_chars_ok(const char *s)
{
	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;

		if (c <= 0x20 || c >= 0x7f || strchr("!*:;\\", c) != NULL)
			return false;
	}
	return true;
}

/* yescrypt's decode64_uint32(), in its own uint32_t arithmetic. NULL if malformed. */
static const char *decode64_uint32(uint32_t *dst, const char *src, uint32_t min)
{
	uint32_t start = 0, end = 47, chars = 1, bits = 0;
	int c = atoi64(*src++);

	if (c < 0)
		return NULL;
	*dst = min;
	while ((uint32_t)c > end) {
		*dst += (end + 1 - start) << bits;
		start = end + 1;
		end = start + (62 - end) / 2;
		chars++;
		bits += 6;
	}
	*dst += ((uint32_t)c - start) << bits;
	while (--chars > 0) {
		c = atoi64(*src++);
		if (c < 0)
			return NULL;
		bits -= 6;
		*dst += (uint32_t)c << bits;
	}
	return src;
}

/* yescrypt's decode64_uint32_fixed() for 30 bits: 5 characters, least significant first. */
static const char *decode64_fixed30(uint32_t *dst, const char *src)
{
	*dst = 0;
	for (uint32_t bits = 0; bits < 30; bits += 6) {
		int c = atoi64(*src++);

		if (c < 0)
			return NULL;
		*dst |= (uint32_t)c << bits;
	}
	return src;
}

/*
 * yescrypt_kdf()'s checks and cost for flags, N = 2^log2_n, r, p, t (what yescrypt_r() passes
 * on; g and NROM are refused before). Memory: V, 128 r N bytes once (this libxcrypt is built
 * without OpenMP), and for each lane beyond the first its 128 r bytes of B and, read-write, its
 * S-boxes; the 256 r bytes of XY and the first lane's are left out, so that a default value's
 * memory is the round 128 r N admins compute. Work: the 128 r-byte blocks smix() walks (its
 * Nloop_all rules), counted in passes over V after the first, which fills it, as Argon2's t
 * counts them.
 */
static bool yescrypt_cost(uint32_t flags, uint32_t log2_n, uint32_t r, uint32_t p, uint32_t t,
                          struct pgd_crypt_cost *cost)
{
	uint64_t n, bytes, lane, blocks;

	if (flags == 0) {
		if (t != 0)
			return false;
	} else if (flags != 1 && flags != YESCRYPT_RW_DEFAULT_FLAGS) {
		return false;
	}
	/* N a power of two above 3 and at most UINT32_MAX; r * p below 2^30 */
	if (log2_n < 2 || log2_n > 31 || r < 1 || p < 1 || (uint64_t)r * p >= (1U << 30))
		return false;
	n = (uint64_t)1 << log2_n;
	if ((flags & YESCRYPT_RW) != 0 && n / p <= 3)
		return false;
	lane = 128U * (uint64_t)r + ((flags & YESCRYPT_RW) != 0 ? YESCRYPT_SALLOC : 0);
	bytes = sat_add(sat_mul(128U * (uint64_t)r, n), sat_mul(lane, p - 1));
	if ((flags & YESCRYPT_RW) != 0) {
		/* smix1 over N, then smix2 N/3, 2N/3 or (t - 1) N blocks, across the lanes */
		blocks = sat_add(n, t == 0   ? n / 3 + 1
		                    : t == 1 ? 2 * n / 3 + 1
		                             : sat_mul(t - 1, n));
	} else {
		/* each lane: smix1 over N, smix2 N, 1.5 N or t N blocks */
		blocks = sat_mul(sat_add(n, t == 0   ? n
		                            : t == 1 ? n + n / 2 + 1
		                                     : sat_mul(t, n)),
		                 p);
	}
	cost->kind = PGD_CRYPT_COST_MEMORY;
	cost->memory_kib = to_ulong(bytes / 1024 + (bytes % 1024 != 0));
	/* rounded up: 1 for every default value */
	cost->passes = to_ulong(blocks / n + (blocks % n != 0) - 1);
	return true;
}

/* "$y$" settings (and "$gy$" ones, which libxcrypt turns into "$y$" first): yescrypt_r(). */
static bool read_yescrypt(const char *s, struct pgd_crypt_cost *cost)
{
	uint32_t flavor, flags, log2_n, r, p = 1, t = 0;

	s = decode64_uint32(&flavor, s, 0);
	if (s == NULL)
		return false;
	if (flavor < YESCRYPT_RW)
		flags = flavor;
	else if (flavor <= YESCRYPT_RW + (0x3fcU >> 2))
		flags = YESCRYPT_RW + ((flavor - YESCRYPT_RW) << 2);
	else
		return false;
	s = decode64_uint32(&log2_n, s, 1);
	if (s == NULL || log2_n > 63)
		return false;
	s = decode64_uint32(&r, s, 1);
	if (s == NULL)
		return false;
	if (*s != '$') {
		uint32_t have;

		s = decode64_uint32(&have, s, 1);
		/* 4 (g, hash upgrades) and 8 (a ROM) make libxcrypt fail; higher bits are
		 * ignored there, refused here */
		if (s == NULL || (have & 12U) != 0)
			return false;
		if ((have & ~15U) != 0)
			return refuse(cost, PGD_CRYPT_STRICTER);
		if ((have & 1) != 0 && (s = decode64_uint32(&p, s, 2)) == NULL)
			return false;
		if ((have & 2) != 0 && (s = decode64_uint32(&t, s, 1)) == NULL)
			return false;
	}
	if (*s != '$')
		return false;
	return yescrypt_cost(flags, log2_n, r, p, t, cost);
}

/* "$7$": N as one character, then r and p as 30-bit fixed fields; classic scrypt. */
static bool read_scrypt(const char *s, struct pgd_crypt_cost *cost)
{
	int log2_n = atoi64(s[0]);
	uint32_t r, p;

	if (log2_n < 1)
		return false;
	s = decode64_fixed30(&r, s + 1);
	s = s != NULL ? decode64_fixed30(&p, s) : NULL;
	if (s == NULL)
		return false;
	return yescrypt_cost(0, (uint32_t)log2_n, r, p, 0, cost);
}

/* "$5$" / "$6$": an optional "rounds=N$", N in 1000..999999999 without a leading zero. */
static bool read_sha_crypt(const char *s, struct pgd_crypt_cost *cost)
{
	uint64_t rounds = SHA_ROUNDS_DEFAULT;
	bool saturated, written = has_prefix(s, "rounds=");

	if (written) {
		s = read_count(s + 7, false, &rounds, &saturated);
		if (s == NULL || *s != '$' || rounds < SHA_ROUNDS_MIN)
			return false;
		if (rounds > SHA_ROUNDS_MAX)
			return too_high(cost, PGD_CRYPT_COST_ROUNDS, rounds);
	}
	cost->kind = PGD_CRYPT_COST_ROUNDS;
	cost->rounds = to_ulong(rounds);
	cost->default_rounds = !written;
	return true;
}

/* "$2?$NN$": two digits, 04 to 31 (BF_crypt()). */
static bool read_bcrypt(const char *s, struct pgd_crypt_cost *cost)
{
	unsigned long c;

	if (!is_digit(s[0]) || !is_digit(s[1]) || s[2] != '$')
		return false;
	c = (unsigned long)((s[0] - '0') * 10 + (s[1] - '0'));
	if (c < BCRYPT_MIN_COST)
		return false;
	if (c > BCRYPT_MAX_COST)
		return too_high(cost, PGD_CRYPT_COST_BCRYPT, c);
	cost->kind = PGD_CRYPT_COST_BCRYPT;
	cost->bcrypt_cost = c;
	return true;
}

/* "$sha1$N$": libxcrypt's strtoul() would also take "+N", "-1" (2^64 - 1), "0N" and "";
 * only the form it prints back can ever match, so only that is read. */
static bool read_sha1crypt(const char *s, struct pgd_crypt_cost *cost)
{
	const char *end;
	uint64_t n;
	bool saturated;

	end = read_count(s, true, &n, &saturated);
	if (end == NULL) {
		/* what libxcrypt's strtoul() would still read: a sign, leading zeros, nothing */
		if (*s == '$' || *s == '+' || *s == '-' || *s == '0')
			return refuse(cost, PGD_CRYPT_STRICTER);
		return false;
	}
	if (*end != '$')
		return false;
	if (saturated || n > ULONG_MAX)
		return too_high(cost, PGD_CRYPT_COST_ROUNDS, n);
	cost->kind = PGD_CRYPT_COST_ROUNDS;
	cost->rounds = to_ulong(n);
	return true;
}

/* "$md5$" or "$md5,", then an optional "rounds=N$" (N 1..2^32-1, no leading zero) added to
 * the 4096 base rounds (the cap applies to N, as the rounds an admin wrote), then a salt of
 * crypt's alphabet. */
static bool read_sunmd5(const char *s, struct pgd_crypt_cost *cost)
{
	uint64_t n = 0;
	bool saturated;

	if (*s != '$' && *s != ',')
		return false;
	s++;
	if (has_prefix(s, "rounds=")) {
		s = read_count(s + 7, false, &n, &saturated);
		if (s == NULL || *s != '$')
			return false;
		if (n > SUNMD5_MAX_ROUNDS)
			return too_high(cost, PGD_CRYPT_COST_ROUNDS, n);
		s++;
	}
	/* the salt: crypt's alphabet up to a '$' or the end */
	while (atoi64(*s) >= 0)
		s++;
	if (*s != '\0' && *s != '$')
		return false;
	cost->kind = PGD_CRYPT_COST_ROUNDS;
	cost->rounds = to_ulong(n);
	return true;
}

/* "_CCCCSSSS": 4 characters of count (24 bits), 4 of salt, all of crypt's alphabet. */
static bool read_bsdi(const char *s, struct pgd_crypt_cost *cost)
{
	unsigned long count = 0;

	for (int i = 0; i < 8; i++) {
		int v = atoi64(s[i]);

		if (v < 0)
			return false;
		if (i < 4)
			count |= (unsigned long)v << (6 * i);
	}
	cost->kind = PGD_CRYPT_COST_ROUNDS;
	cost->rounds = count;
	return true;
}

/* The DES family (descrypt, bigcrypt): two salt characters first, fixed cost. */
static bool des_salt_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || is_digit(c) || c == '.' ||
	       c == '/';
}

bool pgd_crypt_cost_read(const char *setting, struct pgd_crypt_cost *cost)
{
	*cost = (struct pgd_crypt_cost){
	    .family = "crypt", .kind = PGD_CRYPT_COST_NONE, .why = PGD_CRYPT_REJECTED};
	if (!crypt_chars_ok(setting))
		return false;
	/* in the order of libxcrypt's hash_algorithms table (hashes.conf) */
	if (has_prefix(setting, "$y$")) {
		cost->family = "yescrypt";
		return read_yescrypt(setting + 3, cost);
	}
	if (has_prefix(setting, "$gy$")) {
		cost->family = "gost-yescrypt";
		return read_yescrypt(setting + 4, cost);
	}
	if (has_prefix(setting, "$7$")) {
		cost->family = "scrypt";
		return read_scrypt(setting + 3, cost);
	}
	if (has_prefix(setting, "$2b$") || has_prefix(setting, "$2y$") ||
	    has_prefix(setting, "$2a$") || has_prefix(setting, "$2x$")) {
		cost->family = "bcrypt";
		return read_bcrypt(setting + 4, cost);
	}
	if (has_prefix(setting, "$6$") || has_prefix(setting, "$5$")) {
		cost->family = setting[1] == '6' ? "sha512crypt" : "sha256crypt";
		return read_sha_crypt(setting + 3, cost);
	}
	if (has_prefix(setting, "$sha1")) {
		cost->family = "sha1crypt";
		return setting[5] == '$' && read_sha1crypt(setting + 6, cost);
	}
	if (has_prefix(setting, "$md5")) {
		cost->family = "sunmd5";
		return read_sunmd5(setting + 4, cost);
	}
	if (has_prefix(setting, "$1$")) {
		cost->family = "md5crypt";
		return true;
	}
	if (has_prefix(setting, "$3$")) {
		cost->family = "nt";
		return true;
	}
	if (setting[0] == '_') {
		cost->family = "bsdicrypt";
		return read_bsdi(setting + 1, cost);
	}
	if (des_salt_char(setting[0]) && des_salt_char(setting[1])) {
		cost->family = "descrypt";
		return true;
	}
	/* a prefix this libxcrypt does not know, or one a later one knows with a cost */
	cost->family = "unknown";
	return refuse(cost, PGD_CRYPT_UNKNOWN);
}

enum pgd_hash_result pgd_crypt_cost_check(const char *setting, const struct pgd_hash_policy *policy,
                                          struct pgd_hash_info *info)
{
	unsigned long rounds_cap =
	    pgd_policy_cap(policy->max_crypt_rounds, PGD_DEFAULT_MAX_CRYPT_ROUNDS);
	unsigned long bcrypt_cap =
	    pgd_policy_cap(policy->max_bcrypt_cost, PGD_DEFAULT_MAX_BCRYPT_COST);
	unsigned long mem_cap = pgd_policy_cap(policy->max_memory_kib, PGD_DEFAULT_MAX_MEMORY_KIB);
	unsigned long ops_cap = pgd_policy_cap(policy->max_argon2_ops, PGD_DEFAULT_MAX_ARGON2_OPS);
	struct pgd_crypt_cost c;

	if (!pgd_crypt_cost_read(setting, &c)) {
		switch (c.why) {
		case PGD_CRYPT_TOO_HIGH:
			if (c.kind == PGD_CRYPT_COST_BCRYPT)
				return pgd_hash_too_costly(info, "max_bcrypt_cost", bcrypt_cap,
				                           "bcrypt cost %lu above cap %lu",
				                           c.bcrypt_cost, bcrypt_cap);
			return pgd_hash_too_costly(
			    info, "max_crypt_rounds", rounds_cap, "%s rounds %lu%s above cap %lu",
			    c.family, c.rounds, c.rounds == ULONG_MAX ? "+" : "", rounds_cap);
		case PGD_CRYPT_STRICTER:
			pgd_hash_set_detail(
			    info, "%s parameters not in the one form libxcrypt writes", c.family);
			break;
		case PGD_CRYPT_UNKNOWN:
			pgd_hash_set_detail(info, "crypt() rejects the stored hash (no method "
			                          "this module knows)");
			break;
		case PGD_CRYPT_REJECTED:
			if (strcmp(c.family, "crypt") == 0)
				pgd_hash_set_detail(info, "crypt() rejects the stored hash");
			else
				pgd_hash_set_detail(
				    info, "crypt() rejects the stored hash (%s parameters)",
				    c.family);
			break;
		}
		return PGD_HASH_MALFORMED;
	}
	switch (c.kind) {
	case PGD_CRYPT_COST_NONE:
		break;
	case PGD_CRYPT_COST_ROUNDS:
		/* Dovecot's default cost is never refused: the lowest cap the conf takes,
		 * 1000, would otherwise lock out every value made without -r */
		if (c.rounds > rounds_cap && !c.default_rounds) {
			return pgd_hash_too_costly(info, "max_crypt_rounds", rounds_cap,
			                           "%s rounds %lu above cap %lu", c.family,
			                           c.rounds, rounds_cap);
		}
		break;
	case PGD_CRYPT_COST_BCRYPT:
		if (c.bcrypt_cost > bcrypt_cap) {
			return pgd_hash_too_costly(info, "max_bcrypt_cost", bcrypt_cap,
			                           "bcrypt cost %lu above cap %lu", c.bcrypt_cost,
			                           bcrypt_cap);
		}
		break;
	case PGD_CRYPT_COST_MEMORY:
		if (c.memory_kib > mem_cap) {
			return pgd_hash_too_costly(info, "max_memory_kib", mem_cap,
			                           "%s memory %lu KiB above cap %lu KiB", c.family,
			                           c.memory_kib, mem_cap);
		}
		/* yescrypt's t counts as Argon2's t: passes over the memory */
		if (c.passes > ops_cap) {
			return pgd_hash_too_costly(info, "max_argon2_ops", ops_cap,
			                           "%s passes %lu above cap %lu", c.family,
			                           c.passes, ops_cap);
		}
		break;
	}
	return PGD_HASH_MATCH;
}
