// SPDX-License-Identifier: MIT
/*
 * Dovecot 2.4's scheme policy (src/lib-auth/password-scheme.c password_verify(),
 * password-scheme-crypt.c crypt_verify(), at tag 2.4.1): schemes flagged weak are refused,
 * and so is a value of the crypt family that is DES or MD5-crypt, unless
 * auth_allow_weak_schemes = yes. The refusal is an internal failure in Dovecot, not a password
 * mismatch; here it is PGD_HASH_UNSUPPORTED, whose log line names the scheme.
 */
#include "hash/hash_policy.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hash/hash_impl.h"

static const char *const weak_schemes[] = {
    "MD5", "MD5-CRYPT", "SMD5", "HMAC-MD5", "PLAIN-MD4", "PLAIN-MD5", "LDAP-MD5", "DES-CRYPT",
};

bool pgd_hash_scheme_weak(const char *scheme)
{
	for (size_t i = 0; i < sizeof(weak_schemes) / sizeof(weak_schemes[0]); i++)
		if (strcmp(weak_schemes[i], scheme) == 0)
			return true;
	return false;
}

/* Schemes whose values Dovecot 2.4 hands to crypt_verify(). */
static bool crypt_family(const char *scheme)
{
	return strcmp(scheme, "CRYPT") == 0 || strcmp(scheme, "DES-CRYPT") == 0 ||
	       strcmp(scheme, "SHA256-CRYPT") == 0 || strcmp(scheme, "SHA512-CRYPT") == 0;
}

static enum pgd_hash_result refuse(struct pgd_hash_info *info, const char *weak)
{
	if (info != NULL)
		info->policy_refused = weak;
	pgd_hash_set_detail(info,
	                    "Weak password scheme '%s' used and refused (Dovecot 2.4: "
	                    "auth_allow_weak_schemes = yes allows it; rehash = yes then "
	                    "upgrades it at the next login)",
	                    weak);
	return PGD_HASH_UNSUPPORTED;
}

enum pgd_hash_result pgd_hash_policy_check(const char *scheme, const unsigned char *raw, size_t len,
                                           const struct pgd_hash_policy *policy,
                                           struct pgd_hash_info *info)
{
	if (policy->dovecot < 24) {
		if (strcmp(scheme, "ARGON2") == 0) {
			/* Dovecot 2.3 has ARGON2I and ARGON2ID only. */
			if (info != NULL)
				info->policy_refused = "ARGON2";
			pgd_hash_set_detail(info, "unknown scheme ARGON2 (Dovecot 2.4 has it)");
			return PGD_HASH_UNSUPPORTED;
		}
		return PGD_HASH_MATCH;
	}
	if (policy->allow_weak)
		return PGD_HASH_MATCH;
	if (pgd_hash_scheme_weak(scheme))
		return refuse(info, scheme);
	/* crypt_verify(): "$2?$" goes to BLF-CRYPT first; an empty value is a mismatch. */
	if (crypt_family(scheme) && len > 1 &&
	    !(len > 4 && raw[0] == '$' && raw[1] == '2' && raw[3] == '$')) {
		if (raw[0] != '$')
			return refuse(info, "DES-CRYPT");
		if (raw[1] == '1')
			return refuse(info, "MD5-CRYPT");
	}
	return PGD_HASH_MATCH;
}

const char *pgd_hash_default_scheme_v24(const char *config_version)
{
	unsigned long major, minor, patch = 0;
	char *end;

	if (config_version == NULL)
		return "PLAIN";
	major = strtoul(config_version, &end, 10);
	if (*end != '.')
		return "PLAIN";
	minor = strtoul(end + 1, &end, 10);
	if (*end == '.')
		patch = strtoul(end + 1, &end, 10);
	if (major > 2 || (major == 2 && (minor > 4 || (minor == 4 && patch >= 3))))
		return "CRYPT";
	return "PLAIN";
}

bool pgd_hash_nopassword_applies(unsigned dovecot, const char *stored)
{
	const char *brace;

	if (dovecot >= 24 || stored == NULL)
		return true;
	/* password_get_scheme(): "{SCHEME}" is cut off before the test. */
	brace = stored[0] == '{' ? strchr(stored, '}') : NULL;
	if (brace != NULL)
		stored = brace + 1;
	return *stored == '\0';
}
