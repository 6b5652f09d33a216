// SPDX-License-Identifier: MIT
/*
 * The SHA-256 that the module digests with (a loaded conf's lookup digest, the verified-login
 * cache's row source), fetched from libcrypto once per process: EVP_sha256() makes OpenSSL 3
 * look the algorithm up again at every EVP_DigestInit_ex, which cost more than the digest itself.
 */
#ifndef PGD_UTIL_SHA256_H
#define PGD_UTIL_SHA256_H

#include <stdbool.h>
#include <stddef.h>

#include <openssl/evp.h>

#define PGD_SHA256_LEN 32

/* The process's SHA-256; EVP_sha256() if the fetch failed. Thread-safe. */
const EVP_MD *pgd_sha256(void);

/*
 * out := the SHA-256 of the n strings of fields, each given with its length first (0 for NULL,
 * length + 1 for a string), so that no two lists of fields give the same input and NULL and ""
 * differ. False when it could not be made (out is then undefined).
 */
bool pgd_sha256_fields(const char *const *fields, size_t n, unsigned char out[PGD_SHA256_LEN]);

#endif
