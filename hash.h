// SPDX-License-Identifier: MIT
/*
 * The hash family's front: verifying a stored value as Dovecot's SQL passdb would, making one
 * as `doveadm pw` would, and what the admin command asks of the scheme table. The result, the
 * policy and the info these take are in hash/verdict.h; the schemes behind them in hash/.
 */
#ifndef PGD_HASH_H
#define PGD_HASH_H

#include <stdbool.h>
#include <stddef.h>

#include "hash/verdict.h"

/*
 * Verifies the NUL-terminated password against a stored value as Dovecot 2.3's SQL passdb
 * would: "{SCHEME[.b64|.base64|.hex]}value", or an unprefixed value (a bare "$1$..." included)
 * read with policy->default_scheme. Secrets it copies are wiped; comparisons are constant
 * time. info may be NULL. Neither argument is kept.
 */
enum pgd_hash_result pgd_hash_verify(const char *stored, const char *password,
                                     const struct pgd_hash_policy *policy,
                                     struct pgd_hash_info *info);

/*
 * Makes a new stored value "{SCHEME}..." for password with a fresh random salt.
 * rounds = 0 picks the scheme's default (Dovecot's: 5000 for SHA*-CRYPT, 5 for BLF-CRYPT).
 * On PGD_HASH_MATCH *out is a heap string the caller frees with pgd_free_secret();
 * otherwise *out is NULL and the result says why (UNSUPPORTED, MALFORMED for bad rounds, NOMEM).
 */
enum pgd_hash_result pgd_hash_generate(const char *scheme, const char *password,
                                       unsigned long rounds, char **out);

/*
 * pgd_hash_generate with the login name (DIGEST-MD5 hashes it in; other schemes ignore it; NULL
 * is fine for them) and a reason in info->detail when it fails. info may be NULL.
 * Rounds mean what `doveadm pw -r` means: SHA*-CRYPT rounds, BLF-CRYPT cost, PBKDF2 rounds,
 * SCRAM iterations (raised to 4096 as Dovecot does), ARGON2* passes.
 */
enum pgd_hash_result pgd_hash_generate_ex(const char *scheme, const char *password,
                                          const char *user, unsigned long rounds, char **out,
                                          struct pgd_hash_info *info);

/*
 * What pgd_hash_verify would read in stored, without any password and without hashing: the
 * scheme (info->scheme, canonical), and MALFORMED (bad encoding or length for its scheme) or
 * UNSUPPORTED (unknown scheme, or one this build lacks) or TOO_COSTLY (a cost above policy's
 * caps, info->cap_key says which) with info->detail; PGD_HASH_MATCH when the value passes
 * every check its verifier makes before hashing. The scheme rules of the Dovecot release
 * policy names (hash_policy.h) are applied as at a login: a value they refuse is UNSUPPORTED
 * with info->policy_refused set. For the admin command's audit.
 */
enum pgd_hash_result pgd_hash_inspect(const char *stored, const struct pgd_hash_policy *policy,
                                      struct pgd_hash_info *info);

/* The name of the i-th scheme this build verifies (Dovecot's spelling), or NULL past the end. */
const char *pgd_hash_scheme_name(size_t i);

/* True if name (case-insensitive, with an optional .b64/.base64/.hex suffix) is a scheme this
 * build can verify. */
bool pgd_hash_scheme_known(const char *name);

/*
 * For hash/stored_cost.c, which reads costs from values as pgd_hash_verify reads them: the
 * scheme from stored's {SCHEME} prefix (else default_scheme, NULL meaning MD5) into
 * *scheme_name, the decoded value into raw (NUL-terminated, released by the caller with
 * pgd_raw_release). False if the scheme is unknown or the value does not decode for it.
 */
struct pgd_raw;
bool pgd_hash_decode_stored(const char *stored, const char *default_scheme,
                            const char **scheme_name, struct pgd_raw *raw);

#endif
