// SPDX-License-Identifier: MIT
/*
 * The SHA-256 that login/ digests with (the acct_mgmt binding, the verified-login cache's row
 * source), fetched from libcrypto once per process: EVP_sha256() makes OpenSSL 3 look the
 * algorithm up again at every EVP_DigestInit_ex, which cost more than the digest itself.
 */
#ifndef PGD_LOGIN_SHA256_H
#define PGD_LOGIN_SHA256_H

#include <openssl/evp.h>

/* The process's SHA-256; EVP_sha256() if the fetch failed. Thread-safe. */
const EVP_MD *pgd_sha256(void);

#endif
