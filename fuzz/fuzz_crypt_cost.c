// SPDX-License-Identifier: MIT
/*
 * libFuzzer target: the crypt cost reader (pgd_crypt_cost_check) against libxcrypt itself.
 *
 * Input: one selector byte, then parameter text. The selector picks a method's prefix and a
 * well-formed salt to put after the text ("$y$" TEXT "$2ILF..."; the text cut at its first '$'
 * and kept to crypt's alphabet and ",+-=", only the alphabet for scrypt, whose salt follows its
 * parameters directly), or (high bit) takes the text as the whole setting. Properties, beyond
 * "no crash, no leak, no UB":
 *   - a setting the reader accepts under the tight caps below, libxcrypt accepts too, and
 *     computes within a second without growing the peak memory past the cap (what libxcrypt
 *     actually does is bounded, whatever the reader believed);
 *   - pgd_hash_verify() never calls crypt_rn() (interposed here) on a value the reader refused;
 *   - the detail names the method, never a byte of the value.
 */
#include <crypt.h>
#include <dlfcn.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "hash.h"
#include "hash/hash_impl.h"

typedef char *crypt_rn_fn(const char *, const char *, void *, int);

static crypt_rn_fn *real_crypt_rn;
static unsigned crypt_calls;

int LLVMFuzzerInitialize(int *argc, char ***argv);

/* libFuzzer calls this once, before the first input: libxcrypt's crypt_rn(), or abort. */
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	*(void **)&real_crypt_rn = dlsym(RTLD_NEXT, "crypt_rn");
	if (real_crypt_rn == NULL)
		abort();
	return 0;
}

/* Counts and forwards to libxcrypt's crypt_rn(); the module's code calls this one. */
char *crypt_rn(const char *phrase, const char *setting, void *data, int size)
{
	crypt_calls++;
	return real_crypt_rn(phrase, setting, data, size);
}

static const struct {
	const char *before, *after;
} shapes[] = {
    {"$y$", "$2ILFVcigwZKtxbGQrVdlp."},
    {"$gy$", "$2ILFVcigwZKtxbGQrVdlp."},
    {"$7$", "SodiumChloride"},
    {"$sha1$", "$abcdefgh$"},
    {"$6$", "$abcdefgh$"},
    {"$5$", "$abcdefgh$"},
    {"$md5,", "$abcdefgh$"},
    {"$md5$", "$abcdefgh$"},
    {"$2b$", "$abcdefghijklmnopqrstuu"},
    {"$2y$", "$abcdefghijklmnopqrstuu"},
    {"_", "abcd"},
    {"$1$", "$"},
    {"", ""},
};
#define NSHAPES (sizeof(shapes) / sizeof(shapes[0]))

static bool in_alphabet(char c)
{
	return (c >= '.' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static long peak_kib(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_maxrss;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct pgd_hash_policy policy = {.max_crypt_rounds = 2000,
	                                              .max_bcrypt_cost = 5,
	                                              .max_memory_kib = 1024,
	                                              .max_argon2_ops = 2};
	long peak_before;
	char setting[256], stored[300];
	struct pgd_hash_info info;
	enum pgd_hash_result r;
	size_t text_len;
	unsigned shape;
	struct crypt_data *cd;
	const char *out;
	double t0;

	if (size < 1 || size > 120)
		return 0;
	shape = (data[0] & 0x7f) % NSHAPES;
	if ((data[0] & 0x80) != 0) {
		text_len = strnlen((const char *)data + 1, size - 1);
		snprintf(setting, sizeof(setting), "%.*s", (int)text_len, (const char *)data + 1);
	} else {
		bool scrypt = strcmp(shapes[shape].before, "$7$") == 0;
		char text[128];

		text_len = 0;
		for (size_t i = 1; i < size && data[i] != '$' && data[i] != '\0'; i++)
			if (in_alphabet((char)data[i]) ||
			    (!scrypt && strchr(",+-=", data[i]) != NULL))
				text[text_len++] = (char)data[i];
		text[text_len] = '\0';
		snprintf(setting, sizeof(setting), "%s%s%s", shapes[shape].before, text,
		         shapes[shape].after);
	}

	memset(&info, 0, sizeof(info));
	r = pgd_crypt_cost_check(setting, &policy, &info);
	snprintf(stored, sizeof(stored), "{CRYPT}%s", setting);
	if (r != PGD_HASH_MATCH) {
		if (r != PGD_HASH_MALFORMED && r != PGD_HASH_TOO_COSTLY)
			abort();
		if (strchr(info.detail, '$') != NULL)
			abort();
		/* refused by the reader: the verifier never hands it to crypt() */
		crypt_calls = 0;
		(void)pgd_hash_verify(stored, "password", &policy, NULL);
		if (crypt_calls != 0)
			abort();
		return 0;
	}
	/* accepted: libxcrypt accepts it too, and what it does is cheap */
	cd = calloc(1, sizeof(*cd));
	if (cd == NULL)
		return 0;
	peak_before = peak_kib();
	t0 = now();
	out = crypt_rn("password", setting, cd, (int)sizeof(*cd));
	if (out == NULL || out[0] == '*') {
		/* the salt part is ours to get wrong in raw mode only */
		if ((data[0] & 0x80) == 0) {
			fprintf(stderr, "accepted by the reader, refused by libxcrypt: %s\n",
			        setting);
			abort();
		}
	}
	if (now() - t0 > 1.0) {
		fprintf(stderr, "accepted under tight caps, slow in libxcrypt: %s\n", setting);
		abort();
	}
	/* a new peak of more than the cap (plus slack), set by this one call */
	if (peak_kib() - peak_before > 1024 + 16384) {
		fprintf(stderr, "accepted under tight caps, big in libxcrypt: %s\n", setting);
		abort();
	}
	free(cd);
	return 0;
}
