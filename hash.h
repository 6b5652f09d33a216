// SPDX-License-Identifier: MIT
#ifndef PGD_HASH_H
#define PGD_HASH_H

#include <stdbool.h>
#include <stddef.h>

/* What a verification concluded. Only PGD_HASH_MATCH lets a user in. */
enum pgd_hash_result {
	PGD_HASH_MATCH,
	PGD_HASH_MISMATCH,
	PGD_HASH_MALFORMED,   /* the stored value is not valid for its scheme */
	PGD_HASH_UNSUPPORTED, /* unknown scheme, or one this build cannot verify */
	PGD_HASH_TOO_COSTLY,  /* its cost is above the configured cap */
	PGD_HASH_NOMEM,
};

/* Defaults for the cost caps (conf keys max_crypt_rounds, max_bcrypt_cost). A cap left at 0 in
 * struct pgd_hash_policy means its default. */
#define PGD_DEFAULT_MAX_CRYPT_ROUNDS 1000000UL
#define PGD_DEFAULT_MAX_BCRYPT_COST 14UL
/* PBKDF2 rounds, SCRAM-SHA-* iterations, OTP sequence number. */
#define PGD_DEFAULT_MAX_ITERATIONS 1000000UL
/* Memory one verification may take, in KiB: Argon2's m=, scrypt's and yescrypt's 128*r*N*p.
 * 256 MiB is the memory of libsodium's "moderate" argon2id. */
#define PGD_DEFAULT_MAX_MEMORY_KIB 262144UL
/* Argon2 t= (passes over the memory). */
#define PGD_DEFAULT_MAX_ARGON2_OPS 16UL

/*
 * The fields of struct pgd_hash_policy, in order: STR(name) for a string, NUM(type, name) for a
 * number or a bool (NUM casts it to an integer: a struct or an array there does not compile;
 * a pointer other than a string has no place in a policy). The struct is declared from this
 * list and pgd_hash_policy_fingerprint walks the same list, so a field added here is part of
 * every fingerprint (the verified-login cache binds its entries to it: a field it left out
 * could let a hash refused under one policy in from an entry made under another).
 */
#define PGD_HASH_POLICY_FIELDS(STR, NUM)                                                           \
	/* Scheme for stored values without a {SCHEME} prefix; NULL means "MD5" (Dovecot's SQL     \
	 * default). */                                                                            \
	STR(default_scheme)                                                                        \
	/* Highest rounds= accepted for SHA256-CRYPT and SHA512-CRYPT ($5$, $6$), and the rounds   \
	 * of $md5,rounds=, $sha1$ and BSDi "_" values read through the crypt schemes. */          \
	NUM(unsigned long, max_crypt_rounds)                                                       \
	/* Highest cost accepted for BLF-CRYPT ($2a$, $2b$, $2y$). */                              \
	NUM(unsigned long, max_bcrypt_cost)                                                        \
	/* The login name, for schemes that hash it in (DIGEST-MD5); may be NULL. */               \
	STR(login_user)                                                                            \
	/* Highest PBKDF2 rounds, SCRAM-SHA-1/SCRAM-SHA-256 iterations and OTP sequence number. */ \
	NUM(unsigned long, max_iterations)                                                         \
	/* Highest memory in KiB: ARGON2I/ARGON2ID m=, and 128*r*N*p of scrypt ($7$) / yescrypt    \
	 * ($y$, $gy$) values read through the crypt schemes. */                                   \
	NUM(unsigned long, max_memory_kib)                                                         \
	/* Highest Argon2 passes (t=). */                                                          \
	NUM(unsigned long, max_argon2_ops)                                                         \
	/* The Dovecot release whose scheme rules apply (hash_policy.h): 0 or 23 for 2.3, 24 for   \
	 * 2.4 (weak schemes refused unless allow_weak; ARGON2 known). */                          \
	NUM(unsigned, dovecot)                                                                     \
	NUM(bool, allow_weak)                                                                      \
	/* The stored value is in default_scheme whatever it starts with (password_noscheme). */   \
	NUM(bool, noscheme)                                                                        \
	/* The verifiers stop where hashing would start and answer PGD_HASH_MATCH: every check     \
	 * of the value, its cost against the caps included, and none of the work                  \
	 * (pgd_hash_inspect). */                                                                  \
	NUM(bool, dry_run)

#define PGD_HASH_POLICY_STR_FIELD(name) const char *name;
#define PGD_HASH_POLICY_NUM_FIELD(type, name) type name;

/* What a verification may accept; see PGD_HASH_POLICY_FIELDS for each field. */
struct pgd_hash_policy {
	PGD_HASH_POLICY_FIELDS(PGD_HASH_POLICY_STR_FIELD, PGD_HASH_POLICY_NUM_FIELD)
};

/*
 * Writes every field of policy (PGD_HASH_POLICY_FIELDS), named, into out (outlen bytes) as one
 * NUL-terminated string: two policies get the same fingerprint only when every field is equal
 * (strings compared by content and length-prefixed, NULL apart from ""). False when out is too
 * small (out is then ""). Holds no secret beyond the login name.
 */
bool pgd_hash_policy_fingerprint(const struct pgd_hash_policy *policy, char *out, size_t outlen);

/* Filled by pgd_hash_verify for the caller's log line; never holds the stored value. */
struct pgd_hash_info {
	char scheme[32];  /* canonical scheme name used, e.g. "SHA512-CRYPT"; "" if none found */
	char detail[256]; /* why, for MALFORMED / UNSUPPORTED / TOO_COSTLY; "" otherwise */
	/* For UNSUPPORTED by the scheme rules of the Dovecot release (hash_policy.h): the scheme
	 * they refuse ("MD5-CRYPT" for a {CRYPT} value that is MD5-crypt); NULL otherwise. */
	const char *policy_refused;
	/* For TOO_COSTLY: the conf key of the cap the value is above ("max_iterations") and
	 * the cap in force. */
	const char *cap_key;
	unsigned long cap;
};

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

/* A short English name for a result, for log lines. */
const char *pgd_hash_result_str(enum pgd_hash_result r);

#endif
