// SPDX-License-Identifier: MIT
#ifndef PGD_HASH_STORED_COST_H
#define PGD_HASH_STORED_COST_H

#include <stdbool.h>
#include <stddef.h>

#include "hash/verdict.h"

/* Dovecot's defaults when a value names no cost (and what pgd_hash_generate makes). */
#define PGD_DEFAULT_CRYPT_ROUNDS 5000UL
#define PGD_DEFAULT_BCRYPT_COST 5UL
#define PGD_DEFAULT_PBKDF2_ROUNDS 5000UL
#define PGD_DEFAULT_SCRAM_ITERATIONS 4096UL

/*
 * The work factor a stored value ("{SCHEME[.b64|.hex]}value", or an unprefixed value read as
 * scheme) of scheme asks for, read from the decoded value: the rounds of SHA256-CRYPT and
 * SHA512-CRYPT (5000 when it names none), the cost of BLF-CRYPT; 0 for any other scheme, for a
 * value of another crypt method, and for one whose cost cannot be read. scheme is the
 * canonical name pgd_hash_verify reported.
 */
unsigned long pgd_hash_cost(const char *scheme, const char *stored);

/*
 * One line on the cost of a crypt value of scheme against policy's caps, e.g.
 * "sha512crypt rounds 5000 (cap 1000000)", into out; false (out "") when the value has no
 * cost one can read (not a crypt value, a fixed-cost method, malformed).
 */
bool pgd_hash_cost_describe(const char *scheme, const char *stored,
                            const struct pgd_hash_policy *policy, char *out, size_t size);

/*
 * What rehash does with a stored value, and why. Strength is an order of ranks, weakest first:
 *   1. cleartext: PLAIN, CLEAR, CLEARTEXT, PLAIN-TRUNC;
 *   2. one pass of a fast digest, salted or not, and the fixed-cost crypt methods: PLAIN-MD4,
 *      PLAIN-MD5, LDAP-MD5, MD5, SMD5, SHA, SHA1, SSHA, SHA256, SSHA256, SHA512, SSHA512,
 *      CRAM-MD5, HMAC-MD5, DIGEST-MD5, OTP, MD5-CRYPT (md5crypt), DES-CRYPT (descrypt,
 *      bigcrypt), BSDi crypt, NT;
 *   3. iterated digests: PBKDF2, SCRAM-SHA-1, SCRAM-SHA-256, sha1crypt, SunMD5;
 *   4. adaptive: sha256crypt, sha512crypt, bcrypt, scrypt, yescrypt, gost-yescrypt, Argon2i,
 *      Argon2id, with no order among them.
 * The algorithm is the one the value really uses (a {CRYPT}, {SHA512-CRYPT}, {DES-CRYPT} or
 * bare crypt value by its crypt prefix, {MD5} by its form, {ARGON2*} by its string).
 */
enum pgd_rehash_verdict {
	PGD_REHASH_UPGRADE,         /* replace it: weaker than the target */
	PGD_REHASH_KEEP_COST,       /* the target's algorithm at the target's cost or above */
	PGD_REHASH_KEEP_FAMILY,     /* another algorithm, not ranked below the target's */
	PGD_REHASH_KEEP_UNREADABLE, /* its scheme, algorithm or cost cannot be read */
	PGD_REHASH_KEEP_NOSCHEME,   /* password_noscheme: no room for a {SCHEME} prefix */
};

/* The hash a rehash makes, and how far it may go: conf's update_scheme, update_rounds (0: the
 * scheme's default, as pgd_hash_generate reads it) and rehash_any_scheme. */
struct pgd_rehash_target {
	const char *scheme;
	unsigned long rounds;
	bool any_scheme;
};

/*
 * The one rule of rehash, shared by the login (change.c) and the audit command. stored is read
 * as pgd_hash_verify reads it under policy (default_scheme, noscheme); nothing is hashed, no
 * secret is kept. UPGRADE when stored's algorithm is target's and every cost of it (rounds,
 * bcrypt cost, iterations, Argon2 m= and t=) is at most target's, one below; or when it is
 * another algorithm ranked below target's; or, with any_scheme, any other algorithm. A cost
 * within one algorithm is never lowered, and a value whose algorithm or cost cannot be read is
 * never rewritten.
 */
enum pgd_rehash_verdict pgd_hash_rehash_verdict(const char *stored,
                                                const struct pgd_hash_policy *policy,
                                                const struct pgd_rehash_target *target);

/* A few words for verdict, for log and audit lines ("weaker than update_scheme", ...). */
const char *pgd_rehash_verdict_str(enum pgd_rehash_verdict verdict);

#endif
