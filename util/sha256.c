// SPDX-License-Identifier: MIT
/* The process's SHA-256 and the digest of a list of strings (util/sha256.h). */
#include "util/sha256.h"

#include <pthread.h>
#include <stdint.h>
#include <string.h>

static pthread_once_t sha256_once = PTHREAD_ONCE_INIT;
static EVP_MD *sha256_md;

static void sha256_fetch(void)
{
	sha256_md = EVP_MD_fetch(NULL, "SHA256", NULL);
}

const EVP_MD *pgd_sha256(void)
{
	pthread_once(&sha256_once, sha256_fetch);
	return sha256_md != NULL ? sha256_md : EVP_sha256();
}

bool pgd_sha256_fields(const char *const *fields, size_t n, unsigned char out[PGD_SHA256_LEN])
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	unsigned int len = 0;
	bool ok = ctx != NULL && EVP_DigestInit_ex(ctx, pgd_sha256(), NULL) == 1;

	for (size_t i = 0; ok && i < n; i++) {
		uint64_t k = fields[i] != NULL ? (uint64_t)strlen(fields[i]) + 1 : 0;

		ok = EVP_DigestUpdate(ctx, &k, sizeof(k)) == 1 &&
		     (k <= 1 || EVP_DigestUpdate(ctx, fields[i], (size_t)(k - 1)) == 1);
	}
	ok = ok && EVP_DigestFinal_ex(ctx, out, &len) == 1 && len == PGD_SHA256_LEN;
	EVP_MD_CTX_free(ctx);
	return ok;
}
