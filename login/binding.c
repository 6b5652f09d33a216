// SPDX-License-Identifier: MIT
/*
 * What binds the answer authenticate leaves for acct_mgmt to the login it was made for: a
 * SHA-256 digest of everything that decided which row was read (the conf's server, query and
 * name rules, the conf file named, what the pam.d line states of the connection, and the
 * login's user, service and remote host). Each field goes in with its length, so that no two
 * lists of fields give the same input.
 */
#include "login/login.h"

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include <pthread.h>

#include <openssl/evp.h>

#include "login/sha256.h"

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

bool pgd_login_binding(const struct pgd_conf *conf, const struct pgd_login *login,
                       unsigned char out[PGD_LOGIN_BINDING_LEN])
{
	const char *const fields[] = {
	    conf->path,
	    conf->driver,
	    conf->connect,
	    conf->password_query,
	    conf->username_format,
	    conf->username_chars,
	    conf->default_domain,
	    login->user,
	    login->service,
	    login->rhost,
	    conf->secured,
	    conf->mechanism,
	    conf->service_protocols,
	};
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	unsigned int len = 0;
	bool ok = ctx != NULL && EVP_DigestInit_ex(ctx, pgd_sha256(), NULL) == 1;

	for (size_t i = 0; ok && i < sizeof(fields) / sizeof(fields[0]); i++) {
		/* 0 for NULL, length + 1 for a string: NULL and "" differ */
		uint64_t n = fields[i] != NULL ? (uint64_t)strlen(fields[i]) + 1 : 0;

		ok = EVP_DigestUpdate(ctx, &n, sizeof(n)) == 1 &&
		     (n <= 1 || EVP_DigestUpdate(ctx, fields[i], (size_t)(n - 1)) == 1);
	}
	ok = ok && EVP_DigestFinal_ex(ctx, out, &len) == 1 && len == PGD_LOGIN_BINDING_LEN;
	EVP_MD_CTX_free(ctx);
	return ok;
}
