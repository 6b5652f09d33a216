// SPDX-License-Identifier: MIT
/*
 * How much work a stored value asks for: what rehash and the check command compare. The value
 * is read as the verifier reads it (prefix, .b64/.hex decoding), then its crypt setting by the
 * same cost reader that guards crypt() (hash/crypt_setting.c): never the encoded text, never past
 * its end.
 */
#include "hash/stored_cost.h"

#include "hash.h"

#include "hash/hash_impl.h"

#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

/* The crypt cost of stored read as scheme; false if it is not a crypt value of that scheme. */
static bool crypt_cost(const char *scheme, const char *stored, struct pgd_crypt_cost *cost)
{
	const char *name = NULL;
	struct pgd_raw raw;
	bool ok;

	if (scheme == NULL || !pgd_hash_decode_stored(stored, scheme, &name, &raw))
		return false;
	ok = strcasecmp(name, scheme) == 0 && pgd_crypt_cost_read((const char *)raw.data, cost);
	pgd_raw_release(&raw);
	return ok;
}

unsigned long pgd_hash_cost(const char *scheme, const char *stored)
{
	struct pgd_crypt_cost c;

	if (!crypt_cost(scheme, stored, &c))
		return 0;
	if ((strcasecmp(scheme, "SHA512-CRYPT") == 0 && strcmp(c.family, "sha512crypt") == 0) ||
	    (strcasecmp(scheme, "SHA256-CRYPT") == 0 && strcmp(c.family, "sha256crypt") == 0))
		return c.rounds;
	if (strcasecmp(scheme, "BLF-CRYPT") == 0 && c.kind == PGD_CRYPT_COST_BCRYPT)
		return c.bcrypt_cost;
	return 0;
}

bool pgd_hash_cost_describe(const char *scheme, const char *stored,
                            const struct pgd_hash_policy *policy, char *out, size_t size)
{
	struct pgd_crypt_cost c;

	if (size == 0)
		return false;
	out[0] = '\0';
	if (!crypt_cost(scheme, stored, &c))
		return false;
	switch (c.kind) {
	case PGD_CRYPT_COST_NONE:
		return false;
	case PGD_CRYPT_COST_ROUNDS:
		snprintf(out, size, "%s rounds %lu (cap %lu)", c.family, c.rounds,
		         pgd_policy_cap(policy->max_crypt_rounds, PGD_DEFAULT_MAX_CRYPT_ROUNDS));
		break;
	case PGD_CRYPT_COST_BCRYPT:
		snprintf(out, size, "bcrypt cost %lu (cap %lu)", c.bcrypt_cost,
		         pgd_policy_cap(policy->max_bcrypt_cost, PGD_DEFAULT_MAX_BCRYPT_COST));
		break;
	case PGD_CRYPT_COST_MEMORY:
		snprintf(out, size, "%s memory %lu KiB (cap %lu), passes %lu (cap %lu)", c.family,
		         c.memory_kib,
		         pgd_policy_cap(policy->max_memory_kib, PGD_DEFAULT_MAX_MEMORY_KIB),
		         c.passes,
		         pgd_policy_cap(policy->max_argon2_ops, PGD_DEFAULT_MAX_ARGON2_OPS));
		break;
	}
	return true;
}

/* The ranks of pgd_rehash_verdict's order, weakest first. */
enum rank {
	RANK_CLEARTEXT,
	RANK_DIGEST,
	RANK_ITERATED,
	RANK_ADAPTIVE,
};

/* One algorithm at one cost: costs[0..dims) are each "more is stronger" (rounds, log2 cost,
 * iterations; memory then passes). dims 0: a fixed cost, nothing to compare. */
struct strength {
	const char *algorithm;
	enum rank rank;
	unsigned dims;
	unsigned long costs[2];
};

/* The schemes whose algorithm their name says, whatever the value holds. */
static const struct {
	const char *scheme, *algorithm;
	enum rank rank;
} named[] = {
    {"PLAIN", "cleartext", RANK_CLEARTEXT},
    {"CLEAR", "cleartext", RANK_CLEARTEXT},
    {"CLEARTEXT", "cleartext", RANK_CLEARTEXT},
    {"PLAIN-TRUNC", "cleartext", RANK_CLEARTEXT},
    {"PLAIN-MD4", "md4", RANK_DIGEST},
    {"PLAIN-MD5", "md5", RANK_DIGEST},
    {"LDAP-MD5", "md5", RANK_DIGEST},
    {"SMD5", "salted md5", RANK_DIGEST},
    {"SHA", "sha1", RANK_DIGEST},
    {"SHA1", "sha1", RANK_DIGEST},
    {"SSHA", "salted sha1", RANK_DIGEST},
    {"SHA256", "sha256", RANK_DIGEST},
    {"SSHA256", "salted sha256", RANK_DIGEST},
    {"SHA512", "sha512", RANK_DIGEST},
    {"SSHA512", "salted sha512", RANK_DIGEST},
    {"CRAM-MD5", "cram-md5", RANK_DIGEST},
    {"HMAC-MD5", "cram-md5", RANK_DIGEST},
    {"DIGEST-MD5", "digest-md5", RANK_DIGEST},
    {"OTP", "otp", RANK_DIGEST},
    {"MD5-CRYPT", "md5crypt", RANK_DIGEST},
};

/* libxcrypt's methods (pgd_crypt_cost_read's family names) and their ranks. */
static const struct {
	const char *family;
	enum rank rank;
} crypt_ranks[] = {
    {"md5crypt", RANK_DIGEST},      {"descrypt", RANK_DIGEST},
    {"bsdicrypt", RANK_DIGEST},     {"nt", RANK_DIGEST},
    {"sha1crypt", RANK_ITERATED},   {"sunmd5", RANK_ITERATED},
    {"sha256crypt", RANK_ADAPTIVE}, {"sha512crypt", RANK_ADAPTIVE},
    {"bcrypt", RANK_ADAPTIVE},      {"scrypt", RANK_ADAPTIVE},
    {"yescrypt", RANK_ADAPTIVE},    {"gost-yescrypt", RANK_ADAPTIVE},
};

static bool set_named(const char *scheme, struct strength *st)
{
	for (size_t i = 0; i < sizeof(named) / sizeof(named[0]); i++) {
		if (strcmp(named[i].scheme, scheme) == 0) {
			*st = (struct strength){.algorithm = named[i].algorithm,
			                        .rank = named[i].rank};
			return true;
		}
	}
	return false;
}

/* A crypt setting by the cost reader that guards crypt(): its method and cost. */
static bool crypt_strength(const char *value, struct strength *st)
{
	struct pgd_crypt_cost c;

	if (!pgd_crypt_cost_read(value, &c))
		return false;
	for (size_t i = 0; i < sizeof(crypt_ranks) / sizeof(crypt_ranks[0]); i++) {
		if (strcmp(crypt_ranks[i].family, c.family) != 0)
			continue;
		*st = (struct strength){.algorithm = crypt_ranks[i].family,
		                        .rank = crypt_ranks[i].rank};
		switch (c.kind) {
		case PGD_CRYPT_COST_NONE:
			break;
		case PGD_CRYPT_COST_ROUNDS:
			st->dims = 1;
			st->costs[0] = c.rounds;
			break;
		case PGD_CRYPT_COST_BCRYPT:
			st->dims = 1;
			st->costs[0] = c.bcrypt_cost;
			break;
		case PGD_CRYPT_COST_MEMORY:
			st->dims = 2;
			st->costs[0] = c.memory_kib;
			st->costs[1] = c.passes;
			break;
		}
		return true;
	}
	return false;
}

/* Decimal digits of s up to stop (no sign, no leading zero, no overflow) into *out. */
static bool decimal_until(const char *s, char stop, unsigned long *out)
{
	unsigned long v = 0;

	if (*s < '1' || *s > '9')
		return false;
	for (; *s >= '0' && *s <= '9'; s++) {
		unsigned long d = (unsigned long)(*s - '0');

		if (v > (ULONG_MAX - d) / 10)
			return false;
		v = v * 10 + d;
	}
	*out = v;
	return *s == stop;
}

/* PBKDF2 "$1$salt$rounds$hex" and SCRAM "iterations,salt,storedkey,serverkey". */
static bool iterated_strength(const char *scheme, const char *value, struct strength *st)
{
	const char *rounds;

	*st = (struct strength){.algorithm = scheme, .rank = RANK_ITERATED, .dims = 1};
	if (strcmp(scheme, "PBKDF2") == 0) {
		rounds = strncmp(value, "$1$", 3) == 0 ? strchr(value + 3, '$') : NULL;
		return rounds != NULL && decimal_until(rounds + 1, '$', &st->costs[0]);
	}
	return decimal_until(value, ',', &st->costs[0]);
}

static bool argon2_strength(const char *value, struct strength *st)
{
	unsigned long lanes;
	bool id;

	*st = (struct strength){.rank = RANK_ADAPTIVE, .dims = 2};
	if (!pgd_argon2_cost_read(value, &id, &st->costs[0], &st->costs[1], &lanes))
		return false;
	st->algorithm = id ? "argon2id" : "argon2i";
	return true;
}

static bool is_one_of(const char *scheme, const char *const *names)
{
	for (; *names != NULL; names++)
		if (strcmp(scheme, *names) == 0)
			return true;
	return false;
}

static const char *const crypt_read[] = {"CRYPT",        "DES-CRYPT", "SHA256-CRYPT",
                                         "SHA512-CRYPT", "BLF-CRYPT", NULL};
static const char *const argon2_names[] = {"ARGON2I", "ARGON2ID", "ARGON2", NULL};
static const char *const iterated_names[] = {"PBKDF2", "SCRAM-SHA-1", "SCRAM-SHA-256", NULL};

/* The algorithm a decoded value of scheme really uses, and its cost. */
static bool value_strength(const char *scheme, const char *value, struct strength *st)
{
	if (is_one_of(scheme, crypt_read))
		return crypt_strength(value, st);
	if (strcmp(scheme, "MD5") == 0) /* md5crypt, or else a PLAIN-MD5 digest */
		return strncmp(value, "$1$", 3) == 0 ? crypt_strength(value, st)
		                                     : set_named("PLAIN-MD5", st);
	if (is_one_of(scheme, argon2_names))
		return argon2_strength(value, st);
	if (is_one_of(scheme, iterated_names))
		return iterated_strength(scheme, value, st);
	return set_named(scheme, st);
}

/* What pgd_hash_generate(scheme, rounds) makes, without making it (hash.c's generators). */
static bool target_strength(const struct pgd_rehash_target *target, struct strength *st)
{
	char name[32];
	size_t len = target->scheme != NULL ? strcspn(target->scheme, ".") : sizeof(name);
	unsigned long r = target->rounds;

	if (len >= sizeof(name))
		return false;
	for (size_t i = 0; i < len; i++) {
		char c = target->scheme[i];

		name[i] = c >= 'a' && c <= 'z' ? (char)(c - 'a' + 'A') : c;
	}
	name[len] = '\0';
	if (strcmp(name, "SHA512-CRYPT") == 0 || strcmp(name, "SHA256-CRYPT") == 0) {
		*st = (struct strength){.algorithm = name[3] == '5' ? "sha512crypt" : "sha256crypt",
		                        .rank = RANK_ADAPTIVE,
		                        .dims = 1,
		                        .costs = {r != 0 ? r : PGD_DEFAULT_CRYPT_ROUNDS}};
	} else if (strcmp(name, "BLF-CRYPT") == 0 || strcmp(name, "CRYPT") == 0) {
		/* Dovecot makes bcrypt for CRYPT */
		*st = (struct strength){.algorithm = "bcrypt",
		                        .rank = RANK_ADAPTIVE,
		                        .dims = 1,
		                        .costs = {r != 0 ? r : PGD_DEFAULT_BCRYPT_COST}};
	} else if (strcmp(name, "DES-CRYPT") == 0) {
		*st = (struct strength){.algorithm = "descrypt", .rank = RANK_DIGEST};
	} else if (strcmp(name, "MD5") == 0) {
		return set_named("MD5-CRYPT", st);
	} else if (is_one_of(name, argon2_names)) {
		bool id = strcmp(name, "ARGON2I") != 0;

		*st = (struct strength){
		    .algorithm = id ? "argon2id" : "argon2i", .rank = RANK_ADAPTIVE, .dims = 2};
		pgd_argon2_params(id, r, &st->costs[0], &st->costs[1]);
	} else if (strcmp(name, "PBKDF2") == 0) {
		*st = (struct strength){.algorithm = "PBKDF2",
		                        .rank = RANK_ITERATED,
		                        .dims = 1,
		                        .costs = {r != 0 ? r : PGD_DEFAULT_PBKDF2_ROUNDS}};
	} else if (is_one_of(name, iterated_names)) {
		/* SCRAM: at least 4096 iterations, as Dovecot makes them */
		*st = (struct strength){
		    .algorithm = strcmp(name, "SCRAM-SHA-1") == 0 ? "SCRAM-SHA-1" : "SCRAM-SHA-256",
		    .rank = RANK_ITERATED,
		    .dims = 1,
		    .costs = {r > PGD_DEFAULT_SCRAM_ITERATIONS ? r : PGD_DEFAULT_SCRAM_ITERATIONS}};
	} else {
		return set_named(name, st);
	}
	return true;
}

/* Is want above have in one cost and below it in none? */
static bool costs_more(const struct strength *want, const struct strength *have)
{
	bool more = false;

	if (want->dims != have->dims)
		return false;
	for (unsigned i = 0; i < want->dims; i++) {
		if (want->costs[i] < have->costs[i])
			return false;
		more = more || want->costs[i] > have->costs[i];
	}
	return more;
}

enum pgd_rehash_verdict pgd_hash_rehash_verdict(const char *stored,
                                                const struct pgd_hash_policy *policy,
                                                const struct pgd_rehash_target *target)
{
	struct strength have, want;
	const char *scheme = NULL;
	struct pgd_raw raw;
	bool read;

	if (policy->noscheme)
		return PGD_REHASH_KEEP_NOSCHEME;
	if (!target_strength(target, &want) ||
	    !pgd_hash_decode_stored(stored, policy->default_scheme, &scheme, &raw))
		return PGD_REHASH_KEEP_UNREADABLE;
	read = value_strength(scheme, (const char *)raw.data, &have);
	pgd_raw_release(&raw);
	if (!read)
		return PGD_REHASH_KEEP_UNREADABLE;
	if (strcmp(have.algorithm, want.algorithm) == 0)
		return costs_more(&want, &have) ? PGD_REHASH_UPGRADE : PGD_REHASH_KEEP_COST;
	if (have.rank < want.rank || target->any_scheme)
		return PGD_REHASH_UPGRADE;
	return PGD_REHASH_KEEP_FAMILY;
}

const char *pgd_rehash_verdict_str(enum pgd_rehash_verdict verdict)
{
	switch (verdict) {
	case PGD_REHASH_UPGRADE:
		return "weaker than update_scheme";
	case PGD_REHASH_KEEP_COST:
		return "update_scheme's algorithm at its cost or above";
	case PGD_REHASH_KEEP_FAMILY:
		return "an algorithm not ranked below update_scheme's";
	case PGD_REHASH_KEEP_UNREADABLE:
		return "algorithm or cost unreadable";
	case PGD_REHASH_KEEP_NOSCHEME:
		return "password_noscheme";
	}
	return "?";
}
