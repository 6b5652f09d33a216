// SPDX-License-Identifier: MIT
#ifndef PGD_VERIFY_CACHE_H
#define PGD_VERIFY_CACHE_H

#include <stdbool.h>
#include <stddef.h>

#include "hash.h"

/*
 * The verified-login cache (verify_cache_ttl, verify_cache_size): per process, off unless a
 * conf sets a TTL. An entry says "this password verified against this stored value for this
 * user, under these verification rules" as an HMAC-SHA-256 with a key drawn from getrandom
 * for this process; it never holds the password nor an unkeyed hash of it. The query still
 * runs at every login: a changed stored value (password changed, rehashed) no longer matches.
 *
 * Thread-safe (one mutex). A fork()ed child finds an empty cache and draws its own key. One
 * cache a process, whatever conf each login reads: it has room for the largest size any call
 * asked for (at most 100000 entries), grows without losing entries when a larger size is asked,
 * and never shrinks, so that two confs with different sizes (saslauthd serving imap and smtp)
 * share it instead of emptying it at every switch. When full, the oldest entry is evicted.
 * An entry that no conf of the process could accept any more (older than the longest TTL any
 * call asked for, and, for one that may answer during an outage, unconfirmed for longer than the
 * longest verify_cache_stale_if_error) is wiped by the calls that follow: each looks at a few
 * entries. Entries are wiped on eviction and at exit.
 */

/* What one verification depends on; every field is covered by the MAC, length-prefixed. */
struct pgd_vcache_login {
	const char *user;   /* the canonical name */
	const char *stored; /* the stored value from the row */
	/* The policy the full verification ran under (pgd_hash_verify's), every field of it
	 * (pgd_hash_policy_fingerprint): default scheme, noscheme, cost caps, login name, Dovecot
	 * release and weak schemes. An entry made under one policy never answers under another. */
	const struct pgd_hash_policy *policy;
	/* What read the row: a digest of the server, the query and its bound values (login.c);
	 * an outage, which reads no row, answers only for the same source. May be NULL. */
	const char *source;
	const char *password; /* never kept */
};

/*
 * True when a remembered, unexpired (younger than ttl_sec) entry of login->user has the MAC of
 * this login; scheme (schemelen bytes) then gets the scheme the full verification reported.
 * size is the capacity the conf asks for (a larger one than the cache has grows it). False
 * when ttl_sec is 0, or no key could be drawn.
 */
bool pgd_vcache_hit(unsigned long ttl_sec, unsigned long size, const struct pgd_vcache_login *login,
                    char *scheme, size_t schemelen);

/*
 * Remembers that login verified (after the full hash said so), replacing the user's entry.
 * outage (may be NULL) is the view of the same login, user and password, that
 * pgd_vcache_hit_outage will be asked with (the stored value is not part of it): given with a
 * stale_sec above 0, the entry may answer during a database outage (verify_cache_stale_if_error)
 * and is kept stale_sec seconds after its last confirmation; otherwise it never does.
 */
void pgd_vcache_remember(unsigned long ttl_sec, unsigned long size,
                         const struct pgd_vcache_login *login,
                         const struct pgd_vcache_login *outage, unsigned long stale_sec,
                         const char *scheme);

/*
 * For a login while the database cannot be reached (verify_cache_stale_if_error): true when
 * the user's entry was remembered with an outage view equal to login (user, policy, source,
 * password; login->stored is not read) and the database last confirmed it (the full hash, or
 * a hit that read the same stored value) less than stale_sec seconds ago, whatever the TTL;
 * scheme then gets the entry's scheme. A miss drops nothing (the call only wipes entries
 * already past every horizon, as every call does).
 */
bool pgd_vcache_hit_outage(unsigned long stale_sec, const struct pgd_vcache_login *login,
                           char *scheme, size_t schemelen);

/* The user's entry (if any) no longer answers during an outage: its row now restricts the
 * account (allow_nets, expiry) in a way a login without the row could not check. */
void pgd_vcache_forget_outage(const char *user);

/* Drops the entry of user (canonical name), if any: after a failed login. */
void pgd_vcache_forget(const char *user);

/* Live entries (expired ones included until evicted or replaced); for the tests. */
size_t pgd_vcache_count(void);

#endif
