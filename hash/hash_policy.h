// SPDX-License-Identifier: MIT
/* Which stored schemes a Dovecot release verifies: 2.4's weak schemes, ARGON2, its defaults. */
#ifndef PGD_HASH_POLICY_H
#define PGD_HASH_POLICY_H

#include <stdbool.h>
#include <stddef.h>

#include "hash/verdict.h"

/*
 * Called by pgd_hash_verify once the scheme is known and the value decoded (raw, len bytes),
 * before verification. Returns PGD_HASH_MATCH to go on, or PGD_HASH_UNSUPPORTED with
 * info->detail saying why: ARGON2 under Dovecot 2.3's rules (2.3 has no such scheme), or under
 * 2.4's rules without allow_weak a weak scheme, or a crypt value that is DES or MD5-crypt, as
 * Dovecot 2.4.1's password_verify() and crypt_verify() refuse them.
 */
enum pgd_hash_result pgd_hash_policy_check(const char *scheme, const unsigned char *raw, size_t len,
                                           const struct pgd_hash_policy *policy,
                                           struct pgd_hash_info *info);

/* True if Dovecot 2.4 calls scheme weak (refused unless auth_allow_weak_schemes = yes). */
bool pgd_hash_scheme_weak(const char *scheme);

/*
 * The default scheme of Dovecot 2.4's passdb for a file declaring config_version: PLAIN up to
 * 2.4.2, CRYPT from 2.4.3 on (NULL or unreadable: PLAIN, as Debian 13's 2.4.1 reads any file).
 */
const char *pgd_hash_default_scheme_v24(const char *config_version);

/*
 * Whether a nopassword field lets any password in, as the Dovecot release (23 or 24) decides:
 * 2.4 clears the stored password; 2.3 ignores nopassword (with an error) when the password
 * field, without its {SCHEME} prefix, is not empty.
 */
bool pgd_hash_nopassword_applies(unsigned dovecot, const char *stored);

#endif
