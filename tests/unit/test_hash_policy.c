// SPDX-License-Identifier: MIT
/*
 * Dovecot 2.4's scheme policy (hash_policy.c): weak schemes and DES/MD5-crypt values refused
 * unless allowed, ARGON2 known only to 2.4, the default scheme by dovecot_config_version,
 * nopassword by release. Hashes are made at run time by the same generator doveadm's vectors
 * check (tests/vectors), then verified under each rule set.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "hash.h"
#include "hash/hash_policy.h"
#include "util/secret.h"

#include "rows.h"

enum rules {
	V23,
	V24,
	V24_WEAK, /* auth_allow_weak_schemes = yes */
};

struct row {
	const char *name;
	const char *scheme;  /* made with this scheme ... */
	const char *literal; /* ... or this stored value */
	const char *default_scheme;
	enum rules rules;
	enum pgd_hash_result want;
	const char *detail; /* substring of info.detail */
};

static const struct row rows[] = {
    {"2.4 refuses MD5-CRYPT, the whole reason kept", "MD5-CRYPT", NULL, NULL, V24,
     PGD_HASH_UNSUPPORTED,
     "Weak password scheme 'MD5-CRYPT' used and refused (Dovecot 2.4: auth_allow_weak_schemes = "
     "yes allows it; rehash = yes then upgrades it at the next login)"},
    {"2.4 with allow_weak verifies MD5-CRYPT", "MD5-CRYPT", NULL, NULL, V24_WEAK, PGD_HASH_MATCH,
     ""},
    {"2.3 verifies MD5-CRYPT", "MD5-CRYPT", NULL, NULL, V23, PGD_HASH_MATCH, ""},
    {"2.4 refuses PLAIN-MD5", "PLAIN-MD5", NULL, NULL, V24, PGD_HASH_UNSUPPORTED, "'PLAIN-MD5'"},
    {"2.4 refuses SMD5", "SMD5", NULL, NULL, V24, PGD_HASH_UNSUPPORTED, "'SMD5'"},
    {"2.4 refuses LDAP-MD5", "LDAP-MD5", NULL, NULL, V24, PGD_HASH_UNSUPPORTED, "'LDAP-MD5'"},
    {"2.4 refuses PLAIN-MD4", "PLAIN-MD4", NULL, NULL, V24, PGD_HASH_UNSUPPORTED, "'PLAIN-MD4'"},
    {"2.4 refuses HMAC-MD5", "HMAC-MD5", NULL, NULL, V24, PGD_HASH_UNSUPPORTED, "'HMAC-MD5'"},
    {"2.4 refuses DES-CRYPT", "DES-CRYPT", NULL, NULL, V24, PGD_HASH_UNSUPPORTED, "'DES-CRYPT'"},
    {"2.4 refuses MD5 ($1$)", "MD5", NULL, NULL, V24, PGD_HASH_UNSUPPORTED, "'MD5'"},
    {"2.4 verifies SHA512-CRYPT", "SHA512-CRYPT", NULL, NULL, V24, PGD_HASH_MATCH, ""},
    {"2.4 verifies BLF-CRYPT through CRYPT", "CRYPT", NULL, NULL, V24, PGD_HASH_MATCH, ""},
    {"2.4 refuses a $1$ value under {CRYPT}", NULL, "{CRYPT}$1$saltsalt$Hhs1K2ypxqSjRjWx2wXzU1",
     NULL, V24, PGD_HASH_UNSUPPORTED, "'MD5-CRYPT'"},
    {"2.4 refuses a $1$ value under {SHA512-CRYPT}", NULL,
     "{SHA512-CRYPT}$1$saltsalt$Hhs1K2ypxqSjRjWx2wXzU1", NULL, V24, PGD_HASH_UNSUPPORTED,
     "'MD5-CRYPT'"},
    {"2.4 refuses an unprefixed plain value read as SHA512-CRYPT as DES-CRYPT", NULL, "secret",
     "SHA512-CRYPT", V24, PGD_HASH_UNSUPPORTED, "'DES-CRYPT'"},
    {"2.4 reads a bare $6$ value as PLAIN: the password does not match it", "SHA512-CRYPT", "bare",
     "PLAIN", V24, PGD_HASH_MISMATCH, ""},
    {"2.4 verifies ARGON2", "ARGON2", NULL, NULL, V24, PGD_HASH_MATCH, ""},
    {"2.3 does not know ARGON2", "ARGON2", NULL, NULL, V23, PGD_HASH_UNSUPPORTED,
     "unknown scheme ARGON2"},
    {"2.4 ARGON2 reads an argon2i value too", "ARGON2I", "argon2", NULL, V24, PGD_HASH_MATCH, ""},
};

static void check_row(void **state)
{
	const struct row *r = *state;
	struct pgd_hash_policy policy = {
	    .default_scheme = r->default_scheme,
	    .dovecot = r->rules == V23 ? 23 : 24,
	    .allow_weak = r->rules == V24_WEAK,
	};
	struct pgd_hash_info info;
	char *made = NULL, *stored;
	char buf[512];
	enum pgd_hash_result got;

	if (r->scheme != NULL && !pgd_hash_scheme_known(r->scheme))
		skip();
	if (r->scheme != NULL)
		assert_int_equal(pgd_hash_generate(r->scheme, "secret", 0, &made), PGD_HASH_MATCH);
	if (r->literal == NULL) {
		stored = made;
	} else if (strcmp(r->literal, "bare") == 0) {
		/* the value without its {SCHEME} prefix */
		stored = strchr(made, '}') + 1;
	} else if (strcmp(r->literal, "argon2") == 0) {
		snprintf(buf, sizeof(buf), "{ARGON2}%s", strchr(made, '}') + 1);
		stored = buf;
	} else {
		stored = (char *)(uintptr_t)r->literal;
	}
	got = pgd_hash_verify(stored, "secret", &policy, &info);
	if (got != r->want || strstr(info.detail, r->detail) == NULL)
		fail_msg("%s: got %s (%s), want %s with '%s'", stored, pgd_hash_result_str(got),
		         info.detail, pgd_hash_result_str(r->want), r->detail);
	/* the audit's reading (no password, no hashing) meets the same rules */
	{
		struct pgd_hash_info seen;
		enum pgd_hash_result ri = pgd_hash_inspect(stored, &policy, &seen);

		if (got == PGD_HASH_UNSUPPORTED
		        ? ri != PGD_HASH_UNSUPPORTED || seen.policy_refused == NULL ||
		              strstr(seen.detail, r->detail) == NULL
		        : ri != PGD_HASH_MATCH || seen.policy_refused != NULL)
			fail_msg("%s: inspect gives %s (%s), verify %s", stored,
			         pgd_hash_result_str(ri), seen.detail, pgd_hash_result_str(got));
	}
	pgd_free_secret(made);
}

static void default_scheme(void **state)
{
	(void)state;
	assert_string_equal(pgd_hash_default_scheme_v24(NULL), "PLAIN");
	assert_string_equal(pgd_hash_default_scheme_v24("2.4.0"), "PLAIN");
	assert_string_equal(pgd_hash_default_scheme_v24("2.4.1"), "PLAIN");
	assert_string_equal(pgd_hash_default_scheme_v24("2.4.2"), "PLAIN");
	assert_string_equal(pgd_hash_default_scheme_v24("2.4.3"), "CRYPT");
	assert_string_equal(pgd_hash_default_scheme_v24("2.5.0"), "CRYPT");
	assert_string_equal(pgd_hash_default_scheme_v24("junk"), "PLAIN");
}

static void nopassword(void **state)
{
	(void)state;
	assert_true(pgd_hash_nopassword_applies(24, "{PLAIN}x"));
	assert_true(pgd_hash_nopassword_applies(23, NULL));
	assert_true(pgd_hash_nopassword_applies(23, ""));
	assert_true(pgd_hash_nopassword_applies(23, "{PLAIN}"));
	assert_false(pgd_hash_nopassword_applies(23, "{PLAIN}x"));
	assert_false(pgd_hash_nopassword_applies(23, "x"));
}

/*
 * pgd_hash_policy_fingerprint: every field of PGD_HASH_POLICY_FIELDS (the list the struct is
 * declared from) changes it; NULL and "" differ; a buffer too small gives false and "".
 */
static void fingerprint(void **state)
{
	const struct pgd_hash_policy base = {
	    .default_scheme = "MD5", .login_user = "u", .dovecot = 24};
	struct pgd_hash_policy other;
	char a[512], b[512], small[16];
	int fields = 0;

	(void)state;
	assert_true(pgd_hash_policy_fingerprint(&base, a, sizeof(a)));
	assert_true(pgd_hash_policy_fingerprint(&base, b, sizeof(b)));
	assert_string_equal(a, b);
	assert_non_null(strstr(a, "allow_weak=0;"));
	assert_non_null(strstr(a, "dovecot=24;"));
#define STR(name)                                                                                  \
	other = base;                                                                              \
	other.name = base.name != NULL ? NULL : "x";                                               \
	assert_true(pgd_hash_policy_fingerprint(&other, b, sizeof(b)));                            \
	assert_string_not_equal(a, b);                                                             \
	other.name = "";                                                                           \
	assert_true(pgd_hash_policy_fingerprint(&other, b, sizeof(b)));                            \
	assert_string_not_equal(a, b);                                                             \
	fields++;
#define NUM(type, name)                                                                            \
	other = base;                                                                              \
	other.name = (type)!base.name;                                                             \
	assert_true(pgd_hash_policy_fingerprint(&other, b, sizeof(b)));                            \
	assert_string_not_equal(a, b);                                                             \
	fields++;
	PGD_HASH_POLICY_FIELDS(STR, NUM)
#undef STR
#undef NUM
	assert_int_equal(fields, 11);
	/* a login name that moves bytes between fields is another fingerprint (length-prefixed) */
	other = base;
	other.login_user = "u;max_iterations=0";
	assert_true(pgd_hash_policy_fingerprint(&other, b, sizeof(b)));
	assert_string_not_equal(a, b);
	assert_false(pgd_hash_policy_fingerprint(&base, small, sizeof(small)));
	assert_string_equal(small, "");
}

int main(void)
{
	struct CMUnitTest hash_policy[PGD_N_ROWS(rows) + 3] = {
	    [PGD_N_ROWS(rows)] = cmocka_unit_test(default_scheme),
	    [PGD_N_ROWS(rows) + 1] = cmocka_unit_test(nopassword),
	    [PGD_N_ROWS(rows) + 2] = cmocka_unit_test(fingerprint),
	};

	PGD_ROW_CASES(hash_policy, rows, check_row);
	return cmocka_run_group_tests(hash_policy, NULL, NULL);
}
