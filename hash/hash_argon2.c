// SPDX-License-Identifier: MIT
/*
 * ARGON2I and ARGON2ID through libsodium, as Dovecot 2.3 does: crypto_pwhash_str_verify() on
 * the "$argon2i[d]$v=19$m=KiB,t=passes,p=lanes$salt$hash" string, whatever the scheme name
 * says (libsodium picks the variant from the string), and anything it refuses is a mismatch.
 * Before that we read m= and t= ourselves and refuse values above the policy's caps:
 * libsodium would allocate and run whatever the row asks for.
 * Without libsodium (meson -Dargon2=disabled) both schemes are refused with a clear detail.
 */
#include "hash/hash_impl.h"
#include "util/secret.h"

#include <limits.h>
#include <string.h>

/* Decimal digits at *p into *out (saturating); false if there are none. */
static bool read_num(const char **p, unsigned long *out)
{
	const char *s = *p;

	*out = 0;
	if (*s < '0' || *s > '9')
		return false;
	for (; *s >= '0' && *s <= '9'; s++) {
		unsigned long d = (unsigned long)(*s - '0');

		*out = *out > (ULONG_MAX - d) / 10 ? ULONG_MAX : *out * 10 + d;
	}
	*p = s;
	return true;
}

static bool skip(const char **p, const char *lit)
{
	size_t n = strlen(lit);

	if (strncmp(*p, lit, n) != 0)
		return false;
	*p += n;
	return true;
}

bool pgd_argon2_cost_read(const char *v, bool *id, unsigned long *m, unsigned long *t,
                          unsigned long *p)
{
	unsigned long version;

	*id = skip(&v, "$argon2id$");
	if (!*id && !skip(&v, "$argon2i$"))
		return false;
	if (skip(&v, "v=") && (!read_num(&v, &version) || !skip(&v, "$")))
		return false;
	return skip(&v, "m=") && read_num(&v, m) && skip(&v, ",t=") && read_num(&v, t) &&
	       skip(&v, ",p=") && read_num(&v, p) && skip(&v, "$");
}

/* libsodium's opslimit/memlimit steps (crypto_pwhash_argon2i{,d}.h), memory in KiB */
#define ARGON2ID_OPS_MODERATE 3UL
#define ARGON2ID_OPS_SENSITIVE 4UL
#define ARGON2ID_OPS_INTERACTIVE 2UL
#define ARGON2ID_KIB_INTERACTIVE 65536UL
#define ARGON2ID_KIB_MODERATE 262144UL
#define ARGON2ID_KIB_SENSITIVE 1048576UL
#define ARGON2I_OPS_INTERACTIVE 4UL
#define ARGON2I_OPS_MODERATE 6UL
#define ARGON2I_OPS_SENSITIVE 8UL
#define ARGON2I_KIB_INTERACTIVE 32768UL
#define ARGON2I_KIB_MODERATE 131072UL
#define ARGON2I_KIB_SENSITIVE 524288UL
/* Dovecot works around libsodium 1.0.13, which refused fewer than 3 passes */
#define ARGON2_MIN_PASSES 3UL

void pgd_argon2_params(bool id, unsigned long rounds, unsigned long *m_kib, unsigned long *t)
{
	if (id) {
		if (rounds == 0)
			rounds = ARGON2ID_OPS_INTERACTIVE;
		*m_kib = rounds >= ARGON2ID_OPS_SENSITIVE  ? ARGON2ID_KIB_SENSITIVE
		         : rounds >= ARGON2ID_OPS_MODERATE ? ARGON2ID_KIB_MODERATE
		                                           : ARGON2ID_KIB_INTERACTIVE;
	} else {
		if (rounds == 0)
			rounds = ARGON2I_OPS_INTERACTIVE;
		*m_kib = rounds >= ARGON2I_OPS_SENSITIVE  ? ARGON2I_KIB_SENSITIVE
		         : rounds >= ARGON2I_OPS_MODERATE ? ARGON2I_KIB_MODERATE
		                                          : ARGON2I_KIB_INTERACTIVE;
	}
	*t = rounds < ARGON2_MIN_PASSES ? ARGON2_MIN_PASSES : rounds;
}

#ifdef PGD_HAVE_SODIUM
#include <pthread.h>
#include <sodium.h>

/* Our copy of libsodium's interactive/moderate/sensitive steps (read without libsodium too) is
 * libsodium's, for each variant. */
#define SODIUM_STEPS(V, v)                                                                         \
	_Static_assert(V##_OPS_INTERACTIVE == crypto_pwhash_##v##_OPSLIMIT_INTERACTIVE &&          \
	                   V##_OPS_MODERATE == crypto_pwhash_##v##_OPSLIMIT_MODERATE &&            \
	                   V##_OPS_SENSITIVE == crypto_pwhash_##v##_OPSLIMIT_SENSITIVE &&          \
	                   V##_KIB_INTERACTIVE * 1024 ==                                           \
	                       crypto_pwhash_##v##_MEMLIMIT_INTERACTIVE &&                         \
	                   V##_KIB_MODERATE * 1024 == crypto_pwhash_##v##_MEMLIMIT_MODERATE &&     \
	                   V##_KIB_SENSITIVE * 1024 == crypto_pwhash_##v##_MEMLIMIT_SENSITIVE,     \
	               "libsodium's " #v " steps")
SODIUM_STEPS(ARGON2ID, argon2id);
SODIUM_STEPS(ARGON2I, argon2i);

static pthread_once_t sodium_once = PTHREAD_ONCE_INIT;
static int sodium_ready = -1;

static void sodium_start(void)
{
	sodium_ready = sodium_init();
}

bool pgd_argon2_available(void)
{
	pthread_once(&sodium_once, sodium_start);
	return sodium_ready >= 0;
}

enum pgd_hash_result pgd_verify_argon2(const struct pgd_scheme *s, const struct pgd_raw *raw,
                                       const char *password, const struct pgd_hash_policy *policy,
                                       struct pgd_hash_info *info)
{
	unsigned long mem_cap = pgd_policy_cap(policy->max_memory_kib, PGD_DEFAULT_MAX_MEMORY_KIB);
	unsigned long ops_cap = pgd_policy_cap(policy->max_argon2_ops, PGD_DEFAULT_MAX_ARGON2_OPS);
	const char *v = (const char *)raw->data;
	unsigned long m, t, lanes;
	bool id;

	(void)s;
	if (!pgd_argon2_available()) {
		pgd_hash_set_detail(info, "libsodium failed to initialise");
		return PGD_HASH_UNSUPPORTED;
	}
	if (!pgd_argon2_cost_read(v, &id, &m, &t, &lanes)) {
		/* Dovecot: libsodium refuses it, so "Password mismatch" */
		pgd_hash_set_detail(info, "not an Argon2 string");
		return PGD_HASH_MALFORMED;
	}
	if (m > mem_cap) {
		return pgd_hash_too_costly(info, "max_memory_kib", mem_cap,
		                           "Argon2 memory %lu KiB above cap %lu KiB", m, mem_cap);
	}
	if (t > ops_cap) {
		return pgd_hash_too_costly(info, "max_argon2_ops", ops_cap,
		                           "Argon2 passes %lu above cap %lu", t, ops_cap);
	}
	if (policy->dry_run)
		return PGD_HASH_MATCH;
	return crypto_pwhash_str_verify(v, password, strlen(password)) == 0 ? PGD_HASH_MATCH
	                                                                    : PGD_HASH_MISMATCH;
}

/* Dovecot's generate_argon2i()/generate_argon2id(): rounds are libsodium's opslimit, and the
 * memory follows the interactive/moderate/sensitive step that opslimit reaches; then at least
 * 3 passes (so the default ARGON2ID is t=3 with 64 MiB). */
enum pgd_hash_result pgd_generate_argon2(const struct pgd_scheme *s, const char *password,
                                         const char *user, unsigned long rounds,
                                         struct pgd_raw *out, struct pgd_hash_info *info)
{
	bool id = strcmp(s->crypt_prefix, "$argon2id$") == 0;
	char result[crypto_pwhash_STRBYTES];
	unsigned long m_kib, passes;

	(void)user;
	if (!pgd_argon2_available()) {
		pgd_hash_set_detail(info, "libsodium failed to initialise");
		return PGD_HASH_UNSUPPORTED;
	}
	pgd_argon2_params(id, rounds, &m_kib, &passes);
	if (crypto_pwhash_str_alg(result, password, strlen(password), passes, (size_t)m_kib * 1024,
	                          id ? crypto_pwhash_ALG_ARGON2ID13
	                             : crypto_pwhash_ALG_ARGON2I13) != 0) {
		pgd_hash_set_detail(info, "libsodium cannot make %s (out of memory?)", s->name);
		return PGD_HASH_NOMEM;
	}
	if (!pgd_raw_set(out, result, strlen(result))) {
		pgd_wipe(result, sizeof(result));
		return PGD_HASH_NOMEM;
	}
	pgd_wipe(result, sizeof(result));
	return PGD_HASH_MATCH;
}

#else

bool pgd_argon2_available(void)
{
	return false;
}

static enum pgd_hash_result lacks_sodium(const struct pgd_scheme *s, struct pgd_hash_info *info)
{
	pgd_hash_set_detail(info, "%s needs libsodium, which this build lacks", s->name);
	return PGD_HASH_UNSUPPORTED;
}

enum pgd_hash_result pgd_verify_argon2(const struct pgd_scheme *s, const struct pgd_raw *raw,
                                       const char *password, const struct pgd_hash_policy *policy,
                                       struct pgd_hash_info *info)
{
	(void)raw, (void)password, (void)policy;
	return lacks_sodium(s, info);
}

enum pgd_hash_result pgd_generate_argon2(const struct pgd_scheme *s, const char *password,
                                         const char *user, unsigned long rounds,
                                         struct pgd_raw *out, struct pgd_hash_info *info)
{
	(void)password, (void)user, (void)rounds, (void)out;
	return lacks_sodium(s, info);
}

#endif
