// SPDX-License-Identifier: MIT
#ifndef PGD_HASHCOST_H
#define PGD_HASHCOST_H

#include <stdbool.h>
#include <stddef.h>

#include "hash.h"

/* Dovecot's defaults when a value names no cost (and what pgd_hash_generate makes). */
#define PGD_DEFAULT_CRYPT_ROUNDS 5000UL
#define PGD_DEFAULT_BCRYPT_COST 5UL

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

#endif
