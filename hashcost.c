// SPDX-License-Identifier: MIT
/*
 * How much work a stored value asks for: what rehash and the check command compare. The value
 * is read as the verifier reads it (prefix, .b64/.hex decoding), then its crypt setting by the
 * same cost reader that guards crypt() (hash_cost.c): never the encoded text, never past its end.
 */
#include "hashcost.h"

#include "hash_impl.h"

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
