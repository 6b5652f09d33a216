// SPDX-License-Identifier: MIT
/*
 * What a verification is asked and what it answers: the result, the policy (the caps and the
 * Dovecot release's rules) and the info for the caller's log line. Shared by hash.h's front and
 * the schemes in hash/, which need these and nothing of hash.c.
 */
#ifndef PGD_HASH_VERDICT_H
#define PGD_HASH_VERDICT_H

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

/* A short English name for a result, for log lines. */
const char *pgd_hash_result_str(enum pgd_hash_result r);

#endif
