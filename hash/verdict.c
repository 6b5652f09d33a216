// SPDX-License-Identifier: MIT
/*
 * What a verification answers besides its result: the detail line of struct pgd_hash_info, a
 * TOO_COSTLY with the cap it is above, the cap in force; the fingerprint of a policy; the
 * result's words for a log line.
 */
#include "hash/hash_impl.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void pgd_hash_set_detail(struct pgd_hash_info *info, const char *fmt, ...)
{
	va_list ap;

	if (info == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(info->detail, sizeof(info->detail), fmt, ap);
	va_end(ap);
}

enum pgd_hash_result pgd_hash_too_costly(struct pgd_hash_info *info, const char *cap_key,
                                         unsigned long cap, const char *fmt, ...)
{
	va_list ap;

	if (info != NULL) {
		va_start(ap, fmt);
		vsnprintf(info->detail, sizeof(info->detail), fmt, ap);
		va_end(ap);
		info->cap_key = cap_key;
		info->cap = cap;
	}
	return PGD_HASH_TOO_COSTLY;
}

unsigned long pgd_policy_cap(unsigned long value, unsigned long fallback)
{
	return value != 0 ? value : fallback;
}

/* Appends to out at *at; false (and out emptied) when it does not fit. */
static bool fingerprint_add(char *out, size_t outlen, size_t *at, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static bool fingerprint_add(char *out, size_t outlen, size_t *at, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (*at >= outlen)
		return false;
	va_start(ap, fmt);
	n = vsnprintf(out + *at, outlen - *at, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= outlen - *at) {
		if (outlen > 0)
			out[0] = '\0';
		*at = outlen;
		return false;
	}
	*at += (size_t)n;
	return true;
}

bool pgd_hash_policy_fingerprint(const struct pgd_hash_policy *policy, char *out, size_t outlen)
{
	size_t at = 0;
	bool ok = outlen > 0;

	/* A string as name=LEN:bytes; (name=-; for NULL), a number as name=VALUE; */
	if (ok)
		out[0] = '\0';
#define STR(name)                                                                                  \
	ok = ok && (policy->name != NULL ? fingerprint_add(out, outlen, &at, #name "=%zu:%s;",     \
	                                                   strlen(policy->name), policy->name)     \
	                                 : fingerprint_add(out, outlen, &at, #name "=-;"));
#define NUM(type, name)                                                                            \
	ok = ok &&                                                                                 \
	     fingerprint_add(out, outlen, &at, #name "=%llu;", (unsigned long long)policy->name);
	PGD_HASH_POLICY_FIELDS(STR, NUM)
#undef STR
#undef NUM
	return ok;
}

const char *pgd_hash_result_str(enum pgd_hash_result r)
{
	switch (r) {
	case PGD_HASH_MATCH:
		return "match";
	case PGD_HASH_MISMATCH:
		return "mismatch";
	case PGD_HASH_MALFORMED:
		return "malformed stored hash";
	case PGD_HASH_UNSUPPORTED:
		return "unsupported scheme";
	case PGD_HASH_TOO_COSTLY:
		return "hash cost above cap";
	case PGD_HASH_NOMEM:
		return "out of memory";
	}
	return "unknown result";
}
