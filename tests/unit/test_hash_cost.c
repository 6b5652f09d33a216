// SPDX-License-Identifier: MIT
/*
 * The cost caps: the crypt cost reader against libxcrypt (hash/crypt_setting.c), every cap at
 * exactly the cap and one above, hostile parameters of every crypt method against a time bound, and
 * the property that crypt() only ever sees a value whose cost the reader bounded.
 *
 * crypt_rn() is interposed here (the executable's definition wins over libcrypt's for the
 * static library it links), so each test knows whether a verification reached libxcrypt.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <crypt.h>
#include <dlfcn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <cmocka.h>

#include "hash.h"
#include "hash/hash_impl.h"
#include "hash/stored_cost.h"
#include "util/secret.h"

typedef char *crypt_rn_fn(const char *, const char *, void *, int);

static unsigned crypt_calls;
static char crypt_last[256];

/* Counts and forwards to libxcrypt's crypt_rn(). */
char *crypt_rn(const char *phrase, const char *setting, void *data, int size)
{
	static crypt_rn_fn *real;

	if (real == NULL)
		*(void **)&real = dlsym(RTLD_NEXT, "crypt_rn");
	if (real == NULL)
		abort();
	crypt_calls++;
	snprintf(crypt_last, sizeof(crypt_last), "%s", setting);
	return real(phrase, setting, data, size);
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* libxcrypt's own hash of password for setting, or NULL if it refuses; caller frees. */
static char *xcrypt(const char *password, const char *setting)
{
	struct crypt_data *cd = calloc(1, sizeof(*cd));
	char *out, *copy = NULL;

	assert_non_null(cd);
	out = crypt_rn(password, setting, cd, (int)sizeof(*cd));
	if (out != NULL && out[0] != '*')
		copy = strdup(out);
	free(cd);
	return copy;
}

struct read_case {
	const char *setting;
	bool ok;
	const char *family;
	enum pgd_crypt_cost_kind kind;
	unsigned long value; /* rounds, bcrypt cost or memory KiB */
	unsigned long passes;
};

/* What the reader makes of each method's parameters; the numbers come from libxcrypt's
 * decoding rules, worked out by hand. */
static void test_reader(void **state)
{
	static const struct read_case cases[] = {
	    /* $sha1$: only the form libxcrypt prints back */
	    {"$sha1$0$abc$", true, "sha1crypt", PGD_CRYPT_COST_ROUNDS, 0, 0},
	    {"$sha1$5$abc$", true, "sha1crypt", PGD_CRYPT_COST_ROUNDS, 5, 0},
	    {"$sha1$261354$DUw/MdvqszBi5ttur.rC$", true, "sha1crypt", PGD_CRYPT_COST_ROUNDS, 261354,
	     0},
	    {"$sha1$18446744073709551615$abc$", true, "sha1crypt", PGD_CRYPT_COST_ROUNDS,
	     18446744073709551615UL, 0},
	    {"$sha1$18446744073709551616$abc$", false, "sha1crypt", 0, 0, 0},
	    {"$sha1$-1$abc$", false, "sha1crypt", 0, 0, 0},
	    {"$sha1$+5$abc$", false, "sha1crypt", 0, 0, 0},
	    {"$sha1$05$abc$", false, "sha1crypt", 0, 0, 0},
	    {"$sha1$00$abc$", false, "sha1crypt", 0, 0, 0},
	    {"$sha1$$abc$", false, "sha1crypt", 0, 0, 0},
	    {"$sha1$5x$abc$", false, "sha1crypt", 0, 0, 0},
	    {"$sha1x5$abc$", false, "sha1crypt", 0, 0, 0},
	    {"$sha1$5", false, "sha1crypt", 0, 0, 0},
	    /* SHA-crypt rounds= */
	    {"$6$abc$", true, "sha512crypt", PGD_CRYPT_COST_ROUNDS, 5000, 0},
	    {"$5$abc", true, "sha256crypt", PGD_CRYPT_COST_ROUNDS, 5000, 0},
	    {"$6$rounds=1000$abc$", true, "sha512crypt", PGD_CRYPT_COST_ROUNDS, 1000, 0},
	    {"$5$rounds=999999999$abc$", true, "sha256crypt", PGD_CRYPT_COST_ROUNDS, 999999999, 0},
	    {"$6$rounds=999$abc$", false, "sha512crypt", 0, 0, 0},
	    {"$6$rounds=1000000000$abc$", false, "sha512crypt", 0, 0, 0},
	    {"$6$rounds=01000$abc$", false, "sha512crypt", 0, 0, 0},
	    {"$6$rounds=+1000$abc$", false, "sha512crypt", 0, 0, 0},
	    {"$6$rounds=1000", false, "sha512crypt", 0, 0, 0},
	    {"$6$rounds=$abc$", false, "sha512crypt", 0, 0, 0},
	    /* bcrypt */
	    {"$2b$04$abcdefghijklmnopqrstuu", true, "bcrypt", PGD_CRYPT_COST_BCRYPT, 4, 0},
	    {"$2y$31$abcdefghijklmnopqrstuu", true, "bcrypt", PGD_CRYPT_COST_BCRYPT, 31, 0},
	    {"$2a$10$abcdefghijklmnopqrstuu", true, "bcrypt", PGD_CRYPT_COST_BCRYPT, 10, 0},
	    {"$2x$10$abcdefghijklmnopqrstuu", true, "bcrypt", PGD_CRYPT_COST_BCRYPT, 10, 0},
	    {"$2y$03$abcdefghijklmnopqrstuu", false, "bcrypt", 0, 0, 0},
	    {"$2y$32$abcdefghijklmnopqrstuu", false, "bcrypt", 0, 0, 0},
	    {"$2y$5$abcdefghijklmnopqrstuu", false, "bcrypt", 0, 0, 0},
	    {"$2y$+5$abcdefghijklmnopqrstuu", false, "bcrypt", 0, 0, 0},
	    {"$2c$05$abcdefghijklmnopqrstuu", false, "unknown", 0, 0, 0},
	    /* Sun MD5: the cap reads the rounds= written, over the 4096 base */
	    {"$md5$abcdefgh$", true, "sunmd5", PGD_CRYPT_COST_ROUNDS, 0, 0},
	    {"$md5,rounds=33482$HuFLHvyf$", true, "sunmd5", PGD_CRYPT_COST_ROUNDS, 33482, 0},
	    {"$md5$rounds=4294967295$abc$", true, "sunmd5", PGD_CRYPT_COST_ROUNDS, 4294967295UL, 0},
	    {"$md5$rounds=4294967296$abc$", false, "sunmd5", 0, 0, 0},
	    {"$md5,rounds=0$abc$", false, "sunmd5", 0, 0, 0},
	    {"$md5,rounds=05$abc$", false, "sunmd5", 0, 0, 0},
	    {"$md5,rounds=+5$abc$", false, "sunmd5", 0, 0, 0},
	    {"$md5,rounds=5", false, "sunmd5", 0, 0, 0},
	    {"$md5xabc$", false, "sunmd5", 0, 0, 0},
	    /* BSDi: count in the 4 characters after '_', least significant first */
	    {"_J9..abcd", true, "bsdicrypt", PGD_CRYPT_COST_ROUNDS, 725, 0},
	    {"_....abcd", true, "bsdicrypt", PGD_CRYPT_COST_ROUNDS, 0, 0},
	    {"_zzzzabcd", true, "bsdicrypt", PGD_CRYPT_COST_ROUNDS, 16777215, 0},
	    {"_J9..abc", false, "bsdicrypt", 0, 0, 0},
	    {"_J9.-abcd", false, "bsdicrypt", 0, 0, 0},
	    /* yescrypt: flavor, N, r, then optional p/t; 128 r N bytes */
	    {"$y$j9T$2ILFVcigwZKtxbGQrVdlp.$", true, "yescrypt", PGD_CRYPT_COST_MEMORY, 16384, 1},
	    {"$gy$j9T$2ILFVcigwZKtxbGQrVdlp.", true, "gost-yescrypt", PGD_CRYPT_COST_MEMORY, 16384,
	     1},
	    {"$y$jDT$abc", true, "yescrypt", PGD_CRYPT_COST_MEMORY, 262144, 1},
	    {"$y$j5T$abc", true, "yescrypt", PGD_CRYPT_COST_MEMORY, 1024, 1},
	    {"$y$.9T$abc", true, "yescrypt", PGD_CRYPT_COST_MEMORY, 16384, 1},
	    {"$y$/9T$abc", true, "yescrypt", PGD_CRYPT_COST_MEMORY, 16384, 1},
	    /* t = 3: N + 2N blocks, 2 passes after the fill */
	    {"$y$j5T/0$abc", true, "yescrypt", PGD_CRYPT_COST_MEMORY, 1024, 2},
	    /* the t = 4656 */
	    {"$y$j9T/szz$abc", true, "yescrypt", PGD_CRYPT_COST_MEMORY, 16384, 4655},
	    /* p = 2 (have 1): one more lane of 128 r bytes and 12352 S-box bytes */
	    {"$y$j9T..$abc", true, "yescrypt", PGD_CRYPT_COST_MEMORY, 16401, 1},
	    {"$y$j9T3..$abc", false, "yescrypt", 0, 0, 0},   /* g */
	    {"$y$j9T7...$abc", false, "yescrypt", 0, 0, 0},  /* 8: a ROM */
	    {"$y$j9TE.$abc", false, "yescrypt", 0, 0, 0},    /* have bit 16 */
	    {"$y$.9T/.$abc", false, "yescrypt", 0, 0, 0},    /* classic scrypt with t */
	    {"$y$a9T$abc", false, "yescrypt", 0, 0, 0},      /* a flavor libxcrypt refuses */
	    {"$y$j.T$abc", false, "yescrypt", 0, 0, 0},      /* N = 2 */
	    {"$y$jzzzzzzT$abc", false, "yescrypt", 0, 0, 0}, /* N = 2^(big) */
	    {"$y$jST$abc", true, "yescrypt", PGD_CRYPT_COST_MEMORY, 8589934592UL, 1}, /* N = 2^31 */
	    {"$y$jTT$abc", false, "yescrypt", 0, 0, 0},                               /* N = 2^32 */
	    {"$y$j9T", false, "yescrypt", 0, 0, 0},
	    {"$y$j9T-$abc", false, "yescrypt", 0, 0, 0},
	    /* scrypt: N as one character, r and p as 5 characters each */
	    {"$7$C6..../....SodiumChloride", true, "scrypt", PGD_CRYPT_COST_MEMORY, 16384, 1},
	    {"$7$CU..../....DHJhBKurDkv2Vhxt", true, "scrypt", PGD_CRYPT_COST_MEMORY, 65536, 1},
	    {"$7$36..../....SodiumChloride", true, "scrypt", PGD_CRYPT_COST_MEMORY, 32, 1},
	    /* p = 2: one more lane of 1 KiB, twice the work */
	    {"$7$36....0....SodiumChloride", true, "scrypt", PGD_CRYPT_COST_MEMORY, 33, 3},
	    {"$7$.6..../....abc", false, "scrypt", 0, 0, 0}, /* N = 1 */
	    {"$7$/6..../....abc", false, "scrypt", 0, 0, 0}, /* N = 2 */
	    {"$7$K6..../....abc", true, "scrypt", PGD_CRYPT_COST_MEMORY, 4194304, 1},
	    {"$7$C6..../..", false, "scrypt", 0, 0, 0},
	    {"$7$C.......zzzzzabc", false, "scrypt", 0, 0, 0}, /* r = 0 */
	    /* fixed costs */
	    {"$1$abcdefgh$", true, "md5crypt", PGD_CRYPT_COST_NONE, 0, 0},
	    {"$3$$8846f7eaee8fb117ad06bdd830b7586c", true, "nt", PGD_CRYPT_COST_NONE, 0, 0},
	    {"XYZJ1viSbBT0A", true, "descrypt", PGD_CRYPT_COST_NONE, 0, 0},
	    /* unknown methods, and characters crypt() refuses anywhere */
	    {"$sm3$abc$", false, "unknown", 0, 0, 0},
	    {"$sm3y$j9T$abc", false, "unknown", 0, 0, 0},
	    {"$9$abc", false, "unknown", 0, 0, 0},
	    {"x", false, "unknown", 0, 0, 0},
	    {"$6$ab c$", false, "crypt", 0, 0, 0},
	    {"$6$ab:c$", false, "crypt", 0, 0, 0},
	    {"*0", false, "crypt", 0, 0, 0},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct read_case *c = &cases[i];
		struct pgd_crypt_cost cost;
		bool ok = pgd_crypt_cost_read(c->setting, &cost);
		unsigned long value = cost.kind == PGD_CRYPT_COST_ROUNDS   ? cost.rounds
		                      : cost.kind == PGD_CRYPT_COST_BCRYPT ? cost.bcrypt_cost
		                      : cost.kind == PGD_CRYPT_COST_MEMORY ? cost.memory_kib
		                                                           : 0;

		if (ok != c->ok)
			fail_msg("%s: read %s, want %s", c->setting, ok ? "ok" : "refused",
			         c->ok ? "ok" : "refused");
		if (strcmp(cost.family, c->family) != 0)
			fail_msg("%s: family %s, want %s", c->setting, cost.family, c->family);
		if (!ok)
			continue;
		if (cost.kind != c->kind || value != c->value ||
		    (c->kind == PGD_CRYPT_COST_MEMORY && cost.passes != c->passes))
			fail_msg("%s: kind %d value %lu passes %lu, want kind %d value %lu passes "
			         "%lu",
			         c->setting, cost.kind, value, cost.passes, c->kind, c->value,
			         c->passes);
	}
}

/*
 * Hostile costs under every prefix that reaches crypt(): each is refused before crypt() runs,
 * within a generous time bound (the point is never the 40 s or 30 min they would take).
 */
static void test_hostile_costs(void **state)
{
	static const char *const settings[] = {
	    "$sha1$-1$abcdefgh$xxxxxxxxxxxxxxxxxxxxxxxxxxxx",
	    "$sha1$+100000001$abcdefgh$xxxxxxxxxxxxxxxxxxxxxxxxxxxx",
	    "$sha1$0100000001$abcdefgh$xxxxxxxxxxxxxxxxxxxxxxxxxxxx",
	    "$sha1$18446744073709551616$abcdefgh$xxxxxxxxxxxxxxxxxxxx",
	    "$sha1$4294967296$abcdefgh$xxxxxxxxxxxxxxxxxxxxxxxxxxxx",
	    "$sha1$100000001$abcdefgh$xxxxxxxxxxxxxxxxxxxxxxxxxxxx",
	    "$sha1$ 100000001$abcdefgh$xxxxxxxxxxxxxxxxxxxxxxxxxxxx",
	    "$5$rounds=999999999$abc$def",
	    "$6$rounds=999999999$abc$def",
	    "$6$rounds=4294967296$abc$def",
	    "$6$rounds=+999999999$abc$def",
	    "$2a$31$abcdefghijklmnopqrstuuOQiyCxlgf/oeuTqixKmWdcYUh4Hjl0a",
	    "$2b$31$abcdefghijklmnopqrstuuOQiyCxlgf/oeuTqixKmWdcYUh4Hjl0a",
	    "$2x$31$abcdefghijklmnopqrstuuOQiyCxlgf/oeuTqixKmWdcYUh4Hjl0a",
	    "$2y$31$abcdefghijklmnopqrstuuOQiyCxlgf/oeuTqixKmWdcYUh4Hjl0a",
	    "$2y$99$abcdefghijklmnopqrstuuOQiyCxlgf/oeuTqixKmWdcYUh4Hjl0a",
	    "$md5,rounds=4294967295$abcdefgh$xxxxxxxxxxxxxxxxxxxxxx",
	    "$md5$rounds=4294967295$abcdefgh$xxxxxxxxxxxxxxxxxxxxxx",
	    "$md5,rounds=+4294967295$abcdefgh$xxxxxxxxxxxxxxxxxxxxxx",
	    "_zzzzabcdxxxxxxxxxxx",
	    "$y$j9T/szz$2ILFVcigwZKtxbGQrVdlp.$xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
	    "$y$j9T1zzzzz$2ILFVcigwZKtxbGQrVdlp.$xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
	    "$y$jFT$2ILFVcigwZKtxbGQrVdlp.$xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
	    "$y$j9zzzzzzz$2ILFVcigwZKtxbGQrVdlp.$xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
	    "$y$/9T/zzzzz$2ILFVcigwZKtxbGQrVdlp.$xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
	    "$y$j9T3..$2ILFVcigwZKtxbGQrVdlp.$xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
	    "$gy$j9T/szz$2ILFVcigwZKtxbGQrVdlp.$xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
	    "$gy$jFT$2ILFVcigwZKtxbGQrVdlp.$xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
	    "$7$K6..../....SodiumChloride$xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
	    "$7$CUzzzzzzzzzzSodiumChloride$xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
	    "$7$CU..../zzzzzSodiumChloride$xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
	    "$sm3$abcdefgh$xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
	    "$sm3y$j9T$abcdefgh$xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
	};
	/* every scheme whose verifier runs crypt() on the value, and the value unprefixed */
	static const char *const prefixes[] = {
	    "{CRYPT}", "{SHA512-CRYPT}", "{SHA256-CRYPT}", "{DES-CRYPT}", "{crypt}", "{BLF-CRYPT}",
	    ""};
	static const char *const defaults[] = {"CRYPT", "SHA512-CRYPT", "BLF-CRYPT"};
	double worst = 0;
	char stored[600];

	(void)state;
	for (size_t i = 0; i < sizeof(settings) / sizeof(settings[0]); i++) {
		for (size_t k = 0; k < sizeof(prefixes) / sizeof(prefixes[0]); k++) {
			for (size_t d = 0; d < (prefixes[k][0] == '\0' ? 3 : 1); d++) {
				struct pgd_hash_policy policy = {.default_scheme = defaults[d]};
				struct pgd_hash_info info;
				enum pgd_hash_result r;
				double t0, took;

				/* BLF-CRYPT only ever verifies $2?$ values */
				if ((strcmp(prefixes[k], "{BLF-CRYPT}") == 0 ||
				     (prefixes[k][0] == '\0' && d == 2)) &&
				    strncmp(settings[i], "$2", 2) != 0)
					continue;
				snprintf(stored, sizeof(stored), "%s%s", prefixes[k], settings[i]);
				crypt_calls = 0;
				t0 = now();
				r = pgd_hash_verify(stored, "secret", &policy, &info);
				took = now() - t0;
				worst = took > worst ? took : worst;
				if (r != PGD_HASH_MALFORMED && r != PGD_HASH_TOO_COSTLY)
					fail_msg("%s: %s, want a refusal", stored,
					         pgd_hash_result_str(r));
				if (crypt_calls != 0)
					fail_msg("%s reached crypt()", stored);
				if (took > 2.0)
					fail_msg("%s took %.2f s", stored, took);
				/* the detail names the method, never the value */
				if (strstr(info.detail, "abcdefgh") != NULL ||
				    strstr(info.detail, "$") != NULL)
					fail_msg("%s: detail \"%s\" quotes the value", stored,
					         info.detail);
			}
		}
	}
	/* and the same values hex- and base64-encoded */
	for (size_t i = 0; i < sizeof(settings) / sizeof(settings[0]); i++) {
		size_t len = strlen(settings[i]);
		char enc[400];
		struct pgd_hash_info info;
		enum pgd_hash_result r;

		for (int hex = 0; hex < 2; hex++) {
			if (hex)
				pgd_hex_encode((const unsigned char *)settings[i], len, enc);
			else
				pgd_b64_encode((const unsigned char *)settings[i], len, enc);
			snprintf(stored, sizeof(stored), "{CRYPT.%s}%s", hex ? "hex" : "b64", enc);
			crypt_calls = 0;
			r = pgd_hash_verify(stored, "secret", NULL, &info);
			if ((r != PGD_HASH_MALFORMED && r != PGD_HASH_TOO_COSTLY) ||
			    crypt_calls != 0)
				fail_msg("%s: %s, crypt() calls %u", settings[i],
				         pgd_hash_result_str(r), crypt_calls);
		}
	}
	print_message("# slowest refusal %.4f s\n", worst);
}

static void check_at_cap(const char *what, const char *stored, struct pgd_hash_policy *policy,
                         unsigned long *field, unsigned long cost)
{
	struct pgd_hash_info info;
	enum pgd_hash_result r;

	assert_non_null(stored);
	*field = cost;
	r = pgd_hash_verify(stored, "secret", policy, &info);
	if (r != PGD_HASH_MATCH)
		fail_msg("%s at its cap %lu: %s (%s)", what, cost, pgd_hash_result_str(r),
		         info.detail);
	r = pgd_hash_verify(stored, "wrong", policy, &info);
	if (r != PGD_HASH_MISMATCH)
		fail_msg("%s at its cap %lu, wrong password: %s", what, cost,
		         pgd_hash_result_str(r));
	*field = cost - 1;
	r = pgd_hash_verify(stored, "secret", policy, &info);
	if (r != PGD_HASH_TOO_COSTLY)
		fail_msg("%s one above its cap %lu: %s (%s)", what, cost - 1,
		         pgd_hash_result_str(r), info.detail);
	*field = 0;
}

/* pgd_hash_generate() of "secret", or NULL (the scheme is not in this build). */
static char *make(const char *scheme, unsigned long rounds)
{
	char *out = NULL;

	if (pgd_hash_generate(scheme, "secret", rounds, &out) != PGD_HASH_MATCH)
		return NULL;
	return out;
}

/* "{CRYPT}" + libxcrypt's hash of "secret" for setting. */
static char *make_crypt(const char *prefix, const char *setting)
{
	char *h = xcrypt("secret", setting), *out;

	if (h == NULL)
		fail_msg("libxcrypt refuses %s", setting);
	out = malloc(strlen(prefix) + strlen(h) + 1);
	assert_non_null(out);
	sprintf(out, "%s%s", prefix, h);
	free(h);
	return out;
}

/* A number after key= in s (Argon2's m= and t=). */
static unsigned long field_after(const char *s, const char *key)
{
	const char *p = strstr(s, key);

	assert_non_null(p);
	return strtoul(p + strlen(key), NULL, 10);
}

/*
 * Every cap, at exactly the cap (verifies) and with the cap one lower (refused as too
 * costly): a `>` turned into `>=`, or a cap read from the wrong field, fails here.
 */
static void test_caps_at_boundary(void **state)
{
	struct pgd_hash_policy p = {0};
	char *v;

	(void)state;
	v = make("PBKDF2", 1500);
	check_at_cap("PBKDF2", v, &p, &p.max_iterations, 1500);
	free(v);
	v = make("SCRAM-SHA-1", 4100);
	check_at_cap("SCRAM-SHA-1", v, &p, &p.max_iterations, 4100);
	free(v);
	v = make("SCRAM-SHA-256", 4100);
	check_at_cap("SCRAM-SHA-256", v, &p, &p.max_iterations, 4100);
	free(v);
	v = make("OTP", 0);
	if (v != NULL) {
		/* "{OTP}algo seq seed hash" */
		const char *sp = strchr(v, ' ');

		assert_non_null(sp);
		check_at_cap("OTP", v, &p, &p.max_iterations, strtoul(sp + 1, NULL, 10));
		free(v);
	}
	v = make("SHA512-CRYPT", 1500);
	check_at_cap("SHA512-CRYPT", v, &p, &p.max_crypt_rounds, 1500);
	free(v);
	v = make("SHA256-CRYPT", 1500);
	check_at_cap("SHA256-CRYPT", v, &p, &p.max_crypt_rounds, 1500);
	free(v);
	v = make_crypt("{SHA512-CRYPT}", "$6$rounds=5000$abcdefgh"); /* written out */
	check_at_cap("SHA512-CRYPT rounds=5000", v, &p, &p.max_crypt_rounds, 5000);
	free(v);
	/* no rounds= is Dovecot's default, 5000, and passes any cap */
	v = make("SHA512-CRYPT", 0);
	p.max_crypt_rounds = 1000;
	assert_int_equal(pgd_hash_verify(v, "secret", &p, NULL), PGD_HASH_MATCH);
	p.max_crypt_rounds = 0;
	free(v);
	v = make("BLF-CRYPT", 5);
	check_at_cap("BLF-CRYPT", v, &p, &p.max_bcrypt_cost, 5);
	free(v);
	v = make("CRYPT", 4);
	check_at_cap("CRYPT (bcrypt)", v, &p, &p.max_bcrypt_cost, 4);
	free(v);
	v = make_crypt("{CRYPT}", "$sha1$1200$abcdefgh$");
	check_at_cap("$sha1$", v, &p, &p.max_crypt_rounds, 1200);
	free(v);
	v = make_crypt("{SHA512-CRYPT}", "$md5,rounds=1200$abcdefgh$");
	check_at_cap("$md5,rounds=", v, &p, &p.max_crypt_rounds, 1200);
	free(v);
	v = make_crypt("{DES-CRYPT}", "_J9..abcd");
	check_at_cap("BSDi _", v, &p, &p.max_crypt_rounds, 725);
	free(v);
	v = make_crypt("{CRYPT}", "$7$36..../....SodiumChloride");
	check_at_cap("scrypt $7$", v, &p, &p.max_memory_kib, 32);
	free(v);
	v = make_crypt("{CRYPT}", "$y$j5T$2ILFVcigwZKtxbGQrVdlp.");
	check_at_cap("yescrypt $y$ memory", v, &p, &p.max_memory_kib, 1024);
	free(v);
	v = make_crypt("{SHA512-CRYPT}", "$gy$j5T$2ILFVcigwZKtxbGQrVdlp.");
	check_at_cap("gost-yescrypt $gy$ memory", v, &p, &p.max_memory_kib, 1024);
	free(v);
	v = make_crypt("{CRYPT}", "$y$j5T/0$2ILFVcigwZKtxbGQrVdlp."); /* t = 3 */
	check_at_cap("yescrypt $y$ passes", v, &p, &p.max_argon2_ops, 2);
	free(v);
	if (pgd_hash_scheme_known("ARGON2ID")) {
		static const char *const argon[] = {"ARGON2I", "ARGON2ID"};

		for (size_t i = 0; i < 2; i++) {
			char what[64];

			/* the cheapest each makes: 32 MiB (ARGON2I -r 4), 64 MiB (ARGON2ID -r 2) */
			v = make(argon[i], i == 0 ? 4 : 2);
			snprintf(what, sizeof(what), "%s m=", argon[i]);
			check_at_cap(what, v, &p, &p.max_memory_kib, field_after(v, "m="));
			snprintf(what, sizeof(what), "%s t=", argon[i]);
			check_at_cap(what, v, &p, &p.max_argon2_ops, field_after(v, ",t="));
			free(v);
		}
	} else {
		print_message("# ARGON2* not in this build\n");
	}
}

/* A deterministic stream of pseudo-random numbers. */
static uint32_t next(uint32_t *s)
{
	*s = *s * 1103515245U + 12345U;
	return *s >> 8;
}

/*
 * A setting from a pattern: '?' becomes any parameter character (crypt's alphabet mostly,
 * digits, signs and separators sometimes), '#' one of crypt's first characters (small numbers
 * in crypt's base64), 'D' a digit; anything else stays.
 */
static void from_pattern(uint32_t *rng, const char *pattern, char *out, size_t size)
{
	static const char any[] =
	    "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
	static const char other[] = "0123456789+-,=";
	static const char small[] = "./0123456";
	size_t i;

	for (i = 0; pattern[i] != '\0' && i + 1 < size; i++) {
		uint32_t r = next(rng);

		switch (pattern[i]) {
		case '?':
			out[i] = r % 4 == 0 ? other[(r >> 4) % (sizeof(other) - 1)]
			                    : any[(r >> 4) % (sizeof(any) - 1)];
			break;
		case '#':
			out[i] = small[(r >> 4) % (sizeof(small) - 1)];
			break;
		case 'D':
			out[i] = (char)('0' + (r >> 4) % 10);
			break;
		default:
			out[i] = pattern[i];
		}
	}
	out[i] = '\0';
}

/*
 * The reader and libxcrypt agree: over settings made of each method's prefix, random
 * parameters and a well-formed salt, whenever the reader accepts one under tight caps,
 * libxcrypt accepts it too and computes it quickly and in little memory (what it actually
 * does is bounded); and pgd_hash_verify() calls crypt() only on values the reader accepted.
 */
static void test_reader_agrees_with_libxcrypt(void **state)
{
	static const char *const patterns[] = {
	    "$y$???$2ILFVcigwZKtxbGQrVdlp.",
	    "$y$????$2ILFVcigwZKtxbGQrVdlp.",
	    "$y$j##$2ILFVcigwZKtxbGQrVdlp.",
	    "$y$.##$2ILFVcigwZKtxbGQrVdlp.",
	    "$y$/##$2ILFVcigwZKtxbGQrVdlp.",
	    "$y$j5T#$2ILFVcigwZKtxbGQrVdlp.",
	    "$y$j5T##$2ILFVcigwZKtxbGQrVdlp.",
	    "$y$j5T###$2ILFVcigwZKtxbGQrVdlp.",
	    "$y$j5T??$2ILFVcigwZKtxbGQrVdlp.",
	    "$gy$j##$2ILFVcigwZKtxbGQrVdlp.",
	    "$gy$j5T##$2ILFVcigwZKtxbGQrVdlp.",
	    "$7$###????#????SodiumChloride",
	    "$7$##....#....SodiumChloride",
	    "$7$???????????SodiumChloride",
	    "$sha1$D$abcdefgh$",
	    "$sha1$DD$abcdefgh$",
	    "$sha1$DDDD$abcdefgh$",
	    "$sha1$???$abcdefgh$",
	    "$6$rounds=DDDD$abcdefgh$",
	    "$5$rounds=DDDD$abcdefgh$",
	    "$6$rounds=????$abcdefgh$",
	    "$md5,rounds=DDDD$abcdefgh$",
	    "$md5$rounds=DDD$abcdefgh$",
	    "$md5,rounds=???$abcdefgh$",
	    "$2b$0D$abcdefghijklmnopqrstuu",
	    "$2y$??$abcdefghijklmnopqrstuu",
	    "$2a$DD$abcdefghijklmnopqrstuu",
	    "_##..abcd",
	    "_????abcd",
	    "_??abcd",
	};
	const struct pgd_hash_policy policy = {.max_crypt_rounds = 3000,
	                                       .max_bcrypt_cost = 6,
	                                       .max_memory_kib = 2048,
	                                       .max_argon2_ops = 3};
	unsigned accepted = 0, refused = 0;
	uint32_t rng = 20261201;
	struct rusage ru;
	long peak, grew = 0;
	double worst = 0;

	(void)state;
	for (size_t k = 0; k < sizeof(patterns) / sizeof(patterns[0]); k++) {
		for (int round = 0; round < 150; round++) {
			char setting[128], stored[160];
			struct pgd_hash_info info;
			enum pgd_hash_result r;
			double t0, took;
			char *h;

			from_pattern(&rng, patterns[k], setting, sizeof(setting));
			r = pgd_crypt_cost_check(setting, &policy, &info);
			if (r != PGD_HASH_MATCH) {
				refused++;
				snprintf(stored, sizeof(stored), "{CRYPT}%s", setting);
				crypt_calls = 0;
				(void)pgd_hash_verify(stored, "secret", &policy, NULL);
				if (crypt_calls != 0)
					fail_msg("%s: refused by the reader, yet crypt() ran",
					         setting);
				continue;
			}
			accepted++;
			getrusage(RUSAGE_SELF, &ru);
			peak = ru.ru_maxrss;
			t0 = now();
			h = xcrypt("secret", setting);
			took = now() - t0;
			getrusage(RUSAGE_SELF, &ru);
			/* a new peak of more than the cap (plus slack), set by this one call */
			if (ru.ru_maxrss - peak > 2048 + 8192)
				fail_msg(
				    "%s: accepted under tight caps, peak memory grew by %ld KiB",
				    setting, ru.ru_maxrss - peak);
			grew = ru.ru_maxrss - peak > grew ? ru.ru_maxrss - peak : grew;
			worst = took > worst ? took : worst;
			if (h == NULL)
				fail_msg("%s: the reader accepts it, libxcrypt refuses it",
				         setting);
			if (took > 1.0)
				fail_msg("%s: accepted under tight caps, took %.2f s", setting,
				         took);
			/* the verifier runs crypt() on it and it verifies */
			snprintf(stored, sizeof(stored), "%s%s",
			         strncmp(setting, "$2", 2) == 0 ? "{BLF-CRYPT}" : "{CRYPT}", h);
			crypt_calls = 0;
			r = pgd_hash_verify(stored, "secret", &policy, &info);
			if (r != PGD_HASH_MATCH || crypt_calls == 0)
				fail_msg("%s: %s (%s), crypt() calls %u", stored,
				         pgd_hash_result_str(r), info.detail, crypt_calls);
			free(h);
		}
	}
	print_message("# %u accepted, %u refused; slowest accepted %.3f s; largest peak growth "
	              "in one call %ld KiB\n",
	              accepted, refused, worst, grew);
	assert_true(accepted > 1000);
	assert_true(refused > 1000);
}

/* pgd_hash_cost of a heap copy of stored: a read past its end is caught by ASan. */
static unsigned long cost_of(const char *scheme, const char *stored)
{
	char *copy = strdup(stored);
	unsigned long c;

	assert_non_null(copy);
	c = pgd_hash_cost(scheme, copy);
	free(copy);
	return c;
}

/*
 * What rehash and `check` read: from the decoded value, never past its end (every cut of each
 * value, on the heap, under ASan in scripts/test.sh), never from the hex or base64 text.
 */
static void test_stored_cost(void **state)
{
	static const struct {
		const char *scheme, *stored;
		unsigned long cost;
	} cases[] = {
	    {"SHA512-CRYPT", "{SHA512-CRYPT}$6$rounds=1500$abc$def", 1500},
	    {"SHA512-CRYPT", "{SHA512-CRYPT}$6$abc$def", 5000},
	    {"SHA512-CRYPT", "$6$rounds=1500$abc$def", 1500},
	    {"SHA256-CRYPT", "{sha256-crypt}$5$rounds=2000$abc$def", 2000},
	    {"BLF-CRYPT", "{BLF-CRYPT}$2y$07$abcdefghijklmnopqrstuuOQiyCxlgf/oeuTqixKmWdcYUh4Hjl0a",
	     7},
	    /* "$6$rounds=1500$abc$def" encoded */
	    {"SHA512-CRYPT", "{SHA512-CRYPT.b64}JDYkcm91bmRzPTE1MDAkYWJjJGRlZg==", 1500},
	    {"SHA512-CRYPT", "{SHA512-CRYPT.hex}243624726f756e64733d3135303024616263246465660a",
	     0}, /* a trailing newline: not a value libxcrypt reads */
	    {"SHA512-CRYPT", "{SHA512-CRYPT.hex}243624726f756e64733d313530302461626324646566",
	     1500},
	    /* "$2y$07$..." in base64: the text's own "$2y$NN" would be garbage */
	    {"BLF-CRYPT",
	     "{BLF-CRYPT.b64}JDJ5JDA3JGFiY2RlZmdoaWprbG1ub3BxcnN0dXVPUWl5Q3hsZ2Yvb2V1VHFpeEttV2Rj"
	     "WVVoNEhqbDBh",
	     7},
	    /* short and odd values */
	    {"SHA512-CRYPT", "{SHA512-CRYPT}", 0},
	    {"SHA512-CRYPT", "{SHA512-CRYPT}$6", 0},
	    {"SHA512-CRYPT", "{SHA512-CRYPT}$6$rounds=", 0},
	    {"SHA512-CRYPT", "{SHA512-CRYPT}$6$rounds=+1500$abc$", 0},
	    {"SHA512-CRYPT", "{SHA512-CRYPT.b64}!!", 0},
	    {"SHA512-CRYPT", "{SHA512-CRYPT}$y$j9T$abc$def", 0},
	    {"BLF-CRYPT", "{BLF-CRYPT}", 0},
	    {"BLF-CRYPT", "{BLF-CRYPT}$2y$0", 0},
	    {"BLF-CRYPT", "{BLF-CRYPT}$2y$99$abc", 0},
	    {"SHA512-CRYPT", "{PLAIN}$6$rounds=1500$abc$def", 0},
	    {"SHA512-CRYPT", "", 0},
	    {"SHA512-CRYPT", "{", 0},
	};
	const struct pgd_hash_policy policy = {0};
	char line[160];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		unsigned long c = cost_of(cases[i].scheme, cases[i].stored);

		if (c != cases[i].cost)
			fail_msg("%s: cost %lu, want %lu", cases[i].stored, c, cases[i].cost);
		/* every cut of it, on the heap */
		for (size_t cut = 0; cut < strlen(cases[i].stored); cut++) {
			char *copy = strndup(cases[i].stored, cut);

			assert_non_null(copy);
			(void)pgd_hash_cost(cases[i].scheme, copy);
			(void)pgd_hash_cost_describe(cases[i].scheme, copy, &policy, line,
			                             sizeof(line));
			free(copy);
		}
	}
	assert_true(pgd_hash_cost_describe("SHA512-CRYPT",
	                                   "{SHA512-CRYPT.b64}JDYkcm91bmRzPTE1MDAk"
	                                   "YWJjJGRlZg==",
	                                   &policy, line, sizeof(line)));
	assert_string_equal(line, "sha512crypt rounds 1500 (cap 1000000)");
	assert_true(
	    pgd_hash_cost_describe("CRYPT", "{CRYPT}$y$j9T$abc$def", &policy, line, sizeof(line)));
	assert_string_equal(line, "yescrypt memory 16384 KiB (cap 262144), passes 1 (cap 16)");
	assert_false(
	    pgd_hash_cost_describe("CRYPT", "{CRYPT}$1$abc$def", &policy, line, sizeof(line)));
	assert_string_equal(line, "");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_reader_agrees_with_libxcrypt),
	    cmocka_unit_test(test_reader),
	    cmocka_unit_test(test_hostile_costs),
	    cmocka_unit_test(test_caps_at_boundary),
	    cmocka_unit_test(test_stored_cost),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
